//! lamina's integration tests: one binary, a module per stage.

mod action;
mod check;
mod cli;
mod corpus;
mod custom;
mod dist;
mod docs;
mod e2e;
mod e2e_monorepo;
mod e2e_python;
mod harness;
mod install;
mod integrations;
mod knowledge;
mod layers;
mod node;
mod package;
mod python;
mod reports;
mod safety;
mod smoke;
mod stack;
mod templates;
mod tidy;
mod trace;
mod verdicts;
