//! Reads one zip through `archive` and checks what does not depend on the runtime: paths,
//! permissions, links and the format itself (methods, encryption, CRCs, sizes, local headers,
//! overlapping entries, zip64). It also collects what the runtime checks need: the binaries, the
//! wheel tags and the entry list. Nothing is extracted; entry data streams through fixed buffers
//! and the total read is capped.

use std::collections::hash_map::{self, RandomState};
use std::collections::{BTreeSet, HashMap};
use std::hash::BuildHasher;
use std::io::{self, Read, Seek};

use crate::model::Finding;
use crate::verify::archive::{self, Archive, CentralEntry, DEFLATED, STORED};
use crate::verify::findings::*;
use crate::verify::memo::{self, Natives};
use crate::verify::native::{self, Native};
use crate::verify::paths::{self, Clash, Named, Outcome, Resolver, Tree};

/// Entry data read from one archive at most: a little more than Lambda's unzipped limit, so
/// any artifact Lambda would take is read whole while a zip bomb stops here.
pub const READ_CAP: u64 = 512 << 20;

/// A binary is held in memory whole to read its sections; larger ones only have their header
/// read.
pub const NATIVE_CAP: u64 = 128 << 20;

/// A `WHEEL` file is a few lines; anything longer is not one.
const WHEEL_CAP: usize = 64 << 10;

/// `WHEEL` files held from one archive, in bytes: a few hundred bytes for each distribution.
const WHEELS_CAP: u64 = 4 << 20;

/// The longest link target Linux creates: `PATH_MAX` (4096) bytes with the terminating NUL.
pub const LINK_TARGET_MAX: u64 = 4095;

/// Link targets held from one archive, in bytes (a pnpm tree's links take a few hundred KiB).
const LINK_TARGETS_CAP: u64 = 16 << 20;

/// Distinct paths (files, links, folders, implied folders) tracked to resolve links: a layer of
/// 250 MiB of small files creates a hundred thousand or so. At this cap the tree's hash table
/// (2^19 slots of 32 bytes) and node arrays take about 30 MiB.
pub const PATHS_CAP: usize = 400_000;

/// How much of an archive's data to read.
#[derive(Debug, Clone, Copy)]
pub struct ReadLimits {
    /// Uncompressed bytes of entry data, over all entries.
    pub total: u64,
    /// Bytes of one binary held in memory.
    pub native: u64,
    /// Read every entry's data (CRC and size checks), not only what must be looked inside.
    pub all_data: bool,
}

impl Default for ReadLimits {
    fn default() -> Self {
        ReadLimits {
            total: READ_CAP,
            native: NATIVE_CAP,
            all_data: true,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Link,
}

/// One entry, as the runtime checks need it.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The name, with invalid UTF-8 replaced; directories without their trailing slash.
    pub path: String,
    pub kind: Kind,
    pub mode: Option<u32>,
    pub bytes: u64,
}

/// What reading one archive found.
#[derive(Debug, Clone, Default)]
pub struct Contents {
    pub zipped_bytes: u64,
    /// Sum of the uncompressed sizes of every entry but directories, from the central directory.
    pub unzipped_bytes: u64,
    pub entries: Vec<Entry>,
    pub natives: Vec<Native>,
    /// `(entry, text)` of each `*.dist-info/WHEEL`.
    pub wheels: Vec<(String, String)>,
    /// The root `package.json`, when it is at most 64 KiB: its `engines.node` names the runtime.
    pub root_manifest: Option<String>,
    /// Files under the root `bin/` that are programs (ELF, or a `#!` script) without the
    /// execute bit: in a layer they are on the function's PATH (`/opt/bin`) but cannot run.
    pub programs_not_executable: Vec<String>,
    /// At most `LISTED_PER_KIND` of each kind.
    pub findings: Vec<Finding>,
    /// Findings counted but not listed, by id.
    pub unlisted: Unlisted,
}

impl Contents {
    /// The paths of files and links (what can be loaded), for lookups.
    pub fn loadable(&self) -> BTreeSet<&str> {
        self.entries
            .iter()
            .filter(|entry| entry.kind != Kind::Dir)
            .map(|entry| entry.path.as_str())
            .collect()
    }
}

fn mode_text(mode: u32) -> String {
    format!("{:04o}", mode & 0o7777)
}

/// Reads and checks one archive.
/// Reads and checks one archive. Without `limits.all_data`, a binary candidate whose outcome
/// `memo` remembers for these bytes is not read again; every outcome read is noted in it.
pub fn inspect<R: Read + Seek>(
    reader: &mut R,
    limits: &ReadLimits,
    memo: &mut Natives,
) -> io::Result<Contents> {
    let archive = Archive::read(reader)?;
    let mut contents = Contents {
        zipped_bytes: archive.len,
        ..Contents::default()
    };
    let mut findings = Collector::default();
    check_names(&archive, &mut findings);
    check_permissions(&archive, &mut findings);
    check_format(&archive, &mut findings);
    let readable = check_layout(reader, &archive, &mut findings)?;

    // `(entry index, target)` of every link whose target was read.
    let mut link_targets: Vec<(usize, Vec<u8>)> = Vec::new();
    let mut link_bytes = 0u64;
    let mut links_unread = 0usize;
    let mut wheel_bytes = 0u64;
    let mut wheels_unread = 0usize;
    let mut budget = limits.total;
    let mut unread = 0usize;
    for (entry, data_offset) in readable {
        let symlink = entry.is_symlink();
        if symlink && entry.uncompressed_size > LINK_TARGET_MAX {
            // `link/target-too-long`, from the central directory: its data is never read.
            continue;
        }
        if budget == 0 {
            unread += 1;
            continue;
        }
        let path = entry.name_lossy();
        // A link's mode has every execute bit: it is never taken for a binary.
        let candidate = !symlink && native::is_candidate(&path, entry.unix_mode());
        let wheel = !symlink && path.ends_with(".dist-info/WHEEL");
        // A file in the root bin/ without the execute bit: is it a program?
        let manifest = !symlink && path == "package.json" && entry.uncompressed_size <= 64 << 10;
        let program = !symlink
            && !candidate
            && !entry.is_dir()
            && path.starts_with("bin/")
            && entry.unix_mode().is_some_and(|mode| mode & 0o111 == 0);
        // Small texts are held whole, so their number is capped by their bytes in all.
        let hold = |held: &mut u64, cap: u64, skipped: &mut usize| {
            let wanted = entry.uncompressed_size.saturating_add(1);
            if held.saturating_add(wanted) > cap {
                *skipped += 1;
                false
            } else {
                *held += wanted;
                true
            }
        };
        // A WHEEL over its own cap is read (for its CRC) but not held: it is no WHEEL file.
        let wheel = wheel
            && (entry.uncompressed_size > WHEEL_CAP as u64
                || hold(&mut wheel_bytes, WHEELS_CAP, &mut wheels_unread));
        let link = symlink && hold(&mut link_bytes, LINK_TARGETS_CAP, &mut links_unread);
        if !(limits.all_data || candidate || wheel || link || program || manifest) {
            continue;
        }
        // A binary remembered for these bytes counts against the budget as if read.
        let binary_only = candidate && !(wheel || manifest);
        if binary_only
            && !limits.all_data
            && budget > entry.uncompressed_size
            && let Some(outcome) = memo.recall(entry.index as u64, &path).cloned()
        {
            budget -= entry.uncompressed_size;
            if let memo::Outcome::Native { format, complete } = &outcome {
                if !complete {
                    findings.push(capped_binary(&path, entry.uncompressed_size, limits));
                }
                contents.natives.push(Native {
                    entry: path.clone(),
                    format: format.clone(),
                    complete: *complete,
                });
            }
            memo.note(entry.index as u64, &path, outcome);
            continue;
        }
        let keep_limit = if program {
            4
        } else if manifest {
            64 << 10
        } else if candidate {
            limits.native as usize
        } else if wheel {
            WHEEL_CAP
        } else if link {
            LINK_TARGET_MAX as usize + 1
        } else {
            0
        };
        let mut kept = Vec::new();
        let mut overflow = false;
        // An executable that turns out to be a script is not worth holding in memory.
        let sniff = candidate;
        let mut holding = keep_limit > 0;
        let read = archive::read_data(reader, entry, data_offset, &mut budget, &mut |chunk| {
            if !holding {
                return;
            }
            let room = keep_limit.saturating_sub(kept.len());
            kept.extend_from_slice(&chunk[..room.min(chunk.len())]);
            overflow |= chunk.len() > room;
            if sniff && kept.len() >= 8 && !native::looks_native(&kept) {
                holding = false;
                kept = Vec::new();
            }
        })?;
        let at = Some(path.as_str());
        if let Some(error) = read.corrupt {
            findings.push(ZIP_CORRUPT_DATA.at(
                at,
                format!(
                    "the {} data cannot be decompressed: {}",
                    archive::method_name(entry.method),
                    excerpt(&error)
                ),
            ));
            continue;
        }
        if read.capped {
            unread += 1;
            continue;
        }
        if read.bytes != entry.uncompressed_size {
            let held = if read.bytes > entry.uncompressed_size {
                "more than that".to_string()
            } else {
                format!("{} bytes", read.bytes)
            };
            findings.push(ZIP_SIZE_MISMATCH.at(
                at,
                format!(
                    "declares {} uncompressed bytes but its data holds {held}",
                    entry.uncompressed_size
                ),
            ));
            continue;
        }
        if read.crc32 != entry.crc32 {
            findings.push(ZIP_CRC_MISMATCH.at(
                at,
                format!(
                    "the data's CRC-32 is {:08x}, the zip says {:08x}",
                    read.crc32, entry.crc32
                ),
            ));
            continue;
        }
        if program {
            if kept.starts_with(b"\x7fELF") || kept.starts_with(b"#!") {
                contents.programs_not_executable.push(path.clone());
            }
        } else if manifest {
            contents.root_manifest = Some(String::from_utf8_lossy(&kept).into_owned());
        } else if link {
            link_targets.push((entry.index, kept));
        } else if wheel && !overflow {
            contents
                .wheels
                .push((path.clone(), String::from_utf8_lossy(&kept).into_owned()));
        } else if candidate {
            let format = native::looks_native(&kept)
                .then(|| native::inspect(&kept, !overflow))
                .flatten();
            let outcome = match format {
                Some(format) => {
                    if overflow {
                        findings.push(capped_binary(&path, entry.uncompressed_size, limits));
                    }
                    contents.natives.push(Native {
                        entry: path.clone(),
                        format: format.clone(),
                        complete: !overflow,
                    });
                    memo::Outcome::Native {
                        format,
                        complete: !overflow,
                    }
                }
                None => memo::Outcome::Other,
            };
            if binary_only {
                memo.note(entry.index as u64, &path, outcome);
            }
        }
    }
    if unread > 0 {
        findings.push(CHECK_CAPPED.at(
            None,
            format!(
                "stopped after reading {} bytes of entry data (lamina's cap for one archive): the data of {unread} entries was not checked (CRCs, sizes, binaries, links)",
                limits.total
            ),
        ));
    }
    if links_unread > 0 {
        findings.push(CHECK_CAPPED.at(
            None,
            format!(
                "{links_unread} links were not read: their targets come to more than {LINK_TARGETS_CAP} bytes (lamina's cap for one archive), so where they lead was not checked"
            ),
        ));
    }
    if wheels_unread > 0 {
        findings.push(CHECK_CAPPED.at(
            None,
            format!(
                "{wheels_unread} WHEEL files were not read: they come to more than {WHEELS_CAP} bytes (lamina's cap for one archive), so their tags were not checked"
            ),
        ));
    }
    check_links(&archive, &link_targets, &mut findings);

    for entry in &archive.entries {
        let kind = if entry.is_dir() {
            Kind::Dir
        } else if entry.is_symlink() {
            Kind::Link
        } else {
            Kind::File
        };
        if kind != Kind::Dir {
            contents.unzipped_bytes = contents
                .unzipped_bytes
                .saturating_add(entry.uncompressed_size);
        }
        let path = entry.name_lossy();
        contents.entries.push(Entry {
            path: path.trim_end_matches('/').to_string(),
            kind,
            mode: entry.unix_mode(),
            bytes: entry.uncompressed_size,
        });
    }
    (contents.findings, contents.unlisted) = findings.finish();
    Ok(contents)
}

/// The finding for a binary over `limits.native` bytes, of which only the header was read.
fn capped_binary(path: &str, bytes: u64, limits: &ReadLimits) -> Finding {
    CHECK_CAPPED.at(
        Some(path),
        format!(
            "a binary of {bytes} bytes: only the first {} were read, so the glibc it needs was not checked",
            limits.native
        ),
    )
}

/// What extractors do to a name with control characters, for the message.
fn control_message(name: &[u8]) -> Option<String> {
    let at = name.iter().position(|&byte| byte < 0x20 || byte == 0x7f)?;
    Some(if name[at] == 0 {
        format!(
            "the name holds a NUL byte: extractors written in C (Info-ZIP's unzip among them) end the name there and write {}",
            quoted(&String::from_utf8_lossy(&name[..at]))
        )
    } else {
        format!(
            "the name holds the control character U+{:04X}: shells, logs and terminals show it wrongly or act on it",
            name[at]
        )
    })
}

fn check_names(archive: &Archive, findings: &mut Collector) {
    for entry in &archive.entries {
        let path = entry.name_lossy();
        let at = Some(path.as_str());
        if std::str::from_utf8(&entry.name).is_err() {
            findings.push(PATH_NOT_UTF8.at(
                at,
                if entry.flags & 0x0800 != 0 {
                    "the name is flagged UTF-8 but is not valid UTF-8"
                } else {
                    "the name is not UTF-8 (it is read as code page 437 or garbled on Linux)"
                },
            ));
        }
        if let Some(message) = control_message(&entry.name) {
            findings.push(PATH_CONTROL_CHARACTER.at(at, message));
        }
        if path.contains('\\') {
            findings.push(PATH_BACKSLASH.at(
                at,
                "the name holds a backslash: on Linux it is part of the file name, not a folder separator",
            ));
        }
        let bytes = path.as_bytes();
        if path.starts_with('/')
            || path.starts_with('\\')
            || (bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':')
        {
            findings.push(PATH_ABSOLUTE.at(at, "an absolute path"));
        }
        if path.split(['/', '\\']).any(|part| part == "..") {
            findings.push(PATH_PARENT.at(
                at,
                "a `..` component climbs out of the folder the zip is extracted into",
            ));
        }
    }

    let named: Vec<Named<'_>> = archive
        .entries
        .iter()
        .map(|entry| Named {
            name: &entry.name,
            folder: entry.is_dir(),
        })
        .collect();
    let mut colliding = vec![false; named.len()];
    for clash in paths::clashes(&named) {
        let name = |index: usize| quoted(&archive.entries[index].name_lossy());
        let (entry, message) = match clash {
            Clash::Repeated { entry, .. } => {
                (entry, "the zip holds this path more than once".to_string())
            }
            Clash::SamePath { entry, other } => {
                let path = paths::extracted(&archive.entries[entry].name);
                let reason =
                    normalisation(&archive.entries[entry].name, &archive.entries[other].name);
                let message = if path == archive.entries[other].name {
                    format!("extracted to the same path as {}: {reason}", name(other))
                } else {
                    format!(
                        "extracted to {}, as {} is: {reason}",
                        quoted(&String::from_utf8_lossy(&path)),
                        name(other)
                    )
                };
                (entry, message)
            }
            Clash::FolderAndFile { entry, other } => (
                entry,
                format!(
                    "a {} at the path of the {} {}: one of them cannot be extracted",
                    kind_name(&archive.entries[entry]),
                    kind_name(&archive.entries[other]),
                    name(other)
                ),
            ),
            Clash::UnderFile { entry, other, file } => (
                entry,
                if file == entry {
                    format!(
                        "a {} at a path that {} needs as a folder: one of them cannot be extracted",
                        kind_name(&archive.entries[entry]),
                        name(other)
                    )
                } else {
                    format!(
                        "needs a folder where the {} {} is: one of them cannot be extracted",
                        kind_name(&archive.entries[other]),
                        name(other)
                    )
                },
            ),
        };
        colliding[entry] = true;
        let path = archive.entries[entry].name_lossy();
        findings.push(PATH_DUPLICATE.at(Some(&path), message));
    }

    // Case-insensitive extractors (macOS, Windows) put these on one path. Only a hash of each
    // folded path is held, and a match is compared again, so this costs 16 bytes an entry.
    let hasher = RandomState::new();
    let folded_path = |index: usize| {
        String::from_utf8_lossy(&paths::extracted(&archive.entries[index].name)).to_lowercase()
    };
    let mut folded: HashMap<u64, usize> = HashMap::new();
    for (index, entry) in archive.entries.iter().enumerate() {
        let path = paths::extracted(&entry.name);
        if colliding[index] || path.is_empty() {
            continue;
        }
        let key = String::from_utf8_lossy(&path).to_lowercase();
        let mut hash = hasher.hash_one(&key);
        loop {
            match folded.entry(hash) {
                hash_map::Entry::Vacant(slot) => {
                    slot.insert(index);
                    break;
                }
                hash_map::Entry::Occupied(slot) => {
                    let other = *slot.get();
                    if folded_path(other) != key {
                        // Another path with the same hash: try the next slot.
                        hash = hash.wrapping_add(1);
                        continue;
                    }
                    if paths::extracted(&archive.entries[other].name) != path {
                        findings.push(PATH_CASE_COLLISION.at(
                            Some(&entry.name_lossy()),
                            format!(
                                "differs from {} only by case",
                                quoted(&archive.entries[other].name_lossy())
                            ),
                        ));
                    }
                    break;
                }
            }
        }
    }
}

fn kind_name(entry: &CentralEntry) -> &'static str {
    if entry.is_dir() {
        "folder"
    } else if entry.is_symlink() {
        "link"
    } else {
        "file"
    }
}

/// Why two different names are extracted to the same path.
fn normalisation(name: &[u8], other: &[u8]) -> &'static str {
    let either = |test: &dyn Fn(&[u8]) -> bool| test(name) || test(other);
    if either(&|name| name.contains(&0)) {
        "extractors written in C end a name at its NUL byte"
    } else if either(&|name| name.contains(&b'\\')) {
        "Windows, and Info-ZIP for zips made on Windows, read a backslash as a folder separator"
    } else {
        "extractors drop `./`, `..` and empty components"
    }
}

fn check_permissions(archive: &Archive, findings: &mut Collector) {
    for entry in &archive.entries {
        let path = entry.name_lossy();
        let at = Some(path.as_str());
        let Some(mode) = entry.unix_mode() else {
            if !entry.is_dir() {
                findings.push(PERM_NO_UNIX_MODE.at(
                    at,
                    format!(
                        "made by {} with no Unix mode: Lambda extracts it with mode 0000 and the runtime fails with EACCES",
                        archive::host_name(entry.host())
                    ),
                ));
            }
            continue;
        };
        if entry.is_symlink() {
            // A link's own mode is never checked by Linux.
            continue;
        }
        if entry.is_dir() {
            if mode & 0o005 != 0o005 {
                findings.push(PERM_UNREADABLE.at(
                    at,
                    format!(
                        "folder mode {}: the runtime's user (not the owner) cannot list or enter it",
                        mode_text(mode)
                    ),
                ));
            }
        } else if mode & 0o004 == 0 {
            findings.push(PERM_UNREADABLE.at(
                at,
                format!(
                    "mode {}: the runtime's user (not the owner) cannot read it (EACCES)",
                    mode_text(mode)
                ),
            ));
        }
        if mode & 0o002 != 0 {
            findings.push(
                PERM_WORLD_WRITABLE
                    .at(at, format!("mode {}: anyone may write it", mode_text(mode))),
            );
        }
        // Only a custom runtime's bootstrap must be executable in any zip: Lambda runs it.
        // (`/var/task/bin` is not on PATH; a layer's `bin/` is, see `programs_not_executable`.)
        if path == "bootstrap" && !entry.is_dir() && mode & 0o001 == 0 {
            findings.push(PERM_NOT_EXECUTABLE.at(
                at,
                format!(
                    "mode {}: {} must be executable by the runtime's user",
                    mode_text(mode),
                    if path == "bootstrap" {
                        "a custom runtime's bootstrap"
                    } else {
                        "a file under bin/"
                    }
                ),
            ));
        }
    }
}

fn check_format(archive: &Archive, findings: &mut Collector) {
    for entry in &archive.entries {
        let path = entry.name_lossy();
        let at = Some(path.as_str());
        if entry.encrypted() || entry.method == 99 {
            findings.push(ZIP_ENCRYPTED.at(at, "the entry is encrypted"));
        } else if entry.method != STORED && entry.method != DEFLATED {
            findings.push(ZIP_COMPRESSION_METHOD.at(
                at,
                format!(
                    "compressed with {}; Lambda extracts stored and deflate entries only",
                    archive::method_name(entry.method)
                ),
            ));
        }
    }
    if !archive.needs_zip64() {
        let with_fields: Vec<&CentralEntry> = archive
            .entries
            .iter()
            .filter(|entry| entry.zip64_extra)
            .collect();
        if archive.zip64_end || !with_fields.is_empty() {
            let first = with_fields.first().map(|entry| entry.name_lossy());
            findings.push(ZIP_NEEDLESS_ZIP64.at(
                first.as_deref(),
                format!(
                    "zip64 {}although no size, offset or count needs it",
                    match (archive.zip64_end, with_fields.len()) {
                        (true, 0) => "end records are present ".to_string(),
                        (true, count) => format!(
                            "end records are present and {count} entries carry zip64 fields "
                        ),
                        (false, count) => format!("fields are used by {count} entries "),
                    }
                ),
            ));
        }
    }
}

/// Compares each local header with its central record, and finds data that runs past the file,
/// into the central directory, or into another entry. Returns the entries whose data can be
/// read, in file order, with where their data starts.
fn check_layout<'a, R: Read + Seek>(
    reader: &mut R,
    archive: &'a Archive,
    findings: &mut Collector,
) -> io::Result<Vec<(&'a CentralEntry, u64)>> {
    let mut spans: Vec<(u64, u64, &CentralEntry, u64)> = Vec::new();
    for entry in &archive.entries {
        let path = entry.name_lossy();
        let at = Some(path.as_str());
        let Some(local) = archive::read_local_header(reader, archive, entry)? else {
            findings.push(ZIP_HEADER_MISMATCH.at(
                at,
                format!(
                    "no local header at offset {} where the central directory points",
                    entry.local_header_offset
                ),
            ));
            continue;
        };
        let mut differences = Vec::new();
        if local.name != entry.name {
            differences.push(format!(
                "name {}",
                quoted(&String::from_utf8_lossy(&local.name))
            ));
        }
        if local.method != entry.method {
            differences.push(format!("method {}", local.method));
        }
        if !entry.has_data_descriptor() && local.flags & 0x0008 == 0 {
            if local.crc32 != entry.crc32 {
                differences.push(format!("CRC-32 {:08x}", local.crc32));
            }
            if local.compressed_size != entry.compressed_size {
                differences.push(format!("compressed size {}", local.compressed_size));
            }
            if local.uncompressed_size != entry.uncompressed_size {
                differences.push(format!("uncompressed size {}", local.uncompressed_size));
            }
        }
        if !differences.is_empty() {
            findings.push(ZIP_HEADER_MISMATCH.at(
                at,
                format!(
                    "the local header disagrees with the central directory: {}",
                    differences.join(", ")
                ),
            ));
            continue;
        }
        let end = local.data_offset.saturating_add(entry.compressed_size);
        if end > archive.central_directory_offset {
            findings.push(ZIP_SIZE_MISMATCH.at(
                at,
                format!(
                    "declares {} compressed bytes from offset {}, which runs past {} into the central directory or beyond the end of the file",
                    entry.compressed_size,
                    local.data_offset,
                    archive.central_directory_offset
                ),
            ));
            continue;
        }
        if entry.method == STORED && entry.compressed_size != entry.uncompressed_size {
            findings.push(ZIP_SIZE_MISMATCH.at(
                at,
                format!(
                    "stored (not compressed), yet declares {} compressed and {} uncompressed bytes",
                    entry.compressed_size, entry.uncompressed_size
                ),
            ));
            continue;
        }
        spans.push((entry.local_header_offset, end, entry, local.data_offset));
    }

    spans.sort_by_key(|(start, end, entry, _)| (*start, *end, entry.index));
    let mut overlapping = vec![false; spans.len()];
    let mut reach: Option<(u64, usize)> = None;
    for (position, (start, end, _, _)) in spans.iter().enumerate() {
        if let Some((furthest, owner)) = reach
            && *start < furthest
        {
            overlapping[position] = true;
            overlapping[owner] = true;
        }
        if reach.is_none_or(|(furthest, _)| *end > furthest) {
            reach = Some((*end, position));
        }
    }
    let mut readable = Vec::new();
    for ((_, _, entry, data_offset), overlaps) in spans.into_iter().zip(overlapping) {
        if overlaps {
            findings.push(ZIP_OVERLAPPING_ENTRIES.at(
                Some(&entry.name_lossy()),
                "its data overlaps another entry's (entries that share compressed data are how zip bombs multiply their size)",
            ));
        } else if !entry.is_dir()
            && !entry.encrypted()
            && (entry.method == STORED || entry.method == DEFLATED)
        {
            readable.push((entry, data_offset));
        }
    }
    Ok(readable)
}

/// Resolves every link whose target was read through the archive's own links, files and
/// folders (explicit or implied by other names), as Linux would once it is extracted.
fn check_links(archive: &Archive, targets: &[(usize, Vec<u8>)], findings: &mut Collector) {
    let too_long: Vec<&CentralEntry> = archive
        .entries
        .iter()
        .filter(|entry| entry.is_symlink() && entry.uncompressed_size > LINK_TARGET_MAX)
        .collect();
    for entry in &too_long {
        findings.push(LINK_TARGET_TOO_LONG.at(
            Some(&entry.name_lossy()),
            format!(
                "a link whose target is {} bytes long: Linux takes at most {LINK_TARGET_MAX}, so the link cannot be created",
                entry.uncompressed_size
            ),
        ));
    }
    if targets.is_empty() {
        return;
    }
    let Some((mut tree, nodes)) = Tree::build(
        archive.entries.iter().map(|entry| entry.name.as_slice()),
        PATHS_CAP,
    ) else {
        findings.push(CHECK_CAPPED.at(
            None,
            format!(
                "the names create more than {PATHS_CAP} files and folders (lamina's cap for one archive), so where the zip's links lead ({} of them) was not checked",
                targets.len()
            ),
        ));
        return;
    };
    let owners: Vec<u32> = targets.iter().map(|(index, _)| nodes[*index]).collect();
    for (position, &node) in owners.iter().enumerate() {
        tree.mark_link(node, position as u32);
    }
    for entry in too_long {
        tree.mark_broken(nodes[entry.index]);
    }
    let target_bytes: Vec<&[u8]> = targets
        .iter()
        .map(|(_, target)| target.as_slice())
        .collect();
    let mut resolver = Resolver::new(&tree, &target_bytes, &owners);
    for ((index, target), &node) in targets.iter().zip(&owners) {
        let link = archive.entries[*index].name_lossy();
        let at = Some(link.as_str());
        let shown = quoted(&String::from_utf8_lossy(target));
        match resolver.resolve(node, target) {
            Outcome::Exists => {}
            Outcome::Escapes => findings.push(
                LINK_ESCAPES.at(at, format!("a link to {shown}, which leaves the artifact")),
            ),
            Outcome::Missing => findings.push(LINK_DANGLING.at(
                at,
                format!("a link to {shown}, which is not in the artifact"),
            )),
            Outcome::Loop => findings.push(LINK_DANGLING.at(
                at,
                format!(
                    "a link to {shown}, which goes through more than {} links or a loop of links (Linux fails with ELOOP)",
                    paths::MAX_HOPS
                ),
            )),
        }
    }
}
