//! Remembered scan facts, so a rebuild of unchanged files need not read or parse them again.
//!
//! A fact is what scan derives from one file's contents alone (with the context the caller
//! names): for Node, the package names a package's script holds as string literals and whether
//! its code loads them. After a scan, each file's facts are stored with its stamp (device,
//! inode, size, modification and change times in nanoseconds, as the walk saw them); the next
//! scan of the same function takes the facts of a file whose stamp is unchanged without
//! opening it. The change time cannot be set by any tool, so a rewrite that keeps the size and
//! puts the modification time back is still seen; a file whose change or modification time is
//! less than [`SETTLED`](crate::package::stamps::SETTLED) before the scan began is never
//! remembered (a write within a clock tick of the read could keep its stamp; git's guard).
//!
//! The memo is one file per function folder and purpose, under the cache's `scan/` folder,
//! sealed by a SHA-256 over its context and body and written atomically (concurrent scans
//! each write a whole memo; the last one stays). Its context is the format, lamina's version,
//! the stamp of the running executable (so a rebuilt lamina, whose extraction may differ,
//! starts afresh; `data/packages.toml` is compiled into it) and what the caller adds. A memo
//! that is damaged, or whose context differs, is ignored.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::SystemTime;

use sha2::{Digest, Sha256};

pub use crate::model::ScanCacheStats as MemoStats;
use crate::model::{FileEntry, Stamp};

const MAGIC: &[u8; 8] = b"LAMINASM";
/// The memo's layout; a change to it, or to what a purpose stores, changes this.
const FORMAT: u32 = 2;

/// A key's stamp and facts.
type Known = HashMap<Vec<u8>, (Stamp, Vec<u8>)>;
/// A key, its stamp and its facts, as this scan saw them.
type Remembered = (Vec<u8>, Stamp, Vec<u8>);

/// The memo of one function folder for one purpose, read when its scan begins and saved when
/// it ends.
#[derive(Debug)]
pub struct Memo {
    /// `None` without a cache (`--no-cache`): nothing is remembered.
    file: Option<PathBuf>,
    context: [u8; 32],
    known: Known,
    /// The body read, to leave the file as it is when saving would write it again.
    previous: Option<Vec<u8>>,
    seen: Mutex<Vec<Remembered>>,
    /// Files that changed after this are not remembered.
    settled_before: i128,
    read: AtomicUsize,
    reused: AtomicUsize,
}

impl Memo {
    /// The memo for `purpose` of the function folder `root`, in the cache folder `cache` (none:
    /// a memo that remembers nothing). `context` is what else the facts depend on.
    pub fn open(cache: Option<&Path>, root: &Path, purpose: &str, context: &[u8]) -> Memo {
        let mut hasher = Sha256::new();
        hasher.update(FORMAT.to_le_bytes());
        hasher.update(env!("CARGO_PKG_VERSION").as_bytes());
        hasher.update([0]);
        hasher.update(executable_stamp());
        hasher.update(purpose.as_bytes());
        hasher.update([0]);
        hasher.update(context);
        let context: [u8; 32] = hasher.finalize().into();
        let file = cache.map(|cache| {
            let mut name = Sha256::new();
            name.update(purpose.as_bytes());
            name.update([0]);
            name.update(root.as_os_str().as_encoded_bytes());
            cache.join("scan").join(hex::encode(&name.finalize()[..12]))
        });
        let previous = file
            .as_ref()
            .and_then(|file| crate::package::stamps::read_sealed(file, MAGIC, &context));
        let known = previous.as_deref().and_then(parse).unwrap_or_default();
        let settled_before = SystemTime::now()
            .checked_sub(crate::package::stamps::SETTLED)
            .and_then(|time| time.duration_since(SystemTime::UNIX_EPOCH).ok())
            .map_or(0, |since| since.as_nanos() as i128);
        Memo {
            file,
            context,
            known,
            previous,
            seen: Mutex::new(Vec::new()),
            settled_before,
            read: AtomicUsize::new(0),
            reused: AtomicUsize::new(0),
        }
    }

    /// Treats every file as settled, for tests that cannot wait two seconds.
    #[cfg(test)]
    pub fn settle_all(&mut self) {
        self.settled_before = i128::MAX;
    }

    /// The facts of `file` (with the caller's `key`), else computes them with `derive` (which
    /// reads the file) and remembers them if the file had settled.
    pub fn facts<E>(
        &self,
        file: &FileEntry,
        key: &[u8],
        derive: impl FnOnce() -> Result<Vec<u8>, E>,
    ) -> Result<Vec<u8>, E> {
        let key = entry_key(file, key);
        if let Some(stamp) = &file.stamp
            && let Some((known, facts)) = self.known.get(&key)
            && known == stamp
        {
            self.reused.fetch_add(1, Ordering::Relaxed);
            if self.file.is_some() {
                self.seen
                    .lock()
                    .expect("memo lock")
                    .push((key, *stamp, facts.clone()));
            }
            return Ok(facts.clone());
        }
        self.read.fetch_add(1, Ordering::Relaxed);
        let facts = derive()?;
        if let Some(stamp) = &file.stamp
            && self.file.is_some()
            && stamp.changed < self.settled_before
            && stamp.modified < self.settled_before
        {
            self.seen
                .lock()
                .expect("memo lock")
                .push((key, *stamp, facts.clone()));
        }
        Ok(facts)
    }

    /// Files read and files reused so far.
    pub fn stats(&self) -> MemoStats {
        MemoStats {
            files_read: self.read.load(Ordering::Relaxed),
            files_reused: self.reused.load(Ordering::Relaxed),
        }
    }

    /// Writes the memo: this scan's files only. A failure only costs a future read.
    pub fn save(self) {
        let Some(file) = self.file else {
            return;
        };
        let mut seen = self.seen.into_inner().expect("memo lock");
        seen.sort_by(|a, b| a.0.cmp(&b.0));
        seen.dedup_by(|a, b| a.0 == b.0);
        let mut body = Vec::with_capacity(seen.len() * 160);
        for (key, stamp, facts) in &seen {
            body.extend_from_slice(&(key.len() as u32).to_le_bytes());
            body.extend_from_slice(key);
            stamp.encode(&mut body);
            body.extend_from_slice(&(facts.len() as u32).to_le_bytes());
            body.extend_from_slice(facts);
        }
        let _ = crate::package::stamps::save_sealed(
            &file,
            MAGIC,
            &self.context,
            &body,
            self.previous.as_deref(),
        );
    }
}

/// A file's key: its artifact path and where it is read from (a followed link's real file),
/// then the caller's key.
fn entry_key(file: &FileEntry, key: &[u8]) -> Vec<u8> {
    let source = file.source.as_os_str().as_encoded_bytes();
    let mut bytes = Vec::with_capacity(file.path.len() + source.len() + key.len() + 2);
    bytes.extend_from_slice(file.path.as_bytes());
    bytes.push(0);
    bytes.extend_from_slice(source);
    bytes.push(0);
    bytes.extend_from_slice(key);
    bytes
}

/// The stamp of the running lamina: a rebuilt or reinstalled binary has another.
pub(crate) fn executable_stamp() -> Vec<u8> {
    let Some(meta) = std::env::current_exe()
        .ok()
        .and_then(|exe| std::fs::metadata(exe).ok())
    else {
        // Unknown: a context no other run shares, so nothing is reused.
        return SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos())
            .to_le_bytes()
            .to_vec();
    };
    let mut bytes = Vec::with_capacity(Stamp::ENCODED);
    Stamp::of(&meta).encode(&mut bytes);
    bytes
}

/// Reads a memo's body (checked by `read_sealed`); `None` when it is damaged in any way.
fn parse(mut body: &[u8]) -> Option<Known> {
    let mut known = HashMap::new();
    let mut take = |count: usize| -> Option<&[u8]> {
        let (head, rest) = body.split_at_checked(count)?;
        body = rest;
        Some(head)
    };
    let u32_of = |bytes: &[u8]| u32::from_le_bytes(bytes.try_into().expect("4 bytes")) as usize;
    while let Some(length) = take(4) {
        let key = take(u32_of(length))?.to_vec();
        let stamp = Stamp::decode(take(Stamp::ENCODED)?)?;
        let length = u32_of(take(4)?);
        let facts = take(length)?.to_vec();
        known.insert(key, (stamp, facts));
    }
    Some(known)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(dir: &Path, name: &str) -> FileEntry {
        let source = dir.join(name);
        let meta = crate::fs::metadata(&source).unwrap();
        FileEntry {
            path: name.to_string(),
            source,
            bytes: meta.len(),
            executable: false,
            link_target: None,
            owner: crate::model::Owner::User,
            stamp: Some(Stamp::of(&meta)),
        }
    }

    fn derive(facts: &str) -> impl FnOnce() -> Result<Vec<u8>, ()> {
        move || Ok(facts.as_bytes().to_vec())
    }

    #[test]
    fn unchanged_files_are_reused_and_changes_are_seen() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("cache");
        crate::fs::write(dir.path().join("a.js"), "one").unwrap();
        let file = entry(dir.path(), "a.js");
        // Just written: not remembered.
        let memo = Memo::open(Some(&cache), dir.path(), "test", b"");
        assert_eq!(memo.facts(&file, b"", derive("1")).unwrap(), b"1");
        memo.save();
        let mut memo = Memo::open(Some(&cache), dir.path(), "test", b"");
        assert_eq!(memo.facts(&file, b"", derive("2")).unwrap(), b"2");
        assert_eq!(memo.stats().files_read, 1);
        // Settled: remembered, and remembered again by the scan that reused it.
        memo.settle_all();
        assert_eq!(memo.facts(&file, b"", derive("2")).unwrap(), b"2");
        memo.save();
        for _ in 0..2 {
            let memo = Memo::open(Some(&cache), dir.path(), "test", b"");
            assert_eq!(memo.facts(&file, b"", derive("3")).unwrap(), b"2");
            assert_eq!(
                memo.stats(),
                MemoStats {
                    files_read: 0,
                    files_reused: 1
                }
            );
            memo.save();
        }
        let memo = Memo::open(Some(&cache), dir.path(), "test", b"");
        // Another caller's key, context, purpose or folder, or another stamp: derived again.
        assert_eq!(memo.facts(&file, b"k", derive("4")).unwrap(), b"4");
        let mut changed = file.clone();
        changed.stamp.as_mut().unwrap().changed += 1;
        assert_eq!(memo.facts(&changed, b"", derive("5")).unwrap(), b"5");
        let other = Memo::open(Some(&cache), dir.path(), "test", b"other");
        assert_eq!(other.facts(&file, b"", derive("6")).unwrap(), b"6");
        let other = Memo::open(Some(&cache), dir.path(), "other", b"");
        assert_eq!(other.facts(&file, b"", derive("7")).unwrap(), b"7");
        let other = Memo::open(Some(&cache), &dir.path().join("x"), "test", b"");
        assert_eq!(other.facts(&file, b"", derive("8")).unwrap(), b"8");
        // Without a cache nothing is remembered or written.
        let mut none = Memo::open(None, dir.path(), "test", b"");
        none.settle_all();
        assert_eq!(none.facts(&file, b"", derive("9")).unwrap(), b"9");
        none.save();
    }

    #[test]
    fn a_damaged_memo_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("cache");
        crate::fs::write(dir.path().join("a.js"), "one").unwrap();
        let file = entry(dir.path(), "a.js");
        let mut memo = Memo::open(Some(&cache), dir.path(), "test", b"");
        memo.settle_all();
        memo.facts(&file, b"", derive("1")).unwrap();
        let path = memo.file.clone().unwrap();
        memo.save();
        let good = crate::fs::read(&path).unwrap();
        for damage in 0..3 {
            let mut bytes = good.clone();
            match damage {
                0 => *bytes.last_mut().unwrap() ^= 1,
                1 => bytes.truncate(bytes.len() - 3),
                _ => bytes.clear(),
            }
            crate::fs::write(&path, &bytes).unwrap();
            let memo = Memo::open(Some(&cache), dir.path(), "test", b"");
            assert_eq!(memo.facts(&file, b"", derive("2")).unwrap(), b"2");
        }
    }
}
