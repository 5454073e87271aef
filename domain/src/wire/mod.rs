//! Wire codecs for the two Reglet ABI generations.
//!
//! Both generations are Go programs speaking Go's `encoding/json`, so every document is read by
//! Go's rules — keys matched to fields case-insensitively, the last of several keys winning, `null`
//! handled per field type — which live in one place, [`crate::go_json`].
//!
//! Arrows point one way: the codecs know the domain's types, the types know nothing of the codecs
//! (the `decode`/`encode` methods on them are written here). Gen 1 guests rely on the case
//! rule: their Evidence has no JSON tags, so it travels as `Status`, `Data`, ...

pub mod gen1;
pub mod gen2;

pub use crate::decode_error::DecodeError;

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

// The codecs' entry points, written here as methods of the domain's types so that the types
// never import the codecs.
impl crate::Evidence {
    /// Decodes a document in the given generation's wire format, by Go's rules.
    ///
    /// ```
    /// use reglet_domain::{AbiGeneration, Evidence, EvidenceStatus};
    ///
    /// // A Gen 2 result: the last of the two status keys wins (`ſ` folds to `s`, as in Go).
    /// let doc = r#"{"status":"success","ſtatus":"failure","data":{"open":true}}"#;
    /// let evidence = Evidence::decode(AbiGeneration::Gen2, doc.as_bytes()).unwrap();
    /// assert_eq!(evidence.status(), EvidenceStatus::Failure);
    /// assert_eq!(evidence.data.unwrap()["open"], true);
    ///
    /// // A Gen 1 Evidence that carries an error could not run: an error, not a failure.
    /// let doc = br#"{"Status":false,"Error":{"message":"no such host","type":"network"}}"#;
    /// let evidence = Evidence::decode(AbiGeneration::Gen1, doc).unwrap();
    /// assert_eq!(evidence.error_detail().unwrap().message, "no such host");
    /// ```
    ///
    /// # Errors
    ///
    /// A [`crate::DecodeError`] when `bytes` are not UTF-8 JSON, a key holds a value of the wrong
    /// type (the reason names the key), or a Gen 2 status is not one of `success`, `failure` and
    /// `error`.
    pub fn decode(
        generation: crate::AbiGeneration,
        bytes: &[u8],
    ) -> Result<Self, crate::DecodeError> {
        match generation {
            crate::AbiGeneration::Gen1 => gen1::decode_evidence(bytes),
            crate::AbiGeneration::Gen2 => gen2::decode_result(bytes),
        }
    }

    /// Encodes into the given generation's wire format.
    pub fn encode(&self, generation: crate::AbiGeneration) -> serde_json::Value {
        match generation {
            crate::AbiGeneration::Gen1 => gen1::encode_evidence(self),
            crate::AbiGeneration::Gen2 => gen2::encode_result(self),
        }
    }
}

impl crate::PluginManifest {
    /// Decodes a `_manifest` result with Go's rules.
    ///
    /// # Errors
    ///
    /// A [`DecodeError`] when `bytes` are not a JSON object of the Manifest's shape, when a
    /// declared capability does not parse, or when the name is not a valid plugin name.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        gen2::decode_manifest(bytes)
    }
}

impl crate::PluginInfo {
    /// Decodes the result of Gen 1 `describe`.
    ///
    /// # Errors
    ///
    /// See [`gen1::decode_plugin_info`].
    pub fn decode_gen1(bytes: &[u8]) -> Result<Self, DecodeError> {
        gen1::decode_plugin_info(bytes)
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
