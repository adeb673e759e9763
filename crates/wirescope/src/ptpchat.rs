//! ptpchat in wirescope: message decoding and encoding, and the demo over real TCP
//! links and UDP datagrams.

use std::collections::BTreeSet;
use std::error::Error;
use std::net::SocketAddr;
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use proto_core::{Limits, LinkId, Peer, seeded_rng};
use proto_tokio::{
    Activity, Dialer, Mailbox, PeerTraffic, TcpConfig, TcpDriver, UdpConfig, UdpDriver,
};
use ptpchat_proto::{
    Body, ChatMessage, Event, Generation, MsgId, Node, NodeConfig, NodeId, Verb, decode, encode,
};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::transcript::{SentFrame, Transcript};

/// Decodes one message into its typed form.
pub(crate) fn decode_value(text: &str, limits: &Limits) -> Result<String, String> {
    decode(text.as_bytes(), limits)
        .map(|message| format!("{:<14} {message:?}", message.verb().name()))
        .map_err(|error| format!("{error}  [{error:?}]"))
}

/// Checks one message and prints its canonical encoding.
pub(crate) fn encode_value(text: &str, limits: &Limits) -> Result<String, String> {
    decode(text.as_bytes(), limits)
        .map(|message| String::from_utf8_lossy(&encode(&message)).into_owned())
        .map_err(|error| format!("{error}  [{error:?}]"))
}

type Failure = Box<dyn Error + Send + Sync>;

/// How long any one scripted step may take.
const STEP: Duration = Duration::from_secs(5);

/// Runs the scripted network and checks each step went as the protocol says.
pub(crate) async fn demo() -> Result<(), Box<dyn Error>> {
    match tokio::time::timeout(Duration::from_secs(60), demo_inner()).await {
        Ok(result) => result.map_err(|error| error as Box<dyn Error>),
        Err(_) => Err("the ptpchat demo took longer than a minute".into()),
    }
}

/// Names a message for the transcript.
fn annotate(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    match decode(bytes, &Limits::default()) {
        Ok(message) => format!("{:<14} {text}", message.verb().name()),
        Err(error) => format!("{:<14} {text}  ({error})", "(bad message)"),
    }
}

/// A message for `demo --json`.
fn sent_frame(bytes: &[u8]) -> SentFrame {
    match decode(bytes, &Limits::default()) {
        Ok(message) => SentFrame {
            kind: message.verb().name().to_owned(),
            value: serde_json::from_slice(bytes).map_err(|error| error.to_string()),
        },
        Err(error) => SentFrame {
            kind: "(bad message)".to_owned(),
            value: Err(format!("{error}  [{error:?}]")),
        },
    }
}

/// A tap printing what `who` sends (HELLO and ROUTING only the first time on each
/// link: they repeat every second or so) and passing each link's peer address on.
fn tap(
    transcript: Transcript,
    who: &'static str,
    opened: std_mpsc::Sender<(LinkId, SocketAddr)>,
) -> impl FnMut(PeerTraffic<'_>) + Send + 'static {
    let mut shown: BTreeSet<(String, &'static str)> = BTreeSet::new();
    move |traffic| match traffic {
        PeerTraffic::Opened {
            link,
            addr,
            dialled,
        } => {
            let _ = opened.send((link, addr));
            let how = if dialled { "dialled" } else { "accepted" };
            transcript.line(who, format!("{link} {how} {addr}"));
        }
        PeerTraffic::Sent { to, bytes } => {
            let to = match to {
                Peer::Link(link) => link.to_string(),
                Peer::Addr(addr) => addr.to_string(),
            };
            if let Ok(message) = decode(bytes, &Limits::default()) {
                let verb = message.verb();
                if matches!(verb, Verb::Hello | Verb::Routing)
                    && !shown.insert((to.clone(), verb.name()))
                {
                    return;
                }
            }
            let text = format!("{to:<8} {}", annotate(bytes));
            transcript.sent(who, "ptpchat", sent_frame(bytes), text);
        }
        PeerTraffic::Ended { link, reason } => {
            transcript.line(who, format!("{link} ended: {reason:?}"));
        }
        PeerTraffic::Unsent { to, reason } => {
            transcript.line(who, format!("not sent to {to:?}: {reason:?}"));
        }
        _ => {}
    }
}

/// One node running in its own task.
struct Running {
    name: &'static str,
    id: NodeId,
    addr: SocketAddr,
    mailbox: Mailbox<Node>,
    dialer: Dialer,
    events: mpsc::UnboundedReceiver<Event>,
    task: JoinHandle<()>,
}

fn node_config(n: u128, port: u16) -> NodeConfig {
    let mut config = NodeConfig::new(Uuid::from_u128(n));
    config.routing_trigger_delay = Duration::from_millis(20);
    config.ack_timeout = Duration::from_secs(3);
    config.punch_port = port;
    config.version = Some(concat!("wirescope ", env!("CARGO_PKG_VERSION")).to_owned());
    config
}

async fn spawn_tcp(
    name: &'static str,
    n: u128,
    transcript: Transcript,
) -> Result<Running, Failure> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let config = node_config(n, addr.port());
    let id = config.node_id;
    let (opened_tx, opened_rx) = std_mpsc::channel();
    let mut driver = TcpDriver::new(
        Node::new(config, seeded_rng(n as u64)),
        TcpConfig::new(&Limits::default()),
    )
    .listen(listener)
    .with_tap(tap(transcript, name, opened_tx));
    let mailbox = driver.mailbox();
    let dialer = driver.dialer();
    let (events_tx, events) = mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        while let Some(activity) = driver.next().await {
            // The node acts as a CONNECT rendezvous with the addresses it sees.
            while let Ok((link, addr)) = opened_rx.try_recv() {
                let _ = driver.machine().set_observed_addr(Peer::Link(link), addr);
            }
            match activity {
                Activity::Event(event) => {
                    if events_tx.send(event).is_err() {
                        return;
                    }
                }
                Activity::Refused(error) => transcript.line(name, format!("refused: {error}")),
            }
        }
    });
    transcript.line(name, format!("node {id} listening on {addr}"));
    Ok(Running {
        name,
        id,
        addr,
        mailbox,
        dialer,
        events,
        task,
    })
}

/// Runs `call` on a node's machine and returns what it returned.
async fn ask<R: Send + 'static>(
    node: &Running,
    call: impl FnOnce(&mut Node, Instant) -> R + Send + 'static,
) -> Result<R, Failure> {
    let (reply, answer) = oneshot::channel();
    node.mailbox
        .send(move |machine, now| {
            let _ = reply.send(call(machine, now));
        })
        .await?;
    Ok(answer.await?)
}

/// Waits for an event `want` accepts, printing each event met on the way.
async fn expect(
    node: &mut Running,
    transcript: Transcript,
    what: &str,
    mut want: impl FnMut(&Event) -> bool,
) -> Result<Event, Failure> {
    let deadline = tokio::time::Instant::now() + STEP;
    loop {
        let event = tokio::time::timeout_at(deadline, node.events.recv())
            .await
            .map_err(|_| format!("{}: no {what} within {STEP:?}", node.name))?
            .ok_or_else(|| format!("{} stopped", node.name))?;
        if want(&event) {
            transcript.line(node.name, format!("✓ {what}: {}", brief(&event)));
            return Ok(event);
        }
    }
}

/// Every event of a node within `span`.
async fn collect(node: &mut Running, span: Duration) -> Vec<Event> {
    let deadline = tokio::time::Instant::now() + span;
    let mut events = Vec::new();
    while let Ok(Some(event)) = tokio::time::timeout_at(deadline, node.events.recv()).await {
        events.push(event);
    }
    events
}

fn brief(event: &Event) -> String {
    match event {
        Event::Received { from, message } => format!(
            "{} {} from {from:?}",
            message.verb(),
            message
                .envelope
                .msg_id
                .map(|id| id.to_string())
                .unwrap_or_default()
        ),
        other => format!("{other:?}"),
    }
}

fn chat(text: &str) -> Body {
    Body::Message(ChatMessage {
        recipient: vec![],
        timestamp: None,
        channel: None,
        channel_id: None,
        message: text.as_bytes().to_vec(),
        attachment: vec![],
    })
}

fn received(event: &Event, msg_id: MsgId) -> bool {
    matches!(event, Event::Received { message, .. } if message.envelope.msg_id == Some(msg_id))
}

/// Waits until `node` has a route to `target` of at most `hops`.
async fn await_route(node: &Running, target: NodeId, hops: u32) -> Result<(), Failure> {
    let deadline = tokio::time::Instant::now() + STEP;
    loop {
        if ask(node, move |machine, _| machine.route(&target))
            .await?
            .is_some_and(|route| route.hops <= hops)
        {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            return Err(format!("{}: no route to {target} within {STEP:?}", node.name).into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn demo_inner() -> Result<(), Failure> {
    let transcript = Transcript::new();
    transcript.heading("ptpchat: nodes on 127.0.0.1 over length-prefixed TCP, line A – S – B");
    let mut s = spawn_tcp("S", 0x5, transcript).await?;
    let mut a = spawn_tcp("A", 0xa, transcript).await?;
    let mut b = spawn_tcp("B", 0xb, transcript).await?;
    a.dialer.dial(s.addr).await?;
    b.dialer.dial(s.addr).await?;
    let (s_id, a_id, b_id) = (s.id, a.id, b.id);
    for node in [&mut a, &mut b] {
        expect(
            node,
            transcript,
            "HELLO from S",
            |event| matches!(event, Event::NeighbourUp { node_id: Some(id), .. } if *id == s_id),
        )
        .await?;
    }
    await_route(&a, b_id, 2).await?;
    await_route(&b, a_id, 2).await?;
    transcript.line("A", "✓ ROUTING: B is 2 hops away, through S");

    transcript.heading("A's MESSAGE reaches B through S, and B's ACK comes back");
    let msg_id = ask(&a, move |node, now| node.send(now, b_id, chat("hello B"))).await??;
    expect(&mut b, transcript, "MESSAGE from A", |event| {
        received(event, msg_id)
    })
    .await?;
    expect(&mut a, transcript, "ACK from B", |event| {
        *event
            == Event::Acked {
                msg_id,
                by: Some(b_id),
            }
    })
    .await?;

    transcript
        .heading("A message to C, not yet on the network: NACK, queued, delivered once C joins");
    let c_id = Uuid::from_u128(0xc);
    let queued = ask(&a, move |node, now| node.send(now, c_id, chat("hello C"))).await??;
    expect(
        &mut a,
        transcript,
        "NACK (no route)",
        |event| matches!(event, Event::Nacked { msg_id, .. } if *msg_id == queued),
    )
    .await?;
    let mut c = spawn_tcp("C", 0xc, transcript).await?;
    c.dialer.dial(s.addr).await?;
    expect(&mut c, transcript, "the queued MESSAGE", |event| {
        received(event, queued)
    })
    .await?;
    expect(&mut a, transcript, "ACK from C", |event| {
        *event
            == Event::Acked {
                msg_id: queued,
                by: Some(c_id),
            }
    })
    .await?;

    transcript.heading("B floods: every other node gets it exactly once");
    for node in [&a, &c] {
        await_route(node, b_id, 2).await?;
    }
    let flood = ask(&b, |node, now| node.flood(now, chat("hello all"))).await??;
    for node in [&mut a, &mut s, &mut c] {
        let events = collect(node, Duration::from_millis(300)).await;
        let copies = events.iter().filter(|event| received(event, flood)).count();
        if copies != 1 {
            return Err(format!("{} got the flood {copies} times", node.name).into());
        }
        transcript.line(node.name, "✓ the flood, once");
    }

    transcript.heading("CONNECT: A asks S to introduce it to B; both learn where to punch");
    ask(&a, move |node, _| node.connect(s_id, b_id)).await??;
    let b_punch = SocketAddr::new(b.addr.ip(), b.addr.port());
    let a_punch = SocketAddr::new(a.addr.ip(), a.addr.port());
    expect(&mut b, transcript, "punch A", |event| {
        *event
            == Event::Punch {
                node_id: Some(a_id),
                addr: a_punch,
            }
    })
    .await?;
    expect(&mut a, transcript, "punch B", |event| {
        *event
            == Event::Punch {
                node_id: Some(b_id),
                addr: b_punch,
            }
    })
    .await?;
    // Here nothing stands between them: A connects to the address it was given.
    a.dialer.dial(b_punch).await?;
    await_route(&a, b_id, 1).await?;
    transcript.line("A", "✓ B is now a direct neighbour");

    for node in [&a, &s, &b, &c] {
        node.task.abort();
    }

    transcript.heading("the early generation over UDP: bare HELLOs, every 0.5–2 s");
    early_udp(transcript).await?;
    transcript.end();
    Ok(())
}

async fn early_udp(transcript: Transcript) -> Result<(), Failure> {
    let mut tasks = Vec::new();
    let mut inboxes = Vec::new();
    let mut mailboxes = Vec::new();
    let mut addrs = Vec::new();
    for (n, name) in [(0xe1_u128, "E1"), (0xe2, "E2")] {
        let mut config = node_config(n, 0);
        config.generation = Generation::Early;
        let (opened_tx, _) = std_mpsc::channel();
        let mut driver = UdpDriver::bind(
            Node::new(config, seeded_rng(n as u64)),
            "127.0.0.1:0",
            UdpConfig::new(&Limits::default()),
        )
        .await?
        .with_tap(tap(transcript, name, opened_tx));
        addrs.push(driver.local_addr()?);
        mailboxes.push(driver.mailbox());
        let (events_tx, events) = mpsc::unbounded_channel();
        inboxes.push((name, events));
        tasks.push(tokio::spawn(async move {
            while let Some(activity) = driver.next().await {
                if let Activity::Event(event) = activity {
                    if events_tx.send(event).is_err() {
                        return;
                    }
                }
            }
        }));
    }
    let (first, second) = (addrs[0], addrs[1]);
    transcript.line("E1", format!("on {first}; E2 on {second}"));
    mailboxes[0]
        .send(move |node, now| {
            let _ = node.add_peer(now, second);
        })
        .await?;
    for (i, (name, events)) in inboxes.iter_mut().enumerate() {
        let peer = Peer::Addr(addrs[1 - i]);
        let deadline = tokio::time::Instant::now() + STEP;
        loop {
            let event = tokio::time::timeout_at(deadline, events.recv())
                .await
                .map_err(|_| format!("{name}: no HELLO within {STEP:?}"))?
                .ok_or_else(|| format!("{name} stopped"))?;
            if event
                == (Event::NeighbourUp {
                    peer,
                    node_id: None,
                    node_type: None,
                })
            {
                transcript.line(name, format!("✓ HELLO from {}", addrs[1 - i]));
                break;
            }
        }
    }
    // Both stay up over a few HELLO periods.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    for (name, events) in &mut inboxes {
        while let Ok(event) = events.try_recv() {
            if let Event::NeighbourDown { .. } = event {
                return Err(format!("{name}: the neighbour went down: {event:?}").into());
            }
        }
        transcript.line(name, "✓ still up after 2.5 s of periodic HELLOs");
    }
    for task in tasks {
        task.abort();
    }
    Ok(())
}
