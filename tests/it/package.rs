//! Packaging through the binary: the cache of compressed entries (cold, warm, corrupted,
//! disabled) and the compression levels, all giving zips that unzip cleanly.

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

#[test]
fn warm_builds_reuse_the_cache_and_write_the_same_bytes() {
    // invariant: same-bytes
    let fixture = fixture();
    let cold = fixture.build(&[]);
    let warm = fixture.build(&[]);
    assert_eq!(cold.function()["sha256"], warm.function()["sha256"]);
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
        let rebuilt = fixture.build(&[]);
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
