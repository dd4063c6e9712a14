// SPDX-License-Identifier: BUSL-1.1
//! Durable actions and their executors.
//!
//! Every action a trigger produces is a record of `policy_actions`: its policy, action,
//! subject, trigger, status, authorization requirement, approvals, attempts, last error and
//! timestamps. Its life:
//!
//! ```text
//! automatic, with an executor   pending -> executed | skipped | failed
//! automatic, no executor        scheduled (recorded; the zone runs no such action itself)
//! needs approvals               awaiting_authorization -(N distinct approvers)-> as above
//! ```
//!
//! Executors: `halt` suspends the subject entity (its organization's status becomes
//! `SUSPENDED`, a record of `entity_halts` names the policy, and every credential of the
//! entity is suspended in its status list), all in one commit with a `policy.action_executed`
//! event; `resume` undoes each of those. While an entity is halted, every `/v1` write about
//! it and every direct write to one of its records is refused with a 403 naming the policy
//! ([`refuse_if_halted`]), and only the denial is recorded.

use serde_json::{Value, json};

use super::{POLICY_ACTOR, Trigger};
use crate::audit::{AuditDraft, RecordOp, WriteUnit};
use crate::clock::now_rfc3339;
use crate::credentials::status::{Purpose, entity_status_ops};
use crate::db::{Query, Record};
use crate::error::{ApiError, ConflictKind};
use crate::mass::{Found, MassCall};
use crate::runtime::commit::Retries;
use crate::state::AppState;
use crate::surface::POLICIES;

/// The collection of actions.
pub const ACTIONS: &str = "policy_actions";
/// The collection of entity halts, keyed by entity id.
pub const HALTS: &str = "entity_halts";

/// The actions the zone executes itself; any other is recorded as `scheduled`.
const EXECUTORS: &[&str] = &["halt", "resume"];

fn record(value: Value) -> Record {
    match value {
        Value::Object(map) => map,
        _ => Record::new(),
    }
}

/// The action records a trigger produces, as the policies resolve it (not yet stored).
pub fn plan(trigger: &Trigger, now: &str) -> Vec<Record> {
    POLICIES
        .resolve(trigger)
        .into_iter()
        .map(|policy| {
            let required = POLICIES.approvals_for(policy.authorization);
            let executor = EXECUTORS.contains(&policy.action);
            let (status, detail) = match (required, executor) {
                (0, true) => ("pending", Value::Null),
                (0, false) => (
                    "scheduled",
                    json!(format!(
                        "no executor for '{}' in this zone: recorded for an operator",
                        policy.action
                    )),
                ),
                _ => (
                    "awaiting_authorization",
                    json!(format!(
                        "needs {required} distinct approvals ({})",
                        policy.authorization
                    )),
                ),
            };
            record(json!({
                "id": uuid::Uuid::new_v4().to_string(),
                "policyId": policy.id,
                "action": policy.action,
                "priority": policy.priority,
                "subject": trigger.subject,
                "jurisdiction": trigger.jurisdiction,
                "trigger": trigger.to_json(),
                "status": status,
                "detail": detail,
                "authorization": policy.authorization,
                "approvalsRequired": required,
                "approvals": [],
                "attempts": 0,
                "lastError": null,
                "createdAt": now,
                "updatedAt": now,
            }))
        })
        .collect()
}

/// The insert of a planned action.
pub fn insert_op(action: &Record) -> RecordOp {
    RecordOp::Insert {
        collection: ACTIONS.into(),
        id: str_of(action, "id").to_string(),
        record: action.clone(),
    }
}

fn str_of<'r>(r: &'r Record, key: &str) -> &'r str {
    r.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// An action as the API shows it: its [`brief`] form and the rest.
pub fn to_json(action: &Record) -> Value {
    let mut shown = brief(action);
    let rest = json!({
        "subject": action.get("subject"),
        "trigger": action.get("trigger"),
        "authorization_requirement": action.get("authorization"),
        "approvals_required": action.get("approvalsRequired"),
        "approvals": action.get("approvals"),
        "attempts": action.get("attempts"),
        "last_error": action.get("lastError"),
        "created_at": action.get("createdAt"),
        "updated_at": action.get("updatedAt"),
    });
    if let (Value::Object(shown), Value::Object(rest)) = (&mut shown, rest) {
        shown.extend(rest);
    }
    shown
}

/// The short form the trigger's answer and the firing write's audit event carry.
pub fn brief(action: &Record) -> Value {
    json!({
        "action_id": action.get("id"),
        "action_type": action.get("action"),
        "policy_id": action.get("policyId"),
        "status": action.get("status"),
        "detail": action.get("detail"),
    })
}

/// Receives a trigger outside a write (`POST /v1/triggers`, a sanctions reload): one commit
/// stores its actions with a `policy.trigger_received` event listing them; then the automatic
/// ones with an executor run. Returns the actions as they end up.
pub async fn receive(
    state: &AppState,
    trigger: &Trigger,
    actor: &str,
) -> Result<Vec<Record>, ApiError> {
    let now = now_rfc3339();
    let planned = plan(trigger, &now);
    let unit = WriteUnit {
        ops: planned.iter().map(insert_op).collect(),
        audit: AuditDraft {
            event_type: "policy.trigger_received".into(),
            actor: actor.into(),
            resource_type: "trigger".into(),
            resource_id: trigger.subject.clone().unwrap_or_default(),
            action: trigger.trigger_type.clone(),
            metadata: json!({
                "trigger": trigger.to_json(),
                "actions": planned.iter().map(brief).collect::<Vec<_>>(),
            }),
        },
    };
    state.audit.commit(unit).await?;
    run_pending(state, &planned).await
}

/// Runs every `pending` action of `actions` (in order) and returns all of them as they end
/// up; an executor's error is kept on its action (`failed`, `lastError`), not returned.
pub async fn run_pending(state: &AppState, actions: &[Record]) -> Result<Vec<Record>, ApiError> {
    let mut out = Vec::with_capacity(actions.len());
    for action in actions {
        if str_of(action, "status") == "pending" {
            out.push(execute(state, str_of(action, "id")).await?);
        } else {
            out.push(action.clone());
        }
    }
    Ok(out)
}

/// Runs the actions left `pending` by a process that stopped between a write's commit and
/// running them (the write and its actions are stored; only their execution was lost). Called
/// once at start-up; a replica racing another over the same action loses the commit and finds
/// it already done.
pub async fn recover(state: &AppState) {
    let pending = match list(
        state,
        Filter {
            status: Some("pending"),
            ..Filter::default()
        },
        0,
        i64::MAX as u64,
    )
    .await
    {
        Ok(pending) => pending,
        Err(err) => {
            tracing::error!(error = %err, "cannot read the pending policy actions");
            return;
        }
    };
    if !pending.is_empty() {
        tracing::info!(
            actions = pending.len(),
            "running policy actions left pending"
        );
    }
    if let Err(err) = run_pending(state, &pending).await {
        tracing::error!(error = %err, "pending policy actions could not run");
    }
}

/// The halt of an entity, if it is halted.
pub async fn halted(state: &AppState, entity_id: &str) -> Result<Option<Record>, ApiError> {
    state.db.get(HALTS, entity_id).await
}

/// The 403 for a write about a halted entity, after recording the denial (nothing else).
pub async fn refuse(state: &AppState, entity_id: &str, halt: &Record, route: &str) -> ApiError {
    let policy = str_of(halt, "policyId");
    let message = format!(
        "entity {entity_id} is halted by policy {policy} (action {}): no write about it is accepted until it is resumed",
        str_of(halt, "actionId")
    );
    let unit = WriteUnit {
        ops: Vec::new(),
        audit: AuditDraft {
            event_type: "policy.write_refused".into(),
            actor: state.zone_did().to_string(),
            resource_type: "entity".into(),
            resource_id: entity_id.to_string(),
            action: "deny".into(),
            metadata: json!({
                "route": route,
                "policy_id": policy,
                "action_id": halt.get("actionId"),
            }),
        },
    };
    if let Err(err) = state.audit.commit(unit).await {
        // The refusal stands even if it could not be recorded; the cause is logged.
        tracing::error!(error = %err, "could not audit a refused write about a halted entity");
    }
    ApiError::Forbidden(message)
}

/// The entity a planned record change is about, through the spec's entity links.
async fn op_entity(state: &AppState, op: &RecordOp) -> Result<Option<String>, ApiError> {
    let (collection, id, body) = op.target();
    let Some(link) = crate::auth::scope::link(collection) else {
        return Ok(None);
    };
    if link == "id" {
        return Ok(Some(id.to_string()));
    }
    let stored;
    let body = match body {
        Some(b) => b,
        None => match state.db.get(collection, id).await? {
            Some(b) => {
                stored = b;
                &stored
            }
            None => return Ok(None),
        },
    };
    Ok(body.get(link).and_then(Value::as_str).map(str::to_string))
}

/// Refuses (403, the denial audited) a direct write any of whose record changes belongs to a
/// halted entity.
pub async fn refuse_if_halted(
    state: &AppState,
    ops: &[RecordOp],
    route: &str,
) -> Result<(), ApiError> {
    let mut checked: Vec<String> = Vec::new();
    for op in ops {
        let Some(entity) = op_entity(state, op).await? else {
            continue;
        };
        if checked.contains(&entity) {
            continue;
        }
        if let Some(halt) = halted(state, &entity).await? {
            return Err(refuse(state, &entity, &halt, route).await);
        }
        checked.push(entity);
    }
    Ok(())
}

/// What an executor did: the record changes to commit with the action's new state, and what
/// the audit event says.
struct Outcome {
    ops: Vec<RecordOp>,
    status: &'static str,
    detail: String,
    metadata: Value,
}

fn skipped(detail: String) -> Outcome {
    Outcome {
        ops: Vec::new(),
        status: "skipped",
        detail,
        metadata: json!({}),
    }
}

/// The organization status change of a halt or resume, planned through the Mass surface
/// (sovereign: record changes to commit; proxy: the upstream is told at once).
async fn set_org_status(
    mass: &mut MassCall<'_>,
    entity: &str,
    status: &str,
) -> Result<(), ApiError> {
    mass.update_organization(entity, json!({ "status": status }))
        .await?;
    Ok(())
}

async fn halt(state: &AppState, action: &Record, now: &str) -> Result<Outcome, ApiError> {
    let Some(entity) = action.get("subject").and_then(Value::as_str) else {
        return Ok(skipped(
            "a halt needs a subject entity; the trigger named none".into(),
        ));
    };
    let mut mass = MassCall::new(state);
    let Some(org) = mass.get_organization(entity).await.found()? else {
        return Ok(skipped(format!("no organization {entity} to halt")));
    };
    if let Some(existing) = halted(state, entity).await? {
        return Ok(Outcome {
            ops: Vec::new(),
            status: "executed",
            detail: format!(
                "entity {entity} was already halted by policy {}",
                str_of(&existing, "policyId")
            ),
            metadata: json!({ "entity_id": entity, "already_halted": true }),
        });
    }
    let previous = org.data.status.map(|s| json!(s)).unwrap_or(json!("ACTIVE"));
    set_org_status(&mut mass, entity, "SUSPENDED").await?;
    let mut ops = std::mem::take(&mut mass.plan.ops);
    ops.push(RecordOp::Insert {
        collection: HALTS.into(),
        id: entity.to_string(),
        record: record(json!({
            "entityId": entity,
            "policyId": action.get("policyId"),
            "actionId": action.get("id"),
            "previousStatus": previous,
            "since": now,
        })),
    });
    let (status_ops, suspended) =
        entity_status_ops(state, entity, Purpose::Suspension, true, now).await?;
    ops.extend(status_ops);
    Ok(Outcome {
        ops,
        status: "executed",
        detail: format!(
            "entity {entity} halted: status SUSPENDED, {} credential(s) suspended",
            suspended.len()
        ),
        metadata: json!({
            "entity_id": entity,
            "previous_status": previous,
            "credentials_suspended": suspended,
        }),
    })
}

async fn resume(state: &AppState, action: &Record, now: &str) -> Result<Outcome, ApiError> {
    let Some(entity) = action.get("subject").and_then(Value::as_str) else {
        return Ok(skipped(
            "a resume needs a subject entity; the trigger named none".into(),
        ));
    };
    let Some(halt) = halted(state, entity).await? else {
        return Ok(skipped(format!("entity {entity} is not halted")));
    };
    let previous = str_of(&halt, "previousStatus");
    let previous = if previous.is_empty() || previous == "SUSPENDED" {
        "ACTIVE"
    } else {
        previous
    };
    let mut mass = MassCall::new(state);
    set_org_status(&mut mass, entity, previous).await?;
    let mut ops = std::mem::take(&mut mass.plan.ops);
    ops.push(RecordOp::Delete {
        collection: HALTS.into(),
        id: entity.to_string(),
    });
    let (status_ops, lifted) =
        entity_status_ops(state, entity, Purpose::Suspension, false, now).await?;
    ops.extend(status_ops);
    Ok(Outcome {
        ops,
        status: "executed",
        detail: format!(
            "entity {entity} resumed: status {previous}, {} credential(s) reinstated",
            lifted.len()
        ),
        metadata: json!({
            "entity_id": entity,
            "status": previous,
            "halted_by": halt.get("policyId"),
            "credentials_reinstated": lifted,
        }),
    })
}

/// An action with its version, or a 404.
async fn read(state: &AppState, id: &str) -> Result<(Record, i64), ApiError> {
    state
        .db
        .get_versioned(ACTIONS, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("action {id} not found")))
}

/// Runs an action that may run (`pending`, or approved): its executor's changes, the
/// action's new state and a `policy.action_executed` event (or `policy.action_skipped` /
/// `policy.action_failed`) commit together. Returns the action as stored.
pub async fn execute(state: &AppState, id: &str) -> Result<Record, ApiError> {
    let mut retries = Retries::default();
    loop {
        let (action, version) = read(state, id).await?;
        if str_of(&action, "status") != "pending" {
            return Ok(action);
        }
        let now = now_rfc3339();
        let kind = str_of(&action, "action").to_string();
        let result = match kind.as_str() {
            "halt" => halt(state, &action, &now).await,
            "resume" => resume(state, &action, &now).await,
            other => Ok(Outcome {
                ops: Vec::new(),
                status: "scheduled",
                detail: format!("no executor for '{other}' in this zone: recorded for an operator"),
                metadata: json!({}),
            }),
        };
        let (outcome, error) = match result {
            Ok(outcome) => (outcome, None),
            Err(err) => (
                Outcome {
                    ops: Vec::new(),
                    status: "failed",
                    detail: format!("the executor failed: {err}"),
                    metadata: json!({}),
                },
                Some(err.to_string()),
            ),
        };
        let mut next = action.clone();
        next.insert("status".into(), json!(outcome.status));
        next.insert("detail".into(), json!(outcome.detail));
        next.insert(
            "attempts".into(),
            json!(action.get("attempts").and_then(Value::as_u64).unwrap_or(0) + 1),
        );
        next.insert("lastError".into(), json!(error));
        next.insert("updatedAt".into(), json!(now));
        if outcome.status == "executed" {
            next.insert("executedAt".into(), json!(now));
        }
        let mut ops = outcome.ops;
        ops.push(RecordOp::Replace {
            collection: ACTIONS.into(),
            id: id.to_string(),
            record: next.clone(),
            expected_version: version,
        });
        let mut metadata = outcome.metadata;
        if let Value::Object(m) = &mut metadata {
            m.insert("action_id".into(), json!(id));
            m.insert("policy_id".into(), json!(action.get("policyId")));
            m.insert("status".into(), json!(outcome.status));
            m.insert("detail".into(), json!(outcome.detail));
        }
        let event = match outcome.status {
            "executed" => "policy.action_executed",
            "scheduled" => "policy.action_scheduled",
            "skipped" => "policy.action_skipped",
            _ => "policy.action_failed",
        };
        let unit = WriteUnit {
            ops,
            audit: AuditDraft {
                event_type: event.into(),
                actor: POLICY_ACTOR.into(),
                resource_type: "policy_action".into(),
                resource_id: id.to_string(),
                action: kind.clone(),
                metadata,
            },
        };
        if retries.commit(state, unit).await? {
            return Ok(next);
        }
    }
}

/// Records one approval of an action awaiting authorization (a `policy.action_approved`
/// event with its approver); the approval that completes the requirement also runs it.
/// Approving twice as the same approver, or an action not awaiting authorization, is a 409.
pub async fn approve(state: &AppState, id: &str, approver: &str) -> Result<Record, ApiError> {
    let mut retries = Retries::default();
    loop {
        let (action, version) = read(state, id).await?;
        let status = str_of(&action, "status");
        if status != "awaiting_authorization" {
            return Err(ApiError::conflict(
                ConflictKind::State,
                format!("action {id} is {status}, not awaiting authorization"),
            ));
        }
        let mut approvals: Vec<Value> = action
            .get("approvals")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if approvals
            .iter()
            .any(|a| a.get("approver").and_then(Value::as_str) == Some(approver))
        {
            return Err(ApiError::conflict(
                ConflictKind::State,
                format!(
                    "action {id} was already approved by {approver}; approvals must come from distinct approvers"
                ),
            ));
        }
        let now = now_rfc3339();
        approvals.push(json!({ "approver": approver, "approved_at": now }));
        let required = action
            .get("approvalsRequired")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        let complete = approvals.len() as u64 >= required;
        let mut next = action.clone();
        next.insert("approvals".into(), json!(approvals));
        next.insert("updatedAt".into(), json!(now));
        if complete {
            next.insert("status".into(), json!("pending"));
            next.insert(
                "detail".into(),
                json!(format!("approved by {} of {required}", approvals.len())),
            );
        }
        let unit = WriteUnit {
            ops: vec![RecordOp::Replace {
                collection: ACTIONS.into(),
                id: id.to_string(),
                record: next.clone(),
                expected_version: version,
            }],
            audit: AuditDraft {
                event_type: "policy.action_approved".into(),
                actor: approver.to_string(),
                resource_type: "policy_action".into(),
                resource_id: id.to_string(),
                action: "approve".into(),
                metadata: json!({
                    "policy_id": action.get("policyId"),
                    "approvals": approvals.len(),
                    "approvals_required": required,
                    "complete": complete,
                }),
            },
        };
        if retries.commit(state, unit).await? {
            if complete {
                return execute(state, id).await;
            }
            return Ok(next);
        }
    }
}

/// Which actions [`list`] returns: all of the given filters hold.
#[derive(Debug, Clone, Copy, Default)]
pub struct Filter<'a> {
    pub status: Option<&'a str>,
    pub policy_id: Option<&'a str>,
    pub subject: Option<&'a str>,
}

/// Actions in the order they were produced, filtered, skipping `offset`, at most `limit`.
pub async fn list(
    state: &AppState,
    filter: Filter<'_>,
    offset: u64,
    limit: u64,
) -> Result<Vec<Record>, ApiError> {
    let mut equals = Vec::new();
    for (key, value) in [
        ("status", filter.status),
        ("policyId", filter.policy_id),
        ("subject", filter.subject),
    ] {
        if let Some(v) = value {
            equals.push((key, v));
        }
    }
    let page = state
        .db
        .list(
            ACTIONS,
            &Query {
                equals,
                offset,
                limit,
                ..Query::all()
            },
        )
        .await?;
    Ok(page.items)
}
