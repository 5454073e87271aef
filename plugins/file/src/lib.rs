//! The `file` plugin: whether a path exists, what it is, its real mode and owner (through the
//! `file_stat` host function, since WASI preview 1 cannot see them), its sha256 and, capped, its
//! content. Field names are Reglet's, so existing `expect` lines keep working.

use std::io::Read;

use base64::Engine;
use reglet_plugin_sdk::host::{FileStat, FileStatRequest};
use reglet_plugin_sdk::{Error, Evidence, Host, Plugin, Value, json, reglet_plugin, rfc3339};
use sha2::{Digest, Sha256};

/// Content read when `max_content_bytes` is not set.
const DEFAULT_MAX_CONTENT: u64 = 1 << 20;

/// The plugin.
#[derive(Default)]
pub struct File;

/// An observation of one path.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Absolute path to look at.
    pub path: String,
    /// Also return the content (text when UTF-8, base64 otherwise).
    #[serde(default)]
    pub read_content: bool,
    /// Also return the sha256 of a regular file's content.
    #[serde(default)]
    pub hash: bool,
    /// Most content bytes returned (default 1 MiB); longer content is cut and flagged.
    #[serde(default)]
    pub max_content_bytes: Option<u64>,
}

/// `ls -l`'s ten-character mode string.
pub fn permissions(mode: u32) -> String {
    let kind = match mode & 0o170000 {
        0o040000 => 'd',
        0o120000 => 'l',
        0o020000 => 'c',
        0o060000 => 'b',
        0o010000 => 'p',
        0o140000 => 's',
        _ => '-',
    };
    let mut out = String::with_capacity(10);
    out.push(kind);
    for (shift, special, set_char) in [(6, 0o4000, 's'), (3, 0o2000, 's'), (0, 0o1000, 't')] {
        let bits = (mode >> shift) & 7;
        out.push(if bits & 4 != 0 { 'r' } else { '-' });
        out.push(if bits & 2 != 0 { 'w' } else { '-' });
        let exec = bits & 1 != 0;
        out.push(match (mode & special != 0, exec) {
            (true, true) => set_char,
            (true, false) => set_char.to_ascii_uppercase(),
            (false, true) => 'x',
            (false, false) => '-',
        });
    }
    out
}

fn stat(host: &dyn Host, path: &str, follow: bool) -> Result<FileStat, Error> {
    host.file_stat(&FileStatRequest {
        path: path.to_owned(),
        follow,
    })
}

fn sha256_of(path: &str) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

fn content_of(path: &str, cap: u64, evidence: &mut Evidence) -> std::io::Result<()> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(cap.saturating_add(1))
        .read_to_end(&mut bytes)?;
    let truncated = bytes.len() as u64 > cap;
    bytes.truncate(cap as usize);
    // Text goes in `content`, where `expect` reads it directly; Reglet's `content_b64` (with
    // `encoding: base64`) is always there too, so its profiles' `fromBase64(data.content_b64)`
    // work. The host redacts base64 of text through the text, so the copy hides what `content`
    // hides.
    let encoded = base64::engine::general_purpose::STANDARD.encode(&bytes);
    evidence.set("content_b64", encoded.clone());
    evidence.set("encoding", "base64");
    match String::from_utf8(bytes) {
        Ok(text) => {
            evidence.set("content", text);
            evidence.set("content_encoding", "utf-8");
        }
        Err(_) => {
            evidence.set("content", encoded);
            evidence.set("content_encoding", "base64");
        }
    }
    evidence.set("content_truncated", truncated);
    Ok(())
}

impl Plugin for File {
    type Config = Config;
    const NAME: &'static str = "file";
    const VERSION: &'static str = "2.0.0";
    const DESCRIPTION: &'static str = "File existence, type, mode, owner, hash and content";

    /// Reads only; the paths are the configured ones, granted from the profile.
    fn capabilities() -> Value {
        json!({"fs": {"rules": [{"read": ["**"]}]}})
    }

    fn observe(&self, config: Config, host: &dyn Host) -> Result<Evidence, Error> {
        if !config.path.starts_with('/') {
            return Err(Error::config("path", "path must be absolute"));
        }
        let path = config.path.as_str();
        let mut evidence = Evidence::new().with("path", path);
        let link = stat(host, path, false)?;
        if !link.exists {
            return Ok(evidence.with("exists", false).with("readable", false));
        }
        // A symlink reports its target's attributes, as Reglet does; a dangling one its own. A
        // target outside the grants is refused, not replaced by the link's own attributes.
        let target = if link.is_symlink {
            match stat(host, path, true)? {
                target if target.exists => target,
                _ => link.clone(),
            }
        } else {
            link.clone()
        };
        evidence.set("exists", true);
        evidence.set("is_symlink", link.is_symlink);
        evidence.set("is_dir", target.is_dir);
        evidence.set("size", target.size);
        evidence.set("mode", format!("{:04o}", target.mode & 0o7777));
        evidence.set("permissions", permissions(target.mode));
        evidence.set(
            "mod_time",
            rfc3339(target.mtime_sec.max(0) as u64, target.mtime_nsec),
        );
        evidence.set("uid", target.uid);
        evidence.set("gid", target.gid);
        let readable = if target.is_dir {
            std::fs::read_dir(path).is_ok()
        } else {
            std::fs::File::open(path).is_ok()
        };
        evidence.set("readable", readable);
        let regular = target.mode & 0o170000 == 0o100000;
        if config.hash && regular && readable {
            match sha256_of(path) {
                Ok(digest) => evidence.set("sha256", digest),
                Err(e) => {
                    return Err(Error::new(
                        reglet_plugin_sdk::ErrorType::Other("fs".into()),
                        format!("hashing {path}: {e}"),
                    ));
                }
            }
        }
        if config.read_content && regular && readable {
            let cap = config.max_content_bytes.unwrap_or(DEFAULT_MAX_CONTENT);
            content_of(path, cap, &mut evidence).map_err(|e| {
                Error::new(
                    reglet_plugin_sdk::ErrorType::Other("fs".into()),
                    format!("reading {path}: {e}"),
                )
            })?;
        }
        Ok(evidence)
    }
}

reglet_plugin!(File);

#[cfg(test)]
mod tests;
