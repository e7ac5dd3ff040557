//! Shake for Python functions: the distribution closure (imports of your code, `Requires-Dist`
//! with markers for the target, imports by kept distributions, entry-point plugins), the
//! runtime-provided SDK, the `py/*` junk rules, and which pycs package rewrites.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

use pep508_rs::{ExtraName, MarkerEnvironment};

use super::metadata::{marker_environment, normalize_name};
use crate::error::Result;
use crate::lambda::sdk::{PYTHON_SDK_FLOORS, provides};
use crate::model::{
    Decision, Distribution, EcosystemPlan, Inventory, Owner, PackageClass, PackageDecision,
    PackageId, PackageKind, Plan, PythonInventory, Reason, ShakeMode,
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

    /// The closure from the roots, never entering a distribution `stop` refuses.
    fn closure(
        &self,
        roots: &[(PackageId, String)],
        rescued: &HashSet<String>,
        stop: &dyn Fn(PackageId) -> bool,
    ) -> Closure {
        let inventory = self.inventory;
        let mut closure = Closure::default();
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
        let mut queue: VecDeque<PackageId> = VecDeque::new();
        let add = |closure: &mut Closure, queue: &mut VecDeque<PackageId>, id, why: String| {
            if stop(id) || closure.kept.contains_key(&id) {
                return;
            }
            closure.kept.insert(id, why);
            queue.push_back(id);
        };
        for (id, why) in roots {
            if let Some(requested) = self
                .python
                .requested_extras
                .get(&inventory.package(*id).name)
            {
                closure.extras.entry(*id).or_default().extend(
                    requested
                        .iter()
                        .filter_map(|extra| ExtraName::new(extra.clone()).ok()),
                );
            }
            add(&mut closure, &mut queue, *id, why.clone());
        }
        loop {
            while let Some(id) = queue.pop_front() {
                let Some(distribution) = distribution(inventory, id) else {
                    continue;
                };
                let extras: Vec<ExtraName> = closure
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
                        closure.missing.insert((id, name.clone()));
                        continue;
                    };
                    if stop(target) {
                        continue;
                    }
                    let asked = closure.extras.entry(target).or_default();
                    let before = asked.len();
                    asked.extend(requirement.extras.iter().cloned());
                    if asked.len() > before && closure.kept.contains_key(&target) {
                        // New extras of a kept distribution may require more.
                        queue.push_back(target);
                    }
                    add(
                        &mut closure,
                        &mut queue,
                        target,
                        format!("required by {}", self.label(id)),
                    );
                }
                for module in &imports[id.0] {
                    for &target in self.modules.lookup(module) {
                        if target != id {
                            add(
                                &mut closure,
                                &mut queue,
                                target,
                                format!("imported by {} ({module})", self.label(id)),
                            );
                        }
                    }
                }
            }
            // Plugins: a distribution registering entry points that depends on a kept one.
            let mut grew = false;
            for package in &inventory.packages {
                let Some(distribution) = distribution(inventory, package.id) else {
                    continue;
                };
                if closure.kept.contains_key(&package.id) || stop(package.id) {
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
                    closure.kept.contains_key(&target).then_some(target)
                });
                if let Some(host) = host {
                    let why = format!(
                        "plugin of {} (entry points group {group})",
                        self.label(host)
                    );
                    add(&mut closure, &mut queue, package.id, why);
                    grew = true;
                }
            }
            if !grew {
                return closure;
            }
        }
    }
}

/// Decides every file and distribution of a Python function.
pub fn shake(inventory: &Inventory, options: &ShakeOptions) -> Result<Plan> {
    let python = super::facts(inventory);
    let runtime = inventory.function.runtime;
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
    let context = Context {
        inventory,
        python,
        environment: marker_environment(runtime, inventory.function.arch),
        modules: Modules::new(inventory),
        by_name: inventory
            .packages
            .iter()
            .map(|package| (package.name.as_str(), package.id))
            .collect(),
        test_folders,
        test_folder_of,
        user_dropped,
    };

    let is_sdk = |id: PackageId| provides(runtime, &inventory.package(id).name);
    let never = |_: PackageId| false;
    let mut notes = inventory.imports.notes.clone();
    let mut rescued: HashSet<String> = HashSet::new();
    let (full, without_sdk, dynamic) = loop {
        let (roots, dynamic) = roots(&context, &rescued);
        let full = context.closure(&roots, &rescued, &never);
        let without_sdk = context.closure(&roots, &rescued, &is_sdk);
        let kept = if options.drop_runtime_sdk {
            &without_sdk
        } else {
            &full
        };
        let more = rescued_folders(&context, kept, &rescued);
        if more.is_subset(&rescued) {
            break (full, without_sdk, dynamic);
        }
        rescued.extend(more);
    };
    if let Some(first) = dynamic.first() {
        notes.push(format!(
            "every installed distribution is kept: your code has {} import(s) lamina cannot follow, first {first}",
            dynamic.len()
        ));
    }
    // A kept distribution requires one that is not installed: what the runtime ships is a
    // note; anything else fails at import on Lambda, as a missing npm dependency does.
    let kept_closure = if options.drop_runtime_sdk {
        &without_sdk
    } else {
        &full
    };
    for (requirer, name) in &full.missing {
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

    // With --drop-runtime-sdk: an SDK distribution a kept one requires at a version above what
    // the runtime is known to ship stays, with what it requires.
    let mut above_floor: BTreeMap<PackageId, String> = BTreeMap::new();
    if options.drop_runtime_sdk {
        let starts = sdk_above_floor(&context, &without_sdk);
        if !starts.is_empty() {
            let kept = context.closure(&starts, &rescued, &never);
            for (id, why) in kept.kept {
                if is_sdk(id) && !without_sdk.kept.contains_key(&id) {
                    above_floor.insert(id, why);
                }
            }
        }
    }
    let mut packages = classify(&context, &full, &without_sdk, options.drop_runtime_sdk);
    classify::keep_above_floor(
        &mut packages,
        above_floor.into_iter().map(|(id, why)| {
            (
                id,
                format!("runtime-provided, but kept despite --drop-runtime-sdk: {why}"),
            )
        }),
    );

    let mut files: Vec<Decision> = Vec::with_capacity(inventory.files.len());
    let target_magic = pyc::runtime_magic(runtime);
    for (index, file) in inventory.files.iter().enumerate() {
        let keep_rule = |rule: Option<&'static str>, reason: Reason| match rule {
            Some(rule) => Decision {
                keep: false,
                reason: Reason::Rule(rule),
            },
            None => Decision { keep: true, reason },
        };
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
    if options.mode == ShakeMode::None {
        files.fill(Decision {
            keep: true,
            reason: Reason::NotShaken,
        });
        notes.push("--shake none: every file ships as installed".to_string());
    } else {
        // A pyc whose source does not ship is never read (Python ignores `__pycache__`
        // without the `.py` beside it).
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
        drop_dangling_links(inventory, &mut files);
    }
    let packages = if options.mode == ShakeMode::None {
        packages
            .into_iter()
            .map(|decision| PackageDecision {
                keep: true,
                reason: Reason::NotShaken,
                ..decision
            })
            .collect()
    } else {
        packages
    };

    for (file, decision) in inventory.files.iter().zip(&files) {
        if decision.keep && file.path.ends_with(".pth") && !file.path.contains('/') {
            notes.push(format!(
                "{} ships, but Lambda does not process .pth files in /var/task (it is not a site directory): the paths it adds and the code it runs are missing at run time; put it in a layer's python/lib/{}/site-packages if the function needs it",
                file.path,
                runtime.id()
            ));
        }
    }
    if options.mode == ShakeMode::Files {
        notes.push(
            "--shake files traces Node.js functions only; this Python function is shaken by distribution, as with --shake deps".to_string(),
        );
    }
    if let Some(site_packages) = &python.site_packages {
        notes.push(format!(
            "dependencies read from {site_packages}; they ship at the artifact's root (/var/task)"
        ));
    }

    let rewrite_pycs = python
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
        .collect();

    Ok(Plan {
        mode: options.mode,
        files,
        packages,
        notes,
        ecosystem: EcosystemPlan::Python { rewrite_pycs },
    })
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
