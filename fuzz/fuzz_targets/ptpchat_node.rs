//! A node fed arbitrary messages on several links and datagram peers, time steps
//! and application calls.
//!
//! Invariants: no panic; every transmit is a valid message for a link that is open
//! (or a datagram peer); no close names a link that is not open; its timer never
//! lies in the past after `handle_timeout`; every table stays within its bound.
#![no_main]

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use proto_core::{Data, Input, Limits, LinkId, Machine, Output, Peer, seeded_rng};
use ptpchat_proto::{
    Ack, Body, Channel, ChatMessage, Connect, Endpoint, Envelope, Hello, Message, Node, NodeConfig,
    RouteEntry, Routing, decode, encode,
};
use uuid::Uuid;

#[derive(Debug, Arbitrary)]
enum Step {
    Open(u8),
    Close(u8),
    Raw(u8, Vec<u8>),
    Hello {
        link: u8,
        sender: u8,
    },
    Routing {
        link: u8,
        nodes: Vec<(u8, u8)>,
    },
    Directed {
        link: u8,
        sender: u8,
        target: u8,
        ttl: u8,
        flood: bool,
        msg: u8,
    },
    Ack {
        link: u8,
        msg: u8,
    },
    Nack {
        link: u8,
        msg: u8,
    },
    Listing {
        link: u8,
        channel: u8,
        members: Vec<u8>,
        closed: bool,
    },
    Connect {
        link: u8,
        src: u8,
        dst: u8,
        dst_port: Option<u16>,
        src_port: Option<u16>,
    },
    Datagram {
        port: u8,
        msg: u8,
    },
    Advance {
        millis: u16,
    },
    Send {
        target: u8,
    },
    Flood,
    CreateChannel {
        closed: bool,
    },
    Join {
        channel: u8,
    },
    Leave {
        channel: u8,
    },
    ConnectVia {
        via: u8,
        target: u8,
    },
}

fn node_id(n: u8) -> Uuid {
    Uuid::from_u128(u128::from(n % 8) + 1)
}

fn link(n: u8) -> Peer {
    Peer::Link(LinkId(u64::from(n % 4)))
}

fn message(sender: u8, target: Option<u8>, ttl: u8, flood: bool, msg: u8, body: Body) -> Vec<u8> {
    encode(&Message {
        envelope: Envelope {
            ttl: Some(u32::from(ttl % 40)),
            flood: Some(flood),
            msg_id: Some(Uuid::from_u128(0xf000 + u128::from(msg))),
            sender_id: Some(node_id(sender)),
            target_id: target.map(node_id),
        },
        body,
    })
}

fn text() -> Body {
    Body::Message(ChatMessage {
        recipient: vec![],
        timestamp: None,
        channel: None,
        channel_id: None,
        message: b"x".to_vec(),
        attachment: vec![],
    })
}

fuzz_target!(|steps: Vec<Step>| {
    let mut config = NodeConfig::new(node_id(0));
    config.limits = Limits {
        max_frame_len: 2048,
        max_depth: 8,
        max_pending: 4,
    };
    config.max_links = 6;
    config.max_routes = 8;
    config.max_seen = 16;
    config.max_queue = 4;
    config.max_channels = 3;
    config.max_members = 4;
    config.link_timeout = Duration::from_millis(3000);
    let bounds = config.clone();
    let mut node = Node::new(config, seeded_rng(0));
    let mut now = Instant::now();
    let mut open: BTreeSet<u64> = BTreeSet::new();
    let mut channels: Vec<Uuid> = Vec::new();
    let receive = |node: &mut Node, now: Instant, peer: Peer, bytes: &[u8]| {
        let _ = node.handle_input(
            now,
            Input::Received {
                from: Some(peer),
                data: Data::Binary(bytes),
            },
        );
    };
    for step in steps.iter().take(256) {
        match step {
            Step::Open(n) => {
                let peer = link(*n);
                if node
                    .handle_input(now, Input::Opened { from: Some(peer) })
                    .is_ok()
                {
                    if let Peer::Link(LinkId(id)) = peer {
                        open.insert(id);
                    }
                }
            }
            Step::Close(n) => {
                let peer = link(*n);
                let _ = node.handle_input(
                    now,
                    Input::Closed {
                        from: Some(peer),
                        close: None,
                    },
                );
                if let Peer::Link(LinkId(id)) = peer {
                    open.remove(&id);
                }
            }
            Step::Raw(n, bytes) => receive(&mut node, now, link(*n), bytes),
            Step::Hello { link: n, sender } => {
                let bytes = message(
                    *sender,
                    None,
                    1,
                    false,
                    *sender,
                    Body::Hello(Hello::default()),
                );
                receive(&mut node, now, link(*n), &bytes);
            }
            Step::Routing { link: n, nodes } => {
                let nodes = nodes
                    .iter()
                    .take(12)
                    .map(|&(node, hops)| RouteEntry {
                        node_id: node_id(node),
                        hops: u32::from(hops),
                    })
                    .collect();
                let body = Body::Routing(Routing {
                    node_id: None,
                    nodes,
                });
                receive(
                    &mut node,
                    now,
                    link(*n),
                    &message(*n, None, 1, false, 200, body),
                );
            }
            Step::Directed {
                link: n,
                sender,
                target,
                ttl,
                flood,
                msg,
            } => {
                let bytes = message(*sender, Some(*target), *ttl, *flood, *msg, text());
                receive(&mut node, now, link(*n), &bytes);
            }
            Step::Ack { link: n, msg } | Step::Nack { link: n, msg } => {
                let ack = Ack {
                    msg_id: Uuid::from_u128(0xf000 + u128::from(*msg)),
                };
                let body = match step {
                    Step::Ack { .. } => Body::Ack(ack),
                    _ => Body::Nack(ack),
                };
                receive(
                    &mut node,
                    now,
                    link(*n),
                    &message(1, Some(0), 32, false, *msg, body),
                );
            }
            Step::Listing {
                link: n,
                channel,
                members,
                closed,
            } => {
                let body = Body::Channel(Channel {
                    channel: "c".into(),
                    channel_id: channels
                        .get(usize::from(*channel))
                        .copied()
                        .unwrap_or_else(|| Uuid::from_u128(u128::from(*channel))),
                    members: members.iter().take(8).map(|&m| node_id(m)).collect(),
                    closed: *closed,
                });
                receive(
                    &mut node,
                    now,
                    link(*n),
                    &message(2, None, 32, true, *channel, body),
                );
            }
            Step::Connect {
                link: n,
                src,
                dst,
                dst_port,
                src_port,
            } => {
                let endpoint = |port: Option<u16>| match port {
                    None => Endpoint::Empty,
                    Some(port) if port % 2 == 0 => Endpoint::Port(port),
                    Some(port) => Endpoint::Socket(SocketAddr::from(([10, 0, 0, 1], port))),
                };
                let body = Body::Connect(Connect {
                    src_node_id: Some(node_id(*src)),
                    dst_node_id: Some(node_id(*dst)),
                    dst: endpoint(*dst_port),
                    src: endpoint(*src_port),
                });
                let peer = link(*n);
                let _ = node.set_observed_addr(peer, SocketAddr::from(([10, 0, 0, 9], 9)));
                receive(
                    &mut node,
                    now,
                    peer,
                    &message(*src, None, 32, false, 201, body),
                );
            }
            Step::Datagram { port, msg } => {
                let peer = Peer::Addr(SocketAddr::from(([10, 0, 0, 2], u16::from(*port % 4))));
                receive(
                    &mut node,
                    now,
                    peer,
                    &message(*port, None, 1, false, *msg, Body::Hello(Hello::default())),
                );
            }
            Step::Advance { millis } => {
                now += Duration::from_millis(u64::from(*millis));
                if node.poll_timeout().is_some_and(|at| at <= now) {
                    node.handle_timeout(now);
                }
                assert!(node.poll_timeout().is_none_or(|at| at > now));
            }
            Step::Send { target } => {
                let _ = node.send(now, node_id(*target), text());
            }
            Step::Flood => {
                let _ = node.flood(now, text());
            }
            Step::CreateChannel { closed } => {
                if let Ok(id) = node.create_channel(now, "mine", *closed) {
                    channels.push(id);
                }
            }
            Step::Join { channel } | Step::Leave { channel } => {
                let id = channels
                    .get(usize::from(*channel))
                    .copied()
                    .unwrap_or_else(|| Uuid::from_u128(u128::from(*channel)));
                let _ = match step {
                    Step::Join { .. } => node.join_channel(now, id),
                    _ => node.leave_channel(now, id),
                };
            }
            Step::ConnectVia { via, target } => {
                let _ = node.connect(node_id(*via), node_id(*target));
            }
        }
        while let Some(output) = node.poll_output() {
            match output {
                Output::Transmit(transmit) => {
                    match transmit.to {
                        Some(Peer::Link(LinkId(id))) => {
                            assert!(open.contains(&id), "sent on closed link {id}")
                        }
                        Some(Peer::Addr(_)) => {}
                        None => panic!("a node always names the peer"),
                    }
                    decode(transmit.payload.as_bytes(), &Limits::default()).expect("valid message");
                }
                Output::Close { peer, .. } => {
                    let Some(Peer::Link(LinkId(id))) = peer else {
                        panic!("only links are closed: {peer:?}");
                    };
                    // A link refused for being one too many was never open.
                    open.remove(&id);
                }
                Output::Event(_) => {}
                Output::Reconnect { .. } => panic!("a node never reconnects"),
            }
        }
        let sizes = node.table_sizes();
        assert!(sizes.links <= bounds.max_links);
        assert!(sizes.routes <= bounds.max_routes);
        assert!(sizes.advert_entries <= bounds.max_routes * bounds.max_links);
        assert!(sizes.seen <= bounds.max_seen);
        assert!(sizes.queue <= bounds.max_queue);
        assert!(sizes.pending_acks <= bounds.limits.max_pending);
        assert!(sizes.channels <= bounds.max_channels);
    }
});
