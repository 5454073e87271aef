//! The wasmtime plugin runtime: the Rust counterpart of Reglet's Go `wasm` package, and the only
//! crate of reglet-rs that knows wasmtime.
//!
//! One process-wide `Engine` with the pooling allocator; per plugin, one compiled `Module` (from
//! the compilation cache) and one `InstancePre`; per call, a fresh instance in its own `Store`,
//! never reused, so nothing leaks from one observation to the next. Calls are async and run under
//! a deadline that epoch interruption enforces inside the guest and a timer enforces around it.

#![deny(missing_docs)]

pub(crate) mod abi;
pub mod cache;
mod context;
mod engine;
mod errors;
mod executor;
mod guest_word;
pub mod host;
mod instance;
mod options;
mod plugin;
mod services;
pub(crate) mod state;
mod wasi;

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use std::time::Duration;

use reglet_domain::{GrantSet, PluginError, PluginName};
use reglet_ports::Redactor;
use tokio::sync::OnceCell;
use wasmtime::{Engine, Linker};

pub use cache::CompilationCache;
pub use engine::{WasmtimeError, size_instance_pool};
pub use options::{
    DEFAULT_MAX_RESULT_BYTES, DEFAULT_MEMORY_LIMIT_MIB, DEFAULT_TIMEOUT, RuntimeOptions,
};
pub use plugin::Plugin;
pub use services::{HostLimits, HostServices, HostServicesBuilder};

/// The wasmtime release this runtime is built on, for `reglet version` and bug reports; wasmtime
/// exports no version of its own. A test holds it to the one in `Cargo.lock`.
pub const WASMTIME_VERSION: &str = "48.0.8";

use cache::Digest256;
use context::{ContextBase, PluginContext};
use state::HostState;

/// The runtime could not be created as configured.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// A memory limit below -1.
    #[error(
        "invalid wasm memory limit {0} MiB: use a positive number of MiB, 0 for the default ({DEFAULT_MEMORY_LIMIT_MIB} MiB) or -1 for unlimited"
    )]
    InvalidMemoryLimit(i64),
    /// A memory limit above what wasm32 can address.
    #[error("wasm memory limit {0} MiB exceeds the wasm32 maximum of 4096 MiB")]
    MemoryLimitTooLarge(i64),
    /// The engine could not be created.
    #[error("cannot create the wasm engine: {0}")]
    Engine(#[source] WasmtimeError),
    /// The host functions could not be defined.
    #[error("cannot define the host functions: {0}")]
    Link(#[source] WasmtimeError),
}

/// What every call of a plugin is bounded by.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CallLimits {
    pub(crate) max_result_bytes: usize,
    pub(crate) default_timeout: Duration,
}

struct Slot {
    digest: Digest256,
    plugin: OnceCell<Plugin>,
}

struct Shared {
    engine: Engine,
    linker: Linker<HostState>,
    cache: Arc<CompilationCache>,
    redactor: Arc<dyn Redactor>,
    capabilities: HashMap<String, GrantSet>,
    environment: Arc<[(String, String)]>,
    memory_limit: usize,
    limits: CallLimits,
    services: Arc<HostServices>,
    plugins: Mutex<HashMap<PluginName, Arc<Slot>>>,
}

/// Loads Reglet plugins and runs them in isolated instances. Cheap to clone.
#[derive(Clone)]
pub struct Runtime {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("memory_limit", &self.shared.memory_limit)
            .field("cache", &self.shared.cache)
            .finish_non_exhaustive()
    }
}

/// Reads a memory limit option: 0 is the default, -1 unlimited.
fn memory_limit_bytes(mib: i64) -> Result<usize, RuntimeError> {
    match mib {
        -1 => Ok(engine_max()),
        0 => Ok((DEFAULT_MEMORY_LIMIT_MIB as usize) << 20),
        m if m < -1 => Err(RuntimeError::InvalidMemoryLimit(m)),
        m if m > 4096 => Err(RuntimeError::MemoryLimitTooLarge(m)),
        m => Ok((m as usize) << 20),
    }
}

fn engine_max() -> usize {
    engine::MAX_MEMORY_BYTES
}

impl Runtime {
    /// Creates a runtime; the engine and the epoch clock are shared by every runtime.
    ///
    /// # Errors
    ///
    /// A memory limit out of range, or the engine (or its host functions) cannot be set up.
    ///
    /// # Examples
    ///
    /// Build a runtime, load a plugin and observe with it:
    ///
    /// ```
    /// # tokio_test_block_on(async {
    /// use reglet_domain::{Config, PluginName};
    /// use reglet_runtime::{CompilationCache, Runtime, RuntimeOptions};
    /// # let redactor = example_redactor();
    /// let runtime = Runtime::new(RuntimeOptions::new(redactor).cache(CompilationCache::in_memory()))?;
    /// let wasm = wat::parse_str(r#"(module
    ///     (memory (export "memory") 1)
    ///     (data (i32.const 64) "{\"name\":\"hello\",\"version\":\"1.0.0\"}")
    ///     (data (i32.const 256) "{\"Status\":true,\"Data\":{\"ok\":true}}")
    ///     (func (export "allocate") (param i32) (result i32) i32.const 1024)
    ///     (func (export "describe") (result i64) i64.const 274877906978)
    ///     (func (export "schema") (result i64) i64.const 0)
    ///     (func (export "observe") (param i32 i32) (result i64) i64.const 1099511627810))"#)?;
    /// let plugin = runtime.load_plugin(&PluginName::new("hello")?, &wasm).await?;
    /// assert_eq!(plugin.describe().await?.version, "1.0.0");
    /// let evidence = plugin.observe(&Config::from_value(serde_json::json!({}))?).await?;
    /// assert!(evidence.passed());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// # fn example_redactor() -> std::sync::Arc<dyn reglet_ports::Redactor> {
    /// #     std::sync::Arc::new(reglet_redaction::Redaction::new(Default::default()).unwrap())
    /// # }
    /// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
    /// #     tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(f)
    /// # }
    /// ```
    pub fn new(options: RuntimeOptions) -> Result<Self, RuntimeError> {
        let memory_limit = memory_limit_bytes(options.memory_limit_mib)?;
        let engine = engine::shared_engine()
            .map_err(RuntimeError::Engine)?
            .clone();
        let mut linker = Linker::new(&engine);
        crate::wasi::add_to_linker(&mut linker).map_err(|e| RuntimeError::Link(e.into()))?;
        crate::host::add_to_linker(&mut linker).map_err(|e| RuntimeError::Link(e.into()))?;
        let redactor = options.redactor;
        let environment: Arc<[(String, String)]> = match options.environment {
            Some(vars) => vars.into(),
            None => std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        };
        Ok(Runtime {
            shared: Arc::new(Shared {
                engine,
                linker,
                cache: options.cache.unwrap_or_else(CompilationCache::shared),
                redactor,
                capabilities: options.capabilities,
                environment,
                memory_limit,
                limits: CallLimits {
                    max_result_bytes: options.max_result_bytes,
                    default_timeout: options.default_timeout,
                },
                services: options.services.unwrap_or_default(),
                plugins: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// Compiles (or fetches from the cache) `wasm` and registers it as `name`. Concurrent loads of
    /// the same name and bytes compile once; the same name with different bytes is an error.
    ///
    /// # Errors
    ///
    /// `plugin_load_error` when the bytes do not compile, miss an export of either ABI generation,
    /// cannot be linked, or differ from those already loaded under `name`.
    pub async fn load_plugin(&self, name: &PluginName, wasm: &[u8]) -> Result<Plugin, PluginError> {
        let name = name.clone();
        let digest = cache::digest(wasm);
        let slot = {
            let mut plugins = self.shared.plugins.lock();
            match plugins.get(&name) {
                Some(slot) if slot.digest != digest => {
                    return Err(PluginError::load(format!(
                        "plugin {name} is already loaded from different bytes (sha256 {}…, now {}…); close it first or load it under another name",
                        hex::encode(&slot.digest[..6]),
                        hex::encode(&digest[..6])
                    )));
                }
                Some(slot) => slot.clone(),
                None => {
                    let slot = Arc::new(Slot {
                        digest,
                        plugin: OnceCell::new(),
                    });
                    plugins.insert(name.clone(), slot.clone());
                    slot
                }
            }
        };
        // A load error can echo the module (the name of an import it wants, say): redacted.
        let result = slot
            .plugin
            .get_or_try_init(|| self.build(&name, wasm, digest))
            .await
            .cloned()
            .map_err(|e| self.shared.redactor.redact_plugin_error(e));
        if result.is_err() {
            let mut plugins = self.shared.plugins.lock();
            if plugins
                .get(&name)
                .is_some_and(|s| Arc::ptr_eq(s, &slot) && s.plugin.get().is_none())
            {
                plugins.remove(&name);
            }
        }
        result
    }

    async fn build(
        &self,
        name: &PluginName,
        wasm: &[u8],
        digest: Digest256,
    ) -> Result<Plugin, PluginError> {
        let shared = &self.shared;
        let module = shared
            .cache
            .module(&shared.engine, Arc::from(wasm), digest, name.as_str())
            .await?;
        let exports = abi::inspect(&module, name.as_str())?;
        let pre = shared
            .linker
            .instantiate_pre(&module)
            .map_err(|e| PluginError::load(format!("plugin {name} cannot be linked: {e:#}")))?;
        let grants = shared
            .capabilities
            .get(name.as_str())
            .cloned()
            .unwrap_or_default();
        let base = ContextBase {
            redactor: shared.redactor.clone(),
            environment: shared.environment.clone(),
            memory_limit: shared.memory_limit,
            services: shared.services.clone(),
        };
        let context = Arc::new(PluginContext::new(name, grants, &base));
        Ok(Plugin::new(
            name.clone(),
            exports,
            pre,
            context,
            base,
            shared.engine.clone(),
            shared.limits,
        ))
    }

    /// The loaded plugin `name`.
    ///
    /// # Errors
    ///
    /// `plugin_load_error` when no plugin of that name is loaded.
    pub fn plugin(&self, name: &PluginName) -> Result<Plugin, PluginError> {
        let plugins = self.shared.plugins.lock();
        plugins
            .get(name)
            .and_then(|slot| slot.plugin.get().cloned())
            .ok_or_else(|| PluginError::load(format!("plugin {name} is not loaded")))
    }

    /// Closes the plugin `name` and forgets it; a later load may use different bytes.
    ///
    /// # Errors
    ///
    /// `plugin_load_error` when no plugin of that name is loaded.
    pub fn close_plugin(&self, name: &PluginName) -> Result<(), PluginError> {
        let plugin = self.plugin(name)?;
        plugin.close();
        let mut plugins = self.shared.plugins.lock();
        plugins.remove(plugin.name());
        Ok(())
    }

    /// Closes every plugin.
    pub fn close(&self) {
        let mut plugins = self.shared.plugins.lock();
        for slot in plugins.values() {
            if let Some(plugin) = slot.plugin.get() {
                plugin.close();
            }
        }
        plugins.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wasmtime_version_is_the_locked_one() {
        let lock = include_str!("../../../Cargo.lock");
        let entry = lock
            .split("[[package]]")
            .find(|p| p.contains("\nname = \"wasmtime\"\n"))
            .expect("wasmtime is in Cargo.lock");
        assert!(
            entry.contains(&format!("\nversion = \"{WASMTIME_VERSION}\"\n")),
            "Cargo.lock has {entry}"
        );
    }

    fn test_redactor() -> Arc<dyn Redactor> {
        Arc::new(
            reglet_redaction::Redaction::new(reglet_redaction::RedactionConfig::default()).unwrap(),
        )
    }

    const PLUGIN: &str = r#"(module (memory (export "memory") 1)
        (func (export "describe") (result i64) i64.const 0)
        (func (export "schema") (result i64) i64.const 0)
        (func (export "observe") (param i32 i32) (result i64) i64.const 0)
        (func (export "allocate") (param i32) (result i32) i32.const 8))"#;

    #[tokio::test]
    async fn dropping_the_runtime_frees_its_plugins() {
        let rt =
            Runtime::new(RuntimeOptions::new(test_redactor()).cache(CompilationCache::in_memory()))
                .unwrap();
        let plugin = rt
            .load_plugin(
                &PluginName::new("p").unwrap(),
                &wat::parse_str(PLUGIN).unwrap(),
            )
            .await
            .unwrap();
        let weak = plugin.downgrade();
        drop(plugin);
        assert!(weak.upgrade().is_some(), "the runtime still holds it");
        drop(rt);
        assert!(
            weak.upgrade().is_none(),
            "nothing may keep a plugin alive after its runtime"
        );
    }

    #[test]
    fn memory_limit_rules() {
        assert_eq!(memory_limit_bytes(0).unwrap(), 256 << 20);
        assert_eq!(memory_limit_bytes(64).unwrap(), 64 << 20);
        assert_eq!(memory_limit_bytes(-1).unwrap(), 4 << 30);
        assert!(matches!(
            memory_limit_bytes(-2),
            Err(RuntimeError::InvalidMemoryLimit(-2))
        ));
        assert!(matches!(
            memory_limit_bytes(5000),
            Err(RuntimeError::MemoryLimitTooLarge(5000))
        ));
        let msg = memory_limit_bytes(-7).unwrap_err().to_string();
        assert!(
            msg.contains("-7") && msg.contains("-1 for unlimited"),
            "{msg}"
        );
    }
}
