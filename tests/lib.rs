//! Shared helpers of the end-to-end tests in `tests/tests/*.rs`: WAT plugins shaped like the
//! output of Reglet's Go SDKs (both ABI generations), hostile variants of them, and log capture.

pub mod loopback;

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use reglet_runtime::{CompilationCache, Runtime, RuntimeOptions};

/// Where the static strings of a test plugin live in its memory.
const DATA_BASE: u32 = 1 << 20;
/// Where its bump allocator starts.
const HEAP_BASE: u32 = DATA_BASE + (64 << 10);

/// Escapes bytes for a WAT data string.
fn escape(bytes: &[u8]) -> String {
    let mut out = String::new();
    for b in bytes {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(*b as char),
            _ => write!(out, "\\{b:02x}").unwrap(),
        }
    }
    out
}

/// Static strings placed in a plugin's data segment, each reachable by `(i32.const ptr)` and
/// `(i32.const len)` through [`Strings::at`].
#[derive(Default)]
pub struct Strings {
    items: Vec<(String, Vec<u8>, u32)>,
    next: u32,
}

impl Strings {
    /// Adds `bytes` under `name`.
    pub fn add(&mut self, name: &str, bytes: impl Into<Vec<u8>>) -> &mut Self {
        let bytes = bytes.into();
        let at = DATA_BASE + self.next;
        self.next += (bytes.len() as u32 + 8) & !7;
        self.items.push((name.to_owned(), bytes, at));
        self
    }

    /// Replaces the string `name` (or adds it): the old bytes stay in the data segment, unused.
    pub fn replace(&mut self, name: &str, bytes: impl Into<Vec<u8>>) -> &mut Self {
        self.items.retain(|(n, _, _)| n != name);
        self.add(name, bytes)
    }

    /// `(i32.const ptr) (i32.const len)` of the string `name`.
    pub fn at(&self, name: &str) -> String {
        let (_, bytes, at) = self
            .items
            .iter()
            .find(|(n, _, _)| n == name)
            .unwrap_or_else(|| panic!("no string {name}"));
        format!("(i32.const {at}) (i32.const {})", bytes.len())
    }

    fn segments(&self) -> String {
        self.items
            .iter()
            .map(|(_, bytes, at)| format!("  (data (i32.const {at}) \"{}\")\n", escape(bytes)))
            .collect()
    }
}

/// The ABI generation a test plugin speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gen {
    /// describe/schema/observe, capitalised Evidence.
    One,
    /// _manifest/_observe, lower-case Result.
    Two,
}

/// A test plugin: the standard exports, with the parts a test wants to change.
pub struct PluginWat {
    /// Which ABI.
    pub generation: Gen,
    /// The body of observe(`$ptr`, `$len`) -> i64, with locals `$out`, `$at`, `$i`. `${name}`
    /// stands for a string's `(i32.const ptr) (i32.const len)`, `${name:ptr}` and `${name:len}`
    /// for either half.
    pub observe: String,
    /// Extra functions and imports.
    pub extra: String,
    /// The body of allocate(`$n`) -> i32; the bump allocator by default.
    pub allocate: Option<String>,
    /// Strings in the data segment.
    pub strings: Strings,
    /// Export `_initialize` (which logs a line, as the Go SDK does).
    pub initialize: bool,
}

/// The Gen 1 describe document of the test plugin.
pub const DESCRIBE_GEN1: &str = r#"{"name":"echo","version":"1.2.3","description":"Echoes its config","sdk_version":"0.1.0-alpha","min_host_version":"0.2.0","capabilities":[{"kind":"fs","pattern":"read:/etc/hosts"},{"kind":"network","pattern":"outbound:53"}]}"#;
/// The schema document of the test plugin.
pub const SCHEMA: &str = r#"{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","properties":{"message":{"type":"string","description":"What to echo"},"repeat":{"type":"integer","default":1}},"required":["message"],"additionalProperties":false}"#;

impl PluginWat {
    /// A well-behaved plugin that echoes its config into `Data.echo` with a call counter.
    pub fn echo(generation: Gen) -> Self {
        let mut strings = Strings::default();
        strings
            .add("describe", DESCRIBE_GEN1)
            .add("schema", SCHEMA)
            .add("manifest", format!(
                r#"{{"services":{{"echo":{{"name":"echo","description":"Echo","operations":[{{"name":"echo","description":"Echo the config"}}]}}}},"name":"echo2","version":"2.0.0","description":"Echoes its config (gen 2)","sdk_version":"0.1.0","config_schema":{SCHEMA},"capabilities":{{"network":{{"rules":[{{"hosts":["*"],"ports":["53"]}}]}}}}}}"#
            ))
            .add("init_log", r#"{"context":{},"level":"INFO","message":"Reglet SDK: Slog handler initialized.","timestamp":"2026-01-10T09:15:02.1Z","attrs":[]}"#)
            .add("prefix_gen1", r#"{"Status":true,"Error":null,"Timestamp":"2026-01-10T09:15:02.123456789Z","Data":{"echo":"#)
            .add("prefix_gen2", r#"{"timestamp":"2026-02-10T08:00:00Z","status":"success","message":"ok","data":{"echo":"#)
            .add("calls", r#","calls":"#)
            .add("suffix_gen1", r#"},"Raw":null}"#)
            .add("suffix_gen2", r#"}}"#);
        PluginWat {
            generation,
            observe: ECHO_OBSERVE.replace(
                "GEN",
                if generation == Gen::One {
                    "gen1"
                } else {
                    "gen2"
                },
            ),
            extra: String::new(),
            allocate: None,
            strings,
            initialize: true,
        }
    }

    /// The same plugin with another observe body.
    pub fn with_observe(mut self, body: &str) -> Self {
        self.observe = body.to_owned();
        self
    }

    /// Adds functions or imports.
    pub fn with_extra(mut self, extra: &str) -> Self {
        self.extra.push_str(extra);
        self
    }

    /// Adds a string to the data segment.
    pub fn with_string(mut self, name: &str, bytes: impl Into<Vec<u8>>) -> Self {
        self.strings.add(name, bytes);
        self
    }

    /// Replaces one of the plugin's strings (`describe`, `schema`, `manifest`, ...).
    pub fn replacing_string(mut self, name: &str, bytes: impl Into<Vec<u8>>) -> Self {
        self.strings.replace(name, bytes);
        self
    }

    /// The module text.
    pub fn wat(&self) -> String {
        let mut observe = self.observe.clone();
        let mut extra = self.extra.clone();
        for (name, bytes, at) in &self.strings.items {
            for (token, value) in [
                (format!("${{{name}:ptr}}"), format!("(i32.const {at})")),
                (
                    format!("${{{name}:len}}"),
                    format!("(i32.const {})", bytes.len()),
                ),
                (format!("${{{name}}}"), self.strings.at(name)),
            ] {
                observe = observe.replace(&token, &value);
                extra = extra.replace(&token, &value);
            }
        }
        let allocate = self
            .allocate
            .clone()
            .unwrap_or_else(|| BUMP_ALLOCATE.to_owned());
        let (describe, observe_name, schema) = match self.generation {
            Gen::One => (
                format!(
                    "(func (export \"describe\") (result i64) (call $pack {}))",
                    self.strings.at("describe")
                ),
                "observe",
                format!(
                    "(func (export \"schema\") (result i64) (call $pack {}))",
                    self.strings.at("schema")
                ),
            ),
            Gen::Two => (
                format!(
                    "(func (export \"_manifest\") (result i64) (call $pack {}))",
                    self.strings.at("manifest")
                ),
                "_observe",
                String::new(),
            ),
        };
        let initialize = if self.initialize {
            format!(
                "(func (export \"_initialize\") (call $log (call $pack {})))",
                self.strings.at("init_log")
            )
        } else {
            String::new()
        };
        format!(
            r#"(module
  (import "reglet_host" "log_message" (func $log (param i64)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  {extra}
  (memory (export "memory") 17)
  (global $heap (mut i32) (i32.const {HEAP_BASE}))
  (global $calls (mut i32) (i32.const 0))
{segments}
  (func $pack (param $p i32) (param $l i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get $p)) (i64.const 32)) (i64.extend_i32_u (local.get $l))))
  (func $copy (param $dst i32) (param $src i32) (param $n i32) (result i32)
    (memory.copy (local.get $dst) (local.get $src) (local.get $n))
    (i32.add (local.get $dst) (local.get $n)))
  (func $alloc (export "allocate") (param $n i32) (result i32) {allocate})
  (func (export "deallocate") (param i32 i32))
  {initialize}
  {describe}
  {schema}
  (func (export "{observe_name}") (param $ptr i32) (param $len i32) (result i64)
    (local $out i32) (local $at i32) (local $i i32)
    {observe})
)"#,
            segments = self.strings.segments(),
        )
    }

    /// The module binary.
    pub fn wasm(&self) -> Vec<u8> {
        wat::parse_str(self.wat())
            .unwrap_or_else(|e| panic!("test plugin does not assemble: {e}\n{}", self.wat()))
    }
}

const BUMP_ALLOCATE: &str = r#"
    (local $p i32)
    (if (i32.eqz (local.get $n)) (then (return (i32.const 0))))
    (local.set $p (global.get $heap))
    (global.set $heap (i32.and (i32.add (i32.add (global.get $heap) (local.get $n)) (i32.const 7)) (i32.const -8)))
    (if (i32.gt_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536)))
      (then (if (i32.eq (memory.grow (i32.add (i32.div_u (i32.sub (global.get $heap) (i32.mul (memory.size) (i32.const 65536))) (i32.const 65536)) (i32.const 1))) (i32.const -1))
        (then (return (i32.const 0))))))
    (local.get $p)"#;

/// Echoes the config: `{"Status":true,...,"Data":{"echo":<config>,"calls":<n>},"Raw":null}`.
const ECHO_OBSERVE: &str = r#"
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (local.set $out (call $alloc (i32.add (local.get $len) (i32.const 512))))
    (local.set $at (call $copy (local.get $out) ${prefix_GEN}))
    (local.set $at (call $copy (local.get $at) (local.get $ptr) (local.get $len)))
    (local.set $at (call $copy (local.get $at) ${calls}))
    (i32.store8 (local.get $at) (i32.add (i32.const 48) (global.get $calls)))
    (local.set $at (i32.add (local.get $at) (i32.const 1)))
    (local.set $at (call $copy (local.get $at) ${suffix_GEN}))
    (call $pack (local.get $out) (i32.sub (local.get $at) (local.get $out)))"#;

/// A plugin name known to be valid.
pub fn name(text: &str) -> reglet_domain::PluginName {
    reglet_domain::PluginName::new(text).expect("a valid plugin name")
}

/// The default redaction, as the CLI builds it.
pub fn redactor() -> Arc<dyn reglet_ports::Redactor> {
    Arc::new(
        reglet_redaction::Redaction::new(reglet_redaction::RedactionConfig::default())
            .expect("the default redaction builds"),
    )
}

/// A runtime with a private in-memory compilation cache.
pub fn runtime(options: RuntimeOptions) -> Runtime {
    Runtime::new(options.cache(CompilationCache::in_memory())).expect("the runtime starts")
}

/// Collects formatted log lines written while it is the thread's default subscriber.
#[derive(Clone, Default)]
pub struct LogCapture(Arc<Mutex<Vec<u8>>>);

impl LogCapture {
    /// Installs a capturing subscriber for the current thread; keep the guard alive.
    pub fn install(&self) -> tracing::subscriber::DefaultGuard {
        // With a single registered dispatcher, tracing decides a call site's interest from the
        // default of whichever thread reaches it first: another test's thread, without this
        // subscriber, would switch the call site off for good. A second dispatcher that lives
        // for the whole process makes every call site ask all of them.
        static BYSTANDER: std::sync::OnceLock<tracing::Dispatch> = std::sync::OnceLock::new();
        BYSTANDER.get_or_init(|| tracing::Dispatch::new(tracing::subscriber::NoSubscriber::new()));
        let sink = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || sink.clone())
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    /// Everything logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The body of the echo plugin's observe, to append after a test's own instructions.
pub fn echo_observe_body(generation: Gen) -> String {
    ECHO_OBSERVE.replace(
        "GEN",
        if generation == Gen::One {
            "gen1"
        } else {
            "gen2"
        },
    )
}

impl PluginWat {
    /// `(i32.const ptr) (i32.const len)` of a string of this plugin.
    pub fn strings_at(&self, name: &str) -> String {
        self.strings.at(name)
    }
}

/// Observe body of [`PluginWat::forwarder`]: the config goes to `$host` as the request, and the
/// answer comes back inside the evidence as `Data.response`.
const FORWARD_OBSERVE: &str = r#"
    (local $answer i64) (local $answer_ptr i32) (local $answer_len i32)
    (local.set $answer (call $host (call $pack (local.get $ptr) (local.get $len))))
    (local.set $answer_ptr (i32.wrap_i64 (i64.shr_u (local.get $answer) (i64.const 32))))
    (local.set $answer_len (i32.wrap_i64 (local.get $answer)))
    (local.set $out (call $alloc (i32.add (local.get $answer_len) (i32.const 256))))
    (local.set $at (call $copy (local.get $out) ${forward_prefix_GEN}))
    (local.set $at (call $copy (local.get $at) (local.get $answer_ptr) (local.get $answer_len)))
    (local.set $at (call $copy (local.get $at) ${forward_suffix_GEN}))
    (call $pack (local.get $out) (i32.sub (local.get $at) (local.get $out)))"#;

impl PluginWat {
    /// A plugin that calls the `reglet_host` import `function` with its config as the request,
    /// exactly as a Reglet SDK would (guest memory in, the host's answer written back through
    /// the guest's `allocate`), and returns the answer as `Data.response`.
    pub fn forwarder(generation: Gen, function: &str) -> Self {
        let suffix = if generation == Gen::One {
            "gen1"
        } else {
            "gen2"
        };
        PluginWat::echo(generation)
            .with_extra(&format!(
                r#"(import "reglet_host" "{function}" (func $host (param i64) (result i64)))"#
            ))
            .with_string(
                "forward_prefix_gen1",
                r#"{"Status":true,"Error":null,"Timestamp":"2026-01-10T09:15:02Z","Data":{"response":"#,
            )
            .with_string("forward_suffix_gen1", r#"},"Raw":null}"#)
            .with_string(
                "forward_prefix_gen2",
                r#"{"timestamp":"2026-02-10T08:00:00Z","status":"success","data":{"response":"#,
            )
            .with_string("forward_suffix_gen2", r#"}}"#)
            .with_observe(&FORWARD_OBSERVE.replace("GEN", suffix))
    }
}
