//! Where a plugin may connect: the grant check, one resolution, and the SSRF filter, in that
//! order, before any byte is sent.
//!
//! Every connection a host function makes goes through [`vet`]. The name is resolved exactly
//! once; every address is classified; the connection then goes to an address from that vetted
//! list, never to a second lookup's answer. So a resolver that answers differently the second
//! time (DNS rebinding) cannot steer the connection anywhere that was not checked.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use reglet_domain::{AccessRequest, ErrorDetail, ErrorType, GrantSet};
use reglet_ports::{DnsResolver, NetError, NetErrorKind};

use super::ssrf::{Blocked, classify, literal_address};

/// A destination that passed every check: the name as given, and the addresses to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Destination {
    pub(crate) host: String,
    pub(crate) addrs: Vec<SocketAddr>,
}

impl Destination {
    /// Runs `attempt` on the vetted addresses in order, all before `deadline`, moving to the next
    /// (at most three are tried) only when one refuses the connection. A failure is the error
    /// to answer with: the last attempt's, or a timeout saying `what` timed out.
    pub(crate) async fn try_each<T, F, Fut>(
        &self,
        deadline: Instant,
        code: &str,
        what: &str,
        mut attempt: F,
    ) -> Result<T, ErrorDetail>
    where
        F: FnMut(SocketAddr) -> Fut,
        Fut: Future<Output = Result<T, NetError>>,
    {
        let mut last_error = None;
        for addr in self.addrs.iter().take(3) {
            match tokio::time::timeout_at(deadline.into(), attempt(*addr)).await {
                Ok(Ok(done)) => return Ok(done),
                Ok(Err(e)) => {
                    let refused = matches!(e.kind(), NetErrorKind::Refused);
                    last_error = Some(super::net_error_detail(&e, code));
                    if !refused {
                        break;
                    }
                }
                Err(_) => {
                    last_error = Some(
                        ErrorDetail::new(ErrorType::Timeout, format!("{what} timed out"))
                            .timed_out()
                            .with_code(code),
                    );
                    break;
                }
            }
        }
        Err(last_error.expect("vetting keeps at least one address"))
    }
}

/// The capability error a guest SDK decodes, naming the grant that would allow the request.
pub(crate) fn capability_denied(request: &AccessRequest<'_>) -> ErrorDetail {
    ErrorDetail::new(
        ErrorType::Capability,
        format!("permission denied: capability denied: {request}"),
    )
}

/// Checks `host:port` against the plugin's grants, resolves it once, and keeps the addresses the
/// SSRF filter allows.
pub(crate) async fn vet(
    grants: &GrantSet,
    dns: &dyn DnsResolver,
    host: &str,
    port: u16,
    deadline: Instant,
) -> Result<Destination, ErrorDetail> {
    let request = AccessRequest::Connect { host, port };
    if !grants.allows(&request) {
        return Err(capability_denied(&request));
    }
    let ips: Vec<IpAddr> = match literal_address(host) {
        Some(ip) => vec![ip],
        None => {
            let timeout = deadline.saturating_duration_since(Instant::now());
            let found = dns
                .resolve_ips(host, timeout)
                .await
                .map_err(|e| super::net_error_detail(&e, "resolve"))?;
            if found.is_empty() {
                return Err(ErrorDetail::new(
                    ErrorType::Network,
                    format!("{host} has no addresses"),
                )
                .not_found());
            }
            found
        }
    };
    let private_allowed = grants.allows_private_networks();
    let mut refused = None;
    let mut addrs = Vec::new();
    for ip in ips {
        // A non-public address is reached when a grant names exactly it (the user wrote that
        // address; a network such as 0.0.0.0/0 does not count, nor does "this network", which
        // stands for this host) or when private networks are allowed; a metadata endpoint needs
        // the switch and a grant naming it.
        let allowed = |blocked: &Blocked| {
            if blocked.metadata {
                private_allowed && grants.names_address(ip, port)
            } else {
                private_allowed || (!blocked.this_host && grants.names_exact_address(ip, port))
            }
        };
        match classify(ip) {
            Some(blocked) if !allowed(&blocked) => {
                refused.get_or_insert((ip, blocked));
            }
            _ => addrs.push(SocketAddr::new(ip, port)),
        }
    }
    if addrs.is_empty() {
        let (ip, blocked) = refused.expect("every address was refused");
        let named = if literal_address(host) == Some(ip) {
            format!("destination IP {ip}")
        } else {
            format!("destination {host} resolves to {ip}, which")
        };
        let needs = if blocked.metadata {
            format!(
                "reaching a cloud metadata endpoint needs network:outbound:private and a grant naming the address dialled (network:outbound:{}:{port})",
                host_for_grant(ip)
            )
        } else {
            format!(
                "this needs a grant naming the address (network:outbound:{}:{port}) or the network:outbound:private capability",
                host_for_grant(ip)
            )
        };
        return Err(ErrorDetail::new(
            ErrorType::SsrfProtection,
            format!("SSRF protection: {named} is {blocked}; {needs}"),
        ));
    }
    Ok(Destination {
        host: host.to_owned(),
        addrs,
    })
}

/// How an address is written in a grant string that names it. Only the IPv4-mapped form is folded
/// (it is the same socket destination); a NAT64, 6to4 or other spelling is its own address.
fn host_for_grant(ip: IpAddr) -> String {
    match reglet_domain::grants::canonical_ip(ip) {
        IpAddr::V6(v6) => format!("[{v6}]"),
        v4 => v4.to_string(),
    }
}

#[cfg(test)]
mod tests;
