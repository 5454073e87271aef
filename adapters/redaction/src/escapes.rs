//! Decoded views of escaped text, so that a known secret is found however an encoder chose to
//! escape it.
//!
//! Encoders disagree on what to escape: Go's JSON encoder writes `&` `<` `>` as `\u0026` `\u003c`
//! `\u003e`, Python's writes every non-ASCII character as `\uXXXX`, PHP's writes `/` as `\/`; URL
//! encoders differ in which bytes they percent-encode and in the case of the hex digits. Listing
//! every variant as a pattern would multiply the automaton, so instead the text is decoded: a view
//! in which each escape is replaced by what it stands for, searched with the same automaton near
//! the escapes only, and each match mapped back to the escaped bytes that produced it.
//!
//! The two schemes get separate views, because a `%41` inside JSON text is three characters, not an
//! escape. A JSON `\uXXXX` decodes to the character as serde writes it in a JSON string (`"`,
//! `\` and control characters keep a short escape), so the view holds the canonical JSON form of
//! the secret, which is one of the automaton's patterns.

use std::ops::Range;

/// How the text escapes characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    /// JSON string escapes: `\uXXXX` (either hex case, surrogate pairs joined) and `\/`.
    Json,
    /// URL percent-encoding: `%XX` in either hex case.
    Percent,
}

impl Scheme {
    /// Both schemes.
    pub(crate) const ALL: [Scheme; 2] = [Scheme::Json, Scheme::Percent];

    /// Most bytes one byte of a secret can take once escaped (`\u0041` for `A`).
    pub(crate) const MAX_EXPANSION: usize = 6;
}

/// One escape: where it is in the original text and where its decoding is in the view.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Escape {
    original: Range<usize>,
    view: Range<usize>,
}

/// The text with every escape of one scheme decoded, and where the escapes were.
#[derive(Debug)]
pub(crate) struct View {
    bytes: Vec<u8>,
    escapes: Vec<Escape>,
}

impl View {
    /// The decoded view of `text`, or `None` when nothing in it is escaped in `scheme` (the usual
    /// case, which costs one `memchr` pass and no allocation).
    pub(crate) fn decode(text: &[u8], scheme: Scheme) -> Option<View> {
        let marker = match scheme {
            Scheme::Json => b'\\',
            Scheme::Percent => b'%',
        };
        let mut view: Option<View> = None;
        let mut copied = 0;
        let mut at = 0;
        while let Some(offset) = memchr::memchr(marker, &text[at..]) {
            let start = at + offset;
            let mut decoded = [0u8; 6];
            let found = match scheme {
                Scheme::Json => json_escape(&text[start..], &mut decoded),
                Scheme::Percent => percent_escape(&text[start..], &mut decoded),
            };
            let Some((consumed, produced)) = found else {
                // Not an escape. A JSON backslash still takes the next byte with it, so the
                // `\u0026` in `\\u0026` is text, as a JSON parser reads it.
                at = start + if scheme == Scheme::Json { 2 } else { 1 };
                if at >= text.len() {
                    break;
                }
                continue;
            };
            let view = view.get_or_insert_with(|| View {
                bytes: Vec::with_capacity(text.len()),
                escapes: Vec::new(),
            });
            view.bytes.extend_from_slice(&text[copied..start]);
            let view_start = view.bytes.len();
            view.bytes.extend_from_slice(&decoded[..produced]);
            view.escapes.push(Escape {
                original: start..start + consumed,
                view: view_start..view.bytes.len(),
            });
            copied = start + consumed;
            at = copied;
        }
        let mut view = view?;
        view.bytes.extend_from_slice(&text[copied..]);
        Some(view)
    }

    /// The decoded bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The parts of the view a match of at most `longest` bytes must lie in to include a decoded
    /// escape: everything else is a copy of the original text, already searched. Sorted, disjoint.
    pub(crate) fn windows(&self, longest: usize) -> Vec<Range<usize>> {
        let reach = longest.saturating_sub(1);
        let mut windows: Vec<Range<usize>> = Vec::new();
        for escape in &self.escapes {
            let start = escape.view.start.saturating_sub(reach);
            let end = (escape.view.end + reach).min(self.bytes.len());
            match windows.last_mut() {
                Some(last) if start <= last.end => last.end = end,
                _ => windows.push(start..end),
            }
        }
        windows
    }

    /// The original bytes that `range` of the view was decoded from, whole escapes included.
    pub(crate) fn original(&self, range: Range<usize>) -> Range<usize> {
        if range.is_empty() {
            let at = self.original_of(range.start).start;
            return at..at;
        }
        self.original_of(range.start).start..self.original_of(range.end - 1).end
    }

    /// The original bytes behind the view byte at `at`: a whole escape, or the one byte copied.
    fn original_of(&self, at: usize) -> Range<usize> {
        let index = self.escapes.partition_point(|e| e.view.start <= at);
        let Some(escape) = index.checked_sub(1).map(|i| &self.escapes[i]) else {
            return at..at + 1;
        };
        if at < escape.view.end {
            return escape.original.clone();
        }
        let original = escape.original.end + (at - escape.view.end);
        original..original + 1
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// `%XX` at the start of `text`: (bytes consumed, bytes written to `out`).
fn percent_escape(text: &[u8], out: &mut [u8; 6]) -> Option<(usize, usize)> {
    let high = hex_value(*text.get(1)?)?;
    let low = hex_value(*text.get(2)?)?;
    out[0] = high << 4 | low;
    Some((3, 1))
}

/// The UTF-16 code unit of `\uXXXX` at the start of `text`.
fn code_unit(text: &[u8]) -> Option<u16> {
    if text.len() < 6 || text[0] != b'\\' || text[1] != b'u' {
        return None;
    }
    text[2..6]
        .iter()
        .try_fold(0u16, |acc, b| Some(acc << 4 | u16::from(hex_value(*b)?)))
}

/// A JSON escape other than serde's own short ones at the start of `text`: `\uXXXX` (a surrogate
/// pair as one character) or `\/`. Writes the character as serde would inside a JSON string.
fn json_escape(text: &[u8], out: &mut [u8; 6]) -> Option<(usize, usize)> {
    if text.get(1) == Some(&b'/') {
        out[0] = b'/';
        return Some((2, 1));
    }
    let unit = code_unit(text)?;
    let (c, consumed) = match unit {
        0xD800..=0xDBFF => {
            let low = code_unit(&text[6..]).filter(|u| (0xDC00..=0xDFFF).contains(u))?;
            let c = char::decode_utf16([unit, low]).next()?.ok()?;
            (c, 12)
        }
        0xDC00..=0xDFFF => return None,
        _ => (char::from_u32(u32::from(unit))?, 6),
    };
    Some((consumed, canonical_json(c, out)))
}

/// `c` as serde_json writes it inside a string; returns the length written.
fn canonical_json(c: char, out: &mut [u8; 6]) -> usize {
    let short = match c {
        '"' => Some(b'"'),
        '\\' => Some(b'\\'),
        '\n' => Some(b'n'),
        '\r' => Some(b'r'),
        '\t' => Some(b't'),
        '\u{8}' => Some(b'b'),
        '\u{c}' => Some(b'f'),
        _ => None,
    };
    if let Some(letter) = short {
        out[0] = b'\\';
        out[1] = letter;
        return 2;
    }
    if (c as u32) < 0x20 {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        out.copy_from_slice(&[
            b'\\',
            b'u',
            b'0',
            b'0',
            b'0' + (c as u8 >> 4),
            HEX[c as usize & 15],
        ]);
        return 6;
    }
    c.encode_utf8(&mut out[..4]).len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decoded(text: &str, scheme: Scheme) -> Option<String> {
        View::decode(text.as_bytes(), scheme)
            .map(|v| String::from_utf8_lossy(v.bytes()).into_owned())
    }

    #[test]
    fn decoding_table() {
        for (text, scheme, want) in [
            (r"a\u0026b", Scheme::Json, Some("a&b")),
            (r"\u003C\u003e", Scheme::Json, Some("<>")),
            (r"\u00E9\ud83d\uDE00", Scheme::Json, Some("é😀")),
            (r"x\u0022y\u005cz", Scheme::Json, Some(r#"x\"y\\z"#)),
            (r"\u000a\u0001", Scheme::Json, Some(r"\n\u0001")),
            (r"a\/b", Scheme::Json, Some("a/b")),
            (r"\\u0026", Scheme::Json, None),
            (r"\\\u0026", Scheme::Json, Some(r"\\&")),
            (r#"\n\"\\"#, Scheme::Json, None),
            (r"\ud83d alone \udc00", Scheme::Json, None),
            (r"\u12", Scheme::Json, None),
            (r"trailing \", Scheme::Json, None),
            ("%41%2f%2F", Scheme::Percent, Some("A//")),
            ("100% sure %zz %4", Scheme::Percent, None),
            (r"%41 \u0041", Scheme::Percent, Some(r"A \u0041")),
            (r"%41 \u0041", Scheme::Json, Some("%41 A")),
            ("plain", Scheme::Json, None),
        ] {
            assert_eq!(
                decoded(text, scheme).as_deref(),
                want,
                "{text} ({scheme:?})"
            );
        }
    }

    #[test]
    fn control_characters_decode_as_serde_writes_them() {
        for code in 0u32..0x80 {
            let c = char::from_u32(code).unwrap();
            let serde = serde_json::to_string(&c.to_string()).unwrap();
            let mut out = [0u8; 6];
            let len = canonical_json(c, &mut out);
            assert_eq!(
                &out[..len],
                &serde.as_bytes()[1..serde.len() - 1],
                "U+{code:04X}"
            );
        }
    }

    #[test]
    fn views_map_back_to_whole_escapes() {
        let text = br"ab\u0026cd\u003cef";
        let view = View::decode(text, Scheme::Json).unwrap();
        assert_eq!(view.bytes(), b"ab&cd<ef");
        assert_eq!(
            view.original(0..3),
            0..8,
            "a match ending in an escape takes all of it"
        );
        assert_eq!(view.original(2..6), 2..16);
        assert_eq!(view.original(3..5), 8..10);
        assert_eq!(view.original(6..8), 16..18);
        assert_eq!(view.windows(2), vec![1..7], "windows that touch are merged");
        assert_eq!(view.windows(3), vec![0..8]);
    }

    proptest! {
        #[test]
        fn any_text_decodes_without_panicking(text in "[ -~\\\\%\\u{e9}]{0,64}", longest in 0usize..20) {
            for scheme in Scheme::ALL {
                if let Some(view) = View::decode(text.as_bytes(), scheme) {
                    for w in view.windows(longest) {
                        let r = view.original(w);
                        prop_assert!(r.start <= r.end && r.end <= text.len());
                    }
                }
            }
        }
    }
}
