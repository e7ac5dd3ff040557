//! What an interrupted run leaves behind: nothing. Every temporary file or folder lamina makes
//! is registered here while it exists; on SIGINT, SIGTERM or SIGHUP the binary's handler
//! removes them all and exits with 128 + the signal's number (130, 143, 129), as a shell does.
//! A temporary's own guard (tempfile's) removes it on every other way out.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// The temporaries that exist now. The lock is also held while outputs are moved to their
/// final names, so a signal never lands between two of those renames.
static LIVE: Mutex<Vec<(PathBuf, Removal)>> = Mutex::new(Vec::new());

/// How a registered path goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Removal {
    /// A temporary file, or a folder with everything in it.
    Whole,
    /// A folder lamina made for its outputs: removed only if nothing is left in it.
    IfEmpty,
}

fn live() -> MutexGuard<'static, Vec<(PathBuf, Removal)>> {
    // A panic while holding the lock leaves the list as it was: still right to use.
    LIVE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Keeps `path` registered until dropped.
#[derive(Debug)]
#[must_use = "the path is unregistered when the guard is dropped"]
pub struct Registered(PathBuf);

/// Registers a temporary file or folder for removal if the run is interrupted.
pub fn register(path: &Path) -> Registered {
    live().push((path.to_path_buf(), Removal::Whole));
    Registered(path.to_path_buf())
}

/// Registers a folder made for outputs, removed on interrupt if it is empty by then (after
/// the temporaries registered later, which go first).
pub fn register_made_folder(path: &Path) -> Registered {
    live().push((path.to_path_buf(), Removal::IfEmpty));
    Registered(path.to_path_buf())
}

impl Drop for Registered {
    fn drop(&mut self) {
        let mut live = live();
        if let Some(at) = live.iter().rposition(|(path, _)| path == &self.0) {
            live.remove(at);
        }
    }
}

/// Runs `work` (short: a few renames) with no interruption in the middle: a signal that
/// arrives meanwhile is handled once it is done.
pub fn uninterrupted<T>(work: impl FnOnce() -> T) -> T {
    let _held = live();
    work()
}

/// Removes every registered temporary. Called by the signal handler, then the process exits.
pub fn remove_all() {
    let live = live();
    // Last registered first: temporaries before the folders made to hold them.
    for (path, removal) in live.iter().rev() {
        // Not following links: a folder is removed with what is in it, a file or link alone.
        let result = match (crate::fs::symlink_metadata(path), removal) {
            (Ok(metadata), Removal::IfEmpty) if metadata.is_dir() => crate::fs::remove_dir(path),
            // A worker thread may still be adding a file: a second try catches it.
            (Ok(metadata), Removal::Whole) if metadata.is_dir() => {
                crate::fs::remove_dir_all(path).or_else(|_| crate::fs::remove_dir_all(path))
            }
            (Ok(_), Removal::Whole) => crate::fs::remove_file(path),
            _ => Ok(()),
        };
        drop(result);
    }
    // The lock stays held until the process exits: nothing registers anything new.
    std::mem::forget(live);
}

/// Installs the handler: a thread that waits for SIGINT, SIGTERM or SIGHUP, removes the
/// temporaries and exits. The binary calls it once, first thing.
pub fn install() -> std::io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    std::thread::Builder::new()
        .name("lamina-signals".to_string())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                remove_all();
                std::process::exit(128 + signal);
            }
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_guard_unregisters_its_path_only() {
        let a = register(Path::new("/nonexistent/lamina-test-a"));
        let b = register(Path::new("/nonexistent/lamina-test-b"));
        drop(a);
        let now = live().clone();
        assert!(!now.iter().any(|(path, _)| path.ends_with("lamina-test-a")));
        assert!(now.iter().any(|(path, _)| path.ends_with("lamina-test-b")));
        drop(b);
        assert!(
            !live()
                .iter()
                .any(|(path, _)| path.ends_with("lamina-test-b"))
        );
    }
}
