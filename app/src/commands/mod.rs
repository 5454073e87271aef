//! The subcommands' logic, one module per command, writing to any output so tests can read it.
//! `check` lives in [`crate::check`]. Commands that need plugins take a [`PluginExecutor`]: the
//! binary's composition root hands in the wasmtime runtime, tests may hand in a mock.
//!
//! [`PluginExecutor`]: reglet_ports::PluginExecutor

mod capabilities;
mod completions;
mod diagnostic;
pub mod plan;
mod plugins;
mod validate;
mod version;

use std::io::{self, Write};

use reglet_domain::RiskReport;
use serde_json::{Value, json};

pub use capabilities::capabilities;
pub use completions::completions;
pub use diagnostic::{Diagnostic, Level};
pub use plan::plan;
pub use plugins::{PluginReport, plugins_info, plugins_list};
pub use validate::validate;
pub use version::version;

use crate::preflight::PluginNeeds;

/// Exit code: success.
pub const EXIT_OK: u8 = 0;
/// Exit code: bad input (usage, configuration, profile).
pub const EXIT_USAGE: u8 = 2;

/// `--format` of the commands that print for people or for programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OutputFormat {
    /// Text for people.
    #[default]
    Text,
    /// One JSON document on stdout, for editors, pre-commit hooks and scripts.
    Json,
}

/// Writes `value` as pretty JSON and a newline.
fn write_json(out: &mut dyn Write, value: &Value) -> io::Result<()> {
    writeln!(
        out,
        "{}",
        serde_json::to_string_pretty(value).expect("JSON values serialise")
    )
}

/// Writes each risk factor on its own line, highest first, as `reglet capabilities` does.
fn write_risk_factors(out: &mut dyn Write, indent: &str, risk: &RiskReport) -> io::Result<()> {
    for factor in &risk.factors {
        // RiskLevel's Display ignores width, so pad its text.
        let level = factor.level.to_string();
        writeln!(
            out,
            "{indent}{level:<8} {}  ({})",
            factor.grant, factor.reason
        )?;
    }
    Ok(())
}

/// The grants section of `validate` and `plan`: each plugin, what it will be granted and the
/// risk of it.
fn write_grants(out: &mut dyn Write, needs: &[PluginNeeds]) -> io::Result<()> {
    writeln!(out, "grants needed:")?;
    if needs.is_empty() {
        writeln!(out, "  none: no plugin is used")?;
    }
    for n in needs {
        if n.needed.is_empty() {
            writeln!(out, "  {}: none", n.plugin.name)?;
            continue;
        }
        let risk = n.needed.risk();
        writeln!(out, "  {} (risk: {}):", n.plugin.name, risk.level)?;
        write_risk_factors(out, "    ", &risk)?;
    }
    Ok(())
}

/// The grants section as JSON: per plugin, its sha256, the grants and their risk.
fn grants_json(needs: &[PluginNeeds]) -> Value {
    Value::Array(
        needs
            .iter()
            .map(|n| {
                json!({
                    "plugin": n.plugin.name,
                    "sha256": n.plugin.sha256,
                    "capabilities": n.needed.to_strings(),
                    "risk": n.needed.risk(),
                })
            })
            .collect(),
    )
}
