//! Sharded builds: `lamina plan` and `lamina build --plan PLAN --only NAME`, each shard in a
//! process of its own with a cache of its own, against one `lamina build` of the same project:
//! the same zips byte for byte and the same report entries; a plan that no longer matches its
//! input, an unknown name or other flags refused (exit 2) with nothing written; the plan the same
//! bytes wherever the project is.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::install::show;

/// `lamina ARGS` with its cache in `cache` (each shard gets its own, as separate machines do).
fn lamina(args: &[&std::ffi::OsStr], cache: &Path) -> Output {
    crate::harness::lamina_command()
        .args(args)
        .env("LAMINA_CACHE_DIR", cache)
        .output()
        .unwrap()
}

fn os(text: &str) -> &std::ffi::OsStr {
    std::ffi::OsStr::new(text)
}

/// `lamina plan PROJECT --out PLAN --json`: the plan (stdout), checked against the file.
fn plan(project: &Path, plan: &Path, cache: &Path, extra: &[&str]) -> Value {
    let mut args = vec![
        os("plan"),
        project.as_os_str(),
        os("--out"),
        plan.as_os_str(),
    ];
    args.extend(extra.iter().map(|arg| os(arg)));
    args.push(os("--json"));
    let run = lamina(&args, cache);
    assert_eq!(run.status.code(), Some(0), "lamina plan: {}", show(&run));
    assert_eq!(
        run.stdout,
        fs_err::read(plan).unwrap(),
        "--json prints the plan written"
    );
    serde_json::from_slice(&run.stdout).unwrap()
}

/// `lamina build PROJECT --out OUT --plan PLAN --only NAME...`.
fn shard(project: &Path, plan: &Path, names: &[&str], out: &Path, cache: &Path) -> Output {
    let mut args = vec![
        os("build"),
        project.as_os_str(),
        os("--out"),
        out.as_os_str(),
        os("--plan"),
        plan.as_os_str(),
    ];
    for name in names {
        args.push(os("--only"));
        args.push(os(name));
    }
    lamina(&args, cache)
}

/// Every zip under an output folder, by path relative to it, with its bytes.
pub(crate) fn zips(out: &Path) -> BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(out)
        .sort_by_file_name()
        .into_iter()
        .map(Result::unwrap)
        .filter(|entry| entry.file_type().is_file())
        .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "zip"))
        .map(|entry| {
            let relative = entry.path().strip_prefix(out).unwrap();
            (
                relative.to_str().unwrap().to_string(),
                fs_err::read(entry.path()).unwrap(),
            )
        })
        .collect()
}

/// A report entry without what differs between two runs of one build by nature: where the
/// zip and the folder are, and what packaging took (time, cache hits).
fn comparable(entry: &Value) -> Value {
    let mut entry = entry.clone();
    let object = entry.as_object_mut().unwrap();
    for key in ["artifact", "path", "packaging", "trace_seconds"] {
        object.remove(key);
    }
    entry
}

/// Builds `project` once, then every name of its plan as a shard of its own (a process, an
/// output folder and a cache each), and checks the union of the shards against the whole
/// build: every zip byte for byte, none missing, none extra, and each report entry equal.
/// Returns the plan's names.
fn shards_match_the_single_build(project: &Path, work: &Path, extra: &[&str]) -> Vec<String> {
    let single_out = work.join("single");
    let mut args = vec![
        os("build"),
        project.as_os_str(),
        os("--out"),
        single_out.as_os_str(),
    ];
    args.extend(extra.iter().map(|arg| os(arg)));
    let single = lamina(&args, &work.join("cache-single"));
    assert_eq!(single.status.code(), Some(0), "{}", show(&single));
    let report: Value =
        serde_json::from_slice(&fs_err::read(single_out.join("report.json")).unwrap()).unwrap();

    let plan_file = work.join("plan.json");
    let planned = plan(project, &plan_file, &work.join("cache-plan"), extra);
    let names: Vec<String> = planned["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|name| name.as_str().unwrap().to_string())
        .collect();
    let mut union: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for name in &names {
        let out = work.join(format!("shard-{name}"));
        let mut args = vec![
            os("build"),
            project.as_os_str(),
            os("--out"),
            out.as_os_str(),
            os("--plan"),
            plan_file.as_os_str(),
            os("--only"),
            os(name),
        ];
        args.extend(extra.iter().map(|arg| os(arg)));
        let run = lamina(&args, &work.join(format!("cache-{name}")));
        assert_eq!(run.status.code(), Some(0), "shard {name}: {}", show(&run));
        let written = zips(&out);
        assert_eq!(
            written.len(),
            1,
            "shard {name} writes its zip alone: {:?}",
            written.keys()
        );
        for (path, bytes) in written {
            assert!(
                union.insert(path.clone(), bytes).is_none(),
                "two shards wrote {path}"
            );
        }
        let part: Value = serde_json::from_slice(
            &fs_err::read(out.join("reports").join(format!("{name}.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(part["ok"], true, "{part:#}");
        let (kind, entries) = if part["functions"].as_array().unwrap().is_empty() {
            ("layers", &part["layers"])
        } else {
            ("functions", &part["functions"])
        };
        assert_eq!(entries.as_array().unwrap().len(), 1, "{part:#}");
        let whole = report[kind]
            .as_array()
            .unwrap()
            .iter()
            .find(|entry| entry["name"] == name.as_str())
            .unwrap_or_else(|| panic!("{name} is not in the single build's report"));
        assert_eq!(
            comparable(&entries[0]),
            comparable(whole),
            "the report entry of {name}"
        );
    }
    let single_zips = zips(&single_out);
    assert_eq!(
        union.keys().collect::<Vec<_>>(),
        single_zips.keys().collect::<Vec<_>>(),
        "the shards write the single build's zips, no more, no fewer"
    );
    for (path, bytes) in &single_zips {
        assert!(
            &union[path] == bytes,
            "{path} differs between the single build and its shard"
        );
    }
    names
}

// invariant: sharded-same-bytes
#[test]
fn the_monorepo_built_in_shards_matches_the_single_build_byte_for_byte() {
    let project = crate::e2e_monorepo::installed();
    let work = tempfile::tempdir().unwrap();
    let names = shards_match_the_single_build(&project, work.path(), &[]);
    // Four functions and the two layers they share (one Node, one Python).
    assert_eq!(names.len(), 6, "{names:?}");
    assert!(
        names
            .iter()
            .any(|name| name.starts_with("nodejs20.x-x86_64-"))
    );
    assert!(names.iter().any(|name| name.starts_with("python3.")));

    // A shard into the single build's output folder, with its cache: each function's zip
    // there is the one the shard makes, so it is left in place, and no zip there changes.
    let single_out = work.path().join("single");
    let before = zips(&single_out);
    let layers: Vec<&String> = names
        .iter()
        .filter(|name| name.starts_with("nodejs") || name.starts_with("python3."))
        .collect();
    for name in names.iter().filter(|name| !layers.contains(name)) {
        let run = shard(
            &project,
            &work.path().join("plan.json"),
            &[name],
            &single_out,
            &work.path().join("cache-single"),
        );
        assert_eq!(run.status.code(), Some(0), "shard {name}: {}", show(&run));
        let part: Value = serde_json::from_slice(
            &fs_err::read(single_out.join("reports").join(format!("{name}.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(
            part["functions"][0]["packaging"]["left_in_place"], true,
            "{name}"
        );
        assert!(zips(&single_out) == before, "shard {name} changed a zip");
    }
}

// invariant: sharded-same-bytes
#[test]
fn shards_traced_with_shake_files_match_the_single_build() {
    let fixture = crate::layers::monorepo();
    let work = tempfile::tempdir().unwrap();
    let names = shards_match_the_single_build(&fixture.root, work.path(), &["--shake", "files"]);
    assert_eq!(names.len(), 3, "two functions and their layer: {names:?}");
}

#[test]
fn the_plan_is_the_same_bytes_wherever_the_project_is_and_builds_there() {
    let fixture = crate::layers::monorepo();
    let work = tempfile::tempdir().unwrap();
    let here = work.path().join("here.json");
    let again = work.path().join("again.json");
    let planned = plan(&fixture.root, &here, &work.path().join("cache-a"), &[]);
    plan(&fixture.root, &again, &work.path().join("cache-b"), &[]);
    assert_eq!(fs_err::read(&here).unwrap(), fs_err::read(&again).unwrap());
    assert_eq!(planned["plan_version"], 2);
    assert_eq!(
        planned["names"].as_array().unwrap().len(),
        3,
        "one, two and their layer: {planned:#}"
    );
    let text = fs_err::read_to_string(&here).unwrap();
    assert!(
        !text.contains(fixture.base.to_str().unwrap()),
        "no absolute path in the plan"
    );

    // Another checkout, elsewhere: the same plan, and a shard built from the first plan there
    // writes the zip the build here writes.
    let elsewhere = tempfile::tempdir().unwrap();
    let moved = elsewhere.path().join("checkout");
    let copy = std::process::Command::new("cp")
        .arg("-a")
        .arg(&fixture.root)
        .arg(&moved)
        .output()
        .unwrap();
    assert!(copy.status.success(), "{}", show(&copy));
    let there = work.path().join("there.json");
    plan(&moved, &there, &work.path().join("cache-c"), &[]);
    assert_eq!(fs_err::read(&here).unwrap(), fs_err::read(&there).unwrap());

    let single = lamina(
        &[
            os("build"),
            fixture.root.as_os_str(),
            os("--out"),
            work.path().join("single").as_os_str(),
        ],
        &work.path().join("cache-single"),
    );
    assert_eq!(single.status.code(), Some(0), "{}", show(&single));
    let layer = planned["layers"][0]["name"].as_str().unwrap().to_string();
    let out = work.path().join("moved-out");
    let run = shard(
        &moved,
        &here,
        &[&format!("two,{layer}")],
        &out,
        &work.path().join("cache-moved"),
    );
    assert_eq!(run.status.code(), Some(0), "{}", show(&run));
    let built = zips(&out);
    let expected: Vec<String> = vec![format!("layers/{layer}.zip"), "two.zip".to_string()];
    assert_eq!(built.keys().cloned().collect::<Vec<_>>(), expected);
    let whole = zips(&work.path().join("single"));
    for (path, bytes) in &built {
        assert!(&whole[path] == bytes, "{path} differs");
    }
    // One report per output, so the shards' folders can be put together.
    assert!(out.join("reports/two.json").is_file());
    assert!(out.join(format!("reports/{layer}.json")).is_file());
    assert!(!out.join("report.json").exists());
}

/// Runs a shard that must be refused: exit 2, nothing written, and stderr says `expected`.
fn refused(project: &Path, plan: &Path, names: &[&str], expected: &[&str]) -> String {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    let run = shard(project, plan, names, &out, &work.path().join("cache"));
    assert_eq!(run.status.code(), Some(2), "{}", show(&run));
    let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
    for part in expected {
        assert!(stderr.contains(part), "{part:?} not in {stderr}");
    }
    assert!(!out.exists(), "nothing written: {}", out.display());
    stderr
}

#[test]
fn a_file_changed_since_the_plan_fails_the_shard_naming_it() {
    let fixture = crate::layers::monorepo();
    let work = tempfile::tempdir().unwrap();
    let plan_file = work.path().join("plan.json");
    let planned = plan(&fixture.root, &plan_file, &work.path().join("cache"), &[]);
    let layer = planned["layers"][0]["name"].as_str().unwrap().to_string();

    // A kept file of `one` changes (same size, so only its digest tells).
    let changed = fixture.root.join("one/node_modules/solo/index.js");
    let text = fs_err::read_to_string(&changed).unwrap();
    fs_err::write(&changed, text.replace("solo", "SOLO")).unwrap();
    refused(
        &fixture.root,
        &plan_file,
        &["one"],
        &[changed.to_str().unwrap(), "changed since", "lamina plan"],
    );
    // Of `one`, `two`'s shard reads only the layer's files: it still builds.
    let out = work.path().join("two-out");
    let run = shard(
        &fixture.root,
        &plan_file,
        &["two"],
        &out,
        &work.path().join("c2"),
    );
    assert_eq!(run.status.code(), Some(0), "{}", show(&run));
    fs_err::write(&changed, text).unwrap();

    // A file of the layer, read from `one`: the layer's shard and every function that attaches
    // it (verified with it) refuse.
    let shared = fixture.root.join("one/node_modules/shared/index.js");
    let text = fs_err::read_to_string(&shared).unwrap();
    fs_err::write(&shared, text.replace("shared", "SHARED")).unwrap();
    refused(
        &fixture.root,
        &plan_file,
        &[&layer],
        &[shared.to_str().unwrap()],
    );
    refused(
        &fixture.root,
        &plan_file,
        &["two"],
        &[shared.to_str().unwrap()],
    );
    fs_err::write(&shared, text).unwrap();

    // A new file that would ship.
    let added = fixture.root.join("two/extra.js");
    fs_err::write(&added, "module.exports = 1;\n").unwrap();
    refused(
        &fixture.root,
        &plan_file,
        &["two"],
        &[added.to_str().unwrap(), "ships since"],
    );
    fs_err::remove_file(&added).unwrap();

    // lamina.toml itself.
    let manifest = fixture.root.join("lamina.toml");
    let text = fs_err::read_to_string(&manifest).unwrap();
    fs_err::write(
        &manifest,
        text.replace("[[function]]", "# moved\n[[function]]"),
    )
    .unwrap();
    refused(
        &fixture.root,
        &plan_file,
        &["two"],
        &[manifest.to_str().unwrap(), "changed since"],
    );
    fs_err::write(&manifest, text).unwrap();

    // Back as planned: the shard builds.
    let run = shard(
        &fixture.root,
        &plan_file,
        &["one"],
        &work.path().join("one-out"),
        &work.path().join("c3"),
    );
    assert_eq!(run.status.code(), Some(0), "{}", show(&run));
}

#[test]
fn an_unknown_name_other_flags_or_a_broken_plan_are_refused() {
    let fixture = crate::layers::monorepo();
    let work = tempfile::tempdir().unwrap();
    let plan_file = work.path().join("plan.json");
    let planned = plan(&fixture.root, &plan_file, &work.path().join("cache"), &[]);
    let layer = planned["layers"][0]["name"].as_str().unwrap();
    refused(
        &fixture.root,
        &plan_file,
        &["three"],
        &["--only three", "one, two, ", layer],
    );

    // Planned without tracing, built with it.
    let out = work.path().join("out");
    let run = lamina(
        &[
            os("build"),
            fixture.root.as_os_str(),
            os("--out"),
            out.as_os_str(),
            os("--plan"),
            plan_file.as_os_str(),
            os("--shake"),
            os("files"),
        ],
        &work.path().join("cache"),
    );
    assert_eq!(run.status.code(), Some(2), "{}", show(&run));
    assert!(
        String::from_utf8_lossy(&run.stderr).contains("planned with shake = \"deps\""),
        "{}",
        show(&run)
    );
    assert!(!out.exists());

    // Not a plan of this format.
    let broken = work.path().join("broken.json");
    fs_err::write(&broken, "{\"plan_version\": 99}").unwrap();
    refused(&fixture.root, &broken, &["one"], &["plan_version 99"]);

    // --only without --plan is a usage error (clap's).
    let run = lamina(
        &[
            os("build"),
            fixture.root.as_os_str(),
            os("--only"),
            os("one"),
        ],
        &work.path().join("cache"),
    );
    assert_eq!(run.status.code(), Some(2), "{}", show(&run));
}

#[test]
fn a_plan_inside_a_function_folder_is_refused_and_a_whole_build_from_the_plan_matches() {
    let fixture = crate::layers::monorepo();
    let work = tempfile::tempdir().unwrap();
    let inside = fixture.root.join("one/plan.json");
    let run = lamina(
        &[
            os("plan"),
            fixture.root.as_os_str(),
            os("--out"),
            inside.as_os_str(),
        ],
        &work.path().join("cache"),
    );
    assert_eq!(run.status.code(), Some(2), "{}", show(&run));
    assert!(!inside.exists());

    // Without --only, --plan builds everything, with the whole build's report.json.
    let plan_file = work.path().join("plan.json");
    plan(&fixture.root, &plan_file, &work.path().join("cache"), &[]);
    let from_plan = work.path().join("from-plan");
    let run = lamina(
        &[
            os("build"),
            fixture.root.as_os_str(),
            os("--out"),
            from_plan.as_os_str(),
            os("--plan"),
            plan_file.as_os_str(),
        ],
        &work.path().join("cache-plan"),
    );
    assert_eq!(run.status.code(), Some(0), "{}", show(&run));
    let single = work.path().join("single");
    let run = lamina(
        &[
            os("build"),
            fixture.root.as_os_str(),
            os("--out"),
            single.as_os_str(),
        ],
        &work.path().join("cache-single"),
    );
    assert_eq!(run.status.code(), Some(0), "{}", show(&run));
    assert_eq!(zips(&from_plan), zips(&single));
    let report = |out: &Path| -> Value {
        serde_json::from_slice(&fs_err::read(out.join("report.json")).unwrap()).unwrap()
    };
    let (a, b) = (report(&from_plan), report(&single));
    for kind in ["functions", "layers"] {
        let a: Vec<Value> = a[kind].as_array().unwrap().iter().map(comparable).collect();
        let b: Vec<Value> = b[kind].as_array().unwrap().iter().map(comparable).collect();
        assert_eq!(a, b, "{kind}");
    }
}

/// `lamina plan --keys DIR`: each output's key, by name.
fn keys(project: &Path, work: &Path, tag: &str) -> BTreeMap<String, String> {
    let dir = work.join(format!("keys-{tag}"));
    let planned = plan(
        project,
        &work.join(format!("plan-{tag}.json")),
        &work.join(format!("cache-{tag}")),
        &["--keys", dir.to_str().unwrap()],
    );
    let names: Vec<&str> = planned["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|name| name.as_str().unwrap())
        .collect();
    let mut found: Vec<String> = fs_err::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".key"))
        .collect();
    found.sort();
    let mut expected: Vec<String> = names.iter().map(|name| format!("{name}.key")).collect();
    expected.sort();
    assert_eq!(found, expected, "one key file per name, nothing else");
    names
        .iter()
        .map(|name| {
            let text = fs_err::read_to_string(dir.join(format!("{name}.key"))).unwrap();
            let key = text.strip_suffix('\n').unwrap().to_string();
            assert!(
                key.len() == 64 && key.bytes().all(|byte| byte.is_ascii_hexdigit()),
                "{name}: {text:?}"
            );
            (name.to_string(), key)
        })
        .collect()
}

/// The names whose key differs between two plans of the same outputs.
fn changed(before: &BTreeMap<String, String>, after: &BTreeMap<String, String>) -> Vec<String> {
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>()
    );
    before
        .iter()
        .filter(|(name, key)| after[*name] != **key)
        .map(|(name, _)| name.clone())
        .collect()
}

// invariant: sharded-same-bytes
#[test]
fn an_output_key_changes_when_and_only_when_what_its_shard_builds_from_does() {
    use std::os::unix::fs::PermissionsExt;
    let fixture = crate::layers::monorepo();
    let work = tempfile::tempdir().unwrap();
    let first = keys(&fixture.root, work.path(), "first");
    assert_eq!(first.len(), 3, "one, two and their layer: {first:?}");
    let layer = first
        .keys()
        .find(|name| !["one", "two"].contains(&name.as_str()))
        .unwrap()
        .clone();
    let distinct: BTreeSet<&String> = first.values().collect();
    assert_eq!(distinct.len(), 3, "each output its own key");
    // Planned into a folder holding a key of a name the plan no longer has: that key goes
    // (it would serve an old zip), other files stay.
    let again = work.path().join("keys-again");
    fs_err::create_dir_all(&again).unwrap();
    fs_err::write(again.join("gone.key"), "0\n").unwrap();
    fs_err::write(again.join("notes.txt"), "mine\n").unwrap();
    assert_eq!(first, keys(&fixture.root, work.path(), "again"));
    assert!(!again.join("gone.key").exists());
    assert!(again.join("notes.txt").is_file());

    // One's own file (same size): one's key, and the layer's, whose report is what verify
    // found with one, the first function attaching it; not two's.
    let solo = fixture.root.join("one/node_modules/solo/index.js");
    let text = fs_err::read_to_string(&solo).unwrap();
    fs_err::write(&solo, text.replace("solo", "SOLO")).unwrap();
    let after = keys(&fixture.root, work.path(), "solo");
    assert_eq!(
        changed(&first, &after),
        vec![layer.clone(), "one".to_string()]
    );
    fs_err::write(&solo, &text).unwrap();
    assert_eq!(first, keys(&fixture.root, work.path(), "back"));

    // A file of the layer, the same in both functions: every output.
    let mut originals = Vec::new();
    for name in ["one", "two"] {
        let shared = fixture
            .root
            .join(format!("{name}/node_modules/shared/index.js"));
        let text = fs_err::read_to_string(&shared).unwrap();
        fs_err::write(&shared, text.replace("shared", "SHARED")).unwrap();
        originals.push((shared, text));
    }
    // The layer's name follows its contents: it is another output, with a key of its own.
    let after = keys(&fixture.root, work.path(), "shared");
    assert!(!after.contains_key(&layer), "{after:?}");
    assert_eq!(after.len(), 3, "{after:?}");
    for name in ["one", "two"] {
        assert_ne!(first[name], after[name], "{name}");
    }
    for (shared, text) in &originals {
        fs_err::write(shared, text).unwrap();
    }

    // Two's handler becomes executable: the zip's entry mode follows, so two's key changes
    // and the first plan no longer builds two.
    let handler = fixture.root.join("two/index.js");
    let mode = fs_err::metadata(&handler).unwrap().permissions();
    fs_err::set_permissions(&handler, std::fs::Permissions::from_mode(0o755)).unwrap();
    let after = keys(&fixture.root, work.path(), "chmod");
    assert_eq!(changed(&first, &after), vec!["two".to_string()]);
    refused(
        &fixture.root,
        &work.path().join("plan-first.json"),
        &["two"],
        &[handler.to_str().unwrap(), "became executable since"],
    );
    fs_err::set_permissions(&handler, mode).unwrap();

    // Keys inside a function folder would ship with it: refused, nothing written.
    let inside = fixture.root.join("one/keys");
    let run = lamina(
        &[
            os("plan"),
            fixture.root.as_os_str(),
            os("--out"),
            work.path().join("plan-inside.json").as_os_str(),
            os("--keys"),
            inside.as_os_str(),
        ],
        &work.path().join("cache-inside"),
    );
    assert_eq!(run.status.code(), Some(2), "{}", show(&run));
    assert!(String::from_utf8_lossy(&run.stderr).contains("--keys"));
    assert!(!inside.exists());
    assert!(!work.path().join("plan-inside.json").exists());
}
