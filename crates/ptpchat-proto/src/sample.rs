//! Shapes raw material into values that survive the wire, shared by the
//! `arbitrary` and `proptest` generators: CONNECT endpoints and RELAY data.

use std::net::{IpAddr, SocketAddr};

use crate::message::{Endpoint, RawJson};

/// An endpoint of kind `kind` (empty, port, IP, socket address) from its parts.
/// A socket address carries no IPv6 flow info or scope id: the wire form has none.
pub(crate) fn endpoint(kind: u8, ip: IpAddr, port: u16) -> Endpoint {
    match kind % 4 {
        0 => Endpoint::Empty,
        1 => Endpoint::Port(port),
        2 => Endpoint::Ip(ip),
        _ => Endpoint::Socket(SocketAddr::new(ip, port)),
    }
}

/// RELAY data: an object holding `numbers` and `text`. Never `null`, which reads
/// back as absent data.
pub(crate) fn relay_data(numbers: &[i64], text: &str) -> Option<RawJson> {
    let value = serde_json::json!({ "n": numbers, "t": text });
    RawJson::new(&value.to_string()).ok()
}
