//! `smtp_connect`: greeting, implicit TLS or STARTTLS, with a deadline on every step.

use std::time::Instant;

use reglet_ports::SmtpProbeRequest;
use serde_json::{Map, Value, json};

use super::Call;
use super::requests::{CallError, SmtpRequest, call_context, parse};
use super::tcp::{Vetted, target, tls_fields, vet_target};

const FUNCTION: &str = "smtp_connect";

pub(crate) async fn smtp_connect(call: Call, bytes: Vec<u8>) -> Result<Value, CallError> {
    let decoded = parse::<SmtpRequest>(&bytes).and_then(|request| {
        Ok((
            target(request.host, &request.port, request.timeout_ms)?,
            request.tls,
            request.starttls,
            call_context(&request.context)?,
        ))
    });
    let (target, implicit_tls, starttls, context) = match decoded {
        Ok(d) => d,
        Err(e) => return Err(e.into()),
    };
    let Vetted {
        address,
        deadline,
        dest,
    } = vet_target(&call, &target, &context).await?;
    let smtp = &call.services().smtp;
    let attempt = |addr| {
        smtp.probe(SmtpProbeRequest {
            host: target.host.clone(),
            addr,
            implicit_tls,
            starttls: starttls && !implicit_tls,
            timeout: deadline.saturating_duration_since(Instant::now()),
        })
    };
    let what = format!("SMTP probe of {address}");
    match dest.try_each(deadline, FUNCTION, &what, attempt).await {
        Ok(report) => {
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
            Ok(Value::Object(doc))
        }
        Err(error) => Err(CallError::from(error).with_field("address", json!(address))),
    }
}
