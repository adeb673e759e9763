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
            let callback = |request: &Request, response: Response| {
                admit(request, response, None, &[Version::V0]).map(|(response, _)| response)
            };
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
