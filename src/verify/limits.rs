//! Lambda's size limits, in exact bytes (AWS's "MB" is 2^20 bytes).

use crate::model::{LimitResult, Severity};

/// Each zip sent by direct upload.
pub const ZIPPED: u64 = 52_428_800;
/// A function and all its layers, uncompressed.
pub const UNZIPPED: u64 = 262_144_000;
/// The function's own package, to stay editable in the console.
pub const CONSOLE_EDITOR: u64 = 3_145_728;

/// The limits one function zip is held to (no layers yet).
pub fn function_limits(zipped_bytes: u64, unzipped_bytes: u64) -> Vec<LimitResult> {
    let result = |id, limit, actual, severity| LimitResult {
        id,
        limit,
        actual,
        ok: actual <= limit,
        severity,
    };
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
}
