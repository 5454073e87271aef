//! `GrantSet`: the one capability model for what plugins declare, what users grant and what host
//! functions check.
//!
//! A grant set is a set of *atomic* grants (one host pattern and one port range; one access mode and
//! one path glob; one variable pattern; one program pattern with its argument pattern; one pattern
//! of variables a program may be given) plus an explicit switch for private networks. Keeping atoms sorted and de-duplicated makes [`GrantSet::merge`] exactly commutative
//! and idempotent, and makes [`GrantSet::contains`] a per-atom subsumption test that is sound: if
//! `a.contains(&b)` then `a` allows every request `b` allows.
//!
//! Reglet's string forms (`network:outbound:443`, `fs:read:/etc/**`, `env:AWS_*`,
//! `exec:/usr/bin/systemctl`, `exec:/usr/bin/systemctl:is-active *`, `exec:env:GIT_DIR`) and the
//! Gen 2 JSON/YAML shape both parse into it.

mod args;
mod env;
mod error;
mod exec;
mod exec_env;
mod fs;
mod host;
mod inert;
mod json;
mod network;
mod path;
mod risk;
mod runners;

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

pub use args::ArgsPattern;
pub use env::EnvPattern;
pub use error::GrantParseError;
pub use exec::{ExecGrant, ExecPattern};
pub use exec_env::is_hijack_variable;
pub use fs::{FsAccess, FsGrant};
pub use host::{HostPattern, RequestedHost, canonical_ip, parse_ip_literal};
pub use inert::runs_no_other_program;
pub(crate) use json::WireGrantSet;
pub use network::{NetworkGrant, PortRange};
pub use path::{PathPattern, normalize_path};
pub use risk::{RiskFactor, RiskLevel, RiskReport};
pub use runners::is_code_runner;

/// Something a plugin asks the host to do, to be checked against its grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessRequest<'a> {
    /// Open a connection to `host:port` (a DNS name or an IP literal in any spelling).
    Connect {
        /// Host as the plugin gave it.
        host: &'a str,
        /// Destination port.
        port: u16,
    },
    /// Read, stat or list a path.
    ReadFile(&'a Path),
    /// Create, modify, rename or delete a path.
    WriteFile(&'a Path),
    /// See an environment variable.
    ReadEnv(&'a str),
    /// Run a program with these arguments (the program's name not included).
    Exec {
        /// The program: an absolute path or a bare name.
        command: &'a str,
        /// Its arguments.
        args: &'a [String],
    },
    /// Give a program the environment variable of this name.
    ExecEnv(&'a str),
}

impl fmt::Display for AccessRequest<'_> {
    /// The grant string that would allow this request, e.g. `network:outbound:example.com:443`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AccessRequest::Connect { host, port } => match RequestedHost::parse(host) {
                RequestedHost::Ip(std::net::IpAddr::V6(ip)) => {
                    write!(f, "network:outbound:[{ip}]:{port}")
                }
                RequestedHost::Ip(ip) => write!(f, "network:outbound:{ip}:{port}"),
                RequestedHost::Name(name) => write!(f, "network:outbound:{name}:{port}"),
            },
            AccessRequest::ReadFile(path) => write!(f, "fs:read:{}", path.display()),
            AccessRequest::WriteFile(path) => write!(f, "fs:write:{}", path.display()),
            AccessRequest::ReadEnv(name) => write!(f, "env:{name}"),
            // A bare `env` cannot be pinned in a grant (`exec:env:` names variables).
            AccessRequest::Exec { command: "env", .. } => f.write_str("exec:env"),
            AccessRequest::Exec { command, args } => {
                write!(f, "exec:{command}:{}", ArgsPattern::exact(args))
            }
            AccessRequest::ExecEnv(name) => write!(f, "exec:env:{name}"),
        }
    }
}

/// A set of capabilities. See the module documentation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct GrantSet {
    network: BTreeSet<NetworkGrant>,
    private_networks: bool,
    fs: BTreeSet<FsGrant>,
    env: BTreeSet<EnvPattern>,
    exec: BTreeSet<ExecGrant>,
    exec_env: BTreeSet<EnvPattern>,
}

impl GrantSet {
    /// The empty set: nothing is allowed.
    pub fn new() -> Self {
        GrantSet::default()
    }

    /// Parses one capability in Reglet's string form (`kind:pattern`).
    ///
    /// ```
    /// use std::path::Path;
    /// use reglet_domain::{AccessRequest, GrantSet};
    ///
    /// let grants = GrantSet::parse_all(["network:outbound:api.example.com:443", "fs:read:/etc/ssh/**"])?;
    /// assert!(grants.allows(&AccessRequest::Connect { host: "api.example.com", port: 443 }));
    /// assert!(!grants.allows(&AccessRequest::Connect { host: "api.example.com", port: 80 }));
    /// assert!(grants.allows(&AccessRequest::ReadFile(Path::new("/etc/ssh/sshd_config"))));
    /// // Paths are normalised before they are matched: `..` cannot climb out of a grant.
    /// assert!(!grants.allows(&AccessRequest::ReadFile(Path::new("/etc/ssh/../shadow"))));
    ///
    /// assert!(GrantSet::parse("kv:read:*").is_err());
    /// # Ok::<(), reglet_domain::GrantParseError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// A [`GrantParseError`] that says what is wrong: no `kind:`, an empty pattern, an unknown
    /// kind, or a pattern that does not parse for its kind.
    pub fn parse(text: &str) -> Result<Self, GrantParseError> {
        let (kind, pattern) = text
            .split_once(':')
            .ok_or_else(|| GrantParseError::MissingKind(text.to_owned()))?;
        if pattern.is_empty() {
            return Err(GrantParseError::EmptyPattern(text.to_owned()));
        }
        let mut set = GrantSet::new();
        match kind {
            "network" => {
                let spec = match pattern.split_once(':') {
                    Some(("outbound", spec)) => spec,
                    None if pattern == "*" => "*",
                    _ => return Err(GrantParseError::UnsupportedDirection(text.to_owned())),
                };
                let parsed = network::parse_outbound(spec)?;
                set.network.extend(parsed.grants);
                set.private_networks = parsed.private_networks;
            }
            "fs" => {
                let (access, glob) = match pattern.split_once(':') {
                    Some(("read", glob)) => (FsAccess::Read, glob),
                    Some(("write", glob)) => (FsAccess::Write, glob),
                    _ => return Err(GrantParseError::MissingFsAccess(text.to_owned())),
                };
                set.fs.insert(FsGrant {
                    access,
                    pattern: PathPattern::parse(glob)?,
                });
            }
            "env" => {
                set.env.insert(EnvPattern::parse(pattern)?);
            }
            "exec" => set.insert_exec(pattern)?,
            other => {
                return Err(GrantParseError::UnknownKind {
                    kind: other.to_owned(),
                    text: text.to_owned(),
                });
            }
        }
        Ok(set)
    }

    /// Adds one exec grant written as after `exec:`: a program grant, or `env:NAME`.
    fn insert_exec(&mut self, pattern: &str) -> Result<(), GrantParseError> {
        match pattern.strip_prefix("env:") {
            Some(variable) => self.exec_env.insert(EnvPattern::parse(variable)?),
            None => self.exec.insert(ExecGrant::parse(pattern)?),
        };
        Ok(())
    }

    /// Parses and merges several capability strings; the first bad one is the error.
    ///
    /// # Errors
    ///
    /// The [`GrantParseError`] of the first string that does not parse ([`GrantSet::parse`]).
    pub fn parse_all<I, S>(texts: I) -> Result<Self, GrantParseError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        texts.into_iter().try_fold(GrantSet::new(), |acc, text| {
            Ok(acc.merge(&GrantSet::parse(text.as_ref())?))
        })
    }

    /// Every atomic grant in Reglet's string form, in a stable order. Parsing these strings back
    /// with [`GrantSet::parse_all`] gives the same set.
    pub fn to_strings(&self) -> Vec<String> {
        let mut out: Vec<String> = self.network.iter().map(ToString::to_string).collect();
        if self.private_networks {
            out.push("network:outbound:private".to_owned());
        }
        out.extend(self.fs.iter().map(ToString::to_string));
        out.extend(self.env.iter().map(|e| format!("env:{e}")));
        out.extend(self.exec.iter().map(|e| format!("exec:{e}")));
        out.extend(self.exec_env.iter().map(|e| format!("exec:env:{e}")));
        out
    }

    /// True when nothing is granted.
    pub fn is_empty(&self) -> bool {
        self.network.is_empty()
            && !self.private_networks
            && self.fs.is_empty()
            && self.env.is_empty()
            && self.exec.is_empty()
            && self.exec_env.is_empty()
    }

    /// True when the request is covered by some grant. Paths and commands are normalised first, so
    /// `..` cannot climb out of a grant; relative paths are never allowed. See [`GrantSet::parse`]
    /// for an example.
    pub fn allows(&self, request: &AccessRequest<'_>) -> bool {
        match request {
            AccessRequest::Connect { host, port } => {
                let host = RequestedHost::parse(host);
                self.network.iter().any(|g| g.matches(&host, *port))
            }
            AccessRequest::ReadFile(path) => self.allows_path(FsAccess::Read, path),
            AccessRequest::WriteFile(path) => self.allows_path(FsAccess::Write, path),
            AccessRequest::ReadEnv(name) => self.env.iter().any(|p| p.matches(name)),
            AccessRequest::Exec { command, args } => {
                self.exec.iter().any(|g| g.allows(command, args))
            }
            AccessRequest::ExecEnv(name) => self.exec_env.iter().any(|p| exec_env::allows(p, name)),
        }
    }

    fn allows_path(&self, access: FsAccess, path: &Path) -> bool {
        let Some(path) = path.to_str().and_then(normalize_path) else {
            return false;
        };
        self.fs.iter().any(|g| g.matches(access, &path))
    }

    /// True when running `command` with `args` is allowed by a grant that names the program, not
    /// by a glob: what running a shell, an interpreter or a launcher requires.
    pub fn names_command<S: AsRef<str>>(&self, command: &str, args: &[S]) -> bool {
        self.exec
            .iter()
            .any(|g| g.names_one_program() && g.allows(command, args))
    }

    /// True when a grant names the address `ip` itself (`network:outbound:169.254.169.254:80` or a
    /// block containing it) for `port`; a host name or a wildcard that happens to cover it does not.
    /// Only the IPv4-mapped spelling is the same address; the NAT64 or 6to4 address carrying
    /// 169.254.169.254 must be named as itself.
    pub fn names_address(&self, ip: std::net::IpAddr, port: u16) -> bool {
        let requested = RequestedHost::Ip(canonical_ip(ip));
        self.network.iter().any(|g| {
            matches!(g.host, HostPattern::Ip(_) | HostPattern::Net(_))
                && g.matches(&requested, port)
        })
    }

    /// True when a grant names exactly `ip` (one address, not a network) with `port`: the user
    /// wrote this address, which lets a connection reach it even when it is not public.
    pub fn names_exact_address(&self, ip: std::net::IpAddr, port: u16) -> bool {
        let requested = RequestedHost::Ip(canonical_ip(ip));
        self.network
            .iter()
            .any(|g| matches!(g.host, HostPattern::Ip(_)) && g.matches(&requested, port))
    }

    /// True when connections to private, loopback, link-local and other non-public addresses are
    /// allowed. Only an explicit `network:outbound:private` grant turns this on; `*` never does.
    pub fn allows_private_networks(&self) -> bool {
        self.private_networks
    }

    /// Everything granted by either set.
    pub fn merge(&self, other: &GrantSet) -> GrantSet {
        GrantSet {
            network: self.network.union(&other.network).cloned().collect(),
            private_networks: self.private_networks || other.private_networks,
            fs: self.fs.union(&other.fs).cloned().collect(),
            env: self.env.union(&other.env).cloned().collect(),
            exec: self.exec.union(&other.exec).cloned().collect(),
            exec_env: self.exec_env.union(&other.exec_env).cloned().collect(),
        }
    }

    /// The atomic grants of `self` that `other` does not cover: what is still missing if `self` is
    /// what is required and `other` what was granted.
    pub fn difference(&self, other: &GrantSet) -> GrantSet {
        GrantSet {
            network: self
                .network
                .iter()
                .filter(|g| !other.network.iter().any(|o| o.covers(g)))
                .cloned()
                .collect(),
            private_networks: self.private_networks && !other.private_networks,
            fs: self
                .fs
                .iter()
                .filter(|g| !other.fs.iter().any(|o| o.covers(g)))
                .cloned()
                .collect(),
            env: self
                .env
                .iter()
                .filter(|g| !other.env.iter().any(|o| o.covers(g)))
                .cloned()
                .collect(),
            exec: self
                .exec
                .iter()
                .filter(|g| !other.exec.iter().any(|o| o.covers(g)))
                .cloned()
                .collect(),
            exec_env: self
                .exec_env
                .iter()
                .filter(|g| !other.exec_env.iter().any(|o| exec_env::covers(o, g)))
                .cloned()
                .collect(),
        }
    }

    /// True when every grant of `other` is covered by a grant of `self`.
    pub fn contains(&self, other: &GrantSet) -> bool {
        other.difference(self).is_empty()
    }

    /// The atomic network grants.
    pub fn network_grants(&self) -> impl Iterator<Item = &NetworkGrant> {
        self.network.iter()
    }

    /// The atomic filesystem grants.
    pub fn fs_grants(&self) -> impl Iterator<Item = &FsGrant> {
        self.fs.iter()
    }

    /// The environment-variable patterns.
    pub fn env_patterns(&self) -> impl Iterator<Item = &EnvPattern> {
        self.env.iter()
    }

    /// The exec grants: programs and their argument patterns.
    pub fn exec_grants(&self) -> impl Iterator<Item = &ExecGrant> {
        self.exec.iter()
    }

    /// The patterns of variables a program may be given (`exec:env:...`).
    pub fn exec_env_patterns(&self) -> impl Iterator<Item = &EnvPattern> {
        self.exec_env.iter()
    }
}

impl FromStr for GrantSet {
    type Err = GrantParseError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        GrantSet::parse(text)
    }
}

impl fmt::Display for GrantSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("(no capabilities)");
        }
        f.write_str(&self.to_strings().join(", "))
    }
}

#[cfg(test)]
mod tests;
