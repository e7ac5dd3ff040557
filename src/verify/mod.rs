//! Verify: reads a zip (ours or anyone's) and checks it against Lambda's limits.

pub mod limits;

use std::path::Path;

use crate::error::{Error, Result};
use crate::model::Verification;

/// Reads the zip's central directory and checks the function limits.
pub fn check(path: &Path) -> Result<Verification> {
    let file = fs_err::File::open(path)?;
    let zipped_bytes = file.metadata()?.len();
    let mut archive = zip::ZipArchive::new(std::io::BufReader::new(file))
        .map_err(|error| Error::input(path, format!("not a readable zip: {error}")))?;
    let mut unzipped_bytes = 0;
    for index in 0..archive.len() {
        let entry = archive
            .by_index_raw(index)
            .map_err(|error| Error::input(path, format!("entry {index}: {error}")))?;
        if !entry.is_dir() {
            unzipped_bytes += entry.size();
        }
    }
    Ok(Verification {
        zipped_bytes,
        unzipped_bytes,
        entries: archive.len(),
        limits: limits::function_limits(zipped_bytes, unzipped_bytes),
    })
}
