//! The compilation cache: compiled modules kept in memory per process and on disk per user, keyed
//! by the SHA-256 of the wasm bytes and the engine's compatibility hash, so the second run of a
//! profile compiles nothing.

use std::collections::HashMap;
use std::hash::Hasher;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use reglet_domain::PluginError;
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;
use wasmtime::{Engine, Module};

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
    dir: Option<PathBuf>,
}

impl std::fmt::Debug for CompilationCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompilationCache")
            .field("dir", &self.dir)
            .finish()
    }
}

impl CompilationCache {
    /// A private cache that lives only as long as it is referenced.
    pub fn in_memory() -> Arc<Self> {
        Arc::new(CompilationCache {
            modules: Mutex::new(HashMap::new()),
            dir: None,
        })
    }

    /// A cache persisted in `dir`, created with mode 0700 if missing. The directory must belong to
    /// this user and not be writable by others: a compiled module is native code.
    pub fn persistent(dir: impl Into<PathBuf>) -> Result<Arc<Self>, CacheError> {
        let dir = dir.into();
        let fail = |reason: String| CacheError {
            path: dir.display().to_string(),
            reason,
        };
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| fail(e.to_string()))?;
        let probe = tempfile::NamedTempFile::new_in(&dir).map_err(|e| fail(e.to_string()))?;
        let me = probe
            .as_file()
            .metadata()
            .map_err(|e| fail(e.to_string()))?
            .uid();
        let meta = std::fs::metadata(&dir).map_err(|e| fail(e.to_string()))?;
        if meta.uid() != me {
            return Err(fail("it belongs to another user".into()));
        }
        if meta.permissions().mode() & 0o022 != 0 {
            return Err(fail("it is writable by group or others".into()));
        }
        Ok(Arc::new(CompilationCache {
            modules: Mutex::new(HashMap::new()),
            dir: Some(dir),
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
        self.dir.as_deref()
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
            let mut modules = self.modules.lock().unwrap_or_else(|e| e.into_inner());
            modules.entry(digest).or_default().clone()
        };
        let module = cell
            .get_or_try_init(|| {
                let (engine, dir, plugin) = (engine.clone(), self.dir.clone(), plugin.to_owned());
                let name = plugin.clone();
                async move {
                    tokio::task::spawn_blocking(move || {
                        load_or_compile(&engine, dir.as_deref(), &wasm, &digest, &name)
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
    dir: Option<&Path>,
    wasm: &[u8],
    digest: &Digest256,
    plugin: &str,
) -> Result<Module, PluginError> {
    let file = dir.map(|d| {
        d.join(format!(
            "{}-{}.cwasm",
            hex::encode(digest),
            compatibility(engine)
        ))
    });
    if let Some(file) = &file
        && let Some(module) = load(engine, file)
    {
        return Ok(module);
    }
    let module = Module::from_binary(engine, wasm).map_err(|e| {
        PluginError::load(format!("plugin {plugin} is not valid WebAssembly: {e:#}"))
    })?;
    if let Some(file) = &file
        && let Err(e) = store(&module, file)
    {
        tracing::warn!(
            plugin,
            "could not cache the compiled plugin at {}: {e}",
            file.display()
        );
    }
    Ok(module)
}

/// Loads a cached module if the file is ours and intact; anything else is recompiled.
fn load(engine: &Engine, file: &Path) -> Option<Module> {
    let meta = std::fs::metadata(file).ok()?;
    let dir_owner = std::fs::metadata(file.parent()?).ok()?.uid();
    if meta.uid() != dir_owner || meta.permissions().mode() & 0o022 != 0 {
        tracing::warn!(
            "ignoring cached module {} with unsafe ownership or mode",
            file.display()
        );
        return None;
    }
    // SAFETY: the file was written by `store` below into a directory only this user can write
    // (checked in `CompilationCache::persistent`), its owner and mode were just checked, and
    // wasmtime verifies that it was produced by this version with a compatible configuration.
    #[allow(unsafe_code)]
    match unsafe { Module::deserialize_file(engine, file) } {
        Ok(module) => Some(module),
        Err(e) => {
            tracing::warn!(
                "discarding unusable cached module {}: {e:#}",
                file.display()
            );
            let _ = std::fs::remove_file(file);
            None
        }
    }
}

/// Writes the compiled module to a temporary file and renames it into place, so a reader never
/// sees a partial file.
fn store(module: &Module, file: &Path) -> std::io::Result<()> {
    let bytes = module.serialize().map_err(std::io::Error::other)?;
    let dir = file
        .parent()
        .expect("cache files live in the cache directory");
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(&bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(file).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const WAT: &str = r#"(module (func (export "f") (result i32) i32.const 7))"#;

    fn engine() -> Engine {
        Engine::default()
    }

    #[tokio::test]
    async fn compiles_once_and_persists() {
        let dir = tempfile::tempdir().unwrap();
        let cache = CompilationCache::persistent(dir.path().join("c")).unwrap();
        let wasm: Arc<[u8]> = wat::parse_str(WAT).unwrap().into();
        let engine = engine();
        let a = cache
            .module(&engine, wasm.clone(), digest(&wasm), "p")
            .await
            .unwrap();
        let b = cache
            .module(&engine, wasm.clone(), digest(&wasm), "p")
            .await
            .unwrap();
        assert!(
            Module::same(&a, &b),
            "the second load is served from memory"
        );
        let files: Vec<_> = std::fs::read_dir(dir.path().join("c")).unwrap().collect();
        assert_eq!(files.len(), 1);
        let mode = std::fs::metadata(dir.path().join("c"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);

        // A fresh cache over the same directory loads the compiled file.
        let again = CompilationCache::persistent(dir.path().join("c")).unwrap();
        let c = again
            .module(&engine, wasm.clone(), digest(&wasm), "p")
            .await
            .unwrap();
        assert_eq!(c.exports().count(), 1);
    }

    #[tokio::test]
    async fn corrupt_cache_files_are_recompiled() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine();
        let wasm: Arc<[u8]> = wat::parse_str(WAT).unwrap().into();
        let name = format!(
            "{}-{}.cwasm",
            hex::encode(digest(&wasm)),
            compatibility(&engine)
        );
        let cache = CompilationCache::persistent(dir.path()).unwrap();
        std::fs::write(dir.path().join(&name), b"not a module").unwrap();
        let module = cache
            .module(&engine, wasm.clone(), digest(&wasm), "p")
            .await
            .unwrap();
        assert_eq!(module.exports().count(), 1);
    }

    #[tokio::test]
    async fn invalid_wasm_is_a_load_error_naming_the_plugin() {
        let cache = CompilationCache::in_memory();
        let wasm: Arc<[u8]> = Arc::from(&b"\0asm garbage"[..]);
        let err = cache
            .module(&engine(), wasm.clone(), digest(&wasm), "broken")
            .await
            .unwrap_err();
        assert_eq!(err.code(), reglet_domain::PluginErrorCode::PluginLoadError);
        assert!(
            err.message()
                .contains("plugin broken is not valid WebAssembly"),
            "{err}"
        );
    }

    #[test]
    fn unsafe_directories_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let open = dir.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = CompilationCache::persistent(&open).unwrap_err();
        assert!(
            err.to_string().contains("writable by group or others"),
            "{err}"
        );
    }
}
