// SPDX-License-Identifier: BUSL-1.1
//! Tests of the audit log's internals: the hash definition, how a unit is prepared, and how
//! one batch treats its units. The chain as a whole (concurrency, replicas, tampering,
//! restarts) is tested through the public API in `tests/audit_chain.rs`.

use serde_json::json;

use super::writer::{Head, Outcome, Prepared, commit_batch, run_once};
use super::*;
use crate::canonical::{canonical_bytes, sha256_hex};
use crate::test_support::{on_postgres, on_sqlite};

fn event() -> AuditEvent {
    AuditEvent {
        sequence: 1,
        event_type: "entity.created".into(),
        actor: "did:key:z6MkZone".into(),
        resource_type: "entity".into(),
        resource_id: "e1".into(),
        action: "create".into(),
        metadata: json!({"name": "Acme", "jurisdiction": "pk"}),
        timestamp: "2026-11-25T10:00:00.000Z".into(),
        previous_hash: GENESIS_HASH.into(),
        event_hash: String::new(),
    }
}

fn record(value: Value) -> Record {
    match value {
        Value::Object(map) => map,
        other => panic!("test record must be a JSON object, got {other}"),
    }
}

fn insert(collection: &str, id: &str) -> RecordOp {
    RecordOp::Insert {
        collection: collection.into(),
        id: id.into(),
        record: record(json!({"id": id})),
    }
}

fn unit(ops: Vec<RecordOp>, resource_id: &str) -> Prepared {
    Prepared::new(WriteUnit {
        ops,
        audit: AuditDraft {
            event_type: "entity.created".into(),
            actor: "did:key:z6MkZone".into(),
            resource_type: "entity".into(),
            resource_id: resource_id.into(),
            action: "create".into(),
            metadata: json!({}),
        },
    })
    .expect("prepare")
}

#[test]
fn genesis_is_64_zeros() {
    assert_eq!(GENESIS_HASH.len(), 64);
    assert!(GENESIS_HASH.chars().all(|c| c == '0'));
}

#[test]
fn the_hash_is_sha256_of_the_canonical_json_of_every_field() {
    // Written out by hand: keys sorted, no spaces, the metadata's keys sorted too.
    let canonical = format!(
        concat!(
            r#"{{"action":"create","actor":"did:key:z6MkZone","event_type":"entity.created","#,
            r#""metadata":{{"jurisdiction":"pk","name":"Acme"}},"previous_hash":"{}","#,
            r#""resource_id":"e1","resource_type":"entity","sequence":1,"#,
            r#""timestamp":"2026-11-25T10:00:00.000Z"}}"#
        ),
        GENESIS_HASH
    );
    assert_eq!(
        event().computed_hash().expect("hash"),
        sha256_hex(canonical.as_bytes())
    );
}

/// The hash as first defined: the canonical JSON of the event's object, built as a value.
fn hash_of_the_canonical_object(e: &AuditEvent) -> String {
    let object = json!({
        "sequence": e.sequence,
        "event_type": e.event_type,
        "actor": e.actor,
        "resource_type": e.resource_type,
        "resource_id": e.resource_id,
        "action": e.action,
        "metadata": e.metadata,
        "timestamp": e.timestamp,
        "previous_hash": e.previous_hash,
    });
    sha256_hex(&canonical_bytes(&object).expect("canonical"))
}

#[test]
fn the_written_preimage_is_the_canonical_json_of_the_object() {
    // Strings that exercise every escaping rule of RFC 8785: quotes, backslashes, the
    // two-letter escapes, other control characters (lower-case \u00xx), DEL, non-ASCII,
    // astral characters, and the line and paragraph separators ECMAScript leaves alone.
    let nasty = [
        "",
        "plain",
        "quote \" and backslash \\",
        "\u{8}\u{c}\n\r\t",
        "\u{0}\u{1}\u{1f}\u{7f}",
        "caf\u{e9} \u{2028}\u{2029} \u{1F600} \u{FFFF}",
        "</script>/",
    ];
    let sequences = [
        1_i64,
        42,
        9_007_199_254_740_992,
        9_007_199_254_740_993,
        i64::MAX,
        -1,
    ];
    for (i, text) in nasty.iter().enumerate() {
        for &sequence in &sequences {
            let mut e = event();
            e.sequence = sequence;
            e.event_type = format!("type {text}");
            e.actor = text.to_string();
            e.resource_type = text.to_string();
            e.resource_id = format!("{i}{text}");
            e.action = text.to_string();
            e.metadata = json!({"z": text, "a": [1.5, 1e21, -0.0, text], "m": {"k": null}});
            e.timestamp = text.to_string();
            e.previous_hash = text.to_string();
            assert_eq!(
                e.computed_hash().expect("hash"),
                hash_of_the_canonical_object(&e),
                "sequence {sequence}, text {text:?}"
            );
        }
    }
}

#[test]
fn the_hash_changes_with_every_field() {
    let base = event().computed_hash().expect("hash");
    type Edit = (&'static str, fn(&mut AuditEvent));
    let edits: [Edit; 9] = [
        ("sequence", |e| e.sequence = 2),
        ("event_type", |e| e.event_type.push('x')),
        ("actor", |e| e.actor.push('x')),
        ("resource_type", |e| e.resource_type.push('x')),
        ("resource_id", |e| e.resource_id.push('x')),
        ("action", |e| e.action.push('x')),
        ("metadata", |e| e.metadata["name"] = json!("Acme Ltd")),
        ("timestamp", |e| {
            e.timestamp = "2026-11-25T10:00:00.001Z".into()
        }),
        ("previous_hash", |e| e.previous_hash = "1".repeat(64)),
    ];
    for (field, edit) in edits {
        let mut changed = event();
        edit(&mut changed);
        assert_ne!(
            changed.computed_hash().expect("hash"),
            base,
            "the hash must cover {field}"
        );
    }
    // The stored hash itself is not an input: sealing twice gives the same hash.
    let mut sealed = event();
    sealed.event_hash = base.clone();
    assert_eq!(sealed.computed_hash().expect("hash"), base);
}

#[test]
fn preparing_a_unit_refuses_integers_canonical_json_would_round() {
    let with_metadata = |metadata: Value| {
        Prepared::new(WriteUnit {
            ops: Vec::new(),
            audit: AuditDraft {
                event_type: "note.made".into(),
                actor: "zone".into(),
                resource_type: "note".into(),
                resource_id: "n1".into(),
                action: "create".into(),
                metadata,
            },
        })
    };
    assert!(with_metadata(json!({"n": 9_007_199_254_740_992_u64})).is_ok());
    assert!(with_metadata(json!({"n": -9_007_199_254_740_992_i64})).is_ok());
    match with_metadata(json!({"a": [1, {"n": 9_007_199_254_740_993_u64}]})) {
        Err(ApiError::Internal(message)) => {
            assert!(message.contains("metadata.a[1].n"), "{message}")
        }
        other => panic!("expected a refusal, got {:?}", other.err()),
    }
    assert!(with_metadata(json!({"n": i64::MIN})).is_err());
}

#[test]
fn stale_reads_are_told_apart_from_other_conflicts() {
    assert!(is_stale_read(&ApiError::conflict(
        crate::error::ConflictKind::Stale,
        "entities record e1 changed concurrently; read it again and retry"
    )));
    assert!(!is_stale_read(&ApiError::conflict(
        crate::error::ConflictKind::Exists,
        "entities record e1 changed concurrently"
    )));
    assert!(!is_stale_read(&ApiError::NotFound(
        "changed concurrently".into()
    )));
}

// ---- One batch, on real databases ----

/// One batch holding good units and refused ones: each refused unit leaves nothing behind
/// (not even the ops before the one that failed), the others commit in order with no gap.
async fn a_batch_commits_good_units_and_refuses_bad_ones_alone(url: String) {
    let db = Db::connect(&url).await.expect("connect");
    db.insert("entities", "old", &record(json!({"id": "old"})))
        .await
        .expect("seed");
    let units = vec![
        unit(vec![insert("entities", "a")], "a"),
        // Refused by its second op: `b` must not stay behind.
        unit(
            vec![insert("entities", "b"), insert("entities", "a")],
            "a-again",
        ),
        unit(vec![insert("entities", "c")], "c"),
        unit(
            vec![RecordOp::Delete {
                collection: "entities".into(),
                id: "missing".into(),
            }],
            "missing",
        ),
        unit(
            vec![RecordOp::Replace {
                collection: "entities".into(),
                id: "old".into(),
                record: record(json!({"id": "old", "v": 2})),
                expected_version: 7,
            }],
            "old",
        ),
        unit(
            vec![RecordOp::Delete {
                collection: "entities".into(),
                id: "old".into(),
            }],
            "old",
        ),
    ];
    let answers = commit_batch(&db, &units, None).await;
    assert_eq!(answers.len(), units.len());
    let sequences: Vec<Option<i64>> = answers
        .iter()
        .map(|answer| answer.as_ref().ok().map(|e| e.sequence))
        .collect();
    assert_eq!(sequences, vec![Some(1), None, Some(2), None, None, Some(3)]);
    assert!(matches!(answers[1], Err(ApiError::Conflict { .. })));
    assert!(matches!(answers[3], Err(ApiError::NotFound(_))));
    assert!(matches!(&answers[4], Err(err) if is_stale_read(err)));

    for (id, present) in [("a", true), ("b", false), ("c", true), ("old", false)] {
        assert_eq!(
            db.get("entities", id).await.expect("get").is_some(),
            present,
            "record {id}"
        );
    }
    let log = AuditLog::start(db.clone());
    let events = log.events(None, None, 0, 100).await.expect("events");
    let ids: Vec<&str> = events.iter().map(|e| e.resource_id.as_str()).collect();
    assert_eq!(ids, vec!["a", "c", "old"]);
    assert_eq!(
        log.verify().await.expect("verify"),
        ChainReport {
            valid: true,
            events: 3,
            first_invalid_sequence: None,
            reason: None,
        }
    );

    // A batch in which every unit is refused writes nothing and answers each.
    let answers = commit_batch(&db, &[unit(vec![insert("entities", "a")], "a")], None).await;
    assert!(matches!(
        answers.as_slice(),
        [Err(ApiError::Conflict { .. })]
    ));
    assert_eq!(
        log.events(None, None, 0, 100).await.expect("events").len(),
        3
    );
    db.close().await;
}

/// After a COMMIT that failed without saying whether it took effect, the next run looks for
/// the doubtful batch's last event (under the chain lock) before doing anything: found, the
/// batch is not applied twice; missing, the batch runs again.
async fn a_doubtful_commit_is_never_applied_twice(url: String) {
    let db = Db::connect(&url).await.expect("connect");
    let answers = commit_batch(&db, &[unit(vec![insert("entities", "a")], "a")], None).await;
    let first = match answers.as_slice() {
        [Ok(event)] => event.clone(),
        other => panic!("first batch: {other:?}"),
    };
    let committed = Head {
        sequence: first.sequence,
        hash: first.event_hash.clone(),
    };
    let again = [unit(vec![insert("entities", "b")], "b")];
    assert!(matches!(
        run_once(&db, &again, Some(&committed), None).await,
        Ok(Outcome::AlreadyCommitted)
    ));
    assert_eq!(db.get("entities", "b").await.expect("get"), None);

    let lost = Head {
        sequence: 2,
        hash: "f".repeat(64),
    };
    match run_once(&db, &again, Some(&lost), None).await {
        Ok(Outcome::Answered(answers)) => {
            assert!(matches!(answers.as_slice(), [Ok(event)] if event.sequence == 2));
        }
        _ => panic!("a batch whose earlier commit was lost runs again"),
    }
    assert!(db.get("entities", "b").await.expect("get").is_some());
    db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_audit_doubtful_commit_is_never_applied_twice() {
    on_sqlite(a_doubtful_commit_is_never_applied_twice).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_audit_doubtful_commit_is_never_applied_twice() {
    on_postgres(
        "postgres_audit_doubtful_commit_is_never_applied_twice",
        a_doubtful_commit_is_never_applied_twice,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_audit_batch_refuses_units_alone() {
    on_sqlite(a_batch_commits_good_units_and_refuses_bad_ones_alone).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_audit_batch_refuses_units_alone() {
    on_postgres(
        "postgres_audit_batch_refuses_units_alone",
        a_batch_commits_good_units_and_refuses_bad_ones_alone,
    )
    .await;
}

fn add(id: &str, amount: &str, seed: &str) -> RecordOp {
    RecordOp::Add {
        collection: "totals".into(),
        id: id.into(),
        field: "total".into(),
        amount: amount.parse().expect("a decimal"),
        seed: record(json!({"id": id, "total": seed})),
    }
}

/// An add stores its seed when the record is absent and adds to it after, in one batch and
/// across batches; a record whose field is no decimal refuses only its own unit.
async fn adds_seed_then_sum_and_refuse_a_non_decimal(url: String) {
    let db = Db::connect(&url).await.expect("connect");
    db.insert("totals", "bad", &record(json!({"id": "bad", "total": 5})))
        .await
        .expect("seed");
    let units = vec![
        unit(vec![add("t", "1.50", "11.50")], "t"),
        unit(vec![add("t", "2.25", "unused")], "t"),
        unit(vec![add("bad", "1", "unused")], "bad"),
    ];
    let answers = commit_batch(&db, &units, None).await;
    assert!(answers[0].is_ok() && answers[1].is_ok(), "{answers:?}");
    assert!(
        matches!(answers[2], Err(ApiError::Internal(_))),
        "{answers:?}"
    );
    let answers = commit_batch(&db, &[unit(vec![add("t", "0.25", "unused")], "t")], None).await;
    assert!(answers[0].is_ok(), "{answers:?}");
    let total = db.get("totals", "t").await.expect("get").expect("a total");
    assert_eq!(total["total"], "14.00");
    let bad = db.get("totals", "bad").await.expect("get").expect("kept");
    assert_eq!(bad["total"], 5);
    db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_audit_adds_seed_then_sum() {
    on_sqlite(adds_seed_then_sum_and_refuse_a_non_decimal).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_audit_adds_seed_then_sum() {
    on_postgres(
        "postgres_audit_adds_seed_then_sum",
        adds_seed_then_sum_and_refuse_a_non_decimal,
    )
    .await;
}

/// A head row for `sequence` and `hash`, signed by `key` over [`head_message`].
fn signed_head(key: &crate::credentials::ZoneKey, sequence: i64, hash: &str) -> HeadRow {
    use ed25519_dalek::Signer;
    let message = head_message(key.did(), sequence, hash).expect("message");
    let signature = hex::encode(key.signing_key().sign(&message).to_bytes());
    (sequence, hash.to_owned(), signature)
}

/// A walk that has checked `count` intact events, the last with hash `last_hash`, whose
/// event at `head_sequence` was written by `head_actor`.
fn walked(count: i64, last_hash: &str, head_sequence: i64, head_actor: &str) -> ChainWalk {
    ChainWalk {
        events: u64::try_from(count).expect("count"),
        expected_sequence: count + 1,
        expected_previous: last_hash.to_owned(),
        first_invalid: None,
        head_sequence: Some(head_sequence),
        head_actor: Some(head_actor.to_owned()),
    }
}

#[test]
fn every_kind_of_bad_head_is_reported_with_its_reason() {
    use crate::credentials::ZoneKey;
    let zone = ZoneKey::from_signing_key(ed25519_dalek::SigningKey::from_bytes(&[1; 32]));
    let other = ZoneKey::from_signing_key(ed25519_dalek::SigningKey::from_bytes(&[2; 32]));
    let hash = "ab".repeat(32);
    let check = |mut walk: ChainWalk, head: HeadRow| {
        walk.check_head(&zone, &head);
        walk.report()
    };

    let good = check(
        walked(5, &hash, 5, zone.did()),
        signed_head(&zone, 5, &hash),
    );
    assert!(good.valid && good.reason.is_none(), "{good:?}");

    let short = check(
        walked(3, &hash, 5, zone.did()),
        signed_head(&zone, 5, &hash),
    );
    assert_eq!(short.first_invalid_sequence, Some(4));
    assert_eq!(
        short.reason.as_deref(),
        Some(
            "the chain ends at event 3 but its signed head is event 5: the newest events have \
             been removed"
        )
    );

    let other_hash = check(
        walked(5, &"cd".repeat(32), 5, zone.did()),
        signed_head(&zone, 5, &hash),
    );
    assert_eq!(other_hash.first_invalid_sequence, Some(5));
    assert_eq!(
        other_hash.reason.as_deref(),
        Some("event 5's hash is not the one its signed head records")
    );

    let other_key = check(
        walked(5, &hash, 5, other.did()),
        signed_head(&other, 5, &hash),
    );
    assert_eq!(other_key.first_invalid_sequence, Some(5));
    assert_eq!(
        other_key.reason,
        Some(format!(
            "the chain's head (event 5) is signed by {}, not by this zone's key {}: two zones \
             with different keys write to this database",
            other.did(),
            zone.did()
        ))
    );

    // Signed by another key that the head's event does not name: nobody this zone can name.
    let unnamed = check(
        walked(5, &hash, 5, zone.did()),
        signed_head(&other, 5, &hash),
    );
    assert_eq!(
        unnamed.reason,
        Some(format!(
            "the chain's head (event 5) does not carry a valid signature of this zone's key {} \
             (nor of the zone its event names)",
            zone.did()
        ))
    );
    assert!(!unnamed.valid);
    assert_eq!(
        HeadSigner::of(&zone, &signed_head(&other, 5, &hash), Some(other.did())),
        HeadSigner::Other(other.did().to_owned())
    );
    assert_eq!(
        HeadSigner::of(&zone, &signed_head(&zone, 5, &hash), Some(zone.did())),
        HeadSigner::ThisZone
    );
    assert_eq!(
        HeadSigner::of(&zone, &signed_head(&other, 5, &hash), Some("not a did")),
        HeadSigner::Unknown
    );
}
