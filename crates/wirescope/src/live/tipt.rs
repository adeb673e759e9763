//! Tipt's plug: the conversation checked by a node machine and a client machine,
//! and `serve` (over `wss`, with a certificate made on the spot) and `connect` on
//! them.
//!
//! The observer's [`Node`] receives the client's frames and its [`Client`] the
//! node's, so each frame meets the rules of the side it reaches. The node's
//! machine flags anything before HANDSHAKE, a HANDSHAKE later than its deadline
//! (3 s after the connection opened, as [`Observer::on_deadline`]), frames over
//! 2.1 MB, a root map that does not decode, a reused request id, a response to
//! no request of the node, and requests the sign-in rules refuse; the client's
//! machine flags a missing or bad HANDSHAKE response, a response to no request of
//! the client, and a node request reusing an id. What a side sends it records on
//! its own machine (`record_sent`), so the answers to it are matched and a
//! request before the node called the client compatible is refused as the
//! client's own call would be. A successful response to SIGN_IN signs the
//! node's machine in, as the node's application does. The node's machine speaks
//! version `--protocol-version` (1.0.0 by default) to judge the client's
//! HANDSHAKE. WebSocket pings do not reach the observer: the spec's ping every
//! five minutes is a "should" it cannot check.
//!
//! The proxy opens a conversation once the upstream connection is up, a little
//! after the node started its HANDSHAKE clock: a node that closes exactly at its
//! deadline can close a moment before the observer's passes, and then only its
//! close (`400: no HANDSHAKE …`) shows it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use proto_core::{Close, Input, Machine, Output, close_code};
use proto_tokio::{Driver, tls};
use serde_json::{Value, json};
use tipt_proto::{
    Body, Client, ClientConfig, ClientEvent, Forward, Forwarded, FrameKind, GetNodeKey, InputError,
    Node, NodeConfig, NodeEvent, NodeKey, NodeRequestType, RawBuf, RequestId, decode,
    decode_to_node,
};
use tokio::net::TcpListener;

use super::capture::unhex;
use super::console::{self, FramePrinter};
use super::ws_session::{self, Application, SharedPrinter, note, opened};
use super::{
    BoxFuture, Console, Direction, Failure, Frame, FrameData, LiveProtocol, Observation, Observer,
    PeerOptions, Wire,
};
use crate::tipt::{encode_value, frame_json, label, only_ws_path, tipt_ws};

/// Tipt, plugged into live traffic.
pub(crate) struct Tipt;

impl LiveProtocol for Tipt {
    const NAME: &'static str = "tipt";
    const WIRE: Wire = Wire::WebSocket;

    fn observer(options: &PeerOptions, start: Instant) -> Box<dyn Observer> {
        Box::new(TiptObserver::new(options, start))
    }

    fn serve(
        options: PeerOptions,
        listen: SocketAddr,
        console: Console,
    ) -> BoxFuture<Result<(), Failure>> {
        Box::pin(serve(options, listen, console))
    }

    fn connect(
        options: PeerOptions,
        target: String,
        console: Console,
    ) -> BoxFuture<Result<(), Failure>> {
        Box::pin(connect(options, target, console))
    }
}

/// Takes out what a machine queued (its own answers go nowhere), returning the
/// closes among it.
fn drain<M: Machine>(machine: &mut M) -> Vec<Close> {
    let mut closes = Vec::new();
    while let Some(output) = machine.poll_output() {
        if let Output::Close { close, .. } = output {
            closes.push(close);
        }
    }
    closes
}

/// The violation an input error is, if any: a frame after the machine closed is
/// no rule of the conversation broken.
fn reportable(error: InputError) -> Option<String> {
    match error {
        InputError::NotOpen | InputError::AlreadyOpen => None,
        error => Some(error.to_string()),
    }
}

/// A frame as its label and the JSON `encode` reads, or a bad frame and the
/// decoder's exact error; frames to the node have their bodies typed, as
/// `decode tipt` shows them.
pub(crate) fn render(bytes: &[u8], to_node: bool) -> (String, Result<Value, String>) {
    let decoded = if to_node {
        decode_to_node(bytes)
    } else {
        decode(bytes)
    };
    match decoded {
        Ok(frame) => (
            label(&frame, to_node),
            frame_json(&frame, to_node, None)
                .and_then(|text| serde_json::from_str(&text).map_err(|e| e.to_string())),
        ),
        Err(error) => (
            "(bad frame)".to_owned(),
            Err(format!("{error}  [{error:?}]")),
        ),
    }
}

/// The node's machine as the observer runs it: the spec's deadlines, and the
/// version given, if any.
fn node_config(options: &PeerOptions) -> NodeConfig {
    let mut config = NodeConfig::new();
    if let Some(version) = &options.version {
        config.version.clone_from(version);
    }
    config
}

/// One conversation, checked by a node machine and a client machine.
struct TiptObserver {
    /// The node's side: receives what the client sends. `None` only if no node
    /// machine could be made (a `--version` it refuses, and then the spec's).
    node: Option<Node>,
    /// The client's side: receives what the node sends.
    client: Option<Client>,
}

/// The machine if it still takes input.
fn live<M>(machine: &mut Option<M>, closed: impl Fn(&M) -> bool) -> Option<&mut M> {
    machine.as_mut().filter(|machine| !closed(machine))
}

impl TiptObserver {
    fn new(options: &PeerOptions, start: Instant) -> Self {
        let mut node = Node::new(node_config(options))
            .or_else(|_| Node::new(NodeConfig::new()))
            .ok();
        let mut client = Client::new(ClientConfig::new()).ok();
        // Fresh machines open without complaint; the client's own HANDSHAKE goes
        // nowhere and is replaced by the one the client sends.
        if let Some(node) = &mut node {
            let _ = node.handle_input(start, Input::opened());
        }
        if let Some(client) = &mut client {
            let _ = client.handle_input(start, Input::opened());
            drain(client);
        }
        TiptObserver { node, client }
    }

    fn on_client_frame(&mut self, now: Instant, bytes: &[u8], input: Input<'_>) -> Vec<String> {
        let mut violations = Vec::new();
        if let Some(node) = live(&mut self.node, Node::is_closed) {
            let received = node.handle_input(now, input);
            drain(node);
            violations.extend(received.err().and_then(reportable));
        }
        if let Ok(frame) = decode(bytes)
            && let Some(client) = live(&mut self.client, Client::is_closed)
        {
            let recorded = client.record_sent(now, &frame);
            drain(client);
            if violations.is_empty() {
                violations.extend(recorded.err().map(|error| error.to_string()));
            }
        }
        violations
    }

    fn on_node_frame(&mut self, now: Instant, bytes: &[u8], input: Input<'_>) -> Vec<String> {
        let mut violations = Vec::new();
        if let Some(client) = live(&mut self.client, Client::is_closed) {
            let received = client.handle_input(now, input);
            drain(client);
            violations.extend(received.err().and_then(reportable));
        }
        if let Ok(frame) = decode(bytes)
            && let Some(node) = live(&mut self.node, Node::is_closed)
        {
            let recorded = node.record_sent(now, &frame);
            // A successful SIGN_IN signs the client in, as the node's application
            // tells its machine.
            if matches!(frame.kind, FrameKind::Response { .. })
                && recorded == Ok(Some(NodeRequestType::SIGN_IN))
            {
                node.set_signed_in(true);
            }
            drain(node);
            if violations.is_empty() {
                violations.extend(recorded.err().map(|error| error.to_string()));
            }
        }
        violations
    }

    fn frame(&mut self, now: Instant, direction: Direction, data: &FrameData) -> Observation {
        let to_node = direction == Direction::ToServer;
        let (bytes, input, (kind, value)) = match data {
            FrameData::Text(text) => (
                text.as_bytes(),
                Input::text(text),
                (
                    "(bad frame)".to_owned(),
                    Err(InputError::TextFrame.to_string()),
                ),
            ),
            FrameData::Binary(bytes) => (
                bytes.as_slice(),
                Input::binary(bytes),
                render(bytes, to_node),
            ),
            FrameData::Open | FrameData::Close(_) => return self.control(now, direction, data),
        };
        let violations = if to_node {
            self.on_client_frame(now, bytes, input)
        } else {
            self.on_node_frame(now, bytes, input)
        };
        Observation {
            kind,
            value,
            violations,
        }
    }

    /// The open (the machines opened with the observer) and a close: the receiver
    /// hears it, the sender has closed.
    fn control(&mut self, now: Instant, direction: Direction, data: &FrameData) -> Observation {
        let FrameData::Close(close) = data else {
            return Observation {
                kind: "open".to_owned(),
                value: Ok(Value::Null),
                violations: Vec::new(),
            };
        };
        let value = close.as_ref().map_or(
            Value::Null,
            |(code, reason)| json!({"code": code, "reason": reason}),
        );
        let close = close
            .as_ref()
            .map(|(code, reason)| Close::new(*code, reason.clone()));
        let node = live(&mut self.node, Node::is_closed);
        let client = live(&mut self.client, Client::is_closed);
        match direction {
            Direction::ToServer => {
                if let Some(node) = node {
                    let _ = node.handle_input(now, Input::closed(close));
                    drain(node);
                }
                if let Some(client) = client {
                    client.close();
                    drain(client);
                }
            }
            Direction::ToClient => {
                if let Some(client) = client {
                    let _ = client.handle_input(now, Input::closed(close.clone()));
                    drain(client);
                }
                if let (Some(node), Some(close)) = (node, close) {
                    node.close(close);
                    drain(node);
                }
            }
        }
        Observation {
            kind: "close".to_owned(),
            value: Ok(value),
            violations: Vec::new(),
        }
    }
}

impl Observer for TiptObserver {
    fn observe(&mut self, now: Instant, frame: &Frame) -> Observation {
        self.frame(now, frame.direction, &frame.data)
    }

    fn poll_deadline(&self) -> Option<Instant> {
        let node = self.node.as_ref().and_then(Node::poll_timeout);
        let client = self.client.as_ref().and_then(Client::poll_timeout);
        match (node, client) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The node's HANDSHAKE deadline, and the client's wait for the HANDSHAKE
    /// response: each machine's close is the violation.
    fn on_deadline(&mut self, now: Instant) -> Vec<String> {
        let mut closes = Vec::new();
        if let Some(node) = live(&mut self.node, Node::is_closed) {
            node.handle_timeout(now);
            closes.extend(drain(node));
        }
        if let Some(client) = live(&mut self.client, Client::is_closed) {
            client.handle_timeout(now);
            closes.extend(drain(client));
        }
        closes
            .into_iter()
            .map(|close| format!("closes {close}"))
            .collect()
    }
}

/// A line the user typed, in the JSON `encode tipt` reads, as its canonical
/// frame.
fn line_frame(line: &str) -> Result<Vec<u8>, String> {
    let hex = encode_value(line)?;
    unhex(&hex).ok_or_else(|| "the encoder wrote bad hex".to_owned())
}

/// A body the root decoder read (always raw), owned.
fn raw_body(body: Option<Body<'_>>) -> Option<RawBuf> {
    match body {
        Some(Body::Raw(raw)) => Some(raw.to_buf()),
        _ => None,
    }
}

/// The SIGN_IN body `--token` stands for: `{"token": TOKEN}` (the spec leaves the
/// body open).
fn token_body(token: &str) -> Result<RawBuf, String> {
    let mut bytes = Vec::new();
    rmp::encode::write_map_len(&mut bytes, 1).map_err(|e| e.to_string())?;
    rmp::encode::write_str(&mut bytes, "token").map_err(|e| e.to_string())?;
    rmp::encode::write_str(&mut bytes, token).map_err(|e| e.to_string())?;
    RawBuf::new(bytes).map_err(|e| e.to_string())
}

/// What `connect tipt` does with its client machine.
struct ClientApp {
    /// Sent in SIGN_IN once the node called the client compatible.
    token: Option<String>,
    /// That SIGN_IN, until its answer.
    signing_in: Option<RequestId>,
}

impl Application<Client> for ClientApp {
    fn on_event(
        &mut self,
        client: &mut Client,
        event: &ClientEvent,
        printer: &SharedPrinter,
    ) -> bool {
        match event {
            ClientEvent::Handshake {
                node_version,
                compatible,
            } => {
                note(
                    printer,
                    format!("the node speaks {node_version}; compatible: {compatible}"),
                );
                if let (true, Some(token)) = (*compatible, &self.token) {
                    let sent = token_body(token).and_then(|body| {
                        client
                            .send_request(Instant::now(), NodeRequestType::SIGN_IN, Some(&body))
                            .map_err(|error| error.to_string())
                    });
                    match sent {
                        Ok(id) => {
                            self.signing_in = Some(id);
                            note(printer, format!("SIGN_IN with the token sent as {id}"));
                        }
                        Err(error) => note(printer, format!("SIGN_IN not sent: {error}")),
                    }
                }
            }
            ClientEvent::Request { id, .. } => {
                note(printer, format!("answer with a RESPONSE of id {id}"))
            }
            ClientEvent::Response { id, .. } => {
                if self.signing_in == Some(*id) {
                    self.signing_in = None;
                }
            }
            ClientEvent::Event { .. } => {}
            ClientEvent::RequestFailed { id, reason } => {
                if self.signing_in == Some(*id) {
                    self.signing_in = None;
                }
                note(printer, format!("{id} failed: {reason:?}"));
            }
            ClientEvent::Disconnected(disconnect) => {
                note(printer, format!("disconnected: {disconnect:?}"));
                return true;
            }
        }
        false
    }

    /// Once the node called the client compatible and the token's SIGN_IN, if
    /// any, is answered.
    fn ready(&self, client: &Client) -> bool {
        (client.is_open() && self.signing_in.is_none()) || client.is_closed()
    }

    /// A REQUEST goes out with an id of the machine's (GET_NODE_KEY and FORWARD
    /// through their own calls; HANDSHAKE is the machine's own), a RESPONSE (or
    /// error) answers the node's request of its id, an EVENT goes out as it is.
    fn on_line(&mut self, client: &mut Client, line: &str) -> Result<Option<String>, String> {
        let bytes = line_frame(line)?;
        let frame = decode_to_node(&bytes).map_err(|error| format!("{error}  [{error:?}]"))?;
        let now = Instant::now();
        let sent = match frame.kind {
            FrameKind::Request { reqt, body } => {
                let id = match body {
                    Some(Body::Handshake(_)) => {
                        return Err("the client sends HANDSHAKE itself on connecting".into());
                    }
                    Some(Body::GetNodeKey(GetNodeKey { node })) => client.get_node_key(now, node),
                    Some(Body::Forward(Forward { node, wait, msg })) => {
                        client.forward(now, node, wait, msg)
                    }
                    body => {
                        client.send_request(now, NodeRequestType(reqt), raw_body(body).as_ref())
                    }
                };
                id.map(|id| Some(format!("REQUEST sent as {id}")))
            }
            FrameKind::Response { body } => client
                .respond(frame.id, raw_body(body).as_ref())
                .map(|()| None),
            FrameKind::Error { err } => {
                client.respond_error(frame.id, &err.to_buf()).map(|()| None)
            }
            FrameKind::Event { reqt, body } => client
                .send_event(reqt, raw_body(body).as_ref())
                .map(|()| None),
        };
        sent.map_err(|error| error.to_string())
    }

    fn finish(&mut self, client: &mut Client) {
        client.close();
    }
}

/// What `serve tipt` does with its node machine.
struct NodeApp {
    /// The token a SIGN_IN must carry to be accepted at once; without one the
    /// user answers SIGN_IN.
    token: Option<String>,
    /// The client's requests the user answers, by id.
    awaiting: HashMap<u8, NodeRequestType>,
}

impl NodeApp {
    /// Answers SIGN_IN `id` by the token.
    fn sign_in(
        &self,
        node: &mut Node,
        id: u8,
        body: Option<&RawBuf>,
        token: &str,
        printer: &SharedPrinter,
    ) {
        let accepted = token_body(token)
            .is_ok_and(|expected| body.map(RawBuf::as_bytes) == Some(expected.as_bytes()));
        let answered = if accepted {
            node.set_signed_in(true);
            node.respond(id, None)
        } else {
            node.respond_error(id, &RawBuf::string("wrong token"))
        };
        match answered {
            Ok(()) if accepted => note(printer, "the token is right: the client is signed in"),
            Ok(()) => note(printer, "SIGN_IN refused: wrong token"),
            Err(error) => note(printer, format!("SIGN_IN not answered: {error}")),
        }
    }

    /// Answers the client's request `id` with the body the user typed, through
    /// the call its type needs.
    fn answer(
        &mut self,
        node: &mut Node,
        id: u8,
        body: Option<Body<'_>>,
    ) -> Result<Option<String>, String> {
        let raw = match &body {
            Some(Body::Raw(raw)) => Some(*raw),
            _ => None,
        };
        let reqt = self.awaiting.get(&id).copied();
        let answered = match reqt {
            Some(NodeRequestType::GET_NODE_KEY) => {
                let raw = raw.ok_or("a GET_NODE_KEY answer carries {\"key\": …}")?;
                let key = NodeKey::decode(raw).map_err(|error| error.to_string())?;
                node.answer_node_key(id, key.key)
            }
            Some(NodeRequestType::FORWARD) => {
                let forwarded = Forwarded::decode(raw)
                    .map_err(|error| error.to_string())?
                    .ok_or("a FORWARD answer carries {\"resp\": …}")?;
                node.answer_forward(id, forwarded.resp)
            }
            _ => node.respond(id, raw_body(body).as_ref()),
        };
        answered.map_err(|error| error.to_string())?;
        self.awaiting.remove(&id);
        if reqt == Some(NodeRequestType::SIGN_IN) {
            node.set_signed_in(true);
            return Ok(Some("the client is signed in".into()));
        }
        Ok(None)
    }
}

impl Application<Node> for NodeApp {
    fn on_event(&mut self, node: &mut Node, event: &NodeEvent, printer: &SharedPrinter) -> bool {
        match event {
            NodeEvent::Handshake {
                client_version,
                compatible,
            } => note(
                printer,
                format!("the client speaks {client_version}; compatible: {compatible}"),
            ),
            NodeEvent::Request { id, reqt, body } => match &self.token {
                Some(token) if *reqt == NodeRequestType::SIGN_IN => {
                    let token = token.clone();
                    self.sign_in(node, *id, body.as_ref(), &token, printer);
                }
                _ => {
                    self.awaiting.insert(*id, *reqt);
                    note(printer, format!("answer with a RESPONSE of id {id}"));
                }
            },
            NodeEvent::FetchNodeKey { id, url, .. } => {
                self.awaiting.insert(*id, NodeRequestType::GET_NODE_KEY);
                note(
                    printer,
                    format!(
                        "would GET {url}: answer with a RESPONSE of id {id}, body \
                         {{\"key\":{{\"$bin\":\"HEX\"}}}}"
                    ),
                );
            }
            NodeEvent::Forward { id, url, wait, .. } => {
                if *wait {
                    self.awaiting.insert(*id, NodeRequestType::FORWARD);
                    note(
                        printer,
                        format!(
                            "would POST to {url}: answer with a RESPONSE of id {id}, body \
                             {{\"resp\":{{\"$bin\":\"HEX\"}}}}"
                        ),
                    );
                } else {
                    note(printer, format!("would POST to {url} (answered at once)"));
                }
            }
            NodeEvent::Response { .. } | NodeEvent::Event { .. } => {}
            NodeEvent::RequestFailed { id, reason } => {
                note(printer, format!("{id} failed: {reason:?}"));
            }
            NodeEvent::Disconnected(disconnect) => {
                note(printer, format!("disconnected: {disconnect:?}"));
                return true;
            }
        }
        false
    }

    /// Once the client's HANDSHAKE is answered.
    fn ready(&self, node: &Node) -> bool {
        node.is_open() || node.is_closed()
    }

    /// A REQUEST or EVENT goes to the client (the node picks a request's id); a
    /// RESPONSE or error answers the client's request of its id.
    fn on_line(&mut self, node: &mut Node, line: &str) -> Result<Option<String>, String> {
        let bytes = line_frame(line)?;
        let frame = decode(&bytes).map_err(|error| format!("{error}  [{error:?}]"))?;
        match frame.kind {
            FrameKind::Request { reqt, body } => node
                .send_request(Instant::now(), reqt, raw_body(body).as_ref())
                .map(|id| Some(format!("REQUEST sent as {id}")))
                .map_err(|error| error.to_string()),
            FrameKind::Event { reqt, body } => node
                .send_event(reqt, raw_body(body).as_ref())
                .map(|()| None)
                .map_err(|error| error.to_string()),
            FrameKind::Error { err } => {
                node.respond_error(frame.id, &err.to_buf())
                    .map_err(|error| error.to_string())?;
                self.awaiting.remove(&frame.id);
                Ok(None)
            }
            FrameKind::Response { body } => self.answer(node, frame.id, body),
        }
    }

    fn finish(&mut self, node: &mut Node) {
        node.close(Close::new(close_code::GOING_AWAY, "node shutting down"));
    }
}

/// The client machine `--protocol-version` asks for (1.0.0 by default).
fn client_config(options: &PeerOptions) -> ClientConfig {
    let mut config = ClientConfig::new();
    if let Some(version) = &options.version {
        config.version.clone_from(version);
    }
    config
}

/// `serve tipt`: a Tipt node on `wss://ADDR/ws`, one client at a time, with a
/// certificate made now for `--self-signed HOST` (its authority's PEM written to
/// `--cert-out` for the client's `--roots`). `--token` signs in a client whose
/// SIGN_IN body is `{"token": TOKEN}` (without it, the user answers SIGN_IN);
/// `--protocol-version` is the node's version. Type RESPONSEs (GET_NODE_KEY:
/// `{"key":{"$bin":…}}`, FORWARD: `{"resp":{"$bin":…}}`), and REQUESTs and EVENTs
/// for the client, in the JSON `encode tipt` reads. The end of input closes with
/// 1001 and stops.
async fn serve(options: PeerOptions, listen: SocketAddr, console: Console) -> Result<(), Failure> {
    let Console { mut input, output } = console;
    let host = options
        .self_signed
        .as_deref()
        .ok_or("serve tipt needs --self-signed HOST: Tipt is served over wss")?;
    let (tls, _) = console::self_signed(host, options.cert_out.as_deref())?;
    // Refuse a version the node cannot speak before anyone connects.
    Node::new(node_config(&options))?;
    let listener = TcpListener::bind(listen).await?;
    let printer = Arc::new(Mutex::new(FramePrinter::new::<Tipt>(&options, output)));
    note(
        &printer,
        format!(
            "serving tipt on wss://{}/ws (a certificate for {host}): one client at a time; \
             type RESPONSE, REQUEST and EVENT frames",
            listener.local_addr()?
        ),
    );
    let mut conn = 0;
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => accepted?.0,
            line = input.recv() => match line {
                None => return Ok(()),
                Some(_) => {
                    note(&printer, "not sent: no client is connected");
                    continue;
                }
            },
        };
        conn += 1;
        let transport = match tls::accept_with(stream, tls.clone(), &tipt_ws(), only_ws_path).await
        {
            Ok(transport) => transport,
            Err(error) => {
                note(&printer, format!("a client's handshake failed: {error}"));
                continue;
            }
        };
        let node = Node::new(node_config(&options))?;
        let mut app = NodeApp {
            token: options.token.clone(),
            awaiting: HashMap::new(),
        };
        opened(&printer, conn);
        let tap = ws_session::tap(printer.clone(), conn, Direction::ToClient);
        let driver = Driver::new(node, transport).with_tap(tap);
        if !ws_session::converse(driver, &mut input, &printer, &mut app).await {
            return Ok(());
        }
    }
}

/// `connect tipt`: a Tipt client of `wss://HOST:PORT/ws` (trusting `--roots`), or
/// of a `ws://` URL (a `wirescope proxy` listens without TLS). It sends
/// HANDSHAKE (version `--protocol-version`, 1.0.0 by default) on its own, and with
/// `--token` a SIGN_IN of body `{"token": TOKEN}` once compatible. Type REQUESTs
/// (the machine picks their ids), RESPONSEs to the node's requests, and EVENTs.
/// Ends when the node closes, or the input ends (the client then closes with
/// 1000).
async fn connect(options: PeerOptions, target: String, console: Console) -> Result<(), Failure> {
    let Console { mut input, output } = console;
    let client = Client::new(client_config(&options))?;
    let printer = Arc::new(Mutex::new(FramePrinter::new::<Tipt>(&options, output)));
    let mut app = ClientApp {
        token: options.token.clone(),
        signing_in: None,
    };
    let tap = ws_session::tap(printer.clone(), 1, Direction::ToServer);
    if target.starts_with("wss://") {
        let roots = options
            .roots
            .as_deref()
            .ok_or("a wss:// target needs --roots PEM")?;
        let roots = console::load_roots(roots)?;
        let (transport, _) = tls::connect(target.as_str(), roots, &tipt_ws()).await?;
        opened(&printer, 1);
        let driver = Driver::new(client, transport).with_tap(tap);
        ws_session::converse(driver, &mut input, &printer, &mut app).await;
    } else {
        let ws_config = tipt_ws();
        let connecting = proto_tokio::ws::connect_with_config(target.as_str(), &ws_config);
        let (transport, _) = tokio::time::timeout(console::HANDSHAKE_TIMEOUT, connecting)
            .await
            .map_err(|_| "connecting timed out")??;
        opened(&printer, 1);
        let driver = Driver::new(client, transport).with_tap(tap);
        ws_session::converse(driver, &mut input, &printer, &mut app).await;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
