//! Tachyon in wirescope: decoding and encoding commands, and the demo.

use std::collections::BTreeMap;
use std::error::Error;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use proto_core::{Close, Jitter, Limits, Payload, Transmit};
use proto_tokio::{Activity, Driver, Incoming, Mailbox, Traffic, Transport, ws};
use tachyon_proto::lobby_state::Lobby;
use tachyon_proto::message::{
    AllyTeamSetup, AssetStatus, AutohostKillRequest, AutohostKillRequestData, GameOption,
    LobbyAllyTeam, LobbyCreateRequest, LobbyCreateRequestData, LobbyCreateResponse, LobbyDetails,
    LobbyJoinFailReason, LobbyJoinRequest, LobbyJoinRequestData, LobbyJoinResponse, LobbyPlayer,
    LobbySpectator, LobbyUpdatedEvent, StartBox, SystemServerStatsOkResponseData,
    SystemServerStatsRequest, SystemServerStatsResponse, TeamSetup,
};
use tachyon_proto::version::{self, Negotiated, Version};
use tachyon_proto::{
    Command, Connection, ConnectionConfig, Disconnect, Event, Failure, GenericReason, JsonObject,
    Role, decode_with, encode,
};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::header::{AUTHORIZATION, SEC_WEBSOCKET_PROTOCOL};
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode};

use crate::transcript::{SentFrame, Transcript};

/// Decodes one command, checking it against its schema, and shows its metadata and
/// typed form.
pub(crate) fn decode_value(text: &str, limits: &Limits) -> Result<String, String> {
    let command = decode_with(text.as_bytes(), limits).map_err(|e| format!("{e}  [{e:?}]"))?;
    let meta = command.meta();
    Ok(format!(
        "{} {} ({} → {}, scopes: {}) messageId {:?}\n{command:#?}",
        meta.kind,
        meta.id,
        meta.source,
        meta.target,
        meta.scopes.join(" "),
        command.message_id(),
    ))
}

/// Checks one command and prints its canonical encoding.
pub(crate) fn encode_value(text: &str, limits: &Limits) -> Result<String, String> {
    decode_with(text.as_bytes(), limits)
        .map(|command| encode(&command))
        .map_err(|e| format!("{e}  [{e:?}]"))
}

/// The version the demo server speaks.
const SUPPORTED: [Version; 1] = [Version::V0];
/// Pings far more often than the spec's 10 s, so the demo shows them.
const PING_MIN: Duration = Duration::from_millis(150);
const PING_MAX: Duration = Duration::from_millis(300);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
const LOBBY_SCOPE: &str = "tachyon.lobby";

type Failed = Box<dyn Error + Send + Sync>;

/// Who a Bearer token stands for on the demo server.
#[derive(Debug)]
struct Account {
    token: &'static str,
    user_id: &'static str,
    name: &'static str,
    scopes: &'static [&'static str],
}

const ACCOUNTS: [Account; 3] = [
    Account {
        token: "alice-token",
        user_id: "351",
        name: "alice",
        scopes: &[LOBBY_SCOPE],
    },
    Account {
        token: "bob-token",
        user_id: "352",
        name: "bob",
        scopes: &[LOBBY_SCOPE],
    },
    // A token granted for something else: it opens the socket, not the lobby.
    Account {
        token: "guest-token",
        user_id: "353",
        name: "guest",
        scopes: &["openid"],
    },
];

/// Runs the scripted Tachyon session and checks each step went as the
/// specification says.
pub(crate) async fn demo() -> Result<(), Box<dyn Error>> {
    demo_inner().await.map_err(|error| error as Box<dyn Error>)
}

async fn demo_inner() -> Result<(), Failed> {
    let transcript = Transcript::new();
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?.to_string();
    transcript.heading(&format!(
        "tachyon: server on ws://{addr}/tachyon speaking {}, pings every {}–{} ms",
        SUPPORTED[0],
        PING_MIN.as_millis(),
        PING_MAX.as_millis()
    ));
    let hub = Arc::new(Mutex::new(Hub::default()));
    let server = tokio::spawn(accept_loop(listener, hub, transcript));

    transcript.heading("the handshake: a Bearer token and a subprotocol both must be acceptable");
    refused_handshake(&addr, "alice-token", &[Version::new(1, 0)], transcript).await?;
    refused_handshake(&addr, "stolen-token", &[Version::V0], transcript).await?;

    transcript
        .heading("alice offers v0.1 (a higher minor): accepted; she asks for the server stats");
    let mut alice = Client::connect(&addr, &ACCOUNTS[0], &[Version::new(0, 1)], transcript).await?;
    let stats = alice.request(stats_request()).await?;
    let Command::SystemServerStatsResponse(SystemServerStatsResponse {
        result: Ok(SystemServerStatsOkResponseData { user_count: 1, .. }),
        ..
    }) = stats
    else {
        return Err(format!("expected one user online, got {stats:?}").into());
    };

    transcript.heading("alice creates a lobby");
    let created = alice.request(create_request()).await?;
    let Command::LobbyCreateResponse(LobbyCreateResponse {
        result: Ok(details),
        ..
    }) = created
    else {
        return Err(format!("expected the new lobby, got {created:?}").into());
    };
    let mut alices_lobby = Lobby::new(details);
    transcript.line("alice", format!("is in {}", describe_lobby(&alices_lobby)));

    transcript.heading("bob joins it; alice's client applies the lobby/updated patch");
    let mut bob = Client::connect(&addr, &ACCOUNTS[1], &[Version::V0], transcript).await?;
    let joined = bob
        .request(LobbyJoinRequest {
            message_id: String::new(),
            data: LobbyJoinRequestData {
                id: alices_lobby.id().to_owned(),
                extra: JsonObject::new(),
            },
        })
        .await?;
    let Command::LobbyJoinResponse(LobbyJoinResponse {
        result: Ok(details),
        ..
    }) = joined
    else {
        return Err(format!("expected to join, got {joined:?}").into());
    };
    transcript.line(
        "bob",
        format!("is in {}", describe_lobby(&Lobby::new(details))),
    );
    let update = alice.notification().await?;
    let Command::LobbyUpdatedEvent(LobbyUpdatedEvent { data, .. }) = update else {
        return Err(format!("expected lobby/updated, got {update:?}").into());
    };
    alices_lobby.apply(&data)?;
    transcript.line(
        "alice",
        format!("applied the patch: {}", describe_lobby(&alices_lobby)),
    );
    if !alices_lobby
        .details()
        .spectators
        .contains_key(ACCOUNTS[1].user_id)
    {
        return Err("bob is missing from alice's lobby".into());
    }

    transcript.heading("unauthorized commands are refused");
    let mut guest = Client::connect(&addr, &ACCOUNTS[2], &[Version::V0], transcript).await?;
    let refused = guest.request(stats_request()).await?;
    expect_failure(&refused, "unauthorized")?;
    guest.close().await?;
    let kill = AutohostKillRequest {
        message_id: String::new(),
        data: AutohostKillRequestData {
            battle_id: "75bfc493-2b9d-495d-a453-06722fdca2ea".into(),
            extra: JsonObject::new(),
        },
    };
    match alice.driver.machine().send_request(Instant::now(), kill) {
        Err(error) => transcript.line("alice", format!("her library will not send it: {error}")),
        Ok(id) => return Err(format!("a user sent autohost/kill as {id}").into()),
    }
    raw_session(
        &addr,
        transcript,
        &[
            (
                r#"{"type":"request","messageId":"r1","commandId":"autohost/kill","data":{"battleId":"75bfc493-2b9d-495d-a453-06722fdca2ea"}}"#,
                Some("unauthorized"),
            ),
            (
                r#"{"type":"request","messageId":"r2","commandId":"lobby/dance"}"#,
                Some("command_unimplemented"),
            ),
            (
                r#"{"type":"request","messageId":"r3","commandId":"lobby/join","data":{"id":7}}"#,
                Some("invalid_request"),
            ),
            (r#"{"type":"request","messageId":"#, None),
        ],
    )
    .await?;

    transcript.heading("the server keeps pinging; the clients' WebSockets answer");
    let (a, b) = tokio::join!(alice.idle(PING_MAX * 2), bob.idle(PING_MAX * 2));
    a.and(b)?;

    transcript.heading("a client that stops answering pings is closed with 1008");
    // Alice and bob keep reading meanwhile, or they would be closed too.
    let span = PING_MAX * 3;
    let (silent, a, b) = tokio::join!(
        silent_client(&addr, transcript),
        alice.idle(span),
        bob.idle(span)
    );
    silent.and(a).and(b)?;

    transcript.heading("alice and bob leave");
    alice.close().await?;
    bob.close().await?;
    settle().await;
    server.abort();
    transcript.end();
    Ok(())
}

/// The lobby server's shared state.
#[derive(Default)]
struct Hub {
    lobbies: BTreeMap<String, LobbyDetails>,
    /// Every connected user's mailbox, by user id.
    online: BTreeMap<&'static str, Mailbox<Connection>>,
    created: u32,
}

type SharedHub = Arc<Mutex<Hub>>;

fn lock(hub: &SharedHub) -> std::sync::MutexGuard<'_, Hub> {
    // The hub holds plain data; a panicked holder leaves nothing half-written.
    hub.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Hub {
    /// Serves one request of `account`: the response, and the events other users
    /// must hear of it.
    fn serve(&mut self, account: &Account, request: Command) -> (Command, Vec<Notice>) {
        let message_id = request.message_id().to_owned();
        match request {
            Command::SystemServerStatsRequest(_) => {
                let data = SystemServerStatsOkResponseData {
                    user_count: i64::try_from(self.online.len()).unwrap_or(i64::MAX),
                    extra: JsonObject::new(),
                };
                let response = SystemServerStatsResponse {
                    message_id,
                    result: Ok(data),
                };
                (response.into(), vec![])
            }
            Command::LobbyCreateRequest(create) => {
                self.created += 1;
                let details = new_lobby(format!("lobby-{}", self.created), account, create.data);
                self.lobbies.insert(details.id.clone(), details.clone());
                let response = LobbyCreateResponse {
                    message_id,
                    result: Ok(details),
                };
                (response.into(), vec![])
            }
            Command::LobbyJoinRequest(join) => self.join(account, message_id, &join.data.id),
            other => {
                let unimplemented = Command::failed_response(
                    other.command_id(),
                    message_id,
                    GenericReason::CommandUnimplemented,
                    None,
                );
                match unimplemented {
                    Some(response) => (response, vec![]),
                    // Only events lack a response, and events are not requests.
                    None => (other, vec![]),
                }
            }
        }
    }

    /// Seats `account` as a spectator and tells the lobby's other members.
    fn join(
        &mut self,
        account: &Account,
        message_id: String,
        lobby_id: &str,
    ) -> (Command, Vec<Notice>) {
        let Some(lobby) = self.lobbies.get_mut(lobby_id) else {
            let failure =
                Failure::with_details(LobbyJoinFailReason::InvalidRequest, "no such lobby");
            let response = LobbyJoinResponse {
                message_id,
                result: Err(failure),
            };
            return (response.into(), vec![]);
        };
        let spectator = LobbySpectator {
            id: account.user_id.to_owned(),
            join_queue_position: None,
            extra: JsonObject::new(),
        };
        lobby
            .spectators
            .insert(account.user_id.to_owned(), spectator);
        // A merge patch names only what changed.
        let patch = serde_json::json!({
            "id": lobby_id,
            "spectators": { account.user_id: { "id": account.user_id } },
        });
        let notices = serde_json::from_value(patch)
            .map(|data| LobbyUpdatedEvent {
                message_id: String::new(),
                data,
            })
            .map(|event| {
                members(lobby)
                    .filter(|member| *member != account.user_id)
                    .filter_map(|member| self.online.get(member))
                    .map(|mailbox| (mailbox.clone(), event.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let response = LobbyJoinResponse {
            message_id,
            result: Ok(lobby.clone()),
        };
        (response.into(), notices)
    }
}

/// An event for another user's connection.
type Notice = (Mailbox<Connection>, LobbyUpdatedEvent);

fn members(lobby: &LobbyDetails) -> impl Iterator<Item = &str> {
    lobby
        .players
        .keys()
        .chain(lobby.spectators.keys())
        .map(String::as_str)
}

fn new_lobby(id: String, owner: &Account, request: LobbyCreateRequestData) -> LobbyDetails {
    let ally_team_config = request
        .ally_team_config
        .into_iter()
        .enumerate()
        .map(|(index, ally)| {
            let teams = ally
                .teams
                .into_iter()
                .enumerate()
                .map(|(index, team)| (index.to_string(), team))
                .collect();
            let ally = LobbyAllyTeam {
                start_box: ally.start_box,
                max_teams: ally.max_teams,
                teams,
                extra: JsonObject::new(),
            };
            (index.to_string(), ally)
        })
        .collect();
    let owner_seat = LobbyPlayer {
        id: owner.user_id.to_owned(),
        ally_team: "0".into(),
        team: "0".into(),
        player: "0".into(),
        is_ready: false,
        asset_status: AssetStatus::Complete,
        extra: JsonObject::new(),
    };
    LobbyDetails {
        id,
        name: request.name,
        map_name: request.map_name,
        engine_version: "2025.04.10".into(),
        game_version: "Beyond All Reason test-27718".into(),
        game_options: request.game_options.unwrap_or_default(),
        ally_team_config,
        are_bosses_enabled: request.are_bosses_enabled.unwrap_or(false),
        bosses: BTreeMap::new(),
        players: BTreeMap::from([(owner.user_id.to_owned(), owner_seat)]),
        spectators: BTreeMap::new(),
        bots: BTreeMap::new(),
        current_battle: None,
        current_vote: None,
        vote_history: None,
        extra: JsonObject::new(),
    }
}

fn create_request() -> LobbyCreateRequest {
    let side = |top: f64, bottom: f64| AllyTeamSetup {
        max_teams: 1,
        start_box: StartBox {
            top,
            bottom,
            left: 0.0,
            right: 1.0,
            extra: JsonObject::new(),
        },
        teams: vec![TeamSetup {
            max_players: 1,
            extra: JsonObject::new(),
        }],
        extra: JsonObject::new(),
    };
    let option = GameOption {
        value: "1000".into(),
        extra: JsonObject::new(),
    };
    LobbyCreateRequest {
        message_id: String::new(),
        data: LobbyCreateRequestData {
            name: "alice's 1v1".into(),
            map_name: "Red Comet Remake".into(),
            ally_team_config: vec![side(0.0, 0.25), side(0.75, 1.0)],
            are_bosses_enabled: None,
            game_options: Some(BTreeMap::from([("startmetal".to_owned(), option)])),
            tags: None,
            extra: JsonObject::new(),
        },
    }
}

/// A one-line summary of a lobby.
fn describe_lobby(lobby: &Lobby) -> String {
    let details = lobby.details();
    format!(
        "{} {:?} on {} (ally teams: {}; players: {:?}; spectators: {:?})",
        details.id,
        details.name,
        details.map_name,
        lobby.ally_teams().count(),
        details.players.keys().collect::<Vec<_>>(),
        details.spectators.keys().collect::<Vec<_>>(),
    )
}

/// `request lobby/join` for a frame, or why it is not a command.
fn annotate(text: &str) -> String {
    const SHOWN: usize = 160;
    let shown = match text.char_indices().nth(SHOWN) {
        Some((end, _)) => format!("{}… ({} bytes)", &text[..end], text.len()),
        None => text.to_owned(),
    };
    match decode_with(text.as_bytes(), &Limits::default()) {
        Ok(command) => format!("{} {:<20} {shown}", command.kind(), command.command_id()),
        Err(error) => format!("(undecodable) {shown}  ({error})"),
    }
}

/// A frame for `demo --json`.
fn sent_frame(text: &str) -> SentFrame {
    match decode_with(text.as_bytes(), &Limits::default()) {
        Ok(command) => SentFrame {
            kind: format!("{} {}", command.kind(), command.command_id()),
            value: serde_json::from_str(text).map_err(|error| error.to_string()),
        },
        Err(error) => SentFrame {
            kind: "(undecodable)".to_owned(),
            value: Err(format!("{error}  [{error:?}]")),
        },
    }
}

/// A tap printing what `who` sends, and the pongs it receives.
fn tap(transcript: Transcript, who: String) -> impl FnMut(Traffic<'_>) + Send + 'static {
    move |traffic| match traffic {
        Traffic::Sent(Payload::Text(text)) => {
            transcript.sent(&who, "tachyon", sent_frame(text), annotate(text))
        }
        Traffic::Sent(Payload::Ping(_)) => transcript.line(&who, "→ ping"),
        Traffic::Sent(other) => transcript.line(&who, format!("→ {other:?}")),
        Traffic::Received(Incoming::Pong(_)) => transcript.line(&who, "← pong"),
        Traffic::Closing(close) => transcript.sent(
            &who,
            "tachyon",
            SentFrame::close(close),
            format!("CLOSE {close}"),
        ),
        Traffic::Connected | Traffic::Received(_) => {}
    }
}

/// Lets the server side print the end of one scene before the next begins.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(20)).await;
}

/// Why the server refuses a handshake: the HTTP status and a short explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Refusal {
    status: StatusCode,
    why: String,
}

impl Refusal {
    fn new(status: StatusCode, why: impl Into<String>) -> Self {
        Refusal {
            status,
            why: why.into(),
        }
    }

    fn into_response(self) -> ErrorResponse {
        let mut response = ErrorResponse::new(Some(self.why));
        *response.status_mut() = self.status;
        response
    }
}

/// The server's handshake check: the path, the Bearer token, the subprotocol.
fn admit(
    request: &Request,
    mut response: Response,
) -> Result<(Response, &'static Account, Negotiated), Refusal> {
    if request.uri().path() != "/tachyon" {
        return Err(Refusal::new(
            StatusCode::NOT_FOUND,
            "the endpoint is /tachyon",
        ));
    }
    let token = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    let Some(account) = ACCOUNTS.iter().find(|a| Some(a.token) == token) else {
        return Err(Refusal::new(
            StatusCode::UNAUTHORIZED,
            "unknown access token",
        ));
    };
    let offered = request
        .headers()
        .get_all(SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','));
    let negotiated = version::negotiate(offered, &SUPPORTED)
        .map_err(|error| Refusal::new(StatusCode::BAD_REQUEST, error.to_string()))?;
    let answer = HeaderValue::from_str(&negotiated.subprotocol)
        .map_err(|error| Refusal::new(StatusCode::BAD_REQUEST, error.to_string()))?;
    response
        .headers_mut()
        .insert(SEC_WEBSOCKET_PROTOCOL, answer);
    Ok((response, account, negotiated))
}

async fn accept_loop(listener: TcpListener, hub: SharedHub, transcript: Transcript) {
    let mut connections = 0;
    while let Ok((stream, _)) = listener.accept().await {
        connections += 1;
        let hub = hub.clone();
        tokio::spawn(serve(stream, hub, transcript, connections));
    }
}

/// One connection on the server: the handshake, then the lobby service.
async fn serve(stream: tokio::net::TcpStream, hub: SharedHub, transcript: Transcript, n: u64) {
    let who = format!("server#{n}");
    let _ = stream.set_nodelay(true);
    let mut admitted = None;
    let mut refusal = None;
    // tungstenite's callback type returns the whole HTTP error response.
    #[allow(clippy::result_large_err)]
    let handshake = ws::accept_with(stream, |request: &Request, response: Response| match admit(
        request, response,
    ) {
        Ok((response, account, negotiated)) => {
            admitted = Some((account, negotiated));
            Ok(response)
        }
        Err(refused) => {
            refusal = Some(refused.clone());
            Err(refused.into_response())
        }
    })
    .await;
    let (Ok(transport), Some((account, negotiated))) = (handshake, admitted) else {
        if let Some(Refusal { status, why }) = refusal {
            transcript.line(&who, format!("refuses the handshake: {status} {why:?}"));
        }
        return;
    };
    transcript.line(
        &who,
        format!(
            "admits {} ({}), subprotocol {}, speaking {}",
            account.name,
            account.scopes.join(" "),
            negotiated.subprotocol,
            negotiated.speaking
        ),
    );
    let mut config = ConnectionConfig::server(Role::User, account.scopes.iter().copied());
    config.ping_interval = Some(Jitter::new(PING_MIN, PING_MAX));
    config.request_timeout = REQUEST_TIMEOUT;
    config.seed = n;
    let mut driver =
        Driver::new(Connection::new(config), transport).with_tap(tap(transcript, who.clone()));
    lock(&hub).online.insert(account.user_id, driver.mailbox());
    while let Some(activity) = driver.next().await {
        match activity {
            Activity::Event(Event::Request(request)) => {
                let (response, notices) = lock(&hub).serve(account, request);
                if let Err(error) = driver.machine().respond(response) {
                    transcript.line(&who, format!("could not respond: {error}"));
                }
                for (mailbox, event) in notices {
                    // The member may have just left; nothing to tell then.
                    let _ = mailbox
                        .send(move |connection: &mut Connection, _| {
                            let _ = connection.send_event(event);
                        })
                        .await;
                }
            }
            Activity::Event(Event::Disconnected(disconnect)) => {
                transcript.line(&who, format!("disconnected: {disconnect:?}"));
            }
            Activity::Event(event) => transcript.line(&who, format!("event {event:?}")),
            Activity::Refused(error) => transcript.line(&who, format!("refused: {error}")),
        }
    }
    lock(&hub).online.remove(account.user_id);
}

/// A client's ws:// request carrying its token and its offered versions.
fn handshake_request(addr: &str, token: &str, versions: &[Version]) -> Result<Request, Failed> {
    let mut request = format!("ws://{addr}/tachyon").into_client_request()?;
    let headers = request.headers_mut();
    headers.insert(
        AUTHORIZATION,
        HeaderValue::from_str(&format!("Bearer {token}"))?,
    );
    headers.insert(
        SEC_WEBSOCKET_PROTOCOL,
        HeaderValue::from_str(&version::offer_header(versions))?,
    );
    Ok(request)
}

async fn refused_handshake(
    addr: &str,
    token: &str,
    versions: &[Version],
    transcript: Transcript,
) -> Result<(), Failed> {
    let offer = version::offer_header(versions);
    transcript.line(
        "client",
        format!("connects with token {token:?}, offering {offer}"),
    );
    match ws::connect(handshake_request(addr, token, versions)?).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            let body = response
                .body()
                .as_deref()
                .map(String::from_utf8_lossy)
                .unwrap_or_default();
            transcript.line(
                "client",
                format!("refused: HTTP {} {body:?}", response.status()),
            );
            settle().await;
            Ok(())
        }
        Err(error) => Err(format!("expected an HTTP refusal, got {error}").into()),
        Ok(_) => Err("the server accepted a handshake it should refuse".into()),
    }
}

/// A user's client: the connection machine over a WebSocket.
struct Client<T> {
    name: &'static str,
    driver: Driver<Connection, T>,
    transcript: Transcript,
}

impl Client<ws::WsTransport<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>> {
    async fn connect(
        addr: &str,
        account: &'static Account,
        versions: &[Version],
        transcript: Transcript,
    ) -> Result<Self, Failed> {
        let request = handshake_request(addr, account.token, versions)?;
        let (transport, response) = ws::connect(request).await?;
        let answer = response
            .headers()
            .get(SEC_WEBSOCKET_PROTOCOL)
            .and_then(|value| value.to_str().ok())
            .ok_or("the server chose no subprotocol")?;
        // The client must close if the server picked something it did not offer.
        version::accepted(answer, versions)?;
        transcript.line(
            account.name,
            format!(
                "connected: offered {}, the server chose {answer}",
                version::offer_header(versions)
            ),
        );
        let mut config = ConnectionConfig::client(Role::User);
        config.request_timeout = REQUEST_TIMEOUT;
        config.seed = account.user_id.parse().unwrap_or_default();
        let driver = Driver::new(Connection::new(config), transport)
            .with_tap(tap(transcript, account.name.to_owned()));
        Ok(Client {
            name: account.name,
            driver,
            transcript,
        })
    }
}

impl<T: Transport> Client<T> {
    /// The next event, or a failure if none comes in time.
    async fn event(&mut self) -> Result<Event, Failed> {
        let activity = tokio::time::timeout(Duration::from_secs(5), self.driver.next())
            .await
            .map_err(|_| "the demo stalled")?
            .ok_or("the connection ended")?;
        match activity {
            Activity::Event(event) => Ok(event),
            Activity::Refused(error) => Err(format!("{} refused input: {error}", self.name).into()),
        }
    }

    /// Sends `request` and waits for its response.
    async fn request(&mut self, request: impl Into<Command>) -> Result<Command, Failed> {
        let id = self
            .driver
            .machine()
            .send_request(Instant::now(), request)?;
        match self.event().await? {
            Event::Response(response) if response.message_id() == id => {
                self.transcript
                    .line(self.name, format!("response {}", summary(&response)));
                Ok(response)
            }
            other => Err(format!("expected the response to {id}, got {other:?}").into()),
        }
    }

    /// Waits for the server's next event.
    async fn notification(&mut self) -> Result<Command, Failed> {
        match self.event().await? {
            Event::Notification(command) => {
                self.transcript
                    .line(self.name, format!("event {}", command.command_id()));
                Ok(command)
            }
            other => Err(format!("expected an event, got {other:?}").into()),
        }
    }

    /// Stays connected for `span`, expecting nothing but pings.
    async fn idle(&mut self, span: Duration) -> Result<(), Failed> {
        match tokio::time::timeout(span, self.driver.next()).await {
            Err(_) => Ok(()),
            Ok(activity) => Err(format!("unexpected while idle: {activity:?}").into()),
        }
    }

    /// Closes with 1000.
    async fn close(&mut self) -> Result<(), Failed> {
        let close = Close::new(1000, "bye");
        self.driver.machine().close(close.clone());
        match self.event().await? {
            Event::Disconnected(Disconnect::Local(done)) if done == close => Ok(()),
            other => Err(format!("expected the close, got {other:?}").into()),
        }
    }
}

/// `success`, or `failed` with its reason, for the transcript.
fn summary(response: &Command) -> String {
    let frame: serde_json::Value = serde_json::from_str(&encode(response)).unwrap_or_default();
    match frame.get("status").and_then(|status| status.as_str()) {
        Some("failed") => format!(
            "{}: failed, {} ({})",
            response.command_id(),
            frame["reason"].as_str().unwrap_or_default(),
            frame["details"].as_str().unwrap_or_default()
        ),
        _ => format!("{}: success", response.command_id()),
    }
}

/// Checks `response` is `failed` with `reason`.
fn expect_failure(response: &Command, reason: &str) -> Result<(), Failed> {
    let frame: serde_json::Value = serde_json::from_str(&encode(response))?;
    if frame["status"] == "failed" && frame["reason"] == reason {
        Ok(())
    } else {
        Err(format!("expected failed/{reason}, got {frame}").into())
    }
}

/// A hand-driven client (bob's token) sending `frames` verbatim; each is expected
/// to be answered `failed` with the reason given, or, with `None`, to make the
/// server close with 1008.
async fn raw_session(
    addr: &str,
    transcript: Transcript,
    frames: &[(&str, Option<&str>)],
) -> Result<(), Failed> {
    let who = "raw client";
    let (mut transport, _) =
        ws::connect(handshake_request(addr, "bob-token", &[Version::V0])?).await?;
    transcript.line(who, "connected with bob's token, sends frames by hand");
    for (frame, answer) in frames {
        transcript.sent(who, "tachyon", sent_frame(frame), annotate(frame));
        let transmit = Transmit {
            to: None,
            payload: Payload::Text((*frame).to_owned()),
        };
        transport.send(transmit).await?;
        loop {
            let incoming = tokio::time::timeout(Duration::from_secs(5), transport.recv()).await?;
            match (incoming, answer) {
                (Incoming::Text(text), Some(reason)) => {
                    transcript.line(who, format!("← {}", annotate(&text)));
                    let value: serde_json::Value = serde_json::from_str(&text)?;
                    if value["reason"] != *reason {
                        return Err(format!("expected {reason}, got {text}").into());
                    }
                    break;
                }
                (Incoming::Closed(Some(close)), None) if close.code == 1008 => {
                    transcript.line(who, format!("closed by the server: {close}"));
                    settle().await;
                    return Ok(());
                }
                (Incoming::Pong(_), _) => {}
                (other, _) => return Err(format!("unexpected {other:?} after {frame}").into()),
            }
        }
    }
    Ok(())
}

/// A client that never reads, so its WebSocket never answers the server's pings.
async fn silent_client(addr: &str, transcript: Transcript) -> Result<(), Failed> {
    let who = "silent client";
    let (mut transport, _) =
        ws::connect(handshake_request(addr, "bob-token", &[Version::V0])?).await?;
    transcript.line(who, "connected, then stops reading (so sends no pongs)");
    tokio::time::sleep(PING_MAX * 3).await;
    loop {
        match tokio::time::timeout(Duration::from_secs(5), transport.recv()).await? {
            Incoming::Closed(Some(close)) if close.code == 1008 => {
                transcript.line(who, format!("reads again: closed by the server: {close}"));
                settle().await;
                return Ok(());
            }
            Incoming::Pong(_) => {}
            other => return Err(format!("expected close 1008, got {other:?}").into()),
        }
    }
}

/// A stats request; the connection fills in its `messageId`.
fn stats_request() -> SystemServerStatsRequest {
    SystemServerStatsRequest {
        message_id: String::new(),
    }
}
