//! `--smoke` for Node.js: the local `node` loads the handler with lamina's loader script (an
//! ES module import, the handler called with `(event, context, callback)`), finding modules
//! only beside the handler and on Lambda's `NODE_PATH`; the runtime's SDK, when the input does
//! not have it, is stood in for by packages that load and do nothing.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use crate::error::Result;
use crate::lambda::Runtime;
use crate::model::{Function, Inventory, Owner};
use crate::smoke::{Layout, Loader};

/// The Node.js side of the smoke run.
pub struct NodeLoader;

impl Loader for NodeLoader {
    fn interpreters(&self, runtime: Runtime) -> (Vec<String>, String, String) {
        (
            vec!["node".to_string()],
            format!("v{}.", runtime.node_major()),
            format!("Node {}", runtime.node_major()),
        )
    }

    fn script(&self) -> (&'static str, &'static str) {
        ("lamina-smoke.cjs", NODE_LOADER)
    }

    /// The task's parent folder: ES modules ignore `NODE_PATH` and look up parent folders'
    /// `node_modules`, which is how a handler's `import` finds the SDK.
    fn runtime_folder(&self) -> Option<&'static str> {
        None
    }

    fn arguments(
        &self,
        command: &mut Command,
        function: &Function,
        layout: &Layout,
        loader: &Path,
        (_module, export): (&str, &str),
        event: &str,
        result: &Path,
    ) -> Vec<(String, String)> {
        // Lambda's NODE_PATH; `/var/task` last, as Lambda has it.
        let node_path = crate::lambda::layers::search_folders(function.runtime)
            .iter()
            .map(|folder| layout.opt.join(folder))
            .chain([layout.runtime.join("node_modules"), layout.task.clone()])
            .map(|path| path.display().to_string())
            .collect::<Vec<_>>()
            .join(":");
        command
            .arg(loader)
            .arg(layout.task.join(&function.handler.file))
            .arg(export)
            .arg(event)
            .arg(result);
        vec![("NODE_PATH".to_string(), node_path)]
    }

    fn stand_in(
        &self,
        inventory: &Inventory,
        runtime: &Path,
        installed: &BTreeSet<String>,
    ) -> Result<Vec<String>> {
        let wanted: Vec<&String> = inventory
            .imports
            .packages
            .iter()
            .filter(|name| crate::shake::runtime_provided(inventory, name))
            .filter(|name| !installed.contains(*name))
            .collect();
        for name in &wanted {
            node_stand_in(inventory, runtime, name)?;
        }
        let mut notes = Vec::new();
        if !wanted.is_empty() {
            notes.push(format!(
                "the runtime's {} not installed here: stood in by modules that load but do nothing, so calls into them were not checked",
                wanted
                    .iter()
                    .map(|name| name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        Ok(notes)
    }

    /// Node's first line (`Error: Cannot find module 'x'`) past its warnings.
    fn error_key<'a>(&self, text: &'a str) -> &'a str {
        text.lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .find(|line| !line.starts_with("(node:") && !line.starts_with("(Use `node"))
            .unwrap_or("")
    }

    fn frames_last(&self) -> bool {
        false
    }
}

/// A Node package `name` that loads and does nothing: any property is a callable, newable
/// stand-in. ESM named imports need their names written out: they are read from the user's
/// code (`import { S3Client } from '@aws-sdk/client-s3'`).
fn node_stand_in(inventory: &Inventory, runtime: &Path, name: &str) -> Result<()> {
    let folder = runtime.join("node_modules").join(name);
    crate::fs::create_dir_all(&folder)?;
    let mut names = BTreeSet::new();
    for file in &inventory.files {
        if file.owner != Owner::User || !crate::node::imports::is_script(&file.path) {
            continue;
        }
        let Ok(text) = crate::input::read_to_string(&file.source, Some(file.bytes)) else {
            continue;
        };
        names.extend(named_imports(&text, name));
    }
    crate::fs::write(
        folder.join("package.json"),
        serde_json::json!({
            "name": name,
            "version": "0.0.0-lamina-stand-in",
            "main": "index.js",
            "exports": { "import": "./index.mjs", "default": "./index.js" },
        })
        .to_string(),
    )?;
    crate::fs::write(folder.join("index.js"), NODE_STAND_IN)?;
    let mut module = String::from("import stub from './index.js';\nexport default stub;\n");
    for export in names {
        module.push_str(&format!("export const {export} = stub.{export};\n"));
    }
    crate::fs::write(folder.join("index.mjs"), module)?;
    Ok(())
}

const NODE_STAND_IN: &str = "'use strict';\n\
// lamina --smoke: the runtime ships this package; this stand-in loads and does nothing.\n\
function stub() {\n\
  return new Proxy(function () {}, {\n\
    get: (target, key) => (key === 'then' ? undefined : key === Symbol.toPrimitive ? () => '' : stub()),\n\
    apply: () => stub(),\n\
    construct: () => stub(),\n\
  });\n\
}\n\
module.exports = stub();\n";

/// The names `import { A, B as C } from 'SPEC'` takes from `spec` in `text`.
fn named_imports(text: &str, spec: &str) -> Vec<String> {
    let mut names = Vec::new();
    for quote in ['\'', '"'] {
        let needle = format!("from {quote}{spec}{quote}");
        let mut rest = text;
        while let Some(at) = rest.find(&needle) {
            let before = &rest[..at];
            let head = |open: usize| before[..open].trim_end().to_string();
            if let (Some(open), Some(close)) = (before.rfind('{'), before.rfind('}'))
                && open < close
                && before[close + 1..].trim().is_empty()
                && (head(open).ends_with("import") || head(open).ends_with(','))
            {
                for part in before[open + 1..close].split(',') {
                    let name = part.split_whitespace().next().unwrap_or("");
                    if !name.is_empty()
                        && name
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
                        && name != "default"
                    {
                        names.push(name.to_string());
                    }
                }
            }
            rest = &rest[at + needle.len()..];
        }
    }
    names
}

const NODE_LOADER: &str = r#"'use strict';
// lamina --smoke: loads the handler and, with an event, calls it as Lambda's Node runtime does.
const fs = require('fs');
const path = require('path');
const url = require('url');
const [file, name, eventFile, resultFile] = process.argv.slice(2);
const deadline = Date.now() + Number(process.env.LAMINA_SMOKE_TIMEOUT_MS || 60000);
const env = process.env;
let finished = false;
function finish(error, result) {
  if (finished) return;
  finished = true;
  if (error !== undefined && error !== null) {
    const text = error instanceof Error ? (error.stack || String(error)) : JSON.stringify(error);
    process.stderr.write(`the handler failed: ${text}\n`);
    process.exit(4);
  }
  let json;
  try { json = JSON.stringify(result === undefined ? null : result); } catch (e) { json = String(result); }
  fs.writeFileSync(resultFile, json === undefined ? 'null' : json);
  // Lambda freezes the process once the handler has answered.
  process.exit(0);
}
const context = {
  callbackWaitsForEmptyEventLoop: true,
  functionName: env.AWS_LAMBDA_FUNCTION_NAME,
  functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
  invokedFunctionArn: `arn:aws:lambda:${env.AWS_REGION}:123456789012:function:${env.AWS_LAMBDA_FUNCTION_NAME}`,
  memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
  awsRequestId: 'lamina-smoke-00000000-0000-0000-0000-000000000000',
  logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
  logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
  getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  done: (error, result) => finish(error, result),
  succeed: (result) => finish(null, result),
  fail: (error) => finish(error || new Error('context.fail')),
};
import(url.pathToFileURL(file).href)
  .then((module) => {
    const handler = module[name] ?? (module.default && module.default[name]);
    if (typeof handler !== 'function') {
      process.stderr.write(`the handler export ${name} of ${path.basename(file)} is ${typeof handler}, not a function\n`);
      process.exit(3);
    }
    if (!eventFile) process.exit(0);
    const event = JSON.parse(fs.readFileSync(eventFile, 'utf8'));
    const callback = (error, result) => finish(error, result);
    const returned = handler(event, context, callback);
    if (returned && typeof returned.then === 'function') {
      returned.then((result) => finish(null, result), (error) => finish(error || new Error('the handler rejected')));
    } else {
      // No promise: Lambda answers when the callback is called, or with null once the event
      // loop is empty.
      process.on('beforeExit', () => finish(null, null));
    }
  })
  .catch((error) => {
    process.stderr.write(`${(error && error.stack) || String(error)}\n`);
    process.exit(4);
  });
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_imports_are_read_from_import_statements() {
        let text = "import { S3Client, GetObjectCommand as Get } from '@aws-sdk/client-s3';\n\
                    import x from \"@aws-sdk/client-s3\";\n\
                    import { marshall } from \"@aws-sdk/util-dynamodb\";\n";
        assert_eq!(
            named_imports(text, "@aws-sdk/client-s3"),
            ["S3Client", "GetObjectCommand"]
        );
        assert_eq!(named_imports(text, "@aws-sdk/util-dynamodb"), ["marshall"]);
    }

    #[test]
    fn an_error_is_known_by_its_message_not_its_warnings_or_stack() {
        let node = "(node:12) Warning: x\nError: Cannot find module 'a'\nRequire stack:\n- /var/task/index.js\n";
        assert_eq!(NodeLoader.error_key(node), "Error: Cannot find module 'a'");
    }
}
