//! `EvalInput`: the names an expectation sees, built once per observation.

use chrono::DateTime;
use expr::{Context, DateTimeValue, Value};
use reglet_domain::{Evidence, EvidenceStatus};
use serde_json::{Map, Value as Json};

use super::EvalError;
use super::budget::Limits;

/// What expectations are evaluated against, as Reglet provides it: `data` (the evidence map,
/// `{}` when the plugin sent none), `status` (true when the plugin reported success),
/// `timestamp` (a date, or nil) and `error` (the plugin's error as a map, or nil).
///
/// Build it once per observation and evaluate every expectation of that observation against it:
/// the evidence is converted to the language's values only once.
#[derive(Debug, Clone)]
pub struct EvalInput {
    context: Context,
    limits: Limits,
}

impl EvalInput {
    /// From the parts, under the default [`Limits`].
    ///
    /// # Errors
    /// [`EvalError::InputTooLarge`] when the evidence exceeds [`Limits::max_input_bytes`].
    pub fn new(
        data: Option<&Map<String, Json>>,
        status: bool,
        timestamp: Option<DateTime<chrono::FixedOffset>>,
        error: Option<&Json>,
    ) -> Result<Self, EvalError> {
        Self::with_limits(data, status, timestamp, error, Limits::default())
    }

    /// From the parts, under the given limits.
    ///
    /// # Errors
    /// [`EvalError::InputTooLarge`] when the evidence exceeds [`Limits::max_input_bytes`].
    pub fn with_limits(
        data: Option<&Map<String, Json>>,
        status: bool,
        timestamp: Option<DateTime<chrono::FixedOffset>>,
        error: Option<&Json>,
        limits: Limits,
    ) -> Result<Self, EvalError> {
        let mut left = limits.max_input_bytes;
        let data = match data {
            Some(map) => convert_map(map, &mut left),
            None => Some(Value::Map(Default::default())),
        };
        let error = match error {
            Some(e) => convert(e, &mut left),
            None => Some(Value::Nil),
        };
        let (Some(data), Some(error)) = (data, error) else {
            return Err(EvalError::InputTooLarge {
                limit: limits.max_input_bytes,
            });
        };
        let mut context = Context::default();
        context.insert("data", data);
        context.insert("status", status);
        context.insert(
            "timestamp",
            timestamp.map_or(Value::Nil, |t| Value::DateTime(DateTimeValue::fixed(t))),
        );
        context.insert("error", error);
        Ok(EvalInput { context, limits })
    }

    /// From a plugin's evidence, under the given limits.
    ///
    /// # Errors
    /// [`EvalError::InputTooLarge`] when the evidence exceeds [`Limits::max_input_bytes`].
    pub fn from_evidence(evidence: &Evidence, limits: Limits) -> Result<Self, EvalError> {
        let timestamp = evidence.timestamp.as_ref().and_then(|t| {
            let at = t.as_offset_date_time();
            let nanos = i64::try_from(t.unix_nanos()).ok()?;
            let offset = chrono::FixedOffset::east_opt(at.offset().whole_seconds())?;
            Some(DateTime::from_timestamp_nanos(nanos).with_timezone(&offset))
        });
        let error = evidence
            .error_detail()
            .and_then(|e| serde_json::to_value(e).ok());
        Self::with_limits(
            evidence.data.as_ref(),
            evidence.status() == EvidenceStatus::Success,
            timestamp,
            error.as_ref(),
            limits,
        )
    }

    /// From evidence data alone, as a plugin returning success would give it.
    ///
    /// # Errors
    /// [`EvalError::InputTooLarge`] when the data exceeds the default input limit.
    pub fn from_data(data: &Map<String, Json>) -> Result<Self, EvalError> {
        Self::new(Some(data), true, None, None)
    }

    pub(crate) fn context(&self) -> &Context {
        &self.context
    }

    pub(crate) fn limits(&self) -> &Limits {
        &self.limits
    }
}

fn spend(left: &mut u64, n: u64) -> Option<()> {
    *left = left.checked_sub(n)?;
    Some(())
}

fn convert_map(map: &Map<String, Json>, left: &mut u64) -> Option<Value> {
    spend(left, 48)?;
    let mut out = indexmap::IndexMap::with_capacity(map.len());
    for (k, v) in map {
        spend(left, 24 + k.len() as u64)?;
        out.insert(k.clone(), convert(v, left)?);
    }
    Some(Value::Map(out))
}

/// JSON to the language's values; `None` once the byte allowance is spent.
fn convert(value: &Json, left: &mut u64) -> Option<Value> {
    Some(match value {
        Json::Null => {
            spend(left, 16)?;
            Value::Nil
        }
        Json::Bool(b) => {
            spend(left, 16)?;
            Value::Bool(*b)
        }
        Json::Number(n) => {
            spend(left, 16)?;
            match n.as_i64() {
                Some(i) => Value::Integer(i),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            }
        }
        Json::String(s) => {
            spend(left, 24 + s.len() as u64)?;
            Value::String(s.clone())
        }
        Json::Array(items) => {
            spend(left, 24)?;
            Value::Array(
                items
                    .iter()
                    .map(|v| convert(v, left))
                    .collect::<Option<_>>()?,
            )
        }
        Json::Object(map) => convert_map(map, left)?,
    })
}
