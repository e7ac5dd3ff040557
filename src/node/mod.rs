//! The Node.js ecosystem: `package.json` and `node_modules` (`packages.rs`), the user's
//! imports (`imports.rs`) and the file-level tracer (`trace.rs`), the package closure
//! (`closure.rs`), shake (`shake.rs`, `refine.rs` for `--shake files`) and layer candidates
//! (`layers.rs`).

pub mod closure;
pub mod imports;
pub mod layers;
pub mod packages;
pub mod refine;
pub mod scan;
pub mod shake;
pub mod smoke;
pub mod trace;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::dedupe;
use crate::ecosystem::Ecosystem;
use crate::error::Result;
use crate::lambda::Language;
use crate::model::{Inventory, NodeInventory, Plan};
use crate::scan::ScanOptions;
use crate::shake::ShakeOptions;
use crate::smoke::{SmokeOptions, SmokeReport};

/// A Node.js function's own facts; empty ones for another ecosystem's inventory (which no
/// Node code is handed).
pub fn facts(inventory: &Inventory) -> &NodeInventory {
    static EMPTY: NodeInventory = NodeInventory {
        manifest: crate::model::Manifest::EMPTY,
        dependencies: Vec::new(),
        named: Vec::new(),
        trace: None,
    };
    inventory.node().unwrap_or(&EMPTY)
}

/// Node.js functions (`nodejs18.x` to `nodejs24.x`).
pub struct Node;

impl Ecosystem for Node {
    fn language(&self) -> Language {
        Language::Node
    }

    fn recognizes(&self, root: &Path, _options: &ScanOptions) -> bool {
        root.join("package.json").is_file()
    }

    fn scan(&self, path: &Path, root: PathBuf, options: &ScanOptions) -> Result<Inventory> {
        scan::scan(path, root, options)
    }

    fn shake(&self, inventory: &Inventory, options: &ShakeOptions) -> Result<Plan> {
        shake::shake(inventory, options)
    }

    fn layer_candidates(
        &self,
        input: &dedupe::Input<'_>,
        notes: &mut Vec<String>,
    ) -> BTreeMap<[u8; 32], dedupe::Candidate> {
        layers::candidates(input, notes)
    }

    fn smoke(
        &self,
        inventory: &Inventory,
        artifact: &Path,
        layers: &[PathBuf],
        options: &SmokeOptions,
    ) -> Result<SmokeReport> {
        crate::smoke::smoke_interpreted(inventory, artifact, layers, options, &smoke::NodeLoader)
    }
}
