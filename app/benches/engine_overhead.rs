//! What `reglet check` adds per control over the raw observation, side by side in one run.
//!
//! `cargo bench -p reglet --bench engine_overhead`
//!
//! "raw" observes the `file_exists.wat` example plugin 1 000 times through the runtime port, one
//! after the other. "check" runs `reglet check` in-process on a generated profile of 1 000
//! controls × 1 observation of the same plugin on the same runtime, one control at a time:
//! loading and vetting the profile, settling grants, expanding configs, the engine, the expect
//! evaluation, aggregation, and the JSON report (built, redacted, serialised). The difference,
//! divided by 1 000, is the engine's own cost per control.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use reglet::check::{self, CheckOptions, Filters, Services, TerminalPrompter};
use reglet::engine::EngineOptions;
use reglet::report::Format;
use reglet::system_config::SystemConfig;
use reglet_domain::{Config, GrantSet, PluginName};
use reglet_ports::{PluginExecutor, Redactor};
use reglet_redaction::{Redaction, RedactionConfig};
use reglet_runtime::{Runtime, RuntimeOptions};

/// The `reglet` binary's allocator, so the figures are the product's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CONTROLS: usize = 1000;

fn profile(dir: &std::path::Path) -> std::path::PathBuf {
    let plugin = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/plugins/file_exists.wat"
    );
    let mut text = format!(
        "profile: {{name: bench, version: 1.0.0}}\nplugins: [{plugin}]\ncontrols:\n  items:\n"
    );
    for i in 0..CONTROLS {
        write!(
            text,
            "    - id: c{i}\n      name: control {i}\n      observations:\n        - plugin: file_exists\n          config: {{path: /etc/hosts}}\n          expect: data.exists\n"
        )
        .unwrap();
    }
    let path = dir.join("profile.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = profile(dir.path());
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let redactor: Arc<dyn Redactor> = Arc::new(Redaction::new(RedactionConfig::default()).unwrap());
    let runtime: Arc<Runtime> =
        Arc::new(Runtime::new(RuntimeOptions::new(Arc::clone(&redactor))).unwrap());
    let executor: Arc<dyn PluginExecutor> = runtime.clone();
    let name = PluginName::new("file_exists").unwrap();
    let wasm = check::read_module(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/plugins/file_exists.wat"
    )))
    .unwrap();
    tokio.block_on(async {
        executor.load_plugin(&name, &wasm).await.unwrap();
        executor
            .set_grants(&name, GrantSet::parse("fs:read:/etc/hosts").unwrap())
            .await
            .unwrap();
    });
    let config = Config::from_value(serde_json::json!({"path": "/etc/hosts"})).unwrap();
    let options = CheckOptions {
        profile: path,
        format: Format::Json,
        output: None,
        reports: Vec::new(),
        progress: false,
        quiet: false,
        color: false,
        engine: EngineOptions {
            parallelism: 1,
            ..EngineOptions::default()
        },
        trust_plugins: true,
        security: None,
        filters: Filters::default(),
        grants_file: None,
        evidence_limit: reglet::engine::evidence_limit::DEFAULT_EVIDENCE_LIMIT,
    };
    let system = SystemConfig::default();

    let mut group = c.benchmark_group("engine_overhead");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.bench_function("raw/1000 observations", |b| {
        b.iter(|| {
            tokio.block_on(async {
                for _ in 0..CONTROLS {
                    let deadline = Instant::now() + Duration::from_secs(10);
                    executor.observe(&name, &config, deadline).await.unwrap();
                }
            })
        })
    });
    group.bench_function("check/1000 controls", |b| {
        b.iter(|| {
            let services = Services {
                executor: Arc::clone(&executor),
                redactor: Arc::clone(&redactor),
            };
            let (mut out, mut err) = (Vec::new(), Vec::new());
            let code = tokio
                .block_on(check::check(
                    &options,
                    &system,
                    services,
                    &mut TerminalPrompter,
                    std::future::pending(),
                    &mut out,
                    &mut err,
                ))
                .unwrap();
            assert_eq!(code, 0, "{}", String::from_utf8_lossy(&err));
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
