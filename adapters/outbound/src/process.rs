//! `CommandRunner` over the OS: the program runs in its own process group with a closed stdin,
//! its output is read concurrently up to the cap (and drained beyond it, so it never blocks), and
//! the whole group is killed when the time is up or the caller goes away.

use std::process::Stdio;
use std::sync::Arc;

use parking_lot::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use reglet_ports::{CommandOutput, CommandRequest, CommandRunner, ExecError};
use tokio::io::{AsyncRead, AsyncReadExt};

/// Runs programs with tokio.
pub struct ProcessRunner;

/// Kills a process group when dropped, unless told it is already gone.
struct GroupGuard(Option<u32>);

impl GroupGuard {
    fn kill(&mut self) {
        if let Some(pid) = self.0.take()
            && let Some(pid) = rustix::process::Pid::from_raw(pid as i32)
        {
            // The group may already be empty; there is nothing to do then.
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        self.kill();
    }
}

/// What one output stream produced so far.
#[derive(Default)]
struct Captured {
    kept: Vec<u8>,
    truncated: bool,
}

/// How long output is still read once the program has exited and its group is killed: a
/// descendant that left the group (`setsid`) may hold the pipe open forever.
const DRAIN_GRACE: Duration = Duration::from_millis(500);

/// Reads everything into `into`, keeping at most `max` bytes.
async fn read_capped<R: AsyncRead + Unpin>(mut reader: R, max: usize, into: Arc<Mutex<Captured>>) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match reader.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let mut captured = into.lock();
                let room = max.saturating_sub(captured.kept.len());
                captured.kept.extend_from_slice(&buf[..n.min(room)]);
                captured.truncated |= n > room;
            }
        }
    }
}

/// Starts reading `reader` in the background; returns where the output goes and the task.
fn capture<R: AsyncRead + Unpin + Send + 'static>(
    reader: R,
    max: usize,
) -> (Arc<Mutex<Captured>>, tokio::task::JoinHandle<()>) {
    let captured = Arc::new(Mutex::new(Captured::default()));
    let task = tokio::spawn(read_capped(reader, max, captured.clone()));
    (captured, task)
}

/// Waits for a capture to reach end of file, at most until `until`, and takes what it got.
async fn finish(
    (captured, mut task): (Arc<Mutex<Captured>>, tokio::task::JoinHandle<()>),
    until: tokio::time::Instant,
) -> (Vec<u8>, bool) {
    if tokio::time::timeout_at(until, &mut task).await.is_err() {
        task.abort();
        tracing::debug!("a command's descendant kept its output open; stopped reading");
    }
    let mut captured = captured.lock();
    (std::mem::take(&mut captured.kept), captured.truncated)
}

#[async_trait]
impl CommandRunner for ProcessRunner {
    async fn run(&self, request: CommandRequest) -> Result<CommandOutput, ExecError> {
        let started = Instant::now();
        let mut command = tokio::process::Command::new(&request.program);
        command
            .args(&request.args)
            .env_clear()
            .envs(request.env.iter().map(|(k, v)| (k, v)))
            .current_dir(request.dir.as_deref().unwrap_or(std::path::Path::new("/")))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let mut child = command
            .spawn()
            .map_err(|e| ExecError(format!("{}: {e}", request.program.display())))?;
        let mut group = GroupGuard(child.id());
        let max = request.max_output_bytes;
        let stdout = capture(child.stdout.take().expect("piped"), max);
        let stderr = capture(child.stderr.take().expect("piped"), max);
        let (status, timed_out) = match tokio::time::timeout(request.timeout, child.wait()).await {
            Ok(status) => (status.ok(), false),
            Err(_) => {
                group.kill();
                (child.wait().await.ok(), true)
            }
        };
        // Whatever the program left running in its group goes too, so its pipes close.
        group.kill();
        let until = tokio::time::Instant::now() + DRAIN_GRACE;
        let (stdout, stdout_truncated) = finish(stdout, until).await;
        let (stderr, stderr_truncated) = finish(stderr, until).await;
        Ok(CommandOutput {
            stdout,
            stderr,
            stdout_truncated,
            stderr_truncated,
            exit_code: status.and_then(|s| s.code()),
            timed_out,
            elapsed: started.elapsed(),
        })
    }
}
