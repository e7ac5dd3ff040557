//! Lambda's facts, in one place: the runtimes (language, OS, glibc), what each ships (the
//! SDK and its floors), the size limits, handler syntax and the files a handler names, where
//! layers put code, which wheel tags load, and what a native binary is. Scan records facts
//! against these; verify judges by them; nothing else restates them.

pub mod binary;
pub mod handler;
pub mod layers;
pub mod limits;
pub mod runtime;
pub mod sdk;
pub mod wheel;

pub use runtime::{Arch, Language, Os, Runtime};

/// Environment variables Lambda sets in every function's process and reserves (a function's
/// configuration cannot set them), with the value where it is the same in every function.
/// (The credentials are reserved too, but absent under SnapStart's restore hooks; not listed.)
pub const RESERVED_ENVIRONMENT: [(&str, Option<&str>); 13] = [
    ("_HANDLER", None),
    ("AWS_DEFAULT_REGION", None),
    ("AWS_EXECUTION_ENV", None),
    ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", None),
    ("AWS_LAMBDA_FUNCTION_NAME", None),
    ("AWS_LAMBDA_FUNCTION_VERSION", None),
    ("AWS_LAMBDA_INITIALIZATION_TYPE", None),
    ("AWS_LAMBDA_LOG_GROUP_NAME", None),
    ("AWS_LAMBDA_LOG_STREAM_NAME", None),
    ("AWS_LAMBDA_RUNTIME_API", None),
    ("AWS_REGION", None),
    ("LAMBDA_RUNTIME_DIR", Some("/var/runtime")),
    ("LAMBDA_TASK_ROOT", Some("/var/task")),
];
