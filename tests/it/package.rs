//! Packaging through the binary: the cache of compressed entries (cold, warm, corrupted,
//! disabled) and the compression levels, all giving zips that unzip cleanly; and the scan's
//! remembered facts (`scan_cache`), whose warm builds must equal builds without the cache.

use serde_json::json;

use crate::harness::Fixture;

fn fixture() -> Fixture {
    let fixture = Fixture::new(
        "cached",
        json!({ "name": "cached", "dependencies": { "a": "1" } }),
    );
    fixture
        .file(
            "index.js",
            &"exports.handler = async () => require('a');\n".repeat(50),
        )
        .package("node_modules/a", "a", "1.0.0", &[])
        .file("node_modules/a/data.json", &"[1,2,3],".repeat(5000))
        .file("node_modules/a/big.js", &"exports.x = 1;\n".repeat(2000));
    fixture
}

/// The cache's pack files.
fn cache_files(fixture: &Fixture) -> Vec<std::path::PathBuf> {
    walkdir::WalkDir::new(fixture.base.join("cache"))
        .into_iter()
        .flatten()
        .map(|entry| entry.path().to_path_buf())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "pack")
        })
        .collect()
}

fn unzip_test(zip: &std::path::Path) {
    let output = std::process::Command::new("unzip")
        .arg("-tq")
        .arg(zip)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "unzip -t {}: {}",
        zip.display(),
        String::from_utf8_lossy(&output.stdout)
    );
}

/// The SHA-256 and inode of a file: what a build that leaves it in place does not change.
fn on_disk(path: &std::path::Path) -> (String, u64) {
    use sha2::Digest;
    use std::os::unix::fs::MetadataExt;
    let bytes = fs_err::read(path).unwrap();
    (
        hex::encode(sha2::Sha256::digest(&bytes)),
        fs_err::metadata(path).unwrap().ino(),
    )
}

#[test]
fn warm_builds_reuse_the_cache_and_write_the_same_bytes() {
    // invariant: same-bytes
    let fixture = fixture();
    let cold = fixture.build(&[]);
    // Without the zip in OUT, so that it is written again, from the cache.
    fs_err::remove_file(&cold.zip).unwrap();
    let warm = fixture.build(&[]);
    assert_eq!(cold.function()["sha256"], warm.function()["sha256"]);
    assert_eq!(on_disk(&warm.zip).0, cold.function()["sha256"]);
    // Every file goes through the cache: index.js, two package.json files, a's three files.
    assert_eq!(cold.function()["packaging"]["cache_misses"], 6);
    assert_eq!(cold.function()["packaging"]["cache_hits"], 0);
    assert_eq!(warm.function()["packaging"]["cache_hits"], 6);
    assert_eq!(warm.function()["packaging"]["cache_misses"], 0);
    // One pack per build that compressed something; the warm build added none.
    assert_eq!(cache_files(&fixture).len(), 1);
}

#[test]
fn a_corrupted_cache_entry_is_ignored_and_the_zip_is_still_right() {
    let fixture = fixture();
    let cold = fixture.build(&[]);
    let total = cold.function()["packaging"]["cache_misses"]
        .as_u64()
        .unwrap();
    // Damage the pack a different way each time: a flipped byte in a record, truncation,
    // emptied. Each rebuild writes a fresh pack, which the next round damages.
    for damage in 0..3 {
        let packs = cache_files(&fixture);
        assert_eq!(packs.len(), 1, "{packs:?}");
        let mut bytes = fs_err::read(&packs[0]).unwrap();
        match damage {
            // Just past the 16-byte header: inside the first record.
            0 => bytes[16] ^= 0xff,
            1 => bytes.truncate(bytes.len() / 2),
            _ => bytes.clear(),
        }
        fs_err::write(&packs[0], bytes).unwrap();
        // Else the zip in OUT, unchanged, is left there and the cache is not read.
        fs_err::remove_file(&cold.zip).unwrap();
        let rebuilt = fixture.build(&[]);
        assert_eq!(rebuilt.function()["packaging"]["left_in_place"], false);
        assert_eq!(cold.function()["sha256"], rebuilt.function()["sha256"]);
        let hits = rebuilt.function()["packaging"]["cache_hits"]
            .as_u64()
            .unwrap();
        // A damaged record is never used. Records read before the damage was found are
        // intact and may be; a truncated or emptied pack is refused whole.
        if damage == 0 {
            assert!(hits < total, "{hits} of {total}");
        } else {
            assert_eq!(hits, 0);
        }
        unzip_test(&rebuilt.zip);
    }
}

#[test]
fn an_unchanged_rebuild_leaves_the_zip_in_place_and_anything_else_rewrites_it() {
    // invariant: same-bytes
    let fixture = fixture();
    let cold = fixture.build(&[]);
    assert_eq!(cold.function()["packaging"]["left_in_place"], false);
    let (sha256, inode) = on_disk(&cold.zip);
    assert_eq!(sha256, cold.function()["sha256"]);
    let packs = cache_files(&fixture);
    let warm = fixture.build(&[]);
    let packaging = &warm.function()["packaging"];
    assert_eq!(packaging["left_in_place"], true, "{packaging:#}");
    assert_eq!(
        (&packaging["cache_hits"], &packaging["cache_misses"]),
        (&0.into(), &0.into())
    );
    assert_eq!(
        packaging["compressed_bytes"],
        cold.function()["packaging"]["compressed_bytes"]
    );
    for field in [
        "sha256",
        "zipped_bytes",
        "artifact",
        "unzipped_bytes",
        "findings",
    ] {
        assert_eq!(warm.function()[field], cold.function()[field], "{field}");
    }
    assert_eq!(
        on_disk(&warm.zip),
        (sha256.clone(), inode),
        "not written again"
    );
    assert_eq!(cache_files(&fixture), packs);
    let text = fixture.lamina(&[
        "build",
        fixture.root.to_str().unwrap(),
        "--out",
        warm.out.to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("cached.zip  (unchanged: left in place)"),
        "{text}"
    );
    // Named in the output marker as before; nothing of the build's own left behind.
    let mut names: Vec<String> = fs_err::read_dir(&warm.out)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, [".lamina-output", "cached.zip", "report.json"]);
    assert_eq!(
        fs_err::read_to_string(warm.out.join(".lamina-output")).unwrap(),
        "cached.zip\nreport.json\n"
    );

    // The zip in OUT replaced by other bytes of the same size: written again, as it was.
    let size = fs_err::metadata(&cold.zip).unwrap().len() as usize;
    fs_err::write(&cold.zip, vec![b'x'; size]).unwrap();
    let replaced = fixture.build(&[]);
    assert_eq!(replaced.function()["packaging"]["left_in_place"], false);
    assert_eq!(on_disk(&replaced.zip).0, sha256);
    unzip_test(&replaced.zip);
    // Other settings, then a changed input: written, as a build without the cache writes it.
    let fast = fixture.build(&["--compression", "fast"]);
    assert_eq!(fast.function()["packaging"]["left_in_place"], false);
    assert_ne!(fast.function()["sha256"], cold.function()["sha256"]);
    fixture.file("node_modules/a/big.js", &"exports.x = 2;\n".repeat(2000));
    let changed = fixture.build(&[]);
    assert_eq!(changed.function()["packaging"]["left_in_place"], false);
    assert_ne!(changed.function()["sha256"], cold.function()["sha256"]);
    let written = on_disk(&changed.zip).0;
    let uncached = fixture.build(&["--no-cache"]);
    assert_eq!(on_disk(&uncached.zip).0, written);
    assert_eq!(uncached.function()["sha256"], changed.function()["sha256"]);
}

#[test]
fn no_cache_reads_and_writes_no_cache() {
    let fixture = fixture();
    let built = fixture.build(&["--no-cache"]);
    assert!(cache_files(&fixture).is_empty());
    assert_eq!(built.function()["packaging"]["cache_hits"], 0);
    let cached = fixture.build(&[]);
    assert_eq!(built.function()["sha256"], cached.function()["sha256"]);
}

#[test]
fn compression_levels_trade_size_for_time_and_all_unzip() {
    let fixture = fixture();
    let fast = fixture.build(&["--compression", "fast"]);
    let fast_bytes = fast.function()["zipped_bytes"].as_u64().unwrap();
    unzip_test(&fast.zip);
    let default = fixture.build(&[]);
    let default_bytes = default.function()["zipped_bytes"].as_u64().unwrap();
    unzip_test(&default.zip);
    let max = fixture.build(&["--compression", "max"]);
    let max_bytes = max.function()["zipped_bytes"].as_u64().unwrap();
    unzip_test(&max.zip);
    assert!(
        max_bytes <= default_bytes && default_bytes <= fast_bytes,
        "{max_bytes} {default_bytes} {fast_bytes}"
    );
    let packaging = &max.function()["packaging"];
    assert_eq!(packaging["compression"], "max");
    assert!(
        packaging["default_level_bytes"].as_u64().unwrap()
            >= packaging["compressed_bytes"].as_u64().unwrap()
    );
}

#[test]
fn remembered_digests_never_hide_a_change() {
    let fixture = fixture();
    // Files that changed in the last two seconds are never remembered: let them settle.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let cold = fixture.build(&[]);
    let warm = fixture.build(&[]);
    assert_eq!(cold.function()["sha256"], warm.function()["sha256"]);
    // Same length, same modification time, new contents: only the change time differs.
    let path = "node_modules/a/big.js";
    let contents = fs_err::read_to_string(fixture.root.join(path))
        .unwrap()
        .replacen("x = 1", "x = 2", 1);
    fixture.rewrite_keeping_mtime(path, &contents);
    let changed = fixture.build(&[]);
    assert_ne!(cold.function()["sha256"], changed.function()["sha256"]);
    let mut archive = zip::ZipArchive::new(fs_err::File::open(&changed.zip).unwrap()).unwrap();
    let mut read = String::new();
    std::io::Read::read_to_string(
        &mut archive.by_name("node_modules/a/big.js").unwrap(),
        &mut read,
    )
    .unwrap();
    assert_eq!(read, contents);
    // And it matches a build without the cache.
    let uncached = fixture.build(&["--no-cache"]);
    assert_eq!(changed.function()["sha256"], uncached.function()["sha256"]);
}

#[test]
fn concurrent_builds_sharing_a_cache_under_constant_eviction_stay_correct() {
    let fixture = fixture();
    let expected = fixture.build(&["--no-cache"]).function()["sha256"].clone();
    let root = fixture.root.to_str().unwrap().to_string();
    // A cap of one byte: every build evicts every pack, while the others read them.
    for round in 0..3 {
        let children: Vec<_> = (0..4)
            .map(|index| {
                let out = fixture.base.join(format!("out-{round}-{index}"));
                crate::harness::lamina_command()
                    .args(["build", &root, "--json", "--out"])
                    .arg(&out)
                    .env("LAMINA_CACHE_DIR", fixture.base.join("cache"))
                    .env("LAMINA_CACHE_MAX_BYTES", "1")
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            let output = child.wait_with_output().unwrap();
            assert!(
                output.status.success(),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
            let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
            assert_eq!(report["functions"][0]["sha256"], expected);
        }
    }
}

/// A function whose package `a` loads `b` without declaring it (a named reference, which keeps
/// `b`), with `c` installed beside it, unused; `a/later.js` loads `d`, which is not installed.
fn named_fixture() -> Fixture {
    let fixture = Fixture::new(
        "named",
        json!({ "name": "named", "dependencies": { "a": "1" } }),
    );
    fixture
        .file("index.js", "exports.handler = async () => require('a');\n")
        .package("node_modules/a", "a", "1.0.0", &[])
        .file("node_modules/a/lib.js", "module.exports = require('b');\n")
        .file(
            "node_modules/a/later.js",
            "module.exports = require('d');\n",
        )
        .package("node_modules/b", "b", "1.0.0", &[])
        .package("node_modules/c", "c", "1.0.0", &[]);
    // Files that changed in the last two seconds are never remembered: let them settle.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    fixture
}

/// The report's `scan_cache` counts: (files read, files reused).
pub(crate) fn scan_cache(built: &crate::harness::Built) -> (u64, u64) {
    let counts = &built.function()["scan_cache"];
    (
        counts["files_read"].as_u64().unwrap(),
        counts["files_reused"].as_u64().unwrap(),
    )
}

/// The warm build's zip and packages equal a build without the cache.
fn assert_same_as_uncached(fixture: &Fixture, warm: &crate::harness::Built, args: &[&str]) {
    let uncached = fixture.build(&[args, &["--no-cache"]].concat());
    assert_eq!(warm.function()["sha256"], uncached.function()["sha256"]);
    assert_eq!(warm.function()["packages"], uncached.function()["packages"]);
    assert_eq!(scan_cache(&uncached).1, 0);
}

#[test]
fn a_warm_scan_reads_no_unchanged_file_and_sees_every_change() {
    // invariant: same-bytes
    let fixture = named_fixture();
    let cold = fixture.build(&[]);
    assert_eq!(cold.package("node_modules/b")["status"], "kept");
    assert_eq!(cold.package("node_modules/c")["status"], "dropped");
    // Every script of a, b and c (index.js and package.json files aside: a, b, c's index.js and
    // a's lib.js and later.js).
    assert_eq!(scan_cache(&cold), (5, 0));
    let warm = fixture.build(&[]);
    assert_eq!(scan_cache(&warm), (0, 5));
    assert_eq!(cold.function()["sha256"], warm.function()["sha256"]);
    assert_eq!(cold.function()["packages"], warm.function()["packages"]);

    // Same length, same modification time, new contents: only the change time differs.
    fixture.rewrite_keeping_mtime("node_modules/a/lib.js", "module.exports = require('c');\n");
    let changed = fixture.build(&[]);
    assert_eq!(scan_cache(&changed), (1, 4));
    assert_eq!(changed.package("node_modules/b")["status"], "dropped");
    assert_eq!(changed.package("node_modules/c")["status"], "kept");
    assert_same_as_uncached(&fixture, &changed, &[]);

    // A package installed since: `later.js` did not change, but its `d` now names one.
    fixture.package("node_modules/d", "d", "1.0.0", &[]);
    let installed = fixture.build(&[]);
    assert_eq!(installed.package("node_modules/d")["status"], "kept");
    assert_same_as_uncached(&fixture, &installed, &[]);
}

/// Every file under the cache folder, with its size and modification time.
fn cache_listing(fixture: &Fixture) -> Vec<(std::path::PathBuf, u64, std::time::SystemTime)> {
    walkdir::WalkDir::new(fixture.base.join("cache"))
        .sort_by_file_name()
        .into_iter()
        .flatten()
        .filter(|entry| entry.file_type().is_file())
        .map(|entry| {
            let meta = entry.metadata().unwrap();
            (
                entry.path().to_path_buf(),
                meta.len(),
                meta.modified().unwrap(),
            )
        })
        .collect()
}

#[test]
fn scan_reads_what_a_build_remembered_and_writes_nothing() {
    let fixture = named_fixture();
    let root = fixture.root.to_str().unwrap();
    let scan = |cache: &std::path::Path| -> serde_json::Value {
        let output = crate::harness::lamina_command()
            .args(["scan", root, "--json"])
            .env("LAMINA_CACHE_DIR", cache)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0), "{output:?}");
        serde_json::from_slice(&output.stdout).unwrap()
    };
    // Before any build: nothing to reuse, and nothing written.
    let empty = fixture.base.join("empty-cache");
    let fresh = scan(&empty);
    assert_eq!(fresh["functions"][0]["scan_cache"]["files_read"], 5);
    assert!(!empty.exists(), "scan made the cache folder");
    fixture.build(&[]);
    let before = cache_listing(&fixture);
    assert!(!before.is_empty());
    let warm = scan(&fixture.base.join("cache"));
    let counts = &warm["functions"][0]["scan_cache"];
    assert_eq!(
        (&counts["files_read"], &counts["files_reused"]),
        (&0.into(), &5.into())
    );
    assert_eq!(
        warm["functions"][0]["packages"],
        fresh["functions"][0]["packages"]
    );
    assert_eq!(cache_listing(&fixture), before, "scan wrote in the cache");
}

#[test]
fn warm_builds_with_other_options_equal_builds_without_the_cache() {
    // invariant: same-bytes
    let fixture = named_fixture();
    fixture.build(&[]);
    for args in [
        &["--shake", "files"][..],
        &["--shake", "none"],
        &["--runtime", "nodejs18.x"],
        &["--arch", "arm64", "--compression", "fast"],
        &[],
    ] {
        let warm = fixture.build(args);
        assert_eq!(scan_cache(&warm).0, 0, "{args:?}");
        assert_same_as_uncached(&fixture, &warm, args);
    }
}

#[test]
fn a_damaged_scan_memo_is_ignored() {
    let fixture = named_fixture();
    let cold = fixture.build(&[]);
    let memos: Vec<_> = walkdir::WalkDir::new(fixture.base.join("cache/scan"))
        .into_iter()
        .flatten()
        .filter(|entry| entry.file_type().is_file())
        .map(|entry| entry.path().to_path_buf())
        .collect();
    assert_eq!(memos.len(), 1, "{memos:?}");
    for damage in 0..4 {
        let mut bytes = fs_err::read(&memos[0]).unwrap();
        match damage {
            0 => *bytes.last_mut().unwrap() ^= 1,
            // Inside the seal.
            1 => bytes[12] ^= 0x40,
            2 => bytes.truncate(bytes.len() - 5),
            _ => bytes.clear(),
        }
        fs_err::write(&memos[0], bytes).unwrap();
        let rebuilt = fixture.build(&[]);
        assert_eq!(scan_cache(&rebuilt), (5, 0), "damage {damage}");
        assert_eq!(cold.function()["sha256"], rebuilt.function()["sha256"]);
        assert_eq!(cold.function()["packages"], rebuilt.function()["packages"]);
    }
    // The last rebuild wrote a whole memo again.
    assert_eq!(scan_cache(&fixture.build(&[])), (0, 5));
}
