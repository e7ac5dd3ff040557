//! Lambda's size limits, in exact bytes (AWS's "MB" is 2^20 bytes).

use crate::model::human_bytes;
use crate::model::{Finding, LimitResult, Severity, Upload};
use crate::verify::findings::{
    LIMIT_CONSOLE_EDITOR, LIMIT_ENV, LIMIT_LAYER_COUNT, LIMIT_LAYER_UNZIPPED, LIMIT_UNZIPPED,
    LIMIT_ZIPPED,
};

pub use crate::lambda::limits::{CONSOLE_EDITOR, ENV, LAYERS, UNZIPPED, ZIPPED};

fn result(id: &'static str, limit: u64, actual: u64, severity: Severity) -> LimitResult {
    LimitResult {
        id,
        limit,
        actual,
        ok: actual <= limit,
        severity,
    }
}

/// Over S3 there is no zipped limit: the result stays in the report, as a warning.
pub fn for_upload(mut limits: Vec<LimitResult>, upload: Upload) -> Vec<LimitResult> {
    if upload == Upload::S3 {
        for limit in &mut limits {
            if limit.id == "zipped" {
                limit.severity = Severity::Warning;
            }
        }
    }
    limits
}

/// A function's limits with its layers: its own zip, the unzipped sum of it and every layer,
/// the console editor, and how many layers it has.
pub fn checked_function_limits(
    zipped_bytes: u64,
    total_unzipped_bytes: u64,
    layers: usize,
    upload: Upload,
) -> Vec<LimitResult> {
    let mut limits = for_upload(function_limits(zipped_bytes, total_unzipped_bytes), upload);
    limits.push(result("layers", LAYERS, layers as u64, Severity::Error));
    limits
}

/// The environment variables a template gives a function, against Lambda's 4 KiB.
pub fn env(bytes: u64) -> LimitResult {
    result("env", ENV, bytes, Severity::Error)
}

/// A layer's own limits: its zip, and its unzipped size alone.
pub fn layer_limits(zipped_bytes: u64, unzipped_bytes: u64, upload: Upload) -> Vec<LimitResult> {
    for_upload(
        vec![
            result("zipped", ZIPPED, zipped_bytes, Severity::Error),
            result("unzipped", UNZIPPED, unzipped_bytes, Severity::Error),
        ],
        upload,
    )
}

fn bytes(value: u64) -> String {
    format!("{value} bytes ({})", human_bytes(value))
}

/// A finding for each limit a function breaks. `parts` names what the unzipped sum is made of:
/// the function and each layer, with their sizes.
pub fn function_findings(
    limits: &[LimitResult],
    upload: Upload,
    parts: &[(String, u64)],
) -> Vec<Finding> {
    let mut found = Vec::new();
    for limit in limits.iter().filter(|limit| !limit.ok) {
        found.push(match limit.id {
            "zipped" => LIMIT_ZIPPED.with_severity(
                limit.severity,
                None,
                match upload {
                    Upload::Direct => format!(
                        "the zip is {}; a direct upload takes at most {}",
                        bytes(limit.actual),
                        bytes(limit.limit)
                    ),
                    Upload::S3 => format!(
                        "the zip is {}, over the {} of a direct upload; through S3 only the unzipped limit applies",
                        bytes(limit.actual),
                        bytes(limit.limit)
                    ),
                },
            ),
            "unzipped" => {
                let listed: Vec<String> = parts
                    .iter()
                    .map(|(name, size)| format!("{name} {size}"))
                    .collect();
                LIMIT_UNZIPPED.at(
                    None,
                    format!(
                        "unzipped, the function and its layers come to {} ({}), over Lambda's {}; lamina sums the uncompressed sizes of file entries (AWS does not publish its exact count)",
                        bytes(limit.actual),
                        listed.join(" + "),
                        bytes(limit.limit)
                    ),
                )
            }
            "console_editor" => LIMIT_CONSOLE_EDITOR.at(
                None,
                format!(
                    "the zip is {}, over the console editor's {}",
                    bytes(limit.actual),
                    bytes(limit.limit)
                ),
            ),
            "layers" => LIMIT_LAYER_COUNT.at(
                None,
                format!(
                    "{} layers are attached; Lambda allows {}",
                    limit.actual, limit.limit
                ),
            ),
            "env" => LIMIT_ENV.at(
                None,
                format!(
                    "the environment variables' names and values come to {}, over Lambda's {}",
                    bytes(limit.actual),
                    bytes(limit.limit)
                ),
            ),
            _ => continue,
        });
    }
    found
}

/// A finding for each limit a layer breaks on its own.
pub fn layer_findings(limits: &[LimitResult], upload: Upload) -> Vec<Finding> {
    let mut found = Vec::new();
    for limit in limits.iter().filter(|limit| !limit.ok) {
        found.push(match limit.id {
            "zipped" => function_findings(std::slice::from_ref(limit), upload, &[])
                .pop()
                .expect("a zipped finding"),
            "unzipped" => LIMIT_LAYER_UNZIPPED.at(
                None,
                format!(
                    "the layer alone unzips to {}, over Lambda's {} for a function and all its layers",
                    bytes(limit.actual),
                    bytes(limit.limit)
                ),
            ),
            _ => continue,
        });
    }
    found
}

/// The limits one function zip is held to (no layers yet).
pub fn function_limits(zipped_bytes: u64, unzipped_bytes: u64) -> Vec<LimitResult> {
    vec![
        result("zipped", ZIPPED, zipped_bytes, Severity::Error),
        result("unzipped", UNZIPPED, unzipped_bytes, Severity::Error),
        // Only the console's inline editor stops working: a warning, not a failure.
        result(
            "console_editor",
            CONSOLE_EDITOR,
            zipped_bytes,
            Severity::Warning,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_inclusive_at_the_exact_byte() {
        let at = function_limits(ZIPPED, UNZIPPED);
        assert!(at[0].ok && at[1].ok);
        let over = function_limits(ZIPPED + 1, UNZIPPED + 1);
        assert!(!over[0].ok && !over[1].ok);
        assert_eq!(over[0].limit, 52_428_800);
        assert_eq!(over[1].limit, 262_144_000);
        assert_eq!(over[2].severity, Severity::Warning);
    }

    #[test]
    fn over_s3_the_zipped_limit_only_warns() {
        let limits = layer_limits(ZIPPED + 1, UNZIPPED + 1, Upload::S3);
        let found = layer_findings(&limits, Upload::S3);
        let ids: Vec<(&str, Severity)> = found.iter().map(|f| (f.id, f.severity)).collect();
        assert_eq!(
            ids,
            [
                ("limit/zipped", Severity::Warning),
                ("limit/layer-unzipped", Severity::Error)
            ]
        );
    }

    #[test]
    fn the_env_finding_fires_only_past_4096_bytes() {
        let at = function_findings(&[env(ENV)], Upload::Direct, &[]);
        assert!(at.is_empty(), "{at:?}");
        let over = function_findings(&[env(ENV + 1)], Upload::Direct, &[]);
        let ids: Vec<(&str, Severity)> = over.iter().map(|f| (f.id, f.severity)).collect();
        assert_eq!(ids, [("limit/env", Severity::Error)]);
        assert!(
            over[0].message.contains("4097 bytes"),
            "{}",
            over[0].message
        );
    }

    #[test]
    fn the_unzipped_finding_names_each_part() {
        let limits = checked_function_limits(10, UNZIPPED + 1, 6, Upload::Direct);
        let parts = [("fn".to_string(), 100), ("big".to_string(), UNZIPPED - 99)];
        let found = function_findings(&limits, Upload::Direct, &parts);
        let ids: Vec<&str> = found.iter().map(|f| f.id).collect();
        assert_eq!(ids, ["limit/unzipped", "limit/layer-count"]);
        assert!(
            found[0].message.contains("fn 100 + big 262143901"),
            "{}",
            found[0].message
        );
    }
}
