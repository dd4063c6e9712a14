// SPDX-License-Identifier: BUSL-1.1
//! What the load benchmarks share: reading a zone's own `/metrics` and summing its samples, and
//! running a benchmark's async main.

use std::future::Future;

use crate::TestZone;

/// The sum of every sample line of `metric` (`..._sum`) whose labels contain all of `labels`.
pub fn metric_sum(text: &str, metric: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|line| line.starts_with(metric) && labels.iter().all(|l| line.contains(l)))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// The zone's `/metrics` text.
pub async fn metrics_text(zone: &TestZone) -> String {
    let answer = reqwest::Client::new()
        .get(zone.url("/metrics"))
        .bearer_auth(&zone.token)
        .send()
        .await;
    match answer {
        Ok(resp) => match resp.text().await {
            Ok(text) => text,
            Err(err) => panic!("reading /metrics failed: {err}"),
        },
        Err(err) => panic!("GET /metrics failed: {err}"),
    }
}

/// Runs a benchmark's body on a multi-threaded runtime.
pub fn block_on(body: impl Future<Output = ()>) {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(body),
        Err(err) => panic!("cannot build the runtime: {err}"),
    }
}
