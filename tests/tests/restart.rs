// SPDX-License-Identifier: BUSL-1.1
//! Every primitive survives a restart, field for field, and a delete stays deleted.
//!
//! The earlier implementation kept memory as the source of truth: a restart lost attestations,
//! deletes came back on the next hydrate, and round-trips dropped fields. The database is the
//! source of truth now, so a second server on the same database must answer every GET with the
//! very JSON the first server answered to the write.

use mez_tests::json::{assert_error, assert_record_meta, uuid_at};
use mez_tests::{DataDir, TestDb, TestZone};
use serde_json::{Value, json};

const ORG: &str = "/organization-info/api/v1";
const TREASURY: &str = "/treasury-info/api/v1";
const CONSENT: &str = "/consent-info/api/v1";
const INVESTMENT: &str = "/investment-info/api/v1";
const TEMPLATING: &str = "/templating-engine/api/v1";

/// A record and the GET route that reads it back.
struct Written {
    what: &'static str,
    path: String,
    record: Value,
}

/// POSTs `body` to `path`, asserts 201 and returns the record.
async fn create(zone: &TestZone, path: &str, body: Value) -> Value {
    let (status, record) = zone.post(path, body).await;
    assert_eq!(status, 201, "POST {path}: {record}");
    record
}

async fn every_primitive_reads_back_identically_after_a_restart(db: &TestDb) {
    // The data directory holds the zone key: the restarted zone is the same zone (a zone
    // with another key refuses to start on this database).
    let data_dir = DataDir::new();
    let zone = TestZone::start_in(db, true, &data_dir).await;
    let mut written: Vec<Written> = Vec::new();

    // Three organizations: the middle one is deleted, the first one updated.
    let first = create(
        &zone,
        &format!("{ORG}/organization/create"),
        json!({"name": "Restart Holdings", "jurisdiction": "pk-sifc", "entityType": "LLC",
               "tags": ["restart"], "address": {"city": "Karachi", "lines": ["1 Main St"]}}),
    )
    .await;
    let org_id = assert_record_meta(&first, true);
    let doomed = create(
        &zone,
        &format!("{ORG}/organization/create"),
        json!({"name": "Doomed Ltd"}),
    )
    .await;
    let doomed_id = uuid_at(&doomed, "id");
    let last = create(
        &zone,
        &format!("{ORG}/organization/create"),
        json!({"name": "Survivor Ltd"}),
    )
    .await;

    // A partial update keeps every field it does not name.
    let (status, updated) = zone
        .put(
            &format!("{ORG}/organization/{org_id}"),
            json!({"jurisdiction": "pk", "status": "SUSPENDED"}),
        )
        .await;
    assert_eq!(status, 200, "organization update: {updated}");
    assert_eq!(updated["jurisdiction"], "pk");
    assert_eq!(updated["status"], "SUSPENDED");
    assert_eq!(updated["name"], first["name"]);
    assert_eq!(updated["address"], first["address"]);
    assert_eq!(updated["tags"], first["tags"]);
    assert_eq!(updated["entityType"], first["entityType"]);
    assert_eq!(updated["createdAt"], first["createdAt"]);
    written.push(Written {
        what: "updated organization",
        path: format!("{ORG}/organization/{org_id}"),
        record: updated.clone(),
    });
    written.push(Written {
        what: "organization",
        path: format!("{ORG}/organization/{}", uuid_at(&last, "id")),
        record: last.clone(),
    });

    let (status, deleted) = zone
        .delete(&format!("{ORG}/organization/{doomed_id}"))
        .await;
    assert_eq!(
        (status, &deleted),
        (200, &Value::Null),
        "delete answers an empty 200"
    );

    let treasury = create(
        &zone,
        &format!("{TREASURY}/treasury/create"),
        json!({"entityId": org_id, "entityName": "Restart Holdings", "context": "TENET"}),
    )
    .await;
    let treasury_id = uuid_at(&treasury, "id");
    written.push(Written {
        what: "treasury",
        path: format!("{TREASURY}/treasury/{treasury_id}"),
        record: treasury,
    });

    let (status, account) = zone
        .post_empty(&format!(
            "{TREASURY}/account/create?treasuryId={treasury_id}&idempotencyKey=restart-1\
             &name=USD+Reserve&currency=USD"
        ))
        .await;
    assert_eq!(status, 201, "account create: {account}");
    let account_id = uuid_at(&account, "id");
    written.push(Written {
        what: "account",
        path: format!("{TREASURY}/account/{account_id}"),
        record: account,
    });

    let payment = create(
        &zone,
        &format!("{TREASURY}/transaction/create/payment"),
        json!({"sourceAccountId": account_id, "amount": "1234.56", "currency": "USD",
               "paymentType": "WIRE", "reference": "INV-2026-001"}),
    )
    .await;
    written.push(Written {
        what: "payment transaction",
        path: format!("{TREASURY}/transaction/{}", uuid_at(&payment, "id")),
        record: payment.clone(),
    });

    let tax_event = create(
        &zone,
        &format!("{TREASURY}/tax-events"),
        json!({"entity_id": org_id, "event_type": "SALES_TAX", "amount": "0.17",
               "currency": "PKR", "tax_year": "2025-2026",
               "source_transaction_id": payment["id"],
               "details": {"rate": "17", "nested": {"ok": true, "list": [1, 2.5, null]}}}),
    )
    .await;
    // Tax events have no GET by id on the Mass surface: the filtered list reads them back.
    written.push(Written {
        what: "tax event (via the entity's list)",
        path: format!("{TREASURY}/tax-events?entity_id={org_id}"),
        record: json!([tax_event]),
    });

    let consent = create(
        &zone,
        &format!("{CONSENT}/consents"),
        json!({"organizationId": org_id, "operationType": "ISSUE_NEW_SHARES",
               "numBoardMemberApprovalsRequired": 1, "requestedBy": "cfo@restart.pk"}),
    )
    .await;
    let consent_id = uuid_at(&consent, "id");
    let (status, vote) = zone
        .post_empty(&format!("{CONSENT}/consents/approve/{consent_id}"))
        .await;
    assert_eq!(status, 200, "consent approve: {vote}");
    assert_eq!(vote["majorityReached"], true);
    // The approve answers the vote, not the record; the record's last state is what GET says.
    let (status, approved) = zone.get(&format!("{CONSENT}/consents/{consent_id}")).await;
    assert_eq!(status, 200, "consent get: {approved}");
    assert_eq!(approved["status"], "APPROVED");
    assert_eq!(approved["approvalCount"], 1);
    assert_eq!(approved["requestedBy"], "cfo@restart.pk");
    written.push(Written {
        what: "approved consent",
        path: format!("{CONSENT}/consents/{consent_id}"),
        record: approved,
    });

    let cap_table = create(
        &zone,
        &format!("{CONSENT}/capTables"),
        json!({"organizationId": org_id, "authorizedShares": 5_000_000, "parValue": "0.10"}),
    )
    .await;
    written.push(Written {
        what: "cap table",
        path: format!("{CONSENT}/capTables/{}", uuid_at(&cap_table, "id")),
        record: cap_table,
    });

    // Investments are open documents: keys the spec does not declare are kept as sent.
    let investment = create(
        &zone,
        &format!("{INVESTMENT}/investment"),
        json!({"organizationId": org_id, "amount": "250000.00", "currency": "USD",
               "notes": {"round": "seed"}, "investors": ["a", "b"]}),
    )
    .await;
    assert_eq!(investment["notes"], json!({"round": "seed"}));
    assert_eq!(investment["investors"], json!(["a", "b"]));
    written.push(Written {
        what: "investment",
        path: format!("{INVESTMENT}/investment/{}", uuid_at(&investment, "id")),
        record: investment,
    });

    let submission = create(
        &zone,
        &format!("{TEMPLATING}/template/sign"),
        json!({"entityId": org_id, "templateTypes": ["SHAREHOLDER_AGREEMENT"],
               "signingOrder": "PRESERVED",
               "signers": [{"email": "ceo@restart.pk", "order": 1}]}),
    )
    .await;
    written.push(Written {
        what: "submission",
        path: format!("{TEMPLATING}/submission/{}", uuid_at(&submission, "id")),
        record: submission,
    });

    // A CNIC check tied to the entity records an identity; the entity's identity list reads it.
    let (status, cnic) = zone
        .post(
            &format!("{ORG}/identity/cnic/verify"),
            json!({"cnic": "42101-1234567-3", "full_name": "Sana Malik", "entity_id": org_id}),
        )
        .await;
    assert_eq!(status, 200, "CNIC verify: {cnic}");
    let identity_id = uuid_at(&cnic, "identity_id");
    let identities_path = format!("{CONSENT}/identities?entity_id={org_id}");
    let (status, identities) = zone.get(&identities_path).await;
    assert_eq!(status, 200, "identities: {identities}");
    let listed = identities.as_array().cloned().unwrap_or_default();
    assert_eq!(listed.len(), 1, "one identity for the entity: {identities}");
    assert_eq!(listed[0]["id"], identity_id.as_str());
    assert_eq!(listed[0]["entityId"], org_id.as_str());
    assert_eq!(listed[0]["kind"], "CNIC");
    assert_eq!(listed[0]["number"], "4210112345673");
    assert_eq!(listed[0]["name"], "Sana Malik");
    assert_eq!(listed[0]["mock"], true);
    written.push(Written {
        what: "CNIC identity (via the entity's list)",
        path: identities_path,
        record: identities,
    });

    // Before the restart every GET already answers what the writes answered.
    for w in &written {
        let (status, now) = zone.get(&w.path).await;
        assert_eq!(
            (status, &now),
            (200, &w.record),
            "{} before restart",
            w.what
        );
    }
    let (status, gone) = zone.get(&format!("{ORG}/organization/{doomed_id}")).await;
    assert_eq!(status, 404, "deleted organization before restart: {gone}");
    let expected_orgs = json!([updated, last]);
    let (status, orgs) = zone.get(&format!("{ORG}/organization")).await;
    assert_eq!((status, &orgs), (200, &expected_orgs));

    zone.stop().await;

    // A new server, a new process state, the same database and key.
    let zone = TestZone::start_in(db, true, &data_dir).await;
    for w in &written {
        let (status, now) = zone.get(&w.path).await;
        assert_eq!((status, &now), (200, &w.record), "{} after restart", w.what);
    }
    let (status, gone) = zone.get(&format!("{ORG}/organization/{doomed_id}")).await;
    assert_eq!(
        status, 404,
        "the deleted organization stays deleted: {gone}"
    );
    assert_error(&gone, "NOT_FOUND");
    // Deleted in the database itself, not hidden by the server that deleted it.
    let stored = zone.state.db.get("organizations", &doomed_id).await;
    assert!(
        matches!(stored, Ok(None)),
        "the store still holds it: {stored:?}"
    );
    let (status, orgs) = zone.get(&format!("{ORG}/organization")).await;
    assert_eq!(
        (status, &orgs),
        (200, &expected_orgs),
        "the list omits the deleted organization and keeps insertion order"
    );
    let (status, by_ids) = zone
        .get(&format!("{ORG}/organization?ids={doomed_id},{org_id}"))
        .await;
    assert_eq!(
        (status, &by_ids),
        (200, &json!([updated])),
        "ids= skips the deleted one"
    );

    // The restarted zone keeps writing where the first one stopped.
    let (status, again) = zone
        .put(
            &format!("{ORG}/organization/{org_id}"),
            json!({"tags": ["restarted"]}),
        )
        .await;
    assert_eq!(status, 200, "update after restart: {again}");
    assert_eq!(again["tags"], json!(["restarted"]));
    assert_eq!(again["jurisdiction"], "pk");
    assert_eq!(again["createdAt"], updated["createdAt"]);
    zone.stop().await;
}

mez_tests::on_sqlite_and_postgres!(every_primitive_reads_back_identically_after_a_restart);
