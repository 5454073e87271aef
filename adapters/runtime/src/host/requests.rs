//! The JSON documents guests send to host functions, as typed structs read with Go's rules
//! (reglet-domain's `go_json`: keys matched case-insensitively, the last of several winning,
//! `null` leaving a value field as it was), and the shapes of the answers.

use std::time::{Duration, Instant, SystemTime};

use reglet_domain::go_json::{self, GoDecode};
use reglet_domain::go_struct;
use reglet_domain::{ErrorDetail, ErrorType, Timestamp};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value, json};

/// A request that could not be read; answered with an `internal` error document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadRequest(pub(crate) String);

/// Reads a request document into its typed form by Go's rules ([`go_json`]).
pub(crate) fn parse<T: GoDecode + Default>(bytes: &[u8]) -> Result<T, BadRequest> {
    if bytes.is_empty() {
        return Err(BadRequest("empty request".into()));
    }
    go_json::from_slice("request", bytes).map_err(|e| BadRequest(e.reason().to_owned()))
}

/// The `context` object every request carries (Go's `ContextWireFormat`; `Canceled` in Gen 1).
#[derive(Debug, Default)]
pub(crate) struct WireContext {
    deadline: Option<String>,
    timeout_ms: i64,
    canceled: bool,
}
go_struct!(WireContext {
    "deadline" => deadline,
    "timeout_ms" => timeout_ms,
    "canceled" => canceled,
});

/// A port written as a string (`"443"`, Gen 1) or a number (Gen 2).
#[derive(Debug, Default)]
pub(crate) struct Port(pub(crate) String);

impl GoDecode for Port {
    fn go_decode<'de, D: Deserializer<'de>>(&mut self, deserializer: D) -> Result<(), D::Error> {
        match Option::<Value>::deserialize(deserializer)? {
            None => {}
            Some(Value::String(s)) => self.0 = s,
            Some(Value::Number(n)) => self.0 = n.to_string(),
            Some(_) => {
                return Err(serde::de::Error::custom(
                    "port must be a string or a number",
                ));
            }
        }
        Ok(())
    }
}

/// `dns_lookup`'s request.
#[derive(Debug, Default)]
pub(crate) struct DnsRequest {
    pub(crate) context: WireContext,
    pub(crate) hostname: String,
    pub(crate) record_type: String,
    pub(crate) nameserver: String,
}
go_struct!(DnsRequest {
    "context" => context,
    "hostname" => hostname,
    "type" => record_type,
    "nameserver" => nameserver,
});

/// `tcp_connect`'s request.
#[derive(Debug, Default)]
pub(crate) struct TcpRequest {
    pub(crate) context: WireContext,
    pub(crate) host: String,
    pub(crate) port: Port,
    pub(crate) timeout_ms: i64,
    pub(crate) tls: bool,
}
go_struct!(TcpRequest {
    "context" => context,
    "host" => host,
    "port" => port,
    "timeout_ms" => timeout_ms,
    "tls" => tls,
});

/// `smtp_connect`'s request.
#[derive(Debug, Default)]
pub(crate) struct SmtpRequest {
    pub(crate) context: WireContext,
    pub(crate) host: String,
    pub(crate) port: Port,
    pub(crate) timeout_ms: i64,
    pub(crate) tls: bool,
    pub(crate) starttls: bool,
}
go_struct!(SmtpRequest {
    "context" => context,
    "host" => host,
    "port" => port,
    "timeout_ms" => timeout_ms,
    "tls" => tls,
    "starttls" => starttls,
});

/// `http_request`'s request; `headers` is Go's `map[string][]string`, read leniently in `http`.
#[derive(Debug, Default)]
pub(crate) struct HttpRequest {
    pub(crate) context: WireContext,
    pub(crate) method: String,
    pub(crate) url: String,
    pub(crate) headers: Map<String, Value>,
    pub(crate) body: String,
}
go_struct!(HttpRequest {
    "context" => context,
    "method" => method,
    "url" => url,
    "headers" => headers,
    "body" => body,
});

/// `exec_command`'s request.
#[derive(Debug, Default)]
pub(crate) struct ExecRequest {
    pub(crate) context: WireContext,
    pub(crate) command: String,
    pub(crate) args: Vec<String>,
    pub(crate) dir: String,
    pub(crate) env: Vec<String>,
}
go_struct!(ExecRequest {
    "context" => context,
    "command" => command,
    "args" => args,
    "dir" => dir,
    "env" => env,
});

/// `file_stat`'s request (our extension of `reglet_host`).
#[derive(Debug, Default)]
pub(crate) struct FileStatRequest {
    pub(crate) path: String,
    pub(crate) follow: bool,
}
go_struct!(FileStatRequest {
    "path" => path,
    "follow" => follow,
});

/// `log_message`'s request.
#[derive(Debug, Default)]
pub(crate) struct LogRequest {
    pub(crate) level: String,
    pub(crate) message: String,
    pub(crate) attrs: Vec<LogAttr>,
}
go_struct!(LogRequest {
    "level" => level,
    "message" => message,
    "attrs" => attrs,
});

/// One attribute of a log message; its `type` is not needed to print it.
#[derive(Debug, Default)]
pub(crate) struct LogAttr {
    pub(crate) key: Option<String>,
    pub(crate) value: Option<Value>,
}
go_struct!(LogAttr {
    "key" => key with go_json::decode_present,
    "value" => value,
});

/// What the guest's `context` object says about time: its deadline, if any, and whether it was
/// already cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct CallContext {
    pub(crate) deadline: Option<Instant>,
    pub(crate) canceled: bool,
}

/// Reads the request's `context`: `deadline` (RFC 3339), else `timeout_ms`, and `canceled`
/// (`Canceled` in Gen 1).
pub(crate) fn call_context(context: &WireContext) -> Result<CallContext, BadRequest> {
    let canceled = context.canceled;
    let deadline = match context.deadline.as_deref() {
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
        _ => match context.timeout_ms {
            ms if ms > 0 => Some(Instant::now() + Duration::from_millis(ms as u64)),
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

/// A host call that produced no answer of its own. [`super::register`] turns it into the
/// function's error document, and logs it when it is a refusal: the one place both happen.
/// Boxed, so the `Ok` path of every handler stays small.
#[derive(Debug)]
pub(crate) struct CallError(Box<Failure>);

#[derive(Debug)]
struct Failure {
    detail: ErrorDetail,
    /// The grants or the sandbox refused the call (logged as `refused:`), as opposed to a call
    /// that was allowed and failed.
    refused: bool,
    /// Fields the answer carries even on error, over the function's base (a TCP check's
    /// `address`, say).
    fields: Map<String, Value>,
}

impl CallError {
    fn new(detail: ErrorDetail, refused: bool) -> Self {
        CallError(Box::new(Failure {
            detail,
            refused,
            fields: Map::new(),
        }))
    }

    /// A refusal by the grants or the sandbox.
    pub(crate) fn refused(detail: ErrorDetail) -> Self {
        CallError::new(detail, true)
    }

    /// The same error, answering with `field` too.
    pub(crate) fn with_field(mut self, name: &str, value: Value) -> Self {
        self.0.fields.insert(name.to_owned(), value);
        self
    }

    /// The refusal to log, when this is one.
    pub(crate) fn refusal(&self) -> Option<&ErrorDetail> {
        self.0.refused.then_some(&self.0.detail)
    }

    /// The error document `function` answers with.
    pub(crate) fn into_answer(self, function: &str) -> Value {
        let Failure { detail, fields, .. } = *self.0;
        let mut base = base_for(function);
        if let Value::Object(map) = &mut base {
            map.extend(fields);
        }
        error_document(base, detail)
    }
}

impl From<ErrorDetail> for CallError {
    fn from(detail: ErrorDetail) -> Self {
        CallError::new(detail, false)
    }
}

impl From<BadRequest> for CallError {
    fn from(reason: BadRequest) -> Self {
        bad_request_detail(&reason).into()
    }
}

/// Answers with `detail` as an error (allowed, but failed).
pub(crate) fn fail(detail: ErrorDetail) -> Result<Value, CallError> {
    Err(detail.into())
}

/// What a request that could not be read is answered with.
fn bad_request_detail(reason: &BadRequest) -> ErrorDetail {
    ErrorDetail::new(
        ErrorType::Internal,
        format!("invalid request: {}", reason.0),
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
        let request: TcpRequest = parse(
            r#"{"HOST":"a","Port":443,"tls":true,"tls":null,"Context":{"Canceled":true,"timeout_ms":1500}}"#
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(request.host, "a");
        assert_eq!(request.port.0, "443");
        assert!(request.tls, "null leaves a bool as it was");
        let ctx = call_context(&request.context).unwrap();
        assert!(ctx.canceled);
        let left = ctx
            .deadline
            .unwrap()
            .saturating_duration_since(Instant::now());
        assert!(left <= Duration::from_millis(1500) && left > Duration::from_millis(1000));
        let request: DnsRequest =
            parse(r#"{"hostname":"a.example","hoſtname":"b.example","TYPE":"MX"}"#.as_bytes())
                .unwrap();
        assert_eq!(
            request.hostname, "b.example",
            "the last key wins, ſ folds to s"
        );
        assert_eq!(request.record_type, "MX");
    }

    #[test]
    fn deadlines_in_rfc3339_and_go_zero() {
        let context = |text: String| parse::<DnsRequest>(text.as_bytes()).unwrap().context;
        let soon = Timestamp::new(time::OffsetDateTime::now_utc() + time::Duration::seconds(2));
        let ctx = call_context(&context(format!(
            r#"{{"context":{{"deadline":"{soon}"}}}}"#
        )))
        .unwrap();
        assert!(ctx.deadline.unwrap() > Instant::now());
        let zero = context(r#"{"context":{"deadline":"0001-01-01T00:00:00Z"}}"#.into());
        assert_eq!(call_context(&zero).unwrap().deadline, None);
        let bad = context(r#"{"context":{"deadline":"tomorrow"}}"#.into());
        assert!(call_context(&bad).unwrap_err().0.contains("tomorrow"));
    }

    #[test]
    fn bad_requests_say_why() {
        for (bytes, needle) in [
            (&b""[..], "empty"),
            (b"[1]", "object"),
            (b"{", "not valid JSON"),
            (br#"{"host":1}"#, "\"host\""),
            (br#"{"port":true}"#, "port must be a string or a number"),
        ] {
            let err = parse::<TcpRequest>(bytes).unwrap_err().0;
            assert!(err.contains(needle), "{err}");
        }
        let err = parse::<ExecRequest>(br#"{"args":[1]}"#).unwrap_err().0;
        assert!(err.contains("args[0]"), "{err}");
        let doc = CallError::from(BadRequest("x".into())).into_answer("tcp_connect");
        assert_eq!(doc["connected"], false);
        assert_eq!(doc["error"]["type"], "internal");
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            if let Ok(request) = parse::<HttpRequest>(&bytes) {
                let _ = call_context(&request.context);
            }
        }
    }
}
