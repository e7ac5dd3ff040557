//! Shake for Python functions: the distribution closure (imports of your code, `Requires-Dist`
//! with markers for the target, imports by kept distributions, entry-point plugins), the
//! runtime-provided SDK, the `py/*` junk rules, and which pycs package rewrites.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

use pep508_rs::{ExtraName, MarkerEnvironment};

use super::metadata::{marker_environment, normalize_name};
use crate::error::Result;
use crate::lambda::sdk::{PYTHON_SDK_FLOORS, provides};
use crate::model::{
    Bytecode, Decision, Distribution, EcosystemPlan, Inventory, Owner, PackageClass,
    PackageDecision, PackageId, PackageKind, Plan, PythonInventory, Reason, ShakeMode,
};
use crate::python::pyc;
use crate::scan::walk::parent;
use crate::shake::classify::{self, Wording};
use crate::shake::rules;
use crate::shake::{ShakeOptions, drop_dangling_links};

/// Tools that only run on a developer's machine or in CI.
const DEV_TOOLS: [&str; 24] = [
    "autopep8",
    "bandit",
    "black",
    "coverage",
    "flake8",
    "freezegun",
    "hypothesis",
    "ipdb",
    "ipython",
    "isort",
    "moto",
    "mypy",
    "nox",
    "pre-commit",
    "pycodestyle",
    "pyflakes",
    "pylint",
    "pyright",
    "pytest",
    "responses",
    "ruff",
    "tox",
    "types-requests",
    "yapf",
];

/// Left over from building or installing, never imported at run time unless something says so.
const BUILD_TOOLS: [&str; 4] = ["pip", "setuptools", "wheel", "build"];

fn is_dev_tool(name: &str) -> bool {
    DEV_TOOLS.contains(&name)
        || ["pytest-", "flake8-", "types-", "mypy-"]
            .iter()
            .any(|prefix| name.starts_with(prefix))
}

fn distribution(inventory: &Inventory, id: PackageId) -> Option<&Distribution> {
    match &inventory.package(id).kind {
        PackageKind::Python(distribution) => Some(distribution),
        PackageKind::Npm(_) => None,
    }
}

/// Entry-point groups that only name commands, not plugins a library loads.
const SCRIPT_GROUPS: [&str; 2] = ["console_scripts", "gui_scripts"];

/// The Python-specific junk rules, listed in `rules::RULES` and `docs/rules.md`.
pub const PYCACHE_FOREIGN: &str = "py/pycache-foreign-version";
pub const PYCACHE_ORPHAN: &str = "py/pycache-orphan";
pub const PYCACHE_OPTIMIZED: &str = "py/pycache-optimized";
pub const PYCACHE_STALE: &str = "py/pycache-stale";
pub const BYTECODE_SOURCE: &str = "py/bytecode-source";
pub const TEST_FOLDER: &str = "py/test-folder";
pub const TYPE_STUB: &str = "py/type-stub";
pub const INSTALL_METADATA: &str = "py/install-metadata";
pub const CONSOLE_SCRIPT: &str = "py/console-script";

/// Files in a metadata folder that only pip reads (`METADATA`, `entry_points.txt`,
/// `top_level.txt`, `requires.txt`, `WHEEL` and licences stay: `importlib.metadata` reads them).
const INSTALL_ONLY: [&str; 10] = [
    "RECORD",
    "RECORD.jws",
    "RECORD.p7s",
    "INSTALLER",
    "REQUESTED",
    "direct_url.json",
    "SOURCES.txt",
    "installed-files.txt",
    "dependency_links.txt",
    "not-zip-safe",
];

/// The empty lock file `uv pip install --target DIR` leaves at `DIR/.lock` (uv's lock on the
/// install; nothing reads it at run time). Dropped only at the root of a dependencies folder of
/// its own (an unowned file there), never from the user's code.
const UV_TARGET_LOCK: &str = ".lock";

/// What the module lookups need: dotted module → distributions providing it.
struct Modules<'a> {
    providers: HashMap<&'a str, Vec<PackageId>>,
}

impl<'a> Modules<'a> {
    fn new(inventory: &'a Inventory) -> Self {
        let mut providers: HashMap<&str, Vec<PackageId>> = HashMap::new();
        for package in &inventory.packages {
            if let PackageKind::Python(distribution) = &package.kind {
                for module in &distribution.modules {
                    providers
                        .entry(module.as_str())
                        .or_default()
                        .push(package.id);
                }
            }
        }
        Modules { providers }
    }

    /// The distributions that provide the longest known prefix of a dotted name: on a shared
    /// namespace (`google.cloud`) the full path decides (`google.cloud.storage`).
    fn lookup(&self, name: &str) -> &[PackageId] {
        let mut candidate = name;
        loop {
            if let Some(found) = self.providers.get(candidate) {
                return found;
            }
            match candidate.rfind('.') {
                Some(dot) => candidate = &candidate[..dot],
                None => return &[],
            }
        }
    }
}

/// The kept distributions and why, with the extras asked of each.
#[derive(Default)]
struct Closure {
    kept: BTreeMap<PackageId, String>,
    extras: HashMap<PackageId, BTreeSet<ExtraName>>,
    /// `(requirer, normalised name)` of each requirement nothing installed satisfies.
    missing: BTreeSet<(PackageId, String)>,
}

/// A closure being computed: what is kept so far, what is left to follow, and what it never
/// enters.
struct Walk<'s> {
    closure: Closure,
    queue: VecDeque<PackageId>,
    stop: &'s dyn Fn(PackageId) -> bool,
}

impl Walk<'_> {
    /// Keeps a distribution, with why, unless `stop` refuses it or it is kept already. A
    /// declared requirement is the reason named first: it replaces an import found earlier by
    /// another distribution's code (often an optional one).
    fn add(&mut self, id: PackageId, why: String) {
        if (self.stop)(id) {
            return;
        }
        if let Some(reason) = self.closure.kept.get_mut(&id) {
            let by_a_distribution = reason.starts_with("imported by ")
                && !reason.starts_with("imported by your code")
                && !reason.ends_with("(in no distribution)");
            if by_a_distribution && why.starts_with("required by ") {
                *reason = why;
            }
            return;
        }
        self.closure.kept.insert(id, why);
        self.queue.push_back(id);
    }
}

/// What the closure is computed from.
struct Context<'a> {
    inventory: &'a Inventory,
    python: &'a PythonInventory,
    environment: MarkerEnvironment,
    modules: Modules<'a>,
    by_name: HashMap<&'a str, PackageId>,
    /// Test folders (artifact paths) and their dotted module.
    test_folders: BTreeMap<String, String>,
    /// The test folder holding each file, if any.
    test_folder_of: Vec<Option<String>>,
    /// User files a `user/*` rule drops for another reason than being tests.
    user_dropped: Vec<Option<&'static str>>,
}

impl<'a> Context<'a> {
    /// The context of a Python function: its target's marker environment, module and name
    /// lookups, its test folders, and the user files a `user/*` rule drops.
    fn new(inventory: &'a Inventory) -> Self {
        let handler = inventory.function.handler.file.as_str();
        let mut test_folders: BTreeMap<String, String> = BTreeMap::new();
        let mut test_folder_of: Vec<Option<String>> = vec![None; inventory.files.len()];
        let mut user_dropped: Vec<Option<&'static str>> = vec![None; inventory.files.len()];
        for (index, file) in inventory.files.iter().enumerate() {
            if file.owner == Owner::User {
                // Your test folders go unless your code imports them; other user rules always
                // apply, and nothing drops the handler or a folder holding it.
                match rules::user_file(&file.path, handler) {
                    None => continue,
                    Some(rule) if rule != "user/tests" || test_folder(&file.path).is_none() => {
                        user_dropped[index] = Some(rule);
                        continue;
                    }
                    Some(_) => {}
                }
            }
            if let Some(folder) = test_folder(&file.path) {
                let module = folder.replace('/', ".");
                test_folders.insert(folder.clone(), module);
                test_folder_of[index] = Some(folder);
            }
        }
        Context {
            inventory,
            python: super::facts(inventory),
            environment: marker_environment(inventory.function.runtime, inventory.function.arch),
            modules: Modules::new(inventory),
            by_name: inventory
                .packages
                .iter()
                .map(|package| (package.name.as_str(), package.id))
                .collect(),
            test_folders,
            test_folder_of,
            user_dropped,
        }
    }
}

impl Context<'_> {
    /// Whether a `.py` file's imports count: it ships (its test folder, if any, was rescued),
    /// and, if it is the user's, the handler loads it.
    fn counts(&self, index: usize, rescued: &HashSet<String>) -> bool {
        if self.user_dropped[index].is_some() || self.python.unloaded.contains(&index) {
            return false;
        }
        match &self.test_folder_of[index] {
            Some(folder) => rescued.contains(folder),
            None => true,
        }
    }

    fn imports_of(&self, index: usize) -> &[String] {
        self.python
            .files
            .get(&index)
            .map_or(&[], |fact| fact.imports.as_slice())
    }

    fn label(&self, id: PackageId) -> String {
        let package = self.inventory.package(id);
        format!("{}@{}", package.name, package.version)
    }

    /// The closure from the roots, never entering a distribution `stop` refuses: requirements
    /// and imports followed from each kept distribution, then plugins of kept ones, until no
    /// plugin is added.
    fn closure(
        &self,
        roots: &[(PackageId, String)],
        rescued: &HashSet<String>,
        stop: &dyn Fn(PackageId) -> bool,
    ) -> Closure {
        let inventory = self.inventory;
        // Imports of each distribution's shipped files.
        let imports: Vec<BTreeSet<&str>> = inventory
            .packages
            .iter()
            .map(|package| {
                package
                    .files
                    .iter()
                    .filter(|&&index| self.counts(index, rescued))
                    .flat_map(|&index| self.imports_of(index))
                    .map(String::as_str)
                    .collect()
            })
            .collect();
        let mut walk = Walk {
            closure: Closure::default(),
            queue: VecDeque::new(),
            stop,
        };
        for (id, why) in roots {
            if let Some(requested) = self
                .python
                .requested_extras
                .get(&inventory.package(*id).name)
            {
                walk.closure.extras.entry(*id).or_default().extend(
                    requested
                        .iter()
                        .filter_map(|extra| ExtraName::new(extra.clone()).ok()),
                );
            }
            walk.add(*id, why.clone());
        }
        loop {
            while let Some(id) = walk.queue.pop_front() {
                self.follow(&mut walk, id, &imports[id.0]);
            }
            if !self.add_plugins(&mut walk) {
                return walk.closure;
            }
        }
    }

    /// Keeps what one kept distribution needs: its requirements whose markers hold for the
    /// target with the extras asked of it (a requirement nothing installed satisfies is
    /// `missing`), and the distributions its shipped files import.
    fn follow(&self, walk: &mut Walk<'_>, id: PackageId, imports: &BTreeSet<&str>) {
        let Some(distribution) = distribution(self.inventory, id) else {
            return;
        };
        let extras: Vec<ExtraName> = walk
            .closure
            .extras
            .get(&id)
            .map(|extras| extras.iter().cloned().collect())
            .unwrap_or_default();
        for requirement in &distribution.requirements {
            if !requirement.marker.evaluate(&self.environment, &extras) {
                continue;
            }
            let name = normalize_name(requirement.name.as_ref());
            let Some(&target) = self.by_name.get(name.as_str()) else {
                walk.closure.missing.insert((id, name.clone()));
                continue;
            };
            if (walk.stop)(target) {
                continue;
            }
            let asked = walk.closure.extras.entry(target).or_default();
            let before = asked.len();
            asked.extend(requirement.extras.iter().cloned());
            if asked.len() > before && walk.closure.kept.contains_key(&target) {
                // New extras of a kept distribution may require more.
                walk.queue.push_back(target);
            }
            walk.add(target, format!("required by {}", self.label(id)));
        }
        for module in imports {
            for &target in self.modules.lookup(module) {
                if target != id {
                    walk.add(target, format!("imported by {} ({module})", self.label(id)));
                }
            }
        }
    }

    /// Plugins: keeps each distribution registering entry points (other than scripts) that
    /// requires a kept one. Whether any was added.
    fn add_plugins(&self, walk: &mut Walk<'_>) -> bool {
        let inventory = self.inventory;
        let mut grew = false;
        for package in &inventory.packages {
            let Some(distribution) = distribution(inventory, package.id) else {
                continue;
            };
            if walk.closure.kept.contains_key(&package.id) || (walk.stop)(package.id) {
                continue;
            }
            let Some(group) = distribution
                .entry_point_groups
                .iter()
                .find(|group| !SCRIPT_GROUPS.contains(&group.as_str()))
            else {
                continue;
            };
            let host = distribution.requirements.iter().find_map(|requirement| {
                if !requirement.marker.evaluate(&self.environment, &[]) {
                    return None;
                }
                let name = normalize_name(requirement.name.as_ref());
                let target = *self.by_name.get(name.as_str())?;
                walk.closure.kept.contains_key(&target).then_some(target)
            });
            if let Some(host) = host {
                let why = format!(
                    "plugin of {} (entry points group {group})",
                    self.label(host)
                );
                walk.add(package.id, why);
                grew = true;
            }
        }
        grew
    }
}

/// The two closures at their fixed point over test folders.
struct Reach {
    /// From the roots, entering everything.
    full: Closure,
    /// From the roots, never entering the runtime's SDK.
    without_sdk: Closure,
    /// Test folders shipped code imports.
    rescued: HashSet<String>,
    /// The user's imports of a computed name (`file:site`).
    dynamic: Vec<String>,
}

impl Reach {
    /// The closure whose distributions ship.
    fn kept(&self, drop_runtime_sdk: bool) -> &Closure {
        if drop_runtime_sdk {
            &self.without_sdk
        } else {
            &self.full
        }
    }
}

/// Computes the closures, with and without the runtime's SDK, until the test folders shipped
/// code imports stop growing (a rescued folder's imports count, and may rescue more).
fn reach(context: &Context, drop_runtime_sdk: bool) -> Reach {
    let runtime = context.inventory.function.runtime;
    let is_sdk = |id: PackageId| provides(runtime, &context.inventory.package(id).name);
    let never = |_: PackageId| false;
    let mut rescued: HashSet<String> = HashSet::new();
    loop {
        let (roots, dynamic) = roots(context, &rescued);
        let full = context.closure(&roots, &rescued, &never);
        let without_sdk = context.closure(&roots, &rescued, &is_sdk);
        let reach = Reach {
            full,
            without_sdk,
            rescued,
            dynamic,
        };
        let more = rescued_folders(context, reach.kept(drop_runtime_sdk), &reach.rescued);
        if more.is_subset(&reach.rescued) {
            return reach;
        }
        rescued = reach.rescued;
        rescued.extend(more);
    }
}

/// A kept distribution requires one that is not installed: what the runtime ships is a note;
/// anything else fails at import on Lambda, as a missing npm dependency does, and is an input
/// error naming the requirer's `METADATA`. A dropped requirer's is a note.
fn check_missing(
    context: &Context,
    reach: &Reach,
    drop_runtime_sdk: bool,
    notes: &mut Vec<String>,
) -> Result<()> {
    let inventory = context.inventory;
    let runtime = inventory.function.runtime;
    let kept_closure = reach.kept(drop_runtime_sdk);
    for (requirer, name) in &reach.full.missing {
        let label = context.label(*requirer);
        if provides(runtime, name) {
            notes.push(format!(
                "{label} requires {name}, which is not installed ({runtime} provides it)"
            ));
            continue;
        }
        if !kept_closure.kept.contains_key(requirer) {
            notes.push(format!("{label} requires {name}, which is not installed"));
            continue;
        }
        let dist_info = &inventory.package(*requirer).path;
        let metadata = inventory
            .files
            .iter()
            .find(|file| file.path == format!("{dist_info}/METADATA"))
            .map_or_else(
                || inventory.function.root.join(dist_info),
                |file| file.source.clone(),
            );
        return Err(crate::error::Error::input(
            metadata,
            format!(
                "{label} requires {name}, which is not installed: the function would fail to import it on Lambda. Install the requirements where lamina reads them (e.g. `pip install -r requirements.txt --target package`), with their dependencies"
            ),
        ));
    }
    Ok(())
}

/// Decides every file and distribution of a Python function.
pub fn shake(inventory: &Inventory, options: &ShakeOptions) -> Result<Plan> {
    let python = super::facts(inventory);
    let context = Context::new(inventory);
    let mut notes = inventory.imports.notes.clone();
    let reach = reach(&context, options.drop_runtime_sdk);
    if let Some(first) = reach.dynamic.first() {
        notes.push(format!(
            "every installed distribution is kept: your code has {} import(s) lamina cannot follow, first {first}",
            reach.dynamic.len()
        ));
    }
    check_missing(&context, &reach, options.drop_runtime_sdk, &mut notes)?;

    let mut packages = classify(
        &context,
        &reach.full,
        &reach.without_sdk,
        options.drop_runtime_sdk,
    );
    if options.drop_runtime_sdk {
        classify::keep_above_floor(&mut packages, kept_above_floor(&context, &reach));
    }

    let target_magic = pyc::runtime_magic(inventory.function.runtime);
    let mut files = file_decisions(&context, &reach.rescued, &packages, target_magic);
    let mut traced = BTreeMap::new();
    if options.mode == ShakeMode::Files
        && let Some(trace) = &python.trace
    {
        traced = super::refine::refine(inventory, trace, &mut packages, &mut files, &mut notes);
        if let Some(services) = &python.services {
            notes.extend(super::refine::prune_sdk_models(
                inventory, trace, services, &mut files,
            ));
        }
    }
    if options.mode == ShakeMode::None {
        not_shaken(&mut files, &mut packages, &mut notes);
    } else {
        drop_orphan_pycs(python, &mut files);
        drop_dangling_links(inventory, &mut files);
    }
    if options.bytecode == Bytecode::Source {
        drop_sourced_pycs(python, &mut files);
    }
    shipping_notes(inventory, &files, &mut notes);
    let rewrite_pycs = rewrite_pycs(python, &files, target_magic);

    Ok(Plan {
        mode: options.mode,
        files,
        packages,
        notes,
        ecosystem: EcosystemPlan::Python {
            rewrite_pycs,
            traced,
        },
    })
}

/// With `--drop-runtime-sdk`: the SDK distributions a kept one requires at a version above what
/// the runtime is known to ship (`sdk_above_floor`), with what they require, each with why.
fn kept_above_floor(context: &Context, reach: &Reach) -> Vec<(PackageId, String)> {
    let runtime = context.inventory.function.runtime;
    let starts = sdk_above_floor(context, &reach.without_sdk);
    if starts.is_empty() {
        return Vec::new();
    }
    let never = |_: PackageId| false;
    let kept = context.closure(&starts, &reach.rescued, &never);
    kept.kept
        .into_iter()
        .filter(|(id, _)| {
            provides(runtime, &context.inventory.package(*id).name)
                && !reach.without_sdk.kept.contains_key(id)
        })
        .map(|(id, why)| {
            (
                id,
                format!("runtime-provided, but kept despite --drop-runtime-sdk: {why}"),
            )
        })
        .collect()
}

/// Each file's decision: a dropped distribution's files go with it; a kept one's, unowned
/// files and the user's go by the `py/*` rules, test folders no shipped code imports, and (the
/// user's) the `user/*` rules.
fn file_decisions(
    context: &Context,
    rescued: &HashSet<String>,
    packages: &[PackageDecision],
    target_magic: Option<[u8; 4]>,
) -> Vec<Decision> {
    let inventory = context.inventory;
    let python = context.python;
    let keep_rule = |rule: Option<&'static str>, reason: Reason| match rule {
        Some(rule) => Decision {
            keep: false,
            reason: Reason::Rule(rule),
        },
        None => Decision { keep: true, reason },
    };
    let mut files: Vec<Decision> = Vec::with_capacity(inventory.files.len());
    for (index, file) in inventory.files.iter().enumerate() {
        let test_rule = context.test_folder_of[index]
            .as_ref()
            .filter(|folder| !rescued.contains(*folder))
            .map(|_| TEST_FOLDER);
        let decision = match file.owner {
            Owner::Package(id) if !packages[id.0].keep => Decision {
                keep: false,
                reason: Reason::PackageDropped,
            },
            Owner::Package(_) => keep_rule(
                file_rule(inventory, python, index, target_magic).or(test_rule),
                Reason::InKeptPackage,
            ),
            Owner::Unowned => keep_rule(
                file_rule(inventory, python, index, target_magic).or(test_rule),
                Reason::Unowned,
            ),
            Owner::User => {
                let user_rule =
                    context.user_dropped[index].or_else(|| test_rule.map(|_| "user/tests"));
                keep_rule(
                    user_rule.or_else(|| file_rule(inventory, python, index, target_magic)),
                    Reason::UserCode,
                )
            }
        };
        files.push(decision);
    }
    files
}

/// `--shake none`: every file and distribution ships; the classes still say what could go.
fn not_shaken(files: &mut [Decision], packages: &mut [PackageDecision], notes: &mut Vec<String>) {
    files.fill(Decision {
        keep: true,
        reason: Reason::NotShaken,
    });
    notes.push("--shake none: every file ships as installed".to_string());
    for decision in packages {
        decision.keep = true;
        decision.reason = Reason::NotShaken;
    }
}

/// A pyc whose source does not ship is never read (Python ignores `__pycache__` without the
/// `.py` beside it): it goes too.
fn drop_orphan_pycs(python: &PythonInventory, files: &mut [Decision]) {
    for (index, fact) in &python.files {
        if let Some(pyc) = &fact.pyc
            && pyc.in_pycache
            && files[*index].keep
            && pyc.source.is_none_or(|source| !files[source].keep)
        {
            files[*index] = Decision {
                keep: false,
                reason: Reason::Rule(PYCACHE_ORPHAN),
            };
        }
    }
}

/// `--python-bytecode source`: every kept pyc whose `.py` ships goes (Python compiles the
/// source instead); a lone `x.pyc`, a sourceless module, stays. A shake decision, not a
/// staging one, so the report, `lamina why` and layer planning see the files that ship.
fn drop_sourced_pycs(python: &PythonInventory, files: &mut [Decision]) {
    for (index, fact) in &python.files {
        if let Some(pyc) = &fact.pyc
            && files[*index].keep
            && pyc.source.is_some_and(|source| files[source].keep)
        {
            files[*index] = Decision {
                keep: false,
                reason: Reason::Rule(BYTECODE_SOURCE),
            };
        }
    }
}

/// Notes on what ships: a `.pth` at the root (Lambda never processes it), and where the
/// dependencies were read.
fn shipping_notes(inventory: &Inventory, files: &[Decision], notes: &mut Vec<String>) {
    let python = super::facts(inventory);
    let runtime = inventory.function.runtime;
    for (file, decision) in inventory.files.iter().zip(files) {
        if decision.keep && file.path.ends_with(".pth") && !file.path.contains('/') {
            notes.push(format!(
                "{} ships, but Lambda does not process .pth files in /var/task (it is not a site directory): the paths it adds and the code it runs are missing at run time; put it in a layer's python/lib/{}/site-packages if the function needs it",
                file.path,
                runtime.id()
            ));
        }
    }
    if let Some(site_packages) = &python.site_packages {
        notes.push(format!(
            "dependencies read from {site_packages}; they ship at the artifact's root (/var/task)"
        ));
    }
}

/// The pycs package rewrites with an unchecked-hash header: kept, in `__pycache__`, fresh,
/// unoptimized, of the target Python, not unchecked already, and with their source kept.
fn rewrite_pycs(
    python: &PythonInventory,
    files: &[Decision],
    target_magic: Option<[u8; 4]>,
) -> Vec<usize> {
    python
        .files
        .iter()
        .filter(|(index, fact)| {
            fact.pyc.is_some_and(|pyc| {
                files[**index].keep
                    && pyc.in_pycache
                    && !pyc.stale
                    && !pyc.optimized
                    && Some(pyc.magic) == target_magic
                    && pyc.flags != pyc::UNCHECKED_HASH
                    && pyc.source.is_some_and(|source| files[source].keep)
            })
        })
        .map(|(index, _)| *index)
        .collect()
}

/// The first folder named exactly `tests` or `test` on a path (`jinja2/tests.py` is a
/// module, not a folder, and `*testing*` never matches).
fn test_folder(path: &str) -> Option<String> {
    let parts: Vec<&str> = path.split('/').collect();
    let folders = &parts[..parts.len() - 1];
    folders
        .iter()
        .position(|part| *part == "tests" || *part == "test")
        .map(|depth| parts[..=depth].join("/"))
}

/// The roots: distributions the user's shipped code (and unowned modules) imports; every
/// distribution when the user's code imports a computed name.
fn roots(context: &Context, rescued: &HashSet<String>) -> (Vec<(PackageId, String)>, Vec<String>) {
    let inventory = context.inventory;
    let mut roots: Vec<(PackageId, String)> = Vec::new();
    let mut dynamic = Vec::new();
    for (index, file) in inventory.files.iter().enumerate() {
        if !context.counts(index, rescued) {
            continue;
        }
        let why = match file.owner {
            Owner::User => format!("imported by your code ({})", file.path),
            Owner::Unowned => format!("imported by {} (in no distribution)", file.path),
            Owner::Package(_) => continue,
        };
        if let Some(fact) = context.python.files.get(&index) {
            if file.owner == Owner::User {
                dynamic.extend(
                    fact.dynamic
                        .iter()
                        .map(|site| format!("{}:{site}", file.path)),
                );
            }
            for module in &fact.imports {
                for &id in context.modules.lookup(module) {
                    roots.push((id, why.clone()));
                }
            }
        }
    }
    if !dynamic.is_empty() {
        roots.extend(inventory.packages.iter().map(|package| {
            (
                package.id,
                "kept: your code imports a name lamina cannot know".to_string(),
            )
        }));
    }
    (roots, dynamic)
}

/// Test folders that shipped code imports (`from jinja2 import tests`, `import pkg.tests.x`).
fn rescued_folders(
    context: &Context,
    kept: &Closure,
    rescued: &HashSet<String>,
) -> HashSet<String> {
    let mut imported: HashSet<String> = HashSet::new();
    for (index, file) in context.inventory.files.iter().enumerate() {
        let ships = match file.owner {
            Owner::Package(id) => kept.kept.contains_key(&id),
            Owner::User | Owner::Unowned => true,
        };
        if !ships || !context.counts(index, rescued) {
            continue;
        }
        for module in context.imports_of(index) {
            for (folder, folder_module) in &context.test_folders {
                let inside = context.test_folder_of[index].as_deref() == Some(folder.as_str());
                let names_it =
                    module == folder_module || module.starts_with(&format!("{folder_module}."));
                if names_it && !inside {
                    imported.insert(folder.clone());
                }
            }
        }
    }
    imported
}

/// SDK distributions a kept (non-SDK) distribution requires at a version the runtime's known
/// floor does not satisfy (`SDK_FLOORS`), each with the requirement that asks for it.
fn sdk_above_floor(context: &Context, kept: &Closure) -> Vec<(PackageId, String)> {
    let runtime = context.inventory.function.runtime;
    let mut starts = Vec::new();
    for &id in kept.kept.keys() {
        let Some(distribution) = distribution(context.inventory, id) else {
            continue;
        };
        let extras: Vec<ExtraName> = kept
            .extras
            .get(&id)
            .map(|extras| extras.iter().cloned().collect())
            .unwrap_or_default();
        for requirement in &distribution.requirements {
            if !requirement.marker.evaluate(&context.environment, &extras) {
                continue;
            }
            let name = normalize_name(requirement.name.as_ref());
            let Some(floor) = PYTHON_SDK_FLOORS
                .iter()
                .find(|(sdk, _)| *sdk == name)
                .and_then(|(_, floor)| floor.parse::<pep440_rs::Version>().ok())
            else {
                continue;
            };
            let Some(pep508_rs::VersionOrUrl::VersionSpecifier(specifiers)) =
                &requirement.version_or_url
            else {
                continue;
            };
            if specifiers.contains(&floor) {
                continue;
            }
            if let Some(&target) = context.by_name.get(name.as_str()) {
                starts.push((
                    target,
                    format!(
                        "{} requires {name}{specifiers}, and {runtime} is only known to ship {name} {floor} or later (AWS's runtime table); keep it, or check the runtime's version and pin your own",
                        context.label(id)
                    ),
                ));
            }
        }
    }
    starts
}

/// The class, keep and reason of every distribution.
fn classify(
    context: &Context,
    full: &Closure,
    without_sdk: &Closure,
    drop_runtime_sdk: bool,
) -> Vec<PackageDecision> {
    let inventory = context.inventory;
    // Who requires each dropped distribution, for "only required by ..." reasons.
    let mut required_by: HashMap<PackageId, Vec<PackageId>> = HashMap::new();
    for package in &inventory.packages {
        for dependency in &package.dependencies {
            if let Some(target) = dependency.target {
                required_by.entry(target).or_default().push(package.id);
            }
        }
    }
    // Dev tools and everything only they require.
    let mut dev: BTreeMap<PackageId, Option<PackageId>> = BTreeMap::new();
    let mut queue: VecDeque<PackageId> = inventory
        .packages
        .iter()
        .filter(|package| is_dev_tool(&package.name) && !full.kept.contains_key(&package.id))
        .map(|package| package.id)
        .collect();
    for id in &queue {
        dev.insert(*id, None);
    }
    while let Some(id) = queue.pop_front() {
        for dependency in &inventory.package(id).dependencies {
            if let Some(target) = dependency.target
                && !full.kept.contains_key(&target)
                && !dev.contains_key(&target)
            {
                dev.insert(target, Some(id));
                queue.push_back(target);
            }
        }
    }
    let wording = Wording {
        packages: "distributions",
        sdk_says_why: true,
    };
    classify::decide(
        inventory.function.runtime,
        &inventory.packages,
        &without_sdk.kept,
        &full.kept,
        drop_runtime_sdk,
        wording,
        |package| {
            if let Some(tool) = dev.get(&package.id) {
                let why = match tool {
                    None => "dev tool: no kept code imports it".to_string(),
                    Some(tool) => format!(
                        "dev tool: only required by dev tools ({})",
                        context.label(*tool)
                    ),
                };
                return (PackageClass::Dev, why);
            }
            let requirers: Vec<String> = required_by
                .get(&package.id)
                .map(|ids| ids.iter().map(|id| context.label(*id)).collect())
                .unwrap_or_default();
            let why = if BUILD_TOOLS.contains(&package.name.as_str()) {
                "unused: build-time tool; no kept code imports it".to_string()
            } else if requirers.is_empty() {
                "unused: no kept code imports it and no kept distribution requires it".to_string()
            } else {
                format!(
                    "unused: only required by unused distributions ({})",
                    requirers.join(", ")
                )
            };
            (PackageClass::Unused, why)
        },
    )
}

/// The `py/*` rule (other than test folders) that drops a file, if any.
fn file_rule(
    inventory: &Inventory,
    python: &PythonInventory,
    index: usize,
    target_magic: Option<[u8; 4]>,
) -> Option<&'static str> {
    let path = inventory.files[index].path.as_str();
    let name = path.rsplit('/').next().unwrap_or(path);
    let folder = parent(path);
    let in_metadata = folder.ends_with(".dist-info") || folder.ends_with(".egg-info");
    if in_metadata && !folder.contains('/') && INSTALL_ONLY.contains(&name) {
        return Some(INSTALL_METADATA);
    }
    let file = &inventory.files[index];
    if path == UV_TARGET_LOCK && file.bytes == 0 && file.owner == Owner::Unowned {
        return Some(INSTALL_METADATA);
    }
    if name.ends_with(".pyi") || name == "py.typed" {
        return Some(TYPE_STUB);
    }
    let fact = python.files.get(&index)?;
    if fact.foreign_shebang {
        return Some(CONSOLE_SCRIPT);
    }
    let pyc = fact.pyc.as_ref()?;
    if !pyc.in_pycache {
        // A legacy `x.pyc` beside `x.py` is never read; alone, it is a sourceless module.
        return pyc.source.map(|_| PYCACHE_ORPHAN);
    }
    if pyc.source.is_none() {
        return Some(PYCACHE_ORPHAN);
    }
    if pyc.optimized {
        return Some(PYCACHE_OPTIMIZED);
    }
    if Some(pyc.magic) != target_magic {
        return Some(PYCACHE_FOREIGN);
    }
    if pyc.stale {
        return Some(PYCACHE_STALE);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lambda::Runtime;

    #[test]
    fn only_folders_named_exactly_tests_are_test_folders() {
        assert_eq!(test_folder("jinja2/tests.py"), None);
        assert_eq!(test_folder("pandas/_testing/asserters.py"), None);
        assert_eq!(test_folder("numpy/testing/utils.py"), None);
        assert_eq!(
            test_folder("numpy/core/tests/test_x.py").as_deref(),
            Some("numpy/core/tests")
        );
        assert_eq!(test_folder("test/a/tests/b.py").as_deref(), Some("test"));
    }

    #[test]
    fn dev_tools_and_the_runtime_sdk_are_named() {
        assert!(is_dev_tool("pytest"));
        assert!(is_dev_tool("pytest-cov"));
        assert!(!is_dev_tool("requests"));
        assert!(provides(Runtime::Python312, "python-dateutil"));
        assert!(!provides(Runtime::Nodejs22, "boto3"));
    }
}
