//! The deterministic zip writer: entries sorted by path, a fixed timestamp, Unix modes, no extra
//! fields; compressed on all cores, appended in order; written to a temporary file and renamed.
//!
//! lamina writes the zip format itself rather than through the `zip` crate's writer (which it
//! still uses to read zips back in tests and smoke runs). The crate's writer takes a fresh
//! deflate state for every entry and can only append an entry compressed elsewhere by parsing
//! it back out of a one-file zip; here each worker thread keeps one deflate state and resets
//! it, and an entry is appended from its compressed bytes and a 30-byte header. The headers
//! are the ones the crate wrote, so archives are byte-identical to those earlier versions
//! wrote.
//!
//! Every file goes through one path: it is compressed (or its record comes from the cache)
//! into a [`Record`] and its bytes, then appended under its real name. A cold build and a warm
//! one therefore write the same bytes.
//!
//! Two deflate backends: libdeflate (whole buffers, faster and smaller than zlib at the same
//! level) for files up to [`STREAM_THRESHOLD`], read into memory; zlib-rs for larger ones,
//! streamed through a temporary file so memory never holds one. `--compression max` is zopfli
//! in memory and zlib-rs's level 9 streamed. Both libraries' versions are pinned: they decide
//! the archive's bytes, and the cache keys name them.

use std::cell::RefCell;
use std::io::{BufWriter, Read, Write};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use flate2::{Compress, FlushCompress, Status};
use sha2::{Digest, Sha256};

use super::cache::{Cache, Key, Located, Record};
use super::reuse::Content;
use super::stamps::{Stamp, Stamps};
use crate::error::{Error, Result};
use crate::model::{Artifact, Compression, PackageStats};

/// Files larger than this are compressed by zlib-rs, streaming through a temporary file,
/// instead of by libdeflate in memory, so memory stays bounded by the number of files and this
/// constant, not their bytes. 64 MiB keeps the largest files real functions ship in memory
/// (numpy's OpenBLAS, 35 MB; Prisma's and sharp's native libraries, 15-25 MB; a 12 MB bundled
/// SDK), where libdeflate makes them smaller than zlib does; a file larger than that would
/// not fit Lambda's 50 MiB zipped upload limit unless it compressed well. In memory at once:
/// each worker's file and its deflate output (at most twice 64 MiB a core), and the prepared
/// entries of the two groups in flight (`GROUP_BYTES`).
const STREAM_THRESHOLD: u64 = 64 << 20;

/// Source bytes in a group of chunks spawned together; two groups are in memory at most.
const GROUP_BYTES: u64 = 32 << 20;

/// A worker's task: consecutive files up to this many source bytes or files.
const CHUNK_BYTES: u64 = 1 << 20;
const CHUNK_FILES: usize = 64;

const STORED: u16 = 0;
const DEFLATED: u16 = 8;
/// Values at or above these need zip64 fields.
const ZIP64_BYTES: u64 = 0xFFFF_FFFF;
const ZIP64_ENTRIES: usize = 0xFFFF;
/// 1980-01-01 00:00:00, the earliest MS-DOS date: no time of any build goes in.
const DOS_TIME: u16 = 0;
const DOS_DATE: u16 = (1 << 5) | 1;
/// "Made by" Unix, so readers apply the modes in the external attributes.
const UNIX: u16 = 3 << 8;

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
    /// The file as scan saw it: with the cache's memo, an unchanged file is not even opened.
    pub stamp: Option<Stamp>,
    /// Put in place of the file's first bytes as it is read: a pyc's rewritten header.
    pub header: Option<[u8; 16]>,
}

impl Entry {
    /// The Unix mode with its file type, as the external attributes carry it.
    fn mode(&self) -> u32 {
        if self.link_target.is_some() {
            0o120_777
        } else if self.executable {
            0o100_755
        } else {
            0o100_644
        }
    }
}

/// How to write: deflate effort and the cache, if any.
#[derive(Debug, Default)]
pub struct WriteOptions {
    pub compression: Compression,
    pub cache: Option<Cache>,
    /// `(staging folder, output folder)` when zips are written into a build's staging
    /// folder: a zip's memo of unchanged files is named after its final path, which is the
    /// same from build to build.
    pub staging: Option<(PathBuf, PathBuf)>,
    /// Content digests this build has already read (layer planning), by the path each file
    /// is read from, with the stamp scan saw and the open file had; `precompress` put their
    /// records in the cache, so an entry found here at the same stamp is not read again.
    pub known: std::sync::Arc<Known>,
    /// The zips written and those left in place (`reuse.rs`), for the build's commit.
    pub outputs: std::sync::Mutex<super::reuse::Outputs>,
}

/// What [`WriteOptions::known`] holds.
pub type Known = std::collections::HashMap<PathBuf, (Stamp, [u8; 32])>;

/// The digest `known` holds for `path`, if it was read at `stamp`.
pub fn known_digest(known: &Known, path: &Path, stamp: &Stamp) -> Option<[u8; 32]> {
    known
        .get(path)
        .filter(|(seen, _)| seen == stamp)
        .map(|(_, digest)| *digest)
}

/// For a build that reads a file before writing its zip (layer planning hashes every kept
/// file): compresses the bytes read as `write` would and puts the record in `cache`, so
/// `write` finds it by `digest` (through [`WriteOptions::known`]) and reads nothing. Only a
/// file `write` compresses in memory, at the settings of `fast` or `default` (`max` also
/// measures the default level from the bytes); the others are left to `write`.
pub fn precompress(cache: &Cache, compression: Compression, data: &[u8], digest: &[u8; 32]) {
    if data.len() as u64 > STREAM_THRESHOLD || compression == Compression::Max {
        return;
    }
    let method = method(compression);
    let key = Cache::key(digest, &settings(method));
    if !cache.holds(&key) {
        let (record, bytes) = record_for(data, method);
        cache.put(&key, record, &bytes);
    }
}

/// How an entry that fits in memory is deflated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    /// libdeflate at a level of its own scale (1 to 12).
    Libdeflate(i32),
    /// Zopfli, for `max`: still plain deflate, a hundred times slower.
    Zopfli,
}

/// The pinned libdeflate, as the `libdeflate-sys` crate bundles it (its version is
/// libdeflate's). In every libdeflate cache key: another version may write other bytes for the
/// same input and level, so a version change must never reuse records. A unit test holds this
/// to `Cargo.lock`.
const LIBDEFLATE: &str = "libdeflate-sys-1.26.1";

/// libdeflate's level for `--compression default`, chosen on the bench apps (ARCHITECTURE.md
/// has the table): the fastest level whose zips are no larger than Info-ZIP `zip -6`'s on any
/// of them. Level 6 is faster but up to 1.7 % larger than zip on JavaScript; levels 8 and 9
/// save another 0.5 % for 1.5 to 2 times the processor time; 10 to 12 (near-optimal parsing)
/// save 2 to 4 % for 5 to 20 times.
const DEFAULT_LEVEL: i32 = 7;
/// libdeflate's level for `--compression fast`: its fastest real compression.
const FAST_LEVEL: i32 = 1;
/// Zopfli's iterations for `max`.
const ZOPFLI_ITERATIONS: u64 = 15;

/// How `compression` deflates an entry that fits in memory.
fn method(compression: Compression) -> Method {
    match compression {
        Compression::Fast => Method::Libdeflate(FAST_LEVEL),
        Compression::Default => Method::Libdeflate(DEFAULT_LEVEL),
        Compression::Max => Method::Zopfli,
    }
}

/// zlib's level for a file streamed by zlib-rs: zopfli holds a whole file in memory, so `max`
/// gets zlib's best level there.
fn streamed_level(compression: Compression) -> u32 {
    match compression {
        Compression::Fast => 1,
        Compression::Default => 6,
        Compression::Max => 9,
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
        return Err(Error::Zip {
            path: path.into(),
            message: "refusing an archive path that is empty or climbs out (`.`, `..`, `//`)"
                .to_string(),
        });
    }
    if path.len() > usize::from(u16::MAX) {
        return Err(Error::Zip {
            path: path[..path.floor_char_boundary(80)].into(),
            message: "the archive path is longer than a zip can hold".to_string(),
        });
    }
    Ok(())
}

thread_local! {
    /// One deflate state per worker thread and level, reset between entries: a fresh state
    /// costs more than compressing a small file.
    static DEFLATERS: RefCell<Vec<(u32, Compress)>> = const { RefCell::new(Vec::new()) };
    /// One libdeflate compressor per worker thread and level. Each call compresses a whole
    /// buffer from a fresh start, so reuse cannot change what it writes.
    static COMPRESSORS: RefCell<Vec<(i32, libdeflater::Compressor)>> =
        const { RefCell::new(Vec::new()) };
    /// A worker's buffer for the file it is reading, kept from file to file (`Scratch`).
    static INPUT: RefCell<Scratch> = const { RefCell::new(Scratch(Vec::new())) };
    /// A worker's buffer for libdeflate's output, kept from file to file (`Scratch`).
    static OUTPUT: RefCell<Scratch> = const { RefCell::new(Scratch(Vec::new())) };
}

/// The largest buffer a worker keeps between files (`Scratch`).
const SCRATCH_BYTES: usize = 1 << 20;

/// A zeroed buffer a worker thread reuses for file after file. Buffers allocated for each
/// file, as the writer did before, are zeroed (or faulted in page by page), grown and freed
/// every time: on heavy-node (12,464 files) that was about 2 % of the writer's processor time,
/// more than the CRC-32 and the SHA-256 of the output together. What a buffer held before
/// never reaches an archive: each use writes the bytes it then reads. Up to
/// [`SCRATCH_BYTES`] it is kept; a larger one is freed after its file, so what stays in memory
/// is bounded by the threads, not the largest file.
struct Scratch(Vec<u8>);

impl Scratch {
    /// At least `length` bytes to write into.
    fn room(&mut self, length: usize) -> &mut [u8] {
        if self.0.len() < length {
            self.0 = vec![0; length];
        }
        &mut self.0[..length]
    }

    /// Frees a buffer over [`SCRATCH_BYTES`].
    fn trim(&mut self) {
        if self.0.len() > SCRATCH_BYTES {
            self.0 = Vec::new();
        }
    }
}

/// libdeflate's raw deflate of `data`, if it fits in `room` bytes (`None` otherwise).
fn libdeflate(data: &[u8], level: i32, room: usize) -> Option<Vec<u8>> {
    COMPRESSORS.with(|cell| {
        let mut compressors = cell.borrow_mut();
        let position = match compressors.iter().position(|(have, _)| *have == level) {
            Some(position) => position,
            None => {
                let level = libdeflater::CompressionLvl::new(level).expect("a level of 1 to 12");
                compressors.push((i32::from(level), libdeflater::Compressor::new(level)));
                compressors.len() - 1
            }
        };
        let compressor = &mut compressors[position].1;
        OUTPUT.with(|cell| {
            let mut scratch = cell.borrow_mut();
            let written = compressor.deflate_compress(data, scratch.room(room)).ok();
            let deflated = written.map(|written| scratch.0[..written].to_vec());
            scratch.trim();
            deflated
        })
    })
}

/// Runs `work` with this thread's deflate state for `level`, reset.
fn with_deflater<T>(level: u32, work: impl FnOnce(&mut Compress) -> T) -> T {
    DEFLATERS.with(|cell| {
        let mut deflaters = cell.borrow_mut();
        let position = match deflaters.iter().position(|(have, _)| *have == level) {
            Some(position) => {
                deflaters[position].1.reset();
                position
            }
            None => {
                deflaters.push((level, Compress::new(flate2::Compression::new(level), false)));
                deflaters.len() - 1
            }
        };
        work(&mut deflaters[position].1)
    })
}

/// Drives a deflate state the way flate2's `write::DeflateEncoder` does: a 32 KiB output buffer,
/// drained before every call. zlib-rs's stream depends on how much output room each call gets,
/// and lamina wrote through that encoder before, so this keeps archives byte-identical.
struct Encoder<'a> {
    compress: &'a mut Compress,
    buffer: Vec<u8>,
}

impl<'a> Encoder<'a> {
    fn new(compress: &'a mut Compress) -> Encoder<'a> {
        Encoder {
            compress,
            buffer: Vec::with_capacity(32 * 1024),
        }
    }

    fn drain(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.buffer);
        self.buffer.clear();
    }

    fn write_all(&mut self, mut input: &[u8], out: &mut Vec<u8>) {
        while !input.is_empty() {
            self.drain(out);
            let before = self.compress.total_in();
            self.compress
                .compress_vec(input, &mut self.buffer, FlushCompress::None)
                .expect("deflate does not fail on a reset state");
            let consumed = (self.compress.total_in() - before) as usize;
            input = &input[consumed..];
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        loop {
            self.drain(out);
            let status = self
                .compress
                .compress_vec(&[], &mut self.buffer, FlushCompress::Finish)
                .expect("deflate does not fail on a reset state");
            if status == Status::StreamEnd {
                self.drain(out);
                return;
            }
        }
    }
}

/// Raw deflate of a whole buffer, if it is smaller than the buffer.
fn deflate(data: &[u8], method: Method) -> Option<Vec<u8>> {
    let room = data.len().checked_sub(1)?;
    match method {
        Method::Libdeflate(level) => libdeflate(data, level, room),
        Method::Zopfli => {
            let options = zopfli::Options {
                iteration_count: std::num::NonZeroU64::new(ZOPFLI_ITERATIONS).expect("not zero"),
                ..zopfli::Options::default()
            };
            let mut out = Vec::with_capacity(data.len() / 3 + 64);
            zopfli::compress(options, zopfli::Format::Deflate, data, &mut out)
                .expect("zopfli writes to memory");
            (out.len() <= room).then_some(out)
        }
    }
}

/// A compressed entry's bytes, ready to be appended.
enum Data {
    Memory(Vec<u8>),
    /// A large file's deflate stream, removed once copied.
    Temporary(tempfile::TempPath),
    /// A large file deflate could not shrink, copied from its source as it is.
    Source,
    /// A large record in the cache.
    Cached(Located),
}

/// What preparing one file did, for the report and the cache.
#[derive(Default)]
struct Outcome {
    hit: bool,
    /// The key of the record written, with the cache: what the zip's fingerprint takes.
    key: Option<Key>,
    /// The key to store the record under, on a miss.
    store: Option<Key>,
    /// With `max`: the size at the default level, to report what `max` saved, and its record
    /// to store when it was computed.
    default_bytes: u64,
    default_record: Option<(Key, Record, Vec<u8>)>,
    default_time: Duration,
}

/// Stores `data` when deflate does not make it smaller (an empty file too, as Info-ZIP does:
/// no bytes instead of a deflate stream of two).
fn record_for(data: &[u8], method: Method) -> (Record, Vec<u8>) {
    let crc32 = crc32fast::hash(data);
    let uncompressed = data.len() as u64;
    let Some(deflated) = deflate(data, method) else {
        let record = Record {
            method: STORED,
            crc32,
            uncompressed,
            compressed: uncompressed,
        };
        return (record, data.to_vec());
    };
    let record = Record {
        method: DEFLATED,
        crc32,
        uncompressed,
        compressed: deflated.len() as u64,
    };
    (record, deflated)
}

/// Streams a large file's deflate stream into a temporary file beside the output; also
/// returns the SHA-256 of what it read.
fn deflate_streamed(entry: &Entry, level: u32, folder: &Path) -> Result<(Record, Data, [u8; 32])> {
    let temporary = super::output::temporary_file(folder, ".entry")?;
    let mut out = BufWriter::new(
        temporary
            .reopen()
            .map_err(|error| Error::io(temporary.path(), error))?,
    );
    let mut source = crate::input::open(&entry.source, Some(entry.bytes))?;
    let mut crc = crc32fast::Hasher::new();
    let mut hasher = Sha256::new();
    let mut uncompressed = 0u64;
    let mut compressed = 0u64;
    // Read in 8 KiB pieces, as `io::copy` fed the encoder before: see `Encoder`.
    let mut input = vec![0; 8 << 10];
    let mut output = Vec::with_capacity(1 << 20);
    with_deflater(level, |compress| -> Result<()> {
        let mut encoder = Encoder::new(compress);
        loop {
            let read = source
                .read(&mut input)
                .map_err(|error| Error::io(&entry.source, error))?;
            if read == 0 {
                encoder.finish(&mut output);
            } else {
                crc.update(&input[..read]);
                hasher.update(&input[..read]);
                uncompressed += read as u64;
                encoder.write_all(&input[..read], &mut output);
            }
            if output.len() >= 1 << 20 || read == 0 {
                compressed += output.len() as u64;
                out.write_all(&output)
                    .map_err(|error| Error::io(temporary.path(), error))?;
                output.clear();
            }
            if read == 0 {
                return Ok(());
            }
        }
    })?;
    out.flush()
        .map_err(|error| Error::io(temporary.path(), error))?;
    let crc32 = crc.finalize();
    let digest = hasher.finalize().into();
    if compressed >= uncompressed {
        let record = Record {
            method: STORED,
            crc32,
            uncompressed,
            compressed: uncompressed,
        };
        return Ok((record, Data::Source, digest));
    }
    let record = Record {
        method: DEFLATED,
        crc32,
        uncompressed,
        compressed,
    };
    Ok((record, Data::Temporary(temporary.into_temp_path()), digest))
}

/// What a cache key says about how an entry in memory was compressed: the backend, its
/// pinned version and the level.
fn settings(method: Method) -> String {
    match method {
        Method::Libdeflate(level) => format!("{LIBDEFLATE}-level-{level}"),
        Method::Zopfli => format!("zopfli-{ZOPFLI_ITERATIONS}"),
    }
}

/// The same for a streamed entry: zlib-rs, whose version is in every key (`cache::BACKEND`).
fn streamed_settings(level: u32) -> String {
    format!("zlib-rs-level-{level}")
}

/// Whether `entry` is compressed streaming (by zlib-rs through a temporary file) rather than in
/// memory.
fn streamed(entry: &Entry) -> bool {
    entry.bytes > STREAM_THRESHOLD && entry.header.is_none()
}

/// The cache key of `entry`'s record, its content's digest being `digest`.
fn entry_key(entry: &Entry, compression: Compression, digest: &[u8; 32]) -> Key {
    let settings = if streamed(entry) {
        streamed_settings(streamed_level(compression))
    } else {
        settings(method(compression))
    };
    Cache::key(digest, &settings)
}

/// The content digest of a streamed entry: remembered, or from a hashing pass over the file.
fn streamed_digest(entry: &Entry, stamps: Option<&Stamps>, known: &Known) -> Result<[u8; 32]> {
    let (_, digest) = content_digest(entry, stamps, known, |file| {
        let mut hasher = Sha256::new();
        std::io::copy(file, &mut hasher).map_err(|error| Error::io(&entry.source, error))?;
        Ok(((), hasher.finalize().into()))
    })?;
    Ok(digest)
}

/// The content digest of `entry` as `prepare` would find it (a link has none), without
/// compressing: for the zip's fingerprint, before anything is written (`reuse.rs`). `prepare`
/// is then given it, and reads the file again only when its record is not in the cache (to
/// compress it) or for `max`'s comparison.
fn digest_of(
    entry: &Entry,
    options: &WriteOptions,
    stamps: Option<&Stamps>,
) -> Result<Option<[u8; 32]>> {
    if entry.link_target.is_some() {
        return Ok(None);
    }
    if streamed(entry) {
        return streamed_digest(entry, stamps, &options.known).map(Some);
    }
    INPUT.with(|cell| {
        let mut input = cell.borrow_mut();
        let (_, digest) = content_digest(entry, stamps, &options.known, |file| {
            Ok((
                (),
                Sha256::digest(read_entry(entry, file, &mut input)?).into(),
            ))
        })?;
        input.trim();
        Ok(Some(digest))
    })
}

/// What the memo of stamps remembers an entry's digest under: its file's path, and for an
/// entry with a header put in place (a rewritten pyc, whose first bytes follow from its
/// source) a NUL, which no path holds, and the header: the bytes that ship are then the same
/// whenever the file's stamp and the header are.
fn memo_key(entry: &Entry) -> std::borrow::Cow<'_, [u8]> {
    let path = std::os::unix::ffi::OsStrExt::as_bytes(entry.source.as_os_str());
    match &entry.header {
        None => std::borrow::Cow::Borrowed(path),
        Some(header) => {
            let mut key = Vec::with_capacity(path.len() + 1 + header.len());
            key.extend_from_slice(path);
            key.push(0);
            key.extend_from_slice(header);
            std::borrow::Cow::Owned(key)
        }
    }
}

/// The content digest of `entry`'s file: remembered from an earlier build when scan's stamp
/// of it is unchanged (and its header, if one is put in place, the same: `memo_key`; then
/// `read` is not called and the data is `None`), else from `read`, which reads the open file
/// once for both the digest and whatever else it returns. Entries without a stamp (staged
/// files) are never remembered.
fn content_digest<T>(
    entry: &Entry,
    stamps: Option<&Stamps>,
    known: &Known,
    read: impl FnOnce(&mut crate::input::Bounded) -> Result<(T, [u8; 32])>,
) -> Result<(Option<T>, [u8; 32])> {
    let memo = stamps.zip(entry.stamp.as_ref());
    let key = memo_key(entry);
    if let Some((stamps, stamp)) = memo
        && let Some(digest) = stamps.digest_at(&key, stamp)
    {
        return Ok((None, digest));
    }
    // Read earlier in this build, at the stamp scan saw: the memo learns it as if read here.
    // Layer planning reads files as they are, without headers.
    if let Some(stamp) = entry.stamp.as_ref().filter(|_| entry.header.is_none())
        && let Some(digest) = known_digest(known, &entry.source, stamp)
    {
        if let Some((stamps, _)) = memo {
            stamps.record_at(&key, *stamp, digest);
        }
        return Ok((None, digest));
    }
    let mut file = crate::input::open(&entry.source, Some(entry.bytes))?;
    // The stamp of the open file, taken before reading: a change during or after the read
    // moves its ctime, so the next build will not take this digest for it.
    let stamp = match memo {
        Some(_) => Some(Stamp::of(&file.metadata()?)),
        None => None,
    };
    let (data, digest) = read(&mut file)?;
    if let (Some((stamps, _)), Some(stamp)) = (memo, stamp) {
        stamps.record_at(&key, stamp, digest);
    }
    Ok((Some(data), digest))
}

/// The bytes of `entry` that ship: its file's, with its `header` in place, read into `input`.
/// Two reads whatever the size: all of it, then the one byte past it that `Bounded` asks for to
/// notice a file that grew (`read_to_end` grows its reads from 8 KiB, and zeroes what it reads
/// into, `Bounded` being no `File`).
fn read_entry<'a>(
    entry: &Entry,
    file: &mut crate::input::Bounded,
    input: &'a mut Scratch,
) -> Result<&'a [u8]> {
    let length = file.len() as usize;
    let buffer = input.room(length + 1);
    let mut filled = 0;
    loop {
        match file.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(read) => filled += read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => return Err(Error::io(&entry.source, error)),
        }
    }
    // `Bounded` fails a read that ends short of the size or goes past it.
    let data = &mut buffer[..filled];
    if let Some(header) = &entry.header {
        let Some(start) = data.get_mut(..header.len()) else {
            return Err(Error::input(
                &entry.source,
                "changed while lamina was packaging it (now shorter than its header); run the build again",
            ));
        };
        start.copy_from_slice(header);
    }
    Ok(data)
}

/// Compresses one file (or takes it from the cache) on a worker thread.
fn prepare(
    entry: &Entry,
    options: &WriteOptions,
    stamps: Option<&Stamps>,
    folder: &Path,
    digest: Option<[u8; 32]>,
) -> Result<(Record, Data, Outcome)> {
    let mut outcome = Outcome::default();
    if let Some(target) = &entry.link_target {
        let record = Record {
            method: STORED,
            crc32: crc32fast::hash(target.as_bytes()),
            uncompressed: target.len() as u64,
            compressed: target.len() as u64,
        };
        return Ok((record, Data::Memory(target.as_bytes().to_vec()), outcome));
    }
    let cache = options.cache.as_ref();
    if streamed(entry) {
        let level = streamed_level(options.compression);
        // The key needs the digest before compressing: a hashing pass first (20 times faster
        // than deflate), then a compressing pass only on a miss.
        let mut expected = None;
        if let Some(cache) = cache {
            let digest = match digest {
                Some(digest) => digest,
                None => streamed_digest(entry, stamps, &options.known)?,
            };
            expected = Some(digest);
            let key = entry_key(entry, options.compression, &digest);
            if let Some(located) = cache.get_large(&key) {
                outcome.hit = true;
                outcome.key = Some(key);
                let record = located.record;
                let data = if located.is_content() {
                    Data::Source
                } else {
                    Data::Cached(located)
                };
                return Ok((record, data, outcome));
            }
            outcome.store = Some(key);
        }
        let (record, data, read) = deflate_streamed(entry, level, folder)?;
        if expected.is_some_and(|expected| expected != read) {
            // Changed since it was hashed: what was compressed is not what the key names.
            outcome.store = None;
        }
        outcome.key = cache.map(|_| entry_key(entry, options.compression, &read));
        return Ok((record, data, outcome));
    }
    INPUT.with(|cell| {
        let mut input = cell.borrow_mut();
        let prepared = prepare_in_memory(entry, options, stamps, outcome, &mut input, digest);
        input.trim();
        prepared
    })
}

/// `prepare` for a file compressed in memory, read into this worker's `input`.
fn prepare_in_memory(
    entry: &Entry,
    options: &WriteOptions,
    stamps: Option<&Stamps>,
    mut outcome: Outcome,
    input: &mut Scratch,
    given: Option<[u8; 32]>,
) -> Result<(Record, Data, Outcome)> {
    let method = method(options.compression);
    let cache = options.cache.as_ref();
    // One read here: the same bytes are hashed for the key and compressed on a miss. Scan has
    // read manifests and the user's scripts once before, to parse them; holding their bytes
    // until now would make memory grow with the input, and they are a small share of it.
    let read = |file: &mut crate::input::Bounded, input: &mut Scratch| -> Result<[u8; 32]> {
        Ok(Sha256::digest(read_entry(entry, file, input)?).into())
    };
    // Whether `input` holds the entry's bytes, and how many.
    let (mut length, mut digest) = match (cache, given) {
        (Some(_), Some(given)) => (None, Some(given)),
        (Some(_), None) => {
            let (read, digest) = content_digest(entry, stamps, &options.known, |file| {
                Ok((file.len() as usize, read(file, input)?))
            })?;
            (read, Some(digest))
        }
        (None, _) => {
            let file = &mut crate::input::open(&entry.source, Some(entry.bytes))?;
            (Some(read_entry(entry, file, input)?.len()), None)
        }
    };
    let key_for =
        |digest: Option<[u8; 32]>, method: Method| Some(Cache::key(&digest?, &settings(method)));
    let lookup = |digest| {
        cache
            .zip(key_for(digest, method))
            .and_then(|(cache, key)| cache.get(&key))
    };
    let mut hit = lookup(digest);
    if length.is_none() && (hit.is_none() || options.compression == Compression::Max) {
        // The digest was remembered but the bytes are needed: read the file after all, and
        // key what is read by its own digest, should it have changed since scan saw it.
        let file = &mut crate::input::open(&entry.source, Some(entry.bytes))?;
        let fresh = read(file, input)?;
        if digest != Some(fresh) {
            digest = Some(fresh);
            hit = lookup(digest);
        }
        length = Some(file.len() as usize);
    }
    let data = &input.0[..length.unwrap_or(0)];
    let key = |method: Method| key_for(digest, method);
    outcome.key = key(method);
    let (record, bytes) = match hit {
        Some(hit) => {
            outcome.hit = true;
            hit
        }
        None => {
            outcome.store = key(method);
            record_for(data, method)
        }
    };
    if options.compression == Compression::Max {
        // What the default level would have written, to report what `max` saves.
        let started = Instant::now();
        let default_method = self::method(Compression::Default);
        let known = cache
            .zip(key(default_method))
            .and_then(|(cache, key)| cache.peek(&key));
        outcome.default_bytes = match known {
            Some(record) => record.compressed,
            None => {
                let (record, bytes) = record_for(data, default_method);
                if let Some(key) = key(default_method) {
                    outcome.default_record = Some((key, record, bytes));
                }
                record.compressed
            }
        };
        outcome.default_time = started.elapsed();
    }
    Ok((record, Data::Memory(bytes), outcome))
}

/// The output file, hashed and counted as it is written.
struct Output<W: Write> {
    inner: W,
    hasher: Sha256,
    offset: u64,
}

impl<W: Write> Write for Output<W> {
    fn write(&mut self, buffer: &[u8]) -> std::io::Result<usize> {
        let written = self.inner.write(buffer)?;
        self.hasher.update(&buffer[..written]);
        self.offset += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// What the central directory says about one entry.
struct Central {
    record: Record,
    mode: u32,
    offset: u64,
}

/// Version needed to extract: 1.0 stored, 2.0 deflated, 4.5 with zip64 fields.
fn version_needed(method: u16, zip64: bool) -> u16 {
    if zip64 {
        45
    } else if method == DEFLATED {
        20
    } else {
        10
    }
}

/// General purpose flags: bit 11 says the name is UTF-8, set only when it is not ASCII.
fn flags(name: &str) -> u16 {
    if name.is_ascii() { 0 } else { 1 << 11 }
}

fn local_header(name: &str, record: &Record) -> Vec<u8> {
    let zip64 = record.compressed >= ZIP64_BYTES || record.uncompressed >= ZIP64_BYTES;
    let mut header = Vec::with_capacity(30 + name.len() + 20);
    header.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
    header.extend_from_slice(&version_needed(record.method, zip64).to_le_bytes());
    header.extend_from_slice(&flags(name).to_le_bytes());
    header.extend_from_slice(&record.method.to_le_bytes());
    header.extend_from_slice(&DOS_TIME.to_le_bytes());
    header.extend_from_slice(&DOS_DATE.to_le_bytes());
    header.extend_from_slice(&record.crc32.to_le_bytes());
    if zip64 {
        header.extend_from_slice(&u32::MAX.to_le_bytes());
        header.extend_from_slice(&u32::MAX.to_le_bytes());
    } else {
        header.extend_from_slice(&(record.compressed as u32).to_le_bytes());
        header.extend_from_slice(&(record.uncompressed as u32).to_le_bytes());
    }
    header.extend_from_slice(&(name.len() as u16).to_le_bytes());
    header.extend_from_slice(&(if zip64 { 20u16 } else { 0 }).to_le_bytes());
    header.extend_from_slice(name.as_bytes());
    if zip64 {
        header.extend_from_slice(&1u16.to_le_bytes());
        header.extend_from_slice(&16u16.to_le_bytes());
        header.extend_from_slice(&record.uncompressed.to_le_bytes());
        header.extend_from_slice(&record.compressed.to_le_bytes());
    }
    header
}

fn central_header(name: &str, central: &Central) -> Vec<u8> {
    let Central {
        record,
        mode,
        offset,
    } = central;
    // The zip64 extra field holds, in this order, only the values too large for their field.
    let mut extra = Vec::new();
    for value in [record.uncompressed, record.compressed, *offset] {
        if value >= ZIP64_BYTES {
            extra.extend_from_slice(&value.to_le_bytes());
        }
    }
    let clamp = |value: u64| value.min(ZIP64_BYTES) as u32;
    let needed = version_needed(record.method, !extra.is_empty());
    let mut header = Vec::with_capacity(46 + name.len() + 4 + extra.len());
    header.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
    header.extend_from_slice(&(UNIX | needed).to_le_bytes());
    header.extend_from_slice(&needed.to_le_bytes());
    header.extend_from_slice(&flags(name).to_le_bytes());
    header.extend_from_slice(&record.method.to_le_bytes());
    header.extend_from_slice(&DOS_TIME.to_le_bytes());
    header.extend_from_slice(&DOS_DATE.to_le_bytes());
    header.extend_from_slice(&record.crc32.to_le_bytes());
    header.extend_from_slice(&clamp(record.compressed).to_le_bytes());
    header.extend_from_slice(&clamp(record.uncompressed).to_le_bytes());
    header.extend_from_slice(&(name.len() as u16).to_le_bytes());
    let extra_length = if extra.is_empty() { 0 } else { 4 + extra.len() };
    header.extend_from_slice(&(extra_length as u16).to_le_bytes());
    header.extend_from_slice(&0u16.to_le_bytes()); // comment
    header.extend_from_slice(&0u16.to_le_bytes()); // disk
    header.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
    header.extend_from_slice(&(mode << 16).to_le_bytes());
    header.extend_from_slice(&clamp(*offset).to_le_bytes());
    header.extend_from_slice(name.as_bytes());
    if !extra.is_empty() {
        header.extend_from_slice(&1u16.to_le_bytes());
        header.extend_from_slice(&(extra.len() as u16).to_le_bytes());
        header.extend_from_slice(&extra);
    }
    header
}

/// The end records: zip64 ones first when the count or an offset needs them.
fn end_records(entries: usize, start: u64, size: u64) -> Vec<u8> {
    let mut end = Vec::with_capacity(22 + 56 + 20);
    let zip64 = entries >= ZIP64_ENTRIES || start >= ZIP64_BYTES || size >= ZIP64_BYTES;
    if zip64 {
        end.extend_from_slice(&0x0606_4b50u32.to_le_bytes());
        end.extend_from_slice(&44u64.to_le_bytes());
        end.extend_from_slice(&(UNIX | 45).to_le_bytes());
        end.extend_from_slice(&45u16.to_le_bytes());
        end.extend_from_slice(&0u32.to_le_bytes());
        end.extend_from_slice(&0u32.to_le_bytes());
        end.extend_from_slice(&(entries as u64).to_le_bytes());
        end.extend_from_slice(&(entries as u64).to_le_bytes());
        end.extend_from_slice(&size.to_le_bytes());
        end.extend_from_slice(&start.to_le_bytes());
        end.extend_from_slice(&0x0706_4b50u32.to_le_bytes());
        end.extend_from_slice(&0u32.to_le_bytes());
        end.extend_from_slice(&(start + size).to_le_bytes());
        end.extend_from_slice(&1u32.to_le_bytes());
    }
    let count = entries.min(ZIP64_ENTRIES) as u16;
    end.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    end.extend_from_slice(&0u16.to_le_bytes());
    end.extend_from_slice(&0u16.to_le_bytes());
    end.extend_from_slice(&count.to_le_bytes());
    end.extend_from_slice(&count.to_le_bytes());
    end.extend_from_slice(&(size.min(ZIP64_BYTES) as u32).to_le_bytes());
    end.extend_from_slice(&(start.min(ZIP64_BYTES) as u32).to_le_bytes());
    end.extend_from_slice(&0u16.to_le_bytes());
    end
}

/// Appends one prepared entry's header and bytes.
fn append(
    out: &mut Output<impl Write>,
    entry: &Entry,
    record: &Record,
    data: &Data,
    temporary: &Path,
) -> Result<()> {
    let io = |error| Error::io(temporary, error);
    out.write_all(&local_header(&entry.path, record))
        .map_err(io)?;
    match data {
        Data::Memory(bytes) => out.write_all(bytes).map_err(io),
        Data::Temporary(path) => {
            let mut file = crate::fs::open(&**path)?;
            copy_exactly(
                &mut file,
                out,
                record.compressed,
                &entry.source,
                temporary,
                |_, error| Error::io(&**path, error),
            )
        }
        Data::Source => {
            // Stored as it is: read again, and checked against what the first read found.
            let mut file = crate::input::open(&entry.source, Some(entry.bytes))?;
            let mut checked = Crc {
                inner: out,
                hasher: crc32fast::Hasher::new(),
            };
            copy_exactly(
                &mut file,
                &mut checked,
                record.compressed,
                &entry.source,
                temporary,
                |file, error| file.error(error),
            )?;
            if checked.hasher.finalize() != record.crc32 {
                return Err(Error::input(
                    &entry.source,
                    "changed while lamina was packaging it; run the build again",
                ));
            }
            Ok(())
        }
        Data::Cached(located) => located.copy_to(out).map_err(io),
    }
}

/// Copies exactly `length` bytes, failing if the source (the file at `path`) holds a different
/// number. A failed read is the error `read_error` makes of it (naming the file read); a failed
/// write names `temporary`, the zip being written.
fn copy_exactly<R: Read>(
    source: &mut R,
    out: &mut impl Write,
    length: u64,
    path: &Path,
    temporary: &Path,
    read_error: impl FnOnce(&R, std::io::Error) -> Error,
) -> Result<()> {
    let mut reading = Reading {
        inner: source,
        failed: false,
    };
    let copied = std::io::copy(&mut (&mut reading).take(length + 1), out);
    let failed = reading.failed;
    let copied = copied.map_err(|error| {
        if failed {
            read_error(source, error)
        } else {
            Error::io(temporary, error)
        }
    })?;
    if copied != length {
        return Err(Error::input(
            path,
            "changed while lamina was packaging it; run the build again",
        ));
    }
    Ok(())
}

/// A reader that notes whether a read failed, so a copy's error names the side that failed.
struct Reading<'a, R> {
    inner: &'a mut R,
    failed: bool,
}

impl<R: Read> Read for Reading<'_, R> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        self.inner.read(buffer).inspect_err(|error| {
            // `io::copy` retries an interrupted read: only another error ends the copy.
            self.failed |= error.kind() != std::io::ErrorKind::Interrupted;
        })
    }
}

/// A writer that computes the CRC-32 of what passes through.
struct Crc<'a, W: Write> {
    inner: &'a mut W,
    hasher: crc32fast::Hasher,
}

impl<W: Write> Write for Crc<'_, W> {
    fn write(&mut self, buffer: &[u8]) -> std::io::Result<usize> {
        let written = self.inner.write(buffer)?;
        self.hasher.update(&buffer[..written]);
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Puts a missed record into the cache's pending pack.
fn store(cache: &Cache, key: &Key, record: Record, data: &Data) {
    match data {
        Data::Memory(bytes) => cache.put(key, record, bytes),
        Data::Temporary(path) => {
            if let Ok(mut file) = crate::fs::open(path) {
                let _ = cache.put_from(key, record, record.compressed, &mut file);
            }
        }
        Data::Source => cache.put_content(key, record),
        Data::Cached(_) => {}
    }
}

/// Which entries are compressed together (`chunks`, with their cost in bytes), and the groups
/// of chunks spawned at a time (`groups`, largest first; `group_of` each chunk's group).
struct Schedule {
    chunks: Vec<(std::ops::Range<usize>, u64)>,
    groups: Vec<Vec<usize>>,
    group_of: Vec<usize>,
}

/// Files are compressed on the pool in chunks (a task per file cost more in thread wakeups
/// than small files cost to compress) and appended in sorted order as they come in. Chunks
/// are spawned a group at a time, a group ahead of the one being appended, so memory stays
/// bounded by two groups; within a group the largest go first, so no core is left idle while
/// another finishes a large file that happened to sort last.
fn schedule(entries: &[Entry]) -> Schedule {
    let cost = |entry: &Entry| entry.bytes.min(STREAM_THRESHOLD);
    let mut chunks = Vec::new();
    let mut chunk_start = 0;
    let mut chunk_bytes = 0;
    for (index, entry) in entries.iter().enumerate() {
        chunk_bytes += cost(entry);
        if chunk_bytes >= CHUNK_BYTES || index + 1 - chunk_start >= CHUNK_FILES {
            chunks.push((chunk_start..index + 1, chunk_bytes));
            chunk_start = index + 1;
            chunk_bytes = 0;
        }
    }
    if chunk_start < entries.len() {
        chunks.push((chunk_start..entries.len(), chunk_bytes));
    }
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut group_of = Vec::with_capacity(chunks.len());
    let mut group_bytes = 0;
    for (number, (_, bytes)) in chunks.iter().enumerate() {
        if groups.is_empty() || group_bytes + bytes > GROUP_BYTES {
            groups.push(Vec::new());
            group_bytes = 0;
        }
        group_bytes += bytes;
        groups.last_mut().expect("pushed above").push(number);
        group_of.push(groups.len() - 1);
    }
    for group in &mut groups {
        group.sort_by_key(|&number| std::cmp::Reverse(chunks[number].1));
    }
    Schedule {
        chunks,
        groups,
        group_of,
    }
}

/// The central directory and the end records, after every entry.
fn write_central_directory<W: Write>(
    out: &mut Output<W>,
    entries: &[Entry],
    central: &[Central],
    temporary: &Path,
) -> Result<()> {
    let central_start = out.offset;
    for (entry, central) in entries.iter().zip(central) {
        out.write_all(&central_header(&entry.path, central))
            .map_err(|error| Error::io(temporary, error))?;
    }
    let central_size = out.offset - central_start;
    out.write_all(&end_records(entries.len(), central_start, central_size))
        .map_err(|error| Error::io(temporary, error))?;
    out.flush().map_err(|error| Error::io(temporary, error))?;
    Ok(())
}

/// The processor time this process has used, user and system, every thread, to the
/// nanosecond (`CLOCK_PROCESS_CPUTIME_ID`). Zips are written one at a time, so the difference
/// across `write` is the writer's: what `cargo xtask bench` sets against Info-ZIP's.
fn process_cpu_seconds() -> f64 {
    let time = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    time.tv_sec as f64 + time.tv_nsec as f64 / 1e9
}

/// Writes `entries` as a zip at `destination`, atomically, and returns its digest and size.
pub fn write(
    mut entries: Vec<Entry>,
    destination: &Path,
    options: &WriteOptions,
) -> Result<Artifact> {
    let started = Instant::now();
    let cpu_started = process_cpu_seconds();
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    for entry in &entries {
        check_path(&entry.path)?;
    }
    if let Some(pair) = entries.windows(2).find(|pair| pair[0].path == pair[1].path) {
        return Err(Error::Zip {
            path: pair[0].path.as_str().into(),
            message: "two entries for this archive path".to_string(),
        });
    }
    let folder = destination.parent().unwrap_or(Path::new("."));
    crate::fs::create_dir_all(folder)?;
    let mut stats = PackageStats {
        compression: options.compression,
        ..PackageStats::default()
    };
    // The zip's final name, the same from build to build: its memo of stamps and its record
    // (`reuse.rs`) are named after it.
    let settled = options
        .staging
        .as_ref()
        .and_then(|(stage, out)| Some(out.join(destination.strip_prefix(stage).ok()?)))
        .unwrap_or_else(|| destination.to_path_buf());
    let stamps = options.cache.as_ref().map(|cache| cache.stamps(&settled));
    let record = options
        .cache
        .as_ref()
        .map(|cache| cache.output_record(&settled));
    let found = match (&record, &stamps) {
        (Some(record), Some(stamps)) => previous(&entries, &settled, record, options, stamps)?,
        _ => Previous::Digests(Vec::new()),
    };
    let digests = match found {
        Previous::Digests(digests) => digests,
        Previous::InPlace(remembered) => {
            let zip = remembered.zip;
            if let Some(stamps) = stamps {
                stamps.save();
            }
            outputs(options)
                .in_place
                .push((settled.clone(), remembered.stamp()));
            stats.left_in_place = true;
            stats.compressed_bytes = zip.compressed_bytes;
            stats.default_level_bytes = zip.default_level_bytes;
            stats.seconds = started.elapsed().as_secs_f64();
            stats.cpu_seconds = Some((process_cpu_seconds() - cpu_started).max(0.0));
            return Ok(Artifact {
                path: settled,
                sha256: hex::encode(zip.sha256),
                zipped_bytes: zip.zipped_bytes,
                entries: entries.len(),
                stats,
            });
        }
    };
    // Dropped (and so deleted) on any error below: no half-written zip is ever left.
    let temporary = super::output::temporary_file(folder, ".zip.tmp")?;
    let _registered = crate::interrupt::register(temporary.path());
    let file = temporary
        .reopen()
        .map_err(|error| Error::io(temporary.path(), error))?;
    let mut out = Output {
        inner: BufWriter::with_capacity(1 << 20, file),
        hasher: Sha256::new(),
        offset: 0,
    };
    let mut default_time = Duration::ZERO;
    let mut central = Vec::with_capacity(entries.len());
    let mut fingerprint = super::reuse::Fingerprint::default();

    // Compressed on the pool a group of chunks ahead, appended in order (`schedule`).
    let Schedule {
        chunks,
        groups,
        group_of,
    } = schedule(&entries);
    let (sender, receiver) = std::sync::mpsc::channel();
    let stamps_ref = stamps.as_ref();
    rayon::in_place_scope(|scope| -> Result<()> {
        let mut spawned_groups = 0;
        let mut ready = std::collections::BTreeMap::new();
        for (number, (chunk, _)) in chunks.iter().enumerate() {
            while spawned_groups < groups.len() && spawned_groups <= group_of[number] + 1 {
                for &task in &groups[spawned_groups] {
                    let range = chunks[task].0.clone();
                    let given = digests.get(range.clone());
                    let (sender, next) = (sender.clone(), &entries[range]);
                    scope.spawn(move |_| {
                        // A panic is sent on like a result, so the loop below re-raises it
                        // instead of waiting forever for a chunk that never comes.
                        let prepared = std::panic::catch_unwind(AssertUnwindSafe(|| {
                            next.iter()
                                .enumerate()
                                .map(|(at, entry)| {
                                    let digest = given.and_then(|given| given[at]);
                                    prepare(entry, options, stamps_ref, folder, digest)
                                })
                                .collect::<Vec<Result<(Record, Data, Outcome)>>>()
                        }));
                        let _ = sender.send((task, prepared));
                    });
                }
                spawned_groups += 1;
            }
            let prepared = loop {
                if let Some(prepared) = ready.remove(&number) {
                    break prepared;
                }
                let (task, prepared) = match receiver.try_recv() {
                    Ok(received) => received,
                    // On a pool thread (a single-threaded pool, say), run queued work rather
                    // than wait for it.
                    Err(_) => match rayon::yield_now() {
                        Some(rayon::Yield::Executed) => continue,
                        _ => receiver.recv().expect("a sender lives in the scope"),
                    },
                };
                ready.insert(task, prepared);
            };
            let prepared = prepared.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            for (entry, prepared) in entries[chunk.clone()].iter().zip(prepared) {
                let (record, data, outcome) = prepared?;
                let offset = out.offset;
                append(&mut out, entry, &record, &data, temporary.path())?;
                central.push(Central {
                    record,
                    mode: entry.mode(),
                    offset,
                });
                let content = match &entry.link_target {
                    Some(target) => Some(Content::Link(target)),
                    None => outcome.key.as_ref().map(Content::Key),
                };
                fingerprint.entry(&entry.path, entry.mode(), content);
                if entry.link_target.is_some() {
                    continue;
                }
                if let Some(cache) = &options.cache {
                    if let Some(key) = &outcome.store {
                        store(cache, key, record, &data);
                    }
                    if let Some((key, record, bytes)) = &outcome.default_record {
                        cache.put(key, *record, bytes);
                    }
                }
                if outcome.hit {
                    stats.cache_hits += 1;
                } else if options.cache.is_some() {
                    stats.cache_misses += 1;
                }
                if entry.bytes <= STREAM_THRESHOLD {
                    stats.default_level_bytes += outcome.default_bytes;
                    stats.compressed_bytes += record.compressed;
                }
                default_time += outcome.default_time;
            }
        }
        Ok(())
    })?;
    write_central_directory(&mut out, &entries, &central, temporary.path())?;
    let Output {
        inner,
        hasher,
        offset: zipped_bytes,
    } = out;
    drop(inner);
    temporary
        .as_file()
        .sync_all()
        .map_err(|error| Error::io(temporary.path(), error))?;
    temporary
        .persist(destination)
        .map_err(|error| Error::io(destination, error.error))?;
    if let Some(cache) = &options.cache {
        cache.finish();
    }
    if let Some(stamps) = stamps {
        stamps.save();
    }
    let sha256: [u8; 32] = hasher.finalize().into();
    if let (Some(record), Some(fingerprint)) = (record, fingerprint.finish()) {
        let zip = super::reuse::Zip {
            fingerprint,
            sha256,
            zipped_bytes,
            entries: entries.len() as u64,
            compressed_bytes: stats.compressed_bytes,
            default_level_bytes: stats.default_level_bytes,
        };
        if settled == destination {
            super::reuse::remember(&record, destination, &zip);
        } else {
            // Remembered once the build's commit has moved it to `settled`.
            outputs(options).written.push((settled, record, zip));
        }
    }
    stats.seconds = started.elapsed().saturating_sub(default_time).as_secs_f64();
    stats.cpu_seconds = Some((process_cpu_seconds() - cpu_started).max(0.0));
    Ok(Artifact {
        path: destination.to_path_buf(),
        sha256: hex::encode(sha256),
        zipped_bytes,
        entries: entries.len(),
        stats,
    })
}

fn outputs(options: &WriteOptions) -> std::sync::MutexGuard<'_, super::reuse::Outputs> {
    options.outputs.lock().expect("outputs lock")
}

/// What `write` finds before compressing anything, with the cache.
enum Previous {
    /// The zip at the final name is the one these entries make.
    InPlace(super::reuse::Remembered),
    /// It is not (or there is none remembered); the entries' digests, if computed on the way
    /// (one per entry, `None` for a link), or none.
    Digests(Vec<Option<[u8; 32]>>),
}

/// Whether the zip already at `settled` is the one `entries` make (`reuse.rs`). The entries'
/// digests are computed only when a zip with as many entries is remembered there: from the
/// memo of stamps for unchanged files, else by reading them (handed on to `prepare`).
fn previous(
    entries: &[Entry],
    settled: &Path,
    record: &Path,
    options: &WriteOptions,
    stamps: &Stamps,
) -> Result<Previous> {
    use rayon::prelude::*;
    let Some(remembered) = super::reuse::recall(record)
        .filter(|remembered| remembered.zip.entries == entries.len() as u64)
    else {
        return Ok(Previous::Digests(Vec::new()));
    };
    if std::fs::symlink_metadata(settled).is_err() {
        return Ok(Previous::Digests(Vec::new()));
    }
    let digests = entries
        .par_iter()
        .map(|entry| digest_of(entry, options, Some(stamps)))
        .collect::<Result<Vec<_>>>()?;
    let mut fingerprint = super::reuse::Fingerprint::default();
    for (entry, digest) in entries.iter().zip(&digests) {
        let key = digest.map(|digest| entry_key(entry, options.compression, &digest));
        let content = match &entry.link_target {
            Some(target) => Some(Content::Link(target)),
            None => key.as_ref().map(Content::Key),
        };
        fingerprint.entry(&entry.path, entry.mode(), content);
    }
    if let Some(fingerprint) = fingerprint.finish()
        && remembered.in_place(settled, record, &fingerprint)
    {
        return Ok(Previous::InPlace(remembered));
    }
    Ok(Previous::Digests(digests))
}

#[cfg(test)]
mod tests {
    use super::*;
    use zip::ZipArchive;

    /// Incompressible bytes (xorshift), the same for the same seed.
    fn noise(length: u64, mut state: u64) -> Vec<u8> {
        (0..length)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect()
    }

    fn cached(dir: &Path, compression: Compression) -> WriteOptions {
        WriteOptions {
            staging: None,
            compression,
            cache: Some(Cache::new(dir.join("cache"))),
            known: Default::default(),
            outputs: Default::default(),
        }
    }

    /// Writes `entries` twice with the cache; the zips must be identical. Returns the second.
    fn cold_then_warm(entries: Vec<Entry>, dir: &Path, options: &WriteOptions) -> Artifact {
        let cold = write(entries.clone(), &dir.join("cold.zip"), options).unwrap();
        let warm = write(entries, &dir.join("warm.zip"), options).unwrap();
        assert_eq!(cold.sha256, warm.sha256);
        warm
    }

    /// An entry's compressed bytes as the archive holds them.
    fn raw(zip: &Path, name: &str) -> Vec<u8> {
        let mut archive = ZipArchive::new(crate::fs::open(zip).unwrap()).unwrap();
        let mut read = Vec::new();
        archive
            .by_name_raw(name.as_bytes())
            .unwrap()
            .read_to_end(&mut read)
            .unwrap();
        read
    }

    fn read_back(zip: &Path, name: &str) -> Vec<u8> {
        let mut archive = ZipArchive::new(crate::fs::open(zip).unwrap()).unwrap();
        let mut read = Vec::new();
        archive
            .by_name(name)
            .unwrap()
            .read_to_end(&mut read)
            .unwrap();
        read
    }

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
            crate::fs::write(&source, &contents).unwrap();
            entries.push(Entry {
                path: name.to_string(),
                source,
                bytes: contents.len() as u64,
                executable: index == 1,
                link_target: None,
                stamp: None,
                header: None,
            });
        }
        entries.push(Entry {
            path: "link".to_string(),
            source: dir.join("source-0"),
            bytes: 4,
            executable: false,
            link_target: Some("b.js".to_string()),
            stamp: None,
            header: None,
        });
        entries
    }

    /// The file's SHA-256 and inode: what a rebuild that leaves it in place must not change.
    fn on_disk(zip: &Path) -> (String, u64) {
        use std::os::unix::fs::MetadataExt;
        let bytes = crate::fs::read(zip).unwrap();
        let inode = crate::fs::metadata(zip).unwrap().ino();
        (hex::encode(Sha256::digest(&bytes)), inode)
    }

    #[test]
    fn a_rebuild_of_the_same_entries_leaves_the_zip_in_place_and_any_change_rewrites_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut entries = sample(dir.path());
        let options = cached(dir.path(), Compression::Default);
        let destination = dir.path().join("out/f.zip");
        let first = write(entries.clone(), &destination, &options).unwrap();
        assert!(!first.stats.left_in_place);
        let (sha256, inode) = on_disk(&destination);
        assert_eq!(sha256, first.sha256);
        let again = write(entries.clone(), &destination, &options).unwrap();
        assert!(again.stats.left_in_place);
        assert_eq!((again.stats.cache_hits, again.stats.cache_misses), (0, 0));
        assert_eq!(again.stats.compressed_bytes, first.stats.compressed_bytes);
        assert_eq!(
            (
                &again.sha256,
                again.zipped_bytes,
                again.entries,
                &again.path
            ),
            (
                &first.sha256,
                first.zipped_bytes,
                first.entries,
                &destination
            )
        );
        assert_eq!(
            on_disk(&destination),
            (sha256.clone(), inode),
            "not rewritten"
        );
        let listing: Vec<_> = crate::fs::read_dir(dir.path().join("out"))
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(listing, ["f.zip"], "no temporary left");

        // Each change rewrites the zip, as a write without the cache writes it.
        let check = |entries: &Vec<Entry>, options: &WriteOptions, what: &str| {
            let built = write(entries.clone(), &destination, options).unwrap();
            assert!(!built.stats.left_in_place, "{what}");
            let fresh = WriteOptions {
                compression: options.compression,
                ..WriteOptions::default()
            };
            let uncached = write(entries.clone(), &dir.path().join("check.zip"), &fresh).unwrap();
            assert_eq!(built.sha256, uncached.sha256, "{what}");
            assert_eq!(on_disk(&destination).0, uncached.sha256, "{what}");
            // And the next build leaves that one in place.
            let again = write(entries.clone(), &destination, options).unwrap();
            assert!(again.stats.left_in_place, "{what}: again");
            assert_eq!(again.sha256, uncached.sha256, "{what}: again");
        };
        crate::fs::write(&entries[0].source, "module.exports = 2;\n".repeat(200)).unwrap();
        check(&entries, &options, "content of the same size");
        entries[0].executable = true;
        check(&entries, &options, "mode");
        entries[4].link_target = Some("a/x.json".to_string());
        check(&entries, &options, "link target");
        entries[1].path = "a/y.json".to_string();
        check(&entries, &options, "path");
        check(
            &entries,
            &cached(dir.path(), Compression::Fast),
            "compression",
        );
        // The zip itself replaced by other bytes of the same size: rewritten as it was.
        let before = on_disk(&destination).0;
        let size = crate::fs::metadata(&destination).unwrap().len() as usize;
        crate::fs::write(&destination, vec![b'x'; size]).unwrap();
        let rebuilt = write(
            entries.clone(),
            &destination,
            &cached(dir.path(), Compression::Fast),
        )
        .unwrap();
        assert!(!rebuilt.stats.left_in_place);
        assert_eq!(on_disk(&destination).0, before);
        // Without the cache, nothing is remembered or left in place.
        let (before, before_inode) = on_disk(&destination);
        let fast = WriteOptions {
            compression: Compression::Fast,
            ..WriteOptions::default()
        };
        let uncached = write(entries.clone(), &destination, &fast).unwrap();
        assert!(!uncached.stats.left_in_place);
        let (after, after_inode) = on_disk(&destination);
        assert_eq!(after, before);
        assert_ne!(after_inode, before_inode, "written anew");
    }

    #[test]
    fn a_staged_zip_is_remembered_only_once_committed_and_then_left_at_its_final_name() {
        let dir = tempfile::tempdir().unwrap();
        let entries = sample(dir.path());
        let (stage, out) = (dir.path().join("stage"), dir.path().join("out"));
        let options = || WriteOptions {
            staging: Some((stage.clone(), out.clone())),
            ..cached(dir.path(), Compression::Default)
        };
        let first_options = options();
        let first = write(entries.clone(), &stage.join("f.zip"), &first_options).unwrap();
        let outputs = first_options.outputs.into_inner().unwrap();
        assert_eq!(outputs.written.len(), 1);
        assert_eq!(outputs.written[0].0, out.join("f.zip"));
        // Not committed: the next build writes it again.
        let second_options = options();
        let second = write(entries.clone(), &stage.join("f.zip"), &second_options).unwrap();
        assert!(!second.stats.left_in_place);
        crate::fs::create_dir_all(&out).unwrap();
        crate::fs::rename(&second.path, out.join("f.zip")).unwrap();
        let outputs = second_options.outputs.into_inner().unwrap();
        super::super::reuse::remember_committed(&outputs, &[out.join("f.zip")]);
        let third_options = options();
        let third = write(entries.clone(), &stage.join("f.zip"), &third_options).unwrap();
        assert!(third.stats.left_in_place);
        assert_eq!(third.path, out.join("f.zip"));
        assert_eq!(third.sha256, first.sha256);
        assert!(!stage.join("f.zip").exists());
        let outputs = third_options.outputs.into_inner().unwrap();
        assert_eq!(outputs.in_place.len(), 1);
        assert_eq!(outputs.in_place[0].0, out.join("f.zip"));
        assert!(outputs.written.is_empty());
    }

    /// Both backends in one archive: files up to the threshold by libdeflate in memory, one
    /// over it streamed by zlib-rs; cold, warm, uncached and single-threaded writes agree to
    /// the byte, and every entry reads back.
    #[test]
    fn cold_warm_uncached_and_single_threaded_writes_are_identical() {
        let dir = tempfile::tempdir().unwrap();
        let mut entries = sample(dir.path());
        // Compressible, and one byte over the threshold: streamed.
        let large: Vec<u8> = (0..=STREAM_THRESHOLD)
            .map(|i| b"abcdefghijklmnopqrstuvwxyz0123456789"[(i * i % 37 % 36) as usize])
            .collect();
        crate::fs::write(dir.path().join("large"), &large).unwrap();
        entries.push(Entry {
            path: "large.txt".to_string(),
            source: dir.path().join("large"),
            bytes: large.len() as u64,
            executable: false,
            link_target: None,
            stamp: None,
            header: None,
        });
        let cache = WriteOptions {
            staging: None,
            compression: Compression::Default,
            cache: Some(Cache::new(dir.path().join("cache"))),
            known: Default::default(),
            outputs: Default::default(),
        };
        let cold = write(entries.clone(), &dir.path().join("cold.zip"), &cache).unwrap();
        assert_eq!((cold.stats.cache_hits, cold.stats.cache_misses), (0, 5));
        let warm = write(entries.clone(), &dir.path().join("warm.zip"), &cache).unwrap();
        assert_eq!((warm.stats.cache_hits, warm.stats.cache_misses), (5, 0));
        // The streamed entry's key in the fingerprint is the one its record was written under.
        let again = write(entries.clone(), &dir.path().join("warm.zip"), &cache).unwrap();
        assert!(again.stats.left_in_place);
        assert_eq!(again.sha256, warm.sha256);
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
        let names: Vec<String> = ZipArchive::new(crate::fs::open(&cold.path).unwrap())
            .unwrap()
            .file_names()
            .map(|name| name.unwrap().to_string())
            .collect();
        assert_eq!(
            names,
            [
                "a/x.json",
                "b.js",
                "empty",
                "large.txt",
                "link",
                "random.bin"
            ]
        );
        // Which backend wrote what: libdeflate's bytes for the small file, not for the large.
        let small = "module.exports = 1;\n".repeat(200);
        let libdeflate = |data: &[u8]| deflate(data, method(Compression::Default)).unwrap();
        assert_eq!(raw(&warm.path, "b.js"), libdeflate(small.as_bytes()));
        assert!(
            raw(&warm.path, "large.txt") != libdeflate(&large),
            "the large file went through libdeflate"
        );
        for zip in [&cold.path, &warm.path, &single.path] {
            assert_eq!(read_back(zip, "b.js"), small.as_bytes());
            assert!(read_back(zip, "large.txt") == large);
            assert!(read_back(zip, "empty").is_empty());
        }
        // Empty: stored, no bytes.
        let mut archive = ZipArchive::new(crate::fs::open(&cold.path).unwrap()).unwrap();
        let empty = archive.by_name("empty").unwrap();
        assert_eq!(empty.compression(), zip::CompressionMethod::Stored);
        assert_eq!(empty.compressed_size(), 0);
    }

    /// The libdeflate version in the cache keys is the one `Cargo.lock` builds: a new version
    /// may write other bytes, so it must come with a new key (and new pinned artifact hashes).
    #[test]
    fn the_libdeflate_in_cache_keys_is_the_locked_one() {
        let lock = include_str!("../../Cargo.lock");
        let (name, version) = LIBDEFLATE.rsplit_once('-').unwrap();
        assert!(
            lock.contains(&format!("name = \"{name}\"\nversion = \"{version}\"\n")),
            "Cargo.lock builds another {name} than {LIBDEFLATE}: update LIBDEFLATE"
        );
        assert!(settings(method(Compression::Default)).contains(LIBDEFLATE));
    }

    #[test]
    fn large_files_stream_and_read_back_intact() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big");
        let contents: Vec<u8> = (0..(STREAM_THRESHOLD + 12345))
            .map(|i| (i % 251) as u8)
            .collect();
        crate::fs::write(&big, &contents).unwrap();
        let entries = vec![Entry {
            path: "big.bin".to_string(),
            source: big,
            bytes: contents.len() as u64,
            executable: false,
            link_target: None,
            stamp: None,
            header: None,
        }];
        let options = cached(dir.path(), Compression::Fast);
        let warm = cold_then_warm(entries, dir.path(), &options);
        assert_eq!(warm.stats.cache_hits, 1);
        assert!(read_back(&warm.path, "big.bin") == contents);
        let leftovers: Vec<_> = crate::fs::read_dir(dir.path())
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
                staging: None,
                compression: Compression::Max,
                cache: None,
                known: Default::default(),
                outputs: Default::default(),
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

    #[test]
    fn archives_over_65535_entries_get_zip64_end_records() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("one");
        crate::fs::write(&source, "x").unwrap();
        let count = 70_000;
        let entries: Vec<Entry> = (0..count)
            .map(|index| Entry {
                path: format!("d/{index:05}"),
                source: source.clone(),
                bytes: 1,
                executable: false,
                link_target: None,
                stamp: None,
                header: None,
            })
            .collect();
        let written = write(
            entries,
            &dir.path().join("many.zip"),
            &WriteOptions::default(),
        )
        .unwrap();
        let bytes = crate::fs::read(&written.path).unwrap();
        // The zip64 end record and its locator sit before the classic end record.
        let end = bytes.len() - 22;
        assert_eq!(&bytes[end..end + 4], b"PK\x05\x06");
        assert_eq!(&bytes[end - 20..end - 16], b"PK\x06\x07");
        assert_eq!(&bytes[end - 76..end - 72], b"PK\x06\x06");
        let mut archive = ZipArchive::new(std::io::Cursor::new(&bytes)).unwrap();
        assert_eq!(archive.len(), count);
        let mut read = String::new();
        archive
            .by_name("d/69999")
            .unwrap()
            .read_to_string(&mut read)
            .unwrap();
        assert_eq!(read, "x");
        let contents = crate::verify::inspect_bytes(&bytes, &Default::default()).unwrap();
        assert_eq!(contents.entries.len(), count);
    }

    #[test]
    fn names_and_incompressible_large_files_read_back() {
        let dir = tempfile::tempdir().unwrap();
        // Incompressible and over the streaming threshold: stored, copied from its source.
        let noise = noise(STREAM_THRESHOLD + 4096, 0x2545_f491_4f6c_dd1d);
        crate::fs::write(dir.path().join("noise"), &noise).unwrap();
        crate::fs::write(dir.path().join("text"), "é").unwrap();
        let entries = vec![
            Entry {
                path: "noise.bin".to_string(),
                source: dir.path().join("noise"),
                bytes: noise.len() as u64,
                executable: false,
                link_target: None,
                stamp: None,
                header: None,
            },
            Entry {
                path: "données/é.js".to_string(),
                source: dir.path().join("text"),
                bytes: 2,
                executable: true,
                link_target: None,
                stamp: None,
                header: None,
            },
        ];
        let warm = cold_then_warm(
            entries,
            dir.path(),
            &cached(dir.path(), Compression::Default),
        );
        assert_eq!(warm.stats.cache_hits, 2);
        assert!(read_back(&warm.path, "noise.bin") == noise);
        let mut archive = ZipArchive::new(crate::fs::open(&warm.path).unwrap()).unwrap();
        assert_eq!(
            archive.by_name("noise.bin").unwrap().compression(),
            zip::CompressionMethod::Stored
        );
        // A non-ASCII name is flagged UTF-8, so every reader decodes it the same way.
        let file = archive.by_name("données/é.js").unwrap();
        assert_eq!(file.unix_mode(), Some(0o100_755));
    }

    /// A file changed between scan (whose stamp the memo knows) and the write: what is read
    /// must be keyed by its own digest, never by the remembered one.
    #[test]
    fn a_file_changed_after_scan_is_never_cached_under_its_old_digest() {
        let dir = tempfile::tempdir().unwrap();
        let options = cached(dir.path(), Compression::Default);
        let cache = options.cache.as_ref().unwrap();
        let destination = dir.path().join("out.zip");
        for size in [1000usize, STREAM_THRESHOLD as usize + 1000] {
            let source = dir.path().join(format!("file-{size}"));
            let before = "a".repeat(size);
            crate::fs::write(&source, &before).unwrap();
            let entry = Entry {
                path: "file".to_string(),
                source: source.clone(),
                bytes: size as u64,
                executable: false,
                link_target: None,
                stamp: Some(Stamp::of(&crate::fs::metadata(&source).unwrap())),
                header: None,
            };
            let mut stamps = cache.stamps(&destination);
            stamps.settle_all();
            prepare(&entry, &options, Some(&stamps), dir.path(), None).unwrap();
            stamps.save();
            // Changed after "scan": the entry keeps the stamp scan saw.
            let after = "b".repeat(size);
            crate::fs::write(&source, &after).unwrap();
            let mut stamps = cache.stamps(&destination);
            stamps.settle_all();
            let (record, _, outcome) =
                prepare(&entry, &options, Some(&stamps), dir.path(), None).unwrap();
            assert_eq!(record.crc32, crc32fast::hash(after.as_bytes()));
            let settings = if size as u64 > STREAM_THRESHOLD {
                streamed_settings(streamed_level(Compression::Default))
            } else {
                settings(method(Compression::Default))
            };
            let old_key = Cache::key(&Sha256::digest(before.as_bytes()), &settings);
            let new_key = Cache::key(&Sha256::digest(after.as_bytes()), &settings);
            assert_ne!(outcome.store, Some(old_key), "size {size}");
            if size < STREAM_THRESHOLD as usize {
                assert_eq!(outcome.store, Some(new_key));
            }
        }
    }

    /// A file whose size is not the one scan saw (a small file that is now a large cached
    /// one) is an error naming it, never read past that size, and leaves no zip.
    #[test]
    fn a_file_of_another_size_than_scan_saw_is_an_error_not_a_zip() {
        let dir = tempfile::tempdir().unwrap();
        let noise = noise(STREAM_THRESHOLD + 10, 0x9e37_79b9_7f4a_7c15);
        let source = dir.path().join("noise");
        crate::fs::write(&source, &noise).unwrap();
        let options = cached(dir.path(), Compression::Default);
        let mut entry = Entry {
            path: "noise".to_string(),
            source,
            bytes: noise.len() as u64,
            executable: false,
            link_target: None,
            stamp: None,
            header: None,
        };
        write(vec![entry.clone()], &dir.path().join("large.zip"), &options).unwrap();
        entry.bytes = 100;
        let error = write(vec![entry], &dir.path().join("small.zip"), &options).unwrap_err();
        assert!(
            error.to_string().contains("changed while lamina"),
            "{error}"
        );
        assert!(!dir.path().join("small.zip").exists());
    }

    /// A pyc's bytes depend on its source too (the header put in place): the memo, which knows
    /// only the pyc's stamp, must never stand in for reading it.
    #[test]
    fn entries_with_a_header_in_place_are_never_remembered() {
        let dir = tempfile::tempdir().unwrap();
        let options = cached(dir.path(), Compression::Default);
        let cache = options.cache.as_ref().unwrap();
        let destination = dir.path().join("out.zip");
        let source = dir.path().join("module.pyc");
        crate::fs::write(&source, [7u8; 64]).unwrap();
        let mut entry = Entry {
            path: "__pycache__/module.cpython-311.pyc".to_string(),
            source: source.clone(),
            bytes: 64,
            executable: false,
            link_target: None,
            stamp: Some(Stamp::of(&crate::fs::metadata(&source).unwrap())),
            header: Some([1; 16]),
        };
        for header in [[1u8; 16], [2; 16]] {
            entry.header = Some(header);
            let mut stamps = cache.stamps(&destination);
            stamps.settle_all();
            let (record, data, outcome) =
                prepare(&entry, &options, Some(&stamps), dir.path(), None).unwrap();
            stamps.save();
            // Cached, as the write loop would: the next round could find it by a stale digest.
            if let (Some(key), Data::Memory(bytes)) = (outcome.store, &data) {
                cache.put(&key, record, bytes);
                cache.finish();
            }
            let mut shipped = vec![7u8; 64];
            shipped[..16].copy_from_slice(&header);
            assert_eq!(record.crc32, crc32fast::hash(&shipped));
        }
    }

    /// What layer planning read and precompressed is not read again: the writer takes the
    /// known digest's record from the cache (here the file is gone by then), writes the same
    /// bytes as a write that reads it, and its memo learns the digest for the next build.
    #[test]
    fn a_file_read_before_the_write_is_not_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("index.js");
        let contents = b"exports.handler = async () => 'ok';\n".repeat(200);
        crate::fs::write(&source, &contents).unwrap();
        let stamp = Stamp::of(&crate::fs::metadata(&source).unwrap());
        let entry = Entry {
            path: "index.js".to_string(),
            source: source.clone(),
            bytes: contents.len() as u64,
            executable: false,
            link_target: None,
            stamp: Some(stamp),
            header: None,
        };
        let read = write(
            vec![entry.clone()],
            &dir.path().join("read.zip"),
            &WriteOptions::default(),
        )
        .unwrap();

        let mut options = cached(dir.path(), Compression::Default);
        let digest: [u8; 32] = Sha256::digest(&contents).into();
        let cache = options.cache.as_ref().unwrap();
        precompress(cache, Compression::Default, &contents, &digest);
        cache.finish();
        options.known = std::sync::Arc::new(Known::from([(source.clone(), (stamp, digest))]));
        crate::fs::remove_file(&source).unwrap();
        let destination = dir.path().join("known.zip");
        let known = write(vec![entry.clone()], &destination, &options).unwrap();
        assert_eq!(known.sha256, read.sha256);
        assert_eq!(known.stats.cache_hits, 1);
        // The zip's memo learns the digest (were the file settled), as if it had read it.
        let mut stamps = options.cache.as_ref().unwrap().stamps(&destination);
        stamps.settle_all();
        let (record, _, outcome) =
            prepare(&entry, &options, Some(&stamps), dir.path(), None).unwrap();
        assert!(outcome.hit && record.crc32 == crc32fast::hash(&contents));
        stamps.save();
        let stamps = options.cache.as_ref().unwrap().stamps(&destination);
        assert!(stamps.knows(&source, &stamp));

        // At another stamp than scan saw, the known digest is not taken: the file is read.
        options.known = std::sync::Arc::new(Known::from([(
            source.clone(),
            (Stamp { size: 1, ..stamp }, digest),
        )]));
        assert!(write(vec![entry], &dir.path().join("stale.zip"), &options).is_err());
    }

    /// A worker's buffers are reused from file to file: what a larger file left in them never
    /// reaches a smaller one's bytes, stored or deflated, and a buffer over `SCRATCH_BYTES` is
    /// not kept.
    #[test]
    fn buffers_reused_across_files_never_carry_one_file_into_another() {
        let dir = tempfile::tempdir().unwrap();
        let files: [(&str, Vec<u8>); 4] = [
            (
                "noise-large",
                noise(SCRATCH_BYTES as u64 / 2, 0x1234_5678_9abc_def1),
            ),
            ("noise-small", noise(100, 0x0f0f_0f0f_f0f0_f0f0)),
            ("text", b"exports.a = require('./a');\n".repeat(300)),
            ("over", b"abcdefgh".repeat(SCRATCH_BYTES / 4)),
        ];
        let options = WriteOptions::default();
        for (name, contents) in &files {
            let source = dir.path().join(name);
            crate::fs::write(&source, contents).unwrap();
            let entry = Entry {
                path: name.to_string(),
                source,
                bytes: contents.len() as u64,
                executable: false,
                link_target: None,
                stamp: None,
                header: None,
            };
            let (record, data, _) = prepare(&entry, &options, None, dir.path(), None).unwrap();
            let Data::Memory(bytes) = data else {
                panic!("{name} was not prepared in memory")
            };
            assert_eq!(record.crc32, crc32fast::hash(contents), "{name}");
            // What a fresh compressor writes into a fresh buffer.
            let level = libdeflater::CompressionLvl::new(DEFAULT_LEVEL).unwrap();
            let mut fresh = vec![0; contents.len() - 1];
            let deflated = libdeflater::Compressor::new(level)
                .deflate_compress(contents, &mut fresh)
                .ok();
            match deflated {
                Some(written) => {
                    assert_eq!(record.method, DEFLATED, "{name}");
                    assert!(bytes == fresh[..written], "{name}");
                }
                None => {
                    assert_eq!(record.method, STORED, "{name}");
                    assert!(bytes == *contents, "{name}");
                }
            }
        }
        for buffer in [&INPUT, &OUTPUT] {
            assert!(buffer.with(|scratch| scratch.borrow().0.len()) <= SCRATCH_BYTES);
        }
    }
}
