//! `Evidence`: what one observation of a plugin returns.

use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::error_detail::ErrorDetail;
use crate::go_json;
use crate::go_struct;
use crate::timestamp::Timestamp;

/// The plugin's own verdict on an observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EvidenceStatus {
    /// The check ran and the plugin found what it looked for (Gen 1 `Status: true`).
    Success,
    /// The check ran and the plugin's own condition did not hold (Gen 1 `Status: false`).
    Failure,
    /// The check could not be carried out (Gen 1 `Status: false` with an `Error`).
    Error,
}

impl EvidenceStatus {
    /// The Gen 2 wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            EvidenceStatus::Success => "success",
            EvidenceStatus::Failure => "failure",
            EvidenceStatus::Error => "error",
        }
    }
}

/// Timing and provenance a Gen 2 plugin attaches to its result.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct ResultMetadata {
    /// When the plugin started the check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Timestamp>,
    /// When the plugin finished the check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<Timestamp>,
    /// The SDK version that built the plugin.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sdk_version: Option<String>,
    /// The plugin's self-reported identity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plugin_id: Option<String>,
    /// Duration of the check in nanoseconds.
    pub duration_ns: i64,
}

go_struct!(ResultMetadata {
    "start_time" => start_time with go_json::decode_present,
    "end_time" => end_time with go_json::decode_present,
    "sdk_version" => sdk_version with go_json::decode_present,
    "plugin_id" => plugin_id with go_json::decode_present,
    "duration_ns" => duration_ns,
});

/// Reads Go's `abi.RunMetadata` by Go's rules.
impl<'de> Deserialize<'de> for ResultMetadata {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        go_json::deserialize(deserializer)
    }
}

/// What the plugin concluded about a check: one value, so a verdict and an error cannot disagree.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The check ran and the plugin found what it looked for.
    Success,
    /// The check ran and the plugin's own condition did not hold.
    Failure,
    /// The check could not be carried out, with the plugin's error when it gave one (a Gen 2
    /// result may say `"error"` without detail).
    Error(Option<ErrorDetail>),
}

impl Outcome {
    /// The verdict without the detail.
    pub fn status(&self) -> EvidenceStatus {
        match self {
            Outcome::Success => EvidenceStatus::Success,
            Outcome::Failure => EvidenceStatus::Failure,
            Outcome::Error(_) => EvidenceStatus::Error,
        }
    }

    /// The plugin's error, when the check could not be carried out and it said why.
    pub fn error(&self) -> Option<&ErrorDetail> {
        match self {
            Outcome::Error(detail) => detail.as_ref(),
            Outcome::Success | Outcome::Failure => None,
        }
    }

    /// Reads a wire verdict with the error the document carried: an attached error means the
    /// check could not be carried out, whatever the verdict says (Reglet would report such a
    /// check as passed or failed and hide that it was broken).
    pub fn from_wire(status: EvidenceStatus, error: Option<ErrorDetail>) -> Self {
        match (status, error) {
            (_, Some(detail)) => Outcome::Error(Some(detail)),
            (EvidenceStatus::Success, None) => Outcome::Success,
            (EvidenceStatus::Failure, None) => Outcome::Failure,
            (EvidenceStatus::Error, None) => Outcome::Error(None),
        }
    }
}

/// The result of one observation, whatever ABI generation produced it.
///
/// `outcome` is the plugin's verdict, with its structured error when the check could not be
/// performed. `data` holds the free-form evidence that `expect` expressions read as `data.*`; it
/// sits beside the outcome because a plugin sends data with any verdict (a failed DNS lookup still
/// reports the name it asked for). `message` and `metadata` exist only in Gen 2 results and are
/// kept so nothing a plugin says is lost.
#[derive(Debug, Clone, PartialEq)]
pub struct Evidence {
    /// The plugin's verdict, and its error when the check could not be carried out.
    pub outcome: Outcome,
    /// Free-form evidence; `None` when the plugin sent none.
    pub data: Option<Map<String, Value>>,
    /// When the observation was made; `None` when the plugin did not say.
    pub timestamp: Option<Timestamp>,
    /// Optional raw text.
    pub raw: Option<String>,
    /// A human-readable summary (Gen 2).
    pub message: Option<String>,
    /// Timing metadata (Gen 2).
    pub metadata: Option<ResultMetadata>,
}

impl Evidence {
    /// Evidence with the given outcome and nothing else, stamped now.
    pub fn new(outcome: Outcome) -> Self {
        Evidence {
            outcome,
            data: None,
            timestamp: Some(Timestamp::now()),
            raw: None,
            message: None,
            metadata: None,
        }
    }

    /// A successful observation with the given data, stamped now.
    pub fn success(data: Map<String, Value>) -> Self {
        Evidence {
            data: Some(data),
            ..Evidence::new(Outcome::Success)
        }
    }

    /// A failed check (the plugin's condition did not hold) with the given data, stamped now.
    pub fn failure(data: Map<String, Value>) -> Self {
        Evidence {
            data: Some(data),
            ..Evidence::new(Outcome::Failure)
        }
    }

    /// An observation that could not be carried out, stamped now.
    pub fn error(error: ErrorDetail) -> Self {
        Evidence::new(Outcome::Error(Some(error)))
    }

    /// The plugin's verdict.
    pub fn status(&self) -> EvidenceStatus {
        self.outcome.status()
    }

    /// The plugin's error, when the check could not be carried out and it said why.
    pub fn error_detail(&self) -> Option<&ErrorDetail> {
        self.outcome.error()
    }

    /// True when the plugin's verdict is success (Gen 1's boolean `Status`).
    pub fn passed(&self) -> bool {
        self.outcome == Outcome::Success
    }
}

/// The canonical form used in reports: lower-case keys, a string status, nothing dropped.
impl Serialize for Evidence {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("status", &self.status())?;
        map.serialize_entry("timestamp", &self.timestamp)?;
        map.serialize_entry("data", &self.data)?;
        map.serialize_entry("error", &self.error_detail())?;
        if let Some(raw) = &self.raw {
            map.serialize_entry("raw", raw)?;
        }
        if let Some(message) = &self.message {
            map.serialize_entry("message", message)?;
        }
        if let Some(metadata) = &self.metadata {
            map.serialize_entry("metadata", metadata)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AbiGeneration;
    use crate::error_detail::ErrorType;
    use EvidenceStatus::*;

    #[test]
    fn a_wire_verdict_and_its_error_make_one_outcome() {
        let detail = ErrorDetail::new(ErrorType::Network, "refused");
        let cases = [
            (Success, None, Outcome::Success),
            (Failure, None, Outcome::Failure),
            (Error, None, Outcome::Error(None)),
            (Success, Some(&detail), Outcome::Error(Some(detail.clone()))),
            (Failure, Some(&detail), Outcome::Error(Some(detail.clone()))),
            (Error, Some(&detail), Outcome::Error(Some(detail.clone()))),
        ];
        for (status, error, want) in cases {
            let outcome = Outcome::from_wire(status, error.cloned());
            assert_eq!(outcome, want, "{status:?} with {error:?}");
            assert_eq!(outcome.error(), error);
        }
    }

    #[test]
    fn both_wire_shapes_carry_the_outcome() {
        let detail = ErrorDetail::new(ErrorType::Timeout, "slow");
        for (outcome, gen1_status, gen2_status) in [
            (Outcome::Success, true, "success"),
            (Outcome::Failure, false, "failure"),
            (Outcome::Error(Some(detail.clone())), false, "error"),
            (Outcome::Error(None), false, "error"),
        ] {
            let evidence = Evidence::new(outcome.clone());
            let gen1 = evidence.encode(AbiGeneration::Gen1);
            let gen2 = evidence.encode(AbiGeneration::Gen2);
            assert_eq!(gen1["Status"], gen1_status, "{outcome:?}");
            assert_eq!(gen2["status"], gen2_status, "{outcome:?}");
            let error = serde_json::to_value(outcome.error()).unwrap();
            assert_eq!(gen1["Error"], error, "{outcome:?}");
            assert_eq!(gen2.get("error").cloned().unwrap_or_default(), error);
            let again = Evidence::decode(AbiGeneration::Gen2, gen2.to_string().as_bytes());
            assert_eq!(again.unwrap().outcome, outcome);
        }
    }
}
