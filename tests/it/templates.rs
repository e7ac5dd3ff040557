//! `lamina build` on an AWS SAM template and a `serverless.yml` (testdata/templates): functions
//! discovered with their handler, runtime and architecture (Globals and provider settings
//! included), intrinsic functions reported rather than guessed, the 4 KiB `env` limit.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::install::show;

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/templates")
        .join(path)
}

fn build(input: &Path) -> (Option<i32>, Value) {
    let out = tempfile::tempdir().unwrap();
    let run = Command::new(assert_cmd::cargo::cargo_bin("lamina"))
        .arg("build")
        .arg(input)
        .arg("--out")
        .arg(out.path().join("out"))
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
    assert!(text.contains("package.patterns"), "{text}");
    assert!(text.contains("layer:shared:3"), "{text}");
    let bye = function(&report, "bye");
    assert_eq!(bye["runtime"], "nodejs22.x");
    // REGION_NAME + FAREWELL resolved; STAGE counted by its name only.
    assert_eq!(limit(bye, "env")["actual"], 11 + 9 + 8 + 7 + 5);
}

#[test]
fn an_unknown_key_in_lamina_toml_names_the_key_and_line() {
    let temp = tempfile::tempdir().unwrap();
    fs_err::write(
        temp.path().join("lamina.toml"),
        "[[function]]\nname = \"a\"\npath = \"a\"\n\n[layers]\nmode = \"auto\"\nshare = 3\n",
    )
    .unwrap();
    let run = Command::new(assert_cmd::cargo::cargo_bin("lamina"))
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
