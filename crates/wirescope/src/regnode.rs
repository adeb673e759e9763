//! Regnode (DCSC) in wirescope: hex datagram decoding, encoding from the readable
//! rendering, and the demo of a peer and two clients over real UDP.

use std::error::Error;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use proto_core::{Peer as Addr, seeded_rng};
use proto_tokio::{Activity, PeerTraffic, UdpConfig, UdpDriver};
use regnode_proto::{
    Body, Client, ClientConfig, ClientEvent, ComparisonCode, DropReason, Identity, InputError,
    Packet, Params, Peer, PeerConfig, PeerEvent, ReplayError, Signer, WallClock, X509Ed25519,
    decode, encode, signed_message,
};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};

use crate::transcript::{SentFrame, Transcript};

type Failure = Box<dyn Error + Send + Sync>;

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut out, byte| {
        let _ = write!(out, "{byte:02x}");
        out
    })
}

pub(crate) fn unhex(text: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if digits.len() % 2 != 0 {
        return Err(format!("odd number of hex digits ({})", digits.len()));
    }
    digits
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                .ok_or_else(|| format!("not hex: {:?}", String::from_utf8_lossy(pair)))
        })
        .collect()
}

/// The readable rendering `encode regnode` reads back: `key=value` fields, hex
/// for bytes, then a `#` comment naming the flags.
pub(crate) fn render(packet: &Packet<'_>) -> String {
    let mut out = format!(
        "params={:02x} shift={} sig={} ts={}",
        packet.params.0,
        packet.shift_len,
        hex(packet.signature),
        packet.timestamp
    );
    let _ = match packet.body {
        Body::Keepalive => write!(out, " type=keepalive"),
        Body::Ok => write!(out, " type=ok"),
        Body::Register { certificate } => write!(out, " type=register cert={}", hex(certificate)),
        Body::PeerEvent { payload } => write!(out, " type=peer-event payload={}", hex(payload)),
        Body::ClientEvent {
            fingerprint,
            payload,
        } => write!(
            out,
            " type=client-event fingerprint={} payload={}",
            hex(fingerprint),
            hex(payload)
        ),
        Body::Other { code, payload } => {
            write!(out, " type=other code={code} payload={}", hex(payload))
        }
    };
    let params = packet.params;
    let _ = write!(
        out,
        "  # {} -> {}{}",
        if params.sender_is_peer() {
            "peer"
        } else {
            "client"
        },
        if params.receiver_is_peer() {
            "peer"
        } else {
            "client"
        },
        if params.shifts_used() {
            ", shifted"
        } else {
            ""
        }
    );
    out
}

/// Decodes one hex datagram into its readable rendering.
pub(crate) fn decode_line(line: &str) -> Result<String, String> {
    let bytes = unhex(line)?;
    decode(&bytes)
        .map(|packet| render(&packet))
        .map_err(|error| format!("{error}  [{error:?}]"))
}

/// Encodes one readable rendering back into a hex datagram; shift filler comes from
/// a fixed seed, so the output is reproducible.
pub(crate) fn encode_line(line: &str) -> Result<String, String> {
    let text = line.split('#').next().unwrap_or_default();
    let mut fields = std::collections::HashMap::new();
    for token in text.split_whitespace() {
        let (key, value) = token
            .split_once('=')
            .ok_or_else(|| format!("not key=value: {token:?}"))?;
        fields.insert(key, value);
    }
    let field = |key: &str| {
        fields
            .get(key)
            .copied()
            .ok_or_else(|| format!("missing {key}="))
    };
    let bytes = |key: &str| field(key).and_then(unhex);
    let number = |key: &str| {
        field(key).and_then(|value| value.parse::<u64>().map_err(|e| format!("{key}: {e}")))
    };
    let params = u8::from_str_radix(field("params")?, 16).map_err(|e| format!("params: {e}"))?;
    let shift_len = u8::try_from(number("shift")?).map_err(|e| format!("shift: {e}"))?;
    let signature = bytes("sig")?;
    let timestamp = number("ts")?;
    let (cert, payload, fingerprint) = (bytes("cert"), bytes("payload"), bytes("fingerprint"));
    let fingerprint: Option<[u8; 32]> = fingerprint.ok().and_then(|f| f.try_into().ok());
    let body = match field("type")? {
        "keepalive" => Body::Keepalive,
        "ok" => Body::Ok,
        "register" => Body::Register {
            certificate: cert.as_deref().map_err(Clone::clone)?,
        },
        "peer-event" => Body::PeerEvent {
            payload: payload.as_deref().map_err(Clone::clone)?,
        },
        "client-event" => Body::ClientEvent {
            fingerprint: fingerprint
                .as_ref()
                .ok_or("fingerprint= must be 32 bytes of hex")?,
            payload: payload.as_deref().map_err(Clone::clone)?,
        },
        "other" => Body::Other {
            code: u8::try_from(number("code")?).map_err(|e| format!("code: {e}"))?,
            payload: payload.as_deref().map_err(Clone::clone)?,
        },
        other => return Err(format!("unknown type {other:?}")),
    };
    let packet = Packet {
        params: Params(params),
        shift_len,
        signature: &signature,
        timestamp,
        body,
    };
    let mut out = Vec::new();
    encode(&packet, &mut seeded_rng(0), &mut out).map_err(|e| format!("{e}  [{e:?}]"))?;
    Ok(hex(&out))
}

/// One line naming a datagram for the transcript.
fn describe(bytes: &[u8]) -> String {
    match decode(bytes) {
        Ok(packet) => {
            let what = match packet.body {
                Body::Keepalive => "KEEPALIVE".to_owned(),
                Body::Ok => "OK".to_owned(),
                Body::Register { certificate } => {
                    format!("REGISTER cert {} B", certificate.len())
                }
                Body::PeerEvent { payload } => format!("PEER EVENT {} B", payload.len()),
                Body::ClientEvent {
                    fingerprint,
                    payload,
                } => format!(
                    "CLIENT EVENT {}… {:?}",
                    hex(&fingerprint[..4]),
                    String::from_utf8_lossy(payload)
                ),
                Body::Other { code, .. } => format!("TYPE {code}"),
            };
            format!("{what:<28} ts {} ({} B)", packet.timestamp, bytes.len())
        }
        Err(error) => format!("(bad datagram: {error})"),
    }
}

/// A datagram for `demo --json`: its type, and the rendering `encode` reads.
fn sent_frame(bytes: &[u8]) -> SentFrame {
    match decode(bytes) {
        Ok(packet) => SentFrame {
            kind: match packet.body {
                Body::Keepalive => "KEEPALIVE".to_owned(),
                Body::Ok => "OK".to_owned(),
                Body::Register { .. } => "REGISTER".to_owned(),
                Body::PeerEvent { .. } => "PEER EVENT".to_owned(),
                Body::ClientEvent { .. } => "CLIENT EVENT".to_owned(),
                Body::Other { code, .. } => format!("TYPE {code}"),
            },
            value: Ok(serde_json::Value::String(render(&packet))),
        },
        Err(error) => SentFrame {
            kind: "(bad datagram)".to_owned(),
            value: Err(format!("{error}  [{error:?}]")),
        },
    }
}

/// A tap printing what `who` sends; keeps the last register and client event it sent.
fn tap(
    transcript: Transcript,
    who: &'static str,
    captured: Arc<Mutex<Captured>>,
) -> impl FnMut(PeerTraffic<'_>) + Send + 'static {
    move |traffic| {
        if let PeerTraffic::Sent {
            to: Addr::Addr(to),
            bytes,
        } = traffic
        {
            let text = format!("{to}  {}", describe(bytes));
            transcript.sent(who, "regnode", sent_frame(bytes), text);
            if let (Ok(packet), Ok(mut captured)) = (decode(bytes), captured.lock()) {
                match packet.body {
                    Body::Register { .. } => captured.register = Some(bytes.to_vec()),
                    Body::Keepalive => captured.keepalives += 1,
                    _ => {}
                }
            }
        }
    }
}

/// What a client's tap saw it send.
#[derive(Debug, Default)]
struct Captured {
    register: Option<Vec<u8>>,
    keepalives: usize,
}

/// Runs the scripted demo and checks each step went as the protocol says.
pub(crate) async fn demo() -> Result<(), Box<dyn Error>> {
    match tokio::time::timeout(Duration::from_secs(30), demo_inner()).await {
        Ok(result) => result.map_err(|error| error as Box<dyn Error>),
        Err(_) => Err("the regnode demo did not finish within 30 s".into()),
    }
}

const STEP: Duration = Duration::from_secs(5);
const KEEPALIVE: Duration = Duration::from_secs(1);

async fn demo_inner() -> Result<(), Failure> {
    let transcript = Transcript::new();
    transcript.heading("regnode: one peer and two clients over UDP on 127.0.0.1");
    let unix = SystemTime::now().duration_since(UNIX_EPOCH)?;
    let clock = WallClock::new(Instant::now(), unix);
    let mut rng = seeded_rng(0x5eed);
    let peer_id = Identity::generate(&mut rng, "demo peer", unix)?;
    let alice_id = Identity::generate(&mut rng, "alice", unix)?;
    let bob_id = Identity::generate(&mut rng, "bob", unix)?;
    let peer_verifier = peer_id.certificate_info().verifier();
    let (alice_fp, bob_fp) = (alice_id.fingerprint(), bob_id.fingerprint());
    let (alice_key, bob_key) = (*alice_id.public_key(), *bob_id.public_key());

    // The peer runs in its own task and reports what it did.
    let peer = Peer::new(
        PeerConfig::default(),
        Box::new(peer_id),
        Box::new(X509Ed25519),
        clock,
        seeded_rng(1),
    );
    let peer_driver = UdpDriver::bind(peer, "127.0.0.1:0", UdpConfig::default()).await?;
    let peer_at = peer_driver.local_addr()?;
    transcript.line("peer", format!("listening on {peer_at}"));
    let (reports, mut peer_reports) = mpsc::channel(64);
    let (stop, stopped) = oneshot::channel();
    let peer_task = tokio::spawn(run_peer(peer_driver, transcript, reports, stopped));

    let mut config = ClientConfig::new(peer_at);
    config.keepalive = Some(KEEPALIVE);
    let alice_seen = Arc::new(Mutex::new(Captured::default()));
    let bob_seen = Arc::new(Mutex::new(Captured::default()));
    let alice = Client::new(
        config,
        Box::new(alice_id),
        Box::new(peer_verifier),
        clock,
        seeded_rng(2),
    );
    let bob = Client::new(
        config,
        Box::new(bob_id),
        Box::new(peer_verifier),
        clock,
        seeded_rng(3),
    );
    let mut alice = UdpDriver::bind(alice, "127.0.0.1:0", UdpConfig::default())
        .await?
        .with_tap(tap(transcript, "alice", alice_seen.clone()));
    let mut bob = UdpDriver::bind(bob, "127.0.0.1:0", UdpConfig::default())
        .await?
        .with_tap(tap(transcript, "bob", bob_seen.clone()));
    let alice_at = alice.local_addr()?;
    transcript.line("alice", format!("{alice_at}, fingerprint {alice_fp}"));
    transcript.line(
        "bob",
        format!("{}, fingerprint {bob_fp}", bob.local_addr()?),
    );

    transcript.heading("registration: register (type 2), OK (type 1)");
    for (who, driver) in [("alice", &mut alice), ("bob", &mut bob)] {
        driver.machine().network_changed(Instant::now());
        let event = next_event(driver).await?;
        expect(&event, &ClientEvent::Registered { peer: peer_at })?;
        transcript.line(who, format!("{event:?}"));
    }

    transcript.heading("the comparison code, read aloud by both users");
    let alice_code = ComparisonCode::new(&alice_key, &bob_key);
    let bob_code = ComparisonCode::new(&bob_key, &alice_key);
    transcript.line("alice", format!("code for bob:   {alice_code}"));
    transcript.line("bob", format!("code for alice: {bob_code}"));
    if alice_code != bob_code {
        return Err("the two sides computed different codes".into());
    }

    transcript.heading(&format!("keepalive (type 0) every {KEEPALIVE:?}"));
    let _ = tokio::time::timeout(KEEPALIVE * 3 / 2, next_event(&mut alice)).await;
    let keepalives = alice_seen.lock().map(|seen| seen.keepalives).unwrap_or(0);
    if keepalives == 0 {
        return Err("alice sent no keepalive".into());
    }

    transcript.heading("alice → bob, relayed by the peer (type 4)");
    alice
        .machine()
        .send_event(Instant::now(), bob_fp, peer_at, b"hello bob")?;
    let _ = tokio::time::timeout(Duration::from_millis(50), next_event(&mut alice)).await;
    let event = next_event(&mut bob).await?;
    expect(
        &event,
        &ClientEvent::Message {
            peer: peer_at,
            from: alice_fp,
            payload: bytes::Bytes::from_static(b"hello bob"),
        },
    )?;
    transcript.line("bob", format!("message from alice: {:?}", "hello bob"));

    transcript.heading("an attacker replays alice's register from its own port");
    let attacker = UdpSocket::bind("127.0.0.1:0").await?;
    let register = alice_seen
        .lock()
        .ok()
        .and_then(|seen| seen.register.clone())
        .ok_or("alice's register was not captured")?;
    attacker.send_to(&register, peer_at).await?;
    transcript.line("attacker", format!("→ {peer_at}  {}", describe(&register)));
    expect_refusal(&mut peer_reports, |error| {
        matches!(error, InputError::Replay(ReplayError::Seen))
    })
    .await?;

    transcript.heading("an attacker registers bob's certificate with its own signature");
    let forger = Identity::generate(&mut rng, "mallory", unix)?;
    let mut signed = Vec::new();
    let timestamp = clock.unix_secs(Instant::now());
    let bob_register = bob_seen
        .lock()
        .ok()
        .and_then(|seen| seen.register.clone())
        .ok_or("bob's register was not captured")?;
    let Ok(Packet {
        body: Body::Register {
            certificate: bob_cert,
        },
        ..
    }) = decode(&bob_register)
    else {
        return Err("bob's register does not decode".into());
    };
    let body = Body::Register {
        certificate: bob_cert,
    };
    signed_message(timestamp, &body, &mut signed)?;
    let signature = forger.sign(&signed);
    let mut forged = Vec::new();
    let packet = Packet {
        params: Params::CLIENT_TO_PEER,
        shift_len: 0,
        signature: &signature,
        timestamp,
        body,
    };
    encode(&packet, &mut rng, &mut forged)?;
    attacker.send_to(&forged, peer_at).await?;
    transcript.line("attacker", format!("→ {peer_at}  {}", describe(&forged)));
    expect_refusal(&mut peer_reports, |error| {
        matches!(error, InputError::BadSignature(_))
    })
    .await?;
    let mut answer = [0u8; 64];
    if let Ok(received) =
        tokio::time::timeout(Duration::from_millis(200), attacker.recv_from(&mut answer)).await
    {
        return Err(format!("the peer answered the attacker: {received:?}").into());
    }
    transcript.line("attacker", "no answer from the peer");

    transcript.heading("alice moves to a new port and registers again");
    let alice_machine = alice.into_machine();
    let mut alice = UdpDriver::bind(alice_machine, "127.0.0.1:0", UdpConfig::default())
        .await?
        .with_tap(tap(transcript, "alice", alice_seen.clone()));
    let moved_to = alice.local_addr()?;
    transcript.line("alice", format!("now on {moved_to} (was {alice_at})"));
    alice.machine().network_changed(Instant::now());
    let event = next_event(&mut alice).await?;
    expect(&event, &ClientEvent::Registered { peer: peer_at })?;
    bob.machine()
        .send_event(Instant::now(), alice_fp, peer_at, b"still there?")?;
    let _ = tokio::time::timeout(Duration::from_millis(50), next_event(&mut bob)).await;
    let event = next_event(&mut alice).await?;
    expect(
        &event,
        &ClientEvent::Message {
            peer: peer_at,
            from: bob_fp,
            payload: bytes::Bytes::from_static(b"still there?"),
        },
    )?;
    transcript.line(
        "alice",
        format!("message from bob at the new port: {:?}", "still there?"),
    );

    transcript.heading("the peer's drop counters");
    let _ = stop.send(());
    let peer = peer_task.await?;
    let counters = peer.counters();
    for reason in DropReason::ALL {
        transcript.line("peer", format!("{reason:?}: {}", counters.get(reason)));
    }
    if counters.get(DropReason::Replay) != 1 || counters.get(DropReason::BadSignature) != 1 {
        return Err(format!("unexpected counters {counters:?}").into());
    }
    if peer.client(&alice_fp).map(|client| client.addr) != Some(moved_to) {
        return Err("the registry does not point at alice's new port".into());
    }
    Ok(())
}

/// Runs the peer until `stop`, reporting its events and refusals.
async fn run_peer(
    driver: UdpDriver<Peer>,
    transcript: Transcript,
    reports: mpsc::Sender<InputError>,
    mut stop: oneshot::Receiver<()>,
) -> Peer {
    let mut driver_tap = driver.with_tap(move |traffic| {
        if let PeerTraffic::Sent {
            to: Addr::Addr(to),
            bytes,
        } = traffic
        {
            transcript.line("peer", format!("→ {to}  {}", describe(bytes)));
        }
    });
    loop {
        tokio::select! {
            _ = &mut stop => return driver_tap.into_machine(),
            activity = driver_tap.next() => match activity {
                Some(Activity::Event(event)) => transcript.line("peer", describe_event(&event)),
                Some(Activity::Refused(error)) => {
                    transcript.line("peer", format!("dropped: {error}"));
                    let _ = reports.send(error).await;
                }
                None => return driver_tap.into_machine(),
            },
        }
    }
}

fn describe_event(event: &PeerEvent) -> String {
    match event {
        PeerEvent::Registered {
            fingerprint,
            addr,
            previous: Some(previous),
        } => format!("{fingerprint} moved {previous} → {addr}"),
        other => format!("{other:?}"),
    }
}

/// The next event of a client driver, within [`STEP`].
async fn next_event(driver: &mut UdpDriver<Client>) -> Result<ClientEvent, Failure> {
    match tokio::time::timeout(STEP, driver.next()).await {
        Ok(Some(Activity::Event(event))) => Ok(event),
        Ok(Some(Activity::Refused(error))) => Err(error.into()),
        Ok(None) => Err("the client driver stopped".into()),
        Err(_) => Err("no client event within 5 s".into()),
    }
}

async fn expect_refusal(
    reports: &mut mpsc::Receiver<InputError>,
    want: impl Fn(&InputError) -> bool,
) -> Result<(), Failure> {
    match tokio::time::timeout(STEP, reports.recv()).await {
        Ok(Some(error)) if want(&error) => Ok(()),
        Ok(other) => Err(format!("the peer reported {other:?}").into()),
        Err(_) => Err("the peer refused nothing within 5 s".into()),
    }
}

fn expect(got: &ClientEvent, want: &ClientEvent) -> Result<(), Failure> {
    if got == want {
        Ok(())
    } else {
        Err(format!("expected {want:?}, got {got:?}").into())
    }
}
