// SPDX-License-Identifier: BUSL-1.1
//! The one write pipeline of the orchestrated `/v1` surface.
//!
//! ```text
//! validate -> pre-flight compliance -> hard-block check (403, audited, nothing else written)
//!          -> Mass operation -> post-operation compliance -> credential + attestation
//!          -> audit; the Mass records, the attestation and the audit event commit together
//! ```
//!
//! Every `/v1` write runs [`run`], whatever the primitive; the generated route table supplies
//! the primitive's facts (request model, Mass operation, jurisdiction source, domains,
//! screened names, credential type, audit event). Only the Mass operation depends on the
//! mode, behind [`MassCall`]: a sovereign zone plans it against its own store (the same plan
//! functions its direct routes run, with no HTTP to itself); a proxy zone sends it upstream.

mod facts;

use serde_json::{Map, Value, json};

use crate::audit::{AuditDraft, RecordOp, WriteUnit};
use crate::auth::scope;
use crate::clock::now_rfc3339;
use crate::compliance::{self, ComplianceSummary};
use crate::db::Record;
use crate::error::ApiError;
use crate::mass::{Answer, Found, MassCall};
use crate::metrics;
use crate::runtime::args::CallArgs;
use crate::runtime::commit::Retries;
use crate::runtime::mapping;
use crate::runtime::model::{MassOp, Subject, V1Route};
use crate::runtime::ops;
use crate::runtime::plan::Plan;
use crate::runtime::validate::{Mode, validate};
use crate::state::AppState;
use crate::surface::{COMPLIANCE, types};
use axum::response::Response;
use std::time::Instant;

/// The collection attestations are stored in.
pub const ATTESTATIONS: &str = "attestations";

/// Serves one `/v1` route.
pub async fn run(state: &AppState, route: &V1Route, args: CallArgs) -> Result<Response, ApiError> {
    scope::admit(route.access, &format!("{} {}", route.method, route.path))?;
    if route.method == "GET" {
        let mut mass = MassCall::new(state);
        let value = mass_operation(&mut mass, route, &args, &Map::new()).await?;
        return Ok(ops::json(route.status, value));
    }
    write(state, route, args).await
}

/// Runs the route's Mass operation: a mapped call of a direct route, or a named hook.
async fn mass_operation(
    mass: &mut MassCall<'_>,
    route: &V1Route,
    args: &CallArgs,
    request: &Record,
) -> Result<Value, ApiError> {
    match route.mass {
        MassOp::Call { route: target, map } => {
            let params = target_params(route.path, target.info().path, &args.params);
            let body = match map {
                Some(map) => Some(mapping::apply_text(map, &source(route, args, request))?),
                None => None,
            };
            let call = CallArgs {
                params,
                query: args.query.clone(),
                body,
                idempotency_key: None,
            };
            mass.call(target, call).await
        }
        MassOp::Hook(hook) => hook.run(mass, request).await,
    }
}

/// The `{name}` parameters of a route path, in order.
fn param_names(path: &str) -> Vec<&str> {
    path.split('{')
        .skip(1)
        .filter_map(|s| s.split_once('}').map(|(n, _)| n))
        .collect()
}

/// The direct route's path parameters, taken by name from the `/v1` route's.
fn target_params(v1_path: &str, target_path: &str, values: &[String]) -> Vec<String> {
    let ours = param_names(v1_path);
    param_names(target_path)
        .iter()
        .filter_map(|n| {
            ours.iter()
                .position(|o| o == n)
                .and_then(|i| values.get(i))
                .cloned()
        })
        .collect()
}

/// What mappings, screening and metadata read: the request, plus the path parameters.
fn source(route: &V1Route, args: &CallArgs, request: &Record) -> Value {
    let mut src = request.clone();
    for (name, value) in param_names(route.path).iter().zip(&args.params) {
        src.insert(name.to_string(), Value::String(value.clone()));
    }
    Value::Object(src)
}

/// The route's jurisdiction: the first of its sources that yields one.
async fn jurisdiction(
    mass: &mut MassCall<'_>,
    route: &V1Route,
    src: &Value,
) -> Result<String, ApiError> {
    let j = &route.jurisdiction;
    if let Some(code) = j.field.and_then(|f| mapping::resolve_str(src, f)) {
        return Ok(code.to_string());
    }
    if let Some(currency) = j.currency.and_then(|f| mapping::resolve_str(src, f)) {
        return Ok(COMPLIANCE.jurisdiction_for_currency(currency));
    }
    if let Some(field) = j.entity {
        if let Some(id) = mapping::resolve_str(src, field) {
            let org = referenced_organization(mass, field, id).await?;
            if let Some(code) = org.data.jurisdiction {
                return Ok(code);
            }
        }
    }
    Ok(j.value
        .unwrap_or(compliance::UNKNOWN_JURISDICTION)
        .to_string())
}

/// The organization a request field references; a dangling reference is refused (a path
/// parameter is a 404, a body field a 422 naming the field).
async fn referenced_organization(
    mass: &mut MassCall<'_>,
    field: &str,
    id: &str,
) -> Result<Answer<types::Organization>, ApiError> {
    match mass.get_organization(id).await.found()? {
        Some(org) => Ok(org),
        None if field == "id" => Err(ApiError::NotFound(format!("Organization {id} not found"))),
        None => Err(ApiError::field(
            field.split('[').next().unwrap_or(field),
            format!("does not reference an existing organization ({id})"),
        )),
    }
}

/// The strings a request path names.
fn strings_at(src: &Value, path: &str) -> Vec<String> {
    mapping::resolve(src, path)
        .into_iter()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

/// The names a route screens: request values, and the stored names of referenced entities.
async fn screened_names(
    mass: &mut MassCall<'_>,
    route: &V1Route,
    src: &Value,
) -> Result<Vec<String>, ApiError> {
    let mut names: Vec<String> = route
        .screen
        .iter()
        .flat_map(|p| mapping::resolve(src, p))
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    for path in route.screen_entities {
        for id in strings_at(src, path) {
            let org = referenced_organization(mass, path, &id).await?;
            names.push(org.data.name);
        }
    }
    // An account is screened through the organization that owns it, so that a payment from a
    // listed entity's account is blocked even when the entity was listed after it was made.
    for path in route.screen_accounts {
        for id in strings_at(src, path) {
            let account =
                mass.get_account(&id).await.found()?.ok_or_else(|| {
                    ApiError::field(*path, "does not reference an existing account")
                })?;
            if let Some(owner) = account.data.entity_id {
                if let Some(org) = mass.get_organization(&owner).await.found()? {
                    names.push(org.data.name);
                }
            }
        }
    }
    Ok(names)
}

fn evaluate(
    state: &AppState,
    route: &V1Route,
    jurisdiction: &str,
    names: &[String],
    facts: Option<&compliance::Facts>,
) -> Result<ComplianceSummary, ApiError> {
    compliance::evaluate(
        &COMPLIANCE,
        &state.sanctions.current(),
        compliance::Question {
            jurisdiction,
            relevant: route.domains,
            screened_names: names,
            facts,
            now: &now_rfc3339(),
        },
    )
}

/// The id of the entity the write is about, whose evidence decides it (the route's spec
/// `subject`); `rid` is the resource the Mass operation made, or `""` before it ran. `None`
/// when the route names no subject or the request leaves it out.
async fn subject_entity(
    mass: &mut MassCall<'_>,
    route: &V1Route,
    src: &Value,
    rid: &str,
) -> Result<Option<String>, ApiError> {
    Ok(match route.subject {
        None => None,
        Some(Subject::Resource) => Some(rid.to_string()).filter(|id| !id.is_empty()),
        Some(Subject::Entity(path)) => mapping::resolve_str(src, path).map(str::to_string),
        Some(Subject::Account(path)) => match mapping::resolve_str(src, path) {
            Some(account) => facts::account_owner(mass, account).await?,
            None => None,
        },
    })
}

/// `GET /v1/entities/{id}/compliance`: the entity evaluated now, over every domain that
/// applies in its jurisdiction, with reasons and evidence. No write, no credential.
pub async fn entity_compliance(state: &AppState, id: &str) -> Result<Value, ApiError> {
    let mut mass = MassCall::new(state);
    let org = mass
        .get_organization(id)
        .await
        .found()?
        .ok_or_else(|| ApiError::NotFound(format!("Organization {id} not found")))?;
    let jurisdiction = org.data.jurisdiction.clone().unwrap_or_default();
    let facts = facts::gather(&mut mass, id).await?;
    let mut names = vec![org.data.name.clone()];
    if let Some(entity) = &facts.entity {
        names.extend(entity.owners.iter().map(|o| o.name.clone()));
    }
    let relevant = COMPLIANCE.applicable(&jurisdiction);
    let summary = compliance::evaluate(
        &COMPLIANCE,
        &state.sanctions.current(),
        compliance::Question {
            jurisdiction: &jurisdiction,
            relevant: &relevant,
            screened_names: &names,
            facts: Some(&facts),
            now: &now_rfc3339(),
        },
    )?;
    let mut value = serde_json::to_value(&summary)
        .map_err(|err| ApiError::internal(format!("compliance summary: {err}")))?;
    if let Value::Object(map) = &mut value {
        map.insert("entity_id".into(), Value::String(id.to_string()));
    }
    Ok(value)
}

/// The id of the resource a Mass response describes (under the key the route's spec names).
fn resource_id(route: &V1Route, response: &Value, plan: &Plan) -> String {
    response
        .get(route.answer_id)
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| plan.resource_id.clone())
        .unwrap_or_default()
}

/// Audit metadata: the route's declared request values, the jurisdiction, and the outcome.
fn metadata(
    route: &V1Route,
    src: &Value,
    jurisdiction: &str,
    summary: &ComplianceSummary,
) -> Value {
    let mut md = Map::new();
    if let Some(audit) = &route.audit {
        for (key, path) in audit.metadata {
            let value = if *path == "$jurisdiction" {
                Value::String(jurisdiction.to_string())
            } else {
                mapping::resolve(src, path)
                    .into_iter()
                    .next()
                    .cloned()
                    .unwrap_or(Value::Null)
            };
            md.insert(key.to_string(), value);
        }
    }
    md.insert("compliance_status".into(), json!(summary.overall_status));
    md.insert("tensor_commitment".into(), json!(summary.tensor_commitment));
    if !summary.reasons.is_empty() {
        md.insert("compliance_reasons".into(), json!(summary.reasons));
    }
    Value::Object(md)
}

/// Serves a `/v1` write. A confined caller (an entity operator) may write only about its own
/// entity: the route's subject must be it (else 404, as an entity that does not exist), and
/// every record change the Mass operation plans must be its entity's
/// ([`scope::check_ops`]). The pipeline's own lookups (jurisdiction, screening, evidence)
/// are the zone's and run unconfined.
async fn write(state: &AppState, route: &V1Route, args: CallArgs) -> Result<Response, ApiError> {
    let confined = scope::current();
    scope::unscoped(write_as(state, route, args, confined.as_deref())).await
}

async fn write_as(
    state: &AppState,
    route: &V1Route,
    args: CallArgs,
    confined: Option<&str>,
) -> Result<Response, ApiError> {
    let model = route
        .request
        .ok_or_else(|| ApiError::internal("a /v1 write without a request model"))?;
    let mode = if route.method == "PUT" {
        Mode::Update
    } else {
        Mode::Request
    };
    let started = Instant::now();
    let request = validate(model, args.body(), mode);
    metrics::record_stage("validate", started);
    let request = request?;
    let src = source(route, &args, &request);
    if let Some(entity) = confined {
        let mut lookups = MassCall::new(state);
        if let Some(subject) = subject_entity(&mut lookups, route, &src, "").await? {
            if subject != entity {
                return Err(scope::entity_not_found(&subject));
            }
        }
    }
    let audit = route
        .audit
        .as_ref()
        .ok_or_else(|| ApiError::internal("a /v1 write without an audit event"))?;
    let credential_type = route
        .credential
        .ok_or_else(|| ApiError::internal("a /v1 write without a credential type"))?;

    // Pre-flight: everything the evaluation needs is read before anything is planned.
    let started = Instant::now();
    let mut lookups = MassCall::new(state);
    let jurisdiction = jurisdiction(&mut lookups, route, &src).await?;
    let names = screened_names(&mut lookups, route, &src).await?;
    // Evidence-based domains are decided after the Mass operation, over the entity as it
    // then stands; the pre-flight decides what can block before anything is planned.
    let summary = evaluate(state, route, &jurisdiction, &names, None)?;
    metrics::record_stage("compliance", started);
    if let Some(reason) = summary.hard_block_message() {
        return Err(deny(state, route, &src, &jurisdiction, &summary, reason).await);
    }
    // A halted entity takes no write about it (a policy's `halt`); only the refusal is
    // recorded.
    let started = Instant::now();
    // Before the Mass operation there is no resource yet: a write creating the entity is
    // about no existing one.
    if let Some(entity) = subject_entity(&mut lookups, route, &src, "").await? {
        if let Some(halt) = crate::policy::actions::halted(state, &entity).await? {
            let line = format!("{} {}", route.method, route.path);
            return Err(crate::policy::actions::refuse(state, &entity, &halt, &line).await);
        }
    }
    metrics::record_stage("policy", started);

    // The credential's status list position: taken once, kept across retries (a failed write
    // leaves a gap; a position is never handed out twice).
    let slot = crate::credentials::status::allocate(&state.db).await?;
    let mut retries = Retries::default();
    let mut mass = MassCall::new(state);
    loop {
        mass.again();
        let response = metrics::stage(
            "mass_operation",
            mass_operation(&mut mass, route, &args, &request),
        )
        .await?;
        if let Some(entity) = confined {
            scope::check_ops(state, entity, &mass.plan.ops).await?;
        }
        let rid = resource_id(route, &response, &mass.plan);

        // Post-operation: the names the Mass operation stored are screened too (it may have
        // normalised them); a block here still writes nothing, since nothing is committed yet.
        let mut post_names = names.clone();
        post_names.extend(
            route
                .screen_answer
                .iter()
                .filter_map(|k| response.get(*k).and_then(Value::as_str))
                .map(str::to_string),
        );
        let started = Instant::now();
        let subject = subject_entity(&mut mass, route, &src, &rid).await?;
        let facts = match &subject {
            Some(id) => Some(facts::gather(&mut mass, id).await?),
            None => None,
        };
        let post = evaluate(state, route, &jurisdiction, &post_names, facts.as_ref());
        metrics::record_stage("evidence", started);
        let post = post?;
        if let Some(reason) = post.hard_block_message() {
            return Err(deny(state, route, &src, &jurisdiction, &post, reason).await);
        }

        let now = now_rfc3339();
        // The evidence travels once, as the credential's own `evidence` property.
        let mut compliance_claim = json!(post);
        if let Value::Object(map) = &mut compliance_claim {
            map.remove("evidence");
        }
        let credential_subject = json!({
            "id": format!("urn:mez:{}:{rid}", audit.resource),
            "resource_type": audit.resource,
            "resource_id": rid,
            "operation": audit.event,
            "compliance": compliance_claim,
        });
        let mut extra = Map::new();
        if !post.evidence.is_empty() {
            extra.insert("evidence".into(), Value::Array(post.evidence.clone()));
        }
        extra.insert(
            "credentialStatus".into(),
            crate::credentials::status::entries(&state.config.public_url(), slot),
        );
        let started = Instant::now();
        let credential = crate::credentials::issue(
            &state.zone_key,
            credential_type,
            credential_subject,
            extra,
            &now,
        );
        metrics::record_stage("sign", started);
        let credential = credential?;
        let credential_id = credential
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let attestation_id = uuid::Uuid::new_v4().to_string();
        let attestation = json!({
            "id": attestation_id,
            "resourceType": audit.resource,
            "resourceId": rid,
            "attestationType": credential_type,
            "credentialId": credential_id,
            "issuer": state.zone_key.did(),
            "jurisdictionId": post.jurisdiction_id,
            "status": "ACTIVE",
            "complianceStatus": post.overall_status,
            "tensorCommitment": post.tensor_commitment,
            "entityId": subject,
            "evidenceIds": post.evidence_ids(),
            "credential": credential,
            "issuedAt": now,
            "createdAt": now,
        });
        let started = Instant::now();
        let fired = crate::policy::Fired::plan(
            route.fires,
            || json!({ "request": src, "answer": response, "outputs": mass.outputs }),
            Some(&jurisdiction),
            &now,
        );
        metrics::record_stage("policy", started);
        let mut ops = std::mem::take(&mut mass.plan.ops);
        ops.extend(fired.ops());
        if let Value::Object(record) = attestation {
            ops.push(RecordOp::Insert {
                collection: ATTESTATIONS.into(),
                id: attestation_id.clone(),
                record,
            });
        }
        ops.push(crate::credentials::status::record_op(
            &crate::credentials::status::Holder {
                credential_id: &credential_id,
                attestation_id: &attestation_id,
                resource_type: audit.resource,
                resource_id: &rid,
            },
            slot,
            &now,
        ));
        let mut md = metadata(route, &src, &jurisdiction, &post);
        if let (Some(triggers), Value::Object(m)) = (fired.metadata(), &mut md) {
            m.insert("policy_triggers".into(), triggers);
        }
        let unit = WriteUnit {
            ops,
            audit: AuditDraft {
                event_type: audit.event.to_string(),
                actor: state.zone_key.did().to_string(),
                resource_type: audit.resource.to_string(),
                resource_id: rid.clone(),
                action: audit.action.to_string(),
                metadata: md,
            },
        };
        let envelope = json!({
            "mass_response": response,
            "compliance": post,
            "credential": credential,
            "attestation_id": attestation_id,
        });
        // A record read was changed meanwhile, or a unique value (an entity's treasury) was
        // taken meanwhile: plan again from fresh reads, which see the winner's record.
        if metrics::stage("commit", retries.commit(state, unit)).await? {
            metrics::stage("policy", fired.run(state)).await;
            return Ok(ops::json(route.status, envelope));
        }
    }
}

/// Records a compliance denial in the audit chain and returns the 403 to answer with.
async fn deny(
    state: &AppState,
    route: &V1Route,
    src: &Value,
    jurisdiction: &str,
    summary: &ComplianceSummary,
    reason: String,
) -> ApiError {
    let resource = route
        .audit
        .as_ref()
        .map(|a| a.resource)
        .unwrap_or("unknown");
    let mut md = metadata(route, src, jurisdiction, summary);
    if let Value::Object(m) = &mut md {
        m.insert(
            "route".into(),
            json!(format!("{} {}", route.method, route.path)),
        );
        m.insert("hard_blocks".into(), json!(summary.hard_blocks));
        // Per hit: the entry, the spelling of it that matched, and the score (audit only;
        // the envelope never shows them).
        m.insert(
            "sanctions_hits".into(),
            json!(
                summary
                    .sanctions_hits
                    .iter()
                    .map(|h| json!({"entry": h.entry, "alias": h.alias, "score": h.score}))
                    .collect::<Vec<_>>()
            ),
        );
    }
    let unit = WriteUnit {
        ops: Vec::new(),
        audit: AuditDraft {
            event_type: "compliance.blocked".into(),
            actor: state.zone_key.did().to_string(),
            resource_type: resource.to_string(),
            resource_id: mapping::resolve_str(src, "id")
                .unwrap_or_default()
                .to_string(),
            action: "deny".into(),
            metadata: md,
        },
    };
    match state.audit.commit(unit).await {
        Ok(_) => ApiError::Forbidden(reason),
        // The denial stands even if it could not be recorded; the cause is logged.
        Err(err) => {
            tracing::error!(error = %err, "could not audit a compliance denial");
            ApiError::Forbidden(reason)
        }
    }
}
