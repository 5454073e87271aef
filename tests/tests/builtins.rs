//! The embedded built-in plugins run through the real runtime against real local targets.

use std::net::Ipv4Addr;
use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;

use reglet_domain::{Config, ErrorType, Evidence, EvidenceStatus, GrantSet};
use reglet_outbound::resolver::HickoryResolver;
use reglet_runtime::{HostServices, RuntimeOptions};
use reglet_tests::loopback::{
    DnsRecord, DnsServer, HttpServer, SMTP_BANNER, SmtpMode, SmtpServer, TestPki, closed_port,
};
use reglet_tests::{name, runtime};
use serde_json::{Value, json};

/// One observation of the embedded plugin `plugin` with `config`, under `grants`.
fn observe(plugin: &str, grants: &[String], config: Value) -> Evidence {
    let module = reglet_builtins::builtin(plugin).expect("a built-in");
    let grants = GrantSet::parse_all(grants).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let runtime = runtime(RuntimeOptions::new(reglet_tests::redactor()).grant(plugin, grants));
        let loaded = runtime.load_plugin(&name(plugin), module).await.unwrap();
        loaded
            .observe(&Config::from_value(config).unwrap())
            .await
            .expect("the observation runs")
    })
}

fn data(evidence: &Evidence) -> &serde_json::Map<String, Value> {
    evidence.data.as_ref().expect("evidence data")
}

#[test]
fn the_file_plugin_reports_real_modes_owners_hash_and_content() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let root = root.to_str().unwrap().to_owned();
    let file = format!("{root}/sshd_config");
    std::fs::write(&file, "PasswordAuthentication no\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
    std::fs::create_dir(format!("{root}/d")).unwrap();
    std::fs::set_permissions(format!("{root}/d"), std::fs::Permissions::from_mode(0o750)).unwrap();
    std::os::unix::fs::symlink("sshd_config", format!("{root}/link")).unwrap();
    let uid = rustix::process::getuid().as_raw();
    let gid = rustix::process::getgid().as_raw();
    let grants = [format!("fs:read:{root}/**")];

    let ev = observe(
        "file",
        &grants,
        json!({"path": file, "hash": true, "read_content": true}),
    );
    assert_eq!(ev.status(), EvidenceStatus::Success, "{ev:?}");
    let d = data(&ev);
    assert_eq!(d["exists"], true);
    assert_eq!(d["readable"], true);
    assert_eq!(d["is_dir"], false);
    assert_eq!(d["is_symlink"], false);
    assert_eq!(d["mode"], "0640");
    assert_eq!(d["permissions"], "-rw-r-----");
    assert_eq!(d["uid"], uid);
    assert_eq!(d["gid"], gid);
    assert_eq!(d["size"], 26);
    assert_eq!(
        d["sha256"],
        "474ef6932d6b998ec97b122a9d86af024b988d64c243f3caf01dd9e5ed41618e"
    );
    assert_eq!(d["content"], "PasswordAuthentication no\n");
    assert!(d["mod_time"].as_str().unwrap().ends_with('Z'));

    let ev = observe("file", &grants, json!({"path": format!("{root}/d")}));
    let d = data(&ev);
    assert_eq!(
        (d["is_dir"].clone(), d["mode"].clone()),
        (json!(true), json!("0750"))
    );
    assert_eq!(d["permissions"], "drwxr-x---");

    let ev = observe("file", &grants, json!({"path": format!("{root}/link")}));
    let d = data(&ev);
    assert_eq!(d["is_symlink"], true);
    assert_eq!(d["mode"], "0640", "a link reports its target");

    let ev = observe("file", &grants, json!({"path": format!("{root}/missing")}));
    assert_eq!(data(&ev)["exists"], false);
}

#[test]
fn the_file_plugin_cannot_stat_outside_its_grant() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let root = root.to_str().unwrap().to_owned();
    std::fs::create_dir(format!("{root}/granted")).unwrap();
    std::fs::write(format!("{root}/secret"), "x").unwrap();
    // A link inside the grant pointing out of it must not lend its name to the target.
    std::os::unix::fs::symlink("../secret", format!("{root}/granted/link")).unwrap();
    let grants = [format!("fs:read:{root}/granted/**")];
    for path in [format!("{root}/secret"), format!("{root}/granted/link")] {
        let ev = observe("file", &grants, json!({"path": path}));
        assert_eq!(ev.status(), EvidenceStatus::Error, "{path}: {ev:?}");
        let error = ev.error_detail().cloned().expect("an error");
        assert_eq!(error.kind, ErrorType::Capability, "{path}: {error:?}");
    }
}

#[test]
fn the_command_plugin_runs_direct_and_shell_commands_with_env_and_timeout() {
    let ev = observe(
        "command",
        &["exec:/bin/echo".into()],
        json!({"command": "/bin/echo", "args": ["hello", "world"]}),
    );
    assert_eq!(ev.status(), EvidenceStatus::Success, "{ev:?}");
    let d = data(&ev);
    assert_eq!(d["stdout"], "hello world\n");
    assert_eq!(d["exit_code"], 0);
    assert_eq!(d["exec_mode"], "direct");

    let shell = ["exec:/bin/sh".to_owned(), "exec:env:GREETING".to_owned()];
    let ev = observe(
        "command",
        &shell,
        json!({"run": "echo $GREETING; exit 3", "env": ["GREETING=hi"]}),
    );
    assert_eq!(ev.status(), EvidenceStatus::Failure, "{ev:?}");
    let d = data(&ev);
    assert_eq!(
        (d["stdout"].clone(), d["exit_code"].clone()),
        (json!("hi\n"), json!(3))
    );
    assert_eq!(d["shell_command"], "echo $GREETING; exit 3");

    let started = std::time::Instant::now();
    let ev = observe("command", &shell, json!({"run": "sleep 20", "timeout": 1}));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "the timeout reached the host"
    );
    assert_eq!(data(&ev)["is_timeout"], true, "{ev:?}");

    let ev = observe("command", &["exec:/bin/echo".into()], json!({"run": "id"}));
    assert_eq!(ev.status(), EvidenceStatus::Error, "{ev:?}");
    assert_eq!(ev.error_detail().unwrap().kind, ErrorType::Capability);
}

// ---------------------------------------------------------------------------------------------
// The network plugins, against servers this test starts on loopback.

/// Servers the network plugins talk to, and host services that resolve through the stub DNS
/// server and trust the test CA.
struct World {
    pki: TestPki,
    dns: DnsServer,
    web: HttpServer,
    secure: HttpServer,
}

impl World {
    async fn start() -> World {
        let pki = TestPki::new(&["web.reglet.test", "mail.reglet.test"]);
        let dns = DnsServer::start(&[
            ("web.reglet.test", DnsRecord::A(Ipv4Addr::LOCALHOST)),
            ("mail.reglet.test", DnsRecord::A(Ipv4Addr::LOCALHOST)),
            ("reglet.test", DnsRecord::Mx(10, "mail.reglet.test.")),
            ("reglet.test", DnsRecord::Txt("v=spf1 -all")),
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

    fn services(&self) -> HostServices {
        HostServices::builder()
            .dns(Arc::new(HickoryResolver::with_nameserver(self.dns.addr)))
            .trust_root(self.pki.ca_der())
            .build()
    }

    /// One observation of the embedded `plugin` under `grants` (plus loopback access).
    async fn observe(&self, plugin: &str, grants: &[String], config: Value) -> Evidence {
        let mut grants = grants.to_vec();
        grants.push("network:outbound:private".into());
        let grants = GrantSet::parse_all(&grants).unwrap();
        let runtime = runtime(
            RuntimeOptions::new(reglet_tests::redactor())
                .grant(plugin, grants)
                .services(Arc::new(self.services())),
        );
        let module = reglet_builtins::builtin(plugin).expect("a built-in");
        let loaded = runtime.load_plugin(&name(plugin), module).await.unwrap();
        loaded
            .observe(&Config::from_value(config).unwrap())
            .await
            .expect("the observation runs")
    }
}

fn grant(host: &str, port: u16) -> String {
    format!("network:outbound:{host}:{port}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dns_plugin_reports_records_mx_and_missing_names() {
    let world = World::start().await;
    // A named nameserver is a destination of its own; the system resolver path is granted by name.
    let ns = world.dns.addr.to_string();
    let grants = [grant("127.0.0.1", world.dns.addr.port())];
    let ev = world
        .observe(
            "dns",
            &grants,
            json!({"hostname": "web.reglet.test", "nameserver": ns}),
        )
        .await;
    assert_eq!(ev.status(), EvidenceStatus::Success, "{ev:?}");
    let d = data(&ev);
    assert_eq!(d["records"], json!(["127.0.0.1"]));
    assert_eq!(d["record_count"], 1);
    assert_eq!(d["is_not_found"], false);
    assert!(d["query_time_ms"].is_u64());

    let ev = world
        .observe(
            "dns",
            &grants,
            json!({"hostname": "reglet.test", "record_type": "MX", "nameserver": ns}),
        )
        .await;
    assert_eq!(
        data(&ev)["mx_records"],
        json!([{"host": "mail.reglet.test.", "pref": 10}])
    );

    let ev = world
        .observe(
            "dns",
            &[grant("web.reglet.test", 53)],
            json!({"hostname": "web.reglet.test"}),
        )
        .await;
    assert_eq!(data(&ev)["records"], json!(["127.0.0.1"]), "{ev:?}");

    let ev = world
        .observe(
            "dns",
            &grants,
            json!({"hostname": "nx.reglet.test", "nameserver": ns}),
        )
        .await;
    assert_eq!(ev.status(), EvidenceStatus::Failure, "{ev:?}");
    assert_eq!(data(&ev)["is_not_found"], true);

    // Without a grant naming it, the lookup is refused.
    let ev = world
        .observe("dns", &[], json!({"hostname": "web.reglet.test"}))
        .await;
    assert_eq!(
        ev.error_detail().map(|e| e.kind.clone()),
        Some(ErrorType::Capability)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tcp_plugin_reports_plain_and_tls_connections_and_closed_ports() {
    let world = World::start().await;
    let plain = world.web.addr.port();
    let ev = world
        .observe(
            "tcp",
            &[grant("web.reglet.test", plain)],
            json!({"host": "web.reglet.test", "port": plain}),
        )
        .await;
    assert_eq!(ev.status(), EvidenceStatus::Success, "{ev:?}");
    assert_eq!(data(&ev)["connected"], true);
    assert_eq!(data(&ev)["tls"], false);

    let secure = world.secure.addr.port();
    let ev = world
        .observe(
            "tcp",
            &[grant("web.reglet.test", secure)],
            json!({"host": "web.reglet.test", "port": secure.to_string(), "tls": true, "expected_tls_version": "TLS 1.3"}),
        )
        .await;
    assert_eq!(ev.status(), EvidenceStatus::Success, "{ev:?}");
    let d = data(&ev);
    assert_eq!(d["tls_version"], "TLS 1.3");
    assert_eq!(d["tls_verified"], true);
    assert!(
        d["tls_cert_subject"]
            .as_str()
            .unwrap()
            .contains("web.reglet.test")
    );
    // rcgen's default validity runs to 4096; the point is that the days were worked out.
    assert!(d["tls_cert_days_remaining"].as_i64().unwrap() > 0, "{d:?}");

    let ev = world
        .observe(
            "tcp",
            &[grant("web.reglet.test", secure)],
            json!({"host": "web.reglet.test", "port": secure, "tls": true, "expected_tls_version": "1.2"}),
        )
        .await;
    assert_eq!(ev.status(), EvidenceStatus::Failure, "{ev:?}");

    let closed = closed_port().await.port();
    let ev = world
        .observe(
            "tcp",
            &[grant("127.0.0.1", closed)],
            json!({"host": "127.0.0.1", "port": closed}),
        )
        .await;
    assert_eq!(ev.status(), EvidenceStatus::Failure, "{ev:?}");
    assert_eq!(data(&ev)["connected"], false);

    let ev = world
        .observe(
            "tcp",
            &[],
            json!({"host": "web.reglet.test", "port": plain}),
        )
        .await;
    assert_eq!(
        ev.error_detail().map(|e| e.kind.clone()),
        Some(ErrorType::Capability)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http_plugin_sends_headers_and_checks_status_and_body() {
    let world = World::start().await;
    let port = world.secure.addr.port();
    let grants = [grant("web.reglet.test", port)];
    let url = |path: &str| format!("https://web.reglet.test:{port}{path}");
    let ev = world
        .observe(
            "http",
            &grants,
            json!({"url": url("/ok"), "expected_status": 200, "expected_body_contains": "loopback", "body_preview_length": 5}),
        )
        .await;
    assert_eq!(ev.status(), EvidenceStatus::Success, "{ev:?}");
    let d = data(&ev);
    assert_eq!(d["status_code"], 200);
    assert_eq!(d["body_preview"], "hello");
    assert_eq!(d["body_size"], 19);
    assert_eq!(d["protocol"], "HTTP/1.1");
    assert_eq!(d["headers"]["X-Multi"], json!(["a", "b"]), "{d:?}");

    let ev = world
        .observe(
            "http",
            &grants,
            json!({"url": url("/echo"), "method": "POST", "headers": {"X-Probe": "yes"}, "body": "ping", "body_preview_length": -1}),
        )
        .await;
    let echoed: Value = serde_json::from_str(data(&ev)["body"].as_str().unwrap()).unwrap();
    assert_eq!(echoed["method"], "POST");
    assert!(
        echoed["headers"].as_array().unwrap().iter().any(|h| h[0]
            .as_str()
            .unwrap()
            .eq_ignore_ascii_case("x-probe")
            && h[1] == "yes"),
        "{echoed}"
    );
    assert_eq!(echoed["body_b64"], "cGluZw==");

    let ev = world
        .observe(
            "http",
            &grants,
            json!({"url": url("/missing"), "expected_status": [200, 204]}),
        )
        .await;
    assert_eq!(ev.status(), EvidenceStatus::Failure, "{ev:?}");
    assert_eq!(data(&ev)["expectation_failed"], true);

    let plain = world.web.addr.port();
    let ev = world
        .observe(
            "http",
            &grants,
            json!({"url": format!("http://web.reglet.test:{plain}/ok")}),
        )
        .await;
    assert_eq!(
        ev.error_detail().map(|e| e.kind.clone()),
        Some(ErrorType::Capability),
        "{ev:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_smtp_plugin_reads_banners_with_and_without_starttls() {
    let world = World::start().await;
    let plain = SmtpServer::start(SmtpMode::Plain, world.pki.acceptor()).await;
    let implicit = SmtpServer::start(SmtpMode::ImplicitTls, world.pki.acceptor()).await;
    let port = plain.addr.port();
    let grants = [grant("mail.reglet.test", port)];
    let ev = world
        .observe(
            "smtp",
            &grants,
            json!({"host": "mail.reglet.test", "port": port}),
        )
        .await;
    assert_eq!(ev.status(), EvidenceStatus::Success, "{ev:?}");
    assert_eq!(data(&ev)["banner"], SMTP_BANNER);
    assert_eq!(data(&ev)["tls"], false);

    let ev = world
        .observe(
            "smtp",
            &grants,
            json!({"host": "mail.reglet.test", "port": port, "starttls": true}),
        )
        .await;
    assert_eq!(ev.status(), EvidenceStatus::Success, "{ev:?}");
    assert_eq!(data(&ev)["tls_version"], "TLS 1.3");

    let port = implicit.addr.port();
    let ev = world
        .observe(
            "smtp",
            &[grant("mail.reglet.test", port)],
            json!({"host": "mail.reglet.test", "port": port, "tls": true}),
        )
        .await;
    assert_eq!(ev.status(), EvidenceStatus::Success, "{ev:?}");
    assert_eq!(data(&ev)["tls"], true);

    let silent = SmtpServer::start(SmtpMode::Silent, world.pki.acceptor()).await;
    let port = silent.addr.port();
    let ev = world
        .observe(
            "smtp",
            &[grant("mail.reglet.test", port)],
            json!({"host": "mail.reglet.test", "port": port, "timeout_ms": 300}),
        )
        .await;
    assert_eq!(ev.status(), EvidenceStatus::Failure, "{ev:?}");
    assert_eq!(data(&ev)["connected"], false);
}
