//! The content-addressed cache of compressed entries, shared by every function and build.
//!
//! An entry is one file: a seal (magic, length, SHA-256 of what follows) and a one-file zip
//! holding the compressed form of some content. The key is the SHA-256 of the content, the
//! compression settings, the deflate backend and the file mode, so a hit can be copied into an
//! archive as it is. A truncated or corrupted entry fails its seal and is ignored (and removed);
//! it never reaches a zip. Writes are atomic (temporary file, then rename); the cache is capped
//! and evicts least recently used entries.

use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use sha2::{Digest, Sha256};

/// Bump when the entry layout or the writer's entry options change.
const LAYOUT: &str = "lamina-cache-v2";
/// Part of every key, so an upgrade of the deflate backend never reuses old bytes.
const BACKEND: &str = "flate2-1/zlib-rs-0.6/zopfli-0.8";
/// The default size cap; `LAMINA_CACHE_MAX_BYTES` overrides it.
pub const DEFAULT_MAX_BYTES: u64 = 2 << 30;
const MAGIC: &[u8; 8] = b"LAMINA\x01\x00";
/// Magic, length (u64 little-endian), SHA-256.
const SEAL: usize = 8 + 8 + 32;

/// A cache folder.
#[derive(Debug)]
pub struct Cache {
    dir: PathBuf,
    max_bytes: u64,
    /// Bytes written by this process, to decide whether eviction must look at the folder.
    written: AtomicU64,
}

/// A cached entry's one-file zip.
pub enum Hit {
    Memory(Vec<u8>),
    /// Large entries stay on disk: a reader of the zip inside the entry file.
    File(Sealed),
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
            written: AtomicU64::new(0),
        }
    }

    /// The key for some content compressed with `settings` (method and level) at `mode`.
    pub fn key(content_sha256: &[u8], settings: &str, mode: u32) -> String {
        let mut hasher = Sha256::new();
        hasher.update(content_sha256);
        hasher.update(format!("\0{settings}\0{BACKEND}\0{mode:o}").as_bytes());
        hex::encode(hasher.finalize())
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(&key[..2]).join(key)
    }

    /// The entry for `key`, if present and intact. Entries up to `in_memory` bytes are read
    /// into memory; larger ones are checked by streaming and handed back as a reader.
    pub fn get(&self, key: &str, in_memory: u64) -> Option<Hit> {
        let path = self.path(key);
        let hit = read_sealed(&path, in_memory).ok().flatten();
        if hit.is_none() {
            // Missing, corrupted or truncated: never use it; a good copy replaces it.
            let _ = std::fs::remove_file(&path);
        }
        hit
    }

    /// Stores an entry from memory. Failures only cost a future miss, so they are ignored.
    pub fn put(&self, key: &str, bytes: &[u8]) {
        let digest = Sha256::digest(bytes);
        let _ = self.store(key, bytes.len() as u64, &digest, |file| {
            file.write_all(bytes)
        });
    }

    /// Stores an entry from a finished file.
    pub fn put_file(&self, key: &str, path: &Path) {
        let Ok((digest, length)) = digest_file(path) else {
            return;
        };
        let _ = self.store(key, length, &digest, |file| {
            let mut source = fs_err::File::open(path)?;
            io::copy(&mut source, file).map(|_| ())
        });
    }

    fn store(
        &self,
        key: &str,
        length: u64,
        digest: &[u8],
        write: impl FnOnce(&mut std::fs::File) -> io::Result<()>,
    ) -> io::Result<()> {
        let path = self.path(key);
        let folder = path.parent().expect("entries live in a folder");
        fs_err::create_dir_all(folder)?;
        let mut temporary = tempfile::NamedTempFile::new_in(folder)?;
        let file = temporary.as_file_mut();
        file.write_all(MAGIC)?;
        file.write_all(&length.to_le_bytes())?;
        file.write_all(digest)?;
        write(file)?;
        temporary.persist(&path).map_err(|error| error.error)?;
        self.written
            .fetch_add(length + SEAL as u64, Ordering::Relaxed);
        Ok(())
    }

    /// Removes least recently used entries until the cache is under its cap. The folder is only
    /// walked when the last known size plus what this process wrote may exceed the cap.
    pub fn evict(&self) {
        let usage_file = self.dir.join("usage");
        let known: u64 = fs_err::read_to_string(&usage_file)
            .ok()
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(0);
        let estimate = known + self.written.swap(0, Ordering::Relaxed);
        if estimate <= self.max_bytes {
            let _ = write_usage(&usage_file, estimate);
            return;
        }
        let mut entries: Vec<(SystemTime, u64, PathBuf)> = Vec::new();
        let mut total = 0;
        for entry in walkdir::WalkDir::new(&self.dir)
            .min_depth(2)
            .max_depth(2)
            .into_iter()
            .flatten()
        {
            let Ok(meta) = entry.metadata() else { continue };
            if !meta.is_file() {
                continue;
            }
            total += meta.len();
            let used = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            entries.push((used, meta.len(), entry.path().to_path_buf()));
        }
        entries.sort();
        for (_, bytes, path) in entries {
            if total <= self.max_bytes {
                break;
            }
            if std::fs::remove_file(&path).is_ok() {
                total -= bytes;
            }
        }
        let _ = write_usage(&usage_file, total);
    }
}

fn write_usage(path: &Path, bytes: u64) -> io::Result<()> {
    let folder = path.parent().expect("the usage file lives in the cache");
    fs_err::create_dir_all(folder)?;
    let mut temporary = tempfile::NamedTempFile::new_in(folder)?;
    writeln!(temporary, "{bytes}")?;
    temporary.persist(path).map_err(|error| error.error)?;
    Ok(())
}

/// Reads an entry file and checks its seal; `Ok(None)` when it does not hold.
fn read_sealed(path: &Path, in_memory: u64) -> io::Result<Option<Hit>> {
    let mut file = fs_err::File::open(path)?;
    let meta = file.metadata()?;
    // Least recently used eviction reads these times; an hour's precision is enough, and
    // saves a write per hit on a warm rebuild.
    let now = SystemTime::now();
    if meta.modified().is_ok_and(|used| {
        now.duration_since(used)
            .is_ok_and(|age| age.as_secs() > 3600)
    }) {
        let _ = file.file().set_modified(now);
    }
    let mut seal = [0; SEAL];
    file.read_exact(&mut seal)?;
    if &seal[..8] != MAGIC {
        return Ok(None);
    }
    let length = u64::from_le_bytes(seal[8..16].try_into().expect("eight bytes"));
    let expected = &seal[16..];
    if meta.len() != SEAL as u64 + length {
        return Ok(None);
    }
    if length <= in_memory {
        let mut bytes = Vec::with_capacity(length as usize);
        file.read_to_end(&mut bytes)?;
        let intact = Sha256::digest(&bytes).as_slice() == expected;
        return Ok(intact.then_some(Hit::Memory(bytes)));
    }
    let mut hasher = Sha256::new();
    io::copy(&mut file, &mut hasher)?;
    if hasher.finalize().as_slice() != expected {
        return Ok(None);
    }
    Ok(Some(Hit::File(Sealed {
        file: file.into_parts().0,
        start: SEAL as u64,
    })))
}

/// The zip inside an entry file, as a reader that starts after the seal.
pub struct Sealed {
    file: std::fs::File,
    start: u64,
}

impl Read for Sealed {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        self.file.read(buffer)
    }
}

impl Seek for Sealed {
    fn seek(&mut self, position: SeekFrom) -> io::Result<u64> {
        let absolute = match position {
            SeekFrom::Start(offset) => self.file.seek(SeekFrom::Start(self.start + offset))?,
            other => self.file.seek(other)?,
        };
        if absolute < self.start {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before the entry's zip",
            ));
        }
        Ok(absolute - self.start)
    }
}

/// SHA-256 and length of a file, streamed.
pub fn digest_file(path: &Path) -> io::Result<(Vec<u8>, u64)> {
    let mut file = fs_err::File::open(path)?;
    let mut hasher = Sha256::new();
    let length = io::copy(&mut file, &mut hasher)?;
    Ok((hasher.finalize().to_vec(), length))
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
        match cache.get(&key, 0) {
            Some(Hit::File(mut sealed)) => {
                let mut read = Vec::new();
                sealed.seek(SeekFrom::Start(3)).unwrap();
                sealed.read_to_end(&mut read).unwrap();
                assert_eq!(read, b"entry-bytes");
                assert_eq!(sealed.seek(SeekFrom::End(0)).unwrap(), 14);
            }
            _ => panic!("expected a hit on disk"),
        }
        // Flip a byte: the seal no longer matches, the entry is ignored and removed.
        let path = cache.path(&key);
        let mut bytes = fs_err::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        fs_err::write(&path, &bytes).unwrap();
        assert!(cache.get(&key, u64::MAX).is_none());
        assert!(!path.exists());
        // Truncated.
        cache.put(&key, b"PK-entry-bytes");
        let bytes = fs_err::read(&path).unwrap();
        fs_err::write(&path, &bytes[..bytes.len() - 4]).unwrap();
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
        cache.max_bytes = 2 * (SEAL as u64 + 10) + 5;
        let keys: Vec<String> = (0..3u8)
            .map(|i| Cache::key(&[i; 32], "deflate-6", 0o644))
            .collect();
        let now = SystemTime::now();
        for (hours, key) in [3, 2, 1].into_iter().zip(&keys) {
            cache.put(key, &[0; 10]);
            let file = std::fs::File::options()
                .append(true)
                .open(cache.path(key))
                .unwrap();
            file.set_modified(now - std::time::Duration::from_secs(hours * 3600 + 60))
                .unwrap();
        }
        // Use the oldest, so the middle one becomes least recently used.
        assert!(cache.get(&keys[0], u64::MAX).is_some());
        cache.evict();
        assert!(cache.get(&keys[0], u64::MAX).is_some());
        assert!(cache.get(&keys[1], u64::MAX).is_none());
        assert!(cache.get(&keys[2], u64::MAX).is_some());
    }
}
