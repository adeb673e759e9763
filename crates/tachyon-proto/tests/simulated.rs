//! A Tachyon client and server connection run through `proto-sim`: one simulated
//! WebSocket whose transport answers pings, with latency, on a virtual clock.

use std::time::Duration;

use proto_core::{Close, Disconnect};
use proto_sim::{Fate, LinkConfig, NodeId, Sim};
use tachyon_proto::{Command, CommandId, Connection, ConnectionConfig, Event, Role, decode};

const STATS_REQUEST: &str = r#"{"type":"request","messageId":"","commandId":"system/serverStats"}"#;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn command(frame: &str) -> Command {
    decode(frame).unwrap()
}

/// A user's client and a server joined by a link of `latency`.
fn pair(latency: Duration) -> (Sim, NodeId<Connection>, NodeId<Connection>) {
    let mut sim = Sim::new(3);
    let mut server = ConnectionConfig::server(Role::User, ["tachyon.lobby"]);
    server.seed = 1;
    let mut client = ConnectionConfig::client(Role::User);
    client.seed = 2;
    let server = sim.add(Connection::new(server));
    let client = sim.add(Connection::new(client));
    sim.connect_single(server, client, LinkConfig::ideal(latency));
    (sim, server, client)
}

#[test]
fn a_request_is_answered_one_round_trip_later() {
    let (mut sim, server, client) = pair(ms(25));
    let t0 = sim.now();
    let id = sim
        .machine(client)
        .send_request(t0, command(STATS_REQUEST))
        .unwrap();
    let mut request = None;
    sim.run_until(Duration::from_secs(1), |sim| {
        request = sim.events(server).pop();
        request.is_some()
    })
    .unwrap();
    assert_eq!(sim.now(), t0 + ms(25));
    let Some(Event::Request(request)) = request else {
        panic!("{request:?}")
    };
    assert_eq!(request.command_id(), CommandId::SystemServerStats);
    assert_eq!(request.message_id(), id);

    let response = command(&format!(
        r#"{{"type":"response","messageId":"{id}","commandId":"system/serverStats","status":"success","data":{{"userCount":3}}}}"#
    ));
    sim.machine(server).respond(response.clone()).unwrap();
    let mut answer = Vec::new();
    sim.run_until(Duration::from_secs(1), |sim| {
        answer.extend(sim.events(client));
        !answer.is_empty()
    })
    .unwrap();
    assert_eq!(sim.now(), t0 + ms(50));
    assert_eq!(answer, [Event::Response(response)]);
    assert_eq!(sim.machine(client).pending_requests(), 0);
}

#[test]
fn pings_answered_by_the_transport_keep_the_connection_open() {
    let (mut sim, server, client) = pair(ms(100));
    sim.run_for(Duration::from_secs(300)).unwrap();
    assert!(sim.machine(server).is_open() && sim.machine(client).is_open());
    assert_eq!(sim.closes(server), []);
    assert_eq!(sim.events(client), []);
    // Every 5 to 10 s the server pings; each ping reaches the client's transport and
    // its pong comes back, both delivered.
    let from_server = sim
        .trace()
        .iter()
        .filter(|d| d.from.0 == server.index())
        .count();
    let from_client = sim
        .trace()
        .iter()
        .filter(|d| d.from.0 == client.index())
        .count();
    assert_eq!(from_server, from_client, "one pong per ping");
    assert!((30..=60).contains(&from_server), "{from_server} pings");
    assert!(sim.trace().iter().all(|d| d.fate == Fate::Delivered));
}

#[test]
fn pongs_slower_than_the_ping_interval_close_the_connection() {
    let (mut sim, server, client) = pair(ms(6000));
    sim.run_until(Duration::from_secs(60), |sim| {
        sim.machine(server).is_closed()
    })
    .unwrap();
    let close = Close::new(1008, "ping timeout");
    assert_eq!(sim.closes(server), [(None, close.clone())]);
    sim.run_for(Duration::from_secs(10)).unwrap();
    assert_eq!(
        sim.events(client),
        [Event::Disconnected(Disconnect::Remote(Some(close)))]
    );
    assert!(sim.machine(client).is_closed());
}
