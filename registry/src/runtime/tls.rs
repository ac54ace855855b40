//! Optional TLS (rustls with its aws-lc-rs provider): the server side for clients and peers reaching
//! this node, and the client side for this node's POSTs to its peers.
//!
//! A TLS cluster is TLS on every node: a node given a certificate and key serves only TLS,
//! and reaches its peers (`host:port`, as everywhere) over TLS, trusting the CA file given
//! with them and checking that each peer's certificate names the host it was dialled at.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore, ServerConfig};

/// Where the TLS files are; all or none of them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct TlsFiles {
    /// PEM certificate chain this node presents (leaf first).
    pub(crate) cert_file: Option<PathBuf>,
    /// PEM private key of that certificate (PKCS#8, PKCS#1 or SEC1).
    pub(crate) key_file: Option<PathBuf>,
    /// PEM certificates trusted to sign the peers' certificates.
    pub(crate) ca_file: Option<PathBuf>,
}

/// The loaded TLS configuration: both sides, or neither.
#[derive(Clone, Debug, Default)]
pub(crate) struct Tls {
    /// What the server presents; `None` serves plain HTTP.
    pub(crate) server: Option<Arc<ServerConfig>>,
    /// How peers are reached; `None` is plain HTTP.
    pub(crate) peers: Option<Arc<ClientConfig>>,
}

impl Tls {
    pub(crate) fn is_on(&self) -> bool {
        self.server.is_some()
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

impl TlsFiles {
    /// Reads and checks the files. Errors name the key, the file and the problem.
    pub(crate) fn load(&self) -> Result<Tls, String> {
        let (cert, key, ca) = match (&self.cert_file, &self.key_file, &self.ca_file) {
            (None, None, None) => return Ok(Tls::default()),
            (Some(cert), Some(key), Some(ca)) => (cert, key, ca),
            _ => {
                return Err(
                    "tls.cert_file, tls.key_file and tls.ca_file (--tls-cert, --tls-key, --tls-ca) go together: a TLS node serves TLS and reaches its peers over TLS, trusting the CA file"
                        .to_string(),
                )
            }
        };
        Ok(Tls {
            server: Some(server_config(cert, key)?),
            peers: Some(client_config(ca)?),
        })
    }
}

fn certificates(key: &str, path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let problem = |e: &dyn std::fmt::Display| format!("tls.{key} {}: {e}", path.display());
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| problem(&e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| problem(&e))?;
    if certs.is_empty() {
        return Err(problem(&"no PEM CERTIFICATE block in the file"));
    }
    Ok(certs)
}

fn server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, String> {
    let chain = certificates("cert_file", cert)?;
    let private = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("tls.key_file {}: {e}", key.display()))?;
    let config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("tls: {e}"))?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(|e| {
            format!(
                "tls.cert_file {} and tls.key_file {}: {e}",
                cert.display(),
                key.display()
            )
        })?;
    Ok(Arc::new(config))
}

/// A client configuration trusting the certificates in `ca` (PEM) and nothing else.
pub(crate) fn client_config(ca: &Path) -> Result<Arc<ClientConfig>, String> {
    let mut roots = RootCertStore::empty();
    for cert in certificates("ca_file", ca)? {
        roots
            .add(cert)
            .map_err(|e| format!("tls.ca_file {}: {e}", ca.display()))?;
    }
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("tls: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_or_partial_files_are_refused_by_name() {
        let files = TlsFiles {
            cert_file: Some("/nonexistent/cert.pem".into()),
            ..TlsFiles::default()
        };
        let text = files.load().expect_err("partial").to_string();
        assert!(text.contains("go together"), "{text}");
        let files = TlsFiles {
            cert_file: Some("/nonexistent/cert.pem".into()),
            key_file: Some("/nonexistent/key.pem".into()),
            ca_file: Some("/nonexistent/ca.pem".into()),
        };
        let text = files.load().expect_err("missing").to_string();
        assert!(
            text.contains("tls.cert_file /nonexistent/cert.pem"),
            "{text}"
        );
        assert!(!TlsFiles::default().load().expect("off").is_on());
    }

    #[test]
    fn a_file_without_pem_blocks_is_refused() {
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        std::io::Write::write_all(&mut file, b"not a certificate\n").expect("write");
        let text = client_config(file.path()).expect_err("no PEM").to_string();
        assert!(text.contains("tls.ca_file"), "{text}");
        assert!(text.contains("no PEM CERTIFICATE"), "{text}");
    }
}
