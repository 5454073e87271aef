//! DNS resolution: record lookups for the `dns_lookup` host function and address resolution for
//! every connection the host makes on a plugin's behalf.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;

use crate::NetError;

/// The record types a plugin may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DnsRecordType {
    /// IPv4 addresses.
    A,
    /// IPv6 addresses.
    Aaaa,
    /// The canonical name.
    Cname,
    /// Mail exchangers.
    Mx,
    /// Text records.
    Txt,
    /// Name servers.
    Ns,
}

impl FromStr for DnsRecordType {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.to_ascii_uppercase().as_str() {
            "A" => Ok(DnsRecordType::A),
            "AAAA" => Ok(DnsRecordType::Aaaa),
            "CNAME" => Ok(DnsRecordType::Cname),
            "MX" => Ok(DnsRecordType::Mx),
            "TXT" => Ok(DnsRecordType::Txt),
            "NS" => Ok(DnsRecordType::Ns),
            _ => Err(format!("unsupported record type: {text}")),
        }
    }
}

impl fmt::Display for DnsRecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DnsRecordType::A => "A",
            DnsRecordType::Aaaa => "AAAA",
            DnsRecordType::Cname => "CNAME",
            DnsRecordType::Mx => "MX",
            DnsRecordType::Txt => "TXT",
            DnsRecordType::Ns => "NS",
        })
    }
}

/// A record lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsQuery {
    /// The name to look up.
    pub name: String,
    /// The record type.
    pub record_type: DnsRecordType,
    /// A specific name server to ask (already checked against grants); `None` for the system's.
    pub nameserver: Option<SocketAddr>,
    /// How long the lookup may take.
    pub timeout: Duration,
}

/// One MX record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MxRecord {
    /// The exchanger's host name.
    pub host: String,
    /// Its preference (lower is preferred).
    pub preference: u16,
}

/// The answer to a [`DnsQuery`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DnsAnswer {
    /// Records as text (addresses, names, TXT strings); empty for MX.
    pub records: Vec<String>,
    /// MX records (MX queries only).
    pub mx_records: Vec<MxRecord>,
}

/// Resolves names.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait DnsResolver: Send + Sync {
    /// Looks up records of one type.
    async fn lookup(&self, query: &DnsQuery) -> Result<DnsAnswer, NetError>;

    /// Every address `host` resolves to (A and AAAA), for connecting.
    async fn resolve_ips(&self, host: &str, timeout: Duration) -> Result<Vec<IpAddr>, NetError>;
}
