//! The command line: clap structs only, the one place that knows clap.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use lamina::config::project::LayerMode;
use lamina::model::{Arch, Bytecode, Compression, ShakeMode, Upload};

#[derive(Debug, Parser)]
#[command(
    name = "lamina",
    version,
    about = "Slims AWS Lambda deployment artifacts"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show where a function's bytes are and what could go, without writing anything.
    Scan(CommonArgs),
    /// Slim each function and write OUT/<function>.zip and OUT/report.json.
    Build(BuildArgs),
    /// Plan a sharded build: scan and shake every function and plan the shared layers once,
    /// and write the plan (JSON) that `build --plan PLAN --only NAME` builds one output from,
    /// on any machine. Writes no zip.
    Plan(PlanArgs),
    /// Check Lambda zips (any tool's) and their layers before deploy; never extracts them.
    Check(CheckArgs),
    /// Say what keeps a package or file in a function's artifact, or what drops it. Exits 0
    /// when it is found, 1 when the function has no such package or file, 2 on bad input.
    Why(WhyArgs),
    /// Count the CloudFormation resources a SAM template or serverless.yml deploys (after the
    /// SAM transform or the framework's compilation), per function and event; warn from 400,
    /// exit 1 over CloudFormation's 500 per stack.
    Stack(StackArgs),
    /// Print the completion script for a shell (bash, zsh, fish, elvish, powershell).
    Completions(CompletionsArgs),
    /// Print lamina's man page (roff).
    Man,
}

#[derive(Debug, Args)]
pub struct StackArgs {
    /// AWS SAM templates (template.yaml) or Serverless Framework services (serverless.yml).
    #[arg(required = true, value_name = "TEMPLATE")]
    pub templates: Vec<PathBuf>,
    /// Print the JSON report on stdout instead of the human summary (`--format json`).
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// How to print the report: `text`, `json`, or `markdown`.
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// The completion script of `shell` for lamina's command line.
pub fn completions(shell: clap_complete::Shell) -> Vec<u8> {
    let mut command = <Cli as clap::CommandFactory>::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut command, "lamina", &mut out);
    out
}

/// lamina's man page, in roff.
pub fn man_page() -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    clap_mangen::Man::new(<Cli as clap::CommandFactory>::command()).render(&mut out)?;
    Ok(out)
}

/// `KEY=VALUE`.
fn parse_key_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
        _ => Err(format!("{text:?} is not KEY=VALUE")),
    }
}

#[derive(Debug, Args)]
pub struct WhyArgs {
    /// A package name (`express`, `@aws-sdk/client-s3`) or a file's path inside the artifact
    /// (`node_modules/express/lib/view.js`).
    #[arg(value_name = "PACKAGE|FILE")]
    pub target: String,
    /// The function folder.
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
    /// Lambda handler, as for `build` (`src/index.handler`, `app.handler`).
    #[arg(long, value_name = "FILE.EXPORT")]
    pub handler: Option<String>,
    /// Lambda runtime identifier, as for `build`.
    #[arg(long, value_name = "RUNTIME")]
    pub runtime: Option<String>,
    /// Explain the decisions of this shake mode.
    #[arg(long, value_enum, default_value_t = ShakeArg::Deps)]
    pub shake: ShakeArg,
    /// Explain the decisions made when the runtime's SDK is dropped.
    #[arg(long)]
    pub drop_runtime_sdk: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Function zips.
    #[arg(required = true, value_name = "ZIP")]
    pub zips: Vec<PathBuf>,
    /// A layer zip attached to every function; repeat in attach order.
    #[arg(long = "layer", value_name = "ZIP")]
    pub layers: Vec<PathBuf>,
    /// Lambda runtime identifier (nodejs18.x to nodejs24.x, python3.9 to python3.13,
    /// provided.al2, provided.al2023). Default: inferred from the zips.
    #[arg(long, value_name = "RUNTIME")]
    pub runtime: Option<String>,
    /// Instruction set of the functions.
    #[arg(long, value_enum, default_value_t = ArchArg::X86_64)]
    pub arch: ArchArg,
    /// How the zips reach Lambda: `direct` is held to the 50 MiB zipped limit, `s3` only warns.
    #[arg(long, value_enum, default_value_t = UploadArg::Direct)]
    pub upload: UploadArg,
    /// Lambda handler (`index.handler`): checks that its file is where the runtime looks.
    #[arg(long, value_name = "FILE.EXPORT")]
    pub handler: Option<String>,
    /// Print the JSON report on stdout instead of the human summary (`--format json`).
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// How to print the report: `text`, `json`, or `markdown` (tables for a CI job summary).
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum UploadArg {
    Direct,
    S3,
}

#[derive(Debug, Args)]
pub struct CommonArgs {
    /// Function folders: Node.js (package.json and its installed node_modules) or Python (a
    /// handler .py and its dependencies in package/, a .venv, --site-packages or beside it);
    /// a folder with lamina.toml; an AWS SAM template.yaml or a serverless.yml.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Lambda handler, as in the function's configuration: `src/index.handler` means
    /// src/index.{js,mjs,cjs} for Node, `app.handler` means app.py for Python. Default:
    /// package.json main, then index/handler/app (Node); lambda_function.py, app.py,
    /// handler.py, index.py, main.py (Python).
    #[arg(long, value_name = "FILE.EXPORT")]
    pub handler: Option<String>,
    /// Lambda runtime identifier (nodejs18.x to nodejs24.x, python3.9 to python3.13).
    /// Python default: the version the installed files were built for, else python3.12.
    /// Default: from package.json engines.node, else nodejs22.x.
    #[arg(long, value_name = "RUNTIME")]
    pub runtime: Option<String>,
    /// Instruction set of the function.
    #[arg(long, value_enum, default_value_t = ArchArg::X86_64)]
    pub arch: ArchArg,
    /// Print the JSON report on stdout instead of the human summary (`--format json`).
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// How to print the report: `text`, `json`, or `markdown` (tables for a CI job summary or
    /// a pull-request comment).
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// Report (scan) or drop (build) the packages the runtime ships (@aws-sdk/*, @smithy/*;
    /// boto3, botocore, s3transfer, jmespath, python-dateutil, six, urllib3).
    #[arg(long)]
    pub drop_runtime_sdk: bool,
    /// Python: the folder the dependencies are installed in (`pip install --target DIR`),
    /// when it is not package/, a .venv or the function folder.
    #[arg(long, value_name = "DIR")]
    pub site_packages: Option<PathBuf>,
    /// Let links lead into this folder although it is outside the project (the git work tree
    /// or workspace the function is in); repeat for several. Without it such a link is an
    /// error: lamina reads and ships nothing outside the project.
    #[arg(long, value_name = "PATH")]
    pub allow_outside: Vec<PathBuf>,
}

/// The settings that decide what a plan holds: `plan` records them, and `build --plan`
/// must be given the same.
#[derive(Debug, Args)]
pub struct PlanningArgs {
    /// What to remove: `deps` drops dev, unused and extraneous packages and junk files;
    /// `files` also drops the files of kept packages (Node) or distributions (Python) that no
    /// import from the handler reaches, keeping whole any that loads code in ways it cannot
    /// follow;
    /// `none` ships the folder as installed.
    #[arg(long, value_enum, default_value_t = ShakeArg::Deps)]
    pub shake: ShakeArg,
    /// `auto` moves packages several functions keep byte for byte into shared layers
    /// (OUT/layers/); `none` ships each function whole. Default: lamina.toml's [layers] mode,
    /// `auto` for a SAM or Serverless template, `none` for function folders.
    #[arg(long, value_enum)]
    pub layers: Option<LayersArg>,
    /// Python: generate unchecked-hash pycs (PEP 552) for shipped .py files that have none for
    /// the target Python, with a local python3.X of that version (else a note says so).
    #[arg(long)]
    pub compile: bool,
    /// Python: strip debug symbols (`strip --strip-debug`) from copies of the extension
    /// modules that ship (never under *.libs/), when `strip` is on PATH.
    #[arg(long)]
    pub strip: bool,
    /// Python: `both` (source and pyc), `sourceless` (a dependency's pyc as `x.pyc` in
    /// place of `x.py`; no source lines in tracebacks) or `source` (no pycs; slower imports).
    #[arg(long, value_enum, value_name = "MODE", default_value_t = BytecodeArg::Both)]
    pub python_bytecode: BytecodeArg,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// The plan file to write (atomically). Keep it outside the function folders, or name it
    /// `.lamina-*`: a file inside a function folder would be packed.
    #[arg(long, value_name = "PLAN.json", default_value = "lamina-plan.json")]
    pub out: PathBuf,
    /// Also write, for each function and layer of the plan, `DIR/NAME.key`: the SHA-256 of
    /// everything in the plan its `build --plan --only NAME` depends on, to key a CI cache by
    /// (it changes only when that output's bytes can).
    #[arg(long, value_name = "DIR")]
    pub keys: Option<PathBuf>,
    #[command(flatten)]
    pub planning: PlanningArgs,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Output folder.
    #[arg(long, value_name = "DIR", default_value = "lamina-out")]
    pub out: PathBuf,
    /// Build from this plan (`lamina plan`) instead of planning: the functions and layers it
    /// lists, each input file checked against the plan's SHA-256 (a changed one is an error).
    /// Give the same PATH and planning flags as to `lamina plan`.
    #[arg(long, value_name = "PLAN.json")]
    pub plan: Option<PathBuf>,
    /// With --plan: build only this function or layer (a name the plan lists); repeat, or
    /// separate names with commas. Its report is OUT/reports/<NAME>.json.
    #[arg(long, value_name = "NAME", requires = "plan", value_delimiter = ',')]
    pub only: Vec<String>,
    #[command(flatten)]
    pub planning: PlanningArgs,
    /// Deflate effort: `fast` (libdeflate level 1), `default` (libdeflate level 7), `max`
    /// (zopfli: smallest plain deflate, many times slower; for artifacts near the 50 MiB
    /// limit). Files over 64 MiB are streamed through zlib at level 1, 6 or 9.
    #[arg(long, value_enum, default_value_t = CompressionArg::Default)]
    pub compression: CompressionArg,
    /// Do not read or write the cache of compressed entries (LAMINA_CACHE_DIR, else
    /// ~/.cache/lamina).
    #[arg(long)]
    pub no_cache: bool,
    /// How the zips reach Lambda: `direct` is held to the 50 MiB zipped limit, `s3` only warns.
    #[arg(long, value_enum, default_value_t = UploadArg::Direct)]
    pub upload: UploadArg,
    /// Load the handler from the built zip with the local node/python3, laid out as Lambda
    /// does and isolated from this machine's packages; a failure the unslimmed input does not
    /// share fails the build (exit 1), one it shares is a warning.
    #[arg(long)]
    pub smoke: bool,
    /// With --smoke: also invoke the handler with the JSON event in FILE, with a Lambda
    /// context and callback, and show its result.
    #[arg(long, value_name = "FILE")]
    pub smoke_event: Option<PathBuf>,
    /// With --smoke: an environment variable for the handler (repeatable); added to the
    /// function's environment from lamina.toml or the template.
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub smoke_env: Vec<(String, String)>,
    /// With --smoke: seconds the handler may take to load and answer; then it and everything
    /// it started are ended and the smoke test fails.
    #[arg(long, value_name = "SECONDS", default_value_t = lamina::smoke::DEFAULT_TIMEOUT_SECONDS)]
    pub smoke_timeout: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BytecodeArg {
    Both,
    Sourceless,
    Source,
}

impl From<BytecodeArg> for Bytecode {
    fn from(bytecode: BytecodeArg) -> Bytecode {
        match bytecode {
            BytecodeArg::Both => Bytecode::Both,
            BytecodeArg::Sourceless => Bytecode::Sourceless,
            BytecodeArg::Source => Bytecode::Source,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LayersArg {
    Auto,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Text,
    Json,
    Markdown,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CompressionArg {
    Fast,
    Default,
    Max,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ArchArg {
    #[value(name = "x86_64")]
    X86_64,
    #[value(name = "arm64")]
    Arm64,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ShakeArg {
    Deps,
    None,
    Files,
}

impl From<ArchArg> for Arch {
    fn from(arch: ArchArg) -> Arch {
        match arch {
            ArchArg::X86_64 => Arch::X86_64,
            ArchArg::Arm64 => Arch::Arm64,
        }
    }
}

impl From<UploadArg> for Upload {
    fn from(upload: UploadArg) -> Upload {
        match upload {
            UploadArg::Direct => Upload::Direct,
            UploadArg::S3 => Upload::S3,
        }
    }
}

impl From<ShakeArg> for ShakeMode {
    fn from(shake: ShakeArg) -> ShakeMode {
        match shake {
            ShakeArg::Deps => ShakeMode::Deps,
            ShakeArg::None => ShakeMode::None,
            ShakeArg::Files => ShakeMode::Files,
        }
    }
}

impl From<CompressionArg> for Compression {
    fn from(compression: CompressionArg) -> Compression {
        match compression {
            CompressionArg::Fast => Compression::Fast,
            CompressionArg::Default => Compression::Default,
            CompressionArg::Max => Compression::Max,
        }
    }
}

impl From<LayersArg> for LayerMode {
    fn from(layers: LayersArg) -> LayerMode {
        match layers {
            LayersArg::Auto => LayerMode::Auto,
            LayersArg::None => LayerMode::None,
        }
    }
}
