// SPDX-License-Identifier: BUSL-1.1
//! The document store: every record of every primitive, kept in the database.
//!
//! The database is the source of truth. Nothing in memory is authoritative, so several
//! replicas behind a load balancer see the same data, and a restart loses nothing. Records
//! are JSON objects stored in one generic table keyed by `(collection, id)`:
//!
//! - The body is the record's JSON text exactly as written, so a record reads back byte for
//!   byte (serde_json keeps key order, and parses floats so that they print back the same).
//! - Lists come back in insertion order, by a sequence column, so pagination is stable.
//! - Updates are an optimistic compare-and-swap on a version column, so two concurrent
//!   updates of one record cannot overwrite each other's fields.
//!
//! SQLite (the default, embedded, no setup) and PostgreSQL (production, replicas) run the same
//! queries; the few places where their SQL differs are methods of [`Backend`].
//!
//! No stored text holds U+0000. PostgreSQL's `text` cannot hold the character and its `jsonb`
//! refuses the `\u0000` escape, so one such record would make every filtered list of its
//! collection fail there (filters cast bodies to `jsonb`) while SQLite answered. The request
//! extractors refuse NUL first (with a 422 naming the field); this module is the last line:
//! [`encode`] refuses a record holding one, and a lookup by a key or filter value holding one
//! finds nothing on both engines, without asking the database.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use serde_json::{Map, Value};
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteError, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
};

use crate::error::{ApiError, ConflictKind};
use crate::runtime::validate::object_nul_fields;

/// One stored document: a JSON object whose key order is preserved.
pub type Record = Map<String, Value>;

/// How long a SQLite connection waits for another writer before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a request waits for a free PostgreSQL connection before failing.
const POSTGRES_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// How many times [`Db::modify`] re-reads and re-applies a change after losing a race.
#[cfg(test)]
const MODIFY_ATTEMPTS: u32 = 8;

/// How long a PostgreSQL write transaction of the audit log waits for a lock (another
/// replica's batch, or a row another request is changing) before it gives up and retries.
const POSTGRES_WRITE_LOCK_TIMEOUT: &str = "10s";

/// Inserts a record unless its `(collection, id)` is taken; no row affected means it was.
///
/// `ON CONFLICT DO NOTHING` reports a duplicate as a row count instead of an error, so a
/// transaction that meets one stays usable on PostgreSQL (an error would abort it).
pub(crate) const INSERT_IF_ABSENT_SQL: &str = "INSERT INTO records (collection, id, body) \
     VALUES ($1, $2, $3) ON CONFLICT (collection, id) DO NOTHING";

/// Removes one record; no row affected means it did not exist.
pub(crate) const DELETE_SQL: &str = "DELETE FROM records WHERE collection = $1 AND id = $2";

/// A handle to the document store; cheap to clone (it shares one connection pool).
#[derive(Clone)]
pub struct Db {
    pool: Pool,
}

/// The connection pool of whichever engine the URL named.
///
/// An enum over the two concrete pools, rather than sqlx's `Any` driver, keeps each engine's
/// own connection options (SQLite's WAL mode and busy timeout) and its own error codes.
/// Crate-visible so that the audit log can run its write transactions on the same pool.
#[derive(Clone)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs the same expression against whichever pool the store holds.
///
/// The expression is compiled once per engine, so it may use engine-generic sqlx calls; both
/// arms must produce the same type. Other store modules of the crate (the audit log) use it
/// too, so that each query is written once for both engines.
macro_rules! on_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db.pool() {
            $crate::db::Pool::Sqlite($pool) => $body,
            $crate::db::Pool::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

/// The database engine behind a [`Db`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// Picks the engine from the URL scheme.
    fn from_url(url: &str) -> Result<Self, DbError> {
        let scheme = url.split(':').next().unwrap_or_default();
        match scheme.to_ascii_lowercase().as_str() {
            "sqlite" => Ok(Self::Sqlite),
            "postgres" | "postgresql" => Ok(Self::Postgres),
            // Only the scheme is echoed: the rest of a database URL may hold a password.
            _ => Err(DbError::UnsupportedUrl {
                scheme: scheme.to_owned(),
            }),
        }
    }

    /// The name used in logs and in the start-up line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }

    /// The statement that opens a write transaction.
    ///
    /// SQLite's default (deferred) transaction takes the write lock only at its first write,
    /// and fails at once if another connection wrote since its first read; `IMMEDIATE` takes
    /// the lock up front, waiting out the busy timeout, so a read-then-write transaction
    /// serialises with every other writer of the file. PostgreSQL locks row by row (and the
    /// audit log takes its own advisory lock), so a plain `BEGIN` suffices there.
    pub(crate) fn begin_write(self) -> &'static str {
        match self {
            Self::Sqlite => "BEGIN IMMEDIATE",
            Self::Postgres => "BEGIN",
        }
    }

    /// Statements to run first in a write transaction, if any.
    ///
    /// On PostgreSQL a bounded lock wait turns a stuck lock holder into a retryable error
    /// (lock_not_available) instead of a request that hangs. SQLite's busy timeout already
    /// bounds its waits.
    pub(crate) fn write_preamble(self) -> Option<String> {
        match self {
            Self::Sqlite => None,
            Self::Postgres => Some(format!(
                "SET LOCAL lock_timeout = '{POSTGRES_WRITE_LOCK_TIMEOUT}'"
            )),
        }
    }

    /// The compare-and-swap update of one record's body: it matches only while the record
    /// still has the version the writer read, and bumps the version.
    ///
    /// Binds: `$1` body, `$2` collection, `$3` id, `$4` expected version.
    pub(crate) fn compare_and_swap_sql(self) -> String {
        format!(
            "UPDATE records SET body = $1, version = version + 1, updated_at = {} \
             WHERE collection = $2 AND id = $3 AND version = $4",
            self.now()
        )
    }

    /// Reads one record's body and version inside a write transaction, holding the row
    /// until it ends (SQLite's write transaction already holds the whole database).
    pub(crate) fn lock_record_sql(self) -> &'static str {
        match self {
            Self::Sqlite => "SELECT body, version FROM records WHERE collection = $1 AND id = $2",
            Self::Postgres => {
                "SELECT body, version FROM records WHERE collection = $1 AND id = $2 FOR UPDATE"
            }
        }
    }

    /// An SQL expression for the current time, in the column type of `updated_at`.
    fn now(self) -> &'static str {
        match self {
            Self::Sqlite => "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
            Self::Postgres => "now()",
        }
    }

    /// An SQL condition that holds when the body's top-level `field` is a JSON string.
    ///
    /// Filters match string values only, on both engines: PostgreSQL's `->>` would otherwise
    /// turn the number 5 into the text `5`, while SQLite would not, and the two would disagree.
    fn is_string(self, field: &str) -> String {
        match self {
            Self::Sqlite => format!("json_type(body, '$.{field}') = 'text'"),
            Self::Postgres => format!("jsonb_typeof(body::jsonb -> '{field}') = 'string'"),
        }
    }

    /// An SQL expression for the text of the body's top-level `field`.
    fn text_of(self, field: &str) -> String {
        match self {
            Self::Sqlite => format!("json_extract(body, '$.{field}')"),
            Self::Postgres => format!("(body::jsonb ->> '{field}')"),
        }
    }

    /// An SQL condition that holds when `needle` occurs in `haystack`, both already lowered.
    fn contains(self, haystack: &str, needle: &str) -> String {
        match self {
            Self::Sqlite => format!("instr({haystack}, {needle}) > 0"),
            Self::Postgres => format!("strpos({haystack}, {needle}) > 0"),
        }
    }
}

/// Why the store could not be opened at start-up.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("unsupported database URL scheme {scheme:?} (expected sqlite:// or postgres://)")]
    UnsupportedUrl { scheme: String },
    #[error("invalid database URL: {0}")]
    InvalidUrl(#[source] sqlx::Error),
    #[error("could not create the database directory {}: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("could not connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("could not apply the database migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// Which records a [`Db::list`] returns. All filters must hold at once.
#[derive(Clone, Debug)]
pub struct Query<'a> {
    /// Top-level string fields that must equal the given text exactly.
    pub equals: Vec<(&'a str, &'a str)>,
    /// A top-level string field that must equal one of the given texts; an empty slice
    /// matches nothing.
    pub one_of: Option<(&'a str, &'a [&'a str])>,
    /// Only records with one of these ids; an empty slice matches nothing.
    pub ids: Option<&'a [String]>,
    /// A top-level string field that must contain the given text, ignoring case.
    ///
    /// SQLite folds the case of ASCII letters only; PostgreSQL folds all letters its locale
    /// knows. Both agree on ASCII text.
    pub contains: Option<(&'a str, &'a str)>,
    /// How many matches to skip, in insertion order.
    pub offset: u64,
    /// How many matches to return at most.
    pub limit: u64,
}

impl Query<'_> {
    /// Every record of the collection.
    pub fn all() -> Self {
        Query {
            equals: Vec::new(),
            one_of: None,
            ids: None,
            contains: None,
            offset: 0,
            // SQL takes a signed 64-bit limit, so this is the largest one every engine accepts.
            limit: i64::MAX as u64,
        }
    }
}

impl Query<'_> {
    /// The limit and offset as SQL binds them (signed 64-bit).
    fn window(&self) -> (i64, i64) {
        (
            i64::try_from(self.limit).unwrap_or(i64::MAX),
            i64::try_from(self.offset).unwrap_or(i64::MAX),
        )
    }

    /// Whether a filter asks for text that no stored record can hold (U+0000; see the module
    /// docs), or names no text at all (an empty id or value list), so the answer is empty
    /// without asking the database. An id list matches the records of its other ids.
    fn matches_nothing(&self) -> bool {
        self.equals.iter().any(|(_, value)| value.contains('\0'))
            || self
                .one_of
                .is_some_and(|(_, values)| values.iter().all(|v| v.contains('\0')))
            || self
                .contains
                .is_some_and(|(_, needle)| needle.contains('\0'))
            || self
                .ids
                .is_some_and(|ids| ids.iter().all(|id| id.contains('\0')))
    }
}

/// The statement reading one page of the records matching `query`'s `condition`, which has
/// `binds` parameters; the limit and offset are the next two.
///
/// On SQLite a query with field filters orders by `+seq`, which keeps the planner from
/// walking the collection in `seq` order (the `(collection, seq)` index) and evaluating the
/// JSON filter on every record until the page is full: with no statistics it prefers that
/// walk, which made an evidence read of one entity's attestations parse every attestation
/// of the zone (62 ms against 0.06 ms at 20,000 attestations). With `+seq` it takes the
/// expression index the filter matches (`records_entity_id_idx`, ...) and sorts the few
/// matches. PostgreSQL plans from its statistics and keeps the plain order.
fn page_sql(backend: Backend, query: &Query<'_>, condition: &str, binds: usize) -> String {
    let filtered = !query.equals.is_empty() || query.one_of.is_some();
    let order = match backend {
        Backend::Sqlite if filtered => "+seq",
        _ => "seq",
    };
    format!(
        "SELECT body FROM records WHERE {condition} ORDER BY {order} LIMIT ${} OFFSET ${}",
        binds + 1,
        binds + 2
    )
}

/// One page of a [`Db::list`].
#[derive(Clone, Debug, PartialEq)]
pub struct Page {
    /// The matches in this page, in insertion order.
    pub items: Vec<Record>,
    /// How many records match in all, ignoring offset and limit.
    pub total: u64,
}

impl fmt::Debug for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Db")
            .field("backend", &self.backend())
            .finish_non_exhaustive()
    }
}

impl Db {
    /// Opens the store named by `url` and brings its schema up to date.
    ///
    /// `sqlite://PATH` creates the file and its parent directories when they are missing, so
    /// a zone runs with no setup. `postgres://` and `postgresql://` expect the database to
    /// exist. Migrations run on every start; sqlx skips those already applied and, on
    /// PostgreSQL, holds a lock so that replicas starting together do not race.
    pub async fn connect(url: &str) -> Result<Db, DbError> {
        let pool = match Backend::from_url(url)? {
            Backend::Sqlite => Pool::Sqlite(connect_sqlite(url).await?),
            Backend::Postgres => Pool::Postgres(connect_postgres(url).await?),
        };
        match &pool {
            Pool::Sqlite(pool) => sqlx::migrate!("../migrations/sqlite").run(pool).await?,
            Pool::Postgres(pool) => sqlx::migrate!("../migrations/postgres").run(pool).await?,
        }
        Ok(Db { pool })
    }

    /// The pool, for other store modules of the crate (through [`on_pool!`]).
    pub(crate) fn pool(&self) -> &Pool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Checks that the database answers a trivial query.
    pub async fn ping(&self) -> Result<(), ApiError> {
        on_pool!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()))
            .map_err(store_error)
    }

    /// The pool's connections now: `(open, idle, most allowed)`, for the metrics.
    pub fn pool_usage(&self) -> (u32, usize, u32) {
        on_pool!(self, pool => (pool.size(), pool.num_idle(), pool.options().get_max_connections()))
    }

    /// Closes every connection; later calls fail. SQLite checkpoints its log on close.
    pub async fn close(&self) {
        on_pool!(self, pool => pool.close().await)
    }

    #[cfg(test)]
    /// Stores a new record. A record with the same id in the collection is a conflict.
    ///
    /// The zone's own writes never call this, `modify` or `delete`: they plan their changes
    /// and commit them through `AuditLog::commit`, together with their audit event. These
    /// unaudited writes serve tests, which set up and inspect stores directly.
    pub async fn insert(
        &self,
        collection: &str,
        id: &str,
        record: &Record,
    ) -> Result<(), ApiError> {
        let body = encode(record)?;
        let sql = "INSERT INTO records (collection, id, body) VALUES ($1, $2, $3)";
        let result = on_pool!(self, pool => {
            sqlx::query(sql)
                .bind(collection)
                .bind(id)
                .bind(&body)
                .execute(pool)
                .await
                .map(|_| ())
        });
        result.map_err(|err| {
            if is_unique_violation(&err) {
                ApiError::conflict(
                    ConflictKind::Exists,
                    format!("{collection} record {id} already exists"),
                )
            } else {
                store_error(err)
            }
        })
    }

    /// Reads one record, or `None` when the collection has no record with that id.
    pub async fn get(&self, collection: &str, id: &str) -> Result<Option<Record>, ApiError> {
        Ok(self
            .get_versioned(collection, id)
            .await?
            .map(|(record, _)| record))
    }

    #[cfg(test)]
    /// Changes one record with `f` and returns the record as written.
    ///
    /// The read and the write are not one transaction: the write succeeds only if nobody else
    /// wrote the record in between (its version is unchanged). On a lost race the record is
    /// read again and `f` applied again, a bounded number of times, after which the caller
    /// gets a conflict. Each attempt starts from the stored record, so `f` must not depend on
    /// state left over from an earlier attempt. An error from `f` aborts with nothing written;
    /// `Ok(None)` means the record does not exist (or was deleted meanwhile).
    pub async fn modify<F>(
        &self,
        collection: &str,
        id: &str,
        mut f: F,
    ) -> Result<Option<Record>, ApiError>
    where
        F: FnMut(&mut Record) -> Result<(), ApiError> + Send,
    {
        let sql = self.backend().compare_and_swap_sql();
        for attempt in 0..MODIFY_ATTEMPTS {
            let Some((mut record, version)) = self.get_versioned(collection, id).await? else {
                return Ok(None);
            };
            f(&mut record)?;
            let body = encode(&record)?;
            let written = on_pool!(self, pool => {
                sqlx::query(&sql)
                    .bind(&body)
                    .bind(collection)
                    .bind(id)
                    .bind(version)
                    .execute(pool)
                    .await
                    .map(|done| done.rows_affected())
            })
            .map_err(store_error)?;
            if written > 0 {
                return Ok(Some(record));
            }
            // Another writer got there first. A random, growing pause keeps the writers that
            // lost together from colliding again on the next attempt.
            let pause = rand::Rng::random_range(&mut rand::rng(), 1..=2u64 << attempt);
            tokio::time::sleep(Duration::from_millis(pause)).await;
        }
        Err(ApiError::conflict(
            ConflictKind::Busy,
            format!("{collection} record {id} is being changed by other requests; try again"),
        ))
    }

    #[cfg(test)]
    /// Removes one record; returns whether it existed.
    pub async fn delete(&self, collection: &str, id: &str) -> Result<bool, ApiError> {
        if id.contains('\0') {
            return Ok(false);
        }
        let deleted = on_pool!(self, pool => {
            sqlx::query(DELETE_SQL)
                .bind(collection)
                .bind(id)
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })
        .map_err(store_error)?;
        Ok(deleted > 0)
    }

    /// Lists the records of a collection that match `query`, in insertion order.
    ///
    /// The count and the page are read in one read-only transaction, so `total` agrees with
    /// the page even while other requests write.
    pub async fn list(&self, collection: &str, query: &Query<'_>) -> Result<Page, ApiError> {
        if query.matches_nothing() {
            return Ok(Page {
                items: Vec::new(),
                total: 0,
            });
        }
        let backend = self.backend();
        let (condition, binds) = where_clause(backend, collection, query)?;
        let count_sql = format!("SELECT COUNT(*) FROM records WHERE {condition}");
        let page_sql = page_sql(backend, query, &condition, binds.len());
        let (limit, offset) = query.window();
        let read = on_pool!(self, pool => async {
            let mut tx = pool.begin().await?;
            // PostgreSQL's default isolation takes a new snapshot per statement; SQLite's
            // deferred transaction already reads one snapshot throughout.
            if backend == Backend::Postgres {
                sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    .execute(&mut *tx)
                    .await?;
            }
            let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
            for value in &binds {
                count = count.bind(*value);
            }
            let total = count.fetch_one(&mut *tx).await?;
            let mut page = sqlx::query_scalar::<_, String>(&page_sql);
            for value in &binds {
                page = page.bind(*value);
            }
            let bodies = page.bind(limit).bind(offset).fetch_all(&mut *tx).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>((total, bodies))
        }
        .await)
        .map_err(store_error)?;
        let (total, bodies) = read;
        let items = bodies
            .iter()
            .map(|body| decode(body))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page {
            items,
            total: u64::try_from(total).map_err(ApiError::internal)?,
        })
    }

    /// The page of records a [`Db::list`] would return, without counting every match: one
    /// statement, for callers that need no total (the evidence an evaluation reads).
    pub async fn find(&self, collection: &str, query: &Query<'_>) -> Result<Vec<Record>, ApiError> {
        if query.matches_nothing() {
            return Ok(Vec::new());
        }
        let (condition, binds) = where_clause(self.backend(), collection, query)?;
        let sql = page_sql(self.backend(), query, &condition, binds.len());
        let (limit, offset) = query.window();
        let bodies = on_pool!(self, pool => {
            let mut page = sqlx::query_scalar::<_, String>(&sql);
            for value in &binds {
                page = page.bind(*value);
            }
            page.bind(limit).bind(offset).fetch_all(pool).await
        })
        .map_err(store_error)?;
        bodies.iter().map(|body| decode(body)).collect()
    }

    /// Reads one record together with its version.
    ///
    /// The version is what a compare-and-swap write (the audit log's
    /// [`RecordOp::Replace`](crate::audit::RecordOp::Replace)) expects to find: the write
    /// succeeds only if nobody changed the record since this read.
    pub async fn get_versioned(
        &self,
        collection: &str,
        id: &str,
    ) -> Result<Option<(Record, i64)>, ApiError> {
        if id.contains('\0') {
            return Ok(None);
        }
        let sql = "SELECT body, version FROM records WHERE collection = $1 AND id = $2";
        let row = on_pool!(self, pool => {
            sqlx::query_as::<_, (String, i64)>(sql)
                .bind(collection)
                .bind(id)
                .fetch_optional(pool)
                .await
        })
        .map_err(store_error)?;
        row.map(|(body, version)| Ok((decode(&body)?, version)))
            .transpose()
    }
}

async fn connect_sqlite(url: &str) -> Result<SqlitePool, DbError> {
    // WAL lets readers proceed while one request writes; the busy timeout makes a second
    // writer wait its turn instead of failing at once.
    let options = SqliteConnectOptions::from_str(url)
        .map_err(DbError::InvalidUrl)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .busy_timeout(SQLITE_BUSY_TIMEOUT);
    if let Some(dir) = options
        .get_filename()
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
    {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|source| DbError::CreateDir {
                path: dir.to_owned(),
                source,
            })?;
    }
    SqlitePoolOptions::new()
        .connect_with(options)
        .await
        .map_err(DbError::Connect)
}

async fn connect_postgres(url: &str) -> Result<PgPool, DbError> {
    let options = PgConnectOptions::from_str(url).map_err(DbError::InvalidUrl)?;
    let pooled = PgPoolOptions::new()
        .acquire_timeout(POSTGRES_ACQUIRE_TIMEOUT)
        .connect_with(options.clone())
        .await;
    match pooled {
        Ok(pool) => Ok(pool),
        // The pool retries until its timeout and then reports only that it timed out. One
        // direct attempt recovers the cause (refused, unknown host, bad password) for the
        // operator.
        Err(sqlx::Error::PoolTimedOut) => match PgConnection::connect_with(&options).await {
            Ok(_) => Err(DbError::Connect(sqlx::Error::PoolTimedOut)),
            Err(cause) => Err(DbError::Connect(cause)),
        },
        Err(err) => Err(DbError::Connect(err)),
    }
}

/// Builds the `WHERE` condition of a list and the text values it binds, in order.
///
/// Field names become part of the SQL text (they name a JSON path), so they are checked
/// against a strict pattern first; every value is a bound parameter.
fn where_clause<'q>(
    backend: Backend,
    collection: &'q str,
    query: &Query<'q>,
) -> Result<(String, Vec<&'q str>), ApiError> {
    let mut binds = vec![collection];
    let mut conditions = vec!["collection = $1".to_owned()];
    for &(field, value) in &query.equals {
        check_field_name(field)?;
        binds.push(value);
        conditions.push(format!(
            "{} AND {} = ${}",
            backend.is_string(field),
            backend.text_of(field),
            binds.len()
        ));
    }
    if let Some((field, needle)) = query.contains {
        check_field_name(field)?;
        binds.push(needle);
        let haystack = format!("lower({})", backend.text_of(field));
        let needle = format!("lower(${})", binds.len());
        conditions.push(format!(
            "{} AND {}",
            backend.is_string(field),
            backend.contains(&haystack, &needle)
        ));
    }
    if let Some((field, values)) = query.one_of {
        check_field_name(field)?;
        let first = binds.len() + 1;
        // A text holding U+0000 is in no stored record (and PostgreSQL would refuse it).
        binds.extend(values.iter().copied().filter(|v| !v.contains('\0')));
        let placeholders: Vec<String> = (first..=binds.len()).map(|n| format!("${n}")).collect();
        conditions.push(format!(
            "{} AND {} IN ({})",
            backend.is_string(field),
            backend.text_of(field),
            placeholders.join(", ")
        ));
    }
    if let Some(ids) = query.ids {
        let first = binds.len() + 1;
        // An id holding U+0000 names no record (and PostgreSQL would refuse to bind it).
        binds.extend(
            ids.iter()
                .map(String::as_str)
                .filter(|id| !id.contains('\0')),
        );
        let placeholders: Vec<String> = (first..=binds.len()).map(|n| format!("${n}")).collect();
        conditions.push(format!("id IN ({})", placeholders.join(", ")));
    }
    Ok((conditions.join(" AND "), binds))
}

/// Accepts only plain identifiers (`[A-Za-z_][A-Za-z0-9_]*`) as filter field names.
fn check_field_name(field: &str) -> Result<(), ApiError> {
    let mut chars = field.chars();
    let valid = chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(ApiError::Internal(format!(
            "refusing to filter on field name {field:?}: not a plain identifier"
        )))
    }
}

/// The text stored for `record`; a record holding U+0000 anywhere is refused (422 naming
/// the field) so that it never reaches a table (see the module docs).
pub(crate) fn encode(record: &Record) -> Result<String, ApiError> {
    let nul = object_nul_fields(record);
    if !nul.is_empty() {
        return Err(ApiError::Validation(nul));
    }
    serde_json::to_string(record).map_err(ApiError::internal)
}

pub(crate) fn decode(body: &str) -> Result<Record, ApiError> {
    serde_json::from_str(body)
        .map_err(|err| ApiError::Internal(format!("stored record is not a JSON object: {err}")))
}

pub(crate) fn is_unique_violation(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .is_some_and(|db| db.is_unique_violation())
}

/// Whether a failure is one that the same work may not meet again: a lost connection, an
/// exhausted pool, or the engine giving up on a lock (SQLite busy or locked; PostgreSQL
/// serialisation failure, deadlock, or lock timeout). The caller may retry the whole
/// transaction; any other database error would recur.
pub(crate) fn is_transient(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            if db.try_downcast_ref::<SqliteError>().is_some() {
                // SQLite reports extended result codes; the low byte is the primary code
                // (5 busy, 6 locked).
                code.parse::<i32>().is_ok_and(|n| matches!(n & 0xff, 5 | 6))
            } else {
                matches!(code.as_ref(), "40001" | "40P01" | "55P03")
            }
        }
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::WorkerCrashed => true,
        _ => false,
    }
}

/// Maps a database failure to the API error the client sees.
fn store_error(err: sqlx::Error) -> ApiError {
    if is_unique_violation(&err) {
        ApiError::conflict(
            ConflictKind::Exists,
            "the record conflicts with one that already exists",
        )
    } else {
        ApiError::from(err)
    }
}

#[cfg(test)]
mod tests;
