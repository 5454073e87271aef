//! The one path to a destination: grants, one resolution, every address classified.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reglet_domain::{ErrorType, GrantSet};
use reglet_ports::MockDnsResolver;

use super::vet;
use crate::host::HostServices;
use crate::runtime::state::PluginContext;

fn context(grants: &[&str], dns: MockDnsResolver) -> PluginContext {
    let services = HostServices::builder().dns(Arc::new(dns)).build();
    PluginContext::for_tests(GrantSet::parse_all(grants).unwrap(), services)
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
    let err = vet(&ctx, "other.example.com", 443, soon())
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
        let err = vet(&ctx, host, 80, soon()).await.unwrap_err();
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
            vet(&ctx, host, 80, soon()).await.is_ok(),
            "{host} with the private grant"
        );
    }
}

#[tokio::test]
async fn names_are_resolved_once_and_every_address_classified() {
    let ctx = context(&["network:outbound:*"], resolving(vec![vec!["10.1.2.3"]]));
    let err = vet(&ctx, "internal.example", 443, soon())
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
    let dest = vet(&ctx, "mixed.example", 443, soon()).await.unwrap();
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
    let err = vet(&ctx, "nosuch.invalid", 80, soon()).await.unwrap_err();
    assert!(err.is_not_found);
    let ctx = context(&["network:outbound:*"], resolving(vec![vec![]]));
    assert!(
        vet(&ctx, "empty.example", 80, soon())
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
    let err = vet(&ctx, "metadata.example", 80, soon()).await.unwrap_err();
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
    let dest = vet(&ctx, "169.254.169.254", 80, soon()).await.unwrap();
    assert_eq!(dest.addrs, ["169.254.169.254:80".parse().unwrap()]);

    // Named, but without the private switch: still refused.
    let ctx = context(
        &["network:outbound:169.254.169.254:80"],
        MockDnsResolver::new(),
    );
    let err = vet(&ctx, "169.254.169.254", 80, soon()).await.unwrap_err();
    assert_eq!(err.kind, ErrorType::SsrfProtection);
}
