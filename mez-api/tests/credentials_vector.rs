// SPDX-License-Identifier: BUSL-1.1
//! The W3C `eddsa-jcs-2022` test vector, run through the crate's public API.
//!
//! `vectors/eddsa-jcs-2022/` holds the signed credential and key pair published with W3C
//! "Data Integrity EdDSA Cryptosuites v1.0", copied byte for byte. Producing exactly its
//! `proofValue` is what shows that the zone's credentials are the standard ones and not a
//! look-alike: a single difference in canonicalisation, hashing order or encoding changes
//! every byte of the signature.

use ed25519_dalek::{SigningKey, VerifyingKey};
use mez_api::credentials::{Verification, sign_document, verify_with_key};
use serde_json::{Value, json};

/// Multicodec prefix (unsigned varint) of an Ed25519 private key, code 0x1300.
const ED25519_PRIV_MULTICODEC: [u8; 2] = [0x80, 0x26];
/// Multicodec prefix (unsigned varint) of an Ed25519 public key, code 0xed.
const ED25519_PUB_MULTICODEC: [u8; 2] = [0xed, 0x01];

fn vector(name: &str) -> Value {
    let path = format!(
        "{}/tests/vectors/eddsa-jcs-2022/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{path}: {err}"));
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("{path}: {err}"))
}

/// The 32 key bytes of a multibase base58btc multikey with the given multicodec prefix.
fn multikey_bytes(multibase: &str, prefix: [u8; 2]) -> [u8; 32] {
    let encoded = multibase
        .strip_prefix('z')
        .expect("multibase base58btc starts with 'z'");
    let bytes = bs58::decode(encoded).into_vec().expect("valid base58btc");
    let key = bytes
        .strip_prefix(&prefix)
        .expect("the expected multicodec prefix");
    key.try_into().expect("a 32-byte key")
}

fn key_pair() -> (SigningKey, VerifyingKey) {
    let pair = vector("keyPair.json");
    let secret = multikey_bytes(
        pair["privateKeyMultibase"].as_str().unwrap(),
        ED25519_PRIV_MULTICODEC,
    );
    let public = multikey_bytes(
        pair["publicKeyMultibase"].as_str().unwrap(),
        ED25519_PUB_MULTICODEC,
    );
    let signing = SigningKey::from_bytes(&secret);
    let verifying = VerifyingKey::from_bytes(&public).unwrap();
    assert_eq!(
        signing.verifying_key(),
        verifying,
        "the vector's key pair belongs together"
    );
    (signing, verifying)
}

/// A different value of the same JSON kind. An array has its last item replaced rather than
/// one appended, because appending to `@context` is a change the cryptosuite allows (see
/// `a_context_may_be_extended_after_signing`).
fn altered(value: &Value) -> Value {
    match value {
        Value::Null => json!(0),
        Value::Bool(flag) => Value::Bool(!flag),
        Value::Number(number) => json!(number.as_f64().unwrap_or_default() + 1.0),
        Value::String(text) => Value::String(format!("{text}x")),
        Value::Array(items) => {
            let mut items = items.clone();
            items.pop();
            items.push(json!("https://example.org/extra"));
            Value::Array(items)
        }
        Value::Object(members) => {
            let mut members = members.clone();
            members.insert("extra".into(), json!(true));
            Value::Object(members)
        }
    }
}

#[test]
fn signing_the_vector_document_reproduces_its_proof_value() {
    let (signing, _) = key_pair();
    let signed = vector("signed.json");

    let mut unsigned = signed.clone();
    unsigned.as_object_mut().unwrap().remove("proof");
    let mut proof_config = signed["proof"].clone();
    proof_config.as_object_mut().unwrap().remove("proofValue");

    let resigned = sign_document(&signing, &unsigned, &proof_config).unwrap();
    assert_eq!(
        resigned["proof"]["proofValue"],
        signed["proof"]["proofValue"]
    );
    assert_eq!(resigned, signed);
}

#[test]
fn the_vector_verifies_with_its_public_key() {
    let (_, public) = key_pair();
    assert_eq!(
        verify_with_key(&vector("signed.json"), &public),
        Verification::verified()
    );
}

#[test]
fn the_vector_does_not_verify_with_another_key() {
    let other = SigningKey::from_bytes(&[7; 32]).verifying_key();
    let outcome = verify_with_key(&vector("signed.json"), &other);
    assert_eq!(outcome, Verification::failed("signature does not match"));
}

#[test]
fn changing_any_field_of_the_vector_document_breaks_it() {
    let (_, public) = key_pair();
    let signed = vector("signed.json");
    let fields: Vec<String> = signed.as_object().unwrap().keys().cloned().collect();
    let mut checked = 0;
    for field in fields.iter().filter(|field| *field != "proof") {
        let mut changed = signed.clone();
        changed[field] = altered(&signed[field]);
        let outcome = verify_with_key(&changed, &public);
        assert!(!outcome.verified, "changed {field}: still verified");
        assert!(outcome.reason.is_some(), "changed {field}: no reason");

        let mut removed = signed.clone();
        removed.as_object_mut().unwrap().remove(field);
        assert!(
            !verify_with_key(&removed, &public).verified,
            "removed {field}: still verified"
        );
        checked += 1;
    }
    assert_eq!(
        checked, 8,
        "every top-level field but the proof was changed"
    );

    let mut nested = signed.clone();
    nested["credentialSubject"]["alumniOf"] = json!("The School of Counterexamples");
    assert_eq!(
        verify_with_key(&nested, &public),
        Verification::failed("signature does not match")
    );
}

#[test]
fn changing_any_field_of_the_vector_proof_breaks_it() {
    let (_, public) = key_pair();
    let signed = vector("signed.json");
    let fields: Vec<String> = signed["proof"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(fields.len(), 7);
    for field in &fields {
        let mut changed = signed.clone();
        changed["proof"][field] = altered(&signed["proof"][field]);
        let outcome = verify_with_key(&changed, &public);
        assert!(!outcome.verified, "changed proof.{field}: still verified");
        assert!(outcome.reason.is_some(), "changed proof.{field}: no reason");

        // The proof options are verified exactly as carried (3.3.2): dropping the proof's
        // @context changes the proof configuration, so it breaks the proof too.
        let mut removed = signed.clone();
        removed["proof"].as_object_mut().unwrap().remove(field);
        assert!(
            !verify_with_key(&removed, &public).verified,
            "removed proof.{field}: still verified"
        );
    }

    // A later time that is still a valid date-time: only the signature can catch it.
    let mut created = signed.clone();
    created["proof"]["created"] = json!("2023-02-24T23:36:39Z");
    assert_eq!(
        verify_with_key(&created, &public),
        Verification::failed("signature does not match")
    );
}

// The cryptosuite's verification (section 3.3.2) checks only that the document's @context
// starts with the proof's, and hashes the document under the proof's, so a holder may append
// contexts after signing. A conforming verifier accepts that; changing or dropping a signed
// context entry is refused.
#[test]
fn a_context_may_be_extended_after_signing_but_not_changed() {
    let (_, public) = key_pair();
    let signed = vector("signed.json");

    let mut extended = signed.clone();
    extended["@context"]
        .as_array_mut()
        .unwrap()
        .push(json!("https://example.org/extra/v1"));
    assert!(verify_with_key(&extended, &public).verified);

    let mut shortened = signed.clone();
    shortened["@context"].as_array_mut().unwrap().pop();
    assert_eq!(
        verify_with_key(&shortened, &public),
        Verification::failed("proof context does not match the credential's context")
    );

    let mut reordered = signed.clone();
    reordered["@context"].as_array_mut().unwrap().reverse();
    assert!(!verify_with_key(&reordered, &public).verified);
}
