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
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use reglet_domain::{Config, PluginName};
use reglet_ports::{PluginExecutor, Redactor};
use sha2::{Digest, Sha256};

pub use filter::Filters;
pub use grants_flow::{Answer, Prompter, SecurityChoice, TerminalPrompter};

use crate::commands::EXIT_USAGE;
use crate::engine::{self, ControlJob, EngineOptions, ObservationJob};
use crate::profile::{self, LoadedProfile, PluginSource};
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
}

/// The adapters a run uses, built by the composition root from the system config.
pub struct Services {
    /// Runs plugins.
    pub executor: Arc<dyn PluginExecutor>,
    /// Hides secrets in everything that is shown or written.
    pub redactor: Arc<dyn Redactor>,
}

/// A plugin ready to run: its name and the sha256 of its wasm.
#[derive(Debug, Clone)]
pub struct LoadedPlugin {
    /// The name.
    pub name: PluginName,
    /// Lower-case hex sha256 of the wasm.
    pub sha256: String,
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
    let plugins = match load_plugins(&loaded, &selection, &*services.executor).await {
        Ok(p) => p,
        Err(e) => {
            say(err, format!("error: {e}"))?;
            return Ok(EXIT_USAGE);
        }
    };
    if let Err(errors) = validate_configs(&loaded, &selection, &*services.executor).await {
        for e in errors {
            say(err, format!("error: {e}"))?;
        }
        return Ok(EXIT_USAGE);
    }
    let level = options.security.unwrap_or(system.security.level);
    let choice = SecurityChoice {
        level,
        trust_plugins: options.trust_plugins,
        interactive: io::stdin().is_terminal() && io::stderr().is_terminal(),
    };
    let granted = grants_flow::settle(
        &loaded,
        &selection,
        &plugins,
        &*services.executor,
        &choice,
        options.grants_file.as_deref(),
        &secrets,
        prompter,
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
    let progress = options
        .progress
        .then(|| progress::Progress::new(jobs.len()));
    let observer: &dyn engine::RunObserver = match &progress {
        Some(p) => p,
        None => &NoProgress,
    };
    let outcome = engine::run_observed(
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
    for p in &plugins {
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

/// Whether observation `o` of a control will run.
fn runs(selection: &[Option<String>], control_index: usize) -> bool {
    selection[control_index].is_none()
}

/// Loads every plugin an observation uses: `.wasm` as is, `.wat` compiled first.
async fn load_plugins(
    loaded: &LoadedProfile,
    selection: &[Option<String>],
    executor: &dyn PluginExecutor,
) -> Result<Vec<LoadedPlugin>, String> {
    let mut out: Vec<LoadedPlugin> = Vec::new();
    for (i, control) in loaded.controls.iter().enumerate() {
        if !runs(selection, i) {
            continue;
        }
        for o in &control.observations {
            if out.iter().any(|p| p.name == o.plugin) {
                continue;
            }
            let declaration = loaded
                .plugin(&o.plugin)
                .ok_or_else(|| format!("{}: plugin `{}` is not declared", o.location, o.plugin))?;
            let (wasm, origin) = match &declaration.source {
                PluginSource::Builtin { .. } => {
                    let bytes = reglet_builtins::builtin(declaration.name.as_str()).ok_or_else(|| {
                        format!(
                            "{}: built-in plugin {} is not embedded in this build (embedded: {}); \
                             give a path to its module (plugins: [./{}.wasm])",
                            declaration.location,
                            declaration.name,
                            reglet_builtins::names().collect::<Vec<_>>().join(", "),
                            declaration.name
                        )
                    })?;
                    (bytes.to_vec(), format!("built-in {}", declaration.name))
                }
                PluginSource::Path(path) => (read_module(path)?, path.display().to_string()),
            };
            let sha256 = hex::encode(Sha256::digest(&wasm));
            executor
                .load_plugin(&o.plugin, &wasm)
                .await
                .map_err(|e| format!("{origin}: cannot load plugin {}: {e}", o.plugin))?;
            out.push(LoadedPlugin {
                name: o.plugin.clone(),
                sha256,
            });
        }
    }
    Ok(out)
}

/// The wasm of a plugin file; a `.wat` file is compiled.
pub fn read_module(path: &Path) -> Result<Vec<u8>, String> {
    let bytes =
        std::fs::read(path).map_err(|e| format!("cannot read plugin {}: {e}", path.display()))?;
    if path.extension().is_some_and(|e| e == "wat") {
        wat::parse_bytes(&bytes)
            .map(|w| w.into_owned())
            .map_err(|e| format!("{}: not valid WebAssembly text: {e}", path.display()))
    } else {
        Ok(bytes)
    }
}

/// Checks every running observation's config against its plugin's JSON Schema.
async fn validate_configs(
    loaded: &LoadedProfile,
    selection: &[Option<String>],
    executor: &dyn PluginExecutor,
) -> Result<(), Vec<String>> {
    let mut errors = Vec::new();
    let mut validators: Vec<(PluginName, Option<jsonschema::Validator>)> = Vec::new();
    for (i, control) in loaded.controls.iter().enumerate() {
        if !runs(selection, i) {
            continue;
        }
        for o in &control.observations {
            if !validators.iter().any(|(n, _)| n == &o.plugin) {
                let validator = match executor.plugin_schema(&o.plugin).await {
                    Ok(Some(schema)) => match jsonschema::validator_for(schema.raw()) {
                        Ok(v) => Some(v),
                        Err(e) => {
                            errors.push(format!(
                                "plugin {}: its config schema is invalid: {e}",
                                o.plugin
                            ));
                            None
                        }
                    },
                    Ok(None) => None,
                    Err(e) => {
                        errors.push(format!(
                            "plugin {}: cannot read its config schema: {e}",
                            o.plugin
                        ));
                        None
                    }
                };
                validators.push((o.plugin.clone(), validator));
            }
            let Some((_, Some(validator))) = validators.iter().find(|(n, _)| n == &o.plugin) else {
                continue;
            };
            let instance = serde_json::Value::Object(o.config.value().clone());
            for e in validator.iter_errors(&instance) {
                let at = e.instance_path().to_string();
                let at = if at.is_empty() {
                    String::new()
                } else {
                    format!(" at {at}")
                };
                errors.push(format!(
                    "{}: control `{}`: config for plugin {}{at}: {e}",
                    o.location, control.id, o.plugin
                ));
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

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
