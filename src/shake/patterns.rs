//! Serverless Framework `package.patterns`, applied the way the framework applies them: each
//! pattern is a glob over paths relative to the service folder, evaluated in order; `!pattern`
//! excludes, any other pattern includes again, the last pattern that matches a file wins, and a
//! file no pattern matches ships. A pattern never drops the handler nor a file a kept package
//! needs at run time: those stay, with a note naming the pattern.

use std::collections::HashMap;
use std::path::Path;

use globset::{GlobBuilder, GlobMatcher};

use crate::error::{Error, Result};
use crate::model::{Decision, Inventory, Owner, Plan, Reason};
use crate::shake::rules::Protected;

/// The rule id every file dropped by a pattern carries (`docs/rules.md`).
pub const PACKAGE_PATTERN: &str = "user/package-pattern";

struct Pattern {
    text: String,
    exclude: bool,
    matcher: GlobMatcher,
}

fn compile(source: &Path, patterns: &[String]) -> Result<Vec<Pattern>> {
    patterns
        .iter()
        .map(|text| {
            let (exclude, glob) = match text.strip_prefix('!') {
                Some(rest) => (true, rest),
                None => (false, text.as_str()),
            };
            // micromatch, which the framework uses: `*` stays within one folder, `**` crosses
            // folders, and dot files match (`dot: true`).
            let matcher = GlobBuilder::new(glob.trim_start_matches("./"))
                .literal_separator(true)
                .build()
                .map_err(|error| {
                    Error::input(source, format!("package pattern {text:?}: {error}"))
                })?
                .compile_matcher();
            Ok(Pattern {
                text: text.clone(),
                exclude,
                matcher,
            })
        })
        .collect()
}

/// The path the framework matches: relative to the service folder (Python dependencies in
/// `package/` are matched there, not at their artifact path). Files copied in from outside the
/// folder (followed links) are matched at their artifact path.
fn service_path(inventory: &Inventory, index: usize) -> String {
    let file = &inventory.files[index];
    file.source
        .strip_prefix(&inventory.function.root)
        .ok()
        .and_then(|relative| relative.to_str())
        .map_or_else(|| file.path.clone(), |text| text.replace('\\', "/"))
}

/// Whether a kept package's file is one it cannot do without: a Node package's `main` or
/// `exports` targets, a Python distribution's top-level module or package `__init__.py`, or a
/// file the `--shake files` tracer reached from the handler.
/// `entries` holds each Node package's entry points, made once.
fn needed_by_package(
    inventory: &Inventory,
    plan: &Plan,
    index: usize,
    entries: &mut HashMap<usize, Protected>,
) -> bool {
    if inventory
        .trace()
        .is_some_and(|trace| trace.reached.contains_key(&index))
    {
        return true;
    }
    let file = &inventory.files[index];
    let Owner::Package(id) = file.owner else {
        return false;
    };
    let package = &inventory.packages[id.0];
    if !plan.packages[id.0].keep {
        return false;
    }
    if inventory.python().is_some() {
        // Distributions install at the site-packages root: their import roots are the
        // top-level modules and packages.
        return (!file.path.contains('/') && file.path.ends_with(".py"))
            || file
                .path
                .split_once('/')
                .is_some_and(|(_, rest)| rest == "__init__.py");
    }
    file.path
        .strip_prefix(&package.path)
        .and_then(|rest| rest.strip_prefix('/'))
        .is_some_and(|relative| {
            entries
                .entry(id.0)
                .or_insert_with(|| Protected::of(package.manifest()))
                .file(relative)
        })
}

/// Drops the kept files the patterns exclude, with the rule id `user/package-pattern`.
/// `source` is the template the patterns come from, for error messages.
pub fn apply(
    inventory: &Inventory,
    plan: &mut Plan,
    patterns: &[String],
    source: &Path,
) -> Result<()> {
    if patterns.is_empty() {
        return Ok(());
    }
    let compiled = compile(source, patterns)?;
    let handler = inventory.function.handler.file.as_str();
    let mut entries = HashMap::new();
    for index in 0..inventory.files.len() {
        if !plan.files[index].keep {
            continue;
        }
        let path = service_path(inventory, index);
        let Some(last) = compiled
            .iter()
            .rev()
            .find(|pattern| pattern.matcher.is_match(&path))
        else {
            continue;
        };
        if !last.exclude {
            continue;
        }
        let file = &inventory.files[index];
        let guard = if file.path == handler {
            Some("the handler")
        } else if matches!(file.owner, Owner::Package(_))
            && needed_by_package(inventory, plan, index, &mut entries)
        {
            Some("a file its package needs at run time")
        } else {
            None
        };
        if let Some(what) = guard {
            plan.notes.push(format!(
                "package pattern {:?} would exclude {path}, {what}; it ships",
                last.text
            ));
            continue;
        }
        plan.files[index] = Decision {
            keep: false,
            reason: Reason::Rule(PACKAGE_PATTERN),
        };
    }
    super::drop_dangling_links(inventory, &mut plan.files);
    Ok(())
}
