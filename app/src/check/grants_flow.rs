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
use crate::printable::printable;
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

/// Where grants given before are found.
#[derive(Debug, Clone, Copy)]
pub struct SavedGrants<'a> {
    /// `grants.yaml`, by plugin name and digest; "always" answers are added to it.
    pub file: Option<&'a Path>,
    /// What Reglet saved in the system config, for every plugin at once.
    pub reglet: &'a GrantSet,
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
    saved: SavedGrants<'_>,
    prompter: &mut dyn Prompter,
    redact: &dyn Fn(&str) -> String,
    say: &mut dyn FnMut(String) -> io::Result<()>,
) -> io::Result<bool> {
    let (grants_file, reglet_saved) = (saved.file, saved.reglet);
    let mut store = match grants_file.map(GrantStore::load).transpose() {
        Ok(s) => s.unwrap_or_default(),
        Err(e) => {
            say(format!("error: {e}"))?;
            return Ok(false);
        }
    };
    // What each plugin is given: what it needs, and the private-network switch when the user
    // saved it for this plugin (no config implies it, so it is never asked for).
    let needs: Vec<(&LoadedPlugin, GrantSet, GrantSet, &GrantSet)> = needs
        .iter()
        .map(|n| {
            let saved = store.granted(n.plugin.name.as_str(), &n.plugin.sha256);
            let given = if saved.allows_private_networks() {
                n.needed.merge(&private_networks())
            } else {
                n.needed.clone()
            };
            // What Reglet's own config saved counts as given too (never the private switch,
            // which Reglet saved for every plugin at once).
            let missing = n.needed.difference(&saved).difference(reglet_saved);
            (&n.plugin, given, missing, &n.from_secrets)
        })
        .collect();
    let mut missing_lines = Vec::new();
    let mut unsaveable = Vec::new();
    let mut save = false;
    for (plugin, _, missing, from_secrets) in &needs {
        if missing.is_empty() {
            continue;
        }
        let risk = missing.risk().level;
        let broad = risk >= RiskLevel::High;
        let raw = missing.to_strings();
        // As they may be shown: secrets redacted, control characters escaped.
        let secret = from_secrets.to_strings();
        let (shown, secret_held): (Vec<String>, Vec<bool>) = raw
            .iter()
            .map(|g| displayed(g, redact, secret.contains(g)))
            .unzip();
        let holds_secret = secret_held.contains(&true);
        if choice.trust_plugins {
            tracing::warn!(plugin = %plugin.name, grants = %shown.join(", "), "granted because of --trust-plugins");
            continue;
        }
        if !choice.interactive {
            if holds_secret {
                // A grant holding a secret is never saved, so no line could be pasted for it.
                unsaveable.push(plugin.name.to_string());
            } else {
                missing_lines.push(GrantEntry {
                    plugin: plugin.name.to_string(),
                    sha256: plugin.sha256.clone(),
                    capabilities: raw,
                });
            }
            continue;
        }
        match (choice.level, broad) {
            (SecurityLevel::Strict, true) => {
                say(format!(
                    "error: plugin {} asks for broad grants ({}; risk {risk}) and the security level is strict",
                    plugin.name,
                    shown.join(", ")
                ))?;
                return Ok(false);
            }
            (SecurityLevel::Permissive, _) => continue,
            _ => {}
        }
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
    if !missing_lines.is_empty() || !unsaveable.is_empty() {
        say(
            "error: plugins need grants that were not given, and there is no terminal to ask on."
                .to_owned(),
        )?;
    }
    for plugin in &unsaveable {
        say(format!(
            "Plugin {plugin} needs grants that hold a secret; they are never saved, so run again \
             with --trust-plugins or on a terminal."
        ))?;
    }
    if !missing_lines.is_empty() {
        let file =
            grants_file.map_or_else(|| "grants.yaml".to_owned(), |p| p.display().to_string());
        let entries: String = missing_lines.iter().map(GrantEntry::to_yaml).collect();
        // An existing file already has its `grants:` list: the entries go under it.
        let exists = grants_file.is_some_and(Path::exists);
        say(if exists {
            format!(
                "Run again with --trust-plugins, or add these entries to the `grants:` list in \
                 {file}:\n\n{entries}"
            )
        } else {
            format!(
                "Run again with --trust-plugins, or put these lines in {file}:\n\ngrants:\n{entries}"
            )
        })?;
    }
    if !missing_lines.is_empty() || !unsaveable.is_empty() {
        return Ok(false);
    }
    if save && let Err(e) = store.save() {
        say(format!("warning: the grants were given but not saved: {e}"))?;
    }
    for (plugin, given, _, _) in needs {
        if let Err(e) = executor.set_grants(&plugin.name, given).await {
            say(format!(
                "error: cannot give plugin {} its grants: {e}",
                plugin.name
            ))?;
            return Ok(false);
        }
    }
    Ok(true)
}

/// A grant as it may be shown, and whether it holds a secret. `from_secret` says the grant
/// exists only because of a secret's value (see [`PluginNeeds::from_secrets`]): it is shown
/// redacted when the redactor finds the secret in it, else as a placeholder, since the secret
/// may stand in it in a form no literal match finds (escaped, normalised, cut).
fn displayed(grant: &str, redact: &dyn Fn(&str) -> String, from_secret: bool) -> (String, bool) {
    let redacted = redact(grant);
    match (redacted != grant, from_secret) {
        (true, _) => (printable(&redacted), true),
        (false, true) => {
            let kind = grant.split(':').next().unwrap_or("grant");
            (format!("{kind}:[a grant holding a secret]"), true)
        }
        (false, false) => (printable(grant), false),
    }
}

/// The switch that lets a plugin reach private, loopback and link-local addresses.
fn private_networks() -> GrantSet {
    GrantSet::parse("network:outbound:private").expect("the private switch parses")
}

#[cfg(test)]
mod tests;
