//! The seven litebridge messages, one type per op code.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use crate::raw::RawJson;

/// A litebridge op code: the `op` field every frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// `0`: the server opens the handshake and announces the heartbeat interval.
    Hello,
    /// `1`: the client answers HELLO with the shared password.
    HelloAck,
    /// `2`: the client is alive.
    Heartbeat,
    /// `3`: the server acknowledges a heartbeat.
    HeartbeatAck,
    /// `4`: a request expecting a RESPONSE with the same nonce.
    Request,
    /// `5`: the answer to a REQUEST.
    Response,
    /// `6`: a request that gets no response.
    Dispatch,
}

impl Op {
    /// Every op, in code order.
    pub const ALL: [Op; 7] = [
        Op::Hello,
        Op::HelloAck,
        Op::Heartbeat,
        Op::HeartbeatAck,
        Op::Request,
        Op::Response,
        Op::Dispatch,
    ];

    /// The op's code on the wire.
    pub fn code(self) -> u8 {
        match self {
            Op::Hello => 0,
            Op::HelloAck => 1,
            Op::Heartbeat => 2,
            Op::HeartbeatAck => 3,
            Op::Request => 4,
            Op::Response => 5,
            Op::Dispatch => 6,
        }
    }

    /// The op with wire code `code`, if there is one.
    pub fn from_code(code: u64) -> Option<Op> {
        Op::ALL.get(usize::try_from(code).ok()?).copied()
    }

    /// The op's name in the specification.
    pub fn name(self) -> &'static str {
        match self {
            Op::Hello => "HELLO",
            Op::HelloAck => "HELLO_ACK",
            Op::Heartbeat => "HEARTBEAT",
            Op::HeartbeatAck => "HEARTBEAT_ACK",
            Op::Request => "REQUEST",
            Op::Response => "RESPONSE",
            Op::Dispatch => "DISPATCH",
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.code())
    }
}

/// OP 0 HELLO, sent by the server when the connection opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hello {
    /// `hb_interval`: how often the client must heartbeat, in milliseconds.
    pub hb_interval_ms: u64,
}

impl Hello {
    /// The heartbeat interval.
    pub fn hb_interval(&self) -> Duration {
        Duration::from_millis(self.hb_interval_ms)
    }
}

/// OP 1 HELLO_ACK, the client's answer to HELLO.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelloAck<'a> {
    /// `password`: the secret shared by client and server.
    pub password: Cow<'a, str>,
}

/// OP 4 REQUEST: asks the peer for something; answered by a RESPONSE carrying `nonce`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request<'a> {
    /// `w`: what is requested.
    pub what: Cow<'a, str>,
    /// `a`: the request's arguments.
    pub args: Vec<RawJson<'a>>,
    /// `n`: the nonce the response will carry back; any JSON value.
    pub nonce: RawJson<'a>,
}

/// OP 5 RESPONSE: the answer to the REQUEST with the same nonce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response<'a> {
    /// `n`: the nonce of the request answered.
    pub nonce: RawJson<'a>,
    /// `r`: the response data; any JSON value.
    pub data: RawJson<'a>,
}

/// OP 6 DISPATCH: a request that expects no response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dispatch<'a> {
    /// `w`: what is requested.
    pub what: Cow<'a, str>,
    /// `a`: the dispatch's arguments.
    pub args: Vec<RawJson<'a>>,
}

/// One litebridge frame, borrowing strings and raw values from the decoded text
/// where it can.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message<'a> {
    /// OP 0.
    Hello(Hello),
    /// OP 1.
    HelloAck(HelloAck<'a>),
    /// OP 2.
    Heartbeat,
    /// OP 3.
    HeartbeatAck,
    /// OP 4.
    Request(Request<'a>),
    /// OP 5.
    Response(Response<'a>),
    /// OP 6.
    Dispatch(Dispatch<'a>),
}

impl Message<'_> {
    /// The message's op code.
    pub fn op(&self) -> Op {
        match self {
            Message::Hello(_) => Op::Hello,
            Message::HelloAck(_) => Op::HelloAck,
            Message::Heartbeat => Op::Heartbeat,
            Message::HeartbeatAck => Op::HeartbeatAck,
            Message::Request(_) => Op::Request,
            Message::Response(_) => Op::Response,
            Message::Dispatch(_) => Op::Dispatch,
        }
    }

    /// The same message, owning all its text.
    pub fn into_owned(self) -> Message<'static> {
        let owned_args =
            |args: Vec<RawJson<'_>>| args.into_iter().map(RawJson::into_owned).collect();
        match self {
            Message::Hello(hello) => Message::Hello(hello),
            Message::HelloAck(ack) => Message::HelloAck(HelloAck {
                password: Cow::Owned(ack.password.into_owned()),
            }),
            Message::Heartbeat => Message::Heartbeat,
            Message::HeartbeatAck => Message::HeartbeatAck,
            Message::Request(request) => Message::Request(Request {
                what: Cow::Owned(request.what.into_owned()),
                args: owned_args(request.args),
                nonce: request.nonce.into_owned(),
            }),
            Message::Response(response) => Message::Response(Response {
                nonce: response.nonce.into_owned(),
                data: response.data.into_owned(),
            }),
            Message::Dispatch(dispatch) => Message::Dispatch(Dispatch {
                what: Cow::Owned(dispatch.what.into_owned()),
                args: owned_args(dispatch.args),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn op_codes_match_the_table() {
        for (code, op) in Op::ALL.iter().enumerate() {
            assert_eq!(usize::from(op.code()), code);
            assert_eq!(Op::from_code(code as u64), Some(*op));
        }
        assert_eq!(Op::from_code(7), None);
        assert_eq!(Op::from_code(u64::MAX), None);
        assert_eq!(Op::HeartbeatAck.to_string(), "HEARTBEAT_ACK (3)");
    }
}
