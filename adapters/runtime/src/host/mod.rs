//! The `reglet_host` import module: the functions Reglet plugins call for everything outside
//! their sandbox. Every import a Reglet plugin may have is defined, so every plugin instantiates.
//!
//! Each function reads its request from guest memory once (at most 1 MiB), checks it against the
//! plugin's grants before any I/O, does the work through an outbound port with a deadline no
//! later than the observation's, and writes a JSON answer back through the guest's `allocate`.
//! Malformed requests, denials and failures are all answers (`{"error": {...}}`), never traps.

mod dns;
mod exec;
mod file_stat;
mod http;
mod log;
pub(crate) mod network;
pub(crate) mod requests;
mod smtp;
mod ssrf;
mod tcp;
pub(crate) mod wire;

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use reglet_domain::{ErrorDetail, ErrorType};
use reglet_ports::{NetError, NetErrorKind};
use serde_json::Value;
use wasmtime::{Caller, Linker};

use wasmtime::{Memory, TypedFunc};

use crate::context::PluginContext;
pub(crate) use crate::services::HostServices;
pub(crate) use log::LogBudget;
use requests::CallError;

const MODULE: &str = "reglet_host";

/// What the host functions need of an instance's store data, the way [`crate::wasi::WasiView`]
/// keeps WASI free of the runtime: the host functions never name the runtime's state type.
pub(crate) trait HostView: Send + 'static {
    /// The plugin the instance belongs to: grants, services, redactor.
    fn plugin(&self) -> &Arc<PluginContext>;
    /// The observation's deadline; no host work may outlive it.
    fn deadline(&self) -> Instant;
    /// The guest's exported memory, once known.
    fn guest_memory(&self) -> Option<Memory>;
    /// The guest's `allocate` export, once known.
    fn guest_allocate(&self) -> Option<TypedFunc<u32, u32>>;
    /// What the guest may still log in this instance.
    fn log_budget(&mut self) -> &mut LogBudget;
}

/// The error document fields for a failed network operation.
pub(crate) fn net_error_detail(err: &NetError, code: &str) -> ErrorDetail {
    let detail = match err.kind() {
        NetErrorKind::Timeout => ErrorDetail::new(ErrorType::Timeout, err.message()).timed_out(),
        NetErrorKind::NotFound => ErrorDetail::new(ErrorType::Network, err.message()).not_found(),
        NetErrorKind::InvalidInput => ErrorDetail::new(ErrorType::Config, err.message()),
        _ => ErrorDetail::new(ErrorType::Network, err.message()),
    };
    detail.with_code(code)
}

/// What a handler gets: who is calling, which function, and until when.
#[derive(Clone)]
pub(crate) struct Call {
    pub(crate) plugin: Arc<PluginContext>,
    /// The `reglet_host` function being called, for the log lines.
    pub(crate) function: &'static str,
    /// The observation's deadline; no host work may outlive it.
    pub(crate) deadline: Instant,
}

impl Call {
    pub(crate) fn services(&self) -> &HostServices {
        &self.plugin.services
    }

    /// Logs a refused call where anyone watching the host's log can see it, redacted: the reason
    /// can echo what the plugin asked for.
    fn refused(&self, error: &ErrorDetail) {
        let message = self.redacted(&error.message);
        tracing::warn!(target: "reglet::host", plugin = %self.plugin.name, function = self.function, "refused: {message}");
    }

    /// Logs an allowed call, redacted: `what` echoes the request (a command's arguments, a URL).
    pub(crate) fn allowed(&self, what: &str) {
        let what = self.redacted(what);
        tracing::info!(target: "reglet::host", plugin = %self.plugin.name, function = self.function, "allowed: {what}");
    }

    fn redacted<'t>(&self, text: &'t str) -> std::borrow::Cow<'t, str> {
        match self.plugin.redactor.redact_text(text) {
            Some(clean) => std::borrow::Cow::Owned(clean),
            None => std::borrow::Cow::Borrowed(text),
        }
    }
}

fn register<T, H, F>(linker: &mut Linker<T>, name: &'static str, handler: H) -> wasmtime::Result<()>
where
    T: HostView,
    H: Fn(Call, Vec<u8>) -> F + Send + Sync + Copy + 'static,
    F: Future<Output = Result<Value, CallError>> + Send + 'static,
{
    linker.func_wrap_async(
        MODULE,
        name,
        move |mut caller: Caller<'_, T>, (packed,): (u64,)| {
            Box::new(async move {
                let call = Call {
                    plugin: caller.data().plugin().clone(),
                    function: name,
                    deadline: caller.data().deadline(),
                };
                let outcome = match wire::read_request(&mut caller, packed) {
                    Ok(bytes) => handler(call.clone(), bytes).await,
                    Err(reason) => Err(CallError::from(requests::BadRequest(reason))),
                };
                // The one place an error becomes the guest's answer, and a refusal a log line.
                let answer = outcome.unwrap_or_else(|error| {
                    if let Some(refusal) = error.refusal() {
                        call.refused(refusal);
                    }
                    error.into_answer(name)
                });
                let bytes = serde_json::to_vec(&answer).expect("answers serialise");
                wire::write_response(&mut caller, &bytes).await
            })
        },
    )?;
    Ok(())
}

/// Defines every `reglet_host` import in `linker`.
pub(crate) fn add_to_linker<T: HostView>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    linker.func_wrap(MODULE, "log_message", log::log_message::<T>)?;
    register(linker, "dns_lookup", dns::dns_lookup)?;
    register(linker, "http_request", http::http_request)?;
    register(linker, "tcp_connect", tcp::tcp_connect)?;
    register(linker, "smtp_connect", smtp::smtp_connect)?;
    register(linker, "exec_command", exec::exec_command)?;
    register(linker, "file_stat", file_stat::file_stat)?;
    Ok(())
}

#[cfg(test)]
mod tests;
