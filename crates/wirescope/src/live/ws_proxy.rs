//! The WebSocket proxy: a `ws` listener whose every accepted connection gets its
//! own connection to a `ws://` or `wss://` upstream, and every message forwarded
//! unchanged both ways — text, binary, ping, pong, close with its code and reason.
//!
//! The client's opening handshake is read before it is answered: its path (when
//! the upstream URL has none), offered subprotocols and `Authorization` header go
//! upstream, and the client gets the upstream's answer — the subprotocol the
//! upstream chose, or its refusal's status. The conversation opens when the client's
//! request has arrived. The WebSocket layer answers pings and closes itself, as
//! every WebSocket endpoint must, besides forwarding them.

use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::handshake::client::{Request, Response as UpstreamResponse};
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

/// The most of a client's opening handshake the proxy reads.
const MAX_HANDSHAKE: usize = 16 * 1024;

/// How often the client's socket is looked at while its handshake is incomplete.
const HANDSHAKE_POLL: std::time::Duration = std::time::Duration::from_millis(5);

async fn conversation(
    conn: u64,
    stream: TcpStream,
    upstream: Upstream,
    config: &ProxyConfig,
    taps: &Taps,
) -> Result<(), Failure> {
    stream.set_nodelay(true)?;
    // The client's request is read without being consumed, so the upstream is asked
    // first and the client then gets the upstream's own answer: its subprotocol, or
    // its refusal.
    let handshake = bounded(config.connect_timeout, peek_handshake(&stream)).await?;
    report(
        taps,
        Tap::Frame {
            conn,
            direction: Direction::ToServer,
            data: FrameData::Open,
        },
    )
    .await;
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
            let server = tokio::time::timeout(timeout, handshake).await;
            answer_client(conn, stream, server, config, taps).await
        }
        Some(tls) => {
            let name = proto_tokio::tls::ServerName::try_from(host)?;
            let tls = bounded(
                timeout,
                tokio_rustls::TlsConnector::from(tls).connect(name, tcp),
            )
            .await?;
            let handshake = tokio_tungstenite::client_async_with_config(request, tls, ws);
            let server = tokio::time::timeout(timeout, handshake).await;
            answer_client(conn, stream, server, config, taps).await
        }
    }
}

/// The upstream's answer to the handshake, or why there is none.
type UpstreamAnswer<S> =
    Result<Result<(WebSocketStream<S>, UpstreamResponse), WsError>, tokio::time::error::Elapsed>;

/// Completes the client's handshake with the upstream's answer (its subprotocol, or
/// its refusal's status and body) and relays.
async fn answer_client<S>(
    conn: u64,
    stream: TcpStream,
    server: UpstreamAnswer<S>,
    config: &ProxyConfig,
    taps: &Taps,
) -> Result<(), Failure>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (server, refusal) = match server {
        Ok(Ok((server, response))) => (Some((server, response)), None),
        Ok(Err(WsError::Http(response))) => (None, Some(*response)),
        Ok(Err(error)) => return Err(format!("upstream handshake: {error}").into()),
        Err(_) => {
            return Err(format!(
                "upstream handshake: no answer in {:?}",
                config.connect_timeout
            )
            .into());
        }
    };
    let chosen = server
        .as_ref()
        .and_then(|(_, response)| response.headers().get(header::SEC_WEBSOCKET_PROTOCOL))
        .cloned();
    let refused = refusal.as_ref().map(|response| {
        let mut answer = ErrorResponse::new(
            response
                .body()
                .as_ref()
                .map(|body| String::from_utf8_lossy(body).into_owned()),
        );
        *answer.status_mut() = response.status();
        answer
    });
    // tungstenite's callback type returns its own (large) error response.
    #[allow(clippy::result_large_err)]
    let callback = move |_: &Request, mut response: Response| {
        if let Some(refused) = refused {
            return Err(refused);
        }
        if let Some(chosen) = chosen {
            response
                .headers_mut()
                .insert(header::SEC_WEBSOCKET_PROTOCOL, chosen);
        }
        Ok::<Response, ErrorResponse>(response)
    };
    let accept =
        tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(ws_config(config)));
    let accepted = bounded(config.connect_timeout, accept).await;
    match (server, refusal) {
        (Some((server, _)), _) => {
            relay(conn, accepted?, server, config, taps).await;
            Ok(())
        }
        (None, Some(refusal)) => Err(format!(
            "the upstream refused the handshake with {}; the client got the same",
            refusal.status()
        )
        .into()),
        (None, None) => Err("no upstream".into()),
    }
}

/// Waits, without consuming anything, until the client's whole opening handshake
/// request has arrived, and reads its path, subprotocols and authorization.
async fn peek_handshake(stream: &TcpStream) -> Result<Handshake, Failure> {
    let mut buf = vec![0; MAX_HANDSHAKE];
    loop {
        let len = stream.peek(&mut buf).await?;
        let seen = buf.get(..len).unwrap_or_default();
        if len == 0 {
            return Err("the client left before its handshake".into());
        }
        if let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
            return parse_handshake(seen.get(..end).unwrap_or_default());
        }
        if len == buf.len() {
            return Err(format!("the client's handshake is over {MAX_HANDSHAKE} bytes").into());
        }
        tokio::time::sleep(HANDSHAKE_POLL).await;
    }
}

/// Reads the request line's path and the headers that go upstream; the WebSocket
/// layer checks the rest when it accepts the client.
fn parse_handshake(head: &[u8]) -> Result<Handshake, Failure> {
    let head = std::str::from_utf8(head).map_err(|_| "the client's handshake is not UTF-8")?;
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let path = match request_line.split(' ').collect::<Vec<_>>().as_slice() {
        ["GET", path, version] if version.starts_with("HTTP/") => path.to_string(),
        _ => return Err(format!("not a WebSocket handshake: {request_line:?}").into()),
    };
    let mut headers = HeaderMap::new();
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            return Err(format!("malformed header line {line:?}").into());
        };
        let name = name.trim();
        for wanted in [header::SEC_WEBSOCKET_PROTOCOL, header::AUTHORIZATION] {
            if name.eq_ignore_ascii_case(wanted.as_str()) {
                headers.insert(wanted, HeaderValue::from_str(value.trim())?);
            }
        }
    }
    Ok(Handshake {
        path: Some(path),
        headers,
    })
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio_tungstenite::tungstenite::http::StatusCode;

    use super::*;
    use crate::live::PeerOptions;
    use crate::live::harness::{Proxied, RawWs};

    /// An upstream that answers one handshake with `answer` and echoes one message.
    async fn upstream(
        answer: fn(&Request, Response) -> Result<Response, ErrorResponse>,
    ) -> (String, tokio::task::JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            if let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(stream, answer).await {
                if let Some(Ok(message)) = ws.next().await {
                    ws.send(message).await.unwrap();
                }
            }
        });
        (url, task)
    }

    fn offer(addr: std::net::SocketAddr) -> Request {
        let mut request = format!("ws://{addr}/path").into_client_request().unwrap();
        request.headers_mut().insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static("first, second"),
        );
        request
    }

    #[tokio::test]
    async fn the_client_gets_the_subprotocol_the_upstream_chose() {
        #[allow(clippy::result_large_err)]
        fn choose_second(
            request: &Request,
            mut response: Response,
        ) -> Result<Response, ErrorResponse> {
            assert_eq!(request.uri().path(), "/path");
            let offered = request
                .headers()
                .get(header::SEC_WEBSOCKET_PROTOCOL)
                .unwrap();
            assert_eq!(offered, "first, second");
            response.headers_mut().insert(
                header::SEC_WEBSOCKET_PROTOCOL,
                HeaderValue::from_static("second"),
            );
            Ok(response)
        }
        let (url, server) = upstream(choose_second).await;
        let proxy = Proxied::start::<RawWs>(&url, PeerOptions::default()).await;
        let session = async {
            let (mut client, response) = tokio_tungstenite::connect_async(offer(proxy.addr))
                .await
                .unwrap();
            assert_eq!(
                response
                    .headers()
                    .get(header::SEC_WEBSOCKET_PROTOCOL)
                    .unwrap(),
                "second"
            );
            client.send(Message::text("hi")).await.unwrap();
            assert_eq!(client.next().await.unwrap().unwrap(), Message::text("hi"));
        };
        tokio::time::timeout(Duration::from_secs(10), session)
            .await
            .unwrap();
        server.await.unwrap();
        proxy.finish().await;
    }

    #[tokio::test]
    async fn an_upstream_refusal_reaches_the_client_with_its_status() {
        #[allow(clippy::result_large_err)]
        fn refuse(_: &Request, _: Response) -> Result<Response, ErrorResponse> {
            let mut refusal = ErrorResponse::new(Some("no token".to_owned()));
            *refusal.status_mut() = StatusCode::UNAUTHORIZED;
            Err(refusal)
        }
        let (url, server) = upstream(refuse).await;
        let proxy = Proxied::start::<RawWs>(&url, PeerOptions::default()).await;
        let attempt = tokio_tungstenite::connect_async(offer(proxy.addr));
        let refused = tokio::time::timeout(Duration::from_secs(10), attempt)
            .await
            .unwrap();
        match refused {
            Err(WsError::Http(response)) => {
                assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
                assert_eq!(response.body().as_deref(), Some(&b"no token"[..]));
            }
            other => panic!("expected a 401 refusal, got {other:?}"),
        }
        server.await.unwrap();
        let finished = proxy.finish().await;
        let transcript: Vec<String> = finished
            .transcript()
            .iter()
            .map(|l| crate::live::harness::untimed(l))
            .collect();
        assert_eq!(
            transcript,
            [
                "#1    c>s  open",
                "#1    c>s  (wire)        error: conversation ended: the upstream refused the \
                 handshake with 401 Unauthorized; the client got the same",
            ]
        );
    }
}
