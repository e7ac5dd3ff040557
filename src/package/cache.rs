//! The content-addressed cache of compressed entries, shared by every function and build.
//!
//! Entries live in pack files: each `write` that compressed something adds one pack holding
//! the new records back to back, then an index: the records' keys, sorted; for each, its
//! offset, sizes, CRC-32 of the content, method and a SHA-256 seal over the key, those fields
//! and the record's bytes; a fan-out table (how many keys start with each first byte or a
//! smaller one); and a trailer that seals the fan-out. A pack is written to a temporary file
//! and renamed, and never changed after. One file per build instead of one per entry: creating
//! thousands of small files cost a cold build more than compressing them did.
//!
//! A build that looks anything up reads each pack's keys (32 bytes a record) and nothing else
//! of the index; a key is found by its first byte's run and a binary search, and only then are
//! its fields read. Nothing is hashed or parsed for the records a build does not use, so
//! loading a full cache costs a read of its keys, not a map of all its records.
//!
//! The key is the SHA-256 of the content, the compression settings and the deflate backend, so a
//! record can be copied into any archive as it is. A record whose seal does not hold, or a pack
//! whose index or length does not, is never used: the pack is removed and its entries are
//! compressed again. The cache is capped and evicts least recently used packs; a pack counts as
//! used when any of its records is. Evicting a pack whose records are still wanted costs one
//! recompression, which writes them into a fresh pack: live records gather in new packs.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

/// Bump when the pack layout or what a record means changes.
const LAYOUT: &str = "lamina-cache-v4";
/// `LAYOUT`'s number: the folders of older layouts (`lamina-cache-v1` to `-v3`) are evicted
/// first.
const LAYOUT_VERSION: u32 = 4;
const LAYOUT_PREFIX: &str = "lamina-cache-v";
/// Part of every key, so an upgrade of the deflate backend never reuses old bytes (zlib-rs's and
/// zopfli's; libdeflate's version is in the settings of its keys, `zip::settings`).
const BACKEND: &str = "flate2-1/zlib-rs-0.6/zopfli-0.8";
/// The default size cap; `LAMINA_CACHE_MAX_BYTES` overrides it.
pub const DEFAULT_MAX_BYTES: u64 = 2 << 30;
const PACK_MAGIC: &[u8; 8] = b"LAMINAP4";
const INDEX_MAGIC: &[u8; 8] = b"LAMINAI4";
/// Magic, then the creation time (seconds, little-endian).
const HEADER: u64 = 16;
/// A key in the index.
const KEY: usize = 32;
/// A record's fields in the index, after all the keys: offset, length in the pack, compressed
/// length, uncompressed length, CRC-32, method, seal.
const FIELDS: usize = 8 + 8 + 8 + 8 + 4 + 2 + 32;
/// The fan-out table: 256 counts (u32).
const FAN_OUT: usize = 256 * 4;
/// Index offset, entry count, SHA-256 of both and the fan-out, magic.
const TRAILER: usize = 8 + 8 + 32 + 8;
/// Past this many packs, small ones are merged: every build reads every pack's index, and a
/// build that compresses only a few files leaves a small pack behind.
const MAX_PACKS: usize = 64;
/// Packs under this size are the ones merged.
const SMALL_PACK: u64 = 8 << 20;
/// A pack's time of last use is refreshed at most this often, to save a write per build.
pub(crate) const TOUCH_EVERY: Duration = Duration::from_secs(3600);

/// A cache key: SHA-256 over the content digest and the settings.
pub type Key = [u8; 32];

/// What a record holds: everything an archive's headers need besides the name and mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    /// Zip method: 0 stored, 8 deflated.
    pub method: u16,
    pub crc32: u32,
    pub uncompressed: u64,
    pub compressed: u64,
}

/// A record found in a pack, checked against its seal, ready to be copied.
pub struct Located {
    pub record: Record,
    pack: Arc<Pack>,
    offset: u64,
    length: u64,
}

impl Located {
    /// The record is stored as the content itself, which the pack does not repeat: the
    /// archive copies it from the source file (whose digest is the key).
    pub fn is_content(&self) -> bool {
        self.length == 0 && self.record.compressed > 0
    }

    /// Copies the record's bytes to `out`.
    pub fn copy_to(&self, out: &mut impl Write) -> io::Result<()> {
        let mut buffer = vec![0; self.length.min(1 << 20) as usize];
        let mut done = 0;
        while done < self.length {
            let take = (self.length - done).min(buffer.len() as u64) as usize;
            self.pack
                .file
                .read_exact_at(&mut buffer[..take], self.offset + done)?;
            out.write_all(&buffer[..take])?;
            done += take as u64;
        }
        Ok(())
    }
}

/// A cache folder.
#[derive(Debug)]
pub struct Cache {
    dir: PathBuf,
    max_bytes: u64,
    max_packs: usize,
    /// Every intact pack's records, read on first use.
    index: RwLock<Option<Index>>,
    /// The pack this `write` is filling, until `finish`.
    pending: Mutex<Option<Pending>>,
}

/// The intact packs, sorted by name (so which copy of a record is used does not depend on
/// the listing's order).
#[derive(Debug, Default)]
struct Index {
    packs: Vec<Arc<Pack>>,
}

#[derive(Debug)]
struct Pack {
    path: PathBuf,
    file: File,
    used: SystemTime,
    touched: AtomicBool,
    /// Found damaged: removed, and never looked in again.
    damaged: AtomicBool,
    /// Where the records end and the keys begin.
    index_offset: u64,
    /// The keys, sorted, back to back.
    keys: Vec<u8>,
    /// For each first byte, how many keys start with it or a smaller one.
    fan_out: [u32; 256],
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    offset: u64,
    /// Bytes in the pack: the compressed length, or 0 for a record that is the content.
    length: u64,
    record: Record,
    seal: [u8; 32],
}

impl Pack {
    fn count(&self) -> usize {
        self.keys.len() / KEY
    }

    /// The position of `key` among the pack's keys.
    fn position(&self, key: &Key) -> Option<usize> {
        let first = usize::from(key[0]);
        let start = if first == 0 {
            0
        } else {
            self.fan_out[first - 1] as usize
        };
        let end = self.fan_out[first] as usize;
        let key_at = |at: usize| &self.keys[at * KEY..(at + 1) * KEY];
        let (mut low, mut high) = (start, end);
        while low < high {
            let middle = low + (high - low) / 2;
            match key_at(middle).cmp(key.as_slice()) {
                std::cmp::Ordering::Less => low = middle + 1,
                std::cmp::Ordering::Greater => high = middle,
                std::cmp::Ordering::Equal => return Some(middle),
            }
        }
        None
    }

    /// The fields of the record at `position`, read from the index. Fields that point outside
    /// the records are an error: the pack is damaged.
    fn entry(&self, position: usize) -> io::Result<Entry> {
        let mut raw = [0; FIELDS];
        let at = self.index_offset + (self.count() * KEY + position * FIELDS) as u64;
        self.file.read_exact_at(&mut raw, at)?;
        parse_fields(&raw, self.index_offset)
    }
}

/// A record's fields as the index holds them (`FIELDS` bytes), checked to lie within the
/// records (which end at `index_offset`).
fn parse_fields(raw: &[u8], index_offset: u64) -> io::Result<Entry> {
    let u64_at = |at: usize| u64::from_le_bytes(raw[at..at + 8].try_into().expect("8 bytes"));
    let entry = Entry {
        offset: u64_at(0),
        length: u64_at(8),
        record: Record {
            compressed: u64_at(16),
            uncompressed: u64_at(24),
            crc32: u32::from_le_bytes(raw[32..36].try_into().expect("4 bytes")),
            method: u16::from_le_bytes(raw[36..38].try_into().expect("2 bytes")),
        },
        seal: raw[38..70].try_into().expect("32 bytes"),
    };
    if entry
        .offset
        .checked_add(entry.length)
        .is_none_or(|end| end > index_offset || entry.offset < HEADER)
    {
        return Err(invalid("pack record outside its data"));
    }
    Ok(entry)
}

/// The start of a record's seal: its key and fields (all but the offset, which the bytes
/// read at it answer for). The record's bytes follow. A key or field changed on disk fails the
/// seal, so a record is never served under another key or with other sizes.
fn seal_start(key: &Key, length: u64, record: &Record) -> Sha256 {
    let mut hasher = Sha256::new();
    hasher.update(key);
    hasher.update(length.to_le_bytes());
    hasher.update(record.compressed.to_le_bytes());
    hasher.update(record.uncompressed.to_le_bytes());
    hasher.update(record.crc32.to_le_bytes());
    hasher.update(record.method.to_le_bytes());
    hasher
}

#[derive(Debug)]
struct Pending {
    file: BufWriter<tempfile::NamedTempFile>,
    offset: u64,
    index: Vec<(Key, u64, u64, Record, [u8; 32])>,
    keys: HashSet<Key>,
    /// Removed if the run is interrupted before the pack is sealed.
    _registered: crate::interrupt::Registered,
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
            max_packs: MAX_PACKS,
            index: RwLock::new(None),
            pending: Mutex::new(None),
        }
    }

    /// The key for some content compressed with `settings` (method and level).
    pub fn key(content_sha256: &[u8], settings: &str) -> Key {
        let mut hasher = Sha256::new();
        hasher.update(content_sha256);
        // `\0{settings}\0{BACKEND}`, without making the string: this runs for every entry.
        hasher.update([0]);
        hasher.update(settings.as_bytes());
        hasher.update([0]);
        hasher.update(BACKEND.as_bytes());
        hasher.finalize().into()
    }

    /// The remembered digests of the files of the zip at `destination`.
    pub fn stamps(&self, destination: &Path) -> super::stamps::Stamps {
        super::stamps::Stamps::open(&self.dir.join("stamps"), destination)
    }

    /// The record of the zip at `destination` (its final name) as last written
    /// (`reuse.rs`): beside its memo of stamps, evicted like it.
    pub fn output_record(&self, destination: &Path) -> PathBuf {
        let mut name = super::stamps::memo_name(destination);
        name.push_str(".zip");
        self.dir.join("stamps").join(name)
    }

    /// The memo of what the binaries of the zip at `destination` (its final name) are, for
    /// its next check (`verify/memo.rs`): beside its memo of stamps, evicted like it.
    pub fn natives_memo(&self, destination: &Path) -> PathBuf {
        let mut name = super::stamps::memo_name(destination);
        name.push_str(".natives");
        self.dir.join("stamps").join(name)
    }

    fn packs_dir(&self) -> PathBuf {
        self.dir.join("packs")
    }

    /// Marks the whole cache folder as lamina's (`*` in its output marker), so no walk ever
    /// packs it, wherever `LAMINA_CACHE_DIR` puts it.
    fn mark(&self) {
        let marker = self.dir.join(crate::scan::walk::OUTPUT_MARKER);
        if !marker.exists() {
            let _ = crate::fs::write(&marker, "*\n");
        }
    }

    fn with_index<T>(&self, read: impl FnOnce(&Index) -> T) -> T {
        {
            let index = self.index.read().expect("cache index lock");
            if let Some(index) = index.as_ref() {
                return read(index);
            }
        }
        let mut index = self.index.write().expect("cache index lock");
        read(index.get_or_insert_with(|| load(&self.packs_dir())))
    }

    /// The record for `key`, checked against its seal, without keeping its bytes: for
    /// reporting sizes only. A reported size is a promise too, so fields a damaged pack holds
    /// are never reported.
    pub fn peek(&self, key: &Key) -> Option<Record> {
        self.get_large(key).map(|located| located.record)
    }

    /// Whether a record for `key` is in the cache or in the pack being filled (records put
    /// by this run are read back only once sealed, but need not be made twice).
    pub fn holds(&self, key: &Key) -> bool {
        self.with_index(|index| {
            index
                .packs
                .iter()
                .any(|pack| !pack.damaged.load(Ordering::Relaxed) && pack.position(key).is_some())
        }) || self
            .pending
            .lock()
            .expect("cache pack lock")
            .as_ref()
            .is_some_and(|pending| pending.keys.contains(key))
    }

    /// The record for `key` with its bytes, if present and intact.
    pub fn get(&self, key: &Key) -> Option<(Record, Vec<u8>)> {
        let (entry, pack) = self.find(key)?;
        if entry.length != entry.record.compressed {
            // A record that is the content itself (a large file's): the bytes are not here.
            return None;
        }
        let mut bytes = vec![0; usize::try_from(entry.length).ok()?];
        let intact = pack.file.read_exact_at(&mut bytes, entry.offset).is_ok() && {
            let mut seal = seal_start(key, entry.length, &entry.record);
            seal.update(&bytes);
            seal.finalize().as_slice() == entry.seal
        };
        if !intact {
            damaged(&pack);
            return None;
        }
        Some((entry.record, bytes))
    }

    /// The record for `key`, checked by streaming its bytes, to be copied later: for records
    /// too large to hold in memory. The bytes are read twice (check, then copy) because a
    /// record must be known intact before any of it reaches an archive.
    pub fn get_large(&self, key: &Key) -> Option<Located> {
        let (entry, pack) = self.find(key)?;
        let located = Located {
            record: entry.record,
            pack: Arc::clone(&pack),
            offset: entry.offset,
            length: entry.length,
        };
        let mut seal = seal_start(key, entry.length, &entry.record);
        if located.copy_to(&mut seal).is_err() || seal.finalize().as_slice() != entry.seal {
            damaged(&pack);
            return None;
        }
        Some(located)
    }

    /// The first intact pack holding `key`, with the record's fields, to be read and checked;
    /// the pack counts as used. A pack whose fields for it cannot be read or point outside its
    /// records is damaged.
    fn find(&self, key: &Key) -> Option<(Entry, Arc<Pack>)> {
        self.with_index(|index| {
            for pack in &index.packs {
                if pack.damaged.load(Ordering::Relaxed) {
                    continue;
                }
                let Some(position) = pack.position(key) else {
                    continue;
                };
                let Ok(entry) = pack.entry(position) else {
                    damaged(pack);
                    continue;
                };
                if !pack.touched.swap(true, Ordering::Relaxed) {
                    mark_used(&pack.file, pack.used);
                }
                return Some((entry, Arc::clone(pack)));
            }
            None
        })
    }

    /// Adds a record to the pending pack. Failures only cost a future miss, so they are
    /// ignored.
    pub fn put(&self, key: &Key, record: Record, bytes: &[u8]) {
        let _ = self.put_from(key, record, bytes.len() as u64, &mut &bytes[..]);
    }

    /// Adds a stored record whose bytes are the content itself (a large file deflate could not
    /// shrink), so the pack does not hold a copy: see [`Located::is_content`].
    pub fn put_content(&self, key: &Key, record: Record) {
        let _ = self.put_from(key, record, 0, &mut io::empty());
    }

    /// Adds a record of `length` bytes read from `bytes` (a large entry's temporary file).
    pub fn put_from(
        &self,
        key: &Key,
        record: Record,
        length: u64,
        bytes: &mut impl Read,
    ) -> io::Result<()> {
        let mut pending = self.pending.lock().expect("cache pack lock");
        if pending.is_none() {
            let folder = self.packs_dir();
            std::fs::create_dir_all(&folder)?;
            self.mark();
            let temporary = tempfile::Builder::new()
                .prefix(".pack-")
                .tempfile_in(&folder)?;
            let registered = crate::interrupt::register(temporary.path());
            let mut file = BufWriter::with_capacity(1 << 20, temporary);
            file.write_all(PACK_MAGIC)?;
            let now = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |since| since.as_secs());
            file.write_all(&now.to_le_bytes())?;
            *pending = Some(Pending {
                file,
                offset: HEADER,
                index: Vec::new(),
                keys: HashSet::new(),
                _registered: registered,
            });
        }
        let pack = pending.as_mut().expect("created above");
        if !pack.keys.insert(*key) {
            return Ok(());
        }
        let mut sealing = Sealing {
            inner: &mut pack.file,
            hasher: seal_start(key, length, &record),
            written: 0,
        };
        let copied = io::copy(bytes, &mut sealing);
        let written = sealing.written;
        let seal = sealing.hasher.finalize().into();
        pack.offset += written;
        match copied {
            Ok(copied) if copied == length => {
                pack.index
                    .push((*key, pack.offset - written, length, record, seal));
                Ok(())
            }
            // The bytes are in the pack but no index entry points at them.
            Ok(_) => Err(io::Error::other("record length differs from its header")),
            Err(error) => Err(error),
        }
    }

    /// Seals the pending pack and makes its records visible, then evicts over the cap and
    /// merges small packs when there are too many.
    pub fn finish(&self) {
        let pending = self.pending.lock().expect("cache pack lock").take();
        if let Some(pending) = pending {
            let _ = self.seal(pending);
        }
        self.evict();
        self.consolidate();
    }

    /// Merges the packs under `SMALL_PACK` into one when there are more than `max_packs`.
    /// Records whose seal fails are left behind. Another process still reading a merged pack
    /// keeps its open file; one that lists the folder later finds the merged pack instead.
    fn consolidate(&self) {
        let packs = list_packs(&self.packs_dir());
        if packs.len() <= self.max_packs {
            return;
        }
        let mut merged = Vec::new();
        for (_, bytes, path) in packs {
            if bytes >= SMALL_PACK {
                continue;
            }
            let Ok((pack, entries)) = read_pack(&path) else {
                continue;
            };
            for (key, entry) in entries {
                let mut bytes = vec![0; entry.length as usize];
                if pack.file.read_exact_at(&mut bytes, entry.offset).is_ok() && {
                    let mut seal = seal_start(&key, entry.length, &entry.record);
                    seal.update(&bytes);
                    seal.finalize().as_slice() == entry.seal
                } {
                    let _ = self.put_from(&key, entry.record, entry.length, &mut &bytes[..]);
                }
            }
            merged.push(path);
        }
        let pending = self.pending.lock().expect("cache pack lock").take();
        let sealed = pending.map(|pending| self.seal(pending));
        if let Some(Ok(sealed)) = sealed
            && merged.len() > 1
        {
            for path in merged.into_iter().filter(|path| *path != sealed) {
                let _ = std::fs::remove_file(path);
            }
        }
        *self.index.write().expect("cache index lock") = None;
    }

    /// Writes the pack's index and trailer and renames it into place; returns its path.
    fn seal(&self, pending: Pending) -> io::Result<PathBuf> {
        let Pending {
            mut file,
            offset,
            mut index,
            ..
        } = pending;
        // Sorted by key (`put_from` never adds a key twice), for lookups by binary search.
        index.sort_by_key(|entry| entry.0);
        let mut keys = Vec::with_capacity(index.len() * KEY);
        let mut fan_out = [0u32; 256];
        for (key, ..) in &index {
            keys.extend_from_slice(key);
            fan_out[usize::from(key[0])] += 1;
        }
        for first in 1..256 {
            fan_out[first] += fan_out[first - 1];
        }
        let mut fields = Vec::with_capacity(index.len() * FIELDS);
        for (_, at, length, record, seal) in &index {
            fields.extend_from_slice(&at.to_le_bytes());
            fields.extend_from_slice(&length.to_le_bytes());
            fields.extend_from_slice(&record.compressed.to_le_bytes());
            fields.extend_from_slice(&record.uncompressed.to_le_bytes());
            fields.extend_from_slice(&record.crc32.to_le_bytes());
            fields.extend_from_slice(&record.method.to_le_bytes());
            fields.extend_from_slice(seal);
        }
        let fan_out_bytes: Vec<u8> = fan_out
            .iter()
            .flat_map(|count| count.to_le_bytes())
            .collect();
        let count = index.len() as u64;
        let digest = trailer_seal(offset, count, &fan_out_bytes);
        file.write_all(&keys)?;
        file.write_all(&fields)?;
        file.write_all(&fan_out_bytes)?;
        file.write_all(&offset.to_le_bytes())?;
        file.write_all(&count.to_le_bytes())?;
        file.write_all(&digest)?;
        file.write_all(INDEX_MAGIC)?;
        let temporary = file.into_inner().map_err(|error| error.into_error())?;
        // Named by the records' seals, which cover their keys and bytes.
        let mut name = Sha256::new();
        for (.., seal) in &index {
            name.update(seal);
        }
        let path = self
            .packs_dir()
            .join(format!("{}.pack", hex::encode(&name.finalize()[..12])));
        let file = temporary.persist(&path).map_err(|error| error.error)?;
        let sealed = path.clone();
        let mut loaded = self.index.write().expect("cache index lock");
        if let Some(loaded) = loaded.as_mut() {
            loaded.packs.push(Arc::new(Pack {
                path,
                file,
                used: SystemTime::now(),
                touched: AtomicBool::new(true),
                damaged: AtomicBool::new(false),
                index_offset: offset,
                keys,
                fan_out,
            }));
        }
        Ok(sealed)
    }

    /// Removes least recently used packs until the cache is under its cap.
    /// Memo files (`stamps`'s here, and scan's beside this layout's folder, `scan/memo.rs`)
    /// count towards the cap and are evicted the same way.
    /// Older layouts' files (an older lamina's, `lamina-cache-v3/…`), which this one never
    /// reads, count too, and go first.
    fn evict(&self) {
        let mut packs = list_packs(&self.packs_dir());
        let root = self.dir.parent();
        let scan_memos = root.map(|root| root.join("scan"));
        for memos in std::iter::once(self.dir.join("stamps")).chain(scan_memos) {
            packs.extend(list_files(&memos, |name| !name.starts_with('.')));
        }
        // Older layouts' folders (not links to folders), their files first in line.
        let listing = root.and_then(|root| crate::fs::read_dir(root).ok());
        for entry in listing.into_iter().flatten().flatten() {
            let name = entry.file_name();
            let older = name
                .to_str()
                .and_then(|name| name.strip_prefix(LAYOUT_PREFIX))
                .filter(|number| number.bytes().all(|byte| byte.is_ascii_digit()))
                .and_then(|number| number.parse::<u32>().ok())
                .is_some_and(|number| number < LAYOUT_VERSION);
            if older && entry.file_type().is_ok_and(|kind| kind.is_dir()) {
                let mut old = Vec::new();
                list_tree(&entry.path(), 3, &mut old);
                packs.extend(
                    old.into_iter()
                        .map(|(_, bytes, path)| (SystemTime::UNIX_EPOCH, bytes, path)),
                );
            }
        }
        let mut total: u64 = packs.iter().map(|(_, bytes, _)| bytes).sum();
        if total <= self.max_bytes {
            return;
        }
        packs.sort();
        for (_, bytes, path) in packs {
            if total <= self.max_bytes {
                break;
            }
            if std::fs::remove_file(&path).is_ok() {
                total -= bytes;
            }
        }
        // Records of removed packs must not be looked up again in this process.
        *self.index.write().expect("cache index lock") = None;
    }
}

/// Moves a cache file's modification time (`used`, as last read), which eviction takes for its
/// time of last use, to now: at most once per [`TOUCH_EVERY`], to save a write per build.
/// Failures only cost an earlier eviction.
pub(crate) fn mark_used(file: &File, used: SystemTime) {
    let now = SystemTime::now();
    if now.duration_since(used).is_ok_and(|age| age > TOUCH_EVERY) {
        let _ = file.set_modified(now);
    }
}

/// Every pack in `folder`: time of last use, size, path.
fn list_packs(folder: &Path) -> Vec<(SystemTime, u64, PathBuf)> {
    list_files(folder, |name| name.ends_with(".pack"))
}

/// The files of `folder` whose names pass `wanted`: time of last change, size, path.
fn list_files(folder: &Path, wanted: impl Fn(&str) -> bool) -> Vec<(SystemTime, u64, PathBuf)> {
    let Ok(listing) = crate::fs::read_dir(folder) else {
        return Vec::new();
    };
    listing
        .flatten()
        .filter(|entry| wanted(&entry.file_name().to_string_lossy()))
        .filter_map(|entry| {
            let meta = entry.metadata().ok()?;
            Some((meta.modified().ok()?, meta.len(), entry.path()))
        })
        .collect()
}

/// Every file under `folder`, down to `depth` folders: time of last change, size, path. Not
/// the output marker (`.lamina-output`), which keeps walks out of the folder wherever it is.
fn list_tree(folder: &Path, depth: usize, into: &mut Vec<(SystemTime, u64, PathBuf)>) {
    let Ok(listing) = crate::fs::read_dir(folder) else {
        return;
    };
    for entry in listing.flatten() {
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let Ok(meta) = entry.metadata() else {
            continue;
        };
        if meta.is_dir() {
            if depth > 0 {
                list_tree(&entry.path(), depth - 1, into);
            }
        } else if let Ok(modified) = meta.modified() {
            into.push((modified, meta.len(), entry.path()));
        }
    }
}

/// A writer that seals (hashes) and counts what passes through.
struct Sealing<'a, W: Write> {
    inner: &'a mut W,
    hasher: Sha256,
    written: u64,
}

impl<W: Write> Write for Sealing<'_, W> {
    fn write(&mut self, buffer: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(buffer)?;
        self.hasher.update(&buffer[..written]);
        self.written += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A pack failed a check: it is removed, and its records are compressed again.
fn damaged(pack: &Pack) {
    if !pack.damaged.swap(true, Ordering::Relaxed) {
        let _ = std::fs::remove_file(&pack.path);
    }
}

/// The trailer's seal: over the index's offset, the record count and the fan-out, which
/// decide where every key and field is read. Keys and fields are sealed with their records.
fn trailer_seal(index_offset: u64, count: u64, fan_out: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(index_offset.to_le_bytes());
    hasher.update(count.to_le_bytes());
    hasher.update(fan_out);
    hasher.finalize().into()
}

/// Reads every pack's keys. A pack that fails a check is removed.
fn load(folder: &Path) -> Index {
    let mut index = Index::default();
    let Ok(listing) = crate::fs::read_dir(folder) else {
        return index;
    };
    let mut paths: Vec<PathBuf> = listing
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "pack")
        })
        .collect();
    // Sorted, so which copy of a record is used does not depend on the listing order.
    paths.sort();
    for path in paths {
        match open_pack(&path) {
            Ok(pack) => index.packs.push(Arc::new(pack)),
            Err(_) => {
                let _ = std::fs::remove_file(&path);
            }
        }
    }
    index
}

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.to_string())
}

/// A pack with its keys and fan-out, checked against its header and trailer.
fn open_pack(path: &Path) -> io::Result<Pack> {
    // std's: a pack that cannot be read is removed, and its error is never shown.
    #[allow(clippy::disallowed_methods)]
    let file = File::open(path)?;
    let meta = file.metadata()?;
    let length = meta.len();
    let mut header = [0; HEADER as usize];
    file.read_exact_at(&mut header, 0)?;
    let tail = (FAN_OUT + TRAILER) as u64;
    if &header[..8] != PACK_MAGIC || length < HEADER + tail {
        return Err(invalid("not a pack"));
    }
    let mut tail_bytes = vec![0; FAN_OUT + TRAILER];
    file.read_exact_at(&mut tail_bytes, length - tail)?;
    let (fan_out_bytes, trailer) = tail_bytes.split_at(FAN_OUT);
    let number = |at: usize| u64::from_le_bytes(trailer[at..at + 8].try_into().expect("8 bytes"));
    let (index_offset, count) = (number(0), number(8));
    if &trailer[48..] != INDEX_MAGIC
        || trailer[16..48] != trailer_seal(index_offset, count, fan_out_bytes)
        || count.checked_mul((KEY + FIELDS) as u64) != (length - tail).checked_sub(index_offset)
        || index_offset < HEADER
    {
        return Err(invalid("pack length does not match its index"));
    }
    let mut fan_out = [0u32; 256];
    for (slot, bytes) in fan_out.iter_mut().zip(fan_out_bytes.chunks_exact(4)) {
        *slot = u32::from_le_bytes(bytes.try_into().expect("4 bytes"));
    }
    if fan_out.windows(2).any(|pair| pair[0] > pair[1]) || u64::from(fan_out[255]) != count {
        return Err(invalid("pack fan-out does not match its index"));
    }
    let mut keys = vec![0; count as usize * KEY];
    file.read_exact_at(&mut keys, index_offset)?;
    Ok(Pack {
        path: path.to_path_buf(),
        file,
        used: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
        touched: AtomicBool::new(false),
        damaged: AtomicBool::new(false),
        index_offset,
        keys,
        fan_out,
    })
}

/// A whole pack: its file and every record's key and fields (an error if any field points
/// outside the records).
fn read_pack(path: &Path) -> io::Result<(Pack, Vec<(Key, Entry)>)> {
    let pack = open_pack(path)?;
    let count = pack.count();
    let mut fields = vec![0; count * FIELDS];
    pack.file
        .read_exact_at(&mut fields, pack.index_offset + (count * KEY) as u64)?;
    let entries = pack
        .keys
        .chunks_exact(KEY)
        .zip(fields.chunks_exact(FIELDS))
        .map(|(key, raw)| {
            Ok((
                key.try_into().expect("32 bytes"),
                parse_fields(raw, pack.index_offset)?,
            ))
        })
        .collect::<io::Result<Vec<_>>>()?;
    Ok((pack, entries))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(bytes: &[u8]) -> Record {
        Record {
            method: 8,
            crc32: 7,
            uncompressed: 99,
            compressed: bytes.len() as u64,
        }
    }

    fn packs(cache: &Cache) -> Vec<PathBuf> {
        let mut paths: Vec<PathBuf> = crate::fs::read_dir(cache.packs_dir())
            .unwrap()
            .flatten()
            .map(|entry| entry.path())
            .collect();
        paths.sort();
        paths
    }

    #[test]
    fn records_round_trip_across_processes() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let key = Cache::key(&[7; 32], "deflate-6");
        assert!(cache.get(&key).is_none());
        assert!(!cache.holds(&key));
        cache.put(&key, record(b"compressed"), b"compressed");
        // Not visible before the pack is sealed, but known not to be needed again.
        assert!(cache.get(&key).is_none());
        assert!(cache.holds(&key));
        cache.finish();
        assert!(cache.holds(&key));
        assert_eq!(
            cache.get(&key),
            Some((record(b"compressed"), b"compressed".to_vec()))
        );
        // A new process reads the pack from disk.
        let again = Cache::new(dir.path());
        assert_eq!(again.peek(&key), Some(record(b"compressed")));
        let located = again.get_large(&key).unwrap();
        let mut copied = Vec::new();
        located.copy_to(&mut copied).unwrap();
        assert_eq!(copied, b"compressed");
        assert_eq!(packs(&again).len(), 1);
    }

    #[test]
    fn damaged_records_and_packs_are_never_used() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let key = Cache::key(&[1; 32], "deflate-6");
        cache.put(&key, record(b"0123456789"), b"0123456789");
        cache.finish();
        let path = packs(&cache).remove(0);
        // Flip a byte of the record: its seal fails, and the pack is removed.
        let mut bytes = crate::fs::read(&path).unwrap();
        bytes[HEADER as usize + 3] ^= 1;
        crate::fs::write(&path, &bytes).unwrap();
        assert!(Cache::new(dir.path()).get(&key).is_none());
        assert!(!path.exists());
        // Truncated: the pack's length no longer matches its trailer.
        let cache = Cache::new(dir.path());
        cache.put(&key, record(b"0123456789"), b"0123456789");
        cache.finish();
        let path = packs(&cache).remove(0);
        let bytes = crate::fs::read(&path).unwrap();
        crate::fs::write(&path, &bytes[..bytes.len() - 4]).unwrap();
        assert!(Cache::new(dir.path()).get_large(&key).is_none());
        assert!(!path.exists());
        // A record whose bytes fall short of its stated length is not indexed.
        let cache = Cache::new(dir.path());
        let mut short = record(b"0123456789");
        short.compressed = 11;
        assert!(
            cache
                .put_from(&key, short, 11, &mut &b"0123456789"[..])
                .is_err()
        );
        cache.finish();
        assert!(Cache::new(dir.path()).peek(&key).is_none());
    }

    #[test]
    fn a_key_or_field_changed_on_disk_never_serves_a_record() {
        let (a, b) = (
            Cache::key(&[1; 32], "deflate-6"),
            Cache::key(&[2; 32], "deflate-6"),
        );
        for damage in 0..3 {
            let dir = tempfile::tempdir().unwrap();
            let cache = Cache::new(dir.path());
            cache.put(&a, record(b"aaaa"), b"aaaa");
            cache.put(&b, record(b"bbbb"), b"bbbb");
            cache.finish();
            let path = packs(&cache).remove(0);
            let pack = open_pack(&path).unwrap();
            let (position, index_offset) = (pack.position(&b).unwrap(), pack.index_offset as usize);
            assert_eq!(pack.position(&a), Some(1 - position));
            let fields = index_offset + 2 * KEY + position * FIELDS;
            let mut bytes = crate::fs::read(&path).unwrap();
            let mut wanted = b;
            match damage {
                // b's key with its last bit changed: found, but the record is b's.
                0 => {
                    wanted[31] ^= 1;
                    bytes[index_offset + position * KEY + 31] ^= 1;
                }
                // b's uncompressed length.
                1 => bytes[fields + 24] ^= 1,
                // b's offset, past the records.
                _ => bytes[fields..fields + 8].copy_from_slice(&u64::MAX.to_le_bytes()),
            }
            crate::fs::write(&path, &bytes).unwrap();
            // Not even reported: `peek` checks the seal as `get` does.
            assert_eq!(Cache::new(dir.path()).peek(&wanted), None, "{damage}");
            assert!(!path.exists(), "{damage}: peek removes the damaged pack");
            crate::fs::write(&path, &bytes).unwrap();
            let loaded = Cache::new(dir.path());
            assert_eq!(loaded.get(&wanted), None, "{damage}");
            assert!(loaded.get_large(&wanted).is_none(), "{damage}");
            assert!(!path.exists(), "{damage}: the damaged pack is removed");
            assert_eq!(loaded.get(&a), None, "{damage}: with all its records");
        }
    }

    #[test]
    fn keys_are_found_in_every_pack_by_their_first_byte_and_a_search() {
        let dir = tempfile::tempdir().unwrap();
        let keys: Vec<Key> = (0..600u32)
            .map(|i| Cache::key(&i.to_le_bytes(), "deflate-6"))
            .collect();
        // Two packs, records put out of order.
        for half in keys.chunks(300) {
            let cache = Cache::new(dir.path());
            for key in half.iter().rev() {
                cache.put(key, record(&key[..4]), &key[..4]);
            }
            cache.finish();
        }
        let cache = Cache::new(dir.path());
        for key in &keys {
            assert_eq!(cache.get(key), Some((record(&key[..4]), key[..4].to_vec())));
        }
        for missing in (600..700u32).map(|i| Cache::key(&i.to_le_bytes(), "deflate-6")) {
            assert!(!cache.holds(&missing));
            assert_eq!(cache.peek(&missing), None);
        }
    }

    #[test]
    fn an_older_layouts_files_are_evicted_first() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("lamina-cache-v3");
        for (folder, name) in [("packs", "x.pack"), ("stamps", "memo"), ("ab", "ab12")] {
            crate::fs::create_dir_all(old.join(folder)).unwrap();
            crate::fs::write(old.join(folder).join(name), [0; 100]).unwrap();
        }
        crate::fs::write(old.join(crate::scan::walk::OUTPUT_MARKER), "*\n").unwrap();
        // Not an older layout: a newer one, a name that only looks like one, and a link.
        let others = [
            "lamina-cache-v9",
            "lamina-cache-vault",
            "lamina-cache-v2.bak",
        ];
        for other in others {
            crate::fs::create_dir_all(dir.path().join(other)).unwrap();
            crate::fs::write(dir.path().join(other).join("f"), [0; 10]).unwrap();
        }
        let elsewhere = tempfile::tempdir().unwrap();
        crate::fs::write(elsewhere.path().join("precious"), [0; 10]).unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), dir.path().join("lamina-cache-v1")).unwrap();
        let key = Cache::key(&[1; 32], "deflate-6");
        let mut cache = Cache::new(dir.path());
        cache.put(&key, record(b"kept"), b"kept");
        cache.finish();
        // Used long before the old files were last written: they still go first.
        File::options()
            .append(true)
            .open(&packs(&cache)[0])
            .unwrap()
            .set_modified(SystemTime::now() - Duration::from_secs(30 * 24 * 3600))
            .unwrap();
        let pack = crate::fs::metadata(&packs(&cache)[0]).unwrap().len();
        // Room for this layout's pack and less than one old file: the old files, all older,
        // go; the pack stays.
        cache.max_bytes = pack + 50;
        cache.finish();
        assert!(Cache::new(dir.path()).get(&key).is_some());
        let left: Vec<_> = walkdir::WalkDir::new(&old)
            .into_iter()
            .flatten()
            .filter(|entry| entry.file_type().is_file())
            .map(|entry| entry.file_name().to_string_lossy().to_string())
            .collect();
        assert_eq!(left, [crate::scan::walk::OUTPUT_MARKER]);
        for other in others {
            assert!(dir.path().join(other).join("f").exists(), "{other}");
        }
        assert!(elsewhere.path().join("precious").exists());
    }

    #[test]
    fn the_layout_number_is_the_layouts() {
        assert_eq!(LAYOUT, format!("{LAYOUT_PREFIX}{LAYOUT_VERSION}"));
    }

    #[test]
    fn keys_separate_contents_and_settings() {
        let a = Cache::key(&[1; 32], "deflate-6");
        assert_ne!(a, Cache::key(&[1; 32], "deflate-1"));
        assert_ne!(a, Cache::key(&[2; 32], "deflate-6"));
    }

    #[test]
    fn eviction_removes_least_recently_used_packs_over_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let keys: Vec<Key> = (0..3u8)
            .map(|i| Cache::key(&[i; 32], "deflate-6"))
            .collect();
        let now = SystemTime::now();
        let mut sizes = Vec::new();
        for (hours, key) in [3u64, 2, 1].into_iter().zip(&keys) {
            let cache = Cache::new(dir.path());
            let before: Vec<PathBuf> = packs_or_none(&cache);
            cache.put(key, record(&[0; 100]), &[0; 100]);
            cache.finish();
            let path = packs(&cache)
                .into_iter()
                .find(|path| !before.contains(path))
                .unwrap();
            sizes.push(crate::fs::metadata(&path).unwrap().len());
            File::options()
                .append(true)
                .open(&path)
                .unwrap()
                .set_modified(now - Duration::from_secs(hours * 3600 + 60))
                .unwrap();
        }
        // Use the oldest, so the middle one becomes least recently used.
        let mut cache = Cache::new(dir.path());
        assert!(cache.get(&keys[0]).is_some());
        cache.max_bytes = sizes[0] + sizes[2] + 1;
        cache.finish();
        let cache = Cache::new(dir.path());
        assert!(cache.get(&keys[0]).is_some());
        assert!(cache.get(&keys[1]).is_none());
        assert!(cache.get(&keys[2]).is_some());
        // Scan's memos count too: an old one goes first.
        let memo = dir.path().join("scan").join("0123");
        crate::fs::create_dir_all(memo.parent().unwrap()).unwrap();
        crate::fs::write(&memo, [0; 100]).unwrap();
        File::options()
            .append(true)
            .open(&memo)
            .unwrap()
            .set_modified(now - Duration::from_secs(10 * 3600))
            .unwrap();
        let mut cache = Cache::new(dir.path());
        cache.max_bytes = sizes[0] + sizes[2] + 1;
        cache.finish();
        assert!(!memo.exists());
        let cache = Cache::new(dir.path());
        assert!(cache.get(&keys[0]).is_some());
        assert!(cache.get(&keys[2]).is_some());
    }

    #[test]
    fn small_packs_are_merged_past_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let keys: Vec<Key> = (0..5u8)
            .map(|i| Cache::key(&[i; 32], "deflate-6"))
            .collect();
        for (number, key) in keys.iter().enumerate() {
            let mut cache = Cache::new(dir.path());
            cache.max_packs = 3;
            let bytes = vec![number as u8; 10 + number];
            cache.put(key, record(&bytes), &bytes);
            cache.finish();
            assert!(packs(&cache).len() <= 3, "{:?}", packs(&cache));
        }
        // Every record is still there, intact, after the merges.
        let cache = Cache::new(dir.path());
        for (number, key) in keys.iter().enumerate() {
            let bytes = vec![number as u8; 10 + number];
            assert_eq!(cache.get(key), Some((record(&bytes), bytes)));
        }
    }

    fn packs_or_none(cache: &Cache) -> Vec<PathBuf> {
        if cache.packs_dir().exists() {
            packs(cache)
        } else {
            Vec::new()
        }
    }
}
