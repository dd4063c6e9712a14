// SPDX-License-Identifier: BUSL-1.1
//! A thousand concurrent `/v1` writes leave one unforked audit chain, and editing any column of
//! any one event in the database is reported at that event.
//!
//! The earlier implementation's chain forked under load: concurrent appends read the same head
//! and wrote two events with the same predecessor. Here 50 clients each send 20
//! `POST /v1/entities` to the real server over loopback HTTP; every write must succeed, and
//! the chain must then hold exactly 1,000 events numbered 1..=1000, each following the one
//! before it, with no previous hash used twice. Then the test edits one audit row behind the
//! zone's back, column by column, with raw SQL (after switching off the table's append-only
//! triggers, as someone with database access could), and `/v1/audit/verify` must name that
//! row's sequence each time, and call the chain valid again once the value is put back.
//!
//! A second scenario races the first accounts of one entity: the account hook finds the
//! entity's treasury or creates it, and concurrent requests must still agree on one treasury.
//! Both run on SQLite and on PostgreSQL.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use mez_tests::json::{str_at, uuid_at};
use mez_tests::v1::{assert_chain_valid, audit_events, chain_report};
use mez_tests::{Backend, RawDb, TestDb, TestZone};
use serde_json::json;

const TASKS: usize = 50;
const WRITES_PER_TASK: usize = 20;
const WRITES: usize = TASKS * WRITES_PER_TASK;
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The columns of `audit_events` that an event's hash or link covers (besides `sequence`).
const COLUMNS: [&str; 9] = [
    "event_type",
    "actor",
    "resource_type",
    "resource_id",
    "action",
    "metadata",
    "timestamp",
    "previous_hash",
    "event_hash",
];

/// 64 lowercase hex digits that no event carries.
fn fresh_hash() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// A different value for `column`, given the stored one; still well-formed for the column
/// (the hashes stay 64 hex digits, the metadata stays canonical JSON), so only the chain's
/// own checks can catch it.
fn tampered(column: &str, original: &str) -> String {
    let changed = match column {
        "event_type" => "entity.deleted".to_owned(),
        "actor" => "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2".to_owned(),
        "resource_type" => "organization".to_owned(),
        "resource_id" => uuid::Uuid::new_v4().to_string(),
        "action" => "delete".to_owned(),
        "metadata" => original.replace(
            "\"compliance_status\":\"pending\"",
            "\"compliance_status\":\"compliant\"",
        ),
        "timestamp" => "2020-01-01T00:00:00.000Z".to_owned(),
        "previous_hash" | "event_hash" => fresh_hash(),
        other => panic!("no tampering defined for column {other}"),
    };
    assert_ne!(changed, original, "the {column} edit changes the value");
    changed
}

/// Switches the append-only triggers of `audit_events` off, returning what restores them.
async fn disable_append_only(raw: &mut RawDb) -> Vec<String> {
    match raw.backend() {
        Backend::Postgres => {
            raw.execute("ALTER TABLE audit_events DISABLE TRIGGER USER", &[])
                .await;
            vec!["ALTER TABLE audit_events ENABLE TRIGGER USER".to_owned()]
        }
        Backend::Sqlite => {
            let names = raw
                .texts(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger' \
                     AND tbl_name = 'audit_events' ORDER BY name",
                    &[],
                )
                .await;
            assert!(!names.is_empty(), "audit_events has append-only triggers");
            let mut restore = Vec::new();
            for name in names {
                let sql = raw
                    .text(
                        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = $1",
                        &[&name],
                    )
                    .await
                    .unwrap_or_else(|| panic!("trigger {name} has no SQL"));
                raw.execute(&format!("DROP TRIGGER \"{name}\""), &[]).await;
                restore.push(sql);
            }
            restore
        }
    }
}

/// Sets `column` of the event at `sequence` to `value`, behind the zone's back.
async fn set_column(raw: &mut RawDb, sequence: usize, column: &str, value: &str) {
    let sql = format!("UPDATE audit_events SET {column} = $1 WHERE sequence = {sequence}");
    assert_eq!(raw.execute(&sql, &[value]).await, 1, "{sql}");
}

async fn stored_value(raw: &mut RawDb, sequence: usize, column: &str) -> String {
    raw.text(
        &format!("SELECT {column} FROM audit_events WHERE sequence = {sequence}"),
        &[],
    )
    .await
    .unwrap_or_else(|| panic!("no audit event {sequence}"))
}

/// Edits `column` of event `sequence`, expects verification to report that event, puts the
/// value back and expects a valid chain again.
async fn tamper_and_restore(
    zone: &TestZone,
    raw: &mut RawDb,
    sequence: usize,
    column: &str,
    edit: &str,
) {
    let original = stored_value(raw, sequence, column).await;
    set_column(raw, sequence, column, edit).await;
    let mut report = chain_report(zone).await;
    // Whenever the chain is not valid, the report says why, naming the event.
    let reason = report
        .as_object_mut()
        .and_then(|report| report.remove("reason"))
        .unwrap_or_default();
    assert!(
        reason
            .as_str()
            .is_some_and(|reason| reason.contains(&format!("event {sequence}"))),
        "editing {column} of event {sequence}: the reason names it: {reason}"
    );
    assert_eq!(
        report,
        json!({"valid": false, "events": WRITES, "first_invalid_sequence": sequence}),
        "editing {column} of event {sequence} is reported there"
    );
    set_column(raw, sequence, column, &original).await;
    assert_chain_valid(zone, WRITES).await;
}

async fn a_thousand_concurrent_writes_keep_one_chain_that_shows_any_edit(db: &TestDb) {
    let zone = Arc::new(TestZone::sovereign(db).await);

    let started = Instant::now();
    let mut tasks = Vec::with_capacity(TASKS);
    for task in 0..TASKS {
        let zone = Arc::clone(&zone);
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::with_capacity(WRITES_PER_TASK);
            for n in 0..WRITES_PER_TASK {
                let body = json!({"entity_type": "PRIVATE_LIMITED",
                                  "legal_name": format!("Concurrent {task}-{n} (Pvt) Ltd"),
                                  "jurisdiction_id": "PK"});
                let (status, answer) = zone.post("/v1/entities", body).await;
                assert_eq!(status, 201, "write {task}-{n}: {answer}");
                ids.push(uuid_at(&answer["mass_response"], "id"));
            }
            ids
        }));
    }
    let mut ids = HashSet::new();
    for task in tasks {
        match task.await {
            Ok(written) => ids.extend(written),
            Err(err) => panic!("a writer task failed: {err}"),
        }
    }
    let elapsed = started.elapsed();
    eprintln!(
        "{WRITES} concurrent /v1 writes ({TASKS} tasks x {WRITES_PER_TASK}) on {:?}: {elapsed:?} \
         ({:.0} writes/s)",
        db.backend(),
        WRITES as f64 / elapsed.as_secs_f64()
    );
    assert_eq!(ids.len(), WRITES, "every write created its own entity");
    assert_eq!(zone.stored("organizations").await.len(), WRITES);
    assert_eq!(zone.stored("attestations").await.len(), WRITES);

    // One chain: 1..=1000 without a gap, each event after the one before, no fork.
    assert_chain_valid(&zone, WRITES).await;
    let events = audit_events(&zone).await;
    assert_eq!(events.len(), WRITES);
    let mut previous_hashes = HashSet::new();
    let mut event_hashes = HashSet::new();
    let mut resources = HashSet::new();
    for (index, event) in events.iter().enumerate() {
        assert_eq!(event["sequence"], index + 1, "sequences are contiguous");
        let previous = if index == 0 {
            GENESIS
        } else {
            str_at(&events[index - 1], "event_hash")
        };
        assert_eq!(event["previous_hash"], previous, "event {}", index + 1);
        assert!(
            previous_hashes.insert(str_at(event, "previous_hash").to_owned()),
            "previous_hash used twice: {event}"
        );
        assert!(event_hashes.insert(str_at(event, "event_hash").to_owned()));
        assert_eq!(event["event_type"], "entity.created");
        resources.insert(str_at(event, "resource_id").to_owned());
    }
    assert_eq!(resources, ids, "one event per entity written");

    // Tampering: each column of one event in the middle, then the ends of the chain.
    let zone = match Arc::try_unwrap(zone) {
        Ok(zone) => zone,
        Err(_) => panic!("a writer task still holds the zone"),
    };
    let mut raw = RawDb::open(db).await;
    let middle = WRITES / 2;
    assert!(
        raw.try_execute(
            &format!("UPDATE audit_events SET action = $1 WHERE sequence = {middle}"),
            &["delete"],
        )
        .await
        .is_err(),
        "the database refuses to change an audit event"
    );
    let restore = disable_append_only(&mut raw).await;
    for column in COLUMNS {
        let original = stored_value(&mut raw, middle, column).await;
        tamper_and_restore(
            &zone,
            &mut raw,
            middle,
            column,
            &tampered(column, &original),
        )
        .await;
    }
    // The same metadata value in a text that is not canonical is an edit too.
    let metadata = stored_value(&mut raw, middle, "metadata").await;
    let spaced = metadata.replacen('{', "{ ", 1);
    tamper_and_restore(&zone, &mut raw, middle, "metadata", &spaced).await;
    // The first event's link to the genesis hash, and the newest event, which no later event
    // links to.
    tamper_and_restore(&zone, &mut raw, 1, "previous_hash", &fresh_hash()).await;
    tamper_and_restore(&zone, &mut raw, WRITES, "event_hash", &fresh_hash()).await;

    for sql in restore {
        raw.execute(&sql, &[]).await;
    }
    assert!(
        raw.try_execute(
            &format!("UPDATE audit_events SET action = $1 WHERE sequence = {middle}"),
            &["delete"],
        )
        .await
        .is_err(),
        "the append-only triggers are back"
    );
    raw.close().await;
    assert_chain_valid(&zone, WRITES).await;
    zone.stop().await;
}

/// How many first accounts of one entity are opened at once.
const RACING_ACCOUNTS: usize = 20;

async fn concurrent_first_accounts_of_an_entity_share_one_treasury(db: &TestDb) {
    let zone = Arc::new(TestZone::sovereign(db).await);
    let (status, entity) = zone
        .post(
            "/v1/entities",
            json!({"entity_type": "PRIVATE_LIMITED", "legal_name": "Racing Accounts Ltd",
                   "jurisdiction_id": "PK"}),
        )
        .await;
    assert_eq!(status, 201, "{entity}");
    let entity_id = uuid_at(&entity["mass_response"], "id");

    // The entity has no treasury yet, so every one of these requests finds none and must
    // still end up in the same one: "the entity's own treasury", found or created.
    let mut tasks = Vec::with_capacity(RACING_ACCOUNTS);
    for n in 0..RACING_ACCOUNTS {
        let zone = Arc::clone(&zone);
        let entity_id = entity_id.clone();
        tasks.push(tokio::spawn(async move {
            let (status, answer) = zone
                .post(
                    "/v1/fiscal/accounts",
                    json!({"entity_id": entity_id, "account_type": format!("Account {n}"),
                           "currency": "PKR"}),
                )
                .await;
            assert_eq!(status, 201, "account {n}: {answer}");
            str_at(&answer["mass_response"], "treasuryId").to_owned()
        }));
    }
    let mut treasury_ids = HashSet::new();
    for task in tasks {
        match task.await {
            Ok(treasury_id) => {
                treasury_ids.insert(treasury_id);
            }
            Err(err) => panic!("an account task failed: {err}"),
        }
    }
    let treasuries = zone.stored("treasuries").await;
    assert_eq!(
        treasuries.len(),
        1,
        "{RACING_ACCOUNTS} concurrent first accounts of one entity created {} treasuries for \
         it; its accounts are spread over {} of them",
        treasuries.len(),
        treasury_ids.len()
    );
    assert_eq!(
        treasury_ids.len(),
        1,
        "every account is in the one treasury"
    );
    let (status, treasury) = zone
        .get(&format!(
            "/treasury-info/api/v1/treasury/entity/{entity_id}"
        ))
        .await;
    assert_eq!(status, 200, "{treasury}");
    assert!(treasury_ids.contains(str_at(&treasury, "id")));
    assert_eq!(zone.stored("accounts").await.len(), RACING_ACCOUNTS);
    assert_chain_valid(&zone, 1 + RACING_ACCOUNTS).await;
    match Arc::try_unwrap(zone) {
        Ok(zone) => zone.stop().await,
        Err(_) => panic!("an account task still holds the zone"),
    }
}

mez_tests::on_sqlite_and_postgres!(
    a_thousand_concurrent_writes_keep_one_chain_that_shows_any_edit,
    concurrent_first_accounts_of_an_entity_share_one_treasury,
);
