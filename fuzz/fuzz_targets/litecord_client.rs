//! A client machine fed arbitrary frames, transport events, time steps and
//! application calls.
//!
//! Invariants: no panic; every frame it sends is a valid client frame; every failure
//! is followed by a reconnect at least a second later, unless it was shut down.
#![no_main]

use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use litecord_proto::{Client, ClientConfig, Machine, Op, RawJson, decode};
use proto_core::{Input, Limits, Output, Payload};

#[derive(Debug, Arbitrary)]
enum Step {
    Raw(Vec<u8>),
    Hello { interval: u16 },
    HeartbeatAck,
    Request { nonce: u8 },
    Response { nonce: u8 },
    Dispatch,
    Opened,
    PeerClosed,
    Advance { millis: u16 },
    SendRequest,
    SendDispatch,
    Respond { nonce: u8 },
    Shutdown,
}

fn frame(step: &Step) -> Option<Vec<u8>> {
    Some(match step {
        Step::Raw(bytes) => bytes.clone(),
        Step::Hello { interval } => format!(r#"{{"op":0,"hb_interval":{interval}}}"#).into_bytes(),
        Step::HeartbeatAck => br#"{"op":3}"#.to_vec(),
        Step::Request { nonce } => format!(r#"{{"op":4,"w":"x","a":[],"n":{nonce}}}"#).into_bytes(),
        Step::Response { nonce } => format!(r#"{{"op":5,"n":{nonce},"r":null}}"#).into_bytes(),
        Step::Dispatch => br#"{"op":6,"w":"x","a":[]}"#.to_vec(),
        _ => return None,
    })
}

fuzz_target!(|steps: Vec<Step>| {
    let mut config = ClientConfig::new("pw");
    config.request_timeout = Duration::from_millis(80);
    config.hello_timeout = Duration::from_millis(200);
    config.limits = Limits {
        max_frame_len: 512,
        max_depth: 8,
        max_pending: 4,
    };
    let limits = config.limits;
    let mut now = Instant::now();
    let mut client = Client::new(config);
    let _ = client.handle_input(now, Input::opened());
    for step in steps.iter().take(256) {
        if let Some(bytes) = frame(step) {
            let _ = client.handle_input(now, Input::text(&String::from_utf8_lossy(&bytes)));
        } else {
            match step {
                Step::Opened => {
                    let _ = client.handle_input(now, Input::opened());
                }
                Step::PeerClosed => {
                    let _ = client.handle_input(now, Input::closed(None));
                }
                Step::Advance { millis } => {
                    now += Duration::from_millis(u64::from(*millis));
                    if client.poll_timeout().is_some_and(|at| at <= now) {
                        client.handle_timeout(now);
                    }
                    assert!(client.poll_timeout().is_none_or(|at| at > now));
                }
                Step::SendRequest => {
                    let _ = client.send_request(now, "y", vec![]);
                }
                Step::SendDispatch => {
                    let _ = client.dispatch("z", vec![]);
                }
                Step::Respond { nonce } => {
                    let _ =
                        client.respond(&RawJson::from_u64(u64::from(*nonce)), RawJson::from_u64(2));
                }
                Step::Shutdown => client.shutdown(),
                _ => {}
            }
        }
        while let Some(output) = client.poll_output() {
            match output {
                Output::Transmit(transmit) => {
                    let Payload::Text(text) = transmit.payload else {
                        panic!("litebridge sends text");
                    };
                    let message = decode(text.as_bytes(), &limits).expect("valid frame");
                    assert!(matches!(
                        message.op(),
                        Op::HelloAck | Op::Heartbeat | Op::Request | Op::Response | Op::Dispatch
                    ));
                }
                Output::Reconnect { at } => assert!(at >= now + Duration::from_secs(1)),
                Output::Close { .. } | Output::Event(_) => {}
            }
        }
    }
});
