//! The data each instance's `Store` carries.

use std::sync::Arc;
use std::time::Instant;

use wasmtime::{Memory, ResourceLimiter, TypedFunc};

pub(crate) use crate::context::PluginContext;
use crate::host::{HostView, LogBudget};
use crate::wasi::{WasiState, WasiView};

/// The instance grew (or was instantiated) past its memory limit.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("memory limit of {limit} bytes exceeded (asked for {desired} bytes)")]
pub(crate) struct MemoryLimitExceeded {
    pub(crate) limit: usize,
    pub(crate) desired: usize,
}

/// The call ran past its deadline.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("deadline exceeded")]
pub(crate) struct DeadlineExceeded;

/// Enforces the per-instance memory limit with an error that says so, instead of a bare failure.
pub(crate) struct Limiter {
    limit: usize,
}

/// Table elements one instance may grow to.
const TABLE_LIMIT: usize = 100_000;

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.limit {
            return Err(wasmtime::Error::new(MemoryLimitExceeded {
                limit: self.limit,
                desired,
            }));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= TABLE_LIMIT)
    }

    fn instances(&self) -> usize {
        1
    }

    fn memories(&self) -> usize {
        1
    }

    fn tables(&self) -> usize {
        4
    }
}

/// The data of one instance's store.
pub(crate) struct HostState {
    pub(crate) plugin: Arc<PluginContext>,
    pub(crate) limiter: Limiter,
    pub(crate) memory: Option<Memory>,
    pub(crate) allocate: Option<TypedFunc<u32, u32>>,
    pub(crate) wasi: WasiState,
    pub(crate) deadline: Instant,
    pub(crate) log: LogBudget,
}

impl HostState {
    pub(crate) fn new(plugin: Arc<PluginContext>, deadline: Instant) -> Self {
        let wasi = WasiState::new(
            plugin.sandbox.clone(),
            plugin.env.clone(),
            plugin.redactor.clone(),
            plugin.name.clone(),
        );
        HostState {
            limiter: Limiter {
                limit: plugin.memory_limit,
            },
            plugin,
            memory: None,
            allocate: None,
            wasi,
            deadline,
            log: LogBudget::default(),
        }
    }
}

impl Drop for HostState {
    fn drop(&mut self) {
        if self.log.dropped > 0 {
            tracing::warn!(
                target: "reglet::plugin",
                plugin = %self.plugin.name,
                dropped = self.log.dropped,
                "plugin log messages over the per-observation budget were dropped"
            );
        }
    }
}

impl WasiView for HostState {
    fn wasi(&mut self) -> &mut WasiState {
        &mut self.wasi
    }

    fn memory(&self) -> Option<Memory> {
        self.memory
    }
}

impl HostView for HostState {
    fn plugin(&self) -> &Arc<PluginContext> {
        &self.plugin
    }

    fn deadline(&self) -> Instant {
        self.deadline
    }

    fn guest_memory(&self) -> Option<Memory> {
        self.memory
    }

    fn guest_allocate(&self) -> Option<TypedFunc<u32, u32>> {
        self.allocate.clone()
    }

    fn log_budget(&mut self) -> &mut LogBudget {
        &mut self.log
    }
}
