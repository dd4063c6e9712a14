// SPDX-License-Identifier: BUSL-1.1
//! The mez zone server: a hand-written runtime under the Mass surface generated from spec/.
//!
//! [`build_state`] opens the store and settles the bearer token, [`app`] assembles the HTTP
//! router around the generated surface, and [`serve`] runs it until a shutdown signal. The
//! binary (`main.rs`) only wires these to the environment, so tests drive exactly the router
//! that production serves.

pub mod audit;
pub mod auth;
pub mod canonical;
pub mod client;
pub mod clock;
pub mod compliance;
pub mod config;
pub mod connection;
pub mod credentials;
pub mod db;
pub mod docs;
pub mod error;
pub mod extract;
pub mod hooks;
pub mod mass;
pub mod metrics;
pub mod pipeline;
pub mod policy;
pub mod request_id;
pub mod runtime;
pub mod state;
pub mod surface;
pub mod zone_routes;

/// Fresh SQLite and PostgreSQL databases for the unit tests (shared with the integration tests).
#[cfg(test)]
#[path = "../tests/support/mod.rs"]
mod test_support;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{Method, Uri};
use axum::middleware::from_fn_with_state;
use axum::routing::get;
use serde_json::{Value, json};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::audit::AuditLog;
use crate::compliance::SanctionsList;
use crate::config::{Config, ConfigError};
use crate::credentials::ZoneKey;
use crate::db::{Db, DbError};
use crate::error::ApiError;
use crate::state::AppState;

/// How long the readiness probe waits for the database before calling the zone unready.
const READINESS_TIMEOUT: Duration = Duration::from_secs(3);

/// Why the zone could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    #[error("database: {0}")]
    Database(#[from] DbError),
    #[error("upstream Mass API: {0}")]
    Upstream(String),
    #[error("zone signing key: {0}")]
    ZoneKey(crate::credentials::KeyError),
    #[error(
        "zone identity: the audit chain in this database is signed by {head_did}, not by this \
         zone's key {zone_did}; the database belongs to the zone of {head_did} (replicas of one \
         zone must share its key). Set ZONE_SIGNING_KEY_HEX to the key of {head_did} (or put it \
         in the data directory's zone.key), or point DATABASE_URL at this zone's own database"
    )]
    ZoneIdentity { zone_did: String, head_did: String },
    #[error("zone identity: cannot read the audit chain's head: {0}")]
    AuditHead(String),
    #[error("JWT keys: {0}")]
    Jwks(#[from] auth::jwt::JwksError),
    #[error("sanctions list: {0}")]
    Sanctions(crate::compliance::SanctionsError),
    #[error("could not listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// Opens the store (running its migrations), starts the audit log's writer and settles the
/// bearer token.
///
/// When no token is configured the zone does not run open: it generates one and prints it
/// once to stderr, where the operator starting it will see it, and never logs it again.
pub async fn build_state(config: Config) -> Result<AppState, StartupError> {
    // The recorder first, so that nothing the zone measures from here on is lost.
    let _ = metrics::handle();
    let db = Db::connect(&config.database_url).await?;
    let zone_key = Arc::new(
        ZoneKey::load_or_create(&config.data_dir, config.signing_key_hex.as_deref())
            .map_err(StartupError::ZoneKey)?,
    );
    check_zone_identity(&db, &zone_key).await?;
    // The one audit writer of this process; every clone of the state shares it. It signs the
    // chain's head with the zone key.
    let audit = AuditLog::start_signed(db.clone(), zone_key.clone());
    let auth_token: Arc<str> = match &config.auth_token {
        Some(token) => Arc::from(token.as_str()),
        None => {
            let token = auth::generate_token();
            eprintln!("AUTH_TOKEN is not set; this zone's bearer token for this run is: {token}");
            Arc::from(token)
        }
    };
    let jwt = match &config.jwt {
        Some(jwt) => Some(Arc::new(auth::jwt::JwtVerifier::load(jwt)?)),
        None => None,
    };
    let rate_limiter = config
        .rate_limit
        .map(|limit| Arc::new(auth::rate_limit::Limiter::new(limit)));
    let sanctions = SanctionsList::load(&config.sanctions_files)
        .map_err(StartupError::Sanctions)?
        .with_threshold(config.sanctions_threshold);
    let mass_client = if config.sovereign {
        None
    } else {
        client::MassClient::new(&config.upstream)
            .map_err(|e| StartupError::Upstream(e.to_string()))?
            .map(Arc::new)
    };
    Ok(AppState {
        mass_client,
        db,
        audit,
        config: Arc::new(config),
        auth_token,
        zone_key,
        sanctions: Arc::new(state::Screening::new(sanctions)),
        jwt,
        rate_limiter,
        shutting_down: Arc::new(AtomicBool::new(false)),
    })
}

/// Refuses to start a zone on a database whose audit head another key signed: appending
/// would re-sign the head with this key, and the other zone's verification would then fail
/// (and this zone's, after the other's next write). A head that verifies under no key it can
/// name is left for `GET /v1/audit/verify` to report, so that a damaged head does not keep
/// the zone down.
async fn check_zone_identity(db: &Db, key: &ZoneKey) -> Result<(), StartupError> {
    match audit::head_signer(db, key)
        .await
        .map_err(|err| StartupError::AuditHead(err.to_string()))?
    {
        audit::HeadSigner::None | audit::HeadSigner::ThisZone => Ok(()),
        audit::HeadSigner::Other(head_did) => Err(StartupError::ZoneIdentity {
            zone_did: key.did().to_owned(),
            head_did,
        }),
        audit::HeadSigner::Unknown => {
            tracing::warn!(
                zone = key.did(),
                "the audit chain's head carries no valid signature of this zone's key nor of \
                 the zone its newest event names; GET /v1/audit/verify reports it"
            );
            Ok(())
        }
    }
}

/// The whole HTTP application.
///
/// Middleware order, outermost first (what a request passes through, top to bottom):
///
/// 1. request id ([`request_id::assign`]): the caller's well-formed `x-request-id` or a new
///    UUID, in scope for everything below and echoed on the response.
/// 2. tracing: every request, health probes included, gets a span naming its request id (so
///    every log line of the request does) and a response log line.
/// 3. metrics ([`metrics::track`]): counted and timed by route template, method and status.
/// 4. request-body settling ([`connection::settle_request_body`]): a body the answer left
///    unread is read when small, else the answer says `Connection: close`, so a client that
///    reuses connections never has one closed under it.
/// 5. `/health/liveness`, `/health/readiness`, `/openapi.json` and `/docs` answer here, without a token, so that load
///    balancers and orchestrators can probe a zone they hold no secret for.
/// 6. auth ([`auth::require_principal`]): everything else (`/metrics` too), including paths
///    that match no route. The bearer token resolves to a [`auth::Principal`] (else 401), the
///    principal's rate limit applies (429), then its role (403), and the principal goes on as
///    a request extension. Authentication comes before routing on purpose, so that an
///    unauthenticated caller gets 401 for every path and cannot map which routes exist.
/// 7. body limit: the configured maximum, enforced where the body is read, which the JSON
///    extractor reports as the JSON 413.
/// 8. routing: the Mass surface (sovereign mode only), then a JSON 404 for unknown paths and
///    a JSON 405 for known paths with another method.
/// 9. path parameters and query values, once a route matched
///    ([`extract::check_path_and_query`]): a path parameter that is not UTF-8 is a JSON 400,
///    a NUL character in either a 422 naming the parameter.
pub fn app(state: AppState) -> Router {
    // The orchestrated /v1 surface serves in both modes; the zone's own endpoints too.
    let mut routes = Router::new()
        .merge(surface::v1_router())
        .merge(zone_routes::router())
        .merge(policy::routes::router())
        .merge(auth::keys::router())
        .route("/metrics", get(metrics::render));
    if state.config.sovereign {
        routes = routes.merge(surface::direct_router());
    }
    // Layers wrap what is already on the router, so the fallbacks are added before them and
    // the innermost layer comes first.
    let protected = routes
        .route_layer(axum::middleware::from_fn(extract::check_path_and_query))
        .fallback(no_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(from_fn_with_state(state.clone(), auth::require_principal));

    Router::new()
        .route("/health/liveness", get(liveness))
        .route("/health/readiness", get(readiness))
        // The API description and its rendering are public: they say what the zone serves,
        // not what it holds.
        .merge(docs::router(state.config.sovereign))
        // Status lists are public too: relying parties fetch them to check a credential.
        .merge(credentials::status::public_router())
        .method_not_allowed_fallback(method_not_allowed)
        .merge(protected)
        .layer(axum::middleware::from_fn(connection::settle_request_body))
        .layer(axum::middleware::from_fn(metrics::track))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(axum::middleware::from_fn(request_id::assign))
        .with_state(state)
}

/// The span of one request: its method, URI and request id (set by [`request_id::assign`]
/// just outside), which every log line written while serving it carries.
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let id = request
        .headers()
        .get(request_id::HEADER)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    tracing::info_span!(
        "request",
        method = %request.method(),
        uri = %request.uri(),
        version = ?request.version(),
        request_id = %id,
    )
}

/// Serves [`app`] on `listener` until `shutdown` completes, then lets open requests finish.
///
/// From the moment `shutdown` completes the zone accepts no new connection, its readiness
/// probe answers 503 (`AppState::shutting_down`), and open requests run to their answers;
/// this returns once the last has been answered. Bounding that wait, and flushing the audit
/// writer afterwards ([`AuditLog::close`]), is the caller's (`main.rs` does both).
///
/// Connections go through [`connection::ZoneListener`], so that even the answers hyper makes
/// on its own (a URI over 65,534 bytes, say) carry the JSON error body.
///
/// The store stays open afterwards: the caller owns it and closes it (tests may still want
/// to read it after the server stops).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let flag = state.shutting_down.clone();
    let draining = async move {
        shutdown.await;
        flag.store(true, Ordering::SeqCst);
        tracing::info!("shutting down: no new connections; finishing open requests");
    };
    let upkeep = metrics::spawn_upkeep();
    let forgetting = state.rate_limiter.clone().map(|limiter| {
        tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
            loop {
                every.tick().await;
                limiter.forget_idle();
            }
        })
    });
    let recovering = state.clone();
    tokio::spawn(async move { policy::actions::recover(&recovering).await });
    let served = axum::serve(connection::ZoneListener::new(listener), app(state))
        .with_graceful_shutdown(draining)
        .await;
    upkeep.abort();
    if let Some(task) = forgetting {
        task.abort();
    }
    served
}

/// The process is up and serving HTTP; says nothing about its dependencies.
async fn liveness() -> axum::Json<Value> {
    axum::Json(json!({ "status": "ok" }))
}

/// The zone can do useful work: its database answers.
async fn readiness(State(state): State<AppState>) -> Result<axum::Json<Value>, ApiError> {
    if state.shutting_down.load(Ordering::SeqCst) {
        return Err(ApiError::ServiceUnavailable(
            "the zone is shutting down".into(),
        ));
    }
    let unready = || ApiError::ServiceUnavailable("the database is not reachable".into());
    match tokio::time::timeout(READINESS_TIMEOUT, state.db.ping()).await {
        Ok(Ok(())) => Ok(axum::Json(json!({ "status": "ready" }))),
        Ok(Err(err)) => {
            // The cause stays in the log; the probe's caller only needs to know "not yet".
            tracing::warn!(error = ?err, "readiness: database ping failed");
            Err(unready())
        }
        Err(_) => {
            tracing::warn!(timeout = ?READINESS_TIMEOUT, "readiness: database ping timed out");
            Err(unready())
        }
    }
}

async fn no_route(method: Method, uri: Uri) -> ApiError {
    ApiError::NotFound(format!("no route for {method} {}", uri.path()))
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

#[cfg(test)]
mod tests;
