// SPDX-License-Identifier: BUSL-1.1
//! The one commit-and-retry loop of every write, direct or orchestrated.
//!
//! A write is planned from reads of the store, then committed as one unit with its audit
//! event. When another writer changed a record the plan read, or took a unique value it
//! claims, the commit is refused with a retriable conflict and the write is planned again from
//! fresh reads (which see the winner's records), after a short random pause.

use crate::audit::WriteUnit;
use crate::error::ApiError;
use crate::state::AppState;

/// The retry state of one write: how many times it was planned.
///
/// ```text
/// let mut retries = Retries::default();
/// loop {
///     let unit = plan_from_fresh_reads().await?;
///     if retries.commit(state, unit).await? { return Ok(answer); }
/// }
/// ```
#[derive(Debug, Default)]
pub struct Retries {
    attempts: usize,
}

impl Retries {
    /// Commits `unit`. `Ok(true)`: committed. `Ok(false)`: refused by a conflict that
    /// planning again from fresh reads may cure, after a short pause; plan again. `Err`: any
    /// other failure, or the last attempt's conflict.
    pub async fn commit(&mut self, state: &AppState, unit: WriteUnit) -> Result<bool, ApiError> {
        self.attempts += 1;
        match state.audit.commit(unit).await {
            Ok(_) => Ok(true),
            Err(err) if self.attempts < MAX_ATTEMPTS && err.is_retriable_conflict() => {
                back_off(self.attempts).await;
                Ok(false)
            }
            Err(err) => Err(err),
        }
    }
}

/// How often a write is planned again after another writer changed a record it read.
pub const MAX_ATTEMPTS: usize = 32;

/// A short random pause before planning a write again, so that writers racing for one record
/// spread out instead of colliding in lockstep.
pub async fn back_off(attempt: usize) {
    use rand::Rng;
    let ceiling = 2 * attempt.min(16) as u64 + 1;
    let millis = rand::rng().random_range(0..ceiling);
    tokio::time::sleep(std::time::Duration::from_millis(millis)).await;
}
