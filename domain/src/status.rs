//! Observation and control statuses, and how they add up.

use serde::{Deserialize, Serialize};

use crate::evidence::{Evidence, Outcome};

/// The outcome of one `expect` expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExpectationOutcome {
    /// The expression evaluated to true.
    Passed,
    /// The expression evaluated to false.
    Failed,
    /// The expression could not be evaluated (compile error, runtime error, non-boolean).
    Errored,
}

/// The status of one observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ObservationStatus {
    /// The plugin's verdict (or every expectation) held.
    Pass,
    /// The plugin's verdict (or an expectation) did not hold.
    Fail,
    /// The observation could not be judged.
    Error,
    /// The observation did not run.
    Skipped,
}

impl ObservationStatus {
    /// Judges an observation from its evidence and the outcomes of its expectations.
    ///
    /// Evidence whose outcome is an error makes the observation **error**, with or
    /// without expectations (Reglet reports `fail` when there are none, which hides broken checks).
    /// Without expectations the plugin's verdict decides. With expectations every one counts: any
    /// that could not be evaluated makes **error**, otherwise any false makes **fail**.
    pub fn judge(evidence: &Evidence, expectations: &[ExpectationOutcome]) -> Self {
        if let Outcome::Error(_) = evidence.outcome {
            return ObservationStatus::Error;
        }
        if expectations.is_empty() {
            return match evidence.outcome {
                Outcome::Success => ObservationStatus::Pass,
                _ => ObservationStatus::Fail,
            };
        }
        if expectations.contains(&ExpectationOutcome::Errored) {
            ObservationStatus::Error
        } else if expectations.contains(&ExpectationOutcome::Failed) {
            ObservationStatus::Fail
        } else {
            ObservationStatus::Pass
        }
    }
}

/// The status of a control.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ControlStatus {
    /// Every observation passed.
    Pass,
    /// At least one observation failed.
    Fail,
    /// No observation failed, but at least one could not be judged.
    Error,
    /// Nothing ran.
    Skipped,
}

impl ControlStatus {
    /// Aggregates observation statuses: a proven violation outranks an inconclusive check, so any
    /// fail gives **fail**, else any error gives **error**, else all skipped (or none) gives
    /// **skipped**, else **pass**.
    pub fn aggregate(observations: impl IntoIterator<Item = ObservationStatus>) -> Self {
        let (mut any_fail, mut any_error, mut any_ran) = (false, false, false);
        for status in observations {
            match status {
                ObservationStatus::Fail => any_fail = true,
                ObservationStatus::Error => any_error = true,
                ObservationStatus::Pass => any_ran = true,
                ObservationStatus::Skipped => {}
            }
        }
        if any_fail {
            ControlStatus::Fail
        } else if any_error {
            ControlStatus::Error
        } else if any_ran {
            ControlStatus::Pass
        } else {
            ControlStatus::Skipped
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error_detail::{ErrorDetail, ErrorType};
    use ExpectationOutcome::*;
    use ObservationStatus as O;
    use serde_json::Map;

    #[test]
    fn observation_table() {
        let ok = Evidence::success(Map::new());
        let bad = Evidence::failure(Map::new());
        let broken = Evidence::error(ErrorDetail::new(ErrorType::Network, "refused"));
        let cases: &[(&str, &Evidence, &[ExpectationOutcome], ObservationStatus)] = &[
            ("success, no expects", &ok, &[], O::Pass),
            ("failure, no expects", &bad, &[], O::Fail),
            ("error, no expects", &broken, &[], O::Error),
            ("error outranks expects", &broken, &[Passed], O::Error),
            ("all expects pass", &ok, &[Passed, Passed], O::Pass),
            ("expects decide over the verdict", &bad, &[Passed], O::Pass),
            ("one false fails", &ok, &[Passed, Failed], O::Fail),
            (
                "an errored expect outranks false",
                &ok,
                &[Failed, Errored],
                O::Error,
            ),
        ];
        for (name, evidence, expects, want) in cases {
            assert_eq!(ObservationStatus::judge(evidence, expects), *want, "{name}");
        }
    }

    #[test]
    fn control_table() {
        use ControlStatus as C;
        let cases: &[(&[ObservationStatus], ControlStatus)] = &[
            (&[], C::Skipped),
            (&[O::Skipped, O::Skipped], C::Skipped),
            (&[O::Pass, O::Skipped], C::Pass),
            (&[O::Pass, O::Error], C::Error),
            (&[O::Error, O::Fail], C::Fail),
            (&[O::Fail, O::Pass], C::Fail),
        ];
        for (observations, want) in cases {
            assert_eq!(
                ControlStatus::aggregate(observations.iter().copied()),
                *want,
                "{observations:?}"
            );
        }
    }
}
