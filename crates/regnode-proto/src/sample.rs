//! The deterministic identities the generators sign with, and sealing a body into
//! a signed owned packet; shared by the `arbitrary` and `proptest` generators.

use std::sync::OnceLock;
use std::time::Duration;

use proto_core::seeded_rng;

use crate::codec::signed_message;
use crate::identity::{CertificateError, Identity, Signer};
use crate::packet::Params;
use crate::packet_buf::{BodyBuf, PacketBuf};

/// How many identities the generators sign with.
pub const GENERATOR_IDENTITIES: u8 = 4;

/// The Unix time (2023-11-14) the generators' certificates start at; their
/// timestamps are at or after it.
pub const GENERATOR_BASE_UNIX: u64 = 1_700_000_000;

/// Generator identity `index` (taken modulo [`GENERATOR_IDENTITIES`]): a key drawn from
/// `seeded_rng(index)` with a self-signed certificate for `arbitrary-{index}`,
/// valid from [`GENERATOR_BASE_UNIX`]. The same index always gives the same identity, so a
/// test can build the verifier of a generated packet's signer.
pub fn generator_identity(index: u8) -> Result<Identity, CertificateError> {
    let index = index % GENERATOR_IDENTITIES;
    Identity::generate(
        &mut seeded_rng(u64::from(index)),
        &format!("arbitrary-{index}"),
        Duration::from_secs(GENERATOR_BASE_UNIX),
    )
}

/// The generator identities, made once.
pub(crate) fn identities() -> Option<&'static [Identity]> {
    static IDENTITIES_MADE: OnceLock<Option<Vec<Identity>>> = OnceLock::new();
    IDENTITIES_MADE
        .get_or_init(|| {
            (0..GENERATOR_IDENTITIES)
                .map(|index| generator_identity(index).ok())
                .collect()
        })
        .as_deref()
}

/// `body` from `signer` at `timestamp`, signed, in the layout `shift` picks.
/// `None` when the body cannot be encoded (a certificate over 64 KiB).
pub(crate) fn seal(
    signer: &dyn Signer,
    params: Params,
    shift: Option<u8>,
    timestamp: u64,
    body: BodyBuf,
) -> Option<PacketBuf> {
    let mut signed = Vec::new();
    signed_message(timestamp, &body.as_body(), &mut signed).ok()?;
    Some(PacketBuf {
        params: params.with_shifts(shift.is_some()),
        shift_len: shift.unwrap_or(0),
        signature: signer.sign(&signed),
        timestamp,
        body,
    })
}

/// The direction flags a body of this kind travels with: keepalives and registers
/// go to a peer, OKs and peer events come from one; client events and other
/// types go either way (`from_peer`).
pub(crate) fn params(body: &BodyBuf, from_peer: bool) -> Params {
    match body {
        BodyBuf::Keepalive | BodyBuf::Register { .. } => Params::CLIENT_TO_PEER,
        BodyBuf::Ok | BodyBuf::PeerEvent { .. } => Params::PEER_TO_CLIENT,
        BodyBuf::ClientEvent { .. } | BodyBuf::Other { .. } if from_peer => Params::PEER_TO_CLIENT,
        BodyBuf::ClientEvent { .. } | BodyBuf::Other { .. } => Params::CLIENT_TO_PEER,
    }
}
