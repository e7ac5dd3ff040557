//! Junk rules: files never needed at run time, each rule with a stable id (`docs/rules.md`).
//! A rule never removes a package root, the `main` file, an `exports` target, or a folder that
//! holds one.

use std::collections::HashSet;

use serde_json::Value;

use crate::model::Manifest;

/// A rule id and what it removes, as `docs/rules.md` lists them.
pub struct Rule {
    pub id: &'static str,
    pub removes: &'static str,
}

pub const RULES: &[Rule] = &[
    Rule {
        id: "junk/markdown",
        removes: "Markdown documents (`*.md`, `*.markdown`, `*.mkd`, `*.mdown`) in packages, except licence and notice files",
    },
    Rule {
        id: "junk/readme",
        removes: "`README` and `README.txt`/`.rst` files in packages",
    },
    Rule {
        id: "junk/changelog",
        removes: "`CHANGELOG*`, `CHANGES*` and `HISTORY*` files in packages that are not code (`.js`, `.json`, ... are kept)",
    },
    Rule {
        id: "junk/typescript-declaration",
        removes: "TypeScript declarations (`*.d.ts`, `*.d.mts`, `*.d.cts`) in packages",
    },
    Rule {
        id: "junk/typescript-source",
        removes: "TypeScript sources (`*.ts`, `*.mts`, `*.cts`, `*.tsx`) in packages when a compiled `.js`, `.mjs` or `.cjs` with the same name sits next to them",
    },
    Rule {
        id: "junk/source-map",
        removes: "source maps of scripts and styles (`*.js.map`, `*.mjs.map`, `*.cjs.map`, `*.ts.map`, `*.css.map`, ...) in packages",
    },
    Rule {
        id: "junk/test-folder",
        removes: "folders named `test`, `tests`, `__tests__` or `__mocks__` inside a package",
    },
    Rule {
        id: "junk/example-folder",
        removes: "folders named `example` or `examples` inside a package",
    },
    Rule {
        id: "junk/editor-config",
        removes: "editor, linter and packaging config in packages (`.editorconfig`, `.eslintrc*`, `.prettierrc*`, `.npmignore`, `.gitignore`, `.vscode/`, `.idea/`, `.DS_Store`, ...)",
    },
    Rule {
        id: "junk/ci-config",
        removes: "CI config in packages (`.github/`, `.travis.yml`, `.gitlab-ci.yml`, `appveyor.yml`, `.circleci/`, `.nycrc*`, `codecov.yml`, ...)",
    },
    Rule {
        id: "junk/bin-links",
        removes: "`node_modules/.bin/`: links to package command-line tools, never used by a handler",
    },
    Rule {
        id: "junk/install-metadata",
        removes: "package manager bookkeeping inside `node_modules` (`.package-lock.json`, `.modules.yaml`, `.yarn-integrity`, `.pnpm/lock.yaml`)",
    },
    Rule {
        id: "junk/dangling-link",
        removes: "a link whose target was dropped (such as pnpm's link to a dev dependency)",
    },
    Rule {
        id: "trace/unreached",
        removes: "`--shake files`: a file of a traced package, or a script or Python module of the user's own code, that no import from the handler reaches (packages kept whole and the user's non-script files are never dropped by it; Python: only module files of a distribution go, and a distribution none of whose modules is reached keeps its metadata folder)",
    },
    Rule {
        id: "user/vcs",
        removes: "version control folders and files of the function (`.git/`, `.hg/`, `.svn/`, and `.gitignore`, `.gitattributes`, `.gitmodules`, `.hgignore` at its root)",
    },
    Rule {
        id: "user/editor-config",
        removes: "editor config of the function (`.vscode/`, `.idea/`, `.editorconfig`, `.DS_Store`)",
    },
    Rule {
        id: "user/ci-config",
        removes: "CI config of the function (`.github/`, `.gitlab-ci.yml`, `.circleci/`, `.travis.yml`, `bitbucket-pipelines.yml`, `Jenkinsfile`)",
    },
    Rule {
        id: "user/lockfile",
        removes: "lockfiles (`package-lock.json`, `npm-shrinkwrap.json`, `yarn.lock`, `pnpm-lock.yaml`, `bun.lock`, `bun.lockb`)",
    },
    Rule {
        id: "user/package-manager-config",
        removes: "package manager config of the function (`.npmrc`, `.yarnrc`, `.yarnrc.yml`, `.npmignore`), which may hold registry credentials",
    },
    Rule {
        id: "user/tests",
        removes: "the function's tests: folders `test`, `tests`, `__tests__`, `__mocks__`, `coverage`, files `*.test.*` and `*.spec.*`, and test runner config (`jest.config.*`, `vitest.config.*`, `.mocharc*`); never the handler file (Python: a `test`/`tests` folder your code imports stays)",
    },
    Rule {
        id: "user/package-pattern",
        removes: "files a Serverless Framework `package.patterns` entry excludes (`!glob`, matched in order against paths relative to the service folder, the last matching pattern winning), after the framework's own excludes (`.serverless/**`, `.serverless_plugins/**`, `.git/**`, `.gitignore`, `.DS_Store`, `npm-debug.log`); never the handler, nor a kept package's `main`/`exports` target or top-level Python module, nor a file `--shake files` traced from the handler (a note names the pattern)",
    },
    Rule {
        id: "py/pycache-foreign-version",
        removes: "`__pycache__` pycs whose magic number is not the target Python's (compiled by another version, which Lambda's Python never reads)",
    },
    Rule {
        id: "py/pycache-orphan",
        removes: "pycs Python never reads: a `__pycache__` pyc whose `.py` does not ship, and a legacy `x.pyc` beside its `x.py` (a lone `x.pyc`, a sourceless module, stays)",
    },
    Rule {
        id: "py/pycache-optimized",
        removes: "`__pycache__/*.opt-1.pyc` and `*.opt-2.pyc`, only read under `python -O`, which Lambda does not use",
    },
    Rule {
        id: "py/pycache-stale",
        removes: "`__pycache__` pycs that no longer match their source (a timestamp pyc whose recorded mtime or size differs, a hash pyc whose hash differs): rewriting them would make outdated code run",
    },
    Rule {
        id: "py/bytecode-source",
        removes: "`build --python-bytecode source`: every pyc whose `.py` ships (in `__pycache__`, or a legacy `x.pyc` beside `x.py`); a lone `x.pyc`, a sourceless module, stays",
    },
    Rule {
        id: "py/test-folder",
        removes: "folders named exactly `tests` or `test` inside the dependencies that no shipped code imports (never modules such as `jinja2/tests.py` or folders such as `numpy/testing`, `pandas/_testing`)",
    },
    Rule {
        id: "py/type-stub",
        removes: "type stubs (`*.pyi`) and `py.typed` markers, read only by type checkers",
    },
    Rule {
        id: "py/install-metadata",
        removes: "what only pip reads in `*.dist-info`/`*.egg-info`: `RECORD`, `INSTALLER`, `REQUESTED`, `direct_url.json`, `SOURCES.txt`, `installed-files.txt`, `dependency_links.txt`, `not-zip-safe` (`METADATA`, `entry_points.txt`, `top_level.txt`, `requires.txt`, `WHEEL` and licences stay), and the empty `.lock` that `uv pip install --target` leaves at the root of the dependencies folder",
    },
    Rule {
        id: "py/console-script",
        removes: "console scripts in the dependencies' `bin/` whose `#!` names the interpreter of the machine they were installed on (it does not exist on Lambda)",
    },
    Rule {
        id: "trace/sdk-model",
        removes: "`--shake files`, Python: an AWS service's model under `botocore/data/<service>/` (and boto3's `boto3/data/<service>/` resource model) when the reached code names other services to SDK clients (`boto3.client(\"dynamodb\")`, `resource`, `create_client`) and none by a computed name; `sts`, `sso` and `sso-oidc` (botocore's own credential providers) and the shared files at `botocore/data/`'s top always stay; Node: a model under the AWS SDK v2's `aws-sdk/apis/` that only the client of a service the reached code never names would load (`new AWS.SQS()`, `const { S3 } = require(\"aws-sdk\")`, `aws-sdk/clients/sqs`), unless some code indexes or passes on the `aws-sdk` module; STS, Cognito Identity and SSO (the SDK's own credential providers) and files no client requires (`metadata.json`) always stay",
    },
    Rule {
        id: "trace/package-data",
        removes: "`--shake files`: a traced package's data files that an entry of `data/packages.toml` says only some APIs read, when no reached code uses them; the report names the entry. Python: AWS Lambda Powertools' Swagger UI bundle, read only by `enable_swagger`; Node: iconv-lite's double-byte tables (`encodings/tables/`), which body-parser's `json()` and `urlencoded()` never decode with, unless code outside express, body-parser and raw-body loads iconv-lite or raw-body, uses `text` of `express` or `body-parser`, or passes those modules on",
    },
    Rule {
        id: "trace/unnamed-script",
        removes: "`--shake files`, Node: a script that only a package's computed `require` of its own folder reaches, when an entry of `data/packages.toml` says which APIs pass that name in and every call of them in the code that ships passes literal names, none of which can load it (moment's `locale/` scripts other than those named by `moment.locale(\"fr\")`, `m.locale(..)`, `moment(input, format, \"fr\")`, `localeData`, `defineLocale`/`updateLocale` and their `parentLocale`); a name computed or held in a variable, a method's name as a string, or the module passed on keeps them all; the report names the entry and the names",
    },
    Rule {
        id: "custom/build-input",
        removes: "a custom-runtime function's build inputs beside its `bootstrap`: Go and Rust sources (`*.go`, `*.rs`), `go.mod`, `go.sum`, `go.work`, `Cargo.toml`, `Cargo.lock`, a `Makefile` and cargo's `target/` (never the executable itself)",
    },
];

const CODE_EXTENSIONS: [&str; 7] = ["js", "cjs", "mjs", "json", "node", "wasm", "jsx"];

fn extension(name: &str) -> &str {
    name.rsplit_once('.').map_or("", |(_, ext)| ext)
}

pub(crate) fn file_name(path: &str) -> &str {
    path.rsplit_once('/').map_or(path, |(_, name)| name)
}

/// Whether a file's name (not its path) is a licence's or a notice's, which every rule keeps.
pub fn is_licence(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    ["copying", "authors"]
        .iter()
        .any(|prefix| lower.starts_with(prefix))
        // `MIT-LICENSE`, `LICENSE-APACHE`, `ThirdPartyNoticeText.txt`, `THIRD_PARTY_NOTICES`.
        || ["license", "licence", "notice"]
            .iter()
            .any(|word| lower.contains(word))
}

/// Paths of a package that Node may load as an entry point: `main` and every `exports` target.
///
/// Looked up by hash, not by a walk of the targets: shake asks about every file of a package,
/// and a package can export thousands of targets.
#[derive(Debug, Default)]
pub struct Protected {
    /// Package-relative targets without `./`.
    exact: HashSet<String>,
    /// The `*` patterns' targets, cut at the `*`.
    prefixes: Vec<String>,
    /// Every folder that holds a target: each `/`-ended beginning of one, without its `/`.
    folders: HashSet<String>,
}

/// What an entry point's path may add to a target: Node tries these extensions.
const ENTRY_EXTENSIONS: [&str; 5] = ["js", "json", "node", "cjs", "mjs"];

impl Protected {
    pub fn of(manifest: &Manifest) -> Protected {
        let mut protected = Protected::default();
        let main = manifest.main.as_deref().unwrap_or("index.js");
        protected.add(main);
        if let Some(exports) = &manifest.exports {
            protected.add_exports(exports);
        }
        protected
    }

    fn add(&mut self, target: &str) {
        let target = target.trim_start_matches("./").trim_end_matches('/');
        let target = match target.split_once('*') {
            Some((prefix, _)) => {
                if !self.prefixes.iter().any(|known| known == prefix) {
                    self.prefixes.push(prefix.to_string());
                }
                prefix
            }
            None => {
                self.exact.insert(target.to_string());
                target
            }
        };
        for (at, _) in target.match_indices('/') {
            self.folders.insert(target[..at].to_string());
        }
    }

    fn add_exports(&mut self, exports: &Value) {
        match exports {
            Value::String(target) => self.add(target),
            Value::Array(targets) => targets.iter().for_each(|target| self.add_exports(target)),
            Value::Object(map) => {
                for (key, value) in map {
                    // Node never loads what the `types` conditions point at.
                    if key != "types" && key != "typings" {
                        self.add_exports(value);
                    }
                }
            }
            _ => {}
        }
    }

    /// Whether a package-relative file may be an entry point: a target itself, a target with
    /// an extension Node tries, inside a target (a folder), or under a pattern's beginning.
    pub fn file(&self, path: &str) -> bool {
        self.exact.contains(path)
            || path
                .match_indices('/')
                .any(|(at, _)| self.exact.contains(&path[..at]))
            || path.rsplit_once('.').is_some_and(|(stem, extension)| {
                ENTRY_EXTENSIONS.contains(&extension) && self.exact.contains(stem)
            })
            || self
                .prefixes
                .iter()
                .any(|prefix| path.starts_with(prefix.as_str()))
    }

    /// Whether a package-relative folder holds an entry point.
    pub fn folder(&self, folder: &str) -> bool {
        self.folders.contains(folder)
            || self.exact.contains(folder)
            || self.prefixes.iter().any(|prefix| {
                // The pattern's beginning is this folder, or one it is in.
                folder.starts_with(prefix.as_str()) || prefix.strip_suffix('/') == Some(folder)
            })
    }
}

/// The rule that drops a file of a kept package, if any. `path` is relative to the package
/// folder; `siblings` holds every package-relative path of the package, for sibling checks.
pub fn package_file(
    path: &str,
    protected: &Protected,
    siblings: &HashSet<&str>,
) -> Option<&'static str> {
    if protected.file(path) {
        return None;
    }
    let parts: Vec<&str> = path.split('/').collect();
    let (folders, name) = parts.split_at(parts.len() - 1);
    let name = name[0];
    for (depth, folder) in folders.iter().enumerate() {
        let rule = match *folder {
            "test" | "tests" | "__tests__" | "__mocks__" => "junk/test-folder",
            "example" | "examples" => "junk/example-folder",
            ".github" | ".circleci" => "junk/ci-config",
            ".vscode" | ".idea" => "junk/editor-config",
            _ => continue,
        };
        if !protected.folder(&parts[..=depth].join("/")) {
            return Some(rule);
        }
        return None;
    }
    let lower = name.to_ascii_lowercase();
    let ext = extension(&lower);
    let code = CODE_EXTENSIONS.contains(&ext);
    if ["md", "markdown", "mkd", "mdown"].contains(&ext) && !is_licence(name) {
        return Some("junk/markdown");
    }
    if !code && (lower == "readme" || lower == "readme.txt" || lower == "readme.rst") {
        return Some("junk/readme");
    }
    if !code
        && ["changelog", "changes", "history"]
            .iter()
            .any(|prefix| lower.starts_with(prefix))
    {
        return Some("junk/changelog");
    }
    if [".d.ts", ".d.mts", ".d.cts"]
        .iter()
        .any(|suffix| lower.ends_with(suffix))
    {
        return Some("junk/typescript-declaration");
    }
    if ext == "map" {
        let inner = extension(&lower[..lower.len() - 4]);
        if ["js", "mjs", "cjs", "jsx", "ts", "mts", "cts", "tsx", "css"].contains(&inner) {
            return Some("junk/source-map");
        }
    }
    if ["ts", "mts", "cts", "tsx"].contains(&ext) {
        let stem = &path[..path.len() - ext.len() - 1];
        if ["js", "mjs", "cjs"]
            .iter()
            .any(|js| siblings.contains(format!("{stem}.{js}").as_str()))
        {
            return Some("junk/typescript-source");
        }
    }
    if lower.starts_with(".eslintrc")
        || lower.starts_with(".prettierrc")
        || matches!(
            lower.as_str(),
            ".editorconfig"
                | ".eslintignore"
                | ".prettierignore"
                | ".jshintrc"
                | ".jscsrc"
                | ".npmignore"
                | ".gitignore"
                | ".gitattributes"
                | ".gitmodules"
                | ".ds_store"
        )
    {
        return Some("junk/editor-config");
    }
    if lower.starts_with(".nycrc")
        || matches!(
            lower.as_str(),
            ".travis.yml"
                | ".gitlab-ci.yml"
                | "appveyor.yml"
                | ".appveyor.yml"
                | "azure-pipelines.yml"
                | ".coveralls.yml"
                | "codecov.yml"
                | ".codecov.yml"
                | ".airtap.yml"
                | ".zuul.yml"
                | ".taprc"
        )
    {
        return Some("junk/ci-config");
    }
    None
}

/// The rule that drops a file under `node_modules` that belongs to no package, if any.
pub fn unowned_file(path: &str) -> Option<&'static str> {
    let name = file_name(path);
    if path.starts_with("node_modules/.bin/") || path.contains("/node_modules/.bin/") {
        return Some("junk/bin-links");
    }
    if matches!(
        name,
        ".package-lock.json" | ".modules.yaml" | ".yarn-integrity" | ".yarn-state.yml"
    ) || path.ends_with("node_modules/.pnpm/lock.yaml")
    {
        return Some("junk/install-metadata");
    }
    None
}

/// The rule that drops a file of the user's own code, if any. The handler is never dropped.
pub fn user_file(path: &str, handler: &str) -> Option<&'static str> {
    if path == handler {
        return None;
    }
    let parts: Vec<&str> = path.split('/').collect();
    let (folders, name) = parts.split_at(parts.len() - 1);
    let name = name[0];
    let handler_inside =
        |depth: usize| handler.starts_with(&format!("{}/", parts[..=depth].join("/")));
    for (depth, folder) in folders.iter().enumerate() {
        let rule = match *folder {
            ".git" | ".hg" | ".svn" => "user/vcs",
            ".vscode" | ".idea" => "user/editor-config",
            ".github" | ".circleci" => "user/ci-config",
            "test" | "tests" | "__tests__" | "__mocks__" | "coverage" => "user/tests",
            _ => continue,
        };
        if !handler_inside(depth) {
            return Some(rule);
        }
    }
    let lower = name.to_ascii_lowercase();
    if matches!(lower.as_str(), ".editorconfig" | ".ds_store") {
        return Some("user/editor-config");
    }
    if folders.is_empty()
        && matches!(
            lower.as_str(),
            ".gitignore" | ".gitattributes" | ".gitmodules" | ".hgignore"
        )
    {
        return Some("user/vcs");
    }
    // May hold registry credentials: never ship them.
    if matches!(
        lower.as_str(),
        ".npmrc" | ".yarnrc" | ".yarnrc.yml" | ".npmignore"
    ) {
        return Some("user/package-manager-config");
    }
    if matches!(
        lower.as_str(),
        ".gitlab-ci.yml" | ".travis.yml" | "bitbucket-pipelines.yml" | "jenkinsfile"
    ) {
        return Some("user/ci-config");
    }
    if folders.is_empty()
        && matches!(
            name,
            "package-lock.json"
                | "npm-shrinkwrap.json"
                | "yarn.lock"
                | "pnpm-lock.yaml"
                | "bun.lock"
                | "bun.lockb"
        )
    {
        return Some("user/lockfile");
    }
    let stem_parts: Vec<&str> = lower.split('.').collect();
    let script = stem_parts.len() >= 3
        && ["js", "cjs", "mjs", "jsx", "ts", "tsx", "mts", "cts"]
            .contains(&stem_parts[stem_parts.len() - 1]);
    if script && matches!(stem_parts[stem_parts.len() - 2], "test" | "spec") {
        return Some("user/tests");
    }
    if ["jest.config.", "vitest.config.", ".mocharc"]
        .iter()
        .any(|prefix| lower.starts_with(prefix))
    {
        return Some("user/tests");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn licence_and_notice_files_are_known_by_any_part_of_their_name() {
        for name in [
            "LICENSE",
            "license.md",
            "LICENCE.txt",
            "MIT-LICENSE",
            "LICENSE-APACHE",
            "ThirdPartyNoticeText.txt",
            "THIRD_PARTY_NOTICES.md",
            "NOTICE",
            "COPYING.LESSER",
            "AUTHORS",
        ] {
            assert!(is_licence(name), "{name}");
        }
        for name in ["README.md", "CHANGELOG.md", "index.js", "contributors.md"] {
            assert!(!is_licence(name), "{name}");
        }
    }

    fn manifest(main: Option<&str>, exports: Option<Value>) -> Manifest {
        Manifest {
            main: main.map(str::to_string),
            exports,
            ..Manifest::default()
        }
    }

    fn rule(path: &str, protected: &Protected) -> Option<&'static str> {
        package_file(
            path,
            protected,
            &HashSet::from(["lib/index.js", "lib/index.ts"]),
        )
    }

    #[test]
    fn documentation_goes_but_licences_stay() {
        let none = Protected::of(&manifest(None, None));
        assert_eq!(rule("README.md", &none), Some("junk/markdown"));
        assert_eq!(rule("docs/api.markdown", &none), Some("junk/markdown"));
        assert_eq!(rule("CHANGELOG", &none), Some("junk/changelog"));
        assert_eq!(rule("History.txt", &none), Some("junk/changelog"));
        assert_eq!(rule("README", &none), Some("junk/readme"));
        assert_eq!(rule("LICENSE.md", &none), None);
        assert_eq!(rule("LICENSE", &none), None);
    }

    #[test]
    fn code_named_like_documentation_stays() {
        let none = Protected::of(&manifest(None, None));
        // A module called history.js or readme.js is code, not a document.
        assert_eq!(rule("history.js", &none), None);
        assert_eq!(rule("lib/readme.js", &none), None);
        assert_eq!(rule("changes.json", &none), None);
    }

    #[test]
    fn typescript_goes_only_beside_compiled_javascript() {
        let none = Protected::of(&manifest(None, None));
        assert_eq!(
            rule("lib/index.d.ts", &none),
            Some("junk/typescript-declaration")
        );
        assert_eq!(rule("lib/index.ts", &none), Some("junk/typescript-source"));
        assert_eq!(rule("src/only.ts", &none), None);
        assert_eq!(rule("lib/index.js.map", &none), Some("junk/source-map"));
        assert_eq!(rule("data/world.map", &none), None);
    }

    #[test]
    fn main_named_like_junk_is_protected() {
        // invariant: entry-points-protected
        // A `main` in a test folder, or a minified main, is never removed.
        let protected = Protected::of(&manifest(Some("./test/entry"), None));
        assert_eq!(rule("test/entry.js", &protected), None);
        assert_eq!(
            rule("test/other.js", &protected),
            None,
            "the folder holds main"
        );
        let protected = Protected::of(&manifest(Some("x.min.js"), None));
        assert_eq!(rule("x.min.js", &protected), None);
        assert_eq!(rule("tests/unit.js", &protected), Some("junk/test-folder"));
    }

    /// The targets' rules spelled out one target at a time, to hold the index to.
    fn protected_by_walk(targets: &[&str], path: &str, folder: bool) -> bool {
        targets.iter().any(|target| {
            let target = target.trim_start_matches("./").trim_end_matches('/');
            let (target, pattern) = match target.split_once('*') {
                Some((prefix, _)) => (prefix, true),
                None => (target, false),
            };
            if folder {
                let inside = format!("{path}/");
                return target.starts_with(&inside)
                    || target == path
                    || (pattern && inside.starts_with(target));
            }
            if pattern {
                return path.starts_with(target);
            }
            path == target
                || path.strip_prefix(target).is_some_and(|rest| {
                    rest.starts_with('/')
                        || ENTRY_EXTENSIONS
                            .iter()
                            .any(|extension| rest.strip_prefix('.') == Some(extension))
                })
        })
    }

    #[test]
    fn the_entry_point_index_answers_as_each_target_would() {
        // invariant: entry-points-protected
        let targets = [
            "./lib/index.js",
            "./dist/cjs",
            "./dist/esm/",
            "./locale/*.js",
            "./fp/*",
            "./a.b",
            "./deep/er/file",
            "./x/y*",
            ".",
        ];
        let exports = Value::Array(targets.iter().map(|target| (*target).into()).collect());
        let protected = Protected::of(&manifest(Some("main"), Some(exports)));
        let mut all = targets.to_vec();
        all.push("main");
        let paths = [
            "lib/index.js",
            "lib/index.js/inner.js",
            "lib/index.jsx",
            "lib/index",
            "lib",
            "dist/cjs",
            "dist/cjs.js",
            "dist/cjs.mjs",
            "dist/cjs.ts",
            "dist/cjs/x/y.js",
            "dist/cjsx/y.js",
            "dist",
            "dist/esm/a.js",
            "dist/esm",
            "locale",
            "locale/fr.js",
            "locale2/fr.js",
            "fp",
            "fp/map.js",
            "fpx/map.js",
            "a.b",
            "a.b.js",
            "a.b.c",
            "a",
            "deep",
            "deep/er",
            "deep/er/file.node",
            "deep/er/filex",
            "x",
            "x/y",
            "x/yz/w",
            "x/z",
            "main",
            "main.json",
            "main/index.js",
            "mainx",
            ".js",
            "",
        ];
        for path in paths {
            for folder in [false, true] {
                let indexed = if folder {
                    protected.folder(path)
                } else {
                    protected.file(path)
                };
                assert_eq!(
                    indexed,
                    protected_by_walk(&all, path, folder),
                    "{path} (as a folder: {folder})"
                );
            }
        }
    }

    #[test]
    fn every_exports_condition_target_is_protected() {
        // invariant: entry-points-protected
        let exports = serde_json::json!({
            ".": {
                "module-sync": "./esm/sync.md",
                "import": "./examples/index.mjs",
                "require": ["./cjs/CHANGELOG.js"],
                "types": "./index.d.ts",
                "default": "./README"
            },
            "./features/*": "./tests/features/*.js"
        });
        let protected = Protected::of(&manifest(None, Some(exports)));
        assert_eq!(rule("esm/sync.md", &protected), None);
        assert_eq!(rule("examples/index.mjs", &protected), None);
        assert_eq!(rule("README", &protected), None);
        assert_eq!(rule("tests/features/a.js", &protected), None);
        assert_eq!(
            rule("index.d.ts", &protected),
            Some("junk/typescript-declaration")
        );
    }

    #[test]
    fn user_rules_never_drop_the_handler() {
        // invariant: entry-points-protected
        assert_eq!(user_file(".git/HEAD", "index.js"), Some("user/vcs"));
        assert_eq!(
            user_file("tests/handler.test.js", "index.js"),
            Some("user/tests")
        );
        assert_eq!(user_file("src/app.spec.ts", "index.js"), Some("user/tests"));
        assert_eq!(
            user_file("package-lock.json", "index.js"),
            Some("user/lockfile")
        );
        assert_eq!(user_file("tests/handler.js", "tests/handler.js"), None);
        assert_eq!(user_file("test/lib.js", "test/handler.js"), None);
        assert_eq!(user_file("src/latest.js", "index.js"), None);
        assert_eq!(user_file("package.json", "index.js"), None);
        assert_eq!(
            user_file(".npmrc", "index.js"),
            Some("user/package-manager-config")
        );
        assert_eq!(user_file(".gitignore", "index.js"), Some("user/vcs"));
    }

    #[test]
    fn node_modules_bookkeeping_goes() {
        assert_eq!(
            unowned_file("node_modules/.bin/tsc"),
            Some("junk/bin-links")
        );
        assert_eq!(
            unowned_file("node_modules/.package-lock.json"),
            Some("junk/install-metadata")
        );
        assert_eq!(unowned_file("node_modules/stray.js"), None);
    }
}
