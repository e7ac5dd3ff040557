//! `lamina stack` (and the `stacks` of `scan`): lamina's count of the CloudFormation resources a
//! SAM template or a `serverless.yml` deploys, held to the real expansions. aws-sam-translator
//! (pinned in `testdata/stack/tools/sam/requirements.txt`, in a venv) transforms each SAM
//! template offline; Serverless Framework 3 (pinned by `testdata/tools/serverless`'s lockfile)
//! runs `sls package` on a copy of each service. Both are installed once into
//! `<cache>/lamina-stack` (`LAMINA_E2E_CACHE` overrides), with their own npm and pip caches there.
//! Every count must equal the tool's, type by type; where lamina says it cannot expand
//! something, its count must be a lower bound of the real one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use fs_err as fs;
use serde_json::Value;

use crate::harness::lamina_command;
use crate::install::{self, cache_root, show};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn cache() -> PathBuf {
    cache_root("lamina-stack")
}

/// The venv's python with aws-sam-translator, installed once per requirements file.
fn sam_python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        install::require_tool("python3", "Python 3 with venv");
        let cache = cache();
        let pip_cache = cache.join("pip-cache");
        let dir = install::installed(
            &cache,
            "sam-translator",
            &repo().join("testdata/stack/tools/sam"),
            "venv",
            "",
            |dir| {
                let out = Command::new("python3")
                    .args(["-m", "venv", "venv"])
                    .current_dir(dir)
                    .output()
                    .unwrap();
                assert!(out.status.success(), "python3 -m venv: {}", show(&out));
                let out = Command::new(dir.join("venv/bin/python"))
                    .args(["-m", "pip", "install", "--quiet", "--no-deps"])
                    .arg("-r")
                    .arg("requirements.txt")
                    .env("PIP_CACHE_DIR", &pip_cache)
                    .current_dir(dir)
                    .output()
                    .unwrap();
                assert!(out.status.success(), "pip install: {}", show(&out));
            },
        );
        dir.join("venv/bin/python")
    })
}

/// `sls` of the pinned Serverless Framework 3, installed once into this module's cache.
fn sls() -> &'static Path {
    static SLS: OnceLock<PathBuf> = OnceLock::new();
    SLS.get_or_init(install::serverless_framework)
}

/// Resources per CloudFormation type.
type Types = BTreeMap<String, usize>;

fn histogram<'a>(types: impl IntoIterator<Item = &'a str>) -> Types {
    let mut histogram = Types::new();
    for resource_type in types {
        *histogram.entry(resource_type.to_string()).or_default() += 1;
    }
    histogram
}

/// aws-sam-translator's expansion of each template: resources per type.
fn sam_expansions(templates: &[PathBuf]) -> Vec<Types> {
    let out = Command::new(sam_python())
        .arg(repo().join("testdata/stack/tools/sam/sam_transform.py"))
        .args(templates)
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "lamina-test")
        .env("AWS_SECRET_ACCESS_KEY", "lamina-test")
        .output()
        .unwrap();
    assert!(out.status.success(), "sam_transform.py: {}", show(&out));
    let expanded: Value = serde_json::from_slice(&out.stdout).unwrap();
    templates
        .iter()
        .map(|template| {
            let resources = expanded[template.to_str().unwrap()]
                .as_object()
                .unwrap_or_else(|| panic!("no expansion of {}", template.display()));
            histogram(resources.values().map(|t| t.as_str().unwrap()))
        })
        .collect()
}

/// `sls package` of a copy of the service folder: resources per type of the compiled template.
fn sls_expansion(service: &Path) -> Types {
    let scratch = tempfile::tempdir().unwrap();
    let copy = scratch.path().join("service");
    for entry in walkdir::WalkDir::new(service).sort_by_file_name() {
        let entry = entry.unwrap();
        let to = copy.join(entry.path().strip_prefix(service).unwrap());
        if entry.file_type().is_dir() {
            fs::create_dir_all(&to).unwrap();
        } else {
            fs::copy(entry.path(), &to).unwrap();
        }
    }
    let home = scratch.path().join("home");
    fs::create_dir_all(&home).unwrap();
    let out = Command::new("node")
        .arg(sls())
        .arg("package")
        .current_dir(&copy)
        .env("HOME", &home)
        .env("SLS_TELEMETRY_DISABLED", "1")
        .env("SLS_NOTIFICATIONS_MODE", "off")
        .env("SLS_DEPRECATION_DISABLE", "*")
        .env("AWS_ACCESS_KEY_ID", "lamina-test")
        .env("AWS_SECRET_ACCESS_KEY", "lamina-test")
        .env("AWS_REGION", "eu-west-1")
        .env("npm_config_cache", scratch.path().join("npm-cache"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "sls package in {}: {}",
        copy.display(),
        show(&out)
    );
    let compiled: Value = serde_json::from_slice(
        &fs::read(copy.join(".serverless/cloudformation-template-update-stack.json")).unwrap(),
    )
    .unwrap();
    histogram(
        compiled["Resources"]
            .as_object()
            .unwrap()
            .values()
            .map(|resource| resource["Type"].as_str().unwrap()),
    )
}

/// `lamina stack --json TEMPLATE`: its exit code and the stack's report.
fn lamina_stack(template: &Path) -> (i32, Value) {
    let out = lamina_command()
        .args(["stack", "--json"])
        .arg(template)
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("lamina stack {}: {}", template.display(), show(&out)));
    assert_documented(&report);
    (out.status.code().unwrap(), report["stacks"][0].clone())
}

/// The report matches `docs/report.schema.json`, and `docs/report-format.md` names every key.
fn assert_documented(report: &Value) {
    crate::docs::assert_matches_schema(report, "lamina stack's report");
    let doc = fs::read_to_string(repo().join("docs/report-format.md")).unwrap();
    let mut keys = Vec::new();
    crate::harness::json_keys(report, &mut keys);
    for key in keys {
        assert!(
            doc.contains(&format!("`{key}`")),
            "docs/report-format.md does not document `{key}`"
        );
    }
}

fn lamina_types(stack: &Value) -> Types {
    stack["types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["type"].as_str().unwrap().to_string(),
                t["count"].as_u64().unwrap() as usize,
            )
        })
        .collect()
}

/// lamina's count equals the tool's, in total and type by type, and lamina calls it exact.
fn assert_equal(template: &Path, stack: &Value, real: &Types) {
    let ours = lamina_types(stack);
    let real_total: usize = real.values().sum();
    assert_eq!(
        (stack["resources"].as_u64().unwrap() as usize, &ours),
        (real_total, real),
        "{}: lamina's count (left) differs from the real expansion (right); lamina's unknown: {}",
        template.display(),
        stack["unknown"]
    );
    assert_eq!(stack["exact"], true, "{}: {stack:#}", template.display());
}

/// A SAM template of `functions` functions, each with a REST API route and a schedule:
/// 5 resources a function (function, role, permission, rule, rule permission) and the implicit
/// API's 3.
fn large_sam(dir: &Path, functions: usize) -> PathBuf {
    let mut text = String::from(
        "AWSTemplateFormatVersion: '2010-09-09'\nTransform: AWS::Serverless-2016-10-31\nGlobals:\n  Function:\n    Runtime: nodejs20.x\n    Handler: index.handler\n    CodeUri: src/\nResources:\n",
    );
    for i in 0..functions {
        text.push_str(&format!(
            "  Route{i}:\n    Type: AWS::Serverless::Function\n    Properties:\n      Events:\n        Get:\n          Type: Api\n          Properties:\n            Path: /items{i}\n            Method: get\n        Tick:\n          Type: Schedule\n          Properties:\n            Schedule: rate(1 hour)\n"
        ));
    }
    let file = dir.join(format!("sam-{functions}/template.yaml"));
    crate::harness::write_file(&file, &text);
    file
}

/// A Serverless service of `functions` functions, each with a REST route of its own and a
/// schedule: 8 resources a function (function, log group, version, path resource, method,
/// permission, rule, rule permission) and 5 shared (bucket, bucket policy, role, API,
/// deployment).
fn large_serverless(dir: &Path, functions: usize) -> PathBuf {
    let mut text = String::from(
        "service: big\nframeworkVersion: '3'\nprovider:\n  name: aws\n  runtime: nodejs20.x\n  region: eu-west-1\nfunctions:\n",
    );
    for i in 0..functions {
        text.push_str(&format!(
            "  route{i}:\n    handler: index.handler\n    events:\n      - http: GET /items{i}\n      - schedule: rate(1 hour)\n"
        ));
    }
    let service = dir.join(format!("sls-{functions}"));
    crate::harness::write_file(&service.join("serverless.yml"), &text);
    crate::harness::write_file(
        &service.join("index.js"),
        "exports.handler = async () => ({});\n",
    );
    service.join("serverless.yml")
}

const SAM_TEMPLATES: [&str; 3] = [
    "testdata/stack/sam-shop/template.yaml",
    "testdata/stack/sam-jobs/template.yaml",
    "testdata/templates/sam/template.yaml",
];

const SERVERLESS_SERVICES: [&str; 2] = ["testdata/stack/sls-shop", "testdata/templates/serverless"];

#[test]
fn sam_counts_equal_aws_sam_translator() {
    let scratch = tempfile::tempdir().unwrap();
    let mut templates: Vec<PathBuf> = SAM_TEMPLATES.iter().map(|t| repo().join(t)).collect();
    // Near the limit: a warning at 403, a failure at 503.
    templates.push(large_sam(scratch.path(), 80));
    templates.push(large_sam(scratch.path(), 100));
    let real = sam_expansions(&templates);
    let mut totals = Vec::new();
    for (template, real) in templates.iter().zip(&real) {
        let (code, stack) = lamina_stack(template);
        assert_equal(template, &stack, real);
        let total: usize = real.values().sum();
        let (severity, expected_code) = match total {
            0..400 => ("ok", 0),
            400..=500 => ("warning", 0),
            _ => ("error", 1),
        };
        assert_eq!(
            (stack["severity"].as_str().unwrap(), code),
            (severity, expected_code),
            "{}: {stack:#}",
            template.display()
        );
        totals.push(total);
    }
    assert_eq!(totals, [54, 14, 6, 403, 503]);
}

#[test]
fn serverless_counts_equal_sls_package() {
    let scratch = tempfile::tempdir().unwrap();
    let mut templates: Vec<PathBuf> = SERVERLESS_SERVICES
        .iter()
        .map(|s| repo().join(s).join("serverless.yml"))
        .collect();
    // Near the limit: a warning at 405, a failure at 501.
    templates.push(large_serverless(scratch.path(), 50));
    templates.push(large_serverless(scratch.path(), 62));
    let mut totals = Vec::new();
    for template in &templates {
        let real = sls_expansion(template.parent().unwrap());
        let (code, stack) = lamina_stack(template);
        assert_equal(template, &stack, &real);
        let total: usize = real.values().sum();
        assert_eq!(
            code,
            i32::from(total > 500),
            "{}: {stack:#}",
            template.display()
        );
        totals.push(total);
    }
    assert_eq!(totals, [58, 9, 405, 501]);
}

/// What lamina does not model makes its count "at least N", each thing named, and the real
/// expansion is indeed at least N.
#[test]
fn what_lamina_cannot_expand_is_named_and_counted_as_a_lower_bound() {
    let template = repo().join("testdata/stack/sam-unknown/template.yaml");
    let real: usize = sam_expansions(std::slice::from_ref(&template))[0]
        .values()
        .sum();
    let (code, stack) = lamina_stack(&template);
    assert_eq!(code, 0);
    assert_eq!(stack["exact"], false);
    let counted = stack["resources"].as_u64().unwrap() as usize;
    assert!(
        counted < real,
        "lamina counted {counted}, the translator made {real}"
    );
    let unknown = stack["unknown"].to_string();
    for what in ["DeploymentPreference", "FunctionUrlConfig", "Cognito event"] {
        assert!(unknown.contains(what), "{what} not named: {unknown}");
    }
    assert!(
        stack["message"]
            .as_str()
            .unwrap()
            .starts_with(&format!("at least {counted} resources")),
        "{stack:#}"
    );
}

/// A macro other than the SAM transform, an unknown Serverless event and a plugin are named;
/// a count over the limit that is only a lower bound still fails, since the real one is larger.
#[test]
fn macros_plugins_and_unknown_events_are_reported_not_guessed() {
    let scratch = tempfile::tempdir().unwrap();
    let sam = scratch.path().join("template.yaml");
    crate::harness::write_file(
        &sam,
        "Transform: [AWS::LanguageExtensions, AWS::Serverless-2016-10-31]\nResources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      Runtime: nodejs20.x\n      Handler: index.handler\n      CodeUri: s3://b/k\n      Events:\n        Mq:\n          Type: MQ\n          Properties: {}\n",
    );
    let (code, stack) = lamina_stack(&sam);
    assert_eq!(
        (code, stack["resources"].as_u64(), stack["exact"].as_bool()),
        (0, Some(2), Some(false))
    );
    let unknown = stack["unknown"].to_string();
    assert!(unknown.contains("AWS::LanguageExtensions"), "{unknown}");
    assert!(unknown.contains("MQ event"), "{unknown}");

    let service = scratch.path().join("svc/serverless.yml");
    crate::harness::write_file(
        &service,
        "service: s\nplugins: [serverless-offline]\nprovider: {name: aws, runtime: nodejs20.x}\nfunctions:\n  a:\n    handler: index.handler\n    events:\n      - websocket: $connect\n",
    );
    let (code, stack) = lamina_stack(&service);
    assert_eq!((code, stack["exact"].as_bool()), (0, Some(false)));
    let unknown = stack["unknown"].to_string();
    assert!(unknown.contains("serverless-offline"), "{unknown}");
    assert!(unknown.contains("websocket event"), "{unknown}");
    assert_eq!(stack["resources"], 6, "{stack:#}");

    // 100 functions with an unknown event each: at least 503, which is already too many.
    let big = large_sam(scratch.path(), 100);
    let text = fs::read_to_string(&big).unwrap().replace(
        "        Tick:\n",
        "        Mq:\n          Type: MQ\n          Properties: {}\n        Tick:\n",
    );
    fs::write(&big, text).unwrap();
    let (code, stack) = lamina_stack(&big);
    assert_eq!((code, stack["severity"].as_str()), (1, Some("error")));
    assert!(
        stack["message"]
            .as_str()
            .unwrap()
            .starts_with("at least 503")
    );
}

/// `lamina scan` of a template reports its stack beside the functions; a missing template is
/// bad input (exit 2) for `lamina stack`.
#[test]
fn scan_of_a_template_reports_its_stack_and_bad_input_exits_2() {
    let template = repo().join("testdata/templates/sam/template.yaml");
    let out = lamina_command()
        .args(["scan", "--json"])
        .arg(&template)
        .output()
        .unwrap();
    let report: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", show(&out)));
    assert_documented(&report);
    assert_eq!(report["stacks"][0]["resources"], 6, "{}", show(&out));
    assert_eq!(report["stacks"][0]["framework"], "sam");

    let out = lamina_command()
        .args(["stack", "no-such-template.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let out = lamina_command()
        .args(["stack"])
        .arg(repo().join("testdata/stack/sls-shop/serverless.yml"))
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("58 resources of CloudFormation's 500"),
        "{text}"
    );
    assert!(text.contains("createOrder"), "{text}");
}
