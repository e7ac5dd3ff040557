//! End-to-end: real PyPI apps (testdata/py-apps) must answer the same before and after
//! `lamina build`, under a bare `python3` with the unzipped artifact first on `sys.path`.

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
    let unzip = Command::new("unzip")
        .arg("-q")
        .arg(&zip)
        .arg("-d")
        .arg(&task)
        .output()
        .expect("the e2e tests need Info-ZIP `unzip` on PATH");
    assert!(unzip.status.success(), "unzip:\n{}", show(&unzip));
    let actual = run_handler(&task, name, &[]);
    assert!(
        expected == actual,
        "{name} answers differently after slimming\n--- unslimmed\n{expected}--- from the zip\n{actual}"
    );

    // Every module imported from the artifact that has a pyc must load it, not compile again.
    assert!(function["rewritten_pycs"].as_u64().unwrap() > 0);
    let verbose = Command::new("python3")
        .args(["-S", "-B", "-v"])
        .arg(apps_dir().join("run_handler.py"))
        .arg(&task)
        .arg("lambda_function.lambda_handler")
        .arg(apps_dir().join(name).join("event.json"))
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&verbose.stderr);
    let task_text = task.display().to_string();
    let compiled: Vec<&str> = log
        .lines()
        .filter(|line| line.starts_with("# code object from ") && line.contains(&task_text))
        .filter(|line| line.ends_with(".py") || line.ends_with(".py'"))
        .filter(|line| !line.contains("lambda_function.py"))
        .collect();
    assert!(
        compiled.is_empty(),
        "{name}: modules compiled from source although their pycs ship:\n{}",
        compiled.join("\n")
    );
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
        let unzip = Command::new("unzip")
            .arg("-q")
            .arg(&zips[1])
            .arg("-d")
            .arg(&task)
            .output()
            .expect("the e2e tests need Info-ZIP `unzip` on PATH");
        assert!(unzip.status.success(), "unzip:\n{}", show(&unzip));
        let actual = run_handler(&task, name, &[]);
        assert!(
            expected == actual,
            "{name} answers differently after --shake files\n--- unslimmed\n{expected}--- from the zip\n{actual}"
        );
        let root = input.canonicalize().unwrap();
        let missing: Vec<String> = fs::read_to_string(&opened)
            .unwrap()
            .lines()
            .map(PathBuf::from)
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
                // The dependencies folder ships at the artifact's root.
                let shipped = inside
                    .strip_prefix("package")
                    .unwrap_or(&inside)
                    .to_path_buf();
                (!task.join(&shipped).is_file()).then(|| shipped.display().to_string())
            })
            .collect();
        assert!(
            missing.is_empty(),
            "{name}: files the handler opened do not ship with --shake files: {missing:?}"
        );
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
    let unzip = Command::new("unzip")
        .arg("-q")
        .arg(out.join(format!("{name}.zip")))
        .arg("-d")
        .arg(&task)
        .output()
        .expect("the e2e tests need Info-ZIP `unzip` on PATH");
    assert!(unzip.status.success(), "unzip:\n{}", show(&unzip));
    assert!(task.join("lambda_function.py").is_file());
    assert!(task.join("pydantic/__init__.pyc").is_file());
    assert!(!task.join("pydantic/__init__.py").exists());
    let actual = run_handler(&task, name, &[]);
    assert!(
        expected == actual,
        "{name} answers differently sourceless\n--- unslimmed\n{expected}--- from the zip\n{actual}"
    );
    let verbose = Command::new("python3")
        .args(["-S", "-B", "-v"])
        .arg(apps_dir().join("run_handler.py"))
        .arg(&task)
        .arg("lambda_function.lambda_handler")
        .arg(apps_dir().join(name).join("event.json"))
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&verbose.stderr);
    let task_text = task.display().to_string();
    let loaded: Vec<&str> = log
        .lines()
        .filter(|line| line.starts_with("# code object from ") && line.contains(&task_text))
        .collect();
    let from_source: Vec<&&str> = loaded
        .iter()
        .filter(|line| line.contains(".py'") || line.ends_with(".py"))
        .filter(|line| !line.contains("lambda_function.py"))
        .collect();
    assert!(
        from_source.is_empty(),
        "modules compiled from source although their pycs ship:\n{from_source:?}"
    );
    let in_place = loaded
        .iter()
        .filter(|line| line.contains(".pyc") && !line.contains("__pycache__"))
        .count();
    assert!(in_place > 50, "{in_place} pycs loaded in place:\n{log}");
}
