//! What the multi-peer drivers ([`TcpDriver`](crate::TcpDriver),
//! [`UdpDriver`](crate::UdpDriver)) show a tap: links opening and ending with the
//! reason, frames each way, and transmits they could not carry out.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use proto_core::{Close, LinkId, Payload, Peer};

/// Why a TCP link ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkEnd {
    /// The machine closed it.
    Local(Close),
    /// The peer ended the stream between frames.
    PeerClosed,
    /// The peer ended the stream inside a frame.
    Truncated {
        /// Bytes of the unfinished frame that had arrived.
        buffered: usize,
    },
    /// The peer's length prefix declared a frame over the maximum; nothing of it was
    /// buffered.
    FrameTooLarge {
        /// The declared length.
        len: u64,
        /// The maximum.
        max: usize,
    },
    /// The link's outbound queue would have held more than its bound: the peer
    /// reads too slowly.
    QueueFull {
        /// Frames queued when it overflowed.
        frames: usize,
        /// Bytes queued when it overflowed.
        bytes: usize,
    },
    /// A write made no progress for this long.
    WriteStalled(Duration),
    /// The socket failed.
    Io(io::ErrorKind),
}

/// Why a transmit was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsent {
    /// The transmit names no link or address the driver can reach: a TCP transmit
    /// without `Peer::Link`, a UDP transmit without `Peer::Addr`, or a link that has
    /// ended.
    NoRoute,
    /// The payload is longer than the driver's maximum.
    TooLarge {
        /// The payload's length.
        len: usize,
        /// The maximum.
        max: usize,
    },
    /// A WebSocket ping has no meaning on this transport.
    Ping,
    /// The socket's send buffer is full; UDP drops the datagram rather than wait.
    WouldBlock,
    /// The socket refused it.
    Io(io::ErrorKind),
}

/// Something a multi-peer driver did, shown to its tap (a transcript, a log).
#[derive(Debug, Clone, Copy)]
pub enum PeerTraffic<'a> {
    /// A TCP link is up: accepted from the listener, or dialled.
    Opened {
        /// The link's id.
        link: LinkId,
        /// The peer's address.
        addr: SocketAddr,
        /// Whether this side dialled it.
        dialled: bool,
    },
    /// A frame or datagram arrived.
    Received {
        /// From whom.
        from: Peer,
        /// Its bytes.
        bytes: &'a [u8],
    },
    /// The machine's frame or datagram was handed to the socket (TCP: queued on the
    /// link).
    Sent {
        /// To whom.
        to: Peer,
        /// What.
        payload: &'a Payload,
    },
    /// A transmit was not sent.
    Unsent {
        /// Where the machine meant it to go.
        to: Option<Peer>,
        /// Why it was not sent.
        reason: Unsent,
    },
    /// An incoming datagram over the maximum was dropped unread.
    Oversize {
        /// Who sent it.
        from: SocketAddr,
    },
    /// A TCP link ended.
    Ended {
        /// The link.
        link: LinkId,
        /// Why.
        reason: &'a LinkEnd,
    },
    /// A connection was turned away because the driver already has its maximum of
    /// links.
    TurnedAway {
        /// The peer's address.
        addr: SocketAddr,
    },
    /// The listener or the UDP socket failed to receive; the driver pauses briefly and
    /// goes on.
    ReceiveFailed(io::ErrorKind),
}
