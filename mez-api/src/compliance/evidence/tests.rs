// SPDX-License-Identifier: BUSL-1.1
//! The evidence rules over hand-made facts, including a rule table with a one-minute validity
//! (as a test spec would declare it), so expiry is exercised without waiting a year.

use std::collections::BTreeMap;

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::*;
use crate::compliance::{ComplianceRules, Question, SanctionsList, evaluate};
use ComplianceState::*;

const NOW: &str = "2026-12-07T10:00:00.000Z";
const FRESH: &str = "2026-12-07T09:59:30.000Z";
const OLD: &str = "2026-12-07T09:50:00.000Z";

/// A rule table like the spec's, with validities of one minute.
static SHORT: ComplianceRules = ComplianceRules {
    domains: &[
        "aml",
        "kyc",
        "sanctions",
        "tax",
        "corporate",
        "securities",
        "banking",
        "licensing",
    ],
    hard_block: &["sanctions"],
    categories: &[],
    jurisdictions: &[],
    currencies: &[],
    evidence: &[
        DomainRule {
            domain: "sanctions",
            doc: "",
            rule: EvidenceRule::Screening,
        },
        DomainRule {
            domain: "kyc",
            doc: "",
            rule: EvidenceRule::OwnersVerified {
                id_kind: "CNIC",
                valid_for_secs: 60,
            },
        },
        DomainRule {
            domain: "tax",
            doc: "",
            rule: EvidenceRule::EntityVerified {
                id_kind: "NTN",
                valid_for_secs: 60,
                non_filer: Some(ComplianceState::NonCompliant),
            },
        },
        DomainRule {
            domain: "corporate",
            doc: "",
            rule: EvidenceRule::EntityStatus { status: "ACTIVE" },
        },
        DomainRule {
            domain: "securities",
            doc: "",
            rule: EvidenceRule::CapTable,
        },
        DomainRule {
            domain: "banking",
            doc: "",
            rule: EvidenceRule::Account,
        },
        DomainRule {
            domain: "aml",
            doc: "",
            rule: EvidenceRule::AllOf {
                domains: &["kyc", "sanctions"],
            },
        },
        DomainRule {
            domain: "licensing",
            doc: "",
            rule: EvidenceRule::LicenceByType {
                licensed_types: &["bank"],
            },
        },
    ],
};

fn now() -> OffsetDateTime {
    OffsetDateTime::parse(NOW, &Rfc3339).unwrap()
}

fn owner(name: &str, cnic: Option<&str>) -> OwnerFact {
    OwnerFact {
        name: name.into(),
        cnic: cnic.map(str::to_string),
        ntn: None,
    }
}

fn cnic(id: &str, number: &str, name: &str, verified: bool, at: &str) -> IdentityFact {
    IdentityFact {
        id: id.into(),
        kind: "CNIC".into(),
        number: number.into(),
        name: Some(name.into()),
        verified,
        mock: true,
        tax_status: None,
        created_at: at.into(),
    }
}

fn ntn(id: &str, verified: bool, status: &str, at: &str) -> IdentityFact {
    IdentityFact {
        id: id.into(),
        kind: "NTN".into(),
        number: "1234567".into(),
        name: Some("Acme".into()),
        verified,
        mock: false,
        tax_status: Some(status.into()),
        created_at: at.into(),
    }
}

fn facts(owners: Vec<OwnerFact>, identities: Vec<IdentityFact>) -> Facts {
    Facts {
        entity_id: "e1".into(),
        entity: Some(EntityFacts {
            name: "Acme".into(),
            status: Some("ACTIVE".into()),
            entity_type: Some("llc".into()),
            owners,
        }),
        identities,
        cap_table: None,
        treasury: None,
        attestations: Vec::new(),
    }
}

fn rule(domain: &str) -> &'static EvidenceRule {
    SHORT.rule(domain).unwrap()
}

fn decide_one(domain: &str, f: &Facts) -> Decision {
    decide(domain, rule(domain), Some(f), now(), &BTreeMap::new())
}

#[test]
fn kyc_names_every_owner_without_a_verification() {
    let f = facts(
        vec![owner("Ali Khan", None), owner("Sara Ahmed", None)],
        vec![],
    );
    let d = decide_one("kyc", &f);
    assert_eq!(d.state, Pending);
    let reason = d.reason.unwrap();
    assert!(
        reason.contains("Ali Khan") && reason.contains("Sara Ahmed"),
        "{reason}"
    );

    let f = facts(
        vec![owner("Ali Khan", None), owner("Sara Ahmed", None)],
        vec![cnic("i1", "12345-1234567-1", "ali KHAN", true, FRESH)],
    );
    let d = decide_one("kyc", &f);
    assert_eq!(d.state, Pending);
    let reason = d.reason.unwrap();
    assert!(
        !reason.contains("Ali Khan") && reason.contains("Sara Ahmed"),
        "{reason}"
    );
    assert_eq!(d.evidence.len(), 1);
    assert_eq!(d.evidence[0]["domain"], "kyc");
    assert_eq!(d.evidence[0]["mock"], true);
}

#[test]
fn kyc_is_compliant_when_every_owner_is_verified_and_says_when_only_mocks_decided() {
    let f = facts(
        vec![
            owner("Ali Khan", None),
            owner("Sara Ahmed", Some("42101-1111111-1")),
        ],
        vec![
            cnic("i1", "12345-1234567-1", "Ali Khan", true, FRESH),
            // Matched by number, whatever the name on the check.
            cnic("i2", "4210111111111", "S. Ahmed", true, FRESH),
        ],
    );
    let d = decide_one("kyc", &f);
    assert_eq!(d.state, Compliant);
    assert!(d.reason.unwrap().contains("mock"));
    let ids: Vec<&str> = d
        .evidence
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["urn:mez:identity:i1", "urn:mez:identity:i2"]);
    assert!(d.evidence.iter().all(|e| e["type"] == RECORD_EVIDENCE));
}

#[test]
fn a_failed_check_is_non_compliant_and_a_stale_one_expired() {
    let failed = facts(
        vec![owner("Ali Khan", None)],
        vec![cnic("i1", "1", "Ali Khan", false, FRESH)],
    );
    let d = decide_one("kyc", &failed);
    assert_eq!(d.state, NonCompliant);
    assert!(d.reason.unwrap().contains("failed for owner Ali Khan"));

    let stale = facts(
        vec![owner("Ali Khan", None)],
        vec![cnic("i1", "1", "Ali Khan", true, OLD)],
    );
    let d = decide_one("kyc", &stale);
    assert_eq!(d.state, Expired);
    assert!(d.reason.unwrap().contains("older than its validity"));

    // The latest check counts: a fresh success after an old failure passes.
    let renewed = facts(
        vec![owner("Ali Khan", None)],
        vec![
            cnic("i1", "1", "Ali Khan", false, OLD),
            cnic("i2", "1", "Ali Khan", true, FRESH),
        ],
    );
    assert_eq!(decide_one("kyc", &renewed).state, Compliant);

    // A time that does not parse cannot be relied on.
    let unknown_age = facts(
        vec![owner("Ali Khan", None)],
        vec![cnic("i1", "1", "Ali Khan", true, "yesterday")],
    );
    assert_eq!(decide_one("kyc", &unknown_age).state, Expired);
}

#[test]
fn tax_follows_the_ntn_check_and_the_non_filer_rule() {
    let f = facts(vec![], vec![]);
    assert_eq!(decide_one("tax", &f).state, Pending);
    let f = facts(vec![], vec![ntn("n1", true, "filer", FRESH)]);
    let d = decide_one("tax", &f);
    assert_eq!((d.state, d.reason), (Compliant, None));
    let f = facts(vec![], vec![ntn("n1", true, "non-filer", FRESH)]);
    let d = decide_one("tax", &f);
    assert_eq!(d.state, NonCompliant);
    assert!(d.reason.unwrap().contains("non-filer"));
    let f = facts(vec![], vec![ntn("n1", false, "unknown", FRESH)]);
    assert_eq!(decide_one("tax", &f).state, NonCompliant);
    let f = facts(vec![], vec![ntn("n1", true, "filer", OLD)]);
    assert_eq!(decide_one("tax", &f).state, Expired);
}

#[test]
fn corporate_securities_banking_and_licensing() {
    let mut f = facts(vec![], vec![]);
    assert_eq!(decide_one("corporate", &f).state, Compliant);
    if let Some(e) = &mut f.entity {
        e.status = Some("SUSPENDED".into());
    }
    let d = decide_one("corporate", &f);
    assert_eq!(d.state, NonCompliant);
    assert!(d.reason.unwrap().contains("SUSPENDED"));

    assert_eq!(decide_one("securities", &f).state, Pending);
    f.cap_table = Some(CapTableFact {
        id: "c1".into(),
        authorized: Some(100),
        issued: Some(100),
        classes: vec![("Common".into(), Some(100), Some(100))],
    });
    assert_eq!(decide_one("securities", &f).state, Compliant);
    f.cap_table = Some(CapTableFact {
        id: "c1".into(),
        authorized: Some(1000),
        issued: Some(100),
        classes: vec![("Preferred".into(), Some(10), Some(11))],
    });
    let d = decide_one("securities", &f);
    assert_eq!(d.state, NonCompliant);
    assert!(d.reason.unwrap().contains("class Preferred"));

    assert_eq!(decide_one("banking", &f).state, Pending);
    f.treasury = Some("t1".into());
    let d = decide_one("banking", &f);
    assert_eq!(d.state, Compliant);
    assert_eq!(d.evidence[0]["id"], "urn:mez:treasury:t1");
    f.attestations.push(AttestationFact {
        id: "a1".into(),
        attestation_type: "MezFiscalComplianceCredential".into(),
        resource_type: "account".into(),
        resource_id: "acc1".into(),
        issued_at: FRESH.into(),
    });
    let d = decide_one("banking", &f);
    assert_eq!(d.state, Compliant);
    assert_eq!(d.evidence[0]["id"], "urn:mez:attestation:a1");
    assert_eq!(d.evidence[0]["type"], ATTESTATION_EVIDENCE);
    assert_eq!(d.evidence[0]["resource"], "urn:mez:account:acc1");

    assert_eq!(decide_one("licensing", &f).state, Compliant);
    if let Some(e) = &mut f.entity {
        e.entity_type = Some("Bank".into());
    }
    assert_eq!(decide_one("licensing", &f).state, Pending);
}

#[test]
fn no_subject_or_an_unknown_entity_is_pending_with_a_reason() {
    let d = decide("kyc", rule("kyc"), None, now(), &BTreeMap::new());
    assert_eq!(d.state, Pending);
    assert!(d.reason.unwrap().contains("names no entity"));
    let unknown = Facts {
        entity_id: "e9".into(),
        ..Facts::default()
    };
    let d = decide(
        "corporate",
        rule("corporate"),
        Some(&unknown),
        now(),
        &BTreeMap::new(),
    );
    assert_eq!(d.state, Pending);
    assert!(d.reason.unwrap().contains("e9"));
}

fn evaluate_short(f: &Facts, relevant: &[&str]) -> crate::compliance::ComplianceSummary {
    let sanctions = SanctionsList::sample().unwrap();
    evaluate(
        &SHORT,
        &sanctions,
        Question {
            jurisdiction: "xx",
            relevant,
            screened_names: &["Acme".to_string()],
            facts: Some(f),
            now: NOW,
        },
    )
    .unwrap()
}

#[test]
fn an_evaluation_over_a_short_validity_table_expires_and_combines() {
    let relevant = ["aml", "kyc", "sanctions"];
    let fresh = facts(
        vec![owner("Ali Khan", None)],
        vec![cnic("i1", "1", "Ali Khan", true, FRESH)],
    );
    let summary = evaluate_short(&fresh, &relevant);
    assert_eq!(summary.domain_results["kyc"], Compliant);
    assert_eq!(summary.domain_results["aml"], Compliant);
    assert!(summary.blocking_domains.is_empty());
    // The evidence: the identity record for kyc and for aml, and the screening.
    let domains: Vec<&str> = summary
        .evidence
        .iter()
        .map(|e| e["domain"].as_str().unwrap())
        .collect();
    assert_eq!(domains, ["aml", "aml", "kyc", "sanctions"]);
    assert!(summary.sample_sanctions_list);
    assert!(summary.reasons["sanctions"].contains("sample"));

    let stale = facts(
        vec![owner("Ali Khan", None)],
        vec![cnic("i1", "1", "Ali Khan", true, OLD)],
    );
    let later = evaluate_short(&stale, &relevant);
    assert_eq!(later.domain_results["kyc"], Expired);
    assert_eq!(later.domain_results["aml"], Expired);
    assert_eq!(later.overall_status, Expired);
    assert_eq!(later.blocking_domains, ["aml", "kyc"]);
    assert!(later.reasons["kyc"].contains("Ali Khan"));
    assert!(later.reasons["aml"].starts_with("kyc: "));
    // Expiry is no hard block, and the commitment tells the two evaluations apart.
    assert!(later.hard_blocks.is_empty());
    assert_ne!(later.tensor_commitment, summary.tensor_commitment);
    // A decided domain without evidence says what is missing.
    let summary = evaluate_short(&fresh, &["kyc", "sanctions", "aml", "tax", "corporate"]);
    assert_eq!(summary.domain_results["tax"], Pending);
    assert!(summary.reasons["tax"].contains("no NTN verification"));
    let every: Vec<Value> = summary.evidence.clone();
    assert!(
        every
            .iter()
            .all(|e| e["id"].is_string() && e["type"].is_string())
    );
}
