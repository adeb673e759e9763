//! Regnode's live plug: the observer that judges a client's datagrams with a
//! `regnode_proto::Peer` and its peer's with a `regnode_proto::Client`, and
//! `serve`/`connect` as a peer or a client over UDP.
//!
//! # How the observer judges
//!
//! The client's datagrams go to a [`Peer`] machine and the server's to a
//! [`Client`] machine, as real ones would; each refusal is the machine's
//! [`InputError`], flagged on the datagram:
//!
//! - not a root packet (`malformed packet: …`), flagged for the other direction,
//!   a type the receiving role never gets (a client's OK or peer event, a peer's
//!   register, codes 5–255);
//! - a bad certificate in a register; a bad signature, checked with the
//!   certificate the client registered earlier in the conversation (the server's
//!   packets only when its identity directory is given, `--identity DIR`, of which
//!   only the certificate `regnode.der` is read: a client is given its peer's key,
//!   it never travels); a replay or a timestamp outside the window; a keepalive or
//!   event from a client not registered (named by a made-up address, 192.0.2.1:1:
//!   a capture carries none);
//! - an OK the server sends with no register to answer: the peer machine says
//!   which registers earn an OK (it answers each one it accepts, once), and every
//!   OK it would have sent may be matched by one of the server's.
//!
//! By silence: a client not heard from for the peer's expiry (six minutes) is
//! forgotten, as the peer machine's sweep says.
//!
//! A server certificate that cannot be read or parsed is said once, as a flag on
//! the first packet, and the server's signatures then go unchecked.
//!
//! Not judged, because they depend on the server's other clients: a full registry
//! and a full event queue. The machines' clock is anchored on the first packet's
//! timestamp at the time it was seen, so a replayed capture is judged exactly as
//! it was live, whatever the time of the replay.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ed25519_dalek::SigningKey;
use proto_core::{Input, Machine, Output, Peer as Addr, seeded_rng};
use proto_tokio::{PeerTraffic, UdpConfig, UdpDriver};
use regnode_proto::{
    CertificateScheme, Client, ClientConfig, ClientEvent, Fingerprint, Identity, InputError,
    PacketType, Peer, PeerConfig, PeerEvent, SignatureError, Signer, Verifier, WallClock,
    X509Ed25519, decode, fingerprint,
};
use serde_json::Value;
use tokio::sync::mpsc;

use super::running::{self, Running, say};
use super::{
    BoxFuture, Console, Direction, Failure, Frame, FrameData, LiveProtocol, Observation, Observer,
    PeerOptions, Wire,
};
use crate::regnode::{hex, render, unhex};

/// Regnode: signed binary root packets over UDP.
pub(crate) struct Regnode;

impl LiveProtocol for Regnode {
    const NAME: &'static str = "regnode";
    const WIRE: Wire = Wire::Udp;

    fn observer(options: &PeerOptions, _start: Instant) -> Box<dyn Observer> {
        let certificate = options
            .identity
            .as_ref()
            .map(|dir| dir.join(CERTIFICATE_FILE));
        Box::new(RegnodeObserver::new(certificate.as_deref()))
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

/// The datagram's kind and its rendering as `encode regnode` reads it, or the
/// decoder's error as `decode regnode` prints it.
fn describe(bytes: &[u8]) -> (String, Result<Value, String>) {
    match decode(bytes) {
        Ok(packet) => {
            let kind = match packet.packet_type() {
                PacketType::Keepalive => "KEEPALIVE".to_owned(),
                PacketType::Ok => "OK".to_owned(),
                PacketType::Register => "REGISTER".to_owned(),
                PacketType::PeerEvent => "PEER-EVENT".to_owned(),
                PacketType::ClientEvent => "CLIENT-EVENT".to_owned(),
                PacketType::Other(code) => format!("TYPE-{code}"),
            };
            (kind, Ok(Value::String(render(&packet))))
        }
        Err(error) => (
            "(bad frame)".to_owned(),
            Err(format!("{error}  [{error:?}]")),
        ),
    }
}

/// Where the played machines see each other (the capture carries no addresses).
const CLIENT_AT: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), 1);
const SERVER_AT: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)), 2);

/// The played machines' own signatures are never checked by anyone: what they
/// send is only looked at for its type.
struct Unsigned;

impl Signer for Unsigned {
    fn sign(&self, _message: &[u8]) -> Vec<u8> {
        vec![0; regnode_proto::SIGNATURE_LEN]
    }

    fn certificate(&self) -> &[u8] {
        &[]
    }

    fn fingerprint(&self) -> Fingerprint {
        fingerprint(&[])
    }
}

/// The server's packets when its certificate was not given: signatures pass,
/// every other rule still applies.
struct Unchecked;

impl Verifier for Unchecked {
    fn verify(&self, _message: &[u8], _signature: &[u8]) -> Result<(), SignatureError> {
        Ok(())
    }
}

/// The two machines, built at the first packet.
struct Machines {
    /// Plays the server: gets the client's datagrams.
    peer: Peer,
    /// Plays the client: gets the server's datagrams.
    client: Client,
    /// OKs the peer machine sent that no OK of the server's has matched yet.
    oks_due: usize,
}

/// Judges one client's conversation with its peer; see the module docs.
pub(crate) struct RegnodeObserver {
    /// The server's certificate (DER), or why it could not be read.
    server_certificate: Result<Option<Vec<u8>>, String>,
    machines: Option<Machines>,
}

impl RegnodeObserver {
    fn new(server_certificate: Option<&Path>) -> Self {
        let server_certificate = server_certificate
            .map(|path| read_small(path).map_err(|error| error.to_string()))
            .transpose();
        RegnodeObserver {
            server_certificate,
            machines: None,
        }
    }

    /// Builds the machines on the first packet's clock; says so if the server's
    /// certificate could not be used.
    fn build(&mut self, now: Instant, timestamp: u64) -> Option<String> {
        let clock = WallClock::new(now, Duration::from_secs(timestamp));
        let (verifier, note): (Box<dyn Verifier>, _) = match &self.server_certificate {
            Ok(Some(der)) => match X509Ed25519.verifier(der) {
                Ok(verifier) => (verifier, None),
                Err(error) => (Box::new(Unchecked), Some(error.to_string())),
            },
            Ok(None) => (Box::new(Unchecked), None),
            Err(error) => (Box::new(Unchecked), Some(error.clone())),
        };
        self.machines = Some(Machines {
            peer: Peer::new(
                PeerConfig::default(),
                Box::new(Unsigned),
                Box::new(X509Ed25519),
                clock,
                seeded_rng(0),
            ),
            client: Client::new(
                ClientConfig::new(SERVER_AT),
                Box::new(Unsigned),
                verifier,
                clock,
                seeded_rng(0),
            ),
            oks_due: 0,
        });
        note.map(|error| format!("the server's signatures go unchecked: {error}"))
    }

    fn datagram(&mut self, now: Instant, direction: Direction, bytes: &[u8]) -> Vec<String> {
        let mut violations = Vec::new();
        if self.machines.is_none() {
            match decode(bytes) {
                Ok(packet) => violations.extend(self.build(now, packet.timestamp)),
                // No machine yet; the refusal is the one they would make.
                Err(error) => return vec![InputError::Malformed(error).to_string()],
            }
        }
        let packet_type = decode(bytes).ok().map(|packet| packet.packet_type());
        violations.extend(self.feed(now, direction, bytes, packet_type));
        violations
    }

    fn feed(
        &mut self,
        now: Instant,
        direction: Direction,
        bytes: &[u8],
        packet_type: Option<PacketType>,
    ) -> Vec<String> {
        let Some(machines) = self.machines.as_mut() else {
            return Vec::new();
        };
        let mut violations = Vec::new();
        match direction {
            Direction::ToServer => {
                match machines
                    .peer
                    .handle_input(now, Input::datagram(CLIENT_AT, bytes))
                {
                    Ok(()) | Err(InputError::RegistryFull | InputError::QueueFull) => {}
                    Err(error) => violations.push(error.to_string()),
                }
                while let Some(output) = machines.peer.poll_output() {
                    if let Output::Transmit(transmit) = output {
                        let ok = decode(transmit.payload.as_bytes())
                            .is_ok_and(|sent| sent.packet_type() == PacketType::Ok);
                        machines.oks_due += usize::from(ok);
                    }
                }
            }
            Direction::ToClient => {
                match machines
                    .client
                    .handle_input(now, Input::datagram(SERVER_AT, bytes))
                {
                    Ok(()) if packet_type == Some(PacketType::Ok) => {
                        match machines.oks_due.checked_sub(1) {
                            Some(due) => machines.oks_due = due,
                            None => violations.push("OK answering no register".to_owned()),
                        }
                    }
                    Ok(()) => {}
                    Err(error) => violations.push(error.to_string()),
                }
                while machines.client.poll_output().is_some() {}
            }
        }
        violations
    }
}

impl Observer for RegnodeObserver {
    fn observe(&mut self, now: Instant, frame: &Frame) -> Observation {
        match &frame.data {
            FrameData::Open => Observation {
                kind: "open".to_owned(),
                value: Ok(Value::Null),
                violations: Vec::new(),
            },
            FrameData::Close(_) => Observation {
                kind: "close".to_owned(),
                value: Ok(Value::Null),
                violations: Vec::new(),
            },
            FrameData::Text(text) => self.observe_bytes(now, frame.direction, text.as_bytes()),
            FrameData::Binary(bytes) => self.observe_bytes(now, frame.direction, bytes),
        }
    }

    fn poll_deadline(&self) -> Option<Instant> {
        self.machines
            .as_ref()
            .and_then(|machines| machines.peer.poll_timeout())
    }

    fn on_deadline(&mut self, now: Instant) -> Vec<String> {
        let Some(machines) = self.machines.as_mut() else {
            return Vec::new();
        };
        machines.peer.handle_timeout(now);
        let mut violations = Vec::new();
        while let Some(output) = machines.peer.poll_output() {
            if let Output::Event(event @ PeerEvent::Expired { .. }) = output {
                violations.push(format!(
                    "client silent for {:?}: the peer forgets it ({event:?})",
                    PeerConfig::default().expiry
                ));
            }
        }
        violations
    }
}

impl RegnodeObserver {
    fn observe_bytes(&mut self, now: Instant, direction: Direction, bytes: &[u8]) -> Observation {
        let (kind, value) = describe(bytes);
        let violations = self.datagram(now, direction, bytes);
        Observation {
            kind,
            value,
            violations,
        }
    }
}

// ---- serve and connect ----------------------------------------------------------

/// The largest key or certificate file read: a register's certificate length is
/// a `u16`.
const MAX_IDENTITY_FILE: u64 = 1 << 16;

/// A key or certificate file, refused when larger than [`MAX_IDENTITY_FILE`].
fn read_small(path: &Path) -> Result<Vec<u8>, Failure> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(MAX_IDENTITY_FILE + 1).read_to_end(&mut bytes))
        .map_err(|error| format!("{}: {error}", path.display()))?;
    if bytes.len() as u64 > MAX_IDENTITY_FILE {
        return Err(format!(
            "{} is larger than {MAX_IDENTITY_FILE} bytes",
            path.display()
        )
        .into());
    }
    Ok(bytes)
}

/// The identity file names inside `--identity DIR`.
const KEY_FILE: &str = "regnode.key";
const CERTIFICATE_FILE: &str = "regnode.der";

fn unix_now() -> Result<Duration, Failure> {
    Ok(SystemTime::now().duration_since(UNIX_EPOCH)?)
}

/// The identity in `--identity DIR` (its Ed25519 secret key, 32 raw bytes, in
/// `regnode.key`, its certificate in `regnode.der`), made and saved there when the
/// directory holds none; made on the spot and kept in memory when no directory
/// is given. Says which on the console.
fn identity(options: &PeerOptions, console: &Console, name: &str) -> Result<Identity, Failure> {
    let unix = unix_now()?;
    let fresh = || Identity::generate(&mut seeded_rng(running::random_seed()), name, unix);
    let Some(dir) = &options.identity else {
        let made = fresh()?;
        say(
            console,
            format!(
                "identity made on the spot (not saved): {}",
                made.fingerprint()
            ),
        );
        return Ok(made);
    };
    let (key_path, der_path) = (dir.join(KEY_FILE), dir.join(CERTIFICATE_FILE));
    if key_path.exists() {
        let key: [u8; 32] = read_small(&key_path)?
            .try_into()
            .map_err(|_| format!("{}: not 32 bytes", key_path.display()))?;
        let der = read_small(&der_path)?;
        let loaded = Identity::from_parts(SigningKey::from_bytes(&key), &der)?;
        say(
            console,
            format!("identity from {}: {}", dir.display(), loaded.fingerprint()),
        );
        return Ok(loaded);
    }
    let made = fresh()?;
    std::fs::create_dir_all(dir)?;
    std::fs::write(&der_path, made.certificate())?;
    std::fs::write(&key_path, made.secret_key().to_bytes())?;
    say(
        console,
        format!(
            "identity made on the spot and saved in {}: {}",
            dir.display(),
            made.fingerprint()
        ),
    );
    Ok(made)
}

/// Reads `key=value` fields as the rendering has them (a `#` starts a comment).
fn fields(line: &str) -> Result<std::collections::HashMap<&str, &str>, String> {
    let text = line.split('#').next().unwrap_or_default();
    text.split_whitespace()
        .map(|token| {
            token
                .split_once('=')
                .ok_or_else(|| format!("not key=value: {token:?}"))
        })
        .collect()
}

fn fingerprint_field(value: Option<&&str>) -> Result<Fingerprint, String> {
    let bytes = unhex(value.ok_or("missing fingerprint=")?)?;
    let bytes: [u8; 32] = bytes
        .try_into()
        .map_err(|_| "fingerprint= must be 32 bytes of hex".to_owned())?;
    Ok(Fingerprint(bytes))
}

fn payload_field(value: Option<&&str>) -> Result<Vec<u8>, String> {
    unhex(value.ok_or("missing payload=")?)
}

/// A tap printing each datagram received and sent, rendered.
fn tap(output: mpsc::UnboundedSender<String>) -> impl FnMut(PeerTraffic<'_>) + Send + 'static {
    move |traffic| {
        let (arrow, peer, bytes) = match traffic {
            PeerTraffic::Received {
                from: Addr::Addr(from),
                bytes,
            } => ("←", from, bytes),
            PeerTraffic::Sent {
                to: Addr::Addr(to),
                bytes,
            } => ("→", to, bytes),
            _ => return,
        };
        let (kind, value) = describe(bytes);
        let shown = match value {
            Ok(Value::String(rendering)) => rendering,
            Ok(other) => other.to_string(),
            Err(error) => format!("{}  ({error})", hex(bytes)),
        };
        let _ = output.send(format!("{arrow} {peer} {kind} {shown}"));
    }
}

/// One line at the peer: `type=peer-event fingerprint=HEX payload=HEX` sends the
/// peer's own event to that registered client ([`Peer::send_peer_event`]); OKs and
/// relays are the peer's answers to clients, not the user's to send.
fn apply_at_peer(peer: &mut Peer, now: Instant, line: &str) -> String {
    let result = fields(line).and_then(|fields| match fields.get("type").copied() {
        Some("peer-event") => {
            let to = fingerprint_field(fields.get("fingerprint"))?;
            let payload = payload_field(fields.get("payload"))?;
            peer.send_peer_event(now, &to, &payload)
                .map(|()| format!("sent a peer event of {} bytes to {to}", payload.len()))
                .map_err(|error| error.to_string())
        }
        Some(other) => Err(format!(
            "a peer sends type=peer-event of its own accord, not type={other}"
        )),
        None => Err("missing type=".to_owned()),
    });
    result.unwrap_or_else(|error| format!("not sent: {error}"))
}

/// One line at the client: `type=register` registers again
/// ([`Client::network_changed`]); `type=client-event fingerprint=HEX payload=HEX`
/// sends an event to that client through the peer ([`Client::send_event`]).
fn apply_at_client(client: &mut Client, home: SocketAddr, now: Instant, line: &str) -> String {
    let result = fields(line).and_then(|fields| match fields.get("type").copied() {
        Some("register") => {
            client.network_changed(now);
            Ok("registering".to_owned())
        }
        Some("client-event") => {
            let to = fingerprint_field(fields.get("fingerprint"))?;
            let payload = payload_field(fields.get("payload"))?;
            client
                .send_event(now, to, home, &payload)
                .map(|()| format!("sent a client event of {} bytes to {to}", payload.len()))
                .map_err(|error| error.to_string())
        }
        Some(other) => Err(format!(
            "a client sends type=register or type=client-event, not type={other}"
        )),
        None => Err("missing type=".to_owned()),
    });
    result.unwrap_or_else(|error| format!("not sent: {error}"))
}

async fn serve(options: PeerOptions, listen: SocketAddr, console: Console) -> Result<(), Failure> {
    let identity = identity(&options, &console, "wirescope regnode peer")?;
    if let Some(dir) = &options.identity {
        say(
            &console,
            format!(
                "clients check the peer's packets with `connect --roots {}`",
                dir.join(CERTIFICATE_FILE).display()
            ),
        );
    }
    if let Some(path) = &options.cert_out {
        std::fs::write(path, identity.certificate())?;
        say(
            &console,
            format!("the peer's certificate (DER) written to {}", path.display()),
        );
    }
    let clock = WallClock::new(Instant::now(), unix_now()?);
    let peer = Peer::new(
        PeerConfig::default(),
        Box::new(identity),
        Box::new(X509Ed25519),
        clock,
        seeded_rng(running::random_seed()),
    );
    let driver = UdpDriver::bind(peer, listen, UdpConfig::default()).await?;
    say(
        &console,
        format!("regnode peer on UDP {}", driver.local_addr()?),
    );
    Running::udp(driver.with_tap(tap(console.output.clone())))
        .converse(
            console,
            apply_at_peer,
            |event| format!("{event:?}"),
            |_| false,
        )
        .await
}

async fn connect(options: PeerOptions, target: String, console: Console) -> Result<(), Failure> {
    let home = tokio::net::lookup_host(target.strip_prefix("udp://").unwrap_or(&target))
        .await?
        .next()
        .ok_or_else(|| format!("{target} names no address"))?;
    let der_path = options.roots.as_ref().ok_or(
        "regnode connect needs the peer's certificate to check its packets: \
         --roots FILE (DER, as `serve --cert-out FILE` writes it)",
    )?;
    let der = read_small(der_path)?;
    let verifier = X509Ed25519.verifier(&der)?;
    let identity = identity(&options, &console, "wirescope regnode client")?;
    let clock = WallClock::new(Instant::now(), unix_now()?);
    let client = Client::new(
        ClientConfig::new(home),
        Box::new(identity),
        verifier,
        clock,
        seeded_rng(running::random_seed()),
    );
    let local: SocketAddr = if home.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let driver = UdpDriver::bind(client, local, UdpConfig::default())
        .await?
        .with_tap(tap(console.output.clone()));
    let running = Running::udp(driver);
    running
        .call(|client, now| client.network_changed(now))
        .await?;
    let apply =
        move |client: &mut Client, now, line: &str| apply_at_client(client, home, now, line);
    running
        .converse(
            console,
            apply,
            |event| format!("{event:?}"),
            |event| matches!(event, ClientEvent::PeerUnreachable { .. }),
        )
        .await
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;
