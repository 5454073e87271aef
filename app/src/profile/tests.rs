use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;

use super::*;
use crate::expect::EvalInput;
use crate::secrets::{SecretError, SystemSecrets};
use crate::system_config::SecretSources;

/// Writes `files` into a fresh directory; returns it (kept alive by the caller).
fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

fn load_in(dir: &tempfile::TempDir, name: &str) -> Result<LoadedProfile, Diagnostics> {
    load(&dir.path().join(name))
}

const COMPLETE: &str = r#"
profile:
  name: web
  version: 1.0
  description: The web tier
plugins: [file, command, http@^1]
vars:
  sshd: /etc/ssh/sshd_config
  site: { host: example.com, port: 443 }
  team: platform
controls:
  defaults:
    severity: medium
    owner: "{{ .vars.team }}"
    tags: [baseline, soc2]
    timeout: 30s
    retries: 2
    retry_delay: 500ms
    retry_backoff: exponential
    retry_max_delay: 5s
  items:
    - id: sshd-owned-by-root
      name: "{{ .vars.sshd }} is root-owned"
      description: "Checks {{ .vars.sshd }}"
      severity: high
      tags: [ssh, baseline, "{{ .vars.team }}"]
      observations:
        - plugin: file
          config: { path: "{{ .vars.sshd }}", read_content: true }
          expect:
            - data.exists
            - data.uid == 0
    - id: site-up
      name: Site answers
      depends_on: [sshd-owned-by-root]
      timeout: 5s
      retries: 0
      observations:
        - plugin: http
          config:
            url: "https://{{ .vars.site.host }}:{{ .vars.site.port }}/"
            headers: [ "Accept: */*" ]
          expect: data.status_code == 200 && data.response_time_ms < {{ .vars.site.port }}
"#;

#[test]
fn a_complete_profile_loads_with_defaults_applied() {
    let dir = tree(&[("web.yaml", COMPLETE)]);
    let p = load_in(&dir, "web.yaml").unwrap();
    assert_eq!(p.metadata.name, "web");
    assert_eq!(p.metadata.version, "1.0");
    assert_eq!(p.plugins.len(), 3);
    assert_eq!(p.files, [dir.path().join("web.yaml")]);
    assert!(p.warnings.is_empty());

    let sshd = &p.controls[0];
    assert_eq!(sshd.id, "sshd-owned-by-root");
    assert_eq!(sshd.name, "/etc/ssh/sshd_config is root-owned");
    assert_eq!(sshd.description, "Checks /etc/ssh/sshd_config");
    assert_eq!(sshd.severity, Some(Severity::High));
    assert_eq!(sshd.owner.as_deref(), Some("platform"));
    assert_eq!(sshd.tags, ["ssh", "baseline", "platform", "soc2"]);
    assert_eq!(sshd.timeout, Some(Duration::from_secs(30)));
    assert_eq!(
        sshd.retry,
        RetryPolicy {
            retries: 2,
            delay: Duration::from_millis(500),
            backoff: Backoff::Exponential,
            max_delay: Some(Duration::from_secs(5)),
        }
    );
    let obs = &sshd.observations[0];
    assert_eq!(obs.plugin.as_str(), "file");
    assert_eq!(
        serde_json::Value::Object(obs.config.value().clone()),
        json!({"path": "/etc/ssh/sshd_config", "read_content": true})
    );
    assert_eq!(obs.expectations.len(), 2);
    assert_eq!(obs.location.line, 28);

    let site = &p.controls[1];
    assert_eq!(site.severity, Some(Severity::Medium));
    assert_eq!(site.tags, ["baseline", "soc2"]);
    assert_eq!(site.timeout, Some(Duration::from_secs(5)));
    assert_eq!(site.retry.retries, 0, "the control's own setting wins");
    assert_eq!(
        site.retry.backoff,
        Backoff::Exponential,
        "the rest come from defaults"
    );
    assert_eq!(site.depends_on, ["sshd-owned-by-root"]);
    let site_obs = &site.observations[0];
    assert_eq!(site_obs.config.value()["url"], "https://example.com:443/");
    let expect = &site_obs.expectations[0];
    assert_eq!(
        expect.source(),
        "data.status_code == 200 && data.response_time_ms < 443"
    );
    let input = EvalInput::from_data(
        json!({"status_code": 200, "response_time_ms": 12})
            .as_object()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(expect.evaluate(&input), Ok(true));
}

const BASE: &str = r#"
profile: { name: base, version: 1.4.0, description: Org baseline }
plugins: [file, ./probes/probe.wat]
vars:
  paths: { sshd: /etc/ssh/sshd_config, passwd: /etc/passwd }
  owner: security
controls:
  defaults:
    severity: low
    owner: "{{ .vars.owner }}"
    tags: [baseline]
    retries: 3
    retry_backoff: linear
  items:
    - id: a
      name: A
      observations: [{ plugin: file, config: { path: "{{ .vars.paths.sshd }}" } }]
    - id: b
      name: B from base
      observations: [{ plugin: probe }]
    - id: c
      name: C
      observations: [{ plugin: file, config: { path: "{{ .vars.paths.passwd }}" } }]
"#;

const EXTRA: &str = r#"
profile: { name: extra, version: "1" }
plugins: [command]
vars: { owner: platform }
controls:
  defaults: { tags: [extra, baseline] }
  items:
    - id: e
      name: E
      observations: [{ plugin: command, config: { run: "true" } }]
"#;

const CHILD: &str = r#"
profile: { name: child, version: 2.0.0 }
extends: [../base.yaml, ../extra.yaml]
plugins: [file, http]
vars:
  paths: { sshd: /opt/ssh/sshd_config }
controls:
  defaults:
    tags: [prod]
    retry_delay: 2s
  items:
    - id: b
      name: B from child
      observations: [{ plugin: http, config: { url: "https://x" } }]
    - id: d
      name: D
      depends_on: [a]
      observations: [{ plugin: file, config: { path: /etc/hosts } }]
"#;

#[test]
fn extends_merges_parents_left_to_right_then_the_child() {
    let dir = tree(&[
        ("base.yaml", BASE),
        ("probes/probe.wat", "(module)"),
        ("extra.yaml", EXTRA),
        ("prod/child.yaml", CHILD),
    ]);
    let p = load_in(&dir, "prod/child.yaml").unwrap();
    assert_eq!(p.metadata.name, "child");
    assert_eq!(
        p.metadata.description, "Org baseline",
        "unset metadata is inherited"
    );
    let files: Vec<PathBuf> = ["base.yaml", "extra.yaml", "prod/child.yaml"]
        .iter()
        .map(|f| dir.path().join(f))
        .collect();
    assert_eq!(p.files, files);

    let ids: Vec<&str> = p.controls.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        ["a", "b", "c", "e", "d"],
        "an override keeps its parent's place"
    );
    assert_eq!(p.control("b").unwrap().name, "B from child");

    // Deep-merged vars: the child's sshd path wins, the parent's passwd path stays.
    let path = |id: &str| p.control(id).unwrap().observations[0].config.value()["path"].clone();
    assert_eq!(path("a"), "/opt/ssh/sshd_config");
    assert_eq!(path("c"), "/etc/passwd");

    // Defaults merged across all three files and applied to every control.
    let a = p.control("a").unwrap();
    assert_eq!(a.tags, ["baseline", "extra", "prod"]);
    assert_eq!(
        a.owner.as_deref(),
        Some("platform"),
        "a later parent's var wins"
    );
    assert_eq!(a.severity, Some(Severity::Low));
    assert_eq!(
        a.retry,
        RetryPolicy {
            retries: 3,
            delay: Duration::from_secs(2),
            backoff: Backoff::Linear,
            max_delay: None,
        },
        "retry defaults survive the merge"
    );

    // Plugins: concatenated, duplicates dropped; the parent's path is relative to the parent.
    let names: Vec<&str> = p.plugins.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["file", "probe", "command", "http"]);
    assert_eq!(
        p.plugins[1].source,
        PluginSource::Path(dir.path().join("./probes/probe.wat"))
    );
    assert_eq!(
        p.control("a").unwrap().location.file.as_ref(),
        dir.path().join("base.yaml")
    );
}

#[test]
fn a_diamond_is_not_a_cycle() {
    let leaf = "profile: { name: l, version: '1' }\nplugins: [file]\ncontrols:\n  items:\n    - { id: x, name: X, observations: [{ plugin: file }] }\n";
    let mid = |n: &str| format!("profile: {{ name: {n}, version: '1' }}\nextends: [leaf.yaml]\n");
    let dir = tree(&[
        ("leaf.yaml", leaf),
        ("m1.yaml", &mid("m1")),
        ("m2.yaml", &mid("m2")),
        (
            "top.yaml",
            "profile: { name: top, version: '1' }\nextends: [m1.yaml, m2.yaml]\n",
        ),
    ]);
    let p = load_in(&dir, "top.yaml").unwrap();
    assert_eq!(p.controls.len(), 1);
}

/// One error case: files, the file to load, what the message says and the line it names.
struct Case {
    name: &'static str,
    files: &'static [(&'static str, &'static str)],
    load: &'static str,
    message: &'static str,
    line: usize,
}

const HEAD: &str = "profile: { name: p, version: '1' }\nplugins: [file]\n";

macro_rules! profile {
    ($($line:expr),* $(,)?) => { concat!("profile: { name: p, version: '1' }\nplugins: [file]\n", $($line, "\n"),*) };
}

const CASES: &[Case] = &[
    Case {
        name: "unknown top-level key",
        files: &[("p.yaml", profile!("contols: {}"))],
        load: "p.yaml",
        message: "unknown key `contols` in the profile; did you mean `controls`?",
        line: 3,
    },
    Case {
        name: "unknown control key",
        files: &[(
            "p.yaml",
            profile!(
                "controls:",
                "  items:",
                "    - id: a",
                "      name: A",
                "      sevrity: high",
                "      observations: [{ plugin: file }]"
            ),
        )],
        load: "p.yaml",
        message: "unknown key `sevrity` in a control; did you mean `severity`?",
        line: 7,
    },
    Case {
        name: "unknown observation key",
        files: &[(
            "p.yaml",
            profile!(
                "controls:",
                "  items:",
                "    - id: a",
                "      name: A",
                "      observations:",
                "        - plugin: file",
                "          expects: data.exists"
            ),
        )],
        load: "p.yaml",
        message: "unknown key `expects` in an observation; did you mean `expect`?",
        line: 9,
    },
    Case {
        name: "wrong type",
        files: &[(
            "p.yaml",
            profile!(
                "controls:",
                "  items:",
                "    - id: a",
                "      name: A",
                "      tags: {x: 1}",
                "      observations: [{ plugin: file }]"
            ),
        )],
        load: "p.yaml",
        message: "`tags` must be a list of strings, found a mapping",
        line: 7,
    },
    Case {
        name: "duplicate control id",
        files: &[(
            "p.yaml",
            profile!(
                "controls:",
                "  items:",
                "    - { id: a, name: A, observations: [{ plugin: file }] }",
                "    - { id: a, name: B, observations: [{ plugin: file }] }"
            ),
        )],
        load: "p.yaml",
        message: "duplicate control id `a` (first defined at",
        line: 6,
    },
    Case {
        name: "missing control id",
        files: &[(
            "p.yaml",
            profile!(
                "controls:",
                "  items:",
                "    - { id: a, name: A, observations: [{ plugin: file }] }",
                "    - { name: B, observations: [{ plugin: file }] }"
            ),
        )],
        load: "p.yaml",
        message: "a control needs an `id`",
        line: 6,
    },
    Case {
        name: "unknown dependency",
        files: &[(
            "p.yaml",
            profile!(
                "controls:",
                "  items:",
                "    - { id: dns, name: A, observations: [{ plugin: file }] }",
                "    - { id: tls, name: B, depends_on: [dsn], observations: [{ plugin: file }] }"
            ),
        )],
        load: "p.yaml",
        message: "control `tls` depends on `dsn`, which is not a control; did you mean `dns`?",
        line: 6,
    },
    Case {
        name: "dependency cycle",
        files: &[(
            "p.yaml",
            profile!(
                "controls:",
                "  items:",
                "    - { id: a, name: A, depends_on: [b], observations: [{ plugin: file }] }",
                "    - { id: b, name: B, depends_on: [a], observations: [{ plugin: file }] }"
            ),
        )],
        load: "p.yaml",
        message: "dependency cycle: a -> b -> a",
        line: 5,
    },
    Case {
        name: "undefined var in config",
        files: &[(
            "p.yaml",
            profile!(
                "vars: { sshd_path: /x }",
                "controls:",
                "  items:",
                "    - id: a",
                "      name: A",
                "      observations:",
                "        - plugin: file",
                "          config: { path: \"{{ .vars.sshd_pth }}\" }"
            ),
        )],
        load: "p.yaml",
        message: "undefined var `sshd_pth` in `path`; did you mean `.vars.sshd_path`?",
        line: 10,
    },
    Case {
        name: "undefined var in expect",
        files: &[(
            "p.yaml",
            profile!(
                "controls:",
                "  items:",
                "    - id: a",
                "      name: A",
                "      observations:",
                "        - plugin: file",
                "          expect:",
                "            - data.size < {{ .vars.max }}"
            ),
        )],
        load: "p.yaml",
        message: "undefined var `max` in `expect`",
        line: 10,
    },
    Case {
        name: "secret outside config",
        files: &[(
            "p.yaml",
            profile!(
                "controls:",
                "  items:",
                "    - id: a",
                "      name: A",
                "      description: 'token {{ secret \"t\" }}'",
                "      observations: [{ plugin: file }]"
            ),
        )],
        load: "p.yaml",
        message: "secrets are only allowed in observation config strings",
        line: 7,
    },
    Case {
        name: "undeclared plugin",
        files: &[(
            "p.yaml",
            profile!(
                "controls:",
                "  items:",
                "    - id: a",
                "      name: A",
                "      observations:",
                "        - plugin: fil"
            ),
        )],
        load: "p.yaml",
        message: "plugin `fil` is not declared in `plugins:`; did you mean `file`?",
        line: 8,
    },
    Case {
        name: "unknown plugin",
        files: &[(
            "p.yaml",
            "profile: { name: p, version: '1' }\nplugins:\n  - file\n  - fiel\n",
        )],
        load: "p.yaml",
        message: "unknown plugin `fiel`",
        line: 4,
    },
    Case {
        name: "OCI plugin",
        files: &[(
            "p.yaml",
            "profile: { name: p, version: '1' }\nplugins: [ghcr.io/acme/plugins/aws:1.0.0]\n",
        )],
        load: "p.yaml",
        message: "is an OCI reference; fetching plugins from registries is not supported yet",
        line: 2,
    },
    Case {
        name: "expect syntax error",
        files: &[(
            "p.yaml",
            profile!(
                "controls:",
                "  items:",
                "    - id: a",
                "      name: A",
                "      observations:",
                "        - plugin: file",
                "          expect: [data.exists, data.size >]"
            ),
        )],
        load: "p.yaml",
        message: "expectation `data.size >` does not compile: syntax error at column 12",
        line: 9,
    },
    Case {
        name: "expect unknown name",
        files: &[(
            "p.yaml",
            profile!(
                "controls:",
                "  items:",
                "    - id: a",
                "      name: A",
                "      observations:",
                "        - plugin: file",
                "          expect: |",
                "            stdout == \"ok\""
            ),
        )],
        load: "p.yaml",
        message: "expectation `stdout == \"ok\"` does not compile: unknown name `stdout`",
        line: 10,
    },
    Case {
        name: "invalid severity",
        files: &[(
            "p.yaml",
            profile!("controls:", "  defaults: { severity: urgent }"),
        )],
        load: "p.yaml",
        message: "invalid `severity`: \"urgent\" is not a severity",
        line: 4,
    },
    Case {
        name: "invalid duration",
        files: &[(
            "p.yaml",
            profile!("controls:", "  defaults:", "    timeout: 30"),
        )],
        load: "p.yaml",
        message: "invalid `timeout`: a duration needs a unit, e.g. \"30s\"",
        line: 5,
    },
    Case {
        name: "extends cycle",
        files: &[
            (
                "a.yaml",
                "profile: { name: a, version: '1' }\nextends: [b.yaml]\n",
            ),
            (
                "b.yaml",
                "profile: { name: b, version: '1' }\n\nextends:\n  - ./a.yaml\n",
            ),
        ],
        load: "a.yaml",
        message: "a.yaml -> ",
        line: 4,
    },
    Case {
        name: "missing parent",
        files: &[(
            "p.yaml",
            "profile: { name: p, version: '1' }\nextends:\n  - nope.yaml\n",
        )],
        load: "p.yaml",
        message: "cannot read",
        line: 3,
    },
    Case {
        name: "YAML syntax error",
        files: &[(
            "p.yaml",
            "profile: { name: p, version: '1' }\ncontrols:\n  items: [\n",
        )],
        load: "p.yaml",
        message: "invalid YAML",
        line: 4,
    },
    Case {
        name: "YAML bomb",
        files: &[(
            "p.yaml",
            "vars:\n  a: &a [x, x, x, x, x, x, x, x, x, x]\n  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n  d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n  e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n  f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n",
        )],
        load: "p.yaml",
        message: "this is how YAML bombs work",
        line: 6,
    },
    Case {
        name: "duplicate YAML key",
        files: &[(
            "p.yaml",
            "profile: { name: p, version: '1' }\nplugins: [file]\nplugins: [http]\n",
        )],
        load: "p.yaml",
        message: "duplicate key `plugins` (first at line 2)",
        line: 3,
    },
    Case {
        name: "control without name",
        files: &[(
            "p.yaml",
            profile!(
                "controls:",
                "  items:",
                "    - id: a",
                "      observations: [{ plugin: file }]"
            ),
        )],
        load: "p.yaml",
        message: "control `a` needs `name`",
        line: 5,
    },
    Case {
        name: "control without observations",
        files: &[(
            "p.yaml",
            profile!("controls:", "  items:", "    - { id: a, name: A }"),
        )],
        load: "p.yaml",
        message: "control `a` (at least one) needs `observations`",
        line: 5,
    },
    Case {
        name: "profile without name",
        files: &[(
            "p.yaml",
            "profile: { version: '1' }\nplugins: [file]\ncontrols:\n  items: [{ id: a, name: A, observations: [{ plugin: file }] }]\n",
        )],
        load: "p.yaml",
        message: "the profile needs `profile.name`",
        line: 0,
    },
    Case {
        name: "var holding a list",
        files: &[(
            "p.yaml",
            profile!(
                "vars: { hosts: [a, b] }",
                "controls:",
                "  items:",
                "    - id: a",
                "      name: \"{{ .vars.hosts }}\"",
                "      observations: [{ plugin: file }]"
            ),
        )],
        load: "p.yaml",
        message: "var `hosts` used in `name` is a list",
        line: 7,
    },
];

#[test]
fn each_error_names_its_line() {
    assert!(HEAD.starts_with("profile:"));
    for case in CASES {
        let dir = tree(case.files);
        let err = match load_in(&dir, case.load) {
            Ok(_) => panic!("{}: loaded", case.name),
            Err(e) => e,
        };
        let found = err
            .errors()
            .iter()
            .find(|e| e.to_string().contains(case.message))
            .unwrap_or_else(|| panic!("{}: no `{}` in:\n{err}", case.name, case.message));
        assert_eq!(found.location().line, case.line, "{}: {found}", case.name);
        let shown = found.to_string();
        let prefix = if case.line == 0 {
            format!("{}: ", found.location().file.display())
        } else {
            format!("{}:{}:", found.location().file.display(), case.line)
        };
        assert!(shown.starts_with(&prefix), "{}: {shown}", case.name);
    }
}

#[test]
fn all_errors_of_a_file_are_reported_at_once() {
    let dir = tree(&[(
        "p.yaml",
        profile!(
            "contols: {}",
            "controls:",
            "  items:",
            "    - id: a",
            "      name: A",
            "      severity: huge",
            "      depends_on: [nope]",
            "      observations:",
            "        - plugin: file",
            "          expect: [bad ==, \"{{ .vars.missing }}\"]",
            "        - plugin: dns"
        ),
    )]);
    let err = load_in(&dir, "p.yaml").unwrap_err();
    let lines: Vec<usize> = err.errors().iter().map(|e| e.location().line).collect();
    assert_eq!(lines, [3, 8, 9, 12, 12, 13], "{err}");
}

#[test]
fn tolerated_reglet_keys_warn_instead_of_failing() {
    let dir = tree(&[(
        "p.yaml",
        profile!(
            "controls:",
            "  items:",
            "    - id: a",
            "      name: A",
            "      remediation: fix it",
            "      observations:",
            "        - plugin: file",
            "          capabilities: [fs:read:/etc/hosts]"
        ),
    )]);
    let p = load_in(&dir, "p.yaml").unwrap();
    let lines: Vec<usize> = p.warnings.iter().map(|w| w.location.line).collect();
    assert_eq!(lines, [7, 10]);
    assert!(p.warnings[0].message.contains("has no effect"));
}

const WITH_SECRETS: &str = r#"
profile: { name: s, version: '1' }
plugins: [command, http]
vars:
  sneaky: '{{ secret "db_password" }}'
  host: api.example.com
controls:
  items:
    - id: deploy
      name: Deploy token accepted
      observations:
        - plugin: command
          config:
            command: /usr/bin/curl
            env:
              - 'TOKEN={{ secret "deploy_token" }}'
              - 'HOST={{ .vars.host }}'
              - 'LEAK={{ .vars.sneaky }}'
    - id: api
      name: API
      observations:
        - plugin: http
          config:
            url: 'https://{{ .vars.host }}/?t={{ secret "deploy_token" }}&u={{ secret "user" }}'
"#;

#[test]
fn secrets_are_resolved_in_a_separate_step() {
    let dir = tree(&[("s.yaml", WITH_SECRETS)]);
    let p = load_in(&dir, "s.yaml").unwrap();
    let names: Vec<(&str, usize)> = p
        .secret_names()
        .into_iter()
        .map(|(n, l)| (n, l.line))
        .collect();
    assert_eq!(names, [("deploy_token", 16), ("user", 24)]);

    let config = &p.controls[0].observations[0].config;
    assert_eq!(
        config.value()["env"],
        json!([
            "TOKEN={{ secret \"deploy_token\" }}",
            "HOST=api.example.com",
            "LEAK={{ secret \"db_password\" }}"
        ]),
        "before resolution nothing secret is in the config"
    );

    let mut sources = SecretSources::default();
    sources
        .env
        .insert("deploy_token".into(), "DEPLOY_TOKEN".into());
    sources.local.insert("user".into(), "ci-bot".into());
    sources
        .local
        .insert("db_password".into(), "must-never-appear".into());
    let source =
        SystemSecrets::with_env(&sources, |v| (v == "DEPLOY_TOKEN").then(|| "t0k3n".into()));
    let secrets = p.resolve_secrets(&source).unwrap();
    let mut values: Vec<&str> = secrets.values().collect();
    values.sort_unstable();
    assert_eq!(
        values,
        ["ci-bot", "t0k3n"],
        "only secrets the profile itself uses"
    );

    let expanded = config.expand(&secrets).unwrap();
    assert_eq!(
        serde_json::Value::Object(expanded.clone())["env"],
        json!([
            "TOKEN=t0k3n",
            "HOST=api.example.com",
            "LEAK={{ secret \"db_password\" }}"
        ]),
        "a var holding a secret template is not expanded (Reglet's second-order gap)"
    );
    assert!(
        !serde_json::to_string(&expanded)
            .unwrap()
            .contains("must-never-appear")
    );
    let url = p.controls[1].observations[0]
        .config
        .expand(&secrets)
        .unwrap()["url"]
        .clone();
    assert_eq!(url, "https://api.example.com/?t=t0k3n&u=ci-bot");
}

#[test]
fn unresolvable_secrets_point_at_their_first_use() {
    let dir = tree(&[("s.yaml", WITH_SECRETS)]);
    let p = load_in(&dir, "s.yaml").unwrap();
    struct Nothing;
    impl crate::secrets::SecretSource for Nothing {
        fn resolve(&self, name: &str) -> Result<String, SecretError> {
            Err(SecretError::NotFound { name: name.into() })
        }
    }
    let err = p.resolve_secrets(&Nothing).unwrap_err();
    let shown: Vec<String> = err.errors().iter().map(|e| e.to_string()).collect();
    assert_eq!(shown.len(), 2);
    assert!(
        shown[0].contains(":16:") && shown[0].contains("secret `deploy_token`"),
        "{shown:?}"
    );
    assert!(
        shown[1].contains(":24:") && shown[1].contains("sensitive_data.secrets"),
        "{shown:?}"
    );
}

#[test]
fn expect_accepts_a_string_or_a_list() {
    let dir = tree(&[(
        "p.yaml",
        profile!(
            "controls:",
            "  items:",
            "    - id: a",
            "      name: A",
            "      observations:",
            "        - { plugin: file, expect: data.exists }",
            "        - { plugin: file, expect: [data.exists, data.size > 0] }",
            "        - plugin: file",
            "          expect: |",
            "            data.exists &&",
            "            data.mode in ['0600', '0644']",
            "        - { plugin: file }"
        ),
    )]);
    let p = load_in(&dir, "p.yaml").unwrap();
    let counts: Vec<usize> = p.controls[0]
        .observations
        .iter()
        .map(|o| o.expectations.len())
        .collect();
    assert_eq!(counts, [1, 2, 1, 0]);
}

#[test]
fn files_over_the_size_cap_are_refused() {
    let dir = tree(&[("p.yaml", &format!("# {}\n", "x".repeat(2048)))]);
    let options = LoadOptions {
        limits: crate::yaml::Limits {
            max_bytes: 1024,
            ..crate::yaml::Limits::default()
        },
        ..LoadOptions::default()
    };
    let err = load_with(&dir.path().join("p.yaml"), &options).unwrap_err();
    assert!(
        err.to_string().contains("larger than the 1 KiB limit"),
        "{err}"
    );
}
