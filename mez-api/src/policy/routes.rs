// SPDX-License-Identifier: BUSL-1.1
//! The policy engine's HTTP surface (behind the bearer token):
//!
//! - `GET /v1/policies`: the policies of `spec/policies.yaml`;
//! - `POST /v1/triggers` `{trigger_type, asset_id?, jurisdiction?, data?}`: a trigger by hand;
//! - `GET /v1/actions[?status=&policy_id=&subject=&offset=&limit=]` (in the order produced),
//!   `GET /v1/actions/{id}`;
//! - `POST /v1/actions/{id}/approve` `{approver}`: one approval of an action awaiting
//!   authorization;
//! - `POST /v1/sanctions/reload`: reload `MEZ_SANCTIONS_FILE` and re-screen the zone.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use serde_json::{Map, Value, json};

use super::{Trigger, actions};
use crate::error::{ApiError, FieldError};
use crate::extract::{JsonBody, QueryMap};
use crate::state::AppState;
use crate::surface::POLICIES;

/// The longest trigger type, jurisdiction, asset id and approver accepted.
const MAX_TEXT: usize = 255;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/policies", get(list_policies))
        .route("/v1/triggers", post(post_trigger))
        .route("/v1/actions", get(list_actions))
        .route("/v1/actions/{id}", get(get_action))
        .route("/v1/actions/{id}/approve", post(approve_action))
        .route("/v1/sanctions/reload", post(reload_sanctions))
}

/// `POST /v1/sanctions/reload` (no body): as SIGHUP does.
async fn reload_sanctions(State(state): State<AppState>) -> Result<axum::Json<Value>, ApiError> {
    Ok(axum::Json(super::reload::reload(&state).await?))
}

async fn list_policies() -> axum::Json<Value> {
    axum::Json(Value::Array(
        POLICIES
            .policies
            .iter()
            .map(super::Policy::to_json)
            .collect(),
    ))
}

/// A string field of a small request body: absent or null is `None`; anything but a string
/// of 1 to [`MAX_TEXT`] characters once trimmed is an error on `key`.
fn text(fields: &Map<String, Value>, key: &str, errors: &mut Vec<FieldError>) -> Option<String> {
    match fields.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.trim().is_empty() && s.trim().chars().count() <= MAX_TEXT => {
            Some(s.trim().to_string())
        }
        Some(_) => {
            errors.push(FieldError::new(
                key,
                format!("must be a non-empty string of at most {MAX_TEXT} characters"),
            ));
            None
        }
    }
}

/// The body as an object, refusing U+0000 anywhere (the store cannot hold it everywhere) and
/// integers beyond 2^53 (the audit trail's canonical JSON cannot hold them exactly).
fn object(body: &Value, what: &str) -> Result<Map<String, Value>, ApiError> {
    let Value::Object(m) = body else {
        return Err(ApiError::field(
            "body",
            format!("must be a JSON object ({what})"),
        ));
    };
    let mut errors = crate::runtime::validate::nul_fields(body, "");
    inexact_integers(body, "", &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    Ok(m.clone())
}

/// Numbers beyond 2^53 in magnitude (the document bounds them so).
fn inexact_integers(value: &Value, path: &str, errors: &mut Vec<FieldError>) {
    const EXACT: u64 = 1 << 53;
    match value {
        Value::Number(n) => {
            let beyond = match (n.as_u64(), n.as_i64(), n.as_f64()) {
                (Some(u), _, _) => u > EXACT,
                (_, Some(i), _) => i.unsigned_abs() > EXACT,
                (_, _, Some(f)) => f.abs() > EXACT as f64,
                _ => true,
            };
            if beyond {
                errors.push(FieldError::new(
                    if path.is_empty() { "body" } else { path },
                    "is a number beyond 2^53 in magnitude, which the audit trail cannot hold exactly; write it as a string",
                ));
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                inexact_integers(item, &format!("{path}[{i}]"), errors);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                let here = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                inexact_integers(item, &here, errors);
            }
        }
        _ => {}
    }
}

fn check_keys(fields: &Map<String, Value>, known: &[&str], errors: &mut Vec<FieldError>) {
    for key in fields.keys() {
        if !known.contains(&key.as_str()) {
            errors.push(FieldError::new(
                key,
                format!("is not a field here (expected: {})", known.join(", ")),
            ));
        }
    }
}

/// The trigger a `POST /v1/triggers` body asks for.
fn parse_trigger(body: &Value) -> Result<Trigger, ApiError> {
    let fields = object(body, "{trigger_type, asset_id?, jurisdiction?, data?}")?;
    let mut errors = Vec::new();
    check_keys(
        &fields,
        &["trigger_type", "asset_id", "jurisdiction", "data"],
        &mut errors,
    );
    let trigger_type = text(&fields, "trigger_type", &mut errors);
    let subject = text(&fields, "asset_id", &mut errors).filter(|s| s != "*");
    let jurisdiction = text(&fields, "jurisdiction", &mut errors);
    let data = match fields.get("data") {
        None | Some(Value::Null) => json!({}),
        Some(v @ Value::Object(_)) => v.clone(),
        Some(_) => {
            errors.push(FieldError::new("data", "must be a JSON object"));
            Value::Null
        }
    };
    match &trigger_type {
        None if !errors.iter().any(|e| e.field == "trigger_type") => {
            errors.push(FieldError::new("trigger_type", "is required"));
        }
        Some(t) if !POLICIES.is_trigger_type(t) => errors.push(FieldError::new(
            "trigger_type",
            format!(
                "unknown trigger type '{t}' (expected one of: {})",
                POLICIES.trigger_types.join(", ")
            ),
        )),
        _ => {}
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    // The entity a trigger is about: its asset id, or else the data's `entity_id`.
    let subject = subject.or_else(|| {
        data.get("entity_id")
            .and_then(Value::as_str)
            .map(str::to_string)
    });
    Ok(Trigger {
        trigger_type: trigger_type.unwrap_or_default(),
        subject,
        jurisdiction,
        data,
    })
}

async fn post_trigger(
    State(state): State<AppState>,
    JsonBody(body): JsonBody,
) -> Result<axum::Json<Value>, ApiError> {
    let trigger = parse_trigger(&body)?;
    let actor = state.zone_did().to_string();
    let produced = actions::receive(&state, &trigger, &actor).await?;
    Ok(axum::Json(json!({
        "trigger_type": trigger.trigger_type,
        "subject": trigger.subject,
        "actions_produced": produced.len(),
        "actions": produced.iter().map(actions::brief).collect::<Vec<_>>(),
    })))
}

async fn list_actions(
    State(state): State<AppState>,
    QueryMap(query): QueryMap,
) -> Result<axum::Json<Value>, ApiError> {
    let (offset, limit, filters) =
        crate::zone_routes::paging(query, &["status", "policy_id", "subject"])?;
    let items = actions::list(
        &state,
        actions::Filter {
            status: filters.get("status").map(String::as_str),
            policy_id: filters.get("policy_id").map(String::as_str),
            subject: filters.get("subject").map(String::as_str),
        },
        offset,
        limit,
    )
    .await?;
    Ok(axum::Json(Value::Array(
        items.iter().map(actions::to_json).collect(),
    )))
}

async fn get_action(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    let action = state
        .db
        .get(actions::ACTIONS, &id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("action {id} not found")))?;
    Ok(axum::Json(actions::to_json(&action)))
}

async fn approve_action(
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<axum::Json<Value>, ApiError> {
    let fields = object(&body, "{approver}")?;
    let mut errors = Vec::new();
    check_keys(&fields, &["approver"], &mut errors);
    let approver = text(&fields, "approver", &mut errors);
    if approver.is_none() && errors.is_empty() {
        errors.push(FieldError::new("approver", "is required"));
    }
    let Some(approver) = approver.filter(|_| errors.is_empty()) else {
        return Err(ApiError::Validation(errors));
    };
    if state.db.get(actions::ACTIONS, &id).await?.is_none() {
        return Err(ApiError::NotFound(format!("action {id} not found")));
    }
    let action = actions::approve(&state, &id, &approver).await?;
    Ok(axum::Json(actions::to_json(&action)))
}
