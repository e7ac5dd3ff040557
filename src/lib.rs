//! lamina slims AWS Lambda deployment artifacts: scan → shake → package → verify.
//! The library never prints; the binary renders the `Report` it returns.

pub mod cli;
pub mod config;
pub mod error;
pub mod model;
pub mod package;
pub mod report;
pub mod scan;
pub mod shake;
pub mod smoke;
pub mod verify;
pub mod why;

use std::collections::BTreeSet;

pub use config::{Command, Config};
pub use error::{Error, Result};
pub use report::Report;

use model::{Inventory, Plan};

/// Runs a command over every function of the configuration.
///
/// Every function is scanned and shaken before anything is written, so bad input fails the
/// run with nothing written.
pub fn run(config: &Config) -> Result<Report> {
    let options = scan::ScanOptions {
        handler: config.handler.clone(),
        runtime: config.runtime,
        arch: config.arch,
        output: (config.command == Command::Build).then(|| config.out.clone()),
        site_packages: config.site_packages.clone(),
        trace: config.shake == model::ShakeMode::Files,
    };
    let shake_options = shake::ShakeOptions {
        mode: config.shake,
        drop_runtime_sdk: config.drop_runtime_sdk,
    };
    let mut planned: Vec<(Inventory, Plan)> = Vec::new();
    let mut names = BTreeSet::new();
    for path in &config.paths {
        let inventory = scan::scan(path, &options)?;
        if !names.insert(inventory.function.name.clone()) {
            return Err(Error::Usage(format!(
                "two functions are named {:?} (the zip is named after the folder); build them in separate runs",
                inventory.function.name
            )));
        }
        let plan = shake::shake(&inventory, &shake_options)?;
        planned.push((inventory, plan));
    }
    let functions = match config.command {
        Command::Scan => planned
            .iter()
            .map(|(inventory, plan)| report::function_report(inventory, plan, None))
            .collect(),
        Command::Build => {
            let write_options = package::zip::WriteOptions {
                compression: config.compression,
                cache: config.cache.as_ref().map(package::cache::Cache::new),
                cache_min_bytes: package::zip::CACHE_MIN_BYTES,
            };
            let mut functions = Vec::new();
            for (inventory, plan) in &planned {
                let artifact = package::write(inventory, plan, &config.out, &write_options)?;
                let verification = verify::check(
                    &artifact.path,
                    &verify::Options {
                        runtime: Some(inventory.function.runtime),
                        arch: inventory.function.arch,
                        upload: config.upload,
                        handler: Some(inventory.function.handler.spec.clone()),
                    },
                )?;
                let mut function =
                    report::function_report(inventory, plan, Some((&artifact, &verification)));
                if config.smoke || config.smoke_event.is_some() {
                    function.smoke = Some(smoke::smoke(
                        &inventory.function,
                        &artifact.path,
                        &[],
                        config.smoke_event.as_deref(),
                    )?);
                }
                functions.push(function);
            }
            functions
        }
    };
    let report = Report::new(
        match config.command {
            Command::Scan => "scan",
            Command::Build => "build",
        },
        functions,
    );
    if config.command == Command::Build {
        write_atomically(&config.out.join("report.json"), report.to_json().as_bytes())?;
    }
    Ok(report)
}

/// Checks function zips with their layers (`lamina check`): reads them, never writes.
pub fn check(config: &config::CheckConfig) -> Result<verify::CheckReport> {
    verify::check_artifacts(
        &config.zips,
        &config.layers,
        &verify::Options {
            runtime: config.runtime,
            arch: config.arch,
            upload: config.upload,
            handler: config.handler.clone(),
        },
    )
}

/// Writes a file through a temporary file in the same folder and a rename.
fn write_atomically(path: &std::path::Path, contents: &[u8]) -> Result<()> {
    use std::io::Write;
    let folder = path.parent().unwrap_or(std::path::Path::new("."));
    fs_err::create_dir_all(folder)?;
    let mut temporary =
        tempfile::NamedTempFile::new_in(folder).map_err(|error| Error::io(folder, error))?;
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
pub fn why(config: &Config, target: &str) -> Result<why::Explanation> {
    let path = config
        .paths
        .first()
        .ok_or_else(|| Error::Usage("lamina why needs a function folder".to_string()))?;
    let options = scan::ScanOptions {
        handler: config.handler.clone(),
        runtime: config.runtime,
        arch: config.arch,
        output: None,
        site_packages: config.site_packages.clone(),
        trace: config.shake == model::ShakeMode::Files,
    };
    let inventory = scan::scan(path, &options)?;
    let plan = shake::shake(
        &inventory,
        &shake::ShakeOptions {
            mode: config.shake,
            drop_runtime_sdk: config.drop_runtime_sdk,
        },
    )?;
    Ok(why::explain(&inventory, &plan, target))
}
