//! The Python ecosystem: where the distributions are installed and who owns each file
//! (`scan.rs`), `METADATA`, markers and wheel tags (`metadata.rs`), imports (`imports.rs`),
//! the distribution closure and the `py/*` rules (`shake.rs`), layer candidates (`layers.rs`).

pub mod imports;
pub mod layers;
pub mod metadata;
pub mod package;
pub mod pyc;
pub mod refine;
pub mod scan;
pub mod shake;
pub mod smoke;
pub mod trace;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::dedupe;
use crate::ecosystem::{DigestRecipe, Ecosystem, Stage, Staged, ZipEvidence, ZipView};
use crate::error::Result;
use crate::lambda::{Language, Runtime};
use crate::model::{Inventory, Plan, PythonInventory};
use crate::package::zip::Entry;
use crate::scan::ScanOptions;
use crate::shake::ShakeOptions;
use crate::smoke::{SmokeOptions, SmokeReport};

/// A Python function's own facts; empty ones for another ecosystem's inventory (which no
/// Python code is handed).
pub fn facts(inventory: &Inventory) -> &PythonInventory {
    static EMPTY: PythonInventory = PythonInventory {
        site_packages: None,
        files: std::collections::BTreeMap::new(),
        requested_extras: std::collections::BTreeMap::new(),
        unloaded: std::collections::BTreeSet::new(),
        trace: None,
        services: None,
    };
    inventory.python().unwrap_or(&EMPTY)
}

/// Python functions (`python3.9` to `python3.13`).
pub struct Python;

impl Ecosystem for Python {
    fn language(&self) -> Language {
        Language::Python
    }

    fn recognizes(&self, root: &Path, options: &ScanOptions) -> bool {
        scan::looks_like_python(root, options)
    }

    fn scan(&self, _path: &Path, root: PathBuf, options: &ScanOptions) -> Result<Inventory> {
        scan::scan(root, options)
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

    fn stage(
        &self,
        inventory: &Inventory,
        plan: &Plan,
        options: Stage,
        out: &Path,
        entries: &mut Vec<Entry>,
    ) -> Result<Staged> {
        crate::python::pyc::stage(inventory, plan, entries)?;
        let Some(version) = inventory.function.runtime.python_version() else {
            return Ok(Staged::default());
        };
        let mut staged = package::stage(version, options, out, entries)?;
        if options.bytecode == crate::model::Bytecode::Sourceless {
            let count = package::sourceless(inventory, version, entries, &mut staged);
            staged.stats.notes.push(format!(
                "--python-bytecode sourceless: {count} modules of the dependencies ship as their pyc in place of their source (tracebacks show no source lines; inspect.getsource fails for them)"
            ));
        }
        Ok(staged)
    }

    fn digest_recipe(
        &self,
        inventory: &Inventory,
        plan: &Plan,
        options: Stage,
        index: usize,
    ) -> DigestRecipe {
        let path = &inventory.files[index].path;
        let mut marks: Vec<&'static [u8]> = Vec::new();
        if options.compile && path.ends_with(".py") {
            marks.push(b"--compile\0");
        }
        if options.strip && package::strippable(path) {
            marks.push(b"--strip\0");
        }
        // A distribution's module may ship as its pyc, at another path, without its source.
        if options.bytecode == crate::model::Bytecode::Sourceless
            && (path.ends_with(".py") || path.ends_with(".pyc"))
        {
            marks.push(b"--python-bytecode sourceless\0");
        }
        let pyc_source = plan
            .rewrite_pycs()
            .contains(&index)
            .then(|| facts(inventory).files.get(&index)?.pyc?.source)
            .flatten();
        DigestRecipe { marks, pyc_source }
    }

    fn zip_evidence(&self, zip: &ZipView<'_>) -> Option<ZipEvidence> {
        let strength = if zip.handler_in(&["py"]) {
            2
        } else if zip
            .files
            .iter()
            .any(|path| path.ends_with(".py") && !path.contains("node_modules/"))
        {
            1
        } else {
            return None;
        };
        // The version from a layer's `python/lib/python3.X/` or an extension module's name.
        let versioned = zip.paths.iter().find_map(|path| {
            let minor = path
                .strip_prefix("python/lib/python3.")
                .and_then(|rest| rest.split('/').next())
                .or_else(|| {
                    let at = path.find(".cpython-3")? + ".cpython-3".len();
                    path[at..].split('-').next()
                })?;
            Runtime::parse(&format!("python3.{minor}")).map(|runtime| (runtime, *path))
        });
        let (runtime, why) = match versioned {
            Some((runtime, path)) => (runtime, format!("inferred from Python files and {path}")),
            None => (
                Runtime::ALL
                    .into_iter()
                    .filter(|runtime| runtime.language() == Language::Python)
                    .max()?,
                "assumed from Python files: no version found in the zips; pass --runtime"
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
        let site = format!("{}/", crate::lambda::layers::python_site_packages(runtime)?);
        let misplaced: Vec<&str> = files
            .iter()
            .copied()
            .filter(|path| {
                path.ends_with(".py")
                    || path.contains(".dist-info/")
                    || path.contains("site-packages/")
            })
            .filter(|path| {
                let in_python = path.starts_with("python/");
                let other_version =
                    path.starts_with("python/lib/python") && !path.starts_with(&site);
                !in_python || other_version
            })
            .collect();
        let first = misplaced.first()?;
        Some(crate::verify::findings::LAYER_PYTHON_LAYOUT.at(
            Some(first),
            format!(
                "{} Python files are outside python/ and {site}, the folders {runtime} puts on sys.path under /opt",
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
        crate::smoke::smoke_interpreted(inventory, artifact, layers, options, &smoke::PythonLoader)
    }
}
