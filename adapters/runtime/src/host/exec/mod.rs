//! `exec_command`: runs a program the grants allow, directly and never through a shell, with the
//! arguments, working directory and environment [`policy::vet`] accepted, under a timeout that
//! kills the whole process group.

mod policy;

use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::time::Instant;

use reglet_domain::{ErrorDetail, ErrorType};
use reglet_ports::CommandRequest;
use serde_json::{Value, json};

use super::Call;
use super::requests::{CallError, ExecRequest, call_context, earliest, fail, parse};
use crate::wasi::Errno;
use crate::wasi::fs::resolve::{DirHandle, Resolved, resolve_absolute};
use crate::wasi::sandbox::Access;
use policy::{Ask, Rejection};

pub(crate) async fn exec_command(call: Call, bytes: Vec<u8>) -> Result<Value, CallError> {
    let decoded = parse::<ExecRequest>(&bytes).and_then(|request| {
        let context = call_context(&request.context)?;
        Ok((
            request.command,
            request.args,
            Some(request.dir).filter(|d| !d.is_empty()),
            request.env,
            context,
        ))
    });
    let (command, args, dir, env, context) = match decoded {
        Ok(d) => d,
        Err(e) => return Err(e.into()),
    };
    if context.canceled {
        return fail(
            ErrorDetail::new(ErrorType::Timeout, "the plugin cancelled the command").timed_out(),
        );
    }
    let ask = Ask {
        command: &command,
        args: &args,
        dir: dir.as_deref(),
        env: &env,
    };
    let vetted = match policy::vet(&call.plugin.grants, &ask) {
        Ok(vetted) => vetted,
        Err(Rejection::Invalid(error)) => return fail(*error),
        Err(Rejection::Refused(error)) => {
            return Err(CallError::refused(*error));
        }
    };
    // The working directory is opened through the sandbox and the child enters that very handle
    // (`/proc/self/fd/N`), so the directory checked is the directory used: a link swapped in
    // after the check is never followed.
    let dir_handle = match vetted.dir.as_deref().map(|d| open_dir(&call, d)) {
        None => None,
        Some(Ok(handle)) => Some(handle),
        Some(Err(rejection)) => {
            return match rejection {
                Rejection::Invalid(error) => fail(*error),
                Rejection::Refused(error) => Err(CallError::refused(*error)),
            };
        }
    };
    let program = vetted.program.display().to_string();
    let limits = call.services().limits;
    let deadline = earliest([
        Some(call.deadline),
        context.deadline,
        Some(Instant::now() + limits.exec_timeout),
    ]);
    call.allowed(&format!("{program} {}", args.join(" ")));
    let request = CommandRequest {
        program: vetted.program,
        args,
        dir: dir_handle
            .as_ref()
            .map(|h| PathBuf::from(format!("/proc/self/fd/{}", h.fd().as_raw_fd()))),
        env: vetted.env,
        timeout: deadline.saturating_duration_since(Instant::now()),
        max_output_bytes: limits.exec_max_output_bytes,
    };
    let ran = call.services().commands.run(request).await;
    drop(dir_handle);
    match ran {
        Ok(out) => {
            let mut doc = json!({
                "stdout": String::from_utf8_lossy(&out.stdout),
                "stderr": String::from_utf8_lossy(&out.stderr),
                "exit_code": out.exit_code.unwrap_or(-1),
                "duration_ms": out.elapsed.as_millis() as u64,
            });
            if out.timed_out {
                doc["is_timeout"] = json!(true);
                doc["error"] = serde_json::to_value(
                    ErrorDetail::new(
                        ErrorType::Timeout,
                        format!("{program} did not finish in time and was killed"),
                    )
                    .timed_out()
                    .with_code("ETIMEDOUT"),
                )
                .expect("errors serialise");
            }
            if out.stdout_truncated {
                doc["stdout_truncated"] = json!(true);
            }
            if out.stderr_truncated {
                doc["stderr_truncated"] = json!(true);
            }
            Ok(doc)
        }
        Err(e) => fail(ErrorDetail::new(
            ErrorType::Execution,
            format!("cannot run {program}: {e}"),
        )),
    }
}

/// Opens the working directory `dir` (absolute, normal) through the plugin's sandbox: walked
/// from a mount, every hop checked, and readable under the fs grants.
fn open_dir(call: &Call, dir: &std::path::Path) -> Result<DirHandle, Rejection> {
    let text = dir.to_str().unwrap_or_default();
    let invalid = |why: &str| {
        Rejection::Invalid(Box::new(
            ErrorDetail::new(ErrorType::Config, format!("dir {text}: {why}")).with_code("dir"),
        ))
    };
    match resolve_absolute(&call.plugin.sandbox, text, true, Access::Read) {
        Ok(Resolved::Dir(handle)) => Ok(handle),
        Ok(Resolved::Entry { .. }) | Err(Errno::Notdir) => Err(invalid("not a directory")),
        Err(Errno::Noent) => Err(invalid("no such directory")),
        Err(Errno::Acces | Errno::Notcapable | Errno::Loop) => Err(Rejection::Refused(Box::new(
            crate::host::network::capability_denied(&reglet_domain::AccessRequest::ReadFile(dir)),
        ))),
        Err(errno) => Err(invalid(&format!("cannot be opened ({errno:?})"))),
    }
}
