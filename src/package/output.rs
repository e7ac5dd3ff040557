//! The output folder of one build. Everything is written into a staging folder inside it
//! (`OUT/.lamina-<pid>-stage…`), verified there, and moved to its final name only once every
//! function and layer of the call has been packaged: a build that fails or is interrupted
//! leaves no zip of that call under its final name, no temporary file, and no folder it made.
//! What lamina wrote is named in `OUT/.lamina-output`, so no later walk ever packs it.

use std::collections::BTreeSet;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::interrupt;
use crate::scan::walk::{OUTPUT_MARKER, OWN_PREFIX};

/// A build's staging folder inside its output folder.
#[derive(Debug)]
pub struct Staging {
    out: PathBuf,
    /// Dropped (and so removed, with what is left in it) when the build ends either way.
    stage: Option<tempfile::TempDir>,
    _registered: interrupt::Registered,
    /// Folders this build made (the output folder and its parents), innermost first: removed
    /// again if the build fails or is interrupted, when empty.
    made: Vec<PathBuf>,
    _made_registered: Vec<interrupt::Registered>,
}

/// Files are created with mode 0666 and folders 0777, less the umask, like every other build
/// tool's outputs (tempfile's default, 0600, locks out the next CI step's user).
fn file_permissions() -> std::fs::Permissions {
    std::fs::Permissions::from_mode(0o666)
}

/// A temporary file in `folder` named as lamina's own (never shipped, removed on interrupt),
/// created with the umask's permissions.
pub fn temporary_file(folder: &Path, suffix: &str) -> Result<tempfile::NamedTempFile> {
    tempfile::Builder::new()
        .prefix(&own_prefix())
        .suffix(suffix)
        .permissions(file_permissions())
        .tempfile_in(folder)
        .map_err(|error| Error::io(folder, error))
}

/// A temporary folder in `folder`, named as lamina's own.
pub fn temporary_folder(folder: &Path, suffix: &str) -> Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix(&own_prefix())
        .suffix(suffix)
        .permissions(std::fs::Permissions::from_mode(0o777))
        .tempdir_in(folder)
        .map_err(|error| Error::io(folder, error))
}

/// `.lamina-<pid>-`: the process id tells a later build whether the temporary is stale.
fn own_prefix() -> String {
    format!("{OWN_PREFIX}{}-", std::process::id())
}

impl Staging {
    /// Makes the output folder (if needed) and a staging folder in it, after removing what
    /// interrupted builds left there.
    pub fn begin(out: &Path) -> Result<Staging> {
        let mut made = Vec::new();
        let mut missing = Vec::new();
        let mut folder = out;
        while !folder.as_os_str().is_empty() && !folder.exists() {
            missing.push(folder.to_path_buf());
            match folder.parent() {
                Some(parent) => folder = parent,
                None => break,
            }
        }
        for folder in missing.iter().rev() {
            // std's, for the IO error's kind; an error names the folder.
            match std::fs::create_dir(folder) {
                Ok(()) => made.insert(0, folder.clone()),
                Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(error) => {
                    remove_empty(&made);
                    return Err(Error::io(folder, error));
                }
            }
        }
        if !out.is_dir() {
            return Err(Error::input(out, "--out: not a folder"));
        }
        remove_stale(out);
        remove_stale(&out.join("layers"));
        let stage = match temporary_folder(out, "-stage") {
            Ok(stage) => stage,
            Err(error) => {
                remove_empty(&made);
                return Err(error);
            }
        };
        // Outermost first, so that on interrupt the innermost goes first.
        let made_registered = made
            .iter()
            .rev()
            .map(|folder| interrupt::register_made_folder(folder))
            .collect();
        let registered = interrupt::register(stage.path());
        Ok(Staging {
            out: out.to_path_buf(),
            stage: Some(stage),
            _registered: registered,
            made,
            _made_registered: made_registered,
        })
    }

    /// The staging folder: write everything here.
    pub fn folder(&self) -> &Path {
        self.stage.as_ref().expect("staging until committed").path()
    }

    /// Where a staged path will be once committed.
    pub fn final_path(&self, staged: &Path) -> PathBuf {
        match staged.strip_prefix(self.folder()) {
            Ok(relative) => self.out.join(relative),
            Err(_) => staged.to_path_buf(),
        }
    }

    /// Moves each staged file (paths relative to the staging folder, such as `fn.zip` or
    /// `layers/x.zip`) to its final name, records them in the output marker, and removes the
    /// staging folder. The renames run without interruption. Those of `files` also in
    /// `in_place` are already at their final names (a zip the writer left in place,
    /// `reuse.rs`): only named in the marker, once checked to have the stamp they had when
    /// the writer judged them (else something replaced them during the build: an error, and
    /// nothing is renamed).
    pub fn commit(
        mut self,
        files: &[String],
        in_place: &[(String, crate::model::Stamp)],
    ) -> Result<()> {
        let stage = self.folder().to_path_buf();
        for file in files {
            if let Some(parent) = Path::new(file).parent()
                && !parent.as_os_str().is_empty()
            {
                crate::fs::create_dir_all(self.out.join(parent))?;
            }
        }
        let marker = self.marker_contents(files)?;
        let mut marker_file = temporary_file(&stage, ".marker")?;
        marker_file
            .write_all(marker.as_bytes())
            .map_err(|error| Error::io(marker_file.path(), error))?;
        let marker_path = marker_file.into_temp_path();
        let renamed = interrupt::uninterrupted(|| -> Result<()> {
            for (file, stamp) in in_place {
                let path = self.out.join(file);
                let now =
                    std::fs::symlink_metadata(&path).map(|meta| crate::model::Stamp::of(&meta));
                if now.ok() != Some(*stamp) {
                    return Err(Error::input(
                        &path,
                        "replaced or changed by something else during this build; run the build again",
                    ));
                }
            }
            let mut done: Vec<PathBuf> = Vec::new();
            let moved = files
                .iter()
                .filter(|file| !in_place.iter().any(|(kept, _)| kept == *file));
            for file in moved {
                let to = self.out.join(file);
                if let Err(error) = crate::fs::rename(stage.join(file), &to) {
                    // No zip of a failed call stays under its final name.
                    for path in &done {
                        let _ = crate::fs::remove_file(path);
                    }
                    return Err(error);
                }
                done.push(to);
            }
            Ok(())
        });
        renamed?;
        // The marker last: a marker naming a file that was not written only hides nothing.
        marker_path
            .persist(self.out.join(OUTPUT_MARKER))
            .map_err(|error| Error::io(self.out.join(OUTPUT_MARKER), error.error))?;
        self.made.clear();
        if let Some(stage) = self.stage.take() {
            stage.close().map_err(|error| Error::io(&self.out, error))?;
        }
        Ok(())
    }

    /// The marker's lines: what earlier builds wrote here (still present), and `files`.
    fn marker_contents(&self, files: &[String]) -> Result<String> {
        let mut names: BTreeSet<String> = BTreeSet::new();
        let existing = self.out.join(OUTPUT_MARKER);
        if let Ok(text) = crate::input::read_to_string(&existing, None) {
            names.extend(
                text.lines()
                    .filter(|name| !name.is_empty() && self.out.join(name).exists())
                    .map(str::to_string),
            );
        }
        for file in files {
            // A layer zip hides `layers/`, whose folder holds nothing else of the user's.
            let first = file.split('/').next().unwrap_or(file);
            names.insert(first.to_string());
        }
        Ok(names.into_iter().map(|name| name + "\n").collect())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        // Not committed: the staging folder goes (TempDir's drop), then the folders this
        // build made, if nothing else appeared in them.
        drop(self.stage.take());
        remove_empty(&self.made);
    }
}

fn remove_empty(folders: &[PathBuf]) {
    for folder in folders {
        let _ = crate::fs::remove_dir(folder);
    }
}

/// Removes what interrupted builds left in `folder`: `.lamina-<pid>-…` of a process that no
/// longer runs, and the temporary names of lamina before it put its pid in them
/// (`.lamina-XXXXXX.zip.tmp`, `.lamina-entry-…`, `.lamina-pyc-…`, `.lamina-strip-…`).
fn remove_stale(folder: &Path) {
    let Ok(listing) = crate::fs::read_dir(folder) else {
        return;
    };
    for entry in listing.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        if !is_stale(name) {
            continue;
        }
        let path = entry.path();
        let _ = match entry.file_type() {
            Ok(kind) if kind.is_dir() => crate::fs::remove_dir_all(&path),
            Ok(_) => crate::fs::remove_file(&path),
            Err(_) => continue,
        };
    }
}

fn is_stale(name: &str) -> bool {
    let Some(rest) = name.strip_prefix(OWN_PREFIX) else {
        return false;
    };
    if rest == "output" {
        return false;
    }
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    if !digits.is_empty() && rest[digits.len()..].starts_with('-') {
        let Ok(pid) = digits.parse::<u32>() else {
            return false;
        };
        return pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists();
    }
    rest.ends_with(".zip.tmp")
        || ["entry-", "pyc-", "strip-"]
            .iter()
            .any(|old| rest.starts_with(old))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_names_are_those_of_dead_processes_and_older_versions() {
        assert!(is_stale(".lamina-4194999-abc-stage"));
        assert!(!is_stale(&format!(
            ".lamina-{}-abc-stage",
            std::process::id()
        )));
        assert!(!is_stale(".lamina-1-abc-stage"), "pid 1 runs");
        assert!(is_stale(".lamina-Ab12Cd.zip.tmp"));
        assert!(is_stale(".lamina-entry-x1y2"));
        assert!(!is_stale(".lamina-output"));
        assert!(!is_stale("lamina-out"));
        assert!(!is_stale(".lamina-notes"));
    }

    #[test]
    fn a_build_that_fails_leaves_no_folder_it_made() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a/b/out");
        let staging = Staging::begin(&out).unwrap();
        crate::fs::write(staging.folder().join("f.zip"), b"zip").unwrap();
        drop(staging);
        assert!(!dir.path().join("a").exists());
    }

    #[test]
    fn a_file_left_in_place_is_only_named_and_one_changed_since_fails_the_commit() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        crate::fs::create_dir_all(&out).unwrap();
        crate::fs::write(out.join("kept.zip"), b"old").unwrap();
        let stamp =
            |path: &Path| crate::model::Stamp::of(&std::fs::symlink_metadata(path).unwrap());
        let kept = vec![("kept.zip".to_string(), stamp(&out.join("kept.zip")))];
        let files = ["kept.zip".to_string(), "f.zip".to_string()];
        let staging = Staging::begin(&out).unwrap();
        crate::fs::write(staging.folder().join("f.zip"), b"new").unwrap();
        staging.commit(&files, &kept).unwrap();
        assert_eq!(crate::fs::read(out.join("kept.zip")).unwrap(), b"old");
        assert_eq!(crate::fs::read(out.join("f.zip")).unwrap(), b"new");
        assert_eq!(
            crate::fs::read_to_string(out.join(".lamina-output")).unwrap(),
            "f.zip\nkept.zip\n"
        );
        // Replaced during a later build: that build fails and renames nothing.
        let staging = Staging::begin(&out).unwrap();
        crate::fs::write(staging.folder().join("f.zip"), b"newer").unwrap();
        crate::fs::remove_file(out.join("kept.zip")).unwrap();
        crate::fs::write(out.join("kept.zip"), b"xyz").unwrap();
        let error = staging.commit(&files, &kept).unwrap_err();
        assert!(error.to_string().contains("kept.zip"), "{error}");
        assert_eq!(crate::fs::read(out.join("f.zip")).unwrap(), b"new");
    }

    #[test]
    fn a_commit_moves_the_files_and_names_them_in_the_marker() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let staging = Staging::begin(&out).unwrap();
        crate::fs::create_dir_all(staging.folder().join("layers")).unwrap();
        crate::fs::write(staging.folder().join("f.zip"), b"zip").unwrap();
        crate::fs::write(staging.folder().join("layers/l.zip"), b"layer").unwrap();
        staging
            .commit(&["f.zip".to_string(), "layers/l.zip".to_string()], &[])
            .unwrap();
        let mut names: Vec<String> = crate::fs::read_dir(&out)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, [".lamina-output", "f.zip", "layers"]);
        assert_eq!(
            crate::fs::read_to_string(out.join(".lamina-output")).unwrap(),
            "f.zip\nlayers\n"
        );
    }
}
