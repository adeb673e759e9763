//! Runs any sans-IO machine of this workspace over real sockets.
//!
//! The protocol crates never touch IO; this crate is the one place that does. A
//! [`Driver`] owns a [`proto_core::Machine`] and a [`Transport`], and loops: send
//! what the machine emits, sleep until the next of "something arrived" or "the
//! machine's timer is due", feed that in, and hand events to the application.
//! When a client machine asks to reconnect, the driver waits until the instant it
//! named and opens a new transport with the function given to
//! [`Driver::with_reconnect`].
//!
//! [`ws`] provides the WebSocket transport, client and server side.
//!
//! Machines with many peers have their own drivers, with the same `next`, `machine`
//! and `mailbox` surface. A [`TcpDriver`] runs one machine over many TCP links
//! (accepted from a listener, dialled on request), each framed by a 4-byte
//! big-endian length prefix and named by a [`LinkId`](proto_core::LinkId); a
//! [`UdpDriver`] runs one machine over one UDP socket, peers named by address. Their
//! taps see [`PeerTraffic`]: links opening and ending with the [`LinkEnd`] reason,
//! frames each way, and [`Unsent`] transmits.
//!
//! ```no_run
//! # use std::time::Instant;
//! # use proto_core::{Input, Machine, Output};
//! # struct Node;
//! # impl Machine for Node {
//! #     type Event = String;
//! #     type Error = std::io::Error;
//! #     fn handle_input(&mut self, _: Instant, _: Input<'_>) -> std::io::Result<()> { Ok(()) }
//! #     fn handle_timeout(&mut self, _: Instant) {}
//! #     fn poll_output(&mut self) -> Option<Output<String>> { None }
//! #     fn poll_timeout(&self) -> Option<Instant> { None }
//! # }
//! use proto_tokio::{Activity, TcpConfig, TcpDriver};
//! use tokio::net::TcpListener;
//!
//! # async fn run(node: Node) -> std::io::Result<()> {
//! let listener = TcpListener::bind("127.0.0.1:0").await?;
//! let mut driver = TcpDriver::new(node, TcpConfig::default()).listen(listener);
//! let neighbour = driver.dial("127.0.0.1:7000".parse().map_err(std::io::Error::other)?).await?;
//! println!("dialled {neighbour}");
//! while let Some(activity) = driver.next().await {
//!     match activity {
//!         Activity::Event(event) => println!("{event}"),
//!         Activity::Refused(error) => eprintln!("a peer sent bad input: {error}"),
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! ```no_run
//! use litecord_proto::{Client, ClientConfig, Event};
//! use proto_tokio::{Activity, Driver, ws};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let url = "ws://127.0.0.1:5000";
//! let (transport, _) = ws::connect(url).await?;
//! let mut driver = Driver::new(Client::new(ClientConfig::new("secret")), transport)
//!     .with_reconnect(move || async move {
//!         ws::connect(url).await.map(|(transport, _)| transport).map_err(std::io::Error::other)
//!     });
//! while let Some(activity) = driver.next().await {
//!     match activity {
//!         Activity::Event(Event::Authenticated) => {
//!             driver.machine().dispatch("hello", vec![])?;
//!         }
//!         Activity::Event(event) => println!("{event:?}"),
//!         Activity::Refused(error) => eprintln!("peer sent bad input: {error}"),
//!     }
//! }
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod driver;
mod framing;
mod peer_traffic;
mod tcp;
mod transport;
mod udp;
pub mod ws;

pub use driver::{Activity, Driver, DriverGone, Mailbox, Traffic};
pub use peer_traffic::{LinkEnd, PeerTraffic, Unsent};
pub use tcp::{Dialer, TcpConfig, TcpDriver};
pub use transport::{Incoming, Transport};
pub use udp::{UdpConfig, UdpDriver};
