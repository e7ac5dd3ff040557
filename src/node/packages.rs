//! Node packages: `package.json` manifests, the package folders of every `node_modules` layout
//! (hoisted, nested, scoped, pnpm), lockfile flags, and Node's resolution of each dependency.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::model::{
    Dependency, DependencyKind, LockFlags, Manifest, Owner, Package, PackageId, PackageKind,
};
use crate::scan::walk::{Tree, join, parent};

/// Whose `package.json` is read: the function's own is held to every field's type; an installed
/// package's only where a wrong type would change what ships or how Node resolves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestRole {
    /// The function folder's own `package.json`, which the user wrote.
    Function,
    /// A package under `node_modules` (workspace packages linked in included), as published.
    Installed,
}

/// Why a `package.json` cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestError {
    /// Not JSON.
    Syntax(String),
    /// JSON, but a field has a type lamina cannot read safely: the message names the field,
    /// the type expected and what was found.
    Field(String),
}

/// Reads and parses a `package.json`; a field of the wrong type is an input error naming the
/// file and the field.
pub fn read_manifest(path: &Path, role: ManifestRole) -> Result<Manifest> {
    let text = crate::input::read_to_string(path, None)?;
    parse_manifest(&text, role).map_err(|error| match error {
        ManifestError::Syntax(message) => Error::Json {
            path: path.to_path_buf(),
            message,
        },
        ManifestError::Field(message) => Error::input(path, message),
    })
}

/// Parses the fields of a `package.json` lamina uses, checking their types.
///
/// | field | function's own | installed package |
/// |---|---|---|
/// | `name` | string | string: it names the package; npm refuses to publish any other type (Node would ignore it) |
/// | `version` | string | a string or ignored: only reported |
/// | `type` | string | a string or ignored, as Node ignores any other type |
/// | `main` | string: it may name the handler | a string or ignored, as Node ignores it and loads `index.js` (`dunder-proto` ships `"main": false`) |
/// | `dependencies`, `optionalDependencies`, `peerDependencies` | object of strings | object of strings (they decide what ships); `null` or `[]` is none, as npm reads them |
/// | `devDependencies` | object of strings | not checked: npm never installs an installed package's dev dependencies |
/// | `bundleDependencies` | array of names, or a boolean | not checked (`true` is common): nothing depends on it |
/// | `workspaces` | array of globs, or an object with a `packages` array | not checked |
/// | `exports` | string, object, array or `null` | the same: with any other type Node resolves nothing in the package (`ERR_PACKAGE_PATH_NOT_EXPORTED`) |
/// | `imports` | object | not checked: a wrong type only breaks that package's own `#` imports |
/// | `engines` | object of strings | not checked (old packages write `["node >= 0.4"]`); `engines.node` read when a string |
/// | `browser` | string, or object of strings or `false` | not checked: Lambda never reads it |
///
/// In the function's own `package.json` only `exports` may be `null`; in an installed package
/// a `null` field is absent, as in npm and Node.
pub fn parse_manifest(text: &str, role: ManifestRole) -> Result<Manifest, ManifestError> {
    let value: Value =
        serde_json::from_str(text).map_err(|error| ManifestError::Syntax(error.to_string()))?;
    let Value::Object(object) = value else {
        return Err(ManifestError::Field(format!(
            "a package.json must hold a JSON object, found {}",
            describe(&value)
        )));
    };
    let fields = Fields {
        object: &object,
        role,
    };
    let strict = role == ManifestRole::Function;
    fields.check(strict, "workspaces", is_workspaces, WORKSPACES)?;
    fields.check(
        strict,
        "imports",
        Value::is_object,
        "an object of \"#specifier\" → target",
    )?;
    fields.check(strict, "browser", is_browser, BROWSER)?;
    fields.check_values(strict, "browser", is_browser_target, "a path or false")?;
    fields.check(
        strict,
        "engines",
        Value::is_object,
        "an object of name → version range",
    )?;
    fields.check_values(
        strict,
        "engines",
        Value::is_string,
        "a version range string",
    )?;
    let dependencies = fields.dependencies("dependencies", true)?;
    let bundle = ["bundleDependencies", "bundledDependencies"]
        .into_iter()
        .find(|key| object.contains_key(*key));
    if let Some(key) = bundle {
        fields.check(
            strict,
            key,
            is_bundle,
            "an array of package names or a boolean",
        )?;
    }
    let bundle_dependencies = match bundle.and_then(|key| object.get(key)) {
        Some(Value::Array(names)) => names
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        // `true` bundles every dependency.
        Some(Value::Bool(true)) => dependencies.keys().cloned().collect(),
        _ => Vec::new(),
    };
    let exports = match object.get("exports") {
        Some(exports @ (Value::String(_) | Value::Object(_) | Value::Array(_) | Value::Null)) => {
            Some(exports.clone())
        }
        Some(other) => {
            // Node refuses every specifier of such a package, `require(name)` included.
            return Err(wrong_type(
                "\"exports\"",
                "a string, an object, an array or null",
                other,
            ));
        }
        None => None,
    };
    Ok(Manifest {
        name: fields.string("name", true)?,
        version: fields.string("version", strict)?,
        main: fields.string("main", strict)?,
        exports,
        module_type: fields.string("type", strict)?,
        engines_node: object
            .get("engines")
            .and_then(|engines| engines.get("node"))
            .and_then(Value::as_str)
            .map(str::to_string),
        optional_dependencies: fields.dependencies("optionalDependencies", true)?,
        peer_dependencies: fields.dependencies("peerDependencies", true)?,
        dev_dependencies: fields.dependencies("devDependencies", strict)?,
        dependencies,
        bundle_dependencies,
    })
}

const WORKSPACES: &str = "an array of folder globs, or an object with a \"packages\" array";
const BROWSER: &str = "a string, or an object of path → path or false";

/// The fields of one `package.json`, read by its role's rules.
struct Fields<'a> {
    object: &'a serde_json::Map<String, Value>,
    role: ManifestRole,
}

impl Fields<'_> {
    /// The field's value, or `None` when absent (or `null` in an installed package).
    fn get(&self, key: &str) -> Option<&Value> {
        self.object
            .get(key)
            .filter(|value| !(value.is_null() && self.role == ManifestRole::Installed))
    }

    /// Refuses the field when `strict` and its value does not pass `test`.
    fn check(
        &self,
        strict: bool,
        key: &str,
        test: fn(&Value) -> bool,
        expected: &str,
    ) -> Result<(), ManifestError> {
        match self.get(key) {
            Some(value) if strict && !test(value) => {
                Err(wrong_type(&format!("{key:?}"), expected, value))
            }
            _ => Ok(()),
        }
    }

    /// Refuses, when `strict`, a value of the object field `key` that does not pass `test`.
    fn check_values(
        &self,
        strict: bool,
        key: &str,
        test: fn(&Value) -> bool,
        expected: &str,
    ) -> Result<(), ManifestError> {
        let Some(Value::Object(entries)) = self.get(key).filter(|_| strict) else {
            return Ok(());
        };
        match entries.iter().find(|(_, value)| !test(value)) {
            Some((name, value)) => Err(wrong_type(&format!("{key:?}.{name:?}"), expected, value)),
            None => Ok(()),
        }
    }

    /// A string field; when not `strict`, any other type is ignored.
    fn string(&self, key: &str, strict: bool) -> Result<Option<String>, ManifestError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(_) if !strict => Ok(None),
            Some(other) => Err(wrong_type(&format!("{key:?}"), "a string", other)),
        }
    }

    /// A map of package name → version range; when not `strict`, anything else reads as empty.
    fn dependencies(
        &self,
        key: &str,
        strict: bool,
    ) -> Result<BTreeMap<String, String>, ManifestError> {
        let entries = match self.get(key) {
            None => return Ok(BTreeMap::new()),
            Some(Value::Object(entries)) => entries,
            // npm reads an installed package's dependencies with `Object.entries`, for which an
            // empty array holds nothing.
            Some(Value::Array(items))
                if items.is_empty() && self.role == ManifestRole::Installed =>
            {
                return Ok(BTreeMap::new());
            }
            Some(_) if !strict => return Ok(BTreeMap::new()),
            Some(other) => {
                return Err(wrong_type(
                    &format!("{key:?}"),
                    "an object of name → version range",
                    other,
                ));
            }
        };
        let mut map = BTreeMap::new();
        for (name, spec) in entries {
            match spec {
                Value::String(spec) => {
                    map.insert(name.clone(), spec.clone());
                }
                _ if !strict => {
                    map.insert(name.clone(), String::new());
                }
                other => {
                    return Err(wrong_type(
                        &format!("{key:?}.{name:?}"),
                        "a version range string",
                        other,
                    ));
                }
            }
        }
        Ok(map)
    }
}

fn is_string_array(value: &Value) -> bool {
    value
        .as_array()
        .is_some_and(|items| items.iter().all(Value::is_string))
}

fn is_workspaces(value: &Value) -> bool {
    is_string_array(value)
        || value
            .as_object()
            .and_then(|object| object.get("packages"))
            .is_some_and(is_string_array)
}

fn is_browser(value: &Value) -> bool {
    value.is_string() || value.is_object()
}

fn is_browser_target(value: &Value) -> bool {
    value.is_string() || value == &Value::Bool(false)
}

fn is_bundle(value: &Value) -> bool {
    value.is_boolean() || is_string_array(value)
}

/// `"dependencies" must be an object of name → version range, found an array (["tiny"])`.
fn wrong_type(field: &str, expected: &str, found: &Value) -> ManifestError {
    ManifestError::Field(format!(
        "{field} must be {expected}, found {}",
        describe(found)
    ))
}

/// A JSON value's type with a short rendering of it: `an array (["tiny"])`.
fn describe(value: &Value) -> String {
    let kind = match value {
        Value::Null => return "null".to_string(),
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    let mut text = value.to_string();
    if text.chars().count() > 40 {
        text = text.chars().take(39).chain(['…']).collect();
    }
    format!("{kind} ({text})")
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
            .map(|(_, source)| read_manifest(source, ManifestRole::Installed))
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
            kind: PackageKind::Npm(Box::new(manifest)),
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

/// Installed packages a package's code loads without declaring them: a `require`/`import` of a
/// literal, or of a module-level string constant (`const JS_YAML_DEP = "js-yaml";
/// require(JS_YAML_DEP)`, as `config` loads the parser of a file format only if the app
/// installed it). Every script of every package is scanned once, in parallel, for string
/// literals naming an installed package it does not declare; only files with one are parsed.
/// A name the function's own `package.json` depends on counts even when the parse cannot see
/// it loaded (a name passed to a loader function): the user asked for it to ship. Files under
/// test and example folders are skipped: nothing loads them at run time.
pub fn named_references(
    files: &[crate::model::FileEntry],
    packages: &[Package],
    resolver: &Resolver<'_>,
    root_dependencies: &std::collections::HashSet<&str>,
    memo: &crate::scan::memo::Memo,
) -> Result<Vec<crate::model::NamedReference>> {
    use rayon::prelude::*;
    use sha2::{Digest, Sha256};
    const NOT_RUN: [&str; 9] = [
        "test",
        "tests",
        "__tests__",
        "spec",
        "example",
        "examples",
        "benchmark",
        "benchmarks",
        "__mocks__",
    ];
    let names: std::collections::HashSet<&str> = installed_names(packages).into_iter().collect();
    let found: Vec<Result<Vec<crate::model::NamedReference>>> = packages
        .par_iter()
        .map(|package| {
            // What its manifest declares (what `resolve_dependencies` resolves).
            let manifest = package.manifest();
            let declared: std::collections::BTreeSet<&str> = manifest
                .dependencies
                .keys()
                .chain(manifest.optional_dependencies.keys())
                .chain(manifest.peer_dependencies.keys())
                .map(String::as_str)
                .collect();
            // A file's candidates depend on its package's name and declarations too.
            let key: [u8; 32] = {
                let mut hasher = Sha256::new();
                for name in std::iter::once(package.name.as_str()).chain(declared.iter().copied()) {
                    hasher.update(name.as_bytes());
                    hasher.update([0]);
                }
                hasher.finalize().into()
            };
            let mut references: Vec<crate::model::NamedReference> = Vec::new();
            for &index in &package.files {
                let file = &files[index];
                if file.link_target.is_some() || !super::imports::is_script(&file.path) {
                    continue;
                }
                let inside = file.path.strip_prefix(&package.path).unwrap_or(&file.path);
                if inside.split('/').any(|part| NOT_RUN.contains(&part)) {
                    continue;
                }
                let facts = memo.facts(file, &key, || -> Result<Vec<u8>> {
                    let bytes = crate::input::read(&file.source, Some(file.bytes))?;
                    Ok(encode_candidates(&candidates(
                        &file.path,
                        &bytes,
                        &package.name,
                        &declared,
                        &names,
                    )))
                })?;
                for (literal, line, loaded) in decode_candidates(&facts) {
                    if !loaded && !root_dependencies.contains(literal) {
                        continue;
                    }
                    let Some(target) = resolver.resolve(&package.path, literal) else {
                        continue;
                    };
                    if target == package.id || references.iter().any(|seen| seen.to == target) {
                        continue;
                    }
                    references.push(crate::model::NamedReference {
                        from: package.id,
                        to: target,
                        at: format!("{}:{line}", file.path),
                    });
                }
            }
            Ok(references)
        })
        .collect();
    let mut all = Vec::new();
    for references in found {
        all.extend(references?);
    }
    Ok(all)
}

/// The names of the installed packages: a script's string literal among them may name one.
fn installed_names(packages: &[Package]) -> std::collections::BTreeSet<&str> {
    packages
        .iter()
        .map(|package| package.name.as_str())
        .collect()
}

/// What the memo of `named_references` depends on besides each file and its package: the
/// installed packages' names.
pub fn named_references_context(packages: &[Package]) -> Vec<u8> {
    let mut context = Vec::new();
    for name in installed_names(packages) {
        context.extend_from_slice(name.as_bytes());
        context.push(0);
    }
    context
}

/// The core modules `require`, `import` and `import()` load by their bare name in every Node.js
/// runtime Lambda offers (18 to 24), whatever `node_modules` holds: an installed package of the
/// same name (the `util`, `url`, `events`, `buffer` polyfills) is never what they name. Only
/// `node:`-prefixed modules (`node:test`, `node:sqlite`) and `wasi` (behind a flag in some) are
/// left out, so such a literal still counts.
const NODE_CORE_MODULES: [&str; 41] = [
    "assert",
    "async_hooks",
    "buffer",
    "child_process",
    "cluster",
    "console",
    "constants",
    "crypto",
    "dgram",
    "diagnostics_channel",
    "dns",
    "domain",
    "events",
    "fs",
    "http",
    "http2",
    "https",
    "inspector",
    "module",
    "net",
    "os",
    "path",
    "perf_hooks",
    "process",
    "punycode",
    "querystring",
    "readline",
    "repl",
    "stream",
    "string_decoder",
    "sys",
    "timers",
    "tls",
    "trace_events",
    "tty",
    "url",
    "util",
    "v8",
    "vm",
    "worker_threads",
    "zlib",
];

/// A package script's string literals that name another installed package it does not
/// declare, each once (where it first appears: its line), and whether the script's code loads
/// it (`require`/`import` of it); the script is parsed only when there is one.
fn candidates<'b>(
    path: &str,
    bytes: &'b [u8],
    package: &str,
    declared: &std::collections::BTreeSet<&str>,
    names: &std::collections::HashSet<&str>,
) -> Vec<(&'b str, usize, bool)> {
    let mut found: Vec<(&str, usize, bool)> = Vec::new();
    for (literal, offset) in string_literals(bytes) {
        // Most literals name no package: that test first.
        if names.contains(literal)
            && literal != package
            && !NODE_CORE_MODULES.contains(&literal)
            && !declared.contains(literal)
            && !found.iter().any(|(seen, _, _)| *seen == literal)
        {
            let line = 1 + memchr::memchr_iter(b'\n', &bytes[..offset]).count();
            found.push((literal, line, false));
        }
    }
    if found.is_empty() {
        return found;
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    };
    let loaded: std::collections::HashSet<String> = super::imports::specifiers(path, &text)
        .iter()
        .map(|specifier| package_name(specifier).to_string())
        .collect();
    for (literal, _, is_loaded) in &mut found {
        *is_loaded = loaded.contains(*literal);
    }
    found
}

/// `candidates` as memo facts: per literal its length (u16), bytes, line (u32) and whether it
/// is loaded (one byte).
fn encode_candidates(candidates: &[(&str, usize, bool)]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for (literal, line, loaded) in candidates {
        bytes.extend_from_slice(&(literal.len() as u16).to_le_bytes());
        bytes.extend_from_slice(literal.as_bytes());
        bytes.extend_from_slice(&(*line as u32).to_le_bytes());
        bytes.push(u8::from(*loaded));
    }
    bytes
}

/// The inverse of `encode_candidates`; what does not decode ends the list (the memo is sealed,
/// so only a lamina that wrote another format could give such bytes, and its context differs).
fn decode_candidates(mut bytes: &[u8]) -> Vec<(&str, usize, bool)> {
    let mut candidates = Vec::new();
    while let Some((length, rest)) = bytes.split_first_chunk::<2>() {
        let length = u16::from_le_bytes(*length) as usize;
        let Some((literal, rest)) = rest.split_at_checked(length) else {
            break;
        };
        let Some((line, rest)) = rest.split_first_chunk::<4>() else {
            break;
        };
        let Some((loaded, rest)) = rest.split_first() else {
            break;
        };
        let Ok(literal) = std::str::from_utf8(literal) else {
            break;
        };
        candidates.push((literal, u32::from_le_bytes(*line) as usize, *loaded != 0));
        bytes = rest;
    }
    candidates
}

/// The contents of the single- and double-quoted string literals of a script that could be a
/// package name (no escapes, no spaces, at most 214 bytes), with their offsets.
fn string_literals(bytes: &[u8]) -> impl Iterator<Item = (&str, usize)> {
    let mut at = 0;
    std::iter::from_fn(move || {
        while at < bytes.len() {
            let Some(quote_at) = memchr::memchr2(b'\'', b'"', &bytes[at..]) else {
                at = bytes.len();
                break;
            };
            let quote = bytes[at + quote_at];
            at += quote_at + 1;
            let start = at;
            while at < bytes.len()
                && at - start <= 214
                && bytes[at] != quote
                && !matches!(bytes[at], b'\n' | b'\\' | b' ')
            {
                at += 1;
            }
            if at < bytes.len() && bytes[at] == quote && at > start {
                let literal = std::str::from_utf8(&bytes[start..at]).ok();
                at += 1;
                if let Some(literal) = literal {
                    return Some((literal, start - 1));
                }
            }
        }
        None
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_core_modules_name_is_no_candidate_but_a_package_only_it_names_is() {
        let names: std::collections::HashSet<&str> =
            ["util", "events", "ms", "test"].into_iter().collect();
        let declared = std::collections::BTreeSet::new();
        let source = b"const util = require('util');\nconst e = require(\"events\");\nconst ms = require('ms');\nconst t = require('test');\n";
        let found = candidates("node_modules/a/index.js", source, "a", &declared, &names);
        assert_eq!(found, [("ms", 3, true), ("test", 4, true)]);
    }

    /// Every name lamina reads as a core module is one in this machine's Node.js (the tests'
    /// `node`), which loads it by its bare name.
    #[test]
    fn the_core_modules_are_nodes() {
        let output = std::process::Command::new("node")
            .args([
                "-e",
                "process.stdout.write(require('module').builtinModules.join('\\n'))",
            ])
            .output()
            .expect("run node");
        let builtins = String::from_utf8(output.stdout).unwrap();
        let builtins: Vec<&str> = builtins.lines().collect();
        for name in NODE_CORE_MODULES {
            assert!(
                builtins.contains(&name),
                "{name} is not a core module of this node"
            );
        }
    }

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
        for role in [ManifestRole::Function, ManifestRole::Installed] {
            let manifest =
                parse_manifest(r#"{"name":"a","dependencies":{"b":"1"}}"#, role).unwrap();
            assert_eq!(manifest.name.as_deref(), Some("a"));
            assert_eq!(manifest.dependencies.len(), 1);
            assert!(matches!(
                parse_manifest("{", role),
                Err(ManifestError::Syntax(_))
            ));
            assert!(matches!(
                parse_manifest("[]", role),
                Err(ManifestError::Field(_))
            ));
        }
    }

    /// The message `parse_manifest` gives for `text`, which must be a field error.
    fn field_error(text: &str, role: ManifestRole) -> String {
        match parse_manifest(text, role) {
            Err(ManifestError::Field(message)) => message,
            other => panic!("{text}: expected a field error, got {other:?}"),
        }
    }

    #[test]
    fn manifest_field_of_wrong_type_is_input_error_in_the_function_manifest() {
        let cases = [
            (
                r#"{"dependencies":["tiny"]}"#,
                "\"dependencies\"",
                "an array",
            ),
            (r#"{"dependencies":"tiny"}"#, "\"dependencies\"", "a string"),
            (r#"{"dependencies":null}"#, "\"dependencies\"", "null"),
            (
                r#"{"dependencies":{"tiny":1}}"#,
                "\"dependencies\".\"tiny\"",
                "a number",
            ),
            (
                r#"{"devDependencies":["x"]}"#,
                "\"devDependencies\"",
                "an array",
            ),
            (
                r#"{"optionalDependencies":true}"#,
                "\"optionalDependencies\"",
                "a boolean",
            ),
            (
                r#"{"peerDependencies":{"p":{}}}"#,
                "\"peerDependencies\".\"p\"",
                "an object",
            ),
            (r#"{"name":3}"#, "\"name\"", "a number"),
            (r#"{"version":1.2}"#, "\"version\"", "a number"),
            (r#"{"main":["index.js"]}"#, "\"main\"", "an array"),
            (r#"{"main":false}"#, "\"main\"", "a boolean"),
            (r#"{"type":{}}"#, "\"type\"", "an object"),
            (
                r#"{"bundleDependencies":"a"}"#,
                "\"bundleDependencies\"",
                "a string",
            ),
            (
                r#"{"bundledDependencies":[1]}"#,
                "\"bundledDependencies\"",
                "an array",
            ),
            (
                r#"{"workspaces":"packages/*"}"#,
                "\"workspaces\"",
                "a string",
            ),
            (
                r#"{"workspaces":{"nohoist":[]}}"#,
                "\"workspaces\"",
                "an object",
            ),
            (r#"{"exports":true}"#, "\"exports\"", "a boolean"),
            (r#"{"exports":1}"#, "\"exports\"", "a number"),
            (r##"{"imports":["#a"]}"##, "\"imports\"", "an array"),
            (r#"{"engines":["node >= 18"]}"#, "\"engines\"", "an array"),
            (
                r#"{"engines":{"node":20}}"#,
                "\"engines\".\"node\"",
                "a number",
            ),
            (r#"{"browser":false}"#, "\"browser\"", "a boolean"),
            (
                r#"{"browser":{"fs":true}}"#,
                "\"browser\".\"fs\"",
                "a boolean",
            ),
        ];
        for (text, field, found) in cases {
            let message = field_error(text, ManifestRole::Function);
            assert!(
                message.starts_with(&format!("{field} must be ")),
                "{text}: {message}"
            );
            assert!(
                message.contains(&format!("found {found}")),
                "{text}: {message}"
            );
        }
        assert_eq!(
            field_error(r#"{"dependencies":["tiny"]}"#, ManifestRole::Function),
            "\"dependencies\" must be an object of name → version range, found an array ([\"tiny\"])"
        );
    }

    #[test]
    fn manifest_fields_of_every_accepted_type_parse_in_the_function_manifest() {
        let manifest = parse_manifest(
            r##"{"name":"f","version":"1.0.0","main":"src/index.js","type":"module",
                "dependencies":{"a":"^1"},"devDependencies":{},"optionalDependencies":{"o":"1"},
                "peerDependencies":{"p":"*"},"bundleDependencies":true,
                "workspaces":{"packages":["packages/*"],"nohoist":["**/x"]},
                "exports":null,"imports":{"#db":"./db.js"},"engines":{"node":">=20"},
                "browser":{"./node.js":"./browser.js","fs":false}}"##,
            ManifestRole::Function,
        )
        .unwrap();
        assert_eq!(manifest.main.as_deref(), Some("src/index.js"));
        assert_eq!(manifest.engines_node.as_deref(), Some(">=20"));
        assert_eq!(manifest.bundle_dependencies, ["a"]);
        assert_eq!(manifest.exports, Some(Value::Null));
        for other in [
            r#"{"workspaces":["a","b/*"],"exports":"./i.js","browser":"./b.js"}"#,
            r#"{"exports":["./a.js"],"bundledDependencies":["a"]}"#,
            r#"{"exports":{".":{"import":"./a.mjs"}},"bundleDependencies":false}"#,
        ] {
            parse_manifest(other, ManifestRole::Function).unwrap();
        }
    }

    #[test]
    fn installed_manifest_field_of_wrong_type_is_input_error_where_it_decides_what_ships() {
        let cases = [
            (r#"{"dependencies":["tiny"]}"#, "\"dependencies\""),
            (r#"{"dependencies":"tiny"}"#, "\"dependencies\""),
            (
                r#"{"dependencies":{"tiny":["1"]}}"#,
                "\"dependencies\".\"tiny\"",
            ),
            (
                r#"{"optionalDependencies":"x"}"#,
                "\"optionalDependencies\"",
            ),
            (r#"{"peerDependencies":[1]}"#, "\"peerDependencies\""),
            (r#"{"name":["a"]}"#, "\"name\""),
            (r#"{"exports":false}"#, "\"exports\""),
        ];
        for (text, field) in cases {
            let message = field_error(text, ManifestRole::Installed);
            assert!(
                message.starts_with(&format!("{field} must be ")),
                "{text}: {message}"
            );
        }
    }

    #[test]
    fn installed_manifests_keep_the_odd_shapes_old_packages_publish() {
        // Shapes found in published packages: `"main": false` (dunder-proto), engines arrays,
        // `"browser": false`, licence objects, `"bundleDependencies": true`, empty arrays and
        // nulls for dependency maps.
        let manifest = parse_manifest(
            r#"{"name":"old","version":1,"main":false,"type":true,"engines":["node >= 0.4"],
                "browser":false,"license":{"type":"MIT"},"bundleDependencies":true,
                "dependencies":{"a":"1"},"devDependencies":["x"],"peerDependencies":null,
                "optionalDependencies":[],"workspaces":"x","imports":[]}"#,
            ManifestRole::Installed,
        )
        .unwrap();
        assert_eq!(manifest.name.as_deref(), Some("old"));
        // Node ignores a `main` that is not a string and loads `index.js`; so does lamina.
        assert_eq!(manifest.main, None);
        assert_eq!(manifest.version, None);
        assert_eq!(manifest.engines_node, None);
        assert_eq!(manifest.bundle_dependencies, ["a"]);
        assert!(manifest.dev_dependencies.is_empty());
        assert!(manifest.peer_dependencies.is_empty());
        assert!(manifest.optional_dependencies.is_empty());
        let manifest = parse_manifest(
            r#"{"name":null,"engines":{"node":">=0.8","npm":1},"devDependencies":{"x":2}}"#,
            ManifestRole::Installed,
        )
        .unwrap();
        assert_eq!(manifest.name, None);
        assert_eq!(manifest.engines_node.as_deref(), Some(">=0.8"));
    }
}
