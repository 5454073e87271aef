//! The `reglet_host` import module: the functions Reglet plugins call for everything outside
//! their sandbox. Every import a Reglet plugin may have is defined, so every plugin instantiates.
//!
//! Each function reads its request from guest memory once (at most 1 MiB), checks it against the
//! plugin's grants before any I/O, does the work through an outbound port with a deadline no
//! later than the observation's, and writes a JSON answer back through the guest's `allocate`.
//! Malformed requests, denials and failures are all answers (`{"error": {...}}`), never traps.

mod dns;
mod exec;
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
use std::time::{Duration, Instant};

use reglet_domain::{ErrorDetail, ErrorType};
use reglet_ports::{
    CommandRunner, DnsResolver, HttpClient, NetError, NetErrorKind, SmtpProber, TcpDialer,
};
use serde_json::Value;
use wasmtime::{Caller, Linker};

use crate::context::PluginContext;
use crate::state::HostState;
use reglet_outbound as net;

const MODULE: &str = "reglet_host";

/// Bounds on what host functions do for a plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostLimits {
    /// Response body bytes kept by `http_request` (the rest is dropped, `body_truncated` set).
    pub http_max_body_bytes: usize,
    /// Bytes kept of each of stdout and stderr by `exec_command`.
    pub exec_max_output_bytes: usize,
    /// Deadline of an HTTP exchange when the guest gives none.
    pub http_timeout: Duration,
    /// Deadline of a command when the guest gives none.
    pub exec_timeout: Duration,
    /// Deadline of a DNS lookup when the guest gives none.
    pub dns_timeout: Duration,
    /// Deadline of a TCP or SMTP check when the guest gives no `timeout_ms`.
    pub connect_timeout: Duration,
    /// Redirects `http_request` follows, each re-checked, before giving up.
    pub max_redirects: usize,
}

impl Default for HostLimits {
    fn default() -> Self {
        HostLimits {
            http_max_body_bytes: 10 << 20,
            exec_max_output_bytes: 10 << 20,
            http_timeout: Duration::from_secs(30),
            exec_timeout: Duration::from_secs(30),
            dns_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(30),
            max_redirects: 10,
        }
    }
}

/// The outside services host functions reach through: DNS, HTTP, TCP/TLS, SMTP and commands,
/// each behind its port so tests can swap in a mock or a loopback server.
#[derive(Clone)]
pub struct HostServices {
    pub(crate) dns: Arc<dyn DnsResolver>,
    pub(crate) http: Arc<dyn HttpClient>,
    pub(crate) tcp: Arc<dyn TcpDialer>,
    pub(crate) smtp: Arc<dyn SmtpProber>,
    pub(crate) commands: Arc<dyn CommandRunner>,
    pub(crate) limits: HostLimits,
}

impl HostServices {
    /// The real services: the system's DNS configuration, the system's trusted certificates.
    pub fn system() -> Self {
        HostServices::builder().build()
    }

    /// Starts from the real services; replace any of them.
    pub fn builder() -> HostServicesBuilder {
        HostServicesBuilder::default()
    }
}

impl Default for HostServices {
    fn default() -> Self {
        HostServices::system()
    }
}

/// Builds [`HostServices`]; anything not set is the real adapter.
#[derive(Default)]
pub struct HostServicesBuilder {
    dns: Option<Arc<dyn DnsResolver>>,
    http: Option<Arc<dyn HttpClient>>,
    tcp: Option<Arc<dyn TcpDialer>>,
    smtp: Option<Arc<dyn SmtpProber>>,
    commands: Option<Arc<dyn CommandRunner>>,
    extra_roots: Vec<Vec<u8>>,
    limits: HostLimits,
}

impl HostServicesBuilder {
    /// The resolver for lookups and for every connection's address.
    pub fn dns(mut self, dns: Arc<dyn DnsResolver>) -> Self {
        self.dns = Some(dns);
        self
    }

    /// The HTTP client.
    pub fn http(mut self, http: Arc<dyn HttpClient>) -> Self {
        self.http = Some(http);
        self
    }

    /// The TCP/TLS dialer.
    pub fn tcp(mut self, tcp: Arc<dyn TcpDialer>) -> Self {
        self.tcp = Some(tcp);
        self
    }

    /// The SMTP prober.
    pub fn smtp(mut self, smtp: Arc<dyn SmtpProber>) -> Self {
        self.smtp = Some(smtp);
        self
    }

    /// The command runner.
    pub fn commands(mut self, commands: Arc<dyn CommandRunner>) -> Self {
        self.commands = Some(commands);
        self
    }

    /// Trusts this certificate authority (DER) in addition to the system's, in the real HTTP,
    /// TCP and SMTP adapters.
    pub fn trust_root(mut self, der: Vec<u8>) -> Self {
        self.extra_roots.push(der);
        self
    }

    /// The limits.
    pub fn limits(mut self, limits: HostLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The services.
    pub fn build(self) -> HostServices {
        let tls = net::tls::TlsSettings::new(&self.extra_roots);
        HostServices {
            dns: self
                .dns
                .unwrap_or_else(|| Arc::new(net::resolver::HickoryResolver::system())),
            http: self
                .http
                .unwrap_or_else(|| Arc::new(net::http::ReqwestClient::new(tls.clone()))),
            tcp: self
                .tcp
                .unwrap_or_else(|| Arc::new(net::tcp::TokioDialer::new(tls.clone()))),
            smtp: self
                .smtp
                .unwrap_or_else(|| Arc::new(net::smtp::TokioSmtpProber::new(tls))),
            commands: self
                .commands
                .unwrap_or_else(|| Arc::new(net::process::ProcessRunner)),
            limits: self.limits,
        }
    }
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

/// What a handler gets: who is calling and until when.
pub(crate) struct Call {
    pub(crate) plugin: Arc<PluginContext>,
    /// The observation's deadline; no host work may outlive it.
    pub(crate) deadline: Instant,
}

impl Call {
    pub(crate) fn services(&self) -> &HostServices {
        &self.plugin.services
    }

    /// Logs a refused call where anyone watching the host's log can see it, redacted: the reason
    /// can echo what the plugin asked for.
    pub(crate) fn refused(&self, function: &str, error: &ErrorDetail) {
        let message = self.redacted(&error.message);
        tracing::warn!(target: "reglet::host", plugin = %self.plugin.name, function, "refused: {message}");
    }

    /// Logs an allowed call, redacted: `what` echoes the request (a command's arguments, a URL).
    pub(crate) fn allowed(&self, function: &str, what: &str) {
        let what = self.redacted(what);
        tracing::info!(target: "reglet::host", plugin = %self.plugin.name, function, "allowed: {what}");
    }

    fn redacted<'t>(&self, text: &'t str) -> std::borrow::Cow<'t, str> {
        match self.plugin.redactor.redact_text(text) {
            Some(clean) => std::borrow::Cow::Owned(clean),
            None => std::borrow::Cow::Borrowed(text),
        }
    }
}

fn register<H, F>(
    linker: &mut Linker<HostState>,
    name: &'static str,
    handler: H,
) -> wasmtime::Result<()>
where
    H: Fn(Call, Vec<u8>) -> F + Send + Sync + Copy + 'static,
    F: Future<Output = Value> + Send + 'static,
{
    linker.func_wrap_async(
        MODULE,
        name,
        move |mut caller: Caller<'_, HostState>, (packed,): (u64,)| {
            Box::new(async move {
                let call = Call {
                    plugin: caller.data().plugin.clone(),
                    deadline: caller.data().deadline,
                };
                let answer = match wire::read_request(&mut caller, packed) {
                    Ok(bytes) => handler(call, bytes).await,
                    Err(reason) => requests::bad_request(
                        requests::base_for(name),
                        &requests::BadRequest(reason),
                    ),
                };
                let bytes = serde_json::to_vec(&answer).expect("answers serialise");
                wire::write_response(&mut caller, &bytes).await
            })
        },
    )?;
    Ok(())
}

/// Defines every `reglet_host` import in `linker`.
pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(MODULE, "log_message", log::log_message)?;
    register(linker, "dns_lookup", dns::dns_lookup)?;
    register(linker, "http_request", http::http_request)?;
    register(linker, "tcp_connect", tcp::tcp_connect)?;
    register(linker, "smtp_connect", smtp::smtp_connect)?;
    register(linker, "exec_command", exec::exec_command)?;
    Ok(())
}

#[cfg(test)]
mod tests;
