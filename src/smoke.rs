//! `--smoke`: proves a built artifact loads and runs, called as Lambda calls it. The function
//! zip and its layers are unpacked into a temporary folder laid out as Lambda does (`task/` for
//! `/var/task`, `opt/` for `/opt`, `runtime/` for what the runtime ships), and the handler is
//! loaded by the local `node` or `python3`, isolated from the machine's own packages: Node
//! finds modules only beside the handler and on Lambda's `NODE_PATH`; Python runs with `-I -S`
//! and Lambda's `sys.path`. With an event it is invoked with `(event, context, callback)` /
//! `(event, context)`, a context carrying Lambda's fields, and Lambda's environment variables.
//! A timeout ends it (with everything it started). A failure is then tried on the unslimmed
//! input laid out the same way: a failure the input shares is not the artifact's fault.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::model::{Function, Inventory, Language, Owner};

/// How to call the handler.
#[derive(Debug, Clone)]
pub struct SmokeOptions {
    /// `--smoke-event FILE`: invoke the handler with this JSON event.
    pub event: Option<PathBuf>,
    /// The function's environment: the template's or `lamina.toml`'s, then `--smoke-env`.
    pub environment: BTreeMap<String, String>,
    /// `--smoke-timeout`: how long loading and the invocation may take together.
    pub timeout: Duration,
}

impl Default for SmokeOptions {
    fn default() -> Self {
        SmokeOptions {
            event: None,
            environment: BTreeMap::new(),
            timeout: Duration::from_secs(DEFAULT_TIMEOUT_SECONDS),
        }
    }
}

/// Lambda's own default timeout is 3 s, but a cold start on a CI machine with an unoptimised
/// interpreter takes longer; a handler that leaves a server listening is ended once it answers.
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 60;

/// What the smoke test found.
#[derive(Debug, Clone, Serialize)]
pub struct SmokeReport {
    /// The artifact works, or fails only as the unslimmed input does (`outcome`).
    pub ok: bool,
    /// `passed`; `failed` (only the artifact fails, or fails otherwise than the input);
    /// `inconclusive` (the unslimmed input fails the same way: not the artifact's fault).
    pub outcome: &'static str,
    /// The local interpreter and its version (`node v20.20.2`).
    pub interpreter: String,
    /// The interpreter's error output when loading or invoking failed.
    pub error: Option<String>,
    /// The error in one line: Python's exception (the traceback's last line), Node's message
    /// (its first), or the timeout.
    pub summary: Option<String>,
    /// The frames nearest the error, at most eight lines: Python's last, Node's first.
    pub excerpt: Vec<String>,
    /// With an `inconclusive` outcome: the unslimmed input's error.
    pub input_error: Option<String>,
    /// The handler did not answer within the timeout.
    pub timed_out: bool,
    /// For example: the local Node major differs from the runtime's; a runtime package was
    /// stood in for.
    pub notes: Vec<String>,
    pub invoked: bool,
    /// The handler's result as JSON, cut to 4 KiB.
    pub result: Option<String>,
}

/// Loads (and with an event, invokes) the handler from `artifact` with `layers` in attach
/// order, as Lambda would; on failure, tries the unslimmed input of `inventory` to tell the
/// artifact's faults from the handler's own.
pub fn smoke(
    inventory: &Inventory,
    artifact: &Path,
    layers: &[PathBuf],
    options: &SmokeOptions,
) -> Result<SmokeReport> {
    crate::ecosystem::of(inventory).smoke(inventory, artifact, layers, options)
}

/// The smoke of an interpreted runtime (Node.js, Python): the local interpreter loads the
/// handler with a loader script of lamina's.
pub(crate) fn smoke_interpreted(
    inventory: &Inventory,
    artifact: &Path,
    layers: &[PathBuf],
    options: &SmokeOptions,
) -> Result<SmokeReport> {
    let function = &inventory.function;
    let work = tempfile::tempdir().map_err(|error| Error::io(std::env::temp_dir(), error))?;
    let _registered = crate::interrupt::register(work.path());
    let layout = Layout::new(work.path(), function.runtime.language())?;
    unpack(artifact, &layout.task)?;
    for layer in layers {
        // A later layer's files win, as on Lambda.
        unpack(layer, &layout.opt)?;
    }
    let mut notes = stand_in_runtime(inventory, &layout.runtime)?;
    let interpreter = Interpreter::find(function)?;
    notes.extend(interpreter.note.clone());
    let event = options
        .event
        .as_deref()
        .map(fs_err::canonicalize)
        .transpose()?;
    let run = interpreter.run(function, &layout, event.as_deref(), options)?;
    if !run.stood_in.is_empty() {
        notes.push(format!(
            "the runtime's {} not installed here: stood in by modules that load but do nothing, so calls into them were not checked",
            run.stood_in.join(", ")
        ));
    }
    let error = run.error();
    let (summary, excerpt) = summarize(interpreter.language, error.as_deref());
    let mut report = SmokeReport {
        ok: run.ok(),
        outcome: "passed",
        interpreter: interpreter.label.clone(),
        summary,
        excerpt,
        error,
        input_error: None,
        timed_out: run.timed_out,
        notes,
        invoked: event.is_some(),
        result: run.result.clone(),
    };
    if report.ok {
        return Ok(report);
    }
    // Differential: the unslimmed input, laid out the same way, with the same runtime.
    let input_work = tempfile::tempdir().map_err(|error| Error::io(std::env::temp_dir(), error))?;
    let _input_registered = crate::interrupt::register(input_work.path());
    let input_layout = Layout::new(input_work.path(), function.runtime.language())?;
    materialize_input(inventory, &input_layout.task)?;
    stand_in_runtime(inventory, &input_layout.runtime)?;
    let input_run = interpreter.run(function, &input_layout, event.as_deref(), options)?;
    report.outcome = "failed";
    if !input_run.ok() {
        let same = match (run.timed_out, input_run.timed_out) {
            (true, true) => true,
            (false, false) => {
                error_key(interpreter.language, &run.error_text)
                    == error_key(interpreter.language, &input_run.error_text)
            }
            _ => false,
        };
        if same {
            report.ok = true;
            report.outcome = "inconclusive";
            report.input_error = input_run.error();
        }
    }
    Ok(report)
}

/// The folders of one run, as Lambda's `/var/task`, `/opt` and `/var/runtime`. For Node, what
/// the runtime ships goes in the task's parent folder's `node_modules`: ES modules ignore
/// `NODE_PATH` and look up parent folders, which is how a handler's `import` finds the SDK.
struct Layout {
    root: PathBuf,
    task: PathBuf,
    opt: PathBuf,
    runtime: PathBuf,
}

impl Layout {
    fn new(root: &Path, language: Language) -> Result<Layout> {
        let layout = Layout {
            root: root.to_path_buf(),
            task: root.join("task"),
            opt: root.join("opt"),
            runtime: match language {
                Language::Python => root.join("runtime"),
                _ => root.to_path_buf(),
            },
        };
        for folder in [&layout.task, &layout.opt, &layout.runtime] {
            fs_err::create_dir_all(folder)?;
        }
        Ok(layout)
    }

    /// Shows temporary paths as Lambda's.
    fn lambda_paths(&self, text: &str) -> String {
        text.replace(&self.task.display().to_string(), "/var/task")
            .replace(&self.opt.display().to_string(), "/opt")
            .replace(&self.runtime.display().to_string(), "/var/runtime")
            .replace(&self.root.display().to_string(), "/tmp/lamina-smoke")
    }
}

fn zip_error(path: &Path, error: impl std::fmt::Display) -> Error {
    Error::input(path, format!("cannot unpack for the smoke test: {error}"))
}

pub(crate) fn unpack(zip: &Path, into: &Path) -> Result<()> {
    let file = fs_err::File::open(zip)?;
    let mut archive = zip::ZipArchive::new(std::io::BufReader::new(file))
        .map_err(|error| zip_error(zip, error))?;
    archive.extract(into).map_err(|error| zip_error(zip, error))
}

/// The unslimmed input at its artifact paths (Python's dependencies at the root, as the zip
/// has them), linked file by file: what `--shake none` would ship.
pub(crate) fn materialize_input(inventory: &Inventory, task: &Path) -> Result<()> {
    for file in &inventory.files {
        link_in(file, task)?;
    }
    Ok(())
}

/// Links `file` into `folder` at its artifact path: to its source, or as the link it is.
fn link_in(file: &crate::model::FileEntry, folder: &Path) -> Result<()> {
    let path = folder.join(&file.path);
    if let Some(parent) = path.parent() {
        fs_err::create_dir_all(parent)?;
    }
    let target = match &file.link_target {
        Some(target) => PathBuf::from(target),
        None => file.source.clone(),
    };
    if path.symlink_metadata().is_err() {
        fs_err::os::unix::fs::symlink(&target, &path)?;
    }
    Ok(())
}

/// Puts what the runtime ships into `runtime`: the input's own copies of the runtime's
/// packages when it has them (a dev dependency, or dropped with `--drop-runtime-sdk`), else a
/// stand-in that loads but does nothing, for each one the user's code imports. Returns notes.
fn stand_in_runtime(inventory: &Inventory, runtime: &Path) -> Result<Vec<String>> {
    let mut notes = Vec::new();
    let mut installed = BTreeSet::new();
    for file in &inventory.files {
        let Owner::Package(id) = file.owner else {
            continue;
        };
        let package = inventory.package(id);
        if !crate::shake::runtime_provided(inventory, &package.name) {
            continue;
        }
        installed.insert(package.name.clone());
        link_in(file, runtime)?;
    }
    match inventory.function.runtime.language() {
        // The Python loader stands in for what is missing itself, and says which.
        Language::Python => {}
        _ => {
            let wanted: Vec<&String> = inventory
                .imports
                .packages
                .iter()
                .filter(|name| crate::shake::runtime_provided(inventory, name))
                .filter(|name| !installed.contains(*name))
                .collect();
            for name in &wanted {
                node_stand_in(inventory, runtime, name)?;
            }
            if !wanted.is_empty() {
                notes.push(format!(
                    "the runtime's {} not installed here: stood in by modules that load but do nothing, so calls into them were not checked",
                    wanted
                        .iter()
                        .map(|name| name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
    }
    Ok(notes)
}

/// A Node package `name` that loads and does nothing: any property is a callable, newable
/// stand-in. ESM named imports need their names written out: they are read from the user's
/// code (`import { S3Client } from '@aws-sdk/client-s3'`).
fn node_stand_in(inventory: &Inventory, runtime: &Path, name: &str) -> Result<()> {
    let folder = runtime.join("node_modules").join(name);
    fs_err::create_dir_all(&folder)?;
    let mut names = BTreeSet::new();
    for file in &inventory.files {
        if file.owner != Owner::User || !crate::node::imports::is_script(&file.path) {
            continue;
        }
        let Ok(text) = crate::input::read_to_string(&file.source, Some(file.bytes)) else {
            continue;
        };
        names.extend(named_imports(&text, name));
    }
    fs_err::write(
        folder.join("package.json"),
        serde_json::json!({
            "name": name,
            "version": "0.0.0-lamina-stand-in",
            "main": "index.js",
            "exports": { "import": "./index.mjs", "default": "./index.js" },
        })
        .to_string(),
    )?;
    fs_err::write(folder.join("index.js"), NODE_STAND_IN)?;
    let mut module = String::from("import stub from './index.js';\nexport default stub;\n");
    for export in names {
        module.push_str(&format!("export const {export} = stub.{export};\n"));
    }
    fs_err::write(folder.join("index.mjs"), module)?;
    Ok(())
}

const NODE_STAND_IN: &str = "'use strict';\n\
// lamina --smoke: the runtime ships this package; this stand-in loads and does nothing.\n\
function stub() {\n\
  return new Proxy(function () {}, {\n\
    get: (target, key) => (key === 'then' ? undefined : key === Symbol.toPrimitive ? () => '' : stub()),\n\
    apply: () => stub(),\n\
    construct: () => stub(),\n\
  });\n\
}\n\
module.exports = stub();\n";

/// The names `import { A, B as C } from 'SPEC'` takes from `spec` in `text`.
fn named_imports(text: &str, spec: &str) -> Vec<String> {
    let mut names = Vec::new();
    for quote in ['\'', '"'] {
        let needle = format!("from {quote}{spec}{quote}");
        let mut rest = text;
        while let Some(at) = rest.find(&needle) {
            let before = &rest[..at];
            let head = |open: usize| before[..open].trim_end().to_string();
            if let (Some(open), Some(close)) = (before.rfind('{'), before.rfind('}'))
                && open < close
                && before[close + 1..].trim().is_empty()
                && (head(open).ends_with("import") || head(open).ends_with(','))
            {
                for part in before[open + 1..close].split(',') {
                    let name = part.split_whitespace().next().unwrap_or("");
                    if !name.is_empty()
                        && name
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
                        && name != "default"
                    {
                        names.push(name.to_string());
                    }
                }
            }
            rest = &rest[at + needle.len()..];
        }
    }
    names
}

/// The local interpreter for the function's runtime.
struct Interpreter {
    language: Language,
    program: PathBuf,
    label: String,
    note: Option<String>,
}

impl Interpreter {
    fn find(function: &Function) -> Result<Interpreter> {
        let runtime = function.runtime;
        let (candidates, wanted) = match runtime.language() {
            Language::Python => {
                let (major, minor) = runtime.python_version().unwrap_or((3, 12));
                (
                    vec![format!("python{major}.{minor}"), "python3".to_string()],
                    // `version` gives `3.11.7`: compared with `3.11.`, so 3.1 is not 3.11.
                    format!("{major}.{minor}."),
                )
            }
            _ => (
                vec!["node".to_string()],
                format!("v{}.", runtime.node_major()),
            ),
        };
        for candidate in &candidates {
            let Some(program) = on_path(candidate) else {
                continue;
            };
            let Some(version) = version(&program) else {
                continue;
            };
            let label = format!("{candidate} {version}");
            let note = (!version.starts_with(&wanted)).then(|| {
                let wanted = match runtime.language() {
                    Language::Python => {
                        format!("Python {}", wanted.trim_end_matches('.'))
                    }
                    _ => format!("Node {}", runtime.node_major()),
                };
                format!(
                    "the local {label} is not the runtime's {wanted}: the handler was checked with the local one"
                )
            });
            return Ok(Interpreter {
                language: runtime.language(),
                program,
                label,
                note,
            });
        }
        Err(Error::MissingProgram {
            program: candidates.last().cloned().unwrap_or_default(),
            needed_for: "--smoke, to load the handler",
        })
    }

    fn run(
        &self,
        function: &Function,
        layout: &Layout,
        event: Option<&Path>,
        options: &SmokeOptions,
    ) -> Result<Run> {
        let result_file = layout.root.join("result.json");
        let loader = layout.root.join(match self.language {
            Language::Python => "lamina_smoke.py",
            _ => "lamina-smoke.cjs",
        });
        let (export, module) = handler_parts(&function.handler.spec);
        let mut command = Command::new(&self.program);
        let mut node_path_env = None;
        let event_arg = event
            .map(|path| path.display().to_string())
            .unwrap_or_default();
        match self.language {
            Language::Python => {
                fs_err::write(&loader, PYTHON_LOADER)?;
                // Lambda's sys.path: `/var/task`, the layers' folders, the runtime's own.
                command.arg("-I").arg("-S").arg(&loader).arg(&layout.task);
                for folder in crate::lambda::layers::search_folders(function.runtime) {
                    command.arg(layout.opt.join(folder));
                }
                command
                    .arg(&layout.runtime)
                    .arg(module.replace('/', "."))
                    .arg(export)
                    .arg(&event_arg)
                    .arg(&result_file);
            }
            _ => {
                fs_err::write(&loader, NODE_LOADER)?;
                // Lambda's NODE_PATH; `/var/task` last, as Lambda has it.
                let node_path = crate::lambda::layers::search_folders(function.runtime)
                    .iter()
                    .map(|folder| layout.opt.join(folder))
                    .chain([layout.runtime.join("node_modules"), layout.task.clone()])
                    .collect::<Vec<_>>()
                    .iter()
                    .map(|path| path.display().to_string())
                    .collect::<Vec<_>>()
                    .join(":");
                command
                    .arg(&loader)
                    .arg(layout.task.join(&function.handler.file))
                    .arg(export)
                    .arg(&event_arg)
                    .arg(&result_file);
                node_path_env = Some(node_path);
            }
        }
        let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".to_string());
        let memory = "128";
        command
            .current_dir(&layout.task)
            .env_clear()
            // Lambda's PATH, with a layer's bin/ in it; the interpreter is called by its path.
            .env(
                "PATH",
                format!(
                    "/usr/local/bin:/usr/bin/:/bin:{}",
                    layout.opt.join("bin").display()
                ),
            )
            .env("HOME", &layout.root)
            .env("LANG", "en_US.UTF-8")
            .env("TZ", ":UTC")
            .env("LAMBDA_TASK_ROOT", &layout.task)
            .env("LAMBDA_RUNTIME_DIR", &layout.runtime)
            .env("_HANDLER", &function.handler.spec)
            .env(
                "AWS_EXECUTION_ENV",
                format!("AWS_Lambda_{}", function.runtime.id()),
            )
            .env("AWS_LAMBDA_FUNCTION_NAME", &function.name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", memory)
            .env(
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{}", function.name),
            )
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "lamina-smoke")
            .env("AWS_REGION", &region)
            .env("AWS_DEFAULT_REGION", &region)
            .envs(CREDENTIALS)
            .env(
                "LAMINA_SMOKE_TIMEOUT_MS",
                options.timeout.as_millis().to_string(),
            )
            .envs(node_path_env.iter().map(|path| ("NODE_PATH", path)))
            .envs(&options.environment)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group: a timeout ends the handler and whatever it started.
            .process_group(0);
        let started = Instant::now();
        let mut child = command
            .spawn()
            .map_err(|error| Error::io(&self.program, error))?;
        let stdout = capture(child.stdout.take());
        let stderr = capture(child.stderr.take());
        let mut timed_out = false;
        let status = loop {
            if let Some(status) = child
                .try_wait()
                .map_err(|error| Error::io(&self.program, error))?
            {
                break Some(status);
            }
            if started.elapsed() > options.timeout {
                timed_out = true;
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        // Lambda freezes the process once the handler answers; here whatever it left running
        // (a server listening, a timer) is ended with its whole process group.
        kill_group(child.id());
        let _ = child.wait();
        let _ = stdout.join();
        let stderr = stderr.join().unwrap_or_default();
        let error_text = layout.lambda_paths(&String::from_utf8_lossy(&stderr));
        let result = fs_err::read_to_string(&result_file).ok().map(|text| {
            let mut text = text.trim().to_string();
            if text.len() > 4096 {
                let mut cut = 4096;
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                text.truncate(cut);
                text.push('…');
            }
            text
        });
        let _ = fs_err::remove_file(&result_file);
        // Modules the Python loader stood in for (it writes their names here).
        let stood_in: Vec<String> = fs_err::read_to_string(layout.root.join("stand-ins.txt"))
            .map(|text| text.lines().map(str::to_string).collect())
            .unwrap_or_default();
        Ok(Run {
            stood_in,
            success: status.is_some_and(|status| status.success()),
            timed_out,
            timeout: options.timeout,
            error_text,
            result,
        })
    }
}

/// What one run of the loader did.
struct Run {
    /// Top-level modules of the runtime's SDK the Python loader stood in for.
    stood_in: Vec<String>,
    success: bool,
    timed_out: bool,
    timeout: Duration,
    error_text: String,
    result: Option<String>,
}

impl Run {
    fn ok(&self) -> bool {
        self.success && !self.timed_out
    }

    fn error(&self) -> Option<String> {
        if self.timed_out {
            let mut text = format!(
                "the handler did not answer within {} s (--smoke-timeout); it and everything it started were ended",
                self.timeout.as_secs()
            );
            if !self.error_text.trim().is_empty() {
                text.push('\n');
                text.push_str(self.error_text.trim());
            }
            return Some(text);
        }
        if self.success {
            return None;
        }
        let text = self.error_text.trim();
        Some(if text.is_empty() {
            "the interpreter exited with an error and printed nothing".to_string()
        } else {
            text.to_string()
        })
    }
}

/// The error's one line and the frames nearest it.
fn summarize(language: Language, error: Option<&str>) -> (Option<String>, Vec<String>) {
    let Some(error) = error else {
        return (None, Vec::new());
    };
    let key = error_key(language, error).to_string();
    let lines: Vec<&str> = error
        .lines()
        .filter(|line| !line.trim().is_empty() && line.trim() != key)
        .collect();
    let excerpt = match language {
        Language::Python => &lines[lines.len().saturating_sub(8)..],
        _ => &lines[..lines.len().min(8)],
    };
    let summary = if error.starts_with("the handler did not answer") {
        error.lines().next().unwrap_or_default().to_string()
    } else {
        key
    };
    (
        Some(summary),
        excerpt.iter().map(|line| line.to_string()).collect(),
    )
}

/// What identifies an error, to tell whether the input fails the same way: Python's last
/// traceback line (`KeyError: 'TABLE'`), Node's first line (`Error: Cannot find module 'x'`)
/// past its warnings.
fn error_key(language: Language, text: &str) -> &str {
    let mut lines = text.lines().map(str::trim).filter(|line| !line.is_empty());
    let key = match language {
        Language::Python => lines.next_back(),
        _ => lines.find(|line| !line.starts_with("(node:") && !line.starts_with("(Use `node")),
    };
    key.unwrap_or("")
}

/// Credentials of the shape Lambda gives, so an SDK never waits for a metadata service; any
/// call with them fails fast. Shared with the custom runtimes' smoke run.
pub(crate) const CREDENTIALS: [(&str, &str); 3] = [
    ("AWS_ACCESS_KEY_ID", "ASIALAMINASMOKETEST0"),
    ("AWS_SECRET_ACCESS_KEY", "lamina-smoke-not-a-secret"),
    ("AWS_SESSION_TOKEN", "lamina-smoke"),
];

/// Reads a child's pipe on a thread, keeping at most the last 64 KiB.
pub(crate) fn capture(
    pipe: Option<impl Read + Send + 'static>,
) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let Some(mut pipe) = pipe else {
            return kept;
        };
        let mut buffer = [0u8; 8192];
        while let Ok(read) = pipe.read(&mut buffer) {
            if read == 0 {
                break;
            }
            kept.extend_from_slice(&buffer[..read]);
            if kept.len() > 128 << 10 {
                kept.drain(..kept.len() - (64 << 10));
            }
        }
        kept
    })
}

/// Ends a process group (the loader's, which is its own pid) with SIGKILL.
pub(crate) fn kill_group(pid: u32) {
    let _ = Command::new("kill")
        .arg("-KILL")
        .arg("--")
        .arg(format!("-{pid}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// `src/index.handler` → (`handler`, `src/index`).
fn handler_parts(spec: &str) -> (&str, &str) {
    crate::lambda::handler::split(spec)
        .map_or(("handler", spec), |(module, export)| (export, module))
}

fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|folder| folder.join(program))
        .find(|candidate| candidate.is_file())
}

fn version(program: &Path) -> Option<String> {
    let output = Command::new(program).arg("--version").output().ok()?;
    if !output.status.success() {
        // A pyenv shim for a version that is not installed answers, with an error.
        return None;
    }
    let text = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    Some(text.trim().trim_start_matches("Python ").to_string())
}

const NODE_LOADER: &str = r#"'use strict';
// lamina --smoke: loads the handler and, with an event, calls it as Lambda's Node runtime does.
const fs = require('fs');
const path = require('path');
const url = require('url');
const [file, name, eventFile, resultFile] = process.argv.slice(2);
const deadline = Date.now() + Number(process.env.LAMINA_SMOKE_TIMEOUT_MS || 60000);
const env = process.env;
let finished = false;
function finish(error, result) {
  if (finished) return;
  finished = true;
  if (error !== undefined && error !== null) {
    const text = error instanceof Error ? (error.stack || String(error)) : JSON.stringify(error);
    process.stderr.write(`the handler failed: ${text}\n`);
    process.exit(4);
  }
  let json;
  try { json = JSON.stringify(result === undefined ? null : result); } catch (e) { json = String(result); }
  fs.writeFileSync(resultFile, json === undefined ? 'null' : json);
  // Lambda freezes the process once the handler has answered.
  process.exit(0);
}
const context = {
  callbackWaitsForEmptyEventLoop: true,
  functionName: env.AWS_LAMBDA_FUNCTION_NAME,
  functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
  invokedFunctionArn: `arn:aws:lambda:${env.AWS_REGION}:123456789012:function:${env.AWS_LAMBDA_FUNCTION_NAME}`,
  memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
  awsRequestId: 'lamina-smoke-00000000-0000-0000-0000-000000000000',
  logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
  logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
  getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  done: (error, result) => finish(error, result),
  succeed: (result) => finish(null, result),
  fail: (error) => finish(error || new Error('context.fail')),
};
import(url.pathToFileURL(file).href)
  .then((module) => {
    const handler = module[name] ?? (module.default && module.default[name]);
    if (typeof handler !== 'function') {
      process.stderr.write(`the handler export ${name} of ${path.basename(file)} is ${typeof handler}, not a function\n`);
      process.exit(3);
    }
    if (!eventFile) process.exit(0);
    const event = JSON.parse(fs.readFileSync(eventFile, 'utf8'));
    const callback = (error, result) => finish(error, result);
    const returned = handler(event, context, callback);
    if (returned && typeof returned.then === 'function') {
      returned.then((result) => finish(null, result), (error) => finish(error || new Error('the handler rejected')));
    } else {
      // No promise: Lambda answers when the callback is called, or with null once the event
      // loop is empty.
      process.on('beforeExit', () => finish(null, null));
    }
  })
  .catch((error) => {
    process.stderr.write(`${(error && error.stack) || String(error)}\n`);
    process.exit(4);
  });
"#;

const PYTHON_LOADER: &str = r#"# lamina --smoke: loads the handler and, with an event, calls it as Lambda's Python runtime does.
# Run with -I -S: nothing of the machine's own site-packages is on sys.path.
import importlib, importlib.abc, importlib.machinery, json, os, sys, time, types

task, opt_site, opt_python, runtime, module_name, name, event_file, result_file = sys.argv[1:9]
deadline = time.monotonic() + int(os.environ.get("LAMINA_SMOKE_TIMEOUT_MS", "60000")) / 1000
# Lambda's order: the function, the layers (the site dir reads .pth files), then the runtime's.
sys.path[:0] = [task, opt_site, opt_python, runtime]
import site
site.addsitedir(opt_site)

SDK = {"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3"}

class _Stub:
    """Loads, calls, subclasses and chains: stands in for the runtime's SDK when absent."""
    def __init__(self, *args, **kwargs): pass
    def __call__(self, *args, **kwargs): return _Stub()
    def __getattr__(self, key):
        if key.startswith("__"): raise AttributeError(key)
        return _Stub()
    def __iter__(self): return iter(())
    def __bool__(self): return True

class _StubModule(types.ModuleType):
    def __getattr__(self, key):
        if key.startswith("__"): raise AttributeError(key)
        return type(key, (_Stub, Exception), {})

class _StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path=None, target=None):
        top = fullname.split(".")[0]
        if top not in SDK:
            return None
        # Only for what is missing: a shipped package's own submodules (six.moves, found by
        # six's importer later in sys.meta_path) are never stood in for.
        loaded = sys.modules.get(top)
        if loaded is not None and not isinstance(loaded, _StubModule):
            return None
        if "." not in fullname and importlib.machinery.PathFinder.find_spec(fullname) is not None:
            return None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
    def create_module(self, spec):
        if "." not in spec.name:
            with open(os.path.join(os.environ["HOME"], "stand-ins.txt"), "a") as f:
                f.write(spec.name + "\n")
        module = _StubModule(spec.name)
        module.__path__ = []
        return module
    def exec_module(self, module): pass

# Last: only what nothing on the path provides is stood in.
sys.meta_path.append(_StubFinder())

class LambdaContext:
    def __init__(self):
        env = os.environ
        self.function_name = env["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = env["AWS_LAMBDA_FUNCTION_VERSION"]
        self.invoked_function_arn = "arn:aws:lambda:%s:123456789012:function:%s" % (env["AWS_REGION"], self.function_name)
        self.memory_limit_in_mb = int(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"])
        self.aws_request_id = "lamina-smoke-00000000-0000-0000-0000-000000000000"
        self.log_group_name = env["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.log_stream_name = env["AWS_LAMBDA_LOG_STREAM_NAME"]
        self.identity = None
        self.client_context = None
    def get_remaining_time_in_millis(self):
        return max(0, int((deadline - time.monotonic()) * 1000))

module = importlib.import_module(module_name)
handler = getattr(module, name, None)
if not callable(handler):
    sys.stderr.write("the handler %s of %s is not callable\n" % (name, module_name))
    sys.exit(3)
if event_file:
    with open(event_file) as f:
        event = json.load(f)
    result = handler(event, LambdaContext())
    with open(result_file, "w") as f:
        f.write(json.dumps(result, default=str))
sys.stdout.flush()
os._exit(0)
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_imports_are_read_from_import_statements() {
        let text = "import { S3Client, GetObjectCommand as Get } from '@aws-sdk/client-s3';\n\
                    import x from \"@aws-sdk/client-s3\";\n\
                    import { marshall } from \"@aws-sdk/util-dynamodb\";\n";
        assert_eq!(
            named_imports(text, "@aws-sdk/client-s3"),
            ["S3Client", "GetObjectCommand"]
        );
        assert_eq!(named_imports(text, "@aws-sdk/util-dynamodb"), ["marshall"]);
    }

    #[test]
    fn an_error_is_known_by_its_exception_and_message_not_its_stack() {
        let text = "Traceback (most recent call last):\n  File \"x\"\nKeyError: 'TABLE'\n";
        assert_eq!(error_key(Language::Python, text), "KeyError: 'TABLE'");
        let node = "(node:12) Warning: x\nError: Cannot find module 'a'\nRequire stack:\n- /var/task/index.js\n";
        assert_eq!(
            error_key(Language::Node, node),
            "Error: Cannot find module 'a'"
        );
    }
}
