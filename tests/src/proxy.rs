// SPDX-License-Identifier: BUSL-1.1
//! Proxy zones and their upstreams, for the two-zone and upstream-failure scenarios.
//!
//! A proxy zone (`SOVEREIGN_MASS=false`) sends every Mass operation to the services its
//! `MASS_*_URL` variables name. Here they all point at one base URL: another zone's direct
//! surface on a loopback port (the two-zone topology of `deploy/`), a port nothing listens
//! on, or a mock the test runs. The configuration is built the way the environment builds
//! it (`Config::for_tests`, then `config.upstream`), so the zone under test is the product.
//!
//! - [`proxy_config`] / [`start_proxy`]: a proxy zone pointed at an upstream.
//! - [`closed_loopback_url`]: an upstream that refuses connections.
//! - [`assert_nothing_written`]: the database of a zone holds no record and no audit event.
//! - [`on_sqlite_and_postgres_pairs!`]: a scenario over two databases (one per zone), run
//!   once on SQLite and once on PostgreSQL.

use mez_api::config::Config;

use crate::db::TestDb;
use crate::raw::RawDb;
use crate::zone::TestZone;

/// The upstream variables of the Mass services a proxy zone calls, as `deploy/` sets them.
pub const UPSTREAM_URL_VARIABLES: [&str; 5] = [
    "MASS_ORG_INFO_URL",
    "MASS_TREASURY_INFO_URL",
    "MASS_CONSENT_INFO_URL",
    "MASS_INVESTMENT_INFO_URL",
    "MASS_TEMPLATING_URL",
];

/// A fresh bearer token, different for every zone a test starts.
pub fn fresh_token() -> String {
    format!("test-token-{}", uuid::Uuid::new_v4().simple())
}

/// The configuration of a proxy zone on `db` whose every Mass service is `upstream_url`,
/// called with `upstream_token` (`MASS_API_TOKEN`). Its own bearer token is fresh; the test
/// may still adjust the timeouts before starting it.
pub fn proxy_config(db: &TestDb, upstream_url: &str, upstream_token: Option<&str>) -> Config {
    let mut config = Config::for_tests(db.url(), false, &fresh_token());
    for variable in UPSTREAM_URL_VARIABLES {
        config
            .upstream
            .urls
            .insert(variable.to_owned(), upstream_url.to_owned());
    }
    config.upstream.token = upstream_token.map(str::to_owned);
    config
}

/// Starts a proxy zone on `db` whose upstream is `upstream`'s direct surface, presenting
/// `upstream`'s token: zone A of the two-zone topology, with `upstream` as zone B.
pub async fn start_proxy(db: &TestDb, upstream: &TestZone) -> TestZone {
    let config = proxy_config(db, &upstream.base_url, Some(&upstream.token));
    TestZone::start_with_config(config).await
}

/// `http://127.0.0.1:<port>` for a loopback port that nothing listens on: a listener is bound
/// to an ephemeral port and closed again, so connecting is refused at once.
pub fn closed_loopback_url() -> String {
    let listener = match std::net::TcpListener::bind("127.0.0.1:0") {
        Ok(listener) => listener,
        Err(err) => panic!("cannot bind a loopback port: {err}"),
    };
    let port = match listener.local_addr() {
        Ok(addr) => addr.port(),
        Err(err) => panic!("cannot read the bound address: {err}"),
    };
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// Counts the rows of `table` (all of them, or those matching `condition`) in a test's
/// database, bypassing the zone.
pub async fn count_rows(db: &TestDb, table: &str, condition: Option<&str>) -> i64 {
    let sql = match condition {
        Some(condition) => format!("SELECT COUNT(*) FROM {table} WHERE {condition}"),
        None => format!("SELECT COUNT(*) FROM {table}"),
    };
    let mut raw = RawDb::open(db).await;
    let count = raw.scalar_i64(&sql).await;
    raw.close().await;
    count
}

/// Asserts that `zone` (running on `db`) has written nothing at all: no stored record of any
/// collection (so no Mass record, attestation or remembered idempotency key), no audit event,
/// and an empty chain that verifies. `context` says which failure is being checked.
pub async fn assert_nothing_written(zone: &TestZone, db: &TestDb, context: &str) {
    assert_eq!(
        count_rows(db, "records", None).await,
        0,
        "{context}: the zone stored a record"
    );
    assert_eq!(
        count_rows(db, "audit_events", None).await,
        0,
        "{context}: the zone recorded an audit event"
    );
    assert!(
        zone.stored("attestations").await.is_empty(),
        "{context}: the zone issued an attestation"
    );
    crate::v1::assert_chain_valid(zone, 0).await;
}

/// Turns each named `async fn scenario(db_a: &TestDb, db_b: &TestDb)` into a module of two
/// tests, `sqlite` and `postgres`, that give it two fresh databases of that kind (one per
/// zone, as in the two-zone topology) and clean both up afterwards.
///
/// The PostgreSQL test skips loudly when `MEZ_TEST_POSTGRES_URL` is unset, and fails instead
/// when `MEZ_REQUIRE_POSTGRES=1`, as [`on_sqlite_and_postgres!`](crate::on_sqlite_and_postgres)
/// does.
#[macro_export]
macro_rules! on_sqlite_and_postgres_pairs {
    ($($scenario:ident),+ $(,)?) => {
        $(
            mod $scenario {
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn sqlite() {
                    let db_a = $crate::TestDb::sqlite();
                    let db_b = $crate::TestDb::sqlite();
                    super::$scenario(&db_a, &db_b).await;
                    db_a.cleanup().await;
                    db_b.cleanup().await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn postgres() {
                    let name = concat!(module_path!(), "::postgres");
                    let Some(db_a) = $crate::TestDb::postgres(name).await else {
                        return;
                    };
                    let Some(db_b) = $crate::TestDb::postgres(name).await else {
                        return;
                    };
                    super::$scenario(&db_a, &db_b).await;
                    db_a.cleanup().await;
                    db_b.cleanup().await;
                }
            }
        )+
    };
}
