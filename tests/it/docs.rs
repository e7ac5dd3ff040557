//! Tidy checks: the docs list every rule id and every report field the code emits.

use serde_json::Value;

use crate::harness::Fixture;

fn read(path: &str) -> String {
    fs_err::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

#[test]
fn every_rule_id_is_documented_and_every_documented_id_exists() {
    let doc = read("docs/rules.md");
    for rule in lamina::shake::rules::RULES {
        assert!(
            doc.contains(&format!("| `{}` |", rule.id)),
            "docs/rules.md lacks {}",
            rule.id
        );
    }
    let documented = doc.lines().filter(|line| line.starts_with("| `")).count();
    assert_eq!(
        documented,
        lamina::shake::rules::RULES.len(),
        "docs/rules.md lists a rule the code does not have"
    );
}

fn keys(value: &Value, into: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                into.push(key.clone());
                keys(inner, into);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| keys(item, into)),
        _ => {}
    }
}

#[test]
fn every_report_field_is_documented() {
    let fixture = Fixture::new(
        "fn",
        serde_json::json!({ "name": "fn", "dependencies": { "a": "1" } }),
    );
    fixture
        .file("index.js", "require('a')")
        .package("node_modules/a", "a", "1.0.0", &[]);
    fixture.file(
        "package-lock.json",
        r#"{"lockfileVersion":3,"packages":{"node_modules/a":{"version":"1.0.0"}}}"#,
    );
    let built = fixture.build(&[]);
    let doc = read("docs/report-format.md");
    let mut found = Vec::new();
    keys(&built.report, &mut found);
    found.sort();
    found.dedup();
    for key in found {
        assert!(
            doc.contains(&format!("`{key}`")),
            "docs/report-format.md does not document `{key}`"
        );
    }
}
