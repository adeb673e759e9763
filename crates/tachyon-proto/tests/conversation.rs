//! Conversations drawn from the exported strategies (feature `proptest`) played
//! between a client connection and the server's: every command is one its sender's
//! role may send, arrives as it was sent, and every request gets its answer.

use std::time::Instant;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use proto_core::{Input, Machine, Output, Payload};
use tachyon_proto::strategy::{self, Exchange, Side};
use tachyon_proto::{ALL_META, Command, Connection, ConnectionConfig, Event, MessageKind, Role};

/// Carries `from`'s frames to `to`; returns the events `from` emitted.
fn pump(now: Instant, from: &mut Connection, to: &mut Connection) -> Vec<Event> {
    let mut events = Vec::new();
    while let Some(output) = from.poll_output() {
        match output {
            Output::Transmit(transmit) => match transmit.payload {
                Payload::Text(text) => to.handle_input(now, Input::text(&text)).unwrap(),
                Payload::Ping(bytes) => from.handle_input(now, Input::pong(&bytes)).unwrap(),
                Payload::Binary(_) => panic!("tachyon sends text"),
            },
            Output::Event(event) => events.push(event),
            other => panic!("unexpected {other:?}"),
        }
    }
    events
}

/// `command` with the `messageId` `id`.
fn with_id(mut command: Command, id: &str) -> Command {
    id.clone_into(command.message_id_mut());
    command
}

fn play(role: Role, exchanges: &[Exchange]) -> Result<(), TestCaseError> {
    let now = Instant::now();
    let scopes: Vec<&str> = ALL_META
        .iter()
        .flat_map(|meta| meta.scopes.iter().copied())
        .collect();
    let mut server = Connection::new(ConnectionConfig::server(role, scopes));
    let mut client = Connection::new(ConnectionConfig::client(role));
    server.handle_input(now, Input::opened()).unwrap();
    client.handle_input(now, Input::opened()).unwrap();
    for exchange in exchanges {
        let (sender, receiver) = match exchange.from {
            Side::Client => (&mut client, &mut server),
            Side::Server => (&mut server, &mut client),
        };
        let command = exchange.command.clone();
        if command.kind() == MessageKind::Request {
            let id = sender.send_request(now, command.clone()).unwrap();
            pump(now, sender, receiver);
            let handed = pump(now, receiver, sender);
            prop_assert_eq!(&handed, &[Event::Request(with_id(command, &id))]);
            let answer = with_id(exchange.answer.clone().unwrap(), &id);
            receiver.respond(answer.clone()).unwrap();
            pump(now, receiver, sender);
            prop_assert_eq!(pump(now, sender, receiver), [Event::Response(answer)]);
        } else {
            let id = sender.send_event(command.clone()).unwrap();
            pump(now, sender, receiver);
            let handed = pump(now, receiver, sender);
            prop_assert_eq!(handed, [Event::Notification(with_id(command, &id))]);
        }
    }
    prop_assert!(client.is_open() && server.is_open());
    prop_assert_eq!(client.pending_requests() + server.pending_requests(), 0);
    Ok(())
}

#[test]
fn conversations_are_served_both_ways_for_users_and_autohosts() {
    for role in [Role::User, Role::Autohost] {
        let mut runner = TestRunner::new(Config {
            cases: 64,
            failure_persistence: None,
            ..Config::default()
        });
        runner
            .run(&strategy::conversation(role, 1..12), |exchanges| {
                play(role, &exchanges)
            })
            .unwrap_or_else(|error| panic!("{role}: {error}"));
    }
}
