// SPDX-License-Identifier: BUSL-1.1
//! A write plan: the record changes one request intends, committed later as one unit.
//!
//! Route operations and hooks never write to the database themselves. They read (through the
//! plan, so that a record planned earlier in the same request is visible), and they add
//! operations to the plan. The caller then commits the plan's operations together with the
//! request's attestation and audit event, in one transaction (`AuditLog::commit`), or not at
//! all. This is what lets a `/v1` write and a direct write share the same code.

use crate::audit::RecordOp;
use crate::db::{Db, Record};
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
