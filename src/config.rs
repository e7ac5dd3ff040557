//! The validated configuration the library runs on, built once from the command line.

pub mod project;
pub mod template;

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::model::{Arch, Bytecode, Compression, Runtime, ShakeMode, Upload};

/// Which command to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Scan,
    Build,
    /// `lamina plan`: scan, shake and plan layers for every function, and write the plan of a
    /// sharded build (`out` is the plan file) instead of any zip.
    Plan,
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
    /// Python: where the dependencies are installed, when not in `package/`, a `.venv` or
    /// next to the handler.
    pub site_packages: Option<PathBuf>,
    pub compression: Compression,
    /// The cache of compressed entries; `None` with `--no-cache`.
    pub cache: Option<PathBuf>,
    /// How the zips reach Lambda (`build`: decides whether the zipped limit fails the build).
    pub upload: Upload,
    /// `build --smoke`: load the handler from the built artifact.
    pub smoke: bool,
    /// `build --smoke-event FILE`: also invoke it with this event.
    pub smoke_event: Option<PathBuf>,
    /// `build --smoke-env KEY=VALUE`, in order.
    pub smoke_env: Vec<(String, String)>,
    /// `build --smoke-timeout`, in seconds.
    pub smoke_timeout: u64,
    /// `build --layers`; `None`: `lamina.toml`'s `[layers] mode`, `auto` for a template,
    /// `none` for function folders named one by one.
    pub layers: Option<project::LayerMode>,
    /// `build --compile`: generate unchecked-hash pycs for Python sources that ship without.
    pub compile: bool,
    /// `build --strip`: strip debug symbols from Python extension modules.
    pub strip: bool,
    /// `build --python-bytecode`: Python modules as source and pyc (default), pyc alone
    /// (`sourceless`, distributions only) or source alone.
    pub bytecode: Bytecode,
    /// `--allow-outside PATH`: folders outside the project that links may lead into.
    pub allow_outside: Vec<PathBuf>,
    /// `build --plan PLAN.json`: build from the plan `lamina plan` wrote instead of planning.
    pub plan: Option<PathBuf>,
    /// `build --only NAME`: with `plan`, build only these functions and layers (empty: all).
    pub only: Vec<String>,
    /// `plan --keys DIR`: also write each output's cache key there (`NAME.key`).
    pub keys: Option<PathBuf>,
}

/// What `lamina check` runs on, already checked.
#[derive(Debug, Clone)]
pub struct CheckConfig {
    /// Function zips.
    pub zips: Vec<PathBuf>,
    /// Layer zips, attached to every function in this order.
    pub layers: Vec<PathBuf>,
    pub runtime: Option<Runtime>,
    pub arch: Arch,
    pub upload: Upload,
    pub handler: Option<String>,
}

/// What `lamina why` explains, already checked: one function, scanned and shaken as `build`
/// would (x86_64, dependencies where scan finds them).
#[derive(Debug, Clone)]
pub struct WhyConfig {
    pub path: PathBuf,
    /// A package name or a file's path inside the artifact.
    pub target: String,
    pub handler: Option<String>,
    pub runtime: Option<Runtime>,
    pub shake: ShakeMode,
    pub drop_runtime_sdk: bool,
}

/// The cache folder: `LAMINA_CACHE_DIR`, else `~/.cache/lamina` (`$XDG_CACHE_HOME/lamina`).
/// An empty variable means no override (as XDG's rules say for `XDG_CACHE_HOME`), never the
/// current folder.
pub fn default_cache_dir() -> Option<PathBuf> {
    let set = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty());
    if let Some(dir) = set("LAMINA_CACHE_DIR") {
        return Some(PathBuf::from(dir));
    }
    if let Some(dir) = set("XDG_CACHE_HOME") {
        return Some(PathBuf::from(dir).join("lamina"));
    }
    set("HOME").map(|home| PathBuf::from(home).join(".cache/lamina"))
}

/// Parses a `--runtime` value, naming the supported ones when it is not one of them.
pub fn parse_runtime(text: &str) -> Result<Runtime> {
    Runtime::parse(text).ok_or_else(|| {
        let supported: Vec<&str> = Runtime::ALL.iter().map(|runtime| runtime.id()).collect();
        Error::Usage(format!(
            "--runtime {text}: not a supported Lambda runtime; use one of {}",
            supported.join(", ")
        ))
    })
}
