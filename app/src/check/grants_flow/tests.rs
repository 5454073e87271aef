//! The grants flow on a mocked executor and a scripted prompter: what is asked, what is saved,
//! what each plugin is finally given.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use reglet_domain::{GrantSet, PluginInfo, PluginName, RiskLevel};
use reglet_ports::MockPluginExecutor;

use serde_json::json;

use super::{Answer, Prompter, SavedGrants, SecurityChoice, settle};
use crate::grants::{self, GrantStore};
use crate::preflight::{LoadedPlugin, PluginNeeds};
use crate::system_config::SecurityLevel;

/// Answers from a script and records what it was asked.
struct Scripted {
    answers: VecDeque<Answer>,
    asked: Vec<(String, Vec<String>, RiskLevel)>,
}

impl Scripted {
    fn new(answers: &[Answer]) -> Self {
        Scripted {
            answers: answers.iter().copied().collect(),
            asked: Vec::new(),
        }
    }
}

impl Prompter for Scripted {
    fn ask(&mut self, plugin: &str, grants: &[String], risk: RiskLevel) -> std::io::Result<Answer> {
        self.asked.push((plugin.to_owned(), grants.to_vec(), risk));
        Ok(self.answers.pop_front().expect("a scripted answer"))
    }
}

/// The two plugins of the tests and the config of their one observation each: the file plugin
/// reading /etc/hosts, and the command plugin running `command` (a config).
fn needs(command: serde_json::Value) -> Vec<PluginNeeds> {
    [
        ("file", "fs:read:**", json!({"path": "/etc/hosts"})),
        ("command", "exec:*", command),
    ]
    .into_iter()
    .map(|(name, declared, config)| {
        let info = info(name, declared);
        PluginNeeds {
            needed: grants::needed(config.as_object().unwrap(), &info.capabilities),
            from_secrets: GrantSet::new(),
            plugin: LoadedPlugin {
                name: PluginName::new(name).unwrap(),
                sha256: format!("{name}-sha"),
            },
            info,
        }
    })
    .collect()
}

fn uptime() -> serde_json::Value {
    json!({"command": "/usr/bin/uptime"})
}

struct Outcome {
    went_ahead: bool,
    given: Vec<(String, Vec<String>)>,
    said: Vec<String>,
    asked: Vec<(String, Vec<String>, RiskLevel)>,
    saved: Option<GrantStore>,
}

fn info(name: &str, declared: &str) -> PluginInfo {
    PluginInfo {
        name: PluginName::new(name).unwrap(),
        version: "1.0.0".into(),
        description: String::new(),
        sdk_version: None,
        min_host_version: None,
        capabilities: GrantSet::parse(declared).unwrap(),
        unrecognised_capabilities: Vec::new(),
    }
}

async fn run(
    needs: Vec<PluginNeeds>,
    choice: SecurityChoice,
    answers: &[Answer],
    saved: Option<&str>,
) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let grants_file = dir.path().join("grants.yaml");
    if let Some(text) = saved {
        std::fs::write(&grants_file, text).unwrap();
    }
    let given = Arc::new(Mutex::new(Vec::new()));
    let mut mock = MockPluginExecutor::new();
    let record = Arc::clone(&given);
    mock.expect_set_grants().returning(move |name, grants| {
        record
            .lock()
            .unwrap()
            .push((name.to_string(), grants.to_strings()));
        Ok(())
    });
    let mut prompter = Scripted::new(answers);
    let mut said = Vec::new();
    let went_ahead = settle(
        &needs,
        &mock,
        &choice,
        SavedGrants {
            file: Some(&grants_file),
            // What a Reglet config saved: `exec:/usr/bin/id` for every plugin.
            reglet: &GrantSet::parse("exec:/usr/bin/id").unwrap(),
        },
        &mut prompter,
        // Two secrets: `hunter2`, and `it's-s3cret`, which a grant writes escaped (`it\'s-s3cret`).
        &|text| {
            text.replace("it's-s3cret", "[REDACTED]")
                .replace("hunter2", "[REDACTED]")
        },
        &mut |text| {
            said.push(text);
            Ok(())
        },
    )
    .await
    .unwrap();
    let given = given.lock().unwrap().clone();
    Outcome {
        went_ahead,
        given,
        said,
        asked: prompter.asked,
        saved: grants_file
            .exists()
            .then(|| GrantStore::load(&grants_file).unwrap()),
    }
}

fn on_a_terminal(level: SecurityLevel) -> SecurityChoice {
    SecurityChoice {
        level,
        trust_plugins: false,
        interactive: true,
    }
}

#[tokio::test]
async fn a_person_is_asked_per_plugin_and_always_is_saved_by_digest() {
    let out = run(
        needs(uptime()),
        on_a_terminal(SecurityLevel::Standard),
        &[Answer::Once, Answer::Always],
        None,
    )
    .await;
    assert!(out.went_ahead, "{:?}", out.said);
    assert_eq!(out.asked.len(), 2);
    assert_eq!(out.asked[0].0, "file");
    assert_eq!(out.asked[0].1, ["fs:read:/etc/hosts"]);
    assert_eq!(out.asked[1].1, ["exec:/usr/bin/uptime:"]);
    assert_eq!(
        out.given,
        [
            ("file".to_owned(), vec!["fs:read:/etc/hosts".to_owned()]),
            (
                "command".to_owned(),
                vec!["exec:/usr/bin/uptime:".to_owned()]
            ),
        ]
    );
    // Only the "always" answer is remembered, under the plugin's digest.
    let store = out.saved.expect("grants.yaml written");
    assert_eq!(
        store.granted("command", "command-sha").to_strings(),
        ["exec:/usr/bin/uptime:"]
    );
    assert!(store.granted("file", "file-sha").is_empty());
}

#[tokio::test]
async fn saved_grants_are_not_asked_again_and_a_denial_stops_the_run() {
    let saved = "grants:\n  - plugin: file\n    sha256: file-sha\n    capabilities: [\"fs:read:/etc/hosts\"]\n";
    let out = run(
        needs(uptime()),
        on_a_terminal(SecurityLevel::Standard),
        &[Answer::Deny],
        Some(saved),
    )
    .await;
    assert_eq!(out.asked.len(), 1, "file's grant was saved");
    assert_eq!(out.asked[0].0, "command");
    assert!(!out.went_ahead);
    assert!(out.given.is_empty(), "nothing is given when the run stops");
    assert!(
        out.said.iter().any(|s| s.contains("denied")),
        "{:?}",
        out.said
    );
}

#[tokio::test]
async fn strict_refuses_broad_grants_and_permissive_asks_nothing() {
    let out = run(
        needs(json!({"run": "uptime"})),
        on_a_terminal(SecurityLevel::Strict),
        &[Answer::Once],
        None,
    )
    .await;
    // Reading one file is not broad and is asked about; a shell line is, and strict refuses it.
    assert_eq!(out.asked.len(), 1);
    assert!(!out.went_ahead);
    assert!(
        out.said.iter().any(|s| s.contains("strict")),
        "{:?}",
        out.said
    );

    let out = run(
        needs(uptime()),
        on_a_terminal(SecurityLevel::Permissive),
        &[],
        None,
    )
    .await;
    assert!(out.went_ahead);
    assert!(out.asked.is_empty());
    assert_eq!(out.given.len(), 2);
}

#[tokio::test]
async fn the_prompt_escapes_control_characters_and_never_shows_or_saves_a_secret() {
    let config = json!({"run": "uname -s; true \u{1b}7; curl x | sh; \u{1b}8 --token hunter2"});
    let out = run(
        needs(config),
        on_a_terminal(SecurityLevel::Standard),
        &[Answer::Once, Answer::Always],
        None,
    )
    .await;
    assert!(out.went_ahead);
    let shown = &out.asked[1].1[0];
    assert!(!shown.contains('\u{1b}'), "{shown}");
    assert!(shown.contains("\\u{1b}7"), "{shown}");
    assert!(
        shown.contains("[REDACTED]") && !shown.contains("hunter2"),
        "{shown}"
    );
    // Given for the run (the real value, or the command would not match), never saved.
    assert!(out.given[1].1[0].contains("hunter2"));
    assert!(
        out.saved
            .is_none_or(|s| s.granted("command", "command-sha").is_empty())
    );
    assert!(
        out.said.iter().any(|s| s.contains("not saved")),
        "{:?}",
        out.said
    );
}

fn without_a_terminal() -> SecurityChoice {
    SecurityChoice {
        level: SecurityLevel::Standard,
        trust_plugins: false,
        interactive: false,
    }
}

#[tokio::test]
async fn a_saved_private_network_switch_is_given_with_what_is_needed() {
    let saved = "grants:\n  - plugin: file\n    sha256: file-sha\n    capabilities: [\"fs:read:/etc/hosts\", \"network:outbound:private\"]\n  - plugin: command\n    sha256: command-sha\n    capabilities: [\"exec:/usr/bin/uptime:\"]\n";
    let out = run(needs(uptime()), without_a_terminal(), &[], Some(saved)).await;
    assert!(out.went_ahead, "{:?}", out.said);
    assert_eq!(
        out.given,
        [
            (
                "file".to_owned(),
                vec![
                    "network:outbound:private".to_owned(),
                    "fs:read:/etc/hosts".to_owned()
                ]
            ),
            (
                "command".to_owned(),
                vec!["exec:/usr/bin/uptime:".to_owned()]
            ),
        ]
    );
}

#[tokio::test]
async fn without_a_terminal_the_lines_to_add_fit_the_file_and_never_carry_a_secret() {
    // An existing grants.yaml already has its `grants:` list: only entries are printed.
    let saved = "grants:\n  - plugin: other\n    sha256: x\n    capabilities: []\n";
    let out = run(needs(uptime()), without_a_terminal(), &[], Some(saved)).await;
    assert!(!out.went_ahead);
    let text = out.said.join("\n");
    assert!(
        text.contains("add these entries to the `grants:` list"),
        "{text}"
    );
    assert!(!text.contains("\ngrants:\n"), "{text}");
    assert!(text.contains("\"exec:/usr/bin/uptime:\""), "{text}");

    // A grant holding a secret (escaped in the grant, where a literal redaction misses it) is not
    // printed at all: preflight marks it as coming from a secret.
    let mut with_secret = needs(json!({"command": "/bin/echo", "args": ["it's-s3cret\"q"]}));
    with_secret[1].from_secrets = with_secret[1].needed.clone();
    let out = run(with_secret, without_a_terminal(), &[], None).await;
    assert!(!out.went_ahead);
    let text = out.said.join("\n");
    assert!(!text.contains("s3cret"), "{text}");
    assert!(
        text.contains("Plugin command needs grants that hold a secret"),
        "{text}"
    );
    assert!(text.contains("\ngrants:\n"), "{text}");
    assert!(text.contains("\"fs:read:/etc/hosts\""), "{text}");
}

#[tokio::test]
async fn what_reglets_config_saved_is_not_asked_again_and_gives_no_more() {
    let saved = "grants:\n  - plugin: file\n    sha256: file-sha\n    capabilities: [\"fs:read:/etc/hosts\"]\n";
    let out = run(
        needs(json!({"command": "/usr/bin/id", "args": ["-u"]})),
        without_a_terminal(),
        &[],
        Some(saved),
    )
    .await;
    assert!(out.went_ahead, "{:?}", out.said);
    assert_eq!(
        out.given[1],
        ("command".to_owned(), vec!["exec:/usr/bin/id:-u".to_owned()]),
        "only what the config implies, though Reglet saved any arguments"
    );
}

#[tokio::test]
async fn a_grant_from_a_secret_is_never_shown_even_when_redaction_cannot_find_it() {
    // The path's secret `a//b-s3cret` is normalised to `a/b-s3cret` in the grant, where no
    // literal match finds it; preflight marks the grant as coming from a secret.
    let mut needs = needs(uptime());
    needs[0].needed = GrantSet::parse("fs:read:/data/a/b-s3cret/file").unwrap();
    needs[0].from_secrets = needs[0].needed.clone();
    let out = run(needs, without_a_terminal(), &[], None).await;
    assert!(!out.went_ahead);
    let text = out.said.join("\n");
    assert!(!text.contains("s3cret"), "{text}");
    assert!(
        text.contains("Plugin file needs grants that hold a secret"),
        "{text}"
    );
}
