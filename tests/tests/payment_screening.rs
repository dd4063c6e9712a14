// SPDX-License-Identifier: BUSL-1.1
//! A payment is screened through the organization that owns its source account.
//!
//! The payment request names only an account, so without this the sanctions domain would
//! pass a payment from a listed entity. The entity is renamed to a listed name on the direct
//! surface after its account was opened, as happens when a list is updated or a record is
//! corrected later.

use mez_tests::{TestDb, TestZone, on_sqlite_and_postgres};
use serde_json::json;

async fn a_payment_from_a_listed_entitys_account_is_blocked(db: &TestDb) {
    let zone = TestZone::start(db, true).await;
    let (status, entity) = zone
        .post(
            "/v1/entities",
            json!({"entity_type": "llc", "legal_name": "Clean Start Ltd", "jurisdiction_id": "pk"}),
        )
        .await;
    assert_eq!(status, 201, "{entity}");
    let entity_id = entity["mass_response"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let (status, account) = zone
        .post(
            "/v1/fiscal/accounts",
            json!({"entity_id": entity_id, "account_type": "operating", "currency": "PKR"}),
        )
        .await;
    assert_eq!(status, 201, "{account}");
    let account_id = account["mass_response"]["id"]
        .as_str()
        .expect("id")
        .to_string();

    // A clean owner pays.
    let payment = json!({"from_account_id": account_id, "amount": "10.00", "currency": "PKR", "reference": "r-1"});
    let (status, paid) = zone.post("/v1/fiscal/payments", payment.clone()).await;
    assert_eq!(status, 201, "{paid}");
    assert_eq!(
        paid["compliance"]["domain_results"]["sanctions"],
        "compliant"
    );

    // The owner now bears a listed name (spec/data/sanctions.yaml).
    let (status, renamed) = zone
        .put(
            &format!("/organization-info/api/v1/organization/{entity_id}"),
            json!({"name": "Blocked Trading Co LLC"}),
        )
        .await;
    assert_eq!(status, 200, "{renamed}");
    let before = zone.stored("transactions").await.len();
    let attestations = zone.stored("attestations").await.len();
    let (status, refused) = zone.post("/v1/fiscal/payments", payment).await;
    assert_eq!(status, 403, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("sanctions")),
        "{refused}"
    );
    assert_eq!(
        zone.stored("transactions").await.len(),
        before,
        "a blocked payment was stored"
    );
    assert_eq!(zone.stored("attestations").await.len(), attestations);
    zone.stop().await;
}

on_sqlite_and_postgres!(a_payment_from_a_listed_entitys_account_is_blocked);
