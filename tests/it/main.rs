//! lamina's integration tests: one binary, a module per stage.

mod cli;
mod docs;
mod e2e;
mod harness;
mod node;
mod package;
