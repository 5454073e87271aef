//! `PluginError`: why the host could not get evidence out of a plugin.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error_detail::ErrorDetail;

/// The class of a host-side plugin failure, as Reglet's executor codes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PluginErrorCode {
    /// The plugin could not be loaded: bad name, unreadable file, invalid wasm, wrong ABI.
    #[serde(rename = "plugin_load_error")]
    PluginLoadError,
    /// The plugin could not be run to completion: instantiation, trap, exit, memory limit, a
    /// missing export, a null result.
    #[serde(rename = "plugin_execution_error")]
    PluginExecutionError,
    /// The plugin returned something that is not a valid result document.
    #[serde(rename = "invalid_plugin_result")]
    InvalidPluginResult,
    /// The call ran past its deadline and was stopped.
    #[serde(rename = "timeout")]
    Timeout,
    /// A Gen 2 plugin reported status `error` without saying why.
    #[serde(rename = "UNKNOWN_ERROR")]
    UnknownError,
}

impl PluginErrorCode {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            PluginErrorCode::PluginLoadError => "plugin_load_error",
            PluginErrorCode::PluginExecutionError => "plugin_execution_error",
            PluginErrorCode::InvalidPluginResult => "invalid_plugin_result",
            PluginErrorCode::Timeout => "timeout",
            PluginErrorCode::UnknownError => "UNKNOWN_ERROR",
        }
    }
}

impl fmt::Display for PluginErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failure of the host to obtain a result from a plugin (as opposed to a plugin reporting an
/// error inside its evidence).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[error("{code}: {message}")]
pub struct PluginError {
    code: PluginErrorCode,
    message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    detail: Option<Box<ErrorDetail>>,
}

impl PluginError {
    /// An error with a code and a message that says what went wrong and where.
    pub fn new(code: PluginErrorCode, message: impl Into<String>) -> Self {
        PluginError {
            code,
            message: message.into(),
            detail: None,
        }
    }

    /// Shorthand for [`PluginErrorCode::PluginLoadError`].
    pub fn load(message: impl Into<String>) -> Self {
        PluginError::new(PluginErrorCode::PluginLoadError, message)
    }

    /// Shorthand for [`PluginErrorCode::PluginExecutionError`].
    pub fn execution(message: impl Into<String>) -> Self {
        PluginError::new(PluginErrorCode::PluginExecutionError, message)
    }

    /// Shorthand for [`PluginErrorCode::InvalidPluginResult`].
    pub fn invalid_result(message: impl Into<String>) -> Self {
        PluginError::new(PluginErrorCode::InvalidPluginResult, message)
    }

    /// Shorthand for [`PluginErrorCode::Timeout`].
    pub fn timeout(message: impl Into<String>) -> Self {
        PluginError::new(PluginErrorCode::Timeout, message)
    }

    /// The same error carrying the plugin's structured detail.
    pub fn with_detail(mut self, detail: ErrorDetail) -> Self {
        self.detail = Some(Box::new(detail));
        self
    }

    /// The class of failure.
    pub fn code(&self) -> PluginErrorCode {
        self.code
    }

    /// What went wrong.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The plugin's structured detail, if it sent one.
    pub fn detail(&self) -> Option<&ErrorDetail> {
        self.detail.as_deref()
    }

    /// The same error with its message (and detail) rewritten, e.g. by a redactor.
    pub fn map_text(mut self, mut rewrite: impl FnMut(&str) -> String) -> Self {
        self.message = rewrite(&self.message);
        if let Some(detail) = &mut self.detail {
            rewrite_detail(detail, &mut rewrite);
        }
        self
    }
}

fn rewrite_detail(detail: &mut ErrorDetail, rewrite: &mut impl FnMut(&str) -> String) {
    detail.message = rewrite(&detail.message);
    if let Some(wrapped) = &mut detail.wrapped {
        rewrite_detail(wrapped, rewrite);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error_detail::ErrorType;

    #[test]
    fn codes_serialise_as_reglet_spells_them() {
        let err = PluginError::invalid_result("observe() returned invalid JSON");
        let json = serde_json::to_value(&err).unwrap();
        assert_eq!(json["code"], "invalid_plugin_result");
        assert_eq!(
            err.to_string(),
            "invalid_plugin_result: observe() returned invalid JSON"
        );
        assert_eq!(PluginErrorCode::UnknownError.as_str(), "UNKNOWN_ERROR");
    }

    #[test]
    fn map_text_rewrites_message_and_detail() {
        let mut inner = ErrorDetail::new(ErrorType::Internal, "token abc");
        inner.wrapped = Some(Box::new(ErrorDetail::new(ErrorType::Internal, "abc again")));
        let err = PluginError::execution("abc failed").with_detail(inner);
        let err = err.map_text(|t| t.replace("abc", "[REDACTED]"));
        assert_eq!(err.message(), "[REDACTED] failed");
        let detail = err.detail().unwrap();
        assert_eq!(detail.message, "token [REDACTED]");
        assert_eq!(detail.wrapped.as_ref().unwrap().message, "[REDACTED] again");
    }
}
