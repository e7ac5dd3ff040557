//! Lambda's handler setting: `FILE.EXPORT` on Node.js (`src/index.handler`), `MODULE.FUNCTION`
//! on Python (`app.lambda_handler`, `pkg/app.handler`), and, on a custom runtime, whatever its
//! `bootstrap` makes of it.

use crate::lambda::Language;

/// The extensions a Node.js runtime tries for a handler's file, in its order.
pub const NODE_EXTENSIONS: [&str; 3] = ["js", "mjs", "cjs"];

/// Splits a handler at its last dot: `src/index.handler` → (`src/index`, `handler`); `None`
/// when either side is empty.
pub fn split(spec: &str) -> Option<(&str, &str)> {
    spec.rsplit_once('.')
        .filter(|(module, export)| !module.is_empty() && !export.is_empty())
}

/// The files, relative to a code root (`/var/task`, a layer's search folder), a runtime of
/// `language` tries for a handler's module, in its order: Node.js `src/index` → `src/index.js`,
/// `.mjs`, `.cjs`; Python `pkg.app` or `pkg/app` → `pkg/app.py`, `pkg/app/__init__.py`. A
/// custom runtime's `bootstrap` decides what the handler means: none.
pub fn files(language: Language, module: &str) -> Vec<String> {
    match language {
        Language::Node => NODE_EXTENSIONS
            .iter()
            .map(|extension| format!("{module}.{extension}"))
            .collect(),
        Language::Python => {
            let path = module.replace('.', "/");
            vec![format!("{path}.py"), format!("{path}/__init__.py")]
        }
        Language::Custom => Vec::new(),
    }
}

/// The layer folders (under `/opt`) a runtime of `language` loads a handler's module from:
/// Python's search folders (`python/` alone when the version is unknown); Node.js loads a
/// handler from the function only; a custom runtime starts `bootstrap`.
pub fn layer_folders(language: Language, runtime: Option<crate::lambda::Runtime>) -> Vec<String> {
    match (language, runtime) {
        (Language::Python, Some(runtime)) => crate::lambda::layers::search_folders(runtime),
        (Language::Python, None) => vec![crate::lambda::layers::PYTHON_FOLDER.to_string()],
        _ => Vec::new(),
    }
}

/// The languages whose handler files a zip may hold: the runtime's, or, when it is unknown,
/// every language whose runtimes load a handler file.
pub fn languages(runtime: Option<crate::lambda::Runtime>) -> Vec<Language> {
    match runtime {
        Some(runtime) => vec![runtime.language()],
        None => vec![Language::Node, Language::Python],
    }
}

/// Whether the runtime starts an executable `bootstrap` (from `/var/task` or `/opt`) rather
/// than loading a handler file.
pub fn starts_bootstrap(runtime: crate::lambda::Runtime) -> bool {
    runtime.language() == Language::Custom
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handlers_split_at_the_last_dot() {
        assert_eq!(split("src/index.handler"), Some(("src/index", "handler")));
        assert_eq!(split("pkg.app.main"), Some(("pkg.app", "main")));
        assert_eq!(split("index"), None);
        assert_eq!(split(".handler"), None);
        assert_eq!(split("index."), None);
    }

    #[test]
    fn each_language_tries_its_own_files() {
        assert_eq!(
            files(Language::Node, "src/index"),
            ["src/index.js", "src/index.mjs", "src/index.cjs"]
        );
        assert_eq!(
            files(Language::Python, "pkg.app"),
            ["pkg/app.py", "pkg/app/__init__.py"]
        );
        assert!(files(Language::Custom, "bootstrap").is_empty());
    }

    #[test]
    fn python_handlers_may_come_from_layers_node_handlers_never() {
        use crate::lambda::Runtime;
        assert_eq!(
            layer_folders(Language::Python, Some(Runtime::Python311)),
            ["python/lib/python3.11/site-packages", "python"]
        );
        assert_eq!(layer_folders(Language::Python, None), ["python"]);
        assert!(layer_folders(Language::Node, Some(Runtime::Nodejs22)).is_empty());
        assert_eq!(languages(None), [Language::Node, Language::Python]);
        assert_eq!(languages(Some(Runtime::Python312)), [Language::Python]);
        assert!(starts_bootstrap(Runtime::ProvidedAl2));
        assert!(!starts_bootstrap(Runtime::Nodejs20));
    }
}
