//! `wss` with a certificate authority made at run time: a trusted certificate
//! connects; an untrusted authority and a certificate for another name are refused.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use proto_core::{Payload, Transmit};
use proto_tokio::tls::{self, CertificateDer, PrivateKeyDer, TlsError};
use proto_tokio::ws::WsConfig;
use proto_tokio::{Incoming, Transport};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use tokio::net::TcpListener;

struct Authority {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Authority {
    fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Authority { issuer }
    }

    fn root(&self) -> CertificateDer<'static> {
        self.issuer.der().clone()
    }

    /// A leaf certificate for `name` and its key.
    fn leaf(&self, name: &str) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
        let key = KeyPair::generate().unwrap();
        let params = CertificateParams::new(vec![name.to_owned()]).unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let key = PrivateKeyDer::try_from(key.serialize_der()).unwrap();
        (vec![cert.der().clone()], key)
    }
}

/// Serves one `wss` connection with `leaf`, echoing one binary frame; returns
/// whether the handshakes succeeded.
async fn serve_once(
    leaf: (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>),
) -> (String, tokio::task::JoinHandle<bool>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let config = tls::server_config(leaf.0, leaf.1).unwrap();
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let Ok(mut transport) = tls::accept(stream, config, &WsConfig::default()).await else {
            return false;
        };
        if let Incoming::Binary(bytes) = transport.recv().await {
            let echo = Transmit {
                to: None,
                payload: Payload::Binary(bytes),
            };
            transport.send(echo).await.unwrap();
        }
        true
    });
    (format!("wss://localhost:{port}/ws"), server)
}

fn certificate_error(error: &TlsError) -> rustls::CertificateError {
    let TlsError::Io(io) = error else {
        panic!("expected a TLS failure, got {error:?}");
    };
    match io
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(rustls::Error::InvalidCertificate(error)) => error.clone(),
        other => panic!("expected an invalid certificate, got {other:?}"),
    }
}

#[tokio::test]
async fn a_trusted_certificate_connects() {
    let authority = Authority::new("trusted authority");
    let (url, server) = serve_once(authority.leaf("localhost")).await;
    let config = tls::client_config([authority.root()]).unwrap();
    let (mut transport, _) = tls::connect(url.as_str(), config, &WsConfig::default())
        .await
        .unwrap();
    let hello = Transmit {
        to: None,
        payload: Payload::Binary(Bytes::from_static(b"\x80")),
    };
    transport.send(hello).await.unwrap();
    let echoed = tokio::time::timeout(Duration::from_secs(5), transport.recv())
        .await
        .unwrap();
    assert_eq!(echoed, Incoming::Binary(Bytes::from_static(b"\x80")));
    assert!(server.await.unwrap());
}

#[tokio::test]
async fn an_untrusted_authority_is_refused() {
    let authority = Authority::new("trusted authority");
    let stranger = Authority::new("stranger");
    let (url, server) = serve_once(stranger.leaf("localhost")).await;
    let config = tls::client_config([authority.root()]).unwrap();
    let error = tls::connect(url.as_str(), config, &WsConfig::default())
        .await
        .unwrap_err();
    assert_eq!(
        certificate_error(&error),
        rustls::CertificateError::UnknownIssuer
    );
    assert!(!server.await.unwrap());
}

#[tokio::test]
async fn a_certificate_for_another_name_is_refused() {
    let authority = Authority::new("trusted authority");
    let (url, server) = serve_once(authority.leaf("node.example")).await;
    let config = tls::client_config([authority.root()]).unwrap();
    let error = tls::connect(url.as_str(), config, &WsConfig::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            certificate_error(&error),
            rustls::CertificateError::NotValidForName
                | rustls::CertificateError::NotValidForNameContext { .. }
        ),
        "{error:?}"
    );
    assert!(!server.await.unwrap());
}

#[tokio::test]
async fn plain_ws_urls_are_refused() {
    let config = tls::client_config(Vec::new()).unwrap();
    let error = tls::connect(
        "ws://localhost:1/ws",
        Arc::clone(&config),
        &WsConfig::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(error, TlsError::BadUrl(_)), "{error:?}");
}
