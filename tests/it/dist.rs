//! lamina's packages (`cargo xtask dist`, `docs/packaging.md`), each built by the xtask's own
//! packaging code and installed from its artifact into a fresh folder or virtual environment,
//! as a user would: the npm tarballs (launcher and this platform's binary) with `npm install`,
//! `npx` and `npm run`; the wheel with pip into a new venv, with `uvx` and with `pipx run`.
//! Each install must run `lamina --version` and `lamina build` on `examples/hello-node`, and
//! carry the man page and completions the binary writes.
//!
//! The npm packages wrap the binary these tests run (`--binary`), as the release wraps its
//! release build. The wheel's binary is built by maturin itself, with the dev profile in
//! `<cache>/wheel-target` (outside the repo, kept between runs): the first run compiles lamina
//! and its dependencies once more (about 2.5 minutes on 2 cores, 830 MB kept), later runs only
//! what changed (the test then takes about 20 s).
//! Every tool comes from the registries into the cache (maturin by the xtask, pipx here, uv by
//! `e2e_python`), pip's downloads into `<cache>/pip-cache`. npm's and uv's caches for the
//! installs are per-run folders (the tarballs and the wheel change with every build, so a kept
//! cache would only grow) and pip installs the wheel with none: nothing goes to the user's.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use fs_err as fs;
use serde_json::Value;

use crate::install::{self, show};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn cache() -> PathBuf {
    install::cache_root("lamina-dist")
}

fn lamina() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_lamina"))
}

fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// npm's name for this machine (`linux-x64`): the platform package `dist` builds here.
fn npm_platform() -> String {
    let cpu = match std::env::consts::ARCH {
        "x86_64" => "x64",
        "aarch64" => "arm64",
        other => other,
    };
    format!("{}-{cpu}", std::env::consts::OS)
}

/// `cargo xtask dist --binary <this lamina> --out <scratch>/dist ARGS`; returns what it built,
/// sorted by name.
pub(crate) fn dist(scratch: &Path, args: &[&str]) -> Vec<PathBuf> {
    let out = scratch.join("dist");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "run",
            "--locked",
            "--quiet",
            "--package",
            "xtask",
            "--",
            "dist",
        ])
        .arg("--binary")
        .arg(lamina())
        .arg("--out")
        .arg(&out)
        .args(args)
        .current_dir(root())
        .env("npm_config_cache", scratch.join("npm-cache"))
        .env("PIP_CACHE_DIR", cache().join("pip-cache"))
        .output()
        .expect("run cargo xtask dist");
    assert!(
        output.status.success(),
        "cargo xtask dist failed:\n{}",
        show(&output)
    );
    let mut built: Vec<PathBuf> = fs::read_dir(&out)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    built.sort();
    built
}

fn run_ok(command: &mut Command) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("run {command:?}: {error}"));
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}",
        show(&output)
    );
    output
}

/// What an installed `lamina` must do: report this version, and build `examples/hello-node`
/// into a zip within Lambda's limits. `command` gives the way in (`npx lamina-cli`, a venv's
/// `bin/lamina`, ...), fresh for each call.
fn assert_runs(scratch: &Path, what: &str, command: impl Fn() -> Command) {
    let output = run_ok(command().arg("--version"));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        format!("lamina {}", version()),
        "{what}"
    );
    let out = scratch.join(format!("build-{what}"));
    let output = run_ok(
        command()
            .arg("build")
            .arg(root().join("examples/hello-node"))
            .arg("--out")
            .arg(&out)
            .arg("--json")
            .env("LAMINA_CACHE_DIR", scratch.join("lamina-cache")),
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["ok"], true, "{what}: {report}");
    assert!(out.join("hello-node.zip").is_file(), "{what}");
}

/// The man page and completions as this lamina writes them: `(arguments, text)`.
fn extras() -> Vec<(&'static str, String)> {
    [
        "man",
        "completions bash",
        "completions zsh",
        "completions fish",
    ]
    .into_iter()
    .map(|args| {
        let output = run_ok(Command::new(lamina()).args(args.split(' ')));
        (args, String::from_utf8(output.stdout).unwrap())
    })
    .collect()
}

fn npm(dir: &Path, scratch: &Path) -> Command {
    let mut command = Command::new("npm");
    command
        .current_dir(dir)
        .env("npm_config_cache", scratch.join("npm-cache"))
        .env("npm_config_update_notifier", "false")
        .env("npm_config_fund", "false")
        .env("npm_config_audit", "false");
    command
}

/// A fresh project folder whose `package.json` runs lamina from an npm script.
fn npm_project(dir: &Path) {
    fs::create_dir_all(dir).unwrap();
    fs::write(
        dir.join("package.json"),
        r#"{ "name": "fresh", "private": true, "scripts": { "package": "lamina" } }"#,
    )
    .unwrap();
}

#[test]
fn npm_tarballs_install_offline_and_run_lamina_through_the_launcher() {
    install::require_tool("npm", "Node.js with npm");
    let scratch = tempfile::tempdir().unwrap();
    let scratch = scratch.path();
    let built = dist(scratch, &["--only", "npm"]);
    let platform = npm_platform();
    let launcher = scratch.join(format!("dist/lamina-cli-{}.tgz", version()));
    let binary = scratch.join(format!("dist/lamina-cli-{platform}-{}.tgz", version()));
    // The Serverless plugin is packed too; tests/it/integrations.rs installs and runs it.
    let plugin = scratch.join(format!("dist/serverless-lamina-{}.tgz", version()));
    assert_eq!(built, [launcher.clone(), binary.clone(), plugin]);

    // A devDependency-style install from the two tarballs, offline: npm takes the platform
    // package for the launcher's optional dependency and asks the registry for nothing.
    let project = scratch.join("project");
    npm_project(&project);
    run_ok(
        npm(&project, scratch)
            .args(["install", "--offline", "--save-dev"])
            .arg(&launcher)
            .arg(&binary),
    );
    let installed = project.join(format!("node_modules/@lamina-cli/{platform}"));
    let manifest: Value =
        serde_json::from_str(&fs::read_to_string(installed.join("package.json")).unwrap()).unwrap();
    assert_eq!(
        manifest["os"][0],
        std::env::consts::OS.replace("macos", "darwin")
    );
    assert_eq!(manifest["libc"][0], "glibc");
    assert_eq!(
        fs::metadata(installed.join("bin/lamina")).unwrap().len(),
        fs::metadata(lamina()).unwrap().len(),
        "the platform package holds the binary it was given"
    );

    // `npx lamina-cli` and an npm script both reach the binary.
    assert_runs(scratch, "npx", || {
        let mut command = Command::new("npx");
        command
            .args(["--offline", "lamina-cli"])
            .current_dir(&project)
            .env("npm_config_cache", scratch.join("npm-cache"));
        command
    });
    assert_runs(scratch, "npm-run", || {
        let mut command = npm(&project, scratch);
        command.args(["run", "--silent", "package", "--"]);
        command
    });

    // lamina's exit code passes through the launcher: 2 for bad input.
    let output = npm(&project, scratch)
        .args(["run", "--silent", "package", "--", "build"])
        .arg(scratch.join("missing"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", show(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("missing"),
        "{}",
        show(&output)
    );

    // The launcher carries the man page (its `man` field) and the completions.
    let package = project.join("node_modules/lamina-cli");
    for (args, text) in extras() {
        let file = match args {
            "man" => "man/lamina.1",
            "completions bash" => "completions/lamina.bash",
            "completions zsh" => "completions/_lamina",
            _ => "completions/lamina.fish",
        };
        assert_eq!(
            fs::read_to_string(package.join(file)).unwrap(),
            text,
            "{file}"
        );
    }

    // Without its platform package (installed with --omit=optional, or an unpublished
    // platform), the launcher says so and exits 2 instead of failing obscurely.
    let bare = scratch.join("bare");
    npm_project(&bare);
    run_ok(
        npm(&bare, scratch)
            .args(["install", "--offline", "--omit=optional"])
            .arg(&launcher),
    );
    let output = npm(&bare, scratch)
        .args(["exec", "--offline", "--", "lamina", "--version"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", show(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains(&format!("no lamina binary for {platform}")),
        "{}",
        show(&output)
    );
}

/// The glibc version a manylinux platform tag names (`manylinux_2_34_x86_64` → (2, 34)).
fn manylinux_glibc(wheel: &str) -> (u32, u32) {
    let tag = wheel.rsplit('-').next().unwrap();
    let rest = tag
        .strip_prefix("manylinux_")
        .unwrap_or_else(|| panic!("{wheel} is not tagged manylinux_X_Y"));
    let mut parts = rest.split('_').map(|part| part.parse().unwrap());
    (parts.next().unwrap(), parts.next().unwrap())
}

#[test]
fn the_wheel_installs_into_a_fresh_venv_and_runs_with_pip_uvx_and_pipx() {
    install::require_tool("python3", "Python 3 with pip and venv");
    let scratch = tempfile::tempdir().unwrap();
    let scratch = scratch.path();
    let built = dist(
        scratch,
        &[
            "--only",
            "wheel",
            "--tools",
            &cache().join("tools").display().to_string(),
            "--wheel-target-dir",
            &cache().join("wheel-target").display().to_string(),
            "--wheel-profile",
            "dev",
            // Without debug information the cached target dir is a third of the size and the
            // build quicker; stripped, the binary stays under the size whose version needs
            // `lamina check` reads.
            "--maturin-arg",
            "--config=profile.dev.debug=0",
            "--maturin-arg",
            "--strip",
        ],
    );
    let [wheel] = &built[..] else {
        panic!("dist built {built:?}, not one wheel")
    };
    let name = wheel.file_name().unwrap().to_string_lossy().to_string();
    assert!(
        name.starts_with(&format!("lamina_cli-{}-py3-none-", version())),
        "{name}"
    );

    // The tag names the glibc the binary really needs, as lamina's own ELF reader finds it:
    // checked for python3.9 (glibc 2.26), the wheel's script reports the GLIBC_x.y it needs
    // above that, and the tag must be exactly that version.
    let tagged = manylinux_glibc(name.trim_end_matches(".whl"));
    let output = Command::new(lamina())
        .arg("check")
        .arg(wheel)
        .args(["--runtime", "python3.9", "--json"])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let findings = report["functions"][0]["findings"].as_array().unwrap();
    let needed = findings
        .iter()
        .find(|finding| finding["id"] == "native/glibc")
        .map(|finding| {
            let message = finding["message"].as_str().unwrap();
            let version = message
                .strip_prefix("needs GLIBC_")
                .and_then(|rest| rest.split(',').next())
                .unwrap_or_else(|| panic!("{message}"));
            let (major, minor) = version.split_once('.').unwrap();
            (major.parse().unwrap(), minor.parse().unwrap())
        });
    assert!(
        !findings
            .iter()
            .any(|finding| finding["id"] == "check/capped"),
        "the binary was too big to read: {findings:?}"
    );
    match needed {
        Some(needed) => assert_eq!(tagged, needed, "{name}: {findings:?}"),
        None => assert!(tagged <= (2, 26), "{name} needs no more than glibc 2.26"),
    }

    // pip into a fresh virtual environment: the script, and the data files under share/.
    let venv = scratch.join("venv");
    run_ok(Command::new("python3").args(["-m", "venv"]).arg(&venv));
    run_ok(
        Command::new(venv.join("bin/python"))
            .args(["-m", "pip", "install", "--no-index", "--no-cache-dir"])
            .args(["--disable-pip-version-check", "--quiet"])
            .arg(wheel),
    );
    assert_runs(scratch, "pip", || Command::new(venv.join("bin/lamina")));
    for (args, text) in extras() {
        let file = match args {
            "man" => "share/man/man1/lamina.1",
            "completions bash" => "share/bash-completion/completions/lamina",
            "completions zsh" => "share/zsh/site-functions/_lamina",
            _ => "share/fish/vendor_completions.d/lamina.fish",
        };
        assert_eq!(fs::read_to_string(venv.join(file)).unwrap(), text, "{file}");
    }

    // uvx (uv tool run) from the wheel file, offline, with its cache and HOME in the scratch.
    let uv = crate::e2e_python::uv_binary();
    let python = crate::e2e_python::python3_executable();
    assert_runs(scratch, "uvx", || {
        let mut command = Command::new(&uv);
        command
            .args(["tool", "run", "--offline", "--no-config", "--python"])
            .arg(&python)
            .arg("--from")
            .arg(wheel)
            .arg("lamina")
            .env("HOME", scratch.join("uv-home"))
            .env("UV_CACHE_DIR", scratch.join("uv-cache"))
            .env("UV_PYTHON_DOWNLOADS", "never");
        command
    });

    // pipx run from the wheel file, with its home in the scratch.
    let pipx = pipx_folder();
    assert_runs(scratch, "pipx", || {
        let mut command = Command::new("python3");
        command
            .args(["-m", "pipx", "run", "--spec"])
            .arg(wheel)
            .arg("lamina")
            .env("PYTHONPATH", &pipx)
            .env("HOME", scratch.join("pipx-home"))
            .env("PIPX_HOME", scratch.join("pipx"))
            .env("PIPX_BIN_DIR", scratch.join("pipx-bin"))
            .env("PIP_CACHE_DIR", cache().join("pip-cache"))
            .env("PIP_DISABLE_PIP_VERSION_CHECK", "1");
        command
    });
}

/// pipx, pinned: installed with `pip install --target` into the cache once, run as
/// `python3 -m pipx` with that folder on `PYTHONPATH`.
const PIPX_VERSION: &str = "1.18.4";

fn pipx_folder() -> PathBuf {
    let nothing = tempfile::tempdir().unwrap();
    let salt = format!("python3 -m pip install --target . pipx=={PIPX_VERSION}");
    install::installed(&cache(), "pipx", nothing.path(), "", &salt, |work| {
        run_ok(
            Command::new("python3")
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                ])
                .arg("--target")
                .arg(work)
                .arg(format!("pipx=={PIPX_VERSION}"))
                .env("PIP_CACHE_DIR", cache().join("pip-cache")),
        );
    })
}

/// The release workflow builds a package for exactly the platforms the launcher lists as
/// optional dependencies, each with `cargo xtask dist`, and publishes the platform packages
/// before the launcher. (The workflow itself runs only on GitHub.)
#[test]
fn the_release_workflow_builds_every_platform_the_launcher_names() {
    let text = fs::read_to_string(root().join(".github/workflows/release.yml")).unwrap();
    let workflow: Value = serde_saphyr::from_str(&text).expect("release.yml is YAML");
    let matrix = workflow["jobs"]["build"]["strategy"]["matrix"]["include"]
        .as_array()
        .unwrap();
    let mut built: Vec<String> = matrix
        .iter()
        .map(|entry| format!("@lamina-cli/{}", entry["platform"].as_str().unwrap()))
        .collect();
    built.sort();
    let launcher: Value = serde_json::from_str(
        &fs::read_to_string(root().join("packaging/npm/lamina-cli/package.json")).unwrap(),
    )
    .unwrap();
    let listed: Vec<String> = launcher["optionalDependencies"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(built, listed);

    let steps = workflow["jobs"]["build"]["steps"].as_array().unwrap();
    assert!(
        steps.iter().any(|step| step["run"]
            .as_str()
            .is_some_and(|run| run.contains("cargo xtask dist"))),
        "the build job runs cargo xtask dist"
    );
    let publish = workflow["jobs"]["publish"]["steps"].as_array().unwrap();
    let npm = publish
        .iter()
        .find_map(|step| {
            step["run"]
                .as_str()
                .filter(|run| run.contains("npm publish"))
        })
        .unwrap();
    let platforms = npm.find("lamina-cli-{linux,darwin,win32}").unwrap();
    let launcher = npm.find("lamina-cli-[0-9]").unwrap();
    assert!(
        platforms < launcher,
        "platform packages are published first:\n{npm}"
    );
}
