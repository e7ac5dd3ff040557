//! `lamina why PACKAGE|FILE PATH`: what keeps a package or file in the artifact (the chain of
//! dependencies or imports from the user's code), or the rule or fact that drops it.

use std::collections::{HashMap, VecDeque};

use crate::model::{DependencyKind, Inventory, PackageId, Plan};

/// The answer for one package or file, as lines of text.
#[derive(Debug, Clone)]
pub struct Explanation {
    pub found: bool,
    pub lines: Vec<String>,
}

/// The shortest chain of dependencies from the root's dependencies of `kinds` to `target`.
fn package_chain(inventory: &Inventory, target: PackageId, dev: bool) -> Option<Vec<PackageId>> {
    let mut parents: HashMap<PackageId, Option<PackageId>> = HashMap::new();
    let mut queue = VecDeque::new();
    for dependency in &crate::node::facts(inventory).dependencies {
        let wanted = (dependency.kind == DependencyKind::Dev) == dev;
        if let (true, Some(id)) = (wanted, dependency.target)
            && !parents.contains_key(&id)
        {
            parents.insert(id, None);
            queue.push_back(id);
        }
    }
    while let Some(id) = queue.pop_front() {
        if id == target {
            let mut chain = vec![id];
            let mut current = id;
            while let Some(Some(parent)) = parents.get(&current) {
                chain.push(*parent);
                current = *parent;
            }
            chain.reverse();
            return Some(chain);
        }
        for dependency in &inventory.package(id).dependencies {
            if let Some(next) = dependency.target
                && !parents.contains_key(&next)
            {
                parents.insert(next, Some(id));
                queue.push_back(next);
            }
        }
    }
    None
}

fn label(inventory: &Inventory, id: PackageId) -> String {
    let package = inventory.package(id);
    format!("{}@{}", package.name, package.version)
}

/// Explains a package (by name) or a file (by its path in the artifact).
pub fn explain(inventory: &Inventory, plan: &Plan, target: &str) -> Explanation {
    let mut lines = Vec::new();
    let target = target.trim_start_matches("./");
    if let Some(index) = inventory.files.iter().position(|file| file.path == target) {
        let decision = &plan.files[index];
        let status = if decision.keep { "kept" } else { "dropped" };
        lines.push(format!("{target}: {status} ({})", decision.reason));
        if let Some(trace) = inventory.trace()
            && trace.reached.contains_key(&index)
        {
            let mut chain = crate::node::trace::chain(trace, &inventory.files, index);
            chain.reverse();
            if trace.broadly.contains(&index) {
                // The last step is a computed `require` or path: say which, from the reasons
                // recorded for the file's package (or your code) that name the loading file.
                lines.push(format!(
                    "  reached: {} (the last step by a computed name)",
                    chain.join(" -> ")
                ));
                let unit = match inventory.files[index].owner {
                    crate::model::Owner::Package(id) => crate::model::TraceUnit::Package(id),
                    _ => crate::model::TraceUnit::User,
                };
                let loader = chain.iter().rev().nth(1);
                for reason in trace.partly.get(&unit).into_iter().flatten() {
                    if loader.is_none_or(|loader| reason.starts_with(&format!("{loader}:"))) {
                        lines.push(format!("  by {reason}"));
                    }
                }
            } else {
                lines.push(format!("  imported: {}", chain.join(" -> ")));
            }
        }
        if let crate::model::Owner::Package(id) = inventory.files[index].owner {
            lines.push(format!(
                "  in package {} (see `lamina why {}`)",
                label(inventory, id),
                inventory.package(id).name
            ));
        }
        return Explanation { found: true, lines };
    }
    let matching: Vec<PackageId> = inventory
        .packages
        .iter()
        .filter(|package| package.name == target)
        .map(|package| package.id)
        .collect();
    for id in &matching {
        let package = inventory.package(*id);
        let decision = &plan.packages[id.0];
        let status = if decision.keep { "kept" } else { "dropped" };
        lines.push(format!(
            "{} ({}): {status}, {} ({})",
            label(inventory, *id),
            package.path,
            decision.class.label(),
            decision.reason
        ));
        if let Some(traced) = plan.traced(*id) {
            match traced {
                crate::model::Traced::Files => {
                    let kept = package
                        .files
                        .iter()
                        .filter(|&&file| plan.files[file].keep)
                        .count();
                    lines.push(format!(
                        "  traced: {kept} of {} files ship",
                        package.files.len()
                    ));
                    let partly = inventory
                        .trace()
                        .and_then(|trace| trace.partly.get(&crate::model::TraceUnit::Package(*id)));
                    for reason in partly.into_iter().flatten() {
                        lines.push(format!("  partly kept: {reason}"));
                    }
                    // Its dynamic code that a reviewed entry says loads nothing of it.
                    let inert = inventory.trace().map_or(&[][..], |trace| &trace.inert);
                    let own = format!("{}/", package.path);
                    for reason in inert.iter().filter(|reason| reason.starts_with(&own)) {
                        lines.push(format!("  known to load nothing of it: {reason}"));
                    }
                }
                crate::model::Traced::Whole(reason) => {
                    lines.push(format!("  kept whole: {reason}"))
                }
            }
        }
        let chain = package_chain(inventory, *id, false)
            .map(|chain| ("your dependencies", chain))
            .or_else(|| {
                package_chain(inventory, *id, true).map(|chain| ("your devDependencies", chain))
            });
        // The import chain from the handler to the package's first reached file, when traced.
        let imported = inventory.trace().and_then(|trace| {
            inventory
                .package(*id)
                .files
                .iter()
                .filter(|file| trace.reached.contains_key(file))
                .map(|&file| {
                    let mut chain = crate::node::trace::chain(trace, &inventory.files, file);
                    chain.reverse();
                    chain
                })
                // Only a chain that starts in the function's own code says how it is reached.
                .filter(|chain| {
                    chain.first().is_some_and(|root| {
                        inventory.files.iter().any(|file| {
                            &file.path == root
                                && !matches!(file.owner, crate::model::Owner::Package(_))
                        })
                    })
                })
                .min_by_key(Vec::len)
        });
        match (chain, imported) {
            (Some((from, chain)), _) => {
                let names: Vec<String> = chain.iter().map(|&link| label(inventory, link)).collect();
                lines.push(format!("  path: {from} -> {}", names.join(" -> ")));
            }
            (None, Some(imported)) => {
                lines.push(format!("  imported: {}", imported.join(" -> ")));
            }
            // A function without declared dependencies (Python) has no such path to show.
            (None, None) if crate::node::facts(inventory).dependencies.is_empty() => {}
            (None, None) => lines.push("  path: no dependency of yours leads to it".to_string()),
        }
    }
    if matching.is_empty() {
        lines.push(format!(
            "{target}: no installed package by that name and no file at that path in {}",
            inventory.function.root.display()
        ));
    }
    Explanation {
        found: !matching.is_empty(),
        lines,
    }
}
