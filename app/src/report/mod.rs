//! Reports: the outcome of a run, for people (table, HTML) and for tools (JSON, YAML, JUnit,
//! SARIF).
//!
//! The report is built once as a typed document whose every text, echoed config and evidence went
//! through the redactor as it was copied in (`document`), and every format is rendered from that
//! redacted document: no renderer sees the run itself, so none can leak what the redactor hid.

mod document;
mod html;
mod json;
mod junit;
mod sarif;
mod table;
mod yaml;

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use serde_json::Value;

pub use document::{
    ControlReport, ExpectationReport, LocationReport, ObservationReport, ProfileReport, Report,
    RunReport, SCHEMA_VERSION, Summary, SummaryOnly, build,
};
pub use html::to_html;
pub use json::to_json;
pub use junit::to_junit;
pub use sarif::to_sarif;
pub use table::to_table;
pub use yaml::to_yaml;

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

/// Renders the redacted report in `format`; `color` only affects the table.
pub fn render(report: &Report, format: Format, color: bool) -> String {
    let doc = || report.to_value();
    match format {
        Format::Json => to_json(report),
        Format::Table => to_table(&doc(), color),
        Format::Yaml => to_yaml(&doc()),
        Format::Junit => to_junit(&doc()),
        Format::Sarif => to_sarif(&doc()),
        Format::Html => to_html(&doc()),
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
