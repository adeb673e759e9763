//! Sans-IO implementation of Litecord's *litebridge* common protocol: JSON op codes
//! over a WebSocket, used between Litecord components.
//!
//! # What comes in, what goes out
//!
//! A [`Server`] runs one accepted connection; a [`Client`] runs one logical
//! connection that survives reconnects. Both implement [`proto_core::Machine`]:
//!
//! - **in**: [`Input::opened`] when the WebSocket is up, each text (or binary) frame
//!   as [`Input::text`], [`Input::closed`] when the peer goes away, and the time,
//!   through `handle_input(now, ..)` and `handle_timeout(now)`;
//! - **application calls**: `send_request`, `respond`, `dispatch`, `close` (server) /
//!   `shutdown` (client);
//! - **out**, from `poll_output`: frames to send ([`Output::Transmit`]), [`Event`]s for
//!   the application, a close with its code ([`close_code`]), and for the client a
//!   time to reconnect at; `poll_timeout` says when to call `handle_timeout` next.
//!
//! The crate never reads a clock, opens a socket or spawns a thread.
//!
//! # The protocol
//!
//! | op | name | sent by |
//! |---|---|---|
//! | 0 | HELLO `{hb_interval}` | server, on open |
//! | 1 | HELLO_ACK `{password}` | client |
//! | 2 | HEARTBEAT | client, every `hb_interval` ms |
//! | 3 | HEARTBEAT_ACK | server |
//! | 4 | REQUEST `{w, a, n}` | either side (deployed servers request too) |
//! | 5 | RESPONSE `{n, r}` | the side that got the REQUEST |
//! | 6 | DISPATCH `{w, a}` | either side (deployed clients handle the server's too) |
//!
//! The server closes with 4001 on a wrong password, 4002 when a HEARTBEAT, REQUEST,
//! RESPONSE or DISPATCH comes before HELLO_ACK, 4003 when heartbeats stop (the
//! interval plus a grace), 1009 on an oversize frame and 1008 on any other bad frame
//! — a HELLO or HEARTBEAT_ACK from the client, first or later, included. Passwords are compared
//! in constant time. Extra fields in a frame are ignored. A client that loses its
//! connection waits a random time of at least a second, growing with each failure up
//! to a cap, before it asks to reconnect.
//!
//! # A complete run loop
//!
//! Here a client and a server talk through an in-memory pipe with a virtual clock;
//! over real sockets, `proto-tokio` runs the same loop.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use litecord_proto::{Client, ClientConfig, Event, RawJson, Server, ServerConfig};
//! use proto_core::{Input, Machine, Output, Payload};
//!
//! /// Moves every frame `from` emits into `to`; returns the events `from` emitted.
//! fn pump(now: Instant, from: &mut impl Machine<Event = Event>, to: &mut impl Machine) -> Vec<Event> {
//!     let mut events = Vec::new();
//!     while let Some(output) = from.poll_output() {
//!         match output {
//!             Output::Transmit(t) => match t.payload {
//!                 Payload::Text(text) => { let _ = to.handle_input(now, Input::text(&text)); }
//!                 _ => {} // litebridge only sends text
//!             },
//!             Output::Event(event) => events.push(event),
//!             Output::Close { .. } | Output::Reconnect { .. } => {}
//!         }
//!     }
//!     events
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let t0 = Instant::now();
//! let mut server = Server::new(ServerConfig::new("helloworld"));
//! let mut client = Client::new(ClientConfig::new("helloworld"));
//! server.handle_input(t0, Input::opened())?;
//! client.handle_input(t0, Input::opened())?;
//!
//! pump(t0, &mut server, &mut client);                     // HELLO
//! pump(t0, &mut client, &mut server);                     // HELLO_ACK, HEARTBEAT
//! assert_eq!(pump(t0, &mut server, &mut client), [Event::Authenticated]);
//! assert_eq!(pump(t0, &mut client, &mut server), [Event::Authenticated]);
//!
//! let id = client.send_request(t0, "ping", vec![RawJson::from_value(&1)?])?;
//! pump(t0, &mut client, &mut server);
//! let Some(Output::Event(Event::Request(request))) = server.poll_output() else {
//!     return Err("the server should have the request".into());
//! };
//! assert_eq!(request.what, "ping");
//! server.respond(&request.nonce, RawJson::from_value("pong")?)?;
//! pump(t0, &mut server, &mut client);
//! let data = RawJson::from_value("pong")?;
//! assert_eq!(client.poll_output(), Some(Output::Event(Event::Response { id, data })));
//!
//! // Ten seconds later the client heartbeats again, as HELLO asked.
//! let t1 = t0 + Duration::from_secs(10);
//! assert_eq!(client.poll_timeout(), Some(t1));
//! client.handle_timeout(t1);
//! assert!(matches!(client.poll_output(), Some(Output::Transmit(_))));
//! # Ok(())
//! # }
//! ```
//!
//! # Fuzz and property-test your server
//!
//! The generators the crate tests itself with are exported behind two features,
//! so a server's own tests and fuzz targets can feed it valid traffic:
//!
//! - `arbitrary`: [`Message`] and each message type implement
//!   `arbitrary::Arbitrary` and build only messages the spec allows, for a
//!   cargo-fuzz target: `fuzz_target!(|message: Message<'static>| { ... })`; this
//!   workspace's `fuzz/fuzz_targets/litecord_roundtrip.rs` and
//!   `litecord_conversation.rs` do.
//! - `proptest`: [`strategy`] has a strategy per message type, and whole sessions:
//!   [`strategy::client_session`] (HELLO_ACK, then heartbeats, requests and
//!   dispatches), [`strategy::server_session`] (HELLO, then acknowledgements,
//!   requests and dispatches) and [`strategy::answers_to`] (a RESPONSE to each
//!   request).
//!
//! Here a user's request handler serves client sessions drawn by proptest, and a
//! message built from fuzzer bytes goes through the codec as in a fuzz target:
//!
//! ```
//! use std::time::Instant;
//! use arbitrary::{Arbitrary, Unstructured};
//! use litecord_proto::strategy::client_session;
//! use litecord_proto::{Event, IncomingRequest, Message, RawJson, Server, ServerConfig, decode, encode};
//! use proptest::prelude::*;
//! use proptest::test_runner::{Config, TestCaseError, TestRunner};
//! use proto_core::{Input, Limits, Machine, Output};
//!
//! /// The user's handler: echoes the arguments back.
//! fn handle(request: &IncomingRequest) -> RawJson<'static> {
//!     let args: Vec<&str> = request.args.iter().map(RawJson::get).collect();
//!     RawJson::from_text(format!("[{}]", args.join(","))).unwrap_or_else(|_| RawJson::from_u64(0))
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut runner = TestRunner::new(Config::with_cases(64));
//! runner.run(&client_session("helloworld", 0..10), |session| {
//!     let now = Instant::now();
//!     let mut server = Server::new(ServerConfig::new("helloworld"));
//!     let fail = |e: litecord_proto::InputError| TestCaseError::fail(e.to_string());
//!     server.handle_input(now, Input::opened()).map_err(fail)?;
//!     for message in &session {
//!         server.handle_input(now, Input::text(&encode(message))).map_err(fail)?;
//!         while let Some(output) = server.poll_output() {
//!             if let Output::Event(Event::Request(request)) = output {
//!                 let answered = server.respond(&request.nonce, handle(&request));
//!                 prop_assert!(answered.is_ok(), "{answered:?}");
//!             }
//!         }
//!     }
//!     prop_assert!(server.is_authenticated());
//!     Ok(())
//! })?;
//!
//! // What a fuzz target gets: a valid message, whatever the bytes.
//! let message = Message::arbitrary(&mut Unstructured::new(b"any bytes a fuzzer gives"))?;
//! let frame = encode(&message);
//! assert_eq!(decode(frame.as_bytes(), &Limits::default())?, message);
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
// Input must never be able to crash a machine; tests may unwrap.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod close_code;
pub mod codec;
pub mod message;

#[cfg(feature = "proptest")]
pub mod strategy;

#[cfg(feature = "arbitrary")]
mod arbitrary_impls;
mod client;
mod error;
mod event;
mod raw;
mod server;
mod session;

pub use client::{Client, ClientConfig};
pub use codec::{DecodeError, decode, encode};
pub use error::{CallError, InputError};
pub use event::{Disconnect, Event, IncomingRequest, RequestFailure, RequestId};
pub use message::{Message, Op};
pub use raw::RawJson;
pub use server::{Server, ServerConfig};

#[doc(no_inline)]
pub use proto_core::{Close, Input, Limits, Machine, Output};
