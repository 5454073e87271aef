//! How dangerous a grant set is, with a reason a person can read before saying yes.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{EnvPattern, ExecPattern, FsAccess, GrantSet, HostPattern, PortRange};

/// Risk levels, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RiskLevel {
    /// Nothing granted.
    None,
    /// Narrow grants to named things.
    Low,
    /// Grants that reach outside the host or read configuration.
    Medium,
    /// Broad reads, any write, private networks, credentials.
    High,
    /// Arbitrary code execution or unrestricted network or filesystem access.
    Critical,
}

impl fmt::Display for RiskLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RiskLevel::None => "none",
            RiskLevel::Low => "low",
            RiskLevel::Medium => "medium",
            RiskLevel::High => "high",
            RiskLevel::Critical => "critical",
        })
    }
}

/// One reason a grant set is risky.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskFactor {
    /// How risky this grant is.
    pub level: RiskLevel,
    /// The grant, in string form.
    pub grant: String,
    /// Why, in words.
    pub reason: String,
}

/// The risk of a grant set: the highest level, and every factor behind it (highest first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskReport {
    /// The highest level among the factors (`None` when nothing is granted).
    pub level: RiskLevel,
    /// One entry per grant.
    pub factors: Vec<RiskFactor>,
}

/// Program names that run arbitrary code given the right arguments.
const CODE_RUNNERS: &[&str] = &[
    "sh",
    "bash",
    "dash",
    "zsh",
    "ksh",
    "mksh",
    "csh",
    "tcsh",
    "fish",
    "ash",
    "busybox",
    "python",
    "python2",
    "python3",
    "perl",
    "perl5",
    "ruby",
    "irb",
    "node",
    "nodejs",
    "deno",
    "bun",
    "php",
    "lua",
    "luajit",
    "tclsh",
    "wish",
    "expect",
    "awk",
    "gawk",
    "mawk",
    "nawk",
    "osascript",
    "pwsh",
    "powershell",
    "env",
    "xargs",
    "find",
    "sudo",
    "su",
    "doas",
    "nohup",
    "nice",
    "timeout",
    "chroot",
    "nsenter",
    "unshare",
    "setsid",
    "script",
    "ssh",
    "docker",
    "podman",
    "kubectl",
    "systemd-run",
];

/// Environment variables (or prefixes) that commonly hold credentials.
const CREDENTIAL_ENV: &[&str] = &[
    "AWS_",
    "AZURE_",
    "ARM_",
    "GCP_",
    "GOOGLE_",
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "GITLAB_TOKEN",
    "VAULT_TOKEN",
    "DOCKER_",
    "KUBECONFIG",
    "NPM_TOKEN",
    "DATABASE_URL",
    "PGPASSWORD",
    "MYSQL_PWD",
    "SSH_AUTH_SOCK",
    "DIGITALOCEAN_",
    "CLOUDFLARE_",
    "HEROKU_API_KEY",
    "SLACK_",
];

/// Directories whose contents are sensitive to read in bulk.
const SENSITIVE_DIRS: &[&str] = &[
    "/", "/etc", "/root", "/home", "/proc", "/var", "/usr", "/sys", "/dev", "/boot", "/run",
];

/// True when the program `name` (a file name such as `bash` or `python3.12`) runs arbitrary code
/// given the right arguments: shells, interpreters and launchers.
pub fn is_code_runner(name: &str) -> bool {
    let stem = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    CODE_RUNNERS.contains(&name) || CODE_RUNNERS.contains(&stem)
}

impl GrantSet {
    /// Rates every grant and reports the highest level with the reasons behind it.
    pub fn risk(&self) -> RiskReport {
        let mut factors = Vec::new();
        let mut add = |level, grant: String, reason: String| {
            factors.push(RiskFactor {
                level,
                grant,
                reason,
            })
        };
        for grant in &self.network {
            let text = grant.to_string();
            match (&grant.host, grant.ports == PortRange::ANY) {
                (HostPattern::Any, true) => add(
                    RiskLevel::Critical,
                    text,
                    "unrestricted network access: any host on any port".into(),
                ),
                (HostPattern::Any, false) => add(
                    RiskLevel::Medium,
                    text,
                    format!("any host on port {}", grant.ports),
                ),
                (HostPattern::Net(net), _) => {
                    add(RiskLevel::Medium, text, format!("every address in {net}"))
                }
                (HostPattern::Subdomains(d), _) => {
                    add(RiskLevel::Low, text, format!("every host under {d}"))
                }
                _ => add(
                    RiskLevel::Low,
                    text,
                    format!("connections to {}", grant.host),
                ),
            }
        }
        if self.private_networks {
            add(
                RiskLevel::High,
                "network:outbound:private".into(),
                "may reach private, loopback and link-local addresses, including cloud metadata services (169.254.169.254)".into(),
            );
        }
        for grant in &self.fs {
            let text = grant.to_string();
            let prefix = grant.pattern.literal_prefix();
            let broad = !grant.pattern.is_literal() && SENSITIVE_DIRS.contains(&prefix.as_str());
            match (grant.access, broad) {
                (FsAccess::Write, true) => add(
                    RiskLevel::Critical,
                    text,
                    format!("may create, change and delete anything under {prefix}"),
                ),
                (FsAccess::Write, false) => add(
                    RiskLevel::High,
                    text,
                    "may create, change and delete files".into(),
                ),
                (FsAccess::Read, true) if prefix == "/" => add(
                    RiskLevel::High,
                    text,
                    "may read the entire filesystem".into(),
                ),
                (FsAccess::Read, true) => add(
                    RiskLevel::High,
                    text,
                    format!(
                        "may read everything under {prefix}, which holds configuration and secrets"
                    ),
                ),
                (FsAccess::Read, false) if prefix.starts_with("/etc") => {
                    add(RiskLevel::Medium, text, "reads system configuration".into())
                }
                (FsAccess::Read, false) => add(RiskLevel::Low, text, "reads named files".into()),
            }
        }
        for pattern in &self.env {
            let text = format!("env:{pattern}");
            let credential = CREDENTIAL_ENV.iter().find(|c| match pattern {
                EnvPattern::Any => true,
                EnvPattern::Prefix(p) => c.starts_with(p.as_str()) || p.starts_with(*c),
                EnvPattern::Exact(x) => {
                    x.starts_with(*c)
                        || x.contains("TOKEN")
                        || x.contains("SECRET")
                        || x.contains("PASSWORD")
                }
            });
            match (pattern, credential) {
                (EnvPattern::Any, _) => add(
                    RiskLevel::High,
                    text,
                    "sees every environment variable, including credentials".into(),
                ),
                (_, Some(c)) => add(
                    RiskLevel::High,
                    text,
                    format!("may see credentials ({c}...)"),
                ),
                _ => add(
                    RiskLevel::Low,
                    text,
                    "sees named environment variables".into(),
                ),
            }
        }
        for pattern in &self.exec {
            let text = format!("exec:{pattern}");
            match (pattern, pattern.program_name()) {
                (ExecPattern::Any, _) => add(
                    RiskLevel::Critical,
                    text,
                    "may run any program: arbitrary code execution".into(),
                ),
                (_, Some(name)) if is_code_runner(name) => add(
                    RiskLevel::Critical,
                    text,
                    format!("{name} can run arbitrary code (a shell, interpreter or launcher)"),
                ),
                (ExecPattern::Path(p), _) if !p.is_literal() => add(
                    RiskLevel::High,
                    text,
                    format!("may run any program matching {p}"),
                ),
                _ => add(RiskLevel::Medium, text, "runs a named program".into()),
            }
        }
        factors.sort_by(|a, b| b.level.cmp(&a.level).then_with(|| a.grant.cmp(&b.grant)));
        RiskReport {
            level: factors.first().map_or(RiskLevel::None, |f| f.level),
            factors,
        }
    }
}
