//! The error every network port reports.

use std::fmt;

/// What kind of network failure happened; decides the flags of the error a plugin sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NetErrorKind {
    /// The operation ran out of time.
    Timeout,
    /// The name does not exist (NXDOMAIN) or has no records of the requested type.
    NotFound,
    /// The peer refused or reset the connection.
    Refused,
    /// The TLS handshake failed.
    Tls,
    /// The peer spoke something other than the expected protocol.
    Protocol,
    /// The request itself was unusable (bad URL, bad header, ...).
    InvalidInput,
    /// Any other I/O failure.
    Io,
}

impl fmt::Display for NetErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NetErrorKind::Timeout => "timeout",
            NetErrorKind::NotFound => "not found",
            NetErrorKind::Refused => "connection refused",
            NetErrorKind::Tls => "TLS error",
            NetErrorKind::Protocol => "protocol error",
            NetErrorKind::InvalidInput => "invalid input",
            NetErrorKind::Io => "I/O error",
        })
    }
}

/// A network operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct NetError {
    kind: NetErrorKind,
    message: String,
}

impl NetError {
    /// An error of `kind` with a message that says what failed.
    pub fn new(kind: NetErrorKind, message: impl Into<String>) -> Self {
        NetError {
            kind,
            message: message.into(),
        }
    }

    /// Shorthand for a timeout.
    pub fn timeout(message: impl Into<String>) -> Self {
        NetError::new(NetErrorKind::Timeout, message)
    }

    /// The kind of failure.
    pub fn kind(&self) -> NetErrorKind {
        self.kind
    }

    /// What failed.
    pub fn message(&self) -> &str {
        &self.message
    }
}
