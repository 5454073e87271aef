//! The ports of reglet-rs: traits only, plus the plain types they speak.
//!
//! Like ripgrep's `grep-matcher`, this crate holds the contracts and nothing that fulfils them.
//! Inbound, [`PluginExecutor`] and [`SchemaProvider`] are what the application asks of a plugin
//! runtime, and [`Clock`] is where it reads the time. Outbound, [`DnsResolver`], [`HttpClient`], [`TcpDialer`], [`SmtpProber`] and
//! [`CommandRunner`] are what the host functions ask of the world, and [`Redactor`] is what every
//! output channel passes through. The key design decision: **policy stays out of the outbound
//! ports**. Grant checks and SSRF vetting happen before a port is called (the HTTP client is handed
//! an address that was already vetted and never follows redirects itself), so each adapter is a
//! thin, testable piece of I/O and a mock can stand in for it.
//!
//! With the `mock` feature every trait has a `mockall` mock (`MockPluginExecutor`, ...).

#![deny(missing_docs)]

pub mod clock;
pub mod command;
pub mod dns;
pub mod executor;
pub mod http;
pub mod net_error;
pub mod redactor;
pub mod smtp;
pub mod tcp;

pub use clock::{Clock, SystemClock};
pub use command::{CommandOutput, CommandRequest, CommandRunner, ExecError};
pub use dns::{DnsAnswer, DnsQuery, DnsRecordType, DnsResolver, MxRecord};
pub use executor::{PluginExecutor, SchemaProvider};
pub use http::{HttpClient, HttpRequest, HttpResponse};
pub use net_error::{NetError, NetErrorKind};
pub use redactor::{REDACTED, RedactingStream, RedactionError, Redactor};
pub use smtp::{SmtpProbeReport, SmtpProbeRequest, SmtpProber};
pub use tcp::{TcpConnectReport, TcpConnectRequest, TcpDialer, TlsInfo};

#[cfg(any(test, feature = "mock"))]
pub use clock::MockClock;
#[cfg(any(test, feature = "mock"))]
pub use command::MockCommandRunner;
#[cfg(any(test, feature = "mock"))]
pub use dns::MockDnsResolver;
#[cfg(any(test, feature = "mock"))]
pub use executor::{MockPluginExecutor, MockSchemaProvider};
#[cfg(any(test, feature = "mock"))]
pub use http::MockHttpClient;
#[cfg(any(test, feature = "mock"))]
pub use redactor::{MockRedactingStream, MockRedactor};
#[cfg(any(test, feature = "mock"))]
pub use smtp::MockSmtpProber;
#[cfg(any(test, feature = "mock"))]
pub use tcp::MockTcpDialer;
