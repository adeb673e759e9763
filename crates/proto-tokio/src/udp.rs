//! The UDP driver: one machine over one datagram socket, peers named by address.

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use proto_core::{Input, Limits, Machine, Output, Payload, Peer, Transmit};
use tokio::net::{ToSocketAddrs, UdpSocket};
use tokio::sync::mpsc;

use crate::driver::{Activity, Call, Channel, MAILBOX_CAPACITY, Mailbox, next_call, sleep_until};
use crate::peer_traffic::{PeerTraffic, Unsent};

/// The largest payload a UDP datagram can carry over IPv4.
const MAX_UDP_PAYLOAD: usize = 65_507;

/// How long the driver rests after the socket fails to receive, so that a lasting
/// failure cannot spin it.
const RECEIVE_PAUSE: Duration = Duration::from_millis(10);

/// The bounds a [`UdpDriver`] keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpConfig {
    /// The largest datagram accepted or sent, in bytes; larger ones are dropped.
    pub max_datagram_len: usize,
    /// How many datagrams wait for the socket to take them; beyond that they are
    /// dropped.
    pub queue_datagrams: usize,
}

impl UdpConfig {
    /// Datagrams bounded by `limits`, and by what UDP can carry.
    pub fn new(limits: &Limits) -> Self {
        UdpConfig {
            max_datagram_len: limits.max_frame_len.min(MAX_UDP_PAYLOAD),
            queue_datagrams: 256,
        }
    }
}

impl Default for UdpConfig {
    /// Datagrams of up to 65,507 bytes, all UDP over IPv4 can carry; 256 waiting to
    /// be sent.
    fn default() -> Self {
        UdpConfig::new(&Limits::default())
    }
}

type Tap = Box<dyn FnMut(PeerTraffic<'_>) + Send>;

/// Runs `machine` over one UDP socket.
///
/// Each datagram reaches the machine as `Input::Received { from:
/// Some(Peer::Addr(sender)), data: Data::Binary(..) }`; each transmit is sent to the
/// address its `to` names. Sending never holds up the machine: datagrams the socket
/// cannot take at once wait in a bounded queue
/// ([`UdpConfig::queue_datagrams`]) and, past it, are dropped, as the network may
/// drop them anyway. Datagrams over
/// [`UdpConfig::max_datagram_len`] are dropped both ways, and a transmit without an
/// address is not sent; the tap ([`with_tap`](UdpDriver::with_tap)) is told of
/// each. The machine's closes and reconnect requests have nothing to act on here.
pub struct UdpDriver<M> {
    machine: M,
    socket: UdpSocket,
    config: UdpConfig,
    /// One byte more than the largest datagram, so that a larger one shows.
    buffer: Vec<u8>,
    /// Datagrams waiting for the socket to have room.
    unsent: VecDeque<(SocketAddr, Payload)>,
    receive_paused_until: Option<Instant>,
    mailbox: Option<Channel<M>>,
    tap: Option<Tap>,
}

impl<M> fmt::Debug for UdpDriver<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpDriver")
            .field("local_addr", &self.socket.local_addr().ok())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<M: Machine> UdpDriver<M> {
    /// Starts driving `machine` over `socket`.
    pub fn new(machine: M, socket: UdpSocket, config: UdpConfig) -> Self {
        let max = config.max_datagram_len.min(MAX_UDP_PAYLOAD);
        UdpDriver {
            machine,
            socket,
            config: UdpConfig {
                max_datagram_len: max,
                ..config
            },
            buffer: vec![0; max + 1],
            unsent: VecDeque::new(),
            receive_paused_until: None,
            mailbox: None,
            tap: None,
        }
    }

    /// Binds a socket to `addr` and starts driving `machine` over it.
    pub async fn bind(machine: M, addr: impl ToSocketAddrs, config: UdpConfig) -> io::Result<Self> {
        let socket = UdpSocket::bind(addr).await?;
        Ok(UdpDriver::new(machine, socket, config))
    }

    /// Shows every datagram each way and every one dropped to `tap`.
    pub fn with_tap(mut self, tap: impl FnMut(PeerTraffic<'_>) + Send + 'static) -> Self {
        self.tap = Some(Box::new(tap));
        self
    }

    /// The socket's address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// The machine, for application calls; the next call to
    /// [`next`](UdpDriver::next) sends what they produce.
    pub fn machine(&mut self) -> &mut M {
        &mut self.machine
    }

    /// Stops driving and returns the machine.
    pub fn into_machine(self) -> M {
        self.machine
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

    /// Runs until the machine has something for the application. The socket stays
    /// open, so this never returns `None`; stop by dropping the driver or the future.
    pub async fn next(&mut self) -> Option<Activity<M::Event, M::Error>> {
        loop {
            if let Some(event) = self.flush() {
                return Some(Activity::Event(event));
            }
            let timer = self.machine.poll_timeout();
            let paused = self.receive_paused_until.filter(|&at| at > Instant::now());
            let wake = tokio::select! {
                received = receive(&self.socket, &mut self.buffer, paused) => Wake::Received(received),
                () = sleep_until(timer) => Wake::Timer,
                call = next_call(&mut self.mailbox) => Wake::Call(call),
                writable = writable(&self.socket, !self.unsent.is_empty()) => Wake::Writable(writable),
            };
            let now = Instant::now();
            match wake {
                Wake::Received(Ok((len, from))) => {
                    self.receive_paused_until = None;
                    let Some(datagram) = self
                        .buffer
                        .get(..len)
                        .filter(|_| len <= self.config.max_datagram_len)
                    else {
                        if let Some(tap) = &mut self.tap {
                            tap(PeerTraffic::Oversize { from });
                        }
                        continue;
                    };
                    if let Some(tap) = &mut self.tap {
                        tap(PeerTraffic::Received {
                            from: Peer::Addr(from),
                            bytes: datagram,
                        });
                    }
                    if let Err(error) = self
                        .machine
                        .handle_input(now, Input::datagram(from, datagram))
                    {
                        return Some(Activity::Refused(error));
                    }
                }
                Wake::Received(Err(error)) => {
                    self.receive_paused_until = Some(now + RECEIVE_PAUSE);
                    if let Some(tap) = &mut self.tap {
                        tap(PeerTraffic::ReceiveFailed(error.kind()));
                    }
                }
                Wake::Timer => self.machine.handle_timeout(now),
                Wake::Call(call) => call(&mut self.machine, now),
                Wake::Writable(Ok(())) => self.send_waiting(),
                Wake::Writable(Err(error)) => {
                    let dropped = std::mem::take(&mut self.unsent);
                    for (addr, _) in dropped {
                        self.tell(Some(Peer::Addr(addr)), Err(Unsent::Io(error.kind())), None);
                    }
                }
            }
        }
    }

    /// Carries out the machine's outputs up to its next event. Never waits.
    fn flush(&mut self) -> Option<M::Event> {
        while let Some(output) = self.machine.poll_output() {
            match output {
                Output::Transmit(transmit) => self.send(transmit),
                Output::Event(event) => return Some(event),
                Output::Close { .. } | Output::Reconnect { .. } => {}
            }
        }
        None
    }

    fn send(&mut self, transmit: Transmit) {
        let Transmit { to, payload } = transmit;
        let addr = match (to, &payload) {
            (Some(Peer::Addr(_)), Payload::Ping(_)) => {
                return self.tell(to, Err(Unsent::Ping), None);
            }
            (Some(Peer::Addr(addr)), _) => addr,
            (_, _) => return self.tell(to, Err(Unsent::NoRoute), None),
        };
        let (len, max) = (payload.as_bytes().len(), self.config.max_datagram_len);
        if len > max {
            return self.tell(to, Err(Unsent::TooLarge { len, max }), None);
        }
        if self.unsent.len() >= self.config.queue_datagrams {
            return self.tell(to, Err(Unsent::WouldBlock), None);
        }
        self.unsent.push_back((addr, payload));
        self.send_waiting();
    }

    /// Hands waiting datagrams to the socket until it has no room.
    fn send_waiting(&mut self) {
        while let Some((addr, payload)) = self.unsent.pop_front() {
            let to = Some(Peer::Addr(addr));
            match self.socket.try_send_to(payload.as_bytes(), addr) {
                Ok(_) => self.tell(to, Ok(()), Some(&payload)),
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    self.unsent.push_front((addr, payload));
                    return;
                }
                Err(error) => self.tell(to, Err(Unsent::Io(error.kind())), None),
            }
        }
    }

    fn tell(&mut self, to: Option<Peer>, result: Result<(), Unsent>, sent: Option<&Payload>) {
        let Some(tap) = &mut self.tap else {
            return;
        };
        match (result, to, sent) {
            (Ok(()), Some(to), Some(payload)) => tap(PeerTraffic::Sent { to, payload }),
            (Err(reason), to, _) => tap(PeerTraffic::Unsent { to, reason }),
            (Ok(()), _, _) => {}
        }
    }
}

enum Wake<M> {
    Received(io::Result<(usize, SocketAddr)>),
    Timer,
    Call(Call<M>),
    Writable(io::Result<()>),
}

async fn writable(socket: &UdpSocket, waiting: bool) -> io::Result<()> {
    if !waiting {
        return std::future::pending().await;
    }
    socket.writable().await
}

async fn receive(
    socket: &UdpSocket,
    buffer: &mut [u8],
    paused_until: Option<Instant>,
) -> io::Result<(usize, SocketAddr)> {
    if let Some(at) = paused_until {
        tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await;
    }
    socket.recv_from(buffer).await
}
