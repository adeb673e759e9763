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
    // Nesting cannot exceed the number of opening brackets, and counting them
    // vectorizes: most texts are cleared here without the exact scan below.
    let opening = json.iter().filter(|&&b| b == b'[' || b == b'{').count();
    if opening <= max {
        return false;
    }
    let mut depth = 0usize;
    let mut rest = json;
    // Jump from one structural byte to the next, and over each string whole: the
    // scan then costs per string and bracket, not per byte of state machine.
    while let Some(at) = rest
        .iter()
        .position(|&b| matches!(b, b'"' | b'[' | b'{' | b']' | b'}'))
    {
        let (byte, tail) = (rest[at], &rest[at + 1..]);
        rest = tail;
        match byte {
            b'"' => rest = after_string(rest),
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            _ => depth = depth.saturating_sub(1),
        }
    }
    false
}

/// The text after the string whose opening quote was just read (empty if the
/// string never ends).
fn after_string(mut rest: &[u8]) -> &[u8] {
    while let Some(at) = rest.iter().position(|&b| b == b'"' || b == b'\\') {
        if rest[at] == b'"' {
            return &rest[at + 1..];
        }
        // An escape: the next byte, whatever it is, belongs to the string.
        rest = rest.get(at + 2..).unwrap_or_default();
    }
    &[]
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
