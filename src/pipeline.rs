//! The pipeline: what each command runs, in order. `run` (scan, build) takes each function
//! through scan, shake, dedupe, package, verify and smoke, and builds the report from what the
//! stages return; `check` verifies zips; `why` explains one decision.

use std::collections::BTreeSet;

use crate::config::{self, Command, Config};
use crate::error::{Error, Result};
use crate::model::{self, Inventory, Plan};
use crate::report::{self, Report};
use crate::{dedupe, input, package, scan, shake, smoke, verify};

/// One function to scan: its folder and what a project file says about it.
fn function_specs(
    config: &Config,
) -> Result<(
    Vec<config::project::FunctionSpec>,
    config::project::LayerSettings,
    bool,
)> {
    let mut specs = Vec::new();
    let mut settings = config::project::LayerSettings::default();
    let mut from_project = false;
    for path in &config.paths {
        match config::project::kind(path) {
            Some(file) => {
                let project = config::project::load(&file)?;
                settings = project.layers.clone();
                from_project = true;
                specs.extend(project.functions);
            }
            None => {
                let mut spec = config::project::FunctionSpec {
                    path: path.clone(),
                    ..Default::default()
                };
                if config.handler.is_none() {
                    template_handler(path, &mut spec)?;
                }
                specs.push(spec);
            }
        }
    }
    Ok((specs, settings, from_project))
}

/// A function folder given alone, without `--handler`: a SAM template or `serverless.yml` in it
/// or a folder above it (up to its project's boundary) that builds a function from this folder
/// says its handler (and runtime, when the flag does not). Several that disagree are an error
/// listing them. A template that does not parse is not this function's concern.
fn template_handler(
    folder: &std::path::Path,
    spec: &mut config::project::FunctionSpec,
) -> Result<()> {
    let Ok(root) = folder.canonicalize() else {
        return Ok(());
    };
    let boundary = scan::walk::project_boundary(&root);
    let mut found: Vec<(std::path::PathBuf, config::project::FunctionSpec)> = Vec::new();
    for dir in root.ancestors() {
        for name in [
            "template.yaml",
            "template.yml",
            "serverless.yml",
            "serverless.yaml",
        ] {
            let file = dir.join(name);
            if !file.is_file() {
                continue;
            }
            let Ok(project) = config::project::load(&file) else {
                continue;
            };
            for function in project.functions {
                if function.handler.is_some()
                    && function.path.canonicalize().is_ok_and(|path| path == root)
                {
                    found.push((file.clone(), function));
                }
            }
        }
        if dir == boundary {
            break;
        }
    }
    let handlers: BTreeSet<&str> = found
        .iter()
        .filter_map(|(_, function)| function.handler.as_deref())
        .collect();
    match handlers.len() {
        0 => {}
        1 => {
            let (file, function) = &found[0];
            spec.handler = function.handler.clone();
            spec.runtime = spec.runtime.or(function.runtime);
            spec.notes.push(format!(
                "handler {} and runtime from {} (function {})",
                function.handler.as_deref().unwrap_or(""),
                file.display(),
                function.name
            ));
        }
        _ => {
            let listed: Vec<String> = found
                .iter()
                .map(|(file, function)| {
                    format!(
                        "{} in {} ({})",
                        function.handler.as_deref().unwrap_or(""),
                        file.display(),
                        function.name
                    )
                })
                .collect();
            return Err(Error::Usage(format!(
                "{}: templates name several handlers for this folder: {}; pass --handler",
                folder.display(),
                listed.join(", ")
            )));
        }
    }
    Ok(())
}

/// The SHA-256 of every kept file as it will ship, for dedupe's identity by content. A pyc the
/// package stage rewrites is identified by its magic number and its source's bytes: pip embeds
/// the absolute path it compiled from (`co_filename`) and the source's mtime, so two installs of
/// the same wheel never match byte for byte, yet Python replaces `co_filename` on load and the
/// rewrite replaces the header, so either copy behaves the same. With `--compile` a `.py`, and
/// with `--strip` an extension module, is marked as such: those flags change what ships beside
/// or instead of it, and a layer's name must change with its bytes.
///
/// Layers must be planned (and every function scanned) before anything is written, so these
/// digests cannot wait for the writer's read, and holding the bytes until then would make
/// memory grow with the input. With the cache, a build reads each plain file once, here:
/// `precompress` compresses the bytes read as the writer would and puts the record in the
/// cache, and `known` tells the writer the digest (for the stamp scan saw, if the open file
/// still had it), so it takes the record without opening the file. A plain file's digest is
/// also remembered by its stamp (`stamps`), so an unchanged file is not read at all the next
/// time. Without the cache the writer reads the file again. `known` is filled either way:
/// preflight does not open a file just read at the stamp scan saw, and `lamina plan` takes
/// the contents it records from it (`shard::kept_contents`).
fn kept_digests(
    inventory: &Inventory,
    plan: &Plan,
    stage: crate::ecosystem::Stage,
    stamps: Option<&package::stamps::Stamps>,
    precompress: Option<(&package::cache::Cache, model::Compression)>,
    known: &std::sync::Mutex<package::zip::Known>,
) -> Result<Vec<Option<[u8; 32]>>> {
    use rayon::prelude::*;
    use sha2::{Digest, Sha256};
    let ecosystem = crate::ecosystem::of(inventory);
    let digest = |index: usize| -> Result<Option<[u8; 32]>> {
        let file = &inventory.files[index];
        if !plan.files[index].keep || file.link_target.is_some() {
            return Ok(None);
        }
        let recipe = ecosystem.digest_recipe(inventory, plan, stage, index);
        // A plain file's digest is its content's: the one the memo remembers.
        let remembered = stamps.zip(file.stamp.as_ref()).filter(|_| recipe.plain());
        let tell_writer = |stamp: package::stamps::Stamp, digest: [u8; 32]| {
            if recipe.plain() && file.stamp == Some(stamp) {
                known
                    .lock()
                    .expect("known digests lock")
                    .insert(file.source.clone(), (stamp, digest));
            }
        };
        if let Some((stamps, stamp)) = remembered
            && let Some(digest) = stamps.digest(&file.source, stamp)
        {
            tell_writer(*stamp, digest);
            return Ok(Some(digest));
        }
        // The stamp of the open file, taken before reading, as the writer's memo takes it.
        let mut opened = input::open(&file.source, Some(file.bytes))?;
        let opened_stamp = package::stamps::Stamp::of(&opened.metadata()?);
        let bytes = opened.read_all()?;
        let mut hasher = Sha256::new();
        for mark in &recipe.marks {
            hasher.update(mark);
        }
        match recipe.pyc_source {
            // Past a pyc's 16-byte header.
            Some(source) if bytes.len() >= 16 => {
                hasher.update(b"unchecked-hash pyc\0");
                hasher.update(&bytes[..4]);
                let source = &inventory.files[source];
                hasher.update(input::read(&source.source, Some(source.bytes))?);
            }
            _ => hasher.update(&bytes),
        }
        let digest: [u8; 32] = hasher.finalize().into();
        if let Some((stamps, stamp)) = remembered {
            stamps.record(&file.source, *stamp, digest);
        }
        if recipe.plain() {
            if let Some((cache, compression)) = precompress {
                package::zip::precompress(cache, compression, &bytes, &digest);
            }
            tell_writer(opened_stamp, digest);
        }
        Ok(Some(digest))
    };
    (0..inventory.files.len())
        .into_par_iter()
        .map(digest)
        .collect()
}

/// Scans and shakes one function as `config` and its spec say; `names` holds the names of
/// the functions scanned before it, which it must not repeat.
fn scan_function(
    config: &Config,
    spec: &config::project::FunctionSpec,
    names: &mut BTreeSet<String>,
) -> Result<(Inventory, Plan)> {
    let options = scan::ScanOptions {
        handler: config.handler.clone().or_else(|| spec.handler.clone()),
        runtime: config.runtime.or(spec.runtime),
        arch: spec.arch.unwrap_or(config.arch),
        output: (config.command == Command::Build).then(|| config.out.clone()),
        site_packages: config
            .site_packages
            .clone()
            .or_else(|| spec.site_packages.clone()),
        // `scan` traces too, to say what `--shake files` would save.
        trace: spec.shake.unwrap_or(config.shake) == model::ShakeMode::Files
            || config.command == Command::Scan,
        allow_outside: config
            .allow_outside
            .iter()
            .chain(&spec.allow_outside)
            .cloned()
            .collect(),
        cache: config.cache.clone(),
        remember: config.command == Command::Build,
    };
    let shake_options = shake::ShakeOptions {
        mode: spec.shake.unwrap_or(config.shake),
        drop_runtime_sdk: config.drop_runtime_sdk,
        bytecode: config.bytecode,
    };
    let mut inventory = scan::scan(&spec.path, &options)?;
    if !spec.name.is_empty() {
        inventory.function.name = spec.name.clone();
    }
    inventory.warnings.extend(spec.unresolved.iter().cloned());
    if let Some(environment) = &spec.environment {
        inventory
            .warnings
            .extend(environment.unresolved.iter().map(|entry| {
                format!("environment variable {entry}; the env limit counts its name only")
            }));
    }
    if !spec.declared_layers.is_empty() {
        inventory.warnings.push(format!(
            "the template attaches layers lamina did not read: {}",
            spec.declared_layers.join(", ")
        ));
    }
    if !names.insert(inventory.function.name.clone()) {
        return Err(Error::Usage(format!(
            "two functions are named {:?} (the zip is named after the folder); build them in separate runs",
            inventory.function.name
        )));
    }
    let mut plan = shake::shake(&inventory, &shake_options)?;
    if config.command == Command::Scan {
        plan.notes
            .extend(next_steps(&inventory, &plan, &shake_options)?);
    }
    // After shake, so a pattern only narrows what shake keeps and its guards see which
    // packages stay.
    shake::patterns::apply(&inventory, &mut plan, &spec.package_patterns, &spec.path)?;
    plan.notes.extend(spec.notes.iter().cloned());
    Ok((inventory, plan))
}

/// Plans the shared layers of a build (`build` and `plan`) when they are on and there are
/// several functions.
fn plan_layers(
    config: &Config,
    settings: &config::project::LayerSettings,
    from_project: bool,
    planned: &[(Inventory, Plan)],
) -> Result<(
    Option<dedupe::LayerPlan>,
    std::sync::Arc<package::zip::Known>,
)> {
    let mode = config.layers.unwrap_or(if from_project {
        settings.mode
    } else {
        config::project::LayerMode::None
    });
    if config.command == Command::Scan
        || mode != config::project::LayerMode::Auto
        || planned.len() < 2
    {
        return Ok((None, Default::default()));
    }
    let cache = config.cache.as_ref().map(package::cache::Cache::new);
    // A build writes what it reads here: the records go to the cache, the digests to the
    // writer (`kept_digests`).
    let precompress = cache
        .as_ref()
        .filter(|_| config.command == Command::Build)
        .map(|cache| (cache, config.compression));
    let known = std::sync::Mutex::new(package::zip::Known::new());
    let digests = planned
        .iter()
        .map(|(inventory, plan)| {
            // A memo of its own beside the function zip's, named after that zip.
            let stamps = cache.as_ref().map(|cache| {
                let name = format!("{}.zip (layer planning)", inventory.function.name);
                cache.stamps(&config.out.join(name))
            });
            let digests = kept_digests(
                inventory,
                plan,
                crate::ecosystem::Stage {
                    compile: config.compile,
                    strip: config.strip,
                    bytecode: config.bytecode,
                },
                stamps.as_ref(),
                precompress,
                &known,
            );
            if let Some(stamps) = stamps {
                stamps.save();
            }
            digests
        })
        .collect::<Result<Vec<_>>>()?;
    if let Some(cache) = &cache {
        cache.finish();
    }
    let inputs: Vec<dedupe::Input<'_>> = planned
        .iter()
        .zip(&digests)
        .map(|((inventory, plan), digests)| dedupe::Input {
            inventory,
            plan,
            digests,
        })
        .collect();
    let layer_plan = dedupe::plan_layers(
        &inputs,
        &dedupe::Options {
            min_functions: settings.min_functions,
            ..Default::default()
        },
    );
    Ok((
        Some(layer_plan),
        std::sync::Arc::new(known.into_inner().expect("known digests lock")),
    ))
}

/// What `lamina plan` wrote: the plan, and whether every function fits Lambda's limits with
/// its layers as far as a plan can tell (the kept files' bytes; the zips do not exist yet).
#[derive(Debug, Clone)]
pub struct Planned {
    pub plan: crate::shard::ShardPlan,
    /// `NAME: what is over`, for each function over a limit.
    pub over: Vec<String>,
}

/// `lamina plan`: scans and shakes every function, plans the layers, and writes the plan of a
/// sharded build to `config.out` (atomically); writes nothing else.
pub fn plan(config: &Config) -> Result<Planned> {
    let (specs, settings, from_project) = function_specs(config)?;
    // lamina never packs what it writes: a plan inside a function folder would ship (and
    // change what the next plan sees), unless its name is one the walk never enters.
    let outputs = std::iter::once(("--out", &config.out, ".lamina-plan.json")).chain(
        config
            .keys
            .iter()
            .map(|keys| ("--keys", keys, ".lamina-keys")),
    );
    for (flag, given, own) in outputs {
        let out = scan::absolute_canonical(given);
        let own_name = out
            .file_name()
            .and_then(|name| name.to_str())
            .is_some_and(|name| name.starts_with(scan::walk::OWN_PREFIX));
        for spec in &specs {
            if let Ok(root) = spec.path.canonicalize()
                && out.starts_with(&root)
                && !own_name
            {
                return Err(Error::Usage(format!(
                    "{flag} {}: inside the function folder {}, where the next build would pack it; write it elsewhere, or name it {own}",
                    given.display(),
                    spec.path.display()
                )));
            }
        }
    }
    let mut planned = Vec::new();
    let mut names = BTreeSet::new();
    for spec in &specs {
        planned.push(scan_function(config, spec, &mut names)?);
    }
    let (layer_plan, known) = plan_layers(config, &settings, from_project, &planned)?;
    // What layer planning read is not read again.
    let known = std::sync::Mutex::new(std::sync::Arc::unwrap_or_clone(known));
    let contents = planned
        .iter()
        .map(|(inventory, plan)| crate::shard::kept_contents(inventory, plan, &known))
        .collect::<Result<Vec<_>>>()?;
    let folders: Vec<std::path::PathBuf> = specs.iter().map(|spec| spec.path.clone()).collect();
    let shard =
        crate::shard::ShardPlan::new(config, &folders, &planned, &contents, layer_plan.as_ref())?;
    let mut over = Vec::new();
    for (index, (inventory, plan)) in planned.iter().enumerate() {
        let moved = layer_plan
            .as_ref()
            .map_or(plan, |layers| &layers.plans[index]);
        let layers: Vec<&dedupe::PlannedLayer> = layer_plan
            .iter()
            .flat_map(|layers| layers.attached[index].iter().map(|&l| &layers.layers[l]))
            .collect();
        let total = moved.kept_bytes(inventory)
            + layers.iter().map(|layer| layer.unzipped_bytes).sum::<u64>();
        if total > crate::lambda::limits::UNZIPPED {
            over.push(format!(
                "{}: {} unzipped with its layers, over Lambda's {}",
                inventory.function.name,
                model::human_bytes(total),
                model::human_bytes(crate::lambda::limits::UNZIPPED)
            ));
        }
        if layers.len() as u64 > crate::lambda::limits::LAYERS {
            over.push(format!(
                "{}: {} layers, over Lambda's {}",
                inventory.function.name,
                layers.len(),
                crate::lambda::limits::LAYERS
            ));
        }
    }
    if let Some(keys) = &config.keys {
        write_keys(keys, &shard)?;
    }
    write_atomically(&config.out, shard.to_json().as_bytes())?;
    Ok(Planned { plan: shard, over })
}

/// `plan --keys DIR`: each output's key as `DIR/NAME.key`, and the `.key` files of names the
/// plan no longer has removed (a layer is named by its contents: a stale key would still
/// serve its old zip to a CI cache).
fn write_keys(keys: &std::path::Path, shard: &crate::shard::ShardPlan) -> Result<()> {
    let computed = shard
        .names
        .iter()
        .map(|name| Ok((format!("{name}.key"), shard.key(name)?)))
        .collect::<Result<Vec<_>>>()?;
    crate::fs::create_dir_all(keys)?;
    for entry in crate::fs::read_dir(keys)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let stale = name.ends_with(".key") && !computed.iter().any(|(file, _)| *file == name);
        if stale && entry.file_type().is_ok_and(|kind| kind.is_file()) {
            crate::fs::remove_file(entry.path())?;
        }
    }
    for (file, key) in &computed {
        write_atomically(&keys.join(file), format!("{key}\n").as_bytes())?;
    }
    Ok(())
}

/// Runs a command over every function of the configuration.
///
/// Every function is scanned and shaken (and layers planned) before anything is written, so
/// bad input fails the run with nothing written. With `--plan`, only the functions the
/// outputs asked for read are scanned, each checked against the plan, and the plan's layers
/// are used instead of planning them again.
pub fn run(config: &Config) -> Result<Report> {
    let (specs, settings, from_project) = function_specs(config)?;
    let stacks = stacks(&config.paths)?;
    if config.command == Command::Build {
        // lamina never packs what it writes: an output folder that is a function folder
        // would hold the next build's input.
        let out = scan::absolute_canonical(&config.out);
        for spec in &specs {
            if spec.path.canonicalize().is_ok_and(|root| root == out) {
                return Err(Error::Usage(format!(
                    "--out {}: that is the function folder {}; lamina would pack its own output there. Choose another folder (the default is ./lamina-out)",
                    config.out.display(),
                    spec.path.display()
                )));
            }
        }
    }
    let sharded = match (&config.plan, config.command) {
        (Some(path), Command::Build) => {
            let shard = crate::shard::ShardPlan::load(path)?;
            shard.check_settings(path, config, &specs)?;
            let selection = shard.select(&config.only)?;
            Some((path, shard, selection))
        }
        _ => None,
    };
    let mut planned: Vec<(Inventory, Plan)> = Vec::new();
    let mut environments = Vec::new();
    let mut indices = Vec::new();
    let mut names = BTreeSet::new();
    // What checking a sharded build's functions against the plan read, for the writer.
    let shard_known = std::sync::Mutex::new(package::zip::Known::new());
    for (index, spec) in specs.iter().enumerate() {
        if let Some((path, shard, selection)) = &sharded {
            if !selection.scan.contains(&index) {
                continue;
            }
            let (inventory, plan) = scan_function(config, spec, &mut names)?;
            shard.verify_function(path, selection, index, &inventory, &plan, &shard_known)?;
            planned.push((inventory, plan));
        } else {
            planned.push(scan_function(config, spec, &mut names)?);
        }
        environments.push(spec.environment.clone());
        indices.push(index);
    }
    let (layer_plan, known) = match &sharded {
        Some((_, shard, selection)) => (
            Some(shard.layer_plan(selection, &indices, &planned)?),
            std::sync::Arc::new(shard_known.into_inner().expect("known digests lock")),
        ),
        None => plan_layers(config, &settings, from_project, &planned)?,
    };
    // Every function is scanned and shaken, and its layers planned, before the first output
    // folder or file appears; a build then writes into a staging folder, moved to the final
    // names only once everything is packaged and verified.
    let staging = match config.command {
        Command::Scan | Command::Plan => None,
        Command::Build => {
            preflight(config, &planned, &known)?;
            Some(package::output::Staging::begin(&config.out)?)
        }
    };
    let write_options = package::zip::WriteOptions {
        compression: config.compression,
        cache: config.cache.as_ref().map(package::cache::Cache::new),
        staging: staging
            .as_ref()
            .map(|staging| (staging.folder().to_path_buf(), config.out.clone())),
        known,
        outputs: Default::default(),
    };
    // The names layers give their functions by: every function's, planned or built now.
    let function_names: Vec<String> = match &sharded {
        Some((_, shard, _)) => shard
            .functions
            .iter()
            .map(|function| function.name.clone())
            .collect(),
        None => planned
            .iter()
            .map(|(inventory, _)| inventory.function.name.clone())
            .collect(),
    };
    let packaged: Vec<bool> = indices
        .iter()
        .map(|index| {
            sharded
                .as_ref()
                .is_none_or(|(_, _, selection)| selection.package.contains(index))
        })
        .collect();
    let (functions, layers) = match &staging {
        None => (
            planned
                .iter()
                .map(|(inventory, plan)| {
                    report::function_report(
                        inventory,
                        plan,
                        report::Outcome::Planned(verify::planned(inventory, plan)),
                    )
                })
                .collect(),
            Vec::new(),
        ),
        Some(staging) => build(
            config,
            staging,
            &Packaging {
                planned: &planned,
                layer_plan: layer_plan.as_ref(),
                environments: &environments,
                packaged: &packaged,
                function_names: &function_names,
                write_options: &write_options,
            },
        )?,
    };
    // A shard keeps what it was asked for: the other zips it made (a layer's first function,
    // the layers a function is verified with) stay in the staging folder, which goes.
    let (functions, layers): (Vec<report::FunctionReport>, Vec<report::LayerReport>) =
        match &sharded {
            None => (functions, layers),
            Some((_, shard, selection)) => (
                functions
                    .into_iter()
                    .filter(|function| {
                        shard
                            .functions
                            .iter()
                            .position(|entry| entry.name == function.name)
                            .is_some_and(|index| selection.keep_functions.contains(&index))
                    })
                    .collect(),
                layers
                    .into_iter()
                    .filter(|layer| {
                        shard
                            .layers
                            .iter()
                            .position(|entry| entry.name == layer.name)
                            .is_some_and(|index| selection.keep_layers.contains(&index))
                    })
                    .collect(),
            ),
        };
    let command = match config.command {
        Command::Scan => "scan",
        Command::Build | Command::Plan => "build",
    };
    let report = Report::new(command, functions, layers).with_stacks(stacks.clone());
    if let Some(staging) = staging {
        let mut files: Vec<String> = report
            .functions
            .iter()
            .filter_map(|function| function.artifact.as_deref())
            .chain(report.layers.iter().map(|layer| layer.artifact.as_str()))
            .filter_map(|artifact| {
                let relative = std::path::Path::new(artifact)
                    .strip_prefix(&config.out)
                    .ok()?;
                Some(relative.to_str()?.to_string())
            })
            .collect();
        if config.only.is_empty() {
            write_atomically(
                &staging.folder().join("report.json"),
                report.to_json().as_bytes(),
            )?;
            files.push("report.json".to_string());
        } else {
            // One report per output, so that the output folders of every shard can be put
            // together without two files of one name.
            let parts = report
                .functions
                .iter()
                .map(|function| {
                    (
                        function.name.clone(),
                        Report::new("build", vec![function.clone()], Vec::new()),
                    )
                })
                .chain(report.layers.iter().map(|layer| {
                    (
                        layer.name.clone(),
                        Report::new("build", Vec::new(), vec![layer.clone()]),
                    )
                }));
            for (name, part) in parts {
                let file = format!("reports/{name}.json");
                write_atomically(
                    &staging.folder().join(&file),
                    part.with_stacks(stacks.clone()).to_json().as_bytes(),
                )?;
                files.push(file);
            }
        }
        let outputs = write_options.outputs.into_inner().expect("outputs lock");
        let in_place: Vec<(String, package::stamps::Stamp)> = outputs
            .in_place
            .iter()
            .filter_map(|(path, stamp)| {
                Some((
                    path.strip_prefix(&config.out).ok()?.to_str()?.to_string(),
                    *stamp,
                ))
            })
            .collect();
        staging.commit(&files, &in_place)?;
        let committed: Vec<std::path::PathBuf> =
            files.iter().map(|file| config.out.join(file)).collect();
        package::reuse::remember_committed(&outputs, &committed);
    }
    Ok(report)
}

/// What `scan` suggests next, with what it would save: `--shake files` (when it traces to less
/// than the current mode keeps), `--drop-runtime-sdk` (when the runtime's SDK ships) and
/// `build --strip` (when the extension modules that ship carry debug sections).
fn next_steps(
    inventory: &Inventory,
    plan: &Plan,
    options: &shake::ShakeOptions,
) -> Result<Vec<String>> {
    let kept = |plan: &Plan| -> u64 {
        inventory
            .files
            .iter()
            .zip(&plan.files)
            .filter(|(_, decision)| decision.keep)
            .map(|(file, _)| file.bytes)
            .sum()
    };
    let now = kept(plan);
    let mut steps = Vec::new();
    if options.mode == model::ShakeMode::Deps && inventory.trace().is_some() {
        let files = shake::shake(
            inventory,
            &shake::ShakeOptions {
                mode: model::ShakeMode::Files,
                ..*options
            },
        )?;
        let traced = kept(&files);
        // Worth a step only when it saves at least 1 %.
        if traced < now && (now - traced) * 100 >= now {
            steps.push(format!(
                "next step: `--shake files` would ship {} instead of {} unzipped (saves {})",
                crate::model::human_bytes(traced),
                crate::model::human_bytes(now),
                crate::model::human_bytes(now - traced)
            ));
        }
    }
    if !options.drop_runtime_sdk {
        let sdk: u64 = inventory
            .files
            .iter()
            .zip(&plan.files)
            .filter(|(file, decision)| {
                decision.keep
                    && matches!(file.owner, model::Owner::Package(id)
                        if shake::runtime_provided(inventory, &inventory.package(id).name))
            })
            .map(|(file, _)| file.bytes)
            .sum();
        if sdk > 0 {
            steps.push(format!(
                "next step: `--drop-runtime-sdk` would ship {} less unzipped (the runtime's SDK; its version there varies by region and date)",
                crate::model::human_bytes(sdk)
            ));
        }
    }
    // `build --strip`: the debug sections of the extension modules that would ship.
    let python = crate::python::facts(inventory);
    let debug: u64 = python
        .files
        .iter()
        .filter(|(index, _)| plan.files[**index].keep)
        .filter_map(|(_, fact)| fact.debug_bytes)
        .sum();
    // Worth a step only when it saves at least 1 % (and 64 KiB).
    if debug >= 64 * 1024 && debug * 100 >= now {
        steps.push(format!(
            "next step: `build --strip` would ship about {} less unzipped (the debug sections of the extension modules; `strip` on PATH)",
            crate::model::human_bytes(debug)
        ));
    }
    Ok(steps)
}

/// Opens every file the build will read (and closes it): one that cannot be read, or is no
/// longer the regular file of the size scan saw, fails the run before anything is written.
/// A file the memo of its function's zip remembers at the stamp scan saw is not opened: it
/// was read whole when remembered, and whatever could stop a read since (a new mode, owner or
/// ACL, another file in its place) would have moved its ctime or inode. The zip takes its
/// bytes from the cache without opening it. Nor is one layer planning has just read at that
/// stamp (`known`).
fn preflight(
    config: &Config,
    planned: &[(Inventory, Plan)],
    known: &package::zip::Known,
) -> Result<()> {
    use rayon::prelude::*;
    let cache = config.cache.as_ref().map(package::cache::Cache::new);
    planned.par_iter().try_for_each(|(inventory, plan)| {
        let stamps = cache
            .as_ref()
            .map(|cache| cache.stamps(&package::function_zip(&config.out, inventory)));
        inventory
            .files
            .par_iter()
            .zip(&plan.files)
            .filter(|(file, decision)| decision.keep && file.link_target.is_none())
            .filter(|(file, _)| {
                !file.stamp.as_ref().is_some_and(|stamp| {
                    package::zip::known_digest(known, &file.source, stamp).is_some()
                        || stamps
                            .as_ref()
                            .is_some_and(|stamps| stamps.knows(&file.source, stamp))
                })
            })
            .try_for_each(|(file, _)| input::open(&file.source, Some(file.bytes)).map(drop))
    })
}

/// What `build` packages: the functions scanned (with their environments, parallel), the
/// layers planned for them, which of them to package, and every function's name (for the
/// layers' reports: a sharded build's layers name functions it did not scan).
struct Packaging<'a> {
    planned: &'a [(Inventory, Plan)],
    layer_plan: Option<&'a dedupe::LayerPlan>,
    environments: &'a [Option<config::project::Environment>],
    packaged: &'a [bool],
    function_names: &'a [String],
    /// How to write: with the digests layer planning read (`kept_digests`), and what the
    /// writer left in place for the commit.
    write_options: &'a package::zip::WriteOptions,
}

/// Packages the layers, then each function, and verifies each function with its layers.
fn build(
    config: &Config,
    staging: &package::output::Staging,
    packaging: &Packaging<'_>,
) -> Result<(Vec<report::FunctionReport>, Vec<report::LayerReport>)> {
    let Packaging {
        planned,
        layer_plan,
        environments,
        packaged,
        function_names,
        write_options,
    } = *packaging;
    let out = staging.folder();
    let python = crate::ecosystem::Stage {
        compile: config.compile,
        strip: config.strip,
        bytecode: config.bytecode,
    };
    let mut layer_zips: Vec<(model::Artifact, u64)> = Vec::new();
    for layer in layer_plan.iter().flat_map(|plan| &plan.layers) {
        let artifact = write_layer(layer, planned, out, write_options, python)?;
        layer_zips.push((artifact, layer.unzipped_bytes));
    }
    let mut functions = Vec::new();
    let mut layer_checks: Vec<Option<verify::CheckedLayer>> = vec![None; layer_zips.len()];
    // Each layer zip is read once, when the first function it is attached to is checked.
    let mut layer_reads: Vec<Option<verify::ReadZip>> = vec![None; layer_zips.len()];
    // What the writer knows of a zip it wrote or left in place, for its check.
    let written = |artifact: &model::Artifact| verify::Written {
        sha256: artifact.sha256.clone(),
        memo: write_options
            .cache
            .as_ref()
            .map(|cache| cache.natives_memo(&staging.final_path(&artifact.path))),
    };
    for (index, ((inventory, original), environment)) in
        planned.iter().zip(environments).enumerate()
    {
        if !packaged[index] {
            continue;
        }
        let plan = layer_plan.map_or(original, |layers| &layers.plans[index]);
        let attached: Vec<usize> =
            layer_plan.map_or_else(Vec::new, |layers| layers.attached[index].clone());
        let (artifact, staged) = package::write(inventory, plan, out, write_options, python)?;
        let options = verify::Options {
            runtime: Some(inventory.function.runtime),
            arch: inventory.function.arch,
            upload: config.upload,
            handler: Some(inventory.function.handler.spec.clone()),
            read_all_data: false,
        };
        let known = written(&artifact);
        let mut verification = if attached.is_empty() {
            verify::check(&artifact.path, Some(&known), &options)?
        } else {
            for &layer in &attached {
                if layer_reads[layer].is_none() {
                    let zip = &layer_zips[layer].0;
                    let known = written(zip);
                    layer_reads[layer] = Some(verify::read_zip(&zip.path, Some(&known), &options)?);
                }
            }
            let layers: Vec<&verify::ReadZip> = attached
                .iter()
                .filter_map(|&layer| layer_reads[layer].as_ref())
                .collect();
            let function = verify::read_zip(&artifact.path, Some(&known), &options)?;
            let checked = verify::judge(std::slice::from_ref(&function), &layers, &options);
            for (&layer, checked_layer) in attached.iter().zip(checked.layers) {
                layer_checks[layer].get_or_insert(checked_layer);
            }
            let function = checked
                .functions
                .into_iter()
                .next()
                .expect("one function checked");
            model::Verification {
                zipped_bytes: function.zipped_bytes,
                unzipped_bytes: function.unzipped_bytes,
                entries: function.entries,
                limits: function.limits,
                findings: function.findings,
            }
        };
        if let Some(environment) = environment {
            let limit = verify::limits::env(environment.bytes());
            verification
                .findings
                .extend(verify::limits::function_findings(
                    std::slice::from_ref(&limit),
                    config.upload,
                    &[],
                ));
            verify::findings::sort(&mut verification.findings);
            verification.limits.push(limit);
        }
        let smoke = if config.smoke || config.smoke_event.is_some() {
            let paths: Vec<std::path::PathBuf> = attached
                .iter()
                .map(|&layer| layer_zips[layer].0.path.clone())
                .collect();
            // The function's environment as deploy will give it: what only deploy can resolve
            // gets a placeholder; `--smoke-env` wins.
            let mut variables = std::collections::BTreeMap::new();
            if let Some(environment) = environment {
                variables.extend(environment.variables.clone());
                for entry in &environment.unresolved {
                    let name = entry
                        .split_once(':')
                        .map_or(entry.as_str(), |(name, _)| name);
                    variables.insert(
                        name.trim().to_string(),
                        "lamina-smoke-placeholder".to_string(),
                    );
                }
            }
            variables.extend(config.smoke_env.iter().cloned());
            Some(smoke::smoke(
                inventory,
                &artifact.path,
                &paths,
                &smoke::SmokeOptions {
                    event: config.smoke_event.clone(),
                    environment: variables,
                    timeout: std::time::Duration::from_secs(config.smoke_timeout),
                },
            )?)
        } else {
            None
        };
        let layers: Vec<String> = attached
            .iter()
            .map(|&layer| {
                layer_plan.expect("attached layers are planned").layers[layer]
                    .name
                    .clone()
            })
            .collect();
        let layer_notes = layer_plan.map_or_else(Vec::new, |layers| layers.notes[index].clone());
        let settled = model::Artifact {
            path: staging.final_path(&artifact.path),
            ..artifact.clone()
        };
        let function = report::function_report(
            inventory,
            plan,
            report::Outcome::Built(Box::new(report::Built {
                artifact: &settled,
                verification: &verification,
                upload: config.upload,
                staged,
                layers,
                layers_unzipped_bytes: attached.iter().map(|&layer| layer_zips[layer].1).sum(),
                layer_notes,
                smoke,
            })),
        );
        functions.push(function);
    }
    let layers = layer_plan
        .iter()
        .flat_map(|plan| &plan.layers)
        .zip(layer_zips)
        .zip(layer_checks)
        .map(|((layer, (artifact, _)), checked)| {
            let settled = model::Artifact {
                path: staging.final_path(&artifact.path),
                ..artifact
            };
            report::layer_report(layer, &settled, function_names, checked)
        })
        .collect();
    Ok((functions, layers))
}

/// Writes a planned layer as `OUT/layers/<name>.zip` with the same deterministic writer as
/// the functions; pycs are rewritten as in the function they are read from.
fn write_layer(
    layer: &dedupe::PlannedLayer,
    planned: &[(Inventory, Plan)],
    out: &std::path::Path,
    options: &package::zip::WriteOptions,
    stage: crate::ecosystem::Stage,
) -> Result<model::Artifact> {
    let folder = out.join("layers");
    crate::fs::create_dir_all(&folder)?;
    let mut entries = Vec::new();
    let mut python_guards = Vec::new();
    let sources: BTreeSet<usize> = layer.files.iter().map(|file| file.function).collect();
    for function in sources {
        let (inventory, plan) = &planned[function];
        let files: Vec<&dedupe::LayerFile> = layer
            .files
            .iter()
            .filter(|file| file.function == function)
            .collect();
        // Staged under the function's own paths, then renamed to the layer's.
        let mut staged: Vec<package::zip::Entry> = files
            .iter()
            .map(|file| {
                let entry = &inventory.files[file.file];
                package::zip::Entry {
                    path: entry.path.clone(),
                    source: entry.source.clone(),
                    bytes: entry.bytes,
                    executable: entry.executable,
                    link_target: entry.link_target.clone(),
                    stamp: entry.stamp,
                    header: None,
                }
            })
            .collect();
        let python =
            crate::ecosystem::of(inventory).stage(inventory, plan, stage, &folder, &mut staged)?;
        // A kept file takes its layer path. A file staging made from one (a pyc `--compile`
        // appended in `__pycache__`, a distribution's pyc put in place of its source by
        // `--python-bytecode sourceless`) takes the same place beside its origin's layer path.
        let layer_paths: std::collections::HashMap<&str, &str> = files
            .iter()
            .map(|file| (inventory.files[file.file].path.as_str(), file.path.as_str()))
            .collect();
        for mut entry in staged {
            let path = match python.derived_from.get(&entry.path) {
                Some(origin) => {
                    let origin_in_layer = layer_paths
                        .get(origin.as_str())
                        .expect("staging derives entries from the layer's own files");
                    let folder_in_function = origin.rfind('/').map_or(0, |at| at + 1);
                    let folder_in_layer =
                        &origin_in_layer[..origin_in_layer.rfind('/').map_or(0, |at| at + 1)];
                    format!("{folder_in_layer}{}", &entry.path[folder_in_function..])
                }
                None => layer_paths
                    .get(entry.path.as_str())
                    .expect("a staged entry is a layer file or derived from one")
                    .to_string(),
            };
            entry.path = path;
            entries.push(entry);
        }
        python_guards.push(python.folders);
    }
    package::zip::write(
        entries,
        &folder.join(format!("{}.zip", layer.name)),
        options,
    )
}

/// The resource counts of the SAM templates and `serverless.yml` files among `paths` (not
/// `lamina.toml`, nor function folders).
fn stacks(paths: &[std::path::PathBuf]) -> Result<Vec<crate::stack::StackReport>> {
    paths
        .iter()
        .filter_map(|path| config::project::kind(path))
        .filter(|file| crate::stack::counts(file))
        .map(|file| crate::stack::count(&file))
        .collect()
}

/// `lamina stack`: the resource counts of the given templates' stacks; reads them, writes
/// nothing.
pub fn stack(templates: &[std::path::PathBuf]) -> Result<Report> {
    let stacks = templates
        .iter()
        .map(|file| {
            if !file.is_file() {
                return Err(Error::input(
                    file,
                    "not a file: give a SAM template (template.yaml) or a serverless.yml",
                ));
            }
            crate::stack::count(file)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Report::stacks(stacks))
}

/// Checks function zips with their layers (`lamina check`): reads them, never writes.
pub fn check(config: &config::CheckConfig) -> Result<Report> {
    verify::check_artifacts(
        &config.zips,
        &config.layers,
        &verify::Options {
            runtime: config.runtime,
            arch: config.arch,
            upload: config.upload,
            handler: config.handler.clone(),
            read_all_data: true,
        },
    )
    .map(Report::checked)
}

/// Writes a file through a temporary file in the same folder and a rename.
fn write_atomically(path: &std::path::Path, contents: &[u8]) -> Result<()> {
    use std::io::Write;
    let folder = path.parent().unwrap_or(std::path::Path::new("."));
    crate::fs::create_dir_all(folder)?;
    let mut temporary = package::output::temporary_file(folder, ".tmp")?;
    temporary
        .write_all(contents)
        .map_err(|error| Error::io(temporary.path(), error))?;
    temporary
        .persist(path)
        .map_err(|error| Error::io(path, error.error))?;
    Ok(())
}

/// `lamina why TARGET PATH`: scans and shakes the function, then explains what keeps or drops
/// the package or file `target`.
pub fn why(config: &config::WhyConfig) -> Result<crate::why::Explanation> {
    let options = scan::ScanOptions {
        handler: config.handler.clone(),
        runtime: config.runtime,
        arch: model::Arch::X86_64,
        output: None,
        site_packages: None,
        trace: config.shake == model::ShakeMode::Files,
        allow_outside: Vec::new(),
        cache: None,
        remember: false,
    };
    let inventory = scan::scan(&config.path, &options)?;
    let plan = shake::shake(
        &inventory,
        &shake::ShakeOptions {
            mode: config.shake,
            drop_runtime_sdk: config.drop_runtime_sdk,
            bytecode: model::Bytecode::Both,
        },
    )?;
    Ok(crate::why::explain(&inventory, &plan, &config.target))
}
