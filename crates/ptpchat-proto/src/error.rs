//! Errors of the node: refused input and refused application calls.

use proto_core::{Peer, PendingError};

use crate::codec::DecodeError;
use crate::message::NodeId;

/// Why the node refused an input. By the time it is returned the node has done
/// what the variant says and its state is consistent; a bad message never closes
/// a link, as the spec asks only that invalid messages not be acted on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// The message is not valid ptpchat; dropped.
    #[error("bad message: {0}")]
    Decode(#[from] DecodeError),
    /// A link opened while the node already has its maximum; the link is closed.
    #[error("more than {max} links")]
    TooManyLinks {
        /// `NodeConfig::max_links`.
        max: usize,
    },
    /// An input without the link or address it came from; ignored.
    #[error("input names no peer")]
    MissingPeer,
    /// A frame or close on a link the driver never opened; ignored.
    #[error("{0:?} was never opened")]
    UnknownLink(Peer),
    /// A link opened twice; ignored.
    #[error("{0:?} is already open")]
    AlreadyOpen(Peer),
    /// A CONNECT to relay came from a neighbour whose address the node does not
    /// know (set it with `Node::set_observed_addr`); dropped.
    #[error("no observed address for {0:?}")]
    NoObservedAddress(Peer),
    /// A CONNECT names a node (or, in the early form, an IP) that is not a
    /// neighbour, so this node cannot be its rendezvous; dropped.
    #[error("CONNECT target is not a neighbour")]
    RendezvousUnreachable,
    /// A CONNECT in a state no role expects (both addresses still partial, or full
    /// at a node that is neither end); dropped.
    #[error("CONNECT out of sequence")]
    UnexpectedConnect,
}

/// Why the node refused an application call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The early generation has no envelope, so it cannot address or route.
    #[error("the early generation cannot route")]
    EarlyGeneration,
    /// The channel is not known to this node.
    #[error("unknown channel")]
    UnknownChannel,
    /// The node already knows its maximum number of channels.
    #[error("more than {max} channels")]
    TooManyChannels {
        /// `NodeConfig::max_channels`.
        max: usize,
    },
    /// The peer is not a neighbour.
    #[error("{0:?} is not a neighbour")]
    NotNeighbour(Peer),
    /// The node is not a neighbour.
    #[error("{0} is not a neighbour")]
    NodeNotNeighbour(NodeId),
    /// Too many sent messages await their ACK.
    #[error(transparent)]
    Pending(#[from] PendingError),
}
