//! End-to-end: real npm apps (testdata/apps) must answer the same before and after `lamina build`.

use std::path::{Path, PathBuf};
use std::process::Command;

use fs_err as fs;

use crate::install::{self, listing, show, total_file_bytes};

pub(crate) fn apps_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/apps")
}

/// Copies `testdata/apps/<name>` into the cache and installs its lockfile there, once per content
/// (see `install::installed`). The cache lives outside the repo so node never finds the repo's
/// files.
pub(crate) fn installed_app(name: &str) -> PathBuf {
    npm_installed(&apps_dir().join(name), name)
}

/// Copies the npm app at `app` into the cache as `name` and runs `npm ci --ignore-scripts` there,
/// once per content. Returns the installed app folder.
pub fn npm_installed(app: &Path, name: &str) -> PathBuf {
    let npm_ci = |work: &Path| {
        install::require_tool("node", "Node.js and npm");
        install::require_tool("npm", "Node.js and npm");
        let out = Command::new("npm")
            .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund"])
            .current_dir(work)
            .output()
            .expect("run npm ci");
        assert!(
            out.status.success(),
            "npm ci failed for {name}:\n{}",
            show(&out)
        );
    };
    let cache = install::cache_root("lamina-e2e");
    install::installed(&cache, name, app, "node_modules", "", npm_ci)
}

/// Node looks for packages in every ancestor's node_modules: one there would hide a package
/// the artifact lacks, and the test would pass for the wrong reason.
pub fn assert_no_ancestor_node_modules(dir: &Path) {
    for ancestor in dir.ancestors().skip(1) {
        let nm = ancestor.join("node_modules");
        assert!(
            !nm.exists(),
            "{} would mask missing packages; remove it",
            nm.display()
        );
    }
}

/// Invokes `index.handler` from `dir` with the app's event and returns what it printed; with
/// `opened`, the run also writes there every file it loaded or read
/// (`testdata/apps/record-opened.cjs`).
fn run_handler(dir: &Path, app: &str, opened: Option<&Path>) -> String {
    assert_no_ancestor_node_modules(dir);
    let mut command = Command::new("node");
    command
        .arg(apps_dir().join("run-handler.mjs"))
        .arg(dir)
        .arg("index.handler")
        .arg(apps_dir().join(app).join("event.json"));
    if let Some(opened) = opened {
        command.env("LAMINA_E2E_OPENED", opened);
    }
    let out = command.output().expect("run node");
    install::handler_output(&out, app, dir)
}

/// Runs `lamina build <input> --out <out> --json ARGS`, checks the report and returns the zip path.
fn lamina_build(input: &Path, out: &Path, name: &str, args: &[&str]) -> PathBuf {
    let before = listing(input);
    let run = crate::harness::lamina_command()
        .arg("build")
        .arg(input)
        .arg("--out")
        .arg(out)
        .arg("--json")
        .args(args)
        .current_dir(out.parent().unwrap())
        .output()
        .expect("run lamina");
    assert_eq!(
        run.status.code(),
        Some(0),
        "lamina build {name}:\n{}",
        show(&run)
    );
    assert!(
        before == listing(input),
        "lamina build modified its input {}",
        input.display()
    );

    let report: serde_json::Value = serde_json::from_slice(&run.stdout)
        .unwrap_or_else(|e| panic!("report is not JSON ({e}):\n{}", show(&run)));
    assert_eq!(report["ok"], true, "report not ok:\n{report:#}");
    let artifact = report["functions"][0]["artifact"]
        .as_str()
        .unwrap_or_else(|| panic!("no functions[0].artifact:\n{report:#}"));
    let zip = out.join(format!("{name}.zip"));
    // The report may name the zip relative to the working directory.
    let artifact = out.parent().unwrap().join(artifact);
    assert_eq!(
        artifact.canonicalize().unwrap(),
        zip.canonicalize().unwrap(),
        "the report's artifact is not {}",
        zip.display()
    );
    zip
}

/// The entries of the installed app's `--shake files` zip under `folder/` (paths inside it).
fn traced_entries_under(app: &str, folder: &str) -> Vec<String> {
    let input = installed_app(app);
    let tmp = tempfile::tempdir().unwrap();
    let zip = lamina_build(&input, &tmp.path().join("out"), app, &["--shake", "files"]);
    let listing = Command::new("unzip").arg("-Z1").arg(&zip).output().unwrap();
    String::from_utf8(listing.stdout)
        .unwrap()
        .lines()
        .filter_map(|path| path.strip_prefix(&format!("{folder}/")))
        .map(str::to_string)
        .collect()
}

/// Dev tools are devDependencies of the apps: no artifact may carry them, unless the app
/// depends on one at run time (ts-check type-checks with TypeScript).
const DEV_TOOLS: [&str; 2] = ["jest", "typescript"];

/// Files of the function each app's unslimmed run must record: each is loaded or read in
/// another way (a computed require, `fs.readFileSync` of a font or a `.wasm`, an ES module only
/// the `import` condition reaches, a template read by ejs, `process.dlopen`), so an empty or
/// partial record from `record-opened.cjs` fails here rather than passing the check below.
const MUST_RECORD: &[(&str, &[&str])] = &[
    (
        "express-api",
        &["index.js", "node_modules/moment/locale/fr.js"],
    ),
    (
        "dynamo-esm",
        &["index.mjs", "node_modules/uuid/wrapper.mjs"],
    ),
    ("figlet-banner", &["node_modules/figlet/fonts/Ghost.flf"]),
    (
        "native-wasm",
        &[
            "node_modules/sql.js/dist/sql-wasm.wasm",
            #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
            "node_modules/@node-rs/xxhash-linux-x64-gnu/xxhash.linux-x64-gnu.node",
        ],
    ),
    (
        "express-views",
        &[
            "views/invoice.ejs",
            "views/partials/header.ejs",
            "node_modules/ejs/lib/ejs.js",
            "node_modules/moment/locale/fr.js",
        ],
    ),
    ("sqljs-report", &["node_modules/sql.js/dist/sql-wasm.wasm"]),
    (
        "digest-timezones",
        &[
            "node_modules/moment/locale/de.js",
            "node_modules/moment-timezone/data/packed/latest.json",
        ],
    ),
    ("pg-bluebird", &["node_modules/bluebird/js/release/map.js"]),
    (
        "ts-check",
        &[
            "rules/api.d.ts",
            "node_modules/typescript/lib/lib.es2022.d.ts",
            "node_modules/typescript/lib/lib.es5.d.ts",
        ],
    ),
    (
        "sdk-v2-orders",
        &[
            "node_modules/aws-sdk/apis/s3-2006-03-01.min.json",
            "node_modules/aws-sdk/apis/dynamodb-2012-08-10.min.json",
            "node_modules/aws-sdk/apis/sqs-2012-11-05.min.json",
        ],
    ),
];

/// Files the unslimmed run loads or reads that `--shake files` does not ship, by app: known
/// misses of the Node tracer (issue 15), each listed so the check still fails on any new one,
/// and on a listed one that ships again (then remove it here).
const KNOWN_MISSING_WITH_SHAKE_FILES: &[(&str, &[&str])] = &[];

/// Runs the handler of the unslimmed app, recording what it loads and reads: checks that the
/// record has what `MUST_RECORD` lists, and returns the answer and the record's path (in `tmp`).
fn run_unslimmed_recording(input: &Path, name: &str, tmp: &Path) -> (String, PathBuf) {
    let opened = tmp.join("opened.txt");
    let answer = run_handler(input, name, Some(&opened));
    let root = input.canonicalize().unwrap();
    let recorded: Vec<PathBuf> = fs::read_to_string(&opened)
        .unwrap()
        .lines()
        .filter_map(|line| Some(Path::new(line).strip_prefix(&root).ok()?.to_path_buf()))
        .collect();
    let must = MUST_RECORD
        .iter()
        .find(|(app, _)| *app == name)
        .map_or(&[][..], |(_, files)| files);
    assert!(!must.is_empty(), "{name}: add it to MUST_RECORD");
    for file in must {
        assert!(
            recorded.iter().any(|path| path == Path::new(file)),
            "{name}: the unslimmed run did not record {file}; it recorded {recorded:?}"
        );
    }
    (answer, opened)
}

/// Builds the installed app (with `args`), runs the handler from the extracted zip, and
/// compares with the unslimmed run; `unused` lists root dependencies the handler never
/// imports. With `--shake files`, every file of the function the unslimmed run loaded or read
/// must ship (but those `KNOWN_MISSING_WITH_SHAKE_FILES` lists). Returns the zip's size.
pub(crate) fn slimmed_app_answers_the_same(name: &str, unused: &[&str], args: &[&str]) -> u64 {
    let input = installed_app(name);
    let tmp = tempfile::tempdir().unwrap();
    let (expected, opened) = run_unslimmed_recording(&input, name, tmp.path());

    let zip = lamina_build(&input, &tmp.path().join("out"), name, args);
    let task = tmp.path().join("task");
    // Info-ZIP restores symlinks (e.g. node_modules/.bin), as Lambda does.
    let unzip = Command::new("unzip")
        .arg("-q")
        .arg(&zip)
        .arg("-d")
        .arg(&task)
        .output()
        .expect("the e2e tests need Info-ZIP `unzip` on PATH");
    assert!(
        unzip.status.success(),
        "unzip {}:\n{}",
        zip.display(),
        show(&unzip)
    );

    let actual = run_handler(&task, name, None);
    assert!(
        expected == actual,
        "{name} answers differently after slimming\n--- unslimmed\n{expected}--- from the zip\n{actual}"
    );
    // Only the tracer promises the file-level invariant; `--shake deps` ships whole packages.
    if args.windows(2).any(|pair| pair == ["--shake", "files"]) {
        let missing = install::opened_but_missing(&opened, &input, &task, None);
        let known = KNOWN_MISSING_WITH_SHAKE_FILES
            .iter()
            .find(|(app, _)| *app == name)
            .map_or(&[][..], |(_, files)| files);
        assert_eq!(
            missing, known,
            "{name}: the files the handler loaded or read that do not ship with --shake files \
             (left) are not the known ones (right)"
        );
    }

    let zipped = fs::metadata(&zip).unwrap().len();
    let installed = total_file_bytes(&input);
    assert!(
        zipped < installed,
        "{name}: zip of {zipped} bytes is not smaller than {installed}"
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(input.join("package.json")).unwrap()).unwrap();
    let production = |package: &str| manifest["dependencies"].get(package).is_some();
    let dev_tools = DEV_TOOLS.iter().filter(|tool| !production(tool));
    for package in unused.iter().chain(dev_tools) {
        let path = task.join("node_modules").join(package);
        assert!(
            !path.exists(),
            "{name}: {package} should have been dropped from the artifact"
        );
    }
    zipped
}

/// `--shake files` must answer the same and never ship more than `--shake deps`.
fn traced_app_answers_the_same(name: &str, unused: &[&str]) {
    let deps = slimmed_app_answers_the_same(name, unused, &[]);
    let files = slimmed_app_answers_the_same(name, unused, &["--shake", "files"]);
    assert!(
        files <= deps,
        "{name}: --shake files zip ({files} bytes) is larger than --shake deps ({deps})"
    );
}

#[test]
fn express_api_runs_the_same_slimmed() {
    slimmed_app_answers_the_same("express-api", &["lodash"], &[]);
}

#[test]
fn express_api_runs_the_same_traced() {
    traced_app_answers_the_same("express-api", &["lodash"]);
}

#[test]
fn dynamo_esm_runs_the_same_traced() {
    traced_app_answers_the_same("dynamo-esm", &[]);
}

#[test]
fn figlet_banner_runs_the_same_traced() {
    traced_app_answers_the_same("figlet-banner", &[]);
}

#[test]
fn dynamo_esm_runs_the_same_slimmed() {
    slimmed_app_answers_the_same("dynamo-esm", &[], &[]);
}

#[test]
fn figlet_banner_runs_the_same_slimmed() {
    slimmed_app_answers_the_same("figlet-banner", &[], &[]);
}

#[test]
fn native_and_wasm_packages_run_the_same_traced() {
    // sql.js finds its .wasm through __dirname; @node-rs/xxhash loads this platform's .node
    // from an optional package: both must be kept whole by the tracer.
    traced_app_answers_the_same("native-wasm", &[]);
}

#[test]
fn express_views_runs_the_same_traced() {
    // express finds the view engine by `require(mod)` (lib/view.js), ejs reads the views from
    // the function's own folder, moment's locale comes from a literal require and
    // `moment.locale("fr")`, so of moment's locales only fr ships; the app parses no request
    // body in another charset, so none of iconv-lite's double-byte tables ships.
    traced_app_answers_the_same("express-views", &[]);
    assert_eq!(
        traced_entries_under("express-views", "node_modules/moment/locale"),
        ["fr.js"]
    );
    let tables = traced_entries_under("express-views", "node_modules/iconv-lite/encodings/tables");
    assert!(tables.is_empty(), "{tables:?}");
}

#[test]
fn digest_timezones_runs_the_same_slimmed() {
    slimmed_app_answers_the_same("digest-timezones", &[], &[]);
}

/// moment 2.30 loads `locale/de.js` for `moment.locale("de")` by a computed require; the code
/// that ships names no other locale, so none other ships.
#[test]
fn digest_timezones_runs_the_same_traced_with_only_its_locale() {
    traced_app_answers_the_same("digest-timezones", &[]);
    assert_eq!(
        traced_entries_under("digest-timezones", "node_modules/moment/locale"),
        ["de.js"]
    );
}

/// TypeScript type-checks against its default libraries, which it reads next to
/// `typescript.js`: the `.d.ts` junk rule must not drop them in any mode (a reviewed entry
/// says TypeScript reads them). Traced, its CLI (`tsc.js`), which only a computed `require` of
/// plugins could have named, does not ship.
#[test]
fn ts_check_runs_the_same_with_typescripts_default_libraries() {
    traced_app_answers_the_same("ts-check", &[]);
    let lib = traced_entries_under("ts-check", "node_modules/typescript/lib");
    for file in [
        "lib.d.ts",
        "lib.es5.d.ts",
        "lib.es2022.d.ts",
        "typescript.js",
    ] {
        assert!(lib.iter().any(|name| name == file), "{file}: {lib:?}");
    }
    assert!(!lib.iter().any(|name| name == "tsc.js"), "{lib:?}");
}

#[test]
fn sqljs_report_runs_the_same_traced() {
    // sql.js's .wasm through `locateFile`, date-fns's index and locales, fastify's tree.
    traced_app_answers_the_same("sqljs-report", &[]);
}

#[test]
fn pg_bluebird_runs_the_same_traced() {
    // pg's lazy `native` getter and pg-cloudflare's export conditions; bluebird's internals.
    traced_app_answers_the_same("pg-bluebird", &[]);
}

/// The AWS SDK v2 ships whole in deps mode; traced, only the models of the clients the code
/// names (S3, DynamoDB through the DocumentClient, SQS) and the SDK's own ship.
#[test]
fn sdk_v2_orders_runs_the_same_traced_with_only_its_services_models() {
    traced_app_answers_the_same("sdk-v2-orders", &[]);
    let models = traced_entries_under("sdk-v2-orders", "node_modules/aws-sdk/apis");
    for shipped in [
        "s3-2006-03-01.min.json",
        "dynamodb-2012-08-10.min.json",
        "sqs-2012-11-05.min.json",
        "sts-2011-06-15.min.json",
        "metadata.json",
    ] {
        assert!(
            models.iter().any(|model| model == shipped),
            "{shipped}: {models:?}"
        );
    }
    for dropped in [
        "ec2-2016-11-15.min.json",
        "sagemaker-2017-07-24.min.json",
        "iot-2015-05-28.min.json",
    ] {
        assert!(
            !models.iter().any(|model| model == dropped),
            "{dropped} ships"
        );
    }
    // Of the SDK's ~400 services, a few dozen model files ship.
    assert!(models.len() < 80, "{} model files ship", models.len());
}

#[test]
fn building_twice_gives_identical_zips() {
    // invariant: same-bytes
    let input = installed_app("figlet-banner");
    let tmp = tempfile::tempdir().unwrap();
    let mut zips = Vec::new();
    for run in ["first", "second"] {
        let out = tmp.path().join(run).join("out");
        fs::create_dir_all(out.parent().unwrap()).unwrap();
        zips.push(fs::read(lamina_build(&input, &out, "figlet-banner", &[])).unwrap());
    }
    assert!(
        zips[0] == zips[1],
        "two builds of the same input wrote different zips"
    );
}
