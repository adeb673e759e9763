//! What `serve` and `connect` share: the user's lines from stdin, printing to
//! stdout, TLS material (roots from a PEM file, a certificate made on the spot),
//! and printing each frame a peer sends or receives as the proxy would.

use std::io::Read as _;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use proto_tokio::tls::{self, CertificateDer, PrivateKeyDer};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::pem::PemObject;
use tokio::sync::mpsc;

use super::capture::Record;
use super::checker::Checker;
use super::render::Style;
use super::{Console, Direction, Failure, Frame, FrameData, LiveProtocol, PeerOptions};

/// The longest line a user may type: a frame of `Limits::default()`'s 1 MiB.
pub(crate) const MAX_INPUT_LINE: usize = 1 << 20;

/// Lines waiting for the peer before the reader waits.
const INPUT_QUEUE: usize = 64;

/// The largest PEM file read.
const MAX_PEM_LEN: u64 = 1 << 20;

/// A console reading the user's lines from stdin and printing to stdout; await
/// the returned task after the peer returns so every line is printed.
pub(crate) fn stdio() -> (Console, tokio::task::JoinHandle<()>) {
    let input = stdin_lines();
    let (output, mut lines) = mpsc::unbounded_channel::<String>();
    let printer = tokio::spawn(async move {
        while let Some(line) = lines.recv().await {
            println!("{line}");
        }
    });
    (Console { input, output }, printer)
}

/// A thread reading stdin's lines (blank lines skipped, each at most
/// [`MAX_INPUT_LINE`] bytes; a longer one ends the input) into a channel that ends
/// with the input. A thread,
/// not a task: a read of stdin blocks until the user types, and a detached thread
/// does not hold up the runtime's shutdown.
pub(crate) fn stdin_lines() -> mpsc::Receiver<String> {
    let (sender, receiver) = mpsc::channel(INPUT_QUEUE);
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        loop {
            let mut line = Vec::new();
            let limit = u64::try_from(MAX_INPUT_LINE + 1).unwrap_or(u64::MAX);
            match std::io::BufRead::read_until(&mut (&mut stdin).take(limit), b'\n', &mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            match checked_line(line) {
                Ok(Some(text)) => {
                    if sender.blocking_send(text).is_err() {
                        return;
                    }
                }
                Ok(None) => {}
                Err(()) => return,
            }
        }
    });
    receiver
}

/// A line as the peer gets it: trimmed, `None` when blank or not UTF-8 (skipped),
/// `Err` when too long (the input ends).
fn checked_line(line: Vec<u8>) -> Result<Option<String>, ()> {
    if line.len() > MAX_INPUT_LINE {
        eprintln!("wirescope: an input line is longer than {MAX_INPUT_LINE} bytes");
        return Err(());
    }
    let Ok(text) = String::from_utf8(line) else {
        eprintln!("wirescope: an input line is not UTF-8");
        return Ok(None);
    };
    let text = text.trim();
    Ok((!text.is_empty()).then(|| text.to_owned()))
}

/// A client TLS configuration trusting the certificates of the PEM file at `path`.
pub(crate) fn load_roots(path: &Path) -> Result<Arc<tls::ClientConfig>, Failure> {
    let mut pem = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_PEM_LEN + 1)
        .read_to_end(&mut pem)?;
    if pem.len() as u64 > MAX_PEM_LEN {
        return Err(format!("{} is larger than {MAX_PEM_LEN} bytes", path.display()).into());
    }
    let roots = CertificateDer::pem_slice_iter(&pem).collect::<Result<Vec<_>, _>>()?;
    if roots.is_empty() {
        return Err(format!("{} holds no certificate", path.display()).into());
    }
    Ok(tls::client_config(roots)?)
}

/// A certificate authority made now, and a certificate it signed for `host`: the
/// server's TLS configuration, and the authority's PEM (what a client trusts),
/// written to `cert_out` when given.
pub(crate) fn self_signed(
    host: &str,
    cert_out: Option<&Path>,
) -> Result<(Arc<tls::ServerConfig>, String), Failure> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "wirescope serve authority");
    let authority = CertifiedIssuer::self_signed(params, KeyPair::generate()?)?;
    let key = KeyPair::generate()?;
    let leaf = CertificateParams::new(vec![host.to_owned()])?.signed_by(&key, &authority)?;
    let key = PrivateKeyDer::try_from(key.serialize_der())?;
    let pem = authority.pem();
    if let Some(path) = cert_out {
        std::fs::write(path, &pem)?;
    }
    let chain = vec![leaf.der().clone(), authority.der().clone()];
    Ok((tls::server_config(chain, key)?, pem))
}

/// Prints the frames of a peer's conversations through the protocol's observer,
/// in the proxy's transcript rendering: `serve` and `connect` show what they send
/// and receive, decoded and checked, as `proxy` would have.
pub(crate) struct FramePrinter {
    checker: Checker,
    protocol: &'static str,
    output: mpsc::UnboundedSender<String>,
}

impl FramePrinter {
    /// A printer of `P`'s frames to `output`, counting time from now.
    pub(crate) fn new<P: LiveProtocol>(
        options: &PeerOptions,
        output: mpsc::UnboundedSender<String>,
    ) -> Self {
        FramePrinter {
            checker: Checker::new::<P>(options.clone(), Instant::now()),
            protocol: P::NAME,
            output,
        }
    }

    /// Checks and prints one frame of conversation `conn` going `direction` now.
    pub(crate) fn frame(&mut self, conn: u64, direction: Direction, data: FrameData) {
        let at = self.checker.start().elapsed();
        let record = Record::Frame(Frame {
            conn,
            at,
            direction,
            data,
        });
        self.print(&record);
    }

    /// Runs the deadlines due by now.
    pub(crate) fn tick(&mut self) {
        let at = self.checker.start().elapsed();
        self.print(&Record::Time(at));
    }

    /// The next instant [`FramePrinter::tick`] has something to check.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.checker.next_deadline()
    }

    /// Prints a line of its own (an event, an error).
    pub(crate) fn note(&self, text: impl std::fmt::Display) {
        let at = self.checker.start().elapsed().as_secs_f64();
        let _ = self.output.send(format!("[{at:7.3}s] {text}"));
    }

    fn print(&mut self, record: &Record) {
        for entry in self.checker.check(record) {
            let _ = self
                .output
                .send(Style::Transcript.render(self.protocol, &entry));
        }
    }
}

/// How long `serve` and `connect` wait for a peer's handshake.
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
