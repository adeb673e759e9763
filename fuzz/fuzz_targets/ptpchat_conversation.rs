//! Three ptpchat nodes in a line, A – S – B, wired directly in memory and driven
//! by arbitrary application calls, deliveries, valid messages injected from the
//! exported generator, single-byte mutations of messages in flight, links closing
//! and reopening, and time steps.
//!
//! Invariants, checked after every step: no panic; every message a node sends
//! decodes; a node closes links with 1001 only; every table stays within its
//! configured bound; every acknowledged send is Acked or Unacknowledged exactly
//! once, and none is still awaited past the ACK timeout once timers have run; at
//! the end, after the ACK timeout, none is awaited.
#![no_main]

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use proto_core::{Data, Input, LinkId, Machine, Output, Peer, seeded_rng};
use ptpchat_proto::{Body, Event, Message, MsgId, Node, NodeConfig, decode, encode};
use uuid::Uuid;

const ACK_TIMEOUT: Duration = Duration::from_secs(2);

/// The wires, as (node, link id) at each end: A–S on link 1, S–B on link 2.
const WIRES: [((usize, u64), (usize, u64)); 2] = [((0, 1), (1, 1)), ((1, 2), (2, 2))];

#[derive(Debug, Arbitrary)]
enum Step {
    /// Deliver up to `count` messages queued on a wire in one direction.
    Deliver {
        wire: bool,
        forward: bool,
        count: u8,
    },
    /// Flip bits of one byte of the next message on a wire.
    Mutate {
        wire: bool,
        forward: bool,
        at: u16,
        xor: u8,
    },
    /// A valid message from nowhere, arriving at one end of a wire.
    Inject {
        wire: bool,
        forward: bool,
        message: Message,
    },
    Send {
        from: u8,
        to: u8,
        body: Body,
    },
    Flood {
        from: u8,
        body: Body,
    },
    SendToPeer {
        wire: bool,
        forward: bool,
        body: Body,
    },
    CreateChannel {
        from: u8,
        closed: bool,
    },
    Join {
        from: u8,
        index: u8,
    },
    Leave {
        from: u8,
        index: u8,
    },
    Connect {
        from: u8,
        to: u8,
    },
    Advance {
        millis: u16,
    },
    /// A wire goes down (both ends told), or comes back up.
    Toggle {
        wire: bool,
    },
}

fn config(node_id: Uuid) -> NodeConfig {
    let mut config = NodeConfig::new(node_id);
    config.ack_timeout = ACK_TIMEOUT;
    config.link_timeout = Duration::from_secs(3);
    config.max_links = 4;
    config.max_routes = 8;
    config.max_seen = 32;
    config.max_queue = 4;
    config.max_channels = 3;
    config.max_members = 4;
    config.limits.max_pending = 8;
    config
}

struct Net {
    nodes: Vec<Node>,
    /// Messages in flight per wire: [A→S or S→B, S→A or B→S].
    queues: [[VecDeque<Vec<u8>>; 2]; 2],
    up: [bool; 2],
    /// Acknowledged sends awaited, per node: msg_id → deadline.
    awaited: Vec<HashMap<MsgId, Instant>>,
    channels: Vec<Uuid>,
}

impl Net {
    /// Where a message node `node` sends on `link` goes: (wire, direction).
    fn route(node: usize, link: u64) -> Option<(usize, usize)> {
        WIRES.iter().enumerate().find_map(|(wire, &(a, b))| {
            if (node, link) == a {
                Some((wire, 0))
            } else if (node, link) == b {
                Some((wire, 1))
            } else {
                None
            }
        })
    }

    fn drain(&mut self) {
        for i in 0..self.nodes.len() {
            while let Some(output) = self.nodes[i].poll_output() {
                match output {
                    Output::Transmit(transmit) => {
                        let bytes = transmit.payload.as_bytes();
                        decode(bytes, &self.nodes[i].config().limits)
                            .expect("every message sent decodes");
                        let Some(Peer::Link(LinkId(link))) = transmit.to else {
                            panic!("a stream node sends on links");
                        };
                        let (wire, direction) = Self::route(i, link).expect("a wired link");
                        if self.up[wire] {
                            self.queues[wire][direction].push_back(bytes.to_vec());
                        }
                    }
                    Output::Close { close, .. } => assert_eq!(close.code, 1001, "{close}"),
                    Output::Event(
                        Event::Acked { msg_id, .. } | Event::Unacknowledged { msg_id, .. },
                    ) => {
                        assert!(
                            self.awaited[i].remove(&msg_id).is_some(),
                            "{msg_id} resolved twice or never sent"
                        );
                    }
                    Output::Event(_) => {}
                    Output::Reconnect { .. } => panic!("a node never reconnects"),
                }
            }
        }
    }

    fn deliver(&mut self, now: Instant, wire: usize, direction: usize) {
        let Some(bytes) = self.queues[wire][direction].pop_front() else {
            return;
        };
        let (node, link) = if direction == 0 {
            WIRES[wire].1
        } else {
            WIRES[wire].0
        };
        let input = Input::Received {
            from: Some(Peer::Link(LinkId(link))),
            data: Data::Binary(&bytes),
        };
        let _ = self.nodes[node].handle_input(now, input);
    }

    fn toggle(&mut self, now: Instant, wire: usize) {
        self.up[wire] = !self.up[wire];
        self.queues[wire] = Default::default();
        for (node, link) in [WIRES[wire].0, WIRES[wire].1] {
            let from = Some(Peer::Link(LinkId(link)));
            let input = if self.up[wire] {
                Input::Opened { from }
            } else {
                Input::Closed { from, close: None }
            };
            let _ = self.nodes[node].handle_input(now, input);
        }
    }

    fn run_timers(&mut self, now: Instant) {
        for i in 0..self.nodes.len() {
            while self.nodes[i].poll_timeout().is_some_and(|at| at <= now) {
                self.nodes[i].handle_timeout(now);
                self.drain();
            }
            assert!(
                self.nodes[i].poll_timeout().is_none_or(|at| at > now),
                "timer in the past"
            );
        }
    }

    fn check(&self, now: Instant) {
        for (node, awaited) in self.nodes.iter().zip(&self.awaited) {
            let config = node.config();
            let sizes = node.table_sizes();
            assert!(sizes.links <= config.max_links, "{sizes:?}");
            assert!(sizes.routes <= config.max_routes, "{sizes:?}");
            assert!(sizes.seen <= config.max_seen, "{sizes:?}");
            assert!(sizes.queue <= config.max_queue, "{sizes:?}");
            assert!(sizes.channels <= config.max_channels, "{sizes:?}");
            assert!(sizes.pending_acks <= config.limits.max_pending, "{sizes:?}");
            assert_eq!(sizes.pending_acks, awaited.len(), "awaited ACKs");
            for (msg_id, deadline) in awaited {
                assert!(*deadline > now, "{msg_id} awaited past the ACK timeout");
            }
        }
    }
}

fuzz_target!(|steps: Vec<Step>| {
    let ids: Vec<Uuid> = (1..=3).map(Uuid::from_u128).collect();
    let mut net = Net {
        nodes: (0..3)
            .map(|i| Node::new(config(ids[i]), seeded_rng(i as u64)))
            .collect(),
        queues: Default::default(),
        up: [false; 2],
        awaited: vec![HashMap::new(); 3],
        channels: Vec::new(),
    };
    let mut now = Instant::now();
    net.toggle(now, 0);
    net.toggle(now, 1);
    net.drain();
    let node = |n: &u8| usize::from(*n) % 3;
    for step in steps.iter().take(200) {
        match step {
            Step::Deliver {
                wire,
                forward,
                count,
            } => {
                for _ in 0..(count % 8) + 1 {
                    net.deliver(now, usize::from(*wire), usize::from(!forward));
                    net.drain();
                }
            }
            Step::Mutate {
                wire,
                forward,
                at,
                xor,
            } => {
                let queue = &mut net.queues[usize::from(*wire)][usize::from(!forward)];
                if let Some(bytes) = queue.front_mut() {
                    if !bytes.is_empty() {
                        let at = usize::from(*at) % bytes.len();
                        bytes[at] ^= xor;
                    }
                }
            }
            Step::Inject {
                wire,
                forward,
                message,
            } => {
                let (wire, direction) = (usize::from(*wire), usize::from(!forward));
                if net.up[wire] {
                    net.queues[wire][direction].push_front(encode(message));
                    net.deliver(now, wire, direction);
                }
            }
            Step::Send { from, to, body } => {
                let from = node(from);
                let wants_ack = body.verb().wants_ack();
                if let Ok(msg_id) = net.nodes[from].send(now, ids[node(to)], body.clone()) {
                    if wants_ack {
                        let previous = net.awaited[from].insert(msg_id, now + ACK_TIMEOUT);
                        assert!(previous.is_none(), "msg_id {msg_id} reused");
                    }
                }
            }
            Step::Flood { from, body } => {
                let _ = net.nodes[node(from)].flood(now, body.clone());
            }
            Step::SendToPeer {
                wire,
                forward,
                body,
            } => {
                let (node, link) = if *forward {
                    WIRES[usize::from(*wire)].0
                } else {
                    WIRES[usize::from(*wire)].1
                };
                let _ = net.nodes[node].send_to_peer(Peer::Link(LinkId(link)), body.clone());
            }
            Step::CreateChannel { from, closed } => {
                if let Ok(id) = net.nodes[node(from)].create_channel(now, "fuzz", *closed) {
                    net.channels.push(id);
                }
            }
            Step::Join { from, index } | Step::Leave { from, index } => {
                if !net.channels.is_empty() {
                    let channel = net.channels[usize::from(*index) % net.channels.len()];
                    let node = &mut net.nodes[node(from)];
                    let _ = if matches!(step, Step::Join { .. }) {
                        node.join_channel(now, channel)
                    } else {
                        node.leave_channel(now, channel)
                    };
                }
            }
            Step::Connect { from, to } => {
                let _ = net.nodes[node(from)].connect(ids[1], ids[node(to)]);
            }
            Step::Advance { millis } => {
                now += Duration::from_millis(u64::from(*millis % 4000));
                net.run_timers(now);
            }
            Step::Toggle { wire } => net.toggle(now, usize::from(*wire)),
        }
        net.drain();
        net.check(now);
    }
    now += ACK_TIMEOUT;
    net.run_timers(now);
    net.check(now);
    assert!(
        net.awaited.iter().all(HashMap::is_empty),
        "ACKs awaited forever"
    );
});
