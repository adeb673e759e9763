//! Reading frames one per line from a file or stdin.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;

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
