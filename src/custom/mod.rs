//! The custom-runtime ecosystem (`provided.al2023`, `provided.al2`): a `bootstrap` executable
//! written in Go, Rust or C++. Where the executable is in a function folder (`layout`), what a
//! binary is and needs (`elf`), what the runtime's image gives it and the judgement of one
//! against the other (`image`), the scan (`scan`), what ships (`shake`), stripping it without
//! changing what it does (`strip`, staged by `package`), and running it against a Lambda
//! Runtime API served on a loopback port (`runtime_api`, `smoke`).

pub mod elf;
pub mod image;
pub mod layout;
pub mod package;
pub mod runtime_api;
pub mod scan;
pub mod shake;
pub mod smoke;
pub mod strip;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::dedupe;
use crate::ecosystem::{Ecosystem, Stage, Staged, ZipEvidence, ZipView};
use crate::error::Result;
use crate::lambda::Language;
use crate::model::{Inventory, Plan};
use crate::package::zip::Entry;
use crate::scan::ScanOptions;
use crate::shake::ShakeOptions;
use crate::smoke::{SmokeOptions, SmokeReport};

/// Said when the function folder holds the build's inputs beside the executable.
pub const CUSTOM_BUILD_INPUTS_NOTE: &str = "the folder holds the build's inputs (sources, manifests, target/) beside the bootstrap: they do not ship (custom/build-input)";

/// Custom-runtime functions (`provided.al2023`, `provided.al2`).
pub struct Custom;

impl Ecosystem for Custom {
    fn language(&self) -> Language {
        Language::Custom
    }

    /// A `bootstrap` ELF executable (or cargo lambda's build of one), and no `package.json`.
    fn recognizes(&self, root: &Path, options: &ScanOptions) -> bool {
        if root.join("package.json").is_file() {
            return false;
        }
        layout::locate(root, options.handler.as_deref()).is_ok_and(|located| {
            let mut head = [0u8; 4];
            crate::input::open(&located.source, None).is_ok_and(|mut file| {
                std::io::Read::read_exact(&mut file, &mut head).is_ok() && head == *b"\x7fELF"
            })
        })
    }

    fn scan(&self, path: &Path, root: PathBuf, options: &ScanOptions) -> Result<Inventory> {
        scan::scan(path, root, options)
    }

    fn shake(&self, inventory: &Inventory, options: &ShakeOptions) -> Result<Plan> {
        shake::shake(inventory, options)
    }

    /// A compiled program shares nothing with other functions through layers.
    fn layer_candidates(
        &self,
        _input: &dedupe::Input<'_>,
        _notes: &mut Vec<String>,
    ) -> BTreeMap<[u8; 32], dedupe::Candidate> {
        BTreeMap::new()
    }

    fn stage(
        &self,
        _inventory: &Inventory,
        plan: &Plan,
        options: Stage,
        out: &Path,
        entries: &mut Vec<Entry>,
    ) -> Result<Staged> {
        let mut staged = package::stage(plan, options.strip, out, entries)?;
        if options.compile {
            staged
                .stats
                .notes
                .push("--compile applies to Python functions only".to_string());
        }
        if options.bytecode != crate::model::Bytecode::Both {
            staged
                .stats
                .notes
                .push("--python-bytecode applies to Python functions only".to_string());
        }
        Ok(staged)
    }

    fn zip_evidence(&self, zip: &ZipView<'_>) -> Option<ZipEvidence> {
        zip.files.contains(layout::BOOTSTRAP).then(|| ZipEvidence {
            strength: 3,
            runtime: crate::lambda::Runtime::ProvidedAl2023,
            why: "inferred from bootstrap at the zip's root (provided.al2 is the other choice)"
                .to_string(),
        })
    }

    fn smoke(
        &self,
        inventory: &Inventory,
        artifact: &Path,
        layers: &[PathBuf],
        options: &SmokeOptions,
    ) -> Result<SmokeReport> {
        smoke::smoke(inventory, artifact, layers, options)
    }
}
