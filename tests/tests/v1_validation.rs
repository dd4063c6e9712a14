// SPDX-License-Identifier: BUSL-1.1
//! The `/v1` request rules of reference §2.2 that live in list items: every item of a
//! `list<Model>` field is checked against its model, each problem named by its path, and
//! nothing is written when any item is wrong.

use mez_tests::{TestDb, TestZone, on_sqlite_and_postgres};
use serde_json::{Value, json};

fn fields(body: &Value) -> Vec<String> {
    body["error"]["details"]
        .as_array()
        .map(|d| {
            d.iter()
                .filter_map(|e| e["field"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

async fn list_items_are_validated_against_their_models(db: &TestDb) {
    let zone = TestZone::start(db, true).await;
    let (status, entity) = zone
        .post(
            "/v1/entities",
            json!({"entity_type": "llc", "legal_name": "Items Ltd", "jurisdiction_id": "pk"}),
        )
        .await;
    assert_eq!(status, 201, "{entity}");
    let entity_id = entity["mass_response"]["id"].clone();

    // A cap table needs at least one class; each class a name and positive authorized shares.
    let (status, body) = zone
        .post(
            "/v1/ownership/cap-tables",
            json!({"entity_id": entity_id, "share_classes": []}),
        )
        .await;
    assert_eq!(
        (status, fields(&body)),
        (422, vec!["share_classes".to_string()]),
        "{body}"
    );
    let (status, body) = zone
        .post(
            "/v1/ownership/cap-tables",
            json!({"entity_id": entity_id, "share_classes": [
                {"name": "Common", "authorized_shares": 100},
                {"authorized_shares": 0, "voting": true},
                "not an object"
            ]}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        fields(&body),
        [
            "share_classes[1].name",
            "share_classes[1].authorized_shares",
            "share_classes[1].voting",
            "share_classes[2]"
        ],
        "{body}"
    );

    // Beneficial owners: a name and a percentage from 0 to 100.
    let (status, body) = zone
        .post(
            "/v1/entities",
            json!({"entity_type": "llc", "legal_name": "Owners Ltd", "jurisdiction_id": "pk",
                   "beneficial_owners": [{"name": "", "ownership_percentage": "101"}]}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        fields(&body),
        [
            "beneficial_owners[0].name",
            "beneficial_owners[0].ownership_percentage"
        ],
        "{body}"
    );

    // An owner's CNIC and NTN have the formats the document says (schemathesis found an
    // owner NTN of "AAA" accepted): 13 digits with free separators, exactly 7 digits; an
    // empty NTN is none.
    let (status, body) = zone
        .post(
            "/v1/entities",
            json!({"entity_type": "llc", "legal_name": "Owners Ltd", "jurisdiction_id": "pk",
                   "beneficial_owners": [
                       {"name": "Ali Khan", "ownership_percentage": "50", "cnic": "12345-678", "ntn": "AAA"},
                       {"name": "Sara Ahmed", "ownership_percentage": "50", "cnic": "42101 1111111 2", "ntn": " "}
                   ]}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        fields(&body),
        ["beneficial_owners[0].cnic", "beneficial_owners[0].ntn"],
        "{body}"
    );
    assert!(
        body.to_string()
            .contains("must be exactly 13 digits, got 8"),
        "{body}"
    );

    // Consent parties: at least one, each with an entity id and a role.
    let (status, body) = zone
        .post(
            "/v1/consent",
            json!({"consent_type": "EQUITY_OFFER", "description": "d",
                   "parties": [{"entity_id": "not-a-uuid"}]}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        fields(&body),
        ["parties[0].entity_id", "parties[0].role"],
        "{body}"
    );

    // An amount whose withholding cannot be held in cents is refused by the validator, as
    // the document says (schemathesis sent 28 integer digits, which the hook then refused),
    // on the direct route and on a /v1 payment alike.
    let huge = "000008127790487009382120874871310.94191524851033532";
    let (status, body) = zone
        .post(
            "/treasury-info/api/v1/withholding/compute",
            json!({"entity_id": "00000000-0000-0000-0000-000000000000",
                   "transaction_amount": huge}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(fields(&body), ["transaction_amount"], "{body}");
    assert!(body.to_string().contains("at most"), "{body}");
    let (status, body) = zone
        .post(
            "/v1/fiscal/payments",
            json!({"from_account_id": "00000000-0000-0000-0000-000000000000",
                   "amount": huge, "currency": "PKR", "reference": "r"}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(fields(&body), ["amount"], "{body}");

    // Nothing but the first entity (and its audit event) was written.
    assert_eq!(zone.stored("organizations").await.len(), 1);
    assert!(zone.stored("cap_tables").await.is_empty());
    assert!(zone.stored("consents").await.is_empty());
    assert_eq!(zone.stored("attestations").await.len(), 1);
    zone.stop().await;
}

on_sqlite_and_postgres!(list_items_are_validated_against_their_models);
