//! Sans-IO implementation of the DCSC registration and peer protocol ("regnode"):
//! signed binary root packets over UDP between clients and the peers that serve
//! them.
//!
//! # What comes in, what goes out
//!
//! A [`Peer`] runs one whole UDP socket: a registry of clients in memory, relaying
//! their events to each other. A [`Client`] runs one user's socket: it registers
//! with its home peer (and with other clients' peers when it writes to them) and
//! keeps its NAT mapping open. Both implement [`proto_core::Machine`]:
//!
//! - **in**: every datagram with its sender, as [`Input::datagram`], and the time,
//!   through `handle_input(now, ..)` and `handle_timeout(now)`;
//! - **application calls**: [`Client::network_changed`], [`Client::send_event`],
//!   [`Client::add_peer`]; [`Peer::send_peer_event`]; counters and registry reads;
//! - **out**, from `poll_output`: datagrams with their destination
//!   ([`Output::Transmit`] to `Peer::Addr`), [`ClientEvent`]s and [`PeerEvent`]s;
//!   `poll_timeout` says when to call `handle_timeout` next.
//!
//! Drain `poll_output` after every `handle_*` call and every application call. The
//! crate never reads a clock ([`WallClock`] maps the driver's `Instant`s to Unix
//! time from one reading the application takes), opens a socket or spawns a thread;
//! shift filler and retry jitter come from an injected [`SeededRng`](proto_core::SeededRng).
//!
//! # The root packet
//!
//! ```text
//! plain:   [params u8][type u8][sig_len u16][sig][timestamp u64][payload]
//! shifted: [params u8][shift_len u8][type u8][shift][sig_len u16][shift][sig][shift]
//!          [timestamp u64][shift][payload]
//! ```
//!
//! | type | name | payload | sent by |
//! |---|---|---|---|
//! | 0 | keepalive | none | client, to its home peer |
//! | 1 | OK | none | peer, answering a register |
//! | 2 | register | `[cert_len u16][cert DER]` | client |
//! | 3 | peer event | open (raw bytes) | peer |
//! | 4 | client event | `[fingerprint 32][event]` | client (recipient's fingerprint), peer (sender's) |
//! | 5–255 | other | kept raw | — |
//!
//! [`decode`] borrows the signature and every payload byte from the datagram and
//! never allocates; [`encode`] appends to a caller's buffer and draws shift filler
//! from the caller's RNG.
//!
//! # Decisions on the spec's gaps
//!
//! The spec (Russian) leaves these open; each decision quotes the words it rests on.
//!
//! - **Byte order**: the spec gives widths only ("Signded Hash Len (uint16)",
//!   "Timestamp (uint64)"). Integers are big-endian, network order.
//! - **Bit numbering**: «Байт делится на 8 бит (литерали bool)» ("the byte is divided
//!   into 8 bits, literally booleans"), listed as `[0]` sender is peer, `[1]` receiver
//!   is peer, `[2]` shifts used, and «в третьем бите (Индекс 2)» ("in the third bit,
//!   index 2"). Index 0 is the least significant bit, so bit 2 is `0x04`. The other
//!   five bits are kept as received ([`Params`]).
//! - **What is signed**: «Подпись пакета, по сути хеш Timestamp + Payload зашифрованный
//!   приватным ключом клиента» ("the packet's signature: in essence a hash of
//!   Timestamp + Payload encrypted with the client's private key"). It is an Ed25519
//!   signature over `timestamp (8 bytes, big-endian) || payload` ([`signed_message`]).
//! - **Timestamp**: «Обычная юниксовская UTC таймштампа, нужна по сути только от replay
//!   атак» ("an ordinary Unix UTC timestamp, needed in essence only against replay
//!   attacks"): Unix time in whole seconds.
//! - **Shift length**: «указывает количество пропущенных байт между полями (Максимум
//!   256)» ("the number of bytes skipped between fields, at most 256"), but the field
//!   is one byte, so 0–255; the same length separates every pair of fields. The
//!   filler is «Пустые участки, можно забить любым мусором» ("empty stretches, may be
//!   filled with any garbage"): random bytes on encode, ignored on decode. «Сдвиги
//!   распространяются только на Root область пакета» ("shifts apply to the root
//!   only"): payloads are never shifted. A peer answers each client in the layout it
//!   last registered with.
//! - **Types**: «0 - Всегда keepalive, не требуется ответ на него» ("0 is always
//!   keepalive; it needs no answer"); «Остальные коды зависят от контекста» ("other
//!   codes depend on context"): codes 5–255 are kept raw. A keepalive or OK with
//!   payload bytes is refused, as neither has one («Payload: Не предусмотрен», "not
//!   provided for").
//! - **Certificates**: the «самоподписанный сертификат» ("self-signed certificate")
//!   is X.509 DER with an Ed25519 key, parsed with `x509-cert` and checked against
//!   its own key ([`Certificate`]); the «sha256 fingerprint на основе его
//!   сертификата» ("sha256 fingerprint from its certificate") is SHA-256 of the DER
//!   ([`fingerprint`]).
//! - **Type 4 fingerprint**: the spec defines it only from the peer, as «Fingerprint
//!   of remote client»: the client that sent the event. From a client the same field
//!   names the recipient; the peer swaps in the sender's before relaying.
//! - **The peer signs too**: «клиент и сервер конечно так же могут обменятся
//!   сертификатами» ("client and server can of course exchange certificates as
//!   well"). A peer signs its packets with its own [`Identity`]; a client is given
//!   the [`Verifier`] of each peer it talks to, as it is given the peer's address.
//! - **Registration**: sent «каждый раз когда открывается соединение (То есть при
//!   перезапуске приложения, и при смене сети)» ("each time a connection opens: when
//!   the application restarts and when the network changes"): on
//!   [`Input::Opened`] and [`Client::network_changed`]. «Если ответ от сервера не
//!   поступил в течении определенного времени, клиент делает регистрацию повторно,
//!   после пары неудачных попыток выносит вердикт 'Пир недоступен'» ("if the server
//!   has not answered within some time the client registers again, and after a couple
//!   of failed attempts rules 'peer unreachable'"): [`ClientConfig::register_attempts`]
//!   packets with growing waits, then [`ClientEvent::PeerUnreachable`].
//! - **Keepalive**: «каждые пару минут» ("every couple of minutes"): two minutes by
//!   default; «Для IPv6 его в целом по идее можно не слать» ("over IPv6 it can in
//!   principle be left out") and «может быть опциональным ... когда клиент
//!   подключается к стороннему пиру» ("may be optional when the client connects to a
//!   third-party peer"): [`ClientConfig::keepalive`] may be `None`, and only the home
//!   peer gets keepalives.
//! - **Memory only**: «всё сохраняется ТОЛЬКО в RAM» ("everything is kept ONLY in
//!   RAM"); the peer gives a client its waiting messages «если сам помнит» ("if it
//!   still remembers them"). The registry and the event queue are in memory, bounded
//!   ([`PeerConfig`]), and kept events are delivered when their recipient registers.
//! - **Comparison code**: «короткий 6-значный код, который ваши телефоны генерируют
//!   на основе публичных ключей друг друга» ("a short 6-digit code your phones
//!   generate from each other's public keys"): [`ComparisonCode`] says how.
//!
//! # Replay protection
//!
//! Every packet is verified first, then checked by a [`ReplayGuard`]: its timestamp
//! must be within [`ReplayConfig::window`] of now, and its sender and signed bytes
//! must not have been seen inside the window. The memory is bounded
//! ([`ReplayConfig::capacity`]): when full, the oldest entry is forgotten and every
//! timestamp up to it is refused from then on, so a forgotten packet cannot come
//! back. Register and keepalive payloads never change, so a client gives each one a
//! later timestamp than the last; a peer does the same for its OKs.
//!
//! # Security notes
//!
//! - Only `timestamp || payload` is signed. The params byte and the type byte are
//!   not: a packet's type can be changed in flight and still verify (a keepalive
//!   re-typed as OK has the same empty signed payload). The machines never act on an
//!   unsigned field alone where it matters: the replay key leaves the type out (a
//!   re-typed replay is still a replay), a peer never sends a keepalive (so no signed
//!   empty payload of its own can pass as an OK but an OK), OK and keepalive must be
//!   empty, and the direction bits only ever cause a drop.
//! - An OK names nothing: the spec gives it no payload. A captured OK replayed to
//!   another client within the window makes that client believe it is registered.
//! - The sender's address is not signed. Registration binds a fingerprint to the
//!   address a fresh, correctly signed register came from; a replayed register is
//!   refused, but an on-path attacker who delays the only copy of a register can
//!   still deliver it from its own address first.
//! - A peer answers only verified senders, never with more bytes than their request
//!   (an OK is checked against its register's size), and relays only to registered
//!   addresses: it cannot be used to amplify traffic towards a forged source.
//! - Client events are relayed unencrypted; the concept leaves end-to-end encryption
//!   of event payloads to the application.
//!
//! # A complete run loop
//!
//! A peer and two clients exchange datagrams in memory on a virtual clock; over real
//! UDP, `proto_tokio::UdpDriver` runs the same loop for each machine.
//!
//! ```
//! use std::collections::VecDeque;
//! use std::net::SocketAddr;
//! use std::time::{Duration, Instant};
//! use proto_core::{Input, Machine, Output, Payload, Peer as Addr, seeded_rng};
//! use regnode_proto::{
//!     Client, ClientConfig, ClientEvent, Identity, Peer, PeerConfig, Signer, WallClock,
//!     X509Ed25519,
//! };
//!
//! /// Datagrams in flight: (from, to, bytes).
//! type Wire = VecDeque<(SocketAddr, SocketAddr, Vec<u8>)>;
//!
//! /// Drains `machine`'s outputs: datagrams onto the wire, events returned.
//! fn drain<M: Machine>(from: SocketAddr, machine: &mut M, wire: &mut Wire) -> Vec<M::Event> {
//!     let mut events = Vec::new();
//!     while let Some(output) = machine.poll_output() {
//!         match output {
//!             Output::Transmit(t) => {
//!                 if let (Some(Addr::Addr(to)), Payload::Binary(bytes)) = (t.to, t.payload) {
//!                     wire.push_back((from, to, bytes.to_vec()));
//!                 }
//!             }
//!             Output::Event(event) => events.push(event),
//!             Output::Close { .. } | Output::Reconnect { .. } => {}
//!         }
//!     }
//!     events
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let t0 = Instant::now();
//! let clock = WallClock::new(t0, Duration::from_secs(1_700_000_000));
//! let unix = Duration::from_secs(1_700_000_000);
//! let (peer_at, alice_at, bob_at): (SocketAddr, SocketAddr, SocketAddr) =
//!     ("10.0.0.1:4000".parse()?, "10.0.0.2:5000".parse()?, "10.0.0.3:5000".parse()?);
//!
//! let peer_id = Identity::generate(&mut seeded_rng(0), "peer", unix)?;
//! let peer_verifier = peer_id.certificate_info().verifier();
//! let mut peer = Peer::new(
//!     PeerConfig::default(), Box::new(peer_id), Box::new(X509Ed25519), clock, seeded_rng(1),
//! );
//! let alice_id = Identity::generate(&mut seeded_rng(2), "alice", unix)?;
//! let bob_id = Identity::generate(&mut seeded_rng(3), "bob", unix)?;
//! let bob_fingerprint = bob_id.fingerprint();
//! let mut alice = Client::new(
//!     ClientConfig::new(peer_at), Box::new(alice_id), Box::new(peer_verifier), clock, seeded_rng(4),
//! );
//! let mut bob = Client::new(
//!     ClientConfig::new(peer_at), Box::new(bob_id), Box::new(peer_verifier), clock, seeded_rng(5),
//! );
//!
//! let mut wire = Wire::new();
//! let mut events = Vec::new();
//! alice.network_changed(t0); // the application started: register
//! bob.network_changed(t0);
//! alice.send_event(t0, bob_fingerprint, peer_at, b"hi bob")?; // held until OK
//! loop {
//!     drain(alice_at, &mut alice, &mut wire);
//!     events.extend(drain(bob_at, &mut bob, &mut wire));
//!     drain(peer_at, &mut peer, &mut wire);
//!     let Some((from, to, bytes)) = wire.pop_front() else { break };
//!     let input = Input::datagram(from, &bytes);
//!     let _ = match to {
//!         to if to == peer_at => peer.handle_input(t0, input),
//!         to if to == alice_at => alice.handle_input(t0, input),
//!         _ => bob.handle_input(t0, input),
//!     };
//! }
//! assert_eq!(events.len(), 2);
//! assert_eq!(events[0], ClientEvent::Registered { peer: peer_at });
//! assert!(matches!(&events[1], ClientEvent::Message { payload, .. } if payload == "hi bob"));
//! assert_eq!(peer.len(), 2);
//!
//! // Two minutes later each client sends a keepalive.
//! let t1 = t0 + Duration::from_secs(120);
//! assert_eq!(alice.poll_timeout(), Some(t1));
//! alice.handle_timeout(t1);
//! assert_eq!(drain(alice_at, &mut alice, &mut wire), []);
//! assert_eq!(wire.len(), 1);
//! # Ok(())
//! # }
//! ```
//!
//! # Fuzz and property-test your server
//!
//! The generators this crate's tests use are exported. With the `proptest`
//! feature, `strategy` makes any codec packet, signed packets and a client's
//! whole registration sequence; with `arbitrary`, [`PacketBuf`] and its parts
//! implement `arbitrary::Arbitrary`, so a cargo-fuzz target can take
//! `|packet: PacketBuf|`. Generated packets are signed by one of
//! `GENERATOR_IDENTITIES` deterministic identities (`generator_identity`:
//! a key drawn from `seeded_rng(index)`), so they verify, and a register carries its
//! signer's certificate.
//!
//! Here an application's peer is fed generated registration sequences, each
//! packet at the time it was signed; the handler records who registered:
//!
//! ```
//! # #[cfg(feature = "proptest")]
//! # fn main() {
//! use std::net::SocketAddr;
//! use std::time::{Duration, Instant};
//! use proptest::prelude::*;
//! use proptest::test_runner::{Config, TestRunner};
//! use proto_core::seeded_rng;
//! use regnode_proto::{
//!     GENERATOR_BASE_UNIX, Input, Machine, Output, Peer, PeerConfig, PeerEvent, Signer,
//!     WallClock, X509Ed25519, generator_identity, strategy,
//! };
//!
//! /// The application: remembers who registered.
//! fn handle(registered: &mut Vec<SocketAddr>, event: PeerEvent) {
//!     if let PeerEvent::Registered { addr, .. } = event {
//!         registered.push(addr);
//!     }
//! }
//!
//! let client: SocketAddr = "10.0.0.2:5000".parse().expect("address");
//! let fingerprint = generator_identity(1).expect("identity").fingerprint();
//! let mut runner = TestRunner::new(Config::with_cases(8));
//! let result = runner.run(&strategy::registration(1, 0), |packets| {
//!     let t0 = Instant::now();
//!     let clock = WallClock::new(t0, Duration::from_secs(GENERATOR_BASE_UNIX));
//!     let identity = generator_identity(3).expect("identity");
//!     let mut peer = Peer::new(
//!         PeerConfig::default(), Box::new(identity), Box::new(X509Ed25519), clock, seeded_rng(0),
//!     );
//!     let mut registered = Vec::new();
//!     for packet in &packets {
//!         let now = t0 + Duration::from_secs(packet.timestamp - GENERATOR_BASE_UNIX);
//!         let bytes = packet.encode(&mut seeded_rng(1)).expect("encodes");
//!         let _ = peer.handle_input(now, Input::datagram(client, &bytes));
//!         while let Some(output) = peer.poll_output() {
//!             if let Output::Event(event) = output {
//!                 handle(&mut registered, event);
//!             }
//!         }
//!     }
//!     prop_assert_eq!(registered, vec![client]);
//!     prop_assert_eq!(peer.client(&fingerprint).map(|info| info.addr), Some(client));
//!     Ok(())
//! });
//! assert!(result.is_ok(), "{result:?}");
//! # }
//! # #[cfg(not(feature = "proptest"))]
//! # fn main() {}
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod client;
mod codec;
mod error;
#[cfg(feature = "arbitrary")]
mod fuzzing;
mod identity;
mod packet;
mod packet_buf;
mod peer;
mod replay;
#[cfg(any(feature = "arbitrary", feature = "proptest"))]
mod sample;
#[cfg(feature = "proptest")]
pub mod strategy;
mod wire;

pub use client::{Client, ClientConfig, ClientEvent};
pub use codec::{
    DecodeError, EncodeError, Field, MIN_ROOT_LEN, decode, decode_body, encode, encode_body,
    encoded_len, signed_message,
};
pub use error::{CallError, DropCounters, DropReason, InputError};
pub use identity::{
    Certificate, CertificateError, CertificateScheme, ComparisonCode, Ed25519Verifier, Identity,
    SIGNATURE_LEN, SignatureError, Signer, Verifier, X509Ed25519, fingerprint,
};
pub use packet::{Body, FINGERPRINT_LEN, Fingerprint, Packet, PacketType, Params};
pub use packet_buf::{BodyBuf, PacketBuf};
pub use peer::{ClientInfo, Peer, PeerConfig, PeerEvent};
pub use replay::{ReplayConfig, ReplayError, ReplayGuard, ReplayKey, WallClock};
#[cfg(any(feature = "arbitrary", feature = "proptest"))]
pub use sample::{GENERATOR_BASE_UNIX, GENERATOR_IDENTITIES, generator_identity};

#[doc(no_inline)]
pub use proto_core::{Input, Machine, Output};
