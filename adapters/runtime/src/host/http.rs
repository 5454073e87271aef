//! `http_request`: one HTTP exchange, following at most ten redirects, each hop re-checked
//! against the grants and the SSRF filter and connected to the address that was vetted.

use std::time::Instant;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use reglet_domain::{ErrorDetail, ErrorType};
use reglet_ports::HttpRequest;
use serde_json::{Map, Value, json};
use url::Url;

use super::Call;
use super::network::vet;
use super::requests::{
    BadRequest, CallError, HttpRequest as Request, call_context, earliest, fail, parse,
};

const FUNCTION: &str = "http_request";

/// Headers a guest may not set: the connection's own framing and routing are the host's.
const HOST_OWNED: &[&str] = &[
    "host",
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "content-length",
    "http2-settings",
];

/// Headers dropped when a redirect leaves the original host, as Go's client does.
const CREDENTIALS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "www-authenticate",
];

/// `content-type` → `Content-Type`, the spelling Go's `http.Header` keys use.
pub(crate) fn canonical_header(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = true;
    for c in name.chars() {
        out.push(if upper {
            c.to_ascii_uppercase()
        } else {
            c.to_ascii_lowercase()
        });
        upper = c == '-';
    }
    out
}

fn is_token(method: &str) -> bool {
    !method.is_empty()
        && method
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

struct Decoded {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Option<String>,
}

fn decode(request: Request) -> Result<Decoded, BadRequest> {
    let mut headers = Vec::new();
    for (name, values) in &request.headers {
        match values {
            Value::String(v) => headers.push((name.clone(), v.clone())),
            Value::Array(vs) => {
                for v in vs {
                    let v = v.as_str().ok_or_else(|| {
                        BadRequest(format!("header {name} must be a list of strings"))
                    })?;
                    headers.push((name.clone(), v.to_owned()));
                }
            }
            Value::Null => {}
            _ => {
                return Err(BadRequest(format!(
                    "header {name} must be a list of strings"
                )));
            }
        }
    }
    Ok(Decoded {
        method: Some(request.method)
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| "GET".into())
            .to_ascii_uppercase(),
        url: request.url,
        headers,
        body: Some(request.body).filter(|b| !b.is_empty()),
    })
}

fn host_of(url: &Url) -> Option<String> {
    match url.host()? {
        url::Host::Domain(d) => Some(d.to_owned()),
        url::Host::Ipv4(ip) => Some(ip.to_string()),
        url::Host::Ipv6(ip) => Some(ip.to_string()),
    }
}

pub(crate) async fn http_request(call: Call, bytes: Vec<u8>) -> Result<Value, CallError> {
    let decoded = parse::<Request>(&bytes).and_then(|request| {
        let context = call_context(&request.context)?;
        Ok((decode(request)?, context))
    });
    let (request, context) = match decoded {
        Ok(d) => d,
        Err(e) => return Err(e.into()),
    };
    if context.canceled {
        return fail(
            ErrorDetail::new(ErrorType::Timeout, "the plugin cancelled the request").timed_out(),
        );
    }
    let config_error = |message: String, code: &str| {
        fail(ErrorDetail::new(ErrorType::Config, message).with_code(code))
    };
    if !is_token(&request.method) {
        return config_error(
            format!("invalid HTTP method {:?}", request.method),
            "method",
        );
    }
    let mut url = match Url::parse(&request.url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => u,
        Ok(u) => return config_error(format!("URL {u} must be http or https with a host"), "url"),
        Err(e) => return config_error(format!("invalid URL {:?}: {e}", request.url), "url"),
    };
    let mut body = match &request.body {
        Some(b64) => match BASE64.decode(b64) {
            Ok(body) => body,
            Err(e) => {
                return config_error(
                    format!("failed to decode request body (it must be base64): {e}"),
                    "body",
                );
            }
        },
        None => Vec::new(),
    };
    let mut headers: Vec<(String, String)> = request
        .headers
        .into_iter()
        .filter(|(name, _)| !HOST_OWNED.contains(&name.to_ascii_lowercase().as_str()))
        .collect();
    if !headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("user-agent"))
    {
        headers.push((
            "User-Agent".into(),
            format!("reglet-rs/{}", env!("CARGO_PKG_VERSION")),
        ));
    }
    let mut method = request.method;
    let limits = call.services().limits;
    let deadline = earliest([
        Some(call.deadline),
        context.deadline,
        Some(Instant::now() + limits.http_timeout),
    ]);

    for hop in 0..=limits.max_redirects {
        let host = host_of(&url).expect("checked above");
        let port = url
            .port_or_known_default()
            .expect("http and https have default ports");
        let dest = match vet(
            &call.plugin.grants,
            call.services().dns.as_ref(),
            &host,
            port,
            deadline,
        )
        .await
        {
            Ok(d) => d,
            Err(error) => {
                return Err(CallError::refused(error));
            }
        };
        call.allowed(&format!("{method} {url}"));
        let client = &call.services().http;
        let attempt = |addr| {
            client.send(HttpRequest {
                method: method.clone(),
                url: url.to_string(),
                connect_to: addr,
                headers: headers.clone(),
                body: body.clone(),
                timeout: deadline.saturating_duration_since(Instant::now()),
                max_body_bytes: limits.http_max_body_bytes,
            })
        };
        let what = format!("{method} {url}");
        let response = match dest.try_each(deadline, FUNCTION, &what, attempt).await {
            Ok(response) => response,
            Err(error) => return fail(error),
        };
        let location = response
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("location"))
            .map(|(_, v)| v.clone());
        if let (301 | 302 | 303 | 307 | 308, Some(location)) = (response.status, location) {
            if hop == limits.max_redirects {
                return fail(
                    ErrorDetail::new(
                        ErrorType::Network,
                        format!("stopped after {} redirects", limits.max_redirects),
                    )
                    .with_code("http_redirects"),
                );
            }
            let next = match url.join(&location) {
                Ok(next) if matches!(next.scheme(), "http" | "https") && next.host().is_some() => {
                    next
                }
                _ => {
                    return fail(
                        ErrorDetail::new(
                            ErrorType::Network,
                            format!("redirect to {location:?} is not an http(s) URL"),
                        )
                        .with_code("http_redirect"),
                    );
                }
            };
            if response.status == 303
                || (matches!(response.status, 301 | 302) && method != "GET" && method != "HEAD")
            {
                method = "GET".into();
                body.clear();
            }
            if next.host() != url.host()
                || next.port_or_known_default() != url.port_or_known_default()
            {
                headers.retain(|(n, _)| !CREDENTIALS.contains(&n.to_ascii_lowercase().as_str()));
            }
            url = next;
            continue;
        }
        let mut grouped: Map<String, Value> = Map::new();
        for (name, value) in &response.headers {
            let key = canonical_header(name);
            match grouped.get_mut(&key) {
                Some(Value::Array(values)) => values.push(json!(value)),
                _ => {
                    grouped.insert(key, json!([value]));
                }
            }
        }
        let mut doc = json!({
            "status_code": response.status,
            "headers": grouped,
            "body": BASE64.encode(&response.body),
            "proto": response.protocol,
        });
        if response.body_truncated {
            doc["body_truncated"] = json!(true);
        }
        return Ok(doc);
    }
    unreachable!("the loop returns on its last hop")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names_are_canonical() {
        assert_eq!(canonical_header("content-type"), "Content-Type");
        assert_eq!(canonical_header("X-API-KEY"), "X-Api-Key");
        assert_eq!(canonical_header("www-authenticate"), "Www-Authenticate");
    }

    #[test]
    fn methods_are_tokens() {
        assert!(is_token("GET") && is_token("PROPFIND"));
        assert!(!is_token("GET /") && !is_token("") && !is_token("G\r\nET"));
    }
}
