//! The bounded set of messages already handled, which stops floods from looping.

use std::collections::{HashSet, VecDeque};

use crate::message::{MsgId, Verb};

/// The last `capacity` (`msg_id`, verb) pairs seen; the oldest is forgotten first.
///
/// The verb is part of the key because CERTIFICATE reuses its GETCERTIFICATE's
/// `msg_id`, and both may pass through the same node.
#[derive(Debug)]
pub(crate) struct SeenSet {
    set: HashSet<(MsgId, Verb)>,
    order: VecDeque<(MsgId, Verb)>,
    capacity: usize,
}

impl SeenSet {
    pub(crate) fn new(capacity: usize) -> Self {
        SeenSet {
            set: HashSet::new(),
            order: VecDeque::new(),
            capacity,
        }
    }

    /// Records `key`; false if it was already there.
    pub(crate) fn insert(&mut self, key: (MsgId, Verb)) -> bool {
        if self.capacity == 0 || self.set.contains(&key) {
            return self.capacity == 0;
        }
        if self.order.len() >= self.capacity {
            if let Some(oldest) = self.order.pop_front() {
                self.set.remove(&oldest);
            }
        }
        self.set.insert(key);
        self.order.push_back(key);
        true
    }

    pub(crate) fn len(&self) -> usize {
        self.set.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn forgets_the_oldest_beyond_its_capacity() {
        let mut seen = SeenSet::new(2);
        let id = |n| (Uuid::from_u128(n), Verb::Message);
        assert!(seen.insert(id(1)));
        assert!(!seen.insert(id(1)));
        assert!(seen.insert((Uuid::from_u128(1), Verb::Certificate)));
        assert!(seen.insert(id(2)));
        assert_eq!(seen.len(), 2);
        assert!(seen.insert(id(1)), "the oldest was forgotten");
    }
}
