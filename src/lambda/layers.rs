//! Where a runtime finds code under `/opt`, where layers are extracted: the folders on
//! Node.js's `NODE_PATH` and Python's `sys.path` ("Packaging your layer content",
//! https://docs.aws.amazon.com/lambda/latest/dg/packaging-layers.html). A function's own zip
//! is extracted to `/var/task`, which both search first (Python) or last (Node.js).

use crate::lambda::{Language, Runtime};

/// The layer folder every Node.js runtime searches.
pub const NODE_FOLDER: &str = "nodejs/node_modules";

/// The layer folder every Python runtime searches.
pub const PYTHON_FOLDER: &str = "python";

/// The Node.js layer folder of one major version: `nodejs/node22/node_modules`.
pub fn node_versioned_folder(runtime: Runtime) -> String {
    format!("nodejs/node{}/node_modules", runtime.node_major())
}

/// The Python layer folder of one version: `python/lib/python3.12/site-packages`.
pub fn python_site_packages(runtime: Runtime) -> Option<String> {
    let (major, minor) = runtime.python_version()?;
    Some(format!("python/lib/python{major}.{minor}/site-packages"))
}

/// The folders of a layer a runtime searches for modules, in its order.
pub fn search_folders(runtime: Runtime) -> Vec<String> {
    match runtime.language() {
        Language::Node => vec![node_versioned_folder(runtime), NODE_FOLDER.to_string()],
        Language::Python => python_site_packages(runtime)
            .into_iter()
            .chain([PYTHON_FOLDER.to_string()])
            .collect(),
        Language::Custom => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_runtime_searches_its_own_folders() {
        assert_eq!(
            search_folders(Runtime::Nodejs20),
            ["nodejs/node20/node_modules", "nodejs/node_modules"]
        );
        assert_eq!(
            search_folders(Runtime::Python312),
            ["python/lib/python3.12/site-packages", "python"]
        );
        assert!(search_folders(Runtime::ProvidedAl2023).is_empty());
    }
}
