// SPDX-License-Identifier: BUSL-1.1
//! The state every request handler shares.
//!
//! A plain struct of cheaply cloned handles: axum clones it for every request. It holds no
//! data of its own; the database is the source of truth, so replicas built from the same
//! configuration agree.

use std::sync::Arc;

use crate::config::Config;
use crate::db::Db;

#[derive(Clone)]
pub struct AppState {
    /// The document store.
    pub db: Db,
    /// The configuration the zone started with.
    pub config: Arc<Config>,
    /// The bearer token clients must present: the configured one, or the one generated for
    /// this run when none was configured.
    pub auth_token: Arc<str>,
}
