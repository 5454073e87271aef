//! Compiled modules on disk, each authenticated with a per-user key before wasmtime sees it.
//!
//! An entry is `MAGIC`, then an HMAC-SHA256 tag, then the serialized module. The tag covers the
//! cache key (the wasm's digest and the engine's compatibility hash) and the module bytes, under a
//! 32-byte random key kept in the cache root as `cache.key` (mode 0600). At every load the
//! directory chain is checked again ([`trusted_dir`](super::trusted_dir)), the entry is opened
//! through the root's handle without following a link, read whole, and its tag verified in
//! constant time; only then are the bytes deserialized. Whatever fails is a miss: the plugin is
//! compiled again, the reason is logged once, and a file that is not ours is never replaced.

use parking_lot::Mutex;
use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use hmac::{Hmac, KeyInit, Mac};
use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;
use sha2::Sha256;
use wasmtime::{Engine, Module};
use zeroize::Zeroizing;

use super::Digest256;
use super::trusted_dir::{Facts, Untrusted, current_user, open_root};

/// The key file's name in the cache root.
pub(super) const KEY_FILE: &str = "cache.key";
const KEY_LEN: usize = 32;
/// What every entry starts with; a change of format changes it.
const MAGIC: &[u8; 16] = b"reglet-cwasm-v1\n";
const TAG_LEN: usize = 32;

type Key = Zeroizing<[u8; KEY_LEN]>;

/// Which module an entry holds: the wasm's digest and the engine's compatibility hash.
#[derive(Debug, Clone)]
pub(super) struct EntryKey {
    pub(super) digest: Digest256,
    pub(super) compatibility: String,
}

impl EntryKey {
    fn file_name(&self) -> String {
        format!("{}-{}.cwasm", hex::encode(self.digest), self.compatibility)
    }

    fn tag(&self, key: &Key, module: &[u8]) -> Hmac<Sha256> {
        let mut mac =
            <Hmac<Sha256> as KeyInit>::new_from_slice(&key[..]).expect("HMAC takes any key");
        mac.update(MAGIC);
        mac.update(&self.digest);
        mac.update(&(self.compatibility.len() as u64).to_le_bytes());
        mac.update(self.compatibility.as_bytes());
        mac.update(module);
        mac
    }
}

/// A cache directory whose every use is checked again.
#[derive(Debug)]
pub(super) struct DiskCache {
    root: PathBuf,
    me: u32,
    warned: Mutex<HashSet<String>>,
}

impl DiskCache {
    /// Opens (creating with mode 0700 what is missing) the cache root and its key.
    pub(super) fn open(root: PathBuf) -> Result<Self, Untrusted> {
        let me = current_user();
        let dir = open_root(&root, me, true)?;
        read_or_create_key(&dir, me).map_err(|reason| Untrusted {
            path: root.join(KEY_FILE),
            reason,
        })?;
        Ok(DiskCache {
            root,
            me,
            warned: Mutex::new(HashSet::new()),
        })
    }

    /// The cache root, as given.
    pub(super) fn root(&self) -> &Path {
        &self.root
    }

    /// The module stored under `entry`, if it is there, ours and authentic; anything else is a
    /// miss, and a refusal is logged once.
    pub(super) fn load(&self, engine: &Engine, entry: &EntryKey) -> Option<Module> {
        match self.try_load(engine, entry) {
            Ok(module) => module,
            Err(refusal) => {
                self.warn_once("not using the cached module", &refusal);
                None
            }
        }
    }

    /// Stores `module` under `entry` atomically, unless the directory or the entry already there
    /// is not ours; a refusal is logged once.
    pub(super) fn store(&self, module: &Module, entry: &EntryKey) {
        if let Err(refusal) = self.try_store(module, entry) {
            self.warn_once("not caching the compiled plugin", &refusal);
        }
    }

    fn try_load(&self, engine: &Engine, entry: &EntryKey) -> Result<Option<Module>, Untrusted> {
        let dir = open_root(&self.root, self.me, false)?;
        let name = entry.file_name();
        let refused = |reason: String| Untrusted {
            path: self.root.join(&name),
            reason,
        };
        let Some(file) = open_private_file(&dir, OsStr::new(&name), self.me).map_err(refused)?
        else {
            return Ok(None);
        };
        let mut bytes = Vec::new();
        File::from(file)
            .read_to_end(&mut bytes)
            .map_err(|e| refused(format!("cannot be read: {e}")))?;
        let key = read_key(&dir, self.me)
            .map_err(|reason| Untrusted {
                path: self.root.join(KEY_FILE),
                reason,
            })?
            .ok_or_else(|| refused(format!("cannot be authenticated: {KEY_FILE} is missing")))?;
        let module = authenticated(&bytes, entry, &key).map_err(refused)?;
        // SAFETY: `module` is exactly the bytes `store` serialized from a module wasmtime compiled
        // in this process or an earlier one of this user: their HMAC, under a key only this user
        // can read, was just verified over these very bytes (held in memory, so nothing can change
        // them after the check), and wasmtime itself checks that they were produced by this
        // version with a compatible configuration.
        #[allow(unsafe_code)]
        let module = unsafe { Module::deserialize(engine, module) }
            .map_err(|e| refused(format!("cannot be deserialized: {e:#}")))?;
        Ok(Some(module))
    }

    fn try_store(&self, module: &Module, entry: &EntryKey) -> Result<(), Untrusted> {
        let dir = open_root(&self.root, self.me, false)?;
        let name = entry.file_name();
        let refused = |reason: String| Untrusted {
            path: self.root.join(&name),
            reason,
        };
        match rustix::fs::statat(&dir, name.as_str(), AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) if stat.st_uid != self.me => {
                return Err(refused(format!(
                    "belongs to uid {}; it is left in place",
                    stat.st_uid
                )));
            }
            _ => {}
        }
        let key = read_or_create_key(&dir, self.me).map_err(|reason| Untrusted {
            path: self.root.join(KEY_FILE),
            reason,
        })?;
        let bytes = module
            .serialize()
            .map_err(|e| refused(format!("cannot be serialized: {e:#}")))?;
        let tag = entry.tag(&key, &bytes).finalize().into_bytes();
        write_atomically(&dir, &name, &[MAGIC, &tag[..], &bytes]).map_err(refused)
    }

    fn warn_once(&self, what: &str, refusal: &Untrusted) {
        let first = self.warned.lock().insert(refusal.to_string());
        if first {
            tracing::warn!(
                path = %refusal.path.display(),
                "{what}: {refusal}; plugins are compiled instead"
            );
        }
    }
}

/// The module bytes of `entry`'s file contents, if its tag verifies under `key`.
fn authenticated<'a>(bytes: &'a [u8], entry: &EntryKey, key: &Key) -> Result<&'a [u8], String> {
    let rest = bytes
        .strip_prefix(&MAGIC[..])
        .ok_or("is not a cache entry of this version")?;
    if rest.len() < TAG_LEN {
        return Err("is truncated".into());
    }
    let (tag, module) = rest.split_at(TAG_LEN);
    entry.tag(key, module).verify_slice(tag).map_err(
        |_| "fails authentication (changed since it was written, or written under another key)",
    )?;
    Ok(module)
}

/// Opens `name` in `dir` for reading if it is a regular file of ours that others cannot write;
/// `None` if it does not exist.
fn open_private_file(dir: &OwnedFd, name: &OsStr, me: u32) -> Result<Option<OwnedFd>, String> {
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let file = match rustix::fs::openat(dir, name, flags, Mode::empty()) {
        Ok(file) => file,
        Err(Errno::NOENT) => return Ok(None),
        Err(Errno::LOOP) => return Err("is a symbolic link".into()),
        Err(e) => return Err(format!("cannot be opened: {e}")),
    };
    let facts = Facts::of(&file).map_err(|e| format!("cannot be examined: {e}"))?;
    if facts.kind != FileType::RegularFile {
        return Err("is not a regular file".into());
    }
    if facts.uid != me {
        return Err(format!(
            "belongs to uid {}, not to this user (uid {me})",
            facts.uid
        ));
    }
    if facts.writable_by_others() {
        return Err(format!(
            "is writable by group or others (mode {:04o})",
            facts.mode.bits() & 0o7777
        ));
    }
    Ok(Some(file))
}

/// The key in `dir`, if there is one; it must be ours, mode 0600 and exactly 32 bytes.
fn read_key(dir: &OwnedFd, me: u32) -> Result<Option<Key>, String> {
    let Some(file) = open_private_file(dir, OsStr::new(KEY_FILE), me)? else {
        return Ok(None);
    };
    let mode = Facts::of(&file)
        .map_err(|e| format!("cannot be examined: {e}"))?
        .mode
        .bits()
        & 0o7777;
    if mode != 0o600 {
        return Err(format!("has mode {mode:04o}, not 0600"));
    }
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    let mut file = File::from(file);
    let mut extra = [0u8; 1];
    file.read_exact(&mut key[..])
        .map_err(|_| format!("is shorter than {KEY_LEN} bytes"))?;
    if file.read(&mut extra).map_err(|e| e.to_string())? != 0 {
        return Err(format!("is longer than {KEY_LEN} bytes"));
    }
    Ok(Some(key))
}

/// The key in `dir`, made first if there is none. Two processes making it at once agree on one:
/// the loser of the race reads the winner's.
fn read_or_create_key(dir: &OwnedFd, me: u32) -> Result<Key, String> {
    if let Some(key) = read_key(dir, me)? {
        return Ok(key);
    }
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    getrandom::fill(&mut key[..]).map_err(|e| format!("cannot be generated: {e}"))?;
    let (tmp, file) = create_temporary(dir, KEY_FILE)?;
    let mut file = File::from(file);
    let written = file
        .write_all(&key[..])
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("cannot be written: {e}"));
    // Linking never replaces an existing name, so a key another process made first stays.
    let linked = written.and_then(|()| {
        match rustix::fs::linkat(dir, tmp.as_str(), dir, KEY_FILE, AtFlags::empty()) {
            Ok(()) | Err(Errno::EXIST) => Ok(()),
            Err(e) => Err(format!("cannot be put in place: {e}")),
        }
    });
    let _ = rustix::fs::unlinkat(dir, tmp.as_str(), AtFlags::empty());
    linked?;
    read_key(dir, me)?.ok_or_else(|| "vanished as it was made".into())
}

/// Makes a new file of mode 0600 in `dir` with a random name derived from `name`.
fn create_temporary(dir: &OwnedFd, name: &str) -> Result<(String, OwnedFd), String> {
    let mut nonce = [0u8; 8];
    getrandom::fill(&mut nonce).map_err(|e| format!("cannot be written: {e}"))?;
    let tmp = format!(".{name}.{}.tmp", hex::encode(nonce));
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let file = rustix::fs::openat(dir, tmp.as_str(), flags, Mode::RUSR | Mode::WUSR)
        .map_err(|e| format!("cannot be written: {e}"))?;
    // The umask may have taken bits away; the mode is exactly 0600 either way.
    rustix::fs::fchmod(&file, Mode::RUSR | Mode::WUSR)
        .map_err(|e| format!("cannot be written: {e}"))?;
    Ok((tmp, file))
}

/// Writes `parts` to a temporary file in `dir`, then renames it to `name`, so a reader sees the
/// old entry or the new one, never a partial file.
fn write_atomically(dir: &OwnedFd, name: &str, parts: &[&[u8]]) -> Result<(), String> {
    let (tmp, file) = create_temporary(dir, name)?;
    let mut file = File::from(file);
    let result = parts
        .iter()
        .try_for_each(|part| file.write_all(part))
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("cannot be written: {e}"))
        .and_then(|()| {
            rustix::fs::renameat(dir, tmp.as_str(), dir, name)
                .map_err(|e| format!("cannot be put in place: {e}"))
        });
    if result.is_err() {
        let _ = rustix::fs::unlinkat(dir, tmp.as_str(), AtFlags::empty());
    }
    result
}
