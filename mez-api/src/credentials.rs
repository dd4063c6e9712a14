// SPDX-License-Identifier: BUSL-1.1
//! W3C Verifiable Credentials (Data Model 2.0) secured with a Data Integrity proof using the
//! `eddsa-jcs-2022` cryptosuite, issued under the zone's `did:key`.
//!
//! The point is that a credential verifies anywhere: any conforming verifier, given only the
//! credential, resolves the issuer's key from the `did:key` and checks the signature with
//! public algorithms (RFC 8785 canonical JSON, SHA-256, Ed25519). The earlier implementation
//! signed a home-made canonical form under a private proof type and a `did:mass` DID nobody
//! could resolve, so only its own code could check its credentials.
//!
//! The cryptosuite, in short (W3C "Data Integrity EdDSA Cryptosuites v1.0", section 3.3):
//!
//! - signing (3.3.1): the proof options take the document's `@context` (step 2), and the
//!   proof carries it; proof configuration = those options, without `proofValue`;
//! - hash data = SHA-256(JCS(proof configuration)) ‖ SHA-256(JCS(document without `proof`));
//! - `proofValue` = `z` + base58btc(Ed25519 signature over the hash data);
//! - verifying (3.3.2): the proof options are the proof exactly as carried, less
//!   `proofValue`; when they hold an `@context`, the document's must start with it and the
//!   document is hashed under the proof's. Nothing is added to the options.
//!
//! Every term of the zone's credentials is defined: the VC 2.0 context defines the standard
//! ones, and the zone's own (`compliance`, `resource_id`, the `Mez*Credential` types, ...)
//! fall to [`UNDEFINED_TERMS_V2_CONTEXT`], the last context, as VC Data Model 2.0 section
//! 4.3 allows. So a JSON-LD processor in safe mode drops nothing, and every verifier already
//! holds both contexts.
//!
//! Credentials issued before the zone followed step 2 carry a proof without `@context`,
//! though their signature covers the document's context anyway (that release added it while
//! signing and again while verifying). [`verify`] still accepts that legacy form, and only
//! when the proof has no `@context` and the credential's context is exactly the VC 2.0
//! context alone (all the old release ever wrote); the answer then says so in `legacy`.
//! Other verifiers refuse such a credential, so it is worth re-issuing.
//!
//! [`sign_document`] is the signing primitive; [`issue`] builds the zone's credential around
//! it; [`verify`] checks a credential from any `did:key` issuer and [`verify_with_key`] one
//! whose key the caller already holds. Verification answers a [`Verification`] rather than
//! an error, because "this credential is not valid" is a normal answer, not a failure.

mod key;
pub mod status;

pub use key::{KEY_FILE_NAME, KeyError, ZoneKey};

use ed25519_dalek::{SIGNATURE_LENGTH, Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::canonical::canonical_bytes;
use crate::error::ApiError;
use key::{BASE58BTC_PREFIX, DID_KEY_PREFIX, decode_public_key_multibase};

/// The base context every VC Data Model 2.0 credential starts with.
pub const CREDENTIALS_V2_CONTEXT: &str = "https://www.w3.org/ns/credentials/v2";
/// The context that gives every term no other context defines an issuer-dependent IRI
/// (VC Data Model 2.0, section 4.3); it must come last.
pub const UNDEFINED_TERMS_V2_CONTEXT: &str = "https://www.w3.org/ns/credentials/undefined-terms/v2";
/// The contexts of the zone's credentials, in order.
pub const CREDENTIAL_CONTEXTS: [&str; 2] = [CREDENTIALS_V2_CONTEXT, UNDEFINED_TERMS_V2_CONTEXT];
/// The proof type of every Data Integrity proof.
pub const PROOF_TYPE: &str = "DataIntegrityProof";
/// The one cryptosuite the zone signs with and accepts.
pub const CRYPTOSUITE: &str = "eddsa-jcs-2022";
/// The proof purpose of a credential: the issuer asserts its claims.
pub const ASSERTION_METHOD: &str = "assertionMethod";

/// How far in the future a `validFrom` may lie and still count as valid now. Zones run on
/// different machines; a credential issued a moment ago elsewhere must not be refused
/// because this machine's clock is a little behind.
const CLOCK_SKEW: time::Duration = time::Duration::minutes(5);

/// The answer to "is this credential valid?", in the shape a handler returns as JSON:
/// `{"verified": true, "reason": null}` or `{"verified": false, "reason": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    pub verified: bool,
    /// Why verification failed, as a short sentence; `None` (JSON null) when it succeeded.
    pub reason: Option<String>,
    /// Set only when the credential verified in the legacy form (a proof without `@context`
    /// from a zone release before 3.3.1 step 2 was followed), saying so; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legacy: Option<String>,
}

impl Verification {
    pub fn verified() -> Self {
        Self {
            verified: true,
            reason: None,
            legacy: None,
        }
    }

    /// Verified, in the legacy form (see the module documentation).
    pub fn verified_legacy() -> Self {
        Self {
            legacy: Some(LEGACY_NOTE.into()),
            ..Self::verified()
        }
    }

    pub fn failed(reason: impl Into<String>) -> Self {
        Self {
            verified: false,
            reason: Some(reason.into()),
            legacy: None,
        }
    }
}

/// What a legacy-form answer says about the credential.
pub const LEGACY_NOTE: &str = "proof without @context, as zones issued before following \
     vc-di-eddsa 3.3.1 step 2; verified under the credential's context, which other verifiers \
     do not do: re-issue it to verify anywhere";

/// How a proof checked out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// As vc-di-eddsa 3.3.2 says.
    Standard,
    /// The previous release's proof without `@context`.
    Legacy,
}

impl From<Result<Form, &'static str>> for Verification {
    fn from(outcome: Result<Form, &'static str>) -> Self {
        match outcome {
            Ok(Form::Standard) => Self::verified(),
            Ok(Form::Legacy) => Self::verified_legacy(),
            Err(reason) => Self::failed(reason),
        }
    }
}

/// Issues a credential of `credential_type` about `subject`, signed by the zone key, with the
/// top-level properties in `extra` (`evidence`, `credentialStatus`: see [`status::entries`]);
/// `extra` may not replace a property `issue` sets itself.
///
/// `now` is an RFC 3339 timestamp (normally `crate::clock::now_rfc3339()`); it becomes both
/// `validFrom` and the proof's `created`, and is taken as an argument so that the caller
/// decides what "now" is for the whole operation. Errors are the caller's bugs (an empty
/// type, a subject that is not an object, a malformed time), hence internal.
pub fn issue(
    key: &ZoneKey,
    credential_type: &str,
    subject: Value,
    extra: Map<String, Value>,
    now: &str,
) -> Result<Value, ApiError> {
    if credential_type.is_empty() || credential_type == "VerifiableCredential" {
        return Err(ApiError::internal(format!(
            "credential type {credential_type:?} does not name a specific credential"
        )));
    }
    if !matches!(subject, Value::Object(_) | Value::Array(_)) {
        return Err(ApiError::internal(
            "credentialSubject must be a JSON object (or an array of them)",
        ));
    }
    if parse_date_time(now).is_none() {
        return Err(ApiError::internal(format!(
            "issuance time {now:?} is not RFC 3339"
        )));
    }
    let mut unsigned = json!({
        "@context": CREDENTIAL_CONTEXTS,
        "id": format!("urn:uuid:{}", uuid::Uuid::new_v4()),
        "type": ["VerifiableCredential", credential_type],
        "issuer": key.did(),
        "validFrom": now,
        "credentialSubject": subject,
    });
    if let Value::Object(document) = &mut unsigned {
        for (name, value) in extra {
            if document.contains_key(&name) || name == "proof" {
                return Err(ApiError::internal(format!(
                    "credential property {name:?} is set by issue itself"
                )));
            }
            document.insert(name, value);
        }
    }
    let proof_options = json!({
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": now,
        "verificationMethod": key.verification_method(),
        "proofPurpose": ASSERTION_METHOD,
    });
    sign_document(key.signing_key(), &unsigned, &proof_options)
}

/// Signs `unsigned` (a JSON object without `proof`) under the proof options `proof_config`
/// (a `DataIntegrityProof` with cryptosuite `eddsa-jcs-2022`, without `proofValue`), and
/// returns the document with the proof added: the options plus the document's `@context`
/// (3.3.1 step 2; options that name another context are refused) plus `proofValue`.
pub fn sign_document(
    signing: &SigningKey,
    unsigned: &Value,
    proof_config: &Value,
) -> Result<Value, ApiError> {
    let Value::Object(document) = unsigned else {
        return Err(ApiError::internal(
            "the document to sign is not a JSON object",
        ));
    };
    if document.contains_key("proof") {
        return Err(ApiError::internal(
            "the document to sign already carries a proof",
        ));
    }
    let Value::Object(options) = proof_config else {
        return Err(ApiError::internal(
            "the proof options are not a JSON object",
        ));
    };
    if options.contains_key("proofValue") {
        return Err(ApiError::internal(
            "the proof options already hold a proofValue",
        ));
    }
    if options.get("type").and_then(Value::as_str) != Some(PROOF_TYPE)
        || options.get("cryptosuite").and_then(Value::as_str) != Some(CRYPTOSUITE)
    {
        return Err(ApiError::internal(format!(
            "the proof options must be a {PROOF_TYPE} with cryptosuite {CRYPTOSUITE}"
        )));
    }

    let mut options = options.clone();
    if let Some(context) = document.get("@context") {
        match options.get("@context") {
            Some(given) if given != context => {
                return Err(ApiError::internal(
                    "the proof options name another @context than the document's",
                ));
            }
            _ => {
                options.insert("@context".into(), context.clone());
            }
        }
    }

    let signature = signing.sign(&hash_data(document, &options)?);
    let proof_value = format!(
        "{BASE58BTC_PREFIX}{}",
        bs58::encode(signature.to_bytes()).into_string()
    );
    let mut proof = options;
    proof.insert("proofValue".into(), Value::String(proof_value));
    let mut signed = document.clone();
    signed.insert("proof".into(), Value::Object(proof));
    Ok(Value::Object(signed))
}

/// The Ed25519 public key a `did:key` names, or why it names none.
pub fn did_key_public_key(did: &str) -> Result<VerifyingKey, &'static str> {
    let multibase = did.strip_prefix(DID_KEY_PREFIX).ok_or("not a did:key")?;
    decode_public_key_multibase(multibase)
}

/// Verifies a credential issued by any `did:key`: the proof's verification method must be
/// the issuer's own key, which is read from the DID itself.
pub fn verify(credential: &Value) -> Verification {
    check_any_did_key(credential).into()
}

/// Verifies a credential against a key the caller already trusts, whoever the issuer claims
/// to be (the test vectors, for instance, name an `https:` issuer).
pub fn verify_with_key(credential: &Value, public: &VerifyingKey) -> Verification {
    check_with_key(credential, public).into()
}

fn check_any_did_key(credential: &Value) -> Result<Form, &'static str> {
    let document = credential
        .as_object()
        .ok_or("credential is not a JSON object")?;
    let proof = single_proof(document)?;
    let issuer = issuer_id(document)?;
    let issuer_key = issuer
        .strip_prefix(DID_KEY_PREFIX)
        .ok_or("issuer is not a did:key")?;
    let method = proof
        .get("verificationMethod")
        .and_then(Value::as_str)
        .ok_or("proof names no verification method")?;
    let (method_did, fragment) = method
        .split_once('#')
        .ok_or("verification method is not a did:key key")?;
    if method_did != issuer {
        return Err("verification method does not belong to the issuer");
    }
    // A did:key document has exactly one key, whose fragment is the key's multibase form.
    if fragment != issuer_key {
        return Err("verification method is not the issuer's key");
    }
    let public = decode_public_key_multibase(issuer_key)?;
    check_proof(document, proof, &public)
}

fn check_with_key(credential: &Value, public: &VerifyingKey) -> Result<Form, &'static str> {
    let document = credential
        .as_object()
        .ok_or("credential is not a JSON object")?;
    let proof = single_proof(document)?;
    check_proof(document, proof, public)
}

/// The credential's one proof, once its type, cryptosuite and purpose are the expected ones.
fn single_proof(document: &Map<String, Value>) -> Result<&Map<String, Value>, &'static str> {
    let proof = match document.get("proof") {
        None => return Err("proof is missing"),
        Some(Value::Object(proof)) => proof,
        Some(Value::Array(_)) => return Err("credential must carry a single proof object"),
        Some(_) => return Err("proof is not a JSON object"),
    };
    if proof.get("type").and_then(Value::as_str) != Some(PROOF_TYPE) {
        return Err("proof type is not DataIntegrityProof");
    }
    if proof.get("cryptosuite").and_then(Value::as_str) != Some(CRYPTOSUITE) {
        return Err("proof cryptosuite is not eddsa-jcs-2022");
    }
    if proof.get("proofPurpose").and_then(Value::as_str) != Some(ASSERTION_METHOD) {
        return Err("proof purpose is not assertionMethod");
    }
    Ok(proof)
}

/// The issuer's identifier: `issuer` is either the URL itself or an object with an `id`.
fn issuer_id(document: &Map<String, Value>) -> Result<&str, &'static str> {
    match document.get("issuer") {
        None => Err("issuer is missing"),
        Some(Value::String(id)) => Ok(id),
        Some(Value::Object(issuer)) => issuer
            .get("id")
            .and_then(Value::as_str)
            .ok_or("issuer has no id"),
        Some(_) => Err("issuer is neither a string nor an object with an id"),
    }
}

/// The signature first (so that a tampered credential is reported as tampered), then the
/// validity period of the credential and of the proof.
fn check_proof(
    document: &Map<String, Value>,
    proof: &Map<String, Value>,
    public: &VerifyingKey,
) -> Result<Form, &'static str> {
    let form = check_signature(document, proof, public)?;
    let now = OffsetDateTime::now_utc();
    let valid_until = optional_date_time(document, "validUntil", "validUntil is not a date-time")?;
    if valid_until.is_some_and(|valid_until| valid_until < now) {
        return Err("credential has expired");
    }
    let valid_from = optional_date_time(document, "validFrom", "validFrom is not a date-time")?;
    if valid_from.is_some_and(|valid_from| valid_from > now + CLOCK_SKEW) {
        return Err("credential is not valid yet");
    }
    optional_date_time(proof, "created", "proof creation time is not a date-time")?;
    let expires = optional_date_time(proof, "expires", "proof expiry is not a date-time")?;
    if expires.is_some_and(|expires| expires < now) {
        return Err("proof has expired");
    }
    Ok(form)
}

/// The cryptosuite's "verify proof" algorithm (eddsa-jcs-2022, section 3.3.2), then, for a
/// proof without `@context` on a credential whose context is the VC 2.0 context alone, the
/// legacy form (the same hash with that context in the proof configuration).
fn check_signature(
    document: &Map<String, Value>,
    proof: &Map<String, Value>,
    public: &VerifyingKey,
) -> Result<Form, &'static str> {
    let proof_value = proof
        .get("proofValue")
        .and_then(Value::as_str)
        .ok_or("proof value is missing")?;
    let signature = decode_signature(proof_value)
        .ok_or("proof value is not a multibase base58btc Ed25519 signature")?;

    let mut unsecured = document.clone();
    unsecured.remove("proof");
    let mut options = proof.clone();
    options.remove("proofValue");
    // A proof that carries its own @context must have been made for a document whose
    // context begins with it; the document is then hashed under the proof's context.
    if let Some(proof_context) = options.get("@context") {
        let document_context = unsecured.get("@context").map(as_list).unwrap_or_default();
        if !document_context.starts_with(&as_list(proof_context)) {
            return Err("proof context does not match the credential's context");
        }
        unsecured.insert("@context".into(), proof_context.clone());
    }

    // `verify_strict` also refuses weak public keys and malleable signatures, which an
    // honest signer never produces.
    let matches = |options: &Map<String, Value>| -> Result<bool, &'static str> {
        let hash = hash_data(&unsecured, options).map_err(|err| {
            tracing::warn!(error = %err, "credential could not be canonicalised");
            "credential cannot be canonicalised"
        })?;
        Ok(public.verify_strict(&hash, &signature).is_ok())
    };
    if matches(&options)? {
        return Ok(Form::Standard);
    }
    if !options.contains_key("@context")
        && unsecured.get("@context") == Some(&json!([CREDENTIALS_V2_CONTEXT]))
    {
        let mut legacy = options.clone();
        legacy.insert("@context".into(), json!([CREDENTIALS_V2_CONTEXT]));
        if matches(&legacy)? {
            return Ok(Form::Legacy);
        }
    }
    Err("signature does not match")
}

/// SHA-256(JCS(proof configuration)) ‖ SHA-256(JCS(document)), where the proof
/// configuration is `proof_config` exactly as given.
fn hash_data(
    document: &Map<String, Value>,
    proof_config: &Map<String, Value>,
) -> Result<[u8; 64], ApiError> {
    use sha2::{Digest, Sha256};

    let config_hash = Sha256::digest(canonical_bytes(&Value::Object(proof_config.clone()))?);
    let document_hash = Sha256::digest(canonical_bytes(&Value::Object(document.clone()))?);
    let mut hash = [0u8; 64];
    hash[..32].copy_from_slice(&config_hash);
    hash[32..].copy_from_slice(&document_hash);
    Ok(hash)
}

fn decode_signature(proof_value: &str) -> Option<Signature> {
    let encoded = proof_value.strip_prefix(BASE58BTC_PREFIX)?;
    let bytes = bs58::decode(encoded).into_vec().ok()?;
    let bytes: [u8; SIGNATURE_LENGTH] = bytes.try_into().ok()?;
    Some(Signature::from_bytes(&bytes))
}

/// A JSON-LD value as a list: an array's items, or the value alone.
fn as_list(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    }
}

/// The time in `object[field]`: `None` when absent, `invalid` when present but not RFC 3339.
fn optional_date_time(
    object: &Map<String, Value>,
    field: &str,
    invalid: &'static str,
) -> Result<Option<OffsetDateTime>, &'static str> {
    match object.get(field) {
        None => Ok(None),
        Some(value) => value
            .as_str()
            .and_then(parse_date_time)
            .map(Some)
            .ok_or(invalid),
    }
}

fn parse_date_time(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

#[cfg(test)]
mod tests;
