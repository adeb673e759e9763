//! One node driven by hand on a virtual clock: HELLO timing, liveness, refusals,
//! the channel rules.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use proto_core::{
    Close, Input, LinkId, Machine, Output, Peer, PendingError, close_code, seeded_rng,
};
use ptpchat_proto::{
    Body, CallError, Channel, ChatMessage, Connect, DecodeError, DownReason, Endpoint, Envelope,
    Event, Generation, Hello, InputError, Message, Node, NodeConfig, NodeId, NodeType, Verb,
    decode, encode,
};
use uuid::Uuid;

fn id(n: u128) -> NodeId {
    Uuid::from_u128(n)
}

fn node(configure: impl FnOnce(&mut NodeConfig)) -> Node {
    let mut config = NodeConfig::new(id(1));
    configure(&mut config);
    Node::new(config, seeded_rng(1))
}

const LINK: Peer = Peer::Link(LinkId(7));

struct Drained {
    sent: Vec<(Peer, Message)>,
    events: Vec<Event>,
    closes: Vec<(Peer, Close)>,
}

fn drain(node: &mut Node) -> Drained {
    let mut drained = Drained {
        sent: vec![],
        events: vec![],
        closes: vec![],
    };
    while let Some(output) = node.poll_output() {
        match output {
            Output::Transmit(transmit) => drained.sent.push((
                transmit.to.unwrap(),
                decode(transmit.payload.as_bytes(), &Default::default()).unwrap(),
            )),
            Output::Event(event) => drained.events.push(event),
            Output::Close { peer, close } => drained.closes.push((peer.unwrap(), close)),
            Output::Reconnect { .. } => panic!("a node never reconnects"),
        }
    }
    drained
}

fn verbs(sent: &[(Peer, Message)]) -> Vec<(Peer, Verb)> {
    sent.iter()
        .map(|(peer, message)| (*peer, message.verb()))
        .collect()
}

fn from_peer(sender: u128, body: Body) -> Vec<u8> {
    encode(&Message {
        envelope: Envelope {
            ttl: Some(1),
            flood: Some(false),
            msg_id: Some(Uuid::from_u128(0xdead_0000 + sender)),
            sender_id: Some(id(sender)),
            target_id: None,
        },
        body,
    })
}

fn receive(node: &mut Node, now: Instant, peer: Peer, bytes: &[u8]) -> Result<(), InputError> {
    node.handle_input(
        now,
        Input::Received {
            from: Some(peer),
            data: proto_core::Data::Binary(bytes),
        },
    )
}

#[test]
fn hello_on_open_then_every_half_to_two_seconds() {
    let t0 = Instant::now();
    let mut node = node(|config| {
        config.version = Some("test 1".into());
        // Only HELLO timers in this test.
        config.routing_interval = Duration::from_secs(3600);
    });
    node.handle_input(t0, Input::Opened { from: Some(LINK) })
        .unwrap();
    let drained = drain(&mut node);
    let [(peer, hello)] = &drained.sent[..] else {
        panic!("{:?}", drained.sent);
    };
    assert_eq!(*peer, LINK);
    assert_eq!(hello.envelope.ttl, Some(1));
    assert_eq!(hello.envelope.sender_id, Some(id(1)));
    assert_eq!(
        hello.body,
        Body::Hello(Hello {
            version: Some("test 1".into()),
            node_type: Some(NodeType::Client),
        })
    );
    // The neighbour keeps talking (RELAY: nothing to answer), so only the HELLO
    // timer matters.
    let mut now = t0;
    for _ in 0..50 {
        receive(&mut node, now, LINK, &from_peer(2, Body::Relay(None))).unwrap();
        drain(&mut node);
        let at = node.poll_timeout().unwrap();
        let interval = at - now;
        assert!(
            (Duration::from_millis(500)..=Duration::from_secs(2)).contains(&interval),
            "{interval:?}"
        );
        now = at;
        node.handle_timeout(now);
        assert_eq!(verbs(&drain(&mut node).sent), [(LINK, Verb::Hello)]);
    }
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

#[test]
fn a_datagram_hello_is_answered_once_and_followed_by_routing() {
    let t0 = Instant::now();
    let mut node = node(|_| {});
    let peer = Peer::Addr("192.0.2.9:7000".parse().unwrap());
    let hello = from_peer(2, Body::Hello(Hello::default()));
    receive(&mut node, t0, peer, &hello).unwrap();
    let drained = drain(&mut node);
    assert_eq!(
        verbs(&drained.sent),
        [(peer, Verb::Hello), (peer, Verb::Routing)]
    );
    assert_eq!(
        drained.events,
        [Event::NeighbourUp {
            peer,
            node_id: Some(id(2)),
            node_type: None,
        }]
    );
    assert_eq!(node.route(&id(2)).unwrap().hops, 1);
    // The periodic HELLO of a neighbour is not answered: that would never stop.
    receive(&mut node, t0, peer, &hello).unwrap();
    let drained = drain(&mut node);
    assert!(drained.sent.is_empty() && drained.events.is_empty());
}

#[test]
fn a_silent_link_is_closed_and_its_routes_withdrawn() {
    let t0 = Instant::now();
    let mut node = node(|config| config.link_timeout = Duration::from_secs(3));
    node.handle_input(t0, Input::Opened { from: Some(LINK) })
        .unwrap();
    receive(
        &mut node,
        t0,
        LINK,
        &from_peer(2, Body::Hello(Hello::default())),
    )
    .unwrap();
    drain(&mut node);
    let mut now = t0;
    while now < t0 + Duration::from_secs(3) {
        now = node.poll_timeout().unwrap();
        node.handle_timeout(now);
    }
    assert_eq!(now, t0 + Duration::from_secs(3));
    let drained = drain(&mut node);
    assert_eq!(
        drained.closes,
        [(LINK, Close::new(close_code::GOING_AWAY, "link silent"))]
    );
    assert!(drained.events.contains(&Event::NeighbourDown {
        peer: LINK,
        node_id: Some(id(2)),
        reason: DownReason::Silent,
    }));
    assert_eq!(node.route(&id(2)), None);
    assert_eq!(node.table_sizes().links, 0);
}

#[test]
fn bad_inputs_are_refused_and_the_node_carries_on() {
    let t0 = Instant::now();
    let mut node = node(|config| config.max_links = 1);
    node.handle_input(t0, Input::Opened { from: Some(LINK) })
        .unwrap();
    drain(&mut node);
    let other = Peer::Link(LinkId(8));
    let cases: Vec<(Input<'_>, InputError)> = vec![
        (
            Input::Received {
                from: Some(LINK),
                data: proto_core::Data::Binary(b"{\"msg_type\":"),
            },
            InputError::Decode(DecodeError::NotJson {
                line: 1,
                column: 12,
            }),
        ),
        (
            Input::Received {
                from: Some(LINK),
                data: proto_core::Data::Binary(br#"{"msg_type":"SHOUT"}"#),
            },
            InputError::Decode(DecodeError::UnknownVerb("SHOUT".into())),
        ),
        (Input::binary(b"{}"), InputError::MissingPeer),
        (
            Input::Received {
                from: Some(other),
                data: proto_core::Data::Binary(b"{}"),
            },
            InputError::UnknownLink(other),
        ),
        (
            Input::Opened { from: Some(LINK) },
            InputError::AlreadyOpen(LINK),
        ),
        (
            Input::Opened { from: Some(other) },
            InputError::TooManyLinks { max: 1 },
        ),
        (
            Input::Closed {
                from: Some(other),
                close: None,
            },
            InputError::UnknownLink(other),
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(
            node.handle_input(t0, input.clone()),
            Err(expected),
            "{input:?}"
        );
    }
    let drained = drain(&mut node);
    assert_eq!(
        drained.closes,
        [(other, Close::new(close_code::GOING_AWAY, "too many links"))]
    );
    assert!(drained.sent.is_empty() && drained.events.is_empty());

    // CONNECT refusals.
    let connect = |dst: Endpoint, src: Endpoint, dst_node: Option<u128>| {
        from_peer(
            2,
            Body::Connect(Connect {
                src_node_id: Some(id(2)),
                dst_node_id: dst_node.map(id),
                dst,
                src,
            }),
        )
    };
    assert_eq!(
        receive(
            &mut node,
            t0,
            LINK,
            &connect(Endpoint::Empty, Endpoint::Port(5), Some(3))
        ),
        Err(InputError::NoObservedAddress(LINK))
    );
    let seen: SocketAddr = "198.51.100.7:4000".parse().unwrap();
    node.set_observed_addr(LINK, seen).unwrap();
    assert_eq!(
        receive(
            &mut node,
            t0,
            LINK,
            &connect(Endpoint::Empty, Endpoint::Port(5), Some(3))
        ),
        Err(InputError::RendezvousUnreachable)
    );
    assert_eq!(
        receive(
            &mut node,
            t0,
            LINK,
            &connect(Endpoint::Port(1), Endpoint::Port(5), Some(3))
        ),
        Err(InputError::UnexpectedConnect)
    );
    assert_eq!(
        receive(
            &mut node,
            t0,
            LINK,
            &connect(Endpoint::Empty, Endpoint::Port(5), Some(1))
        ),
        Err(InputError::UnexpectedConnect),
        "a responder needs the initiator's full address"
    );
    assert!(drain(&mut node).sent.is_empty());

    // Still working.
    receive(
        &mut node,
        t0,
        LINK,
        &from_peer(2, Body::Hello(Hello::default())),
    )
    .unwrap();
    assert_eq!(node.route(&id(2)).unwrap().hops, 1);
}

#[test]
fn refused_calls() {
    let t0 = Instant::now();
    let mut early = node(|config| config.generation = Generation::Early);
    assert_eq!(
        early.send(t0, id(2), text()),
        Err(CallError::EarlyGeneration)
    );
    assert_eq!(early.flood(t0, text()), Err(CallError::EarlyGeneration));
    let mut node = node(|config| {
        config.limits.max_pending = 1;
        config.max_channels = 1;
    });
    assert_eq!(node.join_channel(t0, id(9)), Err(CallError::UnknownChannel));
    assert_eq!(
        node.send_to_peer(LINK, text()),
        Err(CallError::NotNeighbour(LINK))
    );
    assert_eq!(
        node.connect(id(2), id(3)),
        Err(CallError::NodeNotNeighbour(id(2)))
    );
    node.send(t0, id(2), text()).unwrap();
    assert_eq!(
        node.send(t0, id(2), text()),
        Err(CallError::Pending(PendingError::Full { capacity: 1 }))
    );
    node.create_channel(t0, "one", false).unwrap();
    assert_eq!(
        node.create_channel(t0, "two", false),
        Err(CallError::TooManyChannels { max: 1 })
    );
}

/// A public CHANNEL listing from node 2, flooded, with message id `n`.
fn listing(n: u128, channel_id: Uuid, members: &[u128]) -> Vec<u8> {
    encode(&Message {
        envelope: Envelope {
            ttl: Some(32),
            flood: Some(true),
            msg_id: Some(Uuid::from_u128(0xc4a0_0000 + n)),
            sender_id: Some(id(2)),
            target_id: None,
        },
        body: Body::Channel(Channel {
            channel: "c".into(),
            channel_id,
            members: members.iter().copied().map(id).collect(),
            closed: false,
        }),
    })
}

#[test]
fn a_channel_listing_that_disagrees_is_answered_with_join_or_leave() {
    let t0 = Instant::now();
    let mut node = node(|_| {});
    node.handle_input(t0, Input::Opened { from: Some(LINK) })
        .unwrap();
    receive(
        &mut node,
        t0,
        LINK,
        &from_peer(2, Body::Hello(Hello::default())),
    )
    .unwrap();
    let channel = node.create_channel(t0, "c", false).unwrap();
    drain(&mut node);

    // Subscribed, but the listing leaves this node out: JOIN.
    receive(&mut node, t0, LINK, &listing(1, channel, &[2])).unwrap();
    let drained = drain(&mut node);
    assert_eq!(verbs(&drained.sent), [(LINK, Verb::Join)]);
    assert_eq!(drained.sent[0].1.envelope.flood, Some(true));
    assert_eq!(node.channel_members(&channel), Some(vec![id(1), id(2)]));

    // Not subscribed, but listed: LEAVE.
    node.leave_channel(t0, channel).unwrap();
    drain(&mut node);
    receive(&mut node, t0, LINK, &listing(2, channel, &[1, 2, 3])).unwrap();
    let drained = drain(&mut node);
    assert_eq!(verbs(&drained.sent), [(LINK, Verb::Leave)]);
    assert_eq!(node.channel_members(&channel), Some(vec![id(2), id(3)]));
}

/// A MESSAGE from `sender` to `target` with id `msg_id`.
fn directed(sender: u128, target: u128, msg_id: u128, body: Body) -> Message {
    Message {
        envelope: Envelope {
            ttl: Some(3),
            flood: Some(false),
            msg_id: Some(Uuid::from_u128(msg_id)),
            sender_id: Some(id(sender)),
            target_id: Some(id(target)),
        },
        body,
    }
}

#[test]
fn a_watcher_learns_who_greeted_and_which_messages_await_an_ack() {
    let t0 = Instant::now();
    let mut node = node(|_| {});
    assert_eq!(node.greeted_by(LINK), None);
    node.handle_input(t0, Input::Opened { from: Some(LINK) })
        .unwrap();
    assert_eq!(node.greeted_by(LINK), Some(false));
    receive(
        &mut node,
        t0,
        LINK,
        &from_peer(2, Body::Hello(Hello::default())),
    )
    .unwrap();
    assert_eq!(node.greeted_by(LINK), Some(true));

    // Sent by this node, directed, acknowledged verb: awaited like `send`'s.
    let message = directed(1, 2, 0x51, text());
    assert_eq!(node.note_sent(t0, &message), Ok(true));
    assert!(node.awaits_ack(&Uuid::from_u128(0x51)));
    assert_eq!(
        node.note_sent(t0, &message),
        Err(CallError::Pending(PendingError::Duplicate))
    );
    // Relayed for another node, flooded, or a verb nobody acknowledges: not awaited.
    assert_eq!(node.note_sent(t0, &directed(3, 2, 0x52, text())), Ok(false));
    let mut flood = directed(1, 2, 0x53, text());
    flood.envelope.flood = Some(true);
    assert_eq!(node.note_sent(t0, &flood), Ok(false));
    let join = Body::Join(ptpchat_proto::ChannelRef {
        channel: "c".into(),
        channel_id: Uuid::from_u128(9),
    });
    assert_eq!(node.note_sent(t0, &directed(1, 2, 0x54, join)), Ok(false));
    assert!(!node.awaits_ack(&Uuid::from_u128(0x52)));

    // The ACK settles it: Acked, and no longer awaited.
    drain(&mut node);
    let ack = directed(
        2,
        1,
        0x60,
        Body::Ack(ptpchat_proto::Ack {
            msg_id: Uuid::from_u128(0x51),
        }),
    );
    receive(&mut node, t0, LINK, &encode(&ack)).unwrap();
    assert_eq!(
        drain(&mut node).events,
        [Event::Acked {
            msg_id: Uuid::from_u128(0x51),
            by: Some(id(2)),
        }]
    );
    assert!(!node.awaits_ack(&Uuid::from_u128(0x51)));
}
