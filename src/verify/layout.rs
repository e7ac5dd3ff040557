//! Where the runtime looks: the handler file in the function or a layer, a custom runtime's
//! `bootstrap`, the folders of a Node or Python layer, and files a later layer overwrites.

use std::collections::BTreeMap;

use crate::model::{Finding, Runtime};
use crate::verify::findings::{HANDLER_MISSING, HANDLER_NO_BOOTSTRAP, LAYER_OVERWRITE};
use crate::verify::zipcheck::{Contents, Kind};

/// A layer as the checks see it: its name and what its zip holds.
pub struct Layer<'a> {
    pub name: &'a str,
    pub contents: &'a Contents,
}

/// Checks that the handler's file is where the runtime loads it from: for Node, the function's
/// own folder (`src/index.handler` → `src/index.js`, `.mjs` or `.cjs`); for Python, the
/// function's folder or a layer's `python/` or `python/lib/python3.X/site-packages/`
/// (`pkg.app.handler` → `pkg/app.py`). With no runtime known, any of those in the function.
pub fn handler(
    spec: &str,
    runtime: Option<Runtime>,
    function: &Contents,
    layers: &[Layer<'_>],
) -> Option<Finding> {
    if runtime.is_some_and(crate::lambda::handler::starts_bootstrap) {
        // A custom runtime's bootstrap decides what the handler means.
        return None;
    }
    let Some((module, _export)) = crate::lambda::handler::split(spec) else {
        return Some(HANDLER_MISSING.at(
            None,
            format!("handler {spec:?} is not FILE.FUNCTION (such as index.handler)"),
        ));
    };
    let mut candidates: Vec<(Option<&str>, String)> = Vec::new();
    // The layer folder to name when the handler may come from a layer (Python's `python/`).
    let mut layer_folder: Option<String> = None;
    for language in crate::lambda::handler::languages(runtime) {
        let files = crate::lambda::handler::files(language, module);
        candidates.extend(files.iter().map(|file| (None, file.clone())));
        let roots = crate::lambda::handler::layer_folders(language, runtime);
        if runtime.is_some() {
            layer_folder =
                layer_folder.or_else(|| roots.iter().min_by_key(|root| root.len()).cloned());
        }
        for layer in layers {
            for root in &roots {
                for file in &files {
                    candidates.push((Some(layer.name), format!("{root}/{file}")));
                }
            }
        }
    }
    let function_files = function.loadable();
    let found = candidates.iter().any(|(layer, path)| match layer {
        None => function_files.contains(path.as_str()),
        Some(name) => layers
            .iter()
            .find(|layer| layer.name == *name)
            .is_some_and(|layer| layer.contents.loadable().contains(path.as_str())),
    });
    if found {
        return None;
    }
    let function_paths: Vec<&str> = candidates
        .iter()
        .filter(|(layer, _)| layer.is_none())
        .map(|(_, path)| path.as_str())
        .collect();
    let where_ = match layer_folder.filter(|_| !layers.is_empty()) {
        Some(folder) => format!("in the function zip or under a layer's {folder}/ folder"),
        None => "in the function zip".to_string(),
    };
    Some(HANDLER_MISSING.at(
        None,
        format!(
            "handler {spec}: none of {} is {where_}",
            function_paths.join(", ")
        ),
    ))
}

/// A custom runtime (`provided.*`) starts `bootstrap` from the function's root or a layer's.
pub fn bootstrap(runtime: Runtime, function: &Contents, layers: &[Layer<'_>]) -> Option<Finding> {
    if !crate::lambda::handler::starts_bootstrap(runtime) {
        return None;
    }
    let present = std::iter::once(function)
        .chain(layers.iter().map(|layer| layer.contents))
        .any(|contents| contents.loadable().contains("bootstrap"));
    (!present).then(|| {
        HANDLER_NO_BOOTSTRAP.at(
            None,
            format!("{runtime} starts /var/task/bootstrap or /opt/bootstrap, and neither the function nor a layer has one"),
        )
    })
}

/// Checks that a layer's packages are where the runtime's module search finds them under
/// `/opt`: the runtime's ecosystem knows which of its files the search must find.
pub fn layer_layout(layer: &Contents, runtime: Runtime) -> Option<Finding> {
    let files: Vec<&str> = layer
        .entries
        .iter()
        .filter(|entry| entry.kind != Kind::Dir)
        .map(|entry| entry.path.as_str())
        .collect();
    crate::ecosystem::for_language(runtime.language())?.layer_layout(&files, runtime)
}

/// Layers are extracted into `/opt` in attach order and a later layer's file replaces an
/// earlier one's: one warning per pair of layers, on the later one.
pub fn overwrites(layers: &[Layer<'_>]) -> Vec<Vec<Finding>> {
    let mut owner: BTreeMap<&str, usize> = BTreeMap::new();
    let mut found = Vec::new();
    for (position, layer) in layers.iter().enumerate() {
        // Per earlier layer: how many files, and the first.
        let mut replaced: BTreeMap<usize, (usize, &str)> = BTreeMap::new();
        for entry in &layer.contents.entries {
            if entry.kind == Kind::Dir {
                continue;
            }
            if let Some(&earlier) = owner.get(entry.path.as_str())
                && earlier != position
            {
                let slot = replaced.entry(earlier).or_insert((0, entry.path.as_str()));
                slot.0 += 1;
            }
            owner.insert(entry.path.as_str(), position);
        }
        found.push(
            replaced
                .into_iter()
                .map(|(earlier, (count, first))| {
                    LAYER_OVERWRITE.at(
                        Some(first),
                        format!(
                            "layer {} (attached after {}) overwrites {count} of its files in /opt",
                            layer.name, layers[earlier].name
                        ),
                    )
                })
                .collect(),
        );
    }
    found
}
