//! What a JS/TS file loads, read with `oxc_parser`: static import specifiers, imports lamina
//! cannot follow, files it locates through `__dirname`-style paths (constant-folded where
//! possible), and anything else that finds files at run time.

use oxc_allocator::Allocator;
use oxc_ast::ast::{
    Argument, BinaryExpression, BinaryOperator, CallExpression, ExportAllDeclaration,
    ExportFromDeclaration, Expression, IdentifierReference, ImportDeclaration, ImportExpression,
    LogicalOperator, MemberExpression, NewExpression, TSExternalModuleReference, TemplateLiteral,
    UnaryExpression, UnaryOperator, VariableDeclarator,
};
use oxc_ast_visit::{Visit, walk};
use oxc_parser::Parser;
use oxc_span::{GetSpan, SourceType, Span};

/// The extensions of files whose imports are read.
pub const SCRIPT_EXTENSIONS: [&str; 6] = ["js", "cjs", "mjs", "jsx", "ts", "tsx"];

/// The package a computed specifier's constant prefix names whole, and the folder in it the
/// prefix starts (`"moment/locale/"` → `("moment", "locale/")`, `"@scope/name/"` →
/// `("@scope/name", "")`); `None` when the name itself is computed (`"lod" + x`).
pub fn package_prefix(prefix: &str) -> Option<(&str, &str)> {
    let mut parts = prefix.splitn(3, '/');
    let first = parts.next()?;
    let name_len = if first.starts_with('@') {
        first.len() + 1 + parts.next()?.len()
    } else {
        first.len()
    };
    let rest = prefix.get(name_len..)?.strip_prefix('/')?;
    let name = &prefix[..name_len];
    let valid = |part: &str| {
        !part.is_empty()
            && !part.starts_with('.')
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~'))
    };
    let plain = name.strip_prefix('@').unwrap_or(name);
    let well_formed = match plain.split_once('/') {
        Some((scope, bare)) => name.starts_with('@') && valid(scope) && valid(bare),
        None => !name.starts_with('@') && valid(plain),
    };
    well_formed.then_some((name, rest))
}

/// Whether a path is a script whose imports can be read (TypeScript declarations are not).
pub fn is_script(path: &str) -> bool {
    let extension = path.rsplit_once('.').map_or("", |(_, ext)| ext);
    SCRIPT_EXTENSIONS.contains(&extension) && !path.ends_with(".d.ts")
}

/// A path relative to the file's own folder, found by folding `__dirname + "/x"`,
/// `path.join(__dirname, "x")`, `new URL("./x", import.meta.url)` and the like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asset {
    pub path: String,
    /// False when only a prefix is constant (`__dirname + "/fonts/" + name`): the folder of
    /// the prefix is what may be read.
    pub complete: bool,
    /// Loaded as code (`require(path.join(__dirname, "x"))`), not read as a file.
    pub code: bool,
}

/// A computed `require`/`import()` whose argument starts with a relative folder literal
/// (`require("./locale/" + name)`), or with a package's name and a folder in it
/// (`require("moment/locale/" + name)`): it can load any file under that folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Computed {
    /// The same `line: code` as its entry in `dynamic`.
    pub site: String,
    pub prefix: String,
}

/// What one file loads.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct FileImports {
    /// Every static specifier (`express`, `./lib`, `node:fs`).
    pub specifiers: Vec<String>,
    /// The specifiers `require` (or `require.resolve`) loads: resolved under `require`
    /// conditions only, so an ES-module twin of a CommonJS file is not reached. Empty for
    /// TypeScript, whose `import` may be compiled to either.
    pub required: Vec<String>,
    /// The specifiers `import` (static or `import()`) and `export … from` load: resolved under
    /// `import` conditions only.
    pub imported: Vec<String>,
    /// `line: code` of each import lamina cannot follow by name (computed or aliased).
    pub dynamic: Vec<String>,
    /// The computed imports of `dynamic` that stay under a relative folder.
    pub computed: Vec<Computed>,
    /// Files and folders the code locates relative to itself.
    pub assets: Vec<Asset>,
    /// `line: code` of each use of the file's own location that lamina cannot fold
    /// (`__dirname` in an expression it cannot evaluate, `import.meta.url` passed on): paths
    /// built from it later (`path.join(dir, "../fonts")`) may read any file of the package.
    pub locates: Vec<String>,
    /// `line: code` of each `eval`/`new Function` of computed source (or literal source that
    /// names `require` or `import`): code lamina cannot read, which may load anything.
    pub evals: Vec<String>,
    /// `line: code` of each `process.cwd()`: paths in the function's folder (`/var/task`),
    /// where only the user's own files are.
    pub cwd: Vec<String>,
    /// String literals shaped like a bare package name (`"ejs"`, `"@scope/name"`): a computed
    /// `require` in this file, or anywhere for the user's code, may be given them.
    pub names: Vec<String>,
    /// `line: code` of each use of the AWS SDK v2's module that lamina cannot follow to the
    /// clients it names (`sdk_v2::escapes`).
    pub sdk_v2_escapes: Vec<String>,
}

/// What Lambda's Node says of the platform, folded into constants when the tracer reads a
/// file: `process.platform` (and `os.platform()`) is `"linux"`, `process.arch` (and
/// `os.arch()`) the function's. Branches for other platforms are then not followed.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub arch: &'static str,
}

/// Parses `source` (named `file_name`, whose extension picks the dialect) and extracts imports.
pub fn extract(file_name: &str, source: &str) -> FileImports {
    extract_on(file_name, source, None)
}

/// Parses `source` as the dialect its name gives, else as a script, else as a module (plain
/// `.js` may be a CommonJS script that is not valid as a module, or the reverse), and hands
/// the first clean parse to `read`; else returns the last parse error.
pub(super) fn with_program<R>(
    file_name: &str,
    source: &str,
    read: impl FnOnce(&oxc_ast::ast::Program<'_>, SourceType) -> R,
) -> Result<R, String> {
    let base = SourceType::from_path(file_name).unwrap_or_default();
    let mut last_error = String::new();
    for source_type in [base, base.with_script(true), base.with_module(true)] {
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
        return Ok(read(&parsed.program, source_type));
    }
    Err(last_error)
}

/// Whether a script may call `eval` directly (which can assign the module's `let`/`var`): the
/// word `eval` anywhere but as a property (`yaml.eval(..)`, `obj?.eval`), in code, comments or
/// strings alike, as reading it right is not worth the risk.
fn may_eval_directly(source: &str) -> bool {
    let bytes = source.as_bytes();
    words(source, "eval").any(|at| {
        let before = skip_space_back(bytes, at);
        before == 0 || bytes[before - 1] != b'.'
    })
}

/// Whether `byte` may be part of a JavaScript identifier (ASCII only).
fn is_word_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'$'
}

/// Where `word` stands alone in `source` (not part of a longer identifier): code, comments and
/// strings alike.
fn words<'s>(source: &'s str, word: &'s str) -> impl Iterator<Item = usize> + 's {
    let bytes = source.as_bytes();
    source
        .match_indices(word)
        .map(|(at, _)| at)
        .filter(move |&at| {
            (at == 0 || !is_word_byte(bytes[at - 1]))
                && bytes
                    .get(at + word.len())
                    .is_none_or(|&byte| !is_word_byte(byte))
        })
}

/// `at` moved back over the whitespace before it.
fn skip_space_back(bytes: &[u8], mut at: usize) -> usize {
    while at > 0 && bytes[at - 1].is_ascii_whitespace() {
        at -= 1;
    }
    at
}

/// `extract`, following only the branches `target` takes where a condition tests the platform.
pub fn extract_on(file_name: &str, source: &str, target: Option<Target>) -> FileImports {
    read(file_name, source, target, true)
}

/// The specifiers `extract` finds, without what else it reads (the package-shaped literals, the
/// AWS SDK v2's escapes), which costs a large bundle as much as its parse.
pub fn specifiers(file_name: &str, source: &str) -> Vec<String> {
    read(file_name, source, None, false).specifiers
}

/// `extract_on`; only `whole` reads the names and the AWS SDK v2's escapes.
fn read(file_name: &str, source: &str, target: Option<Target>, whole: bool) -> FileImports {
    let parsed = with_program(file_name, source, |program, source_type| {
        let mut collector = Collector {
            source,
            names: whole,
            imports: FileImports::default(),
            // A direct `eval` may assign any `let`/`var`, and TypeScript's `(X as T) = …` is
            // not an identifier target: there only `const` counts.
            constants: module_constants(
                program,
                !source_type.is_typescript() && !may_eval_directly(source),
            ),
            target,
            typescript: source_type.is_typescript(),
            aliases: require_aliases(program, source, source_type.is_typescript()),
        };
        collector.visit_program(program);
        collector.imports.names.sort();
        collector.imports.names.dedup();
        if whole && super::sdk_v2::imports_sdk(source) {
            collector.imports.sdk_v2_escapes = super::sdk_v2::escapes(program, source);
        }
        collector.imports
    });
    let last_error = match parsed {
        Ok(imports) => return imports,
        Err(error) => error,
    };
    let sdk_v2_escapes = if whole && super::sdk_v2::imports_sdk(source) {
        vec!["1: file does not parse".to_string()]
    } else {
        Vec::new()
    };
    FileImports {
        dynamic: vec![format!("1: file does not parse ({last_error})")],
        sdk_v2_escapes,
        ..FileImports::default()
    }
}

struct Collector<'s> {
    source: &'s str,
    /// Whether `imports.names` is read.
    names: bool,
    imports: FileImports,
    /// Module-level `const NAME = "text"`: `require(NAME)` loads `text`.
    constants: std::collections::HashMap<String, String>,
    target: Option<Target>,
    /// TypeScript: an `import` may be compiled to a `require`.
    typescript: bool,
    /// Names only ever bound to `require` and only ever called (`aliasedRequire = require;
    /// aliasedRequire("./locale/" + name)`, moment's): their calls are `require` calls.
    aliases: std::collections::HashSet<String>,
}

/// A value a condition folds to.
#[derive(Debug, PartialEq, Eq)]
enum Value {
    Text(String),
    Bool(bool),
    /// A non-empty string whose text is not known here (`process.env.AWS_LAMBDA_FUNCTION_NAME`).
    Set,
    /// `undefined` (`null` is not folded: `typeof null` is `"object"`, `null !== undefined`).
    Undefined,
}

impl Value {
    /// Whether the value is truthy, when that is known.
    fn truthy(&self) -> Option<bool> {
        match self {
            Value::Text(text) => Some(!text.is_empty()),
            Value::Bool(value) => Some(*value),
            Value::Set => Some(true),
            Value::Undefined => Some(false),
        }
    }

    /// Whether two values are equal (`===`, and `==` for these kinds), when that is known.
    fn equals(&self, other: &Value) -> Option<bool> {
        match (self, other) {
            (Value::Text(left), Value::Text(right)) => Some(left == right),
            (Value::Bool(left), Value::Bool(right)) => Some(left == right),
            (Value::Undefined, Value::Undefined) => Some(true),
            (Value::Set, Value::Undefined) | (Value::Undefined, Value::Set) => Some(false),
            (Value::Text(_), Value::Undefined) | (Value::Undefined, Value::Text(_)) => Some(false),
            _ => None,
        }
    }
}

/// What `process.env.NAME` is on Lambda, for a variable Lambda always sets and reserves.
fn lambda_environment(name: &str) -> Option<Value> {
    crate::lambda::RESERVED_ENVIRONMENT
        .iter()
        .find(|(reserved, _)| *reserved == name)
        .map(|(_, value)| value.map_or(Value::Set, |value| Value::Text(value.to_string())))
}

/// `process.env.NAME` or `process.env["NAME"]`: the name.
fn environment_read<'e>(expression: &'e Expression) -> Option<&'e str> {
    let (object, name) = match expression {
        Expression::StaticMemberExpression(member) => {
            (&member.object, member.property.name.as_str())
        }
        Expression::ComputedMemberExpression(member) => match &member.expression {
            Expression::StringLiteral(literal) => (&member.object, literal.value.as_str()),
            _ => return None,
        },
        _ => return None,
    };
    match object {
        Expression::StaticMemberExpression(env)
            if env.property.name == "env" && is_identifier(&env.object, "process") =>
        {
            Some(name)
        }
        _ => None,
    }
}

/// The string constants a module declares at its top level (`const JS_YAML_DEP = "js-yaml"`,
/// or a `let`/`var` nothing assigns again, as config's `var JS_YAML_DEP = 'js-yaml', ...`).
/// A name declared twice is left out: which value a `require` sees would depend on order.
fn module_constants(
    program: &oxc_ast::ast::Program<'_>,
    mutable_too: bool,
) -> std::collections::HashMap<String, String> {
    let mut constants = std::collections::HashMap::new();
    let mut twice = std::collections::HashSet::new();
    let mut mutable = std::collections::HashSet::new();
    for statement in &program.body {
        let oxc_ast::ast::Statement::VariableDeclaration(declaration) = statement else {
            continue;
        };
        let constant = declaration.kind == oxc_ast::ast::VariableDeclarationKind::Const;
        if !constant && !mutable_too {
            continue;
        }
        for declarator in &declaration.declarations {
            let (Some(name), Some(init)) = (declarator.id.get_identifier_name(), &declarator.init)
            else {
                continue;
            };
            if !constant {
                mutable.insert(name.to_string());
            }
            // `const DEPS = Object.freeze({ yaml: "js-yaml" })`: `DEPS.yaml` is a constant.
            if let Some(fields) = frozen_object(init, &constants) {
                for (field, value) in fields {
                    constants.insert(format!("{name}.{field}"), value);
                }
                continue;
            }
            // Earlier constants fold in: `const BASE = "./lib/"; const FILE = BASE + "x"`.
            let Some(value) = constant_string(init, &constants) else {
                continue;
            };
            if constants.insert(name.to_string(), value).is_some() {
                twice.insert(name.to_string());
            }
        }
    }
    if constants.is_empty() {
        return constants;
    }
    // A name bound anywhere else in the file (a parameter, an inner variable) may shadow the
    // constant where it is required: then the require is not followed by name. Only the
    // constants' names are counted (`DEPS` for `DEPS.yaml`).
    let mut bindings = BindingCounter::of(
        constants
            .keys()
            .map(|key| key.split('.').next().unwrap_or(key).to_string())
            .collect(),
    );
    bindings.visit_program(program);
    for (name, count) in bindings.counts {
        if count > 1 {
            twice.insert(name);
        }
    }
    // A `let` or `var` assigned anywhere (`=`, `+=`, `++`, destructuring) is not a constant.
    twice.extend(mutable.intersection(&bindings.assigned).cloned());
    for name in twice {
        constants.remove(&name);
        constants.retain(|key, _| !key.starts_with(&format!("{name}.")));
    }
    constants
}

/// The string an expression always evaluates to, from literals and `constants`: a string or
/// a template literal, a constant's name, `a + b`, `` `${a}/x` ``, a frozen object's field.
fn constant_string(
    expression: &Expression,
    constants: &std::collections::HashMap<String, String>,
) -> Option<String> {
    match expression {
        Expression::StringLiteral(literal) => Some(literal.value.to_string()),
        Expression::ParenthesizedExpression(inner) => constant_string(&inner.expression, constants),
        Expression::Identifier(identifier) => constants.get(identifier.name.as_str()).cloned(),
        Expression::StaticMemberExpression(member) => match &member.object {
            Expression::Identifier(object) => constants
                .get(&format!("{}.{}", object.name, member.property.name))
                .cloned(),
            _ => None,
        },
        Expression::BinaryExpression(binary) if binary.operator == BinaryOperator::Addition => {
            Some(
                constant_string(&binary.left, constants)?
                    + &constant_string(&binary.right, constants)?,
            )
        }
        Expression::TemplateLiteral(template) => {
            let mut text = String::new();
            for (index, quasi) in template.quasis.iter().enumerate() {
                text.push_str(quasi.value.cooked.as_ref()?.as_str());
                if let Some(expression) = template.expressions.get(index) {
                    text.push_str(&constant_string(expression, constants)?);
                }
            }
            Some(text)
        }
        _ => None,
    }
}

/// `Object.freeze({ key: "text", ... })` with only constant string fields.
fn frozen_object(
    expression: &Expression,
    constants: &std::collections::HashMap<String, String>,
) -> Option<Vec<(String, String)>> {
    let Expression::CallExpression(call) = expression else {
        return None;
    };
    let Expression::StaticMemberExpression(callee) = &call.callee else {
        return None;
    };
    if !is_identifier(&callee.object, "Object") || callee.property.name != "freeze" {
        return None;
    }
    let Some(Expression::ObjectExpression(object)) =
        call.arguments.first().and_then(Argument::as_expression)
    else {
        return None;
    };
    object
        .properties
        .iter()
        .map(|property| match property {
            oxc_ast::ast::ObjectPropertyKind::ObjectProperty(property) if !property.computed => {
                let key = property.key.static_name()?.to_string();
                Some((key, constant_string(&property.value, constants)?))
            }
            _ => None,
        })
        .collect()
}

/// The names a file binds only to `require` (`var load = require`, `load = require`) and
/// uses only as a callee: calling one is calling `require`.
fn require_aliases(
    program: &oxc_ast::ast::Program<'_>,
    source: &str,
    typescript: bool,
) -> std::collections::HashSet<String> {
    // In TypeScript the word before `=` may be a type (`const load: NodeRequire = require`).
    let names = if typescript {
        None
    } else {
        alias_names(source)
    };
    if names.as_ref().is_some_and(|names| names.is_empty()) {
        return std::collections::HashSet::new();
    }
    let mut finder = AliasFinder {
        names,
        ..AliasFinder::default()
    };
    finder.visit_program(program);
    finder
        .bound_to_require
        .into_iter()
        .filter(|name| !finder.other.contains(name) && finder.called.contains(name))
        .collect()
}

/// The names a file may bind to `require` itself (`var load = require`, `load = require`), read
/// from its text: each word `require` that is not called (`require(`) nor read from
/// (`require.resolve`) and follows a plain `=` gives the word before that `=`, and one that
/// follows anything else that may hide a binding (`(require)`, a comment) gives `None`: any
/// name may be. Words in strings and comments count too, which only asks for more.
fn alias_names(source: &str) -> Option<std::collections::HashSet<&str>> {
    let bytes = source.as_bytes();
    let mut names = std::collections::HashSet::new();
    for at in words(source, "require") {
        let end = at + "require".len();
        let next = bytes[end..].iter().find(|byte| !byte.is_ascii_whitespace());
        if matches!(next, Some(b'(' | b'.')) {
            continue;
        }
        let equals = skip_space_back(bytes, at);
        match equals.checked_sub(1).map(|index| bytes[index]) {
            // `== require`, `!= require`, `<= require`, `=> require`: no binding.
            Some(b'=') if equals >= 2 && matches!(bytes[equals - 2], b'=' | b'!' | b'<' | b'>') => {
            }
            Some(b'=') => {
                let name_end = skip_space_back(bytes, equals - 1);
                let mut name_start = name_end;
                while name_start > 0 && is_word_byte(bytes[name_start - 1]) {
                    name_start -= 1;
                }
                if name_start == name_end {
                    return None;
                }
                names.insert(&source[name_start..name_end]);
            }
            // An argument (`factory(require, exports)`, `if (require)`): no binding.
            Some(b'(')
                if skip_space_back(bytes, equals - 1)
                    .checked_sub(1)
                    .is_some_and(|index| {
                        is_word_byte(bytes[index]) || matches!(bytes[index], b')' | b']')
                    }) => {}
            Some(b'(' | b'/') => return None,
            // `typeof require`, `&& require`, `, require`, `: require`: no binding.
            _ => {}
        }
    }
    Some(names)
}

/// What `require_aliases` counts.
#[derive(Default)]
struct AliasFinder<'s> {
    /// The only names that may be bound to `require` (`alias_names`); `None`: any.
    names: Option<std::collections::HashSet<&'s str>>,
    /// Names assigned (or initialised to) `require`.
    bound_to_require: std::collections::HashSet<String>,
    /// Names used as a callee.
    called: std::collections::HashSet<String>,
    /// Names used any other way (passed on, assigned something else, read).
    other: std::collections::HashSet<String>,
}

impl AliasFinder<'_> {
    /// Whether `name` may be an alias, so that its uses are worth counting.
    fn counts(&self, name: &str) -> bool {
        self.names.as_ref().is_none_or(|names| names.contains(name))
    }
}

impl<'a> Visit<'a> for AliasFinder<'_> {
    fn visit_variable_declarator(&mut self, declarator: &VariableDeclarator<'a>) {
        if let Some(name) = declarator.id.get_identifier_name()
            && self.counts(&name)
        {
            match &declarator.init {
                Some(init) if is_identifier(init, "require") => {
                    self.bound_to_require.insert(name.to_string());
                    return;
                }
                Some(_) => {
                    self.other.insert(name.to_string());
                }
                None => {}
            }
        }
        walk::walk_variable_declarator(self, declarator);
    }

    fn visit_assignment_expression(&mut self, assignment: &oxc_ast::ast::AssignmentExpression<'a>) {
        if let oxc_ast::ast::AssignmentTarget::AssignmentTargetIdentifier(target) = &assignment.left
        {
            if !self.counts(&target.name) {
                self.visit_expression(&assignment.right);
                return;
            }
            if is_identifier(&assignment.right, "require")
                && assignment.operator == oxc_ast::ast::AssignmentOperator::Assign
            {
                self.bound_to_require.insert(target.name.to_string());
                return;
            }
            self.other.insert(target.name.to_string());
            self.visit_expression(&assignment.right);
            return;
        }
        walk::walk_assignment_expression(self, assignment);
    }

    fn visit_call_expression(&mut self, call: &CallExpression<'a>) {
        if let Expression::Identifier(callee) = &call.callee {
            if self.counts(&callee.name) {
                self.called.insert(callee.name.to_string());
            }
            for argument in &call.arguments {
                self.visit_argument(argument);
            }
            return;
        }
        walk::walk_call_expression(self, call);
    }

    fn visit_identifier_reference(&mut self, identifier: &IdentifierReference<'a>) {
        if self.counts(&identifier.name) {
            self.other.insert(identifier.name.to_string());
        }
    }
}

/// `line: code` of the code at `span`, as reports show a site: its first 80 characters,
/// whitespace collapsed.
pub(super) fn site_of(source: &str, span: Span) -> String {
    let start = (span.start as usize).min(source.len());
    let end = (span.end as usize).clamp(start, source.len());
    let line = source[..start].bytes().filter(|&b| b == b'\n').count() + 1;
    let text: String = source[start..end].chars().take(80).collect();
    format!(
        "{line}: {}",
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    )
}

/// How many times a file binds each of some names, and which of them it assigns after their
/// declaration. Only the names asked about are kept: a bundle binds tens of thousands.
pub(super) struct BindingCounter {
    names: std::collections::HashSet<String>,
    pub(super) counts: std::collections::HashMap<String, usize>,
    /// Names assigned after their declaration.
    pub(super) assigned: std::collections::HashSet<String>,
}

impl BindingCounter {
    /// Counts `names`.
    pub(super) fn of(names: std::collections::HashSet<String>) -> Self {
        BindingCounter {
            names,
            counts: std::collections::HashMap::new(),
            assigned: std::collections::HashSet::new(),
        }
    }

    fn assign(&mut self, name: &str) {
        if self.names.contains(name) && !self.assigned.contains(name) {
            self.assigned.insert(name.to_string());
        }
    }
}

impl<'a> Visit<'a> for BindingCounter {
    fn visit_binding_identifier(&mut self, identifier: &oxc_ast::ast::BindingIdentifier<'a>) {
        let name = identifier.name.as_str();
        if let Some(count) = self.counts.get_mut(name) {
            *count += 1;
        } else if self.names.contains(name) {
            self.counts.insert(name.to_string(), 1);
        }
    }

    fn visit_simple_assignment_target(
        &mut self,
        target: &oxc_ast::ast::SimpleAssignmentTarget<'a>,
    ) {
        if let oxc_ast::ast::SimpleAssignmentTarget::AssignmentTargetIdentifier(identifier) = target
        {
            self.assign(identifier.name.as_str());
        }
        walk::walk_simple_assignment_target(self, target);
    }

    fn visit_assignment_target_property_identifier(
        &mut self,
        property: &oxc_ast::ast::AssignmentTargetPropertyIdentifier<'a>,
    ) {
        self.assign(property.binding.name.as_str());
        walk::walk_assignment_target_property_identifier(self, property);
    }
}

/// A partly evaluated path expression.
struct Folded {
    path: String,
    complete: bool,
}

impl Collector<'_> {
    /// What an expression evaluates to on Lambda, when it is a platform fact, a literal, or a
    /// comparison or logic of those.
    fn value(&self, expression: &Expression) -> Option<Value> {
        let target = self.target?;
        let platform_fact = |property: &str| match property {
            "platform" => Some(Value::Text("linux".to_string())),
            "arch" => Some(Value::Text(target.arch.to_string())),
            _ => None,
        };
        if let Some(name) = environment_read(expression) {
            // What Lambda always sets; any other variable is the function's to set.
            return lambda_environment(name);
        }
        match expression {
            Expression::StringLiteral(literal) => Some(Value::Text(literal.value.to_string())),
            Expression::BooleanLiteral(literal) => Some(Value::Bool(literal.value)),
            Expression::Identifier(identifier) if identifier.name == "undefined" => {
                Some(Value::Undefined)
            }
            Expression::UnaryExpression(unary) if unary.operator == UnaryOperator::Void => {
                Some(Value::Undefined)
            }
            // `typeof process.env.AWS_LAMBDA_FUNCTION_NAME`.
            Expression::UnaryExpression(unary) if unary.operator == UnaryOperator::Typeof => {
                match self.value(&unary.argument)? {
                    Value::Text(_) | Value::Set => Some(Value::Text("string".to_string())),
                    Value::Bool(_) => Some(Value::Text("boolean".to_string())),
                    Value::Undefined => Some(Value::Text("undefined".to_string())),
                }
            }
            Expression::ParenthesizedExpression(inner) => self.value(&inner.expression),
            // `process.platform`, `process.arch`.
            Expression::StaticMemberExpression(member)
                if is_identifier(&member.object, "process") =>
            {
                platform_fact(member.property.name.as_str())
            }
            // `os.platform()`, `os.arch()`.
            Expression::CallExpression(call) if call.arguments.is_empty() => match &call.callee {
                Expression::StaticMemberExpression(member)
                    if is_identifier(&member.object, "os") =>
                {
                    platform_fact(member.property.name.as_str())
                }
                _ => None,
            },
            Expression::BinaryExpression(binary) => {
                let equal = match binary.operator {
                    BinaryOperator::StrictEquality | BinaryOperator::Equality => true,
                    BinaryOperator::StrictInequality | BinaryOperator::Inequality => false,
                    _ => return None,
                };
                let same = self
                    .value(&binary.left)?
                    .equals(&self.value(&binary.right)?)?;
                Some(Value::Bool(same == equal))
            }
            Expression::UnaryExpression(unary) if unary.operator == UnaryOperator::LogicalNot => {
                Some(Value::Bool(!self.condition(&unary.argument)?))
            }
            // `a || b` is the value of `a` or of `b`, when `a` decides which.
            Expression::LogicalExpression(logical) => {
                let left = self.condition(&logical.left)?;
                match (logical.operator, left) {
                    (LogicalOperator::And, false) | (LogicalOperator::Or, true) => {
                        self.value(&logical.left)
                    }
                    (LogicalOperator::And, true) | (LogicalOperator::Or, false) => {
                        self.value(&logical.right)
                    }
                    (LogicalOperator::Coalesce, _) => None,
                }
            }
            _ => None,
        }
    }

    /// A condition's value on Lambda, when it folds.
    fn condition(&self, expression: &Expression) -> Option<bool> {
        match expression {
            Expression::ParenthesizedExpression(inner) => self.condition(&inner.expression),
            // Truthiness needs only one side at times: `x || "linux"` is truthy whatever `x`.
            Expression::LogicalExpression(logical) => {
                let left = self.condition(&logical.left);
                let right = self.condition(&logical.right);
                match logical.operator {
                    LogicalOperator::And => match (left, right) {
                        (Some(false), _) | (_, Some(false)) => Some(false),
                        (Some(true), Some(true)) => Some(true),
                        _ => None,
                    },
                    LogicalOperator::Or => match (left, right) {
                        (Some(true), _) | (_, Some(true)) => Some(true),
                        (Some(false), Some(false)) => Some(false),
                        _ => None,
                    },
                    LogicalOperator::Coalesce => None,
                }
            }
            _ => self.value(expression)?.truthy(),
        }
    }

    fn site(&self, span: Span) -> String {
        site_of(self.source, span)
    }

    /// Records a folded path; a bare location (the folder itself, or only `..` above it) is
    /// a base for paths built later, which cannot be followed.
    fn asset(&mut self, folded: Folded, span: Span) {
        let bare = folded
            .path
            .split('/')
            .all(|part| part.is_empty() || part == "." || part == "..");
        if bare && folded.complete {
            self.locates(span);
            return;
        }
        self.imports.assets.push(Asset {
            path: folded.path,
            complete: folded.complete,
            code: false,
        });
    }

    fn dynamic(&mut self, span: Span) {
        let site = self.site(span);
        self.imports.dynamic.push(site);
    }

    /// A use of the file's own location that cannot be folded.
    fn locates(&mut self, span: Span) {
        let site = self.site(span);
        self.imports.locates.push(site);
    }

    /// `eval(source)` or `new Function(..., source)`: inert when the source is literal text
    /// that names neither `require` nor `import` (`new Function("return this")`,
    /// `eval("new.target")`); else code lamina cannot read.
    fn evaluates(&mut self, source: Option<&Expression>, span: Span) {
        if let Some(text) = source.and_then(Self::literal)
            && !text.contains("require")
            && !text.contains("import")
        {
            return;
        }
        let site = self.site(span);
        self.imports.evals.push(site);
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

    /// The constant start of a computed specifier: `"./locale/" + x` or `` `./locale/${x}` ``.
    /// Constants fold in: `LOCALES + name` with `const LOCALES = "./locale/"`.
    fn literal_prefix(&self, expression: &Expression) -> Option<String> {
        match expression {
            Expression::BinaryExpression(binary) if binary.operator == BinaryOperator::Addition => {
                constant_string(&binary.left, &self.constants)
                    .or_else(|| self.literal_prefix(&binary.left))
            }
            Expression::TemplateLiteral(template) => {
                let mut prefix = String::new();
                for (index, quasi) in template.quasis.iter().enumerate() {
                    prefix.push_str(quasi.value.cooked.as_ref()?.as_str());
                    match template
                        .expressions
                        .get(index)
                        .and_then(|expression| constant_string(expression, &self.constants))
                    {
                        Some(text) => prefix.push_str(&text),
                        None => break,
                    }
                }
                Some(prefix)
            }
            _ => None,
        }
    }

    /// Records a specifier, and whether `require` or `import` loads it.
    fn specifier(&mut self, specifier: String, by_import: bool) {
        if !self.typescript {
            if by_import {
                self.imports.imported.push(specifier.clone());
            } else {
                self.imports.required.push(specifier.clone());
            }
        }
        self.imports.specifiers.push(specifier);
    }

    /// Records what a `require`/`import()` argument loads.
    fn load(&mut self, argument: Option<&Expression>, span: Span, by_import: bool) {
        let Some(argument) = argument else {
            self.dynamic(span);
            return;
        };
        if let Some(specifier) = Self::literal(argument) {
            self.specifier(specifier, by_import);
            return;
        }
        if let Some(specifier) = constant_string(argument, &self.constants) {
            // Constants folded: `require(JS_YAML_DEP)`, `require(BASE + "x")`, `DEPS.yaml`.
            self.specifier(specifier, by_import);
            return;
        }
        if let Some(folded) = self.fold(argument) {
            // `require(path.join(__dirname, "x"))`: a file located next to the code.
            self.imports.assets.push(Asset {
                path: folded.path,
                complete: folded.complete,
                code: true,
            });
            return;
        }
        let site = self.site(span);
        self.imports.dynamic.push(site.clone());
        if let Some(prefix) = self.literal_prefix(argument)
            && (prefix.starts_with("./")
                || prefix.starts_with("../")
                || package_prefix(&prefix).is_some())
        {
            self.imports.computed.push(Computed { site, prefix });
        }
    }

    /// Evaluates a path built from the file's own location, if it is one.
    fn fold(&self, expression: &Expression) -> Option<Folded> {
        match expression {
            Expression::Identifier(identifier) if identifier.name == "__dirname" => Some(Folded {
                path: String::new(),
                complete: true,
            }),
            Expression::StaticMemberExpression(member)
                if member.property.name == "dirname" && is_import_meta(&member.object) =>
            {
                Some(Folded {
                    path: String::new(),
                    complete: true,
                })
            }
            Expression::BinaryExpression(binary) => self.fold_binary(binary),
            Expression::TemplateLiteral(template) => self.fold_template(template),
            Expression::CallExpression(call) => self.fold_call(call),
            Expression::NewExpression(new) => fold_url(new),
            Expression::ParenthesizedExpression(inner) => self.fold(&inner.expression),
            _ => None,
        }
    }

    fn fold_binary(&self, binary: &BinaryExpression) -> Option<Folded> {
        if binary.operator != BinaryOperator::Addition {
            return None;
        }
        let mut base = self.fold(&binary.left)?;
        if !base.complete {
            return Some(base);
        }
        match Self::literal(&binary.right) {
            Some(tail) => base.path.push_str(&tail),
            None => base.complete = false,
        }
        Some(base)
    }

    fn fold_template(&self, template: &TemplateLiteral) -> Option<Folded> {
        let first = template.expressions.first()?;
        let leading = template.quasis.first()?.value.cooked.as_ref()?;
        if !leading.is_empty() {
            return None;
        }
        let mut base = self.fold(first)?;
        for (index, quasi) in template.quasis.iter().enumerate().skip(1) {
            base.path.push_str(quasi.value.cooked.as_ref()?.as_str());
            if index < template.expressions.len() {
                base.complete = false;
                break;
            }
        }
        Some(base)
    }

    fn fold_call(&self, call: &CallExpression) -> Option<Folded> {
        let name = callee_name(&call.callee)?;
        let first = call.arguments.first().and_then(Argument::as_expression)?;
        match name {
            "join" | "resolve" => {
                let mut base = self.fold(first)?;
                for argument in call.arguments.iter().skip(1) {
                    match argument.as_expression().and_then(Self::literal) {
                        Some(part) => {
                            base.path.push('/');
                            base.path.push_str(&part);
                        }
                        None => {
                            // An unknown segment: the folder so far is what may be read.
                            base.path.push('/');
                            base.complete = false;
                            break;
                        }
                    }
                }
                Some(base)
            }
            // `path.dirname(__filename)`, `dirname(fileURLToPath(import.meta.url))`.
            "dirname" if is_own_file(first) => Some(Folded {
                path: String::new(),
                complete: true,
            }),
            "fileURLToPath" => self.fold(first),
            _ => None,
        }
    }
}

/// Shaped like a bare specifier: a package name (`ejs`, `@scope/name`), maybe with a subpath
/// (`moment/locale/fr`).
fn is_package_name(text: &str) -> bool {
    let first = text.chars().next();
    !text.is_empty()
        && text.len() <= 214
        && first.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '@')
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "@/._~-".contains(c))
        && !text.ends_with('/')
}

/// `vm`, or `require("vm")`/`require("node:vm")` itself.
fn is_vm_module(expression: &Expression) -> bool {
    match expression {
        Expression::Identifier(identifier) => identifier.name == "vm",
        Expression::CallExpression(call) => {
            is_identifier(&call.callee, "require")
                && call
                    .arguments
                    .first()
                    .and_then(Argument::as_expression)
                    .and_then(Collector::literal)
                    .is_some_and(|name| name == "vm" || name == "node:vm")
        }
        _ => false,
    }
}

/// `join` for `path.join(...)` or a destructured `join(...)`.
fn callee_name<'a>(callee: &'a Expression) -> Option<&'a str> {
    match callee {
        Expression::Identifier(identifier) => Some(identifier.name.as_str()),
        Expression::StaticMemberExpression(member) if is_identifier(&member.object, "path") => {
            Some(member.property.name.as_str())
        }
        _ => None,
    }
}

fn is_import_meta(expression: &Expression) -> bool {
    matches!(expression, Expression::ImportMeta(_))
}

/// `import.meta.url`.
fn is_import_meta_url(expression: &Expression) -> bool {
    matches!(expression, Expression::StaticMemberExpression(member) if member.property.name == "url" && is_import_meta(&member.object))
}

/// An expression naming the file itself: `__filename`, `import.meta.filename`,
/// `fileURLToPath(import.meta.url)`, `import.meta.url`.
fn is_own_file(expression: &Expression) -> bool {
    match expression {
        Expression::Identifier(identifier) => identifier.name == "__filename",
        Expression::StaticMemberExpression(member) => {
            is_import_meta(&member.object)
                && (member.property.name == "filename" || member.property.name == "url")
        }
        Expression::CallExpression(call) => {
            callee_name(&call.callee) == Some("fileURLToPath")
                && call
                    .arguments
                    .first()
                    .and_then(Argument::as_expression)
                    .is_some_and(is_own_file)
        }
        _ => false,
    }
}

/// `new URL("./x", import.meta.url)`.
fn fold_url(new: &NewExpression) -> Option<Folded> {
    if !is_identifier(&new.callee, "URL") || new.arguments.len() != 2 {
        return None;
    }
    let base = new.arguments[1].as_expression()?;
    if !is_import_meta_url(base) {
        return None;
    }
    let relative = Collector::literal(new.arguments[0].as_expression()?)?;
    Some(Folded {
        path: relative,
        complete: true,
    })
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

/// Whether a declarator binds `__dirname`/`__filename` to the module's own location, as ESM
/// code does: references to that name are then folded like CommonJS's.
fn binds_own_location(declarator: &VariableDeclarator) -> bool {
    let Some(name) = declarator.id.get_identifier_name() else {
        return false;
    };
    let Some(init) = &declarator.init else {
        return false;
    };
    match name.as_str() {
        "__filename" => is_own_file(init),
        "__dirname" => match init {
            Expression::CallExpression(call) => {
                callee_name(&call.callee) == Some("dirname")
                    && call
                        .arguments
                        .first()
                        .and_then(Argument::as_expression)
                        .is_some_and(is_own_file)
            }
            _ => false,
        },
        _ => false,
    }
}

/// Whether control leaves a `switch` case at its end (`break`, `return`, `throw`,
/// `continue`) rather than falling through to the next.
fn ends_case(statements: &[oxc_ast::ast::Statement]) -> bool {
    use oxc_ast::ast::Statement;
    match statements.last() {
        Some(
            Statement::BreakStatement(_)
            | Statement::ReturnStatement(_)
            | Statement::ThrowStatement(_)
            | Statement::ContinueStatement(_),
        ) => true,
        Some(Statement::BlockStatement(block)) => ends_case(&block.body),
        _ => false,
    }
}

impl<'a> Visit<'a> for Collector<'_> {
    fn visit_if_statement(&mut self, statement: &oxc_ast::ast::IfStatement<'a>) {
        let folded = self.condition(&statement.test);
        if folded.is_some() {
            // The test itself runs: `if (require("./setup").ok || process.env.AWS_REGION)`.
            self.visit_expression(&statement.test);
        }
        match folded {
            // `if (process.platform === "darwin")`: only the branch Lambda takes runs.
            Some(true) => self.visit_statement(&statement.consequent),
            Some(false) => {
                if let Some(alternate) = &statement.alternate {
                    self.visit_statement(alternate);
                }
            }
            None => walk::walk_if_statement(self, statement),
        }
    }

    fn visit_conditional_expression(
        &mut self,
        expression: &oxc_ast::ast::ConditionalExpression<'a>,
    ) {
        let folded = self.condition(&expression.test);
        if folded.is_some() {
            self.visit_expression(&expression.test);
        }
        match folded {
            Some(true) => self.visit_expression(&expression.consequent),
            Some(false) => self.visit_expression(&expression.alternate),
            None => walk::walk_conditional_expression(self, expression),
        }
    }

    fn visit_logical_expression(&mut self, expression: &oxc_ast::ast::LogicalExpression<'a>) {
        // `isDarwin && require("fsevents")`: the right side runs only if the left lets it.
        let skips = matches!(
            (expression.operator, self.condition(&expression.left)),
            (LogicalOperator::And, Some(false)) | (LogicalOperator::Or, Some(true))
        );
        if skips {
            self.visit_expression(&expression.left);
        } else {
            walk::walk_logical_expression(self, expression);
        }
    }

    fn visit_switch_statement(&mut self, statement: &oxc_ast::ast::SwitchStatement<'a>) {
        let Some(Value::Text(value)) = self.value(&statement.discriminant) else {
            walk::walk_switch_statement(self, statement);
            return;
        };
        self.visit_expression(&statement.discriminant);
        // `switch (process.platform)`: the case Lambda matches (else `default`), and the cases
        // it falls through to. A case whose label does not fold could match: all are read.
        let mut labels = Vec::new();
        for case in &statement.cases {
            match &case.test {
                None => labels.push(None),
                Some(test) => match self.value(test) {
                    Some(Value::Text(label)) => labels.push(Some(label == value)),
                    _ => {
                        walk::walk_switch_statement(self, statement);
                        return;
                    }
                },
            }
        }
        let start = labels
            .iter()
            .position(|label| *label == Some(true))
            .or_else(|| labels.iter().position(Option::is_none));
        let Some(start) = start else {
            return;
        };
        for case in &statement.cases[start..] {
            for inner in &case.consequent {
                self.visit_statement(inner);
            }
            if ends_case(&case.consequent) {
                break;
            }
        }
    }

    fn visit_import_declaration(&mut self, declaration: &ImportDeclaration<'a>) {
        if !declaration.import_kind.is_type() {
            self.specifier(declaration.source.value.to_string(), true);
        }
    }

    fn visit_export_from_declaration(&mut self, declaration: &ExportFromDeclaration<'a>) {
        if !declaration.export_kind.is_type() {
            self.specifier(declaration.source.value.to_string(), true);
        }
    }

    fn visit_export_all_declaration(&mut self, declaration: &ExportAllDeclaration<'a>) {
        if !declaration.export_kind.is_type() {
            self.specifier(declaration.source.value.to_string(), true);
        }
    }

    fn visit_ts_external_module_reference(&mut self, reference: &TSExternalModuleReference<'a>) {
        self.specifier(reference.expression.value.to_string(), false);
    }

    fn visit_import_expression(&mut self, import: &ImportExpression<'a>) {
        self.load(Some(&import.source), import.span, true);
        if let Some(options) = &import.options {
            self.visit_expression(options);
        }
    }

    fn visit_call_expression(&mut self, call: &CallExpression<'a>) {
        let aliased = matches!(&call.callee, Expression::Identifier(callee) if self.aliases.contains(callee.name.as_str()));
        if aliased || is_require_like(&call.callee) {
            self.load(
                call.arguments.first().and_then(Argument::as_expression),
                call.span,
                false,
            );
            // The callee is `require` itself: visiting it would count as an aliased require;
            // the first argument has been read.
            for argument in call.arguments.iter().skip(1) {
                self.visit_argument(argument);
            }
            return;
        }
        if is_identifier(&call.callee, "createRequire") {
            // `const require = createRequire(...)` is followed through the calls above; any
            // other name for the function it returns is not.
            self.dynamic(call.span);
            return;
        }
        if is_identifier(&call.callee, "eval") {
            self.evaluates(
                call.arguments.first().and_then(Argument::as_expression),
                call.span,
            );
        }
        // `vm.runInThisContext(code)`, `vm.compileFunction(code)`, `module._compile(code, file)`:
        // code run from text, maybe a script read from disk (which the data-only reach of a
        // computed path would not ship).
        let runs_code = match &call.callee {
            // `module._compile`, and the `vm` module's functions (a `vm.Script`'s methods take
            // options: its code was judged where it was made).
            Expression::StaticMemberExpression(member) => {
                member.property.name == "_compile"
                    || (is_vm_module(&member.object)
                        && matches!(
                            member.property.name.as_str(),
                            "runInThisContext"
                                | "runInNewContext"
                                | "runInContext"
                                | "compileFunction"
                        ))
            }
            _ => false,
        };
        if runs_code {
            self.evaluates(
                call.arguments.first().and_then(Argument::as_expression),
                call.span,
            );
        }
        if let Expression::StaticMemberExpression(member) = &call.callee
            && is_identifier(&member.object, "process")
            && member.property.name == "cwd"
        {
            let site = self.site(call.span);
            self.imports.cwd.push(site);
        }
        if let Some(folded) = self.fold_call(call) {
            self.asset(folded, call.span);
            return;
        }
        walk::walk_call_expression(self, call);
    }

    fn visit_new_expression(&mut self, new: &NewExpression<'a>) {
        if let Some(folded) = fold_url(new) {
            self.asset(folded, new.span);
            return;
        }
        if is_identifier(&new.callee, "Function") && !new.arguments.is_empty() {
            // The body is the last argument; the others name parameters.
            self.evaluates(
                new.arguments.last().and_then(Argument::as_expression),
                new.span,
            );
        }
        // `new vm.Script(code)`: code run from text, like `vm.runInThisContext`.
        let script = match &new.callee {
            Expression::StaticMemberExpression(member) => member.property.name == "Script",
            Expression::Identifier(identifier) => identifier.name == "Script",
            _ => false,
        };
        if script {
            self.evaluates(
                new.arguments.first().and_then(Argument::as_expression),
                new.span,
            );
        }
        walk::walk_new_expression(self, new);
    }

    fn visit_binary_expression(&mut self, binary: &BinaryExpression<'a>) {
        if let Some(folded) = self.fold_binary(binary) {
            self.asset(folded, binary.span);
            return;
        }
        walk::walk_binary_expression(self, binary);
    }

    fn visit_template_literal(&mut self, template: &TemplateLiteral<'a>) {
        if let Some(folded) = self.fold_template(template) {
            self.asset(folded, template.span);
            return;
        }
        walk::walk_template_literal(self, template);
    }

    fn visit_assignment_expression(&mut self, assignment: &oxc_ast::ast::AssignmentExpression<'a>) {
        // `aliasedRequire = require`, for an alias only ever called: its calls are followed.
        if let oxc_ast::ast::AssignmentTarget::AssignmentTargetIdentifier(target) = &assignment.left
            && self.aliases.contains(target.name.as_str())
        {
            return;
        }
        walk::walk_assignment_expression(self, assignment);
    }

    fn visit_variable_declarator(&mut self, declarator: &VariableDeclarator<'a>) {
        if declarator
            .id
            .get_identifier_name()
            .is_some_and(|name| self.aliases.contains(name.as_str()))
        {
            return;
        }
        if let Some(Expression::CallExpression(call)) = &declarator.init
            && is_identifier(&call.callee, "createRequire")
            && declarator
                .id
                .get_identifier_name()
                .is_some_and(|name| name == "require")
        {
            return;
        }
        if binds_own_location(declarator) {
            return;
        }
        walk::walk_variable_declarator(self, declarator);
    }

    fn visit_member_expression(&mut self, member: &MemberExpression<'a>) {
        // `require.cache`, `require.main`: reading properties of require loads nothing.
        if let MemberExpression::StaticMemberExpression(static_member) = member {
            if is_identifier(&static_member.object, "require") {
                return;
            }
            if is_import_meta(&static_member.object) {
                // `import.meta.url`/`dirname`/`filename` outside a foldable path.
                if matches!(
                    static_member.property.name.as_str(),
                    "url" | "dirname" | "filename"
                ) {
                    self.locates(static_member.span);
                }
                return;
            }
        }
        walk::walk_member_expression(self, member);
    }

    fn visit_unary_expression(&mut self, unary: &UnaryExpression<'a>) {
        if unary.operator == UnaryOperator::Typeof && is_identifier(&unary.argument, "require") {
            return;
        }
        walk::walk_unary_expression(self, unary);
    }

    fn visit_string_literal(&mut self, literal: &oxc_ast::ast::StringLiteral<'a>) {
        if self.names && is_package_name(&literal.value) {
            self.imports.names.push(literal.value.to_string());
        }
    }

    fn visit_identifier_reference(&mut self, identifier: &IdentifierReference<'a>) {
        match identifier.name.as_str() {
            // Any other use of `require` passes it on (`const load = require`): what that
            // loads cannot be followed.
            "require" => self.dynamic(identifier.span()),
            // The module's location, used in a way that cannot be evaluated.
            "__dirname" | "__filename" => self.locates(identifier.span()),
            _ => {}
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

    fn assets(source: &str) -> (Vec<(String, bool)>, Vec<String>) {
        let imports = extract("index.mjs", source);
        (
            imports
                .assets
                .into_iter()
                .map(|asset| (asset.path, asset.complete))
                .collect(),
            imports.locates,
        )
    }

    #[test]
    fn a_require_of_a_module_level_string_constant_is_followed_by_name() {
        let folded = extract(
            "config.js",
            "const JS_YAML_DEP = 'js-yaml';\nfunction load() { return require(JS_YAML_DEP); }\n",
        );
        assert_eq!(folded.specifiers, ["js-yaml"]);
        assert!(folded.dynamic.is_empty());
        // Shadowed by a parameter somewhere: the require stays dynamic.
        let shadowed = extract(
            "config.js",
            "const DEP = 'js-yaml';\nfunction load(DEP) { return require(DEP); }\n",
        );
        assert!(shadowed.specifiers.is_empty());
        assert_eq!(shadowed.dynamic.len(), 1);
        // A `let` or `var` reassigned anywhere is not a constant; one never reassigned is.
        for reassigned in [
            "let DEP = 'a';\nDEP = 'b';\nrequire(DEP);\n",
            "var DEP = 'a';\nfunction f() { DEP += 'b'; }\nrequire(DEP);\n",
            "var DEP = 'a', X;\n[DEP, X] = g();\nrequire(DEP);\n",
            "var DEP = 'a';\n({ DEP } = g());\nrequire(DEP);\n",
        ] {
            let found = extract("a.js", reassigned);
            assert!(found.specifiers.is_empty(), "{reassigned}");
            assert_eq!(found.dynamic.len(), 1, "{reassigned}");
        }
        // config's parser.js: one `var` of many names, none assigned again.
        let config = extract(
            "parser.js",
            "var COFFEE_DEP = 'coffee-script',\n    JS_YAML_DEP = 'js-yaml';\nvar Yaml = null;\nfunction y() { if (!Yaml) { Yaml = require(JS_YAML_DEP); } }\nlet TOML_DEP = 'toml';\nrequire(TOML_DEP);\n",
        );
        assert_eq!(config.specifiers, ["js-yaml", "toml"]);
        assert!(config.dynamic.is_empty());
        // A direct eval may assign it; TypeScript may through `(DEP as any) = …`.
        let evaluated = extract("a.js", "var DEP = 'a';\neval(code);\nrequire(DEP);\n");
        assert!(evaluated.specifiers.is_empty());
        let typed = extract(
            "a.ts",
            "let DEP = 'a';\n(DEP as any) = 'b';\nrequire(DEP);\n",
        );
        assert!(typed.specifiers.is_empty());
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
            "function f(name) { require('./locale/' + name); }",
            "const load = require; load(name);",
            "const load = require; register(load);",
            "import(`./${name}.js`);",
            "const r = createRequire(import.meta.url); r('x');",
            "require(name);",
        ] {
            let imports = extract("index.js", source);
            assert_eq!(imports.dynamic.len(), 1, "{source}: {:?}", imports.dynamic);
        }
    }

    #[test]
    fn computed_requires_under_a_relative_folder_keep_their_prefix() {
        let imports = extract(
            "index.js",
            "require('./locale/' + name); import(`../plugins/${x}.js`); require(name);",
        );
        let prefixes: Vec<&str> = imports
            .computed
            .iter()
            .map(|computed| computed.prefix.as_str())
            .collect();
        assert_eq!(prefixes, ["./locale/", "../plugins/"]);
        assert_eq!(imports.dynamic.len(), 3);
    }

    #[test]
    fn computed_requires_under_a_packages_folder_keep_their_prefix() {
        let imports = extract(
            "index.js",
            "require('moment/locale/' + name); import(`@scope/icons/${x}`); require('lod' + x); require('@scope' + x); require('node:' + x);",
        );
        let prefixes: Vec<&str> = imports
            .computed
            .iter()
            .map(|computed| computed.prefix.as_str())
            .collect();
        assert_eq!(prefixes, ["moment/locale/", "@scope/icons/"]);
        assert_eq!(imports.dynamic.len(), 5);
        assert_eq!(
            package_prefix("moment/locale/"),
            Some(("moment", "locale/"))
        );
        assert_eq!(package_prefix("@scope/icons/"), Some(("@scope/icons", "")));
        assert_eq!(package_prefix("lodash/fp/get"), Some(("lodash", "fp/get")));
        for partial in [
            "lod",
            "@scope/",
            "@scope",
            "./x/",
            "/abs/",
            "a:b/",
            ".hidden/x",
            "@/x/",
        ] {
            assert_eq!(package_prefix(partial), None, "{partial}");
        }
    }

    #[test]
    fn only_a_direct_eval_keeps_let_and_var_from_folding() {
        for source in [
            "var DEP = 'js-yaml';\nrequire(DEP);\nfunction f(x) { return eval(x); }",
            "var DEP = 'js-yaml';\nrequire(DEP);\nfunction f(x) { return eval (x); }",
            "var DEP = 'js-yaml';\nrequire(DEP);\n// eval here\n",
        ] {
            assert!(may_eval_directly(source), "{source}");
            assert_eq!(extract("index.js", source).dynamic.len(), 1, "{source}");
        }
        for source in [
            "var DEP = 'js-yaml';\nrequire(DEP);\nyaml.eval(text);",
            "var DEP = 'js-yaml';\nrequire(DEP);\nyaml\n  .eval(text); evaluate(); medieval();",
        ] {
            assert!(!may_eval_directly(source), "{source}");
            assert_eq!(specifiers("index.js", source), ["js-yaml"], "{source}");
        }
    }

    #[test]
    fn create_require_bound_to_require_is_followed() {
        let source = "import { createRequire } from 'node:module';\nconst require = createRequire(import.meta.url);\nconst x = require('x');";
        assert_eq!(specifiers("index.mjs", source), ["node:module", "x"]);
        assert!(extract("index.mjs", source).locates.is_empty());
    }

    #[test]
    fn unparsable_files_are_reported_as_dynamic() {
        let imports = extract("broken.js", "const = ;");
        assert_eq!(imports.dynamic.len(), 1);
        assert!(imports.dynamic[0].contains("does not parse"));
    }

    #[test]
    fn paths_built_from_the_module_location_are_folded() {
        let (found, locates) = assets(
            r#"
            fs.readFileSync(__dirname + "/data/x.afm");
            fs.readFileSync(path.join(__dirname, "fonts", "a.flf"));
            fs.readFileSync(`${__dirname}/templates/page.html`);
            new URL("./config.json", import.meta.url);
            fs.readdirSync(path.resolve(__dirname, "locale", name));
            fs.readFileSync(__dirname + "/wasm/" + file);
            "#,
        );
        assert_eq!(
            found,
            [
                ("/data/x.afm".to_string(), true),
                ("/fonts/a.flf".to_string(), true),
                ("/templates/page.html".to_string(), true),
                ("./config.json".to_string(), true),
                ("/locale/".to_string(), false),
                ("/wasm/".to_string(), false),
            ]
        );
        assert!(locates.is_empty(), "{locates:?}");
    }

    #[test]
    fn esm_dirname_bindings_fold_like_commonjs() {
        let (found, locates) = assets(
            "import { fileURLToPath } from 'url';\nimport { dirname, join } from 'path';\nconst __dirname = dirname(fileURLToPath(import.meta.url));\nreadFileSync(join(__dirname, 'a.css'));",
        );
        assert_eq!(found, [("/a.css".to_string(), true)]);
        assert!(locates.is_empty(), "{locates:?}");
    }

    #[test]
    fn locations_that_cannot_be_folded_are_reported() {
        for source in [
            "function root() { return __dirname; }",
            "const here = dirname(fileURLToPath(import.meta.url));",
            "const dir = __dirname; read(dir);",
        ] {
            let (_, locates) = assets(source);
            assert!(!locates.is_empty(), "{source}");
        }
        let up = extract("lib/a.js", "const root = path.join(__dirname, '..');");
        assert_eq!(up.locates.len(), 1);
        let cwd = extract("a.js", "fs.readFileSync(process.cwd() + '/x');");
        assert_eq!(cwd.cwd.len(), 1);
    }

    #[test]
    fn platform_branches_lambda_does_not_take_are_not_followed() {
        let source = "
if (process.platform === 'darwin') { require('fsevents'); } else { require('inotify'); }
const binding = process.arch === 'arm64' ? require('./arm.node') : require('./x64.node');
const mac = process.platform === 'darwin' && require('mac-only');
switch (process.platform) {
  case 'win32': require('win'); break;
  case 'linux': require('linux-a');
  case 'freebsd': { require('linux-b'); break; }
  case 'darwin': require('darwin'); break;
  default: require('other');
}
switch (os.platform()) { case 'darwin': require('d2'); break; default: require('fallback'); }
if (unknown) require('kept');
if (process.platform !== 'win32' || x) require('also');
if (!(process.platform === 'linux')) require('not-linux');
";
        let mut found = extract_on("a.js", source, Some(Target { arch: "x64" })).specifiers;
        found.sort();
        assert_eq!(
            found,
            [
                "./x64.node",
                "also",
                "fallback",
                "inotify",
                "kept",
                "linux-a",
                "linux-b"
            ]
        );
        let mut arm = extract_on("a.js", source, Some(Target { arch: "arm64" })).specifiers;
        arm.retain(|specifier| specifier.ends_with(".node"));
        assert_eq!(arm, ["./arm.node"]);
        // Without a target (the package-level reading), every branch counts.
        let all = extract("a.js", source).specifiers;
        assert!(all.contains(&"fsevents".to_string()) && all.contains(&"win".to_string()));
    }

    /// Lambda's reserved variables are set (some to known paths); the function's own, such as
    /// `NODE_ENV`, may be anything, so both branches count.
    #[test]
    fn branches_on_lambdas_reserved_environment_fold() {
        let source = "
if (process.env.AWS_LAMBDA_FUNCTION_NAME) { require('on-lambda'); } else { require('local-a'); }
const b = process.env['AWS_EXECUTION_ENV'] !== undefined ? require('on-lambda-b') : require('local-b');
if (!process.env.LAMBDA_TASK_ROOT) require('local-c');
if (typeof process.env.AWS_REGION === 'undefined') require('local-d');
if (process.env.LAMBDA_TASK_ROOT === '/var/task') require('task-root');
if (process.env.AWS_LAMBDA_FUNCTION_NAME === 'orders') require('named');
if (process.env.NODE_ENV === 'production') require('prod'); else require('dev');
const e = process.env.MY_FLAG && require('flagged');
if ((process.env.AWS_LAMBDA_FUNCTION_NAME || process.env.IS_OFFLINE) == true) require('never'); else require('string-not-true');
if (typeof (process.env.AWS_REGION || '') === 'string') require('typeof-string');
if (require('setup-in-test').ok || process.env.AWS_REGION) require('then'); else require('no-else');
const f = (m = require('in-ternary-test')) && process.platform === 'darwin' ? require('mac') : require('not-mac');
if (null === undefined) require('null-is-not-undefined-strictly');
";
        let mut found = extract_on("a.js", source, Some(Target { arch: "x64" })).specifiers;
        found.sort();
        assert_eq!(
            found,
            [
                "dev",
                "flagged",
                "in-ternary-test",
                "named",
                "never",
                "not-mac",
                "null-is-not-undefined-strictly",
                "on-lambda",
                "on-lambda-b",
                "prod",
                "setup-in-test",
                "string-not-true",
                "task-root",
                "then",
                "typeof-string"
            ]
        );
    }

    #[test]
    fn require_and_import_are_told_apart_but_not_in_typescript() {
        let source = "import a from 'a';\nexport * from 'b';\nconst c = require('c');\nconst d = await import('d');\nrequire.resolve('e');\n";
        let found = extract("index.mjs", source);
        assert_eq!(found.imported, ["a", "b", "d"]);
        assert_eq!(found.required, ["c", "e"]);
        let typescript = extract("index.ts", source);
        assert!(typescript.imported.is_empty() && typescript.required.is_empty());
        assert_eq!(typescript.specifiers.len(), 5);
    }

    #[test]
    fn an_alias_of_require_that_is_only_called_is_require() {
        // moment's locale loader.
        let moment = extract(
            "moment.js",
            "function loadLocale(name) {\n  var aliasedRequire;\n  aliasedRequire = require;\n  aliasedRequire('./locale/' + name);\n}\nvar load = require;\nload('x');\n",
        );
        assert_eq!(moment.specifiers, ["x"]);
        assert_eq!(moment.computed.len(), 1);
        assert_eq!(moment.computed[0].prefix, "./locale/");
        assert_eq!(moment.dynamic.len(), 1, "{:?}", moment.dynamic);
        // Passed on, it is not followed.
        let passed = extract("a.js", "var load = require;\nplugins.forEach(load);\n");
        assert!(!passed.dynamic.is_empty());
        let reassigned = extract("a.js", "var load = require;\nload = other;\nload('x');\n");
        assert!(reassigned.specifiers.is_empty() && !reassigned.dynamic.is_empty());
    }

    #[test]
    fn only_names_bound_after_a_plain_equals_may_be_aliases_of_require() {
        fn names(source: &str) -> Option<Vec<&str>> {
            alias_names(source).map(|names| {
                let mut names: Vec<&str> = names.into_iter().collect();
                names.sort();
                names
            })
        }
        assert_eq!(
            names("var load = require;\nx.y = require\nother =\n  require;\n"),
            Some(vec!["load", "other", "y"])
        );
        // Calls, reads of its properties, tests and passing it on bind nothing.
        assert_eq!(
            names(
                "const a = require('a');\nrequire.resolve('b');\nif (typeof require === 'function' && require) {}\nf(require);\nx == require;\nx => require;\nvar requirements = 1;\n"
            ),
            Some(vec![])
        );
        // What could hide a binding: parentheses, a comment, a pattern.
        assert_eq!(names("var load = (require);"), None);
        assert_eq!(names("var load = ( require );"), None);
        assert_eq!(names("var load = /* node */ require;"), None);
        assert_eq!(names("[a, b] = require;"), None);
    }

    #[test]
    fn an_alias_behind_what_the_text_cannot_tell_is_still_found() {
        // The parse decides when the text cannot: `(require)` is not `require`.
        let found = extract("a.js", "var load = /* node */ require;\nload('x');\n");
        assert_eq!(found.specifiers, ["x"]);
        // In TypeScript the word before `=` may be a type.
        let typed = extract("a.ts", "const load: NodeRequire = require;\nload('x');\n");
        assert_eq!(typed.specifiers, ["x"]);
    }

    #[test]
    fn constant_specifiers_fold() {
        let found = extract(
            "app.js",
            "const BASE = './lib/';\nconst NAME = `${BASE}engine`;\nconst DEPS = Object.freeze({ yaml: 'js-yaml', json: BASE + 'json5' });\nconst LOCALES = './locale/';\nrequire(BASE + 'a');\nrequire(NAME);\nrequire(DEPS.yaml);\nrequire(DEPS.json);\nrequire(`${BASE}b`);\nfunction load(l) { return require(LOCALES + l); }\n",
        );
        assert_eq!(
            found.specifiers,
            [
                "./lib/a",
                "./lib/engine",
                "js-yaml",
                "./lib/json5",
                "./lib/b"
            ]
        );
        assert_eq!(found.computed.len(), 1);
        assert_eq!(found.computed[0].prefix, "./locale/");
        // A mutable object, or a name bound twice, does not fold.
        let open = extract(
            "app.js",
            "const DEPS = { yaml: 'js-yaml' };\nrequire(DEPS.yaml);\nconst A = 'x';\nfunction f(A) { require(A); }\n",
        );
        assert!(open.specifiers.is_empty(), "{:?}", open.specifiers);
        assert_eq!(open.dynamic.len(), 2);
    }

    /// Also `vm`'s functions and `module._compile`, which run code from text (perhaps a script
    /// read from disk).
    #[test]
    fn eval_of_literal_code_that_loads_nothing_is_inert() {
        for inert in [
            "vm.runInThisContext('1 + 1');",
            "const s = new vm.Script('1'); s.runInThisContext({ timeout: 5 });",
            // lodash's own `runInContext`, a function of its, not vm's.
            "var _ = runInContext(); function runInContext(context) { return context; }",
            "new Function('return this')();",
            "const t = eval('new.target');",
            "new Function();",
            "new Function('a', 'b', 'return a + b');",
        ] {
            let found = extract("a.js", inert);
            assert!(found.evals.is_empty(), "{inert}: {:?}", found.evals);
            assert!(
                found.locates.is_empty() && found.dynamic.is_empty(),
                "{inert}"
            );
        }
        for loads in [
            "eval('require(1)');",
            "eval(code);",
            "new Function('a', body);",
            "new Function('return import(\"x\")');",
            "vm.runInThisContext(fs.readFileSync(file, 'utf8'));",
            "new vm.Script(source).runInThisContext();",
            "module._compile(text, filename);",
            "vm.compileFunction(code, ['require']);",
        ] {
            assert_eq!(extract("a.js", loads).evals.len(), 1, "{loads}");
        }
    }

    #[test]
    fn package_shaped_strings_are_names() {
        let found = extract(
            "app.js",
            "app.set('view engine', 'ejs'); const x = '@scope/pkg'; const y = 'moment/locale/fr'; const z = 'Not A Name';",
        );
        assert_eq!(
            found.names,
            ["@scope/pkg", "ejs", "moment/locale/fr", "view engine"]
                .iter()
                .filter(|name| !name.contains(' '))
                .map(|name| name.to_string())
                .collect::<Vec<_>>()
        );
    }
}
