//! The official examples and schemas against the codec.

mod support;

use serde_json::Value;
use tachyon_proto::{decode, encode};

#[test]
fn probe() {
    let Some(shared) = support::shared_dir() else {
        return;
    };
    let validator = support::compiled_validator(&shared);
    for (name, text) in support::examples(&shared) {
        let value: Value = serde_json::from_str(&text).unwrap();
        let schema_ok = validator.is_valid(&value);
        match decode(&text) {
            Ok(command) => {
                let back: Value = serde_json::from_str(&encode(&command)).unwrap();
                println!(
                    "{name}: schema={schema_ok} decoded roundtrip={}",
                    back == value
                );
            }
            Err(e) => println!("{name}: schema={schema_ok} ERR {e}"),
        }
    }
}
