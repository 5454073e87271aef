//! Keeping reports bounded: evidence whose `data` is larger than the system config's
//! `max_evidence_size_bytes` is cut, as Reglet does, after the expectations have judged it whole.
//!
//! Reglet cuts every top-level string longer than half the limit with a `[TRUNCATED]` marker and
//! replaces every oversized list or map with a `_truncated` stub, recording the original size in
//! `evidence_meta`. Here the same, plus what Reglet's design asked for and never did: the sha256
//! of each cut value, so what was observed can still be compared, and fields are cut largest
//! first, each to the room the others leave, until the data fits.

use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::{ObservationOutcome, RunOutcome};

/// Reglet's default limit: 1 MiB of evidence data per observation.
pub const DEFAULT_EVIDENCE_LIMIT: usize = 1 << 20;

/// What marks the end of a cut string.
const MARKER: &str = "…[TRUNCATED]";

/// How an observation's evidence was cut.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EvidenceMeta {
    /// Always true: the meta is only there when something was cut.
    pub truncated: bool,
    /// Why.
    pub reason: String,
    /// The data's size as JSON before it was cut.
    pub original_size_bytes: usize,
    /// The limit it was cut to.
    pub truncated_at_bytes: usize,
    /// Each field cut, in the order it was cut.
    pub fields: Vec<TruncatedField>,
}

/// One top-level field of the data that was cut.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TruncatedField {
    /// The field's key.
    pub key: String,
    /// Its size as JSON before it was cut.
    pub original_size_bytes: usize,
    /// The sha256 of the whole value: the string's bytes, or a list's or map's JSON.
    pub sha256: String,
}

/// Cuts every observation's data in `outcome` to `limit` bytes of JSON; see the module
/// documentation.
pub fn limit_evidence(outcome: &mut RunOutcome, limit: usize) {
    for observation in outcome
        .controls
        .iter_mut()
        .flat_map(|c| c.observations.iter_mut())
    {
        limit_observation(observation, limit);
    }
}

fn limit_observation(observation: &mut ObservationOutcome, limit: usize) {
    let Some(data) = observation.evidence.as_mut().and_then(|e| e.data.as_mut()) else {
        return;
    };
    // Most evidence is small: a bound that needs no serialising settles it.
    if json_size_bound(data) <= limit {
        return;
    }
    let original = json_size(data);
    if original <= limit {
        return;
    }
    let mut sizes: Vec<(String, usize)> = data
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::to_vec(v).map_or(0, |b| b.len())))
        .collect();
    sizes.sort_by_key(|(_, size)| std::cmp::Reverse(*size));
    let half = limit / 2;
    let mut fields = Vec::new();
    let mut size = original;
    for (key, field_size) in sizes {
        // Reglet's rule first (anything over half the limit), then largest first until it fits.
        if field_size <= half && size <= limit {
            break;
        }
        let Some(value) = data.get_mut(&key) else {
            continue;
        };
        // A field keeps at most half the limit (Reglet's rule), and no more than the room the
        // rest of the data leaves; one that gets no room keeps only its marker and hash.
        let others = size.saturating_sub(field_size);
        let room = limit.saturating_sub(others + key.len() + MARKER.len() + 8);
        let (cut, sha256) = cut_value(value, room.min(half));
        *value = cut;
        fields.push(TruncatedField {
            key,
            original_size_bytes: field_size,
            sha256,
        });
        size = json_size(data);
    }
    observation.evidence_meta = Some(EvidenceMeta {
        truncated: true,
        reason: format!("the evidence data was larger than max_evidence_size_bytes ({limit})"),
        original_size_bytes: original,
        truncated_at_bytes: limit,
        fields,
    });
}

/// The value cut to about `keep` bytes, and the sha256 of the whole of it.
fn cut_value(value: &Value, keep: usize) -> (Value, String) {
    match value {
        Value::String(text) => {
            let sha256 = hex::encode(Sha256::digest(text.as_bytes()));
            let mut end = keep.min(text.len());
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            (Value::String(format!("{}{MARKER}", &text[..end])), sha256)
        }
        other => {
            let bytes = serde_json::to_vec(other).unwrap_or_default();
            let sha256 = hex::encode(Sha256::digest(&bytes));
            let mut stub = Map::new();
            stub.insert("_truncated".into(), Value::Bool(true));
            stub.insert("original_size_bytes".into(), Value::from(bytes.len()));
            (Value::Object(stub), sha256)
        }
    }
}

fn json_size(data: &Map<String, Value>) -> usize {
    serde_json::to_vec(data).map_or(usize::MAX, |b| b.len())
}

/// An upper bound of the data's size as JSON, without serialising it: every string byte may
/// become a six-byte escape.
fn json_size_bound(data: &Map<String, Value>) -> usize {
    fn bound(value: &Value) -> usize {
        match value {
            Value::String(s) => 2 + 6 * s.len(),
            Value::Array(items) => 2 + items.iter().map(|v| bound(v) + 1).sum::<usize>(),
            Value::Object(map) => {
                2 + map
                    .iter()
                    .map(|(k, v)| 4 + 6 * k.len() + bound(v))
                    .sum::<usize>()
            }
            // The longest number serde_json writes, `true`, `false`, `null`.
            _ => 24,
        }
    }
    2 + data
        .iter()
        .map(|(k, v)| 4 + 6 * k.len() + bound(v))
        .sum::<usize>()
}

#[cfg(test)]
mod tests {
    use reglet_domain::{Evidence, Outcome, PluginName};
    use serde_json::json;

    use super::*;
    use crate::engine::ObservationStatus;

    fn observed(data: Value) -> ObservationOutcome {
        let mut evidence = Evidence::new(Outcome::Success);
        evidence.data = data.as_object().cloned();
        ObservationOutcome {
            plugin: PluginName::new("file").unwrap(),
            status: ObservationStatus::Pass,
            evidence: Some(evidence),
            error: None,
            expectations: Vec::new(),
            duration: std::time::Duration::ZERO,
            evidence_meta: None,
        }
    }

    fn data(o: &ObservationOutcome) -> &Map<String, Value> {
        o.evidence.as_ref().unwrap().data.as_ref().unwrap()
    }

    #[test]
    fn small_evidence_is_left_alone() {
        let mut o = observed(json!({"exists": true, "content": "short"}));
        limit_observation(&mut o, 1024);
        assert_eq!(o.evidence_meta, None);
        assert_eq!(data(&o)["content"], "short");
    }

    #[test]
    fn large_fields_are_cut_with_a_marker_and_their_hash() {
        let long = "é".repeat(600); // 1 200 bytes
        let list: Vec<u32> = (0..400).collect();
        let mut o = observed(json!({"exists": true, "content": long, "lines": list, "n": 1}));
        limit_observation(&mut o, 1000);
        let meta = o.evidence_meta.clone().expect("cut");
        assert!(meta.truncated && meta.original_size_bytes > 1000);
        assert_eq!(meta.truncated_at_bytes, 1000);
        let d = data(&o);
        let content = d["content"].as_str().unwrap();
        assert!(content.ends_with(MARKER) && content.len() <= 500 + MARKER.len());
        assert_eq!(d["lines"]["_truncated"], true);
        assert_eq!(d["exists"], true);
        assert_eq!(d["n"], 1);
        let content_field = meta.fields.iter().find(|f| f.key == "content").unwrap();
        assert_eq!(
            content_field.sha256,
            hex::encode(Sha256::digest("é".repeat(600).as_bytes()))
        );
        assert!(json_size(d) <= 1000, "{}", json_size(d));
    }

    #[test]
    fn many_medium_fields_are_cut_largest_first_until_the_data_fits() {
        let fields: Map<String, Value> = (0..10)
            .map(|i| (format!("f{i}"), Value::String("x".repeat(100 + i))))
            .collect();
        let mut o = observed(Value::Object(fields));
        limit_observation(&mut o, 600);
        let meta = o.evidence_meta.clone().expect("cut");
        assert_eq!(meta.fields[0].key, "f9", "the largest first");
        assert!(json_size(data(&o)) <= 600);
        assert!(data(&o).contains_key("f0"), "no field is dropped");
    }
}
