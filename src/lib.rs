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
pub mod verify;

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
            };
            let mut functions = Vec::new();
            for (inventory, plan) in &planned {
                let artifact = package::write(inventory, plan, &config.out, &write_options)?;
                let verification = verify::check(&artifact.path)?;
                functions.push(report::function_report(
                    inventory,
                    plan,
                    Some((&artifact, &verification)),
                ));
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
