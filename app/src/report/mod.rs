//! Reports: the outcome of a run, as a table for people and as versioned JSON for tools.
//!
//! The report is built once as a JSON document, passed whole through the redactor (so the echoed
//! configs, the evidence, the messages and the expectation texts are all redacted the same way),
//! and then printed as JSON or rendered as a table from that redacted document.

use std::fmt::Write as _;
use std::time::Duration;

use reglet_domain::Timestamp;
use reglet_ports::Redactor;
use serde_json::{Value, json};

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

/// The report as indented JSON, with a final newline.
pub fn to_json(doc: &Value) -> String {
    let mut text = serde_json::to_string_pretty(doc).expect("JSON values serialise");
    text.push('\n');
    text
}

/// The report as a table; `color` adds ANSI colours to the statuses.
pub fn to_table(doc: &Value, color: bool) -> String {
    let paint = |status: &str| -> String {
        let code = match status {
            "pass" => "32",
            "fail" => "31",
            "error" => "35",
            _ => "33",
        };
        if color {
            format!("\x1b[{code}m{status:<7}\x1b[0m")
        } else {
            format!("{status:<7}")
        }
    };
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Profile {} {} ({})",
        text(&doc["profile"]["name"]),
        text(&doc["profile"]["version"]),
        text(&doc["profile"]["path"])
    );
    let controls = doc["controls"].as_array().cloned().unwrap_or_default();
    let width = controls
        .iter()
        .map(|c| text(&c["id"]).chars().count())
        .max()
        .unwrap_or(2)
        .max(2);
    let _ = writeln!(
        out,
        "{:<7}  {:<width$}  {:<8}  MESSAGE",
        "STATUS", "ID", "SEVERITY"
    );
    for c in &controls {
        let status = text(&c["status"]);
        let _ = writeln!(
            out,
            "{}  {:<width$}  {:<8}  {}",
            paint(&status),
            text(&c["id"]),
            c["severity"].as_str().unwrap_or("-"),
            text(&c["message"]),
        );
        if status == "fail" || status == "error" {
            for o in c["observations"].as_array().into_iter().flatten() {
                if let Some(e) = o["error"].as_str() {
                    let _ = writeln!(out, "         {}: {e}", text(&o["plugin"]));
                }
                for x in o["expectations"].as_array().into_iter().flatten() {
                    if let Some(m) = x["message"].as_str() {
                        let _ = writeln!(out, "         {}: {m}", text(&o["plugin"]));
                    }
                }
            }
        }
    }
    let s = &doc["summary"];
    let n = |k: &str| s[k].as_u64().unwrap_or(0);
    let _ = writeln!(
        out,
        "\n{} controls: {} passed, {} failed, {} errors, {} skipped in {} ms",
        n("total_controls"),
        n("passed_controls"),
        n("failed_controls"),
        n("error_controls"),
        n("skipped_controls"),
        doc["duration_ms"].as_u64().unwrap_or(0),
    );
    if let Some(reason) = doc["stopped_reason"].as_str() {
        let _ = writeln!(out, "PARTIAL: the run ended early: {reason}");
    }
    out
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
}
