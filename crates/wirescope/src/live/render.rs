//! What the live commands print: the transcript line and the JSON object of each
//! observed frame, flag and deadline.

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::{Direction, Observation};

/// One printable record: a frame and what the protocol made of it, a framing
/// problem the proxy flagged, or a deadline that passed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    /// Time since the capture started.
    pub(crate) at: Duration,
    /// The conversation.
    pub(crate) conn: u64,
    /// Which way the frame went; `None` for a deadline.
    pub(crate) direction: Option<Direction>,
    /// The frame's kind, decoded value or error, and violations.
    pub(crate) observation: Observation,
}

/// The kind of an entry for a deadline that passed with no frame.
pub(crate) const DEADLINE_KIND: &str = "deadline";

/// The kind of an entry for a problem the proxy found on the wire: bytes it could
/// not cut into frames, a side that failed.
pub(crate) const FLAG_KIND: &str = "(wire)";

impl Entry {
    /// An entry for violations found when time reached `at` with no frame.
    pub(crate) fn deadline(at: Duration, conn: u64, violations: Vec<String>) -> Self {
        Entry {
            at,
            conn,
            direction: None,
            observation: Observation {
                kind: DEADLINE_KIND.to_owned(),
                value: Ok(Value::Null),
                violations,
            },
        }
    }

    /// An entry for a framing problem the proxy found itself.
    pub(crate) fn flag(at: Duration, conn: u64, direction: Direction, error: String) -> Self {
        Entry {
            at,
            conn,
            direction: Some(direction),
            observation: Observation {
                kind: FLAG_KIND.to_owned(),
                value: Err(error),
                violations: Vec::new(),
            },
        }
    }
}

/// How the live commands print entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    /// The transcript of `wirescope demo`: one line per frame, then one flagged
    /// line per violation.
    Transcript,
    /// One JSON object per line and entry.
    Json,
}

impl Style {
    /// `Json` when `json` is set.
    pub(crate) fn from_json_flag(json: bool) -> Self {
        if json { Style::Json } else { Style::Transcript }
    }

    /// The lines printed for `entry` of `protocol`.
    pub(crate) fn render(self, protocol: &str, entry: &Entry) -> String {
        match self {
            Style::Transcript => transcript(entry),
            Style::Json => json_object(protocol, entry).to_string(),
        }
    }
}

/// The transcript rendering: `[  0.123s] #1   c>s  KIND          value` (no value
/// when it is `null`), then
/// `[  0.123s] #1   !!!  violation` for each violation, lines joined by `\n`.
pub(crate) fn transcript(entry: &Entry) -> String {
    let seconds = entry.at.as_secs_f64();
    let conn = format!("#{}", entry.conn);
    let direction = entry.direction.map_or("---", Direction::as_str);
    let observation = &entry.observation;
    let mut out = format!(
        "[{seconds:7.3}s] {conn:<5} {direction}  {:<13}",
        observation.kind
    );
    match &observation.value {
        Ok(Value::Null) => {}
        Ok(value) => {
            let _ = write!(out, " {value}");
        }
        Err(error) => {
            let _ = write!(out, " error: {error}");
        }
    }
    let mut out = out.trim_end().to_owned();
    for violation in &observation.violations {
        let _ = write!(out, "\n[{seconds:7.3}s] {conn:<5} !!!  {violation}");
    }
    out
}

/// The JSON rendering: `{"t", "conn", "dir", "protocol", "kind", "value" | "error",
/// "violations"}`; a deadline has `"dir": null` and `"value": null`.
pub(crate) fn json_object(protocol: &str, entry: &Entry) -> Value {
    let mut object = Map::new();
    object.insert("t".into(), json!(entry.at.as_secs_f64()));
    object.insert("conn".into(), json!(entry.conn));
    object.insert("dir".into(), json!(entry.direction.map(Direction::as_str)));
    insert_observation(&mut object, protocol, &entry.observation);
    Value::Object(object)
}

/// Adds `protocol`, `kind`, `value` or `error`, and `violations` to `object`: the
/// part of the JSON rendering every command shares.
pub(crate) fn insert_observation(
    object: &mut Map<String, Value>,
    protocol: &str,
    observation: &Observation,
) {
    object.insert("protocol".into(), json!(protocol));
    object.insert("kind".into(), json!(observation.kind));
    match &observation.value {
        Ok(value) => object.insert("value".into(), value.clone()),
        Err(error) => object.insert("error".into(), json!(error)),
    };
    object.insert("violations".into(), json!(observation.violations));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hello() -> Entry {
        Entry {
            at: Duration::from_micros(1_500),
            conn: 2,
            direction: Some(Direction::ToClient),
            observation: Observation {
                kind: "HELLO".into(),
                value: Ok(json!({"op": 0, "hb_interval": 200})),
                violations: vec!["unexpected HELLO".into()],
            },
        }
    }

    #[test]
    fn a_transcript_entry_is_a_line_then_one_line_per_violation() {
        assert_eq!(
            transcript(&hello()),
            "[  0.002s] #2    s>c  HELLO         {\"hb_interval\":200,\"op\":0}\n\
             [  0.002s] #2    !!!  unexpected HELLO"
        );
        let deadline = Entry::deadline(Duration::from_millis(300), 1, vec!["late".into()]);
        assert_eq!(
            transcript(&deadline),
            "[  0.300s] #1    ---  deadline\n[  0.300s] #1    !!!  late"
        );
        let flag = Entry::flag(Duration::ZERO, 1, Direction::ToServer, "too big".into());
        assert_eq!(
            transcript(&flag),
            "[  0.000s] #1    c>s  (wire)        error: too big"
        );
    }

    #[test]
    fn a_json_entry_has_every_field() {
        assert_eq!(
            json_object("litebridge", &hello()),
            json!({"t": 0.0015, "conn": 2, "dir": "s>c", "protocol": "litebridge",
                   "kind": "HELLO", "value": {"op": 0, "hb_interval": 200},
                   "violations": ["unexpected HELLO"]})
        );
        let flag = Entry::flag(Duration::ZERO, 1, Direction::ToServer, "too big".into());
        assert_eq!(
            json_object("ptpchat", &flag),
            json!({"t": 0.0, "conn": 1, "dir": "c>s", "protocol": "ptpchat",
                   "kind": "(wire)", "error": "too big", "violations": []})
        );
    }
}
