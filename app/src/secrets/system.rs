//! `SystemSecrets`: secrets from the system config's `sensitive_data.secrets`.

use std::io::Read;

use super::{SecretError, SecretSource};
use crate::system_config::SecretSources;

/// Largest secret file read, in bytes; a secret is a token or a key, not a document.
const MAX_FILE_BYTES: u64 = 64 * 1024;

type EnvLookup<'a> = Box<dyn Fn(&str) -> Option<String> + 'a>;

/// Resolves a name from `local`, then `env`, then `files`, as Reglet does. An environment
/// variable that is unset or empty is an error, not a fall-through; a file's content is trimmed.
pub struct SystemSecrets<'a> {
    sources: &'a SecretSources,
    env: EnvLookup<'a>,
}

impl<'a> SystemSecrets<'a> {
    /// Over the process environment.
    pub fn new(sources: &'a SecretSources) -> Self {
        Self::with_env(sources, |name| std::env::var(name).ok())
    }

    /// Over an environment given as a function (for tests, and for callers that filter it).
    pub fn with_env(sources: &'a SecretSources, env: impl Fn(&str) -> Option<String> + 'a) -> Self {
        SystemSecrets {
            sources,
            env: Box::new(env),
        }
    }
}

impl SecretSource for SystemSecrets<'_> {
    fn resolve(&self, name: &str) -> Result<String, SecretError> {
        if let Some(value) = self.sources.local.get(name) {
            return Ok(value.clone());
        }
        if let Some(var) = self.sources.env.get(name) {
            return match (self.env)(var) {
                Some(value) if !value.is_empty() => Ok(value),
                _ => Err(SecretError::EnvUnset { var: var.clone() }),
            };
        }
        if let Some(path) = self.sources.files.get(name) {
            let fail = |message: String| SecretError::File {
                path: path.display().to_string(),
                message,
            };
            let file = std::fs::File::open(path).map_err(|e| fail(e.to_string()))?;
            let mut bytes = Vec::new();
            file.take(MAX_FILE_BYTES + 1)
                .read_to_end(&mut bytes)
                .map_err(|e| fail(e.to_string()))?;
            if bytes.len() as u64 > MAX_FILE_BYTES {
                return Err(fail(format!("larger than {} KiB", MAX_FILE_BYTES / 1024)));
            }
            let text = String::from_utf8(bytes).map_err(|_| fail("not UTF-8 text".into()))?;
            return Ok(text.trim().to_owned());
        }
        Err(SecretError::NotFound {
            name: name.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_then_env_then_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("key"), "  file-secret\n").unwrap();
        std::fs::write(dir.path().join("big"), vec![b'x'; 70 * 1024]).unwrap();
        let mut sources = SecretSources::default();
        sources.local.insert("both".into(), "from-local".into());
        sources.env.insert("both".into(), "BOTH".into());
        sources.env.insert("token".into(), "TOKEN".into());
        sources.env.insert("unset".into(), "UNSET".into());
        sources.env.insert("empty".into(), "EMPTY".into());
        sources.files.insert("key".into(), dir.path().join("key"));
        sources.files.insert("big".into(), dir.path().join("big"));
        sources.files.insert("gone".into(), dir.path().join("gone"));
        let source = SystemSecrets::with_env(&sources, |var| match var {
            "TOKEN" => Some("from-env".into()),
            "BOTH" => Some("loses".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        });
        assert_eq!(source.resolve("both").unwrap(), "from-local");
        assert_eq!(source.resolve("token").unwrap(), "from-env");
        assert_eq!(source.resolve("key").unwrap(), "file-secret");
        let errors = [
            (
                "unset",
                "UNSET (named by sensitive_data.secrets.env) is not set",
            ),
            (
                "empty",
                "EMPTY (named by sensitive_data.secrets.env) is not set or empty",
            ),
            ("big", "larger than 64 KiB"),
            ("gone", "cannot read"),
            ("nope", "add it to sensitive_data.secrets"),
        ];
        for (name, want) in errors {
            let err = source.resolve(name).unwrap_err().to_string();
            assert!(err.contains(want), "{name}: {err}");
        }
    }
}
