//! `--shake files`: narrows the package-level plan to the files the tracer reached from the
//! handler, except in packages (and user code) it had to keep whole.

use std::collections::{BTreeMap, HashSet};

use super::imports::is_script;
use super::shake::apply_package_rules;
use crate::model::{
    Decision, Inventory, Owner, PackageDecision, PackageId, Reason, Trace, TraceUnit, Traced,
};
use crate::scan::walk::{join, parent};

const UNREACHED: &str = "trace/unreached";

fn unreached() -> Decision {
    Decision {
        keep: false,
        reason: Reason::Rule(UNREACHED),
    }
}

/// Applies the trace to the package-level decisions; returns how each kept package was treated.
pub fn refine(
    inventory: &Inventory,
    trace: &Trace,
    packages: &mut [PackageDecision],
    files: &mut [Decision],
    notes: &mut Vec<String>,
) -> BTreeMap<PackageId, Traced> {
    // Whole packages: what they load cannot be narrowed. Every file of one was reached, so
    // what it imports was traced: whole-keeping does not spread to what it depends on.
    let mut whole: BTreeMap<PackageId, String> = BTreeMap::new();
    for (unit, reason) in &trace.whole {
        if let TraceUnit::Package(id) = unit {
            whole.insert(*id, reason.clone());
        }
    }
    if let Some(reason) = &trace.all_packages {
        notes.push(format!("every kept package is kept whole: {reason}"));
        for (package, decision) in inventory.packages.iter().zip(packages.iter()) {
            if decision.keep && !whole.contains_key(&package.id) {
                whole.insert(
                    package.id,
                    format!("the user's code may load any package ({reason})"),
                );
            }
        }
    }
    let partly: Vec<String> = trace
        .partly
        .iter()
        .filter_map(|(unit, reasons)| match unit {
            TraceUnit::Package(id) if !whole.contains_key(id) => {
                let package = inventory.package(*id);
                Some(format!(
                    "{}@{} ({})",
                    package.name,
                    package.version,
                    reasons.first()?
                ))
            }
            _ => None,
        })
        .collect();
    if !partly.is_empty() {
        let listed: Vec<&str> = partly.iter().map(String::as_str).collect();
        notes.push(format!(
            "{} package(s) ship more than their imports reach, for code that finds files or modules by computed names: {}",
            partly.len(),
            crate::model::first_few(&listed)
        ));
    }

    if !trace.inert.is_empty() {
        // `path:line` of each (`lamina why PACKAGE` gives the whole reason).
        let listed: Vec<&str> = trace
            .inert
            .iter()
            .map(|reason| reason.split(": ").next().unwrap_or(reason))
            .collect();
        notes.push(format!(
            "{} dynamic site(s) that {} knows load nothing of their package keep nothing whole: {}",
            listed.len(),
            crate::knowledge::FILE,
            crate::model::first_few(&listed)
        ));
    }

    let index: std::collections::HashMap<&str, usize> = inventory
        .files
        .iter()
        .enumerate()
        .map(|(i, file)| (file.path.as_str(), i))
        .collect();
    let mut traced = BTreeMap::new();
    for package in &inventory.packages {
        let decision = &mut packages[package.id.0];
        let reached: Vec<usize> = package
            .files
            .iter()
            .copied()
            .filter(|file| trace.reached.contains_key(file))
            .collect();
        let in_whole = whole.get(&package.id);
        if reached.is_empty() && (in_whole.is_none() || !decision.keep) {
            if decision.keep {
                decision.keep = false;
                decision.reason = Reason::Unneeded(
                    "unreached: no file of it is imported from the handler".to_string(),
                );
                for &file in &package.files {
                    files[file] = unreached();
                }
            }
            continue;
        }
        if !decision.keep {
            // Reached, though no kept package declares it (an undeclared dependency).
            decision.keep = true;
            decision.reason = Reason::Needed(
                "reached by the trace, though no kept package declares it".to_string(),
            );
            apply_package_rules(inventory, package, files);
        }
        if let Some(reason) = in_whole {
            traced.insert(package.id, Traced::Whole(reason.clone()));
            continue;
        }
        // Keep what is reached, the package's own package.json and any package.json between
        // a reached file and the package folder (it decides whether `.js` is ESM).
        let mut keep: HashSet<usize> = reached.iter().copied().collect();
        for &file in &reached {
            let mut folder = parent(&inventory.files[file].path);
            while folder.len() >= package.path.len() {
                if let Some(&manifest) = index.get(join(folder, "package.json").as_str()) {
                    keep.insert(manifest);
                }
                folder = parent(folder);
            }
        }
        // Licence files stay, as every rule keeps them (`docs/rules.md`): at the package's
        // root, the terms the code ships under.
        for &file in &package.files {
            let path = &inventory.files[file].path;
            if parent(path) == package.path
                && crate::shake::rules::is_licence(crate::shake::rules::file_name(path))
            {
                keep.insert(file);
            }
        }
        for &file in &package.files {
            // A file only a computed path or `require` may name keeps a junk rule's drop.
            let named =
                keep.contains(&file) && (files[file].keep || !trace.broadly.contains(&file));
            files[file] = if named {
                Decision {
                    keep: true,
                    reason: Reason::InKeptPackage,
                }
            } else {
                unreached()
            };
        }
        traced.insert(package.id, Traced::Files);
    }

    // The user's own scripts ship only when reached, unless the user's code is kept whole.
    // Other files of the user's (templates, data) may be read by a path lamina cannot see.
    if let Some(reason) = trace.whole.get(&TraceUnit::User) {
        notes.push(format!("your code is kept whole: {reason}"));
    } else {
        for (file, entry) in inventory.files.iter().enumerate() {
            if entry.owner == Owner::User
                && files[file].keep
                && is_script(&entry.path)
                && !trace.reached.contains_key(&file)
            {
                files[file] = unreached();
            }
        }
    }
    traced
}
