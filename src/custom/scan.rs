//! Scan of a custom-runtime function folder: the folder holding the `bootstrap` executable
//! (or the binary `--handler` names, or cargo lambda's build), walked as every function is, the
//! binary's facts (`elf`) and how they fit the runtime's image (`image`).

use std::path::{Path, PathBuf};

use super::{CUSTOM_BUILD_INPUTS_NOTE, elf, image, layout};
use crate::error::{Error, Result};
use crate::model::{
    CustomInventory, EcosystemInventory, Function, Handler, Imports, Inventory, Origin, Runtime,
};
use crate::scan::{ScanOptions, bounds, output_folder, walk};

/// Scans a custom-runtime function folder: `path` as the user gave it, `root` canonical.
pub fn scan(path: &Path, root: PathBuf, options: &ScanOptions) -> Result<Inventory> {
    if options.site_packages.is_some() {
        return Err(Error::Usage(format!(
            "--site-packages: {} is a custom-runtime function; the flag is for Python functions",
            path.display()
        )));
    }
    let located = layout::locate(&root, options.handler.as_deref()).map_err(|message| {
        let hint = if crate::python::scan::looks_like_python(&root, options) {
            "; the folder holds a Python function: give --runtime python3.9 to python3.13, or none"
        } else if root.join("package.json").is_file() {
            "; the folder holds a Node.js function: give --runtime nodejs18.x to nodejs24.x, or none"
        } else {
            ""
        };
        Error::input(path, format!("{message}{hint}"))
    })?;
    // The artifact is the folder the executable is in: the function folder for `go build -o
    // bootstrap`, `target/lambda/<binary>/` for cargo lambda.
    let folder = match located.relative.rsplit_once('/') {
        Some((parent, _)) => root.join(parent),
        None => root.clone(),
    };
    let executable_name = located
        .relative
        .rsplit('/')
        .next()
        .unwrap_or(layout::BOOTSTRAP)
        .to_string();
    let mut tree = walk::walk(&folder, &bounds(&folder, options, None))?;
    if let Some(refused) = tree.refused.first() {
        return Err(refused.error());
    }
    // Whatever its name in the folder, the executable ships as `bootstrap`, mode 0755.
    if executable_name != layout::BOOTSTRAP {
        tree.entries.retain(|entry| entry.path != layout::BOOTSTRAP);
    }
    let Some(position) = tree
        .entries
        .iter()
        .position(|entry| entry.path == executable_name)
    else {
        return Err(Error::input(
            &located.source,
            "the executable is not a regular file of the function folder",
        ));
    };
    tree.entries[position].path = layout::BOOTSTRAP.to_string();
    tree.entries[position].executable = true;
    tree.entries.sort_by(|a, b| a.path.cmp(&b.path));
    let bootstrap = tree
        .entries
        .iter()
        .position(|entry| entry.path == layout::BOOTSTRAP)
        .expect("just named");

    let entry = &tree.entries[bootstrap];
    let bytes = crate::input::read(&entry.source, Some(entry.bytes))?;
    let facts = elf::facts(&bytes).ok();
    let (runtime, runtime_origin) = match options.runtime {
        Some(runtime) => (runtime, Origin::Flag),
        None => (Runtime::ProvidedAl2023, Origin::Default),
    };
    let mut warnings = tree.warnings;
    let mut notes = Vec::new();
    match &facts {
        Some(facts) => {
            let shipped: Vec<String> = tree
                .entries
                .iter()
                .map(|entry| format!("/var/task/{}", entry.path))
                .collect();
            // Errors (architecture, glibc, musl) are verify's findings on the zip; what only
            // the image's library list tells is a warning here.
            if facts.debug_bytes > 0 || facts.symbol_table_bytes > 0 {
                notes.push(format!(
                    "bootstrap carries {} of debug information, which `lamina build` strips, and {} of symbols, which `--strip` also removes",
                    crate::model::human_bytes(facts.debug_bytes),
                    crate::model::human_bytes(facts.symbol_table_bytes)
                ));
            }
            for concern in image::judge(facts, runtime, options.arch, "/var/task", &shipped) {
                if concern.severity() == image::Severity::Warning {
                    warnings.push(format!("bootstrap: {}", concern.message(runtime)));
                }
            }
        }
        None => notes.push(
            "bootstrap is not an ELF binary (a script?): lamina ships it as it is, executable"
                .to_string(),
        ),
    }
    if folder == root
        && tree
            .entries
            .iter()
            .any(|entry| super::shake::build_input(&entry.path))
    {
        notes.push(CUSTOM_BUILD_INPUTS_NOTE.to_string());
    }
    let name = crate::scan::function_name(&root)?;
    let handler = Handler {
        spec: options
            .handler
            .clone()
            .unwrap_or_else(|| layout::BOOTSTRAP.to_string()),
        file: layout::BOOTSTRAP.to_string(),
        origin: match options.handler {
            Some(_) => Origin::Flag,
            None => Origin::Inferred(located.origin.to_string()),
        },
    };
    let output_folder = output_folder(&folder, options);
    let imports = Imports {
        notes,
        ..Imports::default()
    };
    Ok(Inventory {
        function: Function {
            name,
            root: folder,
            runtime,
            runtime_origin,
            arch: options.arch,
            handler,
        },
        files: tree.entries,
        packages: Vec::new(),
        imports,
        output_folder,
        warnings,
        platform: Default::default(),
        ecosystem: EcosystemInventory::Custom(Box::new(CustomInventory {
            bootstrap,
            facts,
            source: located.relative,
        })),
        scan_cache: Default::default(),
    })
}
