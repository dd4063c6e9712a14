// SPDX-License-Identifier: BUSL-1.1
//! The orchestrated `/v1` surface as a client sees it: the envelope every write answers with,
//! the compliance lattice it reports, and the audit chain read back through the API.
//!
//! The expectations here are written from the spec and the W3C specifications, not read from
//! the product, so that a product that drifts from them fails.

use serde_json::Value;

use crate::json::{assert_timestamp_at, str_at, uuid_at};
use crate::zone::TestZone;

/// The twenty compliance domains of `spec/zone.yaml`, sorted.
pub const DOMAINS: [&str; 20] = [
    "aml",
    "arbitration",
    "banking",
    "clearing",
    "consumer_protection",
    "corporate",
    "custody",
    "data_privacy",
    "digital_assets",
    "employment",
    "immigration",
    "ip",
    "kyc",
    "licensing",
    "payments",
    "sanctions",
    "securities",
    "settlement",
    "tax",
    "trade",
];

/// The base context of every W3C VC Data Model 2.0 credential.
pub const VC_V2_CONTEXT: &str = "https://www.w3.org/ns/credentials/v2";

/// The page size used to read the whole audit chain (the endpoint's largest).
const AUDIT_PAGE: usize = 1000;

/// The lattice rank of a compliance state, worst (0) to best (4); panics on anything else.
pub fn state_rank(state: &str) -> u8 {
    match state {
        "non_compliant" => 0,
        "pending" => 1,
        "not_applicable" => 2,
        "exempt" => 3,
        "compliant" => 4,
        other => panic!("{other:?} is not one of the five compliance states"),
    }
}

/// What a `/v1` write answered, once its shape has been checked.
#[derive(Debug, Clone)]
pub struct Envelope {
    pub mass_response: Value,
    pub compliance: Value,
    pub credential: Value,
    pub attestation_id: String,
    /// The credential's issuer: the zone's `did:key`.
    pub issuer: String,
    /// The id of the resource the credential is about (the Mass record's `id`, or the
    /// `identity_id` of an identity check).
    pub resource_id: String,
}

/// Asserts `body` is a full orchestration envelope for a write over `domains` (the route's
/// relevant domains in the spec) whose credential is a `credential_type`, and returns it.
///
/// Checks: exactly the four envelope keys; a compliance summary with all twenty domains, each
/// in one of the five states, an overall status that is the meet of the relevant domains,
/// passing and blocking lists that split the relevant domains, no hard blocks, a 64-hex
/// commitment and an evaluation time; a VC 2.0 credential of that type from a `did:key`
/// issuer, about the resource the Mass response describes, carrying the same compliance
/// summary, secured by a `DataIntegrityProof` with `eddsa-jcs-2022` under the issuer's own
/// key; and a UUID attestation id.
pub fn assert_envelope(body: &Value, credential_type: &str, domains: &[&str]) -> Envelope {
    let Some(top) = body.as_object() else {
        panic!("expected an envelope object, got {body}");
    };
    let mut keys: Vec<&str> = top.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "attestation_id",
            "compliance",
            "credential",
            "mass_response"
        ],
        "envelope keys: {body}"
    );

    let mass_response = body["mass_response"].clone();
    assert!(
        mass_response.is_object(),
        "mass_response is the Mass record: {body}"
    );
    let resource_id = match mass_response.get("id").and_then(Value::as_str) {
        Some(id) => id.to_owned(),
        None => uuid_at(&mass_response, "identity_id"),
    };

    let compliance = body["compliance"].clone();
    assert_compliance(&compliance, domains);

    let credential = body["credential"].clone();
    assert_eq!(
        credential["@context"][0], VC_V2_CONTEXT,
        "VC 2.0 context first: {credential}"
    );
    assert_eq!(
        credential["type"],
        serde_json::json!(["VerifiableCredential", credential_type]),
        "credential type: {credential}"
    );
    assert!(
        str_at(&credential, "id").starts_with("urn:uuid:"),
        "credential id is a urn:uuid: {credential}"
    );
    let issuer = str_at(&credential, "issuer").to_owned();
    let key = issuer
        .strip_prefix("did:key:z6Mk")
        .unwrap_or_else(|| panic!("issuer is an Ed25519 did:key: {issuer}"));
    assert!(
        key.len() > 40,
        "did:key carries a whole public key: {issuer}"
    );
    assert_timestamp_at(&credential, "validFrom");
    let subject = &credential["credentialSubject"];
    assert_eq!(
        subject["resource_id"], resource_id,
        "the credential is about the real resource: {credential}"
    );
    // The envelope's compliance summary, with its evidence carried once, as the credential's
    // own W3C `evidence` property.
    let mut claimed = compliance.clone();
    let evidence = claimed
        .as_object_mut()
        .and_then(|c| c.remove("evidence"))
        .unwrap_or_else(|| panic!("the envelope's compliance lists its evidence: {compliance}"));
    assert_eq!(
        subject["compliance"], claimed,
        "the credential carries the envelope's compliance summary"
    );
    let carried = credential
        .get("evidence")
        .cloned()
        .unwrap_or(serde_json::json!([]));
    assert_eq!(
        carried, evidence,
        "the credential's evidence is the envelope's"
    );
    let proof = &credential["proof"];
    assert_eq!(proof["type"], "DataIntegrityProof", "{proof}");
    assert_eq!(proof["cryptosuite"], "eddsa-jcs-2022", "{proof}");
    assert_eq!(proof["proofPurpose"], "assertionMethod", "{proof}");
    let multibase = &issuer["did:key:".len()..];
    assert_eq!(
        proof["verificationMethod"],
        format!("{issuer}#{multibase}"),
        "the proof names the issuer's own key"
    );
    assert_timestamp_at(proof, "created");
    let proof_value = str_at(proof, "proofValue");
    assert!(
        proof_value.starts_with('z') && proof_value.len() > 80,
        "proofValue is a base58btc multibase Ed25519 signature: {proof_value}"
    );

    let attestation_id = uuid_at(body, "attestation_id");
    Envelope {
        mass_response,
        compliance,
        credential,
        attestation_id,
        issuer,
        resource_id,
    }
}

/// Asserts the compliance summary's shape and its internal consistency for these relevant
/// domains.
pub fn assert_compliance(compliance: &Value, domains: &[&str]) {
    let Some(results) = compliance["domain_results"].as_object() else {
        panic!("domain_results is an object: {compliance}");
    };
    let mut names: Vec<&str> = results.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names, DOMAINS,
        "domain_results has exactly the twenty domains"
    );
    let state = |domain: &str| -> &str {
        results[domain]
            .as_str()
            .unwrap_or_else(|| panic!("domain {domain} has no state: {compliance}"))
    };
    for domain in DOMAINS {
        state_rank(state(domain));
    }
    let mut relevant: Vec<&str> = domains.to_vec();
    relevant.sort_unstable();
    let overall = relevant
        .iter()
        .map(|d| state(d))
        .min_by_key(|s| state_rank(s))
        .unwrap_or("compliant");
    assert_eq!(
        compliance["overall_status"], overall,
        "overall status is the meet of the relevant domains {relevant:?}: {compliance}"
    );
    let passing: Vec<&str> = relevant
        .iter()
        .copied()
        .filter(|d| matches!(state(d), "compliant" | "exempt" | "not_applicable"))
        .collect();
    let blocking: Vec<&str> = relevant
        .iter()
        .copied()
        .filter(|d| !passing.contains(d))
        .collect();
    assert_eq!(
        compliance["passing_domains"],
        serde_json::json!(passing),
        "{compliance}"
    );
    assert_eq!(
        compliance["blocking_domains"],
        serde_json::json!(blocking),
        "{compliance}"
    );
    assert_eq!(
        compliance["hard_blocks"],
        serde_json::json!([]),
        "{compliance}"
    );
    let commitment = str_at(compliance, "tensor_commitment");
    assert!(
        commitment.len() == 64
            && commitment
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "tensor_commitment is lowercase hex SHA-256: {commitment}"
    );
    assert_timestamp_at(compliance, "evaluated_at");
}

/// Every audit event of the zone, in chain order, read through `GET /v1/audit/events` a page
/// at a time.
pub async fn audit_events(zone: &TestZone) -> Vec<Value> {
    let mut events = Vec::new();
    loop {
        let path = format!(
            "/v1/audit/events?limit={AUDIT_PAGE}&offset={}",
            events.len()
        );
        let (status, page) = zone.get(&path).await;
        assert_eq!(status, 200, "GET {path}: {page}");
        let Some(page) = page.as_array() else {
            panic!("GET {path} answers an array: {page}");
        };
        events.extend(page.iter().cloned());
        if page.len() < AUDIT_PAGE {
            return events;
        }
    }
}

/// `GET /v1/audit/verify`, asserting a 200.
pub async fn chain_report(zone: &TestZone) -> Value {
    let (status, report) = zone.get("/v1/audit/verify").await;
    assert_eq!(status, 200, "GET /v1/audit/verify: {report}");
    report
}

/// Asserts the chain verifies and holds exactly `events` events.
pub async fn assert_chain_valid(zone: &TestZone, events: usize) {
    assert_eq!(
        chain_report(zone).await,
        serde_json::json!({"valid": true, "events": events, "first_invalid_sequence": null}),
        "the audit chain verifies"
    );
}

/// `POST /v1/credentials/verify` with `credential` as the body.
pub async fn verify_credential(zone: &TestZone, credential: &Value) -> Value {
    let (status, answer) = zone
        .post("/v1/credentials/verify", credential.clone())
        .await;
    assert_eq!(status, 200, "POST /v1/credentials/verify: {answer}");
    answer
}
