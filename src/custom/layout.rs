//! Where a custom runtime's executable is in a function folder. Lambda always starts
//! `/var/task/bootstrap`; `_HANDLER` is only passed along. Builds leave it in a few places:
//! `go build -o bootstrap` in the folder, cargo lambda in `target/lambda/<binary>/bootstrap`, or
//! a binary under another name that `--handler` (or the template's `Handler`) names, which then
//! ships as `bootstrap`.

use std::path::{Path, PathBuf};

/// The executable found, and why it is the one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The file in the function folder.
    pub source: PathBuf,
    /// Its path relative to the function folder (`target/lambda/orders/bootstrap`).
    pub relative: String,
    /// How it was found, for the report.
    pub origin: &'static str,
}

/// The artifact path every custom runtime's executable ships at.
pub const BOOTSTRAP: &str = "bootstrap";

/// Finds the executable of the function in `folder`: the file `handler` names (relative to the
/// folder, or a cargo lambda binary name), else `bootstrap`, else the one
/// `target/lambda/*/bootstrap`. An error says what it looked for (the caller names the
/// folder).
pub fn locate(folder: &Path, handler: Option<&str>) -> Result<Located, String> {
    let found = |relative: String, origin: &'static str| Located {
        source: folder.join(&relative),
        relative,
        origin,
    };
    let cargo_lambda = folder.join("target/lambda");
    if let Some(handler) = handler.filter(|handler| !handler.is_empty()) {
        let handler = handler.trim_start_matches("./");
        if is_file(&folder.join(handler)) {
            return Ok(found(handler.to_string(), "the handler names it"));
        }
        let built = format!("target/lambda/{handler}/bootstrap");
        if is_file(&folder.join(&built)) {
            return Ok(found(built, "cargo lambda's build of the handler's binary"));
        }
    }
    if is_file(&folder.join(BOOTSTRAP)) {
        return Ok(found(
            BOOTSTRAP.to_string(),
            "bootstrap in the function folder",
        ));
    }
    let mut built: Vec<String> = crate::fs::read_dir(&cargo_lambda)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|entry| is_file(&entry.path().join(BOOTSTRAP)))
                .map(|entry| {
                    format!(
                        "target/lambda/{}/bootstrap",
                        entry.file_name().to_string_lossy()
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    built.sort();
    match built.len() {
        1 => Ok(found(built.remove(0), "cargo lambda's build")),
        0 => Err(format!(
            "no bootstrap: a custom runtime runs an executable named bootstrap (`go build -o bootstrap`, `cargo lambda build`){}",
            handler.map_or(String::new(), |handler| format!(
                ", and no file {handler} as the handler names"
            ))
        )),
        _ => Err(format!(
            "cargo lambda built several binaries ({}); name one with --handler",
            built.join(", ")
        )),
    }
}

/// A regular file (a link to one counts: scan decides what links may ship).
fn is_file(path: &Path) -> bool {
    path.is_file()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(files: &[&str]) -> tempfile::TempDir {
        let folder = tempfile::tempdir().unwrap();
        for file in files {
            let path = folder.path().join(file);
            crate::fs::create_dir_all(path.parent().unwrap()).unwrap();
            crate::fs::write(path, b"\x7fELF").unwrap();
        }
        folder
    }

    #[test]
    fn go_build_output_is_found() {
        let dir = folder(&["bootstrap", "config.json"]);
        let located = locate(dir.path(), None).unwrap();
        assert_eq!(located.relative, "bootstrap");
        assert_eq!(located.source, dir.path().join("bootstrap"));
    }

    #[test]
    fn a_handler_names_a_binary_or_a_cargo_lambda_build() {
        let dir = folder(&[
            "orders",
            "bootstrap",
            "target/lambda/users/bootstrap",
            "target/lambda/orders-api/bootstrap",
        ]);
        assert_eq!(
            locate(dir.path(), Some("orders")).unwrap().relative,
            "orders"
        );
        assert_eq!(
            locate(dir.path(), Some("./orders")).unwrap().relative,
            "orders"
        );
        assert_eq!(
            locate(dir.path(), Some("users")).unwrap().relative,
            "target/lambda/users/bootstrap"
        );
        // A handler that names nothing (provided's default `bootstrap`, or a label) falls back.
        assert_eq!(
            locate(dir.path(), Some("hello.handler")).unwrap().relative,
            "bootstrap"
        );
    }

    #[test]
    fn one_cargo_lambda_build_is_found_and_several_are_asked_about() {
        let one = folder(&["Cargo.toml", "target/lambda/orders/bootstrap"]);
        assert_eq!(
            locate(one.path(), None).unwrap().relative,
            "target/lambda/orders/bootstrap"
        );
        let two = folder(&["target/lambda/a/bootstrap", "target/lambda/b/bootstrap"]);
        let error = locate(two.path(), None).unwrap_err();
        assert!(error.contains("several binaries"), "{error}");
        assert!(error.contains("target/lambda/a/bootstrap, target/lambda/b/bootstrap"));
    }

    #[test]
    fn nothing_found_says_where_it_looked() {
        let dir = folder(&["main.go"]);
        let error = locate(dir.path(), Some("main")).unwrap_err();
        assert!(error.contains("no bootstrap"), "{error}");
        assert!(error.contains("no file main"), "{error}");
    }
}
