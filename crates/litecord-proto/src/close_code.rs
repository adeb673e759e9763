//! The close codes a litebridge connection ends with.

pub use proto_core::close_code::{MESSAGE_TOO_BIG, NORMAL, POLICY_VIOLATION};

/// 4001: HELLO_ACK carried the wrong password.
pub const AUTHENTICATION_FAILED: u16 = 4001;
/// 4002: the client sent something other than HELLO_ACK before authenticating.
pub const NOT_AUTHENTICATED: u16 = 4002;
/// 4003: the client stopped heartbeating (sent by the server), or the server stopped
/// acknowledging heartbeats (sent by the client).
pub const HEARTBEAT_TIMEOUT: u16 = 4003;
