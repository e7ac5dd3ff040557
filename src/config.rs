//! The validated configuration the library runs on, built once from the command line.

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::model::{Arch, Runtime, ShakeMode};

/// Which command to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Scan,
    Build,
}

/// Everything a run needs, already checked.
#[derive(Debug, Clone)]
pub struct Config {
    pub command: Command,
    pub paths: Vec<PathBuf>,
    pub handler: Option<String>,
    pub runtime: Option<Runtime>,
    pub arch: Arch,
    pub out: PathBuf,
    pub shake: ShakeMode,
    pub drop_runtime_sdk: bool,
}

/// Parses a `--runtime` value, naming the supported ones when it is not one of them.
pub fn parse_runtime(text: &str) -> Result<Runtime> {
    Runtime::parse(text).ok_or_else(|| {
        let supported: Vec<&str> = Runtime::ALL.iter().map(|runtime| runtime.id()).collect();
        let hint = if text.starts_with("python") {
            " (Python functions are not supported yet)"
        } else {
            ""
        };
        Error::Usage(format!(
            "--runtime {text}: not a supported Lambda runtime{hint}; use one of {}",
            supported.join(", ")
        ))
    })
}
