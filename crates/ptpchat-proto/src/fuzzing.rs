//! `arbitrary::Arbitrary` for the two message types that cannot derive it: CONNECT
//! endpoints (no flow info or scope id, which the wire form cannot carry) and RELAY
//! data (a JSON object, never `null`). Every other message type derives it.

use std::net::IpAddr;

use arbitrary::{Arbitrary, Result, Unstructured};

use crate::message::{Endpoint, RawJson};
use crate::sample;

impl<'a> Arbitrary<'a> for Endpoint {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(sample::endpoint(
            u.arbitrary()?,
            u.arbitrary::<IpAddr>()?,
            u.arbitrary()?,
        ))
    }
}

impl<'a> Arbitrary<'a> for RawJson {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let numbers: Vec<i64> = u.arbitrary()?;
        let text: &str = u.arbitrary()?;
        sample::relay_data(&numbers, text).ok_or(arbitrary::Error::IncorrectFormat)
    }
}
