//! Package: the only stage that writes output. Turns a Plan into a deterministic zip.

pub mod cache;
pub mod output;
pub mod reuse;
pub mod stamps;
pub mod zip;

use std::path::Path;

use crate::error::Result;
use crate::model::{Artifact, Inventory, Plan};

/// Writes the files the plan keeps as `OUT/<function>.zip`, after the ecosystem's staging
/// (`Ecosystem::stage`: pycs, `--compile`, `--strip`), with what the staging did.
pub fn write(
    inventory: &Inventory,
    plan: &Plan,
    out: &Path,
    options: &zip::WriteOptions,
    stage: crate::ecosystem::Stage,
) -> Result<(Artifact, Stats)> {
    let mut entries = kept_entries(inventory, plan);
    let destination = function_zip(out, inventory);
    let staged =
        crate::ecosystem::of(inventory).stage(inventory, plan, stage, out, &mut entries)?;
    let artifact = zip::write(entries, &destination, options)?;
    Ok((artifact, staged.stats))
}

/// Where a function's zip goes in `out`: `OUT/<function>.zip`.
pub fn function_zip(out: &Path, inventory: &Inventory) -> std::path::PathBuf {
    out.join(format!("{}.zip", inventory.function.name))
}

/// The archive entries for the files the plan keeps.
pub fn kept_entries(inventory: &Inventory, plan: &Plan) -> Vec<zip::Entry> {
    inventory
        .files
        .iter()
        .zip(&plan.files)
        .filter(|(_, decision)| decision.keep)
        .map(|(file, _)| zip::Entry {
            path: file.path.clone(),
            source: file.source.clone(),
            bytes: file.bytes,
            executable: file.executable,
            link_target: file.link_target.clone(),
            stamp: file.stamp,
            header: None,
        })
        .collect()
}

/// Roughly what a file adds to a zip, before it is written (the one estimate `scan` and dedupe's
/// layer plan use; verify measures the real zip): deflate shrinks text to about a quarter,
/// leaves media as it is, halves the rest; each entry adds its headers and its name twice.
pub fn estimate_zipped(path: &str, bytes: u64) -> u64 {
    let ext = path
        .rsplit_once('.')
        .map_or("", |(_, ext)| ext)
        .to_ascii_lowercase();
    let ratio = match ext.as_str() {
        "js" | "mjs" | "cjs" | "json" | "ts" | "py" | "pyi" | "md" | "txt" | "css" | "html"
        | "map" | "yml" | "yaml" | "xml" | "svg" | "csv" => 0.28,
        "png" | "jpg" | "jpeg" | "gif" | "webp" | "woff" | "woff2" | "gz" | "tgz" | "zip"
        | "br" | "zst" | "mp3" | "mp4" | "pdf" => 1.0,
        _ => 0.5,
    };
    // Local header, central directory record and the name twice.
    (bytes as f64 * ratio) as u64 + 76 + 2 * path.len() as u64
}

/// What an ecosystem's staging did (`--compile`, `--strip`); `None` for a step that was not
/// asked for.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub compiled_pycs: Option<usize>,
    pub strip_saved_bytes: Option<u64>,
    pub notes: Vec<String>,
}

/// The result of `Ecosystem::stage`: the temporary folders (deleted when dropped), and for each entry
/// whose path staging made (a pyc appended, a pyc moved in place of its source), the path of
/// the entry it was made from, in the same folder or its `__pycache__` (a layer places it
/// beside its origin's layer path).
#[derive(Debug, Default)]
pub struct Staged {
    pub folders: Vec<tempfile::TempDir>,
    pub derived_from: std::collections::HashMap<String, String>,
    pub stats: Stats,
}
