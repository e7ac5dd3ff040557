//! Custom runtimes (`provided.al2023`, `provided.al2`): a `bootstrap` executable written in
//! Go, Rust or C++. Building blocks, each usable on its own: what a binary is and needs
//! (`elf`), stripping it without changing what it does (`strip`), what the runtime's image
//! ships (`image`), and running it against a Lambda Runtime API served on a loopback port
//! (`runtime_api`, `smoke`).

pub mod elf;
pub mod runtime_api;
pub mod smoke;
pub mod strip;
