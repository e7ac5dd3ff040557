//! The sharding recipes of `docs/ci-sharding.md`, run under the real tools: Turborepo and Nx,
//! pinned by `testdata/tools/orchestrators`. `lamina plan --keys` runs first. Then each output
//! of the plan is one cached task, whose only file input is its key. The monorepo is the
//! end-to-end one (two Node and two Python functions, one shared layer each).
//!
//! Each test checks four things:
//! - a rerun of an unchanged project is all cache hits;
//! - a change to one function's own file misses that function's task alone;
//! - a checkout elsewhere that shares the cache (as a remote cache does) hits every task;
//! - the union of the tasks' outputs is, byte for byte, the zips of one `lamina build`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use assert_cmd::cargo::cargo_bin;
use serde_json::Value;

use crate::install::show;

/// A copy of the installed monorepo to run a tool in, with a home and caches of its own.
struct Repo {
    _temp: tempfile::TempDir,
    work: PathBuf,
    root: PathBuf,
    tools: PathBuf,
}

fn repo() -> Repo {
    let tools = crate::install::orchestrators();
    let installed = crate::e2e_monorepo::installed();
    let temp = tempfile::tempdir().unwrap();
    let work = temp.path().to_path_buf();
    let root = work.join("repo");
    copy(&installed, &root);
    fs_err::create_dir_all(work.join("home")).unwrap();
    let repo = Repo {
        _temp: temp,
        work,
        root,
        tools,
    };
    // A git work tree that ignores what builds write, as a real repository does: both tools
    // hash through git, and Nx leaves ignored files out of a task's file inputs.
    fs_err::write(
        repo.root.join(".gitignore"),
        "lamina-out/\n.turbo/\n.nx/\nnode_modules\n",
    )
    .unwrap();
    let git = [
        "-c",
        "user.name=lamina",
        "-c",
        "user.email=lamina@example.invalid",
    ];
    repo.run("git", &["init", "--quiet", "."], &repo.root);
    repo.run("git", &["add", "--all"], &repo.root);
    repo.run(
        "git",
        &[&git[..], &["commit", "--quiet", "--message", "functions"]].concat(),
        &repo.root,
    );
    repo
}

fn copy(from: &Path, to: &Path) {
    let out = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
}

impl Repo {
    /// `program` in `dir`, finding lamina and the tools on PATH, with lamina's cache, the
    /// home folder and the tools' telemetry kept to this test.
    fn command(&self, program: &str, dir: &Path) -> Command {
        let lamina = cargo_bin("lamina");
        let path = std::env::join_paths(
            [
                lamina.parent().unwrap().to_path_buf(),
                self.tools.join("node_modules/.bin"),
            ]
            .into_iter()
            .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
        )
        .unwrap();
        let home = self.work.join("home");
        let mut command = Command::new(program);
        command
            .current_dir(dir)
            .env("PATH", path)
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .env("LAMINA_CACHE_DIR", self.work.join("lamina-cache"))
            .env("TURBO_TELEMETRY_DISABLED", "1")
            .env("TURBO_DAEMON", "false")
            .env("DO_NOT_TRACK", "1")
            .env("NX_DAEMON", "false")
            .env("NX_NO_CLOUD", "true")
            .env("NX_TUI", "false")
            .env("NO_COLOR", "1")
            .env("NX_CACHE_DIRECTORY", self.work.join("nx-cache"))
            .env("npm_config_cache", home.join("npm-cache"))
            .env("npm_config_update_notifier", "false");
        command
    }

    fn run(&self, program: &str, args: &[&str], dir: &Path) -> Output {
        let out = self.command(program, dir).args(args).output().unwrap();
        assert!(out.status.success(), "{program} {args:?}:\n{}", show(&out));
        out
    }

    /// `lamina plan . --out lamina-out/plan.json --keys lamina-out/keys` in `root`, as the
    /// step before the tool runs; returns the plan's names.
    fn plan(&self, root: &Path) -> Vec<String> {
        self.run(
            "lamina",
            &[
                "plan",
                ".",
                "--out",
                "lamina-out/plan.json",
                "--keys",
                "lamina-out/keys",
            ],
            root,
        );
        let plan: Value =
            serde_json::from_slice(&fs_err::read(root.join("lamina-out/plan.json")).unwrap())
                .unwrap();
        plan["names"]
            .as_array()
            .unwrap()
            .iter()
            .map(|name| name.as_str().unwrap().to_string())
            .collect()
    }

    /// The zips of one `lamina build` of `root`, by path in its output folder.
    fn single_build(&self, root: &Path, tag: &str) -> BTreeMap<String, Vec<u8>> {
        let out = self.work.join(format!("single-{tag}"));
        self.run(
            "lamina",
            &["build", ".", "--out", out.to_str().unwrap()],
            root,
        );
        crate::shard::zips(&out)
    }
}

/// The zips the tasks wrote (`lamina-shards/NAME/lamina-out`), put together as the deploy
/// job of the recipe does, by path in an output folder; a path twice fails.
fn union(root: &Path, names: &[String]) -> BTreeMap<String, Vec<u8>> {
    let mut union = BTreeMap::new();
    for name in names {
        let zips = crate::shard::zips(&root.join("lamina-shards").join(name).join("lamina-out"));
        assert_eq!(zips.len(), 1, "{name}'s task writes its zip alone");
        for (path, bytes) in zips {
            assert!(union.insert(path.clone(), bytes).is_none(), "{path} twice");
        }
    }
    union
}

fn assert_same_zips(shards: &BTreeMap<String, Vec<u8>>, single: &BTreeMap<String, Vec<u8>>) {
    assert_eq!(
        shards.keys().collect::<Vec<_>>(),
        single.keys().collect::<Vec<_>>()
    );
    for (path, bytes) in single {
        assert!(
            &shards[path] == bytes,
            "{path} differs from the single build's"
        );
    }
}

/// Appends a comment to node-slug's handler: its own file, in no layer.
fn touch_node_slug(root: &Path) {
    let handler = root.join("node-slug/index.js");
    let mut text = fs_err::read_to_string(&handler).unwrap();
    text.push_str("// changed by the test\n");
    fs_err::write(&handler, text).unwrap();
}

/// A tool's output without terminal colours: with `CI` set, Nx colours it even into a pipe.
fn plain(output: &[u8]) -> String {
    let text = String::from_utf8_lossy(output);
    let mut plain = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters, ended by a letter.
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain
}

/// The outputs a run took from the cache (`true`) or built, by name.
type Hits = BTreeMap<String, bool>;

fn all(names: &[String], hit: bool) -> Hits {
    names.iter().map(|name| (name.clone(), hit)).collect()
}

// ---- Turborepo ----

/// The recipe's files: the root `package.json` (npm workspaces over `lamina-shards/*`, with
/// its lockfile), `turbo.json`, and per output a workspace package whose `lamina-build` script
/// is the shard and whose `turbo.json` makes its key the task's input.
fn turbo_setup(repo: &Repo, root: &Path, names: &[String]) {
    let npm = String::from_utf8(repo.run("npm", &["--version"], root).stdout).unwrap();
    fs_err::write(
        root.join("package.json"),
        serde_json::to_string_pretty(&serde_json::json!({
            "name": "lambdas",
            "private": true,
            "packageManager": format!("npm@{}", npm.trim()),
            "workspaces": ["lamina-shards/*"],
        }))
        .unwrap(),
    )
    .unwrap();
    fs_err::write(
        root.join("turbo.json"),
        r#"{
  "$schema": "https://turborepo.com/schema.json",
  "globalPassThroughEnv": ["LAMINA_CACHE_DIR"],
  "tasks": {
    "lamina-build": { "outputs": ["lamina-out/**"] }
  }
}
"#,
    )
    .unwrap();
    for name in names {
        let package = root.join("lamina-shards").join(name);
        fs_err::create_dir_all(&package).unwrap();
        fs_err::write(
            package.join("package.json"),
            serde_json::to_string_pretty(&serde_json::json!({
                "name": format!("lamina-{name}"),
                "private": true,
                "scripts": {
                    "lamina-build": format!("lamina build ../.. --plan ../../lamina-out/plan.json --only {name} --out lamina-out"),
                },
            }))
            .unwrap(),
        )
        .unwrap();
        fs_err::write(
            package.join("turbo.json"),
            serde_json::to_string_pretty(&serde_json::json!({
                "extends": ["//"],
                "tasks": {
                    "lamina-build": {
                        "inputs": [format!("$TURBO_ROOT$/lamina-out/keys/{name}.key")],
                    },
                },
            }))
            .unwrap(),
        )
        .unwrap();
    }
    repo.run(
        "npm",
        &[
            "install",
            "--package-lock-only",
            "--offline",
            "--ignore-scripts",
            "--no-audit",
            "--no-fund",
        ],
        root,
    );
}

/// `turbo run lamina-build` in `root`; what each output's task did.
fn turbo(repo: &Repo, root: &Path, cache_dir: &Path) -> Hits {
    let out = repo.run(
        "turbo",
        &[
            "run",
            "lamina-build",
            "--output-logs=hash-only",
            "--cache-dir",
            cache_dir.to_str().unwrap(),
        ],
        root,
    );
    let stdout = plain(&out.stdout);
    let mut hits = Hits::new();
    for line in stdout.lines() {
        let Some((task, status)) = line.split_once(":lamina-build: cache ") else {
            continue;
        };
        let name = task.trim().strip_prefix("lamina-").unwrap().to_string();
        let hit = if status.starts_with("hit") {
            true
        } else {
            assert!(status.starts_with("miss"), "{line}");
            false
        };
        assert!(hits.insert(name, hit).is_none(), "{line} twice:\n{stdout}");
    }
    hits
}

#[test]
fn turborepo_caches_each_output_by_its_key_and_builds_the_single_builds_zips() {
    let repo = repo();
    let root = repo.root.clone();
    let cache = repo.work.join("turbo-cache");
    let names = repo.plan(&root);
    assert_eq!(names.len(), 6, "four functions and two layers: {names:?}");
    turbo_setup(&repo, &root, &names);

    assert_eq!(turbo(&repo, &root, &cache), all(&names, false));
    assert_eq!(turbo(&repo, &root, &cache), all(&names, true));
    assert_same_zips(&union(&root, &names), &repo.single_build(&root, "first"));

    touch_node_slug(&root);
    assert_eq!(repo.plan(&root), names);
    let mut expected = all(&names, true);
    expected.insert("node-slug".to_string(), false);
    assert_eq!(turbo(&repo, &root, &cache), expected);
    assert_same_zips(&union(&root, &names), &repo.single_build(&root, "touched"));

    // Another checkout, elsewhere, with nothing built: planned there, every task is taken
    // from the cache the first one filled.
    let elsewhere = repo.work.join("elsewhere");
    copy(&root, &elsewhere);
    for name in &names {
        fs_err::remove_dir_all(
            elsewhere
                .join("lamina-shards")
                .join(name)
                .join("lamina-out"),
        )
        .unwrap();
    }
    let _ = fs_err::remove_dir_all(elsewhere.join(".turbo"));
    fs_err::remove_dir_all(elsewhere.join("lamina-out")).unwrap();
    assert_eq!(repo.plan(&elsewhere), names);
    assert_eq!(turbo(&repo, &elsewhere, &cache), all(&names, true));
    assert_same_zips(&union(&elsewhere, &names), &union(&root, &names));
}

// ---- Nx ----

/// The recipe's files: `nx.json`, a root `package.json`, and per output a project
/// (`lamina-shards/NAME/project.json`) whose `lamina-build` target is the shard, with its key
/// (read by a `runtime` input: git ignores `lamina-out/`, so Nx would not hash it as a file)
/// and lamina's version as inputs. Nx runs from the workspace's `node_modules`: here a link
/// to the pinned install.
fn nx_setup(repo: &Repo, root: &Path, names: &[String]) {
    fs_err::write(
        root.join("package.json"),
        "{ \"name\": \"lambdas\", \"private\": true }\n",
    )
    .unwrap();
    fs_err::write(root.join("nx.json"), "{}\n").unwrap();
    std::os::unix::fs::symlink(repo.tools.join("node_modules"), root.join("node_modules")).unwrap();
    for name in names {
        let project = root.join("lamina-shards").join(name);
        fs_err::create_dir_all(&project).unwrap();
        fs_err::write(
            project.join("project.json"),
            serde_json::to_string_pretty(&serde_json::json!({
                "name": name,
                "targets": {
                    "lamina-build": {
                        "command": format!("lamina build ../.. --plan ../../lamina-out/plan.json --only {name} --out lamina-out"),
                        "options": { "cwd": "{projectRoot}" },
                        "inputs": [
                            { "runtime": format!("cat lamina-out/keys/{name}.key") },
                            { "runtime": "lamina --version" },
                        ],
                        "outputs": ["{projectRoot}/lamina-out"],
                        "cache": true,
                    },
                },
            }))
            .unwrap(),
        )
        .unwrap();
    }
}

/// `nx run-many -t lamina-build` in `root`; what each output's task did.
fn nx(repo: &Repo, root: &Path) -> Hits {
    let out = repo.run(
        "nx",
        &["run-many", "-t", "lamina-build", "--outputStyle=static"],
        root,
    );
    let stdout = plain(&out.stdout);
    let mut hits = Hits::new();
    for line in stdout.lines() {
        let Some(rest) = line.trim_start().strip_prefix("> nx run ") else {
            continue;
        };
        let (name, status) = rest.split_once(":lamina-build").unwrap();
        // `[local cache]`, or `[existing outputs match the cache, left as is]`.
        let hit = status.contains("cache");
        assert!(
            hits.insert(name.to_string(), hit).is_none(),
            "{line} twice:\n{stdout}"
        );
    }
    hits
}

#[test]
fn nx_caches_each_output_by_its_key_and_builds_the_single_builds_zips() {
    let repo = repo();
    let root = repo.root.clone();
    let names = repo.plan(&root);
    assert_eq!(names.len(), 6, "four functions and two layers: {names:?}");
    nx_setup(&repo, &root, &names);

    assert_eq!(nx(&repo, &root), all(&names, false));
    assert_eq!(nx(&repo, &root), all(&names, true));
    assert_same_zips(&union(&root, &names), &repo.single_build(&root, "first"));

    touch_node_slug(&root);
    assert_eq!(repo.plan(&root), names);
    let mut expected = all(&names, true);
    expected.insert("node-slug".to_string(), false);
    assert_eq!(nx(&repo, &root), expected);
    assert_same_zips(&union(&root, &names), &repo.single_build(&root, "touched"));

    // Another checkout, elsewhere, with nothing built. Nx's local cache is indexed per
    // workspace, so a shared folder does not stand for a remote cache here: what does is that
    // each task there has the hash of one already in the cache (no new entry), so a remote
    // cache, which Nx keys by that hash, would serve it.
    let cached = nx_cache_entries(&repo);
    // Each output's first build, and node-slug's since.
    assert_eq!(cached.len(), names.len() + 1, "{cached:?}");
    let elsewhere = repo.work.join("elsewhere");
    copy(&root, &elsewhere);
    for name in &names {
        fs_err::remove_dir_all(
            elsewhere
                .join("lamina-shards")
                .join(name)
                .join("lamina-out"),
        )
        .unwrap();
    }
    let _ = fs_err::remove_dir_all(elsewhere.join(".nx"));
    fs_err::remove_dir_all(elsewhere.join("lamina-out")).unwrap();
    assert_eq!(repo.plan(&elsewhere), names);
    nx(&repo, &elsewhere);
    assert_eq!(
        nx_cache_entries(&repo),
        cached,
        "the same task hashes elsewhere"
    );
    assert_same_zips(&union(&elsewhere, &names), &union(&root, &names));
}

/// The task hashes Nx's cache holds (a folder each, named by the hash).
fn nx_cache_entries(repo: &Repo) -> Vec<String> {
    let mut entries: Vec<String> = fs_err::read_dir(repo.work.join("nx-cache"))
        .unwrap()
        .map(|entry| entry.unwrap())
        .filter(|entry| entry.file_type().unwrap().is_dir())
        .map(|entry| entry.file_name().into_string().unwrap())
        .filter(|name| name.bytes().all(|byte| byte.is_ascii_digit()))
        .collect();
    entries.sort();
    entries
}
