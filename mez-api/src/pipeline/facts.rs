// SPDX-License-Identifier: BUSL-1.1
//! Gathering the evidence about one entity that the spec's evidence rules read.
//!
//! The records come through the typed Mass client ([`MassCall`]), so the same code serves a
//! sovereign zone (its own store, including what the current write has planned) and a proxy
//! zone (the upstream Mass API); the attestations are the zone's own in both modes, found by
//! the `entityId` they are recorded with.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::compliance::evidence::{
    AttestationFact, CapTableFact, EntityFacts, Facts, IdentityFact, OwnerFact,
};
use crate::db::Query;
use crate::error::ApiError;
use crate::mass::{Found, MassCall};
use crate::pipeline::ATTESTATIONS;

/// The most identity checks, and attestations of each cited kind, read for one entity.
const MAX_READ: u64 = 1000;

/// The resource types whose attestations evidence entries cite.
const CITED_ATTESTATIONS: [&str; 3] = ["identity", "account", "cap_table"];

/// What the zone knows about entity `entity_id`. An unknown entity gives facts without an
/// entity record (the rules then say so), not an error.
pub async fn gather(mass: &mut MassCall<'_>, entity_id: &str) -> Result<Facts, ApiError> {
    let mut facts = Facts {
        entity_id: entity_id.to_string(),
        ..Facts::default()
    };
    let Some(org) = mass.get_organization(entity_id).await.found()? else {
        return Ok(facts);
    };
    let org = org.data;
    facts.entity = Some(EntityFacts {
        name: org.name,
        status: org.status,
        entity_type: org.entity_type,
        owners: org
            .beneficial_owners
            .unwrap_or_default()
            .iter()
            .filter_map(owner)
            .collect(),
    });

    let mut query = BTreeMap::new();
    query.insert("entity_id".to_string(), entity_id.to_string());
    query.insert("size".to_string(), MAX_READ.to_string());
    if let Some(list) = mass.list_identities(query).await.found()? {
        facts.identities = list
            .data
            .into_iter()
            .map(|i| IdentityFact {
                id: i.id,
                kind: i.kind,
                number: i.number,
                name: i.name,
                verified: i.verified,
                mock: i.mock,
                tax_status: i.tax_status,
                created_at: i.created_at,
            })
            .collect();
    }

    if let Some(table) = mass
        .get_cap_table_by_organization(entity_id)
        .await
        .found()?
    {
        let t = table.data;
        facts.cap_table = Some(CapTableFact {
            id: t.id,
            authorized: t.authorized_shares,
            issued: t.outstanding_shares,
            classes: t
                .share_classes
                .unwrap_or_default()
                .iter()
                .map(|c| {
                    (
                        c.get("name")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string(),
                        c.get("authorizedShares").and_then(Value::as_i64),
                        c.get("outstandingShares").and_then(Value::as_i64),
                    )
                })
                .collect(),
        });
    }

    facts.treasury = mass
        .get_treasury_by_entity(entity_id)
        .await
        .found()?
        .map(|t| t.data.id);

    // Only the kinds of attestation the rules cite by resource: an entity's own attestations
    // (one per write about it) would grow the read with every write and decide nothing.
    let attestations = mass
        .state()
        .db
        .find(
            ATTESTATIONS,
            &Query {
                equals: vec![("entityId", entity_id)],
                one_of: Some(("resourceType", &CITED_ATTESTATIONS)),
                limit: MAX_READ * CITED_ATTESTATIONS.len() as u64,
                ..Query::all()
            },
        )
        .await?;
    facts.attestations = attestations
        .iter()
        .map(|a| {
            let text = |key: &str| {
                a.get(key)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            };
            AttestationFact {
                id: text("id"),
                attestation_type: text("attestationType"),
                resource_type: text("resourceType"),
                resource_id: text("resourceId"),
                issued_at: text("issuedAt"),
            }
        })
        .collect();
    Ok(facts)
}

/// A beneficial owner as the organization record stores it (`name`, optional `cnic`, `ntn`).
fn owner(value: &Value) -> Option<OwnerFact> {
    let text = |key: &str| {
        value
            .get(key)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    Some(OwnerFact {
        name: text("name")?,
        cnic: text("cnic"),
        ntn: text("ntn"),
    })
}

/// The entity that owns account `account_id`, if the account exists and names one.
pub async fn account_owner(
    mass: &mut MassCall<'_>,
    account_id: &str,
) -> Result<Option<String>, ApiError> {
    Ok(mass
        .get_account(account_id)
        .await
        .found()?
        .and_then(|a| a.data.entity_id))
}
