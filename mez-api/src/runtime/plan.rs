// SPDX-License-Identifier: BUSL-1.1
//! A write plan: the record changes one request intends, committed later as one unit.
//!
//! Route operations and hooks never write to the database themselves. They read (through the
//! plan, so that a record planned earlier in the same request is visible), and they add
//! operations to the plan. The caller then commits the plan's operations together with the
//! request's attestation and audit event, in one transaction (`AuditLog::commit`), or not at
//! all. This is what lets a `/v1` write and a direct write share the same code.

use crate::audit::RecordOp;
use serde_json::Value;

use crate::db::{Db, Page, Query, Record};
use crate::error::ApiError;

/// The record changes of one request, in order.
#[derive(Debug, Default)]
pub struct Plan {
    pub ops: Vec<RecordOp>,
    /// The id of the record the request is about (the first record it creates or changes),
    /// for its audit event.
    pub resource_id: Option<String>,
}

impl Plan {
    pub fn new() -> Self {
        Self::default()
    }

    fn touch(&mut self, id: &str) {
        if self.resource_id.is_none() {
            self.resource_id = Some(id.to_string());
        }
    }

    pub fn insert(&mut self, collection: &str, id: &str, record: Record) {
        self.touch(id);
        self.ops.push(RecordOp::Insert {
            collection: collection.to_string(),
            id: id.to_string(),
            record,
        });
    }

    /// Replaces a record read at `expected_version`; the commit fails (and the request is
    /// retried from a fresh read) when another writer changed it meanwhile.
    pub fn replace(&mut self, collection: &str, id: &str, record: Record, expected_version: i64) {
        self.touch(id);
        self.ops.push(RecordOp::Replace {
            collection: collection.to_string(),
            id: id.to_string(),
            record,
            expected_version,
        });
    }

    pub fn delete(&mut self, collection: &str, id: &str) {
        self.touch(id);
        self.ops.push(RecordOp::Delete {
            collection: collection.to_string(),
            id: id.to_string(),
        });
    }

    /// The latest planned state of a record, if this plan touches it: `Some(None)` when it is
    /// planned for deletion.
    fn planned(&self, collection: &str, id: &str) -> Option<Option<&Record>> {
        self.ops.iter().rev().find_map(|op| match op {
            RecordOp::Insert {
                collection: c,
                id: i,
                record,
            }
            | RecordOp::Replace {
                collection: c,
                id: i,
                record,
                ..
            } if c == collection && i == id => Some(Some(record)),
            RecordOp::Delete {
                collection: c,
                id: i,
            } if c == collection && i == id => Some(None),
            _ => None,
        })
    }

    /// Reads a record as this request would see it after its own planned changes.
    pub async fn get(
        &self,
        db: &Db,
        collection: &str,
        id: &str,
    ) -> Result<Option<Record>, ApiError> {
        match self.planned(collection, id) {
            Some(planned) => Ok(planned.cloned()),
            None => db.get(collection, id).await,
        }
    }

    /// Lists records as this request would see them after its own planned changes: the
    /// stored matches, with planned replacements in their place (dropped when they no longer
    /// match) and planned deletions left out, then the planned inserts that match, which are
    /// the newest records, while the page has room. `total` counts what the page shows
    /// beyond the stored total only for inserts, so it stays exact whenever the plan merely
    /// adds records.
    pub async fn list(
        &self,
        db: &Db,
        collection: &str,
        query: &Query<'_>,
    ) -> Result<Page, ApiError> {
        let stored = db.list(collection, query).await?;
        if !self.ops.iter().any(|op| op_collection(op) == collection) {
            return Ok(stored);
        }
        let mut total = stored.total;
        let mut items = Vec::with_capacity(stored.items.len());
        for record in stored.items {
            let id = record_id(&record).to_string();
            match self.planned(collection, &id) {
                None => items.push(record),
                Some(Some(planned)) if matches(planned, query) => items.push(planned.clone()),
                Some(_) => total = total.saturating_sub(1),
            }
        }
        for op in &self.ops {
            let RecordOp::Insert {
                collection: c, id, ..
            } = op
            else {
                continue;
            };
            // The latest planned state of the inserted record (it may be replaced or deleted
            // later in the same plan).
            let Some(Some(latest)) = self.planned(c, id) else {
                continue;
            };
            if c != collection
                || !matches(latest, query)
                || items.iter().any(|r| record_id(r) == id)
            {
                continue;
            }
            total += 1;
            if (items.len() as u64) < query.limit {
                items.push(latest.clone());
            }
        }
        Ok(Page { items, total })
    }

    /// Reads a stored record with its version, for a later [`Plan::replace`]. A record this
    /// plan already changes cannot be replaced again in the same request.
    pub async fn get_versioned(
        &self,
        db: &Db,
        collection: &str,
        id: &str,
    ) -> Result<Option<(Record, i64)>, ApiError> {
        if self.planned(collection, id).is_some() {
            return Err(ApiError::internal(format!(
                "{collection}/{id} is changed twice in one request"
            )));
        }
        db.get_versioned(collection, id).await
    }
}

fn op_collection(op: &RecordOp) -> &str {
    match op {
        RecordOp::Insert { collection, .. }
        | RecordOp::Replace { collection, .. }
        | RecordOp::Delete { collection, .. } => collection,
    }
}

fn record_id(record: &Record) -> &str {
    record.get("id").and_then(Value::as_str).unwrap_or_default()
}

/// Whether a record meets a query's filters, as the database judges them (text equality,
/// the id list, and case-insensitive containment).
fn matches(record: &Record, query: &Query<'_>) -> bool {
    let text = |field: &str| record.get(field).and_then(Value::as_str);
    query
        .equals
        .iter()
        .all(|(field, value)| text(field) == Some(*value))
        && query
            .ids
            .is_none_or(|ids| ids.iter().any(|id| id == record_id(record)))
        && query.contains.is_none_or(|(field, needle)| {
            text(field).is_some_and(|t| t.to_lowercase().contains(&needle.to_lowercase()))
        })
}
