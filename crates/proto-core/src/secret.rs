//! Comparison of shared secrets that does not leak through timing.

use sha2::{Digest, Sha256};

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
}
