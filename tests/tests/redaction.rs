//! Redaction inside the runtime, end to end: what a plugin returns, logs or says about itself, and
//! what the host logs about its requests, never shows a registered secret, however it is written.

use std::future::Future;
use std::sync::Arc;

use reglet_domain::{Config, GrantSet};
use reglet_redaction::{Redaction, RedactionConfig};
use reglet_runtime::{Runtime, RuntimeOptions};
use reglet_tests::{DESCRIBE_GEN1, Gen, LogCapture, PluginWat, name, runtime};
use serde_json::{Value, json};

const SECRET: &str = "hunter2-swordfish";

fn config(value: Value) -> Config {
    Config::from_value(value).unwrap()
}

/// A runtime whose redactor knows `secrets`.
fn redacting(secrets: &[&str], options: RuntimeOptions) -> Runtime {
    let redaction = Redaction::new(RedactionConfig::default()).unwrap();
    redaction.register_secrets(secrets).unwrap();
    runtime(options.redactor(Arc::new(redaction)))
}

/// A Gen 1 plugin whose observe returns `evidence` as it is.
fn returning(evidence: &str) -> PluginWat {
    PluginWat::echo(Gen::One)
        .with_string("evidence", evidence)
        .with_observe("(call $pack ${evidence})")
}

/// Runs `work` on this thread with its logs captured, and returns its output and the logs.
fn logged<F: Future>(work: F) -> (F::Output, String) {
    let logs = LogCapture::default();
    let output = {
        let _guard = logs.install();
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(work)
    };
    (output, logs.text())
}

/// The evidence of one observation of `plugin` with an empty config.
async fn observe(rt: &Runtime, plugin_name: &str, plugin: PluginWat) -> reglet_domain::Evidence {
    rt.load_plugin(&name(plugin_name), &plugin.wasm())
        .await
        .unwrap()
        .observe(&config(json!({})))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_written_as_a_json_number_is_redacted() {
    let rt = redacting(
        &["987654321"],
        RuntimeOptions::new(reglet_tests::redactor()),
    );
    let plugin = returning(
        r#"{"Status":true,"Data":{"account":987654321,"ids":[1,987654321],"port":5432},"Raw":null}"#,
    );
    let data = observe(&rt, "numbers", plugin).await.data.unwrap();
    assert_eq!(data["account"], "[REDACTED]");
    assert_eq!(data["ids"], json!([1, "[REDACTED]"]));
    assert_eq!(data["port"], 5432, "other numbers stay numbers");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_with_go_style_unicode_escapes_is_redacted() {
    // Go's encoder writes `&<>` as `\u0026\u003c\u003e`; a plugin that passes a command's JSON
    // output on as text keeps those escapes in the string.
    let rt = redacting(
        &["p&ss<word>-2024"],
        RuntimeOptions::new(reglet_tests::redactor()),
    );
    let plugin = returning(
        r#"{"Status":true,"Data":{"output":"{\"value\":\"p\\u0026ss\\u003cword\\u003e-2024\"}"},"Raw":"value=p\\u0026ss\\u003Cword\\u003E-2024"}"#,
    );
    let evidence = observe(&rt, "escaped", plugin).await;
    let output = evidence.data.unwrap()["output"]
        .as_str()
        .unwrap()
        .to_owned();
    let raw = evidence.raw.unwrap();
    for text in [&output, &raw] {
        assert!(text.contains("[REDACTED]"), "{text}");
        assert!(
            !text.contains("word") && !text.contains("p\\u0026"),
            "{text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_percent_encoded_in_lower_case_is_redacted() {
    let rt = redacting(
        &["s3cr3t:pa/ss"],
        RuntimeOptions::new(reglet_tests::redactor()),
    );
    let plugin = returning(
        r#"{"Status":true,"Data":{"location":"https://example.test/cb?next=s3cr3t%3apa%2fss&x=1"},"Raw":null}"#,
    );
    let data = observe(&rt, "percent", plugin).await.data.unwrap();
    let location = data["location"].as_str().unwrap();
    assert_eq!(location, "https://example.test/cb?next=[REDACTED]&x=1");
}

#[test]
fn log_message_attribute_keys_values_and_messages_are_redacted() {
    let line = format!(
        r#"{{"level":"WARN","message":"about {SECRET}","attrs":[{{"key":"{SECRET}","value":"v"}},{{"key":"count","value":987654321}},{{"key":"nested","value":{{"password":"plain-text-pw","note":"{SECRET}"}}}}]}}"#
    );
    let chatty = PluginWat::echo(Gen::One)
        .with_string("line", line)
        .with_observe(&format!(
            "(call $log (call $pack ${{line}})) {}",
            reglet_tests::echo_observe_body(Gen::One)
        ));
    let (evidence, logs) = logged(async {
        let rt = redacting(
            &[SECRET, "987654321"],
            RuntimeOptions::new(reglet_tests::redactor()),
        );
        observe(&rt, "chatty", chatty).await
    });
    assert!(evidence.passed());
    assert!(logs.contains("about [REDACTED]"), "{logs}");
    assert!(logs.contains("[REDACTED]=v"), "the key is redacted: {logs}");
    for leak in ["hunter2", "987654321", "plain-text-pw"] {
        assert!(!logs.contains(leak), "{leak} in the log:\n{logs}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_schema_and_manifest_are_redacted() {
    let rt = redacting(&[SECRET], RuntimeOptions::new(reglet_tests::redactor()));
    let describe = DESCRIBE_GEN1
        .replace(
            "Echoes its config",
            &format!("Echoes its config with {SECRET}"),
        )
        .replace(
            r#"{"kind":"fs","pattern":"read:/etc/hosts"}"#,
            &format!(
                r#"{{"kind":"fs","pattern":"read:/etc/hosts"}},{{"kind":"fs","pattern":"read:/etc/{SECRET}"}}"#
            ),
        );
    let schema_json = format!(
        r#"{{"type":"object","properties":{{"password":{{"type":"string","description":"the {SECRET} one"}},"host":{{"type":"string","default":"{SECRET}.example"}}}}}}"#
    );
    let gen1 = PluginWat::echo(Gen::One)
        .replacing_string("describe", describe)
        .replacing_string("schema", schema_json.as_str());
    let plugin = rt.load_plugin(&name("gen1"), &gen1.wasm()).await.unwrap();
    let info = plugin.describe().await.unwrap();
    assert!(!format!("{info:?}").contains("hunter2"), "{info:?}");
    assert_eq!(info.description, "Echoes its config with [REDACTED]");
    assert_eq!(
        info.capabilities.to_strings(),
        ["network:outbound:53", "fs:read:/etc/hosts"]
    );
    assert!(
        info.unrecognised_capabilities
            .iter()
            .any(|c| c.starts_with("fs:read:/etc/[REDACTED]")),
        "{info:?}"
    );
    assert!(!format!("{:?}", plugin.describe_fresh().await.unwrap()).contains("hunter2"));
    let schema = plugin.schema().await.unwrap().unwrap();
    assert!(!schema.raw().to_string().contains("hunter2"), "{schema:?}");
    let password = schema.field("password").unwrap();
    assert_eq!(password.field_type, "string", "the definition is kept");
    assert_eq!(password.description.as_deref(), Some("the [REDACTED] one"));

    let manifest = format!(
        r#"{{"name":"gen2","version":"2.0.0","description":"uses {SECRET}","sdk_version":"0.1.0","config_schema":{schema_json},"capabilities":{{}}}}"#
    );
    let gen2 = PluginWat::echo(Gen::Two).replacing_string("manifest", manifest);
    let plugin = rt.load_plugin(&name("gen2"), &gen2.wasm()).await.unwrap();
    let info = plugin.describe().await.unwrap();
    assert_eq!(info.description, "uses [REDACTED]");
    let schema = plugin.schema().await.unwrap().unwrap();
    assert!(!schema.raw().to_string().contains("hunter2"), "{schema:?}");
    assert_eq!(schema.field("password").unwrap().field_type, "string");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_and_load_errors_are_redacted() {
    let rt = redacting(&[SECRET], RuntimeOptions::new(reglet_tests::redactor()));
    let failing = PluginWat::echo(Gen::One).replacing_string(
        "describe",
        format!(
            r#"{{"Status":false,"Error":{{"message":"cannot start: {SECRET}","type":"internal","code":""}}}}"#
        ),
    );
    let plugin = rt
        .load_plugin(&name("failing"), &failing.wasm())
        .await
        .unwrap();
    for err in [
        plugin.describe().await.unwrap_err(),
        plugin.describe_fresh().await.unwrap_err(),
    ] {
        assert!(err.message().contains("cannot start: [REDACTED]"), "{err}");
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    let importing =
        PluginWat::echo(Gen::One).with_extra(&format!(r#"(import "env" "{SECRET}" (func))"#));
    let err = rt
        .load_plugin(&name("importing"), &importing.wasm())
        .await
        .unwrap_err();
    assert!(err.message().contains("[REDACTED]"), "{err}");
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

#[test]
fn the_hosts_own_log_lines_are_redacted() {
    let echo = "/usr/bin/echo";
    assert!(std::path::Path::new(echo).exists(), "the test needs {echo}");
    let (evidence, logs) = logged(async {
        let grants = GrantSet::parse(&format!("exec:{echo}")).unwrap();
        let rt = redacting(
            &[SECRET],
            RuntimeOptions::new(reglet_tests::redactor()).grant("exec", grants),
        );
        let exec = rt
            .load_plugin(
                &name("exec"),
                &PluginWat::forwarder(Gen::One, "exec_command").wasm(),
            )
            .await
            .unwrap();
        let evidence = exec
            .observe(&config(json!({"command": echo, "args": ["token", SECRET]})))
            .await
            .unwrap();
        // Refused before any lookup: no grant for the name, so nothing is resolved or dialled.
        let dns = rt
            .load_plugin(
                &name("dns"),
                &PluginWat::forwarder(Gen::One, "dns_lookup").wasm(),
            )
            .await
            .unwrap();
        let refused = dns
            .observe(&config(
                json!({"hostname": format!("{SECRET}.reglet.test"), "type": "A"}),
            ))
            .await
            .unwrap();
        (evidence, refused)
    });
    let (evidence, refused) = evidence;
    assert_eq!(
        evidence.data.unwrap()["response"]["stdout"],
        "token [REDACTED]\n"
    );
    assert_eq!(
        refused.data.unwrap()["response"]["error"]["type"],
        "capability"
    );
    assert!(
        logs.contains("allowed: /usr/bin/echo token [REDACTED]"),
        "{logs}"
    );
    assert!(logs.contains("refused: "), "{logs}");
    assert!(!logs.contains("hunter2"), "{logs}");
}
