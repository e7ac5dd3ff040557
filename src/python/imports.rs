//! What a Python file imports, read with `ruff_python_parser`: every `import` and
//! `from … import` anywhere in the file (inside functions, `try`/`except ImportError`, `if`
//! branches), relative imports made absolute, and module names passed as string literals to
//! import helpers (`importlib.import_module("x")`, `__import__("x")`, a library's
//! `import_optional_dependency("x")`).

use ruff_python_ast::visitor::{Visitor, walk_expr, walk_stmt};
use ruff_python_ast::{Expr, Stmt};
use ruff_python_parser::parse_unchecked_source;
use ruff_text_size::Ranged;

/// The imports of one file. Serialized, it is what scan's memo remembers of a `.py` file.
#[derive(Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileImports {
    /// Absolute dotted names. `from a.b import c` gives `a.b.c`: `c` may be a submodule, and
    /// when it is an attribute the lookup falls back to `a.b`.
    pub modules: Vec<String>,
    /// Imports whose module name is computed: `line: code`.
    pub dynamic: Vec<String>,
    /// Parallel to `dynamic`: the module the computed name is known to lie within, when it is
    /// (`import_module('plugins.' + name)` → `plugins`; `import_module('.' + name, __name__)`
    /// → this package; any computed import in a package's module-level `__getattr__`, PEP 562
    /// lazy loading → this package).
    pub dynamic_within: Vec<Option<String>>,
    /// The file does not parse (what did parse still counts).
    pub syntax_error: Option<String>,
    /// Absolute imports the module runs as it loads: `(module, line, guarded)`, where guarded
    /// means inside a module-level `try` whose handler catches the `ImportError`.
    pub on_load: Vec<(String, usize, bool)>,
    /// String literals shaped like a module path (`"mysite.settings"`, `"polls"`,
    /// `"api.app:app"`, `"polls.apps.PollsConfig"`), the part before a `:`: frameworks load
    /// the user's modules by such names (Django's settings, `INSTALLED_APPS`, `ROOT_URLCONF`).
    pub names: Vec<String>,
    /// Changes to the module search path (`sys.path.insert(0, "vendor")`,
    /// `site.addsitedir(..)`): `line: code`. Modules may then load under other names.
    pub path_changes: Vec<String>,
    /// The modules of `from X import *` (absolute): a package's `__all__` may name submodules,
    /// which the star import then loads.
    pub stars: Vec<String>,
    /// Literal names the module's `__all__` lists (`__all__ = [...]`, `+=`, `.extend`,
    /// `.append`): what `from module import *` imports, submodules among them.
    pub all_names: Vec<String>,
    /// The module gets its PEP 562 `__getattr__` from a call (`lazy_loader.attach`):
    /// submodules load on first use, by names lamina cannot list.
    pub lazy: bool,
    /// Other ways to load code by names the file does not hold: `pkgutil.iter_modules` and
    /// `walk_packages`, entry-point loading (`entry_points`, `iter_entry_points`,
    /// `load_entry_point`), `runpy` of a computed path, `exec`/`compile` of a file's text:
    /// `line: code`.
    pub loaders: Vec<String>,
    /// AWS services the file names to an SDK client: the literal first argument (or
    /// `service_name=`) of a call to `client`, `resource` or `create_client`
    /// (`boto3.client("dynamodb")`, `session.resource("s3")`).
    pub services: Vec<String>,
    /// Such calls whose service name is computed: `line: code`.
    pub computed_services: Vec<String>,
    /// Functions or methods called by a name `data/packages.toml` lists as reading a
    /// distribution's data files (`app.enable_swagger(..)` → `enable_swagger`).
    pub api_calls: Vec<String>,
}

/// Extracts the imports of a file whose module is `module` (`pkg.sub.mod`, or `pkg.sub` for
/// `pkg/sub/__init__.py`), which is how relative imports are resolved.
pub fn extract(source: &str, module: &str, is_package: bool) -> FileImports {
    let parsed = parse_unchecked_source(source, ruff_python_ast::PySourceType::Python);
    // The package a relative import starts from: the module itself for `__init__.py`.
    let mut package: Vec<&str> = module.split('.').filter(|part| !part.is_empty()).collect();
    if !is_package {
        package.pop();
    }
    let mut collector = Collector {
        source,
        package,
        found: FileImports::default(),
        in_lazy_getattr: false,
        constants: constants(&parsed.syntax().body),
        loops: Vec::new(),
    };
    for statement in parsed.syntax().body.iter() {
        collector.in_lazy_getattr = is_package
            && matches!(statement, Stmt::FunctionDef(function) if function.name.id.as_str() == "__getattr__");
        collector.visit_stmt(statement);
        collector.in_lazy_getattr = false;
        on_load(source, statement, false, &mut collector.found.on_load);
        if defines_getattr(statement) {
            collector.found.lazy = true;
        }
        collector.found.all_names.extend(all_names(statement));
    }
    if let Some(error) = parsed.errors().first() {
        let line = line_of(source, error.location.start().to_usize());
        collector.found.syntax_error = Some(format!("{line}: {}", error.error));
    }
    collector.found.modules.sort();
    collector.found.modules.dedup();
    collector.found.names.sort();
    collector.found.names.dedup();
    collector.found.stars.sort();
    collector.found.stars.dedup();
    collector.found.services.sort();
    collector.found.services.dedup();
    collector.found.api_calls.sort();
    collector.found.api_calls.dedup();
    collector.found
}

struct Collector<'s> {
    source: &'s str,
    package: Vec<&'s str>,
    found: FileImports,
    /// Inside the module-level `def __getattr__` of a package's `__init__`.
    in_lazy_getattr: bool,
    /// Module-level names bound once to a string or a tuple or list of strings.
    constants: std::collections::HashMap<&'s str, Vec<String>>,
    /// Loop variables over such strings (`for package in ("urllib3", "idna")`), innermost last.
    loops: Vec<(&'s str, Vec<String>)>,
}

impl Collector<'_> {
    /// `from ..x import y` in package `a.b.c` → `a.b.x`; `None` when it climbs above the top.
    fn resolve(&self, level: u32, module: Option<&str>) -> Option<String> {
        let level = level as usize;
        if level == 0 {
            return module.map(str::to_string);
        }
        if level - 1 > self.package.len() {
            return None;
        }
        let mut parts: Vec<&str> = self.package[..self.package.len() - (level - 1)].to_vec();
        if let Some(module) = module {
            parts.extend(module.split('.'));
        }
        Some(parts.join("."))
    }

    /// The module a computed import's name lies within: its literal prefix up to a dot
    /// (`'plugins.' + name`, `f"plugins.{name}"`; `'.' + name` relative to this package when
    /// the package given is `__name__` or `__package__`), or this package inside its lazy
    /// `__getattr__`.
    fn within(&self, name: &Expr, package: Option<&Expr>) -> Option<String> {
        let literal = match name {
            Expr::BinOp(operation) if operation.op == ruff_python_ast::Operator::Add => {
                match operation.left.as_ref() {
                    Expr::StringLiteral(literal) => Some(literal.value.to_str().to_string()),
                    _ => None,
                }
            }
            Expr::FString(string) => string.value.iter().next().and_then(|part| match part {
                ruff_python_ast::FStringPart::Literal(literal) => Some(literal.value.to_string()),
                ruff_python_ast::FStringPart::FString(fstring) => {
                    fstring.elements.iter().next().and_then(|element| {
                        element
                            .as_literal()
                            .map(|literal| literal.value.to_string())
                    })
                }
            }),
            _ => None,
        };
        let this_package = || (!self.package.is_empty()).then(|| self.package.join("."));
        let Some(literal) = literal.filter(|text| text.contains('.')) else {
            return self.in_lazy_getattr.then(this_package).flatten();
        };
        let prefix = &literal[..literal.rfind('.').expect("it has a dot")];
        if let Some(relative) = literal.strip_prefix('.') {
            let names_this_package = self.in_lazy_getattr
                || package.is_some_and(|package| {
                    let range = package.range();
                    let text = &self.source[range.start().to_usize()..range.end().to_usize()];
                    ["__name__", "__package__", "__spec__.parent"].contains(&text)
                });
            if !names_this_package {
                return None;
            }
            let level = 1 + relative.chars().take_while(|&c| c == '.').count();
            let rest = prefix.trim_start_matches('.');
            return self.resolve(level as u32, (!rest.is_empty()).then_some(rest));
        }
        is_module_name(prefix).then(|| prefix.to_string())
    }

    /// The strings a name is bound to: a loop variable over literal strings, else a
    /// module-level constant.
    fn bound(&self, name: &str) -> Option<Vec<String>> {
        self.loops
            .iter()
            .rev()
            .find(|(bound, _)| *bound == name)
            .map(|(_, values)| values.clone())
            .or_else(|| self.constants.get(name).cloned())
    }

    /// A tuple or list of string literals, or a name bound to strings.
    fn strings(&self, expr: &Expr) -> Option<Vec<String>> {
        match expr {
            Expr::Name(name) => self.bound(&name.id),
            other => literal_strings(other),
        }
    }

    fn site(&self, range: ruff_text_size::TextRange) -> String {
        let start = range.start().to_usize();
        let end = range.end().to_usize().min(start + 120);
        let code: String = self.source[start..end]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        format!("{}: {code}", line_of(self.source, start))
    }
}

/// The absolute imports a module-level statement runs when the module loads; in a `try` with
/// a handler for `ImportError` (or a parent of it, or a bare `except`) they are guarded.
fn on_load(source: &str, statement: &Stmt, guarded: bool, found: &mut Vec<(String, usize, bool)>) {
    let line = line_of(source, statement.range().start().to_usize());
    match statement {
        Stmt::Import(import) => {
            for alias in &import.names {
                found.push((alias.name.id.as_str().to_string(), line, guarded));
            }
        }
        Stmt::ImportFrom(import) if import.level == 0 => {
            if let Some(module) = &import.module {
                found.push((module.id.as_str().to_string(), line, guarded));
            }
        }
        Stmt::Try(block) => {
            let catches = block.handlers.iter().any(|handler| {
                let ruff_python_ast::ExceptHandler::ExceptHandler(handler) = handler;
                match handler.type_.as_deref() {
                    None => true,
                    Some(kind) => {
                        let text =
                            &source[kind.range().start().to_usize()..kind.range().end().to_usize()];
                        [
                            "ImportError",
                            "ModuleNotFoundError",
                            "Exception",
                            "BaseException",
                        ]
                        .iter()
                        .any(|name| text.contains(name))
                    }
                }
            });
            for inner in &block.body {
                on_load(source, inner, guarded || catches, found);
            }
        }
        _ => {}
    }
}

/// The standard library's top-level modules, Python 3.9 to 3.13 (`sys.stdlib_module_names`,
/// with those 3.10+ removed); names starting with `_` are the interpreter's own.
pub const STDLIB: [&str; 221] = [
    "abc",
    "aifc",
    "antigravity",
    "argparse",
    "array",
    "ast",
    "asynchat",
    "asyncio",
    "asyncore",
    "atexit",
    "audioop",
    "base64",
    "bdb",
    "binascii",
    "binhex",
    "bisect",
    "builtins",
    "bz2",
    "cProfile",
    "calendar",
    "cgi",
    "cgitb",
    "chunk",
    "cmath",
    "cmd",
    "code",
    "codecs",
    "codeop",
    "collections",
    "colorsys",
    "compileall",
    "concurrent",
    "configparser",
    "contextlib",
    "contextvars",
    "copy",
    "copyreg",
    "crypt",
    "csv",
    "ctypes",
    "curses",
    "dataclasses",
    "datetime",
    "dbm",
    "decimal",
    "difflib",
    "dis",
    "distutils",
    "doctest",
    "email",
    "encodings",
    "ensurepip",
    "enum",
    "errno",
    "faulthandler",
    "fcntl",
    "filecmp",
    "fileinput",
    "fnmatch",
    "formatter",
    "fractions",
    "ftplib",
    "functools",
    "gc",
    "genericpath",
    "getopt",
    "getpass",
    "gettext",
    "glob",
    "graphlib",
    "grp",
    "gzip",
    "hashlib",
    "heapq",
    "hmac",
    "html",
    "http",
    "idlelib",
    "imaplib",
    "imghdr",
    "imp",
    "importlib",
    "inspect",
    "io",
    "ipaddress",
    "itertools",
    "json",
    "keyword",
    "lib2to3",
    "linecache",
    "locale",
    "logging",
    "lzma",
    "mailbox",
    "mailcap",
    "marshal",
    "math",
    "mimetypes",
    "mmap",
    "modulefinder",
    "msilib",
    "msvcrt",
    "multiprocessing",
    "netrc",
    "nis",
    "nntplib",
    "nt",
    "ntpath",
    "nturl2path",
    "numbers",
    "opcode",
    "operator",
    "optparse",
    "os",
    "ossaudiodev",
    "parser",
    "pathlib",
    "pdb",
    "pickle",
    "pickletools",
    "pipes",
    "pkgutil",
    "platform",
    "plistlib",
    "poplib",
    "posix",
    "posixpath",
    "pprint",
    "profile",
    "pstats",
    "pty",
    "pwd",
    "py_compile",
    "pyclbr",
    "pydoc",
    "pydoc_data",
    "pyexpat",
    "queue",
    "quopri",
    "random",
    "re",
    "readline",
    "reprlib",
    "resource",
    "rlcompleter",
    "runpy",
    "sched",
    "secrets",
    "select",
    "selectors",
    "shelve",
    "shlex",
    "shutil",
    "signal",
    "site",
    "smtpd",
    "smtplib",
    "sndhdr",
    "socket",
    "socketserver",
    "spwd",
    "sqlite3",
    "sre_compile",
    "sre_constants",
    "sre_parse",
    "ssl",
    "stat",
    "statistics",
    "string",
    "stringprep",
    "struct",
    "subprocess",
    "sunau",
    "symbol",
    "symtable",
    "sys",
    "sysconfig",
    "syslog",
    "tabnanny",
    "tarfile",
    "telnetlib",
    "tempfile",
    "termios",
    "textwrap",
    "this",
    "threading",
    "time",
    "timeit",
    "tkinter",
    "token",
    "tokenize",
    "tomllib",
    "trace",
    "traceback",
    "tracemalloc",
    "tty",
    "turtle",
    "turtledemo",
    "types",
    "typing",
    "unicodedata",
    "unittest",
    "urllib",
    "uu",
    "uuid",
    "venv",
    "warnings",
    "wave",
    "weakref",
    "webbrowser",
    "winreg",
    "winsound",
    "wsgiref",
    "xdrlib",
    "xml",
    "xmlrpc",
    "zipapp",
    "zipfile",
    "zipimport",
    "zlib",
    "zoneinfo",
];

/// The literal names a module-level statement adds to `__all__`.
fn all_names(statement: &Stmt) -> Vec<String> {
    let is_all =
        |target: &Expr| matches!(target, Expr::Name(name) if name.id.as_str() == "__all__");
    let listed = match statement {
        Stmt::Assign(assign) if assign.targets.iter().any(is_all) => literal_strings(&assign.value),
        Stmt::AugAssign(assign) if is_all(&assign.target) => literal_strings(&assign.value),
        Stmt::AnnAssign(assign) if is_all(&assign.target) => {
            assign.value.as_deref().and_then(literal_strings)
        }
        Stmt::Expr(expression) => match expression.value.as_ref() {
            Expr::Call(call) => match call.func.as_ref() {
                Expr::Attribute(method)
                    if is_all(&method.value)
                        && ["extend", "append"].contains(&method.attr.id.as_str()) =>
                {
                    call.arguments.args.first().and_then(literal_strings)
                }
                _ => None,
            },
            _ => None,
        },
        _ => None,
    };
    listed.unwrap_or_default()
}

/// A string literal, or a tuple or list of them.
fn literal_strings(expr: &Expr) -> Option<Vec<String>> {
    let elements = match expr {
        Expr::StringLiteral(literal) => return Some(vec![literal.value.to_str().to_string()]),
        Expr::Tuple(tuple) => &tuple.elts,
        Expr::List(list) => &list.elts,
        _ => return None,
    };
    elements
        .iter()
        .map(|element| match element {
            Expr::StringLiteral(literal) => Some(literal.value.to_str().to_string()),
            _ => None,
        })
        .collect()
}

/// Module-level names assigned exactly once, to a string or a tuple or list of strings.
fn constants(body: &[Stmt]) -> std::collections::HashMap<&str, Vec<String>> {
    let mut counts: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    let mut values = std::collections::HashMap::new();
    for statement in body {
        let (target, value) = match statement {
            Stmt::Assign(assign) if assign.targets.len() == 1 => {
                (&assign.targets[0], Some(assign.value.as_ref()))
            }
            Stmt::AnnAssign(assign) => (assign.target.as_ref(), assign.value.as_deref()),
            Stmt::AugAssign(assign) => (assign.target.as_ref(), None),
            _ => continue,
        };
        let Expr::Name(name) = target else {
            continue;
        };
        *counts.entry(name.id.as_str()).or_default() += 1;
        if let Some(strings) = value.and_then(literal_strings) {
            values.insert(name.id.as_str(), strings);
        }
    }
    values.retain(|name, _| counts.get(name) == Some(&1));
    values
}

/// `__getattr__, __dir__, __all__ = lazy.attach(..)` (lazy_loader): a module-level assignment
/// that gives the module a PEP 562 `__getattr__` made elsewhere, loading submodules by name.
fn defines_getattr(statement: &Stmt) -> bool {
    fn names_getattr(target: &Expr) -> bool {
        match target {
            Expr::Name(name) => name.id.as_str() == "__getattr__",
            Expr::Tuple(tuple) => tuple.elts.iter().any(names_getattr),
            Expr::List(list) => list.elts.iter().any(names_getattr),
            _ => false,
        }
    }
    // A `def __getattr__` is not enough: its literal imports are imports like any other, and a
    // computed one in it lies within the package (`dynamic_within`).
    match statement {
        Stmt::Assign(assign) => assign.targets.iter().any(names_getattr),
        Stmt::AnnAssign(assign) => names_getattr(&assign.target),
        _ => false,
    }
}

/// The 1-based line of a byte offset.
fn line_of(source: &str, offset: usize) -> usize {
    source.as_bytes()[..offset.min(source.len())]
        .iter()
        .filter(|&&byte| byte == b'\n')
        .count()
        + 1
}

/// `TYPE_CHECKING`, `typing.TYPE_CHECKING`, `t.TYPE_CHECKING`: true only for a type checker.
fn is_type_checking(test: &Expr) -> bool {
    match test {
        Expr::Name(name) => name.id.as_str() == "TYPE_CHECKING",
        Expr::Attribute(attribute) => attribute.attr.id.as_str() == "TYPE_CHECKING",
        _ => false,
    }
}

/// A name made of dotted identifiers.
fn is_module_name(text: &str) -> bool {
    !text.is_empty()
        && text.split('.').all(|part| {
            part.chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_')
                && part.chars().all(|c| c.is_alphanumeric() || c == '_')
        })
}

impl<'a> Visitor<'a> for Collector<'a> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        if let Stmt::For(loop_) = stmt
            && let Expr::Name(target) = loop_.target.as_ref()
            && let Some(values) = self.strings(&loop_.iter)
        {
            self.loops.push((target.id.as_str(), values));
            walk_stmt(self, stmt);
            self.loops.pop();
            return;
        }
        if let Stmt::If(branch) = stmt
            && is_type_checking(&branch.test)
        {
            // `typing.TYPE_CHECKING` is false when the code runs: only the other branches do.
            for clause in &branch.elif_else_clauses {
                if let Some(test) = &clause.test {
                    self.visit_expr(test);
                }
                for inner in &clause.body {
                    self.visit_stmt(inner);
                }
            }
            return;
        }
        match stmt {
            Stmt::Import(import) => {
                for alias in &import.names {
                    self.found.modules.push(alias.name.id.as_str().to_string());
                }
            }
            Stmt::ImportFrom(import) => {
                let module = import.module.as_ref().map(|name| name.id.as_str());
                if let Some(base) = self.resolve(import.level, module) {
                    for alias in &import.names {
                        let name = alias.name.id.as_str();
                        if name == "*" && !base.is_empty() {
                            self.found.stars.push(base.clone());
                        }
                        let full = match (name, base.is_empty()) {
                            ("*", _) => base.clone(),
                            (_, true) => name.to_string(),
                            (_, false) => format!("{base}.{name}"),
                        };
                        if !full.is_empty() {
                            self.found.modules.push(full);
                        }
                    }
                }
            }
            _ => {}
        }
        walk_stmt(self, stmt);
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        if let Expr::StringLiteral(literal) = expr {
            let text = literal.value.to_str();
            let module = text.split_once(':').map_or(text, |(module, _)| module);
            if text.len() <= 200 && is_module_name(module) {
                self.found.names.push(module.to_string());
            }
        }
        if let Expr::Call(call) = expr
            && let Expr::Attribute(method) = call.func.as_ref()
        {
            let on_sys_path = matches!(method.value.as_ref(), Expr::Attribute(path)
                if path.attr.id.as_str() == "path"
                    && matches!(path.value.as_ref(), Expr::Name(name) if name.id.as_str() == "sys"));
            let changes = (on_sys_path
                && ["insert", "append", "extend"].contains(&method.attr.id.as_str()))
                || method.attr.id.as_str() == "addsitedir";
            if changes {
                self.found.path_changes.push(self.site(expr.range()));
            }
        }
        if let Expr::Call(call) = expr {
            let callee = match call.func.as_ref() {
                Expr::Name(name) => Some(name.id.as_str()),
                Expr::Attribute(attribute) => Some(attribute.attr.id.as_str()),
                _ => None,
            };
            if let Some(callee) = callee
                && ["client", "resource", "create_client"].contains(&callee)
            {
                let named = call.arguments.args.first().or_else(|| {
                    call.arguments
                        .keywords
                        .iter()
                        .find(|keyword| {
                            keyword
                                .arg
                                .as_ref()
                                .is_some_and(|arg| arg.id.as_str() == "service_name")
                        })
                        .map(|keyword| &keyword.value)
                });
                match named {
                    Some(Expr::StringLiteral(literal)) => {
                        self.found.services.push(literal.value.to_str().to_string());
                    }
                    Some(_) => self.found.computed_services.push(self.site(expr.range())),
                    None => {}
                }
            }
            if let Some(callee) = callee
                && crate::knowledge::python_api_names().contains(callee)
            {
                self.found.api_calls.push(callee.to_string());
            }
            if let Some(callee) = callee {
                let literal = matches!(call.arguments.args.first(), Some(Expr::StringLiteral(_)));
                let reads_a_file = || {
                    call.arguments.args.first().is_some_and(|argument| {
                        let range = argument.range();
                        let text = &self.source[range.start().to_usize()..range.end().to_usize()];
                        text.contains("open(") || text.contains(".read")
                    })
                };
                let lists_or_runs = match callee {
                    "iter_modules" | "walk_packages" | "entry_points" | "iter_entry_points"
                    | "load_entry_point" => true,
                    "run_path" | "run_module" => !literal,
                    "exec" | "compile" => reads_a_file(),
                    _ => false,
                };
                if lists_or_runs {
                    self.found.loaders.push(self.site(expr.range()));
                }
                let loads_code = callee == "import_module" || callee == "__import__";
                let helper = loads_code
                    || callee.to_ascii_lowercase().contains("import")
                    || callee == "find_spec";
                if helper {
                    match call.arguments.args.first() {
                        Some(Expr::StringLiteral(literal)) => {
                            let name = literal.value.to_str();
                            if is_module_name(name) {
                                self.found.modules.push(name.to_string());
                            } else if let Some(relative) = name.strip_prefix('.') {
                                // `import_module(".sub", __package__)`: relative to this package.
                                let level = 1 + relative.chars().take_while(|&c| c == '.').count();
                                let rest = relative.trim_start_matches('.');
                                let module = (!rest.is_empty()).then_some(rest);
                                if let Some(resolved) = self.resolve(level as u32, module) {
                                    self.found.modules.push(resolved);
                                }
                            }
                        }
                        Some(Expr::Name(name)) if loads_code && self.bound(&name.id).is_some() => {
                            // A name bound to known strings: each is the module imported.
                            let values = self.bound(&name.id).unwrap_or_default();
                            self.found
                                .modules
                                .extend(values.into_iter().filter(|value| is_module_name(value)));
                        }
                        Some(argument) if loads_code => {
                            self.found.dynamic.push(self.site(expr.range()));
                            let within = self.within(argument, call.arguments.args.get(1));
                            self.found.dynamic_within.push(within);
                        }
                        _ => {}
                    }
                }
            }
        }
        walk_expr(self, expr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn modules(source: &str) -> Vec<String> {
        extract(source, "app", false).modules
    }

    #[test]
    fn imports_anywhere_in_the_file_count() {
        let source = "import os, a.b as ab\nfrom c import d, e\n\ndef f():\n    import g\n\ntry:\n    import h\nexcept ImportError:\n    h = None\nif x:\n    from i.j import *\nclass K:\n    import l\n";
        assert_eq!(
            modules(source),
            ["a.b", "c.d", "c.e", "g", "h", "i.j", "l", "os"]
        );
    }

    #[test]
    fn imports_only_a_type_checker_runs_do_not_count() {
        let source = "from typing import TYPE_CHECKING\nimport typing\nif TYPE_CHECKING:\n    import stubs_only\nelif x:\n    import elif_branch\nelse:\n    import runtime_fallback\n\ndef f():\n    if typing.TYPE_CHECKING:\n        from heavy import Model\n    import inside\nif not TYPE_CHECKING:\n    import negated\n";
        assert_eq!(
            modules(source),
            [
                "elif_branch",
                "inside",
                "negated",
                "runtime_fallback",
                "typing",
                "typing.TYPE_CHECKING"
            ]
        );
    }

    #[test]
    fn relative_imports_resolve_against_the_package() {
        let found = extract(
            "from . import x\nfrom .. import y\nfrom .z import w\nfrom .... import too_far\n",
            "pkg.sub.mod",
            false,
        );
        assert_eq!(found.modules, ["pkg.sub.x", "pkg.sub.z.w", "pkg.y"]);
        let init = extract("from .tests import helper\n", "jinja2", true);
        assert_eq!(init.modules, ["jinja2.tests.helper"]);
    }

    #[test]
    fn literal_names_given_to_import_helpers_count_and_computed_ones_are_dynamic() {
        let source = "import importlib\nm = importlib.import_module('yaml')\nn = __import__(\"simplejson\")\np = import_optional_dependency('pyarrow', extra='x')\nq = importlib.import_module('.helpers', __package__)\nr = importlib.import_module(name)\nprint('requests')\n";
        let found = extract(source, "pkg.mod", false);
        assert_eq!(
            found.modules,
            ["importlib", "pkg.helpers", "pyarrow", "simplejson", "yaml"]
        );
        assert_eq!(found.dynamic, ["6: importlib.import_module(name)"]);
    }

    #[test]
    fn string_literals_shaped_like_module_paths_are_names() {
        let source = "import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'mysite.settings')\nINSTALLED_APPS = ['polls.apps.PollsConfig', \"django.contrib.admin\"]\nAPP = 'api.app:app'\nGREETING = 'hello, world'\nPATH = '/tmp/x.txt'\n";
        let found = extract(source, "app", false);
        assert_eq!(
            found.names,
            [
                "DJANGO_SETTINGS_MODULE",
                "api.app",
                "django.contrib.admin",
                "mysite.settings",
                "polls.apps.PollsConfig"
            ]
        );
    }

    #[test]
    fn changes_to_the_module_search_path_are_noted() {
        let source = "import os, sys, site\nsys.path.insert(0, os.path.join(os.path.dirname(__file__), 'vendor'))\nsite.addsitedir('lib')\npath = []\npath.append('x')\n";
        let found = extract(source, "app", false);
        assert_eq!(
            found.path_changes,
            [
                "2: sys.path.insert(0, os.path.join(os.path.dirname(__file__), 'vendor'))",
                "3: site.addsitedir('lib')"
            ]
        );
    }

    #[test]
    fn star_imports_lazy_modules_and_other_loaders_are_recorded() {
        let source = "from .sub import *\nfrom os import *\nimport pkgutil\nfor m in pkgutil.iter_modules(__path__):\n    pass\nexec(open('x.py').read())\nexec('a = 1')\nrunpy.run_path(path)\nrunpy.run_path('fixed.py')\nfrom importlib.metadata import entry_points\nplugins = entry_points(group='x')\n\ndef __getattr__(name):\n    return name\n";
        let found = extract(source, "pkg", true);
        assert_eq!(found.stars, ["os", "pkg.sub"]);
        // `def __getattr__` returning a name loads nothing: not lazy.
        assert!(!found.lazy);
        assert_eq!(
            found.loaders,
            [
                "4: pkgutil.iter_modules(__path__)",
                "6: exec(open('x.py').read())",
                "8: runpy.run_path(path)",
                "11: entry_points(group='x')"
            ]
        );
        let listed = extract(
            "__all__ = ['a', 'b']\n__all__ += ['c']\n__all__.extend(('d',))\n__all__.append('e')\n__all__ += other.__all__\n",
            "pkg",
            true,
        );
        assert_eq!(listed.all_names, ["a", "b", "c", "d", "e"]);
        let plain = extract(
            "def f():\n    def __getattr__(n):\n        pass\n",
            "m",
            false,
        );
        assert!(!plain.lazy && plain.loaders.is_empty());
        let attached = extract(
            "import lazy_loader as lazy\n__getattr__, __dir__, __all__ = lazy.attach(__name__, submodules=['x'])\n",
            "pkg",
            true,
        );
        assert!(attached.lazy);
    }

    #[test]
    fn computed_imports_say_what_module_their_name_lies_within() {
        let source = "import importlib\na = importlib.import_module('plugins.' + name)\nb = importlib.import_module(f'encodings.{codec}')\nc = importlib.import_module('.' + name, __name__)\nd = importlib.import_module('.' + name, other)\ne = importlib.import_module(name)\nf = __import__(f'{base}.{name}')\n\ndef __getattr__(attr):\n    return importlib.import_module(f'.{TABLE[attr]}', package=package)\n\ndef later(x):\n    return importlib.import_module(TABLE[x])\n";
        let found = extract(source, "pkg", true);
        let some = |module: &str| Some(module.to_string());
        assert_eq!(
            found.dynamic_within,
            [
                some("plugins"),
                some("encodings"),
                some("pkg"),
                None,
                None,
                None,
                some("pkg"),
                None
            ],
            "{:?}",
            found.dynamic
        );
    }

    #[test]
    fn names_bound_to_known_strings_are_the_modules_imported() {
        let source = "import importlib\nPARSER = 'yaml'\nBACKENDS = ('ujson', 'simplejson')\nTWICE = 'a'\nTWICE = 'b'\nfor package in ('urllib3', 'idna'):\n    locals()[package] = __import__(package)\nfor backend in BACKENDS:\n    importlib.import_module(backend)\n\ndef load():\n    return importlib.import_module(PARSER), importlib.import_module(TWICE)\n";
        let found = extract(source, "app", false);
        assert_eq!(
            found.modules,
            [
                "idna",
                "importlib",
                "simplejson",
                "ujson",
                "urllib3",
                "yaml"
            ]
        );
        assert_eq!(found.dynamic, ["12: importlib.import_module(TWICE)"]);
    }

    #[test]
    fn aws_services_named_to_sdk_clients_are_recorded() {
        let source = "import boto3\nDDB = boto3.client('dynamodb')\nS3 = boto3.resource(service_name='s3')\nsession.create_client(\"sqs\", region_name='eu-west-1')\nboto3.client(name)\nhttp.client\n";
        let found = extract(source, "app", false);
        assert_eq!(found.services, ["dynamodb", "s3", "sqs"]);
        assert_eq!(found.computed_services, ["5: boto3.client(name)"]);
    }

    #[test]
    fn a_file_that_does_not_parse_still_yields_what_parsed() {
        let found = extract("import a\ndef broken(:\n", "m", false);
        assert!(found.modules.contains(&"a".to_string()));
        assert!(found.syntax_error.is_some());
    }
}
