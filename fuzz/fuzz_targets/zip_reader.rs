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
        // Every finding names a documented id.
        for finding in &contents.findings {
            assert!(
                lamina::verify::findings::FINDINGS
                    .iter()
                    .any(|kind| kind.id == finding.id)
            );
        }
    }
});
