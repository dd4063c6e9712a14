// SPDX-License-Identifier: BUSL-1.1
//! The policy engine end to end, on both backends: writes fire the triggers their routes
//! declare (spec `fires:`), the policies of spec/policies.yaml turn them into durable actions,
//! an action needing a quorum waits for two distinct approvers, and a halt stops every write
//! about its entity (403 naming the policy, nothing written but the refusal) and suspends the
//! entity's credentials until a resume lifts both.

use mez_tests::{TestDb, TestZone, on_sqlite_and_postgres};
use serde_json::{Value, json};

fn id_of(envelope: &Value) -> String {
    envelope["mass_response"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {envelope}"))
        .to_string()
}

async fn new_entity(zone: &TestZone, name: &str) -> (String, Value) {
    let (status, created) = zone
        .post(
            "/v1/entities",
            json!({"entity_type": "llc", "legal_name": name, "jurisdiction_id": "pk"}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    (id_of(&created), created)
}

async fn events(zone: &TestZone, event_type: &str) -> Vec<Value> {
    let (status, all) = zone.get("/v1/audit/events?limit=1000").await;
    assert_eq!(status, 200, "{all}");
    all.as_array()
        .expect("a list of events")
        .iter()
        .filter(|e| e["event_type"] == event_type)
        .cloned()
        .collect()
}

async fn actions(zone: &TestZone, query: &str) -> Vec<Value> {
    let (status, list) = zone.get(&format!("/v1/actions?{query}")).await;
    assert_eq!(status, 200, "{list}");
    list.as_array().expect("a list of actions").clone()
}

async fn verify(zone: &TestZone, credential: &Value) -> Value {
    let (status, answer) = zone
        .post("/v1/credentials/verify", credential.clone())
        .await;
    assert_eq!(status, 200, "{answer}");
    answer
}

async fn the_policies_are_listed_and_unknown_triggers_refused(db: &TestDb) {
    let zone = TestZone::start(db, true).await;
    let (status, policies) = zone.get("/v1/policies").await;
    assert_eq!(status, 200, "{policies}");
    let policies = policies.as_array().expect("a list");
    assert_eq!(policies.len(), 25);
    let quorum = policies
        .iter()
        .find(|p| p["policy_id"] == "withholding_high_value_quorum")
        .expect("listed");
    assert_eq!(quorum["trigger_type"], "withholding_due");
    assert_eq!(quorum["authorization_requirement"], "quorum");
    assert_eq!(quorum["priority"], 90);
    assert_eq!(quorum["condition"]["type"], "threshold");
    let (status, refused) = zone
        .post(
            "/v1/triggers",
            json!({"trigger_type": "sanctions_list_updated"}),
        )
        .await;
    assert_eq!(status, 422, "{refused}");
    assert!(
        refused.to_string().contains("unknown trigger type"),
        "{refused}"
    );
    let (status, refused) = zone
        .post(
            "/v1/triggers",
            json!({"trigger_type": "checkpoint_due", "data": [1]}),
        )
        .await;
    assert_eq!(status, 422, "{refused}");
    // A trigger no policy matches produces nothing, and is still recorded.
    let (status, none) = zone
        .post("/v1/triggers", json!({"trigger_type": "pack_updated"}))
        .await;
    assert_eq!(status, 200, "{none}");
    assert_eq!(none["actions_produced"], 0);
    assert_eq!(events(&zone, "policy.trigger_received").await.len(), 1);
    let (status, _) = zone
        .get("/v1/actions/00000000-0000-4000-8000-000000000000")
        .await;
    assert_eq!(status, 404);
    zone.stop().await;
}

async fn a_high_value_payment_waits_for_two_distinct_approvals(db: &TestDb) {
    let zone = TestZone::start(db, true).await;
    let (entity, _) = new_entity(&zone, "Quorum Traders Ltd").await;
    let account = pkr_account(&zone, &entity).await;
    // A small payment: withholding_due fires, and withholding_due_execute records it.
    let (status, small) = zone
        .post(
            "/v1/fiscal/payments",
            json!({"from_account_id": account, "amount": "1000.00", "currency": "PKR", "reference": "small", "ntn": "1234567"}),
        )
        .await;
    assert_eq!(status, 201, "{small}");
    let (status, big) = zone
        .post(
            "/v1/fiscal/payments",
            json!({"from_account_id": account, "amount": "10000000.00", "currency": "PKR", "reference": "big", "ntn": "1234567"}),
        )
        .await;
    assert_eq!(status, 201, "{big}");
    let payment = id_of(&big);

    // The payment's own audit event records the trigger and the action it produced.
    let initiated = events(&zone, "fiscal.payment_initiated").await;
    assert_eq!(initiated.len(), 2);
    let fired = &initiated[1]["metadata"]["policy_triggers"][0];
    assert_eq!(fired["trigger_type"], "withholding_due", "{fired}");
    assert_eq!(fired["subject"], entity.as_str());
    assert_eq!(fired["data"]["entity_id"], entity.as_str());
    assert_eq!(fired["data"]["transaction_amount"], "10000000.00");
    assert_eq!(fired["data"]["filer_status"], "filer");
    assert_eq!(fired["data"]["payment_id"], payment.as_str());
    // 4.5% (a filer's rate on goods) of 1,000 and of 10,000,000:
    // 45 + 450,000 this year.
    assert_eq!(
        fired["data"]["cumulative_withholding"], "450045.00",
        "{fired}"
    );
    let first = &initiated[0]["metadata"]["policy_triggers"][0];
    assert_eq!(first["actions"][0]["policy_id"], "withholding_due_execute");
    assert_eq!(first["actions"][0]["status"], "scheduled");

    let waiting = actions(&zone, "policy_id=withholding_high_value_quorum").await;
    assert_eq!(waiting.len(), 1, "{waiting:?}");
    let action = &waiting[0];
    assert_eq!(action["status"], "awaiting_authorization");
    assert_eq!(action["action_type"], "update_manifest");
    assert_eq!(action["subject"], entity.as_str());
    assert_eq!(action["approvals_required"], 2);
    let id = action["action_id"].as_str().expect("an id").to_string();
    assert_eq!(fired["actions"][0]["action_id"], id.as_str());
    // Only the high-value policy won: one update_manifest action for this payment.
    assert_eq!(fired["actions"].as_array().map(Vec::len), Some(1));

    let approve = |who: &str| json!({ "approver": who });
    let (status, once) = zone
        .post(&format!("/v1/actions/{id}/approve"), approve("alice"))
        .await;
    assert_eq!(status, 200, "{once}");
    assert_eq!(once["status"], "awaiting_authorization");
    assert_eq!(once["approvals"].as_array().map(Vec::len), Some(1));
    let (status, again) = zone
        .post(&format!("/v1/actions/{id}/approve"), approve("alice"))
        .await;
    assert_eq!(status, 409, "the same approver twice: {again}");
    let (status, bad) = zone
        .post(&format!("/v1/actions/{id}/approve"), json!({}))
        .await;
    assert_eq!(status, 422, "{bad}");
    let (status, done) = zone
        .post(&format!("/v1/actions/{id}/approve"), approve("bob"))
        .await;
    assert_eq!(status, 200, "{done}");
    // update_manifest has no executor here: approved, it is recorded as scheduled, and says so.
    assert_eq!(done["status"], "scheduled", "{done}");
    assert!(
        done["detail"]
            .as_str()
            .unwrap_or("")
            .contains("no executor"),
        "{done}"
    );
    let (status, after) = zone
        .post(&format!("/v1/actions/{id}/approve"), approve("carol"))
        .await;
    assert_eq!(status, 409, "no longer awaiting: {after}");
    let approvals = events(&zone, "policy.action_approved").await;
    let actors: Vec<&str> = approvals
        .iter()
        .filter_map(|e| e["actor"].as_str())
        .collect();
    assert_eq!(actors, ["alice", "bob"]);
    assert_eq!(events(&zone, "policy.action_scheduled").await.len(), 1);
    let (status, chain) = zone.get("/v1/audit/verify").await;
    assert_eq!((status, &chain["valid"]), (200, &json!(true)), "{chain}");
    zone.stop().await;
}

async fn a_consent_resolution_and_a_dissolution_fire_their_triggers(db: &TestDb) {
    let zone = TestZone::start(db, true).await;
    let (entity, _) = new_entity(&zone, "Resolution Holdings Ltd").await;
    let (status, consent) = zone
        .post(
            "/v1/consent",
            json!({"consent_type": "EQUITY_OFFER", "description": "Seed", "parties": [{"entity_id": entity, "role": "issuer"}], "num_votes_required": 1}),
        )
        .await;
    assert_eq!(status, 201, "{consent}");
    let consent = id_of(&consent);
    let (status, vote) = zone
        .post_empty(&format!("/consent-info/api/v1/consents/approve/{consent}"))
        .await;
    assert_eq!(status, 200, "{vote}");
    assert_eq!(vote["majorityReached"], true, "{vote}");
    let approved = events(&zone, "consent.approved").await;
    let fired = &approved[0]["metadata"]["policy_triggers"][0];
    assert_eq!(fired["trigger_type"], "governance_vote_resolved", "{fired}");
    assert_eq!(fired["data"]["consent_id"], consent.as_str());
    assert_eq!(fired["data"]["outcome"], "APPROVED");
    assert_eq!(fired["subject"], entity.as_str());

    // An update that does not dissolve fires nothing; one that does, fires.
    let path = format!("/organization-info/api/v1/organization/{entity}");
    let (status, renamed) = zone.put(&path, json!({"tags": ["x"]})).await;
    assert_eq!(status, 200, "{renamed}");
    let (status, dissolved) = zone.put(&path, json!({"status": "DISSOLVED"})).await;
    assert_eq!(status, 200, "{dissolved}");
    let updates = events(&zone, "organization.updated").await;
    assert_eq!(updates.len(), 2);
    assert!(
        updates[0]["metadata"].get("policy_triggers").is_none(),
        "{}",
        updates[0]
    );
    let fired = &updates[1]["metadata"]["policy_triggers"][0];
    assert_eq!(fired["trigger_type"], "entity_dissolution", "{fired}");
    assert_eq!(fired["data"]["status"], "DISSOLVED");
    assert_eq!(fired["subject"], entity.as_str());
    zone.stop().await;
}

async fn a_halt_stops_every_write_and_suspends_credentials_until_resumed(db: &TestDb) {
    let zone = TestZone::start(db, true).await;
    let (entity, created) = new_entity(&zone, "Halted Exports Ltd").await;
    let (other, _) = new_entity(&zone, "Unrelated Imports Ltd").await;
    let credential = created["credential"].clone();
    assert_eq!(verify(&zone, &credential).await["verified"], true);

    let (status, fired) = zone
        .post(
            "/v1/triggers",
            json!({"trigger_type": "sanctions_list_update", "asset_id": entity, "jurisdiction": "pk",
                   "data": {"affected_parties": ["self"], "new_sanctioned": true}}),
        )
        .await;
    assert_eq!(status, 200, "{fired}");
    assert_eq!(fired["actions_produced"], 1, "{fired}");
    let action = &fired["actions"][0];
    assert_eq!(action["policy_id"], "sanctions_auto_halt");
    assert_eq!(action["action_type"], "halt");
    assert_eq!(action["status"], "executed", "{fired}");

    let (status, org) = zone
        .get(&format!("/organization-info/api/v1/organization/{entity}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(org["status"], "SUSPENDED");
    let answer = verify(&zone, &credential).await;
    assert_eq!(answer["verified"], false, "{answer}");
    assert_eq!(answer["status"]["suspended"], true, "{answer}");
    assert_eq!(answer["status"]["revoked"], false, "{answer}");

    // Every write about it is refused, naming the policy; nothing is written.
    let tables_before = zone.stored("cap_tables").await.len();
    let attestations_before = zone.stored("attestations").await.len();
    let (status, refused) = zone
        .post(
            "/v1/ownership/cap-tables",
            json!({"entity_id": entity, "share_classes": [{"name": "Common", "authorized_shares": 10}]}),
        )
        .await;
    assert_eq!(status, 403, "{refused}");
    assert!(
        refused.to_string().contains("sanctions_auto_halt"),
        "{refused}"
    );
    let (status, refused) = zone
        .post(
            "/organization-info/api/v1/membership/member",
            json!({"organizationId": entity, "name": "New Member"}),
        )
        .await;
    assert_eq!(status, 403, "a direct write to its records: {refused}");
    let (status, refused) = zone
        .put(
            &format!("/organization-info/api/v1/organization/{entity}"),
            json!({"status": "ACTIVE"}),
        )
        .await;
    assert_eq!(status, 403, "its own record: {refused}");
    assert_eq!(zone.stored("cap_tables").await.len(), tables_before);
    assert_eq!(zone.stored("attestations").await.len(), attestations_before);
    assert!(zone.stored("members").await.is_empty());
    assert_eq!(events(&zone, "policy.write_refused").await.len(), 3);
    // Another entity is not affected.
    let (status, fine) = zone
        .post(
            "/v1/ownership/cap-tables",
            json!({"entity_id": other, "share_classes": [{"name": "Common", "authorized_shares": 10}]}),
        )
        .await;
    assert_eq!(status, 201, "{fine}");

    // The way back: a delisting, with a quorum.
    let (status, delisted) = zone
        .post(
            "/v1/triggers",
            json!({"trigger_type": "sanctions_list_update", "asset_id": entity, "data": {"delisted": true}}),
        )
        .await;
    assert_eq!(status, 200, "{delisted}");
    assert_eq!(
        delisted["actions"][0]["action_type"], "resume",
        "{delisted}"
    );
    assert_eq!(delisted["actions"][0]["status"], "awaiting_authorization");
    let resume = delisted["actions"][0]["action_id"]
        .as_str()
        .expect("id")
        .to_string();
    for who in ["ops-1", "ops-2"] {
        let (status, answer) = zone
            .post(
                &format!("/v1/actions/{resume}/approve"),
                json!({"approver": who}),
            )
            .await;
        assert_eq!(status, 200, "{answer}");
    }
    let (status, done) = zone.get(&format!("/v1/actions/{resume}")).await;
    assert_eq!(status, 200);
    assert_eq!(done["status"], "executed", "{done}");
    let (_, org) = zone
        .get(&format!("/organization-info/api/v1/organization/{entity}"))
        .await;
    assert_eq!(org["status"], "ACTIVE");
    let answer = verify(&zone, &credential).await;
    assert_eq!(answer["verified"], true, "{answer}");
    let (status, table) = zone
        .post(
            "/v1/ownership/cap-tables",
            json!({"entity_id": entity, "share_classes": [{"name": "Common", "authorized_shares": 10}]}),
        )
        .await;
    assert_eq!(status, 201, "{table}");
    let executed = events(&zone, "policy.action_executed").await;
    assert_eq!(executed.len(), 2, "the halt and the resume");
    assert!(
        executed[0]["metadata"]["credentials_suspended"]
            .as_array()
            .is_some_and(|c| c.len() == 1),
        "{}",
        executed[0]
    );
    let (status, chain) = zone.get("/v1/audit/verify").await;
    assert_eq!((status, &chain["valid"]), (200, &json!(true)), "{chain}");
    zone.stop().await;
}

/// Writes a sanctions list file in the zone's YAML format.
fn write_list(path: &std::path::Path, names: &[&str]) {
    let mut text = String::from("entries:\n");
    for name in names {
        text.push_str(&format!("  - name: {name}\n"));
    }
    if let Err(err) = std::fs::write(path, text) {
        panic!("cannot write {}: {err}", path.display());
    }
}

async fn a_reload_that_names_an_entity_halts_it_and_revokes_its_credentials(db: &TestDb) {
    let dir = mez_tests::DataDir::new();
    let list = dir.path().join("sanctions.yaml");
    write_list(&list, &["Ivan Sanctionedov"]);
    let token = format!("test-token-{}", uuid::Uuid::new_v4().simple());
    let mut config = mez_api::config::Config::for_tests(db.url(), true, &token);
    config.data_dir = dir.path().to_path_buf();
    config.sanctions_files = vec![list.clone()];
    let zone = TestZone::start_with_config(config).await;
    let (listed, created) = new_entity(&zone, "Karachi Dawn Shipping Ltd").await;
    let (clean, _) = new_entity(&zone, "Lahore Textile Mills Ltd").await;
    let credential = created["credential"].clone();

    // The same list again: nothing new.
    let (status, same) = zone.post_empty("/v1/sanctions/reload").await;
    assert_eq!(status, 200, "{same}");
    assert_eq!(same["rescreened"], 2, "{same}");
    assert_eq!(same["new_hits"], json!([]));

    // The list now names the first entity, spelt a little differently.
    write_list(
        &list,
        &["Ivan Sanctionedov", "Karachi Daun Shipping Limited"],
    );
    let (status, reloaded) = zone.post_empty("/v1/sanctions/reload").await;
    assert_eq!(status, 200, "{reloaded}");
    assert_eq!(reloaded["entries"], 2);
    let hits = reloaded["new_hits"].as_array().expect("a list");
    assert_eq!(hits.len(), 1, "{reloaded}");
    assert_eq!(hits[0]["entity_id"], listed.as_str());
    assert_eq!(hits[0]["listed_as"][0], "Karachi Daun Shipping Limited");
    assert_eq!(
        hits[0]["credentials_revoked"].as_array().map(Vec::len),
        Some(1)
    );
    assert_eq!(hits[0]["actions"][0]["action_type"], "halt", "{reloaded}");
    assert_eq!(hits[0]["actions"][0]["status"], "executed", "{reloaded}");

    let answer = verify(&zone, &credential).await;
    assert_eq!(answer["verified"], false, "{answer}");
    assert_eq!(answer["status"]["revoked"], true, "{answer}");
    let (_, org) = zone
        .get(&format!("/organization-info/api/v1/organization/{listed}"))
        .await;
    assert_eq!(org["status"], "SUSPENDED");
    let (status, refused) = zone
        .post(
            "/v1/fiscal/accounts",
            json!({"entity_id": listed, "account_type": "operating", "currency": "PKR"}),
        )
        .await;
    assert_eq!(status, 403, "{refused}");
    pkr_account(&zone, &clean).await;

    // A reload of the same list finds no new hit; a list that does not load changes nothing.
    let (status, again) = zone.post_empty("/v1/sanctions/reload").await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["new_hits"], json!([]));
    if let Err(err) = std::fs::write(&list, "entries: [ {name: ") {
        panic!("cannot write the list: {err}");
    }
    let (status, broken) = zone.post_empty("/v1/sanctions/reload").await;
    assert_eq!(status, 409, "{broken}");
    assert!(
        broken.to_string().contains("old one stays in force"),
        "{broken}"
    );
    let reloads = events(&zone, "sanctions.list_reloaded").await;
    assert_eq!(reloads.len(), 3);
    let (status, chain) = zone.get("/v1/audit/verify").await;
    assert_eq!((status, &chain["valid"]), (200, &json!(true)), "{chain}");
    zone.stop().await;
}

async fn an_action_left_pending_by_a_stopped_zone_runs_at_the_next_start(db: &TestDb) {
    let data_dir = mez_tests::DataDir::new();
    let zone = TestZone::start_in(db, true, &data_dir).await;
    let (entity, _) = new_entity(&zone, "Interrupted Halt Ltd").await;
    zone.stop().await;
    // What a zone stopped between a write's commit and running its action leaves behind.
    let action = uuid::Uuid::new_v4().to_string();
    let body = json!({
        "id": action, "policyId": "dispute_filed_halt", "action": "halt", "priority": 85,
        "subject": entity, "jurisdiction": null,
        "trigger": {"trigger_type": "dispute_filed", "subject": entity, "jurisdiction": null, "data": {}},
        "status": "pending", "detail": null, "authorization": "automatic", "approvalsRequired": 0,
        "approvals": [], "attempts": 0, "lastError": null,
        "createdAt": "2026-12-07T00:00:00.000Z", "updatedAt": "2026-12-07T00:00:00.000Z",
    });
    let mut raw = mez_tests::RawDb::open(db).await;
    raw.execute(
        "INSERT INTO records (collection, id, body) VALUES ('policy_actions', $1, $2)",
        &[&action, &body.to_string()],
    )
    .await;
    raw.close().await;
    let zone = TestZone::start_in(db, true, &data_dir).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (_, found) = zone.get(&format!("/v1/actions/{action}")).await;
        if found["status"] == "executed" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "still {found}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let (_, org) = zone
        .get(&format!("/organization-info/api/v1/organization/{entity}"))
        .await;
    assert_eq!(org["status"], "SUSPENDED");
    zone.stop().await;
}

/// Opens a PKR account for `entity`.
async fn pkr_account(zone: &TestZone, entity: &str) -> String {
    let (status, account) = zone
        .post(
            "/v1/fiscal/accounts",
            json!({"entity_id": entity, "account_type": "operating", "currency": "PKR"}),
        )
        .await;
    assert_eq!(status, 201, "{account}");
    id_of(&account)
}

async fn pay(zone: &TestZone, account: &str, amount: &str) -> Value {
    let (status, paid) = zone
        .post(
            "/v1/fiscal/payments",
            json!({"from_account_id": account, "amount": amount, "currency": "PKR", "reference": "running total", "ntn": "1234567"}),
        )
        .await;
    assert_eq!(status, 201, "{paid}");
    paid
}

async fn a_withholding_total_counts_earlier_tax_events_and_concurrent_payments(db: &TestDb) {
    let zone = TestZone::start(db, true).await;
    // The tax year the zone files payments under, from one payment of another entity.
    let (other, _) = new_entity(&zone, "Calendar Traders Ltd").await;
    let other_account = pkr_account(&zone, &other).await;
    pay(&zone, &other_account, "1000.00").await;
    let (status, taxed) = zone
        .get(&format!(
            "/treasury-info/api/v1/tax-events?entity_id={other}"
        ))
        .await;
    assert_eq!(status, 200, "{taxed}");
    let tax_year = taxed[0]["taxYear"]
        .as_str()
        .expect("a tax year")
        .to_string();

    // Withholding recorded directly before the entity's first payment of the year counts.
    let (entity, _) = new_entity(&zone, "Running Total Traders Ltd").await;
    let account = pkr_account(&zone, &entity).await;
    let (status, recorded) = zone
        .post(
            "/treasury-info/api/v1/tax-events",
            json!({"entity_id": entity, "event_type": "WITHHOLDING_AT_SOURCE", "amount": "100.00",
                   "currency": "PKR", "tax_year": tax_year}),
        )
        .await;
    assert_eq!(status, 201, "{recorded}");
    // Eight payments at once: each first payment races to create the total, each later one
    // to replace it; the losers plan again, so none is lost.
    let concurrent: Vec<_> = (0..8).map(|_| pay(&zone, &account, "1000.00")).collect();
    futures_util::future::join_all(concurrent).await;
    let last = pay(&zone, &account, "1000.00").await;

    let initiated = events(&zone, "fiscal.payment_initiated").await;
    let fired = initiated
        .iter()
        .find(|e| e["resource_id"] == last["mass_response"]["id"])
        .map(|e| &e["metadata"]["policy_triggers"][0])
        .expect("the last payment's audit event");
    // 100 recorded directly, then nine payments withholding 4.5% of 1,000 each.
    assert_eq!(fired["data"]["cumulative_withholding"], "505.00", "{fired}");
    let (status, taxed) = zone
        .get(&format!(
            "/treasury-info/api/v1/tax-events?entity_id={entity}"
        ))
        .await;
    assert_eq!(status, 200, "{taxed}");
    assert_eq!(taxed.as_array().map(Vec::len), Some(10), "{taxed}");
    zone.stop().await;
}

on_sqlite_and_postgres!(
    a_withholding_total_counts_earlier_tax_events_and_concurrent_payments,
    an_action_left_pending_by_a_stopped_zone_runs_at_the_next_start,
    a_reload_that_names_an_entity_halts_it_and_revokes_its_credentials,
    the_policies_are_listed_and_unknown_triggers_refused,
    a_high_value_payment_waits_for_two_distinct_approvals,
    a_consent_resolution_and_a_dissolution_fire_their_triggers,
    a_halt_stops_every_write_and_suspends_credentials_until_resumed
);
