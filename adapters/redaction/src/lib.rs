//! Sensitive-data redaction: the adapter behind the `Redactor` port.
//!
//! Three layers find what to hide, and one pass replaces it:
//!
//! 1. **Known secret values** (every resolved `{{ secret "..." }}`), matched exactly with one
//!    Aho-Corasick automaton together with their JSON-escaped, percent-encoded, form-encoded, hex
//!    and base64 forms (at every byte alignment, so a secret inside a longer base64 string is
//!    found too). JSON `\uXXXX` escapes of any character and percent-encoding in either hex case
//!    are decoded in the text and searched there (see `escapes`). In structured data, numbers,
//!    booleans and nulls are matched by their text too.
//! 2. **Key names** in structured data (`password`, `token`, `Authorization`, ... and the user's
//!    dot paths): the whole value goes.
//! 3. **Pattern rules** for well-known token formats, run only where one of their keywords occurs.
//!
//! Spans from all layers are merged and each becomes `[REDACTED]` or, in HMAC mode,
//! `[hmac:<key-id>:<16 hex>]`. Tokens already present are left alone and redaction is repeated
//! until nothing changes, so redacting twice is the same as redacting once.

#![deny(missing_docs)]

mod entropy;
mod escapes;
mod keys;
mod known;
mod log_writer;
mod replacement;
mod rules;
mod stream;

use std::ops::Range;
use std::sync::Arc;

use parking_lot::RwLock;

use reglet_ports::{RedactingStream, RedactionError, Redactor};
use serde_json::Value;

pub use keys::DEFAULT_SENSITIVE_KEYS;
pub use log_writer::{RedactingStderr, RedactingWriter};
pub use replacement::{HmacKey, MIN_HMAC_KEY_LEN, REDACTED, Replacement};
pub use rules::CustomRule;

use keys::KeyRules;
use known::KnownSecrets;
use rules::RuleSet;

/// Deepest JSON nesting walked; deeper documents are refused rather than passed through.
const MAX_DEPTH: usize = 256;

/// Shortest string checked for base64-encoded text: 12 bytes of text.
const MIN_BASE64_TEXT: usize = 16;
/// Redaction passes before giving up on reaching a fixed point (each pass only shrinks secrets).
const MAX_PASSES: usize = 4;

/// The redaction could not be set up as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedactionConfigError {
    /// A secret shorter than the minimum would redact ordinary text everywhere.
    #[error(
        "secret of {len} bytes refused: secrets must be at least {min} bytes long, or every occurrence of such a short string would be redacted"
    )]
    SecretTooShort {
        /// Its length.
        len: usize,
        /// The minimum.
        min: usize,
    },
    /// A secret that is part of the `[REDACTED]` marker could never be told apart from it.
    #[error("secret refused: it is part of the redaction marker {REDACTED}")]
    SecretLooksLikeMarker,
    /// A rule's regex does not compile.
    #[error("redaction rule {id:?} is not a valid regex: {reason}")]
    InvalidRule {
        /// The rule.
        id: String,
        /// The compiler's message.
        reason: String,
    },
    /// The HMAC key is missing or too short.
    #[error(
        "HMAC key of {len} bytes refused: it must be at least {min} bytes (e.g. `head -c 32 /dev/urandom > key`)"
    )]
    HmacKeyTooShort {
        /// Its length.
        len: usize,
        /// The minimum.
        min: usize,
    },
    /// The HMAC key file could not be read.
    #[error("cannot read HMAC key file {path}: {reason}")]
    HmacKeyFile {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The matching automaton could not be built.
    #[error("cannot build the redaction automaton: {0}")]
    Automaton(String),
}

/// How to redact.
#[derive(Debug, Clone)]
pub struct RedactionConfig {
    /// Shortest secret accepted at registration (default 4 bytes).
    pub min_secret_len: usize,
    /// Use the built-in token-format rules (default on).
    pub builtin_rules: bool,
    /// The user's own rules.
    pub custom_rules: Vec<CustomRule>,
    /// Extra key names whose values are always hidden (added to [`DEFAULT_SENSITIVE_KEYS`]).
    pub sensitive_keys: Vec<String>,
    /// Dot paths whose values are always hidden (`auth.bearer` also hides `x.auth.bearer`).
    pub paths: Vec<String>,
    /// What a redacted value becomes.
    pub replacement: Replacement,
}

impl Default for RedactionConfig {
    fn default() -> Self {
        RedactionConfig {
            min_secret_len: 4,
            builtin_rules: true,
            custom_rules: Vec::new(),
            sensitive_keys: Vec::new(),
            paths: Vec::new(),
            replacement: Replacement::Fixed,
        }
    }
}

struct Inner {
    rules: Arc<RuleSet>,
    keys: KeyRules,
    replacement: Replacement,
    min_secret_len: usize,
    known: RwLock<Arc<KnownSecrets>>,
}

/// The redactor. Cheap to clone; clones share registered secrets.
#[derive(Clone)]
pub struct Redaction {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Redaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redaction")
            .field("rules", &self.inner.rules.ids())
            .field("known_secrets", &self.known().len())
            .field("replacement", &self.inner.replacement)
            .finish()
    }
}

impl Redaction {
    /// Builds a redactor; an invalid custom rule is an error that names it.
    ///
    /// # Errors
    ///
    /// A custom rule whose pattern does not compile, named in the error.
    pub fn new(config: RedactionConfig) -> Result<Self, RedactionConfigError> {
        Ok(Redaction {
            inner: Arc::new(Inner {
                rules: RuleSet::shared(config.builtin_rules, &config.custom_rules)?,
                keys: KeyRules::new(&config.sensitive_keys, &config.paths),
                replacement: config.replacement,
                min_secret_len: config.min_secret_len.max(1),
                known: RwLock::new(Arc::new(KnownSecrets::new())),
            }),
        })
    }

    /// Registers a secret value; it (and its encoded forms) is redacted from now on.
    ///
    /// # Errors
    ///
    /// A value shorter than the configured minimum, or part of the redaction marker.
    pub fn register_secret(&self, value: &str) -> Result<(), RedactionConfigError> {
        self.register_secrets(&[value])
    }

    /// Registers several secrets at once (one automaton rebuild).
    ///
    /// # Errors
    ///
    /// As [`Redaction::register_secret`]; nothing is registered when any value is refused.
    pub fn register_secrets(&self, values: &[&str]) -> Result<(), RedactionConfigError> {
        let mut known = self.inner.known.write();
        let next = known.with(values, self.inner.min_secret_len)?;
        *known = Arc::new(next);
        Ok(())
    }

    /// How many secrets are registered.
    pub fn secret_count(&self) -> usize {
        self.known().len()
    }

    fn known(&self) -> Arc<KnownSecrets> {
        self.inner.known.read().clone()
    }

    /// Every span to hide in `text`, unsorted; existing replacement tokens are never searched.
    /// Known secrets are looked for only when `known` is given.
    fn spans(&self, text: &[u8], known: Option<&KnownSecrets>) -> Vec<Range<usize>> {
        self.collect_spans(text, known, None)
    }

    /// [`Redaction::spans`] together with the whole extent of every rule match: the places a
    /// stream must not cut.
    fn uncuttable(&self, text: &[u8], known: &KnownSecrets) -> Vec<Range<usize>> {
        let mut extents = Vec::new();
        let mut spans = self.collect_spans(text, Some(known), Some(&mut extents));
        spans.append(&mut extents);
        spans
    }

    fn collect_spans(
        &self,
        text: &[u8],
        known: Option<&KnownSecrets>,
        mut extents: Option<&mut Vec<Range<usize>>>,
    ) -> Vec<Range<usize>> {
        let mut spans = Vec::new();
        let mut segment_start = 0;
        let tokens = replacement::token_ranges(text);
        for token in tokens
            .iter()
            .chain(std::iter::once(&(text.len()..text.len())))
        {
            let segment = &text[segment_start..token.start];
            if !segment.is_empty() {
                let before = spans.len();
                let extents_before = extents.as_ref().map_or(0, |e| e.len());
                if let Some(known) = known {
                    known.find(segment, &mut spans);
                }
                self.inner
                    .rules
                    .find(segment, &mut spans, extents.as_deref_mut());
                let shift = |span: &mut Range<usize>| {
                    *span = span.start + segment_start..span.end + segment_start;
                };
                spans[before..].iter_mut().for_each(shift);
                if let Some(extents) = extents.as_deref_mut() {
                    extents[extents_before..].iter_mut().for_each(shift);
                }
            }
            segment_start = token.end;
        }
        spans
    }

    /// Replaces `spans` (sorted, disjoint) in `text`; returns the result and where the new tokens
    /// are in it.
    fn replace(&self, text: &[u8], spans: &[Range<usize>]) -> (Vec<u8>, Vec<Range<usize>>) {
        let mut out = Vec::with_capacity(text.len());
        let mut tokens = Vec::with_capacity(spans.len());
        let mut last = 0;
        for span in spans {
            out.extend_from_slice(&text[last..span.start]);
            let start = out.len();
            out.extend_from_slice(&self.inner.replacement.token_for(&text[span.clone()]));
            tokens.push(start..out.len());
            last = span.end;
        }
        out.extend_from_slice(&text[last..]);
        (out, tokens)
    }

    /// Redacts until nothing changes. The first pass runs every layer over everything. A later
    /// pass can only find a rule match that the previous replacement made possible (a token whose
    /// word boundary was hidden by an adjacent secret, say), so it runs the pattern rules only, on
    /// the lines that received new tokens; exact matches cannot reappear.
    fn redact_fixpoint(&self, text: &[u8], known: &KnownSecrets) -> Option<Vec<u8>> {
        let spans = merge(self.spans(text, Some(known)));
        if spans.is_empty() {
            return None;
        }
        let (mut out, mut tokens) = self.replace(text, &spans);
        for _ in 1..MAX_PASSES {
            let mut spans = Vec::new();
            for line in lines_holding(&out, &tokens) {
                let found = self.spans(&out[line.clone()], None);
                spans.extend(
                    found
                        .into_iter()
                        .map(|s| s.start + line.start..s.end + line.start),
                );
            }
            if spans.is_empty() {
                break;
            }
            (out, tokens) = self.replace(&out, &merge(spans));
        }
        Some(out)
    }

    fn redact_str_with(&self, text: &str, known: &KnownSecrets) -> Option<String> {
        self.redact_fixpoint(text.as_bytes(), known).map(|bytes| {
            String::from_utf8(bytes)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
        })
    }

    fn mask(&self, value: &mut Value, count: &mut usize) {
        match value {
            Value::String(s) if !s.is_empty() => {
                *s = String::from_utf8_lossy(&self.inner.replacement.token_for(s.as_bytes()))
                    .into_owned();
                *count += 1;
            }
            Value::Number(n) => {
                let token = self.inner.replacement.token_for(n.to_string().as_bytes());
                *value = Value::String(String::from_utf8_lossy(&token).into_owned());
                *count += 1;
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.mask(v, count)),
            Value::Object(map) => map.values_mut().for_each(|v| self.mask(v, count)),
            _ => {}
        }
    }

    /// The redacted textual form of a number, boolean or null, when it holds something to hide:
    /// `987654321` is a secret whether a plugin writes it as a string or as a number.
    fn redact_scalar(&self, value: &Value, known: &KnownSecrets) -> Option<String> {
        use std::io::Write as _;
        let mut buf = [0u8; 40];
        let text: &[u8] = match value {
            Value::Bool(true) => b"true",
            Value::Bool(false) => b"false",
            Value::Null => b"null",
            Value::Number(n) => {
                let mut cursor = std::io::Cursor::new(&mut buf[..]);
                if write!(cursor, "{n}").is_err() {
                    return self.redact_str_with(&n.to_string(), known);
                }
                let len = cursor.position() as usize;
                &buf[..len]
            }
            _ => return None,
        };
        self.redact_fixpoint(text, known)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
    }

    /// A string that is the base64 of UTF-8 text (a file's `content_b64`), re-encoded from the
    /// redacted text when the text rules find something in it; `None` otherwise. Patterns match
    /// text, not its encodings, so an encoded copy of text would otherwise carry what they hide.
    fn redact_base64_text(&self, encoded: &str, known: &KnownSecrets) -> Option<String> {
        use base64::Engine as _;
        use base64::engine::general_purpose::STANDARD;
        let bytes = encoded.as_bytes();
        let body = encoded.trim_end_matches('=');
        let plausible = bytes.len() >= MIN_BASE64_TEXT
            && bytes.len().is_multiple_of(4)
            && bytes.len() - body.len() <= 2
            && body
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/');
        if !plausible {
            return None;
        }
        let decoded = STANDARD.decode(bytes).ok()?;
        let text = std::str::from_utf8(&decoded).ok()?;
        // Text, not bytes that happen to be UTF-8 (a hex digest read as base64, say).
        if text
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            return None;
        }
        let clean = self.redact_str_with(text, known)?;
        Some(STANDARD.encode(clean))
    }

    /// Walks a document: with `by_key`, values under sensitive keys or paths are masked whole;
    /// every other string, every key and the text of every other leaf goes through the text rules.
    /// `path` is the dotted path of `value`, kept only when path rules are used.
    fn walk(
        &self,
        value: &mut Value,
        path: &mut String,
        depth: usize,
        known: &KnownSecrets,
        by_key: bool,
        count: &mut usize,
    ) -> Result<(), RedactionError> {
        if depth > MAX_DEPTH {
            return Err(RedactionError(format!(
                "document nested deeper than {MAX_DEPTH} levels"
            )));
        }
        match value {
            Value::String(s) => {
                if let Some(clean) = self.redact_str_with(s, known) {
                    *s = clean;
                    *count += 1;
                }
                if let Some(clean) = self.redact_base64_text(s, known) {
                    *s = clean;
                    *count += 1;
                }
            }
            Value::Array(items) => {
                for item in items {
                    self.walk(item, path, depth + 1, known, by_key, count)?;
                }
            }
            Value::Object(map) => {
                let keys = &self.inner.keys;
                let paths = by_key && keys.uses_paths();
                let mut rename = false;
                for (key, inner) in map.iter_mut() {
                    let parent = path.len();
                    if paths {
                        if !path.is_empty() {
                            path.push('.');
                        }
                        path.push_str(key);
                    }
                    if by_key && keys.is_sensitive(key, path) {
                        self.mask(inner, count);
                    } else {
                        self.walk(inner, path, depth + 1, known, by_key, count)?;
                    }
                    path.truncate(parent);
                    rename |= self.redact_fixpoint(key.as_bytes(), known).is_some();
                }
                if rename {
                    let entries = std::mem::take(map);
                    for (key, inner) in entries {
                        let mut key = match self.redact_str_with(&key, known) {
                            Some(clean) => {
                                *count += 1;
                                clean
                            }
                            None => key,
                        };
                        while map.contains_key(&key) {
                            key.push('\'');
                        }
                        map.insert(key, inner);
                    }
                }
            }
            scalar => {
                if let Some(clean) = self.redact_scalar(scalar, known) {
                    *scalar = Value::String(clean);
                    *count += 1;
                }
            }
        }
        Ok(())
    }
}

/// The distinct lines of `text` that hold one of `tokens`.
fn lines_holding(text: &[u8], tokens: &[Range<usize>]) -> Vec<Range<usize>> {
    let mut lines: Vec<Range<usize>> = Vec::new();
    for token in tokens {
        if lines.last().is_some_and(|l| l.end >= token.end) {
            continue;
        }
        let start = memchr::memrchr(b'\n', &text[..token.start]).map_or(0, |i| i + 1);
        let end = memchr::memchr(b'\n', &text[token.end..]).map_or(text.len(), |i| token.end + i);
        lines.push(start..end);
    }
    lines
}

/// Sorts spans and merges the ones that overlap or touch.
fn merge(mut spans: Vec<Range<usize>>) -> Vec<Range<usize>> {
    spans.sort_by_key(|s| (s.start, std::cmp::Reverse(s.end)));
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(spans.len());
    for span in spans {
        match merged.last_mut() {
            Some(last) if span.start <= last.end => last.end = last.end.max(span.end),
            _ => merged.push(span),
        }
    }
    merged
}

impl Redactor for Redaction {
    fn register_secrets(&self, values: &[String]) -> Result<(), RedactionError> {
        let values: Vec<&str> = values.iter().map(String::as_str).collect();
        Redaction::register_secrets(self, &values).map_err(|e| RedactionError(e.to_string()))
    }

    fn redact_text(&self, text: &str) -> Option<String> {
        self.redact_str_with(text, &self.known())
    }

    fn redact_bytes(&self, bytes: &[u8]) -> Option<Vec<u8>> {
        self.redact_fixpoint(bytes, &self.known())
    }

    fn redact_json(&self, value: &mut Value) -> Result<usize, RedactionError> {
        let mut count = 0;
        self.walk(
            value,
            &mut String::new(),
            0,
            &self.known(),
            true,
            &mut count,
        )?;
        Ok(count)
    }

    fn redact_json_text(&self, value: &mut Value) -> Result<usize, RedactionError> {
        let mut count = 0;
        self.walk(
            value,
            &mut String::new(),
            0,
            &self.known(),
            false,
            &mut count,
        )?;
        Ok(count)
    }

    fn stream(&self) -> Box<dyn RedactingStream> {
        Box::new(stream::StreamRedaction::new(self.clone()))
    }
}

#[cfg(test)]
mod tests;
