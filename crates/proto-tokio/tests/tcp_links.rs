//! One machine over many real loopback TCP links through `TcpDriver`.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use proto_core::{Close, Input, LinkId, Machine, Output, Payload, Peer, Transmit};
use proto_tokio::{Activity, Dialer, LinkEnd, Mailbox, PeerTraffic, TcpConfig, TcpDriver, Unsent};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::codec::{Framed, LengthDelimitedCodec};

/// What the hub tells its application.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    Opened(LinkId),
    Frame(LinkId, Vec<u8>),
    Closed(LinkId),
    Tick,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("input without a link")]
struct NoLink;

/// Echoes frames that start with `echo:`, answers `close` with `bye` and a close,
/// reports everything, and ticks every `tick`.
struct Hub {
    outputs: VecDeque<Output<Seen>>,
    tick: Duration,
    next_tick: Option<Instant>,
}

impl Hub {
    fn new(tick: Duration) -> Self {
        Hub {
            outputs: VecDeque::new(),
            tick,
            next_tick: Some(Instant::now() + tick),
        }
    }

    fn send(&mut self, link: LinkId, frame: Bytes) {
        self.outputs.push_back(Output::Transmit(Transmit {
            to: Some(Peer::Link(link)),
            payload: Payload::Binary(frame),
        }));
    }
}

impl Machine for Hub {
    type Event = Seen;
    type Error = NoLink;

    fn handle_input(&mut self, _now: Instant, input: Input<'_>) -> Result<(), NoLink> {
        let seen = match input {
            Input::Opened {
                from: Some(Peer::Link(link)),
            } => Seen::Opened(link),
            Input::Received {
                from: Some(Peer::Link(link)),
                data,
            } => {
                let bytes = data.as_bytes();
                if bytes.starts_with(b"echo:") {
                    self.send(link, Bytes::copy_from_slice(bytes));
                } else if bytes == b"close" {
                    self.send(link, Bytes::from_static(b"bye"));
                    self.outputs.push_back(Output::Close {
                        peer: Some(Peer::Link(link)),
                        close: Close::new(1000, "done"),
                    });
                }
                Seen::Frame(link, bytes.to_vec())
            }
            Input::Closed {
                from: Some(Peer::Link(link)),
                ..
            } => Seen::Closed(link),
            _ => return Err(NoLink),
        };
        self.outputs.push_back(Output::Event(seen));
        Ok(())
    }

    fn handle_timeout(&mut self, now: Instant) {
        if self.next_tick.is_some_and(|at| at <= now) {
            self.next_tick = Some(now + self.tick);
            self.outputs.push_back(Output::Event(Seen::Tick));
        }
    }

    fn poll_output(&mut self) -> Option<Output<Seen>> {
        self.outputs.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.next_tick
    }
}

/// What the tap saw that the tests check.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tapped {
    Opened(LinkId, bool),
    Ended(LinkId, LinkEnd),
    Unsent(Option<Peer>, Unsent),
}

/// A hub driven in its own task, with handles to reach it.
struct Running {
    addr: SocketAddr,
    mailbox: Mailbox<Hub>,
    dialer: Dialer,
    activity: mpsc::UnboundedReceiver<Activity<Seen, NoLink>>,
    tapped: Arc<Mutex<Vec<Tapped>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Running {
    /// The next activity that is not a tick.
    async fn next(&mut self) -> Activity<Seen, NoLink> {
        loop {
            match self.activity.recv().await {
                Some(Activity::Event(Seen::Tick)) => {}
                Some(activity) => return activity,
                None => panic!("the driver stopped"),
            }
        }
    }

    async fn next_event(&mut self) -> Seen {
        match self.next().await {
            Activity::Event(seen) => seen,
            other => panic!("{other:?}"),
        }
    }

    /// Counts ticks until `n` have arrived, passing over other activity.
    async fn ticks(&mut self, n: usize) -> Vec<Activity<Seen, NoLink>> {
        let mut others = Vec::new();
        let mut ticks = 0;
        while ticks < n {
            match self.activity.recv().await {
                Some(Activity::Event(Seen::Tick)) => ticks += 1,
                Some(other) => others.push(other),
                None => panic!("the driver stopped"),
            }
        }
        others
    }

    fn tapped(&self) -> Vec<Tapped> {
        self.tapped.lock().unwrap().clone()
    }
}

async fn start(config: TcpConfig) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let tapped = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&tapped);
    let mut driver = TcpDriver::new(Hub::new(Duration::from_millis(20)), config)
        .listen(listener)
        .with_tap(move |traffic| {
            let tapped = match traffic {
                PeerTraffic::Opened { link, dialled, .. } => Tapped::Opened(link, dialled),
                PeerTraffic::Ended { link, reason } => Tapped::Ended(link, reason.clone()),
                PeerTraffic::Unsent { to, reason } => Tapped::Unsent(to, reason),
                _ => return,
            };
            log.lock().unwrap().push(tapped);
        });
    assert_eq!(driver.local_addr().unwrap().unwrap(), addr);
    let mailbox = driver.mailbox();
    let dialer = driver.dialer();
    let (tx, activity) = mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        while let Some(activity) = driver.next().await {
            if tx.send(activity).is_err() {
                return;
            }
        }
    });
    Running {
        addr,
        mailbox,
        dialer,
        activity,
        tapped,
        task,
    }
}

type Peer4 = Framed<TcpStream, LengthDelimitedCodec>;

async fn connect(addr: SocketAddr) -> Peer4 {
    Framed::new(
        TcpStream::connect(addr).await.unwrap(),
        LengthDelimitedCodec::new(),
    )
}

async fn recv(peer: &mut Peer4) -> Option<Vec<u8>> {
    peer.next().await.map(|frame| frame.unwrap().to_vec())
}

/// Runs a test body with a bound, so a hang fails instead of waiting forever.
async fn bounded<F: std::future::Future<Output = ()>>(body: F) {
    tokio::time::timeout(Duration::from_secs(20), body)
        .await
        .expect("the test took too long");
}

#[tokio::test]
async fn many_links_accepted_and_dialled_are_routed_by_link() {
    bounded(async {
        let mut hub = start(TcpConfig::default()).await;
        let mut peers = Vec::new();
        for i in 0..5u64 {
            peers.push(connect(hub.addr).await);
            assert_eq!(hub.next_event().await, Seen::Opened(LinkId(i)));
        }
        for (i, peer) in peers.iter_mut().enumerate().rev() {
            let frame = format!("echo:{i}");
            peer.send(Bytes::from(frame.clone())).await.unwrap();
            assert_eq!(
                hub.next_event().await,
                Seen::Frame(LinkId(i as u64), frame.clone().into_bytes())
            );
            assert_eq!(recv(peer).await.unwrap(), frame.into_bytes());
        }

        // Dialled links: one through the Dialer handle, the machine then sends on it.
        let remote = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let remote_addr = remote.local_addr().unwrap();
        let (dialled, accepted) = tokio::join!(hub.dialer.dial(remote_addr), remote.accept());
        let dialled = dialled.unwrap();
        assert_eq!(dialled, LinkId(5));
        assert_eq!(hub.next_event().await, Seen::Opened(LinkId(5)));
        let mut remote_peer = Framed::new(accepted.unwrap().0, LengthDelimitedCodec::new());
        hub.mailbox
            .send(move |hub, _| hub.send(dialled, Bytes::from_static(b"hello dialled")))
            .await
            .unwrap();
        assert_eq!(recv(&mut remote_peer).await.unwrap(), b"hello dialled");
        // The raw bytes on the wire: a 4-byte big-endian length, then the frame.
        let mut raw = remote_peer.into_inner();
        hub.mailbox
            .send(move |hub, _| hub.send(dialled, Bytes::from_static(b"abc")))
            .await
            .unwrap();
        let mut wire = [0u8; 7];
        tokio::io::AsyncReadExt::read_exact(&mut raw, &mut wire)
            .await
            .unwrap();
        assert_eq!(&wire, b"\0\0\0\x03abc");

        // A dial nobody answers fails without disturbing the rest.
        let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let nowhere = closed.local_addr().unwrap();
        drop(closed);
        let refused = hub.dialer.dial(nowhere).await.unwrap_err();
        assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
        peers[0]
            .send(Bytes::from_static(b"echo:still"))
            .await
            .unwrap();
        assert_eq!(recv(&mut peers[0]).await.unwrap(), b"echo:still");

        let opened: Vec<_> = hub
            .tapped()
            .into_iter()
            .filter(|t| matches!(t, Tapped::Opened(..)))
            .collect();
        assert_eq!(opened.len(), 6);
        assert_eq!(opened[5], Tapped::Opened(LinkId(5), true));
        assert_eq!(opened[0], Tapped::Opened(LinkId(0), false));
    })
    .await;
}

#[tokio::test]
async fn the_machine_closes_one_link_after_its_last_frame() {
    bounded(async {
        let mut hub = start(TcpConfig::default()).await;
        let mut first = connect(hub.addr).await;
        let mut second = connect(hub.addr).await;
        hub.next_event().await;
        hub.next_event().await;
        first.send(Bytes::from_static(b"close")).await.unwrap();
        assert_eq!(
            hub.next_event().await,
            Seen::Frame(LinkId(0), b"close".to_vec())
        );
        assert_eq!(recv(&mut first).await.unwrap(), b"bye");
        assert_eq!(recv(&mut first).await, None, "the stream ends");
        second.send(Bytes::from_static(b"echo:2")).await.unwrap();
        assert_eq!(
            hub.next_event().await,
            Seen::Frame(LinkId(1), b"echo:2".to_vec())
        );
        assert_eq!(recv(&mut second).await.unwrap(), b"echo:2");
        // The machine is not told of its own close; a send on the closed link is unsent.
        hub.mailbox
            .send(|hub, _| hub.send(LinkId(0), Bytes::from_static(b"late")))
            .await
            .unwrap();
        hub.ticks(1).await;
        assert_eq!(
            hub.tapped()[2..],
            [
                Tapped::Ended(LinkId(0), LinkEnd::Local(Close::new(1000, "done"))),
                Tapped::Unsent(Some(Peer::Link(LinkId(0))), Unsent::NoRoute),
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn a_peer_that_stops_reading_overflows_its_queue_alone() {
    bounded(async {
        let config = TcpConfig {
            queue_bytes: 256 << 10,
            ..TcpConfig::default()
        };
        let mut hub = start(config).await;
        let stalled = TcpStream::connect(hub.addr).await.unwrap();
        let mut healthy = connect(hub.addr).await;
        hub.next_event().await;
        hub.next_event().await;
        // 16 MiB for a peer that reads nothing: more than the socket buffers and the
        // queue together.
        hub.mailbox
            .send(|hub, _| {
                for _ in 0..256 {
                    hub.send(LinkId(0), Bytes::from(vec![7u8; 64 << 10]));
                }
            })
            .await
            .unwrap();
        assert_eq!(hub.next_event().await, Seen::Closed(LinkId(0)));
        let ended = hub.tapped().into_iter().find_map(|t| match t {
            Tapped::Ended(LinkId(0), reason) => Some(reason),
            _ => None,
        });
        assert!(
            matches!(ended, Some(LinkEnd::QueueFull { bytes, .. }) if bytes <= 256 << 10),
            "{ended:?}"
        );
        // Timers and the other link carry on.
        hub.ticks(3).await;
        healthy.send(Bytes::from_static(b"echo:ok")).await.unwrap();
        assert_eq!(recv(&mut healthy).await.unwrap(), b"echo:ok");
        drop(stalled);
    })
    .await;
}

#[tokio::test]
async fn a_write_that_makes_no_progress_closes_its_link() {
    bounded(async {
        let config = TcpConfig {
            queue_bytes: 64 << 20,
            write_stall: Duration::from_millis(200),
            ..TcpConfig::default()
        };
        let mut hub = start(config).await;
        let stalled = TcpStream::connect(hub.addr).await.unwrap();
        let mut healthy = connect(hub.addr).await;
        hub.next_event().await;
        hub.next_event().await;
        let started = Instant::now();
        hub.mailbox
            .send(|hub, _| {
                for _ in 0..256 {
                    hub.send(LinkId(0), Bytes::from(vec![7u8; 64 << 10]));
                }
            })
            .await
            .unwrap();
        // While the writer waits, ticks and the other link go on.
        let during = hub.ticks(3).await;
        assert!(during.is_empty(), "{during:?}");
        healthy.send(Bytes::from_static(b"echo:ok")).await.unwrap();
        assert_eq!(recv(&mut healthy).await.unwrap(), b"echo:ok");
        assert_eq!(
            hub.next_event().await,
            Seen::Frame(LinkId(1), b"echo:ok".to_vec())
        );
        assert_eq!(hub.next_event().await, Seen::Closed(LinkId(0)));
        assert!(started.elapsed() >= Duration::from_millis(200));
        assert!(hub.tapped().contains(&Tapped::Ended(
            LinkId(0),
            LinkEnd::WriteStalled(Duration::from_millis(200))
        )));
        drop(stalled);
    })
    .await;
}

#[tokio::test]
async fn an_oversize_length_prefix_closes_that_link_only() {
    bounded(async {
        let config = TcpConfig {
            max_frame_len: 1024,
            ..TcpConfig::default()
        };
        let mut hub = start(config).await;
        let mut liar = TcpStream::connect(hub.addr).await.unwrap();
        let mut honest = connect(hub.addr).await;
        hub.next_event().await;
        hub.next_event().await;
        liar.write_all(&[0xff, 0xff, 0xff, 0xff, b'x'])
            .await
            .unwrap();
        assert_eq!(hub.next_event().await, Seen::Closed(LinkId(0)));
        assert!(hub.tapped().contains(&Tapped::Ended(
            LinkId(0),
            LinkEnd::FrameTooLarge {
                len: 0xffff_ffff,
                max: 1024
            }
        )));
        // The liar's connection is gone.
        let mut rest = Vec::new();
        let read = tokio::io::AsyncReadExt::read_to_end(&mut liar, &mut rest).await;
        assert!(read.is_err() || rest.is_empty(), "{read:?} {rest:?}");

        // Exactly the maximum passes; one byte more is refused before it is read.
        let max = Bytes::from(vec![b'e'; 1024]);
        honest.send(max.clone()).await.unwrap();
        assert_eq!(hub.next_event().await, Seen::Frame(LinkId(1), max.to_vec()));
        let mut over = connect(hub.addr).await;
        assert_eq!(hub.next_event().await, Seen::Opened(LinkId(2)));
        over.send(Bytes::from(vec![0u8; 1025])).await.unwrap();
        assert_eq!(hub.next_event().await, Seen::Closed(LinkId(2)));
        // And the machine's own frames over the maximum are never sent.
        hub.mailbox
            .send(|hub, _| hub.send(LinkId(1), Bytes::from(vec![0u8; 1025])))
            .await
            .unwrap();
        hub.ticks(1).await;
        assert!(hub.tapped().contains(&Tapped::Unsent(
            Some(Peer::Link(LinkId(1))),
            Unsent::TooLarge {
                len: 1025,
                max: 1024
            }
        )));
    })
    .await;
}

#[tokio::test]
async fn a_stream_ending_inside_a_frame_is_reported_truncated() {
    bounded(async {
        let mut hub = start(TcpConfig::default()).await;
        let mut peer = TcpStream::connect(hub.addr).await.unwrap();
        hub.next_event().await;
        peer.write_all(&[0, 0, 0, 9, b'p', b'a', b'r'])
            .await
            .unwrap();
        peer.shutdown().await.unwrap();
        assert_eq!(hub.next_event().await, Seen::Closed(LinkId(0)));
        assert!(hub.tapped().contains(&Tapped::Ended(
            LinkId(0),
            LinkEnd::Truncated { buffered: 7 }
        )));

        let peer = connect(hub.addr).await;
        hub.next_event().await;
        drop(peer);
        assert_eq!(hub.next_event().await, Seen::Closed(LinkId(1)));
        assert!(
            hub.tapped()
                .contains(&Tapped::Ended(LinkId(1), LinkEnd::PeerClosed))
        );
    })
    .await;
}

#[tokio::test]
async fn dial_on_the_driver_keeps_the_machine_running_and_next_ends_when_idle() {
    bounded(async {
        let remote = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let remote_addr = remote.local_addr().unwrap();
        let mut driver = TcpDriver::new(Hub::new(Duration::from_millis(10)), TcpConfig::default());
        let (link, accepted) = tokio::join!(driver.dial(remote_addr), remote.accept());
        let link = link.unwrap();
        assert_eq!(driver.links().collect::<Vec<_>>(), [link]);
        let mut remote_peer = Framed::new(accepted.unwrap().0, LengthDelimitedCodec::new());
        assert_eq!(
            driver.next().await,
            Some(Activity::Event(Seen::Opened(link)))
        );
        remote_peer
            .send(Bytes::from_static(b"close"))
            .await
            .unwrap();
        let mut seen = Vec::new();
        while let Some(Activity::Event(event)) = driver.next().await {
            if event != Seen::Tick {
                seen.push(event);
            }
            if seen.len() == 1 {
                break;
            }
        }
        assert_eq!(seen, [Seen::Frame(link, b"close".to_vec())]);
        assert_eq!(recv(&mut remote_peer).await.unwrap(), b"bye");
        assert_eq!(recv(&mut remote_peer).await, None);
        assert_eq!(driver.links().count(), 0);

        // With no listener, no link, no dialer and no timer, next says so.
        driver.machine().next_tick = None;
        assert_eq!(driver.next().await, None);
        let refused = driver
            .machine()
            .handle_input(Instant::now(), Input::opened());
        assert_eq!(refused, Err(NoLink));
    })
    .await;
}

#[tokio::test]
async fn frames_keep_flowing_when_the_inbound_allowance_is_one_frame() {
    bounded(async {
        let config = TcpConfig {
            max_frame_len: 1024,
            inbound_bytes: 0,
            max_links: 2,
            ..TcpConfig::default()
        };
        let mut hub = start(config).await;
        let mut peer = connect(hub.addr).await;
        hub.next_event().await;
        for i in 0..50u8 {
            peer.feed(Bytes::from(vec![i; 1000])).await.unwrap();
        }
        SinkExt::<Bytes>::flush(&mut peer).await.unwrap();
        for i in 0..50u8 {
            assert_eq!(
                hub.next_event().await,
                Seen::Frame(LinkId(0), vec![i; 1000])
            );
        }

        // Past the maximum of links, connections are turned away.
        let _second = connect(hub.addr).await;
        assert_eq!(hub.next_event().await, Seen::Opened(LinkId(1)));
        let mut third = connect(hub.addr).await;
        assert_eq!(recv(&mut third).await, None);
        let remote = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (dialled, _) = tokio::join!(
            hub.dialer.dial(remote.local_addr().unwrap()),
            remote.accept()
        );
        assert_eq!(
            dialled.unwrap_err().to_string(),
            "the driver already has its maximum of 2 links"
        );
    })
    .await;
}
