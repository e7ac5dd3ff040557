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
        let serde_saphyr::Tagged(value, tag) =
            serde_saphyr::Tagged::<Yaml>::deserialize(deserializer)?;
        Ok(Node { tag, value })
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

    fn entries(&self) -> &[(String, Node)] {
        match &self.value {
            Yaml::Map(entries) => entries,
            _ => &[],
        }
    }

    fn items(&self) -> Vec<&Node> {
        match &self.value {
            Yaml::Seq(items) => items.iter().collect(),
            Yaml::Null => Vec::new(),
            _ => vec![self],
        }
    }

    /// Short text for a message: `!Ref Table`, `Fn::GetAtt`.
    fn describe(&self) -> String {
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

/// Reads a setting: `Ok(None)` when absent; an unresolved value is noted under `at`.
fn setting(node: Option<&Node>, at: &str, unresolved: &mut Vec<String>) -> Option<String> {
    let node = node?;
    match resolve(node) {
        Ok(text) => Some(text),
        Err(why) => {
            unresolved.push(format!("{at}: {why}"));
            None
        }
    }
}

fn environment(variables: &[&Node], at: &str) -> Option<Environment> {
    if variables.is_empty() {
        return None;
    }
    let mut environment = Environment::default();
    for node in variables {
        for (name, value) in node.entries() {
            match resolve(value) {
                Ok(text) => {
                    environment.unresolved.retain(|entry| {
                        entry.split_once(':').is_none_or(|(known, _)| known != name)
                    });
                    environment.variables.insert(name.clone(), text);
                }
                Err(why) => {
                    environment.variables.remove(name);
                    environment.unresolved.retain(|entry| {
                        entry.split_once(':').is_none_or(|(known, _)| known != name)
                    });
                    environment.unresolved.push(format!("{name}: {at}: {why}"));
                }
            }
        }
    }
    Some(environment)
}

/// The functions of an AWS SAM (or plain CloudFormation) template.
pub fn sam(file: &Path, text: &str) -> Result<Project> {
    let root = parse(file, text)?;
    let base = file.parent().unwrap_or(Path::new("."));
    let globals = root
        .get("Globals")
        .and_then(|globals| globals.get("Function"));
    let global = |key: &str| globals.and_then(|globals| globals.get(key));
    let resources = root
        .get("Resources")
        .ok_or_else(|| Error::input(file, "no Resources: not a SAM or CloudFormation template"))?;
    let mut functions = Vec::new();
    for (logical_id, resource) in resources.entries() {
        let kind = resource.get("Type").and_then(|kind| resolve(kind).ok());
        let serverless = match kind.as_deref() {
            Some("AWS::Serverless::Function") => true,
            Some("AWS::Lambda::Function") => false,
            _ => continue,
        };
        let properties = resource.get("Properties");
        let own = |key: &str| properties.and_then(|properties| properties.get(key));
        // SAM: a function's own property wins over Globals.Function.
        let pick = |key: &str| own(key).or_else(|| if serverless { global(key) } else { None });
        let at = format!("Resources.{logical_id}");
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
        let code = if serverless {
            pick("CodeUri")
        } else {
            own("Code")
        };
        let code_path = match code {
            None if serverless => Some(".".to_string()),
            None => continue,
            Some(node) if matches!(node.value, Yaml::Map(_)) && node.tag.is_none() => {
                // An S3 location or inline code: nothing local to build.
                if node.get("ZipFile").is_some()
                    || node.get("S3Bucket").is_some()
                    || node.get("Bucket").is_some()
                {
                    continue;
                }
                setting(Some(node), &format!("{at}.CodeUri"), &mut unresolved)
            }
            Some(node) => setting(Some(node), &format!("{at}.CodeUri"), &mut unresolved),
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
        let handler = setting(pick("Handler"), &format!("{at}.Handler"), &mut unresolved);
        let runtime = setting(pick("Runtime"), &format!("{at}.Runtime"), &mut unresolved)
            .map(|text| project::runtime(file, &at, &text))
            .transpose()?;
        let arch = match pick("Architectures") {
            Some(node) => node
                .items()
                .first()
                .and_then(|item| {
                    setting(Some(item), &format!("{at}.Architectures"), &mut unresolved)
                })
                .map(|text| project::arch(file, &at, &text))
                .transpose()?,
            None => None,
        };
        let mut layers = Vec::new();
        let global_layers = if serverless { global("Layers") } else { None };
        for node in global_layers.into_iter().chain(own("Layers")) {
            for layer in node.items() {
                layers.push(resolve(layer).unwrap_or_else(|_| layer.describe()));
            }
        }
        let variables: Vec<&Node> = [
            if serverless {
                global("Environment")
            } else {
                None
            },
            own("Environment"),
        ]
        .into_iter()
        .flatten()
        .filter_map(|environment| environment.get("Variables"))
        .collect();
        functions.push(FunctionSpec {
            name: logical_id.clone(),
            path: base.join(code_path),
            handler,
            runtime,
            arch,
            environment: environment(&variables, &at),
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
fn patterns(package: Option<&Node>, at: &str, unresolved: &mut Vec<String>) -> Vec<String> {
    package
        .and_then(|package| package.get("patterns"))
        .map(|patterns| {
            patterns
                .items()
                .into_iter()
                .filter_map(|pattern| setting(Some(pattern), &format!("{at}.patterns"), unresolved))
                .collect()
        })
        .unwrap_or_default()
}

/// The functions of a Serverless Framework `serverless.yml`. The service folder is every
/// function's folder (the framework zips it whole, less what `package.patterns` excludes).
pub fn serverless(file: &Path, text: &str) -> Result<Project> {
    let root = parse(file, text)?;
    let base = file.parent().unwrap_or(Path::new("."));
    let provider = root.get("provider");
    let from_provider = |key: &str| provider.and_then(|provider| provider.get(key));
    let functions_node = root
        .get("functions")
        .ok_or_else(|| Error::input(file, "no functions: section"))?;
    let mut functions = Vec::new();
    let mut provider_unresolved = Vec::new();
    let provider_runtime = setting(
        from_provider("runtime"),
        "provider.runtime",
        &mut provider_unresolved,
    );
    let provider_arch = setting(
        from_provider("architecture"),
        "provider.architecture",
        &mut provider_unresolved,
    );
    let service_package = root.get("package");
    let service_patterns = patterns(service_package, "package", &mut provider_unresolved);
    let individually = |package: Option<&Node>| {
        package
            .and_then(|package| package.get("individually"))
            .and_then(|value| resolve(value).ok())
            .map(|text| text == "true")
    };
    let service_individually = individually(service_package);
    for (name, function) in functions_node.entries() {
        let at = format!("functions.{name}");
        let mut unresolved = provider_unresolved.clone();
        // The framework applies the service's patterns, then the function's.
        let mut package_patterns = service_patterns.clone();
        package_patterns.extend(patterns(
            function.get("package"),
            &format!("{at}.package"),
            &mut unresolved,
        ));
        let mut notes = Vec::new();
        // Unset, the framework packages the whole service once (individually: false).
        if !individually(function.get("package"))
            .or(service_individually)
            .unwrap_or(false)
        {
            notes.push(
                "package.individually is false: the Serverless Framework would deploy one artifact for the whole service; lamina writes one zip per function, each with only what that function keeps".to_string(),
            );
        }
        let handler = setting(
            function.get("handler"),
            &format!("{at}.handler"),
            &mut unresolved,
        );
        let runtime = setting(
            function.get("runtime"),
            &format!("{at}.runtime"),
            &mut unresolved,
        )
        .or_else(|| provider_runtime.clone())
        .map(|text| project::runtime(file, &at, &text))
        .transpose()?;
        let arch = setting(
            function.get("architecture"),
            &format!("{at}.architecture"),
            &mut unresolved,
        )
        .or_else(|| provider_arch.clone())
        .map(|text| project::arch(file, &at, &text))
        .transpose()?;
        let mut layers = Vec::new();
        if let Some(node) = function.get("layers").or_else(|| from_provider("layers")) {
            for layer in node.items() {
                layers.push(resolve(layer).unwrap_or_else(|_| layer.describe()));
            }
        }
        let variables: Vec<&Node> = [from_provider("environment"), function.get("environment")]
            .into_iter()
            .flatten()
            .collect();
        functions.push(FunctionSpec {
            name: name.clone(),
            path: base.to_path_buf(),
            handler,
            runtime,
            arch,
            environment: environment(&variables, &at),
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
    }
}
