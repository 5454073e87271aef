//! The five I/O host functions end to end: a real wasm guest calls each `reglet_host` import
//! through the ABI (its memory in, the answer written back through its `allocate`), the real
//! adapters do the work, and the other end is a server this test started on loopback — HTTP(S),
//! SMTP with STARTTLS, a stub DNS server, silent listeners. Nothing leaves the machine.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use reglet_domain::{Config, GrantSet};
use reglet_outbound::resolver::HickoryResolver;
use reglet_runtime::{HostLimits, HostServices, RuntimeOptions};
use reglet_tests::loopback::{
    DnsRecord, DnsServer, HttpServer, SmtpMode, SmtpServer, TestPki, closed_port, silent_listener,
};
use reglet_tests::{Gen, LogCapture, PluginWat, name, runtime};
use serde_json::{Value, json};

/// Everything a test may talk to.
struct World {
    pki: TestPki,
    dns: DnsServer,
    web: HttpServer,
    secure: HttpServer,
}

impl World {
    async fn start() -> World {
        let pki = TestPki::new(&["web.reglet.test", "mail.reglet.test", "127.0.0.1"]);
        let dns = DnsServer::start(&[
            ("web.reglet.test", DnsRecord::A(Ipv4Addr::LOCALHOST)),
            ("web.reglet.test", DnsRecord::Aaaa(Ipv6Addr::LOCALHOST)),
            ("web.reglet.test", DnsRecord::Txt("v=spf1 -all")),
            ("other.reglet.test", DnsRecord::A(Ipv4Addr::LOCALHOST)),
            // IPv6 first in the answer, where no test server listens: connections must move on
            // to the next vetted address when one refuses.
            ("mail.reglet.test", DnsRecord::Aaaa(Ipv6Addr::LOCALHOST)),
            ("mail.reglet.test", DnsRecord::A(Ipv4Addr::LOCALHOST)),
            ("alias.reglet.test", DnsRecord::Cname("web.reglet.test.")),
            ("reglet.test", DnsRecord::Mx(10, "mail.reglet.test.")),
            ("reglet.test", DnsRecord::Ns("ns1.reglet.test.")),
            (
                "metadata.reglet.test",
                DnsRecord::A(Ipv4Addr::new(169, 254, 169, 254)),
            ),
        ])
        .await;
        let web = HttpServer::start(None).await;
        let secure = HttpServer::start(Some(pki.acceptor())).await;
        World {
            pki,
            dns,
            web,
            secure,
        }
    }

    /// The real adapters, resolving through the stub DNS server and trusting the test CA.
    fn services(&self, limits: HostLimits) -> HostServices {
        HostServices::builder()
            .dns(Arc::new(HickoryResolver::with_nameserver(self.dns.addr)))
            .trust_root(self.pki.ca_der())
            .limits(limits)
            .build()
    }
}

/// Loads a guest that forwards its config to `function`, observes once, and returns the
/// host's answer as the guest received it.
async fn call_as(
    generation: Gen,
    function: &str,
    grants: &[&str],
    services: HostServices,
    request: Value,
) -> Value {
    let grants = GrantSet::parse_all(grants).expect("test grants parse");
    let rt = runtime(
        RuntimeOptions::new(reglet_tests::redactor())
            .grant("probe", grants)
            .services(Arc::new(services)),
    );
    let plugin = rt
        .load_plugin(
            &name("probe"),
            &PluginWat::forwarder(generation, function).wasm(),
        )
        .await
        .expect("the forwarding plugin loads");
    let evidence = plugin
        .observe(&Config::from_value(request).expect("a JSON object"))
        .await
        .expect("the plugin returns evidence");
    evidence.data.expect("evidence data")["response"].clone()
}

async fn call(function: &str, grants: &[&str], services: HostServices, request: Value) -> Value {
    call_as(Gen::One, function, grants, services, request).await
}

fn error_type(doc: &Value) -> &str {
    doc["error"]["type"].as_str().unwrap_or_default()
}

fn error_message(doc: &Value) -> &str {
    doc["error"]["message"].as_str().unwrap_or_default()
}

fn port_grant(host: &str, addr: SocketAddr) -> String {
    format!("network:outbound:{host}:{}", addr.port())
}

const PRIVATE: &str = "network:outbound:private";

// ---------------------------------------------------------------------------------------------
// dns_lookup

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_lookup_answers_every_record_type() {
    let world = World::start().await;
    let cases = [
        ("web.reglet.test", "A", json!({"records": ["127.0.0.1"]})),
        ("web.reglet.test", "AAAA", json!({"records": ["::1"]})),
        (
            "web.reglet.test",
            "TXT",
            json!({"records": ["v=spf1 -all"]}),
        ),
        (
            "alias.reglet.test",
            "CNAME",
            json!({"records": ["web.reglet.test."]}),
        ),
        (
            "reglet.test",
            "MX",
            json!({"mx_records": [{"host": "mail.reglet.test.", "pref": 10}]}),
        ),
        (
            "reglet.test",
            "NS",
            json!({"records": ["ns1.reglet.test."]}),
        ),
    ];
    for (hostname, kind, expected) in cases {
        let doc = call(
            "dns_lookup",
            &["network:outbound:53"],
            world.services(HostLimits::default()),
            json!({"context": {}, "hostname": hostname, "type": kind}),
        )
        .await;
        assert_eq!(doc, expected, "{kind} {hostname}");
    }

    let doc = call(
        "dns_lookup",
        &["network:outbound:53"],
        world.services(HostLimits::default()),
        json!({"context": {}, "hostname": "nowhere.reglet.test", "type": "A"}),
    )
    .await;
    assert_eq!(doc["error"]["is_not_found"], true, "{doc}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_lookup_in_a_gen2_plugin_speaks_the_same_wire() {
    let world = World::start().await;
    let doc = call_as(
        Gen::Two,
        "dns_lookup",
        &["network:outbound:53"],
        world.services(HostLimits::default()),
        json!({"context": {}, "hostname": "web.reglet.test", "type": "A"}),
    )
    .await;
    assert_eq!(doc, json!({"records": ["127.0.0.1"]}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_named_nameserver_is_a_destination_that_must_be_granted() {
    let world = World::start().await;
    // The default resolver points nowhere, so an answer can only come from the named server.
    let services = || {
        HostServices::builder()
            .dns(Arc::new(HickoryResolver::with_nameserver(
                "127.0.0.1:9".parse().unwrap(),
            )))
            .build()
    };
    let request = json!({"context": {}, "hostname": "web.reglet.test", "type": "A",
                         "nameserver": world.dns.addr.to_string()});
    let ns_grant = port_grant("127.0.0.1", world.dns.addr);

    let doc = call(
        "dns_lookup",
        &["network:outbound:53"],
        services(),
        request.clone(),
    )
    .await;
    assert_eq!(error_type(&doc), "capability", "{doc}");
    assert!(error_message(&doc).contains(&ns_grant), "{doc}");
    assert_eq!(
        world.dns.queries(),
        0,
        "nothing was asked before the checks"
    );

    // A loopback server reached through a name needs the private switch; one named by its
    // address in the grants is reached without it (the user wrote that address).
    let doc = call("dns_lookup", &[ns_grant.as_str()], services(), request).await;
    assert_eq!(doc, json!({"records": ["127.0.0.1"]}));
    assert!(world.dns.queries() >= 1);
}

// ---------------------------------------------------------------------------------------------
// http_request

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_get_reports_status_headers_body_and_protocol() {
    let world = World::start().await;
    let url = format!("https://web.reglet.test:{}/ok", world.secure.addr.port());
    let grants = [
        port_grant("web.reglet.test", world.secure.addr),
        PRIVATE.into(),
    ];
    let grants: Vec<&str> = grants.iter().map(String::as_str).collect();
    let doc = call(
        "http_request",
        &grants,
        world.services(HostLimits::default()),
        json!({"context": {}, "method": "GET", "url": url}),
    )
    .await;
    assert_eq!(doc["status_code"], 200, "{doc}");
    assert_eq!(doc["headers"]["X-Multi"], json!(["a", "b"]));
    assert_eq!(doc["headers"]["Content-Type"], json!(["text/plain"]));
    assert_eq!(
        BASE64.decode(doc["body"].as_str().unwrap()).unwrap(),
        b"hello from loopback"
    );
    assert_eq!(doc["proto"], "HTTP/1.1");
    assert!(doc.get("body_truncated").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_post_sends_method_headers_and_body_but_not_a_guest_host_header() {
    let world = World::start().await;
    let url = format!("http://web.reglet.test:{}/echo?x=1", world.web.addr.port());
    let grant = port_grant("web.reglet.test", world.web.addr);
    let doc = call(
        "http_request",
        &[grant.as_str(), PRIVATE],
        world.services(HostLimits::default()),
        json!({"context": {}, "method": "POST", "url": url,
               "headers": {"Content-Type": ["application/json"], "X-Check": ["1", "2"], "Host": ["evil.example"]},
               "body": BASE64.encode(br#"{"ping":true}"#)}),
    )
    .await;
    assert_eq!(doc["status_code"], 200, "{doc}");
    let echoed: Value =
        serde_json::from_slice(&BASE64.decode(doc["body"].as_str().unwrap()).unwrap()).unwrap();
    assert_eq!(echoed["method"], "POST");
    assert_eq!(echoed["target"], "/echo?x=1");
    assert_eq!(
        BASE64.decode(echoed["body_b64"].as_str().unwrap()).unwrap(),
        br#"{"ping":true}"#
    );
    let headers: Vec<(String, String)> = serde_json::from_value(echoed["headers"].clone()).unwrap();
    let values = |name: &str| -> Vec<&str> {
        headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    assert_eq!(
        values("host"),
        [format!("web.reglet.test:{}", world.web.addr.port())]
    );
    assert_eq!(values("x-check"), ["1", "2"]);
    assert!(values("user-agent")[0].starts_with("reglet-rs/"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_bodies_beyond_the_cap_are_cut_and_flagged() {
    let world = World::start().await;
    let url = format!(
        "http://web.reglet.test:{}/big?n=5000",
        world.web.addr.port()
    );
    let grant = port_grant("web.reglet.test", world.web.addr);
    let limits = HostLimits {
        http_max_body_bytes: 1000,
        ..HostLimits::default()
    };
    let doc = call(
        "http_request",
        &[grant.as_str(), PRIVATE],
        world.services(limits),
        json!({"url": url}),
    )
    .await;
    assert_eq!(doc["status_code"], 200, "{doc}");
    assert_eq!(doc["body_truncated"], true);
    assert_eq!(
        BASE64.decode(doc["body"].as_str().unwrap()).unwrap(),
        vec![b'x'; 1000]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_followed_only_where_grants_and_the_ssrf_filter_allow() {
    let world = World::start().await;
    let port = world.web.addr.port();
    let grant = port_grant("web.reglet.test", world.web.addr);
    let start = |to: &str| format!("http://web.reglet.test:{port}/redirect?to={to}");

    // Allowed: same host.
    let doc = call(
        "http_request",
        &[grant.as_str(), PRIVATE],
        world.services(HostLimits::default()),
        json!({"url": start("/ok")}),
    )
    .await;
    assert_eq!(doc["status_code"], 200, "{doc}");
    assert_eq!(world.web.hits("/ok"), 1);

    // A host the plugin was not granted: refused before any connection.
    let doc = call(
        "http_request",
        &[grant.as_str(), PRIVATE],
        world.services(HostLimits::default()),
        json!({"url": start(&format!("http://other.reglet.test:{port}/ok"))}),
    )
    .await;
    assert_eq!(error_type(&doc), "capability", "{doc}");
    assert!(error_message(&doc).contains("other.reglet.test"), "{doc}");
    assert_eq!(world.web.hits("/ok"), 1, "the forbidden hop was never made");

    // Cloud metadata, by address and by a name that resolves to it, under a wildcard grant.
    for to in [
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://metadata.reglet.test/latest/meta-data/".to_owned(),
        format!("http://2130706433:{port}/ok"),
    ] {
        let doc = call(
            "http_request",
            &["network:outbound:*"],
            world.services(HostLimits::default()),
            json!({"url": format!("http://web.reglet.test:{port}/redirect?to={to}")}),
        )
        .await;
        // The first hop is loopback itself, so without the private grant it is refused too.
        assert_eq!(error_type(&doc), "ssrf_protection", "{doc}");
        assert!(error_message(&doc).contains("loopback"), "{doc}");

        let doc = call(
            "http_request",
            &[grant.as_str(), PRIVATE, "network:outbound:*:80"],
            world.services(HostLimits::default()),
            json!({"url": format!("http://web.reglet.test:{port}/redirect?to={to}")}),
        )
        .await;
        if to.contains("2130706433") {
            // With the private grant loopback is reachable, but only where granted: the decimal
            // spelling is read as the address it is, which no grant names.
            assert_eq!(error_type(&doc), "capability", "{to}: {doc}");
            assert!(
                error_message(&doc).contains(&format!("127.0.0.1:{port}")),
                "{doc}"
            );
        } else {
            assert_eq!(error_type(&doc), "ssrf_protection", "{to}: {doc}");
            assert!(error_message(&doc).contains("169.254.169.254"), "{doc}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_honours_the_request_timeout() {
    let world = World::start().await;
    let grant = port_grant("web.reglet.test", world.web.addr);
    let doc = call(
        "http_request",
        &[grant.as_str(), PRIVATE],
        world.services(HostLimits::default()),
        json!({"context": {"timeout_ms": 300},
               "url": format!("http://web.reglet.test:{}/slow", world.web.addr.port())}),
    )
    .await;
    assert_eq!(error_type(&doc), "timeout", "{doc}");
    assert_eq!(doc["error"]["is_timeout"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_refuses_loopback_without_the_private_grant_and_untrusted_certificates() {
    let world = World::start().await;
    let grant = port_grant("web.reglet.test", world.web.addr);
    let doc = call(
        "http_request",
        &[grant.as_str(), "network:outbound:*"],
        world.services(HostLimits::default()),
        json!({"url": format!("http://web.reglet.test:{}/ok", world.web.addr.port())}),
    )
    .await;
    assert_eq!(error_type(&doc), "ssrf_protection", "{doc}");
    assert_eq!(world.web.hits("/ok"), 0);

    let untrusted = HttpServer::start(Some(world.pki.untrusted_acceptor())).await;
    let grant = port_grant("web.reglet.test", untrusted.addr);
    let doc = call(
        "http_request",
        &[grant.as_str(), PRIVATE],
        world.services(HostLimits::default()),
        json!({"url": format!("https://web.reglet.test:{}/ok", untrusted.addr.port())}),
    )
    .await;
    assert!(doc.get("status_code").is_none(), "{doc}");
    assert!(
        error_message(&doc).to_lowercase().contains("certificate"),
        "{doc}"
    );
    assert_eq!(
        untrusted.hits("/ok"),
        0,
        "no request went over an unverified session"
    );
}

// ---------------------------------------------------------------------------------------------
// tcp_connect

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_connect_reports_plain_and_tls_connections() {
    let world = World::start().await;
    let grant = port_grant("web.reglet.test", world.web.addr);
    let doc = call(
        "tcp_connect",
        &[grant.as_str(), PRIVATE],
        world.services(HostLimits::default()),
        json!({"context": {}, "host": "web.reglet.test", "port": world.web.addr.port().to_string(), "timeout_ms": 5000}),
    )
    .await;
    assert_eq!(doc["connected"], true, "{doc}");
    assert_eq!(
        doc["address"],
        format!("web.reglet.test:{}", world.web.addr.port())
    );
    assert_eq!(doc["remote_addr"], world.web.addr.to_string());
    assert!(doc.get("tls").is_none());

    let grant = port_grant("web.reglet.test", world.secure.addr);
    let doc = call(
        "tcp_connect",
        &[grant.as_str(), PRIVATE],
        world.services(HostLimits::default()),
        json!({"host": "web.reglet.test", "port": world.secure.addr.port(), "timeout_ms": 5000, "tls": true}),
    )
    .await;
    assert_eq!(doc["connected"], true, "{doc}");
    assert_eq!(doc["tls"], true);
    assert_eq!(doc["tls_version"], "TLS 1.3");
    assert!(
        doc["tls_cipher_suite"]
            .as_str()
            .unwrap()
            .starts_with("TLS_"),
        "{doc}"
    );
    assert_eq!(doc["tls_server_name"], "web.reglet.test");
    assert!(
        doc["tls_cert_subject"]
            .as_str()
            .unwrap()
            .contains("CN=web.reglet.test"),
        "{doc}"
    );
    assert!(
        doc["tls_cert_issuer"]
            .as_str()
            .unwrap()
            .contains(reglet_tests::loopback::CA_NAME),
        "{doc}"
    );
    assert!(
        doc["tls_cert_not_after"].as_str().unwrap().len() >= 20,
        "{doc}"
    );
    assert_eq!(doc["tls_verified"], true);
    assert!(doc.get("error").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_that_fails_verification_is_evidence_not_an_opaque_failure() {
    let world = World::start().await;
    let untrusted = HttpServer::start(Some(world.pki.untrusted_acceptor())).await;
    let grant = port_grant("web.reglet.test", untrusted.addr);
    let doc = call(
        "tcp_connect",
        &[grant.as_str(), PRIVATE],
        world.services(HostLimits::default()),
        json!({"host": "web.reglet.test", "port": untrusted.addr.port().to_string(), "tls": true, "timeout_ms": 5000}),
    )
    .await;
    assert_eq!(doc["connected"], true, "{doc}");
    assert_eq!(doc["tls_verified"], false);
    assert!(!doc["tls_error"].as_str().unwrap().is_empty());
    assert!(
        doc["tls_cert_subject"]
            .as_str()
            .unwrap()
            .contains("CN=web.reglet.test"),
        "{doc}"
    );
    assert_eq!(error_type(&doc), "tls");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_connect_failures_timeouts_and_refusals() {
    let world = World::start().await;
    let closed = closed_port().await;
    let grant = port_grant("127.0.0.1", closed);
    let doc = call(
        "tcp_connect",
        &[grant.as_str(), PRIVATE],
        world.services(HostLimits::default()),
        json!({"host": "127.0.0.1", "port": closed.port().to_string(), "timeout_ms": 5000}),
    )
    .await;
    assert_eq!(doc["connected"], false, "{doc}");
    assert!(error_message(&doc).contains("refused"), "{doc}");

    // The TLS path honours timeout_ms too: a server that never answers the handshake.
    let silent = silent_listener().await;
    let grant = port_grant("127.0.0.1", silent);
    let doc = call(
        "tcp_connect",
        &[grant.as_str(), PRIVATE],
        world.services(HostLimits::default()),
        json!({"host": "127.0.0.1", "port": silent.port().to_string(), "tls": true, "timeout_ms": 300}),
    )
    .await;
    assert_eq!(doc["connected"], false, "{doc}");
    assert_eq!(doc["error"]["is_timeout"], true, "{doc}");

    // Not granted: the port; then loopback without the private grant; then an odd spelling.
    let doc = call(
        "tcp_connect",
        &["network:outbound:443", PRIVATE],
        world.services(HostLimits::default()),
        json!({"host": "127.0.0.1", "port": silent.port().to_string()}),
    )
    .await;
    assert_eq!(error_type(&doc), "capability", "{doc}");
    for host in [
        "127.0.0.1",
        "0x7f000001",
        "2130706433",
        "[::ffff:127.0.0.1]",
        "0.0.0.0",
    ] {
        let doc = call(
            "tcp_connect",
            &["network:outbound:*"],
            world.services(HostLimits::default()),
            json!({"host": host, "port": silent.port().to_string()}),
        )
        .await;
        assert_eq!(error_type(&doc), "ssrf_protection", "{host}: {doc}");
        assert_eq!(doc["connected"], false);
    }
}

// ---------------------------------------------------------------------------------------------
// smtp_connect

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_reads_the_banner_and_negotiates_starttls_and_implicit_tls() {
    let world = World::start().await;
    let plain = SmtpServer::start(SmtpMode::Plain, world.pki.acceptor()).await;
    let implicit = SmtpServer::start(SmtpMode::ImplicitTls, world.pki.acceptor()).await;
    let request = |addr: SocketAddr, tls: bool, starttls: bool| {
        json!({"context": {}, "host": "mail.reglet.test", "port": addr.port().to_string(),
               "timeout_ms": 5000, "tls": tls, "starttls": starttls})
    };
    let grants = |addr: SocketAddr| vec![port_grant("mail.reglet.test", addr), PRIVATE.to_owned()];

    let g = grants(plain.addr);
    let g: Vec<&str> = g.iter().map(String::as_str).collect();
    let doc = call(
        "smtp_connect",
        &g,
        world.services(HostLimits::default()),
        request(plain.addr, false, false),
    )
    .await;
    assert_eq!(doc["connected"], true, "{doc}");
    assert_eq!(doc["banner"], reglet_tests::loopback::SMTP_BANNER);
    assert!(doc.get("tls").is_none());

    let doc = call(
        "smtp_connect",
        &g,
        world.services(HostLimits::default()),
        request(plain.addr, false, true),
    )
    .await;
    assert_eq!(doc["connected"], true, "{doc}");
    assert_eq!(
        doc["banner"],
        reglet_tests::loopback::SMTP_BANNER,
        "the greeting is read once, before STARTTLS"
    );
    assert_eq!(doc["tls"], true);
    assert_eq!(doc["tls_version"], "TLS 1.3");
    assert_eq!(doc["tls_server_name"], "mail.reglet.test");
    assert_eq!(doc["tls_verified"], true);

    let g = grants(implicit.addr);
    let g: Vec<&str> = g.iter().map(String::as_str).collect();
    let doc = call(
        "smtp_connect",
        &g,
        world.services(HostLimits::default()),
        request(implicit.addr, true, false),
    )
    .await;
    assert_eq!(doc["connected"], true, "{doc}");
    assert_eq!(doc["banner"], reglet_tests::loopback::SMTP_BANNER);
    assert_eq!(doc["tls"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_gives_up_on_silent_servers_and_refuses_starttls_injection() {
    let world = World::start().await;
    let silent = SmtpServer::start(SmtpMode::Silent, world.pki.acceptor()).await;
    let grant = port_grant("mail.reglet.test", silent.addr);
    let doc = call(
        "smtp_connect",
        &[grant.as_str(), PRIVATE],
        world.services(HostLimits::default()),
        json!({"host": "mail.reglet.test", "port": silent.addr.port().to_string(), "timeout_ms": 300}),
    )
    .await;
    assert_eq!(doc["connected"], false, "{doc}");
    assert_eq!(doc["error"]["is_timeout"], true, "{doc}");

    let injecting = SmtpServer::start(SmtpMode::StartTlsInjection, world.pki.acceptor()).await;
    let grant = port_grant("mail.reglet.test", injecting.addr);
    let doc = call(
        "smtp_connect",
        &[grant.as_str(), PRIVATE],
        world.services(HostLimits::default()),
        json!({"host": "mail.reglet.test", "port": injecting.addr.port().to_string(), "timeout_ms": 5000, "starttls": true}),
    )
    .await;
    assert_eq!(doc["connected"], false, "{doc}");
    assert!(error_message(&doc).contains("injection"), "{doc}");

    let doc = call(
        "smtp_connect",
        &["network:outbound:*"],
        world.services(HostLimits::default()),
        json!({"host": "mail.reglet.test", "port": "25"}),
    )
    .await;
    assert_eq!(error_type(&doc), "ssrf_protection", "{doc}");
}

// ---------------------------------------------------------------------------------------------
// exec_command

fn exec_services(limits: HostLimits) -> HostServices {
    HostServices::builder().limits(limits).build()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_runs_granted_programs_with_only_the_allowed_environment() {
    let doc = call(
        "exec_command",
        &["exec:/usr/bin/echo"],
        exec_services(HostLimits::default()),
        json!({"context": {}, "command": "/usr/bin/echo", "args": ["hello", "world"]}),
    )
    .await;
    assert_eq!(doc["stdout"], "hello world\n", "{doc}");
    assert_eq!(doc["exit_code"], 0);
    assert!(doc.get("error").is_none());

    // The test process has a HOME and its own PATH; the command sees neither, only the fixed
    // PATH, the locale it was given and the variable a grant names.
    let doc = call(
        "exec_command",
        &["exec:/usr/bin/env", "exec:env:GREETING"],
        exec_services(HostLimits::default()),
        json!({"command": "/usr/bin/env", "args": null, "env": ["GREETING=hi", "LANG=C"]}),
    )
    .await;
    assert_eq!(
        doc["stdout"],
        format!("GREETING=hi\nLANG=C\nPATH={CHILD_PATH}\n"),
        "{doc}"
    );

    let doc = call(
        "exec_command",
        &["exec:/usr/bin/false"],
        exec_services(HostLimits::default()),
        json!({"command": "/usr/bin/false", "args": []}),
    )
    .await;
    assert_eq!(
        doc["exit_code"], 1,
        "a failing command is a result, not an error: {doc}"
    );
    assert!(doc.get("error").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_refuses_ungranted_commands_unnamed_shells_hijacking_variables_and_foreign_dirs() {
    let logs = LogCapture::default();
    let _guard = logs.install();
    let cases: [(&[&str], Value, &str); 5] = [
        (
            &["exec:/usr/bin/echo"],
            json!({"command": "/usr/bin/id"}),
            "exec:/usr/bin/id",
        ),
        (
            &["exec:/usr/bin/*"],
            json!({"command": "/usr/bin/sh", "args": ["-c", "id"]}),
            "needs a grant that names it",
        ),
        (
            &["exec:**"],
            json!({"command": "/usr/bin/python3", "args": ["-c", "print(1)"]}),
            "needs a grant that names it",
        ),
        (
            &["exec:/usr/bin/env"],
            json!({"command": "/usr/bin/env", "env": ["LD_PRELOAD=/tmp/evil.so"]}),
            "LD_PRELOAD",
        ),
        (
            &["exec:/usr/bin/ls", "fs:read:/tmp/**"],
            json!({"command": "/usr/bin/ls", "dir": "/etc"}),
            "fs:read:/etc",
        ),
    ];
    for (grants, request, needle) in cases {
        let doc = call(
            "exec_command",
            grants,
            exec_services(HostLimits::default()),
            request,
        )
        .await;
        assert_eq!(error_type(&doc), "capability", "{doc}");
        assert!(error_message(&doc).contains(needle), "{needle}: {doc}");
    }
    assert!(
        logs.text().contains("refused"),
        "refusals are logged: {}",
        logs.text()
    );

    let doc = call(
        "exec_command",
        &["exec:/usr/bin/sh"],
        exec_services(HostLimits::default()),
        json!({"command": "/usr/bin/sh", "args": ["-c", "echo named"]}),
    )
    .await;
    assert_eq!(
        doc["stdout"], "named\n",
        "a shell the grant names may run: {doc}"
    );
}

/// The search path every command gets, whatever the host's own `PATH` is.
const CHILD_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_wildcards_never_reach_programs_that_run_other_programs() {
    // Each of these ran `id` under `exec:/usr/bin/*` (issue 8, item 8). A wildcard reaches only
    // the allowlist of programs that run no other program; any other program must be named. The
    // last three are not known runners, which a denylist would have let through.
    let cases: [(&str, &[&str]); 12] = [
        ("/usr/bin/stdbuf", &["-o0", "/usr/bin/sh", "-c", "id"]),
        ("/usr/bin/sed", &["-n", "1e id", "/etc/hostname"]),
        ("/usr/bin/rbash", &["-c", "id"]),
        ("/usr/bin/ld.so", &["/usr/bin/sh", "-c", "id"]),
        (
            "/usr/bin/tar",
            &[
                "-cf",
                "/dev/null",
                "--checkpoint=1",
                "--checkpoint-action=exec=id",
                "/etc/hostname",
            ],
        ),
        ("/usr/bin/git", &["-c", "alias.x=!id", "x"]),
        ("/usr/bin/nice", &["/usr/bin/sh", "-c", "id"]),
        ("/usr/bin/timeout", &["5", "/usr/bin/sh", "-c", "id"]),
        ("/usr/bin/xargs", &["-a", "/etc/hostname", "/usr/bin/id"]),
        ("/usr/bin/sort", &["--compress-program=id", "/etc/hostname"]),
        ("/usr/bin/split", &["--filter=id", "/etc/hostname"]),
        ("/usr/bin/prlimit", &["/usr/bin/id"]),
    ];
    for (command, args) in cases {
        let doc = call(
            "exec_command",
            &["exec:/usr/bin/*"],
            exec_services(HostLimits::default()),
            json!({"command": command, "args": args}),
        )
        .await;
        assert_eq!(error_type(&doc), "capability", "{command}: {doc}");
        assert!(
            error_message(&doc).contains("needs a grant that names it"),
            "{command}: {doc}"
        );
        assert!(
            doc["stdout"].as_str().unwrap_or_default().is_empty(),
            "{command}: {doc}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_runs_in_the_directory_the_sandbox_opened() {
    // The working directory was checked as a string and then entered by path: a link under a
    // read grant moved the command to a directory outside it.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let root = root.to_str().unwrap();
    std::fs::create_dir(format!("{root}/granted")).unwrap();
    std::os::unix::fs::symlink("/etc", format!("{root}/granted/out")).unwrap();
    let grants = ["exec:/usr/bin/pwd:", &format!("fs:read:{root}/granted/**")];
    let doc = call(
        "exec_command",
        &grants,
        exec_services(HostLimits::default()),
        json!({"command": "/usr/bin/pwd", "dir": format!("{root}/granted")}),
    )
    .await;
    assert_eq!(doc["stdout"], format!("{root}/granted\n"), "{doc}");
    let doc = call(
        "exec_command",
        &grants,
        exec_services(HostLimits::default()),
        json!({"command": "/usr/bin/pwd", "dir": format!("{root}/granted/out")}),
    )
    .await;
    assert_eq!(error_type(&doc), "capability", "{doc}");
    assert!(
        doc["stdout"].as_str().unwrap_or_default().is_empty(),
        "the command did not run: {doc}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_refuses_every_variable_no_grant_names() {
    // With `exec:/usr/bin/git` alone, GIT_EXTERNAL_DIFF ran code; so would GIT_CONFIG_* (an
    // alias or a pager), HOME (a ~/.gitconfig the plugin wrote) or PATH. Only the locale and the
    // time zone pass without a grant.
    for variable in [
        "GIT_EXTERNAL_DIFF=/usr/bin/id",
        "GIT_CONFIG_COUNT=1",
        "GIT_CONFIG_PARAMETERS='alias.x=!id'",
        "GIT_PAGER=id",
        "HOME=/tmp",
        "PATH=/tmp",
        "GREETING=hi",
    ] {
        let name = variable.split('=').next().unwrap();
        let doc = call(
            "exec_command",
            &["exec:/usr/bin/git"],
            exec_services(HostLimits::default()),
            json!({"command": "/usr/bin/git", "args": ["diff", "--no-index", "/etc/hostname", "/etc/hosts"],
                   "env": ["LANG=C", variable]}),
        )
        .await;
        assert_eq!(error_type(&doc), "capability", "{variable}: {doc}");
        assert!(
            error_message(&doc).contains(&format!("exec:env:{name}")),
            "the refusal names the grant that would allow it: {doc}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_pinned_arguments_allow_only_matching_argument_vectors() {
    let echo = ["exec:/usr/bin/echo:hello *"];
    let doc = call(
        "exec_command",
        &echo,
        exec_services(HostLimits::default()),
        json!({"command": "/usr/bin/echo", "args": ["hello", "world"]}),
    )
    .await;
    assert_eq!(doc["stdout"], "hello world\n", "{doc}");
    for args in [
        json!(["goodbye", "world"]),
        json!(["hello"]),
        json!(["hello", "a", "b"]),
        json!([]),
    ] {
        let doc = call(
            "exec_command",
            &echo,
            exec_services(HostLimits::default()),
            json!({"command": "/usr/bin/echo", "args": args}),
        )
        .await;
        assert_eq!(error_type(&doc), "capability", "{args}: {doc}");
        assert!(
            error_message(&doc).contains("exec:/usr/bin/echo:hello *"),
            "the refusal shows the pinned grant: {doc}"
        );
    }

    // `env` runs other programs; pinned to no arguments it runs nothing else.
    let env = ["exec:/usr/bin/env:"];
    let doc = call(
        "exec_command",
        &env,
        exec_services(HostLimits::default()),
        json!({"command": "/usr/bin/env", "args": ["/usr/bin/sh", "-c", "id"]}),
    )
    .await;
    assert_eq!(error_type(&doc), "capability", "{doc}");
    let doc = call(
        "exec_command",
        &env,
        exec_services(HostLimits::default()),
        json!({"command": "/usr/bin/env"}),
    )
    .await;
    assert_eq!(doc["stdout"], format!("PATH={CHILD_PATH}\n"), "{doc}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_children_see_only_allowlisted_variables() {
    let doc = call(
        "exec_command",
        &["exec:/usr/bin/env:", "exec:env:GREETING"],
        exec_services(HostLimits::default()),
        json!({"command": "/usr/bin/env",
               "env": ["TZ=UTC", "LC_ALL=C.UTF-8", "GREETING=hi", "LANG=C"]}),
    )
    .await;
    let mut seen: Vec<&str> = doc["stdout"].as_str().unwrap_or_default().lines().collect();
    seen.sort_unstable();
    let path = format!("PATH={CHILD_PATH}");
    assert_eq!(
        seen,
        [
            "GREETING=hi",
            "LANG=C",
            "LC_ALL=C.UTF-8",
            path.as_str(),
            "TZ=UTC"
        ],
        "nothing of the host's environment reaches the child: {doc}"
    );
    for (key, value) in std::env::vars() {
        if !["PATH", "LANG", "LC_ALL", "TZ", "GREETING"].contains(&key.as_str()) {
            assert!(
                !seen.contains(&format!("{key}={value}").as_str()),
                "{key} leaked"
            );
        }
    }

    // A locale or zone that is a path would have the C library read a file the plugin chose.
    for variable in ["LC_ALL=/tmp/locale", "TZ=/tmp/zone", "LANG=../../tmp/x"] {
        let doc = call(
            "exec_command",
            &["exec:/usr/bin/env:"],
            exec_services(HostLimits::default()),
            json!({"command": "/usr/bin/env", "env": [variable]}),
        )
        .await;
        assert_eq!(error_type(&doc), "capability", "{variable}: {doc}");
    }
}

/// The state letter of a process, or `None` once it is gone.
fn process_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(") ")?.1.chars().next()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_timeouts_kill_the_command_and_its_children() {
    let doc = call(
        "exec_command",
        &["exec:/usr/bin/sh"],
        exec_services(HostLimits::default()),
        json!({"context": {"timeout_ms": 500}, "command": "/usr/bin/sh",
               "args": ["-c", "sleep 60 & echo $!; wait"]}),
    )
    .await;
    assert_eq!(doc["is_timeout"], true, "{doc}");
    assert_eq!(error_type(&doc), "timeout");
    assert_eq!(doc["error"]["code"], "ETIMEDOUT");
    let child: u32 = doc["stdout"]
        .as_str()
        .unwrap()
        .trim()
        .parse()
        .expect("the child's pid");
    let mut state = process_state(child);
    for _ in 0..100 {
        if matches!(state, None | Some('Z')) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        state = process_state(child);
    }
    assert!(
        matches!(state, None | Some('Z')),
        "the background sleep {child} still runs ({state:?})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_descendant_that_escapes_the_process_group_cannot_hold_the_call_open() {
    // setsid puts a sleep in its own session, out of reach of the group kill, still holding the
    // stdout pipe; sh exits once the escape has happened. The answer must come when sh exits,
    // not when the sleep does (the observation's 30 s deadline would cut it first).
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("escaped.pid");
    let script = format!(
        "/usr/bin/setsid -f /usr/bin/sh -c 'echo $$ > {f}; exec /usr/bin/sleep 120'; \
         until [ -s {f} ]; do /usr/bin/sleep 0.01; done; /usr/bin/cat {f}",
        f = pid_file.display()
    );
    let doc = call(
        "exec_command",
        &["exec:/usr/bin/sh"],
        exec_services(HostLimits::default()),
        json!({"command": "/usr/bin/sh", "args": ["-c", script]}),
    )
    .await;
    let escaped = doc["stdout"].as_str().unwrap_or_default().trim().to_owned();
    if !escaped.is_empty() {
        let _ = std::process::Command::new("/usr/bin/kill")
            .args(["-9", &escaped])
            .status();
    }
    assert_eq!(doc["exit_code"], 0, "{doc}");
    assert!(escaped.parse::<u32>().is_ok(), "{doc}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_output_is_capped_and_flagged() {
    let limits = HostLimits {
        exec_max_output_bytes: 1000,
        ..HostLimits::default()
    };
    let doc = call(
        "exec_command",
        &["exec:/usr/bin/seq"],
        exec_services(limits),
        json!({"command": "/usr/bin/seq", "args": ["1", "5000"]}),
    )
    .await;
    assert_eq!(doc["exit_code"], 0, "the command ran to the end: {doc}");
    assert_eq!(doc["stdout"].as_str().unwrap().len(), 1000);
    assert_eq!(doc["stdout_truncated"], true);
    assert!(doc.get("stderr_truncated").is_none());
}

// ---------------------------------------------------------------------------------------------
// Requests the host cannot read

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_error_documents_not_traps() {
    for function in [
        "dns_lookup",
        "http_request",
        "tcp_connect",
        "smtp_connect",
        "exec_command",
    ] {
        let doc = call(
            function,
            &["network:outbound:*", "exec:**"],
            exec_services(HostLimits::default()),
            json!({"context": "not an object", "hostname": 7, "url": [], "host": {}, "command": false}),
        )
        .await;
        assert_eq!(error_type(&doc), "internal", "{function}: {doc}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_and_out_of_bounds_requests_are_answered_not_trapped() {
    let two_mib_at_zero: u64 = 2 << 20;
    let beyond_memory: u64 = (0xFFFF_0000u64 << 32) | 64;
    for (packed, needle) in [
        (two_mib_at_zero, "exceeds the 1048576-byte limit"),
        (beyond_memory, "outside the plugin's memory"),
    ] {
        for function in [
            "dns_lookup",
            "http_request",
            "tcp_connect",
            "smtp_connect",
            "exec_command",
        ] {
            let mut plugin = PluginWat::forwarder(Gen::One, function);
            plugin.observe = plugin.observe.replace(
                "(call $pack (local.get $ptr) (local.get $len))",
                &format!("(i64.const {packed})"),
            );
            let rt = runtime(RuntimeOptions::new(reglet_tests::redactor()));
            let plugin = rt
                .load_plugin(&name("hostile"), &plugin.wasm())
                .await
                .unwrap();
            let evidence = plugin
                .observe(&Config::from_value(json!({})).unwrap())
                .await
                .unwrap();
            let doc = &evidence.data.unwrap()["response"];
            assert_eq!(error_type(doc), "internal", "{function}: {doc}");
            assert!(error_message(doc).contains(needle), "{function}: {doc}");
        }
    }
}
