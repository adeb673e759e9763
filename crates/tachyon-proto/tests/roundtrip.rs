//! Property: every message the generated strategies can build survives
//! `decode(encode(m)) == m`, passes `validate`, and encodes to a frame the official
//! `compiled.json` accepts.

#[path = "support/strategies.rs"]
mod strategies;
mod support;

use proptest::test_runner::{Config, TestCaseError, TestRunner};
use tachyon_proto::{decode, encode};

/// Cases per message type: 164 types, so the whole run stays within seconds.
const CASES: u32 = 24;

#[test]
fn every_message_round_trips_and_matches_its_schema() {
    let validator = support::shared_dir().map(|shared| support::compiled_validator(&shared));
    for (name, strategy) in strategies::all() {
        let mut runner = TestRunner::new(Config {
            cases: CASES,
            failure_persistence: None,
            ..Config::default()
        });
        let outcome = runner.run(&strategy, |command| {
            command
                .validate()
                .map_err(|e| TestCaseError::fail(format!("generated an invalid value: {e}")))?;
            let frame = encode(&command);
            let decoded =
                decode(&frame).map_err(|e| TestCaseError::fail(format!("{e}: {frame}")))?;
            if decoded != command {
                return Err(TestCaseError::fail(format!(
                    "changed by a round trip: {frame}"
                )));
            }
            if let Some(validator) = &validator {
                let value: serde_json::Value = serde_json::from_str(&frame).unwrap();
                if let Some(error) = validator.iter_errors(&value).next() {
                    return Err(TestCaseError::fail(format!(
                        "schema refuses {frame}: {error}"
                    )));
                }
            }
            Ok(())
        });
        if let Err(error) = outcome {
            panic!("{name}: {error}");
        }
    }
}
