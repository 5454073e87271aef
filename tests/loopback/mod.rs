//! Servers the end-to-end tests start on 127.0.0.1 for the host functions to reach: an HTTP(S)
//! server, a fake SMTP server with STARTTLS, a stub DNS server, and TCP listeners that accept and
//! then say nothing. Each stops when the test's runtime does.

mod dns;
mod http;
mod pki;
mod smtp;

pub use dns::{DnsRecord, DnsServer};
pub use http::HttpServer;
pub use pki::{CA_NAME, TestPki};
pub use smtp::{BANNER as SMTP_BANNER, SmtpMode, SmtpServer};

use std::net::SocketAddr;

use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

/// A listener that accepts connections and holds them open without sending a byte, so a TLS
/// handshake or an SMTP greeting never comes.
pub async fn silent_listener() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut sink = [0u8; 1024];
                while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
            });
        }
    });
    addr
}

/// A loopback port nothing listens on.
pub async fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    listener.local_addr().expect("address")
}
