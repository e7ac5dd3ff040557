//! `lamina check` and the verification `lamina build` runs: every finding fires on a zip crafted
//! to have its defect and stays quiet on the same zip without it; real zips from Info-ZIP and
//! Python pass clean; real native binaries (npm and PyPI packages, cached outside the repo) are
//! classified; exit codes; nothing is written; property tests of lamina's zip writer against
//! three readers, and of the reader against damaged input.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

use proptest::prelude::*;
use serde_json::Value;
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use lamina::verify::findings::FINDINGS;
use lamina::verify::zipcheck::ReadLimits;

// ---------------------------------------------------------------------------------------------
// Running lamina check
// ---------------------------------------------------------------------------------------------

/// What one `lamina check --json` run produced.
struct Checked {
    code: i32,
    report: Value,
    stderr: String,
}

impl Checked {
    /// Every finding id, over functions and layers.
    fn ids(&self) -> BTreeSet<String> {
        self.findings()
            .iter()
            .map(|finding| finding["id"].as_str().unwrap().to_string())
            .collect()
    }

    fn findings(&self) -> Vec<Value> {
        let mut all = Vec::new();
        for key in ["functions", "layers"] {
            for artifact in self.report[key].as_array().unwrap() {
                all.extend(artifact["findings"].as_array().unwrap().iter().cloned());
            }
        }
        all
    }

    fn finding(&self, id: &str) -> Value {
        self.findings()
            .into_iter()
            .find(|finding| finding["id"] == id)
            .unwrap_or_else(|| panic!("no {id} in {:#}", self.report))
    }
}

fn lamina(dir: &Path, args: &[String]) -> Output {
    Command::new(assert_cmd::cargo::cargo_bin("lamina"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

/// `lamina check ARGS --json` in `dir`.
fn check(dir: &Path, args: &[String]) -> Checked {
    let mut all = vec!["check".to_string()];
    all.extend(args.iter().cloned());
    all.push("--json".into());
    let output = lamina(dir, &all);
    let code = output.status.code().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        code == 0 || code == 1,
        "lamina {all:?} exited {code}: {stderr}"
    );
    let report: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("not JSON ({error}): {stderr}"));
    assert_eq!(report["schema_version"], 2);
    assert_eq!(report["command"], "check");
    // The exit code and `ok` say the same thing: 1 exactly when a finding is an error.
    let errors = report["functions"]
        .as_array()
        .unwrap()
        .iter()
        .chain(report["layers"].as_array().unwrap())
        .flat_map(|artifact| artifact["findings"].as_array().unwrap())
        .any(|finding| finding["severity"] == "error");
    assert_eq!(report["ok"], !errors);
    assert_eq!(code, i32::from(errors), "{stderr}");
    Checked {
        code,
        report,
        stderr,
    }
}

fn args(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| item.to_string()).collect()
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|id| id.to_string()).collect()
}

// ---------------------------------------------------------------------------------------------
// Writing zips: with the zip crate, with Python's zipfile, or byte by byte
// ---------------------------------------------------------------------------------------------

/// One entry for the zip crate: a file with a mode, or a link.
struct Item {
    path: String,
    data: Vec<u8>,
    mode: u32,
    link: Option<String>,
}

fn file(path: &str, data: impl Into<Vec<u8>>, mode: u32) -> Item {
    Item {
        path: path.into(),
        data: data.into(),
        mode,
        link: None,
    }
}

fn link(path: &str, target: &str) -> Item {
    Item {
        path: path.into(),
        data: Vec::new(),
        mode: 0o777,
        link: Some(target.into()),
    }
}

/// Writes a zip with the zip crate (deflate, Unix modes).
fn zip_items(dest: &Path, items: &[Item]) {
    let mut zip = ZipWriter::new(fs_err::File::create(dest).unwrap());
    for item in items {
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .unix_permissions(item.mode);
        match &item.link {
            Some(target) => zip.add_symlink(&item.path, target, options).unwrap(),
            None => {
                zip.start_file(&item.path, options).unwrap();
                zip.write_all(&item.data).unwrap();
            }
        }
    }
    zip.finish().unwrap();
}

/// Runs a Python snippet with `sys.argv[1:]` = `args`.
fn python(script: &str, args: &[&Path]) {
    let output = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("the check tests need python3");
    assert!(
        output.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// An entry written byte by byte, so any field can be wrong.
#[derive(Clone)]
struct Raw {
    name: Vec<u8>,
    data: Vec<u8>,
    method: u16,
    /// Written as the compressed data instead of `data` compressed by `method`.
    compressed: Option<Vec<u8>>,
    made_by: u16,
    external: u32,
    flags: u16,
    crc: Option<u32>,
    /// Declared uncompressed size instead of the data's.
    declared: Option<u64>,
    /// Added to the declared sizes (stored entries) so the data span covers the next entry.
    overreach: u64,
    zip64: bool,
    local_name: Option<Vec<u8>>,
}

fn raw(name: &str, data: &[u8]) -> Raw {
    Raw {
        name: name.as_bytes().to_vec(),
        data: data.to_vec(),
        method: 8,
        compressed: None,
        made_by: (3 << 8) | 30,
        external: 0o100_644 << 16,
        flags: 0,
        crc: None,
        declared: None,
        overreach: 0,
        zip64: false,
        local_name: None,
    }
}

fn deflate(data: &[u8]) -> Vec<u8> {
    let mut encoder =
        flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = flate2::Crc::new();
    crc.update(data);
    crc.sum()
}

/// Writes entries as a zip, with a zip64 end record when `zip64_end`.
fn raw_zip(entries: &[Raw], zip64_end: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for entry in entries {
        let offset = out.len() as u64;
        let compressed = entry
            .compressed
            .clone()
            .unwrap_or_else(|| match entry.method {
                8 => deflate(&entry.data),
                _ => entry.data.clone(),
            });
        let crc = entry.crc.unwrap_or_else(|| crc32(&entry.data));
        let uncompressed = entry.declared.unwrap_or(entry.data.len() as u64) + entry.overreach;
        let compressed_len = compressed.len() as u64 + entry.overreach;
        let zip64 = entry.zip64 || uncompressed >= u64::from(u32::MAX);
        let small = |value: u64| if zip64 { u32::MAX } else { value as u32 };
        let mut extra = Vec::new();
        if zip64 {
            extra.extend(1u16.to_le_bytes());
            extra.extend(16u16.to_le_bytes());
            extra.extend(uncompressed.to_le_bytes());
            extra.extend(compressed_len.to_le_bytes());
        }
        let local_name = entry.local_name.as_ref().unwrap_or(&entry.name);
        out.extend(0x0403_4b50u32.to_le_bytes());
        out.extend((if zip64 { 45u16 } else { 20u16 }).to_le_bytes());
        out.extend(entry.flags.to_le_bytes());
        out.extend(entry.method.to_le_bytes());
        out.extend([0, 0, 0x21, 0]);
        out.extend(crc.to_le_bytes());
        out.extend(small(compressed_len).to_le_bytes());
        out.extend(small(uncompressed).to_le_bytes());
        out.extend((local_name.len() as u16).to_le_bytes());
        out.extend((extra.len() as u16).to_le_bytes());
        out.extend(local_name);
        out.extend(&extra);
        out.extend(&compressed);

        central.extend(0x0201_4b50u32.to_le_bytes());
        central.extend(entry.made_by.to_le_bytes());
        central.extend((if zip64 { 45u16 } else { 20u16 }).to_le_bytes());
        central.extend(entry.flags.to_le_bytes());
        central.extend(entry.method.to_le_bytes());
        central.extend([0, 0, 0x21, 0]);
        central.extend(crc.to_le_bytes());
        central.extend(small(compressed_len).to_le_bytes());
        central.extend(small(uncompressed).to_le_bytes());
        central.extend((entry.name.len() as u16).to_le_bytes());
        central.extend((extra.len() as u16).to_le_bytes());
        central.extend([0, 0, 0, 0, 0, 0]);
        central.extend(entry.external.to_le_bytes());
        central.extend((offset as u32).to_le_bytes());
        central.extend(&entry.name);
        central.extend(&extra);
    }
    let directory_offset = out.len() as u64;
    out.extend(&central);
    if zip64_end {
        let record = out.len() as u64;
        out.extend(0x0606_4b50u32.to_le_bytes());
        out.extend(44u64.to_le_bytes());
        out.extend([45, 3, 45, 0]);
        out.extend([0; 8]);
        out.extend((entries.len() as u64).to_le_bytes());
        out.extend((entries.len() as u64).to_le_bytes());
        out.extend((central.len() as u64).to_le_bytes());
        out.extend(directory_offset.to_le_bytes());
        out.extend(0x0706_4b50u32.to_le_bytes());
        out.extend(0u32.to_le_bytes());
        out.extend(record.to_le_bytes());
        out.extend(1u32.to_le_bytes());
    }
    out.extend(0x0605_4b50u32.to_le_bytes());
    out.extend([0; 4]);
    out.extend((entries.len() as u16).to_le_bytes());
    out.extend((entries.len() as u16).to_le_bytes());
    out.extend((central.len() as u32).to_le_bytes());
    out.extend((directory_offset as u32).to_le_bytes());
    out.extend([0, 0]);
    out
}

/// Writes `fn.zip` holding a handler and `entries`; returns the arguments that check it.
fn function_zip(dir: &Path, entries: Vec<Raw>) -> Vec<String> {
    let mut all = vec![raw("index.js", b"exports.handler = 1;")];
    all.extend(entries);
    write_raw(&dir.join("fn.zip"), &all);
    args(&["fn.zip"])
}

fn write_raw(dest: &Path, entries: &[Raw]) {
    fs_err::write(dest, raw_zip(entries, false)).unwrap();
}

/// Deterministic bytes deflate cannot shrink.
fn noise(len: usize) -> Vec<u8> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 32) as u8
        })
        .collect()
}

/// A zip of `files` entries of `megabytes` MiB of zeros each, deflated fast (about a
/// thousandth of the size), streamed so the test never holds them in memory.
fn zeros_zip(dest: &Path, prefix: &str, files: usize, megabytes: usize) {
    let mut zip = ZipWriter::new(fs_err::File::create(dest).unwrap());
    let chunk = vec![0u8; 1 << 20];
    for index in 0..files {
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .compression_level(Some(1))
            .unix_permissions(0o644);
        zip.start_file(format!("{prefix}{index}.bin"), options)
            .unwrap();
        for _ in 0..megabytes {
            zip.write_all(&chunk).unwrap();
        }
    }
    zip.finish().unwrap();
}

/// A 64-bit little-endian ELF header for x86_64 with no sections: what the reader needs to
/// classify a binary, and nothing else.
fn elf_header() -> Vec<u8> {
    elf_header_for(62)
}

/// The same for another machine (183: aarch64).
fn elf_header_for(machine: u16) -> Vec<u8> {
    let mut header = vec![0x7f, b'E', b'L', b'F', 2, 1, 1, 0];
    header.extend([0; 8]);
    header.extend(3u16.to_le_bytes()); // ET_DYN
    header.extend(machine.to_le_bytes());
    header.extend(1u32.to_le_bytes());
    header.extend(0u64.to_le_bytes()); // entry
    header.extend(0u64.to_le_bytes()); // program headers
    header.extend(0u64.to_le_bytes()); // section headers
    header.extend(0u32.to_le_bytes());
    header.extend(64u16.to_le_bytes());
    header.extend(56u16.to_le_bytes());
    header.extend(0u16.to_le_bytes());
    header.extend(64u16.to_le_bytes());
    header.extend(0u16.to_le_bytes());
    header.extend(0u16.to_le_bytes());
    header
}

// ---------------------------------------------------------------------------------------------
// Real native binaries: npm and PyPI packages, installed once into a cache outside the repo
// ---------------------------------------------------------------------------------------------

/// The same napi module (`@parcel/watcher`) built for six platforms.
const NPM_PACKAGES: [(&str, &str); 6] = [
    ("@parcel/watcher-linux-x64-glibc", "2.5.1"),
    ("@parcel/watcher-linux-arm64-glibc", "2.5.1"),
    ("@parcel/watcher-linux-arm-glibc", "2.5.1"),
    ("@parcel/watcher-linux-x64-musl", "2.5.1"),
    ("@parcel/watcher-darwin-arm64", "2.5.1"),
    ("@parcel/watcher-win32-x64", "2.5.1"),
];

/// `(folder, requirement, platform, abi)`: MarkupSafe's CPython 3.12 extension for four
/// platforms, and a cryptography wheel built against glibc 2.34.
const WHEELS: [(&str, &str, &str, &str); 5] = [
    (
        "markupsafe-x86_64",
        "markupsafe==3.0.2",
        "manylinux2014_x86_64",
        "cp312",
    ),
    (
        "markupsafe-aarch64",
        "markupsafe==3.0.2",
        "manylinux2014_aarch64",
        "cp312",
    ),
    (
        "markupsafe-macos",
        "markupsafe==3.0.2",
        "macosx_11_0_arm64",
        "cp312",
    ),
    (
        "markupsafe-windows",
        "markupsafe==3.0.2",
        "win_amd64",
        "cp312",
    ),
    (
        "cryptography-glibc-2.34",
        "cryptography==44.0.1",
        "manylinux_2_34_x86_64",
        "abi3",
    ),
];

/// Written into the cache slot once every package is in place.
const MARKER: &str = ".lamina-check-fixtures-installed";

/// Test threads would race to install; other processes are kept apart by installing into a
/// temporary folder and renaming it into place.
static INSTALL_LOCK: Mutex<()> = Mutex::new(());

fn run(command: &mut Command, what: &str) {
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("{what}: {error}"));
    assert!(
        output.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The folder holding the packages: `npm/<name>/` (the packed package) and `pip/<folder>/` (the
/// unpacked wheel). Keyed by the list above, so a changed list installs afresh.
fn native_fixtures() -> PathBuf {
    let root = match std::env::var_os("LAMINA_CHECK_FIXTURES") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(
            std::env::var_os("HOME").expect("set LAMINA_CHECK_FIXTURES or HOME for the cache"),
        )
        .join(".cache/lamina-check-fixtures"),
    };
    let key = hex::encode(Sha256::digest(format!("{NPM_PACKAGES:?}{WHEELS:?}")));
    let slot = root.join(format!("v1-{}", &key[..16]));
    if slot.join(MARKER).exists() {
        return slot;
    }
    let _guard = INSTALL_LOCK
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if slot.join(MARKER).exists() {
        return slot;
    }
    fs_err::create_dir_all(&root).unwrap();
    let temporary = tempfile::Builder::new()
        .prefix(".installing-")
        .tempdir_in(&root)
        .unwrap();
    let work = temporary.path();
    for (name, version) in NPM_PACKAGES {
        let packed = work.join("tgz").join(name);
        fs_err::create_dir_all(&packed).unwrap();
        run(
            Command::new("npm")
                .args(["pack", &format!("{name}@{version}"), "--silent"])
                .arg("--pack-destination")
                .arg(&packed),
            &format!("npm pack {name}@{version}"),
        );
        let tarball = fs_err::read_dir(&packed)
            .unwrap()
            .next()
            .expect("npm pack wrote a tarball")
            .unwrap()
            .path();
        let into = work.join("npm").join(name);
        fs_err::create_dir_all(&into).unwrap();
        run(
            Command::new("tar")
                .arg("xzf")
                .arg(&tarball)
                .arg("-C")
                .arg(&into),
            "tar",
        );
    }
    for (folder, requirement, platform, abi) in WHEELS {
        let wheels = work.join("wheels").join(folder);
        run(
            Command::new("python3")
                .args(["-m", "pip", "download", "--quiet", "--no-deps"])
                .args(["--only-binary=:all:", "--python-version", "3.12"])
                .args([
                    "--implementation",
                    "cp",
                    "--platform",
                    platform,
                    "--abi",
                    abi,
                ])
                .arg("-d")
                .arg(&wheels)
                .arg(requirement),
            &format!("pip download {requirement} for {platform}"),
        );
        let wheel = fs_err::read_dir(&wheels)
            .unwrap()
            .next()
            .expect("pip downloaded a wheel")
            .unwrap()
            .path();
        run(
            Command::new("python3")
                .args(["-m", "zipfile", "-e"])
                .arg(&wheel)
                .arg(work.join("pip").join(folder)),
            "unpack the wheel",
        );
    }
    fs_err::write(work.join(MARKER), b"").unwrap();
    // A slot without a marker is an interrupted install: clear it so the rename can land.
    if slot.exists() && !slot.join(MARKER).exists() {
        fs_err::remove_dir_all(&slot).unwrap();
    }
    let kept = temporary.keep();
    if fs_err::rename(&kept, &slot).is_err() {
        // Another process installed the same list first.
        fs_err::remove_dir_all(&kept).unwrap();
        assert!(slot.join(MARKER).exists());
    }
    slot
}

/// Every file under `folder`, as `(path relative to it, bytes)`, sorted.
fn files_under(folder: &Path) -> Vec<(String, Vec<u8>)> {
    walkdir::WalkDir::new(folder)
        .sort_by_file_name()
        .into_iter()
        .map(|entry| entry.unwrap())
        .filter(|entry| entry.file_type().is_file())
        .map(|entry| {
            let relative = entry.path().strip_prefix(folder).unwrap();
            (
                relative.to_string_lossy().replace('\\', "/"),
                fs_err::read(entry.path()).unwrap(),
            )
        })
        .collect()
}

/// A Node function zip holding the given npm packages under `node_modules/`.
fn node_function_with(dest: &Path, packages: &[&str]) {
    let fixtures = native_fixtures();
    let mut items = vec![file(
        "index.js",
        "exports.handler = async () => 1;\n",
        0o644,
    )];
    for package in packages {
        for (path, data) in files_under(&fixtures.join("npm").join(package).join("package")) {
            items.push(file(&format!("node_modules/{package}/{path}"), data, 0o644));
        }
    }
    zip_items(dest, &items);
}

/// A Python function zip holding an unpacked wheel, optionally only the files `keep` accepts.
fn python_function_with(dest: &Path, wheel: &str, keep: &dyn Fn(&str) -> bool) {
    let fixtures = native_fixtures();
    let mut items = vec![file(
        "app.py",
        "def handler(event, context):\n    return 1\n",
        0o644,
    )];
    for (path, data) in files_under(&fixtures.join("pip").join(wheel)) {
        if keep(&path) {
            items.push(file(&path, data, 0o644));
        }
    }
    zip_items(dest, &items);
}

// ---------------------------------------------------------------------------------------------
// Every finding: a zip with the defect, and the same zip without it
// ---------------------------------------------------------------------------------------------

/// One finding's test: `build(dir, bad)` writes zips into `dir` and returns the arguments of
/// `lamina check`; with `bad` the zip has the defect. `fires` is every id the bad zip gives
/// (the finding itself and any it cannot avoid), `quiet` every id the fixed one gives.
struct Case {
    id: &'static str,
    build: fn(&Path, bool) -> Vec<String>,
    fires: &'static [&'static str],
    quiet: &'static [&'static str],
}

fn small_node_function(dest: &Path) {
    zip_items(
        dest,
        &[file(
            "index.js",
            "exports.handler = async () => 1;\n",
            0o644,
        )],
    );
}

const CASES: &[Case] = &[
    Case {
        id: "limit/zipped",
        build: |dir, bad| {
            // Stored noise: the zip is as large as its content.
            let size = if bad { 51 << 20 } else { 1 << 20 };
            let mut entry = raw("data.bin", &noise(size));
            entry.method = 0;
            write_raw(&dir.join("fn.zip"), &[entry]);
            args(&["fn.zip"])
        },
        fires: &["limit/zipped", "limit/console-editor"],
        quiet: &[],
    },
    Case {
        id: "limit/unzipped",
        build: |dir, bad| {
            // 130 MiB in the function and as much again in a layer: 260 MiB together.
            zeros_zip(&dir.join("big.zip"), "data/", 1, 130);
            let mut arguments = args(&["big.zip"]);
            if bad {
                arguments.extend(args(&["--layer", "big.zip"]));
            }
            arguments
        },
        fires: &["limit/unzipped"],
        quiet: &[],
    },
    Case {
        id: "limit/console-editor",
        build: |dir, bad| {
            let size = if bad { 3 << 20 } else { 1 << 20 };
            let mut entry = raw("data.bin", &noise(size + 4096));
            entry.method = 0;
            write_raw(&dir.join("fn.zip"), &[entry]);
            args(&["fn.zip"])
        },
        fires: &["limit/console-editor"],
        quiet: &[],
    },
    Case {
        id: "limit/layer-count",
        build: |dir, bad| {
            small_node_function(&dir.join("fn.zip"));
            let mut arguments = args(&["fn.zip"]);
            for index in 0..if bad { 6 } else { 5 } {
                let name = format!("layer{index}.zip");
                zip_items(
                    &dir.join(&name),
                    &[file(
                        &format!("nodejs/node_modules/p{index}/index.js"),
                        "module.exports = 1;\n",
                        0o644,
                    )],
                );
                arguments.extend(["--layer".to_string(), name]);
            }
            arguments
        },
        fires: &["limit/layer-count"],
        quiet: &[],
    },
    Case {
        id: "limit/layer-unzipped",
        build: |dir, bad| {
            small_node_function(&dir.join("fn.zip"));
            zeros_zip(&dir.join("layer.zip"), "lib/", if bad { 2 } else { 1 }, 130);
            args(&["fn.zip", "--layer", "layer.zip"])
        },
        fires: &["limit/layer-unzipped", "limit/unzipped"],
        quiet: &[],
    },
    Case {
        id: "perm/unreadable",
        build: |dir, bad| {
            zip_items(
                &dir.join("fn.zip"),
                &[file(
                    "index.js",
                    "exports.handler = 1;\n",
                    if bad { 0o600 } else { 0o644 },
                )],
            );
            args(&["fn.zip"])
        },
        fires: &["perm/unreadable"],
        quiet: &[],
    },
    Case {
        id: "perm/no-unix-mode",
        build: |dir, bad| {
            // What Windows tools write: made by MS-DOS, only the archive attribute.
            python(
                "import sys, zipfile\n\
                 z = zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED)\n\
                 i = zipfile.ZipInfo('index.js')\n\
                 if sys.argv[2] == 'bad':\n    i.create_system = 0; i.external_attr = 0x20\n\
                 else:\n    i.create_system = 3; i.external_attr = 0o100644 << 16\n\
                 z.writestr(i, 'exports.handler = 1;')\n\
                 z.close()\n",
                &[
                    &dir.join("fn.zip"),
                    Path::new(if bad { "bad" } else { "good" }),
                ],
            );
            args(&["fn.zip"])
        },
        fires: &["perm/no-unix-mode"],
        quiet: &[],
    },
    Case {
        id: "perm/not-executable",
        build: |dir, bad| {
            zip_items(
                &dir.join("fn.zip"),
                &[file(
                    "bootstrap",
                    "#!/bin/sh\nexec ./handler\n",
                    if bad { 0o644 } else { 0o755 },
                )],
            );
            args(&["fn.zip"])
        },
        fires: &["perm/not-executable"],
        quiet: &[],
    },
    Case {
        id: "perm/layer-program-not-executable",
        build: |dir, bad| {
            small_node_function(&dir.join("fn.zip"));
            zip_items(
                &dir.join("tools.zip"),
                &[
                    file(
                        "bin/convert",
                        "#!/bin/sh\necho converted\n",
                        if bad { 0o644 } else { 0o755 },
                    ),
                    // Data beside it is not a program, whatever its mode.
                    file("bin/README.txt", "tools\n", 0o644),
                ],
            );
            args(&["fn.zip", "--layer", "tools.zip"])
        },
        fires: &["perm/layer-program-not-executable"],
        quiet: &[],
    },
    Case {
        id: "perm/world-writable",
        build: |dir, bad| {
            zip_items(
                &dir.join("fn.zip"),
                &[file(
                    "index.js",
                    "exports.handler = 1;\n",
                    if bad { 0o666 } else { 0o644 },
                )],
            );
            args(&["fn.zip"])
        },
        fires: &["perm/world-writable"],
        quiet: &[],
    },
    Case {
        id: "path/backslash",
        build: |dir, bad| {
            function_zip(
                dir,
                vec![raw(if bad { "lib\\util.js" } else { "lib/util.js" }, b"1")],
            )
        },
        fires: &["path/backslash"],
        quiet: &[],
    },
    Case {
        id: "path/absolute",
        build: |dir, bad| {
            function_zip(
                dir,
                vec![raw(if bad { "/etc/evil" } else { "etc/evil" }, b"1")],
            )
        },
        fires: &["path/absolute"],
        quiet: &[],
    },
    Case {
        id: "path/parent",
        build: |dir, bad| function_zip(dir, vec![raw(if bad { "../evil" } else { "evil" }, b"1")]),
        fires: &["path/parent"],
        quiet: &[],
    },
    Case {
        id: "path/control-character",
        build: |dir, bad| {
            function_zip(
                dir,
                vec![raw(if bad { "lib/a\u{7}.js" } else { "lib/a.js" }, b"1")],
            )
        },
        fires: &["path/control-character"],
        quiet: &[],
    },
    Case {
        id: "path/duplicate",
        build: |dir, bad| {
            function_zip(
                dir,
                vec![raw(
                    if bad { "index.js" } else { "other.js" },
                    b"exports.handler = 2;",
                )],
            )
        },
        fires: &["path/duplicate"],
        quiet: &[],
    },
    Case {
        id: "path/case-collision",
        build: |dir, bad| {
            function_zip(
                dir,
                vec![
                    raw("Config.json", b"{}"),
                    raw(if bad { "config.json" } else { "settings.json" }, b"{}"),
                ],
            )
        },
        fires: &["path/case-collision"],
        quiet: &[],
    },
    Case {
        id: "path/not-utf8",
        build: |dir, bad| {
            let mut entry = raw("caf\u{e9}.js", b"1");
            if bad {
                // Latin-1, as old Windows tools write it.
                entry.name = b"caf\xe9.js".to_vec();
            } else {
                entry.flags = 0x0800;
            }
            write_raw(
                &dir.join("fn.zip"),
                &[raw("index.js", b"exports.handler = 1;"), entry],
            );
            args(&["fn.zip"])
        },
        fires: &["path/not-utf8"],
        quiet: &[],
    },
    Case {
        id: "link/escapes",
        build: |dir, bad| {
            zip_items(
                &dir.join("fn.zip"),
                &[
                    file("index.js", "exports.handler = 1;\n", 0o644),
                    file("data/passwd", "root:x:0:0\n", 0o644),
                    link("passwd", if bad { "/etc/passwd" } else { "data/passwd" }),
                ],
            );
            args(&["fn.zip"])
        },
        fires: &["link/escapes"],
        quiet: &[],
    },
    Case {
        id: "link/dangling",
        build: |dir, bad| {
            zip_items(
                &dir.join("fn.zip"),
                &[
                    file("index.js", "exports.handler = 1;\n", 0o644),
                    file("node_modules/a/cli.js", "1\n", 0o755),
                    link(
                        "node_modules/.bin/a",
                        if bad { "../b/cli.js" } else { "../a/cli.js" },
                    ),
                ],
            );
            args(&["fn.zip"])
        },
        fires: &["link/dangling"],
        quiet: &[],
    },
    Case {
        id: "link/target-too-long",
        build: |dir, bad| {
            // 4,096 bytes is one more than Linux takes; `./` repeated is still a valid path.
            let target = "./".repeat(if bad { 2044 } else { 10 }) + "index.js";
            zip_items(
                &dir.join("fn.zip"),
                &[
                    file("index.js", "exports.handler = 1;\n", 0o644),
                    link("main.js", &target),
                ],
            );
            args(&["fn.zip"])
        },
        fires: &["link/target-too-long"],
        quiet: &[],
    },
    Case {
        id: "zip/compression-method",
        build: |dir, bad| {
            python(
                "import sys, zipfile\n\
                 method = zipfile.ZIP_BZIP2 if sys.argv[2] == 'bad' else zipfile.ZIP_DEFLATED\n\
                 with zipfile.ZipFile(sys.argv[1], 'w', method) as z:\n\
                 \x20   i = zipfile.ZipInfo('index.js'); i.external_attr = 0o100644 << 16\n\
                 \x20   i.compress_type = method\n\
                 \x20   z.writestr(i, 'exports.handler = 1;' * 20)\n",
                &[
                    &dir.join("fn.zip"),
                    Path::new(if bad { "bad" } else { "good" }),
                ],
            );
            args(&["fn.zip"])
        },
        fires: &["zip/compression-method"],
        quiet: &[],
    },
    Case {
        id: "zip/encrypted",
        build: |dir, bad| {
            let mut entry = raw("index.js", b"exports.handler = 1;");
            if bad {
                entry.flags = 1;
                entry.compressed = Some(noise(32));
            }
            write_raw(&dir.join("fn.zip"), &[entry]);
            args(&["fn.zip"])
        },
        fires: &["zip/encrypted"],
        quiet: &[],
    },
    Case {
        id: "zip/crc-mismatch",
        build: |dir, bad| {
            let mut entry = raw("index.js", b"exports.handler = 1;");
            if bad {
                entry.crc = Some(crc32(b"exports.handler = 2;"));
            }
            write_raw(&dir.join("fn.zip"), &[entry]);
            args(&["fn.zip"])
        },
        fires: &["zip/crc-mismatch"],
        quiet: &[],
    },
    Case {
        id: "zip/corrupt-data",
        build: |dir, bad| {
            let mut entry = raw("index.js", b"exports.handler = 1;");
            if bad {
                // Block type 3 does not exist in deflate.
                entry.compressed = Some(vec![0xff; 24]);
            }
            write_raw(&dir.join("fn.zip"), &[entry]);
            args(&["fn.zip"])
        },
        fires: &["zip/corrupt-data"],
        quiet: &[],
    },
    Case {
        id: "zip/size-mismatch",
        build: |dir, bad| {
            // A bomb's promise: a 4 GiB entry whose data holds a kilobyte.
            let mut entry = raw("index.js", &[b' '; 1024]);
            if bad {
                entry.declared = Some(4 << 30);
            }
            write_raw(&dir.join("fn.zip"), &[entry]);
            args(&["fn.zip"])
        },
        fires: &["zip/size-mismatch", "limit/unzipped"],
        quiet: &[],
    },
    Case {
        id: "zip/header-mismatch",
        build: |dir, bad| {
            let mut entry = raw("index.js", b"exports.handler = 1;");
            if bad {
                entry.local_name = Some(b"other.js".to_vec());
            }
            write_raw(&dir.join("fn.zip"), &[entry]);
            args(&["fn.zip"])
        },
        fires: &["zip/header-mismatch"],
        quiet: &[],
    },
    Case {
        id: "zip/overlapping-entries",
        build: |dir, bad| {
            let mut first = raw("a.bin", &[7; 100]);
            first.method = 0;
            if bad {
                // The first entry's data now spans the second entry's header and data.
                first.overreach = 40;
            }
            let mut second = raw("b.bin", &[9; 10]);
            second.method = 0;
            write_raw(&dir.join("fn.zip"), &[first, second]);
            args(&["fn.zip"])
        },
        fires: &["zip/overlapping-entries"],
        quiet: &[],
    },
    Case {
        id: "zip/needless-zip64",
        build: |dir, bad| {
            let mut entry = raw("index.js", b"exports.handler = 1;");
            entry.zip64 = bad;
            fs_err::write(dir.join("fn.zip"), raw_zip(&[entry], bad)).unwrap();
            args(&["fn.zip"])
        },
        fires: &["zip/needless-zip64"],
        quiet: &[],
    },
    Case {
        id: "check/capped",
        build: |dir, bad| {
            // A binary over the 128 MiB lamina holds in memory: only its header is read.
            let mut zip = ZipWriter::new(fs_err::File::create(dir.join("fn.zip")).unwrap());
            let options = SimpleFileOptions::default()
                .compression_level(Some(1))
                .unix_permissions(0o644);
            zip.start_file("lib/libbig.so", options).unwrap();
            zip.write_all(&elf_header()).unwrap();
            let chunk = vec![0u8; 1 << 20];
            for _ in 0..if bad { 129 } else { 1 } {
                zip.write_all(&chunk).unwrap();
            }
            zip.finish().unwrap();
            args(&["fn.zip"])
        },
        fires: &["check/capped"],
        quiet: &[],
    },
    Case {
        id: "handler/missing",
        build: |dir, bad| {
            zip_items(
                &dir.join("fn.zip"),
                &[file(
                    if bad { "src/main.js" } else { "src/index.mjs" },
                    "export const handler = async () => 1;\n",
                    0o644,
                )],
            );
            args(&["fn.zip", "--handler", "src/index.handler"])
        },
        fires: &["handler/missing"],
        quiet: &[],
    },
    Case {
        id: "handler/no-bootstrap",
        build: |dir, bad| {
            zip_items(
                &dir.join("fn.zip"),
                &[file(
                    if bad { "main" } else { "bootstrap" },
                    "#!/bin/sh\n",
                    0o755,
                )],
            );
            args(&["fn.zip", "--runtime", "provided.al2023"])
        },
        fires: &["handler/no-bootstrap"],
        quiet: &[],
    },
    Case {
        id: "native/macho",
        build: |dir, bad| {
            node_function_with(
                &dir.join("fn.zip"),
                &[if bad {
                    "@parcel/watcher-darwin-arm64"
                } else {
                    "@parcel/watcher-linux-x64-glibc"
                }],
            );
            args(&["fn.zip", "--runtime", "nodejs20.x"])
        },
        fires: &["native/macho"],
        quiet: &[],
    },
    Case {
        id: "native/pe",
        build: |dir, bad| {
            node_function_with(
                &dir.join("fn.zip"),
                &[if bad {
                    "@parcel/watcher-win32-x64"
                } else {
                    "@parcel/watcher-linux-x64-glibc"
                }],
            );
            args(&["fn.zip", "--runtime", "nodejs20.x"])
        },
        fires: &["native/pe"],
        quiet: &[],
    },
    Case {
        id: "native/wrong-arch",
        build: |dir, bad| {
            node_function_with(&dir.join("fn.zip"), &["@parcel/watcher-linux-arm64-glibc"]);
            args(&[
                "fn.zip",
                "--runtime",
                "nodejs20.x",
                "--arch",
                if bad { "x86_64" } else { "arm64" },
            ])
        },
        fires: &["native/wrong-arch"],
        quiet: &[],
    },
    Case {
        id: "native/elf32",
        build: |dir, bad| {
            node_function_with(
                &dir.join("fn.zip"),
                &[if bad {
                    "@parcel/watcher-linux-arm-glibc"
                } else {
                    "@parcel/watcher-linux-x64-glibc"
                }],
            );
            args(&["fn.zip", "--runtime", "nodejs20.x"])
        },
        fires: &["native/elf32"],
        quiet: &[],
    },
    Case {
        id: "native/glibc",
        build: |dir, bad| {
            // Built on glibc 2.34: fine on python3.12 (AL2023), not on python3.11 (AL2). The
            // extension alone is over the console editor's 3 MiB.
            python_function_with(&dir.join("fn.zip"), "cryptography-glibc-2.34", &|_| true);
            args(&[
                "fn.zip",
                "--runtime",
                if bad { "python3.11" } else { "python3.12" },
            ])
        },
        fires: &["native/glibc", "native/wheel-tag", "limit/console-editor"],
        quiet: &["limit/console-editor"],
    },
    Case {
        id: "native/musl",
        build: |dir, bad| {
            // Next to the glibc build it is one alternative of a platform probe, and quiet.
            let mut packages = vec!["@parcel/watcher-linux-x64-musl"];
            if !bad {
                packages.push("@parcel/watcher-linux-x64-glibc");
            }
            node_function_with(&dir.join("fn.zip"), &packages);
            args(&["fn.zip", "--runtime", "nodejs20.x"])
        },
        fires: &["native/musl"],
        quiet: &[],
    },
    Case {
        id: "native/wheel-tag",
        build: |dir, bad| {
            let tag = if bad {
                "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64"
            } else {
                "cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64"
            };
            zip_items(
                &dir.join("fn.zip"),
                &[
                    file(
                        "app.py",
                        "def handler(event, context):\n    return 1\n",
                        0o644,
                    ),
                    file(
                        "fast-1.0.dist-info/WHEEL",
                        format!("Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: {tag}\n"),
                        0o644,
                    ),
                ],
            );
            args(&["fn.zip", "--runtime", "python3.12"])
        },
        fires: &["native/wheel-tag"],
        quiet: &[],
    },
    Case {
        id: "layer/node-layout",
        build: |dir, bad| {
            small_node_function(&dir.join("fn.zip"));
            zip_items(
                &dir.join("layer.zip"),
                &[file(
                    if bad {
                        "node_modules/shared/index.js"
                    } else {
                        "nodejs/node22/node_modules/shared/index.js"
                    },
                    "module.exports = 1;\n",
                    0o644,
                )],
            );
            args(&["fn.zip", "--layer", "layer.zip", "--runtime", "nodejs22.x"])
        },
        fires: &["layer/node-layout"],
        quiet: &[],
    },
    Case {
        id: "layer/python-layout",
        build: |dir, bad| {
            zip_items(
                &dir.join("fn.zip"),
                &[file("app.py", "import shared\n", 0o644)],
            );
            zip_items(
                &dir.join("layer.zip"),
                &[file(
                    if bad {
                        "python/lib/python3.11/site-packages/shared/__init__.py"
                    } else {
                        "python/lib/python3.12/site-packages/shared/__init__.py"
                    },
                    "VALUE = 1\n",
                    0o644,
                )],
            );
            args(&["fn.zip", "--layer", "layer.zip", "--runtime", "python3.12"])
        },
        fires: &["layer/python-layout"],
        quiet: &[],
    },
    Case {
        id: "layer/overwrite",
        build: |dir, bad| {
            small_node_function(&dir.join("fn.zip"));
            for (name, package) in [("one.zip", "a"), ("two.zip", if bad { "a" } else { "b" })] {
                zip_items(
                    &dir.join(name),
                    &[file(
                        &format!("nodejs/node_modules/{package}/index.js"),
                        format!("module.exports = {name:?};\n"),
                        0o644,
                    )],
                );
            }
            args(&["fn.zip", "--layer", "one.zip", "--layer", "two.zip"])
        },
        fires: &["layer/overwrite"],
        quiet: &[],
    },
];

#[test]
fn every_finding_has_a_case() {
    let cased: BTreeSet<&str> = CASES.iter().map(|case| case.id).collect();
    // `limit/env` needs a template's environment, which only `build` reads: its case is
    // tests/it/templates.rs (a SAM function over 4 KiB and one under it).
    let listed: BTreeSet<&str> = FINDINGS
        .iter()
        .map(|kind| kind.id)
        .filter(|&id| id != "limit/env")
        .collect();
    assert_eq!(cased, listed);
    assert_eq!(cased.len(), CASES.len(), "a finding has two cases");
    for case in CASES {
        assert!(case.fires.contains(&case.id), "{}", case.id);
        assert!(!case.quiet.contains(&case.id), "{}", case.id);
    }
}

/// Runs the cases whose ids `select` accepts: each fires exactly its ids on the bad zip and
/// exactly the quiet ones on the fixed zip.
fn run_cases(select: fn(&str) -> bool) {
    for case in CASES.iter().filter(|case| select(case.id)) {
        for bad in [true, false] {
            let dir = tempfile::tempdir().unwrap();
            let arguments = (case.build)(dir.path(), bad);
            let checked = check(dir.path(), &arguments);
            let expected = set(if bad { case.fires } else { case.quiet });
            assert_eq!(
                checked.ids(),
                expected,
                "{} ({}): {:#}",
                case.id,
                if bad { "bad zip" } else { "fixed zip" },
                checked.report
            );
        }
    }
}

#[test]
fn limit_findings_fire_on_oversized_artifacts() {
    run_cases(|id| id.starts_with("limit/") || id == "check/capped");
}

#[test]
fn permission_path_and_link_findings_fire_on_crafted_zips() {
    run_cases(|id| id.starts_with("perm/") || id.starts_with("path/") || id.starts_with("link/"));
}

/// What pip writes for jmespath's `bin/jp.py` when boto3 is vendored, and a CDK app's
/// `bin/*.ts`: nothing a function runs (`/var/task/bin` is not on Lambda's PATH), so no
/// permission finding in a function zip, whatever their modes (issue 12: false failures).
#[test]
fn files_under_a_functions_bin_are_never_permission_findings() {
    let dir = tempfile::tempdir().unwrap();
    zip_items(
        &dir.path().join("fn.zip"),
        &[
            file("index.js", "exports.handler = 1;\n", 0o644),
            file("bin/__pycache__/jp.cpython-311.pyc", "\u{a7}\r\r\n", 0o644),
            file("bin/app.ts", "import * as cdk from 'aws-cdk-lib';\n", 0o644),
            file("bin/app.js", "require('aws-cdk-lib');\n", 0o644),
            file("bin/app.d.ts", "export {};\n", 0o644),
            file("bin/jp.py", "#!/usr/bin/env python\n", 0o644),
        ],
    );
    let checked = check(dir.path(), &args(&["fn.zip"]));
    assert_eq!(checked.code, 0, "{:#}", checked.report);
    let ids = checked.ids();
    assert!(
        !ids.contains("perm/not-executable") && !ids.contains("perm/layer-program-not-executable"),
        "{ids:?}"
    );
}

#[test]
fn format_findings_fire_on_damaged_zips() {
    run_cases(|id| id.starts_with("zip/"));
}

#[test]
fn handler_and_layer_findings_fire_on_misplaced_files() {
    run_cases(|id| id.starts_with("handler/") || id.starts_with("layer/"));
}

#[test]
fn native_findings_fire_on_real_binaries_for_other_platforms() {
    run_cases(|id| id.starts_with("native/"));
}

// ---------------------------------------------------------------------------------------------
// Real zips and real packages
// ---------------------------------------------------------------------------------------------

/// A Node function folder as a developer has it: code, a package with a CLI, the `.bin` link
/// npm makes, an executable under bin/.
fn node_folder(root: &Path) {
    let write = |path: &str, contents: &str, mode: u32| {
        let path = root.join(path);
        fs_err::create_dir_all(path.parent().unwrap()).unwrap();
        fs_err::write(&path, contents).unwrap();
        use std::os::unix::fs::PermissionsExt;
        fs_err::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    write(
        "index.js",
        "const a = require('a');\nexports.handler = async () => a;\n",
        0o644,
    );
    write(
        "package.json",
        r#"{"name":"fn","dependencies":{"a":"1"}}"#,
        0o644,
    );
    write(
        "node_modules/a/package.json",
        r#"{"name":"a","version":"1.0.0","bin":"cli.js"}"#,
        0o644,
    );
    write("node_modules/a/index.js", "module.exports = 'a';\n", 0o644);
    write("node_modules/a/cli.js", "#!/usr/bin/env node\n", 0o755);
    write("bin/tool", "#!/bin/sh\necho tool\n", 0o755);
    fs_err::create_dir_all(root.join("node_modules/.bin")).unwrap();
    std::os::unix::fs::symlink("../a/cli.js", root.join("node_modules/.bin/a")).unwrap();
    folders_readable(root);
}

/// Folders get 0755 whatever the umask, as on a developer's machine.
fn folders_readable(root: &Path) {
    use std::os::unix::fs::PermissionsExt;
    for entry in walkdir::WalkDir::new(root) {
        let entry = entry.unwrap();
        if entry.file_type().is_dir() {
            fs_err::set_permissions(entry.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }
}

/// A Python function folder: the handler, a pure package with its dist-info.
fn python_folder(root: &Path) {
    let write = |path: &str, contents: &str| {
        let path = root.join(path);
        fs_err::create_dir_all(path.parent().unwrap()).unwrap();
        fs_err::write(&path, contents).unwrap();
        use std::os::unix::fs::PermissionsExt;
        fs_err::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    };
    write(
        "app.py",
        "import tiny\n\ndef handler(event, context):\n    return tiny.VALUE\n",
    );
    write("tiny/__init__.py", "VALUE = 1\n");
    write(
        "tiny-1.0.dist-info/METADATA",
        "Metadata-Version: 2.1\nName: tiny\nVersion: 1.0\n",
    );
    write(
        "tiny-1.0.dist-info/WHEEL",
        "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    );
    folders_readable(root);
}

#[test]
fn zips_from_info_zip_and_python_pass_clean() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path();
    node_folder(&base.join("node-fn"));
    run(
        Command::new("zip")
            .args(["-q", "-r", "-y", "../node.zip", "."])
            .current_dir(base.join("node-fn")),
        "Info-ZIP zip",
    );
    python_folder(&base.join("py-fn"));
    python(
        "import shutil, sys\nshutil.make_archive(sys.argv[1], 'zip', sys.argv[2])\n",
        &[&base.join("python"), &base.join("py-fn")],
    );
    let node = check(base, &args(&["node.zip", "--handler", "index.handler"]));
    assert_eq!(node.ids(), set(&[]), "{:#}", node.report);
    assert_eq!(node.code, 0);
    let source = node.report["functions"][0]["runtime_source"]
        .as_str()
        .unwrap();
    assert!(source.contains("JavaScript"), "{source}");
    let python_zip = check(
        base,
        &args(&[
            "python.zip",
            "--handler",
            "app.handler",
            "--runtime",
            "python3.12",
        ]),
    );
    assert_eq!(python_zip.ids(), set(&[]), "{:#}", python_zip.report);
    // Without --runtime the language is inferred from the files.
    let inferred = check(base, &args(&["python.zip"]));
    assert!(
        inferred.report["functions"][0]["runtime"]
            .as_str()
            .unwrap()
            .starts_with("python3.")
    );
    assert_eq!(inferred.ids(), set(&[]));
}

#[test]
fn real_wheels_are_judged_by_platform_and_tag() {
    let dir = tempfile::tempdir().unwrap();
    for (wheel, arch, expected) in [
        ("markupsafe-x86_64", "x86_64", &[][..]),
        ("markupsafe-aarch64", "arm64", &[][..]),
        (
            "markupsafe-aarch64",
            "x86_64",
            &["native/wheel-tag", "native/wrong-arch"][..],
        ),
        (
            "markupsafe-macos",
            "x86_64",
            &["native/wheel-tag", "native/macho"][..],
        ),
        (
            "markupsafe-windows",
            "x86_64",
            &["native/wheel-tag", "native/pe"][..],
        ),
    ] {
        python_function_with(&dir.path().join("fn.zip"), wheel, &|_| true);
        let checked = check(
            dir.path(),
            &args(&[
                "fn.zip",
                "--runtime",
                "python3.12",
                "--arch",
                arch,
                "--handler",
                "app.handler",
            ]),
        );
        assert_eq!(
            checked.ids(),
            set(expected),
            "{wheel} on {arch}: {:#}",
            checked.report
        );
    }
}

#[test]
fn per_platform_packages_are_alternatives_when_one_suits_the_target() {
    let dir = tempfile::tempdir().unwrap();
    let every: Vec<&str> = NPM_PACKAGES.iter().map(|(name, _)| *name).collect();
    node_function_with(&dir.path().join("all.zip"), &every);
    for arch in ["x86_64", "arm64"] {
        let checked = check(
            dir.path(),
            &args(&["all.zip", "--runtime", "nodejs22.x", "--arch", arch]),
        );
        assert_eq!(checked.ids(), set(&[]), "{arch}: {:#}", checked.report);
    }
    // Without the x64 glibc build nothing suits x86_64, and each foreign build is named.
    let without: Vec<&str> = every
        .iter()
        .copied()
        .filter(|name| *name != "@parcel/watcher-linux-x64-glibc")
        .collect();
    node_function_with(&dir.path().join("some.zip"), &without);
    let checked = check(dir.path(), &args(&["some.zip", "--runtime", "nodejs22.x"]));
    assert_eq!(
        checked.ids(),
        set(&[
            "native/elf32",
            "native/macho",
            "native/musl",
            "native/pe",
            "native/wrong-arch"
        ])
    );
    assert_eq!(
        checked.finding("native/wrong-arch")["entry"],
        "node_modules/@parcel/watcher-linux-arm64-glibc/watcher.node"
    );
}

// ---------------------------------------------------------------------------------------------
// The command line
// ---------------------------------------------------------------------------------------------

#[test]
fn unreadable_input_exits_2_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    fs_err::write(dir.path().join("notes.zip"), "this is not a zip\n").unwrap();
    for (name, needle) in [
        ("notes.zip", "not a readable zip"),
        ("absent.zip", "absent.zip"),
    ] {
        let output = lamina(dir.path(), &args(&["check", name]));
        assert_eq!(output.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(name) && stderr.contains(needle), "{stderr}");
        assert!(output.stdout.is_empty());
    }
    // A bad layer fails the run too, before anything is reported.
    small_node_function(&dir.path().join("fn.zip"));
    let output = lamina(
        dir.path(),
        &args(&["check", "fn.zip", "--layer", "notes.zip"]),
    );
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn warnings_exit_0_and_errors_exit_1_and_s3_turns_the_zipped_limit_into_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let mut entry = raw("data.bin", &noise(51 << 20));
    entry.method = 0;
    write_raw(&dir.path().join("big.zip"), &[entry]);
    let direct = check(dir.path(), &args(&["big.zip"]));
    assert_eq!(direct.code, 1);
    assert_eq!(direct.finding("limit/zipped")["severity"], "error");
    assert!(
        direct.finding("limit/zipped")["message"]
            .as_str()
            .unwrap()
            .contains("52428800 bytes")
    );
    let s3 = check(dir.path(), &args(&["big.zip", "--upload", "s3"]));
    assert_eq!(s3.code, 0);
    assert_eq!(s3.finding("limit/zipped")["severity"], "warning");
}

#[test]
fn the_unzipped_finding_names_the_function_each_layer_and_the_sum() {
    let dir = tempfile::tempdir().unwrap();
    zeros_zip(&dir.path().join("fn.zip"), "data/", 1, 100);
    zeros_zip(&dir.path().join("layer-a.zip"), "a/", 1, 100);
    zeros_zip(&dir.path().join("layer-b.zip"), "b/", 1, 60);
    let checked = check(
        dir.path(),
        &args(&["fn.zip", "--layer", "layer-a.zip", "--layer", "layer-b.zip"]),
    );
    let message = checked.finding("limit/unzipped")["message"]
        .as_str()
        .unwrap()
        .to_string();
    for part in [
        "fn 104857600",
        "layer layer-a 104857600",
        "layer layer-b 62914560",
        "272629760",
    ] {
        assert!(message.contains(part), "{part} not in {message}");
    }
    let function = &checked.report["functions"][0];
    assert_eq!(
        function["layers"],
        serde_json::json!(["layer-a", "layer-b"])
    );
    assert_eq!(function["total_unzipped_bytes"], 272_629_760);
    assert_eq!(
        checked.report["layers"][1]["functions"],
        serde_json::json!(["fn"])
    );
}

#[test]
fn the_human_summary_groups_findings_by_artifact_with_id_entry_and_fix() {
    let dir = tempfile::tempdir().unwrap();
    zip_items(
        &dir.path().join("fn.zip"),
        &[
            file("index.js", "exports.handler = 1;\n", 0o600),
            link("passwd", "/etc/passwd"),
        ],
    );
    zip_items(
        &dir.path().join("shared.zip"),
        &[file("node_modules/x/index.js", "1\n", 0o644)],
    );
    let output = lamina(
        dir.path(),
        &args(&[
            "check",
            "fn.zip",
            "--layer",
            "shared.zip",
            "--runtime",
            "nodejs22.x",
        ]),
    );
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8(output.stdout).unwrap();
    let function_at = text.find("function fn (fn.zip)").expect("function heading");
    let layer_at = text
        .find("layer shared (shared.zip)")
        .expect("layer heading");
    let unreadable_at = text
        .find("error   perm/unreadable")
        .expect("perm/unreadable");
    let layout_at = text
        .find("error   layer/node-layout")
        .expect("layer/node-layout");
    assert!(function_at < unreadable_at && unreadable_at < layer_at && layer_at < layout_at);
    assert!(text.contains("index.js: mode 0600"), "{text}");
    assert!(
        text.contains("fix: give the entry read permission"),
        "{text}"
    );
    assert!(text.contains("passwd: a link to \"/etc/passwd\""), "{text}");
    assert!(
        text.trim_end()
            .ends_with("FAILED: 3 errors, 0 warnings (see above)"),
        "{text}"
    );
}

#[test]
fn check_writes_nothing_and_leaves_its_input_alone() {
    // invariant: verify-bounded
    let dir = tempfile::tempdir().unwrap();
    node_folder(&dir.path().join("fn"));
    run(
        Command::new("zip")
            .args(["-q", "-r", "-y", "../fn.zip", "."])
            .current_dir(dir.path().join("fn")),
        "Info-ZIP zip",
    );
    let listing = || -> Vec<String> {
        walkdir::WalkDir::new(dir.path())
            .sort_by_file_name()
            .into_iter()
            .map(|entry| {
                let entry = entry.unwrap();
                let meta = entry.path().symlink_metadata().unwrap();
                format!(
                    "{} {} {:?}",
                    entry.path().display(),
                    meta.len(),
                    meta.modified().unwrap()
                )
            })
            .collect()
    };
    let before = listing();
    let checked = check(dir.path(), &args(&["fn.zip"]));
    assert_eq!(checked.code, 0, "{}", checked.stderr);
    assert_eq!(before, listing());
}

#[test]
fn every_check_report_field_is_documented() {
    let dir = tempfile::tempdir().unwrap();
    zip_items(
        &dir.path().join("fn.zip"),
        &[file("index.js", "exports.handler = 1;\n", 0o600)],
    );
    small_node_function(&dir.path().join("layer.zip"));
    let checked = check(
        dir.path(),
        &args(&[
            "fn.zip",
            "--layer",
            "layer.zip",
            "--handler",
            "index.handler",
        ]),
    );
    crate::docs::assert_matches_schema(&checked.report, "check");
    let doc =
        fs_err::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report-format.md"))
            .unwrap();
    let mut keys = BTreeSet::new();
    let mut stack = vec![&checked.report];
    while let Some(value) = stack.pop() {
        match value {
            Value::Object(map) => {
                for (key, inner) in map {
                    keys.insert(key.clone());
                    stack.push(inner);
                }
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    for key in keys {
        assert!(
            doc.contains(&format!("`{key}`")),
            "docs/report-format.md lacks `{key}`"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// lamina build runs the same verification
// ---------------------------------------------------------------------------------------------

/// A Node function whose dependency `w` holds a macOS build of its addon
/// (`node_modules/w/watcher.node`, a real Mach-O file).
pub(crate) fn macho_addon_fixture() -> crate::harness::Fixture {
    let darwin = native_fixtures().join("npm/@parcel/watcher-darwin-arm64/package/watcher.node");
    let fixture = crate::harness::Fixture::new(
        "fn",
        serde_json::json!({ "name": "fn", "dependencies": { "w": "1" } }),
    );
    fixture
        .file("index.js", "require('w'); exports.handler = async () => 1;")
        .package("node_modules/w", "w", "1.0.0", &[]);
    fs_err::copy(&darwin, fixture.root.join("node_modules/w/watcher.node")).unwrap();
    fixture
}

#[test]
fn build_reports_findings_in_what_it_writes_and_fails_on_errors() {
    let fixture = macho_addon_fixture();
    let built = fixture.build(&[]);
    assert_eq!(built.code, 1);
    assert_eq!(built.report["ok"], false);
    let findings = built.function()["findings"].as_array().unwrap();
    let ids: Vec<&str> = findings.iter().map(|f| f["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["native/macho"]);
    assert_eq!(findings[0]["entry"], "node_modules/w/watcher.node");
    // The zip is still written, with the report saying what is wrong.
    assert!(built.zip.exists());
    let report: Value =
        serde_json::from_slice(&fs_err::read(built.out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["functions"][0]["findings"][0]["id"], "native/macho");

    // The same function with the Linux build passes.
    let linux = native_fixtures().join("npm/@parcel/watcher-linux-x64-glibc/package/watcher.node");
    fs_err::copy(&linux, fixture.root.join("node_modules/w/watcher.node")).unwrap();
    let built = fixture.build(&[]);
    assert_eq!(built.code, 0);
    assert_eq!(built.function()["findings"], serde_json::json!([]));
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

/// A file of a generated tree: a path of 1 to 3 parts, its bytes, whether it is executable.
fn tree() -> impl Strategy<Value = Vec<(String, Vec<u8>, bool)>> {
    let part = "[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,11}";
    let path = proptest::collection::vec(part, 1..4).prop_map(|parts| parts.join("/"));
    let contents = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..2048),
        // Text repeats, so deflate is used rather than store.
        "[a-z ]{0,64}".prop_map(|text| text.repeat(40).into_bytes()),
    ];
    proptest::collection::vec((path, contents, any::<bool>()), 1..12).prop_map(|files| {
        // A path cannot be both a file and a folder, nor appear twice.
        let mut kept: Vec<(String, Vec<u8>, bool)> = Vec::new();
        for (path, data, executable) in files {
            // Compared case-insensitively: names that differ only by case are a finding.
            let lower = path.to_lowercase();
            let clash = kept.iter().any(|(other, _, _)| {
                let other = other.to_lowercase();
                other == lower
                    || other.starts_with(&format!("{lower}/"))
                    || lower.starts_with(&format!("{other}/"))
            });
            if !clash && path.split('/').all(|part| part != "." && part != "..") {
                kept.push((path, data, executable));
            }
        }
        kept
    })
}

/// What Python's zipfile reads from a zip: `name mode sha256` per entry.
fn python_listing(zip: &Path) -> Vec<String> {
    let output = Command::new("python3")
        .arg("-c")
        .arg(
            "import hashlib, sys, zipfile\n\
             for i in zipfile.ZipFile(sys.argv[1]).infolist():\n\
             \x20   data = zipfile.ZipFile(sys.argv[1]).read(i)\n\
             \x20   print(i.filename, oct(i.external_attr >> 16), hashlib.sha256(data).hexdigest())\n",
        )
        .arg(zip)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

proptest! {
    // Each case runs Python and unzip: a few dozen are enough to vary names, sizes and modes.
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn lamina_zips_read_back_the_same_in_every_reader(files in tree()) {
        let dir = tempfile::tempdir().unwrap();
        let mut entries = Vec::new();
        let mut expected = Vec::new();
        for (index, (path, data, executable)) in files.iter().enumerate() {
            let source = dir.path().join(format!("source-{index}"));
            fs_err::write(&source, data).unwrap();
            entries.push(lamina::package::zip::Entry {
                path: path.clone(),
                source,
                bytes: data.len() as u64,
                executable: *executable,
                link_target: None,
                stamp: None,
                header: None,
            });
            let mode = if *executable { 0o100_755 } else { 0o100_644 };
            expected.push(format!("{path} {mode:#o} {}", hex::encode(Sha256::digest(data))));
        }
        expected.sort();
        let zip_path = dir.path().join("out/fn.zip");
        lamina::package::zip::write(
            entries,
            &zip_path,
            &lamina::package::zip::WriteOptions::default(),
        )
        .unwrap();

        // The zip crate.
        let mut archive = zip::ZipArchive::new(fs_err::File::open(&zip_path).unwrap()).unwrap();
        let mut read_back = Vec::new();
        for index in 0..archive.len() {
            let mut entry = archive.by_index(index).unwrap();
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut data).unwrap();
            read_back.push(format!(
                "{} {:#o} {}",
                entry.name().unwrap(),
                entry.unix_mode().unwrap(),
                hex::encode(Sha256::digest(&data))
            ));
        }
        read_back.sort();
        prop_assert_eq!(&read_back, &expected);

        // Python's zipfile.
        let mut python_read = python_listing(&zip_path);
        python_read.sort();
        prop_assert_eq!(&python_read, &expected);

        // Info-ZIP's own test of every CRC.
        let unzip = Command::new("unzip").arg("-tqq").arg(&zip_path).output().unwrap();
        prop_assert!(unzip.status.success(), "{}", String::from_utf8_lossy(&unzip.stdout));

        // And lamina's reader finds nothing to say.
        let contents = lamina::verify::inspect_bytes(
            &fs_err::read(&zip_path).unwrap(),
            &ReadLimits::default(),
        )
        .unwrap();
        prop_assert!(contents.findings.is_empty(), "{:?}", contents.findings);
        prop_assert_eq!(contents.entries.len(), files.len());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Damaged zips (bytes changed, cut short) are read or refused, never a panic, and never
    /// read past the cap.
    #[test]
    fn damaged_zips_never_panic_the_reader(
        changes in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut data = raw_zip(
            &[
                raw("index.js", b"exports.handler = async () => 1;"),
                {
                    let mut stored = raw("bin/tool", &elf_header());
                    stored.method = 0;
                    stored.external = 0o100_755 << 16;
                    stored
                },
                raw("a.dist-info/WHEEL", b"Tag: py3-none-any\n"),
            ],
            false,
        );
        for (at, byte) in changes {
            let index = at.index(data.len());
            data[index] = byte;
        }
        if truncate {
            data.truncate(cut.index(data.len()));
        }
        let limits = ReadLimits {
            total: 1 << 20,
            native: 1 << 16,
            all_data: true,
        };
        match lamina::verify::inspect_bytes(&data, &limits) {
            // Whatever was read is described with documented ids and consistent sizes.
            Ok(contents) => {
                for finding in &contents.findings {
                    prop_assert!(FINDINGS.iter().any(|kind| kind.id == finding.id), "{}", finding.id);
                }
                let files: u64 = contents
                    .entries
                    .iter()
                    .filter(|entry| entry.kind != lamina::verify::zipcheck::Kind::Dir)
                    .map(|entry| entry.bytes)
                    .fold(0, u64::saturating_add);
                prop_assert_eq!(contents.unzipped_bytes, files);
            }
            // A refusal is always "not a zip lamina can read", never another IO error.
            Err(error) => prop_assert_eq!(error.kind(), std::io::ErrorKind::InvalidData),
        }
    }
}

#[test]
fn a_zip_bomb_is_read_only_up_to_the_cap() {
    // 64 MiB of zeros deflate to 64 KiB; with a 1 MiB cap the reader stops and says so.
    let dir = tempfile::tempdir().unwrap();
    zeros_zip(&dir.path().join("bomb.zip"), "z", 1, 64);
    let data = fs_err::read(dir.path().join("bomb.zip")).unwrap();
    let contents = lamina::verify::inspect_bytes(
        &data,
        &ReadLimits {
            total: 1 << 20,
            native: 1 << 20,
            all_data: true,
        },
    )
    .unwrap();
    let ids: Vec<&str> = contents.findings.iter().map(|finding| finding.id).collect();
    assert_eq!(ids, ["check/capped"]);
    assert_eq!(contents.unzipped_bytes, 64 << 20);
}

/// `build` skips inflating entries it has just written, but still reads what it must look
/// inside: a native binary for the wrong platform is found either way.
#[test]
fn build_verification_reads_only_what_it_must_and_still_finds_native_problems() {
    let fixture = crate::harness::Fixture::new(
        "macho",
        serde_json::json!({ "name": "macho", "dependencies": { "n": "1" } }),
    );
    fixture
        .file("index.js", "exports.handler = async () => require('n');\n")
        .manifest(
            "node_modules/n",
            serde_json::json!({ "name": "n", "version": "1.0.0", "main": "n.node" }),
        );
    // A Mach-O 64-bit header: magic, CPU type arm64.
    let mut macho = vec![0xcf, 0xfa, 0xed, 0xfe, 0x0c, 0x00, 0x00, 0x01];
    macho.resize(4096, 0);
    fs_err::write(fixture.root.join("node_modules/n/n.node"), &macho).unwrap();
    let built = fixture.build(&[]);
    let ids: Vec<&str> = built.function()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|finding| finding["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"native/macho"), "{ids:?}");
    assert_eq!(built.code, 1);
}

/// verify/memo.rs: a rebuild takes what each binary is from the memo sealed with the zip's
/// SHA-256; a binary rewritten in place (same size, another machine) makes another zip, whose
/// binaries are read again.
#[test]
fn a_rebuild_remembers_its_binaries_only_for_the_same_zip() {
    let fixture = crate::harness::Fixture::new(
        "natives",
        serde_json::json!({ "name": "natives", "dependencies": { "n": "1" } }),
    );
    fixture
        .file("index.js", "exports.handler = async () => require('n');\n")
        .manifest(
            "node_modules/n",
            serde_json::json!({ "name": "n", "version": "1.0.0", "main": "n.node" }),
        );
    let binary = fixture.root.join("node_modules/n/n.node");
    fs_err::write(&binary, elf_header_for(62)).unwrap();
    let findings = |built: &crate::harness::Built| -> Vec<String> {
        built.function()["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|finding| format!("{} {}", finding["id"], finding["entry"]))
            .collect()
    };
    let cold = fixture.build(&[]);
    assert_eq!(cold.code, 0, "{:#}", cold.report);
    let memos: Vec<PathBuf> = walkdir::WalkDir::new(fixture.base.join("cache"))
        .into_iter()
        .map(|entry| entry.unwrap().into_path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "natives")
        })
        .collect();
    assert_eq!(memos.len(), 1, "one memo for the one zip: {memos:?}");
    let warm = fixture.build(&[]);
    assert_eq!(warm.function()["packaging"]["left_in_place"], true);
    assert_eq!((warm.code, findings(&warm)), (0, findings(&cold)));

    fs_err::write(&binary, elf_header_for(183)).unwrap();
    let changed = fixture.build(&[]);
    assert_eq!(changed.function()["packaging"]["left_in_place"], false);
    assert_eq!(changed.code, 1, "{:#}", changed.report);
    let wrong = findings(&changed);
    assert!(
        wrong
            .iter()
            .any(|finding| finding.contains("native/wrong-arch") && finding.contains("n.node")),
        "{wrong:?}"
    );
    let again = fixture.build(&[]);
    assert_eq!(again.function()["packaging"]["left_in_place"], true);
    assert_eq!((again.code, findings(&again)), (1, wrong.clone()));
    let uncached = fixture.build(&["--no-cache"]);
    assert_eq!((uncached.code, findings(&uncached)), (1, wrong));
}

// ---------------------------------------------------------------------------------------------
// Hostile zips: names extractors rewrite, and what check holds in memory
// ---------------------------------------------------------------------------------------------

/// A folder entry, as zip tools write it.
fn folder(name: &str) -> Raw {
    let mut entry = raw(name, b"");
    entry.method = 0;
    entry.external = 0o040_755 << 16;
    entry
}

#[test]
fn names_that_extract_to_one_path_are_duplicates_and_case_twins_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    // The issue's zip: Info-ZIP's unzip writes both entries to index.js, the second last.
    write_raw(
        &dir.path().join("nul.zip"),
        &[
            raw("index.js", b"exports.handler = 1;"),
            raw("index.js\0evil", b"exports.handler = 2;"),
        ],
    );
    let out = dir.path().join("out");
    run(
        Command::new("unzip")
            .arg("-q")
            .arg("-o")
            .arg(dir.path().join("nul.zip"))
            .arg("-d")
            .arg(&out),
        "unzip",
    );
    assert_eq!(
        fs_err::read_to_string(out.join("index.js")).unwrap(),
        "exports.handler = 2;"
    );
    let checked = check(dir.path(), &args(&["nul.zip"]));
    assert_eq!(
        checked.ids(),
        set(&["path/control-character", "path/duplicate"])
    );
    let duplicate = checked.finding("path/duplicate");
    assert_eq!(duplicate["entry"], "index.js\\u{0}evil");
    assert!(
        duplicate["message"]
            .as_str()
            .unwrap()
            .contains("the same path as \"index.js\""),
        "{duplicate}"
    );

    for (entries, expected) in [
        (
            vec![raw("lib/a.js", b"1"), raw("./lib//a.js", b"2")],
            &["path/duplicate"][..],
        ),
        (
            vec![raw("lib/./b.js", b"1"), raw("lib/b.js", b"2")],
            &["path/duplicate"],
        ),
        (
            vec![raw("lib", b"1"), raw("lib/x.js", b"2")],
            &["path/duplicate"],
        ),
        (
            vec![raw("data/x.json", b"1"), raw("data", b"2")],
            &["path/duplicate"],
        ),
        (
            vec![raw("conf", b"1"), folder("conf/")],
            &["path/duplicate"],
        ),
        (
            vec![raw("lib\\c.js", b"1"), raw("lib/c.js", b"2")],
            &["path/duplicate", "path/backslash"],
        ),
        (
            vec![raw("Lib/A.js", b"1"), raw("lib/a.js", b"2")],
            &["path/case-collision"],
        ),
        (
            vec![raw("README", b"1"), raw("./readme", b"2")],
            &["path/case-collision"],
        ),
        // Folders merge, and `lib.js` is not under `lib/`.
        (
            vec![
                folder("lib/"),
                folder("./lib/"),
                raw("lib/a.js", b"1"),
                raw("lib.js", b"2"),
            ],
            &[],
        ),
    ] {
        let names: Vec<String> = entries
            .iter()
            .map(|entry| String::from_utf8_lossy(&entry.name).into_owned())
            .collect();
        let arguments = function_zip(dir.path(), entries);
        let checked = check(dir.path(), &arguments);
        assert_eq!(
            checked.ids(),
            set(expected),
            "{names:?}: {:#}",
            checked.report
        );
    }
}

/// Runs `lamina check ARGS --json` in `dir` under Python's `getrusage(RUSAGE_CHILDREN)`:
/// the exit code, the child's peak resident set in bytes, and the bytes it wrote to stdout.
fn measured(dir: &Path, arguments: &[&str]) -> (i32, u64, u64) {
    let stdout = dir.join("stdout.json");
    let output = Command::new("python3")
        .arg("-c")
        .arg(
            "import resource, subprocess, sys\n\
             with open(sys.argv[1], 'wb') as out:\n\
             \x20   code = subprocess.run(sys.argv[2:], stdout=out, stderr=subprocess.DEVNULL).returncode\n\
             print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n",
        )
        .arg(&stdout)
        .arg(assert_cmd::cargo::cargo_bin("lamina"))
        .arg("check")
        .args(arguments)
        .arg("--json")
        .current_dir(dir)
        .output()
        .expect("the memory test needs python3");
    let text = String::from_utf8(output.stdout).unwrap();
    let mut fields = text.split_whitespace();
    let code: i32 = fields.next().unwrap().parse().unwrap();
    // Linux gives kibibytes.
    let peak: u64 = fields.next().unwrap().parse().unwrap();
    let written = fs_err::metadata(&stdout).unwrap().len();
    (code, peak * 1024, written)
}

/// `megabytes` MiB of `byte`, deflated without holding it: the compressed bytes and CRC-32.
fn deflated_run(byte: u8, megabytes: usize) -> (Vec<u8>, u32) {
    let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut crc = flate2::Crc::new();
    let chunk = vec![byte; 1 << 20];
    for _ in 0..megabytes {
        encoder.write_all(&chunk).unwrap();
        crc.update(&chunk);
    }
    (encoder.finish().unwrap(), crc.sum())
}

/// An entry whose data is `compressed`, declared as `size` bytes with CRC `crc`.
fn precompressed(name: &str, compressed: &[u8], size: u64, crc: u32, mode: u32) -> Raw {
    let mut entry = raw(name, b"");
    entry.compressed = Some(compressed.to_vec());
    entry.declared = Some(size);
    entry.crc = Some(crc);
    entry.external = mode << 16;
    entry
}

#[test]
fn check_holds_little_memory_and_writes_little_on_hostile_zips() {
    // invariant: verify-bounded
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path();
    let handler = || raw("index.js", b"exports.handler = 1;");

    // Eight links, each with a 300 MiB target (deflated fast: under half a MiB each).
    let (target, crc) = deflated_run(b'a', 300);
    let mut links = vec![handler()];
    for index in 0..8 {
        links.push(precompressed(
            &format!("evil{index}"),
            &target,
            300 << 20,
            crc,
            0o120_777,
        ));
    }
    write_raw(&base.join("links.zip"), &links);

    // A link whose target is within the limit but walks 2,000 components through a link to
    // `.` (ELOOP after 40), and 2,000 links to it.
    let mut deep = vec![handler(), link_entry("a", ".")];
    deep.push(link_entry("deep", &("a/".repeat(2_000) + "index.js")));
    for index in 0..2_000 {
        deep.push(link_entry(&format!("l{index}"), "deep"));
    }
    write_raw(&base.join("deep.zip"), &deep);

    // 3,000 WHEEL files of 60 KiB (held whole: 180 MiB).
    let (wheel, wheel_crc) = {
        let text = "Tag: py3-none-any\n".repeat(60 * 1024 / 18);
        (deflate(text.as_bytes()), crc32(text.as_bytes()))
    };
    let wheel_size = ("Tag: py3-none-any\n".repeat(60 * 1024 / 18)).len() as u64;
    let mut wheels = vec![raw("app.py", b"def handler(e, c):\n    return 1\n")];
    for index in 0..3_000 {
        wheels.push(precompressed(
            &format!("p{index}-1.0.dist-info/WHEEL"),
            &wheel,
            wheel_size,
            wheel_crc,
            0o100_644,
        ));
    }
    write_raw(&base.join("wheels.zip"), &wheels);

    // 50,000 unreadable files with 200-byte names: 50,000 findings, 10 MiB of them.
    let mut unreadable = vec![handler()];
    for index in 0..50_000 {
        let mut entry = raw(&format!("{index:0>200}"), b"1");
        entry.method = 0;
        entry.external = 0o100_600 << 16;
        unreadable.push(entry);
    }
    write_raw(&base.join("unreadable.zip"), &unreadable);

    // Names that create more paths than links are resolved over: 350 names of 4,000 bytes,
    // 2,000 folders deep each (700,000 folders), and one link.
    let mut names = vec![handler(), link_entry("main.js", "index.js")];
    for index in 0..350 {
        let name = format!("d{index}/{}", "a/".repeat(2_000));
        names.push(raw(&(name + "f.js"), b"1"));
    }
    write_raw(&base.join("names.zip"), &names);

    // End records that claim a central directory of 4 GiB, and a zip64 one of 2^62 bytes.
    let mut claims = handler_zip_bytes();
    let end = claims.len() - 22;
    claims[end + 12..end + 16].copy_from_slice(&u32::MAX.to_le_bytes());
    fs_err::write(base.join("claims.zip"), &claims).unwrap();
    let mut claims64 = raw_zip(&[handler()], true);
    let record = claims64.len() - 22 - 20 - 56;
    claims64[record + 40..record + 48].copy_from_slice(&(1u64 << 62).to_le_bytes());
    claims64[record + 32..record + 40].copy_from_slice(&(1u64 << 62).to_le_bytes());
    fs_err::write(base.join("claims64.zip"), &claims64).unwrap();

    const PEAK: u64 = 64 << 20;
    const OUTPUT: u64 = 256 << 10;
    for (zip, code, expected) in [
        (
            "links.zip",
            1,
            &[
                "link/target-too-long",
                "limit/unzipped",
                "limit/console-editor",
            ][..],
        ),
        ("deep.zip", 0, &["link/dangling"][..]),
        ("wheels.zip", 0, &["check/capped"][..]),
        (
            "unreadable.zip",
            1,
            &["perm/unreadable", "limit/console-editor"][..],
        ),
        ("names.zip", 0, &["check/capped"][..]),
        ("claims.zip", 2, &[][..]),
        ("claims64.zip", 2, &[][..]),
    ] {
        let (exit, peak, written) = measured(base, &[zip]);
        assert_eq!(exit, code, "{zip}");
        assert!(peak < PEAK, "{zip}: peak RSS {peak} bytes");
        assert!(written < OUTPUT, "{zip}: {written} bytes of output");
        if code == 2 {
            continue;
        }
        let report: Value =
            serde_json::from_slice(&fs_err::read(base.join("stdout.json")).unwrap()).unwrap();
        let findings = report["functions"][0]["findings"].as_array().unwrap();
        let ids: BTreeSet<String> = findings
            .iter()
            .map(|finding| finding["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(ids, set(expected), "{zip}: {report:#}");
        // No finding quotes more than a few hundred bytes of what the zip holds.
        for finding in findings {
            let length = finding["message"].as_str().unwrap().len()
                + finding["entry"].as_str().map_or(0, str::len);
            assert!(length < 2048, "{zip}: {finding}");
        }
    }
}

/// A link entry written byte by byte.
fn link_entry(name: &str, target: &str) -> Raw {
    let mut entry = raw(name, target.as_bytes());
    entry.external = 0o120_777 << 16;
    entry
}

/// The bytes of a zip holding only a handler.
fn handler_zip_bytes() -> Vec<u8> {
    raw_zip(&[raw("index.js", b"exports.handler = 1;")], false)
}
