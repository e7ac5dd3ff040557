//! Python distributions that can move to a shared layer: every kept file of a distribution,
//! identical across functions, to `python/` (or the versioned site-packages when it owns a
//! `.pth`), unless it shares a regular package folder with files that stay.

use std::collections::{BTreeMap, BTreeSet};

use crate::dedupe::{Candidate, Input, hash_parts};
use crate::model::PackageKind;

/// The candidates of one function, keyed by identity (layer paths and contents).
pub fn candidates(input: &Input<'_>, notes: &mut Vec<String>) -> BTreeMap<[u8; 32], Candidate> {
    let inventory = input.inventory;
    let plan = input.plan;
    let group = input.group();
    let kept = |file: usize| plan.files[file].keep;
    let mut found = BTreeMap::new();
    let runtime = inventory.function.runtime;
    let Some(site) = crate::lambda::layers::python_site_packages(runtime) else {
        return found;
    };
    let site = format!("{site}/");
    let kept_paths: BTreeSet<&str> = inventory
        .files
        .iter()
        .enumerate()
        .filter(|(i, _)| kept(*i))
        .map(|(_, file)| file.path.as_str())
        .collect();
    for (id, package) in inventory.packages.iter().enumerate() {
        if !plan.packages[id].keep || !matches!(package.kind, PackageKind::Python(_)) {
            continue;
        }
        let files: Vec<usize> = package.files.iter().copied().filter(|&i| kept(i)).collect();
        if files.is_empty()
            || files
                .iter()
                .any(|&i| inventory.files[i].link_target.is_some() || input.digests[i].is_none())
        {
            continue;
        }
        let label = format!("{}@{}", package.name, package.version);
        // A folder this distribution shares with files that stay (another
        // distribution, the user's code): Python merges the two halves only as a
        // namespace package, so one with an `__init__.py` cannot be split.
        let own_paths: BTreeSet<&str> = files
            .iter()
            .map(|&i| inventory.files[i].path.as_str())
            .collect();
        let folders: BTreeSet<&str> = own_paths
            .iter()
            .flat_map(|path| path.match_indices('/').map(move |(at, _)| &path[..at]))
            .collect();
        let split_regular = folders.iter().find(|folder| {
            let prefix = format!("{folder}/");
            let shared = kept_paths
                .iter()
                .any(|path| path.starts_with(&prefix) && !own_paths.contains(path));
            shared && kept_paths.contains(format!("{folder}/__init__.py").as_str())
        });
        if let Some(folder) = split_regular {
            notes.push(format!(
                    "{}: {label} stays in the function: {folder}/ is a regular package (it has __init__.py) that other files share, and Python does not merge it across /var/task and /opt",
                    inventory.function.name
                ));
            continue;
        }
        // `.pth` files are read only in a site dir.
        let has_pth = own_paths
            .iter()
            .any(|path| !path.contains('/') && path.ends_with(".pth"));
        let prefix = if has_pth {
            site.clone()
        } else {
            "python/".to_string()
        };
        let files: Vec<(usize, String)> = files
            .iter()
            .map(|&i| (i, format!("{prefix}{}", inventory.files[i].path)))
            .collect();
        let mut parts: Vec<Vec<u8>> = vec![group.as_bytes().to_vec()];
        for (i, path) in &files {
            parts.push(path.as_bytes().to_vec());
            parts.push(input.digests[*i].expect("checked above").to_vec());
            parts.push(vec![u8::from(inventory.files[*i].executable)]);
        }
        let key = hash_parts(parts.iter().map(Vec::as_slice));
        found.insert(
            key,
            Candidate {
                label,
                bytes: files.iter().map(|(i, _)| inventory.files[*i].bytes).sum(),
                estimated_zipped: files
                    .iter()
                    .map(|(i, _)| {
                        crate::package::estimate_zipped(
                            &inventory.files[*i].path,
                            inventory.files[*i].bytes,
                        )
                    })
                    .sum(),
                files,
                needs: BTreeSet::new(),
            },
        );
    }
    found
}
