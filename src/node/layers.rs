//! Node.js packages that can move to a shared layer: a hoisted package folder with the
//! hoisted packages it needs (its closure), identical across functions, to `nodejs/node_modules`.

use std::collections::{BTreeMap, BTreeSet};

use crate::dedupe::{Candidate, Input, hash_parts};

/// `node_modules/NAME` or `node_modules/@SCOPE/NAME`: hoisted at the top of `node_modules`.
fn hoisted(path: &str) -> bool {
    let Some(rest) = path.strip_prefix("node_modules/") else {
        return false;
    };
    let parts: Vec<&str> = rest.split('/').collect();
    match parts.as_slice() {
        [name] => !name.starts_with('.'),
        [scope, _] => scope.starts_with('@'),
        _ => false,
    }
}

/// The candidates of one function, keyed by identity (the closure's paths and contents).
pub fn candidates(input: &Input<'_>, notes: &mut Vec<String>) -> BTreeMap<[u8; 32], Candidate> {
    let inventory = input.inventory;
    let plan = input.plan;
    let group = input.group();
    let kept = |file: usize| plan.files[file].keep;
    let mut found = BTreeMap::new();
    // Own contents and direct top-level needs of every hoisted kept package.
    struct Own {
        digest: [u8; 32],
        files: Vec<usize>,
        needs: BTreeSet<String>,
        movable: bool,
        label: String,
    }
    let mut own: BTreeMap<String, Own> = BTreeMap::new();
    for (id, package) in inventory.packages.iter().enumerate() {
        if !plan.packages[id].keep || !hoisted(&package.path) {
            continue;
        }
        let prefix = format!("{}/", package.path);
        let files: Vec<usize> = inventory
            .files
            .iter()
            .enumerate()
            .filter(|(i, file)| kept(*i) && file.path.starts_with(&prefix))
            .map(|(i, _)| i)
            .collect();
        // Links may point anywhere in the function; a folder without them moves as is.
        let mut movable = files
            .iter()
            .all(|&i| inventory.files[i].link_target.is_none() && input.digests[i].is_some());
        let mut needs = BTreeSet::new();
        for inner in inventory
            .packages
            .iter()
            .filter(|inner| inner.path == package.path || inner.path.starts_with(&prefix))
        {
            for dependency in &inner.dependencies {
                let Some(target) = dependency.target else {
                    continue;
                };
                if !plan.packages[target.0].keep {
                    continue;
                }
                let target = inventory.package(target);
                if target.path.starts_with(&prefix) || target.path == package.path {
                    continue;
                }
                if hoisted(&target.path) {
                    needs.insert(target.path.clone());
                } else {
                    // Resolved somewhere a layer cannot see (a pnpm store, a parent's
                    // nested folder): it stays where Node finds it today.
                    movable = false;
                }
            }
        }
        let parts: Vec<Vec<u8>> = files
            .iter()
            .flat_map(|&i| {
                let file = &inventory.files[i];
                [
                    file.path.as_bytes().to_vec(),
                    input.digests[i].map_or_else(Vec::new, |d| d.to_vec()),
                    vec![u8::from(file.executable)],
                ]
            })
            .collect();
        own.insert(
            package.path.clone(),
            Own {
                digest: hash_parts(parts.iter().map(Vec::as_slice)),
                files,
                needs,
                movable,
                label: format!("{}@{}", package.name, package.version),
            },
        );
    }
    let closure = |root: &str| -> Option<BTreeSet<String>> {
        let mut seen = BTreeSet::new();
        let mut queue = vec![root.to_string()];
        while let Some(path) = queue.pop() {
            if !seen.insert(path.clone()) {
                continue;
            }
            let entry = own.get(&path)?;
            if !entry.movable {
                return None;
            }
            queue.extend(entry.needs.iter().cloned());
        }
        Some(seen)
    };
    let key_of = |members: &BTreeSet<String>| {
        let mut parts: Vec<Vec<u8>> = vec![group.as_bytes().to_vec()];
        for member in members {
            parts.push(member.as_bytes().to_vec());
            parts.push(own[member].digest.to_vec());
        }
        hash_parts(parts.iter().map(Vec::as_slice))
    };
    for (path, entry) in &own {
        let Some(members) = closure(path) else {
            notes.push(format!(
                    "{}: {} stays in the function: it or a package it needs cannot move to a layer (a link, or a dependency resolved outside the top of node_modules)",
                    inventory.function.name, entry.label
                ));
            continue;
        };
        let needs = members
            .iter()
            .filter(|member| *member != path)
            .map(|member| {
                key_of(&closure(member).expect("a member of a movable closure is movable"))
            })
            .collect();
        let files: Vec<(usize, String)> = entry
            .files
            .iter()
            .map(|&i| (i, format!("nodejs/{}", inventory.files[i].path)))
            .collect();
        found.insert(
            key_of(&members),
            Candidate {
                label: entry.label.clone(),
                bytes: entry.files.iter().map(|&i| inventory.files[i].bytes).sum(),
                estimated_zipped: entry
                    .files
                    .iter()
                    .map(|&i| {
                        crate::package::estimate_zipped(
                            &inventory.files[i].path,
                            inventory.files[i].bytes,
                        )
                    })
                    .sum(),
                files,
                needs,
            },
        );
    }
    found
}
