// SPDX-License-Identifier: BUSL-1.1
//! Today's compliance answers, pinned by value: for every kind of `/v1` write, in two
//! jurisdictions (Pakistan and the UAE), the state of each of the twenty domains, the overall
//! status and the passing, blocking and hard-block lists are the literals written here.
//!
//! Other tests check that an envelope's compliance is consistent (the overall status is the
//! meet of the relevant states, the lists agree with the states). Consistency alone lets a
//! regression that, say, marked `kyc` compliant without evidence pass, as long as it stayed
//! consistent; these tables do not. When a domain gains an evidence source its expected state
//! here changes with it, in the same commit.
//!
//! The writes run in order against one entity, so evidence accrues: the base tables are the
//! states right after the entity is formed (corporate and licensing decided by the entity
//! record, sanctions by the screening), and each write pins the domains its evidence has
//! decided since (`decided`): the cap table decides securities, the account banking, the CNIC
//! checks kyc (and with sanctions, aml), the NTN check tax (and with banking, payments).

use mez_tests::TestZone;
use mez_tests::v1::DOMAINS;
use serde_json::{Value, json};

/// The two jurisdictions, as each write names them (a code, or a currency).
#[derive(Clone, Copy)]
struct Place {
    code: &'static str,
    currency: &'static str,
}

const PK: Place = Place {
    code: "pk",
    currency: "PKR",
};
const AE: Place = Place {
    code: "ae",
    currency: "AED",
};

/// Every `/v1` write in one place: (write, its envelope's `compliance`).
async fn every_write(zone: &TestZone, place: Place) -> Vec<(&'static str, Value)> {
    let mut out = Vec::new();
    let mut run = |name: &'static str, (status, body): (u16, Value)| {
        assert!(
            status == 200 || status == 201,
            "{name} in {}: {status} {body}",
            place.code
        );
        out.push((name, body["compliance"].clone()));
        body["mass_response"].clone()
    };
    let entity = run(
        "POST /v1/entities",
        zone.post(
            "/v1/entities",
            json!({"entity_type": "llc", "legal_name": "Pinned Trading Ltd",
                   "jurisdiction_id": place.code,
                   "beneficial_owners": [{"name": "Ali Khan", "ownership_percentage": "60"}]}),
        )
        .await,
    );
    let entity_id = entity["id"].as_str().expect("an entity id").to_string();
    run(
        "PUT /v1/entities/{id}",
        zone.put(
            &format!("/v1/entities/{entity_id}"),
            json!({"legal_name": "Pinned Trading Renamed Ltd"}),
        )
        .await,
    );
    run(
        "POST /v1/ownership/cap-tables",
        zone.post(
            "/v1/ownership/cap-tables",
            json!({"entity_id": entity_id,
                   "share_classes": [{"name": "Common", "authorized_shares": 1000}]}),
        )
        .await,
    );
    let account = run(
        "POST /v1/fiscal/accounts",
        zone.post(
            "/v1/fiscal/accounts",
            json!({"entity_id": entity_id, "account_type": "operating",
                   "currency": place.currency}),
        )
        .await,
    );
    let account_id = account["id"].as_str().expect("an account id").to_string();
    run(
        "POST /v1/fiscal/payments",
        zone.post(
            "/v1/fiscal/payments",
            json!({"from_account_id": account_id, "amount": "10.00",
                   "currency": place.currency, "reference": "pinned"}),
        )
        .await,
    );
    run(
        "POST /v1/identity/verify",
        zone.post(
            "/v1/identity/verify",
            json!({"identity_type": "individual", "full_name": "Ali Khan",
                   "entity_id": entity_id,
                   "linked_ids": [{"id_type": "CNIC", "id_value": "12345-1234567-1"}]}),
        )
        .await,
    );
    run(
        "POST /v1/identity/cnic/verify",
        zone.post(
            "/v1/identity/cnic/verify",
            json!({"cnic": "12345-1234567-1", "full_name": "Ali Khan",
                   "entity_id": entity_id, "jurisdiction_id": place.code}),
        )
        .await,
    );
    run(
        "POST /v1/identity/ntn/verify",
        zone.post(
            "/v1/identity/ntn/verify",
            json!({"ntn": "1234567", "entity_name": "Pinned Trading Ltd",
                   "entity_id": entity_id, "jurisdiction_id": place.code}),
        )
        .await,
    );
    run(
        "POST /v1/consent",
        zone.post(
            "/v1/consent",
            json!({"consent_type": "EQUITY_OFFER", "description": "Pinned round",
                   "parties": [{"entity_id": entity_id, "role": "issuer"}]}),
        )
        .await,
    );
    out
}

/// Every domain's state in Pakistan once the entity is formed: the financial category and
/// sanctions apply; sanctions (the names screened clean), corporate (the entity is ACTIVE) and
/// licensing (an llc needs no licence) are decided; the rest wait for evidence.
const PK_STATES: [(&str, &str); 20] = [
    ("aml", "pending"),
    ("arbitration", "not_applicable"),
    ("banking", "pending"),
    ("clearing", "not_applicable"),
    ("consumer_protection", "not_applicable"),
    ("corporate", "compliant"),
    ("custody", "not_applicable"),
    ("data_privacy", "not_applicable"),
    ("digital_assets", "not_applicable"),
    ("employment", "not_applicable"),
    ("immigration", "not_applicable"),
    ("ip", "not_applicable"),
    ("kyc", "pending"),
    ("licensing", "compliant"),
    ("payments", "pending"),
    ("sanctions", "compliant"),
    ("securities", "pending"),
    ("settlement", "not_applicable"),
    ("tax", "pending"),
    ("trade", "not_applicable"),
];

/// Every domain's state in the UAE: Pakistan's, plus custody, data privacy and digital assets,
/// which apply there and have no evidence rule (pending).
const AE_STATES: [(&str, &str); 20] = [
    ("aml", "pending"),
    ("arbitration", "not_applicable"),
    ("banking", "pending"),
    ("clearing", "not_applicable"),
    ("consumer_protection", "not_applicable"),
    ("corporate", "compliant"),
    ("custody", "pending"),
    ("data_privacy", "pending"),
    ("digital_assets", "pending"),
    ("employment", "not_applicable"),
    ("immigration", "not_applicable"),
    ("ip", "not_applicable"),
    ("kyc", "pending"),
    ("licensing", "compliant"),
    ("payments", "pending"),
    ("sanctions", "compliant"),
    ("securities", "pending"),
    ("settlement", "not_applicable"),
    ("tax", "pending"),
    ("trade", "not_applicable"),
];

/// One write's expected summary: the jurisdiction it was evaluated in, its overall status,
/// its relevant domains split into passing and blocking, and the domains decided since the
/// base table by the evidence of earlier writes (or its own).
struct Expected {
    write: &'static str,
    jurisdiction: &'static str,
    overall: &'static str,
    passing: &'static [&'static str],
    blocking: &'static [&'static str],
    decided: &'static [(&'static str, &'static str)],
}

const CAP_TABLE: &[(&str, &str)] = &[("securities", "compliant")];
const ACCOUNT: &[(&str, &str)] = &[("securities", "compliant"), ("banking", "compliant")];
const KYC: &[(&str, &str)] = &[
    ("securities", "compliant"),
    ("banking", "compliant"),
    ("kyc", "compliant"),
    ("aml", "compliant"),
];
const TAX: &[(&str, &str)] = &[
    ("securities", "compliant"),
    ("banking", "compliant"),
    ("kyc", "compliant"),
    ("aml", "compliant"),
    ("tax", "compliant"),
    ("payments", "compliant"),
];

const IN_PK: [Expected; 9] = [
    Expected {
        write: "POST /v1/entities",
        jurisdiction: "pk",
        overall: "pending",
        passing: &["corporate", "licensing", "sanctions"],
        blocking: &["aml", "kyc", "tax"],
        decided: &[],
    },
    Expected {
        write: "PUT /v1/entities/{id}",
        jurisdiction: "pk",
        overall: "pending",
        passing: &["corporate", "licensing", "sanctions"],
        blocking: &["aml", "kyc", "tax"],
        decided: &[],
    },
    Expected {
        write: "POST /v1/ownership/cap-tables",
        jurisdiction: "pk",
        overall: "pending",
        passing: &["corporate", "sanctions", "securities"],
        blocking: &["aml", "kyc"],
        decided: CAP_TABLE,
    },
    // Accounts and payments take their jurisdiction from the currency's table entry.
    Expected {
        write: "POST /v1/fiscal/accounts",
        jurisdiction: "PK",
        overall: "pending",
        passing: &["banking", "sanctions"],
        blocking: &["aml", "kyc", "tax"],
        decided: ACCOUNT,
    },
    Expected {
        write: "POST /v1/fiscal/payments",
        jurisdiction: "PK",
        overall: "pending",
        passing: &["banking", "sanctions"],
        blocking: &["aml", "payments", "tax"],
        decided: ACCOUNT,
    },
    // Data privacy does not apply in Pakistan, so it passes as not applicable.
    Expected {
        write: "POST /v1/identity/verify",
        jurisdiction: "pk",
        overall: "not_applicable",
        passing: &["data_privacy", "kyc", "sanctions"],
        blocking: &[],
        decided: KYC,
    },
    Expected {
        write: "POST /v1/identity/cnic/verify",
        jurisdiction: "pk",
        overall: "not_applicable",
        passing: &["data_privacy", "kyc", "sanctions"],
        blocking: &[],
        decided: KYC,
    },
    Expected {
        write: "POST /v1/identity/ntn/verify",
        jurisdiction: "pk",
        overall: "not_applicable",
        passing: &["data_privacy", "kyc", "sanctions"],
        blocking: &[],
        decided: TAX,
    },
    Expected {
        write: "POST /v1/consent",
        jurisdiction: "pk",
        overall: "compliant",
        passing: &["aml", "corporate", "sanctions"],
        blocking: &[],
        decided: TAX,
    },
];

const IN_AE: [Expected; 9] = [
    Expected {
        write: "POST /v1/entities",
        jurisdiction: "ae",
        overall: "pending",
        passing: &["corporate", "licensing", "sanctions"],
        blocking: &["aml", "kyc", "tax"],
        decided: &[],
    },
    Expected {
        write: "PUT /v1/entities/{id}",
        jurisdiction: "ae",
        overall: "pending",
        passing: &["corporate", "licensing", "sanctions"],
        blocking: &["aml", "kyc", "tax"],
        decided: &[],
    },
    Expected {
        write: "POST /v1/ownership/cap-tables",
        jurisdiction: "ae",
        overall: "pending",
        passing: &["corporate", "sanctions", "securities"],
        blocking: &["aml", "kyc"],
        decided: CAP_TABLE,
    },
    Expected {
        write: "POST /v1/fiscal/accounts",
        jurisdiction: "AE",
        overall: "pending",
        passing: &["banking", "sanctions"],
        blocking: &["aml", "kyc", "tax"],
        decided: ACCOUNT,
    },
    Expected {
        write: "POST /v1/fiscal/payments",
        jurisdiction: "AE",
        overall: "pending",
        passing: &["banking", "sanctions"],
        blocking: &["aml", "payments", "tax"],
        decided: ACCOUNT,
    },
    // Data privacy applies in the UAE and has no evidence rule: it blocks.
    Expected {
        write: "POST /v1/identity/verify",
        jurisdiction: "ae",
        overall: "pending",
        passing: &["kyc", "sanctions"],
        blocking: &["data_privacy"],
        decided: KYC,
    },
    Expected {
        write: "POST /v1/identity/cnic/verify",
        jurisdiction: "ae",
        overall: "pending",
        passing: &["kyc", "sanctions"],
        blocking: &["data_privacy"],
        decided: KYC,
    },
    Expected {
        write: "POST /v1/identity/ntn/verify",
        jurisdiction: "ae",
        overall: "pending",
        passing: &["kyc", "sanctions"],
        blocking: &["data_privacy"],
        decided: TAX,
    },
    Expected {
        write: "POST /v1/consent",
        jurisdiction: "ae",
        overall: "compliant",
        passing: &["aml", "corporate", "sanctions"],
        blocking: &[],
        decided: TAX,
    },
];

/// The differences between one write's `compliance` and its pinned values (empty: equal).
fn differences(
    compliance: &Value,
    expected: &Expected,
    states: &[(&str, &str); 20],
) -> Vec<String> {
    let mut out = Vec::new();
    let mut check = |what: &str, got: &Value, want: Value| {
        if *got != want {
            out.push(format!(
                "{}: {what} is {got}, pinned {want}",
                expected.write
            ));
        }
    };
    check(
        "jurisdiction_id",
        &compliance["jurisdiction_id"],
        json!(expected.jurisdiction),
    );
    check(
        "overall_status",
        &compliance["overall_status"],
        json!(expected.overall),
    );
    check(
        "passing_domains",
        &compliance["passing_domains"],
        json!(expected.passing),
    );
    check(
        "blocking_domains",
        &compliance["blocking_domains"],
        json!(expected.blocking),
    );
    check("hard_blocks", &compliance["hard_blocks"], json!([]));
    let mut pinned: serde_json::Map<String, Value> = states
        .iter()
        .map(|(d, s)| (d.to_string(), json!(s)))
        .collect();
    for (domain, state) in expected.decided {
        pinned.insert(domain.to_string(), json!(state));
    }
    check(
        "domain_results",
        &compliance["domain_results"],
        Value::Object(pinned),
    );
    out
}

async fn every_write_answers_its_pinned_compliance_in_pakistan_and_the_uae(db: &mez_tests::TestDb) {
    let zone = TestZone::sovereign(db).await;
    let mut problems = Vec::new();
    for (place, expected, states) in [(PK, &IN_PK, &PK_STATES), (AE, &IN_AE, &AE_STATES)] {
        let answered = every_write(&zone, place).await;
        let names: Vec<&str> = answered.iter().map(|(n, _)| *n).collect();
        let pinned: Vec<&str> = expected.iter().map(|e| e.write).collect();
        assert_eq!(names, pinned, "the pinned writes are the writes run");
        for ((_, compliance), expected) in answered.iter().zip(expected.iter()) {
            problems.extend(differences(compliance, expected, states));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    zone.stop().await;
}

/// Every write kind of the spec is pinned here.
#[test]
fn every_v1_write_kind_is_pinned() {
    let mut writes: Vec<String> = mez_api::surface::V1_ROUTES
        .iter()
        .filter(|r| r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    writes.sort();
    let mut pinned: Vec<String> = IN_PK.iter().map(|e| e.write.to_string()).collect();
    pinned.sort();
    assert_eq!(writes, pinned);
    assert_eq!(DOMAINS.len(), PK_STATES.len());
    for (table, domain) in PK_STATES.iter().zip(DOMAINS) {
        assert_eq!(table.0, domain);
    }
    for (table, domain) in AE_STATES.iter().zip(DOMAINS) {
        assert_eq!(table.0, domain);
    }
}

/// The regression the issue names, fed to the comparison: a zone that marked `kyc` compliant
/// without evidence (and stayed consistent about it) is caught.
#[test]
fn a_consistent_but_wrong_kyc_verdict_is_caught() {
    let expected = &IN_PK[0];
    let mut results = serde_json::Map::new();
    for (d, s) in PK_STATES {
        results.insert(d.to_string(), json!(s));
    }
    let right = json!({
        "jurisdiction_id": "pk", "overall_status": "pending",
        "passing_domains": ["corporate", "licensing", "sanctions"],
        "blocking_domains": ["aml", "kyc", "tax"],
        "hard_blocks": [], "domain_results": results,
    });
    assert!(differences(&right, expected, &PK_STATES).is_empty());
    let mut wrong = right.clone();
    wrong["domain_results"]["kyc"] = json!("compliant");
    wrong["passing_domains"] = json!(["corporate", "kyc", "licensing", "sanctions"]);
    wrong["blocking_domains"] = json!(["aml", "tax"]);
    assert_eq!(differences(&wrong, expected, &PK_STATES).len(), 3);
}

mez_tests::on_sqlite_and_postgres!(
    every_write_answers_its_pinned_compliance_in_pakistan_and_the_uae
);
