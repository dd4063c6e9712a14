// SPDX-License-Identifier: BUSL-1.1
//! The 13-step sovereign pipeline (reference §11.1) against the real zone over HTTP.
//!
//! The earlier implementation ran these steps against a copy of the server written inside the
//! test. Here every step goes to `mez_api::serve` on a loopback port, each step feeds on the
//! previous one's output, and the end checks that the store holds exactly what the API
//! answered. It runs once on SQLite and once on PostgreSQL.

use mez_tests::json::{assert_absent, assert_record_meta, assert_timestamp_at, str_at, uuid_at};
use mez_tests::{TestDb, TestZone};
use serde_json::{Value, json};

const ORG: &str = "/organization-info/api/v1";
const TREASURY: &str = "/treasury-info/api/v1";
const CONSENT: &str = "/consent-info/api/v1";
const TEMPLATING: &str = "/templating-engine/api/v1";

async fn thirteen_step_pipeline_chains_every_primitive(db: &TestDb) {
    let zone = TestZone::sovereign(db).await;

    // a) The organization everything else hangs off.
    let (status, org) = zone
        .post(
            &format!("{ORG}/organization/create"),
            json!({"name": "Sovereign Corp PK", "jurisdiction": "pk-sifc",
                   "tags": ["sovereign", "govos"]}),
        )
        .await;
    assert_eq!(status, 201, "organization create: {org}");
    let org_id = assert_record_meta(&org, true);
    assert_eq!(org["name"], "Sovereign Corp PK");
    assert_eq!(org["jurisdiction"], "pk-sifc");
    assert_eq!(org["status"], "ACTIVE");
    assert_eq!(org["tags"], json!(["sovereign", "govos"]));
    let (status, fetched) = zone.get(&format!("{ORG}/organization/{org_id}")).await;
    assert_eq!(
        (status, &fetched),
        (200, &org),
        "the organization reads back as created"
    );
    let (status, search) = zone
        .post(
            &format!("{ORG}/organization/search"),
            json!({"query": "sovereign"}),
        )
        .await;
    assert_eq!(status, 200, "organization search: {search}");
    assert_eq!(search["content"], json!([org]));
    assert_eq!(search["totalElements"], 1);
    assert_eq!(search["totalPages"], 1);
    assert_eq!(search["number"], 0);

    // b) Its treasury.
    let (status, treasury) = zone
        .post(
            &format!("{TREASURY}/treasury/create"),
            json!({"entityId": org_id, "entityName": "Sovereign Corp PK"}),
        )
        .await;
    assert_eq!(status, 201, "treasury create: {treasury}");
    let treasury_id = assert_record_meta(&treasury, true);
    assert_eq!(treasury["entityId"], org_id.as_str());
    assert_eq!(
        treasury["name"], "Sovereign Corp PK",
        "entityName is stored as name"
    );
    assert_eq!(treasury["status"], "ACTIVE");
    assert_eq!(treasury["context"], "MASS");

    // c) An account in the treasury; the Mass surface sends its input as a query string.
    let (status, account) = zone
        .post_empty(&format!(
            "{TREASURY}/account/create?treasuryId={treasury_id}&idempotencyKey=idem-1\
             &name=PKR+Operating&currency=PKR"
        ))
        .await;
    assert_eq!(status, 201, "account create: {account}");
    let account_id = assert_record_meta(&account, true);
    assert_eq!(account["treasuryId"], treasury_id.as_str());
    assert_eq!(
        account["entityId"],
        org_id.as_str(),
        "the account inherits the entity"
    );
    assert_eq!(account["name"], "PKR Operating", "`+` decodes to a space");
    assert_eq!(account["currency"], "PKR");
    assert_eq!(account["balance"], "0.00");
    assert_eq!(account["available"], "0.00");
    assert_eq!(account["status"], "ACTIVE");
    assert_absent(&account, &["idempotencyKey"]);

    // d) A payment out of the account.
    let (status, payment) = zone
        .post(
            &format!("{TREASURY}/transaction/create/payment"),
            json!({"sourceAccountId": account_id, "amount": "50000.00", "currency": "PKR",
                   "paymentType": "PAYMENT"}),
        )
        .await;
    assert_eq!(status, 201, "payment create: {payment}");
    let payment_id = assert_record_meta(&payment, false);
    assert_eq!(payment["accountId"], account_id.as_str());
    assert_eq!(
        payment["entityId"],
        org_id.as_str(),
        "the payment inherits the entity"
    );
    assert_eq!(payment["amount"], "50000.00");
    assert_eq!(payment["currency"], "PKR");
    assert_eq!(payment["transactionType"], "PAYMENT");
    assert_eq!(payment["status"], "PENDING");
    assert_eq!(payment["direction"], "OUTBOUND");

    // e) A tax event for the entity (snake_case request, camelCase record).
    let (status, tax_event) = zone
        .post(
            &format!("{TREASURY}/tax-events"),
            json!({"entity_id": org_id, "event_type": "WITHHOLDING_AT_SOURCE",
                   "amount": "10000.00", "currency": "PKR", "tax_year": "2025-2026",
                   "details": {}}),
        )
        .await;
    assert_eq!(status, 201, "tax event create: {tax_event}");
    let tax_event_id = assert_record_meta(&tax_event, false);
    assert_eq!(tax_event["entityId"], org_id.as_str());
    assert_eq!(tax_event["eventType"], "WITHHOLDING_AT_SOURCE");
    assert_eq!(tax_event["amount"], "10000.00");
    assert_eq!(tax_event["currency"], "PKR");
    assert_eq!(tax_event["taxYear"], "2025-2026");
    assert_eq!(tax_event["details"], json!({}));
    let (status, events) = zone
        .get(&format!(
            "{TREASURY}/tax-events?entity_id={org_id}&tax_year=2025-2026"
        ))
        .await;
    assert_eq!(
        (status, &events),
        (200, &json!([tax_event])),
        "tax events of the entity"
    );

    // f) Withholding on a goods payment for a filer (NTN not starting with 0 or 9).
    let (status, withholding) = zone
        .post(
            &format!("{TREASURY}/withholding/compute"),
            json!({"entity_id": org_id, "transaction_amount": "100000.00", "currency": "PKR",
                   "transaction_type": "payment_for_goods", "ntn": "1234567",
                   "jurisdiction_id": "PK"}),
        )
        .await;
    assert_eq!(status, 200, "withholding compute: {withholding}");
    assert_eq!(withholding["entity_id"], org_id.as_str());
    assert_eq!(withholding["ntn_status"], "Filer");
    assert_eq!(withholding["gross_amount"], "100000.00");
    assert_eq!(withholding["withholding_rate"], "4.5");
    assert_eq!(withholding["withholding_amount"], "4500.00");
    assert_eq!(withholding["net_amount"], "95500.00");
    assert_eq!(withholding["currency"], "PKR");
    assert_eq!(withholding["withholding_type"], "payment_for_goods");

    // g) A board consent for an equity offer.
    let (status, consent) = zone
        .post(
            &format!("{CONSENT}/consents"),
            json!({"organizationId": org_id, "operationType": "EQUITY_OFFER",
                   "numBoardMemberApprovalsRequired": 1}),
        )
        .await;
    assert_eq!(status, 201, "consent create: {consent}");
    let consent_id = assert_record_meta(&consent, true);
    assert_eq!(consent["organizationId"], org_id.as_str());
    assert_eq!(consent["operationType"], "EQUITY_OFFER");
    assert_eq!(consent["status"], "PENDING");
    assert_eq!(consent["numVotesRequired"], 1);
    assert_eq!(consent["approvalCount"], 0);
    assert_eq!(consent["rejectionCount"], 0);
    assert_eq!(consent["votes"], json!([]));

    // h) One approval reaches the one vote required.
    let (status, vote) = zone
        .post_empty(&format!("{CONSENT}/consents/approve/{consent_id}"))
        .await;
    assert_eq!(status, 200, "consent approve: {vote}");
    assert_eq!(vote["consentId"], consent_id.as_str());
    assert_eq!(vote["organizationId"], org_id.as_str());
    assert_eq!(vote["vote"], "APPROVED");
    assert_eq!(vote["majorityReached"], true);
    let (status, approved) = zone.get(&format!("{CONSENT}/consents/{consent_id}")).await;
    assert_eq!(status, 200, "consent get: {approved}");
    assert_eq!(approved["status"], "APPROVED");
    assert_eq!(approved["approvalCount"], 1);
    assert_eq!(approved["createdAt"], consent["createdAt"]);

    // i) A cap table; the share counts are derived from authorizedShares.
    let (status, cap_table) = zone
        .post(
            &format!("{CONSENT}/capTables"),
            json!({"organizationId": org_id, "authorizedShares": 1_000_000}),
        )
        .await;
    assert_eq!(status, 201, "cap table create: {cap_table}");
    let cap_table_id = assert_record_meta(&cap_table, true);
    assert_eq!(cap_table["organizationId"], org_id.as_str());
    assert_eq!(cap_table["authorizedShares"], 1_000_000);
    assert_eq!(cap_table["outstandingShares"], 0);
    assert_eq!(cap_table["unreservedShares"], 1_000_000);
    let classes = cap_table["shareClasses"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(classes.len(), 1, "one Common class: {cap_table}");
    assert_eq!(classes[0]["name"], "Common");
    assert_eq!(classes[0]["classType"], "COMMON");
    assert_eq!(classes[0]["authorizedShares"], 1_000_000);
    let (status, by_org) = zone
        .get(&format!("{CONSENT}/capTables/organization/{org_id}"))
        .await;
    assert_eq!(
        (status, &by_org),
        (200, &cap_table),
        "cap table by organization"
    );

    // j) A CNIC check: dashes are stripped, and the answer says it comes from a mock.
    let (status, cnic) = zone
        .post(
            &format!("{ORG}/identity/cnic/verify"),
            json!({"cnic": "12345-1234567-1", "full_name": "Ali Khan"}),
        )
        .await;
    assert_eq!(status, 200, "CNIC verify: {cnic}");
    assert_eq!(cnic["cnic"], "1234512345671");
    assert_eq!(cnic["verified"], true);
    assert_eq!(cnic["full_name"], "Ali Khan");
    assert_eq!(
        cnic["details"]["mock"], true,
        "a mock check must say so: {cnic}"
    );
    let cnic_identity_id = uuid_at(&cnic, "identity_id");
    assert_timestamp_at(&cnic, "verification_timestamp");

    // k) An NTN check for a filer.
    let (status, ntn) = zone
        .post(
            &format!("{ORG}/identity/ntn/verify"),
            json!({"ntn": "1234567", "entity_name": "Sovereign Corp PK"}),
        )
        .await;
    assert_eq!(status, 200, "NTN verify: {ntn}");
    assert_eq!(ntn["ntn"], "1234567");
    assert_eq!(ntn["tax_status"], "Filer");
    assert_eq!(ntn["registered_name"], "Sovereign Corp PK");
    assert_eq!(
        ntn["details"]["mock"], true,
        "a mock check must say so: {ntn}"
    );
    let ntn_identity_id = uuid_at(&ntn, "identity_id");

    // l) A signing submission for the incorporation certificate.
    let (status, submission) = zone
        .post(
            &format!("{TEMPLATING}/template/sign"),
            json!({"entityId": org_id, "templateTypes": ["CERTIFICATE_OF_INCORPORATION"],
                   "signers": []}),
        )
        .await;
    assert_eq!(status, 201, "template sign: {submission}");
    let submission_id = assert_record_meta(&submission, true);
    assert_eq!(submission["entityId"], org_id.as_str());
    assert_eq!(
        submission["templateTypes"],
        json!(["CERTIFICATE_OF_INCORPORATION"])
    );
    assert_eq!(submission["signers"], json!([]));
    assert_eq!(submission["status"], "PENDING");
    assert_eq!(submission["signingOrder"], "RANDOM");
    assert_eq!(submission["context"], "SOVEREIGN_GOVOS");

    // m) The submission reads back whole.
    let (status, fetched) = zone
        .get(&format!("{TEMPLATING}/submission/{submission_id}"))
        .await;
    assert_eq!((status, &fetched), (200, &submission), "submission get");

    // The store holds exactly one record per step, identical to what the API answered: the
    // answers are not assembled apart from what was written.
    assert_eq!(zone.stored("organizations").await, [org]);
    assert_eq!(zone.stored("treasuries").await, [treasury]);
    assert_eq!(zone.stored("accounts").await, [account]);
    assert_eq!(zone.stored("transactions").await, [payment]);
    assert_eq!(zone.stored("tax_events").await, [tax_event]);
    assert_eq!(zone.stored("consents").await, [approved]);
    assert_eq!(zone.stored("cap_tables").await, [cap_table]);
    assert_eq!(zone.stored("submissions").await, [submission]);
    let identities = zone.stored("identities").await;
    let ids: Vec<&str> = identities.iter().map(|i| str_at(i, "id")).collect();
    assert_eq!(ids, [cnic_identity_id.as_str(), ntn_identity_id.as_str()]);
    assert_eq!(identities[0]["kind"], "CNIC");
    assert_eq!(identities[0]["number"], "1234512345671");
    assert_eq!(identities[0]["mock"], true);
    assert_eq!(identities[1]["kind"], "NTN");
    assert_eq!(identities[1]["taxStatus"], "Filer");
    // The ids of the primitives are all distinct: no step reused another's record.
    let mut all = vec![
        org_id,
        treasury_id,
        account_id,
        payment_id,
        tax_event_id,
        consent_id,
        cap_table_id,
        submission_id,
    ];
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 8);

    zone.stop().await;
}

/// Pagination of list routes follows insertion order, page by page, on both backends.
async fn organization_list_pages_follow_insertion_order(db: &TestDb) {
    let zone = TestZone::sovereign(db).await;
    let mut created: Vec<Value> = Vec::new();
    for i in 0..5 {
        let (status, org) = zone
            .post(
                &format!("{ORG}/organization/create"),
                json!({"name": format!("Org {i}")}),
            )
            .await;
        assert_eq!(status, 201, "create {i}: {org}");
        created.push(org);
    }
    let (status, all) = zone.get(&format!("{ORG}/organization")).await;
    assert_eq!((status, &all), (200, &json!(created)));
    let (status, page1) = zone.get(&format!("{ORG}/organization?page=1&size=2")).await;
    assert_eq!((status, &page1), (200, &json!(created[2..4])));
    let (status, page2) = zone.get(&format!("{ORG}/organization?page=2&size=2")).await;
    assert_eq!((status, &page2), (200, &json!(created[4..5])));
    let (status, search) = zone
        .post(
            &format!("{ORG}/organization/search"),
            json!({"query": "org", "page": 1, "size": 2}),
        )
        .await;
    assert_eq!(status, 200, "search: {search}");
    assert_eq!(search["content"], json!(created[2..4]));
    assert_eq!(search["totalElements"], 5);
    assert_eq!(search["totalPages"], 3);
    assert_eq!(search["number"], 1);
    assert_eq!(search["size"], 2);
    zone.stop().await;
}

mez_tests::on_sqlite_and_postgres!(
    thirteen_step_pipeline_chains_every_primitive,
    organization_list_pages_follow_insertion_order,
);
