//! The peer: one machine for a whole UDP socket, holding the registry of its clients
//! in memory, answering registrations, relaying and queueing client events, and
//! counting every datagram it drops.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use proto_core::{
    Data, Input, Machine, Outbox, Output, Payload, Peer as Addr, SeededRng, deadline,
};

use crate::codec::decode;
use crate::error::{CallError, DropCounters, InputError};
use crate::identity::{CertificateScheme, Signer, Verifier, fingerprint};
use crate::packet::{Body, Fingerprint, Packet, Params};
use crate::replay::{ReplayConfig, ReplayGuard, WallClock};
use crate::wire::{open, seal};

/// How a [`Peer`] bounds its memory and judges its clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerConfig {
    /// The timestamp window and the seen-packet memory.
    pub replay: ReplayConfig,
    /// A client not heard from (register, keepalive or event) for this long is
    /// forgotten. Default six minutes: three missed two-minute keepalives.
    pub expiry: Duration,
    /// How often expired clients and stale queued events are swept out; a client is
    /// forgotten at most this long after it expired. Default 10 seconds.
    pub sweep_interval: Duration,
    /// The most clients registered at once. Default 100,000.
    pub max_clients: usize,
    /// The most events kept for one absent client. Default 32.
    pub queue_per_client: usize,
    /// The most events kept in all. Default 10,000.
    pub max_queued: usize,
    /// How long a kept event waits for its recipient. Default one hour.
    pub queue_ttl: Duration,
    /// The longest event payload the application may send. Default 1,200 bytes.
    pub max_event_len: usize,
}

impl Default for PeerConfig {
    fn default() -> Self {
        PeerConfig {
            replay: ReplayConfig::default(),
            expiry: Duration::from_secs(6 * 60),
            sweep_interval: Duration::from_secs(10),
            max_clients: 100_000,
            queue_per_client: 32,
            max_queued: 10_000,
            queue_ttl: Duration::from_secs(3600),
            max_event_len: 1200,
        }
    }
}

/// What a [`Peer`] tells its application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerEvent {
    /// A client registered, or registered again; `previous` is its earlier address
    /// when it moved.
    Registered {
        /// The client.
        fingerprint: Fingerprint,
        /// Where it is now.
        addr: SocketAddr,
        /// Where it was, when that differs.
        previous: Option<SocketAddr>,
    },
    /// A client fell silent for longer than the expiry and was forgotten.
    Expired {
        /// The client.
        fingerprint: Fingerprint,
    },
    /// Another client registered from this client's address, which so no longer
    /// reaches it; it is forgotten until it registers again.
    Displaced {
        /// The client.
        fingerprint: Fingerprint,
    },
    /// A client event was sent on to its recipient.
    Relayed {
        /// The sender.
        from: Fingerprint,
        /// The recipient.
        to: Fingerprint,
    },
    /// A client event for an absent recipient is kept until it registers.
    Queued {
        /// The sender.
        from: Fingerprint,
        /// The recipient.
        to: Fingerprint,
    },
    /// A kept event was delivered to its recipient on registration.
    Delivered {
        /// The sender.
        from: Fingerprint,
        /// The recipient.
        to: Fingerprint,
    },
}

/// What the peer knows of one registered client.
struct Client {
    addr: SocketAddr,
    certificate: Box<[u8]>,
    verifier: Box<dyn Verifier>,
    last_seen: Instant,
    /// The shift length the client last used; the peer answers in kind.
    shift: Option<u8>,
    /// The timestamp of the last OK sent to it, so that the next is later.
    last_ok: u64,
}

/// A client event kept for an absent recipient.
struct Kept {
    from: Fingerprint,
    payload: Box<[u8]>,
    at: Instant,
}

/// One registered client, as the application may read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientInfo<'a> {
    /// Where its datagrams come from.
    pub addr: SocketAddr,
    /// Its certificate, DER.
    pub certificate: &'a [u8],
    /// When it was last heard from.
    pub last_seen: Instant,
}

/// The peer machine: see the crate docs for the protocol it runs.
///
/// Feed it every datagram of its socket with [`Input::datagram`]; drain
/// [`poll_output`](Machine::poll_output) after every call, and call
/// [`handle_timeout`](Machine::handle_timeout) at [`poll_timeout`](Machine::poll_timeout).
pub struct Peer {
    config: PeerConfig,
    identity: Box<dyn Signer>,
    scheme: Box<dyn CertificateScheme>,
    clock: WallClock,
    rng: SeededRng,
    registry: HashMap<Fingerprint, Client>,
    by_addr: HashMap<SocketAddr, Fingerprint>,
    kept: HashMap<Fingerprint, VecDeque<Kept>>,
    kept_total: usize,
    replay: ReplayGuard,
    counters: DropCounters,
    next_sweep: Option<Instant>,
    outbox: Outbox<PeerEvent>,
    scratch: Vec<u8>,
}

impl std::fmt::Debug for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Peer")
            .field("fingerprint", &self.identity.fingerprint())
            .field("clients", &self.registry.len())
            .field("kept", &self.kept_total)
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

impl Peer {
    /// A peer signing with `identity`, accepting certificates `scheme` checks,
    /// mapping time to Unix seconds with `clock`, drawing shift filler from `rng`.
    pub fn new(
        config: PeerConfig,
        identity: Box<dyn Signer>,
        scheme: Box<dyn CertificateScheme>,
        clock: WallClock,
        rng: SeededRng,
    ) -> Peer {
        Peer {
            config,
            identity,
            scheme,
            clock,
            rng,
            registry: HashMap::new(),
            by_addr: HashMap::new(),
            kept: HashMap::new(),
            kept_total: 0,
            replay: ReplayGuard::new(config.replay),
            counters: DropCounters::default(),
            next_sweep: None,
            outbox: Outbox::new(),
            scratch: Vec::new(),
        }
    }

    /// Datagrams dropped so far, per reason.
    pub fn counters(&self) -> DropCounters {
        self.counters
    }

    /// How many clients are registered.
    pub fn len(&self) -> usize {
        self.registry.len()
    }

    /// Whether no client is registered.
    pub fn is_empty(&self) -> bool {
        self.registry.is_empty()
    }

    /// A registered client.
    pub fn client(&self, fingerprint: &Fingerprint) -> Option<ClientInfo<'_>> {
        self.registry.get(fingerprint).map(|client| ClientInfo {
            addr: client.addr,
            certificate: &client.certificate,
            last_seen: client.last_seen,
        })
    }

    /// How many events are kept for absent recipients.
    pub fn kept(&self) -> usize {
        self.kept_total
    }

    /// Sends the peer's own event (type 3) to a registered client.
    pub fn send_peer_event(
        &mut self,
        now: Instant,
        to: &Fingerprint,
        payload: &[u8],
    ) -> Result<(), CallError> {
        if payload.len() > self.config.max_event_len {
            return Err(CallError::EventTooLong {
                len: payload.len(),
                max: self.config.max_event_len,
            });
        }
        let client = self.registry.get(to).ok_or(CallError::NotRegistered(*to))?;
        let datagram = seal(
            &*self.identity,
            Params::PEER_TO_CLIENT,
            client.shift,
            self.clock.unix_secs(now),
            Body::PeerEvent { payload },
            &mut self.rng,
            &mut self.scratch,
        )?;
        self.outbox
            .transmit_to(Addr::Addr(client.addr), Payload::Binary(datagram));
        Ok(())
    }

    fn datagram(&mut self, now: Instant, from: SocketAddr, bytes: &[u8]) -> Result<(), InputError> {
        let packet = decode(bytes)?;
        if packet.params.sender_is_peer() {
            return Err(InputError::WrongDirection);
        }
        match packet.body {
            Body::Register { certificate } => {
                self.register(now, from, &packet, certificate, bytes.len())
            }
            Body::Keepalive => {
                self.verified_sender(now, from, &packet)?;
                Ok(())
            }
            Body::ClientEvent {
                fingerprint,
                payload,
            } => {
                let sender = self.verified_sender(now, from, &packet)?;
                self.relay(now, sender, Fingerprint(*fingerprint), payload)
            }
            Body::Ok | Body::PeerEvent { .. } | Body::Other { .. } => {
                Err(InputError::UnexpectedType(packet.packet_type()))
            }
        }
    }

    /// The registered client at `from`, once `packet` verified with its key and
    /// proved fresh; hearing from it refreshes it.
    fn verified_sender(
        &mut self,
        now: Instant,
        from: SocketAddr,
        packet: &Packet<'_>,
    ) -> Result<Fingerprint, InputError> {
        let sender = *self
            .by_addr
            .get(&from)
            .ok_or(InputError::UnknownSender(from))?;
        let client = self
            .registry
            .get_mut(&sender)
            .ok_or(InputError::UnknownSender(from))?;
        let now_unix = self.clock.unix_secs(now);
        open(
            &*client.verifier,
            &sender.0,
            packet,
            now_unix,
            &mut self.replay,
            &mut self.scratch,
        )?;
        client.last_seen = now;
        Ok(sender)
    }

    fn register(
        &mut self,
        now: Instant,
        from: SocketAddr,
        packet: &Packet<'_>,
        certificate: &[u8],
        request_len: usize,
    ) -> Result<(), InputError> {
        let fingerprint = fingerprint(certificate);
        // Same digest, same certificate: a known client's was checked already.
        let parsed = if self.registry.contains_key(&fingerprint) {
            None
        } else if self.registry.len() >= self.config.max_clients {
            return Err(InputError::RegistryFull);
        } else {
            Some(
                self.scheme
                    .verifier(certificate)
                    .map_err(InputError::BadCertificate)?,
            )
        };
        let verifier: &dyn Verifier = match (&parsed, self.registry.get(&fingerprint)) {
            (Some(parsed), _) => &**parsed,
            (None, Some(client)) => &*client.verifier,
            (None, None) => return Err(InputError::UnknownSender(from)),
        };
        let now_unix = self.clock.unix_secs(now);
        open(
            verifier,
            &fingerprint.0,
            packet,
            now_unix,
            &mut self.replay,
            &mut self.scratch,
        )?;
        let shift = packet.params.shifts_used().then_some(packet.shift_len);
        let previous = match (parsed, self.registry.get_mut(&fingerprint)) {
            (None, Some(client)) => {
                let previous = client.addr;
                client.addr = from;
                client.last_seen = now;
                client.shift = shift;
                (previous != from).then_some(previous)
            }
            (Some(verifier), _) => {
                self.registry.insert(
                    fingerprint,
                    Client {
                        addr: from,
                        certificate: certificate.into(),
                        verifier,
                        last_seen: now,
                        shift,
                        last_ok: 0,
                    },
                );
                None
            }
            (None, None) => return Err(InputError::UnknownSender(from)),
        };
        if let Some(previous) = previous {
            if self.by_addr.get(&previous) == Some(&fingerprint) {
                self.by_addr.remove(&previous);
            }
        }
        if let Some(displaced) = self.by_addr.insert(from, fingerprint) {
            if displaced != fingerprint && self.registry.remove(&displaced).is_some() {
                self.outbox.event(PeerEvent::Displaced {
                    fingerprint: displaced,
                });
            }
        }
        self.next_sweep
            .get_or_insert(deadline(now, self.config.sweep_interval));
        self.outbox.event(PeerEvent::Registered {
            fingerprint,
            addr: from,
            previous,
        });
        self.answer_ok(now_unix, &fingerprint, request_len);
        self.deliver_kept(now_unix, &fingerprint);
        Ok(())
    }

    /// Answers a registration; never with more bytes than the request had.
    fn answer_ok(&mut self, now_unix: u64, to: &Fingerprint, request_len: usize) {
        let Some(client) = self.registry.get_mut(to) else {
            return;
        };
        // OKs all sign the same empty payload: a later one must carry a later time.
        let timestamp = now_unix.max(client.last_ok.saturating_add(1));
        client.last_ok = timestamp;
        if let Ok(datagram) = seal(
            &*self.identity,
            Params::PEER_TO_CLIENT,
            client.shift,
            timestamp,
            Body::Ok,
            &mut self.rng,
            &mut self.scratch,
        ) {
            if datagram.len() <= request_len {
                self.outbox
                    .transmit_to(Addr::Addr(client.addr), Payload::Binary(datagram));
            }
        }
    }

    /// Sends a client event from `from` to `to`, relayed with the sender's
    /// fingerprint in place of the recipient's.
    fn send_client_event(
        &mut self,
        now_unix: u64,
        from: Fingerprint,
        to: &Fingerprint,
        payload: &[u8],
    ) -> bool {
        let Some(client) = self.registry.get(to) else {
            return false;
        };
        match seal(
            &*self.identity,
            Params::PEER_TO_CLIENT,
            client.shift,
            now_unix,
            Body::ClientEvent {
                fingerprint: &from.0,
                payload,
            },
            &mut self.rng,
            &mut self.scratch,
        ) {
            Ok(datagram) => {
                self.outbox
                    .transmit_to(Addr::Addr(client.addr), Payload::Binary(datagram));
                true
            }
            Err(_) => false,
        }
    }

    fn relay(
        &mut self,
        now: Instant,
        from: Fingerprint,
        to: Fingerprint,
        payload: &[u8],
    ) -> Result<(), InputError> {
        let now_unix = self.clock.unix_secs(now);
        if self.send_client_event(now_unix, from, &to, payload) {
            self.outbox.event(PeerEvent::Relayed { from, to });
            return Ok(());
        }
        let queue = self.kept.entry(to).or_default();
        if queue.len() >= self.config.queue_per_client || self.kept_total >= self.config.max_queued
        {
            if queue.is_empty() {
                self.kept.remove(&to);
            }
            return Err(InputError::QueueFull);
        }
        queue.push_back(Kept {
            from,
            payload: payload.into(),
            at: now,
        });
        self.kept_total += 1;
        self.next_sweep
            .get_or_insert(deadline(now, self.config.sweep_interval));
        self.outbox.event(PeerEvent::Queued { from, to });
        Ok(())
    }

    fn deliver_kept(&mut self, now_unix: u64, to: &Fingerprint) {
        let Some(queue) = self.kept.remove(to) else {
            return;
        };
        self.kept_total = self.kept_total.saturating_sub(queue.len());
        for kept in queue {
            if self.send_client_event(now_unix, kept.from, to, &kept.payload) {
                self.outbox.event(PeerEvent::Delivered {
                    from: kept.from,
                    to: *to,
                });
            }
        }
    }

    fn sweep(&mut self, now: Instant) {
        let expiry = self.config.expiry;
        let expired: Vec<Fingerprint> = self
            .registry
            .iter()
            .filter(|(_, client)| deadline(client.last_seen, expiry) <= now)
            .map(|(fingerprint, _)| *fingerprint)
            .collect();
        for fingerprint in expired {
            if let Some(client) = self.registry.remove(&fingerprint) {
                if self.by_addr.get(&client.addr) == Some(&fingerprint) {
                    self.by_addr.remove(&client.addr);
                }
                self.outbox.event(PeerEvent::Expired { fingerprint });
            }
        }
        let ttl = self.config.queue_ttl;
        let mut total = 0;
        self.kept.retain(|_, queue| {
            queue.retain(|kept| deadline(kept.at, ttl) > now);
            total += queue.len();
            !queue.is_empty()
        });
        self.kept_total = total;
        self.next_sweep = (!self.registry.is_empty() || self.kept_total > 0)
            .then(|| deadline(now, self.config.sweep_interval));
    }
}

impl Machine for Peer {
    type Event = PeerEvent;
    type Error = InputError;

    fn handle_input(&mut self, now: Instant, input: Input<'_>) -> Result<(), InputError> {
        let result = match input {
            Input::Received {
                from: Some(Addr::Addr(from)),
                data: Data::Binary(bytes),
            } => self.datagram(now, from, bytes),
            Input::Received { .. } => Err(InputError::NoAddress),
            Input::Opened { .. } | Input::Closed { .. } => Ok(()),
        };
        if let Err(error) = &result {
            self.counters.count(error.reason());
        }
        result
    }

    fn handle_timeout(&mut self, now: Instant) {
        if self.next_sweep.is_some_and(|at| at <= now) {
            self.sweep(now);
        }
    }

    fn poll_output(&mut self) -> Option<Output<PeerEvent>> {
        self.outbox.pop()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.next_sweep
    }
}
