//! What the machines refuse: the network's bad input ([`InputError`], each with the
//! [`DropReason`] it is counted under) and the application's misuse ([`CallError`]).

use std::net::SocketAddr;

use crate::codec::{DecodeError, EncodeError};
use crate::identity::{CertificateError, SignatureError};
use crate::packet::PacketType;
use crate::replay::ReplayError;

/// Why a datagram was dropped. Machines never answer a dropped datagram.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// The datagram is not a root packet.
    #[error("malformed packet: {0}")]
    Malformed(#[from] DecodeError),
    /// The input carried no datagram address (a stream input, or `from: None`).
    #[error("input without a sender address")]
    NoAddress,
    /// The params say the packet travels the other way (a peer's packet at a peer,
    /// a client's at a client).
    #[error("packet flagged for the other direction")]
    WrongDirection,
    /// A register packet's certificate was refused.
    #[error("certificate refused: {0}")]
    BadCertificate(CertificateError),
    /// The signature does not verify with the sender's key.
    #[error("bad signature: {0}")]
    BadSignature(SignatureError),
    /// The packet is a replay, or its timestamp is outside the window.
    #[error("replay: {0}")]
    Replay(#[from] ReplayError),
    /// No registered client (at a peer) or known peer (at a client) has this address.
    #[error("unknown sender {0}")]
    UnknownSender(SocketAddr),
    /// A type this side never receives.
    #[error("unexpected {0:?}")]
    UnexpectedType(PacketType),
    /// The peer's registry is full and the sender is new.
    #[error("registry full")]
    RegistryFull,
    /// The recipient of an event is away and its queue (or the peer's) is full.
    #[error("queue full for the recipient")]
    QueueFull,
}

/// The counters a peer (or client) keeps for dropped datagrams, one per reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DropReason {
    /// [`InputError::Malformed`] and [`InputError::NoAddress`].
    Malformed,
    /// [`InputError::WrongDirection`].
    WrongDirection,
    /// [`InputError::BadCertificate`].
    BadCertificate,
    /// [`InputError::BadSignature`].
    BadSignature,
    /// [`InputError::Replay`].
    Replay,
    /// [`InputError::UnknownSender`].
    UnknownSender,
    /// [`InputError::UnexpectedType`].
    UnexpectedType,
    /// [`InputError::RegistryFull`].
    RegistryFull,
    /// [`InputError::QueueFull`].
    QueueFull,
}

impl DropReason {
    /// Every reason, in counter order.
    pub const ALL: [DropReason; 9] = [
        DropReason::Malformed,
        DropReason::WrongDirection,
        DropReason::BadCertificate,
        DropReason::BadSignature,
        DropReason::Replay,
        DropReason::UnknownSender,
        DropReason::UnexpectedType,
        DropReason::RegistryFull,
        DropReason::QueueFull,
    ];
}

impl InputError {
    /// The counter this refusal is counted under.
    pub fn reason(&self) -> DropReason {
        match self {
            InputError::Malformed(_) | InputError::NoAddress => DropReason::Malformed,
            InputError::WrongDirection => DropReason::WrongDirection,
            InputError::BadCertificate(_) => DropReason::BadCertificate,
            InputError::BadSignature(_) => DropReason::BadSignature,
            InputError::Replay(_) => DropReason::Replay,
            InputError::UnknownSender(_) => DropReason::UnknownSender,
            InputError::UnexpectedType(_) => DropReason::UnexpectedType,
            InputError::RegistryFull => DropReason::RegistryFull,
            InputError::QueueFull => DropReason::QueueFull,
        }
    }
}

/// Dropped datagrams, counted per [`DropReason`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DropCounters([u64; DropReason::ALL.len()]);

impl DropCounters {
    /// How many datagrams were dropped for `reason`.
    pub fn get(&self, reason: DropReason) -> u64 {
        self.0.get(reason as usize).copied().unwrap_or(0)
    }

    /// How many datagrams were dropped in all.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    pub(crate) fn count(&mut self, reason: DropReason) {
        if let Some(counter) = self.0.get_mut(reason as usize) {
            *counter = counter.saturating_add(1);
        }
    }
}

/// Why an application call was refused; nothing was sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The peer address is neither the home peer nor one added with `add_peer`.
    #[error("no peer at {0}")]
    UnknownPeer(SocketAddr),
    /// The event is longer than the configured limit.
    #[error("event of {len} bytes exceeds the limit of {max}")]
    EventTooLong {
        /// The event's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Too many events already wait for a registration with that peer.
    #[error("{0} events already wait for the peer")]
    Backlogged(usize),
    /// No client with that fingerprint is registered.
    #[error("client {0} is not registered")]
    NotRegistered(crate::packet::Fingerprint),
    /// The packet could not be encoded.
    #[error("cannot encode: {0}")]
    Encode(#[from] EncodeError),
}
