// SPDX-License-Identifier: BUSL-1.1
//! The audit log: every write of the zone, committed together with its audit event, in one
//! hash chain that cannot fork and cannot be edited unnoticed.
//!
//! A write is a [`WriteUnit`]: the record changes it makes ([`RecordOp`]s) and the event that
//! describes it ([`AuditDraft`]). [`AuditLog::commit`] hands the unit to the zone process's one
//! writer task, which applies the changes and appends the event in the same database
//! transaction, so the two are written together or not at all.
//!
//! Why the chain holds:
//!
//! - **One sequencer per process, the database across processes.** The writer takes the units
//!   waiting for it in batches, and for each batch opens one transaction, locks the chain
//!   (PostgreSQL: a transaction-scoped advisory lock, so replicas take turns; SQLite: the
//!   file's write lock) and reads the chain head from the database. Nothing about the chain
//!   lives in memory between batches, so several replicas append to one chain.
//! - **The database refuses a fork** even if that locking were bypassed: the sequence is the
//!   primary key and `previous_hash` is unique, so two events can neither take the same place
//!   nor follow the same predecessor. A writer that loses such a race retries its batch from
//!   the new head. The table also refuses updates and deletes.
//! - **The hash covers every field**: the SHA-256 of the RFC 8785 canonical JSON of the event
//!   type, actor, resource type and id, action, metadata, timestamp, sequence and previous
//!   hash. [`AuditLog::verify`] recomputes every hash, so editing any column of any event, or
//!   removing one, shows at that event. (Removing the newest events leaves a shorter chain
//!   that is still valid; an anchor kept elsewhere, such as a signed head, is what catches
//!   that.)
//!
//! The metadata column holds the canonical JSON text itself, the exact bytes the hash covers,
//! so verification also refuses a metadata text that is not in canonical form: even an edit
//! that keeps the JSON value (reordered keys, added spaces) is reported.

mod writer;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Digest;
use tokio::sync::{mpsc, oneshot};

use crate::canonical::{canonical_bytes, sha256_hex};
use crate::db::{Backend, Db, Record, on_pool};
use crate::error::ApiError;

/// The `previous_hash` of the first event of a chain: 64 zeros.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// How many commits may wait for the writer before [`AuditLog::commit`] waits to enqueue.
const INBOX_CAPACITY: usize = 1024;

/// How many stored events [`AuditLog::verify`] reads per query.
const VERIFY_PAGE: i64 = 4096;

/// The columns of `audit_events`, in the order [`StoredEvent`] names them.
const COLUMNS: &str = "sequence, event_type, actor, resource_type, resource_id, action, \
                       metadata, timestamp, previous_hash, event_hash";

/// Whether `err` is a commit refused only because a record it replaces changed (or went away)
/// after the caller read it. Such a write may be planned again from a fresh read and
/// committed again.
pub fn is_stale_read(err: &ApiError) -> bool {
    matches!(
        err,
        ApiError::Conflict {
            kind: crate::error::ConflictKind::Stale,
            ..
        }
    )
}

/// What a write says about itself; the writer adds its place in the chain.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditDraft {
    /// What happened, such as `entity.created`.
    pub event_type: String,
    /// Who did it: a DID, a token's subject, or the zone itself.
    pub actor: String,
    /// The kind of thing it happened to, such as `entity`.
    pub resource_type: String,
    /// Which one.
    pub resource_id: String,
    /// The operation, such as `create`.
    pub action: String,
    /// Anything else worth keeping. Stored (and returned) in RFC 8785 canonical form: keys
    /// sorted, numbers written as ECMAScript writes them. An integer beyond 2^53 has no exact
    /// canonical form, so the commit refuses it; such values belong in strings.
    pub metadata: Value,
}

/// One event of the chain, as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Its place in the chain: 1 for the first event, then one more for each event.
    pub sequence: i64,
    pub event_type: String,
    pub actor: String,
    pub resource_type: String,
    pub resource_id: String,
    pub action: String,
    pub metadata: Value,
    /// When the writer sealed it: RFC 3339, UTC, milliseconds.
    pub timestamp: String,
    /// The `event_hash` of the event before it, or [`GENESIS_HASH`] for the first.
    pub previous_hash: String,
    /// The SHA-256, in lowercase hex, of the canonical JSON of all the fields above.
    pub event_hash: String,
}

impl AuditEvent {
    /// The hash this event should carry: lowercase hex SHA-256 over the RFC 8785 canonical
    /// JSON of an object holding every field except `event_hash` itself.
    ///
    /// This is the one definition of the chain's hash; the writer seals with it and
    /// verification checks with it, and anyone holding an exported event can recompute it.
    pub fn computed_hash(&self) -> Result<String, ApiError> {
        let metadata = String::from_utf8(canonical_bytes(&self.metadata)?)
            .map_err(|err| ApiError::internal(format!("canonical JSON is not UTF-8: {err}")))?;
        Covered {
            sequence: self.sequence,
            event_type: &self.event_type,
            actor: &self.actor,
            resource_type: &self.resource_type,
            resource_id: &self.resource_id,
            action: &self.action,
            metadata: &metadata,
            timestamp: &self.timestamp,
            previous_hash: &self.previous_hash,
        }
        .hash()
    }
}

/// The fields an event's hash covers, borrowed, with the metadata as its canonical JSON text.
///
/// [`Covered::preimage`] writes the RFC 8785 canonical JSON of these fields directly: the keys
/// in their sorted order, each string as RFC 8785 escapes it (which is how serde_json escapes
/// it too), the metadata's canonical text as it is. That is byte for byte what canonicalising
/// the event's JSON object gives (a test holds the two equal), without building the object,
/// so the writer hashes the text it stores and verification hashes the text it reads.
pub(crate) struct Covered<'a> {
    pub sequence: i64,
    pub event_type: &'a str,
    pub actor: &'a str,
    pub resource_type: &'a str,
    pub resource_id: &'a str,
    pub action: &'a str,
    /// The metadata's canonical JSON text.
    pub metadata: &'a str,
    pub timestamp: &'a str,
    pub previous_hash: &'a str,
}

impl Covered<'_> {
    /// Lowercase hex SHA-256 of the canonical JSON of the fields.
    pub(crate) fn hash(&self) -> Result<String, ApiError> {
        let mut preimage = Vec::with_capacity(PREIMAGE_CAPACITY);
        self.preimage(&mut preimage)?;
        Ok(sha256_hex(&preimage))
    }

    /// Whether the fields hash to `stored` (64 lowercase hex digits), reusing `buf` for the
    /// preimage. A stored hash that is not lowercase hex never matches.
    fn hashes_to(&self, stored: &str, buf: &mut Vec<u8>) -> bool {
        let mut digest = [0_u8; 32];
        if self.preimage(buf).is_err() || hex::decode_to_slice(stored, &mut digest).is_err() {
            return false;
        }
        // `decode_to_slice` accepts upper case too; the chain stores lower case only.
        stored.bytes().all(|b| !b.is_ascii_uppercase())
            && <[u8; 32]>::from(sha2::Sha256::digest(buf.as_slice())) == digest
    }

    /// Writes the canonical JSON of the fields into `out` (cleared first).
    fn preimage(&self, out: &mut Vec<u8>) -> Result<(), ApiError> {
        out.clear();
        let strings = [
            ("{\"action\":", self.action),
            (",\"actor\":", self.actor),
            (",\"event_type\":", self.event_type),
        ];
        for (key, value) in strings {
            out.extend_from_slice(key.as_bytes());
            json_string(out, value)?;
        }
        out.extend_from_slice(b",\"metadata\":");
        out.extend_from_slice(self.metadata.as_bytes());
        let strings = [
            (",\"previous_hash\":", self.previous_hash),
            (",\"resource_id\":", self.resource_id),
            (",\"resource_type\":", self.resource_type),
        ];
        for (key, value) in strings {
            out.extend_from_slice(key.as_bytes());
            json_string(out, value)?;
        }
        out.extend_from_slice(b",\"sequence\":");
        if self.sequence.unsigned_abs() <= EXACT_INTEGER {
            out.extend_from_slice(self.sequence.to_string().as_bytes());
        } else {
            // Beyond 2^53 canonical JSON writes the nearest double, as it always has.
            out.extend_from_slice(&canonical_bytes(&Value::from(self.sequence))?);
        }
        out.extend_from_slice(b",\"timestamp\":");
        json_string(out, self.timestamp)?;
        out.push(b'}');
        Ok(())
    }
}

/// The largest magnitude up to which every integer is exact as a double (2^53).
const EXACT_INTEGER: u64 = 1 << 53;

/// Room for a typical event's preimage, so that it is written without reallocating.
const PREIMAGE_CAPACITY: usize = 512;

/// Appends `value` as a JSON string. serde_json escapes exactly what RFC 8785 (ECMAScript's
/// `JSON.stringify`) escapes: `"`, `\\`, the two-letter escapes `\b \f \n \r \t`, other
/// control characters as `\u00xx` in lower case, and nothing else.
fn json_string(out: &mut Vec<u8>, value: &str) -> Result<(), ApiError> {
    serde_json::to_writer(&mut *out, value)
        .map_err(|err| ApiError::internal(format!("writing a JSON string: {err}")))
}

/// One change to the document store, made as part of a [`WriteUnit`].
#[derive(Clone, Debug, PartialEq)]
pub enum RecordOp {
    /// Stores a new record. If the collection already holds that id, the unit fails with
    /// [`ApiError::Conflict`].
    Insert {
        collection: String,
        id: String,
        record: Record,
    },
    /// Replaces a record's body, only if its version is still `expected_version` (as read by
    /// [`Db::get_versioned`]). If it changed, or the record is gone, the unit fails with
    /// [`ApiError::Conflict`] ("changed concurrently"), and the caller may read again and
    /// retry.
    Replace {
        collection: String,
        id: String,
        record: Record,
        expected_version: i64,
    },
    /// Removes a record. If there is none, the unit fails with [`ApiError::NotFound`].
    Delete { collection: String, id: String },
    /// Adds `amount` to the decimal-string field `field` of a record, or stores `seed` (whose
    /// `field` already includes `amount`) when there is none yet. It is applied inside the
    /// commit, holding the record's row, so concurrent adds never conflict and none is lost:
    /// a running total that a request needs to keep without planning its write again (a proxy
    /// zone cannot plan again once its upstream has written).
    Add {
        collection: String,
        id: String,
        field: String,
        amount: rust_decimal::Decimal,
        seed: Record,
    },
}

impl RecordOp {
    /// The collection and id of the record the change touches, and the record as the change
    /// writes it (`None` for a deletion or an add, which write no whole record).
    pub fn target(&self) -> (&str, &str, Option<&Record>) {
        match self {
            RecordOp::Insert {
                collection,
                id,
                record,
            }
            | RecordOp::Replace {
                collection,
                id,
                record,
                ..
            } => (collection, id, Some(record)),
            RecordOp::Delete { collection, id } | RecordOp::Add { collection, id, .. } => {
                (collection, id, None)
            }
        }
    }
}

/// A write of the zone: its record changes and its audit event, committed all together or
/// not at all.
#[derive(Clone, Debug, PartialEq)]
pub struct WriteUnit {
    /// Applied in order. May be empty, for an event that changes no record.
    pub ops: Vec<RecordOp>,
    pub audit: AuditDraft,
}

/// The outcome of [`AuditLog::verify`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainReport {
    /// Every event checked out: sequences run 1, 2, 3, ... without a gap, the first event
    /// follows the genesis hash, each follows its predecessor's hash, and each stored hash
    /// is the hash of its stored fields.
    pub valid: bool,
    /// How many events the chain holds.
    pub events: u64,
    /// The first sequence number at which the chain breaks: the event whose fields, hash or
    /// link do not check out, or the number that is missing.
    pub first_invalid_sequence: Option<i64>,
    /// Why the chain is not valid, as a sentence; present whenever `valid` is false, absent
    /// when it is true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Who signed the chain's head, as far as this zone can tell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HeadSigner {
    /// No head yet: the chain is empty, or no writer signs it.
    None,
    /// This zone's key.
    ThisZone,
    /// Another key: the `did:key` of the zone whose newest event the head ends on, whose
    /// signature it is. (Every event's actor is the DID of the zone that wrote it, and the
    /// writer signs the head in the same transaction as that event.)
    Other(String),
    /// Neither this zone's key nor the key of the event the head names: the head (or that
    /// event) has been altered.
    Unknown,
}

impl HeadSigner {
    fn of(key: &crate::credentials::ZoneKey, head: &HeadRow, head_actor: Option<&str>) -> Self {
        if head_signed_by(key.did(), &key.verifying_key(), head) {
            return HeadSigner::ThisZone;
        }
        let other = head_actor
            .filter(|actor| *actor != key.did())
            .and_then(|actor| {
                let public = crate::credentials::did_key_public_key(actor).ok()?;
                head_signed_by(actor, &public, head).then(|| actor.to_owned())
            });
        other.map_or(HeadSigner::Unknown, HeadSigner::Other)
    }
}

/// The signed head row: its sequence, event hash and hex signature.
type HeadRow = (i64, String, String);

/// Whether `head` carries `did`'s signature over [`head_message`].
fn head_signed_by(did: &str, public: &ed25519_dalek::VerifyingKey, head: &HeadRow) -> bool {
    let (sequence, event_hash, signature) = head;
    head_message(did, *sequence, event_hash)
        .ok()
        .zip(hex::decode(signature).ok())
        .and_then(|(message, sig)| {
            let sig = ed25519_dalek::Signature::from_slice(&sig).ok()?;
            public.verify_strict(&message, &sig).ok()
        })
        .is_some()
}

/// Who signed the head of the chain in `db`, checked against `key` (the zone's key). Used at
/// start-up: a zone must not append to, and sign, a chain another zone's key signs.
pub async fn head_signer(
    db: &Db,
    key: &crate::credentials::ZoneKey,
) -> Result<HeadSigner, ApiError> {
    let head = on_pool!(db, pool => {
        sqlx::query_as::<_, HeadRow>(HEAD_ROW_SQL)
            .fetch_optional(pool)
            .await
    })?;
    let Some(head) = head else {
        return Ok(HeadSigner::None);
    };
    let actor = on_pool!(db, pool => {
        sqlx::query_scalar::<_, String>(HEAD_ACTOR_SQL)
            .bind(head.0)
            .fetch_optional(pool)
            .await
    })?;
    Ok(HeadSigner::of(key, &head, actor.as_deref()))
}

/// A handle to the zone's audit log; cheap to clone.
///
/// [`AuditLog::start`] spawns the writer task. The task runs while any handle exists and
/// stops, after answering every commit already handed to it, once the last handle is
/// dropped.
#[derive(Clone)]
pub struct AuditLog {
    inbox: mpsc::Sender<writer::Job>,
    db: Db,
    /// The zone key that signs the chain's head, when the log keeps one.
    signer: Option<std::sync::Arc<crate::credentials::ZoneKey>>,
    /// Changes never; ends (its sender is dropped) when the writer task has stopped.
    done: tokio::sync::watch::Receiver<()>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("db", &self.db)
            .finish_non_exhaustive()
    }
}

impl AuditLog {
    /// Starts the writer task on the current Tokio runtime and returns a handle to it.
    ///
    /// One zone process runs one writer (build it once, in `build_state`, and clone the
    /// handle); replicas each run their own, and the database orders their batches.
    #[cfg(test)]
    pub fn start(db: Db) -> AuditLog {
        Self::spawn(db, None)
    }

    /// Like [`AuditLog::start`], and after every batch the writer also signs the chain's
    /// new head with the zone key, so that [`AuditLog::verify`] notices removed newest events.
    pub fn start_signed(db: Db, key: std::sync::Arc<crate::credentials::ZoneKey>) -> AuditLog {
        Self::spawn(db, Some(key))
    }

    fn spawn(db: Db, signer: Option<std::sync::Arc<crate::credentials::ZoneKey>>) -> AuditLog {
        let (inbox, outbox) = mpsc::channel(INBOX_CAPACITY);
        let (finished, done) = tokio::sync::watch::channel(());
        tokio::spawn(writer::run(db.clone(), outbox, signer.clone(), finished));
        AuditLog {
            inbox,
            db,
            signer,
            done,
        }
    }

    /// Gives up this handle and waits until the writer has committed (and answered) every
    /// unit handed to it and stopped: the flush of a graceful shutdown. The writer stops once
    /// the last handle is gone, so every other clone must have been dropped (or be dropped
    /// meanwhile) for this to return.
    pub async fn close(self) {
        let mut done = self.done.clone();
        drop(self);
        // Never changes: it returns, with an error, when the writer drops the sender.
        let _ = done.changed().await;
    }

    /// Applies the unit's record changes and appends its audit event, in one transaction.
    ///
    /// Returns the event as stored. When a change cannot be made (a duplicate insert, a
    /// stale replace, a missing delete), nothing of the unit is written and its error comes
    /// back; other writes batched with it are not affected. Once handed to the writer, the
    /// unit is committed even if the caller stops waiting.
    pub async fn commit(&self, mut unit: WriteUnit) -> Result<AuditEvent, ApiError> {
        // Every write made while serving a request records that request's id, so its event
        // can be found from the request's log lines (and the other way round).
        if let (Some(id), Value::Object(metadata)) =
            (crate::request_id::current(), &mut unit.audit.metadata)
        {
            metadata
                .entry("request_id")
                .or_insert_with(|| Value::String(id.to_string()));
        }
        let prepared = writer::Prepared::new(unit)?;
        let (reply, answer) = oneshot::channel();
        let stopped =
            || ApiError::ServiceUnavailable("the audit log writer has stopped; try again".into());
        self.inbox
            .send(writer::Job { prepared, reply })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Events in sequence order, optionally only those of one resource type and/or id,
    /// skipping `offset` and returning at most `limit`.
    pub async fn events(
        &self,
        resource_type: Option<&str>,
        resource_id: Option<&str>,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<AuditEvent>, ApiError> {
        let mut binds = Vec::new();
        let mut conditions = Vec::new();
        for (column, value) in [
            ("resource_type", resource_type),
            ("resource_id", resource_id),
        ] {
            if let Some(value) = value {
                binds.push(value);
                conditions.push(format!("{column} = ${}", binds.len()));
            }
        }
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM audit_events {filter} ORDER BY sequence LIMIT ${} OFFSET ${}",
            binds.len() + 1,
            binds.len() + 2
        );
        // SQL takes signed 64-bit limits; anything larger means "all".
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let offset = i64::try_from(offset).unwrap_or(i64::MAX);
        let rows = on_pool!(self.db, pool => {
            let mut query = sqlx::query_as::<_, StoredEvent>(&sql);
            for value in &binds {
                query = query.bind(*value);
            }
            query.bind(limit).bind(offset).fetch_all(pool).await
        })?;
        rows.into_iter().map(StoredEvent::into_event).collect()
    }

    /// Walks the whole chain in sequence order and recomputes every hash.
    ///
    /// Reads one consistent snapshot, so events appended meanwhile are simply not part of
    /// this report. A broken chain is a report with `valid: false`, not an error; errors are
    /// failures to read.
    pub async fn verify(&self) -> Result<ChainReport, ApiError> {
        let backend = self.db.backend();
        let sql = format!(
            "SELECT {COLUMNS} FROM audit_events WHERE sequence > $1 ORDER BY sequence LIMIT $2"
        );
        let mut walk = ChainWalk::default();
        on_pool!(self.db, pool => async {
            let mut tx = pool.begin().await?;
            // PostgreSQL's default isolation takes a new snapshot per statement; SQLite's
            // deferred transaction already reads one snapshot throughout.
            if backend == Backend::Postgres {
                sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    .execute(&mut *tx)
                    .await?;
            }
            // The head first (same snapshot as the events), so that the walk can note the
            // actor of the event it names.
            let head = sqlx::query_as::<_, HeadRow>(HEAD_ROW_SQL)
                .fetch_optional(&mut *tx)
                .await?;
            walk.head_sequence = head.as_ref().map(|(sequence, _, _)| *sequence);
            // Pages by key rather than by offset: each page starts after the last sequence
            // seen, so the walk costs one index range scan per page whatever the length.
            // Each page's hashes are recomputed on blocking threads while the next page is
            // read, and the links are then checked in order.
            let mut after = 0_i64;
            let mut sealing: Option<tokio::task::JoinHandle<SealedPage>> = None;
            loop {
                let page = if backend == Backend::Sqlite {
                    // One row per page: the driver's cost is per row, SQLite's JSON is not.
                    let text: String = sqlx::query_scalar(SQLITE_PAGE_SQL)
                        .bind(after)
                        .bind(VERIFY_PAGE)
                        .fetch_one(&mut *tx)
                        .await?;
                    StoredEvent::page_from_json(&text)?
                } else {
                    sqlx::query_as::<_, StoredEvent>(&sql)
                        .bind(after)
                        .bind(VERIFY_PAGE)
                        .fetch_all(&mut *tx)
                        .await?
                };
                if let Some(previous) = sealing.take() {
                    walk.step_page(previous.await.map_err(sealing_failed)?);
                }
                let Some(last) = page.last() else { break };
                after = last.sequence;
                sealing = Some(tokio::task::spawn_blocking(move || seal_page(page)));
            }
            if let Some(previous) = sealing.take() {
                walk.step_page(previous.await.map_err(sealing_failed)?);
            }
            tx.commit().await?;
            Ok::<_, ApiError>(head)
        }
        .await)
        .map(|head| {
            if let (Some(key), Some(head)) = (&self.signer, head) {
                walk.check_head(key, &head);
            }
        })?;
        Ok(walk.report())
    }
}

/// A page of the chain on SQLite as one JSON array of rows (each row an array of the
/// [`COLUMNS`], in order), ordered by sequence. sqlx hands SQLite rows over one at a time
/// from its worker thread, which bounds a row-per-row scan well below what hashing
/// reaches; SQLite builds the array in C and the zone parses it in one pass. Text columns
/// are quoted as JSON strings (none is the result of a JSON function), so each reads back
/// exactly as stored.
const SQLITE_PAGE_SQL: &str = "SELECT json_group_array(json_array(sequence, event_type, actor, \
     resource_type, resource_id, action, metadata, timestamp, previous_hash, event_hash) \
     ORDER BY sequence) FROM (SELECT * FROM audit_events WHERE sequence > $1 \
     ORDER BY sequence LIMIT $2)";

/// A page of stored events with each one's own check ([`StoredEvent::seals_itself`]).
struct SealedPage {
    rows: Vec<StoredEvent>,
    seals: Vec<Result<(), &'static str>>,
}

/// Checks every row of a page against its own hash, splitting the page over the machine's
/// cores (each row's check depends on that row alone; the links between rows are checked
/// afterwards, in order, by the walk).
fn seal_page(rows: Vec<StoredEvent>) -> SealedPage {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let chunk = rows.len().div_ceil(threads).max(1);
    let seal_chunk = |chunk: &[StoredEvent]| {
        let mut buf = Vec::with_capacity(PREIMAGE_CAPACITY);
        chunk
            .iter()
            .map(|row| row.seals_itself(&mut buf))
            .collect::<Vec<_>>()
    };
    let seals = if threads == 1 || rows.len() < 2 * MIN_ROWS_PER_THREAD {
        seal_chunk(&rows)
    } else {
        std::thread::scope(|scope| {
            let mut chunks = rows.chunks(chunk);
            // This thread takes the first chunk itself; the others get a thread each.
            let first = chunks.next().unwrap_or_default();
            let others: Vec<_> = chunks.map(|c| scope.spawn(move || seal_chunk(c))).collect();
            let mut seals = seal_chunk(first);
            for other in others {
                // A check panicking is a bug; counting its rows as unchecked keeps the
                // report honest (invalid) rather than taking the zone down.
                match other.join() {
                    Ok(part) => seals.extend(part),
                    Err(_) => seals.push(Err("its check failed unexpectedly")),
                }
            }
            seals
        })
    };
    SealedPage { rows, seals }
}

/// Below this many rows per thread, splitting a page costs more than it saves.
const MIN_ROWS_PER_THREAD: usize = 256;

/// A sealing task that did not finish (it panicked or was cancelled).
fn sealing_failed(err: tokio::task::JoinError) -> ApiError {
    ApiError::internal(format!("audit verification: checking a page failed: {err}"))
}

/// The signed head row.
const HEAD_ROW_SQL: &str = "SELECT sequence, event_hash, signature FROM audit_head WHERE id = 1";

/// The actor of the event at a sequence.
const HEAD_ACTOR_SQL: &str = "SELECT actor FROM audit_events WHERE sequence = $1";

/// The bytes a head signature covers: the RFC 8785 JSON of the head and the signer.
pub(crate) fn head_message(
    did: &str,
    sequence: i64,
    event_hash: &str,
) -> Result<Vec<u8>, ApiError> {
    canonical_bytes(&serde_json::json!({
        "chain": "mez audit head",
        "event_hash": event_hash,
        "sequence": sequence,
        "signer": did,
    }))
}

/// The state of [`AuditLog::verify`]'s walk: what the next event must look like.
struct ChainWalk {
    events: u64,
    expected_sequence: i64,
    expected_previous: String,
    first_invalid: Option<(i64, String)>,
    /// The sequence the signed head names, if there is a head.
    head_sequence: Option<i64>,
    /// The actor of the event at `head_sequence`, once walked.
    head_actor: Option<String>,
}

impl Default for ChainWalk {
    fn default() -> Self {
        ChainWalk {
            events: 0,
            expected_sequence: 1,
            expected_previous: GENESIS_HASH.to_owned(),
            first_invalid: None,
            head_sequence: None,
            head_actor: None,
        }
    }
}

impl ChainWalk {
    /// Checks the next stored event. After the first break the rest are only counted: the
    /// links beyond it are meaningless.
    ///
    /// `seal` is the row's own check ([`StoredEvent::seals_itself`]), computed beforehand
    /// (in parallel, see [`seal_page`]); the links are checked here, in order.
    fn step(&mut self, row: &StoredEvent, seal: Result<(), &'static str>) {
        self.events += 1;
        if self.head_sequence == Some(row.sequence) {
            self.head_actor = Some(row.actor.clone());
        }
        if self.first_invalid.is_some() {
            return;
        }
        let expected = self.expected_sequence;
        // A sequence that skips ahead means the expected one is missing (or was renumbered),
        // so the break is reported at the number that should be there.
        let broken = if row.sequence != expected {
            Some(format!(
                "event {expected} is missing: the next stored event is {}",
                row.sequence
            ))
        } else if row.previous_hash != self.expected_previous {
            Some(if expected == 1 {
                "event 1 does not start from the genesis hash".to_owned()
            } else {
                format!(
                    "event {expected}'s previous_hash is not the hash of event {}",
                    expected - 1
                )
            })
        } else {
            seal.err().map(|why| format!("event {expected}: {why}"))
        };
        if let Some(reason) = broken {
            self.first_invalid = Some((expected, reason));
            return;
        }
        self.expected_sequence += 1;
        self.expected_previous.clone_from(&row.event_hash);
    }

    /// Checks a page of events, in order.
    fn step_page(&mut self, page: SealedPage) {
        let SealedPage { rows, seals } = page;
        let mut seals = seals.into_iter();
        for row in &rows {
            // A page's seals are one per row; a missing one counts as a failed check.
            let seal = seals.next().unwrap_or(Err("its check failed unexpectedly"));
            self.step(row, seal);
        }
    }

    /// Checks the signed head against the walked chain: the signature must be the zone key's,
    /// and the chain must still reach the head with the head's hash. (`expected_previous` is
    /// the last intact event's hash and `expected_sequence - 1` its number.)
    fn check_head(&mut self, key: &crate::credentials::ZoneKey, head: &HeadRow) {
        if self.first_invalid.is_some() {
            return;
        }
        let (sequence, event_hash, _) = head;
        let sequence = *sequence;
        let last = self.expected_sequence - 1;
        let broken = match HeadSigner::of(key, head, self.head_actor.as_deref()) {
            HeadSigner::ThisZone | HeadSigner::None => {
                if last < sequence {
                    // The chain stops short of its signed head: the events after `last` are
                    // gone.
                    Some((
                        last + 1,
                        format!(
                            "the chain ends at event {last} but its signed head is event \
                             {sequence}: the newest events have been removed"
                        ),
                    ))
                } else if last == sequence && self.expected_previous != *event_hash {
                    Some((
                        sequence,
                        format!("event {sequence}'s hash is not the one its signed head records"),
                    ))
                } else {
                    None
                }
            }
            HeadSigner::Other(did) => Some((
                sequence,
                format!(
                    "the chain's head (event {sequence}) is signed by {did}, not by this \
                     zone's key {}: two zones with different keys write to this database",
                    key.did()
                ),
            )),
            HeadSigner::Unknown => Some((
                sequence,
                format!(
                    "the chain's head (event {sequence}) does not carry a valid signature of \
                     this zone's key {} (nor of the zone its event names)",
                    key.did()
                ),
            )),
        };
        self.first_invalid = broken;
    }

    fn report(self) -> ChainReport {
        let (first_invalid_sequence, reason) = self.first_invalid.unzip();
        ChainReport {
            valid: first_invalid_sequence.is_none(),
            events: self.events,
            first_invalid_sequence,
            reason,
        }
    }
}

/// One row of `audit_events`, with the metadata still as stored text.
#[derive(sqlx::FromRow)]
struct StoredEvent {
    sequence: i64,
    event_type: String,
    actor: String,
    resource_type: String,
    resource_id: String,
    action: String,
    metadata: String,
    timestamp: String,
    previous_hash: String,
    event_hash: String,
}

impl StoredEvent {
    /// Whether the stored hash is the hash of the stored fields, and the metadata text is
    /// the canonical text of its own value (so that the hash covers those exact bytes); if
    /// not, what is wrong.
    fn seals_itself(&self, buf: &mut Vec<u8>) -> Result<(), &'static str> {
        // The common case, and the cheap one: the stored text hashes to the stored hash.
        // Then the metadata text is the canonical text the writer hashed (a different text
        // would give a different hash), so nothing more needs parsing.
        if self.covered().hashes_to(&self.event_hash, buf) {
            return Ok(());
        }
        // Something is wrong; say what.
        let Ok(metadata) = serde_json::from_str::<Value>(&self.metadata) else {
            return Err("its metadata is not JSON");
        };
        let canonical = canonical_bytes(&metadata);
        if canonical.as_deref().ok() != Some(self.metadata.as_bytes()) {
            return Err("its metadata is not in canonical form, so it was edited");
        }
        let event = self.to_event(metadata);
        if event
            .computed_hash()
            .is_ok_and(|hash| hash == self.event_hash)
        {
            Ok(())
        } else {
            Err("its stored hash is not the hash of its fields, so a field was edited")
        }
    }

    /// The rows of a page read with [`SQLITE_PAGE_SQL`].
    fn page_from_json(text: &str) -> Result<Vec<StoredEvent>, ApiError> {
        type Row = (
            i64,
            String,
            String,
            String,
            String,
            String,
            String,
            String,
            String,
            String,
        );
        let rows: Vec<Row> = serde_json::from_str(text).map_err(|err| {
            ApiError::internal(format!(
                "audit verification: reading a page of events: {err}"
            ))
        })?;
        Ok(rows
            .into_iter()
            .map(
                |(
                    sequence,
                    event_type,
                    actor,
                    resource_type,
                    resource_id,
                    action,
                    metadata,
                    timestamp,
                    previous_hash,
                    event_hash,
                )| StoredEvent {
                    sequence,
                    event_type,
                    actor,
                    resource_type,
                    resource_id,
                    action,
                    metadata,
                    timestamp,
                    previous_hash,
                    event_hash,
                },
            )
            .collect())
    }

    /// The stored fields the hash covers, as stored.
    fn covered(&self) -> Covered<'_> {
        Covered {
            sequence: self.sequence,
            event_type: &self.event_type,
            actor: &self.actor,
            resource_type: &self.resource_type,
            resource_id: &self.resource_id,
            action: &self.action,
            metadata: &self.metadata,
            timestamp: &self.timestamp,
            previous_hash: &self.previous_hash,
        }
    }

    fn into_event(self) -> Result<AuditEvent, ApiError> {
        let metadata = serde_json::from_str(&self.metadata).map_err(|err| {
            ApiError::Internal(format!(
                "audit event {} holds metadata that is not JSON: {err}",
                self.sequence
            ))
        })?;
        Ok(self.to_event(metadata))
    }

    fn to_event(&self, metadata: Value) -> AuditEvent {
        AuditEvent {
            sequence: self.sequence,
            event_type: self.event_type.clone(),
            actor: self.actor.clone(),
            resource_type: self.resource_type.clone(),
            resource_id: self.resource_id.clone(),
            action: self.action.clone(),
            metadata,
            timestamp: self.timestamp.clone(),
            previous_hash: self.previous_hash.clone(),
            event_hash: self.event_hash.clone(),
        }
    }
}

#[cfg(test)]
mod chain_tests;
#[cfg(test)]
mod tests;
