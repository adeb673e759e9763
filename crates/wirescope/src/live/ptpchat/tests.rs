//! The ptpchat observer on frames from real nodes and from a raw peer breaking
//! each rule; serve and connect over loopback.

use std::time::{Duration, Instant};

use proto_core::{Input, LinkId, Machine, Output, Peer, seeded_rng};
use ptpchat_proto::{
    Ack, Body, ChatMessage, Connect, Endpoint, Envelope, Hello, Message, Node, NodeConfig, NodeId,
    decode, encode,
};
use uuid::Uuid;

use super::*;

const A: NodeId = Uuid::from_u128(0xa);
const B: NodeId = Uuid::from_u128(0xb);

fn at(t0: Instant, frame: &Frame) -> Instant {
    t0 + frame.at
}

fn binary(ms: u64, direction: Direction, bytes: Vec<u8>) -> Frame {
    Frame {
        conn: 1,
        at: Duration::from_millis(ms),
        direction,
        data: FrameData::Binary(bytes),
    }
}

fn open(ms: u64) -> Frame {
    Frame {
        conn: 1,
        at: Duration::from_millis(ms),
        direction: Direction::ToServer,
        data: FrameData::Open,
    }
}

fn envelope(sender: NodeId, target: Option<NodeId>, msg_id: u128, ttl: u32) -> Envelope {
    Envelope {
        ttl: Some(ttl),
        flood: Some(false),
        msg_id: Some(Uuid::from_u128(msg_id)),
        sender_id: Some(sender),
        target_id: target,
    }
}

fn hello(sender: NodeId, msg_id: u128) -> Vec<u8> {
    encode(&Message {
        envelope: envelope(sender, None, msg_id, 1),
        body: Body::Hello(Hello::default()),
    })
}

fn chat(sender: NodeId, target: NodeId, msg_id: u128, ttl: u32) -> Vec<u8> {
    encode(&Message {
        envelope: envelope(sender, Some(target), msg_id, ttl),
        body: Body::Message(ChatMessage {
            recipient: vec![],
            timestamp: None,
            channel: None,
            channel_id: None,
            message: b"hi".to_vec(),
            attachment: vec![],
        }),
    })
}

fn ack(sender: NodeId, target: NodeId, msg_id: u128, acked: u128) -> Vec<u8> {
    encode(&Message {
        envelope: envelope(sender, Some(target), msg_id, 8),
        body: Body::Ack(Ack {
            msg_id: Uuid::from_u128(acked),
        }),
    })
}

/// Runs frames through a fresh TCP observer, calling `on_deadline` at each deadline
/// passed on the way; returns each frame's (kind, violations) and the deadline
/// violations with the time they were found.
#[allow(clippy::type_complexity)]
fn run(frames: &[Frame], until_ms: u64) -> (Vec<(String, Vec<String>)>, Vec<(u64, String)>) {
    let t0 = Instant::now();
    let mut observer = Ptpchat::observer(&PeerOptions::default(), t0);
    let mut seen = Vec::new();
    let mut late = Vec::new();
    let deadlines = |observer: &mut Box<dyn Observer>, now: Instant, late: &mut Vec<_>| {
        while let Some(due) = observer.poll_deadline().filter(|due| *due <= now) {
            for violation in observer.on_deadline(due) {
                late.push(((due - t0).as_millis() as u64, violation));
            }
        }
    };
    for frame in frames {
        deadlines(&mut observer, at(t0, frame), &mut late);
        let observation = observer.observe(at(t0, frame), frame);
        seen.push((observation.kind, observation.violations));
    }
    deadlines(
        &mut observer,
        t0 + Duration::from_millis(until_ms),
        &mut late,
    );
    (seen, late)
}

/// Two real nodes talking through an in-memory link for `span`; every frame as the
/// observer would see it. The client sends a MESSAGE to the server at 300 ms.
fn session(span: Duration) -> Vec<Frame> {
    let t0 = Instant::now();
    let mut nodes = [
        Node::new(NodeConfig::new(A), seeded_rng(1)),
        Node::new(NodeConfig::new(B), seeded_rng(2)),
    ];
    let link = Some(Peer::Link(LinkId(1)));
    let mut frames = vec![open(0)];
    for node in &mut nodes {
        node.handle_input(t0, Input::Opened { from: link }).unwrap();
    }
    let mut now = t0;
    let mut sent_chat = false;
    while now <= t0 + span {
        if !sent_chat && now >= t0 + Duration::from_millis(300) {
            sent_chat = true;
            let body = decode(&chat(A, B, 1, 8), &Default::default()).unwrap().body;
            nodes[0].send(now, B, body).unwrap();
        }
        loop {
            let mut moved = false;
            for i in 0..2 {
                if nodes[i].poll_timeout().is_some_and(|due| due <= now) {
                    nodes[i].handle_timeout(now);
                }
                while let Some(output) = nodes[i].poll_output() {
                    if let Output::Transmit(transmit) = output {
                        moved = true;
                        let bytes = transmit.payload.as_bytes().to_vec();
                        let direction = if i == 0 {
                            Direction::ToServer
                        } else {
                            Direction::ToClient
                        };
                        frames.push(Frame {
                            conn: 1,
                            at: now - t0,
                            direction,
                            data: FrameData::Binary(bytes.clone()),
                        });
                        let _ = nodes[1 - i].handle_input(
                            now,
                            Input::Received {
                                from: link,
                                data: proto_core::Data::Binary(&bytes),
                            },
                        );
                    }
                }
            }
            if !moved {
                break;
            }
        }
        now += Duration::from_millis(50);
    }
    frames
}

#[test]
fn a_session_of_real_nodes_breaks_no_rule() {
    let frames = session(Duration::from_secs(20));
    let (seen, late) = run(&frames, 20_000);
    let kinds: Vec<&str> = seen.iter().take(6).map(|(kind, _)| kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["open", "HELLO", "HELLO", "ROUTING", "ROUTING", "ROUTING"]
    );
    assert!(seen.iter().any(|(kind, _)| kind == "MESSAGE"));
    assert!(seen.iter().any(|(kind, _)| kind == "ACK"));
    let flagged: Vec<_> = seen.iter().filter(|(_, v)| !v.is_empty()).collect();
    assert_eq!(flagged, Vec::<&(String, Vec<String>)>::new());
    assert_eq!(late, []);
}

#[test]
fn the_same_frames_say_the_same_things() {
    let frames = session(Duration::from_secs(3));
    assert_eq!(run(&frames, 9_000), run(&frames, 9_000));
}

#[test]
fn each_broken_rule_is_flagged_once_with_the_nodes_words() {
    let bad = br#"{"msg_type":"MESSAGE","msg_data":{"message":"not base64!"}}"#.to_vec();
    let decode_error = match decode(&bad, &Default::default()) {
        Err(error) => format!("bad message: {error}"),
        Ok(message) => panic!("decoded {message:?}"),
    };
    let connect = encode(&Message {
        envelope: envelope(B, None, 0x70, 8),
        body: Body::Connect(Connect {
            src_node_id: Some(B),
            dst_node_id: Some(Uuid::from_u128(0xc)),
            dst: Endpoint::Port(1),
            src: Endpoint::Port(2),
        }),
    });
    let frames = vec![
        open(0),
        // The client speaks before its HELLO.
        binary(10, Direction::ToServer, chat(A, B, 0x10, 8)),
        binary(20, Direction::ToServer, hello(A, 0x11)),
        binary(30, Direction::ToClient, hello(B, 0x12)),
        // The server ACKs the early MESSAGE (fine), then again (nothing awaits it).
        binary(40, Direction::ToClient, ack(B, A, 0x13, 0x10)),
        binary(50, Direction::ToClient, ack(B, A, 0x14, 0x10)),
        // A relay passed on a message whose ttl had run out.
        binary(60, Direction::ToServer, chat(A, B, 0x15, 0)),
        // The same message again.
        binary(70, Direction::ToServer, chat(A, B, 0x15, 8)),
        // Another acknowledged message under an id already awaiting its ACK.
        binary(75, Direction::ToServer, {
            let mut key = decode(&chat(A, B, 0x15, 8), &Default::default()).unwrap();
            key.body = Body::Key(ptpchat_proto::Key {
                channel: "c".into(),
                channel_id: Uuid::from_u128(9),
                cipher: "none".into(),
                key: vec![1],
            });
            encode(&key)
        }),
        binary(80, Direction::ToServer, bad),
        binary(90, Direction::ToClient, connect),
        // The server keeps greeting; the client falls silent.
        binary(2_000, Direction::ToClient, hello(B, 0x20)),
        binary(4_000, Direction::ToClient, hello(B, 0x21)),
        binary(6_000, Direction::ToClient, hello(B, 0x22)),
    ];
    let (seen, late) = run(&frames, 6_500);
    let flagged: Vec<(usize, Vec<String>)> = seen
        .into_iter()
        .enumerate()
        .filter(|(_, (_, v))| !v.is_empty())
        .map(|(i, (_, v))| (i, v))
        .collect();
    assert_eq!(
        flagged,
        [
            (
                1,
                vec![
                    "MESSAGE before HELLO: the spec makes HELLO the first message on a link"
                        .to_owned()
                ]
            ),
            (
                5,
                vec![format!(
                    "ACK for {}, which the client awaits no ACK for",
                    Uuid::from_u128(0x10)
                )]
            ),
            (
                6,
                vec![
                    "MESSAGE arrived with ttl 0: it was passed on after its ttl ran out".to_owned()
                ]
            ),
            (
                7,
                vec![format!(
                    "duplicate MESSAGE {}: the server has handled it already",
                    Uuid::from_u128(0x15)
                )]
            ),
            (
                8,
                vec!["client reused msg_id: a request with this id is already pending".to_owned()]
            ),
            (9, vec![decode_error]),
            (10, vec!["CONNECT out of sequence".to_owned()]),
        ]
    );
    // Six seconds after its last frame (the bad one, at 80 ms); the unanswered
    // MESSAGE of 60 ms waits its ten seconds beyond this run.
    assert_eq!(
        late,
        [(
            6_080,
            format!(
                "client silent for 6s: the server drops the link (NeighbourDown {{ peer: Link(LinkId(1)), node_id: Some({A}), reason: Silent }})"
            )
        )]
    );
}

#[test]
fn an_unanswered_message_is_flagged_when_its_ack_is_due() {
    let mut frames = vec![
        open(0),
        binary(0, Direction::ToServer, hello(A, 1)),
        binary(0, Direction::ToClient, hello(B, 2)),
        binary(100, Direction::ToServer, chat(A, B, 3, 8)),
    ];
    // Both keep greeting; the server never ACKs.
    for n in 1..=6u64 {
        frames.push(binary(
            n * 2_000,
            Direction::ToServer,
            hello(A, 10 + u128::from(n)),
        ));
        frames.push(binary(
            n * 2_000,
            Direction::ToClient,
            hello(B, 20 + u128::from(n)),
        ));
    }
    let (seen, late) = run(&frames, 12_000);
    assert!(seen.iter().all(|(_, v)| v.is_empty()), "{seen:?}");
    assert_eq!(
        late,
        [(
            10_100,
            format!("server did not ACK {} within 10s", Uuid::from_u128(3))
        )]
    );
}

#[test]
fn each_typed_line_is_mapped_to_the_nodes_calls() {
    let t0 = Instant::now();
    let mut node = Node::new(NodeConfig::new(A), seeded_rng(1));
    let line = |message: &Message| String::from_utf8(encode(message)).unwrap();
    let body = decode(&chat(A, B, 1, 8), &Default::default()).unwrap().body;
    // To nobody yet: the neighbours, of which there are none.
    let to_neighbours = Message {
        envelope: Envelope::default(),
        body: body.clone(),
    };
    assert_eq!(
        apply(&mut node, t0, &line(&to_neighbours)),
        "not sent: no neighbour yet"
    );
    node.handle_input(
        t0,
        Input::Opened {
            from: Some(Peer::Link(LinkId(1))),
        },
    )
    .unwrap();
    assert_eq!(
        apply(&mut node, t0, &line(&to_neighbours)),
        "sent MESSAGE to 1 neighbour(s)"
    );
    let flood = Message {
        envelope: Envelope {
            flood: Some(true),
            ..Envelope::default()
        },
        body: body.clone(),
    };
    assert!(apply(&mut node, t0, &line(&flood)).starts_with("flooded MESSAGE "));
    let directed = decode(&chat(A, B, 1, 8), &Default::default()).unwrap();
    let sent = apply(&mut node, t0, &line(&directed));
    assert!(
        sent.starts_with("sent MESSAGE ") && sent.ends_with(&format!(" to {B}")),
        "{sent}"
    );
    let unknown = Uuid::from_u128(0xc4);
    let join = Message {
        envelope: Envelope::default(),
        body: Body::Join(ptpchat_proto::ChannelRef {
            channel: "lobby".into(),
            channel_id: unknown,
        }),
    };
    assert_eq!(
        apply(&mut node, t0, &line(&join)),
        "not sent: unknown channel"
    );
    let create = Message {
        envelope: Envelope::default(),
        body: Body::Channel(ptpchat_proto::Channel {
            channel: "lobby".into(),
            channel_id: unknown,
            members: vec![],
            closed: false,
        }),
    };
    let created = apply(&mut node, t0, &line(&create));
    let id = created.strip_prefix("created channel ").unwrap();
    assert_eq!(
        node.channel_members(&Uuid::parse_str(id).unwrap()),
        Some(vec![A])
    );
    let connect = Message {
        envelope: Envelope::default(),
        body: Body::Connect(Connect {
            src_node_id: None,
            dst_node_id: Some(B),
            dst: Endpoint::Empty,
            src: Endpoint::Empty,
        }),
    };
    assert_eq!(
        apply(&mut node, t0, &line(&connect)),
        "not sent: no neighbour has said its id yet"
    );
    node.handle_input(
        t0,
        Input::Received {
            from: Some(Peer::Link(LinkId(1))),
            data: proto_core::Data::Binary(&hello(B, 0x77)),
        },
    )
    .unwrap();
    assert_eq!(
        apply(&mut node, t0, &line(&connect)),
        format!("asked {B} to introduce {B}")
    );
}

/// A console for a peer under test: the sender of its input, the receiver of its
/// output.
fn console() -> (
    Console,
    tokio::sync::mpsc::Sender<String>,
    tokio::sync::mpsc::UnboundedReceiver<String>,
) {
    let (input_tx, input) = tokio::sync::mpsc::channel(8);
    let (output, output_rx) = tokio::sync::mpsc::unbounded_channel();
    (Console { input, output }, input_tx, output_rx)
}

/// Reads output lines until one `want` accepts; returns it.
async fn wait_for(
    output: &mut tokio::sync::mpsc::UnboundedReceiver<String>,
    want: impl Fn(&str) -> bool,
) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let line = tokio::time::timeout_at(deadline, output.recv())
            .await
            .expect("no such line within 10 s")
            .expect("the peer stopped");
        if want(&line) {
            return line;
        }
    }
}

fn options(node: NodeId) -> PeerOptions {
    PeerOptions {
        node_id: Some(node.to_string()),
        ..PeerOptions::default()
    }
}

/// `connect` sends a MESSAGE typed as `encode` reads it to `serve`'s node, which
/// prints it; the ACK comes back; ending the input ends each side.
async fn connect_to_serve<P: LiveProtocol>() {
    let (server_console, server_input, mut server_output) = console();
    let server = tokio::spawn(P::serve(
        options(B),
        "127.0.0.1:0".parse().unwrap(),
        server_console,
    ));
    let listening = wait_for(&mut server_output, |line| line.starts_with("ptpchat node")).await;
    let addr = listening.rsplit(' ').next().unwrap().to_owned();
    let (client_console, client_input, mut client_output) = console();
    let client = tokio::spawn(P::connect(options(A), addr, client_console));
    wait_for(&mut client_output, |line| line.starts_with("NeighbourUp")).await;
    // Routing settles within the node's trigger delay and first HELLO exchange.
    let line = String::from_utf8(chat(A, B, 1, 8)).unwrap();
    let sent = loop {
        client_input.send(line.clone()).await.unwrap();
        let said = wait_for(&mut client_output, |line| {
            line.starts_with("sent MESSAGE") || line.starts_with("not sent")
        })
        .await;
        if said.starts_with("sent MESSAGE") {
            break said;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(sent.ends_with(&format!("to {B}")), "{sent}");
    let received = wait_for(&mut server_output, |line| line.starts_with("received")).await;
    assert!(received.starts_with("received MESSAGE from "), "{received}");
    assert!(received.contains(r#""message":"aGk=""#), "{received}");
    let acked = wait_for(&mut client_output, |line| line.starts_with("Acked")).await;
    assert!(acked.ends_with(&format!("by: Some({B}) }}")), "{acked}");
    // A line that is not ptpchat is refused with the decoder's words.
    client_input.send("{}".to_owned()).await.unwrap();
    let refused = wait_for(&mut client_output, |line| line.starts_with("not sent")).await;
    assert_eq!(
        refused,
        format!(
            "not sent: {}",
            match decode(b"{}", &Default::default()) {
                Err(error) => format!("{error}  [{error:?}]"),
                Ok(message) => panic!("{message:?}"),
            }
        )
    );
    drop(client_input);
    tokio::time::timeout(Duration::from_secs(10), client)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    drop(server_input);
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn connect_talks_to_serve_over_tcp() {
    connect_to_serve::<Ptpchat>().await;
}

#[tokio::test]
async fn connect_talks_to_serve_over_udp() {
    connect_to_serve::<PtpchatUdp>().await;
}

mod through_the_proxy {
    use std::time::Duration;

    use proto_core::{Jitter, Limits, seeded_rng};
    use proto_tokio::{TcpConfig, TcpDriver};
    use ptpchat_proto::{Node, NodeConfig};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    use super::super::super::harness::Proxied;
    use super::*;

    /// The server: a real node that says nothing unprompted for a minute.
    async fn quiet_server() -> (SocketAddr, tokio::task::JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut config = NodeConfig::new(B);
        config.hello_interval = Jitter::new(Duration::from_secs(60), Duration::from_secs(60));
        config.routing_interval = Duration::from_secs(3600);
        config.routing_trigger_delay = Duration::from_secs(3600);
        let mut driver = TcpDriver::new(
            Node::new(config, seeded_rng(7)),
            TcpConfig::new(&Limits::default()),
        )
        .listen(listener);
        let task = tokio::spawn(async move { while driver.next().await.is_some() {} });
        (addr, task)
    }

    async fn send(stream: &mut TcpStream, body: &[u8]) {
        let len = u32::try_from(body.len()).unwrap().to_be_bytes();
        stream.write_all(&len).await.unwrap();
        stream.write_all(body).await.unwrap();
    }

    async fn receive(stream: &mut TcpStream) -> Vec<u8> {
        tokio::time::timeout(Duration::from_secs(5), async {
            let mut len = [0u8; 4];
            stream.read_exact(&mut len).await.unwrap();
            let mut body = vec![0; u32::from_be_bytes(len) as usize];
            stream.read_exact(&mut body).await.unwrap();
            body
        })
        .await
        .expect("the server answers within 5 s")
    }

    /// A frame as the transcript shows it: its JSON value (keys sorted).
    fn text(bytes: &[u8]) -> String {
        serde_json::from_slice::<serde_json::Value>(bytes)
            .unwrap()
            .to_string()
    }

    #[tokio::test]
    async fn a_session_through_the_proxy_is_forwarded_unchanged_and_checked() {
        let (server, server_task) = quiet_server().await;
        let proxy = Proxied::start::<Ptpchat>(&server.to_string(), PeerOptions::default()).await;
        let mut client = TcpStream::connect(proxy.addr).await.unwrap();
        let mut sent = Vec::new();
        let mut got = Vec::new();
        // The node greets first; the client greets back and gets ROUTING.
        got.push(receive(&mut client).await);
        for frame in [hello(A, 0x1), chat(A, B, 0x2, 8)] {
            send(&mut client, &frame).await;
            sent.push(frame);
            got.push(receive(&mut client).await);
        }
        // Injected: the MESSAGE again, and an ACK for a message the node never sent.
        for frame in [chat(A, B, 0x2, 8), ack(A, B, 0x3, 0x99)] {
            send(&mut client, &frame).await;
            sent.push(frame);
        }
        proxy.wait_until(|records| records.len() >= 8).await;
        drop(client);
        proxy.wait_closed(1).await;
        let finished = proxy.finish().await;
        server_task.abort();

        // Forwarded unchanged, both ways.
        let binary = |direction| -> Vec<Vec<u8>> {
            finished
                .frames(1, direction)
                .into_iter()
                .filter_map(|data| match data {
                    FrameData::Binary(bytes) => Some(bytes),
                    _ => None,
                })
                .collect()
        };
        assert_eq!(binary(Direction::ToServer), sent);
        assert_eq!(binary(Direction::ToClient), got);

        let [b_hello, b_routing, b_ack] = &got[..] else {
            panic!("{got:?}");
        };
        let ack_id = Uuid::from_u128(0x99);
        let dup_id = Uuid::from_u128(0x2);
        assert_eq!(
            finished.transcript(),
            [
                "#1    c>s  open".to_owned(),
                format!("#1    s>c  HELLO         {}", text(b_hello)),
                format!("#1    c>s  HELLO         {}", text(&sent[0])),
                format!("#1    s>c  ROUTING       {}", text(b_routing)),
                format!("#1    c>s  MESSAGE       {}", text(&sent[1])),
                format!("#1    s>c  ACK           {}", text(b_ack)),
                format!("#1    c>s  MESSAGE       {}", text(&sent[2])),
                format!("#1    !!!  duplicate MESSAGE {dup_id}: the server has handled it already"),
                format!("#1    c>s  ACK           {}", text(&sent[3])),
                format!("#1    !!!  ACK for {ack_id}, which the server awaits no ACK for"),
                "#1    c>s  close".to_owned(),
                "#1    s>c  close".to_owned(),
            ]
        );
        assert_eq!(
            finished.violations(),
            [
                (
                    1,
                    "MESSAGE".to_owned(),
                    format!("duplicate MESSAGE {dup_id}: the server has handled it already")
                ),
                (
                    1,
                    "ACK".to_owned(),
                    format!("ACK for {ack_id}, which the server awaits no ACK for")
                ),
            ]
        );
        let json = finished.json();
        assert_eq!(json.len(), 10);
        assert_eq!(
            json[6],
            serde_json::json!({
                "conn": 1,
                "dir": "c>s",
                "protocol": "ptpchat",
                "kind": "MESSAGE",
                "value": serde_json::from_slice::<serde_json::Value>(&sent[2]).unwrap(),
                "violations": [format!(
                    "duplicate MESSAGE {dup_id}: the server has handled it already"
                )],
            })
        );
        finished.assert_replay_matches::<Ptpchat>();
    }

    /// `connect` and `serve` (the crate's nodes) through the proxy: the same
    /// outcome as without it, and nothing flagged.
    async fn nodes_through_the_proxy<P: LiveProtocol>() {
        let (server_console, server_input, mut server_output) = console();
        let server = tokio::spawn(P::serve(
            options(B),
            "127.0.0.1:0".parse().unwrap(),
            server_console,
        ));
        let listening = wait_for(&mut server_output, |line| line.starts_with("ptpchat node")).await;
        let upstream = listening.rsplit(' ').next().unwrap().to_owned();
        let proxy = Proxied::start::<P>(&upstream, PeerOptions::default()).await;
        let (client_console, client_input, mut client_output) = console();
        let client = tokio::spawn(P::connect(
            options(A),
            proxy.addr.to_string(),
            client_console,
        ));
        wait_for(&mut client_output, |line| line.starts_with("NeighbourUp")).await;
        client_input
            .send(String::from_utf8(chat(A, B, 1, 8)).unwrap())
            .await
            .unwrap();
        wait_for(&mut server_output, |line| {
            line.starts_with("received MESSAGE")
        })
        .await;
        let acked = wait_for(&mut client_output, |line| line.starts_with("Acked")).await;
        assert!(acked.ends_with(&format!("by: Some({B}) }}")), "{acked}");
        drop(client_input);
        tokio::time::timeout(Duration::from_secs(10), client)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        drop(server_input);
        tokio::time::timeout(Duration::from_secs(10), server)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let finished = proxy.finish().await;
        assert_eq!(finished.violations(), []);
        let kinds: Vec<String> = finished
            .json()
            .iter()
            .map(|entry| entry["kind"].as_str().unwrap().to_owned())
            .collect();
        for kind in ["HELLO", "ROUTING", "MESSAGE", "ACK"] {
            assert!(kinds.iter().any(|k| k == kind), "{kind} in {kinds:?}");
        }
        finished.assert_replay_matches::<P>();
    }

    #[tokio::test]
    async fn nodes_talk_through_the_tcp_proxy_as_without_it() {
        nodes_through_the_proxy::<Ptpchat>().await;
    }

    #[tokio::test]
    async fn nodes_talk_through_the_udp_proxy_as_without_it() {
        nodes_through_the_proxy::<PtpchatUdp>().await;
    }
}
