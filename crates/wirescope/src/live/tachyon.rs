//! Tachyon's plug: the conversation checked by the connection machine of each
//! side, and `serve` and `connect` on that machine.
//!
//! The observer keeps two [`Connection`]s. The server's receives the client's
//! frames and the client's receives the server's, so each frame meets the rules of
//! the side it reaches: the role and scope a command needs, its schema, a
//! `messageId` reused while its request is unanswered, a response that answers no
//! request of the receiver's side, a binary frame. What a side sends it also
//! records on its own machine ([`Connection::record_sent`]), so the answers to it
//! are matched, and a response after the machine's request timeout (30 s) is
//! flagged as late. A request whose `commandId` names no command cannot be
//! recorded, so the `command_unimplemented` answer to it is flagged too, as
//! answering no request. The client is taken to be a user whose token grants
//! every scope: the observer sees neither the token nor, in the WebSocket
//! handshake, the subprotocol; a server that refuses a scope says so in its
//! `failed` response. WebSocket pings and pongs do not reach the observer, so the
//! server machine there sends none and expects none.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use proto_core::{Close, Input, Limits, Machine, Output, close_code};
use proto_tokio::{Driver, Transport, tls, ws};
use serde_json::{Value, json};
use tachyon_proto::version::{self, Negotiated, Version};
use tachyon_proto::{
    ALL_META, Command, CommandId, Connection, ConnectionConfig, Event, InputError, MessageKind,
    Role, decode_with, encode, recover_ids,
};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::header::{AUTHORIZATION, SEC_WEBSOCKET_PROTOCOL};
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode};

use super::console::{self, FramePrinter};
use super::ws_session::{self, Application, SharedPrinter, note, opened};
use super::{
    BoxFuture, Console, Direction, Failure, Frame, FrameData, LiveProtocol, Observation, Observer,
    PeerOptions, Wire,
};

/// Tachyon, plugged into live traffic.
pub(crate) struct Tachyon;

impl LiveProtocol for Tachyon {
    const NAME: &'static str = "tachyon";
    const WIRE: Wire = Wire::WebSocket;

    fn observer(_options: &PeerOptions, start: Instant) -> Box<dyn Observer> {
        Box::new(TachyonObserver::new(start))
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

/// Every scope some command needs: the observer cannot see the token's.
fn every_scope() -> Vec<&'static str> {
    let mut scopes: Vec<&'static str> = ALL_META
        .iter()
        .flat_map(|meta| meta.scopes.iter().copied())
        .collect();
    scopes.sort_unstable();
    scopes.dedup();
    scopes
}

/// Takes out what a machine queued (its own answers go nowhere), returning the
/// closes among it.
fn drain(machine: &mut Connection) -> Vec<Close> {
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

/// `lobby/join/request`: the command and its kind.
pub(crate) fn kind_name(command: &Command) -> String {
    format!("{}/{}", command.command_id(), command.kind())
}

/// A decoded command as its kind and the JSON `encode` reads (its canonical
/// form), or a bad frame and the decoder's exact error.
pub(crate) fn render(bytes: &[u8], limits: &Limits) -> (String, Result<Value, String>) {
    match decode_with(bytes, limits) {
        Ok(command) => (
            kind_name(&command),
            serde_json::from_str(&encode(&command)).map_err(|error| error.to_string()),
        ),
        Err(error) => (
            "(bad frame)".to_owned(),
            Err(format!("{error}  [{error:?}]")),
        ),
    }
}

/// One conversation, checked by a server machine and a client machine.
struct TachyonObserver {
    /// The server's side: receives what the client sends.
    server: Connection,
    /// The client's side: receives what the server sends.
    client: Connection,
    limits: Limits,
}

impl TachyonObserver {
    fn new(start: Instant) -> Self {
        let mut config = ConnectionConfig::server(Role::User, every_scope());
        config.ping_interval = None;
        let mut server = Connection::new(config);
        let mut client = Connection::new(ConnectionConfig::client(Role::User));
        // Fresh machines open without complaint.
        let _ = server.handle_input(start, Input::opened());
        let _ = client.handle_input(start, Input::opened());
        TachyonObserver {
            server,
            client,
            limits: Limits::default(),
        }
    }

    /// The machine `direction`'s frames reach, and the sender's.
    fn sides(&mut self, direction: Direction) -> (&mut Connection, &mut Connection) {
        match direction {
            Direction::ToServer => (&mut self.server, &mut self.client),
            Direction::ToClient => (&mut self.client, &mut self.server),
        }
    }

    fn frame(
        &mut self,
        now: Instant,
        direction: Direction,
        bytes: &[u8],
        input: Input<'_>,
    ) -> Observation {
        let (kind, value) = render(bytes, &self.limits);
        let (receiver, sender) = self.sides(direction);
        let mut violations = Vec::new();
        if !receiver.is_closed() {
            let received = receiver.handle_input(now, input);
            drain(receiver);
            violations.extend(received.err().and_then(reportable));
        }
        // The sender's side learns what it sent, decodable or not, so the answer
        // to it is matched; its refusal counts only if the receiver had none.
        let ids = recover_ids(bytes);
        if let (Some(sent), Some(message_id), Some(command)) =
            (ids.kind, ids.message_id.as_deref(), ids.command())
            && !sender.is_closed()
        {
            let recorded = record(sender, now, sent, message_id, command);
            if violations.is_empty() {
                violations.extend(recorded.err());
            }
        }
        Observation {
            kind,
            value,
            violations,
        }
    }

    fn close(&mut self, now: Instant, direction: Direction, close: Option<Close>) {
        let (receiver, sender) = self.sides(direction);
        if !receiver.is_closed() {
            let _ = receiver.handle_input(now, Input::closed(close.clone()));
            drain(receiver);
        }
        if let Some(close) = close {
            sender.close(close);
            drain(sender);
        }
    }
}

fn record(
    machine: &mut Connection,
    now: Instant,
    kind: MessageKind,
    message_id: &str,
    command: CommandId,
) -> Result<(), String> {
    let recorded = machine.record_sent(now, kind, message_id, command);
    drain(machine);
    recorded.map_err(|error| error.to_string())
}

impl Observer for TachyonObserver {
    fn observe(&mut self, now: Instant, frame: &Frame) -> Observation {
        match &frame.data {
            FrameData::Open => Observation {
                kind: "open".to_owned(),
                value: Ok(Value::Null),
                violations: Vec::new(),
            },
            FrameData::Close(close) => {
                let value = close.as_ref().map_or(
                    Value::Null,
                    |(code, reason)| json!({"code": code, "reason": reason}),
                );
                let close = close
                    .as_ref()
                    .map(|(code, reason)| Close::new(*code, reason.clone()));
                self.close(now, frame.direction, close);
                Observation {
                    kind: "close".to_owned(),
                    value: Ok(value),
                    violations: Vec::new(),
                }
            }
            FrameData::Text(text) => {
                self.frame(now, frame.direction, text.as_bytes(), Input::text(text))
            }
            FrameData::Binary(bytes) => {
                self.frame(now, frame.direction, bytes, Input::binary(bytes))
            }
        }
    }

    fn poll_deadline(&self) -> Option<Instant> {
        match (self.server.poll_timeout(), self.client.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn on_deadline(&mut self, now: Instant) -> Vec<String> {
        // Requests time out (so a late response is told apart); no rule is
        // broken by silence alone while the observer sees no pings.
        let mut closes = Vec::new();
        for machine in [&mut self.server, &mut self.client] {
            machine.handle_timeout(now);
            closes.extend(drain(machine));
        }
        closes
            .into_iter()
            .map(|close| format!("closes {close}"))
            .collect()
    }
}

/// The versions a peer offers or accepts: `--protocol-version`'s subprotocol
/// (`v0.tachyon`, say), by default v0.
fn versions(options: &PeerOptions) -> Result<Vec<Version>, Failure> {
    match &options.version {
        None => Ok(vec![Version::V0]),
        Some(name) => Ok(vec![Version::from_subprotocol(name)?]),
    }
}

/// What the user's peer does with its connection machine, on either side.
struct TachyonApp {
    /// How the user's input ending closes the connection.
    finish: Close,
}

impl Application<Connection> for TachyonApp {
    fn on_event(
        &mut self,
        _connection: &mut Connection,
        event: &Event,
        printer: &SharedPrinter,
    ) -> bool {
        match event {
            // The frame itself was printed; say what answers it.
            Event::Request(request) => note(
                printer,
                format!(
                    "answer with a {} response of messageId {:?}",
                    request.command_id(),
                    request.message_id()
                ),
            ),
            Event::Response(_) | Event::Notification(_) => {}
            Event::RequestFailed {
                message_id,
                command,
                reason,
            } => note(
                printer,
                format!("request {message_id:?} ({command}) failed: {reason:?}"),
            ),
            Event::Disconnected(disconnect) => {
                note(printer, format!("disconnected: {disconnect:?}"));
                return true;
            }
        }
        false
    }

    /// The connection is open once the WebSocket is.
    fn ready(&self, _connection: &Connection) -> bool {
        true
    }

    /// A request goes out with a fresh `messageId` (the typed one is replaced), a
    /// response answers the peer's request of its `messageId`, an event goes out
    /// with a fresh `messageId`.
    fn on_line(
        &mut self,
        connection: &mut Connection,
        line: &str,
    ) -> Result<Option<String>, String> {
        let command = decode_with(line.as_bytes(), &Limits::default())
            .map_err(|error| format!("{error}  [{error:?}]"))?;
        let sent = match command.kind() {
            MessageKind::Request => connection
                .send_request(Instant::now(), command)
                .map(|id| Some(format!("request sent as messageId {id:?}"))),
            MessageKind::Response => connection.respond(command).map(|()| None),
            MessageKind::Event => connection
                .send_event(command)
                .map(|id| Some(format!("event sent as messageId {id:?}"))),
        };
        sent.map_err(|error| error.to_string())
    }

    fn finish(&mut self, connection: &mut Connection) {
        connection.close(self.finish.clone());
    }
}

/// The server's handshake check: the Bearer token, if one is required, and a
/// subprotocol both sides speak.
#[allow(clippy::result_large_err)] // the signature tungstenite's callbacks have
fn admit(
    request: &Request,
    mut response: Response,
    token: Option<&str>,
    supported: &[Version],
) -> Result<(Response, Negotiated), ErrorResponse> {
    let refuse = |status: StatusCode, why: String| {
        let mut refusal = ErrorResponse::new(Some(why));
        *refusal.status_mut() = status;
        refusal
    };
    let bearer = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    if let Some(token) = token
        && bearer != Some(token)
    {
        return Err(refuse(
            StatusCode::UNAUTHORIZED,
            "unknown access token".into(),
        ));
    }
    let offered = request
        .headers()
        .get_all(SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','));
    let negotiated = version::negotiate(offered, supported)
        .map_err(|error| refuse(StatusCode::BAD_REQUEST, error.to_string()))?;
    let answer = HeaderValue::from_str(&negotiated.subprotocol)
        .map_err(|error| refuse(StatusCode::BAD_REQUEST, error.to_string()))?;
    response
        .headers_mut()
        .insert(SEC_WEBSOCKET_PROTOCOL, answer);
    Ok((response, negotiated))
}

/// Notes a failed handshake; the input is still open.
fn handshake_failed(printer: &SharedPrinter, error: impl std::fmt::Display) -> bool {
    note(printer, format!("a user's handshake failed: {error}"));
    true
}

/// Serves one admitted user (`negotiated` is `None` for a refused one) until the
/// connection ends; returns whether the user's input is still open.
async fn session<T: Transport>(
    transport: T,
    negotiated: Option<Negotiated>,
    conn: u64,
    printer: &SharedPrinter,
    input: &mut tokio::sync::mpsc::Receiver<String>,
) -> bool {
    let Some(negotiated) = negotiated else {
        return true;
    };
    note(
        printer,
        format!(
            "a user connected: subprotocol {}, speaking {}",
            negotiated.subprotocol, negotiated.speaking
        ),
    );
    let machine = Connection::new(ConnectionConfig::server(Role::User, every_scope()));
    let mut app = TachyonApp {
        finish: Close::new(close_code::GOING_AWAY, "server shutting down"),
    };
    opened(printer, conn);
    let tap = ws_session::tap(printer.clone(), conn, Direction::ToClient);
    let driver = Driver::new(machine, transport).with_tap(tap);
    ws_session::converse(driver, input, printer, &mut app).await
}

/// `serve tachyon`: a Tachyon server for users, one at a time, granting every
/// scope. `--token` makes it require that Bearer token; `--protocol-version` is the
/// subprotocol it speaks (`v0.tachyon` by default); `--self-signed HOST` serves
/// `wss`. Type requests, responses (with the `messageId` of the request they
/// answer) and events, in the JSON `encode tachyon` reads. The end of input closes
/// with 1001 and stops.
async fn serve(options: PeerOptions, listen: SocketAddr, console: Console) -> Result<(), Failure> {
    let Console { mut input, output } = console;
    let supported = versions(&options)?;
    let tls = match &options.self_signed {
        Some(host) => Some(console::self_signed(host, options.cert_out.as_deref())?.0),
        None => None,
    };
    let listener = TcpListener::bind(listen).await?;
    let scheme = if tls.is_some() { "wss" } else { "ws" };
    let printer = Arc::new(Mutex::new(FramePrinter::new::<Tachyon>(&options, output)));
    note(
        &printer,
        format!(
            "serving tachyon on {scheme}://{} ({}): one user at a time; type requests, \
             responses and events",
            listener.local_addr()?,
            version::offer_header(&supported)
        ),
    );
    let mut conn = 0;
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => accepted?.0,
            line = input.recv() => match line {
                None => return Ok(()),
                Some(_) => {
                    note(&printer, "not sent: no user is connected");
                    continue;
                }
            },
        };
        conn += 1;
        let token = options.token.as_deref();
        let mut admitted = None;
        #[allow(clippy::result_large_err)] // the signature tungstenite's callbacks have
        let callback = |request: &Request, response: Response| {
            let (response, negotiated) = admit(request, response, token, &supported)?;
            admitted = Some(negotiated);
            Ok(response)
        };
        let open = match &tls {
            None => {
                let _ = stream.set_nodelay(true);
                let accept = ws::accept_with(stream, callback);
                match tokio::time::timeout(console::HANDSHAKE_TIMEOUT, accept).await {
                    Ok(Ok(transport)) => {
                        session(transport, admitted, conn, &printer, &mut input).await
                    }
                    Ok(Err(error)) => handshake_failed(&printer, error),
                    Err(_) => handshake_failed(&printer, "timed out"),
                }
            }
            Some(config) => {
                let ws_config = ws::WsConfig::default();
                match tls::accept_with(stream, config.clone(), &ws_config, callback).await {
                    Ok(transport) => session(transport, admitted, conn, &printer, &mut input).await,
                    Err(error) => handshake_failed(&printer, error),
                }
            }
        };
        if !open {
            return Ok(());
        }
    }
}

/// `connect tachyon`: a user's client. `--token` is sent as the Bearer token;
/// `--protocol-version` is the subprotocol offered (`v0.tachyon` by default); a
/// `wss://` URL needs `--roots`. Type requests (their `messageId` is replaced by a
/// fresh one), responses to the server's requests, and events. Ends when the
/// server closes, or the input ends (the client then closes with 1000).
async fn connect(options: PeerOptions, target: String, console: Console) -> Result<(), Failure> {
    let Console { mut input, output } = console;
    let offered = versions(&options)?;
    let mut request = target.as_str().into_client_request()?;
    let headers = request.headers_mut();
    if let Some(token) = &options.token {
        headers.insert(
            AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {token}"))?,
        );
    }
    headers.insert(
        SEC_WEBSOCKET_PROTOCOL,
        HeaderValue::from_str(&version::offer_header(&offered))?,
    );
    let printer = Arc::new(Mutex::new(FramePrinter::new::<Tachyon>(&options, output)));
    let machine = Connection::new(ConnectionConfig::client(Role::User));
    let mut app = TachyonApp {
        finish: Close::new(close_code::NORMAL, "client closing"),
    };
    if target.starts_with("wss://") {
        let roots = options
            .roots
            .as_deref()
            .ok_or("a wss:// target needs --roots PEM")?;
        let roots = console::load_roots(roots)?;
        let (transport, response) = tls::connect(request, roots, &ws::WsConfig::default()).await?;
        check_answer(
            response.headers().get(SEC_WEBSOCKET_PROTOCOL),
            &offered,
            &printer,
        )?;
        run_client(machine, transport, &mut input, &printer, &mut app).await;
    } else {
        let connecting = tokio::time::timeout(console::HANDSHAKE_TIMEOUT, ws::connect(request));
        let (transport, response) = connecting.await.map_err(|_| "connecting timed out")??;
        check_answer(
            response.headers().get(SEC_WEBSOCKET_PROTOCOL),
            &offered,
            &printer,
        )?;
        run_client(machine, transport, &mut input, &printer, &mut app).await;
    }
    Ok(())
}

/// The client must close if the server picked a subprotocol it did not offer.
fn check_answer(
    answer: Option<&HeaderValue>,
    offered: &[Version],
    printer: &SharedPrinter,
) -> Result<(), Failure> {
    let answer = answer
        .and_then(|value| value.to_str().ok())
        .ok_or("the server chose no subprotocol")?;
    let speaking = version::accepted(answer, offered)?;
    note(
        printer,
        format!("connected: the server chose {answer}, speaking {speaking}"),
    );
    Ok(())
}

async fn run_client<T: Transport>(
    machine: Connection,
    transport: T,
    input: &mut tokio::sync::mpsc::Receiver<String>,
    printer: &SharedPrinter,
    app: &mut TachyonApp,
) {
    opened(printer, 1);
    let tap = ws_session::tap(printer.clone(), 1, Direction::ToServer);
    let driver = Driver::new(machine, transport).with_tap(tap);
    ws_session::converse(driver, input, printer, app).await;
}

#[cfg(test)]
mod tests;
