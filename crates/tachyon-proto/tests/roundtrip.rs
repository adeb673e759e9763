//! Property: every message the exported generators can build (the proptest
//! strategies of feature `proptest`, the `Arbitrary` implementations of feature
//! `arbitrary`) survives `decode(encode(m)) == m`, passes `validate`, and encodes to
//! a frame the official `compiled.json` accepts.

mod support;

use proptest::test_runner::{Config, TestCaseError, TestRunner};
use tachyon_proto::{decode, encode, strategy};

/// Cases per message type: 164 types, so the whole run stays within seconds.
const CASES: u32 = 24;

#[test]
fn every_message_round_trips_and_matches_its_schema() {
    let validator = support::shared_dir().map(|shared| support::compiled_validator(&shared));
    for (name, strategy) in strategy::all() {
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

/// Byte strings turned into commands by the `Arbitrary` implementations.
const ARBITRARY_INPUTS: u64 = 3000;

#[test]
fn every_arbitrary_command_round_trips_and_matches_its_schema() {
    use arbitrary::{Arbitrary, Unstructured};
    use rand::{Rng, SeedableRng};

    let validator = support::shared_dir().map(|shared| support::compiled_validator(&shared));
    let mut rng = rand::rngs::StdRng::seed_from_u64(13);
    let mut built = 0;
    for _ in 0..ARBITRARY_INPUTS {
        let mut bytes = vec![0_u8; 1024];
        rng.fill_bytes(&mut bytes);
        let Ok(command) = tachyon_proto::Command::arbitrary(&mut Unstructured::new(&bytes)) else {
            continue;
        };
        built += 1;
        command
            .validate()
            .unwrap_or_else(|e| panic!("built an invalid value: {e}: {command:?}"));
        let frame = encode(&command);
        assert_eq!(decode(&frame).as_ref(), Ok(&command), "{frame}");
        if let Some(validator) = &validator {
            let value: serde_json::Value = serde_json::from_str(&frame).unwrap();
            if let Some(error) = validator.iter_errors(&value).next() {
                panic!("schema refuses {frame}: {error}");
            }
        }
    }
    // Only a unique array that runs out of input refuses to be built.
    assert!(built > ARBITRARY_INPUTS * 9 / 10, "built {built}");
}
