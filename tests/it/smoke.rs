//! `--smoke` calls the handler as Lambda does (issue 12): a callback and a context with
//! Lambda's fields, Lambda's environment plus the function's, a timeout that ends everything
//! the handler started, isolation from the machine's own packages, stand-ins for the runtime's
//! SDK, and a differential run on the unslimmed input that tells the artifact's failures from
//! the handler's own.

use serde_json::{Value, json};

use crate::harness::{Built, Fixture, write_file};

fn smoke(built: &Built) -> &Value {
    &built.function()["smoke"]
}

fn event(fixture: &Fixture) -> String {
    let path = fixture.base.join("event.json");
    write_file(&path, r#"{"path":"/hello"}"#);
    path.display().to_string()
}

#[test]
fn smoke_node_callback_handlers_answer_through_the_callback_with_lambdas_context() {
    let fixture = Fixture::new("cb", json!({ "name": "cb" }));
    fixture.file(
        "index.js",
        "exports.handler = function (event, context, callback) {\n\
           setTimeout(() => callback(null, {\n\
             path: event.path,\n\
             name: context.functionName,\n\
             version: context.functionVersion,\n\
             arn: context.invokedFunctionArn,\n\
             memory: context.memoryLimitInMB,\n\
             request: typeof context.awsRequestId,\n\
             group: context.logGroupName,\n\
             left: context.getRemainingTimeInMillis() > 0,\n\
           }), 5);\n\
         };\n",
    );
    let event = event(&fixture);
    let built = fixture.build(&["--smoke", "--smoke-event", &event]);
    assert_eq!(built.code, 0, "{:#}", smoke(&built));
    assert_eq!(smoke(&built)["outcome"], "passed");
    let result: Value = serde_json::from_str(smoke(&built)["result"].as_str().unwrap()).unwrap();
    assert_eq!(
        result,
        json!({
            "path": "/hello", "name": "cb", "version": "$LATEST",
            "arn": "arn:aws:lambda:us-east-1:123456789012:function:cb", "memory": "128",
            "request": "string", "group": "/aws/lambda/cb", "left": true
        })
    );
}

#[test]
fn smoke_python_handlers_get_a_context_with_lambdas_attributes() {
    let fixture = Fixture::empty("pyctx");
    fixture.file(
        "app.py",
        "import functools\n\
         def inject(handler):\n\
         \x20   @functools.wraps(handler)\n\
         \x20   def wrapper(event, context):\n\
         \x20       context.aws_request_id, context.log_stream_name\n\
         \x20       return handler(event, context)\n\
         \x20   return wrapper\n\
         @inject\n\
         def handler(event, context):\n\
         \x20   return {'path': event['path'], 'name': context.function_name,\n\
         \x20           'arn': context.invoked_function_arn, 'memory': context.memory_limit_in_mb,\n\
         \x20           'version': context.function_version, 'group': context.log_group_name,\n\
         \x20           'left': context.get_remaining_time_in_millis() > 0}\n",
    );
    let event = event(&fixture);
    let built = fixture.build(&[
        "--runtime",
        "python3.11",
        "--handler",
        "app.handler",
        "--smoke",
        "--smoke-event",
        &event,
    ]);
    assert_eq!(built.code, 0, "{:#}", smoke(&built));
    let result: Value = serde_json::from_str(smoke(&built)["result"].as_str().unwrap()).unwrap();
    assert_eq!(
        result,
        json!({
            "path": "/hello", "name": "pyctx",
            "arn": "arn:aws:lambda:us-east-1:123456789012:function:pyctx", "memory": 128,
            "version": "$LATEST", "group": "/aws/lambda/pyctx", "left": true
        })
    );
}

/// Whether a process with this id still runs (a zombie waiting to be reaped does not).
fn alive(pid: &str) -> bool {
    match fs_err::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
        Err(_) => false,
    }
}

/// Waits (at most a minute: a liveness check, not a measurement) for `pid` to be gone.
fn gone(pid: &str) -> bool {
    for _ in 0..600 {
        if !alive(pid) {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    false
}

#[test]
fn smoke_a_server_left_listening_ends_once_the_handler_answers_and_a_hang_times_out() {
    let fixture = Fixture::new("srv", json!({ "name": "srv" }));
    let pids = fixture.base.join("pids");
    fixture.file(
        "index.js",
        "const http = require('http');\n\
         const { spawn } = require('child_process');\n\
         http.createServer((q, s) => s.end('hi')).listen(0);\n\
         // A child of its own that would outlive a careless runner.\n\
         const child = spawn('sleep', ['600'], { stdio: 'ignore' });\n\
         require('fs').appendFileSync(process.env.PIDS, `${child.pid}\\n`);\n\
         exports.handler = async (event) => process.env.HANG ? new Promise(() => {}) : { statusCode: 200 };\n",
    );
    let event = event(&fixture);
    let pid_env = format!("PIDS={}", pids.display());
    let built = fixture.build(&["--smoke", "--smoke-event", &event, "--smoke-env", &pid_env]);
    assert_eq!(built.code, 0, "{:#}", smoke(&built));
    assert_eq!(smoke(&built)["result"], r#"{"statusCode":200}"#);

    // A handler that never answers: ended at the timeout, with what it started.
    let built = fixture.build(&[
        "--smoke",
        "--smoke-event",
        &event,
        "--smoke-env",
        &pid_env,
        "--smoke-env",
        "HANG=1",
        "--smoke-timeout",
        "3",
    ]);
    assert_eq!(smoke(&built)["timed_out"], true, "{:#}", smoke(&built));
    assert!(
        smoke(&built)["error"]
            .as_str()
            .unwrap()
            .contains("did not answer within 3 s")
    );
    // It hangs on the unslimmed input too: not the artifact's fault.
    assert_eq!(smoke(&built)["outcome"], "inconclusive");
    let started = fs_err::read_to_string(&pids).unwrap();
    assert!(started.lines().count() >= 3, "{started}");
    for pid in started.lines() {
        assert!(gone(pid), "process {pid} started by the handler still runs");
    }
}

#[test]
fn smoke_the_functions_environment_comes_from_lamina_toml_and_flags() {
    let fixture = Fixture::new("envfn", json!({ "name": "envfn" }));
    fixture.file(
        "index.js",
        "if (!process.env.TABLE) throw new Error('TABLE is not set');\n\
         exports.handler = async () => ({ table: process.env.TABLE, stage: process.env.STAGE || null });\n",
    );
    let event = event(&fixture);
    // Without it the handler fails on the input as well: a warning, not a failure.
    let built = fixture.build(&["--smoke"]);
    assert_eq!(built.code, 0);
    assert_eq!(smoke(&built)["outcome"], "inconclusive");
    assert!(
        smoke(&built)["input_error"]
            .as_str()
            .unwrap()
            .contains("TABLE is not set")
    );
    let with_flag = fixture.build(&[
        "--smoke",
        "--smoke-event",
        &event,
        "--smoke-env",
        "TABLE=t1",
    ]);
    assert_eq!(
        smoke(&with_flag)["result"],
        r#"{"table":"t1","stage":null}"#
    );

    write_file(
        &fixture.base.join("lamina.toml"),
        "[[function]]\nname = \"envfn\"\npath = \"envfn\"\n[function.environment]\nTABLE = \"from-toml\"\nSTAGE = \"dev\"\n",
    );
    let output = fixture.lamina(&[
        "build",
        ".",
        "--out",
        "out-toml",
        "--json",
        "--smoke",
        "--smoke-event",
        &event,
        "--smoke-env",
        "STAGE=prod",
    ]);
    assert_eq!(output.status.code(), Some(0));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        report["functions"][0]["smoke"]["result"],
        r#"{"table":"from-toml","stage":"prod"}"#
    );
}

#[test]
fn smoke_an_artifact_only_failure_fails_the_build_and_says_so() {
    // A package that reads its own README at load: the junk rules drop README.md, so only the
    // artifact fails.
    let fixture = Fixture::new(
        "readme",
        json!({ "name": "readme", "dependencies": { "banner": "1.0.0" } }),
    );
    fixture.file(
        "index.js",
        "const banner = require('banner');\nexports.handler = async () => banner;\n",
    );
    fixture.manifest(
        "node_modules/banner",
        json!({ "name": "banner", "version": "1.0.0", "main": "index.js" }),
    );
    fixture.file(
        "node_modules/banner/index.js",
        "const fs = require('fs');\nmodule.exports = fs.readFileSync(require('path').join(__dirname, 'README' + '.md'), 'utf8');\n",
    );
    fixture.file("node_modules/banner/README.md", "# banner\n");
    let built = fixture.build(&["--smoke"]);
    // The premise: the junk rules drop the README (a rule that learns to keep it must update
    // this test to another artifact-only failure).
    assert!(
        !built
            .entries()
            .contains(&"node_modules/banner/README.md".to_string())
    );
    {
        assert_eq!(built.code, 1, "{:#}", smoke(&built));
        assert_eq!(smoke(&built)["outcome"], "failed");
        assert!(
            smoke(&built)["error"]
                .as_str()
                .unwrap()
                .contains("README.md")
        );
        let text = fixture.lamina(&["build", "readme", "--out", "out-text", "--smoke"]);
        let stdout = String::from_utf8_lossy(&text.stdout);
        let last = stdout.lines().last().unwrap();
        assert!(
            last.contains("readme") && last.contains("the smoke test failed"),
            "the final line names what failed: {last}"
        );
    }
}

#[test]
fn smoke_is_isolated_from_the_machines_packages() {
    // Python: the machine's site-packages (pip is there) is not on the handler's path. (A
    // guarded import: unguarded, lamina would refuse the build, as nothing installs pip.)
    let fixture = Fixture::empty("iso");
    fixture.file(
        "app.py",
        "try:\n    import pip\nexcept ImportError:\n    pip = None\n\
         if pip is None:\n    raise RuntimeError('no pip on the path')\n\
         def handler(event, context):\n    return 1\n",
    );
    let built = fixture.build(&[
        "--runtime",
        "python3.11",
        "--handler",
        "app.handler",
        "--smoke",
    ]);
    assert_ne!(smoke(&built)["outcome"], "passed", "{:#}", smoke(&built));
    assert!(
        smoke(&built)["error"]
            .as_str()
            .unwrap()
            .contains("no pip on the path")
    );

    // Node: NODE_PATH and HOME's node_modules of the machine are not used.
    let fixture = Fixture::new("isonode", json!({ "name": "isonode" }));
    fixture.file(
        "index.js",
        "require('machine-only');\nexports.handler = async () => 1;\n",
    );
    write_file(
        &fixture.base.join("machine/machine-only/index.js"),
        "module.exports = 1;\n",
    );
    let output = crate::harness::lamina_command()
        .args(["build", "isonode", "--out", "out", "--json", "--smoke"])
        .current_dir(&fixture.base)
        .env("LAMINA_CACHE_DIR", fixture.base.join("cache"))
        .env("NODE_PATH", fixture.base.join("machine"))
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let smoke = &report["functions"][0]["smoke"];
    assert_ne!(smoke["outcome"], "passed", "{smoke:#}");
    assert!(smoke["error"].as_str().unwrap().contains("machine-only"));
}

#[test]
fn smoke_stands_in_for_the_runtimes_sdk_the_function_does_not_ship() {
    let fixture = Fixture::new("sdk", json!({ "name": "sdk", "type": "module" }));
    fixture.file(
        "index.js",
        "import { S3Client, GetObjectCommand } from '@aws-sdk/client-s3';\n\
         const s3 = new S3Client({});\n\
         export const handler = async () => ({ ok: typeof GetObjectCommand === 'function' && !!s3 });\n",
    );
    let event = event(&fixture);
    let built = fixture.build(&["--smoke", "--smoke-event", &event]);
    assert_eq!(built.code, 0, "{:#}", smoke(&built));
    assert_eq!(smoke(&built)["outcome"], "passed");
    assert_eq!(smoke(&built)["result"], r#"{"ok":true}"#);
    let notes = smoke(&built)["notes"].to_string();
    assert!(
        notes.contains("@aws-sdk/client-s3") && notes.contains("not checked"),
        "{notes}"
    );

    let fixture = Fixture::empty("pysdk");
    fixture.file(
        "app.py",
        "import boto3\nfrom botocore.exceptions import ClientError\n\
         table = boto3.resource('dynamodb').Table('t')\n\
         def handler(event, context):\n    return {'ok': True}\n",
    );
    let built = fixture.build(&[
        "--runtime",
        "python3.11",
        "--handler",
        "app.handler",
        "--smoke",
    ]);
    assert_eq!(built.code, 0, "{:#}", smoke(&built));
    assert!(smoke(&built)["notes"].to_string().contains("boto3"));
}
