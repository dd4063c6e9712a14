// SPDX-License-Identifier: BUSL-1.1
//! Throwaway databases, one per test, on both backends the zone supports.
//!
//! Every test gets a store nobody else writes to, so tests can run in parallel and assert exact
//! counts. SQLite databases are files under `<temp>/mez-tests/<uuid>/`; PostgreSQL databases are
//! created through the admin URL in `MEZ_TEST_POSTGRES_URL` and dropped afterwards.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::Connection;
use sqlx::postgres::PgConnection;

/// Names the environment variable holding the PostgreSQL admin URL.
pub const POSTGRES_URL_VAR: &str = "MEZ_TEST_POSTGRES_URL";
/// When this variable is `1` or `true`, a missing PostgreSQL URL fails the test instead of
/// skipping it, so CI cannot go green while silently running half the suite. `0`, `false`
/// and unset mean "not required"; any other value fails the test rather than being read as
/// one of them.
pub const REQUIRE_POSTGRES_VAR: &str = "MEZ_REQUIRE_POSTGRES";
/// Which backend the spec-derived suites (surface checks, parity) run on: `sqlite` (the
/// default) or `postgres`. CI runs them once on each.
pub const GENERATED_SUITES_BACKEND_VAR: &str = "MEZ_GENERATED_SUITES_BACKEND";

/// Whether the value of [`REQUIRE_POSTGRES_VAR`] requires PostgreSQL; an error for a value
/// that is neither yes nor no.
pub fn postgres_required(value: Option<&str>) -> Result<bool, String> {
    match value.map(str::trim) {
        None | Some("") | Some("0") | Some("false") => Ok(false),
        Some("1") | Some("true") => Ok(true),
        Some(other) => Err(format!(
            "{REQUIRE_POSTGRES_VAR}={other:?} is neither 1/true nor 0/false"
        )),
    }
}

/// The backend [`GENERATED_SUITES_BACKEND_VAR`] names.
pub fn generated_suites_backend(value: Option<&str>) -> Result<Backend, String> {
    match value.map(str::trim) {
        None | Some("") | Some("sqlite") => Ok(Backend::Sqlite),
        Some("postgres") => Ok(Backend::Postgres),
        Some(other) => Err(format!(
            "{GENERATED_SUITES_BACKEND_VAR}={other:?} is neither sqlite nor postgres"
        )),
    }
}

/// Which engine a [`TestDb`] lives on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh, empty database that belongs to one test.
#[derive(Debug)]
pub struct TestDb {
    backend: Backend,
    url: String,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    /// Remove this directory (it holds the SQLite file and its WAL/SHM companions).
    Dir(PathBuf),
    /// Drop this database through this admin URL.
    Postgres { admin_url: String, name: String },
    /// Already cleaned up.
    Done,
}

impl TestDb {
    /// A new SQLite database file in its own directory under the system temp dir.
    pub fn sqlite() -> TestDb {
        let dir = std::env::temp_dir()
            .join("mez-tests")
            .join(uuid::Uuid::new_v4().to_string());
        if let Err(err) = std::fs::create_dir_all(&dir) {
            panic!("cannot create test directory {}: {err}", dir.display());
        }
        let file = dir.join("mez.db");
        TestDb {
            backend: Backend::Sqlite,
            url: format!("sqlite://{}", file.display()),
            cleanup: Cleanup::Dir(dir),
        }
    }

    /// A new PostgreSQL database created through `MEZ_TEST_POSTGRES_URL`, or `None` (after a
    /// loud message naming `test_name`) when that variable is unset and PostgreSQL is not
    /// required. Panics when PostgreSQL is required but not configured, or configured but
    /// unreachable: a broken setup must fail, not skip.
    pub async fn postgres(test_name: &str) -> Option<TestDb> {
        let admin_url = match std::env::var(POSTGRES_URL_VAR) {
            Ok(url) if !url.trim().is_empty() => url.trim().to_owned(),
            _ => {
                let required = std::env::var(REQUIRE_POSTGRES_VAR).ok();
                match postgres_required(required.as_deref()) {
                    Ok(false) => {}
                    Ok(true) => panic!(
                        "{test_name}: {REQUIRE_POSTGRES_VAR} is set but {POSTGRES_URL_VAR} is not; \
                         point it at an admin URL such as postgres://postgres@127.0.0.1/postgres"
                    ),
                    Err(message) => panic!("{test_name}: {message}"),
                }
                // Straight to the stderr handle: the test runner captures `eprintln!` of
                // passing tests, and a skip must be seen.
                let _ = writeln!(
                    std::io::stderr(),
                    "\nSKIPPED {test_name}: PostgreSQL tests need {POSTGRES_URL_VAR}\n"
                );
                return None;
            }
        };
        let name = format!("mez_t_{}", uuid::Uuid::new_v4().simple());
        let mut admin = admin_connect(&admin_url).await;
        // The name is ours (a fixed prefix and hex digits), so quoting it is enough.
        if let Err(err) = sqlx::raw_sql(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut admin)
            .await
        {
            panic!("{test_name}: cannot create database {name} via {POSTGRES_URL_VAR}: {err}");
        }
        let _ = admin.close().await;
        Some(TestDb {
            backend: Backend::Postgres,
            url: database_url(&admin_url, &name),
            cleanup: Cleanup::Postgres { admin_url, name },
        })
    }

    /// A fresh database for a spec-derived suite's test, on the backend
    /// [`GENERATED_SUITES_BACKEND_VAR`] names. On PostgreSQL a missing URL fails the test.
    pub async fn for_generated_suites(test_name: &str) -> TestDb {
        let value = std::env::var(GENERATED_SUITES_BACKEND_VAR).ok();
        match generated_suites_backend(value.as_deref()) {
            Ok(Backend::Sqlite) => TestDb::sqlite(),
            Ok(Backend::Postgres) => TestDb::postgres(test_name).await.unwrap_or_else(|| {
                panic!(
                    "{test_name}: {GENERATED_SUITES_BACKEND_VAR}=postgres needs {POSTGRES_URL_VAR}"
                )
            }),
            Err(message) => panic!("{test_name}: {message}"),
        }
    }

    /// The `sqlite://` or `postgres://` URL the zone is configured with.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The SQLite file's directory (also a good place for the zone's data dir); `None` on
    /// PostgreSQL.
    pub fn dir(&self) -> Option<&Path> {
        match &self.cleanup {
            Cleanup::Dir(dir) => Some(dir),
            _ => None,
        }
    }

    /// Removes the database now. Dropping a `TestDb` does the same, best-effort; this variant
    /// reports failures and does not block a runtime thread.
    pub async fn cleanup(mut self) {
        match std::mem::replace(&mut self.cleanup, Cleanup::Done) {
            Cleanup::Dir(dir) => remove_dir(&dir),
            Cleanup::Postgres { admin_url, name } => {
                if let Err(err) = drop_database(&admin_url, &name).await {
                    eprintln!("warning: could not drop test database {name}: {err}");
                }
            }
            Cleanup::Done => {}
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match std::mem::replace(&mut self.cleanup, Cleanup::Done) {
            Cleanup::Dir(dir) => {
                // A failed test leaves its database behind so it can be opened and inspected.
                if std::thread::panicking() {
                    eprintln!(
                        "test failed; its SQLite database is kept at {}",
                        dir.display()
                    );
                } else {
                    remove_dir(&dir);
                }
            }
            Cleanup::Postgres { admin_url, name } => {
                // Drop cannot await, and blocking on the test's own runtime would deadlock, so
                // the DROP runs on a short-lived thread with a runtime of its own.
                let handle = std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build();
                    if let Ok(runtime) = runtime {
                        if let Err(err) = runtime.block_on(drop_database(&admin_url, &name)) {
                            eprintln!("warning: could not drop test database {name}: {err}");
                        }
                    }
                });
                let _ = handle.join();
            }
            Cleanup::Done => {}
        }
    }
}

fn remove_dir(dir: &Path) {
    if let Err(err) = std::fs::remove_dir_all(dir) {
        if err.kind() != std::io::ErrorKind::NotFound {
            eprintln!("warning: could not remove {}: {err}", dir.display());
        }
    }
}

async fn admin_connect(admin_url: &str) -> PgConnection {
    let attempt = tokio::time::timeout(Duration::from_secs(15), PgConnection::connect(admin_url));
    match attempt.await {
        Ok(Ok(conn)) => conn,
        Ok(Err(err)) => panic!(
            "{POSTGRES_URL_VAR} is set but PostgreSQL is unreachable at {}: {err}",
            redact(admin_url)
        ),
        Err(_) => panic!(
            "{POSTGRES_URL_VAR} is set but connecting to {} timed out after 15s",
            redact(admin_url)
        ),
    }
}

async fn drop_database(admin_url: &str, name: &str) -> Result<(), sqlx::Error> {
    let mut admin = PgConnection::connect(admin_url).await?;
    // FORCE ends connections a failed test may have left open (PostgreSQL 13+).
    sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .execute(&mut admin)
        .await?;
    admin.close().await
}

/// The admin URL with its database path replaced by `name`, keeping any query string.
fn database_url(admin_url: &str, name: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (admin_url, None),
    };
    // `postgres://user@host:port/db`: the path starts at the first '/' after the authority.
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let authority_end = base[scheme_end..]
        .find('/')
        .map(|i| scheme_end + i)
        .unwrap_or(base.len());
    let mut url = format!("{}/{name}", &base[..authority_end]);
    if let Some(query) = query {
        url.push('?');
        url.push_str(query);
    }
    url
}

/// The URL without its password, for error messages.
fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let rest = &url[scheme_end..];
    let authority = rest.split('/').next().unwrap_or(rest);
    match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!(
                    "{}{user}:***{}",
                    &url[..scheme_end],
                    &url[scheme_end + at..]
                ),
                None => url.to_owned(),
            }
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_url_replaces_only_the_database_name() {
        assert_eq!(
            database_url("postgres://postgres@127.0.0.1/postgres", "mez_t_1"),
            "postgres://postgres@127.0.0.1/mez_t_1"
        );
        assert_eq!(
            database_url("postgres://u:p@h:5433/admin?sslmode=disable", "x"),
            "postgres://u:p@h:5433/x?sslmode=disable"
        );
        assert_eq!(database_url("postgres://h", "x"), "postgres://h/x");
    }

    #[test]
    fn require_postgres_accepts_yes_and_no_and_refuses_anything_else() {
        assert_eq!(postgres_required(None), Ok(false));
        assert_eq!(postgres_required(Some("0")), Ok(false));
        assert_eq!(postgres_required(Some("false")), Ok(false));
        assert_eq!(postgres_required(Some("1")), Ok(true));
        assert_eq!(postgres_required(Some("true")), Ok(true));
        // Once `true` was read as "not required" and CI skipped silently.
        for bad in ["yes", "TRUE", "2", "on"] {
            assert!(postgres_required(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn generated_suites_backend_is_sqlite_unless_postgres_is_named() {
        assert_eq!(generated_suites_backend(None), Ok(Backend::Sqlite));
        assert_eq!(
            generated_suites_backend(Some("sqlite")),
            Ok(Backend::Sqlite)
        );
        assert_eq!(
            generated_suites_backend(Some("postgres")),
            Ok(Backend::Postgres)
        );
        assert!(generated_suites_backend(Some("mysql")).is_err());
    }

    #[test]
    fn redact_hides_the_password_but_keeps_user_and_host() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
    }

    #[test]
    fn sqlite_databases_are_fresh_files_in_their_own_directory() {
        let a = TestDb::sqlite();
        let b = TestDb::sqlite();
        assert_ne!(a.url(), b.url());
        assert!(a.url().starts_with("sqlite://"));
        assert!(a.url().ends_with("/mez.db"));
        let dir = a.dir().map(Path::to_path_buf);
        assert!(dir.as_ref().is_some_and(|d| d.is_dir()));
        drop(a);
        assert!(
            dir.is_some_and(|d| !d.exists()),
            "drop removes the directory"
        );
    }
}
