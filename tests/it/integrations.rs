//! lamina inside other tools' packaging, each run by the real tool: the Serverless Framework
//! plugin (`packaging/npm/serverless-lamina`, installed from the tarball `cargo xtask dist`
//! builds, with the launcher and this platform's binary) under `serverless@3`'s `sls package`,
//! and the AWS SAM makefile recipe (`testdata/integrations/sam/hello/Makefile`,
//! `docs/integrations.md`) under `sam build`.
//!
//! The tools come from the registries once, pinned, into `<cache>/lamina-integrations`
//! (`LAMINA_E2E_CACHE` overrides): the framework with `npm ci` from
//! `testdata/tools/serverless/package-lock.json`, aws-sam-cli with pip into a venv
//! from `tools/sam/requirements.txt`; npm's and pip's downloads go to that cache too. Each run
//! gets a HOME of its own (the framework and SAM write settings there), with telemetry off and
//! dummy AWS credentials: packaging needs no AWS account and reaches no AWS endpoint.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use fs_err as fs;
use serde_json::Value;

use crate::install::{self, show};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn cache() -> PathBuf {
    install::cache_root("lamina-integrations")
}

fn lamina() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_lamina"))
}

fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

fn run(command: &mut Command) -> Output {
    command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|error| panic!("run {command:?}: {error}"))
}

fn run_ok(command: &mut Command) -> Output {
    let output = run(command);
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}",
        show(&output)
    );
    output
}

/// Copies every file and folder under `from` into `to` (links as links).
fn copy_tree(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from).sort_by_file_name() {
        let entry = entry.unwrap();
        let target = to.join(entry.path().strip_prefix(from).unwrap());
        if entry.file_type().is_dir() {
            fs::create_dir_all(&target).unwrap();
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Relative path, permission bits and bytes of every regular file under `dir`, sorted.
fn files(dir: &Path) -> Vec<(String, u32, Vec<u8>)> {
    use std::os::unix::fs::PermissionsExt;
    walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .map(|entry| entry.unwrap())
        .filter(|entry| entry.file_type().is_file())
        .map(|entry| {
            let relative = entry
                .path()
                .strip_prefix(dir)
                .unwrap()
                .display()
                .to_string();
            let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
            (relative, mode, fs::read(entry.path()).unwrap())
        })
        .collect()
}

fn names(files: &[(String, u32, Vec<u8>)]) -> Vec<&str> {
    files.iter().map(|(name, _, _)| name.as_str()).collect()
}

/// `unzip`s `zip` into a new folder `into`.
fn unzip(zip: &Path, into: &Path) {
    run_ok(Command::new("unzip").arg("-q").arg(zip).arg("-d").arg(into));
}

/// What the handler `file`'s `handler` export answers to `{"name": "ada"}`, run with node from
/// wherever `file` is (an unzipped artifact), so it finds only the packages that shipped.
fn handler_answer(file: &Path) -> String {
    let output = run_ok(Command::new("node").arg("-e").arg(
        "require(process.argv[1]).handler({name: 'ada'}).then((answer) => console.log(JSON.stringify(answer)))",
    ).arg(file));
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

fn sha256(path: &Path) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(fs::read(path).unwrap()))
}

/// `serverless@3`, installed once into this module's cache; returns its `bin/serverless.js`.
fn serverless_framework() -> PathBuf {
    install::serverless_framework()
}

/// `sls package` in `service`, as a CI job would run it: no terminal, no AWS account.
/// `lamina_bin` sets `LAMINA_BIN`; without it the plugin runs the installed launcher.
fn sls_package(framework: &Path, service: &Path, home: &Path, lamina_bin: Option<&Path>) -> Output {
    let mut command = Command::new("node");
    command
        .arg(framework)
        .arg("package")
        .current_dir(service)
        .env("HOME", home)
        .env("SLS_TELEMETRY_DISABLED", "1")
        .env("SLS_NOTIFICATIONS_MODE", "off")
        .env("AWS_ACCESS_KEY_ID", "AKIDLAMINATEST")
        .env("AWS_SECRET_ACCESS_KEY", "lamina-test-not-a-secret")
        .env("AWS_REGION", "eu-west-1")
        .env("LAMINA_CACHE_DIR", home.join("lamina-cache"))
        .env_remove("LAMINA_BIN");
    if let Some(bin) = lamina_bin {
        command.env("LAMINA_BIN", bin);
    }
    run(&mut command)
}

/// The sample service (`testdata/integrations/serverless-service` over a copy of
/// `examples/hello-node`) in `dir`, its `serverless.yml` changed by `edit`.
fn service(dir: &Path, edit: impl Fn(String) -> String) -> PathBuf {
    copy_tree(&root().join("examples/hello-node"), dir);
    copy_tree(
        &root().join("testdata/integrations/serverless-service"),
        dir,
    );
    let yml = dir.join("serverless.yml");
    fs::write(&yml, edit(fs::read_to_string(&yml).unwrap())).unwrap();
    dir.to_path_buf()
}

fn without_plugin(yml: String) -> String {
    yml.replace("plugins:\n  - serverless-lamina\n", "")
}

fn not_individually(yml: String) -> String {
    yml.replace("individually: true", "individually: false")
}

/// The zips in `.serverless/` by name, with their sizes.
fn zips(service: &Path) -> Vec<(String, u64)> {
    let mut zips: Vec<(String, u64)> = fs::read_dir(service.join(".serverless"))
        .unwrap()
        .map(|entry| entry.unwrap())
        .filter(|entry| entry.file_name().to_string_lossy().ends_with(".zip"))
        .map(|entry| {
            (
                entry.file_name().to_string_lossy().into_owned(),
                entry.metadata().unwrap().len(),
            )
        })
        .collect();
    zips.sort();
    zips
}

/// Checks what the plugin left in `service/.serverless`: one lamina zip per function, the
/// artifact the framework's state and CloudFormation template name, byte for byte the zip
/// lamina's report describes, holding only what the function needs, and answering as the
/// framework's own artifact does.
fn assert_lamina_artifacts(service: &Path, framework_answer: &str) {
    let out = service.join(".serverless");
    let report: Value =
        serde_json::from_str(&fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["ok"], true, "{report}");
    let state: Value =
        serde_json::from_str(&fs::read_to_string(out.join("serverless-state.json")).unwrap())
            .unwrap();
    let template =
        fs::read_to_string(out.join("cloudformation-template-update-stack.json")).unwrap();
    for function in ["hello", "bye"] {
        let zip = out.join(format!("{function}.zip"));
        let artifact = state["service"]["functions"][function]["package"]["artifact"]
            .as_str()
            .unwrap();
        assert_eq!(
            Path::new(artifact),
            zip,
            "{function}'s artifact in the state"
        );
        assert!(
            template.contains(&format!("/{function}.zip\"")),
            "the template's S3Key names {function}.zip"
        );
        let entry = report["functions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|entry| entry["name"] == function)
            .unwrap();
        assert_eq!(
            entry["sha256"],
            sha256(&zip),
            "{function}.zip is lamina's zip"
        );
    }
    assert_eq!(
        state["service"]["package"]["artifact"]
            .as_str()
            .unwrap_or(""),
        "",
        "no function uses a service-wide zip any more"
    );

    let task = service.join("task-hello");
    unzip(&out.join("hello.zip"), &task);
    let shipped = files(&task);
    assert_eq!(
        names(&shipped),
        [
            "bye.js",
            "index.js",
            "node_modules/escape-html/LICENSE",
            "node_modules/escape-html/index.js",
            "node_modules/escape-html/package.json",
            "node_modules/ms/index.js",
            "node_modules/ms/license.md",
            "node_modules/ms/package.json",
            "package.json",
        ],
        "hello ships its code and the packages it imports; not left-pad (unused), is-odd (dev), \
         event.json (package.patterns), serverless.yml or the resolved project file"
    );
    assert_eq!(handler_answer(&task.join("index.js")), framework_answer);
    fs::remove_dir_all(&task).unwrap();
}

#[test]
fn serverless_plugin_replaces_each_functions_artifact_with_laminas_zip_and_fails_sls_package_on_exit_1_or_2()
 {
    install::require_tool("node", "Node.js");
    let framework = serverless_framework();
    let scratch = tempfile::tempdir().unwrap();
    let scratch = scratch.path();
    let home = scratch.join("home");
    fs::create_dir_all(&home).unwrap();

    // A fresh folder with the plugin installed from its tarball, offline: npm takes lamina-cli
    // (the plugin's dependency, pinned to this version by dist) and this platform's binary
    // from the other two tarballs. Services below it find the plugin as the framework finds
    // any plugin: in node_modules from the service folder up.
    let built = crate::dist::dist(scratch, &["--only", "npm"]);
    let plugin = scratch.join(format!("dist/serverless-lamina-{}.tgz", version()));
    assert!(built.contains(&plugin), "dist packs the plugin: {built:?}");
    let project = scratch.join("project");
    fs::create_dir_all(&project).unwrap();
    fs::write(
        project.join("package.json"),
        r#"{ "name": "fresh", "private": true }"#,
    )
    .unwrap();
    run_ok(
        Command::new("npm")
            .args([
                "install",
                "--offline",
                "--save-dev",
                "--no-audit",
                "--no-fund",
            ])
            .args(&built)
            .current_dir(&project)
            .env("npm_config_cache", scratch.join("npm-cache"))
            .env("npm_config_update_notifier", "false"),
    );
    let manifest: Value = serde_json::from_str(
        &fs::read_to_string(project.join("node_modules/serverless-lamina/package.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(manifest["dependencies"]["lamina-cli"], version());

    // individually: true. Without the plugin, the framework's zips; with it, lamina's in
    // their place (through the installed launcher: no LAMINA_BIN).
    let plain = service(&project.join("plain"), without_plugin);
    run_ok_sls(sls_package(&framework, &plain, &home, None));
    let framework_zips = zips(&plain);
    assert_eq!(
        framework_zips
            .iter()
            .map(|(name, _)| name.as_str())
            .collect::<Vec<_>>(),
        ["bye.zip", "hello.zip"]
    );
    let task = plain.join("task-hello");
    unzip(&plain.join(".serverless/hello.zip"), &task);
    let framework_answer = handler_answer(&task.join("index.js"));
    assert!(framework_answer.contains("hello ada"), "{framework_answer}");

    let slim = service(&project.join("slim"), |yml| yml);
    let output = run_ok_sls(sls_package(&framework, &slim, &home, None));
    let text = String::from_utf8_lossy(&output.stderr).into_owned()
        + &String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("ok: every artifact is within Lambda's limits"),
        "the plugin prints lamina's summary:\n{text}"
    );
    assert_lamina_artifacts(&slim, &framework_answer);
    let lamina_zips = zips(&slim);
    println!("individually: true: framework {framework_zips:?}, with the plugin {lamina_zips:?}");
    for ((name, framework_bytes), (_, lamina_bytes)) in framework_zips.iter().zip(&lamina_zips) {
        assert!(
            lamina_bytes < framework_bytes,
            "{name}: {lamina_bytes} >= {framework_bytes}"
        );
    }
    assert!(
        !fs::read_dir(&slim).unwrap().any(|entry| entry
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with(".lamina-")),
        "the resolved project file is removed"
    );
    // Same input, same artifact: a second `sls package` gives the same bytes.
    let first = sha256(&slim.join(".serverless/hello.zip"));
    run_ok_sls(sls_package(&framework, &slim, &home, None));
    assert_eq!(sha256(&slim.join(".serverless/hello.zip")), first);

    // individually: false. The framework's one service zip gives way to a zip per function.
    let plain = service(&project.join("plain-service"), |yml| {
        not_individually(without_plugin(yml))
    });
    run_ok_sls(sls_package(&framework, &plain, &home, None));
    let framework_zips = zips(&plain);
    assert_eq!(
        framework_zips
            .iter()
            .map(|(name, _)| name.as_str())
            .collect::<Vec<_>>(),
        ["greeter.zip"]
    );
    let slim = service(&project.join("slim-service"), not_individually);
    run_ok_sls(sls_package(&framework, &slim, &home, Some(lamina())));
    assert_lamina_artifacts(&slim, &framework_answer);
    let lamina_zips = zips(&slim);
    println!("individually: false: framework {framework_zips:?}, with the plugin {lamina_zips:?}");
    assert_eq!(
        lamina_zips
            .iter()
            .map(|(name, _)| name.as_str())
            .collect::<Vec<_>>(),
        ["bye.zip", "hello.zip"],
        "the framework's greeter.zip is gone"
    );

    // Exit 1: an environment over Lambda's 4 KiB fails `sls package` after lamina's summary.
    let big = "x".repeat(5000);
    let over = service(&project.join("over-limit"), |yml| {
        yml.replace("GREETING: ${self:custom.greeting}", &format!("BIG: {big}"))
    });
    let output = sls_package(&framework, &over, &home, Some(lamina()));
    let text = show(&output);
    assert!(!output.status.success(), "{text}");
    assert!(
        text.contains("lamina: an artifact failed a Lambda limit or check"),
        "{text}"
    );

    // Exit 2: a handler that does not exist fails it with lamina's message.
    let missing = service(&project.join("bad-input"), |yml| {
        yml.replace("handler: bye.handler", "handler: nowhere.handler")
    });
    let output = sls_package(&framework, &missing, &home, Some(lamina()));
    let text = show(&output);
    assert!(!output.status.success(), "{text}");
    assert!(text.contains("lamina refused the input (exit 2)"), "{text}");
    assert!(
        text.contains("nowhere"),
        "lamina's message names the handler:\n{text}"
    );
}

fn run_ok_sls(output: Output) -> Output {
    assert!(
        output.status.success(),
        "sls package failed:\n{}",
        show(&output)
    );
    output
}

/// aws-sam-cli from PyPI in a venv, installed once into the cache; returns the venv's python
/// (the venv was moved into place, so its scripts' shebangs are stale: run `python -m samcli`).
fn sam_python() -> PathBuf {
    install::require_tool("python3", "Python 3 with pip and venv");
    let cache = cache();
    let python_version = run_ok(Command::new("python3").arg("--version")).stdout;
    let dir = install::installed(
        &cache,
        "aws-sam-cli",
        &root().join("testdata/integrations/tools/sam"),
        "venv",
        &String::from_utf8_lossy(&python_version),
        |dir| {
            run_ok(
                Command::new("python3")
                    .args(["-m", "venv"])
                    .arg(dir.join("venv")),
            );
            run_ok(
                Command::new(dir.join("venv/bin/python"))
                    .args(["-m", "pip", "install", "--quiet", "-r"])
                    .arg(dir.join("requirements.txt"))
                    .env("PIP_CACHE_DIR", cache.join("pip-cache"))
                    .env("PIP_DISABLE_PIP_VERSION_CHECK", "1"),
            );
        },
    );
    dir.join("venv/bin/python")
}

fn sam_build(python: &Path, project: &Path, home: &Path, lamina_args: &str) -> Output {
    run(Command::new(python)
        .args(["-m", "samcli", "build"])
        .current_dir(project)
        .env("HOME", home)
        .env("SAM_CLI_TELEMETRY", "0")
        .env("LAMINA", lamina())
        .env("LAMINA_ARGS", lamina_args)
        .env("LAMINA_CACHE_DIR", home.join("lamina-cache")))
}

#[test]
fn sam_build_with_the_makefile_recipe_deploys_exactly_laminas_files() {
    install::require_tool("node", "Node.js");
    install::require_tool("make", "GNU make");
    let python = sam_python();
    let scratch = tempfile::tempdir().unwrap();
    let scratch = scratch.path();
    let home = scratch.join("home");
    fs::create_dir_all(&home).unwrap();
    let project = scratch.join("sam");
    copy_tree(&root().join("testdata/integrations/sam"), &project);
    copy_tree(&root().join("examples/hello-node"), &project.join("hello"));

    // What lamina alone makes of the same folder, with the recipe's settings.
    let direct = scratch.join("direct");
    run_ok(
        Command::new(lamina())
            .arg("build")
            .arg(project.join("hello"))
            .args([
                "--handler",
                "index.handler",
                "--runtime",
                "nodejs20.x",
                "--arch",
                "x86_64",
            ])
            .arg("--out")
            .arg(&direct)
            .env("LAMINA_CACHE_DIR", home.join("lamina-cache")),
    );
    let expected = scratch.join("expected");
    unzip(&direct.join("hello.zip"), &expected);

    let output = sam_build(&python, &project, &home, "");
    assert!(
        output.status.success(),
        "sam build failed:\n{}",
        show(&output)
    );
    let built = project.join(".aws-sam/build/HelloFunction");
    let deployed = files(&built);
    assert_eq!(
        deployed,
        files(&expected),
        "SAM's artifact folder holds lamina's files: the same names, bytes and modes"
    );
    assert!(!names(&deployed).contains(&"node_modules/left-pad/index.js"));
    assert!(
        handler_answer(&built.join("index.js")).contains("hello ada"),
        "the handler runs from the built folder"
    );
    let built_template = fs::read_to_string(project.join(".aws-sam/build/template.yaml")).unwrap();
    assert!(
        built_template.contains("CodeUri: HelloFunction"),
        "{built_template}"
    );

    // SAM zips that folder itself at `sam package`/`sam deploy` (which need AWS); its zip is
    // made here with the function SAM uses for a Lambda function, to measure it beside lamina's.
    let sam_zip = scratch.join("sam-artifact");
    run_ok(Command::new(&python).arg("-c").arg(
        "import sys; from samcli.lib.package.utils import make_zip_with_lambda_permissions as z; z(sys.argv[1], sys.argv[2])",
    ).arg(&sam_zip).arg(&built));
    println!(
        "lamina's zip {} bytes, SAM's zip of the built folder {} bytes, built folder {} bytes",
        fs::metadata(direct.join("hello.zip")).unwrap().len(),
        fs::metadata(scratch.join("sam-artifact.zip"))
            .unwrap()
            .len(),
        install::total_file_bytes(&built)
    );

    // A lamina failure (here bad usage, exit 2) fails `sam build`.
    let output = sam_build(&python, &project, &home, "--smoke-timeout soon");
    assert!(!output.status.success(), "{}", show(&output));
    assert!(show(&output).contains("soon"), "{}", show(&output));
}

/// The plugin's resolved service, as lamina reads it without the framework: a YAML (here
/// JSON) file named `.lamina-project-<pid>.yml` in the service folder is read as a Serverless
/// service by its content, and never walked: no warning, never shipped.
#[test]
fn a_resolved_serverless_project_file_is_read_by_content_and_never_shipped() {
    let scratch = tempfile::tempdir().unwrap();
    let service = scratch.path().join("service");
    copy_tree(&root().join("examples/hello-node"), &service);
    let project = service.join(".lamina-project-1.yml");
    fs::write(
        &project,
        r#"{"service": "greeter", "provider": {"name": "aws"},
            "functions": {"hello": {"handler": "index.handler", "runtime": "nodejs20.x",
              "package": {"individually": true, "patterns": ["!event.json"]}}}}"#,
    )
    .unwrap();
    let out = scratch.path().join("out");
    let output = run_ok(
        Command::new(lamina())
            .arg("build")
            .arg(&project)
            .arg("--out")
            .arg(&out)
            .arg("--json")
            .arg("--no-cache"),
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["functions"][0]["name"], "hello");
    let text = report.to_string();
    assert!(!text.contains("interrupted build"), "{text}");
    let task = scratch.path().join("task");
    unzip(&out.join("hello.zip"), &task);
    let shipped = files(&task);
    assert!(names(&shipped).contains(&"index.js"));
    assert!(
        !names(&shipped)
            .iter()
            .any(|name| name.starts_with(".lamina-") || *name == "event.json")
    );
}

/// The recipe the README shows is the one `sam build` runs in the test above.
#[test]
fn the_readme_shows_the_tested_sam_recipe() {
    let readme = fs::read_to_string(root().join("README.md")).unwrap();
    let recipe = readme
        .split("```make\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a ```make block in the README");
    let makefile =
        fs::read_to_string(root().join("testdata/integrations/sam/hello/Makefile")).unwrap();
    let code = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
            .map(str::to_string)
            .collect()
    };
    assert_eq!(code(recipe), code(&makefile));
}
