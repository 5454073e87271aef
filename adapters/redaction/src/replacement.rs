//! What a redacted value becomes: a fixed marker, or a keyed hash that lets equal secrets be
//! correlated without revealing them.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::RedactionConfigError;

pub use reglet_ports::REDACTED;

/// Shortest HMAC key accepted, in bytes (the length of the SHA-256 output, as OpenTelemetry
/// requires for `hmac-sha256`).
pub const MIN_HMAC_KEY_LEN: usize = 32;

/// How redacted values are replaced.
#[derive(Clone)]
pub enum Replacement {
    /// Every value becomes `[REDACTED]`.
    Fixed,
    /// Every value becomes `[hmac:<key-id>:<first 16 hex of HMAC-SHA256(key, value)>]`.
    Hmac(HmacKey),
}

impl std::fmt::Debug for Replacement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Replacement::Fixed => f.write_str("Fixed"),
            Replacement::Hmac(key) => write!(f, "Hmac(key id {})", key.id),
        }
    }
}

/// A secret HMAC key and its public identifier.
#[derive(Clone)]
pub struct HmacKey {
    key: Zeroizing<Vec<u8>>,
    id: String,
}

impl HmacKey {
    /// Wraps a key of at least [`MIN_HMAC_KEY_LEN`] bytes. Its id is the first 8 hex digits of the
    /// key's SHA-256, so tokens show which key made them and keys can be rotated.
    ///
    /// # Errors
    ///
    /// A key shorter than [`MIN_HMAC_KEY_LEN`] bytes.
    pub fn new(key: Vec<u8>) -> Result<Self, RedactionConfigError> {
        let key = Zeroizing::new(key);
        if key.len() < MIN_HMAC_KEY_LEN {
            return Err(RedactionConfigError::HmacKeyTooShort {
                len: key.len(),
                min: MIN_HMAC_KEY_LEN,
            });
        }
        let id = hex::encode(&Sha256::digest(key.as_slice())[..4]);
        Ok(HmacKey { key, id })
    }

    /// Reads a key file; trailing newlines are part of no key and are removed.
    ///
    /// # Errors
    ///
    /// The file cannot be read, or holds a key that is too short.
    pub fn from_file(path: &std::path::Path) -> Result<Self, RedactionConfigError> {
        let mut bytes = std::fs::read(path).map_err(|e| RedactionConfigError::HmacKeyFile {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        while bytes.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            bytes.pop();
        }
        HmacKey::new(bytes)
    }

    /// The key's public identifier.
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl Replacement {
    /// The token that replaces `secret`.
    pub fn token_for(&self, secret: &[u8]) -> Vec<u8> {
        match self {
            Replacement::Fixed => REDACTED.as_bytes().to_vec(),
            Replacement::Hmac(key) => {
                let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key.key)
                    .expect("HMAC accepts keys of any length");
                mac.update(secret);
                let digest = mac.finalize().into_bytes();
                format!("[hmac:{}:{}]", key.id, hex::encode(&digest[..8])).into_bytes()
            }
        }
    }
}

/// Finds the replacement tokens already present in `text` (`[REDACTED]` and `[hmac:id:hash]`), so
/// redacting twice changes nothing the first pass produced.
pub(crate) fn token_ranges(text: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(offset) = memchr::memchr(b'[', &text[at..]) {
        let start = at + offset;
        let rest = &text[start..];
        let len = if rest.starts_with(REDACTED.as_bytes()) {
            REDACTED.len()
        } else {
            hmac_token_len(rest)
        };
        if len > 0 {
            out.push(start..start + len);
            at = start + len;
        } else {
            at = start + 1;
        }
    }
    out
}

/// Length of an `[hmac:<8 hex>:<16 hex>]` token at the start of `text`, or 0.
fn hmac_token_len(text: &[u8]) -> usize {
    const LEN: usize = "[hmac:".len() + 8 + 1 + 16 + 1;
    if text.len() < LEN || !text.starts_with(b"[hmac:") {
        return 0;
    }
    let hex = |r: std::ops::Range<usize>| text[r].iter().all(|b| b.is_ascii_hexdigit());
    if hex(6..14) && text[14] == b':' && hex(15..31) && text[31] == b']' {
        LEN
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_tokens_are_stable_per_key_and_differ_across_keys() {
        let a = Replacement::Hmac(HmacKey::new(vec![1; 32]).unwrap());
        let b = Replacement::Hmac(HmacKey::new(vec![2; 32]).unwrap());
        let token = a.token_for(b"hunter2");
        assert_eq!(token, a.token_for(b"hunter2"));
        assert_ne!(token, b.token_for(b"hunter2"));
        assert_ne!(token, a.token_for(b"hunter3"));
        let text = String::from_utf8(token.clone()).unwrap();
        assert!(text.starts_with("[hmac:") && text.ends_with(']'), "{text}");
        assert_eq!(token_ranges(&token), vec![0..token.len()]);
    }

    #[test]
    fn short_or_empty_keys_are_refused() {
        for len in [0, 1, 31] {
            let err = HmacKey::new(vec![7; len]).err().unwrap();
            assert!(err.to_string().contains("32"), "{err}");
        }
    }

    #[test]
    fn finds_existing_tokens() {
        let text = b"a [REDACTED] b [hmac:0123abcd:0123456789abcdef] c [REDACT] [hmac:zz]";
        let found: Vec<&[u8]> = token_ranges(text).into_iter().map(|r| &text[r]).collect();
        assert_eq!(
            found,
            [&b"[REDACTED]"[..], &b"[hmac:0123abcd:0123456789abcdef]"[..]]
        );
    }
}
