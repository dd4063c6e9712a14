// SPDX-License-Identifier: BUSL-1.1
//! Reloading the sanctions list, and re-screening the zone against it.
//!
//! On SIGHUP or `POST /v1/sanctions/reload` the zone reads `MEZ_SANCTIONS_FILE` again (a
//! list that does not load leaves the old one in force, and says why), puts the new list in
//! force, and screens every stored organization's name and beneficial owners against it. An
//! organization the new list names and the old one did not is a **new hit**: its credentials
//! are revoked (one commit, a `sanctions.credentials_revoked` event) and a
//! `sanctions_list_update` trigger `{entity_id, affected_parties: ["self"], new_sanctioned:
//! true}` is received for it, which the standard policies turn into a halt. The reload itself
//! fires `sanctions_list_update` `{update_type: list_version_change}` for the zone (recorded
//! in the manifest by `sanctions_notify`) and is recorded as `sanctions.list_reloaded`.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{Trigger, actions};
use crate::audit::{AuditDraft, WriteUnit};
use crate::clock::now_rfc3339;
use crate::compliance::SanctionsList;
use crate::credentials::status::{Purpose, entity_status_ops};
use crate::error::ApiError;
use crate::mass::MassCall;
use crate::runtime::commit::Retries;
use crate::state::AppState;

/// Organizations read per page while re-screening.
const PAGE: usize = 1000;

/// The names of an organization the zone screens: its own and its beneficial owners'.
fn names_of(org: &Value) -> Vec<String> {
    let mut names: Vec<String> = org
        .get("name")
        .and_then(Value::as_str)
        .map(str::to_string)
        .into_iter()
        .collect();
    if let Some(owners) = org.get("beneficialOwners").and_then(Value::as_array) {
        names.extend(
            owners
                .iter()
                .filter_map(|o| o.get("name").and_then(Value::as_str))
                .map(str::to_string),
        );
    }
    names
}

/// Every organization of the zone, through the Mass surface (its own store when sovereign).
async fn organizations(state: &AppState) -> Result<Vec<Value>, ApiError> {
    let mut out = Vec::new();
    for page in 0.. {
        let mut mass = MassCall::new(state);
        let mut query = BTreeMap::new();
        query.insert("page".to_string(), page.to_string());
        query.insert("size".to_string(), PAGE.to_string());
        let answer = mass.list_organizations(query).await?;
        let items = match answer.json {
            Value::Array(items) => items,
            other => other
                .get("content")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
        };
        let n = items.len();
        out.extend(items);
        if n < PAGE {
            break;
        }
    }
    Ok(out)
}

/// Revokes every credential of an entity, in one commit with its audit event.
async fn revoke_all(
    state: &AppState,
    entity: &str,
    entries: &[String],
) -> Result<Vec<String>, ApiError> {
    let mut retries = Retries::default();
    loop {
        let now = now_rfc3339();
        let (ops, revoked) =
            entity_status_ops(state, entity, Purpose::Revocation, true, &now).await?;
        if ops.is_empty() {
            return Ok(revoked);
        }
        let unit = WriteUnit {
            ops,
            audit: AuditDraft {
                event_type: "sanctions.credentials_revoked".into(),
                actor: state.zone_did().to_string(),
                resource_type: "entity".into(),
                resource_id: entity.to_string(),
                action: "revoke".into(),
                metadata: json!({ "credentials": revoked, "listed_as": entries }),
            },
        };
        if retries.commit(state, unit).await? {
            return Ok(revoked);
        }
    }
}

/// Reloads the list from the configured files and re-screens the zone. Answers `{entries,
/// rescreened, new_hits: [{entity_id, name, listed_as, credentials_revoked, actions}]}`.
pub async fn reload(state: &AppState) -> Result<Value, ApiError> {
    let files = state.config.sanctions_files.clone();
    let threshold = state.config.sanctions_threshold;
    let loaded = tokio::task::spawn_blocking(move || SanctionsList::load(&files))
        .await
        .map_err(|err| ApiError::internal(format!("loading the sanctions list: {err}")))?;
    let new = loaded
        .map_err(|err| {
            ApiError::conflict(
                crate::error::ConflictKind::State,
                format!("the sanctions list did not load, and the old one stays in force: {err}"),
            )
        })?
        .with_threshold(threshold);
    let entries = new.len();
    let sources = json!(new.sources());
    let old = state.sanctions.replace(new);
    let new = state.sanctions.current();

    let orgs = organizations(state).await?;
    let mut hits = Vec::new();
    for org in &orgs {
        let Some(id) = org.get("id").and_then(Value::as_str) else {
            continue;
        };
        let names = names_of(org);
        let now_listed = new.screen_all(&names);
        if now_listed.is_empty() || !old.screen_all(&names).is_empty() {
            continue;
        }
        let listed_as: Vec<String> = now_listed.iter().map(|h| h.entry.clone()).collect();
        let revoked = revoke_all(state, id, &listed_as).await?;
        let trigger = Trigger {
            trigger_type: "sanctions_list_update".into(),
            subject: Some(id.to_string()),
            jurisdiction: org
                .get("jurisdiction")
                .and_then(Value::as_str)
                .map(str::to_string),
            data: json!({
                "entity_id": id,
                "affected_parties": ["self"],
                "new_sanctioned": true,
                "listed_as": listed_as,
            }),
        };
        let produced = actions::receive(state, &trigger, state.zone_did()).await?;
        hits.push(json!({
            "entity_id": id,
            "name": org.get("name"),
            "listed_as": listed_as,
            "credentials_revoked": revoked,
            "actions": produced.iter().map(actions::brief).collect::<Vec<_>>(),
        }));
    }
    let version = Trigger {
        trigger_type: "sanctions_list_update".into(),
        subject: None,
        jurisdiction: None,
        data: json!({ "update_type": "list_version_change", "entries": entries, "sources": sources }),
    };
    actions::receive(state, &version, state.zone_did()).await?;
    let answer = json!({
        "entries": entries,
        "sources": sources,
        "rescreened": orgs.len(),
        "new_hits": hits,
    });
    state
        .audit
        .commit(WriteUnit {
            ops: Vec::new(),
            audit: AuditDraft {
                event_type: "sanctions.list_reloaded".into(),
                actor: state.zone_did().to_string(),
                resource_type: "sanctions_list".into(),
                resource_id: String::new(),
                action: "reload".into(),
                metadata: answer.clone(),
            },
        })
        .await?;
    tracing::info!(
        entries,
        rescreened = orgs.len(),
        new_hits = hits.len(),
        "sanctions list reloaded"
    );
    Ok(answer)
}
