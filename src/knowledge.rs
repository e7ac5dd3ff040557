//! lamina's reviewed knowledge of popular packages (`data/packages.toml`, Python and npm): what
//! they load at run time that reading their code cannot show, or shows as dynamic although what
//! it loads is known. Every lookup goes through this module, and every entry carries its evidence and a
//! proof install that `tests/it/knowledge.rs` runs; the report names the entries it used.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;
use std::sync::OnceLock;

use pep440_rs::{Version, VersionSpecifiers};
use serde::Deserialize;

/// The file, compiled in.
pub const SOURCE: &str = include_str!("../data/packages.toml");

/// Where the entries come from, as reports name it.
pub const FILE: &str = "data/packages.toml";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Knowledge {
    #[serde(default)]
    pub python: Python,
    #[serde(default)]
    pub node: Node,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Node {
    #[serde(default)]
    pub locates: Vec<NodeLocates>,
    #[serde(default)]
    pub loads: Vec<NodeLoads>,
    #[serde(default)]
    pub data: Vec<NodeData>,
    #[serde(default)]
    pub named_by: Vec<NodeNamedBy>,
}

/// A package's computed `require` of scripts in one of its folders, by a name only some APIs
/// pass in: which scripts it can load follows from the arguments of those calls.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeNamedBy {
    pub package: String,
    /// PEP 440 specifiers over the package's version (npm versions read as PEP 440 ones).
    pub versions: String,
    /// The file, as a path in the package.
    pub file: String,
    /// The site, `line: code` as the report shows it, or the start of it.
    pub site: String,
    /// The folder of scripts it loads from, as a path in the package (`locale`).
    pub folder: String,
    /// Members whose calls, on any object, name a script by their first argument (a name or
    /// an array of names), and by the property `parent` of their second.
    pub methods: Vec<String>,
    pub parent: String,
    /// Modules whose value, called, or its members `module_members` called, name a script by
    /// the argument at `argument` (0-based).
    pub modules: Vec<String>,
    pub module_members: Vec<String>,
    pub argument: usize,
    /// Other packages whose code was reviewed (each with PEP 440 specifiers over its version):
    /// they call the APIs only with the names their callers pass (moment-timezone's `tz`).
    #[serde(default)]
    pub reviewed: BTreeMap<String, String>,
    pub why: String,
    pub evidence: String,
    /// The e2e apps whose installs hold this version, and the script
    /// (`testdata/knowledge/<probe>`) that proves the entry on each by running the APIs.
    pub proof: Vec<String>,
    pub probe: String,
}

/// Files of a package that code reaches only through some members of other packages' modules.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeData {
    pub package: String,
    /// PEP 440 specifiers over the package's version (npm versions read as PEP 440 ones).
    pub versions: String,
    /// A folder of the package, as a path in the package, or a pattern of its files where a
    /// `*` stands for part of one name (`lib/*/diagnosticMessages.generated.json`).
    pub files: String,
    /// The packages whose code was reviewed (each with PEP 440 specifiers over its version):
    /// between them, they reach the files only through `used_by`.
    pub within: BTreeMap<String, String>,
    /// The modules of `within` other code loads (`express`), as exact specifiers.
    pub apis: Vec<String>,
    /// The members of `apis` that reach the files (`text`).
    pub used_by: Vec<String>,
    pub why: String,
    pub evidence: String,
    /// The e2e apps (`testdata/apps/<proof>` or `testdata/corpus/<proof>`) whose installs hold
    /// these versions, and the script (`testdata/knowledge/<probe>`) that proves the entry
    /// on each by running the APIs.
    pub proof: Vec<String>,
    pub probe: String,
}

impl NodeData {
    /// Whether `path` (a path in the package) is one of the entry's files.
    pub fn holds(&self, path: &str) -> bool {
        if self.files.contains('*') {
            return matches_path(&self.files, path);
        }
        path.strip_prefix(self.files.as_str())
            .is_some_and(|rest| rest.starts_with('/'))
    }

    /// The entry's files as notes show them: `encodings/tables/`, or the pattern.
    pub fn shown(&self) -> String {
        if self.files.contains('*') {
            self.files.clone()
        } else {
            format!("{}/", self.files)
        }
    }
}

/// A package file's computed `require`/`import()`, or `eval`/`new Function`/`vm` of code
/// lamina cannot read, whose loads are known.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeLoads {
    pub package: String,
    /// PEP 440 specifiers over the package's version (npm versions read as PEP 440 ones).
    pub versions: String,
    /// The file, as a path in the package.
    pub file: String,
    /// The sites it covers, each `line: code` as the report shows it, or the start of it.
    pub sites: Vec<String>,
    /// The files (or folders, ending in `/`) of the package they can load, as paths in the
    /// package; the trace follows their imports. Empty: nothing of the package.
    #[serde(default)]
    pub loads: Vec<String>,
    /// Whether they load packages the caller names (`app.set("view engine", "ejs")`): then
    /// the package names your code holds as strings, and your own production dependencies
    /// (a name may come from elsewhere: `res.render("page.hbs")`), are followed.
    #[serde(default)]
    pub caller_names: bool,
    /// With `caller_names`, a name the loaded module must export for the load to succeed
    /// (`__express`): of your own dependencies, only those with a script that holds it are
    /// followed.
    pub caller_exports: Option<String>,
    pub why: String,
    pub evidence: String,
    /// The e2e app (`testdata/apps/<proof>`) whose handler runs every site, or in whose
    /// install the script `testdata/knowledge/<probe>` does (a site only a server or a tool
    /// reaches), showing what it loads.
    pub proof: String,
    pub probe: Option<String>,
}

/// A package file's use of its own location that lamina cannot fold, whose reads are known.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeLocates {
    pub package: String,
    /// PEP 440 specifiers over the package's version (npm versions read as PEP 440 ones).
    pub versions: String,
    /// The file, as a path in the package.
    pub file: String,
    /// The code at each site it covers, as the report shows it.
    pub calls: Vec<String>,
    /// The files it reads, as paths in the package; a `*` stands for any part of one name
    /// (`lib/lib.*.d.ts`). No junk rule drops them, in any mode: the package reads them.
    pub reads: Vec<String>,
    pub why: String,
    pub evidence: String,
    /// The e2e app (`testdata/apps/<proof>`) that proves it.
    pub proof: String,
}

impl NodeLocates {
    /// Whether the entry reads `path` (a path in the package).
    pub fn reads_path(&self, path: &str) -> bool {
        self.reads.iter().any(|read| matches_path(read, path))
    }
}

/// Whether `path` matches `pattern`, name by name, where a `*` stands for any part of a name.
pub fn matches_path(pattern: &str, path: &str) -> bool {
    let (patterns, names): (Vec<&str>, Vec<&str>) =
        (pattern.split('/').collect(), path.split('/').collect());
    patterns.len() == names.len()
        && patterns
            .iter()
            .zip(&names)
            .all(|(pattern, name)| matches_name(pattern, name))
}

fn matches_name(pattern: &str, name: &str) -> bool {
    let Some((head, rest)) = pattern.split_once('*') else {
        return pattern == name;
    };
    let Some(mut left) = name.strip_prefix(head) else {
        return false;
    };
    let mut pieces = rest.split('*').peekable();
    while let Some(piece) = pieces.next() {
        if pieces.peek().is_none() {
            return left.len() >= piece.len() && left.ends_with(piece);
        }
        match left.find(piece) {
            Some(at) => left = &left[at + piece.len()..],
            None => return false,
        }
    }
    true
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Python {
    /// Named proof installs: every pinned requirement of each.
    #[serde(default)]
    pub proofs: BTreeMap<String, Proof>,
    #[serde(default)]
    pub imports: Vec<PythonImport>,
    #[serde(default)]
    pub data: Vec<PythonData>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proof {
    pub requirements: Vec<String>,
}

/// A computed import whose names are known.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PythonImport {
    pub distribution: String,
    /// PEP 440 specifiers of the versions it holds for.
    pub versions: String,
    /// The file, as a path in the artifact.
    pub file: String,
    /// The call's code, as the site reads (`line: code`, whitespace collapsed).
    pub call: String,
    /// Modules it can load; the trace reaches them.
    #[serde(default)]
    pub loads: Vec<String>,
    /// A package every module of which it can load.
    pub within: Option<String>,
    pub why: String,
    pub evidence: String,
    pub proof: String,
    pub probe: String,
}

/// Non-module files of a distribution that only some APIs read.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PythonData {
    pub distribution: String,
    pub versions: String,
    /// A folder of the distribution, as a path in the artifact.
    pub files: String,
    /// Names of the functions or methods that read them.
    pub used_by: Vec<String>,
    pub why: String,
    pub evidence: String,
    pub proof: String,
    pub probe: String,
    /// Code that uses the distribution without those APIs.
    pub without: String,
}

impl PythonData {
    /// Whether `path` is one of the entry's files.
    pub fn holds(&self, path: &str) -> bool {
        path.strip_prefix(self.files.as_str())
            .is_some_and(|rest| rest.starts_with('/'))
    }
}

/// The parsed file; a unit test proves it parses.
pub fn knowledge() -> &'static Knowledge {
    static PARSED: OnceLock<Knowledge> = OnceLock::new();
    PARSED.get_or_init(|| toml::from_str(SOURCE).expect("data/packages.toml parses (unit-tested)"))
}

/// `aws_lambda_powertools`, `AWS-Lambda-Powertools` → `aws-lambda-powertools` (PEP 503).
fn normalize(name: &str) -> String {
    name.to_ascii_lowercase().replace(['_', '.'], "-")
}

/// Whether an entry for `distribution` and `versions` covers this distribution and version.
fn covers(distribution: &str, versions: &str, name: &str, version: &str) -> bool {
    normalize(distribution) == normalize(name) && in_range(versions, version)
}

/// Whether `version` satisfies the PEP 440 specifiers `versions` (npm versions read as PEP 440
/// ones); either failing to parse is no match.
pub fn in_range(versions: &str, version: &str) -> bool {
    match (
        VersionSpecifiers::from_str(versions),
        Version::from_str(version),
    ) {
        (Ok(specifiers), Ok(version)) => specifiers.contains(&version),
        _ => false,
    }
}

/// The entry for a computed import at `site` (`line: code`) of `file`, in this version of
/// this distribution.
pub fn python_import(
    name: &str,
    version: &str,
    file: &str,
    site: &str,
) -> Option<&'static PythonImport> {
    knowledge().python.imports.iter().find(|entry| {
        entry.file == file
            && site.ends_with(entry.call.as_str())
            && covers(&entry.distribution, &entry.versions, name, version)
    })
}

/// The data entries for this version of this distribution.
pub fn python_data(name: &str, version: &str) -> impl Iterator<Item = &'static PythonData> {
    let (name, version) = (name.to_string(), version.to_string());
    knowledge()
        .python
        .data
        .iter()
        .filter(move |entry| covers(&entry.distribution, &entry.versions, &name, &version))
}

/// The entry for a use of its own location at `site` (`line: code`) of `file` (a path in the
/// package), in this version of this npm package.
pub fn node_locates(
    package: &str,
    version: &str,
    file: &str,
    site: &str,
) -> Option<&'static NodeLocates> {
    knowledge().node.locates.iter().find(|entry| {
        entry.package == package
            && entry.file == file
            && entry.calls.iter().any(|call| {
                site.strip_suffix(call.as_str())
                    .is_some_and(|head| head.ends_with(": "))
            })
            && in_range(&entry.versions, version)
    })
}

/// Whether a reviewed entry says this version of this npm package reads `path` (a path in the
/// package) at run time: then no junk rule may drop it (TypeScript's `lib/lib.*.d.ts`).
pub fn node_reads(package: &str, version: &str, path: &str) -> bool {
    knowledge().node.locates.iter().any(|entry| {
        entry.package == package && entry.reads_path(path) && in_range(&entry.versions, version)
    })
}

/// The entry for a computed load or run of code at `site` (`line: code`) of `file` (a path in
/// the package), in this version of this npm package.
pub fn node_loads(
    package: &str,
    version: &str,
    file: &str,
    site: &str,
) -> Option<&'static NodeLoads> {
    knowledge().node.loads.iter().find(|entry| {
        entry.package == package
            && entry.file == file
            && entry
                .sites
                .iter()
                .any(|start| site.starts_with(start.as_str()))
            && in_range(&entry.versions, version)
    })
}

/// The data entries for this version of this npm package.
pub fn node_data(package: &str, version: &str) -> impl Iterator<Item = &'static NodeData> {
    let (package, version) = (package.to_string(), version.to_string());
    knowledge()
        .node
        .data
        .iter()
        .filter(move |entry| entry.package == package && in_range(&entry.versions, &version))
}

/// The entries for this version of this npm package whose loads its callers name.
pub fn node_named_by(package: &str, version: &str) -> impl Iterator<Item = &'static NodeNamedBy> {
    let (package, version) = (package.to_string(), version.to_string());
    knowledge()
        .node
        .named_by
        .iter()
        .filter(move |entry| entry.package == package && in_range(&entry.versions, &version))
}

/// Every API name a data entry depends on: the calls the import reader records.
pub fn python_api_names() -> &'static BTreeSet<String> {
    static NAMES: OnceLock<BTreeSet<String>> = OnceLock::new();
    NAMES.get_or_init(|| {
        knowledge()
            .python
            .data
            .iter()
            .flat_map(|entry| entry.used_by.iter().cloned())
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_parses_and_every_entry_is_complete() {
        let python = &knowledge().python;
        assert!(!python.imports.is_empty() && !python.data.is_empty());
        let mut versions: Vec<&str> = python.imports.iter().map(|e| e.versions.as_str()).collect();
        versions.extend(python.data.iter().map(|e| e.versions.as_str()));
        for specifiers in versions {
            assert!(
                VersionSpecifiers::from_str(specifiers).is_ok(),
                "{specifiers} is not a PEP 440 specifier set"
            );
        }
        let proofs: Vec<&str> = python
            .imports
            .iter()
            .map(|e| e.proof.as_str())
            .chain(python.data.iter().map(|e| e.proof.as_str()))
            .collect();
        for proof in proofs {
            assert!(
                python.proofs.contains_key(proof),
                "no proof install {proof}"
            );
        }
        for entry in &python.imports {
            assert!(
                entry.evidence.starts_with(&format!("{}:", entry.file)),
                "{}: the evidence names another file",
                entry.file
            );
            assert!(!entry.probe.is_empty() && !entry.why.is_empty());
        }
        for entry in &python.data {
            assert!(!entry.used_by.is_empty() && !entry.files.ends_with('/'));
        }
        for entry in &knowledge().node.locates {
            assert!(VersionSpecifiers::from_str(&entry.versions).is_ok());
            assert!(entry.evidence.starts_with(&format!("{}:", entry.file)));
            assert!(!entry.reads.is_empty());
        }
        for entry in &knowledge().node.loads {
            assert!(VersionSpecifiers::from_str(&entry.versions).is_ok());
            assert!(!entry.sites.is_empty() && !entry.why.is_empty());
            for site in &entry.sites {
                let (line, code) = site.split_once(": ").expect("a site is `line: code`");
                assert!(line.parse::<usize>().is_ok() && !code.is_empty(), "{site}");
            }
        }
    }

    #[test]
    fn entries_match_their_distribution_version_file_and_call() {
        let site = "125: mod = __import__(module, fromlist=[name])";
        let found = python_import("numpy", "1.26.4", "numpy/core/__init__.py", site);
        assert!(found.is_some_and(|entry| entry.loads.is_empty()));
        assert!(python_import("NumPy", "2.2.6", "numpy/core/__init__.py", site).is_some());
        assert!(python_import("numpy", "1.21.0", "numpy/core/__init__.py", site).is_none());
        assert!(python_import("numpy", "1.26.4", "numpy/core/other.py", site).is_none());
        assert!(python_import("numpy", "1.26.4", "numpy/core/__init__.py", "1: x(y)").is_none());
        assert!(python_import("other", "1.26.4", "numpy/core/__init__.py", site).is_none());
        let data: Vec<_> = python_data("aws_lambda_powertools", "3.37.0").collect();
        assert_eq!(data.len(), 1);
        assert!(data[0].holds("aws_lambda_powertools/event_handler/openapi/swagger_ui/x.js"));
        assert!(!data[0].holds("aws_lambda_powertools/event_handler/openapi/swagger_uix"));
        assert!(python_api_names().contains("enable_swagger"));
        let sql = node_locates("sql.js", "1.17.0", "dist/sql-wasm.js", "124: __filename");
        assert!(sql.is_some_and(|entry| entry.reads == ["dist/sql-wasm.wasm"]));
        assert!(node_locates("sql.js", "1.18.0", "dist/sql-wasm.js", "124: __filename").is_none());
        assert!(node_locates("sql.js", "1.17.0", "dist/sql-asm.js", "124: __filename").is_none());
        let site = "81: require(mod)";
        let view = node_loads("express", "5.2.1", "lib/view.js", site);
        assert!(view.is_some_and(|entry| entry.loads.is_empty() && entry.caller_names));
        assert!(node_loads("express", "4.22.3", "lib/view.js", site).is_some());
        assert!(node_loads("express", "4.21.2", "lib/view.js", site).is_none());
        let tables = node_data("iconv-lite", "0.4.24").collect::<Vec<_>>();
        assert!(tables.len() == 1 && tables[0].holds("encodings/tables/shiftjis.json"));
        assert!(!tables[0].holds("encodings/tables.js"));
        assert!(tables[0].within["body-parser"] == "~=1.20.3");
        assert_eq!(node_data("iconv-lite", "0.6.3").count(), 0);
        let messages = node_data("typescript", "5.6.3").collect::<Vec<_>>();
        assert!(
            messages.len() == 1 && messages[0].holds("lib/ja/diagnosticMessages.generated.json")
        );
        assert!(!messages[0].holds("lib/diagnosticMessages.generated.json"));
        assert!(!messages[0].holds("lib/ja/other.json"));
        assert_eq!(messages[0].shown(), messages[0].files);
        assert_eq!(tables[0].shown(), "encodings/tables/");
        let moment = node_named_by("moment", "2.31.0").collect::<Vec<_>>();
        assert!(moment.len() == 1 && moment[0].folder == "locale" && moment[0].argument == 2);
        assert_eq!(node_named_by("moment", "2.30.1").count(), 1);
        assert_eq!(node_named_by("moment", "2.29.4").count(), 0);
        assert!(node_loads("express", "5.2.1", "lib/view.js", "82: require(mod)").is_none());
        assert!(node_reads("typescript", "5.6.3", "lib/lib.es2020.d.ts"));
        assert!(!node_reads("typescript", "5.6.3", "lib/lib.d.ts.map"));
        assert!(!node_reads("typescript", "5.7.2", "lib/lib.es2020.d.ts"));
        assert!(!node_reads("other", "5.6.3", "lib/lib.es2020.d.ts"));
    }

    #[test]
    fn a_star_stands_for_part_of_one_name() {
        for (pattern, path) in [
            ("lib/lib.*.d.ts", "lib/lib.es5.d.ts"),
            ("lib/lib.*.d.ts", "lib/lib..d.ts"),
            ("lib/*/messages.json", "lib/pt-br/messages.json"),
            ("a*b*c", "abc"),
            ("a*b*c", "axxbyyc"),
            ("dist/x.wasm", "dist/x.wasm"),
        ] {
            assert!(matches_path(pattern, path), "{pattern} {path}");
        }
        for (pattern, path) in [
            ("lib/lib.*.d.ts", "lib/lib.d.ts"),
            ("lib/lib.*.d.ts", "lib/x/lib.es5.d.ts"),
            ("lib/*/messages.json", "lib/messages.json"),
            ("lib/*/messages.json", "lib/a/b/messages.json"),
            ("a*b*c", "acb"),
            ("a*bc", "abc-bc-x"),
            ("dist/x.wasm", "dist/x.wasm.map"),
        ] {
            assert!(!matches_path(pattern, path), "{pattern} {path}");
        }
    }
}
