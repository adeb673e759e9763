//! Identities: self-signed Ed25519 certificates, fingerprints, signatures and the
//! comparison code.

use std::time::Duration;

use proto_core::seeded_rng;
use regnode_proto::{
    Certificate, CertificateError, CertificateScheme, ComparisonCode, Identity, SignatureError,
    Signer, X509Ed25519, fingerprint,
};
use sha2::{Digest, Sha256};

const NOV_2023: Duration = Duration::from_secs(1_700_000_000);

fn identity(seed: u64, name: &str) -> Identity {
    Identity::generate(&mut seeded_rng(seed), name, NOV_2023).unwrap()
}

#[test]
fn a_generated_certificate_parses_and_names_its_holder() {
    let alice = identity(1, "alice");
    let der = alice.certificate().to_vec();
    let parsed = Certificate::from_der(&der).unwrap();
    assert_eq!(parsed.public_key(), alice.public_key());
    let digest: [u8; 32] = Sha256::digest(&der).into();
    assert_eq!(alice.fingerprint().0, digest);
    assert_eq!(fingerprint(&der), alice.fingerprint());
    assert_eq!(
        identity(1, "alice").certificate(),
        &der[..],
        "seeded: reproducible"
    );
    assert_ne!(identity(2, "alice").fingerprint(), alice.fingerprint());
}

#[test]
fn signatures_verify_with_the_certificate_key_only() {
    let alice = identity(1, "alice");
    let bob = identity(2, "bob");
    let verifier = X509Ed25519.verifier(alice.certificate()).unwrap();
    let signature = alice.sign(b"\x00\x00\x00\x00\x65\x53\xf1\x00hello");
    assert_eq!(signature.len(), 64);
    assert_eq!(
        verifier.verify(b"\x00\x00\x00\x00\x65\x53\xf1\x00hello", &signature),
        Ok(())
    );
    assert_eq!(
        verifier.verify(b"\x00\x00\x00\x00\x65\x53\xf1\x01hello", &signature),
        Err(SignatureError::Mismatch)
    );
    let forged = bob.sign(b"\x00\x00\x00\x00\x65\x53\xf1\x00hello");
    assert_eq!(
        verifier.verify(b"\x00\x00\x00\x00\x65\x53\xf1\x00hello", &forged),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        verifier.verify(b"x", &signature[..10]),
        Err(SignatureError::Length {
            len: 10,
            expected: 64
        })
    );
}

#[test]
fn certificates_that_are_not_der_or_not_self_signed_are_refused() {
    assert!(matches!(
        Certificate::from_der(b"not a certificate"),
        Err(CertificateError::NotDer(_))
    ));
    let mut der = identity(1, "alice").certificate().to_vec();
    let last = der.len() - 1;
    der[last] ^= 0x01; // inside the signature's BIT STRING
    assert_eq!(
        Certificate::from_der(&der).err(),
        Some(CertificateError::BadSelfSignature)
    );
    let mut trailing = identity(1, "alice").certificate().to_vec();
    trailing.push(0);
    assert!(matches!(
        Certificate::from_der(&trailing),
        Err(CertificateError::NotDer(_))
    ));
}

#[test]
fn a_key_and_a_foreign_certificate_do_not_make_an_identity() {
    let bob = identity(2, "bob");
    let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    assert_eq!(
        Identity::from_parts(key, bob.certificate()).err(),
        Some(CertificateError::BadKey)
    );
}

#[test]
fn the_comparison_code_is_the_same_on_both_sides() {
    let alice = identity(1, "alice");
    let bob = identity(2, "bob");
    let carol = identity(3, "carol");
    let ab = ComparisonCode::new(alice.public_key(), bob.public_key());
    let ba = ComparisonCode::new(bob.public_key(), alice.public_key());
    assert_eq!(ab, ba);
    assert!(ab.0 < 1_000_000);
    assert_eq!(ab.to_string().len(), 6);
    assert_ne!(
        ab,
        ComparisonCode::new(alice.public_key(), carol.public_key())
    );
    assert_eq!(ComparisonCode(42).to_string(), "000042");
}

#[test]
fn a_stored_secret_key_and_certificate_give_the_identity_back() {
    let alice = identity(1, "alice");
    let key = ed25519_dalek::SigningKey::from_bytes(&alice.secret_key().to_bytes());
    let again = Identity::from_parts(key, alice.certificate()).unwrap();
    assert_eq!(again.fingerprint(), alice.fingerprint());
    assert_eq!(again.sign(b"message"), alice.sign(b"message"));
}
