//! An ordered stand-in for [`Peer`], so the node's tables iterate in a fixed order
//! and runs are reproducible.

use std::net::SocketAddr;

use proto_core::{LinkId, Peer};

/// A [`Peer`] with a total order: links by id, then addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum PeerKey {
    Link(u64),
    Addr(SocketAddr),
}

impl From<Peer> for PeerKey {
    fn from(peer: Peer) -> Self {
        match peer {
            Peer::Link(LinkId(id)) => PeerKey::Link(id),
            Peer::Addr(addr) => PeerKey::Addr(addr),
        }
    }
}

impl From<PeerKey> for Peer {
    fn from(key: PeerKey) -> Self {
        match key {
            PeerKey::Link(id) => Peer::Link(LinkId(id)),
            PeerKey::Addr(addr) => Peer::Addr(addr),
        }
    }
}
