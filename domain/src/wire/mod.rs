//! Wire codecs for the two Reglet ABI generations.
//!
//! Go's `encoding/json` matches object keys to struct fields case-insensitively (an exact match
//! wins), ignores unknown keys and leaves missing or `null` fields at their zero value. Gen 1 guests
//! rely on this: their Evidence has no JSON tags, so it travels as `Status`, `Data`, ... The
//! decoders here reproduce those rules by first renaming the keys of every known object to their
//! canonical spelling ([`Shape`]), then decoding with serde and reporting errors with the JSON path
//! of the offending key.

pub mod gen1;
pub mod gen2;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

/// Which Reglet plugin ABI a module speaks, detected from its exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AbiGeneration {
    /// `describe`, `schema`, `observe`; Evidence with capitalised keys and a boolean status.
    Gen1,
    /// `_manifest`, `_observe`; Result with lower-case keys and a string status.
    Gen2,
}

impl std::fmt::Display for AbiGeneration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AbiGeneration::Gen1 => "gen1",
            AbiGeneration::Gen2 => "gen2",
        })
    }
}

/// A plugin document could not be decoded; says where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: {reason}")]
pub struct DecodeError {
    what: String,
    reason: String,
}

impl DecodeError {
    /// An error about the document `what` (e.g. "evidence"), with a reason that names the key.
    pub fn new(what: impl Into<String>, reason: impl Into<String>) -> Self {
        DecodeError {
            what: what.into(),
            reason: reason.into(),
        }
    }

    /// Which document failed ("evidence", "plugin info", ...).
    pub fn what(&self) -> &str {
        &self.what
    }

    /// Why it failed, including the key path when known.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

/// The known object structure of a wire document, used to canonicalise key spelling.
#[derive(Debug)]
pub(crate) enum Shape {
    /// A value whose inner keys (if any) are data and must not be touched.
    Leaf,
    /// An object with known fields; keys matching a field case-insensitively are renamed to it.
    Object(&'static [(&'static str, &'static Shape)]),
    /// An array whose elements have the given shape.
    ListOf(&'static Shape),
    /// An object with free-form keys whose values have the given shape.
    MapOf(&'static Shape),
}

pub(crate) static LEAF: Shape = Shape::Leaf;

/// Renames the keys of every known object in `value` to their canonical spelling, Go style.
pub(crate) fn canonicalize(value: Value, shape: &Shape) -> Value {
    match (value, shape) {
        (Value::Object(map), Shape::Object(fields)) => {
            let mut out = Map::with_capacity(map.len());
            for (key, inner) in map {
                match field_for(&key, fields) {
                    Some((name, field_shape)) => {
                        out.insert(name.to_owned(), canonicalize(inner, field_shape));
                    }
                    None => {
                        out.insert(key, inner);
                    }
                }
            }
            Value::Object(out)
        }
        (Value::Array(items), Shape::ListOf(item_shape)) => Value::Array(
            items
                .into_iter()
                .map(|item| canonicalize(item, item_shape))
                .collect(),
        ),
        (Value::Object(map), Shape::MapOf(value_shape)) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, canonicalize(v, value_shape)))
                .collect(),
        ),
        (other, _) => other,
    }
}

fn field_for<'a>(
    key: &str,
    fields: &'a [(&'static str, &'static Shape)],
) -> Option<(&'static str, &'a Shape)> {
    if let Some((name, shape)) = fields.iter().find(|(name, _)| *name == key) {
        return Some((name, *shape));
    }
    fields
        .iter()
        .find(|(name, _)| fold_eq(name, key))
        .map(|(name, shape)| (*name, *shape))
}

/// Case-insensitive comparison in the spirit of Go's `strings.EqualFold`.
fn fold_eq(a: &str, b: &str) -> bool {
    let mut a = a.chars().flat_map(char::to_lowercase);
    let mut b = b.chars().flat_map(char::to_lowercase);
    loop {
        match (a.next(), b.next()) {
            (None, None) => return true,
            (Some(x), Some(y)) if x == y => {}
            _ => return false,
        }
    }
}

/// An object key as it comes from the parser, borrowed when it has no escapes.
struct Key<'a>(std::borrow::Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> serde::de::Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Owned(v.to_owned())))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// Walks a JSON object the way Go decodes into a struct: each key is matched to one of `fields`
/// (exactly, else case-insensitively), later keys overwrite earlier ones, unknown keys are
/// skipped. `field` is called with the index of the matched field to read its value.
pub(crate) fn visit_fields<'de, A, F>(
    mut map: A,
    fields: &[&str],
    mut field: F,
) -> Result<(), A::Error>
where
    A: serde::de::MapAccess<'de>,
    F: FnMut(usize, &mut A) -> Result<(), A::Error>,
{
    while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
        let index = fields
            .iter()
            .position(|f| *f == key)
            .or_else(|| fields.iter().position(|f| fold_eq(f, &key)));
        match index {
            Some(i) => field(i, &mut map)?,
            None => {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
    }
    Ok(())
}

/// Decodes `bytes` straight into `T` (whose `Deserialize` matches keys Go's way), with
/// path-bearing errors.
pub(crate) fn decode_direct<T: DeserializeOwned>(
    what: &str,
    bytes: &[u8],
) -> Result<T, DecodeError> {
    // A successful parse implies valid UTF-8. Tracking the path of every value costs a third of
    // the decode, so both are done only to explain a failure.
    if let Ok(value) = serde_json::from_slice(bytes) {
        return Ok(value);
    }
    if let Err(err) = std::str::from_utf8(bytes) {
        return Err(DecodeError::new(
            what,
            format!("not valid UTF-8 (byte {})", err.valid_up_to()),
        ));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            DecodeError::new(what, format!("not valid JSON: {inner}"))
        } else if path == "." {
            DecodeError::new(what, inner.to_string())
        } else {
            DecodeError::new(what, format!("key {path:?}: {inner}"))
        }
    })?;
    deserializer
        .end()
        .map_err(|err| DecodeError::new(what, format!("not valid JSON: {err}")))?;
    Ok(value)
}

/// Parses `bytes` as JSON, canonicalises it against `shape` and decodes it, with path-bearing errors.
pub(crate) fn decode<T: DeserializeOwned>(
    what: &str,
    bytes: &[u8],
    shape: &Shape,
) -> Result<T, DecodeError> {
    let text = std::str::from_utf8(bytes).map_err(|err| {
        DecodeError::new(
            what,
            format!("not valid UTF-8 (byte {})", err.valid_up_to()),
        )
    })?;
    let value: Value = serde_json::from_str(text)
        .map_err(|err| DecodeError::new(what, format!("not valid JSON: {err}")))?;
    decode_value(what, value, shape)
}

/// Like [`decode`] for an already parsed value.
pub(crate) fn decode_value<T: DeserializeOwned>(
    what: &str,
    value: Value,
    shape: &Shape,
) -> Result<T, DecodeError> {
    let value = canonicalize(value, shape);
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if path == "." {
            DecodeError::new(what, inner.to_string())
        } else {
            DecodeError::new(what, format!("key {path:?}: {inner}"))
        }
    })
}

/// Go leaves a field at its zero value when the JSON says `null`; serde would reject it.
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    static INNER: Shape = Shape::Object(&[("message", &LEAF)]);
    static OUTER: Shape = Shape::Object(&[
        ("Status", &LEAF),
        ("Error", &INNER),
        ("Data", &LEAF),
        ("List", &LIST),
    ]);
    static LIST: Shape = Shape::ListOf(&INNER);

    #[test]
    fn keys_are_matched_case_insensitively_and_data_is_untouched() {
        let value = json!({
            "status": true,
            "ERROR": {"MESSAGE": "boom"},
            "data": {"Status": 1, "MESSAGE": 2},
            "list": [{"Message": "a"}],
            "Unknown": 3
        });
        let out = canonicalize(value, &OUTER);
        assert_eq!(
            out,
            json!({
                "Status": true,
                "Error": {"message": "boom"},
                "Data": {"Status": 1, "MESSAGE": 2},
                "List": [{"message": "a"}],
                "Unknown": 3
            })
        );
    }

    #[test]
    fn exact_match_wins_and_later_keys_overwrite() {
        let value = json!({"status": false, "Status": true});
        assert_eq!(canonicalize(value, &OUTER), json!({"Status": true}));
    }

    #[test]
    fn fold_eq_is_unicode_aware() {
        assert!(fold_eq("Status", "STATUS"));
        assert!(!fold_eq("Status", "Statu"));
    }
}
