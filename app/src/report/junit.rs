//! JUnit XML, as GitLab's and Jenkins' test report parsers read it.
//!
//! One `<testsuite>` per profile and one `<testcase>` per control: `classname` is the profile,
//! `name` is the control's id and name (GitLab keys cases by both and keeps only the first of
//! duplicates, and ids are unique). A failed control is a `<failure>`, a control that could not be
//! judged an `<error>`, a skipped one `<skipped>`; the body lists why, without the evidence data
//! (file contents have no place in a CI summary).

use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};
use serde_json::Value;

use super::{controls, reasons, run_times, text};

/// The report as JUnit XML.
pub fn to_junit(doc: &Value) -> String {
    let profile = text(&doc["profile"]["name"]);
    let profile = if profile.is_empty() {
        "reglet"
    } else {
        profile
    };
    let mut suite = TestSuite::new(profile);
    if let Some((start, _)) = run_times(doc) {
        suite.set_timestamp(start.fixed_offset());
    }
    suite.set_time(millis(&doc["duration_ms"]));
    for (name, value) in [
        (
            "profile.version",
            text(&doc["profile"]["version"]).to_owned(),
        ),
        ("profile.path", text(&doc["profile"]["path"]).to_owned()),
        ("reglet.version", text(&doc["reglet_version"]).to_owned()),
        (
            "partial",
            doc["partial"].as_bool().unwrap_or(false).to_string(),
        ),
    ] {
        suite.add_property(Property::new(name, value));
    }
    if let Some(reason) = doc["stopped_reason"].as_str() {
        suite.add_property(Property::new("stopped_reason", reason));
        suite.set_system_err(format!(
            "PARTIAL: the run ended early: {reason}; unfinished controls are errors"
        ));
    }
    for c in controls(doc) {
        suite.add_test_case(test_case(profile, c));
    }
    if let Some(error) = doc["error"].as_str() {
        // The controls were withheld: without a failing case CI would read the run as green.
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
        status.set_message(error);
        let mut case = TestCase::new("report", status);
        case.set_classname(profile);
        suite.add_test_case(case);
    }
    let mut report = Report::new("reglet");
    report.add_test_suite(suite);
    report
        .to_string()
        .expect("the report holds only strings and numbers")
}

fn test_case(profile: &str, c: &Value) -> TestCase {
    let message = text(&c["message"]);
    let status = match text(&c["status"]) {
        "pass" => TestCaseStatus::success(),
        "skipped" => {
            let mut status = TestCaseStatus::skipped();
            status.set_message(c["skip_reason"].as_str().unwrap_or(message));
            status
        }
        kind => {
            let (kind, ty) = if kind == "fail" {
                (NonSuccessKind::Failure, "fail")
            } else {
                (NonSuccessKind::Error, "error")
            };
            let mut status = TestCaseStatus::non_success(kind);
            status.set_message(message);
            status.set_type(ty);
            let body = reasons(c).join("\n");
            if !body.is_empty() {
                status.set_description(body);
            }
            status
        }
    };
    let mut case = TestCase::new(format!("{}: {}", text(&c["id"]), text(&c["name"])), status);
    case.set_classname(profile);
    case.set_time(millis(&c["duration_ms"]));
    if let Some(severity) = c["severity"].as_str() {
        case.add_property(Property::new("severity", severity));
    }
    let tags: Vec<&str> = c["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if !tags.is_empty() {
        case.add_property(Property::new("tags", tags.join(",")));
    }
    if let Some(owner) = c["owner"].as_str() {
        case.add_property(Property::new("owner", owner));
    }
    case
}

fn millis(v: &Value) -> Duration {
    Duration::from_millis(v.as_u64().unwrap_or(0))
}
