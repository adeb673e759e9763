//! ptpchat's live plug: the observer that judges a link from both ends with
//! `ptpchat_proto::Node`s, and `serve`/`connect` as a node over length-prefixed TCP
//! ([`Ptpchat`]) or UDP datagrams ([`PtpchatUdp`]).
//!
//! # How the observer judges
//!
//! Each end of the link is played by a [`Node`] that is handed what the *other*
//! end sends, as a real node would be, and told what its own end sent
//! ([`Node::note_sent`]). The node's refusals ([`ptpchat_proto::InputError`]) and
//! its tables decide, on the frame where it happens:
//!
//! - a frame that is not ptpchat: the node's `bad message: …` refusal;
//! - a verb before the sender's HELLO on the link (the spec makes HELLO the first
//!   message between nodes): [`Node::greeted_by`];
//! - an ACK to an end that awaits no ACK for that id (it sent no such acknowledged
//!   message, or it was acknowledged already): [`Node::awaits_ack`];
//! - a reused `msg_id` on an acknowledged message: the pending table's refusal;
//! - a message the node has handled already (a relay loop, a flood passed back):
//!   the node's duplicate counter;
//! - a message that arrives with `ttl` 0 (every hop decrements `ttl` on arrival and
//!   a node passes a message on only while it lasts);
//! - CONNECT out of sequence: the node's refusal;
//!
//! and, by silence, with the node's own timers: an end not heard from for
//! [`NodeConfig::link_timeout`] (its HELLOs stopped), and a directed acknowledged
//! message the other end did not ACK within [`NodeConfig::ack_timeout`]. The nodes
//! use the crate's default configuration.
//!
//! The watched link is the only one the played nodes have, so a CONNECT that makes
//! an end the rendezvous towards some third node is not judged (the real node has
//! links the observer cannot see); on a link of a larger network, an ACK for a
//! message its end sent over another link is flagged, as nothing on this link
//! awaits it. An end's node takes the id its first HELLO
//! gives; until then it plays with the nil id, and it is rebuilt from what it was
//! fed once the id is known.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use proto_core::{Data, Input, Limits, LinkId, Machine, Peer, seeded_rng};
use proto_tokio::{PeerTraffic, TcpConfig, TcpDriver, UdpConfig, UdpDriver};
use ptpchat_proto::{
    Body, Connect, DownReason, Event, Generation, InputError, Message, Node, NodeConfig, NodeId,
    Verb, decode, encode,
};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::running::{self, Running, say};
use super::{
    BoxFuture, Console, Direction, Failure, Frame, FrameData, LiveProtocol, Observation, Observer,
    PeerOptions, Wire,
};

/// ptpchat over TCP, each frame after a 4-byte big-endian length.
pub(crate) struct Ptpchat;

/// ptpchat over UDP, one message per datagram.
pub(crate) struct PtpchatUdp;

impl LiveProtocol for Ptpchat {
    const NAME: &'static str = "ptpchat";
    const WIRE: Wire = Wire::LengthPrefixedTcp;

    fn observer(_options: &PeerOptions, _start: Instant) -> Box<dyn Observer> {
        Box::new(PtpchatObserver::new(Transport::Tcp))
    }

    fn serve(
        options: PeerOptions,
        listen: SocketAddr,
        console: Console,
    ) -> BoxFuture<Result<(), Failure>> {
        Box::pin(serve_tcp(options, listen, console))
    }

    fn connect(
        options: PeerOptions,
        target: String,
        console: Console,
    ) -> BoxFuture<Result<(), Failure>> {
        Box::pin(connect_tcp(options, target, console))
    }
}

impl LiveProtocol for PtpchatUdp {
    const NAME: &'static str = "ptpchat-udp";
    const WIRE: Wire = Wire::Udp;

    fn observer(_options: &PeerOptions, _start: Instant) -> Box<dyn Observer> {
        Box::new(PtpchatObserver::new(Transport::Udp))
    }

    fn serve(
        options: PeerOptions,
        listen: SocketAddr,
        console: Console,
    ) -> BoxFuture<Result<(), Failure>> {
        Box::pin(serve_udp(options, listen, console))
    }

    fn connect(
        options: PeerOptions,
        target: String,
        console: Console,
    ) -> BoxFuture<Result<(), Failure>> {
        Box::pin(connect_udp(options, target, console))
    }
}

/// The decoded frame as `encode ptpchat` reads it (its canonical encoding), or the
/// decoder's error as `decode ptpchat` prints it.
fn render(bytes: &[u8]) -> (String, Result<Value, String>, Option<Message>) {
    match decode(bytes, &Limits::default()) {
        Ok(message) => {
            let value = serde_json::from_slice(&encode(&message)).map_err(|e| e.to_string());
            (message.verb().name().to_owned(), value, Some(message))
        }
        Err(error) => (
            "(bad frame)".to_owned(),
            Err(format!("{error}  [{error:?}]")),
            None,
        ),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    Tcp,
    Udp,
}

/// Where the played nodes see the other end: link 1 over TCP; over UDP, made-up
/// addresses (the capture does not carry them), which also serve as the observed
/// addresses a CONNECT rendezvous needs.
const CLIENT_AT: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), 1);
const SERVER_AT: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)), 2);

/// Most inputs kept to rebuild an end's node once its id is known; an early-form
/// node never says its id, and then the nil one stays.
const REBUILD_LOG: usize = 64;

/// What an end's node was fed, to rebuild it with the real id.
#[derive(Debug, Clone)]
enum Fed {
    Opened,
    Received(Vec<u8>),
    Sent(Message),
    Closed,
    Timeout,
}

/// One end of the link, played by a node.
struct End {
    /// `client` or `server`.
    name: &'static str,
    node: Node,
    /// How this end's node names the other end.
    other: Peer,
    /// The other end's address as this end sees it.
    other_at: SocketAddr,
    /// Everything fed while the id is unknown; `None` once it is (or given up).
    log: Option<Vec<(Instant, Fed)>>,
    open: bool,
}

impl End {
    fn new(name: &'static str, other: Peer, other_at: SocketAddr, node_id: NodeId) -> End {
        End {
            name,
            node: Node::new(NodeConfig::new(node_id), seeded_rng(0)),
            other,
            other_at,
            log: Some(Vec::new()),
            open: false,
        }
    }

    fn known(&self) -> bool {
        self.node.node_id() != Uuid::nil()
    }

    fn record(&mut self, now: Instant, fed: Fed) {
        if let Some(log) = &mut self.log {
            if log.len() < REBUILD_LOG {
                log.push((now, fed));
            } else {
                self.log = None;
            }
        }
    }

    /// Feeds one input; what the node sends is the real end's business, so it is
    /// drained and dropped; events come back.
    fn feed(&mut self, now: Instant, fed: &Fed) -> (Result<(), InputError>, Vec<Event>) {
        let result = match fed {
            Fed::Opened => {
                self.open = true;
                let result = self.node.handle_input(
                    now,
                    Input::Opened {
                        from: Some(self.other),
                    },
                );
                let _ = self.node.set_observed_addr(self.other, self.other_at);
                result
            }
            Fed::Received(bytes) => self.node.handle_input(
                now,
                Input::Received {
                    from: Some(self.other),
                    data: Data::Binary(bytes),
                },
            ),
            // A refusal here was judged when the message was seen.
            Fed::Sent(message) => {
                let _ = self.node.note_sent(now, message);
                Ok(())
            }
            Fed::Closed => {
                self.open = false;
                self.node.handle_input(
                    now,
                    Input::Closed {
                        from: Some(self.other),
                        close: None,
                    },
                )
            }
            Fed::Timeout => {
                self.node.handle_timeout(now);
                Ok(())
            }
        };
        let mut events = Vec::new();
        while let Some(output) = self.node.poll_output() {
            if let proto_core::Output::Event(event) = output {
                events.push(event);
            }
        }
        (result, events)
    }

    /// The end said its id: play it with that id from the start.
    fn learn_id(&mut self, node_id: NodeId) {
        let Some(log) = self.log.take() else {
            return;
        };
        if self.known() {
            return;
        }
        self.node = Node::new(NodeConfig::new(node_id), seeded_rng(0));
        for (at, fed) in &log {
            let _ = self.feed(*at, fed);
        }
    }
}

/// Judges one ptpchat link; see the module docs.
pub(crate) struct PtpchatObserver {
    /// `[client's end, server's end]`.
    ends: [End; 2],
}

impl PtpchatObserver {
    fn new(transport: Transport) -> Self {
        let (client_sees, server_sees) = match transport {
            Transport::Tcp => (Peer::Link(LinkId(1)), Peer::Link(LinkId(1))),
            Transport::Udp => (Peer::Addr(SERVER_AT), Peer::Addr(CLIENT_AT)),
        };
        PtpchatObserver {
            ends: [
                End::new("client", client_sees, SERVER_AT, Uuid::nil()),
                End::new("server", server_sees, CLIENT_AT, Uuid::nil()),
            ],
        }
    }

    fn open(&mut self, now: Instant) {
        for end in &mut self.ends {
            if !end.open {
                end.record(now, Fed::Opened);
                let _ = end.feed(now, &Fed::Opened);
            }
        }
    }

    /// One frame going `direction`: the sending end's node is told it sent it, the
    /// receiving end's node is handed it; returns the rules it broke.
    fn message(
        &mut self,
        now: Instant,
        direction: Direction,
        bytes: &[u8],
        message: Option<&Message>,
    ) -> Vec<String> {
        let (to, from) = match direction {
            Direction::ToServer => (1, 0),
            Direction::ToClient => (0, 1),
        };
        let mut violations = Vec::new();
        let mut reused = None;
        if let Some(message) = message {
            if let (Body::Hello(_), Some(id)) = (&message.body, message.envelope.sender_id) {
                if let Some(sender) = self.ends.get_mut(from) {
                    sender.learn_id(id);
                }
            }
            if let Some(sender) = self.ends.get_mut(from) {
                let fed = Fed::Sent(message.clone());
                sender.record(now, fed);
                if let Err(error) = sender.node.note_sent(now, message) {
                    reused = Some(format!("{} reused msg_id: {error}", sender.name));
                }
            }
        }
        let Some(receiver) = self.ends.get_mut(to) else {
            return violations;
        };
        if let Some(message) = message {
            let verb = message.verb();
            let latest = !message.envelope.is_empty();
            if latest
                && verb != Verb::Hello
                && receiver.node.greeted_by(receiver.other) == Some(false)
            {
                violations.push(format!(
                    "{verb} before HELLO: the spec makes HELLO the first message on a link"
                ));
            }
            if let Body::Ack(ack) = &message.body {
                let for_receiver = match message.envelope.target_id {
                    Some(target) => receiver.known() && target == receiver.node.node_id(),
                    None => true,
                };
                if for_receiver && !receiver.node.awaits_ack(&ack.msg_id) {
                    violations.push(format!(
                        "ACK for {}, which the {} awaits no ACK for",
                        ack.msg_id, receiver.name
                    ));
                }
            }
            if message.envelope.ttl == Some(0) {
                violations.push(format!(
                    "{verb} arrived with ttl 0: it was passed on after its ttl ran out"
                ));
            }
        }
        let duplicates = receiver.node.stats().duplicates;
        let fed = Fed::Received(bytes.to_vec());
        receiver.record(now, fed.clone());
        let (result, _) = receiver.feed(now, &fed);
        match result {
            // The real node has links the observer cannot see.
            Ok(()) | Err(InputError::RendezvousUnreachable) => {}
            Err(error) => violations.push(error.to_string()),
        }
        match message {
            // A message sent twice reuses its id too: one rule, said once.
            Some(message) if receiver.node.stats().duplicates > duplicates => {
                violations.push(format!(
                    "duplicate {} {}: the {} has handled it already",
                    message.verb(),
                    message.envelope.msg_id.unwrap_or_default(),
                    receiver.name
                ));
            }
            _ => violations.extend(reused),
        }
        violations
    }
}

impl Observer for PtpchatObserver {
    fn observe(&mut self, now: Instant, frame: &Frame) -> Observation {
        match &frame.data {
            FrameData::Open => {
                self.open(now);
                Observation {
                    kind: "open".to_owned(),
                    value: Ok(Value::Null),
                    violations: Vec::new(),
                }
            }
            FrameData::Close(_) => {
                for end in &mut self.ends {
                    if end.open {
                        end.record(now, Fed::Closed);
                        let _ = end.feed(now, &Fed::Closed);
                    }
                }
                Observation {
                    kind: "close".to_owned(),
                    value: Ok(Value::Null),
                    violations: Vec::new(),
                }
            }
            FrameData::Text(text) => self.frame(now, frame.direction, text.as_bytes()),
            FrameData::Binary(bytes) => self.frame(now, frame.direction, bytes),
        }
    }

    fn poll_deadline(&self) -> Option<Instant> {
        self.ends
            .iter()
            .filter(|end| end.open)
            .filter_map(|end| end.node.poll_timeout())
            .min()
    }

    fn on_deadline(&mut self, now: Instant) -> Vec<String> {
        let mut violations = Vec::new();
        let ids = [self.ends[0].node.node_id(), self.ends[1].node.node_id()];
        for (i, end) in self.ends.iter_mut().enumerate() {
            if !end.open || end.node.poll_timeout().is_none_or(|at| at > now) {
                continue;
            }
            end.record(now, Fed::Timeout);
            let (_, events) = end.feed(now, &Fed::Timeout);
            let other_id = ids.get(1 - i).copied().unwrap_or_default();
            let other = if i == 0 { "server" } else { "client" };
            for event in events {
                match event {
                    Event::NeighbourDown {
                        reason: DownReason::Silent,
                        ..
                    } => {
                        violations.push(format!(
                            "{other} silent for {:?}: the {} drops the link ({event:?})",
                            end.node.config().link_timeout,
                            end.name
                        ));
                        // Judge what follows on a fresh link.
                        end.record(now, Fed::Opened);
                        let _ = end.feed(now, &Fed::Opened);
                    }
                    Event::Unacknowledged { msg_id, target }
                        if target == other_id && other_id != Uuid::nil() =>
                    {
                        violations.push(format!(
                            "{other} did not ACK {msg_id} within {:?}",
                            end.node.config().ack_timeout
                        ));
                    }
                    _ => {}
                }
            }
        }
        violations
    }
}

impl PtpchatObserver {
    fn frame(&mut self, now: Instant, direction: Direction, bytes: &[u8]) -> Observation {
        self.open(now);
        let (kind, value, message) = render(bytes);
        let violations = self.message(now, direction, bytes, message.as_ref());
        Observation {
            kind,
            value,
            violations,
        }
    }
}

// ---- serve and connect ----------------------------------------------------------

/// How long `connect` may take to reach its target.
const DIAL_TIMEOUT: Duration = Duration::from_secs(10);

/// The node id `--node-id` gives, or a fresh random one (said on the console).
fn node_config(options: &PeerOptions, console: &Console) -> Result<NodeConfig, Failure> {
    let node_id = match &options.node_id {
        Some(text) => Uuid::parse_str(text).map_err(|e| format!("--node-id {text:?}: {e}"))?,
        None => {
            let id = fresh_id();
            say(console, format!("node id {id} (made on the spot)"));
            id
        }
    };
    let mut config = NodeConfig::new(node_id);
    config.version = Some(concat!("wirescope ", env!("CARGO_PKG_VERSION")).to_owned());
    config.generation = match options.version.as_deref() {
        None | Some("latest") => Generation::Latest,
        Some("early") => Generation::Early,
        Some(other) => {
            return Err(format!("--version {other:?}: ptpchat speaks `latest` or `early`").into());
        }
    };
    Ok(config)
}

/// A random version-4 id.
fn fresh_id() -> Uuid {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&running::random_seed().to_be_bytes());
    bytes[8..].copy_from_slice(&running::random_seed().to_be_bytes());
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// A tap printing each frame received and sent (a link's HELLO and ROUTING only
/// the first time each way: they repeat every second or so).
fn tap(output: mpsc::UnboundedSender<String>) -> impl FnMut(PeerTraffic<'_>) + Send + 'static {
    let mut shown: BTreeSet<(String, bool, &'static str)> = BTreeSet::new();
    move |traffic| {
        let (arrow, peer, bytes) = match traffic {
            PeerTraffic::Received { from, bytes } => ("←", from, bytes),
            PeerTraffic::Sent { to, bytes } => ("→", to, bytes),
            PeerTraffic::Opened { link, addr, .. } => {
                let _ = output.send(format!("{link} open: {addr}"));
                return;
            }
            PeerTraffic::Ended { link, reason } => {
                let _ = output.send(format!("{link} ended: {reason:?}"));
                return;
            }
            _ => return,
        };
        let peer = match peer {
            Peer::Link(link) => link.to_string(),
            Peer::Addr(addr) => addr.to_string(),
        };
        let (kind, value, message) = render(bytes);
        if let Some(message) = message {
            let verb = message.verb();
            if matches!(verb, Verb::Hello | Verb::Routing)
                && !shown.insert((peer.clone(), arrow == "→", verb.name()))
            {
                return;
            }
        }
        let shown = match value {
            Ok(value) => value.to_string(),
            Err(error) => format!("{}  ({error})", String::from_utf8_lossy(bytes)),
        };
        let _ = output.send(format!("{arrow} {peer} {kind} {shown}"));
    }
}

/// Carries out one line the user typed: a ptpchat message as `encode` reads it,
/// mapped to the node's calls.
///
/// - `flood: true`: [`Node::flood`] of its body;
/// - a `target_id`: [`Node::send`] of its body to that node (with `ttl` when given);
/// - CHANNEL: [`Node::create_channel`]; JOIN / LEAVE: join or leave the channel;
/// - CONNECT naming `dst_node_id`: [`Node::connect`] through the first neighbour
///   that said its id;
/// - anything else: sent to every neighbour ([`Node::send_to_peer`]).
///
/// The node makes the envelope: its own `msg_id` and `sender_id`.
fn apply(node: &mut Node, now: Instant, line: &str) -> String {
    let message = match decode(line.as_bytes(), &Limits::default()) {
        Ok(message) => message,
        Err(error) => return format!("not sent: {error}  [{error:?}]"),
    };
    let envelope = message.envelope;
    let verb = message.verb();
    let result = match (message.body, envelope.flood, envelope.target_id) {
        (Body::Channel(channel), _, _) => node
            .create_channel(now, &channel.channel, channel.closed)
            .map(|id| format!("created channel {id}")),
        (Body::Join(channel), _, _) => node
            .join_channel(now, channel.channel_id)
            .map(|()| format!("joined {}", channel.channel_id)),
        (Body::Leave(channel), _, _) => node
            .leave_channel(now, channel.channel_id)
            .map(|()| format!("left {}", channel.channel_id)),
        (
            Body::Connect(Connect {
                dst_node_id: Some(target),
                ..
            }),
            _,
            _,
        ) => {
            let Some(via) = node.neighbours().into_iter().find_map(|(_, id)| id) else {
                return "not sent: no neighbour has said its id yet".to_owned();
            };
            node.connect(via, target)
                .map(|()| format!("asked {via} to introduce {target}"))
        }
        (body, Some(true), _) => node
            .flood(now, body)
            .map(|id| format!("flooded {verb} {id}")),
        (body, _, Some(target)) => {
            let ttl = envelope.ttl.unwrap_or(ptpchat_proto::DEFAULT_TTL);
            node.send_with_ttl(now, target, body, ttl)
                .map(|id| format!("sent {verb} {id} to {target}"))
        }
        (body, _, None) => {
            let peers: Vec<Peer> = node.neighbours().into_iter().map(|(p, _)| p).collect();
            if peers.is_empty() {
                return "not sent: no neighbour yet".to_owned();
            }
            peers
                .iter()
                .try_for_each(|&peer| node.send_to_peer(peer, body.clone()))
                .map(|()| format!("sent {verb} to {} neighbour(s)", peers.len()))
        }
    };
    result.unwrap_or_else(|error| format!("not sent: {error}"))
}

/// `connect` ends when its one neighbour goes away.
fn neighbour_down(event: &Event) -> bool {
    matches!(event, Event::NeighbourDown { .. })
}

fn describe(event: &Event) -> String {
    match event {
        Event::Received { from, message } => {
            let text = String::from_utf8_lossy(&encode(message)).into_owned();
            format!("received {} from {from:?}: {text}", message.verb())
        }
        other => format!("{other:?}"),
    }
}

async fn serve_tcp(
    options: PeerOptions,
    listen: SocketAddr,
    console: Console,
) -> Result<(), Failure> {
    let config = node_config(&options, &console)?;
    let limits = config.limits;
    let listener = TcpListener::bind(listen).await?;
    say(
        &console,
        format!(
            "ptpchat node {} listening on {}",
            config.node_id,
            listener.local_addr()?
        ),
    );
    let driver = TcpDriver::new(
        Node::new(config, seeded_rng(running::random_seed())),
        TcpConfig::new(&limits),
    )
    .listen(listener)
    .with_tap(tap(console.output.clone()));
    Running::tcp(driver)
        .converse(console, apply, describe, |_| false)
        .await
}

async fn connect_tcp(
    options: PeerOptions,
    target: String,
    console: Console,
) -> Result<(), Failure> {
    let config = node_config(&options, &console)?;
    let limits = config.limits;
    let addr = resolve(&target).await?;
    let mut driver = TcpDriver::new(
        Node::new(config, seeded_rng(running::random_seed())),
        TcpConfig::new(&limits),
    )
    .with_tap(tap(console.output.clone()));
    tokio::time::timeout(DIAL_TIMEOUT, driver.dial(addr))
        .await
        .map_err(|_| format!("no connection to {addr} within {DIAL_TIMEOUT:?}"))??;
    Running::tcp(driver)
        .converse(console, apply, describe, neighbour_down)
        .await
}

async fn serve_udp(
    options: PeerOptions,
    listen: SocketAddr,
    console: Console,
) -> Result<(), Failure> {
    let config = node_config(&options, &console)?;
    let limits = config.limits;
    let node_id = config.node_id;
    let driver = UdpDriver::bind(
        Node::new(config, seeded_rng(running::random_seed())),
        listen,
        UdpConfig::new(&limits),
    )
    .await?;
    say(
        &console,
        format!("ptpchat node {node_id} on UDP {}", driver.local_addr()?),
    );
    Running::udp(driver.with_tap(tap(console.output.clone())))
        .converse(console, apply, describe, |_| false)
        .await
}

async fn connect_udp(
    options: PeerOptions,
    target: String,
    console: Console,
) -> Result<(), Failure> {
    let config = node_config(&options, &console)?;
    let limits = config.limits;
    let addr = resolve(&target).await?;
    let local: SocketAddr = if addr.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let driver = UdpDriver::bind(
        Node::new(config, seeded_rng(running::random_seed())),
        local,
        UdpConfig::new(&limits),
    )
    .await?
    .with_tap(tap(console.output.clone()));
    let running = Running::udp(driver);
    running
        .call(move |node, now| node.add_peer(now, addr))
        .await??;
    running
        .converse(console, apply, describe, neighbour_down)
        .await
}

/// `HOST:PORT` (or `tcp://…`, `udp://…`) to the first address it names.
async fn resolve(target: &str) -> Result<SocketAddr, Failure> {
    let bare = target
        .strip_prefix("tcp://")
        .or_else(|| target.strip_prefix("udp://"))
        .unwrap_or(target);
    tokio::net::lookup_host(bare)
        .await?
        .next()
        .ok_or_else(|| format!("{target} names no address").into())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;
