//! The ptpchat messages: the envelope, the verbs and each verb's typed `msg_data`.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;
use uuid::Uuid;

/// A node's identifier, `node_id` on the wire: a GUID.
pub type NodeId = Uuid;

/// A message's identifier, `msg_id` on the wire: a GUID.
pub type MsgId = Uuid;

/// The `ttl` a message starts with unless its verb says otherwise.
pub const DEFAULT_TTL: u32 = 32;

/// A ptpchat verb: the `msg_type` every message carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Verb {
    /// Presence and attributes; answered with HELLO, repeated periodically.
    Hello,
    /// The immediate recipient got a message.
    Ack,
    /// A message could not reach its target; sent to its original sender.
    Nack,
    /// A node joins a channel.
    Join,
    /// A channel and its members.
    Channel,
    /// A node leaves a channel.
    Leave,
    /// Asks the target for its certificate.
    GetCertificate,
    /// A node's certificate.
    Certificate,
    /// Asks for a closed channel's key.
    GetKey,
    /// A closed channel's key, encrypted for the target.
    Key,
    /// A chat message.
    Message,
    /// The nodes the sender can reach, with their hop counts.
    Routing,
    /// A NAT rendezvous through a third node.
    Connect,
    /// The early generation's relay verb; its data is not specified.
    Relay,
}

impl Verb {
    /// Every verb.
    pub const ALL: [Verb; 14] = [
        Verb::Hello,
        Verb::Ack,
        Verb::Nack,
        Verb::Join,
        Verb::Channel,
        Verb::Leave,
        Verb::GetCertificate,
        Verb::Certificate,
        Verb::GetKey,
        Verb::Key,
        Verb::Message,
        Verb::Routing,
        Verb::Connect,
        Verb::Relay,
    ];

    /// The verb as emitted: upper-case.
    pub fn name(self) -> &'static str {
        match self {
            Verb::Hello => "HELLO",
            Verb::Ack => "ACK",
            Verb::Nack => "NACK",
            Verb::Join => "JOIN",
            Verb::Channel => "CHANNEL",
            Verb::Leave => "LEAVE",
            Verb::GetCertificate => "GETCERTIFICATE",
            Verb::Certificate => "CERTIFICATE",
            Verb::GetKey => "GETKEY",
            Verb::Key => "KEY",
            Verb::Message => "MESSAGE",
            Verb::Routing => "ROUTING",
            Verb::Connect => "CONNECT",
            Verb::Relay => "RELAY",
        }
    }

    /// The verb named `name`, matched case-insensitively.
    pub fn from_name(name: &str) -> Option<Verb> {
        Verb::ALL
            .into_iter()
            .find(|verb| verb.name().eq_ignore_ascii_case(name))
    }

    /// Whether the spec asks the immediate recipient to answer with an ACK.
    pub fn wants_ack(self) -> bool {
        matches!(
            self,
            Verb::GetCertificate | Verb::Certificate | Verb::GetKey | Verb::Key | Verb::Message
        )
    }
}

impl fmt::Display for Verb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The latest generation's head fields. Every field is optional: the early
/// generation sends none of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Envelope {
    /// Hops this message may still take.
    pub ttl: Option<u32>,
    /// Whether the message is flooded to the whole network.
    pub flood: Option<bool>,
    /// The message's unique id.
    pub msg_id: Option<MsgId>,
    /// The node that created the message.
    pub sender_id: Option<NodeId>,
    /// The intended recipient; absent for neighbours and floods.
    pub target_id: Option<NodeId>,
}

impl Envelope {
    /// Whether no envelope field is set: an early-generation message.
    pub fn is_empty(&self) -> bool {
        *self == Envelope::default()
    }
}

/// One message: the envelope and the verb with its data.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Message {
    /// The head fields.
    pub envelope: Envelope,
    /// The verb and its `msg_data`.
    pub body: Body,
}

impl Message {
    /// An early-generation message: no envelope.
    pub fn early(body: Body) -> Self {
        Message {
            envelope: Envelope::default(),
            body,
        }
    }

    /// The message's verb.
    pub fn verb(&self) -> Verb {
        self.body.verb()
    }
}

/// A verb with its typed `msg_data`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Body {
    /// HELLO.
    Hello(Hello),
    /// ACK of the message `msg_id`.
    Ack(Ack),
    /// NACK of the message `msg_id`.
    Nack(Ack),
    /// JOIN a channel.
    Join(ChannelRef),
    /// CHANNEL listing.
    Channel(Channel),
    /// LEAVE a channel.
    Leave(ChannelRef),
    /// GETCERTIFICATE; its data is empty.
    GetCertificate,
    /// CERTIFICATE.
    Certificate(Certificate),
    /// GETKEY for a channel.
    GetKey(ChannelRef),
    /// KEY for a channel.
    Key(Key),
    /// MESSAGE.
    Message(ChatMessage),
    /// ROUTING.
    Routing(Routing),
    /// CONNECT.
    Connect(Connect),
    /// RELAY (early generation): the data kept as the JSON it was, if any.
    Relay(Option<RawJson>),
}

impl Body {
    /// The body's verb.
    pub fn verb(&self) -> Verb {
        match self {
            Body::Hello(_) => Verb::Hello,
            Body::Ack(_) => Verb::Ack,
            Body::Nack(_) => Verb::Nack,
            Body::Join(_) => Verb::Join,
            Body::Channel(_) => Verb::Channel,
            Body::Leave(_) => Verb::Leave,
            Body::GetCertificate => Verb::GetCertificate,
            Body::Certificate(_) => Verb::Certificate,
            Body::GetKey(_) => Verb::GetKey,
            Body::Key(_) => Verb::Key,
            Body::Message(_) => Verb::Message,
            Body::Routing(_) => Verb::Routing,
            Body::Connect(_) => Verb::Connect,
            Body::Relay(_) => Verb::Relay,
        }
    }
}

/// Whether a node represents a user or only relays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum NodeType {
    /// `client`: a user's node.
    Client,
    /// `server`: a relay or entry point.
    Server,
}

impl NodeType {
    /// The wire name, lower-case.
    pub fn name(self) -> &'static str {
        match self {
            NodeType::Client => "client",
            NodeType::Server => "server",
        }
    }
}

impl Serialize for NodeType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// HELLO's data. The early generation sends none; both fields are then `None`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Hello {
    /// The software and its version, purely informational.
    pub version: Option<String>,
    /// `attributes.node_type`.
    pub node_type: Option<NodeType>,
}

impl Hello {
    /// Whether HELLO carries no data at all (the early form).
    pub fn is_empty(&self) -> bool {
        self.version.is_none() && self.node_type.is_none()
    }
}

impl Serialize for Hello {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        if let Some(version) = &self.version {
            map.serialize_entry("version", version)?;
        }
        if let Some(node_type) = self.node_type {
            map.serialize_entry("attributes", &NodeTypeAttributes { node_type })?;
        }
        map.end()
    }
}

#[derive(Serialize)]
struct NodeTypeAttributes {
    node_type: NodeType,
}

/// ACK's and NACK's data: the message acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Ack {
    /// The id of the message (not)acknowledged.
    pub msg_id: MsgId,
}

/// A channel named by name and id: JOIN, LEAVE and GETKEY data.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct ChannelRef {
    /// The channel's name.
    pub channel: String,
    /// The channel's id.
    pub channel_id: Uuid,
}

/// CHANNEL's data: a channel and its members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Channel {
    /// The channel's name.
    pub channel: String,
    /// The channel's id.
    pub channel_id: Uuid,
    /// Its members, `[{"node_id": ..}]` on the wire.
    #[serde(serialize_with = "node_id_list")]
    pub members: Vec<NodeId>,
    /// Whether the channel is closed (private); absent means false.
    pub closed: bool,
}

/// CERTIFICATE's data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Certificate {
    /// The node the certificate is for, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recipient_id: Option<NodeId>,
    /// The certificate, base64 on the wire.
    #[serde(serialize_with = "base64_bytes")]
    pub certificate: Vec<u8>,
}

/// KEY's data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Key {
    /// The channel's name.
    pub channel: String,
    /// The channel's id.
    pub channel_id: Uuid,
    /// The cipher the channel uses.
    pub cipher: String,
    /// The key, encrypted for the target, base64 on the wire.
    #[serde(serialize_with = "base64_bytes")]
    pub key: Vec<u8>,
}

/// MESSAGE's timestamp. The spec does not say its format, so both JSON forms are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Timestamp {
    /// A number (seconds or milliseconds since the Unix epoch, by the sender's choice).
    Number(u64),
    /// A string, such as an RFC 3339 date.
    Text(String),
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Timestamp::Number(number) => serializer.serialize_u64(*number),
            Timestamp::Text(text) => serializer.serialize_str(text),
        }
    }
}

/// One attachment of a MESSAGE.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Attachment {
    /// The attachment's bytes, base64 on the wire.
    #[serde(rename = "attachment", serialize_with = "base64_bytes")]
    pub data: Vec<u8>,
    /// Its MIME type.
    #[serde(rename = "attachment_type")]
    pub mime_type: String,
}

/// MESSAGE's data. Only `message` is required: the early generation sends little else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct ChatMessage {
    /// The recipients, `[{"node_id": ..}]` on the wire.
    #[serde(serialize_with = "node_id_list")]
    pub recipient: Vec<NodeId>,
    /// When it was written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Timestamp>,
    /// The channel's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// The channel's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel_id: Option<Uuid>,
    /// The signed message, base64 on the wire.
    #[serde(serialize_with = "base64_bytes")]
    pub message: Vec<u8>,
    /// Attachments; absent means none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attachment: Vec<Attachment>,
}

/// One entry of a ROUTING list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct RouteEntry {
    /// A node the sender can reach.
    pub node_id: NodeId,
    /// Hops from the sender to that node (`ttl` on the wire).
    #[serde(rename = "ttl")]
    pub hops: u32,
}

/// ROUTING's data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Routing {
    /// The sending node, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_id: Option<NodeId>,
    /// The nodes it can reach.
    pub nodes: Vec<RouteEntry>,
}

/// A full or partial socket address, as CONNECT carries them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `""`: not known yet.
    Empty,
    /// A port alone: the sender's observed IP is still to be filled in.
    Port(u16),
    /// An IP alone (the early generation names the target so).
    Ip(IpAddr),
    /// A full socket address.
    Socket(SocketAddr),
}

impl Endpoint {
    /// The full address, if this is one.
    pub fn socket(self) -> Option<SocketAddr> {
        match self {
            Endpoint::Socket(addr) => Some(addr),
            _ => None,
        }
    }

    /// Completes a partial endpoint with the address the rendezvous node observed:
    /// a port takes the observed IP, an empty endpoint takes the whole observed
    /// address, a full one is kept.
    pub fn filled_from(self, observed: SocketAddr) -> Endpoint {
        match self {
            Endpoint::Empty => Endpoint::Socket(observed),
            Endpoint::Port(port) => Endpoint::Socket(SocketAddr::new(observed.ip(), port)),
            Endpoint::Ip(_) | Endpoint::Socket(_) => self,
        }
    }
}

/// A CONNECT address that is none of `""`, a port, an IP or `IP:port`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an address, port or socket: {0:?}")]
pub struct BadEndpoint(pub String);

impl FromStr for Endpoint {
    type Err = BadEndpoint;
    fn from_str(text: &str) -> Result<Self, BadEndpoint> {
        if text.is_empty() {
            return Ok(Endpoint::Empty);
        }
        if let Ok(addr) = text.parse::<SocketAddr>() {
            return Ok(Endpoint::Socket(addr));
        }
        if let Ok(ip) = text.parse::<IpAddr>() {
            return Ok(Endpoint::Ip(ip));
        }
        // Only digits: `u16::from_str` would also take a leading `+`.
        if text.bytes().all(|b| b.is_ascii_digit()) {
            if let Ok(port) = text.parse::<u16>() {
                return Ok(Endpoint::Port(port));
            }
        }
        Err(BadEndpoint(text.to_owned()))
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Empty => Ok(()),
            Endpoint::Port(port) => write!(f, "{port}"),
            Endpoint::Ip(ip) => write!(f, "{ip}"),
            Endpoint::Socket(addr) => write!(f, "{addr}"),
        }
    }
}

impl Serialize for Endpoint {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// CONNECT's data. The early generation sends only `src` and `dst`; the latest adds
/// the two node ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Connect {
    /// The initiator.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_node_id: Option<NodeId>,
    /// The node the initiator wants to reach.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dst_node_id: Option<NodeId>,
    /// The target side's endpoint.
    pub dst: Endpoint,
    /// The initiating side's endpoint.
    pub src: Endpoint,
}

/// JSON text kept as it came, for data the spec leaves undefined (RELAY).
#[derive(Debug, Clone)]
pub struct RawJson(Box<RawValue>);

impl RawJson {
    /// `text` if it is one JSON value.
    pub fn new(text: &str) -> Result<Self, serde_json::Error> {
        RawValue::from_string(text.to_owned()).map(RawJson)
    }

    /// The JSON text.
    pub fn get(&self) -> &str {
        self.0.get()
    }

    pub(crate) fn from_raw(raw: &RawValue) -> Self {
        RawJson(raw.to_owned())
    }
}

impl PartialEq for RawJson {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl Eq for RawJson {}

impl Serialize for RawJson {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

fn node_id_list<S: Serializer>(ids: &[NodeId], serializer: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Item<'a> {
        node_id: &'a NodeId,
    }
    let mut seq = serializer.serialize_seq(Some(ids.len()))?;
    for node_id in ids {
        seq.serialize_element(&Item { node_id })?;
    }
    seq.end()
}

fn base64_bytes<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
    use base64::Engine as _;
    serializer.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
}
