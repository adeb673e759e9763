//! The record of every delivery attempt, for assertions.

use std::time::Instant;

use bytes::Bytes;
use proto_core::Peer;

/// What became of one frame or datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fate {
    /// It reached its machine.
    Delivered,
    /// The path dropped it.
    Lost,
    /// A second copy of a datagram that was also delivered.
    Duplicated,
    /// A datagram held back so that later ones overtook it; it was delivered.
    Reordered,
    /// Nobody could take it: the link was closed or cut, the address has no node, or
    /// the sender named no destination it has.
    Undeliverable,
}

/// One delivery attempt.
///
/// Frames that reach a machine, or find their link gone on arrival, are recorded when
/// they arrive; frames lost or refused at the sender are recorded when sent. `at` is
/// that instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// When it was recorded.
    pub at: Instant,
    /// The sender's node index and how the sender names its side: its own
    /// [`LinkId`](proto_core::LinkId) for a multi-link stream, its address for a
    /// datagram, `None` on a single-connection link.
    pub from: (usize, Option<Peer>),
    /// The receiver's node index (`None` when no node has the address) and how the
    /// receiver names this link or its own address, as for `from`.
    pub to: (Option<usize>, Option<Peer>),
    /// The frame's bytes (text as UTF-8).
    pub bytes: Bytes,
    /// What became of it.
    pub fate: Fate,
}
