//! Import extraction from the user's own JS/TS files with `oxc_parser`: the bare package names
//! they import, and every import lamina cannot follow (which keeps all root dependencies).

use oxc_allocator::Allocator;
use oxc_ast::ast::{
    Argument, CallExpression, ExportAllDeclaration, ExportFromDeclaration, Expression,
    IdentifierReference, ImportDeclaration, ImportExpression, MemberExpression,
    TSExternalModuleReference, UnaryExpression, UnaryOperator, VariableDeclarator,
};
use oxc_ast_visit::{Visit, walk};
use oxc_parser::Parser;
use oxc_span::{GetSpan, SourceType, Span};

/// The extensions of files whose imports are read.
pub const SCRIPT_EXTENSIONS: [&str; 6] = ["js", "cjs", "mjs", "jsx", "ts", "tsx"];

/// What one file imports.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct FileImports {
    /// Every static specifier (`express`, `./lib`, `node:fs`).
    pub specifiers: Vec<String>,
    /// `line: code` of each import lamina cannot follow.
    pub dynamic: Vec<String>,
}

/// Parses `source` (named `file_name`, whose extension picks the dialect) and extracts imports.
pub fn extract(file_name: &str, source: &str) -> FileImports {
    let base = SourceType::from_path(file_name).unwrap_or_default();
    // Plain `.js` may be a CommonJS script that is not valid as a module, or the reverse.
    let attempts = [base, base.with_script(true), base.with_module(true)];
    let mut last_error = String::new();
    for source_type in attempts {
        let allocator = Allocator::default();
        let parsed = Parser::new(&allocator, source, source_type).parse();
        if parsed.panicked || !parsed.diagnostics.is_empty() {
            last_error = parsed
                .diagnostics
                .first()
                .map(|diagnostic| diagnostic.to_string())
                .unwrap_or_else(|| "cannot parse".to_string());
            continue;
        }
        let mut collector = Collector {
            source,
            imports: FileImports::default(),
        };
        collector.visit_program(&parsed.program);
        return collector.imports;
    }
    FileImports {
        specifiers: Vec::new(),
        dynamic: vec![format!("1: file does not parse ({last_error})")],
    }
}

struct Collector<'s> {
    source: &'s str,
    imports: FileImports,
}

impl Collector<'_> {
    fn line(&self, span: Span) -> usize {
        let end = (span.start as usize).min(self.source.len());
        self.source[..end].bytes().filter(|&b| b == b'\n').count() + 1
    }

    fn dynamic(&mut self, span: Span) {
        let text = &self.source[span.start as usize..span.end as usize];
        let text: String = text.chars().take(80).collect();
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let line = self.line(span);
        self.imports.dynamic.push(format!("{line}: {text}"));
    }

    /// A module specifier argument: a string literal or a template with no expressions.
    fn literal(expression: &Expression) -> Option<String> {
        match expression {
            Expression::StringLiteral(literal) => Some(literal.value.to_string()),
            Expression::TemplateLiteral(template) if template.expressions.is_empty() => template
                .quasis
                .first()
                .and_then(|quasi| quasi.value.cooked.as_ref())
                .map(|cooked| cooked.to_string()),
            _ => None,
        }
    }

    fn specifier_argument(&mut self, call: &CallExpression) {
        match call.arguments.first().and_then(Argument::as_expression) {
            Some(expression) => match Self::literal(expression) {
                Some(specifier) => self.imports.specifiers.push(specifier),
                None => self.dynamic(call.span),
            },
            None => self.dynamic(call.span),
        }
    }
}

fn is_identifier(expression: &Expression, name: &str) -> bool {
    matches!(expression, Expression::Identifier(identifier) if identifier.name == name)
}

fn is_require_like(callee: &Expression) -> bool {
    if is_identifier(callee, "require") {
        return true;
    }
    match callee {
        // `require.resolve('x')` and `module.require('x')`.
        Expression::StaticMemberExpression(member) => {
            (is_identifier(&member.object, "require") && member.property.name == "resolve")
                || (is_identifier(&member.object, "module") && member.property.name == "require")
        }
        _ => false,
    }
}

impl<'a> Visit<'a> for Collector<'_> {
    fn visit_import_declaration(&mut self, declaration: &ImportDeclaration<'a>) {
        if !declaration.import_kind.is_type() {
            self.imports
                .specifiers
                .push(declaration.source.value.to_string());
        }
    }

    fn visit_export_from_declaration(&mut self, declaration: &ExportFromDeclaration<'a>) {
        if !declaration.export_kind.is_type() {
            self.imports
                .specifiers
                .push(declaration.source.value.to_string());
        }
    }

    fn visit_export_all_declaration(&mut self, declaration: &ExportAllDeclaration<'a>) {
        if !declaration.export_kind.is_type() {
            self.imports
                .specifiers
                .push(declaration.source.value.to_string());
        }
    }

    fn visit_ts_external_module_reference(&mut self, reference: &TSExternalModuleReference<'a>) {
        self.imports
            .specifiers
            .push(reference.expression.value.to_string());
    }

    fn visit_import_expression(&mut self, import: &ImportExpression<'a>) {
        match Self::literal(&import.source) {
            Some(specifier) => self.imports.specifiers.push(specifier),
            None => self.dynamic(import.span),
        }
        walk::walk_import_expression(self, import);
    }

    fn visit_call_expression(&mut self, call: &CallExpression<'a>) {
        if is_require_like(&call.callee) {
            self.specifier_argument(call);
            // The callee is `require` itself: visiting it would count as an aliased require.
            for argument in &call.arguments {
                self.visit_argument(argument);
            }
            return;
        }
        if is_identifier(&call.callee, "createRequire") {
            // `const require = createRequire(...)` is followed through the calls above; any
            // other name for the function it returns is not.
            self.dynamic(call.span);
        }
        walk::walk_call_expression(self, call);
    }

    fn visit_variable_declarator(&mut self, declarator: &VariableDeclarator<'a>) {
        if let Some(Expression::CallExpression(call)) = &declarator.init
            && is_identifier(&call.callee, "createRequire")
            && declarator
                .id
                .get_identifier_name()
                .is_some_and(|name| name == "require")
        {
            for argument in &call.arguments {
                self.visit_argument(argument);
            }
            return;
        }
        walk::walk_variable_declarator(self, declarator);
    }

    fn visit_member_expression(&mut self, member: &MemberExpression<'a>) {
        // `require.cache`, `require.main`: reading properties of require loads nothing.
        if let MemberExpression::StaticMemberExpression(static_member) = member
            && is_identifier(&static_member.object, "require")
        {
            return;
        }
        walk::walk_member_expression(self, member);
    }

    fn visit_unary_expression(&mut self, unary: &UnaryExpression<'a>) {
        if unary.operator == UnaryOperator::Typeof && is_identifier(&unary.argument, "require") {
            return;
        }
        walk::walk_unary_expression(self, unary);
    }

    fn visit_identifier_reference(&mut self, identifier: &IdentifierReference<'a>) {
        // Any other use of `require` passes it on (`const load = require`): what that loads
        // cannot be followed.
        if identifier.name == "require" {
            self.dynamic(identifier.span());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specifiers(file: &str, source: &str) -> Vec<String> {
        let imports = extract(file, source);
        assert!(
            imports.dynamic.is_empty(),
            "unexpected dynamic: {:?}",
            imports.dynamic
        );
        imports.specifiers
    }

    #[test]
    fn static_imports_of_every_form_are_found() {
        let source = r#"
            import a from "a";
            import "b/side-effect";
            export { c } from "@scope/c";
            export * from "d";
            const e = require("e");
            const f = require(`f/sub`);
            const g = await import("g");
            require.resolve("h");
            function later() { return require("i"); }
            try { require("j"); } catch {}
            if (typeof require === "function" && require.main === module) {}
        "#;
        assert_eq!(
            specifiers("index.mjs", source),
            [
                "a",
                "b/side-effect",
                "@scope/c",
                "d",
                "e",
                "f/sub",
                "g",
                "h",
                "i",
                "j"
            ]
        );
    }

    #[test]
    fn commonjs_that_is_not_a_valid_module_still_parses() {
        // `with` and legacy octal literals are errors in strict (module) code.
        let source = "with (Math) { var x = 010; }\nvar y = require('k');";
        assert_eq!(specifiers("legacy.js", source), ["k"]);
    }

    #[test]
    fn typescript_type_only_imports_are_not_runtime_imports() {
        let source = r#"
            import type { A } from "types-only";
            import { b } from "runtime";
            import fs = require("legacy");
            export type { C } from "also-types";
        "#;
        assert_eq!(specifiers("handler.ts", source), ["runtime", "legacy"]);
    }

    #[test]
    fn computed_and_aliased_requires_are_dynamic() {
        for source in [
            "const name = 'x'; require('./locale/' + name);",
            "const load = require; load('x');",
            "import(`./${name}.js`);",
            "const r = createRequire(import.meta.url); r('x');",
        ] {
            let imports = extract("index.js", source);
            assert_eq!(imports.dynamic.len(), 1, "{source}: {:?}", imports.dynamic);
        }
    }

    #[test]
    fn create_require_bound_to_require_is_followed() {
        let source = "import { createRequire } from 'node:module';\nconst require = createRequire(import.meta.url);\nconst x = require('x');";
        assert_eq!(specifiers("index.mjs", source), ["node:module", "x"]);
    }

    #[test]
    fn unparsable_files_are_reported_as_dynamic() {
        let imports = extract("broken.js", "const = ;");
        assert_eq!(imports.dynamic.len(), 1);
        assert!(imports.dynamic[0].contains("does not parse"));
    }
}
