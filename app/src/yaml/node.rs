//! `Node`: one YAML value and where it was written.

use std::fmt;

use serde_json::Value;

/// A position in a YAML file: line and column, both counted from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Mark {
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub column: usize,
}

impl fmt::Display for Mark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// What a scalar resolves to under the YAML 1.2 core schema.
#[derive(Debug, Clone, PartialEq)]
pub enum ScalarValue {
    /// `~`, `null` or nothing at all.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer that fits in 64 bits.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// Text: quoted, block, or plain text that is nothing else.
    Str,
}

/// A scalar: its text as written (after YAML unescaping) and what it resolves to.
///
/// Keeping the text lets a field that wants a string accept `version: 1.0` as `"1.0"`, the way
/// Reglet's decoder does, while a plugin config keeps the typed value.
#[derive(Debug, Clone, PartialEq)]
pub struct Scalar {
    /// The text of the scalar.
    pub text: String,
    /// The resolved value.
    pub value: ScalarValue,
}

/// The shape of a node.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// A scalar.
    Scalar(Scalar),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in document order. Keys are unique (duplicates are reported while reading).
    Map(Vec<(Node, Node)>),
}

/// A YAML value and the position where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The value.
    pub kind: Kind,
    /// Where it starts.
    pub mark: Mark,
}

impl Node {
    /// A short name of the node's type, for "expected X, found Y" messages.
    pub fn type_name(&self) -> &'static str {
        match &self.kind {
            Kind::Scalar(s) => match s.value {
                ScalarValue::Null => "null",
                ScalarValue::Bool(_) => "a boolean",
                ScalarValue::Int(_) => "an integer",
                ScalarValue::Float(_) => "a number",
                ScalarValue::Str => "a string",
            },
            Kind::Seq(_) => "a list",
            Kind::Map(_) => "a mapping",
        }
    }

    /// True for `~`, `null` or an empty value.
    pub fn is_null(&self) -> bool {
        matches!(
            &self.kind,
            Kind::Scalar(Scalar {
                value: ScalarValue::Null,
                ..
            })
        )
    }

    /// The text of a non-null scalar, whatever it resolves to; `None` for null and collections.
    pub fn scalar_text(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar(s) if s.value != ScalarValue::Null => Some(&s.text),
            _ => None,
        }
    }

    /// The entries of a mapping.
    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.kind {
            Kind::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The items of a sequence.
    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.kind {
            Kind::Seq(items) => Some(items),
            _ => None,
        }
    }

    /// The value under `key` in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.scalar_text() == Some(key))
            .map(|(_, v)| v)
    }

    /// The node as JSON, types preserved. Keys become their text; a non-finite float becomes its
    /// text, since JSON has no such number.
    pub fn to_json(&self) -> Value {
        match &self.kind {
            Kind::Scalar(s) => match s.value {
                ScalarValue::Null => Value::Null,
                ScalarValue::Bool(b) => Value::Bool(b),
                ScalarValue::Int(i) => Value::from(i),
                ScalarValue::Float(f) => serde_json::Number::from_f64(f)
                    .map(Value::Number)
                    .unwrap_or_else(|| Value::String(s.text.clone())),
                ScalarValue::Str => Value::String(s.text.clone()),
            },
            Kind::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            Kind::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (key_text(k), v.to_json()))
                    .collect(),
            ),
        }
    }
}

/// The text a mapping key stands for.
pub fn key_text(key: &Node) -> String {
    key_str(key).into_owned()
}

/// The text a mapping key stands for, borrowed when the key is a scalar (it almost always is).
pub fn key_str(key: &Node) -> std::borrow::Cow<'_, str> {
    match &key.kind {
        Kind::Scalar(s) => std::borrow::Cow::Borrowed(&s.text),
        _ => std::borrow::Cow::Owned(key.to_json().to_string()),
    }
}

/// Resolves a plain (unquoted) scalar under the YAML 1.2 core schema.
pub fn resolve_plain(text: &str) -> ScalarValue {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return ScalarValue::Null,
        "true" | "True" | "TRUE" => return ScalarValue::Bool(true),
        "false" | "False" | "FALSE" => return ScalarValue::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return ScalarValue::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return ScalarValue::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return ScalarValue::Float(f64::NAN),
        _ => {}
    }
    if let Some(i) = parse_int(text) {
        return ScalarValue::Int(i);
    }
    if is_float(text)
        && let Ok(f) = text.parse::<f64>()
    {
        return ScalarValue::Float(f);
    }
    ScalarValue::Str
}

fn parse_int(text: &str) -> Option<i64> {
    if let Some(hex) = text.strip_prefix("0x") {
        return i64::from_str_radix(hex, 16).ok();
    }
    if let Some(oct) = text.strip_prefix("0o") {
        return i64::from_str_radix(oct, 8).ok();
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// `[-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?`
fn is_float(text: &str) -> bool {
    let b = text.strip_prefix(['-', '+']).unwrap_or(text).as_bytes();
    let mut i = 0;
    let int_digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    i += int_digits;
    let mut frac_digits = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        frac_digits = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        i += frac_digits;
    }
    if int_digits == 0 && frac_digits == 0 {
        return false;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        let exp = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if exp == 0 {
            return false;
        }
        i += exp;
    }
    i == b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_scalars_resolve_by_the_core_schema() {
        let cases: &[(&str, ScalarValue)] = &[
            ("", ScalarValue::Null),
            ("~", ScalarValue::Null),
            ("true", ScalarValue::Bool(true)),
            ("FALSE", ScalarValue::Bool(false)),
            ("yes", ScalarValue::Str),
            ("42", ScalarValue::Int(42)),
            ("-7", ScalarValue::Int(-7)),
            ("0x1F", ScalarValue::Int(31)),
            ("0o17", ScalarValue::Int(15)),
            ("0644", ScalarValue::Int(644)),
            ("1.5", ScalarValue::Float(1.5)),
            ("1.", ScalarValue::Float(1.0)),
            (".5", ScalarValue::Float(0.5)),
            ("1e3", ScalarValue::Float(1000.0)),
            ("1.2.0", ScalarValue::Str),
            ("30s", ScalarValue::Str),
            ("99999999999999999999", ScalarValue::Float(1e20)),
            ("e3", ScalarValue::Str),
            (".", ScalarValue::Str),
        ];
        for (text, want) in cases {
            assert_eq!(&resolve_plain(text), want, "{text:?}");
        }
        assert!(matches!(resolve_plain(".nan"), ScalarValue::Float(f) if f.is_nan()));
    }
}
