//! Node packages: `package.json` manifests, the package folders of every `node_modules` layout
//! (hoisted, nested, scoped, pnpm), lockfile flags, and Node's resolution of each dependency.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde_json::Value;

use super::walk::{Tree, join, parent};
use crate::error::{Error, Result};
use crate::model::{
    Dependency, DependencyKind, LockFlags, Manifest, Owner, Package, PackageId, PackageKind,
};

/// Reads and parses a `package.json`.
pub fn read_manifest(path: &Path) -> Result<Manifest> {
    let text = crate::input::read_to_string(path, None)?;
    parse_manifest(&text).map_err(|message| Error::Json {
        path: path.to_path_buf(),
        message,
    })
}

/// Parses the fields of a `package.json` lamina uses; fields of the wrong type are ignored, as
/// npm ignores them.
pub fn parse_manifest(text: &str) -> Result<Manifest, String> {
    let value: Value = serde_json::from_str(text).map_err(|error| error.to_string())?;
    let Value::Object(object) = value else {
        return Err("expected an object at the top level".to_string());
    };
    let string = |key: &str| object.get(key).and_then(Value::as_str).map(str::to_string);
    let map = |key: &str| -> BTreeMap<String, String> {
        object
            .get(key)
            .and_then(Value::as_object)
            .map(|deps| {
                deps.iter()
                    .map(|(name, spec)| (name.clone(), spec.as_str().unwrap_or("").to_string()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let bundle = object
        .get("bundleDependencies")
        .or_else(|| object.get("bundledDependencies"));
    let bundle_dependencies = match bundle {
        Some(Value::Array(names)) => names
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        // `true` bundles every dependency.
        Some(Value::Bool(true)) => map("dependencies").into_keys().collect(),
        _ => Vec::new(),
    };
    Ok(Manifest {
        name: string("name"),
        version: string("version"),
        main: string("main"),
        exports: object.get("exports").cloned(),
        module_type: string("type"),
        engines_node: object
            .get("engines")
            .and_then(|engines| engines.get("node"))
            .and_then(Value::as_str)
            .map(str::to_string),
        dependencies: map("dependencies"),
        optional_dependencies: map("optionalDependencies"),
        peer_dependencies: map("peerDependencies"),
        dev_dependencies: map("devDependencies"),
        bundle_dependencies,
    })
}

/// Whether an artifact folder is an installed package's folder: `…/node_modules/name` or
/// `…/node_modules/@scope/name`.
pub fn is_package_folder(dir: &str) -> bool {
    let parts: Vec<&str> = dir.split('/').collect();
    let n = parts.len();
    let name = parts[n - 1];
    if name.starts_with('.') || name.is_empty() {
        return false;
    }
    if n >= 2 && parts[n - 2] == "node_modules" {
        return !name.starts_with('@');
    }
    n >= 3 && parts[n - 3] == "node_modules" && parts[n - 2].starts_with('@')
}

/// The package name in a bare specifier: `lodash/fp` → `lodash`, `@a/b/c` → `@a/b`.
pub fn package_name(specifier: &str) -> &str {
    let mut slashes = specifier.match_indices('/');
    let end = if specifier.starts_with('@') {
        slashes.nth(1)
    } else {
        slashes.next()
    };
    end.map_or(specifier, |(index, _)| &specifier[..index])
}

/// Finds the packages in the walked tree, assigns every file an owner, and reads manifests.
pub fn packages(tree: &mut Tree) -> Result<Vec<Package>> {
    // (folder, where its package.json is read from), sorted by folder.
    let mut found: Vec<(String, std::path::PathBuf)> = tree
        .entries
        .iter()
        .filter(|entry| entry.link_target.is_none())
        .filter_map(|entry| {
            let dir = entry.path.strip_suffix("/package.json")?;
            is_package_folder(dir).then(|| (dir.to_string(), entry.source.clone()))
        })
        .collect();
    found.sort();
    let folders: Vec<String> = found.iter().map(|(folder, _)| folder.clone()).collect();
    // Read and parsed in parallel: opening a thousand manifests one by one is syscall-bound.
    let manifests = {
        use rayon::prelude::*;
        found
            .par_iter()
            .map(|(_, source)| read_manifest(source))
            .collect::<Result<Vec<_>>>()?
    };
    let mut packages = Vec::with_capacity(folders.len());
    for (index, ((folder, _), manifest)) in found.iter().zip(manifests).enumerate() {
        let dir_name = &folder[folder.rfind("node_modules/").map_or(0, |i| i + 13)..];
        let workspace = tree
            .materialized
            .iter()
            .any(|linked| folder == linked || folder.starts_with(&format!("{linked}/")));
        packages.push(Package {
            id: PackageId(index),
            name: manifest
                .name
                .clone()
                .unwrap_or_else(|| dir_name.to_string()),
            version: manifest.version.clone().unwrap_or_default(),
            path: folder.clone(),
            kind: PackageKind::Npm,
            manifest,
            lock: None,
            dependencies: Vec::new(),
            files: Vec::new(),
            workspace,
        });
    }
    let by_folder: HashMap<&str, PackageId> = folders
        .iter()
        .enumerate()
        .map(|(index, folder)| (folder.as_str(), PackageId(index)))
        .collect();
    for (index, entry) in tree.entries.iter_mut().enumerate() {
        let mut dir = parent(&entry.path);
        entry.owner = loop {
            if let Some(&id) = by_folder.get(dir) {
                packages[id.0].files.push(index);
                break Owner::Package(id);
            }
            if dir.is_empty() {
                let in_modules = entry.path.starts_with("node_modules/")
                    || entry.path.contains("/node_modules/");
                break if in_modules {
                    Owner::Unowned
                } else {
                    Owner::User
                };
            }
            dir = parent(dir);
        };
    }
    Ok(packages)
}

/// Applies `package-lock.json` (v2/v3) `dev`/`optional` flags to the packages at its paths.
pub fn apply_lockfile(root: &Path, packages: &mut [Package]) -> Result<()> {
    let candidates = [
        root.join("package-lock.json"),
        root.join("npm-shrinkwrap.json"),
        root.join("node_modules/.package-lock.json"),
    ];
    let Some(path) = candidates.iter().find(|path| path.is_file()) else {
        return Ok(());
    };
    let text = crate::input::read_to_string(path, None)?;
    let value: Value = serde_json::from_str(&text).map_err(|error| Error::Json {
        path: path.clone(),
        message: error.to_string(),
    })?;
    let Some(entries) = value.get("packages").and_then(Value::as_object) else {
        // lockfileVersion 1 has no per-path entries; flags then come from the graph alone.
        return Ok(());
    };
    for package in packages.iter_mut() {
        if let Some(entry) = entries.get(&package.path) {
            let flag = |key: &str| entry.get(key).and_then(Value::as_bool).unwrap_or(false);
            package.lock = Some(LockFlags {
                dev: flag("dev") || flag("devOptional"),
                optional: flag("optional") || flag("devOptional"),
            });
        }
    }
    Ok(())
}

/// Node's lookup of installed packages in the artifact's folders.
pub struct Resolver<'a> {
    by_folder: HashMap<&'a str, PackageId>,
    links: &'a BTreeMap<String, String>,
}

impl<'a> Resolver<'a> {
    pub fn new(packages: &'a [Package], links: &'a BTreeMap<String, String>) -> Self {
        Resolver {
            by_folder: packages
                .iter()
                .map(|package| (package.path.as_str(), package.id))
                .collect(),
            links,
        }
    }

    /// The package `require(name)` finds from a file in `from_dir`, searching `node_modules`
    /// in that folder and each parent, as Node does from a module's real path.
    pub fn resolve(&self, from_dir: &str, name: &str) -> Option<PackageId> {
        let mut dir = from_dir;
        loop {
            let last = &dir[dir.rfind('/').map_or(0, |i| i + 1)..];
            if last != "node_modules" {
                let candidate = join(&join(dir, "node_modules"), name);
                if let Some(id) = self
                    .real_path(&candidate)
                    .and_then(|real| self.by_folder.get(real.as_str()))
                {
                    return Some(*id);
                }
            }
            if dir.is_empty() {
                return None;
            }
            dir = parent(dir);
        }
    }

    /// Follows kept links in any component of an artifact path, as `realpath` would.
    fn real_path(&self, path: &str) -> Option<String> {
        let mut current = path.to_string();
        for _ in 0..40 {
            let mut changed = false;
            let mut prefix = String::new();
            for (index, part) in current.split('/').enumerate() {
                prefix = if index == 0 {
                    part.to_string()
                } else {
                    format!("{prefix}/{part}")
                };
                if let Some(target) = self.links.get(&prefix) {
                    let rest = &current[prefix.len()..];
                    current = format!("{target}{rest}");
                    changed = true;
                    break;
                }
            }
            if !changed {
                return Some(current);
            }
        }
        None
    }
}

/// Resolves the declared dependencies of a manifest from its folder.
pub fn resolve_dependencies(
    resolver: &Resolver,
    from_dir: &str,
    manifest: &Manifest,
    with_dev: bool,
) -> Vec<Dependency> {
    let mut kinds = vec![
        (DependencyKind::Production, &manifest.dependencies),
        (DependencyKind::Optional, &manifest.optional_dependencies),
        (DependencyKind::Peer, &manifest.peer_dependencies),
    ];
    if with_dev {
        kinds.push((DependencyKind::Dev, &manifest.dev_dependencies));
    }
    let mut dependencies = Vec::new();
    for (kind, names) in kinds {
        for name in names.keys() {
            // npm lists an optional dependency in both maps; count it once, as optional.
            if kind == DependencyKind::Production
                && manifest.optional_dependencies.contains_key(name)
            {
                continue;
            }
            dependencies.push(Dependency {
                name: name.clone(),
                kind,
                target: resolver.resolve(from_dir, name),
            });
        }
    }
    dependencies
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_folders_are_recognised_in_every_layout() {
        assert!(is_package_folder("node_modules/semver"));
        assert!(is_package_folder("node_modules/@aws-sdk/client-s3"));
        assert!(is_package_folder("node_modules/a/node_modules/b"));
        assert!(is_package_folder(
            "node_modules/.pnpm/a@1.0.0/node_modules/a"
        ));
        assert!(!is_package_folder("node_modules/.pnpm"));
        assert!(!is_package_folder("node_modules/@aws-sdk"));
        assert!(!is_package_folder("node_modules/a/lib"));
        assert!(!is_package_folder("src"));
    }

    #[test]
    fn package_names_come_from_bare_specifiers() {
        assert_eq!(package_name("lodash/fp"), "lodash");
        assert_eq!(package_name("lodash"), "lodash");
        assert_eq!(
            package_name("@aws-sdk/client-s3/dist"),
            "@aws-sdk/client-s3"
        );
        assert_eq!(package_name("@aws-sdk/client-s3"), "@aws-sdk/client-s3");
    }

    #[test]
    fn manifests_tolerate_missing_fields_and_reject_bad_json() {
        let manifest = parse_manifest(r#"{"name":"a","dependencies":{"b":"1"}}"#).unwrap();
        assert_eq!(manifest.name.as_deref(), Some("a"));
        assert_eq!(manifest.dependencies.len(), 1);
        assert!(parse_manifest("{").is_err());
        assert!(parse_manifest("[]").is_err());
    }
}
