//! `arbitrary::Arbitrary` for the owned packets and their parts. A packet is
//! signed by one of the deterministic generator identities
//! ([`generator_identity`](crate::generator_identity)), picked by the input, so it
//! verifies; a register carries that identity's certificate.

use arbitrary::{Arbitrary, Error, Result, Unstructured};

use crate::identity::{Identity, Signer};
use crate::packet::{FINGERPRINT_LEN, Fingerprint, PacketType, Params};
use crate::packet_buf::{BodyBuf, PacketBuf};
use crate::sample::{self, GENERATOR_BASE_UNIX};

fn identity<'i>(u: &mut Unstructured<'_>) -> Result<&'i Identity> {
    let identities: &'i [Identity] = sample::identities().ok_or(Error::IncorrectFormat)?;
    u.choose(identities)
}

impl<'a> Arbitrary<'a> for Fingerprint {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(Fingerprint(u.arbitrary::<[u8; FINGERPRINT_LEN]>()?))
    }
}

/// Flags with the three defined bits only; the other five are zero.
impl<'a> Arbitrary<'a> for Params {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(Params(u.arbitrary::<u8>()? & 0b111))
    }
}

impl<'a> Arbitrary<'a> for PacketType {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(PacketType::from_code(u.arbitrary()?))
    }
}

/// Any body; a register carries a generator identity's certificate, a client
/// event names a generator identity three times in four.
impl<'a> Arbitrary<'a> for BodyBuf {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(match u.int_in_range(0..=5u8)? {
            0 => BodyBuf::Keepalive,
            1 => BodyBuf::Ok,
            2 => BodyBuf::Register {
                certificate: identity(u)?.certificate().to_vec(),
            },
            3 => BodyBuf::PeerEvent {
                payload: u.arbitrary()?,
            },
            4 => BodyBuf::ClientEvent {
                fingerprint: if u.ratio(3, 4)? {
                    identity(u)?.fingerprint()
                } else {
                    u.arbitrary()?
                },
                payload: u.arbitrary()?,
            },
            _ => BodyBuf::Other {
                code: u.int_in_range(5..=255)?,
                payload: u.arbitrary()?,
            },
        })
    }
}

/// A packet a peer or client would accept from its sender: signed over
/// `timestamp || payload` by a generator identity (a register by the identity whose
/// certificate it carries), the direction flags its type travels with, plain or
/// shifted, timestamped at or after
/// [`GENERATOR_BASE_UNIX`](crate::GENERATOR_BASE_UNIX).
impl<'a> Arbitrary<'a> for PacketBuf {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let signer = identity(u)?;
        let mut body: BodyBuf = u.arbitrary()?;
        if let BodyBuf::Register { certificate } = &mut body {
            *certificate = signer.certificate().to_vec();
        }
        let params = sample::params(&body, u.arbitrary()?);
        let shift: Option<u8> = u.arbitrary()?;
        let timestamp = GENERATOR_BASE_UNIX + u64::from(u.arbitrary::<u32>()?);
        sample::seal(signer, params, shift, timestamp, body).ok_or(Error::IncorrectFormat)
    }
}
