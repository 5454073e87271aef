use std::cell::RefCell;

use reglet_plugin_sdk::host::{TcpRequest, TcpResponse};
use reglet_plugin_sdk::{Error, ErrorType, Host, Plugin, json, now_unix, rfc3339};

use super::{Config, Port, Tcp, days_remaining, normalise_tls_version};

struct FakeHost {
    answer: Result<TcpResponse, Error>,
    asked: RefCell<Vec<TcpRequest>>,
}

impl FakeHost {
    fn answering(answer: Result<TcpResponse, Error>) -> Self {
        FakeHost {
            answer,
            asked: RefCell::default(),
        }
    }
}

impl Host for FakeHost {
    fn tcp_connect(&self, request: &TcpRequest) -> Result<TcpResponse, Error> {
        self.asked.borrow_mut().push(request.clone());
        self.answer.clone()
    }
}

fn config(port: Port, tls: bool, expected: Option<&str>) -> Config {
    Config {
        host: "db.example.test".into(),
        port,
        timeout_ms: None,
        tls,
        expected_tls_version: expected.map(Into::into),
    }
}

fn tls_answer(version: &str, not_after_secs: u64) -> TcpResponse {
    TcpResponse {
        connected: true,
        address: "db.example.test:443".into(),
        remote_addr: "192.0.2.7:443".into(),
        local_addr: "192.0.2.1:50000".into(),
        response_time_ms: 4,
        tls: true,
        tls_version: version.into(),
        tls_cipher_suite: "TLS13_AES_128_GCM_SHA256".into(),
        tls_server_name: "db.example.test".into(),
        tls_cert_subject: "CN=db.example.test".into(),
        tls_cert_issuer: "CN=Test CA".into(),
        tls_cert_not_after: rfc3339(not_after_secs, 0),
        tls_verified: Some(true),
        ..TcpResponse::default()
    }
}

#[test]
fn a_tls_connection_reports_certificate_days_and_checks_the_version() {
    let in_ten_days = now_unix().0 + 10 * 86_400 + 3_600;
    let host = FakeHost::answering(Ok(tls_answer("TLS 1.3", in_ten_days)));
    let ev = Tcp
        .observe(
            config(Port::Text("443".into()), true, Some("tlsv1.3")),
            &host,
        )
        .unwrap();
    assert_eq!(ev.failure, None);
    assert_eq!(ev.get("connected"), Some(&json!(true)));
    assert_eq!(ev.get("tls_version"), Some(&json!("TLS 1.3")));
    assert_eq!(ev.get("tls_cert_days_remaining"), Some(&json!(10)));
    assert_eq!(ev.get("tls_verified"), Some(&json!(true)));
    let asked = host.asked.borrow();
    assert_eq!((asked[0].port.as_str(), asked[0].tls), ("443", true));
    assert_eq!(asked[0].timeout_ms, 5_000);

    let host = FakeHost::answering(Ok(tls_answer("TLS 1.2", in_ten_days)));
    let ev = Tcp
        .observe(config(Port::Number(443), true, Some("1.3")), &host)
        .unwrap();
    assert_eq!(
        ev.failure.as_deref(),
        Some("negotiated TLS 1.2, expected TLS 1.3")
    );
}

#[test]
fn an_unverified_certificate_fails_even_when_the_version_matches() {
    let mut answer = tls_answer("TLS 1.3", now_unix().0 + 86_400 * 30);
    answer.tls_verified = Some(false);
    answer.tls_error = "invalid peer certificate: UnknownIssuer".into();
    let ev = Tcp
        .observe(
            config(Port::Number(443), true, Some("TLS 1.3")),
            &FakeHost::answering(Ok(answer)),
        )
        .unwrap();
    assert_eq!(ev.get("tls_verified"), Some(&json!(false)));
    assert_eq!(
        ev.failure.as_deref(),
        Some("TLS certificate not trusted: invalid peer certificate: UnknownIssuer")
    );
}

#[test]
fn an_unreachable_port_is_failed_evidence_but_a_refusal_is_an_error() {
    let closed = TcpResponse {
        connected: false,
        address: "db.example.test:23".into(),
        error: Some(Error::new(ErrorType::Network, "connection refused")),
        ..TcpResponse::default()
    };
    let ev = Tcp
        .observe(
            config(Port::Number(23), false, None),
            &FakeHost::answering(Ok(closed)),
        )
        .unwrap();
    assert_eq!(ev.get("connected"), Some(&json!(false)));
    assert_eq!(ev.get("error"), Some(&json!("connection refused")));
    assert!(ev.failure.unwrap().contains("connection refused"));

    let denied = TcpResponse {
        error: Some(Error::new(ErrorType::Capability, "permission denied")),
        ..TcpResponse::default()
    };
    let err = Tcp
        .observe(
            config(Port::Number(23), false, None),
            &FakeHost::answering(Ok(denied)),
        )
        .unwrap_err();
    assert_eq!(err.kind, ErrorType::Capability);
}

#[test]
fn bad_configs_never_reach_the_host() {
    let host = FakeHost::answering(Ok(TcpResponse::default()));
    for (config, field) in [
        (config(Port::Number(0), false, None), "port"),
        (config(Port::Number(70_000), false, None), "port"),
        (config(Port::Text("https".into()), false, None), "port"),
        (
            config(Port::Number(443), false, Some("1.3")),
            "expected_tls_version",
        ),
        (
            Config {
                host: " ".into(),
                ..config(Port::Number(443), false, None)
            },
            "host",
        ),
    ] {
        let err = Tcp.observe(config, &host).unwrap_err();
        assert_eq!((err.kind, err.code.as_str()), (ErrorType::Config, field));
    }
    assert!(host.asked.borrow().is_empty());
}

#[test]
fn versions_and_days() {
    for text in ["TLS 1.3", "tls1.3", "TLSv1.3", "1.3", " TLS 1.3 "] {
        assert_eq!(normalise_tls_version(text), "TLS 1.3", "{text}");
    }
    assert_eq!(days_remaining("1970-01-11T00:00:00Z", 0), Some(10));
    assert_eq!(days_remaining("1970-01-01T00:00:00Z", 3_600), Some(-1));
    assert_eq!(days_remaining("not a date", 0), None);
}
