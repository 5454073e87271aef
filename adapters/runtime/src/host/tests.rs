//! The host functions against mocked ports: what is checked, in which order, and what reaches the
//! outside world.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use reglet_domain::GrantSet;
use reglet_ports::{
    CommandOutput, HttpResponse, MockCommandRunner, MockDnsResolver, MockHttpClient, MockTcpDialer,
    TcpConnectReport, TlsInfo,
};
use serde_json::{Value, json};

use super::{Call, HostServices};
use crate::context::PluginContext;

fn call(grants: &[&str], services: HostServices) -> Call {
    Call {
        plugin: Arc::new(PluginContext::for_tests(
            GrantSet::parse_all(grants).unwrap(),
            services,
        )),
        function: "test",
        deadline: Instant::now() + Duration::from_secs(10),
    }
}

/// The handlers as the guest sees them: an error becomes the function's error document, as
/// `register` makes it.
mod answered {
    use serde_json::Value;

    use super::super::Call;

    macro_rules! answered {
        ($($module:ident :: $function:ident),*) => {$(
            pub(super) async fn $function(call: Call, bytes: Vec<u8>) -> Value {
                super::super::$module::$function(call, bytes)
                    .await
                    .unwrap_or_else(|e| e.into_answer(stringify!($function)))
            }
        )*};
    }

    answered!(
        dns::dns_lookup,
        http::http_request,
        tcp::tcp_connect,
        smtp::smtp_connect,
        exec::exec_command
    );
}

fn bytes(doc: Value) -> Vec<u8> {
    serde_json::to_vec(&doc).unwrap()
}

fn dns_answers(answers: Vec<Vec<&'static str>>) -> MockDnsResolver {
    let mut dns = MockDnsResolver::new();
    let answers = Mutex::new(answers.into_iter());
    dns.expect_resolve_ips().returning(move |_, _| {
        let next = answers
            .lock()
            .unwrap()
            .next()
            .expect("an unexpected extra lookup");
        Ok(next.iter().map(|a| a.parse::<IpAddr>().unwrap()).collect())
    });
    dns
}

fn response(status: u16, headers: &[(&str, &str)], body: &str) -> HttpResponse {
    HttpResponse {
        status,
        headers: headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
        body: body.as_bytes().to_vec(),
        body_truncated: false,
        protocol: "HTTP/1.1".into(),
    }
}

#[tokio::test]
async fn http_connects_to_the_address_it_vetted_even_if_dns_rebinds() {
    // A rebinding resolver: public first, loopback for anyone who asks again.
    let dns = dns_answers(vec![vec!["93.184.215.14"], vec!["127.0.0.1"]]);
    let mut http = MockHttpClient::new();
    http.expect_send()
        .times(1)
        .withf(|r| {
            r.connect_to == "93.184.215.14:80".parse().unwrap()
                && r.url == "http://rebind.example/x"
        })
        .returning(|_| Ok(response(200, &[("content-type", "text/plain")], "ok")));
    let services = HostServices::builder()
        .dns(Arc::new(dns))
        .http(Arc::new(http))
        .build();
    let doc = answered::http_request(
        call(&["network:outbound:rebind.example:80"], services),
        bytes(json!({"method": "GET", "url": "http://rebind.example/x"})),
    )
    .await;
    assert_eq!(doc["status_code"], 200, "{doc}");
    assert_eq!(doc["headers"]["Content-Type"], json!(["text/plain"]));
    assert_eq!(doc["body"], "b2s=");
}

#[tokio::test]
async fn redirects_are_rechecked_against_grants_and_the_ssrf_filter() {
    let only_allowed: &[&str] = &["network:outbound:allowed.example:80"];
    let any_host: &[&str] = &["network:outbound:*:80"];
    let cases = [
        (
            "http://other.example/",
            only_allowed,
            "capability",
            "network:outbound:other.example:80",
        ),
        (
            "http://169.254.169.254/latest/meta-data/",
            any_host,
            "ssrf_protection",
            "169.254.169.254",
        ),
        (
            "http://2130706433/",
            any_host,
            "ssrf_protection",
            "127.0.0.1",
        ),
        (
            "http://[::ffff:7f00:1]/",
            any_host,
            "ssrf_protection",
            "IPv4-mapped",
        ),
        (
            "ftp://allowed.example/",
            any_host,
            "network",
            "not an http(s) URL",
        ),
    ];
    for (location, grants, kind, needle) in cases {
        let mut http = MockHttpClient::new();
        let location = location.to_owned();
        http.expect_send()
            .times(1)
            .returning(move |_| Ok(response(302, &[("location", &location)], "")));
        // One answer: the first hop's. A second lookup would panic the mock.
        let services = HostServices::builder()
            .dns(Arc::new(dns_answers(vec![vec!["93.184.215.14"]])))
            .http(Arc::new(http))
            .build();
        let doc = answered::http_request(
            call(grants, services),
            bytes(json!({"url": "http://allowed.example/start"})),
        )
        .await;
        assert_eq!(doc["error"]["type"], kind, "{doc}");
        assert!(
            doc["error"]["message"].as_str().unwrap().contains(needle),
            "{doc}"
        );
    }
}

#[tokio::test]
async fn redirects_stop_after_ten_and_change_method_and_credentials_like_go() {
    let mut http = MockHttpClient::new();
    http.expect_send()
        .times(11)
        .returning(|_| Ok(response(302, &[("location", "/again")], "")));
    let services = HostServices::builder()
        .dns(Arc::new(dns_answers(vec![vec!["93.184.215.14"]; 11])))
        .http(Arc::new(http))
        .build();
    let doc = answered::http_request(
        call(&["network:outbound:loop.example:80"], services),
        bytes(json!({"url": "http://loop.example/"})),
    )
    .await;
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .contains("10 redirects"),
        "{doc}"
    );

    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let mut http = MockHttpClient::new();
    http.expect_send().times(2).returning(move |r| {
        record.lock().unwrap().push(r.clone());
        Ok(match r.url.as_str() {
            "http://a.example/form" => response(303, &[("location", "http://b.example/done")], ""),
            _ => response(200, &[], "done"),
        })
    });
    let services = HostServices::builder()
        .dns(Arc::new(dns_answers(vec![
            vec!["93.184.215.14"],
            vec!["93.184.215.15"],
        ])))
        .http(Arc::new(http))
        .build();
    let doc = answered::http_request(
        call(&["network:outbound:*:80"], services),
        bytes(json!({"method": "POST", "url": "http://a.example/form", "body": "eyJ4IjoxfQ==",
                     "headers": {"Authorization": ["Bearer t"], "Host": ["evil.example"], "X-Trace": ["1"]}})),
    )
    .await;
    assert_eq!(doc["status_code"], 200, "{doc}");
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].body, br#"{"x":1}"#);
    assert!(seen[0].headers.iter().any(|(n, _)| n == "Authorization"));
    assert!(
        !seen[0]
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("host")),
        "a guest cannot set Host"
    );
    assert!(
        seen[0]
            .headers
            .iter()
            .any(|(n, v)| n == "User-Agent" && v.starts_with("reglet-rs/"))
    );
    assert_eq!(seen[1].method, "GET", "303 turns into GET");
    assert!(seen[1].body.is_empty());
    assert!(
        !seen[1].headers.iter().any(|(n, _)| n == "Authorization"),
        "credentials stay with the first host"
    );
    assert!(seen[1].headers.iter().any(|(n, _)| n == "X-Trace"));
}

#[tokio::test]
async fn http_request_errors_are_documents() {
    for (request, needle) in [
        (
            json!({"url": "http://x.example/", "body": "not base64!"}),
            "base64",
        ),
        (json!({"url": "not a url"}), "invalid URL"),
        (json!({"url": "file:///etc/passwd"}), "http or https"),
        (
            json!({"url": "http://x.example/", "method": "GET /"}),
            "method",
        ),
    ] {
        let doc = answered::http_request(
            call(&["network:outbound:*"], HostServices::builder().build()),
            bytes(request),
        )
        .await;
        assert!(
            doc["error"]["message"].as_str().unwrap().contains(needle),
            "{doc}"
        );
    }
}

#[tokio::test]
async fn dns_checks_the_name_or_the_nameserver() {
    let mut dns = MockDnsResolver::new();
    dns.expect_lookup().never();
    dns.expect_resolve_ips().never();
    let services = HostServices::builder().dns(Arc::new(dns)).build();
    let c = call(&["network:outbound:*.example.com:53"], services);
    let doc = answered::dns_lookup(c, bytes(json!({"hostname": "evil.test", "type": "A"}))).await;
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .contains("network:outbound:evil.test:53"),
        "{doc}"
    );

    let services = HostServices::builder().build();
    let c = call(&["network:outbound:*:53"], services);
    let doc = answered::dns_lookup(
        c,
        bytes(json!({"hostname": "a.example.com", "nameserver": "10.0.0.53"})),
    )
    .await;
    assert_eq!(
        doc["error"]["type"], "ssrf_protection",
        "a nameserver is a destination like any other: {doc}"
    );

    let c = call(&["network:outbound:*:53"], HostServices::builder().build());
    let doc = answered::dns_lookup(
        c,
        bytes(json!({"hostname": "a.example.com", "type": "SRV"})),
    )
    .await;
    assert_eq!(doc["error"]["message"], "unsupported record type: SRV");

    let mut dns = MockDnsResolver::new();
    dns.expect_lookup()
        .withf(|q| q.nameserver == Some("8.8.8.8:53".parse().unwrap()) && q.name == "a.example.com")
        .returning(|_| {
            Ok(reglet_ports::DnsAnswer {
                records: vec![],
                mx_records: vec![reglet_ports::MxRecord {
                    host: "mx.example.com.".into(),
                    preference: 10,
                }],
            })
        });
    let c = call(
        &["network:outbound:8.8.8.8:53"],
        HostServices::builder().dns(Arc::new(dns)).build(),
    );
    let doc = answered::dns_lookup(
        c,
        bytes(json!({"hostname": "a.example.com", "type": "MX", "nameserver": "8.8.8.8:53"})),
    )
    .await;
    assert_eq!(
        doc,
        json!({"mx_records": [{"host": "mx.example.com.", "pref": 10}]})
    );
}

#[tokio::test]
async fn exec_refuses_what_is_not_granted_or_would_hijack() {
    let never = || {
        let mut runner = MockCommandRunner::new();
        runner.expect_run().never();
        HostServices::builder().commands(Arc::new(runner)).build()
    };
    for (grants, request, needle) in [
        (
            vec!["exec:/usr/bin/env"],
            json!({"command": "/bin/ls"}),
            "exec:/bin/ls",
        ),
        (
            vec!["exec:/bin/*"],
            json!({"command": "/bin/sh", "args": ["-c", "id"]}),
            "needs a grant that names it",
        ),
        (
            vec!["exec:**"],
            json!({"command": "python3", "args": ["-c", "1"]}),
            "names it",
        ),
        (
            vec!["exec:/usr/bin/env"],
            json!({"command": "/usr/bin/env", "env": ["LD_PRELOAD=/tmp/x.so"]}),
            "LD_PRELOAD",
        ),
        (
            vec!["exec:/usr/bin/env", "exec:env:*"],
            json!({"command": "/usr/bin/env", "env": ["BASH_ENV=/tmp/x"]}),
            "BASH_ENV",
        ),
        (
            vec!["exec:/usr/bin/git"],
            json!({"command": "/usr/bin/git", "env": ["GIT_EXTERNAL_DIFF=/usr/bin/id"]}),
            "exec:env:GIT_EXTERNAL_DIFF",
        ),
        (
            vec!["exec:/usr/bin/echo:hello *"],
            json!({"command": "/usr/bin/echo", "args": ["bye"]}),
            "pin its arguments",
        ),
        (
            vec!["exec:/usr/bin/env"],
            json!({"command": "/usr/bin/env", "dir": "/root"}),
            "fs:read:/root",
        ),
        (
            vec!["exec:/usr/bin/env"],
            json!({"command": "../bin/env"}),
            "command not found",
        ),
    ] {
        let doc = answered::exec_command(call(&grants, never()), bytes(request.clone())).await;
        assert!(
            doc["error"]["message"].as_str().unwrap().contains(needle),
            "{request}: {doc}"
        );
        assert_eq!(doc["exit_code"], 0, "the answer keeps its shape: {doc}");
    }
}

#[tokio::test]
async fn exec_runs_granted_programs_with_only_the_allowed_environment() {
    let mut runner = MockCommandRunner::new();
    runner
        .expect_run()
        .withf(|r| {
            r.program == std::path::Path::new("/usr/bin/env")
                && r.args == ["-0"]
                && r.env
                    == [
                        ("LANG".to_owned(), "C".to_owned()),
                        ("LD_PRELOAD".to_owned(), "/tmp/x.so".to_owned()),
                        (
                            "PATH".to_owned(),
                            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
                                .to_owned(),
                        ),
                    ]
                && r.max_output_bytes == 10 << 20
        })
        .returning(|_| {
            Ok(CommandOutput {
                stdout: b"LANG=C\0".to_vec(),
                exit_code: Some(0),
                stdout_truncated: true,
                timed_out: true,
                ..CommandOutput::default()
            })
        });
    let services = HostServices::builder().commands(Arc::new(runner)).build();
    let doc = answered::exec_command(
        call(&["exec:env", "exec:env:LD_PRELOAD"], services),
        bytes(json!({"command": "env", "args": ["-0"], "env": ["LANG=C", "LD_PRELOAD=/tmp/x.so"]})),
    )
    .await;
    assert_eq!(doc["stdout"], "LANG=C\u{0}");
    assert_eq!(doc["stdout_truncated"], true);
    assert_eq!(doc["is_timeout"], true);
    assert_eq!(doc["error"]["is_timeout"], true);
}

#[tokio::test]
async fn a_certificate_that_fails_verification_is_reported_not_hidden() {
    let mut tcp = MockTcpDialer::new();
    tcp.expect_connect().returning(|r| {
        Ok(TcpConnectReport {
            remote_addr: r.addr,
            local_addr: "192.0.2.1:50000".parse().unwrap(),
            elapsed: Duration::from_millis(3),
            tls: Some(TlsInfo {
                version: "TLS 1.3".into(),
                cipher_suite: "TLS_AES_128_GCM_SHA256".into(),
                server_name: r.host.clone(),
                cert_subject: Some("CN=expired.example".into()),
                cert_issuer: Some("CN=Test CA".into()),
                cert_not_after: Some("2020-01-01T00:00:00Z".parse().unwrap()),
                verification_error: Some("the certificate has expired".into()),
            }),
        })
    });
    let services = HostServices::builder().tcp(Arc::new(tcp)).build();
    let doc = answered::tcp_connect(
        call(&["network:outbound:93.184.215.14:443"], services),
        bytes(json!({"host": "93.184.215.14", "port": "443", "tls": true})),
    )
    .await;
    assert_eq!(doc["connected"], true);
    assert_eq!(doc["tls_verified"], false);
    assert_eq!(doc["tls_cert_subject"], "CN=expired.example");
    assert_eq!(doc["tls_cert_not_after"], "2020-01-01T00:00:00Z");
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{doc}"
    );
}

fn field_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        ".{0,12}".prop_map(Value::String),
        Just(json!("http://127.0.0.1:1/")),
        Just(json!(["a", 1])),
        Just(json!({"Canceled": true, "deadline": "garbage", "timeout_ms": -5})),
    ]
}

fn request() -> impl Strategy<Value = Vec<u8>> {
    let names = prop::sample::select(vec![
        "host",
        "port",
        "url",
        "method",
        "headers",
        "body",
        "hostname",
        "type",
        "nameserver",
        "command",
        "args",
        "env",
        "dir",
        "tls",
        "starttls",
        "timeout_ms",
        "context",
        "HOST",
        "Url",
    ]);
    prop_oneof![
        prop::collection::vec((names, field_value()), 0..8).prop_map(|fields| serde_json::to_vec(
            &Value::Object(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
        )
        .unwrap()),
        prop::collection::vec(any::<u8>(), 0..64),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Any request, valid or not, gets an answer and nothing is done without a grant (the mocks
    /// panic if anything reaches them).
    #[test]
    fn every_decoder_answers_anything_without_panicking(bytes in request()) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let quiet = || {
                HostServices::builder()
                    .dns(Arc::new(MockDnsResolver::new()))
                    .http(Arc::new(MockHttpClient::new()))
                    .tcp(Arc::new(MockTcpDialer::new()))
                    .smtp(Arc::new(reglet_ports::MockSmtpProber::new()))
                    .commands(Arc::new(MockCommandRunner::new()))
                    .build()
            };
            for answer in [
                answered::dns_lookup(call(&[], quiet()), bytes.clone()).await,
                answered::http_request(call(&[], quiet()), bytes.clone()).await,
                answered::tcp_connect(call(&[], quiet()), bytes.clone()).await,
                answered::smtp_connect(call(&[], quiet()), bytes.clone()).await,
                answered::exec_command(call(&[], quiet()), bytes.clone()).await,
            ] {
                assert!(answer.is_object());
            }
        });
    }
}
