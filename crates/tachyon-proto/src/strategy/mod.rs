//! Proptest strategies (feature `proptest`): any valid value of every message
//! type, and whole valid conversations between a client and the server.
//!
//! Every strategy draws values that satisfy their schema, so
//! `decode(&encode(&m)) == Ok(m)` and `m.validate()` hold for all of them; the
//! crate's own round-trip and schema tests run on exactly these. The per-type
//! strategies are generated beside the types by `tachyon-codegen`, one function
//! per type named after it in snake case ([`lobby_create_request`],
//! [`player`], ...), [`all`] lists one per message and [`of`] finds it by
//! command and kind; [`conversation`] strings them into exchanges a real client
//! and server could have.

mod messages;

use proptest::collection::SizeRange;
use proptest::prelude::*;
use proptest::strategy::Union;

pub use messages::*;

use crate::message::{ALL_META, Command, MessageKind, Role};

/// Who sends a step of a [`conversation`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The user's or autohost's side.
    Client,
    /// The lobby server.
    Server,
}

/// One step of a [`conversation`]: a request with its answer, or an event.
#[derive(Debug, Clone, PartialEq)]
pub struct Exchange {
    /// Who sends `command`.
    pub from: Side,
    /// A request or an event the sender's role may send to the other side.
    pub command: Command,
    /// For a request: a response (success or failure) with the same command and
    /// `messageId`, from the other side.
    pub answer: Option<Command>,
}

/// Any message of `kind` that `source` may send to `target`, as the schemas'
/// metadata says; `None` when there is none.
pub fn sent(source: Role, target: Role, kind: MessageKind) -> Option<BoxedStrategy<Command>> {
    let strategies: Vec<BoxedStrategy<Command>> = ALL_META
        .iter()
        .filter(|meta| meta.source == source && meta.target == target && meta.kind == kind)
        .filter_map(|meta| of(meta.id, meta.kind))
        .collect();
    if strategies.is_empty() {
        None
    } else {
        Some(Union::new(strategies).boxed())
    }
}

/// Any valid response to `request` (success or failure), with its `messageId`;
/// `None` when `request` is not a request.
pub fn answer_to(request: &Command) -> Option<BoxedStrategy<Command>> {
    if request.kind() != MessageKind::Request {
        return None;
    }
    let message_id = request.message_id().to_owned();
    let response = of(request.command_id(), MessageKind::Response)?;
    Some(
        response
            .prop_map(move |mut response| {
                message_id.clone_into(response.message_id_mut());
                response
            })
            .boxed(),
    )
}

/// A valid conversation between a `role` client (user or autohost) and the
/// server, `len` steps long: requests each side's role may send, each with an
/// answer from the other side, and events either may send, in any order.
/// Requests carry distinct `messageId`s (`c0`, `c1`, ... from the client, `s0`,
/// `s1`, ... from the server), as the protocol asks of requests in flight.
pub fn conversation(role: Role, len: impl Into<SizeRange>) -> BoxedStrategy<Vec<Exchange>> {
    let mut steps: Vec<BoxedStrategy<Exchange>> = Vec::new();
    for (from, source, target) in [
        (Side::Client, role, Role::Server),
        (Side::Server, Role::Server, role),
    ] {
        if let Some(requests) = sent(source, target, MessageKind::Request) {
            steps.push(
                requests
                    .prop_flat_map(|command| {
                        let answer = answer_to(&command).map_or_else(
                            || Just(None).boxed(),
                            |answer| answer.prop_map(Some).boxed(),
                        );
                        (Just(command), answer)
                    })
                    .prop_map(move |(command, answer)| Exchange {
                        from,
                        command,
                        answer,
                    })
                    .boxed(),
            );
        }
        if let Some(events) = sent(source, target, MessageKind::Event) {
            steps.push(
                events
                    .prop_map(move |command| Exchange {
                        from,
                        command,
                        answer: None,
                    })
                    .boxed(),
            );
        }
    }
    if steps.is_empty() {
        // Only a client role sends or receives anything.
        return Just(Vec::new()).boxed();
    }
    proptest::collection::vec(Union::new(steps), len)
        .prop_map(|mut exchanges| {
            let (mut client, mut server) = (0_usize, 0_usize);
            for exchange in &mut exchanges {
                if exchange.command.kind() != MessageKind::Request {
                    continue;
                }
                let id = match exchange.from {
                    Side::Client => {
                        client += 1;
                        format!("c{}", client - 1)
                    }
                    Side::Server => {
                        server += 1;
                        format!("s{}", server - 1)
                    }
                };
                if let Some(answer) = &mut exchange.answer {
                    id.clone_into(answer.message_id_mut());
                }
                *exchange.command.message_id_mut() = id;
            }
            exchanges
        })
        .boxed()
}
