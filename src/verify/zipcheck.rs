//! Reads one zip through `archive` and checks what does not depend on the runtime: paths,
//! permissions, links and the format itself (methods, encryption, CRCs, sizes, local headers,
//! overlapping entries, zip64). It also collects what the runtime checks need: the binaries, the
//! wheel tags and the entry list. Nothing is extracted; entry data streams through fixed buffers
//! and the total read is capped.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::io::{self, Read, Seek};

use crate::model::Finding;
use crate::verify::archive::{self, Archive, CentralEntry, DEFLATED, STORED};
use crate::verify::findings::*;
use crate::verify::native::{self, Native};

/// Entry data read from one archive at most: a little more than Lambda's unzipped limit, so
/// any artifact Lambda would take is read whole while a zip bomb stops here.
pub const READ_CAP: u64 = 512 << 20;

/// A binary is held in memory whole to read its sections; larger ones only have their header
/// read.
pub const NATIVE_CAP: u64 = 128 << 20;

/// A `WHEEL` file is a few lines; anything longer is not one.
const WHEEL_CAP: usize = 64 << 10;

/// Link targets are paths; Linux's own limit is 4096 bytes.
const LINK_CAP: usize = 4096;

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
    pub findings: Vec<Finding>,
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
pub fn inspect<R: Read + Seek>(reader: &mut R, limits: &ReadLimits) -> io::Result<Contents> {
    let archive = Archive::read(reader)?;
    let mut contents = Contents {
        zipped_bytes: archive.len,
        ..Contents::default()
    };
    check_names(&archive, &mut contents.findings);
    check_permissions(&archive, &mut contents.findings);
    check_format(&archive, &mut contents.findings);
    let readable = check_layout(reader, &archive, &mut contents.findings)?;

    let mut link_targets: BTreeMap<String, String> = BTreeMap::new();
    let mut budget = limits.total;
    let mut unread = 0usize;
    for (entry, data_offset) in readable {
        let path = entry.name_lossy();
        if budget == 0 {
            unread += 1;
            continue;
        }
        let candidate = native::is_candidate(&path, entry.unix_mode());
        let wheel = path.ends_with(".dist-info/WHEEL");
        let symlink = entry.is_symlink();
        if !(limits.all_data || candidate || wheel || symlink) {
            continue;
        }
        let mut kept = Vec::new();
        let mut overflow = false;
        let keep_limit = if candidate {
            limits.native as usize
        } else if wheel {
            WHEEL_CAP
        } else if symlink {
            LINK_CAP
        } else {
            0
        };
        // An executable that turns out to be a script is not worth holding in memory.
        let sniff = candidate && !symlink;
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
            contents.findings.push(ZIP_CORRUPT_DATA.at(
                at,
                format!(
                    "the {} data cannot be decompressed: {error}",
                    archive::method_name(entry.method)
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
            contents.findings.push(ZIP_SIZE_MISMATCH.at(
                at,
                format!(
                    "declares {} uncompressed bytes but its data holds {held}",
                    entry.uncompressed_size
                ),
            ));
            continue;
        }
        if read.crc32 != entry.crc32 {
            contents.findings.push(ZIP_CRC_MISMATCH.at(
                at,
                format!(
                    "the data's CRC-32 is {:08x}, the zip says {:08x}",
                    read.crc32, entry.crc32
                ),
            ));
            continue;
        }
        if symlink {
            link_targets.insert(path.clone(), String::from_utf8_lossy(&kept).into_owned());
        } else if wheel && !overflow {
            contents
                .wheels
                .push((path.clone(), String::from_utf8_lossy(&kept).into_owned()));
        } else if candidate
            && native::looks_native(&kept)
            && let Some(format) = native::inspect(&kept, !overflow)
        {
            if overflow {
                contents.findings.push(CHECK_CAPPED.at(
                    at,
                    format!(
                        "a binary of {} bytes: only the first {} were read, so the glibc it needs was not checked",
                        entry.uncompressed_size, limits.native
                    ),
                ));
            }
            contents.natives.push(Native {
                entry: path.clone(),
                format,
                complete: !overflow,
            });
        }
    }
    if unread > 0 {
        contents.findings.push(CHECK_CAPPED.at(
            None,
            format!(
                "stopped after reading {} bytes of entry data (lamina's cap for one archive): the data of {unread} entries was not checked (CRCs, sizes, binaries, links)",
                limits.total
            ),
        ));
    }
    check_links(&archive, &link_targets, &mut contents.findings);

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
    Ok(contents)
}

fn check_names(archive: &Archive, findings: &mut Vec<Finding>) {
    let mut seen: HashMap<&[u8], usize> = HashMap::new();
    let mut folded: HashMap<String, String> = HashMap::new();
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
        let count = seen.entry(&entry.name).or_insert(0);
        *count += 1;
        if *count == 2 {
            findings.push(PATH_DUPLICATE.at(at, "the zip holds this path more than once"));
        }
        if *count == 1 {
            let key = path.to_lowercase();
            match folded.get(&key) {
                Some(other) if *other != path => findings.push(
                    PATH_CASE_COLLISION.at(at, format!("differs from {other:?} only by case")),
                ),
                Some(_) => {}
                None => {
                    folded.insert(key, path.clone());
                }
            }
        }
    }
}

fn check_permissions(archive: &Archive, findings: &mut Vec<Finding>) {
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
        let executable_by_role = path == "bootstrap" || path.starts_with("bin/");
        if executable_by_role && !entry.is_dir() && mode & 0o001 == 0 {
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

fn check_format(archive: &Archive, findings: &mut Vec<Finding>) {
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
    findings: &mut Vec<Finding>,
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
            differences.push(format!("name {:?}", String::from_utf8_lossy(&local.name)));
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

/// Where a link's target leads inside the archive.
#[derive(Debug, PartialEq, Eq)]
enum Resolved {
    Exists,
    Missing,
    Escapes,
}

/// Resolves a link the way the kernel would once extracted: component by component, following
/// links met on the way, never leaving the archive root.
fn resolve(link: &str, links: &BTreeMap<String, String>, present: &BTreeSet<String>) -> Resolved {
    // Following more links than the kernel does (40) means a loop.
    const MAX_HOPS: usize = 40;
    let mut parts: Vec<String> = link.split('/').map(str::to_string).collect();
    parts.pop();
    let target = &links[link];
    if target.starts_with('/') {
        return Resolved::Escapes;
    }
    let mut pending: VecDeque<String> = target.split('/').map(str::to_string).collect();
    let mut hops = 0;
    while let Some(part) = pending.pop_front() {
        match part.as_str() {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Resolved::Escapes;
                }
            }
            _ => {
                parts.push(part);
                let here = parts.join("/");
                if let Some(inner) = links.get(&here) {
                    hops += 1;
                    if hops > MAX_HOPS {
                        return Resolved::Missing;
                    }
                    if inner.starts_with('/') {
                        return Resolved::Escapes;
                    }
                    parts.pop();
                    for piece in inner.split('/').rev() {
                        pending.push_front(piece.to_string());
                    }
                }
            }
        }
    }
    let here = parts.join("/");
    if here.is_empty() || present.contains(&here) {
        Resolved::Exists
    } else {
        Resolved::Missing
    }
}

fn check_links(archive: &Archive, targets: &BTreeMap<String, String>, findings: &mut Vec<Finding>) {
    if targets.is_empty() {
        return;
    }
    // Files, links, explicit folders and every folder an entry implies.
    let mut present = BTreeSet::new();
    for entry in &archive.entries {
        let path = entry.name_lossy();
        let path = path.trim_end_matches('/');
        let mut prefix = String::new();
        for part in path.split('/') {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(part);
            present.insert(prefix.clone());
        }
    }
    for (link, target) in targets {
        let at = Some(link.as_str());
        match resolve(link, targets, &present) {
            Resolved::Exists => {}
            Resolved::Escapes => findings.push(LINK_ESCAPES.at(
                at,
                format!("a link to {target:?}, which leaves the artifact"),
            )),
            Resolved::Missing => findings.push(LINK_DANGLING.at(
                at,
                format!("a link to {target:?}, which is not in the artifact"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve_in(links: &[(&str, &str)], files: &[&str], link: &str) -> Resolved {
        let links: BTreeMap<String, String> = links
            .iter()
            .map(|(link, target)| (link.to_string(), target.to_string()))
            .collect();
        let mut present: BTreeSet<String> = files.iter().map(|file| file.to_string()).collect();
        present.extend(links.keys().cloned());
        for file in files {
            let mut prefix = String::new();
            for part in file.split('/') {
                if !prefix.is_empty() {
                    prefix.push('/');
                }
                prefix.push_str(part);
                present.insert(prefix.clone());
            }
        }
        resolve(link, &links, &present)
    }

    #[test]
    fn links_resolve_through_other_links_and_implied_folders() {
        let pnpm = [
            ("node_modules/a", ".pnpm/a@1/node_modules/a"),
            (
                "node_modules/.pnpm/a@1/node_modules/b",
                "../../b@1/node_modules/b",
            ),
        ];
        let files = [
            "node_modules/.pnpm/a@1/node_modules/a/index.js",
            "node_modules/.pnpm/b@1/node_modules/b/index.js",
        ];
        assert_eq!(
            resolve_in(&pnpm, &files, "node_modules/a"),
            Resolved::Exists
        );
        assert_eq!(
            resolve_in(&pnpm, &files, "node_modules/.pnpm/a@1/node_modules/b"),
            Resolved::Exists
        );
    }

    #[test]
    fn links_out_of_the_root_escape_and_missing_targets_dangle() {
        assert_eq!(
            resolve_in(&[("a", "/etc/passwd")], &[], "a"),
            Resolved::Escapes
        );
        assert_eq!(
            resolve_in(&[("x/a", "../../b")], &[], "x/a"),
            Resolved::Escapes
        );
        assert_eq!(
            resolve_in(&[("up", ".."), ("x", "up/etc")], &[], "x"),
            Resolved::Escapes
        );
        assert_eq!(
            resolve_in(&[("a", "missing.js")], &[], "a"),
            Resolved::Missing
        );
        assert_eq!(
            resolve_in(&[("a", "b"), ("b", "a")], &[], "a"),
            Resolved::Missing
        );
    }
}
