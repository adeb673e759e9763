//! Litebridge scenarios run through `proto-sim`: a client and a server on one
//! simulated connection with real latency, the clock jumping between their timers.

use std::time::Duration;

use litecord_proto::{
    Client, ClientConfig, Disconnect, Event, RawJson, Server, ServerConfig, close_code,
};
use proto_core::Close;
use proto_sim::{Fate, LinkConfig, NodeId, Sim};

const SECRET: &str = "helloworld";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn fast_server() -> ServerConfig {
    let mut config = ServerConfig::new(SECRET);
    config.hb_interval = ms(1000);
    config.heartbeat_grace = ms(500);
    config
}

fn json(value: impl serde::Serialize) -> RawJson<'static> {
    RawJson::from_value(&value).unwrap()
}

/// A server and a client (with `password`) joined by a link of `latency`.
fn pair(latency: Duration, password: &str) -> (Sim, NodeId<Server>, NodeId<Client>) {
    let mut sim = Sim::new(1);
    let server = sim.add(Server::new(fast_server()));
    let client = sim.add(Client::new(ClientConfig::new(password)));
    sim.connect_single(server, client, LinkConfig::ideal(latency));
    (sim, server, client)
}

/// Texts of the frames delivered so far from `from`'s node.
fn frames_from(sim: &Sim, from: usize) -> Vec<String> {
    sim.trace()
        .iter()
        .filter(|d| d.from.0 == from && d.fate == Fate::Delivered)
        .map(|d| String::from_utf8(d.bytes.to_vec()).unwrap())
        .collect()
}

#[test]
fn the_handshake_takes_the_round_trips_it_should() {
    let (mut sim, server, client) = pair(ms(20), SECRET);
    // HELLO (20 ms), HELLO_ACK and the first HEARTBEAT (40 ms), HEARTBEAT_ACK (60 ms).
    let at = sim
        .run_until(Duration::from_secs(1), |sim| {
            sim.machine(client).is_authenticated()
        })
        .unwrap();
    assert_eq!(at - sim.start(), ms(60));
    assert_eq!(sim.events(server), [Event::Authenticated]);
    assert_eq!(sim.events(client), [Event::Authenticated]);
    assert_eq!(
        frames_from(&sim, server.index()),
        [r#"{"op":0,"hb_interval":1000}"#, r#"{"op":3}"#]
    );
    assert_eq!(
        frames_from(&sim, client.index()),
        [r#"{"op":1,"password":"helloworld"}"#, r#"{"op":2}"#]
    );
    assert!(
        sim.trace()
            .iter()
            .all(|d| d.from.1.is_none() && d.to.1.is_none())
    );
}

#[test]
fn a_request_is_answered_one_round_trip_later() {
    let (mut sim, server, client) = pair(ms(20), SECRET);
    sim.run_until(Duration::from_secs(1), |sim| {
        sim.machine(client).is_authenticated()
    })
    .unwrap();
    sim.events(server);
    sim.events(client);

    let now = sim.now();
    let id = sim
        .machine(client)
        .send_request(now, "echo", vec![json(1), json("two")])
        .unwrap();
    let mut request = None;
    sim.run_until(Duration::from_secs(1), |sim| {
        request = sim.events(server).pop();
        request.is_some()
    })
    .unwrap();
    assert_eq!(sim.now(), now + ms(20));
    let Some(Event::Request(request)) = request else {
        panic!("{request:?}")
    };
    assert_eq!(
        (request.what.as_str(), &request.args[..]),
        ("echo", &[json(1), json("two")][..])
    );

    sim.machine(server)
        .respond(&request.nonce, json(["you're", "welcome"]))
        .unwrap();
    let mut answer = Vec::new();
    sim.run_until(Duration::from_secs(1), |sim| {
        answer.extend(sim.events(client));
        !answer.is_empty()
    })
    .unwrap();
    assert_eq!(sim.now(), now + ms(40));
    assert_eq!(
        answer,
        [Event::Response {
            id,
            data: json(["you're", "welcome"])
        }]
    );
}

#[test]
fn heartbeats_keep_a_slow_connection_alive() {
    let (mut sim, server, client) = pair(ms(200), SECRET);
    sim.run_for(Duration::from_secs(120)).unwrap();
    assert!(sim.machine(server).is_authenticated());
    assert!(sim.machine(client).is_ready());
    assert_eq!(sim.closes(server), []);
    assert_eq!(sim.closes(client), []);
    let beats = frames_from(&sim, client.index())
        .iter()
        .filter(|frame| frame.starts_with(r#"{"op":2"#))
        .count();
    // One at the handshake, then one per second for two minutes.
    assert!((119..=121).contains(&beats), "{beats} heartbeats");
}

#[test]
fn a_link_slower_than_the_heartbeat_deadlines_ends_in_4003_on_both_sides() {
    let (mut sim, server, client) = pair(ms(2000), SECRET);
    sim.run_until(Duration::from_secs(10), |sim| {
        sim.machine(server).is_closed()
    })
    .unwrap();
    assert_eq!(sim.now() - sim.start(), ms(1500), "interval plus grace");
    let server_gave_up = Close::new(close_code::HEARTBEAT_TIMEOUT, "heartbeat timeout");
    assert_eq!(sim.closes(server), [(None, server_gave_up)]);

    // The HELLO reaches the client at 2 s, ahead of the server's close; the client
    // answers and waits one interval for a HEARTBEAT_ACK that never comes.
    sim.run_for(Duration::from_secs(10)).unwrap();
    let client_gave_up = Close::new(4003, "no HEARTBEAT_ACK from the server");
    assert_eq!(sim.closes(client), [(None, client_gave_up.clone())]);
    assert_eq!(
        sim.events(client),
        [Event::Disconnected(Disconnect::Local(client_gave_up))]
    );
    let [reconnect] = sim.reconnects(client)[..] else {
        panic!("one reconnect expected")
    };
    let delay = reconnect - (sim.start() + ms(3000));
    assert!(
        (Duration::from_secs(1)..=Duration::from_secs(2)).contains(&delay),
        "{delay:?}"
    );
    // The client's answers arrive after both sides have closed the link.
    let refused: Vec<_> = sim
        .trace()
        .iter()
        .filter(|d| d.fate == Fate::Undeliverable)
        .map(|d| String::from_utf8(d.bytes.to_vec()).unwrap())
        .collect();
    assert_eq!(
        refused,
        [r#"{"op":1,"password":"helloworld"}"#, r#"{"op":2}"#]
    );
}

#[test]
fn a_wrong_password_closes_4001_and_the_client_redials_a_new_server() {
    let (mut sim, server, client) = pair(ms(10), "guess");
    sim.run_until(Duration::from_secs(1), |sim| {
        !sim.reconnects(client).is_empty()
    })
    .unwrap();
    let failed = Close::new(close_code::AUTHENTICATION_FAILED, "authentication failed");
    assert_eq!(sim.closes(server), [(None, failed.clone())]);
    assert_eq!(
        sim.events(client),
        [Event::Disconnected(Disconnect::Remote(Some(failed)))]
    );

    // A server that accepts this password takes the client's next connection.
    let mut config = fast_server();
    config.password = "guess".into();
    let second = sim.add(Server::new(config));
    sim.connect_single(second, client, LinkConfig::ideal(ms(10)));
    sim.run_until(Duration::from_secs(1), |sim| {
        sim.machine(client).is_authenticated()
    })
    .unwrap();
    assert_eq!(sim.events(second), [Event::Authenticated]);
    assert_eq!(sim.events(client), [Event::Authenticated]);
}
