//! lamina slims AWS Lambda deployment artifacts: scan → shake → package → verify.
//! The library never prints; the binary renders the `Report` it returns.

pub mod config;
pub mod custom;
pub mod dedupe;
pub mod ecosystem;
pub mod error;
pub mod fs;
pub mod input;
pub mod interrupt;
pub mod knowledge;
pub mod lambda;
pub mod model;
pub mod node;
pub mod package;
pub mod pipeline;
pub mod python;
pub mod report;
pub mod scan;
pub mod shake;
pub mod shard;
pub mod smoke;
pub mod stack;
pub mod verify;
pub mod why;

pub use config::{Command, Config};
pub use error::{Error, Result};
pub use pipeline::{check, plan, run, stack, why};
pub use report::Report;
