//! Sealing outgoing packets (sign, then encode) and opening incoming ones (verify,
//! then check for replay), shared by both machines.

use std::net::SocketAddr;

use bytes::Bytes;
use proto_core::SeededRng;

use crate::codec::{EncodeError, encode, signed_message};
use crate::error::InputError;
use crate::identity::{Signer, Verifier};
use crate::packet::{Body, Packet, Params};
use crate::replay::ReplayGuard;

/// Signs `body` at `timestamp` and encodes it, shifted by `shift` when given.
pub(crate) fn seal(
    signer: &dyn Signer,
    params: Params,
    shift: Option<u8>,
    timestamp: u64,
    body: Body<'_>,
    filler: &mut SeededRng,
    scratch: &mut Vec<u8>,
) -> Result<Bytes, EncodeError> {
    scratch.clear();
    signed_message(timestamp, &body, scratch)?;
    let signature = signer.sign(scratch);
    let packet = Packet {
        params: params.with_shifts(shift.is_some()),
        shift_len: shift.unwrap_or(0),
        signature: &signature,
        timestamp,
        body,
    };
    let mut out = Vec::with_capacity(crate::codec::encoded_len(&packet));
    encode(&packet, filler, &mut out)?;
    Ok(Bytes::from(out))
}

/// Verifies `packet`'s signature with `verifier`, then records it with `guard`
/// (keyed by `sender`) unless it is a replay.
pub(crate) fn open(
    verifier: &dyn Verifier,
    sender: &[u8],
    packet: &Packet<'_>,
    now_unix: u64,
    guard: &mut ReplayGuard,
    scratch: &mut Vec<u8>,
) -> Result<(), InputError> {
    scratch.clear();
    // A decoded body always re-encodes: its lengths came from u16 fields.
    signed_message(packet.timestamp, &packet.body, scratch)
        .map_err(|_| InputError::UnexpectedType(packet.packet_type()))?;
    verifier
        .verify(scratch, packet.signature)
        .map_err(InputError::BadSignature)?;
    guard.check(
        now_unix,
        packet.timestamp,
        ReplayGuard::key(sender, scratch),
    )?;
    Ok(())
}

/// The bytes a client's replay keys name a peer by: its IPv6 (or v4-mapped)
/// address and port.
pub(crate) fn addr_key(addr: SocketAddr) -> [u8; 18] {
    let ip = match addr {
        SocketAddr::V4(v4) => v4.ip().to_ipv6_mapped(),
        SocketAddr::V6(v6) => *v6.ip(),
    };
    let mut key = [0u8; 18];
    let (head, tail) = key.split_at_mut(16);
    head.copy_from_slice(&ip.octets());
    tail.copy_from_slice(&addr.port().to_be_bytes());
    key
}
