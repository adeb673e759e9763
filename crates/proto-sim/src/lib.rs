//! A deterministic network simulator for the sans-IO machines of this workspace.
//!
//! Multi-party tests wire any number of [`proto_core::Machine`]s, of any types, into
//! one [`Sim`]: stream links between them ([`Sim::connect`] for multi-link machines
//! that name links by [`LinkId`](proto_core::LinkId), [`Sim::connect_single`] for a
//! single-connection client and server) and datagram paths between machines bound
//! to addresses ([`Sim::add_at`]). Each link or path has a [`LinkConfig`]: latency and
//! jitter, and for datagrams loss, duplication and reordering, all drawn from the
//! simulator's seed.
//!
//! The clock is virtual: [`Sim::step`] jumps to the earliest due delivery or machine
//! timer and handles it, and every output the machines emit is carried out at once.
//! [`Sim::run_until`] steps until a predicate holds, bounded in virtual time and in
//! steps; [`Sim::run_for`] lets a span of virtual time pass. [`Sim::trace`] records
//! every delivery attempt and its [`Fate`], so tests assert on what crossed the
//! network; one seed always gives one trace.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use proto_core::{Data, Input, Machine, Output, Payload, Peer, Transmit};
//! use proto_sim::{LinkConfig, Sim};
//!
//! /// Greets every link it gets and reports every greeting it hears.
//! #[derive(Default)]
//! struct Greeter {
//!     outputs: Vec<Output<String>>,
//! }
//!
//! impl Machine for Greeter {
//!     type Event = String;
//!     type Error = std::str::Utf8Error;
//!
//!     fn handle_input(&mut self, _now: Instant, input: Input<'_>) -> Result<(), Self::Error> {
//!         match input {
//!             Input::Opened { from } => self.outputs.push(Output::Transmit(Transmit {
//!                 to: from,
//!                 payload: Payload::Text("hello".into()),
//!             })),
//!             Input::Received { from: Some(Peer::Link(link)), data } => {
//!                 let text = std::str::from_utf8(data.as_bytes())?;
//!                 self.outputs.push(Output::Event(format!("{link}: {text}")));
//!             }
//!             _ => {}
//!         }
//!         Ok(())
//!     }
//!     fn handle_timeout(&mut self, _now: Instant) {}
//!     fn poll_output(&mut self) -> Option<Output<String>> {
//!         (!self.outputs.is_empty()).then(|| self.outputs.remove(0))
//!     }
//!     fn poll_timeout(&self) -> Option<Instant> {
//!         None
//!     }
//! }
//!
//! # fn main() -> Result<(), proto_sim::SimError> {
//! let mut sim = Sim::new(7);
//! let (a, b) = (sim.add(Greeter::default()), sim.add(Greeter::default()));
//! sim.connect(a, b, LinkConfig::ideal(Duration::from_millis(20)));
//! let at = sim.run_until(Duration::from_secs(1), |sim| sim.trace().len() == 2)?;
//! assert_eq!(at - sim.start(), Duration::from_millis(20));
//! assert_eq!(sim.events(a), ["link#0: hello"]);
//! assert_eq!(sim.events(b), ["link#0: hello"]);
//! # let _ = Data::Text("");
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod config;
mod error;
mod node;
mod sim;
mod trace;

pub use config::LinkConfig;
pub use error::SimError;
pub use node::NodeId;
pub use sim::{DEFAULT_STEP_LIMIT, Sim};
pub use trace::{Delivery, Fate};
