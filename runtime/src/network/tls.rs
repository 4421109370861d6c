//! TLS for every connection of a node that has a `[tls]` table (rustls with the *ring*
//! provider): the Raft transport is mutual — each side presents a certificate signed by
//! the cluster's CA — and the HTTP API presents the node's certificate to clients, which
//! check it against the same CA. Tokens still authenticate every request on top.

use crate::config::Tls;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::{TlsAcceptor, TlsConnector};

/// A byte stream the transport can frame: plain TCP or TLS over it.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

pub type BoxedIo = Box<dyn Io>;

/// Why the TLS files could not be used.
#[derive(Debug)]
pub struct TlsError {
    pub path: PathBuf,
    pub reason: String,
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TLS: {}: {}", self.path.display(), self.reason)
    }
}

impl std::error::Error for TlsError {}

/// The TLS side of a node, built once from its `[tls]` files.
#[derive(Clone)]
pub struct NodeTls {
    /// Accepts Raft peers: requires a client certificate from the CA.
    pub raft_acceptor: TlsAcceptor,
    /// Accepts API clients: any client; the token authenticates them.
    pub api_acceptor: TlsAcceptor,
    /// Connects to Raft peers with this node's certificate.
    pub connector: TlsConnector,
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn failed(path: &Path, reason: impl fmt::Display) -> TlsError {
    TlsError {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certificates = CertificateDer::pem_file_iter(path)
        .map_err(|e| failed(path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| failed(path, e))?;
    if certificates.is_empty() {
        return Err(failed(path, "no PEM certificate in the file"));
    }
    Ok(certificates)
}

/// The CA certificates in `path`, as a root store.
pub fn roots(path: &Path) -> Result<Arc<RootCertStore>, TlsError> {
    let mut roots = RootCertStore::empty();
    for certificate in certificates(path)? {
        roots.add(certificate).map_err(|e| failed(path, e))?;
    }
    Ok(Arc::new(roots))
}

impl NodeTls {
    pub fn load(files: &Tls) -> Result<NodeTls, TlsError> {
        let chain = certificates(&files.cert)?;
        let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| failed(&files.key, e))?;
        let roots = roots(&files.ca)?;
        let versions = rustls::DEFAULT_VERSIONS;
        let verifier = WebPkiClientVerifier::builder_with_provider(roots.clone(), provider())
            .build()
            .map_err(|e| failed(&files.ca, e))?;
        let raft_server = ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(versions)
            .map_err(|e| failed(&files.cert, e))?
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain.clone(), key.clone_key())
            .map_err(|e| failed(&files.key, e))?;
        let api_server = ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(versions)
            .map_err(|e| failed(&files.cert, e))?
            .with_no_client_auth()
            .with_single_cert(chain.clone(), key.clone_key())
            .map_err(|e| failed(&files.key, e))?;
        let client = ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(versions)
            .map_err(|e| failed(&files.cert, e))?
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)
            .map_err(|e| failed(&files.key, e))?;
        Ok(NodeTls {
            raft_acceptor: TlsAcceptor::from(Arc::new(raft_server)),
            api_acceptor: TlsAcceptor::from(Arc::new(api_server)),
            connector: TlsConnector::from(Arc::new(client)),
        })
    }
}

/// The name a peer's certificate must carry: the host of its `host:port` address.
pub fn server_name(address: &str) -> Result<ServerName<'static>, String> {
    let host = address
        .rsplit_once(':')
        .map_or(address, |(host, _)| host)
        .trim_start_matches('[')
        .trim_end_matches(']');
    ServerName::try_from(host.to_string()).map_err(|e| format!("`{host}`: {e}"))
}
