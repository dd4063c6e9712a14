// SPDX-License-Identifier: BUSL-1.1
//! Entity scope (issue 11, item 2, second slice): an `entity_operator` bound to entity A reads
//! and writes only A and A's records, through both surfaces. Another entity's record is a 404
//! with the same answer as a record that does not exist; lists and searches hold only A's
//! records, their totals too; zone administration is a 403. A regulator reads A's records and
//! writes nothing; the zone administrator is unaffected. Every scenario runs on SQLite and
//! PostgreSQL.

use mez_tests::json::assert_error;
use mez_tests::v1_writes::{create_entity, open_account, send as send_write};
use mez_tests::{Auth, TestDb, TestZone};
use reqwest::Method;
use serde_json::{Value, json};

/// A key's secret, created with the bootstrap token.
async fn key(zone: &TestZone, body: Value) -> String {
    let answer = zone
        .send_as(&zone.token, Method::POST, "/v1/keys", Some(body))
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text());
    answer.json()["secret"]
        .as_str()
        .expect("a secret")
        .to_owned()
}

fn cap_table(entity_id: &str) -> Value {
    json!({"entity_id": entity_id,
           "share_classes": [{"name": "Ordinary", "authorized_shares": 500_000,
                              "issued_shares": 100_000, "par_value": "10.00",
                              "voting_rights": true}]})
}

fn account(entity_id: &str) -> Value {
    json!({"entity_id": entity_id, "account_type": "Operating", "currency": "PKR"})
}

/// The ids of a list answer.
fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("a list: {list}"))
        .iter()
        .map(|item| item["id"].as_str().expect("an id").to_owned())
        .collect()
}

/// Asserts a 404 answer with the zone's error shape, and that it says what a 404 for a
/// record that does not exist says (with the ids swapped): nothing discloses that `hidden`
/// exists.
async fn assert_hidden(zone: &TestZone, token: &str, path: &str, hidden: &str) {
    let answer = zone.send_as(token, Method::GET, path, None).await;
    assert_eq!(answer.status, 404, "{path}: {}", answer.text());
    let message = assert_error(&answer.json(), "NOT_FOUND");
    let missing = "00000000-0000-4000-8000-000000000000";
    let absent = zone
        .send_as(token, Method::GET, &path.replace(hidden, missing), None)
        .await;
    assert_eq!(absent.status, 404, "{}", absent.text());
    let absent_message = assert_error(&absent.json(), "NOT_FOUND");
    assert_eq!(message.replace(hidden, missing), absent_message, "{path}");
}

async fn an_entity_operator_sees_and_changes_only_its_own_entity(db: &TestDb) {
    let zone = TestZone::sovereign(db).await;
    let admin = zone.token.clone();
    let a = send_write(&zone, create_entity("Alpha Traders (Pvt) Ltd"))
        .await
        .1
        .resource_id;
    let b = send_write(&zone, create_entity("Beta Traders (Pvt) Ltd"))
        .await
        .1
        .resource_id;
    let b_account = send_write(&zone, open_account(&b)).await.1.resource_id;
    let operator = key(
        &zone,
        json!({"role": "entity_operator", "entity_id": a, "name": "A's operator"}),
    )
    .await;

    // Writes for A succeed; the same writes for B are 404s, and write nothing.
    let answer = zone
        .send_as(
            &operator,
            Method::POST,
            "/v1/ownership/cap-tables",
            Some(cap_table(&a)),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text());
    let answer = zone
        .send_as(
            &operator,
            Method::POST,
            "/v1/fiscal/accounts",
            Some(account(&a)),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text());
    let a_account = answer.json()["mass_response"]["id"]
        .as_str()
        .expect("the account's id")
        .to_owned();
    let cap_tables_before = zone.stored("cap_tables").await.len();
    let accounts_before = zone.stored("accounts").await.len();
    for (path, body) in [
        ("/v1/ownership/cap-tables", cap_table(&b)),
        ("/v1/fiscal/accounts", account(&b)),
    ] {
        let answer = zone
            .send_as(&operator, Method::POST, path, Some(body))
            .await;
        assert_eq!(answer.status, 404, "{path}: {}", answer.text());
        assert_error(&answer.json(), "NOT_FOUND");
    }
    let answer = zone
        .send_as(
            &operator,
            Method::PUT,
            &format!("/v1/entities/{b}"),
            Some(json!({"legal_name": "Taken Over Ltd"})),
        )
        .await;
    assert_eq!(answer.status, 404, "{}", answer.text());
    // The direct surface: a change to B's organization is a 404 as well.
    let answer = zone
        .send_as(
            &operator,
            Method::PUT,
            &format!("/organization-info/api/v1/organization/{b}"),
            Some(json!({"name": "Taken Over Ltd"})),
        )
        .await;
    assert_eq!(answer.status, 404, "{}", answer.text());
    assert_eq!(zone.stored("cap_tables").await.len(), cap_tables_before);
    assert_eq!(zone.stored("accounts").await.len(), accounts_before);
    let (_, b_org) = zone
        .get(&format!("/organization-info/api/v1/organization/{b}"))
        .await;
    assert_eq!(b_org["name"], "Beta Traders (Pvt) Ltd");

    // A's records read; B's by id are 404s that say what a missing record's 404 says.
    for path in [
        format!("/organization-info/api/v1/organization/{a}"),
        format!("/v1/entities/{a}"),
        format!("/consent-info/api/v1/capTables/organization/{a}"),
        format!("/treasury-info/api/v1/account/{a_account}"),
    ] {
        let answer = zone.send_as(&operator, Method::GET, &path, None).await;
        assert_eq!(answer.status, 200, "{path}: {}", answer.text());
    }
    for (path, hidden) in [
        (format!("/organization-info/api/v1/organization/{b}"), &b),
        (format!("/v1/entities/{b}"), &b),
        (
            format!("/treasury-info/api/v1/account/{b_account}"),
            &b_account,
        ),
        (format!("/treasury-info/api/v1/treasury/entity/{b}"), &b),
    ] {
        assert_hidden(&zone, &operator, &path, hidden).await;
    }

    // Lists and searches hold A's records only, and count only those.
    for path in ["/organization-info/api/v1/organization", "/v1/entities"] {
        let answer = zone.send_as(&operator, Method::GET, path, None).await;
        assert_eq!(answer.status, 200, "{path}: {}", answer.text());
        assert_eq!(ids(&answer.json()), vec![a.clone()], "{path}");
    }
    let answer = zone
        .send_as(
            &operator,
            Method::POST,
            "/organization-info/api/v1/organization/search",
            Some(json!({"query": "Traders", "page": 0, "size": 10})),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let page = answer.json();
    assert_eq!(ids(&page["content"]), vec![a.clone()], "{page}");
    assert_eq!(page["totalElements"], 1, "{page}");
    assert_eq!(page["totalPages"], 1, "{page}");
    // Asking for B's records by a filter finds nothing rather than B's.
    let answer = zone
        .send_as(
            &operator,
            Method::GET,
            &format!("/consent-info/api/v1/consents/organization/{b}"),
            None,
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(answer.json(), json!([]));
    let answer = zone
        .send_as(
            &operator,
            Method::GET,
            &format!("/consent-info/api/v1/capTables/organization/{b}"),
            None,
        )
        .await;
    assert_eq!(answer.status, 404, "{}", answer.text());

    // Zone administration is the zone administrator's; public zone information reads.
    for (method, path) in [
        (Method::POST, "/v1/triggers"),
        (Method::POST, "/v1/sanctions/reload"),
        (Method::POST, "/v1/actions/some-action/approve"),
        (Method::GET, "/v1/keys"),
        (Method::GET, "/v1/audit/events"),
    ] {
        let answer = zone.send_as(&operator, method, path, Some(json!({}))).await;
        assert_eq!(answer.status, 403, "{path}: {}", answer.text());
        assert_error(&answer.json(), "FORBIDDEN");
    }
    let answer = zone
        .send_as(&operator, Method::GET, "/v1/policies", None)
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    // An operator creates no entity: nothing names one it may change.
    let answer = zone
        .send_as(
            &operator,
            Method::POST,
            "/v1/entities",
            Some(create_entity("Gamma Traders (Pvt) Ltd").body),
        )
        .await;
    assert_eq!(answer.status, 403, "{}", answer.text());
    assert_error(&answer.json(), "FORBIDDEN");

    // The zone administrator is unaffected: both entities, both accounts.
    let answer = zone
        .send_as(
            &admin,
            Method::GET,
            "/organization-info/api/v1/organization",
            None,
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(ids(&answer.json()), vec![a.clone(), b.clone()]);
    let answer = zone
        .send_as(
            &admin,
            Method::GET,
            &format!("/treasury-info/api/v1/account/{b_account}"),
            None,
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    zone.stop().await;
}

async fn a_regulator_reads_every_entity_and_writes_nothing(db: &TestDb) {
    let zone = TestZone::sovereign(db).await;
    let a = send_write(&zone, create_entity("Alpha Traders (Pvt) Ltd"))
        .await
        .1
        .resource_id;
    let b = send_write(&zone, create_entity("Beta Traders (Pvt) Ltd"))
        .await
        .1
        .resource_id;
    let operator = key(&zone, json!({"role": "entity_operator", "entity_id": a})).await;
    let answer = zone
        .send_as(
            &operator,
            Method::POST,
            "/v1/ownership/cap-tables",
            Some(cap_table(&a)),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text());
    let regulator = key(&zone, json!({"role": "regulator"})).await;

    for path in [
        format!("/organization-info/api/v1/organization/{a}"),
        format!("/consent-info/api/v1/capTables/organization/{a}"),
        format!("/organization-info/api/v1/organization/{b}"),
        "/v1/audit/events".to_owned(),
    ] {
        let answer = zone.send_as(&regulator, Method::GET, &path, None).await;
        assert_eq!(answer.status, 200, "{path}: {}", answer.text());
    }
    let answer = zone
        .send_as(
            &regulator,
            Method::GET,
            "/organization-info/api/v1/organization",
            None,
        )
        .await;
    assert_eq!(ids(&answer.json()), vec![a.clone(), b]);
    let before = zone.stored("cap_tables").await.len();
    let answer = zone
        .send_as(
            &regulator,
            Method::POST,
            "/v1/ownership/cap-tables",
            Some(cap_table(&a)),
        )
        .await;
    assert_eq!(answer.status, 403, "{}", answer.text());
    assert_error(&answer.json(), "FORBIDDEN");
    assert_eq!(zone.stored("cap_tables").await.len(), before);
    zone.stop().await;
}

/// An `Idempotency-Key` another caller used does not replay that caller's answer to an
/// entity operator: sent with the very request the administrator sent about entity A, it is
/// planned afresh for B's operator, and refused as A's record (404), where a replay would have
/// shown A's record.
async fn an_operator_never_replays_another_callers_answer(db: &TestDb) {
    let zone = TestZone::sovereign(db).await;
    let a = send_write(&zone, create_entity("Alpha Keys Ltd"))
        .await
        .1
        .resource_id;
    let b = send_write(&zone, create_entity("Beta Keys Ltd"))
        .await
        .1
        .resource_id;
    let operator_b = key(&zone, json!({"role": "entity_operator", "entity_id": b})).await;
    let path = "/treasury-info/api/v1/treasury/create";
    let body = json!({"entityId": a, "entityName": "Alpha Keys Ltd"});
    let post = |token: &str| {
        zone.raw(Method::POST, path)
            .auth(Auth::Bearer(token.to_owned()))
            .header("Idempotency-Key", "shared-idempotency-key")
            .json(&body)
            .send()
    };
    let first = post(&zone.token).await;
    assert_eq!(first.status, 201, "{}", first.text());
    // The administrator's own repeat replays.
    let again = post(&zone.token).await;
    assert_eq!(again.status, 201, "{}", again.text());
    assert_eq!(again.json(), first.json());
    let refused = post(&operator_b).await;
    assert_eq!(refused.status, 404, "{}", refused.text());
    assert_error(&refused.json(), "NOT_FOUND");
    assert_eq!(zone.stored("treasuries").await.len(), 1);
    zone.stop().await;
}

mez_tests::on_sqlite_and_postgres!(
    an_entity_operator_sees_and_changes_only_its_own_entity,
    a_regulator_reads_every_entity_and_writes_nothing,
    an_operator_never_replays_another_callers_answer,
);
