//! The ecosystems lamina handles, each one room (`node`, `python`) behind one interface, and
//! the one place that registers them. The generic stages (scan's walk and dispatch, shake's
//! junk-rule engine, dedupe, package, verify, report) reach an ecosystem only through
//! [`Ecosystem`]; why a trait object and not an enum is argued in ARCHITECTURE.md.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::dedupe;
use crate::error::Result;
use crate::lambda::Language;
use crate::model::{Inventory, Plan};
pub use crate::package::Staged;
use crate::package::zip::Entry;
use crate::scan::ScanOptions;
use crate::shake::ShakeOptions;
use crate::smoke::{SmokeOptions, SmokeReport};

/// What an ecosystem knows: what its function folders hold, how its packages and their edges
/// are read (scan), what ships (shake), and how its packages move to a layer (dedupe). Lambda's
/// facts about its runtimes (handler files, layer folders, the SDK) are in `lambda`.
pub trait Ecosystem: Sync {
    /// The runtimes' language this ecosystem handles.
    fn language(&self) -> Language;

    /// Without `--runtime`: whether the folder looks like a function of this ecosystem.
    fn recognizes(&self, root: &Path, options: &ScanOptions) -> bool;

    /// Reads the function folder (`path` as given, `root` canonical) into an inventory.
    fn scan(&self, path: &Path, root: PathBuf, options: &ScanOptions) -> Result<Inventory>;

    /// Decides, for every file and package of the inventory, whether it ships.
    fn shake(&self, inventory: &Inventory, options: &ShakeOptions) -> Result<Plan>;

    /// The packages of one shaken function that could move to a shared layer, keyed by their
    /// identity across functions, with the layer path of each file. Notes say what cannot.
    fn layer_candidates(
        &self,
        input: &dedupe::Input<'_>,
        notes: &mut Vec<String>,
    ) -> BTreeMap<[u8; 32], dedupe::Candidate>;

    /// Changes the zip's entries before they are written (Python: pycs rewritten, `--compile`,
    /// `--strip`; custom runtimes: the stripped `bootstrap`), with copies in temporary folders
    /// of `out`. Nothing by default.
    fn stage(
        &self,
        _inventory: &Inventory,
        _plan: &Plan,
        options: Stage,
        _out: &Path,
        _entries: &mut Vec<Entry>,
    ) -> Result<Staged> {
        let mut staged = Staged::default();
        if options.compile || options.strip {
            staged.stats.notes.push(format!(
                "--compile and --strip do not apply to {} functions",
                self.language().label()
            ));
        }
        if options.bytecode != crate::model::Bytecode::Both {
            staged.stats.notes.push(format!(
                "--python-bytecode does not apply to {} functions",
                self.language().label()
            ));
        }
        Ok(staged)
    }

    /// How a kept file's shipped bytes are identified for layer planning, before staging made
    /// them: its content, unless staging changes it. Plain content by default.
    fn digest_recipe(
        &self,
        _inventory: &Inventory,
        _plan: &Plan,
        _options: Stage,
        _index: usize,
    ) -> DigestRecipe {
        DigestRecipe::default()
    }

    /// `lamina check` without `--runtime`: what a zip says about a function of this ecosystem,
    /// and the runtime it points to. The strongest evidence across ecosystems wins.
    fn zip_evidence(&self, zip: &ZipView<'_>) -> Option<ZipEvidence>;

    /// `lamina check`: a finding when a layer's files of this ecosystem (its `files`, not
    /// folders) sit where the runtime's module search under `/opt` does not look.
    fn layer_layout(
        &self,
        _files: &[&str],
        _runtime: crate::lambda::Runtime,
    ) -> Option<crate::model::Finding> {
        None
    }

    /// `--smoke`: loads the handler from the built artifact (with `layers`, in attach order)
    /// and, with an event, invokes it, as the runtime does.
    fn smoke(
        &self,
        inventory: &Inventory,
        artifact: &Path,
        layers: &[PathBuf],
        options: &SmokeOptions,
    ) -> Result<SmokeReport>;
}

/// How to identify a file whose shipped bytes staging will make: `marks` are hashed before the
/// content (`--compile`, `--strip`), and a rewritten pyc is hashed by its magic number and the
/// content of its `source` (pip's pycs embed the install's paths and times).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DigestRecipe {
    pub marks: Vec<&'static [u8]>,
    pub pyc_source: Option<usize>,
}

impl DigestRecipe {
    /// The content alone: a digest a memo may remember by the file's stamp.
    pub fn plain(&self) -> bool {
        self.marks.is_empty() && self.pyc_source.is_none()
    }
}

/// What `lamina check` read of a function zip and its layers.
pub struct ZipView<'a> {
    /// The function zip's files (not folders).
    pub files: &'a std::collections::BTreeSet<&'a str>,
    /// Every entry of the function zip, then of each layer.
    pub paths: &'a [&'a str],
    /// `--handler`, when given.
    pub handler: Option<&'a str>,
    /// The function zip's own `package.json`, when it has one.
    pub root_manifest: Option<&'a str>,
}

impl ZipView<'_> {
    /// Whether the handler's module is one of the zip's files with one of `extensions`
    /// (`pkg.app` as `pkg/app.py` or `pkg.app.py`).
    pub fn handler_in(&self, extensions: &[&str]) -> bool {
        self.handler
            .and_then(|spec| spec.rsplit_once('.'))
            .is_some_and(|(module, _)| {
                extensions.iter().any(|extension| {
                    self.files
                        .contains(format!("{}.{extension}", module.replace('.', "/")).as_str())
                        || self
                            .files
                            .contains(format!("{module}.{extension}").as_str())
                })
            })
    }
}

/// Evidence for a runtime found in a zip.
pub struct ZipEvidence {
    /// 3: only this ecosystem's runtimes load it (`bootstrap`); 2: the handler's file is this
    /// ecosystem's; 1: the zip holds this ecosystem's files.
    pub strength: u8,
    pub runtime: crate::lambda::Runtime,
    /// `inferred from …`, `assumed from …`.
    pub why: String,
}

/// The runtime a function zip (with its layers) points to: the strongest evidence, the first
/// ecosystem of `ALL` on a tie.
pub fn infer_from_zip(zip: &ZipView<'_>) -> Option<(crate::lambda::Runtime, String)> {
    let mut best: Option<ZipEvidence> = None;
    for ecosystem in ALL {
        if let Some(evidence) = ecosystem.zip_evidence(zip)
            && best
                .as_ref()
                .is_none_or(|best| evidence.strength > best.strength)
        {
            best = Some(evidence);
        }
    }
    best.map(|evidence| (evidence.runtime, evidence.why))
}

/// What `build` asks of the staging step.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stage {
    /// `--compile`: bytecode for Python sources that ship without.
    pub compile: bool,
    /// `--strip`: debug symbols out of Python extension modules; the symbol table out of a
    /// custom runtime's `bootstrap` (its debug information always goes).
    pub strip: bool,
    /// `--python-bytecode`: `sourceless` puts a distribution's pycs in place of its sources
    /// (`source` is shake's decision: the pycs are dropped before staging).
    pub bytecode: crate::model::Bytecode,
}

/// Every ecosystem, in the order `detect` asks them (the last one is the fallback).
const ALL: [&dyn Ecosystem; 3] = [
    &crate::python::Python,
    &crate::custom::Custom,
    &crate::node::Node,
];

/// The ecosystem of a language, if lamina handles it.
pub fn for_language(language: Language) -> Option<&'static dyn Ecosystem> {
    ALL.into_iter()
        .find(|ecosystem| ecosystem.language() == language)
}

/// The ecosystem of the function in a folder when `--runtime` does not say: the first that
/// recognizes it, else the last (whose scan then says what the folder lacks).
pub fn detect(root: &Path, options: &ScanOptions) -> &'static dyn Ecosystem {
    ALL.into_iter()
        .find(|ecosystem| ecosystem.recognizes(root, options))
        .unwrap_or(ALL[ALL.len() - 1])
}

/// The ecosystem of an inventory (scan made it with one).
pub fn of(inventory: &Inventory) -> &'static dyn Ecosystem {
    for_language(inventory.function.runtime.language())
        .expect("an inventory is made by a registered ecosystem")
}
