//! Unit tests and properties of the grant algebra.

use std::path::Path;

use proptest::prelude::*;
use serde_json::json;

use super::*;

fn set(texts: &[&str]) -> GrantSet {
    GrantSet::parse_all(texts).unwrap()
}

fn connect(host: &str, port: u16) -> AccessRequest<'_> {
    AccessRequest::Connect { host, port }
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
    assert!(grants.allows(&AccessRequest::Exec("/usr/bin/systemctl")));
    assert!(grants.allows(&AccessRequest::Exec("/usr/bin/../bin/systemctl")));
    assert!(!grants.allows(&AccessRequest::Exec("/usr/bin/systemctl2")));
    assert!(grants.allows(&AccessRequest::Exec("/opt/tools/check")));
    assert!(!grants.allows(&AccessRequest::Exec("/opt/tools/sub/check")));
    assert!(grants.allows(&AccessRequest::Exec("uptime")));
    assert!(!grants.allows(&AccessRequest::Exec("/usr/bin/uptime")));
    assert!(set(&["exec:**"]).allows(&AccessRequest::Exec("/anything")));
}

#[test]
fn naming_a_command_is_more_than_matching_it() {
    let grants = set(&["exec:/bin/*", "exec:/usr/bin/python3", "exec:sh"]);
    assert!(grants.allows(&AccessRequest::Exec("/bin/bash")));
    assert!(
        !grants.names_command("/bin/bash"),
        "a wildcard does not name bash"
    );
    assert!(grants.names_command("/usr/bin/python3"));
    assert!(grants.names_command("/usr/bin/../bin/python3"));
    assert!(grants.names_command("sh"));
    assert!(!set(&["exec:**"]).names_command("/bin/sh"));
}

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
    assert_eq!(AccessRequest::Exec("/bin/sh").to_string(), "exec:/bin/sh");
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
        "exec": {"commands": ["/usr/bin/systemctl"]},
        "kv": {"rules": [{"op": "read-write", "keys": ["cache-*"]}]}
    });
    let grants: GrantSet = serde_json::from_value(doc).unwrap();
    assert!(grants.allows(&connect("x.corp.example", 8080)));
    assert!(grants.allows(&connect("anything.example", 53)));
    assert!(grants.allows_private_networks());
    assert!(grants.allows(&AccessRequest::ReadEnv("AWS_REGION")));
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
        (vec!["exec:/usr/bin/systemctl"], RiskLevel::Medium),
        (vec!["exec:/bin/*"], RiskLevel::High),
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

// ---------------------------------------------------------------------------------------------
// Properties

fn host_pattern() -> impl Strategy<Value = HostPattern> {
    prop_oneof![
        Just(HostPattern::Any),
        prop::sample::select(vec!["a.example", "b.example", "x.a.example", "example"])
            .prop_map(|n| HostPattern::Name(n.to_owned())),
        prop::sample::select(vec!["example", "a.example"])
            .prop_map(|d| HostPattern::Subdomains(d.to_owned())),
        prop::sample::select(vec!["10.0.0.1", "10.1.0.1", "192.168.1.1", "::1"])
            .prop_map(|ip| HostPattern::Ip(ip.parse().unwrap())),
        prop::sample::select(vec!["10.0.0.0/8", "10.0.0.0/16", "192.168.0.0/16"])
            .prop_map(|n| HostPattern::Net(n.parse().unwrap())),
    ]
}

fn port_range() -> impl Strategy<Value = PortRange> {
    prop_oneof![
        1 => Just(PortRange::ANY),
        4 => (20u16..30, 0u16..5).prop_map(|(s, len)| PortRange::new(s, s + len).unwrap()),
    ]
}

fn path_pattern() -> impl Strategy<Value = PathPattern> {
    prop::collection::vec(
        prop::sample::select(vec!["a", "b", "c", "*", "**", "?", "[ab]", "a*"]),
        0..4,
    )
    .prop_map(|segs| PathPattern::parse(&format!("/{}", segs.join("/"))).unwrap())
}

fn env_pattern() -> impl Strategy<Value = EnvPattern> {
    prop_oneof![
        Just(EnvPattern::Any),
        prop::sample::select(vec!["A", "AB", "B"]).prop_map(|p| EnvPattern::Prefix(p.to_owned())),
        prop::sample::select(vec!["A", "AB", "ABC", "B"])
            .prop_map(|p| EnvPattern::Exact(p.to_owned())),
    ]
}

fn exec_pattern() -> impl Strategy<Value = ExecPattern> {
    prop_oneof![
        1 => Just(ExecPattern::Any),
        4 => path_pattern().prop_map(ExecPattern::Path),
        2 => prop::sample::select(vec!["ls", "sh"]).prop_map(|n| ExecPattern::Name(n.to_owned())),
    ]
}

fn grant_set() -> impl Strategy<Value = GrantSet> {
    (
        prop::collection::btree_set(
            (host_pattern(), port_range()).prop_map(|(host, ports)| NetworkGrant { host, ports }),
            0..4,
        ),
        any::<bool>(),
        prop::collection::btree_set(
            (
                prop::sample::select(vec![FsAccess::Read, FsAccess::Write]),
                path_pattern(),
            )
                .prop_map(|(access, pattern)| FsGrant { access, pattern }),
            0..4,
        ),
        prop::collection::btree_set(env_pattern(), 0..3),
        prop::collection::btree_set(exec_pattern(), 0..3),
    )
        .prop_map(|(network, private_networks, fs, env, exec)| GrantSet {
            network,
            private_networks,
            fs,
            env,
            exec,
        })
}

#[derive(Debug, Clone)]
enum Req {
    Connect(String, u16),
    Read(String),
    Write(String),
    Env(String),
    Exec(String),
}

impl Req {
    fn as_request(&self) -> AccessRequest<'_> {
        match self {
            Req::Connect(h, p) => AccessRequest::Connect { host: h, port: *p },
            Req::Read(p) => AccessRequest::ReadFile(Path::new(p)),
            Req::Write(p) => AccessRequest::WriteFile(Path::new(p)),
            Req::Env(n) => AccessRequest::ReadEnv(n),
            Req::Exec(c) => AccessRequest::Exec(c),
        }
    }
}

fn a_path() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec!["a", "b", "c", "ab", "ba", "..", "."]),
        0..5,
    )
    .prop_map(|segs| format!("/{}", segs.join("/")))
}

fn request() -> impl Strategy<Value = Req> {
    prop_oneof![
        (
            prop::sample::select(vec![
                "a.example",
                "x.a.example",
                "y.x.a.example",
                "example",
                "10.0.0.1",
                "10.0.5.5",
                "10.1.0.1",
                "192.168.1.1",
                "::1",
                "0x0a.0.0.1"
            ]),
            18u16..36
        )
            .prop_map(|(h, p)| Req::Connect(h.to_owned(), p)),
        a_path().prop_map(Req::Read),
        a_path().prop_map(Req::Write),
        prop::sample::select(vec!["A", "AB", "ABC", "B", "C"]).prop_map(|n| Req::Env(n.to_owned())),
        prop_oneof![
            a_path(),
            prop::sample::select(vec!["ls".to_owned(), "sh".to_owned()])
        ]
        .prop_map(Req::Exec),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::default())]

    #[test]
    fn merge_is_idempotent(a in grant_set()) {
        prop_assert_eq!(a.merge(&a), a);
    }

    #[test]
    fn merge_is_commutative(a in grant_set(), b in grant_set()) {
        prop_assert_eq!(a.merge(&b), b.merge(&a));
    }

    #[test]
    fn merge_contains_both_sides(a in grant_set(), b in grant_set()) {
        let merged = a.merge(&b);
        prop_assert!(merged.contains(&a));
        prop_assert!(merged.contains(&b));
    }

    #[test]
    fn difference_is_what_is_missing(a in grant_set(), b in grant_set()) {
        prop_assert!(b.merge(&a.difference(&b)).contains(&a));
        prop_assert!(a.difference(&a).is_empty());
    }

    #[test]
    fn contains_implies_allows(a in grant_set(), b in grant_set(), reqs in prop::collection::vec(request(), 1..16)) {
        if a.contains(&b) {
            for req in &reqs {
                if b.allows(&req.as_request()) {
                    prop_assert!(a.allows(&req.as_request()), "{} contains {} but not {:?}", a, b, req);
                }
            }
        }
    }

    #[test]
    fn atom_cover_implies_match(x in path_pattern(), y in path_pattern(), paths in prop::collection::vec(a_path(), 1..16)) {
        if x.covers(&y) {
            for p in &paths {
                if y.matches(p) {
                    prop_assert!(x.matches(p), "{} covers {} but not {}", x, y, p);
                }
            }
        }
    }

    #[test]
    fn host_cover_implies_match(x in host_pattern(), y in host_pattern(), req in request()) {
        if let Req::Connect(h, _) = &req {
            let host = RequestedHost::parse(h);
            if x.covers(&y) && y.matches(&host) {
                prop_assert!(x.matches(&host));
            }
        }
    }

    #[test]
    fn strings_round_trip(a in grant_set()) {
        let strings = a.to_strings();
        prop_assert_eq!(GrantSet::parse_all(&strings).unwrap(), a);
    }

    #[test]
    fn json_round_trips(a in grant_set()) {
        let value = serde_json::to_value(&a).unwrap();
        prop_assert_eq!(serde_json::from_value::<GrantSet>(value).unwrap(), a);
    }

    #[test]
    fn parser_never_panics(text in ".{0,64}") {
        let _ = GrantSet::parse(&text);
    }

    #[test]
    fn parser_never_panics_on_grant_like_text(
        parts in prop::collection::vec(prop::sample::select(vec![
            "network", "fs", "env", "exec", ":", "outbound", "read", "write", "*", "**", "-", ",",
            "0", "65535", "99999", "[", "]", "::1", "/", "..", ".", "a", "://", "@", "private", "0x", "%",
        ]), 0..12)
    ) {
        let text = parts.concat();
        if let Ok(set) = GrantSet::parse(&text) {
            prop_assert_eq!(GrantSet::parse_all(set.to_strings()).unwrap(), set);
        }
    }

    #[test]
    fn allows_never_panics(a in grant_set(), host in ".{0,20}", port in any::<u16>(), path in ".{0,20}") {
        let _ = a.allows(&AccessRequest::Connect { host: &host, port });
        let _ = a.allows(&AccessRequest::ReadFile(Path::new(&path)));
        let _ = a.allows(&AccessRequest::Exec(&path));
        let _ = a.allows(&AccessRequest::ReadEnv(&path));
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
