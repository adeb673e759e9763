//! A server machine fed arbitrary frames, time steps and application calls.
//!
//! Invariants: no panic; every frame it sends is a valid server frame; nothing is sent
//! after it closes, and no event after it reports the disconnect; every close carries one of the protocol's codes; its timer never
//! lies in the past after `handle_timeout`.
#![no_main]

use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use litecord_proto::{Event, Machine, Message, Op, RawJson, Server, ServerConfig, decode};
use proto_core::{Input, Limits, Output, Payload};

#[derive(Debug, Arbitrary)]
enum Step {
    Raw(Vec<u8>),
    HelloAck { correct: bool },
    Heartbeat,
    Request { nonce: u8 },
    Response { nonce: u8 },
    Dispatch,
    Hello,
    Advance { millis: u16 },
    PeerClosed,
    Respond { nonce: u8 },
    SendRequest,
    Close,
}

fn frame(step: &Step) -> Option<Vec<u8>> {
    Some(match step {
        Step::Raw(bytes) => bytes.clone(),
        Step::HelloAck { correct } => {
            let password = if *correct { "pw" } else { "nope" };
            format!(r#"{{"op":1,"password":"{password}"}}"#).into_bytes()
        }
        Step::Heartbeat => br#"{"op":2}"#.to_vec(),
        Step::Request { nonce } => format!(r#"{{"op":4,"w":"x","a":[],"n":{nonce}}}"#).into_bytes(),
        Step::Response { nonce } => format!(r#"{{"op":5,"n":{nonce},"r":null}}"#).into_bytes(),
        Step::Dispatch => br#"{"op":6,"w":"x","a":[1]}"#.to_vec(),
        Step::Hello => br#"{"op":0,"hb_interval":5}"#.to_vec(),
        _ => return None,
    })
}

fuzz_target!(|steps: Vec<Step>| {
    let mut config = ServerConfig::new("pw");
    config.hb_interval = Duration::from_millis(100);
    config.heartbeat_grace = Duration::from_millis(50);
    config.request_timeout = Duration::from_millis(80);
    config.limits = Limits {
        max_frame_len: 512,
        max_depth: 8,
        max_pending: 4,
    };
    let limits = config.limits;
    let mut now = Instant::now();
    let mut server = Server::new(config);
    let _ = server.handle_input(now, Input::opened());
    let mut closed = false;
    let mut disconnected = false;
    for step in steps.iter().take(256) {
        if let Some(bytes) = frame(step) {
            let _ = server.handle_input(now, Input::binary(&bytes));
        } else {
            match step {
                Step::Advance { millis } => {
                    now += Duration::from_millis(u64::from(*millis));
                    if server.poll_timeout().is_some_and(|at| at <= now) {
                        server.handle_timeout(now);
                    }
                    assert!(server.poll_timeout().is_none_or(|at| at > now));
                }
                Step::PeerClosed => {
                    let _ = server.handle_input(now, Input::closed(None));
                }
                Step::Respond { nonce } => {
                    let _ =
                        server.respond(&RawJson::from_u64(u64::from(*nonce)), RawJson::from_u64(1));
                }
                Step::SendRequest => {
                    let _ = server.send_request(now, "y", vec![]);
                }
                Step::Close => server.close(proto_core::Close::new(1000, "bye")),
                _ => {}
            }
        }
        while let Some(output) = server.poll_output() {
            match output {
                Output::Transmit(transmit) => {
                    assert!(!closed, "sent after close");
                    let Payload::Text(text) = transmit.payload else {
                        panic!("litebridge sends text");
                    };
                    let message = decode(text.as_bytes(), &limits).expect("valid frame");
                    assert!(matches!(
                        message.op(),
                        Op::Hello | Op::HeartbeatAck | Op::Request | Op::Response
                    ));
                    if let Message::Hello(hello) = message {
                        assert_eq!(hello.hb_interval_ms, 100);
                    }
                }
                Output::Close { close, .. } => {
                    assert!(!closed, "closed twice");
                    assert!(
                        [1000, 1008, 1009, 4001, 4002, 4003].contains(&close.code),
                        "{close}"
                    );
                    closed = true;
                }
                Output::Event(event) => {
                    assert!(!disconnected, "event after the disconnect: {event:?}");
                    match event {
                        Event::Disconnected(_) => {
                            closed = true;
                            disconnected = true;
                        }
                        // In-flight requests fail between the close and the disconnect.
                        Event::RequestFailed { .. } => {}
                        other => assert!(!closed, "{other:?} after close"),
                    }
                }
                Output::Reconnect { .. } => panic!("a server never reconnects"),
            }
        }
    }
});
