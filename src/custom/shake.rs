//! Shake for custom runtimes: everything beside the executable ships, but for the inputs of
//! the build (Go and Rust sources, their manifests and lockfiles, the build folder) and the
//! user rules (tests, docs); the bootstrap's debug information is stripped at packaging.

use crate::error::Result;
use crate::model::{Decision, EcosystemPlan, Inventory, Plan, Reason, ShakeMode};
use crate::shake::{ShakeOptions, drop_dangling_links, rules};

/// The rule that drops a compiled function's build inputs.
pub const BUILD_INPUT: &str = "custom/build-input";

/// A file that only builds the executable: Go or Rust sources, their manifests and lockfiles,
/// cargo's build folder, a Makefile.
pub fn build_input(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    path.starts_with("target/")
        || name.ends_with(".go")
        || name.ends_with(".rs")
        || [
            "go.mod",
            "go.sum",
            "go.work",
            "Cargo.toml",
            "Cargo.lock",
            "Makefile",
        ]
        .contains(&name)
}

/// Decides every file of a custom-runtime function.
pub fn shake(inventory: &Inventory, options: &ShakeOptions) -> Result<Plan> {
    let handler = inventory.function.handler.file.as_str();
    let mut notes = inventory.imports.notes.clone();
    let mut files: Vec<Decision> = inventory
        .files
        .iter()
        .map(|file| {
            let rule = if options.mode == ShakeMode::None || file.path == handler {
                None
            } else if build_input(&file.path) {
                Some(BUILD_INPUT)
            } else {
                rules::user_file(&file.path, handler)
            };
            match rule {
                Some(rule) => Decision {
                    keep: false,
                    reason: Reason::Rule(rule),
                },
                None if options.mode == ShakeMode::None => Decision {
                    keep: true,
                    reason: Reason::NotShaken,
                },
                None => Decision {
                    keep: true,
                    reason: Reason::UserCode,
                },
            }
        })
        .collect();
    if options.mode == ShakeMode::None {
        notes.push(
            "--shake none: every file ships as installed, the bootstrap unstripped".to_string(),
        );
    } else {
        drop_dangling_links(inventory, &mut files);
    }
    Ok(Plan {
        mode: options.mode,
        files,
        packages: Vec::new(),
        notes,
        ecosystem: EcosystemPlan::Custom {
            strip_debug: options.mode != ShakeMode::None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_and_build_folders_are_build_inputs() {
        for path in [
            "main.go",
            "go.mod",
            "go.sum",
            "src/main.rs",
            "Cargo.toml",
            "target/debug/x",
        ] {
            assert!(build_input(path), "{path}");
        }
        for path in [
            "bootstrap",
            "config.json",
            "lib/libpq.so.5",
            "templates/a.html",
        ] {
            assert!(!build_input(path), "{path}");
        }
    }
}
