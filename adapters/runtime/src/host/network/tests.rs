//! The one path to a destination: grants, one resolution, every address classified.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use reglet_domain::{ErrorType, GrantSet};
use reglet_ports::MockDnsResolver;

use super::{host_for_grant, vet};

/// Everything `vet` uses: grants and a resolver, nothing of the runtime.
struct Vetting {
    grants: GrantSet,
    dns: MockDnsResolver,
}

fn context(grants: &[&str], dns: MockDnsResolver) -> Vetting {
    Vetting {
        grants: GrantSet::parse_all(grants).unwrap(),
        dns,
    }
}

fn resolving(answers: Vec<Vec<&'static str>>) -> MockDnsResolver {
    let mut dns = MockDnsResolver::new();
    let mut answers = answers.into_iter();
    dns.expect_resolve_ips().returning(move |_, _| {
        Ok(answers
            .next()
            .expect("no more answers")
            .iter()
            .map(|a| a.parse::<IpAddr>().unwrap())
            .collect())
    });
    dns
}

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(5)
}

#[tokio::test]
async fn grants_are_checked_before_any_lookup() {
    let mut dns = MockDnsResolver::new();
    dns.expect_resolve_ips().never();
    let ctx = context(&["network:outbound:api.example.com:443"], dns);
    let err = vet(&ctx.grants, &ctx.dns, "other.example.com", 443, soon())
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorType::Capability);
    assert!(
        err.message
            .contains("network:outbound:other.example.com:443"),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn private_addresses_need_the_private_grant_and_wildcards_do_not_give_it() {
    for host in [
        "127.0.0.1",
        "2130706433",
        "0x7f.1",
        "[::ffff:127.0.0.1]",
        "192.168.1.1",
        "10.0.0.5",
        "[64:ff9b::a00:5]",
    ] {
        let ctx = context(&["network:outbound:*"], MockDnsResolver::new());
        let err = vet(&ctx.grants, &ctx.dns, host, 80, soon())
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorType::SsrfProtection, "{host}");
        assert!(
            err.message.contains("network:outbound:private"),
            "{}",
            err.message
        );
        let ctx = context(
            &["network:outbound:*", "network:outbound:private"],
            MockDnsResolver::new(),
        );
        assert!(
            vet(&ctx.grants, &ctx.dns, host, 80, soon()).await.is_ok(),
            "{host} with the private grant"
        );
    }
}

#[tokio::test]
async fn a_private_address_the_grants_name_is_reached_without_the_private_switch() {
    // The user wrote this address: no name could have led there by surprise.
    for (grant, host) in [
        ("network:outbound:127.0.0.1:8080", "127.0.0.1"),
        ("network:outbound:[::1]:8080", "[::1]"),
        ("network:outbound:10.1.2.3:8080", "10.1.2.3"),
    ] {
        let ctx = context(&[grant], MockDnsResolver::new());
        let dest = vet(&ctx.grants, &ctx.dns, host, 8080, soon()).await;
        assert!(dest.is_ok(), "{grant} -> {host}: {dest:?}");
    }
    // A network is no name for an address (0.0.0.0/0 would lift the filter for everything), and
    // 0.0.0.0 or :: reach this host whatever they are called.
    for (grant, host) in [
        ("network:outbound:0.0.0.0/0:8080", "127.0.0.1"),
        ("network:outbound:10.0.0.0/8:8080", "10.1.2.3"),
        ("network:outbound:0.0.0.0:8080", "0.0.0.0"),
        ("network:outbound:[::]:8080", "[::]"),
    ] {
        let ctx = context(&[grant], MockDnsResolver::new());
        let err = vet(&ctx.grants, &ctx.dns, host, 8080, soon())
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorType::SsrfProtection, "{grant} -> {host}");
    }
    // A name granted by name that resolves to a private address is still refused, and the
    // message says both ways to allow it.
    let ctx = context(
        &["network:outbound:db.internal:5432"],
        resolving(vec![vec!["10.1.2.3"]]),
    );
    let err = vet(&ctx.grants, &ctx.dns, "db.internal", 5432, soon())
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorType::SsrfProtection);
    assert!(
        err.message.contains("network:outbound:10.1.2.3:5432")
            && err.message.contains("network:outbound:private"),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn names_are_resolved_once_and_every_address_classified() {
    let ctx = context(&["network:outbound:*"], resolving(vec![vec!["10.1.2.3"]]));
    let err = vet(&ctx.grants, &ctx.dns, "internal.example", 443, soon())
        .await
        .unwrap_err();
    assert!(
        err.message
            .contains("internal.example resolves to 10.1.2.3"),
        "{}",
        err.message
    );

    let ctx = context(
        &["network:outbound:*"],
        resolving(vec![vec!["127.0.0.1", "93.184.215.14", "::1"]]),
    );
    let dest = vet(&ctx.grants, &ctx.dns, "mixed.example", 443, soon())
        .await
        .unwrap();
    assert_eq!(
        dest.addrs,
        vec!["93.184.215.14:443".parse().unwrap()],
        "blocked addresses are dropped"
    );
}

#[tokio::test]
async fn lookup_failures_are_network_errors() {
    let mut dns = MockDnsResolver::new();
    dns.expect_resolve_ips().returning(|_, _| {
        Err(reglet_ports::NetError::new(
            reglet_ports::NetErrorKind::NotFound,
            "no such host",
        ))
    });
    let ctx = context(&["network:outbound:*"], dns);
    let err = vet(&ctx.grants, &ctx.dns, "nosuch.invalid", 80, soon())
        .await
        .unwrap_err();
    assert!(err.is_not_found);
    let ctx = context(&["network:outbound:*"], resolving(vec![vec![]]));
    assert!(
        vet(&ctx.grants, &ctx.dns, "empty.example", 80, soon())
            .await
            .unwrap_err()
            .is_not_found
    );
}

#[tokio::test]
async fn metadata_endpoints_need_a_grant_naming_their_address() {
    // A name that resolves to the metadata address, under a wildcard and the private switch.
    let ctx = context(
        &["network:outbound:*:80", "network:outbound:private"],
        resolving(vec![vec!["169.254.169.254"]]),
    );
    let err = vet(&ctx.grants, &ctx.dns, "metadata.example", 80, soon())
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorType::SsrfProtection);
    assert!(
        err.message.contains("network:outbound:169.254.169.254:80"),
        "{}",
        err.message
    );

    let ctx = context(
        &[
            "network:outbound:169.254.169.254:80",
            "network:outbound:private",
        ],
        MockDnsResolver::new(),
    );
    let dest = vet(&ctx.grants, &ctx.dns, "169.254.169.254", 80, soon())
        .await
        .unwrap();
    assert_eq!(dest.addrs, ["169.254.169.254:80".parse().unwrap()]);

    // Named, but without the private switch: still refused.
    let ctx = context(
        &["network:outbound:169.254.169.254:80"],
        MockDnsResolver::new(),
    );
    let err = vet(&ctx.grants, &ctx.dns, "169.254.169.254", 80, soon())
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorType::SsrfProtection);
}

/// Every IPv6 spelling that carries 169.254.169.254, and AWS's own IPv6 endpoint.
const METADATA_SPELLINGS: &[&str] = &[
    "[::ffff:169.254.169.254]",
    "[::ffff:0:a9fe:a9fe]",
    "[::a9fe:a9fe]",
    "[64:ff9b::a9fe:a9fe]",
    "[64:ff9b:1::a9fe:a9fe]",
    "[2002:a9fe:a9fe::1]",
    "[2001:0:a9fe:a9fe::1]",
    "[2001:0:4136:e378:8000:63bf:5601:5601]",
    "[2a00:1450:4001::5efe:a9fe:a9fe]",
    "[2a00:1450:4001::200:5efe:a9fe:a9fe]",
    "[fd00:ec2::254]",
];

#[tokio::test]
async fn metadata_carried_in_ipv6_needs_a_grant_naming_the_address_dialled() {
    for host in METADATA_SPELLINGS {
        let ip = crate::host::ssrf::literal_address(host).unwrap();
        let exact = format!("network:outbound:{}:80", host_for_grant(ip));

        let ctx = context(
            &["network:outbound:*:80", "network:outbound:private"],
            MockDnsResolver::new(),
        );
        let err = vet(&ctx.grants, &ctx.dns, host, 80, soon())
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorType::SsrfProtection, "{host}");
        assert!(
            err.message.contains("metadata") && err.message.contains(&exact),
            "{host}: {}",
            err.message
        );

        // Found through DNS, the same.
        let ctx = context(
            &["network:outbound:*:80", "network:outbound:private"],
            resolving(vec![vec![host.trim_matches(['[', ']'])]]),
        );
        let err = vet(&ctx.grants, &ctx.dns, "metadata.example", 80, soon())
            .await
            .unwrap_err();
        assert!(err.message.contains("metadata"), "{host}: {}", err.message);

        // A grant naming the exact address dialled opens it.
        let ctx = context(
            &[&exact, "network:outbound:private"],
            MockDnsResolver::new(),
        );
        assert!(
            vet(&ctx.grants, &ctx.dns, host, 80, soon()).await.is_ok(),
            "{host} with {exact}"
        );
    }
}

#[tokio::test]
async fn naming_the_ipv4_metadata_address_does_not_name_its_nat64_or_6to4_spelling() {
    for host in [
        "[64:ff9b::a9fe:a9fe]",
        "[2002:a9fe:a9fe::1]",
        "[::a9fe:a9fe]",
    ] {
        let ctx = context(
            &[
                "network:outbound:*:80",
                "network:outbound:169.254.169.254:80",
                "network:outbound:private",
            ],
            MockDnsResolver::new(),
        );
        let err = vet(&ctx.grants, &ctx.dns, host, 80, soon())
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorType::SsrfProtection, "{host}");
    }
}

#[tokio::test]
async fn private_ipv4_carried_in_ipv6_needs_the_private_grant_and_public_stays_public() {
    for host in [
        "[64:ff9b::a00:5]",
        "[64:ff9b::7f00:1]",
        "[2a00:1450:4001::5efe:a00:5]",
        "[2a00:1450:4001::200:5efe:7f00:1]",
        "[2001:0:808:808:8000:63bf:f5ff:fffa]",
    ] {
        let ctx = context(&["network:outbound:*"], MockDnsResolver::new());
        let err = vet(&ctx.grants, &ctx.dns, host, 80, soon())
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorType::SsrfProtection, "{host}");
        assert!(
            err.message.contains("network:outbound:private") && !err.message.contains("metadata"),
            "{host}: {}",
            err.message
        );
    }
    // 8.8.8.8 through the well-known NAT64 prefix (what DNS64 answers on an IPv6-only network),
    // and an ISATAP identifier carrying a public address under a public prefix.
    for host in ["[64:ff9b::808:808]", "[2a00:1450:4001::200:5efe:808:808]"] {
        let ctx = context(&["network:outbound:*"], MockDnsResolver::new());
        let dest = vet(&ctx.grants, &ctx.dns, host, 80, soon()).await;
        assert!(dest.is_ok(), "{host}: {dest:?}");
    }
}
