// SPDX-License-Identifier: BUSL-1.1
//! Tests of the document store against real databases.
//!
//! Every behaviour runs on a fresh SQLite file. The same behaviours run on a fresh PostgreSQL
//! database when `MEZ_TEST_POSTGRES_URL` names a server to create it on; without it they are
//! skipped with a note on stderr, unless `MEZ_REQUIRE_POSTGRES=1` makes that a failure.

use std::sync::Arc;

use serde_json::json;

use super::*;
use crate::test_support::{on_postgres, on_sqlite, with_database};

fn record(value: Value) -> Record {
    match value {
        Value::Object(map) => map,
        other => panic!("test record must be a JSON object, got {other}"),
    }
}

fn ids_of(page: &Page) -> Vec<&str> {
    page.items
        .iter()
        .map(|item| item["id"].as_str().unwrap_or("<no id>"))
        .collect()
}

#[test]
fn with_database_replaces_only_the_path() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1/postgres", "x"),
        "postgres://postgres@127.0.0.1/x"
    );
    assert_eq!(
        with_database("postgres://u:p@h:5432?sslmode=disable", "x"),
        "postgres://u:p@h:5432/x?sslmode=disable"
    );
}

// ---- Behaviours, each run on both engines. ----

async fn store_behaviour(url: String) {
    let db = Db::connect(&url).await.expect("connect and migrate");
    round_trip_is_byte_exact(&db).await;
    duplicate_insert_is_a_conflict(&db).await;
    modify_changes_only_what_f_changes(&db).await;
    failed_modify_writes_nothing(&db).await;
    delete_removes_the_record(&db).await;
    list_keeps_insertion_order_and_pages(&db).await;
    list_filters(&db).await;
    nul_never_reaches_the_store(&db).await;
    db.close().await;
}

async fn records_survive_a_restart(url: String) {
    let db = Db::connect(&url).await.expect("first start");
    let original = record(json!({"id": "r1", "name": "Kept"}));
    db.insert("restart", "r1", &original).await.expect("insert");
    db.close().await;
    assert!(
        db.get("restart", "r1").await.is_err(),
        "a closed store refuses reads"
    );

    // A second start re-runs the migrations, which must find nothing left to do.
    let db = Db::connect(&url).await.expect("second start");
    assert_eq!(db.get("restart", "r1").await.expect("get"), Some(original));
    db.close().await;
}

async fn concurrent_modifies_lose_no_update(url: String) {
    let db = Db::connect(&url).await.expect("connect");
    db.insert(
        "counters",
        "c",
        &record(json!({"id": "c", "count": 0, "note": "x"})),
    )
    .await
    .expect("insert");
    let db = Arc::new(db);
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let db = Arc::clone(&db);
            tokio::spawn(async move {
                db.modify("counters", "c", |r| {
                    let count = r["count"].as_u64().unwrap_or(0);
                    r.insert("count".into(), json!(count + 1));
                    Ok(())
                })
                .await
            })
        })
        .collect();
    let mut succeeded = 0;
    for task in tasks {
        match task.await.expect("task") {
            Ok(Some(_)) => succeeded += 1,
            // Giving up after bounded retries is allowed; losing an increment is not.
            Err(ApiError::Conflict { .. }) => {}
            other => panic!("unexpected modify outcome: {other:?}"),
        }
    }
    let stored = db
        .get("counters", "c")
        .await
        .expect("get")
        .expect("present");
    assert!(succeeded > 0, "at least one concurrent modify must win");
    assert_eq!(
        stored["count"],
        json!(succeeded),
        "every successful modify is counted"
    );
    assert_eq!(stored["note"], json!("x"));
    db.close().await;
}

async fn round_trip_is_byte_exact(db: &Db) {
    // Keys out of alphabetical order, escapes, non-ASCII, extreme numbers: all must survive.
    let original = record(json!({
        "zeta": 1,
        "alpha": "quote \" backslash \\ tab \t newline \n",
        "name": "Société Générale – كراچی 🚀",
        "numbers": [0.1, 1e-7, 1.7976931348623157e308, 5e-324, -0.0, 9.597204750448849e-129],
        "ints": [u64::MAX, i64::MIN, 0],
        "nested": {"b": [true, false, null], "a": {}},
        "empty": []
    }));
    let text = serde_json::to_string(&original).expect("serialise");
    db.insert("roundtrip", "r1", &original)
        .await
        .expect("insert");

    let stored: String = on_pool!(db, pool => {
        sqlx::query_scalar("SELECT body FROM records WHERE collection = $1 AND id = $2")
            .bind("roundtrip")
            .bind("r1")
            .fetch_one(pool)
            .await
    })
    .expect("raw body");
    assert_eq!(stored, text, "the body column holds the JSON text as given");

    let back = db
        .get("roundtrip", "r1")
        .await
        .expect("get")
        .expect("present");
    assert_eq!(serde_json::to_string(&back).expect("serialise"), text);
    assert_eq!(back, original);
    assert_eq!(db.get("roundtrip", "missing").await.expect("get"), None);
    assert_eq!(db.get("other", "r1").await.expect("get"), None);
}

async fn duplicate_insert_is_a_conflict(db: &Db) {
    let first = record(json!({"v": 1}));
    db.insert("dup", "same", &first)
        .await
        .expect("first insert");
    let err = db
        .insert("dup", "same", &record(json!({"v": 2})))
        .await
        .expect_err("second insert must fail");
    assert!(matches!(err, ApiError::Conflict { .. }), "got {err:?}");
    assert_eq!(db.get("dup", "same").await.expect("get"), Some(first));
    // Ids are unique per collection, not across collections.
    db.insert("dup2", "same", &record(json!({"v": 3})))
        .await
        .expect("same id in another collection");
}

async fn modify_changes_only_what_f_changes(db: &Db) {
    db.insert(
        "mod",
        "m1",
        &record(json!({"id": "m1", "name": "A", "tags": ["x"]})),
    )
    .await
    .expect("insert");
    let changed = db
        .modify("mod", "m1", |r| {
            r.insert("name".into(), json!("B"));
            r.insert("added".into(), json!(2));
            Ok(())
        })
        .await
        .expect("modify")
        .expect("present");
    let expected = record(json!({"id": "m1", "name": "B", "tags": ["x"], "added": 2}));
    assert_eq!(changed, expected);
    let stored = db.get("mod", "m1").await.expect("get").expect("present");
    assert_eq!(
        serde_json::to_string(&stored).expect("serialise"),
        serde_json::to_string(&expected).expect("serialise"),
        "key order is kept through an update"
    );
    let absent = db.modify("mod", "nope", |_| Ok(())).await.expect("modify");
    assert_eq!(absent, None);
}

async fn failed_modify_writes_nothing(db: &Db) {
    let original = record(json!({"id": "f1", "status": "ACTIVE"}));
    db.insert("fail", "f1", &original).await.expect("insert");
    let (_, version_before) = db
        .get_versioned("fail", "f1")
        .await
        .expect("get")
        .expect("present");
    let err = db
        .modify("fail", "f1", |r| {
            r.insert("status".into(), json!("HALF-WRITTEN"));
            Err(ApiError::conflict(
                crate::error::ConflictKind::State,
                "not allowed",
            ))
        })
        .await
        .expect_err("f fails");
    assert!(matches!(err, ApiError::Conflict { ref message, .. } if message == "not allowed"));
    let (after, version_after) = db
        .get_versioned("fail", "f1")
        .await
        .expect("get")
        .expect("present");
    assert_eq!(after, original);
    assert_eq!(version_after, version_before);
}

async fn delete_removes_the_record(db: &Db) {
    db.insert("del", "d1", &record(json!({"id": "d1"})))
        .await
        .expect("insert");
    assert!(db.delete("del", "d1").await.expect("delete"));
    assert!(!db.delete("del", "d1").await.expect("second delete"));
    assert_eq!(db.get("del", "d1").await.expect("get"), None);
    assert_eq!(db.list("del", &Query::all()).await.expect("list").total, 0);
    // The id can be used again, and the new record lists after older ones.
    db.insert("del", "d0", &record(json!({"id": "d0"})))
        .await
        .expect("insert");
    db.insert("del", "d1", &record(json!({"id": "d1"})))
        .await
        .expect("insert again");
    let page = db.list("del", &Query::all()).await.expect("list");
    assert_eq!(ids_of(&page), ["d0", "d1"]);
}

async fn list_keeps_insertion_order_and_pages(db: &Db) {
    // Ids deliberately out of sort order: the order must be insertion, not id.
    for id in ["e", "b", "d", "a", "c"] {
        db.insert("order", id, &record(json!({"id": id})))
            .await
            .expect("insert");
    }
    let all = db.list("order", &Query::all()).await.expect("list");
    assert_eq!(ids_of(&all), ["e", "b", "d", "a", "c"]);
    assert_eq!(all.total, 5);

    let page = |offset, limit| Query {
        offset,
        limit,
        ..Query::all()
    };
    let second = db.list("order", &page(2, 2)).await.expect("list");
    assert_eq!(ids_of(&second), ["d", "a"]);
    assert_eq!(second.total, 5);
    let last = db.list("order", &page(4, 2)).await.expect("list");
    assert_eq!(ids_of(&last), ["c"]);
    let beyond = db.list("order", &page(10, 2)).await.expect("list");
    assert!(beyond.items.is_empty());
    assert_eq!(beyond.total, 5);
    let none = db.list("order", &page(0, 0)).await.expect("list");
    assert!(none.items.is_empty());
    assert_eq!(none.total, 5);
    let huge = db
        .list("order", &page(u64::MAX, u64::MAX))
        .await
        .expect("list");
    assert!(huge.items.is_empty());

    // A modify does not move a record in the order.
    db.modify("order", "e", |r| {
        r.insert("touched".into(), json!(true));
        Ok(())
    })
    .await
    .expect("modify");
    let all = db.list("order", &Query::all()).await.expect("list");
    assert_eq!(ids_of(&all), ["e", "b", "d", "a", "c"]);
    assert!(
        db.list("empty", &Query::all())
            .await
            .expect("list")
            .items
            .is_empty()
    );
}

async fn nul_never_reaches_the_store(db: &Db) {
    let clean = record(json!({"id": "n1", "name": "Clean", "org": "x"}));
    db.insert("nul", "n1", &clean).await.expect("insert");

    // A record holding U+0000 anywhere is refused with a 422 naming the place, and not stored.
    for (poisoned, field) in [
        (json!({"id": "n2", "name": "a\u{0}b"}), "name"),
        (json!({"id": "n2", "tags": ["ok", "\u{0}"]}), "tags[1]"),
        (json!({"id": "n2", "meta": {"k\u{0}": 1}}), "meta"),
    ] {
        match db.insert("nul", "n2", &record(poisoned)).await {
            Err(ApiError::Validation(errors)) => assert_eq!(errors[0].field, field),
            other => panic!("a NUL record must be refused, got {other:?}"),
        }
    }
    let refused = db
        .modify("nul", "n1", |r| {
            r.insert("name".into(), json!("x\u{0}"));
            Ok(())
        })
        .await;
    assert!(
        matches!(refused, Err(ApiError::Validation(_))),
        "{refused:?}"
    );

    // Lookups and filters by text holding U+0000 find nothing, on both engines, and the
    // clean record is still there and still filterable.
    assert_eq!(db.get("nul", "n\u{0}1").await.expect("get"), None);
    assert!(!db.delete("nul", "n\u{0}1").await.expect("delete"));
    let by_name = |name| Query {
        equals: vec![("org", "x"), ("name", name)],
        ..Query::all()
    };
    let page = db.list("nul", &by_name("Clean\u{0}")).await.expect("list");
    assert_eq!((page.items.len(), page.total), (0, 0));
    let needle = Query {
        contains: Some(("name", "\u{0}")),
        ..Query::all()
    };
    assert_eq!(db.list("nul", &needle).await.expect("list").total, 0);
    let ids = ["n\u{0}1".to_owned(), "n1".to_owned()];
    let by_ids = Query {
        ids: Some(&ids),
        ..Query::all()
    };
    assert_eq!(
        ids_of(&db.list("nul", &by_ids).await.expect("list")),
        ["n1"]
    );
    let page = db.list("nul", &by_name("Clean")).await.expect("list");
    assert_eq!(ids_of(&page), ["n1"]);
    assert_eq!(page.items[0], clean);
}

async fn list_filters(db: &Db) {
    let rows = [
        json!({"id": "o1", "name": "Acme Holdings", "status": "ACTIVE", "org": "x"}),
        json!({"id": "o2", "name": "Beta", "status": "INACTIVE", "org": "x"}),
        json!({"id": "o3", "name": "acme pakistan", "status": "ACTIVE", "org": "y"}),
        json!({"id": "o4", "name": 5, "status": ["ACTIVE"], "org": "x"}),
        json!({"id": "o5", "name": "ÉCOLE acme", "status": "ACTIVE"}),
    ];
    for row in rows {
        let row = record(row);
        let id = row["id"].as_str().unwrap_or_default().to_owned();
        db.insert("filters", &id, &row).await.expect("insert");
    }
    // A record in another collection that would match every filter below.
    db.insert(
        "filters_other",
        "o1",
        &record(json!({"id": "o1", "name": "Acme", "status": "ACTIVE", "org": "x"})),
    )
    .await
    .expect("insert");

    let active = Query {
        equals: vec![("status", "ACTIVE")],
        ..Query::all()
    };
    let page = db.list("filters", &active).await.expect("list");
    assert_eq!(
        ids_of(&page),
        ["o1", "o3", "o5"],
        "non-string values never match"
    );
    assert_eq!(page.total, 3);

    let two_fields = Query {
        equals: vec![("status", "ACTIVE"), ("org", "x")],
        ..Query::all()
    };
    assert_eq!(
        ids_of(&db.list("filters", &two_fields).await.expect("list")),
        ["o1"]
    );

    let number_as_text = Query {
        equals: vec![("name", "5")],
        ..Query::all()
    };
    assert_eq!(
        db.list("filters", &number_as_text)
            .await
            .expect("list")
            .total,
        0
    );

    let search = Query {
        contains: Some(("name", "ACME")),
        ..Query::all()
    };
    let found = db.list("filters", &search).await.expect("list");
    assert_eq!(ids_of(&found), ["o1", "o3", "o5"], "contains ignores case");

    let search_page = Query {
        contains: Some(("name", "acme")),
        equals: vec![("status", "ACTIVE")],
        offset: 1,
        limit: 1,
        ..Query::all()
    };
    let found = db.list("filters", &search_page).await.expect("list");
    assert_eq!(ids_of(&found), ["o3"]);
    assert_eq!(found.total, 3);

    let wanted = vec!["o5".to_owned(), "o2".to_owned(), "zz".to_owned()];
    let by_ids = Query {
        ids: Some(&wanted),
        ..Query::all()
    };
    let page = db.list("filters", &by_ids).await.expect("list");
    assert_eq!(ids_of(&page), ["o2", "o5"], "ids keep insertion order");
    assert_eq!(page.total, 2);

    let no_ids: Vec<String> = Vec::new();
    let empty = Query {
        ids: Some(&no_ids),
        ..Query::all()
    };
    assert_eq!(db.list("filters", &empty).await.expect("list").total, 0);

    // One of several values, with the other filters; `find` reads the same page uncounted.
    let statuses = ["INACTIVE", "ACTIVE", "ACTIVE\u{0}"];
    let one_of = Query {
        equals: vec![("org", "x")],
        one_of: Some(("status", &statuses)),
        ..Query::all()
    };
    let page = db.list("filters", &one_of).await.expect("list");
    assert_eq!(ids_of(&page), ["o1", "o2"], "o4's status is no string");
    let found = db.find("filters", &one_of).await.expect("find");
    assert_eq!(found, page.items);
    let windowed = Query {
        offset: 1,
        limit: 1,
        ..one_of.clone()
    };
    assert_eq!(
        db.find("filters", &windowed).await.expect("find"),
        page.items[1..]
    );
    let none = Query {
        one_of: Some(("status", &[])),
        ..Query::all()
    };
    assert_eq!(db.list("filters", &none).await.expect("list").total, 0);
    assert!(db.find("filters", &none).await.expect("find").is_empty());

    // Values are bound, never spliced into SQL, so quotes in them are just text.
    let quoted = Query {
        equals: vec![("status", "ACTIVE' OR '1'='1")],
        ..Query::all()
    };
    assert_eq!(db.list("filters", &quoted).await.expect("list").total, 0);

    // Field names are part of the SQL text, so anything but a plain identifier is refused.
    for bad in ["status') OR 1=1 --", "a.b", "", "1abc", "na me"] {
        let query = Query {
            equals: vec![(bad, "x")],
            ..Query::all()
        };
        let err = db
            .list("filters", &query)
            .await
            .expect_err("bad field name");
        assert!(matches!(err, ApiError::Internal(_)), "{bad:?} gave {err:?}");
        let query = Query {
            contains: Some((bad, "x")),
            ..Query::all()
        };
        assert!(
            db.list("filters", &query).await.is_err(),
            "{bad:?} in contains"
        );
    }
    for good in ["status", "_private", "entityType", "a1_b2"] {
        assert!(check_field_name(good).is_ok(), "{good:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_store_behaviour() {
    on_sqlite(store_behaviour).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_records_survive_a_restart() {
    on_sqlite(records_survive_a_restart).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_concurrent_modifies_lose_no_update() {
    on_sqlite(concurrent_modifies_lose_no_update).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_store_behaviour() {
    on_postgres("postgres_store_behaviour", store_behaviour).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_records_survive_a_restart() {
    on_postgres(
        "postgres_records_survive_a_restart",
        records_survive_a_restart,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_concurrent_modifies_lose_no_update() {
    on_postgres(
        "postgres_concurrent_modifies_lose_no_update",
        concurrent_modifies_lose_no_update,
    )
    .await;
}

#[tokio::test]
async fn unsupported_url_is_refused_without_echoing_secrets() {
    let err = Db::connect("mysql://root:hunter2@db/mez")
        .await
        .expect_err("mysql is not supported");
    assert!(matches!(err, DbError::UnsupportedUrl { .. }));
    assert!(!err.to_string().contains("hunter2"), "{err}");
    assert_eq!(
        Backend::from_url("postgresql://h/db").ok(),
        Some(Backend::Postgres)
    );
    assert_eq!(
        Backend::from_url("SQLite://x.db").ok(),
        Some(Backend::Sqlite)
    );
}

/// SQLite's plan for a filtered read: the expression index the filter matches, never a walk
/// of the whole collection in `seq` order (which evaluates the JSON filter on every record).
/// Each query is one the evidence rules make on every `/v1` write.
async fn filtered_reads_use_the_expression_indexes(url: String) {
    let db = Db::connect(&url).await.expect("connect and migrate");
    let kinds = ["identity", "account", "cap_table"];
    let cases = [
        (
            Query {
                equals: vec![("entityId", "e1")],
                one_of: Some(("resourceType", &kinds)),
                ..Query::all()
            },
            "records_entity_id_idx",
        ),
        (
            Query {
                equals: vec![("entityId", "e1")],
                ..Query::all()
            },
            "records_entity_id_idx",
        ),
        (
            Query {
                equals: vec![("organizationId", "o1")],
                ..Query::all()
            },
            "records_organization_id_idx",
        ),
    ];
    for (query, index) in cases {
        let (condition, binds) =
            where_clause(Backend::Sqlite, "attestations", &query).expect("where clause");
        let sql = format!(
            "EXPLAIN QUERY PLAN {}",
            page_sql(Backend::Sqlite, &query, &condition, binds.len())
        );
        let Pool::Sqlite(pool) = db.pool() else {
            panic!("a SQLite url opened another engine");
        };
        let mut explain = sqlx::query_as::<_, (i64, i64, i64, String)>(&sql);
        for value in &binds {
            explain = explain.bind(*value);
        }
        let plan: Vec<String> = explain
            .bind(10i64)
            .bind(0i64)
            .fetch_all(pool)
            .await
            .expect("explain")
            .into_iter()
            .map(|row| row.3)
            .collect();
        assert!(
            plan.iter().any(|step| step.contains(index)),
            "{:?}: {plan:?}",
            query.equals
        );
    }
    db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_filtered_reads_use_the_expression_indexes() {
    on_sqlite(filtered_reads_use_the_expression_indexes).await;
}
