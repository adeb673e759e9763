//! Why a bounded run stopped before its goal.

use std::fmt;
use std::time::Instant;

/// A bounded run ([`Sim::run_until`](crate::Sim::run_until),
/// [`Sim::run_for`](crate::Sim::run_for)) stopped before its goal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimError {
    /// The run took this many steps, the simulator's limit
    /// ([`Sim::set_step_limit`](crate::Sim::set_step_limit)).
    StepLimit {
        /// Steps taken.
        steps: usize,
    },
    /// Virtual time reached the run's bound with the predicate still false.
    TimeLimit {
        /// The clock when the run stopped.
        now: Instant,
    },
    /// Nothing was left to happen (no delivery in flight, no timer) with the
    /// predicate still false.
    Idle {
        /// The clock when the run stopped.
        now: Instant,
    },
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimError::StepLimit { steps } => write!(f, "step limit reached after {steps} steps"),
            SimError::TimeLimit { .. } => f.write_str("virtual time limit reached"),
            SimError::Idle { .. } => f.write_str("nothing left to happen"),
        }
    }
}

impl std::error::Error for SimError {}
