//! SMTP server probes: greeting, implicit TLS and STARTTLS.

use std::net::SocketAddr;
use std::time::Duration;

use async_trait::async_trait;

use crate::{NetError, TlsInfo};

/// An SMTP probe of one vetted address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpProbeRequest {
    /// Host name as given (SNI, EHLO and reports).
    pub host: String,
    /// The vetted address.
    pub addr: SocketAddr,
    /// Start TLS before the greeting (SMTPS, port 465).
    pub implicit_tls: bool,
    /// Upgrade with STARTTLS after the greeting.
    pub starttls: bool,
    /// Time allowed for the whole probe; every read has a deadline within it.
    pub timeout: Duration,
}

/// What an SMTP probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpProbeReport {
    /// The 220 greeting line.
    pub banner: String,
    /// Time for the whole probe.
    pub elapsed: Duration,
    /// TLS details when TLS was used.
    pub tls: Option<TlsInfo>,
}

/// Probes SMTP servers.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait SmtpProber: Send + Sync {
    /// Connects, reads the greeting, optionally upgrades to TLS, and quits.
    async fn probe(&self, request: SmtpProbeRequest) -> Result<SmtpProbeReport, NetError>;
}
