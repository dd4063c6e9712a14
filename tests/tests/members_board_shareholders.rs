// SPDX-License-Identifier: BUSL-1.1
//! The three organization-keyed lists answer what was written through the zone.
//!
//! Members and directors are primitives with their own create, update and delete routes, each
//! audited; the members and board lists of an organization read them back. Shareholders are
//! read from the organization's cap tables (the allocations written, and audited, with each
//! table), so that list can never drift from the tables. Every scenario runs on SQLite and on
//! PostgreSQL.

use mez_tests::v1::{assert_chain_valid, audit_events};
use mez_tests::{TestDb, TestZone};
use serde_json::{Value, json};

const ORG: &str = "/organization-info/api/v1";
const CONSENT: &str = "/consent-info/api/v1";

async fn organization(zone: &TestZone, name: &str) -> String {
    let (status, org) = zone
        .post(&format!("{ORG}/organization/create"), json!({"name": name}))
        .await;
    assert_eq!(status, 201, "{org}");
    org["id"].as_str().expect("an id").to_string()
}

/// The audit events of one type, as (resource id) strings, in chain order.
async fn events_of(zone: &TestZone, event_type: &str) -> Vec<String> {
    audit_events(zone)
        .await
        .iter()
        .filter(|e| e["event_type"] == event_type)
        .map(|e| e["resource_id"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Create, list, update and delete one kind of org-keyed person through its routes, and find
/// each write's audit event.
async fn people_round_trip(
    zone: &TestZone,
    write: &str,
    list: impl Fn(&str) -> String,
    event: &str,
    extra: Value,
) {
    let acme = organization(zone, "Acme Ltd").await;
    let other = organization(zone, "Other Ltd").await;
    let (status, empty) = zone.get(&list(&acme)).await;
    assert_eq!((status, &empty), (200, &json!([])), "before any write");

    let mut body = json!({"organizationId": acme, "name": "Ayesha Malik",
                          "email": "ayesha@acme.pk", "roles": ["ADMIN"]});
    for (k, v) in extra.as_object().expect("object") {
        body[k] = v.clone();
    }
    let (status, person) = zone.post(write, body).await;
    assert_eq!(status, 201, "{person}");
    let id = person["id"].as_str().expect("an id").to_string();
    let (status, elsewhere) = zone
        .post(
            write,
            json!({"organizationId": other, "name": "Someone Else"}),
        )
        .await;
    assert_eq!(status, 201, "{elsewhere}");

    let (status, listed) = zone.get(&list(&acme)).await;
    assert_eq!((status, &listed), (200, &json!([person])), "only Acme's");
    let (status, read) = zone.get(&format!("{write}/{id}")).await;
    assert_eq!((status, &read), (200, &person));

    let (status, updated) = zone
        .put(
            &format!("{write}/{id}"),
            json!({"roles": ["ADMIN", "SIGNER"]}),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["roles"], json!(["ADMIN", "SIGNER"]));
    assert_eq!(updated["name"], person["name"]);
    let (_, listed) = zone.get(&list(&acme)).await;
    assert_eq!(listed, json!([updated]), "the list reads the update");

    let (status, _) = zone.delete(&format!("{write}/{id}")).await;
    assert_eq!(status, 200);
    let (status, listed) = zone.get(&list(&acme)).await;
    assert_eq!((status, &listed), (200, &json!([])), "the delete persists");
    let (status, _) = zone.get(&format!("{write}/{id}")).await;
    assert_eq!(status, 404);

    let elsewhere_id = elsewhere["id"].as_str().expect("an id").to_string();
    assert_eq!(
        events_of(zone, &format!("{event}.created")).await,
        [id.clone(), elsewhere_id]
    );
    assert_eq!(
        events_of(zone, &format!("{event}.updated")).await,
        std::slice::from_ref(&id)
    );
    assert_eq!(events_of(zone, &format!("{event}.deleted")).await, [id]);
}

async fn members_are_written_listed_by_organization_and_audited(db: &TestDb) {
    let zone = TestZone::sovereign(db).await;
    people_round_trip(
        &zone,
        &format!("{ORG}/membership/member"),
        |org| format!("{ORG}/membership/{org}/members"),
        "member",
        json!({}),
    )
    .await;
    // Two organizations, two members, one update, one delete.
    assert_chain_valid(&zone, 6).await;
    zone.stop().await;
}

async fn directors_are_written_listed_on_the_board_and_audited(db: &TestDb) {
    let zone = TestZone::sovereign(db).await;
    people_round_trip(
        &zone,
        &format!("{ORG}/board/director"),
        |org| format!("{ORG}/board/{org}"),
        "board_member",
        json!({"shares": 1000, "ownershipPercentage": "12.5", "active": true}),
    )
    .await;
    assert_chain_valid(&zone, 6).await;
    zone.stop().await;
}

async fn shareholders_are_the_allocations_of_the_organizations_cap_tables(db: &TestDb) {
    let zone = TestZone::sovereign(db).await;
    let acme = organization(&zone, "Acme Ltd").await;
    let other = organization(&zone, "Other Ltd").await;
    let list = |org: &str| format!("{CONSENT}/shareholders/organization/{org}");
    let (status, empty) = zone.get(&list(&acme)).await;
    assert_eq!((status, &empty), (200, &json!([])), "no cap table yet");

    let (status, table) = zone
        .post(
            &format!("{CONSENT}/capTables"),
            json!({"organizationId": acme, "authorizedShares": 1000,
            "shareholders": [
                {"email": "founder@acme.pk", "firstName": "Ali", "shares": 600},
                {"email": "fund@example.com", "businessName": "Fund LP",
                 "isEntity": true, "shares": 250}
            ]}),
        )
        .await;
    assert_eq!(status, 201, "{table}");
    let (status, _) = zone
        .post(
            &format!("{CONSENT}/capTables"),
            json!({"organizationId": other, "authorizedShares": 10,
                   "shareholders": [{"email": "x@other.pk", "shares": 10}]}),
        )
        .await;
    assert_eq!(status, 201);

    let (status, holders) = zone.get(&list(&acme)).await;
    assert_eq!(status, 200, "{holders}");
    let holders = holders.as_array().expect("an array").clone();
    assert_eq!(holders.len(), 2, "only Acme's allocations: {holders:?}");
    let table_id = table["id"].clone();
    let view = |h: &Value| {
        json!([
            h["organizationId"],
            h["capTableId"],
            h["email"],
            h["outstandingShares"],
            h["fullyDilutedShares"],
            h["isEntity"]
        ])
    };
    assert_eq!(
        view(&holders[0]),
        json!([acme, table_id, "founder@acme.pk", 600, 600, null])
    );
    assert_eq!(holders[0]["firstName"], "Ali");
    assert_eq!(
        view(&holders[1]),
        json!([acme, table_id, "fund@example.com", 250, 250, true])
    );
    assert_eq!(holders[1]["businessName"], "Fund LP");
    for h in &holders {
        let id = h["id"].as_str().expect("an id");
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    }
    // The same allocations read twice are the same records.
    let (_, again) = zone.get(&list(&acme)).await;
    assert_eq!(again, json!(holders));
    // The allocations were written, and audited, with the cap table.
    assert_eq!(
        events_of(&zone, "cap_table.created").await.first(),
        table_id.as_str().map(str::to_string).as_ref()
    );
    zone.stop().await;
}

mez_tests::on_sqlite_and_postgres!(
    members_are_written_listed_by_organization_and_audited,
    directors_are_written_listed_on_the_board_and_audited,
    shareholders_are_the_allocations_of_the_organizations_cap_tables,
);
