// SPDX-License-Identifier: BUSL-1.1
//! Evidence-based decisions: the rule the spec gives a domain, applied to what the zone knows
//! about the entity an operation concerns.
//!
//! The rules are spec data (`compliance.evidence` in `spec/zone.yaml`), checked by mez-codegen
//! and generated into [`ComplianceRules::evidence`](super::ComplianceRules) as [`DomainRule`]s.
//! The evidence is what the zone already records: the [`Facts`] gathered for one entity (its
//! organization record, its identity checks, its cap table, and the zone's own attestations
//! about it). [`decide`] is the one function that turns a rule and the facts into a
//! [`Decision`]: a state, a sentence saying why when it does not pass, and the evidence entries
//! (attestations or records) that decided it.
//!
//! The rule kinds:
//! - `owners_verified` (kyc): every beneficial owner of the entity has a successful identity
//!   check of the rule's kind linked to the entity, matched by document number when the owner
//!   lists one, else by name; a failed check is `non_compliant`, one older than the validity
//!   `expired`, a missing one `pending` (naming the owners without one);
//! - `entity_verified` (tax): the entity's latest check of the kind succeeded and is fresh;
//!   a non-filer tax status gives the rule's `non_filer` state when it has one;
//! - `entity_status` (corporate): the entity exists with the given status;
//! - `cap_table` (securities): issued shares do not exceed authorized ones, in total and per
//!   share class;
//! - `account` (banking): an account of the entity was opened through the zone (its
//!   attestation), or the entity has a treasury (which its first account creates);
//! - `licence_by_type` (licensing): entity types that need a licence stay `pending`, since no
//!   licence register is connected; other types meet the requirement (`compliant`);
//! - `all_of` (aml, payments): the meet of other domains' decisions (one level: the checker
//!   refuses a combination of combinations);
//! - `screening` (sanctions) is decided by the sanctions list, in the evaluator.
//!
//! Evidence from a mock verifier (the CNIC and NTN mocks) is marked `mock` in its entry, and a
//! domain decided only by mock evidence says so in its reason, passing or not.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::state::ComplianceState;

/// How one domain is decided (generated from the spec).
#[derive(Debug, Clone, Copy)]
pub struct DomainRule {
    pub domain: &'static str,
    /// The spec's description of the rule.
    pub doc: &'static str,
    pub rule: EvidenceRule,
}

/// The rule kinds, with their parameters (see the module documentation).
#[derive(Debug, Clone, Copy)]
pub enum EvidenceRule {
    Screening,
    OwnersVerified {
        id_kind: &'static str,
        valid_for_secs: u64,
    },
    EntityVerified {
        id_kind: &'static str,
        valid_for_secs: u64,
        non_filer: Option<ComplianceState>,
    },
    EntityStatus {
        status: &'static str,
    },
    CapTable,
    Account,
    AllOf {
        domains: &'static [&'static str],
    },
    LicenceByType {
        licensed_types: &'static [&'static str],
    },
}

/// What the zone knows about one entity when it evaluates.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub entity_id: String,
    /// The organization record; `None` when no entity has that id.
    pub entity: Option<EntityFacts>,
    /// The entity's identity checks, in any order.
    pub identities: Vec<IdentityFact>,
    /// The entity's cap table, if it has one.
    pub cap_table: Option<CapTableFact>,
    /// The id of the entity's treasury, if it has one (its accounts hang off it).
    pub treasury: Option<String>,
    /// The zone's attestations about the entity (those recorded with its `entityId`).
    pub attestations: Vec<AttestationFact>,
}

/// The parts of an organization record the rules read.
#[derive(Debug, Clone, Default)]
pub struct EntityFacts {
    pub name: String,
    pub status: Option<String>,
    pub entity_type: Option<String>,
    pub owners: Vec<OwnerFact>,
}

/// A beneficial owner as the organization record lists it.
#[derive(Debug, Clone, Default)]
pub struct OwnerFact {
    pub name: String,
    pub cnic: Option<String>,
    pub ntn: Option<String>,
}

/// One identity check recorded for the entity.
#[derive(Debug, Clone, Default)]
pub struct IdentityFact {
    pub id: String,
    /// `CNIC` or `NTN`.
    pub kind: String,
    pub number: String,
    pub name: Option<String>,
    pub verified: bool,
    /// Whether a mock verifier made the check.
    pub mock: bool,
    pub tax_status: Option<String>,
    pub created_at: String,
}

/// The share counts of a cap table.
#[derive(Debug, Clone, Default)]
pub struct CapTableFact {
    pub id: String,
    pub authorized: Option<i64>,
    pub issued: Option<i64>,
    /// Per share class: name, authorized, issued.
    pub classes: Vec<(String, Option<i64>, Option<i64>)>,
}

/// One attestation of the zone about the entity.
#[derive(Debug, Clone, Default)]
pub struct AttestationFact {
    pub id: String,
    pub attestation_type: String,
    pub resource_type: String,
    pub resource_id: String,
    pub issued_at: String,
}

/// The outcome of one rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub state: ComplianceState,
    /// Why the domain does not pass, or that only mock evidence decided it.
    pub reason: Option<String>,
    /// What decided it (W3C VC `evidence` entries; each has `id`, `type` and `domain`).
    pub evidence: Vec<Value>,
}

impl Decision {
    fn new(state: ComplianceState, reason: impl Into<String>) -> Self {
        Decision {
            state,
            reason: Some(reason.into()),
            evidence: Vec::new(),
        }
    }
}

/// The type of an evidence entry that cites an attestation of the zone.
pub const ATTESTATION_EVIDENCE: &str = "MezAttestationEvidence";
/// The type of an evidence entry that cites a record (no attestation names it, e.g. one
/// written through the direct surface, or the one the current write is making).
pub const RECORD_EVIDENCE: &str = "MezRecordEvidence";

/// Decides `rule` for `domain` over `facts` (`None`: the operation names no entity) at `now`.
/// `decided` holds the decisions already made in this evaluation, which `all_of` combines.
pub fn decide(
    domain: &str,
    rule: &EvidenceRule,
    facts: Option<&Facts>,
    now: OffsetDateTime,
    decided: &BTreeMap<String, Decision>,
) -> Decision {
    if let EvidenceRule::AllOf { domains } = rule {
        return all_of(domain, domains, decided);
    }
    let Some(facts) = facts else {
        return Decision::new(
            ComplianceState::Pending,
            format!("the operation names no entity whose evidence could decide {domain}"),
        );
    };
    let Some(entity) = &facts.entity else {
        return Decision::new(
            ComplianceState::Pending,
            format!("entity {} is not known to the zone", facts.entity_id),
        );
    };
    let mut decision = match *rule {
        EvidenceRule::OwnersVerified {
            id_kind,
            valid_for_secs,
        } => owners_verified(facts, entity, id_kind, valid_for_secs, now),
        EvidenceRule::EntityVerified {
            id_kind,
            valid_for_secs,
            non_filer,
        } => entity_verified(facts, entity, id_kind, valid_for_secs, non_filer, now),
        EvidenceRule::EntityStatus { status } => entity_status(facts, entity, status),
        EvidenceRule::CapTable => cap_table(facts),
        EvidenceRule::Account => account(facts),
        EvidenceRule::LicenceByType { licensed_types } => licence(facts, entity, licensed_types),
        // Decided by the evaluator (sanctions list) and above (combinations).
        EvidenceRule::Screening | EvidenceRule::AllOf { .. } => Decision::new(
            ComplianceState::Pending,
            format!("{domain} is not decided from entity evidence"),
        ),
    };
    for entry in &mut decision.evidence {
        if let Value::Object(map) = entry {
            map.insert("domain".into(), Value::String(domain.to_string()));
        }
    }
    mark_mock_only(&mut decision);
    decision
}

/// When every evidence entry of a decision comes from a mock verifier, the reason says so.
fn mark_mock_only(decision: &mut Decision) {
    let all_mock = !decision.evidence.is_empty()
        && decision
            .evidence
            .iter()
            .all(|e| e.get("mock").and_then(Value::as_bool) == Some(true));
    if all_mock {
        let note = "decided by mock verifier evidence only (not a real registry check)";
        decision.reason = Some(match decision.reason.take() {
            Some(reason) => format!("{reason}; {note}"),
            None => note.to_string(),
        });
    }
}

/// The attestation that records `resource_id`, if the zone made one.
fn attestation_of<'f>(facts: &'f Facts, resource_id: &str) -> Option<&'f AttestationFact> {
    facts
        .attestations
        .iter()
        .filter(|a| a.resource_id == resource_id)
        .max_by(|a, b| a.issued_at.cmp(&b.issued_at))
}

/// The evidence entry for a record: its attestation when there is one, else the record.
fn entry(
    facts: &Facts,
    resource_type: &str,
    resource_id: &str,
    created: &str,
) -> Map<String, Value> {
    let mut e = Map::new();
    let resource = format!("urn:mez:{resource_type}:{resource_id}");
    match attestation_of(facts, resource_id) {
        Some(a) => {
            e.insert("id".into(), json!(format!("urn:mez:attestation:{}", a.id)));
            e.insert("type".into(), json!(ATTESTATION_EVIDENCE));
            e.insert("attestationType".into(), json!(a.attestation_type));
            e.insert("resource".into(), json!(resource));
            e.insert("created".into(), json!(a.issued_at));
        }
        None => {
            e.insert("id".into(), json!(resource));
            e.insert("type".into(), json!(RECORD_EVIDENCE));
            if !created.is_empty() {
                e.insert("created".into(), json!(created));
            }
        }
    }
    e
}

fn identity_entry(facts: &Facts, identity: &IdentityFact) -> Value {
    let mut e = entry(facts, "identity", &identity.id, &identity.created_at);
    e.insert("check".into(), json!(identity.kind));
    e.insert("verified".into(), json!(identity.verified));
    e.insert("mock".into(), json!(identity.mock));
    Value::Object(e)
}

/// Whether evidence made at `created` is older than `valid_for_secs` at `now`. A time that
/// does not parse counts as expired: evidence whose age is unknown cannot be relied on.
fn is_stale(created: &str, valid_for_secs: u64, now: OffsetDateTime) -> bool {
    match OffsetDateTime::parse(created, &Rfc3339) {
        Ok(at) => {
            let limit = time::Duration::seconds(i64::try_from(valid_for_secs).unwrap_or(i64::MAX));
            now - at > limit
        }
        Err(_) => true,
    }
}

/// Folds a name or document number for matching: letters and digits only, lower case.
fn fold(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The latest check of `kind` that `matches`, preferring later `created_at`.
fn latest<'f>(
    facts: &'f Facts,
    kind: &str,
    matches: impl Fn(&IdentityFact) -> bool,
) -> Option<&'f IdentityFact> {
    facts
        .identities
        .iter()
        .filter(|i| i.kind.eq_ignore_ascii_case(kind) && matches(i))
        .max_by(|a, b| a.created_at.cmp(&b.created_at))
}

/// A check's state: failed is non-compliant, stale is expired, else compliant.
fn check_state(
    identity: &IdentityFact,
    valid_for_secs: u64,
    now: OffsetDateTime,
) -> ComplianceState {
    if !identity.verified {
        ComplianceState::NonCompliant
    } else if is_stale(&identity.created_at, valid_for_secs, now) {
        ComplianceState::Expired
    } else {
        ComplianceState::Compliant
    }
}

fn owners_verified(
    facts: &Facts,
    entity: &EntityFacts,
    id_kind: &str,
    valid_for_secs: u64,
    now: OffsetDateTime,
) -> Decision {
    if entity.owners.is_empty() {
        return Decision::new(
            ComplianceState::Pending,
            "the entity declares no beneficial owners to verify",
        );
    }
    let mut state = ComplianceState::Compliant;
    let mut missing = Vec::new();
    let mut failed = Vec::new();
    let mut stale = Vec::new();
    let mut evidence = Vec::new();
    for owner in &entity.owners {
        let number = match id_kind {
            "NTN" => owner.ntn.as_deref(),
            _ => owner.cnic.as_deref(),
        }
        .map(fold)
        .filter(|n| !n.is_empty());
        let name = fold(&owner.name);
        let check = latest(facts, id_kind, |i| match &number {
            Some(n) => fold(&i.number) == *n,
            None => i.name.as_deref().map(fold).as_deref() == Some(name.as_str()),
        });
        let Some(check) = check else {
            missing.push(owner.name.clone());
            state = state.meet(ComplianceState::Pending);
            continue;
        };
        let owner_state = check_state(check, valid_for_secs, now);
        match owner_state {
            ComplianceState::NonCompliant => failed.push(owner.name.clone()),
            ComplianceState::Expired => stale.push(owner.name.clone()),
            _ => {}
        }
        state = state.meet(owner_state);
        evidence.push(identity_entry(facts, check));
    }
    let mut parts = Vec::new();
    if !failed.is_empty() {
        parts.push(format!(
            "{id_kind} verification failed for owner {}",
            failed.join(", ")
        ));
    }
    if !stale.is_empty() {
        parts.push(format!(
            "{id_kind} verification of owner {} is older than its validity",
            stale.join(", ")
        ));
    }
    if !missing.is_empty() {
        parts.push(format!(
            "no {id_kind} verification for owner {}",
            missing.join(", ")
        ));
    }
    Decision {
        state,
        reason: (!parts.is_empty()).then(|| parts.join("; ")),
        evidence,
    }
}

fn entity_verified(
    facts: &Facts,
    entity: &EntityFacts,
    id_kind: &str,
    valid_for_secs: u64,
    non_filer: Option<ComplianceState>,
    now: OffsetDateTime,
) -> Decision {
    let Some(check) = latest(facts, id_kind, |_| true) else {
        return Decision::new(
            ComplianceState::Pending,
            format!("no {id_kind} verification for entity {}", entity.name),
        );
    };
    let evidence = vec![identity_entry(facts, check)];
    let mut state = check_state(check, valid_for_secs, now);
    let mut reason = match state {
        ComplianceState::NonCompliant => Some(format!(
            "{id_kind} verification failed for entity {}",
            entity.name
        )),
        ComplianceState::Expired => Some(format!(
            "{id_kind} verification of entity {} is older than its validity",
            entity.name
        )),
        _ => None,
    };
    let files = check.tax_status.as_deref().is_none_or(|s| {
        !s.to_ascii_lowercase()
            .replace(['-', '_', ' '], "")
            .contains("nonfiler")
    });
    if let (Some(given), false, true) = (non_filer, files, check.verified) {
        state = state.meet(given);
        reason = Some(format!(
            "entity {} is a non-filer ({id_kind} tax status {:?})",
            entity.name,
            check.tax_status.as_deref().unwrap_or_default()
        ));
    }
    Decision {
        state,
        reason,
        evidence,
    }
}

fn entity_record(facts: &Facts, created: &str) -> Value {
    Value::Object(entry(facts, "entity", &facts.entity_id, created))
}

fn entity_status(facts: &Facts, entity: &EntityFacts, wanted: &str) -> Decision {
    let status = entity.status.as_deref().unwrap_or("");
    let evidence = vec![entity_record(facts, "")];
    if status.eq_ignore_ascii_case(wanted) {
        Decision {
            state: ComplianceState::Compliant,
            reason: None,
            evidence,
        }
    } else {
        Decision {
            state: ComplianceState::NonCompliant,
            reason: Some(format!(
                "entity {} is {}, not {wanted}",
                entity.name,
                if status.is_empty() {
                    "without a status"
                } else {
                    status
                }
            )),
            evidence,
        }
    }
}

fn cap_table(facts: &Facts) -> Decision {
    let Some(table) = &facts.cap_table else {
        return Decision::new(ComplianceState::Pending, "the entity has no cap table");
    };
    let evidence = vec![Value::Object(entry(facts, "cap_table", &table.id, ""))];
    let mut over = Vec::new();
    if let (Some(a), Some(i)) = (table.authorized, table.issued) {
        if i > a {
            over.push(format!("{i} issued of {a} authorized in total"));
        }
    }
    for (name, a, i) in &table.classes {
        if let (Some(a), Some(i)) = (a, i) {
            if i > a {
                over.push(format!("{i} issued of {a} authorized in class {name}"));
            }
        }
    }
    if over.is_empty() {
        Decision {
            state: ComplianceState::Compliant,
            reason: None,
            evidence,
        }
    } else {
        Decision {
            state: ComplianceState::NonCompliant,
            reason: Some(format!(
                "issued shares exceed authorized ones: {}",
                over.join(", ")
            )),
            evidence,
        }
    }
}

fn account(facts: &Facts) -> Decision {
    let accounts: Vec<&AttestationFact> = facts
        .attestations
        .iter()
        .filter(|a| a.resource_type == "account")
        .collect();
    let evidence: Vec<Value> = if accounts.is_empty() {
        // The treasury an entity's first account creates (the write opening that account
        // has no attestation yet: it is the one being made).
        match &facts.treasury {
            Some(id) => vec![Value::Object(entry(facts, "treasury", id, ""))],
            None => Vec::new(),
        }
    } else {
        accounts
            .iter()
            .map(|a| Value::Object(entry(facts, "account", &a.resource_id, &a.issued_at)))
            .collect()
    };
    if evidence.is_empty() {
        return Decision::new(
            ComplianceState::Pending,
            "the entity has no account (and no treasury) in the zone",
        );
    }
    Decision {
        state: ComplianceState::Compliant,
        reason: None,
        evidence,
    }
}

fn licence(facts: &Facts, entity: &EntityFacts, licensed: &[&str]) -> Decision {
    let kind = entity.entity_type.as_deref().unwrap_or("").trim();
    let evidence = vec![entity_record(facts, "")];
    if licensed.iter().any(|t| t.eq_ignore_ascii_case(kind)) {
        Decision {
            state: ComplianceState::Pending,
            reason: Some(format!(
                "entity type {kind} needs a licence, and no licence register is connected"
            )),
            evidence,
        }
    } else {
        // The licensing requirement is met: the spec names this type among none that need a
        // licence. (Not `exempt`: no exemption was granted; there is nothing to hold.)
        Decision {
            state: ComplianceState::Compliant,
            reason: None,
            evidence,
        }
    }
}

fn all_of(domain: &str, parts: &[&str], decided: &BTreeMap<String, Decision>) -> Decision {
    let mut state = ComplianceState::Compliant;
    let mut reasons = Vec::new();
    let mut evidence = Vec::new();
    for part in parts {
        let Some(d) = decided.get(*part) else {
            state = state.meet(ComplianceState::Pending);
            reasons.push(format!("{part}: not decided"));
            continue;
        };
        // A part that does not apply here does not hold the combination back.
        state = state.meet(d.state);
        if let Some(r) = &d.reason {
            reasons.push(format!("{part}: {r}"));
        }
        for e in &d.evidence {
            let mut e = e.clone();
            if let Value::Object(map) = &mut e {
                map.insert("domain".into(), Value::String(domain.to_string()));
            }
            evidence.push(e);
        }
    }
    Decision {
        state,
        reason: (!reasons.is_empty()).then(|| reasons.join("; ")),
        evidence,
    }
}

#[cfg(test)]
mod tests;
