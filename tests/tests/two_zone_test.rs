// SPDX-License-Identifier: BUSL-1.1
//! The two-zone topology over real HTTP: zone B is sovereign (it holds the Mass records and
//! serves the direct Mass surface), zone A is a proxy whose every `MASS_*_URL` points at B.
//!
//! Both are the real server (`mez_api::serve`) on loopback ports, each with its own database,
//! as `deploy/two-zone-local.sh` runs them. Every `/v1` write goes to A. A must answer with
//! its own envelope (a credential that A issued and that A verifies), the Mass records must
//! exist on B's direct surface and nowhere in A's database, and A must keep exactly one
//! attestation and one audit event per write. Reads through A return B's records, and A does
//! not serve the direct surface at all. Runs once on SQLite and once on PostgreSQL.

use std::collections::BTreeSet;

use mez_tests::json::{assert_error, str_at};
use mez_tests::proxy::{count_rows, start_proxy};
use mez_tests::v1::{Envelope, assert_chain_valid, assert_envelope, audit_events};
use mez_tests::{TestDb, TestZone};
use serde_json::{Value, json};

const ORG: &str = "/organization-info/api/v1";
const TREASURY: &str = "/treasury-info/api/v1";
const CONSENT: &str = "/consent-info/api/v1";

/// What the spec (`spec/zone.yaml`) says about one `/v1` write.
struct Write {
    method: &'static str,
    path: &'static str,
    status: u16,
    credential: &'static str,
    domains: &'static [&'static str],
    event: &'static str,
    resource: &'static str,
}

const ENTITY_DOMAINS: &[&str] = &["aml", "kyc", "sanctions", "tax", "corporate", "licensing"];
const IDENTITY_DOMAINS: &[&str] = &["kyc", "sanctions", "data_privacy"];

const CREATE_ENTITY: Write = Write {
    method: "POST",
    path: "/v1/entities",
    status: 201,
    credential: "MezFormationComplianceCredential",
    domains: ENTITY_DOMAINS,
    event: "entity.created",
    resource: "entity",
};
const UPDATE_ENTITY: Write = Write {
    method: "PUT",
    path: "/v1/entities/{id}",
    status: 200,
    credential: "MezFormationComplianceCredential",
    domains: ENTITY_DOMAINS,
    event: "entity.updated",
    resource: "entity",
};
const CREATE_CAP_TABLE: Write = Write {
    method: "POST",
    path: "/v1/ownership/cap-tables",
    status: 201,
    credential: "MezOwnershipComplianceCredential",
    domains: &["aml", "kyc", "sanctions", "securities", "corporate"],
    event: "ownership.cap_table_created",
    resource: "cap_table",
};
const OPEN_ACCOUNT: Write = Write {
    method: "POST",
    path: "/v1/fiscal/accounts",
    status: 201,
    credential: "MezFiscalComplianceCredential",
    domains: &["aml", "kyc", "sanctions", "tax", "banking"],
    event: "fiscal.account_created",
    resource: "account",
};
const PAYMENT: Write = Write {
    method: "POST",
    path: "/v1/fiscal/payments",
    status: 201,
    credential: "MezPaymentComplianceCredential",
    domains: &["aml", "sanctions", "tax", "payments", "banking"],
    event: "fiscal.payment_initiated",
    resource: "payment",
};
const VERIFY_IDENTITY: Write = Write {
    method: "POST",
    path: "/v1/identity/verify",
    status: 200,
    credential: "MezIdentityComplianceCredential",
    domains: IDENTITY_DOMAINS,
    event: "identity.verified",
    resource: "identity",
};
const VERIFY_CNIC: Write = Write {
    method: "POST",
    path: "/v1/identity/cnic/verify",
    status: 200,
    credential: "MezIdentityComplianceCredential",
    domains: IDENTITY_DOMAINS,
    event: "identity.cnic_verified",
    resource: "identity",
};
const VERIFY_NTN: Write = Write {
    method: "POST",
    path: "/v1/identity/ntn/verify",
    status: 200,
    credential: "MezIdentityComplianceCredential",
    domains: IDENTITY_DOMAINS,
    event: "identity.ntn_verified",
    resource: "identity",
};
const CREATE_CONSENT: Write = Write {
    method: "POST",
    path: "/v1/consent",
    status: 201,
    credential: "MezConsentComplianceCredential",
    domains: &["aml", "sanctions", "corporate"],
    event: "consent.created",
    resource: "consent",
};

/// Every `/v1` write, in the order the scenario runs them.
const WRITES: [&Write; 9] = [
    &CREATE_ENTITY,
    &UPDATE_ENTITY,
    &CREATE_CAP_TABLE,
    &OPEN_ACCOUNT,
    &PAYMENT,
    &VERIFY_IDENTITY,
    &VERIFY_CNIC,
    &VERIFY_NTN,
    &CREATE_CONSENT,
];

/// Every `/v1` read the scenario sends through A.
const READS: [&str; 5] = [
    "/v1/entities",
    "/v1/entities/{id}",
    "/v1/ownership/cap-tables/{id}",
    "/v1/identity/{id}",
    "/v1/consent/{id}",
];

/// The collections of Mass records, which a proxy zone must never hold.
const MASS_COLLECTIONS: [&str; 8] = [
    "organizations",
    "treasuries",
    "accounts",
    "transactions",
    "tax_events",
    "consents",
    "cap_tables",
    "identities",
];

/// The scenario covers every `/v1` route of the product's route table, so a route added to
/// the spec fails this test until the two-zone scenario runs it too.
#[test]
fn the_two_zone_scenario_covers_every_v1_route() {
    let routes = &mez_api::surface::V1_ROUTES;
    let writes: BTreeSet<(String, String)> = routes
        .iter()
        .filter(|r| r.method != "GET")
        .map(|r| (r.method.to_owned(), r.path.to_owned()))
        .collect();
    let covered: BTreeSet<(String, String)> = WRITES
        .iter()
        .map(|w| (w.method.to_owned(), w.path.to_owned()))
        .collect();
    assert_eq!(writes, covered, "the /v1 writes of the spec");
    let reads: BTreeSet<&str> = routes
        .iter()
        .filter(|r| r.method == "GET")
        .map(|r| r.path)
        .collect();
    assert_eq!(
        reads,
        READS.into_iter().collect::<BTreeSet<_>>(),
        "the /v1 reads of the spec"
    );
}

/// Sends one `/v1` write to zone A and checks what it answered: the spec's status, a full
/// envelope of the route's credential type, issued by A (not B), and verified by A.
async fn write_on_a(zone_a: &TestZone, write: &Write, path: &str, body: Value) -> Envelope {
    let (status, answer) = match write.method {
        "POST" => zone_a.post(path, body).await,
        "PUT" => zone_a.put(path, body).await,
        other => panic!("no /v1 write uses {other}"),
    };
    assert_eq!(
        status, write.status,
        "{} {path} on the proxy zone: {answer}",
        write.method
    );
    let envelope = assert_envelope(&answer, write.credential, write.domains);
    assert_eq!(
        envelope.issuer,
        zone_a.state.zone_did(),
        "{} {path}: the proxy zone issues the credential under its own did:key",
        write.method
    );
    let (status, verdict) = zone_a
        .post("/v1/credentials/verify", envelope.credential.clone())
        .await;
    assert_eq!(status, 200, "verify on the proxy zone: {verdict}");
    assert_eq!(
        verdict,
        json!({"verified": true, "reason": null, "status": {"revoked": false, "suspended": false}}),
        "{} {path}: the proxy zone verifies its own credential",
        write.method
    );
    envelope
}

/// GETs `path` on zone B's direct surface, asserting a 200.
async fn on_b(zone_b: &TestZone, path: &str) -> Value {
    let (status, body) = zone_b.get(path).await;
    assert_eq!(status, 200, "GET {path} on the sovereign zone: {body}");
    body
}

async fn every_v1_write_on_the_proxy_lands_on_the_sovereign_zone(db_a: &TestDb, db_b: &TestDb) {
    let zone_b = TestZone::sovereign(db_b).await;
    let zone_a = start_proxy(db_a, &zone_b).await;
    let did_a = zone_a.state.zone_did().to_owned();
    let did_b = zone_b.state.zone_did().to_owned();
    assert_ne!(did_a, did_b, "the two zones have keys of their own");
    assert_ne!(
        zone_a.token, zone_b.token,
        "the two zones have tokens of their own"
    );

    // 1. The entity.
    let created = write_on_a(
        &zone_a,
        &CREATE_ENTITY,
        "/v1/entities",
        json!({"entity_type": "llc", "legal_name": "Two Zone Trading Ltd",
               "jurisdiction_id": "pk",
               "beneficial_owners": [{"name": "Ali Khan", "ownership_percentage": "60"}]}),
    )
    .await;
    let entity_id = created.resource_id.clone();
    assert_eq!(created.mass_response["name"], "Two Zone Trading Ltd");
    assert_eq!(created.mass_response["entityType"], "llc");
    assert_eq!(created.mass_response["jurisdiction"], "pk");

    // 2. Its update.
    let updated = write_on_a(
        &zone_a,
        &UPDATE_ENTITY,
        &format!("/v1/entities/{entity_id}"),
        json!({"legal_name": "Two Zone Trading Renamed Ltd", "tags": ["renamed"]}),
    )
    .await;
    assert_eq!(updated.resource_id, entity_id);
    assert_eq!(
        updated.mass_response["name"],
        "Two Zone Trading Renamed Ltd"
    );
    assert_eq!(updated.mass_response["tags"], json!(["renamed"]));
    assert_eq!(
        updated.mass_response["jurisdiction"], "pk",
        "absent fields stay"
    );

    // 3. A cap table.
    let cap_table = write_on_a(
        &zone_a,
        &CREATE_CAP_TABLE,
        "/v1/ownership/cap-tables",
        json!({"entity_id": entity_id,
               "share_classes": [{"name": "Common", "authorized_shares": 1_000_000,
                                  "issued_shares": 250_000, "par_value": "1.00",
                                  "voting_rights": true}]}),
    )
    .await;
    let cap_table_id = cap_table.resource_id.clone();
    assert_eq!(
        cap_table.mass_response["organizationId"],
        entity_id.as_str()
    );
    assert_eq!(cap_table.mass_response["authorizedShares"], 1_000_000);
    assert_eq!(cap_table.mass_response["outstandingShares"], 250_000);

    // 4. An account, in a treasury the proxy finds or creates on B.
    let account = write_on_a(
        &zone_a,
        &OPEN_ACCOUNT,
        "/v1/fiscal/accounts",
        json!({"entity_id": entity_id, "account_type": "operating", "currency": "PKR"}),
    )
    .await;
    let account_id = account.resource_id.clone();
    assert_eq!(account.mass_response["entityId"], entity_id.as_str());
    assert_eq!(account.mass_response["currency"], "PKR");
    assert_ne!(
        account.mass_response["treasuryId"],
        entity_id.as_str(),
        "the entity id is never sent as a treasury id"
    );

    // 5. A payment out of it.
    let payment = write_on_a(
        &zone_a,
        &PAYMENT,
        "/v1/fiscal/payments",
        json!({"from_account_id": account_id, "amount": "50000.00", "currency": "PKR",
               "reference": "invoice-1", "ntn": "1234567"}),
    )
    .await;
    let payment_id = payment.resource_id.clone();
    assert_eq!(payment.mass_response["accountId"], account_id.as_str());
    assert_eq!(payment.mass_response["amount"], "50000.00");

    // 6-8. The three identity checks.
    let identity = write_on_a(
        &zone_a,
        &VERIFY_IDENTITY,
        "/v1/identity/verify",
        json!({"identity_type": "individual",
               "linked_ids": [{"id_type": "CNIC", "id_value": "12345-1234567-1"}],
               "full_name": "Ali Khan", "entity_id": entity_id}),
    )
    .await;
    assert_eq!(identity.mass_response["cnic"], "1234512345671");
    let cnic = write_on_a(
        &zone_a,
        &VERIFY_CNIC,
        "/v1/identity/cnic/verify",
        json!({"cnic": "42101-7654321-3", "full_name": "Sara Ahmed", "entity_id": entity_id}),
    )
    .await;
    assert_eq!(cnic.mass_response["cnic"], "4210176543213");
    let ntn = write_on_a(
        &zone_a,
        &VERIFY_NTN,
        "/v1/identity/ntn/verify",
        json!({"ntn": "1234567", "entity_name": "Two Zone Trading Renamed Ltd",
               "entity_id": entity_id}),
    )
    .await;
    assert_eq!(ntn.mass_response["tax_status"], "Filer");
    let identity_ids = [
        identity.resource_id.clone(),
        cnic.resource_id.clone(),
        ntn.resource_id.clone(),
    ];

    // 9. A consent.
    let consent = write_on_a(
        &zone_a,
        &CREATE_CONSENT,
        "/v1/consent",
        json!({"consent_type": "EQUITY_OFFER", "description": "Seed round",
               "parties": [{"entity_id": entity_id, "role": "issuer"}],
               "num_votes_required": 1}),
    )
    .await;
    let consent_id = consent.resource_id.clone();
    assert_eq!(consent.mass_response["organizationId"], entity_id.as_str());
    assert_eq!(consent.mass_response["operationType"], "EQUITY_OFFER");

    let envelopes = [
        &created, &updated, &cap_table, &account, &payment, &identity, &cnic, &ntn, &consent,
    ];

    // A's credentials stand on their own: B, which shares no secret with A, verifies them
    // from the did:key alone, and a credential altered after signing fails on A.
    for envelope in envelopes {
        let (status, verdict) = zone_b
            .post("/v1/credentials/verify", envelope.credential.clone())
            .await;
        assert_eq!(
            (status, verdict),
            (
                200,
                json!({"verified": true, "reason": null, "status": null})
            ),
            "B verifies A's credential about {}",
            envelope.resource_id
        );
    }
    let mut tampered = created.credential.clone();
    tampered["credentialSubject"]["resource_id"] = json!(uuid::Uuid::new_v4().to_string());
    let (status, verdict) = zone_a.post("/v1/credentials/verify", tampered).await;
    assert_eq!(status, 200, "{verdict}");
    assert_eq!(
        verdict["verified"], false,
        "an altered credential fails: {verdict}"
    );

    // The records live on B's direct surface, exactly as A's envelopes reported them.
    let org_on_b = on_b(&zone_b, &format!("{ORG}/organization/{entity_id}")).await;
    assert_eq!(
        org_on_b, updated.mass_response,
        "B holds the updated entity"
    );
    let cap_on_b = on_b(&zone_b, &format!("{CONSENT}/capTables/{cap_table_id}")).await;
    assert_eq!(cap_on_b, cap_table.mass_response);
    let account_on_b = on_b(&zone_b, &format!("{TREASURY}/account/{account_id}")).await;
    assert_eq!(account_on_b, account.mass_response);
    let treasury_on_b = on_b(&zone_b, &format!("{TREASURY}/treasury/entity/{entity_id}")).await;
    assert_eq!(
        account_on_b["treasuryId"], treasury_on_b["id"],
        "the account is in the entity's own treasury"
    );
    let payment_on_b = on_b(&zone_b, &format!("{TREASURY}/transaction/{payment_id}")).await;
    assert_eq!(payment_on_b, payment.mass_response);
    let tax_on_b = on_b(
        &zone_b,
        &format!("{TREASURY}/tax-events?entity_id={entity_id}"),
    )
    .await;
    let tax_events = tax_on_b.as_array().cloned().unwrap_or_default();
    assert_eq!(tax_events.len(), 1, "one withholding event: {tax_on_b}");
    assert_eq!(tax_events[0]["sourceTransactionId"], payment_id.as_str());
    assert_eq!(tax_events[0]["eventType"], "WITHHOLDING_AT_SOURCE");
    let mut identities_on_b = Vec::new();
    for id in &identity_ids {
        identities_on_b.push(on_b(&zone_b, &format!("{CONSENT}/identities/{id}")).await);
    }
    let kinds: Vec<&Value> = identities_on_b.iter().map(|i| &i["kind"]).collect();
    assert_eq!(kinds, [&json!("CNIC"), &json!("CNIC"), &json!("NTN")]);
    for record in &identities_on_b {
        assert_eq!(record["entityId"], entity_id.as_str(), "{record}");
    }
    let consent_on_b = on_b(&zone_b, &format!("{CONSENT}/consents/{consent_id}")).await;
    assert_eq!(consent_on_b, consent.mass_response);
    for (collection, count) in [
        ("organizations", 1),
        ("treasuries", 1),
        ("accounts", 1),
        ("transactions", 1),
        ("tax_events", 1),
        ("consents", 1),
        ("cap_tables", 1),
        ("identities", 3),
    ] {
        assert_eq!(
            zone_b.stored(collection).await.len(),
            count,
            "B's {collection}: each Mass write happened once, retries included"
        );
    }
    assert!(
        zone_b.stored("attestations").await.is_empty(),
        "the credentials are A's: B issued none"
    );
    // B's own chain records its direct writes, by B, and verifies.
    let b_events = audit_events(&zone_b).await;
    let b_types: Vec<&str> = b_events.iter().map(|e| str_at(e, "event_type")).collect();
    assert_eq!(
        b_types,
        [
            "organization.created",
            "organization.updated",
            "cap_table.created",
            "treasury.created",
            "account.created",
            "transaction.payment_created",
            "tax_event.recorded",
            "identity.cnic_verified",
            "identity.cnic_verified",
            "identity.ntn_verified",
            "consent.created",
        ],
        "B's audit chain holds its direct writes, once each"
    );
    assert!(b_events.iter().all(|e| e["actor"] == did_b.as_str()));
    assert_chain_valid(&zone_b, b_events.len()).await;

    // A holds one attestation per write, each carrying the credential it answered with.
    let attestations = zone_a.stored("attestations").await;
    assert_eq!(
        attestations.len(),
        WRITES.len(),
        "one attestation per write"
    );
    for ((attestation, envelope), write) in attestations.iter().zip(envelopes).zip(WRITES) {
        assert_eq!(attestation["id"], envelope.attestation_id.as_str());
        assert_eq!(attestation["resourceType"], write.resource);
        assert_eq!(attestation["resourceId"], envelope.resource_id.as_str());
        assert_eq!(attestation["attestationType"], write.credential);
        assert_eq!(attestation["issuer"], did_a.as_str());
        assert_eq!(attestation["credential"], envelope.credential);
        let (status, fetched) = zone_a
            .get(&format!("/v1/attestations/{}", envelope.attestation_id))
            .await;
        assert_eq!((status, &fetched), (200, attestation));
    }
    // ...and one audit event per write, by A, in order, in a chain that verifies.
    let a_events = audit_events(&zone_a).await;
    let a_types: Vec<&str> = a_events.iter().map(|e| str_at(e, "event_type")).collect();
    let expected: Vec<&str> = WRITES.iter().map(|w| w.event).collect();
    assert_eq!(a_types, expected, "A's audit chain: one event per write");
    for ((event, envelope), write) in a_events.iter().zip(envelopes).zip(WRITES) {
        assert_eq!(event["actor"], did_a.as_str(), "{event}");
        assert_eq!(event["resource_type"], write.resource, "{event}");
        assert_eq!(
            event["resource_id"],
            envelope.resource_id.as_str(),
            "{event}"
        );
    }
    assert_chain_valid(&zone_a, WRITES.len()).await;

    // ...and no Mass record at all.
    for collection in MASS_COLLECTIONS {
        assert_eq!(
            zone_a.stored(collection).await,
            Vec::<Value>::new(),
            "the proxy zone holds no {collection}"
        );
    }
    assert_eq!(
        count_rows(
            db_a,
            "records",
            Some(
                "collection NOT IN ('attestations', 'credential_status', 'policy_actions', \
                 'hook_initiate_payment_withholding_totals')"
            )
        )
        .await,
        0,
        "the proxy zone's store holds attestations, their credentials' status, the actions \
         its policies produced and the withholding totals it keeps, nothing else"
    );
    // The payment's withholding, kept by the proxy zone for its trigger.
    let totals = zone_a
        .stored("hook_initiate_payment_withholding_totals")
        .await;
    assert_eq!(totals.len(), 1, "{totals:?}");
    // The payment fired withholding_due on the proxy zone (its policies are its own), and
    // withholding_due_execute recorded the action there.
    let actions = zone_a.stored("policy_actions").await;
    assert_eq!(actions.len(), 1, "{actions:?}");
    assert_eq!(actions[0]["policyId"], "withholding_due_execute");
    assert_eq!(
        zone_a.stored("credential_status").await.len(),
        WRITES.len(),
        "one status record per credential the proxy zone issued"
    );
    assert_eq!(count_rows(db_a, "audit_events", None).await, 9);

    // Reads through A answer B's records.
    for (a_path, b_path) in [
        (
            format!("/v1/entities/{entity_id}"),
            format!("{ORG}/organization/{entity_id}"),
        ),
        ("/v1/entities".to_owned(), format!("{ORG}/organization")),
        (
            format!("/v1/ownership/cap-tables/{cap_table_id}"),
            format!("{CONSENT}/capTables/{cap_table_id}"),
        ),
        (
            format!("/v1/consent/{consent_id}"),
            format!("{CONSENT}/consents/{consent_id}"),
        ),
        (
            format!("/v1/identity/{}", identity_ids[0]),
            format!("{CONSENT}/identities/{}", identity_ids[0]),
        ),
        (
            format!("/v1/identity/{}", identity_ids[1]),
            format!("{CONSENT}/identities/{}", identity_ids[1]),
        ),
        (
            format!("/v1/identity/{}", identity_ids[2]),
            format!("{CONSENT}/identities/{}", identity_ids[2]),
        ),
    ] {
        let (status, through_a) = zone_a.get(&a_path).await;
        assert_eq!(status, 200, "GET {a_path} on the proxy zone: {through_a}");
        assert_eq!(
            through_a,
            on_b(&zone_b, &b_path).await,
            "GET {a_path} on A answers B's record"
        );
    }
    assert_eq!(
        zone_a.get("/v1/entities").await.1,
        json!([org_on_b]),
        "the one entity, as B holds it"
    );

    // A does not serve the direct surface: it is not a Mass, not even a read-only one.
    for (method, path) in [
        ("GET", format!("{ORG}/organization/{entity_id}")),
        ("GET", format!("{ORG}/organization")),
        ("GET", format!("{CONSENT}/capTables/{cap_table_id}")),
        ("GET", format!("{TREASURY}/account/{account_id}")),
        ("POST", format!("{ORG}/organization/create")),
    ] {
        let (status, body) = match method {
            "POST" => zone_a.post(&path, json!({"name": "Not Here Ltd"})).await,
            _ => zone_a.get(&path).await,
        };
        assert_eq!(status, 404, "{method} {path} on the proxy zone: {body}");
        assert_error(&body, "NOT_FOUND");
    }

    // Reads and refused direct calls wrote nothing more on A.
    assert_eq!(zone_a.stored("attestations").await.len(), WRITES.len());
    assert_chain_valid(&zone_a, WRITES.len()).await;
    for collection in MASS_COLLECTIONS {
        assert!(zone_a.stored(collection).await.is_empty(), "{collection}");
    }
    // The resource ids are the Mass records' real ids (UUIDs), all distinct apart from the
    // entity, which the create and the update share.
    let mut ids: Vec<&str> = Vec::new();
    for envelope in envelopes {
        assert!(
            uuid::Uuid::parse_str(&envelope.resource_id).is_ok(),
            "a resource id is a UUID: {}",
            envelope.resource_id
        );
        ids.push(&envelope.resource_id);
    }
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), WRITES.len() - 1, "distinct resources: {ids:?}");

    zone_a.stop().await;
    zone_b.stop().await;
}

/// The hard block comes before the Mass operation in both modes: a proxy zone refuses a
/// sanctioned name with a 403 it records in its own chain, and never calls its upstream.
async fn a_hard_blocked_write_on_the_proxy_never_reaches_the_upstream(
    db_a: &TestDb,
    db_b: &TestDb,
) {
    let zone_b = TestZone::sovereign(db_b).await;
    let zone_a = start_proxy(db_a, &zone_b).await;
    // A name from the sample sanctions list in spec/data/sanctions.yaml (a fictional entry).
    let (status, answer) = zone_a
        .post(
            "/v1/entities",
            json!({"entity_type": "llc", "legal_name": "Blocked Trading Co LLC",
                   "jurisdiction_id": "pk"}),
        )
        .await;
    assert_eq!(status, 403, "a sanctioned name through the proxy: {answer}");
    assert_error(&answer, "FORBIDDEN");
    let events = audit_events(&zone_a).await;
    let types: Vec<&str> = events.iter().map(|e| str_at(e, "event_type")).collect();
    assert_eq!(types, ["compliance.blocked"], "the denial is audited on A");
    assert_eq!(events[0]["actor"], zone_a.state.zone_did());
    assert_chain_valid(&zone_a, 1).await;
    assert!(
        zone_a.stored("attestations").await.is_empty(),
        "no credential"
    );
    assert_eq!(
        count_rows(db_a, "records", None).await,
        0,
        "A stored nothing"
    );
    assert!(
        zone_b.stored("organizations").await.is_empty(),
        "the upstream never saw the blocked entity"
    );
    assert!(audit_events(&zone_b).await.is_empty(), "B wrote nothing");
    zone_a.stop().await;
    zone_b.stop().await;
}

/// Payments of one entity at once through a proxy zone: they race for the entity's running
/// withholding total, which the proxy keeps itself, and a loser plans its write again. The
/// upstream's POSTs are sent again with the first attempt's idempotency keys, so the upstream
/// records each payment and each tax event exactly once.
async fn concurrent_payments_through_the_proxy_are_recorded_upstream_once(
    db_a: &TestDb,
    db_b: &TestDb,
) {
    let zone_b = TestZone::sovereign(db_b).await;
    let zone_a = start_proxy(db_a, &zone_b).await;
    let (status, entity) = zone_a
        .post(
            "/v1/entities",
            json!({"entity_type": "llc", "legal_name": "Proxy Payer Ltd", "jurisdiction_id": "pk"}),
        )
        .await;
    assert_eq!(status, 201, "{entity}");
    let entity = str_at(&entity["mass_response"], "id").to_string();
    let (status, account) = zone_a
        .post(
            "/v1/fiscal/accounts",
            json!({"entity_id": entity, "account_type": "operating", "currency": "PKR"}),
        )
        .await;
    assert_eq!(status, 201, "{account}");
    let account = str_at(&account["mass_response"], "id").to_string();
    let payments: Vec<_> = (0..8)
        .map(|i| {
            zone_a.post(
                "/v1/fiscal/payments",
                json!({"from_account_id": account, "amount": "1000.00", "currency": "PKR",
                       "reference": format!("proxy {i}"), "ntn": "1234567"}),
            )
        })
        .collect();
    for (status, paid) in futures_util::future::join_all(payments).await {
        assert_eq!(status, 201, "{paid}");
    }
    assert_eq!(
        zone_b.stored("transactions").await.len(),
        8,
        "one payment each"
    );
    let taxed = zone_b.stored("tax_events").await;
    assert_eq!(taxed.len(), 8, "one tax event each: {taxed:?}");
    assert_chain_valid(&zone_a, 10).await;
    zone_a.stop().await;
    zone_b.stop().await;
}

mez_tests::on_sqlite_and_postgres_pairs!(
    concurrent_payments_through_the_proxy_are_recorded_upstream_once,
    every_v1_write_on_the_proxy_lands_on_the_sovereign_zone,
    a_hard_blocked_write_on_the_proxy_never_reaches_the_upstream,
);

/// Sends `GET path` over a bare HTTP/1.1 connection, so that the path reaches the zone byte
/// for byte (an HTTP client library would resolve `%2E%2E` segments before sending), and
/// returns the status and the JSON body.
async fn get_verbatim(zone: &TestZone, path: &str) -> (u16, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let addr = zone.base_url.trim_start_matches("http://");
    let mut stream = match tokio::net::TcpStream::connect(addr).await {
        Ok(stream) => stream,
        Err(err) => panic!("cannot connect to {addr}: {err}"),
    };
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
         Connection: close\r\n\r\n",
        zone.token
    );
    if let Err(err) = stream.write_all(request.as_bytes()).await {
        panic!("cannot send GET {path}: {err}");
    }
    let mut answer = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        stream.read_to_end(&mut answer),
    );
    match read.await {
        Ok(Ok(_)) => {}
        Ok(Err(err)) => panic!("reading the answer to GET {path} failed: {err}"),
        Err(_) => panic!("GET {path} was not answered within 30s"),
    }
    let text = String::from_utf8_lossy(&answer).into_owned();
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        panic!("GET {path}: not an HTTP answer: {text:?}");
    };
    assert!(
        !head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "GET {path}: a chunked answer needs a real HTTP client: {head}"
    );
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse::<u16>().ok())
        .unwrap_or_else(|| panic!("GET {path}: no status line in {head:?}"));
    match serde_json::from_str(body) {
        Ok(json) => (status, json),
        Err(err) => {
            panic!("GET {path} answered {status} with a body that is not JSON ({err}): {body:?}")
        }
    }
}

/// A path parameter reaches the upstream as one segment, whatever it holds: the proxy zone
/// answers a read exactly as the sovereign zone answers the same `/v1` read. An id of `.` or
/// `..` must not be resolved away into another route (the list of every organization).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_path_parameter_reaches_the_upstream_as_one_segment() {
    let (db_a, db_b) = (TestDb::sqlite(), TestDb::sqlite());
    let zone_b = TestZone::sovereign(&db_b).await;
    let zone_a = start_proxy(&db_a, &zone_b).await;
    let (status, org) = zone_b
        .post(
            &format!("{ORG}/organization/create"),
            json!({"name": "Segment Ltd"}),
        )
        .await;
    assert_eq!(status, 201, "organization on the sovereign zone: {org}");

    let mut mismatches = Vec::new();
    for read in [
        "/v1/entities",
        "/v1/ownership/cap-tables",
        "/v1/consent",
        "/v1/identity",
    ] {
        for id in ["%2E", "%2E%2E", "a%2Fb", "a%3Fb%3Dc", "%25", "a%20b"] {
            let path = format!("{read}/{id}");
            let sovereign = get_verbatim(&zone_b, &path).await;
            let proxied = get_verbatim(&zone_a, &path).await;
            assert_eq!(
                sovereign.0, 404,
                "GET {path} on the sovereign zone: {}",
                sovereign.1
            );
            if proxied != sovereign {
                mismatches.push(format!(
                    "GET {path}: proxy answered {} {}, sovereign {} {}",
                    proxied.0, proxied.1, sovereign.0, sovereign.1
                ));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "the proxy zone resolves path parameters differently:\n{}",
        mismatches.join("\n")
    );
    zone_a.stop().await;
    zone_b.stop().await;
    db_a.cleanup().await;
    db_b.cleanup().await;
}
