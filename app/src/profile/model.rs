//! The loaded profile: controls with every default applied, every var substituted and every
//! expectation compiled, ready for the engine.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use reglet_domain::PluginName;
use serde::Serialize;

use super::config::ObservationConfig;
use super::error::{Location, Warning};
use super::plugin::PluginDeclaration;
use crate::expect::Expectation;

/// How bad a failing control is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// `low`.
    Low,
    /// `medium`.
    Medium,
    /// `high`.
    High,
    /// `critical`.
    Critical,
}

impl Severity {
    /// The spelling in profiles.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "low" => Ok(Severity::Low),
            "medium" => Ok(Severity::Medium),
            "high" => Ok(Severity::High),
            "critical" => Ok(Severity::Critical),
            _ => Err(format!(
                "{s:?} is not a severity; use low, medium, high or critical"
            )),
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the wait between retries grows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backoff {
    /// The same delay every time.
    #[default]
    None,
    /// `n × delay` before retry `n`.
    Linear,
    /// `2^(n-1) × delay` before retry `n`.
    Exponential,
}

impl FromStr for Backoff {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "none" => Ok(Backoff::None),
            "linear" => Ok(Backoff::Linear),
            "exponential" => Ok(Backoff::Exponential),
            _ => Err(format!(
                "{s:?} is not a backoff; use none, linear or exponential"
            )),
        }
    }
}

/// When and how often a control is tried again after a transient error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RetryPolicy {
    /// Retries after the first attempt; 0 means one attempt only.
    pub retries: u32,
    /// The base delay.
    pub delay: Duration,
    /// How the delay grows.
    pub backoff: Backoff,
    /// The longest single wait; `None` for no cap.
    pub max_delay: Option<Duration>,
}

impl Default for RetryPolicy {
    /// No retries; a 1 s delay, no backoff and no cap if retries are asked for without them.
    fn default() -> Self {
        RetryPolicy {
            retries: 0,
            delay: Duration::from_secs(1),
            backoff: Backoff::None,
            max_delay: None,
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (counted from 1), capped by `max_delay`.
    pub fn delay_before(&self, retry: u32) -> Duration {
        let n = retry.max(1);
        let wait = match self.backoff {
            Backoff::None => self.delay,
            Backoff::Linear => self.delay.saturating_mul(n),
            Backoff::Exponential => self
                .delay
                .saturating_mul(2u32.saturating_pow((n - 1).min(31))),
        };
        match self.max_delay {
            Some(cap) => wait.min(cap),
            None => wait,
        }
    }
}

/// The profile's own description.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProfileMetadata {
    /// `profile.name`.
    pub name: String,
    /// `profile.version`.
    pub version: String,
    /// `profile.description`, empty when absent.
    pub description: String,
}

/// One plugin call of a control and the expectations that judge its evidence.
#[derive(Debug, Clone)]
pub struct Observation {
    /// The plugin, by the name its declaration in `plugins:` gives it.
    pub plugin: PluginName,
    /// The config passed to the plugin, vars substituted, secrets still to be resolved.
    pub config: ObservationConfig,
    /// The compiled `expect` expressions; all must hold. Empty means the plugin's own status
    /// decides.
    pub expectations: Vec<Expectation>,
    /// Where the observation is written.
    pub location: Location,
}

/// A control with its defaults applied.
#[derive(Debug, Clone)]
pub struct Control {
    /// The unique id.
    pub id: String,
    /// The name, vars substituted.
    pub name: String,
    /// The description, vars substituted; empty when absent.
    pub description: String,
    /// The control's severity, or the default's.
    pub severity: Option<Severity>,
    /// The control's owner, or the default's.
    pub owner: Option<String>,
    /// The control's own tags, then the defaults' tags, without duplicates.
    pub tags: Vec<String>,
    /// Ids of the controls that must pass before this one runs.
    pub depends_on: Vec<String>,
    /// The control's timeout, or the default's; `None` when neither sets one.
    pub timeout: Option<Duration>,
    /// Retry settings, each from the control or else the defaults.
    pub retry: RetryPolicy,
    /// The observations, in profile order.
    pub observations: Vec<Observation>,
    /// Where the control is written (which file it came from, after `extends`).
    pub location: Location,
}

/// A profile loaded, merged with its parents and checked, ready to run.
#[derive(Debug, Clone)]
pub struct LoadedProfile {
    /// `profile:` after merging.
    pub metadata: ProfileMetadata,
    /// The file that was loaded.
    pub path: PathBuf,
    /// Every file read, parents first, the loaded one last.
    pub files: Vec<PathBuf>,
    /// The declared plugins, parents' first, duplicates removed.
    pub plugins: Vec<PluginDeclaration>,
    /// The merged vars.
    pub vars: serde_json::Map<String, serde_json::Value>,
    /// The controls in profile order (parents' first; an overridden control keeps its place).
    pub controls: Vec<Control>,
    /// Accepted oddities worth telling the user.
    pub warnings: Vec<Warning>,
}

impl LoadedProfile {
    /// The declaration of the plugin named `name`.
    pub fn plugin(&self, name: &PluginName) -> Option<&PluginDeclaration> {
        self.plugins.iter().find(|p| &p.name == name)
    }

    /// The control with this id.
    pub fn control(&self, id: &str) -> Option<&Control> {
        self.controls.iter().find(|c| c.id == id)
    }

    /// Every observation, with its control.
    pub fn observations(&self) -> impl Iterator<Item = (&Control, &Observation)> {
        self.controls
            .iter()
            .flat_map(|c| c.observations.iter().map(move |o| (c, o)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_grow_and_are_capped() {
        let policy = |backoff, max_delay| RetryPolicy {
            retries: 5,
            delay: Duration::from_secs(1),
            backoff,
            max_delay,
        };
        let secs = |p: RetryPolicy| {
            (1..=5)
                .map(|n| p.delay_before(n).as_secs())
                .collect::<Vec<_>>()
        };
        assert_eq!(secs(policy(Backoff::None, None)), [1, 1, 1, 1, 1]);
        assert_eq!(secs(policy(Backoff::Linear, None)), [1, 2, 3, 4, 5]);
        assert_eq!(secs(policy(Backoff::Exponential, None)), [1, 2, 4, 8, 16]);
        assert_eq!(
            secs(policy(Backoff::Exponential, Some(Duration::from_secs(5)))),
            [1, 2, 4, 5, 5]
        );
        let huge = policy(Backoff::Exponential, None).delay_before(u32::MAX);
        assert!(huge > Duration::from_secs(1 << 30));
    }

    #[test]
    fn severities_and_backoffs_parse() {
        assert_eq!("high".parse(), Ok(Severity::High));
        assert!(
            "info"
                .parse::<Severity>()
                .unwrap_err()
                .contains("low, medium")
        );
        assert_eq!("linear".parse(), Ok(Backoff::Linear));
        assert!("fibonacci".parse::<Backoff>().is_err());
        assert!(Severity::Critical > Severity::Low);
    }
}
