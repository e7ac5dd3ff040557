//! Shake: a pure function from an Inventory to a Plan that keeps or drops each file, with why.

pub mod classify;
pub mod patterns;
pub mod rules;

use std::collections::BTreeSet;

use crate::error::Result;
use crate::model::{Decision, Inventory, PackageClass, PackageDecision, Plan, Reason, ShakeMode};
use crate::scan::walk::{join, parent};

/// How to shake.
#[derive(Debug, Clone, Copy, Default)]
pub struct ShakeOptions {
    pub mode: ShakeMode,
    pub drop_runtime_sdk: bool,
    /// `build --python-bytecode`: `source` drops every pyc whose source ships.
    pub bytecode: crate::model::Bytecode,
}

/// Whether the function's runtime ships a package (Node: `@aws-sdk/*`, `@smithy/*`; Python:
/// boto3 and its dependencies).
pub fn runtime_provided(inventory: &Inventory, name: &str) -> bool {
    crate::lambda::sdk::provides(inventory.function.runtime, name)
}

/// Decides, for every file and package of the inventory, whether it ships: the function's
/// ecosystem decides, with the rule engine of `rules`.
pub fn shake(inventory: &Inventory, options: &ShakeOptions) -> Result<Plan> {
    crate::ecosystem::of(inventory).shake(inventory, options)
}

/// Drops kept links whose target no longer ships, until none is left (links may chain).
pub(crate) fn drop_dangling_links(inventory: &Inventory, files: &mut [Decision]) {
    loop {
        let kept: BTreeSet<&str> = inventory
            .files
            .iter()
            .zip(files.iter())
            .filter(|(_, decision)| decision.keep)
            .map(|(file, _)| file.path.as_str())
            .collect();
        let mut changed = false;
        for (file, decision) in inventory.files.iter().zip(files.iter_mut()) {
            let Some(target) = &file.link_target else {
                continue;
            };
            if !decision.keep {
                continue;
            }
            let target = normalize(&join(parent(&file.path), target));
            let folder = format!("{target}/");
            let ships = kept.contains(target.as_str())
                || kept
                    .range::<str, _>((
                        std::ops::Bound::Included(folder.as_str()),
                        std::ops::Bound::Unbounded,
                    ))
                    .next()
                    .is_some_and(|path| path.starts_with(&folder));
            if !ships {
                *decision = Decision {
                    keep: false,
                    reason: Reason::Rule("junk/dangling-link"),
                };
                changed = true;
            }
        }
        if !changed {
            return;
        }
    }
}

/// Resolves `.` and `..` in an artifact path.
pub fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    parts.join("/")
}

/// Bytes and files per class, over every package of the inventory.
pub fn class_totals(
    inventory: &Inventory,
    packages: &[PackageDecision],
    class: PackageClass,
) -> (u64, usize) {
    inventory
        .packages
        .iter()
        .zip(packages)
        .filter(|(_, decision)| decision.class == class)
        .fold((0, 0), |(bytes, count), (package, _)| {
            let package_bytes: u64 = package
                .files
                .iter()
                .map(|&i| inventory.files[i].bytes)
                .sum();
            (bytes + package_bytes, count + package.files.len())
        })
}
