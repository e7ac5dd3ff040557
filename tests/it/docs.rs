//! Tidy checks: the docs list every rule id and every report field the code emits, and the
//! reports the commands write match the published JSON Schema (`docs/report.schema.json`).

use serde_json::{Value, json};

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

/// Every key of a report is named in `docs/report-format.md`, and the report matches
/// `docs/report.schema.json`.
fn assert_documented(report: &serde_json::Value) {
    assert_matches_schema(report, "the report");
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

// ---------------------------------------------------------------------------------------------
// The published JSON Schema of the report
// ---------------------------------------------------------------------------------------------

/// `docs/report.schema.json`, as JSON.
fn schema() -> Value {
    serde_json::from_str(&read("docs/report.schema.json")).expect("docs/report.schema.json is JSON")
}

/// A validator of `docs/report.schema.json`, compiled once: the schema is first held to JSON
/// Schema 2020-12's meta-schema.
fn validator() -> &'static jsonschema::Validator {
    static VALIDATOR: std::sync::OnceLock<jsonschema::Validator> = std::sync::OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let schema = schema();
        if let Err(error) = jsonschema::draft202012::meta::validate(&schema) {
            panic!(
                "docs/report.schema.json is not a valid 2020-12 schema: {error} at {}",
                error.instance_path().as_str()
            );
        }
        jsonschema::draft202012::new(&schema)
            .unwrap_or_else(|error| panic!("docs/report.schema.json does not compile: {error}"))
    })
}

/// What `docs/report.schema.json` finds wrong with `report`, one line each.
fn schema_errors(report: &Value) -> Vec<String> {
    validator()
        .iter_errors(report)
        .map(|error| {
            format!(
                "{} (at {}, by {})",
                error,
                error.instance_path().as_str(),
                error.schema_path().as_str()
            )
        })
        .collect()
}

/// The report matches `docs/report.schema.json`; `what` names it in the failure.
pub(crate) fn assert_matches_schema(report: &Value, what: &str) {
    let errors = schema_errors(report);
    assert!(
        errors.is_empty(),
        "{what} does not match docs/report.schema.json:\n{}\n{report:#}",
        errors.join("\n")
    );
}

/// Runs `lamina ARGS` in the fixture's base folder and returns the JSON it printed, after
/// checking that it exited with one of `codes`.
fn json_of(fixture: &Fixture, args: &[&str], codes: &[i32]) -> Value {
    let output = fixture.lamina(args);
    let code = output.status.code().unwrap();
    assert!(
        codes.contains(&code),
        "lamina {args:?} exited {code}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("stdout is the JSON report")
}

/// Every object in schema position in `schema` (the schema itself, `properties`, `$defs`,
/// `items`, the applicators), with its JSON pointer.
fn subschemas<'a>(
    schema: &'a Value,
    pointer: String,
    into: &mut Vec<(String, &'a serde_json::Map<String, Value>)>,
) {
    // `true` and `false` are schemas too, with nothing inside.
    let Value::Object(map) = schema else { return };
    into.push((pointer.clone(), map));
    for (keyword, value) in map {
        let here = format!("{pointer}/{keyword}");
        match keyword.as_str() {
            "properties" | "$defs" => {
                for (name, inner) in value.as_object().unwrap() {
                    subschemas(inner, format!("{here}/{name}"), into);
                }
            }
            "allOf" | "anyOf" | "prefixItems" => {
                for (index, inner) in value.as_array().unwrap().iter().enumerate() {
                    subschemas(inner, format!("{here}/{index}"), into);
                }
            }
            "items" | "not" | "if" | "then" | "else" | "additionalProperties" | "propertyNames" => {
                subschemas(value, here, into);
            }
            _ => {}
        }
    }
}

/// The keywords the schema uses. A validator ignores one it does not know, so a misspelt
/// `requried` would quietly check nothing: every other key is refused.
const SCHEMA_KEYWORDS: &[&str] = &[
    "$schema",
    "$defs",
    "$ref",
    "title",
    "description",
    "type",
    "const",
    "enum",
    "minimum",
    "minLength",
    "pattern",
    "items",
    "prefixItems",
    "minItems",
    "maxItems",
    "properties",
    "required",
    "additionalProperties",
    "propertyNames",
    "dependentRequired",
    "allOf",
    "anyOf",
    "not",
    "if",
    "then",
    "else",
];

/// The schema is a valid 2020-12 schema written with known keywords; each object it closes
/// (`additionalProperties: false`) describes every field and requires only fields it has; every
/// field it names is in `docs/report-format.md`, and every field a table there lists is in it.
#[test]
fn the_report_schema_is_valid_and_agrees_with_the_format_document() {
    validator();
    let schema = schema();
    let doc = read("docs/report-format.md");
    let mut found = Vec::new();
    subschemas(&schema, String::new(), &mut found);
    let mut named = std::collections::BTreeSet::new();
    for (pointer, map) in &found {
        for keyword in map.keys() {
            assert!(
                SCHEMA_KEYWORDS.contains(&keyword.as_str()),
                "docs/report.schema.json{pointer}: unknown keyword `{keyword}`"
            );
        }
        if map.get("additionalProperties") != Some(&Value::Bool(false)) {
            continue;
        }
        let properties = map["properties"].as_object().unwrap();
        for (name, property) in properties {
            named.insert(name.clone());
            assert!(
                property.get("description").is_some_and(Value::is_string),
                "docs/report.schema.json{pointer}/properties/{name} has no description"
            );
            assert!(
                doc.contains(&format!("`{name}`")),
                "docs/report.schema.json{pointer} has `{name}`, docs/report-format.md does not"
            );
        }
        for name in map["required"].as_array().unwrap() {
            assert!(
                properties.contains_key(name.as_str().unwrap()),
                "docs/report.schema.json{pointer} requires {name}, which it does not describe"
            );
        }
    }
    for line in doc.lines() {
        if let Some(rest) = line.strip_prefix("| `") {
            let field = rest.split('`').next().unwrap();
            assert!(
                named.contains(field),
                "docs/report-format.md lists `{field}`, docs/report.schema.json does not"
            );
        }
    }
    // A function has the fields every command writes, or those and all of scan's and build's.
    let function = &schema["$defs"]["function"];
    let names = |value: &Value| -> std::collections::BTreeSet<String> {
        value
            .as_array()
            .unwrap()
            .iter()
            .map(|name| name.as_str().unwrap().to_string())
            .collect()
    };
    let common = names(&function["required"]);
    let slimming = names(&function["anyOf"][0]["required"]);
    assert_eq!(
        common,
        names(&function["anyOf"][1]["propertyNames"]["enum"])
    );
    let all: std::collections::BTreeSet<String> = function["properties"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(all, common.union(&slimming).cloned().collect());
}

/// `scan`, `build` (deps; files with a smoke test, maximum compression and an S3 upload) and
/// `check` (alone, and with the function's zip as a misplaced layer) of a Node function with
/// a production, an unused and a dev dependency, junk and a lockfile.
#[test]
fn node_reports_match_the_schema() {
    let fixture = crate::reports::orders();
    fixture.file(
        "package-lock.json",
        &json!({
            "lockfileVersion": 3,
            "packages": {
                "node_modules/ms": { "version": "2.1.3" },
                "node_modules/jest-lite": { "version": "1.0.0", "dev": true }
            }
        })
        .to_string(),
    );
    let scan = json_of(&fixture, &["scan", "orders", "--json"], &[0]);
    assert_matches_schema(&scan, "scan");
    let built = fixture.build(&[]);
    assert_matches_schema(&built.report, "build");
    let shaken = fixture.build(&[
        "--shake",
        "files",
        "--smoke",
        "--compression",
        "max",
        "--upload",
        "s3",
    ]);
    assert_eq!(
        shaken.function()["smoke"]["ok"],
        true,
        "{:#}",
        shaken.report
    );
    assert!(shaken.package("node_modules/ms")["trace"].is_object());
    assert_matches_schema(&shaken.report, "build --shake files --smoke");
    let zip = shaken.zip.to_str().unwrap();
    let checked = json_of(
        &fixture,
        &["check", zip, "--handler", "index.handler", "--json"],
        &[0],
    );
    assert_matches_schema(&checked, "check");
    let layered = json_of(&fixture, &["check", zip, "--layer", zip, "--json"], &[1]);
    assert!(
        !layered["layers"][0]["findings"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_matches_schema(&layered, "check --layer");
}

/// `scan`, `build --shake files --smoke --compile --strip` and `check` of a Python function
/// whose distributions are kept by imports, requirements and plugins, or dropped.
#[test]
fn python_reports_match_the_schema() {
    let fixture = crate::python::closure_fixture();
    let scan = json_of(
        &fixture,
        &["scan", "orders", "--json", "--runtime", "python3.11"],
        &[0],
    );
    assert_matches_schema(&scan, "scan");
    let built = fixture.build(&[
        "--runtime",
        "python3.11",
        "--shake",
        "files",
        "--smoke",
        "--compile",
        "--strip",
    ]);
    assert!(built.function()["compiled_pycs"].is_u64());
    assert!(built.function()["smoke"].is_object());
    assert_matches_schema(&built.report, "build --shake files --smoke");
    let zip = built.zip.to_str().unwrap();
    let checked = json_of(
        &fixture,
        &["check", zip, "--json", "--runtime", "python3.11"],
        &[0],
    );
    assert_matches_schema(&checked, "check");
}

/// `build --layers auto --smoke` of two Node functions sharing a package, and `check` of their
/// zips with the layer it wrote.
#[test]
fn layer_reports_match_the_schema() {
    let fixture = crate::layers::monorepo();
    let built = json_of(
        &fixture,
        &[
            "build", "mono", "--out", "out", "--json", "--layers", "auto", "--smoke",
        ],
        &[0],
    );
    assert_eq!(built["layers"].as_array().unwrap().len(), 1, "{built:#}");
    assert_matches_schema(&built, "build --layers auto");
    let layer = built["layers"][0]["artifact"].as_str().unwrap();
    let functions: Vec<&str> = built["functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|function| function["artifact"].as_str().unwrap())
        .collect();
    let mut args = vec!["check"];
    args.extend(&functions);
    args.extend(["--layer", layer, "--json"]);
    let checked = json_of(&fixture, &args, &[0]);
    assert_eq!(checked["layers"][0]["runtime"], Value::Null);
    assert_matches_schema(&checked, "check --layer");
}

/// The schema refuses what it does not describe: an unknown field at any depth, another
/// `schema_version`, a null where `build` always gives a value, `check` with a function folder,
/// an unknown severity. It admits every rule and finding id the code has.
#[test]
fn the_schema_refuses_a_report_it_does_not_describe() {
    let built = one_dependency().build(&[]);
    let report = built.report;
    assert_matches_schema(&report, "build");
    // Each sets a key of the object at a JSON pointer to a value.
    let mutations = [
        ("an unknown top-level field", "", "unknown", json!(1)),
        ("schema_version 3", "", "schema_version", json!(3)),
        (
            "an unknown field of a package",
            "/functions/0/packages/0",
            "unknown",
            json!(true),
        ),
        (
            "build without the zip's hash",
            "/functions/0",
            "sha256",
            Value::Null,
        ),
        (
            "check with a function folder",
            "",
            "command",
            json!("check"),
        ),
        (
            "a finding of an unknown severity",
            "/functions/0",
            "findings",
            json!([{
                "id": "native/macho", "severity": "fatal", "entry": null,
                "message": "m", "fix": "f"
            }]),
        ),
    ];
    for (what, pointer, key, value) in mutations {
        let mut changed = report.clone();
        changed.pointer_mut(pointer).unwrap()[key] = value;
        assert!(
            !schema_errors(&changed).is_empty(),
            "docs/report.schema.json admits a report with {what}"
        );
    }
    let mut every_id = report.clone();
    every_id["functions"][0]["findings"] = lamina::verify::findings::FINDINGS
        .iter()
        .map(|kind| {
            json!({
                "id": kind.id, "severity": kind.severity, "entry": null,
                "message": "m", "fix": kind.fix
            })
        })
        .collect();
    every_id["functions"][0]["rules"] = lamina::shake::rules::RULES
        .iter()
        .map(|rule| json!({ "rule": rule.id, "files": 1, "bytes": 1 }))
        .collect();
    assert_matches_schema(&every_id, "a report with every finding and rule id");
}
