//! Runs any sans-IO machine of this workspace over real sockets.
//!
//! The protocol crates never touch IO; this crate is the one place that does. A
//! [`Driver`] owns a [`proto_core::Machine`] and a [`Transport`], and loops: queue
//! what the machine emits, wait for the next of "something arrived", "the peer took
//! what was queued" and "the machine's timer is due", feed that in, and hand events
//! to the application. When a client machine asks to reconnect, the driver waits
//! until the instant it named and opens a new transport with the function given to
//! [`Driver::with_reconnect`].
//!
//! Peers are not trusted to keep up. Sending never blocks the machine: frames wait
//! in a bounded [`OutboundQueue`], and a [`Backpressure`] policy pauses reading a
//! peer that does not read, and closes one that lets the queue fill or takes nothing
//! for too long (see [`Driver`]). The WebSocket layer is bounded by the machine's
//! [`Limits`](proto_core::Limits) through [`ws::WsConfig`]: an oversize message is
//! refused from its header, with a 1009 close frame, and read and write buffers are
//! small.
//!
//! [`ws`] provides the WebSocket transport, client and server side; [`tls`] runs
//! it over TLS (`wss`), verifying the server against configured roots; [`serve`] is
//! the server's accept loop: a machine per connection, a cap on connections (503 at
//! the upgrade past it) and a graceful shutdown (1001 to every connection).
//!
//! # A client
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
//!
//! # A server
//!
//! A complete litebridge server: every connection gets its own
//! `litecord_proto::Server` machine, every request is answered with the number of
//! its arguments, and `shutdown` ends it all with 1001.
//!
//! ```no_run
//! use litecord_proto::{Event, RawJson, Server, ServerConfig};
//! use proto_tokio::{Activity, ServeConfig, serve, ws::WsConfig};
//! use tokio::net::TcpListener;
//!
//! async fn litebridge_server(shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
//!     let machine = ServerConfig::new("helloworld");
//!     let config = ServeConfig::new(WsConfig::from_limits(&machine.limits));
//!     let listener = TcpListener::bind("127.0.0.1:5000").await?;
//!     let summary = serve(
//!         listener,
//!         config,
//!         move |_peer| Server::new(machine.clone()),
//!         Server::close,
//!         |mut driver| async move {
//!             while let Some(activity) = driver.next().await {
//!                 if let Activity::Event(Event::Request(request)) = activity {
//!                     let count = RawJson::from_u64(request.args.len() as u64);
//!                     let _ = driver.machine().respond(&request.nonce, count);
//!                 }
//!             }
//!         },
//!         shutdown,
//!     )
//!     .await;
//!     println!("served {} connections, refused {}", summary.served, summary.refused);
//!     Ok(())
//! }
//! ```
//!
//! # Many peers
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
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod driver;
mod framing;
mod outbound;
mod peer_traffic;
mod serve;
mod tcp;
pub mod tls;
mod transport;
mod udp;
pub mod ws;

pub use driver::{Activity, Driver, DriverGone, Mailbox, Shutdown, ShutdownSignal, Traffic};
pub use outbound::{Backpressure, OutboundQueue, QueueFull};
pub use peer_traffic::{LinkEnd, PeerTraffic, Unsent};
pub use serve::{ServeConfig, ServeSummary, ServedDriver, serve};
pub use tcp::{Dialer, TcpConfig, TcpDriver};
pub use transport::{CLOSE_TIMEOUT, Incoming, Transport};
pub use udp::{UdpConfig, UdpDriver};

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;
