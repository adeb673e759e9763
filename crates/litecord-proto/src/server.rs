//! The server side of one litebridge connection.

use std::time::{Duration, Instant};

use proto_core::{Close, Data, Input, Limits, Machine, Output, Secret, deadline};

use crate::close_code;
use crate::codec::{HB_INTERVAL_MAX_MS, decode};
use crate::error::{CallError, InputError};
use crate::event::{Disconnect, Event, RequestId};
use crate::message::{Hello, Message, Op};
use crate::raw::RawJson;
use crate::session::Session;

/// How a [`Server`] runs its connections.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The secret clients must send in HELLO_ACK.
    pub password: Secret,
    /// The heartbeat interval announced in HELLO (whole milliseconds, at least 1).
    pub hb_interval: Duration,
    /// How late past the interval a heartbeat may be before the connection is closed
    /// with 4003.
    pub heartbeat_grace: Duration,
    /// How long a request sent to the client waits for its response.
    pub request_timeout: Duration,
    /// Bounds on what the client sends.
    pub limits: Limits,
}

impl ServerConfig {
    /// A 10 s heartbeat interval with 5 s of grace, a 5 s request timeout and default
    /// limits.
    pub fn new(password: impl Into<Secret>) -> Self {
        ServerConfig {
            password: password.into(),
            hb_interval: Duration::from_secs(10),
            heartbeat_grace: Duration::from_secs(5),
            request_timeout: Duration::from_secs(5),
            limits: Limits::default(),
        }
    }

    fn hb_interval_ms(&self) -> u64 {
        u64::try_from(self.hb_interval.as_millis())
            .unwrap_or(u64::MAX)
            .clamp(1, HB_INTERVAL_MAX_MS)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// The transport is not up yet.
    Idle,
    /// HELLO sent; only HELLO_ACK is acceptable.
    AwaitingHelloAck,
    /// The client proved it knows the password.
    Authenticated,
    /// The connection is over.
    Closed,
}

/// The server side of one connection: greets with HELLO, checks the password,
/// answers heartbeats and watches for their absence, and carries requests,
/// responses and dispatches in both directions.
///
/// Create one per accepted connection and feed it [`Input::opened`] first.
#[derive(Debug)]
pub struct Server {
    config: ServerConfig,
    state: State,
    /// When the connection dies unless a HELLO_ACK or HEARTBEAT arrives.
    heartbeat_deadline: Option<Instant>,
    session: Session,
}

impl Server {
    /// A server for one connection, not yet open.
    pub fn new(config: ServerConfig) -> Self {
        let session = Session::new(config.request_timeout, config.limits.max_pending);
        Server {
            config,
            state: State::Idle,
            heartbeat_deadline: None,
            session,
        }
    }

    /// Whether the client has authenticated and the connection is open.
    pub fn is_authenticated(&self) -> bool {
        self.state == State::Authenticated
    }

    /// Whether the connection is over.
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// Sends a REQUEST to the client (deployed litebridge servers do); its RESPONSE
    /// or its failure comes back as an event with the returned id.
    pub fn send_request(
        &mut self,
        now: Instant,
        what: &str,
        args: Vec<RawJson<'_>>,
    ) -> Result<RequestId, CallError> {
        self.require_authenticated()?;
        self.session.send_request(now, what, args)
    }

    /// Answers the client's REQUEST that carried `nonce`.
    pub fn respond(&mut self, nonce: &RawJson<'_>, data: RawJson<'_>) -> Result<(), CallError> {
        self.require_authenticated()?;
        self.session.respond(nonce, data)
    }

    /// Sends a DISPATCH to the client: a request with no response. The specification
    /// has only clients dispatch, but deployed clients handle a server's DISPATCH as
    /// they handle its REQUESTs.
    pub fn dispatch(&mut self, what: &str, args: Vec<RawJson<'_>>) -> Result<(), CallError> {
        self.require_authenticated()?;
        self.session.dispatch(what, args);
        Ok(())
    }

    /// Closes the connection with `code` and `reason`.
    pub fn close(&mut self, close: Close) {
        if matches!(self.state, State::AwaitingHelloAck | State::Authenticated) {
            self.shut(close);
        }
    }

    fn require_authenticated(&self) -> Result<(), CallError> {
        if self.state == State::Authenticated {
            Ok(())
        } else {
            Err(CallError::NotReady)
        }
    }

    fn shut(&mut self, close: Close) {
        self.state = State::Closed;
        self.heartbeat_deadline = None;
        self.session.close(close);
    }

    /// Closes the connection as `error` requires, then hands the error back.
    fn refuse(&mut self, error: InputError) -> InputError {
        if let Some(close) = error.close() {
            self.shut(close);
        }
        error
    }

    fn on_frame(&mut self, now: Instant, frame: &[u8]) -> Result<(), InputError> {
        let message = decode(frame, &self.config.limits)?;
        match (self.state, message) {
            (State::AwaitingHelloAck, Message::HelloAck(ack)) => {
                if !self.config.password.matches(ack.password.as_bytes()) {
                    return Err(InputError::AuthenticationFailed);
                }
                self.state = State::Authenticated;
                self.expect_heartbeat(now);
                self.session.emit(Event::Authenticated);
                Ok(())
            }
            (State::AwaitingHelloAck, message) => match message.op() {
                op @ (Op::Heartbeat | Op::Request | Op::Response | Op::Dispatch) => {
                    Err(InputError::NotAuthenticated(op))
                }
                op => Err(InputError::UnexpectedOp(op)),
            },
            (_, Message::Heartbeat) => {
                self.expect_heartbeat(now);
                self.session.send(&Message::HeartbeatAck);
                Ok(())
            }
            (_, Message::Request(request)) => self.session.on_request(request),
            (_, Message::Response(response)) => self.session.on_response(response),
            (_, Message::Dispatch(dispatch)) => {
                self.session.on_dispatch(dispatch);
                Ok(())
            }
            (_, message) => Err(InputError::UnexpectedOp(message.op())),
        }
    }

    fn expect_heartbeat(&mut self, now: Instant) {
        let allowance = self.config.hb_interval + self.config.heartbeat_grace;
        self.heartbeat_deadline = Some(deadline(now, allowance));
    }
}

impl Machine for Server {
    type Event = Event;
    type Error = InputError;

    fn handle_input(&mut self, now: Instant, input: Input<'_>) -> Result<(), InputError> {
        match input {
            Input::Opened { .. } => {
                if self.state != State::Idle {
                    return Err(InputError::AlreadyOpen);
                }
                self.state = State::AwaitingHelloAck;
                self.expect_heartbeat(now);
                let hello = Hello {
                    hb_interval_ms: self.config.hb_interval_ms(),
                };
                self.session.send(&Message::Hello(hello));
                Ok(())
            }
            Input::Received { data, .. } => {
                if matches!(self.state, State::Idle | State::Closed) {
                    return Err(InputError::NotOpen);
                }
                match data {
                    Data::Text(text) => self.on_frame(now, text.as_bytes()),
                    Data::Binary(bytes) => self.on_frame(now, bytes),
                    Data::Pong(_) => Ok(()),
                }
                .map_err(|error| self.refuse(error))
            }
            Input::Closed { close, .. } => {
                if matches!(self.state, State::Idle | State::Closed) {
                    return Err(InputError::NotOpen);
                }
                self.state = State::Closed;
                self.heartbeat_deadline = None;
                self.session.end(Disconnect::Remote(close));
                Ok(())
            }
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        if self.heartbeat_deadline.is_some_and(|at| at <= now) {
            self.shut(Close::new(
                close_code::HEARTBEAT_TIMEOUT,
                "heartbeat timeout",
            ));
            return;
        }
        self.session.expire(now);
    }

    fn poll_output(&mut self) -> Option<Output<Event>> {
        self.session.poll_output()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        match (self.heartbeat_deadline, self.session.next_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}
