//! WebSocket transport over tokio-tungstenite, for clients and servers.

use std::io;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use proto_core::{Close, Payload, Transmit};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Response as ClientResponse;
use tokio_tungstenite::tungstenite::handshake::server::Callback;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::transport::{Incoming, Transport};

/// How long to wait for the peer's answer to our close frame.
const CLOSE_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(1);

/// A WebSocket connection, either side.
pub struct WsTransport<S> {
    stream: WebSocketStream<S>,
}

impl<S> std::fmt::Debug for WsTransport<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WsTransport")
    }
}

impl<S> WsTransport<S> {
    /// Wraps an established WebSocket.
    pub fn new(stream: WebSocketStream<S>) -> Self {
        WsTransport { stream }
    }

    /// The WebSocket underneath.
    pub fn get_ref(&self) -> &WebSocketStream<S> {
        &self.stream
    }
}

/// Connects to `request` (a `ws://` URL or a prepared HTTP request carrying headers
/// such as `Authorization` or `Sec-WebSocket-Protocol`), with Nagle's algorithm off:
/// protocol frames are small and latency matters more than packet count.
pub async fn connect(
    request: impl IntoClientRequest + Unpin,
) -> Result<(WsTransport<MaybeTlsStream<TcpStream>>, ClientResponse), tungstenite::Error> {
    let (stream, response) =
        tokio_tungstenite::connect_async_with_config(request, None, true).await?;
    Ok((WsTransport::new(stream), response))
}

/// Completes the server side of the WebSocket handshake on an accepted stream.
///
/// For a `TcpStream`, [`accept_tcp`] also turns Nagle's algorithm off.
pub async fn accept<S>(stream: S) -> Result<WsTransport<S>, tungstenite::Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    Ok(WsTransport::new(
        tokio_tungstenite::accept_async(stream).await?,
    ))
}

/// [`accept`] for a TCP stream, with Nagle's algorithm off.
pub async fn accept_tcp(stream: TcpStream) -> Result<WsTransport<TcpStream>, tungstenite::Error> {
    stream.set_nodelay(true)?;
    accept(stream).await
}

/// Like [`accept`], letting `callback` inspect the HTTP request (path, headers) and
/// shape the response (chosen subprotocol) or refuse with an error response.
pub async fn accept_with<S, C>(stream: S, callback: C) -> Result<WsTransport<S>, tungstenite::Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
    C: Callback + Unpin,
{
    Ok(WsTransport::new(
        tokio_tungstenite::accept_hdr_async(stream, callback).await?,
    ))
}

fn to_io(error: tungstenite::Error) -> io::Error {
    match error {
        tungstenite::Error::Io(error) => error,
        other => io::Error::other(other),
    }
}

impl<S> Transport for WsTransport<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    async fn recv(&mut self) -> Incoming {
        loop {
            let message = match self.stream.next().await {
                Some(Ok(message)) => message,
                Some(Err(_)) | None => return Incoming::Closed(None),
            };
            return match message {
                Message::Text(text) => Incoming::Text(text),
                Message::Binary(bytes) => Incoming::Binary(bytes),
                Message::Pong(bytes) => Incoming::Pong(bytes),
                // tungstenite queues the pong itself.
                Message::Ping(_) | Message::Frame(_) => continue,
                Message::Close(frame) => Incoming::Closed(frame.map(|frame| {
                    Close::new(u16::from(frame.code), frame.reason.as_str().to_owned())
                })),
            };
        }
    }

    async fn send(&mut self, transmit: Transmit) -> io::Result<()> {
        let message = match transmit.payload {
            Payload::Text(text) => Message::text(text),
            Payload::Binary(bytes) => Message::Binary(bytes),
            Payload::Ping(bytes) => Message::Ping(bytes),
        };
        self.stream.send(message).await.map_err(to_io)
    }

    async fn close(&mut self, close: Close) -> io::Result<()> {
        let frame = CloseFrame {
            code: CloseCode::from(close.code),
            reason: close.reason.into_owned().into(),
        };
        self.stream.close(Some(frame)).await.map_err(to_io)?;
        // Read until the peer answers our close, briefly, so it sees a clean close.
        let drain = async { while let Some(Ok(_)) = self.stream.next().await {} };
        let _ = tokio::time::timeout(CLOSE_HANDSHAKE_TIMEOUT, drain).await;
        Ok(())
    }
}
