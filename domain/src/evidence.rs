//! `Evidence`: what one observation of a plugin returns.

use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::error_detail::ErrorDetail;
use crate::go_struct;
use crate::timestamp::Timestamp;
use crate::wire::go_json;

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

/// The result of one observation, whatever ABI generation produced it.
///
/// `data` holds the free-form evidence that `expect` expressions read as `data.*`. `error` carries
/// the plugin's structured error when the check could not be performed. `message` and `metadata`
/// exist only in Gen 2 results and are kept so nothing a plugin says is lost.
#[derive(Debug, Clone, PartialEq)]
pub struct Evidence {
    /// The plugin's verdict.
    pub status: EvidenceStatus,
    /// Free-form evidence; `None` when the plugin sent none.
    pub data: Option<Map<String, Value>>,
    /// When the observation was made; `None` when the plugin did not say.
    pub timestamp: Option<Timestamp>,
    /// Optional raw text.
    pub raw: Option<String>,
    /// The plugin's error, if the check failed to run.
    pub error: Option<ErrorDetail>,
    /// A human-readable summary (Gen 2).
    pub message: Option<String>,
    /// Timing metadata (Gen 2).
    pub metadata: Option<ResultMetadata>,
}

impl Evidence {
    /// A successful observation with the given data, stamped now.
    pub fn success(data: Map<String, Value>) -> Self {
        Evidence {
            status: EvidenceStatus::Success,
            data: Some(data),
            timestamp: Some(Timestamp::now()),
            raw: None,
            error: None,
            message: None,
            metadata: None,
        }
    }

    /// A failed check (the plugin's condition did not hold) with the given data, stamped now.
    pub fn failure(data: Map<String, Value>) -> Self {
        Evidence {
            status: EvidenceStatus::Failure,
            ..Evidence::success(data)
        }
    }

    /// An observation that could not be carried out, stamped now.
    pub fn error(error: ErrorDetail) -> Self {
        Evidence {
            status: EvidenceStatus::Error,
            data: None,
            timestamp: Some(Timestamp::now()),
            raw: None,
            error: Some(error),
            message: None,
            metadata: None,
        }
    }

    /// True when the plugin's verdict is success (Gen 1's boolean `Status`).
    pub fn passed(&self) -> bool {
        self.status == EvidenceStatus::Success
    }

    /// Decodes a document in the given generation's wire format.
    pub fn decode(
        generation: crate::AbiGeneration,
        bytes: &[u8],
    ) -> Result<Self, crate::DecodeError> {
        match generation {
            crate::AbiGeneration::Gen1 => crate::wire::gen1::decode_evidence(bytes),
            crate::AbiGeneration::Gen2 => crate::wire::gen2::decode_result(bytes),
        }
    }

    /// Encodes into the given generation's wire format.
    pub fn encode(&self, generation: crate::AbiGeneration) -> Value {
        match generation {
            crate::AbiGeneration::Gen1 => crate::wire::gen1::encode_evidence(self),
            crate::AbiGeneration::Gen2 => crate::wire::gen2::encode_result(self),
        }
    }
}

/// The canonical form used in reports: lower-case keys, a string status, nothing dropped.
impl Serialize for Evidence {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("status", &self.status)?;
        map.serialize_entry("timestamp", &self.timestamp)?;
        map.serialize_entry("data", &self.data)?;
        map.serialize_entry("error", &self.error)?;
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
