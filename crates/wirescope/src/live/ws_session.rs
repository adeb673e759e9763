//! One WebSocket conversation of `serve` or `connect` for Tachyon and Tipt: the
//! driver's traffic printed through the protocol's observer, the machine's events
//! printed as notes, and the user's lines applied as the machine's calls.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use proto_core::{Machine, Payload};
use proto_tokio::{Activity, Driver, Incoming, Traffic, Transport};
use tokio::sync::mpsc;

use super::Direction;
use super::FrameData;
use super::console::FramePrinter;

/// How long a peer waits for its conversation to end once the user's input ended.
const FINISH_TIMEOUT: Duration = Duration::from_secs(5);

/// What a peer's application does with its machine: answers what it answers by
/// itself, applies the user's lines, and ends the conversation.
pub(crate) trait Application<M: Machine> {
    /// Takes in one of the machine's events, noting what the user should know;
    /// returns whether the conversation is over.
    fn on_event(&mut self, machine: &mut M, event: &M::Event, printer: &SharedPrinter) -> bool;

    /// Whether the user's lines may be applied yet (the handshake, and what the
    /// application does on its own after it, are over); until then they wait.
    fn ready(&self, machine: &M) -> bool;

    /// Applies one of the user's lines as the machine's call; `Ok(Some(text))` is
    /// worth a note.
    fn on_line(&mut self, machine: &mut M, line: &str) -> Result<Option<String>, String>;

    /// The user's input ended: close.
    fn finish(&mut self, machine: &mut M);
}

/// The printer a driver's tap and its conversation loop share.
pub(crate) type SharedPrinter = Arc<Mutex<FramePrinter>>;

/// Prints `text` as a note of `printer`.
pub(crate) fn note(printer: &SharedPrinter, text: impl std::fmt::Display) {
    if let Ok(printer) = printer.lock() {
        printer.note(text);
    }
}

/// Prints that conversation `conn` opened.
pub(crate) fn opened(printer: &SharedPrinter, conn: u64) {
    if let Ok(mut printer) = printer.lock() {
        printer.frame(conn, Direction::ToServer, FrameData::Open);
    }
}

/// A driver tap printing conversation `conn`'s frames through `printer`; what this
/// side sends goes `sent`.
pub(crate) fn tap(
    printer: SharedPrinter,
    conn: u64,
    sent: Direction,
) -> impl FnMut(Traffic<'_>) + Send + 'static {
    let received = match sent {
        Direction::ToServer => Direction::ToClient,
        Direction::ToClient => Direction::ToServer,
    };
    move |traffic| {
        let Ok(mut printer) = printer.lock() else {
            return;
        };
        let (direction, data) = match traffic {
            Traffic::Sent(Payload::Text(text)) => (sent, FrameData::Text(text.clone())),
            Traffic::Sent(Payload::Binary(bytes)) => (sent, FrameData::Binary(bytes.to_vec())),
            Traffic::Closing(close) => (
                sent,
                FrameData::Close(Some((close.code, close.reason.to_string()))),
            ),
            Traffic::Received(Incoming::Text(text)) => {
                (received, FrameData::Text(text.as_str().to_owned()))
            }
            Traffic::Received(Incoming::Binary(bytes)) => {
                (received, FrameData::Binary(bytes.to_vec()))
            }
            Traffic::Received(Incoming::Closed(close)) => (
                received,
                FrameData::Close(close.as_ref().map(|c| (c.code, c.reason.to_string()))),
            ),
            Traffic::Received(Incoming::Rejected(close)) => {
                printer.note(format!("refused a frame from the peer: {close}"));
                return;
            }
            Traffic::Sent(Payload::Ping(_))
            | Traffic::Received(Incoming::Pong(_))
            | Traffic::Connected => return,
        };
        printer.frame(conn, direction, data);
    }
}

/// Runs one conversation until it is over: the machine's events go to `app` and
/// are printed, the user's lines are applied once `app` is ready, the printer's
/// deadlines checked.
/// Returns whether the user's input is still open.
pub(crate) async fn converse<M, T, A>(
    mut driver: Driver<M, T>,
    input: &mut mpsc::Receiver<String>,
    printer: &SharedPrinter,
    app: &mut A,
) -> bool
where
    M: Machine,
    M::Error: std::fmt::Display,
    T: Transport,
    A: Application<M>,
{
    let mut input_open = true;
    let finish = tokio::time::sleep(FINISH_TIMEOUT);
    tokio::pin!(finish);
    let mut finishing = false;
    loop {
        let deadline = printer.lock().ok().and_then(|p| p.next_deadline());
        let ready = app.ready(driver.machine());
        tokio::select! {
            activity = driver.next() => match activity {
                None => return input_open,
                Some(Activity::Event(event)) => {
                    if app.on_event(driver.machine(), &event, printer) {
                        return input_open;
                    }
                }
                Some(Activity::Refused(error)) => note(printer, format!("refused: {error}")),
            },
            line = input.recv(), if input_open && ready => match line {
                None => {
                    input_open = false;
                    finishing = true;
                    app.finish(driver.machine());
                    finish.as_mut().reset(tokio::time::Instant::now() + FINISH_TIMEOUT);
                }
                Some(line) => match app.on_line(driver.machine(), &line) {
                    Ok(Some(text)) => note(printer, text),
                    Ok(None) => {}
                    Err(error) => note(printer, format!("not sent: {error}")),
                },
            },
            () = sleep_until_some(deadline) => {
                if let Ok(mut printer) = printer.lock() {
                    printer.tick();
                }
            }
            () = &mut finish, if finishing => {
                note(printer, "the peer did not finish closing in time");
                return false;
            }
        }
    }
}

async fn sleep_until_some(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline.into()).await,
        None => std::future::pending().await,
    }
}
