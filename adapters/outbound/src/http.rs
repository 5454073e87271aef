//! `HttpClient` over reqwest and rustls: one exchange with the vetted address, no redirects, the
//! body read up to its cap.

use std::time::Duration;

use async_trait::async_trait;
use reglet_ports::{HttpClient, HttpRequest, HttpResponse, NetError, NetErrorKind};

use super::tls::TlsSettings;

/// Sends requests with reqwest.
pub struct ReqwestClient {
    tls: TlsSettings,
}

impl ReqwestClient {
    /// A client trusting `tls`'s roots.
    pub fn new(tls: TlsSettings) -> Self {
        ReqwestClient { tls }
    }
}

fn net_error(e: &reqwest::Error) -> NetError {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        message.push_str(&format!(": {inner}"));
        source = inner.source();
    }
    let kind = if e.is_timeout() {
        NetErrorKind::Timeout
    } else if e.is_connect() {
        NetErrorKind::Refused
    } else if e.is_builder() || e.is_request() && message.contains("invalid") {
        NetErrorKind::InvalidInput
    } else if message.contains("certificate") || message.contains("tls") || message.contains("TLS")
    {
        NetErrorKind::Tls
    } else {
        NetErrorKind::Io
    };
    NetError::new(kind, message)
}

#[async_trait]
impl HttpClient for ReqwestClient {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, NetError> {
        let url = url::Url::parse(&request.url).map_err(|e| {
            NetError::new(
                NetErrorKind::InvalidInput,
                format!("invalid URL {}: {e}", request.url),
            )
        })?;
        let mut builder = reqwest::Client::builder()
            .use_preconfigured_tls(self.tls.strict(&[b"h2", b"http/1.1"]))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(request.timeout.max(Duration::from_millis(1)));
        if let Some(url::Host::Domain(domain)) = url.host() {
            // Pin the name to the address the caller vetted: reqwest must not resolve again.
            builder = builder.resolve(domain, request.connect_to);
        }
        let client = builder.build().map_err(|e| {
            NetError::new(
                NetErrorKind::InvalidInput,
                format!("cannot build the HTTP client: {e}"),
            )
        })?;
        let method = reqwest::Method::from_bytes(request.method.as_bytes()).map_err(|e| {
            NetError::new(
                NetErrorKind::InvalidInput,
                format!("invalid method {}: {e}", request.method),
            )
        })?;
        let mut outgoing = client.request(method, url);
        for (name, value) in &request.headers {
            outgoing = outgoing.header(name, value);
        }
        if !request.body.is_empty() {
            outgoing = outgoing.body(request.body.clone());
        }
        let mut response = outgoing.send().await.map_err(|e| net_error(&e))?;
        let status = response.status().as_u16();
        let protocol = format!("{:?}", response.version());
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let mut body = Vec::new();
        let mut body_truncated = false;
        while let Some(chunk) = response.chunk().await.map_err(|e| net_error(&e))? {
            let room = request.max_body_bytes.saturating_sub(body.len());
            if chunk.len() > room {
                body.extend_from_slice(&chunk[..room]);
                body_truncated = true;
                break;
            }
            body.extend_from_slice(&chunk);
        }
        Ok(HttpResponse {
            status,
            headers,
            body,
            body_truncated,
            protocol,
        })
    }
}
