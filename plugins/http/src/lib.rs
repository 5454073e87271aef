//! The `http` plugin: makes one request through the host's `http_request` (which applies the
//! grants, the SSRF filter and its size caps) and reports status, protocol, response headers and
//! the body's size, sha256 and preview with Reglet's field names. Unlike Reglet it sends request
//! headers, so a profile's `Authorization: Bearer {{ secret "token" }}` reaches the server.

use std::collections::BTreeMap;
use std::time::Instant;

use reglet_plugin_sdk::host::{Context, HttpRequest};
use reglet_plugin_sdk::{Error, Evidence, Host, Plugin, Value, json, reglet_plugin};
use sha2::{Digest, Sha256};

/// Characters of body shown when the config says nothing.
const DEFAULT_PREVIEW: i64 = 200;

/// Methods the plugin sends.
const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// The plugin.
#[derive(Default)]
pub struct Http;

/// A header value: one string or several.
#[derive(Debug, Clone, serde::Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum HeaderValue {
    /// `"application/json"`.
    One(String),
    /// `["a", "b"]`.
    Many(Vec<String>),
}

/// One expected status or several.
#[derive(Debug, Clone, serde::Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum ExpectedStatus {
    /// `200`.
    One(u16),
    /// `[200, 204]`.
    Many(Vec<u16>),
}

impl ExpectedStatus {
    fn allows(&self, status: u16) -> bool {
        match self {
            ExpectedStatus::One(s) => *s == status,
            ExpectedStatus::Many(all) => all.contains(&status),
        }
    }
}

/// One request.
#[derive(Debug, Default, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Absolute `http://` or `https://` URL.
    pub url: String,
    /// GET (default), HEAD, POST, PUT, PATCH, DELETE or OPTIONS.
    #[serde(default)]
    pub method: Option<String>,
    /// Request headers, name to value (or list of values).
    #[serde(default)]
    pub headers: BTreeMap<String, HeaderValue>,
    /// Request body.
    #[serde(default)]
    pub body: Option<String>,
    /// The status (or any of the statuses) the response must have.
    #[serde(default)]
    pub expected_status: Option<ExpectedStatus>,
    /// Text the response body must contain.
    #[serde(default)]
    pub expected_body_contains: Option<String>,
    /// Characters of body in `body_preview` (default 200); 0 reports only size and hash; -1 puts
    /// the whole body in `body`.
    #[serde(default)]
    pub body_preview_length: Option<i64>,
    /// Milliseconds the request may take (default: the host's HTTP timeout).
    #[serde(default)]
    pub timeout_ms: Option<u64>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn request(config: &Config) -> Result<HttpRequest, Error> {
    let url = config.url.trim();
    let lower = url.to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) || url.len() < 8 {
        return Err(Error::config(
            "url",
            "url must be an absolute http:// or https:// URL",
        ));
    }
    let method = config
        .method
        .as_deref()
        .unwrap_or("GET")
        .to_ascii_uppercase();
    if !METHODS.contains(&method.as_str()) {
        return Err(Error::config(
            "method",
            format!("method {method:?} is not one of {}", METHODS.join(", ")),
        ));
    }
    let mut headers = BTreeMap::new();
    for (name, value) in &config.headers {
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
            return Err(Error::config(
                "headers",
                format!("{name:?} is not a header name"),
            ));
        }
        let values = match value {
            HeaderValue::One(v) => vec![v.clone()],
            HeaderValue::Many(vs) => vs.clone(),
        };
        if values.iter().any(|v| v.contains(['\r', '\n'])) {
            return Err(Error::config(
                "headers",
                format!("header {name} holds a line break"),
            ));
        }
        headers.insert(name.clone(), values);
    }
    Ok(HttpRequest {
        context: Context {
            timeout_ms: config.timeout_ms.unwrap_or(0),
        },
        method,
        url: url.to_owned(),
        headers,
        body: config.body.clone().unwrap_or_default().into_bytes(),
    })
}

impl Plugin for Http {
    type Config = Config;
    const NAME: &'static str = "http";
    const VERSION: &'static str = "2.0.0";
    const DESCRIPTION: &'static str = "Make an HTTP request and check the status, headers and body";

    /// Outbound connections; the host and port granted are the URL's.
    fn capabilities() -> Value {
        json!({"network": {"rules": [{"hosts": ["*"], "ports": ["*"]}]}})
    }

    fn observe(&self, config: Config, host: &dyn Host) -> Result<Evidence, Error> {
        let preview = config.body_preview_length.unwrap_or(DEFAULT_PREVIEW);
        if preview < -1 {
            return Err(Error::config(
                "body_preview_length",
                "body_preview_length must be -1 (whole body), 0 (hash only) or more",
            ));
        }
        let request = request(&config)?;
        let mut evidence = Evidence::new()
            .with("url", request.url.clone())
            .with("method", request.method.clone());
        let started = Instant::now();
        let answer = host.http_request(&request)?;
        evidence.set("response_time_ms", started.elapsed().as_millis() as u64);
        evidence.set("status_code", answer.status_code);
        evidence.set("protocol", answer.proto);
        evidence.set("headers", json!(answer.headers));
        evidence.set("body_size", answer.body.len());
        evidence.set("body_truncated", answer.body_truncated);
        evidence.set("body_sha256", hex(&Sha256::digest(&answer.body)));
        let text = String::from_utf8_lossy(&answer.body);
        match preview {
            -1 => evidence.set("body", text.as_ref()),
            0 => {}
            n => evidence.set(
                "body_preview",
                text.chars().take(n as usize).collect::<String>(),
            ),
        }
        let mut problems = Vec::new();
        if let Some(expected) = &config.expected_status
            && !expected.allows(answer.status_code)
        {
            problems.push(format!(
                "status {} is not the expected {}",
                answer.status_code,
                match expected {
                    ExpectedStatus::One(s) => s.to_string(),
                    ExpectedStatus::Many(all) => format!("{all:?}"),
                }
            ));
        }
        if let Some(needle) = &config.expected_body_contains
            && !text.contains(needle.as_str())
        {
            problems.push(format!("the body does not contain {needle:?}"));
        }
        evidence.set("expectation_failed", !problems.is_empty());
        if problems.is_empty() {
            return Ok(evidence);
        }
        let message = problems.join("; ");
        evidence.set("expectation_error", message.clone());
        Ok(evidence.failed(message))
    }
}

reglet_plugin!(Http);

#[cfg(test)]
mod tests;
