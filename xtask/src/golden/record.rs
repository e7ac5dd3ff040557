//! `cargo xtask golden --lamina PATH --out FILE.json`: runs lamina over each input in each
//! mode, in a scratch folder under `target/golden/`, and writes the golden file.
//!
//! What varies from run to run of the same binary is normalised, and nothing else: numbers
//! under a key `seconds` or `*_seconds` (`packaging.seconds`, `trace_seconds`) become
//! `"<seconds>"`; the installed input folder becomes `<input>`, the run's output folder
//! `<out>`, the input's scratch folder (where each run's cache and `TMPDIR` live) `<scratch>`,
//! the workspace `<repo>`; `lamina --version` becomes `<lamina-version>`. Every run gets an
//! empty `LAMINA_CACHE_DIR`, so cache hits and misses count the same each time.

use std::ffi::OsString;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::inputs::{self, Caches, Input, Install};
use super::{hex, sorted};
use crate::workspace;

/// The golden file's `format`: raised when its shape changes.
const FORMAT: &str = "lamina golden 1";

/// The scratch folder of one golden run, removed when it ends, however it ends.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs_err::remove_dir_all(&self.0);
    }
}

pub fn record(
    lamina: &Path,
    out: &Path,
    inputs_dir: Option<PathBuf>,
    only: &[String],
) -> Result<()> {
    let started = Instant::now();
    let lamina = lamina
        .canonicalize()
        .with_context(|| format!("the lamina binary {}", lamina.display()))?;
    let version = String::from_utf8(crate::run(Command::new(&lamina).arg("--version"))?.stdout)?
        .trim()
        .to_string();
    let caches = Caches::new(inputs_dir)?;
    let mut selected = inputs::inputs()?;
    if !only.is_empty() {
        selected.retain(|input| only.iter().any(|text| input.key.contains(text.as_str())));
        if selected.is_empty() {
            bail!("no input matches --only {only:?}");
        }
    }
    let golden_dir = workspace().join("target/golden");
    remove_stale_scratch(&golden_dir);
    let scratch = Scratch(golden_dir.join(format!("work-{}", std::process::id())));
    let _ = fs_err::remove_dir_all(&scratch.0);
    fs_err::create_dir_all(&scratch.0)?;

    let mut recorded = Map::new();
    for input in &selected {
        let input_started = Instant::now();
        let dir = inputs::installed(input, &caches)?;
        let dir = dir
            .canonicalize()
            .with_context(|| format!("installed input {}", dir.display()))?;
        let folder = scratch.0.join(slug(&input.key));
        fs_err::create_dir_all(&folder)?;
        let before = fingerprint(&dir)?;
        let runs = record_input(&lamina, &version, input, &dir, &folder)?;
        let after = fingerprint(&dir)?;
        let count = runs.len();
        let source = input
            .source
            .strip_prefix(workspace())
            .unwrap_or(&input.source);
        recorded.insert(
            input.key.clone(),
            json!({
                "source": source.display().to_string(),
                "install": input.install.describe(),
                "fingerprint": before,
                "modified_by_lamina": before != after,
                "runs": Value::Object(runs),
            }),
        );
        eprintln!(
            "golden: {} ({count} runs, {:.1} s)",
            input.key,
            input_started.elapsed().as_secs_f64()
        );
    }
    let golden = sorted(json!({
        "format": FORMAT,
        "environment": environment(),
        "inputs": Value::Object(recorded),
    }));
    if let Some(parent) = out.parent().filter(|parent| !parent.as_os_str().is_empty()) {
        fs_err::create_dir_all(parent)?;
    }
    fs_err::write(out, serde_json::to_string_pretty(&golden)? + "\n")?;
    eprintln!(
        "golden: {} inputs in {:.0} s, written {}",
        selected.len(),
        started.elapsed().as_secs_f64(),
        out.display()
    );
    Ok(())
}

/// Removes the `work-<pid>` scratch folders of golden runs that were interrupted (their
/// process is gone); a concurrent run's folder stays.
fn remove_stale_scratch(golden_dir: &Path) {
    let Ok(entries) = fs_err::read_dir(golden_dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let Some(pid) = name.strip_prefix("work-") else {
            continue;
        };
        if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists() {
            let _ = fs_err::remove_dir_all(entry.path());
        }
    }
}

/// The local tools whose versions decide outputs: `node` and `python3` (smoke runs, the
/// Python runtime inferred from the installed wheels, `--compile`) and `strip` (`--strip`).
fn environment() -> Value {
    let first_line = |program: &str| {
        Command::new(program)
            .arg("--version")
            .output()
            .ok()
            .filter(|output| output.status.success())
            .map(|output| {
                let text = String::from_utf8_lossy(&output.stdout).to_string()
                    + &String::from_utf8_lossy(&output.stderr);
                text.lines().next().unwrap_or_default().trim().to_string()
            })
            .unwrap_or_else(|| "missing".to_string())
    };
    json!({
        "node": first_line("node"),
        "python3": first_line("python3"),
        "strip": first_line("strip"),
    })
}

/// A folder name for a key: its letters and digits, each run of anything else one `-`.
fn slug(key: &str) -> String {
    let mut slug = String::new();
    for c in key.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug
}

/// One lamina invocation: its key in the golden file and its arguments.
struct Invocation {
    key: String,
    args: Vec<OsString>,
    /// It writes into `<out>` (`build`).
    writes: bool,
}

/// The runs of one input, by key.
fn record_input(
    lamina: &Path,
    version: &str,
    input: &Input,
    dir: &Path,
    folder: &Path,
) -> Result<Map<String, Value>> {
    let mut common: Vec<OsString> = Vec::new();
    if let Some(handler) = input.handler {
        common.extend(["--handler".into(), handler.into()]);
    }
    let build = |key_flags: &[&str], extra: &[OsString]| {
        let mut args: Vec<OsString> = vec!["build".into(), dir.into(), "--json".into()];
        args.extend(key_flags.iter().map(OsString::from));
        args.extend(extra.iter().cloned());
        args.extend(common.iter().cloned());
        Invocation {
            key: format!("build {}", key_flags.join(" ")),
            args,
            writes: true,
        }
    };
    let smoke: Vec<OsString> = if input.smoke {
        vec![
            "--smoke".into(),
            "--smoke-event".into(),
            dir.join("event.json").into(),
        ]
    } else {
        Vec::new()
    };
    let mut plan = Vec::new();
    for mode in ["deps", "files"] {
        if input.smoke {
            plan.push(build(&["--shake", mode, "--smoke"], &smoke[1..]));
        } else {
            plan.push(build(&["--shake", mode], &[]));
        }
    }
    plan.push(build(&["--shake", "none"], &[]));
    if input.drop_runtime_sdk {
        plan.push(build(&["--shake", "deps", "--drop-runtime-sdk"], &[]));
    }
    if input.compile_strip {
        plan.push(build(&["--shake", "deps", "--compile", "--strip"], &[]));
    }
    if input.install == Install::Monorepo {
        // The end-to-end test's other build: no layers, no cache.
        plan.push(build(
            &["--shake", "deps", "--layers", "none", "--no-cache"],
            &[],
        ));
    }
    let mut scan: Vec<OsString> = vec!["scan".into(), dir.into(), "--json".into()];
    scan.extend(common.iter().cloned());
    plan.push(Invocation {
        key: "scan --json".to_string(),
        args: scan,
        writes: false,
    });

    let mut runs = Map::new();
    let mut first_build: Option<(PathBuf, Value)> = None;
    for invocation in plan {
        let (record, out, report) = run_lamina(lamina, version, &invocation, dir, folder)?;
        if invocation.writes && first_build.is_none() {
            first_build = Some((out, report));
        }
        runs.insert(invocation.key, record);
    }

    // `lamina check` on each zip the first build (`--shake deps`) wrote, with its layers.
    if let Some((_, report)) = first_build {
        let layer_zips: Vec<(String, String)> = report["layers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|layer| {
                Some((
                    layer["name"].as_str()?.to_string(),
                    layer["artifact"].as_str()?.to_string(),
                ))
            })
            .collect();
        for function in report["functions"].as_array().into_iter().flatten() {
            let Some(artifact) = function["artifact"].as_str() else {
                continue;
            };
            let name = function["name"].as_str().unwrap_or_default();
            let mut args: Vec<OsString> = vec!["check".into(), artifact.into()];
            for layer in function["layers"].as_array().into_iter().flatten() {
                if let Some((_, zip)) = layer_zips.iter().find(|(name, _)| layer == name) {
                    args.extend(["--layer".into(), zip.into()]);
                }
            }
            args.extend(["--format".into(), "json".into()]);
            let invocation = Invocation {
                key: format!("check {name}.zip --format json"),
                args,
                writes: false,
            };
            let (record, _, _) = run_lamina(lamina, version, &invocation, dir, folder)?;
            runs.insert(invocation.key, record);
        }
    }
    Ok(runs)
}

/// Runs one invocation in its own folder under the input's scratch folder (its output folder,
/// an empty lamina cache, its `TMPDIR`, its working directory) and records it. Returns the
/// record, the output folder and the report as lamina printed it (not normalised).
fn run_lamina(
    lamina: &Path,
    version: &str,
    invocation: &Invocation,
    input: &Path,
    folder: &Path,
) -> Result<(Value, PathBuf, Value)> {
    let place = folder.join(slug(&invocation.key));
    let out = place.join("out");
    let tmp = place.join("tmp");
    fs_err::create_dir_all(&tmp)?;
    let mut command = Command::new(lamina);
    command.args(&invocation.args[..2]);
    if invocation.writes {
        command.arg("--out").arg(&out);
    }
    command.args(&invocation.args[2..]);
    // Nothing of this machine's lamina settings: each run gets its own empty cache.
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("LAMINA_") {
            command.env_remove(key);
        }
    }
    command
        .env("LAMINA_CACHE_DIR", place.join("cache"))
        .env("TMPDIR", &tmp)
        .current_dir(&place)
        .stdin(Stdio::null());
    let output = command
        .output()
        .with_context(|| format!("running {command:?}"))?;

    let normaliser = Normaliser::new(&[
        (out.clone(), "<out>"),
        (folder.to_path_buf(), "<scratch>"),
        (input.to_path_buf(), "<input>"),
        (workspace(), "<repo>"),
    ])
    .with_text(version, "<lamina-version>");
    let shown: Vec<String> = command
        .get_args()
        .map(|arg| normaliser.text(&arg.to_string_lossy()))
        .collect();
    let mut record = Map::new();
    record.insert("command".into(), json!(shown));
    record.insert("exit_code".into(), json!(output.status.code()));
    let printed: Option<Value> = serde_json::from_slice(&output.stdout).ok();
    match &printed {
        Some(report) => {
            record.insert("report".into(), normaliser.json(report.clone()));
        }
        None => {
            record.insert(
                "stdout".into(),
                json!(normaliser.text(&String::from_utf8_lossy(&output.stdout))),
            );
        }
    }
    record.insert(
        "stderr".into(),
        json!(normaliser.text(&String::from_utf8_lossy(&output.stderr))),
    );
    if invocation.writes {
        let (zips, files) = written(&out, &normaliser, printed.as_ref())?;
        record.insert("zips".into(), Value::Object(zips));
        record.insert("other_files".into(), Value::Object(files));
    }
    Ok((Value::Object(record), out, printed.unwrap_or(Value::Null)))
}

/// Everything `out` holds after a build: the SHA-256 of each zip, and each other file —
/// `report.json` as "the report on stdout" when it is that report, else normalised; text
/// files normalised; anything else by its SHA-256.
fn written(
    out: &Path,
    normaliser: &Normaliser,
    printed: Option<&Value>,
) -> Result<(Map<String, Value>, Map<String, Value>)> {
    let mut zips = Map::new();
    let mut files = Map::new();
    if !out.exists() {
        return Ok((zips, files));
    }
    let mut entries = Vec::new();
    walk(out, Path::new(""), &mut entries)?;
    for (relative, kind) in entries {
        let path = out.join(&relative);
        let name = relative.to_string_lossy().to_string();
        if kind != Kind::File {
            files.insert(name, json!(format!("{kind:?}")));
        } else if name.ends_with(".zip") {
            zips.insert(name, json!(sha256_file(&path)?));
        } else if name == "report.json" {
            let written: Option<Value> = serde_json::from_slice(&fs_err::read(&path)?).ok();
            let same = written.is_some() && written.as_ref() == printed;
            files.insert(
                name,
                match (same, written) {
                    (true, _) => json!("the report on stdout"),
                    (false, Some(report)) => normaliser.json(report),
                    (false, None) => json!(format!("not JSON, sha256 {}", sha256_file(&path)?)),
                },
            );
        } else {
            let bytes = fs_err::read(&path)?;
            files.insert(
                name,
                match String::from_utf8(bytes) {
                    Ok(text) => json!(normaliser.text(&text)),
                    Err(_) => json!(format!("sha256 {}", sha256_file(&path)?)),
                },
            );
        }
    }
    Ok((zips, files))
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    File,
    Folder,
    Link,
    Other,
}

/// Every entry under `dir`, relative, links not followed; each folder's entries sorted by
/// name, depth first. Folders are listed too.
fn walk(dir: &Path, prefix: &Path, into: &mut Vec<(PathBuf, Kind)>) -> Result<()> {
    let mut entries = fs_err::read_dir(dir)?.collect::<std::io::Result<Vec<_>>>()?;
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        let relative = prefix.join(entry.file_name());
        let kind = entry.file_type()?;
        if kind.is_dir() {
            into.push((relative.clone(), Kind::Folder));
            walk(&entry.path(), &relative, into)?;
        } else if kind.is_file() {
            into.push((relative, Kind::File));
        } else if kind.is_symlink() {
            into.push((relative, Kind::Link));
        } else {
            into.push((relative, Kind::Other));
        }
    }
    Ok(())
}

fn sha256_file(path: &Path) -> Result<String> {
    let mut hasher = Sha256::new();
    let mut file = fs_err::File::open(path)?;
    let mut buffer = vec![0; 1 << 16];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hex(&hasher.finalize()))
}

/// The SHA-256 of an installed input: every entry's relative path, kind and permission bits,
/// each file's contents and each link's target (modification times left out: a fresh checkout
/// of `examples/` has new ones and the same bytes). Two golden files of different inputs say
/// so before any output differs.
fn fingerprint(dir: &Path) -> Result<String> {
    let mut entries = Vec::new();
    walk(dir, Path::new(""), &mut entries)?;
    let mut hasher = Sha256::new();
    for (relative, kind) in entries {
        let path = dir.join(&relative);
        let meta = fs_err::symlink_metadata(&path)?;
        hasher.update(relative.to_string_lossy().as_bytes());
        hasher.update([0]);
        hasher.update(format!("{kind:?} {:o}", meta.permissions().mode() & 0o7777).as_bytes());
        hasher.update([0]);
        match kind {
            Kind::File => hasher.update(sha256_file(&path)?.as_bytes()),
            Kind::Link => hasher.update(fs_err::read_link(&path)?.to_string_lossy().as_bytes()),
            Kind::Folder | Kind::Other => {}
        }
        hasher.update([0]);
    }
    Ok(hex(&hasher.finalize()))
}

/// Replaces what varies between runs of the same binary in what it printed and wrote.
struct Normaliser {
    /// Texts and their placeholders, longest text first.
    replacements: Vec<(String, String)>,
}

impl Normaliser {
    fn new(paths: &[(PathBuf, &str)]) -> Normaliser {
        let mut replacements = Vec::new();
        for (path, placeholder) in paths {
            replacements.push((path.display().to_string(), placeholder.to_string()));
            if let Ok(canonical) = path.canonicalize() {
                replacements.push((canonical.display().to_string(), placeholder.to_string()));
            }
        }
        let mut normaliser = Normaliser { replacements };
        normaliser.order();
        normaliser
    }

    fn with_text(mut self, text: &str, placeholder: &str) -> Normaliser {
        if !text.is_empty() {
            self.replacements
                .push((text.to_string(), placeholder.to_string()));
            self.order();
        }
        self
    }

    fn order(&mut self) {
        self.replacements
            .sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
        self.replacements.dedup();
    }

    fn text(&self, text: &str) -> String {
        let mut text = text.to_string();
        for (from, to) in &self.replacements {
            if text.contains(from.as_str()) {
                text = text.replace(from.as_str(), to);
            }
        }
        text
    }

    fn json(&self, value: Value) -> Value {
        match value {
            Value::String(text) => Value::String(self.text(&text)),
            Value::Array(items) => Value::Array(items.into_iter().map(|v| self.json(v)).collect()),
            Value::Object(map) => Value::Object(
                map.into_iter()
                    .map(|(key, value)| {
                        let timing = key == "seconds" || key.ends_with("_seconds");
                        let value = if timing && value.is_number() {
                            json!("<seconds>")
                        } else {
                            self.json(value)
                        };
                        (self.text(&key), value)
                    })
                    .collect(),
            ),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use serde_json::json;

    use super::Normaliser;

    #[test]
    fn paths_versions_and_timings_are_normalised_and_nothing_else() {
        let normaliser = Normaliser::new(&[
            (PathBuf::from("/scratch/apps-x/build/out"), "<out>"),
            (PathBuf::from("/scratch/apps-x"), "<scratch>"),
        ])
        .with_text("lamina 0.1.0", "<lamina-version>");
        let report = json!({
            "artifact": "/scratch/apps-x/build/out/x.zip",
            "cache": "/scratch/apps-x/build/cache",
            "packaging": {"seconds": 0.25, "cache_hits": 3},
            "trace_seconds": 1.5,
            "smoke": {"seconds": null},
            "notes": ["made by lamina 0.1.0", "ms@0.1.0"],
        });
        assert_eq!(
            normaliser.json(report),
            json!({
                "artifact": "<out>/x.zip",
                "cache": "<scratch>/build/cache",
                "packaging": {"seconds": "<seconds>", "cache_hits": 3},
                "trace_seconds": "<seconds>",
                "smoke": {"seconds": null},
                "notes": ["made by <lamina-version>", "ms@0.1.0"],
            })
        );
    }
}
