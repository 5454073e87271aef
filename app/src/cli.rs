//! Command-line arguments.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::commands::OutputFormat;

/// Check systems against profiles of controls, each observed by a sandboxed wasm plugin.
#[derive(Debug, Parser)]
#[command(name = "reglet", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Log level on stderr: error, warn, info, debug or trace.
    #[arg(
        long,
        global = true,
        default_value = "warn",
        value_name = "LEVEL",
        value_parser = ["error", "warn", "info", "debug", "trace"]
    )]
    pub log_level: String,
}

/// `--security`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SecurityArg {
    /// Deny broad grants.
    Strict,
    /// Ask about grants.
    Standard,
    /// Grant what is asked.
    Permissive,
}

/// `reglet check`'s arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct CheckArgs {
    /// The profile.
    #[arg(value_name = "PROFILE")]
    pub profile: PathBuf,
    /// Report format.
    #[arg(long, value_enum, default_value_t = crate::report::Format::Table)]
    pub format: crate::report::Format,
    /// Write the report to this file (atomically) instead of stdout.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also write a report in FORMAT to PATH (atomically); repeatable, e.g.
    /// `--report sarif=reglet.sarif --report junit=reglet.xml`.
    #[arg(long = "report", value_name = "FORMAT=PATH")]
    pub reports: Vec<crate::report::ReportTarget>,
    /// The whole run's time budget (e.g. 2m, 30s); 0 for none. Unfinished controls are reported
    /// as errors and the report is still written.
    #[arg(long, default_value = "2m", value_name = "DURATION")]
    pub timeout: String,
    /// Most controls running at once (default: the number of cores).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub parallelism: Option<u32>,
    /// Grant plugins what their controls need without asking.
    #[arg(long)]
    pub trust_plugins: bool,
    /// Security level, overriding the system config's.
    #[arg(long, value_enum)]
    pub security: Option<SecurityArg>,
    /// Run only controls with any of these tags.
    #[arg(long, value_delimiter = ',', value_name = "TAG")]
    pub tags: Vec<String>,
    /// Skip controls with any of these tags.
    #[arg(long, value_delimiter = ',', value_name = "TAG")]
    pub exclude_tags: Vec<String>,
    /// Run only controls of these severities (exact match).
    #[arg(long, value_delimiter = ',', value_name = "SEVERITY")]
    pub severity: Vec<String>,
    /// Run only these controls; every other filter is then ignored.
    #[arg(long, value_delimiter = ',', value_name = "ID")]
    pub control: Vec<String>,
    /// Skip these controls.
    #[arg(long, value_delimiter = ',', value_name = "ID")]
    pub exclude_control: Vec<String>,
    /// Run only controls for which this expression over id, name, severity, owner and tags is true.
    #[arg(long, value_name = "EXPR")]
    pub filter: Option<String>,
    /// Also run what the selected controls depend on.
    #[arg(long)]
    pub include_dependencies: bool,
    /// No colours, even on a terminal (NO_COLOR is honoured too).
    #[arg(long)]
    pub no_color: bool,
    /// Only errors on stderr: no progress, no warnings.
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Debug logs on stderr.
    #[arg(short, long)]
    pub verbose: bool,
    /// The system config (default: $XDG_CONFIG_HOME/reglet/config.yaml or ~/.reglet/config.yaml).
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Where saved grants are kept (default: grants.yaml beside the system config).
    #[arg(long, value_name = "PATH")]
    pub grants_file: Option<PathBuf>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the version, the wasmtime release plugins run on and the embedded built-in plugins
    /// with their sha256.
    Version,
    /// Explain capabilities: normalise them, show their risk, and report malformed ones.
    ///
    /// Takes Reglet's string forms, e.g. `network:outbound:443`, `fs:read:/etc/**`,
    /// `exec:/usr/bin/systemctl`, `env:AWS_*`.
    Capabilities {
        /// Capabilities to explain.
        #[arg(required = true, value_name = "CAPABILITY")]
        capabilities: Vec<String>,
        /// Print JSON (the Gen 2 grant-set shape plus the risk report) instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Check a profile without running it: YAML, keys, extends, vars, plugins (loaded, configs
    /// checked against their schemas), dependencies and every expectation; lists the grants each
    /// plugin needs with their risk. Exit code 0 when it could run, 2 when not.
    Validate {
        /// The profile.
        #[arg(value_name = "PROFILE")]
        profile: PathBuf,
        /// `text` (diagnostics on stderr, a summary on stdout) or `json` (one document on stdout).
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// Show what `check` would do without running anything: the profile resolved after extends
    /// and vars (secrets shown as <secret:name>, never read), the execution levels of the
    /// dependency graph, and the grants each plugin would be given with their risk.
    Plan {
        /// The profile.
        #[arg(value_name = "PROFILE")]
        profile: PathBuf,
        /// `text` or `json`.
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// Inspect plugins: built-in ones and local modules.
    Plugins {
        /// What to do.
        #[command(subcommand)]
        command: PluginsCommand,
    },
    /// Print a shell completion script, e.g. `reglet completions bash > /etc/bash_completion.d/reglet`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Run a profile: every control's observations through its sandboxed plugin, judged by its
    /// expectations. Exit code 0 when every control passed or was skipped, 1 when any failed or
    /// could not be judged, 2 when the run could not be done.
    Check(Box<CheckArgs>),
}

/// `reglet plugins` subcommands.
#[derive(Debug, Subcommand)]
pub enum PluginsCommand {
    /// List the embedded built-in plugins and local modules: name, version, ABI generation,
    /// declared capabilities, config fields and sha256.
    List {
        /// Also list the plugins this profile declares by path.
        #[arg(long, value_name = "PROFILE")]
        profile: Option<PathBuf>,
        /// Also list these modules (.wasm or .wat).
        #[arg(value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// `text` or `json`.
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// Show one plugin in full: description, capabilities with their risk, config schema fields
    /// with types, whether required and descriptions, and sha256.
    Info {
        /// An embedded built-in's name (e.g. `file`) or the path of a .wasm or .wat module.
        #[arg(value_name = "NAME|PATH")]
        plugin: String,
        /// `text` or `json`.
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
}
