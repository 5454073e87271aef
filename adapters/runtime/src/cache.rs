//! The compilation cache: compiled modules kept in memory per process and on disk per user, keyed
//! by the SHA-256 of the wasm bytes and the engine's compatibility hash, so the second run of a
//! profile compiles nothing.
//!
//! A compiled module is native code that wasmtime maps executable without further checks, so
//! nothing on disk is trusted for having been found there: at every load the directory chain is
//! checked again and opened without following links ([`trusted_dir`]), and the entry must carry a
//! valid HMAC under this user's key ([`disk`]). Anything else is compiled again.

mod disk;
mod trusted_dir;

use std::collections::HashMap;
use std::hash::Hasher;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;

use reglet_domain::PluginError;
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;
use wasmtime::{Engine, Module};

use disk::{DiskCache, EntryKey};

/// The SHA-256 of a module's bytes.
pub type Digest256 = [u8; 32];

/// The cache directory could not be used.
#[derive(Debug, thiserror::Error)]
#[error("cannot use {path} as a compilation cache: {reason}")]
pub struct CacheError {
    path: String,
    reason: String,
}

/// Compiled modules by digest, in memory and optionally on disk.
pub struct CompilationCache {
    modules: Mutex<HashMap<Digest256, Arc<OnceCell<Module>>>>,
    disk: Option<Arc<DiskCache>>,
}

impl std::fmt::Debug for CompilationCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompilationCache")
            .field("dir", &self.dir())
            .finish()
    }
}

impl CompilationCache {
    /// A private cache that lives only as long as it is referenced.
    pub fn in_memory() -> Arc<Self> {
        Arc::new(CompilationCache {
            modules: Mutex::new(HashMap::new()),
            disk: None,
        })
    }

    /// A cache persisted in `dir`, created with mode 0700 if missing, with its key `cache.key`.
    /// The directory must belong to this user and not be writable by group or others; every
    /// directory above it must belong to root or this user and not be writable by others unless
    /// sticky; none may be a symbolic link. These rules are checked again at every load.
    ///
    /// # Errors
    ///
    /// The directory cannot be created, or it (or a directory above it) fails the trust checks:
    /// not ours, writable by others, or reached through a symlink.
    pub fn persistent(dir: impl Into<PathBuf>) -> Result<Arc<Self>, CacheError> {
        let dir = dir.into();
        let absolute = std::path::absolute(&dir).map_err(|e| CacheError {
            path: dir.display().to_string(),
            reason: e.to_string(),
        })?;
        let disk = DiskCache::open(absolute).map_err(|untrusted| CacheError {
            path: dir.display().to_string(),
            reason: untrusted.to_string(),
        })?;
        Ok(Arc::new(CompilationCache {
            modules: Mutex::new(HashMap::new()),
            disk: Some(Arc::new(disk)),
        }))
    }

    /// The process-wide cache: persisted under `$XDG_CACHE_HOME/reglet/wasm` (or the platform's
    /// cache directory), or in memory only when that is not usable.
    pub fn shared() -> Arc<Self> {
        static SHARED: OnceLock<Arc<CompilationCache>> = OnceLock::new();
        SHARED
            .get_or_init(|| {
                let Some(base) = dirs::cache_dir() else {
                    tracing::warn!(
                        "no user cache directory; compiled plugins are cached in memory only"
                    );
                    return CompilationCache::in_memory();
                };
                match CompilationCache::persistent(base.join("reglet").join("wasm")) {
                    Ok(cache) => cache,
                    Err(e) => {
                        tracing::warn!("{e}; compiled plugins are cached in memory only");
                        CompilationCache::in_memory()
                    }
                }
            })
            .clone()
    }

    /// The directory modules are persisted in, if any.
    pub fn dir(&self) -> Option<&Path> {
        self.disk.as_deref().map(DiskCache::root)
    }

    /// The compiled module for `wasm`, compiling at most once however many callers ask at once.
    pub(crate) async fn module(
        &self,
        engine: &Engine,
        wasm: Arc<[u8]>,
        digest: Digest256,
        plugin: &str,
    ) -> Result<Module, PluginError> {
        let cell = {
            let mut modules = self.modules.lock();
            modules.entry(digest).or_default().clone()
        };
        let module = cell
            .get_or_try_init(|| {
                let (engine, disk, plugin) = (engine.clone(), self.disk.clone(), plugin.to_owned());
                let name = plugin.clone();
                async move {
                    tokio::task::spawn_blocking(move || {
                        load_or_compile(&engine, disk.as_deref(), &wasm, digest, &name)
                    })
                    .await
                    .map_err(|e| {
                        PluginError::load(format!("compiling plugin {plugin} was interrupted: {e}"))
                    })?
                }
            })
            .await?;
        Ok(module.clone())
    }
}

/// The SHA-256 of `bytes`.
pub fn digest(bytes: &[u8]) -> Digest256 {
    Sha256::digest(bytes).into()
}

fn compatibility(engine: &Engine) -> String {
    struct Sha(Sha256);
    impl Hasher for Sha {
        fn finish(&self) -> u64 {
            0
        }
        fn write(&mut self, bytes: &[u8]) {
            self.0.update(bytes);
        }
    }
    let mut hasher = Sha(Sha256::new());
    std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut hasher);
    hex::encode(&hasher.0.finalize()[..8])
}

fn load_or_compile(
    engine: &Engine,
    disk: Option<&DiskCache>,
    wasm: &[u8],
    digest: Digest256,
    plugin: &str,
) -> Result<Module, PluginError> {
    let entry = EntryKey {
        digest,
        compatibility: compatibility(engine),
    };
    if let Some(module) = disk.and_then(|disk| disk.load(engine, &entry)) {
        return Ok(module);
    }
    let module = Module::from_binary(engine, wasm).map_err(|e| {
        PluginError::load(format!("plugin {plugin} is not valid WebAssembly: {e:#}"))
    })?;
    if let Some(disk) = disk {
        disk.store(&module, &entry);
    }
    Ok(module)
}

#[cfg(test)]
mod tests;
