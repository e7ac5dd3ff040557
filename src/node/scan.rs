//! Scan of a Node.js function folder: `package.json`, the installed `node_modules` and their
//! resolved dependency edges, the runtime and handler, what the handler's code imports, and
//! (`--shake files`) the file-level trace.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::{imports, packages as node, trace};
use crate::error::{Error, Result};
use crate::model::{
    EcosystemInventory, Function, Handler, Imports, Inventory, Language, NodeInventory, Origin,
    Owner, Runtime,
};
use crate::scan::walk;
use crate::scan::{ScanOptions, bounds, flagged_handler, output_folder, split_handler};

/// Scans a Node.js function folder: `path` as the user gave it, `root` its canonical form.
pub fn scan(path: &Path, root: PathBuf, options: &ScanOptions) -> Result<Inventory> {
    if options.site_packages.is_some() {
        return Err(Error::Usage(format!(
            "--site-packages: {} is a Node.js function; the flag is for Python functions",
            path.display()
        )));
    }
    let manifest_path = root.join("package.json");
    if !manifest_path.is_file() {
        // A project folder given instead of its project file.
        if let Some(template) = [
            "template.yaml",
            "template.yml",
            "serverless.yml",
            "serverless.yaml",
        ]
        .iter()
        .map(|name| path.join(name))
        .find(|file| file.is_file())
        {
            return Err(Error::input(
                path,
                format!(
                    "not a function folder, but it holds {}: build its functions with `lamina build {}`",
                    template
                        .file_name()
                        .and_then(|name| name.to_str())
                        .unwrap_or(""),
                    template.display()
                ),
            ));
        }
        return Err(Error::input(
            path,
            "no package.json and no Python handler: lamina needs a Node.js function folder (package.json and its installed node_modules) or a Python one (a handler such as lambda_function.py, with its dependencies in package/, a .venv or --site-packages)",
        ));
    }
    // The walk first: it refuses links that leave the project before anything is read.
    let mut tree = walk::walk(&root, &bounds(&root, options, None))?;
    if let Some(refused) = tree.refused.first() {
        return Err(refused.error());
    }
    let manifest = node::read_manifest(&manifest_path, node::ManifestRole::Function)?;
    let mut packages = node::packages(&mut tree)?;
    node::apply_lockfile(&root, &mut packages)?;

    let resolver = node::Resolver::new(&packages, &tree.links);
    let resolved: Vec<_> = packages
        .iter()
        .map(|package| {
            node::resolve_dependencies(&resolver, &package.path, package.manifest(), false)
        })
        .collect();
    let dependencies = node::resolve_dependencies(&resolver, "", &manifest, true);
    let root_dependencies: std::collections::HashSet<&str> = manifest
        .dependencies
        .keys()
        .chain(manifest.optional_dependencies.keys())
        .map(String::as_str)
        .collect();
    let memo = crate::scan::memo::Memo::open(
        options.cache.as_deref(),
        &root,
        "node named references",
        &node::named_references_context(&packages),
    );
    let named = node::named_references(
        &tree.entries,
        &packages,
        &resolver,
        &root_dependencies,
        &memo,
    )?;
    let scan_cache = memo.stats();
    if options.remember {
        memo.save();
    }
    for (package, resolved) in packages.iter_mut().zip(resolved) {
        package.dependencies = resolved;
    }

    let name = crate::scan::function_name(&root)?;
    let (runtime, runtime_origin) = runtime(options.runtime, &manifest);
    let handler = handler(&root, options.handler.as_deref(), &manifest, &tree)?;
    let imports = user_imports(&tree, &handler.file)?;
    let output_folder = output_folder(&root, options);

    let trace = if options.trace {
        // The function's own production dependencies: what a package may load by a name
        // its caller gives in ways no string shows (express's view engine by extension).
        let declared: Vec<String> = manifest
            .dependencies
            .keys()
            .chain(manifest.optional_dependencies.keys())
            .cloned()
            .collect();
        Some(trace::trace(
            &root,
            &tree.entries,
            &packages,
            &handler.file,
            &declared,
            runtime,
            options.arch,
        )?)
    } else {
        None
    };
    Ok(Inventory {
        function: Function {
            name,
            root,
            runtime,
            runtime_origin,
            arch: options.arch,
            handler,
        },
        files: tree.entries,
        packages,
        imports,
        output_folder,
        warnings: tree.warnings,
        platform: Default::default(),
        ecosystem: EcosystemInventory::Node(Box::new(NodeInventory {
            manifest,
            dependencies,
            named,
            trace,
        })),
        scan_cache,
    })
}

/// `--runtime`, else `engines.node`, else the default.
fn runtime(flag: Option<Runtime>, manifest: &crate::model::Manifest) -> (Runtime, Origin) {
    if let Some(runtime) = flag {
        return (runtime, Origin::Flag);
    }
    if let Some(range) = &manifest.engines_node
        && let Some(runtime) = runtime_for_range(range)
    {
        return (
            runtime,
            Origin::Inferred(format!("package.json engines.node \"{range}\"")),
        );
    }
    (Runtime::DEFAULT_NODE, Origin::Default)
}

/// The runtime an `engines.node` range asks for: `>=18` allows the default; `18.x`, `^20`
/// and `~22.1` name one major version.
pub fn runtime_for_range(range: &str) -> Option<Runtime> {
    let digits: String = range
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect();
    let major: u32 = digits.parse().ok()?;
    if range.trim_start().starts_with(">") {
        if Runtime::DEFAULT_NODE.node_major() >= major {
            return Some(Runtime::DEFAULT_NODE);
        }
        return Runtime::ALL
            .into_iter()
            .find(|runtime| runtime.node_major() >= major);
    }
    Runtime::ALL
        .into_iter()
        .find(|runtime| major > 0 && runtime.node_major() == major)
}

/// Finds the handler file from `--handler`, else `main`, else the usual names.
fn handler(
    root: &Path,
    flag: Option<&str>,
    manifest: &crate::model::Manifest,
    tree: &walk::Tree,
) -> Result<Handler> {
    // The walk's entries are sorted by path.
    let exists = |path: &str| {
        tree.entries
            .binary_search_by(|entry| entry.path.as_str().cmp(path))
            .is_ok()
    };
    if let Some(spec) = flag {
        let (module, _) = split_handler(spec, "FILE.EXPORT", "index.handler or src/app.main")?;
        let tried = crate::lambda::handler::files(Language::Node, module);
        return flagged_handler(root, spec, &tried, exists);
    }
    if let Some(main) = &manifest.main {
        let main = main.trim_start_matches("./");
        let candidates = [
            main.to_string(),
            format!("{main}.js"),
            format!("{main}/index.js"),
        ];
        if let Some(file) = candidates.iter().find(|path| exists(path))
            && let Some((module, _)) = file.rsplit_once('.')
        {
            return Ok(Handler {
                spec: format!("{module}.handler"),
                file: file.clone(),
                origin: Origin::Inferred("package.json main".to_string()),
            });
        }
    }
    for stem in ["index", "handler", "app"] {
        for ext in crate::lambda::handler::NODE_EXTENSIONS {
            let file = format!("{stem}.{ext}");
            if exists(&file) {
                return Ok(Handler {
                    spec: format!("{stem}.handler"),
                    file,
                    origin: Origin::Inferred("usual file name".to_string()),
                });
            }
        }
    }
    Err(Error::input(
        root,
        "no handler file found (looked for package.json main, index.js, handler.js, app.js and their .mjs/.cjs forms); pass --handler FILE.EXPORT",
    ))
}

/// Reads and parses every JS/TS file of the user's own code, in parallel.
/// Only the scripts the handler loads count (`import`/`require` of relative files, followed
/// from the handler): infrastructure code beside it (a CDK app's `bin/app.ts` and
/// `lib/*-stack.ts`, which import `aws-cdk-lib`) never runs on Lambda. Scripts under
/// `config/` count too: the `config` package loads them by a computed path. When the
/// handler's code loads a file lamina cannot follow, every script counts, and a note says why.
fn user_imports(tree: &walk::Tree, handler: &str) -> Result<Imports> {
    let files: Vec<_> = tree
        .entries
        .iter()
        .filter(|entry| entry.owner == Owner::User && entry.link_target.is_none())
        .filter(|entry| {
            !entry
                .path
                .split('/')
                .any(|part| part == "node_modules" || part.starts_with('.'))
        })
        .filter(|entry| imports::is_script(&entry.path))
        .collect();
    let results: Vec<Result<(String, imports::FileImports)>> = files
        .par_iter()
        .map(|entry| {
            let bytes = crate::input::read(&entry.source, Some(entry.bytes))?;
            let text = String::from_utf8_lossy(&bytes);
            Ok((entry.path.clone(), imports::extract(&entry.path, &text)))
        })
        .collect();
    let mut parsed: Vec<(String, imports::FileImports)> = Vec::new();
    for result in results {
        parsed.push(result?);
    }
    let scripts: std::collections::HashMap<&str, usize> = parsed
        .iter()
        .enumerate()
        .map(|(index, (path, _))| (path.as_str(), index))
        .collect();
    let mut reached = vec![false; parsed.len()];
    let mut queue: Vec<usize> = parsed
        .iter()
        .enumerate()
        .filter(|(_, (path, _))| path == handler || path.starts_with("config/"))
        .map(|(index, _)| index)
        .collect();
    let mut every_script: Option<String> = None;
    if !scripts.contains_key(handler) {
        every_script = Some(format!(
            "the handler {handler} is not a script lamina reads"
        ));
    }
    for &index in &queue {
        reached[index] = true;
    }
    while let Some(index) = queue.pop() {
        let (path, found) = &parsed[index];
        if let Some(site) = found.dynamic.first() {
            every_script
                .get_or_insert_with(|| format!("{path}:{site} loads code lamina cannot follow"));
        }
        for specifier in &found.specifiers {
            if !(specifier.starts_with("./") || specifier.starts_with("../")) {
                continue;
            }
            // Data (`./data.json`), a native addon: no imports to follow.
            let last = specifier.rsplit('/').next().unwrap_or(specifier);
            if let Some((_, extension)) = last.rsplit_once('.')
                && !["js", "mjs", "cjs"].contains(&extension)
                && !extension.chars().all(|c| c.is_ascii_digit())
            {
                continue;
            }
            match resolve_relative(&scripts, walk::parent(path), specifier) {
                Some(next) => {
                    if !reached[next] {
                        reached[next] = true;
                        queue.push(next);
                    }
                }
                None => {
                    every_script.get_or_insert_with(|| {
                        format!("{path} imports {specifier}, which is no script lamina reads")
                    });
                }
            }
        }
    }
    let mut imports = Imports::default();
    match &every_script {
        Some(why) => imports.notes.push(format!(
            "every script of your code counts for its imports: {why}"
        )),
        None => {
            let unreached: Vec<&str> = parsed
                .iter()
                .zip(&reached)
                .filter(|(_, reached)| !**reached)
                .map(|((path, _), _)| path.as_str())
                .collect();
            if !unreached.is_empty() {
                imports.notes.push(format!(
                    "{} script(s) of your code are not loaded by the handler, so their imports do not keep packages (they still ship): {}",
                    unreached.len(),
                    crate::model::first_few(&unreached)
                ));
            }
        }
    }
    for ((path, found), reached) in parsed.into_iter().zip(reached) {
        if !reached && every_script.is_none() {
            continue;
        }
        for specifier in found.specifiers {
            if is_bare(&specifier) {
                let name = node::package_name(&specifier).to_string();
                imports
                    .first_importer
                    .entry(name.clone())
                    .or_insert_with(|| path.clone());
                imports.packages.insert(name);
            }
        }
        imports.dynamic.extend(
            found
                .dynamic
                .into_iter()
                .map(|site| format!("{path}:{site}")),
        );
    }
    Ok(imports)
}

/// The user script a relative specifier names from `folder`, as Node would find it: the file,
/// with an extension added, or a folder's index.
fn resolve_relative(
    scripts: &std::collections::HashMap<&str, usize>,
    folder: &str,
    specifier: &str,
) -> Option<usize> {
    let mut parts: Vec<&str> = folder.split('/').filter(|part| !part.is_empty()).collect();
    for part in specifier.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            part => parts.push(part),
        }
    }
    let base = parts.join("/");
    let candidates = [
        base.clone(),
        format!("{base}.js"),
        format!("{base}.mjs"),
        format!("{base}.cjs"),
        format!("{base}/index.js"),
        format!("{base}/index.mjs"),
        format!("{base}/index.cjs"),
    ];
    candidates
        .iter()
        .find_map(|candidate| scripts.get(candidate.as_str()).copied())
}

/// A specifier naming a package, not a relative file, an absolute path, a URL or a builtin.
fn is_bare(specifier: &str) -> bool {
    !(specifier.starts_with('.')
        || specifier.starts_with('/')
        || specifier.starts_with("node:")
        || specifier.contains("://")
        || specifier.starts_with('#')
        || specifier.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engines_ranges_pick_a_runtime() {
        assert_eq!(runtime_for_range(">=18"), Some(Runtime::DEFAULT_NODE));
        assert_eq!(runtime_for_range(">=24"), Some(Runtime::Nodejs24));
        assert_eq!(runtime_for_range("20.x"), Some(Runtime::Nodejs20));
        assert_eq!(runtime_for_range("^18.17.0"), Some(Runtime::Nodejs18));
        assert_eq!(runtime_for_range("16"), None);
        assert_eq!(runtime_for_range("latest"), None);
    }

    #[test]
    fn only_bare_specifiers_name_packages() {
        assert!(is_bare("express"));
        assert!(is_bare("@aws-sdk/client-s3"));
        assert!(!is_bare("./lib"));
        assert!(!is_bare("node:fs"));
        assert!(!is_bare("#internal"));
    }
}
