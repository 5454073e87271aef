//! A forgiving tokenizer for the expr language.
//!
//! The `expr-lang` crate keeps its syntax tree private, so the checks and rewrites that close the
//! gaps with Go's expr work on tokens. This lexer never fails: anything it does not know becomes a
//! one-character punctuation token and the real parser reports the error.

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tok {
    /// A name: `data`, `#`, `#acc`, `$env`, and the word operators (`and`, `in`, ...).
    Ident,
    /// A number literal.
    Number,
    /// A string or bytes literal.
    Str,
    /// Operators and brackets.
    Punct,
}

/// One token and its byte range in the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Token<'a> {
    pub kind: Tok,
    pub text: &'a str,
    pub start: usize,
    pub end: usize,
}

/// Words the grammar uses as operators or keywords rather than names.
pub(crate) const OPERATOR_WORDS: &[&str] = &[
    "and",
    "or",
    "not",
    "in",
    "contains",
    "matches",
    "startsWith",
    "endsWith",
    "let",
    "if",
    "else",
];

/// Word operators at the precedence of comparisons, which `not` may negate.
pub(crate) const NEGATABLE: &[&str] = &["in", "contains", "matches", "startsWith", "endsWith"];

impl Token<'_> {
    /// True for a name token that is an operator word.
    pub fn is_word_operator(&self) -> bool {
        self.kind == Tok::Ident && OPERATOR_WORDS.contains(&self.text)
    }

    /// True when the token can end an operand, so a following `.` is member access.
    pub fn ends_operand(&self) -> bool {
        match self.kind {
            Tok::Ident => !self.is_word_operator(),
            Tok::Number | Tok::Str => true,
            Tok::Punct => matches!(self.text, ")" | "]" | "}"),
        }
    }

    /// True for `text` as punctuation.
    pub fn is(&self, text: &str) -> bool {
        self.kind == Tok::Punct && self.text == text
    }
}

const TWO_CHAR: &[&str] = &[
    "?.", "??", "**", "..", "==", "!=", "<=", ">=", "&&", "||", "::",
];

/// Splits `src` into tokens, skipping whitespace and comments.
pub(crate) fn lex(src: &str) -> Vec<Token<'_>> {
    let bytes = src.as_bytes();
    let mut tokens: Vec<Token<'_>> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        let kind = if c.is_ascii_whitespace() {
            i += 1;
            continue;
        } else if src[i..].starts_with("//") {
            i = src[i..].find('\n').map_or(bytes.len(), |n| i + n);
            continue;
        } else if src[i..].starts_with("/*") {
            i = src[i + 2..]
                .find("*/")
                .map_or(bytes.len(), |n| i + 2 + n + 2);
            continue;
        } else if matches!(c, b'b' | b'B') && matches!(bytes.get(i + 1), Some(b'"' | b'\'')) {
            i = end_of_string(bytes, i + 1);
            Tok::Str
        } else if matches!(c, b'"' | b'\'' | b'`') {
            i = end_of_string(bytes, i);
            Tok::Str
        } else if c.is_ascii_alphabetic() || matches!(c, b'_' | b'$' | b'#') {
            i += 1;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            Tok::Ident
        } else if c.is_ascii_digit()
            || (c == b'.'
                && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)
                && !tokens.last().is_some_and(Token::ends_operand))
        {
            i = end_of_number(bytes, i);
            Tok::Number
        } else if let Some(op) = TWO_CHAR.iter().find(|op| src[i..].starts_with(**op)) {
            i += op.len();
            Tok::Punct
        } else {
            i += src[i..].chars().next().map_or(1, char::len_utf8);
            Tok::Punct
        };
        tokens.push(Token {
            kind,
            text: &src[start..i],
            start,
            end: i,
        });
    }
    tokens
}

/// The end of a quoted literal starting at `open`; unterminated literals run to the line's end.
fn end_of_string(bytes: &[u8], open: usize) -> usize {
    let quote = bytes[open];
    let mut i = open + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quote != b'`' => i += 2,
            b'\n' if quote != b'`' => return i,
            c if c == quote => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

fn end_of_number(bytes: &[u8], mut i: usize) -> usize {
    let alnum = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_';
    while i < bytes.len() && alnum(&bytes[i]) {
        i += 1;
    }
    if bytes.get(i) == Some(&b'.') && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
        i += 1;
        while i < bytes.len() && alnum(&bytes[i]) {
            i += 1;
        }
    }
    if matches!(bytes.get(i - 1), Some(b'e' | b'E'))
        && matches!(bytes.get(i), Some(b'+' | b'-'))
        && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)
    {
        i += 1;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(src: &str) -> Vec<&str> {
        lex(src).into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn splits_the_usual_expressions() {
        let cases: &[(&str, &[&str])] = &[
            ("data.x == 1", &["data", ".", "x", "==", "1"]),
            (
                r#"data.mode in ["0600", '0644']"#,
                &[
                    "data", ".", "mode", "in", "[", "\"0600\"", ",", "'0644'", "]",
                ],
            ),
            (
                "all(data.l, # > 0)",
                &["all", "(", "data", ".", "l", ",", "#", ">", "0", ")"],
            ),
            (
                "data.a?.b ?? 1.5e+3",
                &["data", ".", "a", "?.", "b", "??", "1.5e+3"],
            ),
            ("1..3", &["1", "..", "3"]),
            ("x // note\n && /* c */ y", &["x", "&&", "y"]),
            (r#""a\"b" + b'x'"#, &[r#""a\"b""#, "+", "b'x'"]),
            ("{.name}", &["{", ".", "name", "}"]),
            (".5 + x.y", &[".5", "+", "x", ".", "y"]),
            ("é", &["é"]),
        ];
        for (src, want) in cases {
            assert_eq!(&texts(src), want, "{src}");
        }
    }

    #[test]
    fn unterminated_strings_do_not_swallow_the_rest_of_the_world() {
        assert_eq!(texts("\"abc\nx"), vec!["\"abc", "x"]);
    }
}
