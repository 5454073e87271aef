//! The JSON report: the document itself, as published in `docs/report-schema.json`.

use super::Report;

/// The report as indented JSON, with a final newline.
pub fn to_json(report: &Report) -> String {
    let mut text = serde_json::to_string_pretty(report).expect("the report serialises");
    text.push('\n');
    text
}
