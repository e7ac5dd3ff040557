//! Fuzzes `lamina check`'s zip reader: any bytes must be read or refused, never panic, never
//! allocate past the caps, and never read more entry data than the cap allows.
#![no_main]

use lamina::verify::inspect_bytes;
use lamina::verify::zipcheck::ReadLimits;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Small caps keep each run fast; the code paths are the same as with the real ones.
    let limits = ReadLimits {
        total: 4 << 20,
        native: 1 << 20,
        all_data: true,
    };
    if let Ok(contents) = inspect_bytes(data, &limits) {
        use lamina::verify::findings::{FINDINGS, LISTED_PER_KIND, TEXT_CAP};
        for finding in &contents.findings {
            // Every finding names a documented id...
            assert!(FINDINGS.iter().any(|kind| kind.id == finding.id));
            // ...and quotes a bounded excerpt of the zip's names (escapes and the length added).
            assert!(finding.entry.as_ref().is_none_or(|entry| entry.len() < 8 * TEXT_CAP));
            // ...and at most LISTED_PER_KIND of one kind are listed.
            let same = contents
                .findings
                .iter()
                .filter(|other| other.id == finding.id)
                .count();
            assert!(same <= LISTED_PER_KIND);
        }
    }
});
