//! The `lamina` binary: parse arguments, build a Config, run, render the report, exit.

use std::io::Write;
use std::process::ExitCode;

mod cli;

use clap::Parser;
use cli::{
    CheckArgs, Cli, Command, CommonArgs, CompressionArg, FormatArg, ShakeArg, UploadArg, WhyArgs,
};
use lamina::config::{self, CheckConfig, Config};

fn check_config(args: CheckArgs) -> Result<(CheckConfig, FormatArg), lamina::Error> {
    let runtime = args
        .runtime
        .as_deref()
        .map(config::parse_runtime)
        .transpose()?;
    let config = CheckConfig {
        zips: args.zips,
        layers: args.layers,
        runtime,
        arch: args.arch.into(),
        upload: args.upload.into(),
        handler: args.handler,
    };
    let format = match (args.format, args.json) {
        (Some(format), _) => format,
        (None, true) => FormatArg::Json,
        (None, false) => FormatArg::Text,
    };
    Ok((config, format))
}

fn config(cli: Cli) -> Result<(Config, FormatArg), lamina::Error> {
    let mut smoke = (
        false,
        None,
        Vec::new(),
        lamina::smoke::DEFAULT_TIMEOUT_SECONDS,
    );
    let mut layers = None;
    let mut python = (false, false, lamina::model::Bytecode::Both);
    let mut shard = (None, Vec::new());
    let mut keys = None;
    let (command, common, out, shake, compression, no_cache, upload_arg) = match cli.command {
        // `scan` reads the cache (scan's memo: what an earlier build derived from unchanged
        // files) and writes nothing in it.
        Command::Scan(common) => (
            config::Command::Scan,
            common,
            "lamina-out".into(),
            ShakeArg::Deps,
            CompressionArg::Default,
            false,
            UploadArg::Direct,
        ),
        Command::Build(build) => {
            smoke = (
                build.smoke,
                build.smoke_event,
                build.smoke_env,
                build.smoke_timeout,
            );
            let planning = build.planning;
            python = planning_python(&planning)?;
            layers = planning.layers.map(Into::into);
            shard = (build.plan, build.only);
            (
                config::Command::Build,
                build.common,
                build.out,
                planning.shake,
                build.compression,
                build.no_cache,
                build.upload,
            )
        }
        Command::Plan(plan) => {
            let planning = plan.planning;
            python = planning_python(&planning)?;
            layers = planning.layers.map(Into::into);
            keys = plan.keys;
            (
                config::Command::Plan,
                plan.common,
                plan.out,
                planning.shake,
                CompressionArg::Default,
                true,
                UploadArg::Direct,
            )
        }
        Command::Check(_)
        | Command::Why(_)
        | Command::Stack(_)
        | Command::Completions(_)
        | Command::Man => {
            unreachable!("main runs these separately")
        }
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
        arch: common.arch.into(),
        out,
        shake: shake.into(),
        drop_runtime_sdk: common.drop_runtime_sdk,
        site_packages: common.site_packages,
        compression: compression.into(),
        cache: if no_cache {
            None
        } else {
            config::default_cache_dir()
        },
        upload: upload_arg.into(),
        smoke: smoke.0,
        smoke_event: smoke.1,
        smoke_env: smoke.2,
        smoke_timeout: smoke.3,
        layers,
        compile: python.0,
        strip: python.1,
        bytecode: python.2,
        allow_outside: common.allow_outside,
        plan: shard.0,
        only: shard.1,
        keys,
    };
    let format = match (common.format, common.json) {
        (Some(format), _) => format,
        (None, true) => FormatArg::Json,
        (None, false) => FormatArg::Text,
    };
    Ok((config, format))
}

/// `lamina plan`'s summary: the file, then each name `build --only` accepts.
fn plan_summary(config: &Config, planned: &lamina::pipeline::Planned) -> String {
    let plan = &planned.plan;
    let mut text = format!(
        "{}: {} functions, {} layers\n",
        config.out.display(),
        plan.functions.len(),
        plan.layers.len()
    );
    for function in &plan.functions {
        let layers = if function.layers.is_empty() {
            String::new()
        } else {
            format!(" (layers {})", function.layers.join(", "))
        };
        text.push_str(&format!(
            "  function {}: {} files{layers}\n",
            function.name,
            function.files.len()
        ));
    }
    for layer in &plan.layers {
        text.push_str(&format!(
            "  layer {}: {} for {}\n",
            layer.name,
            layer.packages.join(", "),
            layer.functions.join(", ")
        ));
    }
    text
}

/// `--compile`, `--strip` and `--python-bytecode`, checked against each other.
fn planning_python(
    planning: &cli::PlanningArgs,
) -> Result<(bool, bool, lamina::model::Bytecode), lamina::Error> {
    if planning.compile && planning.python_bytecode == cli::BytecodeArg::Source {
        return Err(lamina::Error::Usage(
            "--compile makes pycs and --python-bytecode source ships none: choose one".to_string(),
        ));
    }
    Ok((
        planning.compile,
        planning.strip,
        planning.python_bytecode.into(),
    ))
}

/// `lamina why`: the explanation as text; exit 1 when nothing matches.
fn why(args: WhyArgs) -> Result<(String, bool), lamina::Error> {
    let runtime = args
        .runtime
        .as_deref()
        .map(config::parse_runtime)
        .transpose()?;
    let config = config::WhyConfig {
        path: args.path,
        target: args.target,
        handler: args.handler,
        runtime,
        shake: args.shake.into(),
        drop_runtime_sdk: args.drop_runtime_sdk,
    };
    let explanation = lamina::why(&config)?;
    Ok((explanation.lines.join("\n") + "\n", explanation.found))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // SIGINT, SIGTERM and SIGHUP remove this run's temporary files and exit 130, 143, 129.
    if let Err(error) = lamina::interrupt::install() {
        let _ = writeln!(
            anstream::stderr(),
            "warning: cannot handle signals ({error}); an interrupted build may leave temporary files"
        );
    }
    // Both reports render the same way: (JSON or text, ok).
    let result = match cli.command {
        Command::Completions(args) => Ok((
            String::from_utf8_lossy(&cli::completions(args.shell)).into_owned(),
            true,
        )),
        Command::Man => cli::man_page()
            .map(|page| (String::from_utf8_lossy(&page).into_owned(), true))
            .map_err(|error| lamina::Error::Usage(format!("cannot render the man page: {error}"))),
        Command::Check(args) => check_config(args).and_then(|(config, format)| {
            let report = lamina::check(&config)?;
            Ok((
                match format {
                    FormatArg::Json => report.to_json(),
                    FormatArg::Markdown => report.to_markdown(),
                    FormatArg::Text => report.to_text(),
                },
                report.ok,
            ))
        }),
        Command::Why(args) => why(args),
        Command::Stack(args) => lamina::stack(&args.templates).map(|report| {
            let format = match (args.format, args.json) {
                (Some(format), _) => format,
                (None, true) => FormatArg::Json,
                (None, false) => FormatArg::Text,
            };
            (
                match format {
                    FormatArg::Json => report.to_json(),
                    FormatArg::Markdown => report.to_markdown(),
                    FormatArg::Text => report.to_text(),
                },
                report.ok,
            )
        }),
        command @ Command::Plan(_) => config(Cli { command }).and_then(|(config, format)| {
            let planned = lamina::plan(&config)?;
            let text = match format {
                FormatArg::Json => planned.plan.to_json(),
                FormatArg::Text | FormatArg::Markdown => plan_summary(&config, &planned),
            };
            if !planned.over.is_empty() {
                let _ = writeln!(
                    anstream::stderr(),
                    "error: over Lambda's limits:\n  {}",
                    planned.over.join("\n  ")
                );
            }
            Ok((text, planned.over.is_empty()))
        }),
        command => config(Cli { command }).and_then(|(config, format)| {
            let report = lamina::run(&config)?;
            Ok((
                match format {
                    FormatArg::Json => report.to_json(),
                    FormatArg::Markdown => report.to_markdown(),
                    FormatArg::Text => report.to_text(),
                },
                report.ok,
            ))
        }),
    };
    match result {
        Ok((text, ok)) => {
            let _ = std::io::stdout().write_all(text.as_bytes());
            if ok {
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
