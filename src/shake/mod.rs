//! Shake: a pure function from an Inventory to a Plan that keeps or drops each file, with why.

pub mod closure;
pub mod patterns;
pub mod python;
pub mod rules;
pub mod trace;

use std::collections::{BTreeSet, HashSet};

use crate::error::Result;
use crate::model::{
    Decision, Inventory, Language, Owner, Package, PackageClass, PackageDecision, Plan, Reason,
    ShakeMode,
};
use crate::scan::walk::{join, parent};

/// How to shake.
#[derive(Debug, Clone, Copy, Default)]
pub struct ShakeOptions {
    pub mode: ShakeMode,
    pub drop_runtime_sdk: bool,
}

/// Whether the function's runtime ships a package (Node: `@aws-sdk/*`, `@smithy/*`; Python:
/// boto3 and its dependencies).
pub fn runtime_provided(inventory: &Inventory, name: &str) -> bool {
    crate::lambda::sdk::provides(inventory.function.runtime, name)
}

/// Decides, for every file and package of the inventory, whether it ships.
pub fn shake(inventory: &Inventory, options: &ShakeOptions) -> Result<Plan> {
    if inventory.function.runtime.language() == Language::Python {
        return python::shake(inventory, options);
    }
    let (mut packages, mut notes) = closure::classify(inventory, options.drop_runtime_sdk)?;
    if options.mode == ShakeMode::None {
        // Classes still tell the user what could go; nothing goes.
        for decision in &mut packages {
            decision.keep = true;
            decision.reason = Reason::NotShaken;
        }
        let files = vec![
            Decision {
                keep: true,
                reason: Reason::NotShaken,
            };
            inventory.files.len()
        ];
        notes.push("--shake none: every file ships as installed".to_string());
        return Ok(Plan {
            traced: Default::default(),
            mode: options.mode,
            files,
            packages,
            notes,
            rewrite_pycs: Vec::new(),
        });
    }

    let mut files: Vec<Decision> = vec![
        Decision {
            keep: true,
            reason: Reason::UserCode,
        };
        inventory.files.len()
    ];
    for (package, decision) in inventory.packages.iter().zip(&packages) {
        if !decision.keep {
            for &index in &package.files {
                files[index] = Decision {
                    keep: false,
                    reason: Reason::PackageDropped,
                };
            }
            continue;
        }
        apply_package_rules(inventory, package, &mut files);
    }
    let handler = inventory.function.handler.file.as_str();
    for (file, decision) in inventory.files.iter().zip(files.iter_mut()) {
        let rule = match file.owner {
            Owner::Package(_) => continue,
            Owner::User => rules::user_file(&file.path, handler),
            Owner::Unowned => rules::unowned_file(&file.path),
        };
        *decision = match rule {
            Some(rule) => Decision {
                keep: false,
                reason: Reason::Rule(rule),
            },
            None if file.owner == Owner::Unowned => Decision {
                keep: true,
                reason: Reason::Unowned,
            },
            None => Decision {
                keep: true,
                reason: Reason::UserCode,
            },
        };
    }
    let mut traced = Default::default();
    if options.mode == ShakeMode::Files
        && let Some(trace) = &inventory.trace
    {
        traced = trace::refine(inventory, trace, &mut packages, &mut files, &mut notes);
    }
    drop_dangling_links(inventory, &mut files);
    Ok(Plan {
        traced,
        mode: options.mode,
        files,
        packages,
        notes,
        rewrite_pycs: Vec::new(),
    })
}

/// Decides each file of a kept package by the junk rules.
fn apply_package_rules(inventory: &Inventory, package: &Package, files: &mut [Decision]) {
    let protected = rules::Protected::of(&package.manifest);
    let prefix_len = package.path.len() + 1;
    let siblings: HashSet<&str> = package
        .files
        .iter()
        .map(|&index| &inventory.files[index].path[prefix_len..])
        .collect();
    for &index in &package.files {
        let relative = &inventory.files[index].path[prefix_len..];
        files[index] = match rules::package_file(relative, &protected, &siblings) {
            Some(rule) => Decision {
                keep: false,
                reason: Reason::Rule(rule),
            },
            None => Decision {
                keep: true,
                reason: Reason::InKeptPackage,
            },
        };
    }
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
