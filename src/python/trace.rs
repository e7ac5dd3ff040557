//! `--shake files` for Python: the modules the handler loads. From the handler's module (with
//! every module of the user's that counts, and every module no distribution owns), imports are
//! followed through the user's code and every distribution — each enclosing package's
//! `__init__` loads first, `from a import b` may name the submodule `a.b` — over the artifact's
//! own tree, as Lambda's `sys.path` (`/var/task`) sees it. A distribution whose code loads
//! modules by names lamina cannot read is kept whole, and all its modules are then followed in
//! turn, so whole-keeping never spreads to what it depends on.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::scan::module_of;
use crate::model::{
    FileEntry, Owner, Package, PackageId, PackageKind, PythonFile, Services, Trace, TraceUnit,
};

/// The AWS SDK's own distributions: they create clients for the names their callers pass, so a
/// computed service name in their code says nothing.
const SDK_PLUMBING: [&str; 4] = ["boto3", "botocore", "s3transfer", "aiobotocore"];

/// Frameworks that load modules by the names in their settings (`INSTALLED_APPS`, task
/// routes): imported by the user's code, any kept distribution may be loaded by name.
const LOADS_BY_NAME: [&str; 5] = ["django", "celery", "zappa", "serverless_wsgi", "pyramid"];

/// Entry-point groups that only name commands, not plugins a library loads.
const SCRIPT_GROUPS: [&str; 2] = ["console_scripts", "gui_scripts"];

/// What the tracer reads.
pub struct Input<'a> {
    pub files: &'a [FileEntry],
    pub owners: &'a [Owner],
    pub packages: &'a [Package],
    pub facts: &'a BTreeMap<usize, PythonFile>,
    pub handler_file: &'a str,
    /// The user's modules the handler never loads (their imports do not count).
    pub unloaded: &'a BTreeSet<usize>,
}

/// Files that define a module: `.py` sources, extension modules, and pycs in a module's place
/// (not under `__pycache__`), with the module each defines.
pub fn module_files(files: &[FileEntry]) -> BTreeMap<String, Vec<usize>> {
    let mut modules: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (index, file) in files.iter().enumerate() {
        if is_module_path(&file.path)
            && let Some((module, _)) = module_of(&file.path)
        {
            modules.entry(module).or_default().push(index);
        }
    }
    modules
}

/// The modules an extension module's compiled code may import, read from its bytes: dotted
/// names whose top level is in the artifact (`is_top`: `PyImport_ImportModule("numpy.core._exceptions")`,
/// Cython's and PyO3's module strings), and bare names of modules in its own folder (Cython's
/// relative imports hold `sub` and a level), made absolute. `exists` says whether an artifact
/// path is a file.
pub fn binary_module_names(
    bytes: &[u8],
    path: &str,
    is_top: impl Fn(&str) -> bool,
    exists: impl Fn(&str) -> bool,
) -> Vec<String> {
    let folder = path.rsplit_once('/').map_or("", |(folder, _)| folder);
    let package = folder.replace('/', ".");
    let mut found = BTreeSet::new();
    let word = |byte: &u8| byte.is_ascii_alphanumeric() || *byte == b'_' || *byte == b'.';
    for run in bytes.split(|byte| !word(byte)) {
        if run.len() < 2 || run.len() > 200 || !run[0].is_ascii_alphabetic() && run[0] != b'_' {
            continue;
        }
        let Ok(text) = std::str::from_utf8(run) else {
            continue;
        };
        let text = text.trim_end_matches('.');
        let valid = text.split('.').all(|part| {
            part.chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        });
        if !valid {
            continue;
        }
        if text.contains('.') {
            if is_top(text) {
                found.insert(text.to_string());
            }
        } else if !package.is_empty() {
            let sibling = format!("{folder}/{text}");
            if exists(&format!("{sibling}.py")) || exists(&format!("{sibling}/__init__.py")) {
                found.insert(format!("{package}.{text}"));
            }
        }
    }
    found.into_iter().collect()
}

/// Whether a path is a module's file: `.py`, `.pyc` outside `__pycache__`, `.so`, `.pyd`, at
/// a path that names a module (not `numpy.libs/libopenblas64_p-r0-0cf96a72.3.23.dev.so`).
pub fn is_module_path(path: &str) -> bool {
    let in_pycache = path.starts_with("__pycache__/") || path.contains("/__pycache__/");
    !in_pycache
        && (path.ends_with(".py")
            || path.ends_with(".pyc")
            || path.ends_with(".so")
            || path.ends_with(".pyd"))
        && module_of(path).is_some()
}

/// Whether the trace may drop a module's file that no import reaches: a source, a pyc in a
/// module's place, or an extension module whose name carries the interpreter's tag
/// (`_speed.cpython-311-x86_64-linux-gnu.so`, `_rust.abi3.so`, `x.cp311-win_amd64.pyd`). A
/// plain `libfoo.so` may be a shared library that other code loads by path (`DT_NEEDED`,
/// `ctypes`), so it stays unless a rule drops it.
pub fn is_droppable_module(path: &str) -> bool {
    if !is_module_path(path) {
        return false;
    }
    let name = path.rsplit('/').next().unwrap_or(path);
    let Some(stem) = name
        .strip_suffix(".so")
        .or_else(|| name.strip_suffix(".pyd"))
    else {
        return true;
    };
    stem.split_once('.').is_some_and(|(_, tag)| {
        tag == "abi3"
            || tag.starts_with("cpython-")
            || tag.starts_with("cp3")
            || tag.starts_with("pypy")
    })
}

struct Tracer<'a> {
    input: &'a Input<'a>,
    modules: BTreeMap<String, Vec<usize>>,
    trace: Trace,
    queue: VecDeque<usize>,
    /// A reached file loads entry points: `path:line: code`.
    entry_points: Option<String>,
}

impl Tracer<'_> {
    fn reach(&mut self, file: usize, from: Option<usize>) {
        if let std::collections::hash_map::Entry::Vacant(entry) = self.trace.reached.entry(file) {
            entry.insert(from);
            self.queue.push_back(file);
        }
    }

    /// `a.b.c`: the modules `a`, `a.b` and `a.b.c` that exist (`from a.b import attr` reaches
    /// `a.b`, the nearest module it is in).
    fn reach_module(&mut self, name: &str, from: usize) {
        let mut prefix = String::new();
        for part in name.split('.') {
            if !prefix.is_empty() {
                prefix.push('.');
            }
            prefix.push_str(part);
            let found: Vec<usize> = self.modules.get(&prefix).cloned().unwrap_or_default();
            for file in found {
                self.reach(file, Some(from));
            }
        }
    }

    /// Every module under package `name`, but its test suites (`tests`, `test` packages, which
    /// `py/test-folder` drops unless code imports them by name).
    fn reach_inside(&mut self, name: &str, from: usize) {
        let prefix = format!("{name}.");
        let inside: Vec<usize> = self
            .modules
            .range(prefix.clone()..)
            .take_while(|(module, _)| module.starts_with(&prefix))
            .filter(|(module, _)| {
                !module[prefix.len()..]
                    .split('.')
                    .any(|part| part == "tests" || part == "test")
            })
            .flat_map(|(_, files)| files.iter().copied())
            .collect();
        for file in inside {
            self.reach(file, Some(from));
        }
    }

    /// Keeps a distribution whole (the first reason stays) and follows all its modules.
    fn whole(&mut self, id: PackageId, reason: String) {
        if self.trace.whole.contains_key(&TraceUnit::Package(id)) {
            return;
        }
        self.trace.whole.insert(TraceUnit::Package(id), reason);
        let files: Vec<usize> = self.input.packages[id.0]
            .files
            .iter()
            .copied()
            .filter(|&file| is_module_path(&self.input.files[file].path))
            .collect();
        for file in files {
            self.reach(file, None);
        }
    }

    /// Something in `file` loads code lamina cannot follow: its distribution is kept whole, or
    /// (the user's code, a file no distribution owns) every kept distribution.
    fn cannot_follow(&mut self, file: usize, why: String) {
        match self.input.owners[file] {
            Owner::Package(id) => self.whole(id, why),
            Owner::User | Owner::Unowned => {
                self.trace.all_packages.get_or_insert(why);
            }
        }
    }

    fn visit(&mut self, file: usize) {
        let path = self.input.files[file].path.clone();
        let extension = path.ends_with(".so") || path.ends_with(".pyd");
        if extension && let Some(fact) = self.input.facts.get(&file) {
            // The module names its compiled code holds are what it may import.
            self.trace.parsed_files += 1;
            for module in &fact.binary_imports {
                self.reach_module(module, file);
            }
            return;
        }
        if !path.ends_with(".py") {
            let why = if path.ends_with(".pyc") {
                format!("{path}: compiled without its source, so its imports cannot be read")
            } else {
                format!(
                    "{path}: an extension module, whose compiled code may import Python modules lamina cannot read"
                )
            };
            self.cannot_follow(file, why);
            return;
        }
        let Some(fact) = self.input.facts.get(&file) else {
            self.cannot_follow(
                file,
                format!("{path}: a link or a file lamina did not read"),
            );
            return;
        };
        self.trace.parsed_files += 1;
        let user = self.input.owners[file] == Owner::User;
        for module in &fact.imports {
            self.reach_module(module, file);
            let top = module.split('.').next().unwrap_or(module);
            if user && LOADS_BY_NAME.contains(&top) {
                self.cannot_follow(
                    file,
                    format!(
                        "{path} imports {top}, which loads modules by the names in its settings"
                    ),
                );
            }
        }
        if user {
            // `"mysite.settings"`, `"api.routes:handle"`: loaded by name by a framework.
            for name in &fact.names {
                self.reach_module(name, file);
            }
        }
        for star in &fact.stars {
            // `from P import *` imports the submodules P's `__all__` names.
            let listed: Vec<String> = self
                .modules
                .get(star)
                .into_iter()
                .flatten()
                .filter_map(|&init| self.input.facts.get(&init))
                .flat_map(|init| init.all_names.iter().map(|name| format!("{star}.{name}")))
                .collect();
            for module in listed {
                self.reach_module(&module, file);
            }
        }
        if fact.lazy && path.ends_with("__init__.py") {
            // PEP 562: the package loads submodules on first use, by names it computes.
            if let Some((package, _)) = module_of(&path) {
                self.reach_inside(&package, file);
            }
        }
        // A computed name known to lie within a module (a literal prefix, a lazy package's
        // `__getattr__`) reaches that module's subtree; any other keeps the distribution whole.
        let distribution = match self.input.owners[file] {
            Owner::Package(id) => Some(&self.input.packages[id.0]),
            _ => None,
        };
        let in_distribution = distribution.is_some();
        for (index, site) in fact.dynamic.iter().enumerate() {
            // What a reviewed entry of data/packages.toml says this call loads.
            let known = distribution.and_then(|package| {
                crate::knowledge::python_import(&package.name, &package.version, &path, site)
            });
            match fact.dynamic_within.get(index).cloned().flatten() {
                _ if known.is_some() => {
                    let entry = known.expect("matched");
                    for module in &entry.loads {
                        self.reach_module(module, file);
                    }
                    if let Some(within) = &entry.within {
                        self.reach_module(within, file);
                        self.reach_inside(within, file);
                    }
                    self.trace
                        .inert
                        .push(format!("{path}:{site}: {}", entry.why));
                }
                Some(within) if in_distribution => {
                    self.reach_module(&within, file);
                    self.reach_inside(&within, file);
                }
                _ => self.cannot_follow(file, format!("{path}:{site}: imports a computed name")),
            }
        }
        if let Some(site) = fact.path_changes.first() {
            self.cannot_follow(
                file,
                format!("{path}:{site}: changes where modules are found"),
            );
        }
        for site in &fact.loaders {
            if site.contains("entry_point") {
                self.entry_points
                    .get_or_insert_with(|| format!("{path}:{site}"));
            }
        }
        if let Some(site) = fact.loaders.first() {
            self.cannot_follow(
                file,
                format!("{path}:{site}: loads code by names it does not hold"),
            );
        }
    }

    /// Once entry points are loaded, every distribution that registers plugins may be loaded.
    fn plugins(&mut self) {
        let Some(site) = self.entry_points.clone() else {
            return;
        };
        for package in self.input.packages {
            let PackageKind::Python(distribution) = &package.kind else {
                continue;
            };
            let groups: Vec<&str> = distribution
                .entry_point_groups
                .iter()
                .map(String::as_str)
                .filter(|group| !SCRIPT_GROUPS.contains(group))
                .collect();
            if !groups.is_empty() {
                self.whole(
                    package.id,
                    format!(
                        "registers entry points ({}), and {site} loads entry points",
                        groups.join(", ")
                    ),
                );
            }
        }
    }
}

/// The AWS services the reached code creates SDK clients for.
fn services(input: &Input<'_>, trace: &Trace) -> Services {
    let mut services = Services::default();
    for &file in trace.reached.keys() {
        let Some(fact) = input.facts.get(&file) else {
            continue;
        };
        services.named.extend(fact.services.iter().cloned());
        let plumbing = match input.owners[file] {
            Owner::Package(id) => SDK_PLUMBING.contains(&input.packages[id.0].name.as_str()),
            _ => false,
        };
        if !plumbing {
            let path = &input.files[file].path;
            services.computed.extend(
                fact.computed_services
                    .iter()
                    .map(|site| format!("{path}:{site}")),
            );
        }
    }
    services.computed.sort();
    services
}

/// Traces the modules the handler loads, and the AWS services it names to SDK clients.
pub fn trace(input: &Input<'_>) -> (Trace, Services) {
    let started = std::time::Instant::now();
    let mut tracer = Tracer {
        input,
        modules: module_files(input.files),
        trace: Trace::default(),
        queue: VecDeque::new(),
        entry_points: None,
    };
    let handler = input
        .files
        .iter()
        .position(|file| file.path == input.handler_file)
        .filter(|&index| input.owners[index] == Owner::User && input.facts.contains_key(&index));
    match handler {
        Some(handler) => tracer.reach(handler, None),
        None => {
            tracer.trace.all_packages = Some(format!(
                "the handler {} is not a module of yours lamina reads",
                input.handler_file
            ));
        }
    }
    // The user's modules that count and the modules no distribution owns ship, and may run.
    for (index, file) in input.files.iter().enumerate() {
        let counts = match input.owners[index] {
            Owner::User => !input.unloaded.contains(&index),
            Owner::Unowned => true,
            Owner::Package(_) => false,
        };
        if counts && file.path.ends_with(".py") && input.facts.contains_key(&index) {
            tracer.reach(index, None);
        }
    }
    let mut planned_plugins = false;
    loop {
        while let Some(file) = tracer.queue.pop_front() {
            tracer.visit(file);
        }
        if planned_plugins || tracer.entry_points.is_none() {
            break;
        }
        planned_plugins = true;
        tracer.plugins();
    }
    let mut trace = tracer.trace;
    let services = services(input, &trace);
    trace.seconds = started.elapsed().as_secs_f64();
    (trace, services)
}
