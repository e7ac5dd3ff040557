//! AWS SAM `template.yaml` and Serverless Framework `serverless.yml`: the functions they define.
//! CloudFormation's short tags (`!Ref`, `!Sub`, `!GetAtt`, `!If`, ...) parse; a value only
//! CloudFormation or the Serverless Framework can work out is reported, never guessed.

use std::fmt;
use std::path::Path;

use serde::Deserialize;
use serde::de::{self, MapAccess, SeqAccess, Visitor};

use super::project::{self, Environment, FunctionSpec, LayerSettings, Project};
use crate::error::{Error, Result};

/// A YAML value with the tag of its node (`!Ref`), as templates need it.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub tag: Option<String>,
    pub value: Yaml,
    /// The line the value starts on (1-based), or 0 when the parser does not say.
    pub line: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Yaml {
    Null,
    /// Booleans and numbers, as written.
    Scalar(String),
    String(String),
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let serde_saphyr::Spanned {
            value: serde_saphyr::Tagged(value, tag),
            referenced,
            ..
        } = serde_saphyr::Spanned::<serde_saphyr::Tagged<Yaml>>::deserialize(deserializer)?;
        Ok(Node {
            tag,
            value,
            line: referenced.line(),
        })
    }
}

impl<'de> Deserialize<'de> for Yaml {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(YamlVisitor)
    }
}

struct YamlVisitor;

impl<'de> Visitor<'de> for YamlVisitor {
    type Value = Yaml;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E>(self, value: bool) -> Result<Yaml, E> {
        Ok(Yaml::Scalar(value.to_string()))
    }
    fn visit_i64<E>(self, value: i64) -> Result<Yaml, E> {
        Ok(Yaml::Scalar(value.to_string()))
    }
    fn visit_u64<E>(self, value: u64) -> Result<Yaml, E> {
        Ok(Yaml::Scalar(value.to_string()))
    }
    fn visit_f64<E>(self, value: f64) -> Result<Yaml, E> {
        Ok(Yaml::Scalar(value.to_string()))
    }
    fn visit_str<E>(self, value: &str) -> Result<Yaml, E> {
        Ok(Yaml::String(value.to_string()))
    }
    fn visit_string<E>(self, value: String) -> Result<Yaml, E> {
        Ok(Yaml::String(value))
    }
    fn visit_unit<E>(self) -> Result<Yaml, E> {
        Ok(Yaml::Null)
    }
    fn visit_none<E>(self) -> Result<Yaml, E> {
        Ok(Yaml::Null)
    }
    fn visit_some<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Yaml, D::Error> {
        Yaml::deserialize(deserializer)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Yaml, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(Yaml::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Yaml, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Node>()? {
            let key = match key.value {
                Yaml::String(text) | Yaml::Scalar(text) => text,
                Yaml::Null => "~".to_string(),
                _ => return Err(de::Error::custom("a mapping key must be a scalar")),
            };
            entries.push((key, map.next_value::<Node>()?));
        }
        Ok(Yaml::Map(entries))
    }
}

impl Node {
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Yaml::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn entries(&self) -> &[(String, Node)] {
        match &self.value {
            Yaml::Map(entries) => entries,
            _ => &[],
        }
    }

    /// Short text for a message: `!Ref Table`, `Fn::GetAtt`.
    pub fn describe(&self) -> String {
        let value = match &self.value {
            Yaml::String(text) | Yaml::Scalar(text) => text.clone(),
            Yaml::Seq(items) => {
                let parts: Vec<String> = items.iter().map(Node::describe).collect();
                format!("[{}]", parts.join(", "))
            }
            Yaml::Map(entries) => entries.first().map_or_else(
                || "{}".to_string(),
                |(key, value)| format!("{key}: {}", value.describe()),
            ),
            Yaml::Null => "null".to_string(),
        };
        match &self.tag {
            Some(tag) if tag.starts_with('!') => format!("{tag} {value}"),
            _ => value,
        }
    }
}

/// Parses YAML with the tags kept.
pub fn parse(file: &Path, text: &str) -> Result<Node> {
    serde_saphyr::from_str::<Node>(text)
        .map_err(|error| Error::input(file, format!("not valid YAML: {error}")))
}

/// A value as lamina can know it before deploy: `Err(why)` when only CloudFormation (or the
/// Serverless Framework) can resolve it.
pub fn resolve(node: &Node) -> std::result::Result<String, String> {
    let unresolved = || Err(format!("{} is resolved only at deploy", node.describe()));
    match node.tag.as_deref() {
        Some("!Sub") => match &node.value {
            Yaml::String(text) if !text.contains("${") => Ok(text.clone()),
            _ => unresolved(),
        },
        Some("!Join") => join(node).ok_or(()).or_else(|()| unresolved()),
        Some(tag) if tag.starts_with('!') && !tag.starts_with("!!") => unresolved(),
        _ => match &node.value {
            Yaml::String(text) if text.contains("${") => {
                Err(format!("{text:?} holds a variable resolved only at deploy"))
            }
            Yaml::String(text) | Yaml::Scalar(text) => Ok(text.clone()),
            Yaml::Map(entries) if entries.len() == 1 => {
                let (key, value) = &entries[0];
                if key == "Fn::Sub" {
                    resolve(&Node {
                        tag: Some("!Sub".into()),
                        value: value.value.clone(),
                        line: value.line,
                    })
                } else if key == "Fn::Join" {
                    join(value).ok_or(()).or_else(|()| unresolved())
                } else {
                    unresolved()
                }
            }
            _ => unresolved(),
        },
    }
}

/// `!Join [sep, [a, b]]` when every part is known.
fn join(node: &Node) -> Option<String> {
    let Yaml::Seq(parts) = &node.value else {
        return None;
    };
    let [separator, list] = parts.as_slice() else {
        return None;
    };
    let separator = resolve(separator).ok()?;
    let Yaml::Seq(items) = &list.value else {
        return None;
    };
    let texts: Option<Vec<String>> = items.iter().map(|item| resolve(item).ok()).collect();
    Some(texts?.join(&separator))
}

/// Whether only deploy can work the value out: a CloudFormation short tag (`!Ref`), an intrinsic
/// function in its long form (`Ref:`, `Fn::GetAtt:`, `Condition:`), or a string holding a
/// variable (`${...}`). Anything else that does not read as a value has the wrong type.
fn deploy_only(node: &Node) -> bool {
    if node
        .tag
        .as_deref()
        .is_some_and(|tag| tag.starts_with('!') && !tag.starts_with("!!"))
    {
        return true;
    }
    match &node.value {
        Yaml::String(text) => text.contains("${"),
        Yaml::Map(entries) => {
            entries.len() == 1
                && (entries[0].0 == "Ref"
                    || entries[0].0 == "Condition"
                    || entries[0].0.starts_with("Fn::"))
        }
        _ => false,
    }
}

/// `Resources.Api.Handler (line 12)`: the key, and the line when the parser gives it.
fn place(at: &str, node: &Node) -> String {
    if node.line > 0 {
        format!("{at} (line {})", node.line)
    } else {
        at.to_string()
    }
}

/// What a node holds, for a message: `a list ([a, b])`, `a map (with Variables, Other)`.
fn found(node: &Node) -> String {
    if deploy_only(node) {
        return format!("{}, which only deploy resolves", node.describe());
    }
    match &node.value {
        Yaml::Null => "nothing (null)".to_string(),
        Yaml::Scalar(text) => text.clone(),
        Yaml::String(text) => format!("the string {text:?}"),
        Yaml::Seq(_) => format!("a list ({})", node.describe()),
        Yaml::Map(entries) => {
            let keys: Vec<&str> = entries.iter().map(|(key, _)| key.as_str()).collect();
            format!("a map (with {})", keys.join(", "))
        }
    }
}

/// The input error for a value of the wrong type, naming the file, the key and its line.
fn wrong_type(file: &Path, at: &str, node: &Node, expected: &str) -> Error {
    Error::input(
        file,
        format!(
            "{} must be {expected}, found {}",
            place(at, node),
            found(node)
        ),
    )
}

/// Reads a setting: `Ok(None)` when absent; a value only deploy can resolve is noted under `at`;
/// a list, a map or nothing where a value belongs is an input error.
fn setting(
    file: &Path,
    node: Option<&Node>,
    at: &str,
    unresolved: &mut Vec<String>,
) -> Result<Option<String>> {
    let Some(node) = node else {
        return Ok(None);
    };
    match resolve(node) {
        Ok(text) => Ok(Some(text)),
        Err(why) if deploy_only(node) => {
            unresolved.push(format!("{at}: {why}"));
            Ok(None)
        }
        Err(_) => Err(wrong_type(file, at, node, "a string")),
    }
}

/// A node that must be a map (or a value only deploy knows): `Ok(None)` when absent or
/// deploy-only.
fn map<'a>(
    file: &Path,
    node: Option<&'a Node>,
    at: &str,
    expected: &str,
) -> Result<Option<&'a Node>> {
    match node {
        Some(node) if matches!(node.value, Yaml::Map(_)) && !deploy_only(node) => Ok(Some(node)),
        Some(node) if deploy_only(node) => Ok(None),
        Some(node) => Err(wrong_type(file, at, node, expected)),
        None => Ok(None),
    }
}

/// The items of a node that must be a list; a deploy-only value is one item, for the caller to
/// note.
fn list<'a>(file: &Path, node: &'a Node, at: &str, expected: &str) -> Result<Vec<&'a Node>> {
    match &node.value {
        _ if deploy_only(node) => Ok(vec![node]),
        Yaml::Seq(items) => Ok(items.iter().collect()),
        _ => Err(wrong_type(file, at, node, expected)),
    }
}

/// The variables of `Environment.Variables` (SAM) or `environment` (Serverless), each given as
/// `(key path, node)`, later ones winning.
fn environment(
    file: &Path,
    variables: &[(String, &Node)],
    at: &str,
) -> Result<Option<Environment>> {
    if variables.is_empty() {
        return Ok(None);
    }
    let mut environment = Environment::default();
    for (path, node) in variables {
        for (name, value) in node.entries() {
            let resolved = resolve(value);
            environment
                .unresolved
                .retain(|entry| entry.split_once(':').is_none_or(|(known, _)| known != name));
            match resolved {
                Ok(text) => {
                    environment.variables.insert(name.clone(), text);
                }
                Err(why) if deploy_only(value) => {
                    environment.variables.remove(name);
                    environment.unresolved.push(format!("{name}: {at}: {why}"));
                }
                Err(_) => {
                    return Err(wrong_type(
                        file,
                        &format!("{path}.{name}"),
                        value,
                        "a string (an environment variable's value)",
                    ));
                }
            }
        }
    }
    Ok(Some(environment))
}

const ENVIRONMENT: &str = "a map with Variables";
const VARIABLES: &str = "a map of variable name → value";
const LAYERS: &str = "a list of layer ARNs";

/// The functions of an AWS SAM (or plain CloudFormation) template.
pub fn sam(file: &Path, root: &Node) -> Result<Project> {
    let base = file.parent().unwrap_or(Path::new("."));
    let globals = map(file, root.get("Globals"), "Globals", "a map")?;
    let globals = map(
        file,
        globals.and_then(|globals| globals.get("Function")),
        "Globals.Function",
        "a map of function properties",
    )?;
    let global = |key: &str| globals.and_then(|globals| globals.get(key));
    let resources = root
        .get("Resources")
        .ok_or_else(|| Error::input(file, "no Resources: not a SAM or CloudFormation template"))?;
    if !matches!(resources.value, Yaml::Map(_)) {
        return Err(wrong_type(
            file,
            "Resources",
            resources,
            "a map of logical ID → resource",
        ));
    }
    let mut functions = Vec::new();
    for (logical_id, resource) in resources.entries() {
        let kind = resource.get("Type").and_then(|kind| resolve(kind).ok());
        let serverless = match kind.as_deref() {
            Some("AWS::Serverless::Function") => true,
            Some("AWS::Lambda::Function") => false,
            _ => continue,
        };
        let at = format!("Resources.{logical_id}");
        let properties = map(
            file,
            resource.get("Properties"),
            &format!("{at}.Properties"),
            "a map of function properties",
        )?;
        let own = |key: &str| properties.and_then(|properties| properties.get(key));
        // SAM: a function's own property wins over Globals.Function.
        let pick = |key: &str| own(key).or_else(|| if serverless { global(key) } else { None });
        // Where `pick` found `key`, for messages.
        let picked_at = |key: &str| match own(key) {
            Some(_) => format!("{at}.{key}"),
            None => format!("Globals.Function.{key}"),
        };
        let mut unresolved = Vec::new();
        if pick("PackageType")
            .and_then(|kind| resolve(kind).ok())
            .as_deref()
            == Some("Image")
        {
            continue;
        }
        if pick("InlineCode").is_some() {
            continue;
        }
        let (code, code_at) = if serverless {
            (pick("CodeUri"), picked_at("CodeUri"))
        } else {
            (own("Code"), format!("{at}.Code"))
        };
        let code_path = match code {
            None if serverless => Some(".".to_string()),
            None => continue,
            Some(node) if matches!(node.value, Yaml::Map(_)) && !deploy_only(node) => {
                // An S3 location, inline code or an image: nothing local to build.
                if ["ZipFile", "S3Bucket", "Bucket", "ImageUri"]
                    .iter()
                    .any(|key| node.get(key).is_some())
                {
                    continue;
                }
                return Err(wrong_type(
                    file,
                    &code_at,
                    node,
                    "a local path or an S3 location (Bucket, Key)",
                ));
            }
            Some(node) => setting(file, Some(node), &code_at, &mut unresolved)?,
        };
        let Some(code_path) = code_path else {
            return Err(Error::input(
                file,
                format!(
                    "{at}: the code location {} cannot be resolved before deploy; give a local CodeUri",
                    unresolved.join("; ")
                ),
            ));
        };
        if code_path.starts_with("s3://") {
            continue;
        }
        let handler = setting(
            file,
            pick("Handler"),
            &picked_at("Handler"),
            &mut unresolved,
        )?;
        let runtime_at = picked_at("Runtime");
        let runtime = match pick("Runtime") {
            Some(node) => setting(file, Some(node), &runtime_at, &mut unresolved)?
                .map(|text| project::runtime(file, &place(&runtime_at, node), &text))
                .transpose()?,
            None => None,
        };
        let arch_at = picked_at("Architectures");
        let arch = match pick("Architectures") {
            Some(node) => match list(file, node, &arch_at, "a list such as [arm64]")?.first() {
                Some(item) => setting(file, Some(item), &arch_at, &mut unresolved)?
                    .map(|text| project::arch(file, &place(&arch_at, item), &text))
                    .transpose()?,
                None => None,
            },
            None => None,
        };
        let mut layers = Vec::new();
        let global_layers = if serverless { global("Layers") } else { None };
        let layer_sources = [("Globals.Function.Layers".to_string(), global_layers)]
            .into_iter()
            .chain([(format!("{at}.Layers"), own("Layers"))]);
        for (layers_at, node) in layer_sources {
            let Some(node) = node.filter(|node| node.value != Yaml::Null) else {
                continue;
            };
            for layer in list(file, node, &layers_at, LAYERS)? {
                layers.push(resolve(layer).unwrap_or_else(|_| layer.describe()));
            }
        }
        let mut variables = Vec::new();
        let environments = [
            (
                "Globals.Function.Environment".to_string(),
                if serverless {
                    global("Environment")
                } else {
                    None
                },
            ),
            (format!("{at}.Environment"), own("Environment")),
        ];
        for (environment_at, node) in environments {
            if let Some(node) = node.filter(|node| deploy_only(node)) {
                unresolved.push(format!(
                    "{environment_at}: {} is resolved only at deploy",
                    node.describe()
                ));
                continue;
            }
            let Some(node) = map(file, node, &environment_at, ENVIRONMENT)? else {
                continue;
            };
            let variables_at = format!("{environment_at}.Variables");
            match node.get("Variables") {
                Some(inner) if deploy_only(inner) => unresolved.push(format!(
                    "{variables_at}: {} is resolved only at deploy",
                    inner.describe()
                )),
                inner => {
                    if let Some(inner) = map(file, inner, &variables_at, VARIABLES)? {
                        variables.push((variables_at, inner));
                    }
                }
            }
        }
        functions.push(FunctionSpec {
            name: logical_id.clone(),
            path: base.join(code_path),
            handler,
            runtime,
            arch,
            environment: environment(file, &variables, &at)?,
            declared_layers: layers,
            unresolved,
            ..FunctionSpec::default()
        });
    }
    Ok(Project {
        source: file.to_path_buf(),
        functions,
        layers: LayerSettings::default(),
    })
}

/// `package.patterns` of a service or function, in order; a pattern with a variable the
/// framework resolves at deploy is reported under `at` and left out.
fn patterns(
    file: &Path,
    package: Option<&Node>,
    at: &str,
    unresolved: &mut Vec<String>,
) -> Result<Vec<String>> {
    let Some(package) = map(file, package, at, "a map (patterns, individually)")? else {
        return Ok(Vec::new());
    };
    let patterns_at = format!("{at}.patterns");
    let Some(node) = package
        .get("patterns")
        .filter(|node| node.value != Yaml::Null)
    else {
        return Ok(Vec::new());
    };
    let mut patterns = Vec::new();
    for pattern in list(file, node, &patterns_at, "a list of glob patterns")? {
        patterns.extend(setting(file, Some(pattern), &patterns_at, unresolved)?);
    }
    Ok(patterns)
}

/// `package.individually`: `Some(true)`/`Some(false)`, or `None` when unset or resolved only
/// at deploy.
fn individually(file: &Path, package: Option<&Node>, at: &str) -> Result<Option<bool>> {
    let Some(node) = package.and_then(|package| package.get("individually")) else {
        return Ok(None);
    };
    let at = format!("{at}.individually");
    match resolve(node).as_deref() {
        Ok("true") => Ok(Some(true)),
        Ok("false") => Ok(Some(false)),
        Err(_) if deploy_only(node) => Ok(None),
        _ => Err(wrong_type(file, &at, node, "true or false")),
    }
}

/// Whether a YAML file is a Serverless Framework service rather than a SAM template: named
/// `serverless.*`, or, whatever its name (`sls --config api.yml`, the resolved service the
/// Serverless plugin writes), it has `service` and `functions` and no `Resources`.
pub fn is_serverless(file: &Path, root: &Node) -> bool {
    file.file_name()
        .and_then(|name| name.to_str())
        .is_some_and(|name| name.starts_with("serverless"))
        || (root.get("service").is_some()
            && root.get("functions").is_some()
            && root.get("Resources").is_none())
}

/// What the Serverless Framework always leaves out of a package, before `package.patterns`
/// (which may include them again): its own output and local plugins, git's files, npm's log.
const SERVERLESS_EXCLUDES: [&str; 6] = [
    "!.git/**",
    "!.gitignore",
    "!.DS_Store",
    "!npm-debug.log",
    "!.serverless/**",
    "!.serverless_plugins/**",
];

/// The functions of a Serverless Framework `serverless.yml`. The service folder is every
/// function's folder (the framework zips it whole, less what `package.patterns` excludes).
pub fn serverless(file: &Path, root: &Node) -> Result<Project> {
    let base = file.parent().unwrap_or(Path::new("."));
    let provider = map(
        file,
        root.get("provider"),
        "provider",
        "a map of provider settings",
    )?;
    let from_provider = |key: &str| provider.and_then(|provider| provider.get(key));
    let functions_node = root
        .get("functions")
        .ok_or_else(|| Error::input(file, "no functions: section"))?;
    if !matches!(functions_node.value, Yaml::Map(_)) {
        return Err(wrong_type(
            file,
            "functions",
            functions_node,
            "a map of function name → settings",
        ));
    }
    let mut functions = Vec::new();
    let mut provider_unresolved = Vec::new();
    let provider_runtime = setting(
        file,
        from_provider("runtime"),
        "provider.runtime",
        &mut provider_unresolved,
    )?;
    let provider_arch = setting(
        file,
        from_provider("architecture"),
        "provider.architecture",
        &mut provider_unresolved,
    )?;
    let service_package = root.get("package");
    let service_patterns = patterns(file, service_package, "package", &mut provider_unresolved)?;
    let service_individually = individually(file, service_package, "package")?;
    let provider_environment = match from_provider("environment") {
        Some(node) if deploy_only(node) => {
            provider_unresolved.push(format!(
                "provider.environment: {} is resolved only at deploy",
                node.describe()
            ));
            None
        }
        node => map(file, node, "provider.environment", VARIABLES)?,
    };
    for (name, function) in functions_node.entries() {
        let at = format!("functions.{name}");
        if !matches!(function.value, Yaml::Map(_)) {
            return Err(wrong_type(
                file,
                &at,
                function,
                "a map of function settings (handler, runtime, ...)",
            ));
        }
        let mut unresolved = provider_unresolved.clone();
        // The framework excludes its own and the version control's files, then applies the
        // service's patterns, then the function's.
        let mut package_patterns: Vec<String> = SERVERLESS_EXCLUDES
            .iter()
            .map(|pattern| pattern.to_string())
            .collect();
        package_patterns.extend(service_patterns.iter().cloned());
        let package_at = format!("{at}.package");
        package_patterns.extend(patterns(
            file,
            function.get("package"),
            &package_at,
            &mut unresolved,
        )?);
        let mut notes = Vec::new();
        // Unset, the framework packages the whole service once (individually: false).
        if !individually(file, function.get("package"), &package_at)?
            .or(service_individually)
            .unwrap_or(false)
        {
            notes.push(
                "package.individually is false: the Serverless Framework would deploy one artifact for the whole service; lamina writes one zip per function, each with only what that function keeps".to_string(),
            );
        }
        let handler = setting(
            file,
            function.get("handler"),
            &format!("{at}.handler"),
            &mut unresolved,
        )?;
        let runtime_at = format!("{at}.runtime");
        let runtime = match function.get("runtime") {
            Some(node) => setting(file, Some(node), &runtime_at, &mut unresolved)?
                .map(|text| (text, place(&runtime_at, node))),
            None => None,
        }
        .or_else(|| {
            provider_runtime.clone().map(|text| {
                let node = from_provider("runtime").expect("read above");
                (text, place("provider.runtime", node))
            })
        })
        .map(|(text, at)| project::runtime(file, &at, &text))
        .transpose()?;
        let arch_at = format!("{at}.architecture");
        let arch = match function.get("architecture") {
            Some(node) => setting(file, Some(node), &arch_at, &mut unresolved)?
                .map(|text| (text, place(&arch_at, node))),
            None => None,
        }
        .or_else(|| {
            provider_arch.clone().map(|text| {
                let node = from_provider("architecture").expect("read above");
                (text, place("provider.architecture", node))
            })
        })
        .map(|(text, at)| project::arch(file, &at, &text))
        .transpose()?;
        let mut layers = Vec::new();
        let (layers_at, layers_node) = match function.get("layers") {
            Some(node) => (format!("{at}.layers"), Some(node)),
            None => ("provider.layers".to_string(), from_provider("layers")),
        };
        if let Some(node) = layers_node.filter(|node| node.value != Yaml::Null) {
            for layer in list(file, node, &layers_at, LAYERS)? {
                layers.push(resolve(layer).unwrap_or_else(|_| layer.describe()));
            }
        }
        let environment_at = format!("{at}.environment");
        let function_environment = match function.get("environment") {
            Some(node) if deploy_only(node) => {
                unresolved.push(format!(
                    "{environment_at}: {} is resolved only at deploy",
                    node.describe()
                ));
                None
            }
            node => map(file, node, &environment_at, VARIABLES)?,
        };
        let variables: Vec<(String, &Node)> = [
            ("provider.environment".to_string(), provider_environment),
            (environment_at, function_environment),
        ]
        .into_iter()
        .filter_map(|(path, node)| Some((path, node?)))
        .collect();
        functions.push(FunctionSpec {
            name: name.clone(),
            path: base.to_path_buf(),
            handler,
            runtime,
            arch,
            environment: environment(file, &variables, &at)?,
            declared_layers: layers,
            unresolved,
            package_patterns,
            notes,
            ..FunctionSpec::default()
        });
    }
    Ok(Project {
        source: file.to_path_buf(),
        functions,
        layers: LayerSettings::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloudformation_short_tags_parse_and_stay_unresolved() {
        let node = parse(
            Path::new("t.yaml"),
            "a: !Ref Table\nb: !Sub 'arn:${AWS::Region}'\nc: !GetAtt Queue.Arn\nd: !If [IsProd, x, y]\ne: !Sub plain\nf: text\ng: !Join ['-', [a, b]]\n",
        )
        .unwrap();
        let value = |key: &str| resolve(node.get(key).unwrap());
        assert!(value("a").unwrap_err().contains("!Ref Table"));
        assert!(value("b").is_err());
        assert!(value("c").unwrap_err().contains("!GetAtt"));
        assert!(value("d").unwrap_err().contains("!If"));
        assert_eq!(value("e").unwrap(), "plain");
        assert_eq!(value("f").unwrap(), "text");
        assert_eq!(value("g").unwrap(), "a-b");
        assert_eq!(node.get("c").unwrap().line, 3);
        assert_eq!(node.get("g").unwrap().line, 7);
        let nested = parse(
            Path::new("t.yaml"),
            "A:\n  B:\n    - !Ref x\n    - [1, 2]\n",
        )
        .unwrap();
        let Yaml::Seq(items) = &nested.get("A").unwrap().get("B").unwrap().value else {
            panic!("a list");
        };
        assert_eq!((items[0].line, items[1].line), (3, 4));
    }

    #[test]
    fn intrinsics_in_long_form_are_deploy_only_and_other_maps_are_wrong_types() {
        let file = Path::new("template.yaml");
        let template = "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: fn\n      Handler: {Ref: HandlerParam}\n      Runtime: {\"Fn::If\": [C, nodejs20.x, nodejs22.x]}\n      Environment:\n        Variables:\n          TABLE: {\"Fn::GetAtt\": [Table, Arn]}\n          COUNT: 3\n";
        let project = sam(file, &parse(file, template).unwrap()).unwrap();
        let function = &project.functions[0];
        assert_eq!(
            (function.handler.as_deref(), function.runtime),
            (None, None)
        );
        assert_eq!(function.unresolved.len(), 2, "{:?}", function.unresolved);
        let environment = function.environment.as_ref().unwrap();
        assert_eq!(environment.variables["COUNT"], "3");
        assert!(environment.unresolved[0].starts_with("TABLE: "));

        let changed = template.replace("{Ref: HandlerParam}", "{Reff: x}");
        let error = sam(file, &parse(file, &changed).unwrap())
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "template.yaml: Resources.Fn.Handler (line 6) must be a string, found a map (with Reff)"
        );
    }
}
