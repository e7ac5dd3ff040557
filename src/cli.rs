//! The command line: clap structs only, the one place that knows clap.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

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
}

#[derive(Debug, Args)]
pub struct CommonArgs {
    /// Function folders (each with package.json and its installed node_modules).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Lambda handler, as in the function's configuration: `src/index.handler` means
    /// src/index.{js,mjs,cjs}. Default: package.json main, then index/handler/app.
    #[arg(long, value_name = "FILE.EXPORT")]
    pub handler: Option<String>,
    /// Lambda runtime identifier (nodejs18.x, nodejs20.x, nodejs22.x, nodejs24.x).
    /// Default: from package.json engines.node, else nodejs22.x.
    #[arg(long, value_name = "RUNTIME")]
    pub runtime: Option<String>,
    /// Instruction set of the function.
    #[arg(long, value_enum, default_value_t = ArchArg::X86_64)]
    pub arch: ArchArg,
    /// Print the JSON report on stdout instead of the human summary.
    #[arg(long)]
    pub json: bool,
    /// Report (scan) or drop (build) the packages the runtime ships (@aws-sdk/*, @smithy/*).
    #[arg(long)]
    pub drop_runtime_sdk: bool,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Output folder.
    #[arg(long, value_name = "DIR", default_value = "lamina-out")]
    pub out: PathBuf,
    /// What to remove: `deps` drops dev, unused and extraneous packages and junk files;
    /// `none` ships the folder as installed.
    #[arg(long, value_enum, default_value_t = ShakeArg::Deps)]
    pub shake: ShakeArg,
    /// Deflate effort: `fast` (level 1), `default` (level 6), `max` (zopfli: smallest plain
    /// deflate, many times slower; for artifacts near the 50 MiB limit).
    #[arg(long, value_enum, default_value_t = CompressionArg::Default)]
    pub compression: CompressionArg,
    /// Do not read or write the cache of compressed entries (LAMINA_CACHE_DIR, else
    /// ~/.cache/lamina).
    #[arg(long)]
    pub no_cache: bool,
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
}
