//! `plugins:` entries, parsed once into a typed declaration and never rewritten.
//!
//! Reglet accepts a built-in name (`file`), a name with a version (`file@1.2.0`), a local module
//! (`./plugins/custom.wasm`, resolved against the declaring file's folder) and an OCI reference
//! (`ghcr.io/org/repo/name:1.0.0` or `…@sha256:<hex>`). OCI references parse but are refused for
//! now, with a message saying so. A bare name that is not built in is looked for where Reglet
//! looks for local plugins, `<profile folder>/plugins/<name>/<name>.wasm`.

use std::path::{Path, PathBuf};

use reglet_domain::PluginName;

use super::error::{Location, ProfileError};
use crate::suggest;

/// The plugins that ship with Reglet, by name.
pub const BUILTIN_PLUGINS: &[&str] = &["file", "command", "http", "dns", "tcp", "smtp"];

/// Where a plugin's module comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PluginSource {
    /// A built-in plugin, with the version constraint written after `@`, if any.
    Builtin {
        /// `latest` or a semver requirement such as `1.2.0` or `^1`.
        version: Option<String>,
    },
    /// A `.wasm` or `.wat` file, as an absolute path.
    Path(PathBuf),
}

/// One `plugins:` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginDeclaration {
    /// The name observations use: the built-in name, or the module's file stem.
    pub name: PluginName,
    /// Where the module comes from.
    pub source: PluginSource,
    /// The entry as written.
    pub declared_as: String,
    /// Where it is written.
    pub location: Location,
}

/// Parses one entry; `base` is the folder of the file that declares it.
pub(crate) fn parse_declaration(
    text: &str,
    location: Location,
    base: &Path,
) -> Result<PluginDeclaration, Box<ProfileError>> {
    let invalid = |message: String| {
        Box::new(ProfileError::InvalidPlugin {
            location: location.clone(),
            declaration: text.to_owned(),
            message,
        })
    };
    let declared_as = text.to_owned();
    let is_path = text.starts_with("./")
        || text.starts_with("../")
        || text.starts_with('/')
        || text.ends_with(".wasm")
        || text.ends_with(".wat");
    if is_path {
        if !(text.ends_with(".wasm") || text.ends_with(".wat")) {
            return Err(invalid("a plugin path must end in .wasm or .wat".into()));
        }
        // `.` components are dropped so messages and reports show `examples/plugins/x.wat`, not
        // `examples/./plugins/x.wat`; `..` stays, since dropping it lexically could change the file.
        let path: PathBuf = base.join(
            Path::new(text)
                .components()
                .filter(|c| !matches!(c, std::path::Component::CurDir))
                .collect::<PathBuf>(),
        );
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        let name = PluginName::new(stem).map_err(|e| invalid(e.to_string()))?;
        if !path.is_file() {
            return Err(invalid(format!("{} does not exist", path.display())));
        }
        return Ok(PluginDeclaration {
            name,
            source: PluginSource::Path(path),
            declared_as,
            location,
        });
    }
    if text.contains('/') {
        return match oci_shape(text) {
            Ok(()) => Err(Box::new(ProfileError::UnsupportedPluginSource {
                location,
                declaration: declared_as,
            })),
            Err(message) => Err(invalid(message)),
        };
    }
    let (name, version) = match text.split_once('@') {
        Some((name, version)) => (name, Some(version)),
        None => (text, None),
    };
    let name = PluginName::new(name).map_err(|e| invalid(e.to_string()))?;
    if let Some(v) = version
        && v != "latest"
        && semver::VersionReq::parse(v).is_err()
    {
        return Err(invalid(format!(
            "{v:?} is not a version; use `latest` or a semver version such as 1.2.0 or ^1"
        )));
    }
    if BUILTIN_PLUGINS.contains(&name.as_str()) {
        return Ok(PluginDeclaration {
            name,
            source: PluginSource::Builtin {
                version: version.map(str::to_owned),
            },
            declared_as,
            location,
        });
    }
    let local = base
        .join("plugins")
        .join(name.as_str())
        .join(format!("{name}.wasm"));
    if local.is_file() {
        return Ok(PluginDeclaration {
            name,
            source: PluginSource::Path(local),
            declared_as,
            location,
        });
    }
    Err(Box::new(ProfileError::UnknownPlugin {
        location,
        suggestion: suggest::closest(name.as_str(), BUILTIN_PLUGINS.iter().copied())
            .map(str::to_owned),
        builtins: BUILTIN_PLUGINS.join(", "),
        searched: format!("plugins/{name}/{name}.wasm"),
        name: name.to_string(),
    }))
}

/// Checks `registry/path/name:tag` or `registry/path/name@sha256:<64 hex>`.
fn oci_shape(text: &str) -> Result<(), String> {
    let shape =
        "an OCI reference looks like registry/org/name:tag or registry/org/name@sha256:<digest>";
    let (path, pin) = match text.split_once('@') {
        Some((path, digest)) => {
            let hex = digest.strip_prefix("sha256:").unwrap_or_default();
            if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!("{shape}; the digest is not sha256:<64 hex digits>"));
            }
            (path, true)
        }
        None => (text, false),
    };
    let segments: Vec<&str> = path.split('/').collect();
    let last = segments.last().copied().unwrap_or_default();
    let registry = segments[0];
    let tagged = last
        .split_once(':')
        .is_some_and(|(n, t)| !n.is_empty() && !t.is_empty());
    if segments.len() < 2
        || segments.iter().any(|s| s.is_empty())
        || !(registry.contains('.') || registry.contains(':') || registry == "localhost")
        || !(pin || tagged)
    {
        return Err(shape.to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn parse(text: &str, base: &Path) -> Result<PluginDeclaration, Box<ProfileError>> {
        let file: Arc<Path> = Arc::from(base.join("p.yaml"));
        parse_declaration(text, Location::file(&file), base)
    }

    #[test]
    fn declarations() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("probe.wat"), "(module)").unwrap();
        std::fs::create_dir_all(dir.path().join("plugins/extra")).unwrap();
        std::fs::write(dir.path().join("plugins/extra/extra.wasm"), b"\0asm").unwrap();

        let d = parse("file", dir.path()).unwrap();
        assert_eq!(d.name.as_str(), "file");
        assert_eq!(d.source, PluginSource::Builtin { version: None });

        let d = parse("http@^1.2", dir.path()).unwrap();
        assert_eq!(
            d.source,
            PluginSource::Builtin {
                version: Some("^1.2".into())
            }
        );
        assert!(parse("dns@latest", dir.path()).is_ok());

        let d = parse("./probe.wat", dir.path()).unwrap();
        assert_eq!(d.name.as_str(), "probe");
        assert_eq!(d.source, PluginSource::Path(dir.path().join("probe.wat")));

        let d = parse("extra", dir.path()).unwrap();
        assert_eq!(
            d.source,
            PluginSource::Path(dir.path().join("plugins/extra/extra.wasm"))
        );
    }

    #[test]
    fn refusals() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            (
                "fiel",
                "unknown plugin `fiel`: not a built-in plugin (file, command, http, dns, tcp, smtp) and no plugins/fiel/fiel.wasm exists; did you mean `file`?",
            ),
            ("./missing.wasm", "does not exist"),
            ("./plugin.so", "must end in .wasm or .wat"),
            ("file@one", "is not a version"),
            ("bad name", "only letters, digits"),
            (
                "ghcr.io/org/repo/name:1.0.0",
                "OCI reference; fetching plugins from registries is not supported yet",
            ),
            (
                "ghcr.io/org/name@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                "not supported yet",
            ),
            ("ghcr.io/org/name", "an OCI reference looks like"),
            ("org/name:1", "an OCI reference looks like"),
            ("ghcr.io/org/name@sha256:abc", "64 hex digits"),
        ];
        for (text, want) in cases {
            let err = parse(text, dir.path()).unwrap_err().to_string();
            assert!(err.contains(want), "{text}: {err}");
        }
    }
}
