//! The Tachyon lobby protocol (v1.22.0), sans IO: typed commands, their JSON codec,
//! WebSocket subprotocol negotiation, and client-side lobby state.
//!
//! Tachyon is spoken over a WebSocket whose every text frame is one JSON
//! *command*: a request (answered by a response with the same `messageId`), a
//! response (`success` with data, or `failed` with a reason), or an event. There
//! are 164 of them over ten services, each with its own JSON Schema; this crate
//! turns each schema into a Rust type and the frame into a [`Command`].
//!
//! # What comes in, what goes out
//!
//! - **Frames in**: [`decode`] (or [`decode_slice`], [`decode_with`] for custom
//!   [`Limits`](proto_core::Limits)) reads one text frame into a [`Command`], in one
//!   pass, and checks it against its schema: envelope, `data` types, enum values,
//!   ranges, lengths, patterns and formats. What fails is a [`DecodeError`] that
//!   says which field and which rule; [`recover_ids`] then still reads the
//!   `messageId` and `commandId`, so a server can answer `invalid_request` with
//!   [`Command::failed_response`].
//! - **Frames out**: [`encode`] (or [`encode_into`]) writes a [`Command`] with its
//!   keys in canonical order, so `decode(&encode(m)) == Ok(m)` and
//!   `encode(decode(x))` is stable.
//! - **Metadata**: every message type implements [`CommandMeta`] (who sends it to
//!   whom, with which scopes); [`meta`] answers the same for a [`CommandId`] and a
//!   [`MessageKind`] at run time, for a decoded command or an undecodable one.
//! - **Negotiation**: [`version`] parses and picks `v{major}[.{minor}].tachyon`
//!   subprotocols for both sides of the WebSocket handshake.
//! - **Lobby state**: [`lobby_state`] keeps a client's [`Lobby`](lobby_state::Lobby)
//!   and [`LobbyList`](lobby_state::LobbyList) current by applying the
//!   `lobby/updated`, `lobby/listUpdated` and `lobby/listReset` merge patches.
//!
//! - **The connection**: [`Connection`] is the sans-IO machine of one connection,
//!   server or client, user or autohost. It correlates responses with requests by
//!   `messageId` (fresh UUIDs, with timeouts), checks that the peer's role and
//!   scopes allow each command, answers unauthorized, unknown and schema-invalid
//!   requests as the protocol says, closes with 1008 on what cannot be answered,
//!   and, on the server, pings at randomized intervals and closes a peer that
//!   stops answering.
//!
//! Nothing here reads a clock or touches a socket: time comes in as an argument,
//! frames come in and go out as values (see [`proto_core::Machine`]).
//!
//! # Example
//!
//! ```
//! use tachyon_proto::{Command, CommandId, DecodeError, GenericReason, decode, encode};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let frame = r#"{"type":"request","messageId":"m1","commandId":"lobby/join",
//!                 "data":{"id":"1882f6b2e3a4d14f24acb7aa"}}"#;
//! let Command::LobbyJoinRequest(join) = decode(frame)? else {
//!     return Err("not a lobby/join request".into());
//! };
//! assert_eq!(join.data.id, "1882f6b2e3a4d14f24acb7aa");
//!
//! // The server cannot serve it: answer with a generic failure.
//! let answer = Command::failed_response(
//!     CommandId::LobbyJoin,
//!     join.message_id,
//!     GenericReason::CommandUnimplemented,
//!     None,
//! )
//! .ok_or("lobby/join has a response")?;
//! assert_eq!(
//!     encode(&answer),
//!     r#"{"type":"response","messageId":"m1","commandId":"lobby/join","status":"failed","reason":"command_unimplemented"}"#
//! );
//!
//! // A bad frame says what is wrong.
//! assert_eq!(
//!     decode(r#"{"type":"request","messageId":"m2","commandId":"lobby/nope"}"#),
//!     Err(DecodeError::UnknownCommand("lobby/nope".into()))
//! );
//! # Ok(())
//! # }
//! ```
//!
//! # A complete run loop
//!
//! A user's client and the server talk through an in-memory pipe with a virtual
//! clock; over real sockets, `proto-tokio` runs the same loop (`wirescope demo
//! tachyon` does, with the handshake's Bearer token and subprotocol).
//!
//! ```
//! use std::time::Instant;
//! use proto_core::{Input, Machine, Output, Payload};
//! use tachyon_proto::message::SystemServerStatsRequest;
//! use tachyon_proto::{Command, Connection, ConnectionConfig, Event, Role};
//!
//! /// Carries what `from` sends to `to` (a WebSocket answers pings by itself);
//! /// returns the events `from` emitted.
//! fn pump(now: Instant, from: &mut Connection, to: &mut Connection) -> Vec<Event> {
//!     let mut events = Vec::new();
//!     while let Some(output) = from.poll_output() {
//!         match output {
//!             Output::Transmit(t) => match t.payload {
//!                 Payload::Text(text) => { let _ = to.handle_input(now, Input::text(&text)); }
//!                 Payload::Ping(bytes) => { let _ = from.handle_input(now, Input::pong(&bytes)); }
//!                 Payload::Binary(_) => {} // tachyon only sends text
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
//! let mut server = Connection::new(ConnectionConfig::server(Role::User, ["tachyon.lobby"]));
//! let mut client = Connection::new(ConnectionConfig::client(Role::User));
//! server.handle_input(t0, Input::opened())?;
//! client.handle_input(t0, Input::opened())?;
//!
//! let id = client
//!     .send_request(t0, SystemServerStatsRequest { message_id: String::new() })?;
//! pump(t0, &mut client, &mut server);
//! let [Event::Request(request)] = &pump(t0, &mut server, &mut client)[..] else {
//!     return Err("the server should have the request".into());
//! };
//! assert_eq!(request.message_id(), id);
//!
//! // This server serves nothing yet: a generic failure answers any request.
//! let failure = tachyon_proto::GenericReason::CommandUnimplemented;
//! let answer = Command::failed_response(request.command_id(), id.clone(), failure, None);
//! server.respond(answer.ok_or("every request has a response")?)?;
//! pump(t0, &mut server, &mut client);
//! let [Event::Response(response)] = &pump(t0, &mut client, &mut server)[..] else {
//!     return Err("the client should have the response".into());
//! };
//! assert_eq!(response.message_id(), id);
//!
//! // The server pings within ten seconds; the client's WebSocket answers.
//! let ping_at = server.poll_timeout().ok_or("the server should ping")?;
//! server.handle_timeout(ping_at);
//! pump(ping_at, &mut server, &mut client);
//! assert!(server.is_open());
//! # Ok(())
//! # }
//! ```
//!
//! # Fuzz and property-test your server
//!
//! The generators the crate tests itself with are exported behind two features,
//! so a server's own tests and fuzz targets can feed it valid traffic that gets
//! past the codec into the application:
//!
//! - `arbitrary`: every message type and [`Command`] implement
//!   `arbitrary::Arbitrary`, generated beside the types, and build only values
//!   their schema accepts. A cargo-fuzz target takes them as its input:
//!   `fuzz_target!(|command: Command| { ... })`; this workspace's
//!   `fuzz/fuzz_targets/tachyon_roundtrip.rs` and `tachyon_conversation.rs` do.
//! - `proptest`: [`strategy`] has a strategy per type (`strategy::player()`,
//!   `strategy::lobby_create_request()`, ...), [`strategy::of`] by command and kind,
//!   and [`strategy::conversation`]: requests each side's role may send, each
//!   with an answer, and events, with distinct `messageId`s.
//!
//! Here a user's request handler serves conversations drawn by proptest, and a
//! command built from fuzzer bytes is checked as a fuzz target would:
//!
//! ```
//! use std::time::Instant;
//! use arbitrary::{Arbitrary, Unstructured};
//! use proptest::prelude::*;
//! use proptest::test_runner::{Config, TestCaseError, TestRunner};
//! use proto_core::{Input, Machine, Output};
//! use tachyon_proto::strategy::{self, Side};
//! use tachyon_proto::{ALL_META, Command, Connection, ConnectionConfig, Event, GenericReason, Role, encode};
//!
//! /// The user's handler: this one serves nothing yet.
//! fn handle(request: &Command) -> Option<Command> {
//!     let id = request.message_id().to_owned();
//!     Command::failed_response(request.command_id(), id, GenericReason::CommandUnimplemented, None)
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let scopes: Vec<&str> = ALL_META.iter().flat_map(|meta| meta.scopes.iter().copied()).collect();
//! let mut runner = TestRunner::new(Config::with_cases(32));
//! runner.run(&strategy::conversation(Role::User, 1..8), |exchanges| {
//!     let now = Instant::now();
//!     let mut server = Connection::new(ConnectionConfig::server(Role::User, scopes.iter().copied()));
//!     let fail = |e: tachyon_proto::InputError| TestCaseError::fail(e.to_string());
//!     server.handle_input(now, Input::opened()).map_err(fail)?;
//!     for exchange in exchanges.iter().filter(|exchange| exchange.from == Side::Client) {
//!         server.handle_input(now, Input::text(&encode(&exchange.command))).map_err(fail)?;
//!         while let Some(output) = server.poll_output() {
//!             if let Output::Event(Event::Request(request)) = output {
//!                 let answer = handle(&request).ok_or_else(|| TestCaseError::fail("no answer"))?;
//!                 server.respond(answer).map_err(|e| TestCaseError::fail(e.to_string()))?;
//!             }
//!         }
//!         prop_assert!(server.is_open());
//!     }
//!     Ok(())
//! })?;
//!
//! // What a fuzz target gets: a valid command, whatever the bytes.
//! let command = Command::arbitrary(&mut Unstructured::new(b"any bytes a fuzzer gives"))?;
//! assert_eq!(command.validate(), Ok(()));
//! # Ok(())
//! # }
//! ```
//!
//! # How the types are made
//!
//! The message types are generated from the official schemas by `tachyon-codegen`
//! and checked in under `src/generated/`; a test regenerates them and fails on any
//! difference. Names come from the schema titles, docs from their descriptions and
//! from the protocol's own pages. Optional members are `Option`s that refuse
//! `null`; members that may be `null` are `Option`s too, and merge-patch members
//! that may be both absent and `null` are `Option<Option<T>>`. Objects the schemas
//! leave free-form are kept whole as [`JsonObject`]s, and since no schema forbids
//! additional properties, every struct keeps the members it does not name in its
//! `extra` map: decoding then encoding loses nothing.
//!
//! Each struct's decoder is generated too: it reads the members straight into
//! its fields, matching their names as the frame spells them, and touches `extra`
//! only for a member it does not know. Numbers are read exactly: the crate turns
//! on serde_json's `float_roundtrip`, without which a float the encoder writes can
//! come back one unit in the last place off. Cargo unifies features, so every
//! crate that uses serde_json in the same build parses floats that way too.
//!
//! # Where the decoder and the schemas part
//!
//! The decoder accepts what `compiled.json` accepts (the conformance tests check
//! the official examples and thousands of broken variants of them), except:
//!
//! - integers written with a fraction or exponent (`2.0`, `1e3`), which draft-07
//!   counts as integers, and integers beyond `i64`/`u64`, are refused;
//! - `customStartScriptProperties` is declared with the pattern
//!   `^[a-zA-Z0-9_-]$`, which matches one-character keys only, so the schema leaves
//!   longer keys unchecked; here every value must be a string, as intended;
//! - a `format: regex` string is checked for structure (balanced groups and
//!   classes, quantifiers with something to repeat), not compiled as ECMAScript;
//! - a member named twice in an object with named members is refused, where a
//!   validator sees the last one.
//!
//! `format: uuid` is checked as the official validators check it (they add
//! ajv-formats to draft-07, which does not define it): 8-4-4-4-12 hex digits in
//! either case, optionally after `urn:uuid:`. So a `battleId` of `"not-a-uuid"`
//! is refused with [`Problem::NotAUuid`](validate::Problem::NotAUuid). The schema
//! gives the same format to `PrivateBattle::ip`, so an `ip` that is an address
//! (`"10.0.0.1"`) is refused there too, by `decode` as by the official
//! validators; the official example puts a UUID in it.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
// Input must never be able to crash a machine; tests may unwrap.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

#[cfg(feature = "arbitrary")]
mod arbitrary_impls;
pub mod codec;
mod connection;
mod depth;
mod error;
mod event;
mod field;
mod generated;
mod keepalive;
pub mod lobby_state;
pub mod message;
#[cfg(feature = "proptest")]
pub mod strategy;
pub mod validate;
pub mod version;

pub use codec::{
    DecodeError, FrameIds, decode, decode_slice, decode_with, encode, encode_generic_failure,
    encode_into, recover_ids,
};
pub use connection::{Connection, ConnectionConfig};
pub use error::{CallError, InputError};
pub use event::{Disconnect, Event, RequestFailure};
pub use message::{
    ALL_META, Command, CommandId, CommandMeta, Failure, FailureReason, GenericReason, JsonObject,
    MessageKind, Meta, Outcome, Role, UnknownCommandId, meta,
};
pub use validate::{Validate, ValidationError};
