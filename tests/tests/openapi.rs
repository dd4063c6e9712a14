// SPDX-License-Identifier: BUSL-1.1
//! The zone serves its OpenAPI document without a token, and the document describes every
//! route the zone serves, with the spec's request rules.

use mez_tests::{Auth, TestDb, TestZone};
use reqwest::Method;
use serde_json::Value;

#[tokio::test]
async fn the_openapi_document_is_public_and_lists_every_route() {
    let db = TestDb::sqlite();
    let zone = TestZone::start(&db, true).await;
    let answer = zone
        .raw(Method::GET, "/openapi.json")
        .auth(Auth::None)
        .send()
        .await;
    assert_eq!(answer.status, 200);
    let doc: Value = serde_json::from_slice(&answer.body).expect("JSON");
    assert_eq!(doc["openapi"], "3.1.0");
    let routes = mez_api::surface::ROUTES
        .iter()
        .map(|r| (r.method, r.path))
        .chain(
            mez_api::surface::V1_ROUTES
                .iter()
                .map(|r| (r.method, r.path)),
        );
    for (method, path) in routes {
        let op = &doc["paths"][path][method.to_ascii_lowercase()];
        assert!(
            op.is_object(),
            "{method} {path} is missing from the document"
        );
    }
    // The request rules come from the spec: the entity request's legal name is 1..=1000 long.
    let legal_name =
        &doc["components"]["schemas"]["CreateEntityRequest"]["properties"]["legal_name"];
    assert_eq!(legal_name["minLength"], 1);
    assert_eq!(legal_name["maxLength"], 1000);
    zone.stop().await;
    db.cleanup().await;
}
