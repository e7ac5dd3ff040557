//! `lamina build` on an AWS SAM template and a `serverless.yml` (testdata/templates): functions
//! discovered with their handler, runtime and architecture (Globals and provider settings
//! included), intrinsic functions reported rather than guessed, the 4 KiB `env` limit and its
//! `limit/env` finding, Serverless `package.patterns` applied in order.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::install::show;

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/templates")
        .join(path)
}

fn build(input: &Path) -> (Option<i32>, Value) {
    let out = tempfile::tempdir().unwrap();
    build_to(input, &out.path().join("out"))
}

/// `lamina build INPUT --out OUT`, leaving the zips in `out`.
fn build_to(input: &Path, out: &Path) -> (Option<i32>, Value) {
    let run = crate::harness::lamina_command()
        .arg("build")
        .arg(input)
        .arg("--out")
        .arg(out)
        .args(["--json", "--no-cache"])
        .output()
        .unwrap();
    let report = serde_json::from_slice(&run.stdout)
        .unwrap_or_else(|error| panic!("not JSON ({error}):\n{}", show(&run)));
    (run.status.code(), report)
}

fn function<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["functions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|function| function["name"] == name)
        .unwrap_or_else(|| panic!("no function {name}"))
}

fn limit(function: &Value, id: &str) -> Value {
    function["limits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|limit| limit["id"] == id)
        .cloned()
        .unwrap_or(Value::Null)
}

fn warnings(function: &Value) -> String {
    function["warnings"].to_string()
}

#[test]
fn a_sam_template_gives_its_functions_with_globals_and_reports_intrinsics() {
    let (code, report) = build(&fixture("sam/template.yaml"));
    // Report's environment is over 4 KiB: the build fails with exit 1, artifacts written.
    assert_eq!(code, Some(1));
    assert_eq!(
        report["functions"].as_array().unwrap().len(),
        2,
        "the table and layer are not functions"
    );
    let orders = function(&report, "Orders");
    assert_eq!(orders["runtime"], "nodejs20.x", "from Globals");
    assert_eq!(orders["arch"], "arm64", "from Globals");
    assert_eq!(orders["handler"], "index.handler");
    let env = limit(orders, "env");
    assert_eq!(env["limit"], 4096);
    assert_eq!(env["ok"], true);
    let text = warnings(orders);
    for unresolved in [
        "!GetAtt OrdersTable.Arn",
        "!Ref Stage",
        "!If",
        "QUEUE_URL",
        "!Ref SharedLayer",
    ] {
        assert!(
            text.contains(unresolved),
            "{unresolved} is not reported: {text}"
        );
    }
    assert!(
        !text.contains("GREETING"),
        "a !Sub without variables resolves: {text}"
    );
    let report_function = function(&report, "Report");
    assert_eq!(
        report_function["runtime"], "nodejs22.x",
        "its own Runtime wins over Globals"
    );
    assert_eq!(report_function["handler_file"], "app.js");
    let env = limit(report_function, "env");
    assert_eq!(env["ok"], false);
    assert!(env["actual"].as_u64().unwrap() > 4096);
    // The env limit is a finding like the others: on the function over it, not on the other.
    assert_eq!(finding_ids(report_function), ["limit/env"]);
    assert!(
        !finding_ids(orders).contains(&"limit/env".to_string()),
        "{orders:#}"
    );
}

fn finding_ids(function: &Value) -> Vec<String> {
    function["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|finding| finding["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_serverless_service_gives_each_function_with_the_provider_settings() {
    let (code, report) = build(&fixture("serverless/serverless.yml"));
    assert_eq!(code, Some(0), "{report:#}");
    let hello = function(&report, "hello");
    assert_eq!(hello["runtime"], "nodejs20.x");
    assert_eq!(hello["arch"], "arm64");
    assert_eq!(hello["handler_file"], "src/hello.js");
    let text = warnings(hello);
    assert!(text.contains("${sls:stage}"), "{text}");
    assert!(text.contains("layer:shared:3"), "{text}");
    assert!(
        !hello["notes"].to_string().contains("individually"),
        "individually: true needs no note: {}",
        hello["notes"]
    );
    let bye = function(&report, "bye");
    assert_eq!(bye["runtime"], "nodejs22.x");
    // REGION_NAME + FAREWELL resolved; STAGE counted by its name only.
    assert_eq!(limit(bye, "env")["actual"], 11 + 9 + 8 + 7 + 5);
}

/// Copies a fixture folder into `to`, so a test can add what is never committed
/// (`node_modules/`).
fn copy_folder(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let target = to.join(entry.path().strip_prefix(from).unwrap());
        if entry.file_type().is_dir() {
            fs_err::create_dir_all(&target).unwrap();
        } else {
            fs_err::copy(entry.path(), &target).unwrap();
        }
    }
}

fn zip_entries(zip: &Path) -> Vec<String> {
    let archive = zip::ZipArchive::new(fs_err::File::open(zip).unwrap()).unwrap();
    archive
        .file_names()
        .map(|name| name.unwrap().to_string())
        .filter(|name| !name.ends_with('/'))
        .collect()
}

/// What a function ships: its zip's files, and its layers' `nodejs/` files at the paths the
/// function sees them (a shared package may move into a layer).
fn shipped(report: &Value, out: &Path, name: &str) -> Vec<String> {
    let mut files = zip_entries(&out.join(format!("{name}.zip")));
    for layer in function(report, name)["layers"].as_array().unwrap() {
        let layer = out.join(format!("layers/{}.zip", layer.as_str().unwrap()));
        files.extend(
            zip_entries(&layer)
                .into_iter()
                .filter_map(|path| path.strip_prefix("nodejs/").map(str::to_string)),
        );
    }
    files
}

fn rule_files(function: &Value, id: &str) -> u64 {
    function["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|rule| rule["rule"] == id)
        .map_or(0, |rule| rule["files"].as_u64().unwrap())
}

#[test]
fn serverless_package_patterns_exclude_in_order_and_never_the_handler_or_a_main() {
    let temp = tempfile::tempdir().unwrap();
    let service = temp.path().join("service");
    copy_folder(&fixture("serverless-patterns"), &service);
    let dep = service.join("node_modules/dep");
    fs_err::create_dir_all(dep.join("lib")).unwrap();
    fs_err::write(
        dep.join("package.json"),
        r#"{"name":"dep","version":"1.0.0","main":"lib/main.js"}"#,
    )
    .unwrap();
    fs_err::write(
        dep.join("lib/main.js"),
        "exports.greet = (who) => `hi ${who}`;",
    )
    .unwrap();
    fs_err::write(dep.join("lib/unused.js"), "module.exports = 1;").unwrap();
    fs_err::write(dep.join("index.js"), "module.exports = 2;").unwrap();
    // What the framework leaves out before any pattern: its last package, a local plugin.
    fs_err::create_dir_all(service.join(".serverless")).unwrap();
    fs_err::write(service.join(".serverless/api.zip"), "PK").unwrap();
    fs_err::create_dir_all(service.join(".serverless_plugins")).unwrap();
    fs_err::write(
        service.join(".serverless_plugins/local.js"),
        "module.exports = 3;",
    )
    .unwrap();

    let out = temp.path().join("out");
    let (code, report) = build_to(&service.join("serverless.yml"), &out);
    assert_eq!(code, Some(0), "{report:#}");

    let api = function(&report, "api");
    let api_files = shipped(&report, &out, "api");
    for kept in [
        // The handler, although `!src/api.js` matches it.
        "src/api.js",
        // `scripts/keep.js` comes after `!scripts/**`: the last match wins.
        "scripts/keep.js",
        // The package's main, although `!node_modules/dep/lib/**` matches it.
        "node_modules/dep/lib/main.js",
        "node_modules/dep/package.json",
        // No pattern matches it: it ships.
        "src/worker.js",
    ] {
        assert!(
            api_files.contains(&kept.to_string()),
            "{kept}: {api_files:?}"
        );
    }
    for dropped in [
        "scripts/seed.js",
        "docs/guide.md",
        "node_modules/dep/lib/unused.js",
        // api's own `!src/extra/**`.
        "src/extra/util.js",
        ".serverless/api.zip",
        ".serverless_plugins/local.js",
    ] {
        assert!(
            !api_files.contains(&dropped.to_string()),
            "{dropped}: {api_files:?}"
        );
    }
    // Four by the service's and api's patterns, two by the framework's own excludes.
    assert_eq!(rule_files(api, "user/package-pattern"), 6, "{api:#}");
    let notes: Vec<&str> = api["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|note| note.as_str().unwrap())
        .collect();
    let notes = notes.join("\n");
    for expected in [
        r#""!src/api.js" would exclude src/api.js, the handler"#,
        r#""!node_modules/dep/lib/**" would exclude node_modules/dep/lib/main.js"#,
        "package.individually is false",
    ] {
        assert!(notes.contains(expected), "{expected}: {notes}");
    }

    // worker gets the service's patterns, not api's: its helper ships, api's handler does not.
    let worker_files = shipped(&report, &out, "worker");
    assert!(
        worker_files.contains(&"src/extra/util.js".to_string()),
        "{worker_files:?}"
    );
    assert!(
        !worker_files.contains(&"src/api.js".to_string()),
        "{worker_files:?}"
    );
    assert!(
        !worker_files.contains(&"scripts/seed.js".to_string()),
        "{worker_files:?}"
    );
}

#[test]
fn an_unknown_key_in_lamina_toml_names_the_key_and_line() {
    let temp = tempfile::tempdir().unwrap();
    fs_err::write(
        temp.path().join("lamina.toml"),
        "[[function]]\nname = \"a\"\npath = \"a\"\n\n[layers]\nmode = \"auto\"\nshare = 3\n",
    )
    .unwrap();
    let run = crate::harness::lamina_command()
        .arg("build")
        .arg(temp.path())
        .arg("--out")
        .arg(temp.path().join("out"))
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("lamina.toml") && stderr.contains("share") && stderr.contains("line 7"),
        "{stderr}"
    );
    assert!(
        !temp.path().join("out").exists(),
        "nothing is written on bad input"
    );
}

/// A folder holding `fn/` (a Node function that builds) and the project file `name` with
/// `text`; runs `lamina build` on the file and expects exit 2, a message holding `needles`, and
/// no output folder.
fn project_file_fails_with(name: &str, text: &str, needles: &[&str]) {
    let temp = tempfile::tempdir().unwrap();
    let function = temp.path().join("fn");
    fs_err::create_dir_all(&function).unwrap();
    fs_err::write(function.join("package.json"), r#"{"name":"fn"}"#).unwrap();
    fs_err::write(
        function.join("index.js"),
        "exports.handler = async () => 1;\n",
    )
    .unwrap();
    let input = temp.path().join(name);
    fs_err::write(&input, text).unwrap();
    let out = temp.path().join("out");
    let run = crate::harness::lamina_command()
        .arg("build")
        .arg(if name == "lamina.toml" {
            temp.path()
        } else {
            &input
        })
        .arg("--out")
        .arg(&out)
        .arg("--no-cache")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{text}\n{}", show(&run));
    for needle in needles {
        assert!(stderr.contains(needle), "{needle:?} not in {stderr}");
    }
    assert!(run.stdout.is_empty(), "{}", show(&run));
    assert!(!out.exists(), "nothing is written on bad input: {text}");
}

const SAM_FUNCTION: &str =
    "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: fn\n";

#[test]
fn template_value_of_wrong_type_is_input_error() {
    // Before: a list or map where a string belongs was reported as "resolved only at deploy"
    // and the build went on; an Environment or Variables that was not a map was skipped, and
    // the 4 KiB env limit passed unchecked.
    let cases: [(String, &[&str]); 8] = [
        (
            format!("{SAM_FUNCTION}      Handler: [a]\n"),
            &["Resources.Fn.Handler (line 6) must be a string, found a list"],
        ),
        (
            format!("{SAM_FUNCTION}      Handler: index.handler\n      Runtime: 12\n"),
            &[
                "Resources.Fn.Runtime (line 7)",
                "\"12\" is not a Lambda runtime",
            ],
        ),
        (
            format!(
                "{SAM_FUNCTION}      Handler: index.handler\n      Environment:\n        Variables: [A, B]\n"
            ),
            &[
                "Resources.Fn.Environment.Variables (line 8) must be a map",
                "found a list",
            ],
        ),
        (
            format!("{SAM_FUNCTION}      Handler: index.handler\n      Environment: x\n"),
            &["Resources.Fn.Environment (line 7) must be a map with Variables"],
        ),
        (
            format!(
                "{SAM_FUNCTION}      Handler: index.handler\n      Environment:\n        Variables:\n          BIG: [1, 2]\n"
            ),
            &["Resources.Fn.Environment.Variables.BIG (line 9) must be a string"],
        ),
        (
            format!("Globals:\n  Function:\n    Handler: {{file: index}}\n{SAM_FUNCTION}"),
            &["Globals.Function.Handler (line 3) must be a string, found a map"],
        ),
        (
            format!("{SAM_FUNCTION}      Handler: index.handler\n      Architectures: arm64\n"),
            &["Resources.Fn.Architectures (line 7) must be a list"],
        ),
        (
            format!("{SAM_FUNCTION}      Handler: index.handler\n      Layers: arn:aws:lambda:x\n"),
            &["Resources.Fn.Layers (line 7) must be a list"],
        ),
    ];
    for (text, needles) in cases {
        let mut all = vec!["template.yaml"];
        all.extend(needles);
        project_file_fails_with("template.yaml", &text, &all);
    }

    let service = "service: s\nprovider:\n  name: aws\n  runtime: nodejs20.x\n";
    let cases: [(String, &[&str]); 4] = [
        (
            format!("{service}functions:\n  api:\n    handler: [fn/index.handler]\n"),
            &["functions.api.handler (line 7) must be a string, found a list"],
        ),
        (
            format!("{service}functions:\n  api: fn/index.handler\n"),
            &["functions.api (line 6) must be a map of function settings"],
        ),
        (
            format!(
                "{service}  environment: [A]\nfunctions:\n  api:\n    handler: fn/index.handler\n"
            ),
            &["provider.environment (line 5) must be a map"],
        ),
        (
            format!(
                "{service}package:\n  patterns: '!docs/**'\nfunctions:\n  api:\n    handler: fn/index.handler\n"
            ),
            &["package.patterns (line 6) must be a list"],
        ),
    ];
    for (text, needles) in cases {
        let mut all = vec!["serverless.yml"];
        all.extend(needles);
        project_file_fails_with("serverless.yml", &text, &all);
    }
}

#[test]
fn lamina_toml_value_of_wrong_type_is_input_error() {
    let function = "[[function]]\nname = \"a\"\npath = \"fn\"\n";
    let cases: [(String, &[&str]); 6] = [
        (
            format!("{function}runtime = 3\n"),
            &["line 4", "runtime = 3", "expected a string"],
        ),
        (
            format!("{function}handler = [\"x\"]\n"),
            &["line 4", "handler = [\"x\"]", "expected a string"],
        ),
        (
            format!("{function}environment = \"x\"\n"),
            &["line 4", "environment = \"x\"", "expected a map"],
        ),
        (
            format!("{function}[layers]\nmin_functions = \"two\"\n"),
            &[
                "line 5",
                "min_functions",
                "expected a whole number of functions",
            ],
        ),
        (
            format!("{function}[layers]\nmode = 3\n"),
            &["line 5", "mode = 3", "expected a string"],
        ),
        (
            format!("defaults = 3\n{function}"),
            &[
                "line 1",
                "defaults = 3",
                "expected a table of function settings",
            ],
        ),
    ];
    for (text, needles) in cases {
        let mut all = vec!["lamina.toml"];
        all.extend(needles);
        project_file_fails_with("lamina.toml", &text, &all);
    }
}
