//! Snapshots of the reports a person reads (text and Markdown) for a small Node function: a
//! change to what they say shows up as a diff to review (`cargo insta review`).

use serde_json::json;

use crate::harness::Fixture;

/// A function with a production dependency, an unused one, a dev tool and some junk.
pub(crate) fn orders() -> Fixture {
    let fixture = Fixture::new(
        "orders",
        json!({
            "name": "orders",
            "dependencies": { "ms": "2.1.3", "left-pad": "1.3.0" },
            "devDependencies": { "jest-lite": "1.0.0" }
        }),
    );
    fixture
        .file(
            "index.js",
            "const ms = require('ms');\nexports.handler = async () => ms[0];\n",
        )
        .file("README.md", "# orders\n")
        .package("node_modules/ms", "ms", "2.1.3", &[])
        .file("node_modules/ms/readme.md", &"ms\n".repeat(400))
        .package("node_modules/left-pad", "left-pad", "1.3.0", &[])
        .package("node_modules/jest-lite", "jest-lite", "1.0.0", &[]);
    fixture
}

/// The report as printed, with the fixture's temporary folder as `[base]`.
fn printed(fixture: &Fixture, args: &[&str]) -> String {
    let output = fixture.lamina(args);
    assert!(
        output.status.code().is_some_and(|code| code < 2),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).replace(&fixture.base.display().to_string(), "[base]")
}

#[test]
fn the_text_report_of_a_build() {
    let fixture = orders();
    insta::assert_snapshot!(printed(&fixture, &["build", "orders", "--out", "out"]));
}

#[test]
fn the_markdown_report_of_a_build() {
    let fixture = orders();
    insta::assert_snapshot!(printed(
        &fixture,
        &["build", "orders", "--out", "out", "--format", "markdown"]
    ));
}

#[test]
fn the_text_report_of_a_scan() {
    let fixture = orders();
    insta::assert_snapshot!(printed(&fixture, &["scan", "orders"]));
}

/// `code_sha256` is the zip's SHA-256 in base64, as Lambda's `CodeSha256` and Terraform's
/// `filebase64sha256` give it: computed here by Python's hashlib, not lamina's code.
#[test]
fn code_sha256_is_what_lambda_and_terraform_compare() {
    let fixture = orders();
    let built = fixture.build(&[]);
    assert_eq!(built.code, 0);
    let python = std::process::Command::new("python3")
        .args([
            "-c",
            "import base64, hashlib, sys; print(base64.b64encode(hashlib.sha256(open(sys.argv[1], 'rb').read()).digest()).decode())",
        ])
        .arg(&built.zip)
        .output()
        .expect("python3");
    assert!(
        python.status.success(),
        "{}",
        String::from_utf8_lossy(&python.stderr)
    );
    let expected = String::from_utf8(python.stdout).unwrap();
    assert_eq!(built.function()["code_sha256"], expected.trim());
}
