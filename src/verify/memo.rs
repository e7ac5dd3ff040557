//! What the binaries of a zip turned out to be, remembered for the next check of the same bytes.
//!
//! Checking a zip `lamina build` wrote reads every entry's header but the data only of the
//! entries it must look inside; most of that data is binaries, each inflated whole to read
//! the glibc its symbols need (numpy's libraries are most of a warm Python rebuild's time).
//! What a binary is follows from the zip's bytes alone, so after a check the outcome of each
//! binary candidate is remembered, sealed with the zip's SHA-256 (which its writer computed
//! from the bytes it wrote), lamina's version, the stamp of the running executable and the
//! cap on a binary held in memory. A later check of a zip with that SHA-256 (a rebuild left
//! it in place, or wrote it again byte for byte) takes each remembered outcome instead of
//! inflating the entry. The memo is one file per output path, beside the zip's memo of
//! stamps, and evicted like it. `lamina check` never reads one: it inflates every entry.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::lambda::binary::Format;

const MAGIC: &[u8; 8] = b"LAMINAVN";
/// The body's layout; a change to it, or to what an outcome holds, changes this.
const FORMAT: u32 = 1;

/// What one binary candidate (an entry named like a library, or with an execute bit) is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Not a binary: a script with the execute bit, a text named `.so`.
    Other,
    /// A binary; `complete` when the whole of it was read (not only its header).
    Native { format: Format, complete: bool },
}

/// The outcomes of one zip's candidates, by entry index and name: read before the zip is
/// checked, noted while it is, saved after.
#[derive(Debug, Default)]
pub struct Natives {
    /// `None`: nothing is remembered (no cache, or a zip nobody vouches for).
    file: Option<PathBuf>,
    context: [u8; 32],
    known: HashMap<u64, (String, Outcome)>,
    /// The body read, to leave the file as it is when it would be written again.
    previous: Option<Vec<u8>>,
    seen: Vec<(u64, String, Outcome)>,
}

impl Natives {
    /// The memo in `file` for the zip whose SHA-256 is `sha256` (hex), checked with binaries
    /// held whole up to `native_cap` bytes.
    pub fn open(file: &Path, sha256: &str, native_cap: u64) -> Natives {
        let mut hasher = Sha256::new();
        hasher.update(FORMAT.to_le_bytes());
        hasher.update(env!("CARGO_PKG_VERSION").as_bytes());
        hasher.update([0]);
        hasher.update(crate::scan::memo::executable_stamp());
        hasher.update(sha256.as_bytes());
        hasher.update([0]);
        hasher.update(native_cap.to_le_bytes());
        let context: [u8; 32] = hasher.finalize().into();
        let previous = crate::package::stamps::read_sealed(file, MAGIC, &context);
        let known = previous
            .as_deref()
            .and_then(decode)
            .map(|outcomes| {
                outcomes
                    .into_iter()
                    .map(|(index, path, outcome)| (index, (path, outcome)))
                    .collect()
            })
            .unwrap_or_default();
        Natives {
            file: Some(file.to_path_buf()),
            context,
            known,
            previous,
            seen: Vec::new(),
        }
    }

    /// The remembered outcome of entry `index`, if it is the one named `path`.
    pub fn recall(&self, index: u64, path: &str) -> Option<&Outcome> {
        self.known
            .get(&index)
            .filter(|(known, _)| known == path)
            .map(|(_, outcome)| outcome)
    }

    /// What entry `index` (named `path`) turned out to be, read or recalled in this check.
    pub fn note(&mut self, index: u64, path: &str, outcome: Outcome) {
        if self.file.is_some() {
            self.seen.push((index, path.to_string(), outcome));
        }
    }

    /// How many outcomes were recalled, then noted, in this check (for tests).
    #[cfg(test)]
    pub fn counts(&self) -> (usize, usize) {
        (self.known.len(), self.seen.len())
    }

    /// Saves what this check noted; an entry whose data could not be read is left out, to be
    /// read again. Failures only cost a read next time.
    pub fn save(mut self) {
        let Some(file) = self.file.take() else {
            return;
        };
        self.seen.sort_by_key(|(index, ..)| *index);
        let body = encode(&self.seen);
        let _ = crate::package::stamps::save_sealed(
            &file,
            MAGIC,
            &self.context,
            &body,
            self.previous.as_deref(),
        );
    }
}

fn encode(outcomes: &[(u64, String, Outcome)]) -> Vec<u8> {
    let mut body = Vec::new();
    for (index, path, outcome) in outcomes {
        body.extend_from_slice(&index.to_le_bytes());
        body.extend_from_slice(&(path.len() as u32).to_le_bytes());
        body.extend_from_slice(path.as_bytes());
        match outcome {
            Outcome::Other => body.push(0),
            Outcome::Native { format, complete } => {
                match format {
                    Format::Elf {
                        bits64,
                        machine,
                        glibc,
                        musl,
                    } => {
                        body.push(1);
                        body.push(u8::from(*bits64));
                        body.extend_from_slice(&machine.to_le_bytes());
                        let (major, minor) = glibc.unwrap_or_default();
                        body.push(u8::from(glibc.is_some()));
                        body.extend_from_slice(&major.to_le_bytes());
                        body.extend_from_slice(&minor.to_le_bytes());
                        body.push(u8::from(*musl));
                    }
                    Format::MachO => body.push(2),
                    Format::Pe => body.push(3),
                }
                body.push(u8::from(*complete));
            }
        }
    }
    body
}

fn decode(mut body: &[u8]) -> Option<Vec<(u64, String, Outcome)>> {
    fn take<'a>(body: &mut &'a [u8], count: usize) -> Option<&'a [u8]> {
        let (head, rest) = body.split_at_checked(count)?;
        *body = rest;
        Some(head)
    }
    fn flag(body: &mut &[u8]) -> Option<bool> {
        match take(body, 1)?[0] {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }
    fn u32_of(body: &mut &[u8]) -> Option<u32> {
        Some(u32::from_le_bytes(take(body, 4)?.try_into().ok()?))
    }
    let mut outcomes = Vec::new();
    while !body.is_empty() {
        let index = u64::from_le_bytes(take(&mut body, 8)?.try_into().ok()?);
        let length = u32_of(&mut body)? as usize;
        let path = String::from_utf8(take(&mut body, length)?.to_vec()).ok()?;
        let format = match take(&mut body, 1)?[0] {
            0 => {
                outcomes.push((index, path, Outcome::Other));
                continue;
            }
            1 => {
                let bits64 = flag(&mut body)?;
                let machine = u16::from_le_bytes(take(&mut body, 2)?.try_into().ok()?);
                let named = flag(&mut body)?;
                let version = (u32_of(&mut body)?, u32_of(&mut body)?);
                Format::Elf {
                    bits64,
                    machine,
                    glibc: named.then_some(version),
                    musl: flag(&mut body)?,
                }
            }
            2 => Format::MachO,
            3 => Format::Pe,
            _ => return None,
        };
        let complete = flag(&mut body)?;
        outcomes.push((index, path, Outcome::Native { format, complete }));
    }
    Some(outcomes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<(u64, String, Outcome)> {
        vec![
            (2, "bin/run.sh".to_string(), Outcome::Other),
            (
                5,
                "numpy/core/_multiarray_umath.cpython-312-x86_64-linux-gnu.so".to_string(),
                Outcome::Native {
                    format: Format::Elf {
                        bits64: true,
                        machine: 62,
                        glibc: Some((2, 17)),
                        musl: false,
                    },
                    complete: true,
                },
            ),
            (
                9,
                "prebuilds/linux-arm64-musl/node.napi.node".to_string(),
                Outcome::Native {
                    format: Format::Elf {
                        bits64: true,
                        machine: 183,
                        glibc: None,
                        musl: true,
                    },
                    complete: false,
                },
            ),
            (
                11,
                "prebuilds/darwin-x64/x.node".to_string(),
                Outcome::Native {
                    format: Format::MachO,
                    complete: true,
                },
            ),
            (
                12,
                "prebuilds/win32-x64/x.node".to_string(),
                Outcome::Native {
                    format: Format::Pe,
                    complete: true,
                },
            ),
        ]
    }

    /// A 64-bit ELF header for `machine` with no sections: enough to classify a binary.
    fn elf_header(machine: u16) -> Vec<u8> {
        let mut header = vec![0x7f, b'E', b'L', b'F', 2, 1, 1, 0];
        header.extend([0; 8]);
        header.extend(3u16.to_le_bytes());
        header.extend(machine.to_le_bytes());
        header.extend(1u32.to_le_bytes());
        header.extend([0; 24]);
        header.extend(0u32.to_le_bytes());
        for half in [64u16, 56, 0, 64, 0, 0] {
            header.extend(half.to_le_bytes());
        }
        header
    }

    fn archive(entries: &[(&str, &[u8], u32)]) -> Vec<u8> {
        use std::io::Write;
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (name, data, mode) in entries {
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated)
                .unix_permissions(*mode);
            writer.start_file(*name, options).unwrap();
            writer.write_all(data).unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    #[test]
    fn a_remembered_binary_is_not_read_again_but_a_full_check_reads_it() {
        use crate::verify::zipcheck::{self, ReadLimits};
        let zip = archive(&[
            ("bin/tool.sh", b"#!/bin/sh\necho hi\n", 0o755),
            ("index.js", b"exports.handler = async () => 1;\n", 0o644),
            ("lib/libx.so", &elf_header(62), 0o644),
        ]);
        let sha = hex::encode(Sha256::digest(&zip));
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("memo.natives");
        let headers_only = ReadLimits {
            all_data: false,
            ..ReadLimits::default()
        };
        let inspect = |natives: &mut Natives, limits: &ReadLimits| {
            zipcheck::inspect(&mut std::io::Cursor::new(&zip), limits, natives).unwrap()
        };
        let machines = |contents: &zipcheck::Contents| -> Vec<(String, u16)> {
            contents
                .natives
                .iter()
                .map(|native| match native.format {
                    Format::Elf { machine, .. } => (native.entry.clone(), machine),
                    _ => (native.entry.clone(), 0),
                })
                .collect()
        };
        let read = vec![("lib/libx.so".to_string(), 62)];

        let mut cold = Natives::open(&file, &sha, headers_only.native);
        assert_eq!(machines(&inspect(&mut cold, &headers_only)), read);
        assert_eq!(
            cold.counts(),
            (0, 2),
            "the script and the library are noted"
        );
        cold.save();
        let mut warm = Natives::open(&file, &sha, headers_only.native);
        assert_eq!(machines(&inspect(&mut warm, &headers_only)), read);
        assert_eq!(warm.counts(), (2, 2));

        // Say the library is for arm64: a check that takes the memo shows it did not read it.
        let mut forged = Natives::open(&file, &sha, headers_only.native);
        let (index, _) = forged
            .known
            .iter()
            .find(|(_, (path, _))| path == "lib/libx.so")
            .map(|(index, known)| (*index, known.clone()))
            .unwrap();
        let arm64 = Format::Elf {
            bits64: true,
            machine: 183,
            glibc: None,
            musl: false,
        };
        forged.note(
            index,
            "lib/libx.so",
            Outcome::Native {
                format: arm64,
                complete: true,
            },
        );
        forged.save();
        let mut taken = Natives::open(&file, &sha, headers_only.native);
        assert_eq!(
            machines(&inspect(&mut taken, &headers_only)),
            vec![("lib/libx.so".to_string(), 183)]
        );
        // `lamina check` (every entry inflated) and another zip's memo read the bytes.
        let mut full = Natives::open(&file, &sha, headers_only.native);
        assert_eq!(machines(&inspect(&mut full, &ReadLimits::default())), read);
        let mut other = Natives::open(&file, &"00".repeat(32), headers_only.native);
        assert_eq!(machines(&inspect(&mut other, &headers_only)), read);
    }

    #[test]
    fn outcomes_come_back_as_they_were_written_and_damage_is_refused() {
        let outcomes = sample();
        let body = encode(&outcomes);
        assert_eq!(decode(&body), Some(outcomes.clone()));
        assert_eq!(decode(&[]), Some(Vec::new()));
        // A cut body decodes only where a record ends, to the records before it.
        for cut in 1..body.len() {
            if let Some(decoded) = decode(&body[..cut]) {
                assert_eq!(decoded[..], outcomes[..decoded.len()], "cut at {cut}");
                assert!(!decoded.is_empty(), "cut at {cut}");
            }
        }
        let mut bad = body.clone();
        // The first record's tag (after its index, length and 10-byte name).
        bad[8 + 4 + 10] = 7;
        assert_eq!(decode(&bad), None);
    }

    #[test]
    fn a_memo_serves_only_the_zip_it_was_sealed_with() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("memo.natives");
        let sha = "ab".repeat(32);
        let mut natives = Natives::open(&file, &sha, 128 << 20);
        assert_eq!(natives.recall(2, "bin/run.sh"), None);
        for (index, path, outcome) in sample() {
            natives.note(index, &path, outcome);
        }
        natives.save();
        let again = Natives::open(&file, &sha, 128 << 20);
        assert_eq!(again.recall(2, "bin/run.sh"), Some(&Outcome::Other));
        assert_eq!(again.recall(2, "bin/other.sh"), None, "another name");
        assert_eq!(again.recall(3, "bin/run.sh"), None, "another entry");
        assert_eq!(again.counts(), (5, 0));
        let other = Natives::open(&file, &"cd".repeat(32), 128 << 20);
        assert_eq!(other.recall(2, "bin/run.sh"), None, "another zip");
        let capped = Natives::open(&file, &sha, 1 << 20);
        assert_eq!(capped.recall(2, "bin/run.sh"), None, "another cap");
        // A damaged memo is no memo.
        let mut bytes = crate::fs::read(&file).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        crate::fs::write(&file, &bytes).unwrap();
        assert_eq!(Natives::open(&file, &sha, 128 << 20).counts(), (0, 0));
    }
}
