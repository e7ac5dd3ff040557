//! The smoke run of a custom runtime: lamina serves the Lambda Runtime API on a loopback port
//! (`runtime_api`), starts the unpacked artifact's `bootstrap` as Lambda starts it (its own
//! process group, in the task folder, a cleared environment holding the variables Lambda sets
//! for OS-only runtimes and the function's), hands it the event, and reads what it answers.
//! Once it answers, or on the timeout, its whole process group is ended: Lambda freezes the
//! process after an answer, and a second `next` would wait forever.
//!
//! It runs on this machine's kernel and with this machine's shared libraries: what the image
//! lacks (a library, a newer glibc) is the scan's finding, not this run's.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::model::Inventory;
use crate::smoke::{SmokeOptions, SmokeReport};

use serde::Serialize;

use super::runtime_api::{Answer, Invocation, Server};

/// What the bootstrap did with the event. Shaped like `smoke::SmokeReport`.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// It answered the event with a response.
    pub ok: bool,
    /// `passed` or `failed`.
    pub outcome: &'static str,
    /// What it answered: `response`, `error` (the handler failed), `init_error` (the runtime
    /// failed to start); `None` when it exited or timed out first.
    pub answered: Option<&'static str>,
    /// The error in one line.
    pub summary: Option<String>,
    /// The lines nearest the error, at most eight: a reported error's stack trace, else the
    /// first lines the bootstrap wrote to stderr.
    pub excerpt: Vec<String>,
    /// The whole error: the reported error's body, then what the bootstrap wrote to stderr.
    pub error: Option<String>,
    /// It did not answer within the timeout.
    pub timed_out: bool,
    /// Its exit status when it exited before answering (`None` when killed by a signal).
    pub exit_status: Option<i32>,
    /// The response (or error) body, cut to 4 KiB.
    pub result: Option<String>,
    pub notes: Vec<String>,
    /// The Runtime API requests it made, in order (`GET /2018-06-01/runtime/invocation/next`).
    pub requests: Vec<String>,
}

/// Where and how to run a bootstrap.
#[derive(Debug, Clone)]
pub struct Options {
    /// The unpacked function zip: `/var/task`.
    pub task: PathBuf,
    /// The unpacked layers (`/opt`), when any: `opt/lib` is on `LD_LIBRARY_PATH` and `opt/bin`
    /// on `PATH`, as on Lambda.
    pub opt: Option<PathBuf>,
    /// The executable, relative to `task`: `bootstrap`.
    pub bootstrap: String,
    /// `_HANDLER`: what the function's configuration names (a custom runtime may ignore it).
    pub handler: String,
    pub function_name: String,
    pub event: Vec<u8>,
    /// The function's environment; wins over Lambda's variables.
    pub environment: Vec<(String, String)>,
    pub timeout: Duration,
}

/// Runs `task_dir/bootstrap` against lamina's Runtime API with `event`: the function's
/// environment on top of Lambda's variables, ended after `timeout`.
pub fn run(
    task_dir: &Path,
    bootstrap: &str,
    event: &[u8],
    environment: &[(String, String)],
    timeout: Duration,
) -> Outcome {
    run_with(&Options {
        task: task_dir.to_path_buf(),
        opt: None,
        bootstrap: bootstrap.to_string(),
        handler: bootstrap.to_string(),
        function_name: "lamina-smoke".to_string(),
        event: event.to_vec(),
        environment: environment.to_vec(),
        timeout,
    })
}

const RESULT_LIMIT: usize = 4096;

/// Runs a bootstrap as `options` say.
pub fn run_with(options: &Options) -> Outcome {
    let mut outcome = Outcome {
        ok: false,
        outcome: "failed",
        answered: None,
        summary: None,
        excerpt: Vec::new(),
        error: None,
        timed_out: false,
        exit_status: None,
        result: None,
        notes: vec![
            "the bootstrap ran on this machine, with its shared libraries and glibc; what the runtime's image lacks is the scan's finding".to_string(),
        ],
        requests: Vec::new(),
    };
    let program = options.task.join(&options.bootstrap);
    let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".to_string());
    let server = match Server::start(Invocation::new(
        &options.function_name,
        &region,
        options.event.clone(),
        options.timeout,
    )) {
        Ok(server) => server,
        Err(error) => {
            outcome.summary = Some(format!(
                "cannot serve the Runtime API on 127.0.0.1: {error}"
            ));
            return outcome;
        }
    };
    // A private, writable home: Lambda gives the function /tmp and nothing else.
    let scratch = match tempfile::tempdir() {
        Ok(scratch) => scratch,
        Err(error) => {
            outcome.summary = Some(format!("cannot make a temporary folder: {error}"));
            return outcome;
        }
    };
    let _registered = crate::interrupt::register(scratch.path());
    let lambda_path = |folder: &Path| folder.display().to_string();
    let mut library_path = vec![
        lambda_path(&options.task),
        lambda_path(&options.task.join("lib")),
    ];
    let mut path = "/usr/local/bin:/usr/bin/:/bin".to_string();
    if let Some(opt) = &options.opt {
        library_path.push(lambda_path(&opt.join("lib")));
        path.push(':');
        path.push_str(&lambda_path(&opt.join("bin")));
    }
    let mut command = Command::new(&program);
    command
        .current_dir(&options.task)
        .env_clear()
        .env("PATH", path)
        .env("LD_LIBRARY_PATH", library_path.join(":"))
        .env("HOME", scratch.path())
        .env("LANG", "en_US.UTF-8")
        .env("TZ", ":UTC")
        .env("AWS_LAMBDA_RUNTIME_API", server.address().to_string())
        .env("_HANDLER", &options.handler)
        .env("LAMBDA_TASK_ROOT", &options.task)
        .env("LAMBDA_RUNTIME_DIR", scratch.path())
        .env("AWS_LAMBDA_FUNCTION_NAME", &options.function_name)
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
        .env(
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{}", options.function_name),
        )
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "lamina-smoke")
        .env("AWS_REGION", &region)
        .env("AWS_DEFAULT_REGION", &region)
        .envs(crate::smoke::CREDENTIALS)
        .envs(options.environment.iter().map(|(key, value)| (key, value)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group: the end takes whatever it started too.
        .process_group(0);
    let started = Instant::now();
    // A file just written (the unpacked zip) may still be open for writing in a process
    // another thread is forking: exec then fails with ETXTBSY until that child execs or exits.
    let mut spawned = command.spawn();
    for _ in 0..50 {
        match &spawned {
            Err(error) if error.raw_os_error() == Some(libc::ETXTBSY) => {
                std::thread::sleep(Duration::from_millis(20));
                spawned = command.spawn();
            }
            _ => break,
        }
    }
    let mut child = match spawned {
        Ok(child) => child,
        Err(error) => {
            outcome.summary = Some(format!(
                "cannot run {}: {error}",
                shown(&program, &options.task)
            ));
            return outcome;
        }
    };
    let stdout = crate::smoke::capture(child.stdout.take());
    let stderr = crate::smoke::capture(child.stderr.take());
    let mut exited = None;
    let answer = loop {
        if let Some(answer) = server.wait(Duration::from_millis(20)) {
            break Some(answer);
        }
        if let Ok(Some(status)) = child.try_wait() {
            exited = Some(status);
            // An answer sent just before exiting (an init error, then exit 1) still counts.
            break server.wait(Duration::from_millis(100));
        }
        if started.elapsed() > options.timeout {
            outcome.timed_out = true;
            break None;
        }
    };
    crate::smoke::kill_group(child.id());
    let _ = child.wait();
    let _ = stdout.join();
    let stderr = stderr.join().unwrap_or_default();
    outcome.requests = server.requests();
    drop(server);
    let stderr = shown_text(&String::from_utf8_lossy(&stderr), &options.task);
    let stderr = stderr.trim();

    match answer {
        Some(Answer::Response(body)) => {
            outcome.ok = true;
            outcome.outcome = "passed";
            outcome.answered = Some("response");
            outcome.result = Some(cut(&String::from_utf8_lossy(&body)));
        }
        Some(answer @ (Answer::Error { .. } | Answer::InitError { .. })) => {
            let (init, error_type, body) = match answer {
                Answer::InitError { error_type, body } => (true, error_type, body),
                Answer::Error { error_type, body } => (false, error_type, body),
                Answer::Response(body) => (false, None, body),
            };
            outcome.answered = Some(if init { "init_error" } else { "error" });
            let reported = Reported::parse(error_type.as_deref(), &body);
            let what = if init {
                "the runtime failed to start"
            } else {
                "the handler failed"
            };
            outcome.summary = Some(format!("{what}: {}", reported.line()));
            outcome.excerpt = if reported.trace.is_empty() {
                first_lines(stderr)
            } else {
                reported.trace.iter().take(8).cloned().collect()
            };
            let body = String::from_utf8_lossy(&body);
            outcome.result = Some(cut(&body));
            outcome.error = Some(join_nonempty(&[body.trim(), stderr]));
        }
        None if outcome.timed_out => {
            outcome.summary = Some(format!(
                "the bootstrap did not answer within {} s (--smoke-timeout); it and everything it started were ended",
                options.timeout.as_secs()
            ));
            outcome.excerpt = last_lines(stderr);
            outcome.error = Some(join_nonempty(&[
                outcome.summary.as_deref().unwrap_or_default(),
                stderr,
            ]));
        }
        None => {
            let status = exited.and_then(|status| status.code());
            outcome.exit_status = status;
            let how = match (status, exited) {
                (Some(code), _) => format!("exited with status {code}"),
                (None, Some(status)) => {
                    use std::os::unix::process::ExitStatusExt;
                    format!(
                        "was killed by signal {}",
                        status.signal().unwrap_or_default()
                    )
                }
                (None, None) => "ended".to_string(),
            };
            let first = stderr.lines().map(str::trim).find(|line| !line.is_empty());
            outcome.summary = Some(match first {
                Some(line) => format!("the bootstrap {how} before answering: {line}"),
                None => format!("the bootstrap {how} before answering and printed nothing"),
            });
            outcome.excerpt = first_lines(stderr);
            outcome.error = Some(join_nonempty(&[
                outcome.summary.as_deref().unwrap_or_default(),
                stderr,
            ]));
        }
    }
    outcome
}

/// An error the bootstrap reported: `{"errorType": ..., "errorMessage": ..., "stackTrace": [...]}`
/// by the convention every runtime client follows, else the raw body.
struct Reported {
    kind: Option<String>,
    message: String,
    trace: Vec<String>,
}

impl Reported {
    fn parse(header_type: Option<&str>, body: &[u8]) -> Reported {
        let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
        let field = |name: &str| {
            json.as_ref()
                .and_then(|json| json.get(name))
                .and_then(|value| value.as_str())
                .map(str::to_string)
        };
        let trace = json
            .as_ref()
            .and_then(|json| json.get("stackTrace"))
            .and_then(|value| value.as_array())
            .map(|lines| {
                lines
                    .iter()
                    .map(|line| match line.as_str() {
                        Some(text) => text.to_string(),
                        None => line.to_string(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Reported {
            kind: field("errorType").or_else(|| header_type.map(str::to_string)),
            message: field("errorMessage")
                .unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_string()),
            trace,
        }
    }

    fn line(&self) -> String {
        let message = self.message.lines().next().unwrap_or_default();
        match &self.kind {
            Some(kind) if !message.is_empty() => format!("{kind}: {message}"),
            Some(kind) => kind.clone(),
            None if message.is_empty() => "an error with no message".to_string(),
            None => message.to_string(),
        }
    }
}

fn cut(text: &str) -> String {
    let mut text = text.trim().to_string();
    if text.len() > RESULT_LIMIT {
        let mut end = RESULT_LIMIT;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

fn first_lines(text: &str) -> Vec<String> {
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .take(8)
        .map(str::to_string)
        .collect()
}

fn last_lines(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect();
    lines[lines.len().saturating_sub(8)..]
        .iter()
        .map(|line| line.to_string())
        .collect()
}

fn join_nonempty(parts: &[&str]) -> String {
    parts
        .iter()
        .filter(|part| !part.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join("\n")
}

/// A path as Lambda shows it (`/var/task/bootstrap`).
fn shown(path: &Path, task: &Path) -> String {
    shown_text(&path.display().to_string(), task)
}

fn shown_text(text: &str, task: &Path) -> String {
    text.replace(&task.display().to_string(), "/var/task")
}

/// A custom runtime: `bootstrap` runs against lamina's Runtime API and answers the event
/// (`{}` without `--smoke-event`); the unslimmed input's executable, laid out the same way,
/// answers it too, and the two answers must agree.
pub fn smoke(
    inventory: &Inventory,
    artifact: &Path,
    layers: &[PathBuf],
    options: &SmokeOptions,
) -> Result<SmokeReport> {
    let function = &inventory.function;
    let event = match &options.event {
        Some(path) => crate::fs::read(path)?,
        None => b"{}".to_vec(),
    };
    let environment: Vec<(String, String)> = options
        .environment
        .iter()
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    let run = |task: &Path, opt: Option<PathBuf>| {
        run_with(&Options {
            task: task.to_path_buf(),
            opt,
            bootstrap: crate::custom::layout::BOOTSTRAP.to_string(),
            handler: function.handler.spec.clone(),
            function_name: function.name.clone(),
            event: event.clone(),
            environment: environment.clone(),
            timeout: options.timeout,
        })
    };
    let work = tempfile::tempdir().map_err(|error| Error::io(std::env::temp_dir(), error))?;
    let _registered = crate::interrupt::register(work.path());
    let task = work.path().join("task");
    let opt = work.path().join("opt");
    crate::fs::create_dir_all(&task)?;
    crate::smoke::unpack(artifact, &task)?;
    for layer in layers {
        crate::fs::create_dir_all(&opt)?;
        crate::smoke::unpack(layer, &opt)?;
    }
    let slim = run(&task, (!layers.is_empty()).then(|| opt.clone()));
    let input_work = tempfile::tempdir().map_err(|error| Error::io(std::env::temp_dir(), error))?;
    let _input_registered = crate::interrupt::register(input_work.path());
    let input_task = input_work.path().join("task");
    crate::fs::create_dir_all(&input_task)?;
    crate::smoke::materialize_input(inventory, &input_task)?;
    let input = run(&input_task, (!layers.is_empty()).then(|| opt.clone()));
    let mut notes = slim.notes.clone();
    if options.event.is_none() {
        notes.push("no --smoke-event: bootstrap was handed the event {}".to_string());
    }
    let mut report = SmokeReport {
        ok: slim.ok,
        outcome: "passed",
        interpreter: "bootstrap, through lamina's Lambda Runtime API on 127.0.0.1".to_string(),
        error: slim.error.clone(),
        summary: slim.summary.clone(),
        excerpt: slim.excerpt.clone(),
        input_error: None,
        timed_out: slim.timed_out,
        notes,
        invoked: true,
        result: slim.result.clone(),
    };
    match (slim.ok, input.ok) {
        (true, true) if slim.result != input.result => {
            report.ok = false;
            report.outcome = "failed";
            report.summary =
                Some("the artifact's bootstrap answers differently from the input's".to_string());
            report.error = Some(format!(
                "artifact: {}\ninput: {}",
                slim.result.as_deref().unwrap_or(""),
                input.result.as_deref().unwrap_or("")
            ));
        }
        (true, _) => {}
        (false, false) if slim.summary == input.summary => {
            // The input fails the same way: the handler's own failure, not the artifact's.
            report.ok = true;
            report.outcome = "inconclusive";
            report.input_error = input.error.clone().or(input.summary.clone());
        }
        (false, _) => report.outcome = "failed",
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A bootstrap written in shell with curl is what the AWS tutorial shows; these tests use
    /// the Runtime API from C instead (curl may be missing), compiled by gcc.
    fn bootstrap(folder: &Path, main: &str) -> bool {
        let source = format!("{RUNTIME_C}\n{main}\n");
        crate::custom::elf::tests::gcc(folder, "bootstrap", &source, &["-O1"]).is_some()
    }

    /// A tiny Runtime API client: one request per connection, `Connection: close`.
    const RUNTIME_C: &str = r#"
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
static char buffer[65536];
static int call(const char *method, const char *path, const char *headers, const char *body) {
  char host[64]; strncpy(host, getenv("AWS_LAMBDA_RUNTIME_API"), 63); host[63] = 0;
  char *colon = strchr(host, ':'); *colon = 0;
  struct sockaddr_in address = {0};
  address.sin_family = AF_INET; address.sin_port = htons(atoi(colon + 1));
  inet_pton(AF_INET, host, &address.sin_addr);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0) return -1;
  char request[8192];
  int length = snprintf(request, sizeof request,
    "%s /2018-06-01/runtime%s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n%sContent-Length: %zu\r\n\r\n%s",
    method, path, headers, strlen(body), body);
  write(fd, request, length);
  int total = 0, got;
  while ((got = read(fd, buffer + total, sizeof buffer - 1 - total)) > 0) total += got;
  buffer[total] = 0; close(fd); return total;
}
static const char *event_body(void) { char *body = strstr(buffer, "\r\n\r\n"); return body ? body + 4 : ""; }
static void request_id(char *id) {
  char *at = strstr(buffer, "Lambda-Runtime-Aws-Request-Id: ");
  sscanf(at + 31, "%127s", id);
}
"#;

    fn task() -> tempfile::TempDir {
        tempfile::tempdir().unwrap()
    }

    #[test]
    fn an_answer_is_read_and_the_process_is_ended() {
        let folder = task();
        let main = r#"int main(void) {
  call("GET", "/invocation/next", "", "");
  char id[128]; request_id(id);
  char path[256], answer[1024];
  snprintf(path, sizeof path, "/invocation/%s/response", id);
  snprintf(answer, sizeof answer, "{\"echo\":%s,\"fn\":\"%s\",\"task\":\"%s\"}", event_body(),
           getenv("AWS_LAMBDA_FUNCTION_NAME"), getenv("LAMBDA_TASK_ROOT") ? "set" : "unset");
  call("POST", path, "", answer);
  call("GET", "/invocation/next", "", "");
  return 0;
}"#;
        if !bootstrap(folder.path(), main) {
            return;
        }
        let outcome = run(
            folder.path(),
            "bootstrap",
            br#"{"n":1}"#,
            &[("AWS_LAMBDA_FUNCTION_NAME".into(), "orders".into())],
            Duration::from_secs(20),
        );
        assert!(outcome.ok, "{outcome:?}");
        assert_eq!(outcome.outcome, "passed");
        assert_eq!(
            outcome.result.as_deref(),
            Some(r#"{"echo":{"n":1},"fn":"orders","task":"set"}"#)
        );
        assert!(!outcome.timed_out);
        // Ended at the answer: the next `next` may or may not have been sent by then.
        assert!(outcome.requests[0].ends_with("/invocation/next"));
        assert!(outcome.requests[1].ends_with("/response"));
    }

    #[test]
    fn a_reported_error_is_summarized() {
        let folder = task();
        let main = r#"int main(void) {
  call("GET", "/invocation/next", "", "");
  char id[128]; request_id(id);
  char path[256];
  snprintf(path, sizeof path, "/invocation/%s/error", id);
  fprintf(stderr, "about to fail\n");
  call("POST", path, "Lambda-Runtime-Function-Error-Type: Unhandled\r\n",
       "{\"errorType\":\"OrderNotFound\",\"errorMessage\":\"no order 7\",\"stackTrace\":[\"main.go:12\",\"main.go:40\"]}");
  for (;;) pause();
}"#;
        if !bootstrap(folder.path(), main) {
            return;
        }
        let outcome = run(
            folder.path(),
            "bootstrap",
            b"{}",
            &[],
            Duration::from_secs(20),
        );
        assert!(!outcome.ok);
        assert_eq!(outcome.answered, Some("error"));
        assert_eq!(
            outcome.summary.as_deref(),
            Some("the handler failed: OrderNotFound: no order 7")
        );
        assert_eq!(outcome.excerpt, ["main.go:12", "main.go:40"]);
        assert!(outcome.error.as_deref().unwrap().contains("about to fail"));
    }

    #[test]
    fn an_init_error_is_told_apart() {
        let folder = task();
        let main = r#"int main(void) {
  call("POST", "/init/error", "Lambda-Runtime-Function-Error-Type: Runtime.ConfigMissing\r\n",
       "{\"errorType\":\"ConfigMissing\",\"errorMessage\":\"TABLE is not set\"}");
  return 1;
}"#;
        if !bootstrap(folder.path(), main) {
            return;
        }
        let outcome = run(
            folder.path(),
            "bootstrap",
            b"{}",
            &[],
            Duration::from_secs(20),
        );
        assert_eq!(outcome.answered, Some("init_error"), "{outcome:?}");
        assert_eq!(
            outcome.summary.as_deref(),
            Some("the runtime failed to start: ConfigMissing: TABLE is not set")
        );
    }

    #[test]
    fn an_exit_before_answering_gives_its_status_and_stderr() {
        let folder = task();
        let main = r#"int main(void) {
  fprintf(stderr, "panic: cannot read %s/config.json\n", getenv("LAMBDA_TASK_ROOT"));
  return 2;
}"#;
        if !bootstrap(folder.path(), main) {
            return;
        }
        let outcome = run(
            folder.path(),
            "bootstrap",
            b"{}",
            &[],
            Duration::from_secs(20),
        );
        assert_eq!(outcome.exit_status, Some(2), "{outcome:?}");
        assert_eq!(
            outcome.summary.as_deref(),
            Some(
                "the bootstrap exited with status 2 before answering: panic: cannot read /var/task/config.json"
            )
        );
    }

    #[test]
    fn a_bootstrap_that_never_answers_is_ended_at_the_timeout() {
        let folder = task();
        let main = r#"int main(void) {
  call("GET", "/invocation/next", "", "");
  if (fork() == 0) { for (;;) pause(); }
  for (;;) pause();
}"#;
        if !bootstrap(folder.path(), main) {
            return;
        }
        let started = Instant::now();
        let outcome = run(
            folder.path(),
            "bootstrap",
            b"{}",
            &[],
            Duration::from_secs(1),
        );
        assert!(outcome.timed_out, "{outcome:?}");
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(
            outcome
                .summary
                .as_deref()
                .unwrap()
                .starts_with("the bootstrap did not answer within 1 s")
        );
    }

    #[test]
    fn a_missing_or_foreign_bootstrap_fails_with_the_reason() {
        let folder = task();
        let outcome = run(
            folder.path(),
            "bootstrap",
            b"{}",
            &[],
            Duration::from_secs(5),
        );
        assert!(!outcome.ok);
        assert!(
            outcome
                .summary
                .as_deref()
                .unwrap()
                .starts_with("cannot run /var/task/bootstrap:"),
            "{outcome:?}"
        );
        let script = folder.path().join("bootstrap");
        crate::fs::write(&script, b"not a program").unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let outcome = run(
            folder.path(),
            "bootstrap",
            b"{}",
            &[],
            Duration::from_secs(5),
        );
        assert!(!outcome.ok);
    }
}
