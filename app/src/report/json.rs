//! The JSON report: the document itself, as published in `docs/report-schema.json`.

use serde_json::Value;

/// The report as indented JSON, with a final newline.
pub fn to_json(doc: &Value) -> String {
    let mut text = serde_json::to_string_pretty(doc).expect("JSON values serialise");
    text.push('\n');
    text
}
