// SPDX-License-Identifier: BUSL-1.1
//! The integration-test harness of the mez workspace.
//!
//! - [`TestDb`]: a fresh database per test, on SQLite (always) and PostgreSQL (when
//!   `MEZ_TEST_POSTGRES_URL` is set; required when `MEZ_REQUIRE_POSTGRES=1`).
//! - [`TestZone`]: the real zone server (`mez_api::serve`) on a loopback port, with a reqwest
//!   client that speaks to it over HTTP.
//! - [`on_sqlite_and_postgres!`]: writes a scenario once and runs it as two tests, one per
//!   backend, so the backends cannot drift apart unnoticed.
//! - [`json`]: assertions on the shapes every answer shares (the error body, ids, timestamps).
//! - [`v1`]: the orchestrated `/v1` surface's envelope and audit chain, read through the API.
//! - [`v1_writes`]: every `/v1` write kind, sent once.
//! - [`RawDb`]: a raw SQL connection to a test's database, for counting and tampering.
//! - [`DataDir`]: a zone data directory shared by zones started one after another.
//! - [`proxy`]: proxy zones pointed at an upstream (another zone, a closed port, a mock).
//!
//! The scenarios themselves live in `tests/tests/*.rs`.

pub mod bench;
pub mod db;
pub mod in_process;
pub mod json;
pub mod parity;
pub mod proxy;
pub mod raw;
pub mod reference;
pub mod surface_checks;
pub mod v1;
pub mod v1_writes;
pub mod zone;

pub use db::{Backend, TestDb};
pub use in_process::InProcessZone;
pub use raw::RawDb;
pub use zone::{Auth, DataDir, RawRequest, RawResponse, TestZone};

/// Turns each named `async fn scenario(db: &TestDb)` into a module of two tests, `sqlite` and
/// `postgres`, that give it a fresh database of that kind and clean it up afterwards.
///
/// The PostgreSQL test skips loudly when `MEZ_TEST_POSTGRES_URL` is unset, and fails instead
/// when `MEZ_REQUIRE_POSTGRES=1` (as in CI).
///
/// ```text
/// async fn records_survive_a_restart(db: &mez_tests::TestDb) { /* ... */ }
/// mez_tests::on_sqlite_and_postgres!(records_survive_a_restart);
/// // runs as `records_survive_a_restart::sqlite` and `records_survive_a_restart::postgres`
/// ```
#[macro_export]
macro_rules! on_sqlite_and_postgres {
    ($($scenario:ident),+ $(,)?) => {
        $(
            // A module and a function may share a name (they live in different namespaces),
            // which keeps the test names readable: `<scenario>::sqlite`, `<scenario>::postgres`.
            mod $scenario {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let db = $crate::TestDb::sqlite();
                    super::$scenario(&db).await;
                    db.cleanup().await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    let name = concat!(module_path!(), "::postgres");
                    let Some(db) = $crate::TestDb::postgres(name).await else {
                        return;
                    };
                    super::$scenario(&db).await;
                    db.cleanup().await;
                }
            }
        )+
    };
}
