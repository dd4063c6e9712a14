// SPDX-License-Identifier: BUSL-1.1
//! Audit verification rate, side by side with the rate at which the database hands out the
//! same rows.
//!
//! `cargo bench -p mez-tests --bench audit_verify` writes a chain of `MEZ_BENCH_EVENTS`
//! events (default 200,000) through the zone's own audit writer (batched, signed head), on
//! SQLite and, when `MEZ_TEST_POSTGRES_URL` is set, on PostgreSQL too. It then times, in one
//! run and alternating three times:
//!   1. `AuditLog::verify`: every hash recomputed, every link and the signed head checked;
//!   2. a bare scan: the same columns of the same rows read in sequence order and dropped,
//!      which is what verification could not go below on this machine with this driver.
//!
//! It prints events per second for both and the ratio verify / scan, so that the figure
//! survives a noisy machine. Bounded in count and time; loopback only.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use mez_api::audit::{AuditDraft, AuditLog, WriteUnit};
use mez_api::credentials::ZoneKey;
use mez_api::db::Db;
use mez_tests::TestDb;
use serde_json::json;

/// The columns verification reads, in its order.
const SCAN_SQL: &str = "SELECT sequence, event_type, actor, resource_type, resource_id, action, \
                        metadata, timestamp, previous_hash, event_hash \
                        FROM audit_events ORDER BY sequence";

/// How long writing the chain may take before the bench gives up.
const WRITE_DEADLINE: Duration = Duration::from_secs(300);

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

fn events_wanted() -> u64 {
    std::env::var("MEZ_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000)
}

/// How many tasks commit concurrently while the chain is written.
const WRITERS: u64 = 64;

/// Writes `n` events (a multiple of [`WRITERS`]) through the audit writer from concurrent
/// tasks, as a busy zone would.
async fn write_chain(audit: &AuditLog, n: u64) {
    let started = Instant::now();
    let tasks = WRITERS;
    let per_task = n / tasks;
    let mut handles = Vec::new();
    for t in 0..tasks {
        let audit = audit.clone();
        handles.push(tokio::spawn(async move {
            for i in 0..per_task {
                assert!(
                    started.elapsed() < WRITE_DEADLINE,
                    "writing the chain took too long"
                );
                let unit = WriteUnit {
                    ops: Vec::new(),
                    audit: AuditDraft {
                        event_type: "entity.created".into(),
                        actor: "did:key:z6MkBenchActor".into(),
                        resource_type: "entity".into(),
                        resource_id: uuid::Uuid::new_v4().to_string(),
                        action: "create".into(),
                        metadata: json!({
                            "jurisdiction": "pk",
                            "request_id": uuid::Uuid::new_v4().to_string(),
                            "task": t,
                            "i": i,
                        }),
                    },
                };
                audit.commit(unit).await.expect("commit");
            }
        }));
    }
    for h in handles {
        h.await.expect("writer task");
    }
}

/// Reads every row as verification does and drops it; returns the row count.
async fn scan(url: &str) -> u64 {
    if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(url).await.expect("sqlite pool");
        let mut rows = sqlx::query_as::<_, Row>(SCAN_SQL).fetch(&pool);
        let mut n = 0;
        while let Some(row) = rows.try_next().await.expect("scan row") {
            std::hint::black_box(&row);
            n += 1;
        }
        drop(rows);
        pool.close().await;
        n
    } else {
        let pool = sqlx::PgPool::connect(url).await.expect("postgres pool");
        let mut rows = sqlx::query_as::<_, Row>(SCAN_SQL).fetch(&pool);
        let mut n = 0;
        while let Some(row) = rows.try_next().await.expect("scan row") {
            std::hint::black_box(&row);
            n += 1;
        }
        drop(rows);
        pool.close().await;
        n
    }
}

async fn bench(label: &str, db: TestDb) {
    let n = events_wanted().div_ceil(WRITERS) * WRITERS;
    let key = Arc::new(ZoneKey::from_signing_key(
        ed25519_dalek::SigningKey::from_bytes(&[7; 32]),
    ));
    let store = Db::connect(db.url()).await.expect("connect");
    let audit = AuditLog::start_signed(store.clone(), key);
    let started = Instant::now();
    write_chain(&audit, n).await;
    let written = started.elapsed();
    println!(
        "{label}: wrote {n} events in {:.1} s ({:.0} events/s through the writer)",
        written.as_secs_f64(),
        n as f64 / written.as_secs_f64()
    );

    let mut verify_rates = Vec::new();
    let mut scan_rates = Vec::new();
    for round in 1..=3 {
        let t = Instant::now();
        let report = audit.verify().await.expect("verify");
        let verify_s = t.elapsed().as_secs_f64();
        assert!(report.valid, "the chain must verify: {:?}", report.reason);
        assert_eq!(report.events, n, "every event is verified");

        let t = Instant::now();
        let rows = scan(db.url()).await;
        let scan_s = t.elapsed().as_secs_f64();
        assert_eq!(rows, n, "the scan reads every event");

        let (v, s) = (n as f64 / verify_s, n as f64 / scan_s);
        println!(
            "{label} round {round}: verify {v:>10.0} events/s   scan {s:>10.0} rows/s   verify/scan {:.2}",
            v / s
        );
        verify_rates.push(v);
        scan_rates.push(s);
    }
    let best = |rates: &[f64]| rates.iter().copied().fold(0.0_f64, f64::max);
    println!(
        "{label} best: verify {:.0} events/s, scan {:.0} rows/s, ratio {:.2}",
        best(&verify_rates),
        best(&scan_rates),
        best(&verify_rates) / best(&scan_rates)
    );
    audit.close().await;
    store.close().await;
    db.cleanup().await;
}

#[tokio::main]
async fn main() {
    bench("SQLite", TestDb::sqlite()).await;
    if let Some(db) = TestDb::postgres("audit_verify bench").await {
        bench("PostgreSQL", db).await;
    }
}
