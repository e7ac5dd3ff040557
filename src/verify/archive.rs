//! A zip reader for verification. It parses the end records, the central directory and the
//! local headers itself, because verification needs the raw fields a general-purpose reader
//! hides or normalises (the host system, the flags, whether zip64 fields are used, what the
//! local header says), and it must survive any input: every length is checked against the file
//! before it is used, and entry data is read through fixed buffers with a cap.

use std::io::{self, Read, Seek, SeekFrom};

/// Signatures (APPNOTE 4.3).
const LOCAL_SIGNATURE: u32 = 0x0403_4b50;
const CENTRAL_SIGNATURE: u32 = 0x0201_4b50;
const END_SIGNATURE: u32 = 0x0605_4b50;
const ZIP64_END_SIGNATURE: u32 = 0x0606_4b50;
const ZIP64_LOCATOR_SIGNATURE: u32 = 0x0706_4b50;

const LOCAL_HEADER_LEN: u64 = 30;
const CENTRAL_HEADER_LEN: usize = 46;
const END_LEN: usize = 22;
const ZIP64_LOCATOR_LEN: usize = 20;
const ZIP64_END_LEN: usize = 56;
const ZIP64_EXTRA_ID: u16 = 0x0001;

/// The largest central directory lamina reads. It is parsed record by record and never held,
/// but every record becomes an entry in memory (its fixed fields and its name): this bounds
/// their number and the bytes of their names. A layer of 250 MiB of small files needs a few
/// MiB of directory.
pub const MAX_CENTRAL_DIRECTORY: u64 = 64 << 20;

/// Bytes read from the data stream at a time.
const CHUNK: usize = 64 << 10;

/// Compression methods Lambda (and every extractor) supports.
pub const STORED: u16 = 0;
pub const DEFLATED: u16 = 8;

/// "Version made by" host systems that matter here (APPNOTE 4.4.2.2).
pub const HOST_UNIX: u8 = 3;
pub const HOST_DARWIN: u8 = 19;

const S_IFMT: u32 = 0o170_000;
const S_IFDIR: u32 = 0o040_000;
const S_IFLNK: u32 = 0o120_000;

/// A zip's central directory, parsed.
#[derive(Debug, Clone)]
pub struct Archive {
    /// Length of the whole file.
    pub len: u64,
    pub entries: Vec<CentralEntry>,
    pub central_directory_offset: u64,
    pub central_directory_size: u64,
    /// A zip64 end of central directory record is present.
    pub zip64_end: bool,
}

/// One central directory record, with zip64 fields resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CentralEntry {
    /// Position in the central directory.
    pub index: usize,
    pub name: Vec<u8>,
    pub made_by: u16,
    pub flags: u16,
    pub method: u16,
    pub crc32: u32,
    pub compressed_size: u64,
    pub uncompressed_size: u64,
    pub local_header_offset: u64,
    pub external_attributes: u32,
    /// The record carries a zip64 extended information field.
    pub zip64_extra: bool,
}

impl CentralEntry {
    /// The system the entry was made on: 0 MS-DOS, 3 Unix, 10 NTFS, 19 macOS, ...
    pub fn host(&self) -> u8 {
        (self.made_by >> 8) as u8
    }

    /// The Unix mode in the high half of the external attributes, when one is there. Zips made
    /// on Windows leave it 0, and Lambda then extracts the file with mode 0000.
    pub fn unix_mode(&self) -> Option<u32> {
        let mode = self.external_attributes >> 16;
        (mode != 0).then_some(mode)
    }

    pub fn is_dir(&self) -> bool {
        self.name.last() == Some(&b'/')
            || self
                .unix_mode()
                .is_some_and(|mode| mode & S_IFMT == S_IFDIR)
    }

    pub fn is_symlink(&self) -> bool {
        !self.is_dir()
            && self
                .unix_mode()
                .is_some_and(|mode| mode & S_IFMT == S_IFLNK)
    }

    /// Traditional or strong encryption (general purpose flag bit 0).
    pub fn encrypted(&self) -> bool {
        self.flags & 1 != 0
    }

    /// Sizes and CRC follow the data in a data descriptor (flag bit 3); the local header then
    /// holds zeros.
    pub fn has_data_descriptor(&self) -> bool {
        self.flags & 0x0008 != 0
    }

    /// The name as text, with invalid UTF-8 replaced, for messages and path checks.
    pub fn name_lossy(&self) -> String {
        String::from_utf8_lossy(&self.name).into_owned()
    }
}

/// A human name for a "version made by" host.
pub fn host_name(host: u8) -> &'static str {
    match host {
        0 => "MS-DOS/Windows (FAT)",
        3 => "Unix",
        7 => "classic Mac OS",
        10 => "Windows (NTFS)",
        11 => "MVS",
        14 => "Windows (VFAT)",
        19 => "macOS",
        _ => "a system without Unix modes",
    }
}

/// A human name for a compression method.
pub fn method_name(method: u16) -> String {
    let name = match method {
        0 => "stored",
        8 => "deflate",
        9 => "deflate64",
        12 => "bzip2",
        14 => "LZMA",
        93 => "zstd",
        95 => "xz",
        96 => "JPEG",
        97 => "WavPack",
        98 => "PPMd",
        99 => "AES-encrypted",
        _ => return format!("method {method}"),
    };
    format!("{name} (method {method})")
}

fn malformed(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.into())
}

/// Little-endian fields read from a byte slice, each checked against its end.
struct Fields<'a> {
    data: &'a [u8],
    position: usize,
}

impl<'a> Fields<'a> {
    fn new(data: &'a [u8]) -> Self {
        Fields { data, position: 0 }
    }

    fn bytes(&mut self, count: usize) -> Option<&'a [u8]> {
        let end = self.position.checked_add(count)?;
        let slice = self.data.get(self.position..end)?;
        self.position = end;
        Some(slice)
    }

    fn u16(&mut self) -> Option<u16> {
        self.bytes(2)
            .map(|bytes| u16::from_le_bytes([bytes[0], bytes[1]]))
    }

    fn u32(&mut self) -> Option<u32> {
        self.bytes(4)
            .map(|bytes| u32::from_le_bytes(bytes.try_into().expect("four bytes")))
    }

    fn u64(&mut self) -> Option<u64> {
        self.bytes(8)
            .map(|bytes| u64::from_le_bytes(bytes.try_into().expect("eight bytes")))
    }
}

fn read_exact_at<R: Read + Seek>(reader: &mut R, offset: u64, buffer: &mut [u8]) -> io::Result<()> {
    reader.seek(SeekFrom::Start(offset))?;
    reader.read_exact(buffer)
}

/// The zip64 extended information field of a record: the values stored as 0xFFFFFFFF in the
/// fixed fields, in APPNOTE's order (uncompressed, compressed, offset).
fn zip64_values(
    extra: &[u8],
    uncompressed: &mut u64,
    compressed: &mut u64,
    offset: Option<&mut u64>,
) -> io::Result<bool> {
    let mut fields = Fields::new(extra);
    while let (Some(id), Some(size)) = (fields.u16(), fields.u16()) {
        let Some(body) = fields.bytes(usize::from(size)) else {
            return Err(malformed("an extra field runs past its record"));
        };
        if id != ZIP64_EXTRA_ID {
            continue;
        }
        let mut values = Fields::new(body);
        let mut take = |value: &mut u64| -> io::Result<()> {
            if *value == u64::from(u32::MAX) {
                *value = values
                    .u64()
                    .ok_or_else(|| malformed("a zip64 field is too short"))?;
            }
            Ok(())
        };
        take(uncompressed)?;
        take(compressed)?;
        if let Some(offset) = offset {
            take(offset)?;
        }
        return Ok(true);
    }
    Ok(false)
}

impl Archive {
    /// Reads the end records and the central directory. Errors of kind `InvalidData` mean the
    /// file is not a zip lamina can read.
    pub fn read<R: Read + Seek>(reader: &mut R) -> io::Result<Archive> {
        let len = reader.seek(SeekFrom::End(0))?;
        let tail_len = len.min((END_LEN + 0xFFFF + ZIP64_LOCATOR_LEN) as u64) as usize;
        let tail_start = len - tail_len as u64;
        let mut tail = vec![0; tail_len];
        read_exact_at(reader, tail_start, &mut tail)?;

        // The last end record whose comment fits in the file; scanning from the end finds the
        // real one even when a comment holds the signature.
        if tail_len < END_LEN {
            return Err(malformed("too short to be a zip file"));
        }
        let end_position = (0..=tail_len - END_LEN)
            .rev()
            .find(|&at| {
                tail[at..at + 4] == END_SIGNATURE.to_le_bytes() && {
                    let comment = usize::from(u16::from_le_bytes([tail[at + 20], tail[at + 21]]));
                    at + END_LEN + comment <= tail_len
                }
            })
            .ok_or_else(|| malformed("no end of central directory record: not a zip file"))?;
        let mut end = Fields::new(&tail[end_position + 4..end_position + END_LEN]);
        let disk = end.u16().unwrap_or(0);
        let directory_disk = end.u16().unwrap_or(0);
        let _entries_on_disk = end.u16();
        let mut total_entries = u64::from(end.u16().unwrap_or(0));
        let mut directory_size = u64::from(end.u32().unwrap_or(0));
        let mut directory_offset = u64::from(end.u32().unwrap_or(0));
        if disk != 0 || directory_disk != 0 {
            return Err(malformed(
                "the zip is split across several files (a spanned archive); Lambda needs one file",
            ));
        }
        let end_offset = tail_start + end_position as u64;

        // A zip64 locator sits right before the end record.
        let mut zip64_end = false;
        let mut directory_end = end_offset;
        if end_position >= ZIP64_LOCATOR_LEN {
            let locator = &tail[end_position - ZIP64_LOCATOR_LEN..end_position];
            if locator[..4] == ZIP64_LOCATOR_SIGNATURE.to_le_bytes() {
                let mut fields = Fields::new(&locator[4..]);
                let _disk = fields.u32();
                let record_offset = fields.u64().unwrap_or(u64::MAX);
                if record_offset
                    .checked_add(ZIP64_END_LEN as u64)
                    .is_none_or(|record_end| record_end > end_offset)
                {
                    return Err(malformed("the zip64 end record lies outside the file"));
                }
                let mut record = [0; ZIP64_END_LEN];
                read_exact_at(reader, record_offset, &mut record)?;
                let mut fields = Fields::new(&record);
                if fields.u32() != Some(ZIP64_END_SIGNATURE) {
                    return Err(malformed("the zip64 locator points at no zip64 end record"));
                }
                let _record_size = fields.u64();
                let _made_by = fields.u16();
                let _needed = fields.u16();
                let disk = fields.u32().unwrap_or(0);
                let directory_disk = fields.u32().unwrap_or(0);
                if disk != 0 || directory_disk != 0 {
                    return Err(malformed(
                        "the zip is split across several files (a spanned archive); Lambda needs one file",
                    ));
                }
                let _entries_on_disk = fields.u64();
                total_entries = fields.u64().unwrap_or(0);
                directory_size = fields.u64().unwrap_or(0);
                directory_offset = fields.u64().unwrap_or(0);
                zip64_end = true;
                directory_end = record_offset;
            }
        }

        if directory_offset
            .checked_add(directory_size)
            .is_none_or(|directory_stop| directory_stop > directory_end)
        {
            return Err(malformed(format!(
                "the central directory ({directory_size} bytes at offset {directory_offset}) does not fit before the end record at {directory_end}"
            )));
        }
        if directory_size > MAX_CENTRAL_DIRECTORY {
            return Err(malformed(format!(
                "a central directory of {directory_size} bytes is more than lamina reads ({MAX_CENTRAL_DIRECTORY})"
            )));
        }
        let entries = read_central_directory(reader, directory_offset, directory_size)?;
        // Writers without zip64 store the count modulo 2^16 when it overflows.
        let count = entries.len() as u64;
        if count != total_entries && (zip64_end || count % 0x1_0000 != total_entries) {
            return Err(malformed(format!(
                "the end record counts {total_entries} entries, the central directory holds {count}"
            )));
        }
        Ok(Archive {
            len,
            entries,
            central_directory_offset: directory_offset,
            central_directory_size: directory_size,
            zip64_end,
        })
    }

    /// Whether anything in the archive is too large for the classic 16- and 32-bit fields.
    pub fn needs_zip64(&self) -> bool {
        let limit = u64::from(u32::MAX);
        self.entries.len() >= 0xFFFF
            || self.central_directory_offset >= limit
            || self.central_directory_size >= limit
            || self.entries.iter().any(|entry| {
                entry.compressed_size >= limit
                    || entry.uncompressed_size >= limit
                    || entry.local_header_offset >= limit
            })
    }
}

/// Reads the central directory record by record from `offset`: only the entries are kept
/// (their fixed fields and names), never the directory itself, extra fields or comments.
fn read_central_directory<R: Read + Seek>(
    reader: &mut R,
    offset: u64,
    size: u64,
) -> io::Result<Vec<CentralEntry>> {
    reader.seek(SeekFrom::Start(offset))?;
    let mut stream = (&mut *reader).take(size);
    let mut remaining = size;
    let mut header = [0; CENTRAL_HEADER_LEN];
    // Reused for every record's extra field (at most 64 KiB).
    let mut extra = Vec::new();
    let mut entries = Vec::new();
    // The directory lies inside the file (checked by the caller), so running short of it
    // means the file changed while it was read.
    let short = |error: io::Error| {
        if error.kind() == io::ErrorKind::UnexpectedEof {
            malformed("the central directory ends early: the file changed while it was read")
        } else {
            error
        }
    };
    while remaining > 0 {
        let index = entries.len();
        let bad = |what: &str| malformed(format!("central directory record {index}: {what}"));
        if remaining < CENTRAL_HEADER_LEN as u64 {
            return Err(bad("truncated"));
        }
        stream.read_exact(&mut header).map_err(short)?;
        remaining -= CENTRAL_HEADER_LEN as u64;
        let mut record = Fields::new(&header);
        if record.u32() != Some(CENTRAL_SIGNATURE) {
            return Err(bad("bad signature"));
        }
        let made_by = record.u16().unwrap_or(0);
        let _needed = record.u16();
        let flags = record.u16().unwrap_or(0);
        let method = record.u16().unwrap_or(0);
        let _time = record.u16();
        let _date = record.u16();
        let crc32 = record.u32().unwrap_or(0);
        let mut compressed_size = u64::from(record.u32().unwrap_or(0));
        let mut uncompressed_size = u64::from(record.u32().unwrap_or(0));
        let name_len = u64::from(record.u16().unwrap_or(0));
        let extra_len = u64::from(record.u16().unwrap_or(0));
        let comment_len = u64::from(record.u16().unwrap_or(0));
        let disk = record.u16().unwrap_or(0);
        let _internal = record.u16();
        let external_attributes = record.u32().unwrap_or(0);
        let mut local_header_offset = u64::from(record.u32().unwrap_or(0));
        if name_len > remaining {
            return Err(bad("the name runs past the directory"));
        }
        if name_len + extra_len > remaining {
            return Err(bad("the extra field runs past the directory"));
        }
        if name_len + extra_len + comment_len > remaining {
            return Err(bad("the comment runs past the directory"));
        }
        remaining -= name_len + extra_len + comment_len;
        let mut name = vec![0; name_len as usize];
        stream.read_exact(&mut name).map_err(short)?;
        extra.resize(extra_len as usize, 0);
        stream.read_exact(&mut extra).map_err(short)?;
        let skipped = io::copy(&mut (&mut stream).take(comment_len), &mut io::sink())?;
        if skipped != comment_len {
            return Err(short(io::ErrorKind::UnexpectedEof.into()));
        }
        if disk != 0 && disk != 0xFFFF {
            return Err(bad("the entry lies on another disk of a spanned archive"));
        }
        let zip64_extra = zip64_values(
            &extra,
            &mut uncompressed_size,
            &mut compressed_size,
            Some(&mut local_header_offset),
        )
        .map_err(|error| bad(&error.to_string()))?;
        entries.push(CentralEntry {
            index,
            name,
            made_by,
            flags,
            method,
            crc32,
            compressed_size,
            uncompressed_size,
            local_header_offset,
            external_attributes,
            zip64_extra,
        });
    }
    Ok(entries)
}

/// What an entry's local header says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalHeader {
    pub name: Vec<u8>,
    pub flags: u16,
    pub method: u16,
    pub crc32: u32,
    pub compressed_size: u64,
    pub uncompressed_size: u64,
    /// Where the entry's data starts.
    pub data_offset: u64,
}

/// Reads the local header an entry points at. `Ok(None)` when there is none at that offset.
pub fn read_local_header<R: Read + Seek>(
    reader: &mut R,
    archive: &Archive,
    entry: &CentralEntry,
) -> io::Result<Option<LocalHeader>> {
    let offset = entry.local_header_offset;
    if offset
        .checked_add(LOCAL_HEADER_LEN)
        .is_none_or(|end| end > archive.len)
    {
        return Ok(None);
    }
    let mut header = [0; LOCAL_HEADER_LEN as usize];
    read_exact_at(reader, offset, &mut header)?;
    let mut fields = Fields::new(&header);
    if fields.u32() != Some(LOCAL_SIGNATURE) {
        return Ok(None);
    }
    let _needed = fields.u16();
    let flags = fields.u16().unwrap_or(0);
    let method = fields.u16().unwrap_or(0);
    let _time = fields.u16();
    let _date = fields.u16();
    let crc32 = fields.u32().unwrap_or(0);
    let mut compressed_size = u64::from(fields.u32().unwrap_or(0));
    let mut uncompressed_size = u64::from(fields.u32().unwrap_or(0));
    let name_len = u64::from(fields.u16().unwrap_or(0));
    let extra_len = u64::from(fields.u16().unwrap_or(0));
    let data_offset = offset + LOCAL_HEADER_LEN + name_len + extra_len;
    if data_offset > archive.len {
        return Ok(None);
    }
    let mut variable = vec![0; (name_len + extra_len) as usize];
    reader.read_exact(&mut variable)?;
    let (name, extra) = variable.split_at(name_len as usize);
    // A malformed extra field in a local header is reported as a mismatch by the caller.
    let _ = zip64_values(extra, &mut uncompressed_size, &mut compressed_size, None);
    Ok(Some(LocalHeader {
        name: name.to_vec(),
        flags,
        method,
        crc32,
        compressed_size,
        uncompressed_size,
        data_offset,
    }))
}

/// What reading an entry's data found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataRead {
    /// Uncompressed bytes read: at most the declared size plus one, so a stream that holds more
    /// than it declares is caught without inflating it all.
    pub bytes: u64,
    pub crc32: u32,
    /// The stream ended (rather than the read stopping at a limit).
    pub finished: bool,
    /// The read stopped because the budget ran out.
    pub capped: bool,
    /// The compressed stream is corrupt.
    pub corrupt: Option<String>,
}

/// Streams an entry's data (stored or deflated) through a fixed buffer, handing each chunk to
/// `sink`, reading at most the declared size plus one byte and at most `budget` bytes, which is
/// reduced by what was read.
pub fn read_data<R: Read + Seek>(
    reader: &mut R,
    entry: &CentralEntry,
    data_offset: u64,
    budget: &mut u64,
    sink: &mut dyn FnMut(&[u8]),
) -> io::Result<DataRead> {
    reader.seek(SeekFrom::Start(data_offset))?;
    let compressed = (&mut *reader).take(entry.compressed_size);
    let mut stream: Box<dyn Read + '_> = match entry.method {
        DEFLATED => Box::new(flate2::read::DeflateDecoder::new(compressed)),
        _ => Box::new(compressed),
    };
    let wanted = entry.uncompressed_size.saturating_add(1);
    let limit = wanted.min(*budget);
    let mut buffer = vec![0; CHUNK];
    let mut crc = flate2::Crc::new();
    let mut bytes = 0u64;
    let mut finished = false;
    let mut corrupt = None;
    while bytes < limit {
        let room = (limit - bytes).min(CHUNK as u64) as usize;
        match stream.read(&mut buffer[..room]) {
            Ok(0) => {
                finished = true;
                break;
            }
            Ok(read) => {
                crc.update(&buffer[..read]);
                sink(&buffer[..read]);
                bytes += read as u64;
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            // Anything the decoder or the bounded reader reports is about this entry's data.
            Err(error) => {
                corrupt = Some(error.to_string());
                break;
            }
        }
    }
    *budget -= bytes;
    Ok(DataRead {
        bytes,
        crc32: crc.sum(),
        finished,
        capped: !finished && corrupt.is_none() && bytes == limit && limit < wanted,
        corrupt,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn archive_of(data: &[u8]) -> io::Result<Archive> {
        Archive::read(&mut Cursor::new(data))
    }

    #[test]
    fn an_empty_zip_is_just_an_end_record() {
        let mut data = END_SIGNATURE.to_le_bytes().to_vec();
        data.extend([0; 18]);
        let archive = archive_of(&data).unwrap();
        assert!(archive.entries.is_empty());
        assert!(!archive.needs_zip64());
    }

    #[test]
    fn garbage_and_truncation_are_invalid_data_not_panics() {
        for data in [
            &b""[..],
            b"PK",
            b"not a zip at all, just some text",
            b"PK\x05\x06",
        ] {
            let error = archive_of(data).unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::InvalidData, "{data:?}");
        }
    }

    #[test]
    fn a_directory_that_does_not_fit_is_refused() {
        let mut data = END_SIGNATURE.to_le_bytes().to_vec();
        data.extend([0, 0, 0, 0, 1, 0, 1, 0]);
        data.extend(1000u32.to_le_bytes());
        data.extend(0u32.to_le_bytes());
        data.extend([0, 0]);
        let error = archive_of(&data).unwrap_err();
        assert!(error.to_string().contains("does not fit"), "{error}");
    }

    /// A zip of one stored, empty entry whose central record carries `extra` and `comment`.
    fn zip_with_record(name: &[u8], extra: &[u8], comment: &[u8]) -> Vec<u8> {
        let mut data = LOCAL_SIGNATURE.to_le_bytes().to_vec();
        data.extend([20, 0, 0, 0, 0, 0, 0, 0, 0x21, 0]);
        data.extend([0; 12]);
        data.extend((name.len() as u16).to_le_bytes());
        data.extend(0u16.to_le_bytes());
        data.extend(name);
        let directory_offset = data.len() as u32;
        data.extend(CENTRAL_SIGNATURE.to_le_bytes());
        data.extend([30, 3, 20, 0, 0, 0, 0, 0, 0, 0, 0x21, 0]);
        data.extend([0; 12]);
        data.extend((name.len() as u16).to_le_bytes());
        data.extend((extra.len() as u16).to_le_bytes());
        data.extend((comment.len() as u16).to_le_bytes());
        data.extend([0, 0, 0, 0]);
        data.extend((0o100_644u32 << 16).to_le_bytes());
        data.extend(0u32.to_le_bytes());
        data.extend(name);
        data.extend(extra);
        data.extend(comment);
        let directory_size = data.len() as u32 - directory_offset;
        data.extend(END_SIGNATURE.to_le_bytes());
        data.extend([0, 0, 0, 0, 1, 0, 1, 0]);
        data.extend(directory_size.to_le_bytes());
        data.extend(directory_offset.to_le_bytes());
        data.extend([0, 0]);
        data
    }

    #[test]
    fn the_directory_is_read_record_by_record_skipping_extras_and_comments() {
        // An unknown extra field (id 0xcafe, 4 bytes) and a comment that looks like a record.
        let extra = [0xfe, 0xca, 4, 0, 1, 2, 3, 4];
        let comment = CENTRAL_SIGNATURE.to_le_bytes().repeat(3);
        let archive = archive_of(&zip_with_record(b"index.js", &extra, &comment)).unwrap();
        assert_eq!(archive.entries.len(), 1);
        assert_eq!(archive.entries[0].name, b"index.js");
        assert_eq!(archive.entries[0].unix_mode(), Some(0o100_644));
        assert!(!archive.entries[0].zip64_extra);

        // A comment length that runs past the directory (into the end record).
        let mut data = zip_with_record(b"index.js", &extra, b"");
        let record = data.len() - END_LEN - (CENTRAL_HEADER_LEN + 8 + extra.len());
        data[record + 32..record + 34].copy_from_slice(&40u16.to_le_bytes());
        let error = archive_of(&data).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        assert!(error.to_string().contains("comment runs past"), "{error}");
    }

    #[test]
    fn modes_come_from_the_high_half_of_the_external_attributes() {
        let mut entry = CentralEntry {
            index: 0,
            name: b"bin/tool".to_vec(),
            made_by: u16::from(HOST_UNIX) << 8,
            flags: 0,
            method: STORED,
            crc32: 0,
            compressed_size: 0,
            uncompressed_size: 0,
            local_header_offset: 0,
            external_attributes: 0o100_755 << 16,
            zip64_extra: false,
        };
        assert_eq!(entry.unix_mode(), Some(0o100_755));
        assert!(!entry.is_dir() && !entry.is_symlink());
        entry.external_attributes = 0o120_777 << 16;
        assert!(entry.is_symlink());
        entry.external_attributes = 0x10;
        assert_eq!(entry.unix_mode(), None);
    }
}
