//! The node side of one client connection.

use std::time::{Duration, Instant};

use bytes::Bytes;
use proto_core::{Close, Data, Input, Machine, Output, close_code, deadline};

use crate::body::{Body, Forward, Forwarded, GetNodeKey, HandshakeResponse, NodeKey};
use crate::error::{BAD_REQUEST, CallError, DecodeError, InputError, Refusal};
use crate::event::{Disconnect, NodeEvent, Reply, RequestFailure, RequestId};
use crate::frame::{Frame, FrameKind, decode, type_node_request};
use crate::link::Link;
use crate::raw::{RawBuf, RawValue};
use crate::request_type::{NodeRequestType, SignIn};
use crate::version::{PROTOCOL_VERSION, check_version, compatible};

/// How a [`Node`] runs a connection.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// The protocol version the node speaks, sent in HANDSHAKE responses.
    pub version: String,
    /// How long after the open the HANDSHAKE may come; the spec says 3 s.
    pub handshake_timeout: Duration,
    /// How long a request the node sends waits for the client's response.
    pub request_timeout: Duration,
    /// The draft's root `ver` to put in every frame, for peers of the draft;
    /// `None` for the latest revision.
    pub root_version: Option<String>,
    /// The `err` the node answers a request it refuses with. The spec defines no
    /// error type yet; the default is a msgpack string of [`Refusal::message`].
    pub refusal: fn(&Refusal) -> RawBuf,
}

impl NodeConfig {
    /// Version [`PROTOCOL_VERSION`], 3 s to HANDSHAKE, 30 s request timeout,
    /// no root `ver`, refusals as strings.
    pub fn new() -> Self {
        NodeConfig {
            version: PROTOCOL_VERSION.to_owned(),
            handshake_timeout: Duration::from_secs(3),
            request_timeout: Duration::from_secs(30),
            root_version: None,
            refusal: |refusal| RawBuf::string(&refusal.message()),
        }
    }
}

impl Default for NodeConfig {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// The transport is not up yet.
    Idle,
    /// Up; only HANDSHAKE is acceptable, until the deadline.
    AwaitingHandshake { deadline: Instant },
    /// Handshake done and compatible.
    Open,
    /// Over.
    Closed,
}

/// The node side of one connection: demands HANDSHAKE within 3 s, enforces which
/// requests need a sign-in, hands GET_NODE_KEY and FORWARD to the application with
/// what to fetch, carries the other requests and events raw, and sends its own
/// requests and events to the client.
///
/// Create one per accepted connection and feed it [`Input::opened`] first. The
/// application reports a successful SIGN_IN with [`Node::set_signed_in`].
#[derive(Debug)]
pub struct Node {
    config: NodeConfig,
    state: State,
    signed_in: bool,
    link: Link<NodeEvent>,
}

impl Node {
    /// A node for one connection, not yet open.
    ///
    /// `config.version` and `config.root_version` must be ASCII of at most 64
    /// bytes; longer or other ones are refused with [`CallError::Invalid`].
    pub fn new(config: NodeConfig) -> Result<Self, CallError> {
        check_version(&config.version)?;
        if let Some(ver) = &config.root_version {
            check_version(ver)?;
        }
        Ok(Node {
            link: Link::new(config.root_version.clone()),
            config,
            state: State::Idle,
            signed_in: false,
        })
    }

    /// Whether the handshake succeeded and the connection is open.
    pub fn is_open(&self) -> bool {
        self.state == State::Open
    }

    /// Whether the connection is over.
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// Whether the application reported the client signed in.
    pub fn is_signed_in(&self) -> bool {
        self.signed_in
    }

    /// Records whether the client is signed in (after the application accepted a
    /// SIGN_IN, or signed it out). From then on REGISTER and SIGN_IN are refused,
    /// and GET_NODE_KEY and FORWARD allowed; the other way round before.
    pub fn set_signed_in(&mut self, signed_in: bool) {
        self.signed_in = signed_in;
    }

    /// Answers the client's request `id` (handed over as [`NodeEvent::Request`])
    /// with `body` (`None` leaves it out).
    pub fn respond(&mut self, id: u8, body: Option<&RawBuf>) -> Result<(), CallError> {
        let body = body_of(body)?;
        let typed = [NodeRequestType::GET_NODE_KEY.0, NodeRequestType::FORWARD.0];
        self.link.answer(
            id,
            |reqt| !typed.contains(&reqt),
            FrameKind::Response { body },
        )
    }

    /// Answers the client's request `id`, whatever its type, with the error `err`.
    pub fn respond_error(&mut self, id: u8, err: &RawBuf) -> Result<(), CallError> {
        self.link.answer_error(id, err.as_raw())
    }

    /// Answers GET_NODE_KEY `id` with the key fetched (at most 8192 bytes).
    pub fn answer_node_key(&mut self, id: u8, key: &[u8]) -> Result<(), CallError> {
        NodeKey::check(key)?;
        let body = Some(Body::NodeKey(NodeKey { key }));
        self.link.answer(
            id,
            |reqt| reqt == NodeRequestType::GET_NODE_KEY.0,
            FrameKind::Response { body },
        )
    }

    /// Answers FORWARD `id` (sent with `wait: true`) with the recipient's response
    /// (at most 2 MB).
    pub fn answer_forward(&mut self, id: u8, resp: &[u8]) -> Result<(), CallError> {
        Forwarded::check(resp)?;
        let body = Some(Body::Forwarded(Forwarded { resp }));
        self.link.answer(
            id,
            |reqt| reqt == NodeRequestType::FORWARD.0,
            FrameKind::Response { body },
        )
    }

    /// Sends the client a request of type `reqt` (a CNClientRequestType, at most
    /// 0x7f); its answer or failure comes back as an event with the returned id.
    pub fn send_request(
        &mut self,
        now: Instant,
        reqt: u8,
        body: Option<&RawBuf>,
    ) -> Result<RequestId, CallError> {
        self.require_open()?;
        check_reqt(reqt)?;
        let body = body_of(body)?;
        let id = self
            .link
            .request(now, self.config.request_timeout, reqt, body)?;
        Ok(RequestId(id))
    }

    /// Sends the client an event of type `reqt` (a CNNodeEventType, at most 0x7f).
    pub fn send_event(&mut self, reqt: u8, body: Option<&RawBuf>) -> Result<(), CallError> {
        self.require_open()?;
        check_reqt(reqt)?;
        let body = body_of(body)?;
        self.link.send(0, FrameKind::Event { reqt, body });
        Ok(())
    }

    /// Records `frame` as sent by this node without this machine, as a monitor
    /// of a connection does (`wirescope proxy` keeps a node and a client machine
    /// and feeds each what the other side sends): a request then awaits the
    /// client's response, with the request timeout; a response settles the
    /// client's request it answers and gives that request's type, `None` when no
    /// request with its id is unanswered here (this machine refused it already);
    /// an event changes nothing.
    ///
    /// Nothing is sent. A request or event needs the handshake done
    /// ([`CallError::NotReady`]); a request's id must not await a response
    /// already ([`CallError::Pending`]). The client side checks the rest when the
    /// frame arrives.
    pub fn record_sent(
        &mut self,
        now: Instant,
        frame: &Frame<'_>,
    ) -> Result<Option<NodeRequestType>, CallError> {
        if !matches!(
            frame.kind,
            FrameKind::Response { .. } | FrameKind::Error { .. }
        ) {
            self.require_open()?;
        }
        let reqt = self
            .link
            .record_sent(now, self.config.request_timeout, frame)?;
        Ok(reqt.map(NodeRequestType))
    }

    /// Closes the connection with `close`.
    pub fn close(&mut self, close: Close) {
        if matches!(self.state, State::AwaitingHandshake { .. } | State::Open) {
            self.shut(close);
        }
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
        self.link.close(close.clone());
        self.fail_all();
        self.link
            .emit(NodeEvent::Disconnected(Disconnect::Local(close)));
    }

    fn fail_all(&mut self) {
        for id in self.link.end() {
            self.link.emit(NodeEvent::RequestFailed {
                id: RequestId(id),
                reason: RequestFailure::ConnectionLost,
            });
        }
    }

    /// Answers the client's request `id` with the configured refusal.
    fn refuse(&mut self, id: u8, refusal: Refusal) -> InputError {
        let err = (self.config.refusal)(&refusal);
        self.link.send(id, FrameKind::Error { err: err.as_raw() });
        InputError::Refused(refusal)
    }

    fn on_frame(&mut self, bytes: &[u8]) -> Result<(), InputError> {
        let frame = decode(bytes)?;
        match self.state {
            State::AwaitingHandshake { .. } => self.on_handshake(frame),
            _ => self.on_open(frame),
        }
    }

    fn on_handshake(&mut self, frame: Frame<'_>) -> Result<(), InputError> {
        let FrameKind::Request { reqt: 0, body } = frame.kind else {
            return Err(InputError::HandshakeFirst);
        };
        let handshake = match type_node_request(NodeRequestType::HANDSHAKE, body) {
            Ok(Some(Body::Handshake(handshake))) => handshake,
            Ok(_) => return Err(InputError::HandshakeFirst),
            Err(error) => return Err(self.refuse(frame.id, Refusal::BadBody(error))),
        };
        let comp = compatible(handshake.ver, &self.config.version);
        let body = HandshakeResponse {
            ver: &self.config.version,
            comp,
        };
        let body = Some(Body::HandshakeResponse(body));
        self.link.send(frame.id, FrameKind::Response { body });
        self.link.emit(NodeEvent::Handshake {
            client_version: handshake.ver.to_owned(),
            compatible: comp,
        });
        if comp {
            self.state = State::Open;
        } else {
            let reason = format!(
                "client version {} is incompatible with {}",
                handshake.ver, self.config.version
            );
            self.shut(Close::new(close_code::NORMAL, reason));
        }
        Ok(())
    }

    fn on_open(&mut self, frame: Frame<'_>) -> Result<(), InputError> {
        match frame.kind {
            FrameKind::Request { reqt, body } => self.on_request(frame.id, reqt, body),
            FrameKind::Response { body } => {
                if self.link.answered(frame.id)?.is_some() {
                    let body = body.map(|body| raw_of(body).to_buf());
                    self.link.emit(NodeEvent::Response {
                        id: RequestId(frame.id),
                        reply: Reply::Body(body),
                    });
                }
                Ok(())
            }
            FrameKind::Error { err } => {
                if self.link.answered(frame.id)?.is_some() {
                    self.link.emit(NodeEvent::Response {
                        id: RequestId(frame.id),
                        reply: Reply::Error(err.to_buf()),
                    });
                }
                Ok(())
            }
            FrameKind::Event { reqt, body } => {
                self.link.emit(NodeEvent::Event {
                    reqt,
                    body: body.map(|body| raw_of(body).to_buf()),
                });
                Ok(())
            }
        }
    }

    fn on_request(&mut self, id: u8, reqt: u8, body: Option<Body<'_>>) -> Result<(), InputError> {
        if self.link.is_received(id) {
            return Err(InputError::DuplicateId(id));
        }
        let reqt = NodeRequestType(reqt);
        if reqt == NodeRequestType::HANDSHAKE {
            return Err(self.refuse(id, Refusal::RepeatedHandshake));
        }
        match (reqt.sign_in(), self.signed_in) {
            (SignIn::Required, false) => return Err(self.refuse(id, Refusal::SignInRequired(reqt))),
            (SignIn::Forbidden, true) => {
                return Err(self.refuse(id, Refusal::AlreadySignedIn(reqt)));
            }
            _ => {}
        }
        let body = match type_node_request(reqt, body) {
            Ok(body) => body,
            Err(error) => return Err(self.refuse(id, Refusal::BadBody(error))),
        };
        match body {
            Some(Body::GetNodeKey(GetNodeKey { node })) => {
                if !crate::body::is_domain_name(node) {
                    return Err(self.refuse(id, Refusal::BadNodeName));
                }
                self.link.received(id, reqt.0)?;
                self.link.emit(NodeEvent::FetchNodeKey {
                    id,
                    node: node.to_owned(),
                    url: format!("https://{node}/api/public_key"),
                });
            }
            Some(Body::Forward(Forward { node, wait, msg })) => {
                if !crate::body::is_domain_name(node) {
                    return Err(self.refuse(id, Refusal::BadNodeName));
                }
                if wait {
                    self.link.received(id, reqt.0)?;
                } else {
                    // Nothing to wait for: the answer is `nil` at once.
                    let body = Some(Body::NIL);
                    self.link.send(id, FrameKind::Response { body });
                }
                self.link.emit(NodeEvent::Forward {
                    id,
                    node: node.to_owned(),
                    url: format!("https://{node}/api/forward"),
                    wait,
                    msg: Bytes::copy_from_slice(msg),
                });
            }
            body => {
                self.link.received(id, reqt.0)?;
                self.link.emit(NodeEvent::Request {
                    id,
                    reqt,
                    body: body.map(|body| raw_of(body).to_buf()),
                });
            }
        }
        Ok(())
    }
}

/// The raw value of a body the root decoder produced (always raw).
fn raw_of(body: Body<'_>) -> RawValue<'_> {
    match body {
        Body::Raw(raw) => raw,
        _ => RawValue::NIL,
    }
}

/// A body the application gives: nil or a map.
pub(crate) fn body_of(body: Option<&RawBuf>) -> Result<Option<Body<'_>>, CallError> {
    body.map(|body| body.check_body().map(Body::Raw))
        .transpose()
        .map_err(CallError::Invalid)
}

pub(crate) fn check_reqt(reqt: u8) -> Result<(), CallError> {
    if reqt > 0x7f {
        return Err(CallError::Invalid(DecodeError::IntegerOutOfRange {
            field: crate::error::Field::Reqt,
            value: reqt.into(),
        }));
    }
    Ok(())
}

impl Machine for Node {
    type Event = NodeEvent;
    type Error = InputError;

    fn handle_input(&mut self, now: Instant, input: Input<'_>) -> Result<(), InputError> {
        match input {
            Input::Opened { .. } => {
                if self.state != State::Idle {
                    return Err(InputError::AlreadyOpen);
                }
                self.state = State::AwaitingHandshake {
                    deadline: deadline(now, self.config.handshake_timeout),
                };
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
                self.fail_all();
                self.link
                    .emit(NodeEvent::Disconnected(Disconnect::Remote(close)));
                Ok(())
            }
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        if let State::AwaitingHandshake { deadline } = self.state {
            if deadline <= now {
                let reason = format!(
                    "{BAD_REQUEST}: no HANDSHAKE within {} ms",
                    self.config.handshake_timeout.as_millis()
                );
                self.shut(Close::new(close_code::POLICY_VIOLATION, reason));
            }
            return;
        }
        while let Some((id, _)) = self.link.pop_expired(now) {
            self.link.emit(NodeEvent::RequestFailed {
                id: RequestId(id),
                reason: RequestFailure::TimedOut,
            });
        }
    }

    fn poll_output(&mut self) -> Option<Output<NodeEvent>> {
        self.link.poll_output()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            State::AwaitingHandshake { deadline } => Some(deadline),
            State::Open => self.link.next_deadline(),
            State::Idle | State::Closed => None,
        }
    }
}
