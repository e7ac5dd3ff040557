//! The file-level tracer for `--shake files`: from the handler, every static import edge,
//! resolved with `oxc_resolver` over the artifact's own tree (so links and copied workspace
//! packages resolve exactly as on Lambda), under each condition set the target Node uses.
//! Where a file does something it cannot follow, its package (or the user's code) is kept whole.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use oxc_resolver::{FileMetadata, FileSystem, ResolveError, ResolveOptions, ResolverGeneric};
use rayon::prelude::*;

use super::imports::{self, FileImports, is_script};
use super::packages::package_name;
use crate::error::Result;
use crate::model::{FileEntry, Owner, Package, PackageId, Runtime, Trace, TraceUnit};
use crate::scan::walk::{join, parent};
use crate::shake::normalize;

/// Packages whose job is to find a native binary at run time.
pub const BINARY_LOADERS: [&str; 8] = [
    "bindings",
    "node-gyp-build",
    "node-gyp-build-optional-packages",
    "node-pre-gyp",
    "@mapbox/node-pre-gyp",
    "prebuildify",
    "@neon-rs/load",
    "detect-libc",
];

/// The artifact's tree as a file system for the resolver: paths under `root` are artifact
/// paths; kept links are links; files copied in through outside links are plain files.
#[derive(Clone)]
struct ArtifactFs {
    root: PathBuf,
    /// Artifact path → where to read it; `None` for links.
    files: Arc<HashMap<String, Option<PathBuf>>>,
    /// Artifact path of a link → its target text.
    links: Arc<HashMap<String, String>>,
    folders: Arc<HashSet<String>>,
}

enum Node<'a> {
    Folder,
    File(&'a Path),
    Link(&'a str),
}

impl ArtifactFs {
    fn new(root: &Path, entries: &[FileEntry]) -> ArtifactFs {
        let mut files = HashMap::new();
        let mut links = HashMap::new();
        let mut folders = HashSet::from([String::new()]);
        for entry in entries {
            let mut folder = parent(&entry.path);
            while folders.insert(folder.to_string()) {
                folder = parent(folder);
            }
            match &entry.link_target {
                Some(target) => {
                    links.insert(entry.path.clone(), target.clone());
                    files.insert(entry.path.clone(), None);
                }
                None => {
                    files.insert(entry.path.clone(), Some(entry.source.clone()));
                }
            }
        }
        ArtifactFs {
            root: root.to_path_buf(),
            files: Arc::new(files),
            links: Arc::new(links),
            folders: Arc::new(folders),
        }
    }

    /// The artifact path of `path`, `Some("")` for the root, `None` outside the artifact.
    fn relative(&self, path: &Path) -> Option<String> {
        let inside = path.strip_prefix(&self.root).ok()?;
        let parts: Option<Vec<&str>> = inside
            .components()
            .map(|part| part.as_os_str().to_str())
            .collect();
        Some(normalize(&parts?.join("/")))
    }

    /// Follows links in every component of an artifact path.
    fn follow(&self, path: &str) -> Option<String> {
        let mut current = String::new();
        let mut hops = 0;
        let mut rest: Vec<String> = path
            .split('/')
            .filter(|part| !part.is_empty())
            .map(str::to_string)
            .collect();
        rest.reverse();
        while let Some(part) = rest.pop() {
            let next = join(&current, &part);
            if let Some(target) = self.links.get(&next) {
                hops += 1;
                if hops > 40 {
                    return None;
                }
                let resolved = normalize(&join(&current, target));
                // Re-walk the target's components: they may hold links too.
                let mut parts: Vec<String> = resolved
                    .split('/')
                    .filter(|p| !p.is_empty())
                    .map(str::to_string)
                    .collect();
                parts.reverse();
                rest.extend(parts);
                current = String::new();
                continue;
            }
            current = next;
        }
        Some(current)
    }

    /// What is at `path`, following links in its folders but not in its last part.
    fn node(&self, path: &Path) -> Option<Node<'_>> {
        let relative = self.relative(path)?;
        let folder = self.follow(parent(&relative))?;
        let name = &relative[relative.rfind('/').map_or(0, |i| i + 1)..];
        let here = join(&folder, name);
        if let Some(target) = self.links.get(&here) {
            return Some(Node::Link(target));
        }
        if let Some(Some(source)) = self.files.get(&here) {
            return Some(Node::File(source));
        }
        self.folders.contains(&here).then_some(Node::Folder)
    }

    fn above_root(&self, path: &Path) -> bool {
        self.root.starts_with(path) && self.root != path
    }

    fn followed(&self, path: &Path) -> io::Result<PathBuf> {
        let relative = self.relative(path).ok_or_else(not_found)?;
        let real = self.follow(&relative).ok_or_else(not_found)?;
        Ok(self.root.join(real))
    }
}

fn not_found() -> io::Error {
    io::Error::from(io::ErrorKind::NotFound)
}

impl FileSystem for ArtifactFs {
    fn new() -> Self {
        ArtifactFs {
            root: PathBuf::from("/"),
            files: Arc::default(),
            links: Arc::default(),
            folders: Arc::default(),
        }
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        match self.node(&self.followed(path)?) {
            Some(Node::File(source)) => crate::input::read(source, None)
                .map_err(|error| io::Error::other(error.to_string())),
            _ => Err(not_found()),
        }
    }

    fn read_to_string(&self, path: &Path) -> io::Result<String> {
        String::from_utf8(self.read(path)?).map_err(io::Error::other)
    }

    fn metadata(&self, path: &Path) -> io::Result<FileMetadata> {
        if self.above_root(path) {
            return Ok(FileMetadata::new(false, true, false));
        }
        match self.node(&self.followed(path)?) {
            Some(Node::File(_)) => Ok(FileMetadata::new(true, false, false)),
            Some(Node::Folder) => Ok(FileMetadata::new(false, true, false)),
            _ => Err(not_found()),
        }
    }

    fn symlink_metadata(&self, path: &Path) -> io::Result<FileMetadata> {
        if self.above_root(path) {
            return Ok(FileMetadata::new(false, true, false));
        }
        match self.node(path) {
            Some(Node::File(_)) => Ok(FileMetadata::new(true, false, false)),
            Some(Node::Folder) => Ok(FileMetadata::new(false, true, false)),
            Some(Node::Link(_)) => Ok(FileMetadata::new(false, false, true)),
            None => Err(not_found()),
        }
    }

    fn read_link(&self, path: &Path) -> Result<PathBuf, ResolveError> {
        match self.node(path) {
            Some(Node::Link(target)) => Ok(path.parent().unwrap_or(path).join(target)),
            _ => Err(ResolveError::from(io::Error::from(
                io::ErrorKind::InvalidInput,
            ))),
        }
    }

    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        if self.above_root(path) || path == self.root {
            return Ok(path.to_path_buf());
        }
        self.followed(path)
    }
}

fn is_binary(path: &str) -> bool {
    let name = &path[path.rfind('/').map_or(0, |i| i + 1)..];
    name.ends_with(".node")
        || name.ends_with(".wasm")
        || name.ends_with(".so")
        || name.contains(".so.")
}

struct Tracer<'a> {
    root: &'a Path,
    files: &'a [FileEntry],
    packages: &'a [Package],
    index: HashMap<&'a str, usize>,
    trace: Trace,
    next: Vec<usize>,
    /// The package names the user's reached files hold as strings (`app.set("view engine",
    /// "ejs")`), with the file: a package's computed `require` may be given them.
    user_names: Vec<(usize, Vec<String>)>,
    /// A package's reached code requires a computed name (`require(mod)`).
    loads_by_name: bool,
    /// The user's names have been reached (then each newly reached user file's are at once).
    named_users: bool,
    /// Parallel to the resolvers: whether each resolves under `require` conditions.
    requiring: Vec<bool>,
    /// The function's own production and optional dependencies, by name.
    declared: &'a [String],
}

/// What part of a folder a computed path can reach.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    /// What `require` loads: scripts, JSON, addons.
    Code,
    /// What a file read finds: anything but scripts.
    Data,
}

impl Part {
    fn holds(self, path: &str) -> bool {
        let code = is_script(path) || path.ends_with(".json") || path.ends_with(".node");
        match self {
            Part::Code => code,
            Part::Data => !is_script(path),
        }
    }
}

impl Tracer<'_> {
    fn unit(&self, file: usize) -> TraceUnit {
        match self.files[file].owner {
            Owner::Package(id) => TraceUnit::Package(id),
            Owner::User | Owner::Unowned => TraceUnit::User,
        }
    }

    fn reach(&mut self, file: usize, from: Option<usize>) {
        if self.trace.reached.contains_key(&file) {
            // Named now: no longer reached only broadly.
            self.trace.broadly.remove(&file);
            return;
        }
        self.trace.reached.insert(file, from);
        let path = &self.files[file].path;
        if is_binary(path) && !path.ends_with(".wasm") {
            // A native addon may load libraries beside it by paths its compiled code holds.
            let reason = format!("{path}: native code, which may load files beside it");
            self.whole(self.unit(file), reason, Some(file));
        }
        if is_script(path) && self.files[file].link_target.is_none() {
            self.next.push(file);
        }
    }

    /// The files under an artifact folder (the files are sorted by path), with the length of
    /// the folder's prefix.
    fn files_under(&self, folder: &str) -> (std::ops::Range<usize>, usize) {
        let prefix = if folder.is_empty() {
            String::new()
        } else {
            format!("{folder}/")
        };
        let start = self
            .files
            .partition_point(|file| file.path.as_str() < prefix.as_str());
        let end = start
            + self.files[start..]
                .iter()
                .take_while(|file| file.path.starts_with(&prefix))
                .count();
        (start..end, prefix.len())
    }

    /// Every file under an artifact folder.
    fn reach_folder(&mut self, folder: &str, from: usize) {
        let (inside, _) = self.files_under(folder);
        for file in inside {
            self.reach(file, Some(from));
        }
    }

    /// The files under an artifact folder that a computed path can reach (`part`), kept
    /// within `bound` (the package's folder) when the folder climbs above it, but its test
    /// suites.
    fn reach_part(&mut self, folder: &str, part: Part, bound: Option<&str>, from: usize) {
        self.reach_part_of(folder, part, bound, from, self.files[from].owner);
    }

    /// [`Tracer::reach_part`] of the files `owner` owns (another package's, for a computed
    /// name that starts with it).
    fn reach_part_of(
        &mut self,
        folder: &str,
        part: Part,
        bound: Option<&str>,
        from: usize,
        owner: Owner,
    ) {
        let folder = match bound {
            Some(bound) if !folder.starts_with(bound) || folder.len() < bound.len() => bound,
            _ => folder,
        };
        let (range, prefix) = self.files_under(folder);
        let inside: Vec<usize> = range
            .filter(|&i| part.holds(&self.files[i].path))
            .filter(|&i| self.files[i].owner == owner)
            // Test suites, which `junk/test-folder` drops: nothing computed loads them.
            .filter(|&i| {
                !self.files[i].path[prefix..]
                    .split('/')
                    .any(|part| matches!(part, "test" | "tests" | "__tests__" | "__mocks__"))
            })
            .collect();
        for file in inside {
            if !self.trace.reached.contains_key(&file) {
                self.reach(file, Some(from));
                self.trace.broadly.insert(file);
            }
        }
    }

    /// A computed `require("moment/locale/" + name)` in `file`: the code under that folder of
    /// the package Node would resolve the name to (all of its code when its `exports` map
    /// may send the subpath anywhere), recorded against that package, so what reviewed
    /// knowledge drops from it (`named_by`, `data`) ships. A package not in the artifact (the
    /// runtime's, a layer's) leaves the site as a computed name lamina cannot follow: false.
    fn computed_in_package(&mut self, file: usize, name: &str, inside: &str, site: &str) -> bool {
        let path = self.files[file].path.clone();
        let Some((root, owner)) = self.installed_from(&path, name) else {
            return false;
        };
        let exports = match owner {
            Owner::Package(id) => self.packages[id.0].manifest().exports.is_some(),
            Owner::User | Owner::Unowned => false,
        };
        let folder = if exports || inside.trim_end_matches(|c| c != '/').is_empty() {
            root.clone()
        } else {
            format!(
                "{root}/{}",
                inside.trim_end_matches(|c| c != '/').trim_end_matches('/')
            )
        };
        let folder = normalize(&folder);
        if !folder.starts_with(&root) {
            return true;
        }
        self.reach_part_of(&folder, Part::Code, Some(&root), file, owner);
        let target = match owner {
            Owner::Package(id) => TraceUnit::Package(id),
            Owner::User | Owner::Unowned => TraceUnit::User,
        };
        self.partly(
            target,
            format!("{path}:{site}: requires a computed name under {folder}/, whose scripts ship"),
        );
        true
    }

    /// The folder (and owner) of the package `name` as Node resolves it from `path`: the
    /// nearest `node_modules/<name>` up the file's folders that the artifact holds.
    fn installed_from(&self, path: &str, name: &str) -> Option<(String, Owner)> {
        let mut folder = parent(path).to_string();
        loop {
            let candidate = if folder.is_empty() {
                format!("node_modules/{name}")
            } else if folder.ends_with("/node_modules") || folder == "node_modules" {
                // `node_modules/node_modules` is never searched.
                String::new()
            } else {
                format!("{folder}/node_modules/{name}")
            };
            if !candidate.is_empty() {
                let (range, _) = self.files_under(&candidate);
                if let Some(first) = range.clone().next() {
                    return Some((candidate, self.files[first].owner));
                }
            }
            if folder.is_empty() {
                return None;
            }
            folder = parent(&folder).to_string();
        }
    }

    /// Records why a unit ships more than its imports reach.
    fn partly(&mut self, unit: TraceUnit, reason: String) {
        let reasons = self.trace.partly.entry(unit).or_default();
        if !reasons.contains(&reason) {
            reasons.push(reason);
        }
    }

    /// The folder of the package that owns `file`, if any.
    fn package_folder(&self, file: usize) -> Option<&str> {
        match self.files[file].owner {
            Owner::Package(id) => Some(self.packages[id.0].path.as_str()),
            Owner::User | Owner::Unowned => None,
        }
    }

    /// Resolves bare names as a `require` (or, `by_import`, an `import()`) in `file` would,
    /// and reaches what they name.
    fn reach_names(
        &mut self,
        file: usize,
        names: &[String],
        resolvers: &[ResolverGeneric<ArtifactFs>],
        by_import: bool,
    ) {
        let folder = self.root.join(parent(&self.files[file].path));
        // `require` resolves under `require` conditions, `import()` under `import` ones.
        let resolvers: Vec<&ResolverGeneric<ArtifactFs>> = resolvers
            .iter()
            .zip(&self.requiring)
            .filter(|&(_, &requires)| requires != by_import)
            .map(|(resolver, _)| resolver)
            .collect();
        for name in names {
            for resolver in &resolvers {
                if let Ok(resolution) = resolver.resolve(&folder, name) {
                    let target = resolution
                        .path()
                        .strip_prefix(self.root)
                        .ok()
                        .and_then(|inside| inside.to_str())
                        .and_then(|target| self.index.get(target).copied());
                    if let Some(target) = target {
                        self.reach(target, Some(file));
                    }
                }
            }
        }
    }

    /// Whether a script of the function's dependency `name` (`node_modules/<name>/`) holds
    /// `text`; an unreadable script counts as holding it.
    fn package_holds(&self, name: &str, text: &str) -> bool {
        let (range, _) = self.files_under(&format!("node_modules/{name}"));
        self.files[range]
            .iter()
            .filter(|file| super::imports::is_script(&file.path))
            .any(|file| {
                crate::fs::read_to_string(&file.source).map_or(true, |source| source.contains(text))
            })
    }

    fn whole(&mut self, unit: TraceUnit, reason: String, from: Option<usize>) {
        if self.trace.whole.contains_key(&unit) {
            return;
        }
        self.trace.whole.insert(unit, reason);
        // Everything of the unit may now load, so what it imports must be traced too.
        let files: Vec<usize> = match unit {
            TraceUnit::Package(id) => self.packages[id.0].files.clone(),
            TraceUnit::User => (0..self.files.len())
                .filter(|&i| matches!(self.files[i].owner, Owner::User | Owner::Unowned))
                .collect(),
        };
        for file in files {
            self.reach(file, from);
        }
    }

    /// A package file's computed load or code run at `site` that a reviewed entry covers: the
    /// files of the package it names ship and are traced, and the packages the caller names
    /// if it says so; one that loads nothing of the package is recorded as inert.
    fn known_loads(
        &mut self,
        file: usize,
        entry: &crate::knowledge::NodeLoads,
        site: &str,
        names: &[String],
        resolvers: &[ResolverGeneric<ArtifactFs>],
    ) {
        let path = self.files[file].path.clone();
        let unit = self.unit(file);
        let folder = self.package_folder(file).unwrap_or_default().to_string();
        for load in &entry.loads {
            let named = join(&folder, load.trim_end_matches('/'));
            if load.ends_with('/') {
                self.reach_part(&named, Part::Code, Some(&folder), file);
            } else if let Some(&target) = self.index.get(named.as_str()) {
                self.reach(target, Some(file));
            }
        }
        if entry.caller_names {
            // The packages the caller names: in strings, and, as a name may come from
            // elsewhere (a view's extension), the function's own dependencies.
            self.reach_names(file, names, resolvers, false);
            let declared: Vec<String> = self
                .declared
                .iter()
                .filter(|name| match &entry.caller_exports {
                    Some(export) => self.package_holds(name, export),
                    None => true,
                })
                .cloned()
                .collect();
            self.reach_names(file, &declared, resolvers, false);
            self.loads_by_name = true;
        }
        let reason = format!("{path}:{site}: {} ({})", entry.why, crate::knowledge::FILE);
        if entry.loads.is_empty() {
            if !self.trace.inert.contains(&reason) {
                self.trace.inert.push(reason);
            }
        } else {
            self.partly(unit, reason);
        }
    }

    /// A path the code names relative to its own folder: that file, or everything under that
    /// folder.
    fn asset(&mut self, file: usize, relative: &str) {
        let folder = parent(&self.files[file].path);
        let joined = normalize(&join(folder, relative.trim_start_matches('/')));
        if joined.starts_with("..") {
            return;
        }
        for candidate in [
            joined.clone(),
            format!("{joined}.js"),
            format!("{joined}.json"),
            format!("{joined}.node"),
        ] {
            if let Some(&target) = self.index.get(candidate.as_str()) {
                self.reach(target, Some(file));
                return;
            }
        }
        self.reach_folder(&joined, file);
    }

    fn apply(
        &mut self,
        file: usize,
        facts: FileImports,
        resolvers: &[ResolverGeneric<ArtifactFs>],
    ) {
        let unit = self.unit(file);
        let path = self.files[file].path.clone();
        let requiring = self.requiring.clone();
        let folder = self.root.join(parent(&path));
        // Sets, as a bundle may hold thousands of specifiers.
        let required: HashSet<&str> = facts.required.iter().map(String::as_str).collect();
        let imported: HashSet<&str> = facts.imported.iter().map(String::as_str).collect();
        for specifier in &facts.specifiers {
            // `require` resolves under `require` conditions, `import` under `import` ones: a
            // package's CommonJS and ES-module builds are twins, of which one loads.
            let by_require = required.contains(specifier.as_str());
            let by_import = imported.contains(specifier.as_str());
            if BINARY_LOADERS.contains(&package_name(specifier)) {
                self.whole(
                    unit,
                    format!("{path}: loads a native binary through {specifier}"),
                    Some(file),
                );
            }
            let mut resolved = false;
            for (resolver, &requires) in resolvers.iter().zip(&requiring) {
                if (by_require || by_import) && !(requires && by_require || !requires && by_import)
                {
                    continue;
                }
                match resolver.resolve(&folder, specifier) {
                    Ok(resolution) => {
                        let target = resolution
                            .path()
                            .strip_prefix(self.root)
                            .ok()
                            .and_then(|inside| inside.to_str())
                            .map(str::to_string);
                        if let Some(&target) =
                            target.as_deref().and_then(|target| self.index.get(target))
                        {
                            self.reach(target, Some(file));
                            resolved = true;
                        }
                    }
                    Err(ResolveError::Builtin { .. }) => resolved = true,
                    Err(_) => {}
                }
            }
            if !resolved {
                // Not installed or not there: Node fails the same way (or the code catches it).
                self.trace.unresolved.push(format!("{path}: {specifier}"));
            }
        }
        let bound = self.package_folder(file).map(str::to_string);
        let mut followed = Vec::new();
        for computed in &facts.computed {
            if let Some((name, inside)) = super::imports::package_prefix(&computed.prefix) {
                if self.computed_in_package(file, name, inside, &computed.site) {
                    followed.push(computed.site.as_str());
                }
                continue;
            }
            followed.push(computed.site.as_str());
            // `require("./locale/" + name)`: the code under that folder.
            let named = normalize(&join(
                parent(&path),
                computed.prefix.trim_end_matches(|c| c != '/'),
            ));
            if !named.starts_with("..") {
                self.reach_part(&named, Part::Code, bound.as_deref(), file);
                self.partly(
                    unit,
                    format!(
                        "{path}:{}: requires a computed name under {named}/, whose scripts ship",
                        computed.site
                    ),
                );
            }
        }
        // The package, its version and the file's path in it, for reviewed entries.
        let packages = self.packages;
        let known = match unit {
            TraceUnit::Package(id) => {
                let package = &packages[id.0];
                let inside = path
                    .strip_prefix(&package.path)
                    .map_or(path.as_str(), |rest| rest.trim_start_matches('/'));
                Some((package, inside))
            }
            TraceUnit::User => None,
        };
        let entry_for = |site: &str| {
            let (package, inside) = known?;
            crate::knowledge::node_loads(&package.name, &package.version, inside, site)
        };
        for site in &facts.dynamic {
            if followed.contains(&site.as_str()) {
                continue;
            }
            if let Some(entry) = entry_for(site) {
                self.known_loads(file, entry, site, &facts.names, resolvers);
                continue;
            }
            let reason = format!("{path}:{site}: an import lamina cannot follow");
            match (unit, bound.as_deref()) {
                (TraceUnit::Package(_), Some(folder)) => {
                    // A bare computed name: the package's own scripts, and the packages this
                    // file (or the user's code) names, may be loaded; what they import is
                    // traced, and nothing else of what the package depends on ships for it.
                    self.reach_part(folder, Part::Code, Some(folder), file);
                    let by_import = site
                        .split_once(": ")
                        .is_some_and(|(_, code)| code.starts_with("import("));
                    self.reach_names(file, &facts.names, resolvers, by_import);
                    self.loads_by_name = true;
                    self.partly(
                        unit,
                        format!(
                            "{reason}: its scripts ship, and the packages this file or your code names"
                        ),
                    );
                }
                _ => {
                    if self.trace.all_packages.is_none() {
                        // The user's code may load any package by a name lamina cannot see.
                        self.trace.all_packages = Some(reason.clone());
                    }
                    self.whole(unit, reason, Some(file));
                }
            }
        }
        for asset in &facts.assets {
            if asset.complete {
                self.asset(file, &asset.path);
            } else {
                // Only a prefix is known: what that folder holds of the part used.
                let joined = normalize(&join(parent(&path), asset.path.trim_start_matches('/')));
                if joined.starts_with("..") {
                    continue;
                }
                let named = if asset.path.ends_with('/') {
                    joined.clone()
                } else {
                    parent(&joined).to_string()
                };
                let part = if asset.code { Part::Code } else { Part::Data };
                self.reach_part(&named, part, bound.as_deref(), file);
            }
        }
        if let Some((package, inside)) = known {
            let (folder, name, version) = (package.path.as_str(), &package.name, &package.version);
            for site in &facts.locates {
                // The file's own location, used in a way lamina cannot fold: what a reviewed
                // entry says it reads; else a path built from it later may name any file of
                // the package, but its scripts are loaded only by `require` (followed above).
                // The user's own files ship anyway.
                match crate::knowledge::node_locates(name, version, inside, site) {
                    Some(entry) => {
                        let inside = folder.len() + 1;
                        let reads: Vec<usize> = package
                            .files
                            .iter()
                            .copied()
                            .filter(|&target| entry.reads_path(&self.files[target].path[inside..]))
                            .collect();
                        for target in reads {
                            self.reach(target, Some(file));
                        }
                        self.partly(
                            unit,
                            format!("{path}:{site}: {} ({})", entry.why, crate::knowledge::FILE),
                        );
                    }
                    None => {
                        self.reach_part(folder, Part::Data, Some(folder), file);
                        self.partly(
                            unit,
                            format!(
                                "{path}:{site}: finds files from its own location, so the package's files (not its scripts) ship"
                            ),
                        );
                    }
                }
            }
        }
        // The SDK's own files hold its module by relative paths (and quote its name in
        // messages): only its users' uses count.
        let in_sdk = known.is_some_and(|(package, _)| package.name == crate::node::sdk_v2::MODULE);
        if !in_sdk {
            for site in &facts.sdk_v2_escapes {
                self.trace.sdk_v2_computed.push(format!("{path}:{site}"));
            }
        }
        for site in &facts.evals {
            // Code lamina cannot read: what a reviewed entry says it loads, else anything of
            // the unit.
            if let Some(entry) = entry_for(site) {
                self.known_loads(file, entry, site, &facts.names, resolvers);
                continue;
            }
            self.whole(
                unit,
                format!("{path}:{site}: runs code lamina cannot read"),
                Some(file),
            );
            break;
        }
        if unit == TraceUnit::User && !facts.names.is_empty() {
            if self.named_users {
                self.reach_names(file, &facts.names, resolvers, false);
            } else {
                self.user_names.push((file, facts.names.clone()));
            }
        }
    }
}

/// Traces the function from its handler file.
pub fn trace(
    root: &Path,
    files: &[FileEntry],
    packages: &[Package],
    handler: &str,
    declared: &[String],
    runtime: Runtime,
    arch: crate::lambda::Arch,
) -> Result<Trace> {
    let started = Instant::now();
    let target = imports::Target {
        arch: arch.node_arch(),
    };
    let fs = ArtifactFs::new(root, files);
    let mut condition_sets = vec![vec!["node", "require"], vec!["node", "import"]];
    if runtime.node_major() >= 20 {
        // Node 20.19 and later match `module-sync` for both require and import.
        condition_sets.push(vec!["node", "module-sync", "require"]);
        condition_sets.push(vec!["node", "module-sync", "import"]);
    }
    let requiring: Vec<bool> = condition_sets
        .iter()
        .map(|set| set.contains(&"require"))
        .collect();
    let resolvers: Vec<ResolverGeneric<ArtifactFs>> = condition_sets
        .into_iter()
        .map(|conditions| {
            let options = ResolveOptions {
                condition_names: conditions.into_iter().map(str::to_string).collect(),
                extensions: vec![
                    ".js".into(),
                    ".json".into(),
                    ".node".into(),
                    ".mjs".into(),
                    ".cjs".into(),
                ],
                builtin_modules: true,
                node_path: false,
                symlinks: true,
                ..ResolveOptions::default()
            };
            ResolverGeneric::new_with_file_system(fs.clone(), options)
        })
        .collect();
    let mut tracer = Tracer {
        root,
        files,
        packages,
        index: files
            .iter()
            .enumerate()
            .map(|(i, file)| (file.path.as_str(), i))
            .collect(),
        trace: Trace::default(),
        next: Vec::new(),
        user_names: Vec::new(),
        loads_by_name: false,
        named_users: false,
        requiring,
        declared,
    };
    if let Some(&start) = tracer.index.get(handler) {
        tracer.reach(start, None);
    }
    loop {
        if tracer.next.is_empty() {
            // Once a package requires computed names, the packages the user's code names
            // (`app.set("view engine", "ejs")`) may be what it loads.
            if tracer.named_users || !tracer.loads_by_name {
                break;
            }
            tracer.named_users = true;
            for (file, names) in std::mem::take(&mut tracer.user_names) {
                tracer.reach_names(file, &names, &resolvers, false);
            }
            continue;
        }
        let mut frontier = std::mem::take(&mut tracer.next);
        frontier.sort_unstable();
        frontier.dedup();
        // Each file is parsed once, the files of one step in parallel.
        let parsed: Vec<(usize, FileImports)> = frontier
            .par_iter()
            .map(|&file| {
                let entry = &files[file];
                let bytes = crate::input::read(&entry.source, Some(entry.bytes))?;
                Ok((
                    file,
                    imports::extract_on(
                        &entry.path,
                        &String::from_utf8_lossy(&bytes),
                        Some(target),
                    ),
                ))
            })
            .collect::<Result<_>>()?;
        tracer.trace.parsed_files += parsed.len();
        for (file, facts) in parsed {
            tracer.apply(file, facts, &resolvers);
        }
    }
    let mut trace = tracer.trace;
    trace.seconds = started.elapsed().as_secs_f64();
    Ok(trace)
}

/// For `lamina why`: the chain of files from the handler to `file`.
pub fn chain(trace: &Trace, files: &[FileEntry], file: usize) -> Vec<String> {
    let mut chain = Vec::new();
    let mut current = Some(file);
    let mut seen = HashSet::new();
    while let Some(index) = current {
        if !seen.insert(index) {
            break;
        }
        chain.push(files[index].path.clone());
        current = trace.reached.get(&index).copied().flatten();
    }
    chain
}

/// Files of the trace grouped by package, for reports: (kept, total).
pub fn per_package(trace: &Trace, packages: &[Package]) -> BTreeMap<PackageId, usize> {
    packages
        .iter()
        .map(|package| {
            (
                package.id,
                package
                    .files
                    .iter()
                    .filter(|file| trace.reached.contains_key(file))
                    .count(),
            )
        })
        .collect()
}
