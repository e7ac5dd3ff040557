//! `--shake files` on fixtures, one per class of design.md's Node "must never break" list: what
//! is traced, what is kept whole and why, and that the unzipped artifact answers as before.

use serde_json::json;

use crate::harness::{Built, Fixture, run_handler};

fn entries(built: &Built) -> Vec<String> {
    let mut entries = built.entries();
    entries.sort();
    entries
}

fn trace_of<'a>(built: &'a Built, path: &str) -> &'a serde_json::Value {
    &built.package(path)["trace"]
}

/// Builds with `--shake files`, checks the handler answers the same from the unzipped
/// artifact, and returns the build.
fn build_and_run(fixture: &Fixture, handler: &str) -> Built {
    let before = run_handler(&fixture.root, handler);
    assert!(
        !before.starts_with("ERROR"),
        "the fixture itself fails: {before}"
    );
    let built = fixture.build(&["--shake", "files"]);
    assert_eq!(built.code, 0);
    let task = built.extract();
    assert_eq!(
        run_handler(&task, handler),
        before,
        "the slimmed handler answers differently"
    );
    built
}

#[test]
fn only_reached_files_of_a_traceable_package_ship() {
    let fixture = Fixture::new(
        "traced",
        json!({ "name": "traced", "dependencies": { "lib": "1" } }),
    );
    fixture
        .file(
            "index.js",
            "const lib = require('lib');\nexports.handler = async () => lib.used();\n",
        )
        .manifest(
            "node_modules/lib",
            json!({ "name": "lib", "version": "1.0.0", "main": "index.js" }),
        )
        .file(
            "node_modules/lib/index.js",
            "exports.used = () => require('./used') + require('./data.json').n;\n",
        )
        .file(
            "node_modules/lib/used.js",
            "const again = require('./index'); module.exports = 'used';\n",
        )
        .file("node_modules/lib/data.json", r#"{"n": 1}"#)
        .file(
            "node_modules/lib/unused.js",
            "module.exports = 'never required';\n",
        )
        .file("node_modules/lib/docs/guide.html", "<p>docs</p>")
        .file(
            "scripts/migrate.js",
            "require('lib'); // a user script the handler never loads\n",
        )
        .file(
            "templates/mail.txt",
            "kept: user data may be read by a path lamina cannot see\n",
        );
    let built = build_and_run(&fixture, "index.js");
    assert_eq!(
        entries(&built),
        [
            "index.js",
            "node_modules/lib/data.json",
            "node_modules/lib/index.js",
            "node_modules/lib/package.json",
            "node_modules/lib/used.js",
            "package.json",
            "templates/mail.txt",
        ]
    );
    assert_eq!(trace_of(&built, "node_modules/lib")["mode"], "files");
    let rules = built.function()["rules"].as_array().unwrap();
    assert!(rules.iter().any(|rule| rule["rule"] == "trace/unreached"));
}

/// `require` resolves under every `require` condition set the target Node uses (with and
/// without `module-sync`), never under `import`.
#[test]
fn exports_targets_under_every_require_condition_are_followed() {
    let fixture = Fixture::new(
        "conditions",
        json!({ "name": "conditions", "dependencies": { "dual": "1" } }),
    );
    fixture
        .file("index.js", "exports.handler = async () => require('dual');\n")
        .manifest(
            "node_modules/dual",
            json!({
                "name": "dual",
                "version": "1.0.0",
                "exports": { ".": [{ "module-sync": "./sync.mjs", "import": "./esm.mjs", "require": "./cjs.cjs" }, "./fallback.js"] }
            }),
        )
        .file("node_modules/dual/sync.mjs", "export default 'module-sync';\n")
        .file("node_modules/dual/esm.mjs", "export default 'import';\n")
        .file("node_modules/dual/cjs.cjs", "module.exports = 'require';\n")
        .file("node_modules/dual/fallback.js", "module.exports = 'fallback';\n")
        .file("node_modules/dual/extra.js", "module.exports = 'not a target';\n");
    let built = build_and_run(&fixture, "index.js");
    let shipped = entries(&built);
    for target in ["node_modules/dual/sync.mjs", "node_modules/dual/cjs.cjs"] {
        assert!(
            shipped.contains(&target.to_string()),
            "{target} must ship: {shipped:?}"
        );
    }
    for absent in ["node_modules/dual/extra.js", "node_modules/dual/esm.mjs"] {
        assert!(!shipped.contains(&absent.to_string()), "{shipped:?}");
    }
}

/// The shipped entries under `folder/`.
fn shipped_under(built: &Built, folder: &str) -> Vec<String> {
    entries(built)
        .into_iter()
        .filter(|entry| entry.starts_with(&format!("{folder}/")))
        .collect()
}

/// The file's own location used in a way lamina cannot fold (`return __dirname`, and a path
/// built from it elsewhere): the package's files may be read, but not its unreached scripts,
/// and nothing of what it depends on ships for it.
#[test]
fn a_function_returning_dirname_ships_its_package_files_but_not_its_unreached_scripts() {
    let fixture = Fixture::new(
        "styles",
        json!({ "name": "styles", "dependencies": { "theme": "1" } }),
    );
    fixture
        .file(
            "index.js",
            "const fs = require('fs');\nconst theme = require('theme');\nexports.handler = async () => fs.readFileSync(theme.root() + '/../css/main.css', 'utf8');\n",
        )
        .manifest(
            "node_modules/theme",
            json!({ "name": "theme", "version": "1.0.0", "main": "lib/index.js", "dependencies": { "colors": "1" } }),
        )
        .file("node_modules/theme/lib/index.js", "exports.root = function () { return __dirname; };\n")
        .file("node_modules/theme/lib/unused.js", "module.exports = 1;\n")
        .file("node_modules/theme/css/main.css", "body { color: red }\n")
        // Junk rules' drops stand for files only a computed path may name.
        .file("node_modules/theme/docs/guide.md", "# theme\n")
        .file("node_modules/theme/lib/index.d.ts", "export declare function root(): string;\n")
        .manifest("node_modules/colors", json!({ "name": "colors", "version": "1.0.0" }))
        .file("node_modules/colors/index.js", "module.exports = 'red';\n");
    let built = build_and_run(&fixture, "index.js");
    let trace = trace_of(&built, "node_modules/theme");
    assert_eq!(trace["mode"], "files", "{trace}");
    assert_eq!(
        shipped_under(&built, "node_modules/theme"),
        [
            "node_modules/theme/css/main.css",
            "node_modules/theme/lib/index.js",
            "node_modules/theme/package.json",
        ]
    );
    assert!(shipped_under(&built, "node_modules/colors").is_empty());
    let notes = built.function()["notes"].to_string();
    assert!(
        notes.contains("theme@1.0.0 (node_modules/theme/lib/index.js:1:"),
        "{notes}"
    );
}

/// An alias of `require` given a computed name under a folder (moment's locales: `aliased =
/// require; aliased("./locale/" + name)`): that folder's scripts ship and are traced, not the
/// package's other scripts, its data files, or what it declares and never requires.
#[test]
fn an_aliased_require_of_computed_locales_ships_that_folders_scripts() {
    let fixture = Fixture::new(
        "locales",
        json!({ "name": "locales", "dependencies": { "dates": "1" } }),
    );
    fixture
        .file(
            "index.js",
            "const dates = require('dates');\nexports.handler = async () => dates.load('fr');\n",
        )
        .manifest(
            "node_modules/dates",
            json!({ "name": "dates", "version": "1.0.0", "dependencies": { "extra": "1", "tz": "1" } }),
        )
        .file(
            "node_modules/dates/index.js",
            "var aliased = require;\nexports.load = (name) => aliased('./locale/' + name);\n",
        )
        .file("node_modules/dates/locale/fr.js", "module.exports = 'bonjour';\n")
        .file("node_modules/dates/locale/de.js", "module.exports = require('tz');\n")
        .file("node_modules/dates/docs/guide.md", "# guide\n")
        .file("node_modules/dates/min/dates.min.js", "module.exports = 1;\n")
        .manifest("node_modules/extra", json!({ "name": "extra", "version": "1.0.0" }))
        .file("node_modules/extra/index.js", "module.exports = 1;\n")
        .manifest("node_modules/tz", json!({ "name": "tz", "version": "1.0.0" }))
        .file("node_modules/tz/index.js", "module.exports = 'hallo';\n");
    let built = build_and_run(&fixture, "index.js");
    assert_eq!(trace_of(&built, "node_modules/dates")["mode"], "files");
    assert_eq!(
        shipped_under(&built, "node_modules/dates"),
        [
            "node_modules/dates/index.js",
            "node_modules/dates/locale/de.js",
            "node_modules/dates/locale/fr.js",
            "node_modules/dates/package.json",
        ]
    );
    // What a shipped script requires is traced; what the package only declares is not kept.
    assert!(entries(&built).contains(&"node_modules/tz/index.js".to_string()));
    assert!(shipped_under(&built, "node_modules/extra").is_empty());
}

/// A package's computed `require(mod)` (express's view engines): the packages the user's code
/// names as strings (`app.set("view engine", "ejs")`) may be what it loads, so they ship.
#[test]
fn a_computed_require_in_a_package_reaches_the_packages_the_user_names() {
    let fixture = Fixture::new(
        "views",
        json!({ "name": "views", "dependencies": { "web": "1", "ejs": "1", "pug": "1" } }),
    );
    fixture
        .file(
            "index.js",
            "const web = require('web');\nconst app = web();\napp.set('view engine', 'ejs');\nexports.handler = async () => app.render('x');\n",
        )
        .manifest("node_modules/web", json!({ "name": "web", "version": "1.0.0" }))
        .file(
            "node_modules/web/index.js",
            "module.exports = () => { const settings = {}; return { set: (k, v) => { settings[k] = v; }, render: (view) => require(settings['view engine']).render(view) }; };\n",
        )
        .file("node_modules/web/lib/router.js", "module.exports = 1;\n")
        // A test suite (which `junk/test-folder` drops) is not among what a computed require
        // loads: its `eval` keeps nothing whole.
        .file("node_modules/web/test/render.test.js", "eval(process.env.CODE);\n")
        .manifest("node_modules/ejs", json!({ "name": "ejs", "version": "1.0.0" }))
        .file("node_modules/ejs/index.js", "exports.render = (view) => 'ejs:' + view;\n")
        .manifest("node_modules/pug", json!({ "name": "pug", "version": "1.0.0" }))
        .file("node_modules/pug/index.js", "exports.render = (view) => 'pug:' + view;\n");
    let built = build_and_run(&fixture, "index.js");
    let shipped = entries(&built);
    assert!(
        shipped.contains(&"node_modules/ejs/index.js".to_string()),
        "{shipped:?}"
    );
    assert!(
        shipped_under(&built, "node_modules/pug").is_empty(),
        "{shipped:?}"
    );
    assert_eq!(trace_of(&built, "node_modules/web")["mode"], "files");
    // The package's own scripts may be what it loads: they ship.
    assert!(shipped.contains(&"node_modules/web/lib/router.js".to_string()));
    assert!(!shipped.contains(&"node_modules/web/test/render.test.js".to_string()));
}

/// A path built from `__dirname` with a computed tail (`__dirname + "/" + name`) reads files
/// of that folder: its non-script files ship, not its scripts.
#[test]
fn wasm_located_through_dirname_ships_the_folder_files_not_its_scripts() {
    let fixture = Fixture::new(
        "wasm",
        json!({ "name": "wasm", "dependencies": { "engine": "1" } }),
    );
    fixture
        .file("index.js", "exports.handler = async () => require('engine').size();\n")
        .manifest("node_modules/engine", json!({ "name": "engine", "version": "1.0.0" }))
        .file(
            "node_modules/engine/index.js",
            "const fs = require('fs');\nconst name = 'engine' + '.wasm';\nexports.size = () => fs.readFileSync(__dirname + '/' + name).length;\n",
        )
        .file("node_modules/engine/engine.wasm", "\0asm-not-really")
        .file("node_modules/engine/engine.asm.js", "module.exports = 1;\n")
        .file("node_modules/engine/other/helper.js", "module.exports = 1;\n");
    let built = build_and_run(&fixture, "index.js");
    let trace = trace_of(&built, "node_modules/engine");
    assert_eq!(trace["mode"], "files", "{trace}");
    assert_eq!(
        shipped_under(&built, "node_modules/engine"),
        [
            "node_modules/engine/engine.wasm",
            "node_modules/engine/index.js",
            "node_modules/engine/package.json",
        ]
    );
}

/// Constants fold into specifiers: concatenations and templates of module-level constants,
/// and fields of a frozen object (`const DEPS = Object.freeze({ yaml: "js-yaml" })`).
#[test]
fn constant_specifiers_are_followed_by_name() {
    let fixture = Fixture::new(
        "consts",
        json!({ "name": "consts", "dependencies": { "loader": "1", "js-yaml": "1" } }),
    );
    fixture
        .file("index.js", "exports.handler = async () => require('loader')();\n")
        .manifest("node_modules/loader", json!({ "name": "loader", "version": "1.0.0" }))
        .file(
            "node_modules/loader/index.js",
            "const LIB = './lib/';\nconst DEPS = Object.freeze({ yaml: 'js-yaml' });\nmodule.exports = () => [require(LIB + 'parse'), require(`${LIB}emit`), require(DEPS.yaml)];\n",
        )
        .file("node_modules/loader/lib/parse.js", "module.exports = 'parse';\n")
        .file("node_modules/loader/lib/emit.js", "module.exports = 'emit';\n")
        .file("node_modules/loader/lib/unused.js", "module.exports = 'unused';\n")
        .manifest("node_modules/js-yaml", json!({ "name": "js-yaml", "version": "1.0.0" }))
        .file("node_modules/js-yaml/index.js", "module.exports = 'yaml';\n");
    let built = build_and_run(&fixture, "index.js");
    assert_eq!(trace_of(&built, "node_modules/loader")["mode"], "files");
    assert_eq!(
        shipped_under(&built, "node_modules/loader"),
        [
            "node_modules/loader/index.js",
            "node_modules/loader/lib/emit.js",
            "node_modules/loader/lib/parse.js",
            "node_modules/loader/package.json",
        ]
    );
    assert!(entries(&built).contains(&"node_modules/js-yaml/index.js".to_string()));
}

/// A package with CommonJS and ES-module twins (`exports` with `require` and `import`):
/// `require` loads the CommonJS build only, `import` the ES-module one only.
/// Adds dual packages (`exports` with a `require` build `cjs/index.cjs` and an `import` build
/// `esm/index.mjs`, each exporting its name and build).
fn dual_packages(fixture: &Fixture, names: &[&str]) {
    for name in names {
        fixture
            .manifest(
                &format!("node_modules/{name}"),
                json!({ "name": name, "version": "1.0.0", "exports": { ".": { "require": "./cjs/index.cjs", "import": "./esm/index.mjs" } } }),
            )
            .file(
                &format!("node_modules/{name}/cjs/index.cjs"),
                &format!("exports.name = '{name}-cjs';\n"),
            )
            .file(
                &format!("node_modules/{name}/esm/index.mjs"),
                &format!("export const name = '{name}-esm';\n"),
            );
    }
}

#[test]
fn require_and_import_reach_only_their_own_build_of_a_dual_package() {
    let fixture = Fixture::new(
        "dual",
        json!({ "name": "dual", "dependencies": { "dates": "1", "fmt": "1" } }),
    );
    fixture.file(
        "index.js",
        "const dates = require('dates');\nexports.handler = async () => [dates.name, (await import('fmt')).name];\n",
    );
    dual_packages(&fixture, &["dates", "fmt"]);
    let built = build_and_run(&fixture, "index.js");
    let shipped = entries(&built);
    for present in [
        "node_modules/dates/cjs/index.cjs",
        "node_modules/fmt/esm/index.mjs",
    ] {
        assert!(shipped.contains(&present.to_string()), "{shipped:?}");
    }
    for absent in [
        "node_modules/dates/esm/index.mjs",
        "node_modules/fmt/cjs/index.cjs",
    ] {
        assert!(!shipped.contains(&absent.to_string()), "{shipped:?}");
    }

    // A package's computed `require(name)` of a name it holds (config's `require(JS_YAML_DEP)`
    // beside `require(filename)`) reaches the `require` build; its `import(name)` the other.
    let fixture = Fixture::new(
        "dualnamed",
        json!({ "name": "dualnamed", "dependencies": { "loader": "1", "dates": "1", "fmt": "1" } }),
    );
    fixture
        .file(
            "index.js",
            "const loader = require('loader');\nexports.handler = async () => [loader.load(process.env.DATES || 'dates').name, (await loader.importing(process.env.FMT || 'fmt')).name];\n",
        )
        .manifest("node_modules/loader", json!({ "name": "loader", "version": "1.0.0" }))
        .file(
            "node_modules/loader/index.js",
            "const names = ['dates', 'fmt'];\nexports.load = (name) => require(name);\nexports.importing = (name) => import(name);\n",
        );
    dual_packages(&fixture, &["dates", "fmt"]);
    let built = build_and_run(&fixture, "index.js");
    let shipped = entries(&built);
    // `require(name)` may name either package, and so may `import(name)`: each build ships
    // for the load that resolves to it.
    for present in [
        "node_modules/dates/cjs/index.cjs",
        "node_modules/dates/esm/index.mjs",
        "node_modules/fmt/cjs/index.cjs",
        "node_modules/fmt/esm/index.mjs",
    ] {
        assert!(shipped.contains(&present.to_string()), "{shipped:?}");
    }
    let fixture = Fixture::new(
        "dualrequired",
        json!({ "name": "dualrequired", "dependencies": { "loader": "1", "dates": "1" } }),
    );
    fixture
        .file(
            "index.js",
            "const loader = require('loader');\nexports.handler = async () => loader.load(process.env.DATES || 'dates').name;\n",
        )
        .manifest("node_modules/loader", json!({ "name": "loader", "version": "1.0.0" }))
        .file(
            "node_modules/loader/index.js",
            "const DATES = 'dates';\nexports.load = (name) => require(name);\n",
        );
    dual_packages(&fixture, &["dates"]);
    let built = build_and_run(&fixture, "index.js");
    let shipped = entries(&built);
    assert!(
        shipped.contains(&"node_modules/dates/cjs/index.cjs".to_string()),
        "{shipped:?}"
    );
    assert!(
        !shipped.contains(&"node_modules/dates/esm/index.mjs".to_string()),
        "{shipped:?}"
    );
}

/// `eval`/`new Function` of literal code that loads nothing (`new Function("return this")`,
/// pg's `eval("new.target")`) changes nothing; of computed code, it keeps the package whole.
#[test]
fn eval_of_literal_code_keeps_nothing_whole_and_of_computed_code_keeps_the_package() {
    let fixture = Fixture::new(
        "evals",
        json!({ "name": "evals", "dependencies": { "inert": "1", "runs": "1" } }),
    );
    fixture
        .file(
            "index.js",
            "const inert = require('inert');\nconst runs = require('runs');\nexports.handler = async () => [inert.global(), runs.run('1 + 1')];\n",
        )
        .manifest("node_modules/inert", json!({ "name": "inert", "version": "1.0.0" }))
        .file(
            "node_modules/inert/index.js",
            "exports.global = () => typeof new Function('return this')();\n",
        )
        .file("node_modules/inert/unused.js", "module.exports = 1;\n")
        .manifest("node_modules/runs", json!({ "name": "runs", "version": "1.0.0" }))
        .file("node_modules/runs/index.js", "exports.run = (code) => eval(code);\n")
        .file("node_modules/runs/unused.js", "module.exports = 1;\n");
    let built = build_and_run(&fixture, "index.js");
    assert_eq!(trace_of(&built, "node_modules/inert")["mode"], "files");
    assert!(
        shipped_under(&built, "node_modules/inert")
            .iter()
            .all(|entry| !entry.ends_with("unused.js"))
    );
    let runs = trace_of(&built, "node_modules/runs");
    assert_eq!(runs["mode"], "whole", "{runs}");
    assert!(entries(&built).contains(&"node_modules/runs/unused.js".to_string()));
}

#[test]
fn a_napi_style_platform_probe_keeps_the_native_package() {
    let fixture = Fixture::new(
        "napi",
        json!({ "name": "napi", "dependencies": { "fast": "1" } }),
    );
    fixture
        .file("index.js", "exports.handler = async () => typeof require('fast').load;\n")
        .manifest(
            "node_modules/fast",
            json!({ "name": "fast", "version": "1.0.0", "optionalDependencies": { "@fast/core-linux-x64-gnu": "1", "@fast/core-darwin-arm64": "1" } }),
        )
        .file(
            "node_modules/fast/index.js",
            "exports.load = () => {\n  switch (process.platform) {\n    case 'linux': return require('@fast/core-linux-x64-gnu');\n    case 'darwin': return require('@fast/core-darwin-arm64');\n  }\n};\n",
        )
        .manifest("node_modules/@fast/core-linux-x64-gnu", json!({ "name": "@fast/core-linux-x64-gnu", "version": "1.0.0", "main": "core.linux-x64-gnu.node" }))
        .file("node_modules/@fast/core-linux-x64-gnu/core.linux-x64-gnu.node", "\x7fELF-not-really")
        .file("node_modules/@fast/core-linux-x64-gnu/README.md", "docs")
        // Installed too (`npm install --force`, a lockfile from a Mac): Lambda's Node takes
        // only the `linux` branch, so it does not ship.
        .manifest("node_modules/@fast/core-darwin-arm64", json!({ "name": "@fast/core-darwin-arm64", "version": "1.0.0", "main": "core.darwin-arm64.node" }))
        .file("node_modules/@fast/core-darwin-arm64/core.darwin-arm64.node", "mach-o-not-really");
    let built = build_and_run(&fixture, "index.js");
    let shipped = entries(&built);
    assert!(
        !shipped
            .iter()
            .any(|entry| entry.contains("core-darwin-arm64")),
        "{shipped:?}"
    );
    assert!(
        shipped
            .contains(&"node_modules/@fast/core-linux-x64-gnu/core.linux-x64-gnu.node".to_string()),
        "{shipped:?}"
    );
    assert_eq!(
        trace_of(&built, "node_modules/@fast/core-linux-x64-gnu")["mode"],
        "whole"
    );
}

/// Lambda always sets its reserved variables (`AWS_LAMBDA_FUNCTION_NAME`, `LAMBDA_TASK_ROOT`,
/// ...): a branch taken only without them does not ship; one on the function's own variables
/// (`NODE_ENV`) may go either way, so both do. The smoke run, with Lambda's environment, invokes
/// the handler from the zip.
#[test]
fn branches_on_lambdas_reserved_environment_are_folded() {
    let fixture = Fixture::new(
        "envfold",
        json!({ "name": "envfold", "dependencies": { "logger": "1" } }),
    );
    fixture
        .file(
            "index.js",
            "const log = require('logger');\nexports.handler = async () => log.sink;\n",
        )
        .file("event.json", "{}")
        .manifest("node_modules/logger", json!({ "name": "logger", "version": "1.0.0" }))
        .file(
            "node_modules/logger/index.js",
            "exports.sink = process.env.AWS_LAMBDA_FUNCTION_NAME ? require('./stdout').name : require('./pretty').name;\nif (typeof process.env.LAMBDA_TASK_ROOT === 'undefined') require('./dev-server');\nexports.mode = process.env.NODE_ENV === 'production' ? require('./prod') : require('./dev');\n",
        )
        .file("node_modules/logger/stdout.js", "exports.name = 'stdout';\n")
        .file("node_modules/logger/pretty.js", "exports.name = 'pretty';\n")
        .file("node_modules/logger/dev-server.js", "module.exports = 1;\n")
        .file("node_modules/logger/prod.js", "module.exports = 'prod';\n")
        .file("node_modules/logger/dev.js", "module.exports = 'dev';\n");
    let built = fixture.build(&[
        "--shake",
        "files",
        "--smoke-event",
        fixture.root.join("event.json").to_str().unwrap(),
    ]);
    assert_eq!(built.code, 0, "{}", built.function()["smoke"]);
    assert_eq!(built.function()["smoke"]["invoked"], true);
    assert!(
        built.function()["smoke"]["result"]
            .to_string()
            .contains("stdout"),
        "{}",
        built.function()["smoke"]
    );
    assert_eq!(
        shipped_under(&built, "node_modules/logger"),
        [
            "node_modules/logger/dev.js",
            "node_modules/logger/index.js",
            "node_modules/logger/package.json",
            "node_modules/logger/prod.js",
            "node_modules/logger/stdout.js",
        ]
    );
}

/// A stand-in for the AWS SDK v2, shaped as it is: `clients/all.js` requires every client,
/// each client requires its model only inside a getter that runs when a client is built.
fn sdk_v2_fixture(name: &str, handler: &str) -> Fixture {
    let fixture = Fixture::new(
        name,
        json!({ "name": name, "dependencies": { "aws-sdk": "2" } }),
    );
    fixture
        .file("index.js", handler)
        .manifest(
            "node_modules/aws-sdk",
            json!({ "name": "aws-sdk", "version": "2.1692.0", "main": "lib/aws.js" }),
        )
        .file(
            "node_modules/aws-sdk/lib/core.js",
            "var AWS = { apiLoader: { services: {} }, meta: require('../apis/metadata.json') };\nAWS.Service = { defineService: function (id) { return function Client() { this.api = AWS.apiLoader.services[id].v1; }; } };\nmodule.exports = AWS;\n",
        )
        .file(
            "node_modules/aws-sdk/lib/aws.js",
            "var AWS = require('./core');\nrequire('../clients/all');\nmodule.exports = AWS;\n",
        )
        .file(
            "node_modules/aws-sdk/clients/all.js",
            "module.exports = { S3: require('./s3'), EC2: require('./ec2'), STS: require('./sts'), SWF: require('./swf') };\n",
        )
        .file("node_modules/aws-sdk/apis/metadata.json", "{}")
        // The SDK's own alias, in the client's customisations.
        .file(
            "node_modules/aws-sdk/lib/services/swf.js",
            "var AWS = require('../core');\nAWS.SimpleWorkflow = AWS.SWF;\n",
        );
    for (id, class) in [("s3", "S3"), ("ec2", "EC2"), ("sts", "STS"), ("swf", "SWF")] {
        let customised = if id == "swf" {
            "require('../lib/services/swf');\n"
        } else {
            ""
        };
        fixture
            .file(
                &format!("node_modules/aws-sdk/clients/{id}.js"),
                &format!(
                    "var AWS = require('../lib/core');\nvar Service = AWS.Service;\nAWS.apiLoader.services['{id}'] = {{}};\nAWS.{class} = Service.defineService('{id}', ['v1']);\n{customised}Object.defineProperty(AWS.apiLoader.services['{id}'], 'v1', {{\n  get: function get() {{\n    return require('../apis/{id}-v1.min.json');\n  }}\n}});\nmodule.exports = AWS.{class};\n"
                ),
            )
            .file(
                &format!("node_modules/aws-sdk/apis/{id}-v1.min.json"),
                &format!("{{\"name\": \"{id}\"}}"),
            );
    }
    fixture
}

/// The AWS SDK v2's models ship only for the clients the reached code names (and STS, which
/// the SDK builds for credentials); a client built by a computed name keeps every model.
#[test]
fn only_the_models_of_the_aws_sdk_v2_clients_named_ship() {
    let named = sdk_v2_fixture(
        "sdkv2",
        "const AWS = require('aws-sdk');\nexports.handler = async () => new AWS.S3().api.name;\n",
    );
    let built = build_and_run(&named, "index.js");
    assert_eq!(
        shipped_under(&built, "node_modules/aws-sdk/apis"),
        [
            "node_modules/aws-sdk/apis/metadata.json",
            "node_modules/aws-sdk/apis/s3-v1.min.json",
            "node_modules/aws-sdk/apis/sts-v1.min.json",
        ]
    );
    assert!(
        built.function()["notes"]
            .to_string()
            .contains("only those of S3 ship"),
        "{}",
        built.function()["notes"]
    );
    // A class by its alias, and a model by its path.
    let aliased = sdk_v2_fixture(
        "sdkv2alias",
        "const AWS = require('aws-sdk');\nconst ec2 = require('aws-sdk/apis/ec2-v1.min.json');\nexports.handler = async () => [new AWS.SimpleWorkflow().api.name, ec2.name];\n",
    );
    let built = build_and_run(&aliased, "index.js");
    assert_eq!(
        shipped_under(&built, "node_modules/aws-sdk/apis"),
        [
            "node_modules/aws-sdk/apis/ec2-v1.min.json",
            "node_modules/aws-sdk/apis/metadata.json",
            "node_modules/aws-sdk/apis/sts-v1.min.json",
            "node_modules/aws-sdk/apis/swf-v1.min.json",
        ]
    );
    let computed = sdk_v2_fixture(
        "sdkv2computed",
        "const AWS = require('aws-sdk');\nexports.handler = async () => new AWS[process.env.SERVICE || 'EC2']().api.name;\n",
    );
    let built = build_and_run(&computed, "index.js");
    assert_eq!(shipped_under(&built, "node_modules/aws-sdk/apis").len(), 5);
    assert!(
        built.function()["notes"].to_string().contains(
            "lamina cannot follow the aws-sdk module at index.js:1: AWS = require('aws-sdk')"
        ),
        "{}",
        built.function()["notes"]
    );
}

/// A miniature express 5 stack (express, body-parser, raw-body, iconv-lite in the versions
/// `data/packages.toml`'s entry covers) whose handler runs `handler`'s code.
fn body_parser_fixture(name: &str, handler: &str) -> Fixture {
    let fixture = Fixture::new(
        name,
        json!({ "name": name, "dependencies": { "express": "5", "iconv-lite": "0.7" } }),
    );
    fixture
        .file("index.js", handler)
        .manifest("node_modules/express", json!({ "name": "express", "version": "5.2.1" }))
        .file(
            "node_modules/express/index.js",
            "var bodyParser = require('body-parser');\nfunction express() { return {}; }\nexpress.json = bodyParser.json;\nexpress.text = bodyParser.text;\nmodule.exports = express;\n",
        )
        .manifest("node_modules/body-parser", json!({ "name": "body-parser", "version": "2.4.0" }))
        .file(
            "node_modules/body-parser/index.js",
            "var read = require('./read');\nexports.json = function () { return function (body, charset) { return charset.slice(0, 4) === 'utf-' ? read(body, charset) : 415; }; };\nexports.text = function () { return function (body, charset) { return read(body, charset); }; };\n",
        )
        .file(
            "node_modules/body-parser/read.js",
            "var getRawBody = require('raw-body');\nmodule.exports = function (body, charset) { return getRawBody(body, charset); };\n",
        )
        .manifest("node_modules/raw-body", json!({ "name": "raw-body", "version": "3.0.2" }))
        .file(
            "node_modules/raw-body/index.js",
            "var iconv = require('iconv-lite');\nmodule.exports = function (body, charset) { return iconv.decode(body, charset); };\n",
        )
        .manifest("node_modules/iconv-lite", json!({ "name": "iconv-lite", "version": "0.7.3" }))
        .file(
            "node_modules/iconv-lite/index.js",
            "var codecs = { 'utf-8': function () { return null; }, shift_jis: function () { return require('./encodings/tables/shiftjis.json'); } };\nexports.decode = function (body, charset) { var table = codecs[charset](); return table ? table[body] : body; };\n",
        )
        .file("node_modules/iconv-lite/encodings/tables/shiftjis.json", r#"{"a": "\u3042"}"#);
    fixture
}

/// iconv-lite's double-byte tables ship only when reached code can decode with them:
/// `express.json()` refuses their charsets, `express.text()` and iconv-lite itself do not.
#[test]
fn iconv_tables_ship_only_when_reached_code_can_decode_with_them() {
    let tables = "node_modules/iconv-lite/encodings/tables";
    let json_only = body_parser_fixture(
        "jsononly",
        "const express = require('express');\nconst app = express();\nconst parse = express.json();\nexports.handler = async () => [parse('a', 'utf-8'), parse('a', 'shift_jis')];\n",
    );
    let built = build_and_run(&json_only, "index.js");
    assert_eq!(shipped_under(&built, tables), Vec::<String>::new());
    let notes = built.function()["notes"].to_string();
    assert!(
        notes.contains("encodings/tables/ does not ship")
            && notes.contains("no reached code uses text of express or body-parser"),
        "{notes}"
    );
    let rules: Vec<&str> = built.function()["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|rule| rule["rule"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"trace/package-data"), "{rules:?}");

    let text = body_parser_fixture(
        "textparser",
        "const { text } = require('express');\nexports.handler = async () => text()('a', 'shift_jis');\n",
    );
    let built = build_and_run(&text, "index.js");
    assert_eq!(
        shipped_under(&built, tables),
        [format!("{tables}/shiftjis.json")]
    );
    assert!(
        built.function()["notes"]
            .to_string()
            .contains("ships: index.js:1: { text } = require('express') uses text"),
        "{}",
        built.function()["notes"]
    );

    // iconv-lite used directly, and express passed on: lamina cannot see which charsets.
    for (name, handler) in [
        (
            "direct",
            "const iconv = require('iconv-lite');\nexports.handler = async () => iconv.decode('a', 'shift_jis');\n",
        ),
        (
            "passedon",
            "const express = require('express');\nconst use = (lib) => lib.text()('a', 'shift_jis');\nexports.handler = async () => use(express);\n",
        ),
    ] {
        let fixture = body_parser_fixture(name, handler);
        let built = build_and_run(&fixture, "index.js");
        assert_eq!(
            shipped_under(&built, tables),
            [format!("{tables}/shiftjis.json")],
            "{name}"
        );
    }
}

/// A miniature moment 2.31 whose `loadLocale` is at the line `data/packages.toml`'s entry
/// cites, with three locales.
fn moment_fixture(name: &str, handler: &str) -> Fixture {
    let fixture = Fixture::new(
        name,
        json!({ "name": name, "dependencies": { "moment": "2.31.0" } }),
    );
    let mut code = "// moment\n".repeat(2292);
    code.push_str("function loadLocale(name) {\n  var aliasedRequire = require, normalizedName = String(name).toLowerCase().replace('_', '-');\n  try { aliasedRequire('./locale/' + normalizedName); } catch (e) {}\n}\n");
    code.push_str("var current = 'en';\nfunction moment(input, format, locale) { if (typeof locale === 'string') { loadLocale(locale); } return { locale: function (n) { loadLocale(n); return n; } }; }\nmoment.locale = function (n) { if (n) { n.split('-').forEach(function (_, i, parts) { loadLocale(parts.slice(0, i + 1).join('-')); }); current = n; } return current; };\nmodule.exports = moment;\n");
    fixture
        .file("index.js", handler)
        .manifest(
            "node_modules/moment",
            json!({ "name": "moment", "version": "2.31.0", "main": "./moment.js" }),
        )
        .file("node_modules/moment/moment.js", &code);
    for locale in ["fr", "fr-ca", "de"] {
        fixture.file(
            &format!("node_modules/moment/locale/{locale}.js"),
            &format!("require('../moment');\nmodule.exports = '{locale}';\n"),
        );
    }
    fixture
}

/// moment's locales ship only as the names the shipped code passes to its locale API allow:
/// literals name theirs (and their prefixes); a name lamina cannot read keeps them all.
#[test]
fn moment_locales_ship_only_for_the_literal_names_the_code_passes() {
    let locales = "node_modules/moment/locale";
    let literal = moment_fixture(
        "momentliteral",
        "const moment = require('moment');\nconst options = { 'locale': 'x' };\nexports.handler = async () => [moment.locale('fr_CA'), moment(1, 'x', true).locale(null), 'locale' in options];\n",
    );
    let built = build_and_run(&literal, "index.js");
    assert_eq!(
        shipped_under(&built, locales),
        [format!("{locales}/fr-ca.js"), format!("{locales}/fr.js")]
    );
    let notes = built.function()["notes"].to_string();
    assert!(
        notes.contains("1 script(s) of node_modules/moment/locale/ do not ship")
            && notes.contains("names only fr_CA"),
        "{notes}"
    );

    for (name, handler, why) in [
        (
            "momentvariable",
            "const moment = require('moment');\nexports.handler = async (event) => moment.locale(event.lang || 'de');\n",
            "index.js:2: moment.locale(event.lang || 'de') passes a name lamina cannot read",
        ),
        (
            "momentthird",
            "const moment = require('moment');\nconst lang = 'de';\nexports.handler = async () => moment(1, 'x', lang).locale();\n",
            "index.js:3: moment(1, 'x', lang) passes a name lamina cannot read",
        ),
        (
            "momentpassed",
            "const moment = require('moment');\nconst use = (m) => m.locale('de');\nexports.handler = async () => use(moment);\n",
            "lamina cannot follow moment or moment-timezone at index.js:1",
        ),
        (
            "momentalias",
            "const moment = require('moment');\nconst setLocale = moment.locale;\nexports.handler = async () => setLocale('de');\n",
            "index.js:2: moment.locale passes a name lamina cannot read",
        ),
        (
            "momentdestructured",
            "const { locale } = require('moment');\nexports.handler = async () => locale('de');\n",
            "index.js:1: locale passes a name lamina cannot read",
        ),
        (
            "momentapply",
            "const moment = require('moment');\nexports.handler = async () => moment.apply(null, [1, 'x', 'de']).locale();\n",
            "index.js:2: moment.apply passes a name lamina cannot read",
        ),
        (
            "momentcall",
            "const moment = require('moment');\nexports.handler = async () => moment(1).locale.call(moment(2), 'de');\n",
            "index.js:2: moment(1).locale.call passes a name lamina cannot read",
        ),
        (
            "momentkey",
            "const moment = require('moment');\nconst method = 'locale';\nexports.handler = async () => moment(1)[method]('de');\n",
            "index.js:2: 'locale' passes a name lamina cannot read",
        ),
    ] {
        let fixture = moment_fixture(name, handler);
        let built = build_and_run(&fixture, "index.js");
        assert_eq!(shipped_under(&built, locales).len(), 3, "{name}");
        let notes = built.function()["notes"].to_string();
        assert!(
            notes.contains("node_modules/moment/locale/ ships whole") && notes.contains(why),
            "{name}: {notes}"
        );
    }
}

/// Another package's computed `require("moment/locale/" + name)` may load any locale, so no
/// literal name passed to moment's API can narrow them: they all ship.
#[test]
fn a_computed_require_of_moments_locales_from_another_package_keeps_them_all() {
    let fixture = moment_fixture(
        "momentother",
        "const moment = require('moment');\nconst loader = require('loader');\nexports.handler = async (event) => [moment.locale('de'), loader.load(event.lang || 'fr')];\n",
    );
    fixture
        .manifest(
            "node_modules/loader",
            json!({ "name": "loader", "version": "1.0.0", "dependencies": { "moment": "*" } }),
        )
        .file(
            "node_modules/loader/index.js",
            "exports.load = (name) => require('moment/locale/' + name);\n",
        );
    let built = build_and_run(&fixture, "index.js");
    assert_eq!(shipped_under(&built, "node_modules/moment/locale").len(), 3);
    let notes = built.function()["notes"].to_string();
    assert!(
        notes.contains("node_modules/moment/locale/ ships whole: moment also loads by node_modules/loader/index.js:1"),
        "{notes}"
    );
}

/// A computed name that starts with a package's name and a folder in it
/// (`require("icons/set/" + name)`, in a package or in your code): the scripts of that folder
/// of the package Node resolves ship, not the package's other unreached scripts, and nothing
/// else is kept whole for it.
#[test]
fn a_computed_require_under_another_packages_folder_ships_that_folders_scripts() {
    let fixture = Fixture::new(
        "iconsets",
        json!({ "name": "iconsets", "dependencies": { "render": "1", "icons": "1", "other": "1" } }),
    );
    fixture
        .file(
            "index.js",
            "const render = require('render');\nconst flag = (name) => require(`icons/flags/${name}`);\nexports.handler = async (event) => [render(event.icon || 'star'), flag(event.flag || 'fr')];\n",
        )
        .manifest(
            "node_modules/render",
            json!({ "name": "render", "version": "1.0.0", "dependencies": { "icons": "1" } }),
        )
        .file(
            "node_modules/render/index.js",
            "module.exports = (name) => require('icons/set/' + name).svg;\n",
        )
        .file("node_modules/render/unused.js", "module.exports = 0;\n")
        .manifest("node_modules/icons", json!({ "name": "icons", "version": "1.0.0" }))
        .file("node_modules/icons/index.js", "module.exports = 'all icons';\n")
        .file(
            "node_modules/icons/set/star.js",
            "exports.svg = require('../lib/shape') + '*';\n",
        )
        .file("node_modules/icons/set/moon.json", r#"{"svg": ")"}"#)
        .file("node_modules/icons/flags/fr.js", "module.exports = 'fr';\n")
        .file("node_modules/icons/lib/shape.js", "module.exports = '<svg>';\n")
        .file("node_modules/icons/lib/unused.js", "module.exports = 0;\n")
        .file("node_modules/icons/set/readme.txt", "not code\n")
        .manifest("node_modules/other", json!({ "name": "other", "version": "1.0.0" }))
        .file("node_modules/other/index.js", "module.exports = 'other';\n");
    let built = build_and_run(&fixture, "index.js");
    assert_eq!(
        shipped_under(&built, "node_modules/icons"),
        [
            "node_modules/icons/flags/fr.js",
            "node_modules/icons/lib/shape.js",
            "node_modules/icons/package.json",
            "node_modules/icons/set/moon.json",
            "node_modules/icons/set/star.js",
        ]
    );
    assert_eq!(
        shipped_under(&built, "node_modules/render"),
        [
            "node_modules/render/index.js",
            "node_modules/render/package.json"
        ]
    );
    assert!(shipped_under(&built, "node_modules/other").is_empty());
    assert_eq!(trace_of(&built, "node_modules/icons")["mode"], "files");
    // `lamina why` says the last step was a computed name, and which.
    let output = fixture.lamina(&[
        "why",
        "--shake",
        "files",
        "node_modules/icons/set/moon.json",
        fixture.root.to_str().unwrap(),
    ]);
    let why = String::from_utf8(output.stdout).unwrap();
    assert!(
        why.contains("reached: index.js -> node_modules/render/index.js -> node_modules/icons/set/moon.json (the last step by a computed name)")
            && why.contains("by node_modules/render/index.js:1: require('icons/set/' + name): requires a computed name under node_modules/icons/set/"),
        "{why}"
    );
}

#[test]
fn esm_new_url_assets_and_require_resolve_are_followed() {
    let fixture = Fixture::new(
        "esm",
        json!({ "name": "esm", "type": "module", "dependencies": { "cfg": "1" } }),
    );
    fixture
        .file("index.mjs", "import cfg from 'cfg';\nexport const handler = async () => cfg;\n")
        .manifest("node_modules/cfg", json!({ "name": "cfg", "version": "1.0.0", "type": "module", "exports": "./main.js" }))
        .file(
            "node_modules/cfg/main.js",
            "import { readFileSync } from 'node:fs';\nimport { createRequire } from 'node:module';\nconst require = createRequire(import.meta.url);\nconst config = JSON.parse(readFileSync(new URL('./config.json', import.meta.url)));\nconst helper = require.resolve('./helper.cjs');\nexport default { ...config, helper: helper.endsWith('helper.cjs') };\n",
        )
        .file("node_modules/cfg/config.json", r#"{"answer": 42}"#)
        .file("node_modules/cfg/helper.cjs", "module.exports = 1;\n")
        .file("node_modules/cfg/spare.json", "{}");
    let built = build_and_run(&fixture, "index.mjs");
    let shipped = entries(&built);
    assert!(shipped.contains(&"node_modules/cfg/config.json".to_string()));
    assert!(shipped.contains(&"node_modules/cfg/helper.cjs".to_string()));
    assert!(!shipped.contains(&"node_modules/cfg/spare.json".to_string()));
    assert_eq!(trace_of(&built, "node_modules/cfg")["mode"], "files");
}

#[test]
fn a_barrel_of_hundreds_of_modules_and_circular_imports_are_traced() {
    let fixture = Fixture::new(
        "barrel",
        json!({ "name": "barrel", "type": "module", "dependencies": { "icons": "1" } }),
    );
    fixture
        .file("index.mjs", "import * as icons from 'icons';\nexport const handler = async () => Object.keys(icons).length;\n")
        .manifest("node_modules/icons", json!({ "name": "icons", "version": "1.0.0", "type": "module", "main": "index.js" }));
    let mut barrel = String::new();
    for i in 0..300 {
        barrel.push_str(&format!("export * from './icon{i}.js';\n"));
        fixture.file(
            &format!("node_modules/icons/icon{i}.js"),
            &format!("import './index.js';\nexport const icon{i} = {i};\n"),
        );
    }
    fixture
        .file("node_modules/icons/index.js", &barrel)
        .file("node_modules/icons/unused.js", "export const x = 1;\n");
    let built = build_and_run(&fixture, "index.mjs");
    let package = built.package("node_modules/icons");
    assert_eq!(package["trace"]["kept_files"], 302, "{package}");
    assert_eq!(package["trace"]["reached_files"], 301);
}

#[test]
fn a_computed_require_of_a_local_folder_keeps_that_folder() {
    let fixture = Fixture::new("plugins", json!({ "name": "plugins" }));
    fixture
        .file(
            "index.js",
            "exports.handler = async (event) => require('./plugins/' + (event.name || 'a'));\n",
        )
        .file("plugins/a.js", "module.exports = 'plugin a';\n")
        .file("plugins/b.js", "module.exports = 'plugin b';\n")
        .file("lib/unused.js", "module.exports = 'never loaded';\n");
    let built = build_and_run(&fixture, "index.js");
    let shipped = entries(&built);
    assert!(shipped.contains(&"plugins/b.js".to_string()));
    assert!(!shipped.contains(&"lib/unused.js".to_string()));
}

#[test]
fn a_package_reached_but_not_declared_still_ships() {
    // `a` requires `phantom` without declaring it: npm hoisting makes that work, so must we.
    let fixture = Fixture::new(
        "phantom",
        json!({ "name": "phantom", "dependencies": { "a": "1" } }),
    );
    fixture
        .file("index.js", "exports.handler = async () => require('a');\n")
        .manifest("node_modules/a", json!({ "name": "a", "version": "1.0.0" }))
        .file(
            "node_modules/a/index.js",
            "module.exports = require('phantom');\n",
        )
        .package("node_modules/phantom", "phantom", "1.0.0", &[]);
    let built = build_and_run(&fixture, "index.js");
    assert_eq!(built.package("node_modules/phantom")["status"], "kept");
}

#[test]
fn files_is_never_larger_than_deps() {
    let fixture = Fixture::new(
        "compare",
        json!({ "name": "compare", "dependencies": { "lib": "1" } }),
    );
    fixture
        .file(
            "index.js",
            "exports.handler = async () => require('lib');\n",
        )
        .package("node_modules/lib", "lib", "1.0.0", &[])
        .file(
            "node_modules/lib/big-unused.js",
            &"// padding\n".repeat(2000),
        );
    let files = fixture.build(&["--shake", "files"]);
    let files_bytes = files.function()["zipped_bytes"].as_u64().unwrap();
    let deps = fixture.build(&[]);
    assert!(files_bytes < deps.function()["zipped_bytes"].as_u64().unwrap());
    assert!(files.function()["trace_seconds"].as_f64().is_some());
}

fn phantom_fixture() -> Fixture {
    // `a` requires `phantom` without declaring it.
    let fixture = Fixture::new(
        "smoky",
        json!({ "name": "smoky", "dependencies": { "a": "1" } }),
    );
    fixture
        .file("index.js", "const a = require('a');\nexports.handler = async (event) => { if (event.fail) throw new Error('boom'); return a; };\n")
        .manifest("node_modules/a", json!({ "name": "a", "version": "1.0.0" }))
        .file("node_modules/a/index.js", "module.exports = require('phantom');\n")
        .package("node_modules/phantom", "phantom", "1.0.0", &[]);
    fixture
}

#[test]
fn an_undeclared_require_in_a_package_keeps_its_target_in_both_modes_and_smoke_passes() {
    // `a` requires `phantom` without declaring it: the literal names an installed package, so
    // `--shake deps` keeps it too (it used to drop it, and the smoke test failed).
    let fixture = phantom_fixture();
    let deps = fixture.build(&["--smoke"]);
    assert_eq!(deps.code, 0, "{}", deps.function()["smoke"]);
    let reason = deps.package("node_modules/phantom")["reason"].to_string();
    assert!(reason.contains("node_modules/a/index.js:1"), "{reason}");
    // The tracer follows the undeclared import, so the same function passes with files.
    let traced = fixture.build(&["--smoke", "--shake", "files"]);
    assert_eq!(traced.code, 0, "{}", traced.function()["smoke"]);
    assert_eq!(traced.function()["smoke"]["ok"], true);
}

#[test]
fn smoke_event_invokes_the_handler_and_fails_on_an_exception() {
    let fixture = phantom_fixture();
    fixture
        .file("ok.json", r#"{"fail": false}"#)
        .file("fail.json", r#"{"fail": true}"#);
    let ok = fixture.build(&[
        "--shake",
        "files",
        "--smoke-event",
        fixture.root.join("ok.json").to_str().unwrap(),
    ]);
    assert_eq!(ok.code, 0);
    assert_eq!(ok.function()["smoke"]["invoked"], true);
    let failed = fixture.build(&[
        "--shake",
        "files",
        "--smoke-event",
        fixture.root.join("fail.json").to_str().unwrap(),
    ]);
    // The unslimmed input throws the same: the handler's own failure, not the artifact's, so a
    // warning (inconclusive), not a failed build.
    assert_eq!(failed.code, 0);
    assert_eq!(failed.function()["smoke"]["outcome"], "inconclusive");
    assert!(
        failed.function()["smoke"]["error"]
            .as_str()
            .unwrap()
            .contains("boom")
    );
}

fn why(fixture: &Fixture, args: &[&str]) -> (i32, String) {
    let mut all = vec!["why"];
    all.extend(args);
    let output = fixture.lamina(&all);
    (
        output.status.code().unwrap(),
        String::from_utf8_lossy(&output.stdout).to_string(),
    )
}

#[test]
fn why_names_the_chain_that_keeps_or_drops_a_package() {
    let fixture = Fixture::new(
        "whyfn",
        json!({ "name": "whyfn", "dependencies": { "a": "1" }, "devDependencies": { "tool": "1" } }),
    );
    fixture
        .file("index.js", "exports.handler = async () => require('a');\n")
        .package("node_modules/a", "a", "1.0.0", &["b"])
        .package("node_modules/b", "b", "2.0.0", &[])
        .package("node_modules/tool", "tool", "1.0.0", &["helper"])
        .package("node_modules/helper", "helper", "1.0.0", &[]);
    let (code, text) = why(&fixture, &["b", "whyfn"]);
    assert_eq!(code, 0);
    assert!(text.contains("b@2.0.0 (node_modules/b): kept"), "{text}");
    assert!(
        text.contains("your dependencies -> a@1.0.0 -> b@2.0.0"),
        "{text}"
    );
    let (_, text) = why(&fixture, &["helper", "whyfn"]);
    assert!(text.contains("dropped"), "{text}");
    assert!(
        text.contains("your devDependencies -> tool@1.0.0 -> helper@1.0.0"),
        "{text}"
    );
    let (code, text) = why(&fixture, &["nothing-like-it", "whyfn"]);
    assert_eq!(code, 1);
    assert!(text.contains("no installed package by that name"), "{text}");
}

#[test]
fn why_shows_the_imports_that_reach_a_file() {
    let fixture = Fixture::new(
        "whyfile",
        json!({ "name": "whyfile", "dependencies": { "lib": "1" } }),
    );
    fixture
        .file(
            "index.js",
            "exports.handler = async () => require('lib');\n",
        )
        .manifest(
            "node_modules/lib",
            json!({ "name": "lib", "version": "1.0.0" }),
        )
        .file(
            "node_modules/lib/index.js",
            "module.exports = require('./inner/deep');\n",
        )
        .file("node_modules/lib/inner/deep.js", "module.exports = 1;\n")
        .file("node_modules/lib/inner/spare.js", "module.exports = 2;\n");
    let (_, text) = why(
        &fixture,
        &[
            "node_modules/lib/inner/deep.js",
            "whyfile",
            "--shake",
            "files",
        ],
    );
    assert!(
        text.contains("index.js -> node_modules/lib/index.js -> node_modules/lib/inner/deep.js"),
        "{text}"
    );
    let (_, text) = why(
        &fixture,
        &[
            "node_modules/lib/inner/spare.js",
            "whyfile",
            "--shake",
            "files",
        ],
    );
    assert!(text.contains("dropped (trace/unreached)"), "{text}");
}

#[test]
fn pnpm_links_resolve_from_the_real_package_folder() {
    // Node resolves `b` from a's real folder inside .pnpm; the tracer must do the same.
    let fixture = Fixture::new(
        "pnpm-traced",
        json!({ "name": "pnpm-traced", "dependencies": { "a": "1" } }),
    );
    fixture
        .file("index.js", "exports.handler = async () => require('a');\n")
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
        .file(
            "node_modules/.pnpm/b@2.0.0/node_modules/b/unused.js",
            "module.exports = 0;\n",
        )
        .link("node_modules/a", ".pnpm/a@1.0.0/node_modules/a")
        .link(
            "node_modules/.pnpm/a@1.0.0/node_modules/b",
            "../../b@2.0.0/node_modules/b",
        );
    let built = build_and_run(&fixture, "index.js");
    let shipped = entries(&built);
    assert!(
        shipped.contains(&"node_modules/.pnpm/b@2.0.0/node_modules/b/index.js".to_string()),
        "{shipped:?}"
    );
    assert!(!shipped.contains(&"node_modules/.pnpm/b@2.0.0/node_modules/b/unused.js".to_string()));
    assert_eq!(
        trace_of(&built, "node_modules/.pnpm/b@2.0.0/node_modules/b")["mode"],
        "files"
    );
}

#[test]
fn workspace_packages_copied_in_are_traced_from_their_place_in_the_artifact() {
    let fixture = Fixture::new(
        "ws-traced",
        json!({ "name": "ws-traced", "dependencies": { "@org/common": "*" } }),
    );
    fixture.file(
        "index.js",
        "exports.handler = async () => require('@org/common');\n",
    );
    // The workspace package lives beside the function, with its own installed dependency; its
    // files are copied in, and their imports resolve from their new place in the artifact.
    // A monorepo root naming its workspaces: the project boundary the link stays inside.
    crate::harness::write_file(
        &fixture.base.join("package.json"),
        r#"{"private":true,"workspaces":["packages/*"]}"#,
    );
    let common = fixture.base.join("packages/common");
    crate::harness::write_file(
        &common.join("package.json"),
        r#"{"name":"@org/common","version":"0.1.0","dependencies":{"dep":"1"}}"#,
    );
    crate::harness::write_file(
        &common.join("index.js"),
        "module.exports = ['common', require('dep')];\n",
    );
    crate::harness::write_file(
        &common.join("spare.js"),
        "module.exports = 'never loaded';\n",
    );
    crate::harness::write_file(
        &common.join("node_modules/dep/package.json"),
        r#"{"name":"dep","version":"1.0.0"}"#,
    );
    crate::harness::write_file(
        &common.join("node_modules/dep/index.js"),
        "module.exports = 'dep@1.0.0';\n",
    );
    fixture.link("node_modules/@org/common", "../../../packages/common");
    let built = build_and_run(&fixture, "index.js");
    let shipped = entries(&built);
    assert!(shipped.contains(&"node_modules/@org/common/index.js".to_string()));
    assert!(
        shipped.contains(&"node_modules/@org/common/node_modules/dep/index.js".to_string()),
        "{shipped:?}"
    );
    assert!(!shipped.contains(&"node_modules/@org/common/spare.js".to_string()));
}
