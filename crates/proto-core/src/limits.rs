//! The bounds every decoder and machine enforces on what a peer sends.

/// Bounds on hostile input, shared by every protocol's decoder and machines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest frame (message, datagram, length-prefixed record) accepted, in bytes.
    pub max_frame_len: usize,
    /// The deepest nesting of arrays and objects accepted in a frame (the frame's own
    /// top-level object counts as one).
    pub max_depth: usize,
    /// The most requests that may await a response at once, in each direction.
    pub max_pending: usize,
}

impl Limits {
    /// Checks a frame's length before anything else is done with it.
    pub fn check_frame_len(&self, len: usize) -> Result<(), LimitError> {
        if len > self.max_frame_len {
            return Err(LimitError::FrameTooLarge {
                len,
                max: self.max_frame_len,
            });
        }
        Ok(())
    }
}

impl Default for Limits {
    /// 1 MiB frames, 32 levels of nesting, 1024 pending requests.
    fn default() -> Self {
        Limits {
            max_frame_len: 1 << 20,
            max_depth: 32,
            max_pending: 1024,
        }
    }
}

/// A frame broke one of the [`Limits`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    /// The frame is longer than `max` bytes.
    #[error("frame of {len} bytes exceeds the limit of {max}")]
    FrameTooLarge {
        /// The frame's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The frame nests arrays or objects deeper than `max`.
    #[error("frame nests deeper than {max} levels")]
    TooDeep {
        /// The limit.
        max: usize,
    },
}
