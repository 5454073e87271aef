//! Command-line arguments.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Check systems against profiles of controls, each observed by a sandboxed wasm plugin.
#[derive(Debug, Parser)]
#[command(name = "reglet", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print version information.
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
    /// Check a profile without running it: YAML, keys, extends, vars, plugins, dependencies and
    /// every expectation. Prints every error with its file and line; exit code 2 if any.
    Validate {
        /// The profile.
        #[arg(value_name = "PROFILE")]
        profile: PathBuf,
    },
}
