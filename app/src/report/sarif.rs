//! SARIF 2.1.0, shaped for GitHub code scanning.
//!
//! One rule and one result per control. The result's `kind` says what happened: `pass`,
//! `notApplicable` for a skipped control, and `fail` for a failed control *and* for one that could
//! not be judged (an error): an unjudged control is not evidence of compliance, consumers that
//! filter on `kind` (or ignore it, as GitHub does) must still surface it, and `reglet check`
//! already exits 1 for both. The SARIF `review` kind would force `level: none` and hide its
//! severity. Errors are told apart by `properties.status` and the message.
//!
//! GitHub rejects a result without a location, so every result has one: the file the evidence
//! names (`data.path`), else the control's line in the profile. Evidence data is never copied in:
//! it can hold file contents.

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::{controls, reasons, run_times, text};

/// GitHub's hard limits per run (results and rules) and per rule (tags).
const MAX_RESULTS: usize = 25_000;
const MAX_TAGS: usize = 20;
/// Longest message or description kept; longer ones are cut with a note.
const MAX_MESSAGE: usize = 2_000;
const MAX_SHORT: usize = 1_000;

/// The report as a SARIF 2.1.0 log.
pub fn to_sarif(doc: &Value) -> String {
    let profile = text(&doc["profile"]["name"]);
    let all = controls(doc);
    let kept = keep_worst(all, MAX_RESULTS);
    let mut rules = Vec::with_capacity(kept.len());
    let mut results = Vec::with_capacity(kept.len());
    for (index, c) in kept.iter().enumerate() {
        rules.push(rule(c));
        results.push(result(profile, index, c));
    }
    let partial = doc["partial"].as_bool().unwrap_or(false);
    let mut notifications = Vec::new();
    if let Some(reason) = doc["stopped_reason"].as_str() {
        notifications.push(notification(
            "error",
            &format!("the run ended early: {reason}; unfinished controls are reported as errors"),
        ));
    }
    if let Some(error) = doc["error"].as_str() {
        notifications.push(notification("error", error));
    }
    let omitted = all.len() - kept.len();
    if omitted > 0 {
        notifications.push(notification(
            "warning",
            &format!(
                "{omitted} passing or skipped controls were left out to stay within GitHub's \
                 limit of {MAX_RESULTS} results per run; the JSON report has them all"
            ),
        ));
    }
    let summary = &doc["summary"];
    let failed = summary["failed_controls"].as_u64().unwrap_or(0)
        + summary["error_controls"].as_u64().unwrap_or(0);
    let mut invocation = json!({
        "executionSuccessful": !partial && doc["error"].is_null(),
        "exitCode": u8::from(failed > 0),
        "toolExecutionNotifications": notifications,
    });
    if let Some((start, end)) = run_times(doc) {
        invocation["startTimeUtc"] =
            json!(start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        invocation["endTimeUtc"] = json!(end.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
    }
    let log = json!({
        "$schema": "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "reglet",
                "version": text(&doc["reglet_version"]),
                "rules": rules,
            }},
            // GitHub keeps one set of alerts per category: one per profile.
            "automationDetails": {"id": format!("reglet/{profile}/")},
            "invocations": [invocation],
            "results": results,
            "properties": {
                "profile": doc["profile"],
                "partial": partial,
                "summary": summary,
                "omitted_results": omitted,
            },
        }],
    });
    let mut text = serde_json::to_string_pretty(&log).expect("JSON values serialise");
    text.push('\n');
    text
}

/// Up to `max` controls, failures and errors first and the most severe first, in profile order.
fn keep_worst(all: &[Value], max: usize) -> Vec<&Value> {
    if all.len() <= max {
        return all.iter().collect();
    }
    let rank = |c: &Value| {
        let status = match text(&c["status"]) {
            "fail" | "error" => 0,
            "pass" => 1,
            _ => 2,
        };
        (status, 4 - severity_rank(c["severity"].as_str()))
    };
    let mut order: Vec<usize> = (0..all.len()).collect();
    order.sort_by_key(|&i| rank(&all[i]));
    order.truncate(max);
    order.sort_unstable();
    order.into_iter().map(|i| &all[i]).collect()
}

fn severity_rank(severity: Option<&str>) -> u8 {
    match severity {
        Some("critical") => 4,
        Some("high") => 3,
        Some("medium") => 2,
        Some("low") => 1,
        _ => 0,
    }
}

/// The level of a failing control of this severity.
fn fail_level(severity: Option<&str>) -> &'static str {
    match severity_rank(severity) {
        3 | 4 => "error",
        1 => "note",
        _ => "warning",
    }
}

fn rule(c: &Value) -> Value {
    let severity = c["severity"].as_str();
    let name = text(&c["name"]);
    let description = match text(&c["description"]) {
        "" => name,
        d => d,
    };
    // GitHub shows `security-severity` only for rules tagged `security`.
    let mut tags = vec![json!("security")];
    tags.extend(
        c["tags"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|t| t.as_str() != Some("security"))
            .cloned(),
    );
    tags.truncate(MAX_TAGS);
    let mut properties = Map::new();
    properties.insert("tags".into(), json!(tags));
    if let Some(s) = severity {
        // GitHub's bands: over 9.0 critical, 7.0 to 8.9 high, 4.0 to 6.9 medium, below low.
        let score = match s {
            "critical" => "9.5",
            "high" => "8.0",
            "medium" => "5.5",
            _ => "2.0",
        };
        properties.insert("security-severity".into(), json!(score));
        properties.insert("severity".into(), json!(s));
    }
    json!({
        "id": text(&c["id"]),
        "name": text(&c["id"]),
        "shortDescription": {"text": cut(name, MAX_SHORT)},
        "fullDescription": {"text": cut(description, MAX_MESSAGE)},
        "defaultConfiguration": {"level": fail_level(severity)},
        "properties": properties,
    })
}

fn result(profile: &str, index: usize, c: &Value) -> Value {
    let status = text(&c["status"]);
    let (kind, level) = match status {
        "pass" => ("pass", "none"),
        "skipped" => ("notApplicable", "none"),
        "fail" => ("fail", fail_level(c["severity"].as_str())),
        _ => ("fail", "error"),
    };
    let mut message = format!("{status}: {}: {}", text(&c["name"]), text(&c["message"]));
    for reason in reasons(c) {
        message.push_str("\n- ");
        message.push_str(&reason);
    }
    let control_location = c["location"]["file"].as_str().map(|file| {
        let mut physical = json!({"artifactLocation": {"uri": uri(file)}});
        if let Some(line) = c["location"]["line"].as_u64().filter(|&l| l > 0) {
            physical["region"] = json!({"startLine": line});
        }
        json!({"physicalLocation": physical, "message": {"text": "the control in the profile"}})
    });
    let evidence_path = c["observations"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|o| o["data"]["path"].as_str().filter(|p| !p.is_empty()));
    let (location, related) = match (evidence_path, control_location) {
        (Some(path), control) => (
            json!({"physicalLocation": {"artifactLocation": {"uri": uri(path)}}}),
            control,
        ),
        (None, Some(control)) => (control, None),
        // Only a document without locations (not one `build` makes) gets here.
        (None, None) => (
            json!({"physicalLocation": {"artifactLocation": {"uri": "."}}}),
            None,
        ),
    };
    let observations: Vec<Value> = c["observations"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|o| {
            json!({
                "plugin": o["plugin"],
                "status": o["status"],
                "error": o["error"],
                "expectations": o["expectations"],
            })
        })
        .collect();
    let mut result = json!({
        "ruleId": text(&c["id"]),
        "ruleIndex": index,
        "kind": kind,
        "level": level,
        "message": {"text": cut(&message, MAX_MESSAGE)},
        "locations": [location],
        // The same control in the same profile is the same alert from run to run, wherever
        // its line moves.
        "partialFingerprints": {"primaryLocationLineHash": fingerprint(profile, text(&c["id"]))},
        "properties": {
            "status": status,
            "severity": c["severity"],
            "tags": c["tags"],
            "attempts": c["attempts"],
            "duration_ms": c["duration_ms"],
            "skip_reason": c["skip_reason"],
            "observations": observations,
        },
    });
    if let Some(related) = related {
        result["relatedLocations"] = json!([related]);
    }
    result
}

fn notification(level: &str, text: &str) -> Value {
    json!({"level": level, "message": {"text": cut(text, MAX_MESSAGE)}})
}

fn fingerprint(profile: &str, id: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(profile.as_bytes());
    hash.update([0]);
    hash.update(id.as_bytes());
    hex::encode(&hash.finalize()[..16])
}

/// `text` cut to at most `max` characters, saying so.
fn cut(text: &str, max: usize) -> String {
    const NOTE: &str = " [truncated; the JSON report has the full text]";
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let keep: String = text.chars().take(max - NOTE.len()).collect();
    keep + NOTE
}

/// A path as a URI reference: relative paths stay relative (to the directory `reglet check` ran
/// in, which GitHub takes as the repository root); absolute ones become `file://` URIs.
fn uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 7);
    if path.starts_with('/') {
        out.push_str("file://");
    }
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_escaped_and_absolute_paths_are_file_uris() {
        assert_eq!(
            uri("profiles/web server.yaml"),
            "profiles/web%20server.yaml"
        );
        assert_eq!(uri("/etc/ssh/sshd_config"), "file:///etc/ssh/sshd_config");
        assert_eq!(uri("a#b?c%"), "a%23b%3Fc%25");
        assert_eq!(uri("caf\u{e9}"), "caf%C3%A9");
    }

    #[test]
    fn long_texts_are_cut_with_a_note() {
        let long = "x".repeat(5000);
        let short = cut(&long, MAX_MESSAGE);
        assert_eq!(short.chars().count(), MAX_MESSAGE);
        assert!(short.ends_with("the JSON report has the full text]"));
        assert_eq!(cut("short", MAX_MESSAGE), "short");
    }

    #[test]
    fn past_the_limit_failures_are_kept_first() {
        let mut all: Vec<Value> = (0..10)
            .map(|i| json!({"id": format!("p{i}"), "status": "pass"}))
            .collect();
        all.insert(3, json!({"id": "low", "status": "fail", "severity": "low"}));
        all.push(json!({"id": "crit", "status": "fail", "severity": "critical"}));
        let kept: Vec<&str> = keep_worst(&all, 3).iter().map(|c| text(&c["id"])).collect();
        assert_eq!(kept, ["p0", "low", "crit"]);
    }

    #[test]
    fn fingerprints_depend_on_profile_and_control_only() {
        assert_eq!(fingerprint("web", "ssh"), fingerprint("web", "ssh"));
        assert_ne!(fingerprint("web", "ssh"), fingerprint("web2", "ssh"));
        assert_ne!(fingerprint("we", "bssh"), fingerprint("web", "ssh"));
    }
}
