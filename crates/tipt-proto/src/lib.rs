//! Sans-IO implementation of the Tipt client-node protocol: one msgpack map per
//! WebSocket binary frame, over `wss://HOST/ws`.
//!
//! # What comes in, what goes out
//!
//! A [`Node`] runs one accepted connection; a [`Client`] runs one connection to a
//! node. Both implement [`proto_core::Machine`]:
//!
//! - **in**: [`Input::opened`] once the WebSocket is up, each binary frame as
//!   [`Input::binary`], [`Input::closed`] when the peer goes away, and the time,
//!   through `handle_input(now, ..)` and `handle_timeout(now)`;
//! - **application calls**: on the client `get_node_key`, `forward`,
//!   `send_request` (REGISTER, SIGN_IN, GET_INFO, later types), `send_event`,
//!   `respond`; on the node `answer_node_key`, `answer_forward`, `respond`,
//!   `respond_error`, `send_request`, `send_event`, `set_signed_in`;
//! - **out**, from `poll_output`: binary frames and pings to send, [`NodeEvent`]s
//!   or [`ClientEvent`]s, and a close; `poll_timeout` says when to call
//!   `handle_timeout` next.
//!
//! The crate never reads a clock, opens a socket or spawns a thread.
//!
//! # The protocol, and the choices the spec leaves open
//!
//! Every frame is a map `{id, pakt, reqt, [body], [err]}` ([`Frame`]); the draft's
//! root `ver` is accepted and, when configured, emitted. [`decode`] checks the
//! frame's length (at most [`MAX_FRAME_LEN`]) before parsing, every declared
//! length against what is left before taking it, integer values against their
//! declared widths, and the rules binding the fields: `reqt` absent or nil on a
//! RESPONSE, `err` only on a RESPONSE and never beside `body`, `body` nil or a map,
//! no unknown or repeated keys. It allocates nothing: strings and binaries (`msg`,
//! `resp`, `key`) borrow from the frame, and the machines copy a payload once, into
//! the [`bytes::Bytes`] of an event. [`encode`] writes every value in its smallest
//! msgpack width, as the spec asks. Bodies the spec names but does not define
//! (REGISTER, SIGN_IN, GET_INFO, client requests, events, the error types) travel
//! as [`RawValue`] / [`RawBuf`], byte-exact; request types the spec reserves or does
//! not define are kept as numbers ([`NodeRequestType`]).
//!
//! - **Sizes.** "2 MB" (`msg`, `resp`) is read as 2 × 2^20 bytes and "2.1 MB" (the
//!   frame) as 2.1 × 2^20, so every valid FORWARD fits in a frame. `node` is
//!   declared `str8` but may hold 500 bytes: str8 and str16 are both accepted.
//! - **"Disconnect with an HTTP 400"** cannot be sent once the WebSocket is up: the
//!   node closes with 1008 and a reason starting with `400` when the HANDSHAKE is
//!   missing after 3 s, when anything else comes first, and when a frame is over
//!   2.1 MB. Other malformed frames close with 1008, text frames with 1003.
//! - **`comp`** is true when the client's major version is at most the node's;
//!   after `comp: false` both sides close (1000) and nothing more is served.
//! - **Sign-in.** The application tells the node when a client has signed in.
//!   REGISTER, SIGN_IN and the reserved 0x04–0x1f are refused once signed in;
//!   GET_NODE_KEY, FORWARD and every other type before; GET_INFO either way. The
//!   spec defines no error type, so a refusal is an `err` shaped by
//!   [`NodeConfig::refusal`], by default a string.
//! - **GET_NODE_KEY and FORWARD** reach the node's application with the URL to
//!   fetch (`GET https://{node}/api/public_key`, `POST https://{node}/api/forward`);
//!   `node` must be a domain name, so it cannot change the URL. FORWARD with
//!   `wait: false` is answered `nil` at once.
//! - **Ids** are `u8` per direction and reused only after their response: with
//!   256 requests in flight a call fails with [`CallError::IdsExhausted`], and the
//!   id of a request that timed out stays reserved until its late response.
//! - The client pings every five minutes ([`ClientConfig::ping_interval`]).
//!
//! # A complete run loop
//!
//! A node and a client talk through an in-memory pipe on a virtual clock; over
//! real sockets, `proto-tokio` runs the same loop (with `wss`).
//!
//! ```
//! use std::time::{Duration, Instant};
//! use proto_core::{Input, Machine, Output, Payload};
//! use tipt_proto::{Client, ClientConfig, ClientEvent, Node, NodeConfig, NodeEvent, Reply};
//!
//! /// Moves every frame `from` emits into `to`; returns the events `from` emitted.
//! fn pump<M: Machine>(now: Instant, from: &mut M, to: &mut impl Machine) -> Vec<M::Event> {
//!     let mut events = Vec::new();
//!     while let Some(output) = from.poll_output() {
//!         match output {
//!             Output::Transmit(t) => {
//!                 if let Payload::Binary(frame) = t.payload {
//!                     let _ = to.handle_input(now, Input::binary(&frame));
//!                 }
//!             }
//!             Output::Event(event) => events.push(event),
//!             Output::Close { .. } | Output::Reconnect { .. } => {}
//!         }
//!     }
//!     events
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let t0 = Instant::now();
//! let mut node = Node::new(NodeConfig::new())?;
//! let mut client = Client::new(ClientConfig::new())?;
//! node.handle_input(t0, Input::opened())?;
//! client.handle_input(t0, Input::opened())?;
//!
//! pump(t0, &mut client, &mut node); // HANDSHAKE
//! let handshake = pump(t0, &mut node, &mut client);
//! assert!(matches!(&handshake[..], [NodeEvent::Handshake { compatible: true, .. }]));
//! assert!(matches!(&client.poll_output(), Some(Output::Event(ClientEvent::Handshake { .. }))));
//!
//! // The application signed the client in (SIGN_IN's body is its business).
//! node.set_signed_in(true);
//! let id = client.get_node_key(t0, "peer.example")?;
//! pump(t0, &mut client, &mut node);
//! let Some(Output::Event(NodeEvent::FetchNodeKey { id: asked, url, .. })) = node.poll_output() else {
//!     return Err("the node should ask its application for the key".into());
//! };
//! assert_eq!(url, "https://peer.example/api/public_key");
//! node.answer_node_key(asked, b"public key bytes")?;
//! let events = pump(t0, &mut node, &mut client);
//! assert!(events.is_empty());
//! assert_eq!(
//!     client.poll_output(),
//!     Some(Output::Event(ClientEvent::Response {
//!         id,
//!         reply: Reply::NodeKey(bytes::Bytes::from_static(b"public key bytes")),
//!     }))
//! );
//!
//! // Five minutes on, the client pings.
//! let t1 = t0 + Duration::from_secs(300);
//! assert_eq!(client.poll_timeout(), Some(t1));
//! client.handle_timeout(t1);
//! assert!(matches!(
//!     client.poll_output(),
//!     Some(Output::Transmit(t)) if matches!(t.payload, Payload::Ping(_))
//! ));
//! # Ok(())
//! # }
//! ```
//!
//! # Fuzz and property-test your server
//!
//! The generators this crate's tests use are exported. With the `proptest`
//! feature, `strategy` makes every valid frame and whole client conversations;
//! with `arbitrary`, [`FrameBuf`] and its parts implement `arbitrary::Arbitrary`,
//! so a cargo-fuzz target can take `|frame: FrameBuf|`. Both make only frames the
//! spec allows: ASCII versions, domain names, lengths within the limits, typed
//! bodies for HANDSHAKE, GET_NODE_KEY and FORWARD.
//!
//! Here an application's handler, behind a signed-in node, is fed generated
//! conversations; every request must be answered, by the handler or by the
//! node's refusal:
//!
//! ```
//! # #[cfg(feature = "proptest")]
//! # fn main() {
//! use std::time::Instant;
//! use proptest::prelude::*;
//! use proptest::test_runner::{Config, TestRunner};
//! use tipt_proto::{FrameKindBuf, Input, Machine, Node, NodeConfig, NodeEvent, Output, strategy};
//!
//! /// The application: answers whatever the node hands over.
//! fn handle(node: &mut Node, event: NodeEvent) {
//!     let _ = match event {
//!         NodeEvent::Request { id, .. } => node.respond(id, None),
//!         NodeEvent::FetchNodeKey { id, .. } => node.answer_node_key(id, b"key"),
//!         NodeEvent::Forward { id, wait: true, .. } => node.answer_forward(id, b"done"),
//!         _ => Ok(()),
//!     };
//! }
//!
//! let mut runner = TestRunner::new(Config::with_cases(16));
//! let result = runner.run(&strategy::client_conversation(), |frames| {
//!     let now = Instant::now();
//!     let mut node = Node::new(NodeConfig::new()).expect("valid config");
//!     node.handle_input(now, Input::opened()).expect("opens");
//!     node.set_signed_in(true);
//!     let mut sent = 0;
//!     for frame in &frames {
//!         let _ = node.handle_input(now, Input::binary(&frame.encode()));
//!         while let Some(output) = node.poll_output() {
//!             match output {
//!                 Output::Event(event) => handle(&mut node, event),
//!                 Output::Transmit(_) => sent += 1,
//!                 _ => {}
//!             }
//!         }
//!     }
//!     let requests = frames
//!         .iter()
//!         .filter(|frame| matches!(frame.kind, FrameKindBuf::Request { .. }))
//!         .count();
//!     prop_assert_eq!(sent, requests);
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

mod body;
mod client;
mod error;
mod event;
mod frame;
mod frame_buf;
#[cfg(feature = "arbitrary")]
mod fuzzing;
mod link;
mod node;
mod raw;
mod read;
mod request_type;
#[cfg(any(feature = "arbitrary", feature = "proptest"))]
mod sample;
#[cfg(feature = "proptest")]
pub mod strategy;
mod version;
mod write;

pub use body::{
    Body, Forward, Forwarded, GetNodeKey, Handshake, HandshakeResponse, MAX_KEY_LEN, MAX_NODE_LEN,
    MAX_PAYLOAD_LEN, MAX_VERSION_LEN, NodeKey, is_domain_name,
};
pub use client::{Client, ClientConfig};
pub use error::{CallError, DecodeError, Field, InputError, Kind, Refusal};
pub use event::{ClientEvent, Disconnect, NodeEvent, Reply, RequestFailure, RequestId};
pub use frame::{
    Frame, FrameKind, MAX_FRAME_LEN, decode, decode_to_node, encode, encode_into, type_node_request,
};
pub use frame_buf::{BodyBuf, FrameBuf, FrameKindBuf};
pub use node::{Node, NodeConfig};
pub use raw::{RawBuf, RawValue};
pub use request_type::{NodeRequestType, PacketType, SignIn};
pub use version::{PROTOCOL_VERSION, compatible, major};

#[doc(no_inline)]
pub use proto_core::{Close, Input, Machine, Output};
