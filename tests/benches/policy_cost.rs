// SPDX-License-Identifier: BUSL-1.1
//! What firing triggers costs a `/v1/fiscal/payments` write, measured inside the same requests.
//!
//! `cargo bench -p mez-tests --bench policy_cost` starts a sovereign zone on loopback (SQLite;
//! PostgreSQL too when `MEZ_TEST_POSTGRES_URL` is set) with 16 entities, each with an account,
//! and sends 1,600 payments from 16 concurrent clients (one account per client, so payments
//! do not contend). Every payment fires `withholding_due` (spec `fires:` on the route): its
//! hook reads the entity's withholding this tax year, the pipeline checks the entity is not
//! halted, and the policies produce one durable action stored with the write.
//!
//! It reads the zone's own `/metrics` before and after and reports the time in the `policy`
//! stage against the whole request time of the same requests, and what it adds to the rest:
//! `policy / (request - policy)` (the target: <= 0.10). Payments are sent in rounds,
//! and the figure is reported per round, since the withholding read grows with the entity's
//! payments in the tax year.

use std::time::{Duration, Instant};

use mez_tests::bench::{block_on, metric_sum as sum, metrics_text as metrics};
use mez_tests::{TestDb, TestZone};
use serde_json::json;

const ROUNDS: usize = 4;
const PER_ROUND: usize = 400;
const CLIENTS: usize = 16;
const DEADLINE: Duration = Duration::from_secs(300);

/// Sends `PER_ROUND` payments from `CLIENTS` tasks, client `c` paying from `accounts[c]`.
async fn round(zone: &TestZone, accounts: &[String]) -> f64 {
    let client = reqwest::Client::new();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for account in accounts.iter().take(CLIENTS) {
        let (client, base, token, account) = (
            client.clone(),
            zone.url(""),
            zone.token.clone(),
            account.clone(),
        );
        tasks.push(tokio::spawn(async move {
            for n in 0..PER_ROUND / CLIENTS {
                assert!(
                    started.elapsed() < DEADLINE,
                    "the load run passed its deadline"
                );
                let resp = client
                    .post(format!("{base}/v1/fiscal/payments"))
                    .bearer_auth(&token)
                    .json(
                        &json!({"from_account_id": account, "amount": "2500.00", "currency": "PKR",
                                  "reference": format!("bench-{n}"), "ntn": "1234567"}),
                    )
                    .send()
                    .await
                    .expect("request");
                assert!(
                    resp.status().is_success(),
                    "payment answered {}",
                    resp.status()
                );
            }
        }));
    }
    for t in tasks {
        t.await.expect("load task");
    }
    (PER_ROUND / CLIENTS * CLIENTS) as f64 / started.elapsed().as_secs_f64()
}

async fn run(backend: &str, db: TestDb) {
    let zone = TestZone::start(&db, true).await;
    let mut accounts = Vec::new();
    for n in 0..CLIENTS {
        let (status, entity) = zone
            .post(
                "/v1/entities",
                json!({"entity_type": "llc", "legal_name": format!("Payer {n} Ltd"), "jurisdiction_id": "pk"}),
            )
            .await;
        assert_eq!(status, 201, "{entity}");
        let (status, account) = zone
            .post(
                "/v1/fiscal/accounts",
                json!({"entity_id": entity["mass_response"]["id"], "account_type": "operating", "currency": "PKR"}),
            )
            .await;
        assert_eq!(status, 201, "{account}");
        accounts.push(
            account["mass_response"]["id"]
                .as_str()
                .expect("id")
                .to_string(),
        );
    }
    println!(
        "backend {backend}: {ROUNDS} rounds of {PER_ROUND} payments from {CLIENTS} concurrent clients"
    );
    for r in 1..=ROUNDS {
        let before = metrics(&zone).await;
        let rate = round(&zone, &accounts).await;
        let after = metrics(&zone).await;
        let policy = |t: &str| {
            sum(
                t,
                "mez_v1_stage_duration_seconds_sum",
                &["stage=\"policy\""],
            )
        };
        let request = |t: &str| {
            sum(
                t,
                "mez_http_request_duration_seconds_sum",
                &["route=\"/v1/fiscal/payments\""],
            )
        };
        let spent = policy(&after) - policy(&before);
        let whole = request(&after) - request(&before);
        println!(
            "  round {r} (payments {:>4}-{:>4} per entity) {rate:>6.0} req/s  policy {:>5.1}% of request time, adds {:.3} to the rest",
            (r - 1) * PER_ROUND / CLIENTS + 1,
            r * PER_ROUND / CLIENTS,
            100.0 * spent / whole,
            spent / (whole - spent)
        );
    }
    let actions = zone.stored("policy_actions").await;
    assert_eq!(
        actions.len(),
        ROUNDS * PER_ROUND,
        "one durable action per payment"
    );
    zone.stop().await;
}

fn main() {
    block_on(async {
        run("sqlite", TestDb::sqlite()).await;
        if std::env::var_os("MEZ_TEST_POSTGRES_URL").is_some() {
            run(
                "postgres",
                TestDb::postgres("bench_policy").await.expect("postgres"),
            )
            .await;
        }
    });
}
