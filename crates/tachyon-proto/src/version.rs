//! WebSocket subprotocol negotiation: the `v{major}[.{minor}].tachyon` names in
//! `Sec-WebSocket-Protocol`, and the choice of one on each side.
//!
//! The client offers every version it speaks; the server picks the highest one
//! both speak. Minor versions only add optional extensions, so a server accepts a
//! client's higher minor of a major it supports and answers with that subprotocol
//! name, speaking its own minor (connection.md, "Tachyon version negotiation").

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// A protocol version, `v{major}.{minor}`; `v1` is `v1.0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Version {
    /// Incompatible revisions.
    pub major: u32,
    /// Compatible extensions of a major version.
    pub minor: u32,
}

impl Version {
    /// The only version there is while the protocol is in active development.
    pub const V0: Version = Version::new(0, 0);

    /// `v{major}.{minor}`.
    pub const fn new(major: u32, minor: u32) -> Self {
        Version { major, minor }
    }

    /// Parses a subprotocol name, `v{major}[.{minor}].tachyon`.
    pub fn from_subprotocol(name: &str) -> Result<Self, VersionError> {
        let version = name
            .strip_suffix(".tachyon")
            .ok_or_else(|| VersionError::NotTachyon(name.to_owned()))?;
        version
            .parse()
            .map_err(|_| VersionError::Malformed(name.to_owned()))
    }

    /// The subprotocol name, e.g. `v1.2.tachyon` (a zero minor is written too: the
    /// canonical form; `v1.tachyon` parses to the same version).
    pub fn subprotocol(self) -> String {
        format!("{self}.tachyon")
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}.{}", self.major, self.minor)
    }
}

impl FromStr for Version {
    type Err = VersionError;

    /// Parses `v{major}` or `v{major}.{minor}`: decimal digits only, no sign, no
    /// leading zeros (so that every version has one spelling), no empty parts.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let malformed = || VersionError::Malformed(text.to_owned());
        let digits = text.strip_prefix('v').ok_or_else(malformed)?;
        let (major, minor) = match digits.split_once('.') {
            Some((major, minor)) => (major, Some(minor)),
            None => (digits, None),
        };
        let number = |part: &str| -> Option<u32> {
            let canonical = !part.is_empty()
                && part.bytes().all(|b| b.is_ascii_digit())
                && (part == "0" || !part.starts_with('0'));
            canonical.then(|| part.parse().ok()).flatten()
        };
        let major = number(major).ok_or_else(malformed)?;
        let minor = match minor {
            Some(minor) => number(minor).ok_or_else(malformed)?,
            None => 0,
        };
        Ok(Version { major, minor })
    }
}

/// A subprotocol that is not a Tachyon version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    /// The name does not end in `.tachyon`.
    #[error("{0:?} is not a tachyon subprotocol")]
    NotTachyon(String),
    /// The version part is not `v{major}[.{minor}]`.
    #[error("{0:?} is not of the form v{{major}}[.{{minor}}].tachyon")]
    Malformed(String),
    /// The server chose a version the client did not offer.
    #[error("the server chose {0}, which was not offered")]
    NotOffered(Version),
}

/// Why the server refuses the connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NegotiationError {
    /// The client offered no Tachyon subprotocol at all.
    #[error("the client offered no tachyon version")]
    NothingOffered,
    /// None of the offered versions has a major version the server supports.
    #[error("no common tachyon version (offered {})", list(offered))]
    NoCommonVersion {
        /// The versions the client offered, as parsed.
        offered: Vec<Version>,
    },
}

/// `v1.0, v0.2` for the errors.
fn list(versions: &[Version]) -> String {
    let names: Vec<String> = versions.iter().map(Version::to_string).collect();
    names.join(", ")
}

/// The server's choice: the subprotocol name to echo in the handshake response, and
/// the version it will speak.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// The offered subprotocol, verbatim, for `Sec-WebSocket-Protocol`.
    pub subprotocol: String,
    /// The version the client offered with it.
    pub offered: Version,
    /// The version the server speaks: the highest of its own with that major that
    /// does not exceed the offered minor.
    pub speaking: Version,
}

/// Server side: picks from the client's `offered` subprotocols (each entry of the
/// comma-separated `Sec-WebSocket-Protocol` header) the highest version the server
/// can speak given its `supported` versions.
///
/// An offer is acceptable when the server supports a version of the same major
/// with a minor no higher than the offer's: minors only add optional extensions,
/// so the server speaks its own minor under the client's name. Entries that are not
/// Tachyon subprotocols, or are malformed, are ignored, as the handshake ignores
/// subprotocols it does not know.
pub fn negotiate<'a>(
    offered: impl IntoIterator<Item = &'a str>,
    supported: &[Version],
) -> Result<Negotiated, NegotiationError> {
    let mut parsed = Vec::new();
    let mut best: Option<Negotiated> = None;
    for name in offered {
        let name = name.trim();
        let Ok(version) = Version::from_subprotocol(name) else {
            continue;
        };
        parsed.push(version);
        let Some(speaking) = supported
            .iter()
            .copied()
            .filter(|s| s.major == version.major && s.minor <= version.minor)
            .max()
        else {
            continue;
        };
        let better = match &best {
            None => true,
            Some(current) => match speaking.cmp(&current.speaking) {
                Ordering::Greater => true,
                // The same version spoken: prefer the offer closest to it.
                Ordering::Equal => version < current.offered,
                Ordering::Less => false,
            },
        };
        if better {
            best = Some(Negotiated {
                subprotocol: name.to_owned(),
                offered: version,
                speaking,
            });
        }
    }
    match best {
        Some(negotiated) => Ok(negotiated),
        None if parsed.is_empty() => Err(NegotiationError::NothingOffered),
        None => Err(NegotiationError::NoCommonVersion { offered: parsed }),
    }
}

/// Client side: the `Sec-WebSocket-Protocol` header value offering `versions`,
/// highest first, e.g. `v1.2.tachyon, v0.0.tachyon`.
pub fn offer_header(versions: &[Version]) -> String {
    let mut versions = versions.to_vec();
    versions.sort_unstable_by(|a, b| b.cmp(a));
    versions.dedup();
    versions
        .iter()
        .map(|v| v.subprotocol())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Client side: the version the server chose, from the subprotocol it answered
/// with; an error if it is not one the client offered (the client must then close
/// the connection).
pub fn accepted(answer: &str, offered: &[Version]) -> Result<Version, VersionError> {
    let version = Version::from_subprotocol(answer.trim())?;
    if offered.contains(&version) {
        Ok(version)
    } else {
        Err(VersionError::NotOffered(version))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_versions_with_an_optional_minor() {
        assert_eq!("v0".parse(), Ok(Version::new(0, 0)));
        assert_eq!("v1.2".parse(), Ok(Version::new(1, 2)));
        assert_eq!("v10.0".parse(), Ok(Version::new(10, 0)));
        assert_eq!(Version::from_subprotocol("v0.tachyon"), Ok(Version::V0));
        assert_eq!(
            Version::from_subprotocol("v3.14.tachyon"),
            Ok(Version::new(3, 14))
        );
    }

    #[test]
    fn refuses_malformed_versions() {
        for bad in [
            "",
            "v",
            "0",
            "1.2",
            "V1",
            "v1.",
            "v.1",
            "v1.2.3",
            "v-1",
            "v+1",
            "v01",
            "v1.02",
            "v1 ",
            " v1",
            "va",
            "v1.x",
            "v99999999999",
        ] {
            assert!(bad.parse::<Version>().is_err(), "{bad:?}");
        }
        assert_eq!(
            Version::from_subprotocol("v1"),
            Err(VersionError::NotTachyon("v1".into()))
        );
        assert_eq!(
            Version::from_subprotocol("v1.tachyon.tachyon"),
            Err(VersionError::Malformed("v1.tachyon.tachyon".into()))
        );
        assert_eq!(
            Version::from_subprotocol("chat"),
            Err(VersionError::NotTachyon("chat".into()))
        );
    }

    #[test]
    fn names_are_canonical() {
        assert_eq!(Version::new(1, 0).subprotocol(), "v1.0.tachyon");
        assert_eq!(Version::new(2, 5).to_string(), "v2.5");
        assert_eq!(
            offer_header(&[Version::V0, Version::new(1, 2), Version::new(1, 2)]),
            "v1.2.tachyon, v0.0.tachyon"
        );
        assert_eq!(offer_header(&[]), "");
    }

    #[test]
    fn the_highest_common_version_wins() {
        let supported = [Version::V0, Version::new(1, 0), Version::new(1, 1)];
        let chosen = negotiate(["v0.tachyon", "v1.1.tachyon", "v1.tachyon"], &supported).unwrap();
        assert_eq!(chosen.subprotocol, "v1.1.tachyon");
        assert_eq!(chosen.speaking, Version::new(1, 1));
        // Order of the offer does not matter.
        let chosen = negotiate(["v1.tachyon", "v0.tachyon"], &supported).unwrap();
        assert_eq!(chosen.speaking, Version::new(1, 0));
        assert_eq!(chosen.subprotocol, "v1.tachyon");
    }

    #[test]
    fn a_higher_minor_of_a_supported_major_is_accepted() {
        let chosen = negotiate(["v0.7.tachyon"], &[Version::V0]).unwrap();
        assert_eq!(chosen.subprotocol, "v0.7.tachyon");
        assert_eq!(chosen.offered, Version::new(0, 7));
        assert_eq!(chosen.speaking, Version::V0);
        // The server speaks the highest of its minors that the client knows.
        let supported = [Version::new(1, 0), Version::new(1, 3), Version::new(1, 5)];
        assert_eq!(
            negotiate(["v1.4.tachyon"], &supported).unwrap().speaking,
            Version::new(1, 3)
        );
        // Of two offers the server would speak alike, the closer one is echoed.
        let chosen = negotiate(["v1.9.tachyon", "v1.5.tachyon"], &supported).unwrap();
        assert_eq!(chosen.subprotocol, "v1.5.tachyon");
    }

    #[test]
    fn a_lower_minor_than_any_supported_is_refused() {
        assert_eq!(
            negotiate(["v1.1.tachyon"], &[Version::new(1, 2)]),
            Err(NegotiationError::NoCommonVersion {
                offered: vec![Version::new(1, 1)]
            })
        );
    }

    #[test]
    fn another_major_is_refused() {
        let refused = negotiate(["v1.tachyon", "v2.0.tachyon"], &[Version::V0]);
        assert_eq!(
            refused,
            Err(NegotiationError::NoCommonVersion {
                offered: vec![Version::new(1, 0), Version::new(2, 0)]
            })
        );
        assert_eq!(
            refused.unwrap_err().to_string(),
            "no common tachyon version (offered v1.0, v2.0)"
        );
    }

    #[test]
    fn offers_that_are_not_tachyon_are_ignored() {
        assert_eq!(
            negotiate(["chat", "v0.tachyon ", "vx.tachyon"], &[Version::V0])
                .unwrap()
                .subprotocol,
            "v0.tachyon"
        );
        assert_eq!(
            negotiate(["chat", "v01.tachyon"], &[Version::V0]),
            Err(NegotiationError::NothingOffered)
        );
        assert_eq!(
            negotiate([], &[Version::V0]),
            Err(NegotiationError::NothingOffered)
        );
    }

    #[test]
    fn the_client_checks_the_answer() {
        let offered = [Version::new(1, 2), Version::V0];
        assert_eq!(accepted("v1.2.tachyon", &offered), Ok(Version::new(1, 2)));
        assert_eq!(accepted("v0.tachyon", &offered), Ok(Version::V0));
        assert_eq!(
            accepted("v1.1.tachyon", &offered),
            Err(VersionError::NotOffered(Version::new(1, 1)))
        );
        assert!(accepted("chat", &offered).is_err());
    }
}
