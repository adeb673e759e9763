//! The WebSocket proxy: a `ws` listener whose every accepted connection gets its
//! own connection to a `ws://` or `wss://` upstream, and every message forwarded
//! unchanged both ways — text, binary, ping, pong, close with its code and reason.
//!
//! The client's offered subprotocols and `Authorization` header go upstream with
//! its path (when the upstream URL has none); the client is answered with the first
//! subprotocol it offered. The WebSocket layer answers pings and closes itself, as
//! every WebSocket endpoint must, besides forwarding them.

use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Response};
use tokio_tungstenite::tungstenite::http::{HeaderMap, HeaderValue, Uri, header};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::proxy::{ProxyConfig, Tap, Taps, bounded, report};
use super::{Direction, Failure, FrameData};

/// Where the proxy connects each conversation.
#[derive(Debug, Clone)]
pub(crate) struct Upstream {
    uri: Uri,
    tls: Option<Arc<proto_tokio::tls::ClientConfig>>,
}

impl Upstream {
    /// Checks `url` is `ws://…` or `wss://…` (which needs TLS roots).
    pub(crate) fn parse(url: &str, config: &ProxyConfig) -> Result<Self, Failure> {
        let uri: Uri = url.parse()?;
        let tls = match uri.scheme_str() {
            Some("ws") => None,
            Some("wss") => Some(
                config
                    .roots
                    .clone()
                    .ok_or("a wss:// upstream needs --roots PEM")?,
            ),
            _ => return Err(format!("not a ws:// or wss:// URL: {url}").into()),
        };
        Ok(Upstream { uri, tls })
    }
}

/// The WebSocket layer's bounds for both sides.
fn ws_config(config: &ProxyConfig) -> WebSocketConfig {
    let max = config.limits.max_frame_len;
    WebSocketConfig::default()
        .max_message_size(Some(max))
        .max_frame_size(Some(max))
}

/// Accepts clients until `shutdown`, one task per conversation.
pub(crate) async fn run(
    listener: TcpListener,
    upstream: Upstream,
    config: Arc<ProxyConfig>,
    taps: Taps,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Failure> {
    let mut conversations = JoinSet::new();
    let mut conn = 0;
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            () = &mut shutdown => return Ok(()),
            accepted = listener.accept() => accepted?,
        };
        while conversations.try_join_next().is_some() {}
        if conversations.len() >= config.max_conversations {
            drop(stream);
            continue;
        }
        conn += 1;
        let upstream = upstream.clone();
        let config = config.clone();
        let taps = taps.clone();
        conversations.spawn(async move {
            if let Err(error) = conversation(conn, stream, upstream, &config, &taps).await {
                let error = format!("conversation ended: {error}");
                report(
                    &taps,
                    Tap::Flag {
                        conn,
                        direction: Direction::ToServer,
                        error,
                    },
                )
                .await;
            }
        });
    }
}

/// What the proxy keeps of the client's handshake request.
#[derive(Debug, Default)]
struct Handshake {
    path: Option<String>,
    headers: HeaderMap,
}

async fn conversation(
    conn: u64,
    stream: TcpStream,
    upstream: Upstream,
    config: &ProxyConfig,
    taps: &Taps,
) -> Result<(), Failure> {
    stream.set_nodelay(true)?;
    let handshake = Arc::new(Mutex::new(Handshake::default()));
    let seen = handshake.clone();
    // tungstenite's callback type returns its own (large) error response.
    #[allow(clippy::result_large_err)]
    let callback = move |request: &Request, mut response: Response| {
        let offered = request.headers().get(header::SEC_WEBSOCKET_PROTOCOL);
        if let Some(first) = offered
            .and_then(|value| value.to_str().ok())
            .and_then(|list| list.split(',').next())
            .and_then(|first| HeaderValue::from_str(first.trim()).ok())
        {
            response
                .headers_mut()
                .insert(header::SEC_WEBSOCKET_PROTOCOL, first);
        }
        if let Ok(mut seen) = seen.lock() {
            seen.path = request
                .uri()
                .path_and_query()
                .map(|p| p.as_str().to_owned());
            for name in [header::SEC_WEBSOCKET_PROTOCOL, header::AUTHORIZATION] {
                if let Some(value) = request.headers().get(&name) {
                    seen.headers.insert(name, value.clone());
                }
            }
        }
        Ok::<Response, ErrorResponse>(response)
    };
    let accept =
        tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(ws_config(config)));
    let client = tokio::time::timeout(config.connect_timeout, accept)
        .await
        .map_err(|_| "the client's handshake timed out")??;
    let handshake = std::mem::take(&mut *handshake.lock().map_err(|_| "handshake lock poisoned")?);
    let request = upstream_request(&upstream.uri, handshake)?;
    let host = request
        .uri()
        .host()
        .ok_or("the upstream URL has no host")?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let default_port = if upstream.tls.is_some() { 443 } else { 80 };
    let port = request.uri().port_u16().unwrap_or(default_port);
    let ws = Some(ws_config(config));
    let timeout = config.connect_timeout;
    let tcp = bounded(timeout, TcpStream::connect((host.as_str(), port))).await?;
    tcp.set_nodelay(true)?;
    match upstream.tls {
        None => {
            let handshake = tokio_tungstenite::client_async_with_config(request, tcp, ws);
            let (server, _) = bounded(timeout, handshake).await?;
            relay(conn, client, server, config, taps).await;
        }
        Some(tls) => {
            let name = proto_tokio::tls::ServerName::try_from(host)?;
            let tls = bounded(
                timeout,
                tokio_rustls::TlsConnector::from(tls).connect(name, tcp),
            )
            .await?;
            let handshake = tokio_tungstenite::client_async_with_config(request, tls, ws);
            let (server, _) = bounded(timeout, handshake).await?;
            relay(conn, client, server, config, taps).await;
        }
    }
    Ok(())
}

/// The upstream request: its URL (with the client's path when it has none) and the
/// client's subprotocols and authorization.
fn upstream_request(uri: &Uri, handshake: Handshake) -> Result<Request, Failure> {
    let bare = matches!(
        uri.path_and_query().map(|p| p.as_str()),
        None | Some("/") | Some("")
    );
    let uri = match (bare, handshake.path) {
        (true, Some(path)) if path != "/" => {
            let authority = uri.authority().map(|a| a.as_str()).unwrap_or_default();
            let scheme = uri.scheme_str().unwrap_or("ws");
            format!("{scheme}://{authority}{path}").parse::<Uri>()?
        }
        _ => uri.clone(),
    };
    let mut request = uri.into_client_request()?;
    for (name, value) in &handshake.headers {
        request.headers_mut().insert(name, value.clone());
    }
    Ok(request)
}

/// Forwards messages both ways until both sides have closed, one side is gone, or
/// nothing moved for the idle time.
async fn relay<C, S>(
    conn: u64,
    client: WebSocketStream<C>,
    server: WebSocketStream<S>,
    config: &ProxyConfig,
    taps: &Taps,
) where
    C: AsyncRead + AsyncWrite + Unpin,
    S: AsyncRead + AsyncWrite + Unpin,
{
    report(
        taps,
        Tap::Frame {
            conn,
            direction: Direction::ToServer,
            data: FrameData::Open,
        },
    )
    .await;
    let (mut to_client, mut from_client) = client.split();
    let (mut to_server, mut from_server) = server.split();
    // Which sides have sent their close.
    let mut client_closed = false;
    let mut server_closed = false;
    while !(client_closed && server_closed) {
        let (direction, message) = tokio::select! {
            message = from_client.next(), if !client_closed => (Direction::ToServer, message),
            message = from_server.next(), if !server_closed => (Direction::ToClient, message),
            () = tokio::time::sleep(config.idle_timeout) => {
                let error = format!("no traffic for {:?}", config.idle_timeout);
                report(taps, Tap::Flag { conn, direction: Direction::ToServer, error }).await;
                return;
            }
        };
        let message = match message {
            Some(Ok(message)) => message,
            Some(Err(error)) => {
                // A peer that drops the connection without a close frame is seen as
                // a close without a code, as the driver sees it.
                let quiet = matches!(
                    error,
                    WsError::ConnectionClosed
                        | WsError::AlreadyClosed
                        | WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake)
                );
                if !quiet {
                    let error = error.to_string();
                    report(
                        taps,
                        Tap::Flag {
                            conn,
                            direction,
                            error,
                        },
                    )
                    .await;
                }
                report(
                    taps,
                    Tap::Frame {
                        conn,
                        direction,
                        data: FrameData::Close(None),
                    },
                )
                .await;
                return;
            }
            None => {
                report(
                    taps,
                    Tap::Frame {
                        conn,
                        direction,
                        data: FrameData::Close(None),
                    },
                )
                .await;
                return;
            }
        };
        let data = match &message {
            Message::Text(text) => Some(FrameData::Text(text.as_str().to_owned())),
            Message::Binary(bytes) => Some(FrameData::Binary(bytes.to_vec())),
            Message::Close(frame) => Some(FrameData::Close(
                frame
                    .as_ref()
                    .map(|f| (u16::from(f.code), f.reason.as_str().to_owned())),
            )),
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => None,
        };
        let closing = matches!(message, Message::Close(_));
        let (sent, peer_closed) = match direction {
            Direction::ToServer => {
                client_closed |= closing;
                (
                    bounded(config.write_timeout, to_server.send(message)).await,
                    server_closed,
                )
            }
            Direction::ToClient => {
                server_closed |= closing;
                (
                    bounded(config.write_timeout, to_client.send(message)).await,
                    client_closed,
                )
            }
        };
        if let Some(data) = data {
            report(
                taps,
                Tap::Frame {
                    conn,
                    direction,
                    data,
                },
            )
            .await;
        }
        // Writing to a side that has closed fails, as it should; any other failure
        // ends the conversation.
        if let Err(error) = sent {
            if !peer_closed {
                let error = format!("forwarding failed: {error}");
                report(
                    taps,
                    Tap::Flag {
                        conn,
                        direction,
                        error,
                    },
                )
                .await;
                return;
            }
        }
    }
}
