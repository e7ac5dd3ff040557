//! The Node.js ecosystem: `package.json` and `node_modules` (`packages.rs`), the user's
//! imports (`imports.rs`) and the file-level tracer (`trace.rs`), the package closure
//! (`closure.rs`), shake (`shake.rs`, `refine.rs` for `--shake files`) and layer candidates
//! (`layers.rs`).

pub mod closure;
pub mod data;
pub mod imports;
pub mod layers;
pub mod module_use;
pub mod named_by;
pub mod packages;
pub mod refine;
pub mod scan;
pub mod sdk_v2;
pub mod shake;
pub mod smoke;
pub mod trace;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::dedupe;
use crate::ecosystem::{Ecosystem, ZipEvidence, ZipView};
use crate::error::Result;
use crate::lambda::{Language, Runtime};
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

    fn zip_evidence(&self, zip: &ZipView<'_>) -> Option<ZipEvidence> {
        let strength = if zip.handler_in(&["js", "mjs", "cjs"]) {
            2
        } else if zip.files.contains("package.json")
            || zip.files.iter().any(|path| {
                path.ends_with(".js") || path.ends_with(".mjs") || path.ends_with(".cjs")
            })
        {
            1
        } else {
            return None;
        };
        // The function's own package.json: `engines.node` names the version.
        if let Some(text) = zip.root_manifest
            && let Ok(value) = serde_json::from_str::<serde_json::Value>(text)
            && let Some(range) = value
                .get("engines")
                .and_then(|engines| engines.get("node"))
                .and_then(serde_json::Value::as_str)
            && let Some(runtime) = scan::runtime_for_range(range)
        {
            return Some(ZipEvidence {
                strength,
                runtime,
                why: format!("inferred from package.json engines.node \"{range}\""),
            });
        }
        // A layer's `nodejs/nodeNN/` names it too.
        let versioned = zip.paths.iter().find_map(|path| {
            let major = path.strip_prefix("nodejs/node")?.split('/').next()?;
            Runtime::parse(&format!("nodejs{major}.x")).map(|runtime| (runtime, *path))
        });
        let (runtime, why) = match versioned {
            Some((runtime, path)) => (
                runtime,
                format!("inferred from JavaScript files and {path}"),
            ),
            None => (
                Runtime::DEFAULT_NODE,
                "assumed from JavaScript files: no version found in the zips; pass --runtime"
                    .to_string(),
            ),
        };
        Some(ZipEvidence {
            strength,
            runtime,
            why,
        })
    }

    fn layer_layout(&self, files: &[&str], runtime: Runtime) -> Option<crate::model::Finding> {
        let versioned = format!("{}/", crate::lambda::layers::node_versioned_folder(runtime));
        let shared = format!("{}/", crate::lambda::layers::NODE_FOLDER);
        let misplaced: Vec<&str> = files
            .iter()
            .copied()
            .filter(|path| path.starts_with("node_modules/") || path.contains("/node_modules/"))
            .filter(|path| !path.starts_with(&shared) && !path.starts_with(&versioned))
            .collect();
        let first = misplaced.first()?;
        Some(crate::verify::findings::LAYER_NODE_LAYOUT.at(
            Some(first),
            format!(
                "{} files under node_modules/ are outside nodejs/node_modules/ and {versioned}, the folders {runtime} searches under /opt",
                misplaced.len()
            ),
        ))
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
