//! The deterministic zip writer: entries sorted by path, a fixed timestamp, Unix modes, no extra
//! fields; compressed on all cores, appended in order; written to a temporary file and renamed.
//!
//! Every file goes through one path: it is compressed into a one-file zip (in memory, or on
//! disk when large), or that zip comes from the cache, and its entry is raw-copied into the
//! archive under its real name. A cold build and a warm one therefore write the same bytes.

use std::io::{BufWriter, Cursor, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use sha2::{Digest, Sha256};
use zip::write::{PreparedZipFile, SimpleFileOptions, ZipWriter};
use zip::{CompressionMethod, DateTime, ZipArchive};

use super::cache::{Cache, Hit};
use crate::error::{Error, Result};
use crate::model::{Artifact, Compression, PackageStats};

/// Files larger than this are compressed by streaming through a temporary file instead of in
/// memory, so memory stays bounded by the number of files, not their bytes.
const STREAM_THRESHOLD: u64 = 8 << 20;

/// Source bytes compressed in memory at once, at most (plus one file under the threshold).
const BATCH_BYTES: u64 = 64 << 20;

/// One entry of an archive.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Path inside the archive, with forward slashes, relative.
    pub path: String,
    /// Where the contents are read from.
    pub source: PathBuf,
    pub bytes: u64,
    pub executable: bool,
    /// Store a link to this target instead of contents.
    pub link_target: Option<String>,
}

impl Entry {
    fn mode(&self) -> u32 {
        if self.link_target.is_some() {
            0o777
        } else if self.executable {
            0o755
        } else {
            0o644
        }
    }
}

/// How to write: deflate effort and the cache, if any.
#[derive(Debug, Default)]
pub struct WriteOptions {
    pub compression: Compression,
    pub cache: Option<Cache>,
    /// Files smaller than this skip the cache (`CACHE_MIN_BYTES` in builds).
    pub cache_min_bytes: u64,
}

/// Below this size a file is compressed again rather than cached: creating one more file in
/// the cache costs the file system more than deflating a few kilobytes (measured: most of a
/// cold build's time went to the kernel creating entries for thousands of small files).
pub const CACHE_MIN_BYTES: u64 = 16 << 10;

/// The zip crate's level for each setting: above 9 it runs zopfli with `level - 9` iterations.
fn level(compression: Compression) -> i64 {
    match compression {
        Compression::Fast => 1,
        Compression::Default => 6,
        Compression::Max => 24,
    }
}

fn options(
    mode: u32,
    method: CompressionMethod,
    level: Option<i64>,
    bytes: u64,
) -> SimpleFileOptions {
    SimpleFileOptions::default()
        .compression_method(method)
        .compression_level(level)
        .last_modified_time(DateTime::default())
        .unix_permissions(mode)
        .large_file(bytes >= u64::from(u32::MAX))
}

fn zip_error(path: &Path, error: impl std::fmt::Display) -> Error {
    Error::Zip {
        path: path.to_path_buf(),
        message: error.to_string(),
    }
}

/// Checks an archive path: relative, forward slashes, no `.` or `..` parts.
fn check_path(path: &str) -> Result<()> {
    let bad = path.is_empty()
        || path.starts_with('/')
        || path.contains('\\')
        || path
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == "..");
    if bad {
        return Err(Error::Usage(format!(
            "refusing to write archive path {path:?}"
        )));
    }
    Ok(())
}

/// The compressed form of one file, as a one-file zip, ready to be raw-copied.
enum Compressed {
    Memory(Vec<u8>),
    /// A large cached entry, read from the cache file.
    Sealed(super::cache::Sealed),
    /// A temporary file that is removed once copied.
    Temporary(tempfile::TempPath),
    Link,
}

/// What compressing one file did, for the report.
#[derive(Default)]
struct Outcome {
    /// The file is big enough to go through the cache.
    cached: bool,
    hit: bool,
    compressed_bytes: u64,
    /// With `max`: the size at the default level, to report what `max` saved.
    default_bytes: u64,
    default_time: Duration,
}

/// Name of the single entry inside a one-file zip; the real name is given when copying.
const INNER_NAME: &str = "entry";

/// Compresses `data` into a one-file zip, storing it when deflate would not make it smaller.
fn one_file_zip(data: &[u8], mode: u32, level: i64, source: &Path) -> Result<Vec<u8>> {
    let size = data.len() as u64;
    let mut prepared = PreparedZipFile::from_data(
        INNER_NAME,
        options(mode, CompressionMethod::Deflated, Some(level), size),
        data,
    )
    .map_err(|error| zip_error(source, error))?;
    if prepared.compressed_size() >= prepared.uncompressed_size() && !data.is_empty() {
        prepared = PreparedZipFile::from_data(
            INNER_NAME,
            options(mode, CompressionMethod::Stored, None, size),
            data,
        )
        .map_err(|error| zip_error(source, error))?;
    }
    let mut zip = ZipWriter::new(Cursor::new(Vec::with_capacity(
        prepared.compressed_size() as usize + 128,
    )));
    zip.add_prepared_file(prepared)
        .map_err(|error| zip_error(source, error))?;
    Ok(zip
        .finish()
        .map_err(|error| zip_error(source, error))?
        .into_inner())
}

/// Streams a large file into a one-file zip on disk beside the output.
fn one_file_zip_streamed(entry: &Entry, level: i64, folder: &Path) -> Result<tempfile::TempPath> {
    let temporary = tempfile::Builder::new()
        .prefix(".lamina-entry-")
        .tempfile_in(folder)
        .map_err(|error| Error::io(folder, error))?;
    let file = temporary
        .reopen()
        .map_err(|error| Error::io(temporary.path(), error))?;
    let mut zip = ZipWriter::new(BufWriter::new(file));
    zip.start_file(
        INNER_NAME,
        options(
            entry.mode(),
            CompressionMethod::Deflated,
            Some(level),
            entry.bytes,
        ),
    )
    .map_err(|error| zip_error(&entry.source, error))?;
    let mut source = fs_err::File::open(&entry.source)?;
    std::io::copy(&mut source, &mut zip).map_err(|error| Error::io(&entry.source, error))?;
    zip.finish()
        .map_err(|error| zip_error(&entry.source, error))?
        .flush()
        .map_err(|error| Error::io(temporary.path(), error))?;
    Ok(temporary.into_temp_path())
}

fn sha256_file(path: &Path) -> Result<Vec<u8>> {
    let mut file = fs_err::File::open(path)?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(|error| Error::io(path, error))?;
    Ok(hasher.finalize().to_vec())
}

/// Compresses one file (or takes it from the cache) on a worker thread.
fn compress(entry: &Entry, options: &WriteOptions, folder: &Path) -> Result<(Compressed, Outcome)> {
    if entry.link_target.is_some() {
        return Ok((Compressed::Link, Outcome::default()));
    }
    let level = level(options.compression);
    let settings = format!("deflate-{level}");
    let cache = options
        .cache
        .as_ref()
        .filter(|_| entry.bytes >= options.cache_min_bytes);
    let mut outcome = Outcome {
        cached: cache.is_some(),
        ..Outcome::default()
    };
    if entry.bytes > STREAM_THRESHOLD {
        // The cache key needs the digest before compressing: a hashing pass first (20 times
        // faster than deflate), then a compressing pass only on a miss.
        let key = match cache {
            Some(cache) => {
                let key = Cache::key(&sha256_file(&entry.source)?, &settings, entry.mode());
                if let Some(hit) = cache.get(&key, 0) {
                    let compressed = match hit {
                        Hit::File(sealed) => Compressed::Sealed(sealed),
                        Hit::Memory(bytes) => Compressed::Memory(bytes),
                    };
                    outcome.hit = true;
                    return Ok((compressed, outcome));
                }
                Some(key)
            }
            None => None,
        };
        let path = one_file_zip_streamed(entry, level, folder)?;
        if let (Some(cache), Some(key)) = (cache, key) {
            cache.put_file(&key, &path);
        }
        return Ok((Compressed::Temporary(path), outcome));
    }
    // One read here: the same bytes are hashed for the key and compressed on a miss. Scan has
    // read manifests and the user's scripts once before, to parse them; holding their bytes
    // until now would make memory grow with the input, and they are a small share of it.
    let data = fs_err::read(&entry.source)?;
    let digest = cache.map(|_| Sha256::digest(&data).to_vec());
    let lookup = |settings: &str| {
        let cache = cache?;
        let key = Cache::key(digest.as_deref()?, settings, entry.mode());
        Some((cache, key))
    };
    let compressed = match lookup(&settings).and_then(|(cache, key)| cache.get(&key, u64::MAX)) {
        Some(Hit::Memory(bytes)) => {
            outcome.hit = true;
            bytes
        }
        Some(Hit::File(mut sealed)) => {
            outcome.hit = true;
            let mut bytes = Vec::new();
            sealed
                .read_to_end(&mut bytes)
                .map_err(|error| Error::io(&entry.source, error))?;
            bytes
        }
        None => {
            let bytes = one_file_zip(&data, entry.mode(), level, &entry.source)?;
            if let Some((cache, key)) = lookup(&settings) {
                cache.put(&key, &bytes);
            }
            bytes
        }
    };
    outcome.compressed_bytes = compressed.len() as u64;
    if options.compression == Compression::Max {
        // What the default level would have written, to report what `max` saves.
        let started = Instant::now();
        let default_level = self::level(Compression::Default);
        let default_settings = format!("deflate-{default_level}");
        let default_bytes =
            match lookup(&default_settings).and_then(|(cache, key)| cache.get(&key, u64::MAX)) {
                Some(Hit::Memory(bytes)) => bytes.len() as u64,
                _ => {
                    let bytes = one_file_zip(&data, entry.mode(), default_level, &entry.source)?;
                    if let Some((cache, key)) = lookup(&default_settings) {
                        cache.put(&key, &bytes);
                    }
                    bytes.len() as u64
                }
            };
        outcome.default_bytes = default_bytes;
        outcome.default_time = started.elapsed();
    }
    Ok((Compressed::Memory(compressed), outcome))
}

/// Copies the single entry of a one-file zip into the archive under its real name.
fn append<W: Write + Seek, R: Read + Seek>(
    zip: &mut ZipWriter<W>,
    one_file: R,
    entry: &Entry,
) -> Result<()> {
    let mut archive = ZipArchive::new(one_file).map_err(|error| zip_error(&entry.source, error))?;
    let file = archive
        .by_index_raw(0)
        .map_err(|error| zip_error(&entry.source, error))?;
    zip.raw_copy_file_rename(file, &entry.path)
        .map_err(|error| zip_error(&entry.source, error))
}

/// Writes `entries` as a zip at `destination`, atomically, and returns its digest and size.
pub fn write(
    mut entries: Vec<Entry>,
    destination: &Path,
    options: &WriteOptions,
) -> Result<Artifact> {
    let started = Instant::now();
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    for entry in &entries {
        check_path(&entry.path)?;
    }
    if let Some(pair) = entries.windows(2).find(|pair| pair[0].path == pair[1].path) {
        return Err(Error::Usage(format!(
            "two entries for archive path {}",
            pair[0].path
        )));
    }
    let folder = destination.parent().unwrap_or(Path::new("."));
    fs_err::create_dir_all(folder)?;
    // Dropped (and so deleted) on any error below: no half-written zip is ever left.
    let temporary = tempfile::Builder::new()
        .prefix(".lamina-")
        .suffix(".zip.tmp")
        .tempfile_in(folder)
        .map_err(|error| Error::io(folder, error))?;
    let file = temporary
        .reopen()
        .map_err(|error| Error::io(temporary.path(), error))?;
    let mut zip = ZipWriter::new(BufWriter::with_capacity(1 << 20, file));
    let mut stats = PackageStats {
        compression: options.compression,
        ..PackageStats::default()
    };
    let mut default_time = Duration::ZERO;

    let mut start = 0;
    while start < entries.len() {
        // A batch of files up to BATCH_BYTES: compressed in parallel, appended in order.
        let mut end = start;
        let mut batch_bytes = 0;
        while end < entries.len() && (end == start || batch_bytes < BATCH_BYTES) {
            batch_bytes += entries[end].bytes.min(STREAM_THRESHOLD);
            end += 1;
        }
        let compressed: Vec<(Compressed, Outcome)> = entries[start..end]
            .par_iter()
            .map(|entry| compress(entry, options, folder))
            .collect::<Result<_>>()?;
        for (entry, (compressed, outcome)) in entries[start..end].iter().zip(compressed) {
            match compressed {
                Compressed::Link => {
                    let target = entry.link_target.as_deref().unwrap_or_default();
                    zip.add_symlink(&entry.path, target, options_for_link(entry))
                        .map_err(|error| zip_error(&entry.source, error))?;
                    continue;
                }
                Compressed::Memory(bytes) => append(&mut zip, Cursor::new(bytes), entry)?,
                Compressed::Sealed(sealed) => append(&mut zip, sealed, entry)?,
                Compressed::Temporary(path) => {
                    append(&mut zip, fs_err::File::open(&*path)?, entry)?
                }
            }
            if outcome.hit {
                stats.cache_hits += 1;
            } else if outcome.cached {
                stats.cache_misses += 1;
            }
            stats.default_level_bytes += outcome.default_bytes;
            stats.compressed_bytes += outcome.compressed_bytes;
            default_time += outcome.default_time;
        }
        start = end;
    }
    let mut writer = zip
        .finish()
        .map_err(|error| zip_error(destination, error))?;
    writer
        .flush()
        .map_err(|error| Error::io(temporary.path(), error))?;
    drop(writer);

    let (sha256, zipped_bytes) = digest(temporary.path())?;
    temporary
        .as_file()
        .sync_all()
        .map_err(|error| Error::io(temporary.path(), error))?;
    temporary
        .persist(destination)
        .map_err(|error| Error::io(destination, error.error))?;
    if let Some(cache) = &options.cache {
        cache.evict();
    }
    stats.seconds = started.elapsed().saturating_sub(default_time).as_secs_f64();
    Ok(Artifact {
        path: destination.to_path_buf(),
        sha256,
        zipped_bytes,
        entries: entries.len(),
        stats,
    })
}

fn options_for_link(entry: &Entry) -> SimpleFileOptions {
    options(entry.mode(), CompressionMethod::Stored, None, 0)
}

/// SHA-256 (hex) and length of a file, streamed.
pub fn digest(path: &Path) -> Result<(String, u64)> {
    let (digest, length) =
        super::cache::digest_file(path).map_err(|error| Error::io(path, error))?;
    Ok((hex::encode(digest), length))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_archive_paths_are_refused() {
        for path in ["/etc/passwd", "a/../b", "a\\b", "", "a//b", "./a"] {
            assert!(check_path(path).is_err(), "{path}");
        }
        assert!(check_path("node_modules/a/index.js").is_ok());
    }

    fn sample(dir: &Path) -> Vec<Entry> {
        let mut entries = Vec::new();
        for (index, (name, contents)) in [
            ("b.js", "module.exports = 1;\n".repeat(200)),
            ("a/x.json", "{}".to_string()),
            ("empty", String::new()),
            (
                "random.bin",
                (0..4000u32)
                    .map(|i| char::from(b'!' + (i.wrapping_mul(2_654_435_761) >> 27) as u8))
                    .collect(),
            ),
        ]
        .into_iter()
        .enumerate()
        {
            let source = dir.join(format!("source-{index}"));
            fs_err::write(&source, &contents).unwrap();
            entries.push(Entry {
                path: name.to_string(),
                source,
                bytes: contents.len() as u64,
                executable: index == 1,
                link_target: None,
            });
        }
        entries.push(Entry {
            path: "link".to_string(),
            source: dir.join("source-0"),
            bytes: 4,
            executable: false,
            link_target: Some("b.js".to_string()),
        });
        entries
    }

    #[test]
    fn cold_warm_uncached_and_single_threaded_writes_are_identical() {
        let dir = tempfile::tempdir().unwrap();
        let entries = sample(dir.path());
        let cache = WriteOptions {
            compression: Compression::Default,
            cache: Some(Cache::new(dir.path().join("cache"))),
            cache_min_bytes: 0,
        };
        let cold = write(entries.clone(), &dir.path().join("cold.zip"), &cache).unwrap();
        assert_eq!((cold.stats.cache_hits, cold.stats.cache_misses), (0, 4));
        let warm = write(entries.clone(), &dir.path().join("warm.zip"), &cache).unwrap();
        assert_eq!((warm.stats.cache_hits, warm.stats.cache_misses), (4, 0));
        let uncached = write(
            entries.clone(),
            &dir.path().join("none.zip"),
            &WriteOptions::default(),
        )
        .unwrap();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let single = pool
            .install(|| {
                write(
                    entries.clone(),
                    &dir.path().join("single.zip"),
                    &WriteOptions::default(),
                )
            })
            .unwrap();
        assert_eq!(cold.sha256, warm.sha256);
        assert_eq!(cold.sha256, uncached.sha256);
        assert_eq!(cold.sha256, single.sha256);
        let names: Vec<String> = ZipArchive::new(fs_err::File::open(&cold.path).unwrap())
            .unwrap()
            .file_names()
            .map(|name| name.unwrap().to_string())
            .collect();
        assert_eq!(names, ["a/x.json", "b.js", "empty", "link", "random.bin"]);
    }

    #[test]
    fn large_files_stream_and_read_back_intact() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big");
        let contents: Vec<u8> = (0..(STREAM_THRESHOLD + 12345))
            .map(|i| (i % 251) as u8)
            .collect();
        fs_err::write(&big, &contents).unwrap();
        let entries = vec![Entry {
            path: "big.bin".to_string(),
            source: big,
            bytes: contents.len() as u64,
            executable: false,
            link_target: None,
        }];
        let options = WriteOptions {
            compression: Compression::Fast,
            cache: Some(Cache::new(dir.path().join("cache"))),
            cache_min_bytes: 0,
        };
        let cold = write(entries.clone(), &dir.path().join("cold.zip"), &options).unwrap();
        let warm = write(entries, &dir.path().join("warm.zip"), &options).unwrap();
        assert_eq!(warm.stats.cache_hits, 1);
        assert_eq!(cold.sha256, warm.sha256);
        let mut archive = ZipArchive::new(fs_err::File::open(&warm.path).unwrap()).unwrap();
        let mut read = Vec::new();
        archive
            .by_name("big.bin")
            .unwrap()
            .read_to_end(&mut read)
            .unwrap();
        assert!(read == contents);
        let leftovers: Vec<_> = fs_err::read_dir(dir.path())
            .unwrap()
            .flatten()
            .filter(|entry| entry.file_name().to_string_lossy().starts_with(".lamina"))
            .collect();
        assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    }

    #[test]
    fn max_compression_is_no_larger_and_reports_the_saving() {
        let dir = tempfile::tempdir().unwrap();
        let entries = sample(dir.path());
        let max = write(
            entries.clone(),
            &dir.path().join("max.zip"),
            &WriteOptions {
                compression: Compression::Max,
                cache: None,
                cache_min_bytes: 0,
            },
        )
        .unwrap();
        let default = write(
            entries,
            &dir.path().join("default.zip"),
            &WriteOptions::default(),
        )
        .unwrap();
        assert!(max.zipped_bytes <= default.zipped_bytes);
        assert!(max.stats.default_level_bytes >= max.stats.compressed_bytes);
    }
}
