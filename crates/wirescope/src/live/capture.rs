//! The capture file: a line-based record of every frame a proxy saw, its writer
//! and its parser.
//!
//! ```text
//! wirescope-capture 1 litebridge
//! 0.000000 1 c>s open
//! 0.001250 1 s>c text "{\"op\":0,\"hb_interval\":200}"
//! 0.002500 1 c>s binary 0a0b0c
//! 0.003000 1 c>s close 1000 "client shutting down"
//! 0.004000 2 s>c close
//! 0.004100 3 c>s flag "declared frame of 4294967295 bytes exceeds the limit of 1048576"
//! 0.450000 time
//! ```
//!
//! The header names the format version (1) and the protocol. Then one line per
//! record, fields separated by one space:
//!
//! - seconds since the capture started, with exactly six decimals (microseconds);
//!   never decreasing from one line to the next;
//! - the conversation number (from 1) and the direction, `c>s` or `s>c`;
//! - the kind: `open` (the conversation started), `text` (a WebSocket text
//!   message, its text as one JSON string), `binary` (a WebSocket binary message,
//!   a length-prefixed TCP frame's body or a UDP datagram, in lowercase hex; empty
//!   data leaves nothing after the word), `close` (a close with no code, or its
//!   code and its reason as a JSON string), `flag` (bytes the proxy could not cut
//!   into frames, with its error as a JSON string);
//! - or, instead of conversation, direction and kind, the single word `time`: the
//!   clock reached this instant with no frame (the live proxy's deadline timer
//!   fired), so a replay checks the same deadlines.
//!
//! Lines end with `\n`; a line longer than [`MAX_LINE_LEN`] is refused. Every
//! problem in a file is an error naming its line.

use std::io::{self, BufRead, Write};
use std::time::Duration;

use super::{Direction, Frame, FrameData};

/// The first word of a capture's header.
pub(crate) const MAGIC: &str = "wirescope-capture";

/// The format version this wirescope writes and reads.
pub(crate) const VERSION: u32 = 1;

/// The longest line accepted, in bytes: a frame of `Limits::default()`'s 1 MiB
/// escaped as JSON text (at most 6 bytes per byte) or hex, with room for the fields.
pub(crate) const MAX_LINE_LEN: usize = 6 * (1 << 20) + 256;

/// One record of a capture after its header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Record {
    /// A frame of one conversation.
    Frame(Frame),
    /// Bytes the proxy could not cut into frames, with its error.
    Flag {
        /// Time since the capture started.
        at: Duration,
        /// The conversation.
        conn: u64,
        /// Which way the bytes went.
        direction: Direction,
        /// What was wrong.
        error: String,
    },
    /// The clock reached `at` with no frame.
    Time(Duration),
}

impl Record {
    /// When the record happened.
    pub(crate) fn at(&self) -> Duration {
        match self {
            Record::Frame(frame) => frame.at,
            Record::Flag { at, .. } | Record::Time(at) => *at,
        }
    }
}

/// Why a capture could not be read.
#[derive(Debug)]
pub(crate) struct CaptureError {
    /// The line, from 1.
    pub(crate) line: usize,
    /// What was wrong with it.
    pub(crate) problem: Problem,
}

impl std::fmt::Display for CaptureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "capture line {}: {}", self.line, self.problem)
    }
}

impl std::error::Error for CaptureError {}

/// What was wrong with one line of a capture.
#[derive(Debug)]
pub(crate) enum Problem {
    /// Reading the file failed.
    Io(io::Error),
    /// The file is empty.
    Empty,
    /// The first line is not `wirescope-capture VERSION PROTOCOL`.
    BadHeader,
    /// The header's version is not one this wirescope reads.
    Version(String),
    /// The capture is of another protocol.
    Protocol {
        /// What the header says.
        found: String,
        /// What the command was asked to replay.
        expected: String,
    },
    /// The line is longer than [`MAX_LINE_LEN`].
    TooLong,
    /// The line is not UTF-8.
    NotUtf8,
    /// A field is missing.
    Missing(&'static str),
    /// A field does not parse.
    Bad {
        /// Which field.
        field: &'static str,
        /// Its text, cut to 64 bytes.
        text: String,
    },
    /// Text is left after the last field.
    Trailing(String),
    /// The time is earlier than the line before's.
    Backwards,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Io(error) => write!(f, "{error}"),
            Problem::Empty => write!(f, "the file is empty"),
            Problem::BadHeader => write!(f, "expected the header `{MAGIC} {VERSION} PROTOCOL`"),
            Problem::Version(version) => {
                write!(
                    f,
                    "format version {version:?}, this wirescope reads {VERSION}"
                )
            }
            Problem::Protocol { found, expected } => {
                write!(f, "a capture of {found:?}, not {expected:?}")
            }
            Problem::TooLong => write!(f, "longer than {MAX_LINE_LEN} bytes"),
            Problem::NotUtf8 => write!(f, "not UTF-8"),
            Problem::Missing(field) => write!(f, "missing the {field}"),
            Problem::Bad { field, text } => write!(f, "bad {field}: {text:?}"),
            Problem::Trailing(text) => write!(f, "unexpected {text:?} after the last field"),
            Problem::Backwards => write!(f, "the time is earlier than the line before's"),
        }
    }
}

/// Writes a capture, flushing after each line so a killed proxy leaves every line
/// it printed.
pub(crate) struct CaptureWriter<W: Write> {
    out: W,
}

impl<W: Write> CaptureWriter<W> {
    /// Writes the header of a capture of `protocol`.
    pub(crate) fn new(mut out: W, protocol: &str) -> io::Result<Self> {
        writeln!(out, "{MAGIC} {VERSION} {protocol}")?;
        out.flush()?;
        Ok(CaptureWriter { out })
    }

    /// Writes one record.
    pub(crate) fn write(&mut self, record: &Record) -> io::Result<()> {
        let line = format_record(record);
        self.out.write_all(line.as_bytes())?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }
}

/// The capture line of `record`, without its `\n`.
pub(crate) fn format_record(record: &Record) -> String {
    let at = seconds(record.at());
    match record {
        Record::Time(_) => format!("{at} time"),
        Record::Flag {
            conn,
            direction,
            error,
            ..
        } => format!("{at} {conn} {direction} flag {}", json_string(error)),
        Record::Frame(frame) => {
            let head = format!("{at} {} {}", frame.conn, frame.direction);
            match &frame.data {
                FrameData::Open => format!("{head} open"),
                FrameData::Text(text) => format!("{head} text {}", json_string(text)),
                FrameData::Binary(bytes) if bytes.is_empty() => format!("{head} binary"),
                FrameData::Binary(bytes) => format!("{head} binary {}", hex(bytes)),
                FrameData::Close(None) => format!("{head} close"),
                FrameData::Close(Some((code, reason))) => {
                    format!("{head} close {code} {}", json_string(reason))
                }
            }
        }
    }
}

fn seconds(at: Duration) -> String {
    format!("{}.{:06}", at.as_secs(), at.subsec_micros())
}

fn json_string(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// The bytes of lowercase or uppercase hex text, or `None` if it is not hex.
pub(crate) fn unhex(text: &str) -> Option<Vec<u8>> {
    fn digit(byte: u8) -> Option<u8> {
        match byte {
            b'0'..=b'9' => Some(byte - b'0'),
            b'a'..=b'f' => Some(byte - b'a' + 10),
            b'A'..=b'F' => Some(byte - b'A' + 10),
            _ => None,
        }
    }
    let bytes = text.as_bytes();
    if bytes.len() % 2 != 0 {
        return None;
    }
    bytes
        .chunks_exact(2)
        .map(|pair| match pair {
            [high, low] => Some(digit(*high)? << 4 | digit(*low)?),
            _ => None,
        })
        .collect()
}

/// Reads a capture of `protocol`: its records in order, or the first problem with
/// its line number.
pub(crate) fn read(input: impl BufRead, protocol: &str) -> Result<Vec<Record>, CaptureError> {
    let mut reader = LineReader { input, line: 0 };
    let header = reader.next_line()?.ok_or(CaptureError {
        line: 1,
        problem: Problem::Empty,
    })?;
    parse_header(&header, protocol).map_err(|problem| CaptureError { line: 1, problem })?;
    let mut records = Vec::new();
    let mut last = Duration::ZERO;
    while let Some(text) = reader.next_line()? {
        let line = reader.line;
        let record = parse_record(&text).map_err(|problem| CaptureError { line, problem })?;
        if record.at() < last {
            return Err(CaptureError {
                line,
                problem: Problem::Backwards,
            });
        }
        last = record.at();
        records.push(record);
    }
    Ok(records)
}

struct LineReader<R> {
    input: R,
    line: usize,
}

impl<R: BufRead> LineReader<R> {
    /// The next line without its `\n` (and `\r`), reading at most
    /// [`MAX_LINE_LEN`] + 1 bytes of it.
    fn next_line(&mut self) -> Result<Option<String>, CaptureError> {
        self.line += 1;
        let line = self.line;
        let mut buffer = Vec::new();
        let limit = u64::try_from(MAX_LINE_LEN + 2).unwrap_or(u64::MAX);
        let read = (&mut self.input)
            .take(limit)
            .read_until(b'\n', &mut buffer)
            .map_err(|error| CaptureError {
                line,
                problem: Problem::Io(error),
            })?;
        if read == 0 {
            return Ok(None);
        }
        if buffer.last() == Some(&b'\n') {
            buffer.pop();
            if buffer.last() == Some(&b'\r') {
                buffer.pop();
            }
        }
        if buffer.len() > MAX_LINE_LEN {
            return Err(CaptureError {
                line,
                problem: Problem::TooLong,
            });
        }
        String::from_utf8(buffer)
            .map(Some)
            .map_err(|_| CaptureError {
                line,
                problem: Problem::NotUtf8,
            })
    }
}

use std::io::Read as _;

fn parse_header(text: &str, protocol: &str) -> Result<(), Problem> {
    let mut fields = text.split(' ');
    if fields.next() != Some(MAGIC) {
        return Err(Problem::BadHeader);
    }
    let version = fields.next().ok_or(Problem::BadHeader)?;
    if version != VERSION.to_string() {
        return Err(Problem::Version(cut(version)));
    }
    let found = fields.next().ok_or(Problem::BadHeader)?;
    if found != protocol {
        return Err(Problem::Protocol {
            found: cut(found),
            expected: protocol.to_owned(),
        });
    }
    match fields.next() {
        None => Ok(()),
        Some(rest) => Err(Problem::Trailing(cut(rest))),
    }
}

/// A field's text for an error message: at most 64 bytes of it.
fn cut(text: &str) -> String {
    let mut end = text.len().min(64);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or_default().to_owned()
}

fn parse_record(text: &str) -> Result<Record, Problem> {
    let (at, rest) = split_field(text, "time")?;
    let at = parse_seconds(at)?;
    if rest == Some("time") {
        return Ok(Record::Time(at));
    }
    let (conn, rest) = split_field(
        rest.ok_or(Problem::Missing("conversation"))?,
        "conversation",
    )?;
    let conn = conn
        .parse::<u64>()
        .ok()
        .filter(|_| conn.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| Problem::Bad {
            field: "conversation",
            text: cut(conn),
        })?;
    let (direction, rest) = split_field(rest.ok_or(Problem::Missing("direction"))?, "direction")?;
    let direction = match direction {
        "c>s" => Direction::ToServer,
        "s>c" => Direction::ToClient,
        other => {
            return Err(Problem::Bad {
                field: "direction",
                text: cut(other),
            });
        }
    };
    let (kind, data) = split_field(rest.ok_or(Problem::Missing("kind"))?, "kind")?;
    let frame = |data| {
        Ok(Record::Frame(Frame {
            conn,
            at,
            direction,
            data,
        }))
    };
    match (kind, data) {
        ("open", None) => frame(FrameData::Open),
        ("text", Some(data)) => frame(FrameData::Text(parse_json_string(data, "text")?)),
        ("text", None) => Err(Problem::Missing("text")),
        ("binary", None) => frame(FrameData::Binary(Vec::new())),
        ("binary", Some(data)) => {
            let bytes = unhex(data).ok_or_else(|| Problem::Bad {
                field: "hex",
                text: cut(data),
            })?;
            frame(FrameData::Binary(bytes))
        }
        ("close", None) => frame(FrameData::Close(None)),
        ("close", Some(data)) => {
            let (code, reason) = split_field(data, "close code")?;
            let code = code
                .parse::<u16>()
                .ok()
                .filter(|_| code.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| Problem::Bad {
                    field: "close code",
                    text: cut(code),
                })?;
            let reason = parse_json_string(
                reason.ok_or(Problem::Missing("close reason"))?,
                "close reason",
            )?;
            frame(FrameData::Close(Some((code, reason))))
        }
        ("flag", Some(data)) => Ok(Record::Flag {
            at,
            conn,
            direction,
            error: parse_json_string(data, "flag")?,
        }),
        ("flag", None) => Err(Problem::Missing("flag")),
        ("open", Some(rest)) => Err(Problem::Trailing(cut(rest))),
        (other, _) => Err(Problem::Bad {
            field: "kind",
            text: cut(other),
        }),
    }
}

/// Splits off the first space-separated field, which must not be empty.
fn split_field<'a>(
    text: &'a str,
    field: &'static str,
) -> Result<(&'a str, Option<&'a str>), Problem> {
    let (head, rest) = match text.split_once(' ') {
        Some((head, rest)) => (head, Some(rest)),
        None => (text, None),
    };
    if head.is_empty() {
        return Err(Problem::Missing(field));
    }
    Ok((head, rest))
}

/// `SECONDS.MICROS` with exactly six decimals.
fn parse_seconds(text: &str) -> Result<Duration, Problem> {
    let bad = || Problem::Bad {
        field: "time",
        text: cut(text),
    };
    let (secs, micros) = text.split_once('.').ok_or_else(bad)?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(secs) || micros.len() != 6 || !digits(micros) {
        return Err(bad());
    }
    let secs = secs.parse::<u64>().map_err(|_| bad())?;
    let micros = micros.parse::<u32>().map_err(|_| bad())?;
    Ok(Duration::new(secs, micros * 1_000))
}

/// One JSON string, and nothing after it.
fn parse_json_string(text: &str, field: &'static str) -> Result<String, Problem> {
    serde_json::from_str::<String>(text).map_err(|_| Problem::Bad {
        field,
        text: cut(text),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(at_micros: u64, conn: u64, direction: Direction, data: FrameData) -> Record {
        Record::Frame(Frame {
            conn,
            at: Duration::from_micros(at_micros),
            direction,
            data,
        })
    }

    fn sample() -> Vec<Record> {
        vec![
            frame(0, 1, Direction::ToServer, FrameData::Open),
            frame(
                1_250,
                1,
                Direction::ToClient,
                FrameData::Text("{\"op\":0}\n\u{1}é".into()),
            ),
            frame(
                2_500,
                1,
                Direction::ToServer,
                FrameData::Binary(vec![0x0a, 0xff, 0]),
            ),
            frame(2_500, 1, Direction::ToServer, FrameData::Binary(Vec::new())),
            frame(
                3_000,
                1,
                Direction::ToServer,
                FrameData::Close(Some((1000, "bye \"now\"".into()))),
            ),
            frame(4_000, 2, Direction::ToClient, FrameData::Close(None)),
            Record::Flag {
                at: Duration::from_micros(4_100),
                conn: 3,
                direction: Direction::ToServer,
                error: "too big".into(),
            },
            Record::Time(Duration::from_micros(1_450_000)),
        ]
    }

    fn write(records: &[Record]) -> String {
        let mut out = Vec::new();
        let mut writer = CaptureWriter::new(&mut out, "litebridge").unwrap();
        for record in records {
            writer.write(record).unwrap();
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_format_is_as_documented_and_reads_back() {
        let text = write(&sample());
        assert_eq!(
            text,
            "wirescope-capture 1 litebridge\n\
             0.000000 1 c>s open\n\
             0.001250 1 s>c text \"{\\\"op\\\":0}\\n\\u0001é\"\n\
             0.002500 1 c>s binary 0aff00\n\
             0.002500 1 c>s binary\n\
             0.003000 1 c>s close 1000 \"bye \\\"now\\\"\"\n\
             0.004000 2 s>c close\n\
             0.004100 3 c>s flag \"too big\"\n\
             1.450000 time\n"
        );
        assert_eq!(read(text.as_bytes(), "litebridge").unwrap(), sample());
    }

    fn error(text: &str) -> String {
        read(text.as_bytes(), "litebridge").unwrap_err().to_string()
    }

    #[test]
    fn hostile_captures_get_a_line_numbered_error() {
        let head = "wirescope-capture 1 litebridge\n";
        assert_eq!(error(""), "capture line 1: the file is empty");
        assert_eq!(
            error("pcap\n"),
            "capture line 1: expected the header `wirescope-capture 1 PROTOCOL`"
        );
        assert_eq!(
            error("wirescope-capture 2 litebridge\n"),
            "capture line 1: format version \"2\", this wirescope reads 1"
        );
        assert_eq!(
            error("wirescope-capture 1 tachyon\n"),
            "capture line 1: a capture of \"tachyon\", not \"litebridge\""
        );
        let cases = [
            ("0.1 1 c>s open", "bad time: \"0.1\""),
            ("-1.000000 1 c>s open", "bad time: \"-1.000000\""),
            ("0.000000", "missing the conversation"),
            ("0.000000 +1 c>s open", "bad conversation: \"+1\""),
            ("0.000000 1 c<s open", "bad direction: \"c<s\""),
            ("0.000000 1 c>s", "missing the kind"),
            ("0.000000 1 c>s ping", "bad kind: \"ping\""),
            (
                "0.000000 1 c>s open now",
                "unexpected \"now\" after the last field",
            ),
            ("0.000000 1 c>s text", "missing the text"),
            ("0.000000 1 c>s text \"a\" x", "bad text: \"\\\"a\\\" x\""),
            ("0.000000 1 c>s binary 0g", "bad hex: \"0g\""),
            ("0.000000 1 c>s binary abc", "bad hex: \"abc\""),
            (
                "0.000000 1 c>s close 70000 \"\"",
                "bad close code: \"70000\"",
            ),
            ("0.000000 1 c>s close 1000", "missing the close reason"),
            ("0.000000 1 c>s  open", "missing the kind"),
        ];
        for (line, problem) in cases {
            assert_eq!(
                error(&format!("{head}{line}\n")),
                format!("capture line 2: {problem}"),
                "{line}"
            );
        }
        assert_eq!(
            error(&format!("{head}1.000000 time\n0.500000 1 c>s open\n")),
            "capture line 3: the time is earlier than the line before's"
        );
        let long = format!(
            "{head}0.000000 1 c>s binary {}\n",
            "00".repeat(MAX_LINE_LEN)
        );
        assert_eq!(error(&long), "capture line 2: longer than 6291712 bytes");
        let mut not_utf8 = head.as_bytes().to_vec();
        not_utf8.extend_from_slice(b"0.000000 1 c>s text \"\xff\"\n");
        assert_eq!(
            read(&not_utf8[..], "litebridge").unwrap_err().to_string(),
            "capture line 2: not UTF-8"
        );
    }
}
