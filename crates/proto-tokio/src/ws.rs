//! WebSocket transport over tokio-tungstenite, for clients and servers.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_util::{SinkExt, StreamExt};
use proto_core::{Close, Limits, Payload, Transmit, close_code};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Response as ClientResponse;
use tokio_tungstenite::tungstenite::handshake::server::{Callback, NoCallback};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::transport::{Incoming, Transport};

/// The WebSocket layer's bounds and buffer sizes for one connection.
///
/// Built from the machine's [`Limits`], so an oversize message is refused by the
/// WebSocket layer as soon as its header arrives, before it is buffered: at most
/// about one maximum frame is held per peer. Such a message gets a 1009 close frame
/// (see [`Incoming::Rejected`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WsConfig {
    /// The largest message (and frame) accepted from the peer, in bytes.
    pub max_message_len: usize,
    /// Capacity of the read buffer, allocated for each connection up front.
    pub read_buffer_size: usize,
    /// How many bytes of outgoing frames are gathered before they are written to
    /// the socket; every send is flushed at once anyway.
    pub write_buffer_size: usize,
}

impl WsConfig {
    /// Messages bounded by `limits.max_frame_len`, with 4 KiB read and write buffers.
    pub fn from_limits(limits: &Limits) -> Self {
        WsConfig {
            max_message_len: limits.max_frame_len,
            read_buffer_size: 4 << 10,
            write_buffer_size: 4 << 10,
        }
    }

    pub(crate) fn tungstenite(&self) -> WebSocketConfig {
        WebSocketConfig::default()
            .max_message_size(Some(self.max_message_len))
            .max_frame_size(Some(self.max_message_len))
            .read_buffer_size(self.read_buffer_size)
            .write_buffer_size(self.write_buffer_size)
    }
}

impl Default for WsConfig {
    /// [`WsConfig::from_limits`] with the default [`Limits`] (1 MiB messages).
    fn default() -> Self {
        WsConfig::from_limits(&Limits::default())
    }
}

/// At most this many bytes of a rejected message are read and dropped while its
/// close frame goes out, so the peer's unread data does not reset the connection
/// before the close frame reaches it.
const REJECTED_DISCARD_MAX: usize = 1 << 20;

/// A WebSocket connection, either side.
pub struct WsTransport<S> {
    stream: WebSocketStream<S>,
    /// Bytes still to discard after a rejected message, once the WebSocket layer has
    /// stopped reading; `None` while it reads.
    discard: Option<usize>,
}

impl<S> std::fmt::Debug for WsTransport<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WsTransport")
    }
}

impl<S> WsTransport<S> {
    /// Wraps an established WebSocket.
    pub fn new(stream: WebSocketStream<S>) -> Self {
        WsTransport {
            stream,
            discard: None,
        }
    }

    /// The WebSocket underneath.
    pub fn get_ref(&self) -> &WebSocketStream<S> {
        &self.stream
    }
}

/// Connects to `request` (a `ws://` URL or a prepared HTTP request carrying headers
/// such as `Authorization` or `Sec-WebSocket-Protocol`) with the default
/// [`WsConfig`], with Nagle's algorithm off: protocol frames are small and latency
/// matters more than packet count.
pub async fn connect(
    request: impl IntoClientRequest + Unpin,
) -> Result<(WsTransport<MaybeTlsStream<TcpStream>>, ClientResponse), tungstenite::Error> {
    connect_with_config(request, &WsConfig::default()).await
}

/// [`connect`] with the WebSocket layer bounded by `config`.
pub async fn connect_with_config(
    request: impl IntoClientRequest + Unpin,
    config: &WsConfig,
) -> Result<(WsTransport<MaybeTlsStream<TcpStream>>, ClientResponse), tungstenite::Error> {
    let (stream, response) =
        tokio_tungstenite::connect_async_with_config(request, Some(config.tungstenite()), true)
            .await?;
    Ok((WsTransport::new(stream), response))
}

/// Completes the server side of the WebSocket handshake on an accepted stream, with
/// the default [`WsConfig`].
///
/// For a `TcpStream`, [`accept_tcp`] also turns Nagle's algorithm off.
pub async fn accept<S>(stream: S) -> Result<WsTransport<S>, tungstenite::Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    accept_with_config(stream, &WsConfig::default(), NoCallback).await
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
    accept_with_config(stream, &WsConfig::default(), callback).await
}

/// The server side of the handshake with the WebSocket layer bounded by `config`;
/// `callback` sees the HTTP request as in [`accept_with`] (pass
/// [`NoCallback`] to accept every upgrade).
pub async fn accept_with_config<S, C>(
    stream: S,
    config: &WsConfig,
    callback: C,
) -> Result<WsTransport<S>, tungstenite::Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
    C: Callback + Unpin,
{
    Ok(WsTransport::new(
        tokio_tungstenite::accept_hdr_async_with_config(
            stream,
            callback,
            Some(config.tungstenite()),
        )
        .await?,
    ))
}

fn to_io(error: tungstenite::Error) -> io::Error {
    match error {
        tungstenite::Error::Io(error) => error,
        other => io::Error::other(other),
    }
}

/// The close a WebSocket-layer error calls for when the peer is still there to
/// hear it, or `None` when the connection is already gone.
fn rejection(error: &tungstenite::Error) -> Option<Close> {
    use tungstenite::error::{CapacityError, ProtocolError};
    match error {
        tungstenite::Error::Capacity(CapacityError::MessageTooLong { size, max_size }) => {
            Some(Close::new(
                close_code::MESSAGE_TOO_BIG,
                format!("message of {size} bytes exceeds the limit of {max_size}"),
            ))
        }
        tungstenite::Error::Capacity(_) => {
            Some(Close::new(close_code::MESSAGE_TOO_BIG, "message too big"))
        }
        tungstenite::Error::Utf8(_) => Some(Close::new(
            close_code::INVALID_PAYLOAD,
            "text frame is not UTF-8",
        )),
        tungstenite::Error::Protocol(ProtocolError::ResetWithoutClosingHandshake) => None,
        tungstenite::Error::Protocol(error) => Some(Close::new(
            close_code::PROTOCOL_ERROR,
            format!("protocol error: {error}"),
        )),
        _ => None,
    }
}

impl<S> Transport for WsTransport<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Incoming> {
        loop {
            let message = match ready!(self.stream.poll_next_unpin(cx)) {
                Some(Ok(message)) => message,
                Some(Err(error)) => {
                    return Poll::Ready(match rejection(&error) {
                        Some(close) => {
                            self.discard = Some(REJECTED_DISCARD_MAX);
                            Incoming::Rejected(close)
                        }
                        None => Incoming::Closed(None),
                    });
                }
                None => return Poll::Ready(Incoming::Closed(None)),
            };
            return Poll::Ready(match message {
                Message::Text(text) => Incoming::Text(text),
                Message::Binary(bytes) => Incoming::Binary(bytes),
                Message::Pong(bytes) => Incoming::Pong(bytes),
                // tungstenite queues the pong itself.
                Message::Ping(_) | Message::Frame(_) => continue,
                Message::Close(frame) => Incoming::Closed(frame.map(|frame| {
                    Close::new(u16::from(frame.code), frame.reason.as_str().to_owned())
                })),
            });
        }
    }

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.stream.poll_ready_unpin(cx).map_err(to_io)
    }

    fn start_send(&mut self, transmit: Transmit) -> io::Result<()> {
        let message = match transmit.payload {
            Payload::Text(text) => Message::text(text),
            Payload::Binary(bytes) => Message::Binary(bytes),
            Payload::Ping(bytes) => Message::Ping(bytes),
        };
        self.stream.start_send_unpin(message).map_err(to_io)
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.stream.poll_flush_unpin(cx).map_err(to_io)
    }

    fn start_close(&mut self, close: Close) -> io::Result<()> {
        let frame = CloseFrame {
            code: CloseCode::from(close.code),
            reason: close.reason.into_owned().into(),
        };
        self.stream
            .start_send_unpin(Message::Close(Some(frame)))
            .map_err(to_io)
    }

    fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.stream.poll_flush_unpin(cx)).map_err(to_io)?;
        match &mut self.discard {
            // The WebSocket layer reads no more: drop what the peer still sends, up
            // to a bound, until it closes.
            Some(left) => {
                let mut scratch = [0; 1024];
                while *left > 0 {
                    let mut buf = ReadBuf::new(&mut scratch);
                    match ready!(Pin::new(self.stream.get_mut()).poll_read(cx, &mut buf)) {
                        Ok(()) if !buf.filled().is_empty() => {
                            *left = left.saturating_sub(buf.filled().len());
                        }
                        Ok(()) | Err(_) => break,
                    }
                }
                Poll::Ready(Ok(()))
            }
            // Read until the peer answers our close, so it sees a clean close.
            None => loop {
                match ready!(self.stream.poll_next_unpin(cx)) {
                    Some(Ok(_)) => continue,
                    Some(Err(_)) | None => return Poll::Ready(Ok(())),
                }
            },
        }
    }
}
