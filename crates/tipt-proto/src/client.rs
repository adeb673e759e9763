//! The client side of one connection to a node.

use std::time::{Duration, Instant};

use bytes::Bytes;
use proto_core::{Close, Data, Input, Machine, Output, close_code, deadline};

use crate::body::{
    Body, Forward, Forwarded, GetNodeKey, Handshake, HandshakeResponse, MAX_NODE_LEN,
    MAX_PAYLOAD_LEN, NodeKey, check_len, is_domain_name,
};
use crate::error::{CallError, DecodeError, Field, InputError};
use crate::event::{ClientEvent, Disconnect, Reply, RequestFailure, RequestId};
use crate::frame::{Frame, FrameKind, decode};
use crate::link::Link;
use crate::node::{body_of, check_reqt};
use crate::raw::{RawBuf, RawValue};
use crate::request_type::NodeRequestType;
use crate::version::{PROTOCOL_VERSION, check_version};

/// How a [`Client`] behaves.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The protocol version sent in HANDSHAKE.
    pub version: String,
    /// How long the HANDSHAKE response may take.
    pub handshake_timeout: Duration,
    /// How long any other request waits for its response.
    pub request_timeout: Duration,
    /// How often to send a WebSocket ping, so NAT routers keep the connection;
    /// the spec says every five minutes.
    pub ping_interval: Duration,
    /// The draft's root `ver` to put in every frame, for nodes of the draft;
    /// `None` for the latest revision.
    pub root_version: Option<String>,
}

impl ClientConfig {
    /// Version [`PROTOCOL_VERSION`], 10 s for the HANDSHAKE, 30 s per request, a
    /// ping every 5 minutes, no root `ver`.
    pub fn new() -> Self {
        ClientConfig {
            version: PROTOCOL_VERSION.to_owned(),
            handshake_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            ping_interval: Duration::from_secs(5 * 60),
            root_version: None,
        }
    }
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// The transport is not up yet.
    Idle,
    /// HANDSHAKE sent with this id; nothing else may be sent yet.
    Handshaking { id: u8 },
    /// The node accepted the version.
    Open,
    /// Over.
    Closed,
}

/// The client side of one connection: sends HANDSHAKE as soon as the transport is
/// up, refuses every other request until the node calls it compatible (and closes
/// if it does not), correlates responses by their `u8` id with a timeout each,
/// hands the node's requests and events to the application, and pings every five
/// minutes.
///
/// One `Client` serves one connection; make a new one to connect again.
#[derive(Debug)]
pub struct Client {
    config: ClientConfig,
    state: State,
    next_ping: Option<Instant>,
    link: Link<ClientEvent>,
}

impl Client {
    /// A client for one connection, not yet open.
    ///
    /// `config.version` and `config.root_version` must be ASCII of at most 64
    /// bytes; others are refused with [`CallError::Invalid`].
    pub fn new(config: ClientConfig) -> Result<Self, CallError> {
        check_version(&config.version)?;
        if let Some(ver) = &config.root_version {
            check_version(ver)?;
        }
        Ok(Client {
            link: Link::new(config.root_version.clone()),
            config,
            state: State::Idle,
            next_ping: None,
        })
    }

    /// Whether the node accepted the HANDSHAKE and the connection is open.
    pub fn is_open(&self) -> bool {
        self.state == State::Open
    }

    /// Whether the connection is over.
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// Asks for the OpenPGP key of `node` (a domain name of at most 500 bytes).
    pub fn get_node_key(&mut self, now: Instant, node: &str) -> Result<RequestId, CallError> {
        check_node(node)?;
        let body = Body::GetNodeKey(GetNodeKey { node });
        self.request(now, NodeRequestType::GET_NODE_KEY, Some(body))
    }

    /// Asks the node to forward `msg` (at most 2 MB) to `node`; with `wait` the
    /// answer carries the recipient's response.
    pub fn forward(
        &mut self,
        now: Instant,
        node: &str,
        wait: bool,
        msg: &[u8],
    ) -> Result<RequestId, CallError> {
        check_node(node)?;
        check_len(Field::Msg, msg.len(), MAX_PAYLOAD_LEN)?;
        let body = Body::Forward(Forward { node, wait, msg });
        self.request(now, NodeRequestType::FORWARD, Some(body))
    }

    /// Sends a request whose body the spec does not define: REGISTER, SIGN_IN,
    /// GET_INFO, or a later revision's type (at most 0x7f). HANDSHAKE is the
    /// client's own, GET_NODE_KEY and FORWARD have their methods.
    pub fn send_request(
        &mut self,
        now: Instant,
        reqt: NodeRequestType,
        body: Option<&RawBuf>,
    ) -> Result<RequestId, CallError> {
        check_reqt(reqt.0)?;
        let typed = [
            NodeRequestType::HANDSHAKE,
            NodeRequestType::GET_NODE_KEY,
            NodeRequestType::FORWARD,
        ];
        if typed.contains(&reqt) {
            return Err(CallError::TypedRequest(reqt));
        }
        let body = body_of(body)?;
        self.request(now, reqt, body)
    }

    /// Sends the node an event of type `reqt` (a CNClientEventType, at most 0x7f).
    pub fn send_event(&mut self, reqt: u8, body: Option<&RawBuf>) -> Result<(), CallError> {
        self.require_open()?;
        check_reqt(reqt)?;
        let body = body_of(body)?;
        self.link.send(0, FrameKind::Event { reqt, body });
        Ok(())
    }

    /// Answers the node's request `id` with `body` (`None` leaves it out).
    pub fn respond(&mut self, id: u8, body: Option<&RawBuf>) -> Result<(), CallError> {
        let body = body_of(body)?;
        self.link.answer(id, |_| true, FrameKind::Response { body })
    }

    /// Answers the node's request `id` with the error `err`.
    pub fn respond_error(&mut self, id: u8, err: &RawBuf) -> Result<(), CallError> {
        self.link.answer_error(id, err.as_raw())
    }

    /// Records `frame` as sent by this client without this machine, as a monitor
    /// of a connection does (`wirescope proxy` keeps a node and a client machine
    /// and feeds each what the other side sends): a request then awaits the
    /// node's response, with its timeout; a response settles the node's request
    /// it answers and gives its `reqt`, `None` when no request with its id is
    /// unanswered here; an event changes nothing.
    ///
    /// The HANDSHAKE recorded before the node has answered one replaces the one
    /// this machine made on open, so the node's answer is awaited under the id
    /// the client actually used. Nothing is sent. Any other request or event
    /// needs the node to have called the client compatible, as the client's own
    /// calls do ([`CallError::NotReady`]); a request's id must not await a
    /// response already ([`CallError::Pending`]). The node side checks the rest
    /// when the frame arrives.
    pub fn record_sent(
        &mut self,
        now: Instant,
        frame: &Frame<'_>,
    ) -> Result<Option<u8>, CallError> {
        match (self.state, frame.kind) {
            (State::Handshaking { id }, FrameKind::Request { reqt: 0, .. }) => {
                self.link.forget(id);
                self.link
                    .record_sent(now, self.config.handshake_timeout, frame)?;
                self.state = State::Handshaking { id: frame.id };
                Ok(None)
            }
            (_, FrameKind::Response { .. } | FrameKind::Error { .. }) => {
                self.link
                    .record_sent(now, self.config.request_timeout, frame)
            }
            _ => {
                self.require_open()?;
                self.link
                    .record_sent(now, self.config.request_timeout, frame)
            }
        }
    }

    /// Closes the connection with 1000.
    pub fn close(&mut self) {
        if matches!(self.state, State::Handshaking { .. } | State::Open) {
            self.shut(Close::new(close_code::NORMAL, "client closing"));
        }
    }

    fn request(
        &mut self,
        now: Instant,
        reqt: NodeRequestType,
        body: Option<Body<'_>>,
    ) -> Result<RequestId, CallError> {
        self.require_open()?;
        let id = self
            .link
            .request(now, self.config.request_timeout, reqt.0, body)?;
        Ok(RequestId(id))
    }

    fn require_open(&self) -> Result<(), CallError> {
        if self.state == State::Open {
            Ok(())
        } else {
            Err(CallError::NotReady)
        }
    }

    fn shut(&mut self, close: Close) {
        self.state = State::Closed;
        self.next_ping = None;
        self.link.close(close.clone());
        self.fail_all();
        self.link
            .emit(ClientEvent::Disconnected(Disconnect::Local(close)));
    }

    fn fail_all(&mut self) {
        for id in self.link.end() {
            self.link.emit(ClientEvent::RequestFailed {
                id: RequestId(id),
                reason: RequestFailure::ConnectionLost,
            });
        }
    }

    fn on_frame(&mut self, bytes: &[u8]) -> Result<(), InputError> {
        let frame = decode(bytes)?;
        match self.state {
            State::Handshaking { id } => self.on_handshake(id, frame),
            _ => self.on_open(frame),
        }
    }

    fn on_handshake(&mut self, id: u8, frame: Frame<'_>) -> Result<(), InputError> {
        let body = match frame.kind {
            FrameKind::Response { body } if frame.id == id => body,
            _ => return Err(InputError::ExpectedHandshakeResponse),
        };
        let raw = raw_of(body).ok_or(InputError::BadHandshakeResponse(
            DecodeError::MissingField(Field::Body),
        ))?;
        let answer = HandshakeResponse::decode(raw).map_err(InputError::BadHandshakeResponse)?;
        self.link.answered(id)?;
        self.link.emit(ClientEvent::Handshake {
            node_version: answer.ver.to_owned(),
            compatible: answer.comp,
        });
        if answer.comp {
            self.state = State::Open;
        } else {
            let reason = format!(
                "node version {} is incompatible with {}",
                answer.ver, self.config.version
            );
            self.shut(Close::new(close_code::NORMAL, reason));
        }
        Ok(())
    }

    fn on_open(&mut self, frame: Frame<'_>) -> Result<(), InputError> {
        match frame.kind {
            FrameKind::Request { reqt, body } => {
                self.link.received(frame.id, reqt)?;
                self.link.emit(ClientEvent::Request {
                    id: frame.id,
                    reqt,
                    body: raw_of(body).map(|raw| raw.to_buf()),
                });
            }
            FrameKind::Response { body } => {
                let Some(reqt) = self.link.answered(frame.id)? else {
                    return Ok(());
                };
                let reply = match typed_reply(NodeRequestType(reqt), body) {
                    Ok(reply) => reply,
                    Err(error) => {
                        self.link.emit(ClientEvent::RequestFailed {
                            id: RequestId(frame.id),
                            reason: RequestFailure::ConnectionLost,
                        });
                        return Err(InputError::Decode(error));
                    }
                };
                self.link.emit(ClientEvent::Response {
                    id: RequestId(frame.id),
                    reply,
                });
            }
            FrameKind::Error { err } => {
                if self.link.answered(frame.id)?.is_some() {
                    self.link.emit(ClientEvent::Response {
                        id: RequestId(frame.id),
                        reply: Reply::Error(err.to_buf()),
                    });
                }
            }
            FrameKind::Event { reqt, body } => {
                self.link.emit(ClientEvent::Event {
                    reqt,
                    body: raw_of(body).map(|raw| raw.to_buf()),
                });
            }
        }
        Ok(())
    }
}

/// The answer to a request of type `reqt`, typed where the spec defines it.
fn typed_reply(reqt: NodeRequestType, body: Option<Body<'_>>) -> Result<Reply, DecodeError> {
    let raw = raw_of(body);
    Ok(match reqt {
        NodeRequestType::GET_NODE_KEY => {
            let raw = raw.ok_or(DecodeError::MissingField(Field::Body))?;
            Reply::NodeKey(Bytes::copy_from_slice(NodeKey::decode(raw)?.key))
        }
        NodeRequestType::FORWARD => Reply::Forwarded(
            Forwarded::decode(raw)?.map(|forwarded| Bytes::copy_from_slice(forwarded.resp)),
        ),
        _ => Reply::Body(raw.map(|raw| raw.to_buf())),
    })
}

/// The raw value of a body the root decoder produced (always raw).
fn raw_of(body: Option<Body<'_>>) -> Option<RawValue<'_>> {
    match body {
        Some(Body::Raw(raw)) => Some(raw),
        _ => None,
    }
}

fn check_node(node: &str) -> Result<(), CallError> {
    check_len(Field::Node, node.len(), MAX_NODE_LEN)?;
    if !is_domain_name(node) {
        return Err(CallError::BadNodeName);
    }
    Ok(())
}

impl Machine for Client {
    type Event = ClientEvent;
    type Error = InputError;

    fn handle_input(&mut self, now: Instant, input: Input<'_>) -> Result<(), InputError> {
        match input {
            Input::Opened { .. } => {
                if self.state != State::Idle {
                    return Err(InputError::AlreadyOpen);
                }
                let body = Body::Handshake(Handshake {
                    ver: &self.config.version,
                });
                // The first request of a connection: the id space is empty.
                let id = self
                    .link
                    .request(
                        now,
                        self.config.handshake_timeout,
                        NodeRequestType::HANDSHAKE.0,
                        Some(body),
                    )
                    .unwrap_or(0);
                self.state = State::Handshaking { id };
                self.next_ping = Some(deadline(now, self.config.ping_interval));
                Ok(())
            }
            Input::Received { data, .. } => {
                if matches!(self.state, State::Idle | State::Closed) {
                    return Err(InputError::NotOpen);
                }
                let result = match data {
                    Data::Binary(bytes) => self.on_frame(bytes),
                    Data::Text(_) => Err(InputError::TextFrame),
                    Data::Pong(_) => Ok(()),
                };
                result.inspect_err(|error| {
                    if let Some(close) = error.close() {
                        self.shut(close);
                    }
                })
            }
            Input::Closed { close, .. } => {
                if matches!(self.state, State::Idle | State::Closed) {
                    return Err(InputError::NotOpen);
                }
                self.state = State::Closed;
                self.next_ping = None;
                self.fail_all();
                self.link
                    .emit(ClientEvent::Disconnected(Disconnect::Remote(close)));
                Ok(())
            }
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        while let Some((id, _)) = self.link.pop_expired(now) {
            if self.state == (State::Handshaking { id }) {
                let close = Close::new(
                    close_code::POLICY_VIOLATION,
                    "no HANDSHAKE response from the node",
                );
                self.shut(close);
                return;
            }
            self.link.emit(ClientEvent::RequestFailed {
                id: RequestId(id),
                reason: RequestFailure::TimedOut,
            });
        }
        if self.next_ping.is_some_and(|at| at <= now) {
            self.link.ping();
            self.next_ping = Some(deadline(now, self.config.ping_interval));
        }
    }

    fn poll_output(&mut self) -> Option<Output<ClientEvent>> {
        self.link.poll_output()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        match (self.next_ping, self.link.next_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}
