//! The wasmtime runtime end to end: real wasm (WAT compiled at test time), both ABI generations,
//! hostile plugins, concurrency, warm pools, and redaction of everything a plugin emits.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reglet_domain::{AbiGeneration, Config, EvidenceStatus, GrantSet, PluginErrorCode, PluginName};
use reglet_ports::PluginExecutor;
use reglet_redaction::{Redaction, RedactionConfig};
use reglet_runtime::{CompilationCache, Runtime, RuntimeOptions};
use reglet_tests::{Gen, LogCapture, PluginWat, name, runtime};
use serde_json::json;

fn config(value: serde_json::Value) -> Config {
    Config::from_value(value).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gen1_plugin_describes_schemas_and_observes() {
    let rt = runtime(RuntimeOptions::new(reglet_tests::redactor()));
    let plugin = rt
        .load_plugin(&name("echo"), &PluginWat::echo(Gen::One).wasm())
        .await
        .unwrap();
    assert_eq!(plugin.generation(), AbiGeneration::Gen1);

    let info = plugin.describe().await.unwrap();
    assert_eq!(
        (info.name.as_str(), info.version.as_str()),
        ("echo", "1.2.3")
    );
    assert_eq!(
        info.capabilities.to_strings(),
        ["network:outbound:53", "fs:read:/etc/hosts"]
    );

    let schema = plugin
        .schema()
        .await
        .unwrap()
        .expect("the plugin has a schema");
    let message = schema.field("message").unwrap();
    assert!(message.required);
    assert_eq!(message.description.as_deref(), Some("What to echo"));
    assert_eq!(schema.field("repeat").unwrap().default, Some(json!(1)));

    let evidence = plugin
        .observe(&config(json!({"message": "hi", "n": [1, 2]})))
        .await
        .unwrap();
    assert_eq!(evidence.status(), EvidenceStatus::Success);
    let data = evidence.data.unwrap();
    assert_eq!(data["echo"], json!({"message": "hi", "n": [1, 2]}));
    assert_eq!(
        evidence.timestamp.unwrap().to_string(),
        "2026-01-10T09:15:02.123456789Z"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gen2_plugin_uses_its_manifest() {
    let rt = runtime(RuntimeOptions::new(reglet_tests::redactor()));
    let plugin = rt
        .load_plugin(&name("echo2"), &PluginWat::echo(Gen::Two).wasm())
        .await
        .unwrap();
    assert_eq!(plugin.generation(), AbiGeneration::Gen2);
    let info = plugin.describe().await.unwrap();
    assert_eq!(
        (info.name.as_str(), info.version.as_str()),
        ("echo2", "2.0.0")
    );
    assert!(
        info.capabilities
            .allows(&reglet_domain::AccessRequest::Connect {
                host: "1.1.1.1",
                port: 53
            })
    );
    assert!(
        plugin
            .schema()
            .await
            .unwrap()
            .unwrap()
            .field("message")
            .is_some()
    );
    let evidence = plugin
        .observe(&config(json!({"message": "gen2"})))
        .await
        .unwrap();
    assert_eq!(evidence.status(), EvidenceStatus::Success);
    assert_eq!(evidence.message.as_deref(), Some("ok"));
    assert_eq!(evidence.data.unwrap()["echo"]["message"], "gen2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_observation_gets_a_fresh_instance() {
    let rt = runtime(RuntimeOptions::new(reglet_tests::redactor()));
    let plugin = rt
        .load_plugin(&name("echo"), &PluginWat::echo(Gen::One).wasm())
        .await
        .unwrap();
    for _ in 0..3 {
        let evidence = plugin.observe(&config(json!({}))).await.unwrap();
        assert_eq!(
            evidence.data.unwrap()["calls"],
            1,
            "guest state never survives an observation"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loading_rules() {
    let rt = runtime(RuntimeOptions::new(reglet_tests::redactor()));
    let wasm = PluginWat::echo(Gen::One).wasm();
    // Concurrent loads of the same name and bytes share one plugin.
    let echo = name("echo");
    let (a, b) = tokio::join!(rt.load_plugin(&echo, &wasm), rt.load_plugin(&echo, &wasm));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.name(), b.name());
    // The same name with other bytes is refused, not silently served the old module.
    let other = PluginWat::echo(Gen::Two).wasm();
    let err = rt.load_plugin(&name("echo"), &other).await.unwrap_err();
    assert_eq!(err.code(), PluginErrorCode::PluginLoadError);
    assert!(err.message().contains("different bytes"), "{err}");
    // Closing frees the name.
    rt.close_plugin(&name("echo")).unwrap();
    rt.load_plugin(&name("echo"), &other).await.unwrap();

    // A name is checked when it is made, so a bad one never reaches the runtime.
    for (bad, needle) in [("bad name!", "invalid plugin name"), ("", "empty")] {
        let err = PluginName::new(bad).unwrap_err();
        assert!(err.to_string().contains(needle), "{bad}: {err}");
    }
    for (plugin, bytes) in [
        ("garbage", b"\0asm\x01\0\0\0garbage".to_vec()),
        ("text", b"hello".to_vec()),
    ] {
        let err = rt.load_plugin(&name(plugin), &bytes).await.unwrap_err();
        assert_eq!(err.code(), PluginErrorCode::PluginLoadError, "{plugin}");
        assert!(
            err.message().contains("not valid WebAssembly"),
            "{plugin}: {err}"
        );
    }
    assert!(
        rt.plugin(&name("never-loaded"))
            .unwrap_err()
            .message()
            .contains("not loaded")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modules_that_are_not_reactors_or_miss_exports_are_refused() {
    let rt = runtime(RuntimeOptions::new(reglet_tests::redactor()));
    let command = r#"(module (memory (export "memory") 1) (func (export "_start"))
        (func (export "describe") (result i64) i64.const 0) (func (export "observe") (param i32 i32) (result i64) i64.const 0))"#;
    let err = rt
        .load_plugin(&name("cmd"), &wat::parse_str(command).unwrap())
        .await
        .unwrap_err();
    assert!(err.message().contains("-buildmode=c-shared"), "{err}");

    let missing = PluginWat::echo(Gen::One)
        .wat()
        .replace("(export \"observe\")", "");
    let err = rt
        .load_plugin(&name("missing"), &wat::parse_str(missing).unwrap())
        .await
        .unwrap_err();
    assert!(err.message().contains("required function observe"), "{err}");

    let unknown = PluginWat::echo(Gen::One)
        .with_extra(r#"(import "env" "mystery" (func $m))"#)
        .wasm();
    let err = rt
        .load_plugin(&name("unknown"), &unknown)
        .await
        .unwrap_err();
    assert!(err.message().contains("mystery"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_reglet_host_import_resolves() {
    let rt = runtime(RuntimeOptions::new(reglet_tests::redactor()));
    let imports = [
        "dns_lookup",
        "http_request",
        "tcp_connect",
        "smtp_connect",
        "exec_command",
    ]
    .map(|name| {
        format!(r#"(import "reglet_host" "{name}" (func ${name} (param i64) (result i64)))"#)
    })
    .join("\n");
    let plugin = rt
        .load_plugin(
            &name("all"),
            &PluginWat::echo(Gen::One).with_extra(&imports).wasm(),
        )
        .await
        .unwrap();
    assert!(plugin.observe(&config(json!({}))).await.unwrap().passed());
}

/// Runs a hostile observe body and returns the error.
async fn hostile(
    rt: &Runtime,
    name: &str,
    plugin: PluginWat,
    timeout: Duration,
) -> reglet_domain::PluginError {
    let plugin = rt
        .load_plugin(&reglet_tests::name(name), &plugin.wasm())
        .await
        .unwrap();
    plugin
        .observe_until(&config(json!({"x": 1})), Instant::now() + timeout)
        .await
        .expect_err("a hostile plugin must fail")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_plugins_fail_with_typed_errors_and_the_runtime_goes_on() {
    let rt = runtime(RuntimeOptions::new(reglet_tests::redactor()).memory_limit_mib(32));
    let echo = || PluginWat::echo(Gen::One);
    let cases: Vec<(&str, PluginWat, PluginErrorCode, &str)> = vec![
        ("loop", echo().with_observe("(loop $l (br $l)) (unreachable)"), PluginErrorCode::Timeout, "did not finish"),
        ("membomb", echo().with_observe("(loop $l (drop (memory.grow (i32.const 256))) (br $l)) (unreachable)"), PluginErrorCode::PluginExecutionError, "memory limit of 32 MiB"),
        ("recursion", echo().with_extra("(func $rec (param i32) (result i32) (call $rec (i32.add (local.get 0) (i32.const 1))))").with_observe("(drop (call $rec (i32.const 0))) (unreachable)"), PluginErrorCode::PluginExecutionError, "call stack"),
        ("oob", echo().with_observe("(call $pack (i32.const 0x7fff0000) (i32.const 100))"), PluginErrorCode::PluginExecutionError, "out-of-bounds"),
        ("fourgig", echo().with_observe("(call $pack (i32.const 1024) (i32.const -1))"), PluginErrorCode::InvalidPluginResult, "more than the"),
        ("null", echo().with_observe("(i64.const 0)"), PluginErrorCode::PluginExecutionError, "null pointer"),
        ("garbage", echo().with_string("junk", "this is not json").with_observe("(call $pack ${junk})"), PluginErrorCode::InvalidPluginResult, "not valid JSON"),
        ("notutf8", echo().with_string("bad", b"{\"Raw\":\"\xff\xfe\"}".to_vec()).with_observe("(call $pack ${bad})"), PluginErrorCode::InvalidPluginResult, "UTF-8"),
        ("exit", echo().with_observe("(call $proc_exit (i32.const 3)) (unreachable)"), PluginErrorCode::PluginExecutionError, "proc_exit(3)"),
        ("panic", echo().with_observe("(unreachable)"), PluginErrorCode::PluginExecutionError, "unreachable"),
        ("badalloc", PluginWat { allocate: Some("(unreachable)".into()), ..echo() }, PluginErrorCode::PluginExecutionError, "allocate()"),
    ];
    for (name, plugin, code, needle) in cases {
        let err = hostile(&rt, name, plugin, Duration::from_millis(300)).await;
        assert_eq!(err.code(), code, "{name}: {err}");
        assert!(err.message().contains(needle), "{name}: {err}");
        assert!(
            err.message().contains(name),
            "{name}: the error names the plugin: {err}"
        );
        // The runtime is unharmed: a good plugin still works after each hostile one.
        let good = rt
            .load_plugin(&reglet_tests::name("good"), &echo().wasm())
            .await
            .unwrap();
        assert!(
            good.observe(&config(json!({}))).await.unwrap().passed(),
            "after {name}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_infinite_loop_is_stopped_at_its_deadline() {
    let rt = runtime(RuntimeOptions::new(reglet_tests::redactor()));
    let plugin = rt
        .load_plugin(
            &name("spin"),
            &PluginWat::echo(Gen::One)
                .with_observe("(loop $l (br $l)) (unreachable)")
                .wasm(),
        )
        .await
        .unwrap();
    let started = Instant::now();
    let err = plugin
        .observe_until(&config(json!({})), started + Duration::from_millis(200))
        .await
        .unwrap_err();
    assert_eq!(err.code(), PluginErrorCode::Timeout);
    // A liveness bound, not a timing assertion: the guest must not keep running for long.
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_failures_are_errors_not_empty_metadata() {
    let rt = runtime(RuntimeOptions::new(reglet_tests::redactor()));
    let plugin = PluginWat::echo(Gen::One).with_string(
        "describe_error",
        r#"{"Status":false,"Error":{"message":"plugin not registered","type":"internal","code":""}}"#,
    );
    let wat = plugin.wat().replace(
        &plugin.strings_at("describe"),
        &plugin.strings_at("describe_error"),
    );
    let plugin = rt
        .load_plugin(&name("unregistered"), &wat::parse_str(wat).unwrap())
        .await
        .unwrap();
    let err = plugin.describe().await.unwrap_err();
    assert_eq!(err.code(), PluginErrorCode::InvalidPluginResult);
    assert!(err.message().contains("plugin not registered"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_tasks_observe_through_one_runtime() {
    let rt = runtime(RuntimeOptions::new(reglet_tests::redactor()));
    let plugin = rt
        .load_plugin(&name("echo"), &PluginWat::echo(Gen::One).wasm())
        .await
        .unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..64 {
        let plugin = plugin.clone();
        tasks.spawn(async move {
            let evidence = plugin.observe(&config(json!({"task": i}))).await.unwrap();
            (i, evidence.data.unwrap()["echo"]["task"].as_i64().unwrap())
        });
    }
    let mut seen = 0;
    while let Some(done) = tasks.join_next().await {
        let (sent, echoed) = done.unwrap();
        assert_eq!(sent, echoed);
        seen += 1;
    }
    assert_eq!(seen, 64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warm_pool_prepares_and_refills() {
    let rt = runtime(RuntimeOptions::new(reglet_tests::redactor()));
    let plugin = rt
        .load_plugin(&name("echo"), &PluginWat::echo(Gen::One).wasm())
        .await
        .unwrap();
    assert_eq!(plugin.warm_pool(4).await.unwrap(), 4);
    for _ in 0..6 {
        let evidence = plugin.observe(&config(json!({}))).await.unwrap();
        assert_eq!(
            evidence.data.unwrap()["calls"],
            1,
            "a warm instance is used once"
        );
    }
    let refilled = async {
        while plugin.warm_instances() < 4 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), refilled)
        .await
        .expect("the pool refills");
    plugin.close();
    assert_eq!(plugin.warm_instances(), 0);
    assert!(
        plugin
            .observe(&config(json!({})))
            .await
            .unwrap_err()
            .message()
            .contains("closed")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runtime_is_a_plugin_executor() {
    let rt = runtime(RuntimeOptions::new(reglet_tests::redactor()));
    let executor: Arc<dyn PluginExecutor> = Arc::new(rt);
    let name = PluginName::new("echo").unwrap();
    executor
        .load_plugin(&name, &PluginWat::echo(Gen::One).wasm())
        .await
        .unwrap();
    assert_eq!(
        executor.describe(&name).await.unwrap().name.as_str(),
        "echo"
    );
    assert!(executor.plugin_schema(&name).await.unwrap().is_some());
    // Grants are set through the port after loading, with no recompilation.
    executor
        .set_grants(&name, GrantSet::parse("fs:read:/etc/hostname").unwrap())
        .await
        .unwrap();
    let evidence = executor
        .observe(
            &name,
            &config(json!({"a": 1})),
            Instant::now() + Duration::from_secs(5),
        )
        .await
        .unwrap();
    assert!(evidence.passed());
    assert_eq!(executor.warm_pool(&name, 2).await.unwrap(), 2);
    executor.close(&name).await.unwrap();
    assert!(executor.describe(&name).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compiled_plugins_are_cached_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = PluginWat::echo(Gen::One).wasm();
    for _ in 0..2 {
        let cache = CompilationCache::persistent(dir.path()).unwrap();
        let rt = Runtime::new(RuntimeOptions::new(reglet_tests::redactor()).cache(cache)).unwrap();
        let plugin = rt.load_plugin(&name("echo"), &wasm).await.unwrap();
        assert!(plugin.observe(&config(json!({}))).await.unwrap().passed());
    }
    let mut files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files.len(), 2, "one compiled module and the key: {files:?}");
    assert!(files[0].ends_with(".cwasm"), "{files:?}");
    assert_eq!(files[1], "cache.key");
}

#[test]
fn memory_limits_below_minus_one_are_refused() {
    let err = Runtime::new(RuntimeOptions::new(reglet_tests::redactor()).memory_limit_mib(-2))
        .unwrap_err();
    assert!(
        err.to_string().contains("invalid wasm memory limit -2"),
        "{err}"
    );
}

#[test]
fn secrets_never_leave_through_evidence_errors_logs_or_stdout() {
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let logs = LogCapture::default();
    let _guard = logs.install();
    tokio.block_on(async {
        let redaction = Redaction::new(RedactionConfig::default()).unwrap();
        redaction.register_secret("hunter2-swordfish").unwrap();
        let rt = runtime(RuntimeOptions::new(reglet_tests::redactor()).redactor(Arc::new(redaction)));
        // The plugin logs its config as a log request, prints it on stdout, then echoes it.
        let chatty = PluginWat::echo(Gen::One)
            .with_observe(&format!(
                r#"(call $log (call $pack (local.get $ptr) (local.get $len)))
                   (i32.store (i32.const 16) (local.get $ptr))
                   (i32.store (i32.const 20) (local.get $len))
                   (drop (call $fd_write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24)))
                   (drop (call $fd_write (i32.const 2) (i32.const 16) (i32.const 1) (i32.const 24)))
                   {}"#,
                reglet_tests::echo_observe_body(Gen::One)
            ));
        let plugin = rt.load_plugin(&name("chatty"), &chatty.wasm()).await.unwrap();
        let cfg = config(json!({"level": "WARN", "message": "token is hunter2-swordfish", "password": "plain"}));
        let evidence = plugin.observe(&cfg).await.unwrap();
        let data = serde_json::to_string(&evidence.data).unwrap();
        assert!(!data.contains("hunter2"), "{data}");
        assert!(data.contains("[REDACTED]"), "{data}");
        assert!(!data.contains("plain"), "values under sensitive keys go whole: {data}");

        let failing = PluginWat::echo(Gen::One)
            .with_string("leak", r#"{"Status":false,"Error":{"message":"auth failed for hunter2-swordfish","type":"network","code":"","wrapped":{"message":"inner hunter2-swordfish","type":"internal","code":""}},"Raw":"raw hunter2-swordfish"}"#)
            .with_observe("(call $pack ${leak})");
        let plugin = rt.load_plugin(&name("leaky"), &failing.wasm()).await.unwrap();
        let evidence = plugin.observe(&config(json!({}))).await.unwrap();
        let text = format!("{:?}", evidence);
        assert!(!text.contains("hunter2"), "{text}");
        assert_eq!(evidence.status(), EvidenceStatus::Error);
    });
    let text = logs.text();
    assert!(
        text.contains("token is [REDACTED]"),
        "the guest log line is kept, redacted:\n{text}"
    );
    assert!(
        text.contains("stream=\"stdout\"") && text.contains("stream=\"stderr\""),
        "{text}"
    );
    assert!(text.contains("plugin=chatty"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
}

#[test]
fn a_log_flood_is_bounded_and_the_observation_completes() {
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let logs = LogCapture::default();
    let _guard = logs.install();
    tokio.block_on(async {
        let rt = runtime(RuntimeOptions::new(reglet_tests::redactor()));
        let flood = PluginWat::echo(Gen::One)
            .with_string("line", r#"{"level":"INFO","message":"flood"}"#)
            .with_observe(&format!(
                r#"(loop $l
                     (call $log (call $pack ${{line}}))
                     (local.set $i (i32.add (local.get $i) (i32.const 1)))
                     (br_if $l (i32.lt_u (local.get $i) (i32.const 20000))))
                   {}"#,
                reglet_tests::echo_observe_body(Gen::One)
            ));
        let plugin = rt.load_plugin(&name("flood"), &flood.wasm()).await.unwrap();
        assert!(plugin.observe(&config(json!({}))).await.unwrap().passed());
    });
    let text = logs.text();
    let lines = text
        .lines()
        .filter(|l| l.contains("flood") && l.contains("INFO"))
        .count();
    assert!(lines <= 1000, "{lines} log lines got through");
    assert!(text.contains("dropped"), "the drop is reported");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_an_observation_stops_the_guest() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ticks");
    std::fs::write(&out, b"").unwrap();
    let grant = GrantSet::parse(&format!("fs:write:{}/**", dir.path().display())).unwrap();
    let rt = runtime(RuntimeOptions::new(reglet_tests::redactor()).grant("ticker", grant));
    // Opens <dir>/ticks through the preopen (fd 3) and appends a byte forever.
    let ticker = PluginWat::echo(Gen::One)
        .with_extra(r#"(import "wasi_snapshot_preview1" "path_open" (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))"#)
        .with_string("name", "ticks")
        .with_string("x", "x")
        .with_observe(
            r#"(drop (call $open (i32.const 3) (i32.const 0) ${name} (i32.const 0) (i64.const 64) (i64.const 0) (i32.const 1) (i32.const 8)))
               (i32.store (i32.const 16) ${x:ptr})
               (i32.store (i32.const 20) ${x:len})
               (loop $l
                 (drop (call $fd_write (i32.load (i32.const 8)) (i32.const 16) (i32.const 1) (i32.const 24)))
                 (br $l))
               (unreachable)"#,
        );
    let plugin = rt
        .load_plugin(&name("ticker"), &ticker.wasm())
        .await
        .unwrap();
    let empty = config(json!({}));
    let observation = plugin.observe_until(&empty, Instant::now() + Duration::from_secs(60));
    assert!(
        tokio::time::timeout(Duration::from_millis(300), observation)
            .await
            .is_err(),
        "still running when dropped"
    );
    let size = |p: &std::path::Path| std::fs::metadata(p).unwrap().len();
    let after_drop = size(&out);
    assert!(after_drop > 0, "the guest was writing");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        size(&out),
        after_drop,
        "nothing runs the guest once its future is dropped"
    );
}
