//! Reports: the outcome of a run, for people (table, HTML) and for tools (JSON, YAML, JUnit,
//! SARIF).
//!
//! The report is built once as a JSON document, passed whole through the redactor (so the echoed
//! configs, the evidence, the messages and the expectation texts are all redacted the same way),
//! and then every format is rendered from that redacted document: no renderer sees the run itself,
//! so none can leak what the redactor hid.

mod html;
mod json;
mod junit;
mod sarif;
mod table;
mod yaml;

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use reglet_domain::Timestamp;
use reglet_ports::Redactor;
use serde_json::{Value, json};

pub use html::to_html;
pub use json::to_json;
pub use junit::to_junit;
pub use sarif::to_sarif;
pub use table::to_table;
pub use yaml::to_yaml;

use crate::engine::{self, RunOutcome, evidence_view};
use crate::profile::LoadedProfile;

/// The version of the JSON report's shape; bumped when a field changes meaning or goes away.
pub const SCHEMA_VERSION: u32 = 1;

/// How the report is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// A table for people.
    #[default]
    Table,
    /// Versioned JSON for tools.
    Json,
    /// The JSON document as YAML.
    Yaml,
    /// JUnit XML for CI test views (GitLab, Jenkins).
    Junit,
    /// SARIF 2.1.0 for code scanning (GitHub).
    Sarif,
    /// One self-contained HTML page.
    Html,
}

impl Format {
    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Json => "json",
            Format::Yaml => "yaml",
            Format::Junit => "junit",
            Format::Sarif => "sarif",
            Format::Html => "html",
        }
    }
}

/// Renders the redacted report document in `format`; `color` only affects the table.
pub fn render(doc: &Value, format: Format, color: bool) -> String {
    match format {
        Format::Table => to_table(doc, color),
        Format::Json => to_json(doc),
        Format::Yaml => to_yaml(doc),
        Format::Junit => to_junit(doc),
        Format::Sarif => to_sarif(doc),
        Format::Html => to_html(doc),
    }
}

/// One `--report FORMAT=PATH`: an extra report written to a file next to the main one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportTarget {
    /// The format.
    pub format: Format,
    /// Where it is written (atomically).
    pub path: PathBuf,
}

impl FromStr for ReportTarget {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let names = || {
            <Format as clap::ValueEnum>::value_variants()
                .iter()
                .map(|f| f.name())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let Some((format, path)) = text.split_once('=') else {
            return Err(format!(
                "`{text}` is not FORMAT=PATH (e.g. sarif=reglet.sarif); formats: {}",
                names()
            ));
        };
        let format = <Format as clap::ValueEnum>::from_str(format.trim(), true)
            .map_err(|_| format!("`{text}`: unknown format `{format}`; formats: {}", names()))?;
        if path.is_empty() {
            return Err(format!("`{text}`: the path after `=` is empty"));
        }
        Ok(ReportTarget {
            format,
            path: PathBuf::from(path),
        })
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Builds the redacted report document of a run.
pub fn build(
    profile: &LoadedProfile,
    outcome: &RunOutcome,
    started: Timestamp,
    redactor: &dyn Redactor,
) -> Value {
    let mut counts = [0usize; 4];
    let mut observation_counts = [0usize; 4];
    let controls: Vec<Value> = profile
        .controls
        .iter()
        .zip(&outcome.controls)
        .map(|(control, result)| {
            counts[status_index(engine::control_status_str(result.status))] += 1;
            let observations: Vec<Value> = result
                .observations
                .iter()
                .zip(&control.observations)
                .map(|(o, declared)| {
                    observation_counts[status_index(engine::observation_status_str(o.status))] += 1;
                    json!({
                        "plugin": o.plugin.as_str(),
                        "status": engine::observation_status_str(o.status),
                        "config": declared.config.value(),
                        "data": o.evidence.as_ref().and_then(evidence_view::data),
                        "message": o.evidence.as_ref().and_then(evidence_view::message),
                        "error": o.error,
                        "expectations": o.expectations.iter().map(|e| json!({
                            "expression": e.expression,
                            "outcome": e.outcome,
                            "message": e.message,
                        })).collect::<Vec<_>>(),
                        "duration_ms": ms(o.duration),
                    })
                })
                .collect();
            json!({
                "id": control.id,
                "name": control.name,
                "description": control.description,
                "severity": control.severity,
                "owner": control.owner,
                "tags": control.tags,
                "status": engine::control_status_str(result.status),
                "message": result.message,
                "skip_reason": result.skip_reason,
                "attempts": result.attempts,
                "duration_ms": ms(result.duration),
                "location": {
                    "file": control.location.file.display().to_string(),
                    "line": control.location.line,
                },
                "observations": observations,
            })
        })
        .collect();
    let mut doc = json!({
        "schema_version": SCHEMA_VERSION,
        "reglet_version": env!("CARGO_PKG_VERSION"),
        "profile": {
            "name": profile.metadata.name,
            "version": profile.metadata.version,
            "path": profile.path.display().to_string(),
        },
        "started_at": started.as_offset_date_time().unix_timestamp(),
        "duration_ms": ms(outcome.duration),
        "partial": outcome.stopped.is_some(),
        "stopped_reason": outcome.stopped,
        "summary": {
            "total_controls": controls.len(),
            "passed_controls": counts[0],
            "failed_controls": counts[1],
            "error_controls": counts[2],
            "skipped_controls": counts[3],
            "total_observations": observation_counts.iter().sum::<usize>(),
            "passed_observations": observation_counts[0],
            "failed_observations": observation_counts[1],
            "error_observations": observation_counts[2],
        },
        "controls": controls,
    });
    if redactor.redact_json(&mut doc).is_err() {
        // Nothing unredacted may leave: keep only the verdicts.
        doc = json!({
            "schema_version": SCHEMA_VERSION,
            "error": "the report could not be redacted; only the summary is shown",
            "summary": doc["summary"].clone(),
        });
    }
    doc
}

fn status_index(status: &str) -> usize {
    match status {
        "pass" => 0,
        "fail" => 1,
        "error" => 2,
        _ => 3,
    }
}

/// A duration as people write it in profiles: `2m`, `30s`, `1.5s`, `250ms`.
pub fn human_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return "0s".into();
    }
    if ms.is_multiple_of(60_000) {
        format!("{}m", ms / 60_000)
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else if ms < 1000 {
        format!("{ms}ms")
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// A string field of the document, or "" when absent.
fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

/// The document's controls; none when the report could not be redacted.
fn controls(doc: &Value) -> &[Value] {
    doc["controls"].as_array().map_or(&[], Vec::as_slice)
}

/// When the run started and ended, from `started_at` and `duration_ms`.
fn run_times(
    doc: &Value,
) -> Option<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)> {
    let start = chrono::DateTime::from_timestamp(doc["started_at"].as_i64()?, 0)?;
    let millis = i64::try_from(doc["duration_ms"].as_u64().unwrap_or(0)).ok()?;
    Some((start, start + chrono::TimeDelta::milliseconds(millis)))
}

/// Why a control did not pass, one line per reason: each observation's error and each failed
/// expectation's message, prefixed with the plugin.
fn reasons(control: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for o in control["observations"].as_array().into_iter().flatten() {
        let plugin = text(&o["plugin"]);
        if let Some(e) = o["error"].as_str() {
            out.push(format!("{plugin}: {e}"));
        }
        for x in o["expectations"].as_array().into_iter().flatten() {
            if let Some(m) = x["message"].as_str()
                && o["error"].as_str() != Some(m)
            {
                out.push(format!("{plugin}: {m}"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_written() {
        let cases = [
            (0, "0s"),
            (250, "250ms"),
            (1500, "1.5s"),
            (30_000, "30s"),
            (120_000, "2m"),
        ];
        for (ms, want) in cases {
            assert_eq!(human_duration(Duration::from_millis(ms)), want);
        }
    }

    #[test]
    fn report_targets_parse_and_name_what_is_wrong() {
        let target: ReportTarget = "SARIF=out/a=b.sarif".parse().unwrap();
        assert_eq!(target.format, Format::Sarif);
        assert_eq!(target.path, PathBuf::from("out/a=b.sarif"));
        let err = "pdf=x.pdf".parse::<ReportTarget>().unwrap_err();
        assert!(
            err.contains("`pdf=x.pdf`") && err.contains("junit, sarif, html"),
            "{err}"
        );
        assert!(
            "junit"
                .parse::<ReportTarget>()
                .unwrap_err()
                .contains("FORMAT=PATH")
        );
        assert!(
            "html="
                .parse::<ReportTarget>()
                .unwrap_err()
                .contains("empty")
        );
    }
}
