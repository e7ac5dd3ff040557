//! The report of `lamina check`: the same versioned wire format as `scan` and `build`
//! (`schema_version` 1, `docs/report-format.md`), with a function and a layer object made for
//! zips lamina did not build, and its human rendering grouped by artifact.

use std::fmt::Write as _;

use serde::Serialize;

use crate::model::{Finding, LimitResult, Severity, Upload};
use crate::report::{SCHEMA_VERSION, human_bytes};
use crate::verify::any_error;
use crate::verify::findings::LISTED_PER_KIND;

/// Findings of one id shown per artifact in the human summary; `--json` lists up to
/// `findings::LISTED_PER_KIND`.
const SHOWN_PER_ID: usize = 10;

#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub schema_version: u32,
    /// `check`.
    pub command: &'static str,
    /// No finding of severity `error`, in any function or layer.
    pub ok: bool,
    pub functions: Vec<CheckedFunction>,
    pub layers: Vec<CheckedLayer>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckedFunction {
    /// The zip's file name without `.zip`.
    pub name: String,
    /// The zip, as given on the command line.
    pub artifact: String,
    pub sha256: String,
    /// The runtime checked against; `None` when it was neither given nor inferable.
    pub runtime: Option<String>,
    /// `flag`, or what it was inferred from.
    pub runtime_source: String,
    pub arch: &'static str,
    pub handler: Option<String>,
    pub upload: Upload,
    pub zipped_bytes: u64,
    /// The function's own zip, from its central directory.
    pub unzipped_bytes: u64,
    /// The function plus every layer: what Lambda's unzipped limit applies to.
    pub total_unzipped_bytes: u64,
    pub entries: usize,
    /// Layer names, in attach order.
    pub layers: Vec<String>,
    pub limits: Vec<LimitResult>,
    pub findings: Vec<Finding>,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckedLayer {
    pub name: String,
    pub artifact: String,
    pub sha256: String,
    pub zipped_bytes: u64,
    pub unzipped_bytes: u64,
    pub entries: usize,
    /// The functions it is attached to.
    pub functions: Vec<String>,
    pub limits: Vec<LimitResult>,
    pub findings: Vec<Finding>,
}

impl CheckReport {
    pub fn new(functions: Vec<CheckedFunction>, layers: Vec<CheckedLayer>) -> CheckReport {
        let ok = !functions
            .iter()
            .map(|function| &function.findings)
            .chain(layers.iter().map(|layer| &layer.findings))
            .any(|findings| any_error(findings));
        CheckReport {
            schema_version: SCHEMA_VERSION,
            command: "check",
            ok,
            functions,
            layers,
        }
    }

    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("the report serializes");
        text.push('\n');
        text
    }

    /// Markdown for a CI job summary or a pull-request comment: one table of limits per
    /// artifact, one of findings, and the verdict.
    pub fn to_markdown(&self) -> String {
        let cell = |text: &str| text.replace('|', "\\|").replace('\n', " ");
        let mut out = String::from("## lamina check\n");
        let artifacts = self
            .functions
            .iter()
            .map(|function| {
                (
                    format!("function `{}`", function.name),
                    &function.limits,
                    &function.findings,
                )
            })
            .chain(self.layers.iter().map(|layer| {
                (
                    format!("layer `{}`", layer.name),
                    &layer.limits,
                    &layer.findings,
                )
            }));
        for (title, limits, findings) in artifacts {
            let _ = writeln!(
                out,
                "\n### {title}\n\n| limit | actual | allowed | |\n|---|---:|---:|---|"
            );
            for limit in limits {
                let verdict = if limit.ok { "ok" } else { "**exceeded**" };
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {verdict} |",
                    limit.id, limit.actual, limit.limit
                );
            }
            if findings.is_empty() {
                let _ = writeln!(out, "\nNo findings.");
                continue;
            }
            let _ = writeln!(
                out,
                "\n| severity | finding | entry | message | fix |\n|---|---|---|---|---|"
            );
            for finding in findings {
                let _ = writeln!(
                    out,
                    "| {:?} | `{}` | {} | {} | {} |",
                    finding.severity,
                    finding.id,
                    cell(finding.entry.as_deref().unwrap_or("")),
                    cell(&finding.message),
                    cell(finding.fix)
                );
            }
        }
        let _ = writeln!(
            out,
            "\n**{}**",
            if self.ok {
                "ok: no finding is an error"
            } else {
                "FAILED: a finding is an error"
            }
        );
        out
    }

    /// Findings grouped by artifact, each with its severity, id, entry and what to do.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for function in &self.functions {
            let runtime = function.runtime.as_deref().unwrap_or("runtime unknown");
            let _ = writeln!(
                out,
                "function {} ({})\n  {runtime} ({}), {}, {} upload",
                function.name,
                function.artifact,
                function.runtime_source,
                function.arch,
                match function.upload {
                    Upload::Direct => "direct",
                    Upload::S3 => "S3",
                }
            );
            let _ = writeln!(
                out,
                "  zipped {}, unzipped {}, {}",
                human_bytes(function.zipped_bytes),
                human_bytes(function.unzipped_bytes),
                entries(function.entries)
            );
            if !function.layers.is_empty() {
                let _ = writeln!(
                    out,
                    "  layers {} (with them: {} unzipped)",
                    function.layers.join(", "),
                    human_bytes(function.total_unzipped_bytes)
                );
            }
            render_limits(&mut out, &function.limits);
            render_findings(&mut out, &function.findings);
            for note in &function.notes {
                let _ = writeln!(out, "  note: {note}");
            }
            let _ = writeln!(out);
        }
        for layer in &self.layers {
            let _ = writeln!(out, "layer {} ({})", layer.name, layer.artifact);
            let _ = writeln!(
                out,
                "  zipped {}, unzipped {}, {}",
                human_bytes(layer.zipped_bytes),
                human_bytes(layer.unzipped_bytes),
                entries(layer.entries)
            );
            render_limits(&mut out, &layer.limits);
            render_findings(&mut out, &layer.findings);
            let _ = writeln!(out);
        }
        let all = || {
            self.functions
                .iter()
                .flat_map(|function| &function.findings)
                .chain(self.layers.iter().flat_map(|layer| &layer.findings))
        };
        let errors = all()
            .filter(|finding| finding.severity == Severity::Error)
            .count();
        let warnings = all().count() - errors;
        let _ = if self.ok {
            writeln!(out, "ok: no errors, {warnings} warnings")
        } else {
            writeln!(
                out,
                "FAILED: {errors} errors, {warnings} warnings (see above)"
            )
        };
        out
    }
}

fn render_limits(out: &mut String, limits: &[LimitResult]) {
    let _ = writeln!(out, "  limits");
    for limit in limits {
        let verdict = match (limit.ok, limit.severity) {
            (true, _) => "ok",
            (false, Severity::Error) => "FAILED",
            (false, Severity::Warning) => "warning",
        };
        let (actual, limit_text) = if limit.id == "layers" {
            (limit.actual.to_string(), limit.limit.to_string())
        } else {
            (human_bytes(limit.actual), human_bytes(limit.limit))
        };
        let _ = writeln!(
            out,
            "    {:<15} {actual:>10} of {limit_text:>10}  {verdict}",
            limit.id.replace('_', " ")
        );
    }
}

/// `1 entry`, `3 entries`.
fn entries(count: usize) -> String {
    if count == 1 {
        "1 entry".to_string()
    } else {
        format!("{count} entries")
    }
}

/// Renders findings (sorted by entry) grouped by id, at most `SHOWN_PER_ID` of each.
pub fn render_findings(out: &mut String, findings: &[Finding]) {
    if findings.is_empty() {
        let _ = writeln!(out, "  findings: none");
        return;
    }
    let _ = writeln!(out, "  findings");
    let mut ids: Vec<&str> = findings.iter().map(|finding| finding.id).collect();
    ids.sort_unstable();
    ids.dedup();
    // Errors before warnings, then by id.
    ids.sort_by_key(|id| {
        let severity = findings
            .iter()
            .find(|finding| finding.id == *id)
            .map(|finding| finding.severity);
        (severity != Some(Severity::Error), *id)
    });
    for id in ids {
        let group: Vec<&Finding> = findings.iter().filter(|finding| finding.id == id).collect();
        let first = group[0];
        let severity = match first.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let _ = writeln!(out, "    {severity:<7} {id}");
        for finding in group.iter().take(SHOWN_PER_ID) {
            match &finding.entry {
                Some(entry) => {
                    let _ = writeln!(out, "      {entry}: {}", finding.message);
                }
                None => {
                    let _ = writeln!(out, "      {}", finding.message);
                }
            }
        }
        if group.len() > SHOWN_PER_ID {
            let _ = writeln!(
                out,
                "      ... and {} more (--json lists up to {LISTED_PER_KIND} of each)",
                group.len() - SHOWN_PER_ID
            );
        }
        let _ = writeln!(out, "      fix: {}", first.fix);
    }
}
