//! Native code: the findings for a binary in the artifact (`lambda::binary` reads what it is)
//! against a target architecture and glibc.

use object::elf;

use crate::lambda::binary::machine_name;
pub use crate::lambda::binary::{Format, inspect, looks_native, machine_of};
use crate::model::{Arch, Finding};
use crate::verify::findings::{
    NATIVE_ELF32, NATIVE_GLIBC, NATIVE_MACHO, NATIVE_MUSL, NATIVE_PE, NATIVE_WRONG_ARCH,
};

/// A binary found in an artifact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Native {
    pub entry: String,
    pub format: Format,
    /// The whole file was read; when not, only its header was (glibc needs are unknown).
    pub complete: bool,
}

/// Whether an entry is worth inspecting: a native module or library by name, a `bootstrap`, or
/// a file with an executable bit.
pub fn is_candidate(path: &str, mode: Option<u32>) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    let lower = name.to_ascii_lowercase();
    let library = [".node", ".so", ".dylib", ".dll", ".pyd"]
        .iter()
        .any(|extension| lower.ends_with(extension))
        || lower
            .split_once(".so.")
            .is_some_and(|(_, version)| version.split('.').all(|part| part.parse::<u32>().is_ok()));
    library || name == "bootstrap" || mode.is_some_and(|mode| mode & 0o111 != 0)
}

/// Platforms a path names (`prebuilds/darwin-x64/`, `foo.cpython-312-aarch64-linux-gnu.so`,
/// `@img/sharp-linuxmusl-x64`): packages that ship binaries for several platforms name each.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Labels {
    mac: bool,
    windows: bool,
    musl: bool,
    machines: Vec<u16>,
}

impl Labels {
    fn any(&self) -> bool {
        self.mac || self.windows || self.musl || !self.machines.is_empty()
    }
}

fn labels(path: &str) -> Labels {
    // "x86_64" would otherwise split into "x86" (a 32-bit label) and "64".
    let lower = path
        .to_ascii_lowercase()
        .replace("x86_64", "x64")
        .replace("x86-64", "x64");
    let mut labels = Labels::default();
    for token in lower.split(|c: char| !c.is_ascii_alphanumeric()) {
        match token {
            "darwin" | "macos" | "macosx" | "osx" | "mac" | "apple" => labels.mac = true,
            "win32" | "win64" | "win" | "windows" | "msvc" | "mingw" | "mingw32" => {
                labels.windows = true
            }
            "musl" | "linuxmusl" | "musllinux" | "alpine" => labels.musl = true,
            "arm64" | "aarch64" => labels.machines.push(elf::EM_AARCH64),
            "x64" | "amd64" => labels.machines.push(elf::EM_X86_64),
            "ia32" | "x86" | "i386" | "i686" => labels.machines.push(elf::EM_386),
            "arm" | "armv6" | "armv7" | "armv7l" | "armhf" | "arm7" | "gnueabihf" | "armeabi" => {
                labels.machines.push(elf::EM_ARM)
            }
            "ppc64" | "ppc64le" => labels.machines.push(elf::EM_PPC64),
            "s390x" => labels.machines.push(elf::EM_S390),
            "riscv64" => labels.machines.push(elf::EM_RISCV),
            "loong64" | "loongarch64" => labels.machines.push(elf::EM_LOONGARCH),
            _ => {}
        }
    }
    labels
}

/// Where a binary's alternatives live: its package (`…/node_modules/NAME`), or, when the
/// package itself is named after a platform (`@esbuild/darwin-arm64`, `@img/sharp-linux-x64`),
/// the `node_modules` folder holding the per-platform packages; outside `node_modules`, its
/// folder (a Python extension's alternatives sit next to it).
fn group(path: &str) -> &str {
    if let Some(at) = path.rfind("node_modules/") {
        let folder_end = at + "node_modules/".len();
        let rest = &path[folder_end..];
        let mut parts = rest.split('/');
        let first = parts.next().unwrap_or("");
        let package_len = if first.starts_with('@') {
            first.len() + 1 + parts.next().map_or(0, str::len)
        } else {
            first.len()
        };
        let package = &path[folder_end..(folder_end + package_len).min(path.len())];
        if labels(package).any() {
            return &path[..folder_end];
        }
        return &path[..(folder_end + package_len).min(path.len())];
    }
    path.rsplit_once('/').map_or("", |(folder, _)| folder)
}

/// The findings for the binaries of one artifact, for a target architecture and (when the
/// runtime is known) its glibc.
pub fn findings(
    natives: &[Native],
    arch: Arch,
    glibc: Option<(u32, u32)>,
    runtime: &str,
) -> Vec<Finding> {
    let target = machine_of(arch);
    let good = |native: &Native| matches!(native.format, Format::Elf { bits64: true, machine, musl: false, .. } if machine == target);
    // A binary for another platform is fine when it is one of several alternatives its package
    // chooses from at run time (named for its platform) and one of them suits the target.
    let alternative = |native: &Native, labelled: bool| {
        labelled && {
            let group = group(&native.entry);
            natives
                .iter()
                .any(|other| good(other) && other.entry.starts_with(group))
        }
    };
    let mut found = Vec::new();
    for native in natives {
        let entry = Some(native.entry.as_str());
        let labels = labels(&native.entry);
        match native.format {
            Format::MachO if !alternative(native, labels.mac) => found.push(NATIVE_MACHO.at(
                entry,
                format!(
                    "a Mach-O binary (built on macOS); Lambda runs Linux {} and cannot load it",
                    arch.id()
                ),
            )),
            Format::Pe if !alternative(native, labels.windows) => found.push(NATIVE_PE.at(
                entry,
                format!(
                    "a PE binary (built for Windows); Lambda runs Linux {} and cannot load it",
                    arch.id()
                ),
            )),
            Format::Elf {
                bits64: false,
                machine,
                ..
            } if !alternative(native, labels.machines.contains(&machine)) => {
                found.push(NATIVE_ELF32.at(
                    entry,
                    format!(
                        "a 32-bit ELF binary for {}; Lambda runs 64-bit {} code only",
                        machine_name(machine),
                        arch.id()
                    ),
                ))
            }
            Format::Elf {
                bits64: true,
                machine,
                ..
            } if machine != target && !alternative(native, labels.machines.contains(&machine)) => {
                found.push(NATIVE_WRONG_ARCH.at(
                    entry,
                    format!(
                        "an ELF binary for {} (e_machine {machine}), but the function runs on {} (e_machine {target})",
                        machine_name(machine),
                        arch.id()
                    ),
                ))
            }
            Format::Elf {
                bits64: true,
                machine,
                glibc: needed,
                musl,
            } if machine == target => {
                if musl && !alternative(native, labels.musl) {
                    found.push(NATIVE_MUSL.at(
                        entry,
                        "linked against musl (built on Alpine); Lambda's runtimes ship glibc, so it will not load",
                    ));
                }
                if let (Some(needed), Some(available)) = (needed, glibc)
                    && needed > available
                {
                    found.push(NATIVE_GLIBC.at(
                        entry,
                        format!(
                            "needs GLIBC_{}.{}, but {runtime} has glibc {}.{}",
                            needed.0, needed.1, available.0, available.1
                        ),
                    ));
                }
            }
            _ => {}
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn native(entry: &str, format: Format) -> Native {
        Native {
            entry: entry.into(),
            format,
            complete: true,
        }
    }

    fn elf(machine: u16) -> Format {
        Format::Elf {
            bits64: true,
            machine,
            glibc: Some((2, 17)),
            musl: false,
        }
    }

    fn ids(found: &[Finding]) -> Vec<&str> {
        found.iter().map(|finding| finding.id).collect()
    }

    #[test]
    fn candidates_are_libraries_bootstraps_and_executables() {
        for path in [
            "a/b.node",
            "lib/libfoo.so",
            "lib/libfoo.so.1.2.3",
            "x.pyd",
            "bootstrap",
        ] {
            assert!(is_candidate(path, Some(0o100_644)), "{path}");
        }
        assert!(is_candidate("bin/tool", Some(0o100_755)));
        for path in ["index.js", "x.so.txt", "notes.sonnet", "lib/libfoo.so.x"] {
            assert!(!is_candidate(path, Some(0o100_644)), "{path}");
        }
    }

    #[test]
    fn platform_alternatives_are_quiet_only_next_to_a_binary_for_the_target() {
        let prebuilds = [
            native(
                "node_modules/b/prebuilds/darwin-x64+arm64/b.node",
                Format::MachO,
            ),
            native("node_modules/b/prebuilds/win32-x64/b.node", Format::Pe),
            native(
                "node_modules/b/prebuilds/linux-arm64/b.node",
                elf(elf::EM_AARCH64),
            ),
            native(
                "node_modules/b/prebuilds/linux-x64/b.node",
                elf(elf::EM_X86_64),
            ),
        ];
        assert!(findings(&prebuilds, Arch::X86_64, Some((2, 26)), "nodejs18.x").is_empty());
        // Without the linux-x64 build nothing suits the target.
        assert_eq!(
            ids(&findings(&prebuilds[..3], Arch::X86_64, None, "")),
            ["native/macho", "native/pe", "native/wrong-arch"]
        );
        // An unlabelled Mach-O is never an alternative.
        let unlabelled = [
            native("node_modules/c/build/Release/c.node", Format::MachO),
            native("node_modules/c/other.node", elf(elf::EM_X86_64)),
        ];
        assert_eq!(
            ids(&findings(&unlabelled, Arch::X86_64, None, "")),
            ["native/macho"]
        );
    }

    #[test]
    fn per_platform_packages_group_by_their_node_modules_folder() {
        assert_eq!(
            group("node_modules/@img/sharp-darwin-arm64/lib/sharp.node"),
            "node_modules/"
        );
        assert_eq!(
            group("node_modules/bufferutil/prebuilds/linux-x64/b.node"),
            "node_modules/bufferutil"
        );
        assert_eq!(group("markupsafe/_speedups.so"), "markupsafe");
    }

    #[test]
    fn glibc_is_compared_with_the_runtime() {
        let needs = |glibc| {
            vec![native(
                "lib/x.so",
                Format::Elf {
                    bits64: true,
                    machine: elf::EM_X86_64,
                    glibc: Some(glibc),
                    musl: false,
                },
            )]
        };
        assert_eq!(
            ids(&findings(
                &needs((2, 28)),
                Arch::X86_64,
                Some((2, 26)),
                "python3.11"
            )),
            ["native/glibc"]
        );
        assert!(findings(&needs((2, 26)), Arch::X86_64, Some((2, 26)), "").is_empty());
        assert!(findings(&needs((2, 34)), Arch::X86_64, Some((2, 34)), "").is_empty());
        assert!(findings(&needs((2, 34)), Arch::X86_64, None, "").is_empty());
    }
}
