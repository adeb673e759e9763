//! A Tachyon user client and the server's side of its connection wired together
//! in memory, fed arbitrary sequences of valid commands (from the crate's
//! `Arbitrary` implementations) sent through the application calls or injected as
//! if from the peer, mutated frames, answers, link drops and time steps.
//!
//! Invariants, after every step: no panic; requests in flight never exceed the
//! pending limit; every request either side sent is answered or failed exactly
//! once, and never later than its timeout; a request handed to the application
//! can be answered until the disconnect; every close is 1000 or 1008; nothing is
//! sent after a close; timers never lie in the past.
#![no_main]

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use proto_core::{Close, Input, Jitter, Limits, Machine, Output, Payload};
use tachyon_proto::{
    ALL_META, Command, CommandId, Connection, ConnectionConfig, Event, FailureReason,
    GenericReason, Role, encode,
};

const REQUEST_TIMEOUT: Duration = Duration::from_millis(80);
const MAX_PENDING: usize = 4;
/// The codes a Tachyon connection closes with: the application's normal close,
/// and 1008 for what the protocol cannot answer.
const CLOSE_CODES: [u16; 2] = [1000, 1008];

#[derive(Debug, Arbitrary)]
enum Step {
    /// Carry up to `count` frames one way.
    Deliver { to_server: bool, count: u8 },
    /// Change one byte of the next text frame one way.
    Mutate { to_server: bool, at: u16, byte: u8 },
    /// A valid command arrives as if the peer had sent it.
    Inject { to_server: bool, command: Command },
    /// An application sends a request (refused unless its role may).
    SendRequest { from_server: bool, command: Command },
    /// An application sends an event (refused unless its role may).
    SendEvent { from_server: bool, command: Command },
    /// An application answers, with a failure, the peer's request it was handed.
    Respond {
        from_server: bool,
        index: u8,
        reason: u8,
    },
    /// The link drops.
    Drop,
    /// The server closes.
    ServerClose,
    /// Time passes.
    Advance { millis: u16 },
}

#[derive(Debug)]
enum Frame {
    Text(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
}

/// One side's requests in flight and frames on the wire.
#[derive(Default)]
struct Side {
    /// Sent and neither answered nor failed, with when they were sent.
    in_flight: BTreeMap<String, Instant>,
    /// The peer's requests handed to the application and not yet answered.
    incoming: Vec<(String, CommandId)>,
    /// Frames on their way to the peer.
    wire: VecDeque<Frame>,
    closed: bool,
}

impl Side {
    fn resolve(&mut self, id: &str, now: Instant) {
        let sent = self
            .in_flight
            .remove(id)
            .expect("resolved once, and only what was sent");
        assert!(
            now <= sent + REQUEST_TIMEOUT,
            "{id} resolved after its timeout"
        );
    }

    fn check(&self, now: Instant, machine: &Connection) {
        for (id, sent) in &self.in_flight {
            assert!(
                now <= *sent + REQUEST_TIMEOUT,
                "{id} neither answered nor failed by its timeout"
            );
        }
        assert!(
            machine.pending_requests() <= MAX_PENDING,
            "pending table over its bound"
        );
        assert_eq!(
            machine.pending_requests(),
            self.in_flight.len(),
            "pending table and events disagree"
        );
    }
}

struct Pair {
    now: Instant,
    client: Connection,
    server: Connection,
    client_side: Side,
    server_side: Side,
}

impl Pair {
    fn new(granted: bool) -> Self {
        let limits = Limits {
            max_frame_len: 4096,
            max_depth: 16,
            max_pending: MAX_PENDING,
        };
        let scopes: Vec<&str> = if granted {
            ALL_META
                .iter()
                .flat_map(|meta| meta.scopes.iter().copied())
                .collect()
        } else {
            Vec::new()
        };
        let mut server = ConnectionConfig::server(Role::User, scopes);
        server.ping_interval = Some(Jitter::new(
            Duration::from_millis(50),
            Duration::from_millis(100),
        ));
        server.request_timeout = REQUEST_TIMEOUT;
        server.limits = limits;
        let mut client = ConnectionConfig::client(Role::User);
        client.request_timeout = REQUEST_TIMEOUT;
        client.limits = limits;
        client.seed = 1;
        let now = Instant::now();
        let mut pair = Pair {
            now,
            client: Connection::new(client),
            server: Connection::new(server),
            client_side: Side::default(),
            server_side: Side::default(),
        };
        let _ = pair.server.handle_input(now, Input::opened());
        let _ = pair.client.handle_input(now, Input::opened());
        pair
    }

    fn deliver(&mut self, to_server: bool, count: u8) {
        for _ in 0..count {
            let from = if to_server {
                &mut self.client_side
            } else {
                &mut self.server_side
            };
            let Some(frame) = from.wire.pop_front() else {
                return;
            };
            let (machine, back) = if to_server {
                (&mut self.server, &mut self.server_side)
            } else {
                (&mut self.client, &mut self.client_side)
            };
            match &frame {
                Frame::Text(bytes) => {
                    let input = match std::str::from_utf8(bytes) {
                        Ok(text) => Input::text(text),
                        Err(_) => Input::binary(bytes),
                    };
                    let _ = machine.handle_input(self.now, input);
                }
                // The receiving WebSocket answers a ping by itself.
                Frame::Ping(bytes) => {
                    if !back.closed {
                        back.wire.push_back(Frame::Pong(bytes.clone()));
                    }
                }
                Frame::Pong(bytes) => {
                    let _ = machine.handle_input(self.now, Input::pong(bytes));
                }
            }
            self.drain();
        }
    }

    fn inject(&mut self, to_server: bool, command: &Command) {
        let frame = encode(command);
        let machine = if to_server {
            &mut self.server
        } else {
            &mut self.client
        };
        let _ = machine.handle_input(self.now, Input::text(&frame));
    }

    /// The link is gone: both sides hear of it, frames in flight are lost.
    fn drop_link(&mut self) {
        self.client_side.wire.clear();
        self.server_side.wire.clear();
        let _ = self.server.handle_input(self.now, Input::closed(None));
        let _ = self.client.handle_input(self.now, Input::closed(None));
    }

    /// Moves the clock `by` forward, stopping at every timer on the way.
    fn advance(&mut self, by: Duration) {
        let target = self.now + by;
        for _ in 0..1000 {
            let next = [self.server.poll_timeout(), self.client.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            let Some(at) = next.filter(|at| *at <= target) else {
                break;
            };
            self.now = self.now.max(at);
            self.fire();
        }
        self.now = target;
        self.fire();
        assert!(self.server.poll_timeout().is_none_or(|at| at > self.now));
        assert!(self.client.poll_timeout().is_none_or(|at| at > self.now));
    }

    fn fire(&mut self) {
        if self.server.poll_timeout().is_some_and(|at| at <= self.now) {
            self.server.handle_timeout(self.now);
        }
        if self.client.poll_timeout().is_some_and(|at| at <= self.now) {
            self.client.handle_timeout(self.now);
        }
        self.drain();
        self.check();
    }

    fn check(&self) {
        self.server_side.check(self.now, &self.server);
        self.client_side.check(self.now, &self.client);
    }

    /// Takes every output of both machines and checks it.
    fn drain(&mut self) {
        let now = self.now;
        let server_closed = drain_one(&mut self.server, &mut self.server_side, now);
        let client_closed = drain_one(&mut self.client, &mut self.client_side, now);
        // The peer hears of a close (its frames before it are lost with the link).
        if let Some(close) = server_closed {
            self.server_side.wire.clear();
            let _ = self.client.handle_input(now, Input::closed(Some(close)));
            self.drain();
        } else if let Some(close) = client_closed {
            self.client_side.wire.clear();
            let _ = self.server.handle_input(now, Input::closed(Some(close)));
            self.drain();
        }
    }
}

/// Takes every output of `machine`; returns its close, if it closed.
fn drain_one(machine: &mut Connection, side: &mut Side, now: Instant) -> Option<Close> {
    let mut closed = None;
    while let Some(output) = machine.poll_output() {
        match output {
            Output::Transmit(transmit) => {
                assert!(!side.closed, "sent after the close");
                side.wire.push_back(match transmit.payload {
                    Payload::Text(text) => Frame::Text(text.into_bytes()),
                    Payload::Ping(bytes) => Frame::Ping(bytes.to_vec()),
                    Payload::Binary(_) => panic!("tachyon sends text"),
                });
            }
            Output::Close { close, .. } => {
                assert!(CLOSE_CODES.contains(&close.code), "closed with {close}");
                assert!(!side.closed, "closed twice");
                side.closed = true;
                closed = Some(close);
            }
            Output::Event(event) => match event {
                Event::Request(request) => {
                    side.incoming
                        .push((request.message_id().to_owned(), request.command_id()));
                }
                Event::Response(response) => side.resolve(response.message_id(), now),
                Event::RequestFailed { message_id, .. } => side.resolve(&message_id, now),
                Event::Notification(_) => {}
                Event::Disconnected(_) => {
                    side.closed = true;
                    side.incoming.clear();
                }
            },
            Output::Reconnect { .. } => panic!("a connection never reconnects"),
        }
    }
    closed
}

fuzz_target!(|input: (bool, Vec<Step>)| {
    let (granted, steps) = input;
    let mut pair = Pair::new(granted);
    pair.drain();
    for step in steps.into_iter().take(128) {
        match step {
            Step::Deliver { to_server, count } => pair.deliver(to_server, count % 8),
            Step::Mutate {
                to_server,
                at,
                byte,
            } => {
                let from = if to_server {
                    &mut pair.client_side
                } else {
                    &mut pair.server_side
                };
                if let Some(Frame::Text(frame)) = from.wire.front_mut() {
                    if !frame.is_empty() {
                        let at = usize::from(at) % frame.len();
                        frame[at] = byte;
                    }
                }
            }
            Step::Inject { to_server, command } => pair.inject(to_server, &command),
            Step::SendRequest {
                from_server,
                command,
            } => {
                let now = pair.now;
                let (machine, side) = if from_server {
                    (&mut pair.server, &mut pair.server_side)
                } else {
                    (&mut pair.client, &mut pair.client_side)
                };
                if let Ok(id) = machine.send_request(now, command) {
                    assert!(
                        side.in_flight.insert(id.clone(), now).is_none(),
                        "{id} reused while in flight"
                    );
                }
            }
            Step::SendEvent {
                from_server,
                command,
            } => {
                let machine = if from_server {
                    &mut pair.server
                } else {
                    &mut pair.client
                };
                let _ = machine.send_event(command);
            }
            Step::Respond {
                from_server,
                index,
                reason,
            } => {
                let (machine, side) = if from_server {
                    (&mut pair.server, &mut pair.server_side)
                } else {
                    (&mut pair.client, &mut pair.client_side)
                };
                if !side.incoming.is_empty() {
                    let (id, command) = side
                        .incoming
                        .remove(usize::from(index) % side.incoming.len());
                    let reason = GenericReason::ALL[usize::from(reason) % GenericReason::ALL.len()];
                    if let Some(answer) = Command::failed_response(command, id, reason, None) {
                        let answered = machine.respond(answer);
                        // A request handed over is answerable until the disconnect.
                        assert!(answered.is_ok(), "{answered:?}");
                    }
                }
            }
            Step::Drop => pair.drop_link(),
            Step::ServerClose => pair.server.close(Close::new(1000, "bye")),
            Step::Advance { millis } => {
                pair.advance(Duration::from_millis(u64::from(millis % 200)))
            }
        }
        pair.drain();
        pair.check();
    }
    // Every request still in flight is answered or failed by its timeout.
    let end = pair.now + REQUEST_TIMEOUT + Duration::from_millis(1);
    while pair.now < end {
        pair.advance(Duration::from_millis(10));
    }
    assert!(
        pair.server_side.in_flight.is_empty(),
        "server requests never resolved"
    );
    assert!(
        pair.client_side.in_flight.is_empty(),
        "client requests never resolved"
    );
});
