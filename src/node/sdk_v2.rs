//! The AWS SDK for JavaScript v2 (`aws-sdk` 2.x), which Lambda's Node 18+ runtimes do not
//! provide, so a function that still uses it ships it: about 100 MB installed, 20 MB of it in
//! `apis/`, one model per AWS service. `clients/all.js` requires every client, but a client's
//! model loads only when the client is constructed: `clients/<id>.js` requires
//! `../apis/<id>-<version>.*.json` inside the getter of `apiLoader.services[id][version]`,
//! which `Service.defineServiceApi` reads when a client of that service is built. So with
//! `--shake files`, only the models of the clients the reached code names ship (rule
//! `trace/sdk-model`), unless some code uses the SDK's module in a way lamina cannot follow
//! (`AWS[name]`, passing it on), which may build a client by a computed name.

use std::collections::{BTreeSet, HashMap, HashSet};

use oxc_ast::ast::IdentifierReference;
use oxc_ast_visit::Visit;

use crate::model::{Decision, Inventory, Reason, Trace, TraceUnit};

/// The SDK's package name: `require("aws-sdk")` is the SDK with every client on it.
pub const MODULE: &str = "aws-sdk";

/// Whether a specifier gives the SDK's shared `AWS` object (or a part that holds clients):
/// `aws-sdk`, `aws-sdk/global`, `aws-sdk/lib/aws`, `aws-sdk/clients/all`, ... — all but one
/// client's file (`aws-sdk/clients/s3`, which names its service) and a model file.
pub fn is_module(specifier: &str) -> bool {
    let Some(rest) = specifier.strip_prefix(MODULE) else {
        return false;
    };
    if rest.is_empty() {
        return true;
    }
    let Some(path) = rest.strip_prefix('/') else {
        return false;
    };
    let path = path.trim_end_matches(".js");
    match path.strip_prefix("clients/") {
        Some(client) => client == "all" || client == "browser_default",
        None => !path.starts_with("apis/"),
    }
}

/// The rule of an AWS service model no reached code creates a client for (shared with Python).
const SDK_MODEL: &str = "trace/sdk-model";

/// Clients the SDK builds by itself from the configuration, whatever the code names:
/// assume-role and web-identity credentials (STS), Cognito and SSO credentials.
const SDK_OWN: [&str; 4] = ["sts", "cognitoidentity", "sso", "ssooidc"];

/// `line: code` of each use of the `aws-sdk` module's value that lamina cannot follow to the
/// client names it reads: indexed by a computed key, passed on, re-exported or assigned, or
/// obtained other than by a `require`/`import` of a literal (a constant, `module.require`,
/// a template), or in a file with a direct `eval`. Reading a named member (`AWS.S3`,
/// `const { SQS } = require("aws-sdk")`) is followed.
pub fn escapes(program: &oxc_ast::ast::Program<'_>, source: &str) -> Vec<String> {
    super::module_use::module_use(program, source, &is_module, &[MODULE], false).escapes
}

/// One client file of the SDK: its service, class and the model files it requires.
struct Client {
    id: String,
    class: String,
    /// Other names its customisations give the class (`AWS.SimpleWorkflow = AWS.SWF`).
    aliases: Vec<String>,
    models: Vec<usize>,
    /// `lib/services/<id>.js` and its text, which its code (run only for its clients) may
    /// build others from.
    customizations: Option<(usize, String)>,
}

/// The names a script's code holds (identifiers, property names, and the words of its
/// strings), and the client files it names by path (`aws-sdk/clients/sqs` → `sqs`); comments
/// do not count. A script that does not parse gives every word of its text.
fn names(path: &str, text: &str, into: &mut HashSet<String>, paths: &mut HashSet<String>) {
    let parsed = super::imports::with_program(path, text, |program, _| {
        Names {
            into: &mut *into,
            paths: &mut *paths,
        }
        .visit_program(program)
    });
    if parsed.is_err() {
        words(text, into);
        named_paths(text, paths);
    }
}

struct Names<'n> {
    into: &'n mut HashSet<String>,
    paths: &'n mut HashSet<String>,
}

impl<'a> Visit<'a> for Names<'_> {
    fn visit_identifier_name(&mut self, identifier: &oxc_ast::ast::IdentifierName<'a>) {
        self.into.insert(identifier.name.to_string());
    }

    fn visit_identifier_reference(&mut self, identifier: &IdentifierReference<'a>) {
        self.into.insert(identifier.name.to_string());
    }

    fn visit_binding_identifier(&mut self, identifier: &oxc_ast::ast::BindingIdentifier<'a>) {
        self.into.insert(identifier.name.to_string());
    }

    // A string names a client only whole (`AWS["S3"]`) or by path (`"aws-sdk/clients/s3"`).
    fn visit_string_literal(&mut self, literal: &oxc_ast::ast::StringLiteral<'a>) {
        self.into.insert(literal.value.to_string());
        named_paths(&literal.value, self.paths);
    }

    fn visit_template_element(&mut self, element: &oxc_ast::ast::TemplateElement<'a>) {
        self.into.insert(element.value.raw.to_string());
        named_paths(&element.value.raw, self.paths);
    }
}

/// Identifier-like words of a text (`AWS.S3` → `AWS`, `S3`).
fn words(text: &str, into: &mut HashSet<String>) {
    for word in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
        if !word.is_empty() {
            into.insert(word.to_string());
        }
    }
}

/// The client files (`aws-sdk/clients/sqs` → `sqs`) and models (`apis/<file>`) a text names
/// by path.
fn named_paths(text: &str, paths: &mut HashSet<String>) {
    for (at, _) in text.match_indices("clients/") {
        let rest = &text[at + "clients/".len()..];
        let id: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        if !id.is_empty() {
            paths.insert(id);
        }
    }
    // A model named by path (`require("aws-sdk/apis/lambda-2015-03-31.min.json")`).
    for (at, _) in text.match_indices("apis/") {
        let rest = &text[at + "apis/".len()..];
        let model: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
            .collect();
        if !model.is_empty() {
            paths.insert(format!("apis/{model}"));
        }
    }
}

/// Whether a script's text may import the SDK v2: it quotes a specifier starting `aws-sdk`.
pub(crate) fn imports_sdk(text: &str) -> bool {
    super::module_use::quotes(text, MODULE)
}

/// Drops the models of the SDK v2's services that no reached code builds a client for;
/// returns what to note.
pub fn prune_models(
    inventory: &Inventory,
    trace: &Trace,
    files: &mut [Decision],
    read: &dyn Fn(usize) -> Option<String>,
) -> Vec<String> {
    let mut notes = Vec::new();
    let index: HashMap<&str, usize> = inventory
        .files
        .iter()
        .enumerate()
        .map(|(i, file)| (file.path.as_str(), i))
        .collect();
    for package in &inventory.packages {
        if package.name != MODULE || !package.version.starts_with("2.") {
            continue;
        }
        let unit = TraceUnit::Package(package.id);
        if !package.files.iter().any(|&file| files[file].keep) || trace.whole.contains_key(&unit) {
            continue;
        }
        let folder = format!("{}/", package.path);
        let keep_all = |why: String| format!("every AWS SDK v2 service model ships: {why}");
        if let Some(reason) = &trace.all_packages {
            notes.push(keep_all(format!("your code may load anything ({reason})")));
            continue;
        }
        if let Some(site) = trace.sdk_v2_computed.first() {
            notes.push(keep_all(format!(
                "lamina cannot follow the aws-sdk module at {site} (indexed by a computed name, passed on, or loaded by a name it cannot read), so a client of any service may be built"
            )));
            continue;
        }
        if let Some(reason) = trace.partly.get(&unit).and_then(|reasons| reasons.first()) {
            notes.push(keep_all(format!(
                "the SDK loads by a computed name ({reason})"
            )));
            continue;
        }
        // The clients, each from its file's text.
        let mut clients = Vec::new();
        for &file in &package.files {
            let path = &inventory.files[file].path;
            let Some(name) = path
                .strip_prefix(&folder)
                .and_then(|rest| rest.strip_prefix("clients/"))
                .and_then(|rest| rest.strip_suffix(".js"))
            else {
                continue;
            };
            if name.contains('/') || name == "all" || name == "browser_default" {
                continue;
            }
            let Some(text) = read(file) else {
                notes.push(keep_all(format!("{path} cannot be read")));
                clients.clear();
                break;
            };
            let marker = "Service.defineService('";
            let Some(class) = text.find(marker).and_then(|at| {
                let before = text[..at].trim_end().strip_suffix('=')?.trim_end();
                Some(before.rsplit("AWS.").next()?.to_string())
            }) else {
                continue;
            };
            let id = name.to_string();
            let models = text
                .match_indices("require('../apis/")
                .filter_map(|(at, _)| {
                    let rest = &text[at + "require('../".len()..];
                    let model = &rest[..rest.find('\'')?];
                    index.get(format!("{folder}{model}").as_str()).copied()
                })
                .collect();
            let mut customizations = None;
            let mut aliases = Vec::new();
            if let Some(&file) = index.get(format!("{folder}lib/services/{id}.js").as_str()) {
                let Some(text) = read(file) else {
                    notes.push(keep_all(format!(
                        "{} cannot be read",
                        inventory.files[file].path
                    )));
                    clients.clear();
                    break;
                };
                let assigned = format!("= AWS.{class};");
                for line in text.lines() {
                    if let Some(alias) = line
                        .trim()
                        .strip_suffix(assigned.as_str())
                        .and_then(|left| left.trim_end().strip_prefix("AWS."))
                        .filter(|alias| alias.chars().all(|c| c.is_ascii_alphanumeric()))
                    {
                        aliases.push(alias.to_string());
                    }
                }
                customizations = Some((file, text));
            }
            clients.push(Client {
                id,
                class,
                aliases,
                models,
                customizations,
            });
        }
        if clients.is_empty() {
            continue;
        }
        // What the reached code names: every reached script but the SDK's clients, models and
        // per-service code (read for a service only once it is named).
        let excluded = ["clients/", "apis/", "lib/services/", "dist/", "dist-tools/"];
        let mut named_tokens = HashSet::new();
        let mut named_paths = HashSet::new();
        // A file that cannot be read may name any client.
        let mut unreadable = None;
        let mut loader = None;
        // Only code that holds the SDK can name its clients: the SDK's own, and files that
        // import it (its module leaving such a file is an escape, found above), so a file
        // that never quotes `aws-sdk` (v3's `@aws-sdk/...` does not count) is not parsed
        // again.
        let mut scan =
            |file: usize, tokens_into: &mut HashSet<String>, paths: &mut HashSet<String>| {
                let path = &inventory.files[file].path;
                match read(file) {
                    Some(text) if path.starts_with(&folder) || imports_sdk(&text) => {
                        // Code of yours that asks the SDK's model loader itself.
                        if !path.starts_with(&folder) && text.contains("apiLoader") {
                            loader = Some(path.clone());
                        }
                        names(path, &text, tokens_into, paths)
                    }
                    Some(_) => {}
                    None => unreadable = Some(path.clone()),
                }
            };
        let mut reached: Vec<usize> = trace.reached.keys().copied().collect();
        reached.sort_unstable();
        for file in reached {
            let path = &inventory.files[file].path;
            if !super::imports::is_script(path) {
                continue;
            }
            if let Some(rest) = path.strip_prefix(&folder)
                && excluded.iter().any(|prefix| rest.starts_with(prefix))
            {
                continue;
            }
            scan(file, &mut named_tokens, &mut named_paths);
        }
        let mut named: BTreeSet<usize> = BTreeSet::new();
        loop {
            let before = named.len();
            for (i, client) in clients.iter().enumerate() {
                if named.contains(&i) {
                    continue;
                }
                if named_tokens.contains(&client.class)
                    || client
                        .aliases
                        .iter()
                        .any(|alias| named_tokens.contains(alias))
                    || named_paths.contains(&client.id)
                    || SDK_OWN.contains(&client.id.as_str())
                {
                    named.insert(i);
                    if let Some((file, text)) = &client.customizations {
                        let path = &inventory.files[*file].path;
                        names(path, text, &mut named_tokens, &mut named_paths);
                    }
                }
            }
            if named.len() == before {
                break;
            }
        }
        if let Some(path) = unreadable {
            notes.push(keep_all(format!("{path} cannot be read")));
            continue;
        }
        if let Some(path) = loader {
            notes.push(keep_all(format!(
                "{path} uses the SDK's apiLoader, which loads a model by a computed name"
            )));
            continue;
        }
        // The named clients' models, and any model the code names by its path.
        let kept: HashSet<usize> = named
            .iter()
            .flat_map(|&i| clients[i].models.iter().copied())
            .chain(clients.iter().flat_map(|client| {
                client.models.iter().copied().filter(|&model| {
                    let name = inventory.files[model].path.rsplit('/').next().unwrap_or("");
                    named_paths.contains(&format!("apis/{name}"))
                })
            }))
            .collect();
        let mut dropped = 0;
        for client in &clients {
            for &model in &client.models {
                if files[model].keep && !kept.contains(&model) {
                    files[model] = Decision {
                        keep: false,
                        reason: Reason::Rule(SDK_MODEL),
                    };
                    dropped += inventory.files[model].bytes;
                }
            }
        }
        let mut classes: Vec<&str> = named
            .iter()
            .filter(|&&i| !SDK_OWN.contains(&clients[i].id.as_str()))
            .map(|&i| clients[i].class.as_str())
            .collect();
        classes.sort();
        notes.push(format!(
            "AWS SDK v2 service models: only those of {} ship (and STS, Cognito Identity and SSO, the SDK's own), {} of others go",
            if classes.is_empty() {
                "no service".to_string()
            } else {
                crate::model::first_few(&classes)
            },
            crate::model::human_bytes(dropped)
        ));
    }
    notes
}

#[cfg(test)]
mod tests {
    fn escapes_of(source: &str) -> Vec<String> {
        let allocator = oxc_allocator::Allocator::default();
        let parsed = oxc_parser::Parser::new(
            &allocator,
            source,
            oxc_span::SourceType::mjs().with_module(true),
        )
        .parse();
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        super::escapes(&parsed.program, source)
    }

    #[test]
    fn named_members_are_followed_and_other_uses_are_not() {
        for followed in [
            "const AWS = require('aws-sdk');\nconst s3 = new AWS.S3();\nconst d = new AWS.DynamoDB.DocumentClient();\n",
            "const { SQS, SNS } = require('aws-sdk');\nnew SQS();\n",
            "const S3 = require('aws-sdk').S3;\n",
            "import AWS from 'aws-sdk';\nnew AWS['S3']();\n",
            "import * as AWS from 'aws-sdk';\nAWS.config.update({ region: 'x' });\n",
            "import { S3 } from 'aws-sdk';\nnew S3();\n",
            "const S3 = require('aws-sdk/clients/s3');\nnew S3();\n",
            "const AWS = require('aws-sdk/global');\nnew AWS.S3();\n",
        ] {
            assert_eq!(escapes_of(followed), Vec::<String>::new(), "{followed}");
        }
        for (escaping, line) in [
            (
                "const AWS = require('aws-sdk');\nconst c = new AWS[name]();\n",
                "1",
            ),
            ("const AWS = require('aws-sdk');\ncaptureAWS(AWS);\n", "1"),
            ("module.exports = require('aws-sdk');\n", "1"),
            ("const { S3, ...rest } = require('aws-sdk');\n", "1"),
            ("wrap(require('aws-sdk'));\n", "1"),
            ("const sdk = await import('aws-sdk');\n", "1"),
            ("export * from 'aws-sdk';\n", "1"),
            (
                "import AWS from 'aws-sdk';\nfunction f(AWS) { return AWS.S3; }\n",
                "1",
            ),
            (
                "x();\nconst AWS = require('aws-sdk');\nfor (const k in AWS) new AWS[k]();\n",
                "2",
            ),
            (
                "const AWS = require('aws-sdk/global');\nnew AWS[svc]();\n",
                "1",
            ),
            (
                "const all = require('aws-sdk/clients/all');\nnew all[svc]();\n",
                "1",
            ),
            ("const AWS = module.require('aws-sdk');\n", "1"),
            ("const SDK = 'aws-sdk';\nconst AWS = require(SDK);\n", "1"),
            ("const AWS = require(`aws-sdk`);\n", "1"),
            (
                "import { default as AWS } from 'aws-sdk';\nnew AWS[svc]();\n",
                "1",
            ),
            (
                "import * as ns from 'aws-sdk';\nnew ns.default[svc]();\n",
                "1",
            ),
            ("const AWS = require('aws-sdk');\neval(code);\n", "1"),
        ] {
            let found = escapes_of(escaping);
            assert_eq!(found.len(), 1, "{escaping}: {found:?}");
            assert!(
                found[0].starts_with(&format!("{line}: ")),
                "{escaping}: {found:?}"
            );
        }
    }
}
