// SPDX-License-Identifier: BUSL-1.1
//! One compliance evaluation: a state for every domain, the summary the envelope carries, and
//! the commitment that pins the states down.
//!
//! Where the states come from, honestly:
//! - a domain that does not apply in the jurisdiction is `not_applicable`;
//! - `sanctions`, where it applies, is decided by screening the operation's names against the
//!   loaded list: `non_compliant` on any hit, `compliant` when names were screened and none
//!   hit, and `pending` when the operation named nobody to screen (a clean result over no
//!   names would be a passing state without evidence);
//! - every other applicable domain is `pending`, because the zone has no evidence source for
//!   it yet (no KYC provider, tax registry or licence register is connected). Marking them
//!   compliant would certify checks that were never made.
//!
//! So a hit on a sanctioned name blocks the operation (the hard block the earlier
//! implementation could never reach), and an operation with other relevant domains reports
//! `pending` overall until evidence sources for them exist.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::rules::{ComplianceRules, UNKNOWN_JURISDICTION};
use super::sanctions::{SanctionsHit, SanctionsList, fold_name};
use super::state::ComplianceState;
use crate::error::ApiError;

/// The domain that sanctions screening decides.
pub const SANCTIONS_DOMAIN: &str = "sanctions";

/// The version of the commitment's preimage layout; part of the preimage, so that a change of
/// layout can never produce a commitment equal to one of the old layout.
pub const COMMITMENT_SCHEMA_VERSION: u64 = 1;

/// The outcome of one evaluation, serialised exactly as the envelope's `compliance` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComplianceSummary {
    /// The jurisdiction evaluated, as given (trimmed), or `UNKNOWN` when none was given.
    pub jurisdiction_id: String,
    /// The meet of the relevant domains' states (compliant when none is relevant).
    pub overall_status: ComplianceState,
    /// Every domain of the rules, relevant or not, keyed in sorted order.
    pub domain_results: BTreeMap<String, ComplianceState>,
    /// Relevant domains whose state passes, sorted.
    pub passing_domains: Vec<String>,
    /// Relevant domains whose state does not pass, sorted.
    pub blocking_domains: Vec<String>,
    /// Relevant hard-block domains that are non-compliant, sorted. Non-empty means the
    /// operation must be refused.
    pub hard_blocks: Vec<String>,
    /// Lowercase hex SHA-256 over the canonical JSON of the cells (see [`tensor_commitment`]).
    pub tensor_commitment: String,
    /// When the evaluation ran (RFC 3339).
    pub evaluated_at: String,
    /// Which screened names hit which list entries. Kept for the audit record, and left out
    /// of the envelope: the caller learns that sanctions blocked the operation, not which
    /// list entry its names resembled.
    #[serde(skip)]
    pub sanctions_hits: Vec<SanctionsHit>,
}

impl ComplianceSummary {
    /// The refusal message when a hard-block domain is non-compliant, naming the domains.
    pub fn hard_block_message(&self) -> Option<String> {
        if self.hard_blocks.is_empty() {
            return None;
        }
        Some(format!(
            "operation blocked by compliance hard-block on: {}",
            self.hard_blocks.join(", ")
        ))
    }

    /// Whether the operation must be refused.
    pub fn is_hard_blocked(&self) -> bool {
        !self.hard_blocks.is_empty()
    }
}

/// Evaluates an operation in `jurisdiction` over its `relevant` domains, screening
/// `screened_names` against `sanctions`; `now` becomes `evaluated_at`.
///
/// Fails (as an internal error, never a panic) when `relevant` names something that is not a
/// domain of the rules, since the operation's compliance could then not be judged, or when
/// the commitment cannot be computed.
pub fn evaluate(
    rules: &ComplianceRules,
    sanctions: &SanctionsList,
    jurisdiction: &str,
    relevant: &[&str],
    screened_names: &[String],
    now: &str,
) -> Result<ComplianceSummary, ApiError> {
    let jurisdiction_id = match jurisdiction.trim() {
        "" => UNKNOWN_JURISDICTION.to_string(),
        given => given.to_string(),
    };

    // Sorted and without repeats, which is the order the envelope's lists use.
    let mut relevant_set = BTreeSet::new();
    for &domain in relevant {
        if !rules.is_domain(domain) {
            return Err(ApiError::internal(format!(
                "compliance evaluation asked for unknown domain {domain:?}"
            )));
        }
        relevant_set.insert(domain);
    }

    let applicable = rules.applicable(&jurisdiction_id);
    let mut sanctions_hits = Vec::new();
    let mut domain_results = BTreeMap::new();
    for &domain in rules.domains {
        let state = if !applicable.contains(&domain) {
            ComplianceState::NotApplicable
        } else if domain == SANCTIONS_DOMAIN {
            sanctions_hits = sanctions.screen_all(screened_names);
            screening_state(&sanctions_hits, screened_names)
        } else {
            // No evidence source exists for this domain yet; see the module documentation.
            ComplianceState::Pending
        };
        domain_results.insert(domain.to_string(), state);
    }

    let mut overall_status = ComplianceState::Compliant;
    let mut passing_domains = Vec::new();
    let mut blocking_domains = Vec::new();
    let mut hard_blocks = Vec::new();
    for &domain in &relevant_set {
        // Every relevant domain was checked to be a domain, so it has a state; were it
        // somehow missing, it counts as pending rather than passing.
        let state = domain_results
            .get(domain)
            .copied()
            .unwrap_or(ComplianceState::Pending);
        overall_status = overall_status.meet(state);
        if state.is_passing() {
            passing_domains.push(domain.to_string());
        } else {
            blocking_domains.push(domain.to_string());
        }
        if state == ComplianceState::NonCompliant && rules.is_hard_block(domain) {
            hard_blocks.push(domain.to_string());
        }
    }

    let tensor_commitment = tensor_commitment(&jurisdiction_id, &domain_results)?;
    Ok(ComplianceSummary {
        jurisdiction_id,
        overall_status,
        domain_results,
        passing_domains,
        blocking_domains,
        hard_blocks,
        tensor_commitment,
        evaluated_at: now.to_string(),
        sanctions_hits,
    })
}

/// The sanctions state from a screening: any hit is non-compliant; no hit is compliant only
/// if at least one real (non-blank) name was screened, else there is no evidence: pending.
fn screening_state(hits: &[SanctionsHit], screened_names: &[String]) -> ComplianceState {
    if !hits.is_empty() {
        ComplianceState::NonCompliant
    } else if screened_names.iter().any(|name| !fold_name(name).is_empty()) {
        ComplianceState::Compliant
    } else {
        ComplianceState::Pending
    }
}

/// The commitment to an evaluation's cells: lowercase hex SHA-256 of the RFC 8785 canonical
/// JSON of `{"cells": {<domain>: <state>, ...}, "jurisdiction_id": ..., "schema_version": 1}`.
///
/// Anyone holding the summary can recompute it, and canonicalisation makes it independent of
/// the order in which the cells were built.
pub fn tensor_commitment(
    jurisdiction_id: &str,
    cells: &BTreeMap<String, ComplianceState>,
) -> Result<String, ApiError> {
    // Built by hand rather than with `json!`, whose interpolation unwraps internally.
    let cells: Map<String, Value> = cells
        .iter()
        .map(|(domain, state)| (domain.clone(), Value::String(state.as_str().to_string())))
        .collect();
    let mut preimage = Map::new();
    preimage.insert("cells".into(), Value::Object(cells));
    preimage.insert(
        "jurisdiction_id".into(),
        Value::String(jurisdiction_id.to_string()),
    );
    preimage.insert(
        "schema_version".into(),
        Value::from(COMMITMENT_SCHEMA_VERSION),
    );
    let bytes = crate::canonical::canonical_bytes(&Value::Object(preimage))?;
    Ok(crate::canonical::sha256_hex(&bytes))
}
