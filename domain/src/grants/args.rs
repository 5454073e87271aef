//! Argument patterns: the argument vectors a pinned exec grant allows.
//!
//! The syntax is written after the program and a `:` (`exec:/usr/bin/systemctl:is-active *`):
//!
//! - Tokens are separated by spaces; each token matches exactly one argument.
//! - In a token, `*` matches any run of characters, `?` one character and `[...]` one character
//!   of a class (`[a-z]`, `[!-]`), as in path grants. `*` alone is one argument of anything,
//!   options included; `[!-]*` is one argument that is not an option.
//! - The token `**` matches any number of arguments, none included.
//! - `'...'` makes text literal (`'a b'` is one argument with a space, `''` the empty argument);
//!   a backslash makes the next character literal (`\*`, `\ `). Inside `[...]` text is taken as
//!   it is and may not hold a quote or a backslash.
//! - No tokens at all (`exec:/usr/bin/uptime:`) allows only running the program with no arguments.

use std::fmt;

use super::GrantParseError;
use super::path::{Segment, class_match, sequence_covers, sequence_matches};

/// The argument vectors a pinned exec grant allows. See the module documentation for the syntax.
///
/// A pattern never consists of `**` alone: that allows every vector, which is what an unpinned
/// grant means, and [`ArgsPattern::parse`] returns `None` for it so there is one spelling.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ArgsPattern {
    tokens: Vec<Segment>,
}

/// Characters that are glob syntax outside a class.
const GLOB: [char; 3] = ['*', '?', '['];

impl ArgsPattern {
    /// Parses an argument pattern; `Ok(None)` when it allows any arguments (only `**` tokens).
    ///
    /// # Errors
    ///
    /// [`GrantParseError::InvalidArgs`] for an unclosed quote or `[...]` class, a trailing
    /// backslash, a quote or backslash inside a class, or a NUL byte.
    pub fn parse(text: &str) -> Result<Option<Self>, GrantParseError> {
        let bad = |reason| GrantParseError::InvalidArgs {
            pattern: text.to_owned(),
            reason,
        };
        let chars: Vec<char> = text.chars().collect();
        let mut tokens = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            if chars[i] == ' ' {
                i += 1;
                continue;
            }
            let mut token = Token::default();
            while i < chars.len() && chars[i] != ' ' {
                match chars[i] {
                    '\'' => {
                        let close = chars[i + 1..]
                            .iter()
                            .position(|c| *c == '\'')
                            .ok_or_else(|| bad("a quote is not closed"))?;
                        chars[i + 1..i + 1 + close]
                            .iter()
                            .for_each(|c| token.literal(*c));
                        i += close + 2;
                    }
                    '\\' => {
                        let c = *chars
                            .get(i + 1)
                            .ok_or_else(|| bad("it ends with a backslash"))?;
                        token.literal(c);
                        i += 2;
                    }
                    '[' => {
                        let (_, end) = class_match(&chars, i, '\0')
                            .ok_or_else(|| bad("a '[' is not closed"))?;
                        if chars[i..end].iter().any(|c| matches!(c, '\'' | '\\')) {
                            return Err(bad("a [...] class cannot hold a quote or a backslash"));
                        }
                        token.glob.extend(&chars[i..end]);
                        token.wild = true;
                        i = end;
                    }
                    c @ ('*' | '?') => {
                        token.glob.push(c);
                        token.wild = true;
                        i += 1;
                    }
                    '\0' => return Err(bad("it contains a NUL byte")),
                    c if c.is_whitespace() => {
                        return Err(bad(
                            "only spaces separate arguments; quote other whitespace",
                        ));
                    }
                    c => {
                        token.literal(c);
                        i += 1;
                    }
                }
            }
            let segment = token.into_segment();
            if !(segment == Segment::AnyDepth && tokens.last() == Some(&Segment::AnyDepth)) {
                tokens.push(segment);
            }
        }
        if !tokens.is_empty() && tokens.iter().all(|t| *t == Segment::AnyDepth) {
            return Ok(None);
        }
        Ok(Some(ArgsPattern { tokens }))
    }

    /// The pattern that allows exactly `args` and nothing else.
    pub fn exact<S: AsRef<str>>(args: &[S]) -> Self {
        ArgsPattern {
            tokens: args
                .iter()
                .map(|a| Segment::Literal(a.as_ref().to_owned()))
                .collect(),
        }
    }

    /// True when the argument vector `args` (without the program) is allowed.
    pub fn matches<S: AsRef<str>>(&self, args: &[S]) -> bool {
        let parts: Vec<&str> = args.iter().map(AsRef::as_ref).collect();
        sequence_matches(&self.tokens, &parts)
    }

    /// True when every vector `other` allows is allowed by `self` (a sound, not complete, test).
    pub fn covers(&self, other: &ArgsPattern) -> bool {
        sequence_covers(&self.tokens, &other.tokens)
    }

    /// True when every token is literal: the grant allows one fixed command line.
    pub fn is_literal(&self) -> bool {
        self.tokens.iter().all(|t| matches!(t, Segment::Literal(_)))
    }

    /// True when a `**` token leaves any number of arguments free somewhere.
    pub fn has_free_tail(&self) -> bool {
        self.tokens.contains(&Segment::AnyDepth)
    }
}

/// A token being read: its text in glob syntax, its text taken literally, and whether it holds
/// glob syntax at all.
#[derive(Default)]
struct Token {
    glob: String,
    text: String,
    wild: bool,
}

impl Token {
    /// Adds a character that stands for itself, as a one-character class when it is glob syntax.
    fn literal(&mut self, c: char) {
        self.text.push(c);
        match c {
            '*' => self.glob.push_str("[*]"),
            '?' => self.glob.push_str("[?]"),
            '[' => self.glob.push_str("[[]"),
            c => self.glob.push(c),
        }
    }

    fn into_segment(self) -> Segment {
        // Only two unquoted stars spell "**": a quoted or escaped star is a one-character class.
        match (self.wild, self.glob.as_str()) {
            (true, "**") => Segment::AnyDepth,
            (true, _) => Segment::Glob(self.glob),
            (false, _) => Segment::Literal(self.text),
        }
    }
}

/// Writes `c` so that the parser reads it back as the same literal character.
fn write_escaped(f: &mut fmt::Formatter<'_>, c: char) -> fmt::Result {
    if c.is_whitespace() || matches!(c, '\'' | '\\') || GLOB.contains(&c) {
        write!(f, "\\{c}")
    } else {
        write!(f, "{c}")
    }
}

fn write_literal(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    let plain = !text.is_empty()
        && !text
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '\'' | '\\') || GLOB.contains(&c));
    if plain {
        f.write_str(text)
    } else if !text.contains('\'') {
        write!(f, "'{text}'")
    } else {
        text.chars().try_for_each(|c| write_escaped(f, c))
    }
}

fn write_glob(f: &mut fmt::Formatter<'_>, glob: &str) -> fmt::Result {
    let chars: Vec<char> = glob.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            c @ ('*' | '?') => {
                write!(f, "{c}")?;
                i += 1;
            }
            '[' => {
                // Every class in a parsed glob is closed; print it as it was written.
                let end = class_match(&chars, i, '\0').map_or(chars.len(), |(_, end)| end);
                chars[i..end].iter().try_for_each(|c| write!(f, "{c}"))?;
                i = end;
            }
            c => {
                write_escaped(f, c)?;
                i += 1;
            }
        }
    }
    Ok(())
}

impl fmt::Display for ArgsPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, token) in self.tokens.iter().enumerate() {
            if n > 0 {
                f.write_str(" ")?;
            }
            match token {
                Segment::AnyDepth => f.write_str("**")?,
                Segment::Literal(text) => write_literal(f, text)?,
                Segment::Glob(glob) => write_glob(f, glob)?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pat(text: &str) -> ArgsPattern {
        ArgsPattern::parse(text).unwrap().expect("pinned")
    }

    #[test]
    fn matching_table() {
        let cases: &[(&str, &[&str], bool)] = &[
            ("is-active *", &["is-active", "sshd"], true),
            ("is-active *", &["is-active"], false),
            ("is-active *", &["is-active", "a", "b"], false),
            ("is-active *", &["is-active", "--host=evil"], true),
            ("is-active [!-]*", &["is-active", "--host=evil"], false),
            ("is-active [!-]*", &["is-active", "sshd"], true),
            ("", &[], true),
            ("", &[""], false),
            ("''", &[""], true),
            ("*", &[""], true),
            ("log **", &["log"], true),
            ("log **", &["log", "-1", "--oneline"], true),
            ("log **", &["status"], false),
            ("** --version", &["--version"], true),
            ("-c 'echo hi'", &["-c", "echo hi"], true),
            ("-c 'echo hi'", &["-c", "echo", "hi"], false),
            ("a\\ b", &["a b"], true),
            ("\\*", &["*"], true),
            ("\\*", &["x"], false),
            ("'*'", &["x"], false),
            ("'**'", &["**"], true),
            ("'**'", &["a", "b"], false),
            ("x\\**", &["x*yz"], true),
            ("x\\**", &["xyz"], false),
            ("[ ]", &[" "], true),
            ("a:b", &["a:b"], true),
        ];
        for (pattern, args, want) in cases {
            assert_eq!(pat(pattern).matches(args), *want, "{pattern:?} vs {args:?}");
        }
    }

    #[test]
    fn printing_reads_back_as_the_same_pattern() {
        for (text, shown) in [
            ("is-active  *", "is-active *"),
            ("", ""),
            ("''", "''"),
            ("'a b' \\'", "'a b' \\'"),
            ("\\*", "'*'"),
            ("'**'", "'**'"),
            ("x\\**", "x[*]*"),
            ("a\\ b*", "a\\ b*"),
            ("[ ] ** **", "[ ] **"),
            ("it\\'s", "it\\'s"),
        ] {
            let parsed = pat(text);
            assert_eq!(parsed.to_string(), shown, "{text:?}");
            assert_eq!(pat(&parsed.to_string()), parsed, "{text:?}");
        }
    }

    #[test]
    fn only_stars_means_unpinned() {
        assert_eq!(ArgsPattern::parse("**").unwrap(), None);
        assert_eq!(ArgsPattern::parse(" ** ** ").unwrap(), None);
        assert!(ArgsPattern::parse("'**'").unwrap().is_some());
    }

    #[test]
    fn bad_patterns_say_why() {
        for (text, needle) in [
            ("'open", "quote"),
            ("x\\", "backslash"),
            ("[abc", "'['"),
            ("['a]", "class"),
            ("a\tb", "whitespace"),
            ("a\0", "NUL"),
        ] {
            let err = ArgsPattern::parse(text).unwrap_err().to_string();
            assert!(err.contains(needle), "{text:?}: {err}");
        }
    }

    #[test]
    fn covering_table() {
        for (a, b, want) in [
            ("is-active *", "is-active sshd", true),
            ("is-active sshd", "is-active *", false),
            ("log **", "log -1", true),
            ("log **", "log **", true),
            ("log -1", "log **", false),
            ("*", "''", true),
            ("", "''", false),
        ] {
            assert_eq!(pat(a).covers(&pat(b)), want, "{a} covers {b}");
        }
    }
}
