//! `smtp_connect`: greeting, implicit TLS or STARTTLS, with a deadline on every step.

use std::time::Instant;

use reglet_domain::{ErrorDetail, ErrorType};
use reglet_ports::SmtpProbeRequest;
use serde_json::{Map, Value, json};

use super::network::vet;
use super::requests::{
    Fields, bad_request, base_for, call_context, earliest, error_document, parse,
};
use super::tcp::{target, tls_fields};
use super::{Call, net_error_detail};

const FUNCTION: &str = "smtp_connect";

pub(crate) async fn smtp_connect(call: Call, bytes: Vec<u8>) -> Value {
    let base = base_for(FUNCTION);
    let decoded = parse(&bytes).and_then(|map| {
        let fields = Fields(&map);
        Ok((
            target(&fields)?,
            fields.bool("tls")?,
            fields.bool("starttls")?,
            call_context(&fields)?,
        ))
    });
    let (target, implicit_tls, starttls, context) = match decoded {
        Ok(d) => d,
        Err(e) => return bad_request(base, &e),
    };
    let address = format!("{}:{}", target.host, target.port);
    let mut base = base;
    base["address"] = json!(address);
    if context.canceled {
        return error_document(
            base,
            ErrorDetail::new(ErrorType::Timeout, "the plugin cancelled the probe").timed_out(),
        );
    }
    let limits = call.services().limits;
    let timeout = target.timeout.unwrap_or(limits.connect_timeout);
    let deadline = earliest([
        Some(call.deadline),
        context.deadline,
        Some(Instant::now() + timeout),
    ]);
    let dest = match vet(&call.plugin, &target.host, target.port, deadline).await {
        Ok(d) => d,
        Err(error) => {
            call.refused(FUNCTION, &error);
            return error_document(base, error);
        }
    };
    call.allowed(FUNCTION, &address);
    let request = SmtpProbeRequest {
        host: target.host.clone(),
        addr: dest.addrs[0],
        implicit_tls,
        starttls: starttls && !implicit_tls,
        timeout: deadline.saturating_duration_since(Instant::now()),
    };
    match tokio::time::timeout_at(deadline.into(), call.services().smtp.probe(request)).await {
        Ok(Ok(report)) => {
            let mut doc = Map::new();
            doc.insert("connected".into(), json!(true));
            doc.insert("address".into(), json!(address));
            doc.insert("banner".into(), json!(report.banner));
            doc.insert(
                "response_time_ms".into(),
                json!(report.elapsed.as_millis() as u64),
            );
            if let Some(info) = &report.tls {
                tls_fields(&mut doc, info);
            }
            Value::Object(doc)
        }
        Ok(Err(e)) => error_document(base, net_error_detail(&e, FUNCTION)),
        Err(_) => error_document(
            base,
            ErrorDetail::new(
                ErrorType::Timeout,
                format!("SMTP probe of {address} timed out"),
            )
            .timed_out()
            .with_code(FUNCTION),
        ),
    }
}
