//! The outside services a plugin's host calls reach through, and the bounds on them. They sit
//! below the host functions and the per-plugin context, so both can name them without a loop.

use std::sync::Arc;
use std::time::Duration;

use reglet_outbound as net;
use reglet_ports::{CommandRunner, DnsResolver, HttpClient, SmtpProber, TcpDialer};

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
