//! The simulated network: its nodes, links and datagram paths, the queue of what is in
//! flight, and the virtual clock that jumps from one due thing to the next.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use proto_core::{
    Close, Data, Input, LinkId, Machine, Payload, Peer, SeededRng, deadline, seeded_rng,
};
use rand::RngExt;

use crate::config::LinkConfig;
use crate::error::SimError;
use crate::node::{Action, Node, NodeId, Slot};
use crate::trace::{Delivery, Fate};

/// How many steps one bounded run may take unless [`Sim::set_step_limit`] says
/// otherwise.
pub const DEFAULT_STEP_LIMIT: usize = 1_000_000;

/// The instant every simulator's clock starts at, the same for all in one process so
/// that traces of two runs compare equal.
fn start() -> Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    *START.get_or_init(Instant::now)
}

/// Tells handles of one simulator from another's.
static NEXT_SIM: AtomicU64 = AtomicU64::new(0);

/// A frame as it travels: WebSocket-like kinds survive a stream link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Binary,
    Ping,
    Pong,
}

/// One machine in the network, with what the network knows of it.
struct Entry {
    node: Box<dyn Node>,
    addr: Option<SocketAddr>,
    /// Every stream link this node has had: the link's index and this node's side.
    links: BTreeMap<LinkId, (usize, Side)>,
    /// The link a single-connection machine speaks over.
    single: Option<(usize, Side)>,
    next_link: u64,
    /// The machine's wake-up as last read, mirrored in `Sim::timers`.
    timer: Option<Instant>,
    closes: Vec<(Option<Peer>, Close)>,
    reconnects: Vec<Instant>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LinkState {
    Open,
    /// This side closed it; its close is on the way to the other side.
    ClosedBy(Side),
    /// Both sides know it is closed.
    Gone,
}

/// Which end of a stream link: `connect`'s `a` or `b`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    A,
    B,
}

impl Side {
    fn other(self) -> Side {
        match self {
            Side::A => Side::B,
            Side::B => Side::A,
        }
    }
}

/// One value for each end of a stream link.
#[derive(Debug, Clone, Copy)]
struct BySide<T> {
    a: T,
    b: T,
}

impl<T> BySide<T> {
    fn get(&self, side: Side) -> &T {
        match side {
            Side::A => &self.a,
            Side::B => &self.b,
        }
    }

    fn get_mut(&mut self, side: Side) -> &mut T {
        match side {
            Side::A => &mut self.a,
            Side::B => &mut self.b,
        }
    }
}

/// One end of a stream link.
#[derive(Debug, Clone, Copy)]
struct End {
    node: usize,
    id: LinkId,
}

/// A reliable, ordered, two-way stream between two nodes.
struct Link {
    ends: BySide<End>,
    single: bool,
    cfg: LinkConfig,
    state: LinkState,
    /// Per direction (indexed by the sending side), the latest arrival scheduled, so
    /// that jitter never reorders a stream.
    last_arrival: BySide<Instant>,
}

impl Link {
    /// How `side`'s machine names this link.
    fn peer(&self, side: Side) -> Option<Peer> {
        if self.single {
            None
        } else {
            Some(Peer::Link(self.ends.get(side).id))
        }
    }
}

/// Something in flight, due at its key's instant.
enum Arrival {
    Frame {
        link: usize,
        from_side: Side,
        kind: Kind,
        bytes: Bytes,
    },
    Closing {
        link: usize,
        from_side: Side,
        close: Close,
    },
    Datagram {
        from: usize,
        from_addr: SocketAddr,
        to: usize,
        to_addr: SocketAddr,
        bytes: Bytes,
        fate: Fate,
        held: bool,
    },
    Reopen {
        link: usize,
    },
}

/// A simulated network of machines of any types, on a virtual clock.
///
/// Machines are added with [`add`](Sim::add) (stream links only) or
/// [`add_at`](Sim::add_at) (also datagrams, bound to an address), wired with
/// [`connect`](Sim::connect) or [`connect_single`](Sim::connect_single), and driven
/// with [`step`](Sim::step), [`run_until`](Sim::run_until) and
/// [`run_for`](Sim::run_for). Every output a machine emits is carried out at once:
/// frames are scheduled for delivery, closes travel to the other end, events are kept
/// for [`events`](Sim::events). Application calls made through
/// [`machine`](Sim::machine) are picked up before the next step (or the next call to
/// `events`/`errors`).
///
/// All randomness (jitter, loss, duplication, reordering) comes from the seed, and
/// everything due at one instant is handled in a fixed order (deliveries in the order
/// they were scheduled, then timers by node index), so one seed gives one trace.
///
/// A [`NodeId`] works only with the simulator that issued it: every method taking
/// one panics when given another simulator's, as no other node may stand in for the
/// one meant.
pub struct Sim {
    id: u64,
    now: Instant,
    rng: SeededRng,
    nodes: Vec<Entry>,
    links: Vec<Link>,
    addrs: HashMap<SocketAddr, usize>,
    datagram_default: LinkConfig,
    paths: HashMap<(SocketAddr, SocketAddr), LinkConfig>,
    queue: BTreeMap<(Instant, u64), Arrival>,
    next_seq: u64,
    timers: BTreeSet<(Instant, usize)>,
    /// Nodes the application may have called since they were last drained.
    dirty: BTreeSet<usize>,
    trace: Vec<Delivery>,
    tracing: bool,
    step_limit: usize,
    reopen_on_reconnect: bool,
}

impl fmt::Debug for Sim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sim")
            .field("elapsed", &self.elapsed())
            .field("nodes", &self.nodes.len())
            .field("links", &self.links.len())
            .field("in_flight", &self.queue.len())
            .finish_non_exhaustive()
    }
}

impl Sim {
    /// An empty network whose randomness all comes from `seed`. The clock starts at
    /// [`start`](Sim::start), the same instant for every simulator in the process.
    pub fn new(seed: u64) -> Self {
        Sim {
            id: NEXT_SIM.fetch_add(1, Ordering::Relaxed),
            now: start(),
            rng: seeded_rng(seed),
            nodes: Vec::new(),
            links: Vec::new(),
            addrs: HashMap::new(),
            datagram_default: LinkConfig::default(),
            paths: HashMap::new(),
            queue: BTreeMap::new(),
            next_seq: 0,
            timers: BTreeSet::new(),
            dirty: BTreeSet::new(),
            trace: Vec::new(),
            tracing: true,
            step_limit: DEFAULT_STEP_LIMIT,
            reopen_on_reconnect: false,
        }
    }

    /// The virtual clock.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// The instant every simulator's clock starts at.
    pub fn start(&self) -> Instant {
        start()
    }

    /// Virtual time since the start.
    pub fn elapsed(&self) -> Duration {
        self.now.saturating_duration_since(start())
    }

    /// Bounds the steps one [`run_until`](Sim::run_until) or
    /// [`run_for`](Sim::run_for) may take (default [`DEFAULT_STEP_LIMIT`]).
    pub fn set_step_limit(&mut self, steps: usize) {
        self.step_limit = steps;
    }

    /// Whether a [`connect_single`](Sim::connect_single) pair is opened again when a
    /// machine on it asks to reconnect (`Output::Reconnect`) after the link is gone.
    /// Off by default: reconnect requests are only recorded.
    pub fn reopen_on_reconnect(&mut self, reopen: bool) {
        self.reopen_on_reconnect = reopen;
    }

    /// Adds a machine that speaks over stream links only.
    pub fn add<M: Machine + 'static>(&mut self, machine: M) -> NodeId<M> {
        let index = self.nodes.len();
        self.nodes.push(Entry {
            node: Box::new(Slot::new(machine)),
            addr: None,
            links: BTreeMap::new(),
            single: None,
            next_link: 0,
            timer: None,
            closes: Vec::new(),
            reconnects: Vec::new(),
        });
        self.refresh_timer(index);
        NodeId::new(self.id, index)
    }

    /// Adds a machine bound to `addr`: datagrams it sends come from `addr`, and
    /// datagrams sent to `addr` reach it. An address already bound moves to the new
    /// machine.
    pub fn add_at<M: Machine + 'static>(&mut self, machine: M, addr: SocketAddr) -> NodeId<M> {
        let node = self.add(machine);
        if let Some(previous) = self.addrs.insert(addr, node.index) {
            if let Some(entry) = self.nodes.get_mut(previous) {
                entry.addr = None;
            }
        }
        if let Some(entry) = self.nodes.get_mut(node.index) {
            entry.addr = Some(addr);
        }
        node
    }

    /// The address a node was added at.
    pub fn addr<M>(&self, node: NodeId<M>) -> Option<SocketAddr> {
        self.entry(node).and_then(|entry| entry.addr)
    }

    /// The machine, for application calls. What they produce is carried out before
    /// the next step.
    ///
    /// # Panics
    ///
    /// If `node` belongs to another simulator.
    pub fn machine<M: Machine + 'static>(&mut self, node: NodeId<M>) -> &mut M {
        let index = self.index(node);
        self.dirty.insert(index);
        &mut self.slot(node).machine
    }

    /// Drains the events `node`'s machine has emitted, in order.
    ///
    /// # Panics
    ///
    /// If `node` belongs to another simulator.
    pub fn events<M: Machine + 'static>(&mut self, node: NodeId<M>) -> Vec<M::Event> {
        self.flush_dirty();
        std::mem::take(&mut self.slot(node).events)
    }

    /// Drains the refusals (each `Err` of `handle_input`, displayed) of `node`'s
    /// machine, in order.
    ///
    /// # Panics
    ///
    /// If `node` belongs to another simulator.
    pub fn errors<M: Machine + 'static>(&mut self, node: NodeId<M>) -> Vec<String> {
        self.flush_dirty();
        std::mem::take(&mut self.slot(node).errors)
    }

    /// Drains the closes `node`'s machine has emitted (`Output::Close`), in order.
    pub fn closes<M>(&mut self, node: NodeId<M>) -> Vec<(Option<Peer>, Close)> {
        self.flush_dirty();
        self.entry_mut(node)
            .map(|entry| std::mem::take(&mut entry.closes))
            .unwrap_or_default()
    }

    /// Drains the instants `node`'s machine asked to reconnect at
    /// (`Output::Reconnect`), in order.
    pub fn reconnects<M>(&mut self, node: NodeId<M>) -> Vec<Instant> {
        self.flush_dirty();
        self.entry_mut(node)
            .map(|entry| std::mem::take(&mut entry.reconnects))
            .unwrap_or_default()
    }

    /// Whether `node` may still send on `link`: it exists, and neither side has
    /// closed it.
    pub fn is_open<M>(&self, node: NodeId<M>, link: LinkId) -> bool {
        self.entry(node)
            .and_then(|entry| entry.links.get(&link))
            .and_then(|&(index, _)| self.links.get(index))
            .is_some_and(|link| link.state == LinkState::Open)
    }

    /// Opens a stream link between two multi-link machines. Each side is told
    /// `Input::Opened { from: Some(Peer::Link(its id)) }` (`a` first) and names the
    /// link by that id in its transmits and closes. Returns `a`'s id and `b`'s.
    ///
    /// The link is reliable and ordered per direction; of `cfg` only `latency` and
    /// `jitter` apply.
    pub fn connect<A: Machine + 'static, B: Machine + 'static>(
        &mut self,
        a: NodeId<A>,
        b: NodeId<B>,
        cfg: LinkConfig,
    ) -> (LinkId, LinkId) {
        let (a, b) = (self.index(a), self.index(b));
        self.open_link(a, b, cfg, false)
    }

    /// Opens a stream link between two single-connection machines (a litebridge or
    /// Tachyon client and server): their inputs carry `from: None` and their
    /// `to: None` transmits and closes use this link, which replaces any earlier one.
    /// Returns `a`'s id and `b`'s, for [`cut`](Sim::cut).
    pub fn connect_single<A: Machine + 'static, B: Machine + 'static>(
        &mut self,
        a: NodeId<A>,
        b: NodeId<B>,
        cfg: LinkConfig,
    ) -> (LinkId, LinkId) {
        let (a, b) = (self.index(a), self.index(b));
        self.open_link(a, b, cfg, true)
    }

    /// Breaks `node`'s `link` as a failed transport would: each side that has not
    /// closed it is told `Input::Closed { close: None }`, and frames in flight are
    /// undeliverable.
    pub fn cut<M: Machine + 'static>(&mut self, node: NodeId<M>, link: LinkId) {
        self.flush_dirty();
        let Some(&(index, _)) = self.entry(node).and_then(|entry| entry.links.get(&link)) else {
            return;
        };
        let Some(link) = self.links.get_mut(index) else {
            return;
        };
        let told: Vec<Side> = match link.state {
            LinkState::Gone => return,
            LinkState::Open => vec![Side::A, Side::B],
            LinkState::ClosedBy(side) => vec![side.other()],
        };
        link.state = LinkState::Gone;
        let told: Vec<(usize, Option<Peer>)> = told
            .into_iter()
            .map(|side| (link.ends.get(side).node, link.peer(side)))
            .collect();
        for (to, from) in told {
            self.input(to, Input::Closed { from, close: None });
        }
    }

    /// The path every datagram takes unless [`set_datagram_path`](Sim::set_datagram_path)
    /// names its pair of addresses.
    pub fn set_datagram_default(&mut self, cfg: LinkConfig) {
        self.datagram_default = cfg;
    }

    /// The path datagrams from `from` to `to` take (one direction).
    pub fn set_datagram_path(&mut self, from: SocketAddr, to: SocketAddr, cfg: LinkConfig) {
        self.paths.insert((from, to), cfg);
    }

    /// Handles the earliest due delivery or timer and returns its instant, the new
    /// clock; `None` when nothing is scheduled. At one instant, deliveries come before
    /// timers, deliveries in the order they were scheduled and timers by node index.
    pub fn step(&mut self) -> Option<Instant> {
        self.flush_dirty();
        let arrival = self.queue.first_key_value().map(|(&(at, _), _)| at);
        let timer = self.timers.first().map(|&(at, _)| at);
        match (arrival, timer) {
            (Some(arrival), Some(timer)) if timer < arrival => self.fire_timer(),
            (Some(_), _) => self.arrive(),
            (None, Some(_)) => self.fire_timer(),
            (None, None) => return None,
        }
        Some(self.now)
    }

    /// Steps until `pred` holds, checking it before every step. Fails when the clock
    /// would pass `max` from now (the clock then stands at that bound), when nothing
    /// is left to happen, or after the step limit. Returns the instant `pred` held.
    pub fn run_until(
        &mut self,
        max: Duration,
        mut pred: impl FnMut(&mut Sim) -> bool,
    ) -> Result<Instant, SimError> {
        let end = deadline(self.now, max);
        let mut steps = 0;
        loop {
            self.flush_dirty();
            if pred(self) {
                return Ok(self.now);
            }
            match self.next_due() {
                None => return Err(SimError::Idle { now: self.now }),
                Some(at) if at > end => {
                    self.now = end;
                    return Err(SimError::TimeLimit { now: self.now });
                }
                Some(_) => {}
            }
            if steps >= self.step_limit {
                return Err(SimError::StepLimit { steps });
            }
            self.step();
            steps += 1;
        }
    }

    /// Handles everything due within `d` from now, then sets the clock to that
    /// instant. Fails after the step limit.
    pub fn run_for(&mut self, d: Duration) -> Result<(), SimError> {
        let end = deadline(self.now, d);
        let mut steps = 0;
        loop {
            self.flush_dirty();
            match self.next_due() {
                Some(at) if at <= end => {}
                _ => break,
            }
            if steps >= self.step_limit {
                return Err(SimError::StepLimit { steps });
            }
            self.step();
            steps += 1;
        }
        self.now = self.now.max(end);
        Ok(())
    }

    /// Every delivery attempt so far, in the order recorded.
    pub fn trace(&self) -> &[Delivery] {
        &self.trace
    }

    /// Drains the trace, leaving it empty.
    pub fn take_trace(&mut self) -> Vec<Delivery> {
        std::mem::take(&mut self.trace)
    }

    /// Whether delivery attempts are recorded (on by default). Large runs that only
    /// look at machines' events may turn it off to save the memory.
    pub fn set_tracing(&mut self, on: bool) {
        self.tracing = on;
    }

    /// The earliest instant something is due, never before now.
    fn next_due(&self) -> Option<Instant> {
        let arrival = self.queue.first_key_value().map(|(&(at, _), _)| at);
        let timer = self.timers.first().map(|&(at, _)| at);
        let due = match (arrival, timer) {
            (Some(a), Some(t)) => Some(a.min(t)),
            (a, t) => a.or(t),
        };
        due.map(|at| at.max(self.now))
    }

    /// The index of `node`, checked to be one of ours.
    fn index<M>(&self, node: NodeId<M>) -> usize {
        if node.sim != self.id {
            foreign(node.index);
        }
        node.index
    }

    fn entry<M>(&self, node: NodeId<M>) -> Option<&Entry> {
        self.nodes.get(self.index(node))
    }

    fn entry_mut<M>(&mut self, node: NodeId<M>) -> Option<&mut Entry> {
        let index = self.index(node);
        self.nodes.get_mut(index)
    }

    fn slot<M: Machine + 'static>(&mut self, node: NodeId<M>) -> &mut Slot<M> {
        match self
            .entry_mut(node)
            .and_then(|entry| entry.node.as_any_mut().downcast_mut::<Slot<M>>())
        {
            Some(slot) => slot,
            None => foreign(node.index),
        }
    }

    fn open_link(&mut self, a: usize, b: usize, cfg: LinkConfig, single: bool) -> (LinkId, LinkId) {
        self.flush_dirty();
        let index = self.links.len();
        let ids = (self.allocate_link(a), self.allocate_link(b));
        self.links.push(Link {
            ends: BySide {
                a: End { node: a, id: ids.0 },
                b: End { node: b, id: ids.1 },
            },
            single,
            cfg,
            state: LinkState::Open,
            last_arrival: BySide {
                a: self.now,
                b: self.now,
            },
        });
        for (side, node, id) in [(Side::A, a, ids.0), (Side::B, b, ids.1)] {
            if let Some(entry) = self.nodes.get_mut(node) {
                entry.links.insert(id, (index, side));
                if single {
                    entry.single = Some((index, side));
                }
            }
        }
        let opened =
            [(a, ids.0), (b, ids.1)].map(|(node, id)| (node, (!single).then_some(Peer::Link(id))));
        for (to, from) in opened {
            self.input(to, Input::Opened { from });
        }
        ids
    }

    fn allocate_link(&mut self, node: usize) -> LinkId {
        match self.nodes.get_mut(node) {
            Some(entry) => {
                let id = LinkId(entry.next_link);
                entry.next_link += 1;
                id
            }
            None => LinkId(u64::MAX),
        }
    }

    /// Feeds `input` to `node` and carries out what it emits.
    fn input(&mut self, node: usize, input: Input<'_>) {
        let now = self.now;
        if let Some(entry) = self.nodes.get_mut(node) {
            entry.node.input(now, input);
        }
        self.drain(node);
    }

    fn flush_dirty(&mut self) {
        while let Some(node) = self.dirty.pop_first() {
            self.drain(node);
        }
    }

    /// Carries out every output of `node`'s machine and rereads its timer.
    fn drain(&mut self, node: usize) {
        while let Some(action) = self.nodes.get_mut(node).and_then(|e| e.node.next_action()) {
            match action {
                Action::Transmit(transmit) => self.transmit(node, transmit.to, transmit.payload),
                Action::Close { peer, close } => self.close(node, peer, close),
                Action::Reconnect { at } => self.reconnect(node, at),
            }
        }
        self.refresh_timer(node);
    }

    fn refresh_timer(&mut self, node: usize) {
        let Some(entry) = self.nodes.get_mut(node) else {
            return;
        };
        let timer = entry.node.poll_timeout();
        if let Some(old) = std::mem::replace(&mut entry.timer, timer) {
            self.timers.remove(&(old, node));
        }
        if let Some(at) = timer {
            self.timers.insert((at, node));
        }
    }

    fn fire_timer(&mut self) {
        let Some((at, node)) = self.timers.pop_first() else {
            return;
        };
        self.now = self.now.max(at);
        let now = self.now;
        if let Some(entry) = self.nodes.get_mut(node) {
            entry.timer = None;
            entry.node.timeout(now);
        }
        self.drain(node);
    }

    /// The stream link `node` names by `peer` (`None`: its single connection) and
    /// `node`'s side of it.
    fn resolve(&self, node: usize, peer: Option<Peer>) -> Option<(usize, Side)> {
        let entry = self.nodes.get(node)?;
        match peer {
            None => entry.single,
            Some(Peer::Link(id)) => entry.links.get(&id).copied(),
            Some(Peer::Addr(_)) => None,
        }
    }

    fn schedule(&mut self, at: Instant, arrival: Arrival) {
        self.queue.insert((at, self.next_seq), arrival);
        self.next_seq += 1;
    }

    fn record(
        &mut self,
        from: (usize, Option<Peer>),
        to: (Option<usize>, Option<Peer>),
        bytes: Bytes,
        fate: Fate,
    ) {
        self.record_delivery(Delivery {
            at: self.now,
            from,
            to,
            bytes,
            fate,
            reordered: false,
        });
    }

    fn record_delivery(&mut self, delivery: Delivery) {
        if self.tracing {
            self.trace.push(delivery);
        }
    }

    fn transmit(&mut self, node: usize, to: Option<Peer>, payload: Payload) {
        let (kind, bytes) = match payload {
            Payload::Text(text) => (Kind::Text, Bytes::from(text)),
            Payload::Binary(bytes) => (Kind::Binary, bytes),
            Payload::Ping(bytes) => (Kind::Ping, bytes),
        };
        if let Some(Peer::Addr(addr)) = to {
            if kind == Kind::Ping {
                // No transport answers a ping on a datagram path.
                let receiver = self.addrs.get(&addr).copied();
                let from = self.nodes.get(node).and_then(|entry| entry.addr);
                self.record(
                    (node, from.map(Peer::Addr)),
                    (receiver, to),
                    bytes,
                    Fate::Undeliverable,
                );
            } else {
                self.send_datagram(node, addr, bytes);
            }
            return;
        }
        let Some((index, side)) = self.resolve(node, to) else {
            self.record((node, to), (None, None), bytes, Fate::Undeliverable);
            return;
        };
        self.send_on_link(index, side, kind, bytes);
    }

    fn send_on_link(&mut self, index: usize, side: Side, kind: Kind, bytes: Bytes) {
        let Some(link) = self.links.get(index) else {
            return;
        };
        let sendable = match link.state {
            LinkState::Open => true,
            LinkState::ClosedBy(closer) => closer != side,
            LinkState::Gone => false,
        };
        if !sendable {
            let from = (link.ends.get(side).node, link.peer(side));
            let to = (
                Some(link.ends.get(side.other()).node),
                link.peer(side.other()),
            );
            self.record(from, to, bytes, Fate::Undeliverable);
            return;
        }
        let at = self.stream_arrival(index, side);
        self.schedule(
            at,
            Arrival::Frame {
                link: index,
                from_side: side,
                kind,
                bytes,
            },
        );
    }

    /// When something `side` sends on link `index` now arrives: after the latency and
    /// jitter, and never before what it sent earlier.
    fn stream_arrival(&mut self, index: usize, side: Side) -> Instant {
        let Some(cfg) = self.links.get(index).map(|link| link.cfg) else {
            return self.now;
        };
        let delay = self.delay(&cfg);
        let mut at = deadline(self.now, delay);
        if let Some(link) = self.links.get_mut(index) {
            let last = link.last_arrival.get_mut(side);
            at = at.max(*last);
            *last = at;
        }
        at
    }

    /// Latency plus a jitter drawn from the seed.
    fn delay(&mut self, cfg: &LinkConfig) -> Duration {
        let jitter = u64::try_from(cfg.jitter.as_nanos()).unwrap_or(u64::MAX);
        let extra = if jitter == 0 {
            0
        } else {
            self.rng.random_range(0..=jitter)
        };
        cfg.latency.saturating_add(Duration::from_nanos(extra))
    }

    fn chance(&mut self, p: f64) -> bool {
        let p = if p.is_nan() { 0.0 } else { p.clamp(0.0, 1.0) };
        self.rng.random::<f64>() < p
    }

    fn send_datagram(&mut self, node: usize, to_addr: SocketAddr, bytes: Bytes) {
        let receiver = self.addrs.get(&to_addr).copied();
        let to = (receiver, Some(Peer::Addr(to_addr)));
        let from_addr = self.nodes.get(node).and_then(|entry| entry.addr);
        let (Some(from_addr), Some(receiver)) = (from_addr, receiver) else {
            self.record(
                (node, from_addr.map(Peer::Addr)),
                to,
                bytes,
                Fate::Undeliverable,
            );
            return;
        };
        let from = (node, Some(Peer::Addr(from_addr)));
        let cfg = self
            .paths
            .get(&(from_addr, to_addr))
            .copied()
            .unwrap_or(self.datagram_default);
        if self.chance(cfg.loss) {
            self.record(from, to, bytes, Fate::Lost);
            return;
        }
        let mut delay = self.delay(&cfg);
        let held = self.chance(cfg.reorder);
        if held {
            let extra = cfg
                .latency
                .saturating_add(cfg.jitter)
                .max(Duration::from_millis(1));
            delay = delay.saturating_add(extra);
        }
        let duplicate = self.chance(cfg.duplicate);
        let datagram = |bytes: Bytes, fate: Fate, held: bool| Arrival::Datagram {
            from: node,
            from_addr,
            to: receiver,
            to_addr,
            bytes,
            fate,
            held,
        };
        let original = datagram(bytes.clone(), Fate::Delivered, held);
        self.schedule(deadline(self.now, delay), original);
        if duplicate {
            let delay = self.delay(&cfg);
            let copy = datagram(bytes, Fate::Duplicated, false);
            self.schedule(deadline(self.now, delay), copy);
        }
    }

    fn close(&mut self, node: usize, peer: Option<Peer>, close: Close) {
        if let Some(entry) = self.nodes.get_mut(node) {
            entry.closes.push((peer, close.clone()));
        }
        let Some((index, side)) = self.resolve(node, peer) else {
            return;
        };
        let Some(link) = self.links.get_mut(index) else {
            return;
        };
        match link.state {
            LinkState::Open => {
                link.state = LinkState::ClosedBy(side);
                let at = self.stream_arrival(index, side);
                self.schedule(
                    at,
                    Arrival::Closing {
                        link: index,
                        from_side: side,
                        close,
                    },
                );
            }
            // Both sides closed at once: each already knows.
            LinkState::ClosedBy(closer) if closer != side => link.state = LinkState::Gone,
            LinkState::ClosedBy(_) | LinkState::Gone => {}
        }
    }

    fn reconnect(&mut self, node: usize, at: Instant) {
        let Some(entry) = self.nodes.get_mut(node) else {
            return;
        };
        entry.reconnects.push(at);
        if let (true, Some((index, _))) = (self.reopen_on_reconnect, entry.single) {
            self.schedule(at.max(self.now), Arrival::Reopen { link: index });
        }
    }

    /// Handles the earliest arrival.
    fn arrive(&mut self) {
        let Some(((at, _), arrival)) = self.queue.pop_first() else {
            return;
        };
        self.now = self.now.max(at);
        match arrival {
            Arrival::Frame {
                link,
                from_side,
                kind,
                bytes,
            } => self.arrive_frame(link, from_side, kind, bytes),
            Arrival::Closing {
                link,
                from_side,
                close,
            } => self.arrive_closing(link, from_side, close),
            Arrival::Datagram {
                from,
                from_addr,
                to,
                to_addr,
                bytes,
                fate,
                held,
            } => {
                let bound = self.addrs.get(&to_addr) == Some(&to);
                self.record_delivery(Delivery {
                    at: self.now,
                    from: (from, Some(Peer::Addr(from_addr))),
                    to: (Some(to), Some(Peer::Addr(to_addr))),
                    bytes: bytes.clone(),
                    fate: if bound { fate } else { Fate::Undeliverable },
                    reordered: held,
                });
                if bound {
                    self.input(to, Input::datagram(from_addr, &bytes));
                }
            }
            Arrival::Reopen { link } if self.reopen_on_reconnect => self.reopen(link),
            Arrival::Reopen { .. } => {}
        }
    }

    fn arrive_frame(&mut self, index: usize, from_side: Side, kind: Kind, bytes: Bytes) {
        let Some(link) = self.links.get(index) else {
            return;
        };
        let to_side = from_side.other();
        let deliverable = match link.state {
            LinkState::Open => true,
            LinkState::ClosedBy(closer) => closer == from_side,
            LinkState::Gone => false,
        };
        let from = (link.ends.get(from_side).node, link.peer(from_side));
        let (receiver, peer) = (link.ends.get(to_side).node, link.peer(to_side));
        let fate = if deliverable {
            Fate::Delivered
        } else {
            Fate::Undeliverable
        };
        self.record(from, (Some(receiver), peer), bytes.clone(), fate);
        if !deliverable {
            return;
        }
        let data = match kind {
            Kind::Text => match std::str::from_utf8(&bytes) {
                Ok(text) => Data::Text(text),
                Err(_) => Data::Binary(&bytes),
            },
            Kind::Binary => Data::Binary(&bytes),
            Kind::Pong => Data::Pong(&bytes),
            // The receiver's transport answers a ping; its machine never sees it.
            Kind::Ping => {
                self.send_on_link(index, to_side, Kind::Pong, bytes);
                return;
            }
        };
        self.input(receiver, Input::Received { from: peer, data });
    }

    fn arrive_closing(&mut self, index: usize, from_side: Side, close: Close) {
        let Some(link) = self.links.get_mut(index) else {
            return;
        };
        if link.state != LinkState::ClosedBy(from_side) {
            // Cut, or closed by both sides: nobody is left to tell.
            return;
        }
        link.state = LinkState::Gone;
        let to_side = from_side.other();
        let (receiver, from) = (link.ends.get(to_side).node, link.peer(to_side));
        self.input(
            receiver,
            Input::Closed {
                from,
                close: Some(close),
            },
        );
    }

    /// Opens a gone single-connection link again, as a fresh link between the same
    /// machines, if both still use it.
    fn reopen(&mut self, index: usize) {
        let Some(link) = self.links.get(index) else {
            return;
        };
        let (a, b) = (link.ends.a.node, link.ends.b.node);
        let (cfg, state) = (link.cfg, link.state);
        let single = |node: usize| self.nodes.get(node).and_then(|entry| entry.single);
        let current = single(a) == Some((index, Side::A)) && single(b) == Some((index, Side::B));
        match state {
            _ if !current => {}
            LinkState::Open => {}
            // Its close is still on the way: reopen once it has arrived.
            LinkState::ClosedBy(closer) => {
                let at = (*link.last_arrival.get(closer)).max(self.now);
                self.schedule(at, Arrival::Reopen { link: index });
            }
            LinkState::Gone => {
                self.open_link(a, b, cfg, true);
            }
        }
    }
}

/// A handle used with a simulator that did not issue it: the caller's mistake, and
/// no other node may stand in for the one meant.
#[allow(clippy::panic)]
fn foreign(index: usize) -> ! {
    // Only a test author's own call can reach this (a `NodeId` from another `Sim`),
    // never a simulated frame; the method docs say so, as `Vec` indexing would.
    panic!("NodeId({index}) was issued by another Sim") // ok: caller's misuse, not input
}
