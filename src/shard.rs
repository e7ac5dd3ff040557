//! The plan of a sharded build (`lamina plan`, `lamina build --plan PLAN --only NAME`): what
//! every function keeps, with each file's SHA-256, and the layer plan, written once so that
//! each output can be built on another machine without planning the others. Its wire format is
//! `docs/ci-sharding.md`'s; it holds no absolute path, time or machine name, so the same input
//! gives the same bytes on any checkout.
//!
//! A shard scans and shakes only the functions its outputs read (the function, and the
//! functions the files of the layers it attaches are read from), checks every kept file
//! against the plan (a changed one is an input error naming it), and rebuilds the layer plan
//! of those functions from the plan instead of from the others' inventories.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::dedupe::{LayerFile, LayerPlan, PlannedLayer};
use crate::error::{Error, Result};
use crate::model::{Arch, Inventory, Plan, Reason, Runtime};

/// The version of the plan's format; a plan of another version is refused. 2: kept files
/// record their executable bit.
pub const PLAN_VERSION: u32 = 2;

/// The whole plan file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardPlan {
    pub plan_version: u32,
    /// The lamina that wrote it: shards must run the same one (the zips' bytes depend on it).
    pub lamina_version: String,
    pub settings: Settings,
    /// What `--only` accepts: the functions in build order, then the layers in name order.
    pub names: Vec<String>,
    /// In build order (the project file's, then the command line's).
    pub functions: Vec<FunctionEntry>,
    /// In name order.
    pub layers: Vec<LayerEntry>,
}

/// What decides the plan besides the files: the command line's planning flags, and each PATH.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub shake: String,
    /// `--layers`, when given.
    pub layers: Option<String>,
    pub drop_runtime_sdk: bool,
    pub compile: bool,
    pub strip: bool,
    pub python_bytecode: String,
    pub handler: Option<String>,
    pub runtime: Option<String>,
    pub arch: String,
    /// `--site-packages` and `--allow-outside`, as given.
    pub site_packages: Option<String>,
    pub allow_outside: Vec<String>,
    /// Each PATH: a function folder, or a project file with its SHA-256.
    pub inputs: Vec<InputEntry>,
}

/// One PATH of the command line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputEntry {
    /// `folder` (a function folder) or `project` (`lamina.toml`, a template).
    pub kind: String,
    /// A project file's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// One function: where it is and what it ships.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionEntry {
    pub name: String,
    /// Its folder, relative to its project file's folder (`.` for a function folder given).
    pub path: String,
    pub runtime: String,
    pub arch: String,
    pub handler: String,
    /// Every file of the folder as scanned, shipped or not.
    pub input_files: usize,
    pub input_bytes: u64,
    /// The layers it attaches, in attach order.
    pub layers: Vec<String>,
    /// What layer planning says of it.
    pub notes: Vec<String>,
    /// Every file shake keeps, by artifact path in the walk's order; those that moved name their layer.
    pub files: Vec<FileEntry>,
}

/// A kept file of a function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    pub path: String,
    pub bytes: u64,
    /// Of its contents; absent for a link kept as a link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// A link's target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// The layer it moved to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<String>,
    /// Whether it ships executable (its zip entry's mode follows it); written only when it does.
    #[serde(default, skip_serializing_if = "is_false")]
    pub executable: bool,
}

fn is_false(value: &bool) -> bool {
    !value
}

/// One planned layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerEntry {
    pub name: String,
    pub runtime: String,
    pub arch: String,
    pub packages: Vec<String>,
    /// The functions that attach it, in build order.
    pub functions: Vec<String>,
    pub unzipped_bytes: u64,
    pub saved_bytes: u64,
    /// Its files, sorted by layer path, each read from a function's kept file.
    pub files: Vec<LayerFileEntry>,
}

/// A file of a layer, and the function file it is read from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerFileEntry {
    pub path: String,
    pub function: String,
    pub file: String,
}

/// What one `build --plan` call scans, packages and keeps, as indices into the plan's
/// functions and layers.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Functions to scan and shake: those packaged and those a layer written reads from.
    pub scan: BTreeSet<usize>,
    /// Functions to package and verify (with their layers).
    pub package: BTreeSet<usize>,
    /// Layers to write: those asked for and those a packaged function attaches.
    pub layers: BTreeSet<usize>,
    /// What was asked for: its zips and report entries are kept, the rest is only staged.
    pub keep_functions: BTreeSet<usize>,
    pub keep_layers: BTreeSet<usize>,
}

impl Settings {
    /// The settings of this command line.
    pub fn of(config: &Config) -> Result<Settings> {
        let shown = |path: &PathBuf| path.display().to_string();
        let mut inputs = Vec::new();
        for path in &config.paths {
            match crate::config::project::kind(path) {
                Some(file) => {
                    let bytes = crate::fs::read(&file)?;
                    inputs.push(InputEntry {
                        kind: "project".to_string(),
                        file: file
                            .file_name()
                            .map(|name| name.to_string_lossy().into_owned()),
                        sha256: Some(sha256_hex(&bytes)),
                    });
                }
                None => inputs.push(InputEntry {
                    kind: "folder".to_string(),
                    file: None,
                    sha256: None,
                }),
            }
        }
        Ok(Settings {
            shake: wire_name(&config.shake),
            layers: config.layers.map(|mode| {
                match mode {
                    crate::config::project::LayerMode::Auto => "auto",
                    crate::config::project::LayerMode::None => "none",
                }
                .to_string()
            }),
            drop_runtime_sdk: config.drop_runtime_sdk,
            compile: config.compile,
            strip: config.strip,
            python_bytecode: wire_name(&config.bytecode),
            handler: config.handler.clone(),
            runtime: config.runtime.map(|runtime| runtime.id().to_string()),
            arch: config.arch.id().to_string(),
            site_packages: config.site_packages.as_ref().map(shown),
            allow_outside: config.allow_outside.iter().map(shown).collect(),
            inputs,
        })
    }
}

/// An enum's name in the report (`deps`, `sourceless`).
fn wire_name(value: &impl Serialize) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|value| value.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The hex SHA-256 of bytes.
fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

/// The hex SHA-256 of every kept file that is not a link, parallel to `Inventory::files`.
/// A file `known` holds at the stamp scan saw (layer planning just read it) is not read again;
/// one read here is added to `known` (at that stamp, if the open file still had it), so the
/// writer of a sharded build takes its record from the cache without reading it again.
pub fn kept_contents(
    inventory: &Inventory,
    plan: &Plan,
    known: &std::sync::Mutex<crate::package::zip::Known>,
) -> Result<Vec<Option<String>>> {
    use rayon::prelude::*;
    use sha2::{Digest, Sha256};
    inventory
        .files
        .par_iter()
        .zip(&plan.files)
        .map(|(file, decision)| {
            if !decision.keep || file.link_target.is_some() {
                return Ok(None);
            }
            if let Some(stamp) = &file.stamp {
                let known = known.lock().expect("known digests lock");
                if let Some(digest) = crate::package::zip::known_digest(&known, &file.source, stamp)
                {
                    return Ok(Some(hex::encode(digest)));
                }
            }
            let mut opened = crate::input::open(&file.source, Some(file.bytes))?;
            let opened_stamp = crate::model::Stamp::of(&opened.metadata()?);
            let digest: [u8; 32] = Sha256::digest(opened.read_all()?).into();
            if file.stamp == Some(opened_stamp) {
                known
                    .lock()
                    .expect("known digests lock")
                    .insert(file.source.clone(), (opened_stamp, digest));
            }
            Ok(Some(hex::encode(digest)))
        })
        .collect()
}

/// A folder's path relative to the PATH it was found through, `/`-separated.
fn relative_folder(folder: &Path, paths: &[PathBuf]) -> String {
    let absolute = |path: &Path| crate::scan::absolute_canonical(path);
    let folder = absolute(folder);
    for path in paths {
        let base = match crate::config::project::kind(path) {
            Some(file) => absolute(file.parent().unwrap_or(Path::new("."))),
            None => absolute(path),
        };
        if let Ok(relative) = folder.strip_prefix(&base) {
            let text: Vec<String> = relative
                .components()
                .map(|part| part.as_os_str().to_string_lossy().into_owned())
                .collect();
            return if text.is_empty() {
                ".".to_string()
            } else {
                text.join("/")
            };
        }
    }
    folder.file_name().map_or_else(
        || ".".to_string(),
        |name| name.to_string_lossy().into_owned(),
    )
}

impl ShardPlan {
    /// The plan of a build: every function as shaken (`planned`, with the hex SHA-256 of each
    /// kept file in `contents`), and the layer plan, if any.
    pub fn new(
        config: &Config,
        folders: &[PathBuf],
        planned: &[(Inventory, Plan)],
        contents: &[Vec<Option<String>>],
        layer_plan: Option<&LayerPlan>,
    ) -> Result<ShardPlan> {
        let layer_names: Vec<String> = layer_plan
            .map(|layers| {
                layers
                    .layers
                    .iter()
                    .map(|layer| layer.name.clone())
                    .collect()
            })
            .unwrap_or_default();
        let function_names: Vec<String> = planned
            .iter()
            .map(|(inventory, _)| inventory.function.name.clone())
            .collect();
        let functions = planned
            .iter()
            .zip(contents)
            .zip(folders)
            .enumerate()
            .map(|(index, (((inventory, plan), contents), folder))| {
                let moved = layer_plan.map(|layers| &layers.plans[index]);
                let files = inventory
                    .files
                    .iter()
                    .zip(&plan.files)
                    .zip(contents)
                    .enumerate()
                    .filter(|(_, ((_, decision), _))| decision.keep)
                    .map(|(file_index, ((file, _), sha256))| FileEntry {
                        path: file.path.clone(),
                        bytes: file.bytes,
                        sha256: sha256.clone(),
                        link: file.link_target.clone(),
                        layer: moved.and_then(|plan| match &plan.files[file_index].reason {
                            Reason::Layer(name) => Some(name.clone()),
                            _ => None,
                        }),
                        executable: file.executable,
                    })
                    .collect();
                let function = &inventory.function;
                FunctionEntry {
                    name: function.name.clone(),
                    path: relative_folder(folder, &config.paths),
                    runtime: function.runtime.id().to_string(),
                    arch: function.arch.id().to_string(),
                    handler: function.handler.spec.clone(),
                    input_files: inventory.files.len(),
                    input_bytes: inventory.input_bytes(),
                    layers: layer_plan
                        .map(|layers| {
                            layers.attached[index]
                                .iter()
                                .map(|&layer| layer_names[layer].clone())
                                .collect()
                        })
                        .unwrap_or_default(),
                    notes: layer_plan
                        .map(|layers| layers.notes[index].clone())
                        .unwrap_or_default(),
                    files,
                }
            })
            .collect();
        let layers = layer_plan
            .iter()
            .flat_map(|layers| &layers.layers)
            .map(|layer| LayerEntry {
                name: layer.name.clone(),
                runtime: layer.runtime.id().to_string(),
                arch: layer.arch.id().to_string(),
                packages: layer.packages.clone(),
                functions: layer
                    .functions
                    .iter()
                    .map(|&function| function_names[function].clone())
                    .collect(),
                unzipped_bytes: layer.unzipped_bytes,
                saved_bytes: layer.saved_bytes,
                files: layer
                    .files
                    .iter()
                    .map(|file| LayerFileEntry {
                        path: file.path.clone(),
                        function: function_names[file.function].clone(),
                        file: planned[file.function].0.files[file.file].path.clone(),
                    })
                    .collect(),
            })
            .collect();
        Ok(ShardPlan {
            plan_version: PLAN_VERSION,
            lamina_version: env!("CARGO_PKG_VERSION").to_string(),
            settings: Settings::of(config)?,
            names: function_names.into_iter().chain(layer_names).collect(),
            functions,
            layers,
        })
    }

    /// The plan as written: pretty JSON, ending in a newline.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a plan serializes") + "\n"
    }

    /// Reads a plan file, refusing another format version or another lamina's plan.
    pub fn load(path: &Path) -> Result<ShardPlan> {
        let text = crate::fs::read_to_string(path)?;
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|error| Error::Json {
                path: path.to_path_buf(),
                message: error.to_string(),
            })?;
        let version = value
            .get("plan_version")
            .and_then(serde_json::Value::as_u64);
        if version != Some(u64::from(PLAN_VERSION)) {
            return Err(Error::input(
                path,
                format!(
                    "not a lamina plan of format {PLAN_VERSION} (plan_version {}); write it again with `lamina plan`",
                    version.map_or_else(|| "missing".to_string(), |v| v.to_string())
                ),
            ));
        }
        let plan: ShardPlan = serde_json::from_value(value).map_err(|error| Error::Json {
            path: path.to_path_buf(),
            message: error.to_string(),
        })?;
        if plan.lamina_version != env!("CARGO_PKG_VERSION") {
            return Err(Error::input(
                path,
                format!(
                    "written by lamina {}, this is lamina {}: plan and build with the same lamina, or the zips' bytes may differ",
                    plan.lamina_version,
                    env!("CARGO_PKG_VERSION")
                ),
            ));
        }
        Ok(plan)
    }

    /// Checks that this build's flags and PATHs are the plan's, and that it finds as many
    /// functions (`specs`, in build order) with the names the plan gives.
    pub fn check_settings(
        &self,
        path: &Path,
        config: &Config,
        specs: &[crate::config::project::FunctionSpec],
    ) -> Result<()> {
        let now = Settings::of(config)?;
        for ((given, planned), file) in now
            .inputs
            .iter()
            .zip(&self.settings.inputs)
            .zip(&config.paths)
        {
            if given.kind == planned.kind && given.sha256 != planned.sha256 {
                let file = crate::config::project::kind(file).unwrap_or_else(|| file.clone());
                return Err(Error::input(
                    file,
                    format!(
                        "changed since {} was planned: run `lamina plan` again",
                        path.display()
                    ),
                ));
            }
        }
        if now != self.settings {
            let now = serde_json::to_value(&now).expect("settings serialize");
            let planned = serde_json::to_value(&self.settings).expect("settings serialize");
            let (key, then, given) = planned
                .as_object()
                .into_iter()
                .flatten()
                .find(|(key, value)| now.get(key.as_str()) != Some(value))
                .map(|(key, value)| (key.clone(), value.clone(), now[key.as_str()].clone()))
                .unwrap_or_default();
            return Err(Error::Usage(format!(
                "{}: planned with {key} = {then}, this build has {given}; give `build --plan` the PATHs and planning flags given to `lamina plan`, or plan again",
                path.display()
            )));
        }
        if specs.len() != self.functions.len() {
            return Err(Error::input(
                path,
                format!(
                    "plans {} functions, the project now has {}: run `lamina plan` again",
                    self.functions.len(),
                    specs.len()
                ),
            ));
        }
        for (spec, function) in specs.iter().zip(&self.functions) {
            if !spec.name.is_empty() && spec.name != function.name {
                return Err(Error::input(
                    path,
                    format!(
                        "plans function {:?} where the project now has {:?}: run `lamina plan` again",
                        function.name, spec.name
                    ),
                ));
            }
        }
        Ok(())
    }

    /// What building `only` (every output when empty) needs. An unknown name is a usage error
    /// listing the names the plan has.
    pub fn select(&self, only: &[String]) -> Result<Selection> {
        let function_index: BTreeMap<&str, usize> = self
            .functions
            .iter()
            .enumerate()
            .map(|(index, function)| (function.name.as_str(), index))
            .collect();
        let layer_index: BTreeMap<&str, usize> = self
            .layers
            .iter()
            .enumerate()
            .map(|(index, layer)| (layer.name.as_str(), index))
            .collect();
        let mut selection = Selection::default();
        if only.is_empty() {
            selection.keep_functions = (0..self.functions.len()).collect();
            selection.keep_layers = (0..self.layers.len()).collect();
        }
        for name in only {
            let name = name.trim();
            if let Some(&index) = function_index.get(name) {
                selection.keep_functions.insert(index);
            } else if let Some(&index) = layer_index.get(name) {
                selection.keep_layers.insert(index);
            } else {
                return Err(Error::Usage(format!(
                    "--only {name}: the plan has no function or layer of that name; it has {}",
                    self.names.join(", ")
                )));
            }
        }
        selection.package = selection.keep_functions.clone();
        // A layer's report says what verify found with the first function that attaches it,
        // as a whole build's does: that function is built too (its zip is not kept).
        for &layer in &selection.keep_layers {
            if let Some(first) = self.layers[layer].functions.first() {
                selection.package.insert(function_index[first.as_str()]);
            }
        }
        selection.layers = selection.keep_layers.clone();
        for &function in &selection.package {
            for layer in &self.functions[function].layers {
                selection.layers.insert(layer_index[layer.as_str()]);
            }
        }
        selection.scan = selection.package.clone();
        for &layer in &selection.layers {
            for file in &self.layers[layer].files {
                selection
                    .scan
                    .insert(function_index[file.function.as_str()]);
            }
        }
        Ok(selection)
    }

    /// The cache key of one output (`name`, a function or layer of `names`): the hex SHA-256
    /// of everything in the plan that `build --plan --only NAME` builds from and is held to.
    /// That is the plan's format, lamina and settings, and the entries of the functions the
    /// shard packages, with the layers they attach. It also covers the file entries those
    /// layers are read from. Another function's own files are not in it, so a change to them
    /// leaves this key as it was. The shard's command line (`--compression`, `--out`) is not
    /// in it either: the CI tool keys by that itself.
    pub fn key(&self, name: &str) -> Result<String> {
        let selection = self.select(&[name.to_string()])?;
        let read: BTreeSet<(&str, &str)> = selection
            .layers
            .iter()
            .flat_map(|&layer| &self.layers[layer].files)
            .map(|file| (file.function.as_str(), file.file.as_str()))
            .collect();
        let sources: Vec<serde_json::Value> = self
            .functions
            .iter()
            .flat_map(|function| {
                function
                    .files
                    .iter()
                    .filter(|file| read.contains(&(function.name.as_str(), file.path.as_str())))
                    .map(|file| serde_json::json!({ "function": function.name, "file": file }))
            })
            .collect();
        let keyed = serde_json::json!({
            "plan_version": self.plan_version,
            "lamina_version": self.lamina_version,
            "settings": self.settings,
            "name": name,
            "functions": selection.package.iter().map(|&index| &self.functions[index]).collect::<Vec<_>>(),
            "layers": selection.layers.iter().map(|&index| &self.layers[index]).collect::<Vec<_>>(),
            "layer_sources": sources,
        });
        Ok(sha256_hex(
            &serde_json::to_vec(&keyed).expect("a plan serializes"),
        ))
    }

    /// Checks that a function scanned and shaken now keeps exactly the files the plan lists,
    /// each with the plan's bytes, link target and SHA-256; the first that differs is an input
    /// error naming it.
    ///
    /// A function scanned only because a layer written reads its files (`selection` packages
    /// it not) is held to those files alone: the rest of it does not reach this build.
    /// The contents it reads are added to `known` (`kept_contents`), for the writer.
    pub fn verify_function(
        &self,
        path: &Path,
        selection: &Selection,
        index: usize,
        inventory: &Inventory,
        plan: &Plan,
        known: &std::sync::Mutex<crate::package::zip::Known>,
    ) -> Result<()> {
        let entry = &self.functions[index];
        let read_by_layers: Option<BTreeSet<&str>> =
            (!selection.package.contains(&index)).then(|| {
                selection
                    .layers
                    .iter()
                    .flat_map(|&layer| &self.layers[layer].files)
                    .filter(|file| file.function == entry.name)
                    .map(|file| file.file.as_str())
                    .collect()
            });
        let stale = |file: &Path, what: String| {
            Error::input(
                file,
                format!(
                    "{what} since {} was planned: run `lamina plan` again",
                    path.display()
                ),
            )
        };
        let function = &inventory.function;
        if function.name != entry.name {
            return Err(stale(
                &function.root,
                format!("now function {:?}, not {:?},", function.name, entry.name),
            ));
        }
        let wanted = |path: &str| {
            read_by_layers
                .as_ref()
                .is_none_or(|paths| paths.contains(path))
        };
        let mut checked = plan.clone();
        for (file, decision) in inventory.files.iter().zip(&mut checked.files) {
            decision.keep = decision.keep && wanted(&file.path);
        }
        let contents = kept_contents(inventory, &checked, known)?;
        let now: BTreeMap<&str, usize> = (0..inventory.files.len())
            .filter(|&file| checked.files[file].keep)
            .map(|file| (inventory.files[file].path.as_str(), file))
            .collect();
        let planned: BTreeMap<&str, &FileEntry> = entry
            .files
            .iter()
            .filter(|file| wanted(&file.path))
            .map(|file| (file.path.as_str(), file))
            .collect();
        for (path, file) in &planned {
            let Some(&index) = now.get(path) else {
                return Err(stale(
                    &function.root.join(path),
                    "no longer ships".to_string(),
                ));
            };
            let found = &inventory.files[index];
            if file.bytes != found.bytes
                || file.link != found.link_target
                || file.sha256 != contents[index]
            {
                return Err(stale(&found.source, "changed".to_string()));
            }
            if file.executable != found.executable {
                let now = if found.executable {
                    "became"
                } else {
                    "is no longer"
                };
                return Err(stale(&found.source, format!("{now} executable")));
            }
        }
        if let Some((_, &index)) = now.iter().find(|(path, _)| !planned.contains_key(*path)) {
            return Err(stale(&inventory.files[index].source, "ships".to_string()));
        }
        if inventory.files.len() != entry.input_files
            || inventory.input_bytes() != entry.input_bytes
        {
            return Err(stale(
                &function.root,
                format!(
                    "holds {} files of {} bytes, not {} of {}, ",
                    inventory.files.len(),
                    inventory.input_bytes(),
                    entry.input_files,
                    entry.input_bytes
                ),
            ));
        }
        Ok(())
    }

    /// The layer plan of the functions scanned (`indices`: each one's index among the plan's
    /// functions, parallel to `planned`), holding the layers `selection` writes: what
    /// `dedupe::plan_layers` gave the whole build, restricted to them. Layers name their
    /// functions by index among all the plan's.
    pub fn layer_plan(
        &self,
        selection: &Selection,
        indices: &[usize],
        planned: &[(Inventory, Plan)],
    ) -> Result<LayerPlan> {
        let position: BTreeMap<usize, usize> = indices
            .iter()
            .enumerate()
            .map(|(position, &index)| (index, position))
            .collect();
        let by_name: BTreeMap<&str, usize> = self
            .functions
            .iter()
            .enumerate()
            .map(|(index, function)| (function.name.as_str(), index))
            .collect();
        // Artifact paths are in the walk's order (by path component), not by string.
        let lookup: Vec<std::collections::HashMap<&str, usize>> = planned
            .iter()
            .map(|(inventory, _)| {
                inventory
                    .files
                    .iter()
                    .enumerate()
                    .map(|(index, file)| (file.path.as_str(), index))
                    .collect()
            })
            .collect();
        let file_index = |function: usize, path: &str| -> Result<usize> {
            let inventory = &planned[function].0;
            lookup[function].get(path).copied().ok_or_else(|| {
                Error::input(
                    inventory.function.root.join(path),
                    "missing, though the plan ships it: run `lamina plan` again",
                )
            })
        };
        let selected: Vec<usize> = selection.layers.iter().copied().collect();
        let mut layers = Vec::new();
        for &layer in &selected {
            let entry = &self.layers[layer];
            let runtime = Runtime::parse(&entry.runtime)
                .ok_or_else(|| Error::Usage(format!("plan: unknown runtime {}", entry.runtime)))?;
            let arch = [Arch::X86_64, Arch::Arm64]
                .into_iter()
                .find(|arch| arch.id() == entry.arch)
                .ok_or_else(|| Error::Usage(format!("plan: unknown arch {}", entry.arch)))?;
            let mut files = Vec::new();
            for file in &entry.files {
                let function = position[&by_name[file.function.as_str()]];
                files.push(LayerFile {
                    path: file.path.clone(),
                    function,
                    file: file_index(function, &file.file)?,
                });
            }
            layers.push(PlannedLayer {
                name: entry.name.clone(),
                runtime,
                arch,
                files,
                packages: entry.packages.clone(),
                functions: entry
                    .functions
                    .iter()
                    .map(|name| by_name[name.as_str()])
                    .collect(),
                unzipped_bytes: entry.unzipped_bytes,
                saved_bytes: entry.saved_bytes,
            });
        }
        let mut plans = Vec::new();
        let mut attached = Vec::new();
        let mut notes = Vec::new();
        for (function, ((inventory, plan), &index)) in planned.iter().zip(indices).enumerate() {
            let entry = &self.functions[index];
            let mut plan = plan.clone();
            let mut moved = BTreeSet::new();
            for file in &entry.files {
                let Some(layer) = &file.layer else { continue };
                let at = file_index(function, &file.path)?;
                plan.files[at].keep = false;
                plan.files[at].reason = Reason::Layer(layer.clone());
                if let crate::model::Owner::Package(id) = inventory.files[at].owner {
                    plan.packages[id.0].reason = Reason::Layer(layer.clone());
                }
                moved.insert(at);
            }
            plan.moved_to_layer(&moved);
            plans.push(plan);
            attached.push(
                entry
                    .layers
                    .iter()
                    .filter_map(|name| {
                        selected
                            .iter()
                            .position(|&layer| self.layers[layer].name == *name)
                    })
                    .collect(),
            );
            notes.push(entry.notes.clone());
        }
        Ok(LayerPlan {
            layers,
            plans,
            attached,
            notes,
        })
    }
}
