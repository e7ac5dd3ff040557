//! Rendering the report: JSON, the human summary and Markdown. `scan` and `build` show each
//! function's sizes, classes, rules and limits; `check` groups findings by artifact.

use std::fmt::Write as _;

use super::{FunctionReport, PackageReport, Report, Slimming};
use crate::model::{Finding, LimitResult, PackageClass, Severity, Upload, human_bytes};
use crate::verify::findings::LISTED_PER_KIND;

/// Findings of one id shown per artifact in the human summary; `--json` lists up to
/// `findings::LISTED_PER_KIND`.
const SHOWN_PER_ID: usize = 10;

impl Report {
    /// With `--shake files`, a Markdown table of the five largest packages per function that
    /// `why` (of their trace report) says something of: `kept whole`, `kept partly`.
    fn trace_table(
        &self,
        out: &mut String,
        kept: &str,
        why: impl Fn(&super::TraceReport) -> Option<&str>,
    ) {
        let rows: Vec<(&str, &PackageReport, &str)> = self
            .functions
            .iter()
            .flat_map(|function| {
                let why = &why;
                function.slimming.iter().flat_map(move |slimming| {
                    largest_kept(slimming, |trace| why(trace).is_some())
                        .into_iter()
                        .map(move |package| {
                            let reason = package.trace.as_ref().and_then(why).unwrap_or("");
                            (function.name.as_str(), package, reason)
                        })
                })
            })
            .collect();
        if rows.is_empty() {
            return;
        }
        let _ = writeln!(
            out,
            "\n| function | {kept} (`--shake files`) | bytes | why |\n|---|---|---:|---|"
        );
        for (function, package, reason) in rows {
            let _ = writeln!(
                out,
                "| {} | {}@{} | {} | {} |",
                markdown_cell(function),
                markdown_cell(&package.name),
                markdown_cell(&package.version),
                package.kept_bytes,
                markdown_cell(reason)
            );
        }
    }

    /// The whole report as Markdown tables, for a CI job summary or a pull-request comment.
    /// (`check`: one table of limits and one of findings per artifact, and the verdict.)
    pub fn to_markdown(&self) -> String {
        if self.command == "check" {
            return self.check_markdown();
        }
        if self.command == "stack" {
            let verdict = if self.ok { "ok" } else { "FAILED" };
            let mut out = format!("## lamina stack: {verdict}\n");
            stacks_markdown(&mut out, &self.stacks);
            return out;
        }
        let mut out = String::new();
        let verdict = if self.ok { "ok" } else { "FAILED" };
        let _ = writeln!(out, "## lamina {}: {verdict}\n", self.command);
        let _ = writeln!(
            out,
            "| function | runtime | arch | zipped | unzipped | with layers | layers | limits |"
        );
        let _ = writeln!(out, "|---|---|---|---:|---:|---:|---|---|");
        for function in &self.functions {
            let failed: Vec<String> = function
                .limits
                .iter()
                .filter(|limit| !limit.ok)
                .map(|limit| format!("{} {} > {}", limit.id, limit.actual, limit.limit))
                .collect();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                markdown_cell(&function.name),
                function.runtime.as_deref().unwrap_or("unknown"),
                function.arch,
                function
                    .zipped_bytes
                    .map_or("-".to_string(), |bytes| bytes.to_string()),
                function.unzipped_bytes,
                function
                    .total_unzipped_bytes
                    .map_or("-".to_string(), |bytes| bytes.to_string()),
                markdown_cell(&function.layers.join(", ")),
                if failed.is_empty() {
                    "ok".to_string()
                } else {
                    markdown_cell(&failed.join("; "))
                }
            );
        }
        self.trace_table(&mut out, "kept whole", |trace| trace.reason.as_deref());
        self.trace_table(&mut out, "kept partly", |trace| {
            trace.partly.first().map(String::as_str)
        });
        if !self.layers.is_empty() {
            let _ = writeln!(
                out,
                "\n| layer | zipped | unzipped | saved | packages | functions |"
            );
            let _ = writeln!(out, "|---|---:|---:|---:|---|---|");
            for layer in &self.layers {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} | {} |",
                    markdown_cell(&layer.name),
                    layer.zipped_bytes,
                    layer.unzipped_bytes,
                    layer
                        .planned
                        .as_ref()
                        .map_or(0, |planned| planned.saved_bytes),
                    markdown_cell(
                        &layer
                            .planned
                            .as_ref()
                            .map_or(String::new(), |planned| planned.packages.join(", "))
                    ),
                    markdown_cell(&layer.functions.join(", "))
                );
            }
        }
        if self.command == "build" {
            let _ = writeln!(
                out,
                "\nDeployed: {} bytes in all zips.",
                self.deployed_bytes.unwrap_or(0)
            );
        }
        let findings: Vec<(&str, &crate::model::Finding)> = self
            .functions
            .iter()
            .flat_map(|function| {
                function
                    .findings
                    .iter()
                    .map(move |f| (function.name.as_str(), f))
            })
            .chain(
                self.layers
                    .iter()
                    .flat_map(|layer| layer.findings.iter().map(move |f| (layer.name.as_str(), f))),
            )
            .collect();
        if !findings.is_empty() {
            let _ = writeln!(out, "\n| artifact | finding | severity | message |");
            let _ = writeln!(out, "|---|---|---|---|");
            for (artifact, finding) in findings {
                let _ = writeln!(
                    out,
                    "| {} | {} | {:?} | {} |",
                    markdown_cell(artifact),
                    finding.id,
                    finding.severity,
                    markdown_cell(&finding.message)
                );
            }
        }
        stacks_markdown(&mut out, &self.stacks);
        out
    }

    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("the report serializes");
        text.push('\n');
        text
    }

    /// The human summary: sizes before and after, what went by class and rule, each limit.
    /// (`check`: the findings grouped by artifact, each with its severity, id, entry and fix.)
    pub fn to_text(&self) -> String {
        if self.command == "check" {
            return self.check_text();
        }
        let mut out = String::new();
        for function in &self.functions {
            if let Some(slimming) = &function.slimming {
                render_function(&mut out, self.command, function, slimming);
            }
        }
        for layer in &self.layers {
            let _ = writeln!(
                out,
                "layer {} ({} zipped, {} unzipped, saves {})\n  packages: {}\n  functions: {}",
                layer.name,
                human_bytes(layer.zipped_bytes),
                human_bytes(layer.unzipped_bytes),
                human_bytes(
                    layer
                        .planned
                        .as_ref()
                        .map_or(0, |planned| planned.saved_bytes)
                ),
                layer
                    .planned
                    .as_ref()
                    .map_or(String::new(), |planned| planned.packages.join(", ")),
                layer.functions.join(", ")
            );
            render_findings(&mut out, &layer.findings);
            let _ = writeln!(out);
        }
        render_stacks(&mut out, &self.stacks);
        let verdict = if self.command == "stack" && self.ok {
            "ok: every stack is within CloudFormation's resource limit".to_string()
        } else if self.ok {
            "ok: every artifact is within Lambda's limits".to_string()
        } else {
            format!("FAILED: {} (see above)", self.failures().join("; "))
        };
        let _ = writeln!(out, "{verdict}");
        out
    }

    /// What made the report fail, one phrase per function or layer: the limits exceeded, the
    /// error findings' ids, a failed smoke test.
    pub fn failures(&self) -> Vec<String> {
        let mut failures = Vec::new();
        for stack in self.stacks.iter().filter(|stack| !stack.ok()) {
            failures.push(format!("{}: {}", stack.template, stack.message));
        }
        for function in &self.functions {
            let mut what = Vec::new();
            let limits: Vec<&str> = function
                .limits
                .iter()
                .filter(|limit| !limit.ok && limit.severity != Severity::Warning)
                .map(|limit| limit.id)
                .collect();
            if !limits.is_empty() {
                what.push(format!("exceeds the {} limit", limits.join(", ")));
            }
            let ids = error_ids(&function.findings);
            if !ids.is_empty() {
                what.push(format!("check {} failed", ids.join(", ")));
            }
            if function
                .slimming
                .as_ref()
                .and_then(|slimming| slimming.smoke.as_ref())
                .is_some_and(|smoke| !smoke.ok)
            {
                what.push("the smoke test failed".to_string());
            }
            if !what.is_empty() {
                failures.push(format!("{} {}", function.name, what.join(", ")));
            }
        }
        for layer in &self.layers {
            let ids = error_ids(&layer.findings);
            if !ids.is_empty() {
                failures.push(format!(
                    "layer {}: check {} failed",
                    layer.name,
                    ids.join(", ")
                ));
            }
        }
        if failures.is_empty() {
            failures.push("a limit is exceeded or a check failed".to_string());
        }
        failures
    }

    /// Markdown for a CI job summary or a pull-request comment: one table of limits per
    /// artifact, one of findings, and the verdict.
    fn check_markdown(&self) -> String {
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
    fn check_text(&self) -> String {
        let mut out = String::new();
        for function in &self.functions {
            let runtime = function.runtime.as_deref().unwrap_or("runtime unknown");
            let _ = writeln!(
                out,
                "function {} ({})\n  {runtime} ({}), {}, {} upload",
                function.name,
                function.artifact.as_deref().unwrap_or(""),
                function.runtime_source,
                function.arch,
                match function.upload {
                    Some(Upload::S3) => "S3",
                    _ => "direct",
                }
            );
            let _ = writeln!(
                out,
                "  zipped {}, unzipped {}, {}",
                human_bytes(function.zipped_bytes.unwrap_or(0)),
                human_bytes(function.unzipped_bytes),
                entries(function.entries.unwrap_or(0))
            );
            if !function.layers.is_empty() {
                let _ = writeln!(
                    out,
                    "  layers {} (with them: {} unzipped)",
                    function.layers.join(", "),
                    human_bytes(function.total_unzipped_bytes.unwrap_or(0))
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
            let _ = writeln!(
                out,
                "layer {} ({}){}",
                layer.name,
                layer.artifact,
                in_place_mark(layer.planned.as_ref().map(|planned| &planned.packaging))
            );
            let _ = writeln!(
                out,
                "  zipped {}, unzipped {}, {}",
                human_bytes(layer.zipped_bytes),
                human_bytes(layer.unzipped_bytes),
                entries(layer.entries.unwrap_or(0))
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

/// The ids of the findings that are errors, each once, in order.
fn error_ids(findings: &[crate::model::Finding]) -> Vec<&'static str> {
    let mut ids: Vec<&'static str> = findings
        .iter()
        .filter(|finding| finding.severity == Severity::Error)
        .map(|finding| finding.id)
        .collect();
    ids.dedup();
    ids
}

/// The smoke section: the verdict, the error's last lines (where the exception is), notes.
fn render_smoke(out: &mut String, smoke: &crate::smoke::SmokeReport) {
    let verdict = match (smoke.outcome, smoke.invoked) {
        ("passed", false) => "ok: the handler loads".to_string(),
        ("passed", true) => format!(
            "ok: the handler loads and answered the event: {}",
            shorten(smoke.result.as_deref().unwrap_or("null"), 160)
        ),
        ("inconclusive", _) => {
            "inconclusive: the unslimmed input fails the same way, so this is not the artifact's doing"
                .to_string()
        }
        _ => "FAILED: the artifact fails where the unslimmed input does not".to_string(),
    };
    let _ = writeln!(out, "\n  smoke ({}): {verdict}", smoke.interpreter);
    if let Some(summary) = &smoke.summary {
        let _ = writeln!(out, "    error: {}", shorten(summary, 300));
        for line in &smoke.excerpt {
            let _ = writeln!(out, "      {}", shorten(line.trim(), 200));
        }
    }
    for note in &smoke.notes {
        let _ = writeln!(out, "    note: {note}");
    }
}

/// With `--shake files`: the five largest packages shipped whole, largest first.
fn kept_whole(slimming: &Slimming) -> Vec<&PackageReport> {
    largest_kept(slimming, |trace| trace.mode == "whole")
}

/// The five largest kept packages whose trace report `matches`, largest first.
fn largest_kept(
    slimming: &Slimming,
    matches: impl Fn(&super::TraceReport) -> bool,
) -> Vec<&PackageReport> {
    let mut found: Vec<&PackageReport> = slimming
        .packages
        .iter()
        .filter(|package| package.status == "kept" && package.trace.as_ref().is_some_and(&matches))
        .collect();
    found.sort_by(|a, b| b.kept_bytes.cmp(&a.kept_bytes).then(a.path.cmp(&b.path)));
    found.truncate(5);
    found
}

/// `1 package`, `3 packages`.
fn count(number: usize, noun: &str) -> String {
    if number == 1 {
        format!("1 {noun}")
    } else {
        format!("{number} {noun}s")
    }
}

/// `text` cut to `most` characters, with an ellipsis.
fn shorten(text: &str, most: usize) -> String {
    if text.chars().count() <= most {
        return text.to_string();
    }
    let cut: String = text.chars().take(most).collect();
    cut + "…"
}

/// Text safe inside a Markdown table cell.
fn markdown_cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// What follows a zip's path when the build left the zip already there as it was.
fn in_place_mark(packaging: Option<&crate::model::PackageStats>) -> &'static str {
    if packaging.is_some_and(|packaging| packaging.left_in_place) {
        "  (unchanged: left in place)"
    } else {
        ""
    }
}

fn render_function(
    out: &mut String,
    command: &str,
    function: &FunctionReport,
    slimming: &Slimming,
) {
    let _ = writeln!(
        out,
        "{} ({}, {}, handler {} -> {})",
        function.name,
        function.runtime.as_deref().unwrap_or("unknown"),
        function.arch,
        function.handler.as_deref().unwrap_or(""),
        slimming.handler_file
    );
    let _ = writeln!(
        out,
        "  input      {:>10}  {}",
        human_bytes(slimming.input_bytes),
        count(slimming.input_files, "file")
    );
    let _ = writeln!(
        out,
        "  kept       {:>10}  {} (unzipped)",
        human_bytes(function.unzipped_bytes),
        count(slimming.kept_files, "file")
    );
    let zipped = match (function.zipped_bytes, slimming.projected_zipped_bytes) {
        (Some(zipped), _) => {
            let _ = writeln!(
                out,
                "  zipped     {:>10}  {}{}",
                human_bytes(zipped),
                function.artifact.as_deref().unwrap_or(""),
                in_place_mark(slimming.packaging.as_ref())
            );
            Some((zipped, ""))
        }
        (None, Some(projected)) => {
            let _ = writeln!(
                out,
                "  zipped   ~ {:>10}  (an estimate; `lamina build` measures it)",
                human_bytes(projected)
            );
            Some((projected, "~"))
        }
        _ => None,
    };
    if let Some((zipped, about)) = zipped
        && slimming.input_bytes > 0
    {
        let saved = slimming.input_bytes.saturating_sub(zipped);
        let share = if saved > 0 {
            format!(
                "-{:.0} %",
                saved as f64 * 100.0 / slimming.input_bytes as f64
            )
        } else {
            "no smaller: zip headers outweigh so few bytes".to_string()
        };
        let _ = writeln!(
            out,
            "  saved    {about:>1} {:>10}  input {} -> zip {about}{} ({share})",
            human_bytes(saved),
            human_bytes(slimming.input_bytes),
            human_bytes(zipped),
        );
    }
    if slimming.classes.iter().any(|class| class.packages > 0) {
        let _ = writeln!(out, "\n  packages by class (installed -> ships)");
    }
    for class in &slimming.classes {
        if class.packages == 0 {
            continue;
        }
        let members = slimming
            .packages
            .iter()
            .filter(|package| package.class == class.class);
        let (mut ships, mut in_layers) = (0u64, 0usize);
        for package in members {
            match package.status {
                "kept" => ships += package.kept_bytes,
                "layer" => in_layers += 1,
                _ => {}
            }
        }
        let mut status = if ships > 0 {
            format!("{} ships", human_bytes(ships))
        } else {
            "dropped".to_string()
        };
        if class.class == PackageClass::RuntimeProvided && ships > 0 {
            status.push_str(" (--drop-runtime-sdk drops it)");
        }
        if in_layers > 0 {
            status.push_str(&format!(", {} in layers", count(in_layers, "package")));
        }
        let _ = writeln!(
            out,
            "    {:<17} {:<12} {:>10} -> {}",
            class.class.label(),
            count(class.packages, "package"),
            human_bytes(class.bytes),
            status
        );
    }
    if !slimming.rules.is_empty() {
        let _ = writeln!(out, "\n  junk rules");
        for rule in &slimming.rules {
            let _ = writeln!(
                out,
                "    {:<28} {:<9} {:>10}",
                rule.rule,
                count(rule.files, "file"),
                human_bytes(rule.bytes)
            );
        }
    }
    let mut biggest: Vec<&PackageReport> = slimming.packages.iter().collect();
    biggest.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.path.cmp(&b.path)));
    if !biggest.is_empty() {
        let _ = writeln!(out, "\n  biggest packages");
        for package in biggest.iter().take(10) {
            let _ = writeln!(
                out,
                "    {:<40} {:>10}  {:<7} {}",
                shorten(&format!("{}@{}", package.name, package.version), 40),
                human_bytes(package.bytes),
                package.status,
                shorten(&package.reason, 100)
            );
        }
    }
    let whole = kept_whole(slimming);
    if !whole.is_empty() {
        let _ = writeln!(
            out,
            "\n  kept whole (the tracer cannot follow how they load files or code)"
        );
        for package in whole {
            let why = package
                .trace
                .as_ref()
                .and_then(|trace| trace.reason.as_deref())
                .unwrap_or("");
            let _ = writeln!(
                out,
                "    {:<32} {:>10}  {}",
                shorten(&format!("{}@{}", package.name, package.version), 32),
                human_bytes(package.kept_bytes),
                shorten(why, 100)
            );
        }
    }
    for note in &function.notes {
        let _ = writeln!(out, "\n  note: {}", shorten(note, 400));
    }
    if let Some(smoke) = &slimming.smoke {
        render_smoke(out, smoke);
    }
    for warning in &slimming.warnings {
        let _ = writeln!(out, "  warning: {warning}");
    }
    if !function.layers.is_empty() {
        let _ = writeln!(
            out,
            "\n  layers (attach in this order): {}",
            function.layers.join(", ")
        );
    }
    let _ = writeln!(out);
    render_limits(out, &function.limits);
    if command == "build" {
        render_findings(out, &function.findings);
    }
    let _ = writeln!(out);
}

/// Each limit with its measure, the limit and the verdict.
fn render_limits(out: &mut String, limits: &[LimitResult]) {
    let _ = writeln!(out, "  limits");
    for limit in limits {
        let verdict = match (limit.ok, limit.severity) {
            (true, _) => "ok",
            (false, Severity::Error) => "FAILED",
            (false, Severity::Warning) => "warning",
        };
        // The layer limit counts layers; every other limit counts bytes.
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
fn render_findings(out: &mut String, findings: &[Finding]) {
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

/// Each stack's resource count, what is shared, what each function costs, what is unknown.
fn render_stacks(out: &mut String, stacks: &[crate::stack::StackReport]) {
    for stack in stacks {
        let mark = match stack.severity {
            "error" => "error: ",
            "warning" => "warning: ",
            _ => "",
        };
        let _ = writeln!(
            out,
            "stack {} ({})\n  {mark}{}",
            stack.template, stack.framework, stack.message
        );
        if !stack.shared.is_empty() {
            let _ = writeln!(out, "  shared");
            for shared in &stack.shared {
                let _ = writeln!(out, "    {:<44} {:>4}", shared.what, shared.resources);
            }
        }
        if !stack.functions.is_empty() {
            let _ = writeln!(out, "  per function (own resources; per event kind)");
            for function in &stack.functions {
                let events: Vec<String> = function
                    .events
                    .iter()
                    .map(|event| format!("{} x{}: {}", event.kind, event.events, event.resources))
                    .collect();
                let detail = if events.is_empty() {
                    format!("own {}", function.own)
                } else {
                    format!("own {}; {}", function.own, events.join(", "))
                };
                let _ = writeln!(
                    out,
                    "    {:<32} {:>4}  ({detail})",
                    function.name, function.resources
                );
            }
        }
        for unknown in &stack.unknown {
            let _ = writeln!(out, "  not counted: {unknown}");
        }
        let _ = writeln!(out);
    }
}

/// The stacks as a Markdown table, and what lamina could not count.
fn stacks_markdown(out: &mut String, stacks: &[crate::stack::StackReport]) {
    if stacks.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\n| template | resources | limit | verdict | costliest function |"
    );
    let _ = writeln!(out, "|---|---:|---:|---|---|");
    for stack in stacks {
        let costliest = stack
            .functions
            .iter()
            .max_by_key(|function| function.resources)
            .map_or(String::new(), |function| {
                format!("{} ({})", function.name, function.resources)
            });
        let resources = if stack.exact {
            stack.resources.to_string()
        } else {
            format!("at least {}", stack.resources)
        };
        let _ = writeln!(
            out,
            "| {} | {resources} | {} | {} | {} |",
            markdown_cell(&stack.template),
            stack.limit,
            markdown_cell(&stack.message),
            markdown_cell(&costliest)
        );
    }
    for stack in stacks {
        for unknown in &stack.unknown {
            let _ = writeln!(out, "\n- not counted: {}", markdown_cell(unknown));
        }
    }
}
