//! Node and client machines on a virtual clock: every rule of the handshake,
//! sign-in, forwarding, correlation and keepalive.

use std::time::{Duration, Instant};

use bytes::Bytes;
use proto_core::{Close, Input, Machine, Output, Payload};
use tipt_proto::{
    Body, CallError, Client, ClientConfig, ClientEvent, DecodeError, Disconnect, Forward, Frame,
    FrameKind, GetNodeKey, Handshake, InputError, MAX_FRAME_LEN, Node, NodeConfig, NodeEvent,
    NodeRequestType, RawBuf, RawValue, Refusal, Reply, RequestFailure, RequestId, decode, encode,
};

/// Everything a machine emitted in one drain.
#[derive(Debug)]
struct Drained<E> {
    frames: Vec<Vec<u8>>,
    pings: usize,
    events: Vec<E>,
    closes: Vec<Close>,
}

fn drain<M: Machine>(machine: &mut M) -> Drained<M::Event> {
    let mut out = Drained {
        frames: vec![],
        pings: 0,
        events: vec![],
        closes: vec![],
    };
    while let Some(output) = machine.poll_output() {
        match output {
            Output::Transmit(transmit) => match transmit.payload {
                Payload::Binary(bytes) => out.frames.push(bytes.to_vec()),
                Payload::Ping(_) => out.pings += 1,
                Payload::Text(text) => panic!("Tipt sends binary frames only, got {text}"),
            },
            Output::Event(event) => out.events.push(event),
            Output::Close { close, .. } => out.closes.push(close),
            Output::Reconnect { .. } => panic!("no Tipt machine reconnects"),
        }
    }
    out
}

fn request(id: u8, reqt: NodeRequestType, body: Option<Body<'_>>) -> Vec<u8> {
    encode(&Frame {
        id,
        ver: None,
        kind: FrameKind::Request { reqt: reqt.0, body },
    })
}

fn handshake(id: u8, ver: &str) -> Vec<u8> {
    request(
        id,
        NodeRequestType::HANDSHAKE,
        Some(Body::Handshake(Handshake { ver })),
    )
}

/// A body: `{"t": text}`.
fn map(text: &str) -> RawBuf {
    let mut bytes = vec![0x81, 0xa1, b't', 0xd9, u8::try_from(text.len()).unwrap()];
    bytes.extend_from_slice(text.as_bytes());
    RawBuf::new(bytes).unwrap()
}

fn refusal_err(refusal: Refusal) -> RawBuf {
    RawBuf::string(&refusal.message())
}

/// The one frame `node` sent, decoded: its id and kind.
fn only_frame(frames: &[Vec<u8>]) -> (u8, FrameKind<'_>) {
    assert_eq!(frames.len(), 1, "{frames:?}");
    let frame = decode(&frames[0]).unwrap();
    (frame.id, frame.kind)
}

/// A node past a compatible HANDSHAKE at `t0`.
fn open_node(t0: Instant, config: NodeConfig) -> Node {
    let mut node = Node::new(config).unwrap();
    node.handle_input(t0, Input::opened()).unwrap();
    node.handle_input(t0, Input::binary(&handshake(0, "1.0.0")))
        .unwrap();
    let out = drain(&mut node);
    assert_eq!(out.frames.len(), 1);
    assert!(node.is_open());
    node
}

#[test]
fn compatible_handshake_is_answered_with_the_node_version() {
    let t0 = Instant::now();
    for (client, comp) in [
        ("1.0.0", true),
        ("0.9.1", true),
        ("1.7.3-beta", true),
        ("2.0.0", false),
        ("x.1", false),
    ] {
        let mut node = Node::new(NodeConfig::new()).unwrap();
        node.handle_input(t0, Input::opened()).unwrap();
        node.handle_input(t0, Input::binary(&handshake(5, client)))
            .unwrap();
        let out = drain(&mut node);
        let (id, kind) = only_frame(&out.frames);
        assert_eq!(id, 5);
        let FrameKind::Response {
            body: Some(Body::Raw(raw)),
        } = kind
        else {
            panic!("{kind:?}");
        };
        let answer = tipt_proto::HandshakeResponse::decode(raw).unwrap();
        assert_eq!((answer.ver, answer.comp), ("1.0.0", comp), "{client}");
        assert_eq!(
            out.events[0],
            NodeEvent::Handshake {
                client_version: client.to_owned(),
                compatible: comp
            }
        );
        assert_eq!(node.is_open(), comp);
        if !comp {
            // Closed at once; nothing more is served.
            assert_eq!(out.closes.len(), 1, "{client}");
            assert_eq!(out.closes[0].code, 1000);
            let get = request(1, NodeRequestType::GET_INFO, None);
            assert_eq!(
                node.handle_input(t0, Input::binary(&get)),
                Err(InputError::NotOpen)
            );
            assert!(drain(&mut node).frames.is_empty());
        }
    }
}

#[test]
fn a_silent_client_is_closed_after_three_seconds_with_400() {
    let t0 = Instant::now();
    let mut node = Node::new(NodeConfig::new()).unwrap();
    node.handle_input(t0, Input::opened()).unwrap();
    assert_eq!(node.poll_timeout(), Some(t0 + Duration::from_secs(3)));
    node.handle_timeout(t0 + Duration::from_millis(2999));
    assert!(drain(&mut node).closes.is_empty());
    node.handle_timeout(t0 + Duration::from_secs(3));
    let out = drain(&mut node);
    assert_eq!(
        out.closes,
        [Close::new(1008, "400: no HANDSHAKE within 3000 ms")]
    );
    assert!(node.is_closed());
    assert_eq!(node.poll_timeout(), None);
}

#[test]
fn a_handshake_in_time_cancels_the_deadline() {
    let t0 = Instant::now();
    let mut node = Node::new(NodeConfig::new()).unwrap();
    node.handle_input(t0, Input::opened()).unwrap();
    let t1 = t0 + Duration::from_millis(2900);
    node.handle_input(t1, Input::binary(&handshake(0, "1.0.0")))
        .unwrap();
    drain(&mut node);
    node.handle_timeout(t0 + Duration::from_secs(10));
    assert!(drain(&mut node).closes.is_empty());
    assert!(node.is_open());
}

#[test]
fn anything_before_handshake_is_closed_with_400() {
    let t0 = Instant::now();
    let frames = [
        request(1, NodeRequestType::GET_INFO, None),
        encode(&Frame {
            id: 1,
            ver: None,
            kind: FrameKind::Event {
                reqt: 0,
                body: None,
            },
        }),
    ];
    for frame in frames {
        let mut node = Node::new(NodeConfig::new()).unwrap();
        node.handle_input(t0, Input::opened()).unwrap();
        assert_eq!(
            node.handle_input(t0, Input::binary(&frame)),
            Err(InputError::HandshakeFirst)
        );
        let out = drain(&mut node);
        assert_eq!(
            out.closes,
            [Close::new(1008, "400: HANDSHAKE must come first")]
        );
        assert!(node.is_closed());
    }
}

#[test]
fn a_bad_handshake_body_is_refused_with_err_and_the_deadline_stands() {
    let t0 = Instant::now();
    let mut node = Node::new(NodeConfig::new()).unwrap();
    node.handle_input(t0, Input::opened()).unwrap();
    let bad = request(
        2,
        NodeRequestType::HANDSHAKE,
        Some(Body::Raw(RawValue::new(b"\x80").unwrap())),
    );
    let refusal = Refusal::BadBody(DecodeError::MissingField(tipt_proto::Field::Ver));
    assert_eq!(
        node.handle_input(t0, Input::binary(&bad)),
        Err(InputError::Refused(refusal.clone()))
    );
    let out = drain(&mut node);
    let (id, kind) = only_frame(&out.frames);
    assert_eq!(id, 2);
    assert_eq!(
        kind,
        FrameKind::Error {
            err: refusal_err(refusal).as_raw()
        }
    );
    assert!(out.closes.is_empty());
    assert_eq!(node.poll_timeout(), Some(t0 + Duration::from_secs(3)));
}

#[test]
fn an_oversize_frame_is_closed_with_400() {
    let t0 = Instant::now();
    let mut node = open_node(t0, NodeConfig::new());
    let frame = vec![0x80; MAX_FRAME_LEN + 1];
    assert_eq!(
        node.handle_input(t0, Input::binary(&frame)),
        Err(InputError::Decode(DecodeError::FrameTooLarge {
            len: MAX_FRAME_LEN + 1,
            max: MAX_FRAME_LEN
        }))
    );
    let out = drain(&mut node);
    assert_eq!(out.closes.len(), 1);
    assert_eq!(out.closes[0].code, 1008);
    assert!(
        out.closes[0]
            .reason
            .starts_with("400: frame of 2202010 bytes")
    );
}

#[test]
fn text_frames_and_malformed_frames_close() {
    let t0 = Instant::now();
    let mut node = open_node(t0, NodeConfig::new());
    assert_eq!(
        node.handle_input(t0, Input::text("{}")),
        Err(InputError::TextFrame)
    );
    assert_eq!(drain(&mut node).closes[0].code, 1003);
    let mut node = open_node(t0, NodeConfig::new());
    assert_eq!(
        node.handle_input(t0, Input::binary(b"\x90")),
        Err(InputError::Decode(DecodeError::WrongType {
            field: tipt_proto::Field::Root,
            expected: tipt_proto::Kind::Map,
            found: tipt_proto::Kind::Array
        }))
    );
    assert_eq!(drain(&mut node).closes[0].code, 1008);
}

fn get_node_key(id: u8, node: &str) -> Vec<u8> {
    request(
        id,
        NodeRequestType::GET_NODE_KEY,
        Some(Body::GetNodeKey(GetNodeKey { node })),
    )
}

fn forward(id: u8, node: &str, wait: bool, msg: &[u8]) -> Vec<u8> {
    request(
        id,
        NodeRequestType::FORWARD,
        Some(Body::Forward(Forward { node, wait, msg })),
    )
}

#[test]
fn sign_in_rules() {
    let t0 = Instant::now();
    let mut node = open_node(t0, NodeConfig::new());
    let reqt_body = |reqt: u8| RawBuf::new(vec![0x81, 0xa1, b'r', reqt]).unwrap();

    // Before sign-in: GET_NODE_KEY, FORWARD and undefined types are refused.
    for (frame, reqt) in [
        (get_node_key(1, "b.example"), NodeRequestType::GET_NODE_KEY),
        (
            forward(2, "b.example", true, b"m"),
            NodeRequestType::FORWARD,
        ),
        (
            request(3, NodeRequestType(0x40), None),
            NodeRequestType(0x40),
        ),
    ] {
        let refusal = Refusal::SignInRequired(reqt);
        assert_eq!(
            node.handle_input(t0, Input::binary(&frame)),
            Err(InputError::Refused(refusal.clone()))
        );
        let out = drain(&mut node);
        assert_eq!(
            only_frame(&out.frames).1,
            FrameKind::Error {
                err: refusal_err(refusal).as_raw()
            }
        );
        assert!(out.events.is_empty());
    }
    // REGISTER, SIGN_IN, GET_INFO and a reserved no-sign-in type reach the application.
    for (id, reqt) in [(4, 0x01), (5, 0x02), (6, 0x03), (7, 0x10)] {
        let body = reqt_body(reqt);
        let frame = request(id, NodeRequestType(reqt), Some(Body::Raw(body.as_raw())));
        node.handle_input(t0, Input::binary(&frame)).unwrap();
        let out = drain(&mut node);
        assert_eq!(
            out.events,
            [NodeEvent::Request {
                id,
                reqt: NodeRequestType(reqt),
                body: Some(body)
            }]
        );
        assert!(out.frames.is_empty());
    }
    // The application accepts SIGN_IN.
    node.respond(5, Some(&map("welcome"))).unwrap();
    node.set_signed_in(true);
    let out = drain(&mut node);
    let (id, kind) = only_frame(&out.frames);
    assert_eq!(id, 5);
    assert_eq!(
        kind,
        FrameKind::Response {
            body: Some(Body::Raw(map("welcome").as_raw()))
        }
    );
    assert_eq!(node.respond(5, None), Err(CallError::UnknownRequest(5)));

    // Signed in: REGISTER, SIGN_IN and reserved types are refused, GET_INFO still served.
    for (id, reqt) in [(8, 0x01), (9, 0x02), (10, 0x1f)] {
        let refusal = Refusal::AlreadySignedIn(NodeRequestType(reqt));
        assert_eq!(
            node.handle_input(t0, Input::binary(&request(id, NodeRequestType(reqt), None))),
            Err(InputError::Refused(refusal.clone()))
        );
        let out = drain(&mut node);
        assert_eq!(
            only_frame(&out.frames),
            (
                id,
                FrameKind::Error {
                    err: refusal_err(refusal).as_raw()
                }
            )
        );
    }
    node.handle_input(
        t0,
        Input::binary(&request(11, NodeRequestType::GET_INFO, None)),
    )
    .unwrap();
    assert_eq!(drain(&mut node).events.len(), 1);
    node.handle_input(t0, Input::binary(&get_node_key(12, "b.example")))
        .unwrap();
    assert_eq!(
        drain(&mut node).events,
        [NodeEvent::FetchNodeKey {
            id: 12,
            node: "b.example".into(),
            url: "https://b.example/api/public_key".into()
        }]
    );
}

fn signed_in_node(t0: Instant) -> Node {
    let mut node = open_node(t0, NodeConfig::new());
    node.set_signed_in(true);
    node
}

#[test]
fn get_node_key_is_fetched_and_answered_through_the_machine() {
    let t0 = Instant::now();
    let mut node = signed_in_node(t0);
    node.handle_input(t0, Input::binary(&get_node_key(3, "keys.example")))
        .unwrap();
    drain(&mut node);
    assert_eq!(
        node.answer_forward(3, b"x"),
        Err(CallError::UnknownRequest(3))
    );
    assert!(matches!(
        node.answer_node_key(3, &[0; 8193]),
        Err(CallError::Invalid(DecodeError::TooLong { .. }))
    ));
    node.answer_node_key(3, b"KEY").unwrap();
    let out = drain(&mut node);
    assert_eq!(
        only_frame(&out.frames),
        (
            3,
            FrameKind::Response {
                body: Some(Body::Raw(RawValue::new(b"\x81\xa3key\xc4\x03KEY").unwrap()))
            }
        )
    );
    // A bad node name is refused.
    let refusal = Refusal::BadNodeName;
    assert_eq!(
        node.handle_input(t0, Input::binary(&get_node_key(4, "evil.example/x?"))),
        Err(InputError::Refused(refusal))
    );
}

#[test]
fn forward_with_and_without_wait() {
    let t0 = Instant::now();
    let mut node = signed_in_node(t0);
    node.handle_input(
        t0,
        Input::binary(&forward(1, "b.example", false, b"sealed")),
    )
    .unwrap();
    let out = drain(&mut node);
    // wait: false is answered nil at once.
    assert_eq!(
        only_frame(&out.frames),
        (
            1,
            FrameKind::Response {
                body: Some(Body::NIL)
            }
        )
    );
    assert_eq!(
        out.events,
        [NodeEvent::Forward {
            id: 1,
            node: "b.example".into(),
            url: "https://b.example/api/forward".into(),
            wait: false,
            msg: Bytes::from_static(b"sealed")
        }]
    );
    assert_eq!(
        node.answer_forward(1, b"late"),
        Err(CallError::UnknownRequest(1))
    );

    node.handle_input(t0, Input::binary(&forward(2, "b.example", true, b"sealed")))
        .unwrap();
    let out = drain(&mut node);
    assert!(out.frames.is_empty());
    assert!(matches!(
        out.events[..],
        [NodeEvent::Forward {
            id: 2,
            wait: true,
            ..
        }]
    ));
    node.answer_forward(2, b"reply").unwrap();
    let out = drain(&mut node);
    assert_eq!(
        only_frame(&out.frames),
        (
            2,
            FrameKind::Response {
                body: Some(Body::Raw(
                    RawValue::new(b"\x81\xa4resp\xc4\x05reply").unwrap()
                ))
            }
        )
    );
}

#[test]
fn a_reused_request_id_closes() {
    let t0 = Instant::now();
    let mut node = signed_in_node(t0);
    node.handle_input(t0, Input::binary(&get_node_key(9, "a.example")))
        .unwrap();
    assert_eq!(
        node.handle_input(t0, Input::binary(&get_node_key(9, "a.example"))),
        Err(InputError::DuplicateId(9))
    );
    let out = drain(&mut node);
    assert_eq!(
        out.closes,
        [Close::new(1008, "request id 9 is still in use")]
    );
}

#[test]
fn refusals_can_be_shaped_by_the_application() {
    let t0 = Instant::now();
    let mut config = NodeConfig::new();
    config.refusal = |refusal| match refusal {
        Refusal::SignInRequired(_) => {
            RawBuf::new(vec![0x81, 0xa4, b'c', b'o', b'd', b'e', 0x01]).unwrap()
        }
        other => RawBuf::string(&other.message()),
    };
    let mut node = open_node(t0, config);
    let _ = node.handle_input(t0, Input::binary(&get_node_key(1, "a.example")));
    let out = drain(&mut node);
    assert_eq!(
        only_frame(&out.frames).1,
        FrameKind::Error {
            err: RawValue::new(b"\x81\xa4code\x01").unwrap()
        }
    );
}

#[test]
fn the_draft_root_ver_is_accepted_and_emitted_when_configured() {
    let t0 = Instant::now();
    let mut config = NodeConfig::new();
    config.root_version = Some("1.0.0".into());
    let mut node = Node::new(config).unwrap();
    node.handle_input(t0, Input::opened()).unwrap();
    let hello = encode(&Frame {
        id: 0,
        ver: Some("1.0.0"),
        kind: FrameKind::Request {
            reqt: 0,
            body: Some(Body::Handshake(Handshake { ver: "1.0.0" })),
        },
    });
    node.handle_input(t0, Input::binary(&hello)).unwrap();
    let out = drain(&mut node);
    assert_eq!(decode(&out.frames[0]).unwrap().ver, Some("1.0.0"));
    assert!(node.is_open());
}

/// A node and a client on one virtual connection.
struct Pair {
    now: Instant,
    node: Node,
    client: Client,
    node_events: Vec<NodeEvent>,
    client_events: Vec<ClientEvent>,
    node_closes: Vec<Close>,
    client_closes: Vec<Close>,
    pings: usize,
}

impl Pair {
    fn new(node: NodeConfig, client: ClientConfig) -> Self {
        let now = Instant::now();
        let mut pair = Pair {
            now,
            node: Node::new(node).unwrap(),
            client: Client::new(client).unwrap(),
            node_events: vec![],
            client_events: vec![],
            node_closes: vec![],
            client_closes: vec![],
            pings: 0,
        };
        pair.node.handle_input(now, Input::opened()).unwrap();
        pair.client.handle_input(now, Input::opened()).unwrap();
        pair.exchange();
        pair
    }

    fn open() -> Self {
        let mut pair = Pair::new(NodeConfig::new(), ClientConfig::new());
        assert_eq!(
            pair.client_events,
            [ClientEvent::Handshake {
                node_version: "1.0.0".into(),
                compatible: true
            }]
        );
        pair.client_events.clear();
        pair.node_events.clear();
        pair.node.set_signed_in(true);
        pair
    }

    /// Moves frames both ways until both are quiet; a close reaches the other
    /// side as `Input::Closed`.
    fn exchange(&mut self) {
        loop {
            let from_node = drain(&mut self.node);
            let from_client = drain(&mut self.client);
            self.pings += from_client.pings;
            let quiet = from_node.frames.is_empty() && from_client.frames.is_empty();
            self.node_events.extend(from_node.events);
            self.client_events.extend(from_client.events);
            for frame in &from_node.frames {
                let _ = self.client.handle_input(self.now, Input::binary(frame));
            }
            for frame in &from_client.frames {
                let _ = self.node.handle_input(self.now, Input::binary(frame));
            }
            if let Some(close) = from_node.closes.last() {
                let _ = self
                    .client
                    .handle_input(self.now, Input::closed(Some(close.clone())));
            }
            if let Some(close) = from_client.closes.last() {
                let _ = self
                    .node
                    .handle_input(self.now, Input::closed(Some(close.clone())));
            }
            let closed = !from_node.closes.is_empty() || !from_client.closes.is_empty();
            self.node_closes.extend(from_node.closes);
            self.client_closes.extend(from_client.closes);
            if quiet && !closed {
                return;
            }
        }
    }

    fn advance(&mut self, by: Duration) {
        self.now += by;
        for _ in 0..2 {
            if self.node.poll_timeout().is_some_and(|at| at <= self.now) {
                self.node.handle_timeout(self.now);
            }
            if self.client.poll_timeout().is_some_and(|at| at <= self.now) {
                self.client.handle_timeout(self.now);
            }
            self.exchange();
        }
    }
}

#[test]
fn client_sends_handshake_first_and_nothing_before_its_answer() {
    let t0 = Instant::now();
    let mut client = Client::new(ClientConfig::new()).unwrap();
    assert_eq!(
        client.get_node_key(t0, "a.example"),
        Err(CallError::NotReady)
    );
    client.handle_input(t0, Input::opened()).unwrap();
    let out = drain(&mut client);
    assert_eq!(out.frames, [handshake(0, "1.0.0")]);
    assert_eq!(
        client.get_node_key(t0, "a.example"),
        Err(CallError::NotReady)
    );
    assert_eq!(client.send_event(1, None), Err(CallError::NotReady));
    // A node request before the HANDSHAKE response breaks the protocol.
    assert_eq!(
        client.handle_input(t0, Input::binary(&request(0, NodeRequestType(1), None))),
        Err(InputError::ExpectedHandshakeResponse)
    );
    assert_eq!(drain(&mut client).closes[0].code, 1008);
}

#[test]
fn client_closes_and_refuses_requests_when_incompatible() {
    let mut client = ClientConfig::new();
    client.version = "2.0.0".into();
    let mut pair = Pair::new(NodeConfig::new(), client);
    assert_eq!(
        pair.client_events[0],
        ClientEvent::Handshake {
            node_version: "1.0.0".into(),
            compatible: false
        }
    );
    assert!(pair.client.is_closed());
    assert_eq!(
        pair.client.get_node_key(pair.now, "a.example"),
        Err(CallError::NotReady)
    );
    assert_eq!(pair.node_closes[0].code, 1000);
}

#[test]
fn client_handshake_times_out() {
    let t0 = Instant::now();
    let mut client = Client::new(ClientConfig::new()).unwrap();
    client.handle_input(t0, Input::opened()).unwrap();
    drain(&mut client);
    assert_eq!(client.poll_timeout(), Some(t0 + Duration::from_secs(10)));
    client.handle_timeout(t0 + Duration::from_secs(10));
    let out = drain(&mut client);
    assert_eq!(
        out.closes,
        [Close::new(1008, "no HANDSHAKE response from the node")]
    );
    assert!(client.is_closed());
}

#[test]
fn requests_are_correlated_and_typed() {
    let mut pair = Pair::open();
    let key_id = pair.client.get_node_key(pair.now, "keys.example").unwrap();
    let quiet_id = pair
        .client
        .forward(pair.now, "b.example", false, b"m1")
        .unwrap();
    let wait_id = pair
        .client
        .forward(pair.now, "b.example", true, b"m2")
        .unwrap();
    let info_id = pair
        .client
        .send_request(pair.now, NodeRequestType::GET_INFO, None)
        .unwrap();
    assert_eq!(
        [key_id, quiet_id, wait_id, info_id].map(|id| id.0),
        [1, 2, 3, 4]
    );
    pair.exchange();
    assert_eq!(pair.node_events.len(), 4);
    // Answer out of order.
    pair.node.respond(4, Some(&map("info"))).unwrap();
    pair.node.answer_forward(3, b"r2").unwrap();
    pair.node.answer_node_key(1, b"KEY").unwrap();
    pair.exchange();
    assert_eq!(
        pair.client_events,
        [
            ClientEvent::Response {
                id: quiet_id,
                reply: Reply::Forwarded(None)
            },
            ClientEvent::Response {
                id: info_id,
                reply: Reply::Body(Some(map("info")))
            },
            ClientEvent::Response {
                id: wait_id,
                reply: Reply::Forwarded(Some(Bytes::from_static(b"r2")))
            },
            ClientEvent::Response {
                id: key_id,
                reply: Reply::NodeKey(Bytes::from_static(b"KEY"))
            },
        ]
    );
    assert_eq!(
        pair.client
            .send_request(pair.now, NodeRequestType::FORWARD, None),
        Err(CallError::TypedRequest(NodeRequestType::FORWARD))
    );
    assert_eq!(
        pair.client.get_node_key(pair.now, "a/b"),
        Err(CallError::BadNodeName)
    );
}

#[test]
fn errors_come_back_as_error_replies() {
    let mut pair = Pair::open();
    pair.node.set_signed_in(false);
    let id = pair.client.get_node_key(pair.now, "a.example").unwrap();
    pair.exchange();
    let err = RawBuf::string(&Refusal::SignInRequired(NodeRequestType::GET_NODE_KEY).message());
    assert_eq!(
        pair.client_events,
        [ClientEvent::Response {
            id,
            reply: Reply::Error(err)
        }]
    );
}

#[test]
fn all_256_ids_in_flight_is_a_typed_error_and_ids_free_on_response() {
    let mut pair = Pair::open();
    let mut ids = vec![];
    for _ in 0..256 {
        ids.push(
            pair.client
                .send_request(pair.now, NodeRequestType::GET_INFO, None)
                .unwrap(),
        );
    }
    assert_eq!(
        pair.client
            .send_request(pair.now, NodeRequestType::GET_INFO, None),
        Err(CallError::IdsExhausted)
    );
    pair.exchange();
    pair.node.respond(17, None).unwrap();
    pair.exchange();
    assert_eq!(
        pair.client
            .send_request(pair.now, NodeRequestType::GET_INFO, None),
        Ok(RequestId(17))
    );
}

#[test]
fn timed_out_requests_fail_and_keep_their_id_until_the_late_answer() {
    let mut pair = Pair::open();
    let id = pair
        .client
        .send_request(pair.now, NodeRequestType::GET_INFO, None)
        .unwrap();
    pair.exchange();
    pair.advance(Duration::from_secs(30));
    assert_eq!(
        pair.client_events,
        [ClientEvent::RequestFailed {
            id,
            reason: RequestFailure::TimedOut
        }]
    );
    pair.client_events.clear();
    // Every other id is handed out before the abandoned one comes back.
    for _ in 0..255 {
        let next = pair
            .client
            .send_request(pair.now, NodeRequestType::GET_INFO, None)
            .unwrap();
        assert_ne!(next, id);
    }
    assert_eq!(
        pair.client
            .send_request(pair.now, NodeRequestType::GET_INFO, None),
        Err(CallError::IdsExhausted)
    );
    pair.exchange();
    pair.node.respond(id.0, None).unwrap();
    pair.exchange();
    // The late answer is dropped, and frees the id.
    assert!(pair.client_events.is_empty());
    assert_eq!(
        pair.client
            .send_request(pair.now, NodeRequestType::GET_INFO, None),
        Ok(id)
    );
}

#[test]
fn node_requests_and_events_reach_the_client_and_back() {
    let mut pair = Pair::open();
    let body = map("are you there?");
    let id = pair.node.send_request(pair.now, 0x05, Some(&body)).unwrap();
    pair.node.send_event(0x07, None).unwrap();
    pair.exchange();
    assert_eq!(
        pair.client_events,
        [
            ClientEvent::Request {
                id: id.0,
                reqt: 5,
                body: Some(body)
            },
            ClientEvent::Event {
                reqt: 7,
                body: None
            },
        ]
    );
    pair.client.respond(id.0, Some(&map("yes"))).unwrap();
    pair.client.send_event(0x09, Some(&RawBuf::nil())).unwrap();
    pair.exchange();
    assert_eq!(
        pair.node_events,
        [
            NodeEvent::Response {
                id,
                reply: Reply::Body(Some(map("yes")))
            },
            NodeEvent::Event {
                reqt: 9,
                body: Some(RawBuf::nil())
            },
        ]
    );
    // The node's own ids time out too.
    pair.node_events.clear();
    let id = pair.node.send_request(pair.now, 0x05, None).unwrap();
    pair.exchange();
    pair.advance(Duration::from_secs(30));
    assert_eq!(
        pair.node_events,
        [NodeEvent::RequestFailed {
            id,
            reason: RequestFailure::TimedOut
        }]
    );
    assert_eq!(
        pair.node.send_event(1, Some(&RawBuf::string("not a map"))),
        Err(CallError::Invalid(DecodeError::BodyNotMap {
            found: tipt_proto::Kind::Str
        }))
    );
    assert!(matches!(
        pair.node.send_request(pair.now, 0x80, None),
        Err(CallError::Invalid(DecodeError::IntegerOutOfRange { .. }))
    ));
}

#[test]
fn the_client_pings_every_five_minutes() {
    let mut pair = Pair::open();
    pair.advance(Duration::from_secs(299));
    assert_eq!(pair.pings, 0);
    pair.advance(Duration::from_secs(1));
    assert_eq!(pair.pings, 1);
    pair.advance(Duration::from_secs(300));
    assert_eq!(pair.pings, 2);
    assert!(pair.client.is_open());
}

#[test]
fn closing_fails_pending_requests_on_both_sides() {
    let mut pair = Pair::open();
    let id = pair
        .client
        .send_request(pair.now, NodeRequestType::GET_INFO, None)
        .unwrap();
    pair.client.close();
    pair.exchange();
    let close = Close::new(1000, "client closing");
    assert_eq!(
        pair.client_events,
        [
            ClientEvent::RequestFailed {
                id,
                reason: RequestFailure::ConnectionLost
            },
            ClientEvent::Disconnected(Disconnect::Local(close.clone())),
        ]
    );
    assert_eq!(
        pair.node_events.last(),
        Some(&NodeEvent::Disconnected(Disconnect::Remote(Some(close))))
    );
    assert_eq!(
        pair.node.respond(id.0, None),
        Err(CallError::UnknownRequest(id.0))
    );
}

#[test]
fn a_monitor_records_what_each_side_sent_and_checks_the_answers() {
    let t0 = Instant::now();
    // A monitor's two machines: the node side receives the client's frames, the
    // client side the node's; each records what its own side sent.
    let mut node_side = Node::new(NodeConfig::new()).unwrap();
    let mut client_side = Client::new(ClientConfig::new()).unwrap();
    node_side.handle_input(t0, Input::opened()).unwrap();
    client_side.handle_input(t0, Input::opened()).unwrap();
    drain(&mut client_side);

    // The client's HANDSHAKE, with an id the machine would not have picked.
    let hello = handshake(7, "1.0.0");
    node_side.handle_input(t0, Input::binary(&hello)).unwrap();
    let answer = drain(&mut node_side).frames.remove(0);
    assert_eq!(
        client_side.record_sent(t0, &decode(&hello).unwrap()),
        Ok(None)
    );
    // The node's answer to it: the handshake is awaited under id 7.
    client_side
        .handle_input(t0, Input::binary(&answer))
        .unwrap();
    assert!(client_side.is_open());
    assert_eq!(
        node_side.record_sent(t0, &decode(&answer).unwrap()),
        Ok(None)
    );

    // SIGN_IN and its answer: the node side learns what the answer settled.
    let sign_in = request(3, NodeRequestType::SIGN_IN, None);
    node_side.handle_input(t0, Input::binary(&sign_in)).unwrap();
    drain(&mut node_side);
    client_side
        .record_sent(t0, &decode(&sign_in).unwrap())
        .unwrap();
    // Its id again, while it awaits its response.
    assert_eq!(
        client_side.record_sent(t0, &decode(&sign_in).unwrap()),
        Err(CallError::Pending(proto_core::PendingError::Duplicate))
    );
    let signed_in = encode(&Frame {
        id: 3,
        ver: None,
        kind: FrameKind::Response { body: None },
    });
    client_side
        .handle_input(t0, Input::binary(&signed_in))
        .unwrap();
    assert_eq!(
        node_side.record_sent(t0, &decode(&signed_in).unwrap()),
        Ok(Some(NodeRequestType::SIGN_IN))
    );
    assert_eq!(
        node_side.record_sent(t0, &decode(&signed_in).unwrap()),
        Ok(None)
    );

    // The node's own request: the client side owes the answer, the node side
    // awaits it.
    let ask = encode(&Frame {
        id: 0,
        ver: None,
        kind: FrameKind::Request {
            reqt: 0x05,
            body: None,
        },
    });
    client_side.handle_input(t0, Input::binary(&ask)).unwrap();
    drain(&mut client_side);
    node_side.record_sent(t0, &decode(&ask).unwrap()).unwrap();
    assert_eq!(node_side.poll_timeout(), Some(t0 + Duration::from_secs(30)));
    let reply = encode(&Frame {
        id: 0,
        ver: None,
        kind: FrameKind::Response { body: None },
    });
    node_side.handle_input(t0, Input::binary(&reply)).unwrap();
    assert_eq!(
        client_side.record_sent(t0, &decode(&reply).unwrap()),
        Ok(Some(0x05))
    );
    // A second answer matches nothing any more.
    assert_eq!(
        node_side.handle_input(t0, Input::binary(&reply)),
        Err(InputError::UnmatchedResponse(0))
    );
    assert!(drain(&mut node_side).frames.is_empty(), "nothing is sent");

    // A request of the client's that timed out keeps its id until the late
    // answer: the client may not use it again before.
    let info = request(4, NodeRequestType::GET_INFO, None);
    client_side
        .record_sent(t0, &decode(&info).unwrap())
        .unwrap();
    let t1 = t0 + Duration::from_secs(30);
    client_side.handle_timeout(t1);
    drain(&mut client_side);
    assert_eq!(
        client_side.record_sent(t1, &decode(&info).unwrap()),
        Err(CallError::Pending(proto_core::PendingError::Duplicate))
    );
}

#[test]
fn a_monitor_refuses_requests_recorded_before_the_handshake() {
    let t0 = Instant::now();
    let mut node_side = Node::new(NodeConfig::new()).unwrap();
    let mut client_side = Client::new(ClientConfig::new()).unwrap();
    node_side.handle_input(t0, Input::opened()).unwrap();
    client_side.handle_input(t0, Input::opened()).unwrap();
    let info = request(1, NodeRequestType::GET_INFO, None);
    assert_eq!(
        client_side.record_sent(t0, &decode(&info).unwrap()),
        Err(CallError::NotReady)
    );
    assert_eq!(
        node_side.record_sent(t0, &decode(&info).unwrap()),
        Err(CallError::NotReady)
    );
}
