// SPDX-License-Identifier: BUSL-1.1
//! `GET /metrics`: what the zone is doing, in the Prometheus text format.
//!
//! Measurements go through the `metrics` facade to the one process-wide Prometheus recorder
//! ([`handle`] installs it on first use); the endpoint renders it. The names:
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | `mez_http_requests_total` | counter | `route` (the route template, or `unmatched`), `method`, `status` |
//! | `mez_http_request_duration_seconds` | histogram | `route`, `method` |
//! | `mez_v1_stage_duration_seconds` | histogram | `stage`: `validate`, `compliance`, `mass_operation`, `evidence`, `sign`, `commit`, `policy` (halt check, trigger data, firing and running actions; overlaps `mass_operation` for a hook's trigger outputs) |
//! | `mez_audit_batch_size` | histogram | (units per writer transaction) |
//! | `mez_audit_batch_commit_duration_seconds` | histogram | (one batch, retries included) |
//! | `mez_upstream_request_duration_seconds` | histogram | `service`, `outcome` (`ok`, `failed`) |
//! | `mez_upstream_failures_total` | counter | `service` |
//! | `mez_db_pool_connections` | gauge | `state`: `open`, `idle`, `in_use`, `max` |
//!
//! Several zones in one process (as in the tests) share the recorder, and so the figures.

use std::future::Future;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::error::ApiError;
use crate::state::AppState;

/// Histogram buckets for durations, in seconds: half a millisecond to ten seconds.
const SECONDS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Histogram buckets for the audit writer's batch size (it takes at most 64 units).
const BATCH_SIZES: [f64; 7] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0];

/// How often the recorder's histograms are compacted while the zone serves.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The process's Prometheus recorder, installed on the first call. `None` if another recorder
/// was installed first (a host embedding the zone), in which case `/metrics` answers 503.
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE.get_or_init(install).as_ref()
}

fn install() -> Option<PrometheusHandle> {
    let recorder = PrometheusBuilder::new()
        .set_buckets(&SECONDS)
        .and_then(|b| {
            b.set_buckets_for_metric(Matcher::Full("mez_audit_batch_size".into()), &BATCH_SIZES)
        })
        .map(PrometheusBuilder::build_recorder);
    let recorder = match recorder {
        Ok(recorder) => recorder,
        Err(err) => {
            tracing::error!(error = %err, "metrics: cannot build the Prometheus recorder");
            return None;
        }
    };
    let handle = recorder.handle();
    if let Err(err) = metrics::set_global_recorder(recorder) {
        tracing::error!(error = %err, "metrics: another recorder is installed; /metrics is off");
        return None;
    }
    describe();
    Some(handle)
}

/// The HELP lines.
fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "mez_http_requests_total",
        "HTTP requests answered, by route template, method and status"
    );
    describe_histogram!(
        "mez_http_request_duration_seconds",
        Unit::Seconds,
        "HTTP request durations, by route template and method"
    );
    describe_histogram!(
        "mez_v1_stage_duration_seconds",
        Unit::Seconds,
        "/v1 write pipeline stage durations"
    );
    describe_histogram!(
        "mez_audit_batch_size",
        Unit::Count,
        "write units per audit writer transaction"
    );
    describe_histogram!(
        "mez_audit_batch_commit_duration_seconds",
        Unit::Seconds,
        "audit writer batch durations, begin to commit, retries included"
    );
    describe_histogram!(
        "mez_upstream_request_duration_seconds",
        Unit::Seconds,
        "upstream Mass API call durations, by service and outcome"
    );
    describe_counter!(
        "mez_upstream_failures_total",
        "upstream Mass API calls that failed, by service"
    );
    describe_gauge!(
        "mez_db_pool_connections",
        "database pool connections, by state"
    );
}

/// Compacts the recorder's histograms now and then until the returned task is aborted
/// (`serve` runs one while it serves). Without it, samples would pile up between scrapes.
pub fn spawn_upkeep() -> tokio::task::JoinHandle<()> {
    tokio::spawn(async {
        let Some(handle) = handle() else { return };
        let mut every = tokio::time::interval(UPKEEP_EVERY);
        loop {
            every.tick().await;
            handle.run_upkeep();
        }
    })
}

/// Middleware: counts and times every request, labelled by the route template it matched
/// (never the raw path, whose ids would make one series per record).
pub async fn track(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let elapsed = started.elapsed().as_secs_f64();
    let status = response.status().as_u16().to_string();
    metrics::histogram!("mez_http_request_duration_seconds", "route" => route.clone(), "method" => method.clone())
        .record(elapsed);
    metrics::counter!("mez_http_requests_total", "route" => route, "method" => method, "status" => status)
        .increment(1);
    response
}

/// Runs one stage of the `/v1` pipeline and records how long it took.
pub async fn stage<T>(name: &'static str, work: impl Future<Output = T>) -> T {
    let started = Instant::now();
    let out = work.await;
    record_stage(name, started);
    out
}

/// Records a `/v1` stage that ran from `started` until now (for stages that are not futures).
pub fn record_stage(name: &'static str, started: Instant) {
    metrics::histogram!("mez_v1_stage_duration_seconds", "stage" => name)
        .record(started.elapsed().as_secs_f64());
}

/// Records one audit writer batch: how many units it took and how long it ran.
pub fn record_audit_batch(units: usize, started: Instant) {
    // Batches hold at most 64 units, which f64 holds exactly.
    #[allow(clippy::cast_precision_loss)]
    metrics::histogram!("mez_audit_batch_size").record(units as f64);
    metrics::histogram!("mez_audit_batch_commit_duration_seconds")
        .record(started.elapsed().as_secs_f64());
}

/// Records one upstream call (one attempt) of `service`.
pub fn record_upstream(service: &'static str, started: Instant, ok: bool) {
    let outcome = if ok { "ok" } else { "failed" };
    metrics::histogram!("mez_upstream_request_duration_seconds", "service" => service, "outcome" => outcome)
        .record(started.elapsed().as_secs_f64());
    if !ok {
        metrics::counter!("mez_upstream_failures_total", "service" => service).increment(1);
    }
}

/// `GET /metrics` (behind the bearer token): the Prometheus text exposition.
pub async fn render(State(state): State<AppState>) -> Result<Response, ApiError> {
    let handle = handle().ok_or_else(|| {
        ApiError::ServiceUnavailable("metrics are not available in this process".into())
    })?;
    let (open, idle, max) = state.db.pool_usage();
    let idle = u32::try_from(idle).unwrap_or(u32::MAX);
    for (label, value) in [
        ("open", open),
        ("idle", idle),
        ("in_use", open.saturating_sub(idle)),
        ("max", max),
    ] {
        metrics::gauge!("mez_db_pool_connections", "state" => label).set(f64::from(value));
    }
    Ok((
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        handle.render(),
    )
        .into_response())
}
