//! Tipt's observer on frames given by hand, and the plug over loopback: a
//! session of the workspace's own client and node (over `wss`) through the
//! proxy, injected violations, record and replay, and `connect` against `serve`.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use proto_core::Payload;
use proto_tokio::tls::CertificateDer;
use proto_tokio::{Activity, Incoming, Traffic, Transport, ws};
use rustls::pki_types::pem::PemObject;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use super::super::harness::{Proxied, untimed};
use super::super::proxy::ProxyConfig;
use tipt_proto::{
    Body, Frame as TiptFrame, GetNodeKey, Handshake, HandshakeResponse, MAX_FRAME_LEN, NodeKey,
    encode,
};

use super::*;

const C: Direction = Direction::ToServer;
const S: Direction = Direction::ToClient;

fn bin(id: u8, kind: FrameKind<'_>) -> FrameData {
    FrameData::Binary(encode(&TiptFrame {
        id,
        ver: None,
        kind,
    }))
}

fn request(id: u8, reqt: NodeRequestType, body: Option<Body<'_>>) -> FrameData {
    bin(id, FrameKind::Request { reqt: reqt.0, body })
}

fn handshake(id: u8) -> FrameData {
    let body = Body::Handshake(Handshake { ver: "1.0.0" });
    request(id, NodeRequestType::HANDSHAKE, Some(body))
}

fn handshake_ok(id: u8) -> FrameData {
    let body = Body::HandshakeResponse(HandshakeResponse {
        ver: "1.0.0",
        comp: true,
    });
    bin(id, FrameKind::Response { body: Some(body) })
}

fn ok(id: u8) -> FrameData {
    bin(id, FrameKind::Response { body: None })
}

fn key_request(id: u8) -> FrameData {
    let body = Body::GetNodeKey(GetNodeKey {
        node: "peer.example",
    });
    request(id, NodeRequestType::GET_NODE_KEY, Some(body))
}

/// Observes `frames` (milliseconds after the start, direction, data), running
/// deadlines first, as the proxy does; returns each frame's violations and
/// the deadline violations, in order.
fn violations(frames: Vec<(u64, Direction, FrameData)>) -> Vec<Vec<String>> {
    let start = Instant::now();
    let mut observer = Tipt::observer(&PeerOptions::default(), start);
    let mut all = Vec::new();
    for (ms, direction, data) in frames {
        let now = start + Duration::from_millis(ms);
        while let Some(deadline) = observer.poll_deadline().filter(|at| *at <= now) {
            let missed = observer.on_deadline(deadline);
            if !missed.is_empty() {
                all.push(missed);
            }
        }
        let frame = Frame {
            conn: 1,
            at: now - start,
            direction,
            data,
        };
        all.push(observer.observe(now, &frame).violations);
    }
    all
}

fn one(violation: &str) -> Vec<String> {
    vec![violation.to_owned()]
}

#[test]
fn a_frame_is_shown_as_encode_reads_it_or_with_the_decoders_error() {
    let start = Instant::now();
    let mut observer = Tipt::observer(&PeerOptions::default(), start);
    let frame = Frame {
        conn: 1,
        at: Duration::ZERO,
        direction: C,
        data: key_request(4),
    };
    let FrameData::Binary(bytes) = &frame.data else {
        unreachable!("made binary above");
    };
    let seen = observer.observe(start, &frame);
    assert_eq!(seen.kind, "REQUEST GET_NODE_KEY");
    let shown = seen.value.unwrap();
    assert_eq!(
        shown,
        json!({"id": 4, "pakt": "REQUEST", "reqt": "GET_NODE_KEY", "body": {"node": "peer.example"}})
    );
    // What `encode tipt` makes of the rendering is the frame itself.
    let encoded = crate::tipt::encode_value(&shown.to_string()).unwrap();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(encoded, hex);

    let bad = [0x81, 0xa1, b'x', 0x01];
    let error = decode_to_node(&bad).unwrap_err();
    // A fresh conversation: the first has broken the HANDSHAKE rule.
    let mut observer = Tipt::observer(&PeerOptions::default(), start);
    let seen = observer.observe(
        start,
        &Frame {
            data: FrameData::Binary(bad.to_vec()),
            ..frame
        },
    );
    assert_eq!(seen.kind, "(bad frame)");
    assert_eq!(seen.value, Err(format!("{error}  [{error:?}]")));
    assert_eq!(seen.violations, one(&format!("bad frame: {error}")));
}

#[test]
fn a_conversation_by_the_rules_breaks_none() {
    let key = Body::NodeKey(NodeKey { key: b"key" });
    let frames = vec![
        (0, C, FrameData::Open),
        // Not the id the client machine would have picked.
        (1, C, handshake(5)),
        (2, S, handshake_ok(5)),
        (3, C, request(1, NodeRequestType::SIGN_IN, None)),
        (4, S, ok(1)),
        (5, C, key_request(2)),
        (6, S, bin(2, FrameKind::Response { body: Some(key) })),
        // The node asks the client something; the client answers.
        (
            7,
            S,
            bin(
                0,
                FrameKind::Request {
                    reqt: 9,
                    body: None,
                },
            ),
        ),
        (8, C, ok(0)),
        (
            9,
            C,
            FrameData::Close(Some((1000, "client closing".into()))),
        ),
        (
            10,
            S,
            FrameData::Close(Some((1000, "client closing".into()))),
        ),
    ];
    assert_eq!(violations(frames), vec![Vec::<String>::new(); 11]);
}

#[test]
fn a_request_before_handshake_is_flagged_once() {
    let frames = vec![(1, C, request(1, NodeRequestType::GET_INFO, None))];
    assert_eq!(violations(frames), vec![one("HANDSHAKE must come first")]);
}

#[test]
fn a_handshake_after_its_deadline_is_flagged_at_the_deadline() {
    let frames = vec![(3_500, C, handshake(0))];
    assert_eq!(
        violations(frames),
        vec![
            one("closes 1008 \"400: no HANDSHAKE within 3000 ms\""),
            // The node's machine closed: nothing more to check on its side.
            vec![],
        ]
    );
}

#[test]
fn a_response_to_no_request_is_flagged_once() {
    let frames = vec![(1, C, handshake(0)), (2, S, handshake_ok(0)), (3, S, ok(9))];
    assert_eq!(
        violations(frames),
        vec![vec![], vec![], one("response 9 matches no pending request")]
    );
}

#[test]
fn a_reused_request_id_is_flagged_once() {
    let sign_in = || request(1, NodeRequestType::SIGN_IN, None);
    let frames = vec![
        (1, C, handshake(0)),
        (2, S, handshake_ok(0)),
        (3, C, sign_in()),
        (4, C, sign_in()),
    ];
    assert_eq!(
        violations(frames),
        vec![vec![], vec![], vec![], one("request id 1 is still in use")]
    );
}

#[test]
fn an_oversize_frame_and_a_text_frame_are_flagged() {
    let oversize = vec![0xc0; MAX_FRAME_LEN + 1];
    let frames = vec![
        (1, C, handshake(0)),
        (2, S, handshake_ok(0)),
        (3, C, FrameData::Binary(oversize)),
    ];
    assert_eq!(
        violations(frames),
        vec![
            vec![],
            vec![],
            one(&format!(
                "bad frame: frame of {} bytes exceeds the limit of {MAX_FRAME_LEN}",
                MAX_FRAME_LEN + 1
            )),
        ]
    );
    let frames = vec![(1, S, FrameData::Text("hello".into()))];
    assert_eq!(violations(frames), vec![one("text frame")]);
}

#[test]
fn sign_in_rules_are_flagged_on_the_request_and_the_refusal_matched() {
    let refusal = tipt_proto::RawBuf::string("GET_NODE_KEY requires signing in");
    let frames = vec![
        (1, C, handshake(0)),
        (2, S, handshake_ok(0)),
        (3, C, key_request(2)),
        (
            4,
            S,
            bin(
                2,
                FrameKind::Error {
                    err: refusal.as_raw(),
                },
            ),
        ),
        (5, C, request(1, NodeRequestType::SIGN_IN, None)),
        (6, S, ok(1)),
        (7, C, request(3, NodeRequestType::SIGN_IN, None)),
    ];
    assert_eq!(
        violations(frames),
        vec![
            vec![],
            vec![],
            one("GET_NODE_KEY requires signing in (answered with `err`)"),
            vec![],
            vec![],
            vec![],
            one("SIGN_IN is not allowed once signed in (answered with `err`)"),
        ]
    );
}

#[test]
fn a_node_that_breaks_the_rules_is_flagged_by_the_client_machine() {
    let ask = || {
        bin(
            0,
            FrameKind::Request {
                reqt: 9,
                body: None,
            },
        )
    };
    // Something other than the HANDSHAKE answer first.
    let frames = vec![(1, C, handshake(0)), (2, S, ask())];
    assert_eq!(
        violations(frames),
        vec![vec![], one("expected the HANDSHAKE response")]
    );
    // A request id reused while the client has not answered it.
    let frames = vec![
        (1, C, handshake(0)),
        (2, S, handshake_ok(0)),
        (3, S, ask()),
        (4, S, ask()),
    ];
    assert_eq!(
        violations(frames),
        vec![vec![], vec![], vec![], one("request id 0 is still in use")]
    );
    // A HANDSHAKE answer whose body is not one.
    let frames = vec![(1, C, handshake(0)), (2, S, ok(0))];
    assert_eq!(
        violations(frames),
        vec![vec![], one("bad HANDSHAKE response: `body` is missing")]
    );
}

/// Bounds every test.
async fn bounded<T>(test: impl Future<Output = T>) -> T {
    bounded_by(Duration::from_secs(20), test).await
}

/// Bounds a test by `limit`.
async fn bounded_by<T>(limit: Duration, test: impl Future<Output = T>) -> T {
    tokio::time::timeout(limit, test)
        .await
        .expect("the test finished in time")
}

/// Binary frames one side sent or received, in order.
type Log = Arc<Mutex<Vec<Vec<u8>>>>;

/// A tap logging the binary frames sent into `sent` and those received into
/// `received`.
fn logging_tap(sent: Log, received: Log) -> impl FnMut(Traffic<'_>) + Send + 'static {
    move |traffic| match traffic {
        Traffic::Sent(Payload::Binary(bytes)) => sent.lock().unwrap().push(bytes.to_vec()),
        Traffic::Received(Incoming::Binary(bytes)) => {
            received.lock().unwrap().push(bytes.to_vec());
        }
        _ => {}
    }
}

/// How much longer than the spec's 3 s the test node waits for HANDSHAKE. The
/// proxy's observer starts its clock when the upstream connection is up, a little
/// after the node started its own: a node exactly on time would close a moment
/// before the observer's deadline passed.
const NODE_LENIENCE: Duration = Duration::from_millis(250);

/// A node of the workspace's machine on `wss://127.0.0.1:PORT/ws` (HANDSHAKE
/// deadline: the spec's, plus [`NODE_LENIENCE`]): it signs in whoever sends
/// SIGN_IN, answers GET_NODE_KEY with `b"key"`, and leaves every other request
/// unanswered; what it sent is logged. Also returns the proxy configuration
/// trusting its certificate and passing Tipt's largest frames.
async fn node() -> (String, Log, ProxyConfig) {
    let (tls, pem) = console::self_signed("127.0.0.1", None).unwrap();
    let roots: Vec<_> = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<_, _>>()
        .unwrap();
    let mut config = ProxyConfig::new();
    config.roots = Some(tls::client_config(roots).unwrap());
    config.limits.max_frame_len = tipt_ws().max_message_len;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("wss://{}/ws", listener.local_addr().unwrap());
    let log = Log::default();
    let sent = log.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let Ok(transport) =
                tls::accept_with(stream, tls.clone(), &tipt_ws(), only_ws_path).await
            else {
                continue;
            };
            let tap = logging_tap(sent.clone(), Log::default());
            let mut node_config = NodeConfig::new();
            node_config.handshake_timeout += NODE_LENIENCE;
            let mut driver = Driver::new(Node::new(node_config).unwrap(), transport).with_tap(tap);
            tokio::spawn(async move {
                while let Some(activity) = driver.next().await {
                    let node = driver.machine();
                    match activity {
                        Activity::Event(NodeEvent::Request { id, reqt, .. })
                            if reqt == NodeRequestType::SIGN_IN =>
                        {
                            node.respond(id, None).unwrap();
                            node.set_signed_in(true);
                        }
                        Activity::Event(NodeEvent::FetchNodeKey { id, .. }) => {
                            node.answer_node_key(id, b"key").unwrap();
                        }
                        _ => {}
                    }
                }
            });
        }
    });
    (url, log, config)
}

async fn next_event<T: Transport>(driver: &mut Driver<Client, T>) -> ClientEvent {
    match driver.next().await.expect("the client runs") {
        Activity::Event(event) => event,
        Activity::Refused(error) => panic!("refused {error}"),
    }
}

#[tokio::test]
async fn a_session_through_the_proxy_is_forwarded_unchanged_and_transcribed_exactly() {
    bounded(async {
        let (url, node_sent, config) = node().await;
        let proxy = Proxied::start_with::<Tipt>(&url, PeerOptions::default(), config).await;
        let (client_sent, client_received) = (Log::default(), Log::default());
        // The proxy listens without TLS.
        let through = format!("ws://{}/ws", proxy.addr);
        let (transport, _) = ws::connect_with_config(through, &tipt_ws()).await.unwrap();
        let tap = logging_tap(client_sent.clone(), client_received.clone());
        let mut driver =
            Driver::new(Client::new(ClientConfig::new()).unwrap(), transport).with_tap(tap);
        assert!(matches!(
            next_event(&mut driver).await,
            ClientEvent::Handshake { compatible: true, .. }
        ));
        let now = Instant::now();
        let id = driver.machine().send_request(now, NodeRequestType::SIGN_IN, None).unwrap();
        assert!(matches!(next_event(&mut driver).await, ClientEvent::Response { id: got, .. } if got == id));
        let id = driver.machine().get_node_key(now, "peer.example").unwrap();
        assert!(matches!(next_event(&mut driver).await, ClientEvent::Response { id: got, .. } if got == id));
        let id = driver.machine().forward(now, "peer.example", false, b"sealed").unwrap();
        assert!(matches!(next_event(&mut driver).await, ClientEvent::Response { id: got, .. } if got == id));
        driver.machine().close();
        assert!(matches!(next_event(&mut driver).await, ClientEvent::Disconnected(_)));
        proxy.wait_closed(1).await;
        let finished = proxy.finish().await;

        // The bytes each side got are the bytes the other sent.
        let binaries = |direction| -> Vec<Vec<u8>> {
            finished
                .frames(1, direction)
                .into_iter()
                .filter_map(|frame| match frame {
                    FrameData::Binary(bytes) => Some(bytes),
                    _ => None,
                })
                .collect()
        };
        assert_eq!(binaries(C), *client_sent.lock().unwrap());
        assert_eq!(binaries(S), *node_sent.lock().unwrap());
        assert_eq!(*client_received.lock().unwrap(), *node_sent.lock().unwrap());

        let transcript = finished.transcript();
        assert_eq!(
            transcript[..10],
            [
                "#1    c>s  open",
                r#"#1    c>s  REQUEST HANDSHAKE {"body":{"ver":"1.0.0"},"id":0,"pakt":"REQUEST","reqt":"HANDSHAKE"}"#,
                r#"#1    s>c  RESPONSE      {"body":{"comp":true,"ver":"1.0.0"},"id":0,"pakt":"RESPONSE"}"#,
                r#"#1    c>s  REQUEST SIGN_IN {"id":1,"pakt":"REQUEST","reqt":"SIGN_IN"}"#,
                r#"#1    s>c  RESPONSE      {"id":1,"pakt":"RESPONSE"}"#,
                r#"#1    c>s  REQUEST GET_NODE_KEY {"body":{"node":"peer.example"},"id":2,"pakt":"REQUEST","reqt":"GET_NODE_KEY"}"#,
                r#"#1    s>c  RESPONSE      {"body":{"key":{"$bin":"6b6579"}},"id":2,"pakt":"RESPONSE"}"#,
                r#"#1    c>s  REQUEST FORWARD {"body":{"msg":{"$bin":"7365616c6564"},"node":"peer.example","wait":false},"id":3,"pakt":"REQUEST","reqt":"FORWARD"}"#,
                r#"#1    s>c  RESPONSE      {"body":null,"id":3,"pakt":"RESPONSE"}"#,
                r#"#1    c>s  close         {"code":1000,"reason":"client closing"}"#,
            ]
        );
        // proto-tokio's driver drops the connection on the client's close without
        // answering it (nor ending TLS, which the proxy may report).
        let rest: Vec<&String> = transcript[10..]
            .iter()
            .filter(|line| !line.starts_with("#1    s>c  (wire)"))
            .collect();
        assert_eq!(rest, ["#1    s>c  close"]);
        let json = finished.json();
        assert_eq!(
            json[1],
            json!({"conn": 1, "dir": "c>s", "protocol": "tipt", "kind": "REQUEST HANDSHAKE",
                   "value": {"id": 0, "pakt": "REQUEST", "reqt": "HANDSHAKE", "body": {"ver": "1.0.0"}},
                   "violations": []})
        );
        finished.assert_replay_matches::<Tipt>();
    })
    .await;
}

/// The bytes of a frame made in a test.
fn bytes(data: FrameData) -> Vec<u8> {
    match data {
        FrameData::Binary(bytes) => bytes,
        other => panic!("not binary: {other:?}"),
    }
}

/// A raw client: sends `frames` as they are (after a HANDSHAKE among them, it
/// waits for the node's answer, as a client must), then reads until the node
/// closes (or `linger` passes with the connection still open, when it closes
/// itself).
async fn raw_client(url: &str, frames: Vec<WsMessage>, linger: Duration) {
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(Some(tipt_ws().max_message_len))
        .max_frame_size(Some(tipt_ws().max_message_len));
    let (mut socket, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), true)
        .await
        .unwrap();
    let hello = bytes(handshake(0));
    for frame in frames {
        let is_hello = frame.clone().into_data().as_ref() == hello.as_slice();
        socket.send(frame).await.unwrap();
        if is_hello {
            let answer = socket.next().await.unwrap().unwrap();
            assert!(answer.is_binary(), "{answer:?}");
        }
    }
    let closed = tokio::time::timeout(linger, async {
        while let Some(Ok(message)) = socket.next().await {
            if message.is_close() {
                return;
            }
        }
    })
    .await;
    if closed.is_err() {
        let _ = socket.close(None).await;
        while let Some(Ok(_)) = socket.next().await {}
    }
}

#[tokio::test]
async fn each_injected_violation_is_flagged_once_with_the_machines_error() {
    // A 2.1 MB frame is recorded and replayed, and one conversation waits out the
    // spec's 3 s.
    bounded_by(Duration::from_secs(60), async {
        let (url, _, config) = node().await;
        let proxy = Proxied::start_with::<Tipt>(&url, PeerOptions::default(), config).await;
        let through = format!("ws://{}/ws", proxy.addr);
        let binary = |data: FrameData| WsMessage::binary(bytes(data));
        let hello = || binary(handshake(0));
        // The node leaves GET_INFO unanswered: its id stays in use.
        let info = || binary(request(1, NodeRequestType::GET_INFO, None));
        let oversize = vec![0xc0; MAX_FRAME_LEN + 1];
        // Says nothing: flagged when the spec's 3 s have passed; the node closes
        // it a little later. The others run meanwhile.
        let silent = tokio::spawn({
            let through = through.clone();
            async move { raw_client(&through, Vec::new(), Duration::from_secs(5)).await }
        });
        proxy.wait_until(|records| !records.is_empty()).await;
        let linger = Duration::from_millis(300);
        let sessions = vec![
            vec![info()],
            vec![hello(), binary(key_request(2))],
            vec![hello(), info(), info()],
            vec![hello(), binary(ok(9))],
            vec![hello(), WsMessage::binary(vec![0x81, 0xa1, b'x', 0x01])],
            vec![hello(), WsMessage::binary(oversize)],
            vec![hello(), WsMessage::text("hello")],
        ];
        for frames in sessions {
            raw_client(&through, frames, linger).await;
        }
        silent.await.unwrap();
        proxy.wait_closed(8).await;
        let finished = proxy.finish().await;
        let bad_root = decode_to_node(&[0x81, 0xa1, b'x', 0x01]).unwrap_err();
        let expected: Vec<(u64, String, String)> = [
            (
                1,
                "deadline",
                "closes 1008 \"400: no HANDSHAKE within 3000 ms\"".to_owned(),
            ),
            (2, "REQUEST GET_INFO", "HANDSHAKE must come first".to_owned()),
            (
                3,
                "REQUEST GET_NODE_KEY",
                "GET_NODE_KEY requires signing in (answered with `err`)".to_owned(),
            ),
            (4, "REQUEST GET_INFO", "request id 1 is still in use".to_owned()),
            (5, "RESPONSE", "response 9 matches no pending request".to_owned()),
            (6, "(bad frame)", format!("bad frame: {bad_root}")),
            (
                7,
                "(bad frame)",
                format!(
                    "bad frame: frame of {} bytes exceeds the limit of {MAX_FRAME_LEN}",
                    MAX_FRAME_LEN + 1
                ),
            ),
            (8, "(bad frame)", "text frame".to_owned()),
        ]
        .into_iter()
        .map(|(conn, kind, text)| (conn, kind.to_owned(), text))
        .collect();
        // In conversation order: the deadline may pass before or after the rest.
        let mut violations = finished.violations();
        violations.sort_by_key(|(conn, _, _)| *conn);
        assert_eq!(violations, expected);
        // The node answered as its machine says: the refusal, the closes.
        let transcript = finished.transcript();
        for expected in [
            r#"#3    s>c  RESPONSE err  {"err":"GET_NODE_KEY requires signing in","id":2,"pakt":"RESPONSE"}"#,
            r#"#2    s>c  close         {"code":1008,"reason":"400: HANDSHAKE must come first"}"#,
            r#"#1    s>c  close         {"code":1008,"reason":"400: no HANDSHAKE within 3250 ms"}"#,
        ] {
            assert!(
                transcript.iter().any(|line| line == expected),
                "{expected} missing from {transcript:#?}"
            );
        }
        finished.assert_replay_matches::<Tipt>();
    })
    .await;
}

/// A console fed from `lines` whose output is collected.
fn console() -> (
    Console,
    mpsc::Sender<String>,
    mpsc::UnboundedReceiver<String>,
) {
    let (lines, input) = mpsc::channel(16);
    let (output, printed) = mpsc::unbounded_channel();
    (Console { input, output }, lines, printed)
}

/// The next printed line (at most 5 s away), without its time stamp.
async fn next_line(printed: &mut mpsc::UnboundedReceiver<String>) -> String {
    let line = tokio::time::timeout(Duration::from_secs(5), printed.recv())
        .await
        .expect("a line in time")
        .expect("the peer prints");
    line.lines().map(untimed).collect::<Vec<_>>().join("\n")
}

/// Lines printed until one contains `wanted` (included).
async fn lines_until(printed: &mut mpsc::UnboundedReceiver<String>, wanted: &str) -> Vec<String> {
    let mut seen = Vec::new();
    while !seen.iter().any(|line: &String| line.contains(wanted)) {
        seen.push(next_line(printed).await);
    }
    seen
}

#[tokio::test]
async fn connect_talks_to_serve_over_wss() {
    bounded(async {
        let pem = std::env::temp_dir().join(format!("wirescope-tipt-{}.pem", std::process::id()));
        let options = PeerOptions {
            token: Some("t0ken".into()),
            self_signed: Some("127.0.0.1".into()),
            cert_out: Some(pem.clone()),
            roots: Some(pem.clone()),
            ..PeerOptions::default()
        };
        let (node_console, node_lines, mut node_printed) = console();
        let serve = tokio::spawn(Tipt::serve(
            options.clone(),
            "127.0.0.1:0".parse().unwrap(),
            node_console,
        ));
        let banner = next_line(&mut node_printed).await;
        let url = banner
            .split_whitespace()
            .find(|word| word.starts_with("wss://"))
            .unwrap()
            .to_owned();
        let (client_console, client_lines, mut client_printed) = console();
        let connect = tokio::spawn(Tipt::connect(options, url, client_console));
        let mut client_seen = lines_until(&mut client_printed, "s>c  RESPONSE      {\"id\":1").await;
        client_lines
            .send(r#"{"id":0,"pakt":"REQUEST","reqt":"GET_NODE_KEY","body":{"node":"peer.example"}}"#.into())
            .await
            .unwrap();
        client_seen.extend(lines_until(&mut client_printed, "c>s  REQUEST GET_NODE_KEY").await);
        // HANDSHAKE is the machine's own.
        client_lines
            .send(r#"{"id":0,"pakt":"REQUEST","reqt":"HANDSHAKE","body":{"ver":"1.0.0"}}"#.into())
            .await
            .unwrap();
        client_seen.extend(lines_until(&mut client_printed, "not sent").await);
        let node_seen = lines_until(&mut node_printed, "would GET").await;
        assert_eq!(
            node_seen.last().unwrap(),
            "would GET https://peer.example/api/public_key: answer with a RESPONSE of id 2, \
             body {\"key\":{\"$bin\":\"HEX\"}}"
        );
        node_lines
            .send(r#"{"id":2,"pakt":"RESPONSE","body":{"key":{"$bin":"6b6579"}}}"#.into())
            .await
            .unwrap();
        client_seen.extend(lines_until(&mut client_printed, "s>c  RESPONSE      {\"body\":{\"key\"").await);
        drop(client_lines);
        connect.await.unwrap().unwrap();
        while let Some(line) = client_printed.recv().await {
            client_seen.push(line.lines().map(untimed).collect::<Vec<_>>().join("\n"));
        }
        drop(node_lines);
        serve.await.unwrap().unwrap();
        let _ = std::fs::remove_file(&pem);
        assert_eq!(
            client_seen,
            [
                "#1    c>s  open",
                r#"#1    c>s  REQUEST HANDSHAKE {"body":{"ver":"1.0.0"},"id":0,"pakt":"REQUEST","reqt":"HANDSHAKE"}"#,
                r#"#1    s>c  RESPONSE      {"body":{"comp":true,"ver":"1.0.0"},"id":0,"pakt":"RESPONSE"}"#,
                "the node speaks 1.0.0; compatible: true",
                "SIGN_IN with the token sent as request #1",
                r#"#1    c>s  REQUEST SIGN_IN {"body":{"token":"t0ken"},"id":1,"pakt":"REQUEST","reqt":"SIGN_IN"}"#,
                r#"#1    s>c  RESPONSE      {"id":1,"pakt":"RESPONSE"}"#,
                "REQUEST sent as request #2",
                r#"#1    c>s  REQUEST GET_NODE_KEY {"body":{"node":"peer.example"},"id":2,"pakt":"REQUEST","reqt":"GET_NODE_KEY"}"#,
                "not sent: the client sends HANDSHAKE itself on connecting",
                r#"#1    s>c  RESPONSE      {"body":{"key":{"$bin":"6b6579"}},"id":2,"pakt":"RESPONSE"}"#,
                r#"#1    c>s  close         {"code":1000,"reason":"client closing"}"#,
                r#"disconnected: Local(Close { code: 1000, reason: "client closing" })"#,
            ]
        );
    })
    .await;
}
