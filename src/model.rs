//! The types the stages exchange: Inventory (scan), Plan (shake), Artifact (package).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

pub use crate::lambda::{Arch, Language, Runtime};

/// Where a setting came from, so the report can say "inferred" or "assumed".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    Flag,
    Inferred(String),
    Default,
}

/// The function being processed, as scan found it.
#[derive(Debug, Clone)]
pub struct Function {
    /// The zip is `OUT/<name>.zip`.
    pub name: String,
    pub root: PathBuf,
    pub runtime: Runtime,
    pub runtime_origin: Origin,
    pub arch: Arch,
    pub handler: Handler,
}

/// `index.handler` → the file `index.js` (or `.mjs`/`.cjs`) and its export `handler`.
#[derive(Debug, Clone)]
pub struct Handler {
    pub spec: String,
    /// Artifact path of the handler file.
    pub file: String,
    pub origin: Origin,
}

/// Who a file belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// The user's own code and assets.
    User,
    Package(PackageId),
    /// Among the installed dependencies but inside no package: under `node_modules` (`.bin`
    /// links, `.package-lock.json`) or in a Python site-packages folder and in no
    /// distribution's `RECORD`.
    Unowned,
}

/// One file or symbolic link of the function, at its path inside the artifact.
#[derive(Debug, Clone)]
pub struct FileEntry {
    /// Relative path inside the artifact, with forward slashes.
    pub path: String,
    /// Where to read the contents (for a followed link: the real file).
    pub source: PathBuf,
    pub bytes: u64,
    pub executable: bool,
    /// For a link kept as a link: its target, relative to the link's folder, inside the artifact.
    pub link_target: Option<String>,
    pub owner: Owner,
    /// What the walk saw of the file, for a rebuild to recognise it unchanged without reading.
    pub stamp: Option<Stamp>,
}

/// What identifies a file's contents without reading them: device, inode, size, and
/// modification and change times in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub device: u64,
    pub inode: u64,
    pub size: u64,
    pub modified: i128,
    pub changed: i128,
}

impl Stamp {
    pub fn of(meta: &std::fs::Metadata) -> Stamp {
        use std::os::unix::fs::MetadataExt;
        let nanos =
            |seconds: i64, nanos: i64| i128::from(seconds) * 1_000_000_000 + i128::from(nanos);
        Stamp {
            device: meta.dev(),
            inode: meta.ino(),
            size: meta.size(),
            modified: nanos(meta.mtime(), meta.mtime_nsec()),
            changed: nanos(meta.ctime(), meta.ctime_nsec()),
        }
    }

    /// The bytes of a stamp in lamina's cache files (56, little-endian).
    pub const ENCODED: usize = 56;

    /// Appends the stamp's bytes (`ENCODED` of them) to a cache file's body.
    pub fn encode(&self, body: &mut Vec<u8>) {
        body.extend_from_slice(&self.device.to_le_bytes());
        body.extend_from_slice(&self.inode.to_le_bytes());
        body.extend_from_slice(&self.size.to_le_bytes());
        body.extend_from_slice(&self.modified.to_le_bytes());
        body.extend_from_slice(&self.changed.to_le_bytes());
    }

    /// The stamp `encode` wrote, from exactly `ENCODED` bytes.
    pub fn decode(bytes: &[u8]) -> Option<Stamp> {
        let (device, rest) = bytes.split_first_chunk::<8>()?;
        let (inode, rest) = rest.split_first_chunk::<8>()?;
        let (size, rest) = rest.split_first_chunk::<8>()?;
        let (modified, rest) = rest.split_first_chunk::<16>()?;
        let (changed, rest) = rest.split_first_chunk::<16>()?;
        rest.is_empty().then(|| Stamp {
            device: u64::from_le_bytes(*device),
            inode: u64::from_le_bytes(*inode),
            size: u64::from_le_bytes(*size),
            modified: i128::from_le_bytes(*modified),
            changed: i128::from_le_bytes(*changed),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PackageId(pub usize);

/// The fields of a `package.json` lamina uses.
#[derive(Debug, Clone, Default)]
pub struct Manifest {
    pub name: Option<String>,
    pub version: Option<String>,
    pub main: Option<String>,
    pub exports: Option<serde_json::Value>,
    pub module_type: Option<String>,
    pub engines_node: Option<String>,
    pub dependencies: BTreeMap<String, String>,
    pub optional_dependencies: BTreeMap<String, String>,
    pub peer_dependencies: BTreeMap<String, String>,
    pub dev_dependencies: BTreeMap<String, String>,
    pub bundle_dependencies: Vec<String>,
}

impl Manifest {
    /// No fields at all.
    pub const EMPTY: Manifest = Manifest {
        name: None,
        version: None,
        main: None,
        exports: None,
        module_type: None,
        engines_node: None,
        dependencies: BTreeMap::new(),
        optional_dependencies: BTreeMap::new(),
        peer_dependencies: BTreeMap::new(),
        dev_dependencies: BTreeMap::new(),
        bundle_dependencies: Vec::new(),
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DependencyKind {
    Production,
    Optional,
    Peer,
    Dev,
}

impl DependencyKind {
    pub fn label(self) -> &'static str {
        match self {
            DependencyKind::Production => "dependencies",
            DependencyKind::Optional => "optionalDependencies",
            DependencyKind::Peer => "peerDependencies",
            DependencyKind::Dev => "devDependencies",
        }
    }
}

/// A declared dependency and the installed package Node's resolution finds for it.
#[derive(Debug, Clone)]
pub struct Dependency {
    pub name: String,
    pub kind: DependencyKind,
    pub target: Option<PackageId>,
}

/// `package-lock.json` flags for one installed package.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LockFlags {
    pub dev: bool,
    pub optional: bool,
}

/// Which ecosystem a package belongs to, with what only that ecosystem knows about it.
#[derive(Debug, Clone)]
pub enum PackageKind {
    /// An npm package, with its `package.json`.
    Npm(Box<Manifest>),
    /// A Python distribution (`*.dist-info` or `*.egg-info`).
    Python(Box<Distribution>),
}

impl PackageKind {
    /// `npm`, `python`: the report's `kind`.
    pub fn label(&self) -> &'static str {
        match self {
            PackageKind::Npm(_) => "npm",
            PackageKind::Python(_) => "python",
        }
    }
}

/// What a Python distribution's metadata folder says about it.
#[derive(Debug, Clone, Default)]
pub struct Distribution {
    /// The name as `METADATA` spells it (`Package::name` is the PEP 503 normalised form).
    pub display_name: String,
    /// `Requires-Dist` (or `requires.txt`), with extras and markers, unevaluated: shake
    /// evaluates the markers for the target runtime.
    pub requirements: Vec<pep508_rs::Requirement>,
    /// `Requires-Python`, as written.
    pub requires_python: Option<String>,
    /// `top_level.txt`.
    pub top_level: Vec<String>,
    /// Section names of `entry_points.txt` (`console_scripts`, `pytest11`, ...).
    pub entry_point_groups: Vec<String>,
    /// `Tag:` lines of `WHEEL` (`cp311-cp311-manylinux_2_17_x86_64`).
    pub wheel_tags: Vec<String>,
    /// Dotted module paths the distribution's files provide, packages and namespace portions
    /// included (`google`, `google.protobuf`, `google.protobuf.json_format`).
    pub modules: Vec<String>,
    /// `egg-info` rather than `dist-info`.
    pub egg_info: bool,
}

/// One installed package (counted once, at its real location in the artifact).
#[derive(Debug, Clone)]
pub struct Package {
    pub id: PackageId,
    pub name: String,
    pub version: String,
    /// Artifact path of the package's folder (a Python distribution: its `*.dist-info`).
    pub path: String,
    pub kind: PackageKind,
    pub lock: Option<LockFlags>,
    pub dependencies: Vec<Dependency>,
    /// Indices into `Inventory::files`.
    pub files: Vec<usize>,
    /// Linked from outside the function (a workspace package) and copied in as real files.
    pub workspace: bool,
}

impl Package {
    /// An npm package's `package.json`; an empty one for other ecosystems' packages.
    pub fn manifest(&self) -> &Manifest {
        static EMPTY: Manifest = Manifest::EMPTY;
        match &self.kind {
            PackageKind::Npm(manifest) => manifest,
            PackageKind::Python(_) => &EMPTY,
        }
    }
}

/// A package named in a string literal of another package's code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedReference {
    pub from: PackageId,
    pub to: PackageId,
    /// `node_modules/config/parser.js:27`.
    pub at: String,
}

/// What the user's own code imports, for finding unused root dependencies.
#[derive(Debug, Clone, Default)]
pub struct Imports {
    /// Node: bare package names (`express`, `@aws-sdk/client-s3`). Python: dotted module
    /// paths (`requests`, `google.protobuf.json_format`).
    pub packages: BTreeSet<String>,
    /// Imports lamina cannot follow: `file:line: code`. Any one keeps every root dependency.
    pub dynamic: Vec<String>,
    /// How far the user's code was read: which scripts the handler does not load (so their
    /// imports do not count), or why every script counts.
    pub notes: Vec<String>,
    /// Node: the first file of the user's (in path order) that imports each package, for
    /// reasons that say where.
    pub first_importer: BTreeMap<String, String>,
}

/// A unit the tracer keeps whole: one package, or the user's own code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TraceUnit {
    User,
    Package(PackageId),
}

/// What the file-level tracer (`--shake files`) found, starting from the handler.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    /// Reached files (indices into `Inventory::files`) and the file whose import reached each.
    pub reached: std::collections::HashMap<usize, Option<usize>>,
    /// Reached files that only what a computed path or `require` may name reached (Node): a
    /// junk rule's drop stands for them, as nothing names them.
    pub broadly: std::collections::HashSet<usize>,
    /// Units kept whole, with the file, line and construct that made it so.
    pub whole: BTreeMap<TraceUnit, String>,
    /// Set when the user's code may load any package: every kept package is kept whole.
    pub all_packages: Option<String>,
    /// Units partly kept beyond what imports reach, each with why (`file:line: code: what
    /// ships`): the scripts a computed `require` can name, the data files a computed path can
    /// read.
    pub partly: BTreeMap<TraceUnit, Vec<String>>,
    /// `file: specifier` of imports that resolve to nothing installed.
    pub unresolved: Vec<String>,
    /// Dynamic loads known to reach nothing the trace would drop, with why (`file:line: code:
    /// why`); they keep nothing whole.
    pub inert: Vec<String>,
    /// Node: `file:line: code` of each use of the AWS SDK v2's module (`aws-sdk`) that may
    /// build a client for a computed service name (`AWS[name]`, the module passed on).
    pub sdk_v2_computed: Vec<String>,
    pub parsed_files: usize,
    pub seconds: f64,
}

/// Everything scan learned about one function.
#[derive(Debug, Clone)]
pub struct Inventory {
    pub function: Function,
    /// Sorted by path.
    pub files: Vec<FileEntry>,
    pub packages: Vec<Package>,
    pub imports: Imports,
    /// The output folder, when it lies inside the function folder (artifact path).
    pub output_folder: Option<String>,
    pub warnings: Vec<String>,
    /// What the files say about the platform they need; verify judges it.
    pub platform: PlatformFacts,
    /// What only the function's ecosystem knows.
    pub ecosystem: EcosystemInventory,
    /// How many files scan read for what it derives from their contents, and how many it
    /// took from the cache instead (`scan::memo`).
    pub scan_cache: ScanCacheStats,
}

/// Files whose contents scan read for the facts it remembers, and files whose facts it took
/// from the cache without opening them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ScanCacheStats {
    pub files_read: usize,
    pub files_reused: usize,
}

/// What files say about the platform they need, read from their headers and metadata by scan:
/// what verify judges before a zip exists (`scan`), as it judges the zip's entries after.
#[derive(Debug, Clone, Default)]
pub struct PlatformFacts {
    /// Binaries (index into `Inventory::files`) and what their first bytes say.
    pub binaries: Vec<(usize, crate::lambda::binary::Format)>,
    /// `*.dist-info/WHEEL` files (index into `Inventory::files`) and their tags, expanded
    /// (`py3-none-any`).
    pub wheels: Vec<(usize, Vec<String>)>,
}

/// What only one ecosystem's scan finds.
#[derive(Debug, Clone)]
pub enum EcosystemInventory {
    Node(Box<NodeInventory>),
    Python(Box<PythonInventory>),
    Custom(Box<CustomInventory>),
}

/// What only a custom-runtime function has.
#[derive(Debug, Clone)]
pub struct CustomInventory {
    /// Index into `Inventory::files` of the executable, which ships as `bootstrap`.
    pub bootstrap: usize,
    /// What the executable is and needs; `None` when it is no ELF binary (a script).
    pub facts: Option<crate::custom::elf::BinaryFacts>,
    /// Where the executable is in the function folder (`target/lambda/orders/bootstrap`).
    pub source: String,
}

/// What only a Node.js function has.
#[derive(Debug, Clone, Default)]
pub struct NodeInventory {
    /// The function's own `package.json`.
    pub manifest: Manifest,
    /// The root package's declared dependencies, resolved.
    pub dependencies: Vec<Dependency>,
    /// Installed packages a package's code names in a string literal (`require(NAME)` with
    /// `const NAME = "js-yaml"`, as `config` loads its parsers), beyond its declared
    /// dependencies: a kept package keeps them.
    pub named: Vec<NamedReference>,
    /// The file-level trace, when `--shake files` asked for one.
    pub trace: Option<Trace>,
}

impl Inventory {
    /// A Node.js function's own facts.
    pub fn node(&self) -> Option<&NodeInventory> {
        match &self.ecosystem {
            EcosystemInventory::Node(node) => Some(node),
            _ => None,
        }
    }

    /// A Python function's own facts.
    pub fn python(&self) -> Option<&PythonInventory> {
        match &self.ecosystem {
            EcosystemInventory::Python(python) => Some(python),
            _ => None,
        }
    }

    /// The file-level trace (`--shake files`), when the ecosystem has one.
    pub fn trace(&self) -> Option<&Trace> {
        match &self.ecosystem {
            EcosystemInventory::Node(node) => node.trace.as_ref(),
            EcosystemInventory::Python(python) => python.trace.as_ref(),
            EcosystemInventory::Custom(_) => None,
        }
    }
}

/// What scan learned about a Python function beyond files and packages.
#[derive(Debug, Clone, Default)]
pub struct PythonInventory {
    /// Where the installed distributions were read from, as the user would name it
    /// (`package`, `.venv/lib/python3.12/site-packages`, an absolute `--site-packages`), or
    /// `None` when none were found.
    pub site_packages: Option<String>,
    /// Facts about single files, keyed by index into `Inventory::files`.
    pub files: BTreeMap<usize, PythonFile>,
    /// Extras the function's own `requirements.txt` asks for, by normalised distribution name.
    pub requested_extras: BTreeMap<String, BTreeSet<String>>,
    /// `.py` files of the user's code the handler does not load (by import, or by a module
    /// name in a string, followed from the handler): their imports keep no distribution. Empty
    /// when every file counts (see `Imports::notes` for why).
    pub unloaded: BTreeSet<usize>,
    /// `--shake files` (and `scan`): the modules the handler loads.
    pub trace: Option<Trace>,
    /// `--shake files` (and `scan`): the AWS services the reached code names to SDK clients.
    pub services: Option<Services>,
}

/// The AWS services a function's reached code creates SDK clients for.
#[derive(Debug, Clone, Default)]
pub struct Services {
    /// Named by string literals (`boto3.client("dynamodb")`), sorted.
    pub named: BTreeSet<String>,
    /// `file:line: code` of clients whose service name is computed, outside the SDK's own
    /// code (which passes the caller's name on); any one keeps every model.
    pub computed: Vec<String>,
}

/// What scan read from one file of a Python function.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PythonFile {
    /// Absolute dotted modules a `.py` file imports (relative imports resolved), limited to
    /// names whose top level exists in the artifact; string literals passed to an import
    /// helper (`importlib.import_module("x")`) count.
    pub imports: Vec<String>,
    /// Imports with a name lamina cannot know (`import_module(name)`): `line: code`.
    pub dynamic: Vec<String>,
    /// Parallel to `dynamic`: the module each computed name is known to lie within, if any.
    pub dynamic_within: Vec<Option<String>>,
    /// The user's code: string literals shaped like a module path whose top level exists in
    /// the artifact (`"mysite.settings"`): a framework may load them by that name.
    pub names: Vec<String>,
    /// The user's code: changes to the module search path (`sys.path.insert(..)`): `line: code`.
    pub path_changes: Vec<String>,
    /// The user's code: imports run as the module loads (`(module, line, guarded)`) that
    /// nothing satisfies: not in the artifact, not the standard library, not the runtime's.
    pub missing: Vec<(String, usize, bool)>,
    /// The user's code: imports run as the module loads that only the runtime provides
    /// (boto3 not installed): reported, as their version is the runtime's.
    pub runtime_only: Vec<(String, usize, bool)>,
    /// A `.pyc` file's header.
    pub pyc: Option<Pyc>,
    /// A console script whose `#!` names the interpreter of the machine it was installed on.
    pub foreign_shebang: bool,
    /// A binary (extension module, shared library), as its header says.
    pub native: Option<crate::lambda::binary::Format>,
    /// An ELF extension module `--strip` may touch: the bytes of its debug sections.
    pub debug_bytes: Option<u64>,
    /// An extension module, when traced: the modules its compiled code names (the tracer's
    /// only; shake's closure reads `imports`).
    pub binary_imports: Vec<String>,
    /// AWS services named to an SDK client (`boto3.client("dynamodb")`).
    pub services: Vec<String>,
    /// SDK client calls whose service name is computed: `line: code`.
    pub computed_services: Vec<String>,
    /// Calls of APIs that `data/packages.toml` says read a distribution's data files.
    pub api_calls: Vec<String>,
    /// Modules of `from X import *` whose top level is in the artifact.
    pub stars: Vec<String>,
    /// Literal names of the module's `__all__`: what a star import of it may load.
    pub all_names: Vec<String>,
    /// Gets a module-level `__getattr__` (PEP 562) made elsewhere (`lazy_loader.attach`): loads
    /// submodules by names it computes.
    pub lazy: bool,
    /// Loads code by names it does not hold (`pkgutil.iter_modules`, entry points, `exec` of a
    /// file): `line: code`.
    pub loaders: Vec<String>,
}

/// The header of a compiled Python file and how it relates to its source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pyc {
    /// The first four bytes: which Python wrote it.
    pub magic: [u8; 4],
    /// PEP 552 flags: 0 timestamp-based, 1 unchecked hash, 3 checked hash.
    pub flags: u32,
    /// `…/__pycache__/NAME.TAG.pyc` (rather than a sourceless `NAME.pyc` beside other modules).
    pub in_pycache: bool,
    /// An `opt-1`/`opt-2` pyc, only read under `python -O`.
    pub optimized: bool,
    /// Index of the `.py` it was compiled from, when that file exists.
    pub source: Option<usize>,
    /// A timestamp-based pyc whose recorded source mtime or size no longer matches the source.
    pub stale: bool,
    /// The SipHash of its source under its magic (`pyc::source_hash`), when it is in
    /// `__pycache__` and its source exists: what a rewritten header holds.
    pub source_hash: Option<[u8; 8]>,
}

impl Inventory {
    pub fn package(&self, id: PackageId) -> &Package {
        &self.packages[id.0]
    }

    pub fn input_bytes(&self) -> u64 {
        self.files.iter().map(|file| file.bytes).sum()
    }
}

/// How much shake removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ShakeMode {
    /// Package-level closure, unused dependencies and junk rules.
    #[default]
    Deps,
    /// Ship the folder as it is (only lamina's own output folder is left out).
    None,
    /// Node: `deps`, then only the files reached by tracing imports from the handler, except in
    /// packages that do something the tracer cannot follow, which are kept whole.
    Files,
}

/// `build --python-bytecode`: what a Python module ships as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Bytecode {
    /// The `.py` and its pyc (rewritten as an unchecked-hash pyc): what pip installed.
    #[default]
    Both,
    /// A distribution's module with a valid pyc for the target Python ships as that pyc in
    /// the module's place (`x.pyc` where `x.py` was) and without its source; the user's code
    /// keeps its source.
    Sourceless,
    /// Sources only: no pyc whose source ships (`py/bytecode-source`).
    Source,
}

/// How hard deflate works.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Compression {
    /// zlib level 1.
    Fast,
    /// zlib level 6, as `zip -6`.
    #[default]
    Default,
    /// zopfli: the smallest plain deflate, many times slower.
    Max,
}

/// What a package is to the function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PackageClass {
    /// Reachable from the root `dependencies` through an import of the user's code.
    Production,
    /// A root dependency no file of the user's code imports, or only needed by one.
    Unused,
    /// Only reachable through `devDependencies`.
    Dev,
    /// Installed, reachable from nothing.
    Extraneous,
    /// Shipped by the Lambda runtime (`@aws-sdk/*`, `@smithy/*`).
    RuntimeProvided,
}

impl PackageClass {
    pub const ALL: [PackageClass; 5] = [
        PackageClass::Production,
        PackageClass::Unused,
        PackageClass::Dev,
        PackageClass::Extraneous,
        PackageClass::RuntimeProvided,
    ];

    pub fn label(self) -> &'static str {
        match self {
            PackageClass::Production => "production",
            PackageClass::Unused => "unused",
            PackageClass::Dev => "dev",
            PackageClass::Extraneous => "extraneous",
            PackageClass::RuntimeProvided => "runtime-provided",
        }
    }
}

/// Why a file or package is kept or dropped: a rule id or a reachability fact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// The user's own code or asset.
    UserCode,
    /// Under `node_modules`, but in no package: kept, never silently dropped.
    Unowned,
    /// Kept package: what makes it needed.
    Needed(String),
    /// Dropped package: a reachability fact (`dev-dependency`, `unused: ...`).
    Unneeded(String),
    /// Dropped file: the id of the rule that matched (`junk/markdown`).
    Rule(&'static str),
    /// The file belongs to a kept package and no rule drops it.
    InKeptPackage,
    /// The file belongs to a dropped package.
    PackageDropped,
    /// `--shake none`.
    NotShaken,
    /// Needed, and shipped in this shared layer instead of the function's zip.
    Layer(String),
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::UserCode => f.write_str("user code"),
            Reason::Unowned => f.write_str("unowned: among the dependencies but in no package"),
            Reason::Needed(why) | Reason::Unneeded(why) => f.write_str(why),
            Reason::Rule(id) => f.write_str(id),
            Reason::InKeptPackage => f.write_str("in a kept package"),
            Reason::PackageDropped => f.write_str("package dropped"),
            Reason::NotShaken => f.write_str("--shake none"),
            Reason::Layer(name) => write!(f, "in layer {name}"),
        }
    }
}

/// Keep or drop, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub keep: bool,
    pub reason: Reason,
}

/// What shake decided about one package.
#[derive(Debug, Clone)]
pub struct PackageDecision {
    pub class: PackageClass,
    pub keep: bool,
    pub reason: Reason,
}

/// Shake's output: a decision for every file and package of an Inventory.
#[derive(Debug, Clone)]
pub struct Plan {
    pub mode: ShakeMode,
    /// Parallel to `Inventory::files`.
    pub files: Vec<Decision>,
    /// Parallel to `Inventory::packages`.
    pub packages: Vec<PackageDecision>,
    pub notes: Vec<String>,
    /// What only the function's ecosystem decides.
    pub ecosystem: EcosystemPlan,
}

/// What only one ecosystem's shake decides.
#[derive(Debug, Clone)]
pub enum EcosystemPlan {
    Node {
        /// `--shake files`: how each kept package was treated.
        traced: BTreeMap<PackageId, Traced>,
    },
    Python {
        /// Kept pycs (indices into `Inventory::files`) that package rewrites as
        /// unchecked-hash pycs (PEP 552), so they stay valid in a zip without timestamps.
        rewrite_pycs: Vec<usize>,
        /// `--shake files`: how each kept distribution was treated.
        traced: BTreeMap<PackageId, Traced>,
    },
    Custom {
        /// Package strips the bootstrap's debug information.
        strip_debug: bool,
    },
}

/// How `--shake files` treated one kept package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Traced {
    /// Only the files reached from the handler ship.
    Files,
    /// Every file ships (junk rules aside): why, with the file and line.
    Whole(String),
}

impl Plan {
    /// `--shake files`: how a kept package was treated, when the ecosystem traces.
    pub fn traced(&self, id: PackageId) -> Option<&Traced> {
        match &self.ecosystem {
            EcosystemPlan::Node { traced } | EcosystemPlan::Python { traced, .. } => {
                traced.get(&id)
            }
            _ => None,
        }
    }

    /// Files that moved to a layer: the function's package stage no longer touches them.
    pub fn moved_to_layer(&mut self, moved: &BTreeSet<usize>) {
        if let EcosystemPlan::Python { rewrite_pycs, .. } = &mut self.ecosystem {
            rewrite_pycs.retain(|file| !moved.contains(file));
        }
    }

    /// Kept pycs package rewrites (Python).
    pub fn rewrite_pycs(&self) -> &[usize] {
        match &self.ecosystem {
            EcosystemPlan::Python { rewrite_pycs, .. } => rewrite_pycs,
            _ => &[],
        }
    }

    pub fn kept_bytes(&self, inventory: &Inventory) -> u64 {
        inventory
            .files
            .iter()
            .zip(&self.files)
            .filter(|(_, decision)| decision.keep)
            .map(|(file, _)| file.bytes)
            .sum()
    }
}

/// A zip that package wrote.
#[derive(Debug, Clone)]
pub struct Artifact {
    pub path: PathBuf,
    pub sha256: String,
    pub zipped_bytes: u64,
    pub entries: usize,
    pub stats: PackageStats,
}

/// How packaging went: cache use, and what `--compression max` saved.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PackageStats {
    pub compression: Compression,
    pub cache_hits: usize,
    pub cache_misses: usize,
    /// Compressed bytes of the entries compressed in memory (files up to 64 MiB).
    pub compressed_bytes: u64,
    /// With `max`: the same entries at the default level (0 otherwise).
    pub default_level_bytes: u64,
    /// Wall time of writing the zip (without the default-level comparison of `max`).
    pub seconds: f64,
    /// Processor time (user and system, every thread) of writing the zip, with the comparison
    /// of `max`, from the process's CPU-time clock. Always given by lamina today; `None` stays
    /// in the format for a system without such a clock.
    pub cpu_seconds: Option<f64>,
    /// The zip already at the artifact's path was the one this build makes, byte for byte (a
    /// rebuild of unchanged files with the same settings): it was left as it is, and nothing
    /// was compressed, read from the cache or written. `compressed_bytes` and
    /// `default_level_bytes` are those of the build that wrote it.
    pub left_in_place: bool,
}

/// Whether a failed check fails the build or only warns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Error,
    Warning,
}

/// How a zip reaches Lambda: a direct upload is held to the 50 MiB zipped limit, a zip uploaded
/// to S3 first is not (its unzipped limit still holds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Upload {
    #[default]
    Direct,
    S3,
}

/// One problem verify found in an artifact; `id` is listed in `docs/rules.md`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub id: &'static str,
    pub severity: Severity,
    /// The entry it concerns, as named in the zip; `None` when it concerns the whole artifact.
    pub entry: Option<String>,
    pub message: String,
    /// What to do about it.
    pub fix: &'static str,
}

/// One limit checked against one artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LimitResult {
    /// `zipped`, `unzipped`, `console_editor`, ...
    pub id: &'static str,
    pub limit: u64,
    pub actual: u64,
    pub ok: bool,
    pub severity: Severity,
}

/// What verify read from a zip.
#[derive(Debug, Clone)]
pub struct Verification {
    pub zipped_bytes: u64,
    /// Sum of the uncompressed sizes of file entries, from the central directory.
    pub unzipped_bytes: u64,
    pub entries: usize,
    pub limits: Vec<LimitResult>,
    /// Every problem found, limits included, sorted by entry and id.
    pub findings: Vec<Finding>,
}

impl Verification {
    /// No limit and no finding with error severity failed.
    pub fn ok(&self) -> bool {
        self.limits
            .iter()
            .all(|limit| limit.ok || limit.severity == Severity::Warning)
            && self
                .findings
                .iter()
                .all(|finding| finding.severity == Severity::Warning)
    }
}

/// The first five of `items`, comma-separated, and `…` when there are more: for notes that
/// name a few examples of many.
pub fn first_few(items: &[&str]) -> String {
    let shown = items[..items.len().min(5)].join(", ");
    if items.len() > 5 {
        format!("{shown}, …")
    } else {
        shown
    }
}

/// `1234567` → `1.2 MiB`: sizes in binary units, as Lambda's limits are.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod byte_tests {
    use super::human_bytes;

    #[test]
    fn bytes_read_as_binary_units() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(52_428_800), "50.0 MiB");
        assert_eq!(human_bytes(3_145_728), "3.0 MiB");
    }
}
