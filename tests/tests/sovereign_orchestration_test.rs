// SPDX-License-Identifier: BUSL-1.1
//! The original brief's five tests: sovereign writes through `/v1` get the full orchestration
//! envelope, with no HTTP self-loop, and the direct Mass surface shares their store.
//!
//! The earlier sovereign mode mounted raw CRUD instead of the orchestrated routes, so its
//! writes skipped compliance, credentials, attestations and audit. These tests drive
//! `mez_api::app(state)` with `tower::ServiceExt::oneshot` (no socket, the very router the
//! binary serves) over a real database, and each runs on SQLite and on PostgreSQL:
//!
//! 1. an entity write answers an envelope with twenty domain results, a signed credential and
//!    an attestation that can be read back, and the entity is on the direct route;
//! 2. entity -> account -> payment each answer an envelope, and the payment records its
//!    withholding tax event against the entity;
//! 3. a consent request answers an envelope;
//! 4. a proxy zone with no upstream answers 503 JSON and writes nothing at all;
//! 5. an entity created on the direct route reads back equal through `GET /v1/entities/{id}`.

use axum::http::Method;
use mez_api::state::AppState;
use mez_tests::json::{assert_error, assert_record_meta, str_at, uuid_at};
use mez_tests::v1::{Envelope, assert_envelope};
use mez_tests::{InProcessZone, RawDb, TestDb};
use serde_json::{Value, json};

const ORG: &str = "/organization-info/api/v1";
const TREASURY: &str = "/treasury-info/api/v1";

/// The relevant domains of each `/v1` write, as `spec/zone.yaml` lists them.
const ENTITY_DOMAINS: &[&str] = &["aml", "kyc", "sanctions", "tax", "corporate", "licensing"];
const ACCOUNT_DOMAINS: &[&str] = &["aml", "kyc", "sanctions", "tax", "banking"];
const PAYMENT_DOMAINS: &[&str] = &["aml", "sanctions", "tax", "payments", "banking"];
const CONSENT_DOMAINS: &[&str] = &["aml", "sanctions", "corporate"];

/// Every collection the zone stores records in: the spec's stores and the attestations.
const COLLECTIONS: &[&str] = &[
    "organizations",
    "members",
    "board_members",
    "consents",
    "cap_tables",
    "shareholders",
    "identities",
    "investments",
    "submissions",
    "treasuries",
    "accounts",
    "transactions",
    "tax_events",
    "attestations",
];

/// A zone's router, driven in-process with `oneshot`, and the state behind it.
struct Zone {
    zone: InProcessZone,
    state: AppState,
}

impl Zone {
    async fn start(db: &TestDb, sovereign: bool) -> Zone {
        let zone = InProcessZone::start(db, sovereign).await;
        Zone {
            state: zone.state.clone(),
            zone,
        }
    }

    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        self.zone.send_json(method.as_str(), path, body).await
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.send(Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(Method::POST, path, Some(body)).await
    }

    /// The records of `collection`, read from the store behind the API.
    async fn stored(&self, collection: &str) -> Vec<Value> {
        match self
            .state
            .db
            .list(collection, &mez_api::db::Query::all())
            .await
        {
            Ok(page) => page.items.into_iter().map(Value::Object).collect(),
            Err(err) => panic!("reading {collection} from the store failed: {err}"),
        }
    }

    /// The attestation `id` as `GET /v1/attestations/{id}` answers it.
    async fn attestation(&self, id: &str) -> Value {
        let (status, attestation) = self.get(&format!("/v1/attestations/{id}")).await;
        assert_eq!(status, 200, "attestation {id}: {attestation}");
        attestation
    }

    async fn close(self) {
        self.state.db.close().await;
    }
}

/// A `/v1` write that must answer `status` with an envelope.
async fn envelope(
    zone: &Zone,
    method: Method,
    path: &str,
    body: Value,
    status: u16,
    credential_type: &str,
    domains: &[&str],
) -> Envelope {
    let (got, answer) = zone.send(method.clone(), path, Some(body)).await;
    assert_eq!(got, status, "{method} {path}: {answer}");
    let envelope = assert_envelope(&answer, credential_type, domains);
    assert_eq!(
        envelope.issuer,
        zone.state.zone_did(),
        "the zone issues its credentials under its own DID"
    );
    envelope
}

/// Asserts the attestation of `envelope` is stored and names the real resource and the
/// credential the envelope carries.
async fn assert_attested(zone: &Zone, envelope: &Envelope, resource_type: &str, kind: &str) {
    let attestation = zone.attestation(&envelope.attestation_id).await;
    assert_eq!(attestation["id"], envelope.attestation_id.as_str());
    assert_eq!(attestation["resourceType"], resource_type);
    assert_eq!(
        attestation["resourceId"],
        envelope.resource_id.as_str(),
        "the attestation names the real resource id, never a random one"
    );
    assert_eq!(attestation["credentialId"], envelope.credential["id"]);
    assert_eq!(attestation["credential"], envelope.credential);
    assert_eq!(attestation["attestationType"], kind);
    assert_eq!(attestation["issuer"], envelope.issuer.as_str());
    assert_eq!(attestation["status"], "ACTIVE");
    assert_eq!(
        attestation["complianceStatus"],
        envelope.compliance["overall_status"]
    );
    assert_eq!(
        attestation["tensorCommitment"],
        envelope.compliance["tensor_commitment"]
    );
    assert_eq!(
        attestation["jurisdictionId"],
        envelope.compliance["jurisdiction_id"]
    );
}

/// `POST /v1/entities` for a Pakistani private limited company.
fn entity_request(legal_name: &str) -> Value {
    json!({
        "entity_type": "PRIVATE_LIMITED",
        "legal_name": legal_name,
        "jurisdiction_id": "PK",
        "beneficial_owners": [{"name": "Ayesha Siddiqui", "ownership_percentage": "60"}],
    })
}

async fn create_entity(zone: &Zone, legal_name: &str) -> Envelope {
    envelope(
        zone,
        Method::POST,
        "/v1/entities",
        entity_request(legal_name),
        201,
        "MezFormationComplianceCredential",
        ENTITY_DOMAINS,
    )
    .await
}

async fn sovereign_entity_creation_produces_orchestration_envelope(db: &TestDb) {
    let zone = Zone::start(db, true).await;
    let entity = create_entity(&zone, "Indus Valley Traders (Pvt) Ltd").await;

    // The Mass record, in Mass's camelCase, mapped from the snake_case request.
    let org = &entity.mass_response;
    let id = assert_record_meta(org, true);
    assert_eq!(org["name"], "Indus Valley Traders (Pvt) Ltd");
    assert_eq!(org["entityType"], "PRIVATE_LIMITED");
    assert_eq!(org["jurisdiction"], "PK");
    assert_eq!(org["status"], "ACTIVE");
    assert_eq!(
        org["beneficialOwners"],
        // The validated item: every field of the spec's BeneficialOwner, absent ones as null.
        json!([{"name": "Ayesha Siddiqui", "ownership_percentage": "60", "cnic": null, "ntn": null}])
    );

    // Twenty domains, and exactly the states the spec implies for Pakistan (matched without
    // regard to case): the financial category and sanctions apply, everything else does not;
    // sanctions is decided by screening (two clean names), corporate and licensing by the
    // entity record the write makes (ACTIVE, an llc needs no licence); the rest await evidence.
    let mut expected = serde_json::Map::new();
    for domain in mez_tests::v1::DOMAINS {
        let state = match domain {
            "sanctions" | "corporate" | "licensing" => "compliant",
            "aml" | "kyc" | "tax" | "banking" | "payments" | "securities" => "pending",
            _ => "not_applicable",
        };
        expected.insert(domain.to_owned(), json!(state));
    }
    assert_eq!(
        entity.compliance["domain_results"],
        Value::Object(expected),
        "the domain results for PK"
    );
    assert_eq!(entity.compliance["jurisdiction_id"], "PK");
    assert_eq!(entity.compliance["overall_status"], "pending");
    assert_eq!(
        entity.credential["credentialSubject"]["resource_type"],
        "entity"
    );

    // The entity is on the direct Mass route, exactly as the envelope reported it.
    let (status, fetched) = zone.get(&format!("{ORG}/organization/{id}")).await;
    assert_eq!(
        (status, &fetched),
        (200, org),
        "the /v1 entity is readable on the direct route"
    );

    // The attestation persists, for the real entity and the credential issued.
    assert_attested(&zone, &entity, "entity", "MezFormationComplianceCredential").await;
    let (status, listed) = zone
        .get(&format!(
            "/v1/attestations?resource_type=entity&resource_id={id}"
        ))
        .await;
    assert_eq!(status, 200, "{listed}");
    let listed_ids: Vec<&str> = listed
        .as_array()
        .map(|items| items.iter().map(|a| str_at(a, "id")).collect())
        .unwrap_or_default();
    assert_eq!(listed_ids, [entity.attestation_id.as_str()]);

    assert_eq!(
        zone.stored("organizations").await,
        std::slice::from_ref(org)
    );
    assert_eq!(zone.stored("attestations").await.len(), 1);
    zone.close().await;
}

async fn sovereign_payment_produces_orchestration_envelope(db: &TestDb) {
    let zone = Zone::start(db, true).await;
    let entity = create_entity(&zone, "Karachi Textile Mills Ltd").await;
    let entity_id = entity.resource_id.clone();

    // The account opens in the entity's own treasury (created on its first account); the
    // jurisdiction comes from the currency.
    let account = envelope(
        &zone,
        Method::POST,
        "/v1/fiscal/accounts",
        json!({"entity_id": entity_id, "account_type": "Operating", "currency": "PKR"}),
        201,
        "MezFiscalComplianceCredential",
        ACCOUNT_DOMAINS,
    )
    .await;
    let account_id = assert_record_meta(&account.mass_response, true);
    assert_eq!(account.mass_response["entityId"], entity_id.as_str());
    assert_eq!(account.mass_response["currency"], "PKR");
    assert_eq!(account.mass_response["name"], "Operating");
    assert_eq!(account.compliance["jurisdiction_id"], "PK");
    assert_eq!(
        account.compliance["domain_results"]["sanctions"], "compliant",
        "the account's entity was screened by its stored name"
    );
    let treasuries = zone.stored("treasuries").await;
    assert_eq!(treasuries.len(), 1, "{treasuries:?}");
    assert_eq!(treasuries[0]["entityId"], entity_id.as_str());
    assert_eq!(
        account.mass_response["treasuryId"], treasuries[0]["id"],
        "the account hangs off the entity's treasury, not off the entity id"
    );
    assert_attested(&zone, &account, "account", "MezFiscalComplianceCredential").await;

    // A payment by a filer (NTN not starting with 0 or 9): 4.5% withheld on goods.
    let payment = envelope(
        &zone,
        Method::POST,
        "/v1/fiscal/payments",
        json!({"from_account_id": account_id, "amount": "250000.00", "currency": "PKR",
               "reference": "INV-2026-0042", "ntn": "1234567"}),
        201,
        "MezPaymentComplianceCredential",
        PAYMENT_DOMAINS,
    )
    .await;
    let payment_id = assert_record_meta(&payment.mass_response, false);
    assert_eq!(payment.mass_response["accountId"], account_id.as_str());
    assert_eq!(payment.mass_response["entityId"], entity_id.as_str());
    assert_eq!(payment.mass_response["amount"], "250000.00");
    assert_eq!(payment.mass_response["currency"], "PKR");
    assert_eq!(payment.mass_response["reference"], "INV-2026-0042");
    assert_eq!(payment.mass_response["status"], "PENDING");
    assert_eq!(payment.compliance["jurisdiction_id"], "PK");
    assert_attested(&zone, &payment, "payment", "MezPaymentComplianceCredential").await;

    // The payment's withholding tax event, recorded for the account's real entity.
    let (status, tax_events) = zone
        .get(&format!("{TREASURY}/tax-events?entity_id={entity_id}"))
        .await;
    assert_eq!(status, 200, "{tax_events}");
    let Some(tax_events) = tax_events.as_array() else {
        panic!("tax events are a list: {tax_events}");
    };
    assert_eq!(
        tax_events.len(),
        1,
        "one tax event per payment: {tax_events:?}"
    );
    let tax = &tax_events[0];
    assert_eq!(tax["entityId"], entity_id.as_str());
    assert_eq!(tax["eventType"], "WITHHOLDING_AT_SOURCE");
    assert_eq!(tax["sourceTransactionId"], payment_id.as_str());
    assert_eq!(tax["currency"], "PKR");
    assert_eq!(tax["amount"], "11250.00", "4.5% of 250,000.00");
    let withholding = &tax["details"]["withholding"];
    assert_eq!(withholding["gross_amount"], "250000.00");
    assert_eq!(withholding["withholding_amount"], "11250.00");
    assert_eq!(withholding["net_amount"], "238750.00");
    assert_eq!(withholding["ntn_status"], "Filer");
    assert_eq!(withholding["entity_id"], entity_id.as_str());

    assert_eq!(zone.stored("transactions").await.len(), 1);
    assert_eq!(zone.stored("attestations").await.len(), 3);
    zone.close().await;
}

async fn sovereign_consent_produces_orchestration_envelope(db: &TestDb) {
    let zone = Zone::start(db, true).await;
    let entity = create_entity(&zone, "Lahore Fintech Holdings Ltd").await;
    let entity_id = entity.resource_id.clone();

    let consent = envelope(
        &zone,
        Method::POST,
        "/v1/consent",
        json!({"consent_type": "ISSUE_NEW_SHARES",
               "description": "Issue 10,000 ordinary shares to the seed round",
               "parties": [{"entity_id": entity_id, "role": "ISSUER"}],
               "num_votes_required": 2}),
        201,
        "MezConsentComplianceCredential",
        CONSENT_DOMAINS,
    )
    .await;
    let consent_id = assert_record_meta(&consent.mass_response, true);
    let record = &consent.mass_response;
    assert_eq!(record["organizationId"], entity_id.as_str());
    assert_eq!(record["operationType"], "ISSUE_NEW_SHARES");
    assert_eq!(
        record["description"],
        "Issue 10,000 ordinary shares to the seed round"
    );
    assert_eq!(record["numVotesRequired"], 2);
    assert_eq!(record["status"], "PENDING");
    assert_eq!(record["approvalCount"], 0);
    assert_eq!(
        record["parties"],
        json!([{"entity_id": entity_id, "role": "ISSUER"}])
    );
    assert_eq!(
        consent.compliance["jurisdiction_id"], "PK",
        "the jurisdiction is the first party's"
    );
    assert_eq!(
        consent.compliance["domain_results"]["sanctions"],
        "compliant"
    );
    assert_attested(&zone, &consent, "consent", "MezConsentComplianceCredential").await;

    let (status, fetched) = zone.get(&format!("/v1/consent/{consent_id}")).await;
    assert_eq!(
        (status, &fetched),
        (200, record),
        "the consent reads back through /v1"
    );
    zone.close().await;
}

async fn proxy_mode_unaffected(db: &TestDb) {
    let zone = Zone::start(db, false).await;
    let entity_id = uuid::Uuid::new_v4().to_string();
    let account_id = uuid::Uuid::new_v4().to_string();

    // Every /v1 write needs the Mass API; with none configured each is a 503 in the one
    // error shape, before anything is written.
    let writes = [
        (
            Method::POST,
            "/v1/entities".to_owned(),
            entity_request("Proxy Test Ltd"),
        ),
        (
            Method::PUT,
            format!("/v1/entities/{entity_id}"),
            json!({"legal_name": "Renamed Ltd"}),
        ),
        (
            Method::POST,
            "/v1/ownership/cap-tables".to_owned(),
            json!({"entity_id": entity_id, "share_classes": [{"name": "Common", "authorized_shares": 100}]}),
        ),
        (
            Method::POST,
            "/v1/fiscal/accounts".to_owned(),
            json!({"entity_id": entity_id, "account_type": "Operating", "currency": "PKR"}),
        ),
        (
            Method::POST,
            "/v1/fiscal/payments".to_owned(),
            json!({"from_account_id": account_id, "amount": "10.00", "currency": "PKR",
                   "reference": "R-1"}),
        ),
        (
            Method::POST,
            "/v1/identity/verify".to_owned(),
            json!({"identity_type": "INDIVIDUAL",
                   "linked_ids": [{"id_type": "CNIC", "id_value": "42101-1234567-1"}]}),
        ),
        (
            Method::POST,
            "/v1/identity/cnic/verify".to_owned(),
            json!({"cnic": "4210112345671", "full_name": "Ali Raza"}),
        ),
        (
            Method::POST,
            "/v1/identity/ntn/verify".to_owned(),
            json!({"ntn": "1234567", "entity_name": "Proxy Test Ltd"}),
        ),
        (
            Method::POST,
            "/v1/consent".to_owned(),
            json!({"consent_type": "EQUITY_OFFER", "description": "Offer",
                   "parties": [{"entity_id": entity_id, "role": "issuer"}]}),
        ),
    ];
    for (method, path, body) in writes {
        let (status, answer) = zone.send(method.clone(), &path, Some(body)).await;
        assert_eq!(status, 503, "{method} {path} in proxy mode: {answer}");
        let message = assert_error(&answer, "SERVICE_UNAVAILABLE");
        assert!(
            message.contains("upstream"),
            "the 503 says no upstream is configured: {message}"
        );
    }
    // Validation still comes first: a malformed request is the client's 422, not a 503.
    let (status, answer) = zone
        .post("/v1/entities", json!({"entity_type": "LLC"}))
        .await;
    assert_eq!(status, 422, "{answer}");
    assert_error(&answer, "VALIDATION_ERROR");

    // The direct Mass surface is a sovereign zone's only.
    let (status, answer) = zone.get(&format!("{ORG}/organization")).await;
    assert_eq!(status, 404, "{answer}");
    assert_error(&answer, "NOT_FOUND");

    // Nothing written: no record in any collection, no attestation, no audit event.
    for collection in COLLECTIONS {
        assert!(
            zone.stored(collection).await.is_empty(),
            "proxy mode wrote to {collection}"
        );
    }
    let (status, events) = zone.get("/v1/audit/events").await;
    assert_eq!((status, &events), (200, &json!([])), "no audit events");
    let (status, attestations) = zone.get("/v1/attestations").await;
    assert_eq!(
        (status, &attestations),
        (200, &json!([])),
        "no attestations"
    );
    let (status, report) = zone.get("/v1/audit/verify").await;
    assert_eq!(
        (status, &report),
        (
            200,
            &json!({"valid": true, "events": 0, "first_invalid_sequence": null})
        )
    );
    let mut raw = RawDb::open(db).await;
    assert_eq!(raw.scalar_i64("SELECT COUNT(*) FROM records").await, 0);
    assert_eq!(raw.scalar_i64("SELECT COUNT(*) FROM audit_events").await, 0);
    raw.close().await;
    zone.close().await;
}

async fn sovereign_direct_and_orchestrated_routes_coexist(db: &TestDb) {
    let zone = Zone::start(db, true).await;

    // Created on the direct Mass route: a raw record, not an envelope.
    let (status, org) = zone
        .post(
            &format!("{ORG}/organization/create"),
            json!({"name": "Gulf Bridge Trading FZE", "jurisdiction": "ae",
                   "entityType": "FZE", "tags": ["direct"],
                   "address": {"city": "Dubai", "lines": ["Office 12, JAFZA"]}}),
        )
        .await;
    assert_eq!(status, 201, "direct organization create: {org}");
    let id = assert_record_meta(&org, true);
    assert!(org.get("mass_response").is_none(), "{org}");

    let (status, fetched) = zone.get(&format!("/v1/entities/{id}")).await;
    assert_eq!(
        (status, &fetched),
        (200, &org),
        "GET /v1/entities/{{id}} answers the direct route's record unchanged"
    );

    // An unknown id is the JSON 404 on both surfaces.
    let missing = uuid::Uuid::new_v4();
    for path in [
        format!("/v1/entities/{missing}"),
        format!("{ORG}/organization/{missing}"),
    ] {
        let (status, answer) = zone.get(&path).await;
        assert_eq!(status, 404, "GET {path}: {answer}");
        assert_error(&answer, "NOT_FOUND");
    }

    // An orchestrated update of that entity maps legal_name onto name and leaves every field
    // it does not name as it was; the direct route then reads the updated record.
    let updated = envelope(
        &zone,
        Method::PUT,
        &format!("/v1/entities/{id}"),
        json!({"legal_name": "Gulf Bridge Holdings FZE"}),
        200,
        "MezFormationComplianceCredential",
        ENTITY_DOMAINS,
    )
    .await;
    let record = &updated.mass_response;
    assert_eq!(uuid_at(record, "id"), id);
    assert_eq!(record["name"], "Gulf Bridge Holdings FZE");
    for kept in ["jurisdiction", "entityType", "tags", "address", "createdAt"] {
        assert_eq!(
            record[kept], org[kept],
            "`{kept}` is untouched by the update"
        );
    }
    assert_eq!(
        updated.compliance["jurisdiction_id"], "ae",
        "the jurisdiction comes from the stored entity"
    );
    let (status, fetched) = zone.get(&format!("{ORG}/organization/{id}")).await;
    assert_eq!((status, &fetched), (200, record));
    zone.close().await;
}

mez_tests::on_sqlite_and_postgres!(
    sovereign_entity_creation_produces_orchestration_envelope,
    sovereign_payment_produces_orchestration_envelope,
    sovereign_consent_produces_orchestration_envelope,
    proxy_mode_unaffected,
    sovereign_direct_and_orchestrated_routes_coexist,
);
