//! `smtp_connect`: greeting, implicit TLS or STARTTLS, with a deadline on every step.

use std::time::Instant;

use reglet_domain::{ErrorDetail, ErrorType};
use reglet_ports::{NetErrorKind, SmtpProbeRequest};
use serde_json::{Map, Value, json};

use super::requests::{Fields, bad_request, base_for, call_context, error_document, parse};
use super::tcp::{Vetted, target, tls_fields, vet_target};
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
    let Vetted {
        address,
        base,
        deadline,
        dest,
    } = match vet_target(&call, FUNCTION, &target, &context).await {
        Ok(v) => v,
        Err(answer) => return answer,
    };
    let mut last_error = None;
    for addr in dest.addrs.iter().take(3) {
        let request = SmtpProbeRequest {
            host: target.host.clone(),
            addr: *addr,
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
                return Value::Object(doc);
            }
            Ok(Err(e)) => {
                // The next vetted address only when this one refused the connection.
                let refused = matches!(e.kind(), NetErrorKind::Refused);
                last_error = Some(net_error_detail(&e, FUNCTION));
                if !refused {
                    break;
                }
            }
            Err(_) => {
                last_error = Some(
                    ErrorDetail::new(
                        ErrorType::Timeout,
                        format!("SMTP probe of {address} timed out"),
                    )
                    .timed_out()
                    .with_code(FUNCTION),
                );
                break;
            }
        }
    }
    error_document(base, last_error.expect("at least one address was tried"))
}
