//! Tests' harness: a proxy run in-process on loopback, with what it printed and
//! recorded collected, for any protocol's plug.

use std::io::{self, Write};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::capture::{self, CaptureWriter, Record};
use super::commands::{ReplayLine, replay_lines, run_proxy};
use super::proxy::{Listener, ProxyConfig};
use super::render::{Entry, Style};
use super::{Direction, Failure, FrameData, LiveProtocol, PeerOptions};

/// A buffer many writers share.
#[derive(Debug, Clone, Default)]
pub(crate) struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl SharedBuf {
    /// What was written so far, as text.
    pub(crate) fn text(&self) -> String {
        let bytes = self.0.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8(bytes).unwrap()
    }
}

impl Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A proxy of `P` running in this process.
pub(crate) struct Proxied {
    /// Where clients reach the proxy.
    pub(crate) addr: SocketAddr,
    protocol: &'static str,
    options: PeerOptions,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), Failure>>,
    entries: Arc<Mutex<Vec<Entry>>>,
    capture: SharedBuf,
}

impl Proxied {
    /// Starts `P`'s proxy on 127.0.0.1 towards `upstream`, with default bounds.
    pub(crate) async fn start<P: LiveProtocol>(upstream: &str, options: PeerOptions) -> Self {
        Self::start_with::<P>(upstream, options, ProxyConfig::new()).await
    }

    /// Starts `P`'s proxy with `config`.
    pub(crate) async fn start_with<P: LiveProtocol>(
        upstream: &str,
        options: PeerOptions,
        config: ProxyConfig,
    ) -> Self {
        let listener = Listener::bind(P::WIRE, "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let entries = Arc::new(Mutex::new(Vec::new()));
        let capture = SharedBuf::default();
        let recorder =
            CaptureWriter::new(Box::new(capture.clone()) as Box<dyn Write + Send>, P::NAME)
                .unwrap();
        let sink = entries.clone();
        let emit = Box::new(move |entry: &Entry| sink.lock().unwrap().push(entry.clone()));
        let (stop, stopped) = oneshot::channel::<()>();
        let upstream = upstream.to_owned();
        let run_options = options.clone();
        let task = tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            run_proxy::<P>(
                listener,
                &upstream,
                config,
                run_options,
                Some(recorder),
                emit,
                shutdown,
            )
            .await
        });
        Proxied {
            addr,
            protocol: P::NAME,
            options,
            stop: Some(stop),
            task,
            entries,
            capture,
        }
    }

    /// The capture's records so far.
    pub(crate) fn records(&self) -> Vec<Record> {
        capture::read(self.capture.text().as_bytes(), self.protocol).unwrap()
    }

    /// Waits (at most 5 s) until the capture satisfies `done`.
    pub(crate) async fn wait_until(&self, done: impl Fn(&[Record]) -> bool) {
        let waited = tokio::time::timeout(Duration::from_secs(5), async {
            while !done(&self.records()) {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await;
        assert!(
            waited.is_ok(),
            "the proxy never got there:\n{}",
            self.capture.text()
        );
    }

    /// Waits until conversations 1 to `n` have each carried a close both ways.
    pub(crate) async fn wait_closed(&self, n: u64) {
        self.wait_until(|records| (1..=n).all(|conn| closes(records, conn) == 2))
            .await;
    }

    /// Stops the proxy and returns what it printed and recorded.
    pub(crate) async fn finish(mut self) -> Finished {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(5), self.task)
            .await
            .expect("the proxy stops")
            .unwrap()
            .unwrap();
        let entries = self.entries.lock().unwrap().clone();
        Finished {
            protocol: self.protocol,
            options: self.options,
            entries,
            capture: self.capture.text(),
        }
    }
}

/// How many closes conversation `conn` carried.
fn closes(records: &[Record], conn: u64) -> usize {
    records
        .iter()
        .filter(|record| {
            matches!(record, Record::Frame(frame)
                if frame.conn == conn && matches!(frame.data, FrameData::Close(_)))
        })
        .count()
}

/// What a finished proxy printed and recorded.
pub(crate) struct Finished {
    protocol: &'static str,
    options: PeerOptions,
    /// Every entry, in the order printed.
    pub(crate) entries: Vec<Entry>,
    /// The capture file's text.
    pub(crate) capture: String,
}

impl Finished {
    /// The transcript lines, each without its time stamp.
    pub(crate) fn transcript(&self) -> Vec<String> {
        self.entries
            .iter()
            .flat_map(|entry| {
                Style::Transcript
                    .render(self.protocol, entry)
                    .lines()
                    .map(untimed)
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// The JSON objects, each without its `t`.
    pub(crate) fn json(&self) -> Vec<Value> {
        self.entries
            .iter()
            .map(|entry| {
                let mut value: Value =
                    serde_json::from_str(&Style::Json.render(self.protocol, entry)).unwrap();
                if let Some(object) = value.as_object_mut() {
                    object.remove("t");
                }
                value
            })
            .collect()
    }

    /// Each violation with its conversation and the kind of the entry it was
    /// found on.
    pub(crate) fn violations(&self) -> Vec<(u64, String, String)> {
        self.entries
            .iter()
            .flat_map(|entry| {
                entry.observation.violations.iter().map(|violation| {
                    (
                        entry.conn,
                        entry.observation.kind.clone(),
                        violation.clone(),
                    )
                })
            })
            .collect()
    }

    /// The frames the capture holds going `direction` in conversation `conn`.
    pub(crate) fn frames(&self, conn: u64, direction: Direction) -> Vec<FrameData> {
        capture::read(self.capture.as_bytes(), self.protocol)
            .unwrap()
            .into_iter()
            .filter_map(|record| match record {
                Record::Frame(frame) if frame.conn == conn && frame.direction == direction => {
                    Some(frame.data)
                }
                _ => None,
            })
            .collect()
    }

    /// Asserts that replaying the capture prints exactly what the proxy printed,
    /// in both styles and to the time stamp.
    pub(crate) fn assert_replay_matches<P: LiveProtocol>(&self) {
        for style in [Style::Transcript, Style::Json] {
            let live: Vec<ReplayLine> = self
                .entries
                .iter()
                .map(|entry| ReplayLine {
                    text: style.render(P::NAME, entry),
                    flagged: !entry.observation.violations.is_empty()
                        || entry.observation.value.is_err(),
                })
                .collect();
            let replayed =
                replay_lines::<P>(self.capture.as_bytes(), &self.options, style).unwrap();
            assert_eq!(replayed, live, "{style:?}");
        }
    }
}

/// A transcript line without its `[  0.123s] ` time stamp.
pub(crate) fn untimed(line: &str) -> String {
    match line.split_once("s] ") {
        Some((stamp, rest)) if stamp.starts_with('[') => rest.to_owned(),
        _ => line.to_owned(),
    }
}

/// A protocol of raw frames for testing the proxies themselves: each frame's
/// value is its bytes in hex, and a frame `bad` is a violation.
pub(crate) struct Raw<const WIRE: u8>;

/// [`Raw`] over length-prefixed TCP.
pub(crate) type RawTcp = Raw<0>;
/// [`Raw`] over UDP.
pub(crate) type RawUdp = Raw<1>;
/// [`Raw`] over WebSocket.
pub(crate) type RawWs = Raw<2>;

struct RawObserver;

impl super::Observer for RawObserver {
    fn observe(&mut self, _: std::time::Instant, frame: &super::Frame) -> super::Observation {
        let (kind, value, violations) = match &frame.data {
            FrameData::Open => ("open", Value::Null, vec![]),
            FrameData::Close(_) => ("close", Value::Null, vec![]),
            FrameData::Text(text) => ("text", Value::from(text.as_str()), vec![]),
            FrameData::Binary(bytes) => {
                let flagged = if bytes == b"bad" {
                    vec!["bad".to_owned()]
                } else {
                    vec![]
                };
                ("frame", Value::from(capture::hex(bytes)), flagged)
            }
        };
        super::Observation {
            kind: kind.to_owned(),
            value: Ok(value),
            violations,
        }
    }

    fn poll_deadline(&self) -> Option<std::time::Instant> {
        None
    }

    fn on_deadline(&mut self, _: std::time::Instant) -> Vec<String> {
        Vec::new()
    }
}

impl<const WIRE: u8> LiveProtocol for Raw<WIRE> {
    const NAME: &'static str = "raw";
    const WIRE: super::Wire = match WIRE {
        0 => super::Wire::LengthPrefixedTcp,
        1 => super::Wire::Udp,
        _ => super::Wire::WebSocket,
    };

    fn observer(_: &PeerOptions, _: std::time::Instant) -> Box<dyn super::Observer> {
        Box::new(RawObserver)
    }

    fn serve(
        _: PeerOptions,
        _: SocketAddr,
        _: super::Console,
    ) -> super::BoxFuture<Result<(), Failure>> {
        Box::pin(async { Err("raw has no server".into()) })
    }

    fn connect(
        _: PeerOptions,
        _: String,
        _: super::Console,
    ) -> super::BoxFuture<Result<(), Failure>> {
        Box::pin(async { Err("raw has no client".into()) })
    }
}
