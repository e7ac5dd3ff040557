//! What the `provided.al2023` and `provided.al2` images give a bootstrap: their glibc, the
//! shared libraries in their library path, and that path; and the judgement of a binary's
//! facts against them (architecture, glibc, `DT_NEEDED`).
//!
//! Sources, each checked where it is cited:
//! - The library path: `LD_LIBRARY_PATH` in the images' Dockerfiles,
//!   <https://github.com/aws/aws-lambda-base-images/blob/provided.al2023/x86_64/Dockerfile.provided.al2023>
//!   (and the same line in `Dockerfile.provided.al2`):
//!   `/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib`.
//! - glibc: 2.34 on AL2023 and 2.26 on AL2,
//!   <https://docs.aws.amazon.com/linux/al2023/ug/glibc-gcc-and-binutils.html>; `ldd --version`
//!   in `public.ecr.aws/lambda/provided:al2023` prints 2.34
//!   (<https://github.com/aws/aws-lambda-builders/pull/752>).
//! - provided.al2023 is built on the AL2023 *minimal* container image, with `microdnf`
//!   (<https://docs.aws.amazon.com/linux/al2023/ug/lambda.html>,
//!   <https://docs.aws.amazon.com/lambda/latest/dg/images-create.html>,
//!   <https://github.com/aws/aws-lambda-base-images/issues/92>). Its packages: `rpm -qa` in
//!   `public.ecr.aws/lambda/python:3.12`, an image built on provided.al2023 whose Python is not
//!   an RPM (<https://github.com/amazonlinux/amazon-linux-2023/issues/585>): `glibc`,
//!   `bzip2-libs`, `glib2`, `gmp`, `json-c`, `keyutils-libs`, `krb5-libs`, `libacl`,
//!   `libarchive`, `libassuan`, `libattr`, `audit-libs`, `file-libs`, `gpgme`, `libblkid`
//!   among them (the list as quoted stops at `libblkid`). Libraries of packages those require
//!   are there too, as RPM installs dependencies: `openssl-libs` (`krb5-libs`, `libarchive`,
//!   `libcurl-minimal` link OpenSSL 3), `zlib`, `xz-libs`, `libzstd`, `lz4-libs`, `libxml2`
//!   (`libarchive`), `pcre2`, `libffi`, `libmount`, `libselinux` (`glib2`), `libcurl-minimal`
//!   (`curl-minimal`, listed); `libstdc++` and `libgcc` (`microdnf` needs `libdnf`, a C++
//!   library; and AWS documents Rust functions built for `*-unknown-linux-gnu` on the OS-only
//!   runtimes, <https://docs.aws.amazon.com/lambda/latest/dg/lambda-rust.html>, which all
//!   need `libgcc_s.so.1`: `readelf -d` on the test function in `testdata/provided`).
//! - provided.al2 is Amazon Linux 2. Packages of its container image as the `amazonlinux`
//!   release notes list them: `glibc` and `libcrypt` 2.26, `openssl-libs` 1.0.2k, `libgcc` and
//!   `libstdc++` 7.3.1, `glib2`, `libuuid`, `libblkid`, `libmount`, `libxml2`
//!   (<https://github.com/docker-library/official-images/pull/20193>,
//!   <https://github.com/docker-library/official-images/pull/20651>,
//!   <https://github.com/docker-library/official-images/pull/21019>,
//!   <https://github.com/docker-library/official-images/pull/21363>); `/lib64` in an AL2
//!   Lambda runtime holds `libssl.so.10` and no `libssl.so.3`
//!   (<https://github.com/awslabs/aws-media-replay-engine/issues/13>); `libssl.so.1.1`
//!   (`openssl11`) was there once and is no longer
//!   (<https://github.com/aws/aws-lambda-rust-runtime/issues/683>), so it is not listed.
//!
//! Left out because no source establishes them: `libcrypt.so.2` (libxcrypt) on AL2023,
//! `libmvec.so.1`, `libuuid.so.1` on AL2023, `libpython*`, and anything else. A needed library
//! missing from these lists is "not known to be in the image", a warning, never an error.

use serde::Serialize;

use super::elf::{BinaryFacts, Linking};
use crate::model::{Arch, Runtime};

/// Where a `DT_NEEDED` library is searched on Lambda, in order.
pub const LIBRARY_PATH: [&str; 8] = [
    "/var/lang/lib",
    "/lib64",
    "/usr/lib64",
    "/var/runtime",
    "/var/runtime/lib",
    "/var/task",
    "/var/task/lib",
    "/opt/lib",
];

/// How a library is known to be in an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Evidence {
    /// Its package is listed in the image (see the module's sources).
    Listed,
    /// A listed package requires its package.
    Required,
}

/// A shared library an image ships, by its `DT_NEEDED` name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Library {
    pub soname: &'static str,
    /// The RPM that installs it.
    pub package: &'static str,
    pub evidence: Evidence,
}

const fn listed(soname: &'static str, package: &'static str) -> Library {
    Library {
        soname,
        package,
        evidence: Evidence::Listed,
    }
}

const fn required(soname: &'static str, package: &'static str) -> Library {
    Library {
        soname,
        package,
        evidence: Evidence::Required,
    }
}

/// What an OS-only runtime's image gives a binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Image {
    pub runtime: Runtime,
    pub os: &'static str,
    pub glibc: (u32, u32),
    /// Beside glibc's own libraries (`GLIBC_LIBRARIES`), which both images have.
    pub libraries: &'static [Library],
}

/// glibc's own libraries, the same names in both images (2.34 keeps `libpthread.so.0`,
/// `libdl.so.2`, `librt.so.1` and `libutil.so.1` as stubs for binaries linked before it).
pub const GLIBC_LIBRARIES: &[Library] = &[
    listed("ld-linux-x86-64.so.2", "glibc"),
    listed("ld-linux-aarch64.so.1", "glibc"),
    listed("libc.so.6", "glibc"),
    listed("libm.so.6", "glibc"),
    listed("libpthread.so.0", "glibc"),
    listed("libdl.so.2", "glibc"),
    listed("librt.so.1", "glibc"),
    listed("libresolv.so.2", "glibc"),
    listed("libutil.so.1", "glibc"),
    listed("libanl.so.1", "glibc"),
    listed("libBrokenLocale.so.1", "glibc"),
    listed("libnss_files.so.2", "glibc"),
    listed("libnss_dns.so.2", "glibc"),
];

const AL2023: Image = Image {
    runtime: Runtime::ProvidedAl2023,
    os: "Amazon Linux 2023",
    glibc: (2, 34),
    libraries: &[
        listed("libbz2.so.1", "bzip2-libs"),
        listed("libglib-2.0.so.0", "glib2"),
        listed("libgobject-2.0.so.0", "glib2"),
        listed("libgio-2.0.so.0", "glib2"),
        listed("libgmodule-2.0.so.0", "glib2"),
        listed("libgthread-2.0.so.0", "glib2"),
        listed("libgmp.so.10", "gmp"),
        listed("libjson-c.so.5", "json-c"),
        listed("libkeyutils.so.1", "keyutils-libs"),
        listed("libgssapi_krb5.so.2", "krb5-libs"),
        listed("libkrb5.so.3", "krb5-libs"),
        listed("libk5crypto.so.3", "krb5-libs"),
        listed("libkrb5support.so.0", "krb5-libs"),
        listed("libacl.so.1", "libacl"),
        listed("libarchive.so.13", "libarchive"),
        listed("libassuan.so.0", "libassuan"),
        listed("libattr.so.1", "libattr"),
        listed("libaudit.so.1", "audit-libs"),
        listed("libmagic.so.1", "file-libs"),
        listed("libgpgme.so.11", "gpgme"),
        listed("libblkid.so.1", "libblkid"),
        required("libssl.so.3", "openssl-libs"),
        required("libcrypto.so.3", "openssl-libs"),
        required("libz.so.1", "zlib"),
        required("liblzma.so.5", "xz-libs"),
        required("libzstd.so.1", "libzstd"),
        required("liblz4.so.1", "lz4-libs"),
        required("libxml2.so.2", "libxml2"),
        required("libpcre2-8.so.0", "pcre2"),
        required("libffi.so.8", "libffi"),
        required("libmount.so.1", "libmount"),
        required("libselinux.so.1", "libselinux"),
        required("libcurl.so.4", "libcurl-minimal"),
        required("libstdc++.so.6", "libstdc++"),
        required("libgcc_s.so.1", "libgcc"),
    ],
};

const AL2: Image = Image {
    runtime: Runtime::ProvidedAl2,
    os: "Amazon Linux 2",
    glibc: (2, 26),
    libraries: &[
        listed("libcrypt.so.1", "libcrypt"),
        listed("libssl.so.10", "openssl-libs"),
        listed("libcrypto.so.10", "openssl-libs"),
        listed("libgcc_s.so.1", "libgcc"),
        listed("libstdc++.so.6", "libstdc++"),
        listed("libglib-2.0.so.0", "glib2"),
        listed("libgobject-2.0.so.0", "glib2"),
        listed("libgio-2.0.so.0", "glib2"),
        listed("libgmodule-2.0.so.0", "glib2"),
        listed("libgthread-2.0.so.0", "glib2"),
        listed("libuuid.so.1", "libuuid"),
        listed("libblkid.so.1", "libblkid"),
        listed("libmount.so.1", "libmount"),
        listed("libxml2.so.2", "libxml2"),
        required("libz.so.1", "zlib"),
    ],
};

/// The image of an OS-only runtime; `None` for the others.
pub fn image(runtime: Runtime) -> Option<&'static Image> {
    match runtime {
        Runtime::ProvidedAl2023 => Some(&AL2023),
        Runtime::ProvidedAl2 => Some(&AL2),
        _ => None,
    }
}

impl Image {
    /// Every library the image is known to ship: glibc's, then the others.
    pub fn all_libraries(&self) -> impl Iterator<Item = &'static Library> {
        GLIBC_LIBRARIES.iter().chain(self.libraries)
    }

    /// The library the image ships under `soname`.
    pub fn library(&self, soname: &str) -> Option<&'static Library> {
        self.all_libraries()
            .find(|library| library.soname == soname)
    }
}

/// How bad a concern is: an error stops the function from starting; a warning may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    Error,
    Warning,
}

/// What is wrong between a binary and the runtime it is meant for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Concern {
    /// Built for another machine (`e_machine`) or class than the function's architecture.
    WrongArch { machine: String, arch: Arch },
    /// Needs a `GLIBC_x.y` above the image's glibc.
    GlibcTooNew {
        needed: (u32, u32),
        available: (u32, u32),
    },
    /// The musl loader: the images have glibc only.
    Musl { interpreter: String },
    /// A `DT_NEEDED` library neither shipped nor known to be in the image.
    UnknownLibrary { soname: String },
}

impl Concern {
    pub fn severity(&self) -> Severity {
        match self {
            Concern::UnknownLibrary { .. } => Severity::Warning,
            _ => Severity::Error,
        }
    }

    /// What to tell the user, for `runtime`.
    pub fn message(&self, runtime: Runtime) -> String {
        match self {
            Concern::WrongArch { machine, arch } => format!(
                "built for {machine}, but the function runs on {}: build for {} (GOARCH={}, or the Rust target {}-unknown-linux-gnu)",
                arch.id(),
                arch.id(),
                match arch {
                    Arch::X86_64 => "amd64",
                    Arch::Arm64 => "arm64",
                },
                match arch {
                    Arch::X86_64 => "x86_64",
                    Arch::Arm64 => "aarch64",
                },
            ),
            Concern::GlibcTooNew { needed, available } => format!(
                "needs GLIBC_{}.{}, but {runtime} has glibc {}.{}: build against an older glibc (in the runtime's image, with cargo-zigbuild's `.2.{}` target suffix), link statically (CGO_ENABLED=0, a musl target), or use {}",
                needed.0,
                needed.1,
                available.0,
                available.1,
                available.1,
                if runtime == Runtime::ProvidedAl2 {
                    "provided.al2023 (glibc 2.34)"
                } else {
                    "a static build"
                },
            ),
            Concern::Musl { interpreter } => format!(
                "linked against musl ({interpreter}); {runtime} has glibc only: link musl statically"
            ),
            Concern::UnknownLibrary { soname } => format!(
                "needs {soname}, which is not shipped with the function and not known to be in the {runtime} image: ship it in lib/ or make sure the image has it"
            ),
        }
    }
}

/// Judges a bootstrap's facts against `runtime`'s image and `arch`. `shipped` are the absolute
/// paths the function and its layers put on Lambda (`/var/task/lib/libpq.so.5`,
/// `/opt/lib/libvips.so.42`): a needed library found in the library path there is fine.
pub fn judge(
    facts: &BinaryFacts,
    runtime: Runtime,
    arch: Arch,
    bootstrap_folder: &str,
    shipped: &[String],
) -> Vec<Concern> {
    let mut concerns = Vec::new();
    if facts.arch() != Some(arch) {
        concerns.push(Concern::WrongArch {
            machine: facts.machine_name(),
            arch,
        });
        // Nothing else is meaningful for a binary the machine cannot run.
        return concerns;
    }
    let Some(image) = image(runtime) else {
        return concerns;
    };
    if let Some(interpreter) = &facts.interpreter
        && interpreter.contains("ld-musl")
    {
        concerns.push(Concern::Musl {
            interpreter: interpreter.clone(),
        });
        return concerns;
    }
    if let Some(needed) = facts.glibc
        && needed > image.glibc
    {
        concerns.push(Concern::GlibcTooNew {
            needed,
            available: image.glibc,
        });
    }
    if facts.linking == Linking::Dynamic {
        let folders: Vec<String> = facts
            .runpath
            .iter()
            .map(|folder| folder.replace("$ORIGIN", bootstrap_folder))
            .chain(LIBRARY_PATH.iter().map(|folder| folder.to_string()))
            .collect();
        for soname in &facts.needed {
            let in_artifact = folders.iter().any(|folder| {
                let path = format!("{}/{soname}", folder.trim_end_matches('/'));
                shipped.contains(&path)
            });
            if !in_artifact && image.library(soname).is_none() {
                concerns.push(Concern::UnknownLibrary {
                    soname: soname.clone(),
                });
            }
        }
    }
    concerns
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::custom::elf::{BinaryFacts, Linking};

    fn facts(machine: u16, glibc: Option<(u32, u32)>, needed: &[&str]) -> BinaryFacts {
        BinaryFacts {
            file_bytes: 1,
            bits64: true,
            machine,
            elf_type: 3,
            linking: if needed.is_empty() {
                Linking::Static
            } else {
                Linking::Dynamic
            },
            interpreter: (!needed.is_empty()).then(|| "/lib64/ld-linux-x86-64.so.2".to_string()),
            needed: needed.iter().map(|name| name.to_string()).collect(),
            runpath: Vec::new(),
            version_needs: Vec::new(),
            glibc,
            debug_sections: Vec::new(),
            debug_bytes: 0,
            symbol_table_bytes: 0,
            toolchain: None,
        }
    }

    #[test]
    fn every_library_is_named_once_per_image() {
        for runtime in [Runtime::ProvidedAl2023, Runtime::ProvidedAl2] {
            let image = image(runtime).unwrap();
            let mut names: Vec<&str> = image.all_libraries().map(|l| l.soname).collect();
            assert!(names.iter().all(|name| name.contains(".so")), "{names:?}");
            names.sort();
            let count = names.len();
            names.dedup();
            assert_eq!(names.len(), count, "{runtime}: a library twice");
            assert_eq!(image.glibc, runtime.glibc());
        }
        assert!(image(Runtime::Nodejs22).is_none());
    }

    #[test]
    fn glibc_decides_between_the_two_images() {
        let rust = facts(
            object::elf::EM_X86_64,
            Some((2, 34)),
            &[
                "libgcc_s.so.1",
                "libc.so.6",
                "libm.so.6",
                "ld-linux-x86-64.so.2",
            ],
        );
        assert_eq!(
            judge(
                &rust,
                Runtime::ProvidedAl2023,
                Arch::X86_64,
                "/var/task",
                &[]
            ),
            []
        );
        let concerns = judge(&rust, Runtime::ProvidedAl2, Arch::X86_64, "/var/task", &[]);
        assert_eq!(
            concerns,
            [Concern::GlibcTooNew {
                needed: (2, 34),
                available: (2, 26)
            }]
        );
        assert_eq!(concerns[0].severity(), Severity::Error);
        assert!(
            concerns[0]
                .message(Runtime::ProvidedAl2)
                .starts_with("needs GLIBC_2.34, but provided.al2 has glibc 2.26")
        );
    }

    #[test]
    fn the_wrong_architecture_is_an_error_alone() {
        let arm = facts(object::elf::EM_AARCH64, None, &[]);
        let concerns = judge(
            &arm,
            Runtime::ProvidedAl2023,
            Arch::X86_64,
            "/var/task",
            &[],
        );
        assert_eq!(concerns.len(), 1);
        assert!(
            matches!(&concerns[0], Concern::WrongArch { machine, .. } if machine.starts_with("aarch64"))
        );
        assert_eq!(concerns[0].severity(), Severity::Error);
        assert_eq!(
            judge(&arm, Runtime::ProvidedAl2023, Arch::Arm64, "/var/task", &[]),
            []
        );
    }

    #[test]
    fn an_unknown_library_is_a_warning_unless_shipped() {
        let binary = facts(
            object::elf::EM_X86_64,
            Some((2, 17)),
            &["libc.so.6", "libpq.so.5", "libssl.so.3"],
        );
        let concerns = judge(
            &binary,
            Runtime::ProvidedAl2023,
            Arch::X86_64,
            "/var/task",
            &[],
        );
        assert_eq!(
            concerns,
            [Concern::UnknownLibrary {
                soname: "libpq.so.5".into()
            }]
        );
        assert_eq!(concerns[0].severity(), Severity::Warning);
        let shipped = ["/var/task/lib/libpq.so.5".to_string()];
        assert_eq!(
            judge(
                &binary,
                Runtime::ProvidedAl2023,
                Arch::X86_64,
                "/var/task",
                &shipped
            ),
            []
        );
        // OpenSSL 3 is AL2023's; AL2 has 1.0.2 (libssl.so.10).
        let concerns = judge(
            &binary,
            Runtime::ProvidedAl2,
            Arch::X86_64,
            "/var/task",
            &shipped,
        );
        assert_eq!(
            concerns,
            [Concern::UnknownLibrary {
                soname: "libssl.so.3".into()
            }]
        );
    }

    #[test]
    fn an_origin_runpath_finds_shipped_libraries() {
        let mut binary = facts(object::elf::EM_X86_64, None, &["libc.so.6", "libduck.so"]);
        binary.runpath = vec!["$ORIGIN/vendor".into()];
        let shipped = ["/var/task/vendor/libduck.so".to_string()];
        assert_eq!(
            judge(
                &binary,
                Runtime::ProvidedAl2023,
                Arch::X86_64,
                "/var/task",
                &shipped
            ),
            []
        );
    }

    #[test]
    fn a_musl_loader_is_an_error() {
        let mut binary = facts(object::elf::EM_X86_64, None, &["libc.musl-x86_64.so.1"]);
        binary.interpreter = Some("/lib/ld-musl-x86_64.so.1".into());
        let concerns = judge(
            &binary,
            Runtime::ProvidedAl2023,
            Arch::X86_64,
            "/var/task",
            &[],
        );
        assert!(matches!(concerns.as_slice(), [Concern::Musl { .. }]));
    }
}
