//! Facts about a custom runtime's `bootstrap` binary, read from its bytes with the `object`
//! crate: the ELF class and machine, whether the kernel runs it alone (static) or through a
//! dynamic loader, the libraries it needs (`DT_NEEDED`), the symbol versions it needs from them
//! (`.gnu.version_r`: the highest `GLIBC_x.y` decides which runtime can load it), and the bytes
//! that stripping could remove (debug sections, the symbol table). Read-only, from memory.

use object::elf;
use object::read::elf::{Dyn, FileHeader, ProgramHeader, SectionHeader};
use object::{Endianness, FileKind};
use serde::Serialize;

use crate::model::Arch;

/// How the binary is started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Linking {
    /// Neither `PT_INTERP` nor `PT_DYNAMIC`: the kernel maps it and jumps to it
    /// (`CGO_ENABLED=0` Go, Rust for `*-linux-musl`). It needs nothing from the image.
    Static,
    /// `PT_DYNAMIC` without `PT_INTERP`: a static-pie, which relocates itself.
    StaticPie,
    /// `PT_INTERP` names the dynamic loader, which loads the `DT_NEEDED` libraries.
    Dynamic,
}

/// A section and its size in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SectionSize {
    pub name: String,
    pub bytes: u64,
}

/// A symbol version the binary needs from a library (`libc.so.6`, `GLIBC_2.34`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct VersionNeed {
    pub file: String,
    pub version: String,
}

/// Which compiler produced the binary, when it says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Toolchain {
    /// `.go.buildinfo` or `.note.go.buildid`.
    Go,
    /// `rustc version` in `.comment`.
    Rust,
}

/// What lamina knows about a bootstrap binary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BinaryFacts {
    pub file_bytes: u64,
    pub bits64: bool,
    /// `e_machine`: 62 is x86_64, 183 aarch64.
    pub machine: u16,
    /// `e_type`: `ET_EXEC` (2) or `ET_DYN` (3, position-independent).
    pub elf_type: u16,
    pub linking: Linking,
    /// The dynamic loader `PT_INTERP` names (`/lib64/ld-linux-x86-64.so.2`).
    pub interpreter: Option<String>,
    /// `DT_NEEDED`, in the binary's order.
    pub needed: Vec<String>,
    /// `DT_RUNPATH` and `DT_RPATH` entries (`$ORIGIN/lib`).
    pub runpath: Vec<String>,
    /// Every symbol version needed, sorted.
    pub version_needs: Vec<VersionNeed>,
    /// The highest `GLIBC_x.y` among `version_needs`; `None` when it names none.
    pub glibc: Option<(u32, u32)>,
    /// Non-allocated `.debug_*` and `.zdebug_*` sections: what `strip` removes. An allocated
    /// one (Rust's `.debug_gdb_scripts`) is part of the loaded image and is not listed.
    pub debug_sections: Vec<SectionSize>,
    /// The sum of `debug_sections`.
    pub debug_bytes: u64,
    /// `.symtab` with its string table (and `.symtab_shndx`): what `strip --symbols` also
    /// removes. The dynamic symbol table (`.dynsym`) is part of the loaded image and stays.
    pub symbol_table_bytes: u64,
    pub toolchain: Option<Toolchain>,
}

impl BinaryFacts {
    /// The Lambda architecture of the binary, when it is one Lambda runs.
    pub fn arch(&self) -> Option<Arch> {
        match (self.bits64, self.machine) {
            (true, elf::EM_X86_64) => Some(Arch::X86_64),
            (true, elf::EM_AARCH64) => Some(Arch::Arm64),
            _ => None,
        }
    }

    /// `x86_64`, `aarch64 (arm64)`, ... for messages.
    pub fn machine_name(&self) -> String {
        machine_name(self.machine, self.bits64)
    }

    /// What stripping removes: the debug sections, and with `symbols` the symbol table.
    pub fn strippable_bytes(&self, symbols: bool) -> u64 {
        self.debug_bytes + if symbols { self.symbol_table_bytes } else { 0 }
    }
}

/// Why a file's facts could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ElfError {
    #[error("not an ELF binary ({0}); Lambda runs Linux ELF executables only")]
    NotElf(&'static str),
    #[error("a malformed ELF binary: {0}")]
    Malformed(String),
}

/// Reads the facts of an ELF binary from its whole contents.
pub fn facts(data: &[u8]) -> Result<BinaryFacts, ElfError> {
    match FileKind::parse(data) {
        Ok(FileKind::Elf64) => facts_of::<elf::FileHeader64<Endianness>>(data),
        Ok(FileKind::Elf32) => facts_of::<elf::FileHeader32<Endianness>>(data),
        Ok(FileKind::MachO32 | FileKind::MachO64 | FileKind::MachOFat32 | FileKind::MachOFat64) => {
            Err(ElfError::NotElf("a Mach-O binary, built for macOS"))
        }
        Ok(FileKind::Pe32 | FileKind::Pe64) => {
            Err(ElfError::NotElf("a PE binary, built for Windows"))
        }
        Ok(_) => Err(ElfError::NotElf("an object format lamina does not run")),
        Err(_) if data.starts_with(b"#!") => Err(ElfError::NotElf("a script")),
        Err(_) => Err(ElfError::NotElf("no known binary header")),
    }
}

fn malformed(error: object::read::Error) -> ElfError {
    ElfError::Malformed(error.to_string())
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn facts_of<Elf: FileHeader<Endian = Endianness>>(data: &[u8]) -> Result<BinaryFacts, ElfError> {
    let header = Elf::parse(data).map_err(malformed)?;
    let endian = header.endian().map_err(malformed)?;
    let segments = header.program_headers(endian, data).map_err(malformed)?;
    let sections = header.sections(endian, data).map_err(malformed)?;

    let mut interpreter = None;
    let mut has_dynamic = false;
    for segment in segments {
        match segment.p_type(endian) {
            elf::PT_INTERP => {
                let path = segment
                    .interpreter(endian, data)
                    .map_err(malformed)?
                    .unwrap_or_default();
                interpreter = Some(text(path));
            }
            elf::PT_DYNAMIC => has_dynamic = true,
            _ => {}
        }
    }
    let linking = match (&interpreter, has_dynamic) {
        (Some(_), _) => Linking::Dynamic,
        (None, true) => Linking::StaticPie,
        (None, false) => Linking::Static,
    };

    let (needed, runpath) = if sections.is_empty() {
        dynamic_from_segments::<Elf>(endian, data, segments)?
    } else {
        dynamic_from_sections::<Elf>(endian, data, &sections)?
    };

    let mut version_needs = Vec::new();
    if let Some((mut needs, link)) = sections.gnu_verneed(endian, data).map_err(malformed)? {
        let strings = sections.strings(endian, data, link).map_err(malformed)?;
        while let Some((need, mut auxiliaries)) = needs.next().map_err(malformed)? {
            let file = text(need.file(endian, strings).map_err(malformed)?);
            while let Some(auxiliary) = auxiliaries.next().map_err(malformed)? {
                let version = text(auxiliary.name(endian, strings).map_err(malformed)?);
                version_needs.push(VersionNeed {
                    file: file.clone(),
                    version,
                });
            }
        }
    }
    version_needs.sort();
    version_needs.dedup();
    let glibc = version_needs
        .iter()
        .filter_map(|need| glibc_version(&need.version))
        .max();

    let mut debug_sections = Vec::new();
    let mut symbol_table_bytes = 0;
    let mut toolchain = None;
    for (index, section) in sections.enumerate() {
        let name = sections.section_name(endian, section).map_err(malformed)?;
        let flags: u64 = section.sh_flags(endian).into();
        let bytes = match section.sh_type(endian) {
            elf::SHT_NOBITS => 0,
            _ => section.sh_size(endian).into(),
        };
        let allocated = flags & u64::from(elf::SHF_ALLOC) != 0;
        if !allocated && (name.starts_with(b".debug") || name.starts_with(b".zdebug")) {
            debug_sections.push(SectionSize {
                name: text(name),
                bytes,
            });
        }
        match section.sh_type(endian) {
            elf::SHT_SYMTAB => {
                symbol_table_bytes += bytes;
                let link = section.sh_link(endian) as usize;
                if link != 0 && link != index.0 {
                    let strings = sections
                        .section(object::SectionIndex(link))
                        .map_err(malformed)?;
                    symbol_table_bytes += strings.sh_size(endian).into();
                }
            }
            elf::SHT_SYMTAB_SHNDX => symbol_table_bytes += bytes,
            _ => {}
        }
        if name == b".go.buildinfo" || name == b".note.go.buildid" {
            toolchain = Some(Toolchain::Go);
        } else if name == b".comment"
            && toolchain.is_none()
            && let Ok(comment) = section.data(endian, data)
            && comment
                .windows(14)
                .any(|window| window == b"rustc version ")
        {
            toolchain = Some(Toolchain::Rust);
        }
    }
    let debug_bytes = debug_sections.iter().map(|section| section.bytes).sum();

    Ok(BinaryFacts {
        file_bytes: data.len() as u64,
        bits64: header.is_class_64(),
        machine: header.e_machine(endian),
        elf_type: header.e_type(endian),
        linking,
        interpreter,
        needed,
        runpath,
        version_needs,
        glibc,
        debug_sections,
        debug_bytes,
        symbol_table_bytes,
        toolchain,
    })
}

/// `GLIBC_2.34` → `(2, 34)`; `GLIBC_2.2.5` → `(2, 2)`; `GLIBC_PRIVATE` and others → `None`.
fn glibc_version(name: &str) -> Option<(u32, u32)> {
    let mut parts = name.strip_prefix("GLIBC_")?.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().map_or(Some(0), |minor| minor.parse().ok())?;
    Some((major, minor))
}

type DynamicStrings = (Vec<String>, Vec<String>);

fn dynamic_from_sections<Elf: FileHeader<Endian = Endianness>>(
    endian: Endianness,
    data: &[u8],
    sections: &object::read::elf::SectionTable<'_, Elf>,
) -> Result<DynamicStrings, ElfError> {
    let mut needed = Vec::new();
    let mut runpath = Vec::new();
    if let Some((entries, link)) = sections.dynamic(endian, data).map_err(malformed)? {
        let strings = sections.strings(endian, data, link).map_err(malformed)?;
        for entry in entries {
            let tag = entry.tag(endian);
            if !matches!(tag, elf::DT_NEEDED | elf::DT_RUNPATH | elf::DT_RPATH) {
                continue;
            }
            let value = text(entry.string(endian, strings).map_err(malformed)?);
            match tag {
                elf::DT_NEEDED => needed.push(value),
                _ => runpath.extend(value.split(':').map(str::to_string)),
            }
        }
    }
    Ok((needed, runpath))
}

/// A binary without section headers (`sstrip`) still has `PT_DYNAMIC`: its string table is
/// found through `DT_STRTAB`, an address mapped to the file by the `PT_LOAD` segments.
fn dynamic_from_segments<Elf: FileHeader<Endian = Endianness>>(
    endian: Endianness,
    data: &[u8],
    segments: &[Elf::ProgramHeader],
) -> Result<DynamicStrings, ElfError> {
    let Some(entries) = segments
        .iter()
        .find_map(|segment| segment.dynamic(endian, data).transpose())
        .transpose()
        .map_err(malformed)?
    else {
        return Ok((Vec::new(), Vec::new()));
    };
    let value = |tag: i64| {
        entries
            .iter()
            .find(|entry| entry.tag(endian) == tag)
            .map(|entry| entry.val(endian))
    };
    let (Some(address), Some(size)) = (value(elf::DT_STRTAB), value(elf::DT_STRSZ)) else {
        return Ok((Vec::new(), Vec::new()));
    };
    let strings = segments
        .iter()
        .filter(|segment| segment.p_type(endian) == elf::PT_LOAD)
        .find_map(|segment| {
            segment
                .data_range(endian, data, address, size)
                .ok()
                .flatten()
        })
        .ok_or_else(|| ElfError::Malformed("DT_STRTAB is outside every segment".into()))?;
    let string_at = |offset: u64| -> Result<String, ElfError> {
        let rest = usize::try_from(offset)
            .ok()
            .and_then(|offset| strings.get(offset..))
            .ok_or_else(|| ElfError::Malformed("a dynamic string is out of range".into()))?;
        Ok(text(rest.split(|&byte| byte == 0).next().unwrap_or(rest)))
    };
    let mut needed = Vec::new();
    let mut runpath = Vec::new();
    for entry in entries {
        match entry.tag(endian) {
            elf::DT_NEEDED => needed.push(string_at(entry.val(endian))?),
            elf::DT_RUNPATH | elf::DT_RPATH => {
                runpath.extend(string_at(entry.val(endian))?.split(':').map(str::to_string))
            }
            _ => {}
        }
    }
    Ok((needed, runpath))
}

/// A readable name for an `e_machine`.
pub fn machine_name(machine: u16, bits64: bool) -> String {
    match (machine, bits64) {
        (elf::EM_X86_64, true) => "x86_64".into(),
        (elf::EM_AARCH64, true) => "aarch64 (arm64)".into(),
        (elf::EM_386, _) | (elf::EM_X86_64, false) => "x86 (32-bit)".into(),
        (elf::EM_ARM, _) => "ARM (32-bit)".into(),
        (elf::EM_PPC64, _) => "ppc64".into(),
        (elf::EM_S390, _) => "s390x".into(),
        (elf::EM_RISCV, _) => "RISC-V".into(),
        (elf::EM_LOONGARCH, _) => "LoongArch".into(),
        (other, _) => format!("e_machine {other}"),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::path::{Path, PathBuf};
    use std::process::Command;

    /// Compiles `source` (C) with gcc and `flags` into `folder/name`; `None` without gcc.
    pub(crate) fn gcc(folder: &Path, name: &str, source: &str, flags: &[&str]) -> Option<PathBuf> {
        if Command::new("gcc").arg("--version").output().is_err() {
            // Rust's own linking needs a C compiler, so this is rare; CI must have one.
            assert!(std::env::var_os("CI").is_none(), "the tests need gcc");
            return None;
        }
        let source_path = folder.join(format!("{name}.c"));
        crate::fs::write(&source_path, source).unwrap();
        let output_path = folder.join(name);
        // Libraries (`-lm`) must follow the source.
        let output = Command::new("gcc")
            .arg("-o")
            .arg(&output_path)
            .arg(&source_path)
            .args(flags)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "gcc failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        Some(output_path)
    }

    pub(crate) const HELLO: &str = "#include <stdio.h>\n#include <math.h>\n\
        static int square(int x) { return x * x; }\n\
        int main(int argc, char **argv) {\n\
          printf(\"hello %d %.1f\\n\", square(argc + 6), sqrt((double)argc * 16));\n\
          return 0;\n}\n";

    #[test]
    fn a_dynamic_c_program_names_its_loader_libraries_and_glibc() {
        let folder = tempfile::tempdir().unwrap();
        let Some(path) = gcc(folder.path(), "hello", HELLO, &["-g", "-O1", "-lm"]) else {
            return;
        };
        let data = crate::fs::read(&path).unwrap();
        let facts = facts(&data).unwrap();
        assert!(facts.bits64);
        assert_eq!(facts.linking, Linking::Dynamic);
        assert!(facts.interpreter.as_deref().unwrap().contains("ld-linux"));
        assert!(
            facts.needed.iter().any(|name| name == "libc.so.6"),
            "{facts:?}"
        );
        let glibc = facts.glibc.expect("a glibc version need");
        assert!(glibc >= (2, 2), "{glibc:?}");
        assert!(
            facts
                .version_needs
                .iter()
                .any(|need| need.file == "libc.so.6" && need.version.starts_with("GLIBC_"))
        );
        assert!(facts.debug_bytes > 0, "{facts:?}");
        assert!(facts.debug_sections.iter().any(|s| s.name == ".debug_info"));
        assert!(facts.symbol_table_bytes > 0);
        assert_eq!(
            facts.debug_bytes,
            facts.debug_sections.iter().map(|s| s.bytes).sum::<u64>()
        );
        assert_eq!(facts.arch(), std::env::consts::ARCH.parse_arch());
    }

    #[test]
    fn a_static_c_program_needs_nothing() {
        let folder = tempfile::tempdir().unwrap();
        let Some(path) = gcc(
            folder.path(),
            "hello-static",
            "int main(void) { return 0; }\n",
            &["-static", "-O1"],
        ) else {
            return;
        };
        // Debian's gcc builds static-pie only with -static-pie; -static gives a plain static
        // executable (and without libc.a installed the test cannot run).
        let data = crate::fs::read(&path).unwrap();
        let facts = facts(&data).unwrap();
        assert_eq!(facts.linking, Linking::Static, "{facts:?}");
        assert!(facts.needed.is_empty());
        assert!(facts.interpreter.is_none());
        assert_eq!(facts.glibc, None);
        assert_eq!(facts.debug_bytes, 0);
    }

    #[test]
    fn system_binaries_read_without_debug_sections() {
        let data = crate::fs::read("/bin/true").unwrap();
        let facts = facts(&data).unwrap();
        assert_eq!(facts.linking, Linking::Dynamic);
        assert!(facts.needed.iter().any(|name| name == "libc.so.6"));
        assert_eq!(facts.debug_bytes, 0, "{:?}", facts.debug_sections);
        assert_eq!(facts.file_bytes, data.len() as u64);
    }

    #[test]
    fn glibc_versions_parse_and_others_do_not() {
        assert_eq!(glibc_version("GLIBC_2.34"), Some((2, 34)));
        assert_eq!(glibc_version("GLIBC_2.2.5"), Some((2, 2)));
        assert_eq!(glibc_version("GLIBC_PRIVATE"), None);
        assert_eq!(glibc_version("GLIBCXX_3.4.29"), None);
        assert_eq!(glibc_version("GCC_3.0"), None);
    }

    #[test]
    fn scripts_and_garbage_are_not_elf() {
        assert_eq!(
            facts(b"#!/bin/sh\necho hi\n"),
            Err(ElfError::NotElf("a script"))
        );
        assert!(matches!(facts(b""), Err(ElfError::NotElf(_))));
        assert!(matches!(
            facts(b"\x7fELF\x02\x01\x01"),
            Err(ElfError::Malformed(_)) | Err(ElfError::NotElf(_))
        ));
        assert!(matches!(
            facts(b"\xcf\xfa\xed\xfe\x07\x00\x00\x01\x03\x00\x00\x00"),
            Err(ElfError::NotElf(_))
        ));
    }

    trait ParseArch {
        fn parse_arch(self) -> Option<Arch>;
    }

    impl ParseArch for &str {
        fn parse_arch(self) -> Option<Arch> {
            match self {
                "x86_64" => Some(Arch::X86_64),
                "aarch64" => Some(Arch::Arm64),
                _ => None,
            }
        }
    }
}
