//! The root's enums: CNPacketType and CNNodeRequestType.

use std::fmt;

/// `pakt`: what the root map is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketType {
    /// 0x00: a request that demands a response.
    Request,
    /// 0x01: the response to a request.
    Response,
    /// 0x02: information sent outside any response; none is due.
    Event,
}

impl PacketType {
    /// The wire value.
    pub fn to_u8(self) -> u8 {
        match self {
            PacketType::Request => 0,
            PacketType::Response => 1,
            PacketType::Event => 2,
        }
    }

    /// The packet type with wire value `value`, if the spec defines one.
    pub fn from_u8(value: u8) -> Option<Self> {
        match value {
            0 => Some(PacketType::Request),
            1 => Some(PacketType::Response),
            2 => Some(PacketType::Event),
            _ => None,
        }
    }

    /// The spec's name.
    pub fn name(self) -> &'static str {
        match self {
            PacketType::Request => "REQUEST",
            PacketType::Response => "RESPONSE",
            PacketType::Event => "EVENT",
        }
    }
}

impl fmt::Display for PacketType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// CNNodeRequestType: the `reqt` of a request sent to the node. Every value of
/// the declared width is kept, including those the spec reserves or leaves
/// undefined, so a later revision's requests reach the application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeRequestType(pub u8);

/// Who may make a node request, by sign-in state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignIn {
    /// Only a client that has not signed in ("no sign in").
    Forbidden,
    /// Any client ("no sign in required").
    Either,
    /// Only a signed-in client.
    Required,
}

impl NodeRequestType {
    /// 0x00: check the client's protocol version against the node's.
    pub const HANDSHAKE: Self = NodeRequestType(0x00);
    /// 0x01: register a user (no sign in).
    pub const REGISTER: Self = NodeRequestType(0x01);
    /// 0x02: sign in (no sign in).
    pub const SIGN_IN: Self = NodeRequestType(0x02);
    /// 0x03: information on the node (no sign in required).
    pub const GET_INFO: Self = NodeRequestType(0x03);
    /// 0x20: another node's OpenPGP public key.
    pub const GET_NODE_KEY: Self = NodeRequestType(0x20);
    /// 0x21: forward a message to another node.
    pub const FORWARD: Self = NodeRequestType(0x21);

    /// The spec's name, for the types it defines.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            Self::HANDSHAKE => "HANDSHAKE",
            Self::REGISTER => "REGISTER",
            Self::SIGN_IN => "SIGN_IN",
            Self::GET_INFO => "GET_INFO",
            Self::GET_NODE_KEY => "GET_NODE_KEY",
            Self::FORWARD => "FORWARD",
            _ => return None,
        })
    }

    /// The type named `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        [
            Self::HANDSHAKE,
            Self::REGISTER,
            Self::SIGN_IN,
            Self::GET_INFO,
            Self::GET_NODE_KEY,
            Self::FORWARD,
        ]
        .into_iter()
        .find(|reqt| reqt.name() == Some(name))
    }

    /// Who may make this request. 0x04–0x1f are reserved for clients that have not
    /// signed in; every other value the spec does not list needs a sign-in.
    pub fn sign_in(self) -> SignIn {
        match self.0 {
            0x00 | 0x03 => SignIn::Either,
            0x01 | 0x02 | 0x04..=0x1f => SignIn::Forbidden,
            _ => SignIn::Required,
        }
    }
}

impl fmt::Display for NodeRequestType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "request type {:#04x}", self.0),
        }
    }
}
