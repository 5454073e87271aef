//! `tcp_connect`: a TCP connection test, optionally with a TLS handshake, reported field by field.
//! A certificate that fails verification is reported (connected, the TLS details, the reason)
//! rather than hidden behind an opaque failure.

use std::time::{Duration, Instant};

use reglet_domain::{ErrorDetail, ErrorType};
use reglet_ports::{TcpConnectRequest, TlsInfo};
use serde_json::{Map, Value, json};

use super::Call;
use super::network::{Destination, vet};
use super::requests::{
    BadRequest, CallContext, CallError, Port, TcpRequest, call_context, earliest, parse,
};

const FUNCTION: &str = "tcp_connect";

/// The fields of a connection target that TCP and SMTP share.
pub(crate) struct Target {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) timeout: Option<Duration>,
}

/// Checks `host`, `port` and `timeout_ms`.
pub(crate) fn target(host: String, port: &Port, timeout_ms: i64) -> Result<Target, BadRequest> {
    let port = &port.0;
    if host.is_empty() {
        return Err(BadRequest("host is required".into()));
    }
    let port: u16 = port.parse().ok().filter(|p| *p != 0).ok_or_else(|| {
        BadRequest(format!(
            "port {port:?} is not a port number from 1 to 65535"
        ))
    })?;
    let timeout = Some(timeout_ms)
        .filter(|ms| *ms > 0)
        .map(|ms| Duration::from_millis(ms as u64));
    Ok(Target {
        host,
        port,
        timeout,
    })
}

/// The TLS fields of an answer, with `tls_verified` and, when verification failed, the reason
/// both as `tls_error` and as the answer's `error` (so an older plugin cannot mistake an invalid
/// certificate for a good one).
pub(crate) fn tls_fields(doc: &mut Map<String, Value>, tls: &TlsInfo) {
    doc.insert("tls".into(), json!(true));
    doc.insert("tls_version".into(), json!(tls.version));
    doc.insert("tls_cipher_suite".into(), json!(tls.cipher_suite));
    doc.insert("tls_server_name".into(), json!(tls.server_name));
    if let Some(subject) = &tls.cert_subject {
        doc.insert("tls_cert_subject".into(), json!(subject));
    }
    if let Some(issuer) = &tls.cert_issuer {
        doc.insert("tls_cert_issuer".into(), json!(issuer));
    }
    if let Some(not_after) = &tls.cert_not_after {
        doc.insert("tls_cert_not_after".into(), json!(not_after.to_string()));
    }
    doc.insert(
        "tls_verified".into(),
        json!(tls.verification_error.is_none()),
    );
    if let Some(reason) = &tls.verification_error {
        doc.insert("tls_error".into(), json!(reason));
        let error = ErrorDetail::new(
            ErrorType::Other("tls".into()),
            format!("certificate verification failed: {reason}"),
        )
        .with_code("certificate_verify");
        doc.insert(
            "error".into(),
            serde_json::to_value(error).expect("errors serialise"),
        );
    }
}

/// A TCP or SMTP target that passed the grant and SSRF checks.
pub(crate) struct Vetted {
    /// `host:port` as the request gave it.
    pub(crate) address: String,
    /// When the whole check must be over.
    pub(crate) deadline: Instant,
    /// Where to connect.
    pub(crate) dest: Destination,
}

/// The steps TCP and SMTP share before connecting: the cancelled check, the deadline (the
/// request's `timeout_ms` or the default), the grant and SSRF checks, and the log line. On
/// refusal, the answer to return.
pub(crate) async fn vet_target(
    call: &Call,
    target: &Target,
    context: &CallContext,
) -> Result<Vetted, CallError> {
    let address = format!("{}:{}", target.host, target.port);
    if context.canceled {
        let error =
            ErrorDetail::new(ErrorType::Timeout, "the plugin cancelled the call").timed_out();
        return Err(CallError::from(error).with_field("address", json!(address)));
    }
    let timeout = target
        .timeout
        .unwrap_or(call.services().limits.connect_timeout);
    let deadline = earliest([
        Some(call.deadline),
        context.deadline,
        Some(Instant::now() + timeout),
    ]);
    match vet(
        &call.plugin.grants,
        call.services().dns.as_ref(),
        &target.host,
        target.port,
        deadline,
    )
    .await
    {
        Ok(dest) => {
            call.allowed(&address);
            Ok(Vetted {
                address,
                deadline,
                dest,
            })
        }
        Err(error) => Err(CallError::refused(error).with_field("address", json!(address))),
    }
}

pub(crate) async fn tcp_connect(call: Call, bytes: Vec<u8>) -> Result<Value, CallError> {
    let decoded = parse::<TcpRequest>(&bytes).and_then(|request| {
        Ok((
            target(request.host, &request.port, request.timeout_ms)?,
            request.tls,
            call_context(&request.context)?,
        ))
    });
    let (target, tls, context) = match decoded {
        Ok(d) => d,
        Err(e) => return Err(e.into()),
    };
    let Vetted {
        address,
        deadline,
        dest,
    } = vet_target(&call, &target, &context).await?;
    let tcp = &call.services().tcp;
    let attempt = |addr| {
        tcp.connect(TcpConnectRequest {
            host: target.host.clone(),
            addr,
            tls,
            timeout: deadline.saturating_duration_since(Instant::now()),
        })
    };
    let what = format!("connecting to {address}");
    match dest.try_each(deadline, FUNCTION, &what, attempt).await {
        Ok(report) => {
            let mut doc = Map::new();
            doc.insert("connected".into(), json!(true));
            doc.insert("address".into(), json!(address));
            doc.insert("remote_addr".into(), json!(report.remote_addr.to_string()));
            doc.insert("local_addr".into(), json!(report.local_addr.to_string()));
            doc.insert(
                "response_time_ms".into(),
                json!(report.elapsed.as_millis() as u64),
            );
            if let Some(info) = &report.tls {
                tls_fields(&mut doc, info);
            }
            Ok(Value::Object(doc))
        }
        Err(error) => Err(CallError::from(error).with_field("address", json!(address))),
    }
}
