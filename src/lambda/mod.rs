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
