//! Litebridge in wirescope: line decoding and encoding, and the demo.

use std::error::Error;
use std::time::{Duration, Instant};

use litecord_proto::{
    Client, ClientConfig, Disconnect, Event, Message, RawJson, RequestFailure, Server,
    ServerConfig, decode, encode,
};
use proto_core::{Close, Limits, Payload, Transmit};
use proto_tokio::{Activity, Driver, Incoming, Traffic, Transport, ws};
use tokio::net::TcpListener;

use crate::transcript::{SentFrame, Transcript};

/// Decodes one frame into its typed form.
pub(crate) fn decode_line(line: &str, limits: &Limits) -> Result<String, String> {
    decode(line.as_bytes(), limits)
        .map(|message| format!("{:<13} {message:?}", message.op().name()))
        .map_err(|error| format!("{error}  [{error:?}]"))
}

/// Checks one message and prints its canonical encoding.
pub(crate) fn encode_line(line: &str, limits: &Limits) -> Result<String, String> {
    decode(line.as_bytes(), limits)
        .map(|message| encode(&message))
        .map_err(|error| format!("{error}  [{error:?}]"))
}

const PASSWORD: &str = "helloworld";
const HB_INTERVAL: Duration = Duration::from_millis(200);
const GRACE: Duration = Duration::from_millis(100);
const REQUEST_TIMEOUT: Duration = Duration::from_millis(300);

type Failure = Box<dyn Error + Send + Sync>;

fn json(value: &serde_json::Value) -> RawJson<'static> {
    // A serde_json::Value always serializes.
    RawJson::from_value(value).unwrap_or_else(|_| RawJson::from_u64(0))
}

/// Names the op of a frame for the transcript.
fn annotate(text: &str) -> String {
    match decode(text.as_bytes(), &Limits::default()) {
        Ok(message) => format!("{:<13} {text}", message.op().name()),
        Err(error) => format!("{:<13} {text}  ({error})", "(bad frame)"),
    }
}

/// A frame for `demo --json`.
fn sent_frame(text: &str) -> SentFrame {
    match decode(text.as_bytes(), &Limits::default()) {
        Ok(message) => SentFrame {
            kind: message.op().name().to_owned(),
            value: serde_json::from_str(text).map_err(|error| error.to_string()),
        },
        Err(error) => SentFrame {
            kind: "(bad frame)".to_owned(),
            value: Err(format!("{error}  [{error:?}]")),
        },
    }
}

/// A tap printing what `who` sends.
fn tap(transcript: Transcript, who: String) -> impl FnMut(Traffic<'_>) + Send + 'static {
    move |traffic| match traffic {
        Traffic::Sent(Payload::Text(text)) => {
            transcript.sent(&who, "litebridge", sent_frame(text), annotate(text))
        }
        Traffic::Sent(other) => transcript.line(&who, format!("→ {other:?}")),
        Traffic::Closing(close) => transcript.sent(
            &who,
            "litebridge",
            SentFrame::close(close),
            format!("CLOSE {close}"),
        ),
        Traffic::Connected => transcript.line(&who, "connected"),
        Traffic::Received(_) => {}
    }
}

/// Runs the scripted litebridge session and checks each step went as the
/// specification says.
pub(crate) async fn demo() -> Result<(), Box<dyn Error>> {
    demo_inner().await.map_err(|error| error as Box<dyn Error>)
}

async fn demo_inner() -> Result<(), Failure> {
    let transcript = Transcript::new();
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("ws://{}", listener.local_addr()?);
    transcript.heading(&format!(
        "litebridge: server on {url}, hb_interval {} ms (+{} ms grace), request timeout {} ms",
        HB_INTERVAL.as_millis(),
        GRACE.as_millis(),
        REQUEST_TIMEOUT.as_millis()
    ));
    let server = tokio::spawn(accept_loop(listener, transcript));

    transcript
        .heading("a client authenticates, requests, dispatches, answers the server, heartbeats");
    well_behaved_client(&url, transcript).await?;

    settle().await;
    transcript.heading("a client with the wrong password is closed with 4001");
    wrong_password(&url, transcript).await?;

    settle().await;
    transcript.heading("a client that heartbeats before HELLO_ACK is closed with 4002");
    raw_session(&url, transcript, &[r#"{"op":2}"#], 4002).await?;

    settle().await;
    transcript.heading("a client that stops heartbeating is closed with 4003");
    raw_session(
        &url,
        transcript,
        &[r#"{"op":1,"password":"helloworld"}"#],
        4003,
    )
    .await?;

    settle().await;
    transcript.heading("a malformed frame is closed with 1008 and the exact error");
    let frames = [
        r#"{"op":1,"password":"helloworld"}"#,
        r#"{"op":4,"w":"echo","n":9}"#,
    ];
    raw_session(&url, transcript, &frames, 1008).await?;

    settle().await;
    server.abort();
    transcript.end();
    Ok(())
}

/// Lets the server side print the end of one scene before the next begins.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(20)).await;
}

/// Accepts connections, each run by its own server machine.
async fn accept_loop(listener: TcpListener, transcript: Transcript) {
    let mut config = ServerConfig::new(PASSWORD);
    config.hb_interval = HB_INTERVAL;
    config.heartbeat_grace = GRACE;
    config.request_timeout = REQUEST_TIMEOUT;
    let mut connections = 0;
    while let Ok((stream, _)) = listener.accept().await {
        connections += 1;
        let who = format!("server#{connections}");
        let config = config.clone();
        tokio::spawn(async move {
            let Ok(transport) = ws::accept_tcp(stream).await else {
                return;
            };
            let driver =
                Driver::new(Server::new(config), transport).with_tap(tap(transcript, who.clone()));
            serve(driver, transcript, who).await;
        });
    }
}

/// The server application: answers `echo`, ignores `slow`, asks the client for its
/// status once authenticated.
async fn serve<T: Transport>(mut driver: Driver<Server, T>, transcript: Transcript, who: String) {
    while let Some(activity) = driver.next().await {
        let event = match activity {
            Activity::Event(event) => event,
            Activity::Refused(error) => {
                transcript.line(&who, format!("refused: {error}"));
                continue;
            }
        };
        transcript.line(&who, format!("event {event:?}"));
        match event {
            Event::Authenticated => {
                let _ = driver
                    .machine()
                    .send_request(Instant::now(), "status", vec![]);
            }
            Event::Request(request) if request.what == "echo" => {
                let args = serde_json::Value::Array(
                    request
                        .args
                        .iter()
                        .filter_map(|arg| arg.parse::<serde_json::Value>().ok())
                        .collect(),
                );
                let _ = driver.machine().respond(&request.nonce, json(&args));
            }
            _ => {}
        }
    }
}

/// Waits for the next event, answering the server's requests on the way.
async fn next_event<T: Transport>(
    driver: &mut Driver<Client, T>,
    transcript: Transcript,
) -> Result<Event, Failure> {
    loop {
        let activity = tokio::time::timeout(Duration::from_secs(5), driver.next())
            .await
            .map_err(|_| "the demo stalled")?
            .ok_or("the client stopped")?;
        let event = match activity {
            Activity::Event(event) => event,
            Activity::Refused(error) => return Err(format!("client refused input: {error}").into()),
        };
        transcript.line("client", format!("event {event:?}"));
        if let Event::Request(request) = &event {
            let status = json(&serde_json::json!({ "healthy": true }));
            driver.machine().respond(&request.nonce, status)?;
            continue;
        }
        return Ok(event);
    }
}

fn client_config(password: &str) -> ClientConfig {
    let mut config = ClientConfig::new(password);
    config.request_timeout = REQUEST_TIMEOUT;
    config
}

async fn well_behaved_client(url: &str, transcript: Transcript) -> Result<(), Failure> {
    let (transport, _) = ws::connect(url).await?;
    let mut driver = Driver::new(Client::new(client_config(PASSWORD)), transport)
        .with_tap(tap(transcript, "client".into()));
    expect(
        next_event(&mut driver, transcript).await?,
        Event::Authenticated,
    )?;

    let args = vec![json(&1.into()), json(&"two".into())];
    let id = driver
        .machine()
        .send_request(Instant::now(), "echo", args)?;
    let response = next_event(&mut driver, transcript).await?;
    expect(
        response,
        Event::Response {
            id,
            data: json(&serde_json::json!([1, "two"])),
        },
    )?;

    driver
        .machine()
        .dispatch("log", vec![json(&"hello from the client".into())])?;
    transcript.line(
        "client",
        "(queues a DISPATCH, then idles for two heartbeat intervals)",
    );
    let idle = tokio::time::timeout(
        HB_INTERVAL * 2 + HB_INTERVAL / 2,
        next_event(&mut driver, transcript),
    )
    .await;
    if let Ok(event) = idle {
        return Err(format!("unexpected while idle: {:?}", event?).into());
    }

    let id = driver
        .machine()
        .send_request(Instant::now(), "slow", vec![])?;
    expect(
        next_event(&mut driver, transcript).await?,
        Event::RequestFailed {
            id,
            reason: RequestFailure::TimedOut,
        },
    )?;

    driver.machine().shutdown();
    expect(
        next_event(&mut driver, transcript).await?,
        Event::Disconnected(Disconnect::Local(Close::new(1000, "client shutting down"))),
    )
}

async fn wrong_password(url: &str, transcript: Transcript) -> Result<(), Failure> {
    let (transport, _) = ws::connect(url).await?;
    let mut driver = Driver::new(Client::new(client_config("hunter2")), transport)
        .with_tap(tap(transcript, "client".into()));
    let event = next_event(&mut driver, transcript).await?;
    expect(
        event,
        Event::Disconnected(Disconnect::Remote(Some(Close::new(
            4001,
            "authentication failed",
        )))),
    )?;
    transcript.line(
        "client",
        "would now reconnect after a random delay of at least 1 s",
    );
    Ok(())
}

/// A hand-driven client: waits for HELLO, sends `frames` verbatim, and expects the
/// server to close with `code`.
async fn raw_session(
    url: &str,
    transcript: Transcript,
    frames: &[&str],
    code: u16,
) -> Result<(), Failure> {
    let (mut transport, _) = ws::connect(url).await?;
    let who = "raw client";
    transcript.line(who, "connected");
    let Incoming::Text(hello) = transport.recv().await else {
        return Err("expected HELLO".into());
    };
    if !matches!(
        decode(hello.as_bytes(), &Limits::default()),
        Ok(Message::Hello(_))
    ) {
        return Err(format!("expected HELLO, got {hello}").into());
    }
    for frame in frames {
        transcript.sent(who, "litebridge", sent_frame(frame), annotate(frame));
        let transmit = Transmit {
            to: None,
            payload: Payload::Text((*frame).to_owned()),
        };
        transport.send(transmit).await?;
    }
    loop {
        match tokio::time::timeout(Duration::from_secs(5), transport.recv()).await? {
            Incoming::Closed(Some(close)) if close.code == code => {
                transcript.line(who, format!("closed by the server: {close}"));
                return Ok(());
            }
            Incoming::Text(_) | Incoming::Binary(_) | Incoming::Pong(_) => {}
            other => return Err(format!("expected close {code}, got {other:?}").into()),
        }
    }
}

fn expect(got: Event, want: Event) -> Result<(), Failure> {
    if got == want {
        Ok(())
    } else {
        Err(format!("expected {want:?}, got {got:?}").into())
    }
}
