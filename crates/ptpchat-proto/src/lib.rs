//! Sans-IO implementation of the *ptpchat* peer protocol: JSON verbs between nodes
//! that route, flood and relay for each other, over TCP (length-prefixed) or UDP
//! (one message per datagram).
//!
//! # What comes in, what goes out
//!
//! A [`Node`] is one ptpchat node with any number of neighbours. It implements
//! [`proto_core::Machine`]:
//!
//! - **in**: for TCP, [`Input::Opened`] / [`Input::Closed`] per link and each frame
//!   body (without its length prefix, which the driver strips) as [`Input::Received`]
//!   from [`Peer::Link`]; for UDP, each datagram from [`Peer::Addr`]; and the time,
//!   through `handle_input(now, ..)` and `handle_timeout(now)`;
//! - **application calls**: [`Node::send`], [`Node::flood`], [`Node::send_to_peer`],
//!   the channel calls, [`Node::connect`] / [`Node::connect_early`],
//!   [`Node::add_peer`] for a datagram neighbour and [`Node::set_observed_addr`] for a
//!   TCP link's remote address;
//! - **out**, from `poll_output`: messages to send, each addressed to a link or an
//!   address, [`Event`]s, and the close of a link that fell silent; `poll_timeout`
//!   says when to call `handle_timeout` next.
//!
//! The crate never reads a clock, opens a socket or spawns a thread; randomness
//! (HELLO intervals, message ids) comes from the [`SeededRng`](proto_core::SeededRng)
//! the node is given.
//!
//! # The protocol, and what this crate decides
//!
//! [`codec`] reads both generations: the early one (`msg_type` and `msg_data` only;
//! absent `msg_data` is null) and the latest, whose envelope adds `ttl`, `flood`,
//! `msg_id`, `sender_id` and `target_id` — all optional on decode. Verbs match
//! case-insensitively and are written upper-case; unknown keys are ignored
//! everywhere; GUIDs are [`uuid::Uuid`]s and base64 fields bytes. The spec leaves
//! gaps, closed here:
//!
//! - **HELLO** goes out when a link opens and every 0.5–2 s after (drawn per link),
//!   and is answered only by a node that has not yet greeted that link — answering
//!   every periodic HELLO would never stop. A neighbour heard from for no longer
//!   than [`NodeConfig::link_timeout`] is dropped (its TCP link closed).
//! - **Routing** is distance-vector by hop count: neighbours are 1 hop, each
//!   neighbour's ROUTING adds its entries at one more, the fewest hops win (ties to
//!   the lowest link). ROUTING goes to every neighbour periodically and shortly after
//!   any change, with split horizon (no route is advertised back through its own
//!   link), and routes longer than [`NodeConfig::max_hops`] are ignored, so a lost
//!   node's routes die out. Routes through a lost link are withdrawn at once.
//! - **Relaying**: a received message has taken one hop, so its `ttl` is decremented
//!   on arrival. A message for this node (or with no target: for neighbours) is
//!   delivered. A flood is delivered and passed to every link but the one it came
//!   on while `ttl` lasts; it just ends when `ttl` does (a NACK from every edge of
//!   the network would be a storm) and is never ACKed. A directed message whose
//!   `ttl` runs out gets one NACK to its sender; one with no route gets one NACK and
//!   waits in a bounded queue, sent when a route appears. ACKs and NACKs are never
//!   NACKed. Every message with a `msg_id` passes a bounded seen-set of
//!   (`msg_id`, verb) — CERTIFICATE reuses its GETCERTIFICATE's id — so no message is
//!   handled twice, which is what stops floods from looping.
//! - **ACK**: the target of a directed GETCERTIFICATE, CERTIFICATE, GETKEY, KEY or
//!   MESSAGE acknowledges it end to end, to its sender; the sender reports
//!   [`Event::Acked`], or [`Event::Unacknowledged`] after
//!   [`NodeConfig::ack_timeout`].
//! - **Channels**: CHANNEL, JOIN and LEAVE keep each channel's members. A public
//!   channel's verbs are flooded, a private (`closed`) one's sent to each member. A
//!   subscribed channel not listed for [`NodeConfig::channel_interval`] is announced
//!   again. A listing that leaves out a subscribed node makes it JOIN; one that
//!   lists a node that is not subscribed makes it LEAVE.
//! - **CONNECT**: in the latest form a node is the *responder* when it is
//!   `dst_node_id` and `dst` is still empty (it answers with its punch port), the
//!   *initiator* when it is `src_node_id` and `dst` is full, and otherwise the
//!   *rendezvous*, which completes the sender's partial address with the address it
//!   sees the sender at and passes the message to the other end — which must be its
//!   neighbour. The early form names nodes by IP and swaps the two fields at the
//!   rendezvous, as its spec shows. Both ends finish with [`Event::Punch`].
//! - The early generation has no ids, so an early node only greets, keeps links
//!   alive, exchanges messages with neighbours and takes part in early CONNECTs.
//!
//! Every table is bounded by [`NodeConfig`]: links, routes (and entries kept per
//! neighbour), the seen-set, the queue, pending ACKs, channels and members.
//! [`Node::table_sizes`] shows how full they are.
//!
//! # A complete run loop
//!
//! Three nodes in a line, A – S – B, joined by in-memory links on a virtual clock;
//! over real sockets `proto-tokio` runs the same loop.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use proto_core::{Data, Input, LinkId, Machine, Output, Peer, seeded_rng};
//! use ptpchat_proto::{Body, ChatMessage, Event, Node, NodeConfig};
//! use uuid::Uuid;
//!
//! /// The links, as (node, link id) at each end.
//! const WIRES: [((usize, u64), (usize, u64)); 2] = [((0, 1), (1, 1)), ((1, 2), (2, 2))];
//!
//! /// Where link `link` of node `node` leads.
//! fn other_end(node: usize, link: u64) -> Option<(usize, u64)> {
//!     WIRES.iter().find_map(|&(a, b)| match (node, link) {
//!         end if end == a => Some(b),
//!         end if end == b => Some(a),
//!         _ => None,
//!     })
//! }
//!
//! /// Fires due timers and delivers every message until all nodes are quiet.
//! fn run(nodes: &mut [Node], now: Instant, events: &mut Vec<(usize, Event)>) {
//!     loop {
//!         let mut moved = false;
//!         for i in 0..nodes.len() {
//!             if nodes[i].poll_timeout().is_some_and(|at| at <= now) {
//!                 nodes[i].handle_timeout(now);
//!             }
//!             while let Some(output) = nodes[i].poll_output() {
//!                 moved = true;
//!                 match output {
//!                     Output::Transmit(t) => {
//!                         let Some(Peer::Link(LinkId(link))) = t.to else { continue };
//!                         if let Some((j, lj)) = other_end(i, link) {
//!                             let from = Some(Peer::Link(LinkId(lj)));
//!                             let data = Data::Binary(t.payload.as_bytes());
//!                             // A bad message would be refused and dropped.
//!                             let _ = nodes[j].handle_input(now, Input::Received { from, data });
//!                         }
//!                     }
//!                     Output::Event(event) => events.push((i, event)),
//!                     Output::Close { .. } | Output::Reconnect { .. } => {}
//!                 }
//!             }
//!         }
//!         if !moved {
//!             return;
//!         }
//!     }
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let ids: Vec<Uuid> = (1..=3).map(Uuid::from_u128).collect();
//! let mut nodes: Vec<Node> = (0..3)
//!     .map(|i| Node::new(NodeConfig::new(ids[i]), seeded_rng(i as u64)))
//!     .collect();
//! let mut now = Instant::now();
//! for ((a, la), (b, lb)) in WIRES {
//!     nodes[a].handle_input(now, Input::Opened { from: Some(Peer::Link(LinkId(la))) })?;
//!     nodes[b].handle_input(now, Input::Opened { from: Some(Peer::Link(LinkId(lb))) })?;
//! }
//! let mut events = Vec::new();
//!
//! // HELLOs, then ROUTING a moment later: A learns B is two hops away through S.
//! run(&mut nodes, now, &mut events);
//! now += Duration::from_millis(200);
//! run(&mut nodes, now, &mut events);
//! assert_eq!(nodes[0].route(&ids[2]).map(|route| route.hops), Some(2));
//!
//! // A's MESSAGE reaches B through S, and B's ACK comes back.
//! let body = Body::Message(ChatMessage {
//!     recipient: vec![ids[2]],
//!     timestamp: None,
//!     channel: None,
//!     channel_id: None,
//!     message: b"hello B".to_vec(),
//!     attachment: vec![],
//! });
//! let msg_id = nodes[0].send(now, ids[2], body)?;
//! events.clear();
//! run(&mut nodes, now, &mut events);
//! assert!(events.iter().any(|(i, e)| *i == 2 && matches!(e, Event::Received { .. })));
//! assert!(events.contains(&(0, Event::Acked { msg_id, by: Some(ids[2]) })));
//!
//! // Time passes: HELLOs and ROUTING keep the links up.
//! for _ in 0..20 {
//!     now += Duration::from_millis(500);
//!     run(&mut nodes, now, &mut events);
//! }
//! assert_eq!(nodes[1].neighbours().len(), 2);
//! # Ok(())
//! # }
//! ```
//!
//! # Fuzz and property-test your server
//!
//! The generators this crate's tests use are exported. With the `proptest`
//! feature, `strategy` has a strategy for every message type and a neighbour's
//! whole conversation; with `arbitrary`, every message type implements
//! `arbitrary::Arbitrary`, so a cargo-fuzz target can take `|message: Message|`.
//! Every generated message encodes and decodes back to itself.
//!
//! Here an application's handler counts what its node delivers while generated
//! neighbours greet it and send traffic; whatever they send, the neighbour stays
//! known by the id its HELLO gave:
//!
//! ```
//! # #[cfg(feature = "proptest")]
//! # fn main() {
//! use std::time::Instant;
//! use proptest::prelude::*;
//! use proptest::test_runner::{Config, TestRunner};
//! use proto_core::{Data, LinkId, seeded_rng};
//! use ptpchat_proto::{Event, Input, Machine, Node, NodeConfig, Output, Peer, encode, strategy};
//! use uuid::Uuid;
//!
//! /// The application: counts the messages delivered to it.
//! fn handle(delivered: &mut usize, event: Event) {
//!     if let Event::Received { .. } = event {
//!         *delivered += 1;
//!     }
//! }
//!
//! let me = Uuid::from_u128(1);
//! let link = Peer::Link(LinkId(7));
//! let mut runner = TestRunner::new(Config::with_cases(16));
//! let result = runner.run(&strategy::peer_conversation(vec![me]), |(neighbour, messages)| {
//!     let now = Instant::now();
//!     let mut node = Node::new(NodeConfig::new(me), seeded_rng(0));
//!     node.handle_input(now, Input::Opened { from: Some(link) }).expect("opens");
//!     let mut delivered = 0;
//!     for message in &messages {
//!         let bytes = encode(message);
//!         let input = Input::Received { from: Some(link), data: Data::Binary(&bytes) };
//!         let _ = node.handle_input(now, input);
//!         while let Some(output) = node.poll_output() {
//!             if let Output::Event(event) = output {
//!                 handle(&mut delivered, event);
//!             }
//!         }
//!     }
//!     prop_assert!(delivered <= messages.len());
//!     prop_assert_eq!(node.neighbours(), vec![(link, Some(neighbour))]);
//!     Ok(())
//! });
//! assert!(result.is_ok(), "{result:?}");
//! # }
//! # #[cfg(not(feature = "proptest"))]
//! # fn main() {}
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
// Input must never be able to crash a machine; tests may unwrap.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod codec;
pub mod message;

mod error;
mod event;
#[cfg(feature = "arbitrary")]
mod fuzzing;
mod node;
mod peer;
mod routing;
#[cfg(any(feature = "arbitrary", feature = "proptest"))]
mod sample;
mod seen;
#[cfg(feature = "proptest")]
pub mod strategy;

pub use codec::{DecodeError, FrameDecoder, decode, encode};
pub use error::{CallError, InputError};
pub use event::{DownReason, Event};
pub use message::{
    Ack, Attachment, Body, Certificate, Channel, ChannelRef, ChatMessage, Connect, DEFAULT_TTL,
    Endpoint, Envelope, Hello, Key, Message, MsgId, NodeId, NodeType, RawJson, RouteEntry, Routing,
    Timestamp, Verb,
};
pub use node::{Generation, Node, NodeConfig, Stats, TableSizes};
pub use routing::Route;

#[doc(no_inline)]
pub use proto_core::{Input, Limits, Machine, Output, Peer};
