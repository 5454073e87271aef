//! Go's `encoding/json` rules for reading a JSON object into a struct, in one place.
//!
//! Reglet plugins and their hosts are Go programs, so a document means what Go's decoder makes of
//! it, and reading it any other way lets a plugin's result say one thing to Reglet and another to
//! us. Go's `decode.go` (`object()` and `literalStore()`) reads an object into a struct like this:
//!
//! - **Keys find fields case-insensitively.** A key first looks for a field with exactly its name,
//!   then for one whose name is equal under Unicode *simple* case folding (`bytes.EqualFold`).
//!   Besides the ASCII letter pairs, the only non-ASCII characters that fold to an ASCII letter are
//!   `ſ` (U+017F, folds to `s`) and the Kelvin sign `K` (U+212A, folds to `k`): `"ſtatus"` is
//!   `status`, while `ı` and `İ` match no ASCII letter. Keys that find no field are skipped.
//! - **Every key is applied, in document order,** so when several keys reach the same field the
//!   last one wins. A repeated object-valued key is decoded *into* what the earlier one left (a
//!   struct keeps the fields the second object does not mention; a map keeps its other entries).
//! - **`null` depends on the Go type of the field.** For a bool, string, number, `time.Time` or
//!   struct it does nothing: the field keeps what it had. For a pointer, slice, map or interface it
//!   sets `nil`.
//!
//! One mechanism carries these rules: a type says how a value decodes *into* it with [`GoDecode`],
//! and a struct lists its wire names with [`GoStruct`]. The Rust type of each field stands for its
//! Go type:
//!
//! | Go type | Rust type | on `null` |
//! |---|---|---|
//! | `bool`, `string`, integers, floats, `time.Time` | `bool`, `String`, `i64`, ..., [`Timestamp`] | unchanged |
//! | a struct | a type implementing [`GoStruct`] | unchanged |
//! | `*T` | `Option<T>` | `None` (a later object decodes into the `Some`) |
//! | `[]T` | `Vec<T>` (elements decoded in place, as Go does) | emptied |
//! | `map[string]T` | `BTreeMap<String, T>` or `Map<String, Value>` (entries added) | emptied |
//! | `interface{}`, `json.RawMessage` | [`Value`] | `Value::Null` |
//!
//! Where a Go value type is kept in an `Option` only to remember whether the document had it (a
//! `time.Time` or an `omitempty` string), [`decode_present`] keeps Go's "unchanged on null" rule.
//! Go's nil and empty slices and maps are the same `Vec`/map here; an `Option` around one tells them
//! apart where the wire shape needs it.
//!
//! Field names must be ASCII (every Reglet wire name is; a non-ASCII name does not compile), which
//! is what lets [`equal_fold`] be exact with two special cases, as Go's own `foldFunc` is for ASCII
//! names.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
#[doc(no_inline)]
pub use serde::Deserializer;
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::DecodeError;
use crate::timestamp::Timestamp;

/// A type a JSON value can be decoded into the way Go's `encoding/json` decodes into a variable
/// of the Go type it stands for (see the module table).
pub trait GoDecode {
    /// Decodes the next value of `deserializer` into `self`, which keeps what Go would keep.
    ///
    /// # Errors
    ///
    /// A value of the wrong JSON type for the field, or a syntax error, as `D::Error`.
    fn go_decode<'de, D: Deserializer<'de>>(&mut self, deserializer: D) -> Result<(), D::Error>;
}

/// A Go struct: its wire field names, and how to decode a value into each field.
///
/// Usually written with [`go_struct!`](crate::go_struct), which also implements [`GoDecode`] for
/// the type through [`decode_struct`].
pub trait GoStruct {
    /// The JSON names of the fields: the json tag, or the Go field name when there is none. ASCII
    /// only.
    const FIELDS: &'static [&'static str];

    /// Decodes a value into the field whose wire name is `field` (one of [`GoStruct::FIELDS`]).
    ///
    /// # Errors
    ///
    /// Whatever decoding the field's value returns.
    fn decode_field<'de, D: Deserializer<'de>>(
        &mut self,
        field: &'static str,
        value: D,
    ) -> Result<(), D::Error>;
}

/// Implements [`GoStruct`] and [`GoDecode`] for a struct from its field table: each entry pairs a
/// wire name with the field it fills and, after `with`, the function that decodes it when that is
/// not [`GoDecode::go_decode`] (e.g. [`decode_present`]). The struct must implement `Default`.
///
/// ```
/// use reglet_domain::go_struct;
/// use reglet_domain::go_json;
///
/// #[derive(Default)]
/// struct Probe {
///     status: String,
///     count: i64,
/// }
/// go_struct!(Probe { "status" => status, "count" => count });
///
/// // `ſ` folds to `s`, `null` leaves a string as it was, and key case does not matter.
/// let doc = r#"{"ſtatus":"up","Status":null,"COUNT":2}"#;
/// let probe: Probe = go_json::from_slice("probe", doc.as_bytes()).unwrap();
/// assert_eq!((probe.status.as_str(), probe.count), ("up", 2));
/// ```
#[macro_export]
macro_rules! go_struct {
    ($ty:ident { $($wire:literal => $field:ident $(with $decode:path)?),* $(,)? }) => {
        impl $crate::go_json::GoStruct for $ty {
            const FIELDS: &'static [&'static str] = &[$($wire),*];

            fn decode_field<'de, D: $crate::go_json::Deserializer<'de>>(
                &mut self,
                field: &'static str,
                value: D,
            ) -> ::core::result::Result<(), D::Error> {
                match field {
                    $($wire => $crate::go_struct!(@decode self.$field, value $(, $decode)?),)*
                    _ => ::core::unreachable!("{field} is not in FIELDS"),
                }
            }
        }

        impl $crate::go_json::GoDecode for $ty {
            fn go_decode<'de, D: $crate::go_json::Deserializer<'de>>(
                &mut self,
                deserializer: D,
            ) -> ::core::result::Result<(), D::Error> {
                $crate::go_json::decode_struct(self, deserializer)
            }
        }
    };
    (@decode $place:expr, $value:ident) => {
        $crate::go_json::GoDecode::go_decode(&mut $place, $value)
    };
    (@decode $place:expr, $value:ident, $decode:path) => {
        $decode(&mut $place, $value)
    };
}

/// Go's `bytes.EqualFold` for an ASCII `name` against any `key`: equal under Unicode simple case
/// folding.
///
/// # Panics
///
/// In debug builds, when `name` is not ASCII (the matcher would not be exact).
pub fn equal_fold(name: &str, key: &str) -> bool {
    debug_assert!(name.is_ascii(), "Go-rule field names are ASCII: {name:?}");
    let mut key = key.chars();
    for byte in name.bytes() {
        let folds = match key.next() {
            None => false,
            Some(c) if c.is_ascii() => (c as u8).eq_ignore_ascii_case(&byte),
            Some('\u{017F}') => byte.eq_ignore_ascii_case(&b's'),
            Some('\u{212A}') => byte.eq_ignore_ascii_case(&b'k'),
            Some(_) => false,
        };
        if !folds {
            return false;
        }
    }
    key.next().is_none()
}

/// The field `key` reaches: the one named exactly `key`, else the first whose name folds to it.
pub fn field_for(fields: &[&'static str], key: &str) -> Option<&'static str> {
    let exact = fields.iter().find(|name| **name == key);
    exact
        .or_else(|| fields.iter().find(|name| equal_fold(name, key)))
        .copied()
}

const fn all_ascii(names: &[&str]) -> bool {
    let mut i = 0;
    while i < names.len() {
        if !names[i].is_ascii() {
            return false;
        }
        i += 1;
    }
    true
}

/// Decodes a JSON object into the struct `target` by Go's rules; `null` leaves it unchanged.
///
/// # Errors
///
/// A value that is neither an object nor `null`, or an error from a field (the caller's
/// [`serde_path_to_error`] names its key).
pub fn decode_struct<'de, T: GoStruct, D: Deserializer<'de>>(
    target: &mut T,
    deserializer: D,
) -> Result<(), D::Error> {
    const { assert!(all_ascii(T::FIELDS), "Go-rule field names must be ASCII") };
    deserializer.deserialize_option(StructVisitor(target))
}

struct StructVisitor<'a, T>(&'a mut T);

impl<'de, T: GoStruct> Visitor<'de> for StructVisitor<'_, T> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            match field_for(T::FIELDS, &key) {
                Some(field) => map.next_value_seed(FieldSeed {
                    target: &mut *self.0,
                    field,
                })?,
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

struct FieldSeed<'a, T> {
    target: &'a mut T,
    field: &'static str,
}

impl<'de, T: GoStruct> DeserializeSeed<'de> for FieldSeed<'_, T> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        self.target.decode_field(self.field, deserializer)
    }
}

/// An object key as the parser gives it, borrowed when it has no escapes.
struct Key<'a>(std::borrow::Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// Decodes into an existing value: the seed form of [`GoDecode`].
struct InPlace<'a, T>(&'a mut T);

impl<'de, T: GoDecode> DeserializeSeed<'de> for InPlace<'_, T> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        self.0.go_decode(deserializer)
    }
}

/// Go value types: `null` leaves them unchanged, anything else replaces them.
macro_rules! go_value {
    ($($t:ty),* $(,)?) => {$(
        impl GoDecode for $t {
            fn go_decode<'de, D: Deserializer<'de>>(&mut self, d: D) -> Result<(), D::Error> {
                if let Some(value) = Option::<$t>::deserialize(d)? {
                    *self = value;
                }
                Ok(())
            }
        }
    )*};
}

go_value!(bool, String, i32, i64, u16, u32, u64, f64, Timestamp);

/// Go's `interface{}` (and `json.RawMessage`): replaced by whatever the document holds.
impl GoDecode for Value {
    fn go_decode<'de, D: Deserializer<'de>>(&mut self, d: D) -> Result<(), D::Error> {
        *self = Value::deserialize(d)?;
        Ok(())
    }
}

/// A boxed value decodes as the value (Go has no boxes; `Option<Box<T>>` is a `*T`).
impl<T: GoDecode> GoDecode for Box<T> {
    fn go_decode<'de, D: Deserializer<'de>>(&mut self, d: D) -> Result<(), D::Error> {
        (**self).go_decode(d)
    }
}

/// Go's pointer: `null` sets `None`; a value decodes into the existing `Some`, or a fresh one.
impl<T: GoDecode + Default> GoDecode for Option<T> {
    fn go_decode<'de, D: Deserializer<'de>>(&mut self, d: D) -> Result<(), D::Error> {
        struct PointerVisitor<'a, T>(&'a mut Option<T>);
        impl<'de, T: GoDecode + Default> Visitor<'de> for PointerVisitor<'_, T> {
            type Value = ();
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a value or null")
            }
            fn visit_none<E>(self) -> Result<(), E> {
                *self.0 = None;
                Ok(())
            }
            fn visit_unit<E>(self) -> Result<(), E> {
                *self.0 = None;
                Ok(())
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
                self.0.get_or_insert_with(T::default).go_decode(d)
            }
        }
        d.deserialize_option(PointerVisitor(self))
    }
}

/// Decodes a Go *value* type held in an `Option` that records whether the document had it: `null`
/// leaves it unchanged (as Go leaves a `time.Time` or a string), a value sets it.
///
/// # Errors
///
/// A value of the wrong type for `T`.
pub fn decode_present<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    slot: &mut Option<T>,
    d: D,
) -> Result<(), D::Error> {
    if let Some(value) = Option::<T>::deserialize(d)? {
        *slot = Some(value);
    }
    Ok(())
}

/// Go's slice: `null` empties it; an array decodes element by element into the elements already
/// there (as Go does), then drops the rest.
impl<T: GoDecode + Default> GoDecode for Vec<T> {
    fn go_decode<'de, D: Deserializer<'de>>(&mut self, d: D) -> Result<(), D::Error> {
        struct SliceVisitor<'a, T>(&'a mut Vec<T>);
        impl<'de, T: GoDecode + Default> Visitor<'de> for SliceVisitor<'_, T> {
            type Value = ();
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array")
            }
            fn visit_none<E>(self) -> Result<(), E> {
                self.0.clear();
                Ok(())
            }
            fn visit_unit<E>(self) -> Result<(), E> {
                self.0.clear();
                Ok(())
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
                d.deserialize_seq(self)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
                let mut len = 0;
                loop {
                    if len == self.0.len() {
                        self.0.push(T::default());
                    }
                    if seq.next_element_seed(InPlace(&mut self.0[len]))?.is_none() {
                        break;
                    }
                    len += 1;
                }
                self.0.truncate(len);
                Ok(())
            }
        }
        d.deserialize_option(SliceVisitor(self))
    }
}

/// The two map types Go's `map[string]T` is read into.
trait GoMap {
    type Item: GoDecode + Default;
    fn clear(&mut self);
    fn insert(&mut self, key: String, value: Self::Item);
}

impl GoMap for Map<String, Value> {
    type Item = Value;
    fn clear(&mut self) {
        Map::clear(self);
    }
    fn insert(&mut self, key: String, value: Value) {
        Map::insert(self, key, value);
    }
}

impl<T: GoDecode + Default> GoMap for BTreeMap<String, T> {
    type Item = T;
    fn clear(&mut self) {
        BTreeMap::clear(self);
    }
    fn insert(&mut self, key: String, value: T) {
        BTreeMap::insert(self, key, value);
    }
}

/// Go's map: `null` empties it; each entry of an object is decoded into a fresh value and added
/// (the keys are data, matched exactly; a repeated key replaces the entry).
fn decode_map<'de, M: GoMap, D: Deserializer<'de>>(map: &mut M, d: D) -> Result<(), D::Error> {
    struct MapVisitor<'a, M>(&'a mut M);
    impl<'de, M: GoMap> Visitor<'de> for MapVisitor<'_, M> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_none<E>(self) -> Result<(), E> {
            self.0.clear();
            Ok(())
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            self.0.clear();
            Ok(())
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_map(self)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while let Some(key) = map.next_key::<String>()? {
                let mut value = M::Item::default();
                map.next_value_seed(InPlace(&mut value))?;
                self.0.insert(key, value);
            }
            Ok(())
        }
    }
    d.deserialize_option(MapVisitor(map))
}

/// Go's `map[string]interface{}`.
impl GoDecode for Map<String, Value> {
    fn go_decode<'de, D: Deserializer<'de>>(&mut self, d: D) -> Result<(), D::Error> {
        decode_map(self, d)
    }
}

/// Go's `map[string]T`.
impl<T: GoDecode + Default> GoDecode for BTreeMap<String, T> {
    fn go_decode<'de, D: Deserializer<'de>>(&mut self, d: D) -> Result<(), D::Error> {
        decode_map(self, d)
    }
}

/// Decodes a fresh `T` by Go's rules; the body of a `Deserialize` impl for a Go-shaped type.
///
/// # Errors
///
/// Whatever [`GoDecode::go_decode`] returns.
pub fn deserialize<'de, T: GoDecode + Default, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<T, D::Error> {
    let mut out = T::default();
    out.go_decode(deserializer)?;
    Ok(out)
}

/// A document decoded by Go's rules, so the path-tracking wrapper can drive it.
struct Document<T>(T);

impl<'de, T: GoDecode + Default> Deserialize<'de> for Document<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserialize(deserializer).map(Document)
    }
}

/// Decodes the document `bytes` into a fresh `T` by Go's rules, in one pass over the bytes.
///
/// # Errors
///
/// A [`DecodeError`] about `what` when `bytes` are not UTF-8, not JSON, or hold a value of the
/// wrong type; the reason names the key path of the offending value.
pub fn from_slice<T: GoDecode + Default>(what: &str, bytes: &[u8]) -> Result<T, DecodeError> {
    // Tracking the path of every value costs a third of the decode, so it is done only to explain
    // a failure, by decoding again.
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    if let Ok(out) = deserialize::<T, _>(&mut deserializer)
        && deserializer.end().is_ok()
    {
        return Ok(out);
    }
    if let Err(err) = std::str::from_utf8(bytes) {
        return Err(DecodeError::new(
            what,
            format!("not valid UTF-8 (byte {})", err.valid_up_to()),
        ));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let Document(out) = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            DecodeError::new(what, format!("not valid JSON: {inner}"))
        } else {
            explain(what, &path, &inner)
        }
    })?;
    deserializer
        .end()
        .map_err(|err| DecodeError::new(what, format!("not valid JSON: {err}")))?;
    Ok(out)
}

/// Decodes an already parsed `value` into a fresh `T` by Go's rules. Keys the parser already
/// merged (a `Value` keeps one entry per key) cannot be told apart any more; prefer [`from_slice`].
///
/// # Errors
///
/// A [`DecodeError`] about `what` naming the key path of a value of the wrong type.
pub fn from_value<T: GoDecode + Default>(what: &str, value: Value) -> Result<T, DecodeError> {
    serde_path_to_error::deserialize(value)
        .map(|Document(out)| out)
        .map_err(|err| {
            let path = err.path().to_string();
            explain(what, &path, err.inner())
        })
}

fn explain(what: &str, path: &str, inner: &serde_json::Error) -> DecodeError {
    if path == "." {
        DecodeError::new(what, inner.to_string())
    } else {
        DecodeError::new(what, format!("key {path:?}: {inner}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn keys_fold_as_go_folds_them() {
        let cases = [
            ("status", "status", true),
            ("status", "STATUS", true),
            ("status", "ſtatus", true),
            ("status", "ſTATUſ", true),
            ("Status", "ſtatus", true),
            ("kind", "\u{212A}ind", true),
            ("kind", "\u{212A}IND", true),
            ("is_ok", "IS_OK", true),
            ("kind", "ķind", false),
            ("kind", "kınd", false),
            ("kind", "kİnd", false),
            ("status", "śtatus", false),
            ("is_ok", "is-ok", false),
            ("a@", "a`", false),
            ("status", "statu", false),
            ("status", "statuss", false),
            ("status", "ſtatuſſ", false),
        ];
        for (name, key, want) in cases {
            assert_eq!(equal_fold(name, key), want, "{name} vs {key}");
        }
    }

    /// Go 1.19's `strings.EqualFold`, run over every rune against every ASCII letter, finds these
    /// two and no other non-ASCII rune equal to an ASCII letter.
    #[test]
    fn only_long_s_and_kelvin_fold_to_ascii_letters() {
        let mut found = Vec::new();
        for c in ('\u{80}'..=char::MAX).map(String::from) {
            for letter in b'a'..=b'z' {
                if equal_fold(&(letter as char).to_string(), &c) {
                    found.push((c.clone(), letter as char));
                }
            }
        }
        assert_eq!(
            found,
            [("\u{17F}".to_owned(), 's'), ("\u{212A}".to_owned(), 'k')]
        );
    }

    #[test]
    fn an_exact_name_is_preferred_to_a_folded_one() {
        assert_eq!(field_for(&["Name", "name"], "name"), Some("name"));
        assert_eq!(field_for(&["Name", "name"], "NAME"), Some("Name"));
        assert_eq!(field_for(&["Name"], "nom"), None);
    }

    #[derive(Debug, Default, PartialEq)]
    struct Inner {
        message: String,
        code: String,
    }
    go_struct!(Inner { "message" => message, "code" => code });

    #[derive(Debug, Default, PartialEq)]
    struct Outer {
        status: String,
        flag: bool,
        count: i64,
        at: Option<Timestamp>,
        error: Option<Inner>,
        list: Vec<Inner>,
        data: Option<Map<String, Value>>,
        any: Value,
    }
    go_struct!(Outer {
        "status" => status,
        "flag" => flag,
        "count" => count,
        "at" => at with decode_present,
        "error" => error,
        "list" => list,
        "data" => data,
        "any" => any,
    });

    fn inner(message: &str, code: &str) -> Inner {
        Inner {
            message: message.into(),
            code: code.into(),
        }
    }

    fn object(value: Value) -> Option<Map<String, Value>> {
        value.as_object().cloned()
    }

    /// Each input with what Go 1.19 decodes it to (checked by unmarshalling the same documents
    /// into the equivalent Go struct).
    #[test]
    fn nulls_and_repeated_keys_follow_go() {
        let at = "2026-01-01T00:00:00Z".parse::<Timestamp>().unwrap();
        let cases = [
            (
                r#"{"status":"a","flag":true,"count":5,"at":"2026-01-01T00:00:00Z"}"#,
                Outer {
                    status: "a".into(),
                    flag: true,
                    count: 5,
                    at: Some(at),
                    ..Outer::default()
                },
            ),
            (
                r#"{"status":"a","status":null,"flag":true,"FLAG":null,"count":5,"count":null,
                   "at":"2026-01-01T00:00:00Z","at":null}"#,
                Outer {
                    status: "a".into(),
                    flag: true,
                    count: 5,
                    at: Some(at),
                    ..Outer::default()
                },
            ),
            (
                r#"{"status":"a","STATUS":"b","ſtatus":"c"}"#,
                Outer {
                    status: "c".into(),
                    ..Outer::default()
                },
            ),
            (
                r#"{"error":{"message":"a","code":"x"},"error":{"message":"b"}}"#,
                Outer {
                    error: Some(inner("b", "x")),
                    ..Outer::default()
                },
            ),
            (
                r#"{"error":{"message":"a"},"error":null}"#,
                Outer::default(),
            ),
            (
                r#"{"error":{"message":"a","message":null,"CODE":"c"}}"#,
                Outer {
                    error: Some(inner("a", "c")),
                    ..Outer::default()
                },
            ),
            (
                r#"{"list":[{"message":"x","code":"c"},{"message":"y"}],"list":[{"message":"z"}]}"#,
                Outer {
                    list: vec![inner("z", "c")],
                    ..Outer::default()
                },
            ),
            (
                r#"{"list":[{"message":"x"}],"list":null}"#,
                Outer::default(),
            ),
            (
                r#"{"data":{"a":1},"DATA":{"b":2,"b":3}}"#,
                Outer {
                    data: object(serde_json::json!({"a": 1, "b": 3})),
                    ..Outer::default()
                },
            ),
            (r#"{"data":{"a":1},"data":null}"#, Outer::default()),
            (
                r#"{"any":{"a":1},"any":[true]}"#,
                Outer {
                    any: serde_json::json!([true]),
                    ..Outer::default()
                },
            ),
            (r#"{"any":1,"any":null}"#, Outer::default()),
            (r#"{"unknown":{"x":[1]},"statusx":"s"}"#, Outer::default()),
            ("null", Outer::default()),
        ];
        for (input, want) in cases {
            let got: Outer = from_slice("outer", input.as_bytes()).unwrap();
            assert_eq!(got, want, "{input}");
        }
    }

    #[test]
    fn wrong_types_are_errors_that_name_the_key() {
        for (input, key) in [
            (r#"{"status":1}"#, "status"),
            (r#"{"FLAG":"yes"}"#, "FLAG"),
            (r#"{"error":{"code":[]}}"#, "error.code"),
            (r#"{"list":[{},{"message":2}]}"#, "list[1].message"),
            (r#"{"data":[1]}"#, "data"),
        ] {
            let err = from_slice::<Outer>("outer", input.as_bytes()).unwrap_err();
            assert!(err.reason().contains(&format!("{key:?}")), "{input}: {err}");
        }
        let err = from_slice::<Outer>("outer", b"[1]").unwrap_err();
        assert!(err.reason().contains("JSON object"), "{err}");
        let err = from_slice::<Outer>("outer", br#"{"status":"a"} x"#).unwrap_err();
        assert!(err.reason().contains("not valid JSON"), "{err}");
    }

    /// A struct whose field names carry the letters Go folds specially.
    #[derive(Debug, Default, PartialEq)]
    struct Probe {
        status: String,
        kind: String,
        task: bool,
        size: i64,
        ks: Option<String>,
    }
    go_struct!(Probe {
        "status" => status,
        "kind" => kind,
        "task" => task,
        "size" => size,
        "ks" => ks,
    });

    const NAMES: [&str; 5] = ["status", "kind", "task", "size", "ks"];

    /// Spells `name` with a case chosen per letter by `seed`, using `ſ` and the Kelvin sign (which
    /// Go folds to `s` and `k`) for some; with `foreign`, one letter becomes a look-alike that Go
    /// does not fold to it (`ś`, `ķ`, `ı`).
    fn spell(name: &str, seed: u64, foreign: bool) -> String {
        let mut out = String::new();
        let mut replaced = false;
        for (i, c) in name.chars().enumerate() {
            if foreign && !replaced {
                let look_alike = match c {
                    's' => Some('ś'),
                    'k' => Some('ķ'),
                    'i' => Some('ı'),
                    _ => None,
                };
                if let Some(other) = look_alike {
                    out.push(other);
                    replaced = true;
                    continue;
                }
            }
            out.push(match (seed >> (2 * i)) & 3 {
                0 => c,
                1 => c.to_ascii_uppercase(),
                2 if c == 's' => '\u{17F}',
                2 if c == 'k' => '\u{212A}',
                _ => c.to_ascii_uppercase(),
            });
        }
        out
    }

    /// The wire value for field `field` from `n`, or `null`.
    fn wire_value(field: usize, n: Option<u8>) -> Value {
        match (field, n) {
            (_, None) => Value::Null,
            (0 | 1, Some(n)) => Value::String(format!("v{n}")),
            (2, Some(n)) => Value::Bool(n % 2 == 0),
            (3, Some(n)) => Value::from(n),
            (_, Some(n)) => Value::String(format!("p{n}")),
        }
    }

    proptest! {
        /// Go's rule as a model: a key spelled from a field name with folding substitutions reaches
        /// that field and a look-alike reaches none; keys apply in order, so the last one wins; a
        /// null leaves a value field as it was and clears a pointer.
        #[test]
        fn decoding_agrees_with_a_model_of_go(
            entries in prop::collection::vec(
                (0..NAMES.len(), any::<u64>(), prop::bool::weighted(0.2), prop::option::weighted(0.7, any::<u8>())),
                0..12,
            )
        ) {
            let mut want = Probe::default();
            let mut text = String::from("{");
            for (i, (field, seed, foreign, n)) in entries.iter().enumerate() {
                let key = spell(NAMES[*field], *seed, *foreign);
                let value = wire_value(*field, *n);
                if i > 0 {
                    text.push(',');
                }
                text += &format!("{}:{value}", Value::String(key));
                if *foreign {
                    continue;
                }
                match (*field, &value) {
                    (4, Value::Null) => want.ks = None,
                    (_, Value::Null) => {}
                    (0, Value::String(s)) => want.status = s.clone(),
                    (1, Value::String(s)) => want.kind = s.clone(),
                    (2, Value::Bool(b)) => want.task = *b,
                    (3, v) => want.size = v.as_i64().unwrap(),
                    (_, Value::String(s)) => want.ks = Some(s.clone()),
                    other => unreachable!("{other:?}"),
                }
            }
            text.push('}');
            let got: Probe = from_slice("probe", text.as_bytes()).unwrap();
            prop_assert_eq!(got, want, "{}", text);
        }
    }
}
