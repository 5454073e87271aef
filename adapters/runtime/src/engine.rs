//! The one wasmtime `Engine` of the process: compiler settings, the instance pool and the epoch
//! clock all live here, so every runtime shares compiled code and pooled slots.

use std::sync::OnceLock;
use std::time::Duration;

use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch advances. A running guest checks its deadline at every tick, so a looping
/// plugin is stopped at most one tick after its deadline.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(5);

/// Largest linear memory any instance may have: the wasm32 maximum. Per-instance limits are
/// enforced below it by each store's limiter.
pub(crate) const MAX_MEMORY_BYTES: usize = 4 << 30;

/// Instance slots reserved in the pool (also the most instances alive at once). Override with
/// `REGLET_MAX_INSTANCES`.
const DEFAULT_INSTANCE_SLOTS: u32 = 1000;

/// Table elements per slot: Go plugins have function tables of several thousand entries.
const TABLE_ELEMENTS: usize = 100_000;

/// An error from wasmtime, shareable: the engine's creation error is kept for every later caller.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0:#}")]
pub struct WasmtimeError(std::sync::Arc<wasmtime::Error>);

impl From<wasmtime::Error> for WasmtimeError {
    fn from(e: wasmtime::Error) -> Self {
        WasmtimeError(std::sync::Arc::new(e))
    }
}

/// Slots asked for by [`size_instance_pool`] before the engine existed.
static SLOTS: OnceLock<u32> = OnceLock::new();

/// The process engine once created.
static ENGINE: OnceLock<Result<Engine, WasmtimeError>> = OnceLock::new();

/// Sizes the process's instance pool (the most instances alive at once) before the first runtime
/// is built; `REGLET_MAX_INSTANCES` still overrides it. A short CLI run needs far fewer slots than
/// the default 1000, and each slot's fiber stack is set up when the engine starts. Returns false,
/// changing nothing, when the engine already exists or a size was already chosen.
pub fn size_instance_pool(slots: u32) -> bool {
    slots > 0 && ENGINE.get().is_none() && SLOTS.set(slots).is_ok()
}

/// The process engine, created on first use.
pub(crate) fn shared_engine() -> Result<&'static Engine, WasmtimeError> {
    ENGINE
        .get_or_init(|| {
            let engine = build()?;
            start_epoch_clock(engine.clone());
            Ok(engine)
        })
        .as_ref()
        .map_err(Clone::clone)
}

fn base_config() -> Config {
    let mut config = Config::new();
    config.epoch_interruption(true);
    config.memory_init_cow(true);
    config.parallel_compilation(true);
    config
}

fn build() -> wasmtime::Result<Engine> {
    let slots = std::env::var("REGLET_MAX_INSTANCES")
        .ok()
        .and_then(|v| v.parse().ok())
        .or_else(|| SLOTS.get().copied())
        .unwrap_or(DEFAULT_INSTANCE_SLOTS);
    let mut pool = PoolingAllocationConfig::default();
    pool.total_core_instances(slots)
        .total_memories(slots)
        .total_tables(slots)
        .total_stacks(slots)
        .max_memory_size(MAX_MEMORY_BYTES)
        .table_elements(TABLE_ELEMENTS)
        // Keep the first pages of reused slots resident and reset them by scanning for dirty
        // pages (PAGEMAP_SCAN, Linux 6.7+) instead of madvise: fresh instances scale across cores.
        .linear_memory_keep_resident(1 << 20)
        .table_keep_resident(64 << 10)
        .pagemap_scan(Enabled::Auto);
    let mut config = base_config();
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    match Engine::new(&config) {
        Ok(engine) => Ok(engine),
        Err(e) => {
            // A host that cannot reserve the pool's address space still works, more slowly.
            tracing::warn!("pooling allocator unavailable ({e:#}); using on-demand allocation");
            Engine::new(&base_config())
        }
    }
}

fn start_epoch_clock(engine: Engine) {
    std::thread::Builder::new()
        .name("reglet-epoch".into())
        .spawn(move || {
            loop {
                std::thread::sleep(EPOCH_TICK);
                engine.increment_epoch();
            }
        })
        .expect("the epoch thread starts");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_is_sized_only_before_the_engine_exists() {
        // Unit tests share one process: whichever runs first may already have built the engine,
        // and the others must keep the default size.
        let before = ENGINE.get().is_some();
        let sized = size_instance_pool(DEFAULT_INSTANCE_SLOTS);
        assert_eq!(sized, !before);
        assert!(!size_instance_pool(0));
        shared_engine().unwrap();
        assert!(!size_instance_pool(32), "too late once the engine exists");
    }
}
