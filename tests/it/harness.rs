//! The fixture builder and helpers: write a small function folder with a `node_modules` tree from
//! a short spec, run the real `lamina` binary on it, read the report and the zip back.

use std::collections::BTreeMap;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::cargo::cargo_bin;
use serde_json::{Value, json};

/// `lamina`, with its cache of compressed entries in the tests' own folder under `target/`,
/// never the user's `~/.cache/lamina`. A test that needs a cache of its own sets
/// `LAMINA_CACHE_DIR` again.
pub fn lamina_command() -> std::process::Command {
    let mut command = std::process::Command::new(cargo_bin("lamina"));
    command.env(
        "LAMINA_CACHE_DIR",
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("lamina-cache"),
    );
    command
}

/// A function folder in a temporary directory.
pub struct Fixture {
    _temp: tempfile::TempDir,
    /// The folder holding the function folder (and the output, and any outside links).
    pub base: PathBuf,
    /// The function folder.
    pub root: PathBuf,
}

impl Fixture {
    /// An empty function folder called `name` with a `package.json` of these fields.
    pub fn new(name: &str, manifest: Value) -> Fixture {
        let fixture = Fixture::empty(name);
        fixture.file("package.json", &manifest.to_string());
        fixture
    }

    /// An empty function folder called `name` (a Python function gets no `package.json`).
    pub fn empty(name: &str) -> Fixture {
        let temp = tempfile::tempdir().unwrap();
        let base = temp.path().canonicalize().unwrap();
        let root = base.join(name);
        fs_err::create_dir_all(&root).unwrap();
        Fixture {
            _temp: temp,
            base,
            root,
        }
    }

    /// Writes a file (mode 0644) under the function folder.
    pub fn file(&self, path: &str, contents: &str) -> &Self {
        write_file(&self.root.join(path), contents);
        self
    }

    /// Installs a package at `folder` (such as `node_modules/a` or
    /// `node_modules/.pnpm/a@1.0.0/node_modules/a`) with an `index.js` that requires each
    /// production dependency and exports `name@version` plus what they export.
    pub fn package(&self, folder: &str, name: &str, version: &str, dependencies: &[&str]) -> &Self {
        let deps: BTreeMap<&str, &str> = dependencies.iter().map(|dep| (*dep, "*")).collect();
        self.file(
            &format!("{folder}/package.json"),
            &json!({ "name": name, "version": version, "main": "index.js", "dependencies": deps })
                .to_string(),
        );
        let requires: Vec<String> = dependencies
            .iter()
            .map(|dep| format!("require({dep:?})"))
            .collect();
        self.file(
            &format!("{folder}/index.js"),
            &format!(
                "module.exports = [{:?}].concat({});\n",
                format!("{name}@{version}"),
                if requires.is_empty() {
                    "[]".to_string()
                } else {
                    format!("[{}]", requires.join(", "))
                }
            ),
        );
        self
    }

    /// Writes a package with a custom `package.json`.
    pub fn manifest(&self, folder: &str, manifest: Value) -> &Self {
        self.file(&format!("{folder}/package.json"), &manifest.to_string())
    }

    /// Replaces the contents of `path` (under the function folder) and sets its modification
    /// time back: only its change time tells it was written.
    pub fn rewrite_keeping_mtime(&self, path: &str, contents: &str) {
        let path = self.root.join(path);
        let modified = fs_err::metadata(&path).unwrap().modified().unwrap();
        fs_err::write(&path, contents).unwrap();
        fs_err::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(modified)
            .unwrap();
    }

    /// Creates a symbolic link at `link` (under the function folder) with the literal `target`.
    pub fn link(&self, link: &str, target: &str) -> &Self {
        let path = self.root.join(link);
        fs_err::create_dir_all(path.parent().unwrap()).unwrap();
        symlink(target, &path).unwrap();
        self
    }

    /// Runs `lamina ARGS` in the base folder.
    pub fn lamina(&self, args: &[&str]) -> Output {
        lamina_command()
            .args(args)
            .current_dir(&self.base)
            // Each fixture gets its own cache of compressed entries, outside the function.
            .env("LAMINA_CACHE_DIR", self.base.join("cache"))
            .output()
            .unwrap()
    }

    /// `lamina build <root> --out <base>/out --json ARGS`: the report, the zip and the exit code.
    pub fn build(&self, args: &[&str]) -> Built {
        let out = self.base.join("out");
        let root = self.root.to_str().unwrap();
        let mut all = vec!["build", root, "--out", out.to_str().unwrap(), "--json"];
        all.extend(args);
        let output = self.lamina(&all);
        let code = output.status.code().unwrap();
        assert!(
            code == 0 || code == 1,
            "lamina build failed with {code}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let report: Value =
            serde_json::from_slice(&output.stdout).expect("stdout is the JSON report");
        let zip = PathBuf::from(report["functions"][0]["artifact"].as_str().unwrap());
        Built {
            report,
            zip,
            code,
            out,
        }
    }

    /// A sorted listing of every path under the function folder with its size, mode and mtime,
    /// to prove a command changed nothing.
    pub fn snapshot(&self) -> Vec<String> {
        let mut listing: Vec<String> = walkdir::WalkDir::new(&self.root)
            .sort_by_file_name()
            .into_iter()
            .map(|entry| {
                let entry = entry.unwrap();
                let meta = entry.path().symlink_metadata().unwrap();
                format!(
                    "{} {} {:o} {:?}",
                    entry.path().display(),
                    meta.len(),
                    meta.permissions().mode(),
                    meta.modified().unwrap()
                )
            })
            .collect();
        listing.sort();
        listing
    }
}

/// What `lamina build` produced.
pub struct Built {
    pub report: Value,
    pub zip: PathBuf,
    pub code: i32,
    pub out: PathBuf,
}

impl Built {
    pub fn function(&self) -> &Value {
        &self.report["functions"][0]
    }

    /// The report entry of the package at `path`.
    pub fn package(&self, path: &str) -> &Value {
        self.function()["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|package| package["path"] == path)
            .unwrap_or_else(|| panic!("no package at {path} in the report"))
    }

    /// The zip's entry names.
    pub fn entries(&self) -> Vec<String> {
        let archive = zip::ZipArchive::new(fs_err::File::open(&self.zip).unwrap()).unwrap();
        archive
            .file_names()
            .map(|name| name.unwrap().to_string())
            .collect::<Vec<_>>()
    }

    /// Unzips with Info-ZIP `unzip` (which restores links, as Lambda does) into a new folder.
    pub fn extract(&self) -> PathBuf {
        let task = self.out.join("task");
        let status = std::process::Command::new("unzip")
            .args(["-q", "-o"])
            .arg(&self.zip)
            .arg("-d")
            .arg(&task)
            .status()
            .expect("Info-ZIP unzip is installed");
        assert!(status.success());
        task
    }
}

/// Asserts, for each `(package path, status, class)`, what the report says.
pub fn check(built: &Built, expected: &[(&str, &str, &str)]) {
    for (path, status, class) in expected {
        let package = built.package(path);
        assert_eq!(
            (
                package["status"].as_str().unwrap(),
                package["class"].as_str().unwrap()
            ),
            (*status, *class),
            "{path}: {}",
            package["reason"]
        );
    }
}

/// Runs `node -e` in `dir`, requiring the handler file and printing what `handler()` returns.
pub fn run_handler(dir: &Path, file: &str) -> String {
    let script = format!(
        "import(require('url').pathToFileURL(require('path').resolve({file:?})).href).then(m => m.handler({{}})).then(r => console.log(JSON.stringify(r)), e => {{ console.log('ERROR ' + e.message); process.exit(1); }})"
    );
    let output = std::process::Command::new("node")
        .args(["-e", &script])
        .current_dir(dir)
        .output()
        .expect("node is installed");
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// Writes a file with mode 0644 whatever the umask, creating its folders.
pub fn write_file(path: &Path, contents: &str) {
    fs_err::create_dir_all(path.parent().unwrap()).unwrap();
    fs_err::write(path, contents).unwrap();
    fs_err::set_permissions(path, std::fs::Permissions::from_mode(0o644)).unwrap();
}

/// Every object key in `value`, depth first (repeats included): for checking that each one is
/// documented.
pub fn json_keys(value: &Value, into: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                into.push(key.clone());
                json_keys(inner, into);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| json_keys(item, into)),
        _ => {}
    }
}
