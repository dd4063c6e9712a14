// SPDX-License-Identifier: BUSL-1.1
//! A raw SQL connection to a test's database, bypassing the zone entirely.
//!
//! Tests use it for what the API must never offer: counting every stored row whatever its
//! collection, and editing rows behind the zone's back (tampering with the audit chain) to
//! prove that the zone notices. Statements use `$1`-style parameters, which both SQLite and
//! PostgreSQL accept.

use std::str::FromStr;
use std::time::Duration;

use sqlx::Connection;
use sqlx::postgres::PgConnection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

use crate::db::{Backend, TestDb};

/// One connection to a [`TestDb`], on whichever engine it lives.
pub enum RawDb {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

impl RawDb {
    /// Connects to the database the zone under test uses.
    pub async fn open(db: &TestDb) -> RawDb {
        match db.backend() {
            Backend::Sqlite => {
                let options = match SqliteConnectOptions::from_str(db.url()) {
                    Ok(options) => options.busy_timeout(Duration::from_secs(10)),
                    Err(err) => panic!("bad SQLite URL {}: {err}", db.url()),
                };
                match SqliteConnection::connect_with(&options).await {
                    Ok(conn) => RawDb::Sqlite(conn),
                    Err(err) => panic!("cannot open {} directly: {err}", db.url()),
                }
            }
            Backend::Postgres => match PgConnection::connect(db.url()).await {
                Ok(conn) => RawDb::Postgres(conn),
                Err(err) => panic!("cannot connect to the test database directly: {err}"),
            },
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            RawDb::Sqlite(_) => Backend::Sqlite,
            RawDb::Postgres(_) => Backend::Postgres,
        }
    }

    /// Runs one statement with text parameters and returns the number of rows it changed.
    pub async fn try_execute(&mut self, sql: &str, params: &[&str]) -> Result<u64, sqlx::Error> {
        match self {
            RawDb::Sqlite(conn) => {
                let mut query = sqlx::query(sql);
                for param in params {
                    query = query.bind(*param);
                }
                query.execute(&mut *conn).await.map(|r| r.rows_affected())
            }
            RawDb::Postgres(conn) => {
                let mut query = sqlx::query(sql);
                for param in params {
                    query = query.bind(*param);
                }
                query.execute(&mut *conn).await.map(|r| r.rows_affected())
            }
        }
    }

    /// [`RawDb::try_execute`], panicking with the statement when it fails.
    pub async fn execute(&mut self, sql: &str, params: &[&str]) -> u64 {
        match self.try_execute(sql, params).await {
            Ok(rows) => rows,
            Err(err) => panic!("`{sql}` failed: {err}"),
        }
    }

    /// The one integer a query answers (a `COUNT(*)`, say).
    pub async fn scalar_i64(&mut self, sql: &str) -> i64 {
        let answer = match self {
            RawDb::Sqlite(conn) => sqlx::query_scalar::<_, i64>(sql).fetch_one(conn).await,
            RawDb::Postgres(conn) => sqlx::query_scalar::<_, i64>(sql).fetch_one(conn).await,
        };
        match answer {
            Ok(value) => value,
            Err(err) => panic!("`{sql}` failed: {err}"),
        }
    }

    /// The one text value a query answers, or `None` when it finds no row.
    pub async fn text(&mut self, sql: &str, params: &[&str]) -> Option<String> {
        let answer = match self {
            RawDb::Sqlite(conn) => {
                let mut query = sqlx::query_scalar::<_, String>(sql);
                for param in params {
                    query = query.bind(*param);
                }
                query.fetch_optional(conn).await
            }
            RawDb::Postgres(conn) => {
                let mut query = sqlx::query_scalar::<_, String>(sql);
                for param in params {
                    query = query.bind(*param);
                }
                query.fetch_optional(conn).await
            }
        };
        match answer {
            Ok(value) => value,
            Err(err) => panic!("`{sql}` failed: {err}"),
        }
    }

    /// Every text value a one-column query answers, in order.
    pub async fn texts(&mut self, sql: &str, params: &[&str]) -> Vec<String> {
        let answer = match self {
            RawDb::Sqlite(conn) => {
                let mut query = sqlx::query_scalar::<_, String>(sql);
                for param in params {
                    query = query.bind(*param);
                }
                query.fetch_all(conn).await
            }
            RawDb::Postgres(conn) => {
                let mut query = sqlx::query_scalar::<_, String>(sql);
                for param in params {
                    query = query.bind(*param);
                }
                query.fetch_all(conn).await
            }
        };
        match answer {
            Ok(values) => values,
            Err(err) => panic!("`{sql}` failed: {err}"),
        }
    }

    pub async fn close(self) {
        let closed = match self {
            RawDb::Sqlite(conn) => conn.close().await,
            RawDb::Postgres(conn) => conn.close().await,
        };
        if let Err(err) = closed {
            eprintln!("warning: closing the raw test connection failed: {err}");
        }
    }
}
