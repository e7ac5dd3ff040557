//! A package's computed `require` of its own scripts by a name only some APIs pass in
//! (`[[node.named_by]]` in `data/packages.toml`): moment loads `./locale/<name>` for the names
//! given to `moment.locale(..)`, `m.locale(..)`, `moment(input, format, name)`, ... The tracer
//! keeps every script of that folder (the computed prefix); when every such call in the code
//! that ships passes literal names, this pass drops the scripts none of them names (rule
//! `trace/unnamed-script`): `moment.locale("fr")` ships `locale/fr.js`, not 130 others.

use std::collections::BTreeSet;

use oxc_ast::ast::{
    Argument, ArrayExpressionElement, CallExpression, Expression, ObjectPropertyKind, PropertyKey,
};
use oxc_ast_visit::{Visit, walk};

use crate::knowledge::NodeNamedBy;
use crate::model::{Decision, Inventory, Reason, Trace, TraceUnit};

/// The rule of a script only a computed `require` reaches, which no name passed in can name.
const UNNAMED_SCRIPT: &str = "trace/unnamed-script";

/// Drops, for each `[[node.named_by]]` entry, the scripts of its folder that no name the
/// shipped code passes in can load; returns what to note.
pub fn prune(
    inventory: &Inventory,
    trace: &Trace,
    files: &mut [Decision],
    read: &dyn Fn(usize) -> Option<String>,
) -> Vec<String> {
    let mut notes = Vec::new();
    for package in &inventory.packages {
        for entry in crate::knowledge::node_named_by(&package.name, &package.version) {
            let folder = format!("{}/{}/", package.path, entry.folder);
            // Only the scripts nothing but a computed name reached: one your code requires
            // by path (`moment/locale/fr`) stays.
            let candidates: Vec<usize> = package
                .files
                .iter()
                .copied()
                .filter(|&file| {
                    let path = &inventory.files[file].path;
                    files[file].keep
                        && trace.broadly.contains(&file)
                        && path
                            .strip_prefix(&folder)
                            .is_some_and(|name| !name.contains('/'))
                        && super::imports::is_script(path)
                })
                .collect();
            if candidates.is_empty() {
                continue;
            }
            let site = format!("{}/{}:{}", package.path, entry.file, entry.site);
            let unit = TraceUnit::Package(package.id);
            let ships = |why: String| {
                format!(
                    "{folder} ships whole: {why}, so {site} may load any of it ({})",
                    crate::knowledge::FILE
                )
            };
            if let Some(reason) = &trace.all_packages {
                notes.push(ships(format!("your code may load anything ({reason})")));
                continue;
            }
            if let Some(reason) = trace.whole.get(&unit) {
                notes.push(ships(format!("{} is kept whole ({reason})", package.name)));
                continue;
            }
            let others: Vec<&String> = trace
                .partly
                .get(&unit)
                .into_iter()
                .flatten()
                .filter(|reason| !reason.starts_with(&site))
                .collect();
            if let Some(reason) = others.first() {
                notes.push(ships(format!("{} also loads by {reason}", package.name)));
                continue;
            }
            let names = match names_passed(inventory, trace, package.id, entry, read) {
                Ok(names) => names,
                Err(why) => {
                    notes.push(ships(why));
                    continue;
                }
            };
            let loadable: BTreeSet<String> = names.iter().flat_map(|name| loads(name)).collect();
            let mut dropped = 0;
            let mut count = 0;
            for file in candidates {
                let path = &inventory.files[file].path;
                let stem = path[folder.len()..]
                    .trim_end_matches(".js")
                    .trim_end_matches(".cjs")
                    .trim_end_matches(".mjs");
                if !loadable.contains(stem) {
                    dropped += inventory.files[file].bytes;
                    count += 1;
                    files[file] = Decision {
                        keep: false,
                        reason: Reason::Rule(UNNAMED_SCRIPT),
                    };
                }
            }
            let named: Vec<&str> = names.iter().map(String::as_str).collect();
            notes.push(format!(
                "{count} script(s) of {folder} do not ship ({}): {}, and the code that ships names only {} ({})",
                crate::model::human_bytes(dropped),
                entry.why,
                if named.is_empty() {
                    "none".to_string()
                } else {
                    crate::model::first_few(&named)
                },
                crate::knowledge::FILE
            ));
        }
    }
    notes
}

/// The scripts a name can load: lowercased, `_` read as `-`, then each `-` prefix
/// (`fr_CA` → `fr-ca`, `fr`).
fn loads(name: &str) -> Vec<String> {
    let normalized = name.to_ascii_lowercase().replace('_', "-");
    let parts: Vec<&str> = normalized.split('-').collect();
    (1..=parts.len())
        .map(|end| parts[..end].join("-"))
        .collect()
}

/// Every name the shipped code outside the package passes to the entry's APIs, or why
/// lamina cannot tell.
fn names_passed(
    inventory: &Inventory,
    trace: &Trace,
    package: crate::model::PackageId,
    entry: &NodeNamedBy,
    read: &dyn Fn(usize) -> Option<String>,
) -> Result<BTreeSet<String>, String> {
    let is_module = |specifier: &str| entry.modules.iter().any(|module| module == specifier);
    let modules: Vec<&str> = entry.modules.iter().map(String::as_str).collect();
    let mut names = BTreeSet::new();
    for file in super::data::code_that_ships(inventory, trace) {
        let path = &inventory.files[file].path;
        let reviewed = match inventory.files[file].owner {
            crate::model::Owner::Package(id) if id == package => true,
            crate::model::Owner::Package(id) => {
                let other = inventory.package(id);
                entry
                    .reviewed
                    .get(&other.name)
                    .is_some_and(|versions| crate::knowledge::in_range(versions, &other.version))
            }
            _ => false,
        };
        if reviewed || !super::imports::is_script(path) {
            continue;
        }
        let Some(text) = read(file) else {
            return Err(format!("{path} cannot be read"));
        };
        let mentions = entry
            .methods
            .iter()
            .any(|method| text.contains(method.as_str()))
            || modules
                .iter()
                .any(|module| super::module_use::quotes(&text, module));
        if !mentions {
            continue;
        }
        let found = super::imports::with_program(path, &text, |program, _| {
            let uses = super::module_use::module_use(program, &text, &is_module, &modules, true);
            if let Some(site) = uses.escapes.first() {
                return Err(format!(
                    "lamina cannot follow {} at {path}:{site}",
                    modules.join(" or ")
                ));
            }
            let mut calls = Calls {
                entry,
                source: &text,
                bound: uses.bound,
                names: BTreeSet::new(),
                unknown: None,
                keys: BTreeSet::new(),
                called: BTreeSet::new(),
            };
            calls.visit_program(program);
            match calls.unknown {
                Some(site) => Err(format!("{path}:{site} passes a name lamina cannot read")),
                None => Ok(calls.names),
            }
        })
        .map_err(|error| format!("{path} does not parse ({error})"))?;
        names.extend(found?);
    }
    Ok(names)
}

struct Calls<'e, 's> {
    entry: &'e NodeNamedBy,
    source: &'s str,
    bound: BTreeSet<String>,
    names: BTreeSet<String>,
    /// The first call whose name is not a literal.
    unknown: Option<String>,
    /// Where a string literal is the key of a call's member (`m["locale"](..)`), which the
    /// call reads, of an object literal's property, or the left of `in`: such strings are not
    /// names of a method called elsewhere.
    keys: BTreeSet<u32>,
    /// The members that are called (`m.locale` of `m.locale("fr")`): another read of the
    /// module's API (`const set = moment.locale`) hides its calls. (An instance's method read
    /// unbound throws when called; `.call`/`.apply`/`.bind` of one is caught on its own.)
    called: BTreeSet<u32>,
}

impl Calls<'_, '_> {
    fn unknown(&mut self, span: oxc_span::Span) {
        if self.unknown.is_none() {
            self.unknown = Some(super::imports::site_of(self.source, span));
        }
    }

    /// A name argument: a string, an array of strings, or nothing (`undefined`, `null`).
    fn name(&mut self, argument: Option<&Argument>, span: oxc_span::Span) {
        let Some(argument) = argument else { return };
        match argument.as_expression() {
            Some(Expression::StringLiteral(literal)) => {
                self.names.insert(literal.value.to_string());
            }
            Some(expression) if nothing(expression) => {}
            Some(Expression::ArrayExpression(array)) => {
                for element in &array.elements {
                    match element {
                        ArrayExpressionElement::StringLiteral(literal) => {
                            self.names.insert(literal.value.to_string());
                        }
                        _ => self.unknown(span),
                    }
                }
            }
            _ => self.unknown(span),
        }
    }

    /// The second argument of a method: an object whose `parent` is a literal name, or
    /// nothing.
    fn parent(&mut self, argument: Option<&Argument>, span: oxc_span::Span) {
        let Some(argument) = argument else { return };
        match argument.as_expression() {
            Some(Expression::ObjectExpression(object)) => {
                for property in &object.properties {
                    match property {
                        ObjectPropertyKind::ObjectProperty(property) if !property.computed => {
                            let key = match &property.key {
                                PropertyKey::StaticIdentifier(key) => key.name.as_str(),
                                PropertyKey::StringLiteral(key) => key.value.as_str(),
                                _ => "",
                            };
                            if key == self.entry.parent {
                                match &property.value {
                                    Expression::StringLiteral(literal) => {
                                        self.names.insert(literal.value.to_string());
                                    }
                                    _ => self.unknown(span),
                                }
                            }
                        }
                        _ => self.unknown(span),
                    }
                }
            }
            Some(expression) if nothing(expression) => {}
            _ => self.unknown(span),
        }
    }

    /// A method's or module member's name.
    fn is_api_name(&self, name: &str) -> bool {
        self.entry.methods.iter().any(|method| method == name)
            || self
                .entry
                .module_members
                .iter()
                .any(|member| member == name)
    }

    fn is_bound(&self, expression: &Expression) -> bool {
        matches!(expression, Expression::Identifier(identifier) if self.bound.contains(identifier.name.as_str()))
    }
}

impl<'a> Visit<'a> for Calls<'_, '_> {
    fn visit_call_expression(&mut self, call: &CallExpression<'a>) {
        if let Expression::StaticMemberExpression(member) = &call.callee {
            self.called.insert(member.span.start);
        }
        if let Expression::ComputedMemberExpression(member) = &call.callee {
            self.called.insert(member.span.start);
        }
        let method = match &call.callee {
            Expression::StaticMemberExpression(member) => {
                Some((member.property.name.as_str(), &member.object))
            }
            Expression::ComputedMemberExpression(member) => match &member.expression {
                Expression::StringLiteral(key) => {
                    self.keys.insert(key.span.start);
                    Some((key.value.as_str(), &member.object))
                }
                _ => None,
            },
            _ => None,
        };
        if let Some((name, object)) = method {
            if self.entry.methods.iter().any(|method| method == name) {
                self.name(call.arguments.first(), call.span);
                self.parent(call.arguments.get(1), call.span);
            } else if self.is_bound(object)
                && self
                    .entry
                    .module_members
                    .iter()
                    .any(|member| member == name)
            {
                self.module_call(call);
            }
        } else if self.is_bound(&call.callee) {
            self.module_call(call);
        }
        walk::walk_call_expression(self, call);
    }

    fn visit_static_member_expression(
        &mut self,
        member: &oxc_ast::ast::StaticMemberExpression<'a>,
    ) {
        let name = member.property.name.as_str();
        // The module's API read other than to call it (`const set = moment.locale`).
        if self.is_bound(&member.object)
            && self.is_api_name(name)
            && !self.called.contains(&member.span.start)
        {
            self.unknown(member.span);
        }
        // A call lamina cannot read: `moment.apply(null, [input, format, name])`,
        // `m.locale.call(m, name)`, `moment.fn.locale.bind(m)`.
        if matches!(name, "apply" | "call" | "bind") {
            let hidden = match &member.object {
                object if self.is_bound(object) => true,
                Expression::StaticMemberExpression(inner) => self.is_api_name(&inner.property.name),
                _ => false,
            };
            if hidden {
                self.unknown(member.span);
            }
        }
        walk::walk_static_member_expression(self, member);
    }

    fn visit_import_declaration(&mut self, declaration: &oxc_ast::ast::ImportDeclaration<'a>) {
        if self
            .entry
            .modules
            .iter()
            .any(|module| declaration.source.value == *module)
        {
            for specifier in declaration.specifiers.iter().flatten() {
                if let oxc_ast::ast::ImportDeclarationSpecifier::ImportSpecifier(named) = specifier
                    && self.is_api_name(&named.imported.name())
                {
                    self.unknown(declaration.span);
                }
            }
        }
        walk::walk_import_declaration(self, declaration);
    }

    fn visit_variable_declarator(&mut self, declarator: &oxc_ast::ast::VariableDeclarator<'a>) {
        // `const { locale } = require("moment")`, `= moment`: a method taken off the module.
        let of_module = match &declarator.init {
            Some(Expression::CallExpression(call)) => {
                matches!(&call.callee, Expression::Identifier(callee) if callee.name == "require")
                    && matches!(
                        call.arguments.first().and_then(|argument| argument.as_expression()),
                        Some(Expression::StringLiteral(literal))
                            if self.entry.modules.iter().any(|module| literal.value == *module)
                    )
            }
            Some(init) => self.is_bound(init),
            None => false,
        };
        if of_module && let oxc_ast::ast::BindingPattern::ObjectPattern(pattern) = &declarator.id {
            for property in &pattern.properties {
                if let PropertyKey::StaticIdentifier(key) = &property.key
                    && self.is_api_name(&key.name)
                {
                    self.unknown(property.span);
                }
            }
        }
        walk::walk_variable_declarator(self, declarator);
    }

    // `"locale" in options` tests for a property; `{ "locale": x }` defines one: neither
    // names a method to call.
    fn visit_binary_expression(&mut self, binary: &oxc_ast::ast::BinaryExpression<'a>) {
        if binary.operator == oxc_ast::ast::BinaryOperator::In
            && let Expression::StringLiteral(key) = &binary.left
        {
            self.keys.insert(key.span.start);
        }
        walk::walk_binary_expression(self, binary);
    }

    fn visit_object_property(&mut self, property: &oxc_ast::ast::ObjectProperty<'a>) {
        if let PropertyKey::StringLiteral(key) = &property.key
            && !property.computed
        {
            self.keys.insert(key.span.start);
        }
        walk::walk_object_property(self, property);
    }

    fn visit_string_literal(&mut self, literal: &oxc_ast::ast::StringLiteral<'a>) {
        // A method's name as a string, other than as a called member's key, may call it
        // by a computed key elsewhere.
        if !self.keys.contains(&literal.span.start)
            && self
                .entry
                .methods
                .iter()
                .any(|method| method == literal.value.as_str())
        {
            self.unknown(literal.span);
        }
    }
}

/// `null` or `undefined`: no name.
fn nothing(expression: &Expression) -> bool {
    match expression {
        Expression::NullLiteral(_) => true,
        Expression::Identifier(identifier) => identifier.name == "undefined",
        _ => false,
    }
}

impl Calls<'_, '_> {
    /// A call of the module's value or of one of its members: the name is the argument at
    /// `argument`, unless it is a boolean (`moment(input, format, true)`: strict parsing).
    fn module_call(&mut self, call: &CallExpression) {
        match call
            .arguments
            .get(self.entry.argument)
            .and_then(|argument| argument.as_expression())
        {
            Some(Expression::BooleanLiteral(_)) => {}
            _ => self.name(call.arguments.get(self.entry.argument), call.span),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_loads_its_normalized_prefixes() {
        assert_eq!(loads("fr_CA"), ["fr", "fr-ca"]);
        assert_eq!(loads("de"), ["de"]);
    }
}
