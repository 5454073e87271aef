use std::cell::RefCell;

use reglet_plugin_sdk::host::{DnsRequest, DnsResponse, MxRecord};
use reglet_plugin_sdk::{Error, ErrorType, Host, Plugin, json};

use super::{Config, Dns};

struct FakeHost {
    answer: Result<DnsResponse, Error>,
    asked: RefCell<Vec<DnsRequest>>,
}

impl FakeHost {
    fn answering(answer: Result<DnsResponse, Error>) -> Self {
        FakeHost {
            answer,
            asked: RefCell::default(),
        }
    }
}

impl Host for FakeHost {
    fn dns_lookup(&self, request: &DnsRequest) -> Result<DnsResponse, Error> {
        self.asked.borrow_mut().push(request.clone());
        self.answer.clone()
    }
}

fn config(hostname: &str, record_type: Option<&str>) -> Config {
    Config {
        hostname: hostname.into(),
        record_type: record_type.map(Into::into),
        ..Config::default()
    }
}

#[test]
fn records_are_reported_with_reglets_names() {
    let host = FakeHost::answering(Ok(DnsResponse {
        records: vec!["192.0.2.1".into(), "192.0.2.2".into()],
        mx_records: vec![],
    }));
    let ev = Dns
        .observe(
            Config {
                nameserver: Some("10.0.0.53".into()),
                timeout_ms: Some(700),
                ..config("example.test.", None)
            },
            &host,
        )
        .unwrap();
    assert_eq!(ev.failure, None);
    assert_eq!(ev.get("records"), Some(&json!(["192.0.2.1", "192.0.2.2"])));
    assert_eq!(ev.get("record_count"), Some(&json!(2)));
    assert_eq!(ev.get("record_type"), Some(&json!("A")));
    assert_eq!(ev.get("hostname"), Some(&json!("example.test")));
    assert_eq!(ev.get("is_not_found"), Some(&json!(false)));
    assert!(ev.get("query_time_ms").is_some());
    let asked = host.asked.borrow();
    assert_eq!(asked[0].hostname, "example.test");
    assert_eq!(asked[0].record_type, "A");
    assert_eq!(asked[0].nameserver.as_deref(), Some("10.0.0.53"));
    assert_eq!(asked[0].context.timeout_ms, 700);
}

#[test]
fn mx_answers_fill_mx_records_and_records() {
    let host = FakeHost::answering(Ok(DnsResponse {
        records: vec![],
        mx_records: vec![MxRecord {
            host: "mail.example.test.".into(),
            pref: 10,
        }],
    }));
    let ev = Dns
        .observe(config("example.test", Some("mx")), &host)
        .unwrap();
    assert_eq!(
        ev.get("mx_records"),
        Some(&json!([{"host": "mail.example.test.", "pref": 10}]))
    );
    assert_eq!(ev.get("records"), Some(&json!(["mail.example.test."])));
    assert_eq!(ev.get("record_count"), Some(&json!(1)));
    assert_eq!(host.asked.borrow()[0].record_type, "MX");
}

#[test]
fn a_missing_name_is_failed_evidence_and_a_timeout_an_error() {
    let mut missing = Error::new(ErrorType::Network, "no records");
    missing.is_not_found = true;
    let ev = Dns
        .observe(
            config("nx.example.test", None),
            &FakeHost::answering(Err(missing)),
        )
        .unwrap();
    assert_eq!(ev.get("is_not_found"), Some(&json!(true)));
    assert_eq!(ev.get("record_count"), Some(&json!(0)));
    assert!(ev.failure.unwrap().contains("no A records"));

    let mut slow = Error::new(ErrorType::Timeout, "lookup timed out");
    slow.is_timeout = true;
    let err = Dns
        .observe(
            config("slow.example.test", None),
            &FakeHost::answering(Err(slow)),
        )
        .unwrap_err();
    assert_eq!(err.kind, ErrorType::Timeout);
}

#[test]
fn bad_configs_never_reach_the_host() {
    let host = FakeHost::answering(Ok(DnsResponse::default()));
    for (config, field) in [
        (config("  ", None), "hostname"),
        (config("example.test", Some("SRV")), "record_type"),
    ] {
        let err = Dns.observe(config, &host).unwrap_err();
        assert_eq!((err.kind, err.code.as_str()), (ErrorType::Config, field));
    }
    assert!(host.asked.borrow().is_empty());
}
