// SPDX-License-Identifier: BUSL-1.1
//! Evidence-based compliance end to end: an entity becomes compliant in Pakistan as the zone
//! records the evidence its rules ask for (spec/zone.yaml, `compliance.evidence`), and the
//! credentials it signs cite that evidence.
//!
//! The story: an entity with two beneficial owners starts with kyc pending (the reasons name
//! both owners); one owner's CNIC is verified (still pending, naming the other); the second's
//! (kyc compliant); the NTN (tax compliant); a cap table and an account (securities, banking,
//! and with them payments): the entity is then `compliant` over every domain that applies in
//! pk, and the next credential's `evidence` lists the verifications' attestations. A failed
//! CNIC check makes kyc non-compliant, and a non-filer NTN makes tax non-compliant.

use mez_tests::{TestDb, TestZone, on_sqlite_and_postgres};
use serde_json::{Value, json};

fn id_of(envelope: &Value) -> String {
    envelope["mass_response"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {envelope}"))
        .to_string()
}

async fn compliance(zone: &TestZone, entity: &str) -> Value {
    let (status, body) = zone.get(&format!("/v1/entities/{entity}/compliance")).await;
    assert_eq!(status, 200, "{body}");
    body
}

fn reason<'a>(body: &'a Value, domain: &str) -> &'a str {
    body["reasons"][domain].as_str().unwrap_or("")
}

async fn an_entity_becomes_compliant_as_evidence_is_recorded(db: &TestDb) {
    let zone = TestZone::start(db, true).await;
    let (status, created) = zone
        .post(
            "/v1/entities",
            json!({
                "entity_type": "llc",
                "legal_name": "Evidence Trading Ltd",
                "jurisdiction_id": "pk",
                "beneficial_owners": [
                    {"name": "Ali Khan", "ownership_percentage": "60"},
                    {"name": "Sara Ahmed", "ownership_percentage": "40", "cnic": "42101-1111111-2"}
                ]
            }),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let entity = id_of(&created);
    let c = &created["compliance"];
    assert_eq!(c["domain_results"]["kyc"], "pending", "{c}");
    assert!(reason(c, "kyc").contains("Ali Khan") && reason(c, "kyc").contains("Sara Ahmed"));
    // The entity exists and is ACTIVE: corporate is decided by the write itself.
    assert_eq!(c["domain_results"]["corporate"], "compliant", "{c}");
    assert!(reason(c, "tax").contains("no NTN verification"), "{c}");
    // The zone runs on the sample list, and says so.
    assert_eq!(c["sample_sanctions_list"], true);
    assert!(reason(c, "sanctions").contains("sample"));
    let evidence = created["credential"]["evidence"]
        .as_array()
        .expect("evidence");
    // The screening's evidence names the list: source, format, entries, SHA-256, load time.
    let screening = evidence
        .iter()
        .find(|e| e["domain"] == "sanctions")
        .expect("the screening's evidence");
    assert_eq!(screening["type"], "MezSanctionsScreeningEvidence");
    assert_eq!(screening["sample"], true);
    let list = &screening["lists"][0];
    assert_eq!(list["format"], "sample", "{screening}");
    assert!(
        list["entries"].as_u64().is_some_and(|n| n > 0),
        "{screening}"
    );
    assert!(
        list["sha256"].as_str().is_some_and(|h| h.len() == 64),
        "{screening}"
    );
    assert!(list["loaded_at"].is_string(), "{screening}");
    assert!(
        evidence
            .iter()
            .all(|e| e["id"].is_string() && e["type"].is_string() && e["domain"].is_string()),
        "{evidence:?}"
    );

    // The first owner: by name (the entity lists no CNIC for Ali Khan).
    let (status, first) = zone
        .post(
            "/v1/identity/cnic/verify",
            json!({"cnic": "12345-1234567-1", "full_name": "Ali Khan", "entity_id": entity}),
        )
        .await;
    assert_eq!(status, 200, "{first}");
    let now = compliance(&zone, &entity).await;
    assert_eq!(now["domain_results"]["kyc"], "pending", "{now}");
    assert!(!reason(&now, "kyc").contains("Ali Khan"), "{now}");
    assert!(reason(&now, "kyc").contains("Sara Ahmed"), "{now}");

    // The second owner: by the CNIC number the entity lists, whatever the spelling of the name.
    let (status, second) = zone
        .post(
            "/v1/identity/cnic/verify",
            json!({"cnic": "4210111111112", "full_name": "S. Ahmed", "entity_id": entity}),
        )
        .await;
    assert_eq!(status, 200, "{second}");
    let now = compliance(&zone, &entity).await;
    assert_eq!(now["domain_results"]["kyc"], "compliant", "{now}");
    // Only mock checks decided it, which the reason says.
    assert!(reason(&now, "kyc").contains("mock"), "{now}");

    let (status, ntn) = zone
        .post(
            "/v1/identity/ntn/verify",
            json!({"ntn": "1234567", "entity_name": "Evidence Trading Ltd", "entity_id": entity}),
        )
        .await;
    assert_eq!(status, 200, "{ntn}");
    let now = compliance(&zone, &entity).await;
    assert_eq!(now["domain_results"]["tax"], "compliant", "{now}");
    assert_ne!(
        now["overall_status"], "compliant",
        "no cap table or account yet: {now}"
    );

    let (status, table) = zone
        .post(
            "/v1/ownership/cap-tables",
            json!({"entity_id": entity, "share_classes": [{"name": "Common", "authorized_shares": 1000, "issued_shares": 400}]}),
        )
        .await;
    assert_eq!(status, 201, "{table}");
    let (status, account) = zone
        .post(
            "/v1/fiscal/accounts",
            json!({"entity_id": entity, "account_type": "operating", "currency": "PKR"}),
        )
        .await;
    assert_eq!(status, 201, "{account}");

    let now = compliance(&zone, &entity).await;
    assert_eq!(now["entity_id"], entity.as_str());
    assert_eq!(now["jurisdiction_id"], "pk");
    assert_eq!(now["overall_status"], "compliant", "{now}");
    for domain in [
        "aml",
        "kyc",
        "sanctions",
        "tax",
        "corporate",
        "banking",
        "payments",
        "licensing",
        "securities",
    ] {
        assert_eq!(
            now["domain_results"][domain], "compliant",
            "{domain}: {now}"
        );
    }
    assert_eq!(now["blocking_domains"], json!([]));

    // The next credential cites the verifications' attestations.
    let (status, renamed) = zone
        .put(
            &format!("/v1/entities/{entity}"),
            json!({"tags": ["evidenced"]}),
        )
        .await;
    assert_eq!(status, 200, "{renamed}");
    assert_eq!(
        renamed["compliance"]["overall_status"], "compliant",
        "{renamed}"
    );
    let cited: Vec<&str> = renamed["credential"]["evidence"]
        .as_array()
        .expect("evidence")
        .iter()
        .filter_map(|e| e["id"].as_str())
        .collect();
    for verification in [&first, &second, &ntn] {
        let attestation = verification["attestation_id"]
            .as_str()
            .expect("attestation id");
        let wanted = format!("urn:mez:attestation:{attestation}");
        assert!(
            cited.contains(&wanted.as_str()),
            "{wanted} not in {cited:?}"
        );
    }
    // The credential verifies with its evidence, and the evidence ids are committed to.
    let (status, verified) = zone
        .post("/v1/credentials/verify", renamed["credential"].clone())
        .await;
    assert_eq!(
        (status, verified["verified"].clone()),
        (200, json!(true)),
        "{verified}"
    );
    assert!(
        renamed["credential"]["credentialSubject"]["compliance"]
            .get("evidence")
            .is_none()
    );
    // The attestation records the entity and the evidence; the audit event the reasons.
    let attestations = zone.stored("attestations").await;
    let latest = attestations
        .iter()
        .find(|a| a["id"] == renamed["attestation_id"])
        .expect("the attestation");
    assert_eq!(latest["entityId"], entity.as_str());
    assert!(
        latest["evidenceIds"]
            .as_array()
            .is_some_and(|ids| !ids.is_empty())
    );
    zone.stop().await;
}

async fn failed_checks_and_non_filers_are_non_compliant(db: &TestDb) {
    let zone = TestZone::start(db, true).await;
    let (status, created) = zone
        .post(
            "/v1/entities",
            json!({
                "entity_type": "llc",
                "legal_name": "Unverified Holdings Ltd",
                "jurisdiction_id": "pk",
                "beneficial_owners": [{"name": "Omar Farooq", "ownership_percentage": "100"}]
            }),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let entity = id_of(&created);
    // 9 is no province code: the mock records a failed check.
    let (status, failed) = zone
        .post(
            "/v1/identity/cnic/verify",
            json!({"cnic": "92345-1234567-1", "full_name": "Omar Farooq", "entity_id": entity}),
        )
        .await;
    assert_eq!(status, 200, "{failed}");
    assert_eq!(failed["mass_response"]["verified"], false, "{failed}");
    // An NTN starting with 0 is a non-filer by the mock's first-digit rule.
    let (status, ntn) = zone
        .post(
            "/v1/identity/ntn/verify",
            json!({"ntn": "0234567", "entity_name": "Unverified Holdings Ltd", "entity_id": entity}),
        )
        .await;
    assert_eq!(status, 200, "{ntn}");
    let now = compliance(&zone, &entity).await;
    assert_eq!(now["domain_results"]["kyc"], "non_compliant", "{now}");
    assert!(
        reason(&now, "kyc").contains("failed for owner Omar Farooq"),
        "{now}"
    );
    assert_eq!(now["domain_results"]["tax"], "non_compliant", "{now}");
    assert!(reason(&now, "tax").contains("non-filer"), "{now}");
    assert_eq!(now["domain_results"]["aml"], "non_compliant", "{now}");
    assert_eq!(now["overall_status"], "non_compliant");
    // Neither is a hard block: the entity may still act, and its credentials say so.
    let (status, table) = zone
        .post(
            "/v1/ownership/cap-tables",
            json!({"entity_id": entity, "share_classes": [{"name": "Common", "authorized_shares": 10}]}),
        )
        .await;
    assert_eq!(status, 201, "{table}");
    assert_eq!(
        table["compliance"]["domain_results"]["kyc"],
        "non_compliant"
    );
    let (status, missing) = zone
        .get("/v1/entities/00000000-0000-4000-8000-000000000000/compliance")
        .await;
    assert_eq!(status, 404, "{missing}");
    zone.stop().await;
}

on_sqlite_and_postgres!(
    an_entity_becomes_compliant_as_evidence_is_recorded,
    failed_checks_and_non_filers_are_non_compliant
);
