//! The JSON documents guests send to host functions, read with Go's rules (keys matched
//! case-insensitively, unknown keys ignored, `null` as absent), and the shapes of the answers.

use std::time::{Duration, Instant, SystemTime};

use reglet_domain::{ErrorDetail, ErrorType, Timestamp};
use serde_json::{Map, Value, json};

/// A request that could not be read; answered with an `internal` error document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadRequest(pub(crate) String);

/// The keys of one JSON object, looked up the way Go decodes a struct.
pub(crate) struct Fields<'a>(pub(crate) &'a Map<String, Value>);

impl<'a> Fields<'a> {
    fn get(&self, name: &str) -> Option<&'a Value> {
        let found = self.0.get(name).or_else(|| {
            self.0
                .iter()
                .rev()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        });
        found.filter(|v| !v.is_null())
    }

    pub(crate) fn string(&self, name: &str) -> Result<Option<String>, BadRequest> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(BadRequest(format!("{name} must be a string"))),
        }
    }

    pub(crate) fn bool(&self, name: &str) -> Result<bool, BadRequest> {
        match self.get(name) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(BadRequest(format!("{name} must be a boolean"))),
        }
    }

    pub(crate) fn int(&self, name: &str) -> Result<Option<i64>, BadRequest> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v
                .as_i64()
                .map(Some)
                .ok_or_else(|| BadRequest(format!("{name} must be an integer"))),
        }
    }

    /// A string, or a number written as a string (ports travel both ways).
    pub(crate) fn string_or_number(&self, name: &str) -> Result<Option<String>, BadRequest> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(_) => Err(BadRequest(format!("{name} must be a string or a number"))),
        }
    }

    pub(crate) fn strings(&self, name: &str) -> Result<Vec<String>, BadRequest> {
        match self.get(name) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| BadRequest(format!("{name} must be a list of strings")))
                })
                .collect(),
            Some(_) => Err(BadRequest(format!("{name} must be a list of strings"))),
        }
    }

    pub(crate) fn object(&self, name: &str) -> Result<Option<Fields<'a>>, BadRequest> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(Fields(map))),
            Some(_) => Err(BadRequest(format!("{name} must be an object"))),
        }
    }

    /// The raw map (for `headers`).
    pub(crate) fn map(&self, name: &str) -> Result<Option<&'a Map<String, Value>>, BadRequest> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(map)),
            Some(_) => Err(BadRequest(format!("{name} must be an object"))),
        }
    }
}

/// Parses a request document: a JSON object.
pub(crate) fn parse(bytes: &[u8]) -> Result<Map<String, Value>, BadRequest> {
    if bytes.is_empty() {
        return Err(BadRequest("empty request".into()));
    }
    match serde_json::from_slice(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(BadRequest("the request must be a JSON object".into())),
        Err(e) => Err(BadRequest(format!("the request is not valid JSON: {e}"))),
    }
}

/// What the guest's `context` object says about time: its deadline, if any, and whether it was
/// already cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct CallContext {
    pub(crate) deadline: Option<Instant>,
    pub(crate) canceled: bool,
}

/// Reads the request's `context`: `deadline` (RFC 3339), else `timeout_ms`, and `canceled`
/// (`Canceled` in Gen 1).
pub(crate) fn call_context(request: &Fields<'_>) -> Result<CallContext, BadRequest> {
    let Some(context) = request.object("context")? else {
        return Ok(CallContext::default());
    };
    let canceled = context.bool("canceled")?;
    let deadline = match context.string("deadline")? {
        Some(text) if !text.is_empty() => {
            let at: Timestamp = text
                .parse()
                .map_err(|e| BadRequest(format!("context.deadline: {e}")))?;
            let nanos = at.unix_nanos();
            let now = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as i128);
            // The zero time Go emits for "no deadline" is in year 1: treat it as none.
            (!at.is_go_zero()).then(|| {
                Instant::now()
                    + Duration::from_nanos((nanos - now).clamp(0, i64::MAX as i128) as u64)
            })
        }
        _ => match context.int("timeout_ms")? {
            Some(ms) if ms > 0 => Some(Instant::now() + Duration::from_millis(ms as u64)),
            _ => None,
        },
    };
    Ok(CallContext { deadline, canceled })
}

/// The earliest of the given deadlines.
pub(crate) fn earliest(deadlines: impl IntoIterator<Item = Option<Instant>>) -> Instant {
    deadlines
        .into_iter()
        .flatten()
        .min()
        .unwrap_or_else(|| Instant::now() + Duration::from_secs(30))
}

/// An error document: `{"error": {...}}` plus the fields a guest expects in every answer.
pub(crate) fn error_document(base: Value, error: ErrorDetail) -> Value {
    let mut doc = match base {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    doc.insert(
        "error".into(),
        serde_json::to_value(error).expect("errors serialise"),
    );
    Value::Object(doc)
}

/// The answer to a request that could not be read.
pub(crate) fn bad_request(base: Value, reason: &BadRequest) -> Value {
    error_document(
        base,
        ErrorDetail::new(
            ErrorType::Internal,
            format!("invalid request: {}", reason.0),
        ),
    )
}

/// The fields each function's answer always carries, so a guest decoding an error finds them.
pub(crate) fn base_for(function: &str) -> Value {
    match function {
        "tcp_connect" | "smtp_connect" => json!({"connected": false}),
        "exec_command" => json!({"stdout": "", "stderr": "", "exit_code": 0}),
        _ => json!({}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn keys_follow_go() {
        let map = parse(
            br#"{"HOST":"a","Port":443,"tls":null,"Context":{"Canceled":true,"timeout_ms":1500}}"#,
        )
        .unwrap();
        let f = Fields(&map);
        assert_eq!(f.string("host").unwrap().as_deref(), Some("a"));
        assert_eq!(f.string_or_number("port").unwrap().as_deref(), Some("443"));
        assert!(!f.bool("tls").unwrap());
        let ctx = call_context(&f).unwrap();
        assert!(ctx.canceled);
        let left = ctx
            .deadline
            .unwrap()
            .saturating_duration_since(Instant::now());
        assert!(left <= Duration::from_millis(1500) && left > Duration::from_millis(1000));
    }

    #[test]
    fn deadlines_in_rfc3339_and_go_zero() {
        let soon = Timestamp::new(time::OffsetDateTime::now_utc() + time::Duration::seconds(2));
        let map = parse(format!(r#"{{"context":{{"deadline":"{soon}"}}}}"#).as_bytes()).unwrap();
        let ctx = call_context(&Fields(&map)).unwrap();
        assert!(ctx.deadline.unwrap() > Instant::now());
        let map = parse(br#"{"context":{"deadline":"0001-01-01T00:00:00Z"}}"#).unwrap();
        assert_eq!(call_context(&Fields(&map)).unwrap().deadline, None);
        let map = parse(br#"{"context":{"deadline":"tomorrow"}}"#).unwrap();
        assert!(
            call_context(&Fields(&map))
                .unwrap_err()
                .0
                .contains("tomorrow")
        );
    }

    #[test]
    fn bad_requests_say_why() {
        for (bytes, needle) in [
            (&b""[..], "empty"),
            (b"[1]", "object"),
            (b"{", "not valid JSON"),
        ] {
            assert!(parse(bytes).unwrap_err().0.contains(needle));
        }
        let map = parse(br#"{"host":1,"args":[1]}"#).unwrap();
        assert!(Fields(&map).string("host").is_err());
        assert!(Fields(&map).strings("args").is_err());
        let doc = bad_request(base_for("tcp_connect"), &BadRequest("x".into()));
        assert_eq!(doc["connected"], false);
        assert_eq!(doc["error"]["type"], "internal");
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            if let Ok(map) = parse(&bytes) {
                let _ = call_context(&Fields(&map));
            }
        }
    }
}
