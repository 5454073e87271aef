//! Redaction throughput on 10 MiB of log-like text with 1 000 registered secrets and every built-in
//! rule, one thread. `cargo bench -p reglet-redaction --bench redaction`

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use reglet_ports::Redactor;
use reglet_redaction::{Redaction, RedactionConfig};

const SIZE: usize = 10 << 20;

struct Gen(u64);
impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn word(&mut self, n: usize) -> String {
        const A: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        (0..n)
            .map(|_| A[(self.next() % A.len() as u64) as usize] as char)
            .collect()
    }
}

fn secrets(g: &mut Gen) -> Vec<String> {
    (0..1000).map(|_| format!("s3-{}", g.word(24))).collect()
}

/// Service logs without secrets: timestamps, levels, request fields, paths, durations.
fn clean_text(g: &mut Gen) -> Vec<u8> {
    let paths = [
        "/v1/items",
        "/v1/orders",
        "/health",
        "/v2/users/search",
        "/static/app.js",
    ];
    let levels = ["INFO", "DEBUG", "WARN", "INFO", "INFO"];
    let mut out = String::with_capacity(SIZE + 256);
    let mut i = 0u64;
    while out.len() < SIZE {
        i += 1;
        let r = g.next();
        out.push_str(&format!(
            "2026-11-27T12:{:02}:{:02}.{:03}Z {} service=api request_id={} method=GET path={}/{} status={} duration_ms={} bytes={} client=10.0.{}.{} msg=\"request served\"\n",
            (i / 60) % 60, i % 60, r % 1000, levels[(r % 5) as usize], g.word(12), paths[(r >> 8) as usize % 5], r % 977,
            [200, 201, 304, 404, 500][(r >> 16) as usize % 5], r % 250, r % 65536, (r >> 24) % 256, (r >> 32) % 256
        ));
    }
    out.into_bytes()
}

/// The same logs, every line carrying something to redact: a registered secret, a token, a
/// password assignment or credentials in a URL.
fn dense_text(g: &mut Gen, secrets: &[String]) -> Vec<u8> {
    let mut out = String::with_capacity(SIZE + 256);
    let mut i = 0usize;
    while out.len() < SIZE {
        i += 1;
        let r = g.next();
        let payload = match i % 4 {
            0 => format!("using secret {}", secrets[(r % 1000) as usize]),
            1 => format!("auth_token={}", g.word(32)),
            2 => format!("db_password={} host=db", g.word(12)),
            _ => format!("fetch https://ci:{}@git.example.com/repo.git", g.word(16)),
        };
        out.push_str(&format!(
            "2026-11-27T12:00:{:02}.{:03}Z INFO service=api request_id={} {payload}\n",
            i % 60,
            r % 1000,
            g.word(12)
        ));
    }
    out.into_bytes()
}

fn bench(c: &mut Criterion) {
    let mut g = Gen(0x1234_5678_9abc_def1);
    let secrets = secrets(&mut g);
    let redaction = Redaction::new(RedactionConfig::default()).unwrap();
    let refs: Vec<&str> = secrets.iter().map(String::as_str).collect();
    redaction.register_secrets(&refs).unwrap();
    let clean = clean_text(&mut g);
    let dense = dense_text(&mut g, &secrets);
    assert!(
        redaction.redact_bytes(&clean).is_none(),
        "the clean corpus must hold nothing to redact"
    );
    assert!(redaction.redact_bytes(&dense).is_some());

    let mut group = c.benchmark_group("redaction");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(8));
    group.throughput(Throughput::Bytes(clean.len() as u64));
    group.bench_function("clean_10MiB_1000_secrets", |b| {
        b.iter(|| black_box(redaction.redact_bytes(black_box(&clean))))
    });
    group.throughput(Throughput::Bytes(dense.len() as u64));
    group.bench_function("dense_10MiB_1000_secrets", |b| {
        b.iter(|| black_box(redaction.redact_bytes(black_box(&dense))))
    });
    group.finish();

    let mut group = c.benchmark_group("redaction_setup");
    group.sample_size(10);
    group.bench_function("register_1000_secrets", |b| {
        b.iter(|| {
            let r = Redaction::new(RedactionConfig::default()).unwrap();
            r.register_secrets(&refs).unwrap();
            black_box(r)
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
