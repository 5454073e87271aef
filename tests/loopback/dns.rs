//! A stub DNS server on UDP: answers from a fixed table, NXDOMAIN for names it does not know,
//! and counts the queries it gets.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use hickory_proto::op::{Message, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, CNAME, MX, NS, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::net::UdpSocket;

/// One record the stub serves.
#[derive(Debug, Clone)]
pub enum DnsRecord {
    /// An IPv4 address.
    A(Ipv4Addr),
    /// An IPv6 address.
    Aaaa(Ipv6Addr),
    /// An alias.
    Cname(&'static str),
    /// A mail exchanger with its preference.
    Mx(u16, &'static str),
    /// A text record.
    Txt(&'static str),
    /// A name server.
    Ns(&'static str),
}

impl DnsRecord {
    fn record_type(&self) -> RecordType {
        match self {
            DnsRecord::A(_) => RecordType::A,
            DnsRecord::Aaaa(_) => RecordType::AAAA,
            DnsRecord::Cname(_) => RecordType::CNAME,
            DnsRecord::Mx(..) => RecordType::MX,
            DnsRecord::Txt(_) => RecordType::TXT,
            DnsRecord::Ns(_) => RecordType::NS,
        }
    }

    fn rdata(&self) -> RData {
        let name = |n: &str| Name::from_ascii(n).expect("a valid name");
        match self {
            DnsRecord::A(ip) => RData::A(A(*ip)),
            DnsRecord::Aaaa(ip) => RData::AAAA(AAAA(*ip)),
            DnsRecord::Cname(n) => RData::CNAME(CNAME(name(n))),
            DnsRecord::Mx(pref, n) => RData::MX(MX::new(*pref, name(n))),
            DnsRecord::Txt(t) => RData::TXT(TXT::new(vec![(*t).to_owned()])),
            DnsRecord::Ns(n) => RData::NS(NS(name(n))),
        }
    }
}

/// A running stub DNS server.
pub struct DnsServer {
    /// Where it listens (UDP).
    pub addr: SocketAddr,
    queries: Arc<AtomicUsize>,
}

fn normal(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

fn answer(query: &Message, table: &[(String, DnsRecord)]) -> Message {
    let mut response = Message::response(query.metadata.id, OpCode::Query);
    response.metadata.recursion_desired = query.metadata.recursion_desired;
    response.metadata.recursion_available = true;
    response.metadata.authoritative = true;
    let Some(question) = query.queries.first() else {
        response.metadata.response_code = ResponseCode::FormErr;
        return response;
    };
    response.add_query(question.clone());
    let asked = normal(&question.name().to_ascii());
    let mut known = false;
    for (name, record) in table {
        if *name != asked {
            continue;
        }
        known = true;
        if record.record_type() == question.query_type() {
            response.add_answer(Record::from_rdata(
                question.name().clone(),
                60,
                record.rdata(),
            ));
        }
    }
    if !known {
        response.metadata.response_code = ResponseCode::NXDomain;
    }
    response
}

impl DnsServer {
    /// Starts a server answering from `records` (name, record).
    pub async fn start(records: &[(&str, DnsRecord)]) -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let addr = socket.local_addr().expect("address");
        let table: Vec<(String, DnsRecord)> = records
            .iter()
            .map(|(n, r)| (normal(n), r.clone()))
            .collect();
        let queries = Arc::new(AtomicUsize::new(0));
        let counter = queries.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            while let Ok((n, from)) = socket.recv_from(&mut buf).await {
                let Ok(query) = Message::from_vec(&buf[..n]) else {
                    continue;
                };
                counter.fetch_add(1, Ordering::SeqCst);
                if let Ok(bytes) = answer(&query, &table).to_vec() {
                    let _ = socket.send_to(&bytes, from).await;
                }
            }
        });
        DnsServer { addr, queries }
    }

    /// How many queries it has answered.
    pub fn queries(&self) -> usize {
        self.queries.load(Ordering::SeqCst)
    }
}
