//! Python functions: where the installed distributions are (`package/`, a virtual
//! environment's site-packages, `--site-packages DIR`, or next to the handler), which files each
//! distribution owns, what every `.py` imports, pyc headers, console scripts, native binaries,
//! and the Python version the installed files were built for.
//!
//! Site-packages contents go to the artifact's root, as `/var/task` is on `sys.path` on Lambda:
//! `package/requests/__init__.py` ships as `requests/__init__.py`.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use pep508_rs::{MarkerExpression, MarkerValueExtra};
use rayon::prelude::*;

use super::{imports, metadata};
use crate::error::{Error, Result};
use crate::lambda::sdk::PYTHON_SDK_MODULES;
use crate::model::{
    Arch, Dependency, DependencyKind, Distribution, EcosystemInventory, FileEntry, Function,
    Handler, Imports, Inventory, Origin, Owner, Package, PackageId, PackageKind, PlatformFacts,
    Pyc, PythonFile, PythonInventory, Runtime,
};
use crate::python::pyc;
use crate::scan::walk::{self, join, parent, relative_link};
use crate::scan::{ScanOptions, output_folder};

/// Usual handler files, in the order lamina tries them, with the function name Lambda's
/// console gives each.
const USUAL_HANDLERS: [(&str, &str); 5] = [
    ("lambda_function", "lambda_handler"),
    ("app", "handler"),
    ("handler", "handler"),
    ("index", "handler"),
    ("main", "handler"),
];

/// Whether a folder without `package.json` (or with one but no `node_modules`) holds a Python
/// function.
pub fn looks_like_python(root: &Path, options: &ScanOptions) -> bool {
    if options.site_packages.is_some() {
        return true;
    }
    if let Some(spec) = &options.handler
        && let Some((module, _)) = spec.rsplit_once('.')
    {
        let file = module.replace('.', "/");
        if root.join(format!("{file}.py")).is_file() {
            return true;
        }
    }
    let has_node_modules = root.join("node_modules").is_dir();
    !has_node_modules
        && (root.join("requirements.txt").is_file()
            || root.join("package").is_dir()
            || USUAL_HANDLERS
                .iter()
                .any(|(stem, _)| root.join(format!("{stem}.py")).is_file()))
}

/// Where the dependencies are, relative to the function folder's walk.
#[derive(Debug, Clone)]
enum Layout {
    /// A folder inside the function folder (`package`, `.venv/lib/python3.12/site-packages`,
    /// or a `--site-packages` inside it), as an artifact-path prefix.
    Inside(String),
    /// A `--site-packages` outside the function folder.
    Outside(PathBuf),
    /// Installed next to the handler: the function folder itself.
    Root,
    /// No installed dependencies.
    None,
}

/// Scans a Python function folder (`root` is canonical).
pub fn scan(root: PathBuf, options: &ScanOptions) -> Result<Inventory> {
    let mut warnings = Vec::new();

    let venvs = virtual_environments(&root)?;
    let (layout, venv_version) = layout(&root, options, &venvs)?;
    let site_packages_label = match &layout {
        Layout::Inside(prefix) => Some(prefix.clone()),
        Layout::Outside(dir) => Some(dir.display().to_string()),
        Layout::Root => Some(".".to_string()),
        Layout::None => None,
    };

    let (mut files, from_site) = artifact_files(&root, options, &layout, &venvs, &mut warnings)?;

    let by_path: HashMap<&str, usize> = files
        .iter()
        .enumerate()
        .map(|(index, file)| (file.path.as_str(), index))
        .collect();

    let mut packages = distributions(&files, &from_site, &mut warnings)?;
    // Installed next to the handler, a file no distribution claims is the user's own.
    let beside = matches!(layout, Layout::Root);
    let owners = ownership(&files, &from_site, &packages, &by_path, beside);
    for (index, owner) in owners.iter().enumerate() {
        if let Owner::Package(id) = owner {
            packages[id.0].files.push(index);
        }
    }
    for package in &mut packages {
        let PackageKind::Python(distribution) = &mut package.kind else {
            continue;
        };
        distribution.modules = modules_of(&files, &package.files, &distribution.top_level);
    }

    let top_names = top_level_names(&files);
    // What each `.py` file imports depends on its text and its module name alone: remembered
    // by the file's stamp, so a rebuild of unchanged sources parses none of them.
    let memo =
        crate::scan::memo::Memo::open(options.cache.as_deref(), &root, "python imports", &[]);
    let facts = file_facts(&files, &owners, &by_path, &top_names, options.trace, &memo)?;
    let scan_cache = memo.stats();
    if options.remember {
        memo.save();
    }

    let (runtime, runtime_origin) = infer_runtime(
        options.runtime,
        venv_version,
        &files,
        &from_site,
        &packages,
        &facts,
        &mut warnings,
    );
    requires_python_warnings(&packages, runtime, &mut warnings);
    let platform = platform_facts(&by_path, &packages, &facts);
    resolve_dependencies(&mut packages, runtime, options.arch, &mut warnings);

    let name = crate::scan::function_name(&root)?;
    let handler = handler(&root, options.handler.as_deref(), &files, &owners)?;
    missing_imports(
        &files,
        &owners,
        &facts,
        &handler.file,
        site_packages_label.as_deref(),
        &mut warnings,
    )?;

    let mut imports = Imports::default();
    let unloaded = unloaded_user_modules(&files, &owners, &facts, &handler.file, &mut imports);
    for (index, fact) in &facts {
        if owners[*index] != Owner::User || unloaded.contains(index) {
            continue;
        }
        imports.packages.extend(fact.imports.iter().cloned());
        let path = &files[*index].path;
        imports
            .dynamic
            .extend(fact.dynamic.iter().map(|site| format!("{path}:{site}")));
    }

    let traced = options.trace.then(|| {
        super::trace::trace(&super::trace::Input {
            files: &files,
            owners: &owners,
            packages: &packages,
            facts: &facts,
            handler_file: &handler.file,
            unloaded: &unloaded,
        })
    });
    let (trace, services) = match traced {
        Some((trace, services)) => (Some(trace), Some(services)),
        None => (None, None),
    };

    let mut requested_extras: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    if let Some(&index) = by_path.get("requirements.txt")
        && owners[index] == Owner::User
    {
        let text = crate::input::read_to_string(&files[index].source, Some(files[index].bytes))?;
        for (name, extras) in metadata::requirements_txt_extras(&text) {
            requested_extras.entry(name).or_default().extend(extras);
        }
    }
    for (file, owner) in files.iter_mut().zip(&owners) {
        file.owner = *owner;
    }
    let output_folder = output_folder(&root, options);
    Ok(Inventory {
        function: Function {
            name,
            root,
            runtime,
            runtime_origin,
            arch: options.arch,
            handler,
        },
        files,
        packages,
        imports,
        output_folder,
        warnings,
        platform,
        ecosystem: EcosystemInventory::Python(Box::new(PythonInventory {
            site_packages: site_packages_label,
            files: facts,
            requested_extras,
            unloaded,
            trace,
            services,
        })),
        scan_cache,
    })
}

/// The walk of the function folder (and of the site-packages folder when it lies elsewhere)
/// in artifact paths: site-packages contents at the root, virtual environments left out, links
/// remapped; with, for each file, whether it came from the site-packages folder. A file of the
/// user's wins over a dependency's at the same path.
fn artifact_files(
    root: &Path,
    options: &ScanOptions,
    layout: &Layout,
    venvs: &[String],
    warnings: &mut Vec<String>,
) -> Result<(Vec<FileEntry>, Vec<bool>)> {
    // The function folder, then the site-packages folder when it lies elsewhere.
    let outside_site = match &layout {
        Layout::Outside(dir) => Some(dir.as_path()),
        _ => None,
    };
    let bounds = crate::scan::bounds(root, options, outside_site);
    let tree = walk::walk(root, &bounds)?;
    warnings.extend(tree.warnings);
    let mut entries: Vec<(FileEntry, bool)> = Vec::new();
    let site_prefix = match &layout {
        Layout::Inside(prefix) => Some(format!("{prefix}/")),
        _ => None,
    };
    // Artifact path of a walked path: site-packages contents move to the root; virtual
    // environments (but for the chosen site-packages) stay out.
    let remap = |path: &str| -> Option<(String, bool)> {
        if let Some(prefix) = &site_prefix
            && let Some(rest) = path.strip_prefix(prefix.as_str())
        {
            return Some((rest.to_string(), true));
        }
        if let Some(prefix) = &site_prefix
            && path == &prefix[..prefix.len() - 1]
        {
            return None;
        }
        let first = path.split('/').next().unwrap_or("");
        if venvs.iter().any(|venv| venv == first) {
            return None;
        }
        Some((path.to_string(), matches!(layout, Layout::Root)))
    };
    // A link out of the project is an error only where it would ship: a virtual
    // environment's `bin/python` points at the machine's Python and stays out.
    if let Some(refused) = tree
        .refused
        .iter()
        .find(|refused| remap(&refused.path).is_some())
    {
        return Err(refused.error());
    }
    for mut entry in tree.entries {
        let Some((artifact, site)) = remap(&entry.path) else {
            continue;
        };
        if entry.link_target.is_some() {
            let target = tree.links.get(&entry.path).and_then(|target| remap(target));
            match target {
                Some((target, _)) => entry.link_target = Some(relative_link(&artifact, &target)),
                None => {
                    warnings.push(format!(
                        "{}: a link to a folder that does not ship; left out",
                        entry.source.display()
                    ));
                    continue;
                }
            }
        }
        entry.path = artifact;
        entries.push((entry, site));
    }
    if let Layout::Outside(dir) = &layout {
        let outside = walk::walk(dir, &bounds)?;
        if let Some(refused) = outside.refused.first() {
            return Err(refused.error());
        }
        warnings.extend(outside.warnings);
        entries.extend(outside.entries.into_iter().map(|entry| (entry, true)));
    }
    // The user's own files first, so a same-named file of the site-packages folder is the one
    // that loses (as `zip` run in the function folder after the dependencies would do).
    entries.sort_by(|(a, a_site), (b, b_site)| a.path.cmp(&b.path).then(a_site.cmp(b_site)));
    let mut files: Vec<FileEntry> = Vec::with_capacity(entries.len());
    let mut from_site: Vec<bool> = Vec::with_capacity(entries.len());
    for (entry, site) in entries {
        if files.last().is_some_and(|last| last.path == entry.path) {
            warnings.push(format!(
                "{}: {} of your code has the same path in the artifact; the dependency's copy is left out",
                entry.source.display(),
                entry.path
            ));
            continue;
        }
        files.push(entry);
        from_site.push(site);
    }
    Ok((files, from_site))
}

/// Folders of the function folder that hold a virtual environment (a `pyvenv.cfg`).
fn virtual_environments(root: &Path) -> Result<Vec<String>> {
    let mut venvs = Vec::new();
    for entry in crate::fs::read_dir(root)? {
        let entry = entry?;
        if entry.path().join("pyvenv.cfg").is_file()
            && let Ok(name) = entry.file_name().into_string()
        {
            venvs.push(name);
        }
    }
    venvs.sort();
    Ok(venvs)
}

/// Picks the dependencies folder: `--site-packages`, `package/`, a virtual environment's
/// site-packages, or the function folder itself when distributions are installed there.
/// Also returns the Python version a virtual environment's `lib/python3.X` names.
fn layout(
    root: &Path,
    options: &ScanOptions,
    venvs: &[String],
) -> Result<(Layout, Option<(u32, u32)>)> {
    if let Some(flag) = &options.site_packages {
        // std's, for the IO error's kind; the message names the flag's path.
        let dir = std::fs::canonicalize(flag).map_err(|error| {
            Error::input(
                flag,
                format!(
                    "--site-packages: {}",
                    error.kind().to_string().to_lowercase()
                ),
            )
        })?;
        if !dir.is_dir() {
            return Err(Error::input(flag, "--site-packages: not a folder"));
        }
        if dir == root {
            return Ok((Layout::Root, None));
        }
        if let Ok(inside) = dir.strip_prefix(root) {
            let prefix = inside
                .components()
                .map(|part| part.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            return Ok((Layout::Inside(prefix), version_in_path(&dir)));
        }
        return Ok((Layout::Outside(dir.clone()), version_in_path(&dir)));
    }
    if root.join("package").is_dir() {
        return Ok((Layout::Inside("package".to_string()), None));
    }
    for venv in venvs {
        let lib = root.join(venv).join("lib");
        let Ok(children) = crate::fs::read_dir(&lib) else {
            continue;
        };
        let mut candidates: Vec<(String, (u32, u32))> = children
            .flatten()
            .filter_map(|child| {
                let name = child.file_name().into_string().ok()?;
                let version = python_dir_version(&name)?;
                child
                    .path()
                    .join("site-packages")
                    .is_dir()
                    .then_some((name, version))
            })
            .collect();
        candidates.sort();
        let wanted = options.runtime.and_then(Runtime::python_version);
        let chosen = candidates
            .iter()
            .find(|(_, version)| Some(*version) == wanted)
            .or(candidates.last());
        if let Some((name, version)) = chosen {
            return Ok((
                Layout::Inside(format!("{venv}/lib/{name}/site-packages")),
                Some(*version),
            ));
        }
    }
    let installed_here = crate::fs::read_dir(root)?.flatten().any(|entry| {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        name.ends_with(".dist-info") || name.ends_with(".egg-info")
    });
    Ok((
        if installed_here {
            Layout::Root
        } else {
            Layout::None
        },
        None,
    ))
}

/// `python3.12` → `(3, 12)`.
fn python_dir_version(name: &str) -> Option<(u32, u32)> {
    let (major, minor) = name.strip_prefix("python")?.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// The version in a `…/lib/python3.X/site-packages` path.
fn version_in_path(dir: &Path) -> Option<(u32, u32)> {
    dir.components()
        .filter_map(|part| python_dir_version(&part.as_os_str().to_string_lossy()))
        .next_back()
}

/// Reads every `*.dist-info` and `*.egg-info` at the top of the site-packages files.
fn distributions(
    files: &[FileEntry],
    from_site: &[bool],
    warnings: &mut Vec<String>,
) -> Result<Vec<Package>> {
    let find = |path: &str| {
        files
            .binary_search_by(|file| file.path.as_str().cmp(path))
            .ok()
    };
    let mut folders: BTreeSet<String> = BTreeSet::new();
    for (file, _) in files.iter().zip(from_site).filter(|(_, site)| **site) {
        let top = file.path.split('/').next().unwrap_or("");
        if top.ends_with(".dist-info") || top.ends_with(".egg-info") {
            folders.insert(top.to_string());
        }
    }
    let mut packages = Vec::new();
    for folder in folders {
        let egg_info = folder.ends_with(".egg-info");
        // An egg-info may be a single PKG-INFO-style file rather than a folder.
        let single_file = find(&folder).filter(|&index| files[index].link_target.is_none());
        let metadata_file = if egg_info {
            single_file.or_else(|| find(&format!("{folder}/PKG-INFO")))
        } else {
            find(&format!("{folder}/METADATA"))
        };
        let Some(metadata_index) = metadata_file else {
            warnings.push(format!(
                "{folder}: no {} inside; not read as a distribution",
                if egg_info { "PKG-INFO" } else { "METADATA" }
            ));
            continue;
        };
        let read = |name: &str| -> Result<Option<String>> {
            match find(&format!("{folder}/{name}")) {
                Some(index) if files[index].link_target.is_none() => {
                    let bytes = crate::input::read(&files[index].source, Some(files[index].bytes))?;
                    Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
                }
                _ => Ok(None),
            }
        };
        let text = String::from_utf8_lossy(&crate::input::read(
            &files[metadata_index].source,
            Some(files[metadata_index].bytes),
        )?)
        .into_owned();
        let fields = metadata::headers(&text);
        let stem = folder
            .trim_end_matches(".dist-info")
            .trim_end_matches(".egg-info");
        let (folder_name, folder_version) = stem.split_once('-').unwrap_or((stem, ""));
        let display_name = metadata::field(&fields, "Name")
            .first()
            .map_or(folder_name.to_string(), |name| name.to_string());
        let version = metadata::field(&fields, "Version")
            .first()
            .map_or(folder_version.to_string(), |version| version.to_string());
        let requirement_lines: Vec<String> = if egg_info {
            read("requires.txt")?
                .map(|text| metadata::egg_requirements(&text))
                .unwrap_or_default()
        } else {
            metadata::field(&fields, "Requires-Dist")
                .into_iter()
                .map(str::to_string)
                .collect()
        };
        let (requirements, problems) = metadata::parse_requirements(
            &requirement_lines
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        );
        for problem in problems {
            warnings.push(format!(
                "{}: Requires-Dist {problem}; ignored",
                files[metadata_index].source.display()
            ));
        }
        let distribution = Distribution {
            display_name: display_name.clone(),
            requirements,
            requires_python: metadata::field(&fields, "Requires-Python")
                .first()
                .map(|text| text.to_string()),
            top_level: read("top_level.txt")?
                .map(|text| metadata::top_level(&text))
                .unwrap_or_default(),
            entry_point_groups: read("entry_points.txt")?
                .map(|text| metadata::entry_point_groups(&text))
                .unwrap_or_default(),
            wheel_tags: read("WHEEL")?
                .map(|text| metadata::wheel_tags(&text))
                .unwrap_or_default(),
            modules: Vec::new(),
            egg_info,
        };
        packages.push(Package {
            id: PackageId(packages.len()),
            name: metadata::normalize_name(&display_name),
            version,
            path: folder.clone(),
            kind: PackageKind::Python(Box::new(distribution)),
            lock: None,
            dependencies: Vec::new(),
            files: Vec::new(),
            workspace: false,
        });
    }
    Ok(packages)
}

/// Which distribution owns each file: its `RECORD` (or egg-info `installed-files.txt`) entry;
/// the metadata folder itself; a `__pycache__` pyc goes with its source; else the nearest
/// folder that one distribution's recorded files fill (a shared namespace folder such as
/// `google/` decides nothing); else a top-level module named in `top_level.txt`. What is left
/// is unowned, or the user's when the dependencies were installed next to the handler.
fn ownership(
    files: &[FileEntry],
    from_site: &[bool],
    packages: &[Package],
    by_path: &HashMap<&str, usize>,
    beside: bool,
) -> Vec<Owner> {
    let mut recorded: HashMap<String, PackageId> = HashMap::new();
    let mut folders: HashMap<String, BTreeSet<PackageId>> = HashMap::new();
    let mut top_level: HashMap<String, PackageId> = HashMap::new();
    for package in packages {
        let PackageKind::Python(distribution) = &package.kind else {
            continue;
        };
        let listing = if distribution.egg_info {
            format!("{}/installed-files.txt", package.path)
        } else {
            format!("{}/RECORD", package.path)
        };
        let text = by_path
            .get(listing.as_str())
            .and_then(|&index| {
                crate::input::read(&files[index].source, Some(files[index].bytes)).ok()
            })
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default();
        let paths = if distribution.egg_info {
            text.lines()
                .map(|line| crate::shake::normalize(&join(&package.path, line.trim())))
                .filter(|path| !path.is_empty())
                .collect()
        } else {
            metadata::record_paths(&text)
                .into_iter()
                .map(|path| record_artifact_path(&path))
                .collect::<Vec<_>>()
        };
        for path in paths {
            if path.is_empty() {
                continue;
            }
            let mut folder = parent(&path);
            while !folder.is_empty() {
                folders
                    .entry(folder.to_string())
                    .or_default()
                    .insert(package.id);
                folder = parent(folder);
            }
            recorded.entry(path).or_insert(package.id);
        }
        for name in &distribution.top_level {
            top_level.entry(name.clone()).or_insert(package.id);
        }
    }
    let metadata_folder: HashMap<&str, PackageId> = packages
        .iter()
        .map(|package| (package.path.as_str(), package.id))
        .collect();

    let leftover = |site: bool| {
        if site && !beside {
            Owner::Unowned
        } else {
            Owner::User
        }
    };
    files
        .iter()
        .zip(from_site)
        .map(|(file, &site)| {
            if !site {
                return Owner::User;
            }
            let path = file.path.as_str();
            if let Some(&id) = recorded.get(path) {
                return Owner::Package(id);
            }
            let top = path.split('/').next().unwrap_or("");
            if let Some(&id) = metadata_folder.get(top) {
                return Owner::Package(id);
            }
            if let Some(source) = pycache_source(path)
                && let Some(&id) = recorded.get(source.as_str())
            {
                return Owner::Package(id);
            }
            let mut folder = parent(path);
            while !folder.is_empty() {
                if let Some(owners) = folders.get(folder) {
                    return match owners.iter().next() {
                        Some(&id) if owners.len() == 1 => Owner::Package(id),
                        _ => leftover(site),
                    };
                }
                folder = parent(folder);
            }
            let module = top.split('.').next().unwrap_or("");
            if let Some(&id) = top_level.get(module)
                && (path.contains('/') || is_module_file(path))
            {
                return Owner::Package(id);
            }
            leftover(site)
        })
        .collect()
}

/// A `RECORD` path in artifact terms: `../../bin/tool` (a console script pip wrote to the
/// install's `bin/`) is `bin/tool`.
fn record_artifact_path(path: &str) -> String {
    let path = path.replace('\\', "/");
    if path.starts_with("../") {
        let rest = path.trim_start_matches("../");
        if rest.starts_with("bin/") {
            return rest.to_string();
        }
        return String::new();
    }
    crate::shake::normalize(&path)
}

/// A file Python imports as a module: `x.py`, `x.pyc`, `x.cpython-312-x86_64-linux-gnu.so`, `x.pyd`.
fn is_module_file(name: &str) -> bool {
    name.ends_with(".py")
        || name.ends_with(".pyc")
        || name.ends_with(".so")
        || name.ends_with(".pyd")
}

/// `a/__pycache__/b.cpython-312.pyc` → `a/b.py`.
pub fn pycache_source(path: &str) -> Option<String> {
    let folder = parent(path);
    let name = &path[folder.len()..].trim_start_matches('/');
    if !name.ends_with(".pyc") || !(folder == "__pycache__" || folder.ends_with("/__pycache__")) {
        return None;
    }
    let stem = name.split('.').next()?;
    Some(join(parent(folder), &format!("{stem}.py")))
}

/// The dotted module a file defines, and whether it is a package's `__init__`; `None` when
/// its path is not importable (a folder with a `-` or a `.` in its name).
pub fn module_of(path: &str) -> Option<(String, bool)> {
    let (stem_path, _) = path.rsplit_once('.')?;
    let mut parts: Vec<&str> = stem_path.split('/').collect();
    let last = parts.pop()?;
    let last = last.split('.').next()?;
    let package = last == "__init__";
    if !package {
        parts.push(last);
    }
    let valid = !parts.is_empty()
        && parts.iter().all(|part| {
            part.chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_')
                && part.chars().all(|c| c.is_alphanumeric() || c == '_')
        });
    valid.then(|| (parts.join("."), package))
}

/// Every dotted module a distribution's files provide, with each enclosing package.
fn modules_of(files: &[FileEntry], owned: &[usize], top_level: &[String]) -> Vec<String> {
    let mut modules: BTreeSet<String> = top_level.iter().cloned().collect();
    for &index in owned {
        let path = &files[index].path;
        if !is_module_file(path)
            || path.contains("/__pycache__/")
            || path.starts_with("__pycache__/")
        {
            continue;
        }
        if let Some((module, _)) = module_of(path) {
            let mut prefix = String::new();
            for part in module.split('.') {
                if !prefix.is_empty() {
                    prefix.push('.');
                }
                prefix.push_str(part);
                modules.insert(prefix.clone());
            }
        }
    }
    modules.into_iter().collect()
}

/// First path parts of every file as module names (`requests`, `six` for `six.py`,
/// `_cffi_backend` for `_cffi_backend.cpython-312-x86_64-linux-gnu.so`).
fn top_level_names(files: &[FileEntry]) -> HashSet<String> {
    files
        .iter()
        .map(|file| {
            let top = file.path.split('/').next().unwrap_or("");
            top.split('.').next().unwrap_or("").to_string()
        })
        .filter(|name| !name.is_empty())
        .collect()
}

/// Frameworks that import the user's modules by names lamina may not see: in settings read
/// from the environment (`DJANGO_SETTINGS_MODULE`), a configuration file, or discovery.
const LOADS_BY_NAME: [&str; 6] = [
    "django",
    "celery",
    "zappa",
    "serverless_wsgi",
    "pyramid",
    "pkgutil",
];

/// The `.py` files of the user's code the handler does not load. From the handler's module,
/// follows imports of the user's modules (each enclosing package's `__init__` loads too) and
/// string literals that name one (`"mysite.settings"`; a package named so loads whole, as
/// Django loads an app's `models` and `admin`). Every file counts, and a note says why, when
/// the handler is not a `.py` file of the user's, or a loaded file imports a computed name,
/// changes `sys.path`, or imports a framework that loads modules by configured names.
fn unloaded_user_modules(
    files: &[FileEntry],
    owners: &[Owner],
    facts: &BTreeMap<usize, PythonFile>,
    handler_file: &str,
    imports: &mut Imports,
) -> BTreeSet<usize> {
    let mut modules: BTreeMap<String, usize> = BTreeMap::new();
    for (index, file) in files.iter().enumerate() {
        if owners[index] == Owner::User
            && file.path.ends_with(".py")
            && let Some((module, _)) = module_of(&file.path)
        {
            modules.insert(module, index);
        }
    }
    let mut every_file: Option<String> = None;
    let start = files
        .iter()
        .position(|file| file.path == handler_file)
        .filter(|&index| owners[index] == Owner::User && facts.contains_key(&index));
    if start.is_none() {
        every_file = Some(format!(
            "the handler {handler_file} is not a module of yours lamina reads"
        ));
    }
    let mut loaded: BTreeSet<usize> = start.into_iter().collect();
    let mut queue: Vec<usize> = loaded.iter().copied().collect();
    let mut load = |index: usize, queue: &mut Vec<usize>| {
        if loaded.insert(index) {
            queue.push(index);
        }
    };
    while let Some(index) = queue.pop() {
        let Some(fact) = facts.get(&index) else {
            continue;
        };
        let path = &files[index].path;
        if let Some(site) = fact.dynamic.first() {
            every_file
                .get_or_insert_with(|| format!("{path}:{site} loads code lamina cannot follow"));
        }
        if let Some(site) = fact.path_changes.first() {
            every_file
                .get_or_insert_with(|| format!("{path}:{site} changes where modules are found"));
        }
        for module in &fact.imports {
            let top = module.split('.').next().unwrap_or(module);
            if LOADS_BY_NAME.contains(&top) && !modules.contains_key(top) {
                every_file.get_or_insert_with(|| {
                    format!(
                        "{path} imports {top}, which loads modules by the names in its settings"
                    )
                });
            }
        }
        for module in &fact.imports {
            // The module itself, or (`from a.b import attr`) the nearest module it is in, with
            // every enclosing package.
            for name in enclosing(module) {
                if let Some(&next) = modules.get(name) {
                    load(next, &mut queue);
                }
            }
        }
        for name in &fact.names {
            // `"a.b.Class"` is in `a.b`; a package (or a folder of modules) named loads whole.
            let Some(found) = enclosing(name).find(|found| {
                let prefix = format!("{found}.");
                modules.contains_key(*found)
                    || modules
                        .range(prefix.clone()..)
                        .next()
                        .is_some_and(|(inner, _)| inner.starts_with(&prefix))
            }) else {
                continue;
            };
            let prefix = format!("{found}.");
            let inside: Vec<usize> = modules
                .range(prefix.clone()..)
                .take_while(|(inner, _)| inner.starts_with(&prefix))
                .map(|(_, &inner)| inner)
                .collect();
            for inner in inside {
                load(inner, &mut queue);
            }
            for name in enclosing(found) {
                if let Some(&next) = modules.get(name) {
                    load(next, &mut queue);
                }
            }
        }
    }
    if let Some(why) = every_file {
        imports.notes.push(format!(
            "every module of your code counts for its imports: {why}"
        ));
        return BTreeSet::new();
    }
    let unloaded: BTreeSet<usize> = modules
        .values()
        .copied()
        .filter(|index| !loaded.contains(index))
        .collect();
    if !unloaded.is_empty() {
        let paths: Vec<&str> = unloaded
            .iter()
            .map(|&index| files[index].path.as_str())
            .collect();
        imports.notes.push(format!(
            "{} module(s) of your code are not loaded by the handler, so their imports do not keep distributions (they still ship): {}",
            unloaded.len(),
            crate::model::first_few(&paths)
        ));
    }
    unloaded
}

/// `a.b.c`, `a.b`, `a`.
fn enclosing(module: &str) -> impl Iterator<Item = &str> {
    std::iter::successors(Some(module), |name| {
        name.rsplit_once('.').map(|(parent, _)| parent)
    })
}

/// Imports the handler's module (and the user's modules it loads, transitively) runs as it
/// loads that nothing satisfies: an input error naming the file, line and module; in a `try`
/// that catches the `ImportError`, a warning.
fn missing_imports(
    files: &[FileEntry],
    owners: &[Owner],
    facts: &BTreeMap<usize, PythonFile>,
    handler_file: &str,
    site_packages: Option<&str>,
    warnings: &mut Vec<String>,
) -> Result<()> {
    let modules: HashMap<String, usize> = files
        .iter()
        .enumerate()
        .filter(|(index, file)| owners[*index] == Owner::User && file.path.ends_with(".py"))
        .filter_map(|(index, file)| Some((module_of(&file.path)?.0, index)))
        .collect();
    let Some(start) = files.iter().position(|file| file.path == handler_file) else {
        return Ok(());
    };
    let mut seen = BTreeSet::from([start]);
    let mut queue = vec![start];
    while let Some(index) = queue.pop() {
        let Some(fact) = facts.get(&index) else {
            continue;
        };
        for (module, line, _) in &fact.runtime_only {
            warnings.push(format!(
                "{}:{line}: `{module}` is not shipped: the runtime provides it, in a version that varies by region and date",
                files[index].path
            ));
        }
        for (module, line, guarded) in &fact.missing {
            let path = &files[index].path;
            if *guarded {
                warnings.push(format!(
                    "{path}:{line}: `{module}` is not installed; the import is guarded (try/except ImportError), so the handler loads without it"
                ));
                continue;
            }
            let top = module.split('.').next().unwrap_or(module);
            let folder = site_packages.unwrap_or("package");
            return Err(Error::input(
                &files[index].source,
                format!(
                    "line {line}: imports `{module}`, which is not installed: no distribution in the function provides `{top}`, and the runtime does not ship it. Install the requirements where lamina reads them, e.g. `pip install -r requirements.txt --target {folder}`"
                ),
            ));
        }
        // The user's own modules it imports load too.
        for module in &fact.imports {
            let mut name = module.as_str();
            loop {
                if let Some(&next) = modules.get(name)
                    && seen.insert(next)
                {
                    queue.push(next);
                }
                match name.rsplit_once('.') {
                    Some((parent, _)) => name = parent,
                    None => break,
                }
            }
        }
    }
    Ok(())
}

/// The imports of the `.py` file `file` (module `module`), from the memo when its stamp is
/// unchanged, else read and parsed.
fn remembered_imports(
    memo: &crate::scan::memo::Memo,
    file: &FileEntry,
    module: &str,
    package: bool,
) -> Result<imports::FileImports> {
    let extract = || -> Result<imports::FileImports> {
        let bytes = crate::input::read(&file.source, Some(file.bytes))?;
        Ok(imports::extract(
            &String::from_utf8_lossy(&bytes),
            module,
            package,
        ))
    };
    let mut key = module.as_bytes().to_vec();
    key.push(u8::from(package));
    remembered(memo, file, &key, extract)
}

/// The facts `derive` reads from `file`, from the memo (as JSON, under `key`) when the file's
/// stamp is unchanged.
fn remembered<T: serde::Serialize + serde::de::DeserializeOwned>(
    memo: &crate::scan::memo::Memo,
    file: &FileEntry,
    key: &[u8],
    derive: impl Fn() -> Result<T>,
) -> Result<T> {
    let facts = memo.facts(file, key, || {
        derive().map(|found| serde_json::to_vec(&found).expect("facts serialize"))
    })?;
    match serde_json::from_slice(&facts) {
        Ok(found) => Ok(found),
        // Not what this lamina writes (the memo's seal and context make this unreachable):
        // read the file.
        Err(_) => derive(),
    }
}

/// What scan reads of a native library: its first bytes (its format), with the trace the
/// module names its code holds, and for a strippable ELF file its debug sections' bytes.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct NativeFacts {
    head: Vec<u8>,
    imports: Vec<String>,
    debug_bytes: Option<u64>,
}

/// A SHA-256 over the sorted top-level names and the sorted paths of the `.py` files: what
/// `binary_module_names` keeps of an extension module's strings depends on nothing else.
fn module_names_digest(top_names: &HashSet<String>, by_path: &HashMap<&str, usize>) -> [u8; 32] {
    let mut names: Vec<&str> = top_names.iter().map(String::as_str).collect();
    names.sort_unstable();
    let mut sources: Vec<&str> = by_path
        .keys()
        .copied()
        .filter(|path| path.ends_with(".py"))
        .collect();
    sources.sort_unstable();
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    for name in names {
        hasher.update(name.as_bytes());
        hasher.update([0]);
    }
    hasher.update([1]);
    for source in sources {
        hasher.update(source.as_bytes());
        hasher.update([0]);
    }
    hasher.finalize().into()
}

/// What a native library is, from the memo when its stamp is unchanged (`imports`: the
/// digest of what its module names are filtered by, when the trace wants them), else read.
fn remembered_native(
    memo: &crate::scan::memo::Memo,
    file: &FileEntry,
    imports: Option<&[u8; 32]>,
    read: impl Fn() -> Result<NativeFacts>,
) -> Result<NativeFacts> {
    // No module name holds a NUL, so these keys never meet a `.py` file's.
    let mut key = b"\0native".to_vec();
    if let Some(digest) = imports {
        key.extend_from_slice(digest);
    }
    remembered(memo, file, &key, read)
}

/// Reads what shake needs from single files, in parallel: imports of `.py` files, pyc headers,
/// console script shebangs, native binary headers; with `trace`, the module names an extension
/// module's compiled code holds.
fn file_facts(
    files: &[FileEntry],
    owners: &[Owner],
    by_path: &HashMap<&str, usize>,
    top_names: &HashSet<String>,
    trace: bool,
    memo: &crate::scan::memo::Memo,
) -> Result<BTreeMap<usize, PythonFile>> {
    // What the module names an extension module holds come to depends on the function's
    // top-level names and on which `.py` files exist (siblings): remembered with a digest of both.
    let names = if trace {
        module_names_digest(top_names, by_path)
    } else {
        [0; 32]
    };
    let results: Vec<Result<Option<(usize, PythonFile)>>> = (0..files.len())
        .into_par_iter()
        .map(|index| {
            let file = &files[index];
            if file.link_target.is_some() {
                return Ok(None);
            }
            let path = file.path.as_str();
            let name = path.rsplit('/').next().unwrap_or(path);
            let mut fact = PythonFile::default();
            if path.ends_with(".py") {
                let Some((module, package)) = module_of(path) else {
                    return Ok(None);
                };
                let found = remembered_imports(memo, file, &module, package)?;
                fact.imports = found
                    .modules
                    .into_iter()
                    .filter(|module| top_names.contains(module.split('.').next().unwrap_or("")))
                    .collect();
                fact.dynamic = found.dynamic;
                fact.dynamic_within = found.dynamic_within;
                fact.stars = found
                    .stars
                    .into_iter()
                    .filter(|module| top_names.contains(module.split('.').next().unwrap_or("")))
                    .collect();
                fact.lazy = found.lazy;
                fact.all_names = found.all_names;
                fact.loaders = found.loaders;
                fact.services = found.services;
                fact.computed_services = found.computed_services;
                fact.api_calls = found.api_calls;
                if owners[index] == Owner::User {
                    fact.names = found
                        .names
                        .into_iter()
                        .filter(|name| top_names.contains(name.split('.').next().unwrap_or("")))
                        .collect();
                    fact.path_changes = found.path_changes;
                    fact.runtime_only = found
                        .on_load
                        .iter()
                        .filter(|(module, _, _)| {
                            let top = module.split('.').next().unwrap_or("");
                            !top_names.contains(top) && PYTHON_SDK_MODULES.contains(&top)
                        })
                        .cloned()
                        .collect();
                    fact.missing = found
                        .on_load
                        .into_iter()
                        .filter(|(module, _, _)| {
                            let top = module.split('.').next().unwrap_or("");
                            !top.is_empty()
                                && !top.starts_with('_')
                                && !top_names.contains(top)
                                && !imports::STDLIB.contains(&top)
                                && !PYTHON_SDK_MODULES.contains(&top)
                        })
                        .collect();
                }
                if let Some(error) = found.syntax_error
                    && owners[index] == Owner::User
                {
                    fact.dynamic.push(format!("{error} (does not parse)"));
                }
            } else if path.ends_with(".pyc") {
                fact.pyc = read_pyc(files, index, by_path, memo)?;
                if fact.pyc.is_none() {
                    return Ok(None);
                }
            } else if owners[index] != Owner::User && path.starts_with("bin/") {
                let head = read_head(&file.source, 512)?;
                fact.foreign_shebang = foreign_shebang(&head);
                if !fact.foreign_shebang {
                    return Ok(None);
                }
            } else if is_native(name) {
                let imports = trace && super::trace::is_module_path(path);
                let found = remembered_native(memo, file, imports.then_some(&names), || {
                    let head = read_head(&file.source, 20)?;
                    let native = crate::lambda::binary::from_head(&head);
                    let strippable = super::package::strippable(path)
                        && matches!(native, Some(crate::lambda::binary::Format::Elf { .. }));
                    let mut found = NativeFacts {
                        head,
                        ..NativeFacts::default()
                    };
                    if native.is_some() && (imports || strippable) {
                        let bytes = crate::input::read(&file.source, Some(file.bytes))?;
                        if imports {
                            found.imports = super::trace::binary_module_names(
                                &bytes,
                                path,
                                |name| top_names.contains(name.split('.').next().unwrap_or("")),
                                |candidate| by_path.contains_key(candidate),
                            );
                        }
                        if strippable {
                            found.debug_bytes = crate::lambda::binary::debug_bytes(&bytes);
                        }
                    }
                    Ok(found)
                })?;
                fact.native = crate::lambda::binary::from_head(&found.head);
                if fact.native.is_none() {
                    return Ok(None);
                }
                fact.binary_imports = found.imports;
                fact.debug_bytes = found.debug_bytes;
            } else {
                return Ok(None);
            }
            Ok(Some((index, fact)))
        })
        .collect();
    let mut facts = BTreeMap::new();
    for result in results {
        if let Some((index, fact)) = result? {
            facts.insert(index, fact);
        }
    }
    Ok(facts)
}

/// A shared library or extension module by its name.
fn is_native(name: &str) -> bool {
    name.ends_with(".so")
        || name.contains(".so.")
        || name.ends_with(".pyd")
        || name.ends_with(".dylib")
}

fn read_head(path: &Path, bytes: u64) -> Result<Vec<u8>> {
    let mut head = Vec::new();
    crate::input::open(path, None)?
        .take(bytes)
        .read_to_end(&mut head)
        .map_err(|error| Error::io(path, error))?;
    Ok(head)
}

/// A `#!` naming an interpreter by absolute path (pip writes the build machine's), or pip's
/// `/bin/sh` trampoline for long paths; `#!/usr/bin/env python` works anywhere.
fn foreign_shebang(head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.lines();
    let Some(interpreter) = lines.next().and_then(|line| line.strip_prefix("#!")) else {
        return false;
    };
    let interpreter = interpreter.trim();
    if interpreter.starts_with("/bin/sh") {
        return lines
            .next()
            .is_some_and(|line| line.starts_with("'''exec'"));
    }
    interpreter.starts_with('/')
        && !interpreter.starts_with("/usr/bin/env")
        && interpreter.contains("python")
}

/// A pyc's header, its source, and whether it still matches that source. The pyc's header and, for one in `__pycache__` with its source, the source's hash: each
/// remembered by the stamp of the file it is read from.
fn read_pyc(
    files: &[FileEntry],
    index: usize,
    by_path: &HashMap<&str, usize>,
    memo: &crate::scan::memo::Memo,
) -> Result<Option<Pyc>> {
    let file = &files[index];
    // No module name holds a NUL, so these keys never meet a `.py` file's.
    let head = memo.facts(file, b"\0pyc header", || {
        read_head(&file.source, pyc::HEADER_BYTES as u64)
    })?;
    let Some(header) = pyc::parse_header(&head) else {
        return Ok(None);
    };
    let path = file.path.as_str();
    let name = path.rsplit('/').next().unwrap_or(path);
    let (in_pycache, source_path) = match pycache_source(path) {
        Some(source) => (true, source),
        None => (false, format!("{}.py", &path[..path.len() - 4])),
    };
    let optimized = in_pycache && name.contains(".opt-");
    let source = by_path.get(source_path.as_str()).copied();
    let mut stale = false;
    let mut source_hash = None;
    if in_pycache && let Some(source_index) = source {
        let source_file = &files[source_index];
        let mut key = b"\0pyc source hash ".to_vec();
        key.extend_from_slice(&header.magic);
        let hash: [u8; 8] = remembered(memo, source_file, &key, || {
            let bytes = crate::input::read(&source_file.source, Some(source_file.bytes))?;
            Ok(pyc::source_hash(header.magic, &bytes))
        })?;
        if header.flags == 0 {
            let meta = crate::fs::metadata(&source_file.source)?;
            stale = header.source_mtime != meta.mtime() as u32
                || header.source_size != meta.size() as u32;
        } else if header.flags & 1 == 1 {
            stale = hash != header.source_hash;
        }
        source_hash = Some(hash);
    }
    Ok(Some(Pyc {
        magic: header.magic,
        flags: header.flags,
        in_pycache,
        optimized,
        source,
        stale,
        source_hash,
    }))
}

/// The runtime: `--runtime`, else the Python the installed files were built for (a virtual
/// environment's `lib/python3.X`, extension module suffixes, `WHEEL` tags, pyc magic numbers,
/// in that order of trust), else the default.
fn infer_runtime(
    flag: Option<Runtime>,
    venv_version: Option<(u32, u32)>,
    files: &[FileEntry],
    from_site: &[bool],
    packages: &[Package],
    facts: &BTreeMap<usize, PythonFile>,
    warnings: &mut Vec<String>,
) -> (Runtime, Origin) {
    let mut extension: BTreeMap<(u32, u32), (usize, &str)> = BTreeMap::new();
    for (file, _) in files.iter().zip(from_site) {
        if let Some(version) = extension_version(&file.path) {
            let entry = extension.entry(version).or_insert((0, file.path.as_str()));
            entry.0 += 1;
        }
    }
    let mut wheel: BTreeMap<(u32, u32), (usize, &str)> = BTreeMap::new();
    for package in packages {
        let PackageKind::Python(distribution) = &package.kind else {
            continue;
        };
        for tag in &distribution.wheel_tags {
            let parts: Vec<&str> = tag.split('-').collect();
            if parts.len() == 3
                && parts[1] != "abi3"
                && parts[1] != "none"
                && let Some(version) = cp_version(parts[0])
            {
                let entry = wheel.entry(version).or_insert((0, package.path.as_str()));
                entry.0 += 1;
                break;
            }
        }
    }
    let mut bytecode: BTreeMap<(u32, u32), (usize, &str)> = BTreeMap::new();
    for (index, fact) in facts {
        if let Some(pyc) = &fact.pyc
            && pyc.in_pycache
            && let Some(version) = pyc::version_of_magic(pyc.magic)
        {
            let entry = bytecode
                .entry(version)
                .or_insert((0, files[*index].path.as_str()));
            entry.0 += 1;
        }
    }
    let runtime_of = |version: (u32, u32)| {
        Runtime::ALL
            .into_iter()
            .find(|runtime| runtime.python_version() == Some(version))
    };
    let describe = |version: (u32, u32)| format!("python{}.{}", version.0, version.1);
    let most = |counts: &BTreeMap<(u32, u32), (usize, &str)>| {
        counts
            .iter()
            .max_by_key(|(version, (count, _))| (*count, std::cmp::Reverse(**version)))
            .map(|(version, (count, example))| (*version, *count, example.to_string()))
    };

    let mut seen: BTreeSet<(u32, u32)> = BTreeSet::new();
    seen.extend(venv_version);
    seen.extend(extension.keys());
    seen.extend(wheel.keys());
    seen.extend(bytecode.keys());

    let inferred: Option<((u32, u32), String)> = venv_version
        .map(|version| {
            (
                version,
                format!("the virtual environment's lib/{}", describe(version)),
            )
        })
        .or_else(|| {
            most(&extension).map(|(version, count, example)| {
                (
                    version,
                    format!("{count} extension module(s) such as {example}"),
                )
            })
        })
        .or_else(|| {
            most(&wheel).map(|(version, count, example)| {
                (
                    version,
                    format!("WHEEL tags of {count} distribution(s) such as {example}"),
                )
            })
        })
        .or_else(|| {
            most(&bytecode).map(|(version, count, example)| {
                (version, format!("{count} pyc file(s) such as {example}"))
            })
        });

    if let Some(runtime) = flag {
        let wanted = runtime.python_version();
        for (what, counts) in [
            ("extension module(s)", &extension),
            ("WHEEL tag(s)", &wheel),
        ] {
            for (version, (count, example)) in counts {
                if Some(*version) != wanted {
                    warnings.push(format!(
                        "{count} {what} built for {} (such as {example}), but --runtime {runtime}: they will not load there",
                        describe(*version)
                    ));
                }
            }
        }
        return (runtime, Origin::Flag);
    }
    match inferred {
        Some((version, from)) => {
            if seen.len() > 1 {
                let all: Vec<String> = seen.iter().map(|v| describe(*v)).collect();
                warnings.push(format!(
                    "the installed files were built for several Pythons ({}); using {} from {from}; pass --runtime to choose",
                    all.join(", "),
                    describe(version)
                ));
            }
            match runtime_of(version) {
                Some(runtime) => (runtime, Origin::Inferred(from)),
                None => {
                    warnings.push(format!(
                        "{} (from {from}) is not a Lambda runtime; assuming {}",
                        describe(version),
                        Runtime::DEFAULT_PYTHON
                    ));
                    (Runtime::DEFAULT_PYTHON, Origin::Default)
                }
            }
        }
        None => (Runtime::DEFAULT_PYTHON, Origin::Default),
    }
}

/// `cp312` → `(3, 12)`.
fn cp_version(tag: &str) -> Option<(u32, u32)> {
    let digits = tag.strip_prefix("cp3")?;
    Some((3, digits.parse().ok()?))
}

/// `x.cpython-312-x86_64-linux-gnu.so` → `(3, 12)`.
fn extension_version(path: &str) -> Option<(u32, u32)> {
    let name = path.rsplit('/').next()?;
    if !name.ends_with(".so") {
        return None;
    }
    let (_, rest) = name.split_once(".cpython-3")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some((3, digits.parse().ok()?))
}

/// What the files say about the platform they need, for verify to judge: binaries by their
/// headers, and each distribution's `WHEEL` tags.
fn platform_facts(
    by_path: &HashMap<&str, usize>,
    packages: &[Package],
    facts: &BTreeMap<usize, PythonFile>,
) -> PlatformFacts {
    let binaries = facts
        .iter()
        .filter_map(|(index, fact)| Some((*index, fact.native.clone()?)))
        .collect();
    let mut wheels = Vec::new();
    for package in packages {
        let PackageKind::Python(distribution) = &package.kind else {
            continue;
        };
        if let Some(&index) = by_path.get(format!("{}/WHEEL", package.path).as_str())
            && !distribution.wheel_tags.is_empty()
        {
            wheels.push((index, distribution.wheel_tags.clone()));
        }
    }
    PlatformFacts { binaries, wheels }
}

/// A warning for each distribution whose `Requires-Python` excludes the runtime (verify reads
/// no `METADATA`, so this stays scan's).
fn requires_python_warnings(packages: &[Package], runtime: Runtime, warnings: &mut Vec<String>) {
    for package in packages {
        let PackageKind::Python(distribution) = &package.kind else {
            continue;
        };
        if let Some(requires) = &distribution.requires_python
            && metadata::python_allowed(requires, runtime) == Some(false)
        {
            warnings.push(format!(
                "{}: Requires-Python {requires} excludes {runtime}",
                package.path
            ));
        }
    }
}

/// Fills each distribution's `dependencies`: requirements whose markers hold for the target
/// without extras (production), or with one of the distribution's own extras (optional).
fn resolve_dependencies(
    packages: &mut [Package],
    runtime: Runtime,
    arch: Arch,
    warnings: &mut Vec<String>,
) {
    let environment = metadata::marker_environment(runtime, arch);
    let by_name: HashMap<String, PackageId> = packages
        .iter()
        .map(|package| (package.name.clone(), package.id))
        .collect();
    let mut duplicates: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for package in packages.iter() {
        duplicates
            .entry(package.name.as_str())
            .or_default()
            .push(package.path.as_str());
    }
    for (name, paths) in duplicates {
        if paths.len() > 1 {
            warnings.push(format!(
                "{name} is installed more than once ({}); Python imports whichever files were written last",
                paths.join(", ")
            ));
        }
    }
    for package in packages.iter_mut() {
        let PackageKind::Python(distribution) = &package.kind else {
            continue;
        };
        let mut dependencies = Vec::new();
        for requirement in &distribution.requirements {
            let kind = if requirement.marker.evaluate(&environment, &[]) {
                DependencyKind::Production
            } else {
                match requirement.marker.top_level_extra() {
                    Some(MarkerExpression::Extra {
                        name: MarkerValueExtra::Extra(extra),
                        ..
                    }) if requirement
                        .marker
                        .evaluate(&environment, std::slice::from_ref(&extra)) =>
                    {
                        DependencyKind::Optional
                    }
                    _ => continue,
                }
            };
            let name = metadata::normalize_name(requirement.name.as_ref());
            dependencies.push(Dependency {
                target: by_name.get(&name).copied(),
                name,
                kind,
            });
        }
        dependencies.sort_by(|a, b| a.name.cmp(&b.name).then(a.kind.cmp(&b.kind)));
        dependencies.dedup_by(|a, b| a.name == b.name);
        package.dependencies = dependencies;
    }
}

/// Finds the handler file from `--handler` (Lambda's `module.function`, where the module may
/// use `/` or `.`: `src/app.handler`, `src.app.handler`), else the usual names.
fn handler(
    root: &Path,
    flag: Option<&str>,
    files: &[FileEntry],
    owners: &[Owner],
) -> Result<Handler> {
    let user_file = |path: &str| {
        files
            .binary_search_by(|file| file.path.as_str().cmp(path))
            .is_ok_and(|index| owners[index] == Owner::User)
    };
    if let Some(spec) = flag {
        let (module, _) = crate::scan::split_handler(
            spec,
            "MODULE.FUNCTION",
            "lambda_function.lambda_handler or src/app.handler",
        )?;
        let tried = crate::lambda::handler::files(crate::lambda::Language::Python, module);
        return crate::scan::flagged_handler(root, spec, &tried, user_file);
    }
    for (stem, function) in USUAL_HANDLERS {
        let file = format!("{stem}.py");
        if user_file(&file) {
            return Ok(Handler {
                spec: format!("{stem}.{function}"),
                file,
                origin: Origin::Inferred("usual file name".to_string()),
            });
        }
    }
    let tried: Vec<String> = USUAL_HANDLERS
        .iter()
        .map(|(stem, _)| format!("{stem}.py"))
        .collect();
    let node = if root.join("package.json").is_file() {
        "; the folder has a package.json, so it may be a Node.js function: drop --runtime, or give a nodejs runtime"
    } else {
        ""
    };
    Err(Error::input(
        root,
        format!(
            "no Python handler file found (looked for {}); pass --handler MODULE.FUNCTION{node}",
            tried.join(", ")
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_paths_come_from_file_paths() {
        assert_eq!(module_of("a/b/c.py"), Some(("a.b.c".to_string(), false)));
        assert_eq!(
            module_of("a/b/__init__.py"),
            Some(("a.b".to_string(), true))
        );
        assert_eq!(
            module_of("_cffi_backend.cpython-312-x86_64-linux-gnu.so"),
            Some(("_cffi_backend".to_string(), false))
        );
        assert_eq!(module_of("foo-1.0.dist-info/x.py"), None);
        assert_eq!(
            module_of("lambda_function.py"),
            Some(("lambda_function".to_string(), false))
        );
    }

    #[test]
    fn pycache_pycs_map_to_their_source() {
        assert_eq!(
            pycache_source("a/__pycache__/b.cpython-311.pyc").as_deref(),
            Some("a/b.py")
        );
        assert_eq!(
            pycache_source("__pycache__/six.cpython-311.opt-1.pyc").as_deref(),
            Some("six.py")
        );
        assert_eq!(pycache_source("a/b.pyc"), None);
    }

    #[test]
    fn record_bin_entries_map_to_the_install_bin_folder() {
        assert_eq!(record_artifact_path("../../bin/idna"), "bin/idna");
        assert_eq!(record_artifact_path("../../../bin/black"), "bin/black");
        assert_eq!(record_artifact_path("../../share/man/x.1"), "");
        assert_eq!(record_artifact_path("a/./b.py"), "a/b.py");
    }

    #[test]
    fn shebangs_of_the_build_machine_are_foreign() {
        assert!(foreign_shebang(
            b"#!/root/.pyenv/versions/3.11.7/bin/python3\nimport re\n"
        ));
        assert!(foreign_shebang(
            b"#!/bin/sh\n'''exec' /very/long/path/bin/python \"$0\" \"$@\"\n' '''\n"
        ));
        assert!(!foreign_shebang(b"#!/usr/bin/env python3\n"));
        assert!(!foreign_shebang(b"#!/bin/sh\necho hi\n"));
        assert!(!foreign_shebang(b"print('no shebang')\n"));
    }

    #[test]
    fn extension_modules_name_their_python() {
        assert_eq!(
            extension_version("numpy/_core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so"),
            Some((3, 11))
        );
        assert_eq!(extension_version("numpy.libs/libgfortran.so.5"), None);
    }
}
