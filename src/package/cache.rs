//! The content-addressed cache of compressed entries, shared by every function and build.
//!
//! An entry is a one-file zip holding the compressed form of some content (`<key>.zip`) and a
//! seal (`<key>.sum`: its length and SHA-256). The key is the SHA-256 of the content, the
//! compression settings, the deflate backend and the file mode, so a hit can be copied into an
//! archive as it is. A truncated or corrupted entry fails its seal and is ignored (and removed);
//! it never reaches a zip. Writes are atomic; the cache is capped and evicts least recently used
//! entries.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use sha2::{Digest, Sha256};

/// Bump when the entry layout or the writer's entry options change.
const LAYOUT: &str = "lamina-cache-v1";
/// Part of every key, so an upgrade of the deflate backend never reuses old bytes.
const BACKEND: &str = "flate2-1/zlib-rs-0.6/zopfli-0.8";
/// The default size cap; `LAMINA_CACHE_MAX_BYTES` overrides it.
pub const DEFAULT_MAX_BYTES: u64 = 2 << 30;

/// A cache folder.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
    max_bytes: u64,
}

/// Where a cached entry's one-file zip is.
pub enum Hit {
    Memory(Vec<u8>),
    File(PathBuf),
}

impl Cache {
    pub fn new(dir: impl Into<PathBuf>) -> Cache {
        let max_bytes = std::env::var("LAMINA_CACHE_MAX_BYTES")
            .ok()
            .and_then(|value| value.parse().ok())
            .unwrap_or(DEFAULT_MAX_BYTES);
        Cache {
            dir: dir.into().join(LAYOUT),
            max_bytes,
        }
    }

    /// The key for some content compressed with `settings` (method and level) at `mode`.
    pub fn key(content_sha256: &[u8], settings: &str, mode: u32) -> String {
        let mut hasher = Sha256::new();
        hasher.update(content_sha256);
        hasher.update(format!("\0{settings}\0{BACKEND}\0{mode:o}").as_bytes());
        hex::encode(hasher.finalize())
    }

    fn paths(&self, key: &str) -> (PathBuf, PathBuf) {
        let folder = self.dir.join(&key[..2]);
        (
            folder.join(format!("{key}.zip")),
            folder.join(format!("{key}.sum")),
        )
    }

    /// The entry for `key`, if present and intact. Entries up to `in_memory` bytes are read
    /// into memory; larger ones are checked by streaming and handed back as a path.
    pub fn get(&self, key: &str, in_memory: u64) -> Option<Hit> {
        let (zip, sum) = self.paths(key);
        let seal = fs_err::read_to_string(&sum).ok()?;
        let (length, digest) = seal.trim().split_once(' ')?;
        let length: u64 = length.parse().ok()?;
        let hit = if length <= in_memory {
            let bytes = fs_err::read(&zip).ok()?;
            let intact =
                bytes.len() as u64 == length && hex::encode(Sha256::digest(&bytes)) == digest;
            intact.then_some(Hit::Memory(bytes))
        } else {
            let (actual_digest, actual_length) = digest_file(&zip).ok()?;
            (actual_length == length && actual_digest == digest).then(|| Hit::File(zip.clone()))
        };
        if hit.is_none() {
            // Corrupted or truncated: never use it, and make room for a good copy.
            let _ = std::fs::remove_file(&sum);
            let _ = std::fs::remove_file(&zip);
            return None;
        }
        // Least recently used eviction reads these times.
        if let Ok(file) = std::fs::File::options().append(true).open(&sum) {
            let _ = file.set_modified(SystemTime::now());
        }
        hit
    }

    /// Stores an entry from memory. Failures only cost a future miss, so they are ignored.
    pub fn put(&self, key: &str, bytes: &[u8]) {
        let _ = self.try_put(key, |file| file.write_all(bytes));
    }

    /// Stores an entry by moving a finished file in (same file system as the cache, or copied).
    pub fn put_file(&self, key: &str, path: &Path) {
        let _ = self.try_put(key, |file| {
            let mut source = fs_err::File::open(path)?;
            std::io::copy(&mut source, file).map(|_| ())
        });
    }

    fn try_put(
        &self,
        key: &str,
        write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        let (zip, sum) = self.paths(key);
        let folder = zip.parent().expect("entries live in a folder");
        fs_err::create_dir_all(folder)?;
        let mut temporary = tempfile::NamedTempFile::new_in(folder)?;
        write(temporary.as_file_mut())?;
        temporary.as_file_mut().flush()?;
        let (digest, length) = digest_file(temporary.path())?;
        temporary.persist(&zip).map_err(|error| error.error)?;
        // The seal goes last: an entry without one is never read.
        let mut seal = tempfile::NamedTempFile::new_in(folder)?;
        writeln!(seal, "{length} {digest}")?;
        seal.persist(&sum).map_err(|error| error.error)?;
        Ok(())
    }

    /// Removes least recently used entries until the cache is under its cap.
    pub fn evict(&self) {
        let mut entries: Vec<(SystemTime, u64, PathBuf)> = Vec::new();
        let mut total = 0;
        for seal in walkdir::WalkDir::new(&self.dir).into_iter().flatten() {
            let path = seal.path();
            if path.extension().is_none_or(|ext| ext != "sum") {
                continue;
            }
            let zip = path.with_extension("zip");
            let bytes = std::fs::metadata(&zip).map_or(0, |meta| meta.len());
            let used = seal
                .metadata()
                .ok()
                .and_then(|meta| meta.modified().ok())
                .unwrap_or(SystemTime::UNIX_EPOCH);
            total += bytes;
            entries.push((used, bytes, path.to_path_buf()));
        }
        if total <= self.max_bytes {
            return;
        }
        entries.sort();
        for (_, bytes, seal) in entries {
            if total <= self.max_bytes {
                break;
            }
            let _ = std::fs::remove_file(&seal);
            let _ = std::fs::remove_file(seal.with_extension("zip"));
            total -= bytes;
        }
    }
}

/// SHA-256 (hex) and length of a file, streamed.
pub fn digest_file(path: &Path) -> std::io::Result<(String, u64)> {
    let mut file = fs_err::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; 1 << 16];
    let mut length = 0;
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
        length += read as u64;
    }
    Ok((hex::encode(hasher.finalize()), length))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_damaged_ones_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let key = Cache::key(&[7; 32], "deflate-6", 0o644);
        assert!(cache.get(&key, u64::MAX).is_none());
        cache.put(&key, b"PK-entry-bytes");
        match cache.get(&key, u64::MAX) {
            Some(Hit::Memory(bytes)) => assert_eq!(bytes, b"PK-entry-bytes"),
            _ => panic!("expected a hit from memory"),
        }
        assert!(matches!(cache.get(&key, 0), Some(Hit::File(_))));
        // Flip a byte: the seal no longer matches, the entry is ignored and removed.
        let (zip, sum) = cache.paths(&key);
        fs_err::write(&zip, b"PK-entry-bytez").unwrap();
        assert!(cache.get(&key, u64::MAX).is_none());
        assert!(!sum.exists());
        // Truncated.
        cache.put(&key, b"PK-entry-bytes");
        fs_err::write(&zip, b"PK-entry").unwrap();
        assert!(cache.get(&key, 0).is_none());
    }

    #[test]
    fn keys_separate_settings_and_modes() {
        let a = Cache::key(&[1; 32], "deflate-6", 0o644);
        assert_ne!(a, Cache::key(&[1; 32], "deflate-1", 0o644));
        assert_ne!(a, Cache::key(&[1; 32], "deflate-6", 0o755));
        assert_ne!(a, Cache::key(&[2; 32], "deflate-6", 0o644));
    }

    #[test]
    fn eviction_keeps_the_most_recently_used_under_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let mut cache = Cache::new(dir.path());
        cache.max_bytes = 25;
        let keys: Vec<String> = (0..3u8)
            .map(|i| Cache::key(&[i; 32], "deflate-6", 0o644))
            .collect();
        for key in &keys {
            cache.put(key, &[0; 10]);
            std::thread::sleep(std::time::Duration::from_millis(15));
        }
        // Use the oldest, so the middle one becomes least recently used.
        assert!(cache.get(&keys[0], u64::MAX).is_some());
        cache.evict();
        assert!(cache.get(&keys[0], u64::MAX).is_some());
        assert!(cache.get(&keys[1], u64::MAX).is_none());
        assert!(cache.get(&keys[2], u64::MAX).is_some());
    }
}
