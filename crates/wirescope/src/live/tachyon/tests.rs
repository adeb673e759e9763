//! Tachyon's observer on frames given by hand, and the plug over loopback: a
//! session of the workspace's own client and server through the proxy, injected
//! violations, record and replay, and `connect` against `serve`.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use proto_core::Payload;
use proto_tokio::{Activity, Incoming, Traffic};
use tachyon_proto::decode;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use super::super::harness::{Proxied, untimed};
use super::*;

const C: Direction = Direction::ToServer;
const S: Direction = Direction::ToClient;

const STATS: &str = r#"{"type":"request","messageId":"m1","commandId":"system/serverStats"}"#;
const STATS_OK: &str = r#"{"type":"response","messageId":"m1","commandId":"system/serverStats","status":"success","data":{"userCount":1}}"#;

fn text(frame: &str) -> FrameData {
    FrameData::Text(frame.to_owned())
}

/// Observes `frames` (milliseconds after the start, direction, data), running
/// deadlines first, as the proxy does; returns each frame's violations and
/// the deadline violations, in order.
fn violations(frames: Vec<(u64, Direction, FrameData)>) -> Vec<Vec<String>> {
    let start = Instant::now();
    let mut observer = Tachyon::observer(&PeerOptions::default(), start);
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

fn none(count: usize) -> Vec<Vec<String>> {
    vec![Vec::new(); count]
}

#[test]
fn a_frame_is_shown_as_encode_reads_it_or_with_the_decoders_error() {
    let mut observer = Tachyon::observer(&PeerOptions::default(), Instant::now());
    let frame = Frame {
        conn: 1,
        at: Duration::ZERO,
        direction: C,
        data: text(STATS),
    };
    let seen = observer.observe(Instant::now(), &frame);
    assert_eq!(seen.kind, "system/serverStats/request");
    assert_eq!(seen.value, Ok(serde_json::from_str(STATS).unwrap()));
    let bad = Frame {
        data: text(r#"{"type":"request","messageId":"#),
        ..frame
    };
    let seen = observer.observe(Instant::now(), &bad);
    assert_eq!(seen.kind, "(bad frame)");
    let error = decode_with(br#"{"type":"request","messageId":"#, &Limits::default()).unwrap_err();
    assert_eq!(seen.value, Err(format!("{error}  [{error:?}]")));
    assert_eq!(seen.violations, vec![format!("malformed frame: {error}")]);
}

#[test]
fn a_conversation_by_the_rules_breaks_none() {
    let event = r#"{"type":"event","messageId":"e1","commandId":"lobby/updated","data":{"id":"lobby-1","name":"x"}}"#;
    let frames = vec![
        (0, C, FrameData::Open),
        (1, C, text(STATS)),
        (2, S, text(STATS_OK)),
        (3, S, text(event)),
        // The id may come again once answered.
        (4, C, text(STATS)),
        (5, S, text(STATS_OK)),
        (6, C, FrameData::Close(Some((1000, "bye".into())))),
        (7, S, FrameData::Close(Some((1000, "bye".into())))),
    ];
    assert_eq!(violations(frames), none(8));
}

#[test]
fn a_response_to_no_request_is_flagged_once() {
    let frames = vec![(1, S, text(STATS_OK)), (2, S, text(STATS_OK))];
    assert_eq!(
        violations(frames),
        vec![
            vec![r#"response "m1" matches no pending request"#.to_owned()],
            // The client's machine closed: the conversation is over for it.
            vec![],
        ]
    );
}

#[test]
fn a_reused_message_id_is_flagged_once() {
    let frames = vec![(1, C, text(STATS)), (2, C, text(STATS))];
    assert_eq!(
        violations(frames),
        vec![
            vec![],
            vec![r#"request messageId "m1" is already in use"#.to_owned()],
        ]
    );
}

#[test]
fn a_command_the_senders_role_may_not_send_is_flagged_and_its_refusal_matched() {
    let kill = r#"{"type":"request","messageId":"k1","commandId":"autohost/kill","data":{"battleId":"75bfc493-2b9d-495d-a453-06722fdca2ea"}}"#;
    let refused = r#"{"type":"response","messageId":"k1","commandId":"autohost/kill","status":"failed","reason":"unauthorized"}"#;
    // The server asking the user for its server stats: a user's request.
    let backwards = STATS.replace("m1", "s1");
    let frames = vec![
        (1, C, text(kill)),
        (2, S, text(refused)),
        (3, S, text(&backwards)),
    ];
    assert_eq!(
        violations(frames),
        vec![
            vec!["user may not send autohost/kill request".to_owned()],
            vec![],
            vec!["server may not send system/serverStats request".to_owned()],
        ]
    );
}

#[test]
fn a_schema_invalid_request_is_flagged_and_its_failure_matched() {
    let join = r#"{"type":"request","messageId":"j1","commandId":"lobby/join","data":{"id":7}}"#;
    let failed = r#"{"type":"response","messageId":"j1","commandId":"lobby/join","status":"failed","reason":"invalid_request"}"#;
    let error = decode_with(join.as_bytes(), &Limits::default()).unwrap_err();
    assert_eq!(
        violations(vec![(1, C, text(join)), (2, S, text(failed))]),
        vec![vec![format!("invalid request: {error}")], vec![]]
    );
}

#[test]
fn a_binary_frame_is_flagged() {
    let frames = vec![(1, S, FrameData::Binary(STATS.as_bytes().to_vec()))];
    assert_eq!(violations(frames), vec![vec!["binary frame".to_owned()]]);
}

#[test]
fn a_response_after_its_request_timed_out_is_flagged_as_late() {
    let frames = vec![(1, C, text(STATS)), (30_002, S, text(STATS_OK))];
    assert_eq!(
        violations(frames),
        vec![
            vec![],
            vec![r#"response "m1" came after its request timed out"#.to_owned()],
        ]
    );
}

/// Bounds every test.
async fn bounded<T>(test: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), test)
        .await
        .expect("the test finished in time")
}

/// Text frames one side sent or received, in order.
type Log = Arc<Mutex<Vec<String>>>;

/// A tap logging the text frames sent into `sent` and those received into
/// `received`.
fn logging_tap(sent: Log, received: Log) -> impl FnMut(Traffic<'_>) + Send + 'static {
    move |traffic| match traffic {
        Traffic::Sent(Payload::Text(text)) => sent.lock().unwrap().push(text.clone()),
        Traffic::Received(Incoming::Text(text)) => {
            received.lock().unwrap().push(text.as_str().to_owned());
        }
        _ => {}
    }
}

const LOBBY_UPDATED: &str = r#"{"type":"event","messageId":"","commandId":"lobby/updated","data":{"id":"lobby-1","name":"x"}}"#;

/// The handshake check of a server speaking v0 and requiring no token.
#[allow(clippy::result_large_err)] // the signature tungstenite's callbacks have
fn v0_only(request: &Request, response: Response) -> Result<Response, ErrorResponse> {
    admit(request, response, None, &[Version::V0]).map(|(response, _)| response)
}

/// A server of the workspace's connection machine on loopback, speaking v0: it
/// answers system/serverStats (and then sends a lobby/updated event), leaves
/// every other request unanswered; what it sent is logged.
async fn stats_server() -> (String, Log) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/tachyon", listener.local_addr().unwrap());
    let log = Log::default();
    let sent = log.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let callback = v0_only;
            let transport = ws::accept_with(stream, callback).await.unwrap();
            let machine = Connection::new(ConnectionConfig::server(Role::User, every_scope()));
            let tap = logging_tap(sent.clone(), Log::default());
            let mut driver = Driver::new(machine, transport).with_tap(tap);
            tokio::spawn(async move {
                while let Some(activity) = driver.next().await {
                    if let Activity::Event(Event::Request(request)) = activity
                        && request.command_id() == CommandId::SystemServerStats
                    {
                        let response = decode(&STATS_OK.replace("m1", request.message_id()));
                        driver.machine().respond(response.unwrap()).unwrap();
                        let event = decode(LOBBY_UPDATED).unwrap();
                        driver.machine().send_event(event).unwrap();
                    }
                }
            });
        }
    });
    (url, log)
}

/// A v0 handshake request for `url` with a Bearer token.
fn handshake(url: &str) -> Request {
    let mut request = url.into_client_request().unwrap();
    let headers = request.headers_mut();
    headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer alice"));
    headers.insert(
        SEC_WEBSOCKET_PROTOCOL,
        HeaderValue::from_static("v0.tachyon"),
    );
    request
}

async fn next_event<T: Transport>(driver: &mut Driver<Connection, T>) -> Event {
    match driver.next().await.expect("the client runs") {
        Activity::Event(event) => event,
        Activity::Refused(error) => panic!("refused {error}"),
    }
}

#[tokio::test]
async fn a_session_through_the_proxy_is_forwarded_unchanged_and_transcribed_exactly() {
    bounded(async {
        let (url, server_sent) = stats_server().await;
        let proxy = Proxied::start::<Tachyon>(&url, PeerOptions::default()).await;
        let (client_sent, client_received) = (Log::default(), Log::default());
        let through = format!("ws://{}/tachyon", proxy.addr);
        let (transport, response) = ws::connect(handshake(&through)).await.unwrap();
        assert_eq!(
            response.headers().get(SEC_WEBSOCKET_PROTOCOL).unwrap(),
            "v0.tachyon"
        );
        let tap = logging_tap(client_sent.clone(), client_received.clone());
        let machine = Connection::new(ConnectionConfig::client(Role::User));
        let mut driver = Driver::new(machine, transport).with_tap(tap);
        let request = decode(STATS).unwrap();
        let id = driver.machine().send_request(Instant::now(), request).unwrap();
        let Event::Response(response) = next_event(&mut driver).await else {
            panic!("expected the response");
        };
        assert_eq!(response.message_id(), id);
        assert!(matches!(next_event(&mut driver).await, Event::Notification(_)));
        driver.machine().close(Close::new(1000, "bye"));
        assert!(matches!(next_event(&mut driver).await, Event::Disconnected(_)));
        proxy.wait_closed(1).await;
        let finished = proxy.finish().await;

        // The bytes each side got are the bytes the other sent.
        let texts = |direction| -> Vec<String> {
            finished
                .frames(1, direction)
                .into_iter()
                .filter_map(|frame| match frame {
                    FrameData::Text(text) => Some(text),
                    _ => None,
                })
                .collect()
        };
        assert_eq!(texts(C), *client_sent.lock().unwrap());
        assert_eq!(texts(S), *server_sent.lock().unwrap());
        assert_eq!(*client_received.lock().unwrap(), *server_sent.lock().unwrap());

        let event = decode(&server_sent.lock().unwrap()[1]).unwrap();
        let event_id = event.message_id();
        assert_eq!(
            finished.transcript(),
            [
                "#1    c>s  open".to_owned(),
                format!(r#"#1    c>s  system/serverStats/request {{"commandId":"system/serverStats","messageId":"{id}","type":"request"}}"#),
                format!(r#"#1    s>c  system/serverStats/response {{"commandId":"system/serverStats","data":{{"userCount":1}},"messageId":"{id}","status":"success","type":"response"}}"#),
                format!(r#"#1    s>c  lobby/updated/event {{"commandId":"lobby/updated","data":{{"id":"lobby-1","name":"x"}},"messageId":"{event_id}","type":"event"}}"#),
                r#"#1    c>s  close         {"code":1000,"reason":"bye"}"#.to_owned(),
                // proto-tokio's driver drops the connection on the client's close
                // without answering it.
                "#1    s>c  close".to_owned(),
            ]
        );
        let json = finished.json();
        assert_eq!(
            json[1],
            json!({"conn": 1, "dir": "c>s", "protocol": "tachyon",
                   "kind": "system/serverStats/request",
                   "value": {"type": "request", "messageId": id, "commandId": "system/serverStats"},
                   "violations": []})
        );
        finished.assert_replay_matches::<Tachyon>();
    })
    .await;
}

/// A raw client: sends `frames` as they are, then reads until the server closes
/// (or `linger` passes with the connection still open, when it closes itself).
async fn raw_client(url: &str, frames: &[WsMessage], linger: Duration) {
    let (mut socket, _) = tokio_tungstenite::connect_async(handshake(url))
        .await
        .unwrap();
    for frame in frames {
        socket.send(frame.clone()).await.unwrap();
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
    bounded(async {
        let (url, _) = stats_server().await;
        let proxy = Proxied::start::<Tachyon>(&url, PeerOptions::default()).await;
        let through = format!("ws://{}/tachyon", proxy.addr);
        let text = |frame: &str| WsMessage::text(frame.to_owned());
        // The server leaves lobby/leave unanswered: its messageId stays in use.
        let leave = r#"{"type":"request","messageId":"l1","commandId":"lobby/leave"}"#;
        let kill = r#"{"type":"request","messageId":"k1","commandId":"autohost/kill","data":{"battleId":"75bfc493-2b9d-495d-a453-06722fdca2ea"}}"#;
        let join = r#"{"type":"request","messageId":"j1","commandId":"lobby/join","data":{"id":7}}"#;
        let linger = Duration::from_millis(300);
        let sessions = [
            vec![text(leave), text(leave)],
            vec![text(kill)],
            vec![text(join)],
            vec![text(STATS_OK)],
            vec![WsMessage::binary(STATS.as_bytes().to_vec())],
        ];
        for frames in &sessions {
            raw_client(&through, frames, linger).await;
        }
        proxy.wait_closed(5).await;
        let finished = proxy.finish().await;
        let join_error = decode_with(join.as_bytes(), &Limits::default()).unwrap_err();
        assert_eq!(
            finished.violations(),
            [
                (
                    1,
                    "lobby/leave/request".to_owned(),
                    r#"request messageId "l1" is already in use"#.to_owned()
                ),
                (
                    2,
                    "autohost/kill/request".to_owned(),
                    "user may not send autohost/kill request".to_owned()
                ),
                (
                    3,
                    "(bad frame)".to_owned(),
                    format!("invalid request: {join_error}")
                ),
                (
                    4,
                    "system/serverStats/response".to_owned(),
                    r#"response "m1" matches no pending request"#.to_owned()
                ),
                // It decodes, but commands travel as text.
                (
                    5,
                    "system/serverStats/request".to_owned(),
                    "binary frame".to_owned()
                ),
            ]
        );
        // The real server answered as its machine says: refusals matched, closes.
        let transcript = finished.transcript();
        for expected in [
            r#"#2    s>c  autohost/kill/response {"commandId":"autohost/kill","details":"user may not send autohost/kill request","messageId":"k1","reason":"unauthorized","status":"failed","type":"response"}"#,
            r#"#1    s>c  close         {"code":1008,"reason":"request messageId \"l1\" is already in use"}"#,
            r#"#5    s>c  close         {"code":1008,"reason":"binary frame"}"#,
        ] {
            assert!(
                transcript.iter().any(|line| line == expected),
                "{expected} missing from {transcript:#?}"
            );
        }
        finished.assert_replay_matches::<Tachyon>();
    })
    .await;
}

#[tokio::test]
async fn a_server_that_breaks_the_rules_is_flagged_too() {
    bounded(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/tachyon", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let callback = v0_only;
            let mut socket = tokio_tungstenite::accept_hdr_async(stream, callback)
                .await
                .unwrap();
            for frame in [STATS.replace("m1", "s1").as_str(), STATS_OK] {
                socket
                    .send(WsMessage::text(frame.to_owned()))
                    .await
                    .unwrap();
            }
            let _ = socket.close(None).await;
            while let Some(Ok(_)) = socket.next().await {}
        });
        let proxy = Proxied::start::<Tachyon>(&url, PeerOptions::default()).await;
        raw_client(
            &format!("ws://{}/tachyon", proxy.addr),
            &[],
            Duration::from_secs(2),
        )
        .await;
        proxy.wait_closed(1).await;
        let finished = proxy.finish().await;
        assert_eq!(
            finished.violations(),
            [
                (
                    1,
                    "system/serverStats/request".to_owned(),
                    "server may not send system/serverStats request".to_owned()
                ),
                (
                    1,
                    "system/serverStats/response".to_owned(),
                    r#"response "m1" matches no pending request"#.to_owned()
                ),
            ]
        );
        finished.assert_replay_matches::<Tachyon>();
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
async fn connect_talks_to_serve() {
    bounded(async {
        let options = PeerOptions {
            token: Some("alice".into()),
            ..PeerOptions::default()
        };
        let (server_console, server_lines, mut server_printed) = console();
        let serve = tokio::spawn(Tachyon::serve(
            options.clone(),
            "127.0.0.1:0".parse().unwrap(),
            server_console,
        ));
        let banner = next_line(&mut server_printed).await;
        let url = banner
            .split_whitespace()
            .find(|word| word.starts_with("ws://"))
            .map(|address| format!("{address}/tachyon"))
            .unwrap();
        let (client_console, client_lines, mut client_printed) = console();
        let connect = tokio::spawn(Tachyon::connect(options, url, client_console));
        let mut client_seen = lines_until(&mut client_printed, "c>s  open").await;
        client_lines.send(STATS.into()).await.unwrap();
        client_seen.extend(lines_until(&mut client_printed, "c>s  system/serverStats").await);
        // A response the client's role may not send: its machine refuses it.
        client_lines.send(STATS_OK.into()).await.unwrap();
        client_seen.extend(lines_until(&mut client_printed, "not sent").await);
        let server_seen = lines_until(&mut server_printed, "answer with").await;
        let id = server_seen
            .last()
            .and_then(|line| line.split('"').nth(1))
            .unwrap()
            .to_owned();
        server_lines
            .send(STATS_OK.replace("m1", &id))
            .await
            .unwrap();
        client_seen.extend(lines_until(&mut client_printed, "s>c  system/serverStats").await);
        drop(client_lines);
        connect.await.unwrap().unwrap();
        while let Some(line) = client_printed.recv().await {
            client_seen.push(line.lines().map(untimed).collect::<Vec<_>>().join("\n"));
        }
        drop(server_lines);
        serve.await.unwrap().unwrap();
        assert_eq!(
            client_seen,
            [
                "connected: the server chose v0.0.tachyon, speaking v0.0".to_owned(),
                "#1    c>s  open".to_owned(),
                format!("request sent as messageId {id:?}"),
                format!(r#"#1    c>s  system/serverStats/request {{"commandId":"system/serverStats","messageId":"{id}","type":"request"}}"#),
                "not sent: user may not send system/serverStats response to server".to_owned(),
                format!(r#"#1    s>c  system/serverStats/response {{"commandId":"system/serverStats","data":{{"userCount":1}},"messageId":"{id}","status":"success","type":"response"}}"#),
                r#"#1    c>s  close         {"code":1000,"reason":"client closing"}"#.to_owned(),
                r#"disconnected: Local(Close { code: 1000, reason: "client closing" })"#.to_owned(),
            ]
        );
    })
    .await;
}
