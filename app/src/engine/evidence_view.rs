//! Every read of a plugin's [`Evidence`] the engine and the reports make, in one place.
//!
//! The domain's evidence holds one `Outcome`, so its status and error cannot disagree; reading it
//! here keeps the engine and the reports to one interpretation.

use reglet_domain::{ErrorType, Evidence, ExpectationOutcome, ObservationStatus};
use serde_json::{Map, Value};

/// True when the plugin says it could not make the observation.
pub fn is_error(evidence: &Evidence) -> bool {
    evidence.status() == reglet_domain::EvidenceStatus::Error
}

/// The plugin's error message, when the evidence carries an error.
pub fn error_message(evidence: &Evidence) -> Option<String> {
    match evidence.error_detail() {
        Some(detail) if detail.message.is_empty() => {
            Some(format!("{} error", detail.kind.as_str()))
        }
        Some(detail) => Some(detail.message.clone()),
        None if is_error(evidence) => Some("the plugin reported an error without a message".into()),
        None => None,
    }
}

/// True when the evidence's error is one that may go away on its own (a timeout, a network
/// failure), so trying again can help.
pub fn is_transient(evidence: &Evidence) -> bool {
    evidence
        .error_detail()
        .is_some_and(|d| d.is_timeout || matches!(d.kind, ErrorType::Timeout | ErrorType::Network))
}

/// The evidence data, if the plugin sent any.
pub fn data(evidence: &Evidence) -> Option<&Map<String, Value>> {
    evidence.data.as_ref()
}

/// The plugin's human-readable summary, if any.
pub fn message(evidence: &Evidence) -> Option<&str> {
    evidence.message.as_deref()
}

/// Judges an observation from its evidence and expectation outcomes: an evidence error is
/// `error` even with no expectations.
pub fn judge(evidence: &Evidence, outcomes: &[ExpectationOutcome]) -> ObservationStatus {
    if is_error(evidence) {
        return ObservationStatus::Error;
    }
    ObservationStatus::judge(evidence, outcomes)
}

/// What expectations are evaluated against, built from the evidence.
///
/// # Errors
/// The evidence is larger than expectations may read.
pub fn eval_input(
    evidence: &Evidence,
) -> Result<crate::expect::EvalInput, crate::expect::EvalError> {
    crate::expect::EvalInput::from_evidence(evidence, crate::expect::Limits::default())
}
