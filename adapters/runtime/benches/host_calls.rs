//! What a host call costs a plugin: the `host_call` example plugin observing through each kind of
//! call, next to the same work done directly by the host in the same run.
//!
//! `cargo bench -p reglet-runtime --bench host_calls`
//!
//! - `dns_lookup` against an in-process resolver isolates the host-call machinery: copying the
//!   request out, JSON decoding, the grant check, encoding the answer, the guest's `allocate`.
//! - `exec_command` refused shows the cost of a denial.
//! - `tcp_connect` to a loopback listener and `exec_command` of `/usr/bin/true` compare the whole
//!   observation with the bare I/O (`TcpStream::connect`, `Command::output`).

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use criterion::{Criterion, criterion_group, criterion_main};
use reglet_domain::{Config, GrantSet};
use reglet_ports::{DnsAnswer, DnsQuery, DnsResolver, NetError};
use reglet_redaction::{Redaction, RedactionConfig};
use reglet_runtime::{CompilationCache, HostServices, Runtime, RuntimeOptions};
use serde_json::json;

/// Answers every query at once, so only the host call itself is measured.
struct FixedResolver;

#[async_trait]
impl DnsResolver for FixedResolver {
    async fn lookup(&self, _query: &DnsQuery) -> Result<DnsAnswer, NetError> {
        Ok(DnsAnswer {
            records: vec!["192.0.2.10".into(), "192.0.2.11".into()],
            mx_records: vec![],
        })
    }

    async fn resolve_ips(&self, _host: &str, _timeout: Duration) -> Result<Vec<IpAddr>, NetError> {
        Ok(vec![IpAddr::V4(Ipv4Addr::LOCALHOST)])
    }
}

fn config(value: serde_json::Value) -> Config {
    Config::from_value(value).unwrap()
}

fn bench(c: &mut Criterion) {
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = tokio
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    tokio.spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            drop(stream);
        }
    });

    let grants = GrantSet::parse_all([
        "network:outbound:53".to_owned(),
        format!("network:outbound:localhost:{}", addr.port()),
        "network:outbound:private".to_owned(),
        "exec:/usr/bin/true".to_owned(),
    ])
    .unwrap();
    let services = HostServices::builder().dns(Arc::new(FixedResolver)).build();
    let rt = Runtime::new(
        RuntimeOptions::new(redactor())
            .cache(CompilationCache::in_memory())
            .grant("host_call", grants)
            .services(Arc::new(services)),
    )
    .unwrap();
    let wat = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/plugins/host_call.wat"
    ))
    .unwrap();
    let wasm = wat::parse_str(&wat).unwrap();
    let plugin = tokio
        .block_on(rt.load_plugin(&reglet_domain::PluginName::new("host_call").unwrap(), &wasm))
        .unwrap();

    let dns = config(json!({"function": "dns_lookup", "hostname": "bench.example", "type": "A"}));
    let denied = config(json!({"function": "exec_command", "command": "/usr/bin/id"}));
    let tcp = config(
        json!({"function": "tcp_connect", "host": "localhost", "port": addr.port().to_string()}),
    );
    let exec = config(json!({"function": "exec_command", "command": "/usr/bin/true"}));
    for (cfg, check) in [
        (&dns, "192.0.2.10"),
        (&denied, "capability"),
        (&tcp, "\"connected\":true"),
        (&exec, "\"exit_code\":0"),
    ] {
        let evidence = tokio.block_on(plugin.observe(cfg)).unwrap();
        let text = serde_json::to_string(&evidence.data).unwrap();
        assert!(text.contains(check), "{text}");
    }

    let mut group = c.benchmark_group("host_call");
    group.bench_function("observe + dns_lookup (in-process resolver)", |b| {
        b.iter(|| tokio.block_on(plugin.observe(&dns)).unwrap())
    });
    group.bench_function("observe + exec_command refused", |b| {
        b.iter(|| tokio.block_on(plugin.observe(&denied)).unwrap())
    });
    group.bench_function("raw/TcpStream::connect loopback", |b| {
        b.iter(|| {
            tokio
                .block_on(tokio::net::TcpStream::connect(addr))
                .unwrap()
        })
    });
    group.bench_function("observe + tcp_connect loopback", |b| {
        b.iter(|| tokio.block_on(plugin.observe(&tcp)).unwrap())
    });
    group.sample_size(30);
    group.bench_function("raw/Command::output /usr/bin/true", |b| {
        b.iter(|| {
            std::process::Command::new("/usr/bin/true")
                .output()
                .unwrap()
        })
    });
    group.bench_function("observe + exec_command /usr/bin/true", |b| {
        b.iter(|| tokio.block_on(plugin.observe(&exec)).unwrap())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

/// The default redaction, as the CLI builds it.
fn redactor() -> std::sync::Arc<dyn reglet_ports::Redactor> {
    std::sync::Arc::new(
        Redaction::new(RedactionConfig::default()).expect("the default redaction builds"),
    )
}
