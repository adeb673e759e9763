//! Allocation of request ids and nonces.

/// Hands out request ids from a fixed space (`0..space`), skipping ids still in use,
/// so a protocol whose ids may only be reused after their response (an 8-bit id)
/// and one with practically unbounded ids (a 64-bit nonce) share one allocator.
#[derive(Debug, Clone)]
pub struct IdAllocator {
    next: u64,
    /// Number of ids; `None` stands for the whole `u64` range.
    space: Option<u64>,
}

impl IdAllocator {
    /// Ids `first, first + 1, ...` over the whole `u64` range, wrapping.
    pub fn sequential(first: u64) -> Self {
        IdAllocator {
            next: first,
            space: None,
        }
    }

    /// Ids `0..space`, starting at `first % space`, wrapping.
    ///
    /// A zero `space` yields no ids.
    pub fn bounded(space: u64, first: u64) -> Self {
        IdAllocator {
            next: first.checked_rem(space).unwrap_or(0),
            space: Some(space),
        }
    }

    /// The next id for which `in_use` is false, or `None` when every id of the
    /// space is in use.
    ///
    /// The search ends after at most one pass over the space; for the unbounded space
    /// it ends after at most one more step than there are ids in use.
    pub fn allocate(&mut self, mut in_use: impl FnMut(u64) -> bool) -> Option<u64> {
        let attempts = self.space.unwrap_or(u64::MAX);
        for _ in 0..attempts {
            let id = self.next;
            self.next = match self.space {
                Some(space) => (id + 1) % space,
                None => id.wrapping_add(1),
            };
            if !in_use(id) {
                return Some(id);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_space_skips_ids_in_use_and_wraps() {
        let mut ids = IdAllocator::bounded(4, 2);
        let in_use = [3u64, 0];
        assert_eq!(ids.allocate(|id| in_use.contains(&id)), Some(2));
        assert_eq!(ids.allocate(|id| in_use.contains(&id)), Some(1));
        assert_eq!(ids.allocate(|_| true), None);
        assert_eq!(IdAllocator::bounded(0, 5).allocate(|_| false), None);
    }

    #[test]
    fn sequential_ids_wrap_around() {
        let mut ids = IdAllocator::sequential(u64::MAX);
        assert_eq!(ids.allocate(|_| false), Some(u64::MAX));
        assert_eq!(ids.allocate(|_| false), Some(0));
        assert_eq!(ids.allocate(|id| id == 1), Some(2));
    }
}
