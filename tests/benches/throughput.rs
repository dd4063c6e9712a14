// SPDX-License-Identifier: BUSL-1.1
//! Load generator: write throughput of the zone's surfaces, measured side by side in one run.
//!
//! `cargo bench -p mez-tests --bench throughput` starts real zones on loopback ports (SQLite;
//! PostgreSQL too when `MEZ_TEST_POSTGRES_URL` is set) and sends the same number of creates,
//! from the same number of concurrent clients, to:
//!   1. the direct surface (`POST /organization-info/api/v1/organization/create`);
//!   2. the orchestrated `/v1/entities` on a sovereign zone (compliance, credential,
//!      attestation, audit: the pipeline's whole cost);
//!   3. `/v1/entities` on a proxy zone whose upstream is a sovereign zone (one more HTTP hop).
//!
//! It prints requests per second and each figure as a ratio of the direct surface's, so that
//! the comparison survives a noisy machine. Bounded in count and time; loopback only.

use std::time::{Duration, Instant};

use mez_api::config::Config;
use mez_tests::{TestDb, TestZone};
use serde_json::json;

const REQUESTS: usize = 2_000;
const CLIENTS: usize = 16;
const DEADLINE: Duration = Duration::from_secs(120);

/// Sends `REQUESTS` POSTs of `body` to `path` from `CLIENTS` tasks; returns requests/second.
async fn load(zone: &TestZone, path: &str, body: serde_json::Value) -> f64 {
    let client = reqwest::Client::new();
    let url = zone.url(path);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let (client, url, body, token) = (
            client.clone(),
            url.clone(),
            body.clone(),
            zone.token.clone(),
        );
        tasks.push(tokio::spawn(async move {
            for _ in 0..REQUESTS / CLIENTS {
                if started.elapsed() > DEADLINE {
                    panic!("the load run passed its deadline");
                }
                let resp = client
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await
                    .expect("request");
                assert!(
                    resp.status().is_success(),
                    "{} answered {}",
                    url,
                    resp.status()
                );
            }
        }));
    }
    for t in tasks {
        t.await.expect("load task");
    }
    (REQUESTS / CLIENTS * CLIENTS) as f64 / started.elapsed().as_secs_f64()
}

async fn run(backend: &str, sovereign_db: TestDb, upstream_db: TestDb, proxy_db: TestDb) {
    let sovereign = TestZone::start(&sovereign_db, true).await;
    let upstream = TestZone::start(&upstream_db, true).await;
    let token = format!("bench-{}", uuid::Uuid::new_v4().simple());
    let mut config = Config::for_tests(proxy_db.url(), false, &token);
    for variable in mez_api::surface::ROUTES.iter().filter_map(|r| r.url_env) {
        config
            .upstream
            .urls
            .insert(variable.to_string(), upstream.base_url.clone());
    }
    config.upstream.token = Some(upstream.token.clone());
    let proxy = TestZone::start_with_config(config).await;

    let direct = load(
        &sovereign,
        "/organization-info/api/v1/organization/create",
        json!({"name": "Bench Direct Ltd", "jurisdiction": "pk"}),
    )
    .await;
    let v1 = json!({"entity_type": "llc", "legal_name": "Bench Orchestrated Ltd", "jurisdiction_id": "pk"});
    let orchestrated = load(&sovereign, "/v1/entities", v1.clone()).await;
    let proxied = load(&proxy, "/v1/entities", v1).await;

    println!("backend {backend}: {REQUESTS} creates from {CLIENTS} concurrent clients");
    println!("  direct surface        {direct:>8.0} req/s  1.00");
    println!(
        "  /v1 sovereign         {orchestrated:>8.0} req/s  {:.2}",
        orchestrated / direct
    );
    println!(
        "  /v1 proxy -> upstream {proxied:>8.0} req/s  {:.2}",
        proxied / direct
    );
    let report = sovereign.get("/v1/audit/verify").await.1;
    assert_eq!(report["valid"], true, "{report}");
    for zone in [sovereign, upstream, proxy] {
        zone.stop().await;
    }
}

fn main() {
    mez_tests::bench::block_on(async {
        run(
            "sqlite",
            TestDb::sqlite(),
            TestDb::sqlite(),
            TestDb::sqlite(),
        )
        .await;
        if std::env::var_os("MEZ_TEST_POSTGRES_URL").is_some() {
            let (a, b, c) = (
                TestDb::postgres("bench").await.expect("postgres"),
                TestDb::postgres("bench").await.expect("postgres"),
                TestDb::postgres("bench").await.expect("postgres"),
            );
            run("postgres", a, b, c).await;
        }
    });
}
