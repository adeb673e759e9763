//! Scenarios of the connection machine on a virtual clock: correlation, timeouts,
//! the answers to unauthorized, unknown and invalid commands, closes, keepalive.

use std::time::{Duration, Instant};

use proto_core::{Close, Disconnect, Input, Limits, Machine, Output, Payload};
use tachyon_proto::{
    CallError, Command, CommandId, Connection, ConnectionConfig, DecodeError, Event, InputError,
    MessageKind, RequestFailure, Role, decode, encode,
};

const LOBBY: &str = "tachyon.lobby";
const TIMEOUT: Duration = Duration::from_secs(30);

fn server_with(peer: Role, scopes: &[&str]) -> Connection {
    let mut config = ConnectionConfig::server(peer, scopes.iter().copied());
    config.seed = 1;
    Connection::new(config)
}

fn open(mut connection: Connection, now: Instant) -> Connection {
    connection.handle_input(now, Input::opened()).unwrap();
    connection
}

fn user_server(now: Instant) -> Connection {
    open(server_with(Role::User, &[LOBBY]), now)
}

fn user_client(now: Instant) -> Connection {
    let mut config = ConnectionConfig::client(Role::User);
    config.seed = 2;
    open(Connection::new(config), now)
}

fn outputs(connection: &mut Connection) -> Vec<Output<Event>> {
    std::iter::from_fn(|| connection.poll_output()).collect()
}

fn text(frame: &str) -> Output<Event> {
    Output::transmit(Payload::Text(frame.to_owned()))
}

fn command(frame: &str) -> Command {
    decode(frame).unwrap()
}

/// The one output the connection has.
fn only(connection: &mut Connection) -> Output<Event> {
    let mut all = outputs(connection);
    assert_eq!(all.len(), 1, "expected one output, got {all:?}");
    all.remove(0)
}

/// The one frame the connection sent.
fn sent_frame(connection: &mut Connection) -> String {
    match outputs(connection).as_slice() {
        [Output::Transmit(transmit)] => match &transmit.payload {
            Payload::Text(frame) => frame.clone(),
            other => panic!("not a text frame: {other:?}"),
        },
        other => panic!("expected one frame, got {other:?}"),
    }
}

fn policy_close(reason: &str) -> Close {
    Close::new(1008, reason.to_owned())
}

const STATS_REQUEST: &str = r#"{"type":"request","messageId":"","commandId":"system/serverStats"}"#;

#[test]
fn a_request_travels_with_a_fresh_id_and_its_response_finds_it() {
    let t0 = Instant::now();
    let mut client = user_client(t0);
    let mut server = user_server(t0);

    let id = client.send_request(t0, command(STATS_REQUEST)).unwrap();
    assert_eq!(id.len(), 36, "a hyphenated UUID: {id}");
    assert_eq!(id.as_bytes()[14], b'4', "version 4: {id}");
    let frame = sent_frame(&mut client);
    assert_eq!(
        frame,
        format!(r#"{{"type":"request","messageId":"{id}","commandId":"system/serverStats"}}"#)
    );
    assert_eq!(client.pending_requests(), 1);
    assert_eq!(client.poll_timeout(), Some(t0 + TIMEOUT));

    server.handle_input(t0, Input::text(&frame)).unwrap();
    let Output::Event(Event::Request(request)) = only(&mut server) else {
        panic!("expected the request");
    };
    assert_eq!(request.command_id(), CommandId::SystemServerStats);
    let response = command(&format!(
        r#"{{"type":"response","messageId":"{}","commandId":"system/serverStats","status":"success","data":{{"userCount":3}}}}"#,
        request.message_id()
    ));
    server.respond(response.clone()).unwrap();
    let answer = sent_frame(&mut server);
    assert_eq!(answer, encode(&response));
    // Answered once only.
    assert_eq!(
        server.respond(response.clone()),
        Err(CallError::UnknownRequest(id.clone()))
    );

    client.handle_input(t0, Input::text(&answer)).unwrap();
    assert_eq!(
        outputs(&mut client),
        vec![Output::Event(Event::Response(response))]
    );
    assert_eq!(client.pending_requests(), 0);
    assert_eq!(client.poll_timeout(), None);
    // Two requests never share an id.
    let other = client.send_request(t0, command(STATS_REQUEST)).unwrap();
    assert_ne!(other, id);
}

#[test]
fn events_need_no_response() {
    let t0 = Instant::now();
    let mut server = user_server(t0);
    let mut client = user_client(t0);
    let event = command(
        r#"{"type":"event","messageId":"x","commandId":"lobby/updated","data":{"id":"l1","name":"Renamed"}}"#,
    );
    let id = server.send_event(event).unwrap();
    let frame = sent_frame(&mut server);
    assert_eq!(
        frame,
        format!(
            r#"{{"type":"event","messageId":"{id}","commandId":"lobby/updated","data":{{"id":"l1","name":"Renamed"}}}}"#
        )
    );
    client.handle_input(t0, Input::text(&frame)).unwrap();
    assert_eq!(
        outputs(&mut client),
        vec![Output::Event(Event::Notification(command(&frame)))]
    );
    // Nothing is owed: the client sends nothing, sets no timer.
    assert_eq!(client.poll_timeout(), None);
    assert_eq!(server.pending_requests(), 0);
}

#[test]
fn a_response_that_answers_nothing_closes_with_1008() {
    let t0 = Instant::now();
    let mut client = user_client(t0);
    let stray = r#"{"type":"response","messageId":"nope","commandId":"system/serverStats","status":"success","data":{"userCount":1}}"#;
    let error = client.handle_input(t0, Input::text(stray)).unwrap_err();
    assert_eq!(
        error,
        InputError::UnmatchedResponse {
            message_id: "nope".into()
        }
    );
    let close = policy_close(r#"response "nope" matches no pending request"#);
    assert_eq!(
        outputs(&mut client),
        vec![
            Output::close(close.clone()),
            Output::Event(Event::Disconnected(Disconnect::Local(close))),
        ]
    );
    assert!(client.is_closed());
    assert_eq!(
        client.handle_input(t0, Input::text(stray)),
        Err(InputError::NotOpen)
    );
}

#[test]
fn a_response_for_another_command_closes_with_1008_and_fails_the_request() {
    let t0 = Instant::now();
    let mut client = user_client(t0);
    let id = client.send_request(t0, command(STATS_REQUEST)).unwrap();
    outputs(&mut client);
    let wrong = format!(
        r#"{{"type":"response","messageId":"{id}","commandId":"lobby/leave","status":"success"}}"#
    );
    let error = client.handle_input(t0, Input::text(&wrong)).unwrap_err();
    assert_eq!(
        error,
        InputError::MismatchedResponse {
            message_id: id.clone(),
            expected: CommandId::SystemServerStats,
            found: "lobby/leave".into(),
        }
    );
    let close = error.close().unwrap();
    assert_eq!(close.code, 1008);
    assert_eq!(
        outputs(&mut client),
        vec![
            Output::close(close.clone()),
            Output::Event(Event::RequestFailed {
                message_id: id,
                command: CommandId::SystemServerStats,
                reason: RequestFailure::ConnectionLost,
            }),
            Output::Event(Event::Disconnected(Disconnect::Local(close))),
        ]
    );
}

#[test]
fn a_request_times_out_and_its_late_response_is_dropped() {
    let t0 = Instant::now();
    let mut client = user_client(t0);
    let id = client.send_request(t0, command(STATS_REQUEST)).unwrap();
    outputs(&mut client);

    client.handle_timeout(t0 + TIMEOUT - Duration::from_millis(1));
    assert_eq!(outputs(&mut client), vec![]);
    client.handle_timeout(t0 + TIMEOUT);
    assert_eq!(
        outputs(&mut client),
        vec![Output::Event(Event::RequestFailed {
            message_id: id.clone(),
            command: CommandId::SystemServerStats,
            reason: RequestFailure::TimedOut,
        })]
    );
    assert_eq!(client.poll_timeout(), None);

    let late = format!(
        r#"{{"type":"response","messageId":"{id}","commandId":"system/serverStats","status":"success","data":{{"userCount":1}}}}"#
    );
    assert_eq!(
        client.handle_input(t0 + TIMEOUT, Input::text(&late)),
        Err(InputError::LateResponse {
            message_id: id.clone()
        })
    );
    assert_eq!(outputs(&mut client), vec![]);
    assert!(client.is_open());
    // Only once: a second copy answers nothing.
    assert_eq!(
        client.handle_input(t0 + TIMEOUT, Input::text(&late)),
        Err(InputError::UnmatchedResponse { message_id: id })
    );
    assert!(client.is_closed());
}

#[test]
fn a_schema_invalid_response_fails_its_request_only() {
    let t0 = Instant::now();
    let mut client = user_client(t0);
    let id = client.send_request(t0, command(STATS_REQUEST)).unwrap();
    outputs(&mut client);
    let bad = format!(
        r#"{{"type":"response","messageId":"{id}","commandId":"system/serverStats","status":"success","data":{{"userCount":"many"}}}}"#
    );
    let error = client.handle_input(t0, Input::text(&bad)).unwrap_err();
    let InputError::InvalidResponse(decode_error) = &error else {
        panic!("{error:?}");
    };
    assert!(matches!(
        decode_error,
        DecodeError::InvalidData {
            command: CommandId::SystemServerStats,
            kind: MessageKind::Response,
            ..
        }
    ));
    assert_eq!(
        outputs(&mut client),
        vec![Output::Event(Event::RequestFailed {
            message_id: id,
            command: CommandId::SystemServerStats,
            reason: RequestFailure::InvalidResponse(decode_error.clone()),
        })]
    );
    assert!(client.is_open());
}

#[test]
fn the_server_refuses_a_command_the_role_may_not_send() {
    let t0 = Instant::now();
    let mut server = user_server(t0);
    // autohost/kill goes from the server to an autohost, never from a user.
    let frame = r#"{"type":"request","messageId":"m1","commandId":"autohost/kill","data":{"battleId":"75bfc493-2b9d-495d-a453-06722fdca2ea"}}"#;
    assert!(decode(frame).is_ok(), "valid, only not allowed");
    assert_eq!(
        server.handle_input(t0, Input::text(frame)),
        Err(InputError::WrongRole {
            command: CommandId::AutohostKill,
            kind: MessageKind::Request,
            peer: Role::User,
        })
    );
    assert_eq!(
        outputs(&mut server),
        vec![text(
            r#"{"type":"response","messageId":"m1","commandId":"autohost/kill","status":"failed","reason":"unauthorized","details":"user may not send autohost/kill request"}"#
        )]
    );
    // An event the role may not send is dropped, unanswered.
    let event = r#"{"type":"event","messageId":"e1","commandId":"autohost/status","data":{"maxBattles":1,"currentBattles":0,"availableEngines":[]}}"#;
    assert_eq!(
        server.handle_input(t0, Input::text(event)),
        Err(InputError::WrongRole {
            command: CommandId::AutohostStatus,
            kind: MessageKind::Event,
            peer: Role::User,
        })
    );
    assert_eq!(outputs(&mut server), vec![]);
    assert!(server.is_open());
}

#[test]
fn the_server_refuses_a_request_without_its_scope() {
    let t0 = Instant::now();
    let mut server = open(server_with(Role::User, &["openid"]), t0);
    let frame = r#"{"type":"request","messageId":"m1","commandId":"system/serverStats"}"#;
    assert_eq!(
        server.handle_input(t0, Input::text(frame)),
        Err(InputError::MissingScope {
            command: CommandId::SystemServerStats,
            kind: MessageKind::Request,
            scope: LOBBY,
        })
    );
    assert_eq!(
        outputs(&mut server),
        vec![text(
            r#"{"type":"response","messageId":"m1","commandId":"system/serverStats","status":"failed","reason":"unauthorized","details":"system/serverStats request needs scope tachyon.lobby"}"#
        )]
    );
    // Authorization is checked before the schema: no hints for the unauthorized.
    let invalid = r#"{"type":"request","messageId":"m2","commandId":"lobby/join","data":{"id":5}}"#;
    assert!(matches!(
        server.handle_input(t0, Input::text(invalid)),
        Err(InputError::MissingScope { .. })
    ));
    assert_eq!(
        outputs(&mut server),
        vec![text(
            r#"{"type":"response","messageId":"m2","commandId":"lobby/join","status":"failed","reason":"unauthorized","details":"lobby/join request needs scope tachyon.lobby"}"#
        )]
    );
}

#[test]
fn an_unknown_command_is_unimplemented() {
    let t0 = Instant::now();
    let mut server = user_server(t0);
    let frame = r#"{"type":"request","messageId":"m1","commandId":"lobby/dance","data":{}}"#;
    assert_eq!(
        server.handle_input(t0, Input::text(frame)),
        Err(InputError::UnknownCommand {
            command_id: "lobby/dance".into(),
            kind: MessageKind::Request,
        })
    );
    assert_eq!(
        outputs(&mut server),
        vec![text(
            r#"{"type":"response","messageId":"m1","commandId":"lobby/dance","status":"failed","reason":"command_unimplemented"}"#
        )]
    );
    // An unknown event is dropped: a newer minor version may add events.
    let event = r#"{"type":"event","messageId":"e1","commandId":"lobby/danced"}"#;
    assert_eq!(
        server.handle_input(t0, Input::text(event)),
        Err(InputError::UnknownCommand {
            command_id: "lobby/danced".into(),
            kind: MessageKind::Event,
        })
    );
    assert_eq!(outputs(&mut server), vec![]);
    assert!(server.is_open());
}

#[test]
fn a_schema_invalid_request_is_answered_with_invalid_request() {
    let t0 = Instant::now();
    let mut server = user_server(t0);
    let frame = r#"{"type":"request","messageId":"m1","commandId":"lobby/join","data":{"id":5}}"#;
    let error = server.handle_input(t0, Input::text(frame)).unwrap_err();
    let InputError::InvalidRequest(decode_error) = &error else {
        panic!("{error:?}");
    };
    assert_eq!(
        decode_error,
        &DecodeError::InvalidData {
            command: CommandId::LobbyJoin,
            kind: MessageKind::Request,
            detail: "invalid type: integer `5`, expected a string at line 1 column 74".into(),
        }
    );
    let expected = r#"{"type":"response","messageId":"m1","commandId":"lobby/join","status":"failed","reason":"invalid_request","details":"invalid lobby/join request data: invalid type: integer `5`, expected a string at line 1 column 74"}"#;
    assert_eq!(outputs(&mut server), vec![text(expected)]);
    // The answer is itself a valid command.
    assert!(decode(expected).is_ok());
    assert!(server.is_open());
}

#[test]
fn unparseable_and_binary_frames_close_with_1008() {
    let t0 = Instant::now();
    for (input, reason) in [
        (
            Input::text("{nope"),
            "malformed frame: not JSON: key must be a string at line 1 column 2",
        ),
        (
            Input::text("[1]"),
            "malformed frame: a command is a JSON object, found an array",
        ),
        (
            Input::text(r#"{"type":"request","commandId":"lobby/leave"}"#),
            r#"malformed frame: missing field "messageId""#,
        ),
        (Input::binary(b"{}"), "binary frame"),
    ] {
        let mut server = user_server(t0);
        let error = server.handle_input(t0, input.clone()).unwrap_err();
        let close = policy_close(reason);
        assert_eq!(error.close(), Some(close.clone()), "{input:?}");
        assert_eq!(
            outputs(&mut server),
            vec![
                Output::close(close.clone()),
                Output::Event(Event::Disconnected(Disconnect::Local(close))),
            ]
        );
    }
    // A frame over the limit is refused unread.
    let mut config = ConnectionConfig::server(Role::User, [LOBBY]);
    config.limits = Limits {
        max_frame_len: 16,
        ..Limits::default()
    };
    let mut server = open(Connection::new(config), t0);
    assert!(matches!(
        server.handle_input(t0, Input::text(STATS_REQUEST)),
        Err(InputError::Malformed(DecodeError::Limit(_)))
    ));
    assert!(server.is_closed());
}

#[test]
fn a_reused_message_id_closes_and_too_many_requests_are_refused() {
    let t0 = Instant::now();
    let mut config = ConnectionConfig::server(Role::User, [LOBBY]);
    config.limits.max_pending = 1;
    let mut server = open(Connection::new(config), t0);
    let first = r#"{"type":"request","messageId":"m1","commandId":"system/serverStats"}"#;
    server.handle_input(t0, Input::text(first)).unwrap();
    outputs(&mut server);
    let second = r#"{"type":"request","messageId":"m2","commandId":"lobby/leave"}"#;
    assert_eq!(
        server.handle_input(t0, Input::text(second)),
        Err(InputError::TooManyRequests { max: 1 })
    );
    assert_eq!(
        outputs(&mut server),
        vec![text(
            r#"{"type":"response","messageId":"m2","commandId":"lobby/leave","status":"failed","reason":"internal_error","details":"more than 1 unanswered requests"}"#
        )]
    );
    assert_eq!(
        server.handle_input(t0, Input::text(first)),
        Err(InputError::DuplicateMessageId("m1".into()))
    );
    assert!(server.is_closed());
}

#[test]
fn the_server_pings_every_ten_seconds_at_most_and_closes_a_silent_peer() {
    let t0 = Instant::now();
    let mut server = user_server(t0);
    let mut now = t0;
    let mut pings = Vec::new();
    for _ in 0..20 {
        let due = server.poll_timeout().unwrap();
        let wait = due - now;
        assert!(
            wait >= Duration::from_secs(5) && wait <= Duration::from_secs(10),
            "{wait:?}"
        );
        now = due;
        server.handle_timeout(now);
        let Output::Transmit(transmit) = only(&mut server) else {
            panic!("expected a ping");
        };
        let Payload::Ping(payload) = transmit.payload else {
            panic!("expected a ping");
        };
        server.handle_input(now, Input::pong(&payload)).unwrap();
        pings.push(wait);
    }
    // Randomized: not every interval is the same.
    assert!(pings.iter().any(|&wait| wait != pings[0]));

    // A ping goes unanswered: the next one due closes the connection.
    now = server.poll_timeout().unwrap();
    server.handle_timeout(now);
    assert_eq!(outputs(&mut server).len(), 1);
    now = server.poll_timeout().unwrap();
    server.handle_timeout(now);
    let close = policy_close("ping timeout");
    assert_eq!(
        outputs(&mut server),
        vec![
            Output::close(close.clone()),
            Output::Event(Event::Disconnected(Disconnect::Local(close))),
        ]
    );
    assert_eq!(server.poll_timeout(), None);
}

#[test]
fn the_peer_closing_fails_what_is_in_flight() {
    let t0 = Instant::now();
    let mut client = user_client(t0);
    let id = client.send_request(t0, command(STATS_REQUEST)).unwrap();
    outputs(&mut client);
    let close = Close::new(1001, "going away");
    client
        .handle_input(t0, Input::closed(Some(close.clone())))
        .unwrap();
    assert_eq!(
        outputs(&mut client),
        vec![
            Output::Event(Event::RequestFailed {
                message_id: id,
                command: CommandId::SystemServerStats,
                reason: RequestFailure::ConnectionLost,
            }),
            Output::Event(Event::Disconnected(Disconnect::Remote(Some(close)))),
        ]
    );
    assert_eq!(
        client.send_request(t0, command(STATS_REQUEST)),
        Err(CallError::NotOpen)
    );
}

#[test]
fn application_calls_are_checked_before_anything_is_sent() {
    let t0 = Instant::now();
    let not_open = Connection::new(ConnectionConfig::client(Role::User));
    assert!(!not_open.is_open());
    let mut client = user_client(t0);
    let response = command(
        r#"{"type":"response","messageId":"m","commandId":"system/serverStats","status":"success","data":{"userCount":1}}"#,
    );
    assert_eq!(
        client.send_request(t0, response.clone()),
        Err(CallError::WrongKind {
            expected: MessageKind::Request,
            found: MessageKind::Response,
        })
    );
    // A user cannot send what the server sends.
    assert_eq!(
        client.respond(response),
        Err(CallError::WrongRole {
            command: CommandId::SystemServerStats,
            kind: MessageKind::Response,
            local: Role::User,
            peer: Role::Server,
        })
    );
    let mut server = user_server(t0);
    server
        .handle_input(
            t0,
            Input::text(r#"{"type":"request","messageId":"m1","commandId":"lobby/leave"}"#),
        )
        .unwrap();
    outputs(&mut server);
    let wrong = command(
        r#"{"type":"response","messageId":"m1","commandId":"system/serverStats","status":"success","data":{"userCount":1}}"#,
    );
    assert_eq!(
        server.respond(wrong),
        Err(CallError::WrongResponse {
            message_id: "m1".into(),
            expected: CommandId::LobbyLeave,
            found: CommandId::SystemServerStats,
        })
    );
    // A generic failure answers any request.
    let failed = Command::failed_response(
        CommandId::LobbyLeave,
        "m1",
        tachyon_proto::GenericReason::CommandUnimplemented,
        None,
    )
    .unwrap();
    server.respond(failed).unwrap();
    assert_eq!(
        outputs(&mut server),
        vec![text(
            r#"{"type":"response","messageId":"m1","commandId":"lobby/leave","status":"failed","reason":"command_unimplemented"}"#
        )]
    );
    assert_eq!(outputs(&mut client), vec![]);
    assert_eq!(
        server.handle_input(t0, Input::opened()),
        Err(InputError::AlreadyOpen)
    );
}

#[test]
fn an_autohost_serves_the_servers_requests() {
    let t0 = Instant::now();
    let mut server = open(server_with(Role::Autohost, &[LOBBY]), t0);
    let mut config = ConnectionConfig::client(Role::Autohost);
    config.seed = 3;
    let mut autohost = open(Connection::new(config), t0);
    let kill = command(
        r#"{"type":"request","messageId":"","commandId":"autohost/kill","data":{"battleId":"75bfc493-2b9d-495d-a453-06722fdca2ea"}}"#,
    );
    let id = server.send_request(t0, kill).unwrap();
    let frame = sent_frame(&mut server);
    autohost.handle_input(t0, Input::text(&frame)).unwrap();
    let Output::Event(Event::Request(request)) = only(&mut autohost) else {
        panic!("expected the request");
    };
    assert_eq!(request.message_id(), id);
    let done = command(&format!(
        r#"{{"type":"response","messageId":"{id}","commandId":"autohost/kill","status":"success"}}"#
    ));
    autohost.respond(done.clone()).unwrap();
    let answer = sent_frame(&mut autohost);
    server.handle_input(t0, Input::text(&answer)).unwrap();
    assert_eq!(
        outputs(&mut server),
        vec![Output::Event(Event::Response(done))]
    );
    // The autohost's own events reach the server.
    let status = command(
        r#"{"type":"event","messageId":"","commandId":"autohost/status","data":{"maxBattles":4,"currentBattles":1,"availableEngines":["2025.01.5"]}}"#,
    );
    autohost.send_event(status).unwrap();
    let frame = sent_frame(&mut autohost);
    server.handle_input(t0, Input::text(&frame)).unwrap();
    assert!(matches!(
        outputs(&mut server).as_slice(),
        [Output::Event(Event::Notification(
            Command::AutohostStatusEvent(_)
        ))]
    ));
}

#[test]
fn a_monitor_records_what_each_side_sent_and_checks_the_answers() {
    let t0 = Instant::now();
    // A monitor's two machines: each receives one side's frames and records the
    // frames its own side sent.
    let mut server_side = user_server(t0);
    let mut client_side = user_client(t0);
    let request = r#"{"type":"request","messageId":"m1","commandId":"system/serverStats"}"#;
    server_side.handle_input(t0, Input::text(request)).unwrap();
    outputs(&mut server_side);
    client_side
        .record_sent(t0, MessageKind::Request, "m1", CommandId::SystemServerStats)
        .unwrap();
    assert_eq!(client_side.pending_requests(), 1);
    assert_eq!(client_side.poll_timeout(), Some(t0 + TIMEOUT));
    assert_eq!(outputs(&mut client_side), vec![], "nothing is sent");
    // The same messageId again, while it awaits its response.
    assert_eq!(
        client_side.record_sent(t0, MessageKind::Request, "m1", CommandId::SystemServerStats),
        Err(CallError::Pending(proto_core::PendingError::Duplicate))
    );

    let response = r#"{"type":"response","messageId":"m1","commandId":"system/serverStats","status":"success","data":{"userCount":1}}"#;
    client_side.handle_input(t0, Input::text(response)).unwrap();
    server_side
        .record_sent(
            t0,
            MessageKind::Response,
            "m1",
            CommandId::SystemServerStats,
        )
        .unwrap();
    assert_eq!(outputs(&mut server_side), vec![]);
    // The server side no longer owes an answer: the same id may come again.
    server_side.handle_input(t0, Input::text(request)).unwrap();
    client_side
        .record_sent(t0, MessageKind::Request, "m1", CommandId::SystemServerStats)
        .unwrap();
    // A second response to it answers nothing on the client side.
    client_side.handle_input(t0, Input::text(response)).unwrap();
    assert_eq!(
        client_side.handle_input(t0, Input::text(response)),
        Err(InputError::UnmatchedResponse {
            message_id: "m1".into()
        })
    );
    // A response to a request this side never saw (refused, say) settles nothing.
    server_side
        .record_sent(
            t0,
            MessageKind::Response,
            "m1",
            CommandId::SystemServerStats,
        )
        .unwrap();
    server_side
        .record_sent(
            t0,
            MessageKind::Response,
            "m1",
            CommandId::SystemServerStats,
        )
        .unwrap();
    assert_eq!(
        client_side.record_sent(t0, MessageKind::Request, "m1", CommandId::SystemServerStats),
        Err(CallError::NotOpen)
    );
}
