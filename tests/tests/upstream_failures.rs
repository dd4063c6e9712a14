// SPDX-License-Identifier: BUSL-1.1
//! How a proxy zone answers when its upstream Mass API fails, and that it writes nothing then.
//!
//! A proxy zone maps upstream failures onto its one error shape: unreachable, a 5xx or an
//! unreadable body is a 502 (`UPSTREAM_ERROR`), a timeout a 504 (`UPSTREAM_TIMEOUT`), an
//! upstream 4xx the same status with the upstream's own code, message and details, and no
//! upstream configured at all a 503. In every case the zone keeps nothing: no attestation,
//! no audit event, no record of any kind (checked in its database directly).
//!
//! The upstream is a real sovereign zone where that is possible, a loopback port nothing
//! listens on for "down", and otherwise [`MockUpstream`], a stub server that is a mock and
//! not a Mass.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use mez_tests::json::{assert_error, error_fields};
use mez_tests::proxy::{assert_nothing_written, closed_loopback_url, proxy_config, start_proxy};
use mez_tests::{TestDb, TestZone};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

const ORG: &str = "/organization-info/api/v1";
const CONSENT: &str = "/consent-info/api/v1";

/// A generous upper bound on how long a failing request may take. It is a bound that catches
/// a zone waiting on a dead upstream indefinitely, not a benchmark.
const FAILURE_BOUND: Duration = Duration::from_secs(10);

fn entity_request() -> Value {
    json!({"entity_type": "llc", "legal_name": "Upstream Failure Ltd", "jurisdiction_id": "pk"})
}

/// What a [`MockUpstream`] saw of one request.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    authorization: Option<String>,
    idempotency_key: Option<String>,
    body: Vec<u8>,
}

/// How a [`MockUpstream`] answers every request.
#[derive(Debug, Clone)]
struct MockAnswer {
    delay: Duration,
    status: u16,
    content_type: &'static str,
    body: &'static str,
}

type MockState = (MockAnswer, Arc<Mutex<Vec<Seen>>>);

/// A MOCK upstream, standing in for a misbehaving Mass API: a tiny axum server on a loopback
/// port that records each request and answers every one the same canned way (after a delay,
/// with a status and body chosen by the test). It implements nothing of Mass.
struct MockUpstream {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: JoinHandle<()>,
}

impl MockUpstream {
    async fn start(answer: MockAnswer) -> MockUpstream {
        let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
            Ok(listener) => listener,
            Err(err) => panic!("the mock upstream cannot bind a loopback port: {err}"),
        };
        let url = match listener.local_addr() {
            Ok(addr) => format!("http://{addr}"),
            Err(err) => panic!("the mock upstream cannot read its address: {err}"),
        };
        let seen = Arc::new(Mutex::new(Vec::new()));
        let app = Router::new()
            .fallback(mock_answer)
            .with_state((answer, Arc::clone(&seen)));
        let task = tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, app).await {
                eprintln!("the mock upstream stopped: {err}");
            }
        });
        MockUpstream { url, seen, task }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for MockUpstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The mock upstream's one handler: record, wait, answer as told.
async fn mock_answer(
    State((answer, seen)): State<MockState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    seen.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(Seen {
            method: method.to_string(),
            path: uri.path().to_owned(),
            authorization: text("authorization"),
            idempotency_key: text("idempotency-key"),
            body: body.to_vec(),
        });
    tokio::time::sleep(answer.delay).await;
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::IM_A_TEAPOT);
    let mut response = (
        status,
        [(header::CONTENT_TYPE, answer.content_type)],
        answer.body,
    )
        .into_response();
    if status.is_redirection() {
        // A redirect loop: back to the very same path.
        if let Ok(location) = header::HeaderValue::from_str(uri.path()) {
            response.headers_mut().insert(header::LOCATION, location);
        }
    }
    response
}

/// Starts a proxy zone on `db` whose every Mass service is `upstream_url`, with short
/// timeouts: `timeout` for a whole upstream request, one second to connect.
async fn proxy_with_timeout(db: &TestDb, upstream_url: &str, timeout: Duration) -> TestZone {
    let mut config = proxy_config(db, upstream_url, Some("upstream-token"));
    config.upstream.timeout = timeout;
    config.upstream.connect_timeout = Duration::from_secs(1);
    TestZone::start_with_config(config).await
}

/// Sends `method path` (with `body` for writes) and returns the status, the body and how
/// long the answer took.
async fn timed(zone: &TestZone, method: &str, path: &str, body: Value) -> (u16, Value, Duration) {
    let started = Instant::now();
    let (status, answer) = match method {
        "GET" => zone.get(path).await,
        "POST" => zone.post(path, body).await,
        "PUT" => zone.put(path, body).await,
        other => panic!("unexpected method {other}"),
    };
    (status, answer, started.elapsed())
}

async fn an_unreachable_upstream_is_a_502_within_the_timeout_and_writes_nothing(db: &TestDb) {
    let zone = proxy_with_timeout(db, &closed_loopback_url(), Duration::from_secs(2)).await;
    let some_id = uuid::Uuid::new_v4();
    for (method, path, body) in [
        ("POST", "/v1/entities".to_owned(), entity_request()),
        ("GET", format!("/v1/entities/{some_id}"), Value::Null),
        ("GET", "/v1/entities".to_owned(), Value::Null),
        (
            "PUT",
            format!("/v1/entities/{some_id}"),
            json!({"legal_name": "Renamed Ltd"}),
        ),
        (
            "POST",
            "/v1/fiscal/accounts".to_owned(),
            json!({"entity_id": some_id, "account_type": "operating", "currency": "PKR"}),
        ),
        (
            "POST",
            "/v1/identity/cnic/verify".to_owned(),
            json!({"cnic": "12345-1234567-1", "full_name": "Ali Khan"}),
        ),
    ] {
        let (status, answer, elapsed) = timed(&zone, method, &path, body).await;
        assert_eq!(
            status, 502,
            "{method} {path} with the upstream down: {answer}"
        );
        assert_error(&answer, "UPSTREAM_ERROR");
        assert!(
            elapsed < FAILURE_BOUND,
            "{method} {path} took {elapsed:?} to report an unreachable upstream"
        );
    }
    assert_nothing_written(&zone, db, "upstream down").await;
    zone.stop().await;
}

async fn an_upstream_slower_than_the_timeout_is_a_504_and_writes_nothing(db: &TestDb) {
    // The mock would answer after five seconds; the zone gives up after half a second. An
    // answer before the mock's delay is over shows the zone did not wait for it.
    let mock_delay = Duration::from_secs(5);
    let mock = MockUpstream::start(MockAnswer {
        delay: mock_delay,
        status: 201,
        content_type: "application/json",
        body: r#"{"id": "00000000-0000-4000-8000-000000000000", "name": "Too Late Ltd"}"#,
    })
    .await;
    let zone = proxy_with_timeout(db, &mock.url, Duration::from_millis(500)).await;

    let (status, answer, elapsed) = timed(&zone, "POST", "/v1/entities", entity_request()).await;
    assert_eq!(
        status, 504,
        "POST /v1/entities, upstream too slow: {answer}"
    );
    assert_error(&answer, "UPSTREAM_TIMEOUT");
    assert!(
        elapsed < mock_delay,
        "the zone waited {elapsed:?}, past its 500ms upstream timeout"
    );
    // The request did reach the upstream, as the Mass call the route maps to, with the
    // upstream's token and an idempotency key; a keyed POST is safe to retry after a timeout,
    // and every attempt carries the same key (so the upstream cannot create two records).
    let seen = mock.seen();
    assert_eq!(
        seen.len(),
        3,
        "the first attempt and two retries after timeouts: {seen:?}"
    );
    assert!(
        seen.iter()
            .all(|s| s.idempotency_key == seen[0].idempotency_key),
        "every retry carries the first attempt's key: {seen:?}"
    );
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].path, format!("{ORG}/organization/create"));
    assert_eq!(
        seen[0].authorization.as_deref(),
        Some("Bearer upstream-token")
    );
    assert!(
        seen[0].idempotency_key.is_some(),
        "an upstream POST carries an Idempotency-Key: {seen:?}"
    );
    let sent: Value = match serde_json::from_slice(&seen[0].body) {
        Ok(sent) => sent,
        Err(err) => panic!("the zone sent a body that is not JSON ({err}): {seen:?}"),
    };
    assert_eq!(sent["name"], "Upstream Failure Ltd", "mapped body: {sent}");
    assert_eq!(sent["entityType"], "llc", "mapped body: {sent}");
    assert_eq!(sent["jurisdiction"], "pk", "mapped body: {sent}");

    let path = format!("/v1/entities/{}", uuid::Uuid::new_v4());
    let (status, answer, elapsed) = timed(&zone, "GET", &path, Value::Null).await;
    assert_eq!(status, 504, "GET {path}, upstream too slow: {answer}");
    assert_error(&answer, "UPSTREAM_TIMEOUT");
    assert!(elapsed < mock_delay, "GET waited {elapsed:?}");

    assert_nothing_written(&zone, db, "upstream too slow").await;
    zone.stop().await;
}

async fn an_upstream_5xx_is_a_502_after_retrying_with_the_same_key(db: &TestDb) {
    let mock = MockUpstream::start(MockAnswer {
        delay: Duration::ZERO,
        status: 503,
        content_type: "application/json",
        body: r#"{"error": {"code": "SERVICE_UNAVAILABLE", "message": "upstream is down"}}"#,
    })
    .await;
    let zone = proxy_with_timeout(db, &mock.url, Duration::from_secs(2)).await;
    let (status, answer, elapsed) = timed(&zone, "POST", "/v1/entities", entity_request()).await;
    assert_eq!(status, 502, "POST /v1/entities, upstream 503: {answer}");
    assert_error(&answer, "UPSTREAM_ERROR");
    assert!(elapsed < FAILURE_BOUND, "took {elapsed:?}");
    // The POST carried an Idempotency-Key, so it was safe to retry; every attempt carried the
    // same key, so the upstream could not have created two records.
    let seen = mock.seen();
    assert!(seen.len() >= 2, "a keyed POST is retried: {seen:?}");
    assert!(seen[0].idempotency_key.is_some(), "{seen:?}");
    assert!(
        seen.iter()
            .all(|s| s.idempotency_key == seen[0].idempotency_key),
        "every retry carries the first attempt's key: {seen:?}"
    );
    assert_nothing_written(&zone, db, "upstream 5xx").await;
    zone.stop().await;
}

async fn an_unreadable_upstream_answer_is_a_502_and_writes_nothing(db: &TestDb) {
    let mock = MockUpstream::start(MockAnswer {
        delay: Duration::ZERO,
        status: 201,
        content_type: "text/html",
        body: "<html>not a Mass answer</html>",
    })
    .await;
    let zone = proxy_with_timeout(db, &mock.url, Duration::from_secs(2)).await;
    let (status, answer, _) = timed(&zone, "POST", "/v1/entities", entity_request()).await;
    assert_eq!(
        status, 502,
        "POST /v1/entities, upstream not JSON: {answer}"
    );
    assert_error(&answer, "UPSTREAM_ERROR");
    assert!(!mock.seen().is_empty(), "the upstream was called");
    assert_nothing_written(&zone, db, "unreadable upstream answer").await;
    zone.stop().await;
}

async fn an_upstream_404_on_a_read_is_a_404_with_the_upstreams_message(db: &TestDb) {
    let db_b = TestDb::sqlite();
    let zone_b = TestZone::sovereign(&db_b).await;
    let zone_a = start_proxy(db, &zone_b).await;
    let missing = uuid::Uuid::new_v4();
    for (through_a, on_b) in [
        (
            format!("/v1/entities/{missing}"),
            format!("{ORG}/organization/{missing}"),
        ),
        (
            format!("/v1/ownership/cap-tables/{missing}"),
            format!("{CONSENT}/capTables/{missing}"),
        ),
        (
            format!("/v1/consent/{missing}"),
            format!("{CONSENT}/consents/{missing}"),
        ),
        (
            format!("/v1/identity/{missing}"),
            format!("{CONSENT}/identities/{missing}"),
        ),
    ] {
        let (status_b, answer_b) = zone_b.get(&on_b).await;
        assert_eq!(
            status_b, 404,
            "GET {on_b} on the sovereign zone: {answer_b}"
        );
        let (status, answer) = zone_a.get(&through_a).await;
        assert_eq!(status, 404, "GET {through_a} on the proxy zone: {answer}");
        let message = assert_error(&answer, "NOT_FOUND");
        assert_eq!(
            answer, answer_b,
            "GET {through_a} passes the upstream's 404 on, message and all"
        );
        assert!(message.contains(&missing.to_string()), "{message}");
    }
    // A write whose entity the upstream does not know is refused the same way, before any
    // Mass write.
    let (status, answer) = zone_a
        .put(
            &format!("/v1/entities/{missing}"),
            json!({"legal_name": "Ghost Ltd"}),
        )
        .await;
    assert_eq!(
        status, 404,
        "PUT an unknown entity through the proxy: {answer}"
    );
    assert_error(&answer, "NOT_FOUND");
    assert_nothing_written(&zone_a, db, "upstream 404").await;
    assert!(
        zone_b.stored("organizations").await.is_empty(),
        "nothing was created upstream either"
    );
    zone_a.stop().await;
    zone_b.stop().await;
    db_b.cleanup().await;
}

async fn an_upstream_422_on_a_write_passes_through_with_its_details(db: &TestDb) {
    let db_b = TestDb::sqlite();
    let zone_b = TestZone::sovereign(&db_b).await;
    let zone_a = start_proxy(db, &zone_b).await;
    // The entity exists upstream (created there directly, so A has written nothing).
    let (status, org) = zone_b
        .post(
            &format!("{ORG}/organization/create"),
            json!({"name": "Share Class Ltd", "jurisdiction": "pk"}),
        )
        .await;
    assert_eq!(
        status, 201,
        "organization create on the sovereign zone: {org}"
    );
    let org_id = org["id"].as_str().unwrap_or_default().to_owned();

    // A share class issuing more shares than it authorizes: A's own request checks pass
    // (the class is JSON), the upstream's cap-table rules refuse it.
    let (status, answer) = zone_a
        .post(
            "/v1/ownership/cap-tables",
            json!({"entity_id": org_id,
                   "share_classes": [{"name": "Common", "authorized_shares": 100,
                                      "issued_shares": 500, "par_value": "1.00",
                                      "voting_rights": true}]}),
        )
        .await;
    assert_eq!(
        status, 422,
        "an invalid share class through the proxy: {answer}"
    );
    assert_error(&answer, "VALIDATION_ERROR");
    assert_eq!(
        error_fields(&answer),
        ["shareClasses[0].outstandingShares"],
        "the upstream's details are passed on: {answer}"
    );
    // It is exactly what the upstream answers to the same Mass request.
    let (status_b, answer_b) = zone_b
        .post(
            &format!("{CONSENT}/capTables"),
            json!({"organizationId": org_id,
                   "shareClasses": [{"name": "Common", "authorizedShares": 100,
                                     "outstandingShares": 500, "parValue": "1.00",
                                     "votingRights": true}]}),
        )
        .await;
    assert_eq!(
        status_b, 422,
        "the same cap table on the sovereign zone: {answer_b}"
    );
    assert_eq!(
        answer, answer_b,
        "the proxy passes the upstream's 422 on whole"
    );

    assert_nothing_written(&zone_a, db, "upstream 422").await;
    assert!(
        zone_b.stored("cap_tables").await.is_empty(),
        "no cap table upstream"
    );
    zone_a.stop().await;
    zone_b.stop().await;
    db_b.cleanup().await;
}

async fn an_upstream_refusing_the_zones_token_is_a_502_not_a_401(db: &TestDb) {
    let db_b = TestDb::sqlite();
    let zone_b = TestZone::sovereign(&db_b).await;
    // A presents a token B does not accept: A's misconfiguration, not its caller's.
    let config = proxy_config(db, &zone_b.base_url, Some("not-zone-b-token"));
    let zone_a = TestZone::start_with_config(config).await;
    let (status, answer) = zone_a.post("/v1/entities", entity_request()).await;
    assert_eq!(status, 502, "upstream 401 through the proxy: {answer}");
    assert_error(&answer, "UPSTREAM_ERROR");
    assert_nothing_written(&zone_a, db, "upstream refused the token").await;
    assert!(zone_b.stored("organizations").await.is_empty());
    zone_a.stop().await;
    zone_b.stop().await;
    db_b.cleanup().await;
}

async fn a_proxy_without_an_upstream_answers_503(db: &TestDb) {
    let config =
        mez_api::config::Config::for_tests(db.url(), false, &mez_tests::proxy::fresh_token());
    assert!(config.upstream.urls.is_empty(), "no MASS_*_URL is set");
    let zone = TestZone::start_with_config(config).await;
    let some_id = uuid::Uuid::new_v4();
    for (method, path, body) in [
        ("GET", "/v1/entities".to_owned(), Value::Null),
        ("GET", format!("/v1/entities/{some_id}"), Value::Null),
        ("GET", format!("/v1/consent/{some_id}"), Value::Null),
        ("POST", "/v1/entities".to_owned(), entity_request()),
        (
            "PUT",
            format!("/v1/entities/{some_id}"),
            json!({"legal_name": "Renamed Ltd"}),
        ),
        (
            "POST",
            "/v1/ownership/cap-tables".to_owned(),
            json!({"entity_id": some_id, "share_classes": [{"name": "Common", "authorized_shares": 100}]}),
        ),
        (
            "POST",
            "/v1/identity/ntn/verify".to_owned(),
            json!({"ntn": "1234567", "entity_name": "No Upstream Ltd"}),
        ),
    ] {
        let (status, answer, _) = timed(&zone, method, &path, body).await;
        assert_eq!(status, 503, "{method} {path} with no upstream: {answer}");
        assert_error(&answer, "SERVICE_UNAVAILABLE");
    }
    assert_nothing_written(&zone, db, "no upstream").await;
    zone.stop().await;
}

/// An upstream answering every call with `status` and `body`: the proxy answers 502
/// `UPSTREAM_ERROR` naming the route, writes nothing, and calls the upstream `calls` times.
async fn assert_misfit_answer(db: &TestDb, status: u16, body: &'static str, calls: usize) {
    let mock = MockUpstream::start(MockAnswer {
        delay: Duration::ZERO,
        status,
        content_type: "application/json",
        body,
    })
    .await;
    let zone = proxy_with_timeout(db, &mock.url, Duration::from_secs(2)).await;
    let (answer_status, answer, _) = timed(&zone, "POST", "/v1/entities", entity_request()).await;
    let what = format!("upstream answering {status} {body:?}");
    assert_eq!(answer_status, 502, "{what}: {answer}");
    let message = assert_error(&answer, "UPSTREAM_ERROR");
    assert!(
        message.contains("/organization/create"),
        "{what}: the error names the route: {message}"
    );
    assert_eq!(
        mock.seen().len(),
        calls,
        "{what}: upstream calls {:?}",
        mock.seen()
    );
    assert_nothing_written(&zone, db, &what).await;
    zone.stop().await;
}

async fn an_upstream_success_without_an_id_is_a_502_and_writes_nothing(db: &TestDb) {
    const BODY: &str = r#"{"name": "No Id Ltd", "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z"}"#;
    assert_misfit_answer(db, 200, BODY, 1).await;
}

async fn an_upstream_success_with_a_numeric_id_is_a_502_and_writes_nothing(db: &TestDb) {
    const BODY: &str = r#"{"id": 42, "name": "Numeric Id Ltd", "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z"}"#;
    assert_misfit_answer(db, 200, BODY, 1).await;
}

async fn an_upstream_success_with_an_array_is_a_502_and_writes_nothing(db: &TestDb) {
    const BODY: &str = r#"[{"id": "00000000-0000-4000-8000-000000000000", "name": "Array Ltd", "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z"}]"#;
    assert_misfit_answer(db, 200, BODY, 1).await;
}

async fn an_upstream_success_with_an_empty_body_is_a_502_and_writes_nothing(db: &TestDb) {
    assert_misfit_answer(db, 200, "", 1).await;
}

async fn an_upstream_success_that_is_not_json_is_a_502_and_writes_nothing(db: &TestDb) {
    assert_misfit_answer(db, 200, "created, more or less", 1).await;
}

async fn an_upstream_redirect_is_a_502_and_is_not_followed(db: &TestDb) {
    // The mock redirects every request to itself: following redirects would loop.
    assert_misfit_answer(db, 302, "", 1).await;
}

async fn an_upstream_401_or_403_is_called_once(db: &TestDb) {
    const REFUSAL: &str = r#"{"error": {"code": "UNAUTHORIZED", "message": "who are you"}}"#;
    assert_misfit_answer(db, 401, REFUSAL, 1).await;
    assert_misfit_answer(db, 403, REFUSAL, 1).await;
}

async fn an_upstream_500_is_not_retried(db: &TestDb) {
    assert_misfit_answer(db, 500, r#"{"error": "boom"}"#, 1).await;
}

mez_tests::on_sqlite_and_postgres!(
    an_upstream_success_without_an_id_is_a_502_and_writes_nothing,
    an_upstream_success_with_a_numeric_id_is_a_502_and_writes_nothing,
    an_upstream_success_with_an_array_is_a_502_and_writes_nothing,
    an_upstream_success_with_an_empty_body_is_a_502_and_writes_nothing,
    an_upstream_success_that_is_not_json_is_a_502_and_writes_nothing,
    an_upstream_redirect_is_a_502_and_is_not_followed,
    an_upstream_401_or_403_is_called_once,
    an_upstream_500_is_not_retried,
    an_unreachable_upstream_is_a_502_within_the_timeout_and_writes_nothing,
    an_upstream_slower_than_the_timeout_is_a_504_and_writes_nothing,
    an_upstream_5xx_is_a_502_after_retrying_with_the_same_key,
    an_unreadable_upstream_answer_is_a_502_and_writes_nothing,
    an_upstream_404_on_a_read_is_a_404_with_the_upstreams_message,
    an_upstream_422_on_a_write_passes_through_with_its_details,
    an_upstream_refusing_the_zones_token_is_a_502_not_a_401,
    a_proxy_without_an_upstream_answers_503,
);
