//! TLS for the network adapters: one trust store (the system's, plus any roots added for tests or
//! private PKI), the `ring` provider, and a reporting verifier for connection checks.

use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;

use reglet_domain::Timestamp;
use reglet_ports::TlsInfo;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    ClientConfig, DigitallySignedStruct, ProtocolVersion, RootCertStore, SignatureScheme,
};

/// Trusted roots and the crypto provider, shared by every adapter.
///
/// The trust store is built on first use, not when the settings are made: loading the system's
/// certificates takes milliseconds, and most runtimes never open a TLS connection.
#[derive(Clone)]
pub struct TlsSettings {
    extra: Arc<[Vec<u8>]>,
    roots: Arc<OnceLock<Arc<RootCertStore>>>,
    provider: Arc<CryptoProvider>,
}

/// The system's certificates, read once per process.
fn native_certs() -> &'static [CertificateDer<'static>] {
    static NATIVE: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    NATIVE.get_or_init(|| {
        let native = rustls_native_certs::load_native_certs();
        for error in &native.errors {
            tracing::debug!("skipping a system certificate source: {error}");
        }
        native.certs
    })
}

impl TlsSettings {
    /// The system's trusted roots plus `extra` (DER certificates).
    pub fn new(extra: &[Vec<u8>]) -> Self {
        TlsSettings {
            extra: extra.into(),
            roots: Arc::new(OnceLock::new()),
            provider: Arc::new(rustls::crypto::ring::default_provider()),
        }
    }

    fn roots(&self) -> Arc<RootCertStore> {
        self.roots
            .get_or_init(|| {
                let mut roots = RootCertStore::empty();
                let (added, ignored) = roots.add_parsable_certificates(native_certs().to_vec());
                if ignored > 0 {
                    tracing::debug!(
                        "{ignored} system certificates could not be parsed ({added} trusted)"
                    );
                }
                for der in self.extra.iter() {
                    if let Err(e) = roots.add(CertificateDer::from(der.clone())) {
                        tracing::warn!("an extra trusted root was refused: {e}");
                    }
                }
                Arc::new(roots)
            })
            .clone()
    }

    /// A client configuration that verifies certificates (TLS 1.2 and 1.3), advertising `alpn`.
    pub fn strict(&self, alpn: &[&[u8]]) -> ClientConfig {
        let mut config = ClientConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()
            .expect("the ring provider supports the default versions")
            .with_root_certificates(self.roots())
            .with_no_client_auth();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        config
    }

    /// A client configuration for connection checks: the certificate is verified as usual, but a
    /// failure is recorded instead of aborting the handshake, so the certificate can be reported.
    /// The handshake signatures are still checked. Used only for connection checks: nothing a
    /// plugin supplies is sent over such a session (SMTP sends its closing `QUIT`).
    pub fn reporting(&self) -> (ClientConfig, VerificationOutcome) {
        let outcome = VerificationOutcome::default();
        let inner =
            WebPkiServerVerifier::builder_with_provider(self.roots(), self.provider.clone())
                .build()
                .ok();
        let verifier = Reporting {
            inner,
            provider: self.provider.clone(),
            outcome: outcome.clone(),
        };
        let config = ClientConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()
            .expect("the ring provider supports the default versions")
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        (config, outcome)
    }
}

/// Why certificate verification failed during a reporting handshake, if it did.
#[derive(Debug, Clone, Default)]
pub struct VerificationOutcome(Arc<Mutex<Option<String>>>);

impl VerificationOutcome {
    fn set(&self, reason: String) {
        *self.0.lock() = Some(reason);
    }

    /// The failure, if verification failed.
    pub fn error(&self) -> Option<String> {
        self.0.lock().clone()
    }
}

#[derive(Debug)]
struct Reporting {
    inner: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<CryptoProvider>,
    outcome: VerificationOutcome,
}

impl ServerCertVerifier for Reporting {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match &self.inner {
            Some(inner) => {
                if let Err(e) = inner.verify_server_cert(
                    end_entity,
                    intermediates,
                    server_name,
                    ocsp_response,
                    now,
                ) {
                    self.outcome.set(describe(&e));
                }
            }
            None => self
                .outcome
                .set("no trusted root certificates are installed on this host".into()),
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A certificate error in words a reader of a compliance report understands.
fn describe(error: &rustls::Error) -> String {
    use rustls::CertificateError as C;
    match error {
        rustls::Error::InvalidCertificate(C::Expired) => "the certificate has expired".into(),
        rustls::Error::InvalidCertificate(C::ExpiredContext { time, not_after }) => format!(
            "the certificate expired (not after {} s since 1970, checked at {} s)",
            not_after.as_secs(),
            time.as_secs()
        ),
        rustls::Error::InvalidCertificate(C::NotValidYet | C::NotValidYetContext { .. }) => {
            "the certificate is not valid yet".into()
        }
        rustls::Error::InvalidCertificate(C::UnknownIssuer) => {
            "the certificate is not signed by a trusted authority (self-signed or unknown issuer)"
                .into()
        }
        rustls::Error::InvalidCertificate(
            C::NotValidForName | C::NotValidForNameContext { .. },
        ) => "the certificate is not valid for this host name".into(),
        rustls::Error::InvalidCertificate(C::Revoked) => "the certificate has been revoked".into(),
        other => other.to_string(),
    }
}

/// `TLS 1.3`, or Go's `Unknown (0xNNNN)` for anything else.
pub fn version_name(version: ProtocolVersion) -> String {
    match version {
        ProtocolVersion::TLSv1_0 => "TLS 1.0".into(),
        ProtocolVersion::TLSv1_1 => "TLS 1.1".into(),
        ProtocolVersion::TLSv1_2 => "TLS 1.2".into(),
        ProtocolVersion::TLSv1_3 => "TLS 1.3".into(),
        other => format!("Unknown (0x{:04x})", u16::from(other)),
    }
}

/// The IANA name of a cipher suite (`TLS_AES_256_GCM_SHA384`), as Go reports it.
pub fn suite_name(suite: rustls::CipherSuite) -> String {
    let name = format!("{suite:?}");
    match name.strip_prefix("TLS13_") {
        Some(rest) => format!("TLS_{rest}"),
        None => name,
    }
}

/// Go's `pkix.Name.String()`: relative names in reverse order, `CN=host,O=Org,C=US`.
fn name_string(name: &x509_parser::x509::X509Name<'_>) -> String {
    let short = |oid: &str| -> Option<&'static str> {
        Some(match oid {
            "2.5.4.3" => "CN",
            "2.5.4.6" => "C",
            "2.5.4.10" => "O",
            "2.5.4.11" => "OU",
            "2.5.4.7" => "L",
            "2.5.4.8" => "ST",
            "2.5.4.9" => "STREET",
            "2.5.4.17" => "POSTALCODE",
            "2.5.4.5" => "SERIALNUMBER",
            _ => return None,
        })
    };
    let mut rdns: Vec<String> = name
        .iter_rdn()
        .map(|rdn| {
            rdn.iter()
                .map(|attr| {
                    let oid = attr.attr_type().to_id_string();
                    let value = attr
                        .as_str()
                        .map(|v| v.replace(',', "\\,").replace('+', "\\+"))
                        .unwrap_or_else(|_| format!("#{}", hex::encode(attr.attr_value().data)));
                    format!("{}={value}", short(&oid).map(str::to_owned).unwrap_or(oid))
                })
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect();
    rdns.reverse();
    rdns.join(",")
}

/// What a finished handshake negotiated and what the leaf certificate says.
pub fn tls_info(
    conn: &rustls::CommonState,
    server_name: &str,
    verification_error: Option<String>,
) -> TlsInfo {
    let mut info = TlsInfo {
        version: conn
            .protocol_version()
            .map(version_name)
            .unwrap_or_default(),
        cipher_suite: conn
            .negotiated_cipher_suite()
            .map(|s| suite_name(s.suite()))
            .unwrap_or_default(),
        server_name: server_name.to_owned(),
        verification_error,
        ..TlsInfo::default()
    };
    if let Some(leaf) = conn.peer_certificates().and_then(|certs| certs.first())
        && let Ok((_, cert)) = x509_parser::parse_x509_certificate(leaf)
    {
        let subject = name_string(cert.subject());
        info.cert_subject = (!subject.is_empty()).then_some(subject);
        info.cert_issuer = Some(name_string(cert.issuer()));
        info.cert_not_after = Some(Timestamp::new(cert.validity().not_after.to_datetime()));
    }
    info
}
