//! The report document: the run's outcome as typed, already-redacted fields, serialised straight
//! to JSON and converted to a JSON value for the other formats.
//!
//! Every text that came from a profile, a plugin or the run is redacted as it is copied in, and the
//! echoed configs and evidence data pass through the redactor's structured walk (sensitive keys,
//! `redaction.paths` dot paths as the report spells them, `data.stdout` or `stdout`, and every
//! string, key and scalar). Path rules apply to configs and evidence data only: the report's own
//! fields (messages, errors, names) get the text rules and registered secrets. The document's own
//! vocabulary (its keys, statuses, counts and durations) is the report's, not data, so it is not
//! scanned: a registered secret `1234` does not turn a duration of 1234 ms into a marker.

use std::time::Duration;

use reglet_domain::{ControlStatus, ExpectationOutcome, ObservationStatus, Timestamp};
use reglet_ports::{RedactionError, Redactor};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::engine::evidence_limit::EvidenceMeta;
use crate::engine::{self, ControlOutcome, ObservationOutcome, RunOutcome, evidence_view};
use crate::profile::{Control, LoadedProfile, Observation, Severity};

/// The version of the JSON report's shape; bumped when a field changes meaning or goes away.
pub const SCHEMA_VERSION: u32 = 1;

/// A run's report, redacted; what every format renders. When part of the run could not be
/// redacted, only the verdicts are kept.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Report {
    /// The whole run.
    Run(Box<RunReport>),
    /// Only the counts: something in the run could not be redacted.
    SummaryOnly(SummaryOnly),
}

impl Report {
    /// The whole run, unless only the summary could be kept.
    pub fn run(&self) -> Option<&RunReport> {
        match self {
            Report::Run(run) => Some(run),
            Report::SummaryOnly(_) => None,
        }
    }

    /// The whole run, to adjust (tests pin volatile fields).
    pub fn run_mut(&mut self) -> Option<&mut RunReport> {
        match self {
            Report::Run(run) => Some(run),
            Report::SummaryOnly(_) => None,
        }
    }

    /// The counts of the run.
    pub fn summary(&self) -> &Summary {
        match self {
            Report::Run(run) => &run.summary,
            Report::SummaryOnly(only) => &only.summary,
        }
    }

    /// The document as a JSON value, for the formats rendered from one.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).expect("the report serialises")
    }
}

/// What is left of a report that could not be redacted.
#[derive(Debug, Clone, Serialize)]
pub struct SummaryOnly {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Why the rest is missing.
    pub error: String,
    /// The counts.
    pub summary: Summary,
}

/// The whole run, as `docs/report-schema.json` publishes it.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The version of reglet that ran.
    pub reglet_version: String,
    /// The profile run.
    pub profile: ProfileReport,
    /// When the run started, in Unix seconds.
    pub started_at: i64,
    /// How long the run took.
    pub duration_ms: u64,
    /// True when the run ended early and some controls did not finish.
    pub partial: bool,
    /// Why the run ended early.
    pub stopped_reason: Option<String>,
    /// The counts.
    pub summary: Summary,
    /// Every control, in profile order.
    pub controls: Vec<ControlReport>,
}

/// The profile a run used.
#[derive(Debug, Clone, Serialize)]
pub struct ProfileReport {
    /// `profile.name`.
    pub name: String,
    /// `profile.version`.
    pub version: String,
    /// The file loaded.
    pub path: String,
}

/// How many controls and observations came out each way.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Controls in the report.
    pub total_controls: usize,
    /// Controls that passed.
    pub passed_controls: usize,
    /// Controls that failed.
    pub failed_controls: usize,
    /// Controls that could not be judged.
    pub error_controls: usize,
    /// Controls that did not run.
    pub skipped_controls: usize,
    /// Observations made.
    pub total_observations: usize,
    /// Observations that passed.
    pub passed_observations: usize,
    /// Observations that failed.
    pub failed_observations: usize,
    /// Observations that could not be judged.
    pub error_observations: usize,
}

/// One control's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct ControlReport {
    /// The id.
    pub id: String,
    /// The name.
    pub name: String,
    /// The description; empty when absent.
    pub description: String,
    /// The severity.
    pub severity: Option<Severity>,
    /// The owner.
    pub owner: Option<String>,
    /// The tags.
    pub tags: Vec<String>,
    /// `pass`, `fail`, `error` or `skipped`.
    pub status: &'static str,
    /// A one-line summary.
    pub message: String,
    /// Why the control did not run.
    pub skip_reason: Option<String>,
    /// How many times its observations ran.
    pub attempts: u32,
    /// How long it took.
    pub duration_ms: u64,
    /// Where the control is written.
    pub location: LocationReport,
    /// Its observations, in profile order.
    pub observations: Vec<ObservationReport>,
}

/// Where a control is written.
#[derive(Debug, Clone, Serialize)]
pub struct LocationReport {
    /// The file.
    pub file: String,
    /// The line, from 1.
    pub line: usize,
}

/// One observation's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct ObservationReport {
    /// The plugin called.
    pub plugin: String,
    /// `pass`, `fail`, `error` or `skipped`.
    pub status: &'static str,
    /// The config as written, secrets left as their templates.
    pub config: Map<String, Value>,
    /// The evidence data.
    pub data: Option<Map<String, Value>>,
    /// The plugin's message.
    pub message: Option<String>,
    /// Why the observation could not be judged.
    pub error: Option<String>,
    /// Each expectation's outcome.
    pub expectations: Vec<ExpectationReport>,
    /// How long the last attempt took.
    pub duration_ms: u64,
    /// How the evidence was cut to `max_evidence_size_bytes`, when it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence_meta: Option<EvidenceMeta>,
}

/// One expectation's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct ExpectationReport {
    /// The expression as written.
    pub expression: String,
    /// `passed`, `failed` or `errored`.
    pub outcome: ExpectationOutcome,
    /// Why it did not pass.
    pub message: Option<String>,
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Copies text through the redactor.
fn text(redactor: &dyn Redactor, text: &str) -> String {
    redactor
        .redact_text(text)
        .unwrap_or_else(|| text.to_owned())
}

fn optional(redactor: &dyn Redactor, value: Option<&str>) -> Option<String> {
    value.map(|v| text(redactor, v))
}

/// Copies a config or data object through the redactor's structured walk, under its report key
/// (`config`, `data`) so that `redaction.paths` rules read as they do in the report: `data.stdout`,
/// `config.query`, a bare `stdout`, or `data` for every value of the object (the walk keeps the
/// shape, masking each leaf).
fn object(
    redactor: &dyn Redactor,
    key: &str,
    map: &Map<String, Value>,
) -> Result<Map<String, Value>, RedactionError> {
    let mut wrapper = Map::new();
    wrapper.insert(key.to_owned(), Value::Object(map.clone()));
    let mut value = Value::Object(wrapper);
    redactor.redact_json(&mut value)?;
    // The walk keeps the shape of what it is given; only a secret spelled like the key itself
    // would rename it, and then nothing of the object is kept.
    match value {
        Value::Object(mut wrapper) => match wrapper.remove(key) {
            Some(Value::Object(map)) => Ok(map),
            _ => Err(RedactionError(format!("the `{key}` object was not kept"))),
        },
        _ => Err(RedactionError("an object changed shape".into())),
    }
}

/// Builds the redacted report of a run.
pub fn build(
    profile: &LoadedProfile,
    outcome: &RunOutcome,
    started: Timestamp,
    redactor: &dyn Redactor,
) -> Report {
    let summary = summarise(outcome);
    let controls: Result<Vec<ControlReport>, RedactionError> = profile
        .controls
        .iter()
        .zip(&outcome.controls)
        .map(|(control, result)| control_report(control, result, redactor))
        .collect();
    let Ok(controls) = controls else {
        return Report::SummaryOnly(SummaryOnly {
            schema_version: SCHEMA_VERSION,
            error: "the report could not be redacted; only the summary is shown".into(),
            summary,
        });
    };
    Report::Run(Box::new(RunReport {
        schema_version: SCHEMA_VERSION,
        reglet_version: env!("CARGO_PKG_VERSION").to_owned(),
        profile: ProfileReport {
            name: text(redactor, &profile.metadata.name),
            version: text(redactor, &profile.metadata.version),
            path: text(redactor, &profile.path.display().to_string()),
        },
        started_at: started.as_offset_date_time().unix_timestamp(),
        duration_ms: ms(outcome.duration),
        partial: outcome.stopped.is_some(),
        stopped_reason: optional(redactor, outcome.stopped.as_deref()),
        summary,
        controls,
    }))
}

fn summarise(outcome: &RunOutcome) -> Summary {
    let mut s = Summary {
        total_controls: outcome.controls.len(),
        ..Summary::default()
    };
    for control in &outcome.controls {
        match control.status {
            ControlStatus::Pass => s.passed_controls += 1,
            ControlStatus::Fail => s.failed_controls += 1,
            ControlStatus::Error => s.error_controls += 1,
            ControlStatus::Skipped => s.skipped_controls += 1,
        }
        for o in &control.observations {
            s.total_observations += 1;
            match o.status {
                ObservationStatus::Pass => s.passed_observations += 1,
                ObservationStatus::Fail => s.failed_observations += 1,
                ObservationStatus::Error => s.error_observations += 1,
                ObservationStatus::Skipped => {}
            }
        }
    }
    s
}

fn control_report(
    control: &Control,
    result: &ControlOutcome,
    redactor: &dyn Redactor,
) -> Result<ControlReport, RedactionError> {
    Ok(ControlReport {
        id: text(redactor, &control.id),
        name: text(redactor, &control.name),
        description: text(redactor, &control.description),
        severity: control.severity,
        owner: optional(redactor, control.owner.as_deref()),
        tags: control.tags.iter().map(|t| text(redactor, t)).collect(),
        status: engine::control_status_str(result.status),
        message: text(redactor, &result.message),
        skip_reason: optional(redactor, result.skip_reason.as_deref()),
        attempts: result.attempts,
        duration_ms: ms(result.duration),
        location: LocationReport {
            file: text(redactor, &control.location.file.display().to_string()),
            line: control.location.line,
        },
        observations: result
            .observations
            .iter()
            .zip(&control.observations)
            .map(|(o, declared)| observation_report(o, declared, redactor))
            .collect::<Result<_, _>>()?,
    })
}

fn observation_report(
    o: &ObservationOutcome,
    declared: &Observation,
    redactor: &dyn Redactor,
) -> Result<ObservationReport, RedactionError> {
    let evidence = o.evidence.as_ref();
    Ok(ObservationReport {
        plugin: text(redactor, o.plugin.as_str()),
        status: engine::observation_status_str(o.status),
        config: object(redactor, "config", declared.config.value())?,
        data: evidence
            .and_then(evidence_view::data)
            .map(|data| object(redactor, "data", data))
            .transpose()?,
        message: optional(redactor, evidence.and_then(evidence_view::message)),
        error: optional(redactor, o.error.as_deref()),
        expectations: o
            .expectations
            .iter()
            .map(|e| ExpectationReport {
                expression: text(redactor, &e.expression),
                outcome: e.outcome,
                message: optional(redactor, e.message.as_deref()),
            })
            .collect(),
        duration_ms: ms(o.duration),
        evidence_meta: o.evidence_meta.clone().map(|mut meta| {
            for field in &mut meta.fields {
                field.key = text(redactor, &field.key);
            }
            meta
        }),
    })
}
