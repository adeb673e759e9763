//! Running a machine for `serve` and `connect`: its driver in a task, the console
//! loop that turns the user's lines into calls and prints what happens.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use proto_core::Machine;
use proto_tokio::{Activity, Mailbox, TcpDriver, UdpDriver};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::{Console, Failure};

/// A machine driven in its own task.
pub(crate) struct Running<M: Machine> {
    /// Calls into the machine.
    mailbox: Mailbox<M>,
    /// What the driver reports.
    activity: mpsc::UnboundedReceiver<Activity<M::Event, M::Error>>,
    task: JoinHandle<()>,
}

impl<M> Running<M>
where
    M: Machine + Send + 'static,
    M::Event: Send + 'static,
    M::Error: Send + 'static,
{
    /// Drives a TCP driver until it stops.
    pub(crate) fn tcp(mut driver: TcpDriver<M>) -> Self {
        let mailbox = driver.mailbox();
        let (tx, activity) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            while let Some(next) = driver.next().await {
                if tx.send(next).is_err() {
                    return;
                }
            }
        });
        Running {
            mailbox,
            activity,
            task,
        }
    }

    /// Drives a UDP driver until it stops.
    pub(crate) fn udp(mut driver: UdpDriver<M>) -> Self {
        let mailbox = driver.mailbox();
        let (tx, activity) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            while let Some(next) = driver.next().await {
                if tx.send(next).is_err() {
                    return;
                }
            }
        });
        Running {
            mailbox,
            activity,
            task,
        }
    }

    /// Calls the machine from outside the driver's task.
    pub(crate) async fn call<R: Send + 'static>(
        &self,
        call: impl FnOnce(&mut M, Instant) -> R + Send + 'static,
    ) -> Result<R, Failure> {
        let (reply, answer) = oneshot::channel();
        self.mailbox
            .send(move |machine, now| {
                let _ = reply.send(call(machine, now));
            })
            .await?;
        Ok(answer.await?)
    }

    /// Runs the console until its input ends, the driver stops, or `stop` says an
    /// event ends the conversation: each line goes through `apply`, whose answer is
    /// printed, and each event and refusal is printed (`show`). The driver's task
    /// ends with it, closing what it had open.
    pub(crate) async fn converse(
        mut self,
        mut console: Console,
        apply: impl Fn(&mut M, Instant, &str) -> String + Copy + Send + 'static,
        show: impl Fn(&M::Event) -> String,
        stop: impl Fn(&M::Event) -> bool,
    ) -> Result<(), Failure>
    where
        M::Error: std::fmt::Display,
    {
        let result = loop {
            tokio::select! {
                line = console.input.recv() => {
                    let Some(line) = line else { break Ok(()) };
                    if line.trim().is_empty() {
                        continue;
                    }
                    match self.call(move |machine, now| apply(machine, now, &line)).await {
                        Ok(answer) => say(&console, answer),
                        Err(error) => break Err(error),
                    }
                }
                got = self.activity.recv() => match got {
                    None => break Ok(()),
                    Some(Activity::Event(event)) => {
                        say(&console, show(&event));
                        if stop(&event) {
                            break Ok(());
                        }
                    }
                    Some(Activity::Refused(error)) => say(&console, format!("refused: {error}")),
                },
            }
        };
        self.task.abort();
        result
    }
}

/// Prints one line on the console; a console whose reader left has no one to tell.
pub(crate) fn say(console: &Console, line: String) {
    let _ = console.output.send(line);
}

/// A seed no other run draws: the process's randomly keyed hasher over the time.
/// For ids and keys made on the spot; the machines' own draws stay seeded.
pub(crate) fn random_seed() -> u64 {
    use std::hash::BuildHasher;
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    std::collections::hash_map::RandomState::new().hash_one(nanos)
}
