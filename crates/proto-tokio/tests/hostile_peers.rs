//! A litebridge server run by `proto_tokio::serve` against peers that do not play
//! along: one that stops reading, one that sends an oversize message, one too many,
//! and a server shutting down under connected clients. Loopback only, every test
//! bounded in time.

use std::future::Future;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use litecord_proto::{Client, ClientConfig, Disconnect, Event, RawJson, Server, ServerConfig};
use proto_core::{Close, Payload, Transmit};
use proto_tokio::{
    Activity, Backpressure, Incoming, ServeConfig, ServeSummary, Transport, serve, ws,
};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_tungstenite::MaybeTlsStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};

const PASSWORD: &str = "helloworld";
/// Every test finishes well within this, or fails.
const TEST_BUDGET: Duration = Duration::from_secs(20);

async fn bounded<T>(test: impl Future<Output = T>) -> T {
    tokio::time::timeout(TEST_BUDGET, test)
        .await
        .expect("the test ran out of time")
}

/// A running server: its address, the events of all its connections, and how to
/// stop it.
struct Running {
    url: String,
    events: mpsc::UnboundedReceiver<Event>,
    stop: oneshot::Sender<()>,
    summary: JoinHandle<ServeSummary>,
}

impl Running {
    /// Waits for a server-side event matching `wanted`, skipping others.
    async fn event(&mut self, wanted: impl Fn(&Event) -> bool) -> Event {
        loop {
            let event = self.events.recv().await.expect("the server stopped");
            if wanted(&event) {
                return event;
            }
        }
    }

    async fn shut_down(self) -> ServeSummary {
        self.stop.send(()).unwrap();
        self.summary.await.unwrap()
    }
}

/// Serves litebridge: every request is answered with its arguments.
async fn start(machine: ServerConfig, config: ServeConfig) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    let (events_tx, events) = mpsc::unbounded_channel();
    let (stop, stopped) = oneshot::channel::<()>();
    let app = move |mut driver: proto_tokio::ServedDriver<Server>| async move {
        while let Some(activity) = driver.next().await {
            let Activity::Event(event) = activity else {
                continue;
            };
            if let Event::Request(request) = &event {
                let echo = RawJson::from_value(&request.args).unwrap();
                let _ = driver.machine().respond(&request.nonce, echo);
            }
            let _ = events_tx.send(event);
        }
    };
    let summary = tokio::spawn(serve(
        listener,
        config,
        move |_| Server::new(machine.clone()),
        Server::close,
        app,
        async {
            let _ = stopped.await;
        },
    ));
    Running {
        url,
        events,
        stop,
        summary,
    }
}

fn text(frame: String) -> Transmit {
    Transmit {
        to: None,
        payload: Payload::Text(frame),
    }
}

/// A client that authenticates, sends `requests` requests of `arg_len` bytes each
/// (each answered by an echo as large), and never reads again. Its receive buffer is
/// small so the server's writes back up quickly.
async fn slow_reader(url: &str, requests: usize, arg_len: usize) -> JoinHandle<()> {
    let addr = url.trim_start_matches("ws://").parse().unwrap();
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(addr).await.unwrap();
    let (stream, _) = tokio_tungstenite::client_async(url, stream).await.unwrap();
    let mut transport = ws::WsTransport::new(stream);
    let Incoming::Text(hello) = transport.recv().await else {
        panic!("expected HELLO");
    };
    assert!(hello.as_str().contains("\"op\":0"), "{hello}");
    let ack = format!(r#"{{"op":1,"password":"{PASSWORD}"}}"#);
    transport.send(text(ack)).await.unwrap();
    let arg = "x".repeat(arg_len);
    tokio::spawn(async move {
        for nonce in 0..requests {
            let request = format!(r#"{{"op":4,"w":"echo","a":["{arg}"],"n":{nonce}}}"#);
            // Blocks once the server stops reading; the task is dropped with the test.
            if transport.send(text(request)).await.is_err() {
                return;
            }
        }
        std::future::pending::<()>().await;
    })
}

type ClientTransport = ws::WsTransport<MaybeTlsStream<TcpStream>>;

/// A well-behaved client, authenticated.
async fn client(url: &str) -> proto_tokio::Driver<Client, ClientTransport> {
    let (transport, _) = ws::connect(url).await.unwrap();
    let mut driver = proto_tokio::Driver::new(Client::new(ClientConfig::new(PASSWORD)), transport);
    assert_eq!(
        driver.next().await,
        Some(Activity::Event(Event::Authenticated))
    );
    driver
}

/// Round trips that must all come back while another connection is stalled.
async fn round_trips(driver: &mut proto_tokio::Driver<Client, impl Transport>, count: u64) {
    for n in 0..count {
        let arg = RawJson::from_value(&n).unwrap();
        let id = driver
            .machine()
            .send_request(std::time::Instant::now(), "echo", vec![arg])
            .unwrap();
        assert_eq!(
            driver.next().await,
            Some(Activity::Event(Event::Response {
                id,
                data: RawJson::from_value(&[n]).unwrap()
            }))
        );
    }
}

fn closed_locally(code: u16) -> impl Fn(&Event) -> bool {
    move |event| matches!(event, Event::Disconnected(Disconnect::Local(close)) if close.code == code)
}

#[tokio::test]
async fn a_peer_that_stops_reading_is_closed_on_time_while_others_are_served() {
    bounded(async {
        let config = ServeConfig {
            backpressure: Backpressure {
                max_queued_bytes: 4 << 20,
                pause_reading_above: 32 << 10,
                send_timeout: Duration::from_millis(300),
                close_timeout: Duration::from_millis(200),
            },
            ..ServeConfig::default()
        };
        // Heartbeats are due only after 15 s: the stall, not the machine, closes.
        let mut server = start(ServerConfig::new(PASSWORD), config).await;
        let started = tokio::time::Instant::now();
        let _flood = slow_reader(&server.url, 200, 64 << 10).await;

        let mut good = client(&server.url).await;
        round_trips(&mut good, 20).await;

        let closed = server.event(closed_locally(1008)).await;
        assert_eq!(
            closed,
            Event::Disconnected(Disconnect::Local(Close::new(1008, "peer stopped reading")))
        );
        let took = started.elapsed();
        assert!(took < Duration::from_secs(5), "closed after {took:?}");

        // The other connection is still served after the slow one is gone.
        round_trips(&mut good, 5).await;
        good.machine().shutdown();
        while good.next().await.is_some() {}
        let summary = server.shut_down().await;
        assert_eq!(summary.served, 2);
        assert_eq!(summary.dropped_at_shutdown, 0);
    })
    .await;
}

#[tokio::test]
async fn a_peer_that_stops_reading_and_heartbeating_gets_the_machines_4003() {
    bounded(async {
        let config = ServeConfig {
            backpressure: Backpressure {
                max_queued_bytes: 4 << 20,
                pause_reading_above: 32 << 10,
                send_timeout: Duration::from_secs(60),
                close_timeout: Duration::from_millis(200),
            },
            ..ServeConfig::default()
        };
        let mut machine = ServerConfig::new(PASSWORD);
        machine.hb_interval = Duration::from_millis(300);
        machine.heartbeat_grace = Duration::from_millis(200);
        let mut server = start(machine, config).await;
        let started = tokio::time::Instant::now();
        let _flood = slow_reader(&server.url, 200, 64 << 10).await;

        let closed = server.event(closed_locally(4003)).await;
        assert_eq!(
            closed,
            Event::Disconnected(Disconnect::Local(Close::new(4003, "heartbeat timeout")))
        );
        let took = started.elapsed();
        assert!(took < Duration::from_secs(5), "closed after {took:?}");
        assert_eq!(server.shut_down().await.dropped_at_shutdown, 0);
    })
    .await;
}

#[tokio::test]
async fn an_oversize_message_is_closed_with_1009_before_it_is_buffered() {
    bounded(async {
        let mut server = start(ServerConfig::new(PASSWORD), ServeConfig::default()).await;
        let (stream, _) = tokio_tungstenite::connect_async(server.url.as_str())
            .await
            .unwrap();
        let (mut sink, mut stream) = stream.split();
        let Some(Ok(Message::Text(hello))) = stream.next().await else {
            panic!("expected HELLO");
        };
        assert!(hello.as_str().contains("\"op\":0"), "{hello}");
        // 20 MiB against the default 1 MiB limit; the server stops reading after the
        // header, so this send never finishes.
        let oversize = Message::text("x".repeat(20 << 20));
        let _writer = tokio::spawn(async move { sink.send(oversize).await });

        let close = loop {
            match stream.next().await {
                Some(Ok(Message::Close(Some(frame)))) => break frame,
                Some(Ok(_)) => continue,
                other => panic!("expected a close frame, got {other:?}"),
            }
        };
        assert_eq!(close.code, CloseCode::Size);
        assert_eq!(
            close.reason.as_str(),
            "message of 20971520 bytes exceeds the limit of 1048576"
        );
        // The machine hears of it as its own close.
        let closed = server.event(closed_locally(1009)).await;
        assert_eq!(
            closed,
            Event::Disconnected(Disconnect::Local(Close::new(
                1009,
                "message of 20971520 bytes exceeds the limit of 1048576"
            )))
        );
        server.shut_down().await;
    })
    .await;
}

#[tokio::test]
async fn a_connection_over_the_cap_is_refused_with_503_at_the_upgrade() {
    bounded(async {
        let config = ServeConfig {
            max_connections: 2,
            ..ServeConfig::default()
        };
        let server = start(ServerConfig::new(PASSWORD), config).await;
        let mut first = client(&server.url).await;
        let second = client(&server.url).await;

        match ws::connect(server.url.as_str()).await {
            Err(tungstenite::Error::Http(response)) => {
                assert_eq!(response.status(), 503);
            }
            other => panic!("expected 503, got {other:?}"),
        }

        // A place frees up once a connection ends.
        first.machine().shutdown();
        while first.next().await.is_some() {}
        let third = loop {
            match ws::connect(server.url.as_str()).await {
                Ok((transport, _)) => break transport,
                Err(tungstenite::Error::Http(response)) if response.status() == 503 => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Err(error) => panic!("unexpected {error}"),
            }
        };
        drop((second, third));
        let summary = server.shut_down().await;
        assert_eq!(summary.served, 3);
        assert!(summary.refused >= 1, "{summary:?}");
    })
    .await;
}

#[tokio::test]
async fn shutting_down_closes_every_connection_with_1001() {
    bounded(async {
        let mut server = start(ServerConfig::new(PASSWORD), ServeConfig::default()).await;
        let mut clients = Vec::new();
        for _ in 0..3 {
            clients.push(client(&server.url).await);
        }
        for _ in 0..3 {
            server.event(|event| *event == Event::Authenticated).await;
        }
        let Running {
            stop,
            summary,
            mut events,
            ..
        } = server;
        stop.send(()).unwrap();

        let going_away = Close::new(1001, "server shutting down");
        for client in &mut clients {
            assert_eq!(
                client.next().await,
                Some(Activity::Event(Event::Disconnected(Disconnect::Remote(
                    Some(going_away.clone())
                ))))
            );
        }
        let summary = summary.await.unwrap();
        assert_eq!(
            summary,
            ServeSummary {
                served: 3,
                refused: 0,
                dropped_at_shutdown: 0
            }
        );
        let mut closes = 0;
        while let Some(event) = events.recv().await {
            if event == Event::Disconnected(Disconnect::Local(going_away.clone())) {
                closes += 1;
            }
        }
        assert_eq!(closes, 3);
    })
    .await;
}

#[tokio::test]
async fn without_the_machines_close_call_the_driver_closes_and_reports_a_lost_transport() {
    bounded(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let transport = ws::accept_tcp(stream).await.unwrap();
            let mut driver =
                proto_tokio::Driver::new(Server::new(ServerConfig::new(PASSWORD)), transport);
            let mut events = vec![];
            while let Some(activity) = driver.next().await {
                events.push(activity);
            }
            events
        });
        let (stream, _) = tokio_tungstenite::connect_async(url.as_str())
            .await
            .unwrap();
        let (mut sink, mut stream) = stream.split();
        // 2 MiB against `accept_tcp`'s default 1 MiB limit.
        let oversize = Message::binary(vec![0; 2 << 20]);
        let _writer = tokio::spawn(async move { sink.send(oversize).await });
        let close = loop {
            match stream.next().await {
                Some(Ok(Message::Close(Some(frame)))) => break frame,
                Some(Ok(_)) => continue,
                other => panic!("expected a close frame, got {other:?}"),
            }
        };
        assert_eq!(close.code, CloseCode::Size);
        assert_eq!(
            close.reason.as_str(),
            "message of 2097152 bytes exceeds the limit of 1048576"
        );
        assert_eq!(
            server.await.unwrap(),
            [Activity::Event(Event::Disconnected(Disconnect::Remote(
                None
            )))]
        );
    })
    .await;
}
