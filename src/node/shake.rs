//! Shake for Node.js functions: the package closure decides which packages ship; the junk
//! rules decide the files of kept packages and the user's own; `--shake files` narrows kept
//! packages to the files the tracer reached.

use std::collections::HashSet;

use crate::error::Result;
use crate::model::{Decision, EcosystemPlan, Inventory, Owner, Package, Plan, Reason, ShakeMode};
use crate::shake::{ShakeOptions, drop_dangling_links, rules};

/// Decides, for every file and package of the inventory, whether it ships.
pub fn shake(inventory: &Inventory, options: &ShakeOptions) -> Result<Plan> {
    let (mut packages, mut notes) = super::closure::classify(inventory, options.drop_runtime_sdk)?;
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
            ecosystem: EcosystemPlan::Node {
                traced: Default::default(),
            },
            mode: options.mode,
            files,
            packages,
            notes,
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
        && let Some(trace) = inventory.trace()
    {
        traced = super::refine::refine(inventory, trace, &mut packages, &mut files, &mut notes);
        let read = |file: usize| crate::fs::read_to_string(&inventory.files[file].source).ok();
        notes.extend(super::sdk_v2::prune_models(
            inventory, trace, &mut files, &read,
        ));
        notes.extend(super::data::prune(inventory, trace, &mut files, &read));
        notes.extend(super::named_by::prune(inventory, trace, &mut files, &read));
    }
    drop_dangling_links(inventory, &mut files);
    Ok(Plan {
        ecosystem: EcosystemPlan::Node { traced },
        mode: options.mode,
        files,
        packages,
        notes,
    })
}

/// Decides each file of a kept package by the junk rules.
pub(crate) fn apply_package_rules(
    inventory: &Inventory,
    package: &Package,
    files: &mut [Decision],
) {
    let protected = rules::Protected::of(package.manifest());
    let prefix_len = package.path.len() + 1;
    let siblings: HashSet<&str> = package
        .files
        .iter()
        .map(|&index| &inventory.files[index].path[prefix_len..])
        .collect();
    for &index in &package.files {
        let relative = &inventory.files[index].path[prefix_len..];
        // What a reviewed entry says the package reads at run time is never junk to it.
        let read = crate::knowledge::node_reads(&package.name, &package.version, relative);
        let rule = rules::package_file(relative, &protected, &siblings).filter(|_| !read);
        files[index] = match rule {
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
