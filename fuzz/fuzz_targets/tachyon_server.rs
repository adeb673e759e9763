//! A Tachyon server connection fed arbitrary frames, pongs, time steps and
//! application calls.
//!
//! Invariants: no panic; every frame it sends is a command the server may send, or
//! a `failed` response refusing the peer's request (even for an unknown
//! `commandId`); the application answers
//! only requests it was handed and not yet answered; nothing is sent after the
//! close and no event follows the disconnect; it closes with 1008 (or the application's 1000) only;
//! the ping interval never exceeds its bound; its timer never lies in the past
//! after `handle_timeout`.
#![no_main]

use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use proto_core::{Close, Input, Jitter, Limits, Machine, Output, Payload};
use tachyon_proto::{
    Command, Connection, ConnectionConfig, DecodeError, Event, GenericReason, MessageKind, Role,
    decode,
};

#[derive(Debug, Arbitrary)]
enum Step {
    Text(String),
    Binary(Vec<u8>),
    Request {
        template: u8,
        id: u8,
    },
    Response {
        to_sent: bool,
        id: u8,
        wrong_command: bool,
    },
    Event {
        valid: bool,
    },
    Pong {
        answer_last: bool,
    },
    Advance {
        millis: u16,
    },
    PeerClosed,
    Respond {
        index: u8,
    },
    SendRequest,
    SendEvent,
    Close,
}

const REQUESTS: [&str; 6] = [
    r#"{"type":"request","messageId":"ID","commandId":"system/serverStats"}"#,
    r#"{"type":"request","messageId":"ID","commandId":"lobby/join","data":{"id":"l1"}}"#,
    r#"{"type":"request","messageId":"ID","commandId":"lobby/join","data":{"id":5}}"#,
    r#"{"type":"request","messageId":"ID","commandId":"autohost/kill","data":{"battleId":"75bfc493-2b9d-495d-a453-06722fdca2ea"}}"#,
    r#"{"type":"request","messageId":"ID","commandId":"no/such"}"#,
    r#"{"type":"request","messageId":"ID","commandId":"lobby/leave","data":[]}"#,
];

const BATTLE_START: &str = r#"{"type":"request","messageId":"","commandId":"battle/start","data":{"username":"u","password":"p","ip":"75bfc493-2b9d-495d-a453-06722fdca2ea","port":8452,"engine":{"version":"e"},"game":{"springName":"g"},"map":{"springName":"m"}}}"#;
const LOBBY_UPDATED: &str =
    r#"{"type":"event","messageId":"","commandId":"lobby/updated","data":{"id":"l1","name":"n"}}"#;

const PING_MAX: Duration = Duration::from_millis(100);

fuzz_target!(|input: (bool, Vec<Step>)| {
    let (granted, steps) = input;
    let scopes: &[&str] = if granted { &["tachyon.lobby"] } else { &[] };
    let mut config = ConnectionConfig::server(Role::User, scopes.iter().copied());
    config.ping_interval = Some(Jitter::new(Duration::from_millis(50), PING_MAX));
    config.request_timeout = Duration::from_millis(80);
    config.limits = Limits {
        max_frame_len: 1024,
        max_depth: 8,
        max_pending: 4,
    };
    let mut now = Instant::now();
    let mut server = Connection::new(config);
    let _ = server.handle_input(now, Input::opened());
    let mut last_ping: Option<Vec<u8>> = None;
    let mut sent_requests: Vec<String> = Vec::new();
    let mut received: Vec<(String, Command)> = Vec::new();
    let mut closed = false;
    let mut disconnected = false;
    for step in steps.iter().take(256) {
        let frame = match step {
            Step::Text(text) => Some(text.clone()),
            Step::Request { template, id } => {
                let template = REQUESTS[usize::from(*template) % REQUESTS.len()];
                Some(template.replace("ID", &format!("m{id}")))
            }
            Step::Response {
                to_sent,
                id,
                wrong_command,
            } => {
                let message_id = match sent_requests.get(usize::from(*id)) {
                    Some(sent) if *to_sent => sent.clone(),
                    _ => format!("r{id}"),
                };
                let command = if *wrong_command {
                    "lobby/leave"
                } else {
                    "battle/start"
                };
                Some(format!(
                    r#"{{"type":"response","messageId":"{message_id}","commandId":"{command}","status":"success"}}"#
                ))
            }
            Step::Event { valid } => Some(if *valid {
                r#"{"type":"event","messageId":"e","commandId":"lobby/updated","data":{"id":"l"}}"#
                    .to_owned()
            } else {
                r#"{"type":"event","messageId":"e","commandId":"lobby/updated","data":{}}"#
                    .to_owned()
            }),
            _ => None,
        };
        match (frame, step) {
            (Some(frame), _) => {
                let _ = server.handle_input(now, Input::text(&frame));
            }
            (None, Step::Binary(bytes)) => {
                let _ = server.handle_input(now, Input::binary(bytes));
            }
            (None, Step::Pong { answer_last }) => {
                let payload: Vec<u8> = match &last_ping {
                    Some(ping) if *answer_last => ping.clone(),
                    _ => b"stray".to_vec(),
                };
                let _ = server.handle_input(now, Input::pong(&payload));
            }
            (None, Step::Advance { millis }) => {
                now += Duration::from_millis(u64::from(*millis));
                if server.poll_timeout().is_some_and(|at| at <= now) {
                    server.handle_timeout(now);
                }
                let next = server.poll_timeout();
                assert!(next.is_none_or(|at| at > now));
                if server.is_open() {
                    assert!(next.is_some_and(|at| at <= now + PING_MAX), "ping overdue");
                }
            }
            (None, Step::PeerClosed) => {
                let _ = server.handle_input(now, Input::closed(None));
            }
            (None, Step::Respond { index }) => {
                let index = usize::from(*index);
                if let Some((id, request)) = received.get(index) {
                    let response = Command::failed_response(
                        request.command_id(),
                        id.clone(),
                        GenericReason::InternalError,
                        None,
                    );
                    if let Some(response) = response {
                        if server.respond(response).is_ok() {
                            received.remove(index);
                        }
                    }
                }
            }
            (None, Step::SendRequest) => {
                if let Ok(request) = decode(BATTLE_START) {
                    if let Ok(id) = server.send_request(now, request) {
                        sent_requests.push(id);
                    }
                }
            }
            (None, Step::SendEvent) => {
                if let Ok(event) = decode(LOBBY_UPDATED) {
                    let _ = server.send_event(event);
                }
            }
            (None, Step::Close) => server.close(Close::new(1000, "bye")),
            (None, _) => {}
        }
        while let Some(output) = server.poll_output() {
            match output {
                Output::Transmit(transmit) => {
                    assert!(!closed, "sent after close");
                    let text = match transmit.payload {
                        Payload::Text(text) => text,
                        Payload::Ping(payload) => {
                            last_ping = Some(payload.to_vec());
                            continue;
                        }
                        Payload::Binary(_) => panic!("tachyon sends text"),
                    };
                    match decode(&text) {
                        Ok(command) => {
                            // A refusal answers whatever command was asked for, even
                            // one whose responses another role sends.
                            let refusal = command.kind() == MessageKind::Response
                                && text.contains(r#""status":"failed""#);
                            assert!(refusal || command.meta().source == Role::Server, "{text}");
                            assert!(command.validate().is_ok(), "{text}");
                        }
                        // Only the answer to an unknown command names one.
                        Err(DecodeError::UnknownCommand(_)) => {
                            assert!(
                                text.contains(r#""reason":"command_unimplemented""#),
                                "{text}"
                            );
                        }
                        Err(error) => panic!("sent an invalid frame ({error}): {text}"),
                    }
                }
                Output::Close { close, .. } => {
                    assert!(!closed, "closed twice");
                    assert!([1000, 1008].contains(&close.code), "{close}");
                    assert!(close.reason.len() <= 123);
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
                        Event::Request(request) => {
                            assert!(!closed, "request after close");
                            let id = request.message_id().to_owned();
                            // Handed over only while no request with its id is open.
                            assert!(received.iter().all(|(open, _)| *open != id), "{id}");
                            received.push((id, request));
                        }
                        other => assert!(!closed, "{other:?} after close"),
                    }
                }
                Output::Reconnect { .. } => panic!("a server never reconnects"),
            }
        }
    }
});
