// SPDX-License-Identifier: BUSL-1.1
//! The audit chain against real databases, through the audit log's own API.
//!
//! Every behaviour runs on a fresh SQLite file, and on a fresh PostgreSQL database
//! (`mez_audit_<uuid>`, created through `MEZ_TEST_POSTGRES_URL` and dropped afterwards) when
//! that variable is set. Without it the PostgreSQL half prints `SKIPPED ...`, unless
//! `MEZ_REQUIRE_POSTGRES=1` makes that a failure.

use std::collections::HashSet;
use std::future::Future;
use std::io::Write;
use std::time::{Duration, Instant};

use crate::audit::{
    AuditDraft, AuditEvent, AuditLog, ChainReport, GENESIS_HASH, RecordOp, WriteUnit, is_stale_read,
};
use crate::db::{Db, Query, Record};
use crate::error::ApiError;
use serde_json::{Value, json};
use sqlx::Connection;
use sqlx::postgres::PgConnection;
use sqlx::sqlite::SqliteConnection;

use crate::test_support::{on_postgres, on_sqlite};

// ---- Harness ----

/// Runs `checks` on a new SQLite file, then on a new PostgreSQL database if one is configured.
async fn on_both<F, Fut>(test: &str, checks: F)
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    on_sqlite(&checks).await;
    on_postgres(test, &checks).await;
}

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres")
}

fn engine(url: &str) -> &'static str {
    if is_postgres(url) {
        "postgres"
    } else {
        "sqlite"
    }
}

/// A connection that bypasses the zone, standing for someone with direct database access.
enum Raw {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

impl Raw {
    async fn connect(url: &str) -> Raw {
        if is_postgres(url) {
            Raw::Postgres(PgConnection::connect(url).await.expect("raw connection"))
        } else {
            Raw::Sqlite(
                SqliteConnection::connect(url)
                    .await
                    .expect("raw connection"),
            )
        }
    }

    /// Runs `sql` with text parameters; returns the number of rows it affected.
    async fn exec(&mut self, sql: &str, binds: &[&str]) -> Result<u64, sqlx::Error> {
        match self {
            Raw::Sqlite(conn) => {
                let mut query = sqlx::query(sql);
                for value in binds {
                    query = query.bind(*value);
                }
                query.execute(conn).await.map(|done| done.rows_affected())
            }
            Raw::Postgres(conn) => {
                let mut query = sqlx::query(sql);
                for value in binds {
                    query = query.bind(*value);
                }
                query.execute(conn).await.map(|done| done.rows_affected())
            }
        }
    }

    /// Reads one text value.
    async fn text(&mut self, sql: &str) -> String {
        match self {
            Raw::Sqlite(conn) => sqlx::query_scalar(sql).fetch_one(conn).await,
            Raw::Postgres(conn) => sqlx::query_scalar(sql).fetch_one(conn).await,
        }
        .expect("read a text value")
    }

    /// Lets this connection change `audit_events`, which the schema makes append-only.
    /// Returns what [`Raw::restore_guards`] needs to put the guards back.
    async fn lift_guards(&mut self) -> Vec<String> {
        match self {
            Raw::Sqlite(conn) => {
                let triggers: Vec<(String, String)> = sqlx::query_as(
                    "SELECT name, sql FROM sqlite_master \
                     WHERE type = 'trigger' AND tbl_name = 'audit_events'",
                )
                .fetch_all(&mut *conn)
                .await
                .expect("list triggers");
                assert!(!triggers.is_empty(), "the schema guards audit_events");
                for (name, _) in &triggers {
                    sqlx::query(&format!("DROP TRIGGER {name}"))
                        .execute(&mut *conn)
                        .await
                        .expect("drop trigger");
                }
                triggers.into_iter().map(|(_, sql)| sql).collect()
            }
            Raw::Postgres(conn) => {
                sqlx::query("ALTER TABLE audit_events DISABLE TRIGGER USER")
                    .execute(conn)
                    .await
                    .expect("disable triggers");
                vec!["ALTER TABLE audit_events ENABLE TRIGGER USER".to_owned()]
            }
        }
    }

    async fn restore_guards(&mut self, statements: Vec<String>) {
        for sql in statements {
            self.exec(&sql, &[]).await.expect("restore guard");
        }
    }
}

fn record(value: Value) -> Record {
    match value {
        Value::Object(map) => map,
        other => panic!("test record must be a JSON object, got {other}"),
    }
}

fn draft(event_type: &str, resource_type: &str, resource_id: &str, metadata: Value) -> AuditDraft {
    AuditDraft {
        event_type: event_type.to_owned(),
        actor: "did:key:z6MkTestZone".to_owned(),
        resource_type: resource_type.to_owned(),
        resource_id: resource_id.to_owned(),
        action: event_type
            .rsplit('.')
            .next()
            .unwrap_or(event_type)
            .to_owned(),
        metadata,
    }
}

/// A unit that creates one entity record and says so.
fn create_entity(id: &str) -> WriteUnit {
    WriteUnit {
        ops: vec![RecordOp::Insert {
            collection: "entities".into(),
            id: id.into(),
            record: record(json!({"id": id, "name": format!("Entity {id}")})),
        }],
        audit: draft(
            "entity.created",
            "entity",
            id,
            json!({"name": format!("Entity {id}")}),
        ),
    }
}

async fn all_events(log: &AuditLog) -> Vec<AuditEvent> {
    log.events(None, None, 0, u64::MAX).await.expect("events")
}

/// Asserts the chain is exactly `count` events long, numbered 1..=count, each linked to the
/// one before, with no previous hash used twice, and that verification agrees.
async fn assert_one_chain(log: &AuditLog, count: usize) {
    let events = all_events(log).await;
    assert_eq!(events.len(), count);
    let sequences: Vec<i64> = events.iter().map(|e| e.sequence).collect();
    let expected: Vec<i64> = (1..=i64::try_from(count).expect("count")).collect();
    assert_eq!(sequences, expected, "sequences are 1..={count} with no gap");
    let previous: HashSet<&str> = events.iter().map(|e| e.previous_hash.as_str()).collect();
    assert_eq!(previous.len(), count, "no previous hash is used twice");
    let mut prior = GENESIS_HASH.to_owned();
    for event in &events {
        assert_eq!(event.previous_hash, prior, "event {} links", event.sequence);
        assert_eq!(
            event.computed_hash().expect("hash"),
            event.event_hash,
            "event {} seals itself",
            event.sequence
        );
        prior.clone_from(&event.event_hash);
    }
    assert_eq!(
        log.verify().await.expect("verify"),
        ChainReport {
            valid: true,
            events: count as u64,
            first_invalid_sequence: None,
            reason: None,
        }
    );
}

// ---- Behaviours ----

async fn a_unit_commits_its_records_and_its_event_together(url: String) {
    let db = Db::connect(&url).await.expect("connect");
    let log = AuditLog::start(db.clone());
    assert_eq!(
        log.verify().await.expect("verify"),
        ChainReport {
            valid: true,
            events: 0,
            first_invalid_sequence: None,
            reason: None,
        },
        "an empty chain is valid"
    );

    let created = log.commit(create_entity("e1")).await.expect("create");
    assert_eq!(created.sequence, 1);
    assert_eq!(created.previous_hash, GENESIS_HASH);
    assert_eq!(created.event_type, "entity.created");
    assert_eq!(created.event_hash.len(), 64);
    assert_eq!(
        db.get("entities", "e1").await.expect("get"),
        Some(record(json!({"id": "e1", "name": "Entity e1"})))
    );
    assert_eq!(
        all_events(&log).await,
        vec![created.clone()],
        "reads back as committed"
    );

    // A read-modify-write: replace at the version read.
    let (mut entity, version) = db
        .get_versioned("entities", "e1")
        .await
        .expect("read")
        .expect("present");
    entity.insert("name".into(), json!("Renamed"));
    let updated = log
        .commit(WriteUnit {
            ops: vec![RecordOp::Replace {
                collection: "entities".into(),
                id: "e1".into(),
                record: entity.clone(),
                expected_version: version,
            }],
            audit: draft("entity.updated", "entity", "e1", json!({"name": "Renamed"})),
        })
        .await
        .expect("update");
    assert_eq!(updated.sequence, 2);
    assert_eq!(updated.previous_hash, created.event_hash);
    assert_eq!(
        db.get_versioned("entities", "e1").await.expect("read"),
        Some((entity, version + 1))
    );

    // Several ops in one unit, and an event with no op at all.
    let both = log
        .commit(WriteUnit {
            ops: vec![
                RecordOp::Delete {
                    collection: "entities".into(),
                    id: "e1".into(),
                },
                RecordOp::Insert {
                    collection: "tombstones".into(),
                    id: "e1".into(),
                    record: record(json!({"id": "e1"})),
                },
            ],
            audit: draft("entity.deleted", "entity", "e1", json!({})),
        })
        .await
        .expect("delete");
    assert_eq!(both.sequence, 3);
    assert_eq!(db.get("entities", "e1").await.expect("get"), None);
    assert!(db.get("tombstones", "e1").await.expect("get").is_some());
    let note = log
        .commit(WriteUnit {
            ops: Vec::new(),
            audit: draft(
                "identity.checked",
                "identity",
                "cnic-1",
                json!({"mock": true}),
            ),
        })
        .await
        .expect("event only");
    assert_eq!(note.sequence, 4);

    // Metadata is kept in canonical form: keys sorted, numbers as ECMAScript writes them.
    let canonical = log
        .commit(WriteUnit {
            ops: Vec::new(),
            audit: draft(
                "note.made",
                "note",
                "n1",
                json!({"z": 1.50, "a": [2.0, "x"]}),
            ),
        })
        .await
        .expect("canonical metadata");
    assert_eq!(
        serde_json::to_string(&canonical.metadata).expect("json"),
        r#"{"a":[2,"x"],"z":1.5}"#
    );
    assert_eq!(all_events(&log).await.last(), Some(&canonical));
    assert_one_chain(&log, 5).await;
    db.close().await;
}

async fn a_refused_unit_writes_nothing(url: String) {
    let db = Db::connect(&url).await.expect("connect");
    let log = AuditLog::start(db.clone());
    log.commit(create_entity("e1")).await.expect("create");

    // A duplicate insert, after an op that would have succeeded: neither is written.
    let duplicate = WriteUnit {
        ops: vec![
            RecordOp::Insert {
                collection: "entities".into(),
                id: "e2".into(),
                record: record(json!({"id": "e2"})),
            },
            RecordOp::Insert {
                collection: "entities".into(),
                id: "e1".into(),
                record: record(json!({"id": "e1", "name": "Impostor"})),
            },
        ],
        audit: draft("entity.created", "entity", "e1", json!({})),
    };
    let err = log.commit(duplicate).await.expect_err("duplicate");
    assert!(matches!(err, ApiError::Conflict { .. }), "{err:?}");
    assert!(!is_stale_read(&err), "a duplicate is not worth a retry");
    assert_eq!(db.get("entities", "e2").await.expect("get"), None);
    assert_eq!(
        db.get("entities", "e1").await.expect("get"),
        Some(record(json!({"id": "e1", "name": "Entity e1"})))
    );

    // A replace at a stale version: someone else changed the record since it was read.
    let (entity, version) = db
        .get_versioned("entities", "e1")
        .await
        .expect("read")
        .expect("present");
    db.modify("entities", "e1", |r| {
        r.insert("name".into(), json!("Changed meanwhile"));
        Ok(())
    })
    .await
    .expect("concurrent change");
    let mut stale = entity.clone();
    stale.insert("name".into(), json!("Lost update"));
    let err = log
        .commit(WriteUnit {
            ops: vec![
                RecordOp::Insert {
                    collection: "notes".into(),
                    id: "n1".into(),
                    record: record(json!({"id": "n1"})),
                },
                RecordOp::Replace {
                    collection: "entities".into(),
                    id: "e1".into(),
                    record: stale,
                    expected_version: version,
                },
            ],
            audit: draft("entity.updated", "entity", "e1", json!({})),
        })
        .await
        .expect_err("stale replace");
    assert!(
        is_stale_read(&err),
        "a stale replace asks for a retry: {err:?}"
    );
    assert!(err.to_string().contains("changed concurrently"), "{err}");
    assert_eq!(db.get("notes", "n1").await.expect("get"), None);
    assert_eq!(
        db.get("entities", "e1")
            .await
            .expect("get")
            .expect("present")["name"],
        json!("Changed meanwhile")
    );

    // A replace of a record that is gone, and a delete of one that never was.
    let err = log
        .commit(WriteUnit {
            ops: vec![RecordOp::Replace {
                collection: "entities".into(),
                id: "ghost".into(),
                record: record(json!({"id": "ghost"})),
                expected_version: 1,
            }],
            audit: draft("entity.updated", "entity", "ghost", json!({})),
        })
        .await
        .expect_err("replace of a missing record");
    assert!(is_stale_read(&err), "{err:?}");
    let err = log
        .commit(WriteUnit {
            ops: vec![RecordOp::Delete {
                collection: "entities".into(),
                id: "ghost".into(),
            }],
            audit: draft("entity.deleted", "entity", "ghost", json!({})),
        })
        .await
        .expect_err("delete of a missing record");
    assert!(matches!(err, ApiError::NotFound(_)), "{err:?}");

    // Metadata that canonical JSON cannot hold exactly is refused before anything is written.
    let err = log
        .commit(WriteUnit {
            ops: Vec::new(),
            audit: draft(
                "note.made",
                "note",
                "n2",
                json!({"big": 9_007_199_254_740_993_u64}),
            ),
        })
        .await
        .expect_err("inexact integer");
    assert!(matches!(err, ApiError::Internal(_)), "{err:?}");

    // None of the refusals left an event or a gap.
    assert_one_chain(&log, 1).await;
    let next = log
        .commit(create_entity("e3"))
        .await
        .expect("after refusals");
    assert_eq!(next.sequence, 2);
    db.close().await;
}

async fn concurrent_commits_form_one_chain(url: String) {
    const TASKS: usize = 50;
    const PER_TASK: usize = 20;
    let db = Db::connect(&url).await.expect("connect");
    let log = AuditLog::start(db.clone());
    let started = Instant::now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let log = log.clone();
            tokio::spawn(async move {
                for n in 0..PER_TASK {
                    let id = format!("t{task}-{n}");
                    log.commit(create_entity(&id)).await.expect("commit");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task");
    }
    let elapsed = started.elapsed();
    let _ = writeln!(
        std::io::stderr(),
        "audit chain: {} concurrent commits ({TASKS} tasks x {PER_TASK}) on {} took {} ms",
        TASKS * PER_TASK,
        engine(&url),
        elapsed.as_millis()
    );
    assert_one_chain(&log, TASKS * PER_TASK).await;
    let stored = db.list("entities", &Query::all()).await.expect("list");
    assert_eq!(
        stored.total,
        (TASKS * PER_TASK) as u64,
        "every unit's record"
    );
    db.close().await;
}

/// Two writers on one database, as two zone processes (replicas) would run.
async fn two_writers_share_one_chain(url: String) {
    const PER_WRITER: usize = 200;
    const TASKS: usize = 10;
    let db_a = Db::connect(&url).await.expect("connect a");
    let db_b = Db::connect(&url).await.expect("connect b");
    let logs = [AuditLog::start(db_a.clone()), AuditLog::start(db_b.clone())];
    let mut tasks = Vec::new();
    for (replica, log) in logs.iter().enumerate() {
        for task in 0..TASKS {
            let log = log.clone();
            tasks.push(tokio::spawn(async move {
                for n in 0..PER_WRITER / TASKS {
                    let id = format!("r{replica}-t{task}-{n}");
                    let mut unit = create_entity(&id);
                    unit.audit.actor = format!("replica-{replica}");
                    log.commit(unit).await.expect("commit");
                }
            }));
        }
    }
    for task in tasks {
        task.await.expect("task");
    }
    for log in &logs {
        assert_one_chain(log, 2 * PER_WRITER).await;
    }
    let actors: HashSet<String> = all_events(&logs[0])
        .await
        .into_iter()
        .map(|e| e.actor)
        .collect();
    assert_eq!(actors.len(), 2, "both replicas appended");
    db_a.close().await;
    db_b.close().await;
}

/// Commits five events and returns them, for tests that tamper with the middle one.
async fn five_events(log: &AuditLog) -> Vec<AuditEvent> {
    for n in 1..=5 {
        log.commit(WriteUnit {
            ops: Vec::new(),
            audit: draft(
                "payment.initiated",
                "payment",
                &format!("p{n}"),
                json!({"amount": format!("{n}00.00"), "currency": "PKR"}),
            ),
        })
        .await
        .expect("commit");
    }
    all_events(log).await
}

async fn tampering_with_any_column_is_reported_at_that_event(url: String) {
    let db = Db::connect(&url).await.expect("connect");
    let log = AuditLog::start(db.clone());
    let events = five_events(&log).await;
    let target = &events[2];
    assert_eq!(target.sequence, 3);
    let mut raw = Raw::connect(&url).await;

    // The schema itself refuses changes and removals.
    for sql in [
        "UPDATE audit_events SET actor = 'mallory' WHERE sequence = 3",
        "DELETE FROM audit_events WHERE sequence = 3",
    ] {
        let refused = raw.exec(sql, &[]).await.expect_err(sql);
        assert!(
            refused.to_string().contains("append-only"),
            "{sql}: {refused}"
        );
    }

    // Someone with the power to lift that guard still cannot edit unnoticed.
    let guards = raw.lift_guards().await;
    let other_hash = "ab".repeat(32);
    let edited = "event 3: its stored hash is not the hash of its fields, so a field was edited";
    let tampered: [(&str, String); 9] = [
        ("event_type", "payment.reversed".into()),
        ("actor", "did:key:z6MkMallory".into()),
        ("resource_type", "account".into()),
        ("resource_id", "p999".into()),
        ("action", "delete".into()),
        (
            "metadata",
            r#"{"amount":"999999.00","currency":"PKR"}"#.into(),
        ),
        ("timestamp", "2020-01-01T00:00:00.000Z".into()),
        ("previous_hash", other_hash.clone()),
        ("event_hash", other_hash.clone()),
    ];
    for (column, value) in &tampered {
        let original = raw
            .text(&format!(
                "SELECT {column} FROM audit_events WHERE sequence = 3"
            ))
            .await;
        let set = format!("UPDATE audit_events SET {column} = $1 WHERE sequence = 3");
        assert_eq!(raw.exec(&set, &[value]).await.expect("tamper"), 1);
        let report = log.verify().await.expect("verify");
        let reason = if *column == "previous_hash" {
            "event 3's previous_hash is not the hash of event 2"
        } else {
            edited
        };
        assert_eq!(
            report,
            ChainReport {
                valid: false,
                events: 5,
                first_invalid_sequence: Some(3),
                reason: Some(reason.into()),
            },
            "changing {column} of event 3 is reported there, with the reason"
        );
        raw.exec(&set, &[&original]).await.expect("restore");
        assert!(
            log.verify().await.expect("verify").valid,
            "{column} restored"
        );
    }

    // The same metadata value in another text (spacing, key order) is still an edit.
    for respelled in [
        r#"{"amount": "300.00", "currency": "PKR"}"#,
        r#"{"currency":"PKR","amount":"300.00"}"#,
    ] {
        let set = "UPDATE audit_events SET metadata = $1 WHERE sequence = 3";
        raw.exec(set, &[respelled]).await.expect("tamper");
        let report = log.verify().await.expect("verify");
        assert_eq!(
            (report.first_invalid_sequence, report.reason.as_deref()),
            (
                Some(3),
                Some("event 3: its metadata is not in canonical form, so it was edited")
            ),
            "metadata respelled as {respelled}"
        );
        raw.exec(set, &[r#"{"amount":"300.00","currency":"PKR"}"#])
            .await
            .expect("restore");
    }

    // Metadata that is not JSON at all, and a first event that does not start the chain.
    let set = "UPDATE audit_events SET metadata = $1 WHERE sequence = 3";
    raw.exec(set, &["not json"]).await.expect("tamper");
    assert_eq!(
        log.verify().await.expect("verify").reason.as_deref(),
        Some("event 3: its metadata is not JSON")
    );
    raw.exec(set, &[r#"{"amount":"300.00","currency":"PKR"}"#])
        .await
        .expect("restore");
    let first = "UPDATE audit_events SET previous_hash = $1 WHERE sequence = 1";
    raw.exec(first, &[&other_hash]).await.expect("tamper");
    let report = log.verify().await.expect("verify");
    assert_eq!(
        (report.first_invalid_sequence, report.reason.as_deref()),
        (
            Some(1),
            Some("event 1 does not start from the genesis hash")
        )
    );
    raw.exec(first, &[GENESIS_HASH]).await.expect("restore");
    assert!(log.verify().await.expect("verify").valid);

    // Renumbering the event, or removing it, breaks the chain at its number.
    raw.exec(
        "UPDATE audit_events SET sequence = 1000 WHERE sequence = 3",
        &[],
    )
    .await
    .expect("renumber");
    let report = log.verify().await.expect("verify");
    assert_eq!(
        (report.first_invalid_sequence, report.reason.as_deref()),
        (
            Some(3),
            Some("event 3 is missing: the next stored event is 4")
        )
    );
    raw.exec(
        "UPDATE audit_events SET sequence = 3 WHERE sequence = 1000",
        &[],
    )
    .await
    .expect("restore");
    assert!(log.verify().await.expect("verify").valid);

    // Rewriting an event and recomputing its hash breaks the link of the next one.
    let mut forged = target.clone();
    forged.actor = "did:key:z6MkMallory".into();
    forged.event_hash = forged.computed_hash().expect("hash");
    raw.exec(
        "UPDATE audit_events SET actor = $1, event_hash = $2 WHERE sequence = 3",
        &[&forged.actor, &forged.event_hash],
    )
    .await
    .expect("forge");
    let report = log.verify().await.expect("verify");
    assert_eq!(
        (report.first_invalid_sequence, report.reason.as_deref()),
        (
            Some(4),
            Some("event 4's previous_hash is not the hash of event 3")
        ),
        "a re-sealed event 3 no longer matches event 4's link"
    );
    raw.exec(
        "UPDATE audit_events SET actor = $1, event_hash = $2 WHERE sequence = 3",
        &[&target.actor, &target.event_hash],
    )
    .await
    .expect("restore");

    raw.exec("DELETE FROM audit_events WHERE sequence = 3", &[])
        .await
        .expect("remove");
    assert_eq!(
        log.verify().await.expect("verify"),
        ChainReport {
            valid: false,
            events: 4,
            first_invalid_sequence: Some(3),
            reason: Some("event 3 is missing: the next stored event is 4".into()),
        }
    );
    raw.restore_guards(guards).await;
    db.close().await;
}

async fn events_filter_by_resource(url: String) {
    let db = Db::connect(&url).await.expect("connect");
    let log = AuditLog::start(db.clone());
    let plan = [
        ("entity", "e1"),
        ("entity", "e2"),
        ("account", "e1"),
        ("entity", "e1"),
        ("payment", "x"),
        ("entity", "e1"),
    ];
    for (resource_type, resource_id) in plan {
        log.commit(WriteUnit {
            ops: Vec::new(),
            audit: draft("thing.happened", resource_type, resource_id, json!({})),
        })
        .await
        .expect("commit");
    }
    let sequences =
        |events: Vec<AuditEvent>| -> Vec<i64> { events.into_iter().map(|e| e.sequence).collect() };
    assert_eq!(
        sequences(
            log.events(Some("entity"), Some("e1"), 0, 100)
                .await
                .expect("by id")
        ),
        vec![1, 4, 6]
    );
    assert_eq!(
        sequences(
            log.events(Some("entity"), None, 0, 100)
                .await
                .expect("by type")
        ),
        vec![1, 2, 4, 6]
    );
    assert_eq!(
        sequences(
            log.events(None, Some("e1"), 0, 100)
                .await
                .expect("by id only")
        ),
        vec![1, 3, 4, 6]
    );
    assert_eq!(
        sequences(
            log.events(Some("entity"), Some("e1"), 1, 1)
                .await
                .expect("paged")
        ),
        vec![4]
    );
    assert_eq!(
        sequences(log.events(None, None, 4, 100).await.expect("offset")),
        vec![5, 6]
    );
    assert!(
        log.events(Some("entity"), Some("nobody"), 0, 100)
            .await
            .expect("none")
            .is_empty()
    );
    db.close().await;
}

async fn the_chain_survives_a_restart(url: String) {
    let db = Db::connect(&url).await.expect("first start");
    let log = AuditLog::start(db.clone());
    let first = log.commit(create_entity("e1")).await.expect("commit");
    // Dropping the last handle stops the writer, which lets the store close.
    drop(log);
    tokio::time::timeout(Duration::from_secs(10), db.close())
        .await
        .expect("the store closes once the writer has stopped");

    let db = Db::connect(&url).await.expect("second start");
    let log = AuditLog::start(db.clone());
    assert_eq!(all_events(&log).await, vec![first.clone()]);
    let second = log.commit(create_entity("e2")).await.expect("commit");
    assert_eq!(second.sequence, 2, "the head is read from the database");
    assert_eq!(second.previous_hash, first.event_hash);
    assert_one_chain(&log, 2).await;
    db.close().await;
}

/// A writer that loses its place to another one (here: a connection that appends without the
/// chain lock) gets a unique violation from the database, and runs its batch again from the
/// new head instead of forking the chain.
async fn a_writer_that_loses_its_place_retries_from_the_new_head(url: String) {
    let db = Db::connect(&url).await.expect("connect");
    let log = AuditLog::start(db.clone());
    let first = log.commit(create_entity("e1")).await.expect("commit");

    let mut rogue = PgConnection::connect(&url).await.expect("rogue");
    let mut intruder = AuditEvent {
        sequence: 2,
        event_type: "entity.created".into(),
        actor: "replica-without-lock".into(),
        resource_type: "entity".into(),
        resource_id: "r1".into(),
        action: "created".into(),
        metadata: json!({}),
        timestamp: "2026-11-25T10:00:00.000Z".into(),
        previous_hash: first.event_hash.clone(),
        event_hash: String::new(),
    };
    intruder.event_hash = intruder.computed_hash().expect("hash");
    sqlx::query("BEGIN")
        .execute(&mut rogue)
        .await
        .expect("begin");
    sqlx::query(
        "INSERT INTO audit_events (sequence, event_type, actor, resource_type, resource_id, \
         action, metadata, timestamp, previous_hash, event_hash) \
         VALUES ($1, $2, $3, $4, $5, $6, '{}', $7, $8, $9)",
    )
    .bind(intruder.sequence)
    .bind(&intruder.event_type)
    .bind(&intruder.actor)
    .bind(&intruder.resource_type)
    .bind(&intruder.resource_id)
    .bind(&intruder.action)
    .bind(&intruder.timestamp)
    .bind(&intruder.previous_hash)
    .bind(&intruder.event_hash)
    .execute(&mut rogue)
    .await
    .expect("rogue append");

    let pending = {
        let log = log.clone();
        tokio::spawn(async move { log.commit(create_entity("e2")).await })
    };
    // Wait until the writer is blocked on the rogue's uncommitted row at sequence 2.
    let mut watcher = PgConnection::connect(&url).await.expect("watcher");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(&mut watcher)
        .await
        .expect("watch");
        if waiting > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the writer never reached the rogue row"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sqlx::query("COMMIT")
        .execute(&mut rogue)
        .await
        .expect("commit");

    let appended = pending.await.expect("task").expect("commit after retry");
    assert_eq!(appended.sequence, 3);
    assert_eq!(appended.previous_hash, intruder.event_hash);
    assert!(db.get("entities", "e2").await.expect("get").is_some());
    assert_one_chain(&log, 3).await;
    db.close().await;
}

// ---- Tests ----

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_unit_commits_its_records_and_its_event_together_on_each_backend() {
    on_both(
        "a_unit_commits_its_records_and_its_event_together",
        a_unit_commits_its_records_and_its_event_together,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refused_unit_writes_nothing_on_each_backend() {
    on_both(
        "a_refused_unit_writes_nothing",
        a_refused_unit_writes_nothing,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_concurrent_commits_form_one_chain_on_each_backend() {
    on_both(
        "a_thousand_concurrent_commits_form_one_chain",
        concurrent_commits_form_one_chain,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_writers_share_one_chain_on_each_backend() {
    on_both("two_writers_share_one_chain", two_writers_share_one_chain).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tampering_with_any_column_is_reported_on_each_backend() {
    on_both(
        "tampering_with_any_column_is_reported_at_that_event",
        tampering_with_any_column_is_reported_at_that_event,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn events_filter_by_resource_on_each_backend() {
    on_both("events_filter_by_resource", events_filter_by_resource).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_chain_survives_a_restart_on_each_backend() {
    on_both("the_chain_survives_a_restart", the_chain_survives_a_restart).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_postgres_writer_that_loses_its_place_retries_from_the_new_head() {
    on_postgres(
        "a_writer_that_loses_its_place_retries_from_the_new_head",
        &a_writer_that_loses_its_place_retries_from_the_new_head,
    )
    .await;
}
