//! The data each instance's `Store` carries.

use std::sync::Arc;
use std::time::Instant;

use reglet_domain::GrantSet;
use reglet_ports::Redactor;
use wasmtime::{Memory, ResourceLimiter, TypedFunc};

use crate::host::HostServices;
use crate::wasi::{Sandbox, WasiState, WasiView};

/// What every instance of one plugin shares: identity, grants, and the services it may reach.
pub(crate) struct PluginContext {
    pub(crate) name: Arc<str>,
    pub(crate) grants: GrantSet,
    pub(crate) redactor: Arc<dyn Redactor>,
    pub(crate) sandbox: Arc<Sandbox>,
    pub(crate) env: Arc<[String]>,
    pub(crate) memory_limit: usize,
    pub(crate) services: Arc<HostServices>,
}

#[cfg(test)]
impl PluginContext {
    /// A context with these grants and services, nothing mounted, the default redactor.
    pub(crate) fn for_tests(grants: GrantSet, services: HostServices) -> Self {
        PluginContext {
            name: Arc::from("test"),
            grants,
            redactor: Arc::new(
                reglet_redaction::Redaction::new(reglet_redaction::RedactionConfig::default())
                    .expect("the default redaction builds"),
            ),
            sandbox: Arc::new(Sandbox::from_grants(&GrantSet::new()).0),
            env: Arc::from(Vec::<String>::new()),
            memory_limit: 64 << 20,
            services: Arc::new(services),
        }
    }
}

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

/// How much a guest may log through `log_message` in one instance.
pub(crate) struct LogBudget {
    pub(crate) messages_left: u32,
    pub(crate) bytes_left: usize,
    pub(crate) dropped: u64,
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
            log: LogBudget {
                messages_left: 1000,
                bytes_left: 1 << 20,
                dropped: 0,
            },
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
