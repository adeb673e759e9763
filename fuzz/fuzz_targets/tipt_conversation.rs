//! A Tipt client and node wired together in memory, driven by arbitrary
//! application calls on both sides, deliveries, valid frames injected from the
//! exported generator, single-byte mutations of frames in flight and time steps.
//!
//! Invariants, checked after every step: no panic; every frame either side sends
//! decodes; each side closes at most once, with 1000, 1003 or 1008; every request
//! either side sent is answered or failed exactly once, and none is still pending
//! past its timeout once timers have run; at the end, after the longest timeout,
//! nothing is pending.
#![no_main]

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use proto_core::{Close, Input, Machine, Output, Payload};
use tipt_proto::{
    Client, ClientConfig, ClientEvent, FrameBuf, Node, NodeConfig, NodeEvent, NodeRequestType,
    RawBuf, RequestId, decode,
};

const HANDSHAKE_TIMEOUT: Duration = Duration::from_millis(300);
const REQUEST_TIMEOUT: Duration = Duration::from_millis(800);

#[derive(Debug, Arbitrary)]
enum Step {
    /// Deliver up to `count` items queued towards one side.
    Deliver {
        to_node: bool,
        count: u8,
    },
    /// Flip bits of one byte of the next frame towards one side.
    Mutate {
        to_node: bool,
        at: u16,
        xor: u8,
    },
    /// A valid frame from nowhere, towards one side.
    Inject {
        to_node: bool,
        frame: FrameBuf,
    },
    GetNodeKey {
        node: u8,
    },
    Forward {
        wait: bool,
        len: u8,
    },
    ClientRequest {
        reqt: NodeRequestType,
        body: Option<RawBuf>,
    },
    ClientEvent {
        reqt: u8,
    },
    NodeRequest {
        reqt: u8,
        body: Option<RawBuf>,
    },
    NodeEvent {
        reqt: u8,
    },
    SignIn(bool),
    NodeAnswers {
        index: u8,
        how: u8,
    },
    ClientAnswers {
        index: u8,
        error: bool,
    },
    Advance {
        millis: u16,
    },
    ClientCloses,
    NodeCloses,
}

/// What travels on the connection in one direction.
enum Item {
    Frame(Vec<u8>),
    Close(Close),
}

/// One side's bookkeeping.
#[derive(Default)]
struct Side {
    /// Requests it sent: id → deadline.
    pending: HashMap<u8, Instant>,
    /// The client's HANDSHAKE, a request of its own the application never sees.
    handshake: Option<u8>,
    /// The peer's requests its application has to answer.
    to_answer: Vec<u8>,
    closed: bool,
}

impl Side {
    fn sent(&mut self, id: RequestId, now: Instant) {
        let previous = self.pending.insert(id.0, now + REQUEST_TIMEOUT);
        assert!(previous.is_none(), "{id} handed out while pending");
    }

    fn resolved(&mut self, id: RequestId) {
        assert!(
            self.pending.remove(&id.0).is_some(),
            "{id} resolved twice or never sent"
        );
    }

    fn handshake_over(&mut self) {
        if let Some(id) = self.handshake.take() {
            self.pending.remove(&id);
        }
    }

    fn check(&self, now: Instant) {
        for (id, deadline) in &self.pending {
            assert!(*deadline > now, "request #{id} pending past its timeout");
        }
    }
}

fn drain<M: Machine>(
    machine: &mut M,
    side: &mut Side,
    out: &mut VecDeque<Item>,
    mut on_event: impl FnMut(&mut Side, M::Event),
) {
    while let Some(output) = machine.poll_output() {
        match output {
            Output::Transmit(transmit) => {
                assert!(!side.closed, "sent after close");
                match transmit.payload {
                    Payload::Binary(bytes) => {
                        decode(&bytes).expect("every frame sent decodes");
                        out.push_back(Item::Frame(bytes.to_vec()));
                    }
                    Payload::Ping(_) => {}
                    other => panic!("unexpected payload {other:?}"),
                }
            }
            Output::Close { close, .. } => {
                assert!(!side.closed, "closed twice");
                assert!([1000, 1003, 1008].contains(&close.code), "{close}");
                side.closed = true;
                out.push_back(Item::Close(close));
            }
            Output::Event(event) => on_event(side, event),
            Output::Reconnect { .. } => panic!("Tipt never reconnects"),
        }
    }
}

struct Wire {
    node: Node,
    client: Client,
    at_node: Side,
    at_client: Side,
    to_node: VecDeque<Item>,
    to_client: VecDeque<Item>,
}

impl Wire {
    fn drain(&mut self) {
        drain(
            &mut self.node,
            &mut self.at_node,
            &mut self.to_client,
            |side, event| match event {
                NodeEvent::Request { id, .. }
                | NodeEvent::FetchNodeKey { id, .. }
                | NodeEvent::Forward { id, wait: true, .. } => side.to_answer.push(id),
                NodeEvent::Response { id, .. } | NodeEvent::RequestFailed { id, .. } => {
                    side.resolved(id)
                }
                NodeEvent::Disconnected(_) => {
                    side.to_answer.clear();
                    assert!(
                        side.pending.is_empty(),
                        "disconnected with requests pending"
                    );
                }
                _ => {}
            },
        );
        drain(
            &mut self.client,
            &mut self.at_client,
            &mut self.to_node,
            |side, event| match event {
                ClientEvent::Request { id, .. } => side.to_answer.push(id),
                ClientEvent::Response { id, .. } | ClientEvent::RequestFailed { id, .. } => {
                    side.resolved(id)
                }
                ClientEvent::Handshake { .. } => side.handshake_over(),
                ClientEvent::Disconnected(_) => {
                    // A HANDSHAKE that timed out fails without an event.
                    side.handshake_over();
                    side.to_answer.clear();
                    assert!(
                        side.pending.is_empty(),
                        "disconnected with requests pending"
                    );
                }
                _ => {}
            },
        );
    }

    /// Runs every timer that is due, on both sides.
    fn run_timers(&mut self, now: Instant) {
        while self.node.poll_timeout().is_some_and(|at| at <= now) {
            self.node.handle_timeout(now);
            self.drain();
        }
        while self.client.poll_timeout().is_some_and(|at| at <= now) {
            self.client.handle_timeout(now);
            self.drain();
        }
        assert!(
            self.node.poll_timeout().is_none_or(|at| at > now),
            "node timer in the past"
        );
        assert!(
            self.client.poll_timeout().is_none_or(|at| at > now),
            "client timer in the past"
        );
    }
}

/// Hands `machine` the next item of `queue`.
fn deliver<M: Machine>(now: Instant, machine: &mut M, queue: &mut VecDeque<Item>) {
    match queue.pop_front() {
        Some(Item::Frame(bytes)) => {
            let _ = machine.handle_input(now, Input::binary(&bytes));
        }
        Some(Item::Close(close)) => {
            let _ = machine.handle_input(now, Input::closed(Some(close)));
        }
        None => {}
    }
}

fuzz_target!(|steps: Vec<Step>| {
    let mut node_config = NodeConfig::new();
    node_config.handshake_timeout = HANDSHAKE_TIMEOUT;
    node_config.request_timeout = REQUEST_TIMEOUT;
    let mut client_config = ClientConfig::new();
    client_config.handshake_timeout = HANDSHAKE_TIMEOUT;
    client_config.request_timeout = REQUEST_TIMEOUT;
    client_config.ping_interval = Duration::from_secs(2);
    let (Ok(node), Ok(client)) = (Node::new(node_config), Client::new(client_config)) else {
        panic!("default configurations are valid");
    };
    let mut wire = Wire {
        node,
        client,
        at_node: Side::default(),
        at_client: Side::default(),
        to_node: VecDeque::new(),
        to_client: VecDeque::new(),
    };
    let mut now = Instant::now();
    let _ = wire.node.handle_input(now, Input::opened());
    let _ = wire.client.handle_input(now, Input::opened());
    // The client's first request, id 0, is its HANDSHAKE.
    wire.at_client.handshake = Some(0);
    wire.at_client.pending.insert(0, now + HANDSHAKE_TIMEOUT);
    wire.drain();
    let body = RawBuf::nil();
    for step in steps.iter().take(200) {
        match step {
            Step::Deliver { to_node, count } => {
                for _ in 0..(count % 8) + 1 {
                    if *to_node {
                        deliver(now, &mut wire.node, &mut wire.to_node);
                    } else {
                        deliver(now, &mut wire.client, &mut wire.to_client);
                    }
                    wire.drain();
                }
            }
            Step::Mutate { to_node, at, xor } => {
                let queue = if *to_node {
                    &mut wire.to_node
                } else {
                    &mut wire.to_client
                };
                if let Some(Item::Frame(bytes)) = queue.front_mut() {
                    if !bytes.is_empty() {
                        let at = usize::from(*at) % bytes.len();
                        bytes[at] ^= xor;
                    }
                }
            }
            Step::Inject { to_node, frame } => {
                let bytes = frame.encode();
                if *to_node {
                    let _ = wire.node.handle_input(now, Input::binary(&bytes));
                } else {
                    let _ = wire.client.handle_input(now, Input::binary(&bytes));
                }
            }
            Step::GetNodeKey { node } => {
                let name = format!("n{node}.example");
                if let Ok(id) = wire.client.get_node_key(now, &name) {
                    wire.at_client.sent(id, now);
                }
            }
            Step::Forward { wait, len } => {
                let msg = vec![0x5a; usize::from(*len)];
                if let Ok(id) = wire.client.forward(now, "b.example", *wait, &msg) {
                    wire.at_client.sent(id, now);
                }
            }
            Step::ClientRequest { reqt, body } => {
                if let Ok(id) = wire.client.send_request(now, *reqt, body.as_ref()) {
                    wire.at_client.sent(id, now);
                }
            }
            Step::ClientEvent { reqt } => {
                let _ = wire.client.send_event(*reqt, Some(&body));
            }
            Step::NodeRequest { reqt, body } => {
                if let Ok(id) = wire.node.send_request(now, *reqt, body.as_ref()) {
                    wire.at_node.sent(id, now);
                }
            }
            Step::NodeEvent { reqt } => {
                let _ = wire.node.send_event(*reqt, Some(&body));
            }
            Step::SignIn(signed_in) => wire.node.set_signed_in(*signed_in),
            Step::NodeAnswers { index, how } => {
                let open = &mut wire.at_node.to_answer;
                if !open.is_empty() {
                    let id = open[usize::from(*index) % open.len()];
                    let answered = match how % 4 {
                        0 => wire.node.respond(id, Some(&body)),
                        1 => wire.node.respond_error(id, &body),
                        2 => wire.node.answer_node_key(id, b"key"),
                        _ => wire.node.answer_forward(id, b"resp"),
                    };
                    if answered.is_ok() {
                        wire.at_node.to_answer.retain(|&open| open != id);
                    }
                }
            }
            Step::ClientAnswers { index, error } => {
                let open = &mut wire.at_client.to_answer;
                if !open.is_empty() {
                    let id = open[usize::from(*index) % open.len()];
                    let answered = if *error {
                        wire.client.respond_error(id, &body)
                    } else {
                        wire.client.respond(id, None)
                    };
                    if answered.is_ok() {
                        wire.at_client.to_answer.retain(|&open| open != id);
                    }
                }
            }
            Step::Advance { millis } => {
                now += Duration::from_millis(u64::from(*millis % 2000));
                wire.run_timers(now);
            }
            Step::ClientCloses => wire.client.close(),
            Step::NodeCloses => wire.node.close(Close::new(1000, "bye")),
        }
        wire.drain();
        wire.at_node.check(now);
        wire.at_client.check(now);
    }
    // Long after every timeout, nothing a side sent is still pending.
    now += REQUEST_TIMEOUT + HANDSHAKE_TIMEOUT;
    wire.run_timers(now);
    assert!(
        wire.at_node.pending.is_empty(),
        "node requests never resolved"
    );
    assert!(
        wire.at_client.pending.is_empty(),
        "client requests never resolved"
    );
});
