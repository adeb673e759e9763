//! The client: registers with its home peer (and, on demand, with the peers of
//! the clients it writes to), retries with backoff, keeps its NAT mapping open, and
//! turns the events peers send it into application events.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use proto_core::{
    Backoff, Data, Input, Machine, Outbox, Output, Payload, Peer as Addr, SeededRng, deadline,
};

use crate::codec::decode;
use crate::error::{CallError, DropCounters, InputError};
use crate::identity::{Signer, Verifier};
use crate::packet::{Body, Fingerprint, Params};
use crate::replay::{ReplayConfig, ReplayGuard, WallClock};
use crate::wire::{addr_key, open, seal};

/// How a [`Client`] registers and keeps in touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientConfig {
    /// The peer that serves this client: it registers there on start and on every
    /// network change, and keeps its NAT mapping open with keepalives.
    pub home: SocketAddr,
    /// How long to wait for OK after the first register; each retry waits longer,
    /// up to `max_register_wait`. Default 2 seconds.
    pub register_wait: Duration,
    /// The longest wait for OK after a retry. Default 16 seconds.
    pub max_register_wait: Duration,
    /// Register packets sent before the peer is declared unreachable. Default 4.
    pub register_attempts: u32,
    /// How often to send a keepalive to the home peer once registered; `None` sends
    /// none (an IPv6 client with no NAT, say). Default two minutes. Keep it at a
    /// second or more: every keepalive needs a later timestamp than the last, so
    /// faster ones would run ahead of the clock.
    pub keepalive: Option<Duration>,
    /// The timestamp window and the seen-packet memory.
    pub replay: ReplayConfig,
    /// Send the shifted layout with this filler length; `None` sends the plain one.
    pub shift: Option<u8>,
    /// The longest event payload the application may send. Default 1,200 bytes.
    pub max_event_len: usize,
    /// The most events held for one peer while registering with it. Default 64.
    pub max_held: usize,
}

impl ClientConfig {
    /// Defaults, with `home` as the home peer.
    pub fn new(home: SocketAddr) -> Self {
        ClientConfig {
            home,
            register_wait: Duration::from_secs(2),
            max_register_wait: Duration::from_secs(16),
            register_attempts: 4,
            keepalive: Some(Duration::from_secs(120)),
            replay: ReplayConfig::default(),
            shift: None,
            max_event_len: 1200,
            max_held: 64,
        }
    }
}

/// What a [`Client`] tells its application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// The peer at `peer` answered OK: the client is registered there.
    Registered {
        /// The peer.
        peer: SocketAddr,
    },
    /// Every register attempt went unanswered: the spec's "peer unreachable".
    PeerUnreachable {
        /// The peer.
        peer: SocketAddr,
    },
    /// The peer's own event (type 3).
    PeerEvent {
        /// The peer.
        peer: SocketAddr,
        /// The event's bytes.
        payload: Bytes,
    },
    /// Another client's event (type 4), relayed by a peer.
    Message {
        /// The peer that relayed it.
        peer: SocketAddr,
        /// The client that sent it.
        from: Fingerprint,
        /// The event's bytes.
        payload: Bytes,
    },
}

/// Where the client stands with one peer: the state table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Standing {
    /// Not registered, nothing under way (a foreign peer before first use).
    Idle,
    /// `sent` register packets out; the next step is due at `until`.
    Registering { sent: u32, until: Instant },
    /// OK received; the next keepalive (home peer only) is due at `keepalive`.
    Registered { keepalive: Option<Instant> },
    /// Every attempt failed; a network change or a new event starts again.
    Unreachable,
}

/// One peer the client talks to.
struct PeerLink {
    verifier: Box<dyn Verifier>,
    standing: Standing,
    backoff: Backoff,
    /// Events waiting for the registration to finish.
    held: VecDeque<(Fingerprint, Bytes)>,
    /// The timestamp of the last register or keepalive, whose payloads never
    /// change: the next must carry a later one or the peer would see a replay.
    last_fixed: u64,
}

/// The client machine: see the crate docs for the protocol it runs.
///
/// Feed it every datagram of its socket with [`Input::datagram`]; drain
/// [`poll_output`](Machine::poll_output) after every `handle_*` call and every
/// application call, and call [`handle_timeout`](Machine::handle_timeout) at
/// [`poll_timeout`](Machine::poll_timeout).
pub struct Client {
    config: ClientConfig,
    identity: Box<dyn Signer>,
    clock: WallClock,
    rng: SeededRng,
    peers: BTreeMap<SocketAddr, PeerLink>,
    replay: ReplayGuard,
    counters: DropCounters,
    outbox: Outbox<ClientEvent>,
    scratch: Vec<u8>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("fingerprint", &self.identity.fingerprint())
            .field("home", &self.config.home)
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client signing with `identity`, served by the peer at `config.home` whose
    /// packets `home_verifier` checks. Nothing is sent until
    /// [`network_changed`](Client::network_changed) (or [`Input::Opened`]).
    pub fn new(
        config: ClientConfig,
        identity: Box<dyn Signer>,
        home_verifier: Box<dyn Verifier>,
        clock: WallClock,
        rng: SeededRng,
    ) -> Client {
        let mut client = Client {
            config,
            identity,
            clock,
            rng,
            peers: BTreeMap::new(),
            replay: ReplayGuard::new(config.replay),
            counters: DropCounters::default(),
            outbox: Outbox::new(),
            scratch: Vec::new(),
        };
        client.add_peer(config.home, home_verifier);
        client
    }

    /// This client's fingerprint.
    pub fn fingerprint(&self) -> Fingerprint {
        self.identity.fingerprint()
    }

    /// Datagrams dropped so far, per reason.
    pub fn counters(&self) -> DropCounters {
        self.counters
    }

    /// Whether the peer at `peer` has answered OK.
    pub fn is_registered(&self, peer: SocketAddr) -> bool {
        self.peers
            .get(&peer)
            .is_some_and(|link| matches!(link.standing, Standing::Registered { .. }))
    }

    /// Makes the peer at `addr` (another client's home) known, with the verifier
    /// of its packets, so that events can be sent through it. Replaces an earlier
    /// verifier for the same address.
    pub fn add_peer(&mut self, addr: SocketAddr, verifier: Box<dyn Verifier>) {
        let link = PeerLink {
            verifier,
            standing: Standing::Idle,
            backoff: Backoff::new(self.config.register_wait, self.config.max_register_wait),
            held: VecDeque::new(),
            last_fixed: 0,
        };
        self.peers.insert(addr, link);
    }

    /// The application started, or the network changed (a new interface, a new
    /// address): register again with the home peer, and with every other peer the
    /// client was registered with.
    pub fn network_changed(&mut self, now: Instant) {
        let addrs: Vec<SocketAddr> = self
            .peers
            .iter()
            .filter(|(addr, link)| {
                **addr == self.config.home || !matches!(link.standing, Standing::Idle)
            })
            .map(|(addr, _)| *addr)
            .collect();
        for addr in addrs {
            self.start_registering(now, addr);
        }
    }

    /// Sends `payload` to the client `to` through the peer at `via`: its own peer
    /// (the home one, when both share it) or the recipient's, added with
    /// [`add_peer`](Client::add_peer). Through a peer the client is not registered
    /// with, it registers first and holds the event until OK.
    pub fn send_event(
        &mut self,
        now: Instant,
        to: Fingerprint,
        via: SocketAddr,
        payload: &[u8],
    ) -> Result<(), CallError> {
        if payload.len() > self.config.max_event_len {
            return Err(CallError::EventTooLong {
                len: payload.len(),
                max: self.config.max_event_len,
            });
        }
        let link = self
            .peers
            .get_mut(&via)
            .ok_or(CallError::UnknownPeer(via))?;
        match link.standing {
            Standing::Registered { .. } => {
                let datagram = seal(
                    &*self.identity,
                    Params::CLIENT_TO_PEER,
                    self.config.shift,
                    self.clock.unix_secs(now),
                    Body::ClientEvent {
                        fingerprint: &to.0,
                        payload,
                    },
                    &mut self.rng,
                    &mut self.scratch,
                )?;
                self.outbox
                    .transmit_to(Addr::Addr(via), Payload::Binary(datagram));
            }
            Standing::Idle | Standing::Unreachable | Standing::Registering { .. } => {
                if link.held.len() >= self.config.max_held {
                    return Err(CallError::Backlogged(link.held.len()));
                }
                link.held.push_back((to, Bytes::copy_from_slice(payload)));
                if !matches!(link.standing, Standing::Registering { .. }) {
                    self.start_registering(now, via);
                }
            }
        }
        Ok(())
    }

    fn start_registering(&mut self, now: Instant, addr: SocketAddr) {
        if let Some(link) = self.peers.get_mut(&addr) {
            link.backoff.reset();
            link.standing = Standing::Registering {
                sent: 0,
                until: now,
            };
        }
        self.send_register(now, addr);
    }

    /// Sends the next register packet to `addr`, or gives up on it.
    fn send_register(&mut self, now: Instant, addr: SocketAddr) {
        let Some(link) = self.peers.get_mut(&addr) else {
            return;
        };
        let Standing::Registering { sent, .. } = link.standing else {
            return;
        };
        if sent >= self.config.register_attempts.max(1) {
            link.standing = Standing::Unreachable;
            link.held.clear();
            self.outbox
                .event(ClientEvent::PeerUnreachable { peer: addr });
            return;
        }
        let wait = if sent == 0 {
            self.config.register_wait
        } else {
            link.backoff.next_delay(&mut self.rng)
        };
        link.standing = Standing::Registering {
            sent: sent + 1,
            until: deadline(now, wait),
        };
        let timestamp = self
            .clock
            .unix_secs(now)
            .max(link.last_fixed.saturating_add(1));
        link.last_fixed = timestamp;
        let certificate = self.identity.certificate();
        if let Ok(datagram) = seal(
            &*self.identity,
            Params::CLIENT_TO_PEER,
            self.config.shift,
            timestamp,
            Body::Register { certificate },
            &mut self.rng,
            &mut self.scratch,
        ) {
            self.outbox
                .transmit_to(Addr::Addr(addr), Payload::Binary(datagram));
        }
    }

    fn send_keepalive(&mut self, now: Instant, addr: SocketAddr) {
        let Some(link) = self.peers.get_mut(&addr) else {
            return;
        };
        let timestamp = self
            .clock
            .unix_secs(now)
            .max(link.last_fixed.saturating_add(1));
        link.last_fixed = timestamp;
        link.standing = Standing::Registered {
            keepalive: self.config.keepalive.map(|every| deadline(now, every)),
        };
        if let Ok(datagram) = seal(
            &*self.identity,
            Params::CLIENT_TO_PEER,
            self.config.shift,
            timestamp,
            Body::Keepalive,
            &mut self.rng,
            &mut self.scratch,
        ) {
            self.outbox
                .transmit_to(Addr::Addr(addr), Payload::Binary(datagram));
        }
    }

    fn registered(&mut self, now: Instant, addr: SocketAddr) -> Result<(), CallError> {
        let home = self.config.home;
        let Some(link) = self.peers.get_mut(&addr) else {
            return Ok(());
        };
        if !matches!(link.standing, Standing::Registering { .. }) {
            return Ok(()); // a late OK for an attempt already answered
        }
        link.backoff.reset();
        // Keepalives hold a NAT mapping open for the peer that serves us; a foreign
        // peer only ever receives our events.
        let keepalive = (addr == home)
            .then_some(self.config.keepalive)
            .flatten()
            .map(|every| deadline(now, every));
        link.standing = Standing::Registered { keepalive };
        let held: Vec<(Fingerprint, Bytes)> = link.held.drain(..).collect();
        self.outbox.event(ClientEvent::Registered { peer: addr });
        for (to, payload) in held {
            self.send_event(now, to, addr, &payload)?;
        }
        Ok(())
    }

    fn datagram(&mut self, now: Instant, from: SocketAddr, bytes: &[u8]) -> Result<(), InputError> {
        let packet = decode(bytes)?;
        if packet.params.receiver_is_peer() {
            return Err(InputError::WrongDirection);
        }
        let link = self
            .peers
            .get(&from)
            .ok_or(InputError::UnknownSender(from))?;
        let now_unix = self.clock.unix_secs(now);
        open(
            &*link.verifier,
            &addr_key(from),
            &packet,
            now_unix,
            &mut self.replay,
            &mut self.scratch,
        )?;
        match packet.body {
            Body::Ok => {
                // Held events that no longer fit are the application's call, not
                // the peer's fault: they are dropped with the registration done.
                let _ = self.registered(now, from);
            }
            Body::PeerEvent { payload } => self.outbox.event(ClientEvent::PeerEvent {
                peer: from,
                payload: Bytes::copy_from_slice(payload),
            }),
            Body::ClientEvent {
                fingerprint,
                payload,
            } => self.outbox.event(ClientEvent::Message {
                peer: from,
                from: Fingerprint(*fingerprint),
                payload: Bytes::copy_from_slice(payload),
            }),
            Body::Keepalive => {}
            Body::Register { .. } | Body::Other { .. } => {
                return Err(InputError::UnexpectedType(packet.packet_type()));
            }
        }
        Ok(())
    }
}

impl Machine for Client {
    type Event = ClientEvent;
    type Error = InputError;

    fn handle_input(&mut self, now: Instant, input: Input<'_>) -> Result<(), InputError> {
        let result = match input {
            Input::Received {
                from: Some(Addr::Addr(from)),
                data: Data::Binary(bytes),
            } => self.datagram(now, from, bytes),
            Input::Received { .. } => Err(InputError::NoAddress),
            Input::Opened { .. } => {
                self.network_changed(now);
                Ok(())
            }
            Input::Closed { .. } => Ok(()),
        };
        if let Err(error) = &result {
            self.counters.count(error.reason());
        }
        result
    }

    fn handle_timeout(&mut self, now: Instant) {
        let due: Vec<(SocketAddr, Standing)> = self
            .peers
            .iter()
            .map(|(addr, link)| (*addr, link.standing))
            .collect();
        for (addr, standing) in due {
            match standing {
                Standing::Registering { until, .. } if until <= now => {
                    self.send_register(now, addr);
                }
                Standing::Registered {
                    keepalive: Some(at),
                } if at <= now => self.send_keepalive(now, addr),
                _ => {}
            }
        }
    }

    fn poll_output(&mut self) -> Option<Output<ClientEvent>> {
        self.outbox.pop()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.peers
            .values()
            .filter_map(|link| match link.standing {
                Standing::Registering { until, .. } => Some(until),
                Standing::Registered { keepalive } => keepalive,
                Standing::Idle | Standing::Unreachable => None,
            })
            .min()
    }
}
