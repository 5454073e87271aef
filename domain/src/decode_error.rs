//! The error of decoding a plugin document.

/// A plugin document could not be decoded; says where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: {reason}")]
pub struct DecodeError {
    what: String,
    reason: String,
}

impl DecodeError {
    /// An error about the document `what` (e.g. "evidence"), with a reason that names the key.
    pub fn new(what: impl Into<String>, reason: impl Into<String>) -> Self {
        DecodeError {
            what: what.into(),
            reason: reason.into(),
        }
    }

    /// Which document failed ("evidence", "plugin info", ...).
    pub fn what(&self) -> &str {
        &self.what
    }

    /// Why it failed, including the key path when known.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}
