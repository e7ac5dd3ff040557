//! Lambda's size limits, in exact bytes (AWS's "MB" is 2^20 bytes): "Lambda quotas",
//! https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html.

/// Each zip sent by direct upload.
pub const ZIPPED: u64 = 52_428_800;
/// A function and all its layers, uncompressed.
pub const UNZIPPED: u64 = 262_144_000;
/// The function's own package, to stay editable in the console.
pub const CONSOLE_EDITOR: u64 = 3_145_728;
/// Layers attached to one function.
pub const LAYERS: u64 = 5;
/// All environment variables of a function together, keys and values.
pub const ENV: u64 = 4_096;
