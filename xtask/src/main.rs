//! Project automation behind `cargo xtask`: `bench` measures lamina beside Info-ZIP `zip` and
//! `npm prune` on the end-to-end apps, in the same run, and writes the ratios to `target/bench/`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

const USAGE: &str = "usage: cargo xtask bench [FUNCTION_DIR...]\n\
  Without folders, installs the end-to-end apps of testdata/apps (by running their tests) and\n\
  benchmarks the installed copies.";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("bench") => bench(&args[1..]),
        _ => {
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    }
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn run(command: &mut Command) -> Result<()> {
    let status = command
        .status()
        .with_context(|| format!("running {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed with {status}");
    }
    Ok(())
}

/// The median wall time of `runs` runs of a command (after `prepare`).
fn median_time(
    runs: usize,
    mut prepare: impl FnMut() -> Result<()>,
    mut command: impl FnMut() -> Command,
) -> Result<Duration> {
    let mut times = Vec::new();
    for _ in 0..runs {
        prepare()?;
        let started = Instant::now();
        run(&mut command())?;
        times.push(started.elapsed());
    }
    times.sort();
    Ok(times[times.len() / 2])
}

fn folder_bytes(dir: &Path) -> Result<u64> {
    let mut total = 0;
    for entry in fs_err::read_dir(dir).with_context(|| dir.display().to_string())? {
        let entry = entry?;
        let meta = entry.path().symlink_metadata()?;
        if meta.is_dir() {
            total += folder_bytes(&entry.path())?;
        } else {
            total += meta.len();
        }
    }
    Ok(total)
}

/// The installed end-to-end apps: `<cache>/<name>-<hash>/<name>` with the install marker.
fn installed_apps() -> Result<Vec<PathBuf>> {
    let cache = match std::env::var_os("LAMINA_E2E_CACHE") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME").context("HOME is not set")?)
            .join(".cache/lamina-e2e"),
    };
    let mut apps = Vec::new();
    for app in fs_err::read_dir(workspace().join("testdata/apps"))? {
        let name = app?.file_name().into_string().unwrap();
        if !workspace().join("testdata/apps").join(&name).is_dir() {
            continue;
        }
        // The newest install of this app.
        let mut slots: Vec<(std::time::SystemTime, PathBuf)> = fs_err::read_dir(&cache)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|slot| {
                slot.file_name()
                    .to_string_lossy()
                    .starts_with(&format!("{name}-"))
            })
            .filter(|slot| slot.path().join(".lamina-e2e-installed").exists())
            .filter_map(|slot| {
                Some((
                    slot.metadata().ok()?.modified().ok()?,
                    slot.path().join(&name),
                ))
            })
            .collect();
        slots.sort();
        if let Some((_, dir)) = slots.pop() {
            apps.push(dir);
        }
    }
    apps.sort();
    Ok(apps)
}

struct Row {
    name: String,
    input_bytes: u64,
    zip_bytes: u64,
    zip_time: Duration,
    prune_zip_bytes: u64,
    lamina_bytes: u64,
    lamina_time: Duration,
}

fn bench(dirs: &[String]) -> Result<()> {
    let root = workspace();
    run(Command::new("cargo")
        .args(["build", "--release", "--locked", "-p", "lamina"])
        .current_dir(&root))?;
    let lamina = root.join("target/release/lamina");
    let dirs: Vec<PathBuf> = if dirs.is_empty() {
        // The e2e tests own the install (pinned lockfiles, cache outside the repo).
        run(Command::new("cargo")
            .args(["test", "--locked", "--test", "it", "e2e"])
            .current_dir(&root))?;
        installed_apps()?
    } else {
        dirs.iter().map(PathBuf::from).collect()
    };
    if dirs.is_empty() {
        bail!("no function folders to benchmark");
    }
    let work = tempfile_dir()?;
    let mut rows = Vec::new();
    for dir in &dirs {
        let dir = dir
            .canonicalize()
            .with_context(|| dir.display().to_string())?;
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let parent = dir.parent().unwrap().to_path_buf();
        let full_zip = work.join(format!("{name}-full.zip"));
        let zip_time = median_time(
            3,
            || remove(&full_zip),
            || {
                let mut command = Command::new("zip");
                command
                    .args(["-r", "-q", "-6", "-X"])
                    .arg(&full_zip)
                    .arg(&name)
                    .current_dir(&parent);
                command
            },
        )?;

        let pruned = work.join("pruned").join(&name);
        let _ = fs_err::remove_dir_all(work.join("pruned"));
        fs_err::create_dir_all(work.join("pruned"))?;
        run(Command::new("cp").arg("-a").arg(&dir).arg(&pruned))?;
        run(Command::new("npm")
            .args([
                "prune",
                "--omit=dev",
                "--no-audit",
                "--no-fund",
                "--ignore-scripts",
            ])
            .current_dir(&pruned)
            .stdout(std::process::Stdio::null()))?;
        let pruned_zip = work.join(format!("{name}-pruned.zip"));
        remove(&pruned_zip)?;
        run(Command::new("zip")
            .args(["-r", "-q", "-6", "-X"])
            .arg(&pruned_zip)
            .arg(&name)
            .current_dir(work.join("pruned")))?;

        let out = work.join("out");
        let lamina_time = median_time(
            3,
            || {
                let _ = fs_err::remove_dir_all(&out);
                Ok(())
            },
            || {
                let mut command = Command::new(&lamina);
                command
                    .arg("build")
                    .arg(&dir)
                    .arg("--out")
                    .arg(&out)
                    .stdout(std::process::Stdio::null());
                command
            },
        )?;
        rows.push(Row {
            name: name.clone(),
            input_bytes: folder_bytes(&dir)?,
            zip_bytes: fs_err::metadata(&full_zip)?.len(),
            zip_time,
            prune_zip_bytes: fs_err::metadata(&pruned_zip)?.len(),
            lamina_bytes: fs_err::metadata(out.join(format!("{name}.zip")))?.len(),
            lamina_time,
        });
    }
    let _ = fs_err::remove_dir_all(&work);
    print_and_save(&rows)
}

fn remove(path: &Path) -> Result<()> {
    match fs_err::remove_file(path) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error.into()),
        _ => Ok(()),
    }
}

fn tempfile_dir() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("lamina-bench-{}", std::process::id()));
    fs_err::create_dir_all(&dir)?;
    Ok(dir)
}

fn print_and_save(rows: &[Row]) -> Result<()> {
    let mut table = String::from(
        "| app | input bytes | zip -r bytes | npm prune + zip -r bytes | lamina zip bytes | lamina ÷ prune+zip | zip -r time | lamina build time | lamina ÷ zip -r time |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let mut json = Vec::new();
    for row in rows {
        let size_ratio = row.lamina_bytes as f64 / row.prune_zip_bytes as f64;
        let time_ratio = row.lamina_time.as_secs_f64() / row.zip_time.as_secs_f64();
        table.push_str(&format!(
            "| {} | {} | {} | {} | {} | {:.2} | {:.3} s | {:.3} s | {:.2} |\n",
            row.name,
            row.input_bytes,
            row.zip_bytes,
            row.prune_zip_bytes,
            row.lamina_bytes,
            size_ratio,
            row.zip_time.as_secs_f64(),
            row.lamina_time.as_secs_f64(),
            time_ratio
        ));
        json.push(format!(
            "{{\"app\":\"{}\",\"input_bytes\":{},\"zip_bytes\":{},\"prune_zip_bytes\":{},\"lamina_bytes\":{},\"zip_seconds\":{:.4},\"lamina_seconds\":{:.4}}}",
            row.name,
            row.input_bytes,
            row.zip_bytes,
            row.prune_zip_bytes,
            row.lamina_bytes,
            row.zip_time.as_secs_f64(),
            row.lamina_time.as_secs_f64()
        ));
    }
    print!("{table}");
    let folder = workspace().join("target/bench");
    fs_err::create_dir_all(&folder)?;
    let date = String::from_utf8(
        Command::new("date")
            .args(["-u", "+%Y-%m-%dT%H%M%SZ"])
            .output()?
            .stdout,
    )?;
    let path = folder.join(format!("{}.json", date.trim()));
    fs_err::write(&path, format!("[{}]\n", json.join(",\n")))?;
    println!("written {}", path.display());
    Ok(())
}
