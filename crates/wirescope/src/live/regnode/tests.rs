//! The regnode observer on datagrams of real machines and of a raw peer breaking
//! each rule; serve and connect over loopback.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use proto_core::{Input, Machine, Output, Payload, Peer as Addr, seeded_rng};
use regnode_proto::{
    Body, Client, ClientConfig, Identity, Packet, Params, Peer, PeerConfig, Signer, WallClock,
    X509Ed25519, encode, signed_message,
};

use super::*;

const UNIX: u64 = 1_700_000_000;

fn peer_identity() -> Identity {
    Identity::generate(&mut seeded_rng(10), "peer", Duration::from_secs(UNIX)).unwrap()
}

fn client_identity(seed: u64) -> Identity {
    Identity::generate(&mut seeded_rng(seed), "client", Duration::from_secs(UNIX)).unwrap()
}

/// A packet signed by `signer` at `timestamp`.
fn sealed(signer: &dyn Signer, params: Params, timestamp: u64, body: Body<'_>) -> Vec<u8> {
    let mut signed = Vec::new();
    signed_message(timestamp, &body, &mut signed).unwrap();
    let signature = signer.sign(&signed);
    let packet = Packet {
        params,
        shift_len: 0,
        signature: &signature,
        timestamp,
        body,
    };
    let mut out = Vec::new();
    encode(&packet, &mut seeded_rng(0), &mut out).unwrap();
    out
}

fn frame(ms: u64, direction: Direction, bytes: Vec<u8>) -> Frame {
    Frame {
        conn: 1,
        at: Duration::from_millis(ms),
        direction,
        data: FrameData::Binary(bytes),
    }
}

/// A real client and peer for `span`: register, an event to itself, keepalives
/// every second; every datagram as the proxy would see it.
fn session(span: Duration) -> Vec<Frame> {
    let t0 = Instant::now();
    let clock = WallClock::new(t0, Duration::from_secs(UNIX));
    let (peer_at, client_at) = (SERVER_AT, CLIENT_AT);
    let mut peer = Peer::new(
        PeerConfig::default(),
        Box::new(peer_identity()),
        Box::new(X509Ed25519),
        clock,
        seeded_rng(1),
    );
    let mut config = ClientConfig::new(peer_at);
    config.keepalive = Some(Duration::from_secs(1));
    let identity = client_identity(2);
    let me = identity.fingerprint();
    let verifier = peer_identity().certificate_info().verifier();
    let mut client = Client::new(
        config,
        Box::new(identity),
        Box::new(verifier),
        clock,
        seeded_rng(3),
    );
    let mut frames = Vec::new();
    let mut now = t0;
    client.network_changed(now);
    client
        .send_event(now, me, peer_at, b"note to self")
        .unwrap();
    while now <= t0 + span {
        if client.poll_timeout().is_some_and(|due| due <= now) {
            client.handle_timeout(now);
        }
        let mut wire: VecDeque<(bool, Vec<u8>)> = VecDeque::new();
        loop {
            while let Some(output) = client.poll_output() {
                if let Output::Transmit(t) = output {
                    if let Payload::Binary(bytes) = t.payload {
                        wire.push_back((true, bytes.to_vec()));
                    }
                }
            }
            while let Some(output) = peer.poll_output() {
                if let Output::Transmit(t) = output {
                    if let Payload::Binary(bytes) = t.payload {
                        wire.push_back((false, bytes.to_vec()));
                    }
                }
            }
            let Some((to_peer, bytes)) = wire.pop_front() else {
                break;
            };
            let ms = (now - t0).as_millis() as u64;
            if to_peer {
                frames.push(frame(ms, Direction::ToServer, bytes.clone()));
                let _ = peer.handle_input(now, Input::datagram(client_at, &bytes));
            } else {
                frames.push(frame(ms, Direction::ToClient, bytes.clone()));
                let _ = client.handle_input(now, Input::datagram(peer_at, &bytes));
            }
        }
        now += Duration::from_millis(100);
    }
    let _ = Addr::Addr(client_at);
    frames
}

#[allow(clippy::type_complexity)]
fn run(
    options: &PeerOptions,
    frames: &[Frame],
    until_ms: u64,
) -> (Vec<(String, Vec<String>)>, Vec<(u64, String)>) {
    let t0 = Instant::now();
    let mut observer = Regnode::observer(options, t0);
    let mut seen = Vec::new();
    let mut late = Vec::new();
    let deadlines = |observer: &mut Box<dyn Observer>, now: Instant, late: &mut Vec<_>| {
        while let Some(due) = observer.poll_deadline().filter(|due| *due <= now) {
            for violation in observer.on_deadline(due) {
                late.push(((due - t0).as_millis() as u64, violation));
            }
        }
    };
    for frame in frames {
        deadlines(&mut observer, t0 + frame.at, &mut late);
        let observation = observer.observe(t0 + frame.at, frame);
        seen.push((observation.kind, observation.violations));
    }
    deadlines(
        &mut observer,
        t0 + Duration::from_millis(until_ms),
        &mut late,
    );
    (seen, late)
}

/// Removes a directory [`peer_identity_dir`] made.
fn remove(options: &PeerOptions) {
    if let Some(dir) = &options.identity {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// The peer's identity directory, as `serve --identity DIR` leaves it (only its
/// certificate is read).
fn peer_identity_dir(name: &str) -> PeerOptions {
    let dir = std::env::temp_dir().join(format!("wirescope-regnode-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(CERTIFICATE_FILE), peer_identity().certificate()).unwrap();
    PeerOptions {
        identity: Some(dir),
        ..PeerOptions::default()
    }
}

#[test]
fn a_session_of_real_machines_breaks_no_rule() {
    let frames = session(Duration::from_secs(3));
    let options = peer_identity_dir("clean");
    let (seen, late) = run(&options, &frames, 3_000);
    let kinds: Vec<&str> = seen.iter().map(|(kind, _)| kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "REGISTER",
            "OK",
            "CLIENT-EVENT",
            "CLIENT-EVENT",
            "KEEPALIVE",
            "KEEPALIVE",
            "KEEPALIVE"
        ]
    );
    assert!(seen.iter().all(|(_, v)| v.is_empty()), "{seen:?}");
    assert_eq!(late, []);
    // Six minutes after the last keepalive (3 s), at its next sweep, the peer
    // forgets the client.
    let (_, late) = run(&options, &frames, 400_000);
    remove(&options);
    let fingerprint = client_identity(2).fingerprint();
    assert_eq!(
        late,
        [(
            370_000,
            format!(
                "client silent for 360s: the peer forgets it (Expired {{ fingerprint: {fingerprint:?} }})"
            )
        )]
    );
}

#[test]
fn the_same_datagrams_say_the_same_things() {
    let frames = session(Duration::from_secs(2));
    let options = PeerOptions::default();
    assert_eq!(
        run(&options, &frames, 30_000),
        run(&options, &frames, 30_000)
    );
}

#[test]
fn each_broken_rule_is_flagged_once_with_the_machines_words() {
    let frames = session(Duration::from_millis(100));
    let register = frames[0].clone();
    let ok = frames[1].clone();
    let client = client_identity(2);
    let mallory = client_identity(66);
    let peer = peer_identity();
    let ts = UNIX + 1;
    let c2p = Params::CLIENT_TO_PEER;
    let p2c = Params::PEER_TO_CLIENT;
    let mut frames = vec![
        // A keepalive before any register.
        frame(
            0,
            Direction::ToServer,
            sealed(&client, c2p, UNIX, Body::Keepalive),
        ),
        register.clone(),
        ok,
        // The same register again.
        Frame {
            at: Duration::from_millis(10),
            ..register
        },
        // A keepalive signed by someone else.
        frame(
            20,
            Direction::ToServer,
            sealed(&mallory, c2p, ts, Body::Keepalive),
        ),
        // A client may not send OK, nor a type the spec leaves open.
        frame(30, Direction::ToServer, sealed(&client, c2p, ts, Body::Ok)),
        frame(
            40,
            Direction::ToServer,
            sealed(
                &client,
                c2p,
                ts,
                Body::Other {
                    code: 9,
                    payload: b"?",
                },
            ),
        ),
        // A client's packet flagged as the peer's.
        frame(
            50,
            Direction::ToServer,
            sealed(&client, p2c, ts, Body::Keepalive),
        ),
        frame(60, Direction::ToServer, vec![0, 0]),
        // An OK with no register to answer, properly signed.
        frame(70, Direction::ToClient, sealed(&peer, p2c, ts, Body::Ok)),
        // A register for the peer to take, from the peer.
        frame(
            80,
            Direction::ToClient,
            sealed(
                &peer,
                p2c,
                ts + 1,
                Body::Register {
                    certificate: peer.certificate(),
                },
            ),
        ),
        // An event from the peer signed by someone else.
        frame(
            90,
            Direction::ToClient,
            sealed(&mallory, p2c, ts + 2, Body::PeerEvent { payload: b"hi" }),
        ),
        // A timestamp far outside the window.
        frame(
            100,
            Direction::ToServer,
            sealed(&client, c2p, UNIX + 3600, Body::Keepalive),
        ),
    ];
    frames.push(frame(
        110,
        Direction::ToServer,
        sealed(&client, c2p, ts + 3, Body::Keepalive),
    ));
    let options = peer_identity_dir("broken");
    let (seen, _) = run(&options, &frames, 200);
    remove(&options);
    let flagged: Vec<(usize, Vec<String>)> = seen
        .into_iter()
        .enumerate()
        .filter(|(_, (_, v))| !v.is_empty())
        .map(|(i, (_, v))| (i, v))
        .collect();
    let one = |i: usize, text: &str| (i, vec![text.to_owned()]);
    assert_eq!(
        flagged,
        [
            one(0, "unknown sender 192.0.2.1:1"),
            one(3, "replay: packet already seen"),
            one(4, "bad signature: signature does not verify"),
            one(5, "unexpected Ok"),
            one(6, "unexpected Other(9)"),
            one(7, "packet flagged for the other direction"),
            one(
                8,
                "malformed packet: datagram ends inside SignatureLen: 2 bytes needed, 0 left"
            ),
            one(9, "OK answering no register"),
            one(10, "unexpected Register"),
            one(11, "bad signature: signature does not verify"),
            one(
                12,
                "replay: timestamp 1700003600 is outside the window around 1700000000"
            ),
        ]
    );
}

fn console() -> (
    Console,
    tokio::sync::mpsc::Sender<String>,
    tokio::sync::mpsc::UnboundedReceiver<String>,
) {
    let (input_tx, input) = tokio::sync::mpsc::channel(8);
    let (output, output_rx) = tokio::sync::mpsc::unbounded_channel();
    (Console { input, output }, input_tx, output_rx)
}

async fn wait_for(
    output: &mut tokio::sync::mpsc::UnboundedReceiver<String>,
    want: impl Fn(&str) -> bool,
) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let line = tokio::time::timeout_at(deadline, output.recv())
            .await
            .expect("no such line within 10 s")
            .expect("the peer stopped");
        if want(&line) {
            return line;
        }
    }
}

#[tokio::test]
async fn connect_registers_with_serve_and_events_flow_both_ways() {
    let dir = std::env::temp_dir().join(format!("wirescope-regnode-live-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let certificate = dir.join("peer.der");
    std::fs::create_dir_all(&dir).unwrap();
    let (server_console, server_input, mut server_output) = console();
    let server = tokio::spawn(Regnode::serve(
        PeerOptions {
            cert_out: Some(certificate.clone()),
            ..PeerOptions::default()
        },
        "127.0.0.1:0".parse().unwrap(),
        server_console,
    ));
    let made = wait_for(&mut server_output, |line| line.starts_with("identity")).await;
    assert!(
        made.starts_with("identity made on the spot (not saved): "),
        "{made}"
    );
    let listening = wait_for(&mut server_output, |line| {
        line.starts_with("regnode peer on")
    })
    .await;
    let addr = listening.rsplit(' ').next().unwrap().to_owned();

    // The client's identity is made and saved in its directory, then found there.
    let client_options = PeerOptions {
        roots: Some(certificate.clone()),
        identity: Some(dir.join("client")),
        ..PeerOptions::default()
    };
    let (client_console, client_input, mut client_output) = console();
    let client = tokio::spawn(Regnode::connect(
        client_options.clone(),
        addr.clone(),
        client_console,
    ));
    let made = wait_for(&mut client_output, |line| line.starts_with("identity")).await;
    let me = made.rsplit(' ').next().unwrap().to_owned();
    assert!(
        made.starts_with("identity made on the spot and saved in "),
        "{made}"
    );
    wait_for(&mut client_output, |line| line.starts_with("Registered")).await;
    let registered = wait_for(&mut server_output, |line| line.starts_with("Registered")).await;
    assert!(registered.contains(&me), "{registered}");

    // An event to itself, relayed by the peer; the peer's own event.
    client_input
        .send(format!("type=client-event fingerprint={me} payload=6869"))
        .await
        .unwrap();
    let message = wait_for(&mut client_output, |line| line.starts_with("Message")).await;
    assert!(message.contains(r#"payload: b"hi""#), "{message}");
    server_input
        .send(format!("type=peer-event fingerprint={me} payload=796f"))
        .await
        .unwrap();
    let event = wait_for(&mut client_output, |line| line.starts_with("PeerEvent")).await;
    assert!(event.contains(r#"payload: b"yo""#), "{event}");
    // What a client may not send, said in the client's words.
    client_input.send("type=ok".to_owned()).await.unwrap();
    assert_eq!(
        wait_for(&mut client_output, |line| line.starts_with("not sent")).await,
        "not sent: a client sends type=register or type=client-event, not type=ok"
    );
    drop(client_input);
    tokio::time::timeout(Duration::from_secs(10), client)
        .await
        .unwrap()
        .unwrap()
        .unwrap();

    // Again: the saved identity is read back.
    let (client_console, client_input, mut client_output) = console();
    let client = tokio::spawn(Regnode::connect(client_options, addr, client_console));
    let found = wait_for(&mut client_output, |line| line.starts_with("identity")).await;
    assert!(
        found.starts_with("identity from ") && found.ends_with(&me),
        "{found}"
    );
    wait_for(&mut client_output, |line| line.starts_with("Registered")).await;
    drop(client_input);
    tokio::time::timeout(Duration::from_secs(10), client)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    drop(server_input);
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

mod through_the_proxy {
    use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

    use proto_core::seeded_rng;
    use proto_tokio::{UdpConfig, UdpDriver};
    use regnode_proto::{Body, Params, Peer, PeerConfig, Signer, WallClock, X509Ed25519, decode};
    use tokio::net::UdpSocket;

    use super::super::super::harness::Proxied;
    use super::*;

    async fn receive(socket: &UdpSocket) -> Vec<u8> {
        let mut buffer = vec![0; 2048];
        let len = tokio::time::timeout(Duration::from_secs(5), socket.recv(&mut buffer))
            .await
            .expect("the peer answers within 5 s")
            .unwrap();
        buffer.truncate(len);
        buffer
    }

    /// A datagram as the transcript shows it: its rendering, as a JSON string.
    fn text(bytes: &[u8]) -> String {
        Value::String(crate::regnode::render(&decode(bytes).unwrap())).to_string()
    }

    #[tokio::test]
    async fn a_session_through_the_proxy_is_forwarded_unchanged_and_checked() {
        let unix = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        let peer = Peer::new(
            PeerConfig::default(),
            Box::new(peer_identity()),
            Box::new(X509Ed25519),
            WallClock::new(Instant::now(), unix),
            seeded_rng(1),
        );
        let mut driver = UdpDriver::bind(peer, "127.0.0.1:0", UdpConfig::default())
            .await
            .unwrap();
        let server = driver.local_addr().unwrap();
        let server_task = tokio::spawn(async move { while driver.next().await.is_some() {} });
        let options = peer_identity_dir("proxied");
        let proxy = Proxied::start::<Regnode>(&server.to_string(), options.clone()).await;
        let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        client.connect(proxy.addr).await.unwrap();

        let me = client_identity(2);
        let fp = me.fingerprint();
        let ts = unix.as_secs();
        let c2p = Params::CLIENT_TO_PEER;
        let register = sealed(
            &me,
            c2p,
            ts,
            Body::Register {
                certificate: me.certificate(),
            },
        );
        let event = sealed(
            &me,
            c2p,
            ts,
            Body::ClientEvent {
                fingerprint: &fp.0,
                payload: b"note to self",
            },
        );
        let forged = sealed(&client_identity(66), c2p, ts + 1, Body::Keepalive);
        let mut got = Vec::new();
        for datagram in [&register, &event] {
            client.send(datagram).await.unwrap();
            got.push(receive(&client).await);
        }
        // Injected: the register again, and a keepalive someone else signed.
        for datagram in [&register, &forged] {
            client.send(datagram).await.unwrap();
        }
        proxy.wait_until(|records| records.len() >= 7).await;
        let finished = proxy.finish().await;
        server_task.abort();

        let binary = |direction| -> Vec<Vec<u8>> {
            finished
                .frames(1, direction)
                .into_iter()
                .filter_map(|data| match data {
                    FrameData::Binary(bytes) => Some(bytes),
                    _ => None,
                })
                .collect()
        };
        assert_eq!(
            binary(Direction::ToServer),
            [
                register.clone(),
                event.clone(),
                register.clone(),
                forged.clone()
            ]
        );
        assert_eq!(binary(Direction::ToClient), got);
        let [ok, relayed] = &got[..] else {
            panic!("{got:?}");
        };
        assert_eq!(
            finished.transcript(),
            [
                "#1    c>s  open".to_owned(),
                format!("#1    c>s  REGISTER      {}", text(&register)),
                format!("#1    s>c  OK            {}", text(ok)),
                format!("#1    c>s  CLIENT-EVENT  {}", text(&event)),
                format!("#1    s>c  CLIENT-EVENT  {}", text(relayed)),
                format!("#1    c>s  REGISTER      {}", text(&register)),
                "#1    !!!  replay: packet already seen".to_owned(),
                format!("#1    c>s  KEEPALIVE     {}", text(&forged)),
                "#1    !!!  bad signature: signature does not verify".to_owned(),
            ]
        );
        assert_eq!(
            finished.violations(),
            [
                (
                    1,
                    "REGISTER".to_owned(),
                    "replay: packet already seen".to_owned()
                ),
                (
                    1,
                    "KEEPALIVE".to_owned(),
                    "bad signature: signature does not verify".to_owned()
                ),
            ]
        );
        let json = finished.json();
        assert_eq!(
            json[2],
            serde_json::json!({
                "conn": 1,
                "dir": "s>c",
                "protocol": "regnode",
                "kind": "OK",
                "value": crate::regnode::render(&decode(ok).unwrap()),
                "violations": [],
            })
        );
        finished.assert_replay_matches::<Regnode>();
        remove(&options);
    }

    /// `connect` and `serve` (the crate's client and peer) through the proxy: the
    /// same outcome as without it, and nothing flagged.
    #[tokio::test]
    async fn a_client_registers_through_the_proxy_as_without_it() {
        let dir = std::env::temp_dir().join(format!(
            "wirescope-regnode-proxied-peer-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let peer_options = PeerOptions {
            identity: Some(dir.clone()),
            ..PeerOptions::default()
        };
        let (server_console, server_input, mut server_output) = console();
        let server = tokio::spawn(Regnode::serve(
            peer_options.clone(),
            "127.0.0.1:0".parse().unwrap(),
            server_console,
        ));
        let listening = wait_for(&mut server_output, |line| {
            line.starts_with("regnode peer on")
        })
        .await;
        let upstream = listening.rsplit(' ').next().unwrap().to_owned();
        // The proxy checks the peer's signatures with its certificate.
        let proxy = Proxied::start::<Regnode>(&upstream, peer_options).await;
        let (client_console, client_input, mut client_output) = console();
        let client = tokio::spawn(Regnode::connect(
            PeerOptions {
                roots: Some(dir.join(CERTIFICATE_FILE)),
                ..PeerOptions::default()
            },
            proxy.addr.to_string(),
            client_console,
        ));
        let made = wait_for(&mut client_output, |line| line.starts_with("identity")).await;
        let me = made.rsplit(' ').next().unwrap().to_owned();
        wait_for(&mut client_output, |line| line.starts_with("Registered")).await;
        client_input
            .send(format!("type=client-event fingerprint={me} payload=6869"))
            .await
            .unwrap();
        let message = wait_for(&mut client_output, |line| line.starts_with("Message")).await;
        assert!(message.contains(r#"payload: b"hi""#), "{message}");
        drop(client_input);
        tokio::time::timeout(Duration::from_secs(10), client)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        drop(server_input);
        tokio::time::timeout(Duration::from_secs(10), server)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let finished = proxy.finish().await;
        assert_eq!(finished.violations(), []);
        let kinds: Vec<String> = finished
            .json()
            .iter()
            .map(|entry| entry["kind"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            kinds,
            ["open", "REGISTER", "OK", "CLIENT-EVENT", "CLIENT-EVENT"]
        );
        finished.assert_replay_matches::<Regnode>();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
