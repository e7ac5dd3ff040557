//! lamina's file-system calls: std's, named as std names them, each returning the library's
//! `Error::Io` with the path it concerns. The library's `Error` has no conversion from a bare
//! `io::Error`, so an IO error reaches the user only with its path: through these calls, or
//! through `Error::io(path, error)` where a caller reads an open file or must look at the IO
//! error's kind first (and so calls std itself).

// The one place that calls the std functions clippy.toml sends everyone else here.
#![allow(clippy::disallowed_methods)]

use std::fs::{DirEntry, File, Metadata};
use std::io;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// `result`, its error naming `path`.
fn at<T>(path: &Path, result: io::Result<T>) -> Result<T> {
    result.map_err(|error| Error::io(path, error))
}

/// Opens `path` for reading. Reads from the file map their errors with `Error::io` themselves.
pub fn open(path: impl AsRef<Path>) -> Result<File> {
    let path = path.as_ref();
    at(path, File::open(path))
}

pub fn read(path: impl AsRef<Path>) -> Result<Vec<u8>> {
    let path = path.as_ref();
    at(path, std::fs::read(path))
}

pub fn read_to_string(path: impl AsRef<Path>) -> Result<String> {
    let path = path.as_ref();
    at(path, std::fs::read_to_string(path))
}

pub fn write(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> Result<()> {
    let path = path.as_ref();
    at(path, std::fs::write(path, contents))
}

pub fn create_dir(path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    at(path, std::fs::create_dir(path))
}

pub fn create_dir_all(path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    at(path, std::fs::create_dir_all(path))
}

pub fn metadata(path: impl AsRef<Path>) -> Result<Metadata> {
    let path = path.as_ref();
    at(path, std::fs::metadata(path))
}

pub fn symlink_metadata(path: impl AsRef<Path>) -> Result<Metadata> {
    let path = path.as_ref();
    at(path, std::fs::symlink_metadata(path))
}

pub fn canonicalize(path: impl AsRef<Path>) -> Result<PathBuf> {
    let path = path.as_ref();
    at(path, std::fs::canonicalize(path))
}

pub fn remove_file(path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    at(path, std::fs::remove_file(path))
}

pub fn remove_dir(path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    at(path, std::fs::remove_dir(path))
}

pub fn remove_dir_all(path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    at(path, std::fs::remove_dir_all(path))
}

/// Moves `from` to `to`. An error names `to`, the name being made, and says what was moving
/// there (keeping the IO error's kind).
pub fn rename(from: impl AsRef<Path>, to: impl AsRef<Path>) -> Result<()> {
    let (from, to) = (from.as_ref(), to.as_ref());
    std::fs::rename(from, to).map_err(|error| {
        let moving = io::Error::new(
            error.kind(),
            format!("moving {} here: {error}", from.display()),
        );
        Error::io(to, moving)
    })
}

/// Makes `link`, a symbolic link to `original`. An error names `link`.
pub fn symlink(original: impl AsRef<Path>, link: impl AsRef<Path>) -> Result<()> {
    let link = link.as_ref();
    at(link, std::os::unix::fs::symlink(original, link))
}

/// The entries of the folder `path`; an error reading one names the folder.
pub fn read_dir(path: impl AsRef<Path>) -> Result<ReadDir> {
    let path = path.as_ref();
    Ok(ReadDir {
        entries: at(path, std::fs::read_dir(path))?,
        path: path.to_path_buf(),
    })
}

/// A folder's entries, as `std::fs::ReadDir` gives them, each error naming the folder.
#[derive(Debug)]
pub struct ReadDir {
    entries: std::fs::ReadDir,
    path: PathBuf,
}

impl Iterator for ReadDir {
    type Item = Result<DirEntry>;

    fn next(&mut self) -> Option<Result<DirEntry>> {
        self.entries
            .next()
            .map(|entry| entry.map_err(|error| Error::io(&self.path, error)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // invariant: io-errors-name-their-path
    #[test]
    fn a_missing_file_is_an_io_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("absent.txt");
        let error = read(&missing).unwrap_err();
        let Error::Io { path, source } = &error else {
            panic!("not Error::Io: {error:?}");
        };
        assert_eq!(path, &missing);
        assert_eq!(source.kind(), io::ErrorKind::NotFound);
        let message = error.to_string();
        assert!(
            message.starts_with(&format!("{}: ", missing.display())),
            "{message}"
        );
    }

    // invariant: io-errors-name-their-path
    #[test]
    fn every_call_names_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("absent");
        let file = dir.path().join("file");
        write(&file, b"x").unwrap();
        let below_missing = missing.join("below");
        let below_file = file.join("below");
        let calls = [
            (&missing, open(&missing).map(drop)),
            (&missing, read_to_string(&missing).map(drop)),
            (&missing, metadata(&missing).map(drop)),
            (&missing, symlink_metadata(&missing).map(drop)),
            (&missing, canonicalize(&missing).map(drop)),
            (&missing, remove_file(&missing)),
            (&missing, remove_dir(&missing)),
            (&missing, remove_dir_all(&missing)),
            (&missing, read_dir(&missing).map(drop)),
            (&file, create_dir(&file)),
            (&below_missing, write(&below_missing, b"x")),
            (&below_file, create_dir_all(&below_file)),
            (&file, symlink(&missing, &file)),
        ];
        for (path, result) in calls {
            let message = result.unwrap_err().to_string();
            assert!(
                message.starts_with(&format!("{}: ", path.display())),
                "{message}"
            );
        }
        let to = dir.path().join("to");
        let message = rename(&missing, &to).unwrap_err().to_string();
        let start = format!("{}: moving {} here: ", to.display(), missing.display());
        assert!(message.starts_with(&start), "{message}");
    }
}
