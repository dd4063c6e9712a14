// SPDX-License-Identifier: BUSL-1.1
//! Fresh databases for mez-api's own tests, shared by its unit tests (through a `#[path]`
//! module in lib.rs) and its integration tests (`mod support;`).
//!
//! `on_sqlite` runs checks against a new SQLite file; `on_postgres` against a new database on
//! the server `MEZ_TEST_POSTGRES_URL` names, dropped afterwards. Without that variable the
//! PostgreSQL half says loudly that it skipped, unless `MEZ_REQUIRE_POSTGRES=1` (as in CI),
//! which makes it fail.
#![allow(
    dead_code,
    reason = "each test binary uses a part of the support module"
)]

use std::future::Future;
use std::io::Write;

use sqlx::Connection;

/// Runs `checks` against a database URL for a new SQLite file, then removes the file. The file
/// sits in a directory that does not exist yet, which proves that connecting creates it.
pub async fn on_sqlite<F, Fut>(checks: F)
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let dir = std::env::temp_dir().join(format!("mez-api-test-{}", uuid::Uuid::new_v4().simple()));
    let url = format!("sqlite://{}", dir.join("nested").join("mez.db").display());
    let outcome = tokio::spawn(checks(url)).await;
    let _ = std::fs::remove_dir_all(&dir);
    rethrow(outcome);
}

/// Runs `checks` against a new PostgreSQL database, then drops it, or skips when none is set.
pub async fn on_postgres<F, Fut>(test: &str, checks: F)
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let required = std::env::var("MEZ_REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
    let Some(admin_url) = std::env::var("MEZ_TEST_POSTGRES_URL")
        .ok()
        .filter(|url| !url.trim().is_empty())
    else {
        assert!(
            !required,
            "{test}: MEZ_REQUIRE_POSTGRES=1 but MEZ_TEST_POSTGRES_URL is not set"
        );
        // Straight to the stderr handle: the runner captures `eprintln!` of passing tests,
        // and a skip must be seen.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED {test} on PostgreSQL: MEZ_TEST_POSTGRES_URL is not set"
        );
        return;
    };
    let mut admin = sqlx::PgConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|err| panic!("{test}: PostgreSQL at MEZ_TEST_POSTGRES_URL: {err}"));
    let name = format!("mez_api_test_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .expect("create the test database");
    let outcome = tokio::spawn(checks(with_database(&admin_url, &name))).await;
    // FORCE ends connections a failed check may have left open, so the drop cannot hang.
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .expect("drop the test database");
    rethrow(outcome);
}

/// Re-raises a panic from a spawned check after the caller has cleaned up.
pub fn rethrow(outcome: Result<(), tokio::task::JoinError>) {
    if let Err(err) = outcome {
        if err.is_panic() {
            std::panic::resume_unwind(err.into_panic());
        }
        panic!("check did not finish: {err}");
    }
}

/// Replaces the database name in a PostgreSQL URL, keeping its query string.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let host_start = base.find("://").map_or(0, |at| at + 3);
    let host_end = base[host_start..]
        .find('/')
        .map_or(base.len(), |at| host_start + at);
    format!("{}/{name}{query}", &base[..host_end])
}
