// SPDX-License-Identifier: BUSL-1.1
//! Serving one direct route: plan it, commit its changes with its audit event in one unit,
//! answer; honour `Idempotency-Key`s by remembering the first answer to each key.

use axum::response::Response;
use serde_json::{Map, Value, json};

use super::args::CallArgs;
use super::commit::Retries;
use super::ops::{empty, json};
use super::plan::Plan;
use crate::audit::{AuditDraft, RecordOp, WriteUnit};
use crate::clock::now_rfc3339;
use crate::error::ApiError;
use crate::runtime::model::RouteInfo;
use crate::state::AppState;
use crate::surface::Route;

/// Serves one direct route: plans it, commits its changes with its audit event in one unit
/// (planning again from fresh reads when a concurrent writer got there first), and answers.
pub async fn serve(state: &AppState, route: Route, args: CallArgs) -> Result<Response, ApiError> {
    let info = route.info();
    crate::auth::scope::admit(info.access, &format!("{} {}", info.method, info.path))?;
    // A create taking its input from the query names its key there (`idempotencyKey`).
    let key = args.idempotency_key.clone().or_else(|| {
        info.query_input
            .then(|| args.query.get("idempotencyKey").cloned())
            .flatten()
    });
    let remembered = match (&key, info.audit) {
        (Some(key), Some(_)) => Some(idempotency_id(
            info,
            key,
            crate::auth::scope::current().as_deref(),
        )),
        _ => None,
    };
    let request = fingerprint(&args)?;
    let mut retries = Retries::default();
    let outcome = loop {
        // Checked on every attempt: two requests with the same key may race, and the one that
        // commits second must answer what the first answered.
        if let Some(id) = &remembered {
            if let Some(first) = replay(state, id, &request).await? {
                return Ok(first);
            }
        }
        let mut plan = Plan::new();
        let value = route.plan(state, &mut plan, args.clone()).await?;
        let Some(event) = info.audit else {
            if !plan.ops.is_empty() {
                return Err(ApiError::internal(format!(
                    "{} {} planned writes but declares no audit event",
                    info.method, info.path
                )));
            }
            return Ok(respond(info.status, value));
        };
        // A confined caller's reads were already filtered; this checks what it would write
        // (a create naming another entity, an update moving a record to one).
        if let Some(entity) = crate::auth::scope::current() {
            crate::auth::scope::check_ops(state, &entity, &plan.ops).await?;
        }
        let route_line = format!("{} {}", info.method, info.path);
        crate::policy::actions::refuse_if_halted(state, &plan.ops, &route_line).await?;
        let fired = crate::policy::Fired::plan(
            info.fires,
            || json!({ "request": args.body, "answer": value }),
            None,
            &now_rfc3339(),
        );
        let mut ops = std::mem::take(&mut plan.ops);
        ops.extend(fired.ops());
        if let (Some(id), Some(key)) = (&remembered, &key) {
            ops.push(remember(info, id, key, &request, &value));
        }
        let mut audit = direct_event(state, info, event, &plan, &value);
        if let (Some(md), Value::Object(m)) = (fired.metadata(), &mut audit.metadata) {
            m.insert("policy_triggers".into(), md);
        }
        let unit = WriteUnit { ops, audit };
        match retries.commit(state, unit).await {
            Ok(true) => {
                // The actions a write fires are the zone's, not the caller's: unconfined.
                crate::auth::scope::unscoped(fired.run(state)).await;
                return Ok(respond(info.status, value));
            }
            Ok(false) => continue,
            Err(err) => break err,
        }
    };
    match outcome {
        // A conflict on the idempotency record itself: the other request with this key
        // committed between our check and our commit.
        err @ ApiError::Conflict { .. } => match &remembered {
            Some(id) => replay(state, id, &request).await?.ok_or(err),
            None => Err(err),
        },
        other => Err(other),
    }
}

/// The audit event of a direct write.
fn direct_event(
    state: &AppState,
    info: &RouteInfo,
    event: &str,
    plan: &Plan,
    value: &Value,
) -> AuditDraft {
    let resource_id = plan
        .resource_id
        .clone()
        .or_else(|| value.get("id").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_default();
    let (resource_type, suffix) = event.split_once('.').unwrap_or((event, event));
    // CRUD writes name their operation; others (votes, checks, transitions) their event.
    let action = match info.op {
        "create" | "update" | "delete" => info.op,
        _ => suffix,
    };
    AuditDraft {
        event_type: event.to_string(),
        actor: state.zone_did().to_string(),
        resource_type: resource_type.to_string(),
        resource_id,
        action: action.to_string(),
        metadata: json!({ "route": format!("{} {}", info.method, info.path) }),
    }
}

/// The collection remembering the first answer to each idempotency key.
const IDEMPOTENCY: &str = "idempotency_keys";

/// The stored id of a route's idempotency key. An entity operator's keys are its entity's
/// own (`entity`): its request never replays an answer another caller was given, which could
/// be about another entity. Every other caller's keys keep the id they have always had, so
/// keys stored by an earlier release still replay.
fn idempotency_id(route: &RouteInfo, key: &str, entity: Option<&str>) -> String {
    let text = match entity {
        Some(entity) => format!("{} {}\nentity {entity}\n{key}", route.method, route.path),
        None => format!("{} {}\n{key}", route.method, route.path),
    };
    crate::canonical::sha256_hex(text.as_bytes())
}

/// What a request asked, as the SHA-256 of the canonical JSON of its path parameters, query
/// (less the key itself) and body: a key used again must come with the same request.
fn fingerprint(args: &CallArgs) -> Result<String, ApiError> {
    let mut query = args.query.clone();
    query.remove("idempotencyKey");
    let asked = json!({ "params": args.params, "query": query, "body": args.body });
    Ok(crate::canonical::sha256_hex(
        &crate::canonical::canonical_bytes(&asked)?,
    ))
}

/// The record remembering an idempotency key's answer, written with the answer's changes.
fn remember(route: &RouteInfo, id: &str, key: &str, request: &str, value: &Value) -> RecordOp {
    let mut record = Map::new();
    record.insert(
        "route".into(),
        json!(format!("{} {}", route.method, route.path)),
    );
    record.insert("key".into(), json!(key));
    record.insert("request".into(), json!(request));
    record.insert("status".into(), json!(route.status));
    record.insert("response".into(), value.clone());
    record.insert("createdAt".into(), json!(now_rfc3339()));
    RecordOp::Insert {
        collection: IDEMPOTENCY.into(),
        id: id.to_string(),
        record,
    }
}

/// The first answer given for an idempotency key, if there was one. A key used again with
/// another request is refused (422): answering the first request's result would tell the
/// client its different request succeeded. Keys remembered before requests were fingerprinted
/// carry no `request` and replay as they always did.
async fn replay(state: &AppState, id: &str, request: &str) -> Result<Option<Response>, ApiError> {
    let Some(first) = state.db.get(IDEMPOTENCY, id).await? else {
        return Ok(None);
    };
    if let Some(asked) = first.get("request").and_then(Value::as_str) {
        if asked != request {
            return Err(ApiError::field(
                "Idempotency-Key",
                "was already used with a different request; use a new key for a new request",
            ));
        }
    }
    let status = first
        .get("status")
        .and_then(Value::as_u64)
        .and_then(|s| u16::try_from(s).ok())
        .unwrap_or(200);
    let response = first.get("response").cloned().unwrap_or(Value::Null);
    Ok(Some(respond(status, response)))
}

/// The response for a route's answer: no body for `null`, JSON otherwise.
pub fn respond(code: u16, value: Value) -> Response {
    if value.is_null() {
        empty(code)
    } else {
        json(code, value)
    }
}
