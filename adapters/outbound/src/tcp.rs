//! `TcpDialer` over tokio: connect, optionally handshake with TLS, report, close.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use reglet_ports::{NetError, NetErrorKind, TcpConnectReport, TcpConnectRequest, TcpDialer};
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::tls::{TlsSettings, tls_info};

/// Connects with tokio and rustls.
pub struct TokioDialer {
    tls: TlsSettings,
}

impl TokioDialer {
    /// A dialer trusting `tls`'s roots.
    pub fn new(tls: TlsSettings) -> Self {
        TokioDialer { tls }
    }
}

/// Maps an I/O error of `what` to a network error of the right kind.
pub(crate) fn io_error(what: &str, e: &std::io::Error) -> NetError {
    use std::io::ErrorKind as K;
    let kind = match e.kind() {
        K::ConnectionRefused | K::ConnectionReset | K::ConnectionAborted => NetErrorKind::Refused,
        K::TimedOut | K::WouldBlock => NetErrorKind::Timeout,
        K::InvalidData => NetErrorKind::Tls,
        _ => NetErrorKind::Io,
    };
    NetError::new(kind, format!("{what}: {e}"))
}

/// The name sent in SNI: the host as given, or its address when it is an IP literal.
pub(crate) fn server_name(host: &str) -> Result<ServerName<'static>, NetError> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(bare.to_owned()).map_err(|e| {
        NetError::new(
            NetErrorKind::InvalidInput,
            format!("{host} cannot be a TLS server name: {e}"),
        )
    })
}

/// Performs a reporting TLS handshake on `stream`; returns the stream and what was negotiated.
pub(crate) async fn handshake(
    tls: &TlsSettings,
    host: &str,
    stream: TcpStream,
) -> Result<
    (
        tokio_rustls::client::TlsStream<TcpStream>,
        reglet_ports::TlsInfo,
    ),
    NetError,
> {
    let (config, outcome) = tls.reporting();
    let connector = TlsConnector::from(Arc::new(config));
    let stream = connector
        .connect(server_name(host)?, stream)
        .await
        .map_err(|e| {
            NetError::new(
                NetErrorKind::Tls,
                format!("TLS handshake with {host} failed: {e}"),
            )
        })?;
    let info = tls_info(stream.get_ref().1, host, outcome.error());
    Ok((stream, info))
}

#[async_trait]
impl TcpDialer for TokioDialer {
    async fn connect(&self, request: TcpConnectRequest) -> Result<TcpConnectReport, NetError> {
        let started = Instant::now();
        let work = async {
            let stream = TcpStream::connect(request.addr)
                .await
                .map_err(|e| io_error(&format!("connect to {}", request.addr), &e))?;
            let remote_addr = stream
                .peer_addr()
                .map_err(|e| io_error("peer address", &e))?;
            let local_addr = stream
                .local_addr()
                .map_err(|e| io_error("local address", &e))?;
            let tls = match request.tls {
                true => Some(handshake(&self.tls, &request.host, stream).await?.1),
                false => None,
            };
            Ok(TcpConnectReport {
                remote_addr,
                local_addr,
                elapsed: started.elapsed(),
                tls,
            })
        };
        tokio::time::timeout(request.timeout, work)
            .await
            .unwrap_or_else(|_| {
                Err(NetError::timeout(format!(
                    "connecting to {} timed out after {:?}",
                    request.addr, request.timeout
                )))
            })
    }
}
