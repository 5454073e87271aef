//! Running programs for the `exec_command` host function.

use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;

/// A program to run directly (never through a shell).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandRequest {
    /// Absolute path of the program (already resolved and checked against grants).
    pub program: PathBuf,
    /// Arguments, not including the program itself.
    pub args: Vec<String>,
    /// Working directory (already checked), or `None` for `/`.
    pub dir: Option<PathBuf>,
    /// The complete environment; nothing is inherited from the host.
    pub env: Vec<(String, String)>,
    /// Wall-clock limit; the process and its children are killed when it passes.
    pub timeout: Duration,
    /// Bytes kept of each of stdout and stderr.
    pub max_output_bytes: usize,
}

/// What a finished (or killed) program produced.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CommandOutput {
    /// Standard output, at most `max_output_bytes`.
    pub stdout: Vec<u8>,
    /// Standard error, at most `max_output_bytes`.
    pub stderr: Vec<u8>,
    /// True when stdout was cut.
    pub stdout_truncated: bool,
    /// True when stderr was cut.
    pub stderr_truncated: bool,
    /// Exit code; `None` when the process was killed by a signal.
    pub exit_code: Option<i32>,
    /// True when the timeout killed the process.
    pub timed_out: bool,
    /// Wall-clock time taken.
    pub elapsed: Duration,
}

/// The program could not be started.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ExecError(pub String);

/// Runs programs.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait CommandRunner: Send + Sync {
    /// Runs the program to completion or timeout.
    async fn run(&self, request: CommandRequest) -> Result<CommandOutput, ExecError>;
}
