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

use serde_json::{Map, Value, json};

use crate::audit::{AuditDraft, RecordOp, WriteUnit};
use crate::clock::now_rfc3339;
use crate::compliance::{self, ComplianceSummary};
use crate::db::Record;
use crate::error::ApiError;
use crate::runtime::mapping;
use crate::runtime::model::{MassOp, V1Route};
use crate::runtime::ops::{self, CallArgs, MAX_ATTEMPTS};
use crate::runtime::plan::Plan;
use crate::runtime::validate::{Mode, validate};
use crate::state::AppState;
use crate::surface::{COMPLIANCE, ROUTES};
use axum::response::Response;

/// The collection attestations are stored in.
pub const ATTESTATIONS: &str = "attestations";

/// The Mass operations of one request, in whichever mode the zone runs.
pub struct MassCall<'a> {
    state: &'a AppState,
    /// The records a sovereign zone's Mass operations plan to change.
    pub plan: Plan,
    /// A proxy zone's idempotency keys for its upstream POSTs: this request's key and a
    /// counter, so each call is safe to retry and distinct from the request's other calls.
    request_key: String,
    calls: usize,
}

impl<'a> MassCall<'a> {
    pub fn new(state: &'a AppState) -> Self {
        Self {
            state,
            plan: Plan::new(),
            request_key: uuid::Uuid::new_v4().to_string(),
            calls: 0,
        }
    }

    pub fn state(&self) -> &'a AppState {
        self.state
    }

    /// Calls the direct route `METHOD PATH` (as the spec writes it, with `{param}`s).
    pub async fn call(
        &mut self,
        method: &str,
        path: &str,
        params: &[&str],
        body: Option<Value>,
    ) -> Result<Value, ApiError> {
        let args = CallArgs {
            params: params.iter().map(|p| p.to_string()).collect(),
            body,
            ..CallArgs::default()
        };
        self.call_with(method, path, args).await
    }

    /// Calls the direct route `METHOD PATH` with arguments already assembled (a query-string
    /// create, say).
    pub async fn call_with(
        &mut self,
        method: &str,
        path: &str,
        args: CallArgs,
    ) -> Result<Value, ApiError> {
        let index = ROUTES
            .iter()
            .position(|r| r.method == method && r.path == path)
            .ok_or_else(|| ApiError::internal(format!("no direct route {method} {path}")))?;
        self.call_index(index, args).await
    }

    /// Calls the direct route at `index` of the route table.
    pub async fn call_index(&mut self, index: usize, args: CallArgs) -> Result<Value, ApiError> {
        if self.state.config.sovereign {
            return crate::surface::sovereign_call(self.state, &mut self.plan, index, args).await;
        }
        let client = self.state.mass_client.as_ref().ok_or_else(|| {
            ApiError::ServiceUnavailable(
                "this zone runs in proxy mode and no upstream Mass API is configured \
                 (set the MASS_*_URL variables)"
                    .into(),
            )
        })?;
        let route = ROUTES
            .get(index)
            .ok_or_else(|| ApiError::internal("unknown route index"))?;
        self.calls += 1;
        let key = (route.method == "POST").then(|| format!("{}-{}", self.request_key, self.calls));
        client.call(route, &args, key.as_deref()).await
    }

    /// Reads the organization `id`, or `None` when there is none.
    pub async fn organization(&mut self, id: &str) -> Result<Option<Value>, ApiError> {
        match self
            .call(
                "GET",
                "/organization-info/api/v1/organization/{id}",
                &[id],
                None,
            )
            .await
        {
            Ok(org) => Ok(Some(org)),
            Err(err) if err.is_not_found() => Ok(None),
            Err(err) => Err(err),
        }
    }
}

/// Serves one `/v1` route.
pub async fn run(state: &AppState, route: &V1Route, args: CallArgs) -> Result<Response, ApiError> {
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
        MassOp::Call { route: index, map } => {
            let target = ROUTES
                .get(index)
                .ok_or_else(|| ApiError::internal("unknown mass route"))?;
            let params = target_params(route.path, target.path, &args.params);
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
            mass.call_index(index, call).await
        }
        MassOp::Hook(name) => crate::surface::mass_hook(name, mass, request).await,
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
            if let Some(code) = org.get("jurisdiction").and_then(Value::as_str) {
                return Ok(code.to_string());
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
) -> Result<Value, ApiError> {
    match mass.organization(id).await? {
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
            names.extend(org.get("name").and_then(Value::as_str).map(str::to_string));
        }
    }
    // An account is screened through the organization that owns it, so that a payment from a
    // listed entity's account is blocked even when the entity was listed after it was made.
    for path in route.screen_accounts {
        for id in strings_at(src, path) {
            let account = match mass
                .call(
                    "GET",
                    "/treasury-info/api/v1/account/{id}",
                    &[id.as_str()],
                    None,
                )
                .await
            {
                Ok(account) => account,
                Err(err) if err.is_not_found() => {
                    return Err(ApiError::field(
                        *path,
                        "does not reference an existing account",
                    ));
                }
                Err(err) => return Err(err),
            };
            if let Some(owner) = account.get("entityId").and_then(Value::as_str) {
                if let Some(org) = mass.organization(owner).await? {
                    names.extend(org.get("name").and_then(Value::as_str).map(str::to_string));
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
) -> Result<ComplianceSummary, ApiError> {
    compliance::evaluate(
        &COMPLIANCE,
        &state.sanctions,
        jurisdiction,
        route.domains,
        names,
        &now_rfc3339(),
    )
}

/// The id of the resource a Mass response describes.
fn resource_id(response: &Value, plan: &Plan) -> String {
    ["id", "identity_id"]
        .iter()
        .find_map(|k| response.get(*k).and_then(Value::as_str))
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
    Value::Object(md)
}

async fn write(state: &AppState, route: &V1Route, args: CallArgs) -> Result<Response, ApiError> {
    let model = route
        .request
        .ok_or_else(|| ApiError::internal("a /v1 write without a request model"))?;
    let mode = if route.method == "PUT" {
        Mode::Update
    } else {
        Mode::Request
    };
    let request = validate(model, args.body(), mode)?;
    let src = source(route, &args, &request);
    let audit = route
        .audit
        .as_ref()
        .ok_or_else(|| ApiError::internal("a /v1 write without an audit event"))?;
    let credential_type = route
        .credential
        .ok_or_else(|| ApiError::internal("a /v1 write without a credential type"))?;

    // Pre-flight: everything the evaluation needs is read before anything is planned.
    let mut lookups = MassCall::new(state);
    let jurisdiction = jurisdiction(&mut lookups, route, &src).await?;
    let names = screened_names(&mut lookups, route, &src).await?;
    let summary = evaluate(state, route, &jurisdiction, &names)?;
    if let Some(reason) = summary.hard_block_message() {
        return Err(deny(state, route, &src, &jurisdiction, &summary, reason).await);
    }

    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut mass = MassCall::new(state);
        let response = mass_operation(&mut mass, route, &args, &request).await?;
        let rid = resource_id(&response, &mass.plan);

        // Post-operation: the names the Mass operation stored are screened too (it may have
        // normalised them); a block here still writes nothing, since nothing is committed yet.
        let mut post_names = names.clone();
        post_names.extend(
            ["name", "legal_name", "full_name", "registered_name"]
                .iter()
                .filter_map(|k| response.get(*k).and_then(Value::as_str))
                .map(str::to_string),
        );
        let post = evaluate(state, route, &jurisdiction, &post_names)?;
        if let Some(reason) = post.hard_block_message() {
            return Err(deny(state, route, &src, &jurisdiction, &post, reason).await);
        }

        let now = now_rfc3339();
        let subject = json!({
            "id": format!("urn:mez:{}:{rid}", audit.resource),
            "resource_type": audit.resource,
            "resource_id": rid,
            "operation": audit.event,
            "compliance": post,
        });
        let credential =
            crate::credentials::issue(&state.zone_key, credential_type, subject, &now)?;
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
            "credential": credential,
            "issuedAt": now,
            "createdAt": now,
        });
        let mut ops = std::mem::take(&mut mass.plan.ops);
        if let Value::Object(record) = attestation {
            ops.push(RecordOp::Insert {
                collection: ATTESTATIONS.into(),
                id: attestation_id.clone(),
                record,
            });
        }
        let unit = WriteUnit {
            ops,
            audit: AuditDraft {
                event_type: audit.event.to_string(),
                actor: state.zone_key.did().to_string(),
                resource_type: audit.resource.to_string(),
                resource_id: rid.clone(),
                action: audit.action.to_string(),
                metadata: metadata(route, &src, &jurisdiction, &post),
            },
        };
        match state.audit.commit(unit).await {
            Ok(_) => {}
            // A record read was changed meanwhile, or a unique value (an entity's treasury) was
            // taken meanwhile: plan again from fresh reads, which will see the winner's record.
            Err(err)
                if attempt < MAX_ATTEMPTS
                    && (crate::audit::is_stale_read(&err) || ops::is_unique_conflict(&err)) =>
            {
                ops::back_off(attempt).await;
                continue;
            }
            Err(err) => return Err(err),
        }
        let envelope = json!({
            "mass_response": response,
            "compliance": post,
            "credential": credential,
            "attestation_id": attestation_id,
        });
        return Ok(ops::json(route.status, envelope));
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
        m.insert(
            "sanctions_hits".into(),
            json!(
                summary
                    .sanctions_hits
                    .iter()
                    .map(|h| &h.entry)
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
