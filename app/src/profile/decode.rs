//! Typed reading of a YAML tree that records every problem instead of stopping at the first.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::duration::parse_duration;
use super::error::{Location, ProfileError, Warning};
use crate::suggest;
use crate::yaml::{Kind, Node, key_str};

/// A value read from YAML and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Spanned<T> {
    pub value: T,
    pub at: Location,
}

/// Reads one file's tree, collecting errors and warnings.
pub(crate) struct Decoder {
    pub file: Arc<Path>,
    pub errors: Vec<ProfileError>,
    pub warnings: Vec<Warning>,
    /// Report unknown keys as warnings instead of errors (the system config, which Reglet and
    /// newer versions share, may hold keys this version does not know).
    pub lenient: bool,
}

/// The keys of one mapping, checked against the known ones.
pub(crate) struct Fields<'n> {
    entries: &'n [(Node, Node)],
}

impl<'n> Fields<'n> {
    /// The value under `key`; `None` when absent or null.
    pub fn get(&self, key: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(k, _)| key_str(k) == key)
            .map(|(_, v)| v)
            .filter(|v| !v.is_null())
    }
}

impl Decoder {
    /// A decoder for `file`.
    pub fn new(file: Arc<Path>) -> Self {
        Decoder {
            file,
            errors: Vec::new(),
            warnings: Vec::new(),
            lenient: false,
        }
    }

    /// The location of a node.
    pub fn at(&self, node: &Node) -> Location {
        Location::new(&self.file, node.mark)
    }

    /// Records a wrong-type error.
    pub fn wrong_type(&mut self, key: &str, node: &Node, expected: &'static str) {
        self.errors.push(ProfileError::WrongType {
            location: self.at(node),
            key: key.to_owned(),
            expected,
            found: node.type_name(),
        });
    }

    /// Reads a mapping: reports unknown keys (with a suggestion from `known`), warns about
    /// `tolerated` ones (keys Reglet's documentation shows that nothing reads). A null node is an
    /// empty mapping.
    pub fn mapping<'n>(
        &mut self,
        key: &str,
        node: &'n Node,
        context: &str,
        known: &[&str],
        tolerated: &[&str],
    ) -> Option<Fields<'n>> {
        if node.is_null() {
            return Some(Fields { entries: &[] });
        }
        let Some(entries) = node.as_map() else {
            self.wrong_type(key, node, "a mapping");
            return None;
        };
        for (k, _) in entries {
            let name = key_str(k);
            if known.contains(&name.as_ref()) {
                continue;
            }
            if tolerated.contains(&name.as_ref()) {
                self.warnings.push(Warning {
                    location: self.at(k),
                    message: format!(
                        "`{name}` in {context} is accepted for compatibility with Reglet's \
                         documentation but has no effect"
                    ),
                });
                continue;
            }
            let error = ProfileError::UnknownKey {
                location: self.at(k),
                suggestion: suggest::closest(&name, known.iter().copied()).map(str::to_owned),
                key: name.into_owned(),
                context: context.to_owned(),
            };
            if self.lenient {
                let location = error.location().clone();
                let text = error.to_string();
                let message = text
                    .strip_prefix(&format!("{location}: "))
                    .unwrap_or(&text)
                    .to_owned();
                self.warnings.push(Warning {
                    location,
                    message: format!("{message} (ignored)"),
                });
            } else {
                self.errors.push(error);
            }
        }
        Some(Fields { entries })
    }

    /// A string; any non-null scalar is taken as its text, as Reglet's decoder does
    /// (`version: 1.0` is `"1.0"`).
    pub fn string(&mut self, key: &str, node: &Node) -> Option<Spanned<String>> {
        match node.scalar_text() {
            Some(text) => Some(Spanned {
                value: text.to_owned(),
                at: self.at(node),
            }),
            None => {
                self.wrong_type(key, node, "a string");
                None
            }
        }
    }

    /// A list of strings.
    pub fn string_list(&mut self, key: &str, node: &Node) -> Vec<Spanned<String>> {
        let Some(items) = node.as_seq() else {
            self.wrong_type(key, node, "a list of strings");
            return Vec::new();
        };
        items.iter().filter_map(|i| self.string(key, i)).collect()
    }

    /// A boolean.
    pub fn boolean(&mut self, key: &str, node: &Node) -> Option<bool> {
        match &node.kind {
            Kind::Scalar(s) => match s.value {
                crate::yaml::ScalarValue::Bool(b) => Some(b),
                _ => {
                    self.wrong_type(key, node, "true or false");
                    None
                }
            },
            _ => {
                self.wrong_type(key, node, "true or false");
                None
            }
        }
    }

    /// A mapping of strings to strings, in document order.
    pub fn string_map(
        &mut self,
        key: &str,
        node: &Node,
    ) -> Vec<(Spanned<String>, Spanned<String>)> {
        let Some(entries) = node.as_map() else {
            if !node.is_null() {
                self.wrong_type(key, node, "a mapping of names to strings");
            }
            return Vec::new();
        };
        entries
            .iter()
            .filter_map(|(k, v)| {
                let name = self.string(key, k)?;
                let value = self.string(&name.value, v)?;
                Some((name, value))
            })
            .collect()
    }

    /// A string or a list of strings (`expect` may be either).
    pub fn string_or_list(&mut self, key: &str, node: &Node) -> Vec<Spanned<String>> {
        match &node.kind {
            Kind::Seq(_) => self.string_list(key, node),
            Kind::Scalar(_) => self.string(key, node).into_iter().collect(),
            Kind::Map(_) => {
                self.wrong_type(key, node, "a string or a list of strings");
                Vec::new()
            }
        }
    }

    /// A value parsed from a string, the parser's message becoming an invalid-value error.
    pub fn parsed<T>(
        &mut self,
        key: &str,
        node: &Node,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<Spanned<T>> {
        let text = self.string(key, node)?;
        match parse(&text.value) {
            Ok(value) => Some(Spanned { value, at: text.at }),
            Err(message) => {
                self.errors.push(ProfileError::InvalidValue {
                    location: text.at,
                    key: key.to_owned(),
                    message,
                });
                None
            }
        }
    }

    /// A duration written as Reglet writes them (`30s`, `1m30s`); a bare number is refused
    /// because Go would read it as nanoseconds.
    pub fn duration(&mut self, key: &str, node: &Node) -> Option<Spanned<Duration>> {
        if matches!(&node.kind, Kind::Scalar(s) if s.value != crate::yaml::ScalarValue::Str) {
            self.errors.push(ProfileError::InvalidValue {
                location: self.at(node),
                key: key.to_owned(),
                message: format!(
                    "a duration needs a unit, e.g. \"{}s\"",
                    node.scalar_text().unwrap_or("30")
                ),
            });
            return None;
        }
        self.parsed(key, node, parse_duration)
    }

    /// A non-negative integer no larger than `max`.
    pub fn count(&mut self, key: &str, node: &Node, max: u32) -> Option<Spanned<u32>> {
        let n = match &node.kind {
            Kind::Scalar(s) => match s.value {
                crate::yaml::ScalarValue::Int(n) => n,
                _ => {
                    self.wrong_type(key, node, "an integer");
                    return None;
                }
            },
            _ => {
                self.wrong_type(key, node, "an integer");
                return None;
            }
        };
        match u32::try_from(n).ok().filter(|n| *n <= max) {
            Some(value) => Some(Spanned {
                value,
                at: self.at(node),
            }),
            None => {
                self.errors.push(ProfileError::InvalidValue {
                    location: self.at(node),
                    key: key.to_owned(),
                    message: format!("must be between 0 and {max}, found {n}"),
                });
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::{Limits, parse};

    fn decode(text: &str, f: impl FnOnce(&mut Decoder, &Node)) -> Decoder {
        let doc = parse(text, &Limits::default()).unwrap();
        let mut d = Decoder::new(Arc::from(Path::new("t.yaml")));
        f(&mut d, &doc.root);
        d
    }

    #[test]
    fn unknown_keys_are_errors_and_tolerated_ones_warnings() {
        let d = decode("nmae: x\nremediation: y\nid: z\n", |d, root| {
            d.mapping("item", root, "a control", &["id", "name"], &["remediation"]);
        });
        assert_eq!(d.errors.len(), 1);
        assert_eq!(
            d.errors[0].to_string(),
            "t.yaml:1:1: unknown key `nmae` in a control; did you mean `name`?"
        );
        assert_eq!(d.warnings.len(), 1);
        assert_eq!(d.warnings[0].location.line, 2);
    }

    #[test]
    fn scalars_read_as_strings_like_reglet() {
        let d = decode("v: 1.0\nb: true\nl: [1]\n", |d, root| {
            assert_eq!(d.string("v", root.get("v").unwrap()).unwrap().value, "1.0");
            assert_eq!(d.string("b", root.get("b").unwrap()).unwrap().value, "true");
            assert!(d.string("l", root.get("l").unwrap()).is_none());
        });
        assert_eq!(
            d.errors[0].to_string(),
            "t.yaml:3:4: `l` must be a string, found a list"
        );
    }

    #[test]
    fn durations_need_units() {
        let d = decode("a: 30s\nb: 30\nc: 3x\n", |d, root| {
            let a = d.duration("a", root.get("a").unwrap()).unwrap();
            assert_eq!(a.value, Duration::from_secs(30));
            assert!(d.duration("b", root.get("b").unwrap()).is_none());
            assert!(d.duration("c", root.get("c").unwrap()).is_none());
        });
        assert!(
            d.errors[0]
                .to_string()
                .contains("needs a unit, e.g. \"30s\"")
        );
        assert_eq!(d.errors[1].location().line, 3);
    }

    #[test]
    fn counts_are_bounded() {
        let d = decode("a: 3\nb: -1\nc: x\n", |d, root| {
            assert_eq!(d.count("a", root.get("a").unwrap(), 10).unwrap().value, 3);
            assert!(d.count("b", root.get("b").unwrap(), 10).is_none());
            assert!(d.count("c", root.get("c").unwrap(), 10).is_none());
        });
        assert!(d.errors[0].to_string().contains("between 0 and 10"));
        assert!(d.errors[1].to_string().contains("must be an integer"));
    }
}
