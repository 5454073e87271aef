//! `exec_command`: runs a granted program directly, never through a shell unless a grant names
//! that shell, in a checked working directory, with only the environment the request gives (minus
//! the variables that hijack loaders and interpreters), under a timeout that kills the whole
//! process group.

use std::path::{Path, PathBuf};
use std::time::Instant;

use reglet_domain::grants::{is_code_runner, normalize_path};
use reglet_domain::{AccessRequest, ErrorDetail, ErrorType};
use reglet_ports::CommandRequest;
use serde_json::{Value, json};

use super::Call;
use super::network::capability_denied;
use super::requests::{
    Fields, bad_request, base_for, call_context, earliest, error_document, parse,
};

const FUNCTION: &str = "exec_command";

/// Where a bare program name is looked for: a fixed list, never the host's own `PATH`.
const SEARCH_PATH: &[&str] = &[
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];

/// Environment variables that make a dynamic loader, a shell or an interpreter run code the
/// command did not ask for. A request that sets one is refused.
fn hijacks(name: &str) -> bool {
    const EXACT: &[&str] = &[
        "IFS",
        "LOCPATH",
        "GCONV_PATH",
        "NLSPATH",
        "HOSTALIASES",
        "RESOLV_HOST_CONF",
        "GLIBC_TUNABLES",
        "BASH_ENV",
        "ENV",
        "SHELLOPTS",
        "BASHOPTS",
        "PS4",
        "PROMPT_COMMAND",
        "CDPATH",
        "PERL5OPT",
        "PERL5LIB",
        "PERLLIB",
        "PERL5DB",
        "PYTHONPATH",
        "PYTHONSTARTUP",
        "PYTHONHOME",
        "PYTHONINSPECT",
        "PYTHONUSERBASE",
        "NODE_OPTIONS",
        "NODE_PATH",
        "RUBYOPT",
        "RUBYLIB",
        "LUA_PATH",
        "LUA_CPATH",
        "LUA_INIT",
        "JAVA_TOOL_OPTIONS",
        "_JAVA_OPTIONS",
        "JDK_JAVA_OPTIONS",
        "LIBPATH",
        "SHLIB_PATH",
        "TCLLIBPATH",
        "GIT_SSH",
        "GIT_SSH_COMMAND",
        "GIT_EXEC_PATH",
        "GIT_CONFIG_GLOBAL",
        "EDITOR",
        "VISUAL",
        "PAGER",
        "LESSOPEN",
        "LESSCLOSE",
    ];
    const PREFIXES: &[&str] = &[
        "LD_",
        "DYLD_",
        "_RLD",
        "BASH_FUNC_",
        "MALLOC_",
        "GIT_CONFIG_",
    ];
    EXACT.contains(&name) || PREFIXES.iter().any(|p| name.starts_with(p))
}

/// The absolute program a request names: absolute paths are normalised, bare names are looked up
/// in [`SEARCH_PATH`].
fn resolve_program(command: &str) -> Option<String> {
    if command.starts_with('/') {
        return normalize_path(command);
    }
    if command.contains('/') {
        return None;
    }
    SEARCH_PATH
        .iter()
        .map(|dir| format!("{dir}/{command}"))
        .find(|path| Path::new(path).is_file())
}

pub(crate) async fn exec_command(call: Call, bytes: Vec<u8>) -> Value {
    let base = base_for(FUNCTION);
    let decoded = parse(&bytes).and_then(|map| {
        let fields = Fields(&map);
        Ok((
            fields.string("command")?.unwrap_or_default(),
            fields.strings("args")?,
            fields.string("dir")?.filter(|d| !d.is_empty()),
            fields.strings("env")?,
            call_context(&fields)?,
        ))
    });
    let (command, args, dir, env, context) = match decoded {
        Ok(d) => d,
        Err(e) => return bad_request(base, &e),
    };
    if context.canceled {
        return error_document(
            base,
            ErrorDetail::new(ErrorType::Timeout, "the plugin cancelled the command").timed_out(),
        );
    }
    if command.is_empty() {
        return error_document(
            base,
            ErrorDetail::new(ErrorType::Config, "command is required").with_code("command"),
        );
    }
    let refuse = |error: ErrorDetail| {
        call.refused(FUNCTION, &error);
        error_document(base_for(FUNCTION), error)
    };
    let Some(program) = resolve_program(&command) else {
        return error_document(
            base,
            ErrorDetail::new(
                ErrorType::Execution,
                format!(
                    "command not found: {command} (bare names are looked up in {})",
                    SEARCH_PATH.join(":")
                ),
            ),
        );
    };
    let grants = &call.plugin.grants;
    let granted = grants.allows(&AccessRequest::Exec(&command))
        || grants.allows(&AccessRequest::Exec(&program));
    if !granted {
        return refuse(capability_denied(&AccessRequest::Exec(&program)));
    }
    let name = program.rsplit('/').next().unwrap_or_default();
    if is_code_runner(name) && !(grants.names_command(&command) || grants.names_command(&program)) {
        return refuse(ErrorDetail::new(
            ErrorType::Capability,
            format!(
                "permission denied: {name} runs arbitrary code, so it needs a grant that names it (exec:{program}); a wildcard is not enough"
            ),
        ));
    }
    let dir = match dir {
        Some(dir) => {
            let Some(normal) = normalize_path(&dir) else {
                return error_document(
                    base,
                    ErrorDetail::new(
                        ErrorType::Config,
                        format!("dir {dir:?} must be an absolute path"),
                    )
                    .with_code("dir"),
                );
            };
            if !grants.allows(&AccessRequest::ReadFile(Path::new(&normal))) {
                return refuse(capability_denied(&AccessRequest::ReadFile(Path::new(
                    &normal,
                ))));
            }
            Some(PathBuf::from(normal))
        }
        None => None,
    };
    let mut environment = Vec::with_capacity(env.len());
    for entry in env {
        let Some((key, value)) = entry.split_once('=') else {
            return error_document(
                base,
                ErrorDetail::new(
                    ErrorType::Config,
                    format!("env entry {entry:?} is not KEY=VALUE"),
                )
                .with_code("env"),
            );
        };
        if key.is_empty() || hijacks(key) {
            return refuse(ErrorDetail::new(
                ErrorType::Capability,
                format!(
                    "permission denied: the environment variable {key} can make {name} run other code, so commands may not set it"
                ),
            ));
        }
        environment.push((key.to_owned(), value.to_owned()));
    }
    let limits = call.services().limits;
    let deadline = earliest([
        Some(call.deadline),
        context.deadline,
        Some(Instant::now() + limits.exec_timeout),
    ]);
    call.allowed(FUNCTION, &format!("{program} {}", args.join(" ")));
    let request = CommandRequest {
        program: PathBuf::from(&program),
        args,
        dir,
        env: environment,
        timeout: deadline.saturating_duration_since(Instant::now()),
        max_output_bytes: limits.exec_max_output_bytes,
    };
    match call.services().commands.run(request).await {
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
            doc
        }
        Err(e) => error_document(
            base,
            ErrorDetail::new(ErrorType::Execution, format!("cannot run {program}: {e}")),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hijacking_variables() {
        for name in [
            "LD_PRELOAD",
            "LD_LIBRARY_PATH",
            "DYLD_INSERT_LIBRARIES",
            "BASH_ENV",
            "BASH_FUNC_x%%",
            "GLIBC_TUNABLES",
            "PYTHONPATH",
            "NODE_OPTIONS",
            "IFS",
        ] {
            assert!(hijacks(name), "{name}");
        }
        for name in ["PATH", "HOME", "LANG", "TZ", "MY_LD_FLAG"] {
            assert!(!hijacks(name), "{name}");
        }
    }

    #[test]
    fn programs_resolve_without_the_host_path() {
        assert_eq!(
            resolve_program("/usr/bin/../bin/env").as_deref(),
            Some("/usr/bin/env")
        );
        assert!(resolve_program("sh").is_some_and(|p| p.ends_with("/sh")));
        assert_eq!(resolve_program("./local"), None);
        assert_eq!(resolve_program("no-such-program-anywhere"), None);
    }
}
