//! Errors: frames that do not decode, input the machines refuse, calls they refuse.

use std::fmt;

use proto_core::{Close, PendingError, close_code};

use crate::request_type::NodeRequestType;

/// A field of the root map or of a typed body, named in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// The root map itself.
    Root,
    /// Root `id`.
    Id,
    /// Root `pakt`.
    Pakt,
    /// Root `reqt`.
    Reqt,
    /// Root `body`.
    Body,
    /// Root `err`.
    Err,
    /// The draft's root `ver`.
    RootVer,
    /// HANDSHAKE `ver`.
    Ver,
    /// HANDSHAKE response `comp`.
    Comp,
    /// GET_NODE_KEY and FORWARD `node`.
    Node,
    /// GET_NODE_KEY response `key`.
    Key,
    /// FORWARD `wait`.
    Wait,
    /// FORWARD `msg`.
    Msg,
    /// FORWARD response `resp`.
    Resp,
}

impl Field {
    /// A bit of its own, to track the fields seen in a map without allocating.
    pub(crate) fn bit(self) -> u32 {
        1 << (self as u32)
    }

    /// The key as it appears on the wire (the root map is `/`).
    pub fn name(self) -> &'static str {
        match self {
            Field::Root => "/",
            Field::Id => "id",
            Field::Pakt => "pakt",
            Field::Reqt => "reqt",
            Field::Body => "body",
            Field::Err => "err",
            Field::RootVer | Field::Ver => "ver",
            Field::Comp => "comp",
            Field::Node => "node",
            Field::Key => "key",
            Field::Wait => "wait",
            Field::Msg => "msg",
            Field::Resp => "resp",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The family of a msgpack value, named in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `nil`.
    Nil,
    /// `true` or `false`.
    Bool,
    /// Any integer.
    Int,
    /// `float 32` or `float 64`.
    Float,
    /// Any string.
    Str,
    /// Any binary.
    Bin,
    /// Any array.
    Array,
    /// Any map.
    Map,
    /// Any extension.
    Ext,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Nil => "nil",
            Kind::Bool => "bool",
            Kind::Int => "integer",
            Kind::Float => "float",
            Kind::Str => "string",
            Kind::Bin => "binary",
            Kind::Array => "array",
            Kind::Map => "map",
            Kind::Ext => "extension",
        })
    }
}

/// Why a frame or a body is not valid Tipt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The frame is longer than the 2.1 MB the spec allows; refused before parsing.
    #[error("frame of {len} bytes exceeds the limit of {max}")]
    FrameTooLarge {
        /// The frame's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The input ends before what a marker declares (a length, a count of
    /// entries, a fixed-size value).
    #[error("truncated: {needed} more bytes declared, {left} left")]
    Truncated {
        /// Bytes (or, for containers, values) declared.
        needed: u64,
        /// Bytes left.
        left: usize,
    },
    /// Bytes follow the root map.
    #[error("{len} bytes after the root map")]
    TrailingBytes {
        /// How many.
        len: usize,
    },
    /// The never-used marker `0xc1`.
    #[error("reserved marker 0xc1 at byte {at}")]
    ReservedMarker {
        /// Its offset in the frame.
        at: usize,
    },
    /// A field holds a value of the wrong family.
    #[error("`{field}` must be {expected}, found {found}")]
    WrongType {
        /// The field.
        field: Field,
        /// What it must hold.
        expected: Kind,
        /// What it holds.
        found: Kind,
    },
    /// `body` is neither nil nor a map.
    #[error("`body` must be nil or a map, found {found}")]
    BodyNotMap {
        /// What it holds.
        found: Kind,
    },
    /// A map key is not a string.
    #[error("map key must be a string, found {found}")]
    KeyNotString {
        /// What it is.
        found: Kind,
    },
    /// An integer lies outside its declared width (`uint8`, `positive fixint`).
    #[error("`{field}` = {value} is outside its declared range")]
    IntegerOutOfRange {
        /// The field.
        field: Field,
        /// The value.
        value: i128,
    },
    /// A string or binary is longer than its field allows.
    #[error("`{field}` of {len} bytes exceeds the limit of {max}")]
    TooLong {
        /// The field.
        field: Field,
        /// Its declared length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A string is not UTF-8.
    #[error("`{field}` is not UTF-8")]
    NotUtf8 {
        /// The field.
        field: Field,
    },
    /// A string the spec declares ASCII is not.
    #[error("`{field}` is not ASCII")]
    NotAscii {
        /// The field.
        field: Field,
    },
    /// A map has a key its type does not define.
    #[error("unknown key in `{map}` at byte {at}")]
    UnknownKey {
        /// The map: [`Field::Root`] or [`Field::Body`].
        map: Field,
        /// The key's offset in the input.
        at: usize,
    },
    /// A key appears twice.
    #[error("`{0}` appears twice")]
    DuplicateKey(Field),
    /// A required field is missing.
    #[error("`{0}` is missing")]
    MissingField(Field),
    /// `pakt` is not a CNPacketType.
    #[error("unknown packet type {0}")]
    UnknownPacketType(u8),
    /// A RESPONSE carries a `reqt` other than nil.
    #[error("a RESPONSE must not carry `reqt`")]
    ReqtOnResponse,
    /// `err` on a REQUEST or EVENT.
    #[error("`err` is only allowed on a RESPONSE")]
    ErrOutsideResponse,
    /// `body` beside `err`.
    #[error("an error RESPONSE must not carry `body`")]
    BodyWithErr,
}

/// What the node answers when it refuses a request, by default as a msgpack
/// string holding [`Refusal::message`]; see
/// [`NodeConfig::refusal`](crate::NodeConfig::refusal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The request needs a signed-in client.
    SignInRequired(NodeRequestType),
    /// The request is for clients that have not signed in.
    AlreadySignedIn(NodeRequestType),
    /// A second HANDSHAKE.
    RepeatedHandshake,
    /// The body does not decode.
    BadBody(DecodeError),
    /// `node` is not a domain name.
    BadNodeName,
}

impl Refusal {
    /// A short English explanation.
    pub fn message(&self) -> String {
        match self {
            Refusal::SignInRequired(reqt) => format!("{reqt} requires signing in"),
            Refusal::AlreadySignedIn(reqt) => format!("{reqt} is not allowed once signed in"),
            Refusal::RepeatedHandshake => "HANDSHAKE was already made".to_owned(),
            Refusal::BadBody(error) => format!("bad body: {error}"),
            Refusal::BadNodeName => "`node` is not a domain name".to_owned(),
        }
    }
}

/// Why a machine refused an input. By the time it is returned the machine has
/// queued its answer — the close of [`InputError::close`] or the `err` response
/// named on the variant — and its state is consistent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// The frame is not a valid Tipt root map; closed with 1008 (a frame over
    /// 2.1 MB with the reason "400 …", as the spec's HTTP 400).
    #[error("bad frame: {0}")]
    Decode(#[from] DecodeError),
    /// A text frame: Tipt is binary only; closed with 1003.
    #[error("text frame")]
    TextFrame,
    /// Anything but a HANDSHAKE request came first; closed with 1008 "400 …".
    #[error("HANDSHAKE must come first")]
    HandshakeFirst,
    /// The peer reused the id of its request still unanswered; closed with 1008.
    #[error("request id {0} is still in use")]
    DuplicateId(u8),
    /// A request was refused with an `err` response; the connection stays open.
    #[error("{} (answered with `err`)", .0.message())]
    Refused(Refusal),
    /// A RESPONSE matched no request awaiting one (it may have timed out);
    /// ignored.
    #[error("response {0} matches no pending request")]
    UnmatchedResponse(u8),
    /// The peer answered HANDSHAKE with a body that does not decode; closed with 1008.
    #[error("bad HANDSHAKE response: {0}")]
    BadHandshakeResponse(DecodeError),
    /// The node sent something other than the HANDSHAKE response before it; closed
    /// with 1008.
    #[error("expected the HANDSHAKE response")]
    ExpectedHandshakeResponse,
    /// Input while no connection is open; ignored.
    #[error("no connection is open")]
    NotOpen,
    /// The transport opened twice; ignored.
    #[error("a connection is already open")]
    AlreadyOpen,
}

/// The prefix of close reasons that stand for the spec's "HTTP 400", which cannot
/// be sent once the WebSocket is up.
pub(crate) const BAD_REQUEST: &str = "400";

/// Close code for a text frame (RFC 6455: unsupported data).
const UNSUPPORTED_DATA: u16 = 1003;

impl InputError {
    /// The close this error calls for, or `None` when the connection stays open.
    pub fn close(&self) -> Option<Close> {
        let close = match self {
            InputError::Decode(DecodeError::FrameTooLarge { len, max }) => Close::new(
                close_code::POLICY_VIOLATION,
                format!("{BAD_REQUEST}: frame of {len} bytes exceeds {max}"),
            ),
            InputError::HandshakeFirst => Close::new(
                close_code::POLICY_VIOLATION,
                format!("{BAD_REQUEST}: HANDSHAKE must come first"),
            ),
            InputError::TextFrame => Close::new(UNSUPPORTED_DATA, "Tipt frames are binary"),
            InputError::Decode(_)
            | InputError::DuplicateId(_)
            | InputError::BadHandshakeResponse(_)
            | InputError::ExpectedHandshakeResponse => {
                Close::new(close_code::POLICY_VIOLATION, self.to_string())
            }
            InputError::Refused(_)
            | InputError::UnmatchedResponse(_)
            | InputError::NotOpen
            | InputError::AlreadyOpen => return None,
        };
        Some(close)
    }
}

/// Why a machine refused an application call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The HANDSHAKE has not succeeded, or the connection is over.
    #[error("the connection is not ready")]
    NotReady,
    /// All 256 request ids await their responses.
    #[error("all 256 request ids are in flight")]
    IdsExhausted,
    /// No request from the peer with this id awaits an answer of this kind.
    #[error("no unanswered request has id {0}")]
    UnknownRequest(u8),
    /// A value given is not what the spec allows (a name or payload too long, a
    /// body that is not one msgpack nil or map).
    #[error("invalid value: {0}")]
    Invalid(DecodeError),
    /// `node` is not a domain name.
    #[error("`node` is not a domain name")]
    BadNodeName,
    /// This request type has its own method (HANDSHAKE is sent on open).
    #[error("{0} has its own method")]
    TypedRequest(NodeRequestType),
    /// The pending table refused the request.
    #[error(transparent)]
    Pending(#[from] PendingError),
}
