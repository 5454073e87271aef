use std::cell::RefCell;

use reglet_plugin_sdk::host::{SmtpRequest, SmtpResponse};
use reglet_plugin_sdk::{Error, ErrorType, Host, Plugin, json};

use super::{Config, Smtp};

struct FakeHost {
    answer: SmtpResponse,
    asked: RefCell<Vec<SmtpRequest>>,
}

impl FakeHost {
    fn answering(answer: SmtpResponse) -> Self {
        FakeHost {
            answer,
            asked: RefCell::default(),
        }
    }
}

impl Host for FakeHost {
    fn smtp_connect(&self, request: &SmtpRequest) -> Result<SmtpResponse, Error> {
        self.asked.borrow_mut().push(request.clone());
        Ok(self.answer.clone())
    }
}

fn config(port: u16, tls: bool, starttls: bool) -> Config {
    Config {
        host: "mail.example.test".into(),
        port,
        timeout_ms: None,
        tls,
        starttls,
    }
}

#[test]
fn starttls_sessions_report_banner_and_tls() {
    let host = FakeHost::answering(SmtpResponse {
        connected: true,
        address: "mail.example.test:587".into(),
        banner: "220 mail.example.test ESMTP".into(),
        response_time_ms: 9,
        tls: true,
        tls_version: "TLS 1.3".into(),
        tls_cipher_suite: "TLS13_AES_256_GCM_SHA384".into(),
        tls_server_name: "mail.example.test".into(),
        error: None,
    });
    let ev = Smtp.observe(config(587, false, true), &host).unwrap();
    assert_eq!(ev.failure, None);
    assert_eq!(
        ev.get("banner"),
        Some(&json!("220 mail.example.test ESMTP"))
    );
    assert_eq!(ev.get("tls_version"), Some(&json!("TLS 1.3")));
    assert_eq!(ev.get("starttls"), Some(&json!(true)));
    let asked = host.asked.borrow();
    assert_eq!(
        (asked[0].port.as_str(), asked[0].starttls, asked[0].tls),
        ("587", true, false)
    );
    assert_eq!(asked[0].timeout_ms, 10_000);
}

#[test]
fn an_unreachable_server_fails_and_a_refusal_is_an_error() {
    let host = FakeHost::answering(SmtpResponse {
        address: "mail.example.test:25".into(),
        error: Some(Error::new(ErrorType::Timeout, "no greeting within 10 s")),
        ..SmtpResponse::default()
    });
    let ev = Smtp.observe(config(25, false, false), &host).unwrap();
    assert_eq!(ev.get("connected"), Some(&json!(false)));
    assert!(ev.failure.unwrap().contains("no greeting"));

    let host = FakeHost::answering(SmtpResponse {
        error: Some(Error::new(ErrorType::Capability, "permission denied")),
        ..SmtpResponse::default()
    });
    assert_eq!(
        Smtp.observe(config(25, false, false), &host)
            .unwrap_err()
            .kind,
        ErrorType::Capability
    );
}

#[test]
fn bad_configs_never_reach_the_host() {
    let host = FakeHost::answering(SmtpResponse::default());
    for (config, field) in [
        (config(0, false, false), "port"),
        (config(465, true, true), "starttls"),
        (
            Config {
                host: "".into(),
                ..config(25, false, false)
            },
            "host",
        ),
    ] {
        let err = Smtp.observe(config, &host).unwrap_err();
        assert_eq!((err.kind, err.code.as_str()), (ErrorType::Config, field));
    }
    assert!(host.asked.borrow().is_empty());
}
