//! `--smoke`: proves a built artifact loads. Unpacks the function zip and its layers into a
//! temporary folder laid out as Lambda does (`task/` for `/var/task`, `opt/` for `/opt`), loads
//! the handler with the local `node` or `python3`, and checks the export is a function;
//! with an event file, also invokes it.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::model::{Function, Language};

/// What the smoke test found.
#[derive(Debug, Clone, Serialize)]
pub struct SmokeReport {
    pub ok: bool,
    /// The local interpreter and its version (`node v20.20.2`).
    pub interpreter: String,
    /// The interpreter's error output when loading or invoking failed.
    pub error: Option<String>,
    /// For example: the local Node major differs from the runtime's.
    pub note: Option<String>,
    pub invoked: bool,
}

const NODE_LOADER: &str = r#"
const path = require('path');
const url = require('url');
const [file, name, eventFile] = process.argv.slice(1);
import(url.pathToFileURL(path.resolve(file)).href)
  .then(async (module) => {
    const handler = module[name] ?? (module.default && module.default[name]);
    if (typeof handler !== 'function') {
      console.error(`the handler export ${name} of ${file} is ${typeof handler}, not a function`);
      process.exit(3);
    }
    if (eventFile) {
      const event = JSON.parse(require('fs').readFileSync(eventFile, 'utf8'));
      await handler(event, { functionName: 'lamina-smoke', getRemainingTimeInMillis: () => 30000 });
    }
  })
  .catch((error) => {
    console.error((error && error.stack) || String(error));
    process.exit(4);
  });
"#;

const PYTHON_LOADER: &str = r#"
import importlib, json, sys
module_name, name, event_file = sys.argv[1], sys.argv[2], sys.argv[3]
module = importlib.import_module(module_name)
handler = getattr(module, name, None)
if not callable(handler):
    sys.stderr.write(f"the handler {name} of {module_name} is not callable\n")
    sys.exit(3)
if event_file:
    with open(event_file) as f:
        handler(json.load(f), None)
"#;

fn zip_error(path: &Path, error: impl std::fmt::Display) -> Error {
    Error::input(path, format!("cannot unpack for the smoke test: {error}"))
}

fn unpack(zip: &Path, into: &Path) -> Result<()> {
    let file = fs_err::File::open(zip)?;
    let mut archive = zip::ZipArchive::new(std::io::BufReader::new(file))
        .map_err(|error| zip_error(zip, error))?;
    archive.extract(into).map_err(|error| zip_error(zip, error))
}

fn version(program: &str) -> Option<String> {
    let output = Command::new(program).arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    Some(text.trim().to_string())
}

/// Loads the handler from `artifact` (and `layers`, in attach order) and reports what happened.
pub fn smoke(
    function: &Function,
    artifact: &Path,
    layers: &[PathBuf],
    event: Option<&Path>,
) -> Result<SmokeReport> {
    let work = tempfile::tempdir().map_err(|error| Error::io(std::env::temp_dir(), error))?;
    let _registered = crate::interrupt::register(work.path());
    let task = work.path().join("task");
    let opt = work.path().join("opt");
    fs_err::create_dir_all(&task)?;
    fs_err::create_dir_all(&opt)?;
    unpack(artifact, &task)?;
    for layer in layers {
        // A later layer's files win, as on Lambda.
        unpack(layer, &opt)?;
    }
    let event = event.map(fs_err::canonicalize).transpose()?;
    let event_arg = event
        .as_ref()
        .map(|path| path.display().to_string())
        .unwrap_or_default();
    let runtime = function.runtime;
    let (program, mut command, interpreter_note) = match runtime.language() {
        Language::Python => {
            let (major, minor) = runtime.python_version().unwrap_or((3, 12));
            let module = function
                .handler
                .spec
                .rsplit_once('.')
                .map_or("", |(module, _)| module)
                .replace('/', ".");
            let name = function
                .handler
                .spec
                .rsplit_once('.')
                .map_or("", |(_, name)| name)
                .to_string();
            let mut command = Command::new("python3");
            let site = opt.join(format!("python/lib/python{major}.{minor}/site-packages"));
            let path = [task.clone(), opt.join("python"), site]
                .iter()
                .map(|path| path.display().to_string())
                .collect::<Vec<_>>()
                .join(":");
            command
                .arg("-c")
                .arg(PYTHON_LOADER)
                .arg(module)
                .arg(name)
                .arg(&event_arg)
                .env("PYTHONPATH", path);
            let local = version("python3");
            let note = local.as_ref().and_then(|local| {
                let wanted = format!("Python {major}.{minor}");
                (!local.starts_with(&wanted)).then(|| format!("the local {local} is not the runtime's {wanted}: loading was checked with the local one"))
            });
            ("python3", command, (local, note))
        }
        _ => {
            let major = runtime.node_major();
            let name = function
                .handler
                .spec
                .rsplit_once('.')
                .map_or("handler", |(_, name)| name)
                .to_string();
            let mut command = Command::new("node");
            let node_path = [
                opt.join("nodejs/node_modules"),
                opt.join(format!("nodejs/node{major}/node_modules")),
            ]
            .iter()
            .map(|path| path.display().to_string())
            .collect::<Vec<_>>()
            .join(":");
            command
                .arg("-e")
                .arg(NODE_LOADER)
                .arg(&function.handler.file)
                .arg(name)
                .arg(&event_arg)
                .env("NODE_PATH", node_path);
            let local = version("node");
            let note = local.as_ref().and_then(|local| {
                let wanted = format!("v{major}.");
                (!local.starts_with(&wanted)).then(|| format!("the local node {local} is not the runtime's Node {major}: loading was checked with the local one"))
            });
            ("node", command, (local, note))
        }
    };
    let (local, note) = interpreter_note;
    let Some(local) = local else {
        return Err(Error::Usage(format!(
            "--smoke needs `{program}` on PATH to load the handler"
        )));
    };
    let output = command
        .current_dir(&task)
        .env("LAMBDA_TASK_ROOT", &task)
        .env(
            "AWS_REGION",
            std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".to_string()),
        )
        .output()
        .map_err(|error| Error::io(&task, error))?;
    let error = (!output.status.success()).then(|| {
        let text = String::from_utf8_lossy(&output.stderr).to_string();
        // Paths inside the temporary folder mean nothing to the user: show them as on Lambda.
        text.replace(&task.display().to_string(), "/var/task")
            .replace(&opt.display().to_string(), "/opt")
            .trim()
            .to_string()
    });
    Ok(SmokeReport {
        ok: output.status.success(),
        interpreter: format!("{program} {local}"),
        error,
        note,
        invoked: event.is_some(),
    })
}
