//! The `Transport` trait: what the driver needs from a connection.

use std::future::{Future, poll_fn};
use std::io;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use proto_core::{Close, Transmit};
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// How long [`Transport::close`] waits for the closing handshake.
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// Something that arrived on a transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// A text frame.
    Text(Utf8Bytes),
    /// A binary frame.
    Binary(Bytes),
    /// A pong answering our ping.
    Pong(Bytes),
    /// The peer closed the connection (with its close frame, if any), or it failed.
    Closed(Option<Close>),
    /// The transport refused what the peer sent before any machine could see it (a
    /// frame over the size limit, text that is not UTF-8, a framing error) and must be
    /// closed with this code; the peer is still connected until then.
    Rejected(Close),
}

/// A connection the [`Driver`](crate::Driver) can run a machine over.
///
/// The methods are poll-based, like a `Stream` and a `Sink` in one, so the driver can
/// wait for "a frame arrived", "the peer took what was queued" and "a timer is due"
/// at once: a peer that stops reading never blocks the machine's timers. The
/// provided `recv`, `send` and `close` are the same calls as futures, for code that
/// talks over a transport by hand.
pub trait Transport: Send + Unpin {
    /// Polls for the next frame, or the end of the connection.
    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Incoming>;

    /// Polls until the transport can take one more frame with
    /// [`start_send`](Transport::start_send).
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// Hands one frame to the transport; call only after
    /// [`poll_ready`](Transport::poll_ready) returned `Ready(Ok(()))`.
    fn start_send(&mut self, transmit: Transmit) -> io::Result<()>;

    /// Polls until every frame handed over has been written to the socket.
    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// Queues the close frame `close`, after the frames already handed over; nothing
    /// may be sent after it.
    fn start_close(&mut self, close: Close) -> io::Result<()>;

    /// Polls until the close is over: the close frame written and, if the transport
    /// has a closing handshake, the peer's answer read or the connection ended.
    /// Callers bound this wait in time.
    fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// The next frame, or the end of the connection.
    fn recv(&mut self) -> impl Future<Output = Incoming> + Send {
        poll_fn(move |cx| self.poll_recv(cx))
    }

    /// Sends one frame and flushes it.
    fn send(&mut self, transmit: Transmit) -> impl Future<Output = io::Result<()>> + Send {
        async move {
            poll_fn(|cx| self.poll_ready(cx)).await?;
            self.start_send(transmit)?;
            poll_fn(|cx| self.poll_flush(cx)).await
        }
    }

    /// Closes the connection with `close`, completing the closing handshake if the
    /// transport has one, within [`CLOSE_TIMEOUT`]; a peer that does not answer in
    /// time is an [`io::ErrorKind::TimedOut`] error.
    fn close(&mut self, close: Close) -> impl Future<Output = io::Result<()>> + Send {
        async move {
            self.start_close(close)?;
            tokio::time::timeout(CLOSE_TIMEOUT, poll_fn(|cx| self.poll_close(cx)))
                .await
                .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))?
        }
    }
}
