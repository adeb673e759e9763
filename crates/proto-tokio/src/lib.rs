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
//! [`ws`] provides the WebSocket transport, client and server side; [`tls`] runs
//! it over TLS (`wss`), verifying the server against configured roots.
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
pub mod tls;
mod transport;
pub mod ws;

pub use driver::{Activity, Driver, DriverGone, Mailbox, Traffic};
pub use transport::{Incoming, Transport};
