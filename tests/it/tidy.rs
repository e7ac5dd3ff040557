//! Tidy checks on ARCHITECTURE.md: its code map names every source file, and every invariant
//! it states has a test that names it (`// invariant: ID` in the test's body or just above).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn architecture() -> String {
    fs_err::read_to_string(root().join("ARCHITECTURE.md")).unwrap()
}

/// Every `.rs` file under `folder`, relative to the repository root.
fn rust_files(folder: &Path, into: &mut Vec<String>) {
    for entry in fs_err::read_dir(folder).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, into);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            let relative = path.strip_prefix(root()).unwrap();
            into.push(relative.to_string_lossy().replace('\\', "/"));
        }
    }
}

/// The code map's sections: each `### ` heading's backticked folders (`src/node/`) and the
/// backticked names in its text.
fn sections(doc: &str) -> Vec<(Vec<String>, BTreeSet<String>)> {
    let map = doc
        .split_once("## Code map")
        .map(|(_, rest)| rest)
        .expect("ARCHITECTURE.md has a ## Code map");
    let map = map.split("\n## ").next().unwrap();
    let ticked = |text: &str| -> Vec<String> {
        text.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    };
    map.split("\n### ")
        .skip(1)
        .map(|section| {
            let (heading, body) = section.split_once('\n').unwrap_or((section, ""));
            (ticked(heading), ticked(body).into_iter().collect())
        })
        .collect()
}

#[test]
fn every_source_file_is_in_the_code_map() {
    let doc = architecture();
    let sections = sections(&doc);
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    rust_files(&root().join("xtask/src"), &mut files);
    let missing: Vec<&String> = files
        .iter()
        .filter(|file| {
            let (folder, name) = file.rsplit_once('/').unwrap();
            let folder = format!("{folder}/");
            let named_whole = doc.contains(&format!("`{file}`"));
            // Under a heading that names its folder, or in a section that names the folder.
            let named_in_section = sections.iter().any(|(headings, names)| {
                (headings.contains(&folder) || names.contains(&folder))
                    && (names.contains(name)
                        || names
                            .iter()
                            .any(|listed| listed.ends_with(&format!("/{name}"))))
            });
            // A heading may name the file itself (`src/report.rs`), or its module folder's
            // `mod.rs` by the folder.
            let heading_names_it = sections.iter().any(|(headings, _)| {
                headings
                    .iter()
                    .any(|heading| heading == *file || (name == "mod.rs" && *heading == folder))
            });
            !(named_whole || named_in_section || heading_names_it)
        })
        .collect();
    assert!(
        missing.is_empty(),
        "source files ARCHITECTURE.md's code map does not name (name them under their folder's heading): {missing:?}"
    );
}

/// The invariants' ids: `- **id**: text` under `## Invariants`.
fn invariants(doc: &str) -> Vec<String> {
    let section = doc
        .split_once("\n## Invariants")
        .map(|(_, rest)| rest)
        .expect("ARCHITECTURE.md has a ## Invariants section");
    let section = section.split("\n## ").next().unwrap();
    let items: Vec<&str> = section
        .lines()
        .filter(|line| line.starts_with("- "))
        .collect();
    let ids: Vec<String> = items
        .iter()
        .filter_map(|line| {
            line.strip_prefix("- **")
                .and_then(|rest| rest.split_once("**"))
                .map(|(id, _)| id.to_string())
        })
        .collect();
    assert_eq!(
        ids.len(),
        items.len(),
        "every invariant starts with its id: `- **id**: ...`"
    );
    ids
}

#[test]
fn every_invariant_has_a_test_that_names_it() {
    let doc = architecture();
    let ids = invariants(&doc);
    let mut files = Vec::new();
    rust_files(&root().join("tests"), &mut files);
    rust_files(&root().join("src"), &mut files);
    let mut named: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for file in &files {
        let text = fs_err::read_to_string(root().join(file)).unwrap();
        for line in text.lines() {
            if let Some(id) = line.trim().strip_prefix("// invariant: ") {
                named
                    .entry(id.trim().to_string())
                    .or_default()
                    .push(file.clone());
            }
        }
    }
    let untested: Vec<&String> = ids.iter().filter(|id| !named.contains_key(*id)).collect();
    assert!(
        untested.is_empty(),
        "invariants no test names with `// invariant: ID`: {untested:?}"
    );
    let unknown: Vec<&String> = named.keys().filter(|id| !ids.contains(id)).collect();
    assert!(
        unknown.is_empty(),
        "tests name invariants ARCHITECTURE.md does not state: {unknown:?}"
    );
}

// invariant: no-printing
#[test]
fn the_library_never_prints() {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    let printing: Vec<String> = files
        .iter()
        .filter(|file| *file != "src/main.rs")
        .flat_map(|file| {
            let text = fs_err::read_to_string(root().join(file)).unwrap();
            text.lines()
                .enumerate()
                .filter(|(_, line)| {
                    let code = line.split("//").next().unwrap_or("");
                    ["println!(", "eprintln!(", "print!(", "eprint!(", "dbg!("]
                        .iter()
                        .any(|call| code.contains(call))
                })
                .map(|(number, _)| format!("{file}:{}", number + 1))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(printing.is_empty(), "only main.rs prints: {printing:?}");
}

// invariant: io-errors-name-their-path
#[test]
fn no_library_error_converts_from_a_bare_io_error() {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    let converting: Vec<String> = files
        .iter()
        .flat_map(|file| {
            let text = fs_err::read_to_string(root().join(file)).unwrap();
            let code: String = text
                .lines()
                .map(|line| line.split("//").next().unwrap_or(""))
                .collect::<Vec<_>>()
                .join(" ");
            let code = code.split_whitespace().collect::<Vec<_>>().join(" ");
            [
                "#[from] std::io::Error",
                "#[from] io::Error",
                "From<std::io::Error> for",
                "From<io::Error> for",
            ]
            .iter()
            .filter(|conversion| code.contains(*conversion))
            .map(|conversion| format!("{file}: {conversion}"))
            .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        converting.is_empty(),
        "an io::Error becomes a library error only with its path (Error::io, src/fs.rs): {converting:?}"
    );
}
