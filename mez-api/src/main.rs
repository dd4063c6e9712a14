// SPDX-License-Identifier: BUSL-1.1
//! The `mez-api` binary: one zone server, configured from the environment.
//!
//! Start-up reads the configuration, opens the database (running its migrations), binds the
//! listen address and serves until Ctrl-C or SIGTERM, then drains open requests and closes
//! the database. Any start-up failure is printed as one line and the process exits non-zero.

use std::process::ExitCode;

use mez_api::config::Config;
use mez_api::state::AppState;
use mez_api::{StartupError, build_state, serve};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    init_tracing();
    let (listener, state) = match start().await {
        Ok(started) => started,
        Err(err) => {
            eprintln!("mez-api: cannot start: {err}");
            return ExitCode::FAILURE;
        }
    };
    let db = state.db.clone();
    let served = serve(listener, state, shutdown_signal()).await;
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
/// silently ignored.
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
    if let Err(err) = tracing_subscriber::fmt().with_env_filter(filter).try_init() {
        eprintln!("mez-api: could not install the log subscriber: {err}");
    }
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
    tracing::info!("shutdown requested; finishing open requests");
}
