//! The compilation cache: compile once, persist, and never run native code from disk that this
//! user did not write.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use wasmtime::{Engine, Instance, Module, Store};

use super::*;

/// The key file's name, as the cache keeps it beside its entries.
const KEY: &str = "cache.key";
/// Another user for ownership tests (nobody).
const OTHER_UID: u32 = 65534;
const SEVEN: i32 = 0x5eed_c0de;
const EIGHT: i32 = 0x0bad_f00d;

fn wasm(value: i32) -> Arc<[u8]> {
    wat::parse_str(format!(
        r#"(module (func (export "f") (result i32) i32.const {value}))"#
    ))
    .unwrap()
    .into()
}

fn engine() -> Engine {
    Engine::default()
}

/// What the module's `f` returns: the proof of which native code was loaded.
fn run(engine: &Engine, module: &Module) -> i32 {
    let mut store = Store::new(engine, ());
    let instance = Instance::new(&mut store, module, &[]).unwrap();
    let f = instance.get_typed_func::<(), i32>(&mut store, "f").unwrap();
    f.call(&mut store, ()).unwrap()
}

fn entry(dir: &Path, engine: &Engine, wasm: &[u8]) -> PathBuf {
    dir.join(format!(
        "{}-{}.cwasm",
        hex::encode(digest(wasm)),
        compatibility(engine)
    ))
}

/// Compiles `wasm` through a fresh cache over `dir` (a fresh process, as far as the cache knows)
/// and returns what the module answers.
async fn load_in_new_process(dir: &Path, engine: &Engine, wasm: &Arc<[u8]>) -> i32 {
    let cache = CompilationCache::persistent(dir).unwrap();
    let module = cache
        .module(engine, wasm.clone(), digest(wasm), "p")
        .await
        .unwrap();
    run(engine, &module)
}

fn running_as_root() -> bool {
    if rustix::process::geteuid().is_root() {
        return true;
    }
    eprintln!("skipped: giving a file to another user needs root");
    false
}

#[tokio::test]
async fn compiles_once_and_persists() {
    let dir = tempfile::tempdir().unwrap();
    let cache = CompilationCache::persistent(dir.path().join("c")).unwrap();
    let wasm = wasm(SEVEN);
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
    assert!(entry(&dir.path().join("c"), &engine, &wasm).is_file());
    let mode = std::fs::metadata(dir.path().join("c"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700);
    assert_eq!(
        load_in_new_process(&dir.path().join("c"), &engine, &wasm).await,
        SEVEN
    );
}

#[tokio::test]
async fn corrupt_cache_files_are_recompiled() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine();
    let wasm = wasm(SEVEN);
    CompilationCache::persistent(dir.path()).unwrap();
    std::fs::write(entry(dir.path(), &engine, &wasm), b"not a module").unwrap();
    assert_eq!(load_in_new_process(dir.path(), &engine, &wasm).await, SEVEN);
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

#[tokio::test]
async fn a_tampered_entry_is_rejected_and_recompiled() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, wasm) = (engine(), wasm(SEVEN));
    assert_eq!(load_in_new_process(dir.path(), &engine, &wasm).await, SEVEN);
    let file = entry(dir.path(), &engine, &wasm);
    let mut bytes = std::fs::read(&file).unwrap();
    // Flip a bit of the constant in the machine code where the architecture encodes it whole
    // (x86-64 does), so an unchecked load would run code returning something else.
    let at = bytes
        .windows(4)
        .position(|w| w == SEVEN.to_le_bytes())
        .unwrap_or(bytes.len() / 2);
    bytes[at] ^= 1;
    std::fs::write(&file, &bytes).unwrap();

    assert_eq!(load_in_new_process(dir.path(), &engine, &wasm).await, SEVEN);
    assert!(
        std::fs::read(&file).unwrap() != bytes,
        "the tampered entry is replaced by a fresh one"
    );
}

#[tokio::test]
async fn an_entry_swapped_for_another_modules_entry_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine();
    let (seven, eight) = (wasm(SEVEN), wasm(EIGHT));
    load_in_new_process(dir.path(), &engine, &seven).await;
    load_in_new_process(dir.path(), &engine, &eight).await;
    std::fs::copy(
        entry(dir.path(), &engine, &eight),
        entry(dir.path(), &engine, &seven),
    )
    .unwrap();
    assert_eq!(
        load_in_new_process(dir.path(), &engine, &seven).await,
        SEVEN
    );
}

#[tokio::test]
async fn an_entry_replaced_by_a_symlink_is_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let (engine, wasm) = (engine(), wasm(SEVEN));
    load_in_new_process(dir.path(), &engine, &wasm).await;
    // The link leads to a genuine copy of the entry: only refusing the link itself rejects it.
    let file = entry(dir.path(), &engine, &wasm);
    let target = elsewhere.path().join("entry.cwasm");
    std::fs::rename(&file, &target).unwrap();
    std::os::unix::fs::symlink(&target, &file).unwrap();

    assert_eq!(load_in_new_process(dir.path(), &engine, &wasm).await, SEVEN);
    assert!(
        std::fs::symlink_metadata(&file).unwrap().is_file(),
        "the link is replaced by a fresh entry"
    );
}

#[tokio::test]
async fn a_cache_dir_that_became_writable_by_others_is_neither_read_nor_written() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("c");
    let engine = engine();
    let (seven, eight) = (wasm(SEVEN), wasm(EIGHT));
    load_in_new_process(&root, &engine, &eight).await;
    // Opened while it was safe; then anyone may write it, and someone swaps an entry in.
    let cache = CompilationCache::persistent(&root).unwrap();
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o777)).unwrap();
    let swapped = std::fs::read(entry(&root, &engine, &eight)).unwrap();
    std::fs::write(entry(&root, &engine, &seven), &swapped).unwrap();

    let module = cache
        .module(&engine, seven.clone(), digest(&seven), "p")
        .await
        .unwrap();
    assert_eq!(run(&engine, &module), SEVEN);
    assert!(
        std::fs::read(entry(&root, &engine, &seven)).unwrap() == swapped,
        "nothing is written into a directory others can write"
    );
}

#[tokio::test]
async fn a_parent_writable_by_others_and_not_sticky_is_refused_at_load() {
    let dir = tempfile::tempdir().unwrap();
    let parent = dir.path().join("shared");
    let root = parent.join("c");
    let engine = engine();
    let (seven, eight) = (wasm(SEVEN), wasm(EIGHT));
    load_in_new_process(&root, &engine, &eight).await;
    let cache = CompilationCache::persistent(&root).unwrap();
    // Whoever can write the parent can put a directory of their own in the cache's place.
    std::fs::set_permissions(&parent, std::fs::Permissions::from_mode(0o777)).unwrap();
    let swapped = std::fs::read(entry(&root, &engine, &eight)).unwrap();
    std::fs::write(entry(&root, &engine, &seven), &swapped).unwrap();

    let module = cache
        .module(&engine, seven.clone(), digest(&seven), "p")
        .await
        .unwrap();
    assert_eq!(run(&engine, &module), SEVEN);
    assert!(std::fs::read(entry(&root, &engine, &seven)).unwrap() == swapped);
    assert!(CompilationCache::persistent(&root).is_err());

    // A sticky parent, like /tmp, is fine.
    std::fs::set_permissions(&parent, std::fs::Permissions::from_mode(0o1777)).unwrap();
    assert!(CompilationCache::persistent(&root).is_ok());
}

#[tokio::test]
async fn an_entry_from_a_previous_process_loads_with_the_persisted_key() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, wasm) = (engine(), wasm(SEVEN));
    load_in_new_process(dir.path(), &engine, &wasm).await;
    let key = std::fs::read(dir.path().join(KEY)).unwrap();
    let written = std::fs::metadata(entry(dir.path(), &engine, &wasm)).unwrap();

    assert_eq!(load_in_new_process(dir.path(), &engine, &wasm).await, SEVEN);
    assert_eq!(std::fs::read(dir.path().join(KEY)).unwrap(), key);
    let loaded = std::fs::metadata(entry(dir.path(), &engine, &wasm)).unwrap();
    assert_eq!(
        loaded.ino(),
        written.ino(),
        "the entry was loaded, not compiled and written again"
    );
}

#[tokio::test]
async fn a_missing_key_file_is_created_private_and_old_entries_are_recompiled() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, wasm) = (engine(), wasm(SEVEN));
    CompilationCache::persistent(dir.path()).unwrap();
    let key_file = dir.path().join(KEY);
    let meta = std::fs::symlink_metadata(&key_file).unwrap();
    assert!(meta.is_file());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(meta.len(), 32);

    load_in_new_process(dir.path(), &engine, &wasm).await;
    let old_key = std::fs::read(&key_file).unwrap();
    let old_entry = std::fs::metadata(entry(dir.path(), &engine, &wasm)).unwrap();
    std::fs::remove_file(&key_file).unwrap();

    assert_eq!(load_in_new_process(dir.path(), &engine, &wasm).await, SEVEN);
    let new_key = std::fs::read(&key_file).unwrap();
    assert_eq!(new_key.len(), 32);
    assert_ne!(new_key, old_key);
    let new_entry = std::fs::metadata(entry(dir.path(), &engine, &wasm)).unwrap();
    assert_ne!(
        new_entry.ino(),
        old_entry.ino(),
        "an entry made with the lost key is compiled and written again"
    );
}

#[tokio::test]
async fn an_entry_owned_by_another_user_is_neither_loaded_nor_overwritten() {
    if !running_as_root() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (engine, wasm) = (engine(), wasm(SEVEN));
    load_in_new_process(dir.path(), &engine, &wasm).await;
    let file = entry(dir.path(), &engine, &wasm);
    std::os::unix::fs::chown(&file, Some(OTHER_UID), None).unwrap();

    assert_eq!(load_in_new_process(dir.path(), &engine, &wasm).await, SEVEN);
    assert_eq!(std::fs::metadata(&file).unwrap().uid(), OTHER_UID);
}

#[tokio::test]
async fn a_cache_dir_given_to_another_user_is_neither_read_nor_written() {
    if !running_as_root() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("c");
    let (engine, wasm) = (engine(), wasm(SEVEN));
    load_in_new_process(&root, &engine, &wasm).await;
    let cache = CompilationCache::persistent(&root).unwrap();
    std::os::unix::fs::chown(&root, Some(OTHER_UID), None).unwrap();
    let file = entry(&root, &engine, &wasm);
    std::fs::write(&file, b"theirs").unwrap();

    let module = cache
        .module(&engine, wasm.clone(), digest(&wasm), "p")
        .await
        .unwrap();
    assert_eq!(run(&engine, &module), SEVEN);
    assert!(
        std::fs::read(&file).unwrap() == b"theirs",
        "nothing is written into a directory that is not ours"
    );
}

/// Log lines written while installed as the thread's subscriber.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    fn install(&self) -> tracing::subscriber::DefaultGuard {
        // With one registered dispatcher, tracing caches a call site's interest from whichever
        // thread reaches it first; a process-wide second dispatcher makes every call site ask
        // each thread's default, so a parallel test cannot switch this one's call sites off.
        static BYSTANDER: std::sync::OnceLock<tracing::Dispatch> = std::sync::OnceLock::new();
        BYSTANDER.get_or_init(|| tracing::Dispatch::new(tracing::subscriber::NoSubscriber::new()));
        let sink = self.clone();
        tracing::subscriber::set_default(
            tracing_subscriber::fmt()
                .with_ansi(false)
                .with_writer(move || sink.clone())
                .finish(),
        )
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn each_refusal_is_logged_once_naming_the_path_and_the_reason() {
    let logs = Logs::default();
    let _guard = logs.install();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("c");
    let engine = engine();
    let (seven, eight) = (wasm(SEVEN), wasm(EIGHT));

    let disk = DiskCache::open(root.clone()).unwrap();
    std::fs::write(entry(&root, &engine, &seven), b"not a module").unwrap();
    load_or_compile(&engine, Some(&disk), &seven, digest(&seven), "p").unwrap();
    let text = logs.text();
    let file = entry(&root, &engine, &seven).display().to_string();
    assert!(
        text.contains(&format!("{file} is not a cache entry of this version")),
        "{text}"
    );

    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o777)).unwrap();
    for wasm in [&seven, &eight, &seven] {
        load_or_compile(&engine, Some(&disk), wasm, digest(wasm), "p").unwrap();
    }
    let text = logs.text();
    let refusal = format!(
        "{} is writable by group or others (mode 0777)",
        root.display()
    );
    assert_eq!(text.matches(&refusal).count(), 1, "{text}");
    assert_eq!(text.lines().count(), 2, "{text}");
}
