// SPDX-License-Identifier: BUSL-1.1
//! Idempotent creates on a sovereign zone's direct Mass surface.
//!
//! A proxy zone retries its upstream POSTs only because they carry an `Idempotency-Key`, which
//! the direct routes honour: a repeated key answers the first result again and writes nothing
//! new (no second record, no second audit event). The account create, which takes its input
//! from the query string, names its key there as `idempotencyKey`. These tests hold the zone
//! to that, one request after another and with duplicates racing each other, on SQLite and on
//! PostgreSQL.

use mez_tests::json::{assert_record_meta, str_at};
use mez_tests::v1::{assert_chain_valid, audit_events};
use mez_tests::{TestDb, TestZone};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::task::JoinSet;

const ORG: &str = "/organization-info/api/v1";
const TREASURY: &str = "/treasury-info/api/v1";

/// How many identical requests race in the concurrency tests.
const RACERS: usize = 10;

/// POSTs `body` to `path` with an `Idempotency-Key` header.
async fn post_with_key(zone: &TestZone, path: &str, key: &str, body: &Value) -> (u16, Value) {
    send(
        &reqwest::Client::new(),
        &zone.url(path),
        &zone.token,
        Some(key),
        Some(body),
    )
    .await
}

/// One POST over a client of the test's own, so that racing tasks need nothing of the zone.
async fn send(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    key: Option<&str>,
    body: Option<&Value>,
) -> (u16, Value) {
    let mut request = client.request(Method::POST, url).bearer_auth(token);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = match request.send().await {
        Ok(response) => response,
        Err(err) => panic!("POST {url} failed: {err}"),
    };
    let status = response.status().as_u16();
    let bytes = match response.bytes().await {
        Ok(bytes) => bytes,
        Err(err) => panic!("reading the answer to POST {url} failed: {err}"),
    };
    match serde_json::from_slice(&bytes) {
        Ok(value) => (status, value),
        Err(err) => panic!(
            "POST {url} answered {status} with a body that is not JSON ({err}): {:?}",
            String::from_utf8_lossy(&bytes)
        ),
    }
}

/// Sends the same POST from `RACERS` tasks at once and returns every answer.
async fn race(
    zone: &TestZone,
    path: &str,
    key: Option<&str>,
    body: Option<Value>,
) -> Vec<(u16, Value)> {
    let client = reqwest::Client::new();
    let url = zone.url(path);
    let mut tasks = JoinSet::new();
    for _ in 0..RACERS {
        let (client, url, token) = (client.clone(), url.clone(), zone.token.clone());
        let (key, body) = (key.map(str::to_owned), body.clone());
        tasks
            .spawn(async move { send(&client, &url, &token, key.as_deref(), body.as_ref()).await });
    }
    let mut answers = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(answer) => answers.push(answer),
            Err(err) => panic!("a racing request failed: {err}"),
        }
    }
    answers
}

/// How many audit events of `event_type` the zone's chain holds.
async fn events_of(zone: &TestZone, event_type: &str) -> usize {
    audit_events(zone)
        .await
        .iter()
        .filter(|e| str_at(e, "event_type") == event_type)
        .count()
}

async fn a_repeated_idempotency_key_creates_one_organization(db: &TestDb) {
    let zone = TestZone::sovereign(db).await;
    let create = format!("{ORG}/organization/create");
    let body = json!({"name": "Idempotent Corp", "jurisdiction": "pk"});

    let (status, first) = post_with_key(&zone, &create, "org-key-1", &body).await;
    assert_eq!(status, 201, "first create: {first}");
    let first_id = assert_record_meta(&first, true);
    let (status, again) = post_with_key(&zone, &create, "org-key-1", &body).await;
    assert_eq!(status, 201, "the repeat answers as the first did: {again}");
    assert_eq!(again, first, "the repeat answers the first result, same id");
    assert_eq!(
        zone.stored("organizations").await,
        std::slice::from_ref(&first),
        "one record"
    );
    assert_eq!(events_of(&zone, "organization.created").await, 1);

    // The same key with another request is refused: answering the first result would tell
    // the client that its different request succeeded (found by schemathesis).
    let other = json!({"name": "Another Corp", "jurisdiction": "pk"});
    let (status, refused) = post_with_key(&zone, &create, "org-key-1", &other).await;
    assert_eq!(status, 422, "a reused key with another body: {refused}");
    assert!(
        refused.to_string().contains("Idempotency-Key"),
        "the refusal names the key: {refused}"
    );
    assert_eq!(zone.stored("organizations").await.len(), 1);
    assert_eq!(events_of(&zone, "organization.created").await, 1);

    // Another key is another create.
    let (status, second) = post_with_key(&zone, &create, "org-key-2", &body).await;
    assert_eq!(status, 201, "create with another key: {second}");
    let second_id = assert_record_meta(&second, true);
    assert_ne!(second_id, first_id, "another key, another organization");
    assert_eq!(zone.stored("organizations").await, [first, second]);
    assert_eq!(events_of(&zone, "organization.created").await, 2);

    // Without a key nothing is remembered: two creates, two records.
    for _ in 0..2 {
        let (status, created) = zone.post(&create, body.clone()).await;
        assert_eq!(status, 201, "create without a key: {created}");
    }
    assert_eq!(zone.stored("organizations").await.len(), 4);
    assert_eq!(events_of(&zone, "organization.created").await, 4);
    assert_chain_valid(&zone, 4).await;
    zone.stop().await;
}

async fn an_idempotency_key_belongs_to_its_route(db: &TestDb) {
    let zone = TestZone::sovereign(db).await;
    let (status, org) = post_with_key(
        &zone,
        &format!("{ORG}/organization/create"),
        "shared-key",
        &json!({"name": "Key Scope Ltd"}),
    )
    .await;
    assert_eq!(status, 201, "organization: {org}");
    let org_id = assert_record_meta(&org, true);
    // The same key on another route is not a repeat of the organization create.
    let (status, treasury) = post_with_key(
        &zone,
        &format!("{TREASURY}/treasury/create"),
        "shared-key",
        &json!({"entityId": org_id, "entityName": "Key Scope Ltd"}),
    )
    .await;
    assert_eq!(status, 201, "treasury: {treasury}");
    assert_eq!(
        treasury["entityId"],
        org_id.as_str(),
        "a treasury: {treasury}"
    );
    assert_eq!(zone.stored("organizations").await.len(), 1);
    assert_eq!(zone.stored("treasuries").await, [treasury]);
    zone.stop().await;
}

async fn racing_duplicates_with_one_key_create_one_organization(db: &TestDb) {
    let zone = TestZone::sovereign(db).await;
    let create = format!("{ORG}/organization/create");
    let answers = race(
        &zone,
        &create,
        Some("racing-key"),
        Some(json!({"name": "Racing Corp"})),
    )
    .await;
    let stored = zone.stored("organizations").await;
    assert_eq!(stored.len(), 1, "one organization for one key: {stored:?}");
    for (status, answer) in &answers {
        assert_eq!(
            (*status, answer),
            (201, &stored[0]),
            "every racer is answered with the one record"
        );
    }
    assert_eq!(events_of(&zone, "organization.created").await, 1);
    assert_chain_valid(&zone, 1).await;
    zone.stop().await;
}

/// An organization and its treasury, created directly; returns the treasury id.
async fn treasury(zone: &TestZone) -> String {
    let (status, org) = zone
        .post(
            &format!("{ORG}/organization/create"),
            json!({"name": "Account Owner Ltd"}),
        )
        .await;
    assert_eq!(status, 201, "organization: {org}");
    let org_id = assert_record_meta(&org, true);
    let (status, treasury) = zone
        .post(
            &format!("{TREASURY}/treasury/create"),
            json!({"entityId": org_id, "entityName": "Account Owner Ltd"}),
        )
        .await;
    assert_eq!(status, 201, "treasury: {treasury}");
    assert_record_meta(&treasury, true)
}

fn account_create(treasury_id: &str, key: &str) -> String {
    format!(
        "{TREASURY}/account/create?treasuryId={treasury_id}&idempotencyKey={key}\
         &name=Operating&currency=PKR"
    )
}

async fn a_repeated_account_idempotency_key_creates_one_account(db: &TestDb) {
    let zone = TestZone::sovereign(db).await;
    let treasury_id = treasury(&zone).await;

    let (status, first) = zone
        .post_empty(&account_create(&treasury_id, "acct-1"))
        .await;
    assert_eq!(status, 201, "first account create: {first}");
    let first_id = assert_record_meta(&first, true);
    let (status, again) = zone
        .post_empty(&account_create(&treasury_id, "acct-1"))
        .await;
    assert_eq!(status, 201, "the repeat answers as the first did: {again}");
    assert_eq!(
        again, first,
        "the repeat answers the first account, same id"
    );
    assert_eq!(zone.stored("accounts").await, std::slice::from_ref(&first));
    assert_eq!(events_of(&zone, "account.created").await, 1);

    let (status, second) = zone
        .post_empty(&account_create(&treasury_id, "acct-2"))
        .await;
    assert_eq!(status, 201, "account create with another key: {second}");
    assert_ne!(assert_record_meta(&second, true), first_id);
    assert_eq!(zone.stored("accounts").await, [first, second]);
    assert_eq!(events_of(&zone, "account.created").await, 2);

    // Racing duplicates of one query key still make one account.
    let answers = race(
        &zone,
        &account_create(&treasury_id, "acct-race"),
        None,
        None,
    )
    .await;
    let accounts = zone.stored("accounts").await;
    assert_eq!(
        accounts.len(),
        3,
        "one more account for one more key: {accounts:?}"
    );
    for (status, answer) in &answers {
        assert_eq!(
            (*status, answer),
            (201, &accounts[2]),
            "every racer gets the one account"
        );
    }
    assert_eq!(events_of(&zone, "account.created").await, 3);
    // organization, treasury, three accounts.
    assert_chain_valid(&zone, 5).await;
    zone.stop().await;
}

/// Whether two POSTs with one key kept it: honoured (both answers are the first record,
/// stored once) or refused (both refused, nothing stored: a refused request that wrote a
/// record ignored the key too).
fn key_kept(first: &(u16, Value), again: &(u16, Value), created: usize) -> bool {
    let honoured = first.0 == 201 && again == first && created == 1;
    let refused = first.0 != 201 && again.0 != 201 && created == 0;
    honoured || refused
}

#[test]
fn a_refused_request_that_wrote_a_record_did_not_keep_its_key() {
    let record = (201, json!({"id": "a"}));
    let refused = (422, json!({"error": {"code": "VALIDATION_ERROR"}}));
    assert!(key_kept(&record, &record, 1));
    assert!(key_kept(&refused, &refused, 0));
    // Once accepted by this test: refused, yet one record was written.
    assert!(!key_kept(&refused, &record, 1));
    assert!(!key_kept(&refused, &refused, 1));
    assert!(!key_kept(&record, &(201, json!({"id": "b"})), 2));
}

async fn an_idempotency_key_is_never_silently_ignored(db: &TestDb) {
    let zone = TestZone::sovereign(db).await;
    let create = format!("{ORG}/organization/create");
    // A client sends a key to make its retry safe. A key the zone will not keep (a long one,
    // or one that is not plain ASCII) may be refused, with nothing written, or honoured; it
    // must not be dropped so that the retry creates a second record.
    let long = "k".repeat(300);
    let mut problems = Vec::new();
    for (what, key) in [
        ("a 300-character key", long.as_str()),
        ("a non-ASCII key", "café-1"),
    ] {
        let before = zone.stored("organizations").await.len();
        let body = json!({"name": format!("Unusual Key Ltd ({what})")});
        let first = post_with_key(&zone, &create, key, &body).await;
        let again = post_with_key(&zone, &create, key, &body).await;
        let created = zone.stored("organizations").await.len() - before;
        for (status, answer) in [&first, &again] {
            assert!(
                *status == 201 || (400..500).contains(status),
                "{what}: answered {status} {answer}"
            );
        }
        if !key_kept(&first, &again, created) {
            problems.push(format!(
                "{what}: two POSTs with the same key answered {} and {} and stored {created} \
                 organizations",
                first.0, again.0
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "an Idempotency-Key was silently ignored:\n{}",
        problems.join("\n")
    );
    zone.stop().await;
}

mez_tests::on_sqlite_and_postgres!(
    an_idempotency_key_is_never_silently_ignored,
    a_repeated_idempotency_key_creates_one_organization,
    an_idempotency_key_belongs_to_its_route,
    racing_duplicates_with_one_key_create_one_organization,
    a_repeated_account_idempotency_key_creates_one_account,
);
