// SPDX-License-Identifier: BUSL-1.1
//! A database written by the previous release opens with this code, whole.
//!
//! `tests/fixtures/v0-zone/mez.db` was written by a zone built from the commit its README
//! names: every `/v1` write once and one blocked write. The current zone is started on a copy
//! of it (SQLite), and on a PostgreSQL database holding the same rows, with the fixture's key:
//! every record, attestation and audit event must read back as stored, the audit chain and
//! its signed head must verify, and every old credential must still verify through
//! `POST /v1/credentials/verify`, reported as the legacy form (its proof has no `@context`).
//! New writes then join the same chain as standard credentials.

use std::path::{Path, PathBuf};

use mez_api::config::Config;
use mez_api::credentials::LEGACY_NOTE;
use mez_tests::v1::verify_credential;
use mez_tests::v1_writes::{create_entity, send};
use mez_tests::{Backend, RawDb, TestDb, TestZone};
use serde_json::{Value, json};
use sqlx::Row;

/// How many attestations, audit events and records (of any collection) the fixture holds.
const ATTESTATIONS: usize = 9;
const EVENTS: usize = 10;
const RECORDS: usize = 20;
/// The fixture zone's DID (the key in `zone-key.hex`).
const FIXTURE_DID: &str = "did:key:z6MkrxwCEmK8YVAdvwLGv2fuHKo8qzANyTt5sTaVzUmushQc";

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/v0-zone")
}

fn fixture_key() -> String {
    let path = fixture_dir().join("zone-key.hex");
    match std::fs::read_to_string(&path) {
        Ok(text) => text.trim().to_owned(),
        Err(err) => panic!("{}: {err}", path.display()),
    }
}

/// The fixture's rows, read straight from the file (read-only).
struct Fixture {
    /// (collection, id, body, version, created_at, updated_at), in insertion order.
    records: Vec<(String, String, String, i64, String, String)>,
    /// Every column of every event, in sequence order, as text.
    events: Vec<Vec<String>>,
    /// (sequence, event_hash, signature).
    head: (i64, String, String),
}

const EVENT_COLUMNS: &str = "sequence, event_type, actor, resource_type, resource_id, action, \
                             metadata, timestamp, previous_hash, event_hash";

async fn read_fixture() -> Fixture {
    let url = format!(
        "sqlite://{}?mode=ro&immutable=1",
        fixture_dir().join("mez.db").display()
    );
    let pool = sqlx::SqlitePool::connect(&url)
        .await
        .expect("open the fixture");
    let records = sqlx::query_as(
        "SELECT collection, id, body, version, created_at, updated_at FROM records ORDER BY seq",
    )
    .fetch_all(&pool)
    .await
    .expect("fixture records");
    let rows = sqlx::query(&format!(
        "SELECT CAST(sequence AS TEXT), {} FROM audit_events ORDER BY sequence",
        &EVENT_COLUMNS["sequence, ".len()..]
    ))
    .fetch_all(&pool)
    .await
    .expect("fixture events");
    let events = rows
        .iter()
        .map(|row| (0..10).map(|i| row.get::<String, _>(i)).collect())
        .collect();
    let head = sqlx::query_as("SELECT sequence, event_hash, signature FROM audit_head")
        .fetch_one(&pool)
        .await
        .expect("fixture head");
    pool.close().await;
    Fixture {
        records,
        events,
        head,
    }
}

/// Puts the fixture's data into `db`: a copy of the file for SQLite; for PostgreSQL, the
/// schema (migrations, run by connecting) and then the same rows, in the same order.
async fn load(db: &TestDb, fixture: &Fixture) {
    match db.backend() {
        Backend::Sqlite => {
            let target = db.url().trim_start_matches("sqlite://");
            if let Err(err) = std::fs::copy(fixture_dir().join("mez.db"), target) {
                panic!("copying the fixture to {target}: {err}");
            }
        }
        Backend::Postgres => {
            let store = mez_api::db::Db::connect(db.url()).await.expect("migrate");
            store.close().await;
            let mut raw = RawDb::open(db).await;
            for (collection, id, body, version, created, updated) in &fixture.records {
                raw.execute(
                    "INSERT INTO records (collection, id, body, version, created_at, updated_at) \
                     VALUES ($1, $2, $3, CAST($4 AS BIGINT), CAST($5 AS TIMESTAMPTZ), \
                     CAST($6 AS TIMESTAMPTZ))",
                    &[collection, id, body, &version.to_string(), created, updated],
                )
                .await;
            }
            for event in &fixture.events {
                let params: Vec<&str> = event.iter().map(String::as_str).collect();
                raw.execute(
                    &format!(
                        "INSERT INTO audit_events ({EVENT_COLUMNS}) VALUES \
                         (CAST($1 AS BIGINT), $2, $3, $4, $5, $6, $7, $8, $9, $10)"
                    ),
                    &params,
                )
                .await;
            }
            let (sequence, hash, signature) = &fixture.head;
            raw.execute(
                "INSERT INTO audit_head (id, sequence, event_hash, signature) \
                 VALUES (1, CAST($1 AS BIGINT), $2, $3)",
                &[&sequence.to_string(), hash, signature],
            )
            .await;
            raw.close().await;
        }
    }
}

fn config(db: &TestDb, key: &str) -> Config {
    let mut config = Config::for_tests(db.url(), true, "fixture-token");
    config.signing_key_hex = Some(key.to_owned());
    config
}

async fn the_previous_releases_database_opens_whole(db: &TestDb) {
    let fixture = read_fixture().await;
    assert_eq!(fixture.records.len(), RECORDS);
    assert_eq!(fixture.events.len(), EVENTS);
    load(db, &fixture).await;

    // Another key may not take the old zone's database over.
    let other = "3333333333333333333333333333333333333333333333333333333333333333";
    let refused = mez_api::build_state(config(db, other)).await.err();
    let refused = refused.map(|err| err.to_string()).unwrap_or_default();
    assert!(
        refused.contains(FIXTURE_DID) && refused.contains("ZONE_SIGNING_KEY_HEX"),
        "{refused}"
    );

    let zone = TestZone::start_with_config(config(db, &fixture_key())).await;
    assert_eq!(zone.state.zone_did(), FIXTURE_DID);

    // Every record reads back exactly as stored.
    for (collection, id, body, _, _, _) in &fixture.records {
        let stored = zone.stored(collection).await;
        let expected: Value = serde_json::from_str(body).expect("fixture body is JSON");
        assert!(
            stored.contains(&expected),
            "{collection}/{id} reads back as stored"
        );
    }

    // Every audit event, field for field, and the chain with its signed head.
    let (status, events) = zone.get("/v1/audit/events?limit=1000").await;
    assert_eq!(status, 200, "{events}");
    let events = events.as_array().cloned().unwrap_or_default();
    assert_eq!(events.len(), EVENTS);
    for (event, stored) in events.iter().zip(&fixture.events) {
        assert_eq!(event["sequence"].to_string(), stored[0]);
        for (i, field) in [
            "event_type",
            "actor",
            "resource_type",
            "resource_id",
            "action",
        ]
        .iter()
        .enumerate()
        {
            assert_eq!(event[field], stored[i + 1].as_str(), "{field}");
        }
        let metadata: Value = serde_json::from_str(&stored[6]).expect("metadata");
        assert_eq!(event["metadata"], metadata);
        assert_eq!(event["timestamp"], stored[7].as_str());
        assert_eq!(event["previous_hash"], stored[8].as_str());
        assert_eq!(event["event_hash"], stored[9].as_str());
    }
    assert_eq!(
        events.last().map(|e| e["event_type"].clone()),
        Some(json!("compliance.blocked"))
    );
    let (_, report) = zone.get("/v1/audit/verify").await;
    assert_eq!(
        report,
        json!({"valid": true, "events": EVENTS, "first_invalid_sequence": null})
    );

    // Every attestation, and every old credential verifies, as the legacy form.
    let (status, attestations) = zone.get("/v1/attestations").await;
    assert_eq!(status, 200, "{attestations}");
    let attestations = attestations.as_array().cloned().unwrap_or_default();
    assert_eq!(attestations.len(), ATTESTATIONS);
    for attestation in &attestations {
        let credential = &attestation["credential"];
        assert!(
            credential["proof"].get("@context").is_none(),
            "an old proof has no @context"
        );
        assert_eq!(
            verify_credential(&zone, credential).await,
            json!({"verified": true, "reason": null, "legacy": LEGACY_NOTE, "status": null}),
            "the old {} credential verifies",
            attestation["attestationType"]
        );
        // The legacy reading is no loophole: an edit still fails.
        let mut edited = credential.clone();
        edited["credentialSubject"]["resource_id"] = json!("someone-else");
        assert_eq!(verify_credential(&zone, &edited).await["verified"], false);
    }

    // The zone goes on writing the same chain, now with standard credentials.
    let (_, entity) = send(&zone, create_entity("After The Upgrade Ltd")).await;
    assert_eq!(entity.issuer, FIXTURE_DID);
    assert_eq!(
        entity.credential["proof"]["@context"],
        entity.credential["@context"]
    );
    assert_eq!(
        verify_credential(&zone, &entity.credential).await,
        json!({"verified": true, "reason": null, "status": {"revoked": false, "suspended": false}})
    );
    let (_, report) = zone.get("/v1/audit/verify").await;
    assert_eq!(
        report,
        json!({"valid": true, "events": EVENTS + 1, "first_invalid_sequence": null})
    );
    zone.stop().await;
}

mez_tests::on_sqlite_and_postgres!(the_previous_releases_database_opens_whole);
