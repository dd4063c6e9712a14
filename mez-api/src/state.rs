// SPDX-License-Identifier: BUSL-1.1
//! The state every request handler shares.
//!
//! A plain struct of cheaply cloned handles: axum clones it for every request. It holds no
//! data of its own; the database is the source of truth, so replicas built from the same
//! configuration agree.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use crate::audit::AuditLog;
use crate::client::MassClient;
use crate::compliance::SanctionsList;
use crate::config::Config;
use crate::credentials::ZoneKey;
use crate::db::Db;

#[derive(Clone)]
pub struct AppState {
    /// The document store.
    pub db: Db,
    /// The audit log: writes that must be recorded commit through it, together with their
    /// audit event.
    pub audit: AuditLog,
    /// The configuration the zone started with.
    pub config: Arc<Config>,
    /// The bearer token clients must present: the configured one, or the one generated for
    /// this run when none was configured.
    pub auth_token: Arc<str>,
    /// The zone's signing key; its did:key is the zone's identity, the issuer of its
    /// credentials and the actor of its audit events.
    pub zone_key: Arc<ZoneKey>,
    /// The sanctions list writes are screened against (replaced on reload).
    pub sanctions: Arc<Screening>,
    /// The upstream Mass API of a proxy zone (`None` when no `MASS_*_URL` is set, and never
    /// used by a sovereign zone, which does not call itself).
    pub mass_client: Option<Arc<MassClient>>,
    /// The verifier of JWT bearer tokens, when `MEZ_JWT_*` configure an identity provider.
    pub jwt: Option<Arc<crate::auth::jwt::JwtVerifier>>,
    /// The per-principal rate limiter, when `MEZ_RATE_LIMIT` is set. Its budgets are this
    /// process's own (a limit on load, not a record; see `auth::rate_limit`).
    pub rate_limiter: Option<Arc<crate::auth::rate_limit::Limiter>>,
    /// Set once a graceful shutdown has begun: from then on the readiness probe answers 503,
    /// so load balancers stop sending new work while open requests finish.
    pub shutting_down: Arc<AtomicBool>,
}

/// The sanctions list in force: one list at a time, replaced whole by a reload (SIGHUP,
/// `POST /v1/sanctions/reload`), so a screening sees either the old list or the new one.
pub struct Screening(std::sync::RwLock<Arc<SanctionsList>>);

impl Screening {
    pub fn new(list: SanctionsList) -> Self {
        Self(std::sync::RwLock::new(Arc::new(list)))
    }

    /// The list in force now.
    pub fn current(&self) -> Arc<SanctionsList> {
        // A writer cannot panic while holding the lock (it only swaps an Arc), so a poisoned
        // lock still holds a whole list.
        match self.0.read() {
            Ok(list) => list.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Puts `list` in force and returns the one it replaces.
    pub fn replace(&self, list: SanctionsList) -> Arc<SanctionsList> {
        let new = Arc::new(list);
        match self.0.write() {
            Ok(mut slot) => std::mem::replace(&mut *slot, new),
            Err(poisoned) => std::mem::replace(&mut *poisoned.into_inner(), new),
        }
    }
}

impl AppState {
    /// The zone's DID (`did:key:z6Mk...`).
    pub fn zone_did(&self) -> &str {
        self.zone_key.did()
    }
}
