//! `reglet validate`: everything `check` verifies before running, and nothing observed.
//!
//! The profile is loaded as `check` loads it (YAML, keys, `extends`, vars, plugin declarations,
//! dependencies, every `expect`), then its plugins are loaded and described and every config is
//! checked against its plugin's schema through [`crate::preflight::vet`], the code `check` runs.
//! Secrets are listed, never read: their values are looked up by `check` alone.

use std::io::{self, Write};
use std::path::Path;

use reglet_ports::PluginExecutor;
use serde_json::json;

use super::{
    Diagnostic, EXIT_OK, EXIT_USAGE, Level, OutputFormat, grants_json, write_grants, write_json,
};
use crate::preflight::{self, PluginNeeds};
use crate::profile::{self, LoadedProfile, ObservationConfig};

/// What validating found: diagnostics, and when the profile loaded, the profile and the grants
/// its plugins need.
struct Findings {
    diagnostics: Vec<Diagnostic>,
    profile: Option<LoadedProfile>,
    needs: Vec<PluginNeeds>,
}

impl Findings {
    fn errors(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Level::Error)
            .count()
    }
}

/// Loads the profile and vets its plugins, collecting every diagnostic.
async fn examine(path: &Path, executor: &dyn PluginExecutor) -> Findings {
    let loaded = match profile::load(path) {
        Ok(p) => p,
        Err(diagnostics) => {
            return Findings {
                diagnostics: diagnostics
                    .errors()
                    .iter()
                    .map(Diagnostic::from_profile_error)
                    .collect(),
                profile: None,
                needs: Vec::new(),
            };
        }
    };
    let selection = vec![None; loaded.controls.len()];
    let vetted = preflight::vet(&loaded, &selection, executor, &ObservationConfig::masked).await;
    for p in &vetted.plugins {
        let _ = executor.close(&p.name).await;
    }
    let mut diagnostics: Vec<Diagnostic> = loaded
        .warnings
        .iter()
        .map(Diagnostic::from_warning)
        .chain(vetted.problems.iter().map(Diagnostic::from_problem))
        .collect();
    diagnostics.sort_by(|a, b| a.location().cmp(b.location()));
    Findings {
        diagnostics,
        profile: Some(loaded),
        needs: vetted.needs,
    }
}

/// `reglet validate`: exit code 0 when the profile could run (warnings allowed), 2 when not.
/// Text goes to `err` (diagnostics) and `out` (the summary); JSON is one document on `out`.
///
/// # Errors
/// Writing to `out` or `err` failed.
pub async fn validate(
    path: &Path,
    format: OutputFormat,
    executor: &dyn PluginExecutor,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<u8> {
    let findings = examine(path, executor).await;
    let errors = findings.errors();
    match format {
        OutputFormat::Json => write_json(out, &to_json(path, &findings))?,
        OutputFormat::Text => write_text(path, &findings, out, err)?,
    }
    Ok(if errors == 0 { EXIT_OK } else { EXIT_USAGE })
}

fn write_text(
    path: &Path,
    findings: &Findings,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<()> {
    for d in &findings.diagnostics {
        writeln!(err, "{d}")?;
    }
    let errors = findings.errors();
    match &findings.profile {
        Some(p) if errors == 0 => {
            let observations = p.observations().count();
            let expectations: usize = p.observations().map(|(_, o)| o.expectations.len()).sum();
            writeln!(
                out,
                "{}: profile {} {} is valid: {} controls, {observations} observations, \
                 {expectations} expectations",
                path.display(),
                p.metadata.name,
                p.metadata.version,
                p.controls.len(),
            )?;
            let secrets: Vec<&str> = p.secret_names().into_iter().map(|(n, _)| n).collect();
            if !secrets.is_empty() {
                writeln!(
                    out,
                    "secrets used (resolved at run time): {}",
                    secrets.join(", ")
                )?;
            }
            write_grants(out, &findings.needs)?;
        }
        _ => writeln!(
            err,
            "{}: {errors} error{}",
            path.display(),
            if errors == 1 { "" } else { "s" }
        )?,
    }
    Ok(())
}

fn to_json(path: &Path, findings: &Findings) -> serde_json::Value {
    let errors = findings.errors();
    let summary = findings.profile.as_ref().map(|p| {
        json!({
            "name": p.metadata.name,
            "version": p.metadata.version,
            "controls": p.controls.len(),
            "observations": p.observations().count(),
            "expectations": p.observations().map(|(_, o)| o.expectations.len()).sum::<usize>(),
        })
    });
    let secrets: Vec<&str> = findings
        .profile
        .as_ref()
        .map(|p| p.secret_names().into_iter().map(|(n, _)| n).collect())
        .unwrap_or_default();
    json!({
        "profile": path.display().to_string(),
        "valid": errors == 0,
        "errors": errors,
        "warnings": findings.diagnostics.len() - errors,
        "diagnostics": findings.diagnostics,
        "summary": summary,
        "secrets": secrets,
        "grants": grants_json(&findings.needs),
    })
}
