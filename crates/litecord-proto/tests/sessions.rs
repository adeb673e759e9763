//! Whole sessions drawn from the exported strategies (feature `proptest`) and
//! messages from the exported `Arbitrary` implementations (feature `arbitrary`),
//! driven into the machines.

use std::time::Instant;

use arbitrary::{Arbitrary, Unstructured};
use litecord_proto::strategy::{answers_to, client_session};
use litecord_proto::{Event, Message, Server, ServerConfig, decode, encode};
use proptest::prelude::*;
use proto_core::{Input, Limits, Machine, Output};

const SECRET: &str = "helloworld";

/// Every event `server` has for its application; panics on a close.
fn events(server: &mut Server) -> Vec<Event> {
    let mut events = Vec::new();
    while let Some(output) = server.poll_output() {
        match output {
            Output::Event(event) => events.push(event),
            Output::Transmit(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    events
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn a_valid_client_session_is_served_and_answered(session in client_session(SECRET, 0..12)) {
        let now = Instant::now();
        let mut server = Server::new(ServerConfig::new(SECRET));
        server.handle_input(now, Input::opened()).unwrap();
        let mut seen = Vec::new();
        for message in &session {
            server.handle_input(now, Input::text(&encode(message))).unwrap();
            seen.extend(events(&mut server));
        }
        prop_assert_eq!(seen.first(), Some(&Event::Authenticated));
        let requests: Vec<_> = seen
            .iter()
            .filter_map(|event| match event {
                Event::Request(request) => Some(request.clone()),
                _ => None,
            })
            .collect();
        let sent = session.iter().filter(|m| matches!(m, Message::Request(_))).count();
        prop_assert_eq!(requests.len(), sent);
        // The application answers each with data drawn by `answers_to`.
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let answers = answers_to(&session).new_tree(&mut runner).unwrap().current();
        prop_assert_eq!(answers.len(), sent);
        for (request, answer) in requests.iter().zip(&answers) {
            let Message::Response(answer) = answer else { unreachable!() };
            prop_assert_eq!(&answer.nonce, &request.nonce);
            server.respond(&request.nonce, answer.data.clone()).unwrap();
        }
        // Every nonce answered once: a second answer is refused.
        for request in &requests {
            prop_assert!(server.respond(&request.nonce, litecord_proto::RawJson::from_u64(0)).is_err());
        }
        prop_assert!(!server.is_closed());
    }
}

#[test]
fn every_arbitrary_message_round_trips() {
    // A fixed pseudo-random byte stream: the same messages on every run.
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    for _ in 0..2000 {
        let bytes: Vec<u8> = (0..512)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state.to_le_bytes()[0]
            })
            .collect();
        let message = Message::arbitrary(&mut Unstructured::new(&bytes)).unwrap();
        let frame = encode(&message);
        assert_eq!(
            decode(frame.as_bytes(), &Limits::default()).unwrap(),
            message,
            "{frame}"
        );
    }
}
