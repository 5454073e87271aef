//! `reglet check`: load a profile, load and vet its plugins, settle grants, run, report.
//!
//! Everything the run touches goes through the ports: the composition root hands in a
//! [`PluginExecutor`] and a [`Redactor`] built from the system config. Before any control runs,
//! the profile is loaded, every secret is resolved and registered with the redactor, every plugin
//! is loaded, every observation's config is checked against its plugin's JSON Schema, and every
//! plugin is given exactly the grants its observations need.

pub mod filter;
mod grants_flow;
mod progress;

use std::future::Future;
use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use reglet_domain::Config;
use reglet_ports::{PluginExecutor, Redactor};

pub use filter::Filters;
pub use grants_flow::{Answer, Prompter, SecurityChoice, TerminalPrompter};
pub use preflight::{LoadedPlugin, read_module};

use crate::commands::EXIT_USAGE;
use crate::engine::{self, ControlJob, EngineOptions, ObservationJob};
use crate::preflight;
use crate::profile::{self, LoadedProfile};
use crate::report::{self, Format, ReportTarget};
use crate::secrets::SystemSecrets;
use crate::system_config::SystemConfig;

/// Exit code: every control passed or was skipped.
pub const EXIT_PASS: u8 = 0;
/// Exit code: a control failed or could not be judged.
pub const EXIT_FAIL: u8 = 1;

/// Everything `reglet check` was asked to do.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// The profile.
    pub profile: PathBuf,
    /// Report format.
    pub format: Format,
    /// Write the report here (atomically) instead of stdout.
    pub output: Option<PathBuf>,
    /// More reports, each written to its own file (atomically).
    pub reports: Vec<ReportTarget>,
    /// Draw progress on stderr while controls run.
    pub progress: bool,
    /// Only errors on stderr (`-q`): warnings are not printed.
    pub quiet: bool,
    /// Colours in the table.
    pub color: bool,
    /// Engine settings.
    pub engine: EngineOptions,
    /// Grant what plugins ask without asking.
    pub trust_plugins: bool,
    /// `--security`, overriding the system config's level.
    pub security: Option<crate::system_config::SecurityLevel>,
    /// Which controls run.
    pub filters: Filters,
    /// Where saved grants are kept.
    pub grants_file: Option<PathBuf>,
    /// The most bytes of evidence data an observation keeps in the report (the system config's
    /// `max_evidence_size_bytes`); more is cut, with a record of what was.
    pub evidence_limit: usize,
}

/// The adapters a run uses, built by the composition root from the system config.
pub struct Services {
    /// Runs plugins.
    pub executor: Arc<dyn PluginExecutor>,
    /// Hides secrets in everything that is shown or written.
    pub redactor: Arc<dyn Redactor>,
}

/// Runs `reglet check`. `services` builds the adapters once the system config is known; `stop`
/// completes (with a reason) when the run must end early, e.g. on a signal.
///
/// # Errors
/// Writing to `out` or `err` failed.
pub async fn check(
    options: &CheckOptions,
    system: &SystemConfig,
    services: Services,
    prompter: &mut dyn Prompter,
    stop: impl Future<Output = String>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<u8> {
    let redactor = Arc::clone(&services.redactor);
    // Everything written to `err` before the report passes through the redactor.
    let say = |err: &mut dyn Write, text: String| -> io::Result<()> {
        if options.quiet && text.starts_with("warning:") {
            return Ok(());
        }
        let text = redactor.redact_text(&text).unwrap_or(text);
        writeln!(err, "{text}")
    };
    let loaded = match profile::load(&options.profile) {
        Ok(p) => p,
        Err(diagnostics) => {
            for e in diagnostics.errors() {
                say(err, format!("error: {e}"))?;
            }
            return Ok(EXIT_USAGE);
        }
    };
    for w in &loaded.warnings {
        say(err, format!("warning: {w}"))?;
    }
    let secrets = match loaded.resolve_secrets(&SystemSecrets::new(&system.secrets)) {
        Ok(s) => s,
        Err(diagnostics) => {
            for e in diagnostics.errors() {
                say(err, format!("error: {e}"))?;
            }
            return Ok(EXIT_USAGE);
        }
    };
    let values: Vec<String> = secrets.values().map(|v| v.to_owned()).collect();
    if let Err(e) = services.redactor.register_secrets(&values) {
        say(err, format!("error: a secret cannot be used safely: {e}"))?;
        return Ok(EXIT_USAGE);
    }
    let selection = match options.filters.select(&loaded.controls) {
        Ok(s) => s,
        Err(e) => {
            say(err, format!("error: {e}"))?;
            return Ok(EXIT_USAGE);
        }
    };
    let vetted = preflight::vet(&loaded, &selection, &*services.executor, &|config| {
        // What the plugin will be given is what it will see: secrets in place.
        config
            .expand(&secrets)
            .unwrap_or_else(|_| config.value().clone())
    })
    .await;
    if !vetted.problems.is_empty() {
        for p in &vetted.problems {
            say(err, format!("error: {p}"))?;
        }
        return Ok(EXIT_USAGE);
    }
    for w in preflight::version_warnings(&loaded, &vetted.needs) {
        say(err, format!("warning: {w}"))?;
    }
    let level = options.security.unwrap_or(system.security.level);
    let choice = SecurityChoice {
        level,
        trust_plugins: options.trust_plugins,
        interactive: io::stdin().is_terminal() && io::stderr().is_terminal(),
    };
    let granted = grants_flow::settle(
        &vetted.needs,
        &*services.executor,
        &choice,
        grants_flow::SavedGrants {
            file: options.grants_file.as_deref(),
            reglet: &system.reglet_grants(),
        },
        prompter,
        &|text| {
            redactor
                .redact_text(text)
                .unwrap_or_else(|| text.to_owned())
        },
        &mut |text| say(err, text),
    )
    .await?;
    if !granted {
        return Ok(EXIT_USAGE);
    }
    let jobs = match build_jobs(&loaded, &selection, &secrets) {
        Ok(jobs) => jobs,
        Err(e) => {
            say(err, format!("error: {e}"))?;
            return Ok(EXIT_USAGE);
        }
    };
    let started = reglet_domain::Timestamp::now();
    let progress = options.progress.then(|| {
        Arc::new(progress::Progress::new(
            jobs.len(),
            Arc::clone(&services.redactor),
        ))
    });
    let observer: Arc<dyn engine::RunObserver> = match &progress {
        Some(p) => p.clone(),
        None => Arc::new(NoProgress),
    };
    let mut outcome = engine::run_observed(
        Arc::clone(&services.executor),
        jobs,
        &options.engine,
        stop,
        observer,
    )
    .await;
    if let Some(p) = &progress {
        p.finish();
    }
    if let Some(reason) = &outcome.stopped {
        say(
            err,
            format!("warning: the run ended early: {reason}; the report is partial"),
        )?;
    }
    engine::evidence_limit::limit_evidence(&mut outcome, options.evidence_limit);
    let doc = report::build(&loaded, &outcome, started, &*services.redactor);
    // Every file is attempted even when one cannot be written: a partial run's reports matter
    // most.
    let mut unwritten = false;
    for target in &options.reports {
        let text = report::render(&doc, target.format, false);
        if let Err(e) = crate::grants::write_atomically(&target.path, text.as_bytes()) {
            say(
                err,
                format!("error: cannot write {}: {e}", target.path.display()),
            )?;
            unwritten = true;
        }
    }
    let color = options.color && options.output.is_none();
    let text = report::render(&doc, options.format, color);
    match &options.output {
        Some(path) => {
            if let Err(e) = crate::grants::write_atomically(path, text.as_bytes()) {
                say(err, format!("error: cannot write {}: {e}", path.display()))?;
                unwritten = true;
            }
        }
        None => out.write_all(text.as_bytes())?,
    }
    if unwritten {
        return Ok(EXIT_USAGE);
    }
    for p in &vetted.plugins {
        let _ = services.executor.close(&p.name).await;
    }
    let failed = outcome.controls.iter().any(|c| {
        matches!(
            c.status,
            reglet_domain::ControlStatus::Fail | reglet_domain::ControlStatus::Error
        )
    });
    Ok(if failed { EXIT_FAIL } else { EXIT_PASS })
}

/// The observer when no progress is drawn.
struct NoProgress;

impl engine::RunObserver for NoProgress {}

fn build_jobs(
    loaded: &LoadedProfile,
    selection: &[Option<String>],
    secrets: &crate::secrets::Secrets,
) -> Result<Vec<ControlJob>, String> {
    loaded
        .controls
        .iter()
        .zip(selection)
        .map(|(c, skip)| {
            let observations = if skip.is_some() {
                Vec::new()
            } else {
                c.observations
                    .iter()
                    .map(|o| {
                        let values = o.config.expand(secrets).map_err(|e| e.to_string())?;
                        Ok(ObservationJob {
                            plugin: o.plugin.clone(),
                            config: Config::new(values),
                            expectations: o.expectations.clone(),
                        })
                    })
                    .collect::<Result<Vec<_>, String>>()?
            };
            Ok(ControlJob {
                id: c.id.clone(),
                depends_on: c.depends_on.clone(),
                timeout: c.timeout,
                retry: c.retry,
                observations,
                skip: skip.clone(),
            })
        })
        .collect()
}

/// Waits for SIGINT or SIGTERM and says which came.
pub async fn signals() -> String {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            return std::future::pending().await;
        };
        tokio::select! {
            _ = int.recv() => "interrupted by SIGINT".to_owned(),
            _ = term.recv() => "terminated by SIGTERM".to_owned(),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "interrupted by Ctrl-C".to_owned()
    }
}

/// Parses `--timeout`: a duration such as `2m`, `30s`, `500ms`; `0` for none.
///
/// # Errors
/// Not a duration.
pub fn parse_timeout(text: &str) -> Result<Option<Duration>, String> {
    if text.trim() == "0" {
        return Ok(None);
    }
    let d = profile::parse_duration(text)?;
    Ok((!d.is_zero()).then_some(d))
}
