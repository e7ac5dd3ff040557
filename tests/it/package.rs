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

/// The cache's entry files: named by their 64-hex-digit key.
fn cache_files(fixture: &Fixture) -> Vec<std::path::PathBuf> {
    walkdir::WalkDir::new(fixture.base.join("cache"))
        .into_iter()
        .flatten()
        .map(|entry| entry.path().to_path_buf())
        .filter(|path| path.file_name().is_some_and(|name| name.len() == 64))
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
    let fixture = fixture();
    let cold = fixture.build(&[]);
    let warm = fixture.build(&[]);
    assert_eq!(cold.function()["sha256"], warm.function()["sha256"]);
    // Only files of 16 KiB and more go through the cache: here the two large ones.
    assert_eq!(cold.function()["packaging"]["cache_misses"], 2);
    assert_eq!(cold.function()["packaging"]["cache_hits"], 0);
    assert_eq!(warm.function()["packaging"]["cache_hits"], 2);
    assert_eq!(warm.function()["packaging"]["cache_misses"], 0);
}

#[test]
fn a_corrupted_cache_entry_is_ignored_and_the_zip_is_still_right() {
    let fixture = fixture();
    let cold = fixture.build(&[]);
    let entries = cache_files(&fixture);
    assert!(!entries.is_empty());
    // Damage every entry a different way: flipped bytes, truncation, emptied.
    for (index, entry) in entries.iter().enumerate() {
        let mut bytes = fs_err::read(entry).unwrap();
        match index % 3 {
            0 => {
                let middle = bytes.len() / 2;
                bytes[middle] ^= 0xff;
            }
            1 => bytes.truncate(bytes.len() / 2),
            _ => bytes.clear(),
        }
        fs_err::write(entry, bytes).unwrap();
    }
    let rebuilt = fixture.build(&[]);
    assert_eq!(cold.function()["sha256"], rebuilt.function()["sha256"]);
    assert_eq!(rebuilt.function()["packaging"]["cache_hits"], 0);
    unzip_test(&rebuilt.zip);
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
