// SPDX-License-Identifier: BUSL-1.1
//! The checks behind the spec-derived test suite (`mez_macros::surface_tests!`).
//!
//! The macro writes one `#[tokio::test]` per (route, check, field) the spec implies; each calls
//! one function here with the route's method, path and field. The function finds the route in
//! the product's own generated route table (`mez_api::surface::ROUTES`), builds a valid request
//! from the route's model, breaks it in the one way the check names, sends it through the
//! product's `app()` against a fresh SQLite database, and asserts the answer and that nothing
//! was written.

use axum::body::Body;
use axum::http::{Request, header};
use mez_api::runtime::model::{Bound, FieldSpec, FieldType, ModelSpec, RouteInfo};
use serde_json::{Map, Value, json};
use tower::ServiceExt;

use crate::TestDb;

const TOKEN: &str = "surface-checks-token";

/// A fresh sovereign zone's router and state over its own SQLite file.
struct Zone {
    state: mez_api::state::AppState,
    _db: TestDb,
}

impl Zone {
    async fn new() -> Self {
        let db = TestDb::sqlite();
        let config = mez_api::config::Config::for_tests(db.url(), true, TOKEN);
        let state = mez_api::build_state(config)
            .await
            .expect("the zone starts on a fresh SQLite file");
        Self { state, _db: db }
    }

    /// Sends one request through the product's router; answers (status, JSON body or Null).
    async fn send(&self, method: &str, uri: &str, body: Option<Vec<u8>>) -> (u16, Value) {
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"));
        let body = match body {
            Some(bytes) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Body::from(bytes)
            }
            None => Body::empty(),
        };
        let resp = mez_api::app(self.state.clone())
            .oneshot(req.body(body).expect("request"))
            .await
            .expect("the router answers");
        let status = resp.status().as_u16();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .expect("body");
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                panic!("{method} {uri} answered {status} with a non-JSON body ({e}): {bytes:?}")
            })
        };
        (status, value)
    }

    /// Every record of every collection the spec's routes touch, for "nothing was written".
    async fn snapshot(&self) -> Vec<(String, Value)> {
        let mut collections: Vec<&str> = mez_api::surface::ROUTES
            .iter()
            .filter_map(|r| r.model.and_then(|m| m.collection))
            .collect();
        // The /v1 pipeline writes attestations too.
        collections.push(mez_api::pipeline::ATTESTATIONS);
        collections.sort_unstable();
        collections.dedup();
        let mut out = Vec::new();
        let events = self
            .state
            .audit
            .events(None, None, 0, 1000)
            .await
            .expect("audit events");
        out.push(("audit events".to_string(), Value::from(events.len())));
        for c in collections {
            let page = self
                .state
                .db
                .list(c, &mez_api::db::Query::all())
                .await
                .expect("list");
            for item in page.items {
                out.push((c.to_string(), Value::Object(item)));
            }
        }
        out
    }
}

/// The route `METHOD PATH` of the direct surface, or of the `/v1` surface (seen through the
/// same description: its request model, taken from the body).
fn route(method: &str, path: &str) -> &'static RouteInfo {
    if let Some(direct) = mez_api::surface::ROUTES
        .iter()
        .find(|r| r.method == method && r.path == path)
    {
        return direct;
    }
    let v1 = mez_api::surface::V1_ROUTES
        .iter()
        .find(|r| r.method == method && r.path == path)
        .unwrap_or_else(|| panic!("{method} {path} is not in the generated route tables"));
    Box::leak(Box::new(RouteInfo {
        name: "v1",
        service: "zone",
        url_env: None,
        example: None,
        method: v1.method,
        path: v1.path,
        op: "v1",
        model: None,
        request: v1.request,
        query_input: false,
        hook: None,
        audit: v1.audit.as_ref().map(|a| a.event),
        status: v1.status,
    }))
}

/// A valid value for a field, within its limits.
pub fn sample(field: &FieldSpec) -> Value {
    let text = |base: &str| {
        let mut s = base.to_string();
        if let Some(max) = field.max_len {
            s.truncate(max);
        }
        while field.min_len.is_some_and(|min| s.chars().count() < min) {
            s.push('x');
        }
        s
    };
    match field.ty {
        FieldType::String => json!(text("sample")),
        FieldType::Integer => match (field.min, field.max) {
            (Some(Bound::Int(min)), _) => json!(min.max(1).min(match field.max {
                Some(Bound::Int(max)) => max,
                _ => i64::MAX,
            })),
            (_, Some(Bound::Int(max))) => json!(max.min(1)),
            _ => json!(1),
        },
        FieldType::Boolean => json!(true),
        FieldType::Decimal => match field.min {
            Some(Bound::Decimal(min)) if min != "0" => json!(min),
            _ => json!("1.00"),
        },
        FieldType::Uuid => json!(uuid::Uuid::new_v4().to_string()),
        FieldType::DateTime => json!("2026-01-01T00:00:00Z"),
        FieldType::Json | FieldType::Object => json!({"sample": true}),
        FieldType::Enum(values) => json!(values[0]),
        FieldType::StringList => json!([text("sample")]),
        FieldType::JsonList => json!([{"sample": true}]),
        FieldType::ModelList(item) => json!([Value::Object(valid_input(item))]),
    }
}

/// A valid request for the model: every field a request may send, keyed by input name.
pub fn valid_input(model: &ModelSpec) -> Map<String, Value> {
    model
        .fields
        .iter()
        .filter(|f| !f.server_set)
        .map(|f| (f.input.to_string(), sample(f)))
        .collect()
}

/// A record as the store would hold it, for routes that need one to exist.
fn sample_record(model: &ModelSpec) -> Map<String, Value> {
    let mut record = Map::new();
    record.insert("id".into(), json!(uuid::Uuid::new_v4().to_string()));
    for f in model.fields.iter().filter(|f| !f.transient) {
        let v = if f.server_set {
            f.default.to_value()
        } else {
            sample(f)
        };
        record.insert(f.name.to_string(), v);
    }
    if model.created_at {
        record.insert("createdAt".into(), json!("2026-01-01T00:00:00.000Z"));
    }
    if model.updated_at {
        record.insert("updatedAt".into(), json!("2026-01-01T00:00:00.000Z"));
    }
    record
}

fn field_spec(model: &ModelSpec, input: &str) -> &'static FieldSpec {
    model
        .fields
        .iter()
        .find(|f| f.input == input)
        .unwrap_or_else(|| panic!("{} has no request field {input}", model.name))
}

/// The request the route needs: its URI (path parameters filled, query input encoded) and
/// body. For updates a record is stored first so that validation is the only thing that fails.
async fn prepare(
    zone: &Zone,
    r: &RouteInfo,
    input: Option<&Map<String, Value>>,
) -> (String, Option<Vec<u8>>) {
    let mut uri = r.path.to_string();
    while let Some(start) = uri.find('{') {
        let end = uri[start..]
            .find('}')
            .map(|e| start + e + 1)
            .unwrap_or(uri.len());
        let id = if r.op == "update" {
            let model = r.model.expect("update has a model");
            let record = sample_record(model);
            let id = record["id"].as_str().unwrap_or_default().to_string();
            zone.state
                .db
                .insert(model.collection.expect("stored"), &id, &record)
                .await
                .expect("seed record");
            id
        } else {
            uuid::Uuid::new_v4().to_string()
        };
        uri.replace_range(start..end, &id);
    }
    match input {
        Some(map) if r.query_input => {
            let pairs: Vec<String> = map
                .iter()
                .map(|(k, v)| {
                    let v = v
                        .as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string());
                    format!("{}={}", encode(k), encode(&v))
                })
                .collect();
            (format!("{uri}?{}", pairs.join("&")), None)
        }
        Some(map) => (uri, Some(serde_json::to_vec(map).expect("json"))),
        None if r.method == "POST" || r.method == "PUT" => (uri, Some(b"{}".to_vec())),
        None => (uri, None),
    }
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn assert_error_shape(what: &str, status: u16, body: &Value) {
    let error = body
        .get("error")
        .and_then(Value::as_object)
        .unwrap_or_else(|| {
            panic!("{what}: answered {status} without the JSON error shape: {body}")
        });
    assert!(
        error.get("code").and_then(Value::as_str).is_some(),
        "{what}: no error.code in {body}"
    );
    assert!(
        error.get("message").and_then(Value::as_str).is_some(),
        "{what}: no error.message in {body}"
    );
    for key in error.keys() {
        assert!(
            ["code", "message", "details"].contains(&key.as_str()),
            "{what}: unexpected key {key} in {body}"
        );
    }
}

/// Sends the broken request and asserts: the expected status, the error shape, the field named
/// in the details, and nothing written.
async fn expect_rejected(
    method: &str,
    path: &str,
    check: &str,
    field: Option<&str>,
    expected_status: u16,
    mutate: impl FnOnce(&ModelSpec, &mut Map<String, Value>) -> Option<Vec<u8>>,
) {
    let zone = Zone::new().await;
    let r = route(method, path);
    let model = r.request.expect("the route takes a request");
    let mut input = valid_input(model);
    let raw = mutate(model, &mut input);
    let (uri, body) = prepare(&zone, r, Some(&input)).await;
    let body = raw.or(body);
    let before = zone.snapshot().await;
    let (status, answer) = zone.send(method, &uri, body).await;
    let what = format!("{method} {path} ({check})");
    assert_eq!(status, expected_status, "{what}: answered {answer}");
    assert_error_shape(&what, status, &answer);
    if let Some(field) = field {
        let named = answer["error"]["details"].as_array().is_some_and(|d| {
            d.iter().any(|e| {
                e["field"]
                    .as_str()
                    .is_some_and(|f| f == field || f.starts_with(&format!("{field}[")))
            })
        });
        assert!(named, "{what}: the details do not name {field}: {answer}");
    }
    assert_eq!(zone.snapshot().await, before, "{what}: the store changed");
}

pub async fn rejects_malformed_json(method: &str, path: &str, _field: Option<&str>) {
    expect_rejected(method, path, "malformed JSON", None, 400, |_, _| {
        Some(b"{\"name\": ".to_vec())
    })
    .await;
}

pub async fn rejects_non_object_body(method: &str, path: &str, _field: Option<&str>) {
    expect_rejected(
        method,
        path,
        "non-object body",
        Some("body"),
        422,
        |_, _| Some(b"[1, 2]".to_vec()),
    )
    .await;
}

pub async fn rejects_unknown_field(method: &str, path: &str, _field: Option<&str>) {
    expect_rejected(
        method,
        path,
        "unknown field",
        Some("zzNotAField"),
        422,
        |_, input| {
            input.insert("zzNotAField".into(), json!("x"));
            None
        },
    )
    .await;
}

pub async fn rejects_missing_required(method: &str, path: &str, field: Option<&str>) {
    let field = field.expect("a field");
    expect_rejected(
        method,
        path,
        "missing required field",
        Some(field),
        422,
        |_, input| {
            input.remove(field);
            None
        },
    )
    .await;
}

pub async fn rejects_wrong_type(method: &str, path: &str, field: Option<&str>) {
    let field = field.expect("a field");
    expect_rejected(
        method,
        path,
        "wrong type",
        Some(field),
        422,
        |model, input| {
            let wrong = match field_spec(model, field).ty {
                FieldType::String | FieldType::Uuid | FieldType::DateTime | FieldType::Enum(_) => {
                    json!(12345)
                }
                FieldType::Decimal => json!(12.5),
                FieldType::Integer => json!("twelve"),
                FieldType::Boolean => json!("yes"),
                FieldType::Object
                | FieldType::StringList
                | FieldType::JsonList
                | FieldType::ModelList(_) => {
                    json!("not a container")
                }
                FieldType::Json => unreachable!("any JSON is the right type"),
            };
            input.insert(field.into(), wrong);
            None
        },
    )
    .await;
}

pub async fn rejects_overlong(method: &str, path: &str, field: Option<&str>) {
    let field = field.expect("a field");
    expect_rejected(
        method,
        path,
        "over-long string",
        Some(field),
        422,
        |model, input| {
            let spec = field_spec(model, field);
            let long = "x".repeat(spec.max_len.expect("max_len") + 1);
            let value = match spec.ty {
                FieldType::StringList => json!([long]),
                _ => json!(long),
            };
            input.insert(field.into(), value);
            None
        },
    )
    .await;
}

pub async fn rejects_bad_enum(method: &str, path: &str, field: Option<&str>) {
    let field = field.expect("a field");
    expect_rejected(
        method,
        path,
        "bad enum value",
        Some(field),
        422,
        |_, input| {
            input.insert(field.into(), json!("NOT_ONE_OF_THE_VALUES"));
            None
        },
    )
    .await;
}

pub async fn rejects_bad_format(method: &str, path: &str, field: Option<&str>) {
    let field = field.expect("a field");
    expect_rejected(
        method,
        path,
        "bad format",
        Some(field),
        422,
        |model, input| {
            let bad = match field_spec(model, field).ty {
                FieldType::Uuid => "not-a-uuid",
                FieldType::Decimal => "12,50",
                _ => "yesterday at noon",
            };
            input.insert(field.into(), json!(bad));
            None
        },
    )
    .await;
}

/// Every route is mounted and answers either its declared status or a JSON error (a valid
/// request may still miss a referenced record, e.g. an account's treasury).
pub async fn answers_as_declared(method: &str, path: &str, _field: Option<&str>) {
    let zone = Zone::new().await;
    let r = route(method, path);
    let input = r.request.map(valid_input);
    let (uri, body) = prepare(&zone, r, input.as_ref()).await;
    let (status, answer) = zone.send(method, &uri, body).await;
    let what = format!("{method} {path}");
    if status != r.status {
        assert_error_shape(&what, status, &answer);
        assert!(
            [404, 409, 422].contains(&status),
            "{what}: answered {status} {answer}, declared {}",
            r.status
        );
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(
            !message.starts_with("no route for"),
            "{what} is not mounted: {answer}"
        );
    }
}

/// Create, read back, list, update and delete through the model's own routes.
pub async fn round_trips(method: &str, path: &str, _field: Option<&str>) {
    let zone = Zone::new().await;
    let create = route(method, path);
    let model = create.model.expect("a stored model");
    let same = |op: &str| {
        mez_api::surface::ROUTES
            .iter()
            .find(|r| r.op == op && r.model.is_some_and(|m| std::ptr::eq(m, model)))
    };
    let input = valid_input(model);
    let (uri, body) = prepare(&zone, create, Some(&input)).await;
    let (status, created) = zone.send(method, &uri, body).await;
    assert_eq!(status, create.status, "{method} {path}: {created}");
    let id = created["id"].as_str().expect("an id").to_string();
    for f in model
        .fields
        .iter()
        .filter(|f| !f.server_set && !f.transient)
    {
        assert_eq!(
            created[f.name], input[f.input],
            "{} was not stored as sent",
            f.name
        );
    }
    let at = |r: &RouteInfo| r.path.replace("{id}", &id);
    if let Some(get) = same("get") {
        let (status, read) = zone.send("GET", &at(get), None).await;
        assert_eq!((status, &read), (200, &created), "read back differs");
    }
    if let Some(list) = same("list") {
        let (status, all) = zone.send("GET", list.path, None).await;
        assert_eq!(status, 200);
        assert!(
            all.as_array().is_some_and(|a| a.contains(&created)),
            "not listed: {all}"
        );
    }
    let mut current = created.clone();
    if let Some(update) = same("update") {
        let field = model
            .fields
            .iter()
            .find(|f| !f.server_set && !f.transient && !f.required && f.ty != FieldType::Json)
            .or_else(|| model.fields.iter().find(|f| !f.server_set && !f.transient));
        if let Some(f) = field {
            let changed = match f.ty {
                FieldType::Enum(values) => json!(values[values.len() - 1]),
                FieldType::String => json!(
                    sample(f)
                        .as_str()
                        .unwrap_or("x")
                        .chars()
                        .rev()
                        .collect::<String>()
                        + "2"
                ),
                _ => sample(f),
            };
            let patch = json!({ f.input: changed.clone() });
            let (status, updated) = zone
                .send(
                    "PUT",
                    &at(update),
                    Some(serde_json::to_vec(&patch).expect("json")),
                )
                .await;
            assert_eq!(status, update.status, "update answered {updated}");
            assert_eq!(updated[f.name], changed);
            for (k, v) in current.as_object().expect("object") {
                if k != f.name && k != "updatedAt" {
                    assert_eq!(&updated[k], v, "update touched {k}");
                }
            }
            current = updated;
        }
    }
    if let Some(get) = same("get") {
        let (_, read) = zone.send("GET", &at(get), None).await;
        assert_eq!(read, current, "the stored record is not the last answer");
    }
    if let Some(delete) = same("delete") {
        let (status, _) = zone.send("DELETE", &at(delete), None).await;
        assert_eq!(status, delete.status);
        if let Some(get) = same("get") {
            let (status, body) = zone.send("GET", &at(get), None).await;
            assert_eq!(status, 404, "deleted record still readable: {body}");
        }
    }
}
