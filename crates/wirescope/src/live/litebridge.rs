//! Litebridge's plug: an observer built on litecord-proto's own machines, and a
//! `serve` and `connect` that drive its `Server` and `Client` from the user's lines.
//!
//! The observer runs a [`Server`] machine on the client's frames (it checks the
//! handshake, the password, heartbeats and their deadline, the client's requests
//! and their nonces, and which ops a client may send) and a [`Client`] machine on
//! the server's frames (which ops a server may send, the server's requests and
//! their nonces). A RESPONSE is checked by the machine of the side that got the
//! REQUEST: the server's with [`Server::respond`], the client's with
//! [`Client::respond`], so a response to no pending request is the machine's own
//! `CallError`. Every violation is the machine's error, as its `Display` says it.
//!
//! The server machine announces the heartbeat interval the real server's HELLO
//! announced; the grace after it is half the interval, the ratio of
//! `ServerConfig::new`; a missed heartbeat is flagged at that deadline as the close
//! the server machine makes (`closes 4003 "heartbeat timeout"`). Without
//! `--password` the observer takes the password of the first HELLO_ACK and flags a
//! wrong password on the server's 4001 close. A machine that closed on a violation
//! checks no further frames of its side: the real peer should have closed too.
//!
//! `serve` and `connect` take the user's lines as litebridge frames: a REQUEST is
//! sent with `send_request` (the machine picks the nonce), a RESPONSE answers the
//! peer's REQUEST with its nonce, a DISPATCH is sent with `dispatch`; the machine
//! sends HELLO, HELLO_ACK and heartbeats itself.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use litecord_proto::{
    Client, ClientConfig, Event, InputError, Message, RawJson, Server, ServerConfig, close_code,
    decode,
};
use proto_core::{Close, Input, Limits, Machine, Output, Payload};
use proto_tokio::{Activity, Driver, Incoming, Traffic, Transport, tls, ws};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use super::console::{self, FramePrinter};
use super::{
    BoxFuture, Console, Direction, Failure, Frame, FrameData, LiveProtocol, Observation, Observer,
    PeerOptions, Wire,
};

/// Litebridge: JSON op codes over WebSocket.
pub(crate) struct Litebridge;

impl LiveProtocol for Litebridge {
    const NAME: &'static str = "litebridge";
    const WIRE: Wire = Wire::WebSocket;

    fn observer(options: &PeerOptions, start: Instant) -> Box<dyn Observer> {
        Box::new(BridgeObserver::new(options.password.clone(), start))
    }

    fn serve(
        options: PeerOptions,
        listen: std::net::SocketAddr,
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

/// The grace the observer allows after a heartbeat interval, as a fraction of it.
const GRACE_DIVISOR: u32 = 2;

/// One litebridge conversation, checked by both sides' machines.
struct BridgeObserver {
    /// The password to check HELLO_ACK against, if known.
    password: Option<String>,
    limits: Limits,
    /// When the conversation opened: the server machine opens then.
    opened: Instant,
    /// The interval the server's HELLO announced (the default until then).
    hb_interval: Duration,
    /// Checks the client's frames; made at the server's HELLO (or at the client's
    /// first frame, if that comes first).
    server: Option<Server>,
    /// Checks the server's frames.
    client: Client,
    /// Whether a wrong password has been flagged.
    password_flagged: bool,
}

/// A server machine announcing `hb_interval` and checking `password`, opened at
/// `opened`.
fn server_machine(
    opened: Instant,
    limits: Limits,
    hb_interval: Duration,
    password: &str,
) -> Server {
    let mut config = ServerConfig::new(password);
    config.hb_interval = hb_interval;
    config.heartbeat_grace = hb_interval / GRACE_DIVISOR;
    config.limits = limits;
    let mut server = Server::new(config);
    let _ = server.handle_input(opened, Input::opened());
    drain(&mut server);
    server
}

/// Empties a machine's outputs (what it would send is what the real peer sends);
/// returns the closes among them.
fn drain<M: Machine>(machine: &mut M) -> Vec<Close> {
    let mut closes = Vec::new();
    while let Some(output) = machine.poll_output() {
        if let Output::Close { close, .. } = output {
            closes.push(close);
        }
    }
    closes
}

/// The violation an input error is, if any: a frame after the machine closed (or
/// a second open) is no rule of the conversation broken.
fn reportable(error: InputError) -> Vec<String> {
    match error {
        InputError::NotOpen | InputError::AlreadyOpen => Vec::new(),
        error => vec![error.to_string()],
    }
}

impl BridgeObserver {
    fn new(password: Option<String>, start: Instant) -> Self {
        let mut client = Client::new(ClientConfig::new(""));
        let _ = client.handle_input(start, Input::opened());
        BridgeObserver {
            password,
            limits: Limits::default(),
            opened: start,
            hb_interval: ServerConfig::new("").hb_interval,
            server: None,
            client,
            password_flagged: false,
        }
    }

    /// The server machine, made now if no HELLO came yet.
    fn server(&mut self) -> &mut Server {
        let (opened, limits, interval) = (self.opened, self.limits, self.hb_interval);
        let password = self.password.clone().unwrap_or_default();
        self.server
            .get_or_insert_with(|| server_machine(opened, limits, interval, &password))
    }

    fn server_authenticated(&self) -> bool {
        self.server.as_ref().is_some_and(Server::is_authenticated)
    }

    fn frame(&mut self, now: Instant, direction: Direction, bytes: &[u8]) -> Observation {
        let decoded = decode(bytes, &self.limits);
        let (kind, value) = match &decoded {
            Ok(message) => (
                message.op().name().to_owned(),
                serde_json::from_slice::<Value>(bytes).map_err(|error| error.to_string()),
            ),
            Err(error) => (
                "(bad frame)".to_owned(),
                Err(format!("{error}  [{error:?}]")),
            ),
        };
        let message = decoded.ok();
        let violations = match direction {
            Direction::ToServer => self.check_client_frame(now, bytes, message.as_ref()),
            Direction::ToClient => self.check_server_frame(now, bytes, message.as_ref()),
        };
        Observation {
            kind,
            value,
            violations,
        }
    }

    fn check_client_frame(
        &mut self,
        now: Instant,
        bytes: &[u8],
        message: Option<&Message<'_>>,
    ) -> Vec<String> {
        match message {
            // The client answers the server's request: the client machine holds it.
            Some(Message::Response(response)) if self.server_authenticated() => {
                let result = self.client.respond(&response.nonce, response.data.clone());
                drain(&mut self.client);
                result
                    .err()
                    .map(|error| error.to_string())
                    .into_iter()
                    .collect()
            }
            // Without a password to check, the first HELLO_ACK's is taken.
            Some(Message::HelloAck(ack)) if self.password.is_none() => {
                let closed = self.server.as_ref().is_some_and(Server::is_closed);
                if !closed && !self.server_authenticated() {
                    let machine =
                        server_machine(self.opened, self.limits, self.hb_interval, &ack.password);
                    self.server = Some(machine);
                }
                self.feed_server(now, bytes)
            }
            _ => self.feed_server(now, bytes),
        }
    }

    fn feed_server(&mut self, now: Instant, bytes: &[u8]) -> Vec<String> {
        let server = self.server();
        let result = server.handle_input(now, Input::binary(bytes));
        drain(server);
        match result {
            Ok(()) => Vec::new(),
            Err(InputError::AuthenticationFailed) => {
                self.password_flagged = true;
                vec![InputError::AuthenticationFailed.to_string()]
            }
            Err(error) => reportable(error),
        }
    }

    fn check_server_frame(
        &mut self,
        now: Instant,
        bytes: &[u8],
        message: Option<&Message<'_>>,
    ) -> Vec<String> {
        match message {
            // The server answers the client's request: the server machine holds it.
            Some(Message::Response(response)) if self.server_authenticated() => {
                let server = self.server();
                let result = server.respond(&response.nonce, response.data.clone());
                drain(server);
                return result
                    .err()
                    .map(|error| error.to_string())
                    .into_iter()
                    .collect();
            }
            Some(Message::Hello(hello)) if self.server.is_none() => {
                self.hb_interval = hello.hb_interval();
                self.server();
            }
            _ => {}
        }
        let result = self.client.handle_input(now, Input::binary(bytes));
        drain(&mut self.client);
        result.err().map(reportable).unwrap_or_default()
    }

    fn on_close(
        &mut self,
        now: Instant,
        direction: Direction,
        close: Option<&(u16, String)>,
    ) -> Vec<String> {
        let close = close.map(|(code, reason)| Close::new(*code, reason.clone()));
        let mut violations = Vec::new();
        let wrong_password = close
            .as_ref()
            .is_some_and(|close| close.code == close_code::AUTHENTICATION_FAILED);
        if direction == Direction::ToClient && wrong_password && !self.password_flagged {
            self.password_flagged = true;
            violations.push(InputError::AuthenticationFailed.to_string());
        }
        if let Some(server) = &mut self.server {
            let _ = server.handle_input(now, Input::closed(close.clone()));
            drain(server);
        }
        let _ = self.client.handle_input(now, Input::closed(close));
        drain(&mut self.client);
        violations
    }
}

impl Observer for BridgeObserver {
    fn observe(&mut self, now: Instant, frame: &Frame) -> Observation {
        let direction = frame.direction;
        match &frame.data {
            FrameData::Open => Observation {
                kind: "open".to_owned(),
                value: Ok(Value::Null),
                violations: Vec::new(),
            },
            FrameData::Close(close) => Observation {
                kind: "close".to_owned(),
                value: Ok(close.as_ref().map_or(
                    Value::Null,
                    |(code, reason)| json!({"code": code, "reason": reason}),
                )),
                violations: self.on_close(now, direction, close.as_ref()),
            },
            FrameData::Text(text) => self.frame(now, direction, text.as_bytes()),
            FrameData::Binary(bytes) => self.frame(now, direction, bytes),
        }
    }

    fn poll_deadline(&self) -> Option<Instant> {
        self.server.as_ref().and_then(Server::poll_timeout)
    }

    fn on_deadline(&mut self, now: Instant) -> Vec<String> {
        let Some(server) = &mut self.server else {
            return Vec::new();
        };
        server.handle_timeout(now);
        drain(server)
            .into_iter()
            .map(|close| format!("closes {close}"))
            .collect()
    }
}

/// Prints `text` as a note of the printer behind `printer`.
fn note(printer: &Mutex<FramePrinter>, text: impl std::fmt::Display) {
    if let Ok(printer) = printer.lock() {
        printer.note(text);
    }
}

/// A driver tap printing conversation `conn`'s frames through `printer`; what this
/// side sends goes `sent`.
fn tap(
    printer: Arc<Mutex<FramePrinter>>,
    conn: u64,
    sent: Direction,
) -> impl FnMut(Traffic<'_>) + Send + 'static {
    let received = match sent {
        Direction::ToServer => Direction::ToClient,
        Direction::ToClient => Direction::ToServer,
    };
    move |traffic| {
        let Ok(mut printer) = printer.lock() else {
            return;
        };
        let (direction, data) = match traffic {
            Traffic::Sent(Payload::Text(text)) => (sent, FrameData::Text(text.clone())),
            Traffic::Sent(Payload::Binary(bytes)) => (sent, FrameData::Binary(bytes.to_vec())),
            Traffic::Closing(close) => (
                sent,
                FrameData::Close(Some((close.code, close.reason.to_string()))),
            ),
            Traffic::Received(Incoming::Text(text)) => {
                (received, FrameData::Text(text.as_str().to_owned()))
            }
            Traffic::Received(Incoming::Binary(bytes)) => {
                (received, FrameData::Binary(bytes.to_vec()))
            }
            Traffic::Received(Incoming::Closed(close)) => (
                received,
                FrameData::Close(close.as_ref().map(|c| (c.code, c.reason.to_string()))),
            ),
            Traffic::Received(Incoming::Rejected(close)) => {
                printer.note(format!("refused a frame from the peer: {close}"));
                return;
            }
            Traffic::Sent(Payload::Ping(_))
            | Traffic::Received(Incoming::Pong(_))
            | Traffic::Connected => return,
        };
        printer.frame(conn, direction, data);
    }
}

/// Applies one of the user's lines, a litebridge frame in the JSON `encode` reads,
/// as the machine's API call: REQUEST → `send_request` (the machine picks the
/// nonce), RESPONSE → `respond`, DISPATCH → `dispatch`.
fn user_line<M: Peer>(machine: &mut M, line: &str) -> Result<Option<String>, String> {
    let message = decode(line.as_bytes(), &Limits::default())
        .map_err(|error| format!("{error}  [{error:?}]"))?;
    match message {
        Message::Request(request) => machine
            .send_request(Instant::now(), &request.what, request.args)
            .map(|id| Some(format!("REQUEST sent as {id:?}")))
            .map_err(|error| error.to_string()),
        Message::Response(response) => machine
            .respond(&response.nonce, response.data)
            .map(|()| None)
            .map_err(|error| error.to_string()),
        Message::Dispatch(dispatch) => machine
            .dispatch(&dispatch.what, dispatch.args)
            .map(|()| None)
            .map_err(|error| error.to_string()),
        other => Err(format!(
            "{} is the machine's to send; type REQUEST, RESPONSE or DISPATCH frames",
            other.op().name()
        )),
    }
}

/// The application calls both litebridge machines offer.
trait Peer: Machine<Event = Event, Error = InputError> {
    fn send_request(
        &mut self,
        now: Instant,
        what: &str,
        args: Vec<RawJson<'_>>,
    ) -> Result<litecord_proto::RequestId, litecord_proto::CallError>;
    fn respond(
        &mut self,
        nonce: &RawJson<'_>,
        data: RawJson<'_>,
    ) -> Result<(), litecord_proto::CallError>;
    fn dispatch(
        &mut self,
        what: &str,
        args: Vec<RawJson<'_>>,
    ) -> Result<(), litecord_proto::CallError>;
    /// Ends the conversation when the user's input ends.
    fn finish(&mut self);
    /// Whether the handshake is over, so the user's lines can be applied.
    fn ready(&self) -> bool;
}

impl Peer for Server {
    fn send_request(
        &mut self,
        now: Instant,
        what: &str,
        args: Vec<RawJson<'_>>,
    ) -> Result<litecord_proto::RequestId, litecord_proto::CallError> {
        Server::send_request(self, now, what, args)
    }
    fn respond(
        &mut self,
        nonce: &RawJson<'_>,
        data: RawJson<'_>,
    ) -> Result<(), litecord_proto::CallError> {
        Server::respond(self, nonce, data)
    }
    fn dispatch(
        &mut self,
        what: &str,
        args: Vec<RawJson<'_>>,
    ) -> Result<(), litecord_proto::CallError> {
        Server::dispatch(self, what, args)
    }
    fn finish(&mut self) {
        self.close(Close::new(
            proto_core::close_code::GOING_AWAY,
            "server shutting down",
        ));
    }
    fn ready(&self) -> bool {
        self.is_authenticated()
    }
}

impl Peer for Client {
    fn send_request(
        &mut self,
        now: Instant,
        what: &str,
        args: Vec<RawJson<'_>>,
    ) -> Result<litecord_proto::RequestId, litecord_proto::CallError> {
        Client::send_request(self, now, what, args)
    }
    fn respond(
        &mut self,
        nonce: &RawJson<'_>,
        data: RawJson<'_>,
    ) -> Result<(), litecord_proto::CallError> {
        Client::respond(self, nonce, data)
    }
    fn dispatch(
        &mut self,
        what: &str,
        args: Vec<RawJson<'_>>,
    ) -> Result<(), litecord_proto::CallError> {
        Client::dispatch(self, what, args)
    }
    fn finish(&mut self) {
        self.shutdown();
    }
    fn ready(&self) -> bool {
        self.is_authenticated()
    }
}

/// How long a peer waits for its conversation to end once the user's input ended.
const FINISH_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs one conversation: the machine's events and refusals printed as notes, the
/// user's lines applied once the handshake is over, the printer's deadlines
/// checked. Returns whether the
/// user's input is still open.
async fn converse<M: Peer, T: Transport>(
    mut driver: Driver<M, T>,
    input: &mut tokio::sync::mpsc::Receiver<String>,
    printer: &Mutex<FramePrinter>,
) -> bool {
    let mut input_open = true;
    let finish = tokio::time::sleep(Duration::MAX / 4);
    tokio::pin!(finish);
    loop {
        let deadline = printer.lock().ok().and_then(|p| p.next_deadline());
        // The user's lines wait until the handshake is over.
        let take_input = input_open && driver.machine().ready();
        tokio::select! {
            activity = driver.next() => match activity {
                None => return input_open,
                Some(Activity::Event(event)) => {
                    let over = matches!(event, Event::Disconnected(_));
                    note(printer, format!("event {event:?}"));
                    if over {
                        return input_open;
                    }
                }
                Some(Activity::Refused(error)) => note(printer, format!("refused: {error}")),
            },
            line = input.recv(), if take_input => match line {
                None => {
                    input_open = false;
                    driver.machine().finish();
                    finish.as_mut().reset(tokio::time::Instant::now() + FINISH_TIMEOUT);
                }
                Some(line) => match user_line(driver.machine(), &line) {
                    Ok(Some(text)) => note(printer, text),
                    Ok(None) => {}
                    Err(error) => note(printer, format!("not sent: {error}")),
                },
            },
            () = sleep_until_some(deadline) => {
                if let Ok(mut printer) = printer.lock() {
                    printer.tick();
                }
            }
            () = &mut finish => {
                note(printer, "the peer did not finish closing in time");
                return false;
            }
        }
    }
}

async fn sleep_until_some(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline.into()).await,
        None => std::future::pending().await,
    }
}

/// `serve litebridge`: a litebridge server (`--password` required; `--self-signed
/// HOST` serves `wss`). One client at a time; the user's lines go to it: type a
/// RESPONSE with the nonce of a REQUEST it printed to answer it, or a REQUEST or
/// DISPATCH of your own. The end of input closes the client with 1001 and stops.
async fn serve(
    options: PeerOptions,
    listen: std::net::SocketAddr,
    console: Console,
) -> Result<(), Failure> {
    let Console { mut input, output } = console;
    let password = options
        .password
        .clone()
        .ok_or("serve litebridge needs --password")?;
    let tls = match &options.self_signed {
        Some(host) => Some(console::self_signed(host, options.cert_out.as_deref())?.0),
        None => None,
    };
    let listener = TcpListener::bind(listen).await?;
    let scheme = if tls.is_some() { "wss" } else { "ws" };
    let printer = Arc::new(Mutex::new(FramePrinter::new::<Litebridge>(
        &options, output,
    )));
    note(
        &printer,
        format!(
            "serving litebridge on {scheme}://{}: one client at a time; type REQUEST, RESPONSE \
             or DISPATCH frames",
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
        let machine = Server::new(ServerConfig::new(password.as_str()));
        let open = match &tls {
            None => {
                let accept =
                    tokio::time::timeout(console::HANDSHAKE_TIMEOUT, ws::accept_tcp(stream));
                match accept.await {
                    Ok(Ok(transport)) => {
                        opened(&printer, conn);
                        let tap = tap(printer.clone(), conn, Direction::ToClient);
                        converse(
                            Driver::new(machine, transport).with_tap(tap),
                            &mut input,
                            &printer,
                        )
                        .await
                    }
                    Ok(Err(error)) => handshake_failed(&printer, error),
                    Err(_) => handshake_failed(&printer, "timed out"),
                }
            }
            Some(config) => {
                let ws_config = ws::WsConfig::default();
                match tls::accept(stream, config.clone(), &ws_config).await {
                    Ok(transport) => {
                        opened(&printer, conn);
                        let tap = tap(printer.clone(), conn, Direction::ToClient);
                        converse(
                            Driver::new(machine, transport).with_tap(tap),
                            &mut input,
                            &printer,
                        )
                        .await
                    }
                    Err(error) => handshake_failed(&printer, error),
                }
            }
        };
        if !open {
            return Ok(());
        }
    }
}

fn opened(printer: &Mutex<FramePrinter>, conn: u64) {
    if let Ok(mut printer) = printer.lock() {
        printer.frame(conn, Direction::ToServer, FrameData::Open);
    }
}

/// Notes a failed handshake; the input is still open.
fn handshake_failed(printer: &Mutex<FramePrinter>, error: impl std::fmt::Display) -> bool {
    note(printer, format!("a client's handshake failed: {error}"));
    true
}

/// `connect litebridge`: a litebridge client (`--password` required; a `wss://`
/// target needs `--roots`). The user's lines are REQUEST, RESPONSE and DISPATCH
/// frames; the server's requests are printed for the user to answer. Ends when the
/// server closes, or the input ends (the client then shuts down with 1000).
async fn connect(options: PeerOptions, target: String, console: Console) -> Result<(), Failure> {
    let Console { mut input, output } = console;
    let password = options
        .password
        .clone()
        .ok_or("connect litebridge needs --password")?;
    let printer = Arc::new(Mutex::new(FramePrinter::new::<Litebridge>(
        &options, output,
    )));
    let machine = Client::new(ClientConfig::new(password.as_str()));
    if target.starts_with("wss://") {
        let roots = options
            .roots
            .as_deref()
            .ok_or("a wss:// target needs --roots PEM")?;
        let roots = console::load_roots(roots)?;
        let (transport, _) = tls::connect(target.as_str(), roots, &ws::WsConfig::default()).await?;
        opened(&printer, 1);
        let tap = tap(printer.clone(), 1, Direction::ToServer);
        converse(
            Driver::new(machine, transport).with_tap(tap),
            &mut input,
            &printer,
        )
        .await;
    } else {
        let connect =
            tokio::time::timeout(console::HANDSHAKE_TIMEOUT, ws::connect(target.as_str()));
        let (transport, _) = connect.await.map_err(|_| "connecting timed out")??;
        opened(&printer, 1);
        let tap = tap(printer.clone(), 1, Direction::ToServer);
        converse(
            Driver::new(machine, transport).with_tap(tap),
            &mut input,
            &printer,
        )
        .await;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
