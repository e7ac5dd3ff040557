//! End-to-end: real PyPI apps (testdata/py-apps) must answer the same before and after
//! `lamina build`, under a bare `python3` with the unzipped artifact first on `sys.path`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use fs_err as fs;
use serde_json::Value;

use crate::install::{self, listing, show, total_file_bytes};

fn apps_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/py-apps")
}

/// `(major, minor)` of the local `python3`, which runs the handlers and names the wheels.
pub fn local_python() -> (u32, u32) {
    install::require_tool("python3", "Python 3 with pip");
    let out = Command::new("python3")
        .args(["-c", "import sys; print(*sys.version_info[:2])"])
        .output()
        .expect("run python3");
    let text = String::from_utf8(out.stdout).unwrap();
    let mut parts = text.split_whitespace().map(|part| part.parse().unwrap());
    (parts.next().unwrap(), parts.next().unwrap())
}

/// Copies `testdata/py-apps/<name>` into the cache and runs `pip install --target package`
/// there once per content and interpreter: manylinux x86_64 wheels for the local Python, every
/// version pinned in `requirements.txt` (`--no-deps`, so nothing else is resolved).
fn installed_app(name: &str) -> PathBuf {
    pip_installed(&apps_dir().join(name), name)
}

/// Copies the Python app at `app` into the cache as `name` and installs its `requirements.txt`
/// into `package/` there with `pip-install.args`, once per content and interpreter. Returns the
/// installed app folder.
pub fn pip_installed(app: &Path, name: &str) -> PathBuf {
    let (major, minor) = local_python();
    let version = format!("{major}.{minor}");
    // The install command, shared with `cargo xtask bench`: one argument per line.
    let pip_args: Vec<String> = fs::read_to_string(apps_dir().join("pip-install.args"))
        .unwrap()
        .lines()
        .map(|arg| arg.replace("{python}", &version))
        .collect();
    let salt = format!("python3 {}", pip_args.join(" "));
    let cache = install::cache_root("lamina-e2e-py");
    install::installed(&cache, name, app, "package", &salt, |work| {
        let out = Command::new("python3")
            .args(&pip_args)
            .current_dir(work)
            .output()
            .expect("run pip");
        assert!(
            out.status.success(),
            "pip install failed for {name}:\n{}",
            show(&out)
        );
    })
}

/// uv, pinned: the installer of uv's and SAM's Lambda guides (`uv pip install --target`).
const UV_VERSION: &str = "0.13.9";

/// The local `python3`'s interpreter, resolved (not a shim): uv installs for it and, with
/// `--compile-bytecode`, compiles with it, as the handlers run under it.
pub fn python3_executable() -> PathBuf {
    let out = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .expect("run python3");
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// uv, installed by this test's own code: `python3 -m pip install --target <cache>/uv-tool-…
/// uv==UV_VERSION` (no pip cache), once per version and interpreter, never into the user's
/// environment. Returns the `uv` executable.
pub fn uv_binary() -> PathBuf {
    let (major, minor) = local_python();
    let cache = install::cache_root("lamina-e2e-py");
    // The slot is keyed by the salt alone: there is no source to copy.
    let nothing = tempfile::tempdir().unwrap();
    let salt = format!("python3 {major}.{minor} -m pip install --target . uv=={UV_VERSION}");
    let tool = install::installed(&cache, "uv-tool", nothing.path(), "", &salt, |work| {
        let out = Command::new("python3")
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-cache-dir",
                "--target",
            ])
            .arg(work)
            .arg(format!("uv=={UV_VERSION}"))
            .output()
            .expect("run pip");
        assert!(
            out.status.success(),
            "pip install uv failed:\n{}",
            show(&out)
        );
    });
    let uv = tool.join("bin/uv");
    let out = Command::new(&uv)
        .arg("--version")
        .output()
        .unwrap_or_else(|error| panic!("run {}: {error}", uv.display()));
    let version = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && version.starts_with(&format!("uv {UV_VERSION} ")),
        "{} does not run:\n{}",
        uv.display(),
        show(&out)
    );
    uv
}

/// Copies `testdata/py-apps/<name>` into the cache and installs its `requirements.txt` into
/// `package/` there with uv, as uv's and SAM's Lambda guides do: `uv pip install --target package
/// --python-platform x86_64-manylinux_2_17 --python-version <local> --only-binary :all: --no-deps`,
/// with `--compile-bytecode --no-installer-metadata` when `compiled`. Once per content, uv
/// version and flags. uv's cache is `<cache>/uv-cache` (the installed files are hard links into
/// it, uv's default); uv runs with a scratch `HOME`, no `UV_*` variable of the caller and
/// `--no-config`, and must leave that `HOME` empty: nothing goes to `~/.cache/uv`.
fn uv_installed(name: &str, compiled: bool) -> PathBuf {
    let uv = uv_binary();
    let (major, minor) = local_python();
    let python = python3_executable();
    let mut args: Vec<String> = [
        "pip",
        "install",
        "--quiet",
        "--no-config",
        "--target",
        "package",
        "--python-platform",
        "x86_64-manylinux_2_17",
        "--python-version",
        &format!("{major}.{minor}"),
        "--only-binary",
        ":all:",
        "--no-deps",
        "--python",
        &python.display().to_string(),
    ]
    .map(String::from)
    .to_vec();
    if compiled {
        args.extend(["--compile-bytecode", "--no-installer-metadata"].map(String::from));
    }
    args.extend(["-r", "requirements.txt"].map(String::from));
    let salt = format!("uv {UV_VERSION} {}", args.join(" "));
    let cache = install::cache_root("lamina-e2e-py");
    let uv_cache = cache.join("uv-cache");
    install::installed(
        &cache,
        name,
        &apps_dir().join(name),
        "package",
        &salt,
        |work| {
            let home = tempfile::tempdir().unwrap();
            let mut command = Command::new(&uv);
            command
                .args(&args)
                .current_dir(work)
                .env("HOME", home.path())
                .env_remove("XDG_CACHE_HOME")
                .env_remove("XDG_CONFIG_HOME")
                .env_remove("XDG_DATA_HOME");
            // No `UV_*` setting of the caller (`UV_COMPILE_BYTECODE`, `UV_LINK_MODE`, an index)
            // changes the install; then uv's cache inside ours, and never a Python download.
            for (key, _) in std::env::vars_os() {
                if key.to_string_lossy().starts_with("UV_") {
                    command.env_remove(key);
                }
            }
            command
                .env("UV_CACHE_DIR", &uv_cache)
                .env("UV_PYTHON_DOWNLOADS", "never");
            let out = command.output().expect("run uv");
            assert!(
                out.status.success(),
                "uv pip install failed for {name}:\n{}",
                show(&out)
            );
            let left: Vec<PathBuf> = walkdir::WalkDir::new(home.path())
                .min_depth(1)
                .into_iter()
                .map(|entry| entry.unwrap().into_path())
                .collect();
            assert!(left.is_empty(), "uv wrote into its HOME: {left:?}");
        },
    )
}

/// Runs `lambda_function.lambda_handler` on the app's event with `python3 -S -B` (no site
/// folders of this machine, which could hide a missing package; no pycs written into the input).
fn run_handler(dir: &Path, app: &str, extra: &[&Path]) -> String {
    let out = Command::new("python3")
        .args(["-S", "-B"])
        .arg(apps_dir().join("run_handler.py"))
        .arg(dir)
        .arg("lambda_function.lambda_handler")
        .arg(apps_dir().join(app).join("event.json"))
        .args(extra)
        .output()
        .expect("run python3");
    install::handler_output(&out, app, dir)
}

/// Unzips `zip` into `task` with Info-ZIP `unzip`, which restores links as Lambda does.
pub(crate) fn unzip(zip: &Path, task: &Path) {
    let unzip = Command::new("unzip")
        .arg("-q")
        .arg(zip)
        .arg("-d")
        .arg(task)
        .output()
        .expect("the e2e tests need Info-ZIP `unzip` on PATH");
    assert!(unzip.status.success(), "unzip:\n{}", show(&unzip));
}

/// What one app's build gave.
struct Slimmed {
    report: Value,
    zip: PathBuf,
    task: PathBuf,
    input_bytes: u64,
    _tmp: tempfile::TempDir,
}

impl Slimmed {
    fn function(&self) -> &Value {
        &self.report["functions"][0]
    }

    fn status(&self, name: &str) -> String {
        self.function()["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|package| package["name"] == name)
            .unwrap_or_else(|| panic!("no distribution {name} in the report"))["status"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

/// Builds the installed app, runs the handler from the extracted zip and from the input, and
/// requires the same answer; checks the pycs the interpreter loads are the rewritten ones.
fn slimmed_app_answers_the_same(name: &str) -> Slimmed {
    let input = installed_app(name);
    let expected = run_handler(&input, name, &[&input.join("package")]);
    let before = listing(&input);

    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let run = crate::harness::lamina_command()
        .arg("build")
        .arg(&input)
        .arg("--out")
        .arg(&out)
        .arg("--json")
        .output()
        .expect("run lamina");
    assert_eq!(
        run.status.code(),
        Some(0),
        "lamina build {name}:\n{}",
        show(&run)
    );
    assert!(before == listing(&input), "lamina build modified its input");
    let report: Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(report["ok"], true, "report not ok:\n{report:#}");
    let function = &report["functions"][0];
    let (major, minor) = local_python();
    assert_eq!(function["runtime"], format!("python{major}.{minor}"));
    assert_eq!(function["site_packages"], "package");

    let zip = out.join(format!("{name}.zip"));
    let task = tmp.path().join("task");
    unzip(&zip, &task);
    let actual = run_handler(&task, name, &[]);
    assert!(
        expected == actual,
        "{name} answers differently after slimming\n--- unslimmed\n{expected}--- from the zip\n{actual}"
    );

    // Every module imported from the artifact that has a pyc must load it, not compile again.
    assert!(function["rewritten_pycs"].as_u64().unwrap() > 0);
    assert_loads_shipped_pycs(&task, name);
    let zipped = fs::metadata(&zip).unwrap().len();
    let input_bytes = total_file_bytes(&input);
    assert!(
        zipped < input_bytes,
        "{name}: zip of {zipped} bytes is not smaller"
    );
    Slimmed {
        report,
        zip,
        task,
        input_bytes,
        _tmp: tmp,
    }
}

/// Runs the handler from the unzipped artifact `task` under `python3 -v`: every module imported
/// from it that has a shipped pyc must load the pyc, not compile its source again.
fn assert_loads_shipped_pycs(task: &Path, name: &str) -> Vec<String> {
    let verbose = Command::new("python3")
        .args(["-S", "-B", "-v"])
        .arg(apps_dir().join("run_handler.py"))
        .arg(task)
        .arg("lambda_function.lambda_handler")
        .arg(apps_dir().join(name).join("event.json"))
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&verbose.stderr);
    let task_text = task.display().to_string();
    let loaded: Vec<String> = log
        .lines()
        .filter(|line| line.starts_with("# code object from ") && line.contains(&task_text))
        .map(str::to_string)
        .collect();
    let compiled: Vec<&str> = loaded
        .iter()
        .map(String::as_str)
        .filter(|line| line.ends_with(".py") || line.ends_with(".py'"))
        .filter(|line| !line.contains("lambda_function.py"))
        .collect();
    assert!(
        compiled.is_empty(),
        "{name}: modules compiled from source although their pycs ship:\n{}",
        compiled.join("\n")
    );
    loaded
}

/// requests and pydantic: certifi's CA bundle is a data file, urllib3 is runtime-provided and
/// kept without --drop-runtime-sdk, pydantic-core is native.
#[test]
fn web_validation_app_runs_the_same_slimmed() {
    let slimmed = slimmed_app_answers_the_same("web-validate");
    assert_eq!(slimmed.status("urllib3"), "kept");
    assert_eq!(slimmed.status("pydantic-core"), "kept");
    assert!(slimmed.task.join("certifi/cacert.pem").is_file());
    assert!(!slimmed.task.join("bin").exists(), "console scripts go");
    let unzipped = slimmed.function()["unzipped_bytes"].as_u64().unwrap();
    assert!(unzipped < slimmed.input_bytes);
}

/// numpy: its OpenBLAS in `numpy.libs/` ships byte for byte, its test folders go, `numpy.testing`
/// stays (the handler uses it).
#[test]
fn numpy_app_runs_the_same_slimmed() {
    let slimmed = slimmed_app_answers_the_same("numpy-stats");
    let input = installed_app("numpy-stats").join("package");
    let libs: Vec<PathBuf> = fs::read_dir(input.join("numpy.libs"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert!(!libs.is_empty());
    for lib in libs {
        let shipped = slimmed
            .task
            .join("numpy.libs")
            .join(lib.file_name().unwrap());
        assert!(
            fs::read(&lib).unwrap() == fs::read(&shipped).unwrap(),
            "{} changed",
            shipped.display()
        );
    }
    assert!(slimmed.task.join("numpy/testing/__init__.py").is_file());
    assert!(!slimmed.task.join("numpy/core/tests").exists());
    let rules = slimmed.function()["rules"].to_string();
    assert!(
        rules.contains("py/test-folder") && rules.contains("py/type-stub"),
        "{rules}"
    );
}

/// protobuf and googleapis-common-protos share the `google` namespace package: neither ships a
/// `google/__init__.py`, and both must be found.
#[test]
fn namespace_package_app_runs_the_same_slimmed() {
    let slimmed = slimmed_app_answers_the_same("protobuf-ns");
    assert_eq!(slimmed.status("protobuf"), "kept");
    assert_eq!(slimmed.status("googleapis-common-protos"), "kept");
    assert!(!slimmed.task.join("google/__init__.py").exists());
    assert!(
        slimmed.task.join("google/protobuf").is_dir() && slimmed.task.join("google/type").is_dir()
    );
}

/// jinja2 with pytest and black leaked into the install: the dev tools and their dependencies
/// go, the function's own tests go, `jinja2/tests.py` (a real module) stays, and the zip fits
/// the console editor's 3 MiB.
#[test]
fn leaked_dev_tools_app_runs_the_same_and_fits_the_console_limit() {
    let slimmed = slimmed_app_answers_the_same("devtools-leak");
    for tool in [
        "pytest",
        "black",
        "click",
        "pluggy",
        "iniconfig",
        "packaging",
        "pathspec",
        "platformdirs",
        "mypy-extensions",
    ] {
        assert_eq!(slimmed.status(tool), "dropped", "{tool}");
    }
    assert!(slimmed.task.join("jinja2/tests.py").is_file());
    assert!(!slimmed.task.join("tests").exists());
    let console = slimmed.function()["limits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|limit| limit["id"] == "console_editor")
        .unwrap()
        .clone();
    assert_eq!(console["ok"], true, "{console}");
    assert!(fs::metadata(&slimmed.zip).unwrap().len() <= 3 * 1024 * 1024);
}

/// `--shake files` traces each app's modules from the handler: the handler answers the same from
/// the traced zip, and every file of the function the unslimmed run opened or imported (an audit
/// hook on `open`, and every loaded module's file) ships in it — the tracer's invariant. Each
/// app's traced zip is no larger than its `--shake deps` zip.
#[test]
fn traced_apps_answer_the_same_and_ship_every_file_the_handler_opens() {
    for name in [
        "web-validate",
        "numpy-stats",
        "protobuf-ns",
        "devtools-leak",
        "api-mangum",
    ] {
        let input = installed_app(name);
        let tmp = tempfile::tempdir().unwrap();
        let opened = tmp.path().join("opened.txt");
        let expected = {
            let out = Command::new("python3")
                .args(["-S", "-B"])
                .arg(apps_dir().join("run_handler.py"))
                .arg(&input)
                .arg("lambda_function.lambda_handler")
                .arg(apps_dir().join(name).join("event.json"))
                .arg(input.join("package"))
                .env("LAMINA_E2E_OPENED", &opened)
                .output()
                .expect("run python3");
            install::handler_output(&out, name, &input)
        };
        let mut zips = Vec::new();
        for shake in ["deps", "files"] {
            let out = tmp.path().join(shake);
            let run = crate::harness::lamina_command()
                .arg("build")
                .arg(&input)
                .args(["--shake", shake, "--json", "--out"])
                .arg(&out)
                .output()
                .expect("run lamina");
            assert_eq!(run.status.code(), Some(0), "{name}:\n{}", show(&run));
            zips.push(out.join(format!("{name}.zip")));
        }
        assert!(
            fs::metadata(&zips[1]).unwrap().len() <= fs::metadata(&zips[0]).unwrap().len(),
            "{name}: the traced zip is larger than the deps zip"
        );
        let task = tmp.path().join("task");
        unzip(&zips[1], &task);
        let actual = run_handler(&task, name, &[]);
        assert!(
            expected == actual,
            "{name} answers differently after --shake files\n--- unslimmed\n{expected}--- from the zip\n{actual}"
        );
        let missing = install::opened_but_missing(&opened, &input, &task, Some("package"));
        assert!(
            missing.is_empty(),
            "{name}: files the handler opened do not ship with --shake files: {missing:?}"
        );
    }
}

/// Relative paths of the regular files under `dir`, split into pycs (`__pycache__/*.pyc`) and
/// the rest.
fn files_under(dir: &Path) -> (BTreeSet<String>, BTreeSet<String>) {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|entry| entry.unwrap())
        .filter(|entry| entry.file_type().is_file())
        .map(|entry| {
            let path = entry.path().strip_prefix(dir).unwrap();
            path.display().to_string()
        })
        .partition(|path| path.contains("__pycache__/") && path.ends_with(".pyc"))
}

/// What a report says of each distribution, without what depends on the installer (bytes and
/// file counts, which count pycs and `INSTALLER`/`REQUESTED`).
fn distributions(report: &Value) -> Vec<Value> {
    report["functions"][0]["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|package| {
            let python = &package["python"];
            let trace = &package["trace"];
            serde_json::json!({
                "name": package["name"],
                "version": package["version"],
                "path": package["path"],
                "status": package["status"],
                "class": package["class"],
                "reason": package["reason"],
                "runtime_provided": package["runtime_provided"],
                "top_level": python["top_level"],
                "entry_point_groups": python["entry_point_groups"],
                "wheel_tags": python["wheel_tags"],
                "requires": python["requires"],
                "trace_mode": trace["mode"],
                "trace_reached_files": trace["reached_files"],
                "trace_reason": trace["reason"],
            })
        })
        .collect()
}

/// `lamina build --shake <shake> ARGS` of an installed app, unzipped.
fn build_unzipped(input: &Path, name: &str, shake: &str, args: &[&str]) -> Slimmed {
    let before = listing(input);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let run = crate::harness::lamina_command()
        .arg("build")
        .arg(input)
        .args(["--shake", shake, "--json", "--out"])
        .arg(&out)
        .args(args)
        .output()
        .expect("run lamina");
    assert_eq!(run.status.code(), Some(0), "{name}:\n{}", show(&run));
    assert!(before == listing(input), "lamina build modified its input");
    let report: Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(report["ok"], true, "report not ok:\n{report:#}");
    let zip = out.join(format!("{name}.zip"));
    let task = tmp.path().join("task");
    unzip(&zip, &task);
    Slimmed {
        report,
        zip,
        task,
        input_bytes: total_file_bytes(input),
        _tmp: tmp,
    }
}

/// Installed with uv as uv's and SAM's Lambda guides do (`uv_installed`), plain and with
/// `--compile-bytecode --no-installer-metadata`, an app answers as its pip install does, from
/// its input and from the unzipped `--shake deps` and `--shake files` zips, and slims the same:
/// the report says the same of every distribution (status, class, reason, trace) and the same
/// files ship. What legitimately differs by installer, asserted on the inputs: pip compiles
/// pycs, uv only with `--compile-bytecode` (then the same ones); `--no-installer-metadata` leaves
/// out each `INSTALLER` and `REQUESTED` (uv's `RECORD` stays, and lists no pycs); uv leaves an
/// empty `package/.lock`. Each `RECORD` lists what its installer wrote. In the zips, only the
/// pycs differ: none ship from the plain uv install; the compiled one ships pip's set (bytes
/// differ: a pyc holds its install's absolute path).
///
/// Without `--runtime`, lamina reads the Python version from extension modules' names, WHEEL
/// tags and pycs. web-validate's cp311 extension modules name it whatever the installer;
/// protobuf-ns's wheels are abi3 and pure, so its plain uv install (no pycs) names no version:
/// lamina falls back to its default (`runtime_source` `default`) where pip's pycs say the local
/// Python. That build is checked to say so, and the comparison passes `--runtime` as the user
/// then must.
#[test]
fn uv_installed_apps_answer_and_slim_as_pip_installed_ones() {
    // (app, whether its wheels name the Python version)
    for (name, names_python) in [("web-validate", true), ("protobuf-ns", false)] {
        let pip = installed_app(name);
        let answer = run_handler(&pip, name, &[&pip.join("package")]);
        let (pip_pycs, pip_files) = files_under(&pip.join("package"));
        let pip_builds = [
            build_unzipped(&pip, name, "deps", &[]),
            build_unzipped(&pip, name, "files", &[]),
        ];
        let (major, minor) = local_python();
        let local_runtime = format!("python{major}.{minor}");
        assert_eq!(pip_builds[0].function()["runtime"], local_runtime.as_str());
        for compiled in [false, true] {
            let how = if compiled {
                "uv --compile-bytecode --no-installer-metadata"
            } else {
                "uv"
            };
            let input = uv_installed(name, compiled);
            let (pycs, files) = files_under(&input.join("package"));
            let installer_only = |path: &&String| {
                compiled && (path.ends_with("/INSTALLER") || path.ends_with("/REQUESTED"))
            };
            let expected_files: BTreeSet<String> = pip_files
                .iter()
                .filter(|path| !installer_only(path))
                .cloned()
                .chain([".lock".to_string()])
                .collect();
            assert_eq!(files, expected_files, "{name}, {how}: installed files");
            let expected_pycs = if compiled {
                pip_pycs.clone()
            } else {
                BTreeSet::new()
            };
            assert_eq!(pycs, expected_pycs, "{name}, {how}: installed pycs");

            let from_input = run_handler(&input, name, &[&input.join("package")]);
            assert!(
                from_input == answer,
                "{name}, {how}: answers differently from pip's install\n--- pip\n{answer}--- {how}\n{from_input}"
            );
            let mut runtime_flag: Vec<&str> = Vec::new();
            if !compiled && !names_python {
                let guessed = build_unzipped(&input, name, "deps", &[]);
                assert_eq!(
                    guessed.function()["runtime_source"],
                    "default",
                    "{name}, {how}: nothing names the Python version"
                );
                runtime_flag = vec!["--runtime", &local_runtime];
            }
            for pip_build in &pip_builds {
                let pip_report = &pip_build.report;
                let shake = pip_report["functions"][0]["shake"].as_str().unwrap();
                let built = build_unzipped(&input, name, shake, &runtime_flag);
                let actual = run_handler(&built.task, name, &[]);
                assert!(
                    actual == answer,
                    "{name}, {how}: answers differently from the --shake {shake} zip\n--- unslimmed\n{answer}--- from the zip\n{actual}"
                );
                assert_eq!(
                    distributions(&built.report),
                    distributions(pip_report),
                    "{name}, {how}, --shake {shake}: the distributions"
                );
                let function = built.function();
                let pip_function = pip_build.function();
                for field in ["runtime", "site_packages", "unowned", "dynamic_imports"] {
                    assert_eq!(
                        function[field], pip_function[field],
                        "{name}, {how}, --shake {shake}: {field}"
                    );
                }
                let (shipped_pycs, shipped) = files_under(&built.task);
                let (pip_shipped_pycs, pip_shipped) = files_under(&pip_build.task);
                assert_eq!(
                    shipped, pip_shipped,
                    "{name}, {how}, --shake {shake}: the shipped files"
                );
                if compiled {
                    assert_eq!(
                        shipped_pycs, pip_shipped_pycs,
                        "{name}, {how}, --shake {shake}: the shipped pycs"
                    );
                    assert_eq!(function["rewritten_pycs"], pip_function["rewritten_pycs"]);
                    assert_loads_shipped_pycs(&built.task, name);
                } else {
                    assert!(shipped_pycs.is_empty(), "{shipped_pycs:?}");
                    assert_eq!(function["rewritten_pycs"], 0);
                }
                eprintln!(
                    "{name} --shake {shake}: pip {} bytes, {how} {} bytes",
                    fs::metadata(&pip_build.zip).unwrap().len(),
                    fs::metadata(&built.zip).unwrap().len()
                );
            }
        }
    }
}

/// Item 5 of the `--shake files` issue: `--python-bytecode sourceless` over a real app answers
/// the same; the distributions' modules load from pycs in their own place (none compiled from
/// source, none from `__pycache__`), the handler keeps its source.
#[test]
fn web_validation_app_runs_the_same_sourceless() {
    let name = "web-validate";
    let input = installed_app(name);
    let expected = run_handler(&input, name, &[&input.join("package")]);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let run = crate::harness::lamina_command()
        .arg("build")
        .arg(&input)
        .args(["--python-bytecode", "sourceless", "--json", "--out"])
        .arg(&out)
        .output()
        .expect("run lamina");
    assert_eq!(run.status.code(), Some(0), "{}", show(&run));
    let report: Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(report["ok"], true, "report not ok:\n{report:#}");
    let task = tmp.path().join("task");
    unzip(&out.join(format!("{name}.zip")), &task);
    assert!(task.join("lambda_function.py").is_file());
    assert!(task.join("pydantic/__init__.pyc").is_file());
    assert!(!task.join("pydantic/__init__.py").exists());
    let actual = run_handler(&task, name, &[]);
    assert!(
        expected == actual,
        "{name} answers differently sourceless\n--- unslimmed\n{expected}--- from the zip\n{actual}"
    );
    // Nothing but the handler compiles from source; the distributions' pycs load in place.
    let loaded = assert_loads_shipped_pycs(&task, name);
    let in_place = loaded
        .iter()
        .filter(|line| line.contains(".pyc") && !line.contains("__pycache__"))
        .count();
    assert!(
        in_place > 50,
        "{in_place} pycs loaded in place:\n{loaded:#?}"
    );
}

/// `scan` says what `build --strip` would save, from the debug sections of the extension
/// modules that ship (pydantic-core's carry about 2 MiB), and the build with `--strip` saves
/// about that.
#[test]
fn scan_estimates_what_strip_saves() {
    install::require_tool("strip", "binutils");
    let input = installed_app("api-mangum");
    let scan = crate::harness::lamina_command()
        .arg("scan")
        .arg(&input)
        .arg("--json")
        .output()
        .expect("run lamina");
    assert_eq!(scan.status.code(), Some(0), "{}", show(&scan));
    let report: Value = serde_json::from_slice(&scan.stdout).unwrap();
    let notes = report["functions"][0]["notes"].to_string();
    let step = notes
        .split("`build --strip` would ship about ")
        .nth(1)
        .unwrap_or_else(|| panic!("no --strip step: {notes}"));
    let (amount, unit) = step.split_once(' ').unwrap();
    assert!(unit.starts_with("MiB"), "{step}");
    let estimate = amount.parse::<f64>().unwrap() * 1024.0 * 1024.0;

    let out = tempfile::tempdir().unwrap();
    let built = crate::harness::lamina_command()
        .arg("build")
        .arg(&input)
        .args(["--strip", "--json", "--out"])
        .arg(out.path())
        .output()
        .expect("run lamina");
    assert_eq!(built.status.code(), Some(0), "{}", show(&built));
    let report: Value = serde_json::from_slice(&built.stdout).unwrap();
    let saved = report["functions"][0]["strip_saved_bytes"]
        .as_f64()
        .unwrap();
    assert!(
        (saved - estimate).abs() <= saved * 0.1,
        "scan estimated {estimate} bytes, --strip saved {saved}"
    );
}
