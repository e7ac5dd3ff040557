//! `--shake files` for Python: narrows each kept distribution to the modules the tracer reached
//! (`trace.rs`). A distribution kept whole keeps every file; in the others, a module file (a
//! `.py`, an extension module, a pyc in a module's place) that no import reaches goes with
//! `trace/unreached`, and its `__pycache__` pycs follow it (`py/pycache-orphan`). Files that are
//! not modules (data, licences, `*.libs/` shared libraries, a plain `libfoo.so`) stay. A distribution none of whose
//! modules is reached keeps only its metadata folder, so `importlib.metadata` still finds it.
//! The user's modules the handler never loads go too; the user's other files and the files no
//! distribution owns are left as they are.

use std::collections::BTreeMap;

use super::trace::{is_droppable_module, is_module_path};
use crate::model::{
    Decision, Inventory, PackageDecision, PackageId, PackageKind, Reason, Services, Trace,
    TraceUnit, Traced,
};

/// The rule of a module file the trace does not reach (`docs/rules.md`).
pub const UNREACHED: &str = "trace/unreached";

/// The rule of data files that `data/packages.toml` says only an API no reached code calls
/// reads.
pub const PACKAGE_DATA: &str = "trace/package-data";

/// The rule of an AWS service model no reached code creates a client for.
pub const SDK_MODEL: &str = "trace/sdk-model";

/// Services botocore creates clients for by itself, from the configuration: assume-role and
/// web-identity credentials (`sts`), SSO credentials and tokens (`sso`, `sso-oidc`).
const SDK_OWN_SERVICES: [&str; 3] = ["sts", "sso", "sso-oidc"];

/// The folders that hold one model per AWS service.
const MODEL_FOLDERS: [&str; 2] = ["botocore/data/", "boto3/data/"];

/// Drops the models of services the reached code never names, when every client it creates
/// names its service; returns what to note.
pub fn prune_sdk_models(
    inventory: &Inventory,
    trace: &Trace,
    services: &Services,
    files: &mut [Decision],
) -> Option<String> {
    let service_of = |path: &str| {
        MODEL_FOLDERS.iter().find_map(|folder| {
            let rest = path.strip_prefix(folder)?;
            let (service, _) = rest.split_once('/')?;
            Some(service.to_string())
        })
    };
    let mut available = std::collections::BTreeSet::new();
    for (file, decision) in inventory.files.iter().zip(files.iter()) {
        if decision.keep
            && let Some(service) = service_of(&file.path)
        {
            available.insert(service);
        }
    }
    if available.is_empty() {
        return None;
    }
    if let Some(reason) = &trace.all_packages {
        return Some(format!(
            "every AWS service model ships: your code may load anything ({reason})"
        ));
    }
    if let Some(site) = services.computed.first() {
        return Some(format!(
            "every AWS service model ships: {site} creates an SDK client for a computed service name"
        ));
    }
    let unknown: Vec<&String> = services
        .named
        .iter()
        .filter(|service| !available.contains(*service))
        .collect();
    if !unknown.is_empty() {
        let listed: Vec<&str> = unknown.iter().map(|service| service.as_str()).collect();
        return Some(format!(
            "every AWS service model ships: no model is named {} (an alias, or a service newer than the SDK installed)",
            listed.join(", ")
        ));
    }
    let mut dropped_bytes = 0;
    for (index, file) in inventory.files.iter().enumerate() {
        let Some(service) = service_of(&file.path) else {
            continue;
        };
        if files[index].keep
            && !services.named.contains(&service)
            && !SDK_OWN_SERVICES.contains(&service.as_str())
        {
            files[index] = Decision {
                keep: false,
                reason: Reason::Rule(SDK_MODEL),
            };
            dropped_bytes += file.bytes;
        }
    }
    let kept: Vec<&str> = services.named.iter().map(String::as_str).collect();
    Some(format!(
        "AWS service models: only those of {} ship (and {}, botocore's own), {} of others go",
        if kept.is_empty() {
            "no service".to_string()
        } else {
            kept.join(", ")
        },
        SDK_OWN_SERVICES.join(", "),
        crate::model::human_bytes(dropped_bytes)
    ))
}

/// Applies the trace to the distribution-level decisions; returns how each kept distribution
/// was treated.
pub fn refine(
    inventory: &Inventory,
    trace: &Trace,
    packages: &mut [PackageDecision],
    files: &mut [Decision],
    notes: &mut Vec<String>,
) -> BTreeMap<PackageId, Traced> {
    let mut traced = BTreeMap::new();
    if let Some(reason) = &trace.all_packages {
        notes.push(format!("every kept distribution is kept whole: {reason}"));
    }
    if !trace.inert.is_empty() {
        notes.push(format!(
            "computed imports whose names {} knows are followed, not kept whole: {}",
            crate::knowledge::FILE,
            trace.inert.join("; ")
        ));
    }
    let mut metadata_only = Vec::new();
    for package in &inventory.packages {
        let decision = &mut packages[package.id.0];
        if !decision.keep || !matches!(package.kind, PackageKind::Python(_)) {
            continue;
        }
        let whole = trace
            .whole
            .get(&TraceUnit::Package(package.id))
            .cloned()
            .or_else(|| {
                trace
                    .all_packages
                    .as_ref()
                    .map(|reason| format!("your code may load any distribution ({reason})"))
            });
        if let Some(reason) = whole {
            traced.insert(package.id, Traced::Whole(reason));
            continue;
        }
        let reached = package
            .files
            .iter()
            .any(|file| trace.reached.contains_key(file));
        // Nothing imports it by name, but a distribution that requires it loads modules by
        // names lamina cannot read (or from compiled code): it may be one of them.
        let requirer = (!reached)
            .then(|| {
                inventory.packages.iter().find(|other| {
                    trace.whole.contains_key(&TraceUnit::Package(other.id))
                        && other
                            .dependencies
                            .iter()
                            .any(|dependency| dependency.target == Some(package.id))
                })
            })
            .flatten();
        if let Some(requirer) = requirer {
            traced.insert(
                package.id,
                Traced::Whole(format!(
                    "no shipped code imports it by name, but {}@{}, which requires it, is kept whole: what that loads cannot all be read",
                    requirer.name, requirer.version
                )),
            );
            continue;
        }
        for &file in &package.files {
            let path = &inventory.files[file].path;
            let drop = if reached {
                is_droppable_module(path) && !trace.reached.contains_key(&file)
            } else {
                !is_metadata(path, &package.path)
            };
            if drop && files[file].keep {
                files[file] = Decision {
                    keep: false,
                    reason: Reason::Rule(UNREACHED),
                };
            }
        }
        if reached {
            package_data(inventory, trace, package, files, notes);
        }
        if !reached {
            decision.reason = Reason::Needed(format!(
                "only its metadata ships: no shipped code imports it ({})",
                decision.reason
            ));
            metadata_only.push(format!("{}@{}", package.name, package.version));
        }
        traced.insert(package.id, Traced::Files);
    }
    // The user's modules the handler never loads (a CDK app, a seed script) go, unless the
    // user's code may load anything; the user's other files stay (they may be read by path).
    if trace.all_packages.is_none() {
        let mut unloaded = Vec::new();
        for &index in &super::facts(inventory).unloaded {
            if !trace.reached.contains_key(&index) && files[index].keep {
                files[index] = Decision {
                    keep: false,
                    reason: Reason::Rule(UNREACHED),
                };
                unloaded.push(inventory.files[index].path.as_str());
            }
        }
        if !unloaded.is_empty() {
            notes.push(format!(
                "{} module(s) of your code that the handler never loads do not ship: {}",
                unloaded.len(),
                crate::model::first_few(&unloaded)
            ));
        }
    }
    if !metadata_only.is_empty() {
        let listed: Vec<&str> = metadata_only.iter().map(String::as_str).collect();
        notes.push(format!(
            "{} distribution(s) are required but no shipped code imports them; only their metadata ships: {}",
            metadata_only.len(),
            crate::model::first_few(&listed)
        ));
    }
    traced
}

/// Drops a traced distribution's data files that, by an entry of `data/packages.toml`, only
/// APIs no reached code calls read.
fn package_data(
    inventory: &Inventory,
    trace: &Trace,
    package: &crate::model::Package,
    files: &mut [Decision],
    notes: &mut Vec<String>,
) {
    let facts = &super::facts(inventory).files;
    for entry in crate::knowledge::python_data(&package.name, &package.version) {
        // The first caller by path, so the note is the same on every run.
        let caller = trace
            .reached
            .keys()
            .filter_map(|file| {
                let fact = facts.get(file)?;
                let name = fact
                    .api_calls
                    .iter()
                    .find(|name| entry.used_by.contains(name))?;
                Some((&inventory.files[*file].path, name))
            })
            .min();
        if let Some((path, name)) = caller {
            notes.push(format!(
                "{}/ ships: {path} calls {name} ({})",
                entry.files,
                crate::knowledge::FILE
            ));
            continue;
        }
        let mut dropped = 0;
        for &file in &package.files {
            let path = &inventory.files[file].path;
            let data =
                entry.holds(path) && !is_module_path(path) && !path.contains("/__pycache__/");
            if data && files[file].keep {
                dropped += inventory.files[file].bytes;
                files[file] = Decision {
                    keep: false,
                    reason: Reason::Rule(PACKAGE_DATA),
                };
            }
        }
        if dropped > 0 {
            notes.push(format!(
                "{}/ does not ship ({}): {}, and no reached code calls {} ({})",
                entry.files,
                crate::model::human_bytes(dropped),
                entry.why,
                entry.used_by.join(", "),
                crate::knowledge::FILE
            ));
        }
    }
}

/// A file of the distribution's `*.dist-info` (or `*.egg-info`) folder.
fn is_metadata(path: &str, metadata_folder: &str) -> bool {
    path.strip_prefix(metadata_folder)
        .is_some_and(|rest| rest.starts_with('/'))
}
