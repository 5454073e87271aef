//! Turning what wasmtime reports into typed `PluginError`s that say what happened and where.

use std::time::Duration;

use reglet_domain::PluginError;
use wasmtime::Trap;

use super::state::{DeadlineExceeded, MemoryLimitExceeded};
use crate::wasi::GuestExit;

/// Classifies a failure of `export` (or "instantiation", "_initialize") in `plugin`.
pub(crate) fn classify(
    err: wasmtime::Error,
    plugin: &str,
    during: &str,
    timeout: Duration,
) -> PluginError {
    if err.downcast_ref::<DeadlineExceeded>().is_some()
        || matches!(err.downcast_ref::<Trap>(), Some(Trap::Interrupt))
    {
        return timed_out(plugin, during, timeout);
    }
    if let Some(GuestExit(code)) = err.downcast_ref::<GuestExit>() {
        return PluginError::execution(format!(
            "plugin {plugin} called proc_exit({code}) during {during}"
        ));
    }
    if let Some(limit) = err.downcast_ref::<MemoryLimitExceeded>() {
        return PluginError::execution(format!(
            "plugin {plugin} exceeded its memory limit of {} MiB during {during} (it asked for {} MiB)",
            limit.limit >> 20,
            limit.desired.div_ceil(1 << 20)
        ));
    }
    if let Some(trap) = err.downcast_ref::<Trap>() {
        let what = match trap {
            Trap::StackOverflow => {
                "exhausted the wasm call stack (unbounded recursion?)".to_owned()
            }
            Trap::UnreachableCodeReached => {
                "reached an unreachable instruction (a panic or abort in the plugin)".to_owned()
            }
            Trap::MemoryOutOfBounds => "accessed memory out of bounds".to_owned(),
            Trap::AllocationTooLarge => "asked for more memory than the host allows".to_owned(),
            other => format!("trapped: {other}"),
        };
        return PluginError::execution(format!("plugin {plugin} {what} during {during}"));
    }
    PluginError::execution(format!("{during} of plugin {plugin} failed: {err:#}"))
}

/// The error for a call stopped at its deadline.
pub(crate) fn timed_out(plugin: &str, during: &str, timeout: Duration) -> PluginError {
    PluginError::timeout(format!(
        "{during} of plugin {plugin} did not finish within {:.3}s and was stopped",
        timeout.as_secs_f64()
    ))
}
