//! `lamina build --layers auto` through the binary on fixture monorepos: layer zips named by
//! content under OUT/layers/, the function zips without what moved, `--smoke` loading each
//! handler with its layers in /opt, and the Markdown report.

use serde_json::Value;

use crate::harness::Fixture;
use crate::install::show;

/// Two Node functions: both keep `shared@1.0.0` (identical) and `twin@1.0.0` (same version,
/// different content); `one` also keeps `solo`.
pub(crate) fn monorepo() -> Fixture {
    let fixture = Fixture::empty("mono");
    fixture.file(
        "lamina.toml",
        "[defaults]\nruntime = \"nodejs20.x\"\nhandler = \"index.handler\"\n\n[[function]]\nname = \"one\"\npath = \"one\"\n\n[[function]]\nname = \"two\"\npath = \"two\"\n",
    );
    for name in ["one", "two"] {
        let mut dependencies = vec!["shared", "twin"];
        if name == "one" {
            dependencies.push("solo");
        }
        let requires: Vec<String> = dependencies
            .iter()
            .map(|d| format!("require('{d}')"))
            .collect();
        fixture.file(
            &format!("{name}/package.json"),
            &serde_json::json!({
                "name": name,
                "version": "1.0.0",
                "dependencies": dependencies.iter().map(|d| (d.to_string(), Value::from("1.0.0"))).collect::<serde_json::Map<_, _>>(),
            })
            .to_string(),
        );
        fixture.file(
            &format!("{name}/index.js"),
            &format!(
                "const parts = [{}];\nexports.handler = async () => parts;\n",
                requires.join(", ")
            ),
        );
        fixture.package(
            &format!("{name}/node_modules/shared"),
            "shared",
            "1.0.0",
            &[],
        );
        fixture.package(&format!("{name}/node_modules/twin"), "twin", "1.0.0", &[]);
        fixture.file(
            &format!("{name}/node_modules/twin/patched.js"),
            &format!("// patched for {name}\n"),
        );
        if name == "one" {
            fixture.package("one/node_modules/solo", "solo", "1.0.0", &[]);
        }
    }
    fixture
}

fn lamina(fixture: &Fixture, args: &[&str]) -> std::process::Output {
    crate::harness::lamina_command()
        .arg("build")
        .arg(&fixture.root)
        .arg("--out")
        .arg(fixture.base.join("out"))
        .arg("--no-cache")
        .args(args)
        .output()
        .unwrap()
}

fn entries(zip: &std::path::Path) -> Vec<String> {
    let archive = zip::ZipArchive::new(fs_err::File::open(zip).unwrap()).unwrap();
    archive
        .file_names()
        .map(|name| name.unwrap().to_string())
        .collect()
}

#[test]
fn identical_packages_move_to_a_content_named_layer_and_the_handlers_still_load() {
    let fixture = monorepo();
    let run = lamina(&fixture, &["--json", "--smoke"]);
    assert_eq!(run.status.code(), Some(0), "{}", show(&run));
    let report: Value = serde_json::from_slice(&run.stdout).unwrap();
    let layers = report["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1, "{layers:#?}");
    let layer = &layers[0];
    assert_eq!(
        layer["packages"],
        serde_json::json!(["shared@1.0.0"]),
        "twin differs, solo is one function's"
    );
    assert_eq!(layer["functions"], serde_json::json!(["one", "two"]));
    let name = layer["name"].as_str().unwrap();
    assert!(
        name.starts_with("nodejs20.x-x86_64-") && name.len() == "nodejs20.x-x86_64-".len() + 12
    );
    let layer_zip = fixture.base.join("out/layers").join(format!("{name}.zip"));
    let mut listed = entries(&layer_zip);
    listed.sort();
    assert_eq!(
        listed,
        [
            "nodejs/node_modules/shared/index.js",
            "nodejs/node_modules/shared/package.json"
        ]
    );
    for function in report["functions"].as_array().unwrap() {
        assert_eq!(function["layers"], serde_json::json!([name]));
        assert_eq!(function["smoke"]["ok"], true, "{function:#}");
        let zip = std::path::Path::new(function["artifact"].as_str().unwrap());
        let files = entries(zip);
        assert!(
            !files.iter().any(|f| f.starts_with("node_modules/shared/")),
            "{files:?}"
        );
        assert!(files.iter().any(|f| f == "node_modules/twin/patched.js"));
        let status = function["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|package| package["name"] == "shared")
            .unwrap()["status"]
            .clone();
        assert_eq!(status, "layer");
        let total = function["total_unzipped_bytes"].as_u64().unwrap();
        assert_eq!(
            total,
            function["unzipped_bytes"].as_u64().unwrap()
                + layer["unzipped_bytes"].as_u64().unwrap()
        );
    }

    // An unchanged rebuild keeps the layer's name and bytes: nothing to republish. (Written
    // again, not left in place.)
    let before = fs_err::read(&layer_zip).unwrap();
    fs_err::remove_file(&layer_zip).unwrap();
    let again = lamina(&fixture, &["--json"]);
    assert_eq!(again.status.code(), Some(0), "{}", show(&again));
    let again: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(again["layers"][0]["name"], layer["name"]);
    assert_eq!(again["layers"][0]["artifact"], layer["artifact"]);
    assert_eq!(fs_err::read(&layer_zip).unwrap(), before);
}

#[test]
fn layers_none_ships_every_function_whole() {
    let fixture = monorepo();
    let run = lamina(&fixture, &["--json", "--layers", "none"]);
    assert_eq!(run.status.code(), Some(0), "{}", show(&run));
    let report: Value = serde_json::from_slice(&run.stdout).unwrap();
    assert!(report["layers"].as_array().unwrap().is_empty());
    assert!(!fixture.base.join("out/layers").exists());
}

#[test]
fn the_markdown_report_tabulates_functions_and_layers() {
    let fixture = monorepo();
    let run = lamina(&fixture, &["--format", "markdown"]);
    assert_eq!(run.status.code(), Some(0), "{}", show(&run));
    let text = String::from_utf8(run.stdout).unwrap();
    assert!(text.starts_with("## lamina build: ok"), "{text}");
    assert!(text.contains(
        "| function | runtime | arch | zipped | unzipped | with layers | layers | limits |"
    ));
    assert!(text.contains("| one | nodejs20.x | x86_64 |"), "{text}");
    assert!(text.contains("| layer | zipped | unzipped | saved | packages | functions |"));
    assert!(text.contains("| shared@1.0.0 | one, two |"), "{text}");
}

/// `lamina build --json` of the fixture into its `out` with its own cache: the report.
fn cached_build(fixture: &Fixture) -> Value {
    let output = crate::harness::lamina_command()
        .arg("build")
        .arg(&fixture.root)
        .arg("--out")
        .arg(fixture.base.join("out"))
        .arg("--json")
        .env("LAMINA_CACHE_DIR", fixture.base.join("cache"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", show(&output));
    serde_json::from_slice::<Value>(&output.stdout).unwrap()
}

/// Layer planning remembers digests too (with the cache): a change that keeps a file's size and
/// mtime must still split a package that is no longer identical across functions.
#[test]
fn remembered_digests_never_merge_packages_that_changed() {
    let fixture = monorepo();
    let build = || cached_build(&fixture);
    // Files that changed in the last two seconds are never remembered: let them settle.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    assert_eq!(build()["layers"].as_array().unwrap().len(), 1);
    assert_eq!(build()["layers"].as_array().unwrap().len(), 1);
    // `two`'s copy of shared changes; size and modification time stay.
    let path = "two/node_modules/shared/index.js";
    let contents = fs_err::read_to_string(fixture.root.join(path)).unwrap();
    let changed = contents.replace("shared@1.0.0", "shared@1.0.1");
    assert_eq!((changed.len(), changed != contents), (contents.len(), true));
    fixture.rewrite_keeping_mtime(path, &changed);
    let report = build();
    assert_eq!(report["layers"], serde_json::json!([]), "{report:#}");
}

#[test]
fn an_unchanged_rebuild_leaves_each_zip_in_place_and_a_change_rewrites_only_its_zip() {
    use std::os::unix::fs::MetadataExt;
    let fixture = monorepo();
    let build = || cached_build(&fixture);
    // Every zip's path in the report, with its inode.
    let zips = |report: &Value| -> Vec<(String, u64)> {
        report["functions"]
            .as_array()
            .unwrap()
            .iter()
            .chain(report["layers"].as_array().unwrap())
            .map(|zip| {
                let path = zip["artifact"].as_str().unwrap().to_string();
                let inode = fs_err::metadata(&path).unwrap().ino();
                (path, inode)
            })
            .collect()
    };
    // Whether each zip (functions, then layers) was left in place.
    let in_place = |report: &Value| -> Vec<bool> {
        report["functions"]
            .as_array()
            .unwrap()
            .iter()
            .chain(report["layers"].as_array().unwrap())
            .map(|zip| zip["packaging"]["left_in_place"].as_bool().unwrap())
            .collect()
    };
    // The layers as reported, but for how they were written.
    let layers = |report: &Value| -> Value {
        let mut layers = report["layers"].clone();
        for layer in layers.as_array_mut().unwrap() {
            layer.as_object_mut().unwrap().remove("packaging");
        }
        layers
    };
    let cold = build();
    let before = zips(&cold);
    assert_eq!(cold["layers"].as_array().unwrap().len(), 1);
    assert_eq!(in_place(&cold), [false, false, false]);
    let warm = build();
    assert_eq!(in_place(&warm), [true, true, true]);
    assert_eq!(zips(&warm), before, "the layer too is left in place");
    assert_eq!(layers(&warm), layers(&cold));
    // `two`'s own copy of twin changes: only `two`'s zip is written again.
    fixture.file("two/node_modules/twin/patched.js", "// patched again\n");
    let changed = build();
    assert_eq!(in_place(&changed), [true, false, true]);
    let after = zips(&changed);
    assert_eq!((&after[0], &after[2]), (&before[0], &before[2]));
    assert_eq!(after[1].0, before[1].0);
    assert_ne!(after[1].1, before[1].1, "two.zip written anew");
    assert_ne!(
        changed["functions"][1]["sha256"],
        cold["functions"][1]["sha256"]
    );
}

/// The text report counts layers as layers, not bytes (issue 12, what the user reads).
#[test]
fn the_text_report_counts_layers_as_layers() {
    let fixture = monorepo();
    let run = lamina(&fixture, &[]);
    assert_eq!(run.status.code(), Some(0), "{}", show(&run));
    let text = String::from_utf8_lossy(&run.stdout);
    let line = text
        .lines()
        .find(|line| line.trim_start().starts_with("layers ") && line.contains(" of "))
        .unwrap_or_else(|| panic!("no layers limit in:\n{text}"));
    assert!(
        line.contains("1 of") && line.trim_end().ends_with("ok") && !line.contains(" B"),
        "{line}"
    );
}
