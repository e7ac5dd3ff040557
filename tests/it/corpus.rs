//! The corpus (issue 12, "Proof"): small apps shaped like the examples serverless teams start
//! from (`testdata/corpus`), on real pinned npm and PyPI packages. Each is installed into the
//! e2e cache, run unslimmed, built with `lamina build --smoke --smoke-event event.json` in both
//! `--shake deps` and `--shake files`, unzipped with Info-ZIP and run again: the answer must be
//! the unslimmed one and the exit code 0, except where the right verdict is another (an app
//! whose requirements were never installed must be refused). Each test prints a size row:
//! lamina's zip beside what a plain `npm prune --omit=dev` (or `pip install`) and
//! `zip -r -q -6` give.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

use fs_err as fs;
use serde_json::Value;

use crate::e2e::{assert_no_ancestor_node_modules, npm_installed};
use crate::e2e_python::pip_installed;
use crate::install::{self, listing, show};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/corpus")
}

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata")
}

#[derive(Clone, Copy, PartialEq)]
enum Install {
    /// `npm ci --ignore-scripts` from the committed lockfile.
    Npm,
    /// `pip install --target package` of the pinned `requirements.txt`.
    Pip,
    /// Nothing: the folder is used as committed (the mistake some apps guard against).
    Nothing,
}

/// One app of the corpus.
struct App {
    name: &'static str,
    install: Install,
    /// The handler in Lambda's syntax, for the runners.
    handler: &'static str,
    /// Passed to lamina as `--handler` where it cannot be inferred.
    handler_flag: Option<&'static str>,
    /// The runtime's SDK must be on `NODE_PATH`, as Lambda's `/var/runtime/node_modules` is.
    runtime_sdk: bool,
}

impl App {
    fn is_python(&self) -> bool {
        self.install != Install::Npm
    }

    fn source(&self) -> PathBuf {
        corpus_dir().join(self.name)
    }

    fn event(&self) -> PathBuf {
        self.source().join("event.json")
    }

    /// The app installed in the e2e cache (outside the repo).
    fn installed(&self) -> PathBuf {
        match self.install {
            Install::Npm => npm_installed(&self.source(), self.name),
            Install::Pip => pip_installed(&self.source(), self.name),
            Install::Nothing => install::installed(
                &install::cache_root("lamina-e2e-py"),
                self.name,
                &self.source(),
                "package",
                "",
                |_| {},
            ),
        }
    }

    /// Invokes the handler in `dir` with the app's event (`extra`: the unslimmed Python
    /// dependencies folder) through the shared runners, as Lambda would: a context carrying
    /// the function's name, a callback for Node.
    fn run(&self, dir: &Path, extra: Option<&Path>) -> Output {
        self.command(dir, extra).output().expect("run the handler")
    }

    /// The command that runs the handler from `dir` (`extra`: more of `sys.path`).
    fn command(&self, dir: &Path, extra: Option<&Path>) -> Command {
        let mut command;
        if self.is_python() {
            command = Command::new("python3");
            // -S: none of this machine's site-packages can hide a missing package; -B: nothing
            // is written into the input.
            command
                .args(["-S", "-B"])
                .arg(testdata().join("py-apps/run_handler.py"))
                .arg(dir)
                .arg(self.handler)
                .arg(self.event())
                .args(extra);
        } else {
            assert_no_ancestor_node_modules(dir);
            command = Command::new("node");
            command
                .arg(testdata().join("apps/run-handler.mjs"))
                .arg(dir)
                .arg(self.handler)
                .arg(self.event())
                .env_remove("NODE_PATH");
            if self.runtime_sdk {
                command.env("NODE_PATH", runtime_sdk());
            }
        }
        command.env("AWS_LAMBDA_FUNCTION_NAME", self.name);
        command
    }

    /// The handler's answer from the unslimmed install.
    fn expected(&self, input: &Path) -> String {
        let package = input.join("package");
        let extra = (self.is_python() && package.is_dir()).then_some(package.as_path());
        install::handler_output(&self.run(input, extra), self.name, input)
    }
}

const NODE_CALLBACK: App = App {
    name: "node-callback",
    install: Install::Npm,
    handler: "index.handler",
    handler_flag: None,
    runtime_sdk: false,
};

const PY_POWERTOOLS: App = App {
    name: "py-powertools",
    install: Install::Pip,
    handler: "lambda_function.lambda_handler",
    handler_flag: None,
    runtime_sdk: false,
};

const NODE_EXPRESS_SERVER: App = App {
    name: "node-express-server",
    install: Install::Npm,
    handler: "lambda.handler",
    handler_flag: None,
    runtime_sdk: false,
};

const NODE_RUNTIME_SDK: App = App {
    name: "node-runtime-sdk",
    install: Install::Npm,
    handler: "index.handler",
    handler_flag: None,
    runtime_sdk: true,
};

const CDK_TYPESCRIPT: App = App {
    name: "cdk-typescript",
    install: Install::Npm,
    handler: "lambda/greeter.handler",
    handler_flag: Some("lambda/greeter.handler"),
    runtime_sdk: false,
};

const NODE_CONFIG_YAML: App = App {
    name: "node-config-yaml",
    install: Install::Npm,
    handler: "handler.handler",
    handler_flag: None,
    runtime_sdk: false,
};

const PY_BOTO3_VENDORED: App = App {
    name: "py-boto3-vendored",
    install: Install::Pip,
    handler: "lambda_function.lambda_handler",
    handler_flag: None,
    runtime_sdk: false,
};

const PY_MISSING_DEPS: App = App {
    name: "py-missing-deps",
    install: Install::Nothing,
    handler: "lambda_function.lambda_handler",
    handler_flag: None,
    runtime_sdk: false,
};

/// `node_modules` of `testdata/corpus/runtime-sdk-node` installed: what Lambda's Node.js
/// runtime ships in `/var/runtime/node_modules` (on its `NODE_PATH`).
fn runtime_sdk() -> PathBuf {
    let name = "runtime-sdk-node";
    npm_installed(&corpus_dir().join(name), name).join("node_modules")
}

/// What one `lamina build` gave.
struct Build {
    code: Option<i32>,
    output: Output,
    report: Option<Value>,
    zip: PathBuf,
}

impl Build {
    fn function(&self) -> &Value {
        &self.report.as_ref().expect("a JSON report")["functions"][0]
    }

    fn smoke(&self) -> &Value {
        &self.function()["smoke"]
    }

    fn zipped_bytes(&self) -> Option<u64> {
        fs::metadata(&self.zip).ok().map(|meta| meta.len())
    }
}

/// `lamina build <input> --out <out> --json --smoke --smoke-event event.json --shake MODE`.
fn lamina_build(app: &App, input: &Path, out: &Path, mode: &str) -> Build {
    let before = listing(input);
    let mut command = crate::harness::lamina_command();
    command
        .arg("build")
        .arg(input)
        .arg("--out")
        .arg(out)
        .arg("--json")
        .arg("--smoke")
        .arg("--smoke-event")
        .arg(app.event())
        .args(["--shake", mode])
        .current_dir(out.parent().unwrap());
    if let Some(handler) = app.handler_flag {
        command.args(["--handler", handler]);
    }
    let output = command.output().expect("run lamina");
    assert!(
        before == listing(input),
        "lamina build modified its input {}",
        input.display()
    );
    Build {
        code: output.status.code(),
        report: serde_json::from_slice(&output.stdout).ok(),
        zip: out.join(format!("{}.zip", app.name)),
        output,
    }
}

/// Unzips with Info-ZIP `unzip`, which restores links as Lambda does.
fn unzip(zip: &Path, into: &Path) {
    let unzip = Command::new("unzip")
        .arg("-q")
        .arg(zip)
        .arg("-d")
        .arg(into)
        .output()
        .expect("the e2e tests need Info-ZIP `unzip` on PATH");
    assert!(
        unzip.status.success(),
        "unzip {}:\n{}",
        zip.display(),
        show(&unzip)
    );
}

fn run_ok(command: &mut Command, what: &str) {
    let out = command.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(out.status.success(), "{what}:\n{}", show(&out));
}

/// Bytes of the zip a team gets without lamina, once per app: a copy of the install after
/// `npm prune --omit=dev`, zipped whole with `zip -r -q -6`; for Python, AWS's guide (the
/// contents of `package/` at the root, then the function's own files).
fn baseline_bytes(app: &App, input: &Path) -> u64 {
    static BASELINES: Mutex<BTreeMap<&str, u64>> = Mutex::new(BTreeMap::new());
    let mut baselines = BASELINES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(bytes) = baselines.get(app.name) {
        return *bytes;
    }
    install::require_tool("zip", "Info-ZIP zip");
    let tmp = tempfile::tempdir().unwrap();
    let zip = tmp.path().join("baseline.zip");
    if app.is_python() {
        let package = input.join("package");
        if package.is_dir() {
            run_ok(
                Command::new("zip")
                    .args(["-r", "-q", "-6"])
                    .arg(&zip)
                    .arg(".")
                    .current_dir(&package),
                "zip -r package/",
            );
        }
        run_ok(
            Command::new("zip")
                .args(["-r", "-q", "-6"])
                .arg(&zip)
                .args([".", "-x", "package", "package/*"])
                .current_dir(input),
            "zip -r the function's files",
        );
    } else {
        let copy = tmp.path().join(app.name);
        run_ok(
            Command::new("cp").arg("-a").arg(input).arg(&copy),
            "cp -a the install",
        );
        run_ok(
            Command::new("npm")
                .args([
                    "prune",
                    "--omit=dev",
                    "--ignore-scripts",
                    "--no-audit",
                    "--no-fund",
                ])
                .current_dir(&copy),
            "npm prune --omit=dev",
        );
        run_ok(
            Command::new("zip")
                .args(["-r", "-q", "-6"])
                .arg(&zip)
                .arg(".")
                .current_dir(&copy),
            "zip -r the pruned install",
        );
    }
    let bytes = fs::metadata(&zip).unwrap().len();
    baselines.insert(app.name, bytes);
    bytes
}

/// Prints this build's row of the size table (`cargo test corpus:: -- --nocapture` shows them):
/// app, mode, lamina's exit code, its zip, the baseline zip and the ratio.
fn print_row(app: &App, mode: &str, build: &Build, baseline: u64) {
    let zipped = build.zipped_bytes();
    let ratio = zipped.map_or("-".to_string(), |bytes| {
        format!("{:.1} %", bytes as f64 * 100.0 / baseline as f64)
    });
    println!(
        "corpus-size | {} | {mode} | {} | {} | {baseline} | {ratio} |",
        app.name,
        build
            .code
            .map_or("signal".to_string(), |code| code.to_string()),
        zipped.map_or("-".to_string(), |bytes| bytes.to_string()),
    );
}

/// What a build that must succeed left to look at.
struct Slimmed {
    build: Build,
    task: PathBuf,
    _tmp: tempfile::TempDir,
}

impl Slimmed {
    /// Each path must not be in the unzipped artifact.
    fn lacks(&self, paths: &[&str]) {
        for path in paths {
            assert!(
                !self.task.join(path).exists(),
                "{path} should not be in the artifact"
            );
        }
    }

    /// Each path must be in the unzipped artifact.
    fn has(&self, paths: &[&str]) {
        for path in paths {
            assert!(
                self.task.join(path).exists(),
                "{path} should be in the artifact"
            );
        }
    }
}

/// Installs `app`, runs it unslimmed, builds it with `--shake MODE` and `--smoke`, unzips the
/// artifact and runs it from there: lamina must exit 0, its smoke test must pass (or, where the
/// runtime's SDK is stood in, be inconclusive at worst) and the answer must be the unslimmed one.
fn answers_the_same(app: &App, mode: &str) -> Slimmed {
    let input = app.installed();
    let expected = app.expected(&input);
    let baseline = baseline_bytes(app, &input);

    let tmp = tempfile::tempdir().unwrap();
    let build = lamina_build(app, &input, &tmp.path().join("out"), mode);
    print_row(app, mode, &build, baseline);
    let name = app.name;
    assert_eq!(
        build.code,
        Some(0),
        "lamina build --shake {mode} {name}:\n{}",
        show(&build.output)
    );
    let report = build.report.as_ref().expect("a JSON report on stdout");
    assert_eq!(report["ok"], true, "report not ok:\n{report:#}");
    let smoke = build.smoke();
    assert_eq!(smoke["invoked"], true, "{smoke:#}");
    if app.runtime_sdk {
        // Without the runtime's SDK here, calls into its stand-in are not checked.
        assert!(
            smoke["outcome"] == "passed" || smoke["outcome"] == "inconclusive",
            "{smoke:#}"
        );
    } else {
        assert_eq!(
            smoke["outcome"], "passed",
            "--shake {mode} {name}: the smoke test of a working artifact must pass:\n{smoke:#}"
        );
    }

    let task = tmp.path().join("task");
    unzip(&build.zip, &task);
    let actual = install::handler_output(&app.run(&task, None), name, &task);
    assert!(
        expected == actual,
        "{name} (--shake {mode}) answers differently after slimming\n--- unslimmed\n{expected}--- from the zip\n{actual}"
    );
    if mode == "files" {
        // The tracer's invariant: every file of the function the unslimmed run opened,
        // imported or loaded ships.
        let opened = tmp.path().join("opened.txt");
        let package = input.join("package");
        let extra = (app.is_python() && package.is_dir()).then_some(package.as_path());
        let mut command = app.command(&input, extra);
        install::handler_output(
            &command.env("LAMINA_E2E_OPENED", &opened).output().unwrap(),
            name,
            &input,
        );
        let dependencies = app.is_python().then_some("package");
        let missing = install::opened_but_missing(&opened, &input, &task, dependencies);
        assert!(
            missing.is_empty(),
            "{name}: files the handler opened do not ship with --shake files: {missing:?}"
        );
    }
    Slimmed {
        build,
        task,
        _tmp: tmp,
    }
}

// 1. A callback-style handler: lodash and uuid stay; mocha and chai, which only the developer's
//    own tests/ import, go.

fn callback_handler(mode: &str) {
    let slimmed = answers_the_same(&NODE_CALLBACK, mode);
    slimmed.has(&["node_modules/lodash/lodash.js", "node_modules/uuid"]);
    slimmed.lacks(&["node_modules/mocha", "node_modules/chai", "tests"]);
}

#[test]
fn node_callback_deps() {
    callback_handler("deps");
}

#[test]
fn node_callback_files() {
    callback_handler("files");
}

// 2. Powertools' logger reads the Lambda context: the log lines the handler returns carry the
//    function's name, ARN, memory and request id.

fn powertools(mode: &str) {
    let slimmed = answers_the_same(&PY_POWERTOOLS, mode);
    slimmed.has(&[
        "aws_lambda_powertools/logging/logger.py",
        "aws_lambda_powertools/event_handler/api_gateway.py",
    ]);
}

#[test]
fn py_powertools_deps() {
    powertools("deps");
}

#[test]
fn py_powertools_files() {
    powertools("files");
}

// 3. aws-serverless-express leaves its server listening on a UNIX socket after answering.

fn express_server(mode: &str) {
    let slimmed = answers_the_same(&NODE_EXPRESS_SERVER, mode);
    slimmed.has(&[
        "node_modules/express",
        "node_modules/aws-serverless-express",
    ]);
    slimmed.lacks(&["node_modules/supertest"]);
}

#[test]
fn node_express_server_deps() {
    express_server("deps");
}

#[test]
fn node_express_server_files() {
    express_server("files");
}

// 4. The runtime's SDK, imported but not installed: nothing of it is shipped, the handler
//    answers with the runtime's copy on NODE_PATH.

fn runtime_sdk_app(mode: &str) {
    let slimmed = answers_the_same(&NODE_RUNTIME_SDK, mode);
    slimmed.has(&["node_modules/mime-db/db.json", "node_modules/mime-types"]);
    slimmed.lacks(&["node_modules/@aws-sdk"]);
    let notes = slimmed.build.smoke()["notes"].to_string();
    assert!(notes.contains("@aws-sdk/client-s3"), "{notes}");
}

#[test]
fn node_runtime_sdk_deps() {
    runtime_sdk_app("deps");
}

#[test]
fn node_runtime_sdk_files() {
    runtime_sdk_app("files");
}

// 5. A CDK TypeScript project: aws-cdk-lib and constructs are dependencies of the project, but
//    only its infrastructure code (bin/, lib/, test/ in TypeScript, never run on Lambda) imports
//    them; the handler in lambda/ needs date-fns alone.

fn cdk_project(mode: &str) {
    let slimmed = answers_the_same(&CDK_TYPESCRIPT, mode);
    slimmed.has(&["node_modules/date-fns", "lambda/greeter.js"]);
    slimmed.lacks(&[
        "node_modules/aws-cdk-lib",
        "node_modules/constructs",
        "node_modules/aws-cdk",
        "node_modules/typescript",
        "node_modules/ts-node",
    ]);
}

#[test]
fn cdk_typescript_deps() {
    cdk_project("deps");
}

#[test]
fn cdk_typescript_files() {
    cdk_project("files");
}

// 6. config loads js-yaml by a name it holds: js-yaml must ship, or the YAML settings are not
//    read at all.

fn config_yaml(mode: &str) {
    let slimmed = answers_the_same(&NODE_CONFIG_YAML, mode);
    slimmed.has(&[
        "node_modules/js-yaml",
        "node_modules/config",
        "config/default.yml",
    ]);
}

#[test]
fn node_config_yaml_deps() {
    config_yaml("deps");
}

#[test]
fn node_config_yaml_files() {
    config_yaml("files");
}

// 7. boto3 vendored with requests: the function's own copy ships (runtime-provided, kept without
//    --drop-runtime-sdk), with botocore's data files.

fn boto3_vendored(mode: &str) {
    let slimmed = answers_the_same(&PY_BOTO3_VENDORED, mode);
    slimmed.has(&[
        "boto3/dynamodb/types.py",
        "botocore/data/dynamodb/2012-08-10",
        "botocore/data/endpoints.json",
        "certifi/cacert.pem",
        "requests",
    ]);
    if mode == "files" {
        // The handler creates DynamoDB and SQS clients: only their models ship, with
        // botocore's own (STS, SSO) and the shared files.
        slimmed.has(&[
            "botocore/data/sqs",
            "botocore/data/sts",
            "botocore/data/partitions.json",
            "boto3/data/dynamodb",
        ]);
        slimmed.lacks(&["botocore/data/ec2", "botocore/data/s3", "boto3/data/ec2"]);
    }
}

#[test]
fn py_boto3_vendored_deps() {
    boto3_vendored("deps");
}

#[test]
fn py_boto3_vendored_files() {
    boto3_vendored("files");
}

// 8. Requirements never installed: the handler imports numpy at module level and nothing
//    provides it. The build must be refused (exit 2), naming the file, the line and numpy, and
//    leave no zip.

fn missing_requirements(mode: &str) {
    let app = &PY_MISSING_DEPS;
    let input = app.installed();
    // The premise: the function fails unslimmed too.
    let unslimmed = app.run(&input, None);
    assert!(
        String::from_utf8_lossy(&unslimmed.stdout).contains("No module named 'numpy'"),
        "{}",
        show(&unslimmed)
    );
    let baseline = baseline_bytes(app, &input);
    let tmp = tempfile::tempdir().unwrap();
    let build = lamina_build(app, &input, &tmp.path().join("out"), mode);
    print_row(app, mode, &build, baseline);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&build.output.stdout),
        String::from_utf8_lossy(&build.output.stderr)
    );
    assert_eq!(
        build.code,
        Some(2),
        "--shake {mode}: a function whose requirements are not installed must be refused:\n{}",
        show(&build.output)
    );
    assert!(
        text.contains("numpy")
            && text.contains("lambda_function.py")
            && (text.contains("lambda_function.py:5") || text.contains("line 5")),
        "the error names the file, the line and numpy:\n{text}"
    );
    assert!(!build.zip.exists(), "a refused build leaves no zip");
}

#[test]
fn py_missing_deps_deps() {
    missing_requirements("deps");
}

#[test]
fn py_missing_deps_files() {
    missing_requirements("files");
}
