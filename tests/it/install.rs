//! The end-to-end tests' install cache, shared by the npm and pip apps: an app from `testdata/`
//! is copied into a cache folder outside the repo and installed there once per content, into a
//! temporary folder that is renamed into place, so concurrent tests and processes never see a
//! half-installed app. `cargo xtask golden` (`xtask/src/golden/inputs.rs`) finds and fills the
//! same slots: change the key or the marker in both.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

use fs_err as fs;
use sha2::{Digest, Sha256};

/// Written into `<cache>/<name>-<hash>/` once the install has finished there.
const MARKER: &str = ".lamina-e2e-installed";

/// Test threads would otherwise race to install the same app; other processes are kept apart by
/// installing into a temp dir and renaming it into place.
static INSTALL_LOCK: Mutex<()> = Mutex::new(());

/// `$LAMINA_E2E_CACHE`, else `$HOME/.cache/<default>`.
pub fn cache_root(default: &str) -> PathBuf {
    if let Some(dir) = std::env::var_os("LAMINA_E2E_CACHE") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").expect("set LAMINA_E2E_CACHE or HOME for the e2e cache");
    PathBuf::from(home).join(".cache").join(default)
}

/// Runs `cmd --version`, panicking with a clear message when the tool is missing.
pub fn require_tool(cmd: &str, what: &str) {
    let ok = Command::new(cmd)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "the e2e tests need `{cmd}` on PATH (CI has it); install {what}"
    );
}

/// What a handler run printed, after checking it succeeded and printed no `ERROR` line
/// (the runners' way of reporting a handler that threw).
pub fn handler_output(out: &Output, app: &str, dir: &Path) -> String {
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    assert!(
        out.status.success() && !stdout.starts_with("ERROR"),
        "handler of {app} failed in {}:\n{}",
        dir.display(),
        show(out)
    );
    stdout
}

pub fn show(out: &Output) -> String {
    format!(
        "status: {}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The app's source files (never the folder `installed` names), sorted by relative path.
fn source_files(app: &Path, installed: &str) -> Vec<PathBuf> {
    walkdir::WalkDir::new(app)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.file_name() != installed)
        .map(|e| e.expect("read testdata app"))
        .filter(|e| e.file_type().is_file())
        .map(|e| e.path().strip_prefix(app).unwrap().to_path_buf())
        .collect()
}

/// Copies the app at `src` into `<cache>/<name>-<hash>/<name>/` and runs `install` there, once
/// per content: the slot is keyed by the app's files (never its `installed` folder) and `salt`
/// (what else decides the install, such as the interpreter version), so an edited app gets a
/// fresh install. Returns the installed app folder.
pub fn installed(
    cache: &Path,
    name: &str,
    src: &Path,
    installed: &str,
    salt: &str,
    install: impl FnOnce(&Path),
) -> PathBuf {
    let files = source_files(src, installed);
    let mut hasher = Sha256::new();
    for rel in &files {
        let bytes = fs::read(src.join(rel)).unwrap();
        // Name and length framing, so moving bytes between files changes the hash too.
        hasher.update(rel.to_string_lossy().as_bytes());
        hasher.update([0]);
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
    }
    if !salt.is_empty() {
        hasher.update(salt.as_bytes());
    }
    let hash = hex::encode(hasher.finalize());
    let slot = cache.join(format!("{name}-{}", &hash[..16]));
    let dir = slot.join(name);
    if slot.join(MARKER).exists() {
        return dir;
    }

    let _guard = INSTALL_LOCK
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if slot.join(MARKER).exists() {
        return dir;
    }
    fs::create_dir_all(cache).unwrap();
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}-installing-"))
        .tempdir_in(cache)
        .unwrap();
    let work = tmp.path().join(name);
    for rel in &files {
        let to = work.join(rel);
        fs::create_dir_all(to.parent().unwrap()).unwrap();
        fs::copy(src.join(rel), &to).unwrap();
    }
    install(&work);
    fs::write(tmp.path().join(MARKER), b"").unwrap();

    // A slot without a marker is an old interrupted install: clear it so the rename can land.
    if slot.exists() && !slot.join(MARKER).exists() {
        fs::remove_dir_all(&slot).unwrap();
    }
    let tmp = tmp.keep();
    if fs::rename(&tmp, &slot).is_err() {
        // Another process installed the same content first; use its copy.
        fs::remove_dir_all(&tmp).unwrap();
        assert!(
            slot.join(MARKER).exists(),
            "could not install {name} into {}",
            slot.display()
        );
    }
    dir
}

/// Relative path, kind, size and mtime of everything under `dir`, links not followed: equal
/// listings before and after a build prove it did not touch its input.
pub fn listing(dir: &Path) -> Vec<String> {
    walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .map(|entry| {
            let entry = entry.unwrap();
            let meta = entry.path().symlink_metadata().unwrap();
            let relative = entry
                .path()
                .strip_prefix(dir)
                .unwrap()
                .display()
                .to_string();
            let mtime = meta.modified().unwrap();
            format!("{relative} {:?} {} {mtime:?}", meta.file_type(), meta.len())
        })
        .collect()
}

/// Bytes of every regular file under `dir`.
pub fn total_file_bytes(dir: &Path) -> u64 {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|entry| entry.unwrap())
        .filter(|entry| entry.file_type().is_file())
        .map(|entry| entry.metadata().unwrap().len())
        .sum()
}

/// The files of the function folder `input` listed in `opened` that are not in the unzipped
/// artifact `task`. `opened` is what a runner wrote with `LAMINA_E2E_OPENED`: what the handler
/// opened or imported (`testdata/py-apps/run_handler.py`) or loaded and read
/// (`testdata/apps/run-handler.mjs`). `dependencies` is the folder whose contents ship at the
/// artifact's root (`Some("package")` for a Python function's dependencies folder); anything
/// else, `node_modules` included, ships at the same path. Pycs under `__pycache__` follow their
/// source and are not counted.
pub fn opened_but_missing(
    opened: &Path,
    input: &Path,
    task: &Path,
    dependencies: Option<&str>,
) -> Vec<String> {
    let root = input.canonicalize().unwrap();
    fs_err::read_to_string(opened)
        .unwrap()
        .lines()
        .map(std::path::PathBuf::from)
        .filter(|path| {
            path.is_file()
                && !path
                    .components()
                    .any(|part| part.as_os_str() == "__pycache__")
        })
        .filter_map(|path| {
            let inside = path
                .canonicalize()
                .ok()?
                .strip_prefix(&root)
                .ok()?
                .to_path_buf();
            let shipped = dependencies
                .and_then(|folder| inside.strip_prefix(folder).ok())
                .unwrap_or(&inside)
                .to_path_buf();
            (!task.join(&shipped).is_file()).then(|| shipped.display().to_string())
        })
        .collect()
}

/// `serverless@3`, pinned by `testdata/tools/serverless`'s lockfile, installed once into the
/// cache `lamina-tools` (its npm downloads beside it); returns its `bin/serverless.js`. The
/// plugin tests (`integrations.rs`) and the resource-count tests (`stack.rs`) share it.
pub fn serverless_framework() -> PathBuf {
    npm_tool("serverless").join("node_modules/serverless/bin/serverless.js")
}

/// Turborepo and Nx, pinned by `testdata/tools/orchestrators`'s lockfile, installed once into
/// the cache `lamina-tools`; returns the folder holding their `node_modules`.
pub fn orchestrators() -> PathBuf {
    npm_tool("orchestrators")
}

/// The npm packages of `testdata/tools/<name>`, installed from its lockfile (`npm ci`, no
/// install scripts) once per content into the cache `lamina-tools`, its npm downloads beside
/// it; returns the installed folder.
fn npm_tool(name: &str) -> PathBuf {
    require_tool("npm", "Node.js with npm");
    let cache = &cache_root("lamina-tools");
    let npm_cache = cache.join("npm-cache");
    let tool = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/tools")
        .join(name);
    installed(cache, name, &tool, "node_modules", "", |dir| {
        let out = Command::new("npm")
            .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund"])
            .current_dir(dir)
            .env("npm_config_cache", &npm_cache)
            .env("npm_config_update_notifier", "false")
            .output()
            .expect("run npm ci");
        assert!(out.status.success(), "npm ci of {name}:\n{}", show(&out));
    })
}
