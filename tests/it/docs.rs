//! Tidy checks: the docs list every rule id and every report field the code emits.

use crate::harness::Fixture;

fn read(path: &str) -> String {
    fs_err::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

/// The ids in the first column of the tables of `docs/rules.md`: the rules before the
/// `## Findings` heading, the findings after it.
fn documented_ids() -> (Vec<String>, Vec<String>) {
    let doc = read("docs/rules.md");
    let (rules, findings) = doc
        .split_once("\n## Findings\n")
        .expect("docs/rules.md has a ## Findings section");
    let ids = |text: &str| -> Vec<String> {
        text.lines()
            .filter_map(|line| line.strip_prefix("| `"))
            .map(|rest| rest.split('`').next().unwrap().to_string())
            .collect()
    };
    (ids(rules), ids(findings))
}

#[test]
fn every_rule_id_is_documented_and_every_documented_id_exists() {
    let (documented, _) = documented_ids();
    let mut code: Vec<String> = lamina::shake::rules::RULES
        .iter()
        .map(|rule| rule.id.to_string())
        .collect();
    let mut documented = documented;
    code.sort();
    documented.sort();
    assert_eq!(
        documented, code,
        "docs/rules.md and shake::rules::RULES differ"
    );
}

#[test]
fn every_finding_id_is_documented_with_its_severity() {
    let (_, documented) = documented_ids();
    let code: Vec<String> = lamina::verify::findings::FINDINGS
        .iter()
        .map(|kind| kind.id.to_string())
        .collect();
    assert_eq!(
        documented, code,
        "the findings table of docs/rules.md and verify::findings::FINDINGS differ (same order)"
    );
    let doc = read("docs/rules.md");
    for kind in lamina::verify::findings::FINDINGS {
        let severity = match kind.severity {
            lamina::model::Severity::Error => "error",
            lamina::model::Severity::Warning => "warning",
        };
        assert!(
            doc.contains(&format!("| `{}` | {severity}", kind.id)),
            "docs/rules.md gives {} another severity than {severity}",
            kind.id
        );
    }
}

/// A function that requires its one dependency.
fn one_dependency() -> Fixture {
    let fixture = Fixture::new(
        "fn",
        serde_json::json!({ "name": "fn", "dependencies": { "a": "1" } }),
    );
    fixture
        .file("index.js", "require('a')")
        .package("node_modules/a", "a", "1.0.0", &[]);
    fixture
}

#[test]
fn every_report_field_is_documented() {
    let fixture = one_dependency();
    fixture.file(
        "package-lock.json",
        r#"{"lockfileVersion":3,"packages":{"node_modules/a":{"version":"1.0.0"}}}"#,
    );
    let built = fixture.build(&[]);
    assert_documented(&built.report);
}

/// Every key of a report is named in `docs/report-format.md`.
fn assert_documented(report: &serde_json::Value) {
    let doc = read("docs/report-format.md");
    let mut found = Vec::new();
    crate::harness::json_keys(report, &mut found);
    found.sort();
    found.dedup();
    for key in found {
        assert!(
            doc.contains(&format!("`{key}`")),
            "docs/report-format.md does not document `{key}`"
        );
    }
}

/// `check` writes the objects `build` writes: a function (and a layer) has the same fields
/// whichever command made it, less what only `scan` and `build` know; every field is
/// documented.
#[test]
fn check_writes_the_shape_build_writes() {
    let fixture = one_dependency();
    let built = fixture.build(&[]);
    let zip = built.zip.to_str().unwrap();
    // The function's zip as a layer too: its files sit outside `nodejs/`, a finding.
    let output = fixture.lamina(&["check", zip, "--layer", zip, "--json"]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let checked: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(checked["schema_version"], built.report["schema_version"]);
    let keys = |value: &serde_json::Value| -> Vec<String> {
        value.as_object().unwrap().keys().cloned().collect()
    };
    assert_eq!(keys(&checked), keys(&built.report));
    let build_function = keys(&built.report["functions"][0]);
    let check_function = keys(&checked["functions"][0]);
    for key in &check_function {
        assert!(
            build_function.contains(key),
            "check's function has `{key}`, build's does not"
        );
    }
    // What a zip alone tells, both commands say alike.
    for key in [
        "sha256",
        "zipped_bytes",
        "unzipped_bytes",
        "entries",
        "upload",
    ] {
        assert_eq!(
            checked["functions"][0][key], built.report["functions"][0][key],
            "{key}"
        );
    }
    assert!(!check_function.contains(&"packages".to_string()));
    let layer = keys(&checked["layers"][0]);
    for key in [
        "name", "runtime", "arch", "artifact", "sha256", "entries", "limits",
    ] {
        assert!(layer.contains(&key.to_string()), "{key}");
    }
    assert_documented(&checked);
}
