//! Which command a plugin may run, where, and with what environment: the exec policy, apart
//! from the I/O.
//!
//! [`vet`] checks a request in this order and stops at the first problem:
//!
//! 1. The program: an absolute path is normalised; a bare name is looked up in [`SEARCH_PATH`],
//!    never the host's `PATH`.
//! 2. The grants must allow the program with these arguments (`exec:<program>` for any,
//!    `exec:<program>:<pattern>` for matching ones).
//! 3. A glob over programs reaches only programs on the allowlist of programs that run no other
//!    program ([`runs_no_other_program`]), judged by the name the plugin used, the resolved path's
//!    name and the name of the file it links to. Any other program needs a grant that names it
//!    and allows these arguments. A program reached by a glob or by a bare name must be one that
//!    only root could have put there.
//! 4. A working directory must be absolute and readable under an `fs:read` grant.
//! 5. The environment is an allowlist. `PATH` is [`SEARCH_PATH`]; `LANG`, `LC_*` and `TZ` pass
//!    with plain values; any other variable needs an `exec:env:` grant, and a variable that makes
//!    programs load or run code needs one that names it exactly. Nothing is dropped silently:
//!    a variable that may not be set refuses the whole request.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use reglet_domain::grants::{
    EnvPattern, is_code_runner, is_hijack_variable, normalize_path, runs_no_other_program,
};
use reglet_domain::{AccessRequest, ErrorDetail, ErrorType, GrantSet};

use crate::host::network::capability_denied;

/// Where a bare program name is looked up, and the `PATH` every command gets.
pub(crate) const SEARCH_PATH: &[&str] = &[
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];

/// What a plugin asked to run.
pub(crate) struct Ask<'a> {
    /// The program as the plugin wrote it.
    pub(crate) command: &'a str,
    /// Its arguments.
    pub(crate) args: &'a [String],
    /// The working directory, if any.
    pub(crate) dir: Option<&'a str>,
    /// `KEY=VALUE` entries.
    pub(crate) env: &'a [String],
}

/// A command the grants allow, ready to run.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Vetted {
    /// The absolute program.
    pub(crate) program: PathBuf,
    /// The working directory (`/` when `None`).
    pub(crate) dir: Option<PathBuf>,
    /// The whole environment, sorted by name.
    pub(crate) env: Vec<(String, String)>,
}

/// Why a command may not run.
#[derive(Debug)]
pub(crate) enum Rejection {
    /// The grants do not allow it (logged as a refusal).
    Refused(Box<ErrorDetail>),
    /// The request cannot be carried out as written.
    Invalid(Box<ErrorDetail>),
}

/// Checks a request against the plugin's grants; see the module documentation.
pub(crate) fn vet(grants: &GrantSet, ask: &Ask<'_>) -> Result<Vetted, Rejection> {
    let (command, args) = (ask.command, ask.args);
    if command.is_empty() {
        return Err(invalid("command", "command is required"));
    }
    let program = resolve_program(command).ok_or_else(|| {
        Rejection::Invalid(Box::new(ErrorDetail::new(
            ErrorType::Execution,
            format!(
                "command not found: {command} (bare names are looked up in {})",
                SEARCH_PATH.join(":")
            ),
        )))
    })?;
    let allows = |c: &str| grants.allows(&AccessRequest::Exec { command: c, args });
    if !(allows(command) || allows(&program)) {
        return Err(not_granted(grants, command, &program, args));
    }
    let named = grants.names_command(command, args) || grants.names_command(&program, args);
    // A bare name means whatever the search path holds under it, so like a program reached by a
    // wildcard it must be one that root alone could have put there, even when a grant names it.
    let bare = !command.starts_with('/');
    if bare || !named {
        // The file the program is, links resolved; both checks below judge this one resolution.
        let resolved = std::fs::canonicalize(&program)
            .ok()
            .and_then(|p| p.to_str().map(str::to_owned));
        if !named && let Some(why) = beyond_a_glob(command, &program, resolved.as_deref()) {
            return Err(refused(format!(
                "permission denied: {why}, so it needs a grant that names it and allows these arguments (exec:{program}:ARGUMENTS); a wildcard is not enough"
            )));
        }
        if let Err(why) = root_controlled(&program, resolved.as_deref()) {
            return Err(refused(if named {
                format!(
                    "permission denied: {command} is found as {program}, but {why}, so someone other than root could have put it there; name the program by its absolute path"
                )
            } else {
                format!(
                    "permission denied: {program} is reached only by a wildcard and {why}, so someone other than root could put another program under its name; grant it by name (exec:{program})"
                )
            }));
        }
    }
    let dir = match ask.dir {
        None => None,
        Some(dir) => {
            let normal = normalize_path(dir)
                .ok_or_else(|| invalid("dir", format!("dir {dir:?} must be an absolute path")))?;
            let request = AccessRequest::ReadFile(Path::new(&normal));
            if !grants.allows(&request) {
                return Err(Rejection::Refused(Box::new(capability_denied(&request))));
            }
            Some(PathBuf::from(normal))
        }
    };
    let name = program.rsplit('/').next().unwrap_or_default();
    Ok(Vetted {
        env: environment(grants, name, ask.env)?,
        program: PathBuf::from(program),
        dir,
    })
}

/// The absolute program a request names: absolute paths are normalised, bare names are looked up
/// in [`SEARCH_PATH`].
pub(crate) fn resolve_program(command: &str) -> Option<String> {
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

/// Why a program only a glob allows may not run, or `None` when it is on the allowlist. The name
/// the plugin used, the resolved path's name and the name of the file it links to must all be on
/// the list, so a link named `id` to bash is bash.
fn beyond_a_glob(command: &str, program: &str, resolved: Option<&str>) -> Option<String> {
    let file_name = |path: &str| path.rsplit('/').next().unwrap_or_default().to_owned();
    let own = file_name(program);
    let target = resolved.map_or_else(|| own.clone(), file_name);
    let names = [file_name(command), own.clone(), target.clone()];
    if names.iter().all(|n| runs_no_other_program(n)) {
        return None;
    }
    // Name the program by what disqualifies it: its own name, or else the file it links to.
    let what = if target == own || !runs_no_other_program(&own) {
        own
    } else {
        format!("{own} (a link to {target})")
    };
    Some(if names.iter().any(|n| is_code_runner(n)) {
        format!("{what} runs other programs or code")
    } else {
        format!(
            "{what} is not on the list of programs a wildcard may reach (programs that run no other program)"
        )
    })
}

/// Checks that only root can change what `program` is: the file, every directory on its path and
/// every link on the way (as written and resolved) are owned by root, and no file or directory
/// there is writable by group or others. Otherwise a swap between this check and the exec could
/// run another file under an allowlisted name.
fn root_controlled(program: &str, resolved: Option<&str>) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let resolved = resolved.ok_or_else(|| format!("{program} cannot be resolved"))?;
    for path in [program, resolved] {
        let mut prefix = String::new();
        let parts = std::iter::once("").chain(path.split('/').filter(|c| !c.is_empty()));
        for part in parts {
            if !prefix.ends_with('/') {
                prefix.push('/');
            }
            prefix.push_str(part);
            let meta = std::fs::symlink_metadata(&prefix)
                .map_err(|e| format!("{prefix} cannot be examined ({e})"))?;
            if meta.uid() != 0 {
                return Err(format!("{prefix} is not owned by root"));
            }
            if !meta.file_type().is_symlink() && meta.mode() & 0o022 != 0 {
                return Err(format!("{prefix} is writable by group or others"));
            }
        }
    }
    Ok(())
}

/// The refusal for a program no grant allows with these arguments. It names the exact grant
/// that would, and the pinned grants the program has if that is why.
fn not_granted(grants: &GrantSet, command: &str, program: &str, args: &[String]) -> Rejection {
    let pinned: Vec<String> = grants
        .exec_grants()
        .filter(|g| g.program.matches(command) || g.program.matches(program))
        .map(|g| format!("exec:{g}"))
        .collect();
    let exact = AccessRequest::Exec {
        command: program,
        args,
    };
    refused(if pinned.is_empty() {
        format!(
            "permission denied: capability denied: {exact} (exec:{program} would allow any arguments, which lets most programs run arbitrary code)"
        )
    } else {
        format!(
            "permission denied: capability denied: {exact}; the grants for {program} pin its arguments: {}",
            pinned.join(", ")
        )
    })
}

/// The child's whole environment: the fixed `PATH`, then each requested variable that may be set.
fn environment(
    grants: &GrantSet,
    program: &str,
    entries: &[String],
) -> Result<Vec<(String, String)>, Rejection> {
    let mut env = BTreeMap::from([("PATH".to_owned(), SEARCH_PATH.join(":"))]);
    for entry in entries {
        let Some((key, value)) = entry.split_once('=').filter(|(k, _)| !k.is_empty()) else {
            return Err(invalid(
                "env",
                format!("env entry {entry:?} is not KEY=VALUE"),
            ));
        };
        if entry.contains('\0') {
            return Err(invalid("env", format!("env entry {key} holds a NUL byte")));
        }
        check_variable(grants, program, key, value).map_err(refused)?;
        env.insert(key.to_owned(), value.to_owned());
    }
    Ok(env.into_iter().collect())
}

/// Whether `key=value` may be in the environment of `program`; the refusal's message if not.
fn check_variable(grants: &GrantSet, program: &str, key: &str, value: &str) -> Result<(), String> {
    let named = grants
        .exec_env_patterns()
        .any(|p| matches!(p, EnvPattern::Exact(name) if name == key));
    if let Some(kind) = locale_kind(key) {
        let plain = match kind {
            "time zone" => plain_zone(value),
            _ => plain_locale(value),
        };
        return match plain || named {
            true => Ok(()),
            false => Err(format!(
                "permission denied: {key}={value:?} is not a plain {kind}; a path there makes the C library read a file the plugin chose, so only a grant naming it (exec:env:{key}) allows any value"
            )),
        };
    }
    if grants.allows(&AccessRequest::ExecEnv(key)) {
        return Ok(());
    }
    if is_hijack_variable(key) {
        return Err(format!(
            "permission denied: {key} can make {program} load or run other code, so only a grant naming it exactly allows it: exec:env:{key} (no pattern such as exec:env:* does)"
        ));
    }
    Err(format!(
        "permission denied: capability denied: exec:env:{key} (a command's environment holds only PATH, LANG, LC_* and TZ unless a grant names more)"
    ))
}

/// `LANG`, `LC_*` and `TZ`, which every command may be given with plain values.
fn locale_kind(key: &str) -> Option<&'static str> {
    match key {
        "TZ" => Some("time zone"),
        "LANG" => Some("locale name"),
        _ if key.starts_with("LC_") => Some("locale name"),
        _ => None,
    }
}

/// A locale name such as `C`, `C.UTF-8` or `de_DE.UTF-8@euro`: never a path.
fn plain_locale(value: &str) -> bool {
    value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-'))
}

/// A zone name (`Europe/Berlin`, `:UTC`) or a POSIX rule (`CET-1CEST,M3.5.0,M10.5.0/3`): never an
/// absolute path and never one that climbs.
fn plain_zone(value: &str) -> bool {
    value.chars().all(|c| {
        c.is_ascii_alphanumeric()
            || matches!(c, '.' | '_' | '+' | '-' | ':' | '/' | ',' | '<' | '>')
    }) && !value.contains("..")
        && !value.trim_start_matches(':').starts_with('/')
}

fn refused(message: String) -> Rejection {
    Rejection::Refused(Box::new(ErrorDetail::new(ErrorType::Capability, message)))
}

fn invalid(field: &str, message: impl Into<String>) -> Rejection {
    Rejection::Invalid(Box::new(
        ErrorDetail::new(ErrorType::Config, message).with_code(field),
    ))
}

#[cfg(test)]
mod tests;
