//! `DnsResolver` over hickory: the system's configuration (and `/etc/hosts`) by default, or one
//! named nameserver per query.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use async_trait::async_trait;
use hickory_resolver::TokioResolver;
use hickory_resolver::config::{NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::{RData, RecordType};
use reglet_ports::{
    DnsAnswer, DnsQuery, DnsRecordType, DnsResolver, MxRecord, NetError, NetErrorKind,
};

/// Resolves with hickory.
pub struct HickoryResolver {
    system: Result<TokioResolver, String>,
}

impl HickoryResolver {
    /// The system's resolver; if its configuration cannot be read, every lookup says why.
    pub fn system() -> Self {
        let system = TokioResolver::builder_tokio()
            .and_then(|b| b.build())
            .map_err(|e| format!("the system DNS configuration cannot be used: {e}"));
        if let Err(e) = &system {
            tracing::warn!("{e}");
        }
        HickoryResolver { system }
    }

    /// A resolver that asks only `nameserver` (UDP, falling back to TCP).
    pub fn with_nameserver(nameserver: SocketAddr) -> Self {
        HickoryResolver {
            system: build_for(nameserver, Duration::from_secs(5)),
        }
    }

    fn system_resolver(&self) -> Result<&TokioResolver, NetError> {
        self.system
            .as_ref()
            .map_err(|e| NetError::new(NetErrorKind::Io, e.clone()))
    }
}

fn build_for(nameserver: SocketAddr, timeout: Duration) -> Result<TokioResolver, String> {
    let mut server = NameServerConfig::udp_and_tcp(nameserver.ip());
    for connection in &mut server.connections {
        connection.port = nameserver.port();
    }
    let config = ResolverConfig::from_parts(None, vec![], vec![server]);
    let mut builder = TokioResolver::builder_with_config(config, TokioRuntimeProvider::default());
    builder.options_mut().timeout = timeout.max(Duration::from_millis(10));
    builder.options_mut().attempts = 1;
    builder
        .build()
        .map_err(|e| format!("cannot use nameserver {nameserver}: {e}"))
}

fn lookup_error(name: &str, kind: &str, e: &hickory_resolver::net::NetError) -> NetError {
    use hickory_resolver::net::NetError as E;
    if e.is_no_records_found() {
        return NetError::new(
            NetErrorKind::NotFound,
            format!("lookup {name}: no {kind} records (no such host)"),
        );
    }
    match e {
        E::Timeout => NetError::timeout(format!("lookup {name} timed out")),
        E::Io(io) => NetError::new(NetErrorKind::Io, format!("lookup {name}: {io}")),
        other => NetError::new(NetErrorKind::Protocol, format!("lookup {name}: {other}")),
    }
}

fn record_type(kind: DnsRecordType) -> RecordType {
    match kind {
        DnsRecordType::A => RecordType::A,
        DnsRecordType::Aaaa => RecordType::AAAA,
        DnsRecordType::Cname => RecordType::CNAME,
        DnsRecordType::Mx => RecordType::MX,
        DnsRecordType::Txt => RecordType::TXT,
        DnsRecordType::Ns => RecordType::NS,
    }
}

#[async_trait]
impl DnsResolver for HickoryResolver {
    async fn lookup(&self, query: &DnsQuery) -> Result<DnsAnswer, NetError> {
        let custom;
        let resolver = match query.nameserver {
            Some(ns) => {
                custom = build_for(ns, query.timeout)
                    .map_err(|e| NetError::new(NetErrorKind::InvalidInput, e))?;
                &custom
            }
            None => self.system_resolver()?,
        };
        let wanted = record_type(query.record_type);
        let kind = query.record_type.to_string();
        let lookup =
            tokio::time::timeout(query.timeout, resolver.lookup(query.name.as_str(), wanted))
                .await
                .map_err(|_| NetError::timeout(format!("lookup {} timed out", query.name)))?
                .map_err(|e| lookup_error(&query.name, &kind, &e))?;
        let mut answer = DnsAnswer::default();
        for record in lookup.answers() {
            if record.record_type() != wanted {
                continue;
            }
            match &record.data {
                RData::A(a) => answer.records.push(a.0.to_string()),
                RData::AAAA(a) => answer.records.push(a.0.to_string()),
                RData::CNAME(name) => answer.records.push(name.0.to_string()),
                RData::NS(name) => answer.records.push(name.0.to_string()),
                RData::MX(mx) => answer.mx_records.push(MxRecord {
                    host: mx.exchange.to_string(),
                    preference: mx.preference,
                }),
                RData::TXT(txt) => answer.records.push(
                    txt.txt_data
                        .iter()
                        .map(|part| String::from_utf8_lossy(part).into_owned())
                        .collect(),
                ),
                _ => {}
            }
        }
        if answer.records.is_empty() && answer.mx_records.is_empty() {
            return Err(NetError::new(
                NetErrorKind::NotFound,
                format!("lookup {}: no {kind} records", query.name),
            ));
        }
        Ok(answer)
    }

    async fn resolve_ips(&self, host: &str, timeout: Duration) -> Result<Vec<IpAddr>, NetError> {
        let resolver = self.system_resolver()?;
        let found = tokio::time::timeout(timeout, resolver.lookup_ip(host))
            .await
            .map_err(|_| NetError::timeout(format!("resolving {host} timed out")))?
            .map_err(|e| lookup_error(host, "address", &e))?;
        Ok(found.iter().collect())
    }
}
