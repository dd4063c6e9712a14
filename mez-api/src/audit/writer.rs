// SPDX-License-Identifier: BUSL-1.1
//! The audit log's writer task: the one place in a zone process that appends to the chain.
//!
//! Commits arrive over a channel. The writer takes up to [`BATCH_SIZE`] of them at a time and
//! runs them in one database transaction:
//!
//! 1. begin (SQLite: `BEGIN IMMEDIATE`, which takes the file's write lock), then on
//!    PostgreSQL take the chain's advisory lock, so another replica's batch waits for this
//!    one to commit;
//! 2. read the chain head (last sequence and hash) from the database;
//! 3. for each unit: `SAVEPOINT`, apply its record changes, append its event after the head;
//!    if a change is refused, `ROLLBACK TO SAVEPOINT` undoes that unit alone and its caller
//!    gets the reason, while the other units go on;
//! 4. `COMMIT`, then answer every caller.
//!
//! A batch that fails as a whole (a lock timeout, a lost connection, another writer that
//! appended at the same place) is run again from a fresh head, a few times, before its units
//! fail. If the `COMMIT` itself fails, the transaction may or may not have taken effect; the
//! next attempt, once it holds the chain lock, first looks for the batch's last event, so a
//! batch is never applied twice.

use std::time::Duration;

use rand::Rng;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use super::{AuditDraft, AuditEvent, Covered, RecordOp, WriteUnit};
use crate::canonical::canonical_bytes;
use crate::clock;
use crate::db::{self, Backend, Db, Pool};
use crate::error::{ApiError, ConflictKind};

/// How many waiting units one transaction takes at most. Large enough to amortise the
/// commit (one disk flush) over a burst, small enough that one batch stays short.
const BATCH_SIZE: usize = 64;

/// How many times a batch is run before its units fail.
const BATCH_ATTEMPTS: u32 = 5;

/// The PostgreSQL advisory lock key that serialises appends across replicas: the ASCII bytes
/// of "mezaudit". Any process appending to the chain takes it, transaction-scoped, before it
/// reads the head.
const CHAIN_LOCK_KEY: i64 = 0x6d65_7a61_7564_6974;

/// The savepoint that brackets one unit inside a batch.
const SAVEPOINT: &str = "SAVEPOINT audit_unit";
const ROLLBACK_TO_SAVEPOINT: &str = "ROLLBACK TO SAVEPOINT audit_unit";
const RELEASE_SAVEPOINT: &str = "RELEASE SAVEPOINT audit_unit";

const HEAD_SQL: &str =
    "SELECT sequence, event_hash FROM audit_events ORDER BY sequence DESC LIMIT 1";
const APPEND_SQL: &str = "INSERT INTO audit_events (sequence, event_type, actor, \
     resource_type, resource_id, action, metadata, timestamp, previous_hash, event_hash) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
const EVENT_HASH_AT_SQL: &str = "SELECT event_hash FROM audit_events WHERE sequence = $1";

/// What a caller gets back for its unit.
type Answer = Result<AuditEvent, ApiError>;

/// A unit on its way to the writer, with the caller's reply channel.
pub(super) struct Job {
    pub(super) prepared: Prepared,
    pub(super) reply: oneshot::Sender<Answer>,
}

/// A unit with everything that does not depend on the chain head worked out in advance, on
/// the caller's task: record bodies serialised, metadata canonicalised.
pub(super) struct Prepared {
    ops: Vec<Op>,
    draft: AuditDraft,
    /// The canonical JSON text of the draft's metadata: what the row stores.
    metadata_text: String,
}

/// A [`RecordOp`] with its record already serialised.
enum Op {
    Insert {
        collection: String,
        id: String,
        body: String,
    },
    Replace {
        collection: String,
        id: String,
        body: String,
        expected_version: i64,
    },
    Delete {
        collection: String,
        id: String,
    },
    Add {
        collection: String,
        id: String,
        field: String,
        amount: rust_decimal::Decimal,
        seed: String,
    },
}

impl Prepared {
    pub(super) fn new(unit: WriteUnit) -> Result<Prepared, ApiError> {
        let ops = unit
            .ops
            .into_iter()
            .map(|op| {
                Ok(match op {
                    RecordOp::Insert {
                        collection,
                        id,
                        record,
                    } => Op::Insert {
                        body: db::encode(&record)?,
                        collection,
                        id,
                    },
                    RecordOp::Replace {
                        collection,
                        id,
                        record,
                        expected_version,
                    } => Op::Replace {
                        body: db::encode(&record)?,
                        collection,
                        id,
                        expected_version,
                    },
                    RecordOp::Delete { collection, id } => Op::Delete { collection, id },
                    RecordOp::Add {
                        collection,
                        id,
                        field,
                        amount,
                        seed,
                    } => Op::Add {
                        seed: db::encode(&seed)?,
                        collection,
                        id,
                        field,
                        amount,
                    },
                })
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        let mut draft = unit.audit;
        if let Some(path) = inexact_integer(&draft.metadata, "metadata") {
            // Canonical JSON reads numbers as doubles, so this integer would be stored and
            // hashed as a different number. Refusing is better than silently changing it.
            return Err(ApiError::Internal(format!(
                "audit event {}: {path} is an integer beyond 2^53, which canonical JSON \
                 cannot hold exactly; write it as a string",
                draft.event_type
            )));
        }
        let metadata_text = String::from_utf8(canonical_bytes(&draft.metadata)?)
            .map_err(|err| ApiError::internal(format!("canonical JSON is not UTF-8: {err}")))?;
        // The event carries the metadata as stored (canonical key order and numbers), so
        // what the commit returns is what a later read returns, and what the hash covers.
        draft.metadata = serde_json::from_str(&metadata_text).map_err(|err| {
            ApiError::internal(format!("canonical JSON does not parse back: {err}"))
        })?;
        Ok(Prepared {
            ops,
            draft,
            metadata_text,
        })
    }

    /// The event this unit appends after `head`, hash included.
    fn seal(&self, head: &Head) -> Result<AuditEvent, ApiError> {
        let mut event = AuditEvent {
            sequence: head.sequence + 1,
            event_type: self.draft.event_type.clone(),
            actor: self.draft.actor.clone(),
            resource_type: self.draft.resource_type.clone(),
            resource_id: self.draft.resource_id.clone(),
            action: self.draft.action.clone(),
            metadata: self.draft.metadata.clone(),
            timestamp: clock::now_rfc3339(),
            previous_hash: head.hash.clone(),
            event_hash: String::new(),
        };
        // The hash covers the metadata text as it will be stored (already canonical).
        event.event_hash = Covered {
            sequence: event.sequence,
            event_type: &event.event_type,
            actor: &event.actor,
            resource_type: &event.resource_type,
            resource_id: &event.resource_id,
            action: &event.action,
            metadata: &self.metadata_text,
            timestamp: &event.timestamp,
            previous_hash: &event.previous_hash,
        }
        .hash()?;
        Ok(event)
    }
}

/// The path of the first integer in `value` that a double cannot hold exactly, if any.
fn inexact_integer(value: &Value, path: &str) -> Option<String> {
    const EXACT: u64 = 1 << 53;
    match value {
        Value::Number(number) => {
            let magnitude = number
                .as_u64()
                .or_else(|| number.as_i64().map(i64::unsigned_abs));
            magnitude.filter(|&m| m > EXACT).map(|_| path.to_owned())
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(at, item)| inexact_integer(item, &format!("{path}[{at}]"))),
        Value::Object(members) => members
            .iter()
            .find_map(|(key, member)| inexact_integer(member, &format!("{path}.{key}"))),
        Value::Null | Value::Bool(_) | Value::String(_) => None,
    }
}

/// The newest event of the chain, or the genesis position when it is empty.
#[derive(Clone, Debug)]
pub(super) struct Head {
    pub(super) sequence: i64,
    pub(super) hash: String,
}

impl Head {
    fn genesis() -> Head {
        Head {
            sequence: 0,
            hash: super::GENESIS_HASH.to_owned(),
        }
    }
}

/// How a run of a batch ended, when it did not fail.
pub(super) enum Outcome {
    /// The batch committed (or every unit was refused); one answer per unit.
    Answered(Vec<Answer>),
    /// The earlier run whose commit was uncertain did commit: its answers stand, and this
    /// run wrote nothing.
    AlreadyCommitted,
}

/// Why a whole batch did not commit.
pub(super) enum Failure {
    /// Nothing was written, and running the batch again may succeed: a lock wait ran out, a
    /// connection was lost, or another writer appended where this batch meant to.
    Retry(String),
    /// Nothing was written, and running it again would fail the same way.
    Fatal(String),
    /// `COMMIT` failed, so it is unknown whether the batch took effect. If it did, its last
    /// event is in the chain with exactly this sequence and hash, and `answers` are right.
    Uncertain {
        cause: String,
        last: Head,
        answers: Vec<Answer>,
    },
}

impl Failure {
    /// Classifies a failure of a statement that is not one unit's own (begin, lock, head,
    /// savepoints).
    fn of(err: &sqlx::Error) -> Failure {
        if batch_may_succeed_again(err) {
            Failure::Retry(err.to_string())
        } else {
            Failure::Fatal(err.to_string())
        }
    }
}

/// Whether `err` from any statement of a batch calls for running the batch again: a
/// transient failure, a lost connection, or a unique violation (records ops never raise
/// one, so it comes from appending at a place another writer took).
fn batch_may_succeed_again(err: &sqlx::Error) -> bool {
    db::is_transient(err) || db::is_unique_violation(err)
}

/// Whether `err` from one unit's statements must fail the whole batch rather than only that
/// unit: anything that is not a plain database refusal of that unit's data.
fn fails_the_batch(err: &sqlx::Error) -> bool {
    batch_may_succeed_again(err) || err.as_database_error().is_none()
}

/// The writer task: runs batches until every [`super::AuditLog`] handle is gone.
pub(super) async fn run(
    db: Db,
    mut inbox: mpsc::Receiver<Job>,
    signer: Option<std::sync::Arc<crate::credentials::ZoneKey>>,
    // Dropped when the task ends, which is what [`super::AuditLog::close`] waits for.
    _done: tokio::sync::watch::Sender<()>,
) {
    let mut jobs = Vec::with_capacity(BATCH_SIZE);
    // `recv_many` returns 0 only once the channel is closed (the last handle dropped) and
    // empty, so every unit handed over is answered before the task ends.
    while inbox.recv_many(&mut jobs, BATCH_SIZE).await > 0 {
        let (replies, units): (Vec<_>, Vec<_>) =
            jobs.drain(..).map(|job| (job.reply, job.prepared)).unzip();
        let started = std::time::Instant::now();
        let answers = commit_batch(&db, &units, signer.as_deref()).await;
        crate::metrics::record_audit_batch(units.len(), started);
        for (reply, answer) in replies.into_iter().zip(answers) {
            // A caller that stopped waiting has nobody to tell; its unit stands as decided.
            let _ = reply.send(answer);
        }
    }
    tracing::debug!("audit log writer stopped: no handles left");
}

/// Inserts or moves the head forward, never back.
const SIGN_HEAD_SQL: &str = "INSERT INTO audit_head (id, sequence, event_hash, signature) \
     VALUES (1, $1, $2, $3) ON CONFLICT (id) DO UPDATE SET sequence = excluded.sequence, \
     event_hash = excluded.event_hash, signature = excluded.signature \
     WHERE audit_head.sequence < excluded.sequence";

/// Runs one batch to completion, retrying as a whole when that may help, and returns one
/// answer per unit, in order.
pub(super) async fn commit_batch(
    db: &Db,
    units: &[Prepared],
    signer: Option<&crate::credentials::ZoneKey>,
) -> Vec<Answer> {
    // The last event and the answers of a run whose COMMIT failed without saying whether it
    // took effect; the next run checks for that event before doing anything.
    let mut uncertain: Option<(Head, Vec<Answer>)> = None;
    let mut cause = String::new();
    for attempt in 0..BATCH_ATTEMPTS {
        if attempt > 0 {
            pause(attempt).await;
        }
        let earlier = uncertain.as_ref().map(|(last, _)| last);
        match run_once(db, units, earlier, signer).await {
            Ok(Outcome::Answered(answers)) => return answers,
            Ok(Outcome::AlreadyCommitted) => {
                if let Some((_, answers)) = uncertain.take() {
                    return answers;
                }
            }
            Err(Failure::Retry(why)) => {
                tracing::warn!(attempt, units = units.len(), cause = %why, "audit batch will be retried");
                cause = why;
            }
            Err(Failure::Fatal(why)) => {
                return fail_all(units, || ApiError::Internal(format!("audit batch: {why}")));
            }
            Err(Failure::Uncertain {
                cause: why,
                last,
                answers,
            }) => {
                tracing::warn!(attempt, units = units.len(), cause = %why, "audit batch commit failed");
                cause = why;
                uncertain = Some((last, answers));
            }
        }
    }
    // Out of attempts with a commit still in doubt: one last look before giving up.
    if let Some((last, answers)) = uncertain {
        if let Ok(true) = holds_event(db, &last).await {
            return answers;
        }
    }
    tracing::error!(units = units.len(), %cause, "audit batch failed after retries");
    fail_all(units, || {
        ApiError::ServiceUnavailable("the audit log could not be written; try again".into())
    })
}

/// Runs the batch once, on whichever engine the store uses.
pub(super) async fn run_once(
    db: &Db,
    units: &[Prepared],
    earlier: Option<&Head>,
    signer: Option<&crate::credentials::ZoneKey>,
) -> Result<Outcome, Failure> {
    match db.pool() {
        Pool::Sqlite(pool) => on_sqlite::run(pool, units, earlier, signer).await,
        Pool::Postgres(pool) => on_postgres::run(pool, units, earlier, signer).await,
    }
}

/// The signature of a head: Ed25519 over [`super::head_message`], hex-encoded.
fn sign_head(key: &crate::credentials::ZoneKey, head: &Head) -> Result<String, ApiError> {
    use ed25519_dalek::Signer;
    let message = super::head_message(key.did(), head.sequence, &head.hash)?;
    Ok(hex::encode(key.signing_key().sign(&message).to_bytes()))
}

fn fail_all(units: &[Prepared], error: impl Fn() -> ApiError) -> Vec<Answer> {
    units.iter().map(|_| Err(error())).collect()
}

/// A random pause that grows with each attempt, so that writers which failed together do not
/// collide again at once.
async fn pause(attempt: u32) {
    let millis = rand::rng().random_range(5..=20u64) << attempt.min(6);
    tokio::time::sleep(Duration::from_millis(millis)).await;
}

/// Whether the chain holds `event` at its sequence (with its exact hash).
async fn holds_event(db: &Db, event: &Head) -> Result<bool, sqlx::Error> {
    let stored = db::on_pool!(db, pool => {
        sqlx::query_scalar::<_, String>(EVENT_HASH_AT_SQL)
            .bind(event.sequence)
            .fetch_optional(pool)
            .await
    })?;
    Ok(stored.as_deref() == Some(event.hash.as_str()))
}

/// What went wrong with one unit inside a batch.
enum UnitFailure {
    /// The unit is refused (its answer); the batch goes on.
    Refused(ApiError),
    /// A statement failed; [`fails_the_batch`] decides whether only this unit fails.
    Statement(sqlx::Error),
}

impl From<sqlx::Error> for UnitFailure {
    fn from(err: sqlx::Error) -> Self {
        UnitFailure::Statement(err)
    }
}

/// Defines the batch transaction for one engine, as a module with a `run` function.
///
/// The code is the same for both engines; a macro rather than a generic function because
/// sqlx's engine-generic bounds for running queries on a transaction are long and obscure,
/// while this compiles the same plain code once per concrete engine.
/// The statements a batch binds that depend on the backend.
struct Sql<'a> {
    compare_and_swap: &'a str,
    /// Reads a record's body and version, holding its row until the transaction ends.
    lock: &'static str,
}

/// A stored body with `amount` added to its decimal-string field `field`.
fn added(body: &str, field: &str, amount: rust_decimal::Decimal) -> Result<String, String> {
    let mut record = db::decode(body).map_err(|err| err.to_string())?;
    let before = record
        .get(field)
        .and_then(Value::as_str)
        .and_then(|v| v.parse::<rust_decimal::Decimal>().ok())
        .ok_or_else(|| format!("\"{field}\" is not a decimal string"))?;
    let sum = before
        .checked_add(amount)
        .ok_or_else(|| format!("\"{field}\" would overflow"))?;
    record.insert(field.to_string(), Value::String(sum.to_string()));
    db::encode(&record).map_err(|err| err.to_string())
}

macro_rules! batch_module {
    ($module:ident, $engine:ty, $connection:ty, $backend:expr) => {
        mod $module {
            use super::*;

            /// Runs `units` in one transaction and answers each, or fails as a whole.
            ///
            /// `earlier` is the last event of an earlier run whose commit is in doubt; if
            /// the chain holds it, that run committed and this one writes nothing.
            pub(super) async fn run(
                pool: &sqlx::Pool<$engine>,
                units: &[Prepared],
                earlier: Option<&Head>,
                signer: Option<&crate::credentials::ZoneKey>,
            ) -> Result<Outcome, Failure> {
                let backend: Backend = $backend;
                let mut tx = pool
                    .begin_with(backend.begin_write())
                    .await
                    .map_err(|err| Failure::of(&err))?;
                if let Some(preamble) = backend.write_preamble() {
                    control(&mut tx, &preamble).await?;
                }
                if backend == Backend::Postgres {
                    sqlx::query("SELECT pg_advisory_xact_lock($1)")
                        .bind(CHAIN_LOCK_KEY)
                        .execute(&mut *tx)
                        .await
                        .map_err(|err| Failure::of(&err))?;
                }
                // Read after the lock: on PostgreSQL each statement sees what was committed
                // before it started, so this sees every batch that held the lock before us.
                let mut head = sqlx::query_as::<_, (i64, String)>(HEAD_SQL)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(|err| Failure::of(&err))?
                    .map_or_else(Head::genesis, |(sequence, hash)| Head { sequence, hash });
                if let Some(earlier) = earlier {
                    // Under the lock, so a commit still finishing elsewhere has finished.
                    let stored = sqlx::query_scalar::<_, String>(EVENT_HASH_AT_SQL)
                        .bind(earlier.sequence)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(|err| Failure::of(&err))?;
                    if stored.as_deref() == Some(earlier.hash.as_str()) {
                        // Nothing was written; ending the transaction is all that is left.
                        let _ = tx.rollback().await;
                        return Ok(Outcome::AlreadyCommitted);
                    }
                }
                let compare_and_swap = backend.compare_and_swap_sql();
                let sql = Sql {
                    compare_and_swap: &compare_and_swap,
                    lock: backend.lock_record_sql(),
                };

                let mut answers = Vec::with_capacity(units.len());
                let mut appended = false;
                for unit in units {
                    control(&mut tx, SAVEPOINT).await?;
                    let refusal = match apply(&mut tx, &sql, unit, &head).await {
                        Ok(event) => {
                            control(&mut tx, RELEASE_SAVEPOINT).await?;
                            head = Head {
                                sequence: event.sequence,
                                hash: event.event_hash.clone(),
                            };
                            appended = true;
                            answers.push(Ok(event));
                            continue;
                        }
                        Err(UnitFailure::Refused(refusal)) => refusal,
                        Err(UnitFailure::Statement(err)) if fails_the_batch(&err) => {
                            return Err(Failure::of(&err));
                        }
                        Err(UnitFailure::Statement(err)) => {
                            tracing::error!(error = %err, "audit unit refused by the database");
                            ApiError::Internal(format!("audit unit: {err}"))
                        }
                    };
                    // Undo this unit alone. A rolled-back-to savepoint stays open, so it is
                    // released too.
                    control(&mut tx, ROLLBACK_TO_SAVEPOINT).await?;
                    control(&mut tx, RELEASE_SAVEPOINT).await?;
                    answers.push(Err(refusal));
                }

                // The signed head moves with the events, in the same transaction (forward only:
                // the chain lock orders batches, so this head is the newest).
                if let (Some(key), true) = (signer, appended) {
                    let signature = sign_head(key, &head).map_err(|e| Failure::Fatal(e.to_string()))?;
                    sqlx::query(SIGN_HEAD_SQL)
                        .bind(head.sequence)
                        .bind(&head.hash)
                        .bind(&signature)
                        .execute(&mut *tx)
                        .await
                        .map_err(|err| Failure::of(&err))?;
                }
                match tx.commit().await {
                    Ok(()) => Ok(Outcome::Answered(answers)),
                    // With every unit refused the transaction wrote nothing, so whether its
                    // commit went through does not matter.
                    Err(_) if !appended => Ok(Outcome::Answered(answers)),
                    Err(err) => Err(Failure::Uncertain {
                        cause: err.to_string(),
                        last: head,
                        answers,
                    }),
                }
            }

            /// Runs a statement of the batch's own (savepoints, settings) that binds nothing.
            ///
            /// Through `Executor::execute` on the text, which sends it unprepared (utility
            /// statements gain nothing from a prepared-statement cache) and, unlike
            /// `sqlx::raw_sql`, yields a future the compiler can prove `Send` for the
            /// spawned writer task.
            async fn control(conn: &mut $connection, statement: &str) -> Result<(), Failure> {
                sqlx::Executor::execute(conn, statement)
                    .await
                    .map(|_| ())
                    .map_err(|err| Failure::of(&err))
            }

            /// Applies an [`Op::Add`]: the record's row is read and held (PostgreSQL locks it;
            /// SQLite's write transaction holds the whole file), the sum written back under
            /// its version, or the seed inserted when there is no row. A row another replica
            /// inserted or changed in between is read again.
            async fn add(
                conn: &mut $connection,
                sql: &Sql<'_>,
                (collection, id, field): (&str, &str, &str),
                amount: rust_decimal::Decimal,
                seed: &str,
            ) -> Result<(), UnitFailure> {
                for _ in 0..3 {
                    let row = sqlx::query_as::<_, (String, i64)>(sql.lock)
                        .bind(collection)
                        .bind(id)
                        .fetch_optional(&mut *conn)
                        .await?;
                    let done = match row {
                        None => {
                            sqlx::query(db::INSERT_IF_ABSENT_SQL)
                                .bind(collection)
                                .bind(id)
                                .bind(seed)
                                .execute(&mut *conn)
                                .await?
                        }
                        Some((body, version)) => {
                            let body = added(&body, field, amount).map_err(|err| {
                                UnitFailure::Refused(ApiError::internal(format!(
                                    "{collection} record {id}: {err}"
                                )))
                            })?;
                            sqlx::query(sql.compare_and_swap)
                                .bind(body)
                                .bind(collection)
                                .bind(id)
                                .bind(version)
                                .execute(&mut *conn)
                                .await?
                        }
                    };
                    if done.rows_affected() > 0 {
                        return Ok(());
                    }
                }
                Err(UnitFailure::Refused(ApiError::conflict(
                    ConflictKind::Stale,
                    format!("{collection} record {id} kept changing while a sum was added to it"),
                )))
            }

            /// Applies one unit's record changes and appends its event after `head`.
            async fn apply(
                conn: &mut $connection,
                sql: &Sql<'_>,
                unit: &Prepared,
                head: &Head,
            ) -> Result<AuditEvent, UnitFailure> {
                for op in &unit.ops {
                    match op {
                        Op::Insert {
                            collection,
                            id,
                            body,
                        } => {
                            let done = sqlx::query(db::INSERT_IF_ABSENT_SQL)
                                .bind(collection)
                                .bind(id)
                                .bind(body)
                                .execute(&mut *conn)
                                .await?;
                            if done.rows_affected() == 0 {
                                return Err(UnitFailure::Refused(ApiError::conflict(
                                    ConflictKind::Exists,
                                    format!("{collection} record {id} already exists"),
                                )));
                            }
                        }
                        Op::Replace {
                            collection,
                            id,
                            body,
                            expected_version,
                        } => {
                            let done = sqlx::query(sql.compare_and_swap)
                                .bind(body)
                                .bind(collection)
                                .bind(id)
                                .bind(*expected_version)
                                .execute(&mut *conn)
                                .await?;
                            if done.rows_affected() == 0 {
                                return Err(UnitFailure::Refused(ApiError::conflict(
                                    ConflictKind::Stale,
                                    format!(
                                        "{collection} record {id} changed concurrently; read it again and retry"
                                    ),
                                )));
                            }
                        }
                        Op::Add {
                            collection,
                            id,
                            field,
                            amount,
                            seed,
                        } => add(conn, sql, (collection, id, field), *amount, seed).await?,
                        Op::Delete { collection, id } => {
                            let done = sqlx::query(db::DELETE_SQL)
                                .bind(collection)
                                .bind(id)
                                .execute(&mut *conn)
                                .await?;
                            if done.rows_affected() == 0 {
                                return Err(UnitFailure::Refused(ApiError::NotFound(format!(
                                    "{collection} record {id} not found"
                                ))));
                            }
                        }
                    }
                }
                let event = unit.seal(head).map_err(UnitFailure::Refused)?;
                sqlx::query(APPEND_SQL)
                    .bind(event.sequence)
                    .bind(&event.event_type)
                    .bind(&event.actor)
                    .bind(&event.resource_type)
                    .bind(&event.resource_id)
                    .bind(&event.action)
                    .bind(&unit.metadata_text)
                    .bind(&event.timestamp)
                    .bind(&event.previous_hash)
                    .bind(&event.event_hash)
                    .execute(&mut *conn)
                    .await?;
                Ok(event)
            }
        }
    };
}

batch_module!(
    on_sqlite,
    sqlx::Sqlite,
    sqlx::SqliteConnection,
    Backend::Sqlite
);
batch_module!(
    on_postgres,
    sqlx::Postgres,
    sqlx::PgConnection,
    Backend::Postgres
);
