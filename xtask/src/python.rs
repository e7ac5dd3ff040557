//! `cargo xtask bench`, Python rows: each app of `testdata/py-apps`, installed with pip as the
//! end-to-end tests install it, built with lamina; the handler's import time from the unzipped
//! artifact against the unslimmed folder (the promise: rewritten pycs must not make cold
//! starts slower), beside the zip sizes. A second table: `--shake files` with each
//! `--python-bytecode` mode against a zip of exactly the files the handler opens (the tracer's
//! goal: within 1.5× of it), with their import times.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::{files, median, run, timings, workspace, zip_listed};

/// `(major, minor)` of the local `python3`: it names the wheels pip installs, and it imports
/// the handlers.
fn local_python() -> Result<String> {
    let output =
        run(Command::new("python3")
            .args(["-c", "import sys; print('%d.%d' % sys.version_info[:2])"]))?;
    Ok(String::from_utf8(output.stdout)?.trim().to_string())
}

/// The apps of `testdata/py-apps` (folders with a `requirements.txt`), sorted.
pub fn apps() -> Result<Vec<PathBuf>> {
    let mut apps: Vec<PathBuf> = fs_err::read_dir(workspace().join("testdata/py-apps"))?
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.join("requirements.txt").is_file())
        .collect();
    apps.sort();
    Ok(apps)
}

/// Installs an app with `pip install --target package` (the end-to-end tests' command: pinned
/// manylinux x86_64 wheels for the local Python, `--no-deps`) into
/// `target/bench/py-apps/<name>-<hash>/<name>`, once per content and interpreter.
pub fn install(app: &Path) -> Result<PathBuf> {
    let name = app.file_name().unwrap().to_string_lossy().to_string();
    let version = local_python()?;
    let mut listing = Vec::new();
    files(app, Path::new(""), &mut listing)?;
    let mut contents = Vec::new();
    for relative in &listing {
        contents.push((relative.clone(), fs_err::read(app.join(relative))?));
    }
    // The end-to-end tests' command, from the file they read too: one argument per line.
    let args: Vec<String> =
        fs_err::read_to_string(workspace().join("testdata/py-apps/pip-install.args"))?
            .lines()
            .map(|arg| arg.replace("{python}", &version))
            .collect();
    let digest = {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        contents.hash(&mut hasher);
        args.hash(&mut hasher);
        hasher.finish()
    };
    let slot = workspace()
        .join("target/bench/py-apps")
        .join(format!("{name}-{digest:016x}"));
    let dir = slot.join(&name);
    if slot.join(".installed").exists() {
        return Ok(dir);
    }
    let _ = fs_err::remove_dir_all(&slot);
    for (relative, bytes) in &contents {
        let path = dir.join(relative);
        fs_err::create_dir_all(path.parent().unwrap())?;
        fs_err::write(path, bytes)?;
    }
    eprintln!("installing {name} (pip install --target package, Python {version})...");
    run(Command::new("python3").args(&args).current_dir(&dir))?;
    fs_err::write(slot.join(".installed"), "")?;
    Ok(dir)
}

/// Median seconds of `import <module>` in a fresh `python3 -S -B` with each of `paths` as
/// PYTHONPATH, after one round to warm the page cache. The paths take turns, so a machine
/// busy with something else slows them alike. `-B`: like Lambda's read-only `/var/task`, no
/// run writes pycs that a later run would find.
fn import_seconds(paths: &[String], module: &str, cwd: &Path, runs: usize) -> Result<Vec<f64>> {
    let script = format!(
        "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    );
    let mut seconds = vec![Vec::new(); paths.len()];
    for round in 0..=runs {
        for (path, times) in paths.iter().zip(&mut seconds) {
            let output = run(Command::new("python3")
                .args(["-S", "-B", "-c", &script])
                .env("PYTHONPATH", path)
                .current_dir(cwd)
                .stdin(Stdio::null()))?;
            let value: f64 = String::from_utf8(output.stdout)?
                .trim()
                .parse()
                .with_context(|| format!("import time of {module} from {path}"))?;
            if round > 0 {
                times.push(value);
            }
        }
    }
    Ok(seconds.into_iter().map(median).collect())
}

/// Builds `dir` with lamina (`extra` flags), unzips it into `work/<label>`; returns the report's
/// function and the unzipped folder.
fn build(
    lamina: &Path,
    dir: &Path,
    work: &Path,
    label: &str,
    extra: &[&str],
) -> Result<(Value, PathBuf)> {
    let out = work.join(format!("out-{label}"));
    let output = run(Command::new(lamina)
        .arg("build")
        .arg(dir)
        .arg("--out")
        .arg(&out)
        .arg("--json")
        .args(extra)
        .stdout(Stdio::piped()))?;
    let report: Value = serde_json::from_slice(&output.stdout)?;
    let function = report["functions"][0].clone();
    let zip = function["artifact"]
        .as_str()
        .context("the report names no artifact")?;
    let task = work.join(format!("task-{label}"));
    run(Command::new("unzip")
        .args(["-q", "-o"])
        .arg(zip)
        .arg("-d")
        .arg(&task))?;
    Ok((function, task))
}

pub fn bench_one(lamina: &Path, dir: &Path, work: &Path, runs: usize) -> Result<Value> {
    let dir = dir
        .canonicalize()
        .with_context(|| dir.display().to_string())?;
    let name = dir.file_name().unwrap().to_string_lossy().to_string();
    eprintln!("benchmarking {name} (Python)...");
    let _ = fs_err::remove_dir_all(work);
    fs_err::create_dir_all(work)?;
    // Sizes and times as for the Node apps; `zip -r` of the folder is what a team ships today
    // after `pip install --target package`.
    let (mut row, _) = timings(lamina, &dir, work, runs)?;
    let (function, task) = build(lamina, &dir, work, "default", &[])?;
    let (compiled, compiled_task) = build(lamina, &dir, work, "compile", &["--compile"])?;
    let handler_file = function["handler_file"]
        .as_str()
        .context("the report names no handler file")?;
    let Some(module) = handler_file.strip_suffix(".py") else {
        bail!("{name}: the handler file {handler_file} is not a .py file");
    };
    let module = module.replace('/', ".");
    let site = function["site_packages"].as_str().unwrap_or(".");
    let before_path = format!("{}:{}", dir.display(), dir.join(site).display());
    let files = ["--shake", "files"];
    let (traced, traced_task) = build(lamina, &dir, work, "files", &files)?;
    let sourceless_flags = [&files[..], &["--python-bytecode", "sourceless"]].concat();
    let (sourceless, sourceless_task) =
        build(lamina, &dir, work, "files-sourceless", &sourceless_flags)?;
    let source_flags = [&files[..], &["--python-bytecode", "source"]].concat();
    let (source, source_task) = build(lamina, &dir, work, "files-source", &source_flags)?;
    let handler = function["handler"]
        .as_str()
        .context("the report names no handler")?;
    let opened_bytes = opened_zip(&dir, site, handler, work)?;
    // Several runs per figure: one import is milliseconds and noisy.
    let import_runs = (runs * 3).max(5);
    let paths = [
        before_path,
        task.display().to_string(),
        compiled_task.display().to_string(),
        traced_task.display().to_string(),
        sourceless_task.display().to_string(),
        source_task.display().to_string(),
    ];
    let [
        before,
        after,
        after_compiled,
        after_files,
        after_sourceless,
        after_source,
    ] = import_seconds(&paths, &module, work, import_runs)?[..]
    else {
        unreachable!("one median per path");
    };
    row.extend(
        json!({
        "runtime": function["runtime"],
        "rewritten_pycs": function["rewritten_pycs"],
        "compile_bytes": compiled["zipped_bytes"],
        "compiled_pycs": compiled["compiled_pycs"],
        "import_runs": import_runs,
        "import_before_seconds": before,
        "import_after_seconds": after,
        "import_after_compile_seconds": after_compiled,
        "files_bytes": traced["zipped_bytes"],
        "files_sourceless_bytes": sourceless["zipped_bytes"],
        "files_source_bytes": source["zipped_bytes"],
        "opened_bytes": opened_bytes,
        "import_files_seconds": after_files,
        "import_files_sourceless_seconds": after_sourceless,
        "import_files_source_seconds": after_source,
        })
        .as_object()
        .expect("an object")
        .clone(),
    );
    Ok(Value::Object(row))
}

/// Runs the handler on its `event.json` from the unslimmed folder with
/// `testdata/py-apps/run_handler.py`, which lists every file it opens or imports
/// (`LAMINA_E2E_OPENED`), and zips exactly those of the function (its dependencies folder
/// `site` at the root, as lamina lays them out); returns the zip's bytes.
fn opened_zip(dir: &Path, site: &str, handler: &str, work: &Path) -> Result<u64> {
    let listing = work.join("opened.txt");
    run(Command::new("python3")
        .args(["-S", "-B"])
        .arg(workspace().join("testdata/py-apps/run_handler.py"))
        .arg(dir)
        .arg(handler)
        .arg(dir.join("event.json"))
        .arg(dir.join(site))
        .env("LAMINA_E2E_OPENED", &listing)
        .stdout(Stdio::null()))?;
    zip_listed(&listing, dir, Some(site), work)
}

/// The Python table of the bench's output.
pub fn table(rows: &[Value]) -> String {
    let f = |row: &Value, key: &str| row[key].as_f64().unwrap_or(f64::NAN);
    let mb = |bytes: f64| bytes / 1e6;
    let ms = |seconds: f64| seconds * 1e3;
    let mut table = String::from(
        "\n| Python app | input MB | zip -r MB | lamina MB | zip same files MB | lamina ÷ zip size (same files) | writer speed ÷ zip (same files) | writer CPU ÷ zip CPU (same files) | cold build ÷ zip -r time | warm ÷ zip -r time | listing ÷ zip -r time | warm ÷ listing | warm ÷ cold | warm on a fresh copy ÷ cold | peak RSS MiB | rewritten pycs | import before ms | import after ms | after ÷ before | --compile pycs | import after --compile ms |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for row in rows {
        table.push_str(&format!(
            "| {} | {:.1} | {:.2} | {:.2} | {:.2} | {:.3} | {:.1}x | {:.2} | {:.2} | {:.3} | {:.3} | {:.1} | {:.2} | {:.2} | {:.0} | {} | {:.1} | {:.1} | {:.2} | {} | {:.1} |\n",
            row["app"].as_str().unwrap_or_default(),
            mb(f(row, "input_bytes")),
            mb(f(row, "zip_r_bytes")),
            mb(f(row, "lamina_bytes")),
            mb(f(row, "zip_same_files_bytes")),
            f(row, "lamina_bytes") / f(row, "zip_same_files_bytes"),
            f(row, "zip_same_files_seconds") / f(row, "lamina_writer_seconds"),
            f(row, "lamina_writer_cpu_seconds") / f(row, "zip_same_files_cpu_seconds"),
            f(row, "lamina_cold_seconds") / f(row, "zip_r_seconds"),
            f(row, "lamina_warm_seconds") / f(row, "zip_r_seconds"),
            f(row, "listing_seconds") / f(row, "zip_r_seconds"),
            f(row, "lamina_warm_seconds") / f(row, "listing_seconds"),
            f(row, "lamina_warm_seconds") / f(row, "lamina_cold_seconds"),
            f(row, "lamina_warm_copy_seconds") / f(row, "lamina_cold_seconds"),
            f(row, "lamina_peak_rss_kib") / 1024.0,
            row["rewritten_pycs"],
            ms(f(row, "import_before_seconds")),
            ms(f(row, "import_after_seconds")),
            f(row, "import_after_seconds") / f(row, "import_before_seconds"),
            row["compiled_pycs"],
            ms(f(row, "import_after_compile_seconds")),
        ));
    }
    table.push_str(
        "\n| Python app | deps MB | files MB | files sourceless MB | files source MB | opened files MB | files ÷ opened | import deps ms | import files ms | import sourceless ms | import source ms |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for row in rows {
        table.push_str(&format!(
            "| {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.1} | {:.1} | {:.1} | {:.1} |\n",
            row["app"].as_str().unwrap_or_default(),
            mb(f(row, "lamina_bytes")),
            mb(f(row, "files_bytes")),
            mb(f(row, "files_sourceless_bytes")),
            mb(f(row, "files_source_bytes")),
            mb(f(row, "opened_bytes")),
            f(row, "files_bytes") / f(row, "opened_bytes"),
            ms(f(row, "import_after_seconds")),
            ms(f(row, "import_files_seconds")),
            ms(f(row, "import_files_sourceless_seconds")),
            ms(f(row, "import_files_source_seconds")),
        ));
    }
    table
}
