//! `log_message`: guest logs into the host's `tracing`, attributed, redacted and bounded.

use serde_json::Value;
use wasmtime::Caller;

use super::HostView;
use super::requests::{LogAttr, LogRequest, parse};
use super::wire::read_request;
use reglet_ports::REDACTED;
use reglet_ports::Redactor;

/// Longest message kept; the rest is cut with a marker.
const MAX_MESSAGE_CHARS: usize = 4096;
/// Most attributes kept per message.
const MAX_ATTRS: usize = 32;
/// Longest attribute value kept.
const MAX_ATTR_CHARS: usize = 512;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

/// Reads a Go `slog` level name (`DEBUG`, `info`, `WARN+2`, ...); unknown names are INFO.
fn level(text: &str) -> Level {
    let upper = text.trim().to_ascii_uppercase();
    let (base, offset) = match upper.find(['+', '-']) {
        Some(i) => (&upper[..i], upper[i..].parse::<i32>().unwrap_or(0)),
        None => (upper.as_str(), 0),
    };
    let value = match base {
        "DEBUG" => -4,
        "WARN" | "WARNING" => 4,
        "ERROR" => 8,
        _ => 0,
    } + offset;
    match value {
        v if v < 0 => Level::Debug,
        v if v < 4 => Level::Info,
        v if v < 8 => Level::Warn,
        _ => Level::Error,
    }
}

fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…[truncated]", &text[..at]),
        None => text.to_owned(),
    }
}

fn render_attrs(attrs: &[LogAttr], redactor: &dyn Redactor) -> String {
    let mut out = Vec::new();
    for attr in attrs.iter().take(MAX_ATTRS) {
        let key = attr.key.as_deref().unwrap_or("?");
        let value = attr
            .value
            .clone()
            .unwrap_or_else(|| Value::String(String::new()));
        // Redacted as a one-entry document, like structured evidence: the key by the text rules,
        // the value whole when the key is sensitive, and what is inside it otherwise.
        let mut pair = Value::Object(serde_json::Map::from_iter([(key.to_owned(), value)]));
        let (key, value) = match redactor.redact_json(&mut pair) {
            Ok(_) => match pair {
                Value::Object(map) => map.into_iter().next().unwrap_or_default(),
                _ => Default::default(),
            },
            Err(_) => (REDACTED.to_owned(), Value::String(REDACTED.to_owned())),
        };
        let value = match value {
            Value::String(s) => s,
            other => other.to_string(),
        };
        out.push(format!("{}={}", cut(&key, 64), cut(&value, MAX_ATTR_CHARS)));
    }
    if attrs.len() > MAX_ATTRS {
        out.push(format!("(+{} more)", attrs.len() - MAX_ATTRS));
    }
    out.join(" ")
}

/// How much a guest may log through `log_message` in one instance.
pub(crate) struct LogBudget {
    pub(crate) messages_left: u32,
    pub(crate) bytes_left: usize,
    pub(crate) dropped: u64,
}

impl Default for LogBudget {
    fn default() -> Self {
        LogBudget {
            messages_left: 1000,
            bytes_left: 1 << 20,
            dropped: 0,
        }
    }
}

/// The `log_message` import: never fails and never traps, whatever the guest sends.
pub(crate) fn log_message<T: HostView>(mut caller: Caller<'_, T>, packed: u64) {
    let request = read_request(&mut caller, packed);
    let state = caller.data_mut();
    let plugin = state.plugin().name.clone();
    let redactor = state.plugin().redactor.clone();
    let bytes = match &request {
        Ok(bytes) => bytes.len(),
        Err(_) => 0,
    };
    let budget = state.log_budget();
    if budget.messages_left == 0 || budget.bytes_left < bytes {
        budget.dropped += 1;
        return;
    }
    budget.messages_left -= 1;
    budget.bytes_left -= bytes;
    let parsed = request.and_then(|bytes| parse::<LogRequest>(&bytes).map_err(|e| e.0));
    let doc = match parsed {
        Ok(doc) => doc,
        Err(reason) => {
            let reason = reglet_ports::redactor::redact_string(redactor.as_ref(), reason);
            tracing::warn!(target: "reglet::plugin", plugin = %plugin, "unreadable log message from the plugin: {}", cut(&reason, 200));
            return;
        }
    };
    let mut message = doc.message;
    redactor.redact_in_place(&mut message);
    let message = cut(&message, MAX_MESSAGE_CHARS);
    let attrs = render_attrs(&doc.attrs, redactor.as_ref());
    match level(&doc.level) {
        Level::Debug => {
            tracing::debug!(target: "reglet::plugin", plugin = %plugin, attrs = %attrs, "{message}")
        }
        Level::Info => {
            tracing::info!(target: "reglet::plugin", plugin = %plugin, attrs = %attrs, "{message}")
        }
        Level::Warn => {
            tracing::warn!(target: "reglet::plugin", plugin = %plugin, attrs = %attrs, "{message}")
        }
        Level::Error => {
            tracing::error!(target: "reglet::plugin", plugin = %plugin, attrs = %attrs, "{message}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slog_levels() {
        for (text, want) in [
            ("DEBUG", Level::Debug),
            ("info", Level::Info),
            ("WARN", Level::Warn),
            ("ERROR", Level::Error),
            ("INFO+4", Level::Warn),
            ("WARN-8", Level::Debug),
            ("nonsense", Level::Info),
        ] {
            assert_eq!(level(text), want, "{text}");
        }
    }

    #[test]
    fn cutting_respects_characters() {
        assert_eq!(cut("héllo", 2), "hé…[truncated]");
        assert_eq!(cut("hi", 5), "hi");
    }
}
