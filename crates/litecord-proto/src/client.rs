//! The client side of litebridge: one logical connection that survives reconnects.

use std::borrow::Cow;
use std::time::{Duration, Instant};

use proto_core::{
    Backoff, Close, Data, Input, Limits, Machine, Output, Secret, SeededRng, deadline, seeded_rng,
};

use crate::close_code;
use crate::codec::decode;
use crate::error::{CallError, InputError};
use crate::event::{Disconnect, Event, RequestId};
use crate::message::{HelloAck, Message};
use crate::raw::RawJson;
use crate::session::Session;

/// How a [`Client`] behaves.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The secret sent in HELLO_ACK.
    pub password: Secret,
    /// How long a request waits for its response.
    pub request_timeout: Duration,
    /// How long to wait for the server's HELLO once the transport is up.
    pub hello_timeout: Duration,
    /// The shortest wait before reconnecting; the specification asks for at least 1 s.
    pub reconnect_min: Duration,
    /// The longest wait before reconnecting, however many attempts failed.
    pub reconnect_max: Duration,
    /// Bounds on what the server sends.
    pub limits: Limits,
    /// Seed of the RNG that draws reconnect delays.
    pub seed: u64,
}

impl ClientConfig {
    /// A 5 s request timeout, 10 s to get HELLO, reconnects after 1 s growing to 60 s,
    /// default limits, seed 0.
    pub fn new(password: impl Into<Secret>) -> Self {
        ClientConfig {
            password: password.into(),
            request_timeout: Duration::from_secs(5),
            hello_timeout: Duration::from_secs(10),
            reconnect_min: Duration::from_secs(1),
            reconnect_max: Duration::from_secs(60),
            limits: Limits::default(),
            seed: 0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// No transport; waiting for the driver to open one (first time or after a
    /// reconnect delay).
    Disconnected,
    /// Transport up; waiting for HELLO until the deadline.
    AwaitingHello { deadline: Instant },
    /// HELLO_ACK sent; heartbeating.
    Ready {
        interval: Duration,
        next_heartbeat: Instant,
        /// The last HEARTBEAT has not been acknowledged yet.
        ack_outstanding: bool,
    },
    /// The application closed the client for good.
    Shutdown,
}

/// The client side: answers HELLO with the password, heartbeats, notices a missing
/// HEARTBEAT_ACK, carries requests, responses and dispatches, and after any failure
/// asks its driver to reconnect after a random, growing delay of at least
/// [`reconnect_min`](ClientConfig::reconnect_min).
///
/// Feed it [`Input::opened`] each time the transport comes up.
#[derive(Debug)]
pub struct Client {
    config: ClientConfig,
    state: State,
    /// Whether this connection has seen a HEARTBEAT_ACK yet.
    authenticated: bool,
    backoff: Backoff,
    rng: SeededRng,
    session: Session,
}

impl Client {
    /// A client with no connection yet.
    pub fn new(config: ClientConfig) -> Self {
        Client {
            backoff: Backoff::new(config.reconnect_min, config.reconnect_max),
            rng: seeded_rng(config.seed),
            session: Session::new(config.request_timeout, config.limits.max_pending),
            state: State::Disconnected,
            authenticated: false,
            config,
        }
    }

    /// Whether HELLO_ACK has been sent on the current connection, so requests and
    /// dispatches may be sent.
    pub fn is_ready(&self) -> bool {
        matches!(self.state, State::Ready { .. })
    }

    /// Whether the server has acknowledged a heartbeat on the current connection,
    /// proving the password was accepted.
    pub fn is_authenticated(&self) -> bool {
        self.is_ready() && self.authenticated
    }

    /// Sends a REQUEST with a fresh nonce; its RESPONSE or its failure comes back as
    /// an event with the returned id.
    pub fn send_request(
        &mut self,
        now: Instant,
        what: &str,
        args: Vec<RawJson<'_>>,
    ) -> Result<RequestId, CallError> {
        self.require_ready()?;
        self.session.send_request(now, what, args)
    }

    /// Sends a DISPATCH: a request with no response.
    pub fn dispatch(&mut self, what: &str, args: Vec<RawJson<'_>>) -> Result<(), CallError> {
        self.require_ready()?;
        self.session.dispatch(what, args);
        Ok(())
    }

    /// Answers the server's REQUEST that carried `nonce`.
    pub fn respond(&mut self, nonce: &RawJson<'_>, data: RawJson<'_>) -> Result<(), CallError> {
        self.require_ready()?;
        self.session.respond(nonce, data)
    }

    /// Closes the connection with 1000 and stops reconnecting.
    pub fn shutdown(&mut self) {
        if self.is_connected() {
            self.session
                .close(Close::new(close_code::NORMAL, "client shutting down"));
        }
        self.state = State::Shutdown;
    }

    fn is_connected(&self) -> bool {
        matches!(
            self.state,
            State::AwaitingHello { .. } | State::Ready { .. }
        )
    }

    fn require_ready(&self) -> Result<(), CallError> {
        if self.is_ready() {
            Ok(())
        } else {
            Err(CallError::NotReady)
        }
    }

    /// Ends the current connection — closing it first when this side decided — and
    /// schedules the next one.
    fn drop_connection(&mut self, now: Instant, disconnect: Disconnect) {
        match disconnect {
            Disconnect::Local(close) => self.session.close(close),
            remote => self.session.end(remote),
        }
        self.state = State::Disconnected;
        self.authenticated = false;
        let delay = self.backoff.next_delay(&mut self.rng);
        self.session.reconnect(deadline(now, delay));
    }

    /// Closes as `error` requires and reconnects later, then hands the error back.
    fn refuse(&mut self, now: Instant, error: InputError) -> InputError {
        if let Some(close) = error.close() {
            self.drop_connection(now, Disconnect::Local(close));
        }
        error
    }

    fn on_frame(&mut self, now: Instant, frame: &[u8]) -> Result<(), InputError> {
        let message = decode(frame, &self.config.limits)?;
        match (self.state, message) {
            (State::AwaitingHello { .. }, Message::Hello(hello)) => {
                let password = Cow::Borrowed(self.config.password.expose());
                self.session.send(&Message::HelloAck(HelloAck { password }));
                // Heartbeat at once: its ACK proves the password was accepted.
                self.session.send(&Message::Heartbeat);
                let interval = hello.hb_interval();
                self.state = State::Ready {
                    interval,
                    next_heartbeat: deadline(now, interval),
                    ack_outstanding: true,
                };
                Ok(())
            }
            (
                State::Ready {
                    interval,
                    next_heartbeat,
                    ..
                },
                Message::HeartbeatAck,
            ) => {
                self.state = State::Ready {
                    interval,
                    next_heartbeat,
                    ack_outstanding: false,
                };
                if !self.authenticated {
                    self.authenticated = true;
                    self.backoff.reset();
                    self.session.emit(Event::Authenticated);
                }
                Ok(())
            }
            (State::Ready { .. }, Message::Request(request)) => self.session.on_request(request),
            (State::Ready { .. }, Message::Response(response)) => {
                self.session.on_response(response)
            }
            // The specification has only clients dispatch; a server that does is
            // understood all the same.
            (State::Ready { .. }, Message::Dispatch(dispatch)) => {
                self.session.on_dispatch(dispatch);
                Ok(())
            }
            (_, message) => Err(InputError::UnexpectedOp(message.op())),
        }
    }
}

impl Machine for Client {
    type Event = Event;
    type Error = InputError;

    fn handle_input(&mut self, now: Instant, input: Input<'_>) -> Result<(), InputError> {
        match input {
            Input::Opened { .. } => {
                if self.state != State::Disconnected {
                    return Err(InputError::AlreadyOpen);
                }
                self.state = State::AwaitingHello {
                    deadline: deadline(now, self.config.hello_timeout),
                };
                Ok(())
            }
            Input::Received { data, .. } => {
                if !self.is_connected() {
                    return Err(InputError::NotOpen);
                }
                match data {
                    Data::Text(text) => self.on_frame(now, text.as_bytes()),
                    Data::Binary(bytes) => self.on_frame(now, bytes),
                    Data::Pong(_) => Ok(()),
                }
                .map_err(|error| self.refuse(now, error))
            }
            Input::Closed { close, .. } => {
                // While disconnected, a close reports a failed attempt to reconnect:
                // the next one is scheduled all the same.
                if self.state == State::Shutdown {
                    return Err(InputError::NotOpen);
                }
                self.drop_connection(now, Disconnect::Remote(close));
                Ok(())
            }
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        match self.state {
            State::AwaitingHello { deadline } if deadline <= now => {
                let close = Close::new(close_code::POLICY_VIOLATION, "no HELLO from the server");
                self.drop_connection(now, Disconnect::Local(close));
                return;
            }
            State::Ready {
                interval,
                next_heartbeat,
                ack_outstanding,
            } if next_heartbeat <= now => {
                if ack_outstanding {
                    let close = Close::new(
                        close_code::HEARTBEAT_TIMEOUT,
                        "no HEARTBEAT_ACK from the server",
                    );
                    self.drop_connection(now, Disconnect::Local(close));
                    return;
                }
                self.session.send(&Message::Heartbeat);
                self.state = State::Ready {
                    interval,
                    next_heartbeat: deadline(now, interval),
                    ack_outstanding: true,
                };
            }
            _ => {}
        }
        self.session.expire(now);
    }

    fn poll_output(&mut self) -> Option<Output<Event>> {
        self.session.poll_output()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        let state_timer = match self.state {
            State::AwaitingHello { deadline } => Some(deadline),
            State::Ready { next_heartbeat, .. } => Some(next_heartbeat),
            State::Disconnected | State::Shutdown => None,
        };
        match (state_timer, self.session.next_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}
