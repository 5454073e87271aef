//! TCP connections, optionally with TLS, reported as evidence.

use std::net::SocketAddr;
use std::time::Duration;

use async_trait::async_trait;
use reglet_domain::Timestamp;

use crate::NetError;

/// What a TLS handshake negotiated and what the peer's certificate says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TlsInfo {
    /// `TLS 1.2`, `TLS 1.3`, ...
    pub version: String,
    /// IANA cipher suite name.
    pub cipher_suite: String,
    /// The server name sent (SNI).
    pub server_name: String,
    /// Leaf certificate subject.
    pub cert_subject: Option<String>,
    /// Leaf certificate issuer.
    pub cert_issuer: Option<String>,
    /// Leaf certificate expiry.
    pub cert_not_after: Option<Timestamp>,
    /// Why verification failed, when it did (expired, self-signed, wrong name, ...). The handshake
    /// still completed so the certificate could be reported.
    pub verification_error: Option<String>,
}

/// A TCP (or TLS) connection test to one vetted address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpConnectRequest {
    /// The host name as given (used for SNI and reports).
    pub host: String,
    /// The vetted address to connect to.
    pub addr: SocketAddr,
    /// Perform a TLS handshake after connecting.
    pub tls: bool,
    /// Time allowed for connect and handshake together.
    pub timeout: Duration,
}

/// The outcome of a successful [`TcpConnectRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpConnectReport {
    /// The peer's address.
    pub remote_addr: SocketAddr,
    /// Our end of the connection.
    pub local_addr: SocketAddr,
    /// Time to connect (and handshake).
    pub elapsed: Duration,
    /// TLS details when `tls` was requested.
    pub tls: Option<TlsInfo>,
}

/// Opens test connections.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait TcpDialer: Send + Sync {
    /// Connects (and handshakes), then closes the connection.
    async fn connect(&self, request: TcpConnectRequest) -> Result<TcpConnectReport, NetError>;
}
