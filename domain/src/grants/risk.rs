//! How dangerous a grant set is, with a reason a person can read before saying yes.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::runners::is_code_runner;
use super::{
    EnvPattern, ExecGrant, ExecPattern, FsAccess, GrantSet, HostPattern, PortRange,
    is_hijack_variable,
};

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
        for grant in &self.exec {
            let (level, reason) = exec_risk(grant);
            add(level, format!("exec:{grant}"), reason);
        }
        for pattern in &self.exec_env {
            let text = format!("exec:env:{pattern}");
            match pattern {
                EnvPattern::Exact(name) if is_hijack_variable(name) => add(
                    RiskLevel::Critical,
                    text,
                    format!(
                        "the plugin may set {name}, which makes programs load or run code of its choosing"
                    ),
                ),
                EnvPattern::Exact(name) => add(
                    RiskLevel::Low,
                    text,
                    format!("the plugin may set {name} for the programs it runs"),
                ),
                _ => add(
                    RiskLevel::Medium,
                    text,
                    format!(
                        "the plugin may set any variable matching {pattern} for the programs it runs (except variables that load or run code, which need a grant naming them)"
                    ),
                ),
            }
        }
        factors.sort_by(|a, b| b.level.cmp(&a.level).then_with(|| a.grant.cmp(&b.grant)));
        RiskReport {
            level: factors.first().map_or(RiskLevel::None, |f| f.level),
            factors,
        }
    }
}

/// How risky one exec grant is. A glob over programs is critical whatever its arguments: a
/// directory of binaries holds shells, loaders and launchers. A named program is rated by what it
/// is and by how far its arguments are pinned.
fn exec_risk(grant: &ExecGrant) -> (RiskLevel, String) {
    let name = match (&grant.program, grant.program.program_name()) {
        (ExecPattern::Any, _) => {
            return (
                RiskLevel::Critical,
                "may run any program: arbitrary code execution".into(),
            );
        }
        (ExecPattern::Path(p), Some(name)) if p.is_literal() => name,
        (ExecPattern::Name(name), _) => name.as_str(),
        (program, _) => {
            return (
                RiskLevel::Critical,
                format!(
                    "may run every program matching {program}; a directory of binaries holds shells, loaders and programs that run other programs, so this is arbitrary code execution (grant each program by name and pin its arguments)"
                ),
            );
        }
    };
    let runner = is_code_runner(name);
    match &grant.args {
        None if runner => (
            RiskLevel::Critical,
            format!(
                "{name} runs other programs or code, so with free arguments it can run arbitrary code unless its arguments are pinned: exec:{}:ARGUMENTS",
                grant.program
            ),
        ),
        Some(args) if runner && !args.is_literal() => (
            RiskLevel::Critical,
            format!(
                "{name} runs other programs or code, and its arguments are not fixed ({args}): arbitrary code execution"
            ),
        ),
        Some(args) if runner => (
            RiskLevel::High,
            format!(
                "{name} runs other programs or code; its arguments are fixed ({args}), so it runs that one command line"
            ),
        ),
        None => (
            RiskLevel::High,
            format!(
                "a named program with free arguments can run arbitrary code unless its arguments are pinned (git -c alias.x='!cmd', tar --checkpoint-action=exec=cmd and sed's e command are examples); pin {name}'s: exec:{}:ARGUMENTS",
                grant.program
            ),
        ),
        Some(args) if args.has_free_tail() => (
            RiskLevel::High,
            format!(
                "{name} can run arbitrary code unless its arguments are pinned, and '**' in {args} leaves them free"
            ),
        ),
        Some(args) if !args.is_literal() => (
            RiskLevel::Medium,
            format!(
                "runs {name} with arguments matching {args}; check that no matching argument makes it run other code (a lone * matches options too, [!-]* does not)"
            ),
        ),
        Some(args) if args.to_string().is_empty() => {
            (RiskLevel::Low, format!("runs {name} with no arguments"))
        }
        Some(args) => (
            RiskLevel::Low,
            format!("runs one fixed command line: {name} {args}"),
        ),
    }
}
