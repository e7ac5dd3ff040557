//! The library's error type: every variant names the path or item it was processing.
//!
//! An IO error always carries its path: there is no conversion from a bare `io::Error`, so `?`
//! cannot pass one on. It becomes an `Error` through `crate::fs` (lamina's file-system calls,
//! which name the path) or `Error::io(path, error)`, or an error of its own that names the file.

use std::path::PathBuf;

/// What went wrong, with the file or package it concerns and, where it helps, what to do.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An IO error and the file it happened on: `PATH: what the OS said`.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{path}: invalid JSON: {message}")]
    Json { path: PathBuf, message: String },

    #[error("{path}: {message}")]
    Input { path: PathBuf, message: String },

    #[error(
        "{path}: `{dependent}` depends on `{name}` ({kind}), but it is not installed; run `npm ci` (or `npm install`) in the function folder first"
    )]
    MissingDependency {
        path: PathBuf,
        dependent: String,
        name: String,
        kind: &'static str,
    },

    #[error("{path}: writing the zip failed: {message}")]
    Zip { path: PathBuf, message: String },

    #[error("{needed_for} needs `{program}` on PATH")]
    MissingProgram {
        program: String,
        needed_for: &'static str,
    },

    /// A command line that cannot run as given: a flag's value, flags that do not go together.
    #[error("{0}")]
    Usage(String),
}

impl Error {
    /// Wraps an IO error with the path it happened on.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// An input problem: the path and what is wrong with it.
    pub fn input(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Input {
            path: path.into(),
            message: message.into(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
