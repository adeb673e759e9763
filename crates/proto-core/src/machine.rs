//! The four calls every protocol state machine answers.

use std::time::Instant;

use crate::io::{Input, Output};

/// A sans-IO protocol state machine.
///
/// The driver owns the sockets and the clock; the machine owns the protocol. The
/// driver feeds what arrives through [`handle_input`](Machine::handle_input), calls
/// [`handle_timeout`](Machine::handle_timeout) once the instant from
/// [`poll_timeout`](Machine::poll_timeout) has passed, and after either drains
/// [`poll_output`](Machine::poll_output) until it returns `None`. Time only ever
/// comes in as an argument, so tests drive a machine with a virtual clock.
pub trait Machine {
    /// What the machine tells its application.
    type Event;
    /// Why an input was refused.
    type Error: std::error::Error;

    /// Takes one input. Bad input is refused with a precise error, after the machine
    /// has queued whatever answer its protocol requires (a close, an error response);
    /// its state stays consistent either way.
    fn handle_input(&mut self, now: Instant, input: Input<'_>) -> Result<(), Self::Error>;

    /// Time has reached `now`: fire whatever timers are due.
    fn handle_timeout(&mut self, now: Instant);

    /// The next frame, event, close or reconnect request, if any.
    fn poll_output(&mut self) -> Option<Output<Self::Event>>;

    /// When [`handle_timeout`](Machine::handle_timeout) should next be called.
    fn poll_timeout(&self) -> Option<Instant>;
}
