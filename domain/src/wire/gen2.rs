//! Gen 2 documents: the `_observe` Result and the `_manifest` Manifest.

use serde::Serialize;
use serde_json::{Map, Value};

use super::DecodeError;
use crate::error_detail::ErrorDetail;
use crate::evidence::{Evidence, EvidenceStatus, Outcome, ResultMetadata};
use crate::go_json;
use crate::go_struct;
use crate::manifest::PluginManifest;
use crate::timestamp::Timestamp;

/// The Gen 2 SDK's Result struct (`abi.Result`; `raw` is ours, kept for symmetry with Gen 1).
#[derive(Default, Serialize)]
struct WireResult {
    timestamp: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<ResultMetadata>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorDetail>,
    status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    raw: Option<String>,
}

go_struct!(WireResult {
    "timestamp" => timestamp with go_json::decode_present,
    "data" => data,
    "metadata" => metadata,
    "error" => error,
    "status" => status,
    "message" => message with go_json::decode_present,
    "raw" => raw,
});

/// Decodes a Gen 2 Result document (`_observe`'s result).
///
/// A missing status is read as `error` when an error is attached and `failure` otherwise (Go's zero
/// value is never "success"); an attached error makes any status an error
/// ([`Outcome::from_wire`]).
///
/// # Errors
///
/// A [`DecodeError`] when `bytes` are not UTF-8 JSON, a key holds a value of the wrong type (the
/// reason names the key), or the status is not `success`, `failure` or `error` (it names it).
pub fn decode_result(bytes: &[u8]) -> Result<Evidence, DecodeError> {
    let wire: WireResult = go_json::from_slice("result", bytes)?;
    let status = match wire.status.as_str() {
        "success" => EvidenceStatus::Success,
        "failure" => EvidenceStatus::Failure,
        "error" => EvidenceStatus::Error,
        "" if wire.error.is_some() => EvidenceStatus::Error,
        "" => EvidenceStatus::Failure,
        other => {
            return Err(DecodeError::new(
                "result",
                format!(
                    "key \"status\": unknown status {other:?} (expected success, failure or error)"
                ),
            ));
        }
    };
    Ok(Evidence {
        outcome: Outcome::from_wire(status, wire.error),
        data: wire.data,
        timestamp: wire.timestamp,
        raw: wire.raw,
        message: wire.message.filter(|m| !m.is_empty()),
        metadata: wire.metadata,
    })
}

/// Encodes Evidence as the Gen 2 SDK marshals a Result (empty fields omitted).
///
/// # Panics
///
/// Never: the Go zero time is valid RFC 3339 and a Result always serialises.
pub fn encode_result(evidence: &Evidence) -> Value {
    let wire = WireResult {
        timestamp: Some(evidence.timestamp.unwrap_or_else(|| {
            "0001-01-01T00:00:00Z"
                .parse()
                .expect("the Go zero time is valid RFC 3339")
        })),
        data: evidence.data.clone().filter(|d| !d.is_empty()),
        metadata: evidence.metadata.clone(),
        error: evidence.error_detail().cloned(),
        status: evidence.status().as_str().to_owned(),
        message: evidence.message.clone(),
        raw: evidence.raw.clone(),
    };
    serde_json::to_value(wire).expect("a Result always serialises")
}

/// Decodes a Gen 2 Manifest document (`_manifest`'s result).
///
/// # Errors
///
/// A [`DecodeError`] when `bytes` are not a JSON object of the Manifest's shape, when a declared
/// capability does not parse, or when the plugin's name is not a valid [`crate::PluginName`].
pub fn decode_manifest(bytes: &[u8]) -> Result<PluginManifest, DecodeError> {
    crate::manifest::decode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grants::AccessRequest;

    fn json(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    const SUCCESS: &str = r#"{"timestamp":"2026-02-10T08:00:00Z","data":{"status_code":200,"url":"https://example.com"},"status":"success","message":"ok"}"#;
    const ERROR: &str = r#"{"timestamp":"2026-02-10T08:00:00.25Z","error":{"message":"bad config","type":"config","code":"hostname","details":{"field":"hostname"}},"status":"error",
        "metadata":{"start_time":"2026-02-10T08:00:00Z","end_time":"2026-02-10T08:00:00.25Z","sdk_version":"0.1.0","duration_ns":250000000}}"#;

    #[test]
    fn reference_documents_round_trip() {
        for doc in [SUCCESS, ERROR] {
            let evidence = decode_result(doc.as_bytes()).unwrap();
            assert_eq!(encode_result(&evidence), json(doc));
        }
    }

    #[test]
    fn statuses_map_to_the_internal_model() {
        assert!(decode_result(SUCCESS.as_bytes()).unwrap().passed());
        let error = decode_result(ERROR.as_bytes()).unwrap();
        assert_eq!(error.status(), EvidenceStatus::Error);
        assert_eq!(
            error.error_detail().cloned().unwrap().details.unwrap()["field"],
            "hostname"
        );
        let failure = decode_result(br#"{"status":"failure","message":"no"}"#).unwrap();
        assert_eq!(failure.status(), EvidenceStatus::Failure);
        assert_eq!(failure.message.as_deref(), Some("no"));
    }

    #[test]
    fn unknown_status_is_named() {
        let err = decode_result(br#"{"status":"maybe"}"#).unwrap_err();
        assert!(err.to_string().contains("\"maybe\""), "{err}");
    }

    #[test]
    fn keys_are_case_insensitive() {
        let evidence = decode_result(br#"{"Status":"success","Data":{"k":1}}"#).unwrap();
        assert!(evidence.passed());
        assert_eq!(evidence.data.unwrap()["k"], 1);
    }

    #[test]
    fn reference_manifest_decodes() {
        let doc = br#"{"services":{"dns":{"name":"dns","description":"DNS resolution","operations":[
   {"name":"resolve","description":"Resolve hostname","input_fields":["hostname","record_type"]}]}},
 "name":"dns","version":"1.0.0","description":"DNS resolution and record validation",
 "sdk_version":"0.1.0","config_schema":{"type":"object","properties":{"hostname":{"type":"string"}}},
 "capabilities":{"network":{"rules":[{"hosts":["*"],"ports":["53"]}]}}}"#;
        let manifest = decode_manifest(doc).unwrap();
        assert_eq!(manifest.name.as_str(), "dns");
        assert_eq!(manifest.services["dns"].operations[0].name, "resolve");
        assert!(manifest.capabilities.allows(&AccessRequest::Connect {
            host: "8.8.8.8",
            port: 53
        }));
        let info = manifest.info();
        assert_eq!(info.version, "1.0.0");
        let schema = manifest.schema().unwrap();
        assert_eq!(schema.fields()[0].name, "hostname");
    }
}
