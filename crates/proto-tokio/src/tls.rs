//! TLS for `wss`, with rustls (ring provider): a client that verifies the server
//! against configured roots, and a server with a certificate chain and key. The
//! WebSocket on top is the one of [`ws`](crate::ws), so every protocol gets `wss`
//! through the same code.

use std::io;
use std::sync::Arc;
use std::time::Duration;

pub use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
pub use rustls::{ClientConfig, ServerConfig};
use tokio::net::TcpStream;
use tokio_rustls::{TlsAcceptor, TlsConnector};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Response as ClientResponse;
use tokio_tungstenite::tungstenite::handshake::server::{Callback, NoCallback};
use tokio_tungstenite::tungstenite::{self, http::Uri};

use crate::ws::{self, WsConfig, WsTransport};

/// The client's end of a TLS connection.
pub type ClientTlsStream = tokio_rustls::client::TlsStream<TcpStream>;
/// The server's end of a TLS connection.
pub type ServerTlsStream = tokio_rustls::server::TlsStream<TcpStream>;

/// How long connecting or accepting may take, TCP, TLS and WebSocket handshakes
/// together.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a `wss` connection could not be made or accepted.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The URL is not `wss://HOST[:PORT]/…`.
    #[error("not a wss URL: {0}")]
    BadUrl(String),
    /// The TLS configuration was refused (no usable certificate, key or roots).
    #[error("TLS configuration: {0}")]
    Config(#[from] rustls::Error),
    /// TCP or TLS failed, including a certificate the client does not trust.
    #[error("connection: {0}")]
    Io(#[from] io::Error),
    /// The WebSocket handshake failed.
    #[error("WebSocket: {0}")]
    WebSocket(#[from] tungstenite::Error),
    /// The handshakes took longer than [`HANDSHAKE_TIMEOUT`].
    #[error("the handshakes took longer than {HANDSHAKE_TIMEOUT:?}")]
    TimedOut,
}

/// The ring provider: light to build, no C toolchain needed. rustls deprecates it
/// for lacking post-quantum key exchange, which this workspace does not need yet.
#[allow(deprecated)]
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A client configuration that trusts exactly `roots`, and checks that the
/// server's certificate names the host connected to.
pub fn client_config(
    roots: impl IntoIterator<Item = CertificateDer<'static>>,
) -> Result<Arc<ClientConfig>, TlsError> {
    let mut store = rustls::RootCertStore::empty();
    for root in roots {
        store.add(root)?;
    }
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(store)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// A server configuration presenting `chain` (leaf first) with its private `key`.
pub fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    Ok(Arc::new(config))
}

/// Connects to `request` (a `wss://` URL or a prepared request with headers):
/// TCP with Nagle's algorithm off, TLS verifying the URL's host against
/// `config`'s roots, then the WebSocket handshake with its layer bounded by `ws`,
/// all within [`HANDSHAKE_TIMEOUT`].
pub async fn connect(
    request: impl IntoClientRequest + Unpin,
    config: Arc<ClientConfig>,
    ws: &WsConfig,
) -> Result<(WsTransport<ClientTlsStream>, ClientResponse), TlsError> {
    let request = request.into_client_request()?;
    let (host, port) = host_and_port(request.uri())?;
    let name = ServerName::try_from(host.clone()).map_err(|_| TlsError::BadUrl(host.clone()))?;
    let handshakes = async {
        let tcp = TcpStream::connect((host.as_str(), port)).await?;
        tcp.set_nodelay(true)?;
        let tls = TlsConnector::from(config).connect(name, tcp).await?;
        let (stream, response) =
            tokio_tungstenite::client_async_with_config(request, tls, Some(ws.tungstenite()))
                .await?;
        Ok((WsTransport::new(stream), response))
    };
    tokio::time::timeout(HANDSHAKE_TIMEOUT, handshakes)
        .await
        .map_err(|_| TlsError::TimedOut)?
}

/// The host (without IPv6 brackets) and port (443 by default) of a `wss` URI.
fn host_and_port(uri: &Uri) -> Result<(String, u16), TlsError> {
    if uri.scheme_str() != Some("wss") {
        return Err(TlsError::BadUrl(uri.to_string()));
    }
    let host = uri
        .host()
        .ok_or_else(|| TlsError::BadUrl(uri.to_string()))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Ok((host.to_owned(), uri.port_u16().unwrap_or(443)))
}

/// Completes TLS, then the WebSocket handshake with its layer bounded by `ws`, on an
/// accepted TCP stream, within [`HANDSHAKE_TIMEOUT`].
pub async fn accept(
    stream: TcpStream,
    config: Arc<ServerConfig>,
    ws: &WsConfig,
) -> Result<WsTransport<ServerTlsStream>, TlsError> {
    accept_with(stream, config, ws, NoCallback).await
}

/// Like [`accept`], letting `callback` inspect the HTTP request (the path, such
/// as Tipt's `/ws`) and shape or refuse the response.
pub async fn accept_with<C>(
    stream: TcpStream,
    config: Arc<ServerConfig>,
    ws: &WsConfig,
    callback: C,
) -> Result<WsTransport<ServerTlsStream>, TlsError>
where
    C: Callback + Unpin,
{
    let handshakes = async {
        stream.set_nodelay(true)?;
        let tls = TlsAcceptor::from(config).accept(stream).await?;
        Ok(ws::accept_with_config(tls, ws, callback).await?)
    };
    tokio::time::timeout(HANDSHAKE_TIMEOUT, handshakes)
        .await
        .map_err(|_| TlsError::TimedOut)?
}
