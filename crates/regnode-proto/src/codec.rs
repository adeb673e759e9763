//! The root packet on the wire: both layouts, decoded in place and encoded into a
//! caller's buffer.

use rand::Rng;

use crate::packet::{Body, FINGERPRINT_LEN, Packet, PacketType, Params};

/// The smallest plain root: params, type, `sig_len` and timestamp.
pub const MIN_ROOT_LEN: usize = 1 + 1 + 2 + 8;

/// A root field, as decode errors name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// The flags byte.
    Params,
    /// The filler length (shifted layout only).
    ShiftLen,
    /// The packet type byte.
    PacketType,
    /// A filler run of the shifted layout, numbered 1–4 in wire order.
    Shift(u8),
    /// The `sig_len` field.
    SignatureLen,
    /// The signature bytes.
    Signature,
    /// The timestamp.
    Timestamp,
    /// The register body's `cert_len` field.
    CertificateLen,
    /// The register body's certificate.
    Certificate,
    /// The client event's fingerprint.
    Fingerprint,
}

/// Why a datagram is not a root packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The datagram ended inside `field`.
    #[error("datagram ends inside {field:?}: {needed} bytes needed, {available} left")]
    Truncated {
        /// The field being read.
        field: Field,
        /// Bytes the field needs.
        needed: usize,
        /// Bytes left in the datagram (or, inside a payload, in the payload).
        available: usize,
    },
    /// A keepalive or OK carries payload bytes, which neither defines.
    #[error("{packet_type:?} carries {len} payload bytes; it has none")]
    UnexpectedPayload {
        /// The packet's type.
        packet_type: PacketType,
        /// The payload's length.
        len: usize,
    },
    /// A register payload goes on after its certificate.
    #[error("register payload has {len} bytes after its certificate")]
    TrailingBytes {
        /// How many bytes follow the certificate.
        len: usize,
    },
}

/// Why a packet cannot be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The signature does not fit `sig_len` (a u16).
    #[error("signature of {len} bytes does not fit sig_len")]
    SignatureTooLong {
        /// The signature's length.
        len: usize,
    },
    /// The certificate does not fit `cert_len` (a u16).
    #[error("certificate of {len} bytes does not fit cert_len")]
    CertificateTooLong {
        /// The certificate's length.
        len: usize,
    },
    /// `shift_len` is set but the params do not ask for the shifted layout.
    #[error("shift_len {shift_len} set on a plain-layout packet")]
    ShiftWithoutFlag {
        /// The shift length given.
        shift_len: u8,
    },
    /// The body's type is one of 0–4 but written as [`Body::Other`].
    #[error("type {code} has its own body variant")]
    KnownTypeAsOther {
        /// The code.
        code: u8,
    },
}

/// A cursor over the datagram that hands out borrowed slices.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, field: Field, len: usize) -> Result<&'a [u8], DecodeError> {
        match self.rest.split_at_checked(len) {
            Some((head, tail)) => {
                self.rest = tail;
                Ok(head)
            }
            None => Err(DecodeError::Truncated {
                field,
                needed: len,
                available: self.rest.len(),
            }),
        }
    }

    fn array<const N: usize>(&mut self, field: Field) -> Result<&'a [u8; N], DecodeError> {
        let bytes = self.take(field, N)?;
        bytes.try_into().map_err(|_| DecodeError::Truncated {
            field,
            needed: N,
            available: bytes.len(),
        })
    }

    fn u8(&mut self, field: Field) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(field)?[0])
    }
}

/// Decodes one datagram into a root packet, borrowing its signature and payload.
///
/// Never allocates. The filler of the shifted layout is skipped, whatever it holds.
pub fn decode(datagram: &[u8]) -> Result<Packet<'_>, DecodeError> {
    let mut reader = Reader { rest: datagram };
    let params = Params(reader.u8(Field::Params)?);
    let shift_len = if params.shifts_used() {
        reader.u8(Field::ShiftLen)?
    } else {
        0
    };
    let shift = usize::from(shift_len);
    let code = reader.u8(Field::PacketType)?;
    reader.take(Field::Shift(1), shift)?;
    let sig_len = u16::from_be_bytes(*reader.array(Field::SignatureLen)?);
    reader.take(Field::Shift(2), shift)?;
    let signature = reader.take(Field::Signature, usize::from(sig_len))?;
    reader.take(Field::Shift(3), shift)?;
    let timestamp = u64::from_be_bytes(*reader.array(Field::Timestamp)?);
    reader.take(Field::Shift(4), shift)?;
    let body = decode_body(PacketType::from_code(code), reader.rest)?;
    Ok(Packet {
        params,
        shift_len,
        signature,
        timestamp,
        body,
    })
}

/// Decodes a payload as the body of a packet of type `packet_type`.
pub fn decode_body(packet_type: PacketType, payload: &[u8]) -> Result<Body<'_>, DecodeError> {
    let empty = |body| {
        if payload.is_empty() {
            Ok(body)
        } else {
            Err(DecodeError::UnexpectedPayload {
                packet_type,
                len: payload.len(),
            })
        }
    };
    match packet_type {
        PacketType::Keepalive => empty(Body::Keepalive),
        PacketType::Ok => empty(Body::Ok),
        PacketType::Register => {
            let mut reader = Reader { rest: payload };
            let cert_len = u16::from_be_bytes(*reader.array(Field::CertificateLen)?);
            let certificate = reader.take(Field::Certificate, usize::from(cert_len))?;
            if reader.rest.is_empty() {
                Ok(Body::Register { certificate })
            } else {
                Err(DecodeError::TrailingBytes {
                    len: reader.rest.len(),
                })
            }
        }
        PacketType::PeerEvent => Ok(Body::PeerEvent { payload }),
        PacketType::ClientEvent => {
            let mut reader = Reader { rest: payload };
            let fingerprint = reader.array::<FINGERPRINT_LEN>(Field::Fingerprint)?;
            Ok(Body::ClientEvent {
                fingerprint,
                payload: reader.rest,
            })
        }
        PacketType::Other(code) => Ok(Body::Other { code, payload }),
    }
}

/// Appends the body's payload bytes, as they are signed and sent.
pub fn encode_body(body: &Body<'_>, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    match body {
        Body::Keepalive | Body::Ok => {}
        Body::Register { certificate } => {
            let len =
                u16::try_from(certificate.len()).map_err(|_| EncodeError::CertificateTooLong {
                    len: certificate.len(),
                })?;
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(certificate);
        }
        Body::PeerEvent { payload } => out.extend_from_slice(payload),
        Body::ClientEvent {
            fingerprint,
            payload,
        } => {
            out.extend_from_slice(&fingerprint[..]);
            out.extend_from_slice(payload);
        }
        Body::Other { code, payload } => {
            if *code <= 4 {
                return Err(EncodeError::KnownTypeAsOther { code: *code });
            }
            out.extend_from_slice(payload);
        }
    }
    Ok(())
}

/// Appends the bytes a packet's signature covers: `timestamp || payload`.
pub fn signed_message(
    timestamp: u64,
    body: &Body<'_>,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    out.extend_from_slice(&timestamp.to_be_bytes());
    encode_body(body, out)
}

/// The encoded length of `packet`.
pub fn encoded_len(packet: &Packet<'_>) -> usize {
    let shifts = if packet.params.shifts_used() {
        1 + 4 * usize::from(packet.shift_len)
    } else {
        0
    };
    MIN_ROOT_LEN + shifts + packet.signature.len() + packet.body.payload_len()
}

/// Appends `packet` to `out`. In the shifted layout the filler bytes are drawn from
/// `filler`; the plain layout draws nothing.
pub fn encode(
    packet: &Packet<'_>,
    filler: &mut impl Rng,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    let sig_len =
        u16::try_from(packet.signature.len()).map_err(|_| EncodeError::SignatureTooLong {
            len: packet.signature.len(),
        })?;
    let shifted = packet.params.shifts_used();
    if !shifted && packet.shift_len != 0 {
        return Err(EncodeError::ShiftWithoutFlag {
            shift_len: packet.shift_len,
        });
    }
    let start = out.len();
    out.reserve(encoded_len(packet));
    let mut shift = |out: &mut Vec<u8>| {
        if shifted {
            let from = out.len();
            out.resize(from + usize::from(packet.shift_len), 0);
            if let Some(run) = out.get_mut(from..) {
                filler.fill_bytes(run);
            }
        }
    };
    out.push(packet.params.0);
    if shifted {
        out.push(packet.shift_len);
    }
    out.push(packet.body.packet_type().code());
    shift(out);
    out.extend_from_slice(&sig_len.to_be_bytes());
    shift(out);
    out.extend_from_slice(packet.signature);
    shift(out);
    out.extend_from_slice(&packet.timestamp.to_be_bytes());
    shift(out);
    if let Err(error) = encode_body(&packet.body, out) {
        out.truncate(start);
        return Err(error);
    }
    Ok(())
}
