//! The GitHub Action (`action.yml`): its build step (`action/run.sh`) run here as GitHub runs
//! it, with the variables GitHub sets (`GITHUB_STEP_SUMMARY`, `GITHUB_OUTPUT`, the inputs):
//! the Markdown report lands in the job summary, the outputs are set, and lamina's exit code
//! passes through — 0, 1 for a zip that fails a check, 2 for bad input.

use std::path::Path;
use std::process::Command;

use fs_err as fs;

/// Runs the step on `path` with `args`; returns its exit code, the job summary and the outputs.
fn run_step(work: &Path, path: &Path, args: &str) -> (i32, String, String) {
    let summary = work.join("summary.md");
    let outputs = work.join("outputs.txt");
    let output = Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("action/run.sh"))
        .current_dir(work)
        .env("LAMINA", assert_cmd::cargo::cargo_bin("lamina"))
        .env(
            "LAMINA_CACHE_DIR",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("lamina-cache"),
        )
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_OUTPUT", &outputs)
        .env("INPUT_PATH", path)
        .env("INPUT_OUT", work.join("out"))
        .env("INPUT_ARGS", args)
        .output()
        .expect("run action/run.sh");
    let read = |file: &Path| fs::read_to_string(file).unwrap_or_default();
    (
        output.status.code().unwrap(),
        read(&summary),
        read(&outputs),
    )
}

#[test]
fn the_actions_build_step_reports_to_the_job_summary_and_passes_the_exit_code() {
    // 0: the summary holds the report's tables; the outputs name the report.
    let fixture = crate::reports::orders();
    let work = tempfile::tempdir().unwrap();
    let (code, summary, outputs) = run_step(work.path(), &fixture.root, "--shake files");
    assert_eq!(code, 0, "{summary}");
    assert!(
        summary.contains("| ") && summary.contains("orders"),
        "{summary}"
    );
    assert!(outputs.contains("exit-code=0\n"), "{outputs}");
    let report = outputs
        .lines()
        .find_map(|line| line.strip_prefix("report="))
        .unwrap();
    let parsed: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(report).unwrap()).unwrap();
    assert_eq!(parsed["functions"][0]["shake"], "files");

    // 1: a Mach-O addon fails the build; the summary says which finding.
    let native = crate::check::macho_addon_fixture();
    let work = tempfile::tempdir().unwrap();
    let (code, summary, outputs) = run_step(work.path(), &native.root, "");
    assert_eq!(code, 1, "{summary}");
    assert!(summary.contains("native/macho"), "{summary}");
    assert!(outputs.contains("exit-code=1\n"), "{outputs}");

    // 2: bad input writes nothing; the summary says so.
    let work = tempfile::tempdir().unwrap();
    let (code, summary, outputs) = run_step(work.path(), &work.path().join("missing"), "");
    assert_eq!(code, 2);
    assert!(summary.contains("bad input"), "{summary}");
    assert!(
        outputs.contains("exit-code=2\n") && outputs.contains("report=\n"),
        "{outputs}"
    );
    assert!(!work.path().join("out").exists());
}

/// `action.yml` is a composite action whose build step runs `action/run.sh` with every input
/// passed as the variable the script reads, and whose outputs are the step's.
#[test]
fn action_yml_wires_the_inputs_and_outputs_of_the_build_step() {
    let text =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("action.yml")).unwrap();
    let action: serde_json::Value = serde_saphyr::from_str(&text).expect("action.yml is YAML");
    assert_eq!(action["runs"]["using"], "composite");
    let steps = action["runs"]["steps"].as_array().unwrap();
    let build = steps.iter().find(|step| step["id"] == "build").unwrap();
    assert!(
        build["run"]
            .as_str()
            .unwrap()
            .contains("$GITHUB_ACTION_PATH/action/run.sh")
    );
    let script =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("action/run.sh")).unwrap();
    for (input, variable) in [
        ("path", "INPUT_PATH"),
        ("out", "INPUT_OUT"),
        ("args", "INPUT_ARGS"),
    ] {
        assert!(action["inputs"][input].is_object(), "no input {input}");
        assert_eq!(
            build["env"][variable],
            format!("${{{{ inputs.{input} }}}}"),
            "{variable}"
        );
        assert!(script.contains(variable), "run.sh does not read {variable}");
    }
    for output in ["exit-code", "report", "out"] {
        assert_eq!(
            action["outputs"][output]["value"],
            format!("${{{{ steps.build.outputs.{output} }}}}")
        );
        assert!(
            script.contains(&format!("{output}=")),
            "run.sh does not set {output}"
        );
    }
}
