//! Unit tests of the grant algebra; its properties are in `properties.rs`.

use std::path::Path;

use serde_json::json;

use super::*;

fn set(texts: &[&str]) -> GrantSet {
    GrantSet::parse_all(texts).unwrap()
}

fn connect(host: &str, port: u16) -> AccessRequest<'_> {
    AccessRequest::Connect { host, port }
}

/// True when `grants` allow running `command` with `args`.
fn runs(grants: &GrantSet, command: &str, args: &[&str]) -> bool {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    grants.allows(&AccessRequest::Exec {
        command,
        args: &args,
    })
}

#[test]
fn reglet_string_forms_parse_and_display() {
    for (text, shown) in [
        ("network:outbound:443", vec!["network:outbound:443"]),
        (
            "network:outbound:80,443",
            vec!["network:outbound:80", "network:outbound:443"],
        ),
        (
            "network:outbound:8000-9000",
            vec!["network:outbound:8000-9000"],
        ),
        ("network:outbound:private", vec!["network:outbound:private"]),
        ("network:outbound:*", vec!["network:outbound:*"]),
        ("fs:read:/etc/**", vec!["fs:read:/etc/**"]),
        ("fs:write:/tmp/**", vec!["fs:write:/tmp/**"]),
        ("fs:read:**", vec!["fs:read:/**"]),
        ("env:AWS_*", vec!["env:AWS_*"]),
        ("exec:/usr/bin/systemctl", vec!["exec:/usr/bin/systemctl"]),
        ("exec:/bin/*", vec!["exec:/bin/*"]),
        ("exec:**", vec!["exec:**"]),
        ("exec:*", vec!["exec:**"]),
        ("exec:uptime", vec!["exec:uptime"]),
        ("exec:env", vec!["exec:env"]),
        (
            "exec:/usr/bin/systemctl:is-active  *",
            vec!["exec:/usr/bin/systemctl:is-active *"],
        ),
        ("exec:/usr/bin/uptime:", vec!["exec:/usr/bin/uptime:"]),
        ("exec:/usr/bin/git:**", vec!["exec:/usr/bin/git"]),
        ("exec:env:GIT_DIR", vec!["exec:env:GIT_DIR"]),
        ("exec:env:AWS_*", vec!["exec:env:AWS_*"]),
    ] {
        assert_eq!(GrantSet::parse(text).unwrap().to_strings(), shown, "{text}");
    }
}

#[test]
fn bad_strings_get_errors_that_name_the_text() {
    for (text, needle) in [
        ("network:outbound:9000-80", "invalid port range \"9000-80\""),
        ("network:outbound:70000", "invalid port \"70000\""),
        ("network:inbound:80", "direction"),
        ("fs:/etc/**", "read: or write:"),
        ("fs:read:etc/**", "absolute"),
        ("fs:read:/tmp/../etc", "'..'"),
        ("env:A*B", "trailing"),
        ("exec:bin/sh", "absolute path"),
        ("exec:env:", "empty"),
        ("exec:env:A*B", "trailing"),
        ("exec:env:A=B", "'='"),
        ("exec:/bin/echo:'open", "quote"),
        ("exec:/bin/echo:[x", "'['"),
        ("kv:read:x", "unknown capability kind \"kv\""),
        ("nokind", "has no kind"),
        ("fs:", "empty pattern"),
    ] {
        let err = GrantSet::parse(text).unwrap_err().to_string();
        assert!(err.contains(needle), "{text}: {err}");
    }
}

#[test]
fn network_requests() {
    let grants = set(&[
        "network:outbound:443",
        "network:outbound:db.internal:5432",
        "network:outbound:10.0.0.0/8:22",
    ]);
    assert!(grants.allows(&connect("example.com", 443)));
    assert!(!grants.allows(&connect("example.com", 80)));
    assert!(grants.allows(&connect("DB.Internal.", 5432)));
    assert!(!grants.allows(&connect("db.internal", 5433)));
    assert!(grants.allows(&connect("10.2.3.4", 22)));
    assert!(grants.allows(&connect("012.2.3.4", 22)), "octal 012 is 10");
    assert!(!grants.allows(&connect("11.2.3.4", 22)));
}

#[test]
fn wildcards_never_imply_private_networks() {
    assert!(!set(&["network:outbound:*"]).allows_private_networks());
    let json: GrantSet =
        serde_json::from_value(json!({"network":{"rules":[{"hosts":["*"],"ports":["*"]}]}}))
            .unwrap();
    assert!(!json.allows_private_networks());
    assert!(set(&["network:outbound:private"]).allows_private_networks());
}

#[test]
fn fs_requests_are_normalised() {
    let grants = set(&[
        "fs:read:/etc/ssh/**",
        "fs:write:/tmp/**",
        "fs:read:/var/log/*.log",
    ]);
    let read = |p: &str| grants.allows(&AccessRequest::ReadFile(Path::new(p)));
    let write = |p: &str| grants.allows(&AccessRequest::WriteFile(Path::new(p)));
    assert!(read("/etc/ssh/sshd_config"));
    assert!(read("/etc/ssh"));
    assert!(!read("/etc/shadow"));
    assert!(!read("/etc/ssh/../shadow"));
    assert!(!read("/tmp/../etc/passwd"));
    assert!(read("/tmp/x"), "write implies read");
    assert!(write("/tmp/a/b"));
    assert!(!write("/etc/ssh/sshd_config"));
    assert!(read("/var/log/syslog.log"));
    assert!(!read("/var/log/syslog"));
    assert!(
        !read("etc/ssh/sshd_config"),
        "relative paths are never allowed"
    );
}

#[test]
fn env_and_exec_requests() {
    let grants = set(&[
        "env:AWS_*",
        "env:HOME",
        "exec:/usr/bin/systemctl",
        "exec:/opt/tools/*",
        "exec:uptime",
    ]);
    assert!(grants.allows(&AccessRequest::ReadEnv("AWS_REGION")));
    assert!(grants.allows(&AccessRequest::ReadEnv("HOME")));
    assert!(!grants.allows(&AccessRequest::ReadEnv("HOMEDIR")));
    assert!(!grants.allows(&AccessRequest::ReadEnv("aws_region")));
    assert!(runs(&grants, "/usr/bin/systemctl", &["status"]));
    assert!(runs(&grants, "/usr/bin/../bin/systemctl", &[]));
    assert!(!runs(&grants, "/usr/bin/systemctl2", &[]));
    assert!(runs(&grants, "/opt/tools/check", &["-v"]));
    assert!(!runs(&grants, "/opt/tools/sub/check", &[]));
    assert!(runs(&grants, "uptime", &[]));
    assert!(!runs(&grants, "/usr/bin/uptime", &[]));
    assert!(runs(&set(&["exec:**"]), "/anything", &["at", "all"]));
}

#[test]
fn pinned_grants_allow_only_matching_arguments() {
    let grants = set(&[
        "exec:/usr/bin/systemctl:is-active [!-]*",
        "exec:/usr/bin/uptime:",
    ]);
    assert!(runs(&grants, "/usr/bin/systemctl", &["is-active", "sshd"]));
    assert!(!runs(
        &grants,
        "/usr/bin/systemctl",
        &["is-active", "-H", "x"]
    ));
    assert!(!runs(
        &grants,
        "/usr/bin/systemctl",
        &["is-active", "--host=x"]
    ));
    assert!(!runs(&grants, "/usr/bin/systemctl", &["start", "sshd"]));
    assert!(runs(&grants, "/usr/bin/uptime", &[]));
    assert!(!runs(&grants, "/usr/bin/uptime", &["-p"]));
    let both = grants.merge(&set(&["exec:/usr/bin/uptime"]));
    assert!(
        runs(&both, "/usr/bin/uptime", &["-p"]),
        "an unpinned grant adds"
    );
}

#[test]
fn exec_environment_grants() {
    let grants = set(&[
        "exec:env:GIT_AUTHOR_NAME",
        "exec:env:MY_*",
        "exec:env:LD_PRELOAD",
    ]);
    let allows = |name| grants.allows(&AccessRequest::ExecEnv(name));
    assert!(allows("GIT_AUTHOR_NAME"));
    assert!(allows("MY_FLAG"));
    assert!(allows("LD_PRELOAD"), "named exactly");
    assert!(!allows("GIT_EXTERNAL_DIFF"));
    assert!(!allows("LD_AUDIT"));
    assert!(
        !grants.allows(&AccessRequest::ReadEnv("MY_FLAG")),
        "a different kind"
    );
    let any = set(&["exec:env:*"]);
    for hijack in [
        "LD_PRELOAD",
        "PATH",
        "GIT_EXTERNAL_DIFF",
        "BASH_ENV",
        "PYTHONPATH",
    ] {
        assert!(!any.allows(&AccessRequest::ExecEnv(hijack)), "{hijack}");
    }
    assert!(!any.contains(&set(&["exec:env:LD_PRELOAD"])));
    assert!(set(&["exec:env:LD_PRELOAD"]).contains(&set(&["exec:env:LD_PRELOAD"])));
}

#[test]
fn naming_a_command_is_more_than_matching_it() {
    let grants = set(&[
        "exec:/bin/*",
        "exec:/usr/bin/python3",
        "exec:sh",
        "exec:/bin/dash:--version",
    ]);
    assert!(runs(&grants, "/bin/bash", &[]));
    assert!(
        !grants.names_command("/bin/bash", NO_ARGS),
        "a wildcard does not name bash"
    );
    assert!(grants.names_command("/usr/bin/python3", &["-c", "1"]));
    assert!(grants.names_command("/usr/bin/../bin/python3", NO_ARGS));
    assert!(grants.names_command("sh", NO_ARGS));
    assert!(!set(&["exec:**"]).names_command("/bin/sh", NO_ARGS));
    assert!(grants.names_command("/bin/dash", &["--version"]));
    assert!(
        !grants.names_command("/bin/dash", &["-c", "id"]),
        "a pinned grant names only the command lines it allows, even beside a wildcard"
    );
}

const NO_ARGS: &[&str] = &[];

#[test]
fn requests_display_as_the_grant_they_need() {
    assert_eq!(
        connect("Example.com", 443).to_string(),
        "network:outbound:example.com:443"
    );
    assert_eq!(
        connect("2130706433", 80).to_string(),
        "network:outbound:127.0.0.1:80"
    );
    assert_eq!(connect("::1", 80).to_string(), "network:outbound:[::1]:80");
    let args = ["-c".to_owned(), "echo hi".to_owned()];
    assert_eq!(
        AccessRequest::Exec {
            command: "/bin/sh",
            args: &args
        }
        .to_string(),
        "exec:/bin/sh:-c 'echo hi'"
    );
    assert_eq!(
        AccessRequest::Exec {
            command: "env",
            args: &args
        }
        .to_string(),
        "exec:env"
    );
    assert_eq!(
        AccessRequest::ExecEnv("GIT_DIR").to_string(),
        "exec:env:GIT_DIR"
    );
    assert_eq!(
        AccessRequest::ReadFile(Path::new("/etc/hosts")).to_string(),
        "fs:read:/etc/hosts"
    );
}

#[test]
fn merge_difference_contains() {
    let required = set(&[
        "fs:read:/etc/hosts",
        "network:outbound:53",
        "exec:/bin/ls",
        "env:HOME",
    ]);
    let granted = set(&["fs:read:/etc/**", "network:outbound:1-1024"]);
    let missing = required.difference(&granted);
    assert_eq!(missing.to_strings(), ["env:HOME", "exec:/bin/ls"]);
    assert!(!granted.contains(&required));
    assert!(granted.merge(&missing).contains(&required));
    assert!(set(&["fs:write:/tmp/**"]).contains(&set(&["fs:read:/tmp/x"])));
    assert!(!set(&["fs:read:/tmp/**"]).contains(&set(&["fs:write:/tmp/x"])));
    assert!(GrantSet::new().is_empty());
    assert!(!set(&["network:outbound:private"]).is_empty());
    assert!(set(&["network:outbound:private"]).contains(&GrantSet::new()));
    assert!(!GrantSet::new().contains(&set(&["network:outbound:private"])));
}

#[test]
fn gen2_json_shape_round_trips() {
    let doc = json!({
        "network": {"rules": [{"hosts": ["api.example.com", "*.corp.example"], "ports": ["443", "8000-9000"]},
                              {"hosts": ["*"], "ports": [53]}],
                    "allow_private": true},
        "fs": {"rules": [{"read": ["/etc/ssh/**"], "write": ["/tmp/**"]}]},
        "env": {"variables": ["AWS_REGION"], "vars": ["HOME"]},
        "exec": {"commands": ["/usr/bin/systemctl", "/usr/bin/uptime:", "/bin/echo:'a b' *", "env:MY_*"]},
        "kv": {"rules": [{"op": "read-write", "keys": ["cache-*"]}]}
    });
    let grants: GrantSet = serde_json::from_value(doc).unwrap();
    assert!(grants.allows(&connect("x.corp.example", 8080)));
    assert!(grants.allows(&connect("anything.example", 53)));
    assert!(grants.allows_private_networks());
    assert!(grants.allows(&AccessRequest::ReadEnv("AWS_REGION")));
    assert!(grants.allows(&AccessRequest::ExecEnv("MY_FLAG")));
    assert!(runs(&grants, "/bin/echo", &["a b", "c"]));
    assert!(!runs(&grants, "/bin/echo", &["a", "b", "c"]));
    let again: GrantSet = serde_json::from_value(serde_json::to_value(&grants).unwrap()).unwrap();
    assert_eq!(again, grants);
    assert_eq!(
        serde_json::to_value(set(&["network:outbound:80,443"])).unwrap(),
        json!({"network": {"rules": [{"hosts": ["*"], "ports": ["80", "443"]}]}})
    );
}

#[test]
fn bad_json_names_the_value() {
    let err = serde_json::from_value::<GrantSet>(
        json!({"network":{"rules":[{"hosts":["*"],"ports":["9000-80"]}]}}),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("9000-80"), "{err}");
}

#[test]
fn risk_levels_and_reasons() {
    let cases = [
        (vec![], RiskLevel::None),
        (vec!["network:outbound:api.example.com:443"], RiskLevel::Low),
        (vec!["network:outbound:443"], RiskLevel::Medium),
        (vec!["network:outbound:*"], RiskLevel::Critical),
        (vec!["network:outbound:private"], RiskLevel::High),
        (vec!["fs:read:/etc/hosts"], RiskLevel::Medium),
        (vec!["fs:read:/srv/app/config.yaml"], RiskLevel::Low),
        (vec!["fs:read:**"], RiskLevel::High),
        (vec!["fs:read:/home/**"], RiskLevel::High),
        (vec!["fs:write:/tmp/out.json"], RiskLevel::High),
        (vec!["fs:write:/etc/**"], RiskLevel::Critical),
        (vec!["env:HOME"], RiskLevel::Low),
        (vec!["env:AWS_*"], RiskLevel::High),
        (vec!["env:*"], RiskLevel::High),
        (vec!["exec:/usr/bin/systemctl"], RiskLevel::High),
        (vec!["exec:/usr/bin/systemctl:status **"], RiskLevel::High),
        (vec!["exec:/usr/bin/git"], RiskLevel::Critical),
        (vec!["exec:/usr/bin/git:**"], RiskLevel::Critical),
        (vec!["exec:/usr/bin/git:log **"], RiskLevel::Critical),
        (vec!["exec:/usr/bin/git:log -1"], RiskLevel::High),
        (
            vec!["exec:/usr/bin/systemctl:is-active *"],
            RiskLevel::Medium,
        ),
        (vec!["exec:/usr/bin/uptime:"], RiskLevel::Low),
        (vec!["exec:/usr/bin/sh:-c 'uptime -p'"], RiskLevel::High),
        (vec!["exec:/usr/bin/sh:-c *"], RiskLevel::Critical),
        (vec!["exec:/bin/*"], RiskLevel::Critical),
        (vec!["exec:/bin/*:--version"], RiskLevel::Critical),
        (
            vec!["exec:/usr/lib/ld-linux-x86-64.so.2"],
            RiskLevel::Critical,
        ),
        (vec!["exec:env:LANG"], RiskLevel::Low),
        (vec!["exec:env:MY_*"], RiskLevel::Medium),
        (vec!["exec:env:LD_PRELOAD"], RiskLevel::Critical),
        (vec!["exec:/bin/bash"], RiskLevel::Critical),
        (vec!["exec:/usr/bin/python3.12"], RiskLevel::Critical),
        (vec!["exec:**"], RiskLevel::Critical),
    ];
    for (grants, want) in cases {
        let report = set(&grants).risk();
        assert_eq!(report.level, want, "{grants:?}: {report:?}");
        assert_eq!(report.factors.len(), grants.len());
        assert!(report.factors.iter().all(|f| !f.reason.is_empty()));
    }
}

#[test]
fn naming_an_address_takes_an_address_or_a_block() {
    let ip = "169.254.169.254".parse().unwrap();
    assert!(set(&["network:outbound:169.254.169.254:80"]).names_address(ip, 80));
    assert!(!set(&["network:outbound:169.254.169.254:80"]).names_address(ip, 443));
    assert!(set(&["network:outbound:169.254.0.0/16:80"]).names_address(ip, 80));
    assert!(!set(&["network:outbound:*:80", "network:outbound:private"]).names_address(ip, 80));
    assert!(!set(&["network:outbound:metadata.example:80"]).names_address(ip, 80));
    let ipv4 = set(&["network:outbound:169.254.169.254:80"]);
    assert!(ipv4.names_address("::ffff:169.254.169.254".parse().unwrap(), 80));
    assert!(!ipv4.names_address("64:ff9b::a9fe:a9fe".parse().unwrap(), 80));
    let nat64 = set(&["network:outbound:[64:ff9b::a9fe:a9fe]:80"]);
    assert!(nat64.names_address("64:ff9b::a9fe:a9fe".parse().unwrap(), 80));
    assert!(!nat64.names_address(ip, 80));
}

mod properties;
