// SPDX-License-Identifier: BUSL-1.1
//! The route operations, written once for every model.
//!
//! Each generated handler extracts its request and calls one of these with the model's
//! static spec. The database is the source of truth: every operation reads and writes
//! through [`crate::db::Db`], and nothing is cached in memory.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::model::{DefaultValue, FieldSpec, FieldType, ModelSpec};
use super::plan::Plan;
use super::validate::{Mode, validate};
use crate::auth::scope;
use crate::clock::now_rfc3339;
use crate::db::{Query, Record};
use crate::error::{ApiError, ConflictKind, FieldError};
use crate::state::AppState;

/// Default and largest page sizes of list routes.
pub const DEFAULT_PAGE_SIZE: u64 = 100;
pub const MAX_PAGE_SIZE: u64 = 1000;

/// A status code from the spec (checked to be 2xx by the front end).
pub fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::OK)
}

/// A JSON response.
pub fn json(code: u16, value: Value) -> Response {
    (status(code), axum::Json(value)).into_response()
}

/// An empty response.
pub fn empty(code: u16) -> Response {
    status(code).into_response()
}

/// A query string as a JSON object of strings, for creates that take their input there.
pub fn query_object(query: BTreeMap<String, String>) -> Value {
    Value::Object(
        query
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect(),
    )
}

/// Validates a request model's body; the result is keyed by the request's own names.
pub fn request(model: &ModelSpec, body: Value) -> Result<Record, ApiError> {
    validate(model, body, Mode::Request)
}

/// Builds a new record from a create request: a fresh id, the checked fields in spec order
/// (transient ones dropped), any extra keys of an open model, then the timestamps.
pub fn new_record(model: &ModelSpec, input: Value) -> Result<Record, ApiError> {
    let fields = validate(model, input, Mode::Create)?;
    let mut record = Map::new();
    record.insert("id".into(), Value::String(uuid::Uuid::new_v4().to_string()));
    for (key, value) in fields {
        let transient = model.field(&key).is_some_and(|f| f.transient);
        if !transient {
            record.insert(key, value);
        }
    }
    let now = now_rfc3339();
    if model.created_at {
        record.insert("createdAt".into(), Value::String(now.clone()));
    }
    if model.updated_at {
        record.insert("updatedAt".into(), Value::String(now));
    }
    Ok(record)
}

/// The collection holding one guard record per value of a unique field, so that the commit
/// itself refuses a second record with the same value (a duplicate guard insert fails the
/// whole unit), whichever replica or request races to write it.
pub const UNIQUE_KEYS: &str = "unique_keys";

/// The guard ids of a record's unique field values.
fn guards(model: &ModelSpec, record: &Record) -> Result<Vec<String>, ApiError> {
    let collection = model.collection()?;
    Ok(model
        .fields
        .iter()
        .filter(|f| f.unique)
        .filter_map(|f| {
            record
                .get(f.name)
                .and_then(Value::as_str)
                .map(|v| format!("{collection}/{}/{v}", f.name))
        })
        .collect())
}

fn plan_guard(plan: &mut Plan, guard: String, record_id: &str) {
    let mut body = Map::new();
    body.insert("recordId".into(), json!(record_id));
    let keep = plan.resource_id.clone();
    plan.insert(UNIQUE_KEYS, &guard, body);
    plan.resource_id = keep.or_else(|| Some(record_id.to_string()));
}

/// Plans the insertion of a new record and answers with it.
pub fn insert(plan: &mut Plan, model: &ModelSpec, record: Record) -> Result<Value, ApiError> {
    let id = record
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::internal("record without an id"))?
        .to_string();
    plan.insert(model.collection()?, &id, record.clone());
    for guard in guards(model, &record)? {
        plan_guard(plan, guard, &id);
    }
    Ok(Value::Object(record))
}

fn not_found(model: &ModelSpec, id: &str) -> ApiError {
    ApiError::NotFound(format!("{} {id} not found", model.name))
}

pub async fn get(
    state: &AppState,
    plan: &Plan,
    model: &ModelSpec,
    id: &str,
) -> Result<Value, ApiError> {
    let collection = model.collection()?;
    match plan.get(&state.db, collection, id).await? {
        Some(record) if scope::visible(collection, &record) => Ok(Value::Object(record)),
        _ => Err(not_found(model, id)),
    }
}

/// Reads a record with its version, or answers 404.
async fn read_for_change(
    state: &AppState,
    plan: &Plan,
    model: &ModelSpec,
    id: &str,
) -> Result<(Record, i64), ApiError> {
    let collection = model.collection()?;
    plan.get_versioned(&state.db, collection, id)
        .await?
        .filter(|(record, _)| scope::visible(collection, record))
        .ok_or_else(|| not_found(model, id))
}

/// Plans a partial update: present fields replace stored ones, absent ones stay untouched.
pub async fn update(
    state: &AppState,
    plan: &mut Plan,
    model: &ModelSpec,
    id: &str,
    body: Value,
) -> Result<Value, ApiError> {
    let patch = validate(model, body, Mode::Update)?;
    let (mut record, version) = read_for_change(state, plan, model, id).await?;
    let before = guards(model, &record)?;
    for (key, value) in patch {
        record.insert(key, value);
    }
    let after = guards(model, &record)?;
    for gone in before.iter().filter(|g| !after.contains(g)) {
        plan.delete(UNIQUE_KEYS, gone);
    }
    for new in after.into_iter().filter(|g| !before.contains(g)) {
        plan_guard(plan, new, id);
    }
    if model.updated_at {
        record.insert("updatedAt".into(), Value::String(now_rfc3339()));
    }
    plan.replace(model.collection()?, id, record.clone(), version);
    Ok(Value::Object(record))
}

/// Plans the deletion of a record; answers with no body.
pub async fn delete(
    state: &AppState,
    plan: &mut Plan,
    model: &ModelSpec,
    id: &str,
) -> Result<Value, ApiError> {
    let (record, _) = read_for_change(state, plan, model, id).await?;
    plan.delete(model.collection()?, id);
    for guard in guards(model, &record)? {
        plan.delete(UNIQUE_KEYS, &guard);
    }
    Ok(Value::Null)
}

/// Plans moving an enum field to `to`, when it currently holds one of `from` (any state if
/// `from` is empty).
pub async fn transition(
    state: &AppState,
    plan: &mut Plan,
    model: &ModelSpec,
    id: &str,
    field: &str,
    from: &[&str],
    to: &str,
) -> Result<Value, ApiError> {
    let (mut record, version) = read_for_change(state, plan, model, id).await?;
    let current = record
        .get(field)
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !from.is_empty() && !from.contains(&current) {
        return Err(ApiError::conflict(
            ConflictKind::State,
            format!(
                "{} {id} is {current}; only {} can become {to}",
                model.name,
                from.join(" or ")
            ),
        ));
    }
    record.insert(field.to_string(), Value::String(to.to_string()));
    if model.updated_at {
        record.insert("updatedAt".into(), Value::String(now_rfc3339()));
    }
    plan.replace(model.collection()?, id, record.clone(), version);
    Ok(Value::Object(record))
}

/// Reads `page` and `size` from a query string, removing them, and checks them against the
/// same field rules as a search body's (only the default size differs).
fn take_page(query: &mut BTreeMap<String, String>) -> Result<(u64, u64), ApiError> {
    let mut paging = Map::new();
    for key in ["page", "size"] {
        if let Some(text) = query.remove(key) {
            // A number where it parses, so that the integer rule judges it; the text itself
            // otherwise, which the same rule refuses by name.
            let value = text
                .parse::<i64>()
                .map(Value::from)
                .unwrap_or(Value::String(text));
            paging.insert(key.to_string(), value);
        }
    }
    let checked = validate(&LIST_PAGING, Value::Object(paging), Mode::Request)?;
    Ok(page_and_size(&checked, DEFAULT_PAGE_SIZE))
}

/// The checked `page` and `size` of a paged request.
fn page_and_size(checked: &Record, default_size: u64) -> (u64, u64) {
    let page = checked.get("page").and_then(Value::as_u64).unwrap_or(0);
    let size = checked
        .get("size")
        .and_then(Value::as_u64)
        .unwrap_or(default_size)
        .max(1);
    (page, size)
}

fn unknown_params(query: &BTreeMap<String, String>) -> Result<(), ApiError> {
    if query.is_empty() {
        return Ok(());
    }
    Err(ApiError::Validation(
        query
            .keys()
            .map(|k| FieldError::new(k.clone(), "is not a query parameter of this route"))
            .collect(),
    ))
}

fn array(items: Vec<Record>) -> Value {
    Value::Array(items.into_iter().map(Value::Object).collect())
}

/// Lists records in insertion order, optionally restricted to ids and field filters.
pub async fn list(
    state: &AppState,
    plan: &Plan,
    model: &ModelSpec,
    mut query: BTreeMap<String, String>,
    ids_param: Option<&str>,
    filters: &[(&str, &str)],
) -> Result<Value, ApiError> {
    let (page, size) = take_page(&mut query)?;
    let ids: Option<Vec<String>> = ids_param.and_then(|p| query.remove(p)).map(|raw| {
        raw.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    });
    let values: Vec<(&str, String)> = filters
        .iter()
        .filter_map(|(param, field)| query.remove(*param).map(|v| (*field, v)))
        .collect();
    unknown_params(&query)?;
    let collection = model.collection()?;
    let scoped = scope::list_filter(collection);
    let q = Query {
        equals: values
            .iter()
            .map(|(f, v)| (*f, v.as_str()))
            .chain(scoped.as_ref().map(|(f, v)| (*f, v.as_str())))
            .collect(),
        one_of: None,
        ids: ids.as_deref(),
        contains: None,
        offset: page.saturating_mul(size),
        limit: size,
    };
    let found = plan.find(&state.db, collection, &q).await?;
    Ok(array(found))
}

/// Lists records whose fields equal the path parameters.
pub async fn list_by(
    state: &AppState,
    plan: &Plan,
    model: &ModelSpec,
    pairs: &[(&str, &str)],
    mut query: BTreeMap<String, String>,
) -> Result<Value, ApiError> {
    let (page, size) = take_page(&mut query)?;
    unknown_params(&query)?;
    let collection = model.collection()?;
    let scoped = scope::list_filter(collection);
    let q = Query {
        equals: scoped_pairs(pairs, &scoped),
        one_of: None,
        ids: None,
        contains: None,
        offset: page.saturating_mul(size),
        limit: size,
    };
    let found = plan.find(&state.db, collection, &q).await?;
    Ok(array(found))
}

/// A lookup's field equalities with the entity scope's, when the request is confined: a
/// confined caller finds only its own entity's records, and counts only those.
fn scoped_pairs<'a>(
    pairs: &[(&'a str, &'a str)],
    scoped: &'a Option<(&'static str, String)>,
) -> Vec<(&'a str, &'a str)> {
    pairs
        .iter()
        .copied()
        .chain(scoped.as_ref().map(|(f, v)| (*f, v.as_str())))
        .collect()
}

/// The first (earliest stored) record whose fields equal the path parameters.
pub async fn get_by(
    state: &AppState,
    plan: &Plan,
    model: &ModelSpec,
    pairs: &[(&str, &str)],
) -> Result<Value, ApiError> {
    let collection = model.collection()?;
    let scoped = scope::list_filter(collection);
    let q = Query {
        equals: scoped_pairs(pairs, &scoped),
        one_of: None,
        ids: None,
        contains: None,
        offset: 0,
        limit: 1,
    };
    let found = plan.find(&state.db, collection, &q).await?;
    match found.into_iter().next() {
        Some(record) => Ok(Value::Object(record)),
        None => {
            let what: Vec<String> = pairs.iter().map(|(k, v)| format!("{k} {v}")).collect();
            Err(ApiError::NotFound(format!(
                "no {} with {}",
                model.name,
                what.join(" and ")
            )))
        }
    }
}

/// The body of every search route.
/// The page number of a paged request: from 0.
const PAGE_FIELD: FieldSpec = FieldSpec {
    name: "page",
    input: "page",
    ty: FieldType::Integer,
    default: DefaultValue::Int(0),
    min: Some(super::model::Bound::Int(0)),
    ..FieldSpec::BASE
};

/// The page size of a paged request, from 1 to [`MAX_PAGE_SIZE`], `default` when absent.
const fn size_field(default: i64) -> FieldSpec {
    FieldSpec {
        name: "size",
        input: "size",
        ty: FieldType::Integer,
        default: DefaultValue::Int(default),
        min: Some(super::model::Bound::Int(1)),
        max: Some(super::model::Bound::Int(MAX_PAGE_SIZE as i64)),
        ..FieldSpec::BASE
    }
}

/// The default page size of a search body.
const DEFAULT_SEARCH_SIZE: u64 = 10;

static LIST_PAGING_FIELDS: [FieldSpec; 2] = [PAGE_FIELD, size_field(DEFAULT_PAGE_SIZE as i64)];
static LIST_PAGING: ModelSpec = ModelSpec {
    name: "Paging",
    collection: None,
    created_at: false,
    updated_at: false,
    open: false,
    fields: &LIST_PAGING_FIELDS,
};

static SEARCH_FIELDS: [FieldSpec; 3] = [
    FieldSpec {
        name: "query",
        input: "query",
        ty: FieldType::String,
        trim: true,
        max_len: Some(1000),
        default: DefaultValue::Str(""),
        ..FieldSpec::BASE
    },
    PAGE_FIELD,
    size_field(DEFAULT_SEARCH_SIZE as i64),
];
static SEARCH: ModelSpec = ModelSpec {
    name: "SearchRequest",
    collection: None,
    created_at: false,
    updated_at: false,
    open: false,
    fields: &SEARCH_FIELDS,
};

/// Case-insensitive substring search on one field, paged, in insertion order.
pub async fn search(
    state: &AppState,
    model: &ModelSpec,
    field: &str,
    body: Value,
) -> Result<Value, ApiError> {
    let req = validate(&SEARCH, body, Mode::Request)?;
    let text = req.get("query").and_then(Value::as_str).unwrap_or_default();
    let (page, size) = page_and_size(&req, DEFAULT_SEARCH_SIZE);
    let collection = model.collection()?;
    let scoped = scope::list_filter(collection);
    let q = Query {
        equals: scoped_pairs(&[], &scoped),
        one_of: None,
        ids: None,
        contains: (!text.is_empty()).then_some((field, text)),
        offset: page.saturating_mul(size),
        limit: size,
    };
    let found = state.db.list(collection, &q).await?;
    Ok(serde_json::json!({
        "content": array(found.items),
        "totalElements": found.total,
        "totalPages": found.total.div_ceil(size),
        "number": page,
        "size": size,
    }))
}

fn parse_data(text: &str) -> Result<Value, ApiError> {
    serde_json::from_str(text).map_err(|e| ApiError::internal(format!("static data: {e}")))
}

/// A static data document of the spec.
pub fn static_data(text: &str) -> Result<Value, ApiError> {
    parse_data(text)
}

/// The item of a static data list whose `key` equals `id`.
pub fn static_item(text: &str, key: &str, id: &str) -> Result<Value, ApiError> {
    let data = parse_data(text)?;
    data.as_array()
        .and_then(|items| {
            items
                .iter()
                .find(|item| item.get(key).and_then(Value::as_str) == Some(id))
        })
        .cloned()
        .ok_or_else(|| ApiError::NotFound(format!("{id} not found")))
}
