//! Fuzzes the native binary reader (ELF, Mach-O and PE headers, ELF version needs) with the
//! whole of a file and with a prefix of it, as `lamina check` reads binaries over its cap.
#![no_main]

use lamina::verify::native::{inspect, looks_native};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = looks_native(data);
    let _ = inspect(data, true);
    let _ = inspect(data, false);
});
