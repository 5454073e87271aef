//! Wire codecs for the two Reglet ABI generations.
//!
//! Both generations are Go programs speaking Go's `encoding/json`, so every document is read by
//! Go's rules — keys matched to fields case-insensitively, the last of several keys winning, `null`
//! handled per field type — which live in one place, [`go_json`]. Gen 1 guests rely on the case
//! rule: their Evidence has no JSON tags, so it travels as `Status`, `Data`, ...

pub mod gen1;
pub mod gen2;
pub mod go_json;

/// Which Reglet plugin ABI a module speaks, detected from its exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AbiGeneration {
    /// `describe`, `schema`, `observe`; Evidence with capitalised keys and a boolean status.
    Gen1,
    /// `_manifest`, `_observe`; Result with lower-case keys and a string status.
    Gen2,
}

impl std::fmt::Display for AbiGeneration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AbiGeneration::Gen1 => "gen1",
            AbiGeneration::Gen2 => "gen2",
        })
    }
}

/// A plugin document could not be decoded; says where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: {reason}")]
pub struct DecodeError {
    what: String,
    reason: String,
}

impl DecodeError {
    /// An error about the document `what` (e.g. "evidence"), with a reason that names the key.
    pub fn new(what: impl Into<String>, reason: impl Into<String>) -> Self {
        DecodeError {
            what: what.into(),
            reason: reason.into(),
        }
    }

    /// Which document failed ("evidence", "plugin info", ...).
    pub fn what(&self) -> &str {
        &self.what
    }

    /// Why it failed, including the key path when known.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Plugin results whose status a fuzzing run found read differently here than by Go's
    /// `encoding/json`; the expected column is what Go 1.19 decodes (checked with a Go program
    /// that unmarshals each input into the SDK's structs).
    #[test]
    fn status_is_read_as_go_reads_it() {
        use crate::evidence::{Evidence, EvidenceStatus::*};
        use AbiGeneration::*;
        let cases = [
            (Gen2, r#"{"status":"success","ſtatus":"error"}"#, Error),
            (Gen2, r#"{"status":"error","status":null}"#, Error),
            (Gen2, r#"{"ſtatus":"success"}"#, Success),
            (Gen2, r#"{"status":"success","Status":null}"#, Success),
            (
                Gen2,
                r#"{"STATUS":"failure","ſtatus":"success","status":null}"#,
                Success,
            ),
            (Gen1, r#"{"Status":true,"Status":null}"#, Success),
            (Gen1, r#"{"ſtatus":true}"#, Success),
            (
                Gen1,
                r#"{"Status":true,"ſtatus":false,"Error":{"message":"m"}}"#,
                Error,
            ),
        ];
        let wrong: Vec<String> = cases
            .iter()
            .filter_map(|(generation, input, want)| {
                let got = Evidence::decode(*generation, input.as_bytes())
                    .unwrap()
                    .status();
                (got != *want).then(|| format!("{generation} {input}: {got:?}, Go reads {want:?}"))
            })
            .collect();
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }
}
