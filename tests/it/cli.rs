//! The command-line contract: exit codes, error messages that name the path, nothing written on
//! bad input, stdout holding only the result.

use serde_json::json;

use crate::harness::Fixture;

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).to_string()
}

/// Runs `lamina build` on the fixture and expects exit 2 with a message containing `needles`,
/// and no zip written.
fn fails_with(fixture: &Fixture, needles: &[&str]) {
    let out = fixture.base.join("out");
    let output = fixture.lamina(&[
        "build",
        fixture.root.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let message = stderr(&output);
    for needle in needles {
        assert!(message.contains(needle), "{needle:?} not in {message:?}");
    }
    assert!(output.stdout.is_empty());
    let written: Vec<_> = fs_err::read_dir(&out)
        .map(|entries| entries.flatten().collect())
        .unwrap_or_default();
    assert!(
        written.is_empty(),
        "nothing may be written on bad input: {written:?}"
    );
}

#[test]
fn a_folder_without_package_json_is_refused() {
    let fixture = Fixture::new("empty", json!({}));
    fs_err::remove_file(fixture.root.join("package.json")).unwrap();
    fails_with(&fixture, &["empty", "no package.json"]);
}

#[test]
fn invalid_json_names_the_file() {
    let fixture = Fixture::new(
        "bad",
        json!({ "name": "bad", "dependencies": { "a": "1" } }),
    );
    fixture
        .file("index.js", "require('a')")
        .file("node_modules/a/package.json", "{ \"name\": ");
    fails_with(&fixture, &["node_modules/a/package.json", "invalid JSON"]);
}

/// Runs `lamina scan` on the fixture and expects exit 2 with a message containing `needles`
/// and nothing on stdout.
fn scan_fails_with(fixture: &Fixture, needles: &[&str]) {
    let output = fixture.lamina(&["scan", fixture.root.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let message = stderr(&output);
    for needle in needles {
        assert!(message.contains(needle), "{needle:?} not in {message:?}");
    }
    assert!(output.stdout.is_empty());
}

#[test]
fn manifest_field_of_wrong_type_is_input_error() {
    // Before: a dependency list that is not an object was read as empty, and every installed
    // package was dropped as extraneous with exit 0.
    let cases = [
        (
            json!({ "name": "fn", "dependencies": ["tiny"] }),
            vec![
                "fn/package.json",
                r#""dependencies" must be an object of name → version range, found an array"#,
            ],
        ),
        (
            json!({ "name": "fn", "dependencies": "tiny" }),
            vec!["fn/package.json", r#""dependencies""#, "found a string"],
        ),
        (
            json!({ "name": "fn", "dependencies": { "tiny": 1 } }),
            vec![
                "fn/package.json",
                r#""dependencies"."tiny" must be a version range string, found a number"#,
            ],
        ),
        (
            json!({ "name": "fn", "dependencies": { "tiny": "1" }, "main": ["index.js"] }),
            vec![
                "fn/package.json",
                r#""main" must be a string, found an array"#,
            ],
        ),
        (
            json!({ "name": "fn", "dependencies": { "tiny": "1" }, "engines": { "node": 20 } }),
            vec!["fn/package.json", r#""engines"."node""#, "found a number"],
        ),
        (
            json!({ "name": "fn", "dependencies": { "tiny": "1" }, "exports": true }),
            vec!["fn/package.json", r#""exports" must be"#, "found a boolean"],
        ),
    ];
    for (manifest, needles) in cases {
        let fixture = Fixture::new("fn", manifest);
        fixture
            .file(
                "index.js",
                "const tiny = require('tiny');\nexports.handler = async () => tiny;\n",
            )
            .package("node_modules/tiny", "tiny", "1.0.0", &[]);
        let before = fixture.snapshot();
        fails_with(&fixture, &needles);
        scan_fails_with(&fixture, &needles);
        assert_eq!(fixture.snapshot(), before, "the input is never modified");
    }
}

#[test]
fn installed_manifest_field_of_wrong_type_is_input_error_where_it_changes_what_ships() {
    // `tiny` needs `inner`: read as empty, a list or a string would drop `inner` and ship a
    // `tiny` that cannot load; a version that is not a string npm itself refuses.
    for dependencies in [json!(["inner"]), json!("inner"), json!({ "inner": true })] {
        let fixture = Fixture::new(
            "fn",
            json!({ "name": "fn", "dependencies": { "tiny": "1" } }),
        );
        fixture
            .file(
                "index.js",
                "const tiny = require('tiny');\nexports.handler = async () => tiny;\n",
            )
            .manifest(
                "node_modules/tiny",
                json!({ "name": "tiny", "version": "1.0.0", "dependencies": dependencies }),
            )
            .file(
                "node_modules/tiny/index.js",
                "module.exports = require('inner');\n",
            )
            .package("node_modules/inner", "inner", "1.0.0", &[]);
        fails_with(
            &fixture,
            &[
                "node_modules/tiny/package.json",
                r#""dependencies""#,
                "must be",
            ],
        );
    }
}

#[test]
fn a_dependency_that_is_not_installed_is_an_error_unless_optional() {
    let fixture = Fixture::new(
        "missing",
        json!({ "name": "missing", "dependencies": { "absent": "1" } }),
    );
    fixture.file("index.js", "");
    fails_with(
        &fixture,
        &["missing/package.json", "absent", "not installed"],
    );

    let fixture = Fixture::new(
        "optional",
        json!({ "name": "optional", "optionalDependencies": { "absent": "1" } }),
    );
    fixture.file("index.js", "exports.handler = async () => 1;");
    assert_eq!(fixture.build(&[]).code, 0);

    let fixture = Fixture::new(
        "deep",
        json!({ "name": "deep", "dependencies": { "a": "1" } }),
    );
    fixture
        .file("index.js", "require('a')")
        .package("node_modules/a", "a", "1.0.0", &["gone"]);
    fails_with(
        &fixture,
        &["node_modules/a/package.json", "a@1.0.0", "gone"],
    );
}

#[test]
fn a_missing_handler_names_the_files_tried() {
    let fixture = Fixture::new("nohandler", json!({ "name": "nohandler" }));
    fixture.file("index.js", "");
    let out = fixture.base.join("out");
    let output = fixture.lamina(&[
        "build",
        "nohandler",
        "--handler",
        "src/main.handler",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("src/main.js, src/main.mjs, src/main.cjs"),
        "{}",
        stderr(&output)
    );
    assert!(!out.exists());
}

#[test]
fn unknown_runtimes_and_flags_are_usage_errors() {
    let fixture = Fixture::new("fn", json!({ "name": "fn" }));
    fixture.file("index.js", "");
    let output = fixture.lamina(&["scan", "fn", "--runtime", "nodejs12.x"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("nodejs22.x"),
        "lists the supported runtimes"
    );
    let output = fixture.lamina(&["scan", "fn", "--shake", "files"]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn a_zip_over_the_limit_exits_1_with_zip_and_report_written() {
    let fixture = Fixture::new("huge", json!({ "name": "huge" }));
    fixture.file("index.js", "exports.handler = async () => 1;");
    // 51 MiB that deflate cannot shrink: a xorshift stream.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut data = Vec::with_capacity(51 << 20);
    while data.len() < 51 << 20 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        data.extend_from_slice(&state.to_le_bytes());
    }
    fs_err::write(fixture.root.join("model.bin"), &data).unwrap();
    let built = fixture.build(&[]);
    assert_eq!(built.code, 1);
    assert_eq!(built.report["ok"], false);
    let zipped = built.function()["limits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|limit| limit["id"] == "zipped")
        .unwrap()
        .clone();
    assert_eq!(zipped["ok"], false);
    assert_eq!(zipped["limit"], 52_428_800);
    assert!(built.zip.is_file());
    assert!(built.out.join("report.json").is_file());
}

#[test]
fn human_output_is_a_summary_and_json_is_the_report() {
    let fixture = Fixture::new("fn", json!({ "name": "fn" }));
    fixture.file("index.js", "exports.handler = async () => 1;");
    let output = fixture.lamina(&["build", "fn", "--out", "out"]);
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.contains("limits") && text.contains("zipped") && text.contains("ok"),
        "{text}"
    );
    let written: serde_json::Value =
        serde_json::from_slice(&fs_err::read(fixture.base.join("out/report.json")).unwrap())
            .unwrap();
    assert_eq!(written["schema_version"], 2);
    // No temporary files left beside the outputs.
    let mut names: Vec<String> = fs_err::read_dir(fixture.base.join("out"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, [".lamina-output", "fn.zip", "report.json"]);
}

/// Every option of every command says what it does in `--help` (issue 12).
#[test]
fn every_option_has_a_help_text() {
    for command in ["scan", "build", "plan", "check", "why"] {
        let output = crate::harness::lamina_command()
            .args([command, "--help"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&output.stdout);
        for line in text.lines() {
            let trimmed = line.trim();
            if trimmed.starts_with('-') || (trimmed.starts_with('<') && line.starts_with("  ")) {
                assert!(
                    trimmed.contains("  "),
                    "`lamina {command} --help`: no description for {trimmed:?}"
                );
            }
        }
    }
}

/// `lamina completions SHELL` prints a script that knows every subcommand and `build`'s flags
/// (bash's parses), and `lamina man` a roff page of the same command line; both exit 0 and
/// write nothing else.
#[test]
fn completions_and_the_man_page_cover_the_command_line() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let output = crate::harness::lamina_command()
            .args(["completions", shell])
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{shell}: {}",
            stderr(&output)
        );
        let script = String::from_utf8(output.stdout).unwrap();
        for needle in [
            "scan",
            "build",
            "plan",
            "check",
            "why",
            "shake",
            "smoke-event",
            "only",
        ] {
            assert!(script.contains(needle), "{shell}: no {needle}");
        }
        if shell == "bash" {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("lamina.bash");
            fs_err::write(&path, &script).unwrap();
            let parsed = std::process::Command::new("bash")
                .arg("-n")
                .arg(&path)
                .output()
                .unwrap();
            assert!(parsed.status.success(), "{}", stderr(&parsed));
        }
    }
    let output = crate::harness::lamina_command()
        .arg("man")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let page = String::from_utf8(output.stdout).unwrap();
    assert!(page.contains(".TH lamina 1"), "{page}");
    for needle in ["build", "scan", "check", "why", "completions"] {
        assert!(page.contains(needle), "the man page lacks {needle}");
    }
    let refused = crate::harness::lamina_command()
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
}
