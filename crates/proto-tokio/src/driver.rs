//! The driver: runs one machine over one transport, honouring its timers and
//! reconnecting when it asks, with backpressure towards a slow peer.

use std::fmt;
use std::future::{Future, poll_fn};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use proto_core::{Close, Data, Input, Machine, Output, Payload, close_code};

use tokio::sync::{mpsc, watch};

use crate::outbound::{Backpressure, OutboundQueue};
use crate::transport::{Incoming, Transport};

/// What [`Driver::next`] hands the application.
#[derive(Debug, Clone, PartialEq)]
pub enum Activity<E, Err> {
    /// The machine emitted an event.
    Event(E),
    /// The machine refused an input; it has already answered as its protocol says.
    Refused(Err),
}

/// A frame or close crossing the transport, shown to a tap (a transcript, a log).
#[derive(Debug, Clone, Copy)]
pub enum Traffic<'a> {
    /// The machine sent this.
    Sent(&'a Payload),
    /// This arrived.
    Received(&'a Incoming),
    /// The machine closed the connection.
    Closing(&'a Close),
    /// A new connection is up.
    Connected,
}

/// A call another task makes on a driver's machine, at the driver's `now`.
pub(crate) type Call<M> = Box<dyn FnOnce(&mut M, Instant) + Send>;

/// Both ends of a mailbox's channel.
pub(crate) type Channel<M> = (mpsc::Sender<Call<M>>, mpsc::Receiver<Call<M>>);

/// How many calls a [`Mailbox`] holds before [`Mailbox::send`] waits.
pub(crate) const MAILBOX_CAPACITY: usize = 256;

/// A handle other tasks use to act on a driver's machine while the driver runs:
/// a server pushing an event to every connection of a lobby, say. Calls run in
/// order, between inputs, and what they produce is sent at once.
pub struct Mailbox<M> {
    pub(crate) calls: mpsc::Sender<Call<M>>,
}

impl<M> Clone for Mailbox<M> {
    fn clone(&self) -> Self {
        Mailbox {
            calls: self.calls.clone(),
        }
    }
}

impl<M> fmt::Debug for Mailbox<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mailbox")
            .field("closed", &self.calls.is_closed())
            .finish()
    }
}

/// The driver behind a [`Mailbox`] has stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the driver has stopped")]
pub struct DriverGone;

impl<M> Mailbox<M> {
    /// Queues `call`, waiting while the mailbox is full.
    pub async fn send(
        &self,
        call: impl FnOnce(&mut M, Instant) + Send + 'static,
    ) -> Result<(), DriverGone> {
        self.calls
            .send(Box::new(call))
            .await
            .map_err(|_| DriverGone)
    }
}

/// Tells every driver holding one of its [`signal`](Shutdown::signal)s to close its
/// connection: a server going down says 1001 to all of its peers at once.
#[derive(Debug)]
pub struct Shutdown {
    sender: watch::Sender<Option<Close>>,
}

/// The receiving end of a [`Shutdown`], given to a driver with
/// [`Driver::with_shutdown`].
#[derive(Debug, Clone)]
pub struct ShutdownSignal {
    receiver: watch::Receiver<Option<Close>>,
}

impl Shutdown {
    /// A shutdown not yet signalled.
    pub fn new() -> Self {
        Shutdown {
            sender: watch::Sender::new(None),
        }
    }

    /// A signal for one more driver.
    pub fn signal(&self) -> ShutdownSignal {
        ShutdownSignal {
            receiver: self.sender.subscribe(),
        }
    }

    /// Closes every connection whose driver holds a signal with `close`, including
    /// drivers given a signal after this call.
    pub fn close_all(&self, close: Close) {
        self.sender.send_replace(Some(close));
    }
}

impl Default for Shutdown {
    fn default() -> Self {
        Shutdown::new()
    }
}

type Reconnect<T> = Box<dyn FnMut() -> Pin<Box<dyn Future<Output = io::Result<T>> + Send>> + Send>;
type Tap = Box<dyn FnMut(Traffic<'_>) + Send>;
type Closer<M> = Box<dyn FnMut(&mut M, Close) + Send>;

/// A close the driver decided on (a rejected frame, a stalled peer, a shutdown).
#[derive(Debug)]
enum DriverClose {
    /// To be made: through the machine if it has a closer, else directly.
    Due(Close),
    /// The machine was asked to close; if it did not, the driver closes directly.
    Asked(Close),
}

/// Runs `machine` over a transport: feeds it what arrives and the time, sends what it
/// emits, closes when it says, and hands its events to the application through
/// [`next`](Driver::next). Between calls to `next` the application may call the
/// machine directly through [`machine`](Driver::machine); the next call sends what
/// that produced.
///
/// # Backpressure
///
/// Sending never stalls the machine. Frames it emits join a bounded
/// [`OutboundQueue`] and go out while the driver keeps waiting for everything else:
/// the machine's timers fire (a heartbeat deadline, a request timeout), mailbox calls
/// run, and the peer is read. The [`Backpressure`] policy (set with
/// [`with_backpressure`](Driver::with_backpressure)) then says:
///
/// - while more than `pause_reading_above` bytes wait, the peer is not read, so a
///   peer that sends requests but does not read the answers stops being answered;
/// - a frame that would take the queue past `max_queued_bytes`, or `send_timeout`
///   passing with frames waiting and the peer taking none, closes the connection
///   with 1008;
/// - closing, whoever decides it, sends what is queued and then the close frame and
///   waits for the peer's answer for at most `close_timeout` (a stalled peer's queue
///   is dropped first), then drops the socket.
///
/// The machine's own answer comes first where it has one: its timers keep running,
/// so a peer that also stops heartbeating is closed with the protocol's code (4003
/// in litebridge) if that deadline is earlier. A frame the transport rejects
/// ([`Incoming::Rejected`], e.g. 1009 for an oversize message) is closed the same
/// way as a stall.
///
/// The driver closes *through the machine* when it is given the machine's close call
/// with [`with_close`](Driver::with_close): the machine then emits the close and
/// tells its application, as if it had decided it (in litebridge,
/// `Disconnected(Local(..))`). Without one, the driver closes the transport itself
/// and the machine hears of a lost transport ([`Input::Closed`] without a code).
/// The same policy serves any transport; the queue is a type of its own so other
/// drivers can share it.
pub struct Driver<M, T> {
    machine: M,
    transport: Option<T>,
    outbound: OutboundQueue,
    /// Frames were handed to the transport and not yet flushed.
    unflushed: bool,
    /// When the peer last took something, or frames started waiting.
    last_progress: tokio::time::Instant,
    backpressure: Backpressure,
    driver_close: Option<DriverClose>,
    closer: Option<Closer<M>>,
    shutdown: Option<ShutdownSignal>,
    reconnect_at: Option<Instant>,
    reconnect: Option<Reconnect<T>>,
    tap: Option<Tap>,
    /// Calls from other tasks; the driver keeps a sender so it never closes.
    mailbox: Option<Channel<M>>,
}

impl<M, T> fmt::Debug for Driver<M, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Driver")
            .field("connected", &self.transport.is_some())
            .field("queued_bytes", &self.outbound.queued_bytes())
            .field("reconnect_at", &self.reconnect_at)
            .finish_non_exhaustive()
    }
}

impl<M: Machine, T: Transport> Driver<M, T> {
    /// Starts driving `machine` over the already open `transport`, with the default
    /// [`Backpressure`].
    pub fn new(machine: M, transport: T) -> Self {
        let backpressure = Backpressure::default();
        let mut driver = Driver {
            machine,
            transport: None,
            outbound: OutboundQueue::new(backpressure.max_queued_bytes),
            unflushed: false,
            last_progress: tokio::time::Instant::now(),
            backpressure,
            driver_close: None,
            closer: None,
            shutdown: None,
            reconnect_at: None,
            reconnect: None,
            tap: None,
            mailbox: None,
        };
        driver.attach(transport);
        driver
    }

    /// Lets the driver open a new transport with `connect` when the machine asks to
    /// reconnect.
    pub fn with_reconnect<F, Fut>(mut self, mut connect: F) -> Self
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = io::Result<T>> + Send + 'static,
    {
        self.reconnect = Some(Box::new(move || Box::pin(connect())));
        self
    }

    /// Shows every frame and close to `tap`.
    pub fn with_tap(mut self, tap: impl FnMut(Traffic<'_>) + Send + 'static) -> Self {
        self.tap = Some(Box::new(tap));
        self
    }

    /// Replaces the default [`Backpressure`] policy.
    pub fn with_backpressure(mut self, backpressure: Backpressure) -> Self {
        self.backpressure = backpressure;
        let mut outbound = OutboundQueue::new(backpressure.max_queued_bytes);
        while let Some(transmit) = self.outbound.pop() {
            // Frames queued before the change are kept whatever the new limit.
            let _ = outbound.push(transmit);
        }
        self.outbound = outbound;
        self
    }

    /// How the machine closes its connection with a given code (for litebridge's
    /// server, `Server::close`): closes the driver decides on go through it, so the
    /// machine's application hears of them as this side's close.
    pub fn with_close(mut self, close: impl FnMut(&mut M, Close) + Send + 'static) -> Self {
        self.closer = Some(Box::new(close));
        self
    }

    /// Closes the connection with the code [`Shutdown::close_all`] gives, once it is
    /// called.
    pub fn with_shutdown(mut self, signal: ShutdownSignal) -> Self {
        self.shutdown = Some(signal);
        self
    }

    /// A handle for other tasks to call the machine through while this driver
    /// runs; every call returns a handle to the same mailbox.
    pub fn mailbox(&mut self) -> Mailbox<M> {
        let calls = self
            .mailbox
            .get_or_insert_with(|| mpsc::channel(MAILBOX_CAPACITY))
            .0
            .clone();
        Mailbox { calls }
    }

    /// The machine, for application calls.
    pub fn machine(&mut self) -> &mut M {
        &mut self.machine
    }

    /// Whether a transport is open.
    pub fn is_connected(&self) -> bool {
        self.transport.is_some()
    }

    /// Bytes of frames waiting for the peer to take them.
    pub fn queued_bytes(&self) -> usize {
        self.outbound.queued_bytes()
    }

    /// Stops driving and returns the machine.
    pub fn into_machine(self) -> M {
        self.machine
    }

    /// Runs until the machine has something for the application, or returns `None`
    /// once the connection is over for good (closed, and no reconnect to make).
    pub async fn next(&mut self) -> Option<Activity<M::Event, M::Error>> {
        loop {
            if let Some(event) = self.drain().await {
                return Some(Activity::Event(event));
            }
            if let Some(driver_close) = self.driver_close.take() {
                self.close_for_driver(driver_close).await;
                continue;
            }
            let timer = self.machine.poll_timeout();
            let reconnect_at = self
                .reconnect_at
                .filter(|_| self.transport.is_none() && self.reconnect.is_some());
            if self.transport.is_none() && timer.is_none() && reconnect_at.is_none() {
                return None;
            }
            let writing = !self.outbound.is_empty() || self.unflushed;
            let stall_at = (self.transport.is_some() && writing)
                .then(|| self.last_progress + self.backpressure.send_timeout);
            let reading = self.outbound.queued_bytes() <= self.backpressure.pause_reading_above;
            let io = Io {
                transport: &mut self.transport,
                outbound: &mut self.outbound,
                unflushed: &mut self.unflushed,
                last_progress: &mut self.last_progress,
                reading,
                pause_reading_above: self.backpressure.pause_reading_above,
            };
            let wake = tokio::select! {
                wake = io.wait() => wake,
                () = sleep_until(timer) => Wake::Timer,
                () = sleep_until_tokio(stall_at) => Wake::Stall,
                () = sleep_until(reconnect_at) => Wake::Reconnect,
                call = next_call(&mut self.mailbox) => Wake::Call(call),
                close = shutdown_requested(&mut self.shutdown) => Wake::Shutdown(close),
            };
            let now = Instant::now();
            match wake {
                Wake::Incoming(incoming) => {
                    if let Some(tap) = &mut self.tap {
                        tap(Traffic::Received(&incoming));
                    }
                    if let Err(error) = self.feed(now, incoming) {
                        return Some(Activity::Refused(error));
                    }
                }
                Wake::Wrote => {}
                Wake::Failed => self.lose_transport(),
                Wake::Timer => self.machine.handle_timeout(now),
                Wake::Stall => {
                    // The timer was set before the last progress; recheck.
                    let waiting = !self.outbound.is_empty() || self.unflushed;
                    let since = tokio::time::Instant::now() - self.last_progress;
                    if waiting && since >= self.backpressure.send_timeout {
                        // What waits will never go out.
                        self.outbound.clear();
                        self.driver_close = Some(DriverClose::Due(Close::new(
                            close_code::POLICY_VIOLATION,
                            "peer stopped reading",
                        )));
                    }
                }
                Wake::Call(call) => call(&mut self.machine, now),
                Wake::Shutdown(close) => {
                    self.shutdown = None;
                    if self.transport.is_some() {
                        self.driver_close = Some(DriverClose::Due(close));
                    }
                }
                Wake::Reconnect => {
                    self.reconnect_at = None;
                    let attempt = match &mut self.reconnect {
                        Some(connect) => connect().await,
                        None => continue,
                    };
                    match attempt {
                        Ok(transport) => self.attach(transport),
                        // The machine hears of the failed attempt as a lost
                        // transport and schedules the next one.
                        Err(_) => {
                            if let Err(error) = self
                                .machine
                                .handle_input(Instant::now(), Input::closed(None))
                            {
                                return Some(Activity::Refused(error));
                            }
                        }
                    }
                }
            }
        }
    }

    fn attach(&mut self, transport: T) {
        self.transport = Some(transport);
        self.outbound.clear();
        self.unflushed = false;
        if let Some(tap) = &mut self.tap {
            tap(Traffic::Connected);
        }
        // A machine that refuses the opening is already open; nothing to undo.
        let _ = self.machine.handle_input(Instant::now(), Input::opened());
    }

    fn feed(&mut self, now: Instant, incoming: Incoming) -> Result<(), M::Error> {
        let data = match &incoming {
            Incoming::Text(text) => Data::Text(text.as_str()),
            Incoming::Binary(bytes) => Data::Binary(bytes),
            Incoming::Pong(bytes) => Data::Pong(bytes),
            Incoming::Closed(close) => {
                self.drop_transport();
                return self.machine.handle_input(now, Input::closed(close.clone()));
            }
            Incoming::Rejected(close) => {
                self.driver_close = Some(DriverClose::Due(close.clone()));
                return Ok(());
            }
        };
        self.machine
            .handle_input(now, Input::Received { from: None, data })
    }

    /// The transport failed: drop it and tell the machine.
    fn lose_transport(&mut self) {
        self.drop_transport();
        // Whether the machine accepts the news or not, the connection is gone.
        let _ = self
            .machine
            .handle_input(Instant::now(), Input::closed(None));
    }

    fn drop_transport(&mut self) {
        self.transport = None;
        self.outbound.clear();
        self.unflushed = false;
        self.driver_close = None;
    }

    /// Makes a close the driver decided on: through the machine when it can close,
    /// else (or if it did not) directly, the machine hearing of a lost transport.
    async fn close_for_driver(&mut self, driver_close: DriverClose) {
        if self.transport.is_none() {
            return;
        }
        match (driver_close, &mut self.closer) {
            (DriverClose::Due(close), Some(closer)) => {
                closer(&mut self.machine, close.clone());
                self.driver_close = Some(DriverClose::Asked(close));
            }
            (DriverClose::Due(close) | DriverClose::Asked(close), _) => {
                if let Some(tap) = &mut self.tap {
                    tap(Traffic::Closing(&close));
                }
                self.close_transport(close).await;
                let _ = self
                    .machine
                    .handle_input(Instant::now(), Input::closed(None));
            }
        }
    }

    /// Sends what is queued and the close frame, and waits for the peer's answer, all
    /// within the close timeout; then drops the transport.
    async fn close_transport(&mut self, close: Close) {
        let Some(mut transport) = self.transport.take() else {
            return;
        };
        let outbound = &mut self.outbound;
        let closing = async {
            while let Some(transmit) = outbound.pop() {
                poll_fn(|cx| transport.poll_ready(cx)).await?;
                transport.start_send(transmit)?;
            }
            transport.start_close(close)?;
            poll_fn(|cx| transport.poll_close(cx)).await
        };
        // A peer that does not take the close in time loses the socket all the same.
        let _ = tokio::time::timeout(self.backpressure.close_timeout, closing).await;
        self.drop_transport();
    }

    /// Carries out the machine's outputs up to its next event.
    async fn drain(&mut self) -> Option<M::Event> {
        while let Some(output) = self.machine.poll_output() {
            match output {
                Output::Transmit(transmit) => {
                    if self.transport.is_none() {
                        continue;
                    }
                    if let Some(tap) = &mut self.tap {
                        tap(Traffic::Sent(&transmit.payload));
                    }
                    if self.outbound.is_empty() && !self.unflushed {
                        self.last_progress = tokio::time::Instant::now();
                    }
                    if self.outbound.push(transmit).is_err() {
                        // The peer is not keeping up: what waits will not go out.
                        self.outbound.clear();
                        self.driver_close = Some(DriverClose::Due(Close::new(
                            close_code::POLICY_VIOLATION,
                            "send queue full",
                        )));
                    }
                }
                Output::Event(event) => return Some(event),
                Output::Close { close, .. } => {
                    if let Some(tap) = &mut self.tap {
                        tap(Traffic::Closing(&close));
                    }
                    self.close_transport(close).await;
                }
                Output::Reconnect { at } => self.reconnect_at = Some(at),
            }
        }
        None
    }
}

enum Wake<M> {
    Incoming(Incoming),
    /// The peer took queued frames and reading may resume.
    Wrote,
    Failed,
    Timer,
    Stall,
    Reconnect,
    Call(Call<M>),
    Shutdown(Close),
}

/// The transport's side of one wait: frames going out, and (when the policy allows)
/// frames coming in, polled together so neither blocks the other.
struct Io<'a, T> {
    transport: &'a mut Option<T>,
    outbound: &'a mut OutboundQueue,
    unflushed: &'a mut bool,
    last_progress: &'a mut tokio::time::Instant,
    reading: bool,
    pause_reading_above: usize,
}

impl<T: Transport> Io<'_, T> {
    async fn wait<M>(self) -> Wake<M> {
        let Io {
            transport,
            outbound,
            unflushed,
            last_progress,
            reading,
            pause_reading_above,
        } = self;
        let Some(transport) = transport.as_mut() else {
            return std::future::pending().await;
        };
        poll_fn(|cx| {
            poll_io(
                cx,
                transport,
                outbound,
                unflushed,
                last_progress,
                reading,
                pause_reading_above,
            )
        })
        .await
    }
}

fn poll_io<M, T: Transport>(
    cx: &mut Context<'_>,
    transport: &mut T,
    outbound: &mut OutboundQueue,
    unflushed: &mut bool,
    last_progress: &mut tokio::time::Instant,
    reading: bool,
    pause_reading_above: usize,
) -> Poll<Wake<M>> {
    while !outbound.is_empty() {
        match transport.poll_ready(cx) {
            Poll::Ready(Ok(())) => {}
            Poll::Ready(Err(_)) => return Poll::Ready(Wake::Failed),
            Poll::Pending => break,
        }
        let Some(transmit) = outbound.pop() else {
            break;
        };
        if transport.start_send(transmit).is_err() {
            return Poll::Ready(Wake::Failed);
        }
        *unflushed = true;
        *last_progress = tokio::time::Instant::now();
    }
    if *unflushed {
        match transport.poll_flush(cx) {
            Poll::Ready(Ok(())) => {
                *unflushed = false;
                *last_progress = tokio::time::Instant::now();
            }
            Poll::Ready(Err(_)) => return Poll::Ready(Wake::Failed),
            Poll::Pending => {}
        }
    }
    if reading {
        if let Poll::Ready(incoming) = transport.poll_recv(cx) {
            return Poll::Ready(Wake::Incoming(incoming));
        }
    } else if outbound.queued_bytes() <= pause_reading_above {
        return Poll::Ready(Wake::Wrote);
    }
    Poll::Pending
}

pub(crate) async fn next_call<M>(mailbox: &mut Option<Channel<M>>) -> Call<M> {
    match mailbox {
        // The driver holds a sender, so the channel never reports closed.
        Some((_, receiver)) => match receiver.recv().await {
            Some(call) => call,
            None => std::future::pending().await,
        },
        None => std::future::pending().await,
    }
}

async fn shutdown_requested(signal: &mut Option<ShutdownSignal>) -> Close {
    if let Some(signal) = signal {
        // A dropped `Shutdown` never signals.
        if let Ok(close) = signal.receiver.wait_for(Option::is_some).await {
            if let Some(close) = close.clone() {
                return close;
            }
        }
    }
    std::future::pending().await
}

pub(crate) async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
        None => std::future::pending().await,
    }
}

async fn sleep_until_tokio(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
