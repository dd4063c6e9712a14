// SPDX-License-Identifier: BUSL-1.1
//! Every `/v1` write's credential verifies, no single edit of it does, and it still verifies
//! (under the same DID) after the zone restarts.
//!
//! The earlier implementation signed a home-made canonical form under a DID nobody could
//! resolve, with a key made afresh on every start. Here each credential is a W3C VC 2.0 with
//! an `eddsa-jcs-2022` Data Integrity proof under the zone's `did:key`, and
//! `POST /v1/credentials/verify` must accept it as issued and refuse it after any one field
//! is changed: a subject value, the issuer, the validity start, the type, the id, or any of
//! the proof's creation time, verification method and signature. The zone key lives in the
//! data directory, so a zone restarted on the same database and directory is the same issuer.
//! Both scenarios run on SQLite and on PostgreSQL.

use mez_tests::json::uuid_at;
use mez_tests::v1::{assert_chain_valid, verify_credential};
use mez_tests::v1_writes::{create_entity, every_write, open_account, send};
use mez_tests::{DataDir, TestDb, TestZone};
use serde_json::{Value, json};

/// Another Ed25519 did:key (the W3C eddsa-jcs-2022 test vector's public key).
const OTHER_KEY: &str = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2";

/// A string that differs from `s` in one character, still drawn from the base58 alphabet.
fn one_char_changed(s: &str, at: usize) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    chars[at] = if chars[at] == '2' { '3' } else { '2' };
    chars.into_iter().collect()
}

/// One change to a credential.
type Edit = Box<dyn Fn(&mut Value)>;

/// The single-field edits a verifier must notice, each as (what, edit).
fn edits() -> Vec<(&'static str, Edit)> {
    vec![
        (
            "credentialSubject.resource_id",
            Box::new(|c: &mut Value| {
                c["credentialSubject"]["resource_id"] = json!(uuid::Uuid::new_v4().to_string());
            }),
        ),
        (
            "credentialSubject.compliance.overall_status",
            Box::new(|c: &mut Value| {
                let status = &mut c["credentialSubject"]["compliance"]["overall_status"];
                *status = if *status == "compliant" {
                    json!("pending")
                } else {
                    json!("compliant")
                };
            }),
        ),
        (
            "credentialSubject.compliance.hard_blocks",
            Box::new(|c: &mut Value| {
                c["credentialSubject"]["compliance"]["hard_blocks"] = json!(["sanctions"]);
            }),
        ),
        (
            "issuer",
            Box::new(|c: &mut Value| c["issuer"] = json!(format!("did:key:{OTHER_KEY}"))),
        ),
        (
            "issuer and verificationMethod (another did:key throughout)",
            Box::new(|c: &mut Value| {
                c["issuer"] = json!(format!("did:key:{OTHER_KEY}"));
                c["proof"]["verificationMethod"] =
                    json!(format!("did:key:{OTHER_KEY}#{OTHER_KEY}"));
            }),
        ),
        (
            "validFrom",
            Box::new(|c: &mut Value| c["validFrom"] = json!("2026-01-01T00:00:00.000Z")),
        ),
        (
            "type",
            Box::new(|c: &mut Value| {
                c["type"] = json!(["VerifiableCredential", "MezSovereignAuthorityCredential"]);
            }),
        ),
        (
            "id",
            Box::new(|c: &mut Value| c["id"] = json!(format!("urn:uuid:{}", uuid::Uuid::new_v4()))),
        ),
        (
            "@context",
            Box::new(|c: &mut Value| {
                c["@context"] = json!([
                    "https://www.w3.org/ns/credentials/v2",
                    "https://www.w3.org/ns/credentials/examples/v2"
                ]);
            }),
        ),
        (
            "proof.created",
            Box::new(|c: &mut Value| c["proof"]["created"] = json!("2026-01-01T00:00:00.000Z")),
        ),
        (
            "proof.verificationMethod",
            Box::new(|c: &mut Value| {
                let issuer = c["issuer"].as_str().unwrap_or_default().to_owned();
                c["proof"]["verificationMethod"] = json!(format!("{issuer}#{OTHER_KEY}"));
            }),
        ),
        (
            "proof.proofValue",
            Box::new(|c: &mut Value| {
                let value = c["proof"]["proofValue"].as_str().unwrap_or_default();
                c["proof"]["proofValue"] = json!(one_char_changed(value, value.len() / 2));
            }),
        ),
        (
            "proof.cryptosuite",
            Box::new(|c: &mut Value| c["proof"]["cryptosuite"] = json!("eddsa-rdfc-2022")),
        ),
        (
            "proof.@context (removed: the form the reference verifier refused)",
            Box::new(|c: &mut Value| {
                if let Some(proof) = c["proof"].as_object_mut() {
                    proof.remove("@context");
                }
            }),
        ),
        (
            "proof (removed)",
            Box::new(|c: &mut Value| {
                if let Some(object) = c.as_object_mut() {
                    object.remove("proof");
                }
            }),
        ),
    ]
}

async fn every_v1_credential_verifies_and_no_edit_does(db: &TestDb) {
    let zone = TestZone::sovereign(db).await;
    let issued = every_write(&zone).await;
    assert_eq!(
        issued.len(),
        mez_tests::v1_writes::WRITE_KINDS,
        "every /v1 write route was exercised"
    );

    for (name, envelope) in &issued {
        let credential = &envelope.credential;
        assert_eq!(
            verify_credential(&zone, credential).await,
            json!({"verified": true, "reason": null, "status": {"revoked": false, "suspended": false}}),
            "the {name} credential verifies as issued"
        );
        // The wrapped form `{"credential": ...}` is accepted too.
        assert_eq!(
            verify_credential(&zone, &json!({"credential": credential})).await,
            json!({"verified": true, "reason": null, "status": {"revoked": false, "suspended": false}}),
            "the wrapped {name} credential verifies"
        );
        for (what, edit) in edits() {
            let mut changed = credential.clone();
            edit(&mut changed);
            assert_ne!(&changed, credential, "the {what} edit changes something");
            let answer = verify_credential(&zone, &changed).await;
            assert_eq!(
                answer["verified"], false,
                "the {name} credential with {what} changed must not verify: {answer}"
            );
            let reason = answer["reason"].as_str().unwrap_or_default();
            assert!(
                !reason.trim().is_empty(),
                "a refusal gives its reason ({name}, {what}): {answer}"
            );
        }
    }

    // Not a credential at all: a 422, not a verdict.
    let (status, answer) = zone
        .post("/v1/credentials/verify", json!({"credential": "text"}))
        .await;
    assert_eq!(status, 422, "{answer}");
    zone.stop().await;
}

async fn credentials_verify_after_a_restart_under_the_same_did(db: &TestDb) {
    let data_dir = DataDir::new();
    let zone = TestZone::start_in(db, true, &data_dir).await;
    let did = zone.state.zone_did().to_owned();
    assert!(
        data_dir.path().join("zone.key").is_file(),
        "the zone key is kept in the data directory"
    );
    let (_, entity) = send(&zone, create_entity("Restart Credential Ltd")).await;
    let (_, account) = send(&zone, open_account(&entity.resource_id)).await;
    for envelope in [&entity, &account] {
        assert_eq!(envelope.issuer, did);
    }
    zone.stop().await;

    // The same database and the same data directory: the same zone.
    let zone = TestZone::start_in(db, true, &data_dir).await;
    assert_eq!(
        zone.state.zone_did(),
        did,
        "the restarted zone has the same DID"
    );
    for envelope in [&entity, &account] {
        assert_eq!(
            verify_credential(&zone, &envelope.credential).await,
            json!({"verified": true, "reason": null, "status": {"revoked": false, "suspended": false}}),
            "a credential issued before the restart verifies after it"
        );
        let (status, attestation) = zone
            .get(&format!("/v1/attestations/{}", envelope.attestation_id))
            .await;
        assert_eq!(status, 200, "the attestation survives: {attestation}");
        assert_eq!(attestation["credential"], envelope.credential);
        assert_eq!(attestation["resourceId"], envelope.resource_id.as_str());
    }
    let (_, later) = send(&zone, create_entity("After Restart Ltd")).await;
    assert_eq!(later.issuer, did, "new credentials keep the issuer");
    assert_eq!(uuid_at(&later.mass_response, "id"), later.resource_id);
    assert_chain_valid(&zone, 3).await;
    zone.stop().await;

    // Control: a zone with another data directory is another issuer, so the DID above really
    // came from the kept key. It may not take over this database (its audit head is this
    // zone's); on a database of its own, any did:key credential still verifies there.
    let other_dir = DataDir::new();
    let token = "control-token";
    let mut config = mez_api::config::Config::for_tests(db.url(), true, token);
    config.data_dir = other_dir.path().to_path_buf();
    let refused = mez_api::build_state(config)
        .await
        .err()
        .map(|e| e.to_string());
    assert!(
        refused.as_deref().is_some_and(
            |message| message.contains(&did) && message.contains("ZONE_SIGNING_KEY_HEX")
        ),
        "another key is refused on this zone's database: {refused:?}"
    );
    let own_db = TestDb::sqlite();
    let other = TestZone::start_in(&own_db, true, &other_dir).await;
    assert_ne!(other.state.zone_did(), did);
    assert_eq!(
        verify_credential(&other, &entity.credential).await,
        json!({"verified": true, "reason": null, "status": null})
    );
    other.stop().await;
    own_db.cleanup().await;
}

mez_tests::on_sqlite_and_postgres!(
    every_v1_credential_verifies_and_no_edit_does,
    credentials_verify_after_a_restart_under_the_same_did,
);
