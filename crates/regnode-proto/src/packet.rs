//! The root packet and its typed bodies, borrowed from the datagram they came in.

use std::fmt;

/// The length of a certificate fingerprint: a SHA-256 digest.
pub const FINGERPRINT_LEN: usize = 32;

/// The SHA-256 digest of a certificate's DER, which names a client.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint(pub [u8; FINGERPRINT_LEN]);

impl Fingerprint {
    /// The digest's bytes.
    pub fn as_bytes(&self) -> &[u8; FINGERPRINT_LEN] {
        &self.0
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// The root's first byte: eight flags, bit 0 the least significant.
///
/// Bits 0–2 have meanings; the other five are kept as they came, so a packet
/// re-encodes to the same byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Params(pub u8);

impl Params {
    /// Bit 0: the packet was sent by a peer (a server), not a client.
    pub const SENDER_IS_PEER: u8 = 1 << 0;
    /// Bit 1: the packet is meant for a peer, not a client.
    pub const RECEIVER_IS_PEER: u8 = 1 << 1;
    /// Bit 2: the root uses the shifted layout (filler between its fields).
    pub const SHIFTS_USED: u8 = 1 << 2;

    /// The flags of a packet from a client to a peer, plain layout.
    pub const CLIENT_TO_PEER: Params = Params(Self::RECEIVER_IS_PEER);
    /// The flags of a packet from a peer to a client, plain layout.
    pub const PEER_TO_CLIENT: Params = Params(Self::SENDER_IS_PEER);

    /// Whether a peer sent the packet.
    pub fn sender_is_peer(self) -> bool {
        self.0 & Self::SENDER_IS_PEER != 0
    }

    /// Whether the packet is meant for a peer.
    pub fn receiver_is_peer(self) -> bool {
        self.0 & Self::RECEIVER_IS_PEER != 0
    }

    /// Whether the root uses the shifted layout.
    pub fn shifts_used(self) -> bool {
        self.0 & Self::SHIFTS_USED != 0
    }

    /// The same flags with the shifted layout switched on or off.
    #[must_use]
    pub fn with_shifts(self, on: bool) -> Params {
        if on {
            Params(self.0 | Self::SHIFTS_USED)
        } else {
            Params(self.0 & !Self::SHIFTS_USED)
        }
    }
}

/// The root's packet type byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketType {
    /// 0: keeps a NAT mapping open; never answered.
    Keepalive,
    /// 1: a peer accepted a registration.
    Ok,
    /// 2: a client registers its certificate (and so its address) with a peer.
    Register,
    /// 3: an event from the peer itself.
    PeerEvent,
    /// 4: an event from one client to another, relayed by a peer.
    ClientEvent,
    /// Any other code, which the spec leaves to context.
    Other(u8),
}

impl PacketType {
    /// The type's code on the wire.
    pub fn code(self) -> u8 {
        match self {
            PacketType::Keepalive => 0,
            PacketType::Ok => 1,
            PacketType::Register => 2,
            PacketType::PeerEvent => 3,
            PacketType::ClientEvent => 4,
            PacketType::Other(code) => code,
        }
    }

    /// The type with code `code`.
    pub fn from_code(code: u8) -> PacketType {
        match code {
            0 => PacketType::Keepalive,
            1 => PacketType::Ok,
            2 => PacketType::Register,
            3 => PacketType::PeerEvent,
            4 => PacketType::ClientEvent,
            other => PacketType::Other(other),
        }
    }
}

/// What a packet carries, by type, borrowed from the datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body<'a> {
    /// Type 0, no payload.
    Keepalive,
    /// Type 1, no payload.
    Ok,
    /// Type 2: `[cert_len u16][cert]`.
    Register {
        /// The client's certificate, DER.
        certificate: &'a [u8],
    },
    /// Type 3: the peer's own event; the spec leaves its payload open.
    PeerEvent {
        /// The event's bytes.
        payload: &'a [u8],
    },
    /// Type 4: `[fingerprint 32 bytes][payload]`. From a client, the fingerprint
    /// names the recipient; from a peer, the client that sent the event.
    ClientEvent {
        /// The other client.
        fingerprint: &'a [u8; FINGERPRINT_LEN],
        /// The event's bytes, which the spec leaves to the application.
        payload: &'a [u8],
    },
    /// Any other type, its payload kept raw.
    Other {
        /// The type code (5–255).
        code: u8,
        /// The payload.
        payload: &'a [u8],
    },
}

impl Body<'_> {
    /// The packet type this body is sent as.
    pub fn packet_type(&self) -> PacketType {
        match self {
            Body::Keepalive => PacketType::Keepalive,
            Body::Ok => PacketType::Ok,
            Body::Register { .. } => PacketType::Register,
            Body::PeerEvent { .. } => PacketType::PeerEvent,
            Body::ClientEvent { .. } => PacketType::ClientEvent,
            Body::Other { code, .. } => PacketType::from_code(*code),
        }
    }

    /// The length of the encoded payload.
    pub fn payload_len(&self) -> usize {
        match self {
            Body::Keepalive | Body::Ok => 0,
            Body::Register { certificate } => 2 + certificate.len(),
            Body::PeerEvent { payload } | Body::Other { payload, .. } => payload.len(),
            Body::ClientEvent { payload, .. } => FINGERPRINT_LEN + payload.len(),
        }
    }
}

/// One root packet: flags, signature, timestamp and typed body.
///
/// Decoded, it borrows the signature and every payload byte from the datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    /// The flags byte; [`Params::shifts_used`] picks the layout.
    pub params: Params,
    /// The filler length between root fields in the shifted layout; 0 in the plain
    /// layout.
    pub shift_len: u8,
    /// The sender's signature over `timestamp || payload`.
    pub signature: &'a [u8],
    /// Unix time in seconds (UTC) when the packet was signed.
    pub timestamp: u64,
    /// The typed payload.
    pub body: Body<'a>,
}

impl Packet<'_> {
    /// The packet's type.
    pub fn packet_type(&self) -> PacketType {
        self.body.packet_type()
    }
}
