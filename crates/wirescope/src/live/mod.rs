//! Live traffic: what a protocol plugs in so wirescope can proxy, check, record,
//! replay, serve and connect to it.
//!
//! A protocol is one module under `live/` implementing [`LiveProtocol`]. Everything
//! transport-shaped (the proxies, the capture format, the JSON and transcript
//! output, reading the user's lines) is shared and knows no protocol.
//!
//! Words used throughout: the *client* is the side that connected to wirescope's
//! listening address (or, for `connect`, wirescope itself); the *server* is the
//! upstream (or, for `serve`, wirescope itself). For peer-to-peer protocols the
//! names only say who dialled whom.
//!
//! # Plugging a protocol in
//!
//! wirescope stays a binary crate: these modules are `pub(crate)` and their tests
//! are unit tests inside the crate. A protocol adds `live/NAME.rs` implementing
//! [`LiveProtocol`], one `pub(crate) mod NAME;` line below, and one match arm per
//! command in `main.rs` (`proxy`, `replay`, `serve`, `connect`, `decode --json`).
//! `harness` (tests only) runs a proxy in-process on loopback between a client
//! and a server and collects what it printed and recorded:
//! `Proxied::start::<P>(upstream, options)` (or `start_with` and a `ProxyConfig`),
//! connect the client to `proxied.addr`, `wait_closed(n)` or `wait_until(..)` on
//! the capture, then `finish()` gives the entries, `transcript()` and `json()`
//! without times, `violations()`, the recorded `frames(conn, direction)` to compare
//! with what each side sent, and `assert_replay_matches::<P>()`.
//!
//! # Modules
//!
//! - [`render`]: the transcript line and the JSON object of each entry;
//! - [`capture`]: the capture file format, its writer and parser;
//! - [`checker`]: one observer per conversation, fed frames and deadlines in time
//!   order (shared by the live proxy and replay);
//! - [`proxy`]: the proxy's configuration, listener and the hub that stamps,
//!   checks, prints and records; [`ws_proxy`], [`tcp_proxy`], [`udp_proxy`]: the
//!   forwarding for each [`Wire`];
//! - [`console`]: stdin lines, TLS material and frame printing for `serve` and
//!   `connect`;
//! - [`commands`]: the commands and their options, generic over the protocol;
//! - [`litebridge`]: litebridge's plug;
//! - [`tachyon`], [`tipt`]: Tachyon's and Tipt's plugs; [`ws_session`]: the
//!   `serve` and `connect` conversation loop they share;
//! - [`ptpchat`], [`regnode`]: ptpchat's (TCP and UDP) and regnode's plugs;
//!   `running`: the driver task and console loop they share.

// Traffic must never be able to crash the proxy; tests may unwrap.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub(crate) mod capture;
pub(crate) mod checker;
pub(crate) mod commands;
pub(crate) mod console;
#[cfg(test)]
pub(crate) mod harness;
pub(crate) mod litebridge;
pub(crate) mod proxy;
pub(crate) mod ptpchat;
pub(crate) mod regnode;
pub(crate) mod render;
mod running;
pub(crate) mod tachyon;
pub(crate) mod tcp_proxy;
pub(crate) mod tipt;
pub(crate) mod udp_proxy;
pub(crate) mod ws_proxy;
pub(crate) mod ws_session;

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::{Duration, Instant};

/// Errors out of the async plumbing.
pub(crate) type Failure = Box<dyn std::error::Error + Send + Sync>;

/// A boxed future, so protocol modules stay object-safe and free of async traits.
pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Which way a frame went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Direction {
    /// From the client to the server.
    ToServer,
    /// From the server to the client.
    ToClient,
}

impl Direction {
    /// The capture file's and the JSON output's spelling: `c>s` or `s>c`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Direction::ToServer => "c>s",
            Direction::ToClient => "s>c",
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a protocol's frames travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(
    dead_code,
    reason = "each wire is named by the plugs of the protocols using it"
)]
pub(crate) enum Wire {
    /// WebSocket messages; `wss` upstreams and listeners are supported.
    WebSocket,
    /// TCP with a 4-byte big-endian length before each frame.
    LengthPrefixedTcp,
    /// One frame per UDP datagram.
    Udp,
}

/// What one observed frame carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FrameData {
    /// The connection (or, for UDP, the first datagram of a client address) opened.
    Open,
    /// A WebSocket text message.
    Text(String),
    /// A WebSocket binary message, one length-prefixed TCP frame's body, or one
    /// UDP datagram.
    Binary(Vec<u8>),
    /// A close: the WebSocket close frame's code and reason (`None` when it had no
    /// code), or the end of a TCP stream (`None`).
    Close(Option<(u16, String)>),
}

/// One frame of one conversation, as the proxy saw it or a capture recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Frame {
    /// Which conversation: the proxy numbers accepted connections (UDP: client
    /// addresses) from 1.
    pub(crate) conn: u64,
    /// Time since the capture started.
    pub(crate) at: Duration,
    /// Which way it went.
    pub(crate) direction: Direction,
    /// What it carried.
    pub(crate) data: FrameData,
}

/// What a protocol makes of one frame.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Observation {
    /// A short name of the frame's kind (`HELLO`, `battle/start/request`, `ACK`,
    /// `open`, `close`, `(bad frame)`…).
    pub(crate) kind: String,
    /// The decoded frame rendered as JSON (the same rendering `encode` reads), or
    /// the decoder's exact error (its `Display`, then its `Debug` in brackets, as
    /// `decode` prints it).
    pub(crate) value: Result<serde_json::Value, String>,
    /// The conversation rules this frame broke, each the machine's exact error.
    pub(crate) violations: Vec<String>,
}

/// Tracks one conversation from both directions and checks it against the
/// protocol's rules, reusing the protocol crate's own machines, state tables and
/// pending tables rather than restating them.
///
/// Deterministic: given the same frames at the same times it says the same things,
/// which is what makes a replayed capture match the live transcript.
pub(crate) trait Observer: Send {
    /// Decodes and checks one frame seen at `now`.
    fn observe(&mut self, now: Instant, frame: &Frame) -> Observation;

    /// The next instant at which a rule can be broken by silence (a heartbeat or
    /// handshake deadline), if any.
    fn poll_deadline(&self) -> Option<Instant>;

    /// Time reached `now` with no frame: the violations of deadlines passed by then
    /// (each the machine's exact error).
    fn on_deadline(&mut self, now: Instant) -> Vec<String>;
}

/// The options a peer of any protocol may need; each protocol reads the ones it
/// uses and says in its `--help` text which.
#[derive(Debug, Clone, Default)]
#[allow(
    dead_code,
    reason = "each option is read by the plugs of the protocols using it"
)]
pub(crate) struct PeerOptions {
    /// A password (litebridge) or secret.
    pub(crate) password: Option<String>,
    /// A token (Tachyon's access token, Tipt's sign-in token).
    pub(crate) token: Option<String>,
    /// A subprotocol or protocol version to offer or accept.
    pub(crate) version: Option<String>,
    /// PEM file of trusted roots for `wss` (connect, and proxy upstreams).
    pub(crate) roots: Option<PathBuf>,
    /// Serve `wss` with a certificate made on the spot for this host name; its PEM
    /// is written where `cert_out` says so a client can trust it.
    pub(crate) self_signed: Option<String>,
    /// Where to write a made-on-the-spot certificate's PEM.
    pub(crate) cert_out: Option<PathBuf>,
    /// This peer's node id or name (ptpchat, Tipt, regnode).
    pub(crate) node_id: Option<String>,
    /// Directory of identity material (regnode certificates and keys).
    pub(crate) identity: Option<PathBuf>,
}

/// Where `serve` and `connect` print and what they read: the user's lines on the
/// way in, one rendered line per event on the way out. Tests supply their own.
pub(crate) struct Console {
    /// One message per line, in the JSON rendering `encode` reads; `None` is the
    /// end of input (the peer then closes gracefully).
    pub(crate) input: tokio::sync::mpsc::Receiver<String>,
    /// Everything the peer prints: received frames decoded, what it sent, events,
    /// errors for lines it could not send.
    pub(crate) output: tokio::sync::mpsc::UnboundedSender<String>,
}

/// One protocol's plug: everything live traffic needs from it.
pub(crate) trait LiveProtocol {
    /// Its command-line name, also written in captures.
    const NAME: &'static str;
    /// How its frames travel.
    const WIRE: Wire;

    /// A fresh observer for one conversation starting at `start`.
    fn observer(options: &PeerOptions, start: Instant) -> Box<dyn Observer>;

    /// Runs a server of the protocol on `listen` until the console's input ends,
    /// printing what it receives and sending what the user types.
    fn serve(
        options: PeerOptions,
        listen: SocketAddr,
        console: Console,
    ) -> BoxFuture<Result<(), Failure>>;

    /// Connects a client of the protocol to `target` (a URL for WebSocket, an
    /// address otherwise) and runs it until the console's input ends or the server
    /// closes, printing what it receives and sending what the user types.
    fn connect(
        options: PeerOptions,
        target: String,
        console: Console,
    ) -> BoxFuture<Result<(), Failure>>;
}
