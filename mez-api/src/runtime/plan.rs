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

use crate::db::{Db, Query, Record};
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

    /// Finds records as this request would see them after its own planned changes: the
    /// stored page ([`Db::find`], one statement, uncounted), with planned replacements in
    /// their place (dropped when they no longer match) and planned deletions left out, then,
    /// while the page has room, the planned records that match and are not on the page yet
    /// (inserts, and stored records a replacement makes match), in plan order.
    pub async fn find(
        &self,
        db: &Db,
        collection: &str,
        query: &Query<'_>,
    ) -> Result<Vec<Record>, ApiError> {
        let stored = db.find(collection, query).await?;
        if !self.ops.iter().any(|op| op_collection(op) == collection) {
            return Ok(stored);
        }
        let mut items = Vec::with_capacity(stored.len());
        for record in stored {
            let id = record_id(&record).to_string();
            match self.planned(collection, &id) {
                None => items.push(record),
                Some(Some(planned)) if matches(planned, query) => items.push(planned.clone()),
                Some(_) => {}
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for op in &self.ops {
            if (items.len() as u64) >= query.limit {
                break;
            }
            let (RecordOp::Insert {
                collection: c, id, ..
            }
            | RecordOp::Replace {
                collection: c, id, ..
            }) = op
            else {
                continue;
            };
            if !seen.insert(id.as_str()) {
                continue;
            }
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
            items.push(latest.clone());
        }
        Ok(items)
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
        | RecordOp::Delete { collection, .. }
        | RecordOp::Add { collection, .. } => collection,
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::test_support::{on_postgres, on_sqlite};

    fn record(value: Value) -> Record {
        match value {
            Value::Object(map) => map,
            other => panic!("test record must be an object, got {other}"),
        }
    }

    fn ids(page: &[Record]) -> Vec<&str> {
        page.iter().map(record_id).collect()
    }

    fn by_owner(owner: &str) -> Query<'_> {
        Query {
            equals: vec![("owner", owner)],
            ..Query::all()
        }
    }

    /// A list through the plan shows the plan's inserts, replacements and deletions.
    async fn lists_see_the_plan(url: String) {
        let db = Db::connect(&url).await.expect("connect");
        for (id, owner) in [("a", "o1"), ("b", "o1"), ("c", "o2")] {
            db.insert("things", id, &record(json!({"id": id, "owner": owner})))
                .await
                .expect("insert");
        }
        let mut plan = Plan::new();
        // Nothing planned for the collection: the stored page as it is.
        assert_eq!(
            ids(&plan.find(&db, "things", &by_owner("o1")).await.unwrap()),
            ["a", "b"]
        );
        plan.insert("things", "d", record(json!({"id": "d", "owner": "o1"})));
        plan.insert("things", "e", record(json!({"id": "e", "owner": "o2"})));
        plan.replace("things", "b", record(json!({"id": "b", "owner": "o2"})), 1);
        plan.delete("things", "a");
        plan.insert("others", "f", record(json!({"id": "f", "owner": "o1"})));
        let page = plan.find(&db, "things", &by_owner("o1")).await.unwrap();
        assert_eq!(ids(&page), ["d"]);
        let page = plan.find(&db, "things", &by_owner("o2")).await.unwrap();
        // Stored matches first, then what the plan makes match, in plan order.
        assert_eq!(ids(&page), ["c", "e", "b"]);
        // The page size holds.
        let page = plan
            .find(
                &db,
                "things",
                &Query {
                    limit: 2,
                    ..by_owner("o2")
                },
            )
            .await
            .unwrap();
        assert_eq!(ids(&page), ["c", "e"]);
        // An insert replaced later in the plan is listed in its latest state.
        plan.replace("things", "d", record(json!({"id": "d", "owner": "o3"})), 1);
        assert!(
            plan.find(&db, "things", &by_owner("o1"))
                .await
                .unwrap()
                .is_empty()
        );
        db.close().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_lists_see_the_plan() {
        on_sqlite(lists_see_the_plan).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_lists_see_the_plan() {
        on_postgres("plan_lists_see_the_plan", lists_see_the_plan).await;
    }
}
