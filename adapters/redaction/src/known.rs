//! Known secret values: every resolved `{{ secret "..." }}` and anything else the application marks
//! sensitive, matched exactly together with the encoded forms in which they leak.
//!
//! The automaton holds a few canonical forms per secret. Escapes whose choice is the encoder's (which
//! characters a JSON encoder writes as `\uXXXX`, which bytes a URL encoder percent-encodes and in
//! which hex case) are decoded in the text instead (see [`super::escapes`]), so the number of
//! patterns does not grow with the number of ways to write a secret.

use std::ops::Range;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use zeroize::Zeroizing;

use super::RedactionConfigError;
use super::escapes::{Scheme, View};
use super::replacement::REDACTED;

/// Shortest encoded fragment (base64, hex) worth matching; shorter ones would hit ordinary text.
const MIN_FRAGMENT_LEN: usize = 8;

/// The set of known secrets and one automaton over all their forms.
pub(crate) struct KnownSecrets {
    values: Vec<Zeroizing<Vec<u8>>>,
    automaton: Option<AhoCorasick>,
    /// Longest pattern, in bytes.
    longest: usize,
    /// Longest secret, in bytes.
    longest_secret: usize,
}

impl KnownSecrets {
    pub(crate) fn new() -> Self {
        KnownSecrets {
            values: Vec::new(),
            automaton: None,
            longest: 0,
            longest_secret: 0,
        }
    }

    /// A new set with `secrets` added; refuses values shorter than `min_len` or that would be
    /// confused with the redaction marker.
    pub(crate) fn with(
        &self,
        secrets: &[&str],
        min_len: usize,
    ) -> Result<KnownSecrets, RedactionConfigError> {
        let mut values = self.values.clone();
        for secret in secrets {
            if secret.len() < min_len {
                return Err(RedactionConfigError::SecretTooShort {
                    len: secret.len(),
                    min: min_len,
                });
            }
            if REDACTED.contains(secret) {
                return Err(RedactionConfigError::SecretLooksLikeMarker);
            }
            if !values.iter().any(|v| v.as_slice() == secret.as_bytes()) {
                values.push(Zeroizing::new(secret.as_bytes().to_vec()));
            }
        }
        let mut patterns: Vec<Vec<u8>> = Vec::new();
        for value in &values {
            for form in encoded_forms(value) {
                if !patterns.contains(&form) {
                    patterns.push(form);
                }
            }
        }
        let longest = patterns.iter().map(Vec::len).max().unwrap_or(0);
        let automaton = if patterns.is_empty() {
            None
        } else {
            Some(
                // Case-insensitive: hosts, grants and some encoders change a secret's case
                // (a host name is lower-cased before it is checked and reported).
                AhoCorasickBuilder::new()
                    .match_kind(MatchKind::LeftmostLongest)
                    .ascii_case_insensitive(true)
                    .build(&patterns)
                    .map_err(|e| RedactionConfigError::Automaton(e.to_string()))?,
            )
        };
        patterns.iter_mut().for_each(zeroize::Zeroize::zeroize);
        let longest_secret = values.iter().map(|v| v.len()).max().unwrap_or(0);
        Ok(KnownSecrets {
            values,
            automaton,
            longest,
            longest_secret,
        })
    }

    /// Byte ranges covering every occurrence of every form of every secret, escaped in any way
    /// [`super::escapes`] decodes.
    ///
    /// Each search reports the longest form starting at the leftmost position and the next search
    /// starts one byte later, so occurrences that overlap a previous one are found too; a shorter
    /// form at the same position is a prefix of the reported one and is covered by it. Decoded
    /// views are searched only near their escapes, so text without escapes costs two `memchr`
    /// passes more than the plain search.
    pub(crate) fn find(&self, text: &[u8], out: &mut Vec<Range<usize>>) {
        let Some(ac) = &self.automaton else {
            return;
        };
        every_start(ac, text, |m| out.push(m.range()));
        for scheme in Scheme::ALL {
            let Some(view) = View::decode(text, scheme) else {
                continue;
            };
            for window in view.windows(self.longest) {
                let offset = window.start;
                every_start(ac, &view.bytes()[window], |m| {
                    out.push(view.original(offset + m.start()..offset + m.end()));
                });
            }
        }
    }

    /// The most bytes one occurrence of a secret can take in text, escapes included: a stream
    /// must hold back one byte less than this to see every occurrence whole.
    pub(crate) fn longest_occurrence(&self) -> usize {
        self.longest
            .max(self.longest_secret * Scheme::MAX_EXPANSION)
    }

    /// How many secrets are known.
    pub(crate) fn len(&self) -> usize {
        self.values.len()
    }
}

/// Runs a leftmost-longest search from every position after each match start, calling `found` for
/// the match at each start position that has one.
pub(crate) fn every_start(
    ac: &AhoCorasick,
    text: &[u8],
    mut found: impl FnMut(aho_corasick::Match),
) {
    let mut at = 0;
    while at < text.len() {
        match ac.find(aho_corasick::Input::new(text).span(at..text.len())) {
            Some(m) => {
                found(m);
                at = m.start() + 1;
            }
            None => break,
        }
    }
}

/// The forms in which a secret leaks: as is, with `+` for each space (form encoding), JSON-escaped
/// as serde writes it, percent-encoded, lower and upper hex, and standard and URL-safe base64 at
/// each of the three byte alignments it can have inside a longer encoded string (only the
/// characters that depend on the secret alone). Other JSON and percent escapes are decoded in the
/// text rather than listed here.
pub(crate) fn encoded_forms(secret: &[u8]) -> Vec<Vec<u8>> {
    let mut forms = vec![secret.to_vec()];
    if secret.contains(&b' ') {
        forms.push(
            secret
                .iter()
                .map(|&b| if b == b' ' { b'+' } else { b })
                .collect(),
        );
    }
    if let Ok(text) = std::str::from_utf8(secret) {
        let json = serde_json::to_string(text).expect("strings serialise");
        forms.push(json.as_bytes()[1..json.len() - 1].to_vec());
    }
    forms.push(percent_encode(secret));
    if secret.len() * 2 >= MIN_FRAGMENT_LEN {
        forms.push(hex::encode(secret).into_bytes());
        forms.push(hex::encode_upper(secret).into_bytes());
    }
    for engine in [STANDARD_NO_PAD, URL_SAFE_NO_PAD] {
        for align in 0..3 {
            if let Some(fragment) = base64_fragment(&engine, secret, align) {
                forms.push(fragment);
            }
        }
    }
    forms.sort();
    forms.dedup();
    forms
}

/// The base64 characters that encode only bytes of `secret` when it starts `align` bytes into a
/// 3-byte group.
fn base64_fragment(
    engine: &base64::engine::GeneralPurpose,
    secret: &[u8],
    align: usize,
) -> Option<Vec<u8>> {
    let mut input = vec![0u8; align];
    input.extend_from_slice(secret);
    let encoded = engine.encode(&input).into_bytes();
    let (secret_start, secret_end) = (8 * align, 8 * (align + secret.len()));
    let chars: Vec<u8> = encoded
        .iter()
        .enumerate()
        .filter(|(i, _)| 6 * i >= secret_start && 6 * i + 6 <= secret_end)
        .map(|(_, c)| *c)
        .collect();
    (chars.len() >= MIN_FRAGMENT_LEN).then_some(chars)
}

/// Percent-encodes every byte outside the URL "unreserved" set.
fn percent_encode(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    for b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(*b);
        } else {
            out.extend_from_slice(format!("%{b:02X}").as_bytes());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE};

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn base64_fragments_are_found_at_every_alignment() {
        let secret = b"s3cr3t-Value/with+chars?";
        let forms = encoded_forms(secret);
        for prefix_len in 0..6 {
            let mut stream = vec![b'x'; prefix_len];
            stream.extend_from_slice(secret);
            stream.extend_from_slice(b"trailing");
            for engine in [STANDARD, URL_SAFE] {
                let encoded = engine.encode(&stream).into_bytes();
                assert!(
                    forms
                        .iter()
                        .any(|f| f.len() >= MIN_FRAGMENT_LEN && contains(&encoded, f)),
                    "prefix {prefix_len}: no fragment of the secret in {}",
                    String::from_utf8_lossy(&encoded)
                );
            }
        }
    }

    #[test]
    fn json_and_percent_forms() {
        let forms = encoded_forms(b"p\"a ss/\\");
        assert!(forms.contains(&br#"p\"a ss/\\"#.to_vec()));
        assert!(forms.contains(&b"p%22a%20ss%2F%5C".to_vec()));
    }

    #[test]
    fn registration_rules() {
        let known = KnownSecrets::new();
        assert!(known.with(&["abc"], 4).is_err());
        assert!(known.with(&["REDACTED"], 4).is_err());
        let known = known.with(&["hunter22", "hunter22"], 4).unwrap();
        assert_eq!(known.len(), 1);
        let mut spans = Vec::new();
        known.find(b"pw=hunter22 and aHVudGVyMjI=", &mut spans);
        assert_eq!(spans.len(), 2, "{spans:?}");
    }
}
