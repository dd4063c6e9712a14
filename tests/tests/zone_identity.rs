// SPDX-License-Identifier: BUSL-1.1
//! Zone identity: one database, one zone key.
//!
//! The audit chain's head is signed with the zone key. A zone started on a database whose
//! head another key signed refuses to start, naming both `did:key`s and the variable to set;
//! before this check, two replicas with different keys ran without complaint and whichever
//! wrote last reported `valid: true` while the other said `valid: false` with no reason. Two
//! replicas that both started before either wrote (so neither could see the other's key) are
//! still told apart by `GET /v1/audit/verify`, whose answer names the other key.

use mez_api::config::Config;
use mez_api::credentials::ZoneKey;
use mez_tests::{TestDb, TestZone};
use serde_json::{Value, json};

const KEY_ONE: &str = "1111111111111111111111111111111111111111111111111111111111111111";
const KEY_TWO: &str = "2222222222222222222222222222222222222222222222222222222222222222";

fn did_of(hex: &str) -> String {
    let key = ZoneKey::load_or_create(&std::env::temp_dir(), Some(hex)).expect("a hex key");
    key.did().to_owned()
}

fn config(db: &TestDb, hex: &str) -> Config {
    let mut config = Config::for_tests(db.url(), true, "identity-token");
    config.signing_key_hex = Some(hex.to_owned());
    config
}

async fn create_organization(zone: &TestZone, name: &str) {
    let (status, body) = zone
        .post(
            "/organization-info/api/v1/organization/create",
            json!({ "name": name }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
}

async fn audit_verify(zone: &TestZone) -> Value {
    let (status, report) = zone.get("/v1/audit/verify").await;
    assert_eq!(status, 200, "{report}");
    report
}

async fn a_zone_with_another_key_refuses_to_start(db: &TestDb) {
    let (one, two) = (did_of(KEY_ONE), did_of(KEY_TWO));
    assert_ne!(one, two);

    let zone = TestZone::start_with_config(config(db, KEY_ONE)).await;
    assert_eq!(zone.state.zone_did(), one);
    create_organization(&zone, "Identity One").await;
    zone.stop().await;

    let refused = match mez_api::build_state(config(db, KEY_TWO)).await {
        Ok(_) => panic!("a zone with another key started on this database"),
        Err(err) => err.to_string(),
    };
    for part in [one.as_str(), two.as_str(), "ZONE_SIGNING_KEY_HEX"] {
        assert!(
            refused.contains(part),
            "the refusal names {part}: {refused}"
        );
    }

    // The right key starts, and the chain it finds is whole.
    let zone = TestZone::start_with_config(config(db, KEY_ONE)).await;
    create_organization(&zone, "Identity One Again").await;
    assert_eq!(
        audit_verify(&zone).await,
        json!({"valid": true, "events": 2, "first_invalid_sequence": null})
    );
    zone.stop().await;

    // A database nobody has written to takes any key.
    let fresh = TestDb::sqlite();
    let zone = TestZone::start_with_config(config(&fresh, KEY_TWO)).await;
    assert_eq!(zone.state.zone_did(), two);
    zone.stop().await;
    fresh.cleanup().await;
}

async fn replicas_with_different_keys_say_why_the_chain_is_invalid(db: &TestDb) {
    let (one, two) = (did_of(KEY_ONE), did_of(KEY_TWO));
    // Both start on the empty database, so neither start-up can see the other's key.
    let first = TestZone::start_with_config(config(db, KEY_ONE)).await;
    let second = TestZone::start_with_config(config(db, KEY_TWO)).await;
    create_organization(&first, "Replica One").await;
    create_organization(&second, "Replica Two").await;

    // The head is now the second key's: the second zone sees a valid chain, the first says
    // which key signed the head instead of its own.
    assert_eq!(
        audit_verify(&second).await,
        json!({"valid": true, "events": 2, "first_invalid_sequence": null})
    );
    let report = audit_verify(&first).await;
    assert_eq!(report["valid"], false, "{report}");
    assert_eq!(report["first_invalid_sequence"], 2, "{report}");
    let reason = report["reason"].as_str().unwrap_or_default();
    assert_eq!(
        reason,
        format!(
            "the chain's head (event 2) is signed by {two}, not by this zone's key {one}: two \
             zones with different keys write to this database"
        )
    );

    // Whichever writes next holds the head; the other then says so.
    create_organization(&first, "Replica One Again").await;
    assert_eq!(audit_verify(&first).await["valid"], true);
    let report = audit_verify(&second).await;
    assert_eq!(report["valid"], false, "{report}");
    let reason = report["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains(&format!("signed by {one}")) && reason.contains(&two),
        "{report}"
    );
    first.stop().await;
    second.stop().await;

    // From now on only the key that holds the head may start a zone on this database.
    assert!(mez_api::build_state(config(db, KEY_TWO)).await.is_err());
}

mez_tests::on_sqlite_and_postgres!(
    a_zone_with_another_key_refuses_to_start,
    replicas_with_different_keys_say_why_the_chain_is_invalid,
);
