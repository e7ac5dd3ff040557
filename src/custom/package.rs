//! Packaging a custom-runtime function: the bootstrap ships stripped of its debug information
//! (and, with `--strip`, its symbol table), written to a temporary folder in the output folder
//! so the input is never touched; a binary `strip` cannot rewrite without changing the loaded
//! program ships as it is, with a note.

use std::path::Path;

use super::strip::strip;
use crate::error::Result;
use crate::model::{EcosystemPlan, Plan};
use crate::package::zip::Entry;
use crate::package::{Staged, Stats};

/// Points the `bootstrap` entry at a stripped copy when the plan says so.
pub fn stage(plan: &Plan, symbols: bool, out: &Path, entries: &mut [Entry]) -> Result<Staged> {
    let mut staged = Staged::default();
    let EcosystemPlan::Custom { strip_debug: true } = plan.ecosystem else {
        return Ok(staged);
    };
    let Some(entry) = entries
        .iter_mut()
        .find(|entry| entry.path == super::layout::BOOTSTRAP && entry.link_target.is_none())
    else {
        return Ok(staged);
    };
    let data = crate::input::read(&entry.source, Some(entry.bytes))?;
    let stripped = match strip(&data, symbols) {
        Ok(stripped) => stripped,
        Err(error) => {
            staged.stats.notes.push(format!("bootstrap: {error}"));
            return Ok(staged);
        }
    };
    let saved = data.len().saturating_sub(stripped.len()) as u64;
    staged.stats = Stats {
        strip_saved_bytes: Some(saved),
        ..Stats::default()
    };
    if saved == 0 {
        return Ok(staged);
    }
    let folder = crate::package::output::temporary_folder(out, "-strip")?;
    let copy = folder.path().join("bootstrap");
    crate::fs::write(&copy, &stripped)?;
    entry.source = copy;
    entry.bytes = stripped.len() as u64;
    entry.stamp = None;
    entry.executable = true;
    staged.folders.push(folder);
    staged.stats.notes.push(format!(
        "bootstrap: {} of debug information{} stripped ({} → {} bytes)",
        saved,
        if symbols { " and symbols" } else { "" },
        data.len(),
        stripped.len()
    ));
    Ok(staged)
}
