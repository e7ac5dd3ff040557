//! Custom runtimes, end to end through the library's building blocks (`lamina::custom`): a Go
//! function (`testdata/provided/go-orders`, standard library only) and a Rust function
//! (`testdata/provided/rust-orders`, the `lambda_runtime` crate) are built here with debug
//! information, scanned, stripped, and run against lamina's Runtime API before and after.
//!
//! Builds go to a cache outside the repo (`$LAMINA_E2E_CACHE`, else
//! `~/.cache/lamina-e2e-custom`). Without `go` these tests skip with a message, except under
//! `CI`, where a missing tool fails them.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use fs_err as fs;
use lamina::custom::elf::{self, Linking, Toolchain};
use lamina::custom::image::{self, Concern, Severity};
use lamina::custom::{smoke, strip};
use lamina::model::{Arch, Runtime};
use sha2::{Digest, Sha256};

use crate::install::{cache_root, show};

fn provided_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/provided")
}

fn event() -> Vec<u8> {
    fs::read(provided_dir().join("event.json")).unwrap()
}

/// Whether `command` runs; a missing tool skips the test with a message, but fails it in CI.
fn have(command: &str, version_arg: &str, what: &str) -> bool {
    if Command::new(command)
        .arg(version_arg)
        .output()
        .is_ok_and(|output| output.status.success())
    {
        return true;
    }
    let ci = std::env::var("CI").is_ok_and(|value| !value.is_empty() && value != "false");
    assert!(
        !ci,
        "`{command}` is not on PATH; CI must install {what} (.ci/run does)"
    );
    eprintln!("skipped: `{command}` is not on PATH; install {what} to run this test");
    false
}

/// The SHA-256 of the files (sorted) and `salt`, as 12 hex digits.
fn content_key(files: &[PathBuf], salt: &str) -> String {
    let mut hasher = Sha256::new();
    for file in files {
        hasher.update(file.file_name().unwrap().as_encoded_bytes());
        hasher.update(fs::read(file).unwrap());
    }
    hasher.update(salt);
    hex::encode(hasher.finalize())[..12].to_string()
}

/// The three builds of the Go function.
struct GoBuilds {
    /// `go build -o bootstrap` with cgo: linked against the system's glibc.
    dynamic: PathBuf,
    /// `CGO_ENABLED=0`: static.
    static_: PathBuf,
    /// `GOARCH=arm64 CGO_ENABLED=0`.
    arm64: PathBuf,
}

/// Builds the Go function once per content and Go version into the cache, each variant into
/// a temporary folder renamed into place.
fn go_builds() -> Option<&'static GoBuilds> {
    static BUILDS: OnceLock<Option<GoBuilds>> = OnceLock::new();
    BUILDS
        .get_or_init(|| {
            if !have("go", "version", "Go (Debian: golang-go)") {
                return None;
            }
            let source = provided_dir().join("go-orders");
            let version = Command::new("go").arg("version").output().unwrap();
            let key = content_key(
                &[source.join("go.mod"), source.join("main.go")],
                &String::from_utf8_lossy(&version.stdout),
            );
            let root = cache_root("lamina-e2e-custom").join(format!("go-orders-{key}"));
            let build = |variant: &str, environment: &[(&str, &str)]| -> PathBuf {
                let folder = root.join(variant);
                let binary = folder.join("bootstrap");
                if binary.is_file() {
                    return binary;
                }
                fs::create_dir_all(&root).unwrap();
                let work = tempfile::tempdir_in(&root).unwrap();
                let output = Command::new("go")
                    .args(["build", "-o"])
                    .arg(work.path().join("bootstrap"))
                    .arg(".")
                    .current_dir(&source)
                    // The module has no dependencies: nothing to fetch.
                    .env("GOPROXY", "off")
                    // Go's build cache in the tests' own folder, never the user's ~/.cache/go-build.
                    .env("GOCACHE", root.join("go-cache"))
                    .env("GOPATH", root.join("go-path"))
                    .env("GOFLAGS", "-mod=mod")
                    .envs(environment.iter().copied())
                    .output()
                    .unwrap();
                assert!(
                    output.status.success(),
                    "go build failed:\n{}",
                    show(&output)
                );
                // Dropping `work` after the rename finds nothing left to remove.
                match fs::rename(work.path(), &folder) {
                    Ok(()) => {}
                    // Another process finished first: its build is as good.
                    Err(_) if binary.is_file() => {}
                    Err(error) => panic!("{error}"),
                }
                binary
            };
            Some(GoBuilds {
                dynamic: build("cgo", &[("CGO_ENABLED", "1")]),
                static_: build("static", &[("CGO_ENABLED", "0")]),
                arm64: build("arm64", &[("CGO_ENABLED", "0"), ("GOARCH", "arm64")]),
            })
        })
        .as_ref()
}

/// Builds the Rust function (debug profile: debug information on) with `cargo build --locked`
/// into a target folder in the cache; cargo's own lock keeps concurrent builds apart.
fn rust_build() -> &'static Path {
    static BUILD: OnceLock<PathBuf> = OnceLock::new();
    BUILD.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
        let target = cache_root("lamina-e2e-custom").join("rust-orders-target");
        let output = Command::new(&cargo)
            .args(["build", "--locked", "--manifest-path"])
            .arg(provided_dir().join("rust-orders/Cargo.toml"))
            .env("CARGO_TARGET_DIR", &target)
            // Its crates are downloaded into the tests' own folder, never the user's ~/.cargo.
            .env(
                "CARGO_HOME",
                cache_root("lamina-e2e-custom").join("cargo-home"),
            )
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "cargo build of rust-orders failed:\n{}",
            show(&output)
        );
        target.join("debug/bootstrap")
    })
}

/// A task folder (`/var/task`) holding `data` as `bootstrap`, mode 0755.
fn task_with(data: &[u8]) -> tempfile::TempDir {
    let task = tempfile::tempdir().unwrap();
    let path = task.path().join("bootstrap");
    fs::write(&path, data).unwrap();
    fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    task
}

fn answer(data: &[u8], environment: &[(String, String)], event: &[u8]) -> smoke::Outcome {
    let task = task_with(data);
    smoke::run(
        task.path(),
        "bootstrap",
        event,
        environment,
        Duration::from_secs(60),
    )
}

/// The function's answer to `testdata/provided/event.json`: an API Gateway proxy response
/// with order 42 in euros.
fn check_order_answer(outcome: &smoke::Outcome, name: &str) -> String {
    assert!(outcome.ok, "{name} did not answer: {outcome:#?}");
    let result = outcome.result.clone().unwrap();
    let response: serde_json::Value = serde_json::from_str(&result).unwrap();
    assert_eq!(response["statusCode"], 200, "{name}: {result}");
    let body: serde_json::Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["id"], "42", "{name}: {body}");
    assert_eq!(body["total"], "114.52 EUR", "{name}: {body}");
    // The request id came from the Runtime API's header.
    assert!(
        body["requestId"]
            .as_str()
            .unwrap()
            .starts_with("lamina-smoke-"),
        "{name}: {body}"
    );
    result
}

/// Strips `binary` both ways; each result is smaller, has no debug sections left, and answers
/// the event exactly as the input does. Returns the sizes: input, without debug sections,
/// without symbols too.
fn strips_and_answers_the_same(binary: &Path, name: &str) -> (usize, usize, usize) {
    let data = fs::read(binary).unwrap();
    let facts = elf::facts(&data).unwrap();
    assert!(facts.debug_bytes > 0, "{name} was built without debug info");
    let before = check_order_answer(&answer(&data, &[], &event()), name);
    let mut sizes = [data.len(), 0, 0];
    for (slot, symbols) in [(1, false), (2, true)] {
        let stripped = strip::strip(&data, symbols).unwrap();
        assert!(stripped.len() < data.len(), "{name}: not smaller");
        let after_facts = elf::facts(&stripped).unwrap();
        assert_eq!(after_facts.debug_bytes, 0, "{name}: debug sections left");
        assert_eq!(after_facts.needed, facts.needed);
        assert_eq!(after_facts.glibc, facts.glibc);
        assert_eq!(strip::strip(&stripped, symbols).unwrap(), stripped);
        let after = check_order_answer(&answer(&stripped, &[], &event()), name);
        assert_eq!(after, before, "{name}: answers otherwise once stripped");
        sizes[slot] = stripped.len();
    }
    eprintln!(
        "{name}: {} bytes; without debug sections {} bytes; without symbols too {} bytes",
        sizes[0], sizes[1], sizes[2]
    );
    (sizes[0], sizes[1], sizes[2])
}

fn errors(concerns: &[Concern]) -> Vec<&Concern> {
    concerns
        .iter()
        .filter(|concern| concern.severity() == Severity::Error)
        .collect()
}

#[test]
fn go_builds_scan_as_built() {
    let Some(builds) = go_builds() else { return };

    let dynamic = elf::facts(&fs::read(&builds.dynamic).unwrap()).unwrap();
    assert_eq!(dynamic.toolchain, Some(Toolchain::Go));
    assert_eq!(dynamic.arch(), Some(Arch::X86_64));
    assert_eq!(dynamic.linking, Linking::Dynamic);
    assert!(
        dynamic.needed.contains(&"libc.so.6".to_string()),
        "{dynamic:?}"
    );
    assert!(dynamic.debug_bytes > 0);
    let glibc = dynamic.glibc.expect("a cgo build needs glibc symbols");
    // Built against this machine's glibc (Debian 12: 2.36), it needs more than AL2's 2.26.
    let on_al2 = image::judge(
        &dynamic,
        Runtime::ProvidedAl2,
        Arch::X86_64,
        "/var/task",
        &[],
    );
    if glibc > (2, 26) {
        assert!(
            matches!(errors(&on_al2).as_slice(), [Concern::GlibcTooNew { needed, available: (2, 26) }] if *needed == glibc),
            "{on_al2:?}"
        );
    }

    let static_ = elf::facts(&fs::read(&builds.static_).unwrap()).unwrap();
    assert_eq!(static_.linking, Linking::Static);
    assert!(static_.needed.is_empty() && static_.glibc.is_none());
    assert!(static_.debug_bytes > 0);
    for runtime in [Runtime::ProvidedAl2, Runtime::ProvidedAl2023] {
        assert_eq!(
            image::judge(&static_, runtime, Arch::X86_64, "/var/task", &[]),
            [],
            "{runtime}"
        );
    }

    let arm64 = elf::facts(&fs::read(&builds.arm64).unwrap()).unwrap();
    assert_eq!(arm64.machine, object_em_aarch64());
    assert_eq!(arm64.arch(), Some(Arch::Arm64));
    let concerns = image::judge(
        &arm64,
        Runtime::ProvidedAl2023,
        Arch::X86_64,
        "/var/task",
        &[],
    );
    assert!(
        matches!(
            errors(&concerns).as_slice(),
            [Concern::WrongArch {
                arch: Arch::X86_64,
                ..
            }]
        ),
        "{concerns:?}"
    );
    assert!(
        concerns[0]
            .message(Runtime::ProvidedAl2023)
            .starts_with("built for aarch64 (arm64), but the function runs on x86_64")
    );
    assert_eq!(
        image::judge(
            &arm64,
            Runtime::ProvidedAl2023,
            Arch::Arm64,
            "/var/task",
            &[]
        ),
        []
    );
}

/// `e_machine` of aarch64 (183), without a dev-dependency on `object`.
fn object_em_aarch64() -> u16 {
    183
}

#[test]
fn the_rust_build_scans_as_built() {
    let binary = rust_build();
    let facts = elf::facts(&fs::read(binary).unwrap()).unwrap();
    assert_eq!(facts.toolchain, Some(Toolchain::Rust));
    assert_eq!(facts.linking, Linking::Dynamic);
    for library in ["libc.so.6", "libgcc_s.so.1"] {
        assert!(facts.needed.iter().any(|name| name == library), "{facts:?}");
    }
    assert!(facts.debug_bytes > 0 && facts.symbol_table_bytes > 0);
    let glibc = facts.glibc.expect("std needs versioned glibc symbols");
    assert!(
        glibc > (2, 26),
        "built on this machine, std needs {glibc:?}: more than provided.al2 has"
    );
    // provided.al2: glibc 2.26, an error.
    let on_al2 = image::judge(&facts, Runtime::ProvidedAl2, Arch::X86_64, "/var/task", &[]);
    assert!(
        matches!(
            errors(&on_al2).as_slice(),
            [Concern::GlibcTooNew {
                available: (2, 26),
                ..
            }]
        ),
        "{on_al2:?}"
    );
    // provided.al2023: every library it needs is in the image; glibc is fine up to 2.34.
    let on_al2023 = image::judge(
        &facts,
        Runtime::ProvidedAl2023,
        Arch::X86_64,
        "/var/task",
        &[],
    );
    assert!(
        on_al2023
            .iter()
            .all(|concern| matches!(concern, Concern::GlibcTooNew { .. })),
        "{on_al2023:?}"
    );
    assert_eq!(on_al2023.is_empty(), glibc <= (2, 34), "{on_al2023:?}");
    // The wrong architecture.
    let on_arm = image::judge(
        &facts,
        Runtime::ProvidedAl2023,
        Arch::Arm64,
        "/var/task",
        &[],
    );
    assert!(matches!(on_arm.as_slice(), [Concern::WrongArch { .. }]));
}

#[test]
fn stripped_go_builds_answer_the_event_as_before() {
    let Some(builds) = go_builds() else { return };
    let (input, debug, _) = strips_and_answers_the_same(&builds.dynamic, "go-orders (cgo)");
    assert!(debug < input);
    strips_and_answers_the_same(&builds.static_, "go-orders (static)");
}

#[test]
fn the_stripped_rust_build_answers_the_event_as_before() {
    let (input, debug, symbols) = strips_and_answers_the_same(rust_build(), "rust-orders");
    // A debug build is mostly DWARF.
    assert!(debug * 2 < input, "{input} -> {debug}");
    assert!(symbols < debug);
}

#[test]
fn failures_come_back_through_the_runtime_api() {
    // lambda_runtime reports an event it cannot deserialize as the invocation's error.
    let rust = fs::read(rust_build()).unwrap();
    let outcome = answer(&rust, &[], b"[1, 2]");
    assert_eq!(outcome.answered, Some("error"), "{outcome:#?}");
    assert!(!outcome.ok);
    assert!(
        outcome
            .summary
            .as_deref()
            .unwrap()
            .starts_with("the handler failed: "),
        "{outcome:?}"
    );

    let Some(builds) = go_builds() else { return };
    let go = fs::read(&builds.static_).unwrap();
    // A handler error.
    let outcome = answer(&go, &[], b"[1, 2]");
    assert_eq!(outcome.answered, Some("error"), "{outcome:#?}");
    assert!(
        outcome.summary.as_deref().unwrap().starts_with(
            "the handler failed: HandlerError: the event is not an API Gateway request"
        ),
        "{outcome:?}"
    );
    // An init error: the function's environment is wrong.
    let outcome = answer(
        &go,
        &[("DEFAULT_CURRENCY".to_string(), "XYZ".to_string())],
        &event(),
    );
    assert_eq!(outcome.answered, Some("init_error"), "{outcome:#?}");
    assert_eq!(
        outcome.summary.as_deref(),
        Some(
            "the runtime failed to start: InvalidConfiguration: DEFAULT_CURRENCY \"XYZ\" is not one of USD, EUR, GBP"
        )
    );
    // The arm64 build cannot run here: the smoke run says why rather than hanging.
    let arm64 = fs::read(&builds.arm64).unwrap();
    let outcome = answer(&arm64, &[], &event());
    assert!(!outcome.timed_out, "{outcome:#?}");
    if !outcome.ok {
        // Without an emulator registered for aarch64: exec fails, and the reason is shown.
        assert!(
            outcome
                .summary
                .as_deref()
                .unwrap()
                .starts_with("cannot run /var/task/bootstrap"),
            "{outcome:#?}"
        );
    }
}

/// A function folder as `go build -o bootstrap` leaves it: the executable (mode 0755) beside
/// the sources and a configuration file it reads.
fn function_folder(name: &str, binary: &Path) -> crate::harness::Fixture {
    let fixture = crate::harness::Fixture::empty(name);
    let bootstrap = fixture.root.join("bootstrap");
    fs::copy(binary, &bootstrap).unwrap();
    fs::set_permissions(&bootstrap, std::fs::Permissions::from_mode(0o755)).unwrap();
    fixture
        .file("main.go", "package main\n")
        .file("go.mod", "module example.com/orders\n")
        .file("config/rates.json", "{\"EUR\": 1.0}\n");
    fixture
}

/// The mode the zip gives an entry.
fn zip_mode(zip: &Path, name: &str) -> Option<u32> {
    let mut archive = ::zip::ZipArchive::new(fs::File::open(zip).unwrap()).unwrap();
    let entry = archive.by_name(name).ok()?;
    entry.unix_mode()
}

#[test]
fn lamina_builds_go_and_rust_functions_that_answer_through_its_runtime_api() {
    let Some(go) = go_builds() else {
        return;
    };
    let event = provided_dir().join("event.json");
    let event = event.to_str().unwrap();
    for (name, binary) in [
        ("go-static", go.static_.as_path()),
        ("go-cgo", go.dynamic.as_path()),
        ("rust-orders", rust_build()),
    ] {
        let fixture = function_folder(name, binary);
        let before = fixture.snapshot();
        let built = fixture.build(&[
            "--runtime",
            "provided.al2023",
            "--smoke",
            "--smoke-event",
            event,
        ]);
        assert_eq!(built.code, 0, "{name}: {}", built.report);
        let entries = built.entries();
        assert!(
            entries.contains(&"bootstrap".to_string())
                && entries.contains(&"config/rates.json".to_string())
                && !entries
                    .iter()
                    .any(|entry| entry.ends_with(".go") || entry == "go.mod"),
            "{name}: {entries:?}"
        );
        assert_eq!(
            zip_mode(&built.zip, "bootstrap").map(|mode| mode & 0o777),
            Some(0o755),
            "{name}"
        );
        // Smaller than the input binary: its debug information is gone.
        let task = built.extract();
        let shipped = fs::metadata(task.join("bootstrap")).unwrap().len();
        let input = fs::metadata(binary).unwrap().len();
        assert!(shipped < input, "{name}: {shipped} >= {input}");
        assert!(built.function()["strip_saved_bytes"].as_u64().unwrap() > 0);
        // It answered the event through lamina's Runtime API, as the input does.
        let smoke = &built.function()["smoke"];
        assert_eq!(smoke["outcome"], "passed", "{name}: {smoke}");
        assert!(
            smoke["result"].as_str().unwrap().contains("114.52 EUR"),
            "{name}: {smoke}"
        );
        assert_eq!(fixture.snapshot(), before, "{name}: the input is untouched");
    }
}

#[test]
fn lamina_fails_a_binary_the_runtime_cannot_run() {
    let Some(go) = go_builds() else {
        return;
    };
    // Built here against glibc 2.36 (GLIBC_2.34 symbols): provided.al2 has glibc 2.26.
    let fixture = function_folder("rust-al2", rust_build());
    let built = fixture.build(&["--runtime", "provided.al2"]);
    assert_eq!(built.code, 1);
    let findings = built.report.to_string();
    assert!(findings.contains("native/glibc"), "{findings}");
    // The same binary is fine on provided.al2023.
    let built = fixture.build(&["--runtime", "provided.al2023"]);
    assert_eq!(built.code, 0, "{}", built.report);
    // An arm64 binary on an x86_64 function.
    let fixture = function_folder("go-arm64", &go.arm64);
    let built = fixture.build(&["--runtime", "provided.al2023", "--arch", "x86_64"]);
    assert_eq!(built.code, 1);
    let findings = built.report.to_string();
    assert!(findings.contains("native/wrong-arch"), "{findings}");
}

/// The finding ids of `lamina check ZIP --runtime RUNTIME --json`, with its exit code.
fn check_ids(zip: &Path, runtime: &str) -> (i32, Vec<String>) {
    let output = crate::harness::lamina_command()
        .args(["check"])
        .arg(zip)
        .args(["--runtime", runtime, "--format", "json"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|_| panic!("check's JSON: {}", String::from_utf8_lossy(&output.stderr)));
    let mut ids: Vec<String> = report
        .to_string()
        .split("\"id\":\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        // Sizes differ (lamina's bootstrap is stripped): only what the binary is counts here.
        .filter(|id| id.contains('/') && !id.starts_with("limit/"))
        .map(str::to_string)
        .collect();
    ids.sort();
    ids.dedup();
    (output.status.code().unwrap(), ids)
}

#[test]
fn check_finds_the_same_on_a_zip_made_by_zip_as_on_lamina_s() {
    if go_builds().is_none() {
        return;
    }
    let fixture = function_folder("rust-check", rust_build());
    let built = fixture.build(&["--runtime", "provided.al2023"]);
    assert_eq!(built.code, 0, "{}", built.report);
    // What a team deploys today: `zip` of the folder holding `bootstrap`.
    let zipped = fixture.base.join("by-zip.zip");
    let status = Command::new("zip")
        .args(["-q", "-j"])
        .arg(&zipped)
        .arg(fixture.root.join("bootstrap"))
        .status()
        .expect("Info-ZIP zip is installed");
    assert!(status.success());
    for runtime in ["provided.al2023", "provided.al2"] {
        let ours = check_ids(&built.zip, runtime);
        let theirs = check_ids(&zipped, runtime);
        assert_eq!(ours, theirs, "{runtime}");
        if runtime == "provided.al2" {
            assert_eq!(ours.0, 1, "{ours:?}");
            assert!(ours.1.contains(&"native/glibc".to_string()), "{ours:?}");
        } else {
            assert_eq!(ours.0, 0, "{ours:?}");
        }
    }
}
