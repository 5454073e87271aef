//! Redaction of a stream of chunks, such as a plugin's stdout.
//!
//! Text is released a whole line at a time, and only once at least (longest occurrence of a known
//! secret − 1) bytes follow it, so a secret split across two writes is always seen whole. A span
//! that would be cut (an unterminated private-key block, a secret across the boundary) holds the
//! cut back to its start.
//!
//! If a single line grows past [`MAX_HELD`], part of it is released anyway, but never its last
//! [`FORCED_TAIL`] bytes: a rule match lies within a bounded window around its keyword, so every
//! match that starts before the cut is then held whole, and the cut is moved back to the start of
//! any whole match it would go through (keyword included, so the keyword is never released without
//! the secret after it). If a forced release happens inside a private-key block, everything up to
//! the block's end marker is suppressed.

use reglet_ports::RedactingStream;

use super::rules::MAX_LINE_MATCH;
use super::{Redaction, merge, replacement};

/// Most bytes held back before a forced release.
pub(super) const MAX_HELD: usize = 64 * 1024;

/// Bytes of a long line always held back at a forced release: at least the longest single-line
/// rule match. (A custom rule without keywords whose match is longer can still be cut.)
const FORCED_TAIL: usize = MAX_LINE_MATCH;

pub(super) struct StreamRedaction {
    redaction: Redaction,
    held: Vec<u8>,
    in_private_key: bool,
}

impl StreamRedaction {
    pub(super) fn new(redaction: Redaction) -> Self {
        StreamRedaction {
            redaction,
            held: Vec::new(),
            in_private_key: false,
        }
    }

    /// Redacts and releases `held[..cut]`.
    fn release(&mut self, cut: usize) -> Vec<u8> {
        let part: Vec<u8> = self.held.drain(..cut).collect();
        if self.in_private_key {
            return self.suppress_private_key(part);
        }
        self.redact(&part)
    }

    fn redact(&self, part: &[u8]) -> Vec<u8> {
        use reglet_ports::Redactor;
        self.redaction
            .redact_bytes(part)
            .unwrap_or_else(|| part.to_vec())
    }

    /// Inside an unterminated private key: drop everything up to and including its END line.
    fn suppress_private_key(&mut self, part: Vec<u8>) -> Vec<u8> {
        let end = memchr::memmem::find(&part, b"-----END").and_then(|at| {
            memchr::memchr(b'\n', &part[at..])
                .map(|nl| at + nl + 1)
                .or(Some(part.len()))
        });
        match end {
            Some(end) => {
                self.in_private_key = false;
                let mut out = replacement::REDACTED.as_bytes().to_vec();
                out.extend(self.redact(&part[end..]));
                out
            }
            None => Vec::new(),
        }
    }
}

impl RedactingStream for StreamRedaction {
    fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        self.held.extend_from_slice(chunk);
        let known = self.redaction.known();
        let keep = known.longest_occurrence().saturating_sub(1);
        let limit = self.held.len().saturating_sub(keep);
        let mut cut = memchr::memrchr(b'\n', &self.held[..limit]).map_or(0, |i| i + 1);
        let forced = cut == 0 && self.held.len() > MAX_HELD;
        if forced {
            cut = self.held.len().saturating_sub(keep.max(FORCED_TAIL));
        }
        if cut == 0 {
            return Vec::new();
        }
        // Never cut through something that will be redacted or a rule's whole match, nor release
        // the start of one that reaches the end of what is held (an unterminated private key, a
        // token that may go on).
        let spans = merge(self.redaction.uncuttable(&self.held, &known));
        let held = self.held.len();
        for span in spans.iter().rev() {
            if span.start < cut && (cut < span.end || span.end == held) {
                cut = span.start;
            }
        }
        if cut == 0 {
            if !forced && self.held.len() <= MAX_HELD {
                return Vec::new();
            }
            // Held too long inside one span (a private key without its end, say): release it all,
            // redacted, and suppress the rest of the block if it was a key.
            let starts_key = memchr::memmem::find(&self.held, b"PRIVATE KEY-----").is_some()
                && memchr::memmem::find(&self.held, b"-----END").is_none();
            let len = self.held.len();
            let out = self.release(len);
            self.in_private_key |= starts_key;
            return out;
        }
        self.release(cut)
    }

    fn finish(&mut self) -> Vec<u8> {
        let len = self.held.len();
        let out = self.release(len);
        self.in_private_key = false;
        out
    }
}
