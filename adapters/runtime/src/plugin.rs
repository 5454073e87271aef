//! A loaded plugin: describe it, read its schema, observe with it, keep instances warm.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use parking_lot::{Mutex, RwLock};
use std::time::Instant;

use reglet_domain::{
    AbiGeneration, Config, ConfigSchema, Evidence, GrantSet, PluginError, PluginInfo,
    PluginManifest, PluginName, Timestamp,
};
use reglet_ports::Redactor;
use tokio::sync::OnceCell;
use wasmtime::InstancePre;

use super::CallLimits;
use super::abi::Exports;
use super::context::{ContextBase, PluginContext};
use super::errors::timed_out;
use super::instance::{Blueprint, Instance, instantiate};
use super::state::HostState;

/// Most instances a warm pool keeps ready.
pub const MAX_WARM_INSTANCES: usize = 64;

pub(crate) struct PluginInner {
    pub(crate) name: PluginName,
    pub(crate) exports: Exports,
    pub(crate) pre: InstancePre<HostState>,
    /// Swapped whole by [`Plugin::set_grants`]; an instance keeps the context it started with.
    context: RwLock<Arc<PluginContext>>,
    base: ContextBase,
    /// The engine and limits only, never the runtime itself: a plugin is owned by its runtime's
    /// registry, and a reference back would keep both alive forever.
    pub(crate) engine: wasmtime::Engine,
    pub(crate) limits: CallLimits,
    info: OnceCell<PluginInfo>,
    schema: OnceCell<Option<ConfigSchema>>,
    manifest: OnceCell<PluginManifest>,
    warm: Mutex<Vec<Instance>>,
    warm_target: AtomicUsize,
    refilling: AtomicBool,
    closed: AtomicBool,
}

/// A loaded plugin. Cheap to clone; every call runs in a fresh instance.
#[derive(Clone)]
pub struct Plugin {
    inner: Arc<PluginInner>,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("name", &self.inner.name)
            .field("generation", &self.inner.exports.generation)
            .finish_non_exhaustive()
    }
}

impl Plugin {
    pub(crate) fn new(
        name: PluginName,
        exports: Exports,
        pre: InstancePre<HostState>,
        context: Arc<PluginContext>,
        base: ContextBase,
        engine: wasmtime::Engine,
        limits: CallLimits,
    ) -> Self {
        Plugin {
            inner: Arc::new(PluginInner {
                name,
                exports,
                pre,
                context: RwLock::new(context),
                base,
                engine,
                limits,
                info: OnceCell::new(),
                schema: OnceCell::new(),
                manifest: OnceCell::new(),
                warm: Mutex::new(Vec::new()),
                warm_target: AtomicUsize::new(0),
                refilling: AtomicBool::new(false),
                closed: AtomicBool::new(false),
            }),
        }
    }

    /// A weak handle, to check in tests that nothing keeps the plugin alive.
    #[cfg(test)]
    pub(crate) fn downgrade(&self) -> std::sync::Weak<PluginInner> {
        Arc::downgrade(&self.inner)
    }

    /// Replaces what the plugin may touch for every observation that starts from now on; running
    /// ones keep the grants they started with. Prepared instances are dropped (they were made
    /// with the old grants) and the pool refills with the new ones. Nothing is recompiled.
    pub fn set_grants(&self, grants: GrantSet) {
        let context = Arc::new(PluginContext::new(
            &self.inner.name,
            grants,
            &self.inner.base,
        ));
        *self.inner.context.write() = context;
        self.inner.warm.lock().clear();
    }

    /// The grants new observations run with.
    pub fn grants(&self) -> GrantSet {
        self.inner.context().grants.clone()
    }

    /// The plugin's name.
    pub fn name(&self) -> &PluginName {
        &self.inner.name
    }

    /// The ABI generation it speaks.
    pub fn generation(&self) -> AbiGeneration {
        self.inner.exports.generation
    }

    fn check_open(&self) -> Result<(), PluginError> {
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(PluginError::load(format!(
                "plugin {} is closed",
                self.inner.name
            )));
        }
        Ok(())
    }

    fn default_deadline(&self) -> Instant {
        Instant::now() + self.inner.limits.default_timeout
    }

    /// The Gen 2 manifest (fetched once).
    async fn manifest(&self) -> Result<&PluginManifest, PluginError> {
        self.inner
            .manifest
            .get_or_try_init(|| self.fetch_manifest())
            .await
    }

    async fn call_describe(&self, export: &str) -> Result<Option<Vec<u8>>, PluginError> {
        self.check_open()?;
        let deadline = self.default_deadline();
        let budget = self.inner.limits.default_timeout;
        let inner = self.inner.clone();
        let call = async move {
            let mut instance = instantiate(inner.as_ref(), deadline).await?;
            instance.call_describe(inner.as_ref(), export).await
        };
        tokio::time::timeout_at(deadline.into(), call)
            .await
            .unwrap_or_else(|_| {
                Err(timed_out(
                    self.inner.name.as_str(),
                    &format!("{export}()"),
                    budget,
                ))
            })
    }

    fn redactor(&self) -> &dyn Redactor {
        self.inner.base.redactor.as_ref()
    }

    /// Redacts what describe answered, at every call rather than once in the cache, so that
    /// secrets registered later are hidden too.
    fn redacted_info(
        &self,
        result: Result<PluginInfo, PluginError>,
    ) -> Result<PluginInfo, PluginError> {
        match result {
            Ok(mut info) => {
                self.redactor().redact_plugin_info(&mut info);
                Ok(info)
            }
            Err(e) => Err(self.redactor().redact_plugin_error(e)),
        }
    }

    /// The plugin's identity and declared capabilities (cached after the first success), redacted.
    ///
    /// # Errors
    ///
    /// The plugin is closed, its describe export traps or times out, or what it returns is not a
    /// description (`invalid_result`).
    pub async fn describe(&self) -> Result<PluginInfo, PluginError> {
        let info = self
            .inner
            .info
            .get_or_try_init(|| self.read_info(false))
            .await
            .cloned();
        self.redacted_info(info)
    }

    /// Asks the plugin for its description in a fresh instance, bypassing every cache: what the
    /// benchmarks measure as "describe". Redacted like [`Plugin::describe`].
    ///
    /// # Errors
    ///
    /// As [`Plugin::describe`].
    #[doc(hidden)]
    pub async fn describe_fresh(&self) -> Result<PluginInfo, PluginError> {
        let info = self.read_info(true).await;
        self.redacted_info(info)
    }

    /// The description, from `describe()` (Gen 1) or the manifest (Gen 2, the cached one unless
    /// `fresh`).
    async fn read_info(&self, fresh: bool) -> Result<PluginInfo, PluginError> {
        match self.inner.exports.generation {
            AbiGeneration::Gen2 if fresh => Ok(self.fetch_manifest().await?.info()),
            AbiGeneration::Gen2 => Ok(self.manifest().await?.info()),
            AbiGeneration::Gen1 => {
                let bytes = self.call_describe_nonnull("describe").await?;
                PluginInfo::decode_gen1(&bytes).map_err(|e| {
                    PluginError::invalid_result(format!(
                        "describe() of plugin {} returned {e}",
                        self.inner.name
                    ))
                })
            }
        }
    }

    /// Calls a describe-like export that must return something.
    async fn call_describe_nonnull(&self, export: &str) -> Result<Vec<u8>, PluginError> {
        self.call_describe(export).await?.ok_or_else(|| {
            PluginError::execution(format!(
                "{export}() of plugin {} returned a null pointer",
                self.inner.name
            ))
        })
    }

    /// Reads and decodes the Gen 2 manifest from a fresh instance.
    async fn fetch_manifest(&self) -> Result<PluginManifest, PluginError> {
        let bytes = self
            .call_describe_nonnull(self.inner.exports.describe)
            .await?;
        PluginManifest::decode(&bytes).map_err(|e| {
            PluginError::invalid_result(format!(
                "{}() of plugin {} returned {e}",
                self.inner.exports.describe, self.inner.name
            ))
        })
    }

    /// Creates one fresh instance, runs its initialisation and discards it: checks that the plugin
    /// instantiates under its limits, and measures what that costs.
    ///
    /// # Errors
    ///
    /// The plugin is closed, or instantiation or `_initialize` fails or times out.
    pub async fn probe(&self) -> Result<(), PluginError> {
        self.check_open()?;
        let deadline = self.default_deadline();
        instantiate(self.inner.as_ref(), deadline)
            .await
            .map(drop)
            .map_err(|e| self.redactor().redact_plugin_error(e))
    }

    /// The plugin's config schema, `None` when it publishes none (cached after the first success),
    /// redacted by the text rules (a `password` property keeps its definition).
    ///
    /// Gen 1 plugins answer from `schema()`; a null result there means "no schema". Gen 2 plugins
    /// carry the schema in their manifest.
    ///
    /// # Errors
    ///
    /// The plugin is closed, its schema export traps or times out, or returns something that is
    /// not a JSON Schema (`invalid_result`).
    pub async fn schema(&self) -> Result<Option<ConfigSchema>, PluginError> {
        let schema = self
            .inner
            .schema
            .get_or_try_init(|| async {
                match self.inner.exports.schema {
                    None => Ok(self.manifest().await?.schema()),
                    Some(export) => match self.call_describe(export).await? {
                        None => Ok(None),
                        Some(bytes) => {
                            ConfigSchema::from_json_bytes(&bytes)
                                .map(Some)
                                .map_err(|e| {
                                    PluginError::invalid_result(format!(
                                        "schema() of plugin {} returned {e}",
                                        self.inner.name
                                    ))
                                })
                        }
                    },
                }
            })
            .await
            .cloned();
        match schema {
            Ok(Some(schema)) => self.redactor().redact_schema(schema).map(Some).map_err(|e| {
                PluginError::invalid_result(format!(
                    "the config schema of plugin {} was dropped because it could not be redacted: {e}",
                    self.inner.name
                ))
            }),
            Ok(None) => Ok(None),
            Err(e) => Err(self.redactor().redact_plugin_error(e)),
        }
    }

    /// Observes with `config` under the runtime's default timeout.
    ///
    /// # Errors
    ///
    /// As [`Plugin::observe_until`].
    pub async fn observe(&self, config: &Config) -> Result<Evidence, PluginError> {
        self.observe_until(config, self.default_deadline()).await
    }

    /// Observes with `config` in a fresh instance, stopping it at `deadline`.
    ///
    /// The evidence is redacted before it is returned. Dropping the returned future stops the
    /// guest as well. A plugin that reports a failed check returns `Ok` evidence; `Err` means the
    /// observation could not be made.
    ///
    /// # Errors
    ///
    /// `timeout` past `deadline`; `plugin_execution_error` for a trap, `proc_exit`, a memory limit
    /// or a null/out-of-bounds result; `invalid_result` for a result that does not decode; and
    /// `plugin_load_error` once the plugin is closed. Every message is redacted.
    pub async fn observe_until(
        &self,
        config: &Config,
        deadline: Instant,
    ) -> Result<Evidence, PluginError> {
        self.check_open()?;
        let budget = deadline.saturating_duration_since(Instant::now());
        let inner = self.inner.clone();
        let input = config.json();
        let call = async move {
            let mut instance = match inner.take_warm() {
                Some(mut instance) => {
                    instance.set_deadline(deadline);
                    instance
                }
                None => instantiate(inner.as_ref(), deadline).await?,
            };
            PluginInner::refill(&inner);
            let decode = |bytes: &[u8]| {
                Evidence::decode(inner.exports.generation, bytes).map_err(|e| {
                    PluginError::invalid_result(format!(
                        "{}() of plugin {} returned {e}",
                        inner.exports.observe, inner.name
                    ))
                })
            };
            instance
                .call_observe(inner.as_ref(), &inner.exports, input, decode)
                .await
        };
        let mut evidence = tokio::time::timeout_at(deadline.into(), call)
            .await
            .unwrap_or_else(|_| {
                Err(timed_out(
                    self.inner.name.as_str(),
                    &format!("{}()", self.inner.exports.observe),
                    budget,
                ))
            })
            .map_err(|e| self.redactor().redact_plugin_error(e))?;
        if evidence.timestamp.is_none_or(|t| t.is_go_zero()) {
            evidence.timestamp = Some(Timestamp::now());
        }
        self.redactor().redact_evidence(&mut evidence);
        Ok(evidence)
    }

    /// Keeps up to `count` (at most [`MAX_WARM_INSTANCES`]) instances instantiated and initialised
    /// in advance; each is used once and the pool refills in the background. Returns how many are
    /// ready now.
    ///
    /// # Errors
    ///
    /// The plugin is closed, or no instance could be prepared (the first failure, redacted).
    pub async fn warm_pool(&self, count: usize) -> Result<usize, PluginError> {
        self.check_open()?;
        let target = count.min(MAX_WARM_INSTANCES);
        self.inner.warm_target.store(target, Ordering::Release);
        let missing = target.saturating_sub(self.inner.warm_len());
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..missing {
            let inner = self.inner.clone();
            tasks.spawn(async move {
                let deadline = Instant::now() + inner.limits.default_timeout;
                instantiate(inner.as_ref(), deadline).await
            });
        }
        let mut first_error = None;
        while let Some(done) = tasks.join_next().await {
            match done {
                Ok(Ok(instance)) => self.inner.put_warm(instance),
                Ok(Err(e)) => {
                    first_error.get_or_insert(e);
                }
                Err(e) => {
                    first_error.get_or_insert(PluginError::execution(format!(
                        "warming plugin {} failed: {e}",
                        self.inner.name
                    )));
                }
            }
        }
        match first_error {
            Some(e) if self.inner.warm_len() == 0 => Err(self.redactor().redact_plugin_error(e)),
            _ => Ok(self.inner.warm_len()),
        }
    }

    /// Instances ready in the warm pool right now.
    pub fn warm_instances(&self) -> usize {
        self.inner.warm_len()
    }

    /// Stops the plugin: the warm pool is emptied and later calls fail.
    pub fn close(&self) {
        self.inner.closed.store(true, Ordering::Release);
        self.inner.warm_target.store(0, Ordering::Release);
        self.inner.warm.lock().clear();
    }
}

impl Blueprint for PluginInner {
    fn name(&self) -> &str {
        self.name.as_str()
    }

    fn engine(&self) -> &wasmtime::Engine {
        &self.engine
    }

    fn pre(&self) -> &InstancePre<HostState> {
        &self.pre
    }

    fn exports(&self) -> &Exports {
        &self.exports
    }

    fn max_result_bytes(&self) -> usize {
        self.limits.max_result_bytes
    }

    fn context(&self) -> Arc<PluginContext> {
        self.context.read().clone()
    }
}

impl PluginInner {
    fn warm_len(&self) -> usize {
        self.warm.lock().len()
    }

    fn take_warm(&self) -> Option<Instance> {
        self.warm.lock().pop()
    }

    fn put_warm(&self, instance: Instance) {
        // An instance prepared before `set_grants` carries the old grants: never keep it.
        let current = self.context();
        let mut warm = self.warm.lock();
        if !self.closed.load(Ordering::Acquire)
            && warm.len() < self.warm_target.load(Ordering::Acquire)
            && Arc::ptr_eq(&instance.store.data().plugin, &current)
        {
            warm.push(instance);
        }
    }

    /// Tops the warm pool up in the background, one refill task at a time.
    fn refill(inner: &Arc<PluginInner>) {
        if inner.warm_target.load(Ordering::Acquire) == 0
            || inner.refilling.swap(true, Ordering::AcqRel)
        {
            return;
        }
        let inner = inner.clone();
        tokio::spawn(async move {
            while !inner.closed.load(Ordering::Acquire)
                && inner.warm_len() < inner.warm_target.load(Ordering::Acquire)
            {
                let deadline = Instant::now() + inner.limits.default_timeout;
                match instantiate(inner.as_ref(), deadline).await {
                    Ok(instance) => inner.put_warm(instance),
                    Err(e) => {
                        let e = inner.base.redactor.redact_plugin_error(e);
                        tracing::warn!(plugin = %inner.name, "warm pool refill failed: {e}");
                        break;
                    }
                }
            }
            inner.refilling.store(false, Ordering::Release);
        });
    }
}
