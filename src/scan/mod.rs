//! Scan: the only stage that reads input. Turns a function folder into an `Inventory`.

pub mod memo;
pub mod walk;

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::model::{Arch, Handler, Inventory, Origin, Runtime};

/// What the command line says about the function.
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    pub handler: Option<String>,
    pub runtime: Option<Runtime>,
    pub arch: Arch,
    /// The output folder; left out of the walk when it lies inside the function folder.
    pub output: Option<PathBuf>,
    /// Python: `--site-packages DIR`, where the dependencies are installed.
    pub site_packages: Option<PathBuf>,
    /// Node: trace file-level imports from the handler (`--shake files`).
    pub trace: bool,
    /// Folders outside the project boundary that links may lead into (`--allow-outside`).
    pub allow_outside: Vec<PathBuf>,
    /// The cache folder, never walked.
    pub cache: Option<PathBuf>,
    /// Whether scan's memo (`memo.rs`) is written back: by `build`; `scan`, which writes
    /// nothing, only reads it.
    pub remember: bool,
}

/// Where the walk of `root` may go: links anywhere in its project or the folders the user
/// allowed; never into this run's output folder or the cache (unless they hold the function
/// folder itself, in which case only what lamina writes there is left out, by its marker).
pub(crate) fn bounds(
    root: &Path,
    options: &ScanOptions,
    also_allowed: Option<&Path>,
) -> walk::Bounds {
    let mut skip = Vec::new();
    if let Some(output) = &options.output {
        skip.push(absolute_canonical(output));
    }
    if let Some(cache) = &options.cache {
        // When the cache holds the function folder, its output marker keeps the cache's
        // own folder out of the walk.
        skip.push(absolute_canonical(cache));
    }
    skip.retain(|folder| !root.starts_with(folder));
    walk::Bounds {
        boundary: walk::project_boundary(root),
        allowed: options
            .allow_outside
            .iter()
            .map(|path| absolute_canonical(path))
            .chain(also_allowed.map(Path::to_path_buf))
            .collect(),
        skip,
    }
}

/// Scans one function folder with its ecosystem: the one `--runtime` names, else the one that
/// recognizes what the folder holds.
pub fn scan(path: &Path, options: &ScanOptions) -> Result<Inventory> {
    // std's, for the IO error's kind; every error below names the path.
    let root = std::fs::canonicalize(path).map_err(|error| match error.kind() {
        std::io::ErrorKind::NotFound => Error::input(
            path,
            "does not exist: give a function folder, a folder with lamina.toml, or a SAM template.yaml or serverless.yml",
        ),
        _ => Error::io(path, error),
    })?;
    if !root.is_dir() {
        return Err(Error::input(path, "not a folder; give a function folder"));
    }
    let ecosystem = match options.runtime {
        Some(runtime) => crate::ecosystem::for_language(runtime.language()).ok_or_else(|| {
            Error::Usage(format!(
                "--runtime {runtime}: lamina handles Node.js (nodejs18.x to nodejs24.x), Python (python3.9 to python3.13) and custom-runtime (provided.al2023, provided.al2) functions"
            ))
        })?,
        None => crate::ecosystem::detect(&root, options),
    };
    ecosystem.scan(path, root, options)
}

/// The function's name: its folder's (the zip is `OUT/<name>.zip`).
pub(crate) fn function_name(root: &Path) -> Result<String> {
    root.file_name()
        .and_then(|name| name.to_str())
        .map(str::to_string)
        .ok_or_else(|| Error::input(root, "the folder name is not valid UTF-8"))
}

/// The output folder's artifact path, when it lies inside the function folder `root`.
pub(crate) fn output_folder(root: &Path, options: &ScanOptions) -> Option<String> {
    let output = absolute_canonical(options.output.as_deref()?);
    let relative = output.strip_prefix(root).ok()?;
    let parts: Vec<_> = relative
        .components()
        .map(|part| part.as_os_str().to_string_lossy())
        .collect();
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// An absolute, symlink-free form of a path that may not exist yet.
pub(crate) fn absolute_canonical(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut existing = absolute.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = existing.canonicalize() {
            return rest
                .iter()
                .rev()
                .fold(real, |path: PathBuf, part| path.join(part));
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                existing = parent;
            }
            _ => return absolute,
        }
    }
}

/// Splits Lambda's handler syntax at its last dot: `src/index.handler` → (`src/index`, `handler`).
pub(crate) fn split_handler<'a>(
    spec: &'a str,
    form: &str,
    example: &str,
) -> Result<(&'a str, &'a str)> {
    crate::lambda::handler::split(spec).ok_or_else(|| {
        Error::Usage(format!(
            "--handler {spec}: expected Lambda's syntax {form}, such as {example}"
        ))
    })
}

/// The handler `--handler SPEC` names: the first of `tried` that exists, else an error that
/// names every file tried.
pub(crate) fn flagged_handler(
    root: &Path,
    spec: &str,
    tried: &[String],
    exists: impl Fn(&str) -> bool,
) -> Result<Handler> {
    match tried.iter().find(|path| exists(path)) {
        Some(file) => Ok(Handler {
            spec: spec.to_string(),
            file: file.clone(),
            origin: Origin::Flag,
        }),
        None => Err(Error::input(
            root.join(&tried[0]),
            format!(
                "handler file not found for --handler {spec} (tried {})",
                tried.join(", ")
            ),
        )),
    }
}
