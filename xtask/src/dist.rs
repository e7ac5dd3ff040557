//! `cargo xtask dist`: the packages this machine can build, into `target/dist/`: the npm
//! launcher `lamina-cli` and this platform's `@lamina-cli/<os>-<cpu>` (`npm pack` tarballs),
//! any other package folder of `packaging/npm/`, and the PyPI wheel `lamina-cli` (maturin,
//! `bindings = "bin"`). The man page and the shell completions in them are written by the
//! packaged binary itself. `docs/packaging.md` says why the packages are shaped and named so.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::{run, workspace};

pub const USAGE: &str = "usage: cargo xtask dist [--only npm|wheel] [--binary PATH] [--out DIR]\n\
         [--tools DIR] [--wheel-target-dir DIR] [--wheel-profile NAME] [--maturin-arg ARG]...\n\
  Builds lamina's packages for this machine into DIR (default target/dist): the npm tarballs\n\
  (the launcher lamina-cli, this platform's @lamina-cli/<os>-<cpu>, and every other folder of\n\
  packaging/npm) and the wheel lamina-cli (maturin, installed pinned into --tools, default\n\
  target/dist-tools). --binary packages that lamina instead of a `cargo build --profile\n\
  distribution` (release, stripped); the wheel's binary is always built by maturin\n\
  (--wheel-profile, default distribution, in --wheel-target-dir, default cargo's;\n\
  --maturin-arg passes more, such as --zig).";

/// The cargo profile of what ships: release, stripped (`Cargo.toml`).
const DISTRIBUTION: &str = "distribution";

/// maturin, pinned: it decides the wheel's layout and tag.
const MATURIN_VERSION: &str = "1.16.0";

/// The npm scope of the platform packages, and the launcher's name (`docs/packaging.md`).
const SCOPE: &str = "@lamina-cli";
const LAUNCHER: &str = "lamina-cli";

/// One platform package: npm's names for the system (`process.platform`, `process.arch`),
/// which are also the package's `os`/`cpu` fields and its name after the scope.
struct Platform {
    os: &'static str,
    cpu: &'static str,
    /// npm's `libc` field: Linux builds link glibc, so npm skips them on musl.
    libc: Option<&'static str>,
}

/// Every platform a release publishes (`.github/workflows/release.yml` builds each on its
/// own runner); the launcher's `optionalDependencies` must name exactly these.
const PLATFORMS: &[Platform] = &[
    Platform {
        os: "darwin",
        cpu: "arm64",
        libc: None,
    },
    Platform {
        os: "darwin",
        cpu: "x64",
        libc: None,
    },
    Platform {
        os: "linux",
        cpu: "arm64",
        libc: Some("glibc"),
    },
    Platform {
        os: "linux",
        cpu: "x64",
        libc: Some("glibc"),
    },
    Platform {
        os: "win32",
        cpu: "x64",
        libc: None,
    },
];

impl Platform {
    fn package(&self) -> String {
        format!("{SCOPE}/{}-{}", self.os, self.cpu)
    }

    /// The platform this xtask runs on, in npm's names.
    fn host() -> Result<&'static Platform> {
        let os = match std::env::consts::OS {
            "macos" => "darwin",
            "windows" => "win32",
            other => other,
        };
        let cpu = match std::env::consts::ARCH {
            "x86_64" => "x64",
            "aarch64" => "arm64",
            other => other,
        };
        PLATFORMS
            .iter()
            .find(|platform| platform.os == os && platform.cpu == cpu)
            .with_context(|| format!("lamina publishes no npm package for {os}-{cpu}"))
    }
}

struct Options {
    npm: bool,
    wheel: bool,
    binary: Option<PathBuf>,
    out: PathBuf,
    tools: PathBuf,
    wheel_target_dir: Option<PathBuf>,
    wheel_profile: String,
    maturin_args: Vec<String>,
}

fn options(args: &[String]) -> Result<Options> {
    let target = target_dir()?;
    let mut options = Options {
        npm: true,
        wheel: true,
        binary: None,
        out: target.join("dist"),
        tools: target.join("dist-tools"),
        wheel_target_dir: None,
        wheel_profile: DISTRIBUTION.to_string(),
        maturin_args: Vec::new(),
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .cloned()
                .with_context(|| format!("{arg} needs a value\n{USAGE}"))
        };
        match arg.as_str() {
            "--only" => match value()?.as_str() {
                "npm" => options.wheel = false,
                "wheel" => options.npm = false,
                other => bail!("--only takes npm or wheel, not {other}\n{USAGE}"),
            },
            "--binary" => options.binary = Some(value()?.into()),
            "--out" => options.out = value()?.into(),
            "--tools" => options.tools = value()?.into(),
            "--wheel-target-dir" => options.wheel_target_dir = Some(value()?.into()),
            "--wheel-profile" => options.wheel_profile = value()?,
            "--maturin-arg" => options.maturin_args.push(value()?),
            other => bail!("unknown argument {other}\n{USAGE}"),
        }
    }
    Ok(options)
}

pub fn dist(args: &[String]) -> Result<()> {
    let options = options(args)?;
    let binary = match &options.binary {
        Some(binary) => binary.clone(),
        None => {
            run(Command::new("cargo")
                .args([
                    "build",
                    "--profile",
                    DISTRIBUTION,
                    "--locked",
                    "--bin",
                    "lamina",
                ])
                .current_dir(workspace()))?;
            target_dir()?
                .join(DISTRIBUTION)
                .join(format!("lamina{}", std::env::consts::EXE_SUFFIX))
        }
    };
    let version = version(&binary)?;
    fs_err::create_dir_all(&options.out)?;
    let out = options.out.canonicalize()?;
    // Everything is assembled here first; only the finished packages land in `out`.
    let stage = out.join(".stage");
    if stage.exists() {
        fs_err::remove_dir_all(&stage)?;
    }
    let extras = stage.join("extras");
    write_extras(&binary, &extras)?;

    let mut built = Vec::new();
    if options.npm {
        built.extend(npm_packages(&binary, &version, &extras, &stage, &out)?);
    }
    if options.wheel {
        built.push(wheel(&options, &extras, &stage, &out)?);
    }
    fs_err::remove_dir_all(&stage)?;
    for artifact in &built {
        let bytes = fs_err::metadata(artifact)?.len();
        println!("{bytes:>12}  {}", artifact.display());
    }
    Ok(())
}

/// Cargo's target directory (`CARGO_TARGET_DIR` or the workspace's `target/`).
pub(crate) fn target_dir() -> Result<PathBuf> {
    let output = run(Command::new("cargo")
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(workspace()))?;
    let metadata: Value = serde_json::from_slice(&output.stdout)?;
    let dir = metadata["target_directory"]
        .as_str()
        .context("cargo metadata gives no target_directory")?;
    Ok(PathBuf::from(dir))
}

/// The version the binary reports, which must be the crate's: a stale binary is refused.
fn version(binary: &Path) -> Result<String> {
    let output = run(Command::new(binary).arg("--version"))?;
    let text = String::from_utf8(output.stdout)?;
    let version = text
        .trim()
        .strip_prefix("lamina ")
        .with_context(|| format!("{} --version printed {text:?}", binary.display()))?;
    let manifest = fs_err::read_to_string(workspace().join("Cargo.toml"))?;
    let expected = manifest
        .lines()
        .find_map(|line| line.strip_prefix("version = \""))
        .and_then(|rest| rest.strip_suffix('"'))
        .context("Cargo.toml has no version line")?;
    if version != expected {
        bail!(
            "{} is lamina {version}, but Cargo.toml says {expected}: rebuild it",
            binary.display()
        );
    }
    Ok(version.to_string())
}

/// The man page and the completion scripts, as the binary writes them (`lamina man`,
/// `lamina completions SHELL`), at the paths a Unix prefix keeps them under (`share/...`).
const EXTRAS: &[(&[&str], &str)] = &[
    (&["man"], "share/man/man1/lamina.1"),
    (
        &["completions", "bash"],
        "share/bash-completion/completions/lamina",
    ),
    (&["completions", "zsh"], "share/zsh/site-functions/_lamina"),
    (
        &["completions", "fish"],
        "share/fish/vendor_completions.d/lamina.fish",
    ),
];

fn write_extras(binary: &Path, extras: &Path) -> Result<()> {
    for (args, path) in EXTRAS {
        let output = run(Command::new(binary).args(*args))?;
        if output.stdout.is_empty() {
            bail!("lamina {} printed nothing", args.join(" "));
        }
        let path = extras.join(path);
        fs_err::create_dir_all(path.parent().unwrap())?;
        fs_err::write(path, output.stdout)?;
    }
    Ok(())
}

/// The npm tarballs: the launcher (with the man page and completions, and every platform
/// package as an optional dependency of this version), this machine's platform package, and
/// every other package folder of `packaging/npm/` (its version set to lamina's, and so its
/// dependency on the launcher, if it has one).
fn npm_packages(
    binary: &Path,
    version: &str,
    extras: &Path,
    stage: &Path,
    out: &Path,
) -> Result<Vec<PathBuf>> {
    let mut built = Vec::new();
    let source = workspace().join("packaging/npm");
    let mut folders: Vec<PathBuf> = fs_err::read_dir(&source)?
        .map(|entry| entry.map(|entry| entry.path()))
        .collect::<Result<_, _>>()?;
    folders.sort();
    for folder in folders
        .iter()
        .filter(|folder| folder.join("package.json").is_file())
    {
        let name = folder.file_name().unwrap();
        let package = stage.join("npm").join(name);
        copy_tree(folder, &package)?;
        let mut manifest: Value =
            serde_json::from_str(&fs_err::read_to_string(package.join("package.json"))?)?;
        manifest["version"] = json!(version);
        if name == LAUNCHER {
            launcher(&mut manifest, version, extras, &package)?;
        } else if manifest["dependencies"].get(LAUNCHER).is_some() {
            // A package that runs lamina (the Serverless plugin) runs this very version: it
            // passes this version's flags and reads this version's report.
            manifest["dependencies"][LAUNCHER] = json!(version);
        }
        write_json(&package.join("package.json"), &manifest)?;
        built.push(npm_pack(&package, out)?);
    }

    let platform = Platform::host()?;
    let package = stage
        .join("npm")
        .join(format!("{}-{}", platform.os, platform.cpu));
    let executable = format!("lamina{}", std::env::consts::EXE_SUFFIX);
    fs_err::create_dir_all(package.join("bin"))?;
    fs_err::copy(binary, package.join("bin").join(&executable))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs_err::set_permissions(
            package.join("bin").join(&executable),
            std::fs::Permissions::from_mode(0o755),
        )?;
    }
    let mut manifest = json!({
        "name": platform.package(),
        "version": version,
        "description": format!("The lamina binary for {}-{}; install lamina-cli, which uses it.", platform.os, platform.cpu),
        "license": "MIT OR Apache-2.0",
        "os": [platform.os],
        "cpu": [platform.cpu],
        "files": ["bin"],
        // Yarn's Plug'n'Play must put the binary on disk to run it.
        "preferUnplugged": true,
    });
    if let Some(libc) = platform.libc {
        manifest["libc"] = json!([libc]);
    }
    write_json(&package.join("package.json"), &manifest)?;
    fs_err::write(
        package.join("README.md"),
        format!(
            "# {}\n\nThe `lamina` binary for {}-{}. Install `lamina-cli`, which picks this \
             package for you.\n",
            platform.package(),
            platform.os,
            platform.cpu
        ),
    )?;
    built.push(npm_pack(&package, out)?);
    Ok(built)
}

/// Completes the launcher's manifest: each platform package an optional dependency of exactly
/// this version, and the man page and completions copied in (`man`, `completions/`).
fn launcher(manifest: &mut Value, version: &str, extras: &Path, package: &Path) -> Result<()> {
    let listed: Vec<String> = manifest["optionalDependencies"]
        .as_object()
        .map(|dependencies| dependencies.keys().cloned().collect())
        .unwrap_or_default();
    let mut platforms: Vec<String> = PLATFORMS.iter().map(Platform::package).collect();
    platforms.sort();
    if listed != platforms {
        bail!(
            "packaging/npm/{LAUNCHER}/package.json's optionalDependencies {listed:?} must be \
             the platform packages {platforms:?}, sorted"
        );
    }
    manifest["optionalDependencies"] = platforms
        .iter()
        .map(|name| (name.clone(), json!(version)))
        .collect::<serde_json::Map<_, _>>()
        .into();
    let copies = [
        ("share/man/man1/lamina.1", "man/lamina.1"),
        (
            "share/bash-completion/completions/lamina",
            "completions/lamina.bash",
        ),
        ("share/zsh/site-functions/_lamina", "completions/_lamina"),
        (
            "share/fish/vendor_completions.d/lamina.fish",
            "completions/lamina.fish",
        ),
    ];
    for (from, to) in copies {
        let to = package.join(to);
        fs_err::create_dir_all(to.parent().unwrap())?;
        fs_err::copy(extras.join(from), to)?;
    }
    Ok(())
}

/// `npm pack` of a staged package folder into `out`; returns the tarball's path.
fn npm_pack(package: &Path, out: &Path) -> Result<PathBuf> {
    let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
    let output = run(Command::new(npm)
        .args(["pack", "--json", "--pack-destination"])
        .arg(out)
        .current_dir(package))?;
    let packed: Value = serde_json::from_slice(&output.stdout)
        .with_context(|| format!("npm pack --json in {}", package.display()))?;
    let file = packed[0]["filename"]
        .as_str()
        .context("npm pack --json names no file")?;
    Ok(out.join(file))
}

/// The wheel, built by maturin from a staged copy of `packaging/pypi/pyproject.toml` whose
/// `manifest-path` is the workspace's `Cargo.toml` and whose `data` folder holds the extras
/// under `data/` (installed under the environment's prefix: `share/man/man1/lamina.1`, ...).
fn wheel(options: &Options, extras: &Path, stage: &Path, out: &Path) -> Result<PathBuf> {
    let maturin = maturin(&options.tools)?;
    let project = stage.join("pypi");
    let source = workspace().join("packaging/pypi");
    copy_tree(&source, &project)?;
    let manifest = workspace().join("Cargo.toml");
    let pyproject = fs_err::read_to_string(project.join("pyproject.toml"))?;
    let mut staged = String::new();
    let mut replaced = false;
    for line in pyproject.lines() {
        if line.starts_with("manifest-path = ") {
            // TOML literal strings take a Windows path as it is.
            staged.push_str(&format!(
                "manifest-path = '{}'\ndata = 'data'\n",
                manifest.display()
            ));
            replaced = true;
        } else {
            staged.push_str(line);
            staged.push('\n');
        }
    }
    if !replaced {
        bail!(
            "{} has no manifest-path line",
            source.join("pyproject.toml").display()
        );
    }
    fs_err::write(project.join("pyproject.toml"), staged)?;
    copy_tree(&extras.join("share"), &project.join("data/data/share"))?;

    let wheels = stage.join("wheels");
    let mut command = Command::new(&maturin);
    command
        .args([
            "build",
            "--locked",
            "--profile",
            &options.wheel_profile,
            "--out",
        ])
        .arg(&wheels)
        .current_dir(&project);
    if let Some(dir) = &options.wheel_target_dir {
        command.arg("--target-dir").arg(dir);
    }
    command.args(&options.maturin_args);
    run(&mut command)?;
    let mut built: Vec<PathBuf> = fs_err::read_dir(&wheels)?
        .map(|entry| entry.map(|entry| entry.path()))
        .collect::<Result<_, _>>()?;
    let (Some(wheel), None) = (built.pop(), built.pop()) else {
        bail!(
            "maturin did not build exactly one wheel into {}",
            wheels.display()
        );
    };
    let to = out.join(wheel.file_name().unwrap());
    fs_err::rename(&wheel, &to)?;
    Ok(to)
}

/// maturin `MATURIN_VERSION`, installed from PyPI with `pip install --target` under `tools`
/// once (into a temporary folder renamed into place, so a concurrent run never sees a
/// half-installed one; maturin is a native binary, so the folder may move). Returns the
/// `maturin` executable.
fn maturin(tools: &Path) -> Result<PathBuf> {
    let folder = tools.join(format!("maturin-{MATURIN_VERSION}"));
    let executable = |folder: &Path| {
        if cfg!(windows) {
            folder.join("Scripts/maturin.exe")
        } else {
            folder.join("bin/maturin")
        }
    };
    if executable(&folder).is_file() {
        return Ok(executable(&folder));
    }
    fs_err::create_dir_all(tools)?;
    let temporary = tools.join(format!(".maturin-{MATURIN_VERSION}-{}", std::process::id()));
    let python = if cfg!(windows) { "python" } else { "python3" };
    run(Command::new(python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--target",
        ])
        .arg(&temporary)
        .arg(format!("maturin=={MATURIN_VERSION}")))?;
    if fs_err::rename(&temporary, &folder).is_err() {
        // Another run installed it first.
        fs_err::remove_dir_all(&temporary)?;
    }
    Ok(executable(&folder))
}

fn write_json(path: &Path, value: &Value) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    fs_err::write(path, text)?;
    Ok(())
}

/// Copies the files under `from` to `to`, keeping their permissions (the launcher's mode).
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    fs_err::create_dir_all(to)?;
    for entry in fs_err::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            fs_err::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}
