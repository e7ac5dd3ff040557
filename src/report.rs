//! The report: the JSON wire format (`docs/report-format.md`, `schema_version` 1) and its
//! human rendering. Everything in it is sorted, so the same input gives the same bytes.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::model::{
    Artifact, Inventory, LimitResult, Origin, PackageClass, Plan, Reason, Severity, Verification,
};
use crate::shake::runtime_provided;

pub const SCHEMA_VERSION: u32 = 1;

/// The whole report of one command.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema_version: u32,
    /// `scan` or `build`.
    pub command: &'static str,
    /// No limit or check with error severity failed.
    pub ok: bool,
    pub functions: Vec<FunctionReport>,
    /// Shared layers `build --layers auto` planned, by name.
    pub layers: Vec<LayerReport>,
    /// `build`: bytes of every zip written (functions and layers): what one deploy uploads.
    pub deployed_bytes: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct LayerReport {
    /// `<runtime>-<arch>-<first 12 hex of the SHA-256 of its paths and contents>`.
    pub name: String,
    pub runtime: String,
    pub arch: &'static str,
    pub artifact: String,
    pub sha256: String,
    pub zipped_bytes: u64,
    pub unzipped_bytes: u64,
    /// `name@version` of the packages it holds, sorted.
    pub packages: Vec<String>,
    /// The functions that attach it, sorted.
    pub functions: Vec<String>,
    /// Unzipped bytes the functions no longer ship, less the layer's own.
    pub saved_bytes: u64,
    /// The layer's own limits (zipped, unzipped alone).
    pub limits: Vec<LimitResult>,
    /// What verify found in the layer zip.
    pub findings: Vec<crate::model::Finding>,
}

/// A written layer's report entry.
pub fn layer_report(
    layer: &crate::dedupe::PlannedLayer,
    artifact: &Artifact,
    planned: &[(Inventory, Plan)],
    checked: Option<crate::verify::CheckedLayer>,
) -> LayerReport {
    let (unzipped_bytes, limits, findings) = match checked {
        Some(checked) => (checked.unzipped_bytes, checked.limits, checked.findings),
        None => (layer.unzipped_bytes, Vec::new(), Vec::new()),
    };
    LayerReport {
        name: layer.name.clone(),
        runtime: layer.runtime.id().to_string(),
        arch: layer.arch.id(),
        artifact: artifact.path.display().to_string(),
        sha256: artifact.sha256.clone(),
        zipped_bytes: artifact.zipped_bytes,
        unzipped_bytes,
        packages: layer.packages.clone(),
        functions: layer
            .functions
            .iter()
            .map(|&function| planned[function].0.function.name.clone())
            .collect(),
        saved_bytes: layer.saved_bytes,
        limits,
        findings,
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct FunctionReport {
    pub name: String,
    pub path: String,
    pub runtime: String,
    /// `flag`, `default`, or what it was inferred from.
    pub runtime_source: String,
    pub arch: &'static str,
    pub handler: String,
    pub handler_file: String,
    pub shake: &'static str,
    /// The zip written (`build` only).
    pub artifact: Option<String>,
    pub sha256: Option<String>,
    pub zipped_bytes: Option<u64>,
    /// `build`: from the zip's central directory. `scan`: the bytes `build` would keep.
    pub unzipped_bytes: u64,
    /// `scan`: an estimate of the zip's size; `build`: absent.
    pub projected_zipped_bytes: Option<u64>,
    /// `build`: compression setting, cache hits and misses, what `max` saved, time.
    pub packaging: Option<crate::model::PackageStats>,
    /// `--shake files`: time the tracer took, and how many files it parsed.
    pub trace_seconds: Option<f64>,
    pub trace_parsed_files: Option<usize>,
    /// `build --smoke`: whether the handler loaded from the artifact.
    pub smoke: Option<crate::smoke::SmokeReport>,
    pub input_bytes: u64,
    pub input_files: usize,
    pub kept_files: usize,
    /// Layers to attach, in order.
    pub layers: Vec<String>,
    /// `build`: the function's unzipped bytes plus those of every layer it attaches.
    pub total_unzipped_bytes: Option<u64>,
    pub limits: Vec<LimitResult>,
    /// `build`: what verify found in the zip written (limits included); `scan`: empty.
    pub findings: Vec<crate::model::Finding>,
    pub classes: Vec<ClassReport>,
    pub rules: Vec<RuleReport>,
    /// What `--drop-runtime-sdk` saves (or saved).
    pub runtime_sdk_bytes: u64,
    pub packages: Vec<PackageReport>,
    pub dynamic_imports: Vec<String>,
    pub notes: Vec<String>,
    pub warnings: Vec<String>,
    /// `node` or `python`.
    pub language: crate::model::Language,
    /// Python: where the dependencies were read from; null for Node.
    pub site_packages: Option<String>,
    /// Python: pycs rewritten as unchecked-hash pycs (`scan`: that `build` would rewrite).
    pub rewritten_pycs: usize,
    /// `build --compile` (Python): pycs generated for sources that shipped without one.
    pub compiled_pycs: Option<usize>,
    /// `build --strip` (Python): bytes the stripped extension modules no longer ship.
    pub strip_saved_bytes: Option<u64>,
    /// Files among the dependencies that no package owns and that ship.
    pub unowned: Vec<UnownedReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ClassReport {
    pub class: PackageClass,
    pub packages: usize,
    pub files: usize,
    pub bytes: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RuleReport {
    pub rule: &'static str,
    pub files: usize,
    pub bytes: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct PackageReport {
    pub name: String,
    pub version: String,
    pub path: String,
    pub bytes: u64,
    pub files: usize,
    /// Bytes that ship after junk rules (0 when dropped).
    pub kept_bytes: u64,
    pub class: PackageClass,
    pub status: &'static str,
    pub reason: String,
    pub runtime_provided: bool,
    pub workspace: bool,
    pub lock: Option<crate::model::LockFlags>,
    /// `npm` or `python`.
    pub kind: &'static str,
    /// Python distributions only.
    pub python: Option<DistributionReport>,
    /// `--shake files`, kept packages only: traced to the files reached, or kept whole.
    pub trace: Option<TraceReport>,
}

/// How `--shake files` treated a kept package.
#[derive(Debug, Clone, Serialize)]
pub struct TraceReport {
    /// `files`: only reached files ship; `whole`: every file (junk rules aside).
    pub mode: &'static str,
    /// Files of the package the tracer reached from the handler.
    pub reached_files: usize,
    /// Files that ship.
    pub kept_files: usize,
    /// Why it is kept whole, with the file and line.
    pub reason: Option<String>,
}

/// What only a Python distribution has.
#[derive(Debug, Clone, Serialize)]
pub struct DistributionReport {
    /// Bytes under `__pycache__/`.
    pub pycache_bytes: u64,
    /// Bytes in folders named `tests` or `test`.
    pub test_bytes: u64,
    /// Bytes of extension modules and shared libraries (`*.so`, `*.pyd`, `*.libs/`).
    pub native_bytes: u64,
    pub top_level: Vec<String>,
    pub entry_point_groups: Vec<String>,
    pub wheel_tags: Vec<String>,
    /// Distributions it requires on the target (markers evaluated, no extras), sorted.
    pub requires: Vec<String>,
}

/// A file among the dependencies that no package owns, and ships.
#[derive(Debug, Clone, Serialize)]
pub struct UnownedReport {
    pub path: String,
    pub bytes: u64,
}

fn distribution_report(
    inventory: &Inventory,
    package: &crate::model::Package,
) -> Option<DistributionReport> {
    let crate::model::PackageKind::Python(distribution) = &package.kind else {
        return None;
    };
    let sum = |test: &dyn Fn(&str) -> bool| -> u64 {
        package
            .files
            .iter()
            .map(|&i| &inventory.files[i])
            .filter(|file| test(&file.path))
            .map(|file| file.bytes)
            .sum()
    };
    let parts = |path: &str| path.split('/').map(str::to_string).collect::<Vec<_>>();
    let mut requires: Vec<String> = package
        .dependencies
        .iter()
        .filter(|dependency| dependency.kind == crate::model::DependencyKind::Production)
        .map(|dependency| dependency.name.clone())
        .collect();
    requires.sort();
    requires.dedup();
    Some(DistributionReport {
        pycache_bytes: sum(&|path| parts(path).iter().any(|part| part == "__pycache__")),
        test_bytes: sum(&|path| {
            let parts = parts(path);
            parts[..parts.len() - 1]
                .iter()
                .any(|part| part == "tests" || part == "test")
        }),
        native_bytes: sum(&|path| {
            let name = path.rsplit('/').next().unwrap_or(path);
            name.ends_with(".so")
                || name.contains(".so.")
                || name.ends_with(".pyd")
                || path.split('/').any(|part| part.ends_with(".libs"))
        }),
        top_level: distribution.top_level.clone(),
        entry_point_groups: distribution.entry_point_groups.clone(),
        wheel_tags: distribution.wheel_tags.clone(),
        requires,
    })
}

fn origin_text(origin: &Origin) -> String {
    match origin {
        Origin::Flag => "flag".to_string(),
        Origin::Default => "default".to_string(),
        Origin::Inferred(from) => from.clone(),
    }
}

/// Builds one function's report from the stages' outputs.
pub fn function_report(
    inventory: &Inventory,
    plan: &Plan,
    built: Option<(&Artifact, &Verification)>,
) -> FunctionReport {
    let function = &inventory.function;
    let kept_files = plan.files.iter().filter(|decision| decision.keep).count();
    let packages: Vec<PackageReport> = inventory
        .packages
        .iter()
        .zip(&plan.packages)
        .map(|(package, decision)| package_report(inventory, plan, package, decision))
        .collect();
    let classes = class_reports(inventory, plan);
    let runtime_sdk_bytes = classes
        .iter()
        .find(|class| class.class == PackageClass::RuntimeProvided)
        .map_or(0, |class| class.bytes);
    let Sizes {
        artifact,
        sha256,
        zipped_bytes,
        unzipped_bytes,
        limits,
        projected,
    } = sizes(inventory, plan, built);

    FunctionReport {
        name: function.name.clone(),
        path: function.root.display().to_string(),
        runtime: function.runtime.id().to_string(),
        runtime_source: origin_text(&function.runtime_origin),
        arch: function.arch.id(),
        handler: function.handler.spec.clone(),
        handler_file: function.handler.file.clone(),
        shake: match plan.mode {
            crate::model::ShakeMode::Deps => "deps",
            crate::model::ShakeMode::None => "none",
            crate::model::ShakeMode::Files => "files",
        },
        artifact,
        sha256,
        zipped_bytes,
        unzipped_bytes,
        projected_zipped_bytes: projected,
        packaging: built.map(|(artifact, _)| artifact.stats.clone()),
        trace_seconds: inventory.trace().map(|trace| trace.seconds),
        trace_parsed_files: inventory.trace().map(|trace| trace.parsed_files),
        smoke: None,
        input_bytes: inventory.input_bytes(),
        input_files: inventory.files.len(),
        kept_files,
        layers: Vec::new(),
        total_unzipped_bytes: None,
        limits,
        findings: built.map_or_else(Vec::new, |(_, verification)| verification.findings.clone()),
        classes,
        rules: rule_reports(inventory, plan),
        runtime_sdk_bytes,
        packages,
        dynamic_imports: inventory.imports.dynamic.clone(),
        notes: plan.notes.clone(),
        warnings: inventory.warnings.clone(),
        language: function.runtime.language(),
        site_packages: inventory
            .python()
            .and_then(|python| python.site_packages.clone()),
        rewritten_pycs: plan.rewrite_pycs().len(),
        compiled_pycs: None,
        strip_saved_bytes: None,
        unowned: inventory
            .files
            .iter()
            .zip(&plan.files)
            .filter(|(file, decision)| decision.keep && file.owner == crate::model::Owner::Unowned)
            .map(|(file, _)| UnownedReport {
                path: file.path.clone(),
                bytes: file.bytes,
            })
            .collect(),
    }
}

/// Files and bytes each rule dropped.
fn rule_reports(inventory: &Inventory, plan: &Plan) -> Vec<RuleReport> {
    let mut rules: BTreeMap<&'static str, RuleReport> = BTreeMap::new();
    for (file, decision) in inventory.files.iter().zip(&plan.files) {
        if let Reason::Rule(rule) = decision.reason {
            let entry = rules.entry(rule).or_insert(RuleReport {
                rule,
                files: 0,
                bytes: 0,
            });
            entry.files += 1;
            entry.bytes += file.bytes;
        }
    }
    rules.into_values().collect()
}

/// One package's line of the report.
fn package_report(
    inventory: &Inventory,
    plan: &Plan,
    package: &crate::model::Package,
    decision: &crate::model::PackageDecision,
) -> PackageReport {
    let bytes = package
        .files
        .iter()
        .map(|&i| inventory.files[i].bytes)
        .sum();
    let kept_bytes = package
        .files
        .iter()
        .filter(|&&i| plan.files[i].keep)
        .map(|&i| inventory.files[i].bytes)
        .sum();
    PackageReport {
        name: package.name.clone(),
        version: package.version.clone(),
        path: package.path.clone(),
        bytes,
        files: package.files.len(),
        kept_bytes,
        class: decision.class,
        status: match (&decision.reason, decision.keep) {
            (Reason::Layer(_), _) => "layer",
            (_, true) => "kept",
            (_, false) => "dropped",
        },
        reason: decision.reason.to_string(),
        runtime_provided: runtime_provided(inventory, &package.name),
        workspace: package.workspace,
        lock: package.lock,
        kind: package.kind.label(),
        python: distribution_report(inventory, package),
        trace: plan.traced(package.id).map(|traced| TraceReport {
            mode: match traced {
                crate::model::Traced::Files => "files",
                crate::model::Traced::Whole(_) => "whole",
            },
            reached_files: inventory.trace().map_or(0, |trace| {
                package
                    .files
                    .iter()
                    .filter(|file| trace.reached.contains_key(file))
                    .count()
            }),
            kept_files: package
                .files
                .iter()
                .filter(|&&file| plan.files[file].keep)
                .count(),
            reason: match traced {
                crate::model::Traced::Files => None,
                crate::model::Traced::Whole(reason) => Some(reason.clone()),
            },
        }),
    }
}

/// Packages, files and bytes per class.
fn class_reports(inventory: &Inventory, plan: &Plan) -> Vec<ClassReport> {
    PackageClass::ALL
        .iter()
        .map(|&class| {
            let (bytes, files) = crate::shake::class_totals(inventory, &plan.packages, class);
            ClassReport {
                class,
                packages: plan
                    .packages
                    .iter()
                    .filter(|decision| decision.class == class)
                    .count(),
                files,
                bytes,
            }
        })
        .collect()
}

/// What the zip weighs: measured when built, else estimated from the kept files.
struct Sizes {
    artifact: Option<String>,
    sha256: Option<String>,
    zipped_bytes: Option<u64>,
    unzipped_bytes: u64,
    limits: Vec<crate::model::LimitResult>,
    projected: Option<u64>,
}

fn sizes(inventory: &Inventory, plan: &Plan, built: Option<(&Artifact, &Verification)>) -> Sizes {
    let kept = || {
        inventory
            .files
            .iter()
            .zip(&plan.files)
            .filter(|(_, decision)| decision.keep)
            .map(|(file, _)| file)
    };
    let kept_bytes: u64 = kept().map(|file| file.bytes).sum();
    let (artifact, sha256, zipped_bytes, unzipped_bytes, limits, projected) = match built {
        Some((artifact, verification)) => (
            Some(artifact.path.display().to_string()),
            Some(artifact.sha256.clone()),
            Some(verification.zipped_bytes),
            verification.unzipped_bytes,
            verification.limits.clone(),
            None,
        ),
        None => {
            let projected: u64 = 22
                + kept()
                    .map(|file| crate::package::estimate_zipped(&file.path, file.bytes))
                    .sum::<u64>();
            // Only what is measured is held to a limit: the zipped size is an estimate until
            // `build` writes the zip, so it neither fails nor warns (the text marks it `~`).
            let limits: Vec<_> = crate::verify::limits::function_limits(projected, kept_bytes)
                .into_iter()
                .filter(|limit| limit.id == "unzipped")
                .collect();
            (None, None, None, kept_bytes, limits, Some(projected))
        }
    };
    Sizes {
        artifact,
        sha256,
        zipped_bytes,
        unzipped_bytes,
        limits,
        projected,
    }
}

impl Report {
    pub fn new(command: &'static str, functions: Vec<FunctionReport>) -> Report {
        let ok = functions
            .iter()
            .flat_map(|function| &function.limits)
            .all(|limit| limit.ok || limit.severity == Severity::Warning)
            && !functions
                .iter()
                .any(|function| crate::verify::any_error(&function.findings))
            && functions
                .iter()
                .all(|function| function.smoke.as_ref().is_none_or(|smoke| smoke.ok));
        Report {
            schema_version: SCHEMA_VERSION,
            command,
            ok,
            deployed_bytes: functions
                .iter()
                .filter_map(|function| function.zipped_bytes)
                .sum(),
            functions,
            layers: Vec::new(),
        }
    }

    /// Adds the layers `build` wrote: their bytes count as deployed, their failures fail it.
    pub fn set_layers(&mut self, layers: Vec<LayerReport>) {
        self.deployed_bytes += layers.iter().map(|layer| layer.zipped_bytes).sum::<u64>();
        self.ok = self.ok
            && layers.iter().all(|layer| {
                layer
                    .limits
                    .iter()
                    .all(|limit| limit.ok || limit.severity == Severity::Warning)
                    && !crate::verify::any_error(&layer.findings)
            });
        self.layers = layers;
    }

    /// The whole report as Markdown tables, for a CI job summary or a pull-request comment.
    pub fn to_markdown(&self) -> String {
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
                function.runtime,
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
        let whole: Vec<(&str, &PackageReport)> = self
            .functions
            .iter()
            .flat_map(|function| {
                kept_whole(function)
                    .into_iter()
                    .map(move |package| (function.name.as_str(), package))
            })
            .collect();
        if !whole.is_empty() {
            let _ = writeln!(
                out,
                "\n| function | kept whole (`--shake files`) | bytes | why |\n|---|---|---:|---|"
            );
            for (function, package) in whole {
                let _ = writeln!(
                    out,
                    "| {} | {}@{} | {} | {} |",
                    markdown_cell(function),
                    markdown_cell(&package.name),
                    markdown_cell(&package.version),
                    package.kept_bytes,
                    markdown_cell(
                        package
                            .trace
                            .as_ref()
                            .and_then(|trace| trace.reason.as_deref())
                            .unwrap_or("")
                    )
                );
            }
        }
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
                    layer.saved_bytes,
                    markdown_cell(&layer.packages.join(", ")),
                    markdown_cell(&layer.functions.join(", "))
                );
            }
        }
        if self.command == "build" {
            let _ = writeln!(
                out,
                "\nDeployed: {} bytes in all zips.",
                self.deployed_bytes
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
        out
    }

    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("the report serializes");
        text.push('\n');
        text
    }

    /// The human summary: sizes before and after, what went by class and rule, each limit.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for function in &self.functions {
            render_function(&mut out, self.command, function);
        }
        for layer in &self.layers {
            let _ = writeln!(
                out,
                "layer {} ({} zipped, {} unzipped, saves {})\n  packages: {}\n  functions: {}",
                layer.name,
                human_bytes(layer.zipped_bytes),
                human_bytes(layer.unzipped_bytes),
                human_bytes(layer.saved_bytes),
                layer.packages.join(", "),
                layer.functions.join(", ")
            );
            crate::verify::report::render_findings(&mut out, &layer.findings);
            let _ = writeln!(out);
        }
        let verdict = if self.ok {
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
            if function.smoke.as_ref().is_some_and(|smoke| !smoke.ok) {
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
fn kept_whole(function: &FunctionReport) -> Vec<&PackageReport> {
    let mut whole: Vec<&PackageReport> = function
        .packages
        .iter()
        .filter(|package| {
            package.status == "kept"
                && package
                    .trace
                    .as_ref()
                    .is_some_and(|trace| trace.mode == "whole")
        })
        .collect();
    whole.sort_by(|a, b| b.kept_bytes.cmp(&a.kept_bytes).then(a.path.cmp(&b.path)));
    whole.truncate(5);
    whole
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

/// `1234567` → `1.2 MiB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

fn render_function(out: &mut String, command: &str, function: &FunctionReport) {
    let _ = writeln!(
        out,
        "{} ({}, {}, handler {} -> {})",
        function.name, function.runtime, function.arch, function.handler, function.handler_file
    );
    let _ = writeln!(
        out,
        "  input      {:>10}  {}",
        human_bytes(function.input_bytes),
        count(function.input_files, "file")
    );
    let _ = writeln!(
        out,
        "  kept       {:>10}  {} (unzipped)",
        human_bytes(function.unzipped_bytes),
        count(function.kept_files, "file")
    );
    let zipped = match (function.zipped_bytes, function.projected_zipped_bytes) {
        (Some(zipped), _) => {
            let _ = writeln!(
                out,
                "  zipped     {:>10}  {}",
                human_bytes(zipped),
                function.artifact.as_deref().unwrap_or("")
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
        && function.input_bytes > 0
    {
        let saved = function.input_bytes.saturating_sub(zipped);
        let share = if saved > 0 {
            format!(
                "-{:.0} %",
                saved as f64 * 100.0 / function.input_bytes as f64
            )
        } else {
            "no smaller: zip headers outweigh so few bytes".to_string()
        };
        let _ = writeln!(
            out,
            "  saved    {about:>1} {:>10}  input {} -> zip {about}{} ({share})",
            human_bytes(saved),
            human_bytes(function.input_bytes),
            human_bytes(zipped),
        );
    }
    if function.classes.iter().any(|class| class.packages > 0) {
        let _ = writeln!(out, "\n  packages by class (installed -> ships)");
    }
    for class in &function.classes {
        if class.packages == 0 {
            continue;
        }
        let members = function
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
    if !function.rules.is_empty() {
        let _ = writeln!(out, "\n  junk rules");
        for rule in &function.rules {
            let _ = writeln!(
                out,
                "    {:<28} {:<9} {:>10}",
                rule.rule,
                count(rule.files, "file"),
                human_bytes(rule.bytes)
            );
        }
    }
    let mut biggest: Vec<&PackageReport> = function.packages.iter().collect();
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
    let whole = kept_whole(function);
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
    if let Some(smoke) = &function.smoke {
        render_smoke(out, smoke);
    }
    for warning in &function.warnings {
        let _ = writeln!(out, "  warning: {warning}");
    }
    if !function.layers.is_empty() {
        let _ = writeln!(
            out,
            "\n  layers (attach in this order): {}",
            function.layers.join(", ")
        );
    }
    let _ = writeln!(out, "\n  limits");
    for limit in &function.limits {
        let verdict = match (limit.ok, limit.severity) {
            (true, _) => "ok",
            (false, Severity::Error) => "FAILED",
            (false, Severity::Warning) => "warning",
        };
        // The layer limit counts layers; every other limit counts bytes.
        let (actual, most) = if limit.id == "layers" {
            (limit.actual.to_string(), limit.limit.to_string())
        } else {
            (human_bytes(limit.actual), human_bytes(limit.limit))
        };
        let label = limit.id.replace('_', " ");
        let _ = writeln!(out, "    {label:<15} {actual:>10} of {most:>10}  {verdict}");
    }
    if command == "build" {
        crate::verify::report::render_findings(out, &function.findings);
    }
    let _ = writeln!(out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_read_as_binary_units() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(52_428_800), "50.0 MiB");
        assert_eq!(human_bytes(3_145_728), "3.0 MiB");
    }
}
