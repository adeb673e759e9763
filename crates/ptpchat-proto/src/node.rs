//! The node machine: one ptpchat node speaking to many neighbours at once.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use bytes::Bytes;
use proto_core::{
    Close, Data, Input, Jitter, Limits, Machine, Outbox, Output, Payload, Peer, PendingTable,
    SeededRng, close_code, deadline,
};
use rand::RngExt;
use uuid::Uuid;

use crate::codec::{decode, encode};
use crate::error::{CallError, InputError};
use crate::event::{DownReason, Event};
use crate::message::{
    Ack, Body, Channel, ChannelRef, Connect, DEFAULT_TTL, Endpoint, Envelope, Hello, Message,
    MsgId, NodeId, NodeType, Routing, Verb,
};
use crate::peer::PeerKey;
use crate::routing::{Route, RoutingTable};
use crate::seen::SeenSet;

/// Which generation of the protocol a node speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generation {
    /// The seed's form: `msg_type` and `msg_data` only, no ids, so no routing;
    /// HELLO keeps neighbours alive and messages go to neighbours only.
    Early,
    /// The envelope with `ttl`, `flood`, ids: routing, flooding, ACKs, channels.
    Latest,
}

/// How a node behaves, and the bounds on every table it keeps.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// This node's id.
    pub node_id: NodeId,
    /// The generation it sends (it reads both).
    pub generation: Generation,
    /// What it says it is in HELLO.
    pub node_type: NodeType,
    /// Its software version, sent in HELLO.
    pub version: Option<String>,
    /// Time between HELLOs on a link, drawn anew each time (the spec's 0.5–2 s).
    pub hello_interval: Jitter,
    /// A neighbour heard from for no longer than this is dropped.
    pub link_timeout: Duration,
    /// Time between ROUTING messages to every neighbour.
    pub routing_interval: Duration,
    /// How soon a changed routing table is advertised.
    pub routing_trigger_delay: Duration,
    /// A subscribed channel with no CHANNEL sent or received for this long is
    /// announced again.
    pub channel_interval: Duration,
    /// How long a sent message may wait for its ACK.
    pub ack_timeout: Duration,
    /// How long a message without a route waits in the queue.
    pub queue_timeout: Duration,
    /// The port this node answers CONNECT with: the socket it punches from.
    pub punch_port: u16,
    /// Routes longer than this are ignored.
    pub max_hops: u32,
    /// Frame length and nesting bounds.
    pub limits: Limits,
    /// Most links (TCP) or datagram peers at once.
    pub max_links: usize,
    /// Most nodes in the routing table, and entries kept per neighbour's ROUTING.
    pub max_routes: usize,
    /// Most (`msg_id`, verb) pairs remembered to suppress duplicates.
    pub max_seen: usize,
    /// Most messages waiting for a route.
    pub max_queue: usize,
    /// Most channels known.
    pub max_channels: usize,
    /// Most members kept per channel.
    pub max_members: usize,
}

impl NodeConfig {
    /// The defaults for node `node_id`, latest generation: HELLO every 0.5–2 s,
    /// links dropped after 6 s of silence, ROUTING every 5 s, CHANNEL every 10 s,
    /// ACKs awaited 10 s, queued messages kept 60 s.
    pub fn new(node_id: NodeId) -> Self {
        NodeConfig {
            node_id,
            generation: Generation::Latest,
            node_type: NodeType::Client,
            version: None,
            hello_interval: Jitter::new(Duration::from_millis(500), Duration::from_secs(2)),
            link_timeout: Duration::from_secs(6),
            routing_interval: Duration::from_secs(5),
            routing_trigger_delay: Duration::from_millis(100),
            channel_interval: Duration::from_secs(10),
            ack_timeout: Duration::from_secs(10),
            queue_timeout: Duration::from_secs(60),
            punch_port: 0,
            max_hops: DEFAULT_TTL,
            limits: Limits::default(),
            max_links: 256,
            max_routes: 4096,
            max_seen: 4096,
            max_queue: 256,
            max_channels: 256,
            max_members: 1024,
        }
    }
}

/// Counters of what the node did, for tests and monitoring.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Messages handed to the application as [`Event::Received`].
    pub delivered: u64,
    /// Messages passed on towards their target or flooded on.
    pub relayed: u64,
    /// Messages dropped because their (`msg_id`, verb) was already seen.
    pub duplicates: u64,
    /// NACKs this node originated.
    pub nacks_sent: u64,
    /// Directed messages whose `ttl` ran out here.
    pub ttl_expired: u64,
    /// Messages queued for want of a route.
    pub queued: u64,
    /// Queued messages dropped: the queue was full or they waited too long.
    pub queue_dropped: u64,
}

/// How full each of the node's bounded tables is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TableSizes {
    /// Links or datagram peers.
    pub links: usize,
    /// Nodes in the routing table.
    pub routes: usize,
    /// Entries kept from neighbours' ROUTING messages.
    pub advert_entries: usize,
    /// Remembered (`msg_id`, verb) pairs.
    pub seen: usize,
    /// Messages waiting for a route.
    pub queue: usize,
    /// Sent messages awaiting their ACK.
    pub pending_acks: usize,
    /// Known channels.
    pub channels: usize,
    /// Outputs not yet polled.
    pub outbox: usize,
}

#[derive(Debug)]
struct Neighbour {
    node_id: Option<NodeId>,
    /// This node sent HELLO on the link.
    greeted: bool,
    /// The neighbour sent HELLO on the link.
    heard: bool,
    last_heard: Instant,
    next_hello: Instant,
    observed: Option<SocketAddr>,
}

#[derive(Debug)]
struct Queued {
    message: Message,
    target: NodeId,
    expires: Instant,
}

#[derive(Debug)]
struct ChannelState {
    name: String,
    members: BTreeSet<NodeId>,
    closed: bool,
    subscribed: bool,
    /// When a CHANNEL for it was last sent or received.
    last_listed: Instant,
}

/// One ptpchat node: HELLO and link liveness, routing, relaying and flooding,
/// ACKs, channels and CONNECT rendezvous, over any number of links. See the
/// crate docs for the design and a run loop.
#[derive(Debug)]
pub struct Node {
    config: NodeConfig,
    rng: SeededRng,
    out: Outbox<Event>,
    links: BTreeMap<PeerKey, Neighbour>,
    routing: RoutingTable,
    seen: SeenSet,
    queue: VecDeque<Queued>,
    pending: PendingTable<MsgId, NodeId>,
    channels: BTreeMap<Uuid, ChannelState>,
    next_routing: Option<Instant>,
    next_channel_check: Option<Instant>,
    stats: Stats,
}

impl Node {
    /// A node with no links yet; `rng` draws HELLO intervals and ids.
    pub fn new(config: NodeConfig, rng: SeededRng) -> Self {
        Node {
            routing: RoutingTable::new(config.node_id, config.max_routes, config.max_hops),
            seen: SeenSet::new(config.max_seen),
            pending: PendingTable::new(config.limits.max_pending),
            config,
            rng,
            out: Outbox::new(),
            links: BTreeMap::new(),
            queue: VecDeque::new(),
            channels: BTreeMap::new(),
            next_routing: None,
            next_channel_check: None,
            stats: Stats::default(),
        }
    }

    /// This node's id.
    pub fn node_id(&self) -> NodeId {
        self.config.node_id
    }

    /// The configuration.
    pub fn config(&self) -> &NodeConfig {
        &self.config
    }

    /// The counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// How full each table is.
    pub fn table_sizes(&self) -> TableSizes {
        TableSizes {
            links: self.links.len(),
            routes: self.routing.len(),
            advert_entries: self.routing.advert_entries(),
            seen: self.seen.len(),
            queue: self.queue.len(),
            pending_acks: self.pending.len(),
            channels: self.channels.len(),
            outbox: self.out.len(),
        }
    }

    /// The best route to `node`.
    pub fn route(&self, node: &NodeId) -> Option<Route> {
        self.routing.route(node)
    }

    /// Every known node with its best route.
    pub fn routes(&self) -> Vec<(NodeId, Route)> {
        self.routing.routes().collect()
    }

    /// The neighbours, with their node ids once their HELLO said them.
    pub fn neighbours(&self) -> Vec<(Peer, Option<NodeId>)> {
        self.links
            .iter()
            .map(|(&key, neighbour)| (key.into(), neighbour.node_id))
            .collect()
    }

    /// A channel's members, if the channel is known.
    pub fn channel_members(&self, channel_id: &Uuid) -> Option<Vec<NodeId>> {
        self.channels
            .get(channel_id)
            .map(|channel| channel.members.iter().copied().collect())
    }

    /// Whether the neighbour at `peer` has said HELLO on its link yet (the spec
    /// makes HELLO the first message between nodes); `None` if `peer` is not a
    /// neighbour. For a tool that watches a link and judges the far side.
    pub fn greeted_by(&self, peer: Peer) -> Option<bool> {
        self.links
            .get(&PeerKey::from(peer))
            .map(|neighbour| neighbour.heard)
    }

    /// Whether a message with `msg_id` this node sent still awaits its ACK.
    pub fn awaits_ack(&self, msg_id: &MsgId) -> bool {
        self.pending.contains(msg_id)
    }

    /// Takes note of `message`, which this node sent without [`send`](Node::send)
    /// (a tool replaying or watching the node's traffic plays it this way): if
    /// `send` would have awaited its ACK — it comes from this node, is directed and
    /// not flooded, and its verb is acknowledged — it is awaited the same way, and
    /// `Ok(true)` is returned.
    pub fn note_sent(&mut self, now: Instant, message: &Message) -> Result<bool, CallError> {
        let envelope = message.envelope;
        let (Some(msg_id), Some(target)) = (envelope.msg_id, envelope.target_id) else {
            return Ok(false);
        };
        if envelope.sender_id != Some(self.config.node_id)
            || envelope.flood == Some(true)
            || !message.verb().wants_ack()
        {
            return Ok(false);
        }
        self.pending
            .insert(msg_id, deadline(now, self.config.ack_timeout), target)?;
        Ok(true)
    }

    /// Tells the node the address a link's neighbour is seen from, which it needs
    /// to act as a CONNECT rendezvous. Datagram peers need not be told.
    pub fn set_observed_addr(&mut self, peer: Peer, addr: SocketAddr) -> Result<(), CallError> {
        let neighbour = self
            .links
            .get_mut(&peer.into())
            .ok_or(CallError::NotNeighbour(peer))?;
        neighbour.observed = Some(addr);
        Ok(())
    }

    /// Starts talking to a datagram peer: it becomes a neighbour and gets a HELLO.
    pub fn add_peer(&mut self, now: Instant, addr: SocketAddr) -> Result<(), CallError> {
        let key = PeerKey::Addr(addr);
        if !self.links.contains_key(&key) {
            if self.links.len() >= self.config.max_links {
                return Err(CallError::NotNeighbour(Peer::Addr(addr)));
            }
            self.add_link(now, key);
        }
        self.send_hello(now, key);
        Ok(())
    }

    /// Sends `body` to node `target`, routed; returns its `msg_id`. Verbs the spec
    /// acknowledges are awaited: [`Event::Acked`] or [`Event::Unacknowledged`]
    /// follows. Without a route the message is queued and [`Event::Nacked`] (by
    /// this node) reported at once.
    pub fn send(&mut self, now: Instant, target: NodeId, body: Body) -> Result<MsgId, CallError> {
        self.send_with_ttl(now, target, body, DEFAULT_TTL)
    }

    /// [`send`](Node::send) with a chosen `ttl`.
    pub fn send_with_ttl(
        &mut self,
        now: Instant,
        target: NodeId,
        body: Body,
        ttl: u32,
    ) -> Result<MsgId, CallError> {
        self.latest()?;
        let message = self.message(Some(ttl), Some(false), Some(target), body);
        let msg_id = message.envelope.msg_id.unwrap_or_default();
        if message.verb().wants_ack() {
            self.pending
                .insert(msg_id, deadline(now, self.config.ack_timeout), target)?;
        }
        self.route_message(now, message, None);
        Ok(msg_id)
    }

    /// Floods `body` to the whole network; returns its `msg_id`.
    pub fn flood(&mut self, now: Instant, body: Body) -> Result<MsgId, CallError> {
        self.latest()?;
        let message = self.message(Some(DEFAULT_TTL), Some(true), None, body);
        let msg_id = message.envelope.msg_id.unwrap_or_default();
        self.route_message(now, message, None);
        Ok(msg_id)
    }

    /// Sends `body` to one neighbour only (`ttl` 1 in the latest generation, no
    /// envelope in the early one).
    pub fn send_to_peer(&mut self, peer: Peer, body: Body) -> Result<(), CallError> {
        let key = PeerKey::from(peer);
        if !self.links.contains_key(&key) {
            return Err(CallError::NotNeighbour(peer));
        }
        let message = self.message(Some(1), Some(false), None, body);
        self.transmit(key, &message);
        Ok(())
    }

    /// Creates a channel this node is the only member of, and announces it;
    /// returns its id.
    pub fn create_channel(
        &mut self,
        now: Instant,
        name: &str,
        closed: bool,
    ) -> Result<Uuid, CallError> {
        self.latest()?;
        if self.channels.len() >= self.config.max_channels {
            return Err(CallError::TooManyChannels {
                max: self.config.max_channels,
            });
        }
        let channel_id = self.new_id();
        let members = BTreeSet::from([self.config.node_id]);
        self.channels.insert(
            channel_id,
            ChannelState {
                name: name.to_owned(),
                members,
                closed,
                subscribed: true,
                last_listed: now,
            },
        );
        self.announce_channel(now, channel_id);
        self.arm_channel_check(now);
        Ok(channel_id)
    }

    /// Joins a known channel: JOIN goes to the network (public) or to each member
    /// (private).
    pub fn join_channel(&mut self, now: Instant, channel_id: Uuid) -> Result<(), CallError> {
        self.latest()?;
        let own = self.config.node_id;
        let channel = self
            .channels
            .get_mut(&channel_id)
            .ok_or(CallError::UnknownChannel)?;
        channel.subscribed = true;
        channel.members.insert(own);
        channel.last_listed = now;
        self.send_channel_verb(now, channel_id, Verb::Join);
        self.arm_channel_check(now);
        Ok(())
    }

    /// Leaves a channel: LEAVE goes where JOIN would.
    pub fn leave_channel(&mut self, now: Instant, channel_id: Uuid) -> Result<(), CallError> {
        self.latest()?;
        let own = self.config.node_id;
        let channel = self
            .channels
            .get_mut(&channel_id)
            .ok_or(CallError::UnknownChannel)?;
        channel.subscribed = false;
        self.send_channel_verb(now, channel_id, Verb::Leave);
        if let Some(channel) = self.channels.get_mut(&channel_id) {
            channel.members.remove(&own);
        }
        Ok(())
    }

    /// Starts a CONNECT rendezvous through neighbour `via` towards node `target`
    /// (latest form); [`Event::Punch`] follows when `via` returns the full message.
    pub fn connect(&mut self, via: NodeId, target: NodeId) -> Result<(), CallError> {
        self.latest()?;
        let key = self
            .neighbour_by_id(via)
            .ok_or(CallError::NodeNotNeighbour(via))?;
        let connect = Connect {
            src_node_id: Some(self.config.node_id),
            dst_node_id: Some(target),
            dst: Endpoint::Empty,
            src: Endpoint::Port(self.config.punch_port),
        };
        let message = self.message(Some(DEFAULT_TTL), Some(false), None, Body::Connect(connect));
        self.transmit(key, &message);
        Ok(())
    }

    /// Starts an early-form CONNECT through neighbour `via` towards the node at
    /// `target` (an IP, as the early spec has it).
    pub fn connect_early(&mut self, via: Peer, target: IpAddr) -> Result<(), CallError> {
        let key = PeerKey::from(via);
        if !self.links.contains_key(&key) {
            return Err(CallError::NotNeighbour(via));
        }
        let connect = Connect {
            src_node_id: None,
            dst_node_id: None,
            dst: Endpoint::Ip(target),
            src: Endpoint::Port(self.config.punch_port),
        };
        self.transmit(key, &Message::early(Body::Connect(connect)));
        Ok(())
    }

    fn latest(&self) -> Result<(), CallError> {
        match self.config.generation {
            Generation::Latest => Ok(()),
            Generation::Early => Err(CallError::EarlyGeneration),
        }
    }

    fn new_id(&mut self) -> Uuid {
        uuid::Builder::from_random_bytes(self.rng.random()).into_uuid()
    }

    /// A message from this node, with the envelope its generation uses.
    fn message(
        &mut self,
        ttl: Option<u32>,
        flood: Option<bool>,
        target_id: Option<NodeId>,
        body: Body,
    ) -> Message {
        let envelope = match self.config.generation {
            Generation::Early => Envelope::default(),
            Generation::Latest => Envelope {
                ttl,
                flood,
                msg_id: Some(self.new_id()),
                sender_id: Some(self.config.node_id),
                target_id,
            },
        };
        Message { envelope, body }
    }

    fn transmit(&mut self, to: PeerKey, message: &Message) {
        self.out
            .transmit_to(to.into(), Payload::Binary(Bytes::from(encode(message))));
    }

    fn add_link(&mut self, now: Instant, key: PeerKey) {
        let observed = match key {
            PeerKey::Addr(addr) => Some(addr),
            PeerKey::Link(_) => None,
        };
        self.links.insert(
            key,
            Neighbour {
                node_id: None,
                greeted: false,
                heard: false,
                last_heard: now,
                next_hello: now,
                observed,
            },
        );
        if self.config.generation == Generation::Latest && self.next_routing.is_none() {
            self.next_routing = Some(deadline(now, self.config.routing_interval));
        }
    }

    fn send_hello(&mut self, now: Instant, key: PeerKey) {
        let hello = match self.config.generation {
            Generation::Early => Hello::default(),
            Generation::Latest => Hello {
                version: self.config.version.clone(),
                node_type: Some(self.config.node_type),
            },
        };
        let message = self.message(Some(1), Some(false), None, Body::Hello(hello));
        self.transmit(key, &message);
        let interval = self.config.hello_interval.sample(&mut self.rng);
        if let Some(neighbour) = self.links.get_mut(&key) {
            neighbour.greeted = true;
            neighbour.next_hello = deadline(now, interval);
        }
    }

    fn send_routing(&mut self, key: PeerKey) {
        let nodes = self.routing.advert_for(key);
        let routing = Routing {
            node_id: Some(self.config.node_id),
            nodes,
        };
        let message = self.message(Some(1), Some(false), None, Body::Routing(routing));
        self.transmit(key, &message);
    }

    fn neighbour_by_id(&self, node_id: NodeId) -> Option<PeerKey> {
        self.links
            .iter()
            .find(|(_, neighbour)| neighbour.node_id == Some(node_id))
            .map(|(&key, _)| key)
    }

    fn link_down(&mut self, now: Instant, key: PeerKey, reason: DownReason) {
        let Some(neighbour) = self.links.remove(&key) else {
            return;
        };
        if self.routing.remove_peer(key) {
            self.routes_changed(now);
        }
        if reason == DownReason::Silent {
            if let PeerKey::Link(_) = key {
                self.out.close_peer(
                    key.into(),
                    Close::new(close_code::GOING_AWAY, "link silent"),
                );
            }
        }
        self.out.event(Event::NeighbourDown {
            peer: key.into(),
            node_id: neighbour.node_id,
            reason,
        });
    }

    /// The routes changed: advertise soon, and send what waited for a route.
    fn routes_changed(&mut self, now: Instant) {
        let soon = deadline(now, self.config.routing_trigger_delay);
        self.next_routing = Some(self.next_routing.map_or(soon, |at| at.min(soon)));
        let mut waiting = std::mem::take(&mut self.queue);
        waiting.retain(|queued| match self.routing.route(&queued.target) {
            Some(route) => {
                self.stats.relayed += 1;
                self.out.transmit_to(
                    route.via,
                    Payload::Binary(Bytes::from(encode(&queued.message))),
                );
                false
            }
            None => true,
        });
        self.queue = waiting;
    }

    fn enqueue(&mut self, now: Instant, message: Message, target: NodeId) {
        if self.config.max_queue == 0 {
            self.stats.queue_dropped += 1;
            return;
        }
        if self.queue.len() >= self.config.max_queue {
            self.queue.pop_front();
            self.stats.queue_dropped += 1;
        }
        self.stats.queued += 1;
        self.queue.push_back(Queued {
            message,
            target,
            expires: deadline(now, self.config.queue_timeout),
        });
    }

    /// Sends, relays, floods or delivers `message`, which came from `from` (or
    /// from this node when `None`).
    fn route_message(&mut self, now: Instant, mut message: Message, from: Option<PeerKey>) {
        let envelope = message.envelope;
        if let Some(msg_id) = envelope.msg_id {
            if !self.seen.insert((msg_id, message.verb())) {
                self.stats.duplicates += 1;
                return;
            }
        }
        let ttl = envelope.ttl.unwrap_or(DEFAULT_TTL);
        // A received message took a hop to get here.
        let ttl = if from.is_some() {
            ttl.saturating_sub(1)
        } else {
            ttl
        };
        if envelope.flood == Some(true) {
            if let Some(from) = from {
                self.deliver(now, from, message.clone());
            }
            // A flood simply ends where its ttl does: a NACK from every edge of the
            // network would be a storm.
            if ttl == 0 {
                return;
            }
            message.envelope.ttl = Some(ttl);
            let payload = Bytes::from(encode(&message));
            let targets: Vec<PeerKey> = self
                .links
                .keys()
                .copied()
                .filter(|&key| Some(key) != from)
                .collect();
            for key in targets {
                self.stats.relayed += u64::from(from.is_some());
                self.out
                    .transmit_to(key.into(), Payload::Binary(payload.clone()));
            }
            return;
        }
        match (envelope.target_id, from) {
            (Some(target), Some(from)) if target == self.config.node_id => {
                self.deliver(now, from, message);
            }
            (Some(target), _) => {
                if ttl == 0 {
                    self.stats.ttl_expired += 1;
                    self.nack(now, &message);
                    return;
                }
                message.envelope.ttl = Some(ttl);
                match self.routing.route(&target) {
                    Some(route) => {
                        self.stats.relayed += u64::from(from.is_some());
                        self.transmit(route.via.into(), &message);
                    }
                    None => {
                        self.nack(now, &message);
                        self.enqueue(now, message, target);
                    }
                }
            }
            (None, Some(from)) => self.deliver(now, from, message),
            // A message from this node to no one: nothing to do.
            (None, None) => {}
        }
    }

    /// Tells `message`'s sender it could not be passed on. ACKs and NACKs are
    /// never NACKed, so NACKs cannot chase each other.
    fn nack(&mut self, now: Instant, message: &Message) {
        if matches!(message.body, Body::Ack(_) | Body::Nack(_)) {
            return;
        }
        let (Some(msg_id), Some(sender)) = (message.envelope.msg_id, message.envelope.sender_id)
        else {
            return;
        };
        if sender == self.config.node_id {
            self.out.event(Event::Nacked {
                msg_id,
                by: Some(sender),
            });
            return;
        }
        self.stats.nacks_sent += 1;
        let nack = self.message(
            Some(DEFAULT_TTL),
            Some(false),
            Some(sender),
            Body::Nack(Ack { msg_id }),
        );
        self.route_message(now, nack, None);
    }

    /// Hands a message for this node to the application, after the node's own part:
    /// ACKs, channel membership.
    fn deliver(&mut self, now: Instant, from: PeerKey, message: Message) {
        let sender = message.envelope.sender_id;
        match &message.body {
            Body::Ack(ack) => {
                if self.pending.remove(&ack.msg_id).is_some() {
                    self.out.event(Event::Acked {
                        msg_id: ack.msg_id,
                        by: sender,
                    });
                }
                return;
            }
            Body::Nack(nack) => {
                if self.pending.contains(&nack.msg_id) {
                    self.out.event(Event::Nacked {
                        msg_id: nack.msg_id,
                        by: sender,
                    });
                }
                return;
            }
            Body::Channel(channel) => self.channel_listed(now, channel),
            Body::Join(channel) => self.member_joined(now, channel, sender),
            Body::Leave(channel) => {
                if let (Some(state), Some(sender)) =
                    (self.channels.get_mut(&channel.channel_id), sender)
                {
                    state.members.remove(&sender);
                }
            }
            _ => {}
        }
        // Floods are not acknowledged: every node of the network would answer.
        if message.verb().wants_ack() && message.envelope.flood != Some(true) {
            if let Some(msg_id) = message.envelope.msg_id {
                match sender {
                    Some(sender) => {
                        let ack = self.message(
                            Some(DEFAULT_TTL),
                            Some(false),
                            Some(sender),
                            Body::Ack(Ack { msg_id }),
                        );
                        self.route_message(now, ack, None);
                    }
                    // No sender to address: answer the neighbour it came from.
                    None => self.transmit(from, &Message::early(Body::Ack(Ack { msg_id }))),
                }
            }
        }
        self.stats.delivered += 1;
        self.out.event(Event::Received {
            from: from.into(),
            message,
        });
    }

    fn channel_entry(&mut self, now: Instant, channel: &ChannelRef) -> Option<&mut ChannelState> {
        if !self.channels.contains_key(&channel.channel_id)
            && self.channels.len() >= self.config.max_channels
        {
            return None;
        }
        Some(
            self.channels
                .entry(channel.channel_id)
                .or_insert_with(|| ChannelState {
                    name: channel.channel.clone(),
                    members: BTreeSet::new(),
                    closed: false,
                    subscribed: false,
                    last_listed: now,
                }),
        )
    }

    fn member_joined(&mut self, now: Instant, channel: &ChannelRef, sender: Option<NodeId>) {
        let max_members = self.config.max_members;
        if let (Some(state), Some(sender)) = (self.channel_entry(now, channel), sender) {
            if state.members.len() < max_members {
                state.members.insert(sender);
            }
        }
    }

    /// A CHANNEL listing: take its members, then apply the spec's two rules where
    /// it disagrees with this node — JOIN again if subscribed but not listed, LEAVE
    /// if listed but not subscribed.
    fn channel_listed(&mut self, now: Instant, listing: &Channel) {
        let own = self.config.node_id;
        let max_members = self.config.max_members;
        let reference = ChannelRef {
            channel: listing.channel.clone(),
            channel_id: listing.channel_id,
        };
        let Some(state) = self.channel_entry(now, &reference) else {
            return;
        };
        state.name.clone_from(&listing.channel);
        state.closed = listing.closed;
        state.last_listed = now;
        state.members = listing.members.iter().copied().take(max_members).collect();
        let listed = listing.members.contains(&own);
        let answer = match (state.subscribed, listed) {
            (true, false) => {
                state.members.insert(own);
                Some(Verb::Join)
            }
            (false, true) => {
                state.members.remove(&own);
                Some(Verb::Leave)
            }
            _ => None,
        };
        if let Some(verb) = answer {
            self.send_channel_verb(now, listing.channel_id, verb);
        }
    }

    /// JOIN or LEAVE: flooded for a public channel, sent to each member of a
    /// private one.
    fn send_channel_verb(&mut self, now: Instant, channel_id: Uuid, verb: Verb) {
        let Some(state) = self.channels.get(&channel_id) else {
            return;
        };
        let reference = ChannelRef {
            channel: state.name.clone(),
            channel_id,
        };
        let body = || match verb {
            Verb::Leave => Body::Leave(reference.clone()),
            _ => Body::Join(reference.clone()),
        };
        self.send_to_channel(now, channel_id, body);
    }

    /// CHANNEL for one of this node's channels.
    fn announce_channel(&mut self, now: Instant, channel_id: Uuid) {
        let Some(state) = self.channels.get_mut(&channel_id) else {
            return;
        };
        state.last_listed = now;
        let listing = Channel {
            channel: state.name.clone(),
            channel_id,
            members: state.members.iter().copied().collect(),
            closed: state.closed,
        };
        self.send_to_channel(now, channel_id, || Body::Channel(listing.clone()));
    }

    fn send_to_channel(&mut self, now: Instant, channel_id: Uuid, body: impl Fn() -> Body) {
        let Some(state) = self.channels.get(&channel_id) else {
            return;
        };
        let own = self.config.node_id;
        if state.closed {
            let members: Vec<NodeId> = state
                .members
                .iter()
                .copied()
                .filter(|&member| member != own)
                .collect();
            for member in members {
                let message = self.message(Some(DEFAULT_TTL), Some(false), Some(member), body());
                self.route_message(now, message, None);
            }
        } else {
            let message = self.message(Some(DEFAULT_TTL), Some(true), None, body());
            self.route_message(now, message, None);
        }
    }

    fn arm_channel_check(&mut self, now: Instant) {
        if self.next_channel_check.is_none() {
            self.next_channel_check = Some(deadline(now, self.config.channel_interval));
        }
    }

    fn on_hello(&mut self, now: Instant, key: PeerKey, message: &Message, hello: &Hello) {
        let sender = message.envelope.sender_id;
        let Some(neighbour) = self.links.get_mut(&key) else {
            return;
        };
        let first = !neighbour.heard;
        neighbour.heard = true;
        let greeted = neighbour.greeted;
        if let Some(sender) = sender {
            neighbour.node_id = Some(sender);
            if self.routing.set_neighbour(key, sender) {
                self.routes_changed(now);
            }
        }
        if !greeted {
            self.send_hello(now, key);
        }
        if first {
            self.out.event(Event::NeighbourUp {
                peer: key.into(),
                node_id: sender,
                node_type: hello.node_type,
            });
            if self.config.generation == Generation::Latest {
                self.send_routing(key);
                let public: Vec<Uuid> = self
                    .channels
                    .iter()
                    .filter(|(_, channel)| channel.subscribed && !channel.closed)
                    .map(|(&id, _)| id)
                    .collect();
                for channel_id in public {
                    self.announce_channel(now, channel_id);
                }
            }
        }
    }

    fn on_routing(&mut self, now: Instant, key: PeerKey, message: &Message, routing: &Routing) {
        if self.routing.neighbour(&key).is_none() {
            if let Some(sender) = message.envelope.sender_id.or(routing.node_id) {
                if let Some(neighbour) = self.links.get_mut(&key) {
                    neighbour.node_id = Some(sender);
                }
                self.routing.set_neighbour(key, sender);
            }
        }
        if self.routing.set_advert(key, routing.nodes.clone()) {
            self.routes_changed(now);
        }
    }

    /// CONNECT in each of the three roles, in both forms.
    fn on_connect(&mut self, key: PeerKey, connect: Connect) -> Result<(), InputError> {
        let own = Some(self.config.node_id);
        let latest = connect.src_node_id.is_some() || connect.dst_node_id.is_some();
        let observed = self
            .links
            .get(&key)
            .and_then(|neighbour| neighbour.observed);
        let observed = || observed.ok_or(InputError::NoObservedAddress(key.into()));
        if latest {
            if connect.dst_node_id == own && connect.dst == Endpoint::Empty {
                // Responder: answer with the port to punch from, and start punching.
                let addr = connect.src.socket().ok_or(InputError::UnexpectedConnect)?;
                let answer = Connect {
                    dst: Endpoint::Port(self.config.punch_port),
                    ..connect
                };
                let message =
                    self.message(Some(DEFAULT_TTL), Some(false), None, Body::Connect(answer));
                self.transmit(key, &message);
                self.out.event(Event::Punch {
                    node_id: connect.src_node_id,
                    addr,
                });
                return Ok(());
            }
            if connect.src_node_id == own {
                let addr = connect.dst.socket().ok_or(InputError::UnexpectedConnect)?;
                self.out.event(Event::Punch {
                    node_id: connect.dst_node_id,
                    addr,
                });
                return Ok(());
            }
            // Rendezvous: complete the sender's side, pass it to the other end.
            let (forward, towards) = match (connect.dst, connect.src) {
                (Endpoint::Empty, Endpoint::Port(_) | Endpoint::Empty) => (
                    Connect {
                        src: connect.src.filled_from(observed()?),
                        ..connect
                    },
                    connect.dst_node_id,
                ),
                (Endpoint::Port(_), Endpoint::Socket(_)) => (
                    Connect {
                        dst: connect.dst.filled_from(observed()?),
                        ..connect
                    },
                    connect.src_node_id,
                ),
                _ => return Err(InputError::UnexpectedConnect),
            };
            let next = towards
                .and_then(|node| self.neighbour_by_id(node))
                .ok_or(InputError::RendezvousUnreachable)?;
            let message =
                self.message(Some(DEFAULT_TTL), Some(false), None, Body::Connect(forward));
            self.transmit(next, &message);
            return Ok(());
        }
        match (connect.dst, connect.src) {
            // Rendezvous, step 1: the initiator names the target by IP.
            (Endpoint::Ip(target), Endpoint::Port(port)) => {
                let initiator = SocketAddr::new(observed()?.ip(), port);
                let next = self.neighbour_by_ip(target, key)?;
                let forward = Connect {
                    dst: Endpoint::Socket(initiator),
                    src: Endpoint::Ip(target),
                    ..connect
                };
                self.transmit(next, &Message::early(Body::Connect(forward)));
            }
            // Responder: the rendezvous brought the initiator's full address.
            (Endpoint::Socket(initiator), Endpoint::Ip(_)) => {
                let answer = Connect {
                    dst: Endpoint::Socket(initiator),
                    src: Endpoint::Port(self.config.punch_port),
                    ..connect
                };
                self.transmit(key, &Message::early(Body::Connect(answer)));
                self.out.event(Event::Punch {
                    node_id: None,
                    addr: initiator,
                });
            }
            // Rendezvous, step 3: the responder's port back to the initiator.
            (Endpoint::Socket(initiator), Endpoint::Port(port)) => {
                let responder = SocketAddr::new(observed()?.ip(), port);
                let next = self.neighbour_by_ip(initiator.ip(), key)?;
                let forward = Connect {
                    dst: Endpoint::Socket(responder),
                    src: Endpoint::Socket(initiator),
                    ..connect
                };
                self.transmit(next, &Message::early(Body::Connect(forward)));
            }
            // Initiator: both addresses are in.
            (Endpoint::Socket(responder), Endpoint::Socket(_)) => {
                self.out.event(Event::Punch {
                    node_id: None,
                    addr: responder,
                });
            }
            _ => return Err(InputError::UnexpectedConnect),
        }
        Ok(())
    }

    /// The neighbour seen at `ip`, other than `not`.
    fn neighbour_by_ip(&self, ip: IpAddr, not: PeerKey) -> Result<PeerKey, InputError> {
        self.links
            .iter()
            .find(|(key, neighbour)| {
                **key != not && neighbour.observed.is_some_and(|addr| addr.ip() == ip)
            })
            .map(|(&key, _)| key)
            .ok_or(InputError::RendezvousUnreachable)
    }

    fn on_received(&mut self, now: Instant, peer: Peer, data: Data<'_>) -> Result<(), InputError> {
        let key = PeerKey::from(peer);
        match self.links.get_mut(&key) {
            Some(neighbour) => neighbour.last_heard = now,
            None => match key {
                PeerKey::Link(_) => return Err(InputError::UnknownLink(peer)),
                PeerKey::Addr(_) => {
                    if self.links.len() >= self.config.max_links {
                        return Err(InputError::TooManyLinks {
                            max: self.config.max_links,
                        });
                    }
                    self.add_link(now, key);
                }
            },
        }
        let message = decode(data.as_bytes(), &self.config.limits)?;
        match &message.body {
            Body::Hello(hello) => {
                let hello = hello.clone();
                self.on_hello(now, key, &message, &hello);
            }
            Body::Routing(routing) => {
                let routing = routing.clone();
                self.on_routing(now, key, &message, &routing);
            }
            Body::Connect(connect) => self.on_connect(key, *connect)?,
            _ => self.route_message(now, message, Some(key)),
        }
        Ok(())
    }
}

impl Machine for Node {
    type Event = Event;
    type Error = InputError;

    fn handle_input(&mut self, now: Instant, input: Input<'_>) -> Result<(), InputError> {
        match input {
            Input::Opened { from } => {
                let peer = from.ok_or(InputError::MissingPeer)?;
                let key = PeerKey::from(peer);
                if self.links.contains_key(&key) {
                    return Err(InputError::AlreadyOpen(peer));
                }
                if self.links.len() >= self.config.max_links {
                    self.out
                        .close_peer(peer, Close::new(close_code::GOING_AWAY, "too many links"));
                    return Err(InputError::TooManyLinks {
                        max: self.config.max_links,
                    });
                }
                self.add_link(now, key);
                self.send_hello(now, key);
                Ok(())
            }
            Input::Received { from, data } => {
                let peer = from.ok_or(InputError::MissingPeer)?;
                self.on_received(now, peer, data)
            }
            Input::Closed { from, .. } => {
                let peer = from.ok_or(InputError::MissingPeer)?;
                let key = PeerKey::from(peer);
                if !self.links.contains_key(&key) {
                    return Err(InputError::UnknownLink(peer));
                }
                self.link_down(now, key, DownReason::Closed);
                Ok(())
            }
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        let keys: Vec<PeerKey> = self.links.keys().copied().collect();
        for key in keys {
            let Some(neighbour) = self.links.get(&key) else {
                continue;
            };
            if deadline(neighbour.last_heard, self.config.link_timeout) <= now {
                self.link_down(now, key, DownReason::Silent);
            } else if neighbour.next_hello <= now {
                self.send_hello(now, key);
            }
        }
        if self.next_routing.is_some_and(|at| at <= now) {
            self.next_routing =
                (!self.links.is_empty()).then(|| deadline(now, self.config.routing_interval));
            let keys: Vec<PeerKey> = self.links.keys().copied().collect();
            for key in keys {
                self.send_routing(key);
            }
        }
        if self.next_channel_check.is_some_and(|at| at <= now) {
            let stale: Vec<Uuid> = self
                .channels
                .iter()
                .filter(|(_, channel)| {
                    channel.subscribed
                        && deadline(channel.last_listed, self.config.channel_interval) <= now
                })
                .map(|(&id, _)| id)
                .collect();
            for channel_id in stale {
                self.announce_channel(now, channel_id);
            }
            self.next_channel_check = Some(deadline(now, self.config.channel_interval));
        }
        while let Some((msg_id, target)) = self.pending.pop_expired(now) {
            self.out.event(Event::Unacknowledged { msg_id, target });
        }
        while self
            .queue
            .front()
            .is_some_and(|queued| queued.expires <= now)
        {
            self.queue.pop_front();
            self.stats.queue_dropped += 1;
        }
    }

    fn poll_output(&mut self) -> Option<Output<Event>> {
        self.out.pop()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        let links = self.links.values().flat_map(|neighbour| {
            [
                neighbour.next_hello,
                deadline(neighbour.last_heard, self.config.link_timeout),
            ]
        });
        links
            .chain(self.next_routing)
            .chain(self.next_channel_check)
            .chain(self.pending.next_deadline())
            .chain(self.queue.front().map(|queued| queued.expires))
            .min()
    }
}
