//! The shared vocabulary of the sans-IO protocol crates.
//!
//! Every protocol crate in this workspace exposes state machines that never touch a
//! socket, a clock or a thread. This crate holds what those machines share, and
//! nothing protocol-specific:
//!
//! - [`Machine`]: the four calls a driver makes — [`handle_input`](Machine::handle_input),
//!   [`handle_timeout`](Machine::handle_timeout), [`poll_output`](Machine::poll_output)
//!   and [`poll_timeout`](Machine::poll_timeout);
//! - [`Input`] and [`Output`]: what goes into a machine (frames, datagrams, a transport
//!   opening or closing) and what comes out (frames to transmit, application events, a
//!   close with its code and reason, a request to reconnect later);
//! - [`Outbox`]: the queue behind `poll_output`;
//! - [`PendingTable`]: requests awaiting their response, each with a deadline;
//! - [`IdAllocator`], [`Jitter`] and [`Backoff`]: ids, randomized intervals and
//!   reconnect delays drawn from an injected RNG, so runs are reproducible, and
//!   [`deadline`], timer arithmetic that cannot overflow;
//! - [`Limits`] and [`LimitError`]: the bounds every decoder enforces on hostile input;
//! - [`JsonKind`] and [`json_depth_exceeds`]: what the JSON protocols' errors report;
//! - [`Secret`] and [`constant_time_eq`]: secrets kept out of logs and compared
//!   without leaking through timing.
//!
//! One machine may serve one connection (a WebSocket client or server), many links (a
//! peer-to-peer node over several TCP streams) or many peers behind one UDP socket;
//! [`Peer`] names where a frame came from or goes to in the last two cases.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use proto_core::{Input, Machine, Output};
//!
//! /// Drives any machine until it has nothing left to say, printing what it emits.
//! fn pump<M: Machine>(machine: &mut M, now: Instant) -> usize
//! where
//!     M::Event: std::fmt::Debug,
//! {
//!     let mut emitted = 0;
//!     if machine.poll_timeout().is_some_and(|at| at <= now) {
//!         machine.handle_timeout(now);
//!     }
//!     while let Some(output) = machine.poll_output() {
//!         emitted += 1;
//!         match output {
//!             Output::Transmit(transmit) => println!("send {:?}", transmit.payload),
//!             Output::Event(event) => println!("event {event:?}"),
//!             Output::Close { close, .. } => println!("close {close}"),
//!             Output::Reconnect { at } => println!("reconnect in {:?}", at - now),
//!         }
//!     }
//!     emitted
//! }
//! # let _ = (Duration::ZERO, Input::opened());
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
// Input must never be able to crash a machine; tests may unwrap.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod ids;
mod io;
mod json;
mod limits;
mod machine;
mod outbox;
mod pending;
mod secret;
mod timing;

pub use ids::IdAllocator;
pub use io::{Close, Data, Disconnect, Input, LinkId, Output, Payload, Peer, Transmit, close_code};
pub use json::{JsonKind, json_depth_exceeds};
pub use limits::{LimitError, Limits};
pub use machine::Machine;
pub use outbox::Outbox;
pub use pending::{PendingError, PendingTable};
pub use secret::{Secret, constant_time_eq};
pub use timing::{Backoff, Jitter, MAX_DELAY, SeededRng, deadline, seeded_rng};
