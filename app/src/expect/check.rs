//! Load-time checks the Rust crate does not make: unknown names and functions (Go's expr rejects
//! them at compile time, given Reglet's environment), and the limits that bound an expression's
//! work before it ever runs.

use super::helpers;
use super::lexer::{Tok, Token, lex};
use crate::suggest;

/// Longest expression accepted, in characters, as in Reglet.
pub const MAX_LEN: usize = 1000;
/// Deepest nesting of brackets.
pub const MAX_DEPTH: usize = 32;
/// Most elements a range literal `a..b` may produce.
pub const MAX_RANGE: i64 = 10_000;

/// The names an expectation sees, as in Reglet: the evidence map, the plugin's own verdict, the
/// observation time and the plugin's error.
pub const ROOTS: &[&str] = &["data", "status", "timestamp", "error"];

/// Functions that take a predicate over `#`.
pub(crate) const PREDICATE_FUNCTIONS: &[&str] = &[
    "all",
    "any",
    "one",
    "none",
    "filter",
    "map",
    "count",
    "sum",
    "find",
    "findIndex",
    "findLast",
    "findLastIndex",
    "groupBy",
    "sortBy",
    "reduce",
];

/// Every other builtin of the `expr-lang` crate.
const BUILTINS: &[&str] = &[
    "sort",
    "bitand",
    "bitor",
    "bitxor",
    "bitnand",
    "bitnot",
    "bitshl",
    "bitshr",
    "bitushr",
    "join",
    "first",
    "last",
    "take",
    "reverse",
    "uniq",
    "concat",
    "flatten",
    "int",
    "float",
    "string",
    "fromJSON",
    "toJSON",
    "toBase64",
    "fromBase64",
    "keys",
    "values",
    "len",
    "type",
    "get",
    "toPairs",
    "fromPairs",
    "max",
    "min",
    "abs",
    "ceil",
    "floor",
    "round",
    "mean",
    "median",
    "trim",
    "trimPrefix",
    "trimSuffix",
    "upper",
    "lower",
    "split",
    "splitAfter",
    "replace",
    "repeat",
    "indexOf",
    "lastIndexOf",
    "hasPrefix",
    "hasSuffix",
    "now",
    "duration",
    "timezone",
    "date",
];

fn known_functions() -> impl Iterator<Item = &'static str> {
    PREDICATE_FUNCTIONS
        .iter()
        .chain(BUILTINS)
        .chain(helpers::NAMES)
        .copied()
}

#[derive(PartialEq)]
enum Frame {
    Call { predicate: bool },
    Group,
    Brace,
}

/// Checks `src` (already rewritten to the crate's grammar); the error is a sentence for the user.
pub(crate) fn check(src: &str) -> Result<(), String> {
    let chars = src.chars().count();
    if chars > MAX_LEN {
        return Err(format!(
            "the expression is {chars} characters long; the limit is {MAX_LEN}"
        ));
    }
    let tokens = lex(src);
    let mut stack: Vec<Frame> = Vec::new();
    for (i, tok) in tokens.iter().enumerate() {
        let prev = i.checked_sub(1).map(|p| &tokens[p]);
        let next = tokens.get(i + 1);
        match (tok.kind, tok.text) {
            (Tok::Punct, "(") => {
                let frame = match prev {
                    Some(p) if p.kind == Tok::Ident && !p.is_word_operator() => Frame::Call {
                        predicate: PREDICATE_FUNCTIONS.contains(&p.text),
                    },
                    _ => Frame::Group,
                };
                stack.push(frame);
            }
            (Tok::Punct, "[") => stack.push(Frame::Group),
            (Tok::Punct, "{") => stack.push(Frame::Brace),
            (Tok::Punct, ")" | "]" | "}") => {
                stack.pop();
            }
            (Tok::Punct, "..") => check_range(&tokens, i)?,
            (Tok::Ident, "matches") if next.is_some_and(|n| n.kind == Tok::Str) => {
                check_pattern(next.map(|n| n.text).unwrap_or_default())?;
            }
            (Tok::Ident, _) => {
                let in_predicate = stack.contains(&Frame::Call { predicate: true });
                check_ident(tok, prev, next, stack.last(), in_predicate)?;
            }
            _ => {}
        }
        if stack.len() > MAX_DEPTH {
            return Err(format!("brackets nest deeper than {MAX_DEPTH} levels"));
        }
    }
    Ok(())
}

fn check_ident(
    tok: &Token<'_>,
    prev: Option<&Token<'_>>,
    next: Option<&Token<'_>>,
    innermost: Option<&Frame>,
    in_predicate: bool,
) -> Result<(), String> {
    let name = tok.text;
    if name == "let" && next.is_some_and(|n| n.kind == Tok::Ident) {
        return Err("`let` declarations are not supported in expectations".into());
    }
    if tok.is_word_operator() || matches!(name, "true" | "false" | "nil" | "$env") {
        return Ok(());
    }
    if prev.is_some_and(|p| p.is(".") || p.is("?.") || p.is("|"))
        && !next.is_some_and(|n| n.is("("))
    {
        return Ok(());
    }
    if next.is_some_and(|n| n.is("(")) {
        if prev.is_some_and(|p| p.is(".") || p.is("?.")) {
            return Ok(()); // a method, such as a date's .Year()
        }
        if known_functions().any(|f| f == name) {
            return Ok(());
        }
        let hint = suggest::closest(name, known_functions())
            .map(|s| format!(" (did you mean `{s}`?)"))
            .unwrap_or_default();
        return Err(format!("unknown function `{name}`{hint}"));
    }
    if name.starts_with('#') {
        if in_predicate {
            return Ok(());
        }
        return Err(format!(
            "`{name}` can only be used inside a predicate, as in `all(data.items, # > 0)`"
        ));
    }
    let is_map_key = next.is_some_and(|n| n.is(":")) && innermost == Some(&Frame::Brace);
    if is_map_key || in_predicate || ROOTS.contains(&name) {
        return Ok(());
    }
    let hint = match suggest::closest(name, ROOTS.iter().copied()) {
        Some(root) => format!("did you mean `{root}`?"),
        None => format!("did you mean `data.{name}`?"),
    };
    Err(format!(
        "unknown name `{name}`: an expectation sees `data` (the evidence), `status`, `timestamp` \
         and `error`; {hint}"
    ))
}

/// A literal pattern after `matches` must compile, or every evaluation would be an error.
fn check_pattern(literal: &str) -> Result<(), String> {
    let Some(pattern) = string_value(literal) else {
        return Ok(());
    };
    regex::Regex::new(&pattern)
        .map(drop)
        .map_err(|e| format!("`matches {literal}` is not a valid regular expression: {e}"))
}

/// The text of a string literal (`"..."`, `'...'` or a raw `` `...` ``); `None` for bytes.
fn string_value(literal: &str) -> Option<String> {
    let quote = literal.chars().next()?;
    let inner = literal.get(1..literal.len().checked_sub(1)?)?;
    if quote == '`' {
        return Some(inner.to_owned());
    }
    if quote != '"' && quote != '\'' {
        return None;
    }
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some(q @ ('\\' | '"' | '\'')) => out.push(q),
            // Anything else is kept as written, so the regex sees `\d` as a class.
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    Some(out)
}

/// A range must have literal integer bounds and a bounded length, or it could allocate without
/// limit (`0..data.size`).
fn check_range(tokens: &[Token<'_>], at: usize) -> Result<(), String> {
    let bound = |i: Option<usize>, sign_at: Option<usize>| -> Option<i64> {
        let t = tokens.get(i?)?;
        if t.kind != Tok::Number {
            return None;
        }
        let value: i64 = t.text.replace('_', "").parse().ok()?;
        let negative = sign_at
            .and_then(|s| tokens.get(s))
            .is_some_and(|s| s.is("-"));
        Some(if negative { -value } else { value })
    };
    let start = bound(at.checked_sub(1), at.checked_sub(2));
    let end = match tokens.get(at + 1) {
        Some(t) if t.is("-") => bound(Some(at + 2), Some(at + 1)),
        _ => bound(Some(at + 1), None),
    };
    match (start, end) {
        (Some(s), Some(e)) if e.saturating_sub(s) < MAX_RANGE => Ok(()),
        _ => Err(format!(
            "a range `a..b` needs integer literals as bounds and at most {MAX_RANGE} elements"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_reglet_profiles_write() {
        for src in [
            "data.exists",
            "data.uid == 0 && data.mode in [\"0600\", \"0644\"]",
            "data.record_count > 0 && isIPv4(data.records[0])",
            "all(data.records, isIPv4(#))",
            "data.records | all(# startsWith \"10.\")",
            "any(data.users, {#.name == \"root\" && uid == 0})",
            "len(data.body ?? \"\") > 0",
            "status == true and error == nil",
            "{a: 1, b: data.x}.a == 1",
            "date(data.tls_cert_not_after) > now()",
            "date(data.t).Year() > 2000",
            "1..3 == [1, 2, 3]",
            "-2..-1 == [-2, -1]",
            "$env.data != nil",
            "data.x ? data.y : false",
            "data.stdout matches \"^\\\\d+ active$\"",
            "data.s matches `\\d[a-z]`",
        ] {
            assert_eq!(check(src), Ok(()), "{src}");
        }
    }

    #[test]
    fn refuses_with_a_reason() {
        let cases = [
            ("stdout == \"active\"", "did you mean `data.stdout`?"),
            ("dta.x", "did you mean `data`?"),
            ("uper(data.x) == \"\"", "did you mean `upper`?"),
            ("frobnicate(1)", "unknown function `frobnicate`"),
            ("# > 1", "inside a predicate"),
            ("let x = 1; x", "`let`"),
            ("0..data.n", "integer literals"),
            ("0..100000", "at most 10000"),
            ("data.s matches \"[\"", "not a valid regular expression"),
            ("data.s matches '(a'", "not a valid regular expression"),
            (
                "data.x == 1 || data.y == 2 || data.z == 3 || data.w == 4",
                "",
            ),
        ];
        for (src, want) in cases {
            match check(src) {
                Ok(()) => assert!(want.is_empty(), "{src} passed"),
                Err(e) => assert!(!want.is_empty() && e.contains(want), "{src}: {e}"),
            }
        }
        let long = format!("data.x == \"{}\"", "a".repeat(1000));
        assert!(check(&long).unwrap_err().contains("limit is 1000"));
        let deep = format!("{}1{}", "(".repeat(40), ")".repeat(40));
        assert!(check(&deep).unwrap_err().contains("deeper than 32"));
    }
}
