//! Python wheel tags (PEP 425, with the manylinux glibc promises of PEP 513, 571, 599 and
//! 600): which tags load on a Lambda Python runtime, by interpreter, ABI and platform. Scan
//! and verify both ask here.

use crate::lambda::{Arch, Runtime};

/// The `Tag:` values of a `WHEEL` file, each expanded from its compressed form
/// (`py2.py3-none-any` is two tags).
pub fn tags(wheel: &str) -> Vec<(String, String, String)> {
    let mut tags = Vec::new();
    for line in wheel.lines() {
        let Some(value) = line.strip_prefix("Tag:") else {
            continue;
        };
        let mut parts = value.trim().splitn(3, '-');
        let (Some(pythons), Some(abis), Some(platforms)) =
            (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        for python in pythons.split('.') {
            for abi in abis.split('.') {
                for platform in platforms.split('.') {
                    tags.push((python.into(), abi.into(), platform.into()));
                }
            }
        }
    }
    tags
}

/// `cp312` / `py312` / `py3` → the interpreter and `(major, minor)` (minor `None` for `py3`).
fn interpreter(tag: &str) -> Option<(&str, u32, Option<u32>)> {
    let (implementation, digits) = tag.split_at(tag.find(|c: char| c.is_ascii_digit())?);
    let major = digits.get(..1)?.parse().ok()?;
    let rest = &digits[1..];
    let minor = if rest.is_empty() {
        None
    } else {
        Some(rest.parse().ok()?)
    };
    Some((implementation, major, minor))
}

/// Whether one tag loads on CPython `(3, minor)` on Linux `arch` with `glibc`.
pub fn compatible(
    (python, abi, platform): (&str, &str, &str),
    version: (u32, u32),
    arch: Arch,
    glibc: (u32, u32),
) -> bool {
    let Some((implementation, major, minor)) = interpreter(python) else {
        return false;
    };
    let python_ok = match implementation {
        // `py3` runs on any Python 3; `py38` on 3.8 and later.
        "py" => major == version.0 && minor.is_none_or(|minor| minor <= version.1),
        "cp" => major == version.0 && minor.is_some_and(|minor| minor <= version.1),
        _ => false,
    };
    let abi_ok = match abi {
        "none" => true,
        "abi3" => implementation == "cp",
        // A version-specific ABI (`cp312`, the old `cp37m`) loads on that version only;
        // free-threaded builds (`cp313t`) do not load on Lambda's interpreter.
        _ => abi
            .strip_prefix("cp")
            .map(|rest| rest.trim_end_matches(['m', 'u', 'd']))
            .and_then(|digits| {
                let major: u32 = digits.get(..1)?.parse().ok()?;
                let minor: u32 = digits.get(1..)?.parse().ok()?;
                Some((major, minor))
            })
            .is_some_and(|abi_version| abi_version == version),
    };
    python_ok && abi_ok && platform_ok(platform, arch, glibc)
}

fn platform_ok(platform: &str, arch: Arch, glibc: (u32, u32)) -> bool {
    if platform == "any" {
        return true;
    }
    let machine = match arch {
        Arch::X86_64 => "x86_64",
        Arch::Arm64 => "aarch64",
    };
    let Some(prefix) = platform
        .strip_suffix(machine)
        .and_then(|p| p.strip_suffix('_'))
    else {
        return false;
    };
    // The glibc each manylinux tag promises to need at most (PEP 513, 571, 599, 600).
    let needs = match prefix {
        "linux" => Some((0, 0)),
        "manylinux1" => Some((2, 5)),
        "manylinux2010" => Some((2, 12)),
        "manylinux2014" => Some((2, 17)),
        _ => prefix.strip_prefix("manylinux_").and_then(|version| {
            let (major, minor) = version.split_once('_')?;
            Some((major.parse().ok()?, minor.parse().ok()?))
        }),
    };
    needs.is_some_and(|needs| needs <= glibc)
}

/// Whether a tag (`cp312-cp312-manylinux_2_17_x86_64`, or compressed:
/// `cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64`) loads on the runtime.
pub fn loads(tag: &str, runtime: Runtime, arch: Arch) -> bool {
    let Some(version) = runtime.python_version() else {
        return false;
    };
    tags(&format!("Tag: {tag}"))
        .iter()
        .any(|(python, abi, platform)| {
            compatible((python, abi, platform), version, arch, runtime.glibc())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pure_and_matching_wheels_load() {
        for tag in [
            "py3-none-any",
            "py2.py3-none-any",
            "cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64",
            "cp39-abi3-manylinux_2_28_x86_64",
            "cp312-cp312-linux_x86_64",
            "cp312-cp312-manylinux_2_34_x86_64",
        ] {
            assert!(loads(tag, Runtime::Python312, Arch::X86_64), "{tag}");
        }
        assert!(loads(
            "cp312-cp312-manylinux2014_aarch64",
            Runtime::Python312,
            Arch::Arm64
        ));
    }

    #[test]
    fn foreign_or_newer_wheels_do_not() {
        for (tag, runtime) in [
            ("cp312-cp312-macosx_11_0_arm64", Runtime::Python312),
            ("cp312-cp312-win_amd64", Runtime::Python312),
            ("cp312-cp312-manylinux2014_aarch64", Runtime::Python312),
            ("cp312-cp312-musllinux_1_1_x86_64", Runtime::Python312),
            ("cp311-cp311-manylinux2014_x86_64", Runtime::Python312),
            ("cp313-abi3-manylinux2014_x86_64", Runtime::Python312),
            ("cp313-cp313t-manylinux2014_x86_64", Runtime::Python313),
            ("cp312-cp312-manylinux_2_28_x86_64", Runtime::Python311),
            ("py2-none-any", Runtime::Python312),
            (
                "pp310-pypy310_pp73-manylinux2014_x86_64",
                Runtime::Python310,
            ),
        ] {
            assert!(!loads(tag, runtime, Arch::X86_64), "{tag} on {runtime}");
        }
    }

    proptest::proptest! {
        /// A manylinux tag loads exactly when its glibc is at most the runtime's, for the
        /// runtime's own CPython and architecture, and never for the other architecture.
        #[test]
        fn manylinux_tags_follow_the_runtime_glibc(
            minor in 0u32..40,
            runtime in proptest::sample::select(
                Runtime::ALL.iter().copied().filter(|r| r.python_version().is_some()).collect::<Vec<_>>()
            ),
        ) {
            let (_, python_minor) = runtime.python_version().unwrap();
            let glibc = runtime.glibc();
            let tag = format!("cp3{python_minor}-cp3{python_minor}-manylinux_2_{minor}_x86_64");
            proptest::prop_assert_eq!(loads(&tag, runtime, Arch::X86_64), (2, minor) <= glibc);
            proptest::prop_assert!(!loads(&tag, runtime, Arch::Arm64));
        }
    }
}
