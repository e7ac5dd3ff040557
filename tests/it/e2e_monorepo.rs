//! End-to-end monorepo (testdata/monorepo): two Node and two Python functions that keep the
//! same real packages and the monorepo's own shared code. Built with and without layers; each
//! handler runs from its unzipped function with the unzipped layers in `opt/`, searched after
//! the function as Lambda does, and must answer as it does unslimmed; layers must lower the
//! bytes deployed.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::install::{self, show};

fn source() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/monorepo")
}

const NODE: [&str; 2] = ["node-greet", "node-slug"];
const PYTHON: [&str; 2] = ["py-fetch", "py-parse"];

fn python_version() -> String {
    let out = Command::new("python3")
        .args(["-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
        .output()
        .expect("run python3");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// The monorepo installed once per content into the e2e cache: `npm ci` in each Node
/// function (which links `shared-node` in), `pip install --target package` of the pinned
/// wheels and of `shared-py` in each Python function.
pub(crate) fn installed() -> PathBuf {
    install::require_tool("npm", "Node.js and npm");
    install::require_tool("python3", "Python 3 with pip");
    let version = python_version();
    let salt =
        format!("npm ci; pip --target package --python-version {version} manylinux2014_x86_64");
    install::installed(
        &install::cache_root("lamina-e2e"),
        "monorepo",
        &source(),
        "node_modules",
        &salt,
        |work| {
            for name in NODE {
                let out = Command::new("npm")
                    .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund"])
                    .current_dir(work.join(name))
                    .output()
                    .expect("run npm ci");
                assert!(out.status.success(), "npm ci in {name}:\n{}", show(&out));
            }
            for name in PYTHON {
                let pip = |args: &[&str]| {
                    let out = Command::new("python3")
                        .args([
                            "-m",
                            "pip",
                            "install",
                            "--quiet",
                            "--disable-pip-version-check",
                        ])
                        .args(["--target", "package", "--no-deps"])
                        .args(args)
                        .current_dir(work.join(name))
                        .output()
                        .expect("run pip");
                    assert!(out.status.success(), "pip in {name}:\n{}", show(&out));
                };
                pip(&[
                    "--only-binary=:all:",
                    "--platform",
                    "manylinux2014_x86_64",
                    "--implementation",
                    "cp",
                    "--python-version",
                    &version,
                    "-r",
                    "requirements.txt",
                ]);
                pip(&["../shared-py"]);
            }
        },
    )
}

fn build(input: &Path, out: &Path, layers: &str) -> Value {
    let run = crate::harness::lamina_command()
        .arg("build")
        .arg(input)
        .arg("--out")
        .arg(out)
        .args(["--json", "--no-cache", "--layers", layers])
        .output()
        .expect("run lamina");
    assert_eq!(
        run.status.code(),
        Some(0),
        "lamina build --layers {layers}:\n{}",
        show(&run)
    );
    serde_json::from_slice(&run.stdout).unwrap()
}

fn unzip(zip: &Path, into: &Path) {
    let file = fs_err::File::open(zip).unwrap();
    zip::ZipArchive::new(file).unwrap().extract(into).unwrap();
}

fn run_node(dir: &Path, event: &Path, opt: Option<&Path>) -> String {
    let mut command = Command::new("node");
    command
        .arg(source().parent().unwrap().join("apps/run-handler.mjs"))
        .arg(dir)
        .arg("index.handler")
        .arg(event);
    // Lambda's NODE_PATH: the layers' folders (the function's own node_modules come first by
    // Node's lookup from the handler's folder).
    let node_path = opt.map_or_else(String::new, |opt| {
        format!(
            "{}:{}",
            opt.join("nodejs/node_modules").display(),
            opt.join("nodejs/node20/node_modules").display()
        )
    });
    // Unslimmed, `shared-node` is npm's link to ../shared-node, which has no node_modules of
    // its own: Node finds its `ms` only when it resolves from the link's path, as it does in
    // the artifact, where lamina copies the linked package in.
    if opt.is_none() {
        command.env("NODE_PRESERVE_SYMLINKS", "1");
    }
    let out = command.env("NODE_PATH", node_path).output().unwrap();
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    assert!(
        out.status.success() && !stdout.starts_with("ERROR"),
        "{}: {}",
        dir.display(),
        show(&out)
    );
    stdout
}

fn run_python(dir: &Path, event: &Path, extra: &[PathBuf]) -> String {
    let out = Command::new("python3")
        .args(["-S", "-B"])
        .arg(source().parent().unwrap().join("py-apps/run_handler.py"))
        .arg(dir)
        .arg("lambda_function.lambda_handler")
        .arg(event)
        .args(extra)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    assert!(
        out.status.success() && !stdout.starts_with("ERROR"),
        "{}: {}",
        dir.display(),
        show(&out)
    );
    stdout
}

#[test]
fn shared_layers_keep_every_answer_and_lower_the_bytes_deployed() {
    let input = installed();
    let temp = tempfile::tempdir().unwrap();
    let without = build(&input, &temp.path().join("without"), "none");
    let with = build(&input, &temp.path().join("with"), "auto");
    assert!(without["layers"].as_array().unwrap().is_empty());

    let layers = with["layers"].as_array().unwrap();
    assert!(layers.len() >= 2, "a Node and a Python layer: {layers:#?}");
    let all_packages: Vec<&str> = layers
        .iter()
        .flat_map(|layer| layer["packages"].as_array().unwrap())
        .map(|package| package.as_str().unwrap())
        .collect();
    for shared in [
        "lodash@4.17.21",
        "ms@2.1.3",
        "shared-node@1.0.0",
        "idna@3.10",
        "urllib3@2.2.3",
        "shared-py@1.0.0",
    ] {
        assert!(
            all_packages.contains(&shared),
            "{shared} is not in a layer: {all_packages:?}"
        );
    }
    for private in ["uuid@9.0.1", "requests@2.32.3", "six@1.16.0"] {
        assert!(
            !all_packages.contains(&private),
            "{private} is kept by one function only"
        );
    }
    let opt = temp.path().join("opt");
    for layer in layers {
        let name = layer["name"].as_str().unwrap();
        let artifact = PathBuf::from(layer["artifact"].as_str().unwrap());
        assert_eq!(
            artifact.file_name().unwrap().to_str().unwrap(),
            format!("{name}.zip")
        );
        assert!(artifact.starts_with(temp.path().join("with/layers")));
        unzip(&artifact, &opt.join(name));
    }

    let deployed = |report: &Value| report["deployed_bytes"].as_u64().unwrap();
    let mut summary = format!(
        "deployed bytes: {} without layers, {} with layers\n",
        deployed(&without),
        deployed(&with)
    );
    assert!(deployed(&with) < deployed(&without), "{summary}");
    for layer in layers {
        summary += &format!(
            "layer {} {} zipped, {} unzipped: {} for {}\n",
            layer["name"],
            layer["zipped_bytes"],
            layer["unzipped_bytes"],
            layer["packages"],
            layer["functions"]
        );
    }

    for (index, function) in with["functions"].as_array().unwrap().iter().enumerate() {
        let name = function["name"].as_str().unwrap();
        let total = function["total_unzipped_bytes"].as_u64().unwrap();
        summary += &format!("{name}: {total} of 262144000 unzipped with its layers\n");
        assert!(
            function["limits"]
                .as_array()
                .unwrap()
                .iter()
                .all(|limit| limit["ok"] == true)
        );
        let unslimmed = input.join(name);
        let event = unslimmed.join("event.json");
        let task = temp.path().join("task").join(name);
        unzip(Path::new(function["artifact"].as_str().unwrap()), &task);
        // Every layer this function attaches, unpacked in attach order into its own /opt.
        let function_opt = temp.path().join("opt-of").join(name);
        for layer in function["layers"].as_array().unwrap() {
            let layer = layers.iter().find(|l| l["name"] == *layer).unwrap();
            unzip(
                Path::new(layer["artifact"].as_str().unwrap()),
                &function_opt,
            );
        }
        assert!(
            !function["layers"].as_array().unwrap().is_empty(),
            "{name} attaches no layer"
        );
        let (before, after) = if index < 2 || NODE.contains(&name) {
            (
                run_node(&unslimmed, &event, None),
                run_node(&task, &event, Some(&function_opt)),
            )
        } else {
            let version = python_version();
            (
                run_python(&unslimmed, &event, &[unslimmed.join("package")]),
                run_python(
                    &task,
                    &event,
                    &[
                        function_opt.join("python"),
                        function_opt.join(format!("python/lib/python{version}/site-packages")),
                    ],
                ),
            )
        };
        assert_eq!(before, after, "{name} answers differently with layers");
    }
    eprintln!("{summary}");
}
