//! CloudFormation's resource limit per stack: how many resources a SAM template or a
//! `serverless.yml` becomes once the SAM transform or the Serverless Framework has expanded it,
//! who costs what, and a verdict. The expansion rules (`sam.rs`, `serverless.rs`) are written
//! from the tools' documented behaviour and held to the real expansions by `tests/it/stack.rs`;
//! whatever they do not cover is named in `unknown`, and the count is then a lower bound.

mod sam;
mod serverless;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Serialize;

use crate::config::template::{self, Node, Yaml};
use crate::error::{Error, Result};

/// CloudFormation's quota: resources one template may declare (after transforms).
pub const RESOURCE_LIMIT: usize = 500;
/// From here lamina warns: a few more functions with events will not fit.
pub const WARNING_AT: usize = 400;

/// The resource count of one template's stack.
#[derive(Debug, Clone, Serialize)]
pub struct StackReport {
    /// The template, as given.
    pub template: String,
    /// `sam` (a template with the `AWS::Serverless-2016-10-31` transform), `cloudformation`
    /// (no transform) or `serverless` (a Serverless Framework service).
    pub framework: &'static str,
    /// Resources the deployed stack holds; a lower bound when `exact` is false.
    pub resources: usize,
    /// False when something in `unknown` may add resources lamina did not count.
    pub exact: bool,
    /// 500.
    pub limit: usize,
    /// 400.
    pub warning_at: usize,
    /// `ok`, `warning` (at least `warning_at`) or `error` (more than `limit`).
    pub severity: &'static str,
    /// The verdict in one sentence.
    pub message: String,
    /// Per function, in template order: what it costs.
    pub functions: Vec<FunctionCost>,
    /// Resources no single function owns (an API several share, the deployment bucket, the
    /// template's own resources), by what they are, sorted.
    pub shared: Vec<SharedCost>,
    /// Resources per CloudFormation type, sorted by type.
    pub types: Vec<TypeCount>,
    /// What lamina could not expand (an event type, a macro, a setting), each with where.
    pub unknown: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FunctionCost {
    pub name: String,
    /// Every resource this function brings, its own and its events'.
    pub resources: usize,
    /// The function itself, its role, version, alias and log group.
    pub own: usize,
    /// Per event kind (`Api`, `SQS`; `http`, `sqs`), sorted.
    pub events: Vec<EventCost>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EventCost {
    pub kind: String,
    /// Events of this kind on the function.
    pub events: usize,
    /// Resources they add that belong to this function alone.
    pub resources: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct SharedCost {
    pub what: String,
    pub resources: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct TypeCount {
    #[serde(rename = "type")]
    pub resource_type: String,
    pub count: usize,
}

impl StackReport {
    pub fn ok(&self) -> bool {
        self.severity != "error"
    }
}

/// Whether `file` is a template lamina counts (a SAM/CloudFormation template or a
/// `serverless.yml`), by name: `lamina.toml` is not.
pub fn counts(file: &Path) -> bool {
    file.file_name()
        .and_then(|name| name.to_str())
        .is_some_and(|name| name.ends_with(".yaml") || name.ends_with(".yml"))
}

/// Counts the resources of the stack `file` deploys.
pub fn count(file: &Path) -> Result<StackReport> {
    let text = crate::fs::read_to_string(file)?;
    let root = template::parse(file, &text)?;
    if !matches!(root.value, Yaml::Map(_)) {
        return Err(Error::input(
            file,
            "not a template: the top level is not a map",
        ));
    }
    let (framework, ledger) = if template::is_serverless(file, &root) {
        ("serverless", serverless::expand(file, &root)?)
    } else {
        sam::expand(file, &root)?
    };
    Ok(ledger.report(file, framework))
}

/// Who a resource belongs to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Owner {
    /// A function; the kind is `None` for its own resources, else its event kind.
    Function(String, Option<String>),
    Shared(String),
}

/// The resources an expansion produces, as it goes.
#[derive(Debug, Default)]
struct Ledger {
    resources: Vec<(Owner, String)>,
    /// Keys of resources several declarations share (an implicit API, a path segment).
    once: BTreeSet<String>,
    /// Events per (function, kind).
    events: BTreeMap<(String, String), usize>,
    /// Functions in template order.
    functions: Vec<String>,
    unknown: Vec<String>,
}

impl Ledger {
    fn function(&mut self, name: &str) {
        self.functions.push(name.to_string());
    }

    fn own(&mut self, function: &str, resource_type: &str) {
        self.resources.push((
            Owner::Function(function.to_string(), None),
            resource_type.to_string(),
        ));
    }

    fn event(&mut self, function: &str, kind: &str) {
        *self
            .events
            .entry((function.to_string(), kind.to_string()))
            .or_default() += 1;
    }

    fn of_event(&mut self, function: &str, kind: &str, resource_type: &str) {
        self.resources.push((
            Owner::Function(function.to_string(), Some(kind.to_string())),
            resource_type.to_string(),
        ));
    }

    fn shared(&mut self, what: &str, resource_type: &str) {
        self.resources
            .push((Owner::Shared(what.to_string()), resource_type.to_string()));
    }

    /// Adds a resource the first time `key` is seen; true when it was added.
    fn once(&mut self, key: String, owner: Owner, resource_type: &str) -> bool {
        if !self.once.insert(key) {
            return false;
        }
        self.resources.push((owner, resource_type.to_string()));
        true
    }

    fn unknown(&mut self, what: String) {
        self.unknown.push(what);
    }

    fn report(self, file: &Path, framework: &'static str) -> StackReport {
        let total = self.resources.len();
        let mut types: BTreeMap<&str, usize> = BTreeMap::new();
        let mut shared: BTreeMap<&str, usize> = BTreeMap::new();
        let mut own: BTreeMap<&str, usize> = BTreeMap::new();
        let mut by_event: BTreeMap<(&str, &str), usize> = BTreeMap::new();
        for (owner, resource_type) in &self.resources {
            *types.entry(resource_type).or_default() += 1;
            match owner {
                Owner::Shared(what) => *shared.entry(what).or_default() += 1,
                Owner::Function(name, None) => *own.entry(name).or_default() += 1,
                Owner::Function(name, Some(kind)) => {
                    *by_event.entry((name, kind)).or_default() += 1;
                }
            }
        }
        let functions = self
            .functions
            .iter()
            .map(|name| {
                let events: Vec<EventCost> = self
                    .events
                    .iter()
                    .filter(|((function, _), _)| function == name)
                    .map(|((_, kind), &events)| EventCost {
                        kind: kind.clone(),
                        events,
                        resources: by_event
                            .get(&(name.as_str(), kind.as_str()))
                            .copied()
                            .unwrap_or(0),
                    })
                    .collect();
                let own = own.get(name.as_str()).copied().unwrap_or(0);
                FunctionCost {
                    name: name.clone(),
                    resources: own + events.iter().map(|event| event.resources).sum::<usize>(),
                    own,
                    events,
                }
            })
            .collect();
        let exact = self.unknown.is_empty();
        let amount = if exact {
            format!("{total} resources")
        } else {
            format!("at least {total} resources")
        };
        let (severity, message) = if total > RESOURCE_LIMIT {
            (
                "error",
                format!(
                    "{amount}: CloudFormation refuses a stack of more than {RESOURCE_LIMIT}; split it (nested stacks, or several stacks or services)"
                ),
            )
        } else if total >= WARNING_AT {
            (
                "warning",
                format!(
                    "{amount}: near CloudFormation's {RESOURCE_LIMIT} per stack; the next functions may not fit"
                ),
            )
        } else if exact {
            (
                "ok",
                format!("{amount} of CloudFormation's {RESOURCE_LIMIT} per stack"),
            )
        } else {
            (
                "ok",
                format!(
                    "{amount} of CloudFormation's {RESOURCE_LIMIT} per stack; what lamina could not expand may add more"
                ),
            )
        };
        StackReport {
            template: file.display().to_string(),
            framework,
            resources: total,
            exact,
            limit: RESOURCE_LIMIT,
            warning_at: WARNING_AT,
            severity,
            message,
            functions,
            shared: shared
                .into_iter()
                .map(|(what, resources)| SharedCost {
                    what: what.to_string(),
                    resources,
                })
                .collect(),
            types: types
                .into_iter()
                .map(|(resource_type, count)| TypeCount {
                    resource_type: resource_type.to_string(),
                    count,
                })
                .collect(),
            unknown: self.unknown,
        }
    }
}

/// A plain string value (never an intrinsic function or a tag).
fn text(node: &Node) -> Option<&str> {
    match (&node.value, node.tag.as_deref()) {
        (Yaml::String(text) | Yaml::Scalar(text), None) => Some(text),
        (Yaml::String(text) | Yaml::Scalar(text), Some(tag)) if tag.starts_with("!!") => Some(text),
        _ => None,
    }
}

/// Where a value is, for a message: `template.yaml:12`.
fn at(file: &Path, node: &Node) -> String {
    if node.line > 0 {
        format!("{}:{}", file.display(), node.line)
    } else {
        file.display().to_string()
    }
}
