//! Tipt in wirescope: decoding frames (hex or base64) into JSON, encoding JSON back
//! into frames, and the demo over `wss`.
//!
//! The JSON form of a frame is `{"ver"?, "id", "pakt", "reqt"?, "body"?, "err"?}`
//! with `pakt` and known `reqt` by name; msgpack values map to JSON as usual, a
//! binary as `{"$bin": "hex"}`, an extension as `{"$ext": [type, "hex"]}` and a
//! map with keys other than strings as `{"$map": [[key, value], …]}`.

use std::error::Error;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use proto_core::{Close, Limits, Payload, Transmit};
use proto_tokio::tls::{self, CertificateDer, PrivateKeyDer, ServerConfig};
use proto_tokio::ws::WsConfig;
use proto_tokio::{Activity, Driver, Incoming, Traffic, Transport};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rmp::Marker;
use serde_json::{Map, Number, Value};
use tipt_proto::{
    Body, Client, ClientConfig, ClientEvent, Disconnect, Frame, FrameKind, MAX_FRAME_LEN, Node,
    NodeConfig, NodeEvent, NodeRequestType, PacketType, RawBuf, RawValue, Reply, decode,
    decode_to_node, encode,
};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;

use crate::transcript::{SentFrame, Transcript};

/// How deep the JSON rendering follows nested arrays and maps.
const MAX_JSON_DEPTH: usize = 64;

/// Decodes one frame given in hex or base64 and shows its typed form as JSON.
pub(crate) fn decode_line(line: &str) -> Result<String, String> {
    let bytes = parse_bytes(line)?;
    let frame = decode_to_node(&bytes).map_err(|e| format!("{e}  [{e:?}]"))?;
    Ok(format!(
        "{:<22} {}",
        label(&frame, true),
        frame_json(&frame, true, None)?
    ))
}

/// Reads one frame's JSON form and prints its canonical encoding in hex.
pub(crate) fn encode_value(text: &str) -> Result<String, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let object = value.as_object().ok_or("a frame is a JSON object")?;
    if let Some(key) = object
        .keys()
        .find(|key| !["ver", "id", "pakt", "reqt", "body", "err"].contains(&key.as_str()))
    {
        return Err(format!("unknown key {key:?}"));
    }
    let id = object
        .get("id")
        .and_then(Value::as_u64)
        .and_then(|id| u8::try_from(id).ok())
        .ok_or("`id` must be an integer from 0 to 255")?;
    let pakt = match object.get("pakt") {
        Some(Value::String(name)) => [PacketType::Request, PacketType::Response, PacketType::Event]
            .into_iter()
            .find(|pakt| pakt.name() == name),
        Some(value) => value
            .as_u64()
            .and_then(|n| u8::try_from(n).ok())
            .and_then(PacketType::from_u8),
        None => None,
    }
    .ok_or("`pakt` must be REQUEST, RESPONSE, EVENT or 0 to 2")?;
    let reqt = match object.get("reqt") {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) => Some(
            NodeRequestType::from_name(name)
                .ok_or(format!("unknown request type {name:?}"))?
                .0,
        ),
        Some(value) => Some(
            value
                .as_u64()
                .and_then(|n| u8::try_from(n).ok())
                .ok_or("`reqt` must be a name or an integer from 0 to 127")?,
        ),
    };
    let body = object.get("body").map(msgpack).transpose()?;
    let err = object.get("err").map(msgpack).transpose()?;
    let (body, err) = (raw(body.as_deref())?.map(Body::Raw), raw(err.as_deref())?);
    let kind = match (pakt, reqt, err) {
        (PacketType::Response, None, Some(err)) if body.is_none() => FrameKind::Error { err },
        (PacketType::Response, None, None) => FrameKind::Response { body },
        (PacketType::Response, Some(_), _) => return Err("a RESPONSE carries no `reqt`".into()),
        (PacketType::Response, None, Some(_)) => {
            return Err("an error RESPONSE carries no `body`".into());
        }
        (_, _, Some(_)) => return Err("only a RESPONSE carries `err`".into()),
        (_, None, None) => return Err("a REQUEST or EVENT needs `reqt`".into()),
        (PacketType::Request, Some(reqt), None) => FrameKind::Request { reqt, body },
        (PacketType::Event, Some(reqt), None) => FrameKind::Event { reqt, body },
    };
    let ver = match object.get("ver") {
        None => None,
        Some(Value::String(ver)) => Some(ver.as_str()),
        Some(_) => return Err("`ver` must be a string".into()),
    };
    let bytes = encode(&Frame { id, ver, kind });
    // Decoding checks every rule and types the bodies; encoding that is canonical.
    let typed = decode_to_node(&bytes).map_err(|e| format!("{e}  [{e:?}]"))?;
    Ok(hex(&encode(&typed)))
}

fn raw(bytes: Option<&[u8]>) -> Result<Option<RawValue<'_>>, String> {
    bytes
        .map(RawValue::new)
        .transpose()
        .map_err(|e| e.to_string())
}

/// Hex (whitespace ignored) or, failing that, standard base64.
fn parse_bytes(line: &str) -> Result<Vec<u8>, String> {
    let compact: String = line.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.len() % 2 == 0 && compact.bytes().all(|b| b.is_ascii_hexdigit()) {
        return unhex(&compact);
    }
    base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map_err(|_| "neither hex nor base64".to_owned())
}

fn unhex(text: &str) -> Result<Vec<u8>, String> {
    text.as_bytes()
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                .ok_or_else(|| format!("bad hex {pair:?}"))
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `REQUEST GET_NODE_KEY`, `RESPONSE`, `RESPONSE err`, `EVENT 0x07`; requests to
/// the client have types the spec does not name yet.
fn label(frame: &Frame<'_>, to_node: bool) -> String {
    match frame.kind {
        FrameKind::Request { reqt, .. } if to_node => format!("REQUEST {}", NodeRequestType(reqt)),
        FrameKind::Request { reqt, .. } => format!("REQUEST {reqt:#04x}"),
        FrameKind::Response { .. } => "RESPONSE".to_owned(),
        FrameKind::Error { .. } => "RESPONSE err".to_owned(),
        FrameKind::Event { reqt, .. } => format!("EVENT {reqt:#04x}"),
    }
}

/// The frame's JSON form, keys in the spec's order; binaries are cut after
/// `max_bin` bytes when given.
fn frame_json(frame: &Frame<'_>, to_node: bool, max_bin: Option<usize>) -> Result<String, String> {
    let mut fields = Vec::new();
    if let Some(ver) = frame.ver {
        fields.push(("ver", Value::from(ver).to_string()));
    }
    fields.push(("id", frame.id.to_string()));
    fields.push(("pakt", Value::from(frame.packet_type().name()).to_string()));
    let (reqt, body, err) = match frame.kind {
        FrameKind::Request { reqt, body } => {
            let name = NodeRequestType(reqt)
                .name()
                .filter(|_| to_node)
                .map_or(Value::from(reqt), Value::from);
            (Some(name), body, None)
        }
        FrameKind::Event { reqt, body } => (Some(Value::from(reqt)), body, None),
        FrameKind::Response { body } => (None, body, None),
        FrameKind::Error { err } => (None, None, Some(err)),
    };
    if let Some(reqt) = reqt {
        fields.push(("reqt", reqt.to_string()));
    }
    if let Some(body) = body {
        let mut bytes = Vec::new();
        body.encode_into(&mut bytes);
        fields.push(("body", json(&bytes, max_bin)?));
    }
    if let Some(err) = err {
        fields.push(("err", json(err.as_bytes(), max_bin)?));
    }
    let fields: Vec<String> = fields
        .into_iter()
        .map(|(key, value)| format!("\"{key}\":{value}"))
        .collect();
    Ok(format!("{{{}}}", fields.join(",")))
}

/// One msgpack value as JSON text, map keys in their wire order.
fn json(bytes: &[u8], max_bin: Option<usize>) -> Result<String, String> {
    let mut cursor = Cursor { bytes };
    cursor.value(0, max_bin)
}

struct Cursor<'a> {
    bytes: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn take(&mut self, len: usize) -> Result<&'a [u8], String> {
        if len > self.bytes.len() {
            return Err("truncated msgpack".into());
        }
        let (head, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        Ok(head)
    }

    fn uint(&mut self, width: usize) -> Result<u64, String> {
        Ok(self
            .take(width)?
            .iter()
            .fold(0, |acc, &b| (acc << 8) | u64::from(b)))
    }

    fn len(&mut self, width: usize) -> Result<usize, String> {
        usize::try_from(self.uint(width)?).map_err(|e| e.to_string())
    }

    fn value(&mut self, depth: usize, max_bin: Option<usize>) -> Result<String, String> {
        if depth > MAX_JSON_DEPTH {
            return Err(format!("nested deeper than {MAX_JSON_DEPTH}"));
        }
        let marker = Marker::from_u8(self.take(1)?.first().copied().unwrap_or(0xc1));
        let scalar = match marker {
            Marker::Null => Value::Null,
            Marker::True => Value::Bool(true),
            Marker::False => Value::Bool(false),
            Marker::FixPos(n) => Value::from(n),
            Marker::FixNeg(n) => Value::from(n),
            Marker::U8 => Value::from(self.uint(1)?),
            Marker::U16 => Value::from(self.uint(2)?),
            Marker::U32 => Value::from(self.uint(4)?),
            Marker::U64 => Value::from(self.uint(8)?),
            Marker::I8 => Value::from(self.uint(1)? as u8 as i8),
            Marker::I16 => Value::from(self.uint(2)? as u16 as i16),
            Marker::I32 => Value::from(self.uint(4)? as u32 as i32),
            Marker::I64 => Value::from(self.uint(8)? as i64),
            Marker::F32 => float(f64::from(f32::from_bits(self.uint(4)? as u32)))?,
            Marker::F64 => float(f64::from_bits(self.uint(8)?))?,
            Marker::FixStr(n) => self.string(usize::from(n))?,
            Marker::Str8 | Marker::Str16 | Marker::Str32 => {
                let len = self.len(width(marker))?;
                self.string(len)?
            }
            Marker::Bin8 | Marker::Bin16 | Marker::Bin32 => {
                let len = self.len(width(marker))?;
                bin_json(self.take(len)?, max_bin)
            }
            Marker::FixArray(n) => return self.array(usize::from(n), depth, max_bin),
            Marker::Array16 | Marker::Array32 => {
                let len = self.len(width(marker))?;
                return self.array(len, depth, max_bin);
            }
            Marker::FixMap(n) => return self.map(usize::from(n), depth, max_bin),
            Marker::Map16 | Marker::Map32 => {
                let len = self.len(width(marker))?;
                return self.map(len, depth, max_bin);
            }
            Marker::FixExt1 => self.ext(1, max_bin)?,
            Marker::FixExt2 => self.ext(2, max_bin)?,
            Marker::FixExt4 => self.ext(4, max_bin)?,
            Marker::FixExt8 => self.ext(8, max_bin)?,
            Marker::FixExt16 => self.ext(16, max_bin)?,
            Marker::Ext8 | Marker::Ext16 | Marker::Ext32 => {
                let len = self.len(width(marker))?;
                self.ext(len, max_bin)?
            }
            Marker::Reserved => return Err("reserved marker 0xc1".into()),
        };
        Ok(scalar.to_string())
    }

    fn string(&mut self, len: usize) -> Result<Value, String> {
        let bytes = self.take(len)?;
        std::str::from_utf8(bytes)
            .map(Value::from)
            .map_err(|_| "string is not UTF-8".to_owned())
    }

    fn array(
        &mut self,
        len: usize,
        depth: usize,
        max_bin: Option<usize>,
    ) -> Result<String, String> {
        // Every element takes a byte: a longer count is a lie, refused before allocating.
        if len > self.bytes.len() {
            return Err("truncated msgpack".into());
        }
        let items = (0..len)
            .map(|_| self.value(depth + 1, max_bin))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(format!("[{}]", items.join(",")))
    }

    fn map(&mut self, len: usize, depth: usize, max_bin: Option<usize>) -> Result<String, String> {
        if len.saturating_mul(2) > self.bytes.len() {
            return Err("truncated msgpack".into());
        }
        let mut pairs = Vec::with_capacity(len);
        for _ in 0..len {
            let key = self.value(depth + 1, max_bin)?;
            let value = self.value(depth + 1, max_bin)?;
            pairs.push((key, value));
        }
        // A JSON string is the only JSON text that starts with a quote.
        if pairs.iter().all(|(key, _)| key.starts_with('"')) {
            let entries: Vec<String> = pairs
                .into_iter()
                .map(|(key, value)| format!("{key}:{value}"))
                .collect();
            return Ok(format!("{{{}}}", entries.join(",")));
        }
        let entries: Vec<String> = pairs
            .into_iter()
            .map(|(key, value)| format!("[{key},{value}]"))
            .collect();
        Ok(format!("{{\"$map\":[{}]}}", entries.join(",")))
    }

    fn ext(&mut self, len: usize, max_bin: Option<usize>) -> Result<Value, String> {
        let kind = self.take(1)?.first().copied().unwrap_or(0) as i8;
        let data = self.take(len)?;
        let data = bin_json(data, max_bin)
            .get("$bin")
            .cloned()
            .unwrap_or(Value::Null);
        Ok(tagged("$ext", Value::Array(vec![Value::from(kind), data])))
    }
}

/// The width of the length field after a str, bin, array, map or ext marker.
fn width(marker: Marker) -> usize {
    match marker {
        Marker::Str8 | Marker::Bin8 | Marker::Ext8 => 1,
        Marker::Str16 | Marker::Bin16 | Marker::Ext16 | Marker::Array16 | Marker::Map16 => 2,
        _ => 4,
    }
}

fn float(value: f64) -> Result<Value, String> {
    Number::from_f64(value)
        .map(Value::Number)
        .ok_or_else(|| format!("{value} has no JSON form"))
}

fn tagged(tag: &str, value: Value) -> Value {
    let mut object = Map::new();
    object.insert(tag.to_owned(), value);
    Value::Object(object)
}

fn bin_json(bytes: &[u8], max_bin: Option<usize>) -> Value {
    let text = match max_bin {
        Some(max) if bytes.len() > max => {
            format!("{}…({} bytes)", hex(&bytes[..max]), bytes.len())
        }
        _ => hex(bytes),
    };
    tagged("$bin", Value::from(text))
}

/// One JSON value as msgpack, in the smallest widths.
fn msgpack(value: &Value) -> Result<Vec<u8>, String> {
    let mut buf = Vec::new();
    write_msgpack(value, &mut buf, 0)?;
    Ok(buf)
}

fn write_msgpack(value: &Value, buf: &mut Vec<u8>, depth: usize) -> Result<(), String> {
    use rmp::encode as enc;
    if depth > MAX_JSON_DEPTH {
        return Err(format!("nested deeper than {MAX_JSON_DEPTH}"));
    }
    let fail = |e: rmp::encode::ValueWriteError| e.to_string();
    match value {
        Value::Null => enc::write_nil(buf).map_err(|e| e.to_string())?,
        Value::Bool(b) => enc::write_bool(buf, *b).map_err(|e| e.to_string())?,
        Value::Number(n) => {
            if let Some(n) = n.as_u64() {
                enc::write_uint(buf, n).map_err(fail)?;
            } else if let Some(n) = n.as_i64() {
                enc::write_sint(buf, n).map_err(fail)?;
            } else {
                enc::write_f64(buf, n.as_f64().unwrap_or(0.0)).map_err(fail)?;
            }
        }
        Value::String(text) => enc::write_str(buf, text).map_err(fail)?,
        Value::Array(items) => {
            let len = u32::try_from(items.len()).map_err(|e| e.to_string())?;
            enc::write_array_len(buf, len).map_err(fail)?;
            for item in items {
                write_msgpack(item, buf, depth + 1)?;
            }
        }
        Value::Object(object) => {
            match (object.len(), object.iter().next()) {
                (1, Some((tag, Value::String(data)))) if tag == "$bin" => {
                    enc::write_bin(buf, &unhex(data)?).map_err(fail)?;
                    return Ok(());
                }
                (1, Some((tag, Value::Array(parts)))) if tag == "$ext" => {
                    let (Some(kind), Some(Value::String(data))) =
                        (parts.first().and_then(Value::as_i64), parts.get(1))
                    else {
                        return Err("`$ext` is [type, \"hex\"]".into());
                    };
                    let kind = i8::try_from(kind).map_err(|e| e.to_string())?;
                    let data = unhex(data)?;
                    let len = u32::try_from(data.len()).map_err(|e| e.to_string())?;
                    enc::write_ext_meta(buf, len, kind).map_err(fail)?;
                    buf.extend_from_slice(&data);
                    return Ok(());
                }
                (1, Some((tag, Value::Array(pairs)))) if tag == "$map" => {
                    let len = u32::try_from(pairs.len()).map_err(|e| e.to_string())?;
                    enc::write_map_len(buf, len).map_err(fail)?;
                    for pair in pairs {
                        let Some([key, value]) = pair.as_array().map(Vec::as_slice) else {
                            return Err("`$map` holds [key, value] pairs".into());
                        };
                        let [key, value] = [key, value];
                        write_msgpack(key, buf, depth + 1)?;
                        write_msgpack(value, buf, depth + 1)?;
                    }
                    return Ok(());
                }
                _ => {}
            }
            let len = u32::try_from(object.len()).map_err(|e| e.to_string())?;
            enc::write_map_len(buf, len).map_err(fail)?;
            for (key, value) in object {
                enc::write_str(buf, key).map_err(fail)?;
                write_msgpack(value, buf, depth + 1)?;
            }
        }
    }
    Ok(())
}

/// The demo node's handshake deadline: the spec's 3 s, scaled down.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_millis(300);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// Binaries longer than this are cut in the transcript.
const SHOWN_BIN: usize = 16;

type Failure = Box<dyn Error + Send + Sync>;

/// A frame as the transcript shows it.
fn annotate(bytes: &[u8], to_node: bool) -> String {
    match decode(bytes) {
        Ok(frame) => match frame_json(&frame, to_node, Some(SHOWN_BIN)) {
            Ok(json) => format!("{:<22} {json}", label(&frame, to_node)),
            Err(error) => format!("{:<22} ({error})", label(&frame, to_node)),
        },
        Err(error) => format!("{:<22} {} bytes  ({error})", "(bad frame)", bytes.len()),
    }
}

/// A frame for `demo --json`.
fn sent_frame(bytes: &[u8], to_node: bool) -> SentFrame {
    match decode(bytes) {
        Ok(frame) => SentFrame {
            kind: label(&frame, to_node),
            value: frame_json(&frame, to_node, None)
                .and_then(|json| serde_json::from_str(&json).map_err(|error| error.to_string())),
        },
        Err(error) => SentFrame {
            kind: "(bad frame)".to_owned(),
            value: Err(format!("{error}  [{error:?}]")),
        },
    }
}

/// A tap printing what `who` sends (to the node when `to_node`).
fn tap(
    transcript: Transcript,
    who: String,
    to_node: bool,
) -> impl FnMut(Traffic<'_>) + Send + 'static {
    move |traffic| match traffic {
        Traffic::Sent(Payload::Binary(bytes)) => {
            transcript.sent(
                &who,
                "tipt",
                sent_frame(bytes, to_node),
                annotate(bytes, to_node),
            );
        }
        Traffic::Sent(Payload::Ping(_)) => transcript.line(&who, "→ PING"),
        Traffic::Sent(other) => transcript.line(&who, format!("→ {other:?}")),
        Traffic::Closing(close) => transcript.sent(
            &who,
            "tipt",
            SentFrame::close(close),
            format!("CLOSE {close}"),
        ),
        Traffic::Connected => transcript.line(&who, "connected (TLS verified)"),
        Traffic::Received(_) => {}
    }
}

/// A certificate authority and a certificate for 127.0.0.1 it signed, made now.
fn certificates() -> Result<
    (
        CertificateDer<'static>,
        Vec<CertificateDer<'static>>,
        PrivateKeyDer<'static>,
    ),
    Failure,
> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "wirescope demo authority");
    let authority = CertifiedIssuer::self_signed(params, KeyPair::generate()?)?;
    let key = KeyPair::generate()?;
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned()])?.signed_by(&key, &authority)?;
    let key = PrivateKeyDer::try_from(key.serialize_der())?;
    Ok((authority.der().clone(), vec![leaf.der().clone()], key))
}

/// Runs the scripted Tipt session over `wss` and checks each step went as the
/// specification says.
pub(crate) async fn demo() -> Result<(), Box<dyn Error>> {
    demo_inner().await.map_err(|error| error as Box<dyn Error>)
}

async fn demo_inner() -> Result<(), Failure> {
    let transcript = Transcript::new();
    let (root, chain, key) = certificates()?;
    let server_tls = tls::server_config(chain, key)?;
    let client_tls = tls::client_config([root])?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("wss://{}/ws", listener.local_addr()?);
    transcript.heading(&format!(
        "tipt: node on {url} (certificate from a CA made just now), HANDSHAKE deadline {} ms \
         (the spec's 3 s, scaled down)",
        HANDSHAKE_TIMEOUT.as_millis()
    ));
    let (events, mut node_events) = mpsc::unbounded_channel();
    let node = tokio::spawn(accept_loop(listener, server_tls, transcript, events));

    transcript.heading(
        "a compatible client: refused before sign-in, signs in, answers the node's request, \
         gets a key, forwards with and without wait",
    );
    well_behaved_client(&url, Arc::clone(&client_tls), transcript).await?;
    settle().await;
    expect_node_event(
        &mut node_events,
        "the client's answer to the node's request",
        |event| {
            matches!(
                event,
                NodeEvent::Response {
                    reply: Reply::Body(Some(_)),
                    ..
                }
            )
        },
    )?;

    transcript.heading("a client of major version 2: comp false, the connection is closed");
    incompatible_client(&url, Arc::clone(&client_tls), transcript).await?;

    settle().await;
    transcript.heading("a client that never sends HANDSHAKE is closed with 1008 \"400 …\"");
    raw_session(
        &url,
        Arc::clone(&client_tls),
        transcript,
        None,
        "400: no HANDSHAKE",
    )
    .await?;

    settle().await;
    transcript.heading("a frame over 2.1 MB is closed with 1008 \"400 …\"");
    let oversize = vec![0xc0; MAX_FRAME_LEN + 1];
    raw_session(
        &url,
        client_tls,
        transcript,
        Some(oversize),
        "400: frame of",
    )
    .await?;

    settle().await;
    node.abort();
    transcript.end();
    Ok(())
}

/// Lets the node side print the end of one scene before the next begins.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(20)).await;
}

fn expect_node_event(
    events: &mut mpsc::UnboundedReceiver<NodeEvent>,
    what: &str,
    wanted: impl Fn(&NodeEvent) -> bool,
) -> Result<(), Failure> {
    while let Ok(event) = events.try_recv() {
        if wanted(&event) {
            return Ok(());
        }
    }
    Err(format!("the node never saw {what}").into())
}

/// Accepts `wss` connections on `/ws`, each run by its own node machine.
async fn accept_loop(
    listener: TcpListener,
    config: Arc<ServerConfig>,
    transcript: Transcript,
    events: mpsc::UnboundedSender<NodeEvent>,
) {
    let mut node_config = NodeConfig::new();
    node_config.handshake_timeout = HANDSHAKE_TIMEOUT;
    node_config.request_timeout = REQUEST_TIMEOUT;
    let mut connections = 0;
    while let Ok((stream, _)) = listener.accept().await {
        connections += 1;
        let who = format!("node#{connections}");
        let (config, node_config, events) =
            (Arc::clone(&config), node_config.clone(), events.clone());
        tokio::spawn(async move {
            let Ok(transport) = tls::accept_with(stream, config, &tipt_ws(), only_ws_path).await
            else {
                return;
            };
            let Ok(node) = Node::new(node_config) else {
                return;
            };
            let driver = Driver::new(node, transport).with_tap(tap(transcript, who.clone(), false));
            serve(driver, transcript, who, events).await;
        });
    }
}

/// Tipt lives at `/ws`; anything else is not found.
#[allow(clippy::result_large_err)] // the signature tungstenite's callbacks have
fn only_ws_path(request: &Request, response: Response) -> Result<Response, ErrorResponse> {
    if request.uri().path() == "/ws" {
        return Ok(response);
    }
    let mut refusal = ErrorResponse::new(Some("Tipt is served at /ws".to_owned()));
    *refusal.status_mut() = StatusCode::NOT_FOUND;
    Err(refusal)
}

/// A map body `{key: value}` with a string value.
fn body(key: &str, value: &str) -> RawBuf {
    let mut bytes = Vec::new();
    let _ = write_msgpack(&serde_json::json!({ key: value }), &mut bytes, 0);
    RawBuf::new(bytes).unwrap_or_else(|_| RawBuf::nil())
}

/// The node's application: signs clients in, asks them for their status, stands
/// in for the HTTP fetches of GET_NODE_KEY and FORWARD.
async fn serve<T: Transport>(
    mut driver: Driver<Node, T>,
    transcript: Transcript,
    who: String,
    events: mpsc::UnboundedSender<NodeEvent>,
) {
    while let Some(activity) = driver.next().await {
        let event = match activity {
            Activity::Event(event) => event,
            Activity::Refused(error) => {
                transcript.line(&who, format!("input refused: {error}"));
                continue;
            }
        };
        transcript.line(&who, format!("event {}", describe_node_event(&event)));
        let node = driver.machine();
        let outcome = match &event {
            NodeEvent::Request { id, reqt, .. } if *reqt == NodeRequestType::SIGN_IN => {
                let answered = node.respond(*id, None);
                node.set_signed_in(true);
                transcript.line(&who, "(signed in; asks the client for its status)");
                answered.and(
                    node.send_request(Instant::now(), 0x00, Some(&body("ask", "status")))
                        .map(|_| ()),
                )
            }
            NodeEvent::Request { id, .. } => node.respond(*id, Some(&body("name", "demo node"))),
            NodeEvent::FetchNodeKey { id, url, .. } => {
                transcript.line(&who, format!("(would GET {url}; answers a stand-in key)"));
                node.answer_node_key(*id, b"demo OpenPGP key")
            }
            NodeEvent::Forward {
                id, url, wait, msg, ..
            } => {
                transcript.line(&who, format!("(would POST {} bytes to {url})", msg.len()));
                if *wait {
                    node.answer_forward(*id, b"the recipient's reply")
                } else {
                    Ok(())
                }
            }
            _ => Ok(()),
        };
        if let Err(error) = outcome {
            transcript.line(&who, format!("call refused: {error}"));
        }
        let _ = events.send(event);
    }
}

fn describe_node_event(event: &NodeEvent) -> String {
    match event {
        NodeEvent::Forward {
            id,
            node,
            wait,
            msg,
            ..
        } => {
            format!(
                "Forward {{ id: {id}, node: {node:?}, wait: {wait}, msg: {} bytes }}",
                msg.len()
            )
        }
        NodeEvent::Request { id, reqt, body } => {
            format!(
                "Request {{ id: {id}, reqt: {reqt}, body: {} }}",
                show(body.as_ref())
            )
        }
        NodeEvent::Response { id, reply } => format!("Response {{ {id}, {} }}", show_reply(reply)),
        other => format!("{other:?}"),
    }
}

fn describe_client_event(event: &ClientEvent) -> String {
    match event {
        ClientEvent::Request { id, reqt, body } => {
            format!(
                "Request {{ id: {id}, reqt: {reqt:#04x}, body: {} }}",
                show(body.as_ref())
            )
        }
        ClientEvent::Response { id, reply } => {
            format!("Response {{ {id}, {} }}", show_reply(reply))
        }
        other => format!("{other:?}"),
    }
}

/// A raw body as JSON, or `-` when absent.
fn show(raw: Option<&RawBuf>) -> String {
    raw.map_or_else(
        || "-".to_owned(),
        |raw| json(raw.as_bytes(), Some(SHOWN_BIN)).unwrap_or_else(|error| error),
    )
}

fn show_reply(reply: &Reply) -> String {
    match reply {
        Reply::Body(body) => format!("body {}", show(body.as_ref())),
        Reply::Error(err) => format!("err {}", show(Some(err))),
        Reply::NodeKey(key) => format!("key {} bytes", key.len()),
        Reply::Forwarded(Some(resp)) => format!("resp {} bytes", resp.len()),
        Reply::Forwarded(None) => "forwarded, no wait".to_owned(),
    }
}

/// Waits for the client's next event, answering the node's requests on the way.
async fn next_event<T: Transport>(
    driver: &mut Driver<Client, T>,
    transcript: Transcript,
) -> Result<ClientEvent, Failure> {
    loop {
        let activity = tokio::time::timeout(Duration::from_secs(5), driver.next())
            .await
            .map_err(|_| "the demo stalled")?
            .ok_or("the client stopped")?;
        let event = match activity {
            Activity::Event(event) => event,
            Activity::Refused(error) => return Err(format!("client refused input: {error}").into()),
        };
        transcript.line("client", format!("event {}", describe_client_event(&event)));
        if let ClientEvent::Request { id, .. } = &event {
            driver
                .machine()
                .respond(*id, Some(&body("status", "fine")))?;
            continue;
        }
        return Ok(event);
    }
}

fn expect(got: ClientEvent, want: ClientEvent) -> Result<(), Failure> {
    if got == want {
        Ok(())
    } else {
        Err(format!("expected {want:?}, got {got:?}").into())
    }
}

async fn well_behaved_client(
    url: &str,
    config: Arc<tls::ClientConfig>,
    transcript: Transcript,
) -> Result<(), Failure> {
    let (transport, _) = tls::connect(url, config, &tipt_ws()).await?;
    let mut driver = Driver::new(Client::new(ClientConfig::new())?, transport).with_tap(tap(
        transcript,
        "client".into(),
        true,
    ));
    expect(
        next_event(&mut driver, transcript).await?,
        ClientEvent::Handshake {
            node_version: "1.0.0".into(),
            compatible: true,
        },
    )?;

    let now = Instant::now();
    let id = driver.machine().get_node_key(now, "peer.example")?;
    expect(
        next_event(&mut driver, transcript).await?,
        ClientEvent::Response {
            id,
            reply: Reply::Error(RawBuf::string("GET_NODE_KEY requires signing in")),
        },
    )?;

    let credentials = body("user", "alice");
    let id = driver
        .machine()
        .send_request(now, NodeRequestType::SIGN_IN, Some(&credentials))?;
    expect(
        next_event(&mut driver, transcript).await?,
        ClientEvent::Response {
            id,
            reply: Reply::Body(None),
        },
    )?;

    let id = driver.machine().get_node_key(now, "peer.example")?;
    expect(
        next_event(&mut driver, transcript).await?,
        ClientEvent::Response {
            id,
            reply: Reply::NodeKey(bytes::Bytes::from_static(b"demo OpenPGP key")),
        },
    )?;

    let sealed = vec![0x5a; 64 * 1024];
    let id = driver
        .machine()
        .forward(now, "peer.example", true, &sealed)?;
    expect(
        next_event(&mut driver, transcript).await?,
        ClientEvent::Response {
            id,
            reply: Reply::Forwarded(Some(bytes::Bytes::from_static(b"the recipient's reply"))),
        },
    )?;
    let id = driver
        .machine()
        .forward(now, "peer.example", false, &sealed)?;
    expect(
        next_event(&mut driver, transcript).await?,
        ClientEvent::Response {
            id,
            reply: Reply::Forwarded(None),
        },
    )?;

    driver.machine().close();
    expect(
        next_event(&mut driver, transcript).await?,
        ClientEvent::Disconnected(Disconnect::Local(Close::new(1000, "client closing"))),
    )
}

async fn incompatible_client(
    url: &str,
    config: Arc<tls::ClientConfig>,
    transcript: Transcript,
) -> Result<(), Failure> {
    let (transport, _) = tls::connect(url, config, &tipt_ws()).await?;
    let mut client_config = ClientConfig::new();
    client_config.version = "2.0.0".into();
    let mut driver = Driver::new(Client::new(client_config)?, transport).with_tap(tap(
        transcript,
        "client v2".into(),
        true,
    ));
    expect(
        next_event(&mut driver, transcript).await?,
        ClientEvent::Handshake {
            node_version: "1.0.0".into(),
            compatible: false,
        },
    )?;
    let refused = driver
        .machine()
        .get_node_key(Instant::now(), "peer.example");
    transcript.line(
        "client v2",
        format!("GET_NODE_KEY refused locally: {refused:?}"),
    );
    if refused != Err(tipt_proto::CallError::NotReady) {
        return Err("an incompatible client must not send requests".into());
    }
    match next_event(&mut driver, transcript).await? {
        ClientEvent::Disconnected(_) => Ok(()),
        other => Err(format!("expected the disconnect, got {other:?}").into()),
    }
}

/// A hand-driven client: sends `frame` (if any) after a valid HANDSHAKE, and
/// expects the node to close with 1008 and a reason starting with `reason`.
async fn raw_session(
    url: &str,
    config: Arc<tls::ClientConfig>,
    transcript: Transcript,
    frame: Option<Vec<u8>>,
    reason: &str,
) -> Result<(), Failure> {
    let (mut transport, _) = tls::connect(url, config, &tipt_ws()).await?;
    let who = "raw client";
    transcript.line(who, "connected (TLS verified)");
    if let Some(frame) = frame {
        let hello = encode(&Frame {
            id: 0,
            ver: None,
            kind: FrameKind::Request {
                reqt: NodeRequestType::HANDSHAKE.0,
                body: Some(Body::Handshake(tipt_proto::Handshake { ver: "1.0.0" })),
            },
        });
        for bytes in [hello, frame] {
            transcript.sent(
                who,
                "tipt",
                sent_frame(&bytes, true),
                annotate(&bytes, true),
            );
            let transmit = Transmit {
                to: None,
                payload: Payload::Binary(bytes.into()),
            };
            transport.send(transmit).await?;
        }
    } else {
        transcript.line(who, "(says nothing)");
    }
    loop {
        match tokio::time::timeout(Duration::from_secs(5), transport.recv()).await? {
            Incoming::Closed(Some(close))
                if close.code == 1008 && close.reason.starts_with(reason) =>
            {
                transcript.line(who, format!("closed by the node: {close}"));
                return Ok(());
            }
            Incoming::Binary(_) | Incoming::Pong(_) => {}
            other => return Err(format!("expected close 1008 {reason:?}…, got {other:?}").into()),
        }
    }
}

/// The WebSocket layer bounded just above Tipt's own frame limit (2.1 MB): a frame
/// a little over the limit still reaches the node, which answers it as the spec
/// says (1008 "400 ..."); anything larger is refused by the WebSocket layer (1009)
/// before it is buffered.
fn tipt_ws() -> WsConfig {
    WsConfig::from_limits(&Limits {
        max_frame_len: tipt_proto::MAX_FRAME_LEN + (64 << 10),
        ..Limits::default()
    })
}
