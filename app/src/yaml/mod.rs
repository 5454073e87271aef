//! YAML documents as trees of located nodes, read under limits that make hostile input cheap to
//! refuse.
//!
//! Profiles are decoded from this tree rather than through serde so that every error can name the
//! file, line and column of the value at fault, and so that all the errors of a file are reported
//! at once. The reader refuses files over a size cap, nesting past a depth cap, and alias use past a
//! small budget (the "billion laughs" YAML bomb expands a few aliases into millions of nodes).

mod node;
mod reader;

pub use node::{Kind, Mark, Node, Scalar, ScalarValue, key_str, key_text};
pub use reader::{Document, Limits, YamlError, YamlErrorKind, parse, read_file};
