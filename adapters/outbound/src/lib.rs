//! The real outbound adapters: DNS through hickory, HTTP through reqwest, TCP/TLS and SMTP through
//! tokio and rustls, commands through the OS. Each implements one port; none makes a policy
//! decision (grants and the SSRF filter run before they are called).

#![deny(missing_docs)]

pub mod http;
pub mod process;
pub mod resolver;
pub mod smtp;
pub mod tcp;
pub mod tls;
