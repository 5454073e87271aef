//! A fake SMTP server: a greeting, EHLO advertising STARTTLS, STARTTLS, QUIT — or one of the ways
//! a server misbehaves.

use std::net::SocketAddr;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

/// The greeting every mode that greets sends.
pub const BANNER: &str = "220 mail.reglet.test ESMTP loopback";

/// How the fake server behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpMode {
    /// Greets in plain text; offers STARTTLS.
    Plain,
    /// TLS from the first byte (port 465 style), then the greeting.
    ImplicitTls,
    /// Accepts and never says anything.
    Silent,
    /// Answers STARTTLS with its 220 and, in the same packet, a plaintext line that must not be
    /// taken as coming from inside the TLS session.
    StartTlsInjection,
}

/// A running fake SMTP server.
pub struct SmtpServer {
    /// Where it listens.
    pub addr: SocketAddr,
}

async fn send<S: AsyncWrite + Unpin>(stream: &mut S, bytes: &[u8]) -> Option<()> {
    stream.write_all(bytes).await.ok()?;
    stream.flush().await.ok()
}

async fn session<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    greet: bool,
) -> Option<BufReader<S>> {
    let mut stream = BufReader::new(stream);
    if greet {
        send(&mut stream, format!("{BANNER}\r\n").as_bytes()).await?;
    }
    Some(stream)
}

async fn converse<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut BufReader<S>,
    mode: SmtpMode,
    in_tls: bool,
) -> Option<bool> {
    loop {
        let mut line = String::new();
        if stream.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        let verb = line.trim_end().to_ascii_uppercase();
        let reply: &str = match verb.split(' ').next().unwrap_or_default() {
            "EHLO" if in_tls => "250-mail.reglet.test\r\n250 SIZE 1000000\r\n",
            "EHLO" => "250-mail.reglet.test\r\n250-SIZE 1000000\r\n250 STARTTLS\r\n",
            "STARTTLS" if !in_tls => {
                let reply: &[u8] = match mode {
                    SmtpMode::StartTlsInjection => b"220 go ahead\r\n250 injected\r\n",
                    _ => b"220 go ahead\r\n",
                };
                send(stream, reply).await?;
                return Some(true);
            }
            "QUIT" => {
                send(stream, b"221 bye\r\n").await?;
                return Some(false);
            }
            _ => "502 not implemented\r\n",
        };
        send(stream, reply.as_bytes()).await?;
    }
}

async fn handle(stream: TcpStream, mode: SmtpMode, acceptor: TlsAcceptor) -> Option<()> {
    match mode {
        SmtpMode::Silent => {
            let mut stream = BufReader::new(stream);
            let mut line = String::new();
            while stream.read_line(&mut line).await.ok()? > 0 {}
            None
        }
        SmtpMode::ImplicitTls => {
            let tls = acceptor.accept(stream).await.ok()?;
            let mut stream = session(tls, true).await?;
            converse(&mut stream, mode, true).await;
            Some(())
        }
        SmtpMode::Plain | SmtpMode::StartTlsInjection => {
            let mut stream = session(stream, true).await?;
            if converse(&mut stream, mode, false).await? {
                let tls = acceptor.accept(stream.into_inner()).await.ok()?;
                let mut stream = session(tls, false).await?;
                converse(&mut stream, mode, true).await;
            }
            Some(())
        }
    }
}

impl SmtpServer {
    /// Starts a server in `mode`, using `acceptor` for its TLS.
    pub async fn start(mode: SmtpMode, acceptor: TlsAcceptor) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(handle(stream, mode, acceptor.clone()));
            }
        });
        SmtpServer { addr }
    }
}
