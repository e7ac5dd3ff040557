//! Reading input files safely: only regular files, never through a link in the last part of the
//! path, never more bytes than the open file had. A device, a FIFO or a socket put where a file
//! was, or a file that grows or shrinks while lamina reads it, is an error naming the file —
//! never an endless read, a blocked build, or a zip whose sizes lie.

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use std::os::unix::fs::OpenOptionsExt;

use crate::error::{Error, Result};

/// An input file open for reading, bounded by the size it had.
#[derive(Debug)]
pub struct Bounded {
    file: std::fs::File,
    path: PathBuf,
    expected: u64,
    position: u64,
}

/// Opens `path` for reading. The walk records only regular files, and the path it records has
/// no link in it (a link's target is recorded by its real path), so the last part is opened
/// without following a link (a link put there since is refused), and without blocking (a FIFO
/// put there since does not hang the build). `expected` is the size the walk saw; `None` takes
/// the open file's own size.
pub fn open(path: &Path, expected: Option<u64>) -> Result<Bounded> {
    // std's OpenOptions for the OS error number; every error below names the path.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|error| match error.raw_os_error() {
            Some(libc::ELOOP) => Error::input(
                path,
                "is a link where lamina expected the file itself (or became one while lamina was reading the folder); run the build again",
            ),
            _ => Error::io(path, error),
        })?;
    let metadata = file.metadata().map_err(|error| Error::io(path, error))?;
    if !metadata.is_file() {
        return Err(Error::input(
            path,
            "is not a regular file (a device, FIFO or socket); lamina reads only regular files",
        ));
    }
    let size = metadata.len();
    if let Some(expected) = expected
        && expected != size
    {
        return Err(changed(path, expected, size));
    }
    Ok(Bounded {
        file,
        path: path.to_path_buf(),
        expected: size,
        position: 0,
    })
}

/// All of `path`'s bytes, bounded by its size (`expected`: the size the walk saw).
pub fn read(path: &Path, expected: Option<u64>) -> Result<Vec<u8>> {
    open(path, expected)?.read_all()
}

/// `path`'s text (UTF-8), bounded by its size.
pub fn read_to_string(path: &Path, expected: Option<u64>) -> Result<String> {
    String::from_utf8(read(path, expected)?)
        .map_err(|_| Error::input(path, "is not valid UTF-8 text"))
}

/// `path`'s text when it holds at most `most` bytes; an input error naming it when it holds more
/// (a marker or a hint lamina reads whole, never an unbounded file).
pub fn read_small(path: &Path, most: u64) -> Result<String> {
    let file = open(path, None)?;
    if file.len() > most {
        return Err(Error::input(
            path,
            format!(
                "{} bytes, more than the {most} lamina reads of it",
                file.len()
            ),
        ));
    }
    read_to_string(path, Some(file.len()))
}

fn changed(path: &Path, expected: u64, found: u64) -> Error {
    Error::input(
        path,
        format!(
            "changed while lamina was packaging it ({expected} bytes when the folder was read, {found} now); run the build again"
        ),
    )
}

/// The marker `Bounded` puts in the IO errors it makes, so `error` can name what happened.
#[derive(Debug)]
struct Changed(u64, u64);

impl std::fmt::Display for Changed {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "changed while lamina was reading it ({} bytes when the folder was read, {} read); run the build again",
            self.0, self.1
        )
    }
}

impl std::error::Error for Changed {}

impl Bounded {
    /// The size the file had when opened: exactly what reading it gives.
    pub fn len(&self) -> u64 {
        self.expected
    }

    pub fn is_empty(&self) -> bool {
        self.expected == 0
    }

    pub fn metadata(&self) -> Result<std::fs::Metadata> {
        self.file
            .metadata()
            .map_err(|error| Error::io(&self.path, error))
    }

    /// All of the file's bytes, bounded by its size.
    pub fn read_all(&mut self) -> Result<Vec<u8>> {
        let mut bytes = Vec::with_capacity(self.expected as usize);
        self.read_to_end(&mut bytes)
            .map_err(|error| self.error(error))?;
        Ok(bytes)
    }

    /// The library error for an IO error of this file's reads: a change names its sizes.
    pub fn error(&self, error: io::Error) -> Error {
        match error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<Changed>())
        {
            Some(Changed(expected, found)) => {
                // What it holds now says more than how far the read got.
                let now = self
                    .file
                    .metadata()
                    .map_or(*found, |metadata| metadata.len());
                changed(&self.path, *expected, now)
            }
            None => Error::io(&self.path, error),
        }
    }
}

impl Read for Bounded {
    /// Reads at most one byte past the size the file had, to notice that it grew; ending
    /// short of that size means it shrank.
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        if buffer.is_empty() {
            return Ok(0);
        }
        let room = (self.expected + 1 - self.position).min(buffer.len() as u64) as usize;
        let read = self.file.read(&mut buffer[..room])?;
        self.position += read as u64;
        if self.position > self.expected {
            return Err(io::Error::other(Changed(self.expected, self.position)));
        }
        if read == 0 && self.position < self.expected {
            return Err(io::Error::other(Changed(self.expected, self.position)));
        }
        Ok(read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_exactly_the_size_it_saw() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a");
        crate::fs::write(&file, b"hello").unwrap();
        assert_eq!(read(&file, Some(5)).unwrap(), b"hello");
        assert_eq!(read(&file, None).unwrap(), b"hello");
    }

    #[test]
    fn a_file_of_another_size_than_the_walk_saw_is_changed() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a");
        crate::fs::write(&file, b"hello").unwrap();
        let message = read(&file, Some(3)).unwrap_err().to_string();
        assert!(
            message.contains("changed while lamina was packaging"),
            "{message}"
        );
    }

    #[test]
    fn a_file_that_grows_while_read_is_an_error_not_an_endless_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a");
        crate::fs::write(&path, b"hello").unwrap();
        let mut file = open(&path, Some(5)).unwrap();
        crate::fs::write(&path, b"hello, and more").unwrap();
        let mut bytes = Vec::new();
        let error = file.read_to_end(&mut bytes).unwrap_err();
        let message = file.error(error).to_string();
        assert!(
            message.contains("5 bytes when the folder was read"),
            "{message}"
        );
    }

    #[test]
    fn a_file_that_shrinks_while_read_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a");
        crate::fs::write(&path, b"hello").unwrap();
        let mut file = open(&path, Some(5)).unwrap();
        crate::fs::write(&path, b"he").unwrap();
        let mut bytes = Vec::new();
        let error = file.read_to_end(&mut bytes).unwrap_err();
        assert!(file.error(error).to_string().contains("2 now"));
    }

    #[test]
    fn devices_fifos_and_links_are_refused_without_reading() {
        let dir = tempfile::tempdir().unwrap();
        let message = read(Path::new("/dev/zero"), None).unwrap_err().to_string();
        assert!(message.contains("not a regular file"), "{message}");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        let message = read(&link, None).unwrap_err().to_string();
        assert!(message.contains("is a link"), "{message}");
        let fifo = dir.path().join("fifo");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        // Opened without blocking, then refused by its type.
        let message = read(&fifo, None).unwrap_err().to_string();
        assert!(message.contains("not a regular file"), "{message}");
    }
}
