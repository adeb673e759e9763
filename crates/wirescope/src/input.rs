//! Reading frames from a file or stdin: one per line, or a stream of JSON values.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use serde_json::value::RawValue;

/// Calls `handle` with each non-blank line of `file` (stdin when `None`), numbered
/// from 1; returns whether every call succeeded.
pub(crate) fn for_each_line(
    file: Option<&Path>,
    mut handle: impl FnMut(&str) -> Result<String, String>,
) -> Result<bool, Box<dyn std::error::Error>> {
    let reader: Box<dyn BufRead> = match file {
        Some(path) => Box::new(BufReader::new(File::open(path)?)),
        None => Box::new(io::stdin().lock()),
    };
    let mut all_ok = true;
    for (index, line) in reader.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        match handle(&line) {
            Ok(text) => println!("{}: {text}", index + 1),
            Err(text) => {
                all_ok = false;
                println!("{}: error: {text}", index + 1);
            }
        }
    }
    Ok(all_ok)
}

/// Calls `handle` with each JSON value of `file` (stdin when `None`), however it is
/// laid out (one per line, pretty-printed, several per line), numbered by the line
/// it starts on; returns whether every call succeeded. Text that is not JSON ends
/// the stream: there is no telling where the next value would start.
pub(crate) fn for_each_value(
    file: Option<&Path>,
    mut handle: impl FnMut(&str) -> Result<String, String>,
) -> Result<bool, Box<dyn std::error::Error>> {
    let mut text = String::new();
    match file {
        Some(path) => File::open(path)?.read_to_string(&mut text)?,
        None => io::stdin().lock().read_to_string(&mut text)?,
    };
    let mut all_ok = true;
    let values = serde_json::Deserializer::from_str(&text).into_iter::<&RawValue>();
    for value in values {
        let value = match value {
            Ok(value) => value,
            Err(error) => {
                println!("{}: error: not JSON: {error}", error.line());
                return Ok(false);
            }
        };
        // The value borrows from `text`: its offset there gives its line.
        let start = (value.get().as_ptr() as usize).saturating_sub(text.as_ptr() as usize);
        let line = 1 + text.as_bytes()[..start.min(text.len())]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        match handle(value.get()) {
            Ok(out) => println!("{line}: {out}"),
            Err(out) => {
                all_ok = false;
                println!("{line}: error: {out}");
            }
        }
    }
    Ok(all_ok)
}
