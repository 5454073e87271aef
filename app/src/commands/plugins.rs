//! `reglet plugins list` and `reglet plugins info`: what a plugin is, says it needs and accepts,
//! read by loading it into the executor as `check` would, without running it.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use reglet_domain::{FieldDef, PluginName, RiskReport};
use reglet_ports::PluginExecutor;
use serde::Serialize;

use super::{Diagnostic, EXIT_OK, EXIT_USAGE, OutputFormat, write_json, write_risk_factors};
use crate::preflight::Module;
use crate::profile::{self, PluginSource};

/// One plugin as `reglet plugins` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct PluginReport {
    /// The name the plugin gives itself.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Its one-line description.
    pub description: String,
    /// `built-in NAME` or the module's path.
    pub source: String,
    /// The Reglet ABI generation it speaks (`gen1` or `gen2`).
    pub abi: String,
    /// Lower-case hex sha256 of the wasm, which saved grants are tied to.
    pub sha256: String,
    /// The SDK that built it, when it says.
    pub sdk_version: Option<String>,
    /// The oldest host it supports, when it says.
    pub min_host_version: Option<String>,
    /// The capabilities it declares, in Reglet's string form.
    pub capabilities: Vec<String>,
    /// The risk of granting all of them.
    pub risk: RiskReport,
    /// Declared capabilities that could not be understood, with why.
    pub unrecognised_capabilities: Vec<String>,
    /// The top-level fields of its config schema.
    pub config: Vec<FieldDef>,
}

/// Loads `module` under a name derived from `hint`, reads everything about it, and unloads it
/// again so the next module may reuse the name.
async fn inspect(
    module: &Module,
    hint: &str,
    executor: &dyn PluginExecutor,
) -> Result<PluginReport, String> {
    let name = PluginName::new(hint).map_err(|e| format!("{}: {e}", module.origin))?;
    let fail = |e: reglet_domain::PluginError| format!("{}: {e}", module.origin);
    executor
        .load_plugin(&name, &module.wasm)
        .await
        .map_err(|e| format!("{}: cannot load plugin: {e}", module.origin))?;
    let report = async {
        let info = executor.describe(&name).await.map_err(fail)?;
        let abi = executor.abi_generation(&name).await.map_err(fail)?;
        let schema = executor.plugin_schema(&name).await.map_err(fail)?;
        Ok(PluginReport {
            name: info.name.to_string(),
            version: info.version,
            description: info.description,
            source: module.origin.clone(),
            abi: abi.to_string(),
            sha256: module.sha256.clone(),
            sdk_version: info.sdk_version,
            min_host_version: info.min_host_version,
            capabilities: info.capabilities.to_strings(),
            risk: info.capabilities.risk(),
            unrecognised_capabilities: info.unrecognised_capabilities,
            config: schema.map(|s| s.fields().to_vec()).unwrap_or_default(),
        })
    }
    .await;
    let _ = executor.close(&name).await;
    report
}

/// The file stem of a module path, the name a profile would give the plugin.
fn stem(path: &Path) -> String {
    path.file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_owned()
}

/// `reglet plugins list`: the embedded built-ins, then the modules `profile` declares by path,
/// then `paths`. A module that cannot be read or loaded is reported on `err` and makes the exit
/// code 2; the others are still listed.
///
/// # Errors
/// Writing to `out` or `err` failed.
pub async fn plugins_list(
    profile: Option<&Path>,
    paths: &[PathBuf],
    format: OutputFormat,
    executor: &dyn PluginExecutor,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<u8> {
    let mut failed = false;
    let mut modules: Vec<(Result<Module, String>, String)> = reglet_builtins::names()
        .map(|n| (Module::builtin(n), n.to_owned()))
        .collect();
    if let Some(path) = profile {
        match profile::load(path) {
            Ok(loaded) => {
                for d in &loaded.plugins {
                    let module = match &d.source {
                        PluginSource::Builtin { .. }
                            if reglet_builtins::builtin(d.name.as_str()).is_some() =>
                        {
                            continue;
                        }
                        _ => Module::declared(d).map_err(|e| format!("{}: {e}", d.location)),
                    };
                    modules.push((module, d.name.to_string()));
                }
            }
            Err(diagnostics) => {
                for e in diagnostics.errors() {
                    writeln!(err, "{}", Diagnostic::from_profile_error(e))?;
                }
                return Ok(EXIT_USAGE);
            }
        }
    }
    for path in paths {
        modules.push((Module::file(path), stem(path)));
    }
    let mut reports: Vec<PluginReport> = Vec::new();
    for (module, hint) in modules {
        let report = match module {
            Ok(m) if reports.iter().any(|r| r.source == m.origin) => continue,
            Ok(m) => inspect(&m, &hint, executor).await,
            Err(e) => Err(e),
        };
        match report {
            Ok(r) => reports.push(r),
            Err(e) => {
                failed = true;
                writeln!(err, "error: {e}")?;
            }
        }
    }
    match format {
        OutputFormat::Json => {
            write_json(out, &serde_json::to_value(&reports).expect("serialises"))?
        }
        OutputFormat::Text => {
            for (i, r) in reports.iter().enumerate() {
                if i > 0 {
                    writeln!(out)?;
                }
                write_summary(out, r)?;
            }
        }
    }
    Ok(if failed { EXIT_USAGE } else { EXIT_OK })
}

fn write_summary(out: &mut dyn Write, r: &PluginReport) -> io::Result<()> {
    writeln!(out, "{} {}  ({}, {})", r.name, r.version, r.source, r.abi)?;
    writeln!(out, "  sha256        {}", r.sha256)?;
    let capabilities = if r.capabilities.is_empty() {
        "none".to_owned()
    } else {
        r.capabilities.join(", ")
    };
    writeln!(out, "  capabilities  {capabilities}")?;
    let fields: Vec<String> = r
        .config
        .iter()
        .map(|f| {
            if f.required {
                format!("{} (required)", f.name)
            } else {
                f.name.clone()
            }
        })
        .collect();
    let fields = if fields.is_empty() {
        "no schema fields".to_owned()
    } else {
        fields.join(", ")
    };
    writeln!(out, "  config        {fields}")
}

/// `reglet plugins info NAME|PATH`: one plugin in full. `target` is an embedded built-in's name
/// or the path of a `.wasm` or `.wat` module.
///
/// # Errors
/// Writing to `out` or `err` failed.
pub async fn plugins_info(
    target: &str,
    format: OutputFormat,
    executor: &dyn PluginExecutor,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<u8> {
    let path = Path::new(target);
    let (module, hint) = if reglet_builtins::builtin(target).is_some() {
        (Module::builtin(target), target.to_owned())
    } else if path.is_file() {
        (Module::file(path), stem(path))
    } else {
        let message = if crate::profile::BUILTIN_PLUGINS.contains(&target) {
            Module::builtin(target).err().unwrap_or_default()
        } else {
            format!(
                "{target} is neither an embedded built-in plugin ({}) nor a file",
                reglet_builtins::names().collect::<Vec<_>>().join(", ")
            )
        };
        writeln!(err, "error: {message}")?;
        return Ok(EXIT_USAGE);
    };
    let report = match module {
        Ok(m) => inspect(&m, &hint, executor).await,
        Err(e) => Err(e),
    };
    let r = match report {
        Ok(r) => r,
        Err(e) => {
            writeln!(err, "error: {e}")?;
            return Ok(EXIT_USAGE);
        }
    };
    match format {
        OutputFormat::Json => write_json(out, &serde_json::to_value(&r).expect("serialises"))?,
        OutputFormat::Text => write_info(out, &r)?,
    }
    Ok(EXIT_OK)
}

fn write_info(out: &mut dyn Write, r: &PluginReport) -> io::Result<()> {
    writeln!(out, "{} {}", r.name, r.version)?;
    if !r.description.is_empty() {
        writeln!(out, "  {}", r.description)?;
    }
    writeln!(out, "  source        {}", r.source)?;
    writeln!(out, "  abi           {}", r.abi)?;
    writeln!(out, "  sha256        {}", r.sha256)?;
    if let Some(v) = &r.sdk_version {
        writeln!(out, "  sdk           {v}")?;
    }
    if let Some(v) = &r.min_host_version {
        writeln!(out, "  min host      {v}")?;
    }
    if r.capabilities.is_empty() {
        writeln!(out, "capabilities: none")?;
    } else {
        writeln!(out, "capabilities (risk: {}):", r.risk.level)?;
        write_risk_factors(out, "  ", &r.risk)?;
    }
    for u in &r.unrecognised_capabilities {
        writeln!(out, "  unrecognised  {u}")?;
    }
    if r.config.is_empty() {
        writeln!(out, "config: no schema fields")?;
        return Ok(());
    }
    writeln!(out, "config:")?;
    let kind = |f: &FieldDef| {
        if f.field_type.is_empty() {
            "any".to_owned()
        } else {
            f.field_type.clone()
        }
    };
    let width = r.config.iter().map(|f| f.name.len()).max().unwrap_or(0);
    let kinds = r.config.iter().map(|f| kind(f).len()).max().unwrap_or(0);
    for f in &r.config {
        let need = if f.required { "required" } else { "optional" };
        let mut line = format!("  {:<width$}  {:<kinds$}  {need}", f.name, kind(f));
        if let Some(d) = &f.description {
            line.push_str(&format!("  {d}"));
        }
        if let Some(d) = &f.default {
            line.push_str(&format!(" (default: {d})"));
        }
        writeln!(out, "{line}")?;
    }
    Ok(())
}
