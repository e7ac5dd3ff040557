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
use crate::model::{Function, Inventory, Owner};

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
    loader: &'static dyn Loader,
) -> Result<SmokeReport> {
    let function = &inventory.function;
    let work = tempfile::tempdir().map_err(|error| Error::io(std::env::temp_dir(), error))?;
    let _registered = crate::interrupt::register(work.path());
    let layout = Layout::new(work.path(), loader.runtime_folder())?;
    unpack(artifact, &layout.task)?;
    for layer in layers {
        // A later layer's files win, as on Lambda.
        unpack(layer, &layout.opt)?;
    }
    let mut notes = stand_in_runtime(inventory, &layout.runtime, loader)?;
    let interpreter = Interpreter::find(function, loader)?;
    notes.extend(interpreter.note.clone());
    let event = options
        .event
        .as_deref()
        .map(crate::fs::canonicalize)
        .transpose()?;
    let run = interpreter.run(function, &layout, event.as_deref(), options)?;
    if !run.stood_in.is_empty() {
        notes.push(format!(
            "the runtime's {} not installed here: stood in by modules that load but do nothing, so calls into them were not checked",
            run.stood_in.join(", ")
        ));
    }
    let error = run.error();
    let (summary, excerpt) = summarize(loader, error.as_deref());
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
    let input_layout = Layout::new(input_work.path(), loader.runtime_folder())?;
    materialize_input(inventory, &input_layout.task)?;
    stand_in_runtime(inventory, &input_layout.runtime, loader)?;
    let input_run = interpreter.run(function, &input_layout, event.as_deref(), options)?;
    report.outcome = "failed";
    if !input_run.ok() {
        let same = match (run.timed_out, input_run.timed_out) {
            (true, true) => true,
            (false, false) => {
                loader.error_key(&run.error_text) == loader.error_key(&input_run.error_text)
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
pub(crate) struct Layout {
    pub(crate) root: PathBuf,
    pub(crate) task: PathBuf,
    pub(crate) opt: PathBuf,
    pub(crate) runtime: PathBuf,
}

impl Layout {
    fn new(root: &Path, runtime_folder: Option<&str>) -> Result<Layout> {
        let layout = Layout {
            root: root.to_path_buf(),
            task: root.join("task"),
            opt: root.join("opt"),
            runtime: runtime_folder.map_or_else(|| root.to_path_buf(), |folder| root.join(folder)),
        };
        for folder in [&layout.task, &layout.opt, &layout.runtime] {
            crate::fs::create_dir_all(folder)?;
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
    let file = crate::fs::open(zip)?;
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
        crate::fs::create_dir_all(parent)?;
    }
    let target = match &file.link_target {
        Some(target) => PathBuf::from(target),
        None => file.source.clone(),
    };
    if path.symlink_metadata().is_err() {
        crate::fs::symlink(&target, &path)?;
    }
    Ok(())
}

/// Puts what the runtime ships into `runtime`: the input's own copies of the runtime's
/// packages when it has them (a dev dependency, or dropped with `--drop-runtime-sdk`), else a
/// stand-in that loads but does nothing, for each one the user's code imports. Returns notes.
fn stand_in_runtime(
    inventory: &Inventory,
    runtime: &Path,
    loader: &dyn Loader,
) -> Result<Vec<String>> {
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
    notes.extend(loader.stand_in(inventory, runtime, &installed)?);
    Ok(notes)
}

/// The local interpreter for the function's runtime.
struct Interpreter {
    loader: &'static dyn Loader,
    program: PathBuf,
    label: String,
    note: Option<String>,
}

impl Interpreter {
    fn find(function: &Function, loader: &'static dyn Loader) -> Result<Interpreter> {
        let runtime = function.runtime;
        let (candidates, wanted, wanted_label) = loader.interpreters(runtime);
        for candidate in &candidates {
            let Some(program) = on_path(candidate) else {
                continue;
            };
            let Some(version) = version(&program) else {
                continue;
            };
            let label = format!("{candidate} {version}");
            let note = (!version.starts_with(&wanted)).then(|| {
                format!(
                    "the local {label} is not the runtime's {wanted_label}: the handler was checked with the local one"
                )
            });
            return Ok(Interpreter {
                loader,
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
        let (script_name, script) = self.loader.script();
        let loader = layout.root.join(script_name);
        crate::fs::write(&loader, script)?;
        let (export, module) = handler_parts(&function.handler.spec);
        let mut command = Command::new(&self.program);
        let event_arg = event
            .map(|path| path.display().to_string())
            .unwrap_or_default();
        let loader_environment = self.loader.arguments(
            &mut command,
            function,
            layout,
            &loader,
            (module, export),
            &event_arg,
            &result_file,
        );
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
            .envs(loader_environment)
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
        let result = crate::fs::read_to_string(&result_file).ok().map(|text| {
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
        let _ = crate::fs::remove_file(&result_file);
        // Modules the Python loader stood in for (it writes their names here).
        let stood_in: Vec<String> = crate::fs::read_to_string(layout.root.join("stand-ins.txt"))
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
fn summarize(loader: &dyn Loader, error: Option<&str>) -> (Option<String>, Vec<String>) {
    let Some(error) = error else {
        return (None, Vec::new());
    };
    let key = loader.error_key(error).to_string();
    let lines: Vec<&str> = error
        .lines()
        .filter(|line| !line.trim().is_empty() && line.trim() != key)
        .collect();
    let excerpt = if loader.frames_last() {
        &lines[lines.len().saturating_sub(8)..]
    } else {
        &lines[..lines.len().min(8)]
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

/// What an interpreted ecosystem (Node.js, Python) gives the smoke run: its interpreters, its
/// loader script and how to call it, its stand-ins for the runtime's packages, and how its
/// errors read.
pub(crate) trait Loader: Sync {
    /// The interpreters to try in order, the version prefix the runtime's has (`v22.`, `3.12.`)
    /// and its name for notes (`Node 22`).
    fn interpreters(&self, runtime: crate::lambda::Runtime) -> (Vec<String>, String, String);

    /// The loader script's file name and text.
    fn script(&self) -> (&'static str, &'static str);

    /// Where what the runtime ships goes, under the run's folder (`None`: the folder itself).
    fn runtime_folder(&self) -> Option<&'static str>;

    /// Adds the loader's arguments to `command`; returns environment variables it needs.
    #[allow(clippy::too_many_arguments)]
    fn arguments(
        &self,
        command: &mut Command,
        function: &Function,
        layout: &Layout,
        loader: &Path,
        handler: (&str, &str),
        event: &str,
        result: &Path,
    ) -> Vec<(String, String)>;

    /// Stands in for the runtime's packages the code imports that are not `installed` here;
    /// notes saying so.
    fn stand_in(
        &self,
        inventory: &Inventory,
        runtime: &Path,
        installed: &BTreeSet<String>,
    ) -> Result<Vec<String>>;

    /// The line that identifies an error, to tell whether the input fails the same way.
    fn error_key<'a>(&self, text: &'a str) -> &'a str;

    /// Whether the frames nearest the error are its last lines (a Python traceback) rather
    /// than its first (a Node stack).
    fn frames_last(&self) -> bool;
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
