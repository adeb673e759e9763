//! The serve loop: accepts WebSocket connections on a listener, runs a machine per
//! connection, caps how many run at once, and shuts them all down gracefully.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use proto_core::{Close, Machine, close_code};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::handshake::server::{
    ErrorResponse, NoCallback, Request, Response,
};
use tokio_tungstenite::tungstenite::http::StatusCode;

use crate::driver::{Driver, Shutdown};
use crate::outbound::Backpressure;
use crate::ws::{self, WsConfig, WsTransport};

/// How many refusals (503 answers to connections over the cap) may be in progress at
/// once; connections past that are dropped without an answer.
const MAX_REFUSING: usize = 64;

/// How long to wait before accepting again after the listener failed (out of file
/// descriptors, say), so a persistent failure does not spin.
const ACCEPT_RETRY: Duration = Duration::from_millis(50);

/// How [`serve`] runs its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeConfig {
    /// The most connections served at once, handshakes included; one more is
    /// refused at the HTTP upgrade with 503 Service Unavailable.
    pub max_connections: usize,
    /// The WebSocket layer's bounds and buffers, per connection.
    pub ws: WsConfig,
    /// Each driver's policy towards a slow peer.
    pub backpressure: Backpressure,
    /// How long a peer has to complete the WebSocket handshake (or to hear its 503).
    pub handshake_timeout: Duration,
    /// How long shutting down waits for connections to close after telling them to;
    /// those still open then are dropped.
    pub shutdown_timeout: Duration,
}

impl ServeConfig {
    /// 1024 connections, the WebSocket layer as `ws` says, the default
    /// [`Backpressure`], 10 s to finish a handshake, 5 s to shut down.
    pub fn new(ws: WsConfig) -> Self {
        ServeConfig {
            max_connections: 1024,
            ws,
            backpressure: Backpressure::default(),
            handshake_timeout: Duration::from_secs(10),
            shutdown_timeout: Duration::from_secs(5),
        }
    }
}

impl Default for ServeConfig {
    /// [`ServeConfig::new`] with the default [`WsConfig`].
    fn default() -> Self {
        ServeConfig::new(WsConfig::default())
    }
}

/// What a [`serve`] run did, returned once it has shut down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ServeSummary {
    /// Connections that completed the handshake and were handed to the application.
    pub served: u64,
    /// Connections refused with 503 (or dropped) because the cap was reached.
    pub refused: u64,
    /// Connections still open when the shutdown timeout ran out, and dropped.
    pub dropped_at_shutdown: usize,
}

/// The driver [`serve`] hands the application for each connection.
pub type ServedDriver<M> = Driver<M, WsTransport<TcpStream>>;

/// Serves WebSocket connections accepted on `listener` until `shutdown` completes.
///
/// Each accepted connection gets a machine from `new_machine` (given the peer's
/// address) and a [`Driver`] with `config`'s backpressure and `close` as its way to
/// close the machine; a clone of `app` receives the driver, once the handshake is
/// done, and runs the connection, typically
/// `while let Some(activity) = driver.next().await`. Over
/// [`max_connections`](ServeConfig::max_connections), a connection is answered
/// 503 at the HTTP upgrade.
///
/// When `shutdown` completes, no more connections are accepted, every connection
/// is closed with 1001 through its machine, and `serve` waits for the
/// applications to finish for at most
/// [`shutdown_timeout`](ServeConfig::shutdown_timeout) before dropping the rest.
/// A failing `accept` (out of descriptors, say) is retried after a short pause.
pub async fn serve<M, N, C, A, Fut>(
    listener: TcpListener,
    config: ServeConfig,
    mut new_machine: N,
    close: C,
    app: A,
    shutdown: impl Future<Output = ()>,
) -> ServeSummary
where
    M: Machine + Send + 'static,
    N: FnMut(SocketAddr) -> M,
    C: Fn(&mut M, Close) + Clone + Send + 'static,
    A: FnOnce(ServedDriver<M>) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let going_away = Shutdown::new();
    let mut connections = JoinSet::new();
    let mut refusals = JoinSet::new();
    let mut summary = ServeSummary::default();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            Some(_) = connections.join_next() => continue,
            Some(_) = refusals.join_next() => continue,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(_) => {
                tokio::time::sleep(ACCEPT_RETRY).await;
                continue;
            }
        };
        if connections.len() >= config.max_connections {
            summary.refused += 1;
            if refusals.len() < MAX_REFUSING {
                refusals.spawn(refuse(stream, config.handshake_timeout));
            }
            continue;
        }
        summary.served += 1;
        let machine = new_machine(peer);
        let close = close.clone();
        let signal = going_away.signal();
        let opened = async move {
            stream.set_nodelay(true)?;
            let handshake = ws::accept_with_config(stream, &config.ws, NoCallback);
            let transport = tokio::time::timeout(config.handshake_timeout, handshake)
                .await
                .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))?
                .map_err(io::Error::other)?;
            Ok::<_, io::Error>(
                Driver::new(machine, transport)
                    .with_backpressure(config.backpressure)
                    .with_close(close)
                    .with_shutdown(signal),
            )
        };
        let app = app.clone();
        connections.spawn(async move {
            // A failed handshake ends the connection quietly: the peer went away or
            // was not speaking WebSocket.
            if let Ok(driver) = opened.await {
                app(driver).await;
            }
        });
    }
    going_away.close_all(Close::new(close_code::GOING_AWAY, "server shutting down"));
    refusals.abort_all();
    let drained = tokio::time::timeout(config.shutdown_timeout, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        summary.dropped_at_shutdown = connections.len();
        connections.shutdown().await;
    }
    summary
}

/// Answers a connection over the cap with 503 at the HTTP upgrade, within `timeout`.
async fn refuse(stream: TcpStream, timeout: Duration) {
    let _ = tokio::time::timeout(timeout, ws::accept_with(stream, over_the_cap)).await;
}

/// The handshake callback that refuses every upgrade with 503.
// The signature is tungstenite's `Callback`.
#[allow(clippy::result_large_err)]
fn over_the_cap(_: &Request, _: Response) -> Result<Response, ErrorResponse> {
    let mut response = ErrorResponse::new(Some("too many connections".into()));
    *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    Err(response)
}
