//! The report: one JSON wire format for `scan`, `build` and `check` (`docs/report-format.md`,
//! `schema_version` 2), built once from what the stages return. `render.rs` turns it into text
//! and Markdown. Everything in it is sorted, so the same input gives the same bytes.

mod render;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::{
    Artifact, Finding, Inventory, LimitResult, Origin, PackageClass, Plan, Reason, Severity,
    Upload, Verification,
};
use crate::shake::runtime_provided;
use crate::smoke::SmokeReport;

pub const SCHEMA_VERSION: u32 = 2;

/// The whole report of one command.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema_version: u32,
    /// `scan`, `build`, `check` or `stack`.
    pub command: &'static str,
    /// No limit, no finding of severity `error` and no smoke test failed.
    pub ok: bool,
    pub functions: Vec<FunctionReport>,
    /// `build --layers auto`: the shared layers written; `check`: the `--layer` zips.
    pub layers: Vec<LayerReport>,
    /// `build` and `check`: bytes of every zip (functions and layers): what one deploy
    /// uploads. `scan`: null.
    pub deployed_bytes: Option<u64>,
    /// `stack`, and `scan`/`build` of a SAM template or `serverless.yml`: the CloudFormation
    /// resources each template's stack holds. Absent when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stacks: Vec<crate::stack::StackReport>,
}

/// A layer zip: written by `build --layers auto`, or given to `check`.
#[derive(Debug, Clone, Serialize)]
pub struct LayerReport {
    /// `build`: `<runtime>-<arch>-<first 12 hex of the SHA-256 of its paths and contents>`;
    /// `check`: the zip's file name without `.zip`.
    pub name: String,
    /// `build`: the runtime its functions use; `check`: null (it is checked against every
    /// function's runtime).
    pub runtime: Option<String>,
    pub arch: &'static str,
    pub artifact: String,
    pub sha256: String,
    /// The same hash in base64: what Lambda reports as `CodeSha256` and Terraform's
    /// `filebase64sha256` gives.
    pub code_sha256: String,
    pub zipped_bytes: u64,
    pub unzipped_bytes: u64,
    /// Entries in the zip, folders included; null when no function attached it.
    pub entries: Option<usize>,
    /// The functions that attach it, sorted (`check`: every function, as given).
    pub functions: Vec<String>,
    /// The layer's own limits (zipped, unzipped alone).
    pub limits: Vec<LimitResult>,
    /// What verify found in the layer zip.
    pub findings: Vec<Finding>,
    /// `build`: what dedupe moved into it.
    #[serde(flatten)]
    pub planned: Option<PlannedLayerReport>,
}

/// What only a layer `build` planned has.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedLayerReport {
    /// `name@version` of the packages it holds, sorted.
    pub packages: Vec<String>,
    /// Unzipped bytes the functions no longer ship, less the layer's own.
    pub saved_bytes: u64,
    /// How the layer zip was written: as a function's `packaging`.
    pub packaging: crate::model::PackageStats,
}

/// A written layer's report entry, at the zip's final path.
pub fn layer_report(
    layer: &crate::dedupe::PlannedLayer,
    artifact: &Artifact,
    function_names: &[String],
    checked: Option<crate::verify::CheckedLayer>,
) -> LayerReport {
    let (unzipped_bytes, entries, limits, findings) = match checked {
        Some(checked) => (
            checked.unzipped_bytes,
            Some(checked.entries),
            checked.limits,
            checked.findings,
        ),
        None => (layer.unzipped_bytes, None, Vec::new(), Vec::new()),
    };
    LayerReport {
        name: layer.name.clone(),
        runtime: Some(layer.runtime.id().to_string()),
        arch: layer.arch.id(),
        artifact: artifact.path.display().to_string(),
        sha256: artifact.sha256.clone(),
        code_sha256: code_sha256(&artifact.sha256),
        zipped_bytes: artifact.zipped_bytes,
        unzipped_bytes,
        entries,
        functions: layer
            .functions
            .iter()
            .map(|&function| function_names[function].clone())
            .collect(),
        limits,
        findings,
        planned: Some(PlannedLayerReport {
            packages: layer.packages.clone(),
            saved_bytes: layer.saved_bytes,
            packaging: artifact.stats.clone(),
        }),
    }
}

/// One function: what every command says of its zip, and what `scan` and `build` say of its
/// folder and how it was shaken (`slimming`, flattened into the same object).
#[derive(Debug, Clone, Serialize)]
pub struct FunctionReport {
    pub name: String,
    /// The runtime; `check`: null when it was neither given nor inferable.
    pub runtime: Option<String>,
    /// `flag`, `default`, or what it was inferred from.
    pub runtime_source: String,
    pub arch: &'static str,
    /// `check`: null unless `--handler` was given.
    pub handler: Option<String>,
    /// The zip (`scan`: null).
    pub artifact: Option<String>,
    pub sha256: Option<String>,
    /// The same hash in base64, as Lambda's `CodeSha256` (`scan`: null).
    pub code_sha256: Option<String>,
    /// `build` and `check`: how the zip reaches Lambda (`--upload`); `scan`: null.
    pub upload: Option<Upload>,
    pub zipped_bytes: Option<u64>,
    /// `build`, `check`: from the zip's central directory. `scan`: the bytes `build` would keep.
    pub unzipped_bytes: u64,
    /// `build`, `check`: the function's unzipped bytes plus those of every layer it attaches.
    pub total_unzipped_bytes: Option<u64>,
    /// `build`, `check`: entries in the zip, folders included.
    pub entries: Option<usize>,
    /// Layers to attach, in order.
    pub layers: Vec<String>,
    pub limits: Vec<LimitResult>,
    /// `build`, `check`: what verify found in the zip (limits included); `scan`: what verify
    /// finds in the files that would ship (binaries, wheel tags).
    pub findings: Vec<Finding>,
    pub notes: Vec<String>,
    /// `scan` and `build`: the function folder and its shaking; `check`: absent.
    #[serde(flatten)]
    pub slimming: Option<Slimming>,
}

/// What `scan` and `build` know that a zip alone does not: the folder, its packages, what
/// shake decided and how the zip was made.
#[derive(Debug, Clone, Serialize)]
pub struct Slimming {
    pub path: String,
    pub handler_file: String,
    pub shake: &'static str,
    /// `scan`: an estimate of the zip's size; `build`: null.
    pub projected_zipped_bytes: Option<u64>,
    /// `build`: compression setting, cache hits and misses, what `max` saved, time.
    pub packaging: Option<crate::model::PackageStats>,
    /// `scan` (which always traces) and `build --shake files`: time the tracer took, and how many
    /// files it parsed.
    pub trace_seconds: Option<f64>,
    pub trace_parsed_files: Option<usize>,
    /// `scan` and `build`: files whose contents scan read for what it remembers of them, and
    /// files whose facts it took from the cache without reading them.
    pub scan_cache: crate::model::ScanCacheStats,
    /// `build --smoke`: whether the handler loaded from the artifact.
    pub smoke: Option<SmokeReport>,
    pub input_bytes: u64,
    pub input_files: usize,
    pub kept_files: usize,
    pub classes: Vec<ClassReport>,
    pub rules: Vec<RuleReport>,
    /// What `--drop-runtime-sdk` saves (or saved).
    pub runtime_sdk_bytes: u64,
    pub packages: Vec<PackageReport>,
    pub dynamic_imports: Vec<String>,
    pub warnings: Vec<String>,
    /// `node`, `python` or `custom`.
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
    /// `files`: why it ships more than its imports reach (the scripts a computed `require` can
    /// name, the files a computed path can read), each with the file and line.
    pub partly: Vec<String>,
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

/// What `build` made of one function, for its report: the zip at its final path, what verify
/// found in it, what staging did, the layers it attaches and the smoke test.
pub struct Built<'a> {
    pub artifact: &'a Artifact,
    pub verification: &'a Verification,
    pub upload: Upload,
    pub staged: crate::package::Stats,
    /// Names of the layers it attaches, in attach order, and their unzipped bytes.
    pub layers: Vec<String>,
    pub layers_unzipped_bytes: u64,
    /// What layer planning says of this function.
    pub layer_notes: Vec<String>,
    pub smoke: Option<SmokeReport>,
}

/// What the stages after shake returned for one function.
pub enum Outcome<'a> {
    /// `scan`: what verify says of the kept files before a zip exists.
    Planned(crate::verify::Planned),
    /// `build`: the zip and what was found in it.
    Built(Box<Built<'a>>),
}

/// Builds one function's report from the stages' outputs.
pub fn function_report(inventory: &Inventory, plan: &Plan, outcome: Outcome<'_>) -> FunctionReport {
    let function = &inventory.function;
    let classes = class_reports(inventory, plan);
    let runtime_sdk_bytes = classes
        .iter()
        .find(|class| class.class == PackageClass::RuntimeProvided)
        .map_or(0, |class| class.bytes);
    let mut slimming = slimming(inventory, plan, classes, runtime_sdk_bytes);
    let mut notes = plan.notes.clone();
    let mut report = FunctionReport {
        name: function.name.clone(),
        runtime: Some(function.runtime.id().to_string()),
        runtime_source: origin_text(&function.runtime_origin),
        arch: function.arch.id(),
        handler: Some(function.handler.spec.clone()),
        artifact: None,
        sha256: None,
        code_sha256: None,
        upload: None,
        zipped_bytes: None,
        unzipped_bytes: 0,
        total_unzipped_bytes: None,
        entries: None,
        layers: Vec::new(),
        limits: Vec::new(),
        findings: Vec::new(),
        notes: Vec::new(),
        slimming: None,
    };
    match outcome {
        Outcome::Planned(planned) => {
            slimming.projected_zipped_bytes = Some(planned.projected_zipped_bytes);
            report.unzipped_bytes = planned.unzipped_bytes;
            report.limits = planned.limits;
            report.findings = planned.findings;
        }
        Outcome::Built(built) => {
            let built = *built;
            let verification = built.verification;
            slimming.packaging = Some(built.artifact.stats.clone());
            slimming.compiled_pycs = built.staged.compiled_pycs;
            slimming.strip_saved_bytes = built.staged.strip_saved_bytes;
            slimming.smoke = built.smoke;
            notes.extend(built.staged.notes);
            notes.extend(built.layer_notes);
            report.artifact = Some(built.artifact.path.display().to_string());
            report.sha256 = Some(built.artifact.sha256.clone());
            report.code_sha256 = Some(code_sha256(&built.artifact.sha256));
            report.upload = Some(built.upload);
            report.zipped_bytes = Some(verification.zipped_bytes);
            report.unzipped_bytes = verification.unzipped_bytes;
            report.total_unzipped_bytes =
                Some(verification.unzipped_bytes + built.layers_unzipped_bytes);
            report.entries = Some(verification.entries);
            report.limits = verification.limits.clone();
            report.findings = verification.findings.clone();
            report.layers = built.layers;
        }
    }
    report.notes = notes;
    report.slimming = Some(slimming);
    report
}

/// The part of a function's report only `scan` and `build` have.
fn slimming(
    inventory: &Inventory,
    plan: &Plan,
    classes: Vec<ClassReport>,
    runtime_sdk_bytes: u64,
) -> Slimming {
    let function = &inventory.function;
    Slimming {
        path: function.root.display().to_string(),
        handler_file: function.handler.file.clone(),
        shake: match plan.mode {
            crate::model::ShakeMode::Deps => "deps",
            crate::model::ShakeMode::None => "none",
            crate::model::ShakeMode::Files => "files",
        },
        projected_zipped_bytes: None,
        packaging: None,
        trace_seconds: inventory.trace().map(|trace| trace.seconds),
        trace_parsed_files: inventory.trace().map(|trace| trace.parsed_files),
        scan_cache: inventory.scan_cache,
        smoke: None,
        input_bytes: inventory.input_bytes(),
        input_files: inventory.files.len(),
        kept_files: plan.files.iter().filter(|decision| decision.keep).count(),
        classes,
        rules: rule_reports(inventory, plan),
        runtime_sdk_bytes,
        packages: inventory
            .packages
            .iter()
            .zip(&plan.packages)
            .map(|(package, decision)| package_report(inventory, plan, package, decision))
            .collect(),
        dynamic_imports: inventory.imports.dynamic.clone(),
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

/// `check`'s report of a zip lamina did not build.
fn checked_function(checked: crate::verify::CheckedFunction) -> FunctionReport {
    FunctionReport {
        name: checked.name,
        runtime: checked.runtime.map(|runtime| runtime.id().to_string()),
        runtime_source: checked.runtime_source,
        arch: checked.arch.id(),
        handler: checked.handler,
        artifact: Some(checked.artifact.display().to_string()),
        code_sha256: Some(code_sha256(&checked.sha256)),
        sha256: Some(checked.sha256),
        upload: Some(checked.upload),
        zipped_bytes: Some(checked.zipped_bytes),
        unzipped_bytes: checked.unzipped_bytes,
        total_unzipped_bytes: Some(checked.total_unzipped_bytes),
        entries: Some(checked.entries),
        layers: checked.layers,
        limits: checked.limits,
        findings: checked.findings,
        notes: checked.notes,
        slimming: None,
    }
}

/// `check`'s report of a layer zip.
fn checked_layer(checked: crate::verify::CheckedLayer, arch: &'static str) -> LayerReport {
    LayerReport {
        name: checked.name,
        runtime: None,
        arch,
        artifact: checked.artifact.display().to_string(),
        code_sha256: code_sha256(&checked.sha256),
        sha256: checked.sha256,
        zipped_bytes: checked.zipped_bytes,
        unzipped_bytes: checked.unzipped_bytes,
        entries: Some(checked.entries),
        functions: checked.functions,
        limits: checked.limits,
        findings: checked.findings,
        planned: None,
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
            partly: match traced {
                crate::model::Traced::Files => inventory
                    .trace()
                    .and_then(|trace| {
                        trace
                            .partly
                            .get(&crate::model::TraceUnit::Package(package.id))
                    })
                    .cloned()
                    .unwrap_or_default(),
                crate::model::Traced::Whole(_) => Vec::new(),
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

impl Report {
    /// The report of `scan` or `build`: `ok` and `deployed_bytes` follow from the parts.
    pub fn new(
        command: &'static str,
        functions: Vec<FunctionReport>,
        layers: Vec<LayerReport>,
    ) -> Report {
        let failed = |limits: &[LimitResult], findings: &[Finding]| {
            limits
                .iter()
                .any(|limit| !limit.ok && limit.severity != Severity::Warning)
                || crate::verify::any_error(findings)
        };
        let ok = functions.iter().all(|function| {
            !failed(&function.limits, &function.findings)
                && function
                    .slimming
                    .as_ref()
                    .and_then(|slimming| slimming.smoke.as_ref())
                    .is_none_or(|smoke| smoke.ok)
        }) && layers
            .iter()
            .all(|layer| !failed(&layer.limits, &layer.findings));
        let deployed_bytes = (command != "scan" && command != "stack").then(|| {
            functions
                .iter()
                .filter_map(|function| function.zipped_bytes)
                .chain(layers.iter().map(|layer| layer.zipped_bytes))
                .sum()
        });
        Report {
            schema_version: SCHEMA_VERSION,
            command,
            ok,
            functions,
            layers,
            deployed_bytes,
            stacks: Vec::new(),
        }
    }

    /// Adds the resource counts of the templates' stacks: one over the limit fails the report.
    pub fn with_stacks(mut self, stacks: Vec<crate::stack::StackReport>) -> Report {
        self.ok = self.ok && stacks.iter().all(crate::stack::StackReport::ok);
        self.stacks = stacks;
        self
    }

    /// The report of `stack`: only the templates' resource counts.
    pub fn stacks(stacks: Vec<crate::stack::StackReport>) -> Report {
        Report::new("stack", Vec::new(), Vec::new()).with_stacks(stacks)
    }

    /// The report of `check`, from what verify read.
    pub fn checked(checked: crate::verify::Checked) -> Report {
        let arch = checked.arch.id();
        Report::new(
            "check",
            checked
                .functions
                .into_iter()
                .map(checked_function)
                .collect(),
            checked
                .layers
                .into_iter()
                .map(|layer| checked_layer(layer, arch))
                .collect(),
        )
    }
}

/// A hex SHA-256 in standard base64 with padding: Lambda's `CodeSha256`, which CDK and
/// Terraform (`source_code_hash = filebase64sha256(...)`) compare to decide a redeploy.
pub fn code_sha256(hex_digest: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = hex::decode(hex_digest).unwrap_or_default();
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let word = chunk.iter().enumerate().fold(0u32, |word, (i, &byte)| {
            word | u32::from(byte) << (16 - 8 * i)
        });
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(word >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod code_sha256_tests {
    #[test]
    fn hex_digests_become_lambdas_base64() {
        // SHA-256 of nothing, as `openssl dgst -sha256 -binary | base64` prints it.
        assert_eq!(
            super::code_sha256("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
        assert_eq!(super::code_sha256("666f6f"), "Zm9v");
        assert_eq!(super::code_sha256("666f"), "Zm8=");
        assert_eq!(super::code_sha256("66"), "Zg==");
    }
}
