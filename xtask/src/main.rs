//! Project automation behind `cargo xtask`: `bench` measures lamina beside Info-ZIP `zip` and
//! `npm prune` on real installed apps, in the same run, and writes the ratios to `target/bench/`
//! (Node: `--shake files` against a zip of exactly the files the handler loads or reads);
//! for the Python apps, handler import time from the artifact against the unslimmed folder.
//! `golden` records what a lamina binary writes for the test inputs, and compares two records.
//! `dist` builds lamina's npm packages and wheel for this machine into `target/dist/`.

mod dist;
mod golden;
mod monorepo;
mod python;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

const USAGE: &str = "usage: cargo xtask bench [--runs N] [--only node|python] [FUNCTION_DIR...]\n\
  Without folders, installs every app of testdata/apps and testdata/bench (pinned lockfiles)\n\
  under target/bench/apps, and of testdata/py-apps (pip) under target/bench/py-apps, and\n\
  benchmarks them. Folders are Node functions. With more than one Node app, each is also built\n\
  warm in one cache shared by all of them.\n\
\n\
usage: cargo xtask bench --monorepo [--functions 50,100,200] [--keep-monorepo] [--runs N]\n\
  Installs testdata/apps as above and, for each count, generates target/bench/monorepo-N/: a\n\
  lamina.toml (layers auto) and N function folders, hard-link copies (cp -al) of the apps in\n\
  turn; builds it with one `lamina build` cold (empty LAMINA_CACHE_DIR) and warm (same cache,\n\
  unchanged tree), and prints wall seconds, seconds per function, peak RSS, layers and zip\n\
  size per count, and whether cost per function grows. Writes target/bench/<date>-monorepo.json;\n\
  removes each generated tree unless --keep-monorepo. The lamina binary is taken from cargo's\n\
  target directory (CARGO_TARGET_DIR honoured).\n\
\n\
usage: cargo xtask golden --lamina PATH/TO/lamina --out FILE.json [--inputs DIR] [--only TEXT]...\n\
       cargo xtask golden --compare A.json B.json\n\
  Runs that lamina binary over every function of examples/, testdata/apps, testdata/corpus,\n\
  testdata/py-apps and testdata/monorepo (whole), installed as the end-to-end tests install\n\
  them and reused from their cache (--inputs DIR, else $LAMINA_E2E_CACHE, else\n\
  ~/.cache/lamina-e2e and ~/.cache/lamina-e2e-py; installed there when missing): build\n\
  --shake deps, files and none (with the tests' --handler and --smoke; plus --drop-runtime-sdk,\n\
  --compile --strip, --layers none for some), scan --json, and check --format json of the\n\
  deps build's zips. Writes each run's exit code, the SHA-256 of every zip, the other files\n\
  and the report, with timings, scratch paths and lamina's version normalised, keys sorted:\n\
  two runs of one binary write the same file. --only keeps the inputs whose key contains TEXT.\n\
  --compare prints what differs (by input and run: zip hashes, report fields before and\n\
  after) and exits 1 when anything does (2 on bad usage or a failure).";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("bench") => bench(&args[1..]),
        Some("golden") => golden::golden(&args[1..]),
        Some("dist") => dist::dist(&args[1..]),
        Some("-h" | "--help") => {
            println!("{}", usage());
            Ok(())
        }
        _ => {
            eprintln!("{}", usage());
            std::process::exit(2);
        }
    }
}

/// Every subcommand's usage, as `--help` and a bad command line print it.
fn usage() -> String {
    format!("{USAGE}\n\n{}", dist::USAGE)
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Runs a command to completion, failing with its stderr when it fails.
fn run(command: &mut Command) -> Result<std::process::Output> {
    let output = command
        .output()
        .with_context(|| format!("running {command:?}"))?;
    if !output.status.success() {
        bail!(
            "{command:?} failed with {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(output)
}

/// One timed run: wall seconds and peak RSS in KiB, read by GNU time.
fn measure(command: &mut Command) -> Result<(f64, u64, std::process::Output)> {
    let rss_file = std::env::temp_dir().join(format!("lamina-bench-rss-{}", std::process::id()));
    let program = command.get_program().to_owned();
    let args: Vec<_> = command.get_args().map(|arg| arg.to_owned()).collect();
    let mut timed = Command::new("/usr/bin/time");
    timed
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(&rss_file)
        .arg(program)
        .args(args);
    if let Some(dir) = command.get_current_dir() {
        timed.current_dir(dir);
    }
    for (key, value) in command.get_envs() {
        if let Some(value) = value {
            timed.env(key, value);
        }
    }
    // Dirty pages left by earlier steps (copies, caches) would be flushed by the first fsync
    // of the measured command (lamina syncs its zip before renaming it): flush them first.
    run(&mut Command::new("sync"))?;
    let started = Instant::now();
    let output = run(&mut timed)?;
    let seconds = started.elapsed().as_secs_f64();
    let rss = fs_err::read_to_string(&rss_file)?
        .trim()
        .lines()
        .last()
        .unwrap_or("0")
        .parse()
        .unwrap_or(0);
    Ok((seconds, rss, output))
}

/// The processor seconds (user + system) of the children this process has waited for, to the
/// microsecond: the difference across one child's run is that child's.
fn children_cpu_seconds() -> Result<f64> {
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)?;
    let seconds =
        |time: nix::sys::time::TimeVal| time.tv_sec() as f64 + time.tv_usec() as f64 / 1_000_000.0;
    Ok(seconds(usage.user_time()) + seconds(usage.system_time()))
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn folder_size(dir: &Path) -> Result<(u64, u64)> {
    let (mut bytes, mut files) = (0, 0);
    for entry in fs_err::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.path().symlink_metadata()?;
        if meta.is_dir() {
            let (inner_bytes, inner_files) = folder_size(&entry.path())?;
            bytes += inner_bytes;
            files += inner_files;
        } else {
            bytes += meta.len();
            files += 1;
        }
    }
    Ok((bytes, files))
}

/// Every file under `dir`, relative, sorted.
fn files(dir: &Path, prefix: &Path, into: &mut Vec<PathBuf>) -> Result<()> {
    let mut entries: Vec<_> = fs_err::read_dir(dir)?.flatten().collect();
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        let relative = prefix.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            files(&entry.path(), &relative, into)?;
        } else {
            into.push(relative);
        }
    }
    Ok(())
}

/// Installs an app from its committed lockfile into `target/bench/apps/<name>-<hash>/<name>`,
/// once per content (the hash covers every committed file of the app, in its folders too:
/// `views/` templates, `event.json`).
fn install(app: &Path) -> Result<PathBuf> {
    let name = app.file_name().unwrap().to_string_lossy().to_string();
    let mut relative = Vec::new();
    files(app, Path::new(""), &mut relative)?;
    let mut listing = Vec::new();
    for file in relative {
        // An installed copy left inside the source folder is not the app.
        if !file.starts_with("node_modules") {
            listing.push((file.clone(), fs_err::read(app.join(&file))?));
        }
    }
    let digest = {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        listing.hash(&mut hasher);
        hasher.finish()
    };
    let slot = workspace()
        .join("target/bench/apps")
        .join(format!("{name}-{digest:016x}"));
    let dir = slot.join(&name);
    if slot.join(".installed").exists() {
        return Ok(dir);
    }
    let _ = fs_err::remove_dir_all(&slot);
    fs_err::create_dir_all(&dir)?;
    for (file, contents) in &listing {
        let path = dir.join(file);
        fs_err::create_dir_all(path.parent().expect("a file has a folder"))?;
        fs_err::write(path, contents)?;
    }
    eprintln!("installing {name} (npm ci)...");
    run(Command::new("npm")
        .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund"])
        .current_dir(&dir))?;
    fs_err::write(slot.join(".installed"), "")?;
    Ok(dir)
}

fn bench(args: &[String]) -> Result<()> {
    let mut runs = 3;
    let mut dirs = Vec::new();
    let mut only = None;
    let mut monorepo = false;
    let mut counts = monorepo::DEFAULT_COUNTS.to_vec();
    let mut keep_monorepo = false;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => runs = args.next().context("--runs needs a number")?.parse()?,
            "--only" => match args.next().map(String::as_str) {
                Some(language @ ("node" | "python")) => only = Some(language.to_string()),
                _ => bail!("--only needs node or python\n{USAGE}"),
            },
            "--monorepo" => monorepo = true,
            "--functions" => {
                counts = args
                    .next()
                    .context("--functions needs counts, such as 50,100,200")?
                    .split(',')
                    .map(|count| count.trim().parse::<usize>())
                    .collect::<Result<_, _>>()
                    .context("--functions needs counts, such as 50,100,200")?;
            }
            "--keep-monorepo" => keep_monorepo = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            flag if flag.starts_with('-') => bail!("unknown option {flag}\n{USAGE}"),
            _ => dirs.push(PathBuf::from(arg)),
        }
    }
    let node = only.as_deref() != Some("python");
    let python = dirs.is_empty() && only.as_deref() != Some("node");
    if monorepo && (!dirs.is_empty() || only.is_some()) {
        bail!("--monorepo takes no folders and no --only\n{USAGE}");
    }
    let root = workspace();
    run(Command::new("cargo")
        .args(["build", "--release", "--locked", "-p", "lamina"])
        .current_dir(&root))?;
    // Where cargo just built it: CARGO_TARGET_DIR moves it out of the workspace's target/.
    let lamina = dist::target_dir()?.join("release/lamina");
    if monorepo {
        let mut apps = Vec::new();
        for app in sorted_apps(&root.join("testdata/apps"))? {
            apps.push(install(&app)?);
        }
        let rows = monorepo::bench(
            &lamina,
            &apps,
            &counts,
            runs,
            &root.join("target/bench"),
            keep_monorepo,
        )?;
        let table = monorepo::table(&rows);
        print!("{table}");
        let path = write_json(
            "monorepo",
            &json!({ "monorepo_rows": rows, "table": table }),
        )?;
        println!("written {}", path.display());
        return Ok(());
    }
    if dirs.is_empty() && node {
        for group in ["testdata/apps", "testdata/bench"] {
            for app in sorted_apps(&root.join(group))? {
                dirs.push(install(&app)?);
            }
        }
    }
    let work = root.join("target/bench/work");
    let mut rows = Vec::new();
    for dir in &dirs {
        rows.push(bench_one(&lamina, dir, &work, runs)?);
    }
    let _ = fs_err::remove_dir_all(&work);
    let shared = if rows.len() > 1 {
        Some(warm_in_a_shared_cache(
            &lamina,
            &dirs,
            &mut rows,
            &root.join("target/bench/shared-work"),
            runs,
        )?)
    } else {
        None
    };
    let mut python_rows = Vec::new();
    if python {
        // Its own folder, so a Node bench running beside it keeps its files.
        let work = root.join("target/bench/py-work");
        for app in python::apps()? {
            let dir = python::install(&app)?;
            python_rows.push(python::bench_one(&lamina, &dir, &work, runs)?);
        }
        let _ = fs_err::remove_dir_all(&work);
    }
    report(&rows, &python_rows, shared)
}

/// Builds every app once into one cache, then each again, warm, `runs` times, its output
/// folder removed first (as in CI), so that the zip is written from the cache: such a build
/// loads the index of the whole cache, so this is its cost among other functions' records, as
/// in a CI cache or a developer's `~/.cache/lamina`. Adds
/// `lamina_warm_shared_seconds` to each row; returns the shared cache's bytes.
fn warm_in_a_shared_cache(
    lamina: &Path,
    dirs: &[PathBuf],
    rows: &mut [Value],
    work: &Path,
    runs: usize,
) -> Result<u64> {
    eprintln!("benchmarking warm builds in a cache shared by every app...");
    let _ = fs_err::remove_dir_all(work);
    fs_err::create_dir_all(work)?;
    let cache = work.join("cache");
    let out = |dir: &Path| {
        work.join(format!(
            "out-{}",
            dir.file_name().unwrap().to_string_lossy()
        ))
    };
    for dir in dirs {
        run(lamina_build(lamina, dir, out(dir))
            .env("LAMINA_CACHE_DIR", &cache)
            .stdout(Stdio::null()))?;
    }
    let (cache_bytes, _) = folder_size(&cache)?;
    for (dir, row) in dirs.iter().zip(rows.iter_mut()) {
        let mut warm = Vec::new();
        for _ in 0..runs {
            fs_err::remove_dir_all(out(dir))?;
            let (seconds, _, _) = measure(
                lamina_build(lamina, dir, out(dir))
                    .env("LAMINA_CACHE_DIR", &cache)
                    .stdout(Stdio::null()),
            )?;
            warm.push(seconds);
        }
        row["lamina_warm_shared_seconds"] = json!(median(warm));
    }
    let _ = fs_err::remove_dir_all(work);
    Ok(cache_bytes)
}

/// The Node apps of a testdata folder (those with a lockfile), sorted.
fn sorted_apps(group: &Path) -> Result<Vec<PathBuf>> {
    let mut apps: Vec<PathBuf> = fs_err::read_dir(group)?
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.join("package-lock.json").is_file())
        .collect();
    apps.sort();
    Ok(apps)
}

/// `lamina build DIR --out OUT`, for the runs below to add their flags to.
fn lamina_build(lamina: &Path, dir: &Path, out: impl AsRef<Path>) -> Command {
    let mut command = Command::new(lamina);
    command.arg("build").arg(dir).arg("--out").arg(out.as_ref());
    command
}

/// What every app's row measures, Node or Python: Info-ZIP `zip -r` of the folder and `zip -@`
/// of exactly the kept files; `lamina build` cold (an empty cache each run), with `--no-cache`
/// (its `packaging.seconds` is the writer's time), warm (the last cold run's cache, same tree),
/// warm on a fresh copy of the tree; `lamina scan`; lamina's peak RSS. `dir` is canonical.
/// Returns the row's fields and the cold build's report of the function.
pub(crate) fn timings(
    lamina: &Path,
    dir: &Path,
    work: &Path,
    runs: usize,
) -> Result<(serde_json::Map<String, Value>, Value)> {
    let name = dir.file_name().unwrap().to_string_lossy().to_string();
    let parent = dir.parent().unwrap().to_path_buf();
    let dir = dir.to_path_buf();
    let (input_bytes, input_files) = folder_size(&dir)?;

    // Info-ZIP of the whole unslimmed folder.
    let full_zip = work.join("full.zip");
    let mut zip_full = Vec::new();
    for _ in 0..runs {
        let _ = fs_err::remove_file(&full_zip);
        let (seconds, _, _) = measure(
            Command::new("zip")
                .args(["-r", "-q", "-6", "-X", "-y"])
                .arg(&full_zip)
                .arg(&name)
                .current_dir(&parent),
        )?;
        zip_full.push(seconds);
    }

    // lamina cold: an empty cache every run.
    let out = work.join("out");
    let mut cold = Vec::new();
    let mut cold_rss = 0;
    let mut writer_seconds = Vec::new();
    let mut writer_cpu = Vec::new();
    let mut report = Value::Null;
    for run_index in 0..runs {
        let cache = work.join(format!("cache-{run_index}"));
        let (seconds, rss, output) = measure(
            lamina_build(lamina, &dir, &out)
                .arg("--json")
                .env("LAMINA_CACHE_DIR", &cache)
                .stdout(Stdio::piped()),
        )?;
        report = serde_json::from_slice(&output.stdout)?;
        cold.push(seconds);
        cold_rss = cold_rss.max(rss);
    }
    let function = &report["functions"][0];
    let lamina_bytes = function["zipped_bytes"].as_u64().unwrap_or(0);
    let zip_path = PathBuf::from(function["artifact"].as_str().unwrap_or_default());

    // The writer alone, without the cache: its throughput against Info-ZIP on the same files.
    let mut uncached = Vec::new();
    for _ in 0..runs {
        let (seconds, _, output) = measure(
            lamina_build(lamina, &dir, &out)
                .arg("--json")
                .arg("--no-cache")
                .stdout(Stdio::piped()),
        )?;
        let uncached_report: Value = serde_json::from_slice(&output.stdout)?;
        let packaging = &uncached_report["functions"][0]["packaging"];
        writer_seconds.push(packaging["seconds"].as_f64().unwrap_or(f64::NAN));
        writer_cpu.push(packaging["cpu_seconds"].as_f64().unwrap_or(f64::NAN));
        uncached.push(seconds);
    }

    // lamina warm: the cache of the last cold run, unchanged input, its zip in OUT as a build
    // with that cache wrote it (a first warm build, not measured, writes it: the `--no-cache`
    // builds above replaced it), so each run finds the zip it would write already there and
    // leaves it in place, as an engineer's rebuild does.
    run(lamina_build(lamina, &dir, &out)
        .env("LAMINA_CACHE_DIR", work.join(format!("cache-{}", runs - 1)))
        .stdout(Stdio::null()))?;
    settle_written_zips(
        lamina_build(lamina, &dir, &out)
            .env("LAMINA_CACHE_DIR", work.join(format!("cache-{}", runs - 1)))
            .stdout(Stdio::null()),
    )?;
    let mut warm = Vec::new();
    for _ in 0..runs {
        let (seconds, _, _) = measure(
            lamina_build(lamina, &dir, &out)
                .env("LAMINA_CACHE_DIR", work.join(format!("cache-{}", runs - 1)))
                .stdout(Stdio::null()),
        )?;
        warm.push(seconds);
    }

    // Listing the tree: `find` stats every entry, as any walk must (lamina's reads each
    // entry's size, times and inode to know it unchanged). A warm rebuild "bounded by the
    // walk" is measured against this floor.
    let mut list_tree = Vec::new();
    for _ in 0..runs {
        let (seconds, _, _) = measure(
            Command::new("find")
                .arg(&name)
                .args(["-printf", "%s %i %T@ %C@\\n"])
                .current_dir(&parent)
                .stdout(Stdio::null()),
        )?;
        list_tree.push(seconds);
    }

    // lamina warm on a fresh copy of the tree (new inodes and change times, as after `npm ci`
    // or `pip install` in CI): the cache's records are found by content, but no remembered
    // digest applies, so every kept file is read and hashed. `cp -a` keeps modification times,
    // which pip's pycs record: with new ones they would be stale and dropped, a different build.
    // A fresh output folder each run, as in CI: the zip is written, from the cache.
    let mut warm_copy = Vec::new();
    for run_index in 0..runs {
        let copy_root = work.join(format!("copy-{run_index}"));
        let copy = copy_root.join(&name);
        fs_err::create_dir_all(&copy_root)?;
        run(Command::new("cp").arg("-a").arg(&dir).arg(&copy))?;
        let (seconds, _, _) = measure(
            lamina_build(lamina, &copy, work.join(format!("out-copy-{run_index}")))
                .env("LAMINA_CACHE_DIR", work.join(format!("cache-{}", runs - 1)))
                .stdout(Stdio::null()),
        )?;
        warm_copy.push(seconds);
        fs_err::remove_dir_all(&copy_root)?;
    }

    let mut scan = Vec::new();
    for _ in 0..runs {
        let (seconds, _, _) = measure(
            Command::new(lamina)
                .arg("scan")
                .arg(&dir)
                .stdout(Stdio::null()),
        )?;
        scan.push(seconds);
    }

    // Info-ZIP of exactly the files lamina kept, from the same folder. A Python function's
    // dependencies sit at the zip's root but in its site-packages folder on disk: those are
    // zipped from there, appended to the same archive, so every name matches lamina's.
    let listing = String::from_utf8(run(Command::new("unzip").arg("-Z1").arg(&zip_path))?.stdout)?;
    let site = function["site_packages"]
        .as_str()
        .map(|site| dir.join(site));
    let mut from_dir = String::new();
    let mut from_site = String::new();
    for name in listing.lines() {
        let name = format!("{name}\n");
        match &site {
            Some(site) if !dir.join(name.trim_end()).exists() => from_site.push_str(&name),
            _ => from_dir.push_str(&name),
        }
    }
    let same_zip = work.join("same.zip");
    let mut zip_same = Vec::new();
    let mut zip_same_cpu = Vec::new();
    for _ in 0..runs {
        let _ = fs_err::remove_file(&same_zip);
        run(&mut Command::new("sync"))?;
        let started = Instant::now();
        let mut cpu = 0.0;
        for (names, folder) in [(&from_dir, Some(&dir)), (&from_site, site.as_ref())] {
            let Some(folder) = folder.filter(|_| !names.is_empty()) else {
                continue;
            };
            // zip's processor time (user, system), to set against the writer's
            // `packaging.cpu_seconds`: no other child is waited for meanwhile.
            let cpu_before = children_cpu_seconds()?;
            let mut child = Command::new("zip")
                .args(["-q", "-6", "-X", "-y", "-@"])
                .arg(&same_zip)
                .current_dir(folder)
                .stdin(Stdio::piped())
                .spawn()?;
            std::io::Write::write_all(child.stdin.as_mut().unwrap(), names.as_bytes())?;
            drop(child.stdin.take());
            if !child.wait()?.success() {
                bail!("zip -@ of the kept files in {} failed", folder.display());
            }
            cpu += children_cpu_seconds()? - cpu_before;
        }
        zip_same.push(started.elapsed().as_secs_f64());
        zip_same_cpu.push(cpu);
    }

    let kept_bytes = function["unzipped_bytes"].as_u64().unwrap_or(0);
    let row = json!({
        "app": name,
        "input_bytes": input_bytes,
        "input_files": input_files,
        "kept_bytes": kept_bytes,
        "kept_files": function["kept_files"],
        "zip_r_bytes": fs_err::metadata(&full_zip)?.len(),
        "zip_r_seconds": median(zip_full),
        "zip_same_files_bytes": fs_err::metadata(&same_zip)?.len(),
        "zip_same_files_seconds": median(zip_same),
        "zip_same_files_cpu_seconds": median(zip_same_cpu),
        "lamina_bytes": lamina_bytes,
        "lamina_cold_seconds": median(cold),
        "lamina_uncached_seconds": median(uncached),
        "lamina_writer_seconds": median(writer_seconds),
        "lamina_writer_cpu_seconds": median(writer_cpu),
        "lamina_warm_seconds": median(warm),
        "lamina_warm_copy_seconds": median(warm_copy),
        "listing_seconds": median(list_tree),
        "lamina_scan_seconds": median(scan),
        "lamina_peak_rss_kib": cold_rss,
    });
    let Value::Object(row) = row else {
        unreachable!("an object")
    };
    Ok((row, function.clone()))
}

/// Brings the zips a build just wrote to the state a later rebuild finds them in. lamina
/// trusts its record of a zip it left in place by the zip's stamp only when the record was
/// taken `SETTLED` (2 s) or more after the zip last changed. A record taken sooner, as the
/// writing build's own is, makes the next rebuild hash the whole zip and take the record
/// again (`src/package/reuse.rs`). An engineer's or a CI job's rebuild comes later, so this
/// waits 2.5 s and runs `rebuild` once, untimed, to take the records again, settled.
pub(crate) fn settle_written_zips(rebuild: &mut Command) -> Result<()> {
    std::thread::sleep(std::time::Duration::from_millis(2500));
    run(rebuild)?;
    Ok(())
}

fn bench_one(lamina: &Path, dir: &Path, work: &Path, runs: usize) -> Result<Value> {
    let dir = dir
        .canonicalize()
        .with_context(|| dir.display().to_string())?;
    let name = dir.file_name().unwrap().to_string_lossy().to_string();
    eprintln!("benchmarking {name}...");
    let _ = fs_err::remove_dir_all(work);
    fs_err::create_dir_all(work)?;
    let (mut row, function) = timings(lamina, &dir, work, runs)?;
    let handler = function["handler"]
        .as_str()
        .context("the report names no handler")?;
    let opened_bytes = opened_zip(&dir, handler, work)?;

    // `--shake files`: the file-level tracer beside the package-level build.
    let mut traced = Vec::new();
    let mut traced_report = Value::Null;
    for _ in 0..runs {
        let (seconds, _, output) = measure(
            lamina_build(lamina, &dir, work.join("traced"))
                .arg("--shake")
                .arg("files")
                .arg("--json")
                .arg("--no-cache")
                .stdout(Stdio::piped()),
        )?;
        traced_report = serde_json::from_slice(&output.stdout)?;
        traced.push(seconds);
    }
    let traced_function = &traced_report["functions"][0];

    // npm prune --omit=dev, then zip -r: what teams do by hand today.
    let pruned_root = work.join("pruned");
    let pruned = pruned_root.join(&name);
    fs_err::create_dir_all(&pruned_root)?;
    run(Command::new("cp").arg("-a").arg(&dir).arg(&pruned))?;
    run(Command::new("npm")
        .args([
            "prune",
            "--omit=dev",
            "--no-audit",
            "--no-fund",
            "--ignore-scripts",
        ])
        .current_dir(&pruned))?;
    let pruned_zip = work.join("pruned.zip");
    let (prune_zip_seconds, _, _) = measure(
        Command::new("zip")
            .args(["-r", "-q", "-6", "-X", "-y"])
            .arg(&pruned_zip)
            .arg(&name)
            .current_dir(&pruned_root),
    )?;

    row.extend(
        json!({
            "prune_zip_bytes": fs_err::metadata(&pruned_zip)?.len(),
            "prune_zip_seconds": prune_zip_seconds,
            "files_bytes": traced_function["zipped_bytes"],
            "files_kept_files": traced_function["kept_files"],
            "files_build_seconds": median(traced),
            "trace_seconds": traced_function["trace_seconds"],
            "trace_parsed_files": traced_function["trace_parsed_files"],
            "opened_bytes": opened_bytes,
        })
        .as_object()
        .expect("an object")
        .clone(),
    );
    Ok(Value::Object(row))
}

/// Runs the handler on its `event.json` (`{}` for an app without one) from the unslimmed folder
/// with `testdata/apps/run-handler.mjs`, which lists every file it loads or reads
/// (`LAMINA_E2E_OPENED`) and, apart, every file in the folders it lists (`.listed`: figlet
/// counts its fonts, so its answer relies on each), and zips exactly those of the function;
/// returns the zip's bytes.
fn opened_zip(dir: &Path, handler: &str, work: &Path) -> Result<u64> {
    let opened = work.join("opened.txt");
    let mut event = dir.join("event.json");
    if !event.is_file() {
        event = work.join("event.json");
        fs_err::write(&event, "{}")?;
    }
    run(Command::new("node")
        .arg(workspace().join("testdata/apps/run-handler.mjs"))
        .arg(dir)
        .arg(handler)
        .arg(&event)
        .env("LAMINA_E2E_OPENED", &opened)
        .stdout(Stdio::null()))?;
    let listed = work.join("opened.txt.listed");
    let listing = work.join("relied.txt");
    let mut relied = fs_err::read_to_string(&opened)?;
    if listed.is_file() {
        relied.push_str(&fs_err::read_to_string(&listed)?);
    }
    fs_err::write(&listing, relied)?;
    zip_listed(&listing, dir, None, work)
}

/// Copies the files of the function folder `dir` that `listing` names (one absolute path a
/// line, as the runners write with `LAMINA_E2E_OPENED`) to `work/opened`, the contents of
/// `dependencies` (a Python function's `package/`) at the root as lamina lays them out, and
/// zips them with Info-ZIP `zip -r -X`, as the other baselines; returns the zip's bytes.
fn zip_listed(listing: &Path, dir: &Path, dependencies: Option<&str>, work: &Path) -> Result<u64> {
    let folder = work.join("opened");
    let _ = fs_err::remove_dir_all(&folder);
    fs_err::create_dir_all(&folder)?;
    for line in fs_err::read_to_string(listing)?.lines() {
        let path = Path::new(line);
        let Ok(inside) = path.strip_prefix(dir) else {
            continue;
        };
        if !path.is_file() {
            continue;
        }
        let shipped = dependencies
            .and_then(|site| inside.strip_prefix(site).ok())
            .unwrap_or(inside);
        let to = folder.join(shipped);
        fs_err::create_dir_all(to.parent().expect("a file has a folder"))?;
        fs_err::copy(path, &to)?;
    }
    let zip = work.join("opened.zip");
    let _ = fs_err::remove_file(&zip);
    run(Command::new("zip")
        .args(["-q", "-r", "-X"])
        .arg(&zip)
        .arg(".")
        .current_dir(&folder))?;
    Ok(fs_err::metadata(&zip)?.len())
}

fn report(rows: &[Value], python_rows: &[Value], shared_cache_bytes: Option<u64>) -> Result<()> {
    let f = |row: &Value, key: &str| row[key].as_f64().unwrap_or(f64::NAN);
    let mut table = String::from(
        "| app | input MB | kept MB | zip -r MB | prune+zip MB | lamina MB | lamina ÷ prune+zip size | zip same files MB | lamina ÷ zip size (same files) | writer speed ÷ zip (same files) | writer CPU ÷ zip CPU (same files) | cold build ÷ zip -r time | no-cache build ÷ zip -r time | warm ÷ zip -r time | listing ÷ zip -r time | warm ÷ listing | warm, shared cache ÷ zip -r time | warm ÷ cold | warm on a fresh copy ÷ cold | scan s | peak RSS MiB |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let mb = |bytes: f64| bytes / 1e6;
    for row in rows {
        table.push_str(&format!(
            "| {} | {:.1} | {:.1} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.3} | {:.1}x | {:.2} | {:.2} | {:.2} | {:.3} | {:.3} | {:.1} | {:.3} | {:.2} | {:.2} | {:.3} | {:.0} |\n",
            row["app"].as_str().unwrap_or_default(),
            mb(f(row, "input_bytes")),
            mb(f(row, "kept_bytes")),
            mb(f(row, "zip_r_bytes")),
            mb(f(row, "prune_zip_bytes")),
            mb(f(row, "lamina_bytes")),
            f(row, "lamina_bytes") / f(row, "prune_zip_bytes"),
            mb(f(row, "zip_same_files_bytes")),
            f(row, "lamina_bytes") / f(row, "zip_same_files_bytes"),
            f(row, "zip_same_files_seconds") / f(row, "lamina_writer_seconds"),
            f(row, "lamina_writer_cpu_seconds") / f(row, "zip_same_files_cpu_seconds"),
            f(row, "lamina_cold_seconds") / f(row, "zip_r_seconds"),
            f(row, "lamina_uncached_seconds") / f(row, "zip_r_seconds"),
            f(row, "lamina_warm_seconds") / f(row, "zip_r_seconds"),
            f(row, "listing_seconds") / f(row, "zip_r_seconds"),
            f(row, "lamina_warm_seconds") / f(row, "listing_seconds"),
            f(row, "lamina_warm_shared_seconds") / f(row, "zip_r_seconds"),
            f(row, "lamina_warm_seconds") / f(row, "lamina_cold_seconds"),
            f(row, "lamina_warm_copy_seconds") / f(row, "lamina_cold_seconds"),
            f(row, "lamina_scan_seconds"),
            f(row, "lamina_peak_rss_kib") / 1024.0,
        ));
    }
    if let Some(bytes) = shared_cache_bytes {
        table.push_str(&format!(
            "\nWarm, shared cache: each app built warm in one cache holding every app's records ({:.1} MB of cache), its output folder removed first, so that the zip is written from the cache and every lookup searches every pack's keys.\n",
            bytes as f64 / 1e6
        ));
    }
    table.push_str("\n| app | deps zip MB | files zip MB | opened (+ listed) MB | files ÷ deps | files ÷ opened | files kept | trace s | parsed files | files build s |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for row in rows {
        table.push_str(&format!(
            "| {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {:.3} | {} | {:.3} |\n",
            row["app"].as_str().unwrap_or_default(),
            mb(f(row, "lamina_bytes")),
            mb(f(row, "files_bytes")),
            mb(f(row, "opened_bytes")),
            f(row, "files_bytes") / f(row, "lamina_bytes"),
            f(row, "files_bytes") / f(row, "opened_bytes"),
            row["files_kept_files"],
            f(row, "trace_seconds"),
            row["trace_parsed_files"],
            f(row, "files_build_seconds"),
        ));
    }
    if rows.is_empty() {
        table.clear();
    }
    if !python_rows.is_empty() {
        table.push_str(&python::table(python_rows));
    }
    print!("{table}");
    let path = write_json(
        "",
        &json!({ "rows": rows, "python_rows": python_rows, "table": table }),
    )?;
    println!("written {}", path.display());
    Ok(())
}

/// Writes `target/bench/<UTC date>[-suffix].json`; returns its path.
fn write_json(suffix: &str, value: &Value) -> Result<PathBuf> {
    let folder = workspace().join("target/bench");
    fs_err::create_dir_all(&folder)?;
    let date = String::from_utf8(
        Command::new("date")
            .args(["-u", "+%Y-%m-%dT%H%M%SZ"])
            .output()?
            .stdout,
    )?;
    let name = match suffix {
        "" => format!("{}.json", date.trim()),
        suffix => format!("{}-{suffix}.json", date.trim()),
    };
    let path = folder.join(name);
    fs_err::write(&path, serde_json::to_string_pretty(value)?)?;
    Ok(path)
}
