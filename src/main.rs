//! The `lamina` binary: parse arguments, build a Config, run, render the report, exit.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use lamina::cli::{ArchArg, Cli, Command, CommonArgs, CompressionArg, ShakeArg};
use lamina::config::{self, Config};
use lamina::model::{Arch, Compression, ShakeMode};

fn config(cli: Cli) -> Result<(Config, bool), lamina::Error> {
    let (command, common, out, shake, compression, no_cache) = match cli.command {
        Command::Scan(common) => (
            config::Command::Scan,
            common,
            "lamina-out".into(),
            ShakeArg::Deps,
            CompressionArg::Default,
            true,
        ),
        Command::Build(build) => (
            config::Command::Build,
            build.common,
            build.out,
            build.shake,
            build.compression,
            build.no_cache,
        ),
    };
    let common: CommonArgs = common;
    let runtime = common
        .runtime
        .as_deref()
        .map(config::parse_runtime)
        .transpose()?;
    let config = Config {
        command,
        paths: common.paths,
        handler: common.handler,
        runtime,
        arch: match common.arch {
            ArchArg::X86_64 => Arch::X86_64,
            ArchArg::Arm64 => Arch::Arm64,
        },
        out,
        shake: match shake {
            ShakeArg::Deps => ShakeMode::Deps,
            ShakeArg::None => ShakeMode::None,
        },
        drop_runtime_sdk: common.drop_runtime_sdk,
        compression: match compression {
            CompressionArg::Fast => Compression::Fast,
            CompressionArg::Default => Compression::Default,
            CompressionArg::Max => Compression::Max,
        },
        cache: if no_cache {
            None
        } else {
            config::default_cache_dir()
        },
    };
    Ok((config, common.json))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result =
        config(cli).and_then(|(config, json)| lamina::run(&config).map(|report| (report, json)));
    match result {
        Ok((report, json)) => {
            let text = if json {
                report.to_json()
            } else {
                report.to_text()
            };
            let _ = std::io::stdout().write_all(text.as_bytes());
            if report.ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(error) => {
            let _ = writeln!(anstream::stderr(), "error: {error}");
            ExitCode::from(2)
        }
    }
}
