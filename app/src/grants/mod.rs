//! Grants: what a run needs from each plugin, what the user saved, and the file they are saved in.
//!
//! What a plugin needs is what its observations' configs imply (a file `path`, a `url`'s host and
//! port, a DNS `nameserver`, a `host` and `port`, a `command`), kept only where the plugin
//! declared it may ask for it. Saved grants live in their own file, `grants.yaml` beside the system
//! config, keyed by plugin name and the sha256 of its wasm, so a changed plugin is asked about
//! again. The system config itself is never written.

mod store;

use std::path::Path;

use reglet_domain::{AccessRequest, GrantSet};
use serde_json::{Map, Value};

pub use store::{GrantEntry, GrantStore, StoreError, write_atomically};

/// What one observation's config implies the plugin will touch, in Reglet's string form.
pub fn implied_by(config: &Map<String, Value>) -> Vec<String> {
    let mut out = Vec::new();
    let text = |key: &str| config.get(key).and_then(Value::as_str);
    if let Some(path) = text("path")
        && path.starts_with('/')
        && is_literal(path)
    {
        out.push(AccessRequest::ReadFile(Path::new(path)).to_string());
        // The sandbox checks a link where it points, so each link on the way and its target are
        // granted by their real paths, shown to the user as such.
        for real in real_paths_through_links(path) {
            out.push(AccessRequest::ReadFile(&real).to_string());
        }
    }
    if let Some(url) = text("url")
        && let Some((host, port)) = url_host_port(url.trim())
        && is_host_name(&host)
    {
        push_connect(&mut out, &host, port);
    }
    match (
        text("nameserver").filter(|n| !n.is_empty()),
        text("hostname"),
    ) {
        (Some(ns), _) => {
            let (host, port) = split_host_port(ns).unwrap_or((ns.to_owned(), 53));
            if is_host_name(&host) {
                push_connect(&mut out, &host, port);
            }
        }
        // A lookup through the system's resolver is granted by the name looked up, on port 53.
        (None, Some(name)) => {
            let name = name.trim().trim_end_matches('.');
            if is_host_name(name) {
                push_connect(&mut out, name, 53);
            }
        }
        _ => {}
    }
    if let Some(host) = text("host").map(str::trim).filter(|h| is_host_name(h)) {
        let port = config
            .get("port")
            .and_then(|p| {
                p.as_u64()
                    .or_else(|| p.as_str().and_then(|s| s.parse().ok()))
            })
            .and_then(|p| u16::try_from(p).ok());
        if let Some(port) = port {
            push_connect(&mut out, host, port);
        }
    }
    if let Some(command) = text("command") {
        // The command plugin runs `command` as one program, with `args` as they are: an absolute
        // path, or a bare name the host looks up in its fixed search path.
        let program = command.trim();
        let absolute_or_bare = program.starts_with('/') || !program.contains('/');
        if !program.is_empty()
            && absolute_or_bare
            && is_literal(program)
            && !program.contains([':', ' ', '\t'])
        {
            let args: Vec<String> = match config.get("args") {
                Some(Value::Array(extra)) => extra
                    .iter()
                    .filter_map(|a| a.as_str().map(str::to_owned))
                    .collect(),
                _ => Vec::new(),
            };
            out.push(
                AccessRequest::Exec {
                    command: program,
                    args: &args,
                }
                .to_string(),
            );
        }
    } else if let Some(run) = text("run") {
        // The command plugin runs a `run` line as `/bin/sh -c <run>`.
        let args = ["-c".to_owned(), run.to_owned()];
        out.push(
            AccessRequest::Exec {
                command: "/bin/sh",
                args: &args,
            }
            .to_string(),
        );
    }
    if (config.contains_key("command") || config.contains_key("run"))
        && let Some(dir) = text("dir")
        && let Some(dir) = reglet_domain::grants::normalize_path(dir.trim())
        && is_literal(&dir)
    {
        // A command's working directory must be readable under an fs grant.
        out.push(AccessRequest::ReadFile(Path::new(&dir)).to_string());
    }
    if let Some(Value::Array(env)) = config.get("env") {
        for entry in env.iter().filter_map(Value::as_str) {
            let name = entry.split_once('=').map_or(entry, |(name, _)| name);
            if is_variable_name(name) && !is_default_exec_env(name) {
                out.push(AccessRequest::ExecEnv(name).to_string());
            }
        }
    }
    out
}

/// Adds the grant to connect to `host:port`. `localhost` also gets its loopback addresses by
/// number: the SSRF filter lets a connection reach a non-public address only when a grant names
/// that address (or allows private networks), and the profile named this one.
fn push_connect(out: &mut Vec<String>, host: &str, port: u16) {
    out.push(AccessRequest::Connect { host, port }.to_string());
    if host.trim_end_matches('.').eq_ignore_ascii_case("localhost") {
        for loopback in ["127.0.0.1", "::1"] {
            out.push(
                AccessRequest::Connect {
                    host: loopback,
                    port,
                }
                .to_string(),
            );
        }
    }
}

/// The real paths a walk to `path` meets when it goes through symbolic links: each link's own
/// real path and, last, the real path of what the chain ends at. Empty when `path` holds no link
/// (or does not exist); bounded by Linux's 40 hops.
///
/// A link is followed only where nobody but root or the user running reglet can have put it: in
/// a directory that one of them owns and nobody else may write. Otherwise whoever can replace a
/// checked file with a link would choose what the next run is granted; the chain stops there, and
/// the sandbox refuses the link until its target is granted by hand.
fn real_paths_through_links(path: &str) -> Vec<std::path::PathBuf> {
    use std::collections::VecDeque;
    use std::ffi::OsString;
    use std::path::{Component, PathBuf};
    let parts = |p: &Path| -> Vec<OsString> {
        p.components()
            .filter_map(|c| match c {
                Component::Normal(n) => Some(n.to_owned()),
                Component::ParentDir => Some(OsString::from("..")),
                _ => None,
            })
            .collect()
    };
    let mut out: Vec<PathBuf> = Vec::new();
    let add = |p: PathBuf, out: &mut Vec<PathBuf>| {
        if p.as_os_str() != std::ffi::OsStr::new(path)
            && is_literal(&p.to_string_lossy())
            && !out.contains(&p)
        {
            out.push(p);
        }
    };
    let mut pending: VecDeque<OsString> = parts(Path::new(path)).into();
    // Always a real path: every link on the way to it has been followed.
    let mut current = PathBuf::from("/");
    let mut hops = 0;
    let mut followed = false;
    while let Some(part) = pending.pop_front() {
        if part == ".." {
            current.pop();
            continue;
        }
        let candidate = current.join(&part);
        match std::fs::symlink_metadata(&candidate) {
            Ok(meta) if meta.file_type().is_symlink() => {
                hops += 1;
                let target = std::fs::read_link(&candidate);
                // A last link is looked at itself too (`is_symlink`); one on the way is only
                // walked through, which the path's own grant allows.
                if pending.is_empty() {
                    add(candidate, &mut out);
                }
                let Ok(target) = target else { return out };
                if hops > 40 || !only_trusted_can_write(&current) {
                    return out;
                }
                followed = true;
                if target.is_absolute() {
                    current = PathBuf::from("/");
                }
                for piece in parts(&target).into_iter().rev() {
                    pending.push_front(piece);
                }
            }
            Ok(_) => current = candidate,
            // Missing: nothing below it can be a link.
            Err(_) => {
                current = candidate;
                current.extend(pending.drain(..));
                break;
            }
        }
    }
    if followed {
        add(current, &mut out);
    }
    out
}

/// True when only root or the user running reglet can change what `dir` holds.
#[cfg(unix)]
fn only_trusted_can_write(dir: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::metadata(dir) else {
        return false;
    };
    let me = rustix::process::geteuid().as_raw();
    (meta.uid() == 0 || meta.uid() == me) && meta.mode() & 0o022 == 0
}

#[cfg(not(unix))]
fn only_trusted_can_write(_dir: &Path) -> bool {
    false
}

/// True when `text` holds no glob syntax and no control character: a config value becomes a
/// grant only as the literal it is, never as a pattern that would match more.
fn is_literal(text: &str) -> bool {
    !text.contains(['*', '?', '[', ']', '{', '}']) && !text.chars().any(char::is_control)
}

/// A DNS name or an IP address, nothing that reads as a pattern or a network range.
fn is_host_name(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':'))
        && !host.starts_with('.')
}

/// An environment variable name: a letter or `_`, then letters, digits and `_`.
fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Variables every command may be given without a grant (the host's exec policy).
fn is_default_exec_env(name: &str) -> bool {
    matches!(name, "PATH" | "LANG" | "TZ") || name.starts_with("LC_")
}

/// The grants `config` implies that the plugin also declared: what it will be given.
pub fn needed(config: &Map<String, Value>, declared: &GrantSet) -> GrantSet {
    implied_by(config)
        .iter()
        .filter_map(|text| GrantSet::parse(text).ok())
        .filter(|grant| declared.contains(grant))
        .fold(GrantSet::new(), |all, grant| all.merge(&grant))
}

fn url_host_port(url: &str) -> Option<(String, u16)> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit('@').next()?;
    let default = match scheme.to_ascii_lowercase().as_str() {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    match split_host_port(authority) {
        Some(hp) => Some(hp),
        None if !authority.is_empty() => {
            Some((authority.trim_matches(['[', ']']).to_owned(), default))
        }
        None => None,
    }
}

/// `host:port` or `[v6]:port`; `None` when there is no port.
fn split_host_port(text: &str) -> Option<(String, u16)> {
    if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = after.strip_prefix(':')?.parse().ok()?;
        return Some((host.to_owned(), port));
    }
    let (host, port) = text.rsplit_once(':')?;
    if host.contains(':') {
        return None;
    }
    Some((host.to_owned(), port.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn configs_imply_grants() {
        let cases = [
            (
                json!({"path": "/etc/hostname"}),
                vec!["fs:read:/etc/hostname"],
            ),
            (json!({"path": "relative"}), vec![]),
            (
                json!({"url": "https://example.com/x"}),
                vec!["network:outbound:example.com:443"],
            ),
            (
                json!({"url": "http://u@127.0.0.1:8080/"}),
                vec!["network:outbound:127.0.0.1:8080"],
            ),
            (
                json!({"nameserver": "9.9.9.9"}),
                vec!["network:outbound:9.9.9.9:53"],
            ),
            (
                json!({"host": "mail.example.com", "port": 25}),
                vec!["network:outbound:mail.example.com:25"],
            ),
            (
                json!({"command": "/bin/echo", "args": ["hi"]}),
                vec!["exec:/bin/echo:hi"],
            ),
            // The plugin runs `command` as one program path: one with a space is no program.
            (json!({"command": "/bin/echo hi"}), vec![]),
            // Config values become grants only as literals, never as patterns.
            (json!({"path": "/etc/*"}), vec![]),
            (json!({"hostname": "*"}), vec![]),
            (json!({"host": "0.0.0.0/0", "port": 22}), vec![]),
            (json!({"command": "/bin/sh:*[ c]"}), vec![]),
            (
                json!({"command": "/usr/bin/id", "env": ["*=1", "A-B=2"]}),
                vec!["exec:/usr/bin/id:"],
            ),
            (
                json!({"hostname": "example.com", "nameserver": ""}),
                vec!["network:outbound:example.com:53"],
            ),
            (
                json!({"command": "/usr/bin/systemctl", "args": ["is-active", "sshd"], "env": ["LANG=C", "SYSTEMD_PAGER=", "LC_ALL=C"]}),
                vec![
                    "exec:/usr/bin/systemctl:is-active sshd",
                    "exec:env:SYSTEMD_PAGER",
                ],
            ),
            (json!({"run": "exit 3"}), vec!["exec:/bin/sh:-c 'exit 3'"]),
            // A bare name is granted as written: the host looks it up in its fixed search path.
            (
                json!({"command": "uname", "args": ["-s"]}),
                vec!["exec:uname:-s"],
            ),
            (json!({"command": "bin/uname"}), vec![]),
            // A working directory must be readable.
            (
                json!({"command": "/bin/pwd", "dir": "/tmp/../var/"}),
                vec!["exec:/bin/pwd:", "fs:read:/var"],
            ),
            (json!({"dir": "/tmp"}), vec![]),
            // `localhost` is also named by its loopback addresses, which the SSRF filter checks.
            (
                json!({"url": "http://localhost:8080/health"}),
                vec![
                    "network:outbound:localhost:8080",
                    "network:outbound:127.0.0.1:8080",
                    "network:outbound:[::1]:8080",
                ],
            ),
            (
                json!({"hostname": "example.com.", "record_type": "MX"}),
                vec!["network:outbound:example.com:53"],
            ),
            (
                json!({"hostname": "example.com", "nameserver": "10.0.0.53:5353"}),
                vec!["network:outbound:10.0.0.53:5353"],
            ),
        ];
        for (config, want) in cases {
            let got = implied_by(config.as_object().unwrap());
            assert_eq!(got, want, "{config}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_path_through_links_also_grants_their_real_paths() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::create_dir(root.join("real")).unwrap();
        std::fs::write(root.join("real/target"), "x").unwrap();
        std::os::unix::fs::symlink("real", root.join("dir-link")).unwrap();
        std::os::unix::fs::symlink("target", root.join("real/file-link")).unwrap();
        let path = root.join("dir-link/file-link");
        let got = implied_by(json!({"path": path}).as_object().unwrap());
        let r = root.display();
        assert_eq!(
            got,
            [
                format!("fs:read:{}", path.display()),
                format!("fs:read:{r}/real/file-link"),
                format!("fs:read:{r}/real/target"),
            ]
        );
        // No link on the way, or nothing there: the path alone.
        for plain in [root.join("real/target"), root.join("missing/file")] {
            let got = implied_by(json!({"path": plain}).as_object().unwrap());
            assert_eq!(got, [format!("fs:read:{}", plain.display())]);
        }
        // A link in a folder others may write is not followed: whoever planted it would choose
        // the grant.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(root.join("real"), std::fs::Permissions::from_mode(0o777))
            .unwrap();
        let got = implied_by(json!({"path": path}).as_object().unwrap());
        assert_eq!(
            got,
            [
                format!("fs:read:{}", path.display()),
                format!("fs:read:{r}/real/file-link"),
            ]
        );
        // Nor a link to a directory, planted on the way.
        std::fs::create_dir(root.join("secret")).unwrap();
        std::fs::write(root.join("secret/key"), "k").unwrap();
        std::fs::create_dir(root.join("open")).unwrap();
        std::fs::set_permissions(root.join("open"), std::fs::Permissions::from_mode(0o777))
            .unwrap();
        std::os::unix::fs::symlink(root.join("secret"), root.join("open/evil")).unwrap();
        let planted = root.join("open/evil/key");
        let got = implied_by(json!({"path": planted}).as_object().unwrap());
        assert_eq!(got, [format!("fs:read:{}", planted.display())]);
    }

    #[test]
    fn only_what_the_plugin_declared_is_needed() {
        let config = json!({"path": "/etc/hostname", "url": "https://example.com/"});
        let declared = GrantSet::parse("fs:read:/etc/**").unwrap();
        let needed = needed(config.as_object().unwrap(), &declared);
        assert_eq!(needed.to_strings(), ["fs:read:/etc/hostname"]);
        assert!(super::needed(config.as_object().unwrap(), &GrantSet::new()).is_empty());
    }
}
