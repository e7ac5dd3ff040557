//! lamina's integration tests: one binary, a module per stage.
