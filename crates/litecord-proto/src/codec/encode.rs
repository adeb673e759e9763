//! Encoding of a [`Message`] in canonical form: `op` first, then the op's fields in
//! the order the specification lists them, no whitespace.

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::message::Message;

/// Encodes `message` as a JSON text frame.
///
/// ```
/// use litecord_proto::{Message, codec::encode, message::Hello};
///
/// let hello = Message::Hello(Hello { hb_interval_ms: 10_000 });
/// assert_eq!(encode(&hello), r#"{"op":0,"hb_interval":10000}"#);
/// ```
pub fn encode(message: &Message<'_>) -> String {
    let mut out = Vec::with_capacity(64);
    encode_into(message, &mut out);
    // The serializer only ever writes JSON text, which is UTF-8.
    String::from_utf8(out).unwrap_or_default()
}

/// Appends the encoding of `message` to `out`.
pub fn encode_into(message: &Message<'_>, out: &mut Vec<u8>) {
    // Writing to a Vec cannot fail, and every field is a string, an integer or raw
    // JSON that was valid when it was built, so there is no error to report.
    let _ = serde_json::to_writer(out, message);
}

impl Serialize for Message<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let len = match self {
            Message::Heartbeat | Message::HeartbeatAck => 1,
            Message::Hello(_) | Message::HelloAck(_) => 2,
            Message::Response(_) | Message::Dispatch(_) => 3,
            Message::Request(_) => 4,
        };
        let mut map = serializer.serialize_map(Some(len))?;
        map.serialize_entry("op", &self.op().code())?;
        match self {
            Message::Hello(hello) => map.serialize_entry("hb_interval", &hello.hb_interval_ms)?,
            Message::HelloAck(ack) => map.serialize_entry("password", &ack.password)?,
            Message::Heartbeat | Message::HeartbeatAck => {}
            Message::Request(request) => {
                map.serialize_entry("w", &request.what)?;
                map.serialize_entry("a", &request.args)?;
                map.serialize_entry("n", &request.nonce)?;
            }
            Message::Response(response) => {
                map.serialize_entry("n", &response.nonce)?;
                map.serialize_entry("r", &response.data)?;
            }
            Message::Dispatch(dispatch) => {
                map.serialize_entry("w", &dispatch.what)?;
                map.serialize_entry("a", &dispatch.args)?;
            }
        }
        map.end()
    }
}
