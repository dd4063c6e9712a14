// SPDX-License-Identifier: BUSL-1.1
//! Credential status (W3C Bitstring Status List v1.0), on SQLite and PostgreSQL.
//!
//! Credentials issued by `/v1` writes carry two `BitstringStatusListEntry` objects; the lists
//! are fetched without a token from the URL the credential names, verified with the zone's
//! verifier, and decoded here with flate2 and base64 directly (not with the zone's code), so
//! the bits found are the bits a relying party finds. Revoking and suspending go through the
//! operator route (token required); verify answers false with the status, and true again
//! once a suspension is lifted; revocation cannot be undone; each change is audited.

use std::collections::BTreeSet;
use std::io::Read;

use base64::Engine;
use mez_tests::v1::{audit_events, verify_credential};
use mez_tests::v1_writes::{create_entity, send};
use mez_tests::{DataDir, TestDb, TestZone};
use reqwest::Method;
use serde_json::{Value, json};

const LIST_BITS: usize = 131_072;

/// The credential's entry for `purpose`.
fn entry<'a>(credential: &'a Value, purpose: &str) -> &'a Value {
    let entries = credential["credentialStatus"]
        .as_array()
        .unwrap_or_else(|| panic!("credentialStatus is an array: {credential}"));
    assert_eq!(entries.len(), 2, "one entry per purpose: {credential}");
    entries
        .iter()
        .find(|e| e["statusPurpose"] == purpose)
        .unwrap_or_else(|| panic!("no {purpose} entry: {credential}"))
}

/// The entry's index, parsed from its string form.
fn index_of(entry: &Value) -> usize {
    let text = entry["statusListIndex"]
        .as_str()
        .unwrap_or_else(|| panic!("statusListIndex is a string: {entry}"));
    text.parse()
        .unwrap_or_else(|_| panic!("statusListIndex is a number: {entry}"))
}

/// Fetches a list credential by its absolute URL, without any token.
async fn fetch_list(url: &str) -> (u16, Value) {
    let response = match reqwest::get(url).await {
        Ok(response) => response,
        Err(err) => panic!("GET {url}: {err}"),
    };
    let status = response.status().as_u16();
    let body = match response.json::<Value>().await {
        Ok(body) => body,
        Err(err) => panic!("GET {url}: not JSON: {err}"),
    };
    (status, body)
}

/// The indexes set in an `encodedList`, decoded here: strip `u`, base64url, gunzip, then
/// bit i is the (i % 8)-th most significant bit of byte i / 8.
fn set_bits(encoded: &str) -> BTreeSet<usize> {
    let text = encoded
        .strip_prefix('u')
        .unwrap_or_else(|| panic!("encodedList starts with u: {encoded}"));
    let compressed = match base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text) {
        Ok(bytes) => bytes,
        Err(err) => panic!("encodedList is base64url without padding: {err}"),
    };
    let mut bits = Vec::new();
    if let Err(err) = flate2::read::GzDecoder::new(compressed.as_slice()).read_to_end(&mut bits) {
        panic!("encodedList is GZIP: {err}");
    }
    assert!(
        bits.len() * 8 >= LIST_BITS,
        "the list holds 131,072 bits at least"
    );
    (0..bits.len() * 8)
        .filter(|i| bits[i / 8] & (0x80 >> (i % 8)) != 0)
        .collect()
}

/// Fetches the list a credential's `purpose` entry names, checks it, and returns its set bits.
async fn list_bits(zone: &TestZone, credential: &Value, purpose: &str) -> BTreeSet<usize> {
    let entry = entry(credential, purpose);
    let url = entry["statusListCredential"].as_str().unwrap_or_default();
    let (status, list) = fetch_list(url).await;
    assert_eq!(status, 200, "GET {url}: {list}");
    assert_eq!(
        mez_api::credentials::verify(&list),
        mez_api::credentials::Verification::verified(),
        "the list credential verifies: {list}"
    );
    assert_eq!(list["id"], url);
    assert_eq!(list["issuer"], zone.state.zone_did());
    assert_eq!(list["@context"], credential["@context"]);
    assert_eq!(
        list["type"],
        json!(["VerifiableCredential", "BitstringStatusListCredential"])
    );
    let subject = &list["credentialSubject"];
    assert_eq!(subject["id"], format!("{url}#list"));
    assert_eq!(subject["type"], "BitstringStatusList");
    assert_eq!(subject["statusPurpose"], purpose);
    set_bits(subject["encodedList"].as_str().unwrap_or_default())
}

async fn change(zone: &TestZone, id: &str, body: Value) -> (u16, Value) {
    zone.post(&format!("/v1/credentials/{id}/status"), body)
        .await
}

async fn status_lists_revoke_suspend_and_verify(db: &TestDb) {
    let zone = TestZone::sovereign(db).await;
    let mut credentials = Vec::new();
    for n in 0..6 {
        let (_, envelope) = send(&zone, create_entity(&format!("Status Test {n} Ltd"))).await;
        credentials.push(envelope);
    }

    // The entries' shape, and unique indexes.
    let mut indexes = BTreeSet::new();
    for envelope in &credentials {
        let credential = &envelope.credential;
        for purpose in ["revocation", "suspension"] {
            let e = entry(credential, purpose);
            let list = e["statusListCredential"].as_str().unwrap_or_default();
            assert_eq!(
                list,
                zone.url(&format!("/v1/credentials/status/{purpose}-1")),
                "{e}"
            );
            assert_eq!(e["type"], "BitstringStatusListEntry");
            assert_eq!(e["id"], format!("{list}#{}", index_of(e)));
        }
        assert_eq!(
            index_of(entry(credential, "revocation")),
            index_of(entry(credential, "suspension"))
        );
        assert!(indexes.insert(index_of(entry(credential, "revocation"))));
        assert_eq!(
            verify_credential(&zone, credential).await,
            json!({"verified": true, "reason": null,
                   "status": {"revoked": false, "suspended": false}})
        );
    }
    assert_eq!(
        indexes.len(),
        credentials.len(),
        "every credential has its own index"
    );

    // Nothing set yet.
    let first = &credentials[0].credential;
    assert!(list_bits(&zone, first, "revocation").await.is_empty());
    assert!(list_bits(&zone, first, "suspension").await.is_empty());

    // Revoke #1 (by credential id), suspend #3 (by attestation id).
    let revoked = &credentials[1];
    let suspended = &credentials[3];
    let revoked_id = revoked.credential["id"].as_str().unwrap_or_default();
    let (status, answer) = change(
        &zone,
        revoked_id,
        json!({"revoked": true, "reason": "key compromise"}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer,
        json!({"credential_id": revoked_id, "revoked": true, "suspended": false, "changed": true})
    );
    let (status, answer) =
        change(&zone, &suspended.attestation_id, json!({"suspended": true})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["suspended"], true);

    let revoked_index = index_of(entry(&revoked.credential, "revocation"));
    let suspended_index = index_of(entry(&suspended.credential, "suspension"));
    assert_eq!(
        list_bits(&zone, first, "revocation").await,
        BTreeSet::from([revoked_index])
    );
    assert_eq!(
        list_bits(&zone, first, "suspension").await,
        BTreeSet::from([suspended_index])
    );

    assert_eq!(
        verify_credential(&zone, &revoked.credential).await,
        json!({"verified": false, "reason": "credential has been revoked",
               "status": {"revoked": true, "suspended": false}})
    );
    assert_eq!(
        verify_credential(&zone, &suspended.credential).await,
        json!({"verified": false, "reason": "credential is suspended",
               "status": {"revoked": false, "suspended": true}})
    );
    assert_eq!(
        verify_credential(&zone, &credentials[2].credential).await["verified"],
        true
    );

    // Revocation is permanent; suspension is lifted.
    let (status, answer) = change(&zone, revoked_id, json!({"revoked": false})).await;
    assert_eq!(status, 409, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("permanent")),
        "{answer}"
    );
    let (status, answer) = change(
        &zone,
        &suspended.attestation_id,
        json!({"suspended": false}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        verify_credential(&zone, &suspended.credential).await,
        json!({"verified": true, "reason": null,
               "status": {"revoked": false, "suspended": false}})
    );
    assert!(list_bits(&zone, first, "suspension").await.is_empty());
    assert_eq!(
        list_bits(&zone, first, "revocation").await,
        BTreeSet::from([revoked_index]),
        "the refused un-revoke changed nothing"
    );

    // Each change is one audit event, and the chain verifies.
    let events: Vec<String> = audit_events(&zone)
        .await
        .iter()
        .filter(|e| e["resource_type"] == "credential")
        .map(|e| e["event_type"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        events,
        [
            "credential.revoked",
            "credential.suspended",
            "credential.reinstated"
        ]
    );
    let (_, report) = zone.get("/v1/audit/verify").await;
    assert_eq!(report["valid"], true, "{report}");
    zone.stop().await;
}

async fn status_routes_refuse_what_they_should(db: &TestDb) {
    let zone = TestZone::sovereign(db).await;
    // No list before any credential was issued.
    let (status, body) = fetch_list(&zone.url("/v1/credentials/status/revocation-1")).await;
    assert_eq!(status, 404, "{body}");
    let (_, envelope) = send(&zone, create_entity("Refusals Ltd")).await;
    let id = envelope.credential["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();

    // The list needs no token; unknown lists are a JSON 404.
    let (status, body) = fetch_list(&zone.url("/v1/credentials/status/revocation-1")).await;
    assert_eq!(status, 200, "{body}");
    for unknown in [
        "revocation-2",
        "suspension-0",
        "other-1",
        "revocation-01",
        "x",
    ] {
        let (status, body) =
            fetch_list(&zone.url(&format!("/v1/credentials/status/{unknown}"))).await;
        assert_eq!(status, 404, "{unknown}: {body}");
        assert_eq!(body["error"]["code"], "NOT_FOUND", "{unknown}: {body}");
    }

    // The change needs the token.
    let response = zone
        .raw(Method::POST, &format!("/v1/credentials/{id}/status"))
        .no_token()
        .json(&json!({"revoked": true}))
        .send()
        .await;
    assert_eq!(response.status, 401, "{}", response.text());
    assert_eq!(
        verify_credential(&zone, &envelope.credential).await["verified"],
        true
    );

    // Bad bodies are 422; unknown credentials 404.
    for bad in [
        json!({}),
        json!({"revoked": "yes"}),
        json!({"suspended": true, "because": "x"}),
        json!({"reason": "only a reason"}),
        json!([true]),
    ] {
        let (status, body) = change(&zone, &id, bad.clone()).await;
        assert_eq!(status, 422, "{bad}: {body}");
    }
    for unknown in [
        format!("urn:uuid:{}", uuid::Uuid::new_v4()),
        uuid::Uuid::new_v4().to_string(),
    ] {
        let (status, body) = change(&zone, &unknown, json!({"revoked": true})).await;
        assert_eq!(status, 404, "{unknown}: {body}");
    }
    // Setting a bit to the value it has changes nothing and writes no event.
    let before = audit_events(&zone).await.len();
    let (status, body) = change(&zone, &id, json!({"suspended": false})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["changed"], false);
    assert_eq!(audit_events(&zone).await.len(), before);
    zone.stop().await;
}

/// Suspending every credential of an entity at once (what a halt policy does) is one commit
/// with one audit event; lifting it reinstates them all.
async fn an_entity_s_credentials_change_together(db: &TestDb) {
    let zone = TestZone::sovereign(db).await;
    let (_, a) = send(&zone, create_entity("Entity A Ltd")).await;
    let (_, b) = send(&zone, create_entity("Entity B Ltd")).await;
    let changed = mez_api::credentials::status::set_status_for_resource(
        &zone.state,
        "entity",
        &a.resource_id,
        mez_api::credentials::status::Purpose::Suspension,
        true,
        Some("halted"),
        "policy",
    )
    .await
    .unwrap_or_else(|err| panic!("suspending the entity's credentials: {err}"));
    assert_eq!(changed, [a.credential["id"].as_str().unwrap_or_default()]);
    assert_eq!(
        verify_credential(&zone, &a.credential).await["status"],
        json!({"revoked": false, "suspended": true})
    );
    assert_eq!(
        verify_credential(&zone, &b.credential).await["verified"],
        true
    );
    let events = audit_events(&zone).await;
    let last = events.last().cloned().unwrap_or_default();
    assert_eq!(last["event_type"], "credential.suspended");
    assert_eq!(last["resource_id"], a.resource_id.as_str());
    zone.stop().await;
}

/// Two replicas of one zone on one database never hand out the same position, even when
/// they allocate at the same time, and writes racing on both get distinct indexes.
async fn replicas_sharing_a_database_never_reuse_an_index(db: &TestDb) {
    let dir = DataDir::new();
    let a = TestZone::start_in(db, true, &dir).await;
    let b = TestZone::start_in(db, true, &dir).await;
    let mut tasks = Vec::new();
    for n in 0..40 {
        let state = if n % 2 == 0 {
            a.state.clone()
        } else {
            b.state.clone()
        };
        tasks.push(tokio::spawn(async move {
            mez_api::credentials::status::allocate(&state.db).await
        }));
    }
    let mut positions = BTreeSet::new();
    for task in tasks {
        let slot = match task.await {
            Ok(Ok(slot)) => slot,
            Ok(Err(err)) => panic!("allocation failed: {err}"),
            Err(err) => panic!("allocation task failed: {err}"),
        };
        assert!(
            positions.insert(slot.position),
            "{} handed out twice",
            slot.position
        );
    }
    assert_eq!(positions.len(), 40);

    let (first, second) = tokio::join!(
        async {
            let mut out = Vec::new();
            for n in 0..4 {
                out.push(
                    send(&a, create_entity(&format!("Replica A {n} Ltd")))
                        .await
                        .1,
                );
            }
            out
        },
        async {
            let mut out = Vec::new();
            for n in 0..4 {
                out.push(
                    send(&b, create_entity(&format!("Replica B {n} Ltd")))
                        .await
                        .1,
                );
            }
            out
        },
    );
    let mut indexes = BTreeSet::new();
    for envelope in first.iter().chain(&second) {
        let index = index_of(entry(&envelope.credential, "revocation"));
        assert!(
            !positions.contains(&(index as u64)),
            "index {index} was already handed out"
        );
        assert!(indexes.insert(index), "index {index} issued twice");
    }
    assert_eq!(indexes.len(), 8);
    a.stop().await;
    b.stop().await;
}

mez_tests::on_sqlite_and_postgres!(
    replicas_sharing_a_database_never_reuse_an_index,
    status_lists_revoke_suspend_and_verify,
    status_routes_refuse_what_they_should,
    an_entity_s_credentials_change_together,
);
