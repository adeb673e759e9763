//! A Tipt node fed arbitrary frames, well-formed requests, time steps and
//! application calls.
//!
//! Invariants: no panic; every frame it sends decodes; it answers only ids the
//! client used and each at most once per request; nothing is sent after the close
//! and no event follows the disconnect; it closes with 1000, 1003 or 1008 only, and
//! a 1008 before the HANDSHAKE says 400; its timer never lies in the past after
//! `handle_timeout`.
#![no_main]

use std::collections::HashSet;
use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use proto_core::{Close, Input, Machine, Output, Payload};
use tipt_proto::{
    Body, Forward, Frame, FrameKind, GetNodeKey, Handshake, Node, NodeConfig, NodeEvent, RawBuf,
    decode, encode,
};

#[derive(Debug, Arbitrary)]
enum Step {
    Bytes(Vec<u8>),
    Handshake { id: u8, major: u8 },
    Request { id: u8, reqt: u8 },
    GetNodeKey { id: u8, node: String },
    Forward { id: u8, wait: bool, len: u16 },
    Response { id: u8, error: bool },
    Event { reqt: u8 },
    Text,
    Pong,
    Advance { millis: u16 },
    PeerClosed,
    SignIn(bool),
    Answer { index: u8, how: u8 },
    SendRequest { reqt: u8 },
    SendEvent { reqt: u8 },
    Close,
}

fn frame(id: u8, kind: FrameKind<'_>) -> Vec<u8> {
    encode(&Frame {
        id,
        ver: None,
        kind,
    })
}

fuzz_target!(|steps: Vec<Step>| {
    let mut config = NodeConfig::new();
    config.handshake_timeout = Duration::from_millis(300);
    config.request_timeout = Duration::from_millis(500);
    let Ok(mut node) = Node::new(config) else {
        return;
    };
    let mut now = Instant::now();
    let _ = node.handle_input(now, Input::opened());
    let mut handshaken = false;
    // Requests from the client the node has not answered yet.
    let mut open: Vec<u8> = Vec::new();
    let mut client_ids: HashSet<u8> = HashSet::new();
    let mut closed = false;
    let mut disconnected = false;
    let body = RawBuf::nil();
    for step in steps.iter().take(256) {
        let input = match step {
            Step::Bytes(bytes) => Some(bytes.clone()),
            Step::Handshake { id, major } => {
                let ver = format!("{major}.0.0");
                Some(frame(
                    *id,
                    FrameKind::Request {
                        reqt: 0,
                        body: Some(Body::Handshake(Handshake { ver: &ver })),
                    },
                ))
            }
            Step::Request { id, reqt } => Some(frame(
                *id,
                FrameKind::Request {
                    reqt: reqt & 0x7f,
                    body: None,
                },
            )),
            Step::GetNodeKey { id, node } => Some(frame(
                *id,
                FrameKind::Request {
                    reqt: 0x20,
                    body: Some(Body::GetNodeKey(GetNodeKey { node })),
                },
            )),
            Step::Forward { id, wait, len } => {
                let msg = vec![7u8; usize::from(*len)];
                Some(frame(
                    *id,
                    FrameKind::Request {
                        reqt: 0x21,
                        body: Some(Body::Forward(Forward {
                            node: "b.example",
                            wait: *wait,
                            msg: &msg,
                        })),
                    },
                ))
            }
            Step::Response { id, error } => Some(if *error {
                frame(*id, FrameKind::Error { err: body.as_raw() })
            } else {
                frame(*id, FrameKind::Response { body: None })
            }),
            Step::Event { reqt } => Some(frame(
                0,
                FrameKind::Event {
                    reqt: reqt & 0x7f,
                    body: None,
                },
            )),
            _ => None,
        };
        if let Some(bytes) = input {
            if let Ok(Frame {
                id,
                kind: FrameKind::Request { .. },
                ..
            }) = decode(&bytes)
            {
                client_ids.insert(id);
            }
            let _ = node.handle_input(now, Input::binary(&bytes));
        }
        match step {
            Step::Text => {
                let _ = node.handle_input(now, Input::text("{}"));
            }
            Step::Pong => {
                let _ = node.handle_input(now, Input::pong(b""));
            }
            Step::Advance { millis } => {
                now += Duration::from_millis(u64::from(*millis));
                if node.poll_timeout().is_some_and(|at| at <= now) {
                    node.handle_timeout(now);
                }
                assert!(
                    node.poll_timeout().is_none_or(|at| at > now),
                    "timer in the past"
                );
            }
            Step::PeerClosed => {
                let _ = node.handle_input(now, Input::closed(None));
            }
            Step::SignIn(signed_in) => node.set_signed_in(*signed_in),
            Step::Answer { index, how } => {
                if !open.is_empty() {
                    let id = open[usize::from(*index) % open.len()];
                    let answered = match how % 4 {
                        0 => node.respond(id, Some(&body)),
                        1 => node.respond_error(id, &body),
                        2 => node.answer_node_key(id, b"key"),
                        _ => node.answer_forward(id, b"resp"),
                    };
                    if answered.is_ok() {
                        open.retain(|&open| open != id);
                    }
                }
            }
            Step::SendRequest { reqt } => {
                let _ = node.send_request(now, *reqt, None);
            }
            Step::SendEvent { reqt } => {
                let _ = node.send_event(*reqt, Some(&body));
            }
            Step::Close => node.close(Close::new(1000, "bye")),
            _ => {}
        }
        while let Some(output) = node.poll_output() {
            match output {
                Output::Transmit(transmit) => {
                    assert!(!closed, "sent after close");
                    let Payload::Binary(bytes) = transmit.payload else {
                        panic!("a node sends binary frames only");
                    };
                    let frame = decode(&bytes).expect("the node's frames decode");
                    match frame.kind {
                        FrameKind::Response { .. } | FrameKind::Error { .. } => {
                            assert!(client_ids.contains(&frame.id), "answered an id never used");
                            if let FrameKind::Response {
                                body: Some(Body::Raw(raw)),
                            } = frame.kind
                            {
                                if tipt_proto::HandshakeResponse::decode(raw).is_ok() {
                                    handshaken = true;
                                }
                            }
                        }
                        FrameKind::Request { .. } | FrameKind::Event { .. } => {
                            assert!(handshaken, "requested before the handshake");
                        }
                    }
                }
                Output::Close { close, .. } => {
                    assert!(!closed, "closed twice");
                    assert!([1000, 1003, 1008].contains(&close.code), "{close}");
                    if close.code == 1008 && !handshaken && close.reason.contains("HANDSHAKE") {
                        assert!(close.reason.starts_with("400"), "{close}");
                    }
                    closed = true;
                }
                Output::Event(event) => {
                    assert!(!disconnected, "event after the disconnect: {event:?}");
                    match event {
                        NodeEvent::Disconnected(_) => {
                            closed = true;
                            disconnected = true;
                            open.clear();
                        }
                        NodeEvent::Request { id, .. } | NodeEvent::FetchNodeKey { id, .. } => {
                            assert!(!open.contains(&id), "id {id} handed over twice");
                            open.push(id);
                        }
                        NodeEvent::Forward { id, wait: true, .. } => {
                            assert!(!open.contains(&id), "id {id} handed over twice");
                            open.push(id);
                        }
                        _ => {}
                    }
                }
                Output::Reconnect { .. } => panic!("a node never reconnects"),
            }
        }
    }
});
