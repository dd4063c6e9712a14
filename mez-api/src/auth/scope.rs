// SPDX-License-Identifier: BUSL-1.1
//! Entity scope: what an `entity_operator` may see and change.
//!
//! An entity operator bound to entity E reads and writes only E and the records that belong
//! to E. Which field ties a record to its entity is the spec's per-model `entity:` link,
//! generated into [`ENTITY_LINKS`]; this module is the one hand-written function over that
//! table ([`decide`]), and the three places that apply its answer:
//!
//! - a record read by id (the store operations' `get`, `get_by` and the read before every
//!   change) that is not E's is a 404, the same answer as a record that does not exist, so
//!   the existence of another entity's records is not disclosed;
//! - a list or search is filtered in the query itself by the link field ([`list_filter`]),
//!   so pages and totals agree with what the operator may see;
//! - a route the spec declares `access: zone` is refused (403, [`admit`]);
//! - before a write commits, every record change it planned is checked ([`check_ops`]): a
//!   record of another entity is a 404, a record that names no entity (or a new entity) a
//!   403, since nothing the operator may change is identified by it.
//!
//! The scope travels with the request's task ([`within`], set by the auth middleware),
//! rather than through every generated signature: the store operations read it where they
//! build their queries. Work the zone does for itself during a request (the `/v1`
//! pipeline's compliance lookups, policy actions fired by a write) runs [`unscoped`]; what
//! it may change is still checked, explicitly, by [`check_ops`].

use std::future::Future;

use serde_json::Value;

use crate::audit::RecordOp;
use crate::db::Record;
use crate::error::ApiError;
use crate::runtime::model::Access;
use crate::state::AppState;
use crate::surface::ENTITY_LINKS;

tokio::task_local! {
    /// The entity the current request is confined to; `None` for an unconfined caller.
    static SCOPE: Option<String>;
}

/// Runs `fut` confined to `entity` (none: unconfined).
pub async fn within<F: Future>(entity: Option<String>, fut: F) -> F::Output {
    SCOPE.scope(entity, fut).await
}

/// Runs `fut` unconfined: the zone's own work inside a confined request.
pub async fn unscoped<F: Future>(fut: F) -> F::Output {
    SCOPE.scope(None, fut).await
}

/// The entity the current request is confined to, if any. Outside a request (start-up,
/// background tasks) nothing is confined.
pub fn current() -> Option<String> {
    SCOPE.try_with(Clone::clone).ok().flatten()
}

/// The field that ties a record of `collection` to its entity (`id` for the entities
/// themselves); `None` for a collection that belongs to no entity.
pub fn link(collection: &str) -> Option<&'static str> {
    ENTITY_LINKS
        .iter()
        .find(|(c, _)| *c == collection)
        .map(|(_, field)| *field)
}

/// What the scope says about one record.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    /// The record is the operator's own entity's, or belongs to no entity at all.
    Allowed,
    /// The record is another entity's: answered as if it did not exist.
    OtherEntity,
    /// The record should name an entity and names none.
    NoEntity,
}

/// The one rule: whether a record of `collection` is within the scope of `entity`.
pub fn decide(entity: &str, collection: &str, record: &Record) -> Decision {
    let Some(field) = link(collection) else {
        return Decision::Allowed;
    };
    match record.get(field).and_then(Value::as_str) {
        Some(owner) if owner == entity => Decision::Allowed,
        Some(_) => Decision::OtherEntity,
        None => Decision::NoEntity,
    }
}

/// Whether the current request may use a route of `access` (the spec's declaration): a
/// confined caller is refused a zone administration route (403); the other routes run
/// confined.
pub fn admit(access: Access, route: &str) -> Result<(), ApiError> {
    match (access, current()) {
        (Access::Zone, Some(_)) => Err(ApiError::Forbidden(format!(
            "the entity_operator role may not use {route}, a zone administration route"
        ))),
        _ => Ok(()),
    }
}

/// Whether the current request may see a record of `collection` (reads: anything but the
/// operator's own is hidden).
pub fn visible(collection: &str, record: &Record) -> bool {
    match current() {
        None => true,
        Some(entity) => decide(&entity, collection, record) == Decision::Allowed,
    }
}

/// The equality a list of `collection` must add for the current request: the link field and
/// the operator's entity. `None` when the request is unconfined or the collection belongs to
/// no entity.
pub fn list_filter(collection: &str) -> Option<(&'static str, String)> {
    let entity = current()?;
    link(collection).map(|field| (field, entity))
}

/// Checks every planned record change of a write by the operator of `entity`: the record
/// as it will be and, for a change or a deletion, as it is stored. Another entity's record
/// is a 404 (as if it did not exist); a record naming no entity, or a new entity, a 403.
pub async fn check_ops(state: &AppState, entity: &str, ops: &[RecordOp]) -> Result<(), ApiError> {
    for op in ops {
        let (collection, id, after) = op.target();
        let inserted = matches!(op, RecordOp::Insert { .. });
        if inserted && link(collection) == Some("id") {
            return Err(ApiError::Forbidden(
                "an entity_operator may not create an entity".into(),
            ));
        }
        if link(collection).is_none() {
            continue;
        }
        let stored = if inserted {
            None
        } else {
            state.db.get(collection, id).await?
        };
        for record in [after, stored.as_ref()].into_iter().flatten() {
            match decide(entity, collection, record) {
                Decision::Allowed => {}
                // A new record naming another entity is answered as one naming an entity
                // that does not exist; a stored one as a record that does not.
                Decision::OtherEntity if inserted => {
                    let owner = link(collection)
                        .and_then(|field| record.get(field))
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    return Err(entity_not_found(owner));
                }
                Decision::OtherEntity => return Err(not_found(collection, id)),
                Decision::NoEntity => {
                    return Err(ApiError::Forbidden(format!(
                        "an entity_operator may only change records of its own entity; \
                         this {collection} record names none"
                    )));
                }
            }
        }
    }
    Ok(())
}

/// The 404 of a stored record outside the scope.
pub fn not_found(collection: &str, id: &str) -> ApiError {
    ApiError::NotFound(format!("{collection} {id} not found"))
}

/// The 404 of an entity outside the scope, worded as the pipeline's 404 of an entity that
/// does not exist.
pub fn entity_not_found(entity: &str) -> ApiError {
    ApiError::NotFound(format!("Organization {entity} not found"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(value: Value) -> Record {
        match value {
            Value::Object(map) => map,
            _ => Record::new(),
        }
    }

    #[test]
    fn a_record_is_its_linked_entitys() {
        let own = record(json!({"id": "c1", "organizationId": "A"}));
        let other = record(json!({"id": "c2", "organizationId": "B"}));
        let none = record(json!({"id": "c3"}));
        assert_eq!(decide("A", "cap_tables", &own), Decision::Allowed);
        assert_eq!(decide("A", "cap_tables", &other), Decision::OtherEntity);
        assert_eq!(decide("A", "cap_tables", &none), Decision::NoEntity);
        // An entity is its own: its link is its id.
        let org = record(json!({"id": "A"}));
        assert_eq!(decide("A", "organizations", &org), Decision::Allowed);
        assert_eq!(decide("B", "organizations", &org), Decision::OtherEntity);
        // A collection no entity owns is never refused by scope.
        assert_eq!(decide("A", "idempotency_keys", &none), Decision::Allowed);
    }

    #[tokio::test]
    async fn a_zone_route_is_refused_to_a_confined_caller_only() {
        let route = "POST /zone/thing";
        assert!(admit(Access::Zone, route).is_ok());
        within(Some("A".into()), async {
            let err = admit(Access::Zone, route).expect_err("a zone route");
            assert_eq!(err.status_code(), 403);
            assert!(err.to_string().contains("entity_operator"), "{err}");
            assert!(admit(Access::Entity, route).is_ok());
            assert!(admit(Access::Public, route).is_ok());
        })
        .await;
    }

    #[tokio::test]
    async fn the_scope_holds_inside_its_request_only() {
        assert_eq!(current(), None);
        within(Some("A".into()), async {
            assert_eq!(current().as_deref(), Some("A"));
            assert_eq!(list_filter("accounts"), Some(("entityId", "A".to_string())));
            unscoped(async { assert_eq!(current(), None) }).await;
        })
        .await;
        assert_eq!(current(), None);
    }
}
