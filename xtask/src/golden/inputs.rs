//! `cargo xtask golden`'s inputs: the fixed list of function folders (`examples/`, the apps of
//! `testdata/apps`, `testdata/corpus` and `testdata/py-apps`, and `testdata/monorepo` whole),
//! the flags the tests give each one, and their installs, shared with the end-to-end tests'
//! cache (`tests/it/install.rs`): the same slot names, so an installed copy is reused, and the
//! same commands, so a missing one is installed as the tests would install it.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

use crate::{run, workspace};

/// Written into `<cache>/<name>-<hash>/` once an install has finished there; the tests'
/// `install::MARKER`.
const MARKER: &str = ".lamina-e2e-installed";

/// How an input gets its dependencies.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Install {
    /// Committed installed (`examples/hello-node` ships its `node_modules`): used in place.
    Committed,
    /// `npm ci --ignore-scripts` from the committed lockfile (`tests/it/e2e.rs`).
    Npm,
    /// `pip install --target package` with `testdata/py-apps/pip-install.args`
    /// (`tests/it/e2e_python.rs`).
    Pip,
    /// Copied into the cache and used as committed (`py-missing-deps`: requirements never
    /// installed, on purpose).
    Nothing,
    /// `testdata/monorepo`: `npm ci` in each Node function, `pip install --target package` of
    /// the pinned wheels and of `shared-py` in each Python function (`tests/it/e2e_monorepo.rs`).
    Monorepo,
}

impl Install {
    /// What the golden file says about it.
    pub fn describe(self) -> &'static str {
        match self {
            Install::Committed => "committed installed; used in place",
            Install::Npm => "npm ci --ignore-scripts",
            Install::Pip => "pip install --target package (testdata/py-apps/pip-install.args)",
            Install::Nothing => "nothing installed (as committed)",
            Install::Monorepo => {
                "npm ci in each Node function; pip install --target package in each Python one"
            }
        }
    }
}

/// One input of the golden run.
#[derive(Clone, Debug)]
pub struct Input {
    /// Its key in the golden file: the folder relative to `testdata/` (`apps/express-api`), or
    /// to the workspace for `examples/…`.
    pub key: String,
    /// The committed folder.
    pub source: PathBuf,
    pub install: Install,
    /// `--handler`, where the tests pass one.
    pub handler: Option<&'static str>,
    /// The corpus tests build with `--smoke --smoke-event event.json` (in `--shake deps` and
    /// `files`).
    pub smoke: bool,
    /// One more build with `--drop-runtime-sdk` (an app that installs the runtime's SDK).
    pub drop_runtime_sdk: bool,
    /// One more build with `--compile --strip` (a Python app with extension modules).
    pub compile_strip: bool,
}

/// Corpus folders that are not functions: `runtime-sdk-node` is what Lambda's runtime ships
/// on `NODE_PATH`, installed for the corpus tests' runner.
const NOT_FUNCTIONS: [&str; 1] = ["corpus/runtime-sdk-node"];

/// The inputs, in a fixed order: the groups in the order below, each group's folders sorted.
pub fn inputs() -> Result<Vec<Input>> {
    let root = workspace();
    let mut inputs = Vec::new();
    for (group, prefix) in [
        ("examples", "examples/"),
        ("testdata/apps", "apps/"),
        ("testdata/corpus", "corpus/"),
        ("testdata/py-apps", "py-apps/"),
    ] {
        let mut folders: Vec<PathBuf> = fs_err::read_dir(root.join(group))?
            .map(|entry| entry.map(|entry| entry.path()))
            .collect::<std::io::Result<_>>()?;
        folders.retain(|path| path.is_dir());
        folders.sort();
        for source in folders {
            let name = source.file_name().unwrap().to_string_lossy().to_string();
            let key = format!("{prefix}{name}");
            if NOT_FUNCTIONS.contains(&key.as_str()) {
                continue;
            }
            let install = if group == "examples" {
                Install::Committed
            } else if key == "corpus/py-missing-deps" {
                Install::Nothing
            } else if source.join("package-lock.json").is_file() {
                Install::Npm
            } else if source.join("requirements.txt").is_file() {
                Install::Pip
            } else {
                Install::Nothing
            };
            inputs.push(Input {
                handler: (key == "corpus/cdk-typescript").then_some("lambda/greeter.handler"),
                smoke: group == "testdata/corpus",
                drop_runtime_sdk: matches!(
                    key.as_str(),
                    "apps/dynamo-esm" | "corpus/py-boto3-vendored"
                ),
                compile_strip: key == "py-apps/web-validate",
                key,
                source,
                install,
            });
        }
    }
    inputs.push(Input {
        key: "monorepo".to_string(),
        source: root.join("testdata/monorepo"),
        install: Install::Monorepo,
        handler: None,
        smoke: false,
        drop_runtime_sdk: false,
        compile_strip: false,
    });
    Ok(inputs)
}

/// Where installed inputs live: `--inputs DIR` for every kind, else as the tests choose
/// (`$LAMINA_E2E_CACHE`, else `~/.cache/lamina-e2e` for npm installs and the monorepo and
/// `~/.cache/lamina-e2e-py` for Python apps).
pub struct Caches {
    pub node: PathBuf,
    pub python: PathBuf,
}

impl Caches {
    pub fn new(inputs: Option<PathBuf>) -> Result<Caches> {
        if let Some(dir) = inputs.or_else(|| std::env::var_os("LAMINA_E2E_CACHE").map(Into::into)) {
            return Ok(Caches {
                node: dir.clone(),
                python: dir,
            });
        }
        let home = std::env::var_os("HOME").context("set HOME, LAMINA_E2E_CACHE or --inputs")?;
        let cache = PathBuf::from(home).join(".cache");
        Ok(Caches {
            node: cache.join("lamina-e2e"),
            python: cache.join("lamina-e2e-py"),
        })
    }
}

/// `major.minor` of the local `python3`: it names the wheels pip installs.
pub fn local_python() -> Result<String> {
    let output =
        run(Command::new("python3")
            .args(["-c", "import sys; print('%d.%d' % sys.version_info[:2])"]))?;
    Ok(String::from_utf8(output.stdout)?.trim().to_string())
}

/// The tests' pip command (`testdata/py-apps/pip-install.args`, one argument per line).
fn pip_args(version: &str) -> Result<Vec<String>> {
    Ok(
        fs_err::read_to_string(workspace().join("testdata/py-apps/pip-install.args"))?
            .lines()
            .map(|arg| arg.replace("{python}", version))
            .collect(),
    )
}

/// The installed input folder: in place for a committed install, else the cache slot the
/// tests use, installed there first when it is missing.
pub fn installed(input: &Input, caches: &Caches) -> Result<PathBuf> {
    let name = input
        .source
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_string();
    match input.install {
        Install::Committed => Ok(input.source.clone()),
        Install::Npm => slot(
            &caches.node,
            &name,
            &input.source,
            "node_modules",
            "",
            npm_ci,
        ),
        Install::Nothing => slot(&caches.python, &name, &input.source, "package", "", |_| {
            Ok(())
        }),
        Install::Pip => {
            let args = pip_args(&local_python()?)?;
            let salt = format!("python3 {}", args.join(" "));
            slot(
                &caches.python,
                &name,
                &input.source,
                "package",
                &salt,
                |work| {
                    run(tool("python3").args(&args).current_dir(work))?;
                    Ok(())
                },
            )
        }
        Install::Monorepo => {
            let version = local_python()?;
            let salt = format!(
                "npm ci; pip --target package --python-version {version} manylinux2014_x86_64"
            );
            slot(
                &caches.node,
                &name,
                &input.source,
                "node_modules",
                &salt,
                |work| install_monorepo(work, &version),
            )
        }
    }
}

/// A command for npm or pip, with their download caches under `target/tool-caches` (as
/// `.cargo/config.toml` sets them), never the user's own `~/.npm` or `~/.cache/pip`.
fn tool(program: &str) -> Command {
    let caches = workspace().join("target/tool-caches");
    let mut command = Command::new(program);
    command
        .env("npm_config_cache", caches.join("npm"))
        .env("PIP_CACHE_DIR", caches.join("pip"));
    command
}

fn npm_ci(dir: &Path) -> Result<()> {
    run(tool("npm")
        .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund"])
        .current_dir(dir))?;
    Ok(())
}

/// `tests/it/e2e_monorepo.rs`'s install.
fn install_monorepo(work: &Path, version: &str) -> Result<()> {
    for name in ["node-greet", "node-slug"] {
        npm_ci(&work.join(name))?;
    }
    for name in ["py-fetch", "py-parse"] {
        let pip = |args: &[&str]| {
            run(tool("python3")
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                ])
                .args(["--target", "package", "--no-deps"])
                .args(args)
                .current_dir(work.join(name)))
        };
        pip(&[
            "--only-binary=:all:",
            "--platform",
            "manylinux2014_x86_64",
            "--implementation",
            "cp",
            "--python-version",
            version,
            "-r",
            "requirements.txt",
        ])?;
        pip(&["../shared-py"])?;
    }
    Ok(())
}

/// The committed files of `dir` (never a folder named `skip`, at any depth; links are not
/// files), relative, in the tests' order: each folder's entries sorted by name, depth first.
fn source_files(dir: &Path, skip: &str, prefix: &Path, into: &mut Vec<PathBuf>) -> Result<()> {
    let mut entries = fs_err::read_dir(dir)?.collect::<std::io::Result<Vec<_>>>()?;
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        if entry.file_name() == skip {
            continue;
        }
        let relative = prefix.join(entry.file_name());
        let kind = entry.file_type()?;
        if kind.is_dir() {
            source_files(&entry.path(), skip, &relative, into)?;
        } else if kind.is_file() {
            into.push(relative);
        }
    }
    Ok(())
}

/// `tests/it/install.rs` `installed`: the slot `<cache>/<name>-<16 hex>/` is keyed by the
/// SHA-256 of the app's files (name, NUL, length, bytes) and `salt`; an existing slot with its
/// marker is used as is. Otherwise the files are copied into a temporary folder in the cache,
/// installed there, marked and renamed into place, so the tests and a concurrent golden run
/// never see half an install.
fn slot(
    cache: &Path,
    name: &str,
    source: &Path,
    skip: &str,
    salt: &str,
    install: impl FnOnce(&Path) -> Result<()>,
) -> Result<PathBuf> {
    let mut files = Vec::new();
    source_files(source, skip, Path::new(""), &mut files)?;
    let mut hasher = Sha256::new();
    for relative in &files {
        let bytes = fs_err::read(source.join(relative))?;
        hasher.update(relative.to_string_lossy().as_bytes());
        hasher.update([0]);
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
    }
    if !salt.is_empty() {
        hasher.update(salt.as_bytes());
    }
    let hash = crate::golden::hex(&hasher.finalize());
    let slot = cache.join(format!("{name}-{}", &hash[..16]));
    let dir = slot.join(name);
    if slot.join(MARKER).exists() {
        return Ok(dir);
    }
    eprintln!("installing {name} into {}...", slot.display());
    fs_err::create_dir_all(cache)?;
    let temporary = cache.join(format!(".{name}-installing-golden-{}", std::process::id()));
    let _ = fs_err::remove_dir_all(&temporary);
    let work = temporary.join(name);
    for relative in &files {
        let to = work.join(relative);
        fs_err::create_dir_all(to.parent().unwrap())?;
        fs_err::copy(source.join(relative), &to)?;
    }
    if let Err(error) = install(&work) {
        let _ = fs_err::remove_dir_all(&temporary);
        return Err(error.context(format!("installing {name}")));
    }
    fs_err::write(temporary.join(MARKER), b"")?;
    // A slot without a marker is an old interrupted install: clear it so the rename can land.
    if slot.exists() && !slot.join(MARKER).exists() {
        fs_err::remove_dir_all(&slot)?;
    }
    if fs_err::rename(&temporary, &slot).is_err() {
        // Another process installed the same content first; use its copy.
        fs_err::remove_dir_all(&temporary)?;
        if !slot.join(MARKER).exists() {
            bail!("could not install {name} into {}", slot.display());
        }
    }
    Ok(dir)
}
