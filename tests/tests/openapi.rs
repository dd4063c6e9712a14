// SPDX-License-Identifier: BUSL-1.1
//! The zone serves its OpenAPI document without a token, and the document describes exactly
//! what the zone serves: every route of its mode (a proxy zone's document has no direct
//! surface), required bodies, every status without a catch-all, a schema on every answer with
//! a body, integer paging parameters, decimal bounds as patterns, and the zone's own routes.
//! `/docs` renders it from embedded assets, also without a token.

use mez_tests::proxy::start_proxy;
use mez_tests::{Auth, TestDb, TestZone};
use reqwest::Method;
use serde_json::Value;

async fn document(zone: &TestZone) -> Value {
    let answer = zone
        .raw(Method::GET, "/openapi.json")
        .auth(Auth::None)
        .send()
        .await;
    assert_eq!(answer.status, 200);
    serde_json::from_slice(&answer.body).expect("JSON")
}

fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            out.push((method.to_ascii_uppercase(), path.clone(), op.clone()));
        }
    }
    out
}

async fn sovereign_document_describes_the_zone(db: TestDb) {
    let zone = TestZone::start(&db, true).await;
    let doc = document(&zone).await;
    assert_eq!(doc["openapi"], "3.1.0");
    let routes = mez_api::surface::ROUTES
        .iter()
        .map(|r| (r.method, r.path))
        .chain(
            mez_api::surface::V1_ROUTES
                .iter()
                .map(|r| (r.method, r.path)),
        )
        .chain([
            ("POST", "/v1/credentials/verify"),
            ("GET", "/v1/credentials/status/{list}"),
            ("POST", "/v1/credentials/{id}/status"),
            ("GET", "/v1/attestations"),
            ("GET", "/v1/attestations/{id}"),
            ("GET", "/v1/audit/events"),
            ("GET", "/v1/audit/verify"),
            ("GET", "/v1/entities/{id}/compliance"),
            ("GET", "/health/liveness"),
            ("GET", "/health/readiness"),
            ("GET", "/openapi.json"),
            ("GET", "/metrics"),
            ("GET", "/v1/policies"),
            ("POST", "/v1/triggers"),
            ("GET", "/v1/actions"),
            ("GET", "/v1/actions/{id}"),
            ("POST", "/v1/actions/{id}/approve"),
            ("POST", "/v1/sanctions/reload"),
            ("GET", "/v1/keys"),
            ("POST", "/v1/keys"),
            ("DELETE", "/v1/keys/{id}"),
        ]);
    let mut expected = 0;
    for (method, path) in routes {
        expected += 1;
        let op = &doc["paths"][path][method.to_ascii_lowercase()];
        assert!(
            op.is_object(),
            "{method} {path} is missing from the document"
        );
    }
    let ops = operations(&doc);
    assert_eq!(
        ops.len(),
        expected,
        "the document has operations the zone does not serve"
    );
    for (method, path, op) in &ops {
        let responses = op["responses"].as_object().expect("responses");
        assert!(
            !responses.contains_key("default"),
            "{method} {path}: a catch-all default"
        );
        for (status, answer) in responses {
            let code: u16 = status.parse().expect("a numeric status");
            if code >= 400 {
                assert_eq!(
                    answer["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/Error",
                    "{method} {path} {status}"
                );
            }
        }
        if let Some(body) = op.get("requestBody") {
            assert_eq!(body["required"], true, "{method} {path}: body not required");
        }
        for p in op["parameters"].as_array().expect("parameters") {
            if p["name"] == "page" || p["name"] == "size" {
                assert_eq!(
                    p["schema"]["type"], "integer",
                    "{method} {path} {}",
                    p["name"]
                );
            }
        }
    }
    // Every success of a route that answers a body has a schema, and /v1 writes type their
    // Mass answer.
    let create = &doc["paths"]["/v1/entities"]["post"];
    assert_eq!(
        create["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/CreateEntityRequest"
    );
    let envelope = &create["responses"]["201"]["content"]["application/json"]["schema"];
    assert_eq!(
        envelope["allOf"][1]["properties"]["mass_response"]["$ref"],
        "#/components/schemas/Organization"
    );
    // The request rules come from the spec: the legal name is trimmed, then 1..=1000 long;
    // unknown keys are refused.
    let entity = &doc["components"]["schemas"]["CreateEntityRequest"];
    assert_eq!(entity["additionalProperties"], false);
    let pattern = entity["properties"]["legal_name"]["pattern"]
        .as_str()
        .expect("a pattern");
    assert!(pattern.contains("{0,998}"), "{pattern}");
    // Decimal bounds a validator enforces: an ownership percentage is 0..=100.
    let pct =
        &doc["components"]["schemas"]["BeneficialOwner"]["properties"]["ownership_percentage"];
    assert_eq!(pct["allOf"].as_array().map(Vec::len), Some(2), "{pct}");
    // A partial update: nothing required, at least one field.
    let update = &doc["components"]["schemas"]["OrganizationUpdate"];
    assert_eq!(update["required"], serde_json::json!([]));
    assert!(update["anyOf"].as_array().is_some_and(|a| !a.is_empty()));
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    // `/metrics` answers what the document says: Prometheus text, not JSON.
    let metrics = &doc["paths"]["/metrics"]["get"];
    assert!(metrics["responses"]["200"]["content"]["text/plain"].is_object());
    let answer = zone.raw(Method::GET, "/metrics").send().await;
    assert_eq!(answer.status, 200);
    assert!(
        answer
            .content_type
            .as_deref()
            .is_some_and(|t| t.starts_with("text/plain")),
        "{:?}",
        answer.content_type
    );
    // An operation whose request must meet a rule its schema cannot state says so, and the
    // rule holds: a schema-valid request naming no treasury is a 422 naming the field.
    let account = &doc["paths"]["/treasury-info/api/v1/account/create"]["post"];
    assert_eq!(account["x-mez-schema-complete"], false);
    assert!(
        account["x-mez-hook-rules"][0]
            .as_str()
            .is_some_and(|r| r.starts_with("treasuryId")),
        "{account}"
    );
    let (status, body) = zone
        .request(
            Method::POST,
            "/treasury-info/api/v1/account/create?treasuryId=6f1c2a34-5b6d-4e7f-8a9b-0c1d2e3f4a5b&idempotencyKey=openapi-1&name=Payroll&currency=PKR",
            None,
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["details"][0]["field"], "treasuryId", "{body}");
    // A `/v1` write naming an organization is marked the same way, from the spec's
    // screened entities.
    let rules = &doc["paths"]["/v1/fiscal/accounts"]["post"]["x-mez-hook-rules"];
    assert!(
        rules.as_array().is_some_and(|r| r
            .iter()
            .any(|r| r.as_str().is_some_and(|r| r.starts_with("entity_id")))),
        "{rules}"
    );
    // A write the schema states fully carries no mark.
    assert!(
        doc["paths"]["/v1/entities"]["post"]
            .get("x-mez-schema-complete")
            .is_none()
    );
    // A consent's DELETE cancels it: its GET says the record stays, and it does.
    let consent = &doc["paths"]["/consent-info/api/v1/consents/{id}"];
    assert_eq!(consent["get"]["x-mez-kept-after-delete"], true);
    assert!(
        doc["paths"]["/organization-info/api/v1/organization/{id}"]["get"]
            .get("x-mez-kept-after-delete")
            .is_none()
    );
    zone.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn the_sovereign_document_describes_the_zone_on_sqlite() {
    sovereign_document_describes_the_zone(TestDb::sqlite()).await;
}

#[tokio::test]
async fn the_sovereign_document_describes_the_zone_on_postgres() {
    if let Some(db) = TestDb::postgres("openapi_sovereign").await {
        sovereign_document_describes_the_zone(db).await;
    }
}

async fn proxy_document_lists_only_what_it_mounts(upstream_db: TestDb, db: TestDb) {
    let upstream = TestZone::start(&upstream_db, true).await;
    let proxy = start_proxy(&db, &upstream).await;
    let doc = document(&proxy).await;
    let ops = operations(&doc);
    assert!(!ops.is_empty());
    for (method, path, op) in &ops {
        assert_ne!(op["x-mez-surface"], "direct", "{method} {path}");
        // Each operation the proxy's document lists is mounted: not a 404 for no route.
        let concrete = path.replace("{id}", "00000000-0000-0000-0000-000000000000");
        let method = Method::from_bytes(method.as_bytes()).expect("method");
        let answer = proxy.raw(method.clone(), &concrete).send().await;
        let body: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
        assert!(
            !(answer.status == 404
                && body["error"]["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("no route"))),
            "{method} {path} is listed but not mounted"
        );
    }
    for route in &mez_api::surface::ROUTES {
        assert!(
            doc["paths"][route.path].is_null(),
            "{} is not mounted by a proxy zone",
            route.path
        );
    }
    assert!(doc["paths"]["/v1/entities"]["post"].is_object());
    proxy.stop().await;
    upstream.stop().await;
    db.cleanup().await;
    upstream_db.cleanup().await;
}

#[tokio::test]
async fn a_proxy_zone_documents_only_the_routes_it_mounts_on_sqlite() {
    proxy_document_lists_only_what_it_mounts(TestDb::sqlite(), TestDb::sqlite()).await;
}

#[tokio::test]
async fn a_proxy_zone_documents_only_the_routes_it_mounts_on_postgres() {
    let Some(up) = TestDb::postgres("openapi_proxy_up").await else {
        return;
    };
    let Some(db) = TestDb::postgres("openapi_proxy").await else {
        up.cleanup().await;
        return;
    };
    proxy_document_lists_only_what_it_mounts(up, db).await;
}

#[tokio::test]
async fn the_docs_page_and_its_assets_are_served_without_a_token() {
    let db = TestDb::sqlite();
    let zone = TestZone::start(&db, true).await;
    let page = zone.raw(Method::GET, "/docs").auth(Auth::None).send().await;
    assert_eq!(page.status, 200);
    let html = String::from_utf8_lossy(&page.body);
    assert!(html.contains("/docs/redoc.standalone.js") && html.contains("/openapi.json"));
    let js = zone
        .raw(Method::GET, "/docs/redoc.standalone.js")
        .auth(Auth::None)
        .send()
        .await;
    assert_eq!(js.status, 200);
    assert!(js.body.len() > 100_000);
    let licence = zone
        .raw(Method::GET, "/docs/LICENSE")
        .auth(Auth::None)
        .send()
        .await;
    assert_eq!(licence.status, 200);
    assert!(String::from_utf8_lossy(&licence.body).contains("MIT License"));
    zone.stop().await;
    db.cleanup().await;
}
