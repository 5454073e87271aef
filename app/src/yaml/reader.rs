//! Reading YAML text into a [`Node`] tree, under [`Limits`].

use std::collections::HashMap;
use std::fmt;
use std::io::Read;
use std::path::Path;

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Span, Tag};

use super::node::{Kind, Mark, Node, Scalar, ScalarValue, key_str, resolve_plain};

/// Caps on what one YAML file may cost to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest file accepted, in bytes.
    pub max_bytes: u64,
    /// Deepest nesting of lists and mappings.
    pub max_depth: usize,
    /// How many times aliases (`*name`) may be used in one file.
    pub max_aliases: usize,
    /// How many nodes expanding aliases may add to the document (what the file holds itself
    /// is bounded by its size).
    pub max_alias_nodes: usize,
}

impl Default for Limits {
    /// 4 MiB, 64 levels, 100 aliases adding at most 100 000 nodes: far above any real profile,
    /// far below what a YAML bomb needs.
    fn default() -> Self {
        Limits {
            max_bytes: 4 * 1024 * 1024,
            max_depth: 64,
            max_aliases: 100,
            max_alias_nodes: 100_000,
        }
    }
}

/// What went wrong reading YAML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum YamlErrorKind {
    /// The file could not be read.
    Io(String),
    /// The file is larger than [`Limits::max_bytes`].
    TooLarge {
        /// The cap, in bytes.
        limit: u64,
    },
    /// The file is not UTF-8.
    NotUtf8,
    /// The text is not valid YAML.
    Syntax(String),
    /// Lists and mappings nest deeper than [`Limits::max_depth`].
    TooDeep {
        /// The cap.
        limit: usize,
    },
    /// Aliases are used more than [`Limits::max_aliases`] times.
    TooManyAliases {
        /// The cap.
        limit: usize,
    },
    /// Expanding aliases would add more than [`Limits::max_alias_nodes`] nodes.
    TooManyNodes {
        /// The cap.
        limit: usize,
    },
    /// An alias names no anchor defined before it.
    UnknownAnchor,
    /// A mapping has the same key twice.
    DuplicateKey {
        /// The key.
        key: String,
        /// Where it first appeared.
        first: Mark,
    },
    /// A `<<` merge key whose value is not a mapping or a list of mappings.
    BadMergeKey,
    /// A tag outside the YAML core schema (`!custom`).
    UnsupportedTag(String),
    /// More than one document (`---`) in the file.
    MultipleDocuments,
}

/// A YAML problem and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    /// What went wrong.
    pub kind: YamlErrorKind,
    /// Where.
    pub mark: Mark,
}

impl fmt::Display for YamlErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            YamlErrorKind::Io(e) => write!(f, "cannot read the file: {e}"),
            YamlErrorKind::TooLarge { limit } => write!(
                f,
                "the file is larger than the {} KiB limit for YAML files",
                limit / 1024
            ),
            YamlErrorKind::NotUtf8 => f.write_str("the file is not valid UTF-8"),
            YamlErrorKind::Syntax(e) => write!(f, "invalid YAML: {e}"),
            YamlErrorKind::TooDeep { limit } => write!(
                f,
                "lists and mappings nest deeper than {limit} levels; refusing the file"
            ),
            YamlErrorKind::TooManyAliases { limit } => write!(
                f,
                "YAML aliases (*name) are used more than {limit} times; refusing the file \
                 (this is how YAML bombs work)"
            ),
            YamlErrorKind::TooManyNodes { limit } => write!(
                f,
                "expanding YAML aliases would add more than {limit} values; refusing the file \
                 (this is how YAML bombs work)"
            ),
            YamlErrorKind::UnknownAnchor => f.write_str("alias to an anchor that is not defined"),
            YamlErrorKind::DuplicateKey { key, first } => {
                write!(f, "duplicate key `{key}` (first at line {})", first.line)
            }
            YamlErrorKind::BadMergeKey => {
                f.write_str("a `<<` merge key needs a mapping or a list of mappings")
            }
            YamlErrorKind::UnsupportedTag(tag) => write!(f, "unsupported YAML tag `{tag}`"),
            YamlErrorKind::MultipleDocuments => {
                f.write_str("the file holds more than one YAML document")
            }
        }
    }
}

/// A parsed file: its root and the problems that did not stop reading (duplicate keys, tags).
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// The root node; a null scalar for an empty file.
    pub root: Node,
    /// Problems found while reading.
    pub problems: Vec<YamlError>,
}

/// Reads a file as UTF-8, refusing it before reading past [`Limits::max_bytes`].
///
/// # Errors
/// I/O failure, a file over the cap, or bytes that are not UTF-8.
pub fn read_file(path: &Path, limits: &Limits) -> Result<String, YamlError> {
    let at_start = Mark { line: 1, column: 1 };
    let fail = |kind| YamlError {
        kind,
        mark: at_start,
    };
    let file = std::fs::File::open(path).map_err(|e| fail(YamlErrorKind::Io(e.to_string())))?;
    let mut bytes = Vec::new();
    file.take(limits.max_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| fail(YamlErrorKind::Io(e.to_string())))?;
    if bytes.len() as u64 > limits.max_bytes {
        return Err(fail(YamlErrorKind::TooLarge {
            limit: limits.max_bytes,
        }));
    }
    String::from_utf8(bytes).map_err(|_| fail(YamlErrorKind::NotUtf8))
}

/// Parses one YAML document.
///
/// # Errors
/// Invalid YAML, more than one document, or a limit exceeded. Non-fatal problems are returned in
/// [`Document::problems`] instead.
pub fn parse(text: &str, limits: &Limits) -> Result<Document, YamlError> {
    if text.len() as u64 > limits.max_bytes {
        return Err(YamlError {
            kind: YamlErrorKind::TooLarge {
                limit: limits.max_bytes,
            },
            mark: Mark { line: 1, column: 1 },
        });
    }
    let mut builder = Builder::new(*limits);
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(scan_error)?;
        if builder.event(event, span)? {
            break;
        }
    }
    Ok(Document {
        root: builder.root.unwrap_or(Node {
            kind: Kind::Scalar(Scalar {
                text: String::new(),
                value: ScalarValue::Null,
            }),
            mark: Mark { line: 1, column: 1 },
        }),
        problems: builder.problems,
    })
}

fn scan_error(e: ScanError) -> YamlError {
    YamlError {
        kind: YamlErrorKind::Syntax(e.info().to_owned()),
        mark: Mark {
            line: e.marker().line(),
            column: e.marker().col() + 1,
        },
    }
}

fn mark_of(span: &Span) -> Mark {
    Mark {
        line: span.start.line(),
        column: span.start.col() + 1,
    }
}

/// A list or mapping being built.
struct Frame {
    node: Node,
    anchor: usize,
    pending_key: Option<Node>,
    /// `<<` merge sources, applied when the mapping ends.
    merges: Vec<Node>,
}

/// Builds the tree from parser events with an explicit stack, so depth costs no recursion.
struct Builder {
    limits: Limits,
    stack: Vec<Frame>,
    anchors: HashMap<usize, (Node, usize)>,
    root: Option<Node>,
    documents: usize,
    aliases: usize,
    /// Nodes added by expanding aliases.
    nodes: usize,
    problems: Vec<YamlError>,
}

impl Builder {
    fn new(limits: Limits) -> Self {
        Builder {
            limits,
            stack: Vec::new(),
            anchors: HashMap::new(),
            root: None,
            documents: 0,
            aliases: 0,
            nodes: 0,
            problems: Vec::new(),
        }
    }

    fn fail(&self, kind: YamlErrorKind, mark: Mark) -> Result<bool, YamlError> {
        Err(YamlError { kind, mark })
    }

    /// Takes one event; `Ok(true)` once the stream has ended.
    fn event(&mut self, event: Event<'_>, span: Span) -> Result<bool, YamlError> {
        let mark = mark_of(&span);
        match event {
            Event::StreamEnd => return Ok(true),
            Event::DocumentStart(_) => {
                self.documents += 1;
                if self.documents > 1 {
                    return self.fail(YamlErrorKind::MultipleDocuments, mark);
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                self.check_tag(tag.as_deref(), mark);
                let value = match (style, tag.as_deref()) {
                    (_, Some(t)) if t.is_yaml_core_schema() && t.suffix == "str" => {
                        ScalarValue::Str
                    }
                    (ScalarStyle::Plain, _) => resolve_plain(&text),
                    _ => ScalarValue::Str,
                };
                let node = Node {
                    kind: Kind::Scalar(Scalar {
                        text: text.into_owned(),
                        value,
                    }),
                    mark,
                };
                self.finish(node, anchor, 1)?;
            }
            Event::Alias(id) => {
                self.aliases += 1;
                if self.aliases > self.limits.max_aliases {
                    return self.fail(
                        YamlErrorKind::TooManyAliases {
                            limit: self.limits.max_aliases,
                        },
                        mark,
                    );
                }
                let Some((node, size)) = self.anchors.get(&id).cloned() else {
                    return self.fail(YamlErrorKind::UnknownAnchor, mark);
                };
                self.count(size, mark)?;
                self.finish(node, 0, 0)?;
            }
            Event::SequenceStart(anchor, ref tag) | Event::MappingStart(anchor, ref tag) => {
                self.check_tag(tag.as_deref(), mark);
                if self.stack.len() >= self.limits.max_depth {
                    return self.fail(
                        YamlErrorKind::TooDeep {
                            limit: self.limits.max_depth,
                        },
                        mark,
                    );
                }
                let kind = if matches!(event, Event::SequenceStart(..)) {
                    Kind::Seq(Vec::new())
                } else {
                    Kind::Map(Vec::new())
                };
                self.stack.push(Frame {
                    node: Node { kind, mark },
                    anchor,
                    pending_key: None,
                    merges: Vec::new(),
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let mut frame = self.stack.pop().expect("the parser balances start and end");
                self.apply_merges(&mut frame);
                let size = self.anchor_size(&frame);
                self.finish(frame.node, frame.anchor, size)?;
            }
            Event::Nothing | Event::StreamStart | Event::DocumentEnd => {}
        }
        Ok(false)
    }

    fn count(&mut self, n: usize, mark: Mark) -> Result<(), YamlError> {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > self.limits.max_alias_nodes {
            return Err(YamlError {
                kind: YamlErrorKind::TooManyNodes {
                    limit: self.limits.max_alias_nodes,
                },
                mark,
            });
        }
        Ok(())
    }

    fn check_tag(&mut self, tag: Option<&Tag>, mark: Mark) {
        if let Some(tag) = tag
            && !tag.is_yaml_core_schema()
        {
            self.problems.push(YamlError {
                kind: YamlErrorKind::UnsupportedTag(tag.to_string()),
                mark,
            });
        }
    }

    /// The node count of a finished container, needed only when it is anchored.
    fn anchor_size(&self, frame: &Frame) -> usize {
        if frame.anchor == 0 {
            return 0;
        }
        fn size(node: &Node) -> usize {
            match &node.kind {
                Kind::Scalar(_) => 1,
                Kind::Seq(items) => 1 + items.iter().map(size).sum::<usize>(),
                Kind::Map(entries) => {
                    1 + entries
                        .iter()
                        .map(|(k, v)| size(k) + size(v))
                        .sum::<usize>()
                }
            }
        }
        size(&frame.node)
    }

    /// Hands a finished node to its parent (or makes it the root), recording its anchor.
    fn finish(&mut self, node: Node, anchor: usize, size: usize) -> Result<(), YamlError> {
        if anchor != 0 {
            self.anchors.insert(anchor, (node.clone(), size.max(1)));
        }
        let Some(parent) = self.stack.last_mut() else {
            self.root = Some(node);
            return Ok(());
        };
        match &mut parent.node.kind {
            Kind::Seq(items) => items.push(node),
            Kind::Map(entries) => match parent.pending_key.take() {
                None => parent.pending_key = Some(node),
                Some(key) if is_merge_key(&key) => parent.merges.push(node),
                Some(key) => {
                    let text = key_str(&key);
                    if let Some((first, _)) = entries.iter().find(|(k, _)| key_str(k) == text) {
                        self.problems.push(YamlError {
                            kind: YamlErrorKind::DuplicateKey {
                                key: text.into_owned(),
                                first: first.mark,
                            },
                            mark: key.mark,
                        });
                    } else {
                        entries.push((key, node));
                    }
                }
            },
            Kind::Scalar(_) => unreachable!("only collections are pushed on the stack"),
        }
        Ok(())
    }

    /// Applies `<<: *base` merge keys: entries the mapping does not set itself are copied in,
    /// earlier sources winning over later ones, as YAML 1.1 (which Reglet's decoder follows) says.
    fn apply_merges(&mut self, frame: &mut Frame) {
        let Kind::Map(entries) = &mut frame.node.kind else {
            return;
        };
        for source in std::mem::take(&mut frame.merges) {
            let maps: Vec<&Node> = match &source.kind {
                Kind::Map(_) => vec![&source],
                Kind::Seq(items) if items.iter().all(|i| i.as_map().is_some()) => {
                    items.iter().collect()
                }
                _ => {
                    self.problems.push(YamlError {
                        kind: YamlErrorKind::BadMergeKey,
                        mark: source.mark,
                    });
                    continue;
                }
            };
            for map in maps {
                for (k, v) in map.as_map().unwrap_or_default() {
                    let text = key_str(k);
                    if !entries.iter().any(|(e, _)| key_str(e) == text) {
                        entries.push((k.clone(), v.clone()));
                    }
                }
            }
        }
    }
}

fn is_merge_key(key: &Node) -> bool {
    matches!(&key.kind, Kind::Scalar(Scalar { text, value: ScalarValue::Str }) if text == "<<")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(text: &str) -> Document {
        parse(text, &Limits::default()).unwrap()
    }

    fn parse_err(text: &str, limits: Limits) -> YamlError {
        parse(text, &limits).unwrap_err()
    }

    #[test]
    fn nodes_carry_line_and_column() {
        let doc = parse_ok("a:\n  b: [1, x]\n  c: \"q\"\n");
        let b = doc.root.get("a").unwrap().get("b").unwrap();
        assert_eq!(b.mark, Mark { line: 2, column: 6 });
        let items = b.as_seq().unwrap();
        assert_eq!(
            items[1].mark,
            Mark {
                line: 2,
                column: 10
            }
        );
        let c = doc.root.get("a").unwrap().get("c").unwrap();
        assert_eq!(c.scalar_text(), Some("q"));
        assert_eq!(c.type_name(), "a string");
    }

    #[test]
    fn quoted_scalars_stay_strings() {
        let doc = parse_ok("a: \"443\"\nb: 443\nc: !!str 12\n");
        assert_eq!(
            doc.root.to_json(),
            serde_json::json!({"a": "443", "b": 443, "c": "12"})
        );
    }

    #[test]
    fn empty_file_is_null() {
        assert!(parse_ok("").root.is_null());
        assert!(parse_ok("# only a comment\n").root.is_null());
    }

    #[test]
    fn anchors_and_merge_keys_work_within_budget() {
        let doc = parse_ok("base: &b {x: 1, y: 2}\nuse:\n  <<: *b\n  y: 3\nlist: [*b, *b]\n");
        assert_eq!(
            doc.root.to_json(),
            serde_json::json!({
                "base": {"x": 1, "y": 2},
                "use": {"y": 3, "x": 1},
                "list": [{"x": 1, "y": 2}, {"x": 1, "y": 2}],
            })
        );
        assert!(doc.problems.is_empty());
    }

    #[test]
    fn billion_laughs_is_refused() {
        let mut text = String::from(
            "a0: &a0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
        );
        for i in 1..10 {
            let prev = i - 1;
            text.push_str(&format!("a{i}: &a{i} [*a{prev},*a{prev},*a{prev},*a{prev},*a{prev},*a{prev},*a{prev},*a{prev},*a{prev}]\n"));
        }
        let err = parse_err(&text, Limits::default());
        assert!(
            matches!(err.kind, YamlErrorKind::TooManyNodes { .. }),
            "{err:?}"
        );
        assert!(err.kind.to_string().contains("YAML bomb"));
    }

    #[test]
    fn only_what_aliases_add_counts_against_the_node_budget() {
        let limits = Limits {
            max_alias_nodes: 10,
            ..Limits::default()
        };
        let plain = format!("l: [{}]\n", vec!["1"; 100].join(", "));
        assert!(
            parse(&plain, &limits).is_ok(),
            "a large document of its own is fine"
        );
        let expanded = "a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]\nb: *a\n";
        let err = parse_err(expanded, limits);
        assert_eq!(err.kind, YamlErrorKind::TooManyNodes { limit: 10 });
        assert_eq!(err.mark.line, 2);
    }

    #[test]
    fn alias_count_is_capped() {
        let mut text = String::from("x: &x 1\nl: [");
        text.push_str(&vec!["*x"; 101].join(","));
        text.push_str("]\n");
        let err = parse_err(&text, Limits::default());
        assert_eq!(err.kind, YamlErrorKind::TooManyAliases { limit: 100 });
        assert_eq!(err.mark.line, 2);
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = format!("{}{}", "[".repeat(70), "]".repeat(70));
        let err = parse_err(&text, Limits::default());
        assert_eq!(err.kind, YamlErrorKind::TooDeep { limit: 64 });
    }

    #[test]
    fn size_cap_applies_before_parsing() {
        let limits = Limits {
            max_bytes: 10,
            ..Limits::default()
        };
        let err = parse_err("a: 0123456789", limits);
        assert_eq!(err.kind, YamlErrorKind::TooLarge { limit: 10 });
    }

    #[test]
    fn read_file_refuses_large_files_without_reading_them_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.yaml");
        std::fs::write(&path, "x".repeat(2048)).unwrap();
        let limits = Limits {
            max_bytes: 1024,
            ..Limits::default()
        };
        let err = read_file(&path, &limits).unwrap_err();
        assert_eq!(err.kind, YamlErrorKind::TooLarge { limit: 1024 });
        assert!(err.kind.to_string().contains("1 KiB"));
    }

    #[test]
    fn duplicate_keys_are_reported_with_both_lines() {
        let doc = parse_ok("a: 1\nb: 2\na: 3\n");
        assert_eq!(doc.problems.len(), 1);
        let p = &doc.problems[0];
        assert_eq!(p.mark.line, 3);
        assert_eq!(
            p.kind,
            YamlErrorKind::DuplicateKey {
                key: "a".into(),
                first: Mark { line: 1, column: 1 }
            }
        );
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let err = parse_err("a: [1, 2\nb: 3\n", Limits::default());
        assert!(matches!(err.kind, YamlErrorKind::Syntax(_)), "{err:?}");
        assert!(err.mark.line >= 1);
    }

    #[test]
    fn several_documents_are_refused() {
        let err = parse_err("a: 1\n---\nb: 2\n", Limits::default());
        assert_eq!(err.kind, YamlErrorKind::MultipleDocuments);
        assert_eq!(err.mark.line, 2);
    }

    #[test]
    fn custom_tags_are_problems() {
        let doc = parse_ok("a: !secret x\n");
        assert!(matches!(
            &doc.problems[0].kind,
            YamlErrorKind::UnsupportedTag(t) if t.contains("secret")
        ));
    }
}
