//! One self-contained HTML page: inline CSS and JS, no external assets, readable when printed.
//!
//! Everything shown comes from the redacted document and is treated as hostile (evidence is
//! whatever a plugin read): every text and attribute is escaped, no document data is ever put
//! inside the `<style>` or `<script>`, and a Content-Security-Policy allows only the page's own
//! script (by hash) and no network at all, so an escaping slip still could not run code. The page
//! is also well-formed XML, which lets the tests parse it strictly.

use std::fmt::Write as _;

use base64::Engine as _;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{controls, reasons, text};

const STYLE: &str = include_str!("html.css");
const SCRIPT: &str = include_str!("html.js");

/// Statuses in the order the page shows them: what needs attention first.
const STATUSES: [(&str, &str); 4] = [
    ("fail", "Failed"),
    ("error", "Errors"),
    ("skipped", "Skipped"),
    ("pass", "Passed"),
];
const SEVERITIES: [&str; 5] = ["critical", "high", "medium", "low", ""];

/// The report as one HTML page.
pub fn to_html(doc: &Value) -> String {
    let profile = &doc["profile"];
    let title = format!(
        "Reglet report: {} {}",
        text(&profile["name"]),
        text(&profile["version"])
    );
    let script_hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(SCRIPT));
    let mut out = String::with_capacity(16 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; script-src 'sha256-{script_hash}'\"/>\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        esc(&title),
        esc(&title)
    );
    let _ = writeln!(
        out,
        "<p class=\"meta\">{} &#8212; reglet {}, {} ms</p>",
        esc(text(&profile["path"])),
        esc(text(&doc["reglet_version"])),
        doc["duration_ms"].as_u64().unwrap_or(0)
    );
    if let Some(reason) = doc["stopped_reason"].as_str() {
        let _ = writeln!(
            out,
            "<p class=\"banner\">PARTIAL: the run ended early: {}; unfinished controls are errors.</p>",
            esc(reason)
        );
    }
    if let Some(error) = doc["error"].as_str() {
        let _ = writeln!(out, "<p class=\"banner\">{}</p>", esc(error));
    }
    summary(&mut out, &doc["summary"]);
    let all = controls(doc);
    filters(&mut out, all);
    for (status, heading) in STATUSES {
        let group: Vec<&Value> = all
            .iter()
            .filter(|c| text(&c["status"]) == status)
            .collect();
        if group.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "<section class=\"group\" data-status=\"{status}\">\n<h2>{heading} ({})</h2>",
            group.len()
        );
        for severity in SEVERITIES {
            let same: Vec<&&Value> = group
                .iter()
                .filter(|c| c["severity"].as_str().unwrap_or_default() == severity)
                .collect();
            if same.is_empty() {
                continue;
            }
            let label = if severity.is_empty() {
                "no severity"
            } else {
                severity
            };
            let _ = writeln!(out, "<h3>{label}</h3>");
            for c in same {
                control(&mut out, c);
            }
        }
        out.push_str("</section>\n");
    }
    let _ = write!(out, "<script>{SCRIPT}</script>\n</body>\n</html>\n");
    out
}

fn summary(out: &mut String, s: &Value) {
    let n = |k: &str| s[k].as_u64().unwrap_or(0);
    let total = n("total_controls");
    let counts = [
        ("pass", "passed", n("passed_controls")),
        ("fail", "failed", n("failed_controls")),
        ("error", "errors", n("error_controls")),
        ("skipped", "skipped", n("skipped_controls")),
    ];
    out.push_str("<div class=\"summary\">\n<p>");
    let _ = write!(out, "<strong>{total}</strong> controls:");
    for (status, label, count) in counts {
        let _ = write!(
            out,
            " <span class=\"badge {status}\">{count} {label}</span>"
        );
    }
    out.push_str("</p>\n<div class=\"bar\" role=\"img\" aria-label=\"pass, fail, error, skip\">");
    for (status, label, count) in counts {
        if count > 0 {
            // Widths are numbers computed here, never document text.
            let width = count as f64 * 100.0 / total.max(1) as f64;
            let _ = write!(
                out,
                "<span class=\"{status}\" style=\"width: {width:.3}%\" title=\"{count} {label}\"></span>"
            );
        }
    }
    out.push_str("</div>\n</div>\n");
}

fn filters(out: &mut String, all: &[Value]) {
    let mut tags: Vec<&str> = all
        .iter()
        .flat_map(|c| c["tags"].as_array().into_iter().flatten())
        .filter_map(Value::as_str)
        .collect();
    tags.sort_unstable();
    tags.dedup();
    out.push_str("<form class=\"filters\" id=\"filters\">\n");
    for (status, heading) in STATUSES {
        let _ = writeln!(
            out,
            "<label><input type=\"checkbox\" name=\"status\" value=\"{status}\" checked=\"checked\"/> {heading}</label>"
        );
    }
    out.push_str("<label>Tag <select name=\"tag\">\n<option value=\"\">any</option>\n");
    for tag in tags {
        let _ = writeln!(out, "<option value=\"{0}\">{0}</option>", esc(tag));
    }
    out.push_str("</select></label>\n</form>\n");
}

fn control(out: &mut String, c: &Value) {
    let status = text(&c["status"]);
    let tags: Vec<&str> = c["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    // Tags joined by a newline, which no YAML tag scalar written on one line contains.
    let _ = write!(
        out,
        "<details class=\"control\" data-status=\"{}\" data-tags=\"{}\">\n<summary><span class=\"badge {0}\">{0}</span> \
         <code>{}</code> {}",
        esc(status),
        esc(&tags.join("\n")).replace('\n', "&#10;"),
        esc(text(&c["id"])),
        esc(text(&c["name"]))
    );
    if let Some(severity) = c["severity"].as_str() {
        let _ = write!(out, " <span class=\"severity\">{}</span>", esc(severity));
    }
    let _ = writeln!(
        out,
        "<br/><span class=\"message\">{}</span></summary>",
        esc(text(&c["message"]))
    );
    out.push_str("<dl>\n");
    let mut field = |name: &str, value: &str| {
        if !value.is_empty() {
            let _ = writeln!(out, "<dt>{name}</dt><dd>{}</dd>", esc(value));
        }
    };
    field("Description", text(&c["description"]));
    field("Owner", text(&c["owner"]));
    field("Tags", &tags.join(", "));
    field("Skipped because", text(&c["skip_reason"]));
    field("Why", &reasons(c).join("\n"));
    let location = match c["location"]["line"].as_u64() {
        Some(line) if line > 0 => format!("{}:{line}", text(&c["location"]["file"])),
        _ => text(&c["location"]["file"]).to_owned(),
    };
    field("Defined at", &location);
    field("Attempts", &c["attempts"].as_u64().unwrap_or(0).to_string());
    field(
        "Duration",
        &format!("{} ms", c["duration_ms"].as_u64().unwrap_or(0)),
    );
    out.push_str("</dl>\n");
    for o in c["observations"].as_array().into_iter().flatten() {
        observation(out, o);
    }
    out.push_str("</details>\n");
}

fn observation(out: &mut String, o: &Value) {
    let status = text(&o["status"]);
    let _ = writeln!(
        out,
        "<div class=\"observation\">\n<h4><span class=\"badge {0}\">{0}</span> plugin <code>{1}</code> ({2} ms)</h4>",
        esc(status),
        esc(text(&o["plugin"])),
        o["duration_ms"].as_u64().unwrap_or(0)
    );
    if let Some(e) = o["error"].as_str() {
        let _ = writeln!(out, "<p class=\"error\">{}</p>", esc(e));
    }
    if let Some(m) = o["message"].as_str() {
        let _ = writeln!(out, "<p>{}</p>", esc(m));
    }
    let expectations = o["expectations"].as_array().map_or(&[][..], Vec::as_slice);
    if !expectations.is_empty() {
        out.push_str("<ul class=\"expectations\">\n");
        for x in expectations {
            let outcome = text(&x["outcome"]);
            let _ = write!(
                out,
                "<li><span class=\"badge {0}\">{0}</span> <code>{1}</code>",
                esc(outcome),
                esc(text(&x["expression"]))
            );
            if let Some(m) = x["message"].as_str() {
                let _ = write!(out, " &#8212; {}", esc(m));
            }
            out.push_str("</li>\n");
        }
        out.push_str("</ul>\n");
    }
    for (label, key) in [("Config", "config"), ("Evidence", "data")] {
        if !o[key].is_null() {
            let pretty = serde_json::to_string_pretty(&o[key]).unwrap_or_default();
            let _ = writeln!(
                out,
                "<p class=\"label\">{label}</p>\n<pre>{}</pre>",
                esc(&pretty)
            );
        }
    }
    out.push_str("</div>\n");
}

/// Escapes text for an HTML text node or a double- or single-quoted attribute.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters are not allowed in HTML (or XML) text; show them as U+FFFD.
            c if c.is_control() && !matches!(c, '\n' | '\t' | '\r') => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_leaves_no_markup() {
        assert_eq!(
            esc("\"><img src=x onerror='1'>&</style>\u{7}"),
            "&quot;&gt;&lt;img src=x onerror=&#39;1&#39;&gt;&amp;&lt;/style&gt;\u{fffd}"
        );
    }

    #[test]
    fn the_page_keeps_no_dynamic_text_in_its_style_or_script() {
        // The CSP hash covers the script as compiled in; data never reaches either block.
        assert!(!STYLE.contains('<') && !SCRIPT.contains('<'));
        assert!(!SCRIPT.contains('&'));
    }
}
