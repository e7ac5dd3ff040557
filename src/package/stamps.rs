//! Remembered content digests, so a rebuild of unchanged files need not read them.
//!
//! After a build, each file's digest is stored with its stamp: device, inode, size, and
//! modification and change times in nanoseconds. The next build of the same zip takes the
//! digest without reading a file whose stamp is unchanged. The change time cannot be set by
//! any tool: every write moves it to the current time. A file changed within a clock tick of
//! being read could keep its stamp, so a file whose change time is less than
//! [`SETTLED`] before the build began is never remembered (the guard git uses for its index).
//! The memo is one file per output zip, sealed by a SHA-256 and written atomically; a damaged
//! memo is ignored.

use std::collections::HashMap;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

const MAGIC: &[u8; 8] = b"LAMINAST";
/// How long before a build a file must have last changed to be remembered.
pub const SETTLED: Duration = Duration::from_secs(2);

pub use crate::model::Stamp;

/// A path's bytes, its stamp and its content digest.
type Remembered = (Vec<u8>, Stamp, [u8; 32]);
/// Path bytes to stamp and digest.
type Known = HashMap<Vec<u8>, (Stamp, [u8; 32])>;

/// The memo for one output zip, read at the start of its write and saved at the end.
#[derive(Debug)]
pub struct Stamps {
    file: PathBuf,
    /// Keyed by the path's bytes: hashing a `PathBuf` walks its components.
    known: Known,
    /// The body read, to leave the file as it is when saving would write it again.
    previous: Option<Vec<u8>>,
    seen: Mutex<Vec<Remembered>>,
    /// Files that changed after this are not remembered.
    settled_before: i128,
}

impl Stamps {
    /// The memo stored in `folder` for the zip at `destination`.
    pub fn open(folder: &Path, destination: &Path) -> Stamps {
        let file = folder.join(memo_name(destination));
        let started = SystemTime::now()
            .checked_sub(SETTLED)
            .and_then(|time| time.duration_since(SystemTime::UNIX_EPOCH).ok())
            .map_or(0, |since| since.as_nanos() as i128);
        let previous = read_sealed(&file, MAGIC, &[]);
        Stamps {
            known: previous.as_deref().and_then(parse).unwrap_or_default(),
            previous,
            file,
            seen: Mutex::new(Vec::new()),
            settled_before: started,
        }
    }

    /// Treats every file as settled, for tests that cannot wait two seconds.
    #[cfg(test)]
    pub fn settle_all(&mut self) {
        self.settled_before = i128::MAX;
    }

    /// The remembered digest of `path`, if its stamp is unchanged; it is remembered again.
    pub fn digest(&self, path: &Path, stamp: &Stamp) -> Option<[u8; 32]> {
        self.digest_at(path.as_os_str().as_bytes(), stamp)
    }

    /// The same for a key that is not only a path: a path's bytes, a NUL (which no path
    /// holds) and what else the digest depends on (`zip.rs` `memo_key`).
    pub fn digest_at(&self, key: &[u8], stamp: &Stamp) -> Option<[u8; 32]> {
        let (known, digest) = self.known.get(key)?;
        if known != stamp {
            return None;
        }
        self.seen
            .lock()
            .expect("stamps lock")
            .push((key.to_vec(), *stamp, *digest));
        Some(*digest)
    }

    /// Whether the memo remembers `path` at `stamp`: the file was read whole when it was
    /// remembered, and is unchanged since (without noting it as seen, as `digest` does).
    pub fn knows(&self, path: &Path, stamp: &Stamp) -> bool {
        self.known
            .get(path.as_os_str().as_bytes())
            .is_some_and(|(known, _)| known == stamp)
    }

    /// Notes the digest read for `path` at `stamp`, to remember it if the file had settled.
    pub fn record(&self, path: &Path, stamp: Stamp, digest: [u8; 32]) {
        self.record_at(path.as_os_str().as_bytes(), stamp, digest);
    }

    /// The same under a key that is not only a path (`digest_at`).
    pub fn record_at(&self, key: &[u8], stamp: Stamp, digest: [u8; 32]) {
        if stamp.changed < self.settled_before && stamp.modified < self.settled_before {
            self.seen
                .lock()
                .expect("stamps lock")
                .push((key.to_vec(), stamp, digest));
        }
    }

    /// Writes the memo: the files of this build only. Failures only cost a future read.
    pub fn save(self) {
        let mut seen = self.seen.into_inner().expect("stamps lock");
        seen.sort_by(|a, b| a.0.cmp(&b.0));
        let mut body = Vec::with_capacity(seen.len() * 128);
        for (path, stamp, digest) in &seen {
            body.extend_from_slice(&(path.len() as u32).to_le_bytes());
            body.extend_from_slice(path);
            stamp.encode(&mut body);
            body.extend_from_slice(digest);
        }
        let _ = save_sealed(&self.file, MAGIC, &[], &body, self.previous.as_deref());
    }
}

/// The name of the memo of the zip at `destination` (`reuse.rs` names its record after it).
pub(crate) fn memo_name(destination: &Path) -> String {
    // Named after the absolute, resolved path, so `--out dist` and `--out ./dist` (or the same
    // folder reached from another working directory) share one memo, and two projects' `dist`
    // folders never share one.
    let destination = crate::scan::absolute_canonical(destination);
    hex::encode(&Sha256::digest(destination.as_os_str().as_encoded_bytes())[..12])
}

/// Writes a sealed cache file, unless `previous` (the body it was read with, in the same
/// context) is `body`: the file holds those bytes already. Then it is only marked as used
/// ([`cache::mark_used`](crate::package::cache::mark_used)), for eviction, which goes by
/// modification time. A rebuild of an unchanged function writes no memo.
pub(crate) fn save_sealed(
    path: &Path,
    magic: &[u8],
    context: &[u8],
    body: &[u8],
    previous: Option<&[u8]>,
) -> io::Result<()> {
    if previous != Some(body) {
        return write_sealed(path, magic, context, body);
    }
    // std's, as for the write: the error is never shown.
    #[allow(clippy::disallowed_methods)]
    let file = std::fs::File::open(path)?;
    crate::package::cache::mark_used(&file, file.metadata()?.modified()?);
    Ok(())
}

/// The body of the cache file `write_sealed` wrote at `path` with `magic` and `context`;
/// `None` when it cannot be read, is damaged, or was sealed in another context.
pub(crate) fn read_sealed(path: &Path, magic: &[u8], context: &[u8]) -> Option<Vec<u8>> {
    let mut bytes = crate::fs::read(path).ok()?;
    let start = bytes.len() - sealed_body(&bytes, magic, context)?.len();
    bytes.drain(..start);
    Some(bytes)
}

/// Writes a cache file atomically: `magic`, the SHA-256 of `context` and `body` (the seal),
/// then `body`. The scan memo seals its files the same way.
pub(crate) fn write_sealed(
    path: &Path,
    magic: &[u8],
    context: &[u8],
    body: &[u8],
) -> io::Result<()> {
    let folder = path.parent().expect("a cache file lives in a folder");
    std::fs::create_dir_all(folder)?;
    let mut temporary = tempfile::NamedTempFile::new_in(folder)?;
    let _registered = crate::interrupt::register(temporary.path());
    let mut seal = Sha256::new();
    seal.update(context);
    seal.update(body);
    temporary.write_all(magic)?;
    temporary.write_all(&seal.finalize())?;
    temporary.write_all(body)?;
    temporary.persist(path).map_err(|error| error.error)?;
    Ok(())
}

/// The body of a file `write_sealed` wrote with the same `magic` and `context`; `None` when
/// it is damaged in any way or was sealed in another context.
fn sealed_body<'a>(bytes: &'a [u8], magic: &[u8], context: &[u8]) -> Option<&'a [u8]> {
    let (seal, body) = bytes.strip_prefix(magic)?.split_at_checked(32)?;
    let mut expected = Sha256::new();
    expected.update(context);
    expected.update(body);
    (expected.finalize().as_slice() == seal).then_some(body)
}

/// Reads a memo's body (checked by `read_sealed`); `None` when it is damaged in any way.
fn parse(mut body: &[u8]) -> Option<Known> {
    let mut known = HashMap::new();
    let mut take = |count: usize| -> Option<&[u8]> {
        let (head, rest) = body.split_at_checked(count)?;
        body = rest;
        Some(head)
    };
    while let Some(length) = take(4) {
        let length = u32::from_le_bytes(length.try_into().expect("4 bytes")) as usize;
        let path = take(length)?.to_vec();
        let stamp = Stamp::decode(take(Stamp::ENCODED)?)?;
        let digest: [u8; 32] = take(32)?.try_into().ok()?;
        known.insert(path, (stamp, digest));
    }
    Some(known)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settled_files_are_remembered_and_changes_are_seen() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.js");
        crate::fs::write(&file, "one").unwrap();
        let old = SystemTime::now() - Duration::from_secs(60);
        std::fs::File::options()
            .write(true)
            .open(&file)
            .unwrap()
            .set_modified(old)
            .unwrap();
        let memo = dir.path().join("memo");
        let destination = dir.path().join("out.zip");
        let stamp = Stamp::of(&crate::fs::metadata(&file).unwrap());
        // Just changed (setting the time changes ctime): not remembered.
        let stamps = Stamps::open(&memo, &destination);
        stamps.record(&file, stamp, [1; 32]);
        stamps.save();
        assert_eq!(
            Stamps::open(&memo, &destination).digest(&file, &stamp),
            None
        );
        // Settled: remembered, for the same stamp only.
        let mut stamps = Stamps::open(&memo, &destination);
        stamps.settled_before = i128::MAX;
        stamps.record(&file, stamp, [1; 32]);
        stamps.save();
        let stamps = Stamps::open(&memo, &destination);
        assert_eq!(stamps.digest(&file, &stamp), Some([1; 32]));
        // A build that took the remembered digest remembers it for the next one.
        stamps.save();
        let stamps = Stamps::open(&memo, &destination);
        assert_eq!(stamps.digest(&file, &stamp), Some([1; 32]));
        crate::fs::write(&file, "two").unwrap();
        let changed = Stamp::of(&crate::fs::metadata(&file).unwrap());
        assert_ne!(changed, stamp);
        assert_eq!(stamps.digest(&file, &changed), None);
        // Another zip has its own memo.
        let other = Stamps::open(&memo, &dir.path().join("other.zip"));
        assert_eq!(other.digest(&file, &stamp), None);
    }

    /// What the build's preflight trusts a remembered file by: a new mode, or another file
    /// put in its place with the same bytes and times, is no longer known.
    #[test]
    fn a_file_with_a_new_mode_or_replaced_is_no_longer_known() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.js");
        crate::fs::write(&file, "one").unwrap();
        let memo = dir.path().join("memo");
        let destination = dir.path().join("out.zip");
        let stamp = Stamp::of(&crate::fs::metadata(&file).unwrap());
        let mut stamps = Stamps::open(&memo, &destination);
        stamps.settled_before = i128::MAX;
        stamps.record(&file, stamp, [1; 32]);
        stamps.save();
        let stamps = Stamps::open(&memo, &destination);
        assert!(stamps.knows(&file, &stamp));
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o000)).unwrap();
        let unreadable = Stamp::of(&crate::fs::metadata(&file).unwrap());
        assert!(!stamps.knows(&file, &unreadable));
        // The same bytes and modification time in a new file, renamed over it.
        let twin = dir.path().join("twin.js");
        crate::fs::write(&twin, "one").unwrap();
        let modified = crate::fs::metadata(&file).unwrap().modified().unwrap();
        std::fs::File::options()
            .write(true)
            .open(&twin)
            .unwrap()
            .set_modified(modified)
            .unwrap();
        std::fs::rename(&twin, &file).unwrap();
        let replaced = Stamp::of(&crate::fs::metadata(&file).unwrap());
        assert!(!stamps.knows(&file, &replaced));
    }

    #[test]
    fn a_damaged_memo_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let destination = dir.path().join("out.zip");
        let mut stamps = Stamps::open(dir.path(), &destination);
        stamps.settled_before = i128::MAX;
        let stamp = Stamp::of(&crate::fs::metadata(dir.path()).unwrap());
        stamps.record(Path::new("/x"), stamp, [9; 32]);
        stamps.save();
        let file = Stamps::open(dir.path(), &destination).file;
        let mut bytes = crate::fs::read(&file).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        crate::fs::write(&file, &bytes).unwrap();
        let stamps = Stamps::open(dir.path(), &destination);
        assert_eq!(stamps.digest(Path::new("/x"), &stamp), None);
    }

    #[test]
    fn an_unchanged_memo_is_not_written_again_but_kept_in_use() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let destination = dir.path().join("out.zip");
        let stamp = Stamp::of(&crate::fs::metadata(dir.path()).unwrap());
        let save = |digests: &[(&str, [u8; 32])]| {
            let mut stamps = Stamps::open(dir.path(), &destination);
            stamps.settled_before = i128::MAX;
            for (path, digest) in digests {
                stamps.record(Path::new(path), stamp, *digest);
            }
            let file = stamps.file.clone();
            stamps.save();
            crate::fs::metadata(&file).unwrap()
        };
        let first = save(&[("/a", [1; 32]), ("/b", [2; 32])]);
        // The same files and digests: the file is left as it is.
        let same = save(&[("/b", [2; 32]), ("/a", [1; 32])]);
        assert_eq!(
            (same.ino(), same.mtime_nsec(), same.ctime_nsec()),
            (first.ino(), first.mtime_nsec(), first.ctime_nsec())
        );
        // Unused for longer than eviction's touch interval: touched, still not rewritten.
        let file = Stamps::open(dir.path(), &destination).file;
        let long_ago = SystemTime::now() - crate::package::cache::TOUCH_EVERY * 2;
        std::fs::File::options()
            .write(true)
            .open(&file)
            .unwrap()
            .set_modified(long_ago)
            .unwrap();
        let touched = save(&[("/a", [1; 32]), ("/b", [2; 32])]);
        assert_eq!(touched.ino(), first.ino());
        assert!(touched.modified().unwrap() > long_ago + crate::package::cache::TOUCH_EVERY);
        // Another digest, or a file fewer: written anew, and read back as written.
        let changed = save(&[("/a", [1; 32]), ("/b", [3; 32])]);
        assert_ne!(changed.ino(), first.ino());
        let stamps = Stamps::open(dir.path(), &destination);
        assert_eq!(stamps.digest(Path::new("/b"), &stamp), Some([3; 32]));
        save(&[("/a", [1; 32])]);
        let stamps = Stamps::open(dir.path(), &destination);
        assert_eq!(stamps.digest(Path::new("/b"), &stamp), None);
        assert_eq!(stamps.digest(Path::new("/a"), &stamp), Some([1; 32]));
    }

    #[test]
    fn a_zip_has_one_memo_name_however_its_path_is_spelled() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("dist");
        std::fs::create_dir(&out).unwrap();
        std::os::unix::fs::symlink(&out, dir.path().join("link")).unwrap();
        let name = memo_name(&out.join("fn.zip"));
        for spelled in [
            dir.path().join("dist/./fn.zip"),
            dir.path().join("link/fn.zip"),
            dir.path().join("dist/../dist/fn.zip"),
        ] {
            assert_eq!(memo_name(&spelled), name, "{}", spelled.display());
        }
        // Relative to the working directory: the same as its absolute spelling.
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(
            memo_name(Path::new("not-there/fn.zip")),
            memo_name(&cwd.join("not-there/fn.zip"))
        );
        // Another folder's zip of the same name: another memo.
        assert_ne!(memo_name(&dir.path().join("fn.zip")), name);
    }
}
