//! What goes into a machine and what comes out of it.

use std::borrow::Cow;
use std::fmt;
use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;

/// Identifies one link of a machine that speaks over several connections at once,
/// such as a peer-to-peer node with a TCP stream per neighbour. The driver assigns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkId(pub u64);

impl fmt::Display for LinkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "link#{}", self.0)
    }
}

/// Where a frame came from or goes to, for machines with more than one peer.
///
/// A machine that runs on exactly one connection leaves it out (`None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Peer {
    /// One of the machine's connections.
    Link(LinkId),
    /// A datagram peer behind a shared socket.
    Addr(SocketAddr),
}

/// A received frame, borrowed from the driver's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Data<'a> {
    /// A text frame (WebSocket text message, a JSON line).
    Text(&'a str),
    /// A binary frame (WebSocket binary message, one length-prefixed record, one datagram).
    Binary(&'a [u8]),
    /// A WebSocket pong answering a ping the machine sent.
    Pong(&'a [u8]),
}

impl<'a> Data<'a> {
    /// The frame's bytes, whatever its kind.
    pub fn as_bytes(&self) -> &'a [u8] {
        match *self {
            Data::Text(text) => text.as_bytes(),
            Data::Binary(bytes) | Data::Pong(bytes) => bytes,
        }
    }
}

/// Something the driver tells a machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input<'a> {
    /// A transport came up: the WebSocket handshake finished, a TCP link was
    /// accepted or connected.
    Opened {
        /// Which link, for multi-link machines.
        from: Option<Peer>,
    },
    /// A frame or datagram arrived.
    Received {
        /// Who sent it, for multi-peer machines.
        from: Option<Peer>,
        /// The frame.
        data: Data<'a>,
    },
    /// The transport went away: the peer closed it (with its close frame, if any)
    /// or it failed.
    Closed {
        /// Which link, for multi-link machines.
        from: Option<Peer>,
        /// The peer's close code and reason, when it sent one.
        close: Option<Close>,
    },
}

impl<'a> Input<'a> {
    /// The single connection came up.
    pub fn opened() -> Self {
        Input::Opened { from: None }
    }

    /// A text frame on the single connection.
    pub fn text(text: &'a str) -> Self {
        Input::Received {
            from: None,
            data: Data::Text(text),
        }
    }

    /// A binary frame on the single connection.
    pub fn binary(bytes: &'a [u8]) -> Self {
        Input::Received {
            from: None,
            data: Data::Binary(bytes),
        }
    }

    /// A pong on the single connection.
    pub fn pong(bytes: &'a [u8]) -> Self {
        Input::Received {
            from: None,
            data: Data::Pong(bytes),
        }
    }

    /// A datagram from `from`.
    pub fn datagram(from: SocketAddr, bytes: &'a [u8]) -> Self {
        Input::Received {
            from: Some(Peer::Addr(from)),
            data: Data::Binary(bytes),
        }
    }

    /// The single connection went away.
    pub fn closed(close: Option<Close>) -> Self {
        Input::Closed { from: None, close }
    }
}

/// An owned frame to transmit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// A text frame.
    Text(String),
    /// A binary frame, or the body of a datagram.
    Binary(Bytes),
    /// A WebSocket ping; the peer's WebSocket answers with a pong.
    Ping(Bytes),
}

impl Payload {
    /// The payload's bytes, whatever its kind.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Payload::Text(text) => text.as_bytes(),
            Payload::Binary(bytes) | Payload::Ping(bytes) => bytes,
        }
    }
}

/// A frame the driver must send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Where to send it; `None` for a machine's single connection. A datagram
    /// carries `Some(Peer::Addr(..))`.
    pub to: Option<Peer>,
    /// What to send.
    pub payload: Payload,
}

/// A close code with its short human-readable reason.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Close {
    /// The WebSocket close code (RFC 6455 §7.4) or a protocol's own 4000–4999 code.
    pub code: u16,
    /// A short reason; WebSocket limits it to 123 bytes, see [`Close::new`].
    pub reason: Cow<'static, str>,
}

/// The largest close reason a WebSocket close frame can carry (RFC 6455 §5.5).
const MAX_CLOSE_REASON: usize = 123;

impl Close {
    /// A close with `code` and `reason`, the reason cut at a character boundary to
    /// fit in a WebSocket close frame.
    pub fn new(code: u16, reason: impl Into<Cow<'static, str>>) -> Self {
        let mut reason = reason.into();
        if reason.len() > MAX_CLOSE_REASON {
            let mut end = MAX_CLOSE_REASON;
            while !reason.is_char_boundary(end) {
                end -= 1;
            }
            reason.to_mut().truncate(end);
        }
        Close { code, reason }
    }
}

impl fmt::Display for Close {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:?}", self.code, self.reason)
    }
}

/// Who ended a connection, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disconnect {
    /// This side closed it, with this code and reason.
    Local(Close),
    /// The peer closed it (with its close frame, if it sent one) or the transport failed.
    Remote(Option<Close>),
}

/// WebSocket close codes every protocol uses (RFC 6455 §7.4.1).
pub mod close_code {
    /// The purpose of the connection has been fulfilled.
    pub const NORMAL: u16 = 1000;
    /// The endpoint is going away.
    pub const GOING_AWAY: u16 = 1001;
    /// The peer broke the protocol.
    pub const PROTOCOL_ERROR: u16 = 1002;
    /// The frame's payload is inconsistent with its type (bad UTF-8, bad JSON).
    pub const INVALID_PAYLOAD: u16 = 1007;
    /// The peer violated a policy; the generic "bad input" answer.
    pub const POLICY_VIOLATION: u16 = 1008;
    /// A frame was larger than the endpoint accepts.
    pub const MESSAGE_TOO_BIG: u16 = 1009;
    /// The endpoint met an unexpected condition.
    pub const INTERNAL_ERROR: u16 = 1011;
}

/// Something a machine asks of its driver or tells its application.
#[derive(Debug, Clone, PartialEq)]
pub enum Output<E> {
    /// Send a frame.
    Transmit(Transmit),
    /// Hand an event to the application.
    Event(E),
    /// Close a connection (the single one when `peer` is `None`) with a code and a
    /// reason, then stop sending on it. The machine already knows: the driver does
    /// not report this close back as [`Input::Closed`].
    Close {
        /// Which link, for multi-link machines.
        peer: Option<Peer>,
        /// The close code and reason.
        close: Close,
    },
    /// The connection is gone; open a new one at `at` and feed
    /// [`Input::Opened`] when it is up.
    Reconnect {
        /// When to reconnect.
        at: Instant,
    },
}

impl<E> Output<E> {
    /// A frame for the single connection.
    pub fn transmit(payload: Payload) -> Self {
        Output::Transmit(Transmit { to: None, payload })
    }

    /// A close of the single connection.
    pub fn close(close: Close) -> Self {
        Output::Close { peer: None, close }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_reason_is_cut_at_a_char_boundary() {
        let long = "é".repeat(100); // 200 bytes
        let close = Close::new(1008, long);
        assert_eq!(close.reason.len(), 122);
        assert!(close.reason.chars().all(|c| c == 'é'));
        assert_eq!(Close::new(4001, "bad password").reason, "bad password");
    }

    #[test]
    fn datagram_input_carries_its_address() {
        let addr: SocketAddr = "127.0.0.1:9".parse().unwrap();
        assert_eq!(
            Input::datagram(addr, b"x"),
            Input::Received {
                from: Some(Peer::Addr(addr)),
                data: Data::Binary(b"x")
            }
        );
    }
}
