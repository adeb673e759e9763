//! Shared secrets: kept out of logs, compared without leaking through timing.

use std::fmt;

use sha2::{Digest, Sha256};

/// A shared secret (a password, a token). Its `Debug` output is redacted, and it is
/// compared with [`constant_time_eq`].
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps `secret`.
    pub fn new(secret: impl Into<String>) -> Self {
        Secret(secret.into())
    }

    /// The secret itself, to put on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether `candidate` is this secret, in constant time.
    pub fn matches(&self, candidate: &[u8]) -> bool {
        constant_time_eq(self.0.as_bytes(), candidate)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl From<&str> for Secret {
    fn from(secret: &str) -> Self {
        Secret::new(secret)
    }
}

impl From<String> for Secret {
    fn from(secret: String) -> Self {
        Secret(secret)
    }
}

/// Whether `a` equals `b`, taking the same time wherever they differ.
///
/// Both sides are hashed first, so neither the position of the first difference
/// nor the secret's length shows in the timing.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let (a, b) = (Sha256::digest(a), Sha256::digest(b));
    let difference = a
        .iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(difference) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_and_unequal_secrets() {
        assert!(constant_time_eq(b"helloworld", b"helloworld"));
        assert!(constant_time_eq(b"", b""));
        assert!(!constant_time_eq(b"helloworld", b"helloworlD"));
        assert!(!constant_time_eq(b"hello", b"helloworld"));
        assert!(!constant_time_eq(b"", b"x"));
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret:?}"), "Secret(<redacted>)");
        assert!(secret.matches(b"hunter2"));
        assert!(!secret.matches(b"hunter3"));
        assert_eq!(secret.expose(), "hunter2");
    }
}
