//! The catalogue of findings verify can report: each with a stable id (listed in
//! `docs/rules.md`), its severity and what to do about it. A finding quotes at most
//! `TEXT_CAP` bytes of any name or text taken from a zip, and an artifact lists at most
//! `LISTED_PER_KIND` findings of one kind, so a hostile zip cannot make the report large.

use std::collections::{BTreeMap, HashMap};

use crate::model::{Finding, Severity};

/// Bytes of an entry name, link target or other text from a zip that a finding quotes; the rest
/// is replaced by its length.
pub const TEXT_CAP: usize = 512;

/// Findings of one kind an artifact lists; the others are counted in one more finding.
pub const LISTED_PER_KIND: usize = 100;

/// One kind of finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    pub id: &'static str,
    pub severity: Severity,
    /// What to do about it, shown with every finding of this kind.
    pub fix: &'static str,
}

impl Kind {
    /// A finding of this kind about `entry` (or the whole artifact).
    /// The entry's name is shortened to `TEXT_CAP` bytes and its control characters escaped,
    /// so that neither a terminal nor a report can be flooded or steered by it.
    pub fn at(&self, entry: Option<&str>, message: impl Into<String>) -> Finding {
        Finding {
            id: self.id,
            severity: self.severity,
            entry: entry.map(excerpt),
            message: message.into(),
            fix: self.fix,
        }
    }

    /// The same, with the severity changed (`limit/zipped` is only a warning over S3).
    pub fn with_severity(
        &self,
        severity: Severity,
        entry: Option<&str>,
        message: impl Into<String>,
    ) -> Finding {
        Finding {
            severity,
            ..self.at(entry, message)
        }
    }
}

/// The first `TEXT_CAP` bytes of `text` (at a character boundary) and whether it was cut.
fn head(text: &str) -> (&str, bool) {
    if text.len() <= TEXT_CAP {
        return (text, false);
    }
    let mut end = TEXT_CAP;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (&text[..end], true)
}

/// `text` as a finding shows it: control characters escaped (`\u{0}`), and cut after
/// `TEXT_CAP` bytes with the whole length said.
pub fn excerpt(text: &str) -> String {
    let (shown, cut) = head(text);
    let mut out = String::with_capacity(shown.len() + 32);
    for character in shown.chars() {
        if character.is_control() {
            out.extend(character.escape_unicode());
        } else {
            out.push(character);
        }
    }
    if cut {
        out.push_str(&format!("… ({} bytes in all)", text.len()));
    }
    out
}

/// `text` quoted as Rust's `{:?}` does (escapes included), cut after `TEXT_CAP` bytes with the
/// whole length said.
pub fn quoted(text: &str) -> String {
    let (shown, cut) = head(text);
    if cut {
        format!("{shown:?}… ({} bytes in all)", text.len())
    } else {
        format!("{shown:?}")
    }
}

/// Findings collected while reading one zip: at most `LISTED_PER_KIND` of each kind are kept,
/// the others only counted, so memory stays bounded however many entries are defective.
#[derive(Debug, Default, Clone)]
pub struct Collector {
    listed: Vec<Finding>,
    counts: HashMap<&'static str, usize>,
    unlisted: Unlisted,
}

impl Collector {
    pub fn push(&mut self, finding: Finding) {
        let count = self.counts.entry(finding.id).or_insert(0);
        *count += 1;
        if *count <= LISTED_PER_KIND {
            self.listed.push(finding);
        } else {
            self.unlisted.add(&finding, 1);
        }
    }

    /// The findings kept, and the count of those that were not.
    pub fn finish(self) -> (Vec<Finding>, Unlisted) {
        (self.listed, self.unlisted)
    }
}

/// Findings counted but not listed, by id.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Unlisted(BTreeMap<&'static str, (Severity, &'static str, u64)>);

impl Unlisted {
    fn add(&mut self, finding: &Finding, count: u64) {
        let slot = self
            .0
            .entry(finding.id)
            .or_insert((finding.severity, finding.fix, 0));
        slot.2 += count;
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many findings of `id` were not listed.
    pub fn count(&self, id: &str) -> u64 {
        self.0.get(id).map_or(0, |slot| slot.2)
    }
}

/// Keeps the first `LISTED_PER_KIND` findings of each id (`findings` sorted), and adds for each
/// id with more (here or in `unlisted`, counted while reading) one whole-artifact finding that
/// says how many more there are. Sorts the result.
pub fn cap(findings: &mut Vec<Finding>, unlisted: &Unlisted) {
    let mut more = unlisted.clone();
    let mut seen: HashMap<&'static str, usize> = HashMap::new();
    findings.retain(|finding| {
        let count = seen.entry(finding.id).or_insert(0);
        *count += 1;
        if *count <= LISTED_PER_KIND {
            true
        } else {
            more.add(finding, 1);
            false
        }
    });
    for (id, (severity, fix, count)) in more.0 {
        findings.push(Finding {
            id,
            severity,
            entry: None,
            message: format!(
                "{count} more findings of this kind are not listed (lamina lists at most {LISTED_PER_KIND} of one kind per zip)"
            ),
            fix,
        });
    }
    sort(findings);
}

const fn error(id: &'static str, fix: &'static str) -> Kind {
    Kind {
        id,
        severity: Severity::Error,
        fix,
    }
}

const fn warning(id: &'static str, fix: &'static str) -> Kind {
    Kind {
        id,
        severity: Severity::Warning,
        fix,
    }
}

pub const LIMIT_ZIPPED: Kind = error(
    "limit/zipped",
    "slim the package (lamina build), move dependencies into layers, or upload through S3 (--upload s3)",
);
pub const LIMIT_UNZIPPED: Kind = error(
    "limit/unzipped",
    "slim the function and its layers (lamina build), or ship it as a container image",
);
pub const LIMIT_CONSOLE_EDITOR: Kind = warning(
    "limit/console-editor",
    "only the console's inline editor stops working; move dependencies into a layer to keep it",
);
pub const LIMIT_LAYER_COUNT: Kind = error(
    "limit/layer-count",
    "merge layers: Lambda attaches at most 5 to a function",
);
pub const LIMIT_LAYER_UNZIPPED: Kind = error(
    "limit/layer-unzipped",
    "split the layer or slim what it holds",
);
pub const LIMIT_ENV: Kind = error(
    "limit/env",
    "shorten or remove variables, or keep large values in SSM Parameter Store or Secrets Manager and read them at start",
);
pub const PERM_UNREADABLE: Kind = error(
    "perm/unreadable",
    "give the entry read permission for everyone (chmod o+r; 0644 for files, 0755 for folders) before zipping",
);
pub const PERM_NO_UNIX_MODE: Kind = error(
    "perm/no-unix-mode",
    "zip on Linux or macOS (or in CI), or with a tool that stores Unix modes, such as lamina build",
);
pub const PERM_NOT_EXECUTABLE: Kind =
    error("perm/not-executable", "chmod 0755 the file before zipping");
pub const PERM_LAYER_PROGRAM_NOT_EXECUTABLE: Kind = warning(
    "perm/layer-program-not-executable",
    "chmod 0755 the program before zipping the layer, if functions run it from /opt/bin",
);
pub const PERM_WORLD_WRITABLE: Kind = warning(
    "perm/world-writable",
    "drop the write bit for others (chmod o-w) before zipping",
);
pub const PATH_BACKSLASH: Kind = error(
    "path/backslash",
    "zip with a tool that writes forward slashes (Windows' Compress-Archive before PowerShell 7 does not)",
);
pub const PATH_ABSOLUTE: Kind = error(
    "path/absolute",
    "zip from inside the folder so that entries are relative (cd dir && zip -r ../fn.zip .)",
);
pub const PATH_PARENT: Kind = error(
    "path/parent",
    "zip from the folder that holds everything; an entry may not climb out with ..",
);
pub const PATH_CONTROL_CHARACTER: Kind = error(
    "path/control-character",
    "rename the file without control characters: extractors cut a name at a NUL byte, so it can land on (and replace) another file",
);
pub const PATH_DUPLICATE: Kind = error(
    "path/duplicate",
    "rebuild the zip from the folder instead of appending to it or writing names by hand; only one of the entries survives extraction",
);
pub const PATH_CASE_COLLISION: Kind = warning(
    "path/case-collision",
    "rename one of them: they collide on case-insensitive file systems (macOS, Windows) and in most tools",
);
pub const PATH_NOT_UTF8: Kind = warning(
    "path/not-utf8",
    "rename the file with UTF-8 (or ASCII) characters; imports by name will not find it",
);
pub const LINK_ESCAPES: Kind = error(
    "link/escapes",
    "replace the link with the file it points to, or point it inside the package",
);
pub const LINK_DANGLING: Kind = warning("link/dangling", "remove the link or ship its target");
pub const LINK_TARGET_TOO_LONG: Kind = error(
    "link/target-too-long",
    "replace the link with the file it points to: Linux refuses a link target of 4,096 bytes or more, so it cannot be extracted",
);
pub const ZIP_COMPRESSION_METHOD: Kind = error(
    "zip/compression-method",
    "re-zip with deflate or store only (zip -r, or lamina build)",
);
pub const ZIP_ENCRYPTED: Kind = error(
    "zip/encrypted",
    "re-zip without a password: Lambda cannot decrypt entries",
);
pub const ZIP_CRC_MISMATCH: Kind = error("zip/crc-mismatch", "the zip is damaged: build it again");
pub const ZIP_CORRUPT_DATA: Kind = error("zip/corrupt-data", "the zip is damaged: build it again");
pub const ZIP_SIZE_MISMATCH: Kind = error(
    "zip/size-mismatch",
    "the zip is damaged or crafted: build it again from the source folder",
);
pub const ZIP_HEADER_MISMATCH: Kind = error(
    "zip/header-mismatch",
    "the zip is damaged or crafted: build it again from the source folder",
);
pub const ZIP_OVERLAPPING_ENTRIES: Kind = error(
    "zip/overlapping-entries",
    "entries that share data are the mark of a zip bomb: build the zip again from the source folder",
);
pub const ZIP_NEEDLESS_ZIP64: Kind = warning(
    "zip/needless-zip64",
    "re-zip without forcing zip64 (some extractors reject it); lamina build writes it only when needed",
);
pub const CHECK_CAPPED: Kind = warning(
    "check/capped",
    "the rest was not read, so it was not checked; run the check on the unpacked parts, or trust the writer",
);
pub const HANDLER_MISSING: Kind = error(
    "handler/missing",
    "fix the handler setting or ship the file at the path the runtime loads it from",
);
pub const HANDLER_NO_BOOTSTRAP: Kind = error(
    "handler/no-bootstrap",
    "ship an executable named bootstrap at the root of the function zip or of a layer",
);
pub const NATIVE_MACHO: Kind = error(
    "native/macho",
    "install dependencies on Linux for the function's architecture (in Docker, CI, or with npm --os=linux --cpu=x64 / pip --platform manylinux2014_x86_64 --only-binary=:all:)",
);
pub const NATIVE_PE: Kind = error(
    "native/pe",
    "install dependencies on Linux for the function's architecture (in Docker, CI, or with npm --os=linux / pip --platform manylinux2014_x86_64 --only-binary=:all:)",
);
pub const NATIVE_WRONG_ARCH: Kind = error(
    "native/wrong-arch",
    "install dependencies for the function's architecture, or change the function's architecture (--arch)",
);
pub const NATIVE_ELF32: Kind = error(
    "native/elf32",
    "install a 64-bit build: Lambda runs only 64-bit code",
);
pub const NATIVE_GLIBC: Kind = error(
    "native/glibc",
    "use a runtime on Amazon Linux 2023 (nodejs20.x and later, python3.12 and later, provided.al2023), or build against an older glibc (manylinux2014 wheels, an Amazon Linux 2 build image)",
);
pub const NATIVE_MUSL: Kind = warning(
    "native/musl",
    "Lambda's runtimes use glibc: install dependencies on a glibc Linux (not Alpine) unless this binary is an unused alternative",
);
pub const NATIVE_WHEEL_TAG: Kind = error(
    "native/wheel-tag",
    "install with pip --platform manylinux2014_x86_64 (or _aarch64) --python-version 3.X --only-binary=:all: for the function's runtime",
);
pub const LAYER_NODE_LAYOUT: Kind = error(
    "layer/node-layout",
    "put the layer's packages under nodejs/node_modules/ (or nodejs/nodeNN/node_modules/ for the runtime's Node version)",
);
pub const LAYER_PYTHON_LAYOUT: Kind = error(
    "layer/python-layout",
    "put the layer's packages under python/ (or python/lib/python3.X/site-packages/ for the runtime's Python version)",
);
pub const LAYER_OVERWRITE: Kind = warning(
    "layer/overwrite",
    "make sure the later layer's copy is the one you want, or remove the file from one of them",
);

/// Every finding, in the order `docs/rules.md` lists them.
pub const FINDINGS: &[Kind] = &[
    LIMIT_ZIPPED,
    LIMIT_UNZIPPED,
    LIMIT_CONSOLE_EDITOR,
    LIMIT_LAYER_COUNT,
    LIMIT_LAYER_UNZIPPED,
    LIMIT_ENV,
    PERM_UNREADABLE,
    PERM_NO_UNIX_MODE,
    PERM_NOT_EXECUTABLE,
    PERM_LAYER_PROGRAM_NOT_EXECUTABLE,
    PERM_WORLD_WRITABLE,
    PATH_BACKSLASH,
    PATH_ABSOLUTE,
    PATH_PARENT,
    PATH_CONTROL_CHARACTER,
    PATH_DUPLICATE,
    PATH_CASE_COLLISION,
    PATH_NOT_UTF8,
    LINK_ESCAPES,
    LINK_DANGLING,
    LINK_TARGET_TOO_LONG,
    ZIP_COMPRESSION_METHOD,
    ZIP_ENCRYPTED,
    ZIP_CRC_MISMATCH,
    ZIP_CORRUPT_DATA,
    ZIP_SIZE_MISMATCH,
    ZIP_HEADER_MISMATCH,
    ZIP_OVERLAPPING_ENTRIES,
    ZIP_NEEDLESS_ZIP64,
    CHECK_CAPPED,
    HANDLER_MISSING,
    HANDLER_NO_BOOTSTRAP,
    NATIVE_MACHO,
    NATIVE_PE,
    NATIVE_WRONG_ARCH,
    NATIVE_ELF32,
    NATIVE_GLIBC,
    NATIVE_MUSL,
    NATIVE_WHEEL_TAG,
    LAYER_NODE_LAYOUT,
    LAYER_PYTHON_LAYOUT,
    LAYER_OVERWRITE,
];

/// Sorts findings so the same artifact always gives the same list: whole-artifact findings
/// first, then by entry, id and message.
pub fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| (&a.entry, a.id, &a.message).cmp(&(&b.entry, b.id, &b.message)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_from_a_zip_are_cut_and_their_control_characters_escaped() {
        assert_eq!(excerpt("index.js"), "index.js");
        assert_eq!(excerpt("a\u{1b}[2Jb\0c"), "a\\u{1b}[2Jb\\u{0}c");
        let long = "é".repeat(1000);
        let shown = excerpt(&long);
        assert!(shown.len() < TEXT_CAP + 40, "{shown}");
        assert!(shown.ends_with("… (2000 bytes in all)"), "{shown}");
        assert_eq!(quoted("a\"b"), "\"a\\\"b\"");
        assert!(quoted(&"x".repeat(5000)).ends_with("\"… (5000 bytes in all)"));
        let finding = PATH_DUPLICATE.at(Some(&"y".repeat(70_000)), "twice");
        assert!(finding.entry.unwrap().len() < TEXT_CAP + 40);
    }

    #[test]
    fn an_artifact_lists_at_most_so_many_findings_of_a_kind() {
        let mut collector = Collector::default();
        for index in 0..250 {
            collector.push(PERM_UNREADABLE.at(Some(&format!("f{index:03}")), "mode 0600"));
        }
        collector.push(LINK_DANGLING.at(Some("l"), "a link to \"x\""));
        let (mut listed, unlisted) = collector.finish();
        assert_eq!(listed.len(), LISTED_PER_KIND + 1);
        assert_eq!(unlisted.count("perm/unreadable"), 150);
        // The same cap over what is found later (native, layout): 30 more, 180 unlisted.
        for index in 0..30 {
            listed.push(PERM_UNREADABLE.at(Some(&format!("g{index}")), "mode 0600"));
        }
        sort(&mut listed);
        cap(&mut listed, &unlisted);
        let unreadable: Vec<&Finding> = listed
            .iter()
            .filter(|finding| finding.id == "perm/unreadable")
            .collect();
        assert_eq!(unreadable.len(), LISTED_PER_KIND + 1);
        assert_eq!(unreadable[0].entry, None);
        assert_eq!(unreadable[0].severity, Severity::Error);
        assert!(
            unreadable[0].message.starts_with("180 more"),
            "{}",
            unreadable[0].message
        );
    }

    #[test]
    fn ids_are_unique_and_shaped_like_rule_ids() {
        let mut ids: Vec<&str> = FINDINGS.iter().map(|kind| kind.id).collect();
        ids.sort_unstable();
        let before = ids.len();
        ids.dedup();
        assert_eq!(before, ids.len(), "a finding id is listed twice");
        for id in ids {
            let (family, name) = id.split_once('/').expect("family/name");
            assert!(
                !family.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{id}"
            );
        }
    }
}
