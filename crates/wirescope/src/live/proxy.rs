//! The proxy's shared half: its configuration, the listening socket, and the hub
//! every forwarding task reports its frames to, which stamps their time, checks
//! them, prints them and records them.
//!
//! Each conversation is forwarded by its own task, so a slow peer holds up only its
//! own conversation. The hub is fed through a bounded queue: output that does not
//! keep up (a stalled terminal) slows every conversation rather than losing frames.

use std::io::{self, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use proto_core::Limits;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc;

use super::capture::{CaptureWriter, Record};
use super::checker::Checker;
use super::render::Entry;
use super::{Direction, Failure, Frame, FrameData, Wire, tcp_proxy, udp_proxy, ws_proxy};

/// How many reports may wait for the hub before forwarding tasks wait for it.
pub(crate) const TAP_CAPACITY: usize = 1024;

/// The proxy's bounds. Every wait on a socket is bounded by one of them.
#[derive(Debug, Clone)]
pub(crate) struct ProxyConfig {
    /// Frames (WebSocket messages, TCP frames, datagrams) larger than this are
    /// refused (WebSocket) or flagged (TCP, UDP; still forwarded).
    pub(crate) limits: Limits,
    /// How long connecting to the upstream (TCP, TLS and WebSocket handshakes) and
    /// accepting a client's handshake may take.
    pub(crate) connect_timeout: Duration,
    /// A conversation with no traffic either way for this long is ended (UDP: its
    /// session forgotten).
    pub(crate) idle_timeout: Duration,
    /// How long writing one frame to a side may take before the conversation is
    /// ended: a side that does not read stalls only its own conversation.
    pub(crate) write_timeout: Duration,
    /// At most this many conversations at once; further clients are refused
    /// (TCP: closed at once; UDP: their datagrams dropped).
    pub(crate) max_conversations: usize,
    /// Trusted roots for a `wss://` upstream.
    pub(crate) roots: Option<Arc<proto_tokio::tls::ClientConfig>>,
}

impl ProxyConfig {
    /// Default limits, 10 s to connect, 5 minutes idle, 10 s per write, 256
    /// conversations, no TLS roots.
    pub(crate) fn new() -> Self {
        ProxyConfig {
            limits: Limits::default(),
            connect_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(300),
            write_timeout: Duration::from_secs(10),
            max_conversations: 256,
            roots: None,
        }
    }
}

/// What a forwarding task tells the hub.
#[derive(Debug)]
pub(crate) enum Tap {
    /// A frame went by (already forwarded).
    Frame {
        /// The conversation.
        conn: u64,
        /// Which way.
        direction: Direction,
        /// What it carried.
        data: FrameData,
    },
    /// Bytes that could not be cut into frames, or a side that failed; forwarded
    /// all the same where possible.
    Flag {
        /// The conversation.
        conn: u64,
        /// Which way.
        direction: Direction,
        /// What was wrong.
        error: String,
    },
}

/// The sending end forwarding tasks report on.
pub(crate) type Taps = mpsc::Sender<Tap>;

/// Reports `tap`; a hub that is gone (the proxy is stopping) loses it.
pub(crate) async fn report(taps: &Taps, tap: Tap) {
    let _ = taps.send(tap).await;
}

/// A bound listening socket of the kind a [`Wire`] needs.
#[derive(Debug)]
pub(crate) enum Listener {
    /// WebSocket and length-prefixed TCP.
    Tcp(TcpListener),
    /// UDP.
    Udp(UdpSocket),
}

impl Listener {
    /// Binds `addr` for `wire`.
    pub(crate) async fn bind(wire: Wire, addr: SocketAddr) -> io::Result<Self> {
        Ok(match wire {
            Wire::WebSocket | Wire::LengthPrefixedTcp => {
                Listener::Tcp(TcpListener::bind(addr).await?)
            }
            Wire::Udp => Listener::Udp(UdpSocket::bind(addr).await?),
        })
    }

    /// The address clients reach.
    pub(crate) fn local_addr(&self) -> io::Result<SocketAddr> {
        match self {
            Listener::Tcp(listener) => listener.local_addr(),
            Listener::Udp(socket) => socket.local_addr(),
        }
    }
}

/// Forwards conversations between clients of `listener` and `upstream` (a `ws://`
/// or `wss://` URL for WebSocket, an address otherwise) until `shutdown`, then
/// ends every conversation.
pub(crate) async fn forward(
    wire: Wire,
    listener: Listener,
    upstream: &str,
    config: Arc<ProxyConfig>,
    taps: Taps,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Failure> {
    match (wire, listener) {
        (Wire::WebSocket, Listener::Tcp(listener)) => {
            let upstream = ws_proxy::Upstream::parse(upstream, &config)?;
            ws_proxy::run(listener, upstream, config, taps, shutdown).await
        }
        (Wire::LengthPrefixedTcp, Listener::Tcp(listener)) => {
            let upstream = resolve(upstream).await?;
            tcp_proxy::run(listener, upstream, config, taps, shutdown).await
        }
        (Wire::Udp, Listener::Udp(socket)) => {
            let upstream = resolve(upstream).await?;
            udp_proxy::run(socket, upstream, config, taps, shutdown).await
        }
        (wire, listener) => Err(format!("a {wire:?} proxy cannot listen on {listener:?}").into()),
    }
}

/// The first address `target` (`HOST:PORT`) names.
pub(crate) async fn resolve(target: &str) -> Result<SocketAddr, Failure> {
    tokio::net::lookup_host(target)
        .await?
        .next()
        .ok_or_else(|| format!("{target} names no address").into())
}

/// Where the hub sends each checked entry.
pub(crate) type Emit = Box<dyn FnMut(&Entry) + Send>;

/// Where the hub records.
pub(crate) type Recorder = CaptureWriter<Box<dyn Write + Send>>;

/// Stamps each report with the time since `checker`'s start, records it, checks
/// it and emits the entries; fires deadlines when their time comes, recording a
/// `time` line so a replay reaches them too. Returns when every forwarding task
/// is gone.
pub(crate) async fn hub(
    mut taps: mpsc::Receiver<Tap>,
    mut checker: Checker,
    mut recorder: Option<Recorder>,
    mut emit: Emit,
) -> io::Result<()> {
    let start = checker.start();
    // Records never go back in time, even within one microsecond.
    let mut last = Duration::ZERO;
    // The deadline the timer last fired for.
    let mut fired = None;
    loop {
        let deadline = checker.next_deadline_after(fired);
        let record = tokio::select! {
            tap = taps.recv() => {
                let Some(tap) = tap else { return Ok(()) };
                let at = micros_floor(start.elapsed()).max(last);
                match tap {
                    Tap::Frame { conn, direction, data } => {
                        Record::Frame(Frame { conn, at, direction, data })
                    }
                    Tap::Flag { conn, direction, error } => Record::Flag { at, conn, direction, error },
                }
            }
            () = sleep_until_some(deadline) => {
                fired = deadline;
                // Rounded up so the recorded time is not before the deadline.
                let reached = deadline.map_or(Duration::ZERO, |d| d.saturating_duration_since(start));
                Record::Time(micros_ceil(start.elapsed().max(reached)).max(last))
            }
        };
        last = record.at();
        if let Some(recorder) = recorder.as_mut() {
            recorder.write(&record)?;
        }
        for entry in checker.check(&record) {
            emit(&entry);
        }
    }
}

async fn sleep_until_some(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline.into()).await,
        None => std::future::pending().await,
    }
}

fn micros_floor(elapsed: Duration) -> Duration {
    Duration::new(elapsed.as_secs(), elapsed.subsec_micros() * 1_000)
}

fn micros_ceil(elapsed: Duration) -> Duration {
    let floor = micros_floor(elapsed);
    if floor == elapsed {
        floor
    } else {
        floor + Duration::from_micros(1)
    }
}

/// Writes `frame` to a side within `timeout`.
pub(crate) async fn bounded<T, E: std::fmt::Display>(
    timeout: Duration,
    write: impl Future<Output = Result<T, E>>,
) -> Result<T, String> {
    match tokio::time::timeout(timeout, write).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err(format!("no progress in {timeout:?}")),
    }
}
