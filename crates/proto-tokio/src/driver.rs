//! The driver: runs one machine over one transport, honouring its timers and
//! reconnecting when it asks.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::time::Instant;

use proto_core::{Close, Data, Input, Machine, Output, Payload};

use tokio::sync::mpsc;

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

type Reconnect<T> = Box<dyn FnMut() -> Pin<Box<dyn Future<Output = io::Result<T>> + Send>> + Send>;
type Tap = Box<dyn FnMut(Traffic<'_>) + Send>;

/// Runs `machine` over a transport: feeds it what arrives and the time, sends what it
/// emits, closes when it says, and hands its events to the application through
/// [`next`](Driver::next). Between calls to `next` the application may call the
/// machine directly through [`machine`](Driver::machine); the next call sends what
/// that produced.
pub struct Driver<M, T> {
    machine: M,
    transport: Option<T>,
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
            .field("reconnect_at", &self.reconnect_at)
            .finish_non_exhaustive()
    }
}

impl<M: Machine, T: Transport> Driver<M, T> {
    /// Starts driving `machine` over the already open `transport`.
    pub fn new(machine: M, transport: T) -> Self {
        let mut driver = Driver {
            machine,
            transport: None,
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

    /// Stops driving and returns the machine.
    pub fn into_machine(self) -> M {
        self.machine
    }

    /// Runs until the machine has something for the application, or returns `None`
    /// once the connection is over for good (closed, and no reconnect to make).
    pub async fn next(&mut self) -> Option<Activity<M::Event, M::Error>> {
        loop {
            if let Some(event) = self.flush().await {
                return Some(Activity::Event(event));
            }
            let timer = self.machine.poll_timeout();
            let reconnect_at = self
                .reconnect_at
                .filter(|_| self.transport.is_none() && self.reconnect.is_some());
            if self.transport.is_none() && timer.is_none() && reconnect_at.is_none() {
                return None;
            }
            let wake = tokio::select! {
                incoming = recv(&mut self.transport) => Wake::Incoming(incoming),
                () = sleep_until(timer) => Wake::Timer,
                () = sleep_until(reconnect_at) => Wake::Reconnect,
                call = next_call(&mut self.mailbox) => Wake::Call(call),
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
                Wake::Timer => self.machine.handle_timeout(now),
                Wake::Call(call) => call(&mut self.machine, now),
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
                self.transport = None;
                return self.machine.handle_input(now, Input::closed(close.clone()));
            }
        };
        self.machine
            .handle_input(now, Input::Received { from: None, data })
    }

    /// Carries out the machine's outputs up to its next event.
    async fn flush(&mut self) -> Option<M::Event> {
        while let Some(output) = self.machine.poll_output() {
            match output {
                Output::Transmit(transmit) => {
                    let Some(transport) = &mut self.transport else {
                        continue;
                    };
                    if let Some(tap) = &mut self.tap {
                        tap(Traffic::Sent(&transmit.payload));
                    }
                    if transport.send(transmit).await.is_err() {
                        self.transport = None;
                        // The machine learns the connection is gone.
                        let _ = self
                            .machine
                            .handle_input(Instant::now(), Input::closed(None));
                    }
                }
                Output::Event(event) => return Some(event),
                Output::Close { close, .. } => {
                    if let Some(tap) = &mut self.tap {
                        tap(Traffic::Closing(&close));
                    }
                    if let Some(mut transport) = self.transport.take() {
                        let _ = transport.close(close).await;
                    }
                }
                Output::Reconnect { at } => self.reconnect_at = Some(at),
            }
        }
        None
    }
}

enum Wake<M> {
    Incoming(Incoming),
    Timer,
    Reconnect,
    Call(Call<M>),
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

async fn recv<T: Transport>(transport: &mut Option<T>) -> Incoming {
    match transport {
        Some(transport) => transport.recv().await,
        None => std::future::pending().await,
    }
}

pub(crate) async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
        None => std::future::pending().await,
    }
}
