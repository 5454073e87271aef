//! The `reglet_host` import module: the functions Reglet plugins call for everything outside
//! their sandbox. Every import a Reglet plugin may have is defined, so every plugin instantiates.

mod log;
pub(crate) mod wire;

use serde_json::json;
use wasmtime::{Caller, Linker};

use crate::runtime::state::HostState;

const MODULE: &str = "reglet_host";

/// The outside services host functions reach through (DNS, HTTP, TCP, SMTP, commands).
#[derive(Default)]
pub struct HostServices {}

/// Defines every `reglet_host` import in `linker`.
pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(MODULE, "log_message", log::log_message)?;
    for name in [
        "dns_lookup",
        "http_request",
        "tcp_connect",
        "smtp_connect",
        "exec_command",
    ] {
        linker.func_wrap_async(MODULE, name, move |mut caller: Caller<'_, HostState>, (_packed,): (u64,)| {
            Box::new(async move {
                let plugin = caller.data().plugin.name.clone();
                let body = json!({"error": {
                    "message": format!("permission denied: {name} is not available to plugin {plugin} in this host"),
                    "type": "capability",
                    "code": "",
                }});
                wire::write_response(&mut caller, body.to_string().as_bytes()).await
            })
        })?;
    }
    Ok(())
}
