// SPDX-License-Identifier: BUSL-1.1
//! Every write appends exactly its audit event, and a sanctions hit is refused and audited.
//!
//! One scenario per row of the brief's audit table: set up what the write needs, note the
//! chain's length, make the write, and find exactly one new event with the table's event type,
//! resource type and action, the real resource id, the credential issuer's DID as the actor,
//! and the envelope's compliance outcome in its metadata. The earlier implementation's audit
//! was fire-and-forget and keyed on ids that could be random; here the event is committed
//! with the write. Direct-route writes are audited too, a sanctioned name is a 403 that writes
//! nothing but its `compliance.blocked` event, and `/v1/audit/verify` vouches for the chain.
//! Every scenario runs on SQLite and on PostgreSQL.

use mez_tests::json::{assert_error, assert_timestamp_at, str_at, uuid_at};
use mez_tests::v1::{Envelope, assert_chain_valid, assert_envelope, audit_events};
use mez_tests::{TestDb, TestZone};
use serde_json::{Value, json};

const ORG: &str = "/organization-info/api/v1";
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

const ENTITY_DOMAINS: &[&str] = &["aml", "kyc", "sanctions", "tax", "corporate", "licensing"];
const CAP_TABLE_DOMAINS: &[&str] = &["aml", "kyc", "sanctions", "securities", "corporate"];
const ACCOUNT_DOMAINS: &[&str] = &["aml", "kyc", "sanctions", "tax", "banking"];
const PAYMENT_DOMAINS: &[&str] = &["aml", "sanctions", "tax", "payments", "banking"];
const IDENTITY_DOMAINS: &[&str] = &["kyc", "sanctions", "data_privacy"];
const CONSENT_DOMAINS: &[&str] = &["aml", "sanctions", "corporate"];

/// A row of the brief's audit table.
struct Row {
    event_type: &'static str,
    resource_type: &'static str,
    action: &'static str,
}

const ENTITY_CREATED: Row = Row {
    event_type: "entity.created",
    resource_type: "entity",
    action: "create",
};
const ENTITY_UPDATED: Row = Row {
    event_type: "entity.updated",
    resource_type: "entity",
    action: "update",
};
const CAP_TABLE_CREATED: Row = Row {
    event_type: "ownership.cap_table_created",
    resource_type: "cap_table",
    action: "create",
};
const ACCOUNT_CREATED: Row = Row {
    event_type: "fiscal.account_created",
    resource_type: "account",
    action: "create",
};
const PAYMENT_INITIATED: Row = Row {
    event_type: "fiscal.payment_initiated",
    resource_type: "payment",
    action: "create",
};
const IDENTITY_VERIFIED: Row = Row {
    event_type: "identity.verified",
    resource_type: "identity",
    action: "verify",
};
const CONSENT_CREATED: Row = Row {
    event_type: "consent.created",
    resource_type: "consent",
    action: "create",
};

/// Asserts that the chain, which held `before` events, now holds exactly one more: the
/// `row` event of the write that answered `envelope`, linked to its predecessor, carrying
/// `metadata` (besides the compliance outcome, which must be the envelope's). Returns it.
async fn assert_one_new_event(
    zone: &TestZone,
    before: &[Value],
    envelope: &Envelope,
    row: &Row,
    metadata: Value,
) -> Value {
    let events = audit_events(zone).await;
    assert_eq!(
        events.len(),
        before.len() + 1,
        "the {} write appends exactly one event; new: {:?}",
        row.event_type,
        events.get(before.len()..)
    );
    assert_eq!(
        &events[..before.len()],
        before,
        "earlier events are unchanged"
    );
    let event = events[before.len()].clone();
    assert_eq!(event["sequence"], before.len() + 1, "{event}");
    let previous = before
        .last()
        .map_or(GENESIS, |last| str_at(last, "event_hash"));
    assert_eq!(
        event["previous_hash"], previous,
        "linked to its predecessor"
    );
    assert_eq!(event["event_type"], row.event_type, "{event}");
    assert_eq!(event["resource_type"], row.resource_type, "{event}");
    assert_eq!(event["action"], row.action, "{event}");
    assert_eq!(
        event["resource_id"],
        envelope.resource_id.as_str(),
        "the event names the real resource: {event}"
    );
    assert_eq!(
        event["actor"],
        envelope.issuer.as_str(),
        "the actor is the credential's issuer: {event}"
    );
    assert_eq!(
        event["actor"],
        zone.state.zone_did(),
        "the actor is the zone's DID"
    );
    assert_timestamp_at(&event, "timestamp");
    let md = &event["metadata"];
    assert_eq!(
        md["compliance_status"], envelope.compliance["overall_status"],
        "metadata records the envelope's outcome: {event}"
    );
    assert_eq!(
        md["tensor_commitment"], envelope.compliance["tensor_commitment"],
        "{event}"
    );
    let Value::Object(expected) = metadata else {
        panic!("expected metadata must be an object");
    };
    for (key, value) in &expected {
        assert_eq!(&md[key], value, "metadata `{key}`: {event}");
    }

    // The event is also found by its resource.
    let path = format!(
        "/v1/audit/events?resource_type={}&resource_id={}",
        row.resource_type, envelope.resource_id
    );
    let (status, by_resource) = zone.get(&path).await;
    assert_eq!(status, 200, "GET {path}: {by_resource}");
    assert_eq!(
        by_resource.as_array().and_then(|events| events.last()),
        Some(&event),
        "GET {path} ends with the new event"
    );
    assert_chain_valid(zone, events.len()).await;
    event
}

/// Sends a `/v1` write and returns its envelope, asserting the status.
async fn write(
    zone: &TestZone,
    method: reqwest::Method,
    path: &str,
    body: Value,
    status: u16,
    credential_type: &str,
    domains: &[&str],
) -> Envelope {
    let (got, answer) = zone.request(method.clone(), path, Some(body)).await;
    assert_eq!(got, status, "{method} {path}: {answer}");
    assert_envelope(&answer, credential_type, domains)
}

async fn create_entity(zone: &TestZone, legal_name: &str) -> Envelope {
    write(
        zone,
        reqwest::Method::POST,
        "/v1/entities",
        json!({"entity_type": "PRIVATE_LIMITED", "legal_name": legal_name,
               "jurisdiction_id": "PK"}),
        201,
        "MezFormationComplianceCredential",
        ENTITY_DOMAINS,
    )
    .await
}

async fn open_account(zone: &TestZone, entity_id: &str) -> Envelope {
    write(
        zone,
        reqwest::Method::POST,
        "/v1/fiscal/accounts",
        json!({"entity_id": entity_id, "account_type": "Operating", "currency": "PKR"}),
        201,
        "MezFiscalComplianceCredential",
        ACCOUNT_DOMAINS,
    )
    .await
}

async fn entity_created_is_audited(db: &TestDb) {
    let zone = TestZone::sovereign(db).await;
    let before = audit_events(&zone).await;
    assert!(before.is_empty(), "a new zone's chain is empty");
    let entity = create_entity(&zone, "Audit Entity (Pvt) Ltd").await;
    assert_one_new_event(
        &zone,
        &before,
        &entity,
        &ENTITY_CREATED,
        json!({"jurisdiction": "PK"}),
    )
    .await;
    zone.stop().await;
}

async fn entity_updated_is_audited(db: &TestDb) {
    let zone = TestZone::sovereign(db).await;
    let entity = create_entity(&zone, "Before Rename Ltd").await;
    let before = audit_events(&zone).await;
    let updated = write(
        &zone,
        reqwest::Method::PUT,
        &format!("/v1/entities/{}", entity.resource_id),
        json!({"legal_name": "After Rename Ltd", "tags": ["renamed"]}),
        200,
        "MezFormationComplianceCredential",
        ENTITY_DOMAINS,
    )
    .await;
    assert_eq!(updated.resource_id, entity.resource_id);
    assert_eq!(updated.mass_response["name"], "After Rename Ltd");
    assert_one_new_event(
        &zone,
        &before,
        &updated,
        &ENTITY_UPDATED,
        // The request names no jurisdiction; the stored entity's is used.
        json!({"jurisdiction": "PK"}),
    )
    .await;
    zone.stop().await;
}

async fn cap_table_created_is_audited(db: &TestDb) {
    let zone = TestZone::sovereign(db).await;
    let entity = create_entity(&zone, "Cap Table Holdings Ltd").await;
    let before = audit_events(&zone).await;
    let cap_table = write(
        &zone,
        reqwest::Method::POST,
        "/v1/ownership/cap-tables",
        json!({"entity_id": entity.resource_id,
               "share_classes": [{"name": "Ordinary", "authorized_shares": 1_000_000,
                                  "issued_shares": 250_000, "par_value": "10.00",
                                  "voting_rights": true}]}),
        201,
        "MezOwnershipComplianceCredential",
        CAP_TABLE_DOMAINS,
    )
    .await;
    assert_eq!(
        cap_table.mass_response["organizationId"],
        entity.resource_id.as_str()
    );
    assert_ne!(
        cap_table.resource_id, entity.resource_id,
        "the cap table has an id of its own"
    );
    assert_one_new_event(
        &zone,
        &before,
        &cap_table,
        &CAP_TABLE_CREATED,
        json!({"entity_id": entity.resource_id}),
    )
    .await;
    zone.stop().await;
}

async fn account_created_is_audited(db: &TestDb) {
    let zone = TestZone::sovereign(db).await;
    let entity = create_entity(&zone, "Account Holder Ltd").await;
    let before = audit_events(&zone).await;
    let account = open_account(&zone, &entity.resource_id).await;
    // One event for the whole write, though it also created the entity's treasury.
    assert_eq!(zone.stored("treasuries").await.len(), 1);
    assert_one_new_event(
        &zone,
        &before,
        &account,
        &ACCOUNT_CREATED,
        json!({"entity_id": entity.resource_id, "currency": "PKR"}),
    )
    .await;
    zone.stop().await;
}

async fn payment_initiated_is_audited(db: &TestDb) {
    let zone = TestZone::sovereign(db).await;
    let entity = create_entity(&zone, "Payer Ltd").await;
    let account = open_account(&zone, &entity.resource_id).await;
    let before = audit_events(&zone).await;
    let payment = write(
        &zone,
        reqwest::Method::POST,
        "/v1/fiscal/payments",
        json!({"from_account_id": account.resource_id, "amount": "1500.50",
               "currency": "PKR", "reference": "PO-77"}),
        201,
        "MezPaymentComplianceCredential",
        PAYMENT_DOMAINS,
    )
    .await;
    // One event for the whole write, though it also recorded a tax event.
    assert_eq!(zone.stored("tax_events").await.len(), 1);
    assert_one_new_event(
        &zone,
        &before,
        &payment,
        &PAYMENT_INITIATED,
        json!({"from_account_id": account.resource_id, "currency": "PKR",
               "amount": "1500.50"}),
    )
    .await;
    zone.stop().await;
}

async fn identity_verified_is_audited(db: &TestDb) {
    let zone = TestZone::sovereign(db).await;
    let entity = create_entity(&zone, "Identity Owner Ltd").await;
    let checks = [
        (
            json!({"identity_type": "INDIVIDUAL", "full_name": "Bilal Ahmed",
                   "entity_id": entity.resource_id,
                   "linked_ids": [{"id_type": "CNIC", "id_value": "35202-1234567-9"}]}),
            "INDIVIDUAL",
        ),
        (
            json!({"identity_type": "BUSINESS", "full_name": "Identity Owner Ltd",
                   "linked_ids": [{"id_type": "NTN", "id_value": "7654321"}]}),
            "BUSINESS",
        ),
    ];
    for (body, identity_type) in checks {
        let before = audit_events(&zone).await;
        let identity = write(
            &zone,
            reqwest::Method::POST,
            "/v1/identity/verify",
            body,
            200,
            "MezIdentityComplianceCredential",
            IDENTITY_DOMAINS,
        )
        .await;
        // The resource is the recorded check, named by the identity_id it answered with.
        let identity_id = uuid_at(&identity.mass_response, "identity_id");
        assert_eq!(identity.resource_id, identity_id);
        let (status, stored) = zone.get(&format!("/v1/identity/{identity_id}")).await;
        assert_eq!(status, 200, "the check is recorded: {stored}");
        assert_eq!(stored["id"], identity_id.as_str());
        assert_one_new_event(
            &zone,
            &before,
            &identity,
            &IDENTITY_VERIFIED,
            json!({"identity_type": identity_type}),
        )
        .await;
    }
    zone.stop().await;
}

async fn consent_created_is_audited(db: &TestDb) {
    let zone = TestZone::sovereign(db).await;
    let entity = create_entity(&zone, "Consenting Board Ltd").await;
    let before = audit_events(&zone).await;
    let consent = write(
        &zone,
        reqwest::Method::POST,
        "/v1/consent",
        json!({"consent_type": "MODIFY_COMPANY_LEGAL_NAME", "description": "Rename",
               "parties": [{"entity_id": entity.resource_id, "role": "issuer"}], "num_votes_required": 3}),
        201,
        "MezConsentComplianceCredential",
        CONSENT_DOMAINS,
    )
    .await;
    assert_one_new_event(
        &zone,
        &before,
        &consent,
        &CONSENT_CREATED,
        json!({"consent_type": "MODIFY_COMPANY_LEGAL_NAME"}),
    )
    .await;
    zone.stop().await;
}

/// Asserts the chain grew by exactly one direct-route event and returns it.
async fn one_direct_event(zone: &TestZone, before: &[Value], event_type: &str, id: &str) -> Value {
    let events = audit_events(zone).await;
    assert_eq!(
        events.len(),
        before.len() + 1,
        "{event_type}: exactly one new event, got {:?}",
        events.get(before.len()..)
    );
    let event = events[before.len()].clone();
    assert_eq!(event["event_type"], event_type, "{event}");
    assert_eq!(event["resource_id"], id, "{event}");
    assert_eq!(event["actor"], zone.state.zone_did(), "{event}");
    assert_eq!(event["sequence"], events.len(), "{event}");
    event
}

async fn direct_route_writes_are_audited(db: &TestDb) {
    let zone = TestZone::sovereign(db).await;

    let before = audit_events(&zone).await;
    let (status, org) = zone
        .post(
            &format!("{ORG}/organization/create"),
            json!({"name": "Direct Route Ltd", "jurisdiction": "pk"}),
        )
        .await;
    assert_eq!(status, 201, "{org}");
    let id = uuid_at(&org, "id");
    let event = one_direct_event(&zone, &before, "organization.created", &id).await;
    assert_eq!(event["resource_type"], "organization", "{event}");
    assert_eq!(event["action"], "create", "{event}");
    // The route, and the id of the request that wrote it (one the zone made up here).
    let request_id = event["metadata"]["request_id"].as_str().unwrap_or_default();
    assert!(uuid::Uuid::parse_str(request_id).is_ok(), "{event}");
    assert_eq!(
        event["metadata"],
        json!({
            "request_id": request_id,
            "route": "POST /organization-info/api/v1/organization/create",
        })
    );

    let before = audit_events(&zone).await;
    let (status, updated) = zone
        .put(
            &format!("{ORG}/organization/{id}"),
            json!({"status": "SUSPENDED"}),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    let event = one_direct_event(&zone, &before, "organization.updated", &id).await;
    assert_eq!(event["action"], "update", "{event}");

    let before = audit_events(&zone).await;
    let (status, treasury) = zone
        .post(
            "/treasury-info/api/v1/treasury/create",
            json!({"entityId": id, "entityName": "Direct Route Ltd"}),
        )
        .await;
    assert_eq!(status, 201, "{treasury}");
    let treasury_id = uuid_at(&treasury, "id");
    let event = one_direct_event(&zone, &before, "treasury.created", &treasury_id).await;
    assert_eq!(event["resource_type"], "treasury", "{event}");

    // A refused direct write appends nothing.
    let before = audit_events(&zone).await;
    let (status, answer) = zone
        .post(&format!("{ORG}/organization/create"), json!({}))
        .await;
    assert_eq!(status, 422, "{answer}");
    assert_eq!(audit_events(&zone).await, before);

    let before = audit_events(&zone).await;
    let (status, answer) = zone.delete(&format!("{ORG}/organization/{id}")).await;
    assert_eq!(status, 200, "{answer}");
    one_direct_event(&zone, &before, "organization.deleted", &id).await;

    assert_chain_valid(&zone, 4).await;
    zone.stop().await;
}

/// Asserts a 403 that names sanctions, and that the chain grew by exactly one
/// `compliance.blocked` event for `resource_type` that names `entry`. Returns the event.
async fn assert_blocked(
    zone: &TestZone,
    before: &[Value],
    answer: (u16, Value),
    resource_type: &str,
    entry: &str,
) -> Value {
    let (status, body) = answer;
    assert_eq!(status, 403, "a sanctioned name is refused: {body}");
    let message = assert_error(&body, "FORBIDDEN");
    assert!(
        message.contains("sanctions"),
        "the refusal names the sanctions domain: {message}"
    );
    assert!(
        !message.contains(entry),
        "the refusal does not disclose the list entry: {message}"
    );
    let events = audit_events(zone).await;
    assert_eq!(
        events.len(),
        before.len() + 1,
        "exactly the denial is audited: {:?}",
        events.get(before.len()..)
    );
    let event = events[before.len()].clone();
    assert_eq!(event["event_type"], "compliance.blocked", "{event}");
    assert_eq!(event["resource_type"], resource_type, "{event}");
    assert_eq!(event["action"], "deny", "{event}");
    assert_eq!(event["actor"], zone.state.zone_did(), "{event}");
    let md = &event["metadata"];
    assert_eq!(md["compliance_status"], "non_compliant", "{event}");
    assert_eq!(md["hard_blocks"], json!(["sanctions"]), "{event}");
    // Each hit: the entry, the spelling of it that matched, and the score.
    let hits = md["sanctions_hits"]
        .as_array()
        .expect("sanctions_hits is a list");
    assert_eq!(hits.len(), 1, "{event}");
    assert_eq!(hits[0]["entry"], entry, "{event}");
    assert!(hits[0]["alias"].is_string(), "{event}");
    let score = hits[0]["score"].as_f64().expect("a numeric score");
    assert!((0.0..=1.0).contains(&score) && score > 0.5, "{event}");
    let shown = body.to_string();
    assert!(
        !shown.contains("\"score\"") && !shown.contains("\"alias\""),
        "the refusal does not show the hit: {body}"
    );
    assert_chain_valid(zone, events.len()).await;
    event
}

async fn sanctioned_names_are_refused_and_the_denial_audited(db: &TestDb) {
    let zone = TestZone::sovereign(db).await;
    let clean = create_entity(&zone, "Clean Commerce Ltd").await;
    let organizations = zone.stored("organizations").await;
    let attestations = zone.stored("attestations").await;

    // A legal name that is on the sample list (spec/data/sanctions.yaml).
    let before = audit_events(&zone).await;
    let answer = zone
        .post(
            "/v1/entities",
            json!({"entity_type": "LLC", "legal_name": "Blocked Trading Co LLC",
                   "jurisdiction_id": "PK"}),
        )
        .await;
    let event = assert_blocked(&zone, &before, answer, "entity", "Blocked Trading Co LLC").await;
    assert_eq!(event["metadata"]["route"], "POST /v1/entities");
    assert_eq!(event["metadata"]["jurisdiction"], "PK");

    // A beneficial owner under an alias, in other case and spacing.
    let before = audit_events(&zone).await;
    let answer = zone
        .post(
            "/v1/entities",
            json!({"entity_type": "LLC", "legal_name": "Innocent Front Ltd",
                   "jurisdiction_id": "PK",
                   "beneficial_owners": [{"name": "Ali Khan", "ownership_percentage": "50"},
                                         {"name": "  vanya THE   embargoed ",
                                          "ownership_percentage": "50"}]}),
        )
        .await;
    assert_blocked(&zone, &before, answer, "entity", "Ivan Sanctionedov").await;

    // A real spelling: reordered, accented and one letter off.
    let before = audit_events(&zone).await;
    let answer = zone
        .post(
            "/v1/entities",
            json!({"entity_type": "LLC", "legal_name": "Innocent Front Ltd",
                   "jurisdiction_id": "PK",
                   "beneficial_owners": [{"name": "Sanctiónedow, Ívan",
                                          "ownership_percentage": "100"}]}),
        )
        .await;
    let event = assert_blocked(&zone, &before, answer, "entity", "Ivan Sanctionedov").await;
    let hit = &event["metadata"]["sanctions_hits"][0];
    assert_eq!(hit["alias"], "Ivan Sanctionedov", "{event}");
    assert!(hit["score"].as_f64().is_some_and(|s| s < 1.0), "{event}");

    // Renaming the clean entity to a listed name: refused, and the entity keeps its name.
    let before = audit_events(&zone).await;
    let answer = zone
        .put(
            &format!("/v1/entities/{}", clean.resource_id),
            json!({"legal_name": "Contraband Capital Partners"}),
        )
        .await;
    let event = assert_blocked(
        &zone,
        &before,
        answer,
        "entity",
        "Contraband Capital Partners",
    )
    .await;
    assert_eq!(event["resource_id"], clean.resource_id.as_str());
    let (status, org) = zone
        .get(&format!("{ORG}/organization/{}", clean.resource_id))
        .await;
    assert_eq!(status, 200, "{org}");
    assert_eq!(org["name"], "Clean Commerce Ltd");

    // Nothing but the denials was written: no organization, attestation or credential.
    assert_eq!(zone.stored("organizations").await, organizations);
    assert_eq!(zone.stored("attestations").await, attestations);

    // An entity held under a listed name (the direct surface does not screen) cannot open
    // an account through /v1: its stored name is screened.
    let (status, listed) = zone
        .post(
            &format!("{ORG}/organization/create"),
            json!({"name": "Embargo Maritime Shipping SA", "jurisdiction": "pk"}),
        )
        .await;
    assert_eq!(status, 201, "{listed}");
    let listed_id = uuid_at(&listed, "id");
    let before = audit_events(&zone).await;
    let answer = zone
        .post(
            "/v1/fiscal/accounts",
            json!({"entity_id": listed_id, "account_type": "Operating", "currency": "PKR"}),
        )
        .await;
    assert_blocked(
        &zone,
        &before,
        answer,
        "account",
        "Embargo Maritime Shipping SA",
    )
    .await;
    assert!(zone.stored("treasuries").await.is_empty());
    assert!(zone.stored("accounts").await.is_empty());
    assert_eq!(zone.stored("attestations").await, attestations);
    zone.stop().await;
}

async fn audit_verify_vouches_for_the_whole_chain(db: &TestDb) {
    let zone = TestZone::sovereign(db).await;
    assert_chain_valid(&zone, 0).await;

    let first = create_entity(&zone, "Chain One Ltd").await;
    let second = create_entity(&zone, "Chain Two Ltd").await;
    let (status, _) = zone
        .put(
            &format!("/v1/entities/{}", first.resource_id),
            json!({"address": "1 Clifton Road, Karachi"}),
        )
        .await;
    assert_eq!(status, 200);
    open_account(&zone, &second.resource_id).await;
    let (status, _) = zone
        .post(
            "/v1/entities",
            json!({"entity_type": "LLC", "legal_name": "Redflag Exchange House",
                   "jurisdiction_id": "AE"}),
        )
        .await;
    assert_eq!(status, 403);
    let (status, _) = zone
        .post(
            &format!("{ORG}/organization/create"),
            json!({"name": "Direct Chain Ltd"}),
        )
        .await;
    assert_eq!(status, 201);

    let events = audit_events(&zone).await;
    let types: Vec<&str> = events.iter().map(|e| str_at(e, "event_type")).collect();
    assert_eq!(
        types,
        [
            "entity.created",
            "entity.created",
            "entity.updated",
            "fiscal.account_created",
            "compliance.blocked",
            "organization.created",
        ]
    );
    for (index, event) in events.iter().enumerate() {
        assert_eq!(event["sequence"], index + 1, "{event}");
        let previous = if index == 0 {
            GENESIS
        } else {
            str_at(&events[index - 1], "event_hash")
        };
        assert_eq!(event["previous_hash"], previous, "{event}");
    }
    assert_eq!(
        mez_tests::v1::chain_report(&zone).await,
        json!({"valid": true, "events": 6, "first_invalid_sequence": null})
    );

    // The events of one resource, in order, and nothing else.
    let (status, history) = zone
        .get(&format!(
            "/v1/audit/events?resource_type=entity&resource_id={}",
            first.resource_id
        ))
        .await;
    assert_eq!(status, 200, "{history}");
    let history: Vec<&str> = history
        .as_array()
        .map(|events| events.iter().map(|e| str_at(e, "event_type")).collect())
        .unwrap_or_default();
    assert_eq!(history, ["entity.created", "entity.updated"]);
    zone.stop().await;
}

mez_tests::on_sqlite_and_postgres!(
    entity_created_is_audited,
    entity_updated_is_audited,
    cap_table_created_is_audited,
    account_created_is_audited,
    payment_initiated_is_audited,
    identity_verified_is_audited,
    consent_created_is_audited,
    direct_route_writes_are_audited,
    sanctioned_names_are_refused_and_the_denial_audited,
    audit_verify_vouches_for_the_whole_chain,
);
