//! Files of a package that code reaches only through some APIs of other packages
//! (`[[node.data]]` in `data/packages.toml`): iconv-lite's double-byte tables, which
//! body-parser's `json()` and `urlencoded()` never decode with, as they refuse other charsets
//! first. The tracer reaches them (the `require`s are literal, inside the codecs), so with
//! `--shake files` they would always ship; this pass drops them (rule `trace/package-data`)
//! when no reached code outside the reviewed packages reads an API that reaches them, loads
//! one of those packages' other modules, or uses their modules in a way lamina cannot follow.

use crate::knowledge::NodeData;
use crate::model::{Decision, Inventory, Package, Reason, Trace, TraceUnit};

use crate::python::refine::PACKAGE_DATA;

/// Drops the files of each `[[node.data]]` entry that no reached code can reach; returns what
/// to note.
pub fn prune(
    inventory: &Inventory,
    trace: &Trace,
    files: &mut [Decision],
    read: &dyn Fn(usize) -> Option<String>,
) -> Vec<String> {
    let mut notes = Vec::new();
    for package in &inventory.packages {
        for entry in crate::knowledge::node_data(&package.name, &package.version) {
            let folder = format!("{}/", package.path);
            let held: Vec<usize> = package
                .files
                .iter()
                .copied()
                .filter(|&file| {
                    files[file].keep
                        && inventory.files[file]
                            .path
                            .strip_prefix(&folder)
                            .is_some_and(|inside| entry.holds(inside))
                })
                .collect();
            if held.is_empty() {
                continue;
            }
            match reason_to_ship(inventory, trace, package, entry, read) {
                Some(reason) => notes.push(format!(
                    "{}{} ships: {reason} ({})",
                    folder,
                    entry.shown(),
                    crate::knowledge::FILE
                )),
                None => {
                    let mut dropped = 0;
                    for file in held {
                        dropped += inventory.files[file].bytes;
                        files[file] = Decision {
                            keep: false,
                            reason: Reason::Rule(PACKAGE_DATA),
                        };
                    }
                    notes.push(format!(
                        "{}{} does not ship ({}): {}, and no reached code uses {} of {} ({})",
                        folder,
                        entry.shown(),
                        crate::model::human_bytes(dropped),
                        entry.why,
                        entry.used_by.join(", "),
                        entry.apis.join(" or "),
                        crate::knowledge::FILE
                    ));
                }
            }
        }
    }
    notes
}

/// Why the entry's files must ship, if they must: a reviewed package in a version the entry
/// does not cover or kept beyond its imports, or code that ships outside the reviewed packages
/// (reached, or in a package kept whole) that reads an API reaching them, loads another module
/// of those packages, or uses theirs in a way lamina cannot follow.
fn reason_to_ship(
    inventory: &Inventory,
    trace: &Trace,
    package: &Package,
    entry: &NodeData,
    read: &dyn Fn(usize) -> Option<String>,
) -> Option<String> {
    if let Some(reason) = &trace.all_packages {
        return Some(format!("your code may load anything ({reason})"));
    }
    let reviewed = |candidate: &Package| {
        candidate.id == package.id || entry.within.contains_key(&candidate.name)
    };
    for candidate in inventory.packages.iter().filter(|p| reviewed(p)) {
        let unit = TraceUnit::Package(candidate.id);
        let reached = candidate
            .files
            .iter()
            .any(|file| trace.reached.contains_key(file));
        if !reached {
            continue;
        }
        if let Some(range) = entry.within.get(&candidate.name)
            && !crate::knowledge::in_range(range, &candidate.version)
        {
            return Some(format!(
                "{} {} is not a version the entry was proved on ({range})",
                candidate.name, candidate.version
            ));
        }
        if let Some(reason) = trace.whole.get(&unit) {
            return Some(format!("{} is kept whole ({reason})", candidate.name));
        }
        // What a reviewed entry says a site loads or reads is known: only other sites count.
        let reviewed_site =
            |reason: &&String| reason.ends_with(&format!("({})", crate::knowledge::FILE));
        if let Some(reason) = trace
            .partly
            .get(&unit)
            .and_then(|reasons| reasons.iter().find(|reason| !reviewed_site(reason)))
        {
            return Some(format!(
                "{} loads by a computed name ({reason})",
                candidate.name
            ));
        }
    }
    let owned_by_reviewed = |file: usize| match inventory.files[file].owner {
        crate::model::Owner::Package(id) => reviewed(inventory.package(id)),
        _ => false,
    };
    let names: Vec<&str> = std::iter::once(package.name.as_str())
        .chain(entry.within.keys().map(String::as_str))
        .collect();
    let is_api = |specifier: &str| entry.apis.iter().any(|api| api == specifier);
    for file in code_that_ships(inventory, trace) {
        let path = &inventory.files[file].path;
        if owned_by_reviewed(file) || !super::imports::is_script(path) {
            continue;
        }
        // Only a file that quotes one of the packages' names can load them.
        let Some(text) = read(file) else {
            return Some(format!("{path} cannot be read"));
        };
        if !names
            .iter()
            .any(|name| super::module_use::quotes(&text, name))
        {
            continue;
        }
        let quoted = super::module_use::quoted_specifiers(&text, &names);
        if let Some(other) = quoted.iter().find(|specifier| {
            !is_api(specifier)
                && names.iter().any(|name| {
                    specifier
                        .strip_prefix(name)
                        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
                })
        }) {
            return Some(format!("{path} names {other}"));
        }
        let uses = super::imports::with_program(path, &text, |program, _| {
            super::module_use::module_use(program, &text, &is_api, &names, true)
        });
        let uses = match uses {
            Ok(uses) => uses,
            Err(error) => return Some(format!("{path} does not parse ({error})")),
        };
        if let Some(site) = uses.escapes.first() {
            return Some(format!(
                "lamina cannot follow {} at {path}:{site}",
                entry.apis.join(" or ")
            ));
        }
        if let Some((member, site)) = uses
            .members
            .iter()
            .find(|(member, _)| entry.used_by.contains(member))
        {
            return Some(format!("{path}:{site} uses {member}"));
        }
    }
    None
}

/// The files whose code may run: the reached ones, and every file of a package kept whole
/// (which ships, so may run); by path, so notes are the same on every run.
pub(super) fn code_that_ships(inventory: &Inventory, trace: &Trace) -> Vec<usize> {
    let mut files: Vec<usize> = trace.reached.keys().copied().collect();
    for unit in trace.whole.keys() {
        if let TraceUnit::Package(id) = unit {
            files.extend(inventory.package(*id).files.iter().copied());
        }
    }
    files.sort_unstable_by(|a, b| inventory.files[*a].path.cmp(&inventory.files[*b].path));
    files.dedup();
    files
}
