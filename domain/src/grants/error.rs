//! Why a grant could not be parsed.

/// A grant string or document could not be understood. Every variant names the offending text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantParseError {
    /// No `kind:` prefix.
    #[error("capability {0:?} has no kind (expected kind:pattern, e.g. \"fs:read:/etc/**\")")]
    MissingKind(String),
    /// A kind other than network, fs, env or exec.
    #[error("unknown capability kind {kind:?} in {text:?} (expected network, fs, env or exec)")]
    UnknownKind {
        /// The kind given.
        kind: String,
        /// The whole capability.
        text: String,
    },
    /// Nothing after the kind.
    #[error("capability {0:?} has an empty pattern")]
    EmptyPattern(String),
    /// A network direction other than `outbound`.
    #[error("unsupported network direction in {0:?} (only \"outbound\" exists)")]
    UnsupportedDirection(String),
    /// A port that is not an integer in 1..=65535.
    #[error("invalid port {0:?} (expected an integer from 1 to 65535, a range a-b, or *)")]
    InvalidPort(String),
    /// A range whose ends are not ports or whose start exceeds its end.
    #[error("invalid port range {range:?}: {reason}")]
    InvalidPortRange {
        /// The range given.
        range: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A host that is not a name, `*`, `*.domain`, an IP address or a CIDR block.
    #[error("invalid host {host:?}: {reason}")]
    InvalidHost {
        /// The host given.
        host: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A URL that could not be read as `scheme://host[:port]`.
    #[error("invalid URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An fs grant without `read:` or `write:`.
    #[error("fs capability {0:?} must start with read: or write:")]
    MissingFsAccess(String),
    /// A path pattern that cannot be used.
    #[error("invalid path pattern {pattern:?}: {reason}")]
    InvalidPath {
        /// The pattern given.
        pattern: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An environment-variable pattern that cannot be used.
    #[error("invalid environment variable pattern {pattern:?}: {reason}")]
    InvalidEnv {
        /// The pattern given.
        pattern: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A command pattern that cannot be used.
    #[error("invalid command pattern {pattern:?}: {reason}")]
    InvalidExec {
        /// The pattern given.
        pattern: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An argument pattern (the part after a program's `:`) that cannot be used.
    #[error("invalid argument pattern {pattern:?}: {reason}")]
    InvalidArgs {
        /// The pattern given.
        pattern: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}
