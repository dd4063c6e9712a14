// SPDX-License-Identifier: BUSL-1.1
//! Hostile input (issue 8, findings 1-4), on SQLite and PostgreSQL alike.
//!
//! - U+0000 anywhere a client can put text (body strings and keys, path parameters, query
//!   values) is a 422 naming the field on both engines, is never stored, and cannot break the
//!   filtered lists that PostgreSQL answers by casting stored bodies to `jsonb`.
//! - A request refused before its body is read (401, 415) leaves the connection usable, or
//!   says `Connection: close`: 10,000 requests over reused connections, a third of them
//!   refused, meet no connection error.
//! - An explicit `null` is the same as leaving the field out; `1.0` is the integer 1; `" 5"`
//!   is not a decimal.
//! - Answers hyper or axum would make in plain text or with an empty body (invalid UTF-8 in
//!   a path parameter, a 100,000-character id, a malformed request line) are the JSON error.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use mez_api::runtime::model::ModelSpec;
use mez_tests::json::{assert_error, error_fields, uuid_at};
use mez_tests::surface_checks::sample;
use mez_tests::{TestDb, TestZone};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const ORG: &str = "/organization-info/api/v1/organization";

/// The NUL character as a JSON string escape, for bodies written as text.
const NUL: &str = "\u{0}";

// ---- Finding 1: NUL ----

async fn nul_in_a_body_is_refused_and_filtered_lists_keep_working(db: &TestDb) {
    let zone = TestZone::sovereign(db).await;

    // The finding's own request, and NULs deeper in a body: a list item, a nested key.
    for (body, field) in [
        (json!({ "name": format!("a{NUL}b") }), "name"),
        (json!({ "name": "ok", "tags": ["x", NUL] }), "tags[1]"),
        (
            json!({ "name": "ok", "address": { format!("k{NUL}"): 1 } }),
            "address",
        ),
        (
            json!({ "name": "ok", "address": { "line": [NUL] } }),
            "address.line[0]",
        ),
    ] {
        let (status, answer) = zone.post(&format!("{ORG}/create"), body.clone()).await;
        assert_eq!(status, 422, "{body} -> {answer}");
        assert_error(&answer, "VALIDATION_ERROR");
        assert_eq!(error_fields(&answer), [field], "{answer}");
    }
    let (status, answer) = zone
        .post(
            "/v1/entities",
            json!({ "entity_type": "company", "legal_name": format!("Evil{NUL}Corp"), "jurisdiction_id": "pk" }),
        )
        .await;
    assert_eq!(status, 422, "{answer}");
    assert_eq!(error_fields(&answer), ["legal_name"], "{answer}");
    assert!(
        zone.stored("organizations").await.is_empty(),
        "nothing was stored"
    );

    // Every filtered list the finding named still answers, for every caller.
    let (status, org) = zone
        .post(&format!("{ORG}/create"), json!({ "name": "Clean Co" }))
        .await;
    assert_eq!(status, 201, "{org}");
    let org_id = uuid_at(&org, "id");
    let (status, found) = zone
        .post(&format!("{ORG}/search"), json!({ "query": "clean" }))
        .await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["totalElements"], 1, "{found}");
    let (status, found) = zone
        .post(
            &format!("{ORG}/search"),
            json!({ "query": format!("x{NUL}") }),
        )
        .await;
    assert_eq!(status, 422, "{found}");
    let (status, consents) = zone
        .get(&format!(
            "/consent-info/api/v1/consents/organization/{org_id}"
        ))
        .await;
    assert_eq!((status, consents.clone()), (200, json!([])), "{consents}");
    let (status, events) = zone
        .get(&format!(
            "/treasury-info/api/v1/tax-events?entity_id={org_id}"
        ))
        .await;
    assert_eq!(status, 200, "{events}");
    let (status, treasury) = zone
        .get(&format!("/treasury-info/api/v1/treasury/entity/{org_id}"))
        .await;
    assert_eq!(status, 404, "{treasury}");
    assert_error(&treasury, "NOT_FOUND");

    // A /v1-only client: an entity, then an account for it (the finding's 500).
    let (status, entity) = zone
        .post(
            "/v1/entities",
            json!({ "entity_type": "company", "legal_name": "Good Traders", "jurisdiction_id": "pk" }),
        )
        .await;
    assert_eq!(status, 201, "{entity}");
    let entity_id = uuid_at(&entity["mass_response"], "id");
    let (status, account) = zone
        .post(
            "/v1/fiscal/accounts",
            json!({ "entity_id": entity_id, "account_type": "operating", "currency": "PKR" }),
        )
        .await;
    assert_eq!(status, 201, "{account}");

    // What is stored holds no NUL: each body reads back as text without one.
    for record in zone.stored("organizations").await {
        assert!(!record.to_string().contains("\\u0000"), "{record}");
    }
    zone.stop().await;
}

/// Every path parameter of every route, and every query value, set to `%00`: a 422 naming
/// the parameter, on both engines (it was a 500 on PostgreSQL and a 404/200 on SQLite).
async fn nul_in_every_path_parameter_and_query_value_is_a_422(db: &TestDb) {
    let zone = TestZone::sovereign(db).await;
    let mut routes: Vec<(&str, &str, Option<&ModelSpec>)> = mez_api::surface::ROUTES
        .iter()
        .map(|r| {
            (
                r.method,
                r.path,
                r.query_input.then_some(r.request).flatten(),
            )
        })
        .collect();
    routes.extend(
        mez_api::surface::V1_ROUTES
            .iter()
            .map(|r| (r.method, r.path, None)),
    );
    routes.extend([
        ("POST", "/v1/credentials/verify", None),
        ("GET", "/v1/attestations", None),
        ("GET", "/v1/attestations/{id}", None),
        ("GET", "/v1/audit/events", None),
        ("GET", "/v1/audit/verify", None),
    ]);
    let mut checked_params = 0;
    let mut checked_queries = 0;
    for (method, path, query_model) in routes {
        let method = Method::from_bytes(method.as_bytes()).expect("a method");
        let params = path_params(path);
        let body = (method == Method::POST || method == Method::PUT).then(|| json!({}));
        // Each parameter alone holds the NUL; the others hold a well-formed id.
        for param in &params {
            let uri = fill(path, |name| {
                if name == param {
                    "%00".to_owned()
                } else {
                    uuid::Uuid::new_v4().to_string()
                }
            });
            let (status, answer) = zone.request(method.clone(), &uri, body.clone()).await;
            assert_eq!(status, 422, "{method} {uri} -> {answer}");
            assert_error(&answer, "VALIDATION_ERROR");
            assert_eq!(error_fields(&answer), [param.as_str()], "{method} {uri}");
            checked_params += 1;
        }
        // Every query name a route reads (paging, filters, id lists, query-string creates)
        // and one it does not: any query value holding a NUL is refused by name.
        let mut names = vec![
            "page",
            "size",
            "offset",
            "limit",
            "ids",
            "entity_id",
            "tax_year",
            "entityId",
            "idempotencyKey",
            "unread",
        ];
        if let Some(model) = query_model {
            names.extend(model.fields.iter().map(|f| f.input));
        }
        let base = fill(path, |_| uuid::Uuid::new_v4().to_string());
        for name in names {
            let uri = format!("{base}?{name}=a%00b");
            let (status, answer) = zone.request(method.clone(), &uri, body.clone()).await;
            assert!(status < 500, "{method} {uri} -> {status} {answer}");
            assert_error(&answer, "VALIDATION_ERROR");
            assert_eq!(error_fields(&answer), [name], "{method} {uri}");
            checked_queries += 1;
        }
    }
    assert!(checked_params >= 20, "{checked_params} path parameters");
    assert!(checked_queries >= 500, "{checked_queries} query values");
    assert!(zone.stored("organizations").await.is_empty());
    zone.stop().await;
}

/// The `{name}`s of an axum route path, in order.
fn path_params(path: &str) -> Vec<String> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .map(str::to_owned)
        .collect()
}

/// `path` with each `{name}` replaced by `value(name)`.
fn fill(path: &str, value: impl Fn(&str) -> String) -> String {
    path.split('/')
        .map(
            |segment| match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => value(name),
                None => segment.to_owned(),
            },
        )
        .collect::<Vec<_>>()
        .join("/")
}

// ---- Finding 3: explicit nulls, integer-valued floats, padded decimals ----

async fn null_means_absent_and_numbers_are_taken_as_documented(db: &TestDb) {
    let zone = TestZone::sovereign(db).await;

    // The finding's request: the nulls are absences, so the defaults are stored.
    let (status, org) = zone
        .post(
            &format!("{ORG}/create"),
            json!({ "name": "x", "status": null, "tags": null, "address": null }),
        )
        .await;
    assert_eq!(status, 201, "{org}");
    assert_eq!(org["status"], "ACTIVE", "{org}");
    assert_eq!(org["tags"], json!([]), "{org}");
    let id = uuid_at(&org, "id");
    // On an update a null leaves the stored value alone; a required field cannot be null.
    let (status, updated) = zone
        .put(
            &format!("{ORG}/{id}"),
            json!({ "name": "y", "status": null, "tags": null }),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(
        (&updated["name"], &updated["status"], &updated["tags"]),
        (&json!("y"), &json!("ACTIVE"), &json!([])),
        "{updated}"
    );
    let (status, refused) = zone
        .put(&format!("{ORG}/{id}"), json!({ "name": null }))
        .await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(error_fields(&refused), ["name"]);
    let (_, stored) = zone.get(&format!("{ORG}/{id}")).await;
    assert_eq!(stored, updated, "a refused update wrote nothing");

    // An integer field sent as null takes its default; as 1.0e6, it is the integer 1000000.
    let caps = "/consent-info/api/v1/capTables";
    let (status, table) = zone
        .post(
            caps,
            json!({ "organizationId": id, "authorizedShares": null }),
        )
        .await;
    assert_eq!(status, 201, "{table}");
    assert_eq!(table["authorizedShares"], json!(10_000_000), "{table}");
    let (status, table) = zone
        .post(
            caps,
            json!({ "organizationId": id, "authorizedShares": 1_000_000.0 }),
        )
        .await;
    assert_eq!(status, 201, "{table}");
    assert_eq!(table["authorizedShares"], json!(1_000_000), "{table}");
    assert!(
        table["authorizedShares"].is_i64(),
        "stored as an integer: {table}"
    );
    let (status, refused) = zone
        .post(
            caps,
            json!({ "organizationId": id, "authorizedShares": 1.5 }),
        )
        .await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(error_fields(&refused), ["authorizedShares"]);

    // A decimal is taken as sent: padding is not part of a decimal.
    for amount in [" 5", "5 ", "\t5"] {
        let (status, refused) = zone
            .post(
                "/treasury-info/api/v1/tax-events",
                json!({ "entity_id": id, "event_type": "TAX_PAYMENT", "amount": amount, "tax_year": "2025-2026" }),
            )
            .await;
        assert_eq!(status, 422, "{amount:?} -> {refused}");
        assert_eq!(error_fields(&refused), ["amount"]);
    }
    zone.stop().await;
}

/// Every optional field of every plain direct create (no hook, a JSON body), sent as null,
/// is stored as its default: the rule holds for every field kind the spec uses.
async fn null_is_absence_for_every_field_kind(db: &TestDb) {
    let zone = TestZone::sovereign(db).await;
    let mut kinds = std::collections::BTreeSet::new();
    let plain = mez_api::surface::ROUTES
        .iter()
        .filter(|r| r.op == "create" && r.hook.is_none() && !r.query_input);
    for route in plain {
        let model = route.request.expect("a create has a request model");
        let mut body = serde_json::Map::new();
        for field in model.fields.iter().filter(|f| !f.server_set) {
            let value = if field.required {
                sample(field)
            } else {
                kinds.insert(
                    format!("{:?}", field.ty)
                        .split('(')
                        .next()
                        .map(str::to_owned),
                );
                Value::Null
            };
            body.insert(field.input.to_owned(), value);
        }
        let (status, record) = zone.post(route.path, Value::Object(body)).await;
        assert_eq!(status, 201, "{}: {record}", route.path);
        let id = uuid_at(&record, "id");
        let (_, stored) = zone
            .get(&format!("{}/{id}", route.path.trim_end_matches("/create")))
            .await;
        for field in model.fields.iter().filter(|f| !f.server_set && !f.required) {
            assert_eq!(
                record[field.name],
                field.default.to_value(),
                "{}: {} sent as null stores its default",
                route.path,
                field.name
            );
            if stored.get("error").is_none() {
                assert_eq!(stored[field.name], record[field.name], "{}", route.path);
            }
        }
    }
    assert!(kinds.len() >= 5, "field kinds covered: {kinds:?}");
    zone.stop().await;
}

// ---- Finding 4: answers that were not JSON ----

async fn answers_hyper_and_axum_made_in_plain_text_are_json(db: &TestDb) {
    let zone = TestZone::sovereign(db).await;

    // Invalid UTF-8 in a path parameter: axum's Path answered in plain text.
    for path in [format!("{ORG}/%FF"), "/v1/entities/%C3%28".to_owned()] {
        let response = zone.raw(Method::GET, &path).send().await;
        assert_eq!(response.status, 400, "{path}: {}", response.text());
        assert_eq!(response.content_type.as_deref(), Some("application/json"));
        let message = assert_error(&response.json(), "BAD_REQUEST");
        assert!(message.contains("UTF-8"), "{message}");
    }

    // A 100,000-character id: hyper answers 414 itself, before any route runs.
    let long = "a".repeat(100_000);
    let request = format!(
        "GET {ORG}/{long} HTTP/1.1\r\nhost: zone\r\nauthorization: Bearer {}\r\n\r\n",
        zone.token
    );
    let (status, headers, body) = exchange_until_close(&zone, request.as_bytes()).await;
    assert_eq!(status, 414, "{headers}");
    assert!(
        headers.contains("content-type: application/json"),
        "{headers}"
    );
    assert_error(&parse(&body), "URI_TOO_LONG");

    // A request line hyper cannot parse.
    let (status, headers, body) = exchange_until_close(&zone, b"G@T / HTTP/1.1\r\n\r\n").await;
    assert_eq!(status, 400, "{headers}");
    assert_error(&parse(&body), "BAD_REQUEST");

    // The zone keeps serving.
    let (status, _) = zone.get(&format!("{ORG}/{}", uuid::Uuid::new_v4())).await;
    assert_eq!(status, 404);
    zone.stop().await;
}

fn parse(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap_or_else(|err| {
        panic!(
            "not JSON ({err}): {:?}",
            String::from_utf8_lossy(body).into_owned()
        )
    })
}

fn address(zone: &TestZone) -> &str {
    zone.base_url.trim_start_matches("http://")
}

/// Writes `request` on a fresh connection and reads until the zone closes it.
async fn exchange_until_close(zone: &TestZone, request: &[u8]) -> (u16, String, Vec<u8>) {
    let mut stream = TcpStream::connect(address(zone)).await.expect("connect");
    stream.write_all(request).await.expect("write");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.expect("read");
    let (status, headers, rest) = split_head(&answer);
    (status, headers, rest.to_vec())
}

/// The status, the lower-cased header block, and what follows the head.
fn split_head(answer: &[u8]) -> (u16, String, &[u8]) {
    let Some(end) = answer.windows(4).position(|w| w == b"\r\n\r\n") else {
        panic!("no complete head in {:?}", String::from_utf8_lossy(answer));
    };
    let head = String::from_utf8_lossy(&answer[..end]).to_ascii_lowercase();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    (status, head, &answer[end + 4..])
}

/// Reads one answer (with a `content-length`) off a kept-alive connection.
async fn read_answer(stream: &mut TcpStream) -> Option<(u16, String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let (status, head, _) = split_head(&buf);
            let length: usize = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + length {
                let n = stream.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return Some((status, head, buf[end + 4..end + 4 + length].to_vec()));
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

// ---- Finding 2: keep-alive after early refusals ----

/// The finding's client: 10,000 requests over a few reused connections, a third of them
/// refused before their body is read (401 wrong token and 415 wrong content type, in turn),
/// the rest searches that read theirs. Not one may fail at the connection level.
async fn keep_alive_survives_early_refusals(db: &TestDb) {
    const REQUESTS: usize = 10_000;
    const CONNECTIONS: usize = 4;
    let zone = TestZone::sovereign(db).await;
    let (status, _) = zone
        .post(&format!("{ORG}/create"), json!({ "name": "Pooled" }))
        .await;
    assert_eq!(status, 201);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CONNECTIONS)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let search = Arc::new(zone.url(&format!("{ORG}/search")));
    let token = Arc::new(zone.token.clone());
    let errors = Arc::new(AtomicUsize::new(0));
    let refused = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for worker in 0..CONNECTIONS {
        let (client, search, token) = (client.clone(), search.clone(), token.clone());
        let (errors, refused) = (errors.clone(), refused.clone());
        workers.push(tokio::spawn(async move {
            for i in (worker..REQUESTS).step_by(CONNECTIONS) {
                let body = r#"{"query":"pool","page":0,"size":5}"#;
                // A refused request's body is never read, so it may be anything; a large one
                // (but under the zone's 64 KiB drain bound) is still arriving when the
                // refusal is decided, which is when connections used to die.
                let refused_body = "x".repeat(48 * 1024);
                let (request, expected) = match (i % 3, i / 3 % 2) {
                    (0, 0) => (
                        client
                            .post(search.as_str())
                            .bearer_auth("wrong-token")
                            .header("content-type", "application/json")
                            .body(refused_body),
                        401,
                    ),
                    (0, _) => (
                        client
                            .post(search.as_str())
                            .bearer_auth(token.as_str())
                            .header("content-type", "text/plain")
                            .body(refused_body),
                        415,
                    ),
                    _ => (
                        client
                            .post(search.as_str())
                            .bearer_auth(token.as_str())
                            .header("content-type", "application/json")
                            .body(body),
                        200,
                    ),
                };
                match request.send().await {
                    Ok(response) => {
                        assert_eq!(response.status().as_u16(), expected, "request {i}");
                        let _ = response.bytes().await;
                        if expected != 200 {
                            refused.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Err(err) => {
                        eprintln!("request {i}: {err}");
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for worker in workers {
        worker.await.expect("worker");
    }
    assert_eq!(errors.load(Ordering::Relaxed), 0, "connection errors");
    assert_eq!(refused.load(Ordering::Relaxed), REQUESTS.div_ceil(3));
    zone.stop().await;
}

/// The same on one raw connection, made deterministic: the body of a refused request arrives
/// in a separate write, after its head. The answer must either leave the connection usable
/// for the next request or say `Connection: close`; a large body gets `Connection: close`.
async fn a_refused_request_never_leaves_a_silently_dead_connection(db: &TestDb) {
    let zone = TestZone::sovereign(db).await;
    let body = br#"{"name":"late body"}"#;
    for (authorization, content_type, expected) in [
        ("Bearer wrong".to_owned(), "application/json", 401),
        (format!("Bearer {}", zone.token), "text/plain", 415),
    ] {
        let mut stream = TcpStream::connect(address(&zone)).await.expect("connect");
        let head = format!(
            "POST {ORG}/create HTTP/1.1\r\nhost: zone\r\nauthorization: {authorization}\r\n\
             content-type: {content_type}\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await.expect("head");
        stream.flush().await.expect("flush");
        stream.write_all(body).await.expect("body");
        let (status, headers, answer) = read_answer(&mut stream).await.expect("an answer");
        assert_eq!(status, expected, "{headers}");
        assert_error(
            &parse(&answer),
            if expected == 401 {
                "UNAUTHORIZED"
            } else {
                "UNSUPPORTED_MEDIA_TYPE"
            },
        );
        if !headers.contains("connection: close") {
            let next = "GET /health/liveness HTTP/1.1\r\nhost: zone\r\n\r\n";
            stream
                .write_all(next.as_bytes())
                .await
                .expect("next request");
            let (status, _, _) = read_answer(&mut stream)
                .await
                .expect("a kept-alive connection answers the next request");
            assert_eq!(status, 200);
        }
    }

    // A body too large to read on the caller's behalf: the answer says the connection closes.
    let mut stream = TcpStream::connect(address(&zone)).await.expect("connect");
    let head = format!(
        "POST {ORG}/create HTTP/1.1\r\nhost: zone\r\nauthorization: Bearer wrong\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n",
        1024 * 1024
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    let (status, headers, _) = read_answer(&mut stream).await.expect("an answer");
    assert_eq!(status, 401);
    assert!(headers.contains("connection: close"), "{headers}");
    zone.stop().await;
}

mez_tests::on_sqlite_and_postgres!(
    nul_in_a_body_is_refused_and_filtered_lists_keep_working,
    nul_in_every_path_parameter_and_query_value_is_a_422,
    null_means_absent_and_numbers_are_taken_as_documented,
    null_is_absence_for_every_field_kind,
    answers_hyper_and_axum_made_in_plain_text_are_json,
    keep_alive_survives_early_refusals,
    a_refused_request_never_leaves_a_silently_dead_connection,
);

#[test]
fn route_paths_are_read_and_filled() {
    assert_eq!(path_params("/a/{id}/b/{orgId}"), ["id", "orgId"]);
    assert_eq!(fill("/a/{id}/b", |n| format!("<{n}>")), "/a/<id>/b");
}
