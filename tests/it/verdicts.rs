//! Truthful verdicts (issue 12): no silent breakage. A package a kept package loads by name,
//! and an installed package the code imports without declaring it, stay in the artifact; the
//! handler, unzipped, answers as the input does.

use serde_json::json;

use crate::harness::{Fixture, check, run_handler};

/// Shaped like the `config` package: it loads the parser of a config file format by a name
/// held in a constant, which it does not declare (it tells users to install it themselves).
fn config_loading_js_yaml() -> Fixture {
    let fixture = Fixture::new(
        "cfg",
        json!({ "name": "cfg", "dependencies": { "config": "3.3.12", "js-yaml": "4.1.0" } }),
    );
    fixture.file(
        "index.js",
        "const config = require('config');\nexports.handler = async () => config.get('greeting');\n",
    );
    fixture.file("config/default.yml", "greeting: hello from yaml\n");
    fixture.manifest(
        "node_modules/config",
        json!({ "name": "config", "version": "3.3.12", "main": "./lib/config.js" }),
    );
    fixture.file(
        "node_modules/config/lib/config.js",
        "const JS_YAML_DEP = 'js-yaml';\n\
         const path = require('path');\n\
         const fs = require('fs');\n\
         function load() {\n\
         \x20 const parser = require(JS_YAML_DEP);\n\
         \x20 return parser.load(fs.readFileSync(path.join(process.cwd(), 'config', 'default.yml'), 'utf8'));\n\
         }\n\
         module.exports = { get: (key) => load()[key] };\n",
    );
    fixture.manifest(
        "node_modules/js-yaml",
        json!({ "name": "js-yaml", "version": "4.1.0", "main": "index.js" }),
    );
    fixture.file(
        "node_modules/js-yaml/index.js",
        "exports.load = (text) => Object.fromEntries(text.trim().split('\\n').map((line) => line.split(': ')));\n",
    );
    fixture
}

#[test]
fn named_a_dependency_a_kept_package_loads_by_a_constant_name_is_kept() {
    let fixture = config_loading_js_yaml();
    for mode in ["deps", "files"] {
        let built = fixture.build(&["--shake", mode]);
        check(&built, &[("node_modules/js-yaml", "kept", "production")]);
        let reason = built.package("node_modules/js-yaml")["reason"].to_string();
        assert!(
            reason.contains("node_modules/config/lib/config.js:1"),
            "{mode}: the reason names the file and line: {reason}"
        );
        let task = built.extract();
        // The handler reads config/ relative to the working folder, as on Lambda (/var/task).
        let output = std::process::Command::new("node")
            .arg("-e")
            .arg("require('./index.js').handler().then((r) => console.log(JSON.stringify(r)))")
            .current_dir(&task)
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&output.stdout).trim(),
            r#""hello from yaml""#,
            "{mode}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        fs_err::remove_dir_all(&task).unwrap();
    }
}

#[test]
fn undeclared_an_installed_package_the_code_imports_is_kept_with_a_warning() {
    let fixture = Fixture::new(
        "undeclared",
        json!({ "name": "undeclared", "dependencies": {}, "devDependencies": { "dayjs": "1.0.0" } }),
    );
    fixture.file(
        "index.js",
        "exports.handler = async () => [require('leftpad'), require('dayjs')];\n",
    );
    fixture.package("node_modules/leftpad", "leftpad", "1.0.0", &[]);
    fixture.package("node_modules/dayjs", "dayjs", "1.0.0", &[]);
    let built = fixture.build(&[]);
    check(
        &built,
        &[
            ("node_modules/leftpad", "kept", "production"),
            ("node_modules/dayjs", "kept", "production"),
        ],
    );
    let notes = built.function()["notes"].to_string();
    assert!(
        notes.contains("leftpad") && notes.contains("not in package.json dependencies"),
        "{notes}"
    );
    assert!(
        notes.contains("dayjs") && notes.contains("only in devDependencies"),
        "{notes}"
    );
    let task = built.extract();
    assert_eq!(
        run_handler(&task, "index.js"),
        r#"[["leftpad@1.0.0"],["dayjs@1.0.0"]]"#
    );
}

#[test]
fn python_an_import_nothing_installs_is_an_input_error_naming_file_line_and_module() {
    let fixture = Fixture::empty("np");
    fixture
        .file(
            "app.py",
            "import json\nfrom helpers import util\n\ndef handler(event, context):\n    return util.mean([1, 2])\n",
        )
        .file("helpers/__init__.py", "")
        .file(
            "helpers/util.py",
            "try:\n    import ujson\nexcept ImportError:\n    ujson = None\nimport numpy as np\n\ndef mean(values):\n    return float(np.mean(values))\n",
        )
        .file("requirements.txt", "numpy==2.1.0\n")
        // A test the handler never loads may import what only CI installs.
        .file("tests/test_app.py", "import pytest\n");
    let output = fixture.lamina(&["build", "np", "--handler", "app.handler", "--out", "out"]);
    assert_eq!(output.status.code(), Some(2));
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(
        message.contains("helpers/util.py")
            && message.contains("line 5")
            && message.contains("`numpy`")
            && message.contains("pip install -r requirements.txt"),
        "{message}"
    );
    assert!(!fixture.base.join("out").exists(), "exit 2 writes nothing");

    // Installed (here: a stand-in distribution), it builds, and the guarded import is a warning.
    fixture
        .file(
            "package/numpy/__init__.py",
            "def mean(values):\n    return sum(values) / len(values)\n",
        )
        .file(
            "package/numpy-2.1.0.dist-info/METADATA",
            "Metadata-Version: 2.1\nName: numpy\nVersion: 2.1.0\n",
        )
        .file(
            "package/numpy-2.1.0.dist-info/RECORD",
            "numpy/__init__.py,,\n",
        );
    let built = fixture.build(&["--handler", "app.handler", "--runtime", "python3.11"]);
    assert_eq!(built.code, 0);
    let warnings = built.function()["warnings"].to_string();
    assert!(
        warnings.contains("ujson") && warnings.contains("guarded"),
        "{warnings}"
    );
}

/// A CDK TypeScript project: the stacks beside the handler import aws-cdk-lib, which never runs
/// on Lambda.
fn cdk_project(handler_source: &str) -> Fixture {
    let fixture = Fixture::new(
        "cdkapp",
        json!({
            "name": "cdkapp",
            "dependencies": { "aws-cdk-lib": "2.170.0", "constructs": "10.4.2", "uuid": "9.0.1" }
        }),
    );
    fixture
        .file(
            "bin/app.ts",
            "import * as cdk from 'aws-cdk-lib';\nimport { ApiStack } from '../lib/api-stack';\nnew ApiStack(new cdk.App(), 'Api');\n",
        )
        .file(
            "lib/api-stack.ts",
            "import { Stack } from 'aws-cdk-lib';\nimport { Construct } from 'constructs';\nexport class ApiStack extends Stack {}\n",
        )
        .file("lambda/index.js", handler_source)
        .file("lambda/ids.js", "const uuid = require('uuid');\nmodule.exports = () => uuid[0];\n")
        .package("node_modules/aws-cdk-lib", "aws-cdk-lib", "2.170.0", &["constructs"])
        .package("node_modules/constructs", "constructs", "10.4.2", &[])
        .package("node_modules/uuid", "uuid", "9.0.1", &[]);
    fixture
}

#[test]
fn infrastructure_code_beside_the_handler_keeps_nothing_in_deps_mode() {
    let fixture =
        cdk_project("const ids = require('./ids');\nexports.handler = async () => ids();\n");
    let built = fixture.build(&["--handler", "lambda/index.handler"]);
    check(
        &built,
        &[
            ("node_modules/uuid", "kept", "production"),
            ("node_modules/aws-cdk-lib", "dropped", "unused"),
            ("node_modules/constructs", "dropped", "unused"),
        ],
    );
    let notes = built.function()["notes"].to_string();
    assert!(
        notes.contains("bin/app.ts") && notes.contains("not loaded by the handler"),
        "{notes}"
    );
    // The reason says which file of the user's imports it (`lamina why` shows it too).
    let reason = built.package("node_modules/uuid")["reason"].to_string();
    assert!(reason.contains("lambda/ids.js"), "{reason}");
    // The stacks still ship (lamina drops no file of yours by reachability in deps mode).
    assert!(built.entries().contains(&"lib/api-stack.ts".to_string()));
    let task = built.extract();
    assert_eq!(
        run_handler(&task.join("lambda"), "index.js"),
        r#""uuid@9.0.1""#
    );
}

#[test]
fn infrastructure_code_counts_when_the_handler_loads_code_lamina_cannot_follow() {
    let fixture = cdk_project(
        "const name = process.env.IDS || './ids';\nconst ids = require(name);\nexports.handler = async () => ids();\n",
    );
    let built = fixture.build(&["--handler", "lambda/index.handler"]);
    check(
        &built,
        &[("node_modules/aws-cdk-lib", "kept", "production")],
    );
    let notes = built.function()["notes"].to_string();
    assert!(notes.contains("lambda/index.js:2"), "says why: {notes}");
}

#[test]
fn the_text_report_says_what_was_saved_with_plain_words() {
    let fixture = Fixture::new(
        "words",
        json!({ "name": "words", "dependencies": { "a": "1.0.0", "b": "1.0.0" } }),
    );
    fixture
        .file("index.js", "exports.handler = async () => require('a');\n")
        .package("node_modules/a", "a", "1.0.0", &[])
        .package("node_modules/b", "b", "1.0.0", &[]);
    let output = fixture.lamina(&["build", "words", "--out", "out"]);
    assert_eq!(output.status.code(), Some(0));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("  saved  ") && text.contains(" -> zip "),
        "{text}"
    );
    assert!(
        !text.contains("1 packages") && text.contains("1 package "),
        "{text}"
    );
    assert!(
        text.contains("console editor") && !text.contains("console_editor"),
        "{text}"
    );
    assert!(
        text.lines().all(|line| line.chars().count() <= 160),
        "{text}"
    );
}

#[test]
fn scan_never_warns_or_fails_on_an_estimated_zip_size() {
    let fixture = Fixture::new("estimate", json!({ "name": "estimate" }));
    fixture.file("index.js", "exports.handler = async () => 1;\n");
    // 4 MiB of text: estimated over the console editor's 3 MiB, it zips far below.
    fixture.file("data/words.txt", &"lambda ".repeat(600_000));
    let output = fixture.lamina(&["scan", "estimate", "--json"]);
    assert_eq!(output.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let limits = report["functions"][0]["limits"].as_array().unwrap();
    assert!(
        limits.iter().all(|limit| limit["id"] == "unzipped"),
        "only measured sizes are held to limits: {limits:?}"
    );
}

#[test]
fn input_errors_say_what_to_do() {
    let fixture = Fixture::new("node", json!({ "name": "node" }));
    fixture.file("index.js", "exports.handler = async () => 1;\n");
    let missing = fixture.lamina(&["build", "nope"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("nope: does not exist"),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );
    let python = fixture.lamina(&["build", "node", "--runtime", "python3.12"]);
    assert!(String::from_utf8_lossy(&python.stderr).contains("may be a Node.js function"));
    crate::harness::write_file(
        &fixture.base.join("sam/template.yaml"),
        "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: ../node/\n      Handler: index.handler\n      Runtime: nodejs20.x\n",
    );
    let sam = fixture.lamina(&["build", "sam"]);
    assert_eq!(sam.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&sam.stderr).contains("lamina build sam/template.yaml"),
        "{}",
        String::from_utf8_lossy(&sam.stderr)
    );
}

#[test]
fn shake_files_keeps_the_licences_of_the_packages_it_ships() {
    let fixture = Fixture::new(
        "licensed",
        json!({ "name": "licensed", "dependencies": { "a": "1.0.0" } }),
    );
    fixture
        .file("index.js", "exports.handler = async () => require('a');\n")
        .package("node_modules/a", "a", "1.0.0", &[])
        .file("node_modules/a/LICENSE", "MIT\n")
        .file("node_modules/a/unused.js", "module.exports = 2;\n");
    let built = fixture.build(&["--shake", "files"]);
    let entries = built.entries();
    assert!(
        entries.contains(&"node_modules/a/LICENSE".to_string()),
        "{entries:?}"
    );
    assert!(
        !entries.contains(&"node_modules/a/unused.js".to_string()),
        "{entries:?}"
    );
}

#[test]
fn check_prints_markdown_and_why_documents_its_exit_codes() {
    let fixture = Fixture::new("md", json!({ "name": "md" }));
    fixture.file("index.js", "exports.handler = async () => 1;\n");
    fixture.build(&[]);
    let output = fixture.lamina(&["check", "out/md.zip", "--format", "markdown"]);
    assert_eq!(output.status.code(), Some(0));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.starts_with("## lamina check") && text.contains("| limit |"),
        "{text}"
    );
    let why = fixture.lamina(&["why", "no-such-package", "md"]);
    assert_eq!(why.status.code(), Some(1));
    let help = fixture.lamina(&["help", "why"]);
    assert!(String::from_utf8_lossy(&help.stdout).contains("1 when the function has no such"));
}

#[test]
fn a_handler_relying_on_the_runtimes_sdk_it_does_not_ship_is_told_so() {
    let fixture = Fixture::new("sdknote", json!({ "name": "sdknote" }));
    fixture.file(
        "index.js",
        "const { S3Client } = require('@aws-sdk/client-s3');\nexports.handler = async () => typeof S3Client;\n",
    );
    let output = fixture.lamina(&["scan", "sdknote", "--json"]);
    assert_eq!(output.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let notes = report["functions"][0]["notes"].to_string();
    assert!(
        notes.contains("@aws-sdk/client-s3") && notes.contains("does not ship"),
        "{notes}"
    );

    let fixture = Fixture::empty("pysdknote");
    fixture.file(
        "app.py",
        "import boto3\n\ndef handler(event, context):\n    return 1\n",
    );
    let output = fixture.lamina(&["scan", "pysdknote", "--handler", "app.handler", "--json"]);
    assert_eq!(output.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let warnings = report["functions"][0]["warnings"].to_string();
    assert!(
        warnings.contains("boto3") && warnings.contains("not shipped"),
        "{warnings}"
    );
}

#[test]
fn scan_names_the_next_step_worth_taking_with_what_it_saves() {
    let fixture = Fixture::new(
        "next",
        json!({ "name": "next", "dependencies": { "a": "1.0.0", "@aws-sdk/client-s3": "3.600.0" } }),
    );
    fixture
        .file(
            "index.js",
            "require('@aws-sdk/client-s3');\nexports.handler = async () => require('a');\n",
        )
        .package("node_modules/a", "a", "1.0.0", &[])
        .file("node_modules/a/big-unused.js", &"// padding\n".repeat(5000))
        .package(
            "node_modules/@aws-sdk/client-s3",
            "@aws-sdk/client-s3",
            "3.600.0",
            &[],
        );
    let output = fixture.lamina(&["scan", "next", "--runtime", "nodejs20.x", "--json"]);
    assert_eq!(output.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let notes = report["functions"][0]["notes"].to_string();
    assert!(notes.contains("`--shake files` would ship"), "{notes}");
    assert!(notes.contains("`--drop-runtime-sdk` would ship"), "{notes}");
}

#[test]
fn shake_files_shows_the_packages_it_keeps_whole_and_why_in_text_and_markdown() {
    let fixture = Fixture::new(
        "wholes",
        json!({ "name": "wholes", "dependencies": { "plugins": "1.0.0", "loader": "1.0.0" } }),
    );
    fixture
        .file(
            "index.js",
            "exports.handler = async () => [require('plugins')('1'), require('loader')('./lib/a')];\n",
        )
        .manifest(
            "node_modules/plugins",
            json!({ "name": "plugins", "version": "1.0.0", "main": "index.js" }),
        )
        .file(
            "node_modules/plugins/index.js",
            "module.exports = (code) => eval(code);\n",
        )
        .file("node_modules/plugins/lib/a.js", "module.exports = 'a';\n")
        .manifest(
            "node_modules/loader",
            json!({ "name": "loader", "version": "1.0.0", "main": "index.js" }),
        )
        .file(
            "node_modules/loader/index.js",
            "module.exports = (name) => require(name);\n",
        )
        .file("node_modules/loader/lib/a.js", "module.exports = 'a';\n");
    for (format, expected) in [
        ("text", "kept whole"),
        ("markdown", "kept whole (`--shake files`)"),
    ] {
        let output = fixture.lamina(&[
            "build", "wholes", "--out", "out", "--shake", "files", "--format", format,
        ]);
        assert_eq!(output.status.code(), Some(0));
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(
            text.contains(expected)
                && text.contains("plugins@1.0.0")
                && text.contains("node_modules/plugins/index.js:1"),
            "{format}: {text}"
        );
        // A computed `require` keeps the package's scripts, not the package whole: said too.
        let partly = match format {
            "text" => "ship more than their imports reach",
            _ => "kept partly (`--shake files`)",
        };
        assert!(
            text.contains(partly)
                && text.contains("loader@1.0.0")
                && text.contains("node_modules/loader/index.js:1"),
            "{format}: {text}"
        );
    }
}

#[test]
fn without_handler_a_template_above_the_folder_names_it_or_the_error_lists_them() {
    let fixture = Fixture::new("api", json!({ "name": "api" }));
    fixture.file(
        "src/app.js",
        "exports.main = async () => 'from the template';\n",
    );
    crate::harness::write_file(
        &fixture.base.join("template.yaml"),
        "Resources:\n  Api:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: api/\n      Handler: src/app.main\n      Runtime: nodejs20.x\n",
    );
    let built = fixture.build(&["--smoke"]);
    assert_eq!(built.function()["handler"], "src/app.main");
    assert_eq!(built.function()["runtime"], "nodejs20.x");
    assert_eq!(built.function()["smoke"]["outcome"], "passed");

    crate::harness::write_file(
        &fixture.root.join("serverless.yml"),
        "service: api\nprovider:\n  name: aws\n  runtime: nodejs20.x\nfunctions:\n  other:\n    handler: src/app.other\n",
    );
    let output = fixture.lamina(&["build", "api", "--out", "out2"]);
    assert_eq!(output.status.code(), Some(2));
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(
        message.contains("src/app.main")
            && message.contains("src/app.other")
            && message.contains("--handler"),
        "{message}"
    );
}

#[test]
fn check_takes_the_runtime_from_the_zips_package_json_engines() {
    let fixture = Fixture::new(
        "eng",
        json!({ "name": "eng", "engines": { "node": "20.x" } }),
    );
    fixture.file("index.js", "exports.handler = async () => 1;\n");
    fixture.build(&[]);
    let output = fixture.lamina(&["check", "out/eng.zip", "--json"]);
    assert_eq!(output.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["functions"][0]["runtime"], "nodejs20.x");
    assert!(
        report["functions"][0]["runtime_source"]
            .as_str()
            .unwrap()
            .contains("engines.node"),
        "{report:#}"
    );
}

/// `--drop-runtime-sdk` never drops an `@aws-sdk/*` the function asks for newer than every
/// runtime is known to ship (issue 12).
#[test]
fn node_the_runtime_sdk_stays_when_a_newer_one_is_asked_for() {
    for (range, expected) in [("^3.700.0", "kept"), ("^3.100.0", "dropped")] {
        let fixture = Fixture::new(
            "sdkfloor",
            json!({ "name": "sdkfloor", "dependencies": { "@aws-sdk/client-s3": range } }),
        );
        fixture
            .file(
                "index.js",
                "exports.handler = async () => require('@aws-sdk/client-s3');\n",
            )
            .package(
                "node_modules/@aws-sdk/client-s3",
                "@aws-sdk/client-s3",
                "3.700.0",
                &["@smithy/core"],
            )
            .package("node_modules/@smithy/core", "@smithy/core", "2.5.0", &[]);
        let built = fixture.build(&["--runtime", "nodejs20.x", "--drop-runtime-sdk"]);
        check(
            &built,
            &[
                (
                    "node_modules/@aws-sdk/client-s3",
                    expected,
                    "runtime-provided",
                ),
                ("node_modules/@smithy/core", expected, "runtime-provided"),
            ],
        );
        if expected == "kept" {
            let reason = built.package("node_modules/@aws-sdk/client-s3")["reason"].to_string();
            assert!(
                reason.contains("^3.700.0") && reason.contains("3.188.0"),
                "{reason}"
            );
        }
    }
}

/// A stand-in distribution installed into `package/` with `pip install --target`'s layout.
fn python_dist(fixture: &Fixture, name: &str, source: &str) {
    fixture
        .file(&format!("package/{name}/__init__.py"), source)
        .file(
            &format!("package/{name}-1.0.dist-info/METADATA"),
            &format!("Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n"),
        )
        .file(
            &format!("package/{name}-1.0.dist-info/RECORD"),
            &format!("{name}/__init__.py,,\n"),
        );
}

/// A Python CDK project: the app and its stacks sit beside the handler and import aws_cdk;
/// a seeding script imports faker. The handler loads its service module by import and its
/// route by a module name in a string.
fn python_cdk_project(handler_source: &str) -> Fixture {
    let fixture = Fixture::empty("pycdk");
    fixture
        .file(
            "app.py",
            "import aws_cdk as cdk\nfrom stacks.api_stack import ApiStack\n\nApiStack(cdk.App(), 'Api')\n",
        )
        .file("stacks/__init__.py", "")
        .file(
            "stacks/api_stack.py",
            "import aws_cdk\nimport constructs\n\nclass ApiStack(aws_cdk.Stack):\n    pass\n",
        )
        .file("scripts/seed.py", "import faker\n\nprint(faker.NAME)\n")
        .file("handler.py", handler_source)
        .file("services/__init__.py", "")
        .file(
            "services/orders.py",
            "import alpha\n\ndef total():\n    return alpha.NAME\n",
        )
        .file("routes/__init__.py", "")
        .file(
            "routes/orders.py",
            "import beta\n\ndef handle():\n    return beta.NAME\n",
        );
    for name in ["aws_cdk", "constructs", "faker", "alpha", "beta"] {
        python_dist(&fixture, name, &format!("NAME = '{name}'\n"));
    }
    // A library that calls `module:function` targets by name, as routers and task queues do.
    python_dist(
        &fixture,
        "router",
        "import importlib\n\ndef call(target):\n    module, function = target.split(':')\n    return getattr(importlib.import_module(module), function)()\n",
    );
    fixture
}

const PYTHON_ROUTED_HANDLER: &str = "import router\nfrom services import orders\n\nROUTE = 'routes.orders:handle'\n\ndef handler(event, context):\n    return [orders.total(), router.call(ROUTE)]\n";

#[test]
fn python_infrastructure_code_beside_the_handler_keeps_nothing_in_deps_mode() {
    let fixture = python_cdk_project(PYTHON_ROUTED_HANDLER);
    let built = fixture.build(&["--handler", "handler.handler", "--runtime", "python3.12"]);
    assert_eq!(built.code, 0);
    check(
        &built,
        &[
            ("alpha-1.0.dist-info", "kept", "production"),
            ("beta-1.0.dist-info", "kept", "production"),
            ("aws_cdk-1.0.dist-info", "dropped", "unused"),
            ("constructs-1.0.dist-info", "dropped", "unused"),
            ("faker-1.0.dist-info", "dropped", "unused"),
        ],
    );
    let reason = built.package("alpha-1.0.dist-info")["reason"].to_string();
    assert!(reason.contains("services/orders.py"), "{reason}");
    let notes = built.function()["notes"].to_string();
    assert!(
        notes.contains("4 module(s)")
            && notes.contains("app.py")
            && notes.contains("scripts/seed.py"),
        "{notes}"
    );
    // The app and the script still ship; the handler answers from the unzipped artifact.
    let entries = built.entries();
    assert!(entries.contains(&"stacks/api_stack.py".to_string()));
    let task = built.extract();
    let output = std::process::Command::new("python3")
        .args([
            "-S",
            "-s",
            "-E",
            "-c",
            "import handler; print(handler.handler({}, None))",
        ])
        .current_dir(&task)
        .output()
        .expect("python3 runs");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        "['alpha', 'beta']",
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn python_every_module_counts_when_the_handler_loads_code_lamina_cannot_follow() {
    // A module name read from the environment: lamina cannot know which module loads.
    let computed = format!(
        "import importlib, os\nPLUGIN = importlib.import_module(os.environ.get('PLUGIN', 'json'))\n{PYTHON_ROUTED_HANDLER}"
    );
    // Django loads the user's modules by the names in its settings.
    let django = format!("import django\n{PYTHON_ROUTED_HANDLER}");
    // Modules of a folder put on `sys.path` load under names lamina does not map.
    let vendored = format!("import sys\nsys.path.insert(0, 'vendor')\n{PYTHON_ROUTED_HANDLER}");
    for (source, why) in [
        (computed, "handler.py:2"),
        (django, "imports django"),
        (vendored, "changes where modules are found"),
    ] {
        let fixture = python_cdk_project(&source);
        python_dist(&fixture, "django", "NAME = 'django'\n");
        let built = fixture.build(&["--handler", "handler.handler", "--runtime", "python3.12"]);
        check(
            &built,
            &[
                ("faker-1.0.dist-info", "kept", "production"),
                ("aws_cdk-1.0.dist-info", "kept", "production"),
            ],
        );
        let notes = built.function()["notes"].to_string();
        assert!(
            notes.contains("every module of your code counts") && notes.contains(why),
            "{why}: {notes}"
        );
    }
}
