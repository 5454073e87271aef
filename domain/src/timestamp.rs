//! RFC 3339 timestamps with nanosecond precision, formatted the way Go's `time.Time` marshals them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// A point in time as it travels between plugins and the host.
///
/// Parsing accepts any RFC 3339 time (any number of fraction digits, `Z` or a numeric offset);
/// formatting follows Go's `RFC3339Nano`: trailing zeros of the fraction are dropped and UTC is
/// written `Z`, so a Go plugin's timestamp round-trips byte for byte.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

/// The text was not an RFC 3339 time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid RFC 3339 time {text:?}: {reason}")]
pub struct TimestampError {
    text: String,
    reason: String,
}

impl Timestamp {
    /// Wraps a `time` value.
    pub fn new(at: OffsetDateTime) -> Self {
        Timestamp(at)
    }

    /// The current UTC time.
    pub fn now() -> Self {
        Timestamp(OffsetDateTime::now_utc())
    }

    /// The wrapped `time` value.
    pub fn as_offset_date_time(&self) -> OffsetDateTime {
        self.0
    }

    /// Nanoseconds since the Unix epoch.
    pub fn unix_nanos(&self) -> i128 {
        self.0.unix_timestamp_nanos()
    }

    /// Go's zero `time.Time` (`0001-01-01T00:00:00Z`), which a Go plugin emits for "unset".
    pub fn is_go_zero(&self) -> bool {
        self.0.year() == 1
            && self.0.ordinal() == 1
            && self.0.time() == time::Time::MIDNIGHT
            && self.0.offset() == UtcOffset::UTC
    }
}

impl FromStr for Timestamp {
    type Err = TimestampError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        OffsetDateTime::parse(text, &Rfc3339)
            .map(Timestamp)
            .map_err(|err| TimestampError {
                text: text.to_owned(),
                reason: err.to_string(),
            })
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.0;
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        )?;
        let nanos = t.nanosecond();
        if nanos != 0 {
            let digits = format!("{nanos:09}");
            write!(f, ".{}", digits.trim_end_matches('0'))?;
        }
        let offset = t.offset();
        if offset == UtcOffset::UTC {
            f.write_str("Z")
        } else {
            let (h, m, _) = offset.as_hms();
            let sign = if offset.is_negative() { '-' } else { '+' };
            write!(f, "{sign}{:02}:{:02}", h.unsigned_abs(), m.unsigned_abs())
        }
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({self})")
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_rfc3339nano_round_trips() {
        for text in [
            "2026-01-10T09:15:02.123456789Z",
            "2026-01-10T09:15:02.5Z",
            "2026-01-10T09:15:02Z",
            "2025-12-01T10:00:00+02:00",
            "2025-12-01T10:00:00.01-05:30",
            "0001-01-01T00:00:00Z",
        ] {
            let ts: Timestamp = text.parse().unwrap();
            assert_eq!(ts.to_string(), text);
        }
    }

    #[test]
    fn trailing_zero_fractions_are_trimmed_like_go() {
        let ts: Timestamp = "2026-01-10T09:15:02.500000000Z".parse().unwrap();
        assert_eq!(ts.to_string(), "2026-01-10T09:15:02.5Z");
    }

    #[test]
    fn invalid_times_name_the_text() {
        let err = "yesterday".parse::<Timestamp>().unwrap_err();
        assert!(err.to_string().contains("\"yesterday\""), "{err}");
    }

    #[test]
    fn go_zero_time_is_recognised() {
        let zero: Timestamp = "0001-01-01T00:00:00Z".parse().unwrap();
        assert!(zero.is_go_zero());
        assert!(!Timestamp::now().is_go_zero());
    }
}
