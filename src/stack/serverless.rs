//! What Serverless Framework v3 compiles a `serverless.yml` into (`sls package` writes it to
//! `.serverless/cloudformation-template-update-stack.json`), counted: the deployment bucket and
//! its policy, the shared execution role, per function the function, its log group and a
//! version, per event what the framework's AWS plugins add, and the user's `resources:`.

use std::path::Path;

use super::{Ledger, Owner, at, text};
use crate::config::template::{Node, Yaml};
use crate::error::{Error, Result};

const REST_API: &str = "REST API (ApiGatewayRestApi)";
const HTTP_API: &str = "HTTP API (HttpApi)";

/// Function settings that add resources lamina does not model.
const UNMODELLED_FUNCTION_SETTINGS: [&str; 3] = ["url", "provisionedConcurrency", "destinations"];

/// Provider settings that add resources lamina does not model.
const UNMODELLED_PROVIDER_SETTINGS: [(&str, &str); 5] = [
    ("apiGateway", "restApiId"),
    ("apiGateway", "apiKeys"),
    ("apiGateway", "usagePlan"),
    ("httpApi", "id"),
    ("httpApi", "authorizers"),
];

pub fn expand(file: &Path, root: &Node) -> Result<Ledger> {
    let mut ledger = Ledger::default();
    let provider = root.get("provider");
    let from_provider = |key: &str| provider.and_then(|provider| provider.get(key));
    if let Some(name) = from_provider("name")
        && text(name) != Some("aws")
    {
        return Err(Error::input(
            file,
            format!(
                "provider.name is {}: lamina counts only AWS stacks",
                name.describe()
            ),
        ));
    }
    if let Some(plugins) = root.get("plugins") {
        let names: Vec<String> = match &plugins.value {
            Yaml::Seq(items) => items.iter().map(Node::describe).collect(),
            _ => plugins
                .get("modules")
                .map(|modules| match &modules.value {
                    Yaml::Seq(items) => items.iter().map(Node::describe).collect(),
                    _ => vec![modules.describe()],
                })
                .unwrap_or_else(|| vec![plugins.describe()]),
        };
        for name in names {
            ledger.unknown(format!(
                "{}: the plugin {name} may add resources",
                at(file, plugins)
            ));
        }
    }
    for (section, key) in UNMODELLED_PROVIDER_SETTINGS {
        if let Some(node) = from_provider(section).and_then(|section| section.get(key)) {
            ledger.unknown(format!(
                "{}: provider.{section}.{key} changes the API's resources in ways lamina does not model",
                at(file, node)
            ));
        }
    }
    if let Some(node) = from_provider("logs").and_then(|logs| {
        logs.get("restApi")
            .or_else(|| logs.get("httpApi"))
            .or_else(|| logs.get("websocket"))
    }) {
        ledger.unknown(format!(
            "{}: provider.logs adds API access logging resources lamina does not model",
            at(file, node)
        ));
    }

    // The framework uploads the package to its own bucket unless given one by name.
    let own_bucket = match from_provider("deploymentBucket") {
        None => true,
        Some(bucket) => matches!(bucket.value, Yaml::Map(_)) && bucket.get("name").is_none(),
    };
    if own_bucket {
        ledger.shared("deployment bucket", "AWS::S3::Bucket");
        ledger.shared("deployment bucket", "AWS::S3::BucketPolicy");
    }
    let provider_role = from_provider("iam")
        .and_then(|iam| iam.get("role"))
        .or_else(|| from_provider("role"))
        .is_some_and(names_a_role);
    let versions = from_provider("versionFunctions").and_then(text) != Some("false");

    let functions = root.get("functions");
    match functions {
        Some(node) if matches!(node.value, Yaml::Map(_)) && node.tag.is_none() => {}
        Some(node) => ledger.unknown(format!(
            "{}: functions is {}, which lamina cannot read as a map",
            at(file, node),
            node.describe()
        )),
        None => {}
    }
    let mut needs_role = false;
    for (name, function) in functions.map(Node::entries).unwrap_or(&[]) {
        ledger.function(name);
        ledger.own(name, "AWS::Lambda::Function");
        if function.get("disableLogs").and_then(text) != Some("true") {
            ledger.own(name, "AWS::Logs::LogGroup");
        }
        if versions && function.get("versionFunction").and_then(text) != Some("false") {
            ledger.own(name, "AWS::Lambda::Version");
        }
        if function.get("role").is_none() {
            needs_role = true;
        }
        for key in UNMODELLED_FUNCTION_SETTINGS {
            if let Some(node) = function.get(key) {
                ledger.unknown(format!(
                    "{}: functions.{name}.{key} adds resources lamina does not model",
                    at(file, node)
                ));
            }
        }
        let Some(events) = function.get("events") else {
            continue;
        };
        let Yaml::Seq(events) = &events.value else {
            ledger.unknown(format!(
                "{}: functions.{name}.events is {}, which lamina cannot read as a list",
                at(file, events),
                events.describe()
            ));
            continue;
        };
        for event in events {
            match event.entries() {
                [(kind, settings)] => function_event(file, &mut ledger, name, kind, settings),
                _ => ledger.unknown(format!(
                    "{}: functions.{name} has an event lamina cannot read: {}",
                    at(file, event),
                    event.describe()
                )),
            }
        }
    }
    if needs_role && !provider_role {
        ledger.shared("execution role", "AWS::IAM::Role");
    }

    if let Some(resources) = root.get("resources") {
        match resources.get("Resources") {
            Some(declared) if matches!(declared.value, Yaml::Map(_)) => {
                for (_, resource) in declared.entries() {
                    // Without a Type it overrides properties of a resource the framework makes.
                    if let Some(resource_type) = resource.get("Type") {
                        let resource_type = text(resource_type).unwrap_or("(no Type)");
                        ledger.shared("resources:", resource_type);
                    }
                }
            }
            Some(declared) => ledger.unknown(format!(
                "{}: resources.Resources is {}, which lamina cannot read as a map",
                at(file, declared),
                declared.describe()
            )),
            None if !matches!(resources.value, Yaml::Map(_)) => ledger.unknown(format!(
                "{}: resources is {}, which lamina cannot read as a map",
                at(file, resources),
                resources.describe()
            )),
            None => {}
        }
    }
    Ok(ledger)
}

/// `provider.iam.role` names an existing role (an ARN, a name, an intrinsic function); a map of
/// settings (`statements`, `managedPolicies`) asks the framework to make one.
fn names_a_role(role: &Node) -> bool {
    match &role.value {
        Yaml::Map(entries) => entries
            .iter()
            .any(|(key, _)| key == "Ref" || key.starts_with("Fn::")),
        _ => true,
    }
}

/// `"METHOD /path"` of an `http` or `httpApi` event, or its `method` and `path` settings.
fn route(settings: &Node) -> Option<(String, String)> {
    if let Some(line) = text(settings) {
        if line.trim() == "*" {
            return Some(("*".to_string(), String::new()));
        }
        let (method, path) = line.trim().split_once(' ')?;
        return Some((method.to_ascii_uppercase(), path.trim().to_string()));
    }
    let method = settings.get("method").and_then(text)?;
    let path = settings.get("path").and_then(text).unwrap_or("");
    Some((method.to_ascii_uppercase(), path.to_string()))
}

fn function_event(file: &Path, ledger: &mut Ledger, function: &str, kind: &str, settings: &Node) {
    ledger.event(function, kind);
    let owner = || Owner::Function(function.to_string(), Some(kind.to_string()));
    let setting = |key: &str| settings.get(key);
    let unmodelled = |ledger: &mut Ledger, key: &str| {
        if let Some(node) = setting(key) {
            ledger.unknown(format!(
                "{}: functions.{function} {kind} event: {key} adds resources lamina does not model",
                at(file, node)
            ));
        }
    };
    match kind {
        "http" => {
            for key in ["authorizer", "private", "request"] {
                unmodelled(ledger, key);
            }
            let Some((method, path)) = route(settings) else {
                ledger.unknown(format!(
                    "{}: functions.{function}: an http event without a method and path lamina can read",
                    at(file, settings)
                ));
                return;
            };
            for resource_type in ["AWS::ApiGateway::RestApi", "AWS::ApiGateway::Deployment"] {
                ledger.once(
                    format!("rest/{resource_type}"),
                    Owner::Shared(REST_API.to_string()),
                    resource_type,
                );
            }
            let path = path.trim_matches('/').to_string();
            // One resource per path segment, shared by every route below it.
            let mut prefix = String::new();
            for segment in path.split('/').filter(|segment| !segment.is_empty()) {
                if !prefix.is_empty() {
                    prefix.push('/');
                }
                prefix.push_str(segment);
                ledger.once(
                    format!("rest/resource/{prefix}"),
                    Owner::Shared(REST_API.to_string()),
                    "AWS::ApiGateway::Resource",
                );
            }
            ledger.once(
                format!("rest/method/{path} {method}"),
                owner(),
                "AWS::ApiGateway::Method",
            );
            let cors = setting("cors").is_some_and(|cors| text(cors) != Some("false"));
            if cors {
                ledger.once(
                    format!("rest/method/{path} OPTIONS"),
                    Owner::Shared(REST_API.to_string()),
                    "AWS::ApiGateway::Method",
                );
            }
            ledger.once(
                format!("rest/permission/{function}"),
                owner(),
                "AWS::Lambda::Permission",
            );
        }
        "httpApi" => {
            unmodelled(ledger, "authorizer");
            let Some((method, path)) = route(settings) else {
                ledger.unknown(format!(
                    "{}: functions.{function}: an httpApi event without a method and path lamina can read",
                    at(file, settings)
                ));
                return;
            };
            for resource_type in ["AWS::ApiGatewayV2::Api", "AWS::ApiGatewayV2::Stage"] {
                ledger.once(
                    format!("http/{resource_type}"),
                    Owner::Shared(HTTP_API.to_string()),
                    resource_type,
                );
            }
            for resource_type in ["AWS::ApiGatewayV2::Integration", "AWS::Lambda::Permission"] {
                ledger.once(
                    format!("http/{function}/{resource_type}"),
                    owner(),
                    resource_type,
                );
            }
            ledger.once(
                format!("http/route/{method} {path}"),
                owner(),
                "AWS::ApiGatewayV2::Route",
            );
        }
        "sqs" => {
            let arn = setting("arn").unwrap_or(settings);
            ledger.once(
                format!("sqs/{function}/{}", source_key(arn)),
                owner(),
                "AWS::Lambda::EventSourceMapping",
            );
        }
        "schedule" => {
            if setting("method")
                .and_then(text)
                .is_some_and(|m| m != "eventBus")
            {
                unmodelled(ledger, "method");
            }
            if let Some(rates) = setting("rate")
                && let Yaml::Seq(items) = &rates.value
                && items.len() != 1
            {
                ledger.unknown(format!(
                    "{}: functions.{function}: a schedule with several rates, which lamina does not model",
                    at(file, rates)
                ));
            }
            ledger.of_event(function, kind, "AWS::Events::Rule");
            ledger.of_event(function, kind, "AWS::Lambda::Permission");
        }
        "sns" => {
            let arn = match text(settings) {
                Some(line) if line.starts_with("arn:") => Some(settings),
                Some(_) => None,
                None if settings.tag.is_some() => Some(settings),
                None => setting("arn"),
            };
            if let Some(arn) = arn {
                ledger.once(
                    format!("sns/{function}/{}", source_key(arn)),
                    owner(),
                    "AWS::SNS::Subscription",
                );
                ledger.once(
                    format!("sns/permission/{function}/{}", source_key(arn)),
                    owner(),
                    "AWS::Lambda::Permission",
                );
                return;
            }
            let Some(topic) = text(settings).or_else(|| setting("topicName").and_then(text)) else {
                ledger.unknown(format!(
                    "{}: functions.{function}: an sns event without a topic lamina can read",
                    at(file, settings)
                ));
                return;
            };
            for key in ["filterPolicy", "redrivePolicy"] {
                unmodelled(ledger, key);
            }
            ledger.once(
                format!("sns/topic/{topic}"),
                Owner::Shared("SNS topics of sns events".to_string()),
                "AWS::SNS::Topic",
            );
            ledger.once(
                format!("sns/permission/{function}/{topic}"),
                owner(),
                "AWS::Lambda::Permission",
            );
        }
        "s3" => {
            if setting("existing").and_then(text) == Some("true") {
                ledger.unknown(format!(
                    "{}: functions.{function}: an s3 event on an existing bucket adds a custom resource and its function, which lamina does not model",
                    at(file, settings)
                ));
                return;
            }
            let Some(bucket) = text(settings).or_else(|| setting("bucket").and_then(text)) else {
                ledger.unknown(format!(
                    "{}: functions.{function}: an s3 event without a bucket name lamina can read",
                    at(file, settings)
                ));
                return;
            };
            ledger.once(
                format!("s3/bucket/{bucket}"),
                Owner::Shared("S3 buckets of s3 events".to_string()),
                "AWS::S3::Bucket",
            );
            ledger.once(
                format!("s3/permission/{function}/{bucket}"),
                owner(),
                "AWS::Lambda::Permission",
            );
        }
        other => ledger.unknown(format!(
            "{}: functions.{function} has a {other} event, whose resources lamina does not model",
            at(file, settings)
        )),
    }
}

/// What identifies an event source: the ARN's last part, or the intrinsic function naming it.
fn source_key(node: &Node) -> String {
    match text(node) {
        Some(arn) => arn.rsplit(':').next().unwrap_or(arn).to_string(),
        None => node.describe(),
    }
}
