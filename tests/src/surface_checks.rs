// SPDX-License-Identifier: BUSL-1.1
//! The checks behind the spec-derived test suite (`mez_macros::surface_tests!`).
//!
//! The macro writes one `#[tokio::test]` per (route, check, field) the spec implies; each calls
//! one function here with the route's method, path and field. The function finds the route in
//! the product's own generated route table (`mez_api::surface::ROUTES`), builds a valid request
//! from the route's model (and, where the route needs records to exist, from its spec example,
//! whose `$resource` placeholders are made by running the `/v1` writes that create them), shows
//! once per route that this base request is accepted and stored (`accepts_base_request`),
//! breaks it in the one way each other check names, sends it through the product's `app()`
//! against a fresh database (SQLite, or PostgreSQL when `MEZ_GENERATED_SUITES_BACKEND` says
//! so), and asserts the answer and that nothing was written.

use mez_api::runtime::model::{Bound, FieldSpec, FieldType, IdCheck, ModelSpec, RouteInfo};
use serde_json::{Map, Value, json};

use crate::TestDb;

/// A fresh sovereign zone, in-process, over its own database.
struct Zone {
    zone: crate::InProcessZone,
    state: mez_api::state::AppState,
    _db: TestDb,
}

impl Zone {
    async fn new() -> Self {
        let db = TestDb::for_generated_suites("surface check").await;
        let zone = crate::InProcessZone::start(&db, true).await;
        Self {
            state: zone.state.clone(),
            zone,
            _db: db,
        }
    }

    /// Sends one request through the product's router; answers (status, JSON body or Null).
    async fn send(&self, method: &str, uri: &str, body: Option<Vec<u8>>) -> (u16, Value) {
        self.zone.send(method, uri, body).await
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
        example: v1.example,
        method: v1.method,
        path: v1.path,
        op: "v1",
        model: None,
        request: v1.request,
        query_input: false,
        hook: None,
        audit: v1.audit.as_ref().map(|a| a.event),
        status: v1.status,
        fires: v1.fires,
        access: v1.access,
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
        // A document number has its format (a province-coded CNIC, a 7-digit NTN).
        FieldType::String => match field.id_check {
            Some(IdCheck::Cnic) => json!("42101-1234567-1"),
            Some(IdCheck::Ntn) => json!("1234567"),
            None => json!(text("sample")),
        },
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
        FieldType::StringList => items(field, || json!(text("sample"))),
        FieldType::JsonList => items(field, || json!({"sample": true})),
        FieldType::ModelList(item) => items(field, || Value::Object(valid_input(item))),
    }
}

/// A list of at least one and at least `min_items` items.
fn items(field: &FieldSpec, item: impl Fn() -> Value) -> Value {
    let n = field.min_items.unwrap_or(1).max(1);
    Value::Array((0..n).map(|_| item()).collect())
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

/// The base request of a route: its path with the parameters filled in, and a valid input.
///
/// The input is [`valid_input`] of the route's request model with the spec example's fields
/// laid over it, the example's `$resource` placeholders made first through this zone's own
/// `/v1` writes, so that a route whose request must name existing records (an account's
/// treasury, a payment's account) has them. A path parameter comes from the example, or for an
/// update a sample record stored first (so that validation is the only thing that can fail),
/// or a fresh id.
async fn base_request(zone: &Zone, r: &RouteInfo) -> (String, Map<String, Value>) {
    let mut example = match r.example {
        Some(text) => {
            match resolve(zone, serde_json::from_str(text).expect("examples are JSON")).await {
                Value::Object(map) => map,
                other => panic!(
                    "{} {}: the example is not an object: {other}",
                    r.method, r.path
                ),
            }
        }
        None => Map::new(),
    };
    let mut uri = r.path.to_string();
    while let Some(start) = uri.find('{') {
        let end = uri[start..]
            .find('}')
            .map(|e| start + e + 1)
            .unwrap_or(uri.len());
        let name = uri[start + 1..end - 1].to_string();
        let id = if let Some(value) = example.remove(&name) {
            value
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| value.to_string())
        } else if r.op == "update" {
            let model = r.model.expect("update has a model");
            let record = sample_record(model);
            let id = record["id"].as_str().unwrap_or_default().to_string();
            // Seeded through the zone's own commit path (with an audit event of its own), as
            // every write of the zone is.
            let unit = mez_api::audit::WriteUnit {
                ops: vec![mez_api::audit::RecordOp::Insert {
                    collection: model.collection.expect("stored").to_string(),
                    id: id.clone(),
                    record,
                }],
                audit: mez_api::audit::AuditDraft {
                    event_type: "test.seeded".into(),
                    actor: "surface-checks".into(),
                    resource_type: "test".into(),
                    resource_id: id.clone(),
                    action: "seed".into(),
                    metadata: json!({}),
                },
            };
            zone.state.audit.commit(unit).await.expect("seed record");
            id
        } else {
            uuid::Uuid::new_v4().to_string()
        };
        uri.replace_range(start..end, &id);
    }
    let mut input = r.request.map(valid_input).unwrap_or_default();
    if r.hook.is_some() {
        // A hook reads free-form JSON by its own rules, which a `{"sample": true}` item does
        // not meet; the example says what such a route's JSON fields hold.
        if let Some(model) = r.request {
            for f in model.fields.iter().filter(|f| !f.required) {
                if matches!(f.ty, FieldType::Json | FieldType::JsonList) {
                    input.remove(f.input);
                }
            }
        }
    }
    input.extend(example);
    (uri, input)
}

/// Replaces every `$resource` / `$resource.field` string with the id (or field) of a record
/// made by running, through the zone, the example of the `/v1` write that creates it.
async fn resolve(zone: &Zone, value: Value) -> Value {
    match value {
        Value::String(s) if s.starts_with('$') => {
            let (name, field) = match s[1..].split_once('.') {
                Some((n, f)) => (n, Some(f)),
                None => (&s[1..], None),
            };
            let route = mez_api::surface::V1_ROUTES
                .iter()
                .find(|r| {
                    r.method == "POST" && r.audit.as_ref().is_some_and(|a| a.resource == name)
                })
                .unwrap_or_else(|| panic!("no /v1 write creates a {name}"));
            let example = route
                .example
                .map(|e| serde_json::from_str(e).expect("examples are JSON"))
                .unwrap_or_else(|| json!({}));
            let example = Box::pin(resolve(zone, example)).await;
            let (path, body) = crate::parity::fill(route.path, example);
            let body = serde_json::to_vec(&Value::Object(body)).expect("json");
            let (status, answer) = zone.send(route.method, &path, Some(body)).await;
            assert_eq!(status, route.status, "making a {name} failed: {answer}");
            let record = &answer["mass_response"];
            let value = match field {
                Some(f) => record[f].clone(),
                None => ["id", "identity_id"]
                    .iter()
                    .find_map(|k| record.get(*k).filter(|v| v.is_string()).cloned())
                    .unwrap_or(Value::Null),
            };
            assert!(!value.is_null(), "{s} resolved to nothing in {record}");
            value
        }
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                out.push(Box::pin(resolve(zone, item)).await);
            }
            Value::Array(out)
        }
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                out.insert(k, Box::pin(resolve(zone, v)).await);
            }
            Value::Object(out)
        }
        other => other,
    }
}

/// The URI and body that carry `input` to the route: a query string for query-input creates,
/// else a JSON body for writes.
fn encode_request(
    r: &RouteInfo,
    uri: &str,
    input: Option<&Map<String, Value>>,
) -> (String, Option<Vec<u8>>) {
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
        Some(map) => (
            uri.to_string(),
            Some(serde_json::to_vec(map).expect("json")),
        ),
        None if r.method == "POST" || r.method == "PUT" => (uri.to_string(), Some(b"{}".to_vec())),
        None => (uri.to_string(), None),
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
    let (uri, mut input) = base_request(&zone, r).await;
    let raw = mutate(model, &mut input);
    let (uri, body) = encode_request(r, &uri, Some(&input));
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

/// The base request of a write is accepted with its declared status, and something is stored
/// (an audited write appends its event; a create stores the record it answers). Every
/// rejection check of the route breaks this same request, so they cannot pass on a request
/// that was never valid.
pub async fn accepts_base_request(method: &str, path: &str, _field: Option<&str>) {
    let zone = Zone::new().await;
    let r = route(method, path);
    let (uri, input) = base_request(&zone, r).await;
    let (uri, body) = encode_request(r, &uri, Some(&input));
    let before = zone.snapshot().await;
    let (status, answer) = zone.send(method, &uri, body).await;
    let what = format!("{method} {path} (base request)");
    assert_eq!(status, r.status, "{what}: answered {answer}");
    let after = zone.snapshot().await;
    if r.audit.is_some() {
        assert_ne!(after, before, "{what}: an audited write stored nothing");
        assert_ne!(
            after.first(),
            before.first(),
            "{what}: no audit event was appended"
        );
    }
    if r.op == "create" || r.op == "update" {
        let model = r.model.expect("a stored model");
        let id = answer["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{what}: the answer has no id: {answer}"));
        let stored = zone
            .state
            .db
            .get(model.collection.expect("stored"), id)
            .await
            .expect("read back")
            .unwrap_or_else(|| panic!("{what}: record {id} was not stored"));
        assert_eq!(Value::Object(stored), answer, "{what}: stored != answered");
    }
}

/// Every route is mounted and answers either its declared status or a JSON error (a valid
/// request may still miss a referenced record, e.g. an account's treasury).
pub async fn answers_as_declared(method: &str, path: &str, _field: Option<&str>) {
    let zone = Zone::new().await;
    let r = route(method, path);
    let (uri, input) = base_request(&zone, r).await;
    let (uri, body) = encode_request(r, &uri, r.request.is_some().then_some(&input));
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

pub async fn rejects_too_short(method: &str, path: &str, field: Option<&str>) {
    let field = field.expect("a field");
    expect_rejected(
        method,
        path,
        "too-short string",
        Some(field),
        422,
        |model, input| {
            let spec = field_spec(model, field);
            let min = spec.min_len.expect("min_len");
            // One character short; a field that trims is sent blanks, which trim to nothing.
            let short = if spec.trim && min == 1 {
                "   ".to_string()
            } else {
                "x".repeat(min - 1)
            };
            let value = match spec.ty {
                FieldType::StringList => json!([short]),
                _ => json!(short),
            };
            input.insert(field.into(), value);
            None
        },
    )
    .await;
}

/// A value one unit beyond a numeric bound: `below` the minimum or above the maximum.
pub fn beyond(field: &FieldSpec, below: bool) -> Value {
    let bound = if below { field.min } else { field.max };
    match bound.expect("a bound") {
        Bound::Int(b) => json!(if below { b - 1 } else { b + 1 }),
        Bound::Decimal(b) => {
            let b = rust_decimal::Decimal::from_str_exact(b).expect("a decimal bound");
            let step = rust_decimal::Decimal::new(1, b.scale().max(2));
            json!(if below { b - step } else { b + step }.to_string())
        }
    }
}

pub async fn rejects_below_min(method: &str, path: &str, field: Option<&str>) {
    let field = field.expect("a field");
    expect_rejected(
        method,
        path,
        "below minimum",
        Some(field),
        422,
        |model, input| {
            input.insert(field.into(), beyond(field_spec(model, field), true));
            None
        },
    )
    .await;
}

pub async fn rejects_above_max(method: &str, path: &str, field: Option<&str>) {
    let field = field.expect("a field");
    expect_rejected(
        method,
        path,
        "above maximum",
        Some(field),
        422,
        |model, input| {
            input.insert(field.into(), beyond(field_spec(model, field), false));
            None
        },
    )
    .await;
}

/// A list of `n` copies of the first item of `input[field]`, or of a sample item.
fn resized(spec: &FieldSpec, input: &Map<String, Value>, n: usize) -> Value {
    let item = input
        .get(spec.input)
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .cloned()
        .or_else(|| sample(spec).as_array().and_then(|a| a.first()).cloned())
        .unwrap_or_else(|| panic!("{} is not a list", spec.input));
    Value::Array(vec![item; n])
}

pub async fn rejects_too_few_items(method: &str, path: &str, field: Option<&str>) {
    let field = field.expect("a field");
    expect_rejected(
        method,
        path,
        "too few items",
        Some(field),
        422,
        |model, input| {
            let spec = field_spec(model, field);
            let fewer = resized(spec, input, spec.min_items.expect("min_items") - 1);
            input.insert(field.into(), fewer);
            None
        },
    )
    .await;
}

pub async fn rejects_too_many_items(method: &str, path: &str, field: Option<&str>) {
    let field = field.expect("a field");
    expect_rejected(
        method,
        path,
        "too many items",
        Some(field),
        422,
        |model, input| {
            let spec = field_spec(model, field);
            let more = resized(spec, input, spec.max_items.expect("max_items") + 1);
            input.insert(field.into(), more);
            None
        },
    )
    .await;
}

/// A server-set field sent by its record name is refused.
pub async fn rejects_server_set(method: &str, path: &str, field: Option<&str>) {
    let field = field.expect("a field");
    expect_rejected(
        method,
        path,
        "server-set field sent",
        Some(field),
        422,
        |model, input| {
            let spec = model
                .fields
                .iter()
                .find(|f| f.name == field)
                .unwrap_or_else(|| panic!("{} has no field {field}", model.name));
            input.insert(field.into(), sample(spec));
            None
        },
    )
    .await;
}

/// A second record with a unique field's value already stored is refused (409), and only the
/// first is kept.
pub async fn rejects_duplicate(method: &str, path: &str, field: Option<&str>) {
    let field = field.expect("a field");
    let zone = Zone::new().await;
    let r = route(method, path);
    let (uri, input) = base_request(&zone, r).await;
    let (uri, body) = encode_request(r, &uri, Some(&input));
    let (status, first) = zone.send(method, &uri, body.clone()).await;
    assert_eq!(
        status, r.status,
        "{method} {path}: the first answered {first}"
    );
    let before = zone.snapshot().await;
    let (status, answer) = zone.send(method, &uri, body).await;
    let what = format!("{method} {path} (duplicate {field})");
    assert_eq!(status, 409, "{what}: answered {answer}");
    assert_error_shape(&what, status, &answer);
    assert_eq!(zone.snapshot().await, before, "{what}: the store changed");
}

/// Runs exactly the operations `ops` (comma-separated, as the spec declares them for the
/// create's model) through the model's own routes: create, read back, list, list by a path
/// field, get by a path field, search, update, transition, delete. Fails when the product
/// declares other operations for the model, or cannot run one.
pub async fn round_trips(method: &str, path: &str, ops: Option<&str>) {
    let expected: Vec<&str> = ops.expect("the operations").split(',').collect();
    let zone = Zone::new().await;
    let create = route(method, path);
    let model = create.model.expect("a stored model");
    let routes: Vec<&RouteInfo> = mez_api::surface::ROUTES
        .iter()
        .filter(|r| r.model.is_some_and(|m| std::ptr::eq(m, model)))
        .collect();
    let mut served: Vec<&str> = routes.iter().map(|r| r.op).collect();
    served.sort_unstable();
    served.dedup();
    let mut declared = expected.clone();
    declared.sort_unstable();
    assert_eq!(
        served, declared,
        "{}: the product serves other operations than the spec declares",
        model.name
    );
    let same = |op: &str| -> &RouteInfo {
        routes
            .iter()
            .find(|r| r.op == op)
            .unwrap_or_else(|| panic!("{}: no {op} route", model.name))
    };
    let (uri, input) = base_request(&zone, create).await;
    let (uri, body) = encode_request(create, &uri, Some(&input));
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
    // A route's path with `{id}` and every other parameter taken from the record.
    let at = |r: &RouteInfo, record: &Value| {
        let mut uri = r.path.to_string();
        while let Some(start) = uri.find('{') {
            let end = uri[start..]
                .find('}')
                .map(|e| start + e + 1)
                .unwrap_or(uri.len());
            let name = &uri[start + 1..end - 1];
            let value = record[name]
                .as_str()
                .unwrap_or_else(|| panic!("{}: the record has no {name}", r.path))
                .to_string();
            uri.replace_range(start..end, &value);
        }
        uri
    };
    let listed = |answer: &Value, record: &Value| {
        let items = match answer {
            Value::Object(page) => page.get("content").cloned().unwrap_or(Value::Null),
            other => other.clone(),
        };
        items.as_array().is_some_and(|a| a.contains(record))
    };
    let mut current = created.clone();
    let mut ran = vec!["create"];
    for &op in &expected[1..] {
        let r = same(op);
        let what = format!("{} {} ({op})", r.method, r.path);
        match op {
            "get" | "get_by" => {
                let (status, read) = zone.send("GET", &at(r, &current), None).await;
                assert_eq!(
                    (status, &read),
                    (200, &current),
                    "{what}: read back differs"
                );
            }
            "list" | "list_by" => {
                let (status, all) = zone.send("GET", &at(r, &current), None).await;
                assert_eq!(status, 200, "{what}: {all}");
                assert!(listed(&all, &current), "{what}: not listed: {all}");
            }
            "search" => {
                let (status, found) = zone.send("POST", r.path, Some(b"{}".to_vec())).await;
                assert_eq!(status, 200, "{what}: {found}");
                assert!(listed(&found, &current), "{what}: not found: {found}");
            }
            "update" => current = update_step(&zone, model, r, &at(r, &current), &current).await,
            "transition" => {
                let uri = at(r, &current);
                let (status, answer) = zone.send(r.method, &uri, None).await;
                assert_eq!(status, r.status, "{what}: {answer}");
                let stored = zone
                    .state
                    .db
                    .get(model.collection.expect("stored"), &id)
                    .await
                    .expect("read")
                    .map(Value::Object)
                    .expect("the record is still there");
                assert_ne!(stored, current, "{what}: the record did not move");
                // It left the states the transition starts from, so a second one conflicts.
                let (status, again) = zone.send(r.method, &uri, None).await;
                assert_eq!(status, 409, "{what} twice: {again}");
                current = stored;
            }
            "delete" => {
                let (status, answer) = zone.send("DELETE", &at(r, &current), None).await;
                assert_eq!(status, r.status, "{what}: {answer}");
                let gone = zone
                    .state
                    .db
                    .get(model.collection.expect("stored"), &id)
                    .await
                    .expect("read");
                assert!(gone.is_none(), "{what}: the record is still stored");
                if expected.contains(&"get") {
                    let (status, body) = zone.send("GET", &at(same("get"), &current), None).await;
                    assert_eq!(status, 404, "deleted record still readable: {body}");
                }
            }
            other => panic!("round_trips has no step for op {other}"),
        }
        if expected.contains(&"get") && op != "delete" {
            let (_, read) = zone.send("GET", &at(same("get"), &current), None).await;
            assert_eq!(
                read, current,
                "after {op}: the stored record is not the last answer"
            );
        }
        ran.push(op);
    }
    assert_eq!(ran, expected, "{}: not every step ran", model.name);
}

/// Changes one field through the update route and checks that only it (and `updatedAt`)
/// changed; answers the updated record.
async fn update_step(
    zone: &Zone,
    model: &ModelSpec,
    update: &RouteInfo,
    uri: &str,
    current: &Value,
) -> Value {
    let f = model
        .fields
        .iter()
        .find(|f| !f.server_set && !f.transient && !f.required && f.ty != FieldType::Json)
        .or_else(|| model.fields.iter().find(|f| !f.server_set && !f.transient))
        .unwrap_or_else(|| panic!("{}: no field an update can change", model.name));
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
        FieldType::Boolean => json!(!current[f.name].as_bool().unwrap_or(false)),
        _ => sample(f),
    };
    assert_ne!(
        current[f.name], changed,
        "{}: the update would not change {}",
        model.name, f.name
    );
    let patch = json!({ f.input: changed.clone() });
    let (status, updated) = zone
        .send("PUT", uri, Some(serde_json::to_vec(&patch).expect("json")))
        .await;
    assert_eq!(status, update.status, "update answered {updated}");
    assert_eq!(updated[f.name], changed);
    for (k, v) in current.as_object().expect("object") {
        if k != f.name && k != "updatedAt" {
            assert_eq!(&updated[k], v, "update touched {k}");
        }
    }
    updated
}
