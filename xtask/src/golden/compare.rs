//! `cargo xtask golden --compare A.json B.json`: what differs between two golden files, by
//! input and run — exit codes, zip hashes, report fields with their values before and after
//! (cut to one line) — printed on stdout.
//!
//! Lists of objects are matched by identity, not position (`name`, `path`, `id`, `rule` or
//! `class`, the first every element has and no two share), so a package added to a report is
//! one difference, not one per later package; lists of plain values are compared as
//! collections (what went, what came) and then for order.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde_json::Value;

/// The most differences printed for one run; the rest are counted.
const SHOWN_PER_RUN: usize = 40;
/// The longest value printed, in characters.
const SHOWN_CHARS: usize = 160;

/// Prints the differences between the golden files `before` and `after`; returns how many
/// there are.
pub fn compare(before: &Path, after: &Path) -> Result<usize> {
    let read = |path: &Path| -> Result<Value> {
        let text = fs_err::read_to_string(path)?;
        let value: Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not JSON", path.display()))?;
        if !value["format"]
            .as_str()
            .is_some_and(|format| format.starts_with("lamina golden"))
        {
            bail!("{} is not a golden file (no `format`)", path.display());
        }
        Ok(value)
    };
    let (a, b) = (read(before)?, read(after)?);
    println!("A: {}\nB: {}", before.display(), after.display());
    let mut total = 0;
    let mut runs_differing = 0;

    // The header: the file's format and the tools that decide outputs.
    let mut header = Vec::new();
    for key in ["format", "environment"] {
        diff(key, &a[key], &b[key], &mut header);
    }
    if !header.is_empty() {
        println!("\nenvironment (outputs may differ for this reason alone)");
        total += print(&header, "  ");
    }

    let empty = serde_json::Map::new();
    let inputs_a = a["inputs"].as_object().unwrap_or(&empty);
    let inputs_b = b["inputs"].as_object().unwrap_or(&empty);
    let keys: BTreeSet<&String> = inputs_a.keys().chain(inputs_b.keys()).collect();
    for key in keys {
        let (Some(input_a), Some(input_b)) = (inputs_a.get(key), inputs_b.get(key)) else {
            let side = if inputs_a.contains_key(key) { "A" } else { "B" };
            println!("\n{key}\n  only in {side}");
            total += 1;
            continue;
        };
        let mut lines = Vec::new();
        for field in ["source", "install", "fingerprint", "modified_by_lamina"] {
            diff(field, &input_a[field], &input_b[field], &mut lines);
        }
        let mut sections = Vec::new();
        if !lines.is_empty() {
            let mut lines = lines;
            if input_a["fingerprint"] != input_b["fingerprint"] {
                lines.push(
                    "the installed input differs: its outputs may differ for that reason alone"
                        .to_string(),
                );
            }
            sections.push(("input".to_string(), lines));
        }
        let runs_a = input_a["runs"].as_object().unwrap_or(&empty);
        let runs_b = input_b["runs"].as_object().unwrap_or(&empty);
        let run_keys: BTreeSet<&String> = runs_a.keys().chain(runs_b.keys()).collect();
        for run_key in run_keys {
            let (Some(run_a), Some(run_b)) = (runs_a.get(run_key), runs_b.get(run_key)) else {
                let side = if runs_a.contains_key(run_key) {
                    "A"
                } else {
                    "B"
                };
                sections.push((run_key.clone(), vec![format!("only in {side}")]));
                continue;
            };
            let mut lines = Vec::new();
            diff_run(run_a, run_b, &mut lines);
            if !lines.is_empty() {
                sections.push((run_key.clone(), lines));
            }
        }
        if sections.is_empty() {
            continue;
        }
        println!("\n{key}");
        for (run_key, lines) in sections {
            println!("  {run_key}");
            runs_differing += 1;
            total += print(&lines, "    ");
        }
    }
    if total == 0 {
        println!("\nno differences");
    } else {
        println!("\n{total} differences in {runs_differing} runs");
    }
    Ok(total)
}

/// Prints at most `SHOWN_PER_RUN` lines; returns how many there were.
fn print(lines: &[String], indent: &str) -> usize {
    for line in lines.iter().take(SHOWN_PER_RUN) {
        println!("{indent}{line}");
    }
    if lines.len() > SHOWN_PER_RUN {
        println!(
            "{indent}… and {} more differences",
            lines.len() - SHOWN_PER_RUN
        );
    }
    lines.len()
}

/// The differences of one run: exit code, zips (by hash), other files, then the report and
/// the printed text, field by field.
fn diff_run(a: &Value, b: &Value, lines: &mut Vec<String>) {
    diff("exit code", &a["exit_code"], &b["exit_code"], lines);
    diff("command", &a["command"], &b["command"], lines);
    let empty = serde_json::Map::new();
    let zips_a = a["zips"].as_object().unwrap_or(&empty);
    let zips_b = b["zips"].as_object().unwrap_or(&empty);
    let names: BTreeSet<&String> = zips_a.keys().chain(zips_b.keys()).collect();
    for name in names {
        let hash = |value: Option<&Value>| {
            value
                .and_then(Value::as_str)
                .map_or("(not written)".to_string(), |hash| {
                    hash.chars().take(16).collect()
                })
        };
        let (hash_a, hash_b) = (zips_a.get(name), zips_b.get(name));
        if hash_a != hash_b {
            lines.push(format!("zip {name}: {} → {}", hash(hash_a), hash(hash_b)));
        }
    }
    diff("files", &a["other_files"], &b["other_files"], lines);
    diff("report", &a["report"], &b["report"], lines);
    diff("stdout", &a["stdout"], &b["stdout"], lines);
    diff("stderr", &a["stderr"], &b["stderr"], lines);
}

/// Appends a line per difference between `a` and `b` at `path`.
fn diff(path: &str, a: &Value, b: &Value, lines: &mut Vec<String>) {
    if a == b {
        return;
    }
    match (a, b) {
        (Value::Object(map_a), Value::Object(map_b)) => {
            let keys: BTreeSet<&String> = map_a.keys().chain(map_b.keys()).collect();
            for key in keys {
                let field = format!("{path}.{key}");
                match (map_a.get(key), map_b.get(key)) {
                    (Some(value_a), Some(value_b)) => diff(&field, value_a, value_b, lines),
                    (Some(value_a), None) => {
                        lines.push(format!("{field}: only in A: {}", shown(value_a)))
                    }
                    (None, Some(value_b)) => {
                        lines.push(format!("{field}: only in B: {}", shown(value_b)))
                    }
                    (None, None) => {}
                }
            }
        }
        (Value::Array(items_a), Value::Array(items_b)) => diff_list(path, items_a, items_b, lines),
        (Value::String(text_a), Value::String(text_b))
            if text_a.contains('\n') || text_b.contains('\n') =>
        {
            diff_text(path, text_a, text_b, lines)
        }
        _ => lines.push(format!("{path}: {} → {}", shown(a), shown(b))),
    }
}

/// Lists of objects by identity; anything else as a collection, then for order.
fn diff_list(path: &str, a: &[Value], b: &[Value], lines: &mut Vec<String>) {
    if let Some(key) = identity(a, b) {
        let label = |item: &Value| shown_scalar(&item[key]);
        let labels_a: Vec<String> = a.iter().map(label).collect();
        let labels_b: Vec<String> = b.iter().map(label).collect();
        for (item, label) in a.iter().zip(&labels_a) {
            match b.iter().zip(&labels_b).find(|(_, other)| *other == label) {
                Some((other, _)) => diff(&format!("{path}[{key}={label}]"), item, other, lines),
                None => lines.push(format!("{path}[{key}={label}]: only in A: {}", shown(item))),
            }
        }
        for (item, label) in b.iter().zip(&labels_b) {
            if !labels_a.contains(label) {
                lines.push(format!("{path}[{key}={label}]: only in B: {}", shown(item)));
            }
        }
        let common_a: Vec<&String> = labels_a.iter().filter(|l| labels_b.contains(l)).collect();
        let common_b: Vec<&String> = labels_b.iter().filter(|l| labels_a.contains(l)).collect();
        if common_a != common_b {
            lines.push(format!("{path}: {key}s in another order"));
        }
        return;
    }
    if a.len() == b.len() && a.iter().all(Value::is_object) && b.iter().all(Value::is_object) {
        for (index, (item_a, item_b)) in a.iter().zip(b).enumerate() {
            diff(&format!("{path}[{index}]"), item_a, item_b, lines);
        }
        return;
    }
    let before = lines.len();
    let mut remaining_b: Vec<&Value> = b.iter().collect();
    let mut only_a = Vec::new();
    for item in a {
        match remaining_b.iter().position(|other| *other == item) {
            Some(index) => {
                remaining_b.remove(index);
            }
            None => only_a.push(item),
        }
    }
    for item in only_a {
        lines.push(format!("{path}: only in A: {}", shown(item)));
    }
    for item in remaining_b {
        lines.push(format!("{path}: only in B: {}", shown(item)));
    }
    if lines.len() == before {
        lines.push(format!("{path}: the same items in another order"));
    }
}

/// The key that identifies the items of both lists: every item an object holding it as a
/// string or number, and no two items of one list sharing its value.
fn identity(a: &[Value], b: &[Value]) -> Option<&'static str> {
    ["name", "path", "id", "rule", "class"]
        .into_iter()
        .find(|key| {
            [a, b].iter().all(|items| {
                let mut seen = BTreeSet::new();
                items.iter().all(|item| {
                    matches!(&item[*key], Value::String(_) | Value::Number(_))
                        && seen.insert(item[*key].to_string())
                })
            }) && !(a.is_empty() && b.is_empty())
        })
}

/// Multi-line texts (stderr, smoke errors) line by line.
fn diff_text(path: &str, a: &str, b: &str, lines: &mut Vec<String>) {
    let lines_a: Vec<Value> = a.lines().map(|line| Value::String(line.into())).collect();
    let lines_b: Vec<Value> = b.lines().map(|line| Value::String(line.into())).collect();
    diff_list(&format!("{path} (lines)"), &lines_a, &lines_b, lines);
}

fn shown_scalar(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// A value on one line, cut to `SHOWN_CHARS` characters.
fn shown(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() <= SHOWN_CHARS {
        return text;
    }
    let cut: String = text.chars().take(SHOWN_CHARS).collect();
    format!("{cut}… ({} chars)", text.chars().count())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::diff;

    fn differences(a: serde_json::Value, b: serde_json::Value) -> Vec<String> {
        let mut lines = Vec::new();
        diff("report", &a, &b, &mut lines);
        lines
    }

    #[test]
    fn equal_values_have_no_difference() {
        let report = json!({"functions": [{"name": "f", "notes": ["a"], "zipped_bytes": 3}]});
        assert!(differences(report.clone(), report).is_empty());
    }

    #[test]
    fn a_package_added_is_one_difference_not_a_shift() {
        let package = |name: &str, bytes: u64| json!({"name": name, "path": format!("node_modules/{name}"), "bytes": bytes});
        let a = json!({"packages": [package("a", 1), package("c", 3)]});
        let b = json!({"packages": [package("a", 1), package("b", 2), package("c", 4)]});
        // The object as serde_json prints it: its key order depends on the workspace's features.
        let added = format!("report.packages[name=b]: only in B: {}", package("b", 2));
        assert_eq!(
            differences(a, b),
            ["report.packages[name=c].bytes: 3 → 4".to_string(), added]
        );
    }

    #[test]
    fn lists_of_texts_compare_as_collections_then_order() {
        assert_eq!(
            differences(json!(["x", "y"]), json!(["y", "z"])),
            [r#"report: only in A: "x""#, r#"report: only in B: "z""#]
        );
        assert_eq!(
            differences(json!(["x", "y"]), json!(["y", "x"])),
            ["report: the same items in another order"]
        );
    }

    #[test]
    fn long_values_are_cut() {
        let lines = differences(json!({"note": "a".repeat(500)}), json!({"note": "b"}));
        assert_eq!(lines.len(), 1);
        assert!(lines[0].contains("… (502 chars)"), "{}", lines[0]);
    }
}
