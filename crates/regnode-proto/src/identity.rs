//! Who signs what: self-signed Ed25519 X.509 certificates, their fingerprints,
//! packet signatures behind the [`Signer`] and [`Verifier`] traits, and the 6-digit
//! comparison code.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
use rand::Rng;
use sha2::{Digest, Sha256};
use x509_cert::certificate::{Certificate as X509, TbsCertificate, Version};
use x509_cert::der::asn1::{BitString, UtcTime};
use x509_cert::der::oid::db::rfc8410::ID_ED_25519;
use x509_cert::der::{Decode, Encode};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::time::{Time, Validity};

use crate::packet::Fingerprint;

/// The length of an Ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;

/// Why a signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The signature has the wrong length for the scheme.
    #[error("signature of {len} bytes; the scheme's are {expected}")]
    Length {
        /// The signature's length.
        len: usize,
        /// The scheme's signature length.
        expected: usize,
    },
    /// The signature does not match the message and key.
    #[error("signature does not verify")]
    Mismatch,
}

/// Why a certificate was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    /// The bytes are not one DER-encoded X.509 certificate.
    #[error("not a DER X.509 certificate: {0}")]
    NotDer(String),
    /// The certificate, its key or its signature is not Ed25519.
    #[error("{0} is not Ed25519")]
    NotEd25519(&'static str),
    /// The issuer is not the subject.
    #[error("issuer differs from subject: not self-signed")]
    NotSelfIssued,
    /// The public key is not a valid Ed25519 point.
    #[error("public key is not a valid Ed25519 key")]
    BadKey,
    /// The certificate's signature does not verify with its own key.
    #[error("self-signature does not verify")]
    BadSelfSignature,
}

/// Signs packets: the scheme's private half.
///
/// The machines sign `timestamp || payload` (see [`signed_message`](crate::signed_message))
/// with it; an application can plug another scheme by implementing this and
/// [`Verifier`] and [`CertificateScheme`].
pub trait Signer: Send {
    /// The signature over `message`.
    fn sign(&self, message: &[u8]) -> Vec<u8>;
    /// The certificate that proves the signer's public key, DER.
    fn certificate(&self) -> &[u8];
    /// The fingerprint of [`certificate`](Signer::certificate).
    fn fingerprint(&self) -> Fingerprint;
}

/// Checks packet signatures: the scheme's public half.
pub trait Verifier: Send {
    /// Whether `signature` is the signer's over `message`.
    fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), SignatureError>;
}

/// Turns a registered certificate into the [`Verifier`] of its holder's packets.
pub trait CertificateScheme: Send {
    /// Parses and checks `der`.
    fn verifier(&self, der: &[u8]) -> Result<Box<dyn Verifier>, CertificateError>;
}

/// The SHA-256 digest of `der`: the fingerprint that names a client.
pub fn fingerprint(der: &[u8]) -> Fingerprint {
    Fingerprint(Sha256::digest(der).into())
}

/// A parsed, checked, self-signed Ed25519 X.509 certificate.
#[derive(Clone, PartialEq, Eq)]
pub struct Certificate {
    der: Vec<u8>,
    key: VerifyingKey,
    fingerprint: Fingerprint,
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("fingerprint", &self.fingerprint)
            .field("der_len", &self.der.len())
            .finish()
    }
}

impl Certificate {
    /// Parses `der` and checks that it is self-issued, carries an Ed25519 key and is
    /// signed by that key.
    pub fn from_der(der: &[u8]) -> Result<Certificate, CertificateError> {
        let key = check_self_signed(der)?;
        Ok(Certificate {
            der: der.to_vec(),
            key,
            fingerprint: fingerprint(der),
        })
    }

    /// The certificate's DER.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The SHA-256 digest of the DER.
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }

    /// The Ed25519 public key.
    pub fn public_key(&self) -> &[u8; 32] {
        self.key.as_bytes()
    }

    /// The verifier of packets signed by this certificate's holder.
    pub fn verifier(&self) -> Ed25519Verifier {
        Ed25519Verifier(self.key)
    }
}

/// Checks a self-signed Ed25519 certificate and returns its key, allocating only to
/// re-encode the signed part.
fn check_self_signed(der: &[u8]) -> Result<VerifyingKey, CertificateError> {
    let cert = X509::from_der(der).map_err(|error| CertificateError::NotDer(error.to_string()))?;
    let tbs = &cert.tbs_certificate;
    if cert.signature_algorithm.oid != ID_ED_25519 || tbs.signature.oid != ID_ED_25519 {
        return Err(CertificateError::NotEd25519("the signature algorithm"));
    }
    if tbs.subject_public_key_info.algorithm.oid != ID_ED_25519 {
        return Err(CertificateError::NotEd25519("the public key"));
    }
    if tbs.issuer != tbs.subject {
        return Err(CertificateError::NotSelfIssued);
    }
    let key_bytes: &[u8; 32] = tbs
        .subject_public_key_info
        .subject_public_key
        .as_bytes()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or(CertificateError::BadKey)?;
    let key = VerifyingKey::from_bytes(key_bytes).map_err(|_| CertificateError::BadKey)?;
    let signature = cert
        .signature
        .as_bytes()
        .and_then(|bytes| Signature::from_slice(bytes).ok())
        .ok_or(CertificateError::BadSelfSignature)?;
    let signed = tbs
        .to_der()
        .map_err(|error| CertificateError::NotDer(error.to_string()))?;
    key.verify_strict(&signed, &signature)
        .map_err(|_| CertificateError::BadSelfSignature)?;
    Ok(key)
}

/// Checks Ed25519 signatures with one public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ed25519Verifier(pub VerifyingKey);

impl Verifier for Ed25519Verifier {
    fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), SignatureError> {
        let signature = Signature::from_slice(signature).map_err(|_| SignatureError::Length {
            len: signature.len(),
            expected: SIGNATURE_LEN,
        })?;
        self.0
            .verify_strict(message, &signature)
            .map_err(|_| SignatureError::Mismatch)
    }
}

/// The default scheme: self-signed X.509 certificates with Ed25519 keys.
#[derive(Debug, Clone, Copy, Default)]
pub struct X509Ed25519;

impl CertificateScheme for X509Ed25519 {
    fn verifier(&self, der: &[u8]) -> Result<Box<dyn Verifier>, CertificateError> {
        Ok(Box::new(Ed25519Verifier(check_self_signed(der)?)))
    }
}

/// One's own identity: an Ed25519 key and the self-signed certificate that carries
/// its public half.
pub struct Identity {
    key: SigningKey,
    certificate: Certificate,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("certificate", &self.certificate)
            .finish_non_exhaustive()
    }
}

impl Identity {
    /// A new key drawn from `rng` and a certificate for it, self-signed, issued to
    /// `common_name` and valid for ten years from `not_before` (Unix time).
    pub fn generate(
        rng: &mut impl Rng,
        common_name: &str,
        not_before: Duration,
    ) -> Result<Identity, CertificateError> {
        let mut secret = [0u8; 32];
        rng.fill_bytes(&mut secret);
        let key = SigningKey::from_bytes(&secret);
        let der = self_signed_certificate(&key, common_name, not_before)?;
        Identity::from_parts(key, &der)
    }

    /// An identity from a key and its certificate, which must carry the key's public
    /// half and be signed by it.
    pub fn from_parts(key: SigningKey, certificate: &[u8]) -> Result<Identity, CertificateError> {
        let certificate = Certificate::from_der(certificate)?;
        if certificate.key != key.verifying_key() {
            return Err(CertificateError::BadKey);
        }
        Ok(Identity { key, certificate })
    }

    /// The certificate, parsed.
    pub fn certificate_info(&self) -> &Certificate {
        &self.certificate
    }

    /// The Ed25519 public key.
    pub fn public_key(&self) -> &[u8; 32] {
        self.certificate.public_key()
    }

    /// The Ed25519 secret key, for storing the identity: [`from_parts`](Identity::from_parts)
    /// with it and [`certificate`](Signer::certificate) gives the same identity back.
    pub fn secret_key(&self) -> &SigningKey {
        &self.key
    }
}

impl Signer for Identity {
    fn sign(&self, message: &[u8]) -> Vec<u8> {
        use ed25519_dalek::Signer as _;
        self.key.sign(message).to_bytes().to_vec()
    }

    fn certificate(&self) -> &[u8] {
        self.certificate.der()
    }

    fn fingerprint(&self) -> Fingerprint {
        self.certificate.fingerprint()
    }
}

/// Builds the DER of a self-signed certificate for `key`.
fn self_signed_certificate(
    key: &SigningKey,
    common_name: &str,
    not_before: Duration,
) -> Result<Vec<u8>, CertificateError> {
    use ed25519_dalek::Signer as _;
    let bad = |error: x509_cert::der::Error| CertificateError::NotDer(error.to_string());
    let name = Name::from_str(&format!("CN={common_name}")).map_err(bad)?;
    let ten_years = Duration::from_secs(10 * 365 * 24 * 3600);
    let algorithm = AlgorithmIdentifierOwned {
        oid: ID_ED_25519,
        parameters: None,
    };
    let tbs = TbsCertificate {
        version: Version::V3,
        serial_number: SerialNumber::new(&key.verifying_key().as_bytes()[..8]).map_err(bad)?,
        signature: algorithm.clone(),
        issuer: name.clone(),
        validity: Validity {
            not_before: Time::UtcTime(UtcTime::from_unix_duration(not_before).map_err(bad)?),
            not_after: Time::UtcTime(
                UtcTime::from_unix_duration(not_before + ten_years).map_err(bad)?,
            ),
        },
        subject: name,
        subject_public_key_info: SubjectPublicKeyInfoOwned {
            algorithm: algorithm.clone(),
            subject_public_key: BitString::from_bytes(key.verifying_key().as_bytes())
                .map_err(bad)?,
        },
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: None,
    };
    let signature = key.sign(&tbs.to_der().map_err(bad)?);
    let certificate = X509 {
        tbs_certificate: tbs,
        signature_algorithm: algorithm,
        signature: BitString::from_bytes(&signature.to_bytes()).map_err(bad)?,
    };
    certificate.to_der().map_err(bad)
}

/// The 6-digit code two users read to each other to check they hold each other's
/// real keys.
///
/// Derived from both Ed25519 public keys: the two keys are put in ascending byte
/// order (so both sides get the same code, whoever is "first"), hashed with SHA-256
/// after the domain label `DCSC comparison code v1`, and the first eight bytes of
/// the digest, read big-endian, are taken modulo 1,000,000 and shown with leading
/// zeros. An attacker who swaps a key must find a key of their own that lands on
/// the same code: one chance in a million per try, which is why the users compare
/// it out of band.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ComparisonCode(pub u32);

impl ComparisonCode {
    /// The code for the pair of public keys `a` and `b`, in either order.
    pub fn new(a: &[u8], b: &[u8]) -> ComparisonCode {
        let (low, high) = if a <= b { (a, b) } else { (b, a) };
        let mut hasher = Sha256::new();
        hasher.update(b"DCSC comparison code v1");
        for key in [low, high] {
            hasher.update((key.len() as u64).to_be_bytes());
            hasher.update(key);
        }
        let digest = hasher.finalize();
        let mut head = [0u8; 8];
        head.copy_from_slice(&digest[..8]);
        ComparisonCode((u64::from_be_bytes(head) % 1_000_000) as u32)
    }
}

impl fmt::Display for ComparisonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:06}", self.0)
    }
}
