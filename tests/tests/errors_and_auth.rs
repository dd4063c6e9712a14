// SPDX-License-Identifier: BUSL-1.1
//! Every failure is one JSON shape with the right status, and the token guards everything but
//! the health probes.
//!
//! The earlier implementation answered in three shapes (a flat `{"error": "..."}`, a bare 404,
//! plain-text extractor rejections) and required the token on its health probe. These tests pin
//! the one shape `{"error": {"code", "message", "details"?}}` on every failure path a client
//! can reach, over real HTTP.

use mez_tests::json::{assert_error, error_fields};
use mez_tests::{Auth, TestDb, TestZone};
use reqwest::Method;
use serde_json::json;

const ORG_CREATE: &str = "/organization-info/api/v1/organization/create";
const ORG_LIST: &str = "/organization-info/api/v1/organization";

fn org_path(id: &str) -> String {
    format!("/organization-info/api/v1/organization/{id}")
}

#[tokio::test]
async fn a_request_without_a_token_is_refused_with_401_json() {
    let db = TestDb::sqlite();
    let zone = TestZone::sovereign(&db).await;
    let response = zone.raw(Method::GET, ORG_LIST).no_token().send().await;
    assert_eq!(response.status, 401, "{}", response.text());
    assert_error(&response.json(), "UNAUTHORIZED");
    // A write without a token must not reach the store either.
    let response = zone
        .raw(Method::POST, ORG_CREATE)
        .no_token()
        .json(&json!({"name": "Sneaky"}))
        .send()
        .await;
    assert_eq!(response.status, 401, "{}", response.text());
    assert_error(&response.json(), "UNAUTHORIZED");
    assert!(zone.stored("organizations").await.is_empty());
    zone.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn a_wrong_or_malformed_token_is_refused_with_401_json() {
    let db = TestDb::sqlite();
    let zone = TestZone::sovereign(&db).await;
    let wrong = format!("{}x", zone.token);
    let prefix = zone.token[..zone.token.len() - 1].to_owned();
    let cases = [
        Auth::Bearer(wrong),
        Auth::Bearer(prefix),
        Auth::Bearer(String::new()),
        Auth::Header(zone.token.clone()),
        Auth::Header(format!("Basic {}", zone.token)),
    ];
    for auth in cases {
        let response = zone
            .raw(Method::GET, ORG_LIST)
            .auth(auth.clone())
            .send()
            .await;
        assert_eq!(response.status, 401, "{auth:?}: {}", response.text());
        assert_error(&response.json(), "UNAUTHORIZED");
    }
    // The right token still works, so the 401s above are about the token.
    let (status, list) = zone.get(ORG_LIST).await;
    assert_eq!((status, list), (200, json!([])));
    zone.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn health_probes_answer_without_a_token() {
    let db = TestDb::sqlite();
    let zone = TestZone::sovereign(&db).await;
    for path in ["/health/liveness", "/health/readiness"] {
        let response = zone.raw(Method::GET, path).no_token().send().await;
        assert_eq!(response.status, 200, "{path}: {}", response.text());
    }
    zone.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn an_unknown_path_is_404_json() {
    let db = TestDb::sqlite();
    let zone = TestZone::sovereign(&db).await;
    for path in [
        "/no/such/route",
        "/organization-info/api/v1/nothing-here",
        "/v2",
    ] {
        let (status, body) = zone.get(path).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert_error(&body, "NOT_FOUND");
    }
    zone.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn an_unknown_record_is_404_json_not_an_empty_body() {
    let db = TestDb::sqlite();
    let zone = TestZone::sovereign(&db).await;
    let missing = uuid::Uuid::new_v4().to_string();
    let paths = [
        org_path(&missing),
        format!("/treasury-info/api/v1/treasury/{missing}"),
        format!("/treasury-info/api/v1/account/{missing}"),
        format!("/treasury-info/api/v1/transaction/{missing}"),
        format!("/consent-info/api/v1/consents/{missing}"),
        format!("/consent-info/api/v1/capTables/{missing}"),
        format!("/investment-info/api/v1/investment/{missing}"),
        format!("/templating-engine/api/v1/submission/{missing}"),
    ];
    for path in &paths {
        let (status, body) = zone.get(path).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert_error(&body, "NOT_FOUND");
    }
    let (status, body) = zone.put(&org_path(&missing), json!({"name": "x"})).await;
    assert_eq!(status, 404, "update of a missing record: {body}");
    assert_error(&body, "NOT_FOUND");
    let (status, body) = zone.delete(&org_path(&missing)).await;
    assert_eq!(status, 404, "delete of a missing record: {body}");
    assert_error(&body, "NOT_FOUND");
    zone.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn a_wrong_method_is_405_json() {
    let db = TestDb::sqlite();
    let zone = TestZone::sovereign(&db).await;
    let id = uuid::Uuid::new_v4().to_string();
    let cases = [
        (Method::PATCH, org_path(&id)),
        (
            Method::GET,
            "/treasury-info/api/v1/withholding/compute".to_owned(),
        ),
        (
            Method::DELETE,
            "/treasury-info/api/v1/tax-events".to_owned(),
        ),
    ];
    for (method, path) in cases {
        let (status, body) = zone.request(method.clone(), &path, None).await;
        assert_eq!(status, 405, "{method} {path}: {body}");
        assert_error(&body, "METHOD_NOT_ALLOWED");
    }
    zone.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn a_body_that_is_not_json_is_415_json() {
    let db = TestDb::sqlite();
    let zone = TestZone::sovereign(&db).await;
    let body = r#"{"name":"Plain Text Corp"}"#;
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/xml",
    ] {
        let response = zone
            .raw(Method::POST, ORG_CREATE)
            .body(content_type, body)
            .send()
            .await;
        assert_eq!(response.status, 415, "{content_type}: {}", response.text());
        assert_error(&response.json(), "UNSUPPORTED_MEDIA_TYPE");
    }
    let response = zone
        .raw(Method::POST, ORG_CREATE)
        .body_without_content_type(body)
        .send()
        .await;
    assert_eq!(response.status, 415, "no content type: {}", response.text());
    assert_error(&response.json(), "UNSUPPORTED_MEDIA_TYPE");
    assert!(
        zone.stored("organizations").await.is_empty(),
        "nothing was written"
    );
    zone.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn malformed_json_is_400_json() {
    let db = TestDb::sqlite();
    let zone = TestZone::sovereign(&db).await;
    for body in [r#"{"name": "#, "{name: 'x'}", "", "[1,"] {
        let response = zone
            .raw(Method::POST, ORG_CREATE)
            .body("application/json", body)
            .send()
            .await;
        assert_eq!(response.status, 400, "{body:?}: {}", response.text());
        assert_error(&response.json(), "BAD_REQUEST");
    }
    assert!(
        zone.stored("organizations").await.is_empty(),
        "nothing was written"
    );
    zone.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn invalid_fields_are_422_with_one_detail_per_field() {
    let db = TestDb::sqlite();
    let zone = TestZone::sovereign(&db).await;
    let (status, body) = zone.post(ORG_CREATE, json!({})).await;
    assert_eq!(status, 422, "missing name: {body}");
    assert_error(&body, "VALIDATION_ERROR");
    assert_eq!(error_fields(&body), ["name"]);

    let (status, body) = zone
        .post(
            ORG_CREATE,
            json!({"name": "   ", "status": "BANKRUPT", "tags": "not-a-list"}),
        )
        .await;
    assert_eq!(status, 422, "several bad fields: {body}");
    assert_error(&body, "VALIDATION_ERROR");
    let mut fields = error_fields(&body);
    fields.sort();
    assert_eq!(
        fields,
        ["name", "status", "tags"],
        "all problems at once: {body}"
    );

    let (status, body) = zone
        .post(
            "/treasury-info/api/v1/tax-events",
            json!({"entity_id": "not-a-uuid", "event_type": "UNKNOWN", "amount": "1"}),
        )
        .await;
    assert_eq!(status, 422, "tax event: {body}");
    assert_error(&body, "VALIDATION_ERROR");
    let mut fields = error_fields(&body);
    fields.sort();
    assert_eq!(
        fields,
        ["entity_id", "event_type"],
        "the client's own key names: {body}"
    );
    assert!(
        zone.stored("organizations").await.is_empty(),
        "nothing was written"
    );
    assert!(
        zone.stored("tax_events").await.is_empty(),
        "nothing was written"
    );
    zone.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn a_malformed_path_id_is_a_json_client_error() {
    let db = TestDb::sqlite();
    let zone = TestZone::sovereign(&db).await;
    let (status, body) = zone.get(&org_path("not-a-uuid")).await;
    // Whether the zone calls it a bad request or an unknown record, it is the client's fault
    // and it is said in the one shape, not in axum's plain text.
    let code = match status {
        400 => "BAD_REQUEST",
        404 => "NOT_FOUND",
        422 => "VALIDATION_ERROR",
        other => panic!("status {other}: {body}"),
    };
    assert_error(&body, code);
    zone.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn a_proxy_zone_does_not_serve_the_direct_surface() {
    let db = TestDb::sqlite();
    let zone = TestZone::start(&db, false).await;
    let id = uuid::Uuid::new_v4().to_string();
    let (status, body) = zone.get(&org_path(&id)).await;
    assert_eq!(
        status, 404,
        "GET on the direct surface of a proxy zone: {body}"
    );
    assert_error(&body, "NOT_FOUND");
    let (status, body) = zone.post(ORG_CREATE, json!({"name": "Proxy Corp"})).await;
    assert_eq!(
        status, 404,
        "POST on the direct surface of a proxy zone: {body}"
    );
    assert_error(&body, "NOT_FOUND");
    assert!(
        zone.stored("organizations").await.is_empty(),
        "nothing was written locally"
    );
    // The zone itself is up: only the direct surface is absent.
    let response = zone
        .raw(Method::GET, "/health/liveness")
        .no_token()
        .send()
        .await;
    assert_eq!(response.status, 200, "{}", response.text());
    zone.stop().await;
    db.cleanup().await;
}

/// A store failure answers 500 in the one shape, with a reference and without internals.
async fn a_store_failure_is_a_500_without_internals(db: &TestDb) {
    let zone = TestZone::sovereign(db).await;
    // Closing the pool under the running server makes every store call fail.
    zone.state.db.close().await;
    let response = zone
        .raw(Method::POST, ORG_CREATE)
        .json(&json!({"name": "Doomed By Design"}))
        .send()
        .await;
    assert_eq!(response.status, 500, "{}", response.text());
    let body = response.json();
    assert_error(&body, "INTERNAL_ERROR");
    let text = response.text().to_ascii_lowercase();
    for leak in [
        "sqlite", "postgres", "database", "sqlx", "pool", "panicked", ".rs:",
    ] {
        assert!(!text.contains(leak), "the 500 body leaks {leak:?}: {text}");
    }
    let response = zone.raw(Method::GET, ORG_LIST).send().await;
    assert_eq!(response.status, 500, "{}", response.text());
    assert_error(&response.json(), "INTERNAL_ERROR");
    zone.stop().await;
}

/// A body above the configured limit is refused before it is read, in the one shape.
async fn an_oversized_body_is_413_json(db: &TestDb) {
    let token = format!("t-{}", uuid::Uuid::new_v4().simple());
    let mut config = mez_api::config::Config::for_tests(db.url(), true, &token);
    config.max_body_bytes = 1024;
    let zone = TestZone::start_with_config(config).await;
    let big = json!({"name": "x".repeat(4096)});
    let response = zone.raw(Method::POST, ORG_CREATE).json(&big).send().await;
    assert_eq!(response.status, 413, "{}", response.text());
    assert_error(&response.json(), "PAYLOAD_TOO_LARGE");
    assert!(
        zone.stored("organizations").await.is_empty(),
        "nothing was written"
    );
    zone.stop().await;
}

mez_tests::on_sqlite_and_postgres!(
    a_store_failure_is_a_500_without_internals,
    an_oversized_body_is_413_json,
);
