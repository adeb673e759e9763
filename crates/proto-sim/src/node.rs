//! Machines of any type behind one object-safe trait, and the typed handles that
//! reach them again.

use std::any::Any;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::time::Instant;

use proto_core::{Close, Input, Machine, Output, Peer, Transmit};

/// A typed handle to a machine in a [`Sim`](crate::Sim): it knows the machine's type,
/// so events come back typed.
pub struct NodeId<M> {
    pub(crate) sim: u64,
    pub(crate) index: usize,
    machine: PhantomData<fn() -> M>,
}

impl<M> NodeId<M> {
    pub(crate) fn new(sim: u64, index: usize) -> Self {
        NodeId {
            sim,
            index,
            machine: PhantomData,
        }
    }

    /// The node's index in its simulator, as [`Delivery`](crate::Delivery) records it.
    pub fn index(self) -> usize {
        self.index
    }
}

impl<M> Clone for NodeId<M> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<M> Copy for NodeId<M> {}

impl<M> PartialEq for NodeId<M> {
    fn eq(&self, other: &Self) -> bool {
        (self.sim, self.index) == (other.sim, other.index)
    }
}

impl<M> Eq for NodeId<M> {}

impl<M> Hash for NodeId<M> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (self.sim, self.index).hash(state);
    }
}

impl<M> fmt::Debug for NodeId<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeId({})", self.index)
    }
}

/// What a machine asks of the network; its events stay with it.
pub(crate) enum Action {
    Transmit(Transmit),
    Close { peer: Option<Peer>, close: Close },
    Reconnect { at: Instant },
}

/// One machine with the events and refusals it has produced, type-erased.
pub(crate) trait Node {
    /// Feeds an input; a refusal is kept for [`Sim::errors`](crate::Sim::errors).
    fn input(&mut self, now: Instant, input: Input<'_>);
    fn timeout(&mut self, now: Instant);
    /// The machine's next request of the network, keeping events aside.
    fn next_action(&mut self) -> Option<Action>;
    fn poll_timeout(&self) -> Option<Instant>;
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

/// A machine of type `M` with what it has told its application.
pub(crate) struct Slot<M: Machine> {
    pub(crate) machine: M,
    pub(crate) events: Vec<M::Event>,
    pub(crate) errors: Vec<String>,
}

impl<M: Machine> Slot<M> {
    pub(crate) fn new(machine: M) -> Self {
        Slot {
            machine,
            events: Vec::new(),
            errors: Vec::new(),
        }
    }
}

impl<M: Machine + 'static> Node for Slot<M> {
    fn input(&mut self, now: Instant, input: Input<'_>) {
        if let Err(error) = self.machine.handle_input(now, input) {
            self.errors.push(error.to_string());
        }
    }

    fn timeout(&mut self, now: Instant) {
        self.machine.handle_timeout(now);
    }

    fn next_action(&mut self) -> Option<Action> {
        loop {
            match self.machine.poll_output()? {
                Output::Event(event) => self.events.push(event),
                Output::Transmit(transmit) => return Some(Action::Transmit(transmit)),
                Output::Close { peer, close } => return Some(Action::Close { peer, close }),
                Output::Reconnect { at } => return Some(Action::Reconnect { at }),
            }
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.machine.poll_timeout()
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}
