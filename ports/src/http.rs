//! One HTTP exchange with an already vetted address.

use std::net::SocketAddr;
use std::time::Duration;

use async_trait::async_trait;

use crate::NetError;

/// An HTTP request to send to exactly one vetted address.
///
/// The URL keeps the host name, so `Host` and TLS SNI are right, but the connection goes to
/// `connect_to`, which the caller has resolved and checked; the client must not resolve again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// Method (`GET`, `POST`, ...).
    pub method: String,
    /// Absolute `http` or `https` URL.
    pub url: String,
    /// The address to connect to.
    pub connect_to: SocketAddr,
    /// Header names and values, in order; a name may repeat.
    pub headers: Vec<(String, String)>,
    /// Request body.
    pub body: Vec<u8>,
    /// Time allowed for the whole exchange.
    pub timeout: Duration,
    /// Body bytes to keep; the rest is dropped and `body_truncated` set.
    pub max_body_bytes: usize,
}

/// The response to an [`HttpRequest`]. Redirects are returned as they are, never followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Header names and values, in order.
    pub headers: Vec<(String, String)>,
    /// Body, at most `max_body_bytes`.
    pub body: Vec<u8>,
    /// True when the body was cut at `max_body_bytes`.
    pub body_truncated: bool,
    /// Protocol spoken (`HTTP/1.1`, `HTTP/2.0`).
    pub protocol: String,
}

/// Performs single HTTP exchanges.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait HttpClient: Send + Sync {
    /// Sends one request and returns the response without following redirects.
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, NetError>;
}
