//! What a native binary is: ELF (class, machine, the highest glibc it needs, musl), Mach-O or
//! PE. Headers are read with the `object` crate, from memory, read-only. Scan and verify both
//! read binaries here.

use object::elf;
use object::read::elf::{Dyn, ElfFile, FileHeader, SectionHeader};
use object::{Endianness, FileKind};

use crate::lambda::Arch;

/// What kind of binary a file is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    Elf {
        bits64: bool,
        machine: u16,
        /// The highest `GLIBC_x.y` the binary's version needs name; `None` when it names none
        /// (a static binary) or its sections could not be read.
        glibc: Option<(u32, u32)>,
        /// Linked against musl (`libc.musl-*` needed, or the musl loader as interpreter).
        musl: bool,
    },
    MachO,
    Pe,
}

/// Whether the first bytes of a file are those of an ELF, Mach-O or PE binary. Cheap, so it
/// can decide which entries to buffer whole.
pub fn looks_native(head: &[u8]) -> bool {
    const MAGICS: [&[u8]; 8] = [
        b"\x7fELF",
        b"\xfe\xed\xfa\xce",
        b"\xce\xfa\xed\xfe",
        b"\xfe\xed\xfa\xcf",
        b"\xcf\xfa\xed\xfe",
        b"\xca\xfe\xba\xbe",
        b"\xca\xfe\xba\xbf",
        b"MZ",
    ];
    MAGICS.iter().any(|magic| head.starts_with(magic))
}

/// What a file's first 20 bytes say it is: an ELF file's class and machine (its glibc needs and
/// libc are not in the header, so they read as none), Mach-O or PE; `None` for anything else.
/// Enough to tell a binary for another platform without reading it.
pub fn from_head(head: &[u8]) -> Option<Format> {
    if head.len() >= 20 && head.starts_with(b"\x7fELF") {
        let bytes = [head[18], head[19]];
        return Some(Format::Elf {
            bits64: head[4] == 2,
            machine: if head[5] == 2 {
                u16::from_be_bytes(bytes)
            } else {
                u16::from_le_bytes(bytes)
            },
            glibc: None,
            musl: false,
        });
    }
    if head.len() < 4 || head.starts_with(b"\x7fELF") || !looks_native(head) {
        return None;
    }
    Some(if head.starts_with(b"MZ") {
        Format::Pe
    } else {
        Format::MachO
    })
}

/// Reads what kind of binary `data` is. `complete` says whether `data` is the whole file; a
/// prefix still gives the ELF class and machine. `None` when it is no binary lamina knows.
pub fn inspect(data: &[u8], complete: bool) -> Option<Format> {
    match FileKind::parse(data).ok()? {
        FileKind::Elf32 => Some(inspect_elf::<elf::FileHeader32<Endianness>>(
            data, complete,
        )?),
        FileKind::Elf64 => Some(inspect_elf::<elf::FileHeader64<Endianness>>(
            data, complete,
        )?),
        FileKind::MachO32 | FileKind::MachO64 | FileKind::MachOFat32 | FileKind::MachOFat64 => {
            Some(Format::MachO)
        }
        FileKind::Pe32 | FileKind::Pe64 => Some(Format::Pe),
        _ => None,
    }
}

fn inspect_elf<Elf: FileHeader<Endian = Endianness>>(
    data: &[u8],
    complete: bool,
) -> Option<Format> {
    let header = Elf::parse(data).ok()?;
    let endian = header.endian().ok()?;
    let machine = header.e_machine(endian);
    let bits64 = header.is_class_64();
    let (glibc, musl) = if complete {
        ElfFile::<Elf>::parse(data)
            .map(|file| needs(&file))
            .unwrap_or((None, false))
    } else {
        (None, false)
    };
    Some(Format::Elf {
        bits64,
        machine,
        glibc,
        musl,
    })
}

/// The highest glibc version needed and whether musl is needed, from the version needs and the
/// dynamic section. A section that does not parse counts as absent: the check then stays quiet
/// rather than guessing.
fn needs<Elf: FileHeader<Endian = Endianness>>(
    file: &ElfFile<'_, Elf>,
) -> (Option<(u32, u32)>, bool) {
    let endian = file.endian();
    let data = file.data();
    let sections = file.elf_section_table();
    let mut highest: Option<(u32, u32)> = None;
    if let Ok(Some((mut needs, link))) = sections.gnu_verneed(endian, data)
        && let Ok(strings) = sections.strings(endian, data, link)
    {
        while let Ok(Some((_, mut auxiliaries))) = needs.next() {
            while let Ok(Some(auxiliary)) = auxiliaries.next() {
                if let Ok(name) = auxiliary.name(endian, strings)
                    && let Some(version) = glibc_version(name)
                {
                    highest = highest.max(Some(version));
                }
            }
        }
    }
    let mut musl = false;
    if let Ok(Some((entries, link))) = sections.dynamic(endian, data)
        && let Ok(strings) = sections.strings(endian, data, link)
    {
        for entry in entries {
            if entry.tag(endian) == elf::DT_NEEDED
                && let Ok(name) = entry.string(endian, strings)
                && name.starts_with(b"libc.musl-")
            {
                musl = true;
            }
        }
    }
    for section in sections.iter() {
        if sections.section_name(endian, section).ok() == Some(b".interp".as_slice())
            && let Ok(interpreter) = section.data(endian, data)
            && interpreter.windows(7).any(|window| window == b"ld-musl")
        {
            musl = true;
        }
    }
    (highest, musl)
}

/// The bytes of an ELF file's debug sections (`.debug_*`, `.zdebug_*`): about what
/// `strip --strip-debug` removes. `None` when `data` is no whole ELF file.
pub fn debug_bytes(data: &[u8]) -> Option<u64> {
    fn sum<Elf: FileHeader<Endian = Endianness>>(data: &[u8]) -> Option<u64> {
        let file = ElfFile::<Elf>::parse(data).ok()?;
        let endian = file.endian();
        let sections = file.elf_section_table();
        Some(
            sections
                .iter()
                .filter(|section| {
                    sections.section_name(endian, section).is_ok_and(|name| {
                        name.starts_with(b".debug") || name.starts_with(b".zdebug")
                    })
                })
                .filter_map(|section| section.file_range(endian).map(|(_, size)| size))
                .sum(),
        )
    }
    match FileKind::parse(data).ok()? {
        FileKind::Elf32 => sum::<elf::FileHeader32<Endianness>>(data),
        FileKind::Elf64 => sum::<elf::FileHeader64<Endianness>>(data),
        _ => None,
    }
}

/// `GLIBC_2.34` → `(2, 34)`; `GLIBC_2.2.5` → `(2, 2)`; `GLIBC_PRIVATE` and others → `None`.
pub fn glibc_version(name: &[u8]) -> Option<(u32, u32)> {
    let text = std::str::from_utf8(name.strip_prefix(b"GLIBC_")?).ok()?;
    let mut parts = text.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().map_or(Some(0), |minor| minor.parse().ok())?;
    Some((major, minor))
}

/// The `e_machine` of an architecture.
pub fn machine_of(arch: Arch) -> u16 {
    match arch {
        Arch::X86_64 => elf::EM_X86_64,
        Arch::Arm64 => elf::EM_AARCH64,
    }
}

pub fn machine_name(machine: u16) -> String {
    match machine {
        elf::EM_X86_64 => "x86_64".into(),
        elf::EM_AARCH64 => "aarch64 (arm64)".into(),
        elf::EM_386 => "x86 (32-bit)".into(),
        elf::EM_ARM => "ARM (32-bit)".into(),
        elf::EM_PPC64 => "ppc64".into(),
        elf::EM_S390 => "s390x".into(),
        elf::EM_RISCV => "RISC-V".into(),
        elf::EM_LOONGARCH => "LoongArch".into(),
        other => format!("e_machine {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_headers_name_the_machine() {
        let mut elf = b"\x7fELF\x02\x01\x01".to_vec();
        elf.resize(18, 0);
        elf.extend(62u16.to_le_bytes());
        assert_eq!(
            from_head(&elf),
            Some(Format::Elf {
                bits64: true,
                machine: 62,
                glibc: None,
                musl: false
            })
        );
        elf[4] = 1;
        elf[5] = 2;
        elf[18..20].copy_from_slice(&40u16.to_be_bytes());
        assert!(matches!(
            from_head(&elf),
            Some(Format::Elf {
                bits64: false,
                machine: 40,
                ..
            })
        ));
        assert_eq!(
            from_head(b"\xcf\xfa\xed\xfe\x07\x00\x00\x01"),
            Some(Format::MachO)
        );
        assert_eq!(from_head(b"MZ\x90\x00\x03\x00"), Some(Format::Pe));
        assert_eq!(from_head(b"/* GNU ld script */"), None);
    }

    #[test]
    fn glibc_versions_parse_and_others_do_not() {
        assert_eq!(glibc_version(b"GLIBC_2.34"), Some((2, 34)));
        assert_eq!(glibc_version(b"GLIBC_2.2.5"), Some((2, 2)));
        assert_eq!(glibc_version(b"GLIBC_PRIVATE"), None);
        assert_eq!(glibc_version(b"GCC_3.0"), None);
        assert!((2, 28) > (2, 26) && (2, 9) < (2, 26));
    }

    #[test]
    fn garbage_is_not_a_binary() {
        assert_eq!(inspect(b"", true), None);
        assert_eq!(inspect(b"\x7fELF\x02\x01\x01", true), None);
        assert_eq!(inspect(b"MZ this is not a PE", true), None);
        assert!(!looks_native(b"#!/bin/sh\n"));
    }
}
