// SPDX-License-Identifier: BUSL-1.1
//! Compliance: which domains apply where, sanctions screening, and the evaluation every
//! orchestrated write runs before and after its Mass operation.
//!
//! The facts (the 20 domains, the hard-block domains, the categories, the per-jurisdiction
//! domain sets and the currency table) live in the spec; the code generator emits them as a
//! [`ComplianceRules`] static, and this module only reads them. The parts:
//!
//! - [`state`]: the six [`ComplianceState`]s and their lattice (meet = the worse of two);
//! - [`rules`]: [`ComplianceRules::applicable`] (case-insensitive, sub-zones inherit their
//!   parent, unknown jurisdictions fail closed to every domain) and
//!   [`ComplianceRules::jurisdiction_for_currency`];
//! - [`sanctions`]: the [`SanctionsList`] loaded at start-up (YAML, OFAC, OpenSanctions) and
//!   its fuzzy, order-insensitive matching of normalised names;
//! - [`evidence`]: the evidence rules of the spec ([`DomainRule`]) and [`evidence::decide`],
//!   which applies one to the [`Facts`] gathered about an entity;
//! - [`evaluate`](mod@evaluate): [`evaluate()`], which gives every domain a state, and the
//!   [`ComplianceSummary`] the envelope carries, with reasons, evidence and its
//!   [`tensor_commitment`].
//!
//! Unlike the earlier implementation, whose evaluation could never block, a sanctions hit
//! here makes `sanctions` non-compliant and fills `hard_blocks`, which the pipeline turns
//! into a refusal. Other domains are decided by the spec's evidence rules; a domain with no
//! rule stays `pending` and says so; see [`evaluate()`].

pub mod evaluate;
pub mod evidence;
pub mod rules;
pub mod sanctions;
pub mod state;

pub use evaluate::{
    COMMITMENT_SCHEMA_VERSION, ComplianceSummary, Question, SANCTIONS_DOMAIN, evaluate,
    tensor_commitment,
};
pub use evidence::{DomainRule, EvidenceRule, Facts};
pub use rules::{ComplianceRules, UNKNOWN_JURISDICTION};
pub use sanctions::{ListSource, SanctionsError, SanctionsHit, SanctionsList, fold_name};
pub use state::ComplianceState;
