//! Encoding of a [`Message`]: the envelope fields that are set, then `msg_type`
//! upper-case, then `msg_data`; no whitespace.

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::message::{Body, Message};

/// Encodes `message` as JSON text.
///
/// ```
/// use ptpchat_proto::{Body, Hello, Message, codec::encode};
///
/// let hello = Message::early(Body::Hello(Hello::default()));
/// assert_eq!(encode(&hello), br#"{"msg_type":"HELLO"}"#);
/// ```
pub fn encode(message: &Message) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    encode_into(message, &mut out);
    out
}

/// Appends the encoding of `message` to `out`.
pub fn encode_into(message: &Message, out: &mut Vec<u8>) {
    // Writing to a Vec cannot fail, every key is a string and raw JSON was valid when
    // it was built, so there is no error to report.
    let _ = serde_json::to_writer(out, message);
}

impl Serialize for Message {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let envelope = &self.envelope;
        let mut map = serializer.serialize_map(None)?;
        if let Some(ttl) = envelope.ttl {
            map.serialize_entry("ttl", &ttl)?;
        }
        if let Some(flood) = envelope.flood {
            map.serialize_entry("flood", &flood)?;
        }
        if let Some(msg_id) = &envelope.msg_id {
            map.serialize_entry("msg_id", msg_id)?;
        }
        if let Some(sender_id) = &envelope.sender_id {
            map.serialize_entry("sender_id", sender_id)?;
        }
        if let Some(target_id) = &envelope.target_id {
            map.serialize_entry("target_id", target_id)?;
        }
        map.serialize_entry("msg_type", self.verb().name())?;
        match &self.body {
            // The early HELLO has no data at all.
            Body::Hello(hello) if hello.is_empty() => {}
            Body::Hello(hello) => map.serialize_entry("msg_data", hello)?,
            Body::Ack(ack) | Body::Nack(ack) => map.serialize_entry("msg_data", ack)?,
            Body::Join(channel) | Body::Leave(channel) | Body::GetKey(channel) => {
                map.serialize_entry("msg_data", channel)?;
            }
            Body::Channel(channel) => map.serialize_entry("msg_data", channel)?,
            Body::GetCertificate => map.serialize_entry("msg_data", &Empty {})?,
            Body::Certificate(certificate) => map.serialize_entry("msg_data", certificate)?,
            Body::Key(key) => map.serialize_entry("msg_data", key)?,
            Body::Message(message) => map.serialize_entry("msg_data", message)?,
            Body::Routing(routing) => map.serialize_entry("msg_data", routing)?,
            Body::Connect(connect) => map.serialize_entry("msg_data", connect)?,
            Body::Relay(None) => {}
            Body::Relay(Some(data)) => map.serialize_entry("msg_data", data)?,
        }
        map.end()
    }
}

#[derive(serde::Serialize)]
struct Empty {}
