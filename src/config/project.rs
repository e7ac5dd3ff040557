//! Projects: a folder with `lamina.toml`, an AWS SAM template or a `serverless.yml`, each
//! turned into the list of functions to build with their own settings.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::model::{Arch, Runtime, ShakeMode};

/// Whether `build` plans shared layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerMode {
    Auto,
    None,
}

impl<'de> Deserialize<'de> for LayerMode {
    /// A string, so that `mode = 3` is "expected a string" at its line (a derived enum gets
    /// toml's bare "wanted string or table").
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        match text.as_str() {
            "auto" => Ok(LayerMode::Auto),
            "none" => Ok(LayerMode::None),
            other => Err(serde::de::Error::invalid_value(
                serde::de::Unexpected::Str(other),
                &"auto or none",
            )),
        }
    }
}

/// `[layers]` of `lamina.toml`, or the defaults a template gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerSettings {
    pub mode: LayerMode,
    /// A package is shared only when at least this many functions keep it.
    pub min_functions: usize,
}

impl Default for LayerSettings {
    fn default() -> Self {
        LayerSettings {
            mode: LayerMode::Auto,
            min_functions: 2,
        }
    }
}

/// A function's environment variables as the template gives them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Environment {
    /// Names and the values lamina could resolve locally.
    pub variables: BTreeMap<String, String>,
    /// `NAME: why` for values only CloudFormation can resolve (`!Ref`, `!GetAtt`, `${ssm:...}`):
    /// they are reported, never guessed, and count only by their name.
    pub unresolved: Vec<String>,
}

impl Environment {
    /// Bytes Lambda's 4 KiB limit counts: every key and value, as UTF-8.
    pub fn bytes(&self) -> u64 {
        let known: usize = self
            .variables
            .iter()
            .map(|(key, value)| key.len() + value.len())
            .sum();
        let names: usize = self
            .unresolved
            .iter()
            .map(|entry| {
                entry
                    .split_once(':')
                    .map_or(entry.len(), |(name, _)| name.len())
            })
            .sum();
        (known + names) as u64
    }
}

/// One function of a project, with what its source says about it.
#[derive(Debug, Clone, Default)]
pub struct FunctionSpec {
    /// The zip is `OUT/<name>.zip`.
    pub name: String,
    /// The function folder, absolute or relative to the working folder.
    pub path: PathBuf,
    pub handler: Option<String>,
    pub runtime: Option<Runtime>,
    pub arch: Option<Arch>,
    pub shake: Option<ShakeMode>,
    pub site_packages: Option<PathBuf>,
    pub environment: Option<Environment>,
    /// Layers the template already attaches (reported; lamina's own come first).
    pub declared_layers: Vec<String>,
    /// Values the template gives that lamina cannot resolve locally, with where they are.
    pub unresolved: Vec<String>,
    /// Serverless `package.patterns` (the service's, then the function's), in order.
    pub package_patterns: Vec<String>,
    /// What the build report notes about how the template's settings were applied.
    pub notes: Vec<String>,
    /// `allow_outside`: folders outside the project that links may lead into.
    pub allow_outside: Vec<PathBuf>,
}

/// Functions found in a project file, and how to plan their layers.
#[derive(Debug, Clone, Default)]
pub struct Project {
    /// The file they were read from.
    pub source: PathBuf,
    pub functions: Vec<FunctionSpec>,
    pub layers: LayerSettings,
}

/// What a PATH argument turns out to be.
pub fn kind(path: &Path) -> Option<PathBuf> {
    if path.is_dir() {
        let manifest = path.join("lamina.toml");
        return manifest.is_file().then_some(manifest);
    }
    let name = path.file_name()?.to_str()?;
    (path.is_file()
        && (name.ends_with(".toml") || name.ends_with(".yaml") || name.ends_with(".yml")))
    .then(|| path.to_path_buf())
}

/// Reads a project file: `lamina.toml`, a SAM template, or a `serverless.yml`.
pub fn load(file: &Path) -> Result<Project> {
    let text = crate::fs::read_to_string(file)?;
    let name = file
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or("");
    let project = if name.ends_with(".toml") {
        parse_toml(file, &text)?
    } else {
        let root = super::template::parse(file, &text)?;
        if super::template::is_serverless(file, &root) {
            super::template::serverless(file, &root)?
        } else {
            super::template::sam(file, &root)?
        }
    };
    let mut names = BTreeSet::new();
    for function in &project.functions {
        if !names.insert(function.name.as_str()) {
            return Err(Error::input(
                file,
                format!(
                    "two functions are named {:?}; names must be unique (the zip is OUT/<name>.zip)",
                    function.name
                ),
            ));
        }
        if !is_file_name(&function.name) {
            return Err(Error::input(
                file,
                format!(
                    "function name {:?} cannot name a zip: use letters, digits, '-', '_' and '.'",
                    function.name
                ),
            ));
        }
    }
    if project.functions.is_empty() {
        return Err(Error::input(file, "no function found"));
    }
    Ok(project)
}

fn is_file_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// The keys any `[[function]]` (and `[defaults]`) may have. `expecting` words a value of the
/// wrong type for the user, instead of naming these structs.
#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table of function settings (name, path, handler, runtime, ...)"
)]
struct TomlFunction {
    name: Option<String>,
    path: Option<String>,
    handler: Option<String>,
    runtime: Option<String>,
    arch: Option<String>,
    shake: Option<String>,
    site_packages: Option<String>,
    environment: Option<BTreeMap<String, String>>,
    /// Folders outside the project boundary that links may lead into, relative to the file.
    allow_outside: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table with mode and min_functions")]
struct TomlLayers {
    mode: Option<LayerMode>,
    #[serde(default, deserialize_with = "function_count")]
    min_functions: Option<usize>,
}

/// `min_functions`: a whole number, refused in words a user reads ("expected usize" is not).
fn function_count<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<usize>, D::Error> {
    struct Count;
    impl serde::de::Visitor<'_> for Count {
        type Value = usize;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a whole number of functions")
        }
        fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<usize, E> {
            usize::try_from(value)
                .map_err(|_| E::invalid_value(serde::de::Unexpected::Unsigned(value), &self))
        }
        fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<usize, E> {
            usize::try_from(value)
                .map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(value), &self))
        }
    }
    deserializer.deserialize_u64(Count).map(Some)
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a lamina.toml with [defaults], [[function]] and [layers]"
)]
struct TomlProject {
    defaults: Option<TomlFunction>,
    #[serde(default)]
    function: Vec<TomlFunction>,
    layers: Option<TomlLayers>,
}

pub(crate) fn runtime(file: &Path, at: &str, text: &str) -> Result<Runtime> {
    Runtime::parse(text).ok_or_else(|| {
        Error::input(
            file,
            format!("{at}: {text:?} is not a Lambda runtime lamina supports (nodejs18.x to nodejs24.x, python3.9 to python3.13, provided.al2, provided.al2023)"),
        )
    })
}

pub(crate) fn arch(file: &Path, at: &str, text: &str) -> Result<Arch> {
    match text {
        "x86_64" => Ok(Arch::X86_64),
        "arm64" => Ok(Arch::Arm64),
        _ => Err(Error::input(
            file,
            format!("{at}: {text:?} is not x86_64 or arm64"),
        )),
    }
}

fn shake(file: &Path, at: &str, text: &str) -> Result<ShakeMode> {
    match text {
        "deps" => Ok(ShakeMode::Deps),
        "files" => Ok(ShakeMode::Files),
        "none" => Ok(ShakeMode::None),
        _ => Err(Error::input(
            file,
            format!("{at}: shake {text:?} is not deps, files or none"),
        )),
    }
}

fn parse_toml(file: &Path, text: &str) -> Result<Project> {
    // toml's message names the key, the line and the column, and shows the line.
    let parsed: TomlProject = toml::from_str(text)
        .map_err(|error| Error::input(file, error.to_string().trim_end().to_string()))?;
    let base = file.parent().unwrap_or(Path::new("."));
    let defaults = parsed.defaults.unwrap_or_default();
    if defaults.name.is_some() || defaults.path.is_some() {
        return Err(Error::input(
            file,
            "[defaults] cannot set name or path: each [[function]] has its own",
        ));
    }
    let mut functions = Vec::new();
    for (index, function) in parsed.function.into_iter().enumerate() {
        let at = format!("[[function]] #{}", index + 1);
        let name = function
            .name
            .ok_or_else(|| Error::input(file, format!("{at} has no name")))?;
        let at = format!("function {name:?}");
        let path = function
            .path
            .ok_or_else(|| Error::input(file, format!("{at} has no path")))?;
        let pick = |own: Option<String>, default: &Option<String>| own.or_else(|| default.clone());
        let runtime_text = pick(function.runtime, &defaults.runtime);
        let arch_text = pick(function.arch, &defaults.arch);
        let shake_text = pick(function.shake, &defaults.shake);
        let site_packages = pick(function.site_packages, &defaults.site_packages);
        let allow_outside = defaults
            .allow_outside
            .iter()
            .chain(&function.allow_outside)
            .flatten()
            .map(|folder| base.join(folder))
            .collect();
        let mut environment = defaults.environment.clone().unwrap_or_default();
        environment.extend(function.environment.unwrap_or_default());
        functions.push(FunctionSpec {
            path: base.join(&path),
            handler: pick(function.handler, &defaults.handler),
            runtime: runtime_text
                .map(|text| runtime(file, &at, &text))
                .transpose()?,
            arch: arch_text.map(|text| arch(file, &at, &text)).transpose()?,
            shake: shake_text.map(|text| shake(file, &at, &text)).transpose()?,
            site_packages: site_packages.map(|folder| base.join(path_of(&path)).join(folder)),
            environment: (!environment.is_empty()).then_some(Environment {
                variables: environment,
                unresolved: Vec::new(),
            }),
            declared_layers: Vec::new(),
            unresolved: Vec::new(),
            package_patterns: Vec::new(),
            notes: Vec::new(),
            allow_outside,
            name,
        });
    }
    let layers = parsed.layers.map_or_else(LayerSettings::default, |layers| {
        let default = LayerSettings::default();
        LayerSettings {
            mode: layers.mode.unwrap_or(default.mode),
            min_functions: layers.min_functions.unwrap_or(default.min_functions).max(2),
        }
    });
    Ok(Project {
        source: file.to_path_buf(),
        functions,
        layers,
    })
}

fn path_of(text: &str) -> PathBuf {
    PathBuf::from(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Project> {
        parse_toml(Path::new("/p/lamina.toml"), text)
    }

    #[test]
    fn functions_take_the_defaults_they_do_not_set() {
        let project = parse(
            r#"
[defaults]
runtime = "nodejs20.x"
arch = "arm64"

[[function]]
name = "api"
path = "services/api"
handler = "index.handler"

[[function]]
name = "worker"
path = "services/worker"
runtime = "python3.12"
shake = "files"

[layers]
mode = "none"
min_functions = 3
"#,
        )
        .unwrap();
        assert_eq!(project.functions.len(), 2);
        let api = &project.functions[0];
        assert_eq!(api.path, Path::new("/p/services/api"));
        assert_eq!(api.runtime, Some(Runtime::Nodejs20));
        assert_eq!(api.arch, Some(Arch::Arm64));
        assert_eq!(project.functions[1].runtime, Some(Runtime::Python312));
        assert_eq!(project.functions[1].shake, Some(ShakeMode::Files));
        assert_eq!(
            project.layers,
            LayerSettings {
                mode: LayerMode::None,
                min_functions: 3
            }
        );
    }

    #[test]
    fn an_unknown_key_is_named_with_its_line() {
        let error = parse("[[function]]\nname = \"a\"\npath = \"a\"\nhandlr = \"x\"\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("handlr"), "{error}");
        assert!(error.contains("line 4"), "{error}");
        assert!(error.starts_with("/p/lamina.toml"), "{error}");
    }

    #[test]
    fn a_bad_runtime_names_the_function() {
        let error = parse("[[function]]\nname = \"a\"\npath = \"a\"\nruntime = \"node20\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("function \"a\"") && error.contains("node20"),
            "{error}"
        );
    }

    #[test]
    fn the_env_size_counts_keys_values_and_unresolved_names() {
        let environment = Environment {
            variables: BTreeMap::from([("A".to_string(), "xyz".to_string())]),
            unresolved: vec!["TABLE: !Ref Table".to_string()],
        };
        assert_eq!(environment.bytes(), 1 + 3 + 5);
    }
}
