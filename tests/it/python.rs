//! Python functions on small fixture site-packages trees: what is kept and why, every
//! dependency layout, one test per Python case of design.md's "What must never break", and
//! that the unzipped artifact still answers the same under `python3`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::harness::{Built, Fixture, check};

/// One distribution to install into a fixture's site-packages folder, as pip would: its files,
/// a `*.dist-info` with `METADATA`, `RECORD`, `INSTALLER`, `REQUESTED`, `WHEEL`, a licence and
/// `top_level.txt`.
#[derive(Default)]
struct Dist {
    name: &'static str,
    version: &'static str,
    files: Vec<(&'static str, String)>,
    requires: Vec<&'static str>,
    entry_points: Option<&'static str>,
    /// More `RECORD` lines (such as `../../bin/tool`).
    record: Vec<&'static str>,
}

impl Dist {
    fn new(name: &'static str, version: &'static str) -> Dist {
        Dist {
            name,
            version,
            ..Dist::default()
        }
    }

    fn file(mut self, path: &'static str, contents: &str) -> Dist {
        self.files.push((path, contents.to_string()));
        self
    }

    /// A package `module/__init__.py` whose `NAME` says which distribution it is.
    fn module(self, module: &'static str, code: &str) -> Dist {
        let init: &'static str = Box::leak(format!("{module}/__init__.py").into_boxed_str());
        let contents = format!(
            "NAME = {:?}\n{code}",
            format!("{}@{}", self.name, self.version)
        );
        self.file(init, &contents)
    }

    fn requires(mut self, requirement: &'static str) -> Dist {
        self.requires.push(requirement);
        self
    }

    fn entry_points(mut self, text: &'static str) -> Dist {
        self.entry_points = Some(text);
        self
    }

    fn dist_info(&self) -> String {
        format!("{}-{}.dist-info", self.name.replace('-', "_"), self.version)
    }

    /// Writes the distribution under `site` (relative to the function folder, or absolute).
    fn install(&self, fixture: &Fixture, site: &str) {
        let site = fixture.root.join(site);
        let info = self.dist_info();
        let mut metadata = format!(
            "Metadata-Version: 2.1\nName: {}\nVersion: {}\n",
            self.name, self.version
        );
        for requirement in &self.requires {
            metadata.push_str(&format!("Requires-Dist: {requirement}\n"));
        }
        metadata.push_str("\nA long description.\nRequires-Dist: not-a-header\n");
        let mut files: Vec<(String, String)> = self
            .files
            .iter()
            .map(|(path, contents)| (path.to_string(), contents.clone()))
            .collect();
        let tops: std::collections::BTreeSet<&str> = self
            .files
            .iter()
            .filter_map(|(path, _)| path.split('/').next())
            .filter(|top| !top.contains('.') || top.ends_with(".py"))
            .map(|top| top.trim_end_matches(".py"))
            .collect();
        files.push((format!("{info}/METADATA"), metadata));
        files.push((format!("{info}/INSTALLER"), "pip\n".to_string()));
        files.push((format!("{info}/REQUESTED"), String::new()));
        files.push((
            format!("{info}/WHEEL"),
            "Wheel-Version: 1.0\nGenerator: fixture\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
                .to_string(),
        ));
        files.push((format!("{info}/LICENSE"), "MIT\n".to_string()));
        files.push((
            format!("{info}/top_level.txt"),
            tops.iter().map(|top| format!("{top}\n")).collect(),
        ));
        if let Some(entry_points) = self.entry_points {
            files.push((format!("{info}/entry_points.txt"), entry_points.to_string()));
        }
        let mut record: String = files
            .iter()
            .map(|(path, contents)| format!("{path},sha256=fixture,{}\n", contents.len()))
            .collect();
        for line in &self.record {
            record.push_str(&format!("{line},,\n"));
        }
        record.push_str(&format!("{info}/RECORD,,\n"));
        files.push((format!("{info}/RECORD"), record));
        for (path, contents) in files {
            crate::harness::write_file(&site.join(path), &contents);
        }
    }
}

/// Runs `python3 -S -B` (no site-packages of the machine, no pycs written) with `paths` first
/// on `sys.path` and prints what `module.function({}, None)` returns, as sorted JSON.
fn run_python(cwd: &Path, paths: &[&Path], module: &str, function: &str) -> String {
    let paths: Vec<String> = paths
        .iter()
        .map(|path| path.display().to_string())
        .collect();
    let script = format!(
        "import sys, json, importlib\nsys.path[:0] = {paths:?}\nresult = getattr(importlib.import_module({module:?}), {function:?})({{}}, None)\nprint(json.dumps(result, sort_keys=True))\n"
    );
    let output = Command::new("python3")
        .args(["-S", "-B", "-c", &script])
        .current_dir(cwd)
        .output()
        .expect("python3 is installed");
    assert!(
        output.status.success(),
        "python3 failed in {}:\n{}",
        cwd.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// The handler's answer from the input folder (dependencies in `site`) and from the unzipped
/// artifact, which must be equal; returns it.
fn same_answer(
    fixture: &Fixture,
    built: &Built,
    site: &str,
    module: &str,
    function: &str,
) -> String {
    let before = run_python(
        &fixture.root,
        &[&fixture.root, &fixture.root.join(site)],
        module,
        function,
    );
    let task = built.extract();
    let after = run_python(&task, &[&task], module, function);
    assert_eq!(
        before, after,
        "the handler answers differently from the zip"
    );
    after
}

fn reason(built: &Built, path: &str) -> String {
    built.package(path)["reason"].as_str().unwrap().to_string()
}

fn has_entry(built: &Built, path: &str) -> bool {
    built.entries().iter().any(|entry| entry == path)
}

fn rule_files(built: &Built, rule: &str) -> u64 {
    built.function()["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["rule"] == rule)
        .map_or(0, |entry| entry["files"].as_u64().unwrap())
}

/// A function whose `alpha` pulls in distributions through every closure rule: requirements
/// with markers and extras, imports inside functions, a module name given to
/// `importlib.import_module`, an entry-point plugin. Beside them: dev tools, a build tool and
/// distributions nothing needs.
pub(crate) fn closure_fixture() -> Fixture {
    let fixture = Fixture::empty("orders");
    fixture.file(
        "lambda_function.py",
        "import alpha\n\ndef lambda_handler(event, context):\n    return alpha.describe()\n",
    );
    let site = "package";
    Dist::new("alpha", "1.0")
        .module(
            "alpha",
            "import beta, delta\n\ndef describe():\n    try:\n        import lazydrv\n    except ImportError:\n        lazydrv = None\n    return [NAME, beta.NAME, delta.describe(), lazydrv.NAME, beta.optional()]\n",
        )
        .requires("beta>=1")
        .requires("gamma ; python_version < \"3.8\"")
        .requires("delta[fast]")
        .requires("eps ; extra == \"cli\"")
        .install(&fixture, site);
    Dist::new("beta", "2.0")
        .module(
            "beta",
            "import importlib\n\ndef optional():\n    return importlib.import_module('optthing').NAME\n",
        )
        .install(&fixture, site);
    Dist::new("gamma", "1.0")
        .module("gamma", "")
        .install(&fixture, site);
    Dist::new("delta", "1.0")
        .module(
            "delta",
            "def describe():\n    import zeta\n    return [NAME, zeta.NAME]\n",
        )
        .requires("zeta ; extra == \"fast\" and sys_platform == \"linux\"")
        .requires("winonly ; sys_platform == \"win32\"")
        .install(&fixture, site);
    Dist::new("eps", "1.0")
        .module("eps", "")
        .install(&fixture, site);
    Dist::new("zeta", "1.0")
        .module("zeta", "")
        .install(&fixture, site);
    Dist::new("lazy-driver", "3.0")
        .module("lazydrv", "")
        .install(&fixture, site);
    Dist::new("optional-thing", "1.0")
        .module("optthing", "")
        .install(&fixture, site);
    Dist::new("plugin-x", "1.0")
        .module("plugin_x", "")
        .requires("alpha")
        .entry_points("[alpha.plugins]\nx = plugin_x:Plugin\n")
        .install(&fixture, site);
    Dist::new("tool-y", "1.0")
        .module("tool_y", "")
        .requires("alpha")
        .entry_points("[console_scripts]\ntool-y = tool_y:main\n")
        .install(&fixture, site);
    Dist::new("pytest", "8.0")
        .module("pytest", "import pluggy\n")
        .requires("pluggy")
        .install(&fixture, site);
    Dist::new("pluggy", "1.5")
        .module("pluggy", "")
        .install(&fixture, site);
    Dist::new("setuptools", "70.0")
        .module("setuptools", "")
        .install(&fixture, site);
    Dist::new("unusedlib", "1.0")
        .module("unusedlib", "")
        .requires("onlyunused")
        .install(&fixture, site);
    Dist::new("onlyunused", "1.0")
        .module("onlyunused", "")
        .install(&fixture, site);
    fixture
}

#[test]
fn distributions_are_kept_by_imports_requirements_markers_extras_and_plugins() {
    let fixture = closure_fixture();
    let built = fixture.build(&["--runtime", "python3.11"]);
    assert_eq!(built.code, 0);
    assert_eq!(built.function()["language"], "python");
    assert_eq!(built.function()["site_packages"], "package");
    check(
        &built,
        &[
            ("alpha-1.0.dist-info", "kept", "production"),
            ("beta-2.0.dist-info", "kept", "production"),
            ("delta-1.0.dist-info", "kept", "production"),
            ("zeta-1.0.dist-info", "kept", "production"),
            ("lazy_driver-3.0.dist-info", "kept", "production"),
            ("optional_thing-1.0.dist-info", "kept", "production"),
            ("plugin_x-1.0.dist-info", "kept", "production"),
            ("gamma-1.0.dist-info", "dropped", "unused"),
            ("eps-1.0.dist-info", "dropped", "unused"),
            ("tool_y-1.0.dist-info", "dropped", "unused"),
            ("unusedlib-1.0.dist-info", "dropped", "unused"),
            ("onlyunused-1.0.dist-info", "dropped", "unused"),
            ("setuptools-70.0.dist-info", "dropped", "unused"),
            ("pytest-8.0.dist-info", "dropped", "dev"),
            ("pluggy-1.5.dist-info", "dropped", "dev"),
        ],
    );
    assert_eq!(
        reason(&built, "alpha-1.0.dist-info"),
        "imported by your code (lambda_function.py)"
    );
    assert_eq!(
        reason(&built, "zeta-1.0.dist-info"),
        "required by delta@1.0"
    );
    assert!(reason(&built, "lazy_driver-3.0.dist-info").starts_with("imported by alpha@1.0"));
    assert!(reason(&built, "optional_thing-1.0.dist-info").contains("optthing"));
    assert!(reason(&built, "plugin_x-1.0.dist-info").starts_with("plugin of alpha@1.0"));
    assert!(reason(&built, "onlyunused-1.0.dist-info").contains("unusedlib@1.0"));
    assert!(reason(&built, "setuptools-70.0.dist-info").contains("build-time"));
    assert_eq!(
        built.package("alpha-1.0.dist-info")["python"]["requires"],
        serde_json::json!(["beta", "delta"])
    );
    assert!(!has_entry(&built, "gamma/__init__.py"));
    assert!(!has_entry(&built, "pytest/__init__.py"));
    let answer = same_answer(
        &fixture,
        &built,
        "package",
        "lambda_function",
        "lambda_handler",
    );
    assert_eq!(
        answer,
        r#"["alpha@1.0", "beta@2.0", ["delta@1.0", "zeta@1.0"], "lazy-driver@3.0", "optional-thing@1.0"]"#
    );
}

#[test]
fn markers_are_evaluated_for_the_target_runtime() {
    // Each requirement holds on one target only: the markers decide, per runtime and arch.
    let fixture = Fixture::empty("markers");
    fixture.file(
        "app.py",
        "import alpha\n\ndef handler(e, c):\n    return 1\n",
    );
    Dist::new("alpha", "1.0")
        .module("alpha", "")
        .requires("old ; python_version < \"3.10\"")
        .requires("new ; python_version >= \"3.12\"")
        .requires("armonly ; platform_machine == \"aarch64\"")
        .install(&fixture, "package");
    for name in ["old", "new", "armonly"] {
        let dist = Dist::new(name, "1.0");
        let module: &'static str = Box::leak(name.to_string().into_boxed_str());
        dist.module(module, "").install(&fixture, "package");
    }
    let on_39 = fixture.build(&["--runtime", "python3.9"]);
    check(
        &on_39,
        &[
            ("old-1.0.dist-info", "kept", "production"),
            ("new-1.0.dist-info", "dropped", "unused"),
            ("armonly-1.0.dist-info", "dropped", "unused"),
        ],
    );
    let on_312_arm = fixture.build(&["--runtime", "python3.12", "--arch", "arm64"]);
    check(
        &on_312_arm,
        &[
            ("old-1.0.dist-info", "dropped", "unused"),
            ("new-1.0.dist-info", "kept", "production"),
            ("armonly-1.0.dist-info", "kept", "production"),
        ],
    );
}

#[test]
fn extras_asked_in_requirements_txt_are_honoured() {
    let fixture = Fixture::empty("extras");
    fixture
        .file("app.py", "import web\n\ndef handler(e, c):\n    return 1\n")
        .file("requirements.txt", "web[socks]==1.0  # pinned\n");
    Dist::new("web", "1.0")
        .module("web", "")
        .requires("pysocks ; extra == \"socks\"")
        .requires("brotli ; extra == \"compress\"")
        .install(&fixture, "package");
    Dist::new("pysocks", "1.0")
        .module("socks", "")
        .install(&fixture, "package");
    Dist::new("brotli", "1.0")
        .module("brotli", "")
        .install(&fixture, "package");
    let built = fixture.build(&["--runtime", "python3.12"]);
    check(
        &built,
        &[
            ("pysocks-1.0.dist-info", "kept", "production"),
            ("brotli-1.0.dist-info", "dropped", "unused"),
        ],
    );
}

/// design.md: `*.dist-info/METADATA` and `entry_points.txt` stay (importlib.metadata lookups
/// and entry-point plugins fail without them); RECORD, INSTALLER and REQUESTED may go.
#[test]
fn dist_info_metadata_and_entry_points_stay_for_importlib_metadata() {
    let fixture = Fixture::empty("meta");
    fixture.file(
        "app.py",
        "from importlib import metadata\nimport host\n\ndef handler(event, context):\n    plugins = sorted(ep.name for ep in metadata.entry_points(group='host.plugins'))\n    return {'version': metadata.version('host'), 'plugins': plugins, 'loaded': [ep.load().NAME for ep in metadata.entry_points(group='host.plugins')]}\n",
    );
    Dist::new("host", "4.2.0")
        .module("host", "")
        .install(&fixture, "package");
    Dist::new("host-plugin", "0.1")
        .module("host_plugin", "")
        .requires("host")
        .entry_points("[host.plugins]\nfirst = host_plugin\n")
        .install(&fixture, "package");
    let built = fixture.build(&["--runtime", "python3.11"]);
    for kept in [
        "host-4.2.0.dist-info/METADATA",
        "host-4.2.0.dist-info/LICENSE",
        "host-4.2.0.dist-info/top_level.txt",
        "host_plugin-0.1.dist-info/METADATA",
        "host_plugin-0.1.dist-info/entry_points.txt",
    ] {
        assert!(has_entry(&built, kept), "{kept} must ship");
    }
    for dropped in ["RECORD", "INSTALLER", "REQUESTED"] {
        assert!(!has_entry(
            &built,
            &format!("host-4.2.0.dist-info/{dropped}")
        ));
    }
    assert_eq!(rule_files(&built, "py/install-metadata"), 6);
    let answer = same_answer(&fixture, &built, "package", "app", "handler");
    assert_eq!(
        answer,
        r#"{"loaded": ["host-plugin@0.1"], "plugins": ["first"], "version": "4.2.0"}"#
    );
}

/// `uv pip install --target package` leaves an empty `package/.lock` (its lock on the install):
/// it goes with the installer's metadata, in both shake modes. One with contents (not uv's)
/// stays, and so does an empty `.lock` of the user's own code.
#[test]
fn uv_target_lock_goes_with_the_install_metadata() {
    // (the user's `.lock`, `package/.lock`, whether a `.lock` ships)
    let cases = [
        (None, Some(""), false),
        (None, Some("held\n"), true),
        (Some(""), None, true),
    ];
    for (user, site, ships) in cases {
        for shake in ["deps", "files"] {
            let fixture = Fixture::empty("uvlock");
            fixture.file(
                "app.py",
                "import host\n\ndef handler(e, c):\n    return host.NAME\n",
            );
            if let Some(contents) = user {
                fixture.file(".lock", contents);
            }
            if let Some(contents) = site {
                fixture.file("package/.lock", contents);
            }
            Dist::new("host", "1.0")
                .module("host", "NAME = 'host'\n")
                .install(&fixture, "package");
            let built = fixture.build(&["--runtime", "python3.11", "--shake", shake]);
            assert_eq!(built.code, 0, "{shake}: {:#}", built.report);
            assert_eq!(
                has_entry(&built, ".lock"),
                ships,
                "{shake}, user {user:?}, package {site:?}"
            );
            if site == Some("") {
                assert_eq!(rule_files(&built, "py/install-metadata"), 4);
            }
            let answer = same_answer(&fixture, &built, "package", "app", "handler");
            assert_eq!(answer, r#""host""#);
        }
    }
}

/// design.md: real modules named like junk (`jinja2/tests.py`, `pandas/_testing`, `numpy/testing`)
/// stay; folder rules apply only to folders named exactly `tests`/`test` that no kept code imports.
#[test]
fn modules_named_like_tests_stay_and_only_unimported_test_folders_go() {
    let fixture = Fixture::empty("tmpl");
    fixture.file(
        "app.py",
        "import tmpl\nfrom tmpl import tests as checks\nimport tmpl.testing, tmpl._testing.asserters\nimport other\n\ndef handler(e, c):\n    return [checks.is_odd(3), tmpl.testing.NAME, tmpl._testing.asserters.OK, other.helper.VALUE]\n",
    );
    Dist::new("tmpl", "3.1")
        .module("tmpl", "")
        .file("tmpl/tests.py", "def is_odd(n):\n    return n % 2 == 1\n")
        .file("tmpl/testing/__init__.py", "NAME = 'testing'\n")
        .file("tmpl/_testing/__init__.py", "")
        .file("tmpl/_testing/asserters.py", "OK = True\n")
        .file("tmpl/tests_data/readme.txt", "data\n")
        .file("tmpl/sub/tests/test_render.py", "import pytest\n")
        .file("tmpl/sub/tests/conftest.py", "")
        .install(&fixture, "package");
    // `other` imports its own tests folder: it must stay.
    Dist::new("other", "1.0")
        .module("other", "from .tests import helper\n")
        .file("other/tests/__init__.py", "")
        .file("other/tests/helper.py", "VALUE = 42\n")
        .install(&fixture, "package");
    Dist::new("pytest", "8.0")
        .module("pytest", "")
        .install(&fixture, "package");
    let built = fixture.build(&["--runtime", "python3.11"]);
    for kept in [
        "tmpl/tests.py",
        "tmpl/testing/__init__.py",
        "tmpl/_testing/asserters.py",
        "tmpl/tests_data/readme.txt",
        "other/tests/helper.py",
    ] {
        assert!(has_entry(&built, kept), "{kept} must ship");
    }
    assert!(!has_entry(&built, "tmpl/sub/tests/test_render.py"));
    assert_eq!(rule_files(&built, "py/test-folder"), 2);
    // The dropped test folder's `import pytest` keeps nothing.
    check(&built, &[("pytest-8.0.dist-info", "dropped", "dev")]);
    let answer = same_answer(&fixture, &built, "package", "app", "handler");
    assert_eq!(answer, r#"[true, "testing", true, 42]"#);
}

/// design.md: data files (`certifi/cacert.pem`, `botocore/data`, `pytz/zoneinfo`, templates).
#[test]
fn data_files_read_at_run_time_ship() {
    let fixture = Fixture::empty("data");
    fixture.file(
        "app.py",
        "import certi, tzinfo, botodata, pages\n\ndef handler(e, c):\n    return [certi.where_text(), tzinfo.read('Europe/Paris'), botodata.model(), pages.render()]\n",
    );
    let read = "import os\nHERE = os.path.dirname(__file__)\n";
    Dist::new("certi", "2024.1")
        .module("certi", &format!("{read}def where_text():\n    return open(os.path.join(HERE, 'cacert.pem')).read()\n"))
        .file("certi/cacert.pem", "-----BEGIN CERTIFICATE-----\n")
        .install(&fixture, "package");
    Dist::new("tzinfo", "2024.1")
        .module("tzinfo", &format!("{read}def read(name):\n    return open(os.path.join(HERE, 'zoneinfo', name), 'rb').read().decode()\n"))
        .file("tzinfo/zoneinfo/Europe/Paris", "TZif2 Paris\n")
        .install(&fixture, "package");
    Dist::new("botodata", "1.0")
        .module("botodata", &format!("{read}import json\ndef model():\n    return json.load(open(os.path.join(HERE, 'data', 's3', '2006-03-01', 'service-2.json')))\n"))
        .file("botodata/data/s3/2006-03-01/service-2.json", "{\"version\": \"2.0\"}\n")
        .install(&fixture, "package");
    Dist::new("pages", "1.0")
        .module("pages", &format!("{read}def render():\n    return open(os.path.join(HERE, 'templates', 'page.html')).read().strip()\n"))
        .file("pages/templates/page.html", "<p>hello</p>\n")
        .file("pages/templates/README.md", "docs\n")
        .install(&fixture, "package");
    let built = fixture.build(&["--runtime", "python3.11"]);
    assert!(
        has_entry(&built, "pages/templates/README.md"),
        "Python packages keep their documents"
    );
    let answer = same_answer(&fixture, &built, "package", "app", "handler");
    assert!(answer.contains("TZif2 Paris"), "{answer}");
}

/// Bytes of an ELF header for a machine (62 x86_64, 183 aarch64), padded.
fn elf(machine: u16) -> Vec<u8> {
    let mut bytes = b"\x7fELF\x02\x01\x01".to_vec();
    bytes.resize(16, 0);
    bytes.extend(3u16.to_le_bytes()); // ET_DYN
    bytes.extend(machine.to_le_bytes());
    bytes.extend(1u32.to_le_bytes());
    bytes.extend([0; 24]); // entry, program and section header offsets
    bytes.extend(0u32.to_le_bytes());
    for half in [64u16, 56, 0, 64, 0, 0] {
        bytes.extend(half.to_le_bytes());
    }
    bytes.resize(256, 0);
    bytes
}

/// A Mach-O header (64-bit x86_64 dylib, no load commands).
fn macho() -> Vec<u8> {
    let mut bytes = b"\xcf\xfa\xed\xfe".to_vec();
    for word in [0x0100_0007u32, 3, 6, 0, 0, 0, 0] {
        bytes.extend(word.to_le_bytes());
    }
    bytes
}

/// design.md: never strip vendored libraries under `*.libs/` (auditwheel output); native code
/// ships byte for byte, and binaries that cannot load on the target are reported.
#[test]
fn native_libraries_ship_byte_for_byte_and_foreign_ones_are_reported() {
    let fixture = Fixture::empty("native");
    fixture.file(
        "app.py",
        "import fastmath, laptop\n\ndef handler(e, c):\n    return 1\n",
    );
    Dist::new("fastmath", "1.0")
        .module("fastmath", "")
        .file("fastmath/_core.cpython-311-x86_64-linux-gnu.so", "")
        .file("fastmath.libs/libopenblas-r0-f650aae0.so.0.3", "")
        .install(&fixture, "package");
    Dist::new("laptop", "1.0")
        .module("laptop", "")
        .file("laptop/_speedups.cpython-311-darwin.so", "")
        .install(&fixture, "package");
    // Real bytes, written over the placeholders the RECORD lists.
    let so = fixture
        .root
        .join("package/fastmath/_core.cpython-311-x86_64-linux-gnu.so");
    let lib = fixture
        .root
        .join("package/fastmath.libs/libopenblas-r0-f650aae0.so.0.3");
    fs_err::write(&so, elf(62)).unwrap();
    fs_err::write(&lib, elf(62)).unwrap();
    fs_err::write(
        fixture
            .root
            .join("package/laptop/_speedups.cpython-311-darwin.so"),
        macho(),
    )
    .unwrap();
    // No --runtime: the extension modules' suffix says python3.11.
    let built = fixture.build(&[]);
    assert_eq!(built.function()["runtime"], "python3.11");
    assert!(
        built.function()["runtime_source"]
            .as_str()
            .unwrap()
            .contains("extension module")
    );
    let task = built.extract();
    assert_eq!(
        fs_err::read(task.join("fastmath.libs/libopenblas-r0-f650aae0.so.0.3")).unwrap(),
        elf(62)
    );
    assert_eq!(
        fs_err::read(task.join("fastmath/_core.cpython-311-x86_64-linux-gnu.so")).unwrap(),
        elf(62)
    );
    let native = &built.package("fastmath-1.0.dist-info")["python"]["native_bytes"];
    assert_eq!(native.as_u64(), Some(512));
    // Verify judges the binaries (scan only records what their headers say): in the zip at
    // build, from the headers at scan, with the same finding.
    let findings = built.function()["findings"].to_string();
    assert!(
        findings.contains("native/macho") && findings.contains("laptop/_speedups"),
        "{findings}"
    );
    let warnings = built.function()["warnings"].to_string();
    assert!(!warnings.contains("Mach-O"), "said twice: {warnings}");
    let scanned = fixture.lamina(&["scan", fixture.root.to_str().unwrap(), "--json"]);
    let scanned: serde_json::Value = serde_json::from_slice(&scanned.stdout).unwrap();
    let findings = scanned["functions"][0]["findings"].to_string();
    assert!(
        findings.contains("native/macho") && findings.contains("laptop/_speedups"),
        "{findings}"
    );
    // On arm64 the x86_64 binaries are reported too.
    let arm = fixture.build(&["--arch", "arm64"]);
    let findings = arm.function()["findings"].to_string();
    assert!(
        findings.contains("native/wrong-arch") && findings.contains("fastmath/_core"),
        "{findings}"
    );
}

/// Compiles every `.py` under `folder` with the local `python3`, as pip does on install
/// (timestamp-based pycs in `__pycache__`).
fn compileall(folder: &Path) {
    let status = Command::new("python3")
        .args(["-m", "compileall", "-q"])
        .arg(folder)
        .status()
        .unwrap();
    assert!(status.success(), "compileall {}", folder.display());
}

/// The version of the local `python3`, as `(major, minor)`.
fn local_python() -> (u32, u32) {
    let output = Command::new("python3")
        .args([
            "-c",
            "import sys; print(sys.version_info[0], sys.version_info[1])",
        ])
        .output()
        .expect("python3 is installed");
    let text = String::from_utf8(output.stdout).unwrap();
    let mut parts = text.split_whitespace().map(|part| part.parse().unwrap());
    (parts.next().unwrap(), parts.next().unwrap())
}

/// design.md, bytecode: kept pycs become unchecked-hash pycs (PEP 552) exactly as CPython
/// writes them; pycs of other versions, optimised, stale and orphaned pycs go; a `.py` is
/// never replaced by its pyc.
#[test]
fn pycs_are_rewritten_as_cpython_would_and_others_dropped() {
    let (major, minor) = local_python();
    let runtime = format!("python{major}.{minor}");
    let fixture = Fixture::empty("bytecode");
    fixture.file(
        "app.py",
        "import calc\n\ndef handler(e, c):\n    return calc.add(2, 3)\n",
    );
    Dist::new("calc", "1.0")
        .module("calc", "from .ops import add\n")
        .file("calc/ops.py", "def add(a, b):\n    return a + b\n")
        .file("calc/edited.py", "VALUE = 1\n")
        .install(&fixture, "package");
    let site = fixture.root.join("package");
    compileall(&site);
    let pycache = site.join("calc/__pycache__");
    let tag = format!("cpython-{major}{minor}");
    // A pyc of another Python, an optimised one, and one whose source is gone.
    let other = if minor == 12 { 13 } else { 12 };
    let other_magic: u16 = if other == 12 { 3531 } else { 3571 };
    let mut foreign = other_magic.to_le_bytes().to_vec();
    foreign.extend(b"\r\n");
    foreign.resize(64, 0);
    fs_err::write(pycache.join(format!("ops.cpython-3{other}.pyc")), &foreign).unwrap();
    fs_err::copy(
        pycache.join(format!("ops.{tag}.pyc")),
        pycache.join(format!("ops.{tag}.opt-1.pyc")),
    )
    .unwrap();
    fs_err::copy(
        pycache.join(format!("ops.{tag}.pyc")),
        pycache.join(format!("removed.{tag}.pyc")),
    )
    .unwrap();
    // Edited after compiling: its pyc is stale and must not be made to look valid.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    crate::harness::write_file(&site.join("calc/edited.py"), "VALUE = 22\n");

    let built = fixture.build(&["--runtime", &runtime]);
    assert_eq!(rule_files(&built, "py/pycache-foreign-version"), 1);
    assert_eq!(rule_files(&built, "py/pycache-optimized"), 1);
    assert_eq!(rule_files(&built, "py/pycache-orphan"), 1);
    assert_eq!(rule_files(&built, "py/pycache-stale"), 1);
    assert_eq!(built.function()["rewritten_pycs"], 2);
    for source in ["calc/__init__.py", "calc/ops.py", "calc/edited.py"] {
        assert!(
            has_entry(&built, source),
            "{source} must ship beside its pyc"
        );
    }
    let task = built.extract();
    // What CPython writes for `compileall --invalidation-mode unchecked-hash`.
    for module in ["__init__", "ops"] {
        let script = "import importlib.util, sys\nsource = open(sys.argv[1], 'rb').read()\nsys.stdout.write((importlib.util.MAGIC_NUMBER + (1).to_bytes(4, 'little') + importlib.util.source_hash(source)).hex())\n";
        let expected = Command::new("python3")
            .args(["-c", script])
            .arg(task.join(format!("calc/{module}.py")))
            .output()
            .unwrap();
        let rewritten =
            fs_err::read(task.join(format!("calc/__pycache__/{module}.{tag}.pyc"))).unwrap();
        let original = fs_err::read(pycache.join(format!("{module}.{tag}.pyc"))).unwrap();
        assert_eq!(
            hex::encode(&rewritten[..16]),
            String::from_utf8(expected.stdout).unwrap(),
            "{module}: header"
        );
        assert_eq!(
            rewritten[16..],
            original[16..],
            "{module}: the code object is unchanged"
        );
    }
    // Python uses the rewritten pycs although every file in the zip has a 1980 mtime.
    let verbose = Command::new("python3")
        .args([
            "-S",
            "-B",
            "-v",
            "-c",
            "import sys; sys.path.insert(0, '.'); import calc; assert calc.add(1, 2) == 3",
        ])
        .current_dir(&task)
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&verbose.stderr);
    assert!(verbose.status.success(), "{log}");
    assert!(
        log.lines()
            .any(|line| line.contains(&format!("ops.{tag}.pyc matches"))),
        "calc/ops.py was compiled again instead of using its pyc:\n{log}"
    );
    assert_eq!(run_python(&task, &[&task], "app", "handler"), "5");
}

/// design.md: namespace packages — never add an `__init__.py`; a namespace split across
/// distributions is matched on the full dotted path.
#[test]
fn namespace_packages_split_across_distributions_keep_only_what_is_imported() {
    let fixture = Fixture::empty("namespaces");
    fixture.file(
        "app.py",
        "from nsroot import alpha\nfrom nsroot.gamma.sub import value\n\ndef handler(e, c):\n    return [alpha.NAME, value()]\n",
    );
    Dist::new("nsroot-alpha", "1.0")
        .module("nsroot/alpha", "")
        .install(&fixture, "package");
    Dist::new("nsroot-beta", "1.0")
        .module("nsroot/beta", "")
        .install(&fixture, "package");
    Dist::new("nsroot-gamma", "1.0")
        .file("nsroot/gamma/sub.py", "def value():\n    return 'gamma'\n")
        .install(&fixture, "package");
    let built = fixture.build(&["--runtime", "python3.11"]);
    check(
        &built,
        &[
            ("nsroot_alpha-1.0.dist-info", "kept", "production"),
            ("nsroot_gamma-1.0.dist-info", "kept", "production"),
            ("nsroot_beta-1.0.dist-info", "dropped", "unused"),
        ],
    );
    assert!(!has_entry(&built, "nsroot/__init__.py"));
    assert!(!has_entry(&built, "nsroot/gamma/__init__.py"));
    let answer = same_answer(&fixture, &built, "package", "app", "handler");
    assert_eq!(answer, r#"["nsroot-alpha@1.0", "gamma"]"#);
}

/// design.md: `.pth` files are only honoured in a site dir, which `/var/task` is not: they ship
/// untouched and the report says they will not run.
#[test]
fn pth_files_ship_with_a_note_that_lambda_ignores_them() {
    let fixture = Fixture::empty("pth");
    fixture.file(
        "app.py",
        "import legacy\n\ndef handler(e, c):\n    return 1\n",
    );
    Dist::new("legacy", "1.0")
        .module("legacy", "")
        .file(
            "legacy-1.0-nspkg.pth",
            "import sys; sys.path.append('/nowhere')\n",
        )
        .install(&fixture, "package");
    let built = fixture.build(&["--runtime", "python3.11"]);
    assert!(has_entry(&built, "legacy-1.0-nspkg.pth"));
    let task = built.extract();
    assert_eq!(
        fs_err::read_to_string(task.join("legacy-1.0-nspkg.pth")).unwrap(),
        "import sys; sys.path.append('/nowhere')\n"
    );
    let notes = built.function()["notes"].to_string();
    assert!(
        notes.contains("legacy-1.0-nspkg.pth") && notes.contains("site directory"),
        "{notes}"
    );
}

/// RECORD's `../../bin/...` entries are the install's `bin/`: console scripts with the build
/// machine's interpreter go with a rule; a file no RECORD lists is reported as unowned and kept.
#[test]
fn record_bin_entries_are_owned_and_console_scripts_go() {
    let fixture = Fixture::empty("scripts");
    fixture.file(
        "app.py",
        "import tool\n\ndef handler(e, c):\n    return 1\n",
    );
    let mut dist = Dist::new("tool", "1.0").module("tool", "");
    dist.record.push("../../bin/tool");
    dist.record.push("../../bin/tool-env");
    dist.install(&fixture, "package");
    fixture
        .file(
            "package/bin/tool",
            "#!/root/.pyenv/versions/3.11.7/bin/python3\nimport tool\n",
        )
        .file(
            "package/bin/tool-env",
            "#!/usr/bin/env python3\nimport tool\n",
        )
        .file("package/stray.txt", "left by hand\n")
        .file("package/tool/__pycache__/ghost.cpython-311.pyc", "");
    let built = fixture.build(&["--runtime", "python3.11"]);
    assert!(!has_entry(&built, "bin/tool"));
    assert!(has_entry(&built, "bin/tool-env"));
    assert_eq!(rule_files(&built, "py/console-script"), 1);
    let package = built.package("tool-1.0.dist-info");
    assert_eq!(
        package["files"], 11,
        "bin/ scripts and the pyc belong to tool"
    );
    assert_eq!(
        built.function()["unowned"],
        serde_json::json!([{ "path": "stray.txt", "bytes": 13 }])
    );
    assert!(has_entry(&built, "stray.txt"));
}

/// A fixture importing boto3 (and requests, which needs urllib3).
fn sdk_fixture() -> Fixture {
    let fixture = Fixture::empty("sdk");
    fixture.file(
        "lambda_function.py",
        "import boto3, requests\n\ndef lambda_handler(e, c):\n    return 1\n",
    );
    let site = "package";
    Dist::new("boto3", "1.35.0")
        .module("boto3", "import botocore, s3transfer\n")
        .requires("botocore")
        .requires("s3transfer")
        .install(&fixture, site);
    Dist::new("botocore", "1.35.0")
        .module("botocore", "")
        .file("botocore/data/s3/2006-03-01/service-2.json", "{}")
        .requires("jmespath")
        .requires("python-dateutil")
        .requires("urllib3")
        .install(&fixture, site);
    Dist::new("s3transfer", "0.10.0")
        .module("s3transfer", "")
        .requires("botocore")
        .install(&fixture, site);
    Dist::new("jmespath", "1.0.1")
        .module("jmespath", "")
        .install(&fixture, site);
    Dist::new("python-dateutil", "2.9.0")
        .module("dateutil", "import six\n")
        .requires("six")
        .install(&fixture, site);
    Dist::new("six", "1.16.0")
        .file("six.py", "NAME = 'six'\n")
        .install(&fixture, site);
    Dist::new("urllib3", "2.2.0")
        .module("urllib3", "")
        .install(&fixture, site);
    Dist::new("requests", "2.32.3")
        .module("requests", "import urllib3\n")
        .requires("urllib3")
        .install(&fixture, site);
    fixture
}

/// The runtime ships boto3 and its dependencies: reported with their bytes, kept by default,
/// dropped only with `--drop-runtime-sdk`.
#[test]
fn runtime_sdk_is_reported_and_dropped_only_on_request() {
    let fixture = sdk_fixture();
    let sdk = [
        "boto3-1.35.0.dist-info",
        "botocore-1.35.0.dist-info",
        "s3transfer-0.10.0.dist-info",
        "jmespath-1.0.1.dist-info",
        "python_dateutil-2.9.0.dist-info",
        "six-1.16.0.dist-info",
        "urllib3-2.2.0.dist-info",
    ];
    let kept = fixture.build(&["--runtime", "python3.12"]);
    for path in sdk {
        check(&kept, &[(path, "kept", "runtime-provided")]);
        assert_eq!(kept.package(path)["runtime_provided"], true);
    }
    check(
        &kept,
        &[("requests-2.32.3.dist-info", "kept", "production")],
    );
    assert!(kept.function()["runtime_sdk_bytes"].as_u64().unwrap() > 0);
    assert!(has_entry(
        &kept,
        "botocore/data/s3/2006-03-01/service-2.json"
    ));

    let dropped = fixture.build(&["--runtime", "python3.12", "--drop-runtime-sdk"]);
    for path in sdk {
        check(&dropped, &[(path, "dropped", "runtime-provided")]);
    }
    assert!(!has_entry(&dropped, "boto3/__init__.py"));
    assert!(!has_entry(&dropped, "six.py"));
    assert!(has_entry(&dropped, "requests/__init__.py"));
}

#[test]
fn a_computed_import_keeps_every_distribution() {
    let fixture = closure_fixture();
    fixture
        .file(
            "plugins.py",
            "import importlib\n\ndef load(name):\n    return importlib.import_module(name)\n",
        )
        .file(
            "lambda_function.py",
            "import alpha\nimport plugins\n\ndef lambda_handler(event, context):\n    return alpha.describe()\n",
        );
    let built = fixture.build(&["--runtime", "python3.11"]);
    for path in [
        "gamma-1.0.dist-info",
        "unusedlib-1.0.dist-info",
        "pytest-8.0.dist-info",
    ] {
        assert_eq!(built.package(path)["status"], "kept", "{path}");
    }
    assert_eq!(
        built.function()["dynamic_imports"],
        serde_json::json!(["plugins.py:4: importlib.import_module(name)"])
    );
    assert!(
        built.function()["notes"]
            .to_string()
            .contains("cannot follow")
    );
}

/// Your own tests go, and what only they import (pytest) goes with them.
#[test]
fn your_tests_and_what_only_they_import_stay_out() {
    let fixture = closure_fixture();
    fixture
        .file(
            "tests/test_app.py",
            "import pytest\nimport lambda_function\n",
        )
        .file("tests/conftest.py", "import pytest\n");
    let built = fixture.build(&["--runtime", "python3.11"]);
    assert!(!has_entry(&built, "tests/test_app.py"));
    check(&built, &[("pytest-8.0.dist-info", "dropped", "dev")]);
    assert!(has_entry(&built, "lambda_function.py"));
}

/// Dependencies in `package/` (AWS's guide), a `.venv`, `--site-packages DIR` or next to the
/// handler: each ships at the artifact's root, and nothing else of a virtual environment ships.
#[test]
fn every_dependency_layout_ships_at_the_artifact_root() {
    let handler = "import dep\n\ndef handler(e, c):\n    return dep.NAME\n";
    let layouts = [
        ("package", "package"),
        (".venv", ".venv/lib/python3.12/site-packages"),
        ("flag", "../deps"),
        ("beside", "."),
    ];
    for (name, site) in layouts {
        let fixture = Fixture::empty(name);
        fixture.file("app.py", handler);
        if name == ".venv" {
            fixture
                .file(".venv/pyvenv.cfg", "home = /usr/bin\n")
                .file(".venv/bin/activate", "# activate\n")
                .link(".venv/lib64", "lib");
        }
        let dist = Dist::new("dep", "1.0").module("dep", "");
        dist.install(&fixture, site);
        Dist::new("pip", "24.0")
            .module("pip", "")
            .install(&fixture, site);
        let deps = fixture.base.join("deps").display().to_string();
        let args: Vec<&str> = if name == "flag" {
            vec!["--site-packages", &deps]
        } else {
            Vec::new()
        };
        let built = fixture.build(&args);
        assert_eq!(built.code, 0, "{name}");
        let entries = built.entries();
        assert!(
            entries.contains(&"dep/__init__.py".to_string()),
            "{name}: {entries:?}"
        );
        assert!(entries.contains(&"app.py".to_string()), "{name}");
        assert!(
            !entries.iter().any(|entry| entry.starts_with(".venv")
                || entry.starts_with("package/")
                || entry.starts_with("pip")),
            "{name}: {entries:?}"
        );
        check(&built, &[("dep-1.0.dist-info", "kept", "production")]);
        if name == ".venv" {
            assert_eq!(
                built.function()["runtime"],
                "python3.12",
                "from lib/python3.12"
            );
        }
        let site_dir = if site == "." {
            fixture.root.clone()
        } else {
            fixture.root.join(site)
        };
        let before = run_python(&fixture.root, &[&fixture.root, &site_dir], "app", "handler");
        let task = built.extract();
        assert_eq!(
            run_python(&task, &[&task], "app", "handler"),
            before,
            "{name}"
        );
    }
}

/// egg-info installs (`setup.py install`, old pips): PKG-INFO, `requires.txt` sections and
/// `installed-files.txt`.
#[test]
fn egg_info_distributions_are_read() {
    let fixture = Fixture::empty("eggs");
    fixture.file("app.py", "import old\n\ndef handler(e, c):\n    return 1\n");
    let site = "package";
    fixture
        .file(&format!("{site}/old/__init__.py"), "")
        .file(&format!("{site}/old/core.py"), "")
        .file(
            &format!("{site}/old-0.9-py3.11.egg-info/PKG-INFO"),
            "Metadata-Version: 1.1\nName: Old\nVersion: 0.9\n",
        )
        .file(
            &format!("{site}/old-0.9-py3.11.egg-info/requires.txt"),
            "six\n\n[:python_version < \"3\"]\nfutures\n\n[fast]\nujson\n",
        )
        .file(
            &format!("{site}/old-0.9-py3.11.egg-info/top_level.txt"),
            "old\n",
        )
        .file(
            &format!("{site}/old-0.9-py3.11.egg-info/installed-files.txt"),
            "../old/__init__.py\n../old/core.py\nPKG-INFO\nrequires.txt\ntop_level.txt\n",
        )
        .file(
            &format!("{site}/old-0.9-py3.11.egg-info/SOURCES.txt"),
            "setup.py\n",
        );
    Dist::new("six", "1.16.0")
        .file("six.py", "")
        .install(&fixture, site);
    Dist::new("ujson", "5.0")
        .module("ujson", "")
        .install(&fixture, site);
    let built = fixture.build(&["--runtime", "python3.11"]);
    check(
        &built,
        &[
            ("old-0.9-py3.11.egg-info", "kept", "production"),
            ("six-1.16.0.dist-info", "kept", "runtime-provided"),
            ("ujson-5.0.dist-info", "dropped", "unused"),
        ],
    );
    assert_eq!(built.package("old-0.9-py3.11.egg-info")["name"], "old");
    assert_eq!(built.package("old-0.9-py3.11.egg-info")["files"], 7);
    assert!(!has_entry(&built, "old-0.9-py3.11.egg-info/SOURCES.txt"));
    assert!(has_entry(&built, "old-0.9-py3.11.egg-info/PKG-INFO"));
}

#[test]
fn builds_are_deterministic_and_never_touch_the_input() {
    let fixture = closure_fixture();
    let before = fixture.snapshot();
    let first = fixture.build(&["--runtime", "python3.11"]);
    let first_bytes = fs_err::read(&first.zip).unwrap();
    // Written again, not left in place as the same zip.
    fs_err::remove_file(&first.zip).unwrap();
    let second = fixture.build(&["--runtime", "python3.11"]);
    assert_eq!(first_bytes, fs_err::read(&second.zip).unwrap());
    assert_eq!(before, fixture.snapshot(), "build changed the input folder");
    assert_eq!(first.function()["sha256"], second.function()["sha256"]);
    let leftovers: Vec<_> = fs_err::read_dir(&first.out)
        .unwrap()
        .flatten()
        .map(|entry| entry.file_name())
        .filter(|name| name.to_string_lossy().starts_with(".lamina") && name != ".lamina-output")
        .collect();
    assert!(leftovers.is_empty(), "staging left behind: {leftovers:?}");
}

#[test]
fn handler_errors_name_what_was_tried() {
    let fixture = Fixture::empty("nohandler");
    fixture.file("requirements.txt", "requests\n");
    let out = fixture.lamina(&["scan", fixture.root.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let message = String::from_utf8_lossy(&out.stderr);
    assert!(
        message.contains("lambda_function.py") && message.contains("--handler"),
        "{message}"
    );

    fixture.file("src/app.py", "def main(e, c):\n    return 1\n");
    let scan = fixture.lamina(&[
        "scan",
        fixture.root.to_str().unwrap(),
        "--handler",
        "src.app.main",
        "--json",
    ]);
    assert_eq!(
        scan.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&scan.stderr)
    );
    let report: Value = serde_json::from_slice(&scan.stdout).unwrap();
    assert_eq!(report["functions"][0]["handler_file"], "src/app.py");
    let missing = fixture.lamina(&[
        "scan",
        fixture.root.to_str().unwrap(),
        "--handler",
        "src/other.main",
    ]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("src/other.py"));
}

#[test]
fn every_python_report_field_is_documented() {
    let fixture = closure_fixture();
    fixture.file("package/stray.txt", "x");
    let built = fixture.build(&["--runtime", "python3.11"]);
    crate::docs::assert_matches_schema(&built.report, "build");
    let doc =
        fs_err::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report-format.md"))
            .unwrap();
    let mut found = Vec::new();
    crate::harness::json_keys(&built.report, &mut found);
    found.sort();
    found.dedup();
    for key in found {
        assert!(
            doc.contains(&format!("`{key}`")),
            "docs/report-format.md does not document `{key}`"
        );
    }
}

/// Without `--runtime`, the Python the installed files were built for: `WHEEL` tags before pyc
/// magic numbers; a flag that disagrees with the wheels is reported.
#[test]
fn the_runtime_is_inferred_from_wheel_tags_then_pycs() {
    let fixture = Fixture::empty("inferred");
    fixture.file(
        "app.py",
        "import plain\n\ndef handler(e, c):\n    return 1\n",
    );
    Dist::new("plain", "1.0")
        .module("plain", "")
        .install(&fixture, "package");
    // A pyc of Python 3.10 (magic 3439) beside its source.
    let mut pyc = 3439u16.to_le_bytes().to_vec();
    pyc.extend(b"\r\n");
    pyc.resize(32, 0);
    let pycache = fixture.root.join("package/plain/__pycache__");
    fs_err::create_dir_all(&pycache).unwrap();
    fs_err::write(pycache.join("__init__.cpython-310.pyc"), &pyc).unwrap();
    let from_pycs = fixture.build(&[]);
    assert_eq!(from_pycs.function()["runtime"], "python3.10");
    assert!(
        from_pycs.function()["runtime_source"]
            .as_str()
            .unwrap()
            .contains("pyc")
    );

    crate::harness::write_file(
        &fixture.root.join("package/plain-1.0.dist-info/WHEEL"),
        "Wheel-Version: 1.0\nTag: cp313-cp313-manylinux_2_17_x86_64\n",
    );
    let from_wheels = fixture.build(&[]);
    assert_eq!(from_wheels.function()["runtime"], "python3.13");
    let warnings = from_wheels.function()["warnings"].to_string();
    assert!(warnings.contains("several Pythons"), "{warnings}");

    let flagged = fixture.build(&["--runtime", "python3.12"]);
    let warnings = flagged.function()["warnings"].to_string();
    assert!(warnings.contains("--runtime python3.12"), "{warnings}");
    // The cp313 wheel does not load on python3.12: build finds it in the zip, scan in the
    // WHEEL tags it read, as the same finding.
    let finding = |report: &serde_json::Value| {
        report["functions"][0]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|finding| finding["id"] == "native/wheel-tag")
            .cloned()
    };
    let built = finding(&flagged.report).expect("build finds the wheel tag");
    let scanned = fixture.lamina(&[
        "scan",
        fixture.root.to_str().unwrap(),
        "--runtime",
        "python3.12",
        "--json",
    ]);
    let scanned: serde_json::Value = serde_json::from_slice(&scanned.stdout).unwrap();
    assert_eq!(finding(&scanned), Some(built));

    let custom = fixture.lamina(&[
        "scan",
        fixture.root.to_str().unwrap(),
        "--runtime",
        "provided.al2023",
    ]);
    assert_eq!(custom.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&custom.stderr).contains("python3.9 to python3.13"));
}

/// The PEP 552 header CPython writes for `source` with `--invalidation-mode unchecked-hash`,
/// computed by the local `python3`, as hex.
fn expected_unchecked_header(source: &Path) -> String {
    let script = "import importlib.util, sys\nsource = open(sys.argv[1], 'rb').read()\nsys.stdout.write((importlib.util.MAGIC_NUMBER + (1).to_bytes(4, 'little') + importlib.util.source_hash(source)).hex())\n";
    let output = Command::new("python3")
        .args(["-c", script])
        .arg(source)
        .output()
        .unwrap();
    String::from_utf8(output.stdout).unwrap()
}

/// A calculator function whose dependencies were installed without pycs.
fn calc_without_pycs(name: &str) -> Fixture {
    let fixture = Fixture::empty(name);
    fixture.file(
        "app.py",
        "import calc\n\ndef handler(e, c):\n    return calc.add(2, 3)\n",
    );
    Dist::new("calc", "1.0")
        .module("calc", "from .ops import add\n")
        .file("calc/ops.py", "def add(a, b):\n    return a + b\n")
        // Never imported, and not valid Python: it ships without a pyc, as installed.
        .file("calc/template.py", "def broken(:\n")
        .install(&fixture, "package");
    fixture
}

/// issue 3, `--compile`: sources that ship without pycs get unchecked-hash pycs, generated
/// outside the input, that the local `python3` loads without compiling again.
#[test]
fn compile_generates_unchecked_hash_pycs_that_python_uses() {
    let (major, minor) = local_python();
    let runtime = format!("python{major}.{minor}");
    let tag = format!("cpython-{major}{minor}");
    let fixture = calc_without_pycs("compile");
    let before = fixture.snapshot();
    let built = fixture.build(&["--runtime", &runtime, "--compile"]);
    assert_eq!(fixture.snapshot(), before, "the input folder changed");
    assert_eq!(built.function()["compiled_pycs"], 3);
    let notes = built.function()["notes"].to_string();
    assert!(notes.contains("calc/template.py"), "{notes}");
    assert!(!has_entry(
        &built,
        &format!("calc/__pycache__/template.{tag}.pyc")
    ));
    let leftovers: Vec<_> = fs_err::read_dir(&built.out)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(".lamina-") && name != ".lamina-output")
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?} left in the output");

    let task = built.extract();
    for (folder, module) in [("", "app"), ("calc/", "__init__"), ("calc/", "ops")] {
        let pyc =
            fs_err::read(task.join(format!("{folder}__pycache__/{module}.{tag}.pyc"))).unwrap();
        assert_eq!(
            u32::from_le_bytes(pyc[4..8].try_into().unwrap()),
            1,
            "{module}: flags"
        );
        assert_eq!(
            hex::encode(&pyc[..16]),
            expected_unchecked_header(&task.join(format!("{folder}{module}.py"))),
            "{module}: header"
        );
    }
    let verbose = Command::new("python3")
        .args([
            "-S",
            "-B",
            "-v",
            "-c",
            "import sys; sys.path.insert(0, '.'); import app; assert app.handler({}, None) == 5",
        ])
        .current_dir(&task)
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&verbose.stderr);
    assert!(verbose.status.success(), "{log}");
    for module in ["app", "__init__", "ops"] {
        assert!(
            log.lines()
                .any(|line| line.contains(&format!("{module}.{tag}.pyc matches"))),
            "{module} was compiled again instead of using its pyc:\n{log}"
        );
    }
    // Same input, same bytes.
    let again = fixture.build(&["--runtime", &runtime, "--compile"]);
    assert_eq!(again.function()["sha256"], built.function()["sha256"]);
}

/// `--compile` and `--strip` without their tools: the build succeeds as without the flags and
/// the notes say what was not done.
#[test]
fn compile_and_strip_without_the_tools_leave_a_note() {
    let fixture = calc_without_pycs("no-tools");
    let so = fixture
        .root
        .join("package/calc/_speed.cpython-311-x86_64-linux-gnu.so");
    compile_shared_object(&so);
    let empty = fixture.base.join("empty-path");
    fs_err::create_dir_all(&empty).unwrap();
    let out = fixture.base.join("out");
    let output = crate::harness::lamina_command()
        .args(["build", fixture.root.to_str().unwrap(), "--out"])
        .arg(&out)
        .args(["--json", "--runtime", "python3.11", "--compile", "--strip"])
        .env("PATH", &empty)
        .env("LAMINA_CACHE_DIR", fixture.base.join("cache"))
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let function = &report["functions"][0];
    assert_eq!(function["compiled_pycs"], 0);
    assert_eq!(function["strip_saved_bytes"], 0);
    let notes = function["notes"].to_string();
    assert!(notes.contains("no working python3.11 on PATH"), "{notes}");
    assert!(notes.contains("no `strip` on PATH"), "{notes}");
}

/// A tiny shared object with debug information, as a stand-in for an extension module.
fn compile_shared_object(destination: &Path) {
    let folder = destination.parent().unwrap();
    fs_err::create_dir_all(folder).unwrap();
    let source = folder.join("speed.c");
    fs_err::write(
        &source,
        "struct point { int x, y; };\nint speed(struct point *p) { int total = 0; for (int i = 0; i < p->x; i++) total += i * p->y; return total; }\n",
    )
    .unwrap();
    let status = Command::new("gcc")
        .args(["-g", "-O0", "-shared", "-fPIC", "-o"])
        .arg(destination)
        .arg(&source)
        .status()
        .expect("gcc is installed");
    assert!(status.success());
    fs_err::remove_file(source).unwrap();
}

/// issue 3, `--strip`: extension modules ship without debug symbols, still ELF files;
/// nothing under a `*.libs/` folder is touched, nor the input.
#[test]
fn strip_removes_debug_symbols_but_never_under_libs() {
    let (major, minor) = local_python();
    let fixture = Fixture::empty("strip");
    fixture.file(
        "app.py",
        "import calc\n\ndef handler(e, c):\n    return calc.NAME\n",
    );
    let extension = format!("calc/_speed.cpython-{major}{minor}-x86_64-linux-gnu.so");
    let vendored = "calc.libs/libspeed-0a1b2c3d.so";
    let mut dist = Dist::new("calc", "1.0").module("calc", "");
    dist.record
        .push(Box::leak(extension.clone().into_boxed_str()));
    dist.record.push(vendored);
    dist.install(&fixture, "package");
    compile_shared_object(&fixture.root.join("package").join(&extension));
    compile_shared_object(&fixture.root.join("package").join(vendored));
    let before = fixture.snapshot();
    let built = fixture.build(&["--runtime", &format!("python{major}.{minor}"), "--strip"]);
    assert_eq!(fixture.snapshot(), before, "the input folder changed");

    let task = built.extract();
    let original = fs_err::read(fixture.root.join("package").join(&extension)).unwrap();
    let shipped = fs_err::read(task.join(&extension)).unwrap();
    assert!(
        shipped.len() < original.len(),
        "{} → {} bytes",
        original.len(),
        shipped.len()
    );
    assert_eq!(&shipped[..4], b"\x7fELF");
    assert_eq!(
        built.function()["strip_saved_bytes"],
        (original.len() - shipped.len()) as u64
    );
    assert_eq!(
        fs_err::read(task.join(vendored)).unwrap(),
        fs_err::read(fixture.root.join("package").join(vendored)).unwrap(),
        "a *.libs/ file changed"
    );
}

/// `lamina build a b --layers auto FLAGS` for the local Python, which must exit 0; the layer
/// unzipped into `<base>/opt` and the first function into `<base>/task`.
fn build_a_and_b_with_a_layer(fixture: &Fixture, flags: &[&str]) -> (PathBuf, PathBuf) {
    let (major, minor) = local_python();
    let runtime = format!("python{major}.{minor}");
    let out = fixture.base.join("out");
    let mut args = vec!["build", "a", "b", "--layers", "auto"];
    args.extend(flags);
    args.extend([
        "--runtime",
        &runtime,
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    let output = fixture.lamina(&args);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let layer = report["layers"][0]["artifact"].as_str().unwrap();
    let function = report["functions"][0]["artifact"].as_str().unwrap();
    let (opt, task) = (fixture.base.join("opt"), fixture.base.join("task"));
    for (zip, into) in [(layer, &opt), (function, &task)] {
        let status = Command::new("unzip")
            .args(["-q", zip, "-d"])
            .arg(into)
            .status()
            .unwrap();
        assert!(status.success());
    }
    (opt, task)
}

/// `--compile` with shared layers: a distribution that moves into a layer gets its pycs there,
/// in the `__pycache__` beside each source's place under `python/`, and Python uses them.
#[test]
fn compile_puts_the_pycs_of_a_layer_beside_their_sources() {
    let (major, minor) = local_python();
    let tag = format!("cpython-{major}{minor}");
    let fixture = Fixture::empty("a");
    for function in ["a", "b"] {
        crate::harness::write_file(
            &fixture.base.join(function).join("app.py"),
            "import calc\n\ndef handler(e, c):\n    return calc.add(2, 3)\n",
        );
        Dist::new("calc", "1.0")
            .module("calc", "from .ops import add\n")
            .file("calc/ops.py", "def add(a, b):\n    return a + b\n")
            .install(&fixture, &format!("../{function}/package"));
    }
    let (opt, task) = build_a_and_b_with_a_layer(&fixture, &["--compile"]);
    let pyc = fs_err::read(opt.join(format!("python/calc/__pycache__/ops.{tag}.pyc"))).unwrap();
    assert_eq!(u32::from_le_bytes(pyc[4..8].try_into().unwrap()), 1);
    let verbose = Command::new("python3")
        .args(["-S", "-B", "-v", "-c"])
        .arg(format!(
            "import sys; sys.path[:0] = [{:?}, {:?}]; import app; assert app.handler({{}}, None) == 5",
            task.display().to_string(),
            opt.join("python").display().to_string()
        ))
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&verbose.stderr);
    assert!(verbose.status.success(), "{log}");
    for module in ["app", "ops"] {
        assert!(
            log.lines()
                .any(|line| line.contains(&format!("{module}.{tag}.pyc matches"))),
            "{module} was compiled again instead of using its pyc:\n{log}"
        );
    }
}

/// `--drop-runtime-sdk` never drops an SDK a kept distribution needs newer than the runtime is
/// known to ship (issue 12: a function failed with UnknownServiceError).
#[test]
fn the_runtime_sdk_stays_when_a_kept_distribution_needs_a_newer_one() {
    let fixture = sdk_fixture();
    fixture.file(
        "lambda_function.py",
        "import boto3, requests, newsdk\n\ndef lambda_handler(e, c):\n    return 1\n",
    );
    Dist::new("newsdk", "2.0.0")
        .module("newsdk", "import boto3\n")
        .requires("boto3>=1.35.74")
        .install(&fixture, "package");
    let built = fixture.build(&["--runtime", "python3.11", "--drop-runtime-sdk"]);
    for path in ["boto3-1.35.0.dist-info", "botocore-1.35.0.dist-info"] {
        check(&built, &[(path, "kept", "runtime-provided")]);
    }
    let reason = built.package("boto3-1.35.0.dist-info")["reason"].to_string();
    assert!(
        reason.contains("newsdk")
            && reason.contains(">=1.35.74")
            && reason.contains("--drop-runtime-sdk"),
        "{reason}"
    );
    assert!(has_entry(&built, "boto3/__init__.py"));

    // A floor the runtime meets: dropped as asked.
    let fixture = sdk_fixture();
    fixture.file(
        "lambda_function.py",
        "import boto3, requests, oldsdk\n\ndef lambda_handler(e, c):\n    return 1\n",
    );
    Dist::new("oldsdk", "1.0.0")
        .module("oldsdk", "import boto3\n")
        .requires("boto3>=1.9")
        .install(&fixture, "package");
    let built = fixture.build(&["--runtime", "python3.11", "--drop-runtime-sdk"]);
    check(
        &built,
        &[("boto3-1.35.0.dist-info", "dropped", "runtime-provided")],
    );
}

/// A kept distribution whose requirement is not installed fails at import on Lambda: an input
/// error (exit 2), as Node's missing dependency is; one the runtime ships is a note.
#[test]
fn a_kept_distribution_missing_a_requirement_is_an_input_error() {
    let fixture = Fixture::empty("reqs");
    fixture.file(
        "lambda_function.py",
        "import client\n\ndef lambda_handler(e, c):\n    return 1\n",
    );
    Dist::new("client", "1.0.0")
        .module("client", "import boto3\n")
        .requires("boto3")
        .requires("charset-normalizer>=2")
        .install(&fixture, "package");
    let output = fixture.lamina(&["build", "reqs", "--runtime", "python3.11", "--out", "out"]);
    assert_eq!(output.status.code(), Some(2));
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(
        message.contains("client_1.0.0.dist-info/METADATA")
            || message.contains("client-1.0.0.dist-info/METADATA"),
        "{message}"
    );
    assert!(message.contains("requires charset-normalizer"), "{message}");
    assert!(!fixture.base.join("out").exists());

    Dist::new("charset-normalizer", "3.3.2")
        .module("charset_normalizer", "")
        .install(&fixture, "package");
    let built = fixture.build(&["--runtime", "python3.11"]);
    assert_eq!(built.code, 0);
    let notes = built.function()["notes"].to_string();
    assert!(
        notes.contains("requires boto3") && notes.contains("provides it"),
        "{notes}"
    );
}

/// The trace's report entry of the distribution whose metadata folder is `path`.
fn trace_of(built: &Built, path: &str) -> serde_json::Value {
    built.package(path)["trace"].clone()
}

/// `--shake files` follows the handler's imports through every distribution: absolute and
/// relative imports, `from a import b` naming the submodule `a.b`, each enclosing package's
/// `__init__`, imports inside functions and guarded ones, a namespace package split across two
/// distributions. Unreached modules go with `trace/unreached`; data files of a reached package
/// stay; a required distribution nothing imports keeps only its metadata.
#[test]
fn python_files_mode_ships_the_modules_the_handler_imports() {
    let fixture = Fixture::empty("traced");
    fixture.file(
        "app.py",
        "import shop.cart\nfrom shop import pricing\nfrom shop.stars import *\nfrom nsp import one\nimport nsp.two.sub\n\ndef handler(event, context):\n    import late\n    try:\n        import fast\n    except ImportError:\n        fast = None\n    return [shop.cart.total(), pricing.NAME, late.VALUE, fast.SPEED, one.NAME, nsp.two.sub.WHO]\n",
    );
    fixture.file("scripts/seed.py", "import shop.admin\n");
    Dist::new("shop", "1.0")
        .requires("declared")
        .module("shop", "")
        .file("shop/cart.py", "from .util import add\n\ndef total():\n    import json, os\n    with open(os.path.join(os.path.dirname(__file__), 'data', 'rates.json')) as f:\n        return add(json.load(f)['base'], 2)\n")
        .file("shop/util.py", "def add(a, b):\n    return a + b\n")
        .file("shop/pricing.py", "NAME = 'pricing'\n")
        .file("shop/unused.py", "import declared\n")
        .file("shop/data/rates.json", "{\"base\": 40}")
        .file("shop/admin/__init__.py", "")
        .file("shop/admin/views.py", "VIEWS = 1\n")
        .file("shop/stars/__init__.py", "__all__ = ['alpha']\n")
        .file("shop/stars/alpha.py", "")
        .file("shop/stars/beta.py", "")
        .file("shop.libs/libfast-0a1b2c3d.so", "")
        .file("shop/lib/libhelper.so", "")
        .file("shop/_unused.cpython-311-x86_64-linux-gnu.so", "")
        .file("shop/_old.abi3.so", "")
        .install(&fixture, "package");
    Dist::new("declared", "1.0")
        .module("declared", "")
        .install(&fixture, "package");
    Dist::new("late", "1.0")
        .module("late", "VALUE = 'late'\n")
        .install(&fixture, "package");
    Dist::new("fast", "1.0")
        .file("fast.py", "SPEED = 'fast'\n")
        .install(&fixture, "package");
    Dist::new("ns-one", "1.0")
        .file("nsp/one/__init__.py", "NAME = 'one'\n")
        .install(&fixture, "package");
    Dist::new("ns-two", "1.0")
        .file("nsp/two/__init__.py", "")
        .file("nsp/two/sub.py", "WHO = 'two'\n")
        .file("nsp/two/other.py", "OTHER = 1\n")
        .install(&fixture, "package");

    let built = fixture.build(&["--handler", "app.handler", "--shake", "files"]);
    assert_eq!(built.code, 0, "{:#}", built.report);
    let answer = same_answer(&fixture, &built, "package", "app", "handler");
    assert_eq!(answer, r#"[42, "pricing", "late", "fast", "one", "two"]"#);
    for shipped in [
        "shop/__init__.py",
        "shop/cart.py",
        "shop/util.py",
        "shop/pricing.py",
        "shop/data/rates.json",
        "late/__init__.py",
        "fast.py",
        "nsp/one/__init__.py",
        "nsp/two/__init__.py",
        "nsp/two/sub.py",
        "declared-1.0.dist-info/METADATA",
        "shop/stars/alpha.py",
        // Shared libraries other code loads by path, not modules: auditwheel's `*.libs/`
        // (numpy's `libopenblas64_p-r0-0cf96a72.3.23.dev.so`), a plain `libfoo.so`.
        "shop.libs/libfast-0a1b2c3d.so",
        "shop/lib/libhelper.so",
    ] {
        assert!(has_entry(&built, shipped), "{shipped} does not ship");
    }
    for gone in [
        "shop/unused.py",
        "shop/admin/__init__.py",
        "shop/admin/views.py",
        "nsp/two/other.py",
        "declared/__init__.py",
        "shop/stars/beta.py",
        "scripts/seed.py",
        "shop/_unused.cpython-311-x86_64-linux-gnu.so",
        "shop/_old.abi3.so",
    ] {
        assert!(!has_entry(&built, gone), "{gone} ships");
    }
    assert!(rule_files(&built, "trace/unreached") >= 5);
    let shop = trace_of(&built, "shop-1.0.dist-info");
    assert_eq!(shop["mode"], "files", "{shop}");
    assert_eq!(shop["reached_files"], 6, "{shop}");
    let declared = reason(&built, "declared-1.0.dist-info");
    assert!(
        declared.contains("only its metadata ships") && declared.contains("shop@1.0"),
        "{declared}"
    );
    // `lamina why` shows the import chain to a module, and to a distribution.
    let why = |target: &str| {
        let output = fixture.lamina(&[
            "why",
            target,
            fixture.root.to_str().unwrap(),
            "--handler",
            "app.handler",
            "--shake",
            "files",
        ]);
        String::from_utf8(output.stdout).unwrap()
    };
    let util = why("shop/util.py");
    assert!(
        util.contains("imported: app.py -> shop/cart.py -> shop/util.py"),
        "{util}"
    );
    let unused = why("shop/unused.py");
    assert!(unused.contains("dropped (trace/unreached)"), "{unused}");
    let late = why("late");
    assert!(
        late.contains("imported: app.py -> late/__init__.py"),
        "{late}"
    );
    // `--shake deps` ships every module of a kept distribution, as before.
    let deps = fixture.build(&["--handler", "app.handler"]);
    assert!(has_entry(&deps, "shop/admin/views.py") && has_entry(&deps, "declared/__init__.py"));
    assert!(has_entry(&deps, "scripts/seed.py"));
}

/// What the tracer cannot follow keeps the distribution whole, with the file and line: a
/// computed import, `exec` of a file's text, entry-point loading (an extension module is
/// followed through the module names its bytes hold); a
/// package whose `__init__` gets a PEP 562 `__getattr__` (lazy_loader) keeps all its modules.
/// Whole-keeping does not spread: what a whole distribution imports is still traced.
#[test]
fn python_files_mode_keeps_whole_what_it_cannot_follow() {
    let fixture = Fixture::empty("dynamic");
    fixture.file(
        "app.py",
        "import plugins, fastext, runner, stats, finder, codecs2\n\ndef handler(event, context):\n    return 1\n",
    );
    Dist::new("plugins", "1.0")
        .requires("plugdep")
        .module(
            "plugins",
            "import importlib\nimport helper\n\ndef load(name):\n    return importlib.import_module(name)\n",
        )
        .file("plugins/a.py", "")
        .install(&fixture, "package");
    Dist::new("codecs2", "1.0")
        .module(
            "codecs2",
            "import importlib\n\ndef get(name):\n    return importlib.import_module('codecs2.impl.' + name)\n",
        )
        .file("codecs2/impl/__init__.py", "")
        .file("codecs2/impl/utf9.py", "")
        .file("codecs2/other.py", "")
        .install(&fixture, "package");
    Dist::new("plugdep", "1.0")
        .module("plugdep", "")
        .install(&fixture, "package");
    Dist::new("helper", "1.0")
        .module("helper", "")
        .file("helper/unused.py", "")
        .install(&fixture, "package");
    // An extension module imports from C what its strings name: `fastext.errors` in full,
    // and `_helpers`, a module beside it, as Cython's relative imports hold it.
    let mut ext = elf(62);
    ext.extend(b"\0fastext.errors\0_helpers\0PyInit__speed\0numpy.random\0");
    Dist::new("fastext", "1.0")
        .module("fastext", "from ._speed import go\n")
        .file("fastext/_speed.cpython-311-x86_64-linux-gnu.so", "")
        .file("fastext/errors.py", "")
        .file("fastext/_helpers.py", "")
        .file("fastext/extra.py", "")
        .install(&fixture, "package");
    fs_err::write(
        fixture
            .root
            .join("package/fastext/_speed.cpython-311-x86_64-linux-gnu.so"),
        &ext,
    )
    .unwrap();
    Dist::new("runner", "1.0")
        .module(
            "runner",
            "import os\nexec(open(os.path.join(os.path.dirname(__file__), 'conf.py')).read())\n",
        )
        .file("runner/conf.py", "")
        .install(&fixture, "package");
    Dist::new("lazy-loader", "1.0")
        .module("lazy_loader", "import importlib\n\ndef attach(package, submodules):\n    def __getattr__(name):\n        return importlib.import_module(f'{package}.{name}')\n    return __getattr__, None, submodules\n")
        .install(&fixture, "package");
    Dist::new("stats", "1.0")
        .module("stats", "import lazy_loader\n__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, ['heavy'])\n")
        .file("stats/heavy.py", "")
        .file("stats/deep/__init__.py", "")
        .file("stats/deep/more.py", "")
        .install(&fixture, "package");
    Dist::new("finder", "1.0")
        .module("finder", "from importlib.metadata import entry_points\nPLUGINS = entry_points(group='finder.plugins')\n")
        .install(&fixture, "package");
    Dist::new("finder-extra", "1.0")
        .requires("finder")
        .module("finder_extra", "")
        .file("finder_extra/more.py", "")
        .entry_points("[finder.plugins]\nextra = finder_extra.more:Plugin\n")
        .install(&fixture, "package");

    let built = fixture.build(&[
        "--handler",
        "app.handler",
        "--runtime",
        "python3.11",
        "--shake",
        "files",
    ]);
    let whole = |path: &str, because: &str| {
        let trace = trace_of(&built, path);
        assert_eq!(trace["mode"], "whole", "{path}: {trace}");
        let why = trace["reason"].as_str().unwrap();
        assert!(why.contains(because), "{path}: {why}");
    };
    whole(
        "plugins-1.0.dist-info",
        "plugins/__init__.py:6: importlib.import_module(name)",
    );
    whole("runner-1.0.dist-info", "runner/__init__.py:3: exec(open(");
    whole(
        "lazy_loader-1.0.dist-info",
        "import_module(f'{package}.{name}')",
    );
    whole(
        "finder-1.0.dist-info",
        "entry_points(group='finder.plugins')",
    );
    whole(
        "finder_extra-1.0.dist-info",
        "registers entry points (finder.plugins)",
    );
    // Nothing imports `plugdep` by name, but `plugins`, which requires it, computes its imports.
    whole(
        "plugdep-1.0.dist-info",
        "plugins@1.0, which requires it, is kept whole",
    );
    assert!(has_entry(&built, "plugdep/__init__.py"));
    for shipped in [
        "plugins/a.py",
        "fastext/errors.py",
        "fastext/_helpers.py",
        "runner/conf.py",
        "stats/heavy.py",
        "stats/deep/more.py",
        "finder_extra/more.py",
        "helper/__init__.py",
    ] {
        assert!(has_entry(&built, shipped), "{shipped} does not ship");
    }
    // `helper` is imported by a whole distribution, and traced all the same.
    assert_eq!(trace_of(&built, "helper-1.0.dist-info")["mode"], "files");
    assert!(!has_entry(&built, "helper/unused.py"));
    assert_eq!(trace_of(&built, "stats-1.0.dist-info")["mode"], "files");
    // A computed name with a literal prefix reaches the modules under that prefix only.
    assert_eq!(trace_of(&built, "codecs2-1.0.dist-info")["mode"], "files");
    assert!(has_entry(&built, "codecs2/impl/utf9.py"));
    assert!(!has_entry(&built, "codecs2/other.py"));
    assert_eq!(trace_of(&built, "fastext-1.0.dist-info")["mode"], "files");
    assert!(!has_entry(&built, "fastext/extra.py"));
}

/// `--shake files` keeps the AWS service models of the services the reached code names to SDK
/// clients (and botocore's own: STS, SSO), and every model when a client's service name is
/// computed outside the SDK's own code, saying where.
#[test]
fn python_files_mode_ships_the_models_of_the_services_named() {
    let fixture = Fixture::empty("sdkmodels");
    fixture.file(
        "app.py",
        "import boto3\nTABLE = boto3.client('dynamodb')\n\ndef handler(event, context):\n    return 1\n",
    );
    Dist::new("boto3", "1.0")
        .requires("botocore")
        .module("boto3", "import botocore\n\ndef client(service_name):\n    return botocore.session.create_client(service_name)\n")
        .file("boto3/data/dynamodb/2012-08-10/resources-1.json", "{}")
        .file("boto3/data/s3/2006-03-01/resources-1.json", "{}")
        .install(&fixture, "package");
    Dist::new("botocore", "1.0")
        .module("botocore", "")
        .file("botocore/data/endpoints.json", "{}")
        .file("botocore/data/dynamodb/2012-08-10/service-2.json", "{}")
        .file("botocore/data/s3/2006-03-01/service-2.json", "{}")
        .file("botocore/data/ec2/2016-11-15/service-2.json", "{}")
        .file("botocore/data/sts/2011-06-15/service-2.json", "{}")
        .install(&fixture, "package");
    let args = [
        "--handler",
        "app.handler",
        "--runtime",
        "python3.12",
        "--shake",
        "files",
    ];
    let built = fixture.build(&args);
    for shipped in [
        "botocore/data/endpoints.json",
        "botocore/data/dynamodb/2012-08-10/service-2.json",
        "botocore/data/sts/2011-06-15/service-2.json",
        "boto3/data/dynamodb/2012-08-10/resources-1.json",
    ] {
        assert!(has_entry(&built, shipped), "{shipped} does not ship");
    }
    for gone in [
        "botocore/data/s3/2006-03-01/service-2.json",
        "botocore/data/ec2/2016-11-15/service-2.json",
        "boto3/data/s3/2006-03-01/resources-1.json",
    ] {
        assert!(!has_entry(&built, gone), "{gone} ships");
    }
    assert_eq!(rule_files(&built, "trace/sdk-model"), 3);
    // A helper of the user's that computes the service name: every model ships, and why.
    fixture.file(
        "clients.py",
        "import boto3\n\ndef make(name):\n    return boto3.client(name)\n",
    );
    fixture.file(
        "app.py",
        "import clients\nTABLE = clients.make('dynamodb')\n\ndef handler(event, context):\n    return 1\n",
    );
    let computed = fixture.build(&args);
    assert!(has_entry(
        &computed,
        "botocore/data/ec2/2016-11-15/service-2.json"
    ));
    let notes = computed.function()["notes"].to_string();
    assert!(
        notes.contains("clients.py:4: boto3.client(name)"),
        "{notes}"
    );
}

/// A distribution kept both because one requires it and because another's code imports it
/// (here optionally) gives the declared requirement as its reason.
#[test]
fn a_declared_requirement_is_the_reason_named_first() {
    let fixture = Fixture::empty("reasons");
    fixture.file(
        "app.py",
        "import aardvark, zebra\n\ndef handler(event, context):\n    return 1\n",
    );
    Dist::new("aardvark", "1.0")
        .module(
            "aardvark",
            "try:\n    import shared\nexcept ImportError:\n    shared = None\n",
        )
        .install(&fixture, "package");
    Dist::new("zebra", "1.0")
        .requires("shared")
        .module("zebra", "")
        .install(&fixture, "package");
    Dist::new("shared", "1.0")
        .module("shared", "")
        .install(&fixture, "package");
    let built = fixture.build(&["--handler", "app.handler", "--runtime", "python3.12"]);
    assert_eq!(
        reason(&built, "shared-1.0.dist-info"),
        "required by zebra@1.0"
    );
}

/// `lamina build ARGS --out <base>/<name> --json` of the fixture's function, unzipped into
/// `<base>/<name>-task`: the report, the zip's entry names and the task folder.
fn build_bytecode(fixture: &Fixture, name: &str, args: &[&str]) -> (Value, Vec<String>, PathBuf) {
    let out = fixture.base.join(name);
    let mut all = vec![
        "build",
        fixture.root.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--json",
    ];
    all.extend(args);
    let output = fixture.lamina(&all);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let zip = report["functions"][0]["artifact"]
        .as_str()
        .unwrap()
        .to_string();
    let archive = zip::ZipArchive::new(fs_err::File::open(&zip).unwrap()).unwrap();
    let mut entries: Vec<String> = archive
        .file_names()
        .map(|name| name.unwrap().to_string())
        .collect();
    entries.sort();
    let task = fixture.base.join(format!("{name}-task"));
    let status = Command::new("unzip")
        .args(["-q", &zip, "-d"])
        .arg(&task)
        .status()
        .unwrap();
    assert!(status.success());
    (report, entries, task)
}

/// A calculator function whose dependencies have pycs (`compileall`, as pip writes them),
/// but for `calc/plain.py`, whose pyc is gone; the handler reads its own source.
fn calc_with_pycs(name: &str) -> Fixture {
    let fixture = Fixture::empty(name);
    fixture.file(
        "app.py",
        "import calc, calc.plain, inspect\n\ndef handler(e, c):\n    return [calc.add(2, 3), calc.plain.VALUE, 'def handler' in inspect.getsource(handler)]\n",
    );
    Dist::new("calc", "1.0")
        .module("calc", "from .ops import add\n")
        .file("calc/ops.py", "def add(a, b):\n    return a + b\n")
        .file("calc/plain.py", "VALUE = 7\n")
        .install(&fixture, "package");
    let site = fixture.root.join("package");
    compileall(&site);
    let (major, minor) = local_python();
    fs_err::remove_file(site.join(format!("calc/__pycache__/plain.cpython-{major}{minor}.pyc")))
        .unwrap();
    fixture
}

/// Item 5 of the `--shake files` issue, `--python-bytecode`: each mode answers as the input
/// does. `both` ships sources and pycs as before; `sourceless` ships a distribution's module
/// that has a pyc as `x.pyc` in its place (Python loads it, compiling nothing), a module
/// without a pyc and the user's handler as source; `source` ships no pyc.
#[test]
fn python_bytecode_modes_answer_the_same() {
    let (major, minor) = local_python();
    let runtime = format!("python{major}.{minor}");
    let tag = format!("cpython-{major}{minor}");
    let fixture = calc_with_pycs("bytecode-modes");
    let expected = run_python(
        &fixture.root,
        &[&fixture.root, &fixture.root.join("package")],
        "app",
        "handler",
    );
    assert_eq!(expected, "[5, 7, true]");

    let (both, entries, task) = build_bytecode(&fixture, "both", &["--runtime", &runtime]);
    assert_eq!(run_python(&task, &[&task], "app", "handler"), expected);
    assert!(entries.contains(&"calc/ops.py".to_string()));
    assert!(entries.contains(&format!("calc/__pycache__/ops.{tag}.pyc")));
    let (default, _, _) = build_bytecode(
        &fixture,
        "both-flag",
        &["--runtime", &runtime, "--python-bytecode", "both"],
    );
    assert_eq!(
        default["functions"][0]["sha256"],
        both["functions"][0]["sha256"]
    );

    let (report, entries, task) = build_bytecode(
        &fixture,
        "sourceless",
        &["--runtime", &runtime, "--python-bytecode", "sourceless"],
    );
    assert_eq!(run_python(&task, &[&task], "app", "handler"), expected);
    for (gone, shipped) in [
        ("calc/ops.py", "calc/ops.pyc"),
        ("calc/__init__.py", "calc/__init__.pyc"),
    ] {
        assert!(
            !entries.contains(&gone.to_string()),
            "{gone} ships: {entries:?}"
        );
        assert!(entries.contains(&shipped.to_string()), "{entries:?}");
    }
    assert!(
        !entries.iter().any(|entry| entry.contains("__pycache__/")),
        "{entries:?}"
    );
    // No pyc: the source ships. The user's handler keeps its source.
    assert!(
        entries.contains(&"calc/plain.py".to_string()),
        "{entries:?}"
    );
    assert!(entries.contains(&"app.py".to_string()), "{entries:?}");
    // The pyc in place has the rewritten header: unchecked-hash of the target Python.
    let pyc = fs_err::read(task.join("calc/ops.pyc")).unwrap();
    assert_eq!(u32::from_le_bytes(pyc[4..8].try_into().unwrap()), 1);
    let notes = report["functions"][0]["notes"].to_string();
    assert!(notes.contains("sourceless: 2 modules"), "{notes}");
    let verbose = Command::new("python3")
        .args([
            "-S",
            "-B",
            "-v",
            "-c",
            "import sys; sys.path.insert(0, '.'); import app; assert app.handler({}, None)[0] == 5",
        ])
        .current_dir(&task)
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&verbose.stderr);
    assert!(verbose.status.success(), "{log}");
    for module in ["calc/__init__.pyc", "calc/ops.pyc"] {
        let loaded = task.join(module).display().to_string();
        assert!(
            log.lines()
                .any(|line| line.starts_with("# code object from") && line.contains(&loaded)),
            "{module} was not loaded in place:\n{log}"
        );
    }
    // Same input, same bytes.
    let (again, _, _) = build_bytecode(
        &fixture,
        "sourceless-again",
        &["--runtime", &runtime, "--python-bytecode", "sourceless"],
    );
    assert_eq!(
        again["functions"][0]["sha256"],
        report["functions"][0]["sha256"]
    );

    let (report, entries, task) = build_bytecode(
        &fixture,
        "source",
        &["--runtime", &runtime, "--python-bytecode", "source"],
    );
    assert_eq!(run_python(&task, &[&task], "app", "handler"), expected);
    assert!(
        !entries.iter().any(|entry| entry.ends_with(".pyc")),
        "{entries:?}"
    );
    assert!(entries.contains(&"calc/ops.py".to_string()));
    let rules = report["functions"][0]["rules"].to_string();
    assert!(rules.contains("py/bytecode-source"), "{rules}");
}

/// `--python-bytecode sourceless` with `--compile`: the generated pycs go in place of their
/// sources too (not the user's, nor a source that does not compile); `--compile` with
/// `source` is a usage error.
#[test]
fn python_bytecode_sourceless_places_compiled_pycs() {
    let (major, minor) = local_python();
    let runtime = format!("python{major}.{minor}");
    let fixture = calc_without_pycs("bytecode-compile");
    let (_, entries, task) = build_bytecode(
        &fixture,
        "out",
        &[
            "--runtime",
            &runtime,
            "--compile",
            "--python-bytecode",
            "sourceless",
        ],
    );
    assert_eq!(run_python(&task, &[&task], "app", "handler"), "5");
    for shipped in [
        "calc/ops.pyc",
        "calc/__init__.pyc",
        "calc/template.py",
        "app.py",
    ] {
        assert!(
            entries.contains(&shipped.to_string()),
            "{shipped}: {entries:?}"
        );
    }
    assert!(!entries.contains(&"calc/ops.py".to_string()), "{entries:?}");
    assert!(
        entries.contains(&format!("__pycache__/app.cpython-{major}{minor}.pyc")),
        "{entries:?}"
    );

    let refused = fixture.lamina(&[
        "build",
        fixture.root.to_str().unwrap(),
        "--compile",
        "--python-bytecode",
        "source",
    ]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--python-bytecode source"));
}

/// `--python-bytecode sourceless` with shared layers: the distribution's pycs sit in place of
/// their sources under the layer's `python/`, and Python loads them from there.
#[test]
fn python_bytecode_sourceless_in_a_layer() {
    let fixture = Fixture::empty("a");
    for function in ["a", "b"] {
        crate::harness::write_file(
            &fixture.base.join(function).join("app.py"),
            "import calc\n\ndef handler(e, c):\n    return calc.add(2, 3)\n",
        );
        Dist::new("calc", "1.0")
            .module("calc", "from .ops import add\n")
            .file("calc/ops.py", "def add(a, b):\n    return a + b\n")
            .install(&fixture, &format!("../{function}/package"));
        compileall(&fixture.base.join(function).join("package"));
    }
    let (opt, task) = build_a_and_b_with_a_layer(&fixture, &["--python-bytecode", "sourceless"]);
    assert!(opt.join("python/calc/ops.pyc").is_file());
    assert!(opt.join("python/calc/__init__.pyc").is_file());
    assert!(!opt.join("python/calc/ops.py").exists());
    assert!(!opt.join("python/calc/__pycache__").exists());
    assert!(task.join("app.py").is_file());
    assert_eq!(
        run_python(&task, &[&task, &opt.join("python")], "app", "handler"),
        "5"
    );
}

/// A warm rebuild takes a rewritten pyc's header from the hash scan remembered of its source
/// and its digest from the writer's memo, keyed by the pyc's stamp and that header: a source
/// rewritten in place (same length and modification time, so its timestamp pyc still looks
/// valid) gives the header of the new source, as a build without the cache does.
#[test]
fn a_warm_rebuild_rewrites_pyc_headers_from_the_source_as_it_is_now() {
    let (major, minor) = local_python();
    let runtime = format!("python{major}.{minor}");
    let fixture = Fixture::empty("pycwarm");
    fixture.file(
        "app.py",
        "import calc\n\ndef handler(e, c):\n    return calc.VALUE\n",
    );
    Dist::new("calc", "1.0")
        .module("calc", "VALUE = 1\n")
        .install(&fixture, "package");
    let site = fixture.root.join("package");
    compileall(&site);
    // Files that changed in the last two seconds are never remembered: let them settle.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let args = ["--runtime", runtime.as_str()];
    let pyc = format!("calc/__pycache__/__init__.cpython-{major}{minor}.pyc");
    let header = |built: &crate::harness::Built| -> Vec<u8> {
        let bytes = fs_err::read(built.extract().join(&pyc)).unwrap();
        bytes[..16].to_vec()
    };
    let cold = fixture.build(&args);
    assert_eq!(cold.function()["rewritten_pycs"], 1);
    // Every build writes the same zip path: read what each one wrote before the next.
    let cold_header = header(&cold);
    let warm = fixture.build(&args);
    assert_eq!(warm.function()["packaging"]["left_in_place"], true);
    let (read, _) = crate::package::scan_cache(&cold);
    assert_eq!(crate::package::scan_cache(&warm), (0, read));
    assert_eq!(warm.function()["sha256"], cold.function()["sha256"]);

    let source = fs_err::read_to_string(site.join("calc/__init__.py")).unwrap();
    let edited = source.replace("VALUE = 1", "VALUE = 2");
    assert_eq!(edited.len(), source.len());
    fixture.rewrite_keeping_mtime("package/calc/__init__.py", &edited);
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let changed = fixture.build(&args);
    assert_eq!(changed.function()["rewritten_pycs"], 1, "still looks valid");
    let changed_header = header(&changed);
    assert_ne!(changed_header, cold_header);
    assert_eq!(changed.function()["packaging"]["left_in_place"], false);
    let again = fixture.build(&args);
    assert_eq!(again.function()["packaging"]["left_in_place"], true);
    let uncached = fixture.build(&[&args[..], &["--no-cache"]].concat());
    assert_eq!(changed.function()["sha256"], uncached.function()["sha256"]);
    assert_eq!(again.function()["sha256"], uncached.function()["sha256"]);
    assert_eq!(changed_header, header(&uncached));
    // The header is CPython's for the source as it is now.
    assert_eq!(
        hex::encode(&changed_header),
        expected_unchecked_header(&site.join("calc/__init__.py"))
    );
}

/// Scan remembers what each unchanged `.py` file imports, by its stamp (issue 17, warm
/// rebuilds): a rebuild parses none of them, and a file changed in place (same length and
/// modification time) is read again, with what it now imports.
#[test]
fn a_warm_python_scan_parses_no_unchanged_file_and_sees_every_change() {
    // invariant: same-bytes
    let fixture = Fixture::empty("pywarm");
    fixture.file(
        "lambda_function.py",
        "import helper\n\ndef lambda_handler(event, context):\n    return helper.NAME\n",
    );
    let (before, after) = (
        "import alpha\nNAME = alpha.NAME\n",
        "import beta #\nNAME = beta.NAME\n",
    );
    assert_eq!(before.len(), after.len());
    fixture.file("helper.py", before);
    Dist::new("alpha", "1.0")
        .module("alpha", "")
        .install(&fixture, "package");
    Dist::new("beta", "1.0")
        .module("beta", "")
        .install(&fixture, "package");
    // Files that changed in the last two seconds are never remembered: let them settle.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let args = ["--runtime", "python3.12"];
    let counts = crate::package::scan_cache;
    let cold = fixture.build(&args);
    let (read, reused) = counts(&cold);
    // lambda_function.py, helper.py, alpha/__init__.py and beta/__init__.py at least.
    assert!(read >= 4 && reused == 0, "{read} read, {reused} reused");
    assert_eq!(cold.package("alpha-1.0.dist-info")["status"], "kept");
    assert_eq!(cold.package("beta-1.0.dist-info")["status"], "dropped");
    let warm = fixture.build(&args);
    assert_eq!(counts(&warm), (0, read));
    assert_eq!(warm.function()["sha256"], cold.function()["sha256"]);
    assert_eq!(warm.function()["packages"], cold.function()["packages"]);

    fixture.rewrite_keeping_mtime("helper.py", after);
    let changed = fixture.build(&args);
    assert_eq!(counts(&changed), (1, read - 1));
    assert_eq!(changed.package("alpha-1.0.dist-info")["status"], "dropped");
    assert_eq!(changed.package("beta-1.0.dist-info")["status"], "kept");
    let uncached = fixture.build(&[&args[..], &["--no-cache"]].concat());
    assert_eq!(counts(&uncached), (read, 0));
    assert_eq!(changed.function()["sha256"], uncached.function()["sha256"]);
    assert_eq!(
        changed.function()["packages"],
        uncached.function()["packages"]
    );
}
