//! Proptest strategies for every message type and for a neighbour's whole
//! conversation, for property tests of the codec and of applications built on
//! the [`Node`](crate::Node).
//!
//! Every message encodes and decodes back to itself. Strings are short and lists
//! hold at most a few items so that cases run fast.

use std::net::IpAddr;

use proptest::prelude::*;
use uuid::Uuid;

use crate::message::{
    Ack, Attachment, Body, Certificate, Channel, ChannelRef, ChatMessage, Connect, DEFAULT_TTL,
    Endpoint, Envelope, Hello, Key, Message, NodeId, NodeType, RawJson, RouteEntry, Routing,
    Timestamp,
};
use crate::sample;

/// Any GUID.
pub fn guid() -> impl Strategy<Value = Uuid> {
    any::<u128>().prop_map(Uuid::from_u128)
}

fn text() -> impl Strategy<Value = String> {
    "\\PC{0,12}"
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..24)
}

/// `client` or `server`.
pub fn node_type() -> impl Strategy<Value = NodeType> {
    prop_oneof![Just(NodeType::Client), Just(NodeType::Server)]
}

/// HELLO's data, either generation's form.
pub fn hello() -> impl Strategy<Value = Hello> {
    (
        proptest::option::of(text()),
        proptest::option::of(node_type()),
    )
        .prop_map(|(version, node_type)| Hello { version, node_type })
}

/// ACK's and NACK's data.
pub fn ack() -> impl Strategy<Value = Ack> {
    guid().prop_map(|msg_id| Ack { msg_id })
}

/// JOIN's, LEAVE's and GETKEY's data.
pub fn channel_ref() -> impl Strategy<Value = ChannelRef> {
    (text(), guid()).prop_map(|(channel, channel_id)| ChannelRef {
        channel,
        channel_id,
    })
}

/// CHANNEL's data: up to three members.
pub fn channel() -> impl Strategy<Value = Channel> {
    (
        channel_ref(),
        proptest::collection::vec(guid(), 0..4),
        any::<bool>(),
    )
        .prop_map(|(channel, members, closed)| Channel {
            channel: channel.channel,
            channel_id: channel.channel_id,
            members,
            closed,
        })
}

/// CERTIFICATE's data.
pub fn certificate() -> impl Strategy<Value = Certificate> {
    (proptest::option::of(guid()), bytes()).prop_map(|(recipient_id, certificate)| Certificate {
        recipient_id,
        certificate,
    })
}

/// KEY's data.
pub fn key() -> impl Strategy<Value = Key> {
    (channel_ref(), text(), bytes()).prop_map(|(channel, cipher, key)| Key {
        channel: channel.channel,
        channel_id: channel.channel_id,
        cipher,
        key,
    })
}

/// A MESSAGE timestamp, number or text.
pub fn timestamp() -> impl Strategy<Value = Timestamp> {
    prop_oneof![
        any::<u64>().prop_map(Timestamp::Number),
        text().prop_map(Timestamp::Text)
    ]
}

/// One attachment.
pub fn attachment() -> impl Strategy<Value = Attachment> {
    (bytes(), text()).prop_map(|(data, mime_type)| Attachment { data, mime_type })
}

/// MESSAGE's data: up to two recipients and two attachments.
pub fn chat_message() -> impl Strategy<Value = ChatMessage> {
    (
        proptest::collection::vec(guid(), 0..3),
        proptest::option::of(timestamp()),
        proptest::option::of(text()),
        proptest::option::of(guid()),
        bytes(),
        proptest::collection::vec(attachment(), 0..3),
    )
        .prop_map(
            |(recipient, timestamp, channel, channel_id, message, attachment)| ChatMessage {
                recipient,
                timestamp,
                channel,
                channel_id,
                message,
                attachment,
            },
        )
}

/// One ROUTING entry.
pub fn route_entry() -> impl Strategy<Value = RouteEntry> {
    (guid(), any::<u32>()).prop_map(|(node_id, hops)| RouteEntry { node_id, hops })
}

/// ROUTING's data: up to three entries.
pub fn routing() -> impl Strategy<Value = Routing> {
    (
        proptest::option::of(guid()),
        proptest::collection::vec(route_entry(), 0..4),
    )
        .prop_map(|(node_id, nodes)| Routing { node_id, nodes })
}

/// A CONNECT endpoint: empty, a port, an IP or a socket address.
pub fn endpoint() -> impl Strategy<Value = Endpoint> {
    (0..4u8, any::<IpAddr>(), any::<u16>())
        .prop_map(|(kind, ip, port)| sample::endpoint(kind, ip, port))
}

/// CONNECT's data, either generation's form.
pub fn connect() -> impl Strategy<Value = Connect> {
    (
        proptest::option::of(guid()),
        proptest::option::of(guid()),
        endpoint(),
        endpoint(),
    )
        .prop_map(|(src_node_id, dst_node_id, dst, src)| Connect {
            src_node_id,
            dst_node_id,
            dst,
            src,
        })
}

/// RELAY's data: a small JSON object.
pub fn relay_data() -> impl Strategy<Value = RawJson> {
    (proptest::collection::vec(any::<i64>(), 0..3), text())
        .prop_filter_map("RELAY data is JSON", |(numbers, text)| {
            sample::relay_data(&numbers, &text)
        })
}

/// Any verb with its data.
pub fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        hello().prop_map(Body::Hello),
        ack().prop_map(Body::Ack),
        ack().prop_map(Body::Nack),
        channel_ref().prop_map(Body::Join),
        channel_ref().prop_map(Body::Leave),
        channel_ref().prop_map(Body::GetKey),
        channel().prop_map(Body::Channel),
        Just(Body::GetCertificate),
        certificate().prop_map(Body::Certificate),
        key().prop_map(Body::Key),
        chat_message().prop_map(Body::Message),
        routing().prop_map(Body::Routing),
        connect().prop_map(Body::Connect),
        proptest::option::of(relay_data()).prop_map(Body::Relay),
    ]
}

/// Any envelope: each field present or not (absent everywhere is the early form).
pub fn envelope() -> impl Strategy<Value = Envelope> {
    (
        proptest::option::of(any::<u32>()),
        proptest::option::of(any::<bool>()),
        proptest::option::of(guid()),
        proptest::option::of(guid()),
        proptest::option::of(guid()),
    )
        .prop_map(|(ttl, flood, msg_id, sender_id, target_id)| Envelope {
            ttl,
            flood,
            msg_id,
            sender_id,
            target_id,
        })
}

/// Any message of either generation.
pub fn message() -> impl Strategy<Value = Message> {
    (envelope(), body()).prop_map(|(envelope, body)| Message { envelope, body })
}

/// What a latest-generation neighbour sends on a new link: a HELLO carrying its
/// node id, then up to 32 messages it originates, each with a `msg_id` of its own,
/// a `ttl` of 1 to [`DEFAULT_TTL`], flooded or aimed at one of `targets` (or at
/// nobody: a message for the neighbours). Returns the neighbour's id and the
/// messages in order.
pub fn peer_conversation(targets: Vec<NodeId>) -> impl Strategy<Value = (NodeId, Vec<Message>)> {
    let target = if targets.is_empty() {
        Just(None).boxed()
    } else {
        proptest::option::of(proptest::sample::select(targets)).boxed()
    };
    let traffic = (body(), target, any::<bool>(), 1..=DEFAULT_TTL)
        .prop_filter("one HELLO opens the conversation", |(body, ..)| {
            !matches!(body, Body::Hello(_))
        });
    (
        guid(),
        (hello(), node_type()),
        proptest::collection::vec(traffic, 0..=32),
        proptest::collection::hash_set(any::<u128>(), 33),
    )
        .prop_map(|(sender, (hello, node_type), traffic, ids)| {
            let mut ids = ids.into_iter().map(Uuid::from_u128);
            let envelope = |ids: &mut dyn Iterator<Item = Uuid>, ttl, flood, target| Envelope {
                ttl: Some(ttl),
                flood: Some(flood),
                msg_id: ids.next(),
                sender_id: Some(sender),
                target_id: target,
            };
            let hello = Hello {
                node_type: Some(node_type),
                ..hello
            };
            let mut messages = vec![Message {
                envelope: envelope(&mut ids, 1, false, None),
                body: Body::Hello(hello),
            }];
            for (body, target, flood, ttl) in traffic {
                let target = if flood { None } else { target };
                messages.push(Message {
                    envelope: envelope(&mut ids, ttl, flood, target),
                    body,
                });
            }
            (sender, messages)
        })
}
