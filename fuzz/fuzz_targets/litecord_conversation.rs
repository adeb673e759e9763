//! A litebridge client and server wired together in memory, fed arbitrary
//! sequences of valid messages (from the crate's `Arbitrary` implementations),
//! mutated frames, application calls, link drops and time steps.
//!
//! Invariants, after every step: no panic; requests in flight never exceed the
//! pending limit; every request either side sent is answered or failed exactly
//! once, and never later than its timeout; every close carries one of the
//! protocol's codes; nothing is sent after a close; timers never lie in the past.
#![no_main]

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use litecord_proto::{
    Client, ClientConfig, Event, IncomingRequest, Message, RawJson, RequestId, Server,
    ServerConfig, encode,
};
use proto_core::{Close, Input, Limits, Machine, Output, Payload};

const PASSWORD: &str = "pw";
const REQUEST_TIMEOUT: Duration = Duration::from_millis(80);
const MAX_PENDING: usize = 4;
/// The codes the spec and the WebSocket layer close a litebridge connection with.
const CLOSE_CODES: [u16; 6] = [1000, 1008, 1009, 4001, 4002, 4003];

#[derive(Debug, Arbitrary)]
enum Step {
    /// Carry up to `count` frames one way.
    Deliver { to_server: bool, count: u8 },
    /// Flip one byte of the next frame one way.
    Mutate { to_server: bool, at: u16, byte: u8 },
    /// A valid message arrives as if the peer had sent it.
    Inject {
        to_server: bool,
        message: Message<'static>,
    },
    /// An application sends a request.
    SendRequest {
        from_server: bool,
        what: String,
        args: Vec<RawJson<'static>>,
    },
    /// An application sends a dispatch.
    Dispatch { from_server: bool, what: String },
    /// An application answers the peer's request it was handed.
    Respond {
        from_server: bool,
        index: u8,
        data: RawJson<'static>,
    },
    /// The link drops.
    Drop,
    /// The server closes.
    ServerClose,
    /// Time passes.
    Advance { millis: u16 },
}

/// One side's requests in flight, as its application sees them.
#[derive(Default)]
struct Side {
    /// Sent and neither answered nor failed, with when they were sent.
    in_flight: BTreeMap<RequestId, Instant>,
    /// The peer's requests handed to the application and not yet answered.
    incoming: Vec<IncomingRequest>,
    /// Frames on their way to the peer.
    wire: VecDeque<Vec<u8>>,
    closed: bool,
}

impl Side {
    fn resolve(&mut self, id: RequestId, now: Instant) {
        let sent = self
            .in_flight
            .remove(&id)
            .expect("resolved once, and only what was sent");
        assert!(
            now <= sent + REQUEST_TIMEOUT,
            "{id} resolved after its timeout"
        );
    }

    fn check_timeouts(&self, now: Instant) {
        for (id, sent) in &self.in_flight {
            assert!(
                now <= *sent + REQUEST_TIMEOUT,
                "{id} neither answered nor failed by its timeout"
            );
        }
        assert!(
            self.in_flight.len() <= MAX_PENDING,
            "pending table over its bound"
        );
    }
}

struct Pair {
    now: Instant,
    client: Client,
    server: Server,
    client_side: Side,
    server_side: Side,
    reconnect_at: Option<Instant>,
}

impl Pair {
    fn limits() -> Limits {
        Limits {
            max_frame_len: 1024,
            max_depth: 8,
            max_pending: MAX_PENDING,
        }
    }

    fn new_server() -> Server {
        let mut config = ServerConfig::new(PASSWORD);
        config.hb_interval = Duration::from_millis(100);
        config.heartbeat_grace = Duration::from_millis(50);
        config.request_timeout = REQUEST_TIMEOUT;
        config.limits = Self::limits();
        Server::new(config)
    }

    fn new() -> Self {
        let mut config = ClientConfig::new(PASSWORD);
        config.request_timeout = REQUEST_TIMEOUT;
        config.limits = Self::limits();
        let mut pair = Pair {
            now: Instant::now(),
            client: Client::new(config),
            server: Self::new_server(),
            client_side: Side::default(),
            server_side: Side::default(),
            reconnect_at: None,
        };
        pair.open();
        pair
    }

    /// A fresh connection: a new server machine, both sides told it is up.
    fn open(&mut self) {
        // The last connection's requests all failed when it ended.
        assert!(
            self.server_side.in_flight.is_empty(),
            "server requests lost with the connection"
        );
        self.server = Self::new_server();
        self.server_side = Side::default();
        self.client_side.wire.clear();
        self.client_side.closed = false;
        let _ = self.server.handle_input(self.now, Input::opened());
        let _ = self.client.handle_input(self.now, Input::opened());
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
            let input = Input::binary(&frame);
            if to_server {
                let _ = self.server.handle_input(self.now, input);
            } else {
                let _ = self.client.handle_input(self.now, input);
            }
            self.drain();
        }
    }

    fn inject(&mut self, to_server: bool, message: &Message<'_>) {
        let frame = encode(message);
        if to_server {
            let _ = self.server.handle_input(self.now, Input::text(&frame));
        } else {
            let _ = self.client.handle_input(self.now, Input::text(&frame));
        }
    }

    /// The link is gone: both sides hear of it, frames in flight are lost.
    fn drop_link(&mut self) {
        self.client_side.wire.clear();
        self.server_side.wire.clear();
        let _ = self.server.handle_input(self.now, Input::closed(None));
        let _ = self.client.handle_input(self.now, Input::closed(None));
    }

    /// Moves the clock `by` forward, stopping at every timer on the way, as a
    /// driver would.
    fn advance(&mut self, by: Duration) {
        let target = self.now + by;
        for _ in 0..1000 {
            let next = [
                self.server.poll_timeout(),
                self.client.poll_timeout(),
                self.reconnect_at,
            ]
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

    /// Whatever is due now: the reconnect, either machine's timer.
    fn fire(&mut self) {
        if self.reconnect_at.is_some_and(|at| at <= self.now) {
            self.reconnect_at = None;
            self.open();
            self.drain();
        }
        if self.server.poll_timeout().is_some_and(|at| at <= self.now) {
            self.server.handle_timeout(self.now);
        }
        if self.client.poll_timeout().is_some_and(|at| at <= self.now) {
            self.client.handle_timeout(self.now);
        }
        self.drain();
        self.server_side.check_timeouts(self.now);
        self.client_side.check_timeouts(self.now);
    }

    /// Takes every output of both machines and checks it.
    fn drain(&mut self) {
        let now = self.now;
        let mut server_closed = None;
        while let Some(output) = self.server.poll_output() {
            match output {
                Output::Transmit(transmit) => {
                    assert!(!self.server_side.closed, "server sent after its close");
                    let Payload::Text(text) = transmit.payload else {
                        panic!("litebridge sends text");
                    };
                    self.server_side.wire.push_back(text.into_bytes());
                }
                Output::Close { close, .. } => {
                    assert!(
                        CLOSE_CODES.contains(&close.code),
                        "server closed with {close}"
                    );
                    self.server_side.closed = true;
                    server_closed = Some(close);
                }
                Output::Event(event) => handle_event(&mut self.server_side, event, now),
                Output::Reconnect { .. } => panic!("a server never reconnects"),
            }
        }
        let mut client_closed = None;
        while let Some(output) = self.client.poll_output() {
            match output {
                Output::Transmit(transmit) => {
                    assert!(!self.client_side.closed, "client sent after its close");
                    let Payload::Text(text) = transmit.payload else {
                        panic!("litebridge sends text");
                    };
                    self.client_side.wire.push_back(text.into_bytes());
                }
                Output::Close { close, .. } => {
                    assert!(
                        CLOSE_CODES.contains(&close.code),
                        "client closed with {close}"
                    );
                    self.client_side.closed = true;
                    client_closed = Some(close);
                }
                Output::Event(event) => handle_event(&mut self.client_side, event, now),
                Output::Reconnect { at } => {
                    assert!(at >= now, "reconnect in the past");
                    self.reconnect_at = Some(at);
                }
            }
        }
        // A close reaches the peer once the frames before it have.
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

fn handle_event(side: &mut Side, event: Event, now: Instant) {
    match event {
        Event::Request(request) => side.incoming.push(request),
        Event::Response { id, .. } | Event::RequestFailed { id, .. } => side.resolve(id, now),
        Event::Disconnected(_) => side.incoming.clear(),
        Event::Authenticated | Event::Dispatch { .. } => {}
    }
}

fuzz_target!(|steps: Vec<Step>| {
    let mut pair = Pair::new();
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
                if let Some(frame) = from.wire.front_mut() {
                    if !frame.is_empty() {
                        let at = usize::from(at) % frame.len();
                        frame[at] = byte;
                    }
                }
            }
            Step::Inject { to_server, message } => pair.inject(to_server, &message),
            Step::SendRequest {
                from_server,
                what,
                args,
            } => {
                let now = pair.now;
                let sent = if from_server {
                    pair.server.send_request(now, &what, args)
                } else {
                    pair.client.send_request(now, &what, args)
                };
                if let Ok(id) = sent {
                    let side = if from_server {
                        &mut pair.server_side
                    } else {
                        &mut pair.client_side
                    };
                    assert!(
                        side.in_flight.insert(id, now).is_none(),
                        "{id} reused while in flight"
                    );
                }
            }
            Step::Dispatch { from_server, what } => {
                let _ = if from_server {
                    pair.server.dispatch(&what, Vec::new())
                } else {
                    pair.client.dispatch(&what, Vec::new())
                };
            }
            Step::Respond {
                from_server,
                index,
                data,
            } => {
                let side = if from_server {
                    &mut pair.server_side
                } else {
                    &mut pair.client_side
                };
                if !side.incoming.is_empty() {
                    let request = side
                        .incoming
                        .remove(usize::from(index) % side.incoming.len());
                    let answered = if from_server {
                        pair.server.respond(&request.nonce, data)
                    } else {
                        pair.client.respond(&request.nonce, data)
                    };
                    // A request handed over is answerable until the disconnect.
                    assert!(answered.is_ok(), "{answered:?}");
                }
            }
            Step::Drop => pair.drop_link(),
            Step::ServerClose => pair.server.close(Close::new(1000, "bye")),
            Step::Advance { millis } => {
                pair.advance(Duration::from_millis(u64::from(millis % 200)))
            }
        }
        pair.drain();
        pair.server_side.check_timeouts(pair.now);
        pair.client_side.check_timeouts(pair.now);
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
