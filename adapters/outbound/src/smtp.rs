//! `SmtpProber` over tokio: greeting, implicit TLS or STARTTLS, QUIT, every read under the
//! deadline. The greeting is read exactly once, and bytes a server sends before the TLS
//! handshake it promised are refused (they would be a plaintext injection).

use std::time::Instant;

use async_trait::async_trait;
use reglet_ports::{NetError, NetErrorKind, SmtpProbeReport, SmtpProbeRequest, SmtpProber};
use tokio::io::{
    AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader,
};
use tokio::net::TcpStream;

use super::tcp::{handshake, io_error};
use super::tls::TlsSettings;

/// Longest reply line accepted.
const MAX_LINE: usize = 4096;
/// Most lines in one multi-line reply.
const MAX_LINES: usize = 64;

/// Probes SMTP servers with tokio and rustls.
pub struct TokioSmtpProber {
    tls: TlsSettings,
}

impl TokioSmtpProber {
    /// A prober trusting `tls`'s roots.
    pub fn new(tls: TlsSettings) -> Self {
        TokioSmtpProber { tls }
    }
}

/// Reads one (possibly multi-line) reply; returns its code and its first line.
async fn reply<R: AsyncBufRead + Unpin>(reader: &mut R) -> Result<(u16, String), NetError> {
    let mut first = None;
    for _ in 0..MAX_LINES {
        let mut line = Vec::new();
        let n = AsyncReadExt::take(&mut *reader, MAX_LINE as u64)
            .read_until(b'\n', &mut line)
            .await
            .map_err(|e| io_error("reading the SMTP reply", &e))?;
        if n == 0 {
            return Err(NetError::new(
                NetErrorKind::Protocol,
                "the SMTP server closed the connection",
            ));
        }
        let text = String::from_utf8_lossy(&line).trim_end().to_owned();
        let code = text
            .get(..3)
            .and_then(|c| c.parse::<u16>().ok())
            .ok_or_else(|| {
                NetError::new(
                    NetErrorKind::Protocol,
                    format!("not an SMTP reply: {text:?}"),
                )
            })?;
        let last = text.as_bytes().get(3) != Some(&b'-');
        let first = first.get_or_insert_with(|| (code, text.clone()));
        if last {
            return Ok(first.clone());
        }
    }
    Err(NetError::new(
        NetErrorKind::Protocol,
        "SMTP reply has too many lines",
    ))
}

async fn command<S: AsyncBufRead + AsyncWrite + Unpin>(
    stream: &mut S,
    line: &str,
) -> Result<(u16, String), NetError> {
    stream
        .write_all(format!("{line}\r\n").as_bytes())
        .await
        .map_err(|e| io_error(&format!("sending {line}"), &e))?;
    stream.flush().await.map_err(|e| io_error("sending", &e))?;
    reply(stream).await
}

fn expect(code: u16, want: u16, step: &str, line: &str) -> Result<(), NetError> {
    if code == want {
        Ok(())
    } else {
        Err(NetError::new(
            NetErrorKind::Protocol,
            format!("{step}: expected {want}, got {line:?}"),
        ))
    }
}

#[async_trait]
impl SmtpProber for TokioSmtpProber {
    async fn probe(&self, request: SmtpProbeRequest) -> Result<SmtpProbeReport, NetError> {
        let started = Instant::now();
        let work = async {
            let tcp = TcpStream::connect(request.addr)
                .await
                .map_err(|e| io_error(&format!("connect to {}", request.addr), &e))?;
            if request.implicit_tls {
                let (tls_stream, info) = handshake(&self.tls, &request.host, tcp).await?;
                let mut stream = BufReader::new(tls_stream);
                let (code, banner) = reply(&mut stream).await?;
                expect(code, 220, "greeting", &banner)?;
                let _ = command(&mut stream, "QUIT").await;
                return Ok(SmtpProbeReport {
                    banner,
                    elapsed: started.elapsed(),
                    tls: Some(info),
                });
            }
            let mut stream = BufReader::new(tcp);
            let (code, banner) = reply(&mut stream).await?;
            expect(code, 220, "greeting", &banner)?;
            if !request.starttls {
                let _ = command(&mut stream, "QUIT").await;
                return Ok(SmtpProbeReport {
                    banner,
                    elapsed: started.elapsed(),
                    tls: None,
                });
            }
            let (code, line) = command(&mut stream, "EHLO reglet.invalid").await?;
            expect(code, 250, "EHLO", &line)?;
            let (code, line) = command(&mut stream, "STARTTLS").await?;
            expect(code, 220, "STARTTLS", &line)?;
            if !stream.buffer().is_empty() {
                return Err(NetError::new(
                    NetErrorKind::Protocol,
                    "the server sent data before the TLS handshake it promised (possible STARTTLS injection)",
                ));
            }
            let (tls_stream, info) =
                handshake(&self.tls, &request.host, stream.into_inner()).await?;
            let mut stream = BufReader::new(tls_stream);
            let _ = command(&mut stream, "QUIT").await;
            Ok(SmtpProbeReport {
                banner,
                elapsed: started.elapsed(),
                tls: Some(info),
            })
        };
        tokio::time::timeout(request.timeout, work)
            .await
            .unwrap_or_else(|_| {
                Err(NetError::timeout(format!(
                    "SMTP probe of {} timed out after {:?}",
                    request.addr, request.timeout
                )))
            })
    }
}
