//! Typed calls to the `reglet_host` functions. Plugins call them through the [`Host`] trait so
//! tests can fake the host; [`WasmHost`] is the real one inside a wasm instance.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::evidence::{Error, ErrorType};

/// The deadline part of every request (`context`): the host stops the work after `timeout_ms`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Context {
    /// Milliseconds the host may spend; 0 = the observation's deadline only.
    #[serde(skip_serializing_if = "is_zero")]
    pub timeout_ms: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// `dns_lookup` request.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DnsRequest {
    /// Deadline.
    pub context: Context,
    /// Name to resolve.
    pub hostname: String,
    /// A, AAAA, CNAME, MX, TXT or NS.
    #[serde(rename = "type")]
    pub record_type: String,
    /// `host:port` of the resolver to ask instead of the system's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nameserver: Option<String>,
}

/// One MX record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MxRecord {
    /// Mail exchanger.
    pub host: String,
    /// Preference.
    pub pref: u16,
}

/// `dns_lookup` answer.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct DnsResponse {
    /// Records (all types but MX).
    pub records: Vec<String>,
    /// MX records.
    pub mx_records: Vec<MxRecord>,
}

/// `http_request` request.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HttpRequest {
    /// Deadline.
    pub context: Context,
    /// GET, POST, ...
    pub method: String,
    /// Absolute URL.
    pub url: String,
    /// Request headers, name to values.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, Vec<String>>,
    /// Body bytes (sent base64, as the host expects).
    #[serde(skip_serializing_if = "Vec::is_empty", serialize_with = "base64_bytes")]
    pub body: Vec<u8>,
}

fn base64_bytes<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    use base64::Engine;
    s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
}

fn base64_decode<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    use base64::Engine;
    let text = Option::<String>::deserialize(d)?.unwrap_or_default();
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(serde::de::Error::custom)
}

/// `http_request` answer.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct HttpResponse {
    /// Status code.
    pub status_code: u16,
    /// Response headers, name to values.
    pub headers: BTreeMap<String, Vec<String>>,
    /// Body bytes.
    #[serde(deserialize_with = "base64_decode")]
    pub body: Vec<u8>,
    /// The host cut the body at its limit.
    pub body_truncated: bool,
    /// Protocol (`HTTP/1.1`, `HTTP/2.0`).
    pub proto: String,
}

/// `tcp_connect` request.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TcpRequest {
    /// Deadline.
    pub context: Context,
    /// Host name or address.
    pub host: String,
    /// Port, as a string (Reglet's wire).
    pub port: String,
    /// Connect timeout.
    pub timeout_ms: u64,
    /// Do a TLS handshake.
    pub tls: bool,
}

/// `tcp_connect` answer. A failed connection is an answer too (`connected: false`, `error`), so
/// TLS details of a certificate that failed verification stay readable.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct TcpResponse {
    /// The connection was made.
    pub connected: bool,
    /// `host:port` as asked.
    pub address: String,
    /// Peer address.
    pub remote_addr: String,
    /// Local address.
    pub local_addr: String,
    /// Time to connect (and handshake).
    pub response_time_ms: u64,
    /// TLS was negotiated.
    pub tls: bool,
    /// `TLS 1.3`, ...
    pub tls_version: String,
    /// Cipher suite name.
    pub tls_cipher_suite: String,
    /// SNI sent.
    pub tls_server_name: String,
    /// Leaf certificate subject.
    pub tls_cert_subject: String,
    /// Leaf certificate issuer.
    pub tls_cert_issuer: String,
    /// Leaf certificate expiry (RFC 3339).
    pub tls_cert_not_after: String,
    /// The certificate chain verified.
    pub tls_verified: Option<bool>,
    /// Why it did not.
    pub tls_error: String,
    /// What went wrong, if anything.
    #[serde(deserialize_with = "error_detail")]
    pub error: Option<Error>,
}

fn error_detail<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Error>, D::Error> {
    Ok(Option::<Value>::deserialize(d)?.and_then(|v| Error::from_json(&v)))
}

/// `smtp_connect` request.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SmtpRequest {
    /// Deadline.
    pub context: Context,
    /// Server.
    pub host: String,
    /// Port, as a string.
    pub port: String,
    /// Connect timeout.
    pub timeout_ms: u64,
    /// Implicit TLS (port 465).
    pub tls: bool,
    /// STARTTLS after the greeting.
    pub starttls: bool,
}

/// `smtp_connect` answer.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct SmtpResponse {
    /// The connection was made.
    pub connected: bool,
    /// `host:port` as asked.
    pub address: String,
    /// The 220 greeting.
    pub banner: String,
    /// Time to connect.
    pub response_time_ms: u64,
    /// TLS was negotiated.
    pub tls: bool,
    /// `TLS 1.3`, ...
    pub tls_version: String,
    /// Cipher suite name.
    pub tls_cipher_suite: String,
    /// SNI sent.
    pub tls_server_name: String,
    /// What went wrong, if anything.
    #[serde(deserialize_with = "error_detail")]
    pub error: Option<Error>,
}

/// `exec_command` request.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ExecRequest {
    /// Deadline: the host kills the command after it.
    pub context: Context,
    /// Program to run.
    pub command: String,
    /// Arguments.
    pub args: Vec<String>,
    /// Working directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dir: Option<String>,
    /// `KEY=value` environment (nothing is inherited).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
}

/// `exec_command` answer.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ExecResponse {
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// Exit status.
    pub exit_code: i32,
    /// Run time.
    pub duration_ms: u64,
    /// The command was killed at its deadline.
    pub is_timeout: bool,
    /// Set with `is_timeout` (other failures are returned as `Err`).
    #[serde(deserialize_with = "error_detail")]
    pub error: Option<Error>,
}

/// `file_stat` request (a reglet-rs extension): the real metadata of a path the plugin may read.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FileStatRequest {
    /// Absolute path.
    pub path: String,
    /// Follow a final symlink.
    pub follow: bool,
}

/// `file_stat` answer.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct FileStat {
    /// Something is at the path.
    pub exists: bool,
    /// `st_mode`: file type and permission bits.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, seconds since the epoch.
    pub mtime_sec: i64,
    /// Its nanoseconds.
    pub mtime_nsec: u32,
    /// A directory.
    pub is_dir: bool,
    /// A symlink (never when `follow` was set).
    pub is_symlink: bool,
}

/// Log levels of `log_message`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// DEBUG.
    Debug,
    /// INFO.
    Info,
    /// WARN.
    Warn,
    /// ERROR.
    Error,
}

fn unavailable(function: &str) -> Error {
    Error::new(
        ErrorType::Internal,
        format!("{function} is not available from this host"),
    )
}

/// The host's services. Every method has a default that answers "not available", so a test
/// fake implements only what its plugin calls.
pub trait Host {
    /// Resolves a name.
    fn dns_lookup(&self, request: &DnsRequest) -> Result<DnsResponse, Error> {
        let _ = request;
        Err(unavailable("dns_lookup"))
    }
    /// Makes an HTTP request.
    fn http_request(&self, request: &HttpRequest) -> Result<HttpResponse, Error> {
        let _ = request;
        Err(unavailable("http_request"))
    }
    /// Opens a TCP (or TLS) connection and reports on it.
    fn tcp_connect(&self, request: &TcpRequest) -> Result<TcpResponse, Error> {
        let _ = request;
        Err(unavailable("tcp_connect"))
    }
    /// Connects to an SMTP server and reports on it.
    fn smtp_connect(&self, request: &SmtpRequest) -> Result<SmtpResponse, Error> {
        let _ = request;
        Err(unavailable("smtp_connect"))
    }
    /// Runs a command.
    fn exec_command(&self, request: &ExecRequest) -> Result<ExecResponse, Error> {
        let _ = request;
        Err(unavailable("exec_command"))
    }
    /// Reads a path's real metadata (owner, mode).
    fn file_stat(&self, request: &FileStatRequest) -> Result<FileStat, Error> {
        let _ = request;
        Err(unavailable("file_stat"))
    }
    /// Writes to the host's log.
    fn log(&self, level: Level, message: &str) {
        let _ = (level, message);
    }
}

/// The host of a wasm instance: the `reglet_host` imports.
pub struct WasmHost;

/// The `error` of an answer, read without building the rest of the document.
#[derive(Deserialize)]
struct ErrorProbe {
    #[serde(default)]
    error: Option<Value>,
}

/// Decodes an answer; a document whose `error` is set becomes that error.
fn decode<R: DeserializeOwned>(bytes: &[u8], errors_are_answers: bool) -> Result<R, Error> {
    if !errors_are_answers
        && let Ok(ErrorProbe { error: Some(error) }) = serde_json::from_slice(bytes)
        && let Some(error) = Error::from_json(&error)
    {
        return Err(error);
    }
    // Straight into the answer's type: a `Value` in between would double the work.
    serde_json::from_slice(bytes).map_err(|e| {
        let what = match e.classify() {
            serde_json::error::Category::Data => "malformed",
            _ => "not JSON",
        };
        Error::new(
            ErrorType::Internal,
            format!("the host's answer is {what}: {e}"),
        )
    })
}

#[cfg(target_arch = "wasm32")]
fn call(
    import: unsafe extern "C" fn(u64) -> u64,
    request: &impl Serialize,
) -> Result<Vec<u8>, Error> {
    let bytes = serde_json::to_vec(request)
        .map_err(|e| Error::new(ErrorType::Internal, format!("request: {e}")))?;
    let packed = crate::abi::pack(bytes.as_ptr() as usize as u32, bytes.len() as u32);
    // SAFETY: the import reads `bytes` (alive until after the call) and writes its answer only
    // into memory it obtained from our `allocate`.
    let answer = unsafe { import(packed) };
    let (ptr, len) = crate::abi::unpack(answer);
    crate::abi::take(ptr, len)
        .filter(|b| !b.is_empty())
        .ok_or_else(|| Error::new(ErrorType::Internal, "the host returned no answer"))
}

#[cfg(not(target_arch = "wasm32"))]
fn call(_import: (), _request: &impl Serialize) -> Result<Vec<u8>, Error> {
    Err(Error::new(
        ErrorType::Internal,
        "host functions exist only inside a wasm instance",
    ))
}

#[cfg(target_arch = "wasm32")]
use crate::abi::imports;
#[cfg(not(target_arch = "wasm32"))]
#[allow(non_upper_case_globals)]
mod imports {
    pub(crate) const dns_lookup: () = ();
    pub(crate) const http_request: () = ();
    pub(crate) const tcp_connect: () = ();
    pub(crate) const smtp_connect: () = ();
    pub(crate) const exec_command: () = ();
    pub(crate) const file_stat: () = ();
}

impl Host for WasmHost {
    fn dns_lookup(&self, request: &DnsRequest) -> Result<DnsResponse, Error> {
        decode(&call(imports::dns_lookup, request)?, false)
    }
    fn http_request(&self, request: &HttpRequest) -> Result<HttpResponse, Error> {
        decode(&call(imports::http_request, request)?, false)
    }
    fn tcp_connect(&self, request: &TcpRequest) -> Result<TcpResponse, Error> {
        decode(&call(imports::tcp_connect, request)?, true)
    }
    fn smtp_connect(&self, request: &SmtpRequest) -> Result<SmtpResponse, Error> {
        decode(&call(imports::smtp_connect, request)?, true)
    }
    fn exec_command(&self, request: &ExecRequest) -> Result<ExecResponse, Error> {
        // A command killed at its deadline is an answer (with its partial output), not a failure.
        let answer: ExecResponse = decode(&call(imports::exec_command, request)?, true)?;
        match answer.error {
            Some(error) if !answer.is_timeout => Err(error),
            _ => Ok(answer),
        }
    }
    fn file_stat(&self, request: &FileStatRequest) -> Result<FileStat, Error> {
        decode(&call(imports::file_stat, request)?, false)
    }
    fn log(&self, level: Level, message: &str) {
        let level = match level {
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
        };
        let (secs, nanos) = crate::now_unix();
        let doc = json!({"context": {}, "level": level, "message": message,
                         "timestamp": crate::rfc3339(secs, nanos), "attrs": []});
        #[cfg(target_arch = "wasm32")]
        {
            let bytes = serde_json::to_vec(&doc).unwrap_or_default();
            let packed = crate::abi::pack(bytes.as_ptr() as usize as u32, bytes.len() as u32);
            // SAFETY: the import only reads `bytes`, which outlives the call.
            unsafe { imports::log_message(packed) };
        }
        #[cfg(not(target_arch = "wasm32"))]
        let _ = doc;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_speak_reglets_wire() {
        let req = HttpRequest {
            method: "POST".into(),
            url: "http://x/".into(),
            body: b"hi".to_vec(),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&req).unwrap(),
            json!({"context": {}, "method": "POST", "url": "http://x/", "body": "aGk="})
        );
        let dns = DnsRequest {
            hostname: "a".into(),
            record_type: "MX".into(),
            context: Context { timeout_ms: 5 },
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&dns).unwrap(),
            json!({"context": {"timeout_ms": 5}, "hostname": "a", "type": "MX"})
        );
    }

    #[test]
    fn answers_decode_and_errors_surface() {
        let ok: HttpResponse = decode(
            br#"{"status_code":200,"body":"aGk=","headers":{"A":["b"]}}"#,
            false,
        )
        .unwrap();
        assert_eq!(ok.body, b"hi");
        let err = decode::<DnsResponse>(
            br#"{"error":{"message":"denied","type":"capability","code":""}}"#,
            false,
        )
        .unwrap_err();
        assert_eq!(err.kind, ErrorType::Capability);
        let tcp: TcpResponse = decode(
            br#"{"connected":false,"error":{"message":"refused","type":"network"}}"#,
            true,
        )
        .unwrap();
        assert_eq!(tcp.error.unwrap().message, "refused");
        assert!(WasmHost.file_stat(&FileStatRequest::default()).is_err());
        // An `error` of null is no error; a broken document and a wrong shape say which.
        let stat: FileStat = decode(br#"{"exists":false,"error":null}"#, false).unwrap();
        assert!(!stat.exists);
        let broken = decode::<FileStat>(b"{\"exists\":", false).unwrap_err();
        assert!(broken.message.contains("not JSON"), "{}", broken.message);
        let wrong = decode::<FileStat>(br#"{"exists":"yes"}"#, false).unwrap_err();
        assert!(wrong.message.contains("malformed"), "{}", wrong.message);
    }
}
