//! How a script uses the value of a module it loads: which named members it reads, and where
//! the value goes somewhere lamina cannot follow (passed on, indexed by a computed name,
//! re-exported, loaded by a name it cannot read). The AWS SDK v2 pass (`sdk_v2.rs`) and the
//! package-data entries of `data/packages.toml` (`data.rs`) decide by it.

use std::collections::{BTreeMap, HashMap, HashSet};

use oxc_ast::ast::{
    BindingPattern, CallExpression, ComputedMemberExpression, Expression, IdentifierReference,
    ImportDeclaration, ImportDeclarationSpecifier, PropertyKey, StaticMemberExpression,
    VariableDeclarator,
};
use oxc_ast_visit::{Visit, walk};
use oxc_span::Span;

/// What a script does with the modules a predicate picks.
#[derive(Debug, Default)]
pub struct ModuleUse {
    /// `line: code` of each use lamina cannot follow to the members it reads: the value
    /// indexed by a computed key, passed on, re-exported or assigned, or obtained other than
    /// by a `require`/`import` of a literal (a constant, `module.require`, a template), or a
    /// file with a direct `eval`.
    pub escapes: Vec<String>,
    /// Each named member read (`m.json`, `const { json } = require(..)`, `import { json }`),
    /// with the first site that reads it.
    pub members: BTreeMap<String, String>,
    /// The names bound to the module (`const moment = require(..)`, `import moment from ..`,
    /// `import * as moment from ..`).
    pub bound: std::collections::BTreeSet<String>,
}

/// How `program` (the text `source`) uses the modules whose specifiers `is_module` picks;
/// `names` are the prefixes those specifiers start with (`aws-sdk`), so quotes of them the
/// reader did not meet as loads count as escapes. With `callable`, calling the module's value
/// (`express()`) is followed too: its result is not the module.
pub fn module_use(
    program: &oxc_ast::ast::Program<'_>,
    source: &str,
    is_module: &dyn Fn(&str) -> bool,
    names: &[&str],
    callable: bool,
) -> ModuleUse {
    let mut bound = Bindings {
        is_module,
        names: BTreeMap::new(),
        imported: Vec::new(),
    };
    bound.visit_program(program);
    let mut declared = super::imports::BindingCounter::of(
        bound.names.keys().map(|name| name.to_string()).collect(),
    );
    declared.visit_program(program);
    let mut uses = Uses {
        source,
        is_module,
        callable,
        bindings: bound.names,
        declared: declared.counts,
        requires: Vec::new(),
        followed: HashSet::new(),
        references: HashMap::new(),
        members: HashMap::new(),
        read: BTreeMap::new(),
        other: Vec::new(),
        literal_loads: 0,
    };
    for (name, span) in bound.imported {
        uses.read(name, span);
    }
    uses.visit_program(program);
    let mut sites = Vec::new();
    for span in &uses.requires {
        if !uses.followed.contains(&span.start) {
            sites.push(uses.site(*span));
        }
    }
    for (name, span) in &uses.bindings {
        let total = uses.references.get(name).copied().unwrap_or(0);
        let members = uses.members.get(name).copied().unwrap_or(0);
        if total > members || uses.declared.get(name).copied().unwrap_or(0) > 1 {
            sites.push(uses.site(*span));
        }
    }
    sites.extend(uses.other);
    // Every quoted module specifier must be one of the requires and imports read above.
    let quoted = quoted_specifiers(source, names)
        .into_iter()
        .filter(|specifier| is_module(specifier))
        .count();
    if quoted > uses.literal_loads {
        sites.push(format!(
            "1: names {} {quoted} time(s), {} of them in a require or import lamina reads",
            names.join(" or "),
            uses.literal_loads
        ));
    }
    if quoted > 0 && source.contains("eval(") {
        sites.push("1: eval( of code that may use the module".to_string());
    }
    sites.sort();
    ModuleUse {
        escapes: sites,
        members: uses.read,
        bound: uses.bindings.into_keys().collect(),
    }
}

/// The quotes a specifier may be written in.
const QUOTES: [char; 3] = ['\'', '"', '`'];

/// The strings a text quotes that start with one of `names` (`'aws-sdk'`, `"aws-sdk/global"`,
/// `` `aws-sdk` ``), comments included.
pub fn quoted_specifiers<'t>(text: &'t str, names: &[&str]) -> Vec<&'t str> {
    // By where each starts, so a string two names start (`moment`, `moment-timezone`) counts
    // once.
    let mut found = BTreeMap::new();
    for name in names {
        for quote in QUOTES {
            let opening = format!("{quote}{name}");
            for (at, _) in text.match_indices(&opening) {
                let rest = &text[at + 1..];
                if let Some(end) = rest.find(quote) {
                    found.insert(at, &rest[..end]);
                }
            }
        }
    }
    found.into_values().collect()
}

/// Whether a text quotes a string that starts with `name` (`'aws-sdk`, `"aws-sdk`).
pub fn quotes(text: &str, name: &str) -> bool {
    // Most files never name it: the quoted forms are built only for those that do.
    text.contains(name)
        && QUOTES
            .iter()
            .any(|quote| text.contains(&format!("{quote}{name}")))
}

fn is_require_of(call: &CallExpression, is_module: &dyn Fn(&str) -> bool) -> bool {
    matches!(&call.callee, Expression::Identifier(callee) if callee.name == "require")
        && matches!(
            call.arguments.first().and_then(|argument| argument.as_expression()),
            Some(Expression::StringLiteral(literal)) if is_module(&literal.value)
        )
}

fn require_of<'e, 'a>(
    expression: &'e Expression<'a>,
    is_module: &dyn Fn(&str) -> bool,
) -> Option<&'e CallExpression<'a>> {
    match expression {
        Expression::CallExpression(call) if is_require_of(call, is_module) => Some(call),
        Expression::ParenthesizedExpression(inner) => require_of(&inner.expression, is_module),
        _ => None,
    }
}

/// The names bound to the module (`const AWS = require("aws-sdk")`, `import AWS from
/// "aws-sdk"`, `import * as AWS from "aws-sdk"`), and the members named imports read.
struct Bindings<'p> {
    is_module: &'p dyn Fn(&str) -> bool,
    names: BTreeMap<String, Span>,
    imported: Vec<(String, Span)>,
}

impl<'a> Visit<'a> for Bindings<'_> {
    fn visit_variable_declarator(&mut self, declarator: &VariableDeclarator<'a>) {
        if let (Some(name), Some(init)) = (declarator.id.get_identifier_name(), &declarator.init)
            && require_of(init, self.is_module).is_some()
        {
            self.names.insert(name.to_string(), declarator.span);
        }
        walk::walk_variable_declarator(self, declarator);
    }

    fn visit_import_declaration(&mut self, declaration: &ImportDeclaration<'a>) {
        if (self.is_module)(&declaration.source.value) {
            for specifier in declaration.specifiers.iter().flatten() {
                match specifier {
                    ImportDeclarationSpecifier::ImportDefaultSpecifier(default) => {
                        self.names
                            .insert(default.local.name.to_string(), declaration.span);
                    }
                    ImportDeclarationSpecifier::ImportNamespaceSpecifier(namespace) => {
                        self.names
                            .insert(namespace.local.name.to_string(), declaration.span);
                    }
                    // `import { default as AWS }`.
                    ImportDeclarationSpecifier::ImportSpecifier(named)
                        if named.imported.name() == "default" =>
                    {
                        self.names
                            .insert(named.local.name.to_string(), declaration.span);
                    }
                    ImportDeclarationSpecifier::ImportSpecifier(named) => {
                        self.imported
                            .push((named.imported.name().to_string(), declaration.span));
                    }
                }
            }
        }
        walk::walk_import_declaration(self, declaration);
    }
}

struct Uses<'s, 'p> {
    source: &'s str,
    is_module: &'p dyn Fn(&str) -> bool,
    callable: bool,
    bindings: BTreeMap<String, Span>,
    declared: HashMap<String, usize>,
    /// Every `require` of the module, and those in a position that is followed.
    requires: Vec<Span>,
    followed: HashSet<u32>,
    /// References to each bound name, and those that read a named member (or, `callable`,
    /// call it).
    references: HashMap<String, usize>,
    members: HashMap<String, usize>,
    /// The members read, each with its first site.
    read: BTreeMap<String, String>,
    /// Other uses that cannot be followed (`export * from "aws-sdk"`, `import("aws-sdk")`).
    other: Vec<String>,
    /// The requires, imports and exports of a literal module specifier.
    literal_loads: usize,
}

impl Uses<'_, '_> {
    fn site(&self, span: Span) -> String {
        super::imports::site_of(self.source, span)
    }

    fn read(&mut self, name: String, span: Span) {
        if !self.read.contains_key(&name) {
            let site = self.site(span);
            self.read.insert(name, site);
        }
    }

    fn bound(&self, expression: &Expression) -> Option<String> {
        match expression {
            Expression::Identifier(identifier)
                if self.bindings.contains_key(identifier.name.as_str()) =>
            {
                Some(identifier.name.to_string())
            }
            _ => None,
        }
    }
}

impl<'a> Visit<'a> for Uses<'_, '_> {
    fn visit_import_declaration(&mut self, declaration: &ImportDeclaration<'a>) {
        if (self.is_module)(&declaration.source.value) {
            self.literal_loads += 1;
        }
        walk::walk_import_declaration(self, declaration);
    }

    fn visit_variable_declarator(&mut self, declarator: &VariableDeclarator<'a>) {
        if let Some(call) = declarator
            .init
            .as_ref()
            .and_then(|init| require_of(init, self.is_module))
        {
            // Bound to a name (its uses are counted), or destructured by literal names.
            let followed = match &declarator.id {
                BindingPattern::BindingIdentifier(_) => true,
                BindingPattern::ObjectPattern(pattern) => {
                    pattern.rest.is_none()
                        && pattern.properties.iter().all(|property| !property.computed)
                }
                _ => false,
            };
            if followed {
                self.followed.insert(call.span.start);
            }
            if let BindingPattern::ObjectPattern(pattern) = &declarator.id {
                for property in &pattern.properties {
                    if let PropertyKey::StaticIdentifier(key) = &property.key {
                        self.read(key.name.to_string(), declarator.span);
                    }
                }
            }
        }
        walk::walk_variable_declarator(self, declarator);
    }

    fn visit_call_expression(&mut self, call: &CallExpression<'a>) {
        if is_require_of(call, self.is_module) {
            self.requires.push(call.span);
            self.literal_loads += 1;
        }
        if self.callable
            && let Some(name) = self.bound(&call.callee)
        {
            *self.members.entry(name).or_default() += 1;
        }
        walk::walk_call_expression(self, call);
    }

    fn visit_static_member_expression(&mut self, member: &StaticMemberExpression<'a>) {
        if let Some(call) = require_of(&member.object, self.is_module) {
            self.followed.insert(call.span.start);
            self.read(member.property.name.to_string(), member.span);
        }
        // `ns.default` is the module itself again (an ES namespace of CommonJS code).
        if let Some(name) = self.bound(&member.object)
            && member.property.name != "default"
        {
            *self.members.entry(name).or_default() += 1;
            self.read(member.property.name.to_string(), member.span);
        }
        walk::walk_static_member_expression(self, member);
    }

    fn visit_computed_member_expression(&mut self, member: &ComputedMemberExpression<'a>) {
        if let Expression::StringLiteral(key) = &member.expression {
            if let Some(call) = require_of(&member.object, self.is_module) {
                self.followed.insert(call.span.start);
                self.read(key.value.to_string(), member.span);
            }
            if let Some(name) = self.bound(&member.object) {
                *self.members.entry(name).or_default() += 1;
                self.read(key.value.to_string(), member.span);
            }
        }
        walk::walk_computed_member_expression(self, member);
    }

    fn visit_identifier_reference(&mut self, identifier: &IdentifierReference<'a>) {
        if self.bindings.contains_key(identifier.name.as_str()) {
            *self
                .references
                .entry(identifier.name.to_string())
                .or_default() += 1;
        }
    }

    fn visit_import_expression(&mut self, import: &oxc_ast::ast::ImportExpression<'a>) {
        if matches!(&import.source, Expression::StringLiteral(literal) if (self.is_module)(&literal.value))
        {
            self.other.push(self.site(import.span));
            self.literal_loads += 1;
        }
        walk::walk_import_expression(self, import);
    }

    fn visit_export_all_declaration(
        &mut self,
        declaration: &oxc_ast::ast::ExportAllDeclaration<'a>,
    ) {
        if (self.is_module)(&declaration.source.value) {
            self.other.push(self.site(declaration.span));
            self.literal_loads += 1;
        }
    }

    fn visit_export_from_declaration(
        &mut self,
        declaration: &oxc_ast::ast::ExportFromDeclaration<'a>,
    ) {
        if (self.is_module)(&declaration.source.value) {
            self.other.push(self.site(declaration.span));
            self.literal_loads += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uses(source: &str, callable: bool) -> ModuleUse {
        let is_module = |specifier: &str| specifier == "express";
        super::super::imports::with_program("index.js", source, |program, _| {
            module_use(program, source, &is_module, &["express"], callable)
        })
        .unwrap()
    }

    #[test]
    fn members_read_are_named_and_calls_followed_only_when_callable() {
        let source = "const express = require('express');\nconst app = express();\napp.use(express.json());\nconst { urlencoded } = require('express');\n";
        let found = uses(source, true);
        assert!(found.escapes.is_empty(), "{:?}", found.escapes);
        assert_eq!(
            found.members.keys().collect::<Vec<_>>(),
            ["json", "urlencoded"]
        );
        assert_eq!(found.members["json"], "3: express.json");
        // Not callable: calling the module is a use lamina cannot follow.
        assert_eq!(
            uses(source, false).escapes,
            ["1: express = require('express')"]
        );
    }

    #[test]
    fn a_string_two_names_start_is_quoted_once() {
        let text = "require('moment-timezone'); require(\"moment\");";
        assert_eq!(
            quoted_specifiers(text, &["moment", "moment-timezone"]),
            ["moment-timezone", "moment"]
        );
    }

    #[test]
    fn named_imports_are_members_and_passing_the_module_on_escapes() {
        let found = uses(
            "import express, { text } from 'express';\nuse(express);\n",
            true,
        );
        assert_eq!(found.members.keys().collect::<Vec<_>>(), ["text"]);
        assert_eq!(
            found.escapes,
            ["1: import express, { text } from 'express';"]
        );
        let found = uses("const e = require('express');\nconst p = e[name];\n", true);
        assert_eq!(found.escapes, ["1: e = require('express')"]);
        let found = uses("const m = 'express';\nconst e = require(m);\n", true);
        assert_eq!(
            found.escapes,
            ["1: names express 1 time(s), 0 of them in a require or import lamina reads"]
        );
    }
}
