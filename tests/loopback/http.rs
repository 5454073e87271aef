//! A small HTTP/1.1 server with the routes the host-function tests need, over plain TCP or TLS.
//!
//! Routes: `/ok` (a text body and a repeated header), `/echo` (the request back as JSON),
//! `/big?n=BYTES`, `/redirect?to=URL` (302), `/slow` (answers after ten seconds), anything else
//! 404. Every request's path is counted, so a test can prove a forbidden hop was never made.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// The largest request head the server reads.
const MAX_HEAD: usize = 64 << 10;

/// A running test HTTP server.
pub struct HttpServer {
    /// Where it listens.
    pub addr: SocketAddr,
    hits: Arc<Mutex<HashMap<String, usize>>>,
}

struct Request {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl HttpServer {
    /// Starts a server on a free loopback port, speaking TLS when `tls` is given.
    pub async fn start(tls: Option<TlsAcceptor>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let hits = Arc::new(Mutex::new(HashMap::new()));
        let counter = hits.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let tls = tls.clone();
                let counter = counter.clone();
                tokio::spawn(async move {
                    match tls {
                        Some(acceptor) => {
                            if let Ok(stream) = acceptor.accept(stream).await {
                                serve(stream, counter).await;
                            }
                        }
                        None => serve(stream, counter).await,
                    }
                });
            }
        });
        HttpServer { addr, hits }
    }

    /// How many requests reached `path` (without the query).
    pub fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }
}

async fn read_request<S: AsyncRead + Unpin>(stream: &mut S) -> Option<Request> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        if buf.len() > MAX_HEAD {
            return None;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_owned();
    let target = request_line.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    Some(Request {
        method,
        target,
        headers,
        body,
    })
}

fn query_value<'a>(target: &'a str, key: &str) -> Option<&'a str> {
    let (_, query) = target.split_once('?')?;
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    hits: Arc<Mutex<HashMap<String, usize>>>,
) {
    let Some(request) = read_request(&mut stream).await else {
        return;
    };
    let path = request.target.split('?').next().unwrap_or("/").to_owned();
    *hits.lock().unwrap().entry(path.clone()).or_default() += 1;
    let mut extra: Vec<(String, String)> = Vec::new();
    let (status, content_type, body): (u16, &str, Vec<u8>) = match path.as_str() {
        "/ok" => {
            extra.push(("X-Multi".into(), "a".into()));
            extra.push(("X-Multi".into(), "b".into()));
            (200, "text/plain", b"hello from loopback".to_vec())
        }
        "/echo" => {
            let doc = serde_json::json!({
                "method": request.method,
                "target": request.target,
                "headers": request.headers.iter().map(|(n, v)| serde_json::json!([n, v])).collect::<Vec<_>>(),
                "body_b64": base64::engine::general_purpose::STANDARD.encode(&request.body),
            });
            (200, "application/json", doc.to_string().into_bytes())
        }
        "/big" => {
            let n: usize = query_value(&request.target, "n")
                .and_then(|n| n.parse().ok())
                .unwrap_or(1 << 20);
            (200, "application/octet-stream", vec![b'x'; n])
        }
        "/redirect" => {
            let to = query_value(&request.target, "to").unwrap_or("/ok");
            extra.push(("Location".into(), to.to_owned()));
            (302, "text/plain", Vec::new())
        }
        "/slow" => {
            tokio::time::sleep(Duration::from_secs(10)).await;
            (200, "text/plain", b"finally".to_vec())
        }
        _ => (404, "text/plain", b"not found".to_vec()),
    };
    let mut head = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in extra {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(&body).await;
    let _ = stream.shutdown().await;
}
