//! The table: one line per control, the reasons under each failure, and the summary.

use std::fmt::Write as _;

use serde_json::Value;

use crate::printable::printable;

/// The report as a table; `color` adds ANSI colours to the statuses.
pub fn to_table(doc: &Value, color: bool) -> String {
    let paint = |status: &str| -> String {
        let code = match status {
            "pass" => "32",
            "fail" => "31",
            "error" => "35",
            _ => "33",
        };
        if color {
            format!("\x1b[{code}m{status:<7}\x1b[0m")
        } else {
            format!("{status:<7}")
        }
    };
    // Everything shown comes from a profile or a plugin: control characters are escaped, so
    // evidence cannot drive the terminal or forge rows.
    let text = |v: &Value| printable(v.as_str().unwrap_or_default());
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Profile {} {} ({})",
        text(&doc["profile"]["name"]),
        text(&doc["profile"]["version"]),
        text(&doc["profile"]["path"])
    );
    let controls = doc["controls"].as_array().cloned().unwrap_or_default();
    let width = controls
        .iter()
        .map(|c| text(&c["id"]).chars().count())
        .max()
        .unwrap_or(2)
        .max(2);
    let _ = writeln!(
        out,
        "{:<7}  {:<width$}  {:<8}  MESSAGE",
        "STATUS", "ID", "SEVERITY"
    );
    for c in &controls {
        let status = text(&c["status"]);
        let message = text(&c["message"]);
        let _ = writeln!(
            out,
            "{}  {:<width$}  {:<8}  {}",
            paint(&status),
            text(&c["id"]),
            c["severity"]
                .as_str()
                .map_or_else(|| "-".to_owned(), printable),
            message,
        );
        if status == "fail" || status == "error" {
            // Each reason once, and not again when it is the control's own message.
            let mut shown = vec![message];
            for o in c["observations"].as_array().into_iter().flatten() {
                let reasons = o["error"].as_str().into_iter().chain(
                    o["expectations"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|x| x["message"].as_str()),
                );
                for reason in reasons {
                    let reason = printable(reason);
                    if !shown.contains(&reason) {
                        let _ = writeln!(out, "         {}: {reason}", text(&o["plugin"]));
                        shown.push(reason);
                    }
                }
            }
        }
    }
    let s = &doc["summary"];
    let n = |k: &str| s[k].as_u64().unwrap_or(0);
    let _ = writeln!(
        out,
        "\n{} controls: {} passed, {} failed, {} errors, {} skipped in {} ms",
        n("total_controls"),
        n("passed_controls"),
        n("failed_controls"),
        n("error_controls"),
        n("skipped_controls"),
        doc["duration_ms"].as_u64().unwrap_or(0),
    );
    if let Some(reason) = doc["stopped_reason"].as_str() {
        let _ = writeln!(out, "PARTIAL: the run ended early: {reason}");
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::to_table;

    #[test]
    fn evidence_cannot_drive_the_terminal_and_each_reason_shows_once() {
        let doc = json!({
            "profile": {"name": "p", "version": "1", "path": "p.yaml"},
            "controls": [{
                "id": "c1", "status": "fail", "severity": "high",
                "message": "expected \u{1b}]0;pwned\u{7} to be empty",
                "observations": [{
                    "plugin": "command",
                    "expectations": [
                        {"message": "expected \u{1b}]0;pwned\u{7} to be empty"},
                        {"message": "exit code 1\nPASS  forged  row"},
                        {"message": "exit code 1\nPASS  forged  row"}
                    ]
                }]
            }],
            "summary": {"total_controls": 1, "failed_controls": 1},
            "duration_ms": 3
        });
        let table = to_table(&doc, false);
        assert!(
            !table.contains('\u{1b}') && !table.contains('\u{7}'),
            "{table}"
        );
        assert!(table.contains("\\u{1b}]0;pwned\\u{7}"), "{table}");
        assert!(!table.contains("\nPASS  forged"), "{table}");
        assert_eq!(table.matches("forged").count(), 1, "{table}");
        assert_eq!(table.matches("pwned").count(), 1, "{table}");
    }
}
