//! JSON helpers shared by the JSON protocols: value kinds and nesting depth.

use std::fmt;

/// The kind of a JSON value, for errors that say what was found instead of what was
/// expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JsonKind {
    /// `null`
    Null,
    /// `true` or `false`
    Bool,
    /// A number with no fraction or exponent that is not negative.
    UnsignedInteger,
    /// A negative number with no fraction or exponent.
    NegativeInteger,
    /// Any other number.
    Float,
    /// A string.
    String,
    /// An array.
    Array,
    /// An object.
    Object,
}

impl fmt::Display for JsonKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            JsonKind::Null => "null",
            JsonKind::Bool => "a boolean",
            JsonKind::UnsignedInteger => "an unsigned integer",
            JsonKind::NegativeInteger => "a negative integer",
            JsonKind::Float => "a non-integer number",
            JsonKind::String => "a string",
            JsonKind::Array => "an array",
            JsonKind::Object => "an object",
        })
    }
}

/// Whether the JSON text `json` nests arrays and objects deeper than `max` levels.
///
/// No allocation; brackets inside strings do not count. The text need not be valid
/// JSON: this only bounds what a parser would recurse into.
pub fn json_depth_exceeds(json: &[u8], max: usize) -> bool {
    // Nesting cannot exceed the number of opening brackets, and counting them is
    // cheap: most texts are cleared here without the exact scan below.
    let words = json.chunks_exact(8);
    let rest = words.remainder();
    let opening = words
        .clone()
        .map(|word| count_top_bits(bytes_equal(fold_brackets(eight(word)), b'{')))
        .sum::<usize>()
        + rest.iter().filter(|&&b| b | 0x20 == b'{').count();
    if opening <= max {
        return false;
    }
    let mut scan = DepthScan {
        max,
        depth: 0,
        in_string: false,
        escaped: false,
    };
    for word in words {
        if scan.word(eight(word)) {
            return true;
        }
    }
    scan.bytes(rest)
}

/// The state of the exact scan between words.
struct DepthScan {
    max: usize,
    depth: usize,
    in_string: bool,
    /// The previous byte was a backslash inside a string.
    escaped: bool,
}

impl DepthScan {
    /// Scans eight bytes at once in a `u64` (SIMD within a register; the crate
    /// has no unsafe intrinsics): which bytes are quotes and brackets, which lie
    /// inside a string (a prefix XOR of the quotes, as SIMD JSON parsers find
    /// them), and how the brackets outside move the depth. Words with a
    /// backslash, rare in protocol JSON, and words that come near the maximum go
    /// byte by byte. Returns whether the depth went past the maximum.
    fn word(&mut self, bytes: [u8; 8]) -> bool {
        let word = u64::from_le_bytes(bytes);
        if self.escaped || bytes_equal(word, b'\\') != 0 {
            return self.bytes(&bytes);
        }
        // The top bit of every byte from an opening quote up to its closing one.
        let mut inside = bytes_equal(word, b'"');
        inside ^= inside << 8;
        inside ^= inside << 16;
        inside ^= inside << 32;
        if self.in_string {
            inside ^= HIGH_BITS;
        }
        let folded = fold_brackets(bytes);
        let up = count_top_bits(bytes_equal(folded, b'{') & !inside);
        let down = count_top_bits(bytes_equal(folded, b'}') & !inside);
        // Neither past the maximum nor below zero, whatever their order.
        if self.depth + up <= self.max && self.depth >= down {
            self.depth = self.depth + up - down;
            self.in_string = inside >> 63 == 1;
            return false;
        }
        self.bytes(&bytes)
    }

    /// Scans byte by byte. Returns whether the depth went past the maximum.
    fn bytes(&mut self, bytes: &[u8]) -> bool {
        for &byte in bytes {
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if byte == b'\\' {
                    self.escaped = true;
                } else if byte == b'"' {
                    self.in_string = false;
                }
                continue;
            }
            match byte {
                b'"' => self.in_string = true,
                b'[' | b'{' => {
                    self.depth += 1;
                    if self.depth > self.max {
                        return true;
                    }
                }
                b']' | b'}' => self.depth = self.depth.saturating_sub(1),
                _ => {}
            }
        }
        false
    }
}

/// A chunk of `chunks_exact(8)` as an array (the conversion cannot fail).
fn eight(chunk: &[u8]) -> [u8; 8] {
    chunk.try_into().unwrap_or_default()
}

/// Eight bytes as a `u64`, with `[` turned into `{` and `]` into `}`: they differ
/// only in bit 0x20, which no other byte can gain to become a brace.
fn fold_brackets(bytes: [u8; 8]) -> u64 {
    u64::from_le_bytes(bytes) | (LOW_BITS * 0x20)
}

/// How many bytes of `top_bits` have their top bit set: the sum of the bytes once
/// each is 0 or 1, gathered in the top byte by one multiplication. Cheaper than
/// `count_ones` where the CPU baseline has no popcount instruction.
fn count_top_bits(top_bits: u64) -> usize {
    ((top_bits >> 7).wrapping_mul(LOW_BITS) >> 56) as usize
}

/// 0x01 in every byte.
const LOW_BITS: u64 = 0x0101_0101_0101_0101;
/// 0x80 in every byte.
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// The top bit of each byte of `word` that equals `byte`, and nothing else.
fn bytes_equal(word: u64, byte: u8) -> u64 {
    let zero_where_equal = word ^ (LOW_BITS * u64::from(byte));
    // Adding 0x7f to a byte's low seven bits, or-ing in the byte itself, leaves
    // its top bit clear only if the byte is zero; no carry crosses bytes.
    !(((zero_where_equal & !HIGH_BITS) + !HIGH_BITS) | zero_where_equal) & HIGH_BITS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_nesting_outside_strings() {
        assert!(!json_depth_exceeds(br#"{"a":[1,{"b":2}]}"#, 3));
        assert!(json_depth_exceeds(br#"{"a":[1,{"b":2}]}"#, 2));
        assert!(!json_depth_exceeds(br#"{"a":"[[[[\"[["}"#, 1));
        assert!(!json_depth_exceeds(b"1", 0));
        assert!(json_depth_exceeds(b"[]", 0));
        assert!(json_depth_exceeds(&[b'['; 10_000], 128));
        // Many brackets, little nesting: the exact scan decides.
        assert!(!json_depth_exceeds(b"[[],[],[],[],[],[]]", 2));
        assert!(!json_depth_exceeds(br#"["[[[[[[", "{{{{{{"]"#, 1));
        // Escapes, including an escaped backslash before the closing quote.
        assert!(!json_depth_exceeds(br#"["\"[[[", "\\\\", "[[[\\"]"#, 1));
        assert!(json_depth_exceeds(br#"["\\", [[]]]"#, 2));
        // An unterminated string hides what follows, as it would from a parser.
        assert!(!json_depth_exceeds(br#"[[ "\"[[[[[["#, 2));
        assert!(json_depth_exceeds(b"[[[[ \"", 3));
    }

    /// The plain byte-at-a-time state machine the fast scan must agree with.
    fn reference(json: &[u8], max: usize) -> bool {
        let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
        for &byte in json {
            if in_string {
                if escaped {
                    escaped = false;
                } else if byte == b'\\' {
                    escaped = true;
                } else if byte == b'"' {
                    in_string = false;
                }
                continue;
            }
            match byte {
                b'"' => in_string = true,
                b'[' | b'{' => {
                    depth += 1;
                    if depth > max {
                        return true;
                    }
                }
                b']' | b'}' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        false
    }

    #[test]
    fn agrees_with_the_byte_at_a_time_scan_on_long_texts() {
        // Texts long enough for the word scan, mostly string and bracket bytes so
        // that every path is taken: escapes, strings across words, deep words.
        const ALPHABET: &[u8] = b"[]{}\"\\aaaaa[[]]";
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let len = (next() % 400) as usize;
            let text: Vec<u8> = (0..len)
                .map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize])
                .collect();
            for max in [0, 1, 3, 8, 20] {
                assert_eq!(
                    json_depth_exceeds(&text, max),
                    reference(&text, max),
                    "{:?} max {max}",
                    String::from_utf8_lossy(&text)
                );
            }
        }
        let word = u64::from_le_bytes(*b"a\"b[{\"]\"");
        assert_eq!(bytes_equal(word, b'"'), 0x8000_8000_0000_8000);
        assert_eq!(
            bytes_equal(fold_brackets(*b"a\"b[{\"]\""), b'{'),
            0x0000_0080_8000_0000
        );
        assert_eq!(count_top_bits(0x8000_8000_0000_8000), 3);
    }

    #[test]
    fn agrees_with_the_byte_at_a_time_scan_on_every_short_text() {
        const ALPHABET: &[u8] = b"[]{}\"\\a";
        let mut text = Vec::new();
        for len in 0..=6u32 {
            for mut n in 0..ALPHABET.len().pow(len) {
                text.clear();
                for _ in 0..len {
                    text.push(ALPHABET[n % ALPHABET.len()]);
                    n /= ALPHABET.len();
                }
                for max in 0..3 {
                    assert_eq!(
                        json_depth_exceeds(&text, max),
                        reference(&text, max),
                        "{:?} max {max}",
                        String::from_utf8_lossy(&text)
                    );
                }
            }
        }
    }
}
