//! regnode
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod client;
mod codec;
mod error;
mod identity;
mod packet;
mod peer;
mod replay;
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
pub use peer::{ClientInfo, Peer, PeerConfig, PeerEvent};
pub use replay::{ReplayConfig, ReplayError, ReplayGuard, ReplayKey, WallClock};
