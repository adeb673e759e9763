//! The TCP driver: one machine over many length-prefixed TCP links, accepted from a
//! listener or dialled on request, each link with its own reader, writer and bounded
//! outbound queue so that no link can stall another or the machine's timers.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use proto_core::{Close, Data, Input, Limits, LinkId, Machine, Output, Payload, Peer, Transmit};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::codec::{FramedRead, FramedWrite};

use crate::driver::{
    Activity, Call, Channel, DriverGone, MAILBOX_CAPACITY, Mailbox, next_call, sleep_until,
};
use crate::framing::{FrameCodec, FrameError};
use crate::peer_traffic::{LinkEnd, PeerTraffic, Unsent};

/// The bounds a [`TcpDriver`] keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpConfig {
    /// The largest frame accepted or sent, in bytes; a peer declaring more has its
    /// link closed.
    pub max_frame_len: usize,
    /// The most frames one link's outbound queue holds; a link that would need more is
    /// closed.
    pub queue_frames: usize,
    /// The most bytes one link's outbound queue holds; a link that would need more is
    /// closed.
    pub queue_bytes: usize,
    /// How long one write may make no progress before its link is closed.
    pub write_stall: Duration,
    /// How long a dial may take.
    pub connect_timeout: Duration,
    /// The most links open at once; connections beyond it are turned away.
    pub max_links: usize,
    /// The most bytes of received frames, over all links, waiting for the machine;
    /// links' readers wait while it is reached. Never less than one frame.
    pub inbound_bytes: usize,
}

impl TcpConfig {
    /// The defaults, with frames bounded as `limits` says.
    pub fn new(limits: &Limits) -> Self {
        TcpConfig {
            max_frame_len: limits.max_frame_len,
            ..TcpConfig::default()
        }
    }
}

impl Default for TcpConfig {
    /// 1 MiB frames (as [`Limits::default`]), 1024 frames or 4 MiB queued per link,
    /// 10 s write stalls and dials, 1024 links, 16 MiB of received frames waiting.
    fn default() -> Self {
        TcpConfig {
            max_frame_len: Limits::default().max_frame_len,
            queue_frames: 1024,
            queue_bytes: 4 << 20,
            write_stall: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(10),
            max_links: 1024,
            inbound_bytes: 16 << 20,
        }
    }
}

/// How many link events (frames, ends, finished dials) wait for the driver before the
/// links' readers wait in turn.
const EVENT_CAPACITY: usize = 1024;

/// How many dial requests from [`Dialer`]s wait before `dial` waits.
const DIAL_CAPACITY: usize = 64;

/// How long the listener rests after a failed accept (out of file descriptors, say).
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

type Tap = Box<dyn FnMut(PeerTraffic<'_>) + Send>;

/// Where the result of a dial goes.
enum DialReply {
    /// To [`TcpDriver::dial`], by its ticket.
    Ticket(u64),
    /// To a [`Dialer`].
    Channel(oneshot::Sender<io::Result<LinkId>>),
}

/// Something a link's tasks or a dial tell the driver.
enum LinkEvent {
    Frame {
        link: LinkId,
        frame: Bytes,
        /// The frame's share of [`TcpConfig::inbound_bytes`], given back once the
        /// machine has had it.
        _permit: OwnedSemaphorePermit,
    },
    Ended {
        link: LinkId,
        reason: LinkEnd,
    },
    Dialled {
        addr: SocketAddr,
        reply: DialReply,
        result: io::Result<TcpStream>,
    },
}

/// What a link's writer is asked to do.
enum Outbound {
    Frame(Bytes),
    /// Send what is queued, then end the stream.
    Close,
}

/// The driver's side of one link.
struct Link {
    outbound: mpsc::Sender<Outbound>,
    /// Bytes queued and not yet written, shared with the writer.
    queued: Arc<AtomicUsize>,
    reader: JoinHandle<()>,
    writer: JoinHandle<()>,
}

impl Drop for Link {
    fn drop(&mut self) {
        // The writer finishes on its own once its queue is closed; nobody reads for a
        // link that is gone.
        self.reader.abort();
    }
}

/// A handle other tasks use to ask a [`TcpDriver`] to dial while it runs.
#[derive(Clone)]
pub struct Dialer {
    requests: mpsc::Sender<(SocketAddr, oneshot::Sender<io::Result<LinkId>>)>,
}

impl fmt::Debug for Dialer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dialer")
            .field("closed", &self.requests.is_closed())
            .finish()
    }
}

impl Dialer {
    /// Connects to `addr` within the driver's connect timeout. Once it is up the
    /// machine has been told `Input::Opened` with the link's id, which is returned.
    pub async fn dial(&self, addr: SocketAddr) -> io::Result<LinkId> {
        let (reply, answer) = oneshot::channel();
        let gone = || io::Error::other(DriverGone);
        self.requests
            .send((addr, reply))
            .await
            .map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

/// What one turn of the driver's loop came to.
enum Turn<E, Err> {
    Activity(Activity<E, Err>),
    Idle,
    Busy,
}

/// Runs `machine` over many TCP links, framed by a 4-byte big-endian length prefix.
///
/// Links come from the listener given to [`listen`](TcpDriver::listen), from
/// [`dial`](TcpDriver::dial) or a [`Dialer`], or from
/// [`attach`](TcpDriver::attach); each gets a fresh [`LinkId`], never reused. The
/// machine hears `Input::Opened`, `Input::Received` (one `Data::Binary` per frame)
/// and `Input::Closed` with `from: Some(Peer::Link(id))`; its transmits go to the
/// link their `to` names and its closes end that link (it is not told `Closed` for
/// those). Its timers are honoured throughout.
///
/// Sending never waits: each link has a writer task behind a bounded queue
/// ([`TcpConfig::queue_frames`], [`TcpConfig::queue_bytes`]). A link whose queue
/// would overflow, whose write makes no progress for
/// [`TcpConfig::write_stall`], whose peer declares a frame over
/// [`TcpConfig::max_frame_len`], or whose stream ends or fails, is closed and the
/// machine told `Input::Closed { close: None }`. Frames are passed on as they
/// arrive; readers wait only while a thousand link events are waiting for the
/// driver, which is when the machine is the bottleneck.
pub struct TcpDriver<M: Machine> {
    machine: M,
    config: TcpConfig,
    listener: Option<TcpListener>,
    accept_paused_until: Option<Instant>,
    links: BTreeMap<LinkId, Link>,
    next_link: u64,
    events_tx: mpsc::Sender<LinkEvent>,
    events_rx: mpsc::Receiver<LinkEvent>,
    /// Bytes of received frames that may wait for the machine.
    inbound: Arc<Semaphore>,
    dials_tx: mpsc::Sender<(SocketAddr, oneshot::Sender<io::Result<LinkId>>)>,
    dials_rx: mpsc::Receiver<(SocketAddr, oneshot::Sender<io::Result<LinkId>>)>,
    dials_in_flight: usize,
    next_ticket: u64,
    dial_results: HashMap<u64, io::Result<LinkId>>,
    backlog: VecDeque<Activity<M::Event, M::Error>>,
    mailbox: Option<Channel<M>>,
    tap: Option<Tap>,
}

impl<M: Machine> fmt::Debug for TcpDriver<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpDriver")
            .field("listening", &self.listener.is_some())
            .field("links", &self.links.keys().collect::<Vec<_>>())
            .field("dials_in_flight", &self.dials_in_flight)
            .finish_non_exhaustive()
    }
}

impl<M: Machine> TcpDriver<M> {
    /// Starts driving `machine` with no links yet.
    pub fn new(machine: M, config: TcpConfig) -> Self {
        let (events_tx, events_rx) = mpsc::channel(EVENT_CAPACITY);
        let (dials_tx, dials_rx) = mpsc::channel(DIAL_CAPACITY);
        TcpDriver {
            machine,
            config,
            listener: None,
            accept_paused_until: None,
            links: BTreeMap::new(),
            next_link: 0,
            events_tx,
            events_rx,
            inbound: Arc::new(Semaphore::new(inbound_capacity(&config))),
            dials_tx,
            dials_rx,
            dials_in_flight: 0,
            next_ticket: 0,
            dial_results: HashMap::new(),
            backlog: VecDeque::new(),
            mailbox: None,
            tap: None,
        }
    }

    /// Accepts links from `listener` while running.
    pub fn listen(mut self, listener: TcpListener) -> Self {
        self.listener = Some(listener);
        self
    }

    /// Shows every link opening and ending, every frame and every unsent transmit to
    /// `tap`.
    pub fn with_tap(mut self, tap: impl FnMut(PeerTraffic<'_>) + Send + 'static) -> Self {
        self.tap = Some(Box::new(tap));
        self
    }

    /// The listener's address, if listening.
    pub fn local_addr(&self) -> Option<io::Result<SocketAddr>> {
        self.listener.as_ref().map(TcpListener::local_addr)
    }

    /// The machine, for application calls; the next call to
    /// [`next`](TcpDriver::next) carries out what they produce.
    pub fn machine(&mut self) -> &mut M {
        &mut self.machine
    }

    /// Stops driving and returns the machine; every link is dropped.
    pub fn into_machine(self) -> M {
        self.machine
    }

    /// The links open now.
    pub fn links(&self) -> impl Iterator<Item = LinkId> + '_ {
        self.links.keys().copied()
    }

    /// A handle for other tasks to call the machine through while this driver runs.
    pub fn mailbox(&mut self) -> Mailbox<M> {
        let calls = self
            .mailbox
            .get_or_insert_with(|| mpsc::channel(MAILBOX_CAPACITY))
            .0
            .clone();
        Mailbox { calls }
    }

    /// A handle for other tasks to dial through while this driver runs.
    pub fn dialer(&self) -> Dialer {
        Dialer {
            requests: self.dials_tx.clone(),
        }
    }

    /// Connects to `addr` within [`TcpConfig::connect_timeout`], running the machine
    /// (links, timers, mailbox) meanwhile; what that produces for the application
    /// waits for [`next`](TcpDriver::next). Once the link is up the machine has been
    /// told `Input::Opened`, and its id is returned.
    pub async fn dial(&mut self, addr: SocketAddr) -> io::Result<LinkId> {
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        self.start_dial(addr, DialReply::Ticket(ticket));
        loop {
            if let Some(result) = self.dial_results.remove(&ticket) {
                return result;
            }
            match self.turn().await {
                Turn::Activity(activity) => self.backlog.push_back(activity),
                Turn::Busy => {}
                // A dial in flight keeps the driver busy; this is never reached.
                Turn::Idle => return Err(io::Error::other("the driver stopped mid-dial")),
            }
        }
    }

    /// Takes an already connected stream as a new link (the machine is told
    /// `Input::Opened`) and returns its id. Fails, dropping the stream, when its peer
    /// address cannot be read or the driver already has [`TcpConfig::max_links`]
    /// links.
    pub fn attach(&mut self, stream: TcpStream) -> io::Result<LinkId> {
        let addr = stream.peer_addr()?;
        self.register(stream, addr, false)
            .ok_or_else(|| too_many_links(&self.config))
    }

    /// Runs until the machine has something for the application, or returns `None`
    /// once nothing is left to happen: no listener, no link, no dial in flight or
    /// possible from a [`Dialer`], and no timer.
    pub async fn next(&mut self) -> Option<Activity<M::Event, M::Error>> {
        loop {
            if let Some(activity) = self.backlog.pop_front() {
                return Some(activity);
            }
            match self.turn().await {
                Turn::Activity(activity) => return Some(activity),
                Turn::Idle => return None,
                Turn::Busy => {}
            }
        }
    }

    async fn turn(&mut self) -> Turn<M::Event, M::Error> {
        if let Some(event) = self.flush() {
            return Turn::Activity(Activity::Event(event));
        }
        if let Some(activity) = self.backlog.pop_front() {
            return Turn::Activity(activity);
        }
        let timer = self.machine.poll_timeout();
        let dialers = self.dials_tx.strong_count() > 1;
        if self.listener.is_none()
            && self.links.is_empty()
            && self.dials_in_flight == 0
            && !dialers
            && timer.is_none()
        {
            return Turn::Idle;
        }
        let wake = tokio::select! {
            Some(event) = self.events_rx.recv() => Wake::Link(event),
            accepted = accept(self.listener.as_ref(), self.accept_paused_until) => Wake::Accepted(accepted),
            () = sleep_until(timer) => Wake::Timer,
            call = next_call(&mut self.mailbox) => Wake::Call(call),
            Some((addr, reply)) = self.dials_rx.recv() => Wake::Dial(addr, reply),
        };
        let now = Instant::now();
        match wake {
            Wake::Link(LinkEvent::Frame { link, frame, .. }) => {
                if !self.links.contains_key(&link) {
                    return Turn::Busy;
                }
                let from = Peer::Link(link);
                if let Some(tap) = &mut self.tap {
                    tap(PeerTraffic::Received {
                        from,
                        bytes: &frame,
                    });
                }
                let input = Input::Received {
                    from: Some(from),
                    data: Data::Binary(&frame),
                };
                if let Err(error) = self.machine.handle_input(now, input) {
                    return Turn::Activity(Activity::Refused(error));
                }
            }
            Wake::Link(LinkEvent::Ended { link, reason }) => self.end(link, reason),
            Wake::Link(LinkEvent::Dialled {
                addr,
                reply,
                result,
            }) => {
                self.dials_in_flight = self.dials_in_flight.saturating_sub(1);
                let result = result.and_then(|stream| {
                    self.register(stream, addr, true)
                        .ok_or_else(|| too_many_links(&self.config))
                });
                match reply {
                    DialReply::Ticket(ticket) => {
                        self.dial_results.insert(ticket, result);
                    }
                    DialReply::Channel(reply) => {
                        let _ = reply.send(result);
                    }
                }
            }
            Wake::Accepted(Ok((stream, addr))) => {
                self.accept_paused_until = None;
                if self.register(stream, addr, false).is_none() {
                    if let Some(tap) = &mut self.tap {
                        tap(PeerTraffic::TurnedAway { addr });
                    }
                }
            }
            Wake::Accepted(Err(error)) => {
                self.accept_paused_until = Some(now + ACCEPT_PAUSE);
                if let Some(tap) = &mut self.tap {
                    tap(PeerTraffic::ReceiveFailed(error.kind()));
                }
            }
            Wake::Timer => self.machine.handle_timeout(now),
            Wake::Call(call) => call(&mut self.machine, now),
            Wake::Dial(addr, reply) => self.start_dial(addr, DialReply::Channel(reply)),
        }
        Turn::Busy
    }

    fn start_dial(&mut self, addr: SocketAddr, reply: DialReply) {
        self.dials_in_flight += 1;
        let events = self.events_tx.clone();
        let limit = self.config.connect_timeout;
        tokio::spawn(async move {
            let result = match tokio::time::timeout(limit, TcpStream::connect(addr)).await {
                Ok(result) => result,
                Err(_) => Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("no connection to {addr} within {limit:?}"),
                )),
            };
            let _ = events
                .send(LinkEvent::Dialled {
                    addr,
                    reply,
                    result,
                })
                .await;
        });
    }

    /// Starts a link's reader and writer and tells the machine it is open.
    fn register(&mut self, stream: TcpStream, addr: SocketAddr, dialled: bool) -> Option<LinkId> {
        if self.links.len() >= self.config.max_links {
            return None;
        }
        // Frames are small and latency matters more than packet count.
        let _ = stream.set_nodelay(true);
        let link = LinkId(self.next_link);
        self.next_link += 1;
        let (read, write) = stream.into_split();
        let (outbound, queue) = mpsc::channel(self.config.queue_frames.max(1));
        let queued = Arc::new(AtomicUsize::new(0));
        let reader = tokio::spawn(read_link(
            FramedRead::new(read, FrameCodec::new(self.config.max_frame_len)),
            link,
            self.events_tx.clone(),
            Arc::clone(&self.inbound),
            inbound_capacity(&self.config),
        ));
        let writer = tokio::spawn(write_link(
            FramedWrite::new(write, FrameCodec::new(self.config.max_frame_len)),
            queue,
            Arc::clone(&queued),
            self.config.write_stall,
            link,
            self.events_tx.clone(),
        ));
        self.links.insert(
            link,
            Link {
                outbound,
                queued,
                reader,
                writer,
            },
        );
        if let Some(tap) = &mut self.tap {
            tap(PeerTraffic::Opened {
                link,
                addr,
                dialled,
            });
        }
        let opened = Input::Opened {
            from: Some(Peer::Link(link)),
        };
        if let Err(error) = self.machine.handle_input(Instant::now(), opened) {
            self.backlog.push_back(Activity::Refused(error));
        }
        Some(link)
    }

    /// A link ended without the machine closing it: drop it and tell the machine.
    fn end(&mut self, link: LinkId, reason: LinkEnd) {
        let Some(ended) = self.links.remove(&link) else {
            return;
        };
        ended.writer.abort();
        if let Some(tap) = &mut self.tap {
            tap(PeerTraffic::Ended {
                link,
                reason: &reason,
            });
        }
        let closed = Input::Closed {
            from: Some(Peer::Link(link)),
            close: None,
        };
        if let Err(error) = self.machine.handle_input(Instant::now(), closed) {
            self.backlog.push_back(Activity::Refused(error));
        }
    }

    /// Carries out the machine's outputs up to its next event. Never waits.
    fn flush(&mut self) -> Option<M::Event> {
        while let Some(output) = self.machine.poll_output() {
            match output {
                Output::Transmit(transmit) => self.send(transmit),
                Output::Event(event) => return Some(event),
                Output::Close { peer, close } => self.close(peer, close),
                // Links are dialled by the application, not reopened by the driver.
                Output::Reconnect { .. } => {}
            }
        }
        None
    }

    fn send(&mut self, transmit: Transmit) {
        let Transmit { to, payload } = transmit;
        let link = match to {
            Some(Peer::Link(link)) if self.links.contains_key(&link) => link,
            _ => return self.unsent(to, Unsent::NoRoute),
        };
        let frame = match &payload {
            Payload::Text(text) => Bytes::copy_from_slice(text.as_bytes()),
            Payload::Binary(bytes) => bytes.clone(),
            Payload::Ping(_) => return self.unsent(to, Unsent::Ping),
        };
        let (len, max) = (frame.len(), self.config.max_frame_len);
        if len > max {
            return self.unsent(to, Unsent::TooLarge { len, max });
        }
        let Some(state) = self.links.get(&link) else {
            return self.unsent(to, Unsent::NoRoute);
        };
        let queued = state.queued.load(Ordering::Acquire);
        let frames =
            self.config.queue_frames - state.outbound.capacity().min(self.config.queue_frames);
        let overflow = LinkEnd::QueueFull {
            frames,
            bytes: queued,
        };
        if queued.saturating_add(len) > self.config.queue_bytes {
            return self.end(link, overflow);
        }
        state.queued.fetch_add(len, Ordering::AcqRel);
        if state.outbound.try_send(Outbound::Frame(frame)).is_err() {
            return self.end(link, overflow);
        }
        if let Some(tap) = &mut self.tap {
            tap(PeerTraffic::Sent {
                to: Peer::Link(link),
                payload: &payload,
            });
        }
    }

    fn close(&mut self, peer: Option<Peer>, close: Close) {
        let Some(Peer::Link(link)) = peer else {
            return;
        };
        let Some(closed) = self.links.remove(&link) else {
            return;
        };
        // The writer sends what is queued, then ends the stream; with no room left to
        // ask it, the link is cut at once.
        if closed.outbound.try_send(Outbound::Close).is_err() {
            closed.writer.abort();
        }
        if let Some(tap) = &mut self.tap {
            tap(PeerTraffic::Ended {
                link,
                reason: &LinkEnd::Local(close),
            });
        }
    }

    fn unsent(&mut self, to: Option<Peer>, reason: Unsent) {
        if let Some(tap) = &mut self.tap {
            tap(PeerTraffic::Unsent { to, reason });
        }
    }
}

enum Wake<M> {
    Link(LinkEvent),
    Accepted(io::Result<(TcpStream, SocketAddr)>),
    Timer,
    Call(Call<M>),
    Dial(SocketAddr, oneshot::Sender<io::Result<LinkId>>),
}

fn too_many_links(config: &TcpConfig) -> io::Error {
    io::Error::other(format!(
        "the driver already has its maximum of {} links",
        config.max_links
    ))
}

/// How many bytes of received frames may wait: as configured, but at least one
/// maximal frame, and within what a semaphore and one acquisition can count.
fn inbound_capacity(config: &TcpConfig) -> usize {
    let u32_max = usize::try_from(u32::MAX).unwrap_or(usize::MAX);
    config
        .inbound_bytes
        .max(config.max_frame_len)
        .min(Semaphore::MAX_PERMITS)
        .min(u32_max)
}

async fn accept(
    listener: Option<&TcpListener>,
    paused_until: Option<Instant>,
) -> io::Result<(TcpStream, SocketAddr)> {
    let Some(listener) = listener else {
        return std::future::pending().await;
    };
    if let Some(at) = paused_until {
        tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await;
    }
    listener.accept().await
}

/// Passes a link's frames to the driver until the stream ends or breaks.
async fn read_link(
    mut frames: FramedRead<OwnedReadHalf, FrameCodec>,
    link: LinkId,
    events: mpsc::Sender<LinkEvent>,
    inbound: Arc<Semaphore>,
    capacity: usize,
) {
    let reason = loop {
        match frames.next().await {
            Some(Ok(frame)) => {
                let frame = frame.freeze();
                // The allowance holds one maximal frame wherever a semaphore can
                // count that much; elsewhere a larger frame waits for all of it.
                let share = u32::try_from(frame.len().min(capacity)).unwrap_or(u32::MAX);
                let Ok(_permit) = Arc::clone(&inbound).acquire_many_owned(share).await else {
                    return;
                };
                let event = LinkEvent::Frame {
                    link,
                    frame,
                    _permit,
                };
                if events.send(event).await.is_err() {
                    return;
                }
            }
            Some(Err(FrameError::TooLarge { len, max })) => {
                break LinkEnd::FrameTooLarge { len, max };
            }
            Some(Err(FrameError::Truncated { buffered })) => break LinkEnd::Truncated { buffered },
            Some(Err(FrameError::Io(error))) => break LinkEnd::Io(error.kind()),
            None => break LinkEnd::PeerClosed,
        }
    };
    let _ = events.send(LinkEvent::Ended { link, reason }).await;
}

/// Writes a link's queued frames, each within `stall`, until asked to close or the
/// queue is dropped.
async fn write_link(
    mut sink: FramedWrite<OwnedWriteHalf, FrameCodec>,
    mut queue: mpsc::Receiver<Outbound>,
    queued: Arc<AtomicUsize>,
    stall: Duration,
    link: LinkId,
    events: mpsc::Sender<LinkEvent>,
) {
    while let Some(outbound) = queue.recv().await {
        let Outbound::Frame(frame) = outbound else {
            break;
        };
        let len = frame.len();
        let written = tokio::time::timeout(stall, sink.send(frame)).await;
        queued.fetch_sub(len, Ordering::AcqRel);
        let reason = match written {
            Ok(Ok(())) => continue,
            Ok(Err(FrameError::Io(error))) => LinkEnd::Io(error.kind()),
            // The driver checks lengths before queueing, so this is never reached.
            Ok(Err(FrameError::TooLarge { .. } | FrameError::Truncated { .. })) => {
                LinkEnd::Io(io::ErrorKind::InvalidInput)
            }
            Err(_) => LinkEnd::WriteStalled(stall),
        };
        let _ = events.send(LinkEvent::Ended { link, reason }).await;
        return;
    }
    // Let the peer see the end of the stream.
    let _ = tokio::time::timeout(stall, SinkExt::<Bytes>::close(&mut sink)).await;
}
