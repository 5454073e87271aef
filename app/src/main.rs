//! The `reglet` binary: parses arguments and hands off to the command implementations.

mod compose;

use std::future::Future;
use std::io::{self, IsTerminal};
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use reglet::check::{self, CheckOptions, Filters, TerminalPrompter};
use reglet::cli::{CheckArgs, Cli, Command, PluginsCommand, SecurityArg};
use reglet::commands::{self, EXIT_USAGE};
use reglet::engine::EngineOptions;
use reglet::system_config::{SecurityLevel, SystemConfig};
use reglet_ports::PluginExecutor;

/// Allocation-heavy work (profiles, evidence, reports) runs markedly faster on mimalloc than on
/// glibc's malloc; `docs/performance.md` has the figures.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (mut out, mut err) = (io::stdout().lock(), io::stderr().lock());
    let result = match cli.command {
        Command::Version => commands::version(reglet_runtime::WASMTIME_VERSION, &mut out),
        Command::Capabilities { capabilities, json } => {
            commands::capabilities(&capabilities, json, &mut out, &mut err)
        }
        Command::Validate { profile, format } => with_plugins(move |executor| async move {
            commands::validate(&profile, format, &*executor, &mut out, &mut err).await
        }),
        Command::Plan { profile, format } => with_plugins(move |executor| async move {
            commands::plan(&profile, format, &*executor, &mut out, &mut err).await
        }),
        Command::Plugins { command } => match command {
            PluginsCommand::List {
                profile,
                paths,
                format,
            } => with_plugins(move |executor| async move {
                commands::plugins_list(
                    profile.as_deref(),
                    &paths,
                    format,
                    &*executor,
                    &mut out,
                    &mut err,
                )
                .await
            }),
            PluginsCommand::Info { plugin, format } => with_plugins(move |executor| async move {
                commands::plugins_info(&plugin, format, &*executor, &mut out, &mut err).await
            }),
        },
        Command::Completions { shell } => commands::completions(shell, &mut out),
        Command::Check(args) => {
            drop((out, err));
            run_check(&args, &cli.log_level)
        }
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        // Output that could not be written (a full disk behind stdout): the job was not done,
        // as when `-o FILE` cannot be written.
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn usage(message: impl std::fmt::Display) -> io::Result<u8> {
    eprintln!("error: {message}");
    Ok(EXIT_USAGE)
}

/// Runs a command that loads plugins but runs no control. It reads no system config (so no
/// secret can be read) and uses the default runtime settings: loading and describing a plugin
/// does not depend on them.
fn with_plugins<F, Fut>(command: F) -> io::Result<u8>
where
    F: FnOnce(Arc<dyn PluginExecutor>) -> Fut,
    Fut: Future<Output = io::Result<u8>>,
{
    let system = SystemConfig::default();
    let redactor = match compose::redactor(&system) {
        Ok(r) => r,
        Err(e) => return usage(e),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let services = match compose::services(&system, redactor, None) {
            Ok(s) => s,
            Err(e) => return usage(e),
        };
        command(services.executor).await
    })
}

fn run_check(args: &CheckArgs, log_level: &str) -> io::Result<u8> {
    let system = match &args.config {
        Some(path) => SystemConfig::load(path),
        None => SystemConfig::discover(),
    };
    let system = match system {
        Ok(s) => s,
        Err(diagnostics) => {
            for e in diagnostics.errors() {
                eprintln!("error: {e}");
            }
            return Ok(EXIT_USAGE);
        }
    };
    let redactor = match compose::redactor(&system) {
        Ok(r) => r,
        Err(e) => return usage(e),
    };
    let level = if args.quiet {
        "error"
    } else if args.verbose {
        "debug"
    } else {
        log_level
    };
    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(
            !args.no_color
                && io::stderr().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        )
        .with_writer(reglet_redaction::RedactingStderr::new(redactor.clone()))
        .init();
    for w in &system.warnings {
        tracing::warn!("{w}");
    }
    let timeout = match check::parse_timeout(&args.timeout) {
        Ok(t) => t,
        Err(e) => return usage(format!("--timeout: {e}")),
    };
    let mut severities = Vec::new();
    for s in &args.severity {
        match s.parse() {
            Ok(s) => severities.push(s),
            Err(e) => return usage(format!("--severity: {e}")),
        }
    }
    let mut engine = EngineOptions {
        timeout,
        ..EngineOptions::default()
    };
    if let Some(n) = args.parallelism {
        engine.parallelism = n as usize;
    }
    let grants_file = args.grants_file.clone().or_else(|| {
        reglet::grants::GrantStore::default_path(
            std::env::var_os("XDG_CONFIG_HOME")
                .map(std::path::PathBuf::from)
                .as_deref(),
            dirs::home_dir().as_deref(),
        )
    });
    // Two reports into one file would leave only the last one written.
    let mut targets: Vec<std::path::PathBuf> = Vec::new();
    for path in args
        .output
        .iter()
        .chain(args.reports.iter().map(|r| &r.path))
    {
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.clone());
        if targets.contains(&absolute) {
            return usage(format!(
                "{} is the destination of two reports (-o and --report must name different files)",
                path.display()
            ));
        }
        targets.push(absolute);
    }
    let options = CheckOptions {
        profile: args.profile.clone(),
        format: args.format,
        output: args.output.clone(),
        reports: args.reports.clone(),
        progress: !args.quiet && io::stderr().is_terminal(),
        quiet: args.quiet,
        color: !args.no_color
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            && io::stdout().is_terminal(),
        engine,
        trust_plugins: args.trust_plugins,
        security: args.security.map(|s| match s {
            SecurityArg::Strict => SecurityLevel::Strict,
            SecurityArg::Standard => SecurityLevel::Standard,
            SecurityArg::Permissive => SecurityLevel::Permissive,
        }),
        filters: Filters {
            controls: args.control.clone(),
            exclude_controls: args.exclude_control.clone(),
            tags: args.tags.clone(),
            exclude_tags: args.exclude_tags.clone(),
            severities,
            expression: args.filter.clone(),
            include_dependencies: args.include_dependencies,
        },
        grants_file,
        evidence_limit: system
            .max_evidence_size_bytes
            .and_then(|b| usize::try_from(b).ok())
            .unwrap_or(reglet::engine::evidence_limit::DEFAULT_EVIDENCE_LIMIT),
    };
    compose::size_pool_for(&options.engine);
    // One worker more than controls run at once: when every running control is stuck in a host
    // call, a free worker still drives the timers, the signals and the replacement runners.
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .max(options.engine.parallelism)
        + 1;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()?;
    let code = runtime.block_on(async {
        let services = match compose::services(&system, redactor, options.engine.timeout) {
            Ok(s) => s,
            Err(e) => return usage(e),
        };
        let (mut out, mut err) = (io::stdout(), io::stderr());
        check::check(
            &options,
            &system,
            services,
            &mut TerminalPrompter,
            check::signals(),
            &mut out,
            &mut err,
        )
        .await
    });
    // A worker the engine abandoned (a plugin stuck in the kernel past its deadline) must not
    // hold the process after the report is written.
    runtime.shutdown_background();
    code
}
