//! The runtime's costs next to raw wasmtime doing the same work in the same run (the floor).
//!
//! `cargo bench -p reglet-runtime --bench runtime`
//!
//! The guest is a trivial Gen 1 plugin: `describe` returns a 217-byte document, `observe` wraps
//! its 1 KiB config into an Evidence document. "Raw" is wasmtime alone with the same engine
//! configuration doing every call the ABI requires, synchronously: a fresh pooled instance,
//! `_initialize`, `allocate`, write, call, read, `deallocate` twice.
//! "Ours" adds everything a real observation pays for: WASI state, grants, JSON decoding of the
//! evidence, redaction, and the async deadline machinery.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use reglet_domain::Config;
use reglet_redaction::{Redaction, RedactionConfig};
use reglet_runtime::{CompilationCache, Runtime, RuntimeOptions};
use wasmtime::{
    Caller, Config as WtConfig, Engine, InstanceAllocationStrategy, Linker, Module,
    PoolingAllocationConfig, Store,
};

const DESCRIBE: &str = r#"{"name":"bench","version":"1.0.0","description":"A trivial plugin for benchmarks: describe returns this document and observe wraps its config.","sdk_version":"0.1.0-alpha","min_host_version":"0.2.0","capabilities":[]}"#;
const PREFIX: &str =
    r#"{"Status":true,"Error":null,"Timestamp":"2026-01-10T09:15:02.123456789Z","Data":{"echo":"#;
const SUFFIX: &str = r#"},"Raw":null}"#;

fn guest() -> Vec<u8> {
    let escape = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    let wat = format!(
        r#"(module
  (import "reglet_host" "log_message" (func $log (param i64)))
  (memory (export "memory") 18)
  (global $heap (mut i32) (i32.const 1114112))
  (global $live (mut i32) (i32.const 0))
  (data (i32.const 1048576) "{describe}")
  (data (i32.const 1049600) "{prefix}")
  (data (i32.const 1050624) "{suffix}")
  (func $pack (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get 0)) (i64.const 32)) (i64.extend_i32_u (local.get 1))))
  (func $alloc (export "allocate") (param $n i32) (result i32) (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.and (i32.add (i32.add (global.get $heap) (local.get $n)) (i32.const 7)) (i32.const -8)))
    (global.set $live (i32.add (global.get $live) (i32.const 1)))
    (local.get $p))
  (func (export "deallocate") (param i32 i32)
    (global.set $live (i32.sub (global.get $live) (i32.const 1)))
    (if (i32.eqz (global.get $live)) (then (global.set $heap (i32.const 1114112)))))
  (func (export "_initialize"))
  (func (export "describe") (result i64) (call $pack (i32.const 1048576) (i32.const {dlen})))
  (func (export "schema") (result i64) (i64.const 0))
  (func (export "observe") (param $ptr i32) (param $len i32) (result i64) (local $out i32)
    (local.set $out (call $alloc (i32.add (local.get $len) (i32.const {extra}))))
    (memory.copy (local.get $out) (i32.const 1049600) (i32.const {plen}))
    (memory.copy (i32.add (local.get $out) (i32.const {plen})) (local.get $ptr) (local.get $len))
    (memory.copy (i32.add (i32.add (local.get $out) (i32.const {plen})) (local.get $len)) (i32.const 1050624) (i32.const {slen}))
    (call $pack (local.get $out) (i32.add (local.get $len) (i32.const {extra}))))
)"#,
        describe = escape(DESCRIBE),
        prefix = escape(PREFIX),
        suffix = escape(SUFFIX),
        dlen = DESCRIBE.len(),
        plen = PREFIX.len(),
        slen = SUFFIX.len(),
        extra = PREFIX.len() + SUFFIX.len(),
    );
    wat::parse_str(wat).unwrap()
}

/// A 1 KiB config: a file check with a padded field.
fn config_1k() -> Config {
    let base = serde_json::json!({"path": "/etc/ssh/sshd_config", "read_content": false, "hash": true, "note": ""});
    let pad = 1024 - base.to_string().len();
    Config::from_value(serde_json::json!({"path": "/etc/ssh/sshd_config", "read_content": false, "hash": true, "note": "x".repeat(pad)})).unwrap()
}

/// Raw wasmtime with the same engine settings as the runtime.
struct Raw {
    engine: Engine,
    pre: wasmtime::InstancePre<()>,
}

fn raw(wasm: &[u8]) -> Raw {
    let mut pool = PoolingAllocationConfig::default();
    pool.total_core_instances(1000)
        .total_memories(1000)
        .total_tables(1000)
        .total_stacks(1000)
        .max_memory_size(4 << 30)
        .table_elements(100_000)
        .linear_memory_keep_resident(1 << 20)
        .table_keep_resident(64 << 10)
        .pagemap_scan(wasmtime::Enabled::Auto);
    let mut config = WtConfig::new();
    config
        .epoch_interruption(true)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, wasm).unwrap();
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap("reglet_host", "log_message", |_: Caller<'_, ()>, _: i64| {})
        .unwrap();
    Raw {
        pre: linker.instantiate_pre(&module).unwrap(),
        engine,
    }
}

impl Raw {
    fn store(&self) -> Store<()> {
        let mut store = Store::new(&self.engine, ());
        store.set_epoch_deadline(u64::MAX / 2);
        store
    }

    /// The ABI calls `_initialize` once per instance before anything else.
    fn initialize(&self, instance: &wasmtime::Instance, store: &mut Store<()>) {
        let init = instance
            .get_typed_func::<(), ()>(&mut *store, "_initialize")
            .unwrap();
        init.call(&mut *store, ()).unwrap();
    }

    fn instantiate(&self) {
        let mut store = self.store();
        let instance = self.pre.instantiate(&mut store).unwrap();
        self.initialize(&instance, &mut store);
    }

    fn describe(&self) -> Vec<u8> {
        let mut store = self.store();
        let instance = self.pre.instantiate(&mut store).unwrap();
        let memory = instance.get_memory(&mut store, "memory").unwrap();
        let describe = instance
            .get_typed_func::<(), u64>(&mut store, "describe")
            .unwrap();
        let packed = describe.call(&mut store, ()).unwrap();
        let (ptr, len) = ((packed >> 32) as usize, packed as u32 as usize);
        memory.data(&store)[ptr..ptr + len].to_vec()
    }

    fn observe(&self, input: &[u8]) -> Vec<u8> {
        let mut store = self.store();
        let instance = self.pre.instantiate(&mut store).unwrap();
        self.initialize(&instance, &mut store);
        let memory = instance.get_memory(&mut store, "memory").unwrap();
        let allocate = instance
            .get_typed_func::<u32, u32>(&mut store, "allocate")
            .unwrap();
        let deallocate = instance
            .get_typed_func::<(u32, u32), ()>(&mut store, "deallocate")
            .unwrap();
        let observe = instance
            .get_typed_func::<(u32, u32), u64>(&mut store, "observe")
            .unwrap();
        let ptr = allocate.call(&mut store, input.len() as u32).unwrap();
        memory.write(&mut store, ptr as usize, input).unwrap();
        let packed = observe.call(&mut store, (ptr, input.len() as u32)).unwrap();
        let (out, len) = ((packed >> 32) as u32, packed as u32);
        let result = memory.data(&store)[out as usize..(out + len) as usize].to_vec();
        deallocate.call(&mut store, (out, len)).unwrap();
        deallocate
            .call(&mut store, (ptr, input.len() as u32))
            .unwrap();
        result
    }
}

fn runtime() -> Runtime {
    Runtime::new(RuntimeOptions::new(redactor()).cache(CompilationCache::in_memory())).unwrap()
}

fn bench(c: &mut Criterion) {
    let wasm = guest();
    let raw = raw(&wasm);
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let rt = runtime();
    let plugin = tokio
        .block_on(rt.load_plugin(&reglet_domain::PluginName::new("bench").unwrap(), &wasm))
        .unwrap();
    let config = config_1k();
    let input = config.to_json_bytes();
    assert_eq!(input.len(), 1024);
    assert!(tokio.block_on(plugin.observe(&config)).unwrap().passed());

    let mut group = c.benchmark_group("compile");
    group.sample_size(20);
    group.bench_function("raw/Module::new", |b| {
        b.iter(|| Module::new(&raw.engine, &wasm).unwrap())
    });
    group.bench_function("ours/load_plugin (compile)", |b| {
        b.iter_batched(
            runtime,
            |rt| {
                tokio
                    .block_on(
                        rt.load_plugin(&reglet_domain::PluginName::new("bench").unwrap(), &wasm),
                    )
                    .unwrap()
            },
            criterion::BatchSize::SmallInput,
        )
    });
    let dir = tempfile::tempdir().unwrap();
    let artifact = dir.path().join("raw.cwasm");
    std::fs::write(
        &artifact,
        Module::new(&raw.engine, &wasm)
            .unwrap()
            .serialize()
            .unwrap(),
    )
    .unwrap();
    #[allow(unsafe_code)]
    group.bench_function("raw/Module::deserialize_file", |b| {
        // SAFETY: the artifact was just serialised by this engine.
        b.iter(|| unsafe { Module::deserialize_file(&raw.engine, &artifact) }.unwrap())
    });
    let cache_dir = dir.path().join("cache");
    let warm = CompilationCache::persistent(&cache_dir).unwrap();
    tokio
        .block_on(
            Runtime::new(RuntimeOptions::new(redactor()).cache(warm))
                .unwrap()
                .load_plugin(&reglet_domain::PluginName::new("bench").unwrap(), &wasm),
        )
        .unwrap();
    group.bench_function("ours/load_plugin (disk cache hit)", |b| {
        b.iter_batched(
            || {
                Runtime::new(
                    RuntimeOptions::new(redactor())
                        .cache(CompilationCache::persistent(&cache_dir).unwrap()),
                )
                .unwrap()
            },
            |rt| {
                tokio
                    .block_on(
                        rt.load_plugin(&reglet_domain::PluginName::new("bench").unwrap(), &wasm),
                    )
                    .unwrap()
            },
            criterion::BatchSize::SmallInput,
        )
    });
    group.finish();

    let mut group = c.benchmark_group("call");
    group.bench_function("raw/instantiate", |b| b.iter(|| raw.instantiate()));
    group.bench_function("ours/instantiate (probe)", |b| {
        b.iter(|| tokio.block_on(plugin.probe()).unwrap())
    });
    group.bench_function("raw/describe (fresh instance)", |b| {
        b.iter(|| raw.describe())
    });
    group.bench_function("ours/describe (fresh instance)", |b| {
        b.iter(|| tokio.block_on(plugin.describe_fresh()).unwrap())
    });
    group.bench_function("raw/observe 1KiB (fresh instance)", |b| {
        b.iter(|| raw.observe(&input))
    });
    group.bench_function("ours/observe 1KiB (fresh instance)", |b| {
        b.iter(|| tokio.block_on(plugin.observe(&config)).unwrap())
    });
    group.finish();

    let mut group = c.benchmark_group("throughput");
    const BATCH: u64 = 20_000;
    group.throughput(Throughput::Elements(BATCH));
    group.sample_size(10);
    for threads in [1usize, 2] {
        group.bench_with_input(
            BenchmarkId::new("raw/observe 1KiB", threads),
            &threads,
            |b, &threads| {
                b.iter_custom(|iters| {
                    let start = Instant::now();
                    for _ in 0..iters {
                        std::thread::scope(|s| {
                            for _ in 0..threads {
                                s.spawn(|| {
                                    for _ in 0..BATCH as usize / threads {
                                        black_box(raw.observe(&input));
                                    }
                                });
                            }
                        });
                    }
                    start.elapsed()
                })
            },
        );
        group.bench_with_input(
            BenchmarkId::new("ours/observe 1KiB", threads),
            &threads,
            |b, &threads| {
                b.iter_custom(|iters| {
                    let start = Instant::now();
                    for _ in 0..iters {
                        tokio.block_on(async {
                            let mut tasks = tokio::task::JoinSet::new();
                            for _ in 0..threads {
                                let (plugin, config) = (plugin.clone(), config.clone());
                                tasks.spawn(async move {
                                    for _ in 0..BATCH as usize / threads {
                                        black_box(plugin.observe(&config).await.unwrap());
                                    }
                                });
                            }
                            while tasks.join_next().await.is_some() {}
                        });
                    }
                    start.elapsed()
                })
            },
        );
    }
    group.finish();

    rss_per_live_instance(&tokio, &plugin);
    deadline_overshoot(&tokio);
}

/// How long past its deadline an infinite loop keeps running (printed once).
fn deadline_overshoot(tokio: &tokio::runtime::Runtime) {
    let spin = r#"(module
  (memory (export "memory") 1)
  (func (export "_initialize"))
  (func (export "describe") (result i64) (i64.const 0))
  (func (export "schema") (result i64) (i64.const 0))
  (func (export "allocate") (param i32) (result i32) (i32.const 1024))
  (func (export "deallocate") (param i32 i32))
  (func (export "observe") (param i32 i32) (result i64) (loop $l (br $l)) (unreachable)))"#;
    let rt = runtime();
    let plugin = tokio
        .block_on(rt.load_plugin(
            &reglet_domain::PluginName::new("spin").unwrap(),
            &wat::parse_str(spin).unwrap(),
        ))
        .unwrap();
    let deadline = Duration::from_millis(100);
    let mut overshoots: Vec<Duration> = (0..20)
        .map(|_| {
            let start = Instant::now();
            let err = tokio
                .block_on(plugin.observe_until(&Config::empty(), start + deadline))
                .unwrap_err();
            assert_eq!(err.code(), reglet_domain::PluginErrorCode::Timeout);
            start.elapsed().saturating_sub(deadline)
        })
        .collect();
    overshoots.sort();
    println!(
        "deadline: an infinite loop with a 100 ms deadline stopped {:.1} ms late (median), {:.1} ms (max of 20)",
        overshoots[10].as_secs_f64() * 1e3,
        overshoots[19].as_secs_f64() * 1e3
    );
}

/// Resident memory of the process, in KiB.
fn rss_kib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4
}

/// Holds 64 live, initialised instances in the warm pool and reports the resident memory each
/// costs (not a criterion measurement: printed once).
fn rss_per_live_instance(tokio: &tokio::runtime::Runtime, plugin: &reglet_runtime::Plugin) {
    std::thread::sleep(Duration::from_millis(200));
    let before = rss_kib();
    let ready = tokio.block_on(plugin.warm_pool(64)).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let after = rss_kib();
    println!(
        "rss: {ready} live instances added {} KiB ({:.1} KiB per instance)",
        after.saturating_sub(before),
        after.saturating_sub(before) as f64 / ready as f64
    );
    plugin.close();
}

criterion_group!(benches, bench);
criterion_main!(benches);

/// The default redaction, as the CLI builds it.
fn redactor() -> std::sync::Arc<dyn reglet_ports::Redactor> {
    std::sync::Arc::new(
        Redaction::new(RedactionConfig::default()).expect("the default redaction builds"),
    )
}
