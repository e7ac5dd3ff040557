//! Python wheel tags: a finding when an installed distribution (its `*.dist-info/WHEEL` `Tag:`
//! lines) cannot load on a Lambda Python runtime (`lambda::wheel` judges each tag).

use crate::lambda::wheel::{compatible, tags};
use crate::model::{Arch, Finding, Runtime};
use crate::verify::findings::NATIVE_WHEEL_TAG;

/// A finding when none of a `WHEEL` file's tags loads on the runtime.
pub fn check(entry: &str, wheel: &str, runtime: Runtime, arch: Arch) -> Option<Finding> {
    check_tags(entry, &tags(wheel), runtime, arch)
}

/// A finding when none of a distribution's tags (`python`, `abi`, `platform`) loads on the
/// runtime.
pub fn check_tags(
    entry: &str,
    tags: &[(String, String, String)],
    runtime: Runtime,
    arch: Arch,
) -> Option<Finding> {
    let version = runtime.python_version()?;
    let glibc = runtime.glibc();
    if tags.is_empty()
        || tags.iter().any(|(python, abi, platform)| {
            compatible((python, abi, platform), version, arch, glibc)
        })
    {
        return None;
    }
    let listed: Vec<String> = tags
        .iter()
        .map(|(python, abi, platform)| format!("{python}-{abi}-{platform}"))
        .collect();
    Some(NATIVE_WHEEL_TAG.at(
        Some(entry),
        format!(
            "installed from a wheel tagged {}, which does not load on {runtime} ({}, glibc {}.{})",
            crate::verify::findings::excerpt(&listed.join(", ")),
            arch.id(),
            glibc.0,
            glibc.1
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finding_names_the_tags_and_the_target() {
        let finding = check(
            "x.dist-info/WHEEL",
            "Wheel-Version: 1.0\nTag: cp312-cp312-win_amd64\n",
            Runtime::Python312,
            Arch::X86_64,
        )
        .expect("a Windows wheel does not load");
        assert!(
            finding.message.contains("cp312-cp312-win_amd64")
                && finding.message.contains("python3.12")
                && finding.message.contains("glibc 2.34"),
            "{}",
            finding.message
        );
        assert!(
            check(
                "x.dist-info/WHEEL",
                "Wheel-Version: 1.0\nTag: py3-none-any\n",
                Runtime::Python312,
                Arch::X86_64
            )
            .is_none()
        );
    }

    #[test]
    fn node_runtimes_have_no_wheel_check() {
        assert!(
            check(
                "a",
                "Tag: cp312-cp312-win_amd64",
                Runtime::Nodejs22,
                Arch::X86_64
            )
            .is_none()
        );
    }
}
