//! `file_stat` (a reglet-rs extension of `reglet_host`): a path's real mode, owner, group, size
//! and modification time, which WASI preview 1 cannot express.
//!
//! The path goes through the same resolver as the plugin's own WASI calls: walked from a mount
//! one component at a time, symlinks followed only here and each hop checked, and the final
//! object must be readable under the plugin's fs grants. A path the grants do not cover is
//! refused before anything is looked up, so its existence is not revealed.

use rustix::fs::{AtFlags, FileType, fstat, statat};
use serde_json::{Value, json};

use reglet_domain::{ErrorDetail, ErrorType};

use super::Call;
use super::requests::{CallError, FileStatRequest, fail, parse};
use crate::wasi::Errno;
use crate::wasi::fs::resolve::{Resolved, resolve_absolute};
use crate::wasi::sandbox::Access;

pub(crate) async fn file_stat(call: Call, bytes: Vec<u8>) -> Result<Value, CallError> {
    let FileStatRequest { path, follow } = parse::<FileStatRequest>(&bytes)?;
    if !path.starts_with('/') {
        return fail(
            ErrorDetail::new(ErrorType::Config, "path must be absolute").with_code("path"),
        );
    }
    match stat(&call, &path, follow) {
        Ok(answer) => {
            call.allowed(&path);
            Ok(answer)
        }
        Err(Errno::Noent) => Ok(json!({"exists": false})),
        Err(Errno::Acces | Errno::Notcapable) => Err(CallError::refused(
            ErrorDetail::new(
                ErrorType::Capability,
                format!("permission denied: read of {path} (or of what a link on the way points to) is not granted"),
            )
            .with_code("fs"),
        )),
        Err(errno) => fail(ErrorDetail::new(
            ErrorType::Other("fs".into()),
            format!("stat of {path} failed: {errno:?}"),
        )),
    }
}

// The kernel's `struct stat` field types differ by architecture; the casts are identities on some.
#[allow(clippy::unnecessary_cast)]
fn stat(call: &Call, path: &str, follow: bool) -> Result<Value, Errno> {
    let resolved = resolve_absolute(&call.plugin.sandbox, path, follow, Access::Read)?;
    let stat = match &resolved {
        Resolved::Dir(dir) => fstat(dir.fd())?,
        Resolved::Entry { parent, name, .. } => {
            statat(parent.fd(), name.as_str(), AtFlags::SYMLINK_NOFOLLOW)?
        }
    };
    let kind = FileType::from_raw_mode(stat.st_mode as u32);
    Ok(json!({
        "exists": true,
        "mode": stat.st_mode as u32,
        "uid": stat.st_uid as u32,
        "gid": stat.st_gid as u32,
        "size": stat.st_size as u64,
        "mtime_sec": stat.st_mtime as i64,
        "mtime_nsec": stat.st_mtime_nsec as u32,
        "is_dir": kind == FileType::Directory,
        "is_symlink": kind == FileType::Symlink,
    }))
}
