//! Litebridge through the proxy over loopback: a session of the workspace's own
//! machines, injected violations, record and replay, and `connect` against `serve`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use litecord_proto::{Client, ClientConfig, Event, RawJson, Server, ServerConfig};
use proto_core::Payload;
use proto_tokio::{Activity, Driver, Incoming, Traffic, Transport, ws};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use super::super::console::load_roots;
use super::super::harness::{Proxied, untimed};
use super::super::proxy::ProxyConfig;
use super::super::{Console, Direction, FrameData, LiveProtocol, PeerOptions};
use super::Litebridge;

const PASSWORD: &str = "helloworld";

/// Bounds every test.
async fn bounded<T>(test: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), test)
        .await
        .expect("the test finished in time")
}

/// Frames one side sent (text and closes), in order.
type Log = Arc<Mutex<Vec<FrameData>>>;

fn logging_tap(log: Log) -> impl FnMut(Traffic<'_>) + Send + 'static {
    move |traffic| {
        let data = match traffic {
            Traffic::Sent(Payload::Text(text)) => FrameData::Text(text.clone()),
            Traffic::Closing(close) => {
                FrameData::Close(Some((close.code, close.reason.to_string())))
            }
            _ => return,
        };
        log.lock().unwrap().push(data);
    }
}

/// A litebridge server on loopback answering `echo` requests; what it sent is
/// logged.
async fn echo_server(hb_interval: Duration) -> (String, Log) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    let log = Log::default();
    let sent = log.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let mut config = ServerConfig::new(PASSWORD);
            config.hb_interval = hb_interval;
            config.heartbeat_grace = hb_interval / 2;
            let transport = ws::accept_tcp(stream).await.unwrap();
            let mut driver =
                Driver::new(Server::new(config), transport).with_tap(logging_tap(sent.clone()));
            tokio::spawn(async move {
                while let Some(activity) = driver.next().await {
                    if let Activity::Event(Event::Request(request)) = activity {
                        if request.what == "echo" {
                            let args = RawJson::from_value(&request.args).unwrap();
                            let _ = driver.machine().respond(&request.nonce, args);
                        }
                    }
                }
            });
        }
    });
    (url, log)
}

fn texts(frames: &[FrameData]) -> Vec<String> {
    frames
        .iter()
        .filter_map(|frame| match frame {
            FrameData::Text(text) => Some(text.clone()),
            _ => None,
        })
        .collect()
}

async fn next_event<T: Transport>(driver: &mut Driver<Client, T>) -> Event {
    match driver.next().await.expect("the client runs") {
        Activity::Event(event) => event,
        Activity::Refused(error) => panic!("refused {error}"),
    }
}

#[tokio::test]
async fn a_session_is_forwarded_unchanged_and_transcribed_exactly() {
    bounded(async {
        let (url, server_sent) = echo_server(Duration::from_secs(10)).await;
        let proxy = Proxied::start::<Litebridge>(&url, PeerOptions::default()).await;
        let client_sent = Log::default();
        let (transport, _) = ws::connect(format!("ws://{}", proxy.addr)).await.unwrap();
        let client_received = Log::default();
        let received = client_received.clone();
        let sent = client_sent.clone();
        let mut driver = Driver::new(Client::new(ClientConfig::new(PASSWORD)), transport).with_tap(
            move |traffic| match traffic {
                Traffic::Received(Incoming::Text(text)) => {
                    received
                        .lock()
                        .unwrap()
                        .push(FrameData::Text(text.to_string()));
                }
                other => logging_tap(sent.clone())(other),
            },
        );
        assert_eq!(next_event(&mut driver).await, Event::Authenticated);
        let args = vec![
            RawJson::from_value(&1).unwrap(),
            RawJson::from_value("two").unwrap(),
        ];
        let id = driver
            .machine()
            .send_request(Instant::now(), "echo", args)
            .unwrap();
        assert_eq!(
            next_event(&mut driver).await,
            Event::Response {
                id,
                data: RawJson::from_value(&json!([1, "two"])).unwrap()
            }
        );
        driver
            .machine()
            .dispatch("log", vec![RawJson::from_value("hi").unwrap()])
            .unwrap();
        driver.machine().shutdown();
        assert!(matches!(
            next_event(&mut driver).await,
            Event::Disconnected(_)
        ));
        proxy.wait_closed(1).await;
        let finished = proxy.finish().await;

        // The bytes each side got are the bytes the other sent.
        assert_eq!(
            texts(&finished.frames(1, Direction::ToServer)),
            texts(&client_sent.lock().unwrap())
        );
        assert_eq!(
            texts(&finished.frames(1, Direction::ToClient)),
            texts(&server_sent.lock().unwrap())
        );
        assert_eq!(
            texts(&client_received.lock().unwrap()),
            texts(&server_sent.lock().unwrap())
        );

        assert_eq!(
            finished.transcript(),
            [
                "#1    c>s  open",
                r#"#1    s>c  HELLO         {"hb_interval":10000,"op":0}"#,
                r#"#1    c>s  HELLO_ACK     {"op":1,"password":"helloworld"}"#,
                r#"#1    c>s  HEARTBEAT     {"op":2}"#,
                r#"#1    s>c  HEARTBEAT_ACK {"op":3}"#,
                r#"#1    c>s  REQUEST       {"a":[1,"two"],"n":1,"op":4,"w":"echo"}"#,
                r#"#1    s>c  RESPONSE      {"n":1,"op":5,"r":[1,"two"]}"#,
                r#"#1    c>s  DISPATCH      {"a":["hi"],"op":6,"w":"log"}"#,
                r#"#1    c>s  close         {"code":1000,"reason":"client shutting down"}"#,
                // proto-tokio's driver drops the connection on the client's close
                // without answering it.
                "#1    s>c  close",
            ]
        );
        let json = finished.json();
        assert_eq!(json.len(), 10);
        assert_eq!(
            json[1],
            json!({"conn": 1, "dir": "s>c", "protocol": "litebridge", "kind": "HELLO",
                   "value": {"op": 0, "hb_interval": 10000}, "violations": []})
        );
        assert_eq!(
            json[0],
            json!({"conn": 1, "dir": "c>s", "protocol": "litebridge", "kind": "open",
                   "value": null, "violations": []})
        );
        finished.assert_replay_matches::<Litebridge>();
    })
    .await;
}

/// A raw client: waits for HELLO, sends `frames` as they are, then reads until
/// the server closes (or `linger` passes with the connection still open, when it
/// closes itself with 1000).
async fn raw_client(url: &str, frames: &[&str], linger: Duration) {
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let hello = socket.next().await.unwrap().unwrap();
    assert!(hello.is_text(), "{hello:?}");
    for frame in frames {
        socket.send(WsMessage::text(*frame)).await.unwrap();
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
        let (url, _) = echo_server(Duration::from_secs(10)).await;
        let proxy = Proxied::start::<Litebridge>(&url, PeerOptions::default()).await;
        let through = format!("ws://{}", proxy.addr);
        let ack = r#"{"op":1,"password":"helloworld"}"#;
        let linger = Duration::from_millis(300);
        let sessions: [&[&str]; 6] = [
            &[r#"{"op":4,"w":"echo","a":[],"n":1}"#],
            &[r#"{"op":1,"password":"hunter2"}"#],
            &[ack, r#"{"op":5,"n":77,"r":null}"#],
            &[
                ack,
                r#"{"op":4,"w":"slow","a":[],"n":5}"#,
                r#"{"op":4,"w":"slow","a":[],"n":5}"#,
            ],
            &[ack, r#"{"op":0,"hb_interval":5}"#],
            &[ack, r#"{"op":4,"w":"echo","n":9}"#],
        ];
        for frames in sessions {
            raw_client(&through, frames, linger).await;
        }
        proxy.wait_closed(6).await;
        let finished = proxy.finish().await;
        let violations: Vec<(u64, &str, &str)> = finished
            .violations()
            .iter()
            .map(|(conn, kind, text)| (*conn, kind.as_str(), text.as_str()))
            .map(|(conn, kind, text)| (conn, leak(kind), leak(text)))
            .collect();
        assert_eq!(
            violations,
            [
                (1, "REQUEST", "REQUEST (4) before authentication"),
                (2, "close", "authentication failed"),
                (3, "RESPONSE", "no unanswered request has this nonce"),
                (4, "REQUEST", "request nonce already in use"),
                (5, "HELLO", "unexpected HELLO (0)"),
                (
                    6,
                    "(bad frame)",
                    "bad frame: REQUEST (4) frame lacks its `a` field"
                ),
            ]
        );
        finished.assert_replay_matches::<Litebridge>();
    })
    .await;
}

fn leak(text: &str) -> &'static str {
    Box::leak(text.to_owned().into_boxed_str())
}

#[tokio::test]
async fn a_known_password_is_checked_at_hello_ack_and_flagged_once() {
    bounded(async {
        let (url, _) = echo_server(Duration::from_secs(10)).await;
        let options = PeerOptions {
            password: Some(PASSWORD.into()),
            ..PeerOptions::default()
        };
        let proxy = Proxied::start::<Litebridge>(&url, options).await;
        let through = format!("ws://{}", proxy.addr);
        raw_client(
            &through,
            &[r#"{"op":1,"password":"hunter2"}"#],
            Duration::from_secs(1),
        )
        .await;
        proxy.wait_closed(1).await;
        let finished = proxy.finish().await;
        assert_eq!(
            finished.violations(),
            [(
                1,
                "HELLO_ACK".to_owned(),
                "authentication failed".to_owned()
            )]
        );
        assert_eq!(
            finished.transcript(),
            [
                "#1    c>s  open",
                r#"#1    s>c  HELLO         {"hb_interval":10000,"op":0}"#,
                r#"#1    c>s  HELLO_ACK     {"op":1,"password":"hunter2"}"#,
                "#1    !!!  authentication failed",
                r#"#1    s>c  close         {"code":4001,"reason":"authentication failed"}"#,
                "#1    c>s  close",
            ]
        );
        finished.assert_replay_matches::<Litebridge>();
    })
    .await;
}

#[tokio::test]
async fn a_missed_heartbeat_is_flagged_at_its_deadline_and_replays_the_same() {
    bounded(async {
        let (url, _) = echo_server(Duration::from_millis(200)).await;
        let proxy = Proxied::start::<Litebridge>(&url, PeerOptions::default()).await;
        let through = format!("ws://{}", proxy.addr);
        let ack = r#"{"op":1,"password":"helloworld"}"#;
        raw_client(&through, &[ack], Duration::from_secs(2)).await;
        proxy.wait_closed(1).await;
        let finished = proxy.finish().await;
        assert_eq!(
            finished.violations(),
            [(
                1,
                "deadline".to_owned(),
                r#"closes 4003 "heartbeat timeout""#.to_owned()
            )]
        );
        // The deadline is 300 ms (interval and grace) after the HELLO_ACK.
        let ack_at = finished.entries[2].at;
        let deadline = finished
            .entries
            .iter()
            .find(|e| e.direction.is_none())
            .unwrap();
        assert_eq!(deadline.at - ack_at, Duration::from_millis(300));
        finished.assert_replay_matches::<Litebridge>();
    })
    .await;
}

#[tokio::test]
async fn a_server_that_breaks_the_rules_is_flagged_too() {
    bounded(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}", listener.local_addr().unwrap());
        // A violation that ends the conversation for the client machine ends its
        // checks too: each conversation breaks one such rule, last.
        let scripts: [&[&str]; 2] = [
            &[
                r#"{"op":3}"#,
                r#"{"op":5,"n":"zz","r":1}"#,
                r#"{"op":4,"w":"a","a":[],"n":3}"#,
                r#"{"op":4,"w":"b","a":[],"n":3}"#,
            ],
            &[r#"{"op":3}"#, r#"{"op":1,"password":"x"}"#],
        ];
        tokio::spawn(async move {
            for script in scripts {
                let (stream, _) = listener.accept().await.unwrap();
                let mut socket = tokio_tungstenite::accept_async(stream).await.unwrap();
                socket
                    .send(WsMessage::text(r#"{"op":0,"hb_interval":10000}"#))
                    .await
                    .unwrap();
                // HELLO_ACK, HEARTBEAT
                for _ in 0..2 {
                    socket.next().await.unwrap().unwrap();
                }
                for frame in script {
                    socket.send(WsMessage::text(*frame)).await.unwrap();
                }
                let _ = socket.close(None).await;
                while let Some(Ok(_)) = socket.next().await {}
            }
        });
        let proxy = Proxied::start::<Litebridge>(&url, PeerOptions::default()).await;
        for _ in 0..2 {
            let (mut client, _) = tokio_tungstenite::connect_async(format!("ws://{}", proxy.addr))
                .await
                .unwrap();
            client.next().await.unwrap().unwrap();
            client
                .send(WsMessage::text(r#"{"op":1,"password":"helloworld"}"#))
                .await
                .unwrap();
            client.send(WsMessage::text(r#"{"op":2}"#)).await.unwrap();
            while let Some(Ok(message)) = client.next().await {
                if message.is_close() {
                    break;
                }
            }
        }
        proxy.wait_closed(2).await;
        let finished = proxy.finish().await;
        assert_eq!(
            finished.violations(),
            [
                (
                    1,
                    "RESPONSE".to_owned(),
                    "no unanswered request has this nonce".to_owned()
                ),
                (
                    1,
                    "REQUEST".to_owned(),
                    "request nonce already in use".to_owned()
                ),
                (
                    2,
                    "HELLO_ACK".to_owned(),
                    "unexpected HELLO_ACK (1)".to_owned()
                ),
            ]
        );
        finished.assert_replay_matches::<Litebridge>();
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

#[tokio::test]
async fn connect_talks_to_serve() {
    bounded(async {
        let options = PeerOptions { password: Some(PASSWORD.into()), ..PeerOptions::default() };
        let (server_console, server_lines, mut server_printed) = console();
        let serve = tokio::spawn(Litebridge::serve(
            options.clone(),
            "127.0.0.1:0".parse().unwrap(),
            server_console,
        ));
        let banner = next_line(&mut server_printed).await;
        let url = banner
            .split_whitespace()
            .find(|word| word.starts_with("ws://"))
            .unwrap()
            .trim_end_matches(':')
            .to_owned();
        let (client_console, client_lines, mut client_printed) = console();
        let connect = tokio::spawn(Litebridge::connect(options, url, client_console));
        let mut client_seen = Vec::new();
        while !client_seen.iter().any(|line: &String| line.contains("event Authenticated")) {
            client_seen.push(next_line(&mut client_printed).await);
        }
        client_lines
            .send(r#"{"op":4,"w":"echo","a":[1],"n":0}"#.into())
            .await
            .unwrap();
        while !client_seen.iter().any(|line: &String| line.contains("c>s  REQUEST")) {
            client_seen.push(next_line(&mut client_printed).await);
        }
        client_lines.send(r#"{"op":2}"#.into()).await.unwrap();
        while !client_seen.iter().any(|line: &String| line.starts_with("not sent")) {
            client_seen.push(next_line(&mut client_printed).await);
        }
        let mut server_seen = Vec::new();
        while !server_seen.iter().any(|line: &String| line.contains("event Request")) {
            server_seen.push(next_line(&mut server_printed).await);
        }
        server_lines.send(r#"{"op":5,"n":1,"r":"one"}"#.into()).await.unwrap();
        while !client_seen.iter().any(|line: &String| line.contains("event Response")) {
            client_seen.push(next_line(&mut client_printed).await);
        }
        drop(client_lines);
        connect.await.unwrap().unwrap();
        while let Some(line) = client_printed.recv().await {
            client_seen.push(line.lines().map(untimed).collect::<Vec<_>>().join("\n"));
        }
        drop(server_lines);
        serve.await.unwrap().unwrap();
        while let Some(line) = server_printed.recv().await {
            server_seen.push(line.lines().map(untimed).collect::<Vec<_>>().join("\n"));
        }
        assert_eq!(
            client_seen,
            [
                "#1    c>s  open",
                r#"#1    s>c  HELLO         {"hb_interval":10000,"op":0}"#,
                r#"#1    c>s  HELLO_ACK     {"op":1,"password":"helloworld"}"#,
                r#"#1    c>s  HEARTBEAT     {"op":2}"#,
                r#"#1    s>c  HEARTBEAT_ACK {"op":3}"#,
                "event Authenticated",
                "REQUEST sent as RequestId(1)",
                r#"#1    c>s  REQUEST       {"a":[1],"n":1,"op":4,"w":"echo"}"#,
                "not sent: HEARTBEAT is the machine's to send; type REQUEST, RESPONSE or \
                 DISPATCH frames",
                r#"#1    s>c  RESPONSE      {"n":1,"op":5,"r":"one"}"#,
                r#"event Response { id: RequestId(1), data: "one" }"#,
                r#"#1    c>s  close         {"code":1000,"reason":"client shutting down"}"#,
                r#"event Disconnected(Local(Close { code: 1000, reason: "client shutting down" }))"#,
            ]
        );
        assert_eq!(
            server_seen,
            [
                "#1    c>s  open",
                r#"#1    s>c  HELLO         {"hb_interval":10000,"op":0}"#,
                r#"#1    c>s  HELLO_ACK     {"op":1,"password":"helloworld"}"#,
                "event Authenticated",
                r#"#1    c>s  HEARTBEAT     {"op":2}"#,
                r#"#1    s>c  HEARTBEAT_ACK {"op":3}"#,
                r#"#1    c>s  REQUEST       {"a":[1],"n":1,"op":4,"w":"echo"}"#,
                r#"event Request(IncomingRequest { nonce: 1, what: "echo", args: [1] })"#,
                r#"#1    s>c  RESPONSE      {"n":1,"op":5,"r":"one"}"#,
                r#"#1    c>s  close         {"code":1000,"reason":"client shutting down"}"#,
                r#"event Disconnected(Remote(Some(Close { code: 1000, reason: "client shutting down" })))"#,
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn the_proxy_reaches_a_wss_server_made_with_a_certificate_on_the_spot() {
    bounded(async {
        let pem = std::env::temp_dir().join(format!("wirescope-live-{}.pem", std::process::id()));
        let options = PeerOptions {
            password: Some(PASSWORD.into()),
            self_signed: Some("127.0.0.1".into()),
            cert_out: Some(pem.clone()),
            ..PeerOptions::default()
        };
        let (server_console, server_lines, mut server_printed) = console();
        let serve = tokio::spawn(Litebridge::serve(
            options,
            "127.0.0.1:0".parse().unwrap(),
            server_console,
        ));
        let banner = next_line(&mut server_printed).await;
        let upstream = banner
            .split_whitespace()
            .find(|word| word.starts_with("wss://"))
            .unwrap()
            .trim_end_matches(':')
            .to_owned();
        let mut config = ProxyConfig::new();
        config.roots = Some(load_roots(&pem).unwrap());
        let proxy =
            Proxied::start_with::<Litebridge>(&upstream, PeerOptions::default(), config).await;

        let options = PeerOptions {
            password: Some(PASSWORD.into()),
            ..PeerOptions::default()
        };
        let (client_console, client_lines, mut client_printed) = console();
        let url = format!("ws://{}", proxy.addr);
        let connect = tokio::spawn(Litebridge::connect(options, url, client_console));
        while next_line(&mut client_printed).await != "event Authenticated" {}
        drop(client_lines);
        connect.await.unwrap().unwrap();
        proxy.wait_closed(1).await;
        drop(server_lines);
        serve.await.unwrap().unwrap();
        let _ = std::fs::remove_file(&pem);
        let finished = proxy.finish().await;
        assert_eq!(
            finished.transcript(),
            [
                "#1    c>s  open",
                r#"#1    s>c  HELLO         {"hb_interval":10000,"op":0}"#,
                r#"#1    c>s  HELLO_ACK     {"op":1,"password":"helloworld"}"#,
                r#"#1    c>s  HEARTBEAT     {"op":2}"#,
                r#"#1    s>c  HEARTBEAT_ACK {"op":3}"#,
                r#"#1    c>s  close         {"code":1000,"reason":"client shutting down"}"#,
                // proto-tokio's driver drops the connection on the client's close,
                // TLS included.
                "#1    s>c  (wire)        error: IO error: peer closed connection without \
                 sending TLS close_notify: \
                 https://docs.rs/rustls/latest/rustls/manual/_03_howto/index.html#unexpected-eof",
                "#1    s>c  close",
            ]
        );
        finished.assert_replay_matches::<Litebridge>();
    })
    .await;
}

#[tokio::test]
async fn requests_both_ways_answered_in_turn_are_no_violation() {
    bounded(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let transport = ws::accept_tcp(stream).await.unwrap();
            let mut driver = Driver::new(Server::new(ServerConfig::new(PASSWORD)), transport);
            while let Some(activity) = driver.next().await {
                match activity {
                    Activity::Event(Event::Authenticated) => {
                        let _ = driver
                            .machine()
                            .send_request(Instant::now(), "status", vec![]);
                    }
                    Activity::Event(Event::Request(request)) => {
                        let _ = driver
                            .machine()
                            .respond(&request.nonce, RawJson::from_u64(7));
                    }
                    _ => {}
                }
            }
        });
        let proxy = Proxied::start::<Litebridge>(&url, PeerOptions::default()).await;
        let (transport, _) = ws::connect(format!("ws://{}", proxy.addr)).await.unwrap();
        let mut driver = Driver::new(Client::new(ClientConfig::new(PASSWORD)), transport);
        let mut answered = false;
        let mut authenticated = false;
        while !(answered && authenticated) {
            match next_event(&mut driver).await {
                Event::Request(request) => {
                    driver
                        .machine()
                        .respond(&request.nonce, RawJson::from_u64(1))
                        .unwrap();
                    answered = true;
                }
                Event::Authenticated => authenticated = true,
                other => panic!("unexpected {other:?}"),
            }
        }
        let id = driver
            .machine()
            .send_request(Instant::now(), "x", vec![])
            .unwrap();
        let data = RawJson::from_u64(7);
        assert_eq!(next_event(&mut driver).await, Event::Response { id, data });
        driver.machine().shutdown();
        assert!(matches!(
            next_event(&mut driver).await,
            Event::Disconnected(_)
        ));
        proxy.wait_closed(1).await;
        let finished = proxy.finish().await;
        assert_eq!(finished.violations(), []);
        let kinds: Vec<(Option<Direction>, String)> = finished
            .entries
            .iter()
            .filter(|entry| matches!(entry.observation.kind.as_str(), "REQUEST" | "RESPONSE"))
            .map(|entry| (entry.direction, entry.observation.kind.clone()))
            .collect();
        assert_eq!(
            kinds,
            [
                (Some(Direction::ToClient), "REQUEST".to_owned()),
                (Some(Direction::ToServer), "RESPONSE".to_owned()),
                (Some(Direction::ToServer), "REQUEST".to_owned()),
                (Some(Direction::ToClient), "RESPONSE".to_owned()),
            ]
        );
        finished.assert_replay_matches::<Litebridge>();
    })
    .await;
}
