//! The live commands, generic over the protocol: `proxy`, `replay`, `serve` and
//! `connect`, with their command-line options. `main` picks the protocol's plug and
//! calls one of these.

use std::fs::File;
use std::io::{self, BufReader, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use proto_core::Limits;
use tokio::sync::mpsc;

use super::capture::{self, CaptureWriter};
use super::checker::Checker;
use super::console;
use super::proxy::{self, Emit, Listener, ProxyConfig, Recorder, TAP_CAPACITY};
use super::render::Style;
use super::{BoxFuture, Console, Failure, LiveProtocol, PeerOptions};

/// Options every peer may need; each protocol's help says which it reads.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct PeerArgs {
    /// The password (litebridge: sent in HELLO_ACK by `connect`, required by
    /// `serve`, and checked by the proxy's observer when given).
    #[arg(long)]
    password: Option<String>,
    /// The access or sign-in token (Tachyon, Tipt).
    #[arg(long)]
    token: Option<String>,
    /// The subprotocol or protocol version to offer or accept (ptpchat: `latest`,
    /// the default, or `early`).
    #[arg(long = "protocol-version")]
    version: Option<String>,
    /// PEM file of the roots trusted for `wss` (connect; proxy upstreams); regnode
    /// connect: the peer's certificate, DER (its `--identity` directory's
    /// `regnode.der`).
    #[arg(long)]
    roots: Option<PathBuf>,
    /// Serve `wss` with a certificate made now for this host name.
    #[arg(long, value_name = "HOST")]
    self_signed: Option<String>,
    /// Where to write the PEM of the authority behind `--self-signed`, for the
    /// client's `--roots`.
    #[arg(long, value_name = "FILE", requires = "self_signed")]
    cert_out: Option<PathBuf>,
    /// This peer's node id or name (ptpchat: a UUID, made on the spot when left
    /// out; Tipt).
    #[arg(long)]
    node_id: Option<String>,
    /// Directory of identity material. regnode serve and connect: this peer's key
    /// (`regnode.key`) and certificate (`regnode.der`), made there when missing, made
    /// in memory when left out; regnode proxy and replay: the server's directory,
    /// whose certificate checks the server's signatures.
    #[arg(long, value_name = "DIR")]
    identity: Option<PathBuf>,
}

impl PeerArgs {
    /// The options as the protocol plugs read them.
    pub(crate) fn options(&self) -> PeerOptions {
        PeerOptions {
            password: self.password.clone(),
            token: self.token.clone(),
            version: self.version.clone(),
            roots: self.roots.clone(),
            self_signed: self.self_signed.clone(),
            cert_out: self.cert_out.clone(),
            node_id: self.node_id.clone(),
            identity: self.identity.clone(),
        }
    }
}

/// The `proxy` command's options.
#[derive(Debug, clap::Args)]
pub(crate) struct ProxyArgs {
    /// The address clients connect to (WebSocket and TCP) or send to (UDP).
    #[arg(long, value_name = "ADDR")]
    listen: SocketAddr,
    /// The server: a `ws://` or `wss://` URL for WebSocket protocols, `HOST:PORT`
    /// otherwise.
    #[arg(long, value_name = "URL|ADDR")]
    upstream: String,
    /// Print one JSON object per frame instead of the transcript.
    #[arg(long)]
    json: bool,
    /// Also write every frame to this capture file (see `replay`).
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
    /// Largest frame observed, in bytes: larger WebSocket messages are refused,
    /// larger TCP frames and datagrams are flagged (and still forwarded).
    #[arg(long, default_value_t = Limits::default().max_frame_len)]
    max_frame_len: usize,
    /// Seconds a connection may take to connect upstream and finish its handshakes.
    #[arg(long, default_value_t = 10)]
    connect_timeout: u64,
    /// Seconds without traffic either way after which a conversation is ended.
    #[arg(long, default_value_t = 300)]
    idle_timeout: u64,
    /// Most conversations at once; further clients are refused.
    #[arg(long, default_value_t = 256)]
    max_conversations: usize,
    #[command(flatten)]
    peer: PeerArgs,
}

/// The `replay` command's options.
#[derive(Debug, clap::Args)]
pub(crate) struct ReplayArgs {
    /// The capture, as `proxy --record` wrote it.
    file: PathBuf,
    /// Print one JSON object per frame instead of the transcript.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    peer: PeerArgs,
}

/// The `serve` command's options.
#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {
    /// The address to listen on.
    #[arg(long, value_name = "ADDR")]
    listen: SocketAddr,
    #[command(flatten)]
    peer: PeerArgs,
}

/// The `connect` command's options.
#[derive(Debug, clap::Args)]
pub(crate) struct ConnectArgs {
    /// The server: a `ws://` or `wss://` URL for WebSocket protocols, `HOST:PORT`
    /// otherwise.
    target: String,
    #[command(flatten)]
    peer: PeerArgs,
}

fn runtime() -> io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}

/// Prints each entry to stdout in `style`.
fn print_to_stdout(protocol: &'static str, style: Style) -> Emit {
    Box::new(move |entry| println!("{}", style.render(protocol, entry)))
}

/// Runs `P`'s proxy until the process is stopped.
pub(crate) fn proxy<P: LiveProtocol>(args: ProxyArgs) -> Result<bool, Failure> {
    let options = args.peer.options();
    let mut config = ProxyConfig::new();
    config.limits.max_frame_len = args.max_frame_len;
    config.connect_timeout = Duration::from_secs(args.connect_timeout);
    config.idle_timeout = Duration::from_secs(args.idle_timeout);
    config.max_conversations = args.max_conversations;
    if let Some(roots) = &options.roots {
        config.roots = Some(console::load_roots(roots)?);
    }
    let recorder = match &args.record {
        Some(path) => {
            let file: Box<dyn Write + Send> = Box::new(File::create(path)?);
            Some(CaptureWriter::new(file, P::NAME)?)
        }
        None => None,
    };
    let emit = print_to_stdout(P::NAME, Style::from_json_flag(args.json));
    runtime()?.block_on(async move {
        let listener = Listener::bind(P::WIRE, args.listen).await?;
        eprintln!(
            "wirescope: proxying {} from {} to {}",
            P::NAME,
            listener.local_addr()?,
            args.upstream
        );
        run_proxy::<P>(
            listener,
            &args.upstream,
            config,
            options,
            recorder,
            emit,
            std::future::pending(),
        )
        .await
    })?;
    Ok(true)
}

/// Forwards and checks `P`'s conversations between `listener`'s clients and
/// `upstream` until `shutdown`, emitting each entry and recording each frame.
pub(crate) async fn run_proxy<P: LiveProtocol>(
    listener: Listener,
    upstream: &str,
    config: ProxyConfig,
    options: PeerOptions,
    recorder: Option<Recorder>,
    emit: Emit,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Failure> {
    let (taps, tapped) = mpsc::channel(TAP_CAPACITY);
    let checker = Checker::new::<P>(options, Instant::now());
    let hub = tokio::spawn(proxy::hub(tapped, checker, recorder, emit));
    let forwarded = proxy::forward(
        P::WIRE,
        listener,
        upstream,
        Arc::new(config),
        taps,
        shutdown,
    )
    .await;
    // Every forwarding task is gone: the hub drains what they reported and ends.
    let hub = hub.await?;
    forwarded?;
    Ok(hub?)
}

/// Replays a capture of `P` through its observer; `Ok(false)` if it flagged
/// anything.
pub(crate) fn replay<P: LiveProtocol>(args: ReplayArgs) -> Result<bool, Failure> {
    let file = BufReader::new(File::open(&args.file)?);
    let style = Style::from_json_flag(args.json);
    let mut clean = true;
    for line in replay_lines::<P>(file, &args.peer.options(), style)? {
        clean &= !line.flagged;
        println!("{}", line.text);
    }
    Ok(clean)
}

/// One printed entry of a replay.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ReplayLine {
    /// The transcript or JSON text.
    pub(crate) text: String,
    /// Whether the entry carried a violation or an error.
    pub(crate) flagged: bool,
}

/// What replaying `capture` prints, entry by entry.
pub(crate) fn replay_lines<P: LiveProtocol>(
    capture: impl io::BufRead,
    options: &PeerOptions,
    style: Style,
) -> Result<Vec<ReplayLine>, Failure> {
    let records = capture::read(capture, P::NAME)?;
    let mut checker = Checker::new::<P>(options.clone(), Instant::now());
    let mut lines = Vec::new();
    for record in &records {
        for entry in checker.check(record) {
            lines.push(ReplayLine {
                text: style.render(P::NAME, &entry),
                flagged: !entry.observation.violations.is_empty()
                    || entry.observation.value.is_err(),
            });
        }
    }
    Ok(lines)
}

/// Runs `P`'s server on stdin and stdout.
pub(crate) fn serve<P: LiveProtocol>(args: ServeArgs) -> Result<bool, Failure> {
    on_stdio(|console| P::serve(args.peer.options(), args.listen, console))
}

/// Runs `P`'s client on stdin and stdout.
pub(crate) fn connect<P: LiveProtocol>(args: ConnectArgs) -> Result<bool, Failure> {
    on_stdio(|console| P::connect(args.peer.options(), args.target, console))
}

/// Runs a peer on a console of stdin and stdout, then prints what it left.
fn on_stdio(peer: impl FnOnce(Console) -> BoxFuture<Result<(), Failure>>) -> Result<bool, Failure> {
    let runtime = runtime()?;
    let result = runtime.block_on(async move {
        let (console, printer) = console::stdio();
        let result = peer(console).await;
        let _ = printer.await;
        result
    });
    // The thread reading stdin may still wait for a line nobody needs.
    runtime.shutdown_background();
    result.map(|()| true)
}

/// How `decode --json` finds frames in its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(dead_code, reason = "each layout is named by the protocols reading it")]
pub(crate) enum FrameText {
    /// One text frame per line (litebridge).
    Lines,
    /// JSON values however laid out, each a text frame (Tachyon, ptpchat).
    Values,
    /// One binary frame per line, in hex or base64 (Tipt, regnode).
    HexOrBase64Lines,
}

/// `decode --json`: each frame of `file` (stdin when `None`) decoded by a fresh
/// observer of `P`, as sent by a client, printed as `{"line", "t": null, "conn":
/// null, "dir": null, "protocol", "kind", "value" | "error", "violations": []}`
/// (no conversation, so no conversation rules to break). `Ok(false)` if a frame
/// did not decode.
pub(crate) fn decode_json<P: LiveProtocol>(
    file: Option<&std::path::Path>,
    layout: FrameText,
) -> Result<bool, Failure> {
    let mut text = String::new();
    match file {
        Some(path) => io::Read::read_to_string(&mut File::open(path)?, &mut text)?,
        None => io::Read::read_to_string(&mut io::stdin().lock(), &mut text)?,
    };
    let mut all_ok = true;
    for (line, data) in frames_of(&text, layout) {
        let observation = match data {
            Ok(data) => {
                let now = Instant::now();
                let frame = super::Frame {
                    conn: 0,
                    at: Duration::ZERO,
                    direction: super::Direction::ToServer,
                    data,
                };
                let mut observation =
                    P::observer(&PeerOptions::default(), now).observe(now, &frame);
                observation.violations.clear();
                observation
            }
            Err(error) => super::Observation {
                kind: "(not a frame)".to_owned(),
                value: Err(error),
                violations: Vec::new(),
            },
        };
        all_ok &= observation.value.is_ok();
        println!("{}", decoded_json(line, P::NAME, &observation));
    }
    Ok(all_ok)
}

/// The JSON object `decode --json` prints for the frame on `line`.
pub(crate) fn decoded_json(
    line: usize,
    protocol: &str,
    observation: &super::Observation,
) -> serde_json::Value {
    let mut object = serde_json::Map::new();
    object.insert("line".into(), line.into());
    for field in ["t", "conn", "dir"] {
        object.insert(field.into(), serde_json::Value::Null);
    }
    super::render::insert_observation(&mut object, protocol, observation);
    serde_json::Value::Object(object)
}

/// The frames of `text` laid out as `layout`, each with the line it starts on.
fn frames_of(text: &str, layout: FrameText) -> Vec<(usize, Result<super::FrameData, String>)> {
    use super::FrameData;
    match layout {
        FrameText::Lines => text
            .lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(index, line)| (index + 1, Ok(FrameData::Text(line.to_owned()))))
            .collect(),
        FrameText::HexOrBase64Lines => text
            .lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(index, line)| {
                let line = line.trim();
                let bytes = super::capture::unhex(line)
                    .or_else(|| {
                        use base64::Engine as _;
                        base64::engine::general_purpose::STANDARD.decode(line).ok()
                    })
                    .ok_or_else(|| "neither hex nor base64".to_owned());
                (index + 1, bytes.map(FrameData::Binary))
            })
            .collect(),
        FrameText::Values => {
            let mut frames = Vec::new();
            let values = serde_json::Deserializer::from_str(text)
                .into_iter::<&serde_json::value::RawValue>();
            for value in values {
                match value {
                    Ok(value) => {
                        let start =
                            (value.get().as_ptr() as usize).saturating_sub(text.as_ptr() as usize);
                        let line = 1 + text
                            .get(..start)
                            .unwrap_or_default()
                            .bytes()
                            .filter(|&b| b == b'\n')
                            .count();
                        frames.push((line, Ok(FrameData::Text(value.get().to_owned()))));
                    }
                    Err(error) => {
                        frames.push((error.line(), Err(format!("not JSON: {error}"))));
                        break;
                    }
                }
            }
            frames
        }
    }
}
