//! Requests awaiting their response, each with a deadline.

use std::borrow::Borrow;
use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::time::Instant;

/// Why a request could not be recorded as pending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PendingError {
    /// The table already holds its maximum number of requests.
    #[error("too many pending requests (limit {capacity})")]
    Full {
        /// The table's capacity.
        capacity: usize,
    },
    /// A request with the same key is already pending.
    #[error("a request with this id is already pending")]
    Duplicate,
}

#[derive(Debug)]
struct Entry<V> {
    deadline: Instant,
    seq: u64,
    value: V,
}

/// A bounded table of pending requests keyed by id (nonce, message id), each
/// expiring at its deadline.
///
/// Lookups by key and the earliest deadline are both logarithmic or better, so a
/// machine can answer responses and time out requests without scanning.
#[derive(Debug)]
pub struct PendingTable<K, V> {
    entries: HashMap<K, Entry<V>>,
    deadlines: BTreeMap<(Instant, u64), K>,
    capacity: usize,
    next_seq: u64,
}

impl<K: Hash + Eq + Clone, V> PendingTable<K, V> {
    /// An empty table that holds at most `capacity` requests.
    pub fn new(capacity: usize) -> Self {
        PendingTable {
            entries: HashMap::new(),
            deadlines: BTreeMap::new(),
            capacity,
            next_seq: 0,
        }
    }

    /// Records `value` under `key` until `deadline`.
    pub fn insert(&mut self, key: K, deadline: Instant, value: V) -> Result<(), PendingError> {
        if self.entries.contains_key(&key) {
            return Err(PendingError::Duplicate);
        }
        if self.entries.len() >= self.capacity {
            return Err(PendingError::Full {
                capacity: self.capacity,
            });
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.deadlines.insert((deadline, seq), key.clone());
        self.entries.insert(
            key,
            Entry {
                deadline,
                seq,
                value,
            },
        );
        Ok(())
    }

    /// Takes the request under `key` out of the table: its response arrived.
    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let entry = self.entries.remove(key)?;
        self.deadlines.remove(&(entry.deadline, entry.seq));
        Some(entry.value)
    }

    /// The value of the request pending under `key`.
    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.entries.get(key).map(|entry| &entry.value)
    }

    /// Whether a request is pending under `key`.
    pub fn contains<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.entries.contains_key(key)
    }

    /// The earliest deadline of any pending request.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.keys().next().map(|&(deadline, _)| deadline)
    }

    /// Takes out one request whose deadline is at or before `now`, earliest first.
    pub fn pop_expired(&mut self, now: Instant) -> Option<(K, V)> {
        let (&(deadline, seq), _) = self.deadlines.first_key_value()?;
        if deadline > now {
            return None;
        }
        let key = self.deadlines.remove(&(deadline, seq))?;
        let entry = self.entries.remove(&key)?;
        Some((key, entry.value))
    }

    /// Takes out every request, earliest deadline first: the connection is gone.
    pub fn drain(&mut self) -> Vec<(K, V)> {
        let mut drained = Vec::with_capacity(self.entries.len());
        for (_, key) in std::mem::take(&mut self.deadlines) {
            if let Some(entry) = self.entries.remove(&key) {
                drained.push((key, entry.value));
            }
        }
        drained
    }

    /// How many requests are pending.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no request is pending.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The most requests the table holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn expires_in_deadline_order_and_forgets_answered_requests() {
        let t0 = Instant::now();
        let mut table = PendingTable::new(8);
        table
            .insert(1u64, t0 + Duration::from_secs(5), "a")
            .unwrap();
        table.insert(2, t0 + Duration::from_secs(1), "b").unwrap();
        table.insert(3, t0 + Duration::from_secs(3), "c").unwrap();
        assert_eq!(table.next_deadline(), Some(t0 + Duration::from_secs(1)));
        assert_eq!(table.get(&3), Some(&"c"));
        assert_eq!(table.remove(&3), Some("c"));
        assert_eq!(table.get(&3), None);
        assert_eq!(table.remove(&3), None);
        assert_eq!(table.pop_expired(t0), None);
        let now = t0 + Duration::from_secs(10);
        assert_eq!(table.pop_expired(now), Some((2, "b")));
        assert_eq!(table.pop_expired(now), Some((1, "a")));
        assert_eq!(table.pop_expired(now), None);
        assert!(table.is_empty());
    }

    #[test]
    fn refuses_duplicates_and_overflow() {
        let t0 = Instant::now();
        let mut table = PendingTable::new(2);
        table.insert("x".to_string(), t0, ()).unwrap();
        assert_eq!(
            table.insert("x".to_string(), t0, ()),
            Err(PendingError::Duplicate)
        );
        table.insert("y".to_string(), t0, ()).unwrap();
        assert_eq!(
            table.insert("z".to_string(), t0, ()),
            Err(PendingError::Full { capacity: 2 })
        );
        assert!(table.contains("x"));
        assert_eq!(
            table.drain(),
            vec![("x".to_string(), ()), ("y".to_string(), ())]
        );
        assert_eq!(table.len(), 0);
        assert_eq!(table.next_deadline(), None);
    }
}
