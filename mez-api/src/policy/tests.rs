// SPDX-License-Identifier: BUSL-1.1
//! The predicates' fail-safe rules, policy matching and resolution, and the generated table.

use serde_json::json;

use super::*;
use crate::surface::POLICIES;

const F: &str = "x";

fn eq(value: Lit) -> Condition {
    Condition::Equals { field: F, value }
}

#[test]
fn a_missing_field_is_false_for_every_predicate_but_the_two_null_exceptions() {
    let data = json!({"other": 1});
    let cases = [
        Condition::Threshold {
            field: F,
            value: "0",
        },
        Condition::LessThan {
            field: F,
            value: "10",
        },
        Condition::GreaterThan {
            field: F,
            value: "-10",
        },
        eq(Lit::Str("a")),
        eq(Lit::Bool(false)),
        Condition::Contains {
            field: F,
            item: Lit::Str("self"),
        },
        Condition::In {
            field: F,
            values: &[Lit::Null, Lit::Str("a")],
        },
        Condition::Exists { field: F },
        Condition::NotEquals {
            field: F,
            value: Lit::Null,
        },
    ];
    for c in &cases {
        assert!(!holds(c, &data), "{c:?} held over a missing field");
    }
    // The exceptions: equals null matches a missing field; not_equals non-null does too.
    assert!(holds(&eq(Lit::Null), &data));
    assert!(holds(
        &Condition::NotEquals {
            field: F,
            value: Lit::Str("a")
        },
        &data
    ));
    assert!(holds(
        &Condition::NotEquals {
            field: F,
            value: Lit::Num("3")
        },
        &data
    ));
}

#[test]
fn a_type_mismatch_is_false() {
    let text = json!({"x": "abc"});
    assert!(!holds(
        &Condition::Threshold {
            field: F,
            value: "1"
        },
        &text
    ));
    assert!(!holds(
        &Condition::LessThan {
            field: F,
            value: "1"
        },
        &text
    ));
    assert!(
        !holds(&eq(Lit::Num("1")), &json!({"x": "1"})),
        "a string is not the number 1"
    );
    assert!(!holds(&eq(Lit::Bool(true)), &json!({"x": "true"})));
    assert!(!holds(&eq(Lit::Str("1")), &json!({"x": 1})));
    assert!(!holds(
        &Condition::Contains {
            field: F,
            item: Lit::Str("a")
        },
        &json!({"x": "a"})
    ));
    assert!(!holds(
        &Condition::NotEquals {
            field: F,
            value: Lit::Str("a")
        },
        &json!({"x": 5})
    ));
    assert!(!holds(
        &Condition::Threshold {
            field: F,
            value: "1"
        },
        &json!({"x": [5]})
    ));
}

#[test]
fn numbers_are_json_numbers_or_decimal_strings_compared_exactly() {
    let t = Condition::Threshold {
        field: F,
        value: "10000000",
    };
    assert!(holds(&t, &json!({"x": "10000000.00"})));
    assert!(holds(&t, &json!({"x": 10000000})));
    assert!(holds(&t, &json!({"x": 1.0e7})));
    assert!(!holds(&t, &json!({"x": "9999999.99"})));
    // Exactly: a double would round 0.1 + 0.2; decimals do not.
    let lt = Condition::LessThan {
        field: F,
        value: "0.30000000000000001",
    };
    assert!(holds(&lt, &json!({"x": "0.3"})));
    assert!(holds(
        &Condition::GreaterThan {
            field: F,
            value: "0"
        },
        &json!({"x": "0.01"})
    ));
    assert!(!holds(
        &Condition::GreaterThan {
            field: F,
            value: "5"
        },
        &json!({"x": 5})
    ));
    assert!(holds(&eq(Lit::Num("5")), &json!({"x": 5.0})));
}

#[test]
fn exists_is_truthiness_and_paths_are_dotted() {
    let e = Condition::Exists { field: "a.b" };
    for falsy in [
        json!(null),
        json!(false),
        json!(0),
        json!(""),
        json!([]),
        json!({}),
    ] {
        assert!(
            !holds(&e, &json!({"a": {"b": falsy}})),
            "{falsy} is truthy?"
        );
    }
    for truthy in [
        json!(true),
        json!(1),
        json!("x"),
        json!([0]),
        json!({"k": 0}),
    ] {
        assert!(
            holds(&e, &json!({"a": {"b": truthy}})),
            "{truthy} is falsy?"
        );
    }
    assert!(
        !holds(&e, &json!({"a": 1})),
        "a path through a number finds nothing"
    );
}

#[test]
fn and_or_in_contains_combine() {
    static BOTH: [Condition; 2] = [
        Condition::Equals {
            field: "f",
            value: Lit::Str("non_filer"),
        },
        Condition::Threshold {
            field: "c",
            value: "500000",
        },
    ];
    let and = Condition::And(&BOTH);
    let or = Condition::Or(&BOTH);
    assert!(holds(&and, &json!({"f": "non_filer", "c": "500000.00"})));
    assert!(!holds(&and, &json!({"f": "non_filer", "c": "499999.99"})));
    assert!(holds(&or, &json!({"f": "filer", "c": 600000})));
    assert!(!holds(&or, &json!({"f": "filer"})));
    let within = Condition::In {
        field: F,
        values: &[Lit::Str("a"), Lit::Num("2")],
    };
    assert!(holds(&within, &json!({"x": 2})));
    assert!(!holds(&within, &json!({"x": "2"})));
    let has = Condition::Contains {
        field: F,
        item: Lit::Str("self"),
    };
    assert!(holds(&has, &json!({"x": ["other", "self"]})));
}

fn trigger(kind: &str, jurisdiction: Option<&str>, data: serde_json::Value) -> Trigger {
    Trigger {
        trigger_type: kind.into(),
        subject: Some("e1".into()),
        jurisdiction: jurisdiction.map(str::to_string),
        data,
    }
}

#[test]
fn the_generated_table_holds_the_reference_policies() {
    assert_eq!(
        POLICIES.policies.len(),
        25,
        "the 24 of reference 7.4 and the zone's resume"
    );
    assert_eq!(POLICIES.trigger_types.len(), 20);
    assert_eq!(POLICIES.actions.len(), 16);
    assert_eq!(POLICIES.approvals_for("automatic"), 0);
    assert_eq!(POLICIES.approvals_for("quorum"), 2);
}

#[test]
fn resolution_keeps_the_highest_priority_of_each_action() {
    // 10,000,000 PKR from a filer: withholding_due_execute (update_manifest, 75) and
    // withholding_high_value_quorum (update_manifest, 90, quorum) match; the latter wins.
    let t = trigger(
        "withholding_due",
        Some("PK"),
        json!({"entity_id": "e1", "filer_status": "filer", "cumulative_withholding": "450000.00", "transaction_amount": "10000000.00"}),
    );
    let ids: Vec<&str> = POLICIES.resolve(&t).iter().map(|p| p.id).collect();
    assert_eq!(ids, ["withholding_high_value_quorum"]);
    // A non-filer past PKR 500,000 also gets a halt (a different action), first by priority.
    let t = trigger(
        "withholding_due",
        None,
        json!({"entity_id": "e1", "filer_status": "non_filer", "cumulative_withholding": 500000, "transaction_amount": "100.00"}),
    );
    let ids: Vec<&str> = POLICIES.resolve(&t).iter().map(|p| p.id).collect();
    assert_eq!(
        ids,
        ["withholding_due_halt_nonfiler", "withholding_due_execute"]
    );
    // Equal priority: the smaller id wins (sanctions_auto_halt before sanctions_freeze).
    let t = trigger(
        "sanctions_list_update",
        None,
        json!({"entity_id": "e1", "affected_parties": ["self"], "new_sanctioned": true}),
    );
    let ids: Vec<&str> = POLICIES.resolve(&t).iter().map(|p| p.id).collect();
    assert_eq!(ids, ["sanctions_auto_halt"]);
    // A trigger no policy reads produces nothing.
    assert!(
        POLICIES
            .resolve(&trigger("entity_dissolution", None, json!({})))
            .is_empty()
    );
}

#[test]
fn a_scope_needs_a_jurisdiction_and_a_disabled_policy_never_matches() {
    let scoped = Policy {
        id: "p",
        description: "d",
        trigger: "tax_year_end",
        condition: None,
        action: "halt",
        priority: 1,
        jurisdiction_scope: &["pk"],
        authorization: "automatic",
        enabled: true,
    };
    assert!(scoped.matches(&trigger("tax_year_end", Some("PK"), json!({}))));
    assert!(!scoped.matches(&trigger("tax_year_end", Some("ae"), json!({}))));
    assert!(!scoped.matches(&trigger("tax_year_end", None, json!({}))));
    assert!(!scoped.matches(&trigger("tax_year_end_x", Some("pk"), json!({}))));
    let off = Policy {
        enabled: false,
        jurisdiction_scope: &[],
        ..scoped
    };
    assert!(!off.matches(&trigger("tax_year_end", Some("pk"), json!({}))));
}

#[test]
fn a_fire_maps_its_data_and_checks_its_condition() {
    static WHEN: Condition = Condition::Equals {
        field: "majority_reached",
        value: Lit::Bool(true),
    };
    let fire = Fire {
        trigger: "governance_vote_resolved",
        subject: Some("entity_id"),
        data: &[
            ("entity_id", "answer.organizationId"),
            ("majority_reached", "answer.majorityReached"),
            ("gone", "request.nothing"),
        ],
        when: Some(&WHEN),
    };
    let yes =
        json!({"request": {}, "answer": {"organizationId": "org-1", "majorityReached": true}});
    let t = fire.trigger(&yes, Some("pk")).expect("fires");
    assert_eq!(t.subject.as_deref(), Some("org-1"));
    assert_eq!(
        t.data,
        json!({"entity_id": "org-1", "majority_reached": true, "gone": null})
    );
    let no = json!({"answer": {"organizationId": "org-1", "majorityReached": false}});
    assert!(fire.trigger(&no, None).is_none());
}

#[test]
fn conditions_read_back_in_the_spec_form() {
    let p = POLICIES
        .policies
        .iter()
        .find(|p| p.id == "withholding_due_halt_nonfiler")
        .expect("in the table");
    assert_eq!(
        p.to_json()["condition"],
        json!({"type": "and", "conditions": [
            {"type": "equals", "field": "filer_status", "value": "non_filer"},
            {"type": "threshold", "field": "cumulative_withholding", "threshold": 500000}
        ]})
    );
}
