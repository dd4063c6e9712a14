// SPDX-License-Identifier: BUSL-1.1
//! The signed head of the audit chain: removing the newest events, or rewriting the head,
//! shows in `/v1/audit/verify`, even though what is left is a well-linked chain.
//!
//! The append-only triggers refuse such edits; these tests lift them first, as someone with
//! database access could.

use mez_tests::{Backend, RawDb, TestDb, TestZone, on_sqlite_and_postgres};
use serde_json::json;

/// Lifts the append-only trigger of `audit_events` (deletes only), for the test's edits.
async fn allow_deletes(raw: &mut RawDb) {
    match raw.backend() {
        Backend::Postgres => {
            raw.execute("ALTER TABLE audit_events DISABLE TRIGGER USER", &[])
                .await;
        }
        Backend::Sqlite => {
            raw.execute("DROP TRIGGER audit_events_no_delete", &[])
                .await;
        }
    }
}

async fn removing_the_newest_events_or_forging_the_head_is_reported(db: &TestDb) {
    let zone = TestZone::start(db, true).await;
    for n in 0..5 {
        let (status, body) = zone
            .post(
                "/organization-info/api/v1/organization/create",
                json!({"name": format!("Head Test {n}")}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let (_, report) = zone.get("/v1/audit/verify").await;
    assert_eq!(
        report,
        json!({"valid": true, "events": 5, "first_invalid_sequence": null})
    );

    let mut raw = RawDb::open(db).await;
    // The head is signed and follows the chain.
    assert_eq!(
        raw.scalar_i64("SELECT sequence FROM audit_head WHERE id = 1")
            .await,
        5
    );
    // The head cannot simply be removed.
    assert!(
        raw.try_execute("DELETE FROM audit_head", &[])
            .await
            .is_err()
    );

    // Remove the two newest events: the rest still links, but it stops short of the head.
    allow_deletes(&mut raw).await;
    assert_eq!(
        raw.execute("DELETE FROM audit_events WHERE sequence > 3", &[])
            .await,
        2
    );
    let (_, report) = zone.get("/v1/audit/verify").await;
    assert_eq!(
        report,
        json!({"valid": false, "events": 3, "first_invalid_sequence": 4,
               "reason": "the chain ends at event 3 but its signed head is event 5: the newest \
                          events have been removed"})
    );

    // Moving the head back to match needs the zone key: a forged signature is reported.
    let hash = raw
        .text(
            "SELECT event_hash FROM audit_events WHERE sequence = 3",
            &[],
        )
        .await
        .expect("event 3");
    raw.execute(
        "UPDATE audit_head SET sequence = 3, event_hash = $1, signature = $2 WHERE id = 1",
        &[&hash, &"00".repeat(64)],
    )
    .await;
    let (_, report) = zone.get("/v1/audit/verify").await;
    let did = zone.state.zone_did().to_owned();
    assert_eq!(
        report,
        json!({"valid": false, "events": 3, "first_invalid_sequence": 3,
               "reason": format!("the chain's head (event 3) does not carry a valid signature \
                                  of this zone's key {did} (nor of the zone its event names)")})
    );

    raw.close().await;
    zone.stop().await;
}

on_sqlite_and_postgres!(removing_the_newest_events_or_forging_the_head_is_reported);
