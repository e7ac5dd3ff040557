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
use crate::scan::ScanOptions;
use crate::shake::ShakeOptions;

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
}

/// Every ecosystem, in the order `detect` asks them (the last one is the fallback).
const ALL: [&dyn Ecosystem; 2] = [&crate::python::Python, &crate::node::Node];

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
