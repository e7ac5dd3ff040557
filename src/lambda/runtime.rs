//! Lambda's runtimes: their identifiers, language, operating system and glibc, and the
//! instruction sets a function runs on.

use std::fmt;

use serde::Serialize;

/// A Lambda runtime identifier, with the facts lamina needs about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Runtime {
    Nodejs18,
    Nodejs20,
    Nodejs22,
    Nodejs24,
    Python39,
    Python310,
    Python311,
    Python312,
    Python313,
    ProvidedAl2,
    ProvidedAl2023,
}

/// The language family of a runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    Node,
    Python,
    /// `provided.*`: a `bootstrap` executable.
    Custom,
}

impl Language {
    /// `Node.js`, `Python`, `custom-runtime`: for messages.
    pub fn label(self) -> &'static str {
        match self {
            Language::Node => "Node.js",
            Language::Python => "Python",
            Language::Custom => "custom-runtime",
        }
    }
}

impl Runtime {
    pub const ALL: [Runtime; 11] = [
        Runtime::Nodejs18,
        Runtime::Nodejs20,
        Runtime::Nodejs22,
        Runtime::Nodejs24,
        Runtime::Python39,
        Runtime::Python310,
        Runtime::Python311,
        Runtime::Python312,
        Runtime::Python313,
        Runtime::ProvidedAl2,
        Runtime::ProvidedAl2023,
    ];

    /// The runtime used for a Node function when neither the flag nor the function says which.
    pub const DEFAULT_NODE: Runtime = Runtime::Nodejs22;

    /// The runtime used for a Python function when neither the flag nor its installed files
    /// (pyc tags, `WHEEL` tags, extension module suffixes) say which.
    pub const DEFAULT_PYTHON: Runtime = Runtime::Python312;

    pub fn id(self) -> &'static str {
        match self {
            Runtime::Nodejs18 => "nodejs18.x",
            Runtime::Nodejs20 => "nodejs20.x",
            Runtime::Nodejs22 => "nodejs22.x",
            Runtime::Nodejs24 => "nodejs24.x",
            Runtime::Python39 => "python3.9",
            Runtime::Python310 => "python3.10",
            Runtime::Python311 => "python3.11",
            Runtime::Python312 => "python3.12",
            Runtime::Python313 => "python3.13",
            Runtime::ProvidedAl2 => "provided.al2",
            Runtime::ProvidedAl2023 => "provided.al2023",
        }
    }

    pub fn parse(text: &str) -> Option<Runtime> {
        Runtime::ALL.into_iter().find(|r| r.id() == text)
    }

    pub fn language(self) -> Language {
        match self {
            Runtime::Nodejs18 | Runtime::Nodejs20 | Runtime::Nodejs22 | Runtime::Nodejs24 => {
                Language::Node
            }
            Runtime::Python39
            | Runtime::Python310
            | Runtime::Python311
            | Runtime::Python312
            | Runtime::Python313 => Language::Python,
            Runtime::ProvidedAl2 | Runtime::ProvidedAl2023 => Language::Custom,
        }
    }

    /// The Node.js major version of a Node runtime (0 for others).
    pub fn node_major(self) -> u32 {
        match self {
            Runtime::Nodejs18 => 18,
            Runtime::Nodejs20 => 20,
            Runtime::Nodejs22 => 22,
            Runtime::Nodejs24 => 24,
            _ => 0,
        }
    }

    /// `(3, minor)` of a Python runtime.
    pub fn python_version(self) -> Option<(u32, u32)> {
        match self {
            Runtime::Python39 => Some((3, 9)),
            Runtime::Python310 => Some((3, 10)),
            Runtime::Python311 => Some((3, 11)),
            Runtime::Python312 => Some((3, 12)),
            Runtime::Python313 => Some((3, 13)),
            _ => None,
        }
    }

    /// The operating system the runtime runs on (AWS's runtime tables).
    pub fn os(self) -> Os {
        match self {
            Runtime::Nodejs18
            | Runtime::Python39
            | Runtime::Python310
            | Runtime::Python311
            | Runtime::ProvidedAl2 => Os::AmazonLinux2,
            _ => Os::AmazonLinux2023,
        }
    }

    /// The glibc of the runtime's OS.
    pub fn glibc(self) -> (u32, u32) {
        self.os().glibc()
    }
}

/// The operating systems of Lambda's runtimes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Os {
    AmazonLinux2,
    AmazonLinux2023,
}

impl Os {
    /// Amazon Linux 2 has glibc 2.26, Amazon Linux 2023 has 2.34.
    pub fn glibc(self) -> (u32, u32) {
        match self {
            Os::AmazonLinux2 => (2, 26),
            Os::AmazonLinux2023 => (2, 34),
        }
    }
}

impl Serialize for Runtime {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.id())
    }
}

impl fmt::Display for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// The instruction set the function runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Arch {
    #[default]
    X86_64,
    Arm64,
}

impl Arch {
    /// What Node's `process.arch` and `os.arch()` say on Lambda.
    pub fn node_arch(self) -> &'static str {
        match self {
            Arch::X86_64 => "x64",
            Arch::Arm64 => "arm64",
        }
    }

    pub fn id(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Arm64 => "arm64",
        }
    }
}
