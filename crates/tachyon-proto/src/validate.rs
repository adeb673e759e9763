//! Schema constraints serde's derive cannot express: numeric ranges, string lengths
//! and patterns, formats, array sizes and unique items.
//!
//! The decoder runs [`Validate`] on every decoded `data`, so a decoded [`Command`]
//! always satisfies its schema. The encoder does not: a value built in code is
//! trusted; call [`Command::validate`] first when it was built from untrusted parts.
//!
//! [`Command`]: crate::Command
//! [`Command::validate`]: crate::Command::validate

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Checks the constraints of a schema type that its Rust type cannot carry.
pub trait Validate {
    /// Checks `self`, found at `at`, and everything it holds. The default is for
    /// types whose Rust type says it all.
    fn validate_at(&self, at: &Path<'_>) -> Result<(), ValidationError> {
        let _ = at;
        Ok(())
    }

    /// Checks `self` as a command's `data`.
    fn validate(&self) -> Result<(), ValidationError> {
        self.validate_at(&Path::Root("data"))
    }
}

impl<T: Validate> Validate for Option<T> {
    fn validate_at(&self, at: &Path<'_>) -> Result<(), ValidationError> {
        self.as_ref().map_or(Ok(()), |value| value.validate_at(at))
    }
}

impl<T: Validate> Validate for Vec<T> {
    fn validate_at(&self, at: &Path<'_>) -> Result<(), ValidationError> {
        for (index, item) in self.iter().enumerate() {
            item.validate_at(&at.index(index))?;
        }
        Ok(())
    }
}

impl<T: Validate> Validate for std::collections::BTreeMap<String, T> {
    fn validate_at(&self, at: &Path<'_>) -> Result<(), ValidationError> {
        for (key, value) in self {
            value.validate_at(&at.key(key))?;
        }
        Ok(())
    }
}

/// Where in a command a value sits, e.g. `data.allyTeams[0].teams`; built on the
/// stack while validating and turned into text only when a check fails.
#[derive(Debug, Clone, Copy)]
pub enum Path<'a> {
    /// The top: `data`.
    Root(&'static str),
    /// A member of an object with a fixed set of fields.
    Field(&'a Path<'a>, &'static str),
    /// An item of an array.
    Index(&'a Path<'a>, usize),
    /// A value of an object used as a map.
    Key(&'a Path<'a>, &'a str),
}

impl<'a> Path<'a> {
    /// The member `name` of this object.
    pub fn field(&'a self, name: &'static str) -> Path<'a> {
        Path::Field(self, name)
    }

    /// The item `index` of this array.
    pub fn index(&'a self, index: usize) -> Path<'a> {
        Path::Index(self, index)
    }

    /// The value under `key` of this map.
    pub fn key(&'a self, key: &'a str) -> Path<'a> {
        Path::Key(self, key)
    }
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root(name) => f.write_str(name),
            Path::Field(parent, name) => write!(f, "{parent}.{name}"),
            Path::Index(parent, index) => write!(f, "{parent}[{index}]"),
            Path::Key(parent, key) => write!(f, "{parent}[{key:?}]"),
        }
    }
}

/// A value breaks a constraint of its schema.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{path}: {problem}")]
pub struct ValidationError {
    /// Where, e.g. `data.allyTeamConfig[0].maxTeams`.
    pub path: String,
    /// What is wrong.
    pub problem: Problem,
}

/// What is wrong with a value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Problem {
    /// A number below the schema's `minimum`.
    #[error("{value} is below the minimum {minimum}")]
    BelowMinimum {
        /// The value found.
        value: f64,
        /// The smallest value allowed.
        minimum: f64,
    },
    /// A number above the schema's `maximum`.
    #[error("{value} is above the maximum {maximum}")]
    AboveMaximum {
        /// The value found.
        value: f64,
        /// The largest value allowed.
        maximum: f64,
    },
    /// A string shorter than `minLength` characters.
    #[error("{length} characters, fewer than the minimum {minimum}")]
    TooShort {
        /// The string's length in characters (Unicode scalar values).
        length: usize,
        /// The fewest allowed.
        minimum: usize,
    },
    /// A string longer than `maxLength` characters.
    #[error("{length} characters, more than the maximum {maximum}")]
    TooLong {
        /// The string's length in characters (Unicode scalar values).
        length: usize,
        /// The most allowed.
        maximum: usize,
    },
    /// An array with fewer than `minItems` items.
    #[error("{count} items, fewer than the minimum {minimum}")]
    TooFewItems {
        /// The number of items.
        count: usize,
        /// The fewest allowed.
        minimum: usize,
    },
    /// An array with more than `maxItems` items.
    #[error("{count} items, more than the maximum {maximum}")]
    TooManyItems {
        /// The number of items.
        count: usize,
        /// The most allowed.
        maximum: usize,
    },
    /// An array whose items must be unique holds one twice.
    #[error("items are not unique")]
    DuplicateItems,
    /// A string that does not match the schema's `pattern`.
    #[error("does not match the pattern {pattern}")]
    PatternMismatch {
        /// The pattern, as the schema writes it.
        pattern: &'static str,
    },
    /// A string that is neither an IPv4 nor an IPv6 address.
    #[error("not an IPv4 or IPv6 address")]
    NotAnIpAddress,
    /// A string that is not a regular expression.
    #[error("not a regular expression")]
    NotARegex,
    /// A string that is not a UUID (`format: uuid`).
    #[error("not a UUID")]
    NotAUuid,
    /// A field the schema requires only when another field has a given value.
    #[error("{field} is required when {when}")]
    MissingConditional {
        /// The missing field.
        field: &'static str,
        /// The condition, e.g. `destination is "player"`.
        when: &'static str,
    },
}

impl ValidationError {
    fn at(path: &Path<'_>, problem: Problem) -> Self {
        ValidationError {
            path: path.to_string(),
            problem,
        }
    }
}

/// A string pattern of the shape `^[class]{min,max}$`, the only shape the schemas
/// use; the generator refuses any other, so a new pattern cannot slip by unchecked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pattern {
    /// The pattern as the schema writes it, for errors.
    pub(crate) source: &'static str,
    /// The characters allowed, as inclusive ranges.
    pub(crate) allowed: &'static [(char, char)],
    /// The fewest characters.
    pub(crate) min: usize,
    /// The most characters, if bounded.
    pub(crate) max: Option<usize>,
}

impl Pattern {
    pub(crate) fn matches(&self, text: &str) -> bool {
        let mut count = 0usize;
        for c in text.chars() {
            if !self.allowed.iter().any(|&(lo, hi)| (lo..=hi).contains(&c)) {
                return false;
            }
            count += 1;
        }
        count >= self.min && self.max.is_none_or(|max| count <= max)
    }
}

/// The checks generated `validate_at` bodies call.
pub(crate) mod check {
    use super::*;

    pub(crate) fn minimum<T: Into<f64> + PartialOrd + Copy>(
        at: &Path<'_>,
        value: T,
        minimum: T,
    ) -> Result<(), ValidationError> {
        if value >= minimum {
            return Ok(());
        }
        let (value, minimum) = (value.into(), minimum.into());
        Err(ValidationError::at(
            at,
            Problem::BelowMinimum { value, minimum },
        ))
    }

    pub(crate) fn maximum<T: Into<f64> + PartialOrd + Copy>(
        at: &Path<'_>,
        value: T,
        maximum: T,
    ) -> Result<(), ValidationError> {
        if value <= maximum {
            return Ok(());
        }
        let (value, maximum) = (value.into(), maximum.into());
        Err(ValidationError::at(
            at,
            Problem::AboveMaximum { value, maximum },
        ))
    }

    /// `u64` has no lossless `Into<f64>`; the bounds the schemas give it are small.
    pub(crate) fn minimum_u64(
        at: &Path<'_>,
        value: u64,
        minimum: u64,
    ) -> Result<(), ValidationError> {
        if value >= minimum {
            return Ok(());
        }
        Err(ValidationError::at(
            at,
            Problem::BelowMinimum {
                value: value as f64,
                minimum: minimum as f64,
            },
        ))
    }

    /// JSON Schema counts characters (code points), not bytes.
    pub(crate) fn min_length(
        at: &Path<'_>,
        text: &str,
        minimum: usize,
    ) -> Result<(), ValidationError> {
        let length = text.chars().count();
        if length >= minimum {
            return Ok(());
        }
        Err(ValidationError::at(
            at,
            Problem::TooShort { length, minimum },
        ))
    }

    pub(crate) fn max_length(
        at: &Path<'_>,
        text: &str,
        maximum: usize,
    ) -> Result<(), ValidationError> {
        // A string of at most `maximum` bytes has at most `maximum` characters.
        if text.len() <= maximum {
            return Ok(());
        }
        let length = text.chars().count();
        if length <= maximum {
            return Ok(());
        }
        Err(ValidationError::at(
            at,
            Problem::TooLong { length, maximum },
        ))
    }

    pub(crate) fn min_items(
        at: &Path<'_>,
        count: usize,
        minimum: usize,
    ) -> Result<(), ValidationError> {
        if count >= minimum {
            return Ok(());
        }
        Err(ValidationError::at(
            at,
            Problem::TooFewItems { count, minimum },
        ))
    }

    pub(crate) fn max_items(
        at: &Path<'_>,
        count: usize,
        maximum: usize,
    ) -> Result<(), ValidationError> {
        if count <= maximum {
            return Ok(());
        }
        Err(ValidationError::at(
            at,
            Problem::TooManyItems { count, maximum },
        ))
    }

    /// Sorts references rather than comparing pairs, so a hostile array of n items
    /// costs n log n, not n².
    pub(crate) fn unique_items<T: Ord>(at: &Path<'_>, items: &[T]) -> Result<(), ValidationError> {
        let mut sorted: Vec<&T> = items.iter().collect();
        sorted.sort_unstable();
        if sorted.windows(2).all(|pair| pair[0] != pair[1]) {
            return Ok(());
        }
        Err(ValidationError::at(at, Problem::DuplicateItems))
    }

    pub(crate) fn pattern(
        at: &Path<'_>,
        text: &str,
        pattern: &Pattern,
    ) -> Result<(), ValidationError> {
        if pattern.matches(text) {
            return Ok(());
        }
        Err(ValidationError::at(
            at,
            Problem::PatternMismatch {
                pattern: pattern.source,
            },
        ))
    }

    /// `anyOf` of the `ipv4` and `ipv6` formats, read as JSON Schema reads them
    /// (dotted quad without leading zeros; RFC 4291 text form).
    pub(crate) fn ip_address(at: &Path<'_>, text: &str) -> Result<(), ValidationError> {
        if text.parse::<Ipv4Addr>().is_ok() || text.parse::<Ipv6Addr>().is_ok() {
            return Ok(());
        }
        Err(ValidationError::at(at, Problem::NotAnIpAddress))
    }

    pub(crate) fn regex(at: &Path<'_>, text: &str) -> Result<(), ValidationError> {
        if super::regex_syntax_ok(text) {
            return Ok(());
        }
        Err(ValidationError::at(at, Problem::NotARegex))
    }

    /// `format: uuid` as the official validators check it (ajv-formats): 8-4-4-4-12
    /// hex digits in either case, optionally after `urn:uuid:` (in either case).
    pub(crate) fn uuid(at: &Path<'_>, text: &str) -> Result<(), ValidationError> {
        if super::is_uuid(text) {
            return Ok(());
        }
        Err(ValidationError::at(at, Problem::NotAUuid))
    }

    pub(crate) fn required_when(
        at: &Path<'_>,
        present: bool,
        field: &'static str,
        when: &'static str,
    ) -> Result<(), ValidationError> {
        if present {
            return Ok(());
        }
        Err(ValidationError::at(
            at,
            Problem::MissingConditional { field, when },
        ))
    }
}

/// Whether `pattern` is structurally a regular expression: groups and classes
/// closed, no quantifier without something to repeat, no dangling escape, sane
/// `{n,m}` bounds.
///
/// This is the part of ECMAScript regex syntax that a typo breaks; it accepts some
/// patterns a full ECMAScript parser would refuse (an unknown group flag, a bad
/// named group), which only matters for `luamsgRegexp` and is documented there.
/// Whether `text` is a UUID in the text form ajv-formats accepts; a byte matcher,
/// equivalent to `/^(?:urn:uuid:)?[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}$/i`.
fn is_uuid(text: &str) -> bool {
    let bytes = text.as_bytes();
    let bytes = match bytes.split_at_checked(9) {
        Some((prefix, rest)) if prefix.eq_ignore_ascii_case(b"urn:uuid:") => rest,
        _ => bytes,
    };
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(index, &byte)| {
            if matches!(index, 8 | 13 | 18 | 23) {
                byte == b'-'
            } else {
                byte.is_ascii_hexdigit()
            }
        })
}

fn regex_syntax_ok(pattern: &str) -> bool {
    let mut chars = pattern.chars().peekable();
    let mut depth = 0usize;
    // Whether the previous token can be repeated by a quantifier.
    let mut can_repeat = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if chars.next().is_none() {
                    return false;
                }
                can_repeat = true;
            }
            '[' => {
                // A class: everything up to the first unescaped `]` (a leading `]` or
                // `^]` is a literal in ECMAScript only as `[^]`/`[]`, both valid).
                let mut closed = false;
                while let Some(c) = chars.next() {
                    match c {
                        '\\' if chars.next().is_none() => return false,
                        '\\' => {}
                        ']' => {
                            closed = true;
                            break;
                        }
                        _ => {}
                    }
                }
                if !closed {
                    return false;
                }
                can_repeat = true;
            }
            '(' => {
                depth += 1;
                if chars.peek() == Some(&'?') {
                    chars.next();
                    // `(?:`, `(?=`, `(?!`, `(?<=`, `(?<!`, `(?<name>`
                    match chars.next() {
                        Some(':' | '=' | '!') => {}
                        Some('<') => {
                            if matches!(chars.peek(), Some('=' | '!')) {
                                chars.next();
                            } else {
                                let mut named = false;
                                for c in chars.by_ref() {
                                    if c == '>' {
                                        named = true;
                                        break;
                                    }
                                }
                                if !named {
                                    return false;
                                }
                            }
                        }
                        _ => return false,
                    }
                }
                can_repeat = false;
            }
            ')' => {
                if depth == 0 {
                    return false;
                }
                depth -= 1;
                can_repeat = true;
            }
            '*' | '+' | '?' => {
                if !can_repeat {
                    return false;
                }
                if chars.peek() == Some(&'?') {
                    chars.next();
                }
                can_repeat = false;
            }
            '{' => {
                // `{n}`, `{n,}`, `{n,m}` is a quantifier; anything else a literal brace
                // (ECMAScript Annex B).
                let rest: String = chars.clone().take_while(|&c| c != '}').collect();
                let bounds = parse_braces(&rest);
                match bounds {
                    Some((min, max)) if chars.clone().nth(rest.chars().count()) == Some('}') => {
                        if !can_repeat || max.is_some_and(|max| max < min) {
                            return false;
                        }
                        for _ in 0..=rest.chars().count() {
                            chars.next();
                        }
                        if chars.peek() == Some(&'?') {
                            chars.next();
                        }
                        can_repeat = false;
                    }
                    _ => can_repeat = true,
                }
            }
            '|' => can_repeat = false,
            '^' | '$' => can_repeat = false,
            _ => can_repeat = true,
        }
    }
    depth == 0
}

/// The bounds of a `{n}`, `{n,}` or `{n,m}` quantifier, given what is between the braces.
fn parse_braces(inner: &str) -> Option<(u64, Option<u64>)> {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match inner.split_once(',') {
        None if digits(inner) => Some((inner.parse().ok()?, inner.parse().ok())),
        Some((min, "")) if digits(min) => Some((min.parse().ok()?, None)),
        Some((min, max)) if digits(min) && digits(max) => {
            Some((min.parse().ok()?, Some(max.parse().ok()?)))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_print_like_json_accessors() {
        let root = Path::Root("data");
        let teams = root.field("allyTeams");
        let first = teams.index(0);
        let options = first.field("options");
        assert_eq!(
            options.key("x\"y").to_string(),
            r#"data.allyTeams[0].options["x\"y"]"#
        );
    }

    #[test]
    fn patterns_check_class_and_length() {
        const HEX: Pattern = Pattern {
            source: "^[a-f0-9]{2,3}$",
            allowed: &[('a', 'f'), ('0', '9')],
            min: 2,
            max: Some(3),
        };
        assert!(HEX.matches("af0"));
        assert!(!HEX.matches("a"));
        assert!(!HEX.matches("abcd"));
        assert!(!HEX.matches("ag"));
        let at = Path::Root("data");
        assert_eq!(
            check::pattern(&at, "zz", &HEX),
            Err(ValidationError {
                path: "data".into(),
                problem: Problem::PatternMismatch {
                    pattern: "^[a-f0-9]{2,3}$"
                }
            })
        );
    }

    #[test]
    fn lengths_count_characters_not_bytes() {
        let at = Path::Root("data");
        assert!(check::max_length(&at, "éééé", 4).is_ok());
        assert!(check::max_length(&at, "ééééé", 4).is_err());
        assert!(check::min_length(&at, "éé", 3).is_err());
    }

    #[test]
    fn unique_items_and_ranges() {
        let at = Path::Root("data");
        assert!(check::unique_items(&at, &[3, 1, 2]).is_ok());
        assert_eq!(
            check::unique_items(&at, &[3, 1, 3]).map_err(|e| e.problem),
            Err(Problem::DuplicateItems)
        );
        assert!(check::minimum(&at, 0.0, 0.0).is_ok());
        assert!(check::maximum(&at, 1.5, 1.0).is_err());
        assert!(check::minimum(&at, f64::NAN, 0.0).is_err());
        assert!(check::minimum_u64(&at, 0, 1).is_err());
    }

    #[test]
    fn ip_addresses() {
        let at = Path::Root("data");
        for ok in ["127.0.0.1", "::1", "2001:db8::8a2e:370:7334"] {
            assert!(check::ip_address(&at, ok).is_ok(), "{ok}");
        }
        for bad in ["", "1.2.3", "01.2.3.4", "256.0.0.1", "localhost", "::g"] {
            assert!(check::ip_address(&at, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn uuids_as_the_official_validators_read_them() {
        for good in [
            "75bfc493-2b9d-495d-a453-06722fdca2ea",
            "75BFC493-2B9D-495D-A453-06722FDCA2EA",
            "urn:uuid:75bfc493-2b9d-495d-a453-06722fdca2ea",
            "URN:UUID:75bfc493-2b9d-495d-a453-06722fdca2ea",
            "00000000-0000-0000-0000-000000000000",
        ] {
            assert!(is_uuid(good), "{good}");
        }
        for bad in [
            "not-a-uuid",
            "",
            "75bfc4932b9d495da45306722fdca2ea",
            "{75bfc493-2b9d-495d-a453-06722fdca2ea}",
            "75bfc493-2b9d-495d-a453-06722fdca2e",
            "75bfc493-2b9d-495d-a453-06722fdca2eaa",
            "75bfc493-2b9d-495d-a453-06722fdca2ea\n",
            "75bfc493-2b9d-495d-a453_06722fdca2ea",
            "75bfc493-2b9d-495d-a453-06722fdca2eg",
            "urn:uuid:",
            "uuid:75bfc493-2b9d-495d-a453-06722fdca2ea",
            "192.168.0.1",
        ] {
            assert!(!is_uuid(bad), "{bad}");
        }
        assert_eq!(
            check::uuid(&Path::Root("data").field("battleId"), "not-a-uuid")
                .map_err(|e| e.to_string()),
            Err("data.battleId: not a UUID".to_owned())
        );
    }

    #[test]
    fn regex_syntax() {
        for ok in [
            "",
            "^abc$",
            "a|b",
            "(a)(?:b)(?=c)(?!d)(?<=e)(?<!f)(?<name>g)",
            "[a-z]+?",
            r"\d{2,3}",
            "a{,3}",
            "x{",
            r"[\]]",
            "^ui:.*",
        ] {
            assert!(regex_syntax_ok(ok), "{ok}");
        }
        for bad in [
            "(", ")", "[a", "*a", "a**", "\\", "a{3,2}", "(?x)", "(?<name", "a|+",
        ] {
            assert!(!regex_syntax_ok(bad), "{bad}");
        }
    }
}
