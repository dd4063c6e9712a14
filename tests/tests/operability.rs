// SPDX-License-Identifier: BUSL-1.1
//! What an operator sees of a zone: `/metrics`, request ids, and readiness while stopping.
//!
//! - `GET /metrics` needs the bearer token, answers the Prometheus text format (every sample
//!   line parses), and its request counter, `/v1` stage histograms and audit batch histogram
//!   move with the requests made.
//! - A request's `x-request-id` (a new UUID when it is missing or malformed) comes back on the
//!   response, is stored as `request_id` in the metadata of the audit event of a `/v1` write
//!   and of a direct write, and is sent upstream by a proxy zone (seen by a mock upstream).
//! - Once shutdown has begun, readiness answers 503.
//!
//! The log line half of request ids, JSON logs and SIGTERM are tested on the real binary, in
//! `mez-api/tests/shutdown.rs`. Every scenario here runs on SQLite and on PostgreSQL.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use mez_tests::proxy::proxy_config;
use mez_tests::v1::audit_events;
use mez_tests::{TestDb, TestZone};
use serde_json::{Value, json};

const ORG: &str = "/organization-info/api/v1";

mez_tests::on_sqlite_and_postgres!(
    metrics_move_with_requests,
    request_ids_reach_the_response_and_the_audit_event,
    proxy_zones_send_the_request_id_upstream,
    readiness_fails_once_shutdown_begins,
);

/// One sample of the exposition: metric name, labels, value.
type Sample = (String, BTreeMap<String, String>, f64);

/// Parses the Prometheus text format, failing the test at the first line that does not fit:
/// `# HELP`/`# TYPE` comments, blank lines, or `name{label="value",...} number`.
fn parse_exposition(text: &str) -> Vec<Sample> {
    let mut samples = Vec::new();
    for line in text.lines() {
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix("# ") {
            assert!(
                comment.starts_with("HELP ") || comment.starts_with("TYPE "),
                "comment line {line:?}"
            );
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("no value on {line:?}"));
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            other => other
                .parse()
                .unwrap_or_else(|_| panic!("value {other:?} on {line:?}")),
        };
        let (name, labels) = match series.split_once('{') {
            None => (series, BTreeMap::new()),
            Some((name, rest)) => {
                let body = rest
                    .strip_suffix('}')
                    .unwrap_or_else(|| panic!("unclosed labels on {line:?}"));
                (name, parse_labels(body, line))
            }
        };
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "metric name {name:?} on {line:?}"
        );
        samples.push((name.to_owned(), labels, value));
    }
    samples
}

fn parse_labels(mut body: &str, line: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    while !body.is_empty() {
        let (key, rest) = body
            .split_once("=\"")
            .unwrap_or_else(|| panic!("label without a quoted value on {line:?}"));
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => {
                    if let Some((_, escaped)) = chars.next() {
                        value.push(if escaped == 'n' { '\n' } else { escaped });
                    }
                }
                Some((at, '"')) => break at,
                Some((_, c)) => value.push(c),
                None => panic!("unterminated label value on {line:?}"),
            }
        };
        labels.insert(key.to_owned(), value);
        body = rest[end + 1..].trim_start_matches(',');
    }
    labels
}

/// The value of the sample `name` whose labels include every pair of `with` (0 when absent).
fn value_of(samples: &[Sample], name: &str, with: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|(n, labels, _)| {
            n == name
                && with
                    .iter()
                    .all(|(k, v)| labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|(_, _, value)| value)
        .sum()
}

async fn scrape(zone: &TestZone) -> Vec<Sample> {
    let response = reqwest::Client::new()
        .get(zone.url("/metrics"))
        .bearer_auth(&zone.token)
        .send()
        .await
        .expect("GET /metrics");
    assert_eq!(response.status(), 200);
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    parse_exposition(&response.text().await.expect("metrics text"))
}

fn entity(name: &str) -> Value {
    json!({"entity_type": "llc", "legal_name": name, "jurisdiction_id": "pk"})
}

async fn metrics_move_with_requests(db: &TestDb) {
    let zone = TestZone::sovereign(db).await;
    let refused = zone
        .raw(reqwest::Method::GET, "/metrics")
        .no_token()
        .send()
        .await;
    assert_eq!(refused.status, 401, "{}", refused.text());

    let created = [
        ("route", "/v1/entities"),
        ("method", "POST"),
        ("status", "201"),
    ];
    let before = scrape(&zone).await;
    for n in 0..3 {
        let (status, body) = zone
            .post("/v1/entities", entity(&format!("Metrics {n} Ltd")))
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let (status, _) = zone
        .get(&format!("{ORG}/organization/{}", uuid::Uuid::new_v4()))
        .await;
    assert_eq!(status, 404);
    let after = scrape(&zone).await;

    // The zones of other tests in this process share the recorder, so "at least".
    let grew = |name: &str, with: &[(&str, &str)], by: f64| {
        let (was, is) = (value_of(&before, name, with), value_of(&after, name, with));
        assert!(is >= was + by, "{name} {with:?}: {was} -> {is}");
    };
    grew("mez_http_requests_total", &created, 3.0);
    grew(
        "mez_http_requests_total",
        &[
            ("route", "/organization-info/api/v1/organization/{id}"),
            ("method", "GET"),
            ("status", "404"),
        ],
        1.0,
    );
    grew(
        "mez_http_request_duration_seconds_count",
        &[("route", "/v1/entities"), ("method", "POST")],
        3.0,
    );
    for stage in ["validate", "compliance", "mass_operation", "sign", "commit"] {
        grew(
            "mez_v1_stage_duration_seconds_count",
            &[("stage", stage)],
            3.0,
        );
    }
    grew("mez_audit_batch_size_count", &[], 1.0);
    grew("mez_audit_batch_size_sum", &[], 3.0);
    grew("mez_audit_batch_commit_duration_seconds_count", &[], 1.0);
    // The pool gauges describe this scrape's zone.
    assert!(value_of(&after, "mez_db_pool_connections", &[("state", "max")]) >= 1.0);
    assert!(value_of(&after, "mez_db_pool_connections", &[("state", "open")]) >= 1.0);
    zone.stop().await;
}

/// Sends a JSON write with an `x-request-id` of the test's choosing (or none) and returns the
/// status, the response's `x-request-id` and the body.
async fn send_with_id(
    zone: &TestZone,
    path: &str,
    body: &Value,
    id: Option<&str>,
) -> (u16, String, Value) {
    let mut request = reqwest::Client::new()
        .post(zone.url(path))
        .bearer_auth(&zone.token)
        .json(body);
    if let Some(id) = id {
        request = request.header("x-request-id", id);
    }
    let response = request.send().await.expect("send");
    let status = response.status().as_u16();
    let echoed = response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, echoed, body)
}

/// The newest audit event whose resource id is `id`.
async fn event_of(zone: &TestZone, id: &str) -> Value {
    audit_events(zone)
        .await
        .into_iter()
        .rev()
        .find(|event| event["resource_id"] == id)
        .unwrap_or_else(|| panic!("no audit event for {id}"))
}

async fn request_ids_reach_the_response_and_the_audit_event(db: &TestDb) {
    let zone = TestZone::sovereign(db).await;

    // A /v1 write: the caller's id, echoed and audited.
    let chosen = format!("ops-v1-{}", uuid::Uuid::new_v4().simple());
    let (status, echoed, body) = send_with_id(
        &zone,
        "/v1/entities",
        &entity("Request Id Ltd"),
        Some(&chosen),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(echoed, chosen);
    let id = body["mass_response"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(
        event_of(&zone, &id).await["metadata"]["request_id"],
        chosen.as_str()
    );

    // A direct write: the same.
    let chosen = format!("ops-direct:{}", uuid::Uuid::new_v4().simple());
    let org = json!({"name": "Direct Request Id Ltd", "jurisdiction": "pk"});
    let (status, echoed, body) = send_with_id(
        &zone,
        &format!("{ORG}/organization/create"),
        &org,
        Some(&chosen),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(echoed, chosen);
    let id = body["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(
        event_of(&zone, &id).await["metadata"]["request_id"],
        chosen.as_str()
    );

    // Missing or malformed: a fresh UUID, which is what the event records.
    for given in [
        None,
        Some("has space"),
        Some("x\"y"),
        Some(&*"a".repeat(129)),
    ] {
        let (status, echoed, body) =
            send_with_id(&zone, "/v1/entities", &entity("Fresh Id Ltd"), given).await;
        assert_eq!(status, 201, "{body}");
        assert!(
            uuid::Uuid::parse_str(&echoed).is_ok(),
            "{given:?} -> {echoed:?}"
        );
        let id = body["mass_response"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert_eq!(
            event_of(&zone, &id).await["metadata"]["request_id"],
            echoed.as_str()
        );
    }

    // Errors carry it too.
    let (status, echoed, _) = send_with_id(&zone, "/v1/entities", &json!({}), Some("err-1")).await;
    assert_eq!(status, 422);
    assert_eq!(echoed, "err-1");
    zone.stop().await;
}

/// What the mock upstream saw: the `x-request-id` of every request.
type Seen = Arc<Mutex<Vec<Option<String>>>>;

/// A MOCK upstream (not a Mass): records each request's `x-request-id` and answers 404.
async fn mock_upstream() -> (String, Seen, tokio::task::JoinHandle<()>) {
    async fn record(
        State(seen): State<Seen>,
        headers: HeaderMap,
    ) -> (StatusCode, axum::Json<Value>) {
        let id = headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        seen.lock().unwrap_or_else(PoisonError::into_inner).push(id);
        (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"error": {"code": "NOT_FOUND", "message": "mock: nothing here"}})),
        )
    }
    let seen: Seen = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let app = Router::new().fallback(record).with_state(seen.clone());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, seen, task)
}

async fn proxy_zones_send_the_request_id_upstream(db: &TestDb) {
    let (url, seen, mock) = mock_upstream().await;
    let zone = TestZone::start_with_config(proxy_config(db, &url, None)).await;
    let chosen = format!("ops-upstream-{}", uuid::Uuid::new_v4().simple());
    let (status, echoed, body) = send_with_id(
        &zone,
        "/v1/entities",
        &entity("Upstream Id Ltd"),
        Some(&chosen),
    )
    .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(echoed, chosen);
    let seen = seen.lock().unwrap_or_else(PoisonError::into_inner).clone();
    assert!(!seen.is_empty(), "the upstream was not called");
    assert!(
        seen.iter().all(|id| id.as_deref() == Some(chosen.as_str())),
        "{seen:?}"
    );
    zone.stop().await;
    mock.abort();
}

async fn readiness_fails_once_shutdown_begins(db: &TestDb) {
    let zone = TestZone::sovereign(db).await;
    let (status, body) = zone.get("/health/readiness").await;
    assert_eq!(status, 200, "{body}");
    zone.state.shutting_down.store(true, Ordering::SeqCst);
    let (status, body) = zone.get("/health/readiness").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "SERVICE_UNAVAILABLE", "{body}");
    zone.stop().await;
}
