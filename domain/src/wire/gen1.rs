//! Gen 1 documents: Evidence with Go's capitalised keys, and the `describe` PluginInfo.

use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value, json};

use super::DecodeError;
use crate::error_detail::ErrorDetail;
use crate::evidence::{Evidence, EvidenceStatus, Outcome};
use crate::go_json::{self, GoDecode};
use crate::go_struct;
use crate::grants::GrantSet;
use crate::plugin_info::PluginInfo;
use crate::plugin_name::PluginName;
use crate::timestamp::Timestamp;

/// The Go SDK's Evidence struct (no JSON tags, so the keys are the Go field names).
#[derive(Default)]
struct WireEvidence {
    status: bool,
    error: Option<ErrorDetail>,
    timestamp: Option<Timestamp>,
    data: Option<Map<String, Value>>,
    raw: Option<String>,
}

go_struct!(WireEvidence {
    "Status" => status,
    "Error" => error,
    "Timestamp" => timestamp with go_json::decode_present,
    "Data" => data,
    "Raw" => raw,
});

/// Decodes a Gen 1 Evidence document (`observe`'s result).
///
/// `Status: false` with an `Error` means the check could not run and becomes [`Outcome::Error`];
/// without an `Error` it is a plain [`Outcome::Failure`]. An `Error` beside `Status: true` is an
/// error too ([`Outcome::from_wire`]).
///
/// # Errors
///
/// A [`DecodeError`] when `bytes` are not UTF-8 JSON or a key holds a value of the wrong type
/// (the reason names the key).
pub fn decode_evidence(bytes: &[u8]) -> Result<Evidence, DecodeError> {
    let wire: WireEvidence = go_json::from_slice("evidence", bytes)?;
    let status = match wire.status {
        true => EvidenceStatus::Success,
        false if wire.error.is_some() => EvidenceStatus::Error,
        false => EvidenceStatus::Failure,
    };
    Ok(Evidence {
        outcome: Outcome::from_wire(status, wire.error),
        data: wire.data,
        timestamp: wire.timestamp,
        raw: wire.raw,
        message: None,
        metadata: None,
    })
}

/// Encodes Evidence exactly as the Gen 1 Go SDK marshals it (every key present).
pub fn encode_evidence(evidence: &Evidence) -> Value {
    let timestamp = evidence
        .timestamp
        .map(|ts| ts.to_string())
        .unwrap_or_else(|| "0001-01-01T00:00:00Z".to_owned());
    json!({
        "Status": evidence.passed(),
        "Error": evidence.error_detail(),
        "Timestamp": timestamp,
        "Data": evidence.data,
        "Raw": evidence.raw,
    })
}

/// The Gen 1 SDK's Metadata, read as leniently as Reglet reads it, plus the two keys of the
/// Evidence-shaped error document the SDK sends instead when `Describe` fails.
#[derive(Default)]
struct WireInfo {
    name: Lenient<String>,
    version: Lenient<String>,
    description: Lenient<String>,
    sdk_version: Lenient<String>,
    min_host_version: Lenient<String>,
    capabilities: Lenient<Vec<Lenient<WireCapability>>>,
    status: Lenient<Value>,
    error: Lenient<ErrorDetail>,
}

go_struct!(WireInfo {
    "name" => name,
    "version" => version,
    "description" => description,
    "sdk_version" => sdk_version,
    "min_host_version" => min_host_version,
    "capabilities" => capabilities,
    "status" => status,
    "error" => error,
});

/// One declared capability of a Gen 1 plugin.
#[derive(Default)]
struct WireCapability {
    kind: Lenient<String>,
    pattern: Lenient<String>,
}

go_struct!(WireCapability {
    "kind" => kind,
    "pattern" => pattern,
});

/// A value Reglet reads leniently: one of the wrong type (or `null`) is skipped as if absent,
/// instead of failing the document.
struct Lenient<T>(Option<T>);

impl<T> Default for Lenient<T> {
    fn default() -> Self {
        Lenient(None)
    }
}

impl<T: GoDecode + Default> GoDecode for Lenient<T> {
    fn go_decode<'de, D: Deserializer<'de>>(&mut self, deserializer: D) -> Result<(), D::Error> {
        let value = Value::deserialize(deserializer)?;
        if !value.is_null() {
            let mut out = T::default();
            if out.go_decode(value).is_ok() {
                self.0 = Some(out);
            }
        }
        Ok(())
    }
}

/// Decodes the result of Gen 1 `describe`, as leniently as Reglet does, but without hiding
/// failures.
///
/// Keys of the wrong type are ignored (as Reglet does). Capabilities that do not parse are kept in
/// [`PluginInfo::unrecognised_capabilities`] rather than dropped silently.
///
/// # Errors
///
/// A [`DecodeError`] when `bytes` are not a JSON object, when the plugin names itself with no or
/// an invalid [`PluginName`], and when the SDK answered with an Evidence-shaped error document
/// instead of metadata (its `Describe` failed; Reglet reads that as empty metadata).
pub fn decode_plugin_info(bytes: &[u8]) -> Result<PluginInfo, DecodeError> {
    let wire: WireInfo = go_json::from_slice("plugin info", bytes)?;
    let Some(name) = wire.name.0 else {
        let reason = if let Some(error) = wire.error.0 {
            error.to_string()
        } else if wire.status.0.is_some() {
            "no error detail".to_owned()
        } else {
            return Err(DecodeError::new(
                "plugin info",
                "describe() returned no name",
            ));
        };
        return Err(DecodeError::new(
            "plugin info",
            format!("describe() returned an error document instead of metadata: {reason}"),
        ));
    };
    let name = PluginName::new(&name)
        .map_err(|e| DecodeError::new("plugin info", format!("key \"name\": {e}")))?;
    let mut info = PluginInfo {
        name,
        version: wire.version.0.unwrap_or_default(),
        description: wire.description.0.unwrap_or_default(),
        sdk_version: wire.sdk_version.0,
        min_host_version: wire.min_host_version.0,
        capabilities: GrantSet::default(),
        unrecognised_capabilities: Vec::new(),
    };
    for capability in wire.capabilities.0.unwrap_or_default() {
        let Some(WireCapability {
            kind: Lenient(Some(kind)),
            pattern: Lenient(Some(pattern)),
        }) = capability.0
        else {
            continue;
        };
        let text = format!("{kind}:{pattern}");
        match GrantSet::parse(&text) {
            Ok(grant) => info.capabilities = info.capabilities.merge(&grant),
            Err(err) => info
                .unrecognised_capabilities
                .push(format!("{text} ({err})")),
        }
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error_detail::ErrorType;
    use crate::grants::AccessRequest;

    const DNS_ERROR: &str = r#"{"Status":false,
 "Error":{"message":"lookup nosuch.invalid on 127.0.0.53:53: no such host","type":"network","code":"",
          "is_not_found":true},
 "Timestamp":"2026-01-10T09:15:02.5Z",
 "Data":{"hostname":"nosuch.invalid","record_type":"A","query_time_ms":12,
         "error_message":"lookup nosuch.invalid on 127.0.0.53:53: no such host",
         "is_timeout":false,"is_not_found":true},
 "Raw":null}"#;

    const FILE_SUCCESS: &str = r#"{"Status":true,"Error":null,"Timestamp":"2026-01-10T09:15:02.123456789Z",
 "Data":{"path":"/etc/ssh/sshd_config","exists":true,"readable":true,"is_dir":false,"size":3223,
         "mode":"0600","permissions":"-rw-------","mod_time":"2025-12-01T10:00:00Z",
         "uid":0,"gid":0,"is_symlink":false},
 "Raw":null}"#;

    fn json(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn reference_documents_round_trip() {
        for doc in [DNS_ERROR, FILE_SUCCESS] {
            let evidence = decode_evidence(doc.as_bytes()).unwrap();
            assert_eq!(encode_evidence(&evidence), json(doc));
            let again = decode_evidence(encode_evidence(&evidence).to_string().as_bytes()).unwrap();
            assert_eq!(again, evidence);
        }
    }

    #[test]
    fn status_false_with_error_is_an_error() {
        let evidence = decode_evidence(DNS_ERROR.as_bytes()).unwrap();
        assert_eq!(evidence.status(), EvidenceStatus::Error);
        let error = evidence.error_detail().cloned().unwrap();
        assert_eq!(error.kind, ErrorType::Network);
        assert!(error.is_not_found);
        assert_eq!(evidence.data.unwrap()["query_time_ms"], 12);
    }

    #[test]
    fn status_false_without_error_is_a_failure() {
        let evidence = decode_evidence(br#"{"Status":false,"Data":{"x":1}}"#).unwrap();
        assert_eq!(evidence.status(), EvidenceStatus::Failure);
    }

    #[test]
    fn lower_case_and_mixed_keys_decode_like_go() {
        let evidence =
            decode_evidence(br#"{"status":true,"DATA":{"Exists":true},"timestamp":null}"#).unwrap();
        assert!(evidence.passed());
        assert_eq!(evidence.data.unwrap()["Exists"], true);
        assert_eq!(evidence.timestamp, None);
    }

    #[test]
    fn missing_keys_take_zero_values() {
        let evidence = decode_evidence(b"{}").unwrap();
        assert_eq!(evidence.status(), EvidenceStatus::Failure);
        assert_eq!(evidence.data, None);
        let encoded = encode_evidence(&evidence);
        assert_eq!(encoded["Timestamp"], "0001-01-01T00:00:00Z");
    }

    #[test]
    fn bad_documents_name_the_key() {
        let err = decode_evidence(br#"{"Status":"yes"}"#).unwrap_err();
        assert!(err.to_string().contains("Status"), "{err}");
        let err = decode_evidence(br#"{"Timestamp":"soon"}"#).unwrap_err();
        assert!(err.to_string().contains("Timestamp"), "{err}");
        let err = decode_evidence(br#"{"Data":[1,2]}"#).unwrap_err();
        assert!(err.to_string().contains("Data"), "{err}");
        let err = decode_evidence(b"{\"Raw\":\"\xff\"}").unwrap_err();
        assert!(err.to_string().contains("UTF-8"), "{err}");
        let err = decode_evidence(b"not json").unwrap_err();
        assert!(err.to_string().contains("JSON"), "{err}");
    }

    #[test]
    fn file_plugin_info_decodes_with_capabilities() {
        let doc = br#"{"name":"file","version":"1.1.0","description":"File existence, content, and hash checks",
 "sdk_version":"0.1.0-alpha","min_host_version":"0.2.0",
 "capabilities":[{"kind":"fs","pattern":"read:**"}]}"#;
        let info = decode_plugin_info(doc).unwrap();
        assert_eq!(info.name.as_str(), "file");
        assert_eq!(info.version, "1.1.0");
        assert_eq!(info.sdk_version.as_deref(), Some("0.1.0-alpha"));
        assert!(
            info.capabilities
                .allows(&AccessRequest::ReadFile("/etc/hosts".as_ref()))
        );
        assert!(info.unrecognised_capabilities.is_empty());
    }

    #[test]
    fn plugin_info_is_loose_about_types_but_keeps_bad_capabilities() {
        let doc = br#"{"name":"x","version":3,"capabilities":[{"kind":"network","pattern":"outbound:99999"},
                     {"kind":"kv","pattern":"read:*"},"junk",{"kind":"exec","pattern":"/bin/ls"}]}"#;
        let info = decode_plugin_info(doc).unwrap();
        assert_eq!(info.version, "");
        assert_eq!(info.unrecognised_capabilities.len(), 2);
        assert!(info.capabilities.allows(&AccessRequest::Exec {
            command: "/bin/ls",
            args: &[]
        }));
    }

    #[test]
    fn describe_error_documents_are_errors_not_empty_metadata() {
        let doc = br#"{"Status":false,"Error":{"message":"plugin not registered","type":"internal","code":""}}"#;
        let err = decode_plugin_info(doc).unwrap_err();
        assert!(err.to_string().contains("plugin not registered"), "{err}");
    }
}
