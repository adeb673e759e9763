//! Client and server machines driven against each other with a virtual clock.

use std::time::{Duration, Instant};

use litecord_proto::{
    CallError, Client, ClientConfig, DecodeError, Disconnect, Event, InputError, Op, RawJson,
    RequestFailure, RequestId, Server, ServerConfig, close_code,
};
use proto_core::{Close, Input, LimitError, Limits, Machine, Output, Payload};

const SECRET: &str = "helloworld";

/// Everything one machine emitted in one drain of `poll_output`.
#[derive(Debug, Default)]
struct Drained {
    frames: Vec<String>,
    events: Vec<Event>,
    closes: Vec<Close>,
    reconnects: Vec<Instant>,
}

fn drain<M: Machine<Event = Event>>(machine: &mut M) -> Drained {
    let mut out = Drained::default();
    while let Some(output) = machine.poll_output() {
        match output {
            Output::Transmit(transmit) => match transmit.payload {
                Payload::Text(text) => out.frames.push(text),
                other => panic!("litebridge sends text only, got {other:?}"),
            },
            Output::Event(event) => out.events.push(event),
            Output::Close { close, .. } => out.closes.push(close),
            Output::Reconnect { at } => out.reconnects.push(at),
        }
    }
    out
}

/// Delivers frames to a machine, collecting the errors it returns.
fn deliver<M: Machine<Error = InputError>>(
    now: Instant,
    to: &mut M,
    frames: &[String],
) -> Vec<InputError> {
    frames
        .iter()
        .filter_map(|frame| to.handle_input(now, Input::text(frame)).err())
        .collect()
}

fn fast_server() -> ServerConfig {
    let mut config = ServerConfig::new(SECRET);
    config.hb_interval = Duration::from_millis(1000);
    config.heartbeat_grace = Duration::from_millis(500);
    config
}

/// A client and a server on one virtual connection.
struct Pair {
    now: Instant,
    client: Client,
    server: Server,
    client_events: Vec<Event>,
    server_events: Vec<Event>,
    client_closes: Vec<Close>,
    server_closes: Vec<Close>,
    reconnects: Vec<Instant>,
}

impl Pair {
    fn new(server: ServerConfig, client: ClientConfig) -> Self {
        let now = Instant::now();
        let mut pair = Pair {
            now,
            client: Client::new(client),
            server: Server::new(server),
            client_events: vec![],
            server_events: vec![],
            client_closes: vec![],
            server_closes: vec![],
            reconnects: vec![],
        };
        pair.server.handle_input(now, Input::opened()).unwrap();
        pair.client.handle_input(now, Input::opened()).unwrap();
        pair
    }

    fn connected() -> Self {
        let mut pair = Pair::new(fast_server(), ClientConfig::new(SECRET));
        pair.exchange();
        assert_eq!(pair.server_events, [Event::Authenticated]);
        assert_eq!(pair.client_events, [Event::Authenticated]);
        pair.server_events.clear();
        pair.client_events.clear();
        pair
    }

    /// Moves frames both ways until both machines are quiet. A close from one side
    /// reaches the other as `Input::Closed`, as a WebSocket close frame would.
    fn exchange(&mut self) {
        loop {
            let from_server = drain(&mut self.server);
            let from_client = drain(&mut self.client);
            let quiet = from_server.frames.is_empty() && from_client.frames.is_empty();
            let server_closed = from_server.closes.last().cloned();
            let client_closed = from_client.closes.last().cloned();
            self.server_events.extend(from_server.events);
            self.client_events.extend(from_client.events);
            self.server_closes.extend(from_server.closes);
            self.client_closes.extend(from_client.closes);
            self.reconnects.extend(from_client.reconnects);
            if client_closed.is_none() {
                deliver(self.now, &mut self.client, &from_server.frames);
            }
            if server_closed.is_none() {
                deliver(self.now, &mut self.server, &from_client.frames);
            }
            if let Some(close) = server_closed {
                let _ = self
                    .client
                    .handle_input(self.now, Input::closed(Some(close)));
            }
            if let Some(close) = client_closed {
                let _ = self
                    .server
                    .handle_input(self.now, Input::closed(Some(close)));
            }
            if quiet {
                let (s, c) = (drain(&mut self.server), drain(&mut self.client));
                self.server_events.extend(s.events);
                self.client_events.extend(c.events);
                self.server_closes.extend(s.closes);
                self.client_closes.extend(c.closes);
                self.reconnects.extend(c.reconnects);
                if s.frames.is_empty() && c.frames.is_empty() {
                    return;
                }
                deliver(self.now, &mut self.client, &s.frames);
                deliver(self.now, &mut self.server, &c.frames);
            }
        }
    }

    /// Advances the virtual clock to `to`, firing every timer on the way.
    fn advance_to(&mut self, to: Instant) {
        loop {
            let next = [self.client.poll_timeout(), self.server.poll_timeout()]
                .into_iter()
                .flatten()
                .filter(|&at| at <= to)
                .min();
            let Some(at) = next else { break };
            self.now = at;
            self.client.handle_timeout(at);
            self.server.handle_timeout(at);
            self.exchange();
        }
        self.now = to;
    }

    fn advance(&mut self, by: Duration) {
        let to = self.now + by;
        self.advance_to(to);
    }
}

fn json(value: impl serde::Serialize) -> RawJson<'static> {
    RawJson::from_value(&value).unwrap()
}

#[test]
fn handshake_then_requests_and_dispatches_both_ways() {
    let mut pair = Pair::connected();
    let now = pair.now;

    let id = pair
        .client
        .send_request(now, "echo", vec![json(1), json("two")])
        .unwrap();
    pair.client
        .dispatch("log", vec![json("level"), json([1, 2])])
        .unwrap();
    pair.exchange();
    let [Event::Request(request), Event::Dispatch { what, args }] = &pair.server_events[..] else {
        panic!("{:?}", pair.server_events)
    };
    assert_eq!(request.what, "echo");
    assert_eq!(request.args, [json(1), json("two")]);
    assert_eq!(request.nonce, json(id.0));
    assert_eq!(what, "log");
    assert_eq!(args, &[json("level"), json([1, 2])]);

    let nonce = request.nonce.clone();
    pair.server
        .respond(&nonce, json(["you're", "welcome"]))
        .unwrap();
    assert_eq!(
        pair.server.respond(&nonce, json(0)),
        Err(CallError::UnknownNonce)
    );
    pair.exchange();
    assert_eq!(
        pair.client_events,
        [Event::Response {
            id,
            data: json(["you're", "welcome"])
        }]
    );

    // Deployed servers request things from the client too.
    let server_id = pair.server.send_request(now, "whoami", vec![]).unwrap();
    pair.exchange();
    let Some(Event::Request(request)) = pair.client_events.last().cloned() else {
        panic!("{:?}", pair.client_events)
    };
    assert_eq!(request.what, "whoami");
    pair.client.respond(&request.nonce, json("node-1")).unwrap();
    pair.exchange();
    assert_eq!(
        pair.server_events.last(),
        Some(&Event::Response {
            id: server_id,
            data: json("node-1")
        })
    );
    assert!(pair.server_closes.is_empty() && pair.client_closes.is_empty());
}

#[test]
fn heartbeats_keep_the_connection_alive() {
    let mut pair = Pair::connected();
    pair.advance(Duration::from_secs(120));
    assert!(pair.server_closes.is_empty(), "{:?}", pair.server_closes);
    assert!(pair.client_closes.is_empty(), "{:?}", pair.client_closes);
    assert!(pair.server.is_authenticated());
    assert!(pair.client.is_authenticated());
}

#[test]
fn wrong_password_closes_4001_and_the_client_reconnects_later() {
    let mut pair = Pair::new(fast_server(), ClientConfig::new("guess"));
    pair.exchange();
    assert_eq!(
        pair.server_closes,
        [Close::new(
            close_code::AUTHENTICATION_FAILED,
            "authentication failed"
        )]
    );
    assert!(!pair.server.is_authenticated());
    assert_eq!(
        pair.client_events,
        [Event::Disconnected(Disconnect::Remote(Some(Close::new(
            4001,
            "authentication failed"
        ))))]
    );
    let [at] = pair.reconnects[..] else {
        panic!("{:?}", pair.reconnects)
    };
    let delay = at - pair.now;
    assert!(
        (Duration::from_secs(1)..=Duration::from_secs(2)).contains(&delay),
        "{delay:?}"
    );
}

#[test]
fn anything_before_hello_ack_closes_4002() {
    let cases = [
        (r#"{"op":2}"#, Op::Heartbeat),
        (r#"{"op":4,"w":"x","a":[],"n":1}"#, Op::Request),
        (r#"{"op":6,"w":"x","a":[]}"#, Op::Dispatch),
        (r#"{"op":5,"n":1,"r":null}"#, Op::Response),
    ];
    for (frame, op) in cases {
        let t0 = Instant::now();
        let mut server = Server::new(fast_server());
        server.handle_input(t0, Input::opened()).unwrap();
        assert_eq!(
            drain(&mut server).frames,
            [r#"{"op":0,"hb_interval":1000}"#]
        );
        assert_eq!(
            server.handle_input(t0, Input::text(frame)),
            Err(InputError::NotAuthenticated(op))
        );
        let out = drain(&mut server);
        assert!(out.frames.is_empty());
        let reason = format!("{} before authentication", op);
        assert_eq!(out.closes, [Close::new(4002, reason.clone())]);
        assert_eq!(
            out.events,
            [Event::Disconnected(Disconnect::Local(Close::new(
                4002, reason
            )))]
        );
        assert!(server.is_closed());
        assert_eq!(
            server.handle_input(t0, Input::text(r#"{"op":2}"#)),
            Err(InputError::NotOpen)
        );
        assert_eq!(server.poll_timeout(), None);
    }
}

#[test]
fn silent_client_is_closed_4003_after_interval_plus_grace() {
    let t0 = Instant::now();
    let mut server = Server::new(fast_server());
    server.handle_input(t0, Input::opened()).unwrap();
    server
        .handle_input(t0, Input::text(r#"{"op":1,"password":"helloworld"}"#))
        .unwrap();
    drain(&mut server);
    let limit = t0 + Duration::from_millis(1500);
    assert_eq!(server.poll_timeout(), Some(limit));

    // A heartbeat just in time moves the deadline.
    let t1 = limit - Duration::from_millis(1);
    server.handle_timeout(t1);
    server
        .handle_input(t1, Input::text(r#"{"op":2,"s":1}"#))
        .unwrap();
    assert_eq!(drain(&mut server).frames, [r#"{"op":3}"#]);
    let limit = t1 + Duration::from_millis(1500);
    assert_eq!(server.poll_timeout(), Some(limit));

    server.handle_timeout(limit - Duration::from_nanos(1));
    assert!(drain(&mut server).closes.is_empty());
    server.handle_timeout(limit);
    assert_eq!(
        drain(&mut server).closes,
        [Close::new(4003, "heartbeat timeout")]
    );
    assert!(server.is_closed());
}

#[test]
fn missing_hello_ack_also_ends_in_4003() {
    let t0 = Instant::now();
    let mut server = Server::new(fast_server());
    server.handle_input(t0, Input::opened()).unwrap();
    drain(&mut server);
    server.handle_timeout(t0 + Duration::from_millis(1500));
    assert_eq!(
        drain(&mut server).closes,
        [Close::new(4003, "heartbeat timeout")]
    );
}

#[test]
fn client_request_times_out_after_five_seconds() {
    let mut pair = Pair::connected();
    let t0 = pair.now;
    let id = pair.client.send_request(t0, "slow", vec![]).unwrap();
    pair.exchange();
    assert!(matches!(pair.server_events[..], [Event::Request(_)]));
    pair.advance_to(t0 + Duration::from_millis(4999));
    assert!(pair.client_events.is_empty(), "{:?}", pair.client_events);
    pair.advance_to(t0 + Duration::from_secs(5));
    assert_eq!(
        pair.client_events,
        [Event::RequestFailed {
            id,
            reason: RequestFailure::TimedOut
        }]
    );
    // The late response matches nothing; the client says so and stays connected.
    let Event::Request(request) = &pair.server_events[0] else {
        unreachable!()
    };
    let nonce = request.nonce.clone();
    pair.server.respond(&nonce, json(true)).unwrap();
    let frames = drain(&mut pair.server).frames;
    assert_eq!(
        deliver(pair.now, &mut pair.client, &frames),
        [InputError::UnmatchedResponse]
    );
    assert!(drain(&mut pair.client).closes.is_empty());
    assert!(pair.client.is_authenticated());
}

#[test]
fn server_request_times_out_after_five_seconds() {
    let mut pair = Pair::connected();
    let t0 = pair.now;
    let id = pair.server.send_request(t0, "status", vec![]).unwrap();
    pair.exchange();
    pair.advance_to(t0 + Duration::from_secs(5));
    assert_eq!(
        pair.server_events,
        [Event::RequestFailed {
            id,
            reason: RequestFailure::TimedOut
        }]
    );
}

#[test]
fn client_notices_a_missing_heartbeat_ack() {
    let t0 = Instant::now();
    let mut client = Client::new(ClientConfig::new(SECRET));
    client.handle_input(t0, Input::opened()).unwrap();
    client
        .handle_input(t0, Input::text(r#"{"op":0,"hb_interval":2000}"#))
        .unwrap();
    assert_eq!(
        drain(&mut client).frames,
        [r#"{"op":1,"password":"helloworld"}"#, r#"{"op":2}"#]
    );
    let id = client.send_request(t0, "x", vec![]).unwrap();
    drain(&mut client);
    let t1 = t0 + Duration::from_secs(2);
    assert_eq!(client.poll_timeout(), Some(t1));
    client.handle_timeout(t1);
    let out = drain(&mut client);
    let close = Close::new(4003, "no HEARTBEAT_ACK from the server");
    assert_eq!(out.closes, std::slice::from_ref(&close));
    assert_eq!(
        out.events,
        [
            Event::RequestFailed {
                id,
                reason: RequestFailure::ConnectionLost
            },
            Event::Disconnected(Disconnect::Local(close)),
        ]
    );
    assert_eq!(out.reconnects.len(), 1);
    assert!(!client.is_ready());
    assert_eq!(
        client.send_request(t1, "x", vec![]),
        Err(CallError::NotReady)
    );
}

#[test]
fn client_gives_up_on_a_server_that_never_says_hello() {
    let t0 = Instant::now();
    let mut client = Client::new(ClientConfig::new(SECRET));
    client.handle_input(t0, Input::opened()).unwrap();
    assert_eq!(client.poll_timeout(), Some(t0 + Duration::from_secs(10)));
    client.handle_timeout(t0 + Duration::from_secs(10));
    let out = drain(&mut client);
    assert_eq!(out.closes, [Close::new(1008, "no HELLO from the server")]);
    assert_eq!(out.reconnects.len(), 1);
}

#[test]
fn reconnect_delays_are_random_at_least_a_second_and_capped() {
    let mut config = ClientConfig::new(SECRET);
    config.reconnect_max = Duration::from_secs(8);
    config.seed = 99;
    let mut client = Client::new(config);
    let mut now = Instant::now();
    let mut delays = vec![];
    for _ in 0..12 {
        client.handle_input(now, Input::opened()).unwrap();
        client.handle_input(now, Input::closed(None)).unwrap();
        let out = drain(&mut client);
        assert_eq!(out.events, [Event::Disconnected(Disconnect::Remote(None))]);
        let [at] = out.reconnects[..] else { panic!() };
        delays.push(at - now);
        now = at;
    }
    assert!(
        delays.iter().all(|d| *d >= Duration::from_secs(1)),
        "{delays:?}"
    );
    assert!(
        delays.iter().all(|d| *d <= Duration::from_secs(8)),
        "{delays:?}"
    );
    assert!(delays[0] <= Duration::from_secs(2), "{delays:?}");
    assert!(
        delays.windows(2).any(|w| w[0] != w[1]),
        "not random: {delays:?}"
    );
    assert!(
        delays[6..].iter().any(|d| *d > Duration::from_secs(4)),
        "no growth: {delays:?}"
    );

    // A successful handshake starts the backoff over.
    client.handle_input(now, Input::opened()).unwrap();
    client
        .handle_input(now, Input::text(r#"{"op":0,"hb_interval":1000}"#))
        .unwrap();
    client
        .handle_input(now, Input::text(r#"{"op":3}"#))
        .unwrap();
    assert!(client.is_authenticated());
    client.handle_input(now, Input::closed(None)).unwrap();
    let [at] = drain(&mut client).reconnects[..] else {
        panic!()
    };
    assert!(at - now <= Duration::from_secs(2));
}

#[test]
fn a_failed_reconnect_attempt_schedules_the_next() {
    let t0 = Instant::now();
    let mut client = Client::new(ClientConfig::new(SECRET));
    client.handle_input(t0, Input::opened()).unwrap();
    client.handle_input(t0, Input::closed(None)).unwrap();
    let [first] = drain(&mut client).reconnects[..] else {
        panic!()
    };
    // The driver could not connect at `first`: it reports the transport as lost.
    client.handle_input(first, Input::closed(None)).unwrap();
    let out = drain(&mut client);
    assert_eq!(out.events, [Event::Disconnected(Disconnect::Remote(None))]);
    let [second] = out.reconnects[..] else {
        panic!()
    };
    assert!(second - first >= Duration::from_secs(1));
    client.shutdown();
    assert_eq!(
        client.handle_input(second, Input::closed(None)),
        Err(InputError::NotOpen)
    );
}

#[test]
fn bad_frames_close_the_connection_with_policy_codes() {
    let mut config = fast_server();
    config.limits = Limits {
        max_frame_len: 64,
        ..Limits::default()
    };
    let cases: [(&str, InputError, u16); 5] = [
        (
            "nope",
            InputError::Decode(DecodeError::NotJson { line: 1, column: 2 }),
            1008,
        ),
        (
            r#"{"op":9}"#,
            InputError::Decode(DecodeError::UnknownOp(9)),
            1008,
        ),
        (
            r#"{"op":0,"hb_interval":5}"#,
            InputError::UnexpectedOp(Op::Hello),
            1008,
        ),
        (
            r#"{"op":3}"#,
            InputError::UnexpectedOp(Op::HeartbeatAck),
            1008,
        ),
        (
            &format!(r#"{{"op":6,"w":"{}","a":[]}}"#, "x".repeat(64)),
            InputError::Decode(DecodeError::Limit(LimitError::FrameTooLarge {
                len: 86,
                max: 64,
            })),
            1009,
        ),
    ];
    for (frame, error, code) in cases {
        let t0 = Instant::now();
        let mut server = Server::new(config.clone());
        server.handle_input(t0, Input::opened()).unwrap();
        server
            .handle_input(t0, Input::text(r#"{"op":1,"password":"helloworld"}"#))
            .unwrap();
        drain(&mut server);
        assert_eq!(
            server.handle_input(t0, Input::text(frame)),
            Err(error.clone())
        );
        let out = drain(&mut server);
        assert_eq!(out.closes, [Close::new(code, error.to_string())], "{frame}");
        assert!(server.is_closed());
    }
}

#[test]
fn second_hello_ack_is_a_protocol_violation() {
    let mut pair = Pair::connected();
    let errors = deliver(
        pair.now,
        &mut pair.server,
        &[r#"{"op":1,"password":"helloworld"}"#.to_string()],
    );
    assert_eq!(errors, [InputError::UnexpectedOp(Op::HelloAck)]);
    assert_eq!(drain(&mut pair.server).closes[0].code, 1008);
}

#[test]
fn duplicate_and_excess_requests_are_refused() {
    let mut pair = Pair::connected();
    let request = r#"{"op":4,"w":"x","a":[],"n":"abc"}"#.to_string();
    assert_eq!(
        deliver(pair.now, &mut pair.server, std::slice::from_ref(&request)),
        []
    );
    assert_eq!(
        deliver(pair.now, &mut pair.server, &[request]),
        [InputError::DuplicateNonce]
    );
    assert_eq!(
        drain(&mut pair.server).closes,
        [Close::new(1008, "request nonce already in use")]
    );

    let mut config = fast_server();
    config.limits.max_pending = 2;
    let mut pair = Pair::new(config, ClientConfig::new(SECRET));
    pair.exchange();
    let frames: Vec<String> = (0..4)
        .map(|n| format!(r#"{{"op":4,"w":"x","a":[],"n":{n}}}"#))
        .collect();
    assert_eq!(
        deliver(pair.now, &mut pair.server, &frames),
        [InputError::TooManyRequests { max: 2 }, InputError::NotOpen]
    );
}

#[test]
fn requests_in_flight_fail_when_the_connection_drops() {
    let mut pair = Pair::connected();
    let a = pair.client.send_request(pair.now, "a", vec![]).unwrap();
    let b = pair.client.send_request(pair.now, "b", vec![]).unwrap();
    assert_eq!((a, b), (RequestId(1), RequestId(2)));
    drain(&mut pair.client);
    pair.client
        .handle_input(pair.now, Input::closed(None))
        .unwrap();
    let out = drain(&mut pair.client);
    assert_eq!(
        out.events,
        [
            Event::RequestFailed {
                id: a,
                reason: RequestFailure::ConnectionLost
            },
            Event::RequestFailed {
                id: b,
                reason: RequestFailure::ConnectionLost
            },
            Event::Disconnected(Disconnect::Remote(None)),
        ]
    );
}

#[test]
fn shutdown_closes_normally_and_never_reconnects() {
    let mut pair = Pair::connected();
    pair.client.shutdown();
    let out = drain(&mut pair.client);
    assert_eq!(out.closes, [Close::new(1000, "client shutting down")]);
    assert!(out.reconnects.is_empty());
    assert_eq!(pair.client.poll_timeout(), None);
    assert_eq!(
        pair.client.handle_input(pair.now, Input::opened()),
        Err(InputError::AlreadyOpen)
    );
}

#[test]
fn application_calls_before_the_handshake_are_refused() {
    let t0 = Instant::now();
    let mut server = Server::new(fast_server());
    assert_eq!(
        server.send_request(t0, "x", vec![]),
        Err(CallError::NotReady)
    );
    server.handle_input(t0, Input::opened()).unwrap();
    assert_eq!(server.respond(&json(1), json(1)), Err(CallError::NotReady));
    let mut client = Client::new(ClientConfig::new(SECRET));
    assert_eq!(client.dispatch("x", vec![]), Err(CallError::NotReady));
    assert_eq!(
        client.handle_input(t0, Input::text("{}")),
        Err(InputError::NotOpen)
    );
}

#[test]
fn hello_or_heartbeat_ack_before_hello_ack_closes_1008_not_4002() {
    let cases = [
        (r#"{"op":0,"hb_interval":1000}"#, Op::Hello),
        (r#"{"op":3}"#, Op::HeartbeatAck),
    ];
    for (frame, op) in cases {
        let t0 = Instant::now();
        let mut server = Server::new(fast_server());
        server.handle_input(t0, Input::opened()).unwrap();
        drain(&mut server);
        assert_eq!(
            server.handle_input(t0, Input::text(frame)),
            Err(InputError::UnexpectedOp(op))
        );
        let reason = format!("unexpected {op}");
        let out = drain(&mut server);
        assert_eq!(out.closes, [Close::new(1008, reason.clone())]);
        assert_eq!(
            out.events,
            [Event::Disconnected(Disconnect::Local(Close::new(
                1008, reason
            )))]
        );
    }
}

#[test]
fn the_server_dispatches_to_the_client() {
    let mut pair = Pair::connected();
    pair.server
        .dispatch("presence", vec![json("online"), json(7)])
        .unwrap();
    pair.exchange();
    assert_eq!(
        pair.client_events,
        [Event::Dispatch {
            what: "presence".into(),
            args: vec![json("online"), json(7)]
        }]
    );
    // A dispatch expects no answer: nothing is pending, nothing times out.
    pair.advance(Duration::from_secs(30));
    assert_eq!(pair.client_events.len(), 1, "{:?}", pair.client_events);
    assert!(pair.server_events.is_empty(), "{:?}", pair.server_events);
    assert!(pair.server_closes.is_empty() && pair.client_closes.is_empty());
}

#[test]
fn the_server_dispatches_only_while_authenticated() {
    let t0 = Instant::now();
    let mut server = Server::new(fast_server());
    assert_eq!(server.dispatch("x", vec![]), Err(CallError::NotReady));
    server.handle_input(t0, Input::opened()).unwrap();
    drain(&mut server);
    // HELLO sent, HELLO_ACK not yet received.
    assert_eq!(server.dispatch("x", vec![]), Err(CallError::NotReady));
    assert!(drain(&mut server).frames.is_empty());

    let mut pair = Pair::connected();
    pair.server.close(Close::new(1001, "going away"));
    drain(&mut pair.server);
    assert_eq!(
        pair.server.dispatch("x", vec![json(1)]),
        Err(CallError::NotReady)
    );
    assert!(drain(&mut pair.server).frames.is_empty());
}

#[test]
fn a_server_dispatch_is_encoded_as_op_6() {
    let mut pair = Pair::connected();
    pair.server.dispatch("tick", vec![json(1)]).unwrap();
    assert_eq!(
        drain(&mut pair.server).frames,
        [r#"{"op":6,"w":"tick","a":[1]}"#]
    );
}
