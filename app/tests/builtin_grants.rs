//! What each embedded built-in declares covers what its configs imply, so `reglet check` gives it
//! exactly the grants its observations need, and nothing a config does not name.

use std::sync::Arc;

use reglet::grants::needed;
use reglet_domain::{GrantSet, PluginName};
use reglet_ports::PluginExecutor;
use reglet_redaction::{Redaction, RedactionConfig};
use reglet_runtime::{Runtime, RuntimeOptions};
use serde_json::{Value, json};

async fn declared(runtime: &Runtime, plugin: &str) -> GrantSet {
    let name = PluginName::new(plugin).unwrap();
    let module = reglet_builtins::builtin(plugin).unwrap_or_else(|| panic!("{plugin} is embedded"));
    if runtime.plugin(&name).is_err() {
        runtime.load_plugin(&name, module).await.unwrap();
    }
    PluginExecutor::describe(runtime, &name)
        .await
        .unwrap()
        .capabilities
}

fn needs(config: Value, declared: &GrantSet) -> Vec<String> {
    needed(config.as_object().unwrap(), declared).to_strings()
}

#[tokio::test]
async fn the_built_ins_declarations_cover_their_configs() {
    let redactor = Arc::new(Redaction::new(RedactionConfig::default()).unwrap());
    let runtime = Runtime::new(RuntimeOptions::new(redactor)).unwrap();
    for (plugin, config, want) in [
        (
            "command",
            json!({"run": "systemctl is-active sshd", "env": ["COLUMNS=200", "LANG=C"]}),
            vec![
                "exec:/bin/sh:-c 'systemctl is-active sshd'",
                "exec:env:COLUMNS",
            ],
        ),
        (
            "command",
            json!({"command": "/usr/bin/uptime"}),
            vec!["exec:/usr/bin/uptime:"],
        ),
        (
            "dns",
            json!({"hostname": "example.com"}),
            vec!["network:outbound:example.com:53"],
        ),
        (
            "tcp",
            json!({"host": "db.example.com", "port": "5432"}),
            vec!["network:outbound:db.example.com:5432"],
        ),
        (
            "http",
            json!({"url": "https://example.com/health"}),
            vec!["network:outbound:example.com:443"],
        ),
        (
            "smtp",
            json!({"host": "mail.example.com", "port": 587}),
            vec!["network:outbound:mail.example.com:587"],
        ),
        (
            "file",
            json!({"path": "/etc/ssh/sshd_config"}),
            vec!["fs:read:/etc/ssh/sshd_config"],
        ),
    ] {
        let declared = declared(&runtime, plugin).await;
        assert_eq!(needs(config, &declared), want, "{plugin}");
    }
    // The dns plugin may reach port 53 only: a web port in its config gets it nothing.
    let dns = declared(&runtime, "dns").await;
    assert!(needs(json!({"host": "example.com", "port": 443}), &dns).is_empty());
    // A variable that names a program to run is never covered by the command plugin's wildcard:
    // only a grant naming it exactly, given by hand, lets it through.
    let command = declared(&runtime, "command").await;
    assert_eq!(
        needs(
            json!({"command": "/usr/bin/systemctl", "env": ["SYSTEMD_PAGER=cat"]}),
            &command
        ),
        ["exec:/usr/bin/systemctl:"]
    );
    // The file plugin only reads.
    let file = declared(&runtime, "file").await;
    assert!(needs(json!({"url": "https://example.com/"}), &file).is_empty());
}
