//! A certificate authority made at test time, a server certificate it signs, and a self-signed
//! certificate nobody trusts.

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::TlsAcceptor;

/// The common name of the test certificate authority.
pub const CA_NAME: &str = "reglet test CA";

/// Test certificates for a set of server names.
pub struct TestPki {
    ca_der: Vec<u8>,
    trusted: Arc<ServerConfig>,
    untrusted: Arc<ServerConfig>,
}

fn server_config(chain: Vec<CertificateDer<'static>>, key: &KeyPair) -> Arc<ServerConfig> {
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("default versions")
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .expect("a valid test certificate");
    Arc::new(config)
}

impl TestPki {
    /// A CA and a certificate it signs for `names` (DNS names or IP addresses).
    pub fn new(names: &[&str]) -> Self {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, CA_NAME);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("CA key"))
            .expect("CA certificate");

        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names.clone()).expect("server params");
        params
            .distinguished_name
            .push(DnType::CommonName, names[0].as_str());
        let key = KeyPair::generate().expect("server key");
        let cert = params.signed_by(&key, &ca).expect("server certificate");
        let trusted = server_config(vec![cert.der().clone(), ca.der().clone()], &key);

        let mut params = CertificateParams::new(names.clone()).expect("self-signed params");
        params
            .distinguished_name
            .push(DnType::CommonName, names[0].as_str());
        let key = KeyPair::generate().expect("self-signed key");
        let cert = params.self_signed(&key).expect("self-signed certificate");
        let untrusted = server_config(vec![cert.der().clone()], &key);

        TestPki {
            ca_der: ca.der().to_vec(),
            trusted,
            untrusted,
        }
    }

    /// The CA certificate (DER), to add to a client's trusted roots.
    pub fn ca_der(&self) -> Vec<u8> {
        self.ca_der.clone()
    }

    /// Serves the certificate the CA signed.
    pub fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.trusted.clone())
    }

    /// Serves a self-signed certificate for the same names, which no client trusts.
    pub fn untrusted_acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.untrusted.clone())
    }
}
