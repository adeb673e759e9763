//! The `Transport` trait: what the driver needs from a connection.

use std::future::Future;
use std::io;

use bytes::Bytes;
use proto_core::{Close, Transmit};
use tokio_tungstenite::tungstenite::Utf8Bytes;

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
}

/// A connection the [`Driver`](crate::Driver) can run a machine over.
pub trait Transport: Send {
    /// The next frame, or the end of the connection.
    fn recv(&mut self) -> impl Future<Output = Incoming> + Send;
    /// Sends one frame.
    fn send(&mut self, transmit: Transmit) -> impl Future<Output = io::Result<()>> + Send;
    /// Closes the connection with `close`, completing the closing handshake if the
    /// transport has one.
    fn close(&mut self, close: Close) -> impl Future<Output = io::Result<()>> + Send;
}
