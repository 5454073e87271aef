//! Redaction: what every output channel passes through before a person or a file sees it.

use serde_json::Value;

/// Redaction could not be completed; the caller must drop the value rather than emit it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("redaction failed: {0}")]
pub struct RedactionError(pub String);

/// Hides sensitive data.
///
/// The methods return `None` (or `Ok(0)`) when nothing had to change, so clean text costs no copy.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait Redactor: Send + Sync {
    /// Redacts free text; `None` when it holds nothing sensitive.
    fn redact_text(&self, text: &str) -> Option<String>;

    /// Redacts raw bytes (a plugin's stdout, say); `None` when they hold nothing sensitive.
    fn redact_bytes(&self, bytes: &[u8]) -> Option<Vec<u8>>;

    /// Redacts structured data in place: values under sensitive keys, then every string. Returns
    /// how many replacements were made. The shape of the value is kept.
    fn redact_json(&self, value: &mut Value) -> Result<usize, RedactionError>;

    /// A redactor for one stream of chunks (a plugin's stdout, say).
    fn stream(&self) -> Box<dyn RedactingStream>;
}

/// Redacts a stream that arrives in chunks, holding back just enough to catch a secret split
/// across two chunks.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait RedactingStream: Send {
    /// Takes the next chunk and returns the bytes that are now safe to emit, already redacted.
    fn push(&mut self, chunk: &[u8]) -> Vec<u8>;

    /// Ends the stream and returns whatever was held back, redacted.
    fn finish(&mut self) -> Vec<u8>;
}

/// Redacts `text`, returning it unchanged when nothing is sensitive.
pub fn redact_string(redactor: &dyn Redactor, text: String) -> String {
    redactor.redact_text(&text).unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_string_uses_the_port() {
        let mut mock = MockRedactor::new();
        mock.expect_redact_text().returning(|t| {
            t.contains("hunter2")
                .then(|| t.replace("hunter2", "[REDACTED]"))
        });
        assert_eq!(redact_string(&mock, "pw=hunter2".into()), "pw=[REDACTED]");
        assert_eq!(redact_string(&mock, "clean".into()), "clean");
    }
}
