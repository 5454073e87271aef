//! `dns_lookup`: A, AAAA, CNAME, MX, TXT and NS records, from the system's resolver or a named
//! nameserver, which is itself a destination and must be granted and pass the SSRF filter.

use std::str::FromStr;
use std::time::Instant;

use reglet_domain::{AccessRequest, ErrorDetail, ErrorType};
use reglet_ports::{DnsQuery, DnsRecordType};
use serde_json::{Value, json};

use super::network::{capability_denied, vet};
use super::requests::{BadRequest, CallError, DnsRequest, call_context, earliest, fail, parse};
use super::{Call, net_error_detail};

/// Splits `host[:port]` (`[v6]:port` for IPv6), defaulting the port to 53.
pub(crate) fn host_and_port(text: &str, default_port: u16) -> Result<(String, u16), BadRequest> {
    let bad = || BadRequest(format!("nameserver {text:?} is not host:port"));
    if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or_else(bad)?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().map_err(|_| bad())?,
            None if after.is_empty() => default_port,
            None => return Err(bad()),
        };
        return Ok((host.to_owned(), port));
    }
    match text.rsplit_once(':') {
        // A bare IPv6 address has colons but no port.
        Some((host, _)) if host.contains(':') => Ok((text.to_owned(), default_port)),
        Some((host, port)) => Ok((host.to_owned(), port.parse().map_err(|_| bad())?)),
        None => Ok((text.to_owned(), default_port)),
    }
}

pub(crate) async fn dns_lookup(call: Call, bytes: Vec<u8>) -> Result<Value, CallError> {
    let (request, context) = match parse::<DnsRequest>(&bytes).and_then(|request| {
        let context = call_context(&request.context)?;
        Ok((
            (
                request.hostname,
                request.record_type,
                Some(request.nameserver).filter(|n| !n.is_empty()),
            ),
            context,
        ))
    }) {
        Ok(decoded) => decoded,
        Err(e) => return Err(e.into()),
    };
    let (hostname, record_type, nameserver) = request;
    if context.canceled {
        return fail(
            ErrorDetail::new(ErrorType::Timeout, "the plugin cancelled the lookup").timed_out(),
        );
    }
    if hostname.is_empty() {
        return fail(
            ErrorDetail::new(ErrorType::Config, "hostname is required").with_code("hostname"),
        );
    }
    let record_type = if record_type.is_empty() {
        "A".to_owned()
    } else {
        record_type
    };
    let Ok(kind) = DnsRecordType::from_str(&record_type) else {
        return fail(ErrorDetail::new(
            ErrorType::Internal,
            format!("unsupported record type: {record_type}"),
        ));
    };
    let limits = call.services().limits;
    let deadline = earliest([
        Some(call.deadline),
        context.deadline,
        Some(Instant::now() + limits.dns_timeout),
    ]);
    let nameserver = match nameserver {
        Some(text) => {
            let (host, port) = match host_and_port(&text, 53) {
                Ok(hp) => hp,
                Err(e) => return Err(e.into()),
            };
            match vet(
                &call.plugin.grants,
                call.services().dns.as_ref(),
                &host,
                port,
                deadline,
            )
            .await
            {
                Ok(dest) => Some(dest.addrs[0]),
                Err(error) => {
                    return Err(CallError::refused(error));
                }
            }
        }
        None => {
            let request = AccessRequest::Connect {
                host: &hostname,
                port: 53,
            };
            if !call.plugin.grants.allows(&request) {
                let error = capability_denied(&request);
                return Err(CallError::refused(error));
            }
            None
        }
    };
    call.allowed(&format!("{record_type} {hostname}"));
    let query = DnsQuery {
        name: hostname,
        record_type: kind,
        nameserver,
        timeout: deadline.saturating_duration_since(Instant::now()),
    };
    let code = format!("dns_{record_type}");
    let answer =
        match tokio::time::timeout_at(deadline.into(), call.services().dns.lookup(&query)).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(e)) => return fail(net_error_detail(&e, &code)),
            Err(_) => {
                return fail(
                    ErrorDetail::new(
                        ErrorType::Timeout,
                        format!("lookup of {} timed out", query.name),
                    )
                    .timed_out()
                    .with_code(code),
                );
            }
        };
    let mut doc = serde_json::Map::new();
    if !answer.records.is_empty() {
        doc.insert("records".into(), json!(answer.records));
    }
    if !answer.mx_records.is_empty() {
        let mx: Vec<Value> = answer
            .mx_records
            .iter()
            .map(|m| json!({"host": m.host, "pref": m.preference}))
            .collect();
        doc.insert("mx_records".into(), Value::Array(mx));
    }
    Ok(Value::Object(doc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nameserver_forms() {
        for (text, host, port) in [
            ("8.8.8.8", "8.8.8.8", 53),
            ("8.8.8.8:5353", "8.8.8.8", 5353),
            ("dns.example:53", "dns.example", 53),
            ("[2001:4860:4860::8888]:53", "2001:4860:4860::8888", 53),
            ("[::1]", "::1", 53),
            ("2001:4860:4860::8888", "2001:4860:4860::8888", 53),
        ] {
            assert_eq!(
                host_and_port(text, 53).unwrap(),
                (host.to_owned(), port),
                "{text}"
            );
        }
        for bad in ["host:port", "[::1", "[::1]x", "1.2.3.4:99999"] {
            assert!(host_and_port(bad, 53).is_err(), "{bad}");
        }
    }
}
