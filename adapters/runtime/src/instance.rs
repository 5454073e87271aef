//! One fresh instance of a plugin: its store, created under a deadline, initialised, called once.

use std::time::{Duration, Instant};

use reglet_domain::PluginError;
use wasmtime::{Memory, Store, TypedFunc, UpdateDeadline};

use super::abi::{self, Exports};
use super::context::PluginContext;
use super::errors::classify;
use super::state::{DeadlineExceeded, HostState};

/// What an instance is made from. The plugin provides it, so this module never reaches back into
/// the plugin.
pub(crate) trait Blueprint {
    /// The plugin's name, for errors.
    fn name(&self) -> &str;
    /// The engine the plugin was compiled with.
    fn engine(&self) -> &wasmtime::Engine;
    /// The linked, not yet instantiated module.
    fn pre(&self) -> &wasmtime::InstancePre<HostState>;
    /// The exports found when the module was loaded.
    fn exports(&self) -> &Exports;
    /// The largest result document accepted.
    fn max_result_bytes(&self) -> usize;
    /// The grants, sandbox and services a new instance starts with.
    fn context(&self) -> std::sync::Arc<PluginContext>;
}

/// An instantiated, initialised plugin instance, ready for exactly one call.
pub(crate) struct Instance {
    pub(crate) store: Store<HostState>,
    instance: wasmtime::Instance,
    memory: Memory,
    allocate: TypedFunc<u32, u32>,
}

fn remaining(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}

/// Creates a store, instantiates the plugin in it and runs `_initialize`, all before `deadline`.
pub(crate) async fn instantiate(
    plugin: &impl Blueprint,
    deadline: Instant,
) -> Result<Instance, PluginError> {
    let name = plugin.name();
    let budget = remaining(deadline);
    let mut store = Store::new(plugin.engine(), HostState::new(plugin.context(), deadline));
    store.limiter(|state| &mut state.limiter);
    // Every epoch tick the guest yields to the executor (so a busy guest never starves other
    // tasks and a dropped future stops it) and is stopped once its deadline has passed.
    store.epoch_deadline_callback(|ctx| {
        if Instant::now() >= ctx.data().deadline {
            Err(wasmtime::Error::new(DeadlineExceeded))
        } else {
            Ok(UpdateDeadline::Yield(1))
        }
    });
    store.set_epoch_deadline(1);
    let instance = plugin
        .pre()
        .instantiate_async(&mut store)
        .await
        .map_err(|e| classify(e, name, "instantiation", budget))?;
    let handles = plugin.exports().handles;
    let memory = instance
        .get_module_export(&mut store, &handles.memory)
        .and_then(wasmtime::Extern::into_memory)
        .ok_or_else(|| PluginError::execution(format!("plugin {name} lost its memory export")))?;
    let allocate = typed::<u32, u32>(&instance, &mut store, &handles.allocate, name)?;
    store.data_mut().memory = Some(memory);
    store.data_mut().allocate = Some(allocate.clone());
    if let Some(handle) = &handles.initialize {
        let init = typed::<(), ()>(&instance, &mut store, handle, name)?;
        init.call_async(&mut store, ()).await.map_err(|e| {
            let inner = classify(e, name, "_initialize", budget);
            PluginError::new(
                inner.code(),
                format!("failed to initialize plugin {name}: {}", inner.message()),
            )
        })?;
    }
    Ok(Instance {
        store,
        instance,
        memory,
        allocate,
    })
}

/// The typed function behind an export handle (its type was checked at load).
fn typed<P: wasmtime::WasmParams, R: wasmtime::WasmResults>(
    instance: &wasmtime::Instance,
    store: &mut Store<HostState>,
    handle: &wasmtime::ModuleExport,
    plugin: &str,
) -> Result<TypedFunc<P, R>, PluginError> {
    instance
        .get_module_export(&mut *store, handle)
        .and_then(wasmtime::Extern::into_func)
        .ok_or_else(|| PluginError::execution(format!("plugin {plugin} lost an export")))?
        .typed::<P, R>(&*store)
        .map_err(|e| PluginError::execution(format!("plugin {plugin}: {e:#}")))
}

impl Instance {
    /// Moves the deadline of this instance's next call.
    pub(crate) fn set_deadline(&mut self, deadline: Instant) {
        self.store.data_mut().deadline = deadline;
    }

    fn budget(&self) -> Duration {
        remaining(self.store.data().deadline)
    }

    /// Calls a `() -> i64` export and returns the bytes its packed result points at.
    pub(crate) async fn call_describe(
        &mut self,
        plugin: &impl Blueprint,
        export: &str,
    ) -> Result<Option<Vec<u8>>, PluginError> {
        let name = plugin.name();
        let budget = self.budget();
        let func = self
            .instance
            .get_typed_func::<(), u64>(&mut self.store, export)
            .map_err(|e| PluginError::execution(format!("plugin {name}: {e:#}")))?;
        let packed = func
            .call_async(&mut self.store, ())
            .await
            .map_err(|e| classify(e, name, &format!("{export}()"), budget))?;
        if packed == 0 {
            return Ok(None);
        }
        let bytes = abi::read_result(
            self.memory.data(&self.store),
            packed,
            plugin.max_result_bytes(),
            name,
            export,
        )?
        .to_vec();
        Ok(Some(bytes))
    }

    /// Writes `input` into guest memory through `allocate`, calls `export(ptr, len)` and decodes
    /// the result with `decode`. The buffers are not handed back through `deallocate`: every
    /// instance serves one call and its whole memory is reset when it is dropped, so freeing would
    /// only cost two more guest calls.
    pub(crate) async fn call_observe<T>(
        &mut self,
        plugin: &impl Blueprint,
        exports: &Exports,
        input: &[u8],
        decode: impl FnOnce(&[u8]) -> Result<T, PluginError>,
    ) -> Result<T, PluginError> {
        let name = plugin.name();
        let budget = self.budget();
        let export = exports.observe;
        let len = u32::try_from(input.len()).map_err(|_| {
            PluginError::execution(format!(
                "config of {} bytes is too large for plugin {name}",
                input.len()
            ))
        })?;
        let ptr = self
            .allocate
            .call_async(&mut self.store, len)
            .await
            .map_err(|e| classify(e, name, "allocate()", budget))?;
        if ptr == 0 && len > 0 {
            return Err(PluginError::execution(format!(
                "allocate({len}) of plugin {name} returned a null pointer"
            )));
        }
        self.memory
            .write(&mut self.store, ptr as usize, input)
            .map_err(|_| {
                PluginError::execution(format!(
                    "allocate({len}) of plugin {name} returned {ptr:#x}, outside its memory"
                ))
            })?;
        let func = typed::<(u32, u32), u64>(
            &self.instance,
            &mut self.store,
            &exports.handles.observe,
            name,
        )?;
        let packed = func
            .call_async(&mut self.store, (ptr, len))
            .await
            .map_err(|e| classify(e, name, &format!("{export}()"), budget))?;
        // Decoded in place: no copy of the result.
        abi::read_result(
            self.memory.data(&self.store),
            packed,
            plugin.max_result_bytes(),
            name,
            export,
        )
        .and_then(decode)
    }
}
