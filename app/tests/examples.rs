//! Every profile in `examples/` loads, and the features each one shows come out as documented.

use std::path::{Path, PathBuf};

use reglet::expect::EvalInput;
use reglet::profile::{self, Backoff, Severity};
use serde_json::json;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

#[test]
fn every_example_loads() {
    let mut loaded = 0;
    for entry in std::fs::read_dir(examples()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            let profile =
                profile::load(&path).unwrap_or_else(|e| panic!("{}:\n{e}", path.display()));
            assert!(
                profile.warnings.is_empty(),
                "{}: {:?}",
                path.display(),
                profile.warnings
            );
            loaded += 1;
        }
    }
    assert!(loaded >= 4, "only {loaded} examples");
}

#[test]
fn the_web_server_example_extends_the_baseline() {
    let p = profile::load(&examples().join("web-server.yaml")).unwrap();
    let ids: Vec<&str> = p.controls.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "passwd-present",
            "root-account-first",
            "shadow-not-world-readable",
            "kernel-identified",
            "openssl-current",
            "nginx-config-safe",
            "site-resolves",
            "port-open",
            "health-endpoint",
        ]
    );
    let kernel = p.control("kernel-identified").unwrap();
    assert!(
        kernel.location.file.ends_with("web-server.yaml"),
        "the child's version replaced the parent's"
    );

    let passwd = p.control("passwd-present").unwrap();
    assert_eq!(passwd.name, "/etc/passwd exists and is root-owned");
    assert_eq!(passwd.severity, Some(Severity::High));
    assert_eq!(passwd.tags, ["accounts", "baseline", "soc2", "prod"]);
    assert_eq!(passwd.owner.as_deref(), Some("platform-security"));
    assert_eq!(passwd.retry.retries, 1);
    assert_eq!(passwd.retry.backoff, Backoff::Exponential);

    let health = p.control("health-endpoint").unwrap();
    assert_eq!(health.severity, Some(Severity::High), "the child's default");
    assert_eq!(health.retry.retries, 3);
    assert_eq!(health.depends_on, ["port-open", "nginx-config-safe"]);
    let obs = &health.observations[0];
    assert_eq!(obs.config.value()["url"], "http://localhost:8080/healthz");
    assert_eq!(obs.expectations.len(), 3);
    let evidence = json!({"status_code": 200, "response_time_ms": 35, "body_preview": "ok\n"});
    let input = EvalInput::from_data(evidence.as_object().unwrap()).unwrap();
    assert!(
        obs.expectations
            .iter()
            .all(|e| e.evaluate(&input) == Ok(true))
    );

    let resolves = &p.control("site-resolves").unwrap().observations[0].expectations[1];
    let input =
        EvalInput::from_data(json!({"records": ["127.0.0.1"]}).as_object().unwrap()).unwrap();
    assert_eq!(resolves.evaluate(&input), Ok(true));
    let input =
        EvalInput::from_data(json!({"records": ["10.0.0.1"]}).as_object().unwrap()).unwrap();
    assert_eq!(resolves.evaluate(&input), Ok(false));
}

#[test]
fn the_api_token_example_uses_a_secret_without_holding_it() {
    let p = profile::load(&examples().join("api-token.yaml")).unwrap();
    let names: Vec<&str> = p.secret_names().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["api_token"]);
}
