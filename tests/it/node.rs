//! Node functions end to end on small fixture trees: what is kept and why, every node_modules
//! layout, the junk rules' guards, and that the unzipped artifact still runs with `node`.

use serde_json::json;

use crate::harness::{Fixture, check, run_handler};

/// A hoisted npm tree: nested and scoped packages, a dev-only package, an extraneous one and an
/// unused root dependency.
fn npm_tree() -> Fixture {
    let fixture = Fixture::new(
        "api",
        json!({
            "name": "api",
            "dependencies": { "a": "1", "@scope/b": "1", "unused-root": "1" },
            "devDependencies": { "dev-tool": "1" }
        }),
    );
    fixture
        .file("index.js", "const a = require('a');\nconst b = require('@scope/b');\nexports.handler = async () => ({ a, b });\n")
        .package("node_modules/a", "a", "1.0.0", &["c"])
        .package("node_modules/a/node_modules/c", "c", "1.0.0", &[])
        .package("node_modules/@scope/b", "@scope/b", "1.0.0", &["c"])
        .package("node_modules/c", "c", "2.0.0", &[])
        .package("node_modules/unused-root", "unused-root", "1.0.0", &["only-unused"])
        .package("node_modules/only-unused", "only-unused", "1.0.0", &[])
        .package("node_modules/dev-tool", "dev-tool", "1.0.0", &["dev-helper"])
        .package("node_modules/dev-helper", "dev-helper", "1.0.0", &[])
        .package("node_modules/stray", "stray", "1.0.0", &[]);
    fixture
}

#[test]
fn every_dropped_package_and_file_says_why() {
    // invariant: every-drop-has-a-reason
    let fixture = npm_tree();
    fixture
        .file("node_modules/a/README.md", "# a\n")
        .file("node_modules/a/test/a.test.js", "require('assert');\n");
    let built = fixture.build(&[]);
    let packages = built.function()["packages"].as_array().unwrap();
    let dropped: Vec<&serde_json::Value> = packages
        .iter()
        .filter(|package| package["status"] == "dropped")
        .collect();
    assert_eq!(dropped.len(), 5, "{packages:?}");
    for package in dropped {
        let reason = package["reason"].as_str().unwrap_or("");
        assert!(
            !reason.is_empty(),
            "a dropped package without a reason: {package}"
        );
    }
    // Dropped files of kept packages are counted under the id of the rule that dropped them.
    let rules = built.function()["rules"].to_string();
    assert!(
        rules.contains("junk/markdown") && rules.contains("junk/test-folder"),
        "{rules}"
    );
    for entry in built.entries() {
        assert!(
            !entry.ends_with("README.md") && !entry.contains("/test/"),
            "{entry}"
        );
    }
}

#[test]
fn hoisted_nested_and_scoped_packages_are_classified() {
    let fixture = npm_tree();
    let built = fixture.build(&[]);
    assert_eq!(built.code, 0);
    check(
        &built,
        &[
            ("node_modules/a", "kept", "production"),
            ("node_modules/a/node_modules/c", "kept", "production"),
            ("node_modules/@scope/b", "kept", "production"),
            ("node_modules/c", "kept", "production"),
            ("node_modules/unused-root", "dropped", "unused"),
            ("node_modules/only-unused", "dropped", "unused"),
            ("node_modules/dev-tool", "dropped", "dev"),
            ("node_modules/dev-helper", "dropped", "dev"),
            ("node_modules/stray", "dropped", "extraneous"),
        ],
    );
    assert!(
        built.package("node_modules/unused-root")["reason"]
            .as_str()
            .unwrap()
            .starts_with("unused")
    );
    // The nested c@1 is a's, the hoisted c@2 is b's: both resolve as Node would.
    let task = built.extract();
    assert_eq!(
        run_handler(&task, "index.js"),
        r#"{"a":["a@1.0.0",["c@1.0.0"]],"b":["@scope/b@1.0.0",["c@2.0.0"]]}"#
    );
    assert_eq!(
        run_handler(&fixture.root, "index.js"),
        run_handler(&task, "index.js")
    );
}

#[test]
fn a_dynamic_require_in_user_code_keeps_every_root_dependency() {
    let fixture = npm_tree();
    fixture.file(
        "lib/load.js",
        "module.exports = (name) => require('./plugins/' + name);\n",
    );
    // The handler loads it (a script it never loads would not count: see verdicts.rs).
    fixture.file(
        "index.js",
        "const a = require('a');\nconst b = require('@scope/b');\nconst load = require('./lib/load');\nexports.handler = async () => ({ a, b, load: typeof load });\n",
    );
    let built = fixture.build(&[]);
    check(
        &built,
        &[
            ("node_modules/unused-root", "kept", "production"),
            ("node_modules/dev-tool", "dropped", "dev"),
        ],
    );
    let dynamic = built.function()["dynamic_imports"].as_array().unwrap();
    assert_eq!(dynamic.len(), 1);
    assert!(
        dynamic[0].as_str().unwrap().starts_with("lib/load.js:1:"),
        "{dynamic:?}"
    );
    assert!(
        built.function()["notes"][0]
            .as_str()
            .unwrap()
            .contains("every root dependency is kept")
    );
}

#[test]
fn pnpm_layout_keeps_its_links_and_still_resolves() {
    // invariant: links-stay-inside
    let fixture = Fixture::new(
        "pnpm-fn",
        json!({ "name": "pnpm-fn", "dependencies": { "a": "1" }, "devDependencies": { "d": "1" } }),
    );
    fixture
        .file(
            "index.mjs",
            "import a from 'a';\nexport const handler = async () => a;\n",
        )
        .package(
            "node_modules/.pnpm/a@1.0.0/node_modules/a",
            "a",
            "1.0.0",
            &["b"],
        )
        .package(
            "node_modules/.pnpm/b@2.0.0/node_modules/b",
            "b",
            "2.0.0",
            &[],
        )
        .package(
            "node_modules/.pnpm/d@1.0.0/node_modules/d",
            "d",
            "1.0.0",
            &[],
        )
        .link("node_modules/a", ".pnpm/a@1.0.0/node_modules/a")
        .link("node_modules/d", ".pnpm/d@1.0.0/node_modules/d")
        .link(
            "node_modules/.pnpm/a@1.0.0/node_modules/b",
            "../../b@2.0.0/node_modules/b",
        )
        .link(
            "node_modules/.pnpm/node_modules/b",
            "../b@2.0.0/node_modules/b",
        )
        // A cycle: a package linking back to an ancestor folder must not loop the walk.
        .link("node_modules/.pnpm/b@2.0.0/node_modules/b/self", "..");
    let built = fixture.build(&[]);
    assert_eq!(built.code, 0);
    check(
        &built,
        &[
            (
                "node_modules/.pnpm/a@1.0.0/node_modules/a",
                "kept",
                "production",
            ),
            (
                "node_modules/.pnpm/b@2.0.0/node_modules/b",
                "kept",
                "production",
            ),
            (
                "node_modules/.pnpm/d@1.0.0/node_modules/d",
                "dropped",
                "dev",
            ),
        ],
    );
    // Each real package is counted once, however many links point at it.
    assert_eq!(built.function()["packages"].as_array().unwrap().len(), 3);
    let entries = built.entries();
    assert!(
        entries.contains(&"node_modules/a".to_string()),
        "the link itself ships"
    );
    assert!(
        !entries.contains(&"node_modules/d".to_string()),
        "a link to a dropped package goes"
    );
    let task = built.extract();
    assert!(
        task.join("node_modules/a")
            .symlink_metadata()
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        run_handler(&task, "index.mjs"),
        r#"["a@1.0.0",["b@2.0.0"]]"#
    );
}

#[test]
fn workspace_links_out_of_the_function_are_copied_as_real_files() {
    // invariant: links-stay-inside
    let fixture = Fixture::new(
        "svc",
        json!({ "name": "svc", "dependencies": { "@org/common": "*" } }),
    );
    fixture.file(
        "index.js",
        "exports.handler = async () => require('@org/common');\n",
    );
    // The workspace package lives beside the function, as in a monorepo whose root names
    // its workspaces: that root is the project boundary the link stays inside.
    crate::harness::write_file(
        &fixture.base.join("package.json"),
        r#"{"private":true,"workspaces":["packages/*"]}"#,
    );
    let common = fixture.base.join("packages/common");
    crate::harness::write_file(
        &common.join("package.json"),
        r#"{"name":"@org/common","version":"0.1.0"}"#,
    );
    crate::harness::write_file(
        &common.join("index.js"),
        "module.exports = 'common@0.1.0';\n",
    );
    fixture.link("node_modules/@org/common", "../../../packages/common");
    let built = fixture.build(&[]);
    let package = built.package("node_modules/@org/common");
    assert_eq!(package["workspace"], true);
    assert_eq!(package["status"], "kept");
    let task = built.extract();
    let index = task.join("node_modules/@org/common/index.js");
    assert!(
        index.symlink_metadata().unwrap().is_file(),
        "copied, not linked"
    );
    assert_eq!(run_handler(&task, "index.js"), r#""common@0.1.0""#);
}

#[test]
fn junk_looking_packages_and_entry_points_are_never_removed() {
    let fixture = Fixture::new(
        "names",
        json!({ "name": "names", "dependencies": { "semver": "1", "history": "1", "readme": "1", "lodash.map": "1", "minified": "1", "conditional": "1" } }),
    );
    fixture
        .file(
            "index.js",
            "const names = ['semver', 'history', 'readme', 'lodash.map', 'minified', 'conditional'];\nrequire('semver'); require('history'); require('readme'); require('lodash.map'); require('minified'); require('conditional');\nexports.handler = async () => names.map((n) => require(n));\n",
        );
    for name in ["semver", "history", "readme", "lodash.map"] {
        fixture
            .manifest(
                &format!("node_modules/{name}"),
                json!({ "name": name, "version": "1.0.0" }),
            )
            .file(
                &format!("node_modules/{name}/index.js"),
                &format!("module.exports = {name:?};\n"),
            )
            .file(&format!("node_modules/{name}/README.md"), "docs");
    }
    fixture
        .manifest(
            "node_modules/minified",
            json!({ "name": "minified", "version": "1.0.0", "main": "dist/x.min.js" }),
        )
        .file(
            "node_modules/minified/dist/x.min.js",
            "module.exports = 'minified';\n",
        )
        .file("node_modules/minified/dist/x.min.js.map", "{}")
        .manifest(
            "node_modules/conditional",
            json!({
                "name": "conditional",
                "version": "1.0.0",
                "exports": {
                    ".": {
                        "module-sync": "./examples/sync.mjs",
                        "import": "./esm/index.mjs",
                        "require": "./test/index.cjs",
                        "types": "./index.d.ts"
                    }
                }
            }),
        )
        .file(
            "node_modules/conditional/examples/sync.mjs",
            "export default 'module-sync';\n",
        )
        .file(
            "node_modules/conditional/esm/index.mjs",
            "export default 'import';\n",
        )
        .file(
            "node_modules/conditional/test/index.cjs",
            "module.exports = 'require';\n",
        )
        .file(
            "node_modules/conditional/test/other.cjs",
            "module.exports = 'other';\n",
        )
        .file("node_modules/conditional/index.d.ts", "export {};\n")
        .file(
            "node_modules/conditional/tests/unit.js",
            "throw new Error('a test');\n",
        );
    let before = run_handler(&fixture.root, "index.js");
    let built = fixture.build(&[]);
    let entries = built.entries();
    for kept in [
        "node_modules/semver/index.js",
        "node_modules/history/index.js",
        "node_modules/readme/index.js",
        "node_modules/lodash.map/index.js",
        "node_modules/minified/dist/x.min.js",
        "node_modules/conditional/examples/sync.mjs",
        "node_modules/conditional/esm/index.mjs",
        "node_modules/conditional/test/index.cjs",
        "node_modules/conditional/test/other.cjs",
    ] {
        assert!(entries.contains(&kept.to_string()), "{kept} must ship");
    }
    for dropped in [
        "node_modules/semver/README.md",
        "node_modules/minified/dist/x.min.js.map",
        "node_modules/conditional/index.d.ts",
        "node_modules/conditional/tests/unit.js",
    ] {
        assert!(!entries.contains(&dropped.to_string()), "{dropped} is junk");
    }
    let task = built.extract();
    assert_eq!(run_handler(&task, "index.js"), before);
    let rules: Vec<&str> = built.function()["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|rule| rule["rule"].as_str().unwrap())
        .collect();
    assert_eq!(
        rules,
        [
            "junk/markdown",
            "junk/source-map",
            "junk/test-folder",
            "junk/typescript-declaration"
        ]
    );
}

#[test]
fn runtime_sdk_is_reported_and_dropped_only_on_request() {
    let fixture = Fixture::new(
        "sdk",
        json!({ "name": "sdk", "dependencies": { "@aws-sdk/client-s3": "3", "tslib": "2" } }),
    );
    fixture
        .file(
            "index.js",
            "const s3 = require('@aws-sdk/client-s3');\nexports.handler = async () => s3;\n",
        )
        .package(
            "node_modules/@aws-sdk/client-s3",
            "@aws-sdk/client-s3",
            "3.0.0",
            &["@smithy/core", "sdk-only"],
        )
        .package("node_modules/@smithy/core", "@smithy/core", "1.0.0", &[])
        .package("node_modules/sdk-only", "sdk-only", "1.0.0", &[])
        .package("node_modules/tslib", "tslib", "2.0.0", &[]);
    let kept = fixture.build(&["--runtime", "nodejs20.x"]);
    check(
        &kept,
        &[
            (
                "node_modules/@aws-sdk/client-s3",
                "kept",
                "runtime-provided",
            ),
            ("node_modules/@smithy/core", "kept", "runtime-provided"),
            ("node_modules/sdk-only", "kept", "runtime-provided"),
            ("node_modules/tslib", "dropped", "unused"),
        ],
    );
    assert!(kept.function()["runtime_sdk_bytes"].as_u64().unwrap() > 0);
    let dropped = fixture.build(&["--runtime", "nodejs20.x", "--drop-runtime-sdk"]);
    check(
        &dropped,
        &[
            (
                "node_modules/@aws-sdk/client-s3",
                "dropped",
                "runtime-provided",
            ),
            ("node_modules/@smithy/core", "dropped", "runtime-provided"),
            ("node_modules/sdk-only", "dropped", "runtime-provided"),
        ],
    );
    assert!(
        !dropped
            .entries()
            .iter()
            .any(|entry| entry.contains("@aws-sdk"))
    );
}

#[test]
fn shake_none_ships_the_folder_as_installed() {
    let fixture = npm_tree();
    fixture.file("README.md", "docs");
    let built = fixture.build(&["--shake", "none"]);
    let entries = built.entries();
    assert!(entries.contains(&"node_modules/dev-tool/index.js".to_string()));
    assert!(entries.contains(&"README.md".to_string()));
    // Classes are still reported, so the user sees what `deps` would drop.
    check(&built, &[("node_modules/dev-tool", "kept", "dev")]);
}

#[test]
fn user_tests_vcs_and_lockfiles_stay_out_but_the_handler_stays_in() {
    let fixture = Fixture::new("own", json!({ "name": "own" }));
    fixture
        .file(
            "tests/handler.js",
            "exports.handler = async () => 'from tests/';\n",
        )
        .file("tests/handler.test.js", "test()\n")
        .file("src/util.spec.js", "test()\n")
        .file(".git/HEAD", "ref: refs/heads/main\n")
        .file(".github/workflows/ci.yml", "on: push\n")
        .file("package-lock.json", "{}")
        .file(
            "templates/page.md",
            "# kept: the user may read it at run time\n",
        );
    let built = fixture.build(&["--handler", "tests/handler.handler"]);
    let mut entries = built.entries();
    entries.sort();
    assert_eq!(
        entries,
        ["package.json", "templates/page.md", "tests/handler.js"]
    );
}

#[test]
fn output_folder_inside_the_function_is_left_out() {
    let fixture = npm_tree();
    let run = |dir: &std::path::Path| {
        crate::harness::lamina_command()
            .args(["build", ".", "--json"])
            .current_dir(dir)
            .output()
            .unwrap()
    };
    assert!(run(&fixture.root).status.success());
    let second = run(&fixture.root);
    assert!(second.status.success());
    let report: serde_json::Value = serde_json::from_slice(&second.stdout).unwrap();
    let zip =
        zip::ZipArchive::new(fs_err::File::open(fixture.root.join("lamina-out/api.zip")).unwrap())
            .unwrap();
    assert!(
        !zip.file_names()
            .any(|name| name.unwrap().starts_with("lamina-out"))
    );
    assert_eq!(report["functions"][0]["artifact"], "lamina-out/api.zip");
}

#[test]
fn builds_are_byte_identical_and_pinned() {
    let fixture = Fixture::new(
        "pinned",
        json!({ "name": "pinned", "dependencies": { "a": "1" } }),
    );
    fixture
        .file("index.js", "exports.handler = async () => require('a');\n")
        .package("node_modules/a", "a", "1.0.0", &[])
        .file("bin/tool", "#!/bin/sh\necho tool\n");
    std::fs::set_permissions(
        fixture.root.join("bin/tool"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let first = fixture.build(&[]);
    let bytes = fs_err::read(&first.zip).unwrap();
    // Touching every input file must not change the zip: no mtimes go in.
    std::thread::sleep(std::time::Duration::from_millis(20));
    for path in ["index.js", "package.json", "node_modules/a/index.js"] {
        let contents = fs_err::read(fixture.root.join(path)).unwrap();
        fs_err::write(fixture.root.join(path), contents).unwrap();
    }
    // Written again, not left in place as the same zip.
    fs_err::remove_file(&first.zip).unwrap();
    let second = fixture.build(&[]);
    assert_eq!(bytes, fs_err::read(&second.zip).unwrap());
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(&bytes)).unwrap();
    assert_eq!(
        archive.by_name("bin/tool").unwrap().unix_mode(),
        Some(0o100755)
    );
    assert_eq!(
        archive.by_name("index.js").unwrap().unix_mode(),
        Some(0o100644)
    );
    // Pinned: a change here means every user's zip hash changes; make it on purpose. Last
    // changed by the libdeflate backend (libdeflate-sys 1.26.1, level 7; empty files stored).
    assert_eq!(
        first.function()["sha256"],
        "f0d5e958197ea08e1e38362495ecf6b7fc40044d34bebd678fb767f1ec3f1553"
    );
}

#[test]
fn scan_writes_nothing_and_projects_sizes() {
    let fixture = npm_tree();
    let before = fixture.snapshot();
    let output = fixture.lamina(&["scan", fixture.root.to_str().unwrap(), "--json"]);
    assert!(output.status.success());
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let function = &report["functions"][0];
    assert_eq!(report["command"], "scan");
    assert!(function["artifact"].is_null());
    assert!(function["projected_zipped_bytes"].as_u64().unwrap() > 0);
    assert!(
        function["unzipped_bytes"].as_u64().unwrap() < function["input_bytes"].as_u64().unwrap()
    );
    assert_eq!(fixture.snapshot(), before);
    assert!(!fixture.base.join("lamina-out").exists());
}

#[test]
fn build_never_modifies_the_input() {
    let fixture = npm_tree();
    fixture.link("node_modules/.bin/tool", "../dev-tool/index.js");
    let before = fixture.snapshot();
    fixture.build(&[]);
    assert_eq!(fixture.snapshot(), before);
}

#[test]
fn installed_manifests_with_odd_field_types_still_build_and_run() {
    // Shapes published packages carry: `"main": false` (dunder-proto, math-intrinsics), engines
    // arrays (verror, extsprintf), `"browser": false`, licence objects, `"bundleDependencies":
    // true`, a list of devDependencies, empty or null dependency maps. Node ignores them, and
    // a wrong type in the maps that decide what ships is refused elsewhere (cli.rs).
    let fixture = Fixture::new(
        "odd",
        json!({ "name": "odd", "dependencies": { "old": "*" } }),
    );
    fixture
        .file(
            "index.js",
            "const old = require('old');\nexports.handler = async () => old;\n",
        )
        .manifest(
            "node_modules/old",
            json!({
                "name": "old",
                "version": "0.1.0",
                "main": false,
                "engines": ["node >= 0.4"],
                "browser": false,
                "license": { "type": "MIT", "url": "http://example.com" },
                "bundleDependencies": true,
                "dependencies": { "helper": "*" },
                "devDependencies": ["mocha"],
                "optionalDependencies": [],
                "peerDependencies": null,
                "imports": []
            }),
        )
        .file(
            "node_modules/old/index.js",
            "module.exports = ['old'].concat(require('helper'));\n",
        )
        .package("node_modules/helper", "helper", "1.0.0", &[]);
    let built = fixture.build(&[]);
    assert_eq!(built.code, 0);
    check(
        &built,
        &[
            ("node_modules/old", "kept", "production"),
            ("node_modules/helper", "kept", "production"),
        ],
    );
    let task = built.extract();
    assert_eq!(run_handler(&task, "index.js"), r#"["old","helper@1.0.0"]"#);
}
