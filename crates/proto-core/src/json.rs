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
    let mut in_string = false;
    let mut escaped = false;
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
    }
}
