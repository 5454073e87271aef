use std::cell::RefCell;
use std::collections::BTreeMap;

use reglet_plugin_sdk::host::{HttpRequest, HttpResponse};
use reglet_plugin_sdk::{Error, ErrorType, Host, Plugin, json};

use super::{Config, ExpectedStatus, HeaderValue, Http};

struct FakeHost {
    answer: Result<HttpResponse, Error>,
    asked: RefCell<Vec<HttpRequest>>,
}

impl FakeHost {
    fn answering(status_code: u16, body: &str) -> Self {
        FakeHost {
            answer: Ok(HttpResponse {
                status_code,
                headers: BTreeMap::from([("Content-Type".into(), vec!["text/plain".into()])]),
                body: body.as_bytes().to_vec(),
                body_truncated: false,
                proto: "HTTP/1.1".into(),
            }),
            asked: RefCell::default(),
        }
    }
}

impl Host for FakeHost {
    fn http_request(&self, request: &HttpRequest) -> Result<HttpResponse, Error> {
        self.asked.borrow_mut().push(request.clone());
        self.answer.clone()
    }
}

fn config(url: &str) -> Config {
    Config {
        url: url.into(),
        ..Config::default()
    }
}

#[test]
fn requests_carry_method_headers_and_body_and_answers_are_reported() {
    let host = FakeHost::answering(200, "hello world");
    let ev = Http
        .observe(
            Config {
                method: Some("post".into()),
                headers: BTreeMap::from([
                    (
                        "Authorization".into(),
                        HeaderValue::One("Bearer t0k3n".into()),
                    ),
                    (
                        "Accept".into(),
                        HeaderValue::Many(vec!["a/b".into(), "c/d".into()]),
                    ),
                ]),
                body: Some("{}".into()),
                expected_status: Some(ExpectedStatus::Many(vec![200, 204])),
                expected_body_contains: Some("world".into()),
                body_preview_length: Some(5),
                timeout_ms: Some(1500),
                ..config("https://api.example.test/health")
            },
            &host,
        )
        .unwrap();
    assert_eq!(ev.failure, None);
    assert_eq!(ev.get("status_code"), Some(&json!(200)));
    assert_eq!(ev.get("protocol"), Some(&json!("HTTP/1.1")));
    assert_eq!(ev.get("body_preview"), Some(&json!("hello")));
    assert_eq!(ev.get("body_size"), Some(&json!(11)));
    assert_eq!(
        ev.get("body_sha256"),
        Some(&json!(
            "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
        ))
    );
    assert_eq!(
        ev.get("headers"),
        Some(&json!({"Content-Type": ["text/plain"]}))
    );
    assert_eq!(ev.get("expectation_failed"), Some(&json!(false)));
    let asked = host.asked.borrow();
    assert_eq!(asked[0].method, "POST");
    assert_eq!(asked[0].headers["Authorization"], ["Bearer t0k3n"]);
    assert_eq!(asked[0].headers["Accept"], ["a/b", "c/d"]);
    assert_eq!(asked[0].body, b"{}");
    assert_eq!(asked[0].context.timeout_ms, 1500);
}

#[test]
fn unmet_expectations_fail_with_both_reasons() {
    let host = FakeHost::answering(503, "down");
    let ev = Http
        .observe(
            Config {
                expected_status: Some(ExpectedStatus::One(200)),
                expected_body_contains: Some("ok".into()),
                body_preview_length: Some(-1),
                ..config("http://api.example.test/")
            },
            &host,
        )
        .unwrap();
    assert_eq!(ev.get("expectation_failed"), Some(&json!(true)));
    assert_eq!(ev.get("body"), Some(&json!("down")));
    assert_eq!(
        ev.failure.as_deref(),
        Some("status 503 is not the expected 200; the body does not contain \"ok\"")
    );
    let ev = Http
        .observe(
            Config {
                body_preview_length: Some(0),
                ..config("http://api.example.test/")
            },
            &host,
        )
        .unwrap();
    assert_eq!((ev.get("body"), ev.get("body_preview")), (None, None));
    assert_eq!(
        ev.failure, None,
        "no expectation set, any status is evidence"
    );
}

#[test]
fn bad_configs_never_reach_the_host_and_host_errors_pass_through() {
    let host = FakeHost::answering(200, "");
    for (config, field) in [
        (config("ftp://example.test/"), "url"),
        (config("example.test"), "url"),
        (
            Config {
                method: Some("BREW".into()),
                ..config("http://example.test/")
            },
            "method",
        ),
        (
            Config {
                headers: BTreeMap::from([("X-A".into(), HeaderValue::One("a\r\nX-B: b".into()))]),
                ..config("http://example.test/")
            },
            "headers",
        ),
        (
            Config {
                headers: BTreeMap::from([("Bad Name".into(), HeaderValue::One("a".into()))]),
                ..config("http://example.test/")
            },
            "headers",
        ),
        (
            Config {
                body_preview_length: Some(-2),
                ..config("http://example.test/")
            },
            "body_preview_length",
        ),
    ] {
        let err = Http.observe(config, &host).unwrap_err();
        assert_eq!((err.kind, err.code.as_str()), (ErrorType::Config, field));
    }
    assert!(host.asked.borrow().is_empty());

    let host = FakeHost {
        answer: Err(Error::new(
            ErrorType::Other("ssrf_protection".into()),
            "private address",
        )),
        asked: RefCell::default(),
    };
    let err = Http.observe(config("http://10.0.0.1/"), &host).unwrap_err();
    assert_eq!(err.kind, ErrorType::Other("ssrf_protection".into()));
}
