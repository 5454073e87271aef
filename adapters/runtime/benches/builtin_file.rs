//! The embedded `file` plugin observing `/etc/hosts` through the real runtime, next to raw
//! wasmtime creating and initialising an instance of the same module in the same run (the floor).
//!
//! `cargo bench -p reglet-runtime --bench builtin_file`
//!
//! "Ours" is a whole observation in a fresh instance: instantiation, `_initialize`, the config in,
//! `_observe` (which calls the `file_stat` host function and opens the file through the WASI
//! sandbox), the evidence decoded and redacted. "Raw" only instantiates the module and runs its
//! `_initialize`, with every import a stub: the least any observation of this module costs.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use reglet_domain::{Config, GrantSet, PluginName};
use reglet_redaction::{Redaction, RedactionConfig};
use reglet_runtime::{CompilationCache, Runtime, RuntimeOptions};
use serde_json::json;
use wasmtime::{
    Config as WtConfig, Engine, InstanceAllocationStrategy, Linker, Module,
    PoolingAllocationConfig, Store,
};

/// The `reglet` binary's allocator, so the figures are the product's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn raw_floor(wasm: &[u8]) -> (Engine, wasmtime::InstancePre<()>) {
    let mut pool = PoolingAllocationConfig::default();
    pool.total_core_instances(1000)
        .total_memories(1000)
        .total_tables(1000)
        .total_stacks(1000)
        .max_memory_size(4 << 30)
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
    linker.define_unknown_imports_as_traps(&module).unwrap();
    let pre = linker.instantiate_pre(&module).unwrap();
    (engine, pre)
}

fn bench(c: &mut Criterion) {
    let wasm = reglet_builtins::builtin("file").expect("the file plugin is embedded");
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let redactor = std::sync::Arc::new(Redaction::new(RedactionConfig::default()).unwrap());
    let grants = GrantSet::parse("fs:read:/etc/hosts").unwrap();
    let runtime = Runtime::new(
        RuntimeOptions::new(redactor)
            .cache(CompilationCache::in_memory())
            .grant("file", grants),
    )
    .unwrap();
    let plugin = tokio
        .block_on(runtime.load_plugin(&PluginName::new("file").unwrap(), wasm))
        .unwrap();
    let config = Config::from_value(json!({"path": "/etc/hosts"})).unwrap();
    let check = tokio.block_on(plugin.observe(&config)).unwrap();
    assert_eq!(
        check.data.as_ref().unwrap()["exists"],
        true,
        "the plugin observed the file: {check:?}"
    );
    let (engine, pre) = raw_floor(wasm);

    let mut group = c.benchmark_group("builtin_file");
    group.bench_function("raw/instantiate + _initialize (floor)", |b| {
        b.iter(|| {
            let mut store = Store::new(&engine, ());
            store.set_epoch_deadline(u64::MAX / 2);
            let instance = pre.instantiate(&mut store).unwrap();
            let init = instance
                .get_typed_func::<(), ()>(&mut store, "_initialize")
                .unwrap();
            init.call(&mut store, ()).unwrap();
            black_box(instance);
        });
    });
    group.bench_function("ours/observe /etc/hosts (fresh instance)", |b| {
        b.iter(|| black_box(tokio.block_on(plugin.observe(&config)).unwrap()));
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
