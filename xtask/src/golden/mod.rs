//! `cargo xtask golden`: runs a given lamina binary over a fixed list of installed inputs, in
//! every mode the tests use, and records what it wrote (exit codes, the SHA-256 of every zip,
//! the reports with run-to-run noise normalised) in one JSON file; `--compare` tells two such
//! files apart. It proves a refactor changes no output.

mod compare;
mod inputs;
mod record;

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use serde_json::{Map, Value};

use crate::USAGE;

/// Runs `cargo xtask golden ARGS` and exits: 0 when the golden file is written or the two
/// compared are the same, 1 when they differ, 2 on bad usage or any failure (so a failure is
/// never read as "the outputs differ").
pub fn golden(args: &[String]) -> ! {
    match golden_inner(args) {
        Ok(same) => std::process::exit(if same { 0 } else { 1 }),
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::exit(2)
        }
    }
}

/// Returns false when compared files differ.
fn golden_inner(args: &[String]) -> Result<bool> {
    let mut lamina = None;
    let mut out = None;
    let mut inputs_dir = None;
    let mut only = Vec::new();
    let mut compared = None;
    let mut args = args.iter();
    let value = |flag: &str, args: &mut std::slice::Iter<String>| {
        args.next()
            .cloned()
            .with_context(|| format!("{flag} needs a value\n{USAGE}"))
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--lamina" => lamina = Some(PathBuf::from(value(arg, &mut args)?)),
            "--out" => out = Some(PathBuf::from(value(arg, &mut args)?)),
            "--inputs" => inputs_dir = Some(PathBuf::from(value(arg, &mut args)?)),
            "--only" => only.push(value(arg, &mut args)?),
            "--compare" => {
                let before = PathBuf::from(value(arg, &mut args)?);
                let after = PathBuf::from(value(arg, &mut args)?);
                compared = Some((before, after));
            }
            _ => bail!("unknown argument {arg:?}\n{USAGE}"),
        }
    }
    if let Some((before, after)) = compared {
        if lamina.is_some() || out.is_some() || inputs_dir.is_some() || !only.is_empty() {
            bail!("--compare takes two golden files and nothing else\n{USAGE}");
        }
        return Ok(compare::compare(&before, &after)? == 0);
    }
    let (Some(lamina), Some(out)) = (lamina, out) else {
        bail!("--lamina and --out are required\n{USAGE}");
    };
    record::record(&lamina, &out, inputs_dir, &only)?;
    Ok(true)
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// `value` with every object's keys in sorted order, whether or not `serde_json` keeps
/// insertion order in this build (its `preserve_order` feature is unified across the
/// workspace).
pub fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            let mut sorted_map = Map::new();
            for (key, value) in entries {
                sorted_map.insert(key, sorted(value));
            }
            Value::Object(sorted_map)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}
