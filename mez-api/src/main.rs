// SPDX-License-Identifier: BUSL-1.1
//! The `mez-api` binary: one zone server, configured from the environment.
//!
//! Start-up reads the configuration, opens the database (running its migrations), binds the
//! listen address and serves until Ctrl-C or SIGTERM. Then it stops accepting connections
//! (readiness answers 503), lets open requests finish for up to [`DRAIN_LIMIT`], flushes the
//! audit writer, closes the database and exits 0, all within ten seconds. Any start-up failure
//! is printed as one line and the process exits non-zero.
//!
//! Logs go to stdout as text, or as one JSON object per line with `MEZ_LOG_FORMAT=json`.
//!
//! `mez-api keys create|list|revoke ...` manages the zone's API keys instead of serving
//! ([`mez_api::auth::keys::run_cli`]): it opens the database the server would (the same
//! environment), prints its answer as JSON on stdout and exits.

use std::process::ExitCode;
use std::time::Duration;

use mez_api::config::Config;
use mez_api::state::AppState;
use mez_api::{StartupError, build_state, serve};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tracing_subscriber::EnvFilter;

/// How long open requests may take to finish once shutdown begins. A deploy's stop timeout is
/// commonly ten seconds; this leaves room for the audit flush and closing the database.
const DRAIN_LIMIT: Duration = Duration::from_secs(7);

/// How long the audit writer may take to commit what it holds once requests are done.
const FLUSH_LIMIT: Duration = Duration::from_secs(2);

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some((command, rest)) = args.split_first() {
        if command == "keys" {
            return keys_command(rest).await;
        }
        eprintln!(
            "mez-api: unknown command {command:?}\n\n{}",
            mez_api::auth::keys::USAGE
        );
        return ExitCode::FAILURE;
    }
    init_tracing();
    let (listener, state) = match start().await {
        Ok(started) => started,
        Err(err) => {
            eprintln!("mez-api: cannot start: {err}");
            return ExitCode::FAILURE;
        }
    };
    let db = state.db.clone();
    let audit = state.audit.clone();
    let reloads = tokio::spawn(reload_on_sighup(state.clone()));
    let (began, begun) = oneshot::channel();
    let signal = async move {
        shutdown_signal().await;
        let _ = began.send(());
    };
    // Open requests finish unless they outlast the drain limit, counted from the signal.
    let deadline = async move {
        if begun.await.is_ok() {
            tokio::time::sleep(DRAIN_LIMIT).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    let served = tokio::select! {
        served = serve(listener, state, signal) => served,
        () = deadline => {
            tracing::warn!(limit = ?DRAIN_LIMIT, "requests still open at the drain limit are cut off");
            Ok(())
        }
    };
    // The reload task holds a handle of the audit writer, which must go before it can close.
    reloads.abort();
    let _ = reloads.await;
    // Every unit the writer was handed is committed before the database closes. (Answered
    // requests are committed already; this covers callers that went away while waiting.)
    if tokio::time::timeout(FLUSH_LIMIT, audit.close())
        .await
        .is_err()
    {
        tracing::warn!(limit = ?FLUSH_LIMIT, "the audit writer did not finish in time");
    }
    // Closing the pool lets SQLite checkpoint its write-ahead log before the process exits.
    db.close().await;
    match served {
        Ok(()) => {
            tracing::info!("mez zone stopped");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("mez-api: the server failed: {err}");
            ExitCode::FAILURE
        }
    }
}

/// `mez-api keys ...`: on the database the configuration names, without serving. Nothing is
/// logged, so that stdout holds only the answer.
async fn keys_command(args: &[String]) -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("mez-api keys: configuration: {err}");
            return ExitCode::FAILURE;
        }
    };
    let db = match mez_api::db::Db::connect(&config.database_url).await {
        Ok(db) => db,
        Err(err) => {
            eprintln!("mez-api keys: database: {err}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = mez_api::auth::keys::run_cli(&db, args).await;
    db.close().await;
    match outcome {
        Ok(answer) => {
            println!("{answer}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("mez-api keys: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Everything up to a bound listener: configuration, database, token, address.
async fn start() -> Result<(TcpListener, AppState), StartupError> {
    let config = Config::from_env()?;
    let state = build_state(config).await?;
    let addr = state.config.bind;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| StartupError::Bind { addr, source })?;
    // The bound address, not the configured one: port 0 means "any free port".
    let local = listener.local_addr().unwrap_or(addr);
    tracing::info!(
        "mez zone listening on http://{local} (mode: {}, database: {})",
        state.config.mode(),
        state.db.backend().name()
    );
    Ok((listener, state))
}

/// Logs at `info` unless `RUST_LOG` says otherwise; a malformed `RUST_LOG` is reported, not
/// silently ignored. `MEZ_LOG_FORMAT=json` writes one JSON object per line, with the fields
/// of the request's span (its `request_id` among them); anything else but `text` (the
/// default) is reported and logs as text.
fn init_tracing() {
    let filter = match EnvFilter::try_from_default_env() {
        Ok(filter) => filter,
        Err(err) => {
            if std::env::var_os(EnvFilter::DEFAULT_ENV).is_some() {
                eprintln!("mez-api: ignoring RUST_LOG ({err}); logging at info");
            }
            EnvFilter::new("info")
        }
    };
    let format = std::env::var("MEZ_LOG_FORMAT").unwrap_or_default();
    let installed = match format.trim() {
        "json" => tracing_subscriber::fmt()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_env_filter(filter)
            .try_init(),
        other => {
            if !other.is_empty() && other != "text" {
                eprintln!("mez-api: MEZ_LOG_FORMAT={other} is neither text nor json; logging text");
            }
            tracing_subscriber::fmt().with_env_filter(filter).try_init()
        }
    };
    if let Err(err) = installed {
        eprintln!("mez-api: could not install the log subscriber: {err}");
    }
}

/// On SIGHUP, reloads the sanctions list and re-screens the zone (as
/// `POST /v1/sanctions/reload` does); a list that does not load leaves the old one in force.
async fn reload_on_sighup(state: mez_api::state::AppState) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hangups = match signal(SignalKind::hangup()) {
            Ok(s) => s,
            Err(err) => {
                tracing::error!(%err, "cannot listen for SIGHUP; POST /v1/sanctions/reload still reloads");
                return;
            }
        };
        while hangups.recv().await.is_some() {
            tracing::info!("SIGHUP: reloading the sanctions list");
            if let Err(err) = mez_api::policy::reload::reload(&state).await {
                tracing::error!(error = %err, "sanctions list reload failed");
            }
        }
    }
    #[cfg(not(unix))]
    drop(state);
}

/// Completes on Ctrl-C or, on Unix, SIGTERM (what container runtimes send to stop).
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(%err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(err) => {
                tracing::error!(%err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutdown requested");
}
