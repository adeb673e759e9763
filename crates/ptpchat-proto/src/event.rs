//! What a [`Node`](crate::Node) tells its application.

use std::net::SocketAddr;

use proto_core::Peer;

use crate::message::{Message, MsgId, NodeId, NodeType};

/// Why a neighbour went away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DownReason {
    /// Nothing was heard from it for longer than the link timeout; its TCP link is
    /// closed.
    Silent,
    /// The driver reported its link closed.
    Closed,
}

/// An event for the application.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A neighbour said HELLO for the first time on this link.
    NeighbourUp {
        /// Its link or address.
        peer: Peer,
        /// Its node id (the early generation does not send one).
        node_id: Option<NodeId>,
        /// What it says it is.
        node_type: Option<NodeType>,
    },
    /// A neighbour is gone; routes through it are withdrawn.
    NeighbourDown {
        /// Its link or address.
        peer: Peer,
        /// Its node id, if it said one.
        node_id: Option<NodeId>,
        /// Why.
        reason: DownReason,
    },
    /// A message for this node (addressed to it, flooded, or sent to neighbours
    /// only) arrived. Routing, ACKs, NACKs and CONNECT are handled by the node and
    /// not surfaced here; channel verbs are, after the node updated its channels.
    Received {
        /// The neighbour it came from.
        from: Peer,
        /// The message, with the `ttl` it arrived with.
        message: Message,
    },
    /// A message this node sent was acknowledged by its target.
    Acked {
        /// The message.
        msg_id: MsgId,
        /// The node that acknowledged it.
        by: Option<NodeId>,
    },
    /// A node could not pass on a message this node sent (no route, or its `ttl`
    /// ran out). A message without a route stays queued at that node and is still
    /// delivered if a route appears.
    Nacked {
        /// The message.
        msg_id: MsgId,
        /// The node that reported it.
        by: Option<NodeId>,
    },
    /// A message this node sent was not acknowledged in time.
    Unacknowledged {
        /// The message.
        msg_id: MsgId,
        /// Its target.
        target: NodeId,
    },
    /// A CONNECT rendezvous reached this node's part: start sending to `addr` to
    /// open the path through the NAT.
    Punch {
        /// The node at the other end, when the CONNECT names it.
        node_id: Option<NodeId>,
        /// The address to send to.
        addr: SocketAddr,
    },
}
