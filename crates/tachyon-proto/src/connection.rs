//! One Tachyon connection, either side: request/response correlation by
//! `messageId`, the role and scopes each command needs, the answers the protocol
//! gives to bad commands, and the server's keepalive pings.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use proto_core::{
    Close, Data, Disconnect, Input, Jitter, Limits, Machine, Outbox, Output, Payload, PendingTable,
    SeededRng, deadline, seeded_rng,
};
use rand::RngExt;

use crate::codec::{DecodeError, decode_with, encode, encode_generic_failure, recover_ids};
use crate::error::{CallError, InputError};
use crate::event::{Event, RequestFailure};
use crate::keepalive::Keepalive;
use crate::message::{Command, CommandId, GenericReason, MessageKind, Meta, Role, meta};

/// How a [`Connection`] behaves.
#[derive(Debug, Clone)]
pub struct ConnectionConfig {
    /// This side's role.
    pub local: Role,
    /// The peer's role.
    pub peer: Role,
    /// The OAuth scopes the peer's access token grants. Checked against every
    /// command a user or autohost sends; unused when the peer is the server.
    pub granted_scopes: Vec<String>,
    /// How long a request this side sends waits for its response.
    pub request_timeout: Duration,
    /// How often to ping the peer, drawn afresh for every ping; `None` sends no
    /// pings. A peer whose pong has not come when the next ping is due is closed.
    pub ping_interval: Option<Jitter>,
    /// Bounds on what the peer sends, and on requests in flight either way.
    pub limits: Limits,
    /// Seeds the RNG behind `messageId`s and ping intervals. Give every connection
    /// its own (from the operating system in production, a constant in tests).
    pub seed: u64,
}

impl ConnectionConfig {
    /// The server's side of a connection with a `peer` (user or autohost) whose
    /// access token grants `granted_scopes`: pings every 5 to 10 seconds, requests
    /// time out after 30 seconds, default limits, seed 0.
    pub fn server<S: Into<String>>(
        peer: Role,
        granted_scopes: impl IntoIterator<Item = S>,
    ) -> Self {
        ConnectionConfig {
            local: Role::Server,
            peer,
            granted_scopes: granted_scopes.into_iter().map(Into::into).collect(),
            request_timeout: Duration::from_secs(30),
            // The spec asks for at least one ping every 10 s, randomized.
            ping_interval: Some(Jitter::new(Duration::from_secs(5), Duration::from_secs(10))),
            limits: Limits::default(),
            seed: 0,
        }
    }

    /// A `local` client's (user or autohost) side of a connection to the server:
    /// no pings (the server sends them, the WebSocket answers), requests time out
    /// after 30 seconds, default limits, seed 0.
    pub fn client(local: Role) -> Self {
        ConnectionConfig {
            local,
            peer: Role::Server,
            granted_scopes: Vec::new(),
            request_timeout: Duration::from_secs(30),
            ping_interval: None,
            limits: Limits::default(),
            seed: 0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// The WebSocket is not up yet.
    Idle,
    /// Commands flow.
    Open,
    /// The connection is over.
    Closed,
}

/// One Tachyon connection, as the server or as a client.
///
/// Feed it [`Input::opened`] once the WebSocket handshake (with its subprotocol,
/// see [`version`](crate::version), and its Bearer token) is done, then every
/// frame. It hands the application the peer's requests, responses and events as
/// typed [`Command`]s and answers on its own what the protocol answers without
/// the application:
///
/// - a request the peer's role may not send, or whose scope its token lacks:
///   `failed` with `unauthorized`;
/// - a request for a `commandId` it does not know: `command_unimplemented`;
/// - a request that breaks its schema: `invalid_request`, with the exact error
///   as `details`;
/// - a frame that is not a command at all, or a response that answers no
///   request of this side: close 1008 with a short reason.
///
/// The application sends with [`send_request`](Connection::send_request) (which
/// gives the request a fresh `messageId` and a timeout),
/// [`respond`](Connection::respond) and [`send_event`](Connection::send_event).
///
/// ```
/// use std::time::Instant;
/// use proto_core::{Input, Machine, Output, Payload};
/// use tachyon_proto::message::{SystemServerStatsOkResponseData, SystemServerStatsResponse};
/// use tachyon_proto::{Connection, ConnectionConfig, Event, JsonObject, Role};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let now = Instant::now();
/// // The user's access token granted the lobby scope.
/// let mut server = Connection::new(ConnectionConfig::server(Role::User, ["tachyon.lobby"]));
/// server.handle_input(now, Input::opened())?;
///
/// let frame = r#"{"type":"request","messageId":"m1","commandId":"system/serverStats"}"#;
/// server.handle_input(now, Input::text(frame))?;
/// let Some(Output::Event(Event::Request(request))) = server.poll_output() else {
///     return Err("the application should get the request".into());
/// };
///
/// server
///     .respond(SystemServerStatsResponse {
///         message_id: request.message_id().to_owned(),
///         result: Ok(SystemServerStatsOkResponseData { user_count: 1, extra: JsonObject::new() }),
///     })?;
/// let Some(Output::Transmit(answer)) = server.poll_output() else {
///     return Err("the response should be sent".into());
/// };
/// assert_eq!(
///     answer.payload,
///     Payload::Text(
///         r#"{"type":"response","messageId":"m1","commandId":"system/serverStats","status":"success","data":{"userCount":1}}"#
///             .into()
///     )
/// );
/// // The first ping is due within 10 seconds.
/// assert!(server.poll_timeout().is_some_and(|at| at <= now + std::time::Duration::from_secs(10)));
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Connection {
    config: ConnectionConfig,
    state: State,
    outbox: Outbox<Event>,
    rng: SeededRng,
    /// This side's requests awaiting their response, by `messageId`.
    outgoing: PendingTable<String, CommandId>,
    /// `messageId`s of this side's requests that timed out, oldest first, so a
    /// late response is told apart from one that answers nothing.
    timed_out: VecDeque<String>,
    /// The peer's requests the application has not answered, by `messageId`.
    incoming: HashMap<String, CommandId>,
    keepalive: Option<Keepalive>,
}

impl Connection {
    /// A connection, not yet open.
    pub fn new(config: ConnectionConfig) -> Self {
        Connection {
            state: State::Idle,
            outbox: Outbox::new(),
            rng: seeded_rng(config.seed),
            outgoing: PendingTable::new(config.limits.max_pending),
            timed_out: VecDeque::new(),
            incoming: HashMap::new(),
            keepalive: config.ping_interval.map(Keepalive::new),
            config,
        }
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &ConnectionConfig {
        &self.config
    }

    /// Whether commands can flow.
    pub fn is_open(&self) -> bool {
        self.state == State::Open
    }

    /// Whether the connection is over.
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// How many of this side's requests await their response.
    pub fn pending_requests(&self) -> usize {
        self.outgoing.len()
    }

    /// Sends `request` with a fresh `messageId` (a random UUID, replacing whatever
    /// it carried) and returns that id; its response, or why none will come, comes
    /// back as an [`Event`] carrying the same id.
    pub fn send_request(
        &mut self,
        now: Instant,
        request: impl Into<Command>,
    ) -> Result<String, CallError> {
        let mut request = request.into();
        self.check_outgoing(&request, MessageKind::Request)?;
        let message_id = self.fresh_message_id();
        let timeout = deadline(now, self.config.request_timeout);
        self.outgoing
            .insert(message_id.clone(), timeout, request.command_id())?;
        message_id.clone_into(request.message_id_mut());
        self.transmit(&request);
        Ok(message_id)
    }

    /// Answers the peer's request whose `messageId` the response carries.
    pub fn respond(&mut self, response: impl Into<Command>) -> Result<(), CallError> {
        let response = response.into();
        self.check_outgoing(&response, MessageKind::Response)?;
        let message_id = response.message_id();
        let Some(&expected) = self.incoming.get(message_id) else {
            return Err(CallError::UnknownRequest(message_id.to_owned()));
        };
        if expected != response.command_id() {
            return Err(CallError::WrongResponse {
                message_id: message_id.to_owned(),
                expected,
                found: response.command_id(),
            });
        }
        self.incoming.remove(message_id);
        self.transmit(&response);
        Ok(())
    }

    /// Sends `event` with a fresh `messageId`, which it returns.
    pub fn send_event(&mut self, event: impl Into<Command>) -> Result<String, CallError> {
        let mut event = event.into();
        self.check_outgoing(&event, MessageKind::Event)?;
        let message_id = self.fresh_message_id();
        message_id.clone_into(event.message_id_mut());
        self.transmit(&event);
        Ok(message_id)
    }

    /// Records a command this side sent without this machine, as a monitor of a
    /// connection does (`wirescope proxy` keeps one machine per side and feeds
    /// each what the other side sends): a request then awaits its response under
    /// its `messageId`, with the request timeout; a response settles the peer's
    /// request it answers, if that is still unanswered here (this machine may
    /// have refused it already); an event changes nothing.
    ///
    /// It takes the command's kind, `messageId` and command rather than a
    /// [`Command`], so a frame that breaks its schema but names them (see
    /// [`recover_ids`](crate::recover_ids)) is recorded too: the peer answers it.
    /// Nothing is sent and nothing is checked beyond the pending table: the
    /// receiving side checks the frame when it arrives.
    pub fn record_sent(
        &mut self,
        now: Instant,
        kind: MessageKind,
        message_id: &str,
        command: CommandId,
    ) -> Result<(), CallError> {
        if self.state != State::Open {
            return Err(CallError::NotOpen);
        }
        match kind {
            MessageKind::Request => {
                let timeout = deadline(now, self.config.request_timeout);
                self.outgoing
                    .insert(message_id.to_owned(), timeout, command)?;
            }
            MessageKind::Response => {
                self.incoming.remove(message_id);
            }
            MessageKind::Event => {}
        }
        Ok(())
    }

    /// Closes the connection with `close` (1000 when all is well, 1008 with a
    /// short reason when something went wrong).
    pub fn close(&mut self, close: Close) {
        if self.state == State::Open {
            self.shut(close);
        }
    }

    /// Whether this side may send `command` as a `kind` now.
    fn check_outgoing(&self, command: &Command, kind: MessageKind) -> Result<(), CallError> {
        if self.state != State::Open {
            return Err(CallError::NotOpen);
        }
        let meta = command.meta();
        if meta.kind != kind {
            return Err(CallError::WrongKind {
                expected: kind,
                found: meta.kind,
            });
        }
        if meta.source != self.config.local || meta.target != self.config.peer {
            return Err(CallError::WrongRole {
                command: meta.id,
                kind,
                local: self.config.local,
                peer: self.config.peer,
            });
        }
        command.validate()?;
        Ok(())
    }

    fn fresh_message_id(&mut self) -> String {
        let bytes: [u8; 16] = self.rng.random();
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .hyphenated()
            .to_string()
    }

    fn transmit(&mut self, command: &Command) {
        self.outbox.transmit(Payload::Text(encode(command)));
    }

    /// Answers the peer's request `message_id` with a generic failure.
    fn fail(
        &mut self,
        message_id: &str,
        command_id: &str,
        reason: GenericReason,
        details: Option<&str>,
    ) {
        let frame = encode_generic_failure(message_id, command_id, reason, details);
        self.outbox.transmit(Payload::Text(frame));
    }

    /// Whether the peer may send the command `meta` describes.
    fn authorize(&self, meta: &Meta) -> Result<(), InputError> {
        if meta.source != self.config.peer || meta.target != self.config.local {
            return Err(InputError::WrongRole {
                command: meta.id,
                kind: meta.kind,
                peer: self.config.peer,
            });
        }
        if self.config.peer == Role::Server {
            return Ok(());
        }
        let granted = &self.config.granted_scopes;
        match meta
            .scopes
            .iter()
            .find(|scope| !granted.iter().any(|g| g == *scope))
        {
            Some(scope) => Err(InputError::MissingScope {
                command: meta.id,
                kind: meta.kind,
                scope,
            }),
            None => Ok(()),
        }
    }

    fn on_frame(&mut self, frame: &[u8]) -> Result<(), InputError> {
        match decode_with(frame, &self.config.limits) {
            Ok(command) => self.on_command(command),
            Err(error) => self.on_undecodable(frame, error),
        }
    }

    fn on_command(&mut self, command: Command) -> Result<(), InputError> {
        let meta = command.meta();
        match meta.kind {
            MessageKind::Request => {
                self.admit_request(command.message_id(), meta)?;
                self.outbox.event(Event::Request(command));
            }
            MessageKind::Response => {
                self.take_pending(command.message_id(), meta.id.as_str())?;
                self.outbox.event(Event::Response(command));
            }
            MessageKind::Event => {
                self.authorize(meta)?;
                self.outbox.event(Event::Notification(command));
            }
        }
        Ok(())
    }

    /// Records the peer's valid request as awaiting the application's answer, or
    /// answers it with the failure that refuses it.
    fn admit_request(&mut self, message_id: &str, meta: &Meta) -> Result<(), InputError> {
        if self.incoming.contains_key(message_id) {
            return Err(InputError::DuplicateMessageId(message_id.to_owned()));
        }
        if let Err(error) = self.authorize(meta) {
            let details = error.to_string();
            self.fail(
                message_id,
                meta.id.as_str(),
                GenericReason::Unauthorized,
                Some(&details),
            );
            return Err(error);
        }
        let max = self.config.limits.max_pending;
        if self.incoming.len() >= max {
            let error = InputError::TooManyRequests { max };
            let details = error.to_string();
            self.fail(
                message_id,
                meta.id.as_str(),
                GenericReason::InternalError,
                Some(&details),
            );
            return Err(error);
        }
        self.incoming.insert(message_id.to_owned(), meta.id);
        Ok(())
    }

    /// Takes out the request a response answers, checking it is for the same
    /// command.
    fn take_pending(
        &mut self,
        message_id: &str,
        command_id: &str,
    ) -> Result<CommandId, InputError> {
        let Some(&expected) = self.outgoing.get(message_id) else {
            if let Some(at) = self.timed_out.iter().position(|id| id == message_id) {
                self.timed_out.remove(at);
                return Err(InputError::LateResponse {
                    message_id: message_id.to_owned(),
                });
            }
            return Err(InputError::UnmatchedResponse {
                message_id: message_id.to_owned(),
            });
        };
        if expected.as_str() != command_id {
            return Err(InputError::MismatchedResponse {
                message_id: message_id.to_owned(),
                expected,
                found: command_id.to_owned(),
            });
        }
        self.outgoing.remove(message_id);
        Ok(expected)
    }

    /// A frame that did not decode: answered, dropped or closed on, depending on
    /// how much of its envelope can be read.
    fn on_undecodable(&mut self, frame: &[u8], error: DecodeError) -> Result<(), InputError> {
        if matches!(
            error,
            DecodeError::Limit(_) | DecodeError::NotJson(_) | DecodeError::NotObject { .. }
        ) {
            return Err(InputError::Malformed(error));
        }
        let ids = recover_ids(frame);
        let command = ids.command();
        let (Some(kind), Some(message_id)) = (ids.kind, ids.message_id) else {
            return Err(InputError::Malformed(error));
        };
        match kind {
            MessageKind::Request => {
                // A response needs both ids; without a commandId there is no
                // answering.
                let Some(command_id) = ids.command_id else {
                    return Err(InputError::Malformed(error));
                };
                if self.incoming.contains_key(&message_id) {
                    return Err(InputError::DuplicateMessageId(message_id));
                }
                let Some(command) = command else {
                    self.fail(
                        &message_id,
                        &command_id,
                        GenericReason::CommandUnimplemented,
                        None,
                    );
                    return Err(InputError::UnknownCommand { command_id, kind });
                };
                // Refuse the unauthorized before telling them what their request
                // lacks.
                if let Some(meta) = meta(command, kind)
                    && let Err(refusal) = self.authorize(meta)
                {
                    let details = refusal.to_string();
                    self.fail(
                        &message_id,
                        &command_id,
                        GenericReason::Unauthorized,
                        Some(&details),
                    );
                    return Err(refusal);
                }
                let details = error.to_string();
                self.fail(
                    &message_id,
                    &command_id,
                    GenericReason::InvalidRequest,
                    Some(&details),
                );
                Err(InputError::InvalidRequest(error))
            }
            MessageKind::Response => {
                let command_id = ids.command_id.unwrap_or_default();
                let command = self.take_pending(&message_id, &command_id)?;
                self.outbox.event(Event::RequestFailed {
                    message_id,
                    command,
                    reason: RequestFailure::InvalidResponse(error.clone()),
                });
                Err(InputError::InvalidResponse(error))
            }
            MessageKind::Event => match (command, ids.command_id) {
                (Some(command), _) => {
                    if let Some(meta) = meta(command, kind) {
                        self.authorize(meta)?;
                    }
                    Err(InputError::InvalidEvent(error))
                }
                (None, Some(command_id)) => Err(InputError::UnknownCommand { command_id, kind }),
                (None, None) => Err(InputError::Malformed(error)),
            },
        }
    }

    /// Closes the connection from this side.
    fn shut(&mut self, close: Close) {
        self.outbox.close(close.clone());
        self.end(Disconnect::Local(close));
    }

    /// The connection is over: every request in flight fails, the peer's
    /// unanswered requests are forgotten, and the application hears why.
    fn end(&mut self, disconnect: Disconnect) {
        self.state = State::Closed;
        if let Some(keepalive) = &mut self.keepalive {
            keepalive.stop();
        }
        for (message_id, command) in self.outgoing.drain() {
            self.outbox.event(Event::RequestFailed {
                message_id,
                command,
                reason: RequestFailure::ConnectionLost,
            });
        }
        self.incoming.clear();
        self.timed_out.clear();
        self.outbox.event(Event::Disconnected(disconnect));
    }

    /// Remembers a timed-out request, forgetting the oldest beyond the limit.
    fn remember_timed_out(&mut self, message_id: String) {
        if self.timed_out.len() >= self.config.limits.max_pending {
            self.timed_out.pop_front();
        }
        self.timed_out.push_back(message_id);
    }
}

impl Machine for Connection {
    type Event = Event;
    type Error = InputError;

    fn handle_input(&mut self, now: Instant, input: Input<'_>) -> Result<(), InputError> {
        match input {
            Input::Opened { .. } => {
                if self.state != State::Idle {
                    return Err(InputError::AlreadyOpen);
                }
                self.state = State::Open;
                if let Some(keepalive) = &mut self.keepalive {
                    keepalive.start(now, &mut self.rng);
                }
                Ok(())
            }
            Input::Received { data, .. } => {
                if self.state != State::Open {
                    return Err(InputError::NotOpen);
                }
                let result = match data {
                    Data::Text(text) => self.on_frame(text.as_bytes()),
                    Data::Binary(_) => Err(InputError::BinaryFrame),
                    Data::Pong(payload) => {
                        if let Some(keepalive) = &mut self.keepalive {
                            keepalive.on_pong(payload);
                        }
                        Ok(())
                    }
                };
                result.inspect_err(|error| {
                    if let Some(close) = error.close() {
                        self.shut(close);
                    }
                })
            }
            Input::Closed { close, .. } => {
                if self.state != State::Open {
                    return Err(InputError::NotOpen);
                }
                self.end(Disconnect::Remote(close));
                Ok(())
            }
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        if self.state != State::Open {
            return;
        }
        if let Some(keepalive) = &mut self.keepalive
            && keepalive.next_at().is_some_and(|at| at <= now)
        {
            match keepalive.fire(now, &mut self.rng) {
                Ok(payload) => self.outbox.transmit(Payload::Ping(payload)),
                Err(_) => {
                    self.shut(Close::new(
                        proto_core::close_code::POLICY_VIOLATION,
                        "ping timeout",
                    ));
                    return;
                }
            }
        }
        while let Some((message_id, command)) = self.outgoing.pop_expired(now) {
            self.remember_timed_out(message_id.clone());
            self.outbox.event(Event::RequestFailed {
                message_id,
                command,
                reason: RequestFailure::TimedOut,
            });
        }
    }

    fn poll_output(&mut self) -> Option<Output<Event>> {
        self.outbox.pop()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        let ping = self.keepalive.as_ref().and_then(Keepalive::next_at);
        match (ping, self.outgoing.next_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}
