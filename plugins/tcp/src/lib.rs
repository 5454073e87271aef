//! The `tcp` plugin: opens a TCP connection (and a TLS handshake when asked) through the host's
//! `tcp_connect` and reports it with Reglet's field names, plus `tls_cert_days_remaining`. A
//! connection that could not be made is failed evidence (`connected: false` and why), so
//! `expect: data.connected == false` can assert a port is closed.

use reglet_plugin_sdk::host::{Context, TcpRequest, TcpResponse};
use reglet_plugin_sdk::{
    Error, ErrorType, Evidence, Host, Plugin, Value, json, now_unix, parse_rfc3339, reglet_plugin,
};

/// Connect timeout when the config sets none.
const DEFAULT_TIMEOUT_MS: u64 = 5_000;

/// The plugin.
#[derive(Default)]
pub struct Tcp;

/// A port given as a number or, as Reglet's profiles sometimes do, a string.
#[derive(Debug, Clone, serde::Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
#[schemars(transform = port_range)]
pub enum Port {
    /// `443`.
    Number(u64),
    /// `"443"`.
    Text(String),
}

/// A port number or its decimal text (`"{{ .vars.port }}"` expands to text), 1–65535: a port out
/// of range is refused when the profile is checked, before anything runs.
fn port_range(schema: &mut schemars::Schema) {
    *schema = schemars::json_schema!({
        "anyOf": [
            {"type": "integer", "minimum": 1, "maximum": 65535},
            {
                "type": "string",
                "pattern": r"^\s*(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])\s*$"
            }
        ]
    });
}

impl Port {
    /// The port, when it is one (1–65535).
    pub fn value(&self) -> Option<u16> {
        let n = match self {
            Port::Number(n) => *n,
            Port::Text(t) => t.trim().parse().ok()?,
        };
        u16::try_from(n).ok().filter(|p| *p > 0)
    }
}

/// One connection.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Host name or address.
    pub host: String,
    /// Port (1–65535).
    pub port: Port,
    /// Milliseconds to connect (and handshake) before giving up (default 5000).
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// Do a TLS handshake after connecting.
    #[serde(default)]
    pub tls: bool,
    /// The TLS version the connection must negotiate, e.g. `TLS 1.3` (also `1.3`, `TLSv1.3`).
    #[serde(default)]
    pub expected_tls_version: Option<String>,
}

/// `TLS 1.3`, `tls1.3`, `TLSv1.3` and `1.3` all name the same version.
fn normalise_tls_version(text: &str) -> String {
    let lower = text.trim().to_ascii_lowercase();
    let digits = lower
        .trim_start_matches("tls")
        .trim_start_matches('v')
        .trim();
    format!("TLS {digits}")
}

/// Whole days from now until the RFC 3339 time `not_after` (negative once expired).
fn days_remaining(not_after: &str, now_secs: u64) -> Option<i64> {
    let expiry = parse_rfc3339(not_after)?;
    Some((expiry - now_secs as i64).div_euclid(86_400))
}

/// Whether `error` says the target could not be reached (evidence about it), rather than that
/// the host would not try.
pub fn is_unreachable(error: &Error) -> bool {
    matches!(error.kind, ErrorType::Network | ErrorType::Timeout)
}

fn report(answer: TcpResponse, evidence: &mut Evidence) {
    evidence.set("connected", answer.connected);
    evidence.set("address", answer.address);
    evidence.set("response_time_ms", answer.response_time_ms);
    evidence.set("remote_addr", answer.remote_addr);
    evidence.set("local_addr", answer.local_addr);
    evidence.set("tls", answer.tls);
    if !answer.tls_version.is_empty() || answer.tls_verified.is_some() {
        evidence.set("tls_version", answer.tls_version);
        evidence.set("tls_cipher_suite", answer.tls_cipher_suite);
        evidence.set("tls_server_name", answer.tls_server_name);
        evidence.set("tls_cert_subject", answer.tls_cert_subject);
        evidence.set("tls_cert_issuer", answer.tls_cert_issuer);
        if let Some(days) = days_remaining(&answer.tls_cert_not_after, now_unix().0) {
            evidence.set("tls_cert_days_remaining", days);
        }
        evidence.set("tls_cert_not_after", answer.tls_cert_not_after);
        evidence.set(
            "tls_verified",
            answer.tls_verified.map_or(Value::Null, Value::Bool),
        );
        if !answer.tls_error.is_empty() {
            evidence.set("tls_error", answer.tls_error);
        }
    }
}

impl Plugin for Tcp {
    type Config = Config;
    const NAME: &'static str = "tcp";
    const VERSION: &'static str = "2.0.0";
    const DESCRIPTION: &'static str =
        "Connect over TCP or TLS and check the connection and certificate";

    /// Outbound connections; the host and port granted are the configured ones.
    fn capabilities() -> Value {
        json!({"network": {"rules": [{"hosts": ["*"], "ports": ["*"]}]}})
    }

    fn observe(&self, config: Config, host: &dyn Host) -> Result<Evidence, Error> {
        if config.host.trim().is_empty() {
            return Err(Error::config("host", "host is required"));
        }
        let Some(port) = config.port.value() else {
            return Err(Error::config(
                "port",
                "port must be a number from 1 to 65535",
            ));
        };
        let expected = config
            .expected_tls_version
            .as_deref()
            .map(normalise_tls_version);
        if expected.is_some() && !config.tls {
            return Err(Error::config(
                "expected_tls_version",
                "expected_tls_version needs tls: true",
            ));
        }
        let timeout_ms = config.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS);
        let answer = host.tcp_connect(&TcpRequest {
            context: Context { timeout_ms },
            host: config.host.trim().to_owned(),
            port: port.to_string(),
            timeout_ms,
            tls: config.tls,
        })?;
        let (connected, error) = (answer.connected, answer.error.clone());
        if let Some(e) = &error
            && !connected
            && !is_unreachable(e)
        {
            // A refusal (grant, SSRF filter) or a bad request says nothing about the target.
            return Err(e.clone());
        }
        let mut evidence = Evidence::new();
        let negotiated = answer.tls_version.clone();
        let unverified = (answer.tls_verified == Some(false)).then(|| {
            let why = answer.tls_error.clone();
            if why.is_empty() {
                "the certificate did not verify".to_owned()
            } else {
                why
            }
        });
        report(answer, &mut evidence);
        if !connected {
            let why = error.map_or_else(|| "connection failed".to_owned(), |e| e.message);
            evidence.set("error", why.clone());
            return Ok(evidence.failed(format!(
                "could not connect to {}:{port}: {why}",
                config.host.trim()
            )));
        }
        if let Some(why) = unverified {
            // A certificate that does not verify is never a pass: the other end may be anyone.
            return Ok(evidence.failed(format!("TLS certificate not trusted: {why}")));
        }
        if let Some(expected) = expected {
            evidence.set("expected_tls_version", expected.clone());
            if normalise_tls_version(&negotiated) != expected {
                return Ok(evidence.failed(format!("negotiated {negotiated}, expected {expected}")));
            }
        }
        Ok(evidence)
    }
}

reglet_plugin!(Tcp);

#[cfg(test)]
mod tests;
