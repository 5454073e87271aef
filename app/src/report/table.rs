//! The table: one line per control, the reasons under each failure, and the summary.

use std::fmt::Write as _;

use serde_json::Value;

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
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
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
        let _ = writeln!(
            out,
            "{}  {:<width$}  {:<8}  {}",
            paint(&status),
            text(&c["id"]),
            c["severity"].as_str().unwrap_or("-"),
            text(&c["message"]),
        );
        if status == "fail" || status == "error" {
            for o in c["observations"].as_array().into_iter().flatten() {
                if let Some(e) = o["error"].as_str() {
                    let _ = writeln!(out, "         {}: {e}", text(&o["plugin"]));
                }
                for x in o["expectations"].as_array().into_iter().flatten() {
                    if let Some(m) = x["message"].as_str() {
                        let _ = writeln!(out, "         {}: {m}", text(&o["plugin"]));
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
