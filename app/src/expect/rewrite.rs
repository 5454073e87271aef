//! Source rewrites that give the Rust `expr-lang` grammar the spellings Go's expr accepts and
//! Reglet profiles use:
//!
//! - the predicate shorthand `.name` for `#.name` (`all(data.users, {.uid != 0})`);
//! - predicates in argument position without braces: Go's expr reads the second argument of
//!   `all`, `map`, `sortBy`, ... (the first, after a pipe) as a predicate wherever it stands and
//!   whatever it contains, while the crate guesses from a `#` in the last argument; braces make
//!   it explicit (`sortBy(l, .age, "desc")`, `all(l, any(#.tags, # == "x"))`);
//! - negated word operators `a not contains b`, `not matches`, `not startsWith`, `not endsWith`,
//!   which become `not (a contains b)` (`not in` the crate already has).

use super::check::PREDICATE_FUNCTIONS;
use super::lexer::{NEGATABLE, Tok, Token, lex};

/// Rewrites `src` into the crate's grammar; returns it unchanged when nothing applies.
pub(crate) fn rewrite(src: &str) -> String {
    let mut text = brace_predicates(&pointer_shorthand(src));
    // Each pass rewrites one negation; an expression has far fewer than this many.
    for _ in 0..64 {
        match negate_once(&text) {
            Some(next) => text = next,
            None => break,
        }
    }
    text
}

/// `.name` where no operand precedes the dot means `#.name`.
fn pointer_shorthand(src: &str) -> String {
    let tokens = lex(src);
    let mut out = String::with_capacity(src.len() + 4);
    let mut copied = 0;
    for (i, tok) in tokens.iter().enumerate() {
        let starts_pointer = tok.is(".")
            && tokens.get(i + 1).is_some_and(|t| t.kind == Tok::Ident)
            && !(i > 0 && tokens[i - 1].ends_operand());
        if starts_pointer {
            out.push_str(&src[copied..tok.start]);
            out.push('#');
            copied = tok.start;
        }
    }
    out.push_str(&src[copied..]);
    out
}

/// Wraps the predicate argument of every predicate builtin in braces, unless it has them.
fn brace_predicates(src: &str) -> String {
    let tokens = lex(src);
    let mut inserts: Vec<(usize, char)> = Vec::new();
    for (i, tok) in tokens.iter().enumerate() {
        let is_call = tok.kind == Tok::Ident
            && PREDICATE_FUNCTIONS.contains(&tok.text)
            && tokens.get(i + 1).is_some_and(|t| t.is("("))
            && !(i > 0 && (tokens[i - 1].is(".") || tokens[i - 1].is("?.")));
        if !is_call {
            continue;
        }
        let piped = i > 0 && tokens[i - 1].is("|");
        let wanted = usize::from(!piped);
        // Find the argument's token range at depth 0 of this call.
        let (mut depth, mut arg, mut first, mut last) = (0usize, 0usize, None, None);
        for (j, t) in tokens.iter().enumerate().skip(i + 2) {
            if depth == 0 && (t.is(")") || t.is(",")) {
                if arg == wanted || t.is(")") {
                    break;
                }
                arg += 1;
                continue;
            }
            if opens(t) {
                depth += 1;
            } else if closes(t) {
                if depth == 0 {
                    break; // a stray closer ends the call; the parser will say so
                }
                depth -= 1;
            }
            if arg == wanted {
                first.get_or_insert(j);
                last = Some(j);
            }
        }
        if let (Some(first), Some(last)) = (first, last)
            && (!tokens[first].is("{") || !closes_at(&tokens, first, last))
        {
            inserts.push((tokens[first].start, '{'));
            inserts.push((tokens[last].end, '}'));
        }
    }
    if inserts.is_empty() {
        return src.to_owned();
    }
    // Stable sort by position: an inner predicate ending where an outer one ends closes first.
    inserts.sort_by_key(|(at, _)| *at);
    let mut out = String::with_capacity(src.len() + inserts.len());
    let mut copied = 0;
    for (at, c) in inserts {
        out.push_str(&src[copied..at]);
        out.push(c);
        copied = at;
    }
    out.push_str(&src[copied..]);
    out
}

/// True when the `{` at `open` is closed by the token at `close`, so the argument is one block.
fn closes_at(tokens: &[Token<'_>], open: usize, close: usize) -> bool {
    let mut depth = 0usize;
    for (j, t) in tokens.iter().enumerate().take(close + 1).skip(open) {
        if opens(t) {
            depth += 1;
        } else if closes(t) {
            depth = depth.saturating_sub(1);
            if depth == 0 {
                return j == close;
            }
        }
    }
    false
}

/// True when the token ends an operand of a comparison-level operator (scanning either way).
fn is_boundary(tokens: &[Token<'_>], i: usize) -> bool {
    let t = &tokens[i];
    match t.kind {
        Tok::Ident => match t.text {
            "and" | "or" | "let" | "if" | "else" => true,
            "not" => tokens
                .get(i + 1)
                .is_some_and(|n| n.kind == Tok::Ident && NEGATABLE.contains(&n.text)),
            w => NEGATABLE.contains(&w),
        },
        Tok::Punct => matches!(
            t.text,
            "," | ";" | "?" | ":" | "|" | "==" | "!=" | "<" | ">" | "<=" | ">=" | "&&" | "||" | "="
        ),
        _ => false,
    }
}

fn opens(t: &Token<'_>) -> bool {
    t.kind == Tok::Punct && matches!(t.text, "(" | "[" | "{")
}

fn closes(t: &Token<'_>) -> bool {
    t.kind == Tok::Punct && matches!(t.text, ")" | "]" | "}")
}

/// Rewrites the first `a not OP b` (OP other than `in`) into `not (a OP b)`.
fn negate_once(src: &str) -> Option<String> {
    let tokens = lex(src);
    let not = (0..tokens.len().saturating_sub(1)).find(|&i| {
        let (t, n) = (&tokens[i], &tokens[i + 1]);
        t.kind == Tok::Ident
            && t.text == "not"
            && n.kind == Tok::Ident
            && n.text != "in"
            && NEGATABLE.contains(&n.text)
    })?;
    let op = not + 1;

    let mut left = not;
    let mut depth = 0usize;
    while left > 0 {
        let t = &tokens[left - 1];
        if closes(t) {
            depth += 1;
        } else if opens(t) {
            if depth == 0 {
                break;
            }
            depth -= 1;
        } else if depth == 0 && is_boundary(&tokens, left - 1) {
            break;
        }
        left -= 1;
    }

    let mut right = op + 1;
    depth = 0;
    while right < tokens.len() {
        let t = &tokens[right];
        if opens(t) {
            depth += 1;
        } else if closes(t) {
            if depth == 0 {
                break;
            }
            depth -= 1;
        } else if depth == 0 && is_boundary(&tokens, right) {
            break;
        }
        right += 1;
    }
    if left == not || right == op + 1 {
        // A missing operand: leave it for the parser to report.
        return None;
    }

    let left_start = tokens[left].start;
    let right_end = tokens[right - 1].end;
    let mut out = String::with_capacity(src.len() + 6);
    out.push_str(&src[..left_start]);
    out.push_str("not (");
    out.push_str(&src[left_start..tokens[not].start]);
    out.push_str(&src[tokens[op].start..right_end]);
    out.push(')');
    out.push_str(&src[right_end..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_go_spellings() {
        let cases = [
            ("data.x == 1", "data.x == 1"),
            (
                "any(data.u, .name == \"a\")",
                "any(data.u, {#.name == \"a\"})",
            ),
            ("all(data.u, {.uid != 0})", "all(data.u, {#.uid != 0})"),
            ("sortBy(l, .age, \"desc\")", "sortBy(l, {#.age}, \"desc\")"),
            ("all(l, any(#.t, # == 1))", "all(l, {any(#.t, {# == 1})})"),
            ("l | map(# * 2)", "l | map({# * 2})"),
            ("count(l)", "count(l)"),
            ("all(l, {a: 1}.a == 1)", "all(l, {{a: 1}.a == 1})"),
            ("x.all(1)", "x.all(1)"),
            ("data.a.b", "data.a.b"),
            ("f(x).y", "f(x).y"),
            ("data.s not contains \"x\"", "not (data.s contains \"x\")"),
            (
                "data.ok && data.s not matches \"^a\" || x",
                "data.ok && not (data.s matches \"^a\") || x",
            ),
            (
                "len(data.l) > 0 and data.l[0] not startsWith 'v' + \"1\"",
                "len(data.l) > 0 and not (data.l[0] startsWith 'v' + \"1\")",
            ),
            ("f(a not endsWith b, c)", "f(not (a endsWith b), c)"),
            (
                "a not contains b and c not contains d",
                "not (a contains b) and not (c contains d)",
            ),
            ("x not in [1]", "x not in [1]"),
            ("not contains", "not contains"),
        ];
        for (src, want) in cases {
            assert_eq!(rewrite(src), want, "{src}");
        }
    }
}
