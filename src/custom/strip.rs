//! Stripping a bootstrap binary without changing what it does: the non-allocated debug
//! sections (`.debug_*`, `.zdebug_*`) go, and with `symbols` the symbol table (`.symtab`,
//! `.strtab`) too. Everything the loader maps stays byte for byte: the ELF file is read into
//! `object`'s ELF builder, every allocated section is pinned to its original bytes at its
//! original offset (the builder would otherwise regenerate `.dynsym`, `.dynstr`, the hash and
//! version tables), and the written file is checked against the input: the same program
//! headers, and the same bytes in every segment's file range. Anything else is an error, and
//! the caller ships the binary as it was.

use object::build::elf::{Builder, SectionData, SectionId};
use object::elf;
use object::read::elf::{FileHeader, ProgramHeader};
use object::{Endianness, FileKind};

/// Why a binary was not stripped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StripError {
    #[error("not an ELF binary")]
    NotElf,
    #[error("cannot rewrite this ELF file: {0}")]
    Unsupported(String),
    /// The rewrite would have changed the loaded image; never shipped.
    #[error("stripping would change the loaded program ({0}); the binary ships as it is")]
    WouldChange(String),
}

/// Whether a section is one `strip` removes: not part of the loaded image, and debug
/// information (or, with `symbols`, the symbol table and its strings).
fn removable(name: &[u8], allocated: bool, data: &SectionData<'_>, symbols: bool) -> bool {
    if allocated {
        return false;
    }
    name.starts_with(b".debug")
        || name.starts_with(b".zdebug")
        || (symbols
            && matches!(
                data,
                SectionData::Symbol | SectionData::String | SectionData::SymbolSectionIndex
            ))
}

/// Returns `data` without its debug sections (and with `symbols`, its symbol table). A binary
/// with nothing to remove comes back unchanged, so stripping twice is stripping once.
pub fn strip(data: &[u8], symbols: bool) -> Result<Vec<u8>, StripError> {
    if !matches!(FileKind::parse(data), Ok(FileKind::Elf32 | FileKind::Elf64)) {
        return Err(StripError::NotElf);
    }
    let unsupported = |error: object::build::Error| StripError::Unsupported(error.to_string());
    let mut builder = Builder::read(data).map_err(unsupported)?;
    if builder.segments.is_empty() {
        // A relocatable object: no loaded image to keep, and not what Lambda runs.
        return Err(StripError::Unsupported(
            "no program headers (not an executable)".into(),
        ));
    }

    let removed: Vec<SectionId> = builder
        .sections
        .into_iter()
        .filter(|section| removable(&section.name, section.is_alloc(), &section.data, symbols))
        .map(|section| section.id())
        .collect();
    if removed.is_empty() {
        return Ok(data.to_vec());
    }
    // `.dynsym` is copied as it is, section indices (`st_shndx`) included. Removing a section
    // renumbers the ones after it (Go puts `.interp` after its debug sections): only tools
    // read those indices, but a dynamic symbol in a renumbered section is refused anyway.
    let mut kept_before = 0;
    let mut renumbered = Vec::new();
    for (position, section) in builder.sections.into_iter().enumerate() {
        if removed.contains(&section.id()) {
            continue;
        }
        if kept_before != position {
            renumbered.push(section.id());
        }
        kept_before += 1;
    }
    if let Some(symbol) = builder.dynamic_symbols.into_iter().find(|symbol| {
        symbol
            .section
            .is_some_and(|section| renumbered.contains(&section))
    }) {
        return Err(StripError::Unsupported(format!(
            "the dynamic symbol {} is in a section that removing debug sections would renumber",
            symbol.name
        )));
    }
    for id in &removed {
        builder.sections.get_mut(*id).delete = true;
    }
    // Relocation sections for removed sections (only in unusual executables) go with them.
    let orphans: Vec<_> = builder
        .sections
        .into_iter()
        .filter(|section| {
            section
                .sh_info_section
                .is_some_and(|target| removed.contains(&target))
                && !section.is_alloc()
        })
        .map(|section| section.id())
        .collect();
    for id in orphans {
        builder.sections.get_mut(id).delete = true;
    }
    if symbols {
        for symbol in &mut builder.symbols {
            symbol.delete = true;
        }
    }

    // Pin every allocated section to its input bytes, so the writer copies it rather than
    // regenerating it. With `.dynsym` and the version tables pinned, the builder's parsed
    // dynamic symbols and versions describe nothing it writes.
    for section in &mut builder.sections {
        if !section.is_alloc() || section.sh_type == elf::SHT_NOBITS {
            continue;
        }
        let start = usize::try_from(section.sh_offset).ok();
        let end = start.and_then(|start| start.checked_add(usize::try_from(section.sh_size).ok()?));
        let bytes = match (start, end) {
            (Some(start), Some(end)) if end <= data.len() => &data[start..end],
            _ => {
                return Err(StripError::Unsupported(format!(
                    "section {} lies outside the file",
                    section.name
                )));
            }
        };
        section.data = SectionData::Data(bytes.into());
        // A static glibc binary's `.rela.plt` links to `.symtab`; only tools read a section
        // header's link, and GNU strip clears it the same way.
        if section
            .sh_link_section
            .is_some_and(|target| removed.contains(&target))
        {
            section.sh_link_section = None;
        }
    }
    for symbol in &mut builder.dynamic_symbols {
        symbol.delete = true;
    }
    for version in &mut builder.versions {
        version.delete = true;
    }
    for file in &mut builder.version_files {
        file.delete = true;
    }
    builder.version_base = None;

    // The writer puts what is not allocated right after the last allocated section; a segment
    // whose file range runs past that (Go's end on a 32-byte boundary) would get section data
    // in its range. An empty, unnamed section aligned past every segment's end moves the rest
    // there (`SHT_PROGBITS`: object's reader refuses a second `SHT_NULL`, and a stripped file
    // must read back).
    let allocated_end = builder
        .sections
        .into_iter()
        .filter(|section| section.is_alloc() && section.sh_type != elf::SHT_NOBITS)
        .map(|section| section.sh_offset.saturating_add(section.sh_size))
        .max()
        .unwrap_or(0);
    let segments_end = builder
        .segments
        .into_iter()
        .map(|segment| segment.p_offset.saturating_add(segment.p_filesz))
        .max()
        .unwrap_or(0);
    if segments_end > allocated_end {
        let mut align: u64 = 1;
        while allocated_end.next_multiple_of(align) < segments_end && align < 1 << 40 {
            align <<= 1;
        }
        let pad = builder.sections.add();
        pad.sh_type = elf::SHT_PROGBITS;
        pad.sh_addralign = align;
    }

    let mut output = Vec::with_capacity(data.len());
    builder.write(&mut output).map_err(unsupported)?;
    restore_segment_gaps(data, &mut output);
    same_loaded_image(data, &output)?;
    if output.len() >= data.len() {
        return Ok(data.to_vec());
    }
    Ok(output)
}

/// Puts back the bytes of every segment's file range that the writer left as padding. A
/// segment may hold bytes no allocated section covers: Go's linker puts `.shstrtab` inside its
/// read-only segment. The writer pads them with zeros; the loaded image must keep them. Only
/// runs the writer left all zero are restored, so nothing it wrote is overwritten (a clash
/// then fails the check that follows).
fn restore_segment_gaps(before: &[u8], after: &mut [u8]) {
    let ranges = match FileKind::parse(before) {
        Ok(FileKind::Elf64) => segment_ranges::<elf::FileHeader64<Endianness>>(before),
        Ok(FileKind::Elf32) => segment_ranges::<elf::FileHeader32<Endianness>>(before),
        _ => Vec::new(),
    };
    for (start, end) in ranges {
        let end = end.min(after.len()).min(before.len());
        let mut at = start;
        while at < end {
            if after[at] == before[at] {
                at += 1;
                continue;
            }
            let run_end = (at..end)
                .find(|&index| after[index] == before[index])
                .unwrap_or(end);
            if after[at..run_end].iter().all(|&byte| byte == 0) {
                after[at..run_end].copy_from_slice(&before[at..run_end]);
            }
            at = run_end;
        }
    }
}

/// The file ranges of every segment, past the ELF header (whose section-table fields change
/// with the section table).
fn segment_ranges<Elf: FileHeader<Endian = Endianness>>(data: &[u8]) -> Vec<(usize, usize)> {
    let Ok(header) = Elf::parse(data) else {
        return Vec::new();
    };
    let Ok(endian) = header.endian() else {
        return Vec::new();
    };
    let header_bytes = usize::from(header.e_ehsize(endian));
    let Ok(segments) = header.program_headers(endian, data) else {
        return Vec::new();
    };
    segments
        .iter()
        .filter_map(|segment| {
            let (offset, size) = segment.file_range(endian);
            let start = usize::try_from(offset).ok()?;
            let end = usize::try_from(offset.checked_add(size)?).ok()?;
            (end > start).then_some((start.max(header_bytes), end))
        })
        .filter(|(start, end)| start < end)
        .collect()
}

/// Checks that `after` loads exactly as `before`: the same ELF header (but for the section
/// header table's place and count), the same program headers, the same bytes in every
/// segment's file range.
fn same_loaded_image(before: &[u8], after: &[u8]) -> Result<(), StripError> {
    match FileKind::parse(before) {
        Ok(FileKind::Elf64) => same_image::<elf::FileHeader64<Endianness>>(before, after),
        Ok(FileKind::Elf32) => same_image::<elf::FileHeader32<Endianness>>(before, after),
        _ => Err(StripError::NotElf),
    }
}

fn same_image<Elf: FileHeader<Endian = Endianness>>(
    before: &[u8],
    after: &[u8],
) -> Result<(), StripError> {
    let changed = |what: &str| Err(StripError::WouldChange(what.to_string()));
    let read = |data| -> Result<(&Elf, &[Elf::ProgramHeader]), StripError> {
        let header =
            Elf::parse(data).map_err(|error| StripError::WouldChange(error.to_string()))?;
        let endian = header
            .endian()
            .map_err(|error| StripError::WouldChange(error.to_string()))?;
        let segments = header
            .program_headers(endian, data)
            .map_err(|error| StripError::WouldChange(error.to_string()))?;
        Ok((header, segments))
    };
    let (old, old_segments) = read(before)?;
    let (new, new_segments) = read(after)?;
    let endian = old.endian().map_err(|_| StripError::NotElf)?;
    if before.get(..16) != after.get(..16)
        || old.e_type(endian) != new.e_type(endian)
        || old.e_machine(endian) != new.e_machine(endian)
        || old.e_version(endian) != new.e_version(endian)
        || old.e_entry(endian).into() != new.e_entry(endian).into()
        || old.e_flags(endian) != new.e_flags(endian)
        || old.e_phoff(endian).into() != new.e_phoff(endian).into()
        || old.e_ehsize(endian) != new.e_ehsize(endian)
        || old.e_phentsize(endian) != new.e_phentsize(endian)
        || old.e_phnum(endian) != new.e_phnum(endian)
    {
        return changed("the ELF header");
    }
    let header_bytes = usize::from(old.e_ehsize(endian));
    let table = |data: &[u8], header: &Elf| -> Option<Vec<u8>> {
        let start = usize::try_from(header.e_phoff(endian).into()).ok()?;
        let length = usize::from(header.e_phentsize(endian)) * usize::from(header.e_phnum(endian));
        Some(data.get(start..start.checked_add(length)?)?.to_vec())
    };
    if table(before, old).is_none() || table(before, old) != table(after, new) {
        return changed("the program headers");
    }
    for (segment, same) in old_segments.iter().zip(new_segments) {
        let (offset, size) = segment.file_range(endian);
        if (offset, size) != same.file_range(endian) {
            return changed("a segment's place");
        }
        if size == 0 {
            continue;
        }
        // The ELF header's section-table fields change with the section table: skip it.
        let (Ok(start), Ok(end)) = (usize::try_from(offset), usize::try_from(offset + size)) else {
            return changed("a segment's place");
        };
        let start = start.max(header_bytes);
        if start >= end {
            continue;
        }
        if before.get(start..end).is_none() || before.get(start..end) != after.get(start..end) {
            return changed(&format!(
                "the bytes of the segment at offset {offset:#x} (type {:#x})",
                segment.p_type(endian)
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::custom::elf::tests::{HELLO, gcc};
    use crate::custom::elf::{Linking, facts};
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;
    use std::process::Command;

    fn run(path: &Path) -> (i32, String) {
        let output = Command::new(path).output().unwrap();
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).into_owned(),
        )
    }

    fn write_executable(path: &Path, data: &[u8]) {
        crate::fs::write(path, data).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// Strips `path` both ways and checks each result runs as the input does, is smaller,
    /// keeps what `symbols` says, and strips to itself again.
    fn check_strips(path: &Path) {
        let data = crate::fs::read(path).unwrap();
        let before = facts(&data).unwrap();
        assert!(before.debug_bytes > 0, "{path:?} has no debug info");
        let expected = run(path);
        for symbols in [false, true] {
            let stripped = strip(&data, symbols).unwrap();
            assert!(stripped.len() < data.len(), "{symbols}: not smaller");
            let after = facts(&stripped).unwrap();
            assert_eq!(after.debug_bytes, 0, "{:?}", after.debug_sections);
            assert_eq!(after.needed, before.needed);
            assert_eq!(after.version_needs, before.version_needs);
            assert_eq!(after.linking, before.linking);
            if symbols {
                assert_eq!(after.symbol_table_bytes, 0);
            } else {
                assert!(after.symbol_table_bytes > 0);
            }
            let copy = path.with_extension(format!("stripped-{symbols}"));
            write_executable(&copy, &stripped);
            assert_eq!(run(&copy), expected, "{symbols}: runs otherwise");
            assert_eq!(
                strip(&stripped, symbols).unwrap(),
                stripped,
                "not idempotent"
            );
            assert!(
                data.len() as u64 - stripped.len() as u64 >= before.strippable_bytes(symbols),
                "{symbols}: removed less than the facts promise"
            );
        }
    }

    #[test]
    fn a_c_program_with_debug_info_strips_and_runs_the_same() {
        let folder = tempfile::tempdir().unwrap();
        let Some(path) = gcc(folder.path(), "hello", HELLO, &["-g", "-O1", "-lm"]) else {
            return;
        };
        check_strips(&path);
    }

    #[test]
    fn a_static_c_program_strips_and_runs_the_same() {
        let folder = tempfile::tempdir().unwrap();
        let Some(path) = gcc(
            folder.path(),
            "hello",
            HELLO,
            &["-g", "-static", "-O1", "-lm"],
        ) else {
            return;
        };
        let data = crate::fs::read(&path).unwrap();
        assert_eq!(facts(&data).unwrap().linking, Linking::Static);
        check_strips(&path);
    }

    #[test]
    fn a_rust_debug_binary_strips_and_runs_the_same() {
        let folder = tempfile::tempdir().unwrap();
        let source = folder.path().join("main.rs");
        crate::fs::write(
            &source,
            "use std::io::Write;\nfn main() { let v: Vec<u64> = (1..=10).collect(); \
             writeln!(std::io::stdout(), \"sum {}\", v.iter().sum::<u64>()).unwrap(); }\n",
        )
        .unwrap();
        let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
        let binary = folder.path().join("sum");
        // The tests run under cargo: rustc is there.
        let output = Command::new(&rustc)
            .args(["-g", "-C", "opt-level=0", "-o"])
            .arg(&binary)
            .arg(&source)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(run(&binary), (0, "sum 55\n".to_string()));
        check_strips(&binary);
    }

    #[test]
    fn a_binary_without_debug_info_is_returned_unchanged() {
        let data = crate::fs::read("/bin/true").unwrap();
        assert_eq!(strip(&data, false).unwrap(), data);
    }

    #[test]
    fn non_elf_input_is_an_error() {
        assert_eq!(
            strip(b"#!/bin/sh\nexit 0\n", false),
            Err(StripError::NotElf)
        );
        assert_eq!(strip(b"", true), Err(StripError::NotElf));
        assert!(strip(b"\x7fELF\x02\x01\x01\x00garbage", false).is_err());
    }

    #[test]
    fn a_changed_segment_is_caught() {
        let data = crate::fs::read("/bin/true").unwrap();
        let mut changed = data.clone();
        // Flip a byte well inside the first loadable segment (past the headers).
        let at = 0x400.min(changed.len() - 1);
        changed[at] ^= 0xff;
        assert!(matches!(
            same_loaded_image(&data, &changed),
            Err(StripError::WouldChange(_))
        ));
        assert_eq!(same_loaded_image(&data, &data), Ok(()));
    }
}
