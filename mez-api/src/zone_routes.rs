// SPDX-License-Identifier: BUSL-1.1
//! The zone's own `/v1` endpoints: credential verification, attestations and the audit trail.
//!
//! These are the zone's infrastructure rather than Mass primitives, so they are written by
//! hand instead of generated from the spec.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::credentials::Verification;
use crate::credentials::status::Lookup;
use crate::db::Query;
use crate::error::{ApiError, FieldError};
use crate::extract::{JsonBody, QueryMap};
use crate::pipeline::ATTESTATIONS;
use crate::state::AppState;

/// Default and largest page sizes of the listing endpoints here.
const DEFAULT_LIMIT: u64 = 100;
const MAX_LIMIT: u64 = 1000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/credentials/verify", post(verify_credential))
        .merge(crate::credentials::status::router())
        .route("/v1/attestations", get(list_attestations))
        .route("/v1/attestations/{id}", get(get_attestation))
        .route("/v1/audit/events", get(audit_events))
        .route("/v1/audit/verify", get(audit_verify))
        .route("/v1/entities/{id}/compliance", get(entity_compliance))
}

/// `GET /v1/entities/{id}/compliance`: the entity's compliance evaluated now (no write, no
/// credential), with reasons and evidence; 404 for an unknown entity.
async fn entity_compliance(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    Ok(axum::Json(
        crate::pipeline::entity_compliance(&state, &id).await?,
    ))
}

/// `POST /v1/credentials/verify`: checks a credential from any did:key issuer. The body is the
/// credential itself, or `{"credential": {...}}`.
///
/// The answer also holds `status`: for a credential this zone issued with a
/// `credentialStatus`, once its proof verified, `{"revoked", "suspended"}` from the zone's
/// status records, and `verified` is false when either is set (the reason says which). For
/// any other credential (another issuer's, one issued before credentials carried a status, or
/// one whose proof failed) `status` is null and the proof alone decides.
async fn verify_credential(
    State(state): State<AppState>,
    JsonBody(body): JsonBody,
) -> Result<axum::Json<Value>, ApiError> {
    let credential = match body.get("credential") {
        Some(inner) if body.as_object().is_some_and(|o| o.len() == 1) => inner.clone(),
        _ => body,
    };
    if !credential.is_object() {
        return Err(ApiError::field("credential", "must be a JSON object"));
    }
    let mut outcome = crate::credentials::verify(&credential);
    let mut status = Value::Null;
    if outcome.verified {
        match crate::credentials::status::status_of(&state, &credential).await? {
            None => {}
            Some(Lookup::Unknown) => {
                outcome = Verification::failed(
                    "credential names a credentialStatus this zone holds no status for",
                );
            }
            Some(Lookup::Found(found)) => {
                let reason = match (found.revoked, found.suspended) {
                    (true, true) => Some("credential has been revoked, and is suspended"),
                    (true, false) => Some("credential has been revoked"),
                    (false, true) => Some("credential is suspended"),
                    (false, false) => None,
                };
                if let Some(reason) = reason {
                    outcome = Verification {
                        legacy: outcome.legacy,
                        ..Verification::failed(reason)
                    };
                }
                status = json!(found);
            }
        }
    }
    let mut answer = json!(outcome);
    if let Value::Object(fields) = &mut answer {
        fields.insert("status".into(), status);
    }
    Ok(axum::Json(answer))
}

async fn get_attestation(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    match state.db.get(ATTESTATIONS, &id).await? {
        Some(record) => Ok(axum::Json(Value::Object(record))),
        None => Err(ApiError::NotFound(format!("attestation {id} not found"))),
    }
}

/// Reads `offset`/`limit` and the named filters from a query string; anything else is refused.
pub(crate) fn paging(
    mut query: BTreeMap<String, String>,
    filters: &[&str],
) -> Result<(u64, u64, BTreeMap<String, String>), ApiError> {
    let mut errors = Vec::new();
    let offset = match query.remove("offset") {
        None => 0,
        Some(v) => v.parse().unwrap_or_else(|_| {
            errors.push(FieldError::new("offset", "must be a non-negative integer"));
            0
        }),
    };
    let limit = match query.remove("limit") {
        None => DEFAULT_LIMIT,
        Some(v) => match v.parse::<u64>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => {
                errors.push(FieldError::new(
                    "limit",
                    format!("must be from 1 to {MAX_LIMIT}"),
                ));
                DEFAULT_LIMIT
            }
        },
    };
    let mut chosen = BTreeMap::new();
    for (key, value) in query {
        if filters.contains(&key.as_str()) {
            chosen.insert(key, value);
        } else {
            errors.push(FieldError::new(
                key,
                "is not a query parameter of this route",
            ));
        }
    }
    if errors.is_empty() {
        Ok((offset, limit, chosen))
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// `GET /v1/attestations?resource_type=&resource_id=`: attestations in the order issued.
async fn list_attestations(
    State(state): State<AppState>,
    QueryMap(query): QueryMap,
) -> Result<axum::Json<Value>, ApiError> {
    let (offset, limit, filters) = paging(query, &["resource_type", "resource_id"])?;
    let mut equals = Vec::new();
    if let Some(t) = filters.get("resource_type") {
        equals.push(("resourceType", t.as_str()));
    }
    if let Some(id) = filters.get("resource_id") {
        equals.push(("resourceId", id.as_str()));
    }
    let page = state
        .db
        .list(
            ATTESTATIONS,
            &Query {
                equals,
                offset,
                limit,
                ..Query::all()
            },
        )
        .await?;
    Ok(axum::Json(Value::Array(
        page.items.into_iter().map(Value::Object).collect(),
    )))
}

/// `GET /v1/audit/events?resource_type=&resource_id=`: events in chain order.
async fn audit_events(
    State(state): State<AppState>,
    QueryMap(query): QueryMap,
) -> Result<axum::Json<Value>, ApiError> {
    let (offset, limit, filters) = paging(query, &["resource_type", "resource_id"])?;
    let events = state
        .audit
        .events(
            filters.get("resource_type").map(String::as_str),
            filters.get("resource_id").map(String::as_str),
            offset,
            limit,
        )
        .await?;
    Ok(axum::Json(json!(events)))
}

/// `GET /v1/audit/verify`: recomputes every hash of the chain.
async fn audit_verify(State(state): State<AppState>) -> Result<axum::Json<Value>, ApiError> {
    let report = state.audit.verify().await?;
    Ok(axum::Json(json!(report)))
}
