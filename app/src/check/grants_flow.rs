//! Settling grants before a run: from what each plugin needs (worked out by
//! [`crate::preflight::vet`]), subtract what is saved, and ask for (or refuse) the rest.
//!
//! As in Reglet: `--trust-plugins` grants everything asked; without a TTY nothing is asked and
//! the run stops (here with the exact lines to add to `grants.yaml`); on a TTY, `strict` denies
//! broad grants, `permissive` grants everything, `standard` asks, showing the risk. Unlike
//! Reglet, "always" adds to `grants.yaml` and never touches the system config.

use std::io::{self, BufRead, Write};
use std::path::Path;

use reglet_domain::{GrantSet, RiskLevel};
use reglet_ports::PluginExecutor;

use crate::grants::{GrantEntry, GrantStore};
use crate::preflight::{LoadedPlugin, PluginNeeds};
use crate::system_config::SecurityLevel;

/// How grants may be given in this run.
#[derive(Debug, Clone, Copy)]
pub struct SecurityChoice {
    /// The security level in force.
    pub level: SecurityLevel,
    /// `--trust-plugins`.
    pub trust_plugins: bool,
    /// Whether a person can be asked.
    pub interactive: bool,
}

/// The answer to a grant prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// For this run.
    Once,
    /// For this run and later ones (saved in `grants.yaml`).
    Always,
    /// No: the run stops.
    Deny,
}

/// Asks a person about grants.
pub trait Prompter {
    /// Asks whether `plugin` may have `grants` (whose risk is `risk`). The grants come as
    /// display lines: secrets redacted, control characters escaped.
    ///
    /// # Errors
    /// The terminal could not be read or written.
    fn ask(&mut self, plugin: &str, grants: &[String], risk: RiskLevel) -> io::Result<Answer>;
}

/// Asks on the terminal: the question on stderr, the answer from stdin.
#[derive(Debug, Default)]
pub struct TerminalPrompter;

impl Prompter for TerminalPrompter {
    fn ask(&mut self, plugin: &str, grants: &[String], risk: RiskLevel) -> io::Result<Answer> {
        let mut err = io::stderr().lock();
        writeln!(err, "Plugin {plugin} asks for (risk: {risk}):")?;
        for g in grants {
            writeln!(err, "  {g}")?;
        }
        loop {
            write!(err, "Grant? [o]nce / [a]lways / [d]eny: ")?;
            err.flush()?;
            let mut line = String::new();
            if io::stdin().lock().read_line(&mut line)? == 0 {
                return Ok(Answer::Deny);
            }
            match line.trim().to_ascii_lowercase().as_str() {
                "o" | "once" | "y" | "yes" => return Ok(Answer::Once),
                "a" | "always" => return Ok(Answer::Always),
                "d" | "deny" | "n" | "no" => return Ok(Answer::Deny),
                _ => {}
            }
        }
    }
}

/// `text` with every control character escaped (`\u{1b}`), so a grant built from a profile's
/// config cannot move the cursor and rewrite what the person is asked.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Works out, asks for and gives each plugin its grants. False when the run must not go ahead
/// (denied, or missing without a person to ask); the reasons have been said through `say`.
///
/// # Errors
/// Writing through `say` or prompting failed.
pub(super) async fn settle(
    needs: &[PluginNeeds],
    executor: &dyn PluginExecutor,
    choice: &SecurityChoice,
    grants_file: Option<&Path>,
    prompter: &mut dyn Prompter,
    redact: &dyn Fn(&str) -> String,
    say: &mut dyn FnMut(String) -> io::Result<()>,
) -> io::Result<bool> {
    let mut store = match grants_file.map(GrantStore::load).transpose() {
        Ok(s) => s.unwrap_or_default(),
        Err(e) => {
            say(format!("error: {e}"))?;
            return Ok(false);
        }
    };
    let needs: Vec<(&LoadedPlugin, &GrantSet, GrantSet)> = needs
        .iter()
        .map(|n| {
            let saved = store.granted(n.plugin.name.as_str(), &n.plugin.sha256);
            (&n.plugin, &n.needed, n.needed.difference(&saved))
        })
        .collect();
    let mut missing_lines = Vec::new();
    let mut save = false;
    for (plugin, _, missing) in &needs {
        if missing.is_empty() {
            continue;
        }
        let risk = missing.risk().level;
        let broad = risk >= RiskLevel::High;
        if choice.trust_plugins {
            tracing::warn!(plugin = %plugin.name, grants = ?missing.to_strings(), "granted because of --trust-plugins");
            continue;
        }
        if !choice.interactive {
            missing_lines.push(GrantEntry {
                plugin: plugin.name.to_string(),
                sha256: plugin.sha256.clone(),
                capabilities: missing.to_strings(),
            });
            continue;
        }
        match (choice.level, broad) {
            (SecurityLevel::Strict, true) => {
                say(format!(
                    "error: plugin {} asks for broad grants ({}; risk {risk}) and the security level is strict",
                    plugin.name,
                    missing.to_strings().join(", ")
                ))?;
                return Ok(false);
            }
            (SecurityLevel::Permissive, _) => continue,
            _ => {}
        }
        let raw = missing.to_strings();
        let shown: Vec<String> = raw.iter().map(|g| printable(&redact(g))).collect();
        let holds_secret = raw.iter().any(|g| redact(g) != *g);
        match prompter.ask(plugin.name.as_str(), &shown, risk)? {
            Answer::Once => {}
            Answer::Always if holds_secret => {
                say(format!(
                    "warning: grants for plugin {} hold a secret, so they are given for this run \
                     only and not saved",
                    plugin.name
                ))?;
            }
            Answer::Always => {
                store.add(plugin.name.as_str(), &plugin.sha256, missing);
                save = true;
            }
            Answer::Deny => {
                say(format!(
                    "error: grants for plugin {} were denied",
                    plugin.name
                ))?;
                return Ok(false);
            }
        }
    }
    if !missing_lines.is_empty() {
        let file =
            grants_file.map_or_else(|| "grants.yaml".to_owned(), |p| p.display().to_string());
        say(format!(
            "error: plugins need grants that were not given, and there is no terminal to ask on.\n\
             Run again with --trust-plugins, or add these lines to {file}:\n\ngrants:\n{}",
            missing_lines
                .iter()
                .map(GrantEntry::to_yaml)
                .collect::<String>()
        ))?;
        return Ok(false);
    }
    if save && let Err(e) = store.save() {
        say(format!("warning: the grants were given but not saved: {e}"))?;
    }
    for (plugin, needed, _) in needs {
        if let Err(e) = executor.set_grants(&plugin.name, needed.clone()).await {
            say(format!(
                "error: cannot give plugin {} its grants: {e}",
                plugin.name
            ))?;
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests;
