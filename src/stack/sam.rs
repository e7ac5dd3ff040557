//! What the `AWS::Serverless-2016-10-31` transform turns a SAM template into, counted: per
//! `AWS::Serverless::Function` the function, its role (unless `Role` is given), a version and an
//! alias (`AutoPublishAlias`), and per event what the translator adds for it; the implicit
//! REST and HTTP APIs once; the other serverless types; every other resource as it is.

use std::path::Path;

use super::{Ledger, Owner, at, text};
use crate::config::template::{Node, Yaml};
use crate::error::Result;

pub const TRANSFORM: &str = "AWS::Serverless-2016-10-31";

const IMPLICIT_REST_API: &str = "implicit REST API (ServerlessRestApi)";
const IMPLICIT_HTTP_API: &str = "implicit HTTP API (ServerlessHttpApi)";

/// Function settings that create resources lamina does not model.
const UNMODELLED_FUNCTION_SETTINGS: [&str; 3] = [
    "DeploymentPreference",
    "FunctionUrlConfig",
    "EventInvokeConfig",
];

pub fn expand(file: &Path, root: &Node) -> Result<(&'static str, Ledger)> {
    let mut ledger = Ledger::default();
    let transforms: Vec<&Node> = match root.get("Transform") {
        None => Vec::new(),
        Some(node) => match &node.value {
            Yaml::Seq(items) => items.iter().collect(),
            _ => vec![node],
        },
    };
    let mut sam = false;
    for transform in transforms {
        match text(transform) {
            Some(TRANSFORM) => sam = true,
            Some(other) => ledger.unknown(format!(
                "{}: the macro {other} may add or change resources; lamina expands only {TRANSFORM}",
                at(file, transform)
            )),
            None => ledger.unknown(format!(
                "{}: Transform {} is not a macro name lamina can read",
                at(file, transform),
                transform.describe()
            )),
        }
    }
    let globals = root
        .get("Globals")
        .and_then(|globals| globals.get("Function"));
    if let Some(api) = root.get("Globals").and_then(|globals| globals.get("Api")) {
        for key in ["Auth", "Domain"] {
            if let Some(node) = api.get(key) {
                ledger.unknown(format!(
                    "{}: Globals.Api.{key} may add resources to every API (usage plans, authorizers, domains)",
                    at(file, node)
                ));
            }
        }
    }
    let Some(resources) = root.get("Resources") else {
        return Ok((framework(sam), ledger));
    };
    for (id, resource) in resources.entries() {
        if id.starts_with("Fn::ForEach") {
            ledger.unknown(format!(
                "{}: {id} repeats resources by a list only CloudFormation expands",
                at(file, resource)
            ));
            continue;
        }
        let resource_type = resource.get("Type").and_then(text).unwrap_or("");
        let properties = resource.get("Properties");
        let setting = |key: &str| {
            properties
                .and_then(|properties| properties.get(key))
                .or_else(|| globals.and_then(|globals| globals.get(key)))
        };
        if resource.get("Connectors").is_some() {
            ledger.unknown(format!(
                "{}: {id}'s Connectors add policies lamina does not model",
                at(file, resource)
            ));
        }
        if !sam || !resource_type.starts_with("AWS::Serverless::") {
            if resource_type.starts_with("AWS::Serverless::") {
                ledger.unknown(format!(
                    "{}: {id} is {resource_type} but the template does not use {TRANSFORM}",
                    at(file, resource)
                ));
            }
            ledger.shared("the template's own resources", type_name(resource_type));
            continue;
        }
        match resource_type {
            "AWS::Serverless::Function" => {
                ledger.function(id);
                ledger.own(id, "AWS::Lambda::Function");
                // Globals cannot give a Role: the translator refuses one there.
                if properties
                    .and_then(|properties| properties.get("Role"))
                    .is_none()
                {
                    ledger.own(id, "AWS::IAM::Role");
                }
                // An empty alias name turns publishing off, as the translator does.
                if setting("AutoPublishAlias").is_some_and(|alias| text(alias) != Some("")) {
                    ledger.own(id, "AWS::Lambda::Version");
                    ledger.own(id, "AWS::Lambda::Alias");
                }
                for key in UNMODELLED_FUNCTION_SETTINGS {
                    if let Some(node) = setting(key) {
                        ledger.unknown(format!(
                            "{}: {id}.{key} adds resources lamina does not model",
                            at(file, node)
                        ));
                    }
                }
                if let Some(events) = properties.and_then(|properties| properties.get("Events")) {
                    if !matches!(events.value, Yaml::Map(_)) || events.tag.is_some() {
                        ledger.unknown(format!(
                            "{}: {id}.Events is not a map lamina can read",
                            at(file, events)
                        ));
                    }
                    for (name, event) in events.entries() {
                        function_event(file, &mut ledger, id, name, event);
                    }
                }
            }
            "AWS::Serverless::LayerVersion" => {
                ledger.shared("layers", "AWS::Lambda::LayerVersion");
            }
            "AWS::Serverless::SimpleTable" => {
                ledger.shared("tables", "AWS::DynamoDB::Table");
            }
            "AWS::Serverless::Application" => {
                ledger.shared("nested applications", "AWS::CloudFormation::Stack");
            }
            "AWS::Serverless::Api" => {
                let what = format!("REST API {id}");
                ledger.shared(&what, "AWS::ApiGateway::RestApi");
                ledger.shared(&what, "AWS::ApiGateway::Deployment");
                ledger.shared(&what, "AWS::ApiGateway::Stage");
                for key in ["Auth", "Domain"] {
                    if let Some(node) = properties.and_then(|properties| properties.get(key)) {
                        ledger.unknown(format!(
                            "{}: {id}.{key} may add resources (usage plans, authorizers, domains)",
                            at(file, node)
                        ));
                    }
                }
            }
            "AWS::Serverless::HttpApi" => {
                let what = format!("HTTP API {id}");
                ledger.shared(&what, "AWS::ApiGatewayV2::Api");
                ledger.shared(&what, "AWS::ApiGatewayV2::Stage");
                for key in ["Auth", "Domain"] {
                    if let Some(node) = properties.and_then(|properties| properties.get(key)) {
                        ledger.unknown(format!(
                            "{}: {id}.{key} may add resources (authorizers, domains)",
                            at(file, node)
                        ));
                    }
                }
            }
            other => {
                ledger.shared("the template's own resources", other);
                ledger.unknown(format!(
                    "{}: {id} is {other}, whose expansion lamina does not model (counted as one)",
                    at(file, resource)
                ));
            }
        }
    }
    Ok((framework(sam), ledger))
}

fn framework(sam: bool) -> &'static str {
    if sam { "sam" } else { "cloudformation" }
}

fn type_name(resource_type: &str) -> &str {
    if resource_type.is_empty() {
        "(no Type)"
    } else {
        resource_type
    }
}

/// What one entry of a function's `Events` adds.
fn function_event(file: &Path, ledger: &mut Ledger, function: &str, name: &str, event: &Node) {
    let Some(kind) = event.get("Type").and_then(text) else {
        ledger.unknown(format!(
            "{}: {function}.Events.{name} has no Type lamina can read",
            at(file, event)
        ));
        return;
    };
    let properties = event.get("Properties");
    let property = |key: &str| properties.and_then(|properties| properties.get(key));
    ledger.event(function, kind);
    match kind {
        "Api" => {
            ledger.of_event(function, kind, "AWS::Lambda::Permission");
            if property("RestApiId").is_none() {
                implicit(
                    ledger,
                    IMPLICIT_REST_API,
                    &[
                        "AWS::ApiGateway::RestApi",
                        "AWS::ApiGateway::Deployment",
                        "AWS::ApiGateway::Stage",
                    ],
                );
            }
        }
        "HttpApi" => {
            ledger.of_event(function, kind, "AWS::Lambda::Permission");
            if property("ApiId").is_none() {
                implicit(
                    ledger,
                    IMPLICIT_HTTP_API,
                    &["AWS::ApiGatewayV2::Api", "AWS::ApiGatewayV2::Stage"],
                );
            }
        }
        "SQS" | "Kinesis" | "DynamoDB" => {
            ledger.of_event(function, kind, "AWS::Lambda::EventSourceMapping");
        }
        "Schedule" | "EventBridgeRule" | "CloudWatchEvent" => {
            ledger.of_event(function, kind, "AWS::Events::Rule");
            ledger.of_event(function, kind, "AWS::Lambda::Permission");
            if let Some(node) = property("DeadLetterConfig") {
                ledger.unknown(format!(
                    "{}: {function}.Events.{name}.DeadLetterConfig may add a queue and its policy",
                    at(file, node)
                ));
            }
        }
        "SNS" => {
            ledger.of_event(function, kind, "AWS::SNS::Subscription");
            ledger.of_event(function, kind, "AWS::Lambda::Permission");
            if let Some(node) = property("SqsSubscription") {
                ledger.unknown(format!(
                    "{}: {function}.Events.{name}.SqsSubscription adds a queue, its policy and a mapping",
                    at(file, node)
                ));
            }
        }
        // The bucket's notification is set on the bucket itself, which the template declares.
        "S3" => ledger.of_event(function, kind, "AWS::Lambda::Permission"),
        "CloudWatchLogs" => {
            ledger.of_event(function, kind, "AWS::Logs::SubscriptionFilter");
            ledger.of_event(function, kind, "AWS::Lambda::Permission");
        }
        "ScheduleV2" => {
            ledger.of_event(function, kind, "AWS::Scheduler::Schedule");
            if property("RoleArn").is_none() {
                ledger.of_event(function, kind, "AWS::IAM::Role");
            }
            if let Some(node) = property("DeadLetterConfig") {
                ledger.unknown(format!(
                    "{}: {function}.Events.{name}.DeadLetterConfig may add a queue and its policy",
                    at(file, node)
                ));
            }
        }
        other => ledger.unknown(format!(
            "{}: {function}.Events.{name} is a {other} event, whose resources lamina does not model",
            at(file, event)
        )),
    }
}

/// An implicit API's resources, added with the first event that needs it.
fn implicit(ledger: &mut Ledger, what: &str, types: &[&str]) {
    for resource_type in types {
        ledger.once(
            format!("{what}/{resource_type}"),
            Owner::Shared(what.to_string()),
            resource_type,
        );
    }
}
