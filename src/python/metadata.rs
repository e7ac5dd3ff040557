//! Python distribution metadata: `METADATA`/`PKG-INFO`, `RECORD`, `installed-files.txt`,
//! `requires.txt`, `top_level.txt`, `entry_points.txt`, `WHEEL`; PEP 503 names, and the marker
//! environment of a Lambda runtime.

use std::str::FromStr;

use pep508_rs::{MarkerEnvironment, MarkerEnvironmentBuilder, Requirement};

use crate::model::{Arch, Runtime};

/// PEP 503: lower case, every run of `-`, `_` and `.` one `-`.
pub fn normalize_name(name: &str) -> String {
    let mut normalized = String::with_capacity(name.len());
    let mut separator = false;
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            separator = true;
            continue;
        }
        if separator && !normalized.is_empty() {
            normalized.push('-');
        }
        separator = false;
        normalized.push(c.to_ascii_lowercase());
    }
    normalized
}

/// The header fields of a `METADATA` or `PKG-INFO` file (RFC 822 style), in order; the body
/// after the first blank line (the long description) is not read.
pub fn headers(text: &str) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            // A folded continuation of the previous field.
            if let Some((_, value)) = fields.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
            continue;
        }
        if let Some((key, value)) = line.split_once(':') {
            fields.push((key.trim().to_string(), value.trim().to_string()));
        }
    }
    fields
}

/// The values of one header field (case-insensitive key).
pub fn field<'a>(fields: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    fields
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case(key))
        .map(|(_, value)| value.as_str())
        .collect()
}

/// The path column of each `RECORD` line (a CSV file: a path with a comma is quoted, `""`
/// escapes a quote).
pub fn record_paths(text: &str) -> Vec<String> {
    let mut paths = Vec::new();
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            continue;
        }
        let path = if let Some(quoted) = line.strip_prefix('"') {
            let mut path = String::new();
            let mut chars = quoted.chars().peekable();
            while let Some(c) = chars.next() {
                if c == '"' {
                    if chars.peek() == Some(&'"') {
                        chars.next();
                        path.push('"');
                        continue;
                    }
                    break;
                }
                path.push(c);
            }
            path
        } else {
            line.split(',').next().unwrap_or("").to_string()
        };
        if !path.is_empty() {
            paths.push(path);
        }
    }
    paths
}

/// Section names of an INI-style `entry_points.txt`.
pub fn entry_point_groups(text: &str) -> Vec<String> {
    let mut groups: Vec<String> = text
        .lines()
        .filter_map(|line| {
            line.trim()
                .strip_prefix('[')
                .and_then(|rest| rest.strip_suffix(']'))
                .map(|group| group.trim().to_string())
        })
        .collect();
    groups.sort();
    groups.dedup();
    groups
}

/// Non-empty, non-comment lines of `top_level.txt`.
pub fn top_level(text: &str) -> Vec<String> {
    text.lines()
        .map(|line| line.trim().replace('/', "."))
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect()
}

/// `Tag:` values of a `WHEEL` file, each compressed tag set expanded
/// (`py2.py3-none-any` → `py2-none-any`, `py3-none-any`).
pub fn wheel_tags(text: &str) -> Vec<String> {
    let mut tags = Vec::new();
    for tag in field(&headers(text), "Tag") {
        let parts: Vec<&str> = tag.split('-').collect();
        let [python, abi, platform] = parts[..] else {
            continue;
        };
        for python in python.split('.') {
            for abi in abi.split('.') {
                for platform in platform.split('.') {
                    tags.push(format!("{python}-{abi}-{platform}"));
                }
            }
        }
    }
    tags
}

/// Turns an egg-info `requires.txt` into PEP 508 strings: a `[extra]`, `[:marker]` or
/// `[extra:marker]` section header applies to the lines below it.
pub fn egg_requirements(text: &str) -> Vec<String> {
    let mut section: (Option<String>, Option<String>) = (None, None);
    let mut requirements = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let (extra, marker) = header.split_once(':').unwrap_or((header, ""));
            let nonempty = |text: &str| (!text.trim().is_empty()).then(|| text.trim().to_string());
            section = (nonempty(extra), nonempty(marker));
            continue;
        }
        let condition = match &section {
            (None, None) => None,
            (Some(extra), None) => Some(format!("extra == \"{extra}\"")),
            (None, Some(marker)) => Some(marker.clone()),
            (Some(extra), Some(marker)) => Some(format!("({marker}) and extra == \"{extra}\"")),
        };
        requirements.push(match condition {
            Some(condition) => format!("{line} ; {condition}"),
            None => line.to_string(),
        });
    }
    requirements
}

/// Parses PEP 508 requirement strings; each one that does not parse is returned as a message.
pub fn parse_requirements(lines: &[&str]) -> (Vec<Requirement>, Vec<String>) {
    let mut requirements = Vec::new();
    let mut problems = Vec::new();
    for line in lines {
        match Requirement::from_str(line) {
            Ok(requirement) => requirements.push(requirement),
            Err(error) => problems.push(format!("{line:?}: {error}")),
        }
    }
    (requirements, problems)
}

/// Extras a `requirements.txt` asks for, by normalised name. Options (`-r`, `--hash`, `-e`)
/// and lines that are not PEP 508 (URLs, paths) are skipped: they name no extras lamina needs.
pub fn requirements_txt_extras(text: &str) -> Vec<(String, Vec<String>)> {
    text.lines()
        .map(|line| line.split(" #").next().unwrap_or("").trim())
        .filter(|line| !line.is_empty() && !line.starts_with('#') && !line.starts_with('-'))
        .filter_map(|line| Requirement::<pep508_rs::VerbatimUrl>::from_str(line).ok())
        .filter(|requirement| !requirement.extras.is_empty())
        .map(|requirement| {
            (
                normalize_name(requirement.name.as_ref()),
                requirement
                    .extras
                    .iter()
                    .map(|extra| extra.to_string())
                    .collect(),
            )
        })
        .collect()
}

/// The marker environment of a Lambda Python runtime on an architecture.
pub fn marker_environment(runtime: Runtime, arch: Arch) -> MarkerEnvironment {
    let (major, minor) = runtime.python_version().unwrap_or((3, 12));
    // Lambda moves to new patch releases on its own; a recent one of each minor version.
    let patch = match minor {
        9 => 23,
        10 => 18,
        11 => 13,
        12 => 11,
        _ => 5,
    };
    let version = format!("{major}.{minor}");
    let full = format!("{major}.{minor}.{patch}");
    let machine = match arch {
        Arch::X86_64 => "x86_64",
        Arch::Arm64 => "aarch64",
    };
    MarkerEnvironment::try_from(MarkerEnvironmentBuilder {
        implementation_name: "cpython",
        implementation_version: &full,
        os_name: "posix",
        platform_machine: machine,
        platform_python_implementation: "CPython",
        platform_release: "",
        platform_system: "Linux",
        platform_version: "",
        python_full_version: &full,
        python_version: &version,
        sys_platform: "linux",
    })
    .expect("the versions are valid PEP 440")
}

/// Whether `Requires-Python` admits the runtime's Python; `None` when it does not parse.
pub fn python_allowed(requires_python: &str, runtime: Runtime) -> Option<bool> {
    let (major, minor) = runtime.python_version()?;
    let specifiers = pep440_rs::VersionSpecifiers::from_str(requires_python).ok()?;
    let version = pep440_rs::Version::new([u64::from(major), u64::from(minor), 99]);
    Some(specifiers.contains(&version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_normalise_as_pep_503() {
        assert_eq!(normalize_name("Python_Dateutil"), "python-dateutil");
        assert_eq!(normalize_name("zope.interface"), "zope-interface");
        assert_eq!(normalize_name("a-_.b"), "a-b");
        assert_eq!(normalize_name("Jinja2"), "jinja2");
    }

    #[test]
    fn metadata_headers_stop_at_the_body_and_unfold_lines() {
        let text = "Metadata-Version: 2.1\nName: Foo\nRequires-Dist: a\nRequires-Dist: b ; extra == 'x'\nDescription: one\n  two\n\nRequires-Dist: not-a-header\n";
        let fields = headers(text);
        assert_eq!(field(&fields, "name"), ["Foo"]);
        assert_eq!(field(&fields, "Requires-Dist"), ["a", "b ; extra == 'x'"]);
        assert_eq!(field(&fields, "Description"), ["one two"]);
    }

    #[test]
    fn record_paths_handle_quotes_and_bin_entries() {
        let text = "a/__init__.py,sha256=x,1\n\"b,c.py\",sha256=y,2\n../../bin/tool,,\na-1.dist-info/RECORD,,\n";
        assert_eq!(
            record_paths(text),
            [
                "a/__init__.py",
                "b,c.py",
                "../../bin/tool",
                "a-1.dist-info/RECORD"
            ]
        );
    }

    #[test]
    fn egg_requires_sections_become_markers() {
        let text = "six\n\n[socks]\nPySocks>=1.5\n\n[:python_version < \"3.8\"]\ntyping\n\n[x:sys_platform == \"win32\"]\npywin32\n";
        assert_eq!(
            egg_requirements(text),
            [
                "six",
                "PySocks>=1.5 ; extra == \"socks\"",
                "typing ; python_version < \"3.8\"",
                "pywin32 ; (sys_platform == \"win32\") and extra == \"x\"",
            ]
        );
        let (parsed, problems) = parse_requirements(
            &egg_requirements(text)
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        );
        assert_eq!((parsed.len(), problems.len()), (4, 0));
    }

    #[test]
    fn markers_evaluate_for_the_target() {
        let environment = marker_environment(Runtime::Python311, Arch::Arm64);
        let holds = |text: &str, extras: &[&str]| {
            let requirement = Requirement::<pep508_rs::VerbatimUrl>::from_str(text).unwrap();
            let extras: Vec<pep508_rs::ExtraName> =
                extras.iter().map(|e| e.parse().unwrap()).collect();
            requirement.marker.evaluate(&environment, &extras)
        };
        assert!(holds("a ; python_version >= '3.10'", &[]));
        assert!(!holds("a ; python_version < '3.11'", &[]));
        assert!(holds("a ; platform_machine == 'aarch64'", &[]));
        assert!(!holds("a ; sys_platform == 'win32'", &[]));
        assert!(holds("a ; implementation_name == 'cpython'", &[]));
        assert!(!holds("a ; extra == 'socks'", &[]));
        assert!(holds("a ; extra == 'socks'", &["socks"]));
    }

    #[test]
    fn wheel_tags_expand_and_fit_the_runtime() {
        assert_eq!(
            wheel_tags("Wheel-Version: 1.0\nTag: py2.py3-none-any\n"),
            ["py2-none-any", "py3-none-any"]
        );
        let fits = |tag| crate::lambda::wheel::loads(tag, Runtime::Python311, Arch::X86_64);
        assert!(fits("py3-none-any"));
        assert!(fits("cp311-cp311-manylinux_2_17_x86_64"));
        assert!(fits("cp38-abi3-manylinux2014_x86_64"));
        assert!(!fits("cp312-cp312-manylinux_2_17_x86_64"));
        assert!(
            !fits("cp311-cp311-manylinux_2_28_x86_64"),
            "AL2 has glibc 2.26"
        );
        assert!(crate::lambda::wheel::loads(
            "cp312-cp312-manylinux_2_28_x86_64",
            Runtime::Python312,
            Arch::X86_64
        ));
        assert!(!fits("cp311-cp311-macosx_11_0_arm64"));
        assert!(!fits("cp311-cp311-manylinux_2_17_aarch64"));
    }

    #[test]
    fn requires_python_and_requirements_txt() {
        assert_eq!(python_allowed(">=3.8", Runtime::Python311), Some(true));
        assert_eq!(python_allowed(">=3.12", Runtime::Python311), Some(false));
        assert_eq!(python_allowed("nonsense", Runtime::Python311), None);
        let extras = requirements_txt_extras(
            "# pinned\nrequests[socks,security]==2.32.3  # comment\n-r other.txt\nflask\n",
        );
        assert_eq!(
            extras,
            [(
                "requests".to_string(),
                vec!["socks".to_string(), "security".to_string()]
            )]
        );
    }
}
