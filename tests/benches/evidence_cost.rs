// SPDX-License-Identifier: BUSL-1.1
//! What evidence-based compliance costs a `/v1` write, measured inside the same requests.
//!
//! `cargo bench -p mez-tests --bench evidence_cost` starts a sovereign zone on loopback (SQLite;
//! PostgreSQL too when `MEZ_TEST_POSTGRES_URL` is set), and sends, from 16 concurrent clients:
//!   1. `POST /v1/entities` with two beneficial owners (the subject is the entity the write
//!      plans);
//!   2. `PUT /v1/entities/{id}` on 16 entities that have two CNIC checks, an NTN check, a cap
//!      table and an account (the evidence is read in full on every write; one entity per
//!      client, so the writes do not contend).
//!
//! For each, it reads the zone's own `/metrics` before and after and reports the time spent in
//! the `evidence` stage (gathering the subject's facts and the post-operation evaluation) as a
//! share of the whole request time, and as what it adds to the rest of the request:
//! `evidence / (request - evidence)`. Both figures come from the same requests, so the ratio
//! survives a noisy machine.

use std::time::{Duration, Instant};

use mez_tests::bench::{block_on, metric_sum as sum, metrics_text as metrics};
use mez_tests::{TestDb, TestZone};
use serde_json::{Value, json};

const REQUESTS: usize = 1_600;
const CLIENTS: usize = 16;
const DEADLINE: Duration = Duration::from_secs(180);

/// The sum of every sample line of `metric` (`..._sum`) whose labels contain all of `labels`.
/// Runs `requests` from `CLIENTS` tasks; `make(client_index, n)` gives method, path and body.
async fn load(
    zone: &TestZone,
    make: impl Fn(usize, usize) -> (reqwest::Method, String, Value) + Clone + Send + 'static,
) -> f64 {
    let client = reqwest::Client::new();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let (client, make, base, token) = (
            client.clone(),
            make.clone(),
            zone.url(""),
            zone.token.clone(),
        );
        tasks.push(tokio::spawn(async move {
            for n in 0..REQUESTS / CLIENTS {
                assert!(
                    started.elapsed() < DEADLINE,
                    "the load run passed its deadline"
                );
                let (method, path, body) = make(c, n);
                let resp = client
                    .request(method, format!("{base}{path}"))
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await
                    .expect("request");
                assert!(
                    resp.status().is_success(),
                    "{path} answered {}",
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

/// Reports the evidence stage's share of the requests of `route` run by `work`.
async fn measure(zone: &TestZone, label: &str, route: &str, rate: impl Future<Output = f64>) {
    let before = metrics(zone).await;
    let rate = rate.await;
    let after = metrics(zone).await;
    let stage = |t: &str| {
        sum(
            t,
            "mez_v1_stage_duration_seconds_sum",
            &["stage=\"evidence\""],
        )
    };
    let request = |t: &str| {
        sum(
            t,
            "mez_http_request_duration_seconds_sum",
            &[&format!("route=\"{route}\"")],
        )
    };
    let evidence = stage(&after) - stage(&before);
    let whole = request(&after) - request(&before);
    println!(
        "  {label:<28} {rate:>7.0} req/s  evidence {:>5.1}% of request time, adds {:.2} to the rest",
        100.0 * evidence / whole,
        evidence / (whole - evidence)
    );
}

async fn evidenced_entity(zone: &TestZone, n: usize) -> String {
    let (status, created) = zone
        .post(
            "/v1/entities",
            json!({"entity_type": "llc", "legal_name": format!("Evidenced {n} Ltd"), "jurisdiction_id": "pk",
                   "beneficial_owners": [{"name": "Ali Khan", "ownership_percentage": "50"},
                                         {"name": "Sara Ahmed", "ownership_percentage": "50"}]}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["mass_response"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    for (path, body) in [
        (
            "/v1/identity/cnic/verify",
            json!({"cnic": "12345-1234567-1", "full_name": "Ali Khan", "entity_id": id}),
        ),
        (
            "/v1/identity/cnic/verify",
            json!({"cnic": "42101-1111111-2", "full_name": "Sara Ahmed", "entity_id": id}),
        ),
        (
            "/v1/identity/ntn/verify",
            json!({"ntn": "1234567", "entity_name": "Evidenced Ltd", "entity_id": id}),
        ),
        (
            "/v1/ownership/cap-tables",
            json!({"entity_id": id, "share_classes": [{"name": "Common", "authorized_shares": 100}]}),
        ),
        (
            "/v1/fiscal/accounts",
            json!({"entity_id": id, "account_type": "operating", "currency": "PKR"}),
        ),
    ] {
        let (status, body) = zone.post(path, body).await;
        assert!(status == 200 || status == 201, "{path}: {status} {body}");
    }
    id
}

async fn run(backend: &str, db: TestDb) {
    let zone = TestZone::start(&db, true).await;
    println!("backend {backend}: {REQUESTS} writes from {CLIENTS} concurrent clients");
    measure(
        &zone,
        "POST /v1/entities",
        "/v1/entities",
        load(&zone, |c, n| {
            (
                reqwest::Method::POST,
                "/v1/entities".to_string(),
                json!({"entity_type": "llc", "legal_name": format!("Bench {c}-{n} Ltd"), "jurisdiction_id": "pk",
                       "beneficial_owners": [{"name": "Ali Khan", "ownership_percentage": "50"},
                                             {"name": "Sara Ahmed", "ownership_percentage": "50"}]}),
            )
        }),
    )
    .await;
    let mut entities = Vec::new();
    for n in 0..CLIENTS {
        entities.push(evidenced_entity(&zone, n).await);
    }
    let report = zone
        .get(&format!("/v1/entities/{}/compliance", entities[0]))
        .await
        .1;
    assert_eq!(report["overall_status"], "compliant", "{report}");
    measure(
        &zone,
        "PUT /v1/entities/{id}",
        "/v1/entities/{id}",
        load(&zone, move |c, n| {
            (
                reqwest::Method::PUT,
                format!("/v1/entities/{}", entities[c]),
                json!({"tags": [format!("t{n}")]}),
            )
        }),
    )
    .await;
    zone.stop().await;
}

fn main() {
    block_on(async {
        run("sqlite", TestDb::sqlite()).await;
        if std::env::var_os("MEZ_TEST_POSTGRES_URL").is_some() {
            run(
                "postgres",
                TestDb::postgres("bench_evidence").await.expect("postgres"),
            )
            .await;
        }
    });
}
