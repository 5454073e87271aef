//! How a runtime is configured.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use reglet_domain::GrantSet;
use reglet_ports::Redactor;

use super::cache::CompilationCache;
use crate::services::HostServices;

/// Default per-instance memory limit.
pub const DEFAULT_MEMORY_LIMIT_MIB: i64 = 256;
/// Default deadline of one call when the caller gives none.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default cap on the size of a plugin's result document.
pub const DEFAULT_MAX_RESULT_BYTES: usize = 16 << 20;

/// The settings of a [`Runtime`](super::Runtime), built up with its methods.
#[derive(Clone)]
pub struct RuntimeOptions {
    pub(crate) capabilities: HashMap<String, GrantSet>,
    pub(crate) redactor: Arc<dyn Redactor>,
    pub(crate) memory_limit_mib: i64,
    pub(crate) cache: Option<Arc<CompilationCache>>,
    pub(crate) max_result_bytes: usize,
    pub(crate) default_timeout: Duration,
    pub(crate) environment: Option<Vec<(String, String)>>,
    pub(crate) services: Option<Arc<HostServices>>,
}

impl RuntimeOptions {
    /// Options around `redactor`, which every output of every plugin passes through (there is
    /// no runtime without one). Defaults: no grants, 256 MiB per instance, the shared cache, 30 s.
    pub fn new(redactor: Arc<dyn Redactor>) -> Self {
        RuntimeOptions {
            capabilities: HashMap::new(),
            redactor,
            memory_limit_mib: 0,
            cache: None,
            max_result_bytes: DEFAULT_MAX_RESULT_BYTES,
            default_timeout: DEFAULT_TIMEOUT,
            environment: None,
            services: None,
        }
    }

    /// Grants `grants` to the plugin loaded as `plugin` (merged with earlier grants to it).
    pub fn grant(mut self, plugin: &str, grants: GrantSet) -> Self {
        let entry = self.capabilities.entry(plugin.to_owned()).or_default();
        *entry = entry.merge(&grants);
        self
    }

    /// Replaces the redactor every output of every plugin passes through.
    pub fn redactor(mut self, redactor: Arc<dyn Redactor>) -> Self {
        self.redactor = redactor;
        self
    }

    /// Memory limit per instance in MiB: 0 for the default (256), -1 for unlimited (the wasm32
    /// maximum of 4 GiB); anything below -1 is refused by [`Runtime::new`](super::Runtime::new).
    pub fn memory_limit_mib(mut self, mib: i64) -> Self {
        self.memory_limit_mib = mib;
        self
    }

    /// The compilation cache to use instead of the shared, persistent one.
    pub fn cache(mut self, cache: Arc<CompilationCache>) -> Self {
        self.cache = Some(cache);
        self
    }

    /// The largest result document accepted from a plugin.
    pub fn max_result_bytes(mut self, bytes: usize) -> Self {
        self.max_result_bytes = bytes;
        self
    }

    /// The deadline of a call made without one.
    pub fn default_timeout(mut self, timeout: Duration) -> Self {
        self.default_timeout = timeout;
        self
    }

    /// The environment granted variables are read from, instead of a snapshot of the process
    /// environment taken when the runtime is created.
    pub fn environment(mut self, vars: impl IntoIterator<Item = (String, String)>) -> Self {
        self.environment = Some(vars.into_iter().collect());
        self
    }

    /// The services the host functions use (DNS, HTTP, TCP, SMTP, commands).
    pub fn services(mut self, services: Arc<HostServices>) -> Self {
        self.services = Some(services);
        self
    }
}
