//! Every report format rendered from one fixed run: snapshots, schemas, and parsing them back.

use std::path::Path;
use std::time::Duration;

use reglet::engine::{ControlOutcome, ExpectationResult, ObservationOutcome, RunOutcome};
use reglet::profile::LoadedProfile;
use reglet::report::{self, Format, Report};
use reglet_domain::{
    ControlStatus, ErrorDetail, ErrorType, Evidence, ExpectationOutcome, ObservationStatus,
    PluginName, Timestamp,
};
use reglet_redaction::{Redaction, RedactionConfig};
use serde_json::{Map, Value, json};

const SCRIPT: &str = "<script>alert(1)</script>";
const ATTRIBUTE: &str = "\"><img src=x onerror=1>";
const CONTENT: &str = "PermitRootLogin no # from the file itself";

const EVERY_FORMAT: [Format; 6] = [
    Format::Json,
    Format::Yaml,
    Format::Junit,
    Format::Sarif,
    Format::Html,
    Format::Table,
];

const PROFILE: &str = r#"profile: {name: web, version: 2.0.0, description: a fixture}
plugins: [file]
controls:
  items:
    - id: ssh-config
      name: sshd config exists
      severity: high
      tags: [ssh]
      observations:
        - plugin: file
          config: {path: /etc/ssh/sshd_config}
          expect: data.exists
    - id: root-login
      name: "root login <b>disabled</b>"
      description: "Root must not log in over SSH: </style><script>alert(1)</script>"
      severity: critical
      owner: sec-team
      tags: [ssh, '"><img src=x onerror=1>']
      observations:
        - plugin: file
          config: {path: /etc/ssh/sshd_config}
          expect: data.size == 0
    - id: broken
      name: a plugin error
      severity: medium
      observations:
        - plugin: file
          config: {path: /etc/missing}
    - id: later
      name: depends on broken
      depends_on: [broken]
      observations:
        - plugin: file
          config: {path: /etc/hosts}
"#;

fn profile() -> LoadedProfile {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("web.yaml");
    std::fs::write(&path, PROFILE).unwrap();
    LoadedProfile::load(&path).unwrap_or_else(|d| panic!("{:?}", d.errors()))
}

fn data(value: Value) -> Map<String, Value> {
    value.as_object().unwrap().clone()
}

fn observation(
    status: ObservationStatus,
    evidence: Option<Evidence>,
    error: Option<&str>,
    expectations: Vec<ExpectationResult>,
) -> ObservationOutcome {
    ObservationOutcome {
        plugin: PluginName::new("file").unwrap(),
        status,
        evidence,
        error: error.map(str::to_owned),
        expectations,
        duration: Duration::from_millis(7),
        evidence_meta: None,
    }
}

fn control(
    status: ControlStatus,
    message: &str,
    observations: Vec<ObservationOutcome>,
) -> ControlOutcome {
    ControlOutcome {
        status,
        message: message.into(),
        skip_reason: None,
        attempts: u32::from(!observations.is_empty()),
        duration: Duration::from_millis(12),
        observations,
    }
}

/// A run with one control of each status, hostile evidence in the failing one.
fn outcome(stopped: Option<&str>) -> RunOutcome {
    let sshd = data(
        json!({"path": "/etc/ssh/sshd_config", "exists": true, "size": 42, "content": CONTENT}),
    );
    let mut hostile = sshd.clone();
    hostile.insert("banner".into(), json!(SCRIPT));
    hostile.insert("quote".into(), json!(ATTRIBUTE));
    let failed = ExpectationResult {
        expression: "data.size == 0".into(),
        outcome: ExpectationOutcome::Failed,
        message: Some(format!("expected `data.size == 0` to be true {SCRIPT}")),
    };
    let passed = ExpectationResult {
        expression: "data.exists".into(),
        outcome: ExpectationOutcome::Passed,
        message: None,
    };
    let mut skipped = control(
        ControlStatus::Skipped,
        "dependency 'broken' has status 'error'",
        vec![],
    );
    skipped.skip_reason = Some("dependency 'broken' has status 'error'".into());
    let error = "timeout: the control's timeout of 5s ran out";
    RunOutcome {
        controls: vec![
            control(
                ControlStatus::Pass,
                "Check passed",
                vec![observation(
                    ObservationStatus::Pass,
                    Some(Evidence::success(sshd)),
                    None,
                    vec![passed],
                )],
            ),
            control(
                ControlStatus::Fail,
                "1 check failed",
                vec![observation(
                    ObservationStatus::Fail,
                    Some(Evidence::failure(hostile)),
                    None,
                    vec![failed],
                )],
            ),
            control(
                ControlStatus::Error,
                error,
                vec![observation(
                    ObservationStatus::Error,
                    Some(Evidence::error(ErrorDetail::new(
                        ErrorType::Timeout,
                        "no answer",
                    ))),
                    Some(error),
                    vec![],
                )],
            ),
            skipped,
        ],
        stopped: stopped.map(str::to_owned),
        duration: Duration::from_millis(1234),
    }
}

/// The redacted document with its volatile fields (the temporary paths, the version) fixed.
fn document(stopped: Option<&str>) -> Report {
    let profile = profile();
    let redactor = Redaction::new(RedactionConfig::default()).unwrap();
    let started: Timestamp = "2026-01-02T03:04:05Z".parse().unwrap();
    let mut report = report::build(&profile, &outcome(stopped), started, &redactor);
    let run = report.run_mut().expect("the fixed run redacts");
    run.reglet_version = "[VERSION]".into();
    run.profile.path = "profiles/web.yaml".into();
    for c in &mut run.controls {
        c.location.file = "profiles/web.yaml".into();
    }
    report
}

fn render(doc: &Report, format: Format) -> String {
    report::render(doc, format, false)
}

fn validator(path: &Path) -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

fn assert_valid(validator: &jsonschema::Validator, instance: &Value) {
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

fn manifest(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

#[test]
fn snapshots_of_every_format() {
    let doc = document(None);
    insta::assert_snapshot!("json", render(&doc, Format::Json));
    insta::assert_snapshot!("yaml", render(&doc, Format::Yaml));
    insta::assert_snapshot!("junit", render(&doc, Format::Junit));
    insta::assert_snapshot!("sarif", render(&doc, Format::Sarif));
    insta::assert_snapshot!("html", render(&doc, Format::Html));
    insta::assert_snapshot!("table", render(&doc, Format::Table));
}

#[test]
fn the_json_report_matches_its_published_schema() {
    let validator = validator(&manifest("../docs/report-schema.json"));
    for stopped in [None, Some("interrupted by SIGINT")] {
        assert_valid(&validator, &document(stopped).to_value());
    }
    // The schema has teeth: a wrong status or a missing summary is refused.
    let mut bad = document(None).to_value();
    bad["controls"][0]["status"] = json!("passed");
    assert!(!validator.is_valid(&bad));
    let mut bad = document(None).to_value();
    bad.as_object_mut().unwrap().remove("summary");
    assert!(!validator.is_valid(&bad));
}

#[test]
fn yaml_is_the_same_document() {
    use saphyr::LoadableYamlNode;
    let doc = document(None);
    let text = render(&doc, Format::Yaml);
    let docs = saphyr::Yaml::load_from_str(&text).unwrap();
    assert_eq!(docs.len(), 1);
    fn back(y: &saphyr::Yaml<'_>) -> Value {
        use saphyr::{Scalar, Yaml};
        match y {
            Yaml::Value(Scalar::Null) => Value::Null,
            Yaml::Value(Scalar::Boolean(b)) => json!(b),
            Yaml::Value(Scalar::Integer(i)) => json!(i),
            Yaml::Value(Scalar::FloatingPoint(f)) => json!(f.into_inner()),
            Yaml::Value(Scalar::String(s)) => json!(s),
            Yaml::Sequence(items) => Value::Array(items.iter().map(back).collect()),
            Yaml::Mapping(m) => Value::Object(
                m.iter()
                    .map(|(k, v)| (k.as_str().unwrap().to_owned(), back(v)))
                    .collect(),
            ),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(back(&docs[0]), doc.to_value());
}

#[test]
fn sarif_is_valid_and_fit_for_github_code_scanning() {
    let doc = document(None);
    let text = render(&doc, Format::Sarif);
    let sarif: Value = serde_json::from_str(&text).unwrap();
    assert_valid(
        &validator(&manifest("tests/schemas/sarif-schema-2.1.0.json")),
        &sarif,
    );
    let run = &sarif["runs"][0];
    let results = run["results"].as_array().unwrap();
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!((results.len(), rules.len()), (4, 4));
    let field =
        |key: &str| -> Vec<&str> { results.iter().map(|r| r[key].as_str().unwrap()).collect() };
    assert_eq!(field("kind"), ["pass", "fail", "fail", "notApplicable"]);
    assert_eq!(field("level"), ["none", "error", "error", "none"]);
    assert_eq!(
        field("ruleId"),
        ["ssh-config", "root-login", "broken", "later"]
    );
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r["ruleIndex"], i);
        assert_eq!(rules[i]["id"], r["ruleId"]);
        let uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str();
        assert!(
            uri.is_some_and(|u| !u.is_empty()),
            "result {i} has no location"
        );
    }
    // The evidence names a file; else the control's line in the profile.
    assert_eq!(
        results[1]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "file:///etc/ssh/sshd_config"
    );
    let in_profile = &results[2]["locations"][0]["physicalLocation"];
    assert_eq!(in_profile["artifactLocation"]["uri"], "profiles/web.yaml");
    assert_eq!(in_profile["region"]["startLine"], 23);
    assert_eq!(rules[1]["properties"]["security-severity"], "9.5");
    assert_eq!(results[2]["properties"]["status"], "error");
    // No file content goes into SARIF, whatever field it hides in.
    assert!(!text.contains("PermitRootLogin"), "{text}");
    let invocation = &run["invocations"][0];
    assert_eq!(invocation["startTimeUtc"], "2026-01-02T03:04:05Z");
    assert_eq!(invocation["endTimeUtc"], "2026-01-02T03:04:06.234Z");
    assert_eq!(invocation["exitCode"], 1);
    assert_eq!(invocation["executionSuccessful"], true);
}

#[test]
fn sarif_fingerprints_are_stable_across_runs() {
    let fingerprints = |doc: &Report| -> Vec<Value> {
        let sarif: Value = serde_json::from_str(&render(doc, Format::Sarif)).unwrap();
        sarif["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["partialFingerprints"].clone())
            .collect()
    };
    let first = document(None);
    let mut second = document(Some("interrupted by SIGINT"));
    let run = second.run_mut().unwrap();
    run.started_at = 1_900_000_000;
    run.duration_ms = 99;
    run.controls[1].location.line = 99;
    let a = fingerprints(&first);
    assert_eq!(a, fingerprints(&second));
    let mut distinct: Vec<String> = a.iter().map(Value::to_string).collect();
    distinct.dedup();
    assert_eq!(distinct.len(), 4);
}

#[test]
fn junit_parses_back_with_one_case_per_control() {
    let text = render(&document(None), Format::Junit);
    let xml = roxmltree::Document::parse(&text).unwrap();
    let suites: Vec<_> = xml
        .descendants()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    assert_eq!(suites.len(), 1);
    let suite = suites[0];
    assert_eq!(suite.attribute("name"), Some("web"));
    for (attribute, want) in [
        ("tests", "4"),
        ("failures", "1"),
        ("errors", "1"),
        ("skipped", "1"),
    ] {
        assert_eq!(suite.attribute(attribute), Some(want), "{attribute}");
    }
    let cases: Vec<_> = suite
        .children()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    let names: Vec<_> = cases.iter().map(|c| c.attribute("name").unwrap()).collect();
    assert_eq!(
        names,
        [
            "ssh-config: sshd config exists",
            "root-login: root login <b>disabled</b>",
            "broken: a plugin error",
            "later: depends on broken"
        ]
    );
    assert!(
        cases
            .iter()
            .all(|c| c.attribute("classname") == Some("web"))
    );
    let child = |i: usize, tag: &str| cases[i].children().find(|n| n.has_tag_name(tag));
    assert!(
        cases[0]
            .children()
            .all(|n| !n.is_element() || n.has_tag_name("properties"))
    );
    let failure = child(1, "failure").unwrap();
    assert_eq!(failure.attribute("message"), Some("1 check failed"));
    assert!(
        failure
            .text()
            .unwrap()
            .contains("expected `data.size == 0` to be true")
    );
    assert!(
        child(2, "error")
            .unwrap()
            .text()
            .unwrap()
            .contains("timeout")
    );
    assert_eq!(
        child(3, "skipped").unwrap().attribute("message"),
        Some("dependency 'broken' has status 'error'")
    );
}

#[test]
fn html_escapes_hostile_evidence_and_shows_every_control() {
    let doc = document(None);
    let text = render(&doc, Format::Html);
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    let html = roxmltree::Document::parse_with_options(&text, options)
        .unwrap_or_else(|e| panic!("not well-formed ({e}):\n{text}"));
    let elements: Vec<_> = html.descendants().filter(|n| n.is_element()).collect();
    // The page's own script is the only one, and no markup came from the evidence.
    assert_eq!(
        elements.iter().filter(|n| n.has_tag_name("script")).count(),
        1
    );
    assert_eq!(
        elements.iter().filter(|n| n.has_tag_name("style")).count(),
        1
    );
    assert!(
        !elements
            .iter()
            .any(|n| n.has_tag_name("img") || n.has_tag_name("b"))
    );
    assert!(!elements.iter().any(|n| {
        n.attributes()
            .any(|a| a.name() == "onerror" || a.name() == "src")
    }));
    let texts: String = html
        .descendants()
        .filter(|n| {
            n.is_text()
                && !n
                    .parent()
                    .is_some_and(|p| p.has_tag_name("script") || p.has_tag_name("style"))
        })
        .map(|n| n.text().unwrap())
        .collect();
    for id in ["ssh-config", "root-login", "broken", "later"] {
        let details = elements
            .iter()
            .filter(|n| n.has_tag_name("details"))
            .find(|d| {
                d.descendants()
                    .any(|c| c.has_tag_name("code") && c.text() == Some(id))
            });
        assert!(details.is_some(), "no control {id}");
    }
    // The hostile strings are there, as text.
    assert!(texts.contains(SCRIPT));
    assert!(texts.contains("</style><script>alert(1)</script>"));
    let tagged = elements.iter().find(|n| {
        n.attribute("data-tags")
            .is_some_and(|t| t.contains(ATTRIBUTE))
    });
    assert!(
        tagged.is_some(),
        "the hostile tag did not survive as an attribute value"
    );
    assert!(text.contains("Content-Security-Policy"));
    assert!(
        !text.contains("http://") && !text.contains("https://"),
        "no external asset"
    );
}

#[test]
fn a_partial_run_says_so_in_every_format() {
    let doc = document(Some("the run's timeout of 1s ran out"));
    assert!(doc.run().unwrap().partial);
    let json: Value = serde_json::from_str(&render(&doc, Format::Json)).unwrap();
    assert_eq!(json["partial"], true);
    assert!(render(&doc, Format::Yaml).contains("\npartial: true\n"));
    let junit = render(&doc, Format::Junit);
    assert!(
        junit.contains("<property name=\"partial\" value=\"true\"/>"),
        "{junit}"
    );
    let sarif: Value = serde_json::from_str(&render(&doc, Format::Sarif)).unwrap();
    let invocation = &sarif["runs"][0]["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], false);
    assert!(
        invocation["toolExecutionNotifications"][0]["message"]["text"]
            .as_str()
            .unwrap()
            .contains("timeout of 1s")
    );
    assert!(render(&doc, Format::Html).contains("PARTIAL: the run ended early"));
    assert!(render(&doc, Format::Table).contains("PARTIAL: the run ended early"));
}

/// A secret written into every text the report copies (profile, control fields, messages,
/// configs, evidence, expectation texts) appears in no format.
#[test]
fn a_registered_secret_appears_in_no_format() {
    const SECRET: &str = "Zq8-hunter2-secret-value";
    let text = PROFILE
        .replace("a fixture", SECRET)
        .replace("sshd config exists", &format!("sshd {SECRET}"))
        .replace("sec-team", SECRET)
        .replace("[ssh]", &format!("[ssh, {SECRET}]"))
        .replace("/etc/hosts", &format!("/etc/{SECRET}"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("{SECRET}.yaml"));
    std::fs::write(&path, text).unwrap();
    let profile = LoadedProfile::load(&path).unwrap_or_else(|d| panic!("{:?}", d.errors()));
    let mut run = outcome(Some(SECRET));
    for c in &mut run.controls {
        c.message.push_str(SECRET);
        for o in &mut c.observations {
            o.error = Some(format!("failed near {SECRET}"));
            for e in &mut o.expectations {
                e.expression.push_str(SECRET);
                e.message = Some(SECRET.into());
            }
            if let Some(evidence) = &mut o.evidence {
                evidence.message = Some(SECRET.into());
                if let Some(data) = &mut evidence.data {
                    data.insert("leak".into(), json!([{SECRET: SECRET}]));
                }
            }
        }
    }
    let redactor = Redaction::new(RedactionConfig::default()).unwrap();
    redactor.register_secrets(&[SECRET]).unwrap();
    let started: Timestamp = "2026-01-02T03:04:05Z".parse().unwrap();
    let report = report::build(&profile, &run, started, &redactor);
    assert!(report.run().is_some());
    for format in EVERY_FORMAT {
        let out = render(&report, format);
        assert!(!out.contains("hunter2"), "{format:?}:\n{out}");
    }
}

/// Evidence the redactor cannot walk (nested past its limit) is never shown: the report keeps
/// only its counts, in every format.
#[test]
fn a_report_that_cannot_be_redacted_keeps_only_the_summary() {
    let mut run = outcome(None);
    let mut deep = json!("PermitRootLogin");
    for _ in 0..400 {
        deep = json!([deep]);
    }
    run.controls[0].observations[0]
        .evidence
        .as_mut()
        .unwrap()
        .data
        .as_mut()
        .unwrap()
        .insert("deep".into(), deep);
    let redactor = Redaction::new(RedactionConfig::default()).unwrap();
    let started: Timestamp = "2026-01-02T03:04:05Z".parse().unwrap();
    let report = report::build(&profile(), &run, started, &redactor);
    assert!(report.run().is_none());
    assert_eq!(report.summary().total_controls, 4);
    let json: Value = serde_json::from_str(&render(&report, Format::Json)).unwrap();
    let keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["schema_version", "error", "summary"]);
    for format in EVERY_FORMAT {
        let out = render(&report, format);
        assert!(!out.contains("PermitRootLogin"), "{format:?}:\n{out}");
    }
}

/// `redaction.paths` rules read as the report spells its configs and evidence: `data.x`,
/// `config.x`, a bare key, or a whole object.
#[test]
fn path_rules_hide_what_the_report_names() {
    let render_with = |paths: &[&str]| {
        let redactor = Redaction::new(RedactionConfig {
            paths: paths.iter().map(|p| p.to_string()).collect(),
            ..RedactionConfig::default()
        })
        .unwrap();
        let started: Timestamp = "2026-01-02T03:04:05Z".parse().unwrap();
        let report = report::build(&profile(), &outcome(None), started, &redactor);
        let json: Value = serde_json::from_str(&render(&report, Format::Json)).unwrap();
        json["controls"][0]["observations"][0].clone()
    };
    let o = render_with(&["data.content", "config.path"]);
    assert_eq!(o["data"]["content"], "[REDACTED]");
    assert_eq!(o["config"]["path"], "[REDACTED]");
    assert_eq!(o["data"]["path"], "/etc/ssh/sshd_config", "{o}");
    let o = render_with(&["content"]);
    assert_eq!(o["data"]["content"], "[REDACTED]");
    let o = render_with(&["data"]);
    // Every string and number of the object is masked; its keys stay.
    for key in ["path", "size", "content"] {
        assert_eq!(o["data"][key], "[REDACTED]", "data.{key}");
    }
    assert_eq!(o["config"]["path"], "/etc/ssh/sshd_config");
}
