//! A litebridge client and server talking over a real loopback WebSocket.

use std::time::Duration;

use litecord_proto::{Client, ClientConfig, Disconnect, Event, RawJson, Server, ServerConfig};
use proto_core::Close;
use proto_tokio::{Activity, Driver, ws};
use tokio::net::TcpListener;

fn json(value: impl serde::Serialize) -> RawJson<'static> {
    RawJson::from_value(&value).unwrap()
}

async fn serve_one(listener: TcpListener, config: ServerConfig) -> Vec<Event> {
    let (stream, _) = listener.accept().await.unwrap();
    let transport = ws::accept_tcp(stream).await.unwrap();
    let mut driver = Driver::new(Server::new(config), transport);
    let mut events = vec![];
    while let Some(activity) = driver.next().await {
        let Activity::Event(event) = activity else {
            continue;
        };
        if let Event::Request(request) = &event {
            let answer = json(request.args.len());
            driver.machine().respond(&request.nonce, answer).unwrap();
        }
        events.push(event);
    }
    events
}

#[tokio::test]
async fn handshake_request_and_clean_shutdown() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    let mut config = ServerConfig::new("helloworld");
    config.hb_interval = Duration::from_millis(50);
    let server = tokio::spawn(serve_one(listener, config));

    let (transport, _) = ws::connect(url.as_str()).await.unwrap();
    let mut client = Driver::new(Client::new(ClientConfig::new("helloworld")), transport);
    assert_eq!(
        client.next().await,
        Some(Activity::Event(Event::Authenticated))
    );
    let now = std::time::Instant::now();
    let id = client
        .machine()
        .send_request(now, "count", vec![json("a"), json("b")])
        .unwrap();
    assert_eq!(
        client.next().await,
        Some(Activity::Event(Event::Response { id, data: json(2) }))
    );
    // Let a few heartbeats go by over the wire.
    tokio::time::timeout(Duration::from_millis(300), client.next())
        .await
        .unwrap_err();
    assert!(client.machine().is_authenticated());

    client.machine().shutdown();
    assert_eq!(
        client.next().await,
        Some(Activity::Event(Event::Disconnected(Disconnect::Local(
            Close::new(1000, "client shutting down")
        ))))
    );
    assert_eq!(client.next().await, None);

    let events = server.await.unwrap();
    assert_eq!(events.len(), 3, "{events:?}");
    assert_eq!(events[0], Event::Authenticated);
    assert!(matches!(&events[1], Event::Request(r) if r.what == "count"));
    assert_eq!(
        events[2],
        Event::Disconnected(Disconnect::Remote(Some(Close::new(
            1000,
            "client shutting down"
        ))))
    );
}

#[tokio::test]
async fn wrong_password_is_closed_4001_over_the_wire() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(serve_one(listener, ServerConfig::new("helloworld")));

    let (transport, _) = ws::connect(url.as_str()).await.unwrap();
    let mut client = Driver::new(Client::new(ClientConfig::new("wrong")), transport);
    assert_eq!(
        client.next().await,
        Some(Activity::Event(Event::Disconnected(Disconnect::Remote(
            Some(Close::new(4001, "authentication failed"))
        ))))
    );
    assert!(!client.is_connected());
    let events = server.await.unwrap();
    assert_eq!(
        events,
        [Event::Disconnected(Disconnect::Local(Close::new(
            4001,
            "authentication failed"
        )))]
    );
}

#[tokio::test]
async fn client_reconnects_after_the_server_drops_it() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let url = format!("ws://{addr}");
    let server = tokio::spawn(async move {
        // First connection: close it at once with 1001. Second: serve normally.
        let (stream, _) = listener.accept().await.unwrap();
        let transport = ws::accept_tcp(stream).await.unwrap();
        let mut first = Driver::new(Server::new(ServerConfig::new("pw")), transport);
        first.machine().close(Close::new(1001, "restarting"));
        while first.next().await.is_some() {}
        serve_one(listener, ServerConfig::new("pw")).await
    });

    let (transport, _) = ws::connect(url.as_str()).await.unwrap();
    let mut config = ClientConfig::new("pw");
    config.reconnect_max = Duration::from_secs(2);
    let reconnect_url = url.clone();
    let mut client = Driver::new(Client::new(config), transport).with_reconnect(move || {
        let url = reconnect_url.clone();
        async move {
            ws::connect(url.as_str())
                .await
                .map(|(transport, _)| transport)
                .map_err(std::io::Error::other)
        }
    });
    let started = tokio::time::Instant::now();
    assert_eq!(
        client.next().await,
        Some(Activity::Event(Event::Disconnected(Disconnect::Remote(
            Some(Close::new(1001, "restarting"))
        ))))
    );
    assert_eq!(
        client.next().await,
        Some(Activity::Event(Event::Authenticated))
    );
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "reconnected too soon"
    );
    client.machine().shutdown();
    while client.next().await.is_some() {}
    server.await.unwrap();
}

#[tokio::test]
async fn another_task_acts_on_a_running_driver_through_its_mailbox() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let transport = ws::accept_tcp(stream).await.unwrap();
        let mut driver = Driver::new(Server::new(ServerConfig::new("pw")), transport);
        let mailbox = driver.mailbox();
        // The driver is busy waiting in `next`; another task asks the client.
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            mailbox
                .send(|server: &mut Server, now| {
                    server
                        .send_request(now, "news", vec![json("from elsewhere")])
                        .unwrap();
                })
                .await
                .unwrap();
        });
        while driver.next().await.is_some() {}
    });

    let (transport, _) = ws::connect(url.as_str()).await.unwrap();
    let mut client = Driver::new(Client::new(ClientConfig::new("pw")), transport);
    assert_eq!(
        client.next().await,
        Some(Activity::Event(Event::Authenticated))
    );
    let Some(Activity::Event(Event::Request(request))) = client.next().await else {
        panic!("expected the server's request");
    };
    assert_eq!(request.what, "news");
    assert_eq!(request.args, vec![json("from elsewhere")]);
    client.machine().shutdown();
    while client.next().await.is_some() {}
    server.await.unwrap();
}
