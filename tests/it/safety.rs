//! Safe by construction (issue 11): nothing outside the project is read or shipped, only
//! regular files are read, lamina never packs what it wrote, an interrupted or failed build
//! leaves nothing behind, outputs follow the umask. Each test names the class it guards; a
//! property test throws random trees of files and links at the real binary.

use std::collections::BTreeSet;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::cargo_bin;
use proptest::prelude::*;
use serde_json::json;

use crate::harness::{Fixture, write_file};

/// A function `fn` whose handler requires the package `name` (not installed yet).
fn requiring(name: &str) -> Fixture {
    let fixture = Fixture::new(
        "fn",
        json!({ "name": "fn", "dependencies": { name: "1.0.0" } }),
    );
    fixture.file(
        "index.js",
        &format!("exports.handler = async () => require('{name}');\n"),
    );
    fixture
}

/// A function `fn` with one installed package `tiny` its handler requires.
fn tiny() -> Fixture {
    let fixture = requiring("tiny");
    fixture.package("node_modules/tiny", "tiny", "1.0.0", &[]);
    fixture
}

/// Makes a FIFO at `path`.
fn mkfifo(path: &Path) {
    assert!(Command::new("mkfifo").arg(path).status().unwrap().success());
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Every file name under `dir`, relative, sorted.
fn tree(dir: &Path) -> Vec<String> {
    let mut names = Vec::new();
    if dir.exists() {
        for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
            let entry = entry.unwrap();
            if let Ok(relative) = entry.path().strip_prefix(dir)
                && !relative.as_os_str().is_empty()
            {
                names.push(relative.to_string_lossy().into_owned());
            }
        }
    }
    names
}

fn zip_names(zip: &Path) -> Vec<String> {
    let archive = zip::ZipArchive::new(fs_err::File::open(zip).unwrap()).unwrap();
    archive
        .file_names()
        .map(|name| name.unwrap().to_string())
        .collect()
}

/// What is in `out` that is not an output: lamina's temporaries, whatever their name.
fn debris(out: &Path) -> Vec<String> {
    tree(out)
        .into_iter()
        .filter(|name| {
            let last = name.rsplit('/').next().unwrap_or(name);
            last.starts_with(".lamina-") && last != ".lamina-output"
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The boundary
// ---------------------------------------------------------------------------------------------

#[test]
fn boundary_a_link_to_a_host_file_is_refused_and_nothing_is_written() {
    // invariant: boundary
    let fixture = tiny();
    fixture.link("node_modules/tiny/passwd", "/etc/passwd");
    let output = fixture.lamina(&["build", "fn", "--out", "out"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(
        message.contains("node_modules/tiny/passwd") && message.contains("/etc/passwd"),
        "names the link and its target: {message}"
    );
    assert!(message.contains("--allow-outside"), "{message}");
    assert!(!fixture.base.join("out").exists(), "exit 2 writes nothing");
}

#[test]
fn boundary_a_folder_link_out_of_the_project_is_refused_unless_allowed() {
    // invariant: boundary
    let fixture = tiny();
    let secrets = fixture.base.join("home/.aws");
    write_file(&secrets.join("credentials"), "aws_secret_access_key=x\n");
    fixture.link("node_modules/tiny/conf", secrets.to_str().unwrap());
    let refused = fixture.lamina(&["build", "fn", "--out", "out"]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("outside the project"));

    // Allowed explicitly, it ships as real files.
    let allowed = fixture.lamina(&[
        "build",
        "fn",
        "--out",
        "out",
        "--allow-outside",
        secrets.to_str().unwrap(),
    ]);
    assert_eq!(allowed.status.code(), Some(0), "{}", stderr(&allowed));
    assert!(
        zip_names(&fixture.base.join("out/fn.zip"))
            .contains(&"node_modules/tiny/conf/credentials".to_string())
    );
}

#[test]
fn boundary_allow_outside_in_lamina_toml_is_relative_to_the_file() {
    let fixture = tiny();
    write_file(&fixture.base.join("shared/data.txt"), "shared\n");
    fixture.link("data", "../shared");
    write_file(
        &fixture.base.join("project/lamina.toml"),
        "[[function]]\nname = \"fn\"\npath = \"../fn\"\nallow_outside = [\"../shared\"]\n",
    );
    let output = fixture.lamina(&["build", "project", "--out", "out"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(zip_names(&fixture.base.join("out/fn.zip")).contains(&"data/data.txt".to_string()));
}

#[test]
fn boundary_a_git_work_tree_or_workspace_root_holds_the_workspace_links() {
    for marker in [".git", "package.json"] {
        let fixture = requiring("util");
        if marker == ".git" {
            fs_err::create_dir_all(fixture.base.join(".git")).unwrap();
        } else {
            write_file(
                &fixture.base.join("package.json"),
                r#"{"private":true,"workspaces":["packages/*","fn"]}"#,
            );
        }
        write_file(
            &fixture.base.join("packages/util/package.json"),
            r#"{"name":"util","version":"1.0.0"}"#,
        );
        write_file(
            &fixture.base.join("packages/util/index.js"),
            "module.exports = 1;\n",
        );
        fixture.link("node_modules/util", "../../packages/util");
        let output = fixture.lamina(&["build", "fn", "--out", "out"]);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{marker}: {}",
            stderr(&output)
        );
        assert!(
            zip_names(&fixture.base.join("out/fn.zip"))
                .contains(&"node_modules/util/index.js".to_string())
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Only regular files
// ---------------------------------------------------------------------------------------------

/// Runs lamina, failing the test (not hanging it) if it has not finished in `limit`. The limit
/// is far above any normal run: it turns a hang into a failure, it measures nothing.
fn run_bounded(mut command: Command, limit: Duration) -> Output {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let output = child.wait_with_output().unwrap();
            panic!("lamina did not finish: {}", stderr(&output));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn lamina_in(fixture: &Fixture, args: &[&str]) -> Command {
    let mut command = crate::harness::lamina_command();
    command
        .args(args)
        .current_dir(&fixture.base)
        .env("LAMINA_CACHE_DIR", fixture.base.join("cache"));
    command
}

#[test]
fn regular_files_only_links_to_devices_and_fifos_are_left_out_not_read() {
    // invariant: regular-files-only
    let fixture = tiny();
    fixture.link("node_modules/tiny/zero", "/dev/zero");
    fixture.link("node_modules/tiny/random", "/dev/urandom");
    let fifo = fixture.base.join("pipe");
    mkfifo(&fifo);
    fixture.link("node_modules/tiny/pipe", fifo.to_str().unwrap());
    let inner = fixture.root.join("inner-pipe");
    mkfifo(&inner);
    fixture.link("node_modules/tiny/inner", "../../inner-pipe");
    let output = run_bounded(
        lamina_in(&fixture, &["build", "fn", "--out", "out"]),
        Duration::from_secs(300),
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    for name in ["zero", "random", "pipe", "inner"] {
        assert!(
            text.contains(&format!("node_modules/tiny/{name}: a link to")),
            "warns about {name}: {text}"
        );
    }
    let names = zip_names(&fixture.base.join("out/fn.zip"));
    assert!(
        !names
            .iter()
            .any(|name| name.ends_with("zero") || name.contains("pipe")),
        "{names:?}"
    );
    assert!(debris(&fixture.base.join("out")).is_empty());
}

// ---------------------------------------------------------------------------------------------
// lamina never packs what it wrote
// ---------------------------------------------------------------------------------------------

#[test]
fn own_outputs_out_equal_to_the_function_folder_is_refused() {
    let fixture = tiny();
    let before = fixture.snapshot();
    let output = fixture.lamina(&["build", "fn", "--out", "fn"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("function folder"),
        "{}",
        stderr(&output)
    );
    assert_eq!(before, fixture.snapshot());
}

#[test]
fn own_outputs_inside_the_function_never_ship_whatever_out_says_later() {
    // invariant: own-outputs
    let fixture = tiny();
    let sha = |out: &str| -> String {
        let output = fixture.lamina(&["build", "fn", "--out", out, "--json"]);
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        report["functions"][0]["sha256"]
            .as_str()
            .unwrap()
            .to_string()
    };
    // Three builds into a folder inside the function: the same bytes each time.
    let first = sha("fn/dist");
    assert_eq!(first, sha("fn/dist"));
    assert_eq!(first, sha("fn/dist"));
    // An older output folder inside the function does not ship with another --out.
    assert_eq!(first, sha("elsewhere"));
    let names = zip_names(&fixture.base.join("elsewhere/fn.zip"));
    assert!(
        !names.iter().any(|name| name.starts_with("dist")),
        "{names:?}"
    );
}

#[test]
fn own_outputs_the_cache_never_ships_and_an_empty_cache_variable_is_no_override() {
    // invariant: own-outputs
    let fixture = tiny();
    // The cache inside the function folder, named by the variable.
    let inside = crate::harness::lamina_command()
        .args(["build", ".", "--out", "../out1", "--json"])
        .current_dir(&fixture.root)
        .env("LAMINA_CACHE_DIR", fixture.root.join("cache"))
        .output()
        .unwrap();
    assert_eq!(inside.status.code(), Some(0), "{}", stderr(&inside));
    assert!(fixture.root.join("cache").exists(), "the cache was used");
    let again = crate::harness::lamina_command()
        .args(["build", ".", "--out", "../out2"])
        .current_dir(&fixture.root)
        .env("LAMINA_CACHE_DIR", fixture.root.join("cache"))
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    let names = zip_names(&fixture.base.join("out2/fn.zip"));
    assert!(
        !names.iter().any(|name| name.starts_with("cache")),
        "{names:?}"
    );

    // Empty: the default cache (under HOME), never the current folder.
    let home = fixture.base.join("home");
    let empty = crate::harness::lamina_command()
        .args(["build", ".", "--out", "../out3"])
        .current_dir(&fixture.root)
        .env("LAMINA_CACHE_DIR", "")
        .env_remove("XDG_CACHE_HOME")
        .env("HOME", &home)
        .output()
        .unwrap();
    assert_eq!(empty.status.code(), Some(0), "{}", stderr(&empty));
    assert!(
        !fixture.root.join("lamina-cache-v4").exists(),
        "no cache in the current folder"
    );
    assert!(home.join(".cache/lamina").exists());
}

#[test]
fn own_outputs_stale_temporaries_in_the_function_never_ship() {
    let fixture = tiny();
    fixture.file(".lamina-4194999-abc.zip.tmp", "half a zip");
    let built = fixture.build(&[]);
    assert!(
        !built.entries().iter().any(|name| name.contains(".lamina")),
        "{:?}",
        built.entries()
    );
}

// ---------------------------------------------------------------------------------------------
// No debris
// ---------------------------------------------------------------------------------------------

/// Starts `lamina ARGS` through a driver that restores default signal handling (a shell's
/// background job starts with SIGINT ignored, and a non-interactive shell cannot undo that;
/// Python can), so the test sends signals as a terminal or CI runner would.
fn spawn_with_default_signals(fixture: &Fixture, args: &[&str]) -> std::process::Child {
    let driver = "import os, signal, sys\n\
                  signal.signal(signal.SIGINT, signal.SIG_DFL)\n\
                  signal.signal(signal.SIGTERM, signal.SIG_DFL)\n\
                  os.execv(sys.argv[1], sys.argv[1:])\n";
    Command::new("python3")
        .arg("-c")
        .arg(driver)
        .arg(cargo_bin("lamina"))
        .args(args)
        .current_dir(&fixture.base)
        .env("LAMINA_CACHE_DIR", fixture.base.join("cache"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// A function whose packing takes seconds (zopfli over incompressible bytes, unoptimised).
fn slow_fixture() -> Fixture {
    let fixture = tiny();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let noise: Vec<u8> = (0..1_500_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    fs_err::write(fixture.root.join("model.bin"), noise).unwrap();
    fixture
}

fn wait_for_staging(out: &Path, child: &mut std::process::Child) {
    let started = Instant::now();
    loop {
        if tree(out).iter().any(|name| name.ends_with("-stage")) {
            return;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "lamina ended before it staged anything"
        );
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no staging folder appeared"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn no_debris_sigint_and_sigterm_remove_the_build_in_progress() {
    // invariant: atomic-outputs
    for (signal, code) in [("INT", 130), ("TERM", 143)] {
        let fixture = slow_fixture();
        let out = fixture.base.join("out");
        let mut child = spawn_with_default_signals(
            &fixture,
            &["build", "fn", "--out", "out", "--compression", "max"],
        );
        wait_for_staging(&out, &mut child);
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
        let output = child.wait_with_output().unwrap();
        assert_eq!(
            output.status.code(),
            Some(code),
            "SIG{signal}: {}",
            stderr(&output)
        );
        assert!(
            !out.exists(),
            "SIG{signal}: the output folder it made is gone: {:?}",
            tree(&out)
        );
        let cache_debris: Vec<String> = tree(&fixture.base.join("cache"))
            .into_iter()
            .filter(|name| name.contains("/.pack-") || name.contains("/.tmp"))
            .collect();
        assert!(cache_debris.is_empty(), "{cache_debris:?}");
    }
}

#[test]
fn no_debris_a_build_removes_what_interrupted_builds_left() {
    // invariant: atomic-outputs
    let fixture = tiny();
    let out = fixture.base.join("out");
    // What a killed build (pid no longer running) and an older lamina left.
    write_file(&out.join(".lamina-4194999-x1y2z3-stage/fn.zip"), "half");
    write_file(&out.join(".lamina-Ab12Cd.zip.tmp"), "half");
    write_file(&out.join(".lamina-entry-Ab12Cd"), "half");
    write_file(&out.join("layers/.lamina-4194999-q.zip.tmp"), "half");
    write_file(&out.join("notes.txt"), "the user's");
    fixture.build(&[]);
    assert!(debris(&out).is_empty(), "{:?}", debris(&out));
    assert!(out.join("notes.txt").exists());
}

// ---------------------------------------------------------------------------------------------
// Outputs follow the umask
// ---------------------------------------------------------------------------------------------

#[test]
fn umask_outputs_are_readable_by_the_next_step() {
    for (umask, file_mode) in [("022", 0o644), ("027", 0o640)] {
        let fixture = tiny();
        let output = Command::new("sh")
            .arg("-c")
            .arg(format!("umask {umask} && exec \"$0\" \"$@\""))
            .arg(cargo_bin("lamina"))
            .args(["build", "fn", "--out", "out"])
            .current_dir(&fixture.base)
            .env("LAMINA_CACHE_DIR", fixture.base.join("cache"))
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        for name in ["fn.zip", "report.json", ".lamina-output"] {
            let mode = fs_err::metadata(fixture.base.join("out").join(name))
                .unwrap()
                .permissions()
                .mode()
                & 0o777;
            assert_eq!(mode, file_mode, "umask {umask}: {name} is {mode:o}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Exit 2 writes nothing
// ---------------------------------------------------------------------------------------------

#[test]
fn exit_2_a_bad_second_function_leaves_no_zip_of_the_first() {
    let fixture = tiny();
    // `bad` has no handler: an input error found after `fn` was scanned.
    write_file(&fixture.base.join("bad/package.json"), r#"{"name":"bad"}"#);
    let output = fixture.lamina(&["build", "fn", "bad", "--out", "out"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        !fixture.base.join("out").exists(),
        "{:?}",
        tree(&fixture.base.join("out"))
    );

    // An existing output folder keeps what it had.
    write_file(&fixture.base.join("out/fn.zip"), "yesterday's");
    let output = fixture.lamina(&["build", "fn", "bad", "--out", "out"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        fs_err::read_to_string(fixture.base.join("out/fn.zip")).unwrap(),
        "yesterday's"
    );
    assert_eq!(tree(&fixture.base.join("out")), ["fn.zip"]);
}

// ---------------------------------------------------------------------------------------------
// Random trees
// ---------------------------------------------------------------------------------------------

/// One thing to put in a random tree.
#[derive(Debug, Clone)]
enum Node {
    File {
        name: usize,
        bytes: usize,
        mode: u32,
    },
    Folder {
        name: usize,
    },
    /// A link to a place chosen from `TARGETS` (inside, outside, loops, dangling, devices).
    Link {
        name: usize,
        target: usize,
    },
}

const NAMES: [&str; 8] = [
    "a",
    "lib",
    "node_modules",
    "x y",
    "ünï",
    ".hidden",
    "-dash",
    "index.js",
];

/// Link targets, relative to the link's folder or absolute: inside the function, to its own
/// folder (a loop), out to the sibling `outside` folder, to the host, dangling, devices.
const TARGETS: [&str; 10] = [
    "a",
    ".",
    "..",
    "../..",
    "OUTSIDE",
    "OUTSIDE/secret",
    "/etc/hostname",
    "/dev/zero",
    "missing",
    "FIFO",
];

fn node() -> impl Strategy<Value = Node> {
    prop_oneof![
        (
            0..NAMES.len(),
            0..3000usize,
            prop::sample::select(vec![0o644u32, 0o755, 0o600])
        )
            .prop_map(|(name, bytes, mode)| Node::File { name, bytes, mode }),
        (0..NAMES.len()).prop_map(|name| Node::Folder { name }),
        (0..NAMES.len(), 0..TARGETS.len()).prop_map(|(name, target)| Node::Link { name, target }),
    ]
}

/// Builds the tree: each node goes into the folder made by the last `Folder` node at the
/// depth `depth` picks (so trees nest), then runs a build on it.
fn random_tree_build(nodes: &[(Node, usize)]) {
    let fixture = tiny();
    let outside = fixture.base.join("outside");
    write_file(&outside.join("secret"), "SECRET-OUTSIDE\n");
    let fifo = fixture.base.join("fifo");
    mkfifo(&fifo);
    let mut folders: Vec<PathBuf> = vec![fixture.root.clone()];
    for (node, depth) in nodes {
        let parent = folders[depth % folders.len()].clone();
        match node {
            Node::File { name, bytes, mode } => {
                let path = parent.join(NAMES[*name]);
                if path.symlink_metadata().is_ok() {
                    continue;
                }
                fs_err::write(&path, vec![b'x'; *bytes]).unwrap();
                fs_err::set_permissions(&path, std::fs::Permissions::from_mode(*mode)).unwrap();
            }
            Node::Folder { name } => {
                let path = parent.join(NAMES[*name]);
                if path.symlink_metadata().is_err() {
                    fs_err::create_dir(&path).unwrap();
                }
                if path.is_dir() && !path.is_symlink() {
                    folders.push(path);
                }
            }
            Node::Link { name, target } => {
                let path = parent.join(NAMES[*name]);
                if path.symlink_metadata().is_ok() {
                    continue;
                }
                let target = TARGETS[*target]
                    .replace("OUTSIDE", outside.to_str().unwrap())
                    .replace("FIFO", fifo.to_str().unwrap());
                symlink(target, &path).unwrap();
            }
        }
    }
    let before = fixture.snapshot();
    let output = run_bounded(
        lamina_in(&fixture, &["build", "fn", "--out", "out", "--json"]),
        Duration::from_secs(300),
    );
    let code = output.status.code();
    assert!(
        matches!(code, Some(0..=2)),
        "exit {code:?}: {}",
        stderr(&output)
    );
    assert_eq!(before, fixture.snapshot(), "the input changed");
    let out = fixture.base.join("out");
    assert!(debris(&out).is_empty(), "{:?}", debris(&out));
    if code == Some(2) {
        assert!(!out.exists(), "exit 2 wrote {:?}", tree(&out));
        return;
    }
    // Nothing outside the function's project is in the zip: no host file, no secret.
    let mut archive =
        zip::ZipArchive::new(fs_err::File::open(out.join("fn.zip")).unwrap()).unwrap();
    let hostname = fs_err::read_to_string("/etc/hostname").unwrap_or_default();
    let mut seen = BTreeSet::new();
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).unwrap();
        let name = entry.name().unwrap().to_string();
        assert!(seen.insert(name.clone()), "{name} twice");
        assert!(
            !name.starts_with('/') && !name.split('/').any(|part| part == ".."),
            "{name}"
        );
        let mut contents = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut contents).unwrap();
        let text = String::from_utf8_lossy(&contents);
        assert!(
            !text.contains("SECRET-OUTSIDE"),
            "{name} ships the outside secret"
        );
        assert!(
            hostname.trim().is_empty() || !name.ends_with("hostname") || text != hostname,
            "{name} ships the host's file"
        );
    }
}

proptest! {
    // Each case runs the binary once; a few dozen cases cover the link kinds many times over.
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    // invariant: boundary
    fn random_trees_never_ship_outside_the_boundary_nor_hang_nor_leave_debris(
        nodes in prop::collection::vec((node(), 0..6usize), 1..14)
    ) {
        random_tree_build(&nodes);
    }
}

#[test]
fn boundary_a_virtual_environment_linking_to_the_machine_python_is_fine_as_it_never_ships() {
    let fixture = Fixture::empty("pyfn");
    fixture.file(
        "lambda_function.py",
        "def handler(event, context):\n    return 1\n",
    );
    // What `python3 -m venv .venv` makes: bin/python links to the machine's interpreter.
    fixture.file(".venv/pyvenv.cfg", "home = /usr/bin\nversion = 3.12.0\n");
    fixture.file(".venv/lib/python3.12/site-packages/.keep", "");
    fixture.link(".venv/bin/python", "/usr/bin/python3");
    let output = fixture.lamina(&["build", "pyfn", "--out", "out"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    // A link out of the project beside the handler still is an error.
    fixture.link("python", "/usr/bin/python3");
    let output = fixture.lamina(&["build", "pyfn", "--out", "out2"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("pyfn/python"),
        "{}",
        stderr(&output)
    );
}
