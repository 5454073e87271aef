//! Properties of the grant algebra: merge, difference and contains agree with `allows`, atoms
//! cover only what they match, and every set prints and parses back to itself.

use std::path::Path;

use proptest::prelude::*;

use super::super::*;

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

/// Argument patterns over a small alphabet, so that patterns and vectors often meet; quoting and
/// spaces are in the alphabet so printing is exercised too.
fn args_pattern() -> impl Strategy<Value = Option<ArgsPattern>> {
    prop_oneof![
        1 => Just(None),
        4 => prop::collection::vec(
            prop::sample::select(vec!["a", "b", "*", "**", "?", "[ab]", "a*", "''", "'a b'", "\\*", "-x"]),
            0..4,
        )
        .prop_map(|tokens| ArgsPattern::parse(&tokens.join(" ")).unwrap()),
    ]
}

fn exec_grant() -> impl Strategy<Value = ExecGrant> {
    (exec_pattern(), args_pattern()).prop_map(|(program, args)| ExecGrant { program, args })
}

fn exec_env_pattern() -> impl Strategy<Value = EnvPattern> {
    prop_oneof![
        Just(EnvPattern::Any),
        prop::sample::select(vec!["A", "L", "LD_"]).prop_map(|p| EnvPattern::Prefix(p.to_owned())),
        prop::sample::select(vec!["A", "AB", "LD_PRELOAD", "LANG"])
            .prop_map(|p| EnvPattern::Exact(p.to_owned())),
    ]
}

fn an_argument_vector() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(
        prop::sample::select(vec!["a", "b", "ab", "", "a b", "*", "-x", "c"])
            .prop_map(String::from),
        0..5,
    )
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
        prop::collection::btree_set(exec_grant(), 0..3),
        prop::collection::btree_set(exec_env_pattern(), 0..3),
    )
        .prop_map(
            |(network, private_networks, fs, env, exec, exec_env)| GrantSet {
                network,
                private_networks,
                fs,
                env,
                exec,
                exec_env,
            },
        )
}

#[derive(Debug, Clone)]
enum Req {
    Connect(String, u16),
    Read(String),
    Write(String),
    Env(String),
    Exec(String, Vec<String>),
    ExecEnv(String),
}

impl Req {
    fn as_request(&self) -> AccessRequest<'_> {
        match self {
            Req::Connect(h, p) => AccessRequest::Connect { host: h, port: *p },
            Req::Read(p) => AccessRequest::ReadFile(Path::new(p)),
            Req::Write(p) => AccessRequest::WriteFile(Path::new(p)),
            Req::Env(n) => AccessRequest::ReadEnv(n),
            Req::Exec(command, args) => AccessRequest::Exec { command, args },
            Req::ExecEnv(n) => AccessRequest::ExecEnv(n),
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
        (
            prop_oneof![
                a_path(),
                prop::sample::select(vec!["ls".to_owned(), "sh".to_owned()])
            ],
            an_argument_vector()
        )
            .prop_map(|(command, args)| Req::Exec(command, args)),
        prop::sample::select(vec!["A", "AB", "LANG", "LD_PRELOAD", "LD_AUDIT", "LC_ALL"])
            .prop_map(|n| Req::ExecEnv(n.to_owned())),
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
    fn matching_is_the_same_on_normal_and_unnormalised_spellings(
        x in path_pattern(),
        parts in prop::collection::vec(prop::sample::select(vec!["a", "b", "c", "ab", ".", "..", ""]), 0..6),
    ) {
        // The fast path (already normal, literal patterns) must agree with normalising first.
        let raw = format!("/{}", parts.join("/"));
        let normal = crate::grants::path::normalize_path(&raw).unwrap();
        prop_assert_eq!(x.matches(&raw), x.matches(&normal), "{} vs {}", raw, normal);
        prop_assert_eq!(x.matches(&normal), x.matches_by_table(&normal));
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
    fn args_cover_implies_match(x in args_pattern(), y in args_pattern(), vectors in prop::collection::vec(an_argument_vector(), 1..16)) {
        if let (Some(x), Some(y)) = (x, y)
            && x.covers(&y)
        {
            for v in &vectors {
                if y.matches(v) {
                    prop_assert!(x.matches(v), "{} covers {} but not {:?}", x, y, v);
                }
            }
        }
    }

    #[test]
    fn args_print_and_parse_back(x in args_pattern()) {
        if let Some(x) = x {
            prop_assert_eq!(ArgsPattern::parse(&x.to_string()).unwrap(), Some(x));
        }
    }

    #[test]
    fn a_pinned_grant_never_covers_an_unpinned_one(program in exec_pattern(), args in args_pattern()) {
        if let Some(args) = args {
            let pinned = ExecGrant { program: program.clone(), args: Some(args) };
            let unpinned = ExecGrant { program, args: None };
            prop_assert!(!pinned.covers(&unpinned));
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
            " ", "'", "\\", "env", "!",
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
        let _ = a.allows(&AccessRequest::Exec { command: &path, args: std::slice::from_ref(&path) });
        let _ = a.allows(&AccessRequest::ExecEnv(&path));
        let _ = a.allows(&AccessRequest::ReadEnv(&path));
    }
}
