//! Owned packets: a [`Packet`] that holds its signature and payload itself, for
//! generators, queues and tests whose packets outlive the datagram.

use rand::Rng;

use crate::codec::{EncodeError, encode, encoded_len};
use crate::packet::{Body, Fingerprint, Packet, Params};

/// An owned [`Packet`]; [`PacketBuf::as_packet`] borrows it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketBuf {
    /// The flags byte.
    pub params: Params,
    /// The filler length of the shifted layout; 0 in the plain layout.
    pub shift_len: u8,
    /// The signature over `timestamp || payload`.
    pub signature: Vec<u8>,
    /// Unix time in seconds.
    pub timestamp: u64,
    /// The typed payload.
    pub body: BodyBuf,
}

/// An owned [`Body`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyBuf {
    /// Type 0.
    Keepalive,
    /// Type 1.
    Ok,
    /// Type 2: the client's certificate, DER.
    Register {
        /// The certificate.
        certificate: Vec<u8>,
    },
    /// Type 3: the peer's own event.
    PeerEvent {
        /// The event's bytes.
        payload: Vec<u8>,
    },
    /// Type 4: an event between clients.
    ClientEvent {
        /// The other client.
        fingerprint: Fingerprint,
        /// The event's bytes.
        payload: Vec<u8>,
    },
    /// Any type from 5 to 255, its payload raw.
    Other {
        /// The type code.
        code: u8,
        /// The payload.
        payload: Vec<u8>,
    },
}

impl PacketBuf {
    /// The borrowed view.
    pub fn as_packet(&self) -> Packet<'_> {
        Packet {
            params: self.params,
            shift_len: self.shift_len,
            signature: &self.signature,
            timestamp: self.timestamp,
            body: self.body.as_body(),
        }
    }

    /// An owned copy of `packet`.
    pub fn from_packet(packet: &Packet<'_>) -> Self {
        PacketBuf {
            params: packet.params,
            shift_len: packet.shift_len,
            signature: packet.signature.to_vec(),
            timestamp: packet.timestamp,
            body: BodyBuf::from_body(&packet.body),
        }
    }

    /// The packet's datagram ([`encode`]), shift filler drawn from `filler`.
    pub fn encode(&self, filler: &mut impl Rng) -> Result<Vec<u8>, EncodeError> {
        let packet = self.as_packet();
        let mut out = Vec::with_capacity(encoded_len(&packet));
        encode(&packet, filler, &mut out)?;
        Ok(out)
    }
}

impl BodyBuf {
    /// The borrowed view.
    pub fn as_body(&self) -> Body<'_> {
        match self {
            BodyBuf::Keepalive => Body::Keepalive,
            BodyBuf::Ok => Body::Ok,
            BodyBuf::Register { certificate } => Body::Register { certificate },
            BodyBuf::PeerEvent { payload } => Body::PeerEvent { payload },
            BodyBuf::ClientEvent {
                fingerprint,
                payload,
            } => Body::ClientEvent {
                fingerprint: fingerprint.as_bytes(),
                payload,
            },
            BodyBuf::Other { code, payload } => Body::Other {
                code: *code,
                payload,
            },
        }
    }

    /// An owned copy of `body`.
    pub fn from_body(body: &Body<'_>) -> Self {
        match *body {
            Body::Keepalive => BodyBuf::Keepalive,
            Body::Ok => BodyBuf::Ok,
            Body::Register { certificate } => BodyBuf::Register {
                certificate: certificate.to_vec(),
            },
            Body::PeerEvent { payload } => BodyBuf::PeerEvent {
                payload: payload.to_vec(),
            },
            Body::ClientEvent {
                fingerprint,
                payload,
            } => BodyBuf::ClientEvent {
                fingerprint: Fingerprint(*fingerprint),
                payload: payload.to_vec(),
            },
            Body::Other { code, payload } => BodyBuf::Other {
                code,
                payload: payload.to_vec(),
            },
        }
    }
}
