//! Custom runtimes (`provided.al2023`, `provided.al2`): a `bootstrap` executable written in
//! Go, Rust or C++. Building blocks, each usable on its own: where the executable is in a
//! function folder (`layout`), what a binary is and needs (`elf`), what the runtime's image
//! gives it and the judgement of one against the other (`image`), stripping it without
//! changing what it does (`strip`), and running it against a Lambda Runtime API served on a
//! loopback port (`runtime_api`, `smoke`).

pub mod elf;
pub mod image;
pub mod layout;
pub mod runtime_api;
pub mod smoke;
pub mod strip;
