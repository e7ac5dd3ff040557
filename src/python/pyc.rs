//! Python bytecode: which Python wrote a pyc, and the PEP 552 rewrite that keeps a pyc valid in
//! a zip whose entries carry no timestamps.
//!
//! pip writes timestamp-based pycs (the source's mtime and size in the header). A deterministic
//! zip resets every mtime, so on Lambda each such pyc looks stale, and the read-only
//! `/var/task` means Python recompiles the module on every cold start. An *unchecked-hash* pyc
//! (flags = 1) is used as it is, whatever the source's mtime; its header carries the hash
//! CPython's `_imp.source_hash` computes, so `compileall --invalidation-mode checked-hash`
//! could still verify it.

use std::collections::HashMap;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::model::{Inventory, Plan, Runtime};
use crate::package::zip::Entry;

/// `importlib.util.MAGIC_NUMBER` of each Lambda Python, as the little-endian number before
/// `\r\n`. Pycs of any other number belong to another Python.
const MAGIC_NUMBERS: [((u32, u32), u16); 5] = [
    ((3, 9), 3425),
    ((3, 10), 3439),
    ((3, 11), 3495),
    ((3, 12), 3531),
    ((3, 13), 3571),
];

/// The PEP 552 flags of an unchecked hash-based pyc: hash-based, never checked.
pub const UNCHECKED_HASH: u32 = 1;

/// Bytes before the marshalled code object: magic, flags, then mtime + size or the hash.
pub const HEADER_BYTES: usize = 16;

/// The four magic bytes of a Python version, if lamina knows it.
pub fn magic(version: (u32, u32)) -> Option<[u8; 4]> {
    MAGIC_NUMBERS
        .iter()
        .find(|(known, _)| *known == version)
        .map(|(_, number)| {
            let [low, high] = number.to_le_bytes();
            [low, high, b'\r', b'\n']
        })
}

/// The magic bytes of a Python runtime's interpreter.
pub fn runtime_magic(runtime: Runtime) -> Option<[u8; 4]> {
    runtime.python_version().and_then(magic)
}

/// The Python version that writes pycs with these magic bytes, if it is a Lambda one.
pub fn version_of_magic(bytes: [u8; 4]) -> Option<(u32, u32)> {
    MAGIC_NUMBERS
        .iter()
        .map(|(version, _)| *version)
        .find(|version| magic(*version) == Some(bytes))
}

/// The fields of a pyc header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub magic: [u8; 4],
    pub flags: u32,
    /// Timestamp-based pycs: the source's mtime (seconds, truncated to 32 bits) and size.
    pub source_mtime: u32,
    pub source_size: u32,
    /// Hash-based pycs: the source hash.
    pub source_hash: [u8; 8],
}

/// Reads a pyc header; `None` when the bytes are too short or not a pyc of Python ≥ 3.7.
pub fn parse_header(bytes: &[u8]) -> Option<Header> {
    if bytes.len() < HEADER_BYTES || bytes[2..4] != *b"\r\n" {
        return None;
    }
    let word = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    Some(Header {
        magic: bytes[..4].try_into().expect("4 bytes"),
        flags: word(4),
        source_mtime: word(8),
        source_size: word(12),
        source_hash: bytes[8..16].try_into().expect("8 bytes"),
    })
}

/// CPython's `_imp.source_hash(key, source)`: a keyed SipHash of the source bytes with the
/// magic number (all four bytes, little-endian) as the first key word. Python 3.11 switched
/// `_Py_KeyedHash` from SipHash-2-4 to SipHash-1-3.
pub fn source_hash(magic: [u8; 4], source: &[u8]) -> [u8; 8] {
    let key = u64::from(u32::from_le_bytes(magic));
    let (compression, finalization) = match version_of_magic(magic) {
        Some(version) if version < (3, 11) => (2, 4),
        _ => (1, 3),
    };
    siphash(compression, finalization, key, 0, source).to_le_bytes()
}

/// The 16-byte header of the unchecked-hash pyc for `source` under `magic`.
pub fn unchecked_header(magic: [u8; 4], source: &[u8]) -> [u8; HEADER_BYTES] {
    header_with(magic, source_hash(magic, source))
}

/// The 16-byte unchecked-hash header for a source whose hash is `hash`.
fn header_with(magic: [u8; 4], hash: [u8; 8]) -> [u8; HEADER_BYTES] {
    let mut header = [0; HEADER_BYTES];
    header[..4].copy_from_slice(&magic);
    header[4..8].copy_from_slice(&UNCHECKED_HASH.to_le_bytes());
    header[8..].copy_from_slice(&hash);
    header
}

/// Gives the entry of every pyc the plan rewrites its unchecked-hash header: the zip writer
/// puts it in place of the file's first 16 bytes as it reads the file, so the bytes that ship
/// (and that the cache keys) are the rewritten ones, and nothing is written to disk. The code
/// object after the header is kept byte for byte, so the file keeps its size. The source's
/// hash is the one scan read (remembered by the source's stamp); the writer remembers the
/// entry's digest by the pyc's stamp and the header together.
pub fn stage(inventory: &Inventory, plan: &Plan, entries: &mut [Entry]) -> Result<()> {
    let Some(python) = inventory.python() else {
        return Ok(());
    };
    let headers: Vec<Result<(&str, [u8; HEADER_BYTES])>> = plan
        .rewrite_pycs()
        .par_iter()
        .filter_map(|&index| {
            let facts = python.files.get(&index)?.pyc?;
            let source = &inventory.files[facts.source?];
            let file = &inventory.files[index];
            let header = match facts.source_hash {
                Some(hash) => Ok(header_with(facts.magic, hash)),
                None => crate::input::read(&source.source, Some(source.bytes))
                    .map(|bytes| unchecked_header(facts.magic, &bytes)),
            };
            Some(header.map(|header| (file.path.as_str(), header)))
        })
        .collect();
    let mut by_path: HashMap<&str, [u8; HEADER_BYTES]> = HashMap::with_capacity(headers.len());
    for result in headers {
        let (path, header) = result?;
        by_path.insert(path, header);
    }
    for entry in entries.iter_mut() {
        if let Some(header) = by_path.remove(entry.path.as_str()) {
            if entry.bytes < HEADER_BYTES as u64 {
                return Err(Error::input(
                    &entry.source,
                    "not a Python 3.7+ pyc (its header is too short)",
                ));
            }
            // The stamp stays the pyc's: the writer's memo keys its digest by the header too.
            entry.header = Some(header);
        }
    }
    Ok(())
}

/// SipHash with `c` compression and `d` finalization rounds (SipHash-c-d), keys `k0`, `k1`.
fn siphash(c: usize, d: usize, k0: u64, k1: u64, data: &[u8]) -> u64 {
    let mut v = [
        k0 ^ 0x736f_6d65_7073_6575,
        k1 ^ 0x646f_7261_6e64_6f6d,
        k0 ^ 0x6c79_6765_6e65_7261,
        k1 ^ 0x7465_6462_7974_6573,
    ];
    fn round(v: &mut [u64; 4]) {
        v[0] = v[0].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(13) ^ v[0];
        v[0] = v[0].rotate_left(32);
        v[2] = v[2].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(16) ^ v[2];
        v[0] = v[0].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(21) ^ v[0];
        v[2] = v[2].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(17) ^ v[2];
        v[2] = v[2].rotate_left(32);
    }
    let compress = |v: &mut [u64; 4], word: u64| {
        v[3] ^= word;
        for _ in 0..c {
            round(v);
        }
        v[0] ^= word;
    };
    let mut chunks = data.chunks_exact(8);
    for chunk in &mut chunks {
        compress(
            &mut v,
            u64::from_le_bytes(chunk.try_into().expect("8 bytes")),
        );
    }
    // The last word holds the remaining bytes and the length's low byte in its top byte.
    let mut last = [0u8; 8];
    let rest = chunks.remainder();
    last[..rest.len()].copy_from_slice(rest);
    last[7] = data.len() as u8;
    compress(&mut v, u64::from_le_bytes(last));
    v[2] ^= 0xff;
    for _ in 0..d {
        round(&mut v);
    }
    v[0] ^ v[1] ^ v[2] ^ v[3]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_numbers_map_both_ways() {
        assert_eq!(magic((3, 11)), Some([0xa7, 0x0d, b'\r', b'\n']));
        assert_eq!(version_of_magic(*b"\xcb\x0d\r\n"), Some((3, 12)));
        assert_eq!(version_of_magic(*b"\x00\x00\r\n"), None);
        assert_eq!(runtime_magic(Runtime::Nodejs22), None);
    }

    #[test]
    fn source_hashes_match_cpython() {
        // `importlib.util.source_hash(b"hello")` and `(b"")` from CPython 3.9 to 3.13.
        let expected = [
            ((3, 9), "b70feb3c359861fa", "ac0bb7c83e5b1c5f"),
            ((3, 10), "3c80f1191ea979cb", "8cc0cd2525e7fd27"),
            ((3, 11), "7c360be58bb7a2aa", "738d9cd5d5e87f73"),
            ((3, 12), "9bca4702dbaedbed", "baf18eedc9387a25"),
            ((3, 13), "aa4d9968b297cf0d", "27ec6d312f93b814"),
        ];
        for (version, hello, empty) in expected {
            let magic = magic(version).unwrap();
            assert_eq!(
                hex::encode(source_hash(magic, b"hello")),
                hello,
                "{version:?}"
            );
            assert_eq!(hex::encode(source_hash(magic, b"")), empty, "{version:?}");
        }
    }

    #[test]
    fn siphash_matches_the_reference_vector() {
        // The SipHash paper's test vector: key 00..0f, message 00..0e, SipHash-2-4.
        let k0 = u64::from_le_bytes([0, 1, 2, 3, 4, 5, 6, 7]);
        let k1 = u64::from_le_bytes([8, 9, 10, 11, 12, 13, 14, 15]);
        let message: Vec<u8> = (0..15).collect();
        assert_eq!(siphash(2, 4, k0, k1, &message), 0xa129_ca61_49be_45e5);
    }

    #[test]
    fn headers_parse_and_rewrite() {
        let mut pyc = magic((3, 11)).unwrap().to_vec();
        pyc.extend(0u32.to_le_bytes());
        pyc.extend(1_700_000_000u32.to_le_bytes());
        pyc.extend(42u32.to_le_bytes());
        pyc.extend(b"code");
        let header = parse_header(&pyc).unwrap();
        assert_eq!(
            (header.flags, header.source_mtime, header.source_size),
            (0, 1_700_000_000, 42)
        );
        let rewritten = unchecked_header(header.magic, b"hello");
        let parsed = parse_header(&rewritten).unwrap();
        assert_eq!(parsed.flags, UNCHECKED_HASH);
        assert_eq!(hex::encode(parsed.source_hash), "7c360be58bb7a2aa");
        assert_eq!(parse_header(b"short"), None);
    }
}
