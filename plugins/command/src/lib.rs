//! The `command` plugin: runs a program through the host's `exec_command` (directly, or a `run`
//! line through `/bin/sh -c`, which then needs the shell's grant) and reports its output with
//! Reglet's field names. The `timeout` reaches the host, which kills the command at it.

use reglet_plugin_sdk::host::{Context, ExecRequest};
use reglet_plugin_sdk::{Error, Evidence, Host, Plugin, Value, json, reglet_plugin};

/// Seconds a command may run when the config says nothing.
const DEFAULT_TIMEOUT_SECS: u64 = 30;

/// The plugin.
#[derive(Default)]
pub struct Command;

/// One command to run: `command` (+ `args`) or `run`.
#[derive(Debug, Default, serde::Deserialize, schemars::JsonSchema)]
// Exactly one of `command` and `run`, refused when the profile is checked rather than at run time.
#[schemars(extend("oneOf" = [{"required": ["command"]}, {"required": ["run"]}]))]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Program to run directly: an absolute path, or a name looked up in the host's search path.
    #[serde(default)]
    pub command: Option<String>,
    /// Its arguments.
    #[serde(default)]
    pub args: Vec<String>,
    /// A shell line run with `/bin/sh -c` instead of `command`.
    #[serde(default)]
    pub run: Option<String>,
    /// Working directory.
    #[serde(default)]
    pub dir: Option<String>,
    /// Environment as `KEY=value` (nothing is inherited).
    #[serde(default)]
    pub env: Vec<String>,
    /// Seconds before the host kills the command (default 30).
    #[serde(default)]
    pub timeout: Option<u64>,
}

impl Plugin for Command {
    type Config = Config;
    const NAME: &'static str = "command";
    const VERSION: &'static str = "2.0.0";
    const DESCRIPTION: &'static str = "Run a command and check its output and exit code";

    /// Any program and variable it may be asked to run with: what it is given is narrowed to the
    /// configured command line (`exec:/usr/bin/systemctl:is-active sshd`) when the grants are
    /// worked out from the profile, and the host's exec policy still applies.
    fn capabilities() -> Value {
        // `fs` read: a working directory (`dir`) must be readable, granted from the profile.
        json!({"exec": {"commands": ["*", "env:*"]}, "fs": {"rules": [{"read": ["**"]}]}})
    }

    fn observe(&self, config: Config, host: &dyn Host) -> Result<Evidence, Error> {
        let mut evidence = Evidence::new();
        let (command, args) = match (config.command, config.run) {
            (Some(_), Some(_)) => {
                return Err(Error::config("run", "set either command or run, not both"));
            }
            (None, None) => return Err(Error::config("command", "command or run is required")),
            (Some(command), None) => {
                if command.is_empty() {
                    return Err(Error::config("command", "command is empty"));
                }
                evidence.set("exec_mode", "direct");
                evidence.set("command_path", command.clone());
                evidence.set("command_args", config.args.clone());
                (command, config.args)
            }
            (None, Some(run)) => {
                if !config.args.is_empty() {
                    return Err(Error::config("args", "args go with command, not run"));
                }
                evidence.set("exec_mode", "shell");
                evidence.set("shell_command", run.clone());
                ("/bin/sh".to_owned(), vec!["-c".to_owned(), run])
            }
        };
        let timeout = config.timeout.unwrap_or(DEFAULT_TIMEOUT_SECS);
        let answer = host.exec_command(&ExecRequest {
            context: Context {
                timeout_ms: timeout.saturating_mul(1000),
            },
            command,
            args,
            dir: config.dir,
            env: config.env,
        })?;
        evidence.set("stdout", answer.stdout);
        evidence.set("stderr", answer.stderr);
        evidence.set("exit_code", answer.exit_code);
        evidence.set("duration_ms", answer.duration_ms);
        evidence.set("is_timeout", answer.is_timeout);
        Ok(match answer.exit_code {
            0 if !answer.is_timeout => evidence,
            _ if answer.is_timeout => evidence.failed(format!("timed out after {timeout} s")),
            code => evidence.failed(format!("exit code {code}")),
        })
    }
}

reglet_plugin!(Command);

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use reglet_plugin_sdk::host::{ExecRequest, ExecResponse};
    use reglet_plugin_sdk::{Error, ErrorType, Host, Plugin, json};

    use super::{Command, Config};

    struct FakeHost {
        answer: Result<ExecResponse, Error>,
        asked: RefCell<Vec<ExecRequest>>,
    }

    impl FakeHost {
        fn answering(exit_code: i32, stdout: &str) -> Self {
            FakeHost {
                answer: Ok(ExecResponse {
                    stdout: stdout.into(),
                    exit_code,
                    duration_ms: 3,
                    ..ExecResponse::default()
                }),
                asked: RefCell::default(),
            }
        }
    }

    impl Host for FakeHost {
        fn exec_command(&self, request: &ExecRequest) -> Result<ExecResponse, Error> {
            self.asked.borrow_mut().push(request.clone());
            self.answer.clone()
        }
    }

    #[test]
    fn direct_commands_carry_args_dir_env_and_timeout_to_the_host() {
        let host = FakeHost::answering(0, "active\n");
        let config = Config {
            command: Some("/usr/bin/systemctl".into()),
            args: vec!["is-active".into(), "sshd".into()],
            dir: Some("/".into()),
            env: vec!["LANG=C".into()],
            timeout: Some(5),
            ..Config::default()
        };
        let ev = Command.observe(config, &host).unwrap();
        assert_eq!(ev.failure, None);
        assert_eq!(ev.get("stdout"), Some(&json!("active\n")));
        assert_eq!(ev.get("exec_mode"), Some(&json!("direct")));
        assert_eq!(ev.get("command_args"), Some(&json!(["is-active", "sshd"])));
        let asked = host.asked.borrow();
        assert_eq!(asked[0].command, "/usr/bin/systemctl");
        assert_eq!(asked[0].dir.as_deref(), Some("/"));
        assert_eq!(asked[0].env, ["LANG=C"]);
        assert_eq!(asked[0].context.timeout_ms, 5000);
    }

    #[test]
    fn run_goes_through_sh_and_nonzero_exits_fail() {
        let host = FakeHost::answering(3, "");
        let config = Config {
            run: Some("exit 3".into()),
            ..Config::default()
        };
        let ev = Command.observe(config, &host).unwrap();
        assert_eq!(ev.failure.as_deref(), Some("exit code 3"));
        assert_eq!(ev.get("shell_command"), Some(&json!("exit 3")));
        let asked = host.asked.borrow();
        assert_eq!(
            (asked[0].command.as_str(), asked[0].args.as_slice()),
            ("/bin/sh", &["-c".to_owned(), "exit 3".to_owned()][..])
        );
        assert_eq!(asked[0].context.timeout_ms, 30_000, "the default timeout");
    }

    #[test]
    fn bad_configs_and_refusals_are_errors() {
        let host = FakeHost {
            answer: Err(Error::new(ErrorType::Capability, "denied")),
            asked: RefCell::default(),
        };
        for config in [
            Config::default(),
            Config {
                command: Some("/bin/true".into()),
                run: Some("true".into()),
                ..Config::default()
            },
            Config {
                run: Some("true".into()),
                args: vec!["x".into()],
                ..Config::default()
            },
        ] {
            assert_eq!(
                Command.observe(config, &host).unwrap_err().kind,
                ErrorType::Config
            );
        }
        assert!(host.asked.borrow().is_empty());
        let config = Config {
            command: Some("/bin/true".into()),
            ..Config::default()
        };
        assert_eq!(
            Command.observe(config, &host).unwrap_err().kind,
            ErrorType::Capability
        );
    }
}
