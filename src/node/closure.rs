//! The package-level closure: which installed packages the handler can reach, and the class of
//! every other one (unused, dev, extraneous, runtime-provided).

use std::collections::{HashMap, VecDeque};

use crate::error::{Error, Result};
use crate::model::{DependencyKind, Inventory, PackageClass, PackageDecision, PackageId};
use crate::shake::classify::{self, Wording};
use crate::shake::runtime_provided;

/// Packages reached from `starts`, not entering any package `stop` refuses. Each maps to what
/// brought it in.
fn reach(
    inventory: &Inventory,
    starts: &[(PackageId, String)],
    stop: impl Fn(PackageId) -> bool,
) -> HashMap<PackageId, String> {
    let mut seen: HashMap<PackageId, String> = HashMap::new();
    let mut queue = VecDeque::new();
    for (id, why) in starts {
        if !stop(*id) && !seen.contains_key(id) {
            seen.insert(*id, why.clone());
            queue.push_back(*id);
        }
    }
    let mut named: HashMap<PackageId, Vec<&crate::model::NamedReference>> = HashMap::new();
    for reference in &super::facts(inventory).named {
        named.entry(reference.from).or_default().push(reference);
    }
    while let Some(id) = queue.pop_front() {
        let package = inventory.package(id);
        let declared = package
            .dependencies
            .iter()
            .filter_map(|dependency| dependency.target)
            .map(|target| {
                (
                    target,
                    format!("dependency of {}@{}", package.name, package.version),
                )
            });
        // Loaded by name without being declared (`require(JS_YAML_DEP)`).
        let by_name = named.get(&id).into_iter().flatten().map(|reference| {
            (
                reference.to,
                format!(
                    "named by {}@{} at {} (it loads it by name without declaring it)",
                    package.name, package.version, reference.at
                ),
            )
        });
        for (target, why) in declared.chain(by_name).collect::<Vec<_>>() {
            if stop(target) || seen.contains_key(&target) {
                continue;
            }
            seen.insert(target, why);
            queue.push_back(target);
        }
    }
    seen
}

/// The least version a package.json range allows (`^3.600.0`, `~3.6`, `>=3.5 <4`, `3.x`,
/// `1 || 3.700`), as `(major, minor, patch)`; `None` for what it cannot read (a tag, a URL).
pub fn range_floor(range: &str) -> Option<(u64, u64, u64)> {
    range
        .split("||")
        .map(|alternative| {
            let first = alternative.split_whitespace().next().unwrap_or("*");
            let version = first.trim_start_matches(['^', '~', '>', '=', 'v']);
            if version.is_empty() || version == "*" || version == "x" {
                return Some((0, 0, 0));
            }
            if first.starts_with('<') {
                return Some((0, 0, 0));
            }
            let mut parts = version.split(['.', '-', '+']).map(|part| match part {
                "x" | "X" | "*" => Some(0),
                number => number.parse::<u64>().ok(),
            });
            Some((
                parts.next()??,
                parts.next().unwrap_or(Some(0))?,
                parts.next().unwrap_or(Some(0))?,
            ))
        })
        .try_fold(None, |least: Option<(u64, u64, u64)>, floor| {
            let floor = floor?;
            Some(Some(least.map_or(floor, |least| least.min(floor))))
        })
        .flatten()
}

/// With `--drop-runtime-sdk`: an `@aws-sdk/*` package that the function or a kept package
/// asks for at a version above what the runtime is known to ship (`SDK_FLOOR`) stays, with
/// everything it needs.
fn keep_sdk_above_floor(inventory: &Inventory, decisions: &mut [PackageDecision]) {
    let floor = crate::lambda::sdk::NODE_SDK_FLOOR;
    let mut starts: Vec<(PackageId, String)> = Vec::new();
    let mut asks = |who: String,
                    ranges: &std::collections::BTreeMap<String, String>,
                    from: &[crate::model::Dependency]| {
        for (name, range) in ranges {
            if !runtime_provided(inventory, name) {
                continue;
            }
            let Some(least) = range_floor(range) else {
                continue;
            };
            if least <= floor {
                continue;
            }
            if let Some(target) = from
                .iter()
                .find(|dependency| &dependency.name == name)
                .and_then(|dependency| dependency.target)
            {
                starts.push((
                    target,
                    format!(
                        "runtime-provided, but kept despite --drop-runtime-sdk: {who} asks for {name}@{range}, and {} is only known to ship {}.{}.{} or later (AWS's runtime table)",
                        inventory.function.runtime, floor.0, floor.1, floor.2
                    ),
                ));
            }
        }
    };
    asks(
        "your package.json".to_string(),
        &super::facts(inventory).manifest.dependencies,
        &super::facts(inventory).dependencies,
    );
    for (package, decision) in inventory.packages.iter().zip(decisions.iter()) {
        if decision.keep && !runtime_provided(inventory, &package.name) {
            asks(
                format!("{}@{}", package.name, package.version),
                &package.manifest().dependencies,
                &package.dependencies,
            );
        }
    }
    classify::keep_above_floor(decisions, reach(inventory, &starts, |_| false));
}

/// Root dependencies as `(target, why)`: the production ones (every kind but dev, each with its
/// name), then the dev ones.
type Roots = (Vec<(PackageId, String)>, Vec<(PackageId, String)>);

/// The function's own installed dependencies, from its package.json. A production dependency
/// that is not installed is an input error.
fn package_json_roots(inventory: &Inventory) -> Result<Roots> {
    let mut production_roots = Vec::new();
    let mut dev_roots = Vec::new();
    for dependency in &super::facts(inventory).dependencies {
        match (dependency.kind, dependency.target) {
            (DependencyKind::Dev, Some(target)) => {
                dev_roots.push((target, "devDependencies".to_string()))
            }
            (_, Some(target)) => production_roots.push((target, dependency.name.clone())),
            (DependencyKind::Production, None) => {
                return Err(Error::MissingDependency {
                    path: inventory.function.root.join("package.json"),
                    dependent: super::facts(inventory)
                        .manifest
                        .name
                        .clone()
                        .unwrap_or_else(|| inventory.function.name.clone()),
                    name: dependency.name.clone(),
                    kind: DependencyKind::Production.label(),
                });
            }
            _ => {}
        }
    }
    Ok((production_roots, dev_roots))
}

/// The used roots: the production roots the user's code imports (all of them when an import is
/// dynamic), and installed packages it imports without declaring them (with a warning).
fn used_roots(
    inventory: &Inventory,
    production_roots: &[(PackageId, String)],
    notes: &mut Vec<String>,
) -> Vec<(PackageId, String)> {
    let imports = &inventory.imports;
    let mut used_roots: Vec<(PackageId, String)> = if imports.dynamic.is_empty() {
        production_roots
            .iter()
            .filter(|(_, name)| imports.packages.contains(name))
            .map(|(id, name)| {
                let why = match imports.first_importer.get(name) {
                    Some(file) => format!("imported by your code ({file})"),
                    None => "imported by your code".to_string(),
                };
                (*id, why)
            })
            .collect()
    } else {
        notes.push(format!(
            "every root dependency is kept: your code has {} import(s) lamina cannot follow, first {}",
            imports.dynamic.len(),
            imports.dynamic[0]
        ));
        production_roots
            .iter()
            .map(|(id, _)| {
                (
                    *id,
                    "root dependency (your code imports dynamically)".to_string(),
                )
            })
            .collect()
    };
    notes.extend(imports.notes.iter().cloned());
    // Imported by the user's code but not a production dependency of package.json: installed
    // at the top of node_modules all the same (by hand, or as a devDependency), it is what
    // the code loads, so it is kept, with a warning.
    for name in &imports.packages {
        let installed = inventory
            .packages
            .iter()
            .any(|package| package.path == format!("node_modules/{name}"));
        if runtime_provided(inventory, name) && !installed {
            notes.push(format!(
                "your code imports {name}, which the function does not ship: the {} runtime provides it, in a version that varies by region and date",
                inventory.function.runtime
            ));
            continue;
        }
        if production_roots.iter().any(|(_, root)| root == name)
            || runtime_provided(inventory, name)
        {
            continue;
        }
        let folder = format!("node_modules/{name}");
        let Some(package) = inventory
            .packages
            .iter()
            .find(|package| package.path == folder)
        else {
            continue;
        };
        let dev = super::facts(inventory)
            .dependencies
            .iter()
            .any(|dependency| dependency.kind == DependencyKind::Dev && &dependency.name == name);
        let what = if dev {
            "only in devDependencies"
        } else {
            "not in package.json dependencies"
        };
        notes.push(format!(
            "warning: your code imports {name}, which is installed but {what}: it is kept; add it to dependencies so every install has it"
        ));
        used_roots.push((package.id, format!("imported by your code ({what})")));
    }
    used_roots
}

/// Classifies every package and decides which to keep: production and runtime-provided from
/// what the used roots reach (`shake::classify`), the rest unused (reached from a root
/// dependency), dev (from a devDependency) or extraneous.
pub fn classify(
    inventory: &Inventory,
    drop_runtime_sdk: bool,
) -> Result<(Vec<PackageDecision>, Vec<String>)> {
    let mut notes = Vec::new();
    let (production_roots, dev_roots) = package_json_roots(inventory)?;
    let used_roots = used_roots(inventory, &production_roots, &mut notes);
    let all_roots: Vec<(PackageId, String)> = production_roots
        .iter()
        .map(|(id, name)| (*id, format!("root dependency {name}")))
        .collect();

    let is_sdk = |id: PackageId| runtime_provided(inventory, &inventory.package(id).name);
    let used_without_sdk = reach(inventory, &used_roots, is_sdk);
    let used = reach(inventory, &used_roots, |_| false);
    let production = reach(inventory, &all_roots, |_| false);
    let dev = reach(inventory, &dev_roots, |_| false);

    let wording = Wording {
        packages: "packages",
        sdk_says_why: false,
    };
    let mut decisions = classify::decide(
        inventory.function.runtime,
        &inventory.packages,
        &used_without_sdk,
        &used,
        drop_runtime_sdk,
        wording,
        |package| {
            let id = package.id;
            if let Some(why) = production.get(&id) {
                let root_dependency = production_roots.iter().any(|(root, _)| *root == id);
                let why = if root_dependency {
                    "unused: no file of your code imports it".to_string()
                } else {
                    format!("unused: only needed by unused packages ({why})")
                };
                (PackageClass::Unused, why)
            } else if let Some(why) = dev.get(&id) {
                let why = if why == "devDependencies" {
                    "dev-dependency".to_string()
                } else {
                    format!("dev-dependency: only needed by dev dependencies ({why})")
                };
                (PackageClass::Dev, why)
            } else {
                (
                    PackageClass::Extraneous,
                    "extraneous: installed, but nothing depends on it".to_string(),
                )
            }
        },
    );

    if drop_runtime_sdk {
        keep_sdk_above_floor(inventory, &mut decisions);
    }
    check_kept_dependencies(inventory, &decisions)?;
    Ok((decisions, notes))
}

/// A kept package must find each of its dependencies at run time: a missing non-optional one
/// is an input error.
fn check_kept_dependencies(inventory: &Inventory, decisions: &[PackageDecision]) -> Result<()> {
    for (package, decision) in inventory.packages.iter().zip(decisions) {
        if !decision.keep {
            continue;
        }
        for dependency in &package.dependencies {
            if dependency.kind == DependencyKind::Production && dependency.target.is_none() {
                return Err(Error::MissingDependency {
                    path: inventory
                        .function
                        .root
                        .join(&package.path)
                        .join("package.json"),
                    dependent: format!("{}@{}", package.name, package.version),
                    name: dependency.name.clone(),
                    kind: DependencyKind::Production.label(),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_floor_is_the_least_version_it_allows() {
        assert_eq!(range_floor("^3.600.0"), Some((3, 600, 0)));
        assert_eq!(range_floor("~3.6"), Some((3, 6, 0)));
        assert_eq!(range_floor(">=3.5.1 <4"), Some((3, 5, 1)));
        assert_eq!(range_floor("3.x"), Some((3, 0, 0)));
        assert_eq!(range_floor("1 || 3.700"), Some((1, 0, 0)));
        assert_eq!(range_floor("*"), Some((0, 0, 0)));
        assert_eq!(range_floor("<3.9"), Some((0, 0, 0)));
        assert_eq!(range_floor("latest"), None);
        assert_eq!(range_floor("3.1000.0-beta.1"), Some((3, 1000, 0)));
    }
}
