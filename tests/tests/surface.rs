// SPDX-License-Identifier: BUSL-1.1
//! The spec-derived suite: one test per route and per rule of its request model.
//!
//! Nothing here is written per route. `surface_tests!` reads spec/ at compile time and expands
//! to a test for every check the spec implies (malformed JSON, unknown, missing, mistyped,
//! over-long, bad-enum and badly formatted fields of every write, direct or `/v1`, with
//! nothing written; a create-read-list-update-delete round trip for every plain create; every
//! route mounted). Adding a primitive to the spec adds its tests.

mez_macros::surface_tests!("../spec", mez_tests::surface_checks);

#[test]
fn the_product_serves_every_route_the_spec_declares() {
    assert_eq!(mez_api::surface::ROUTES.len(), SPEC_ROUTE_COUNT);
    let mut seen = std::collections::BTreeSet::new();
    for r in &mez_api::surface::ROUTES {
        assert!(
            seen.insert((r.method, r.path)),
            "{} {} twice",
            r.method,
            r.path
        );
    }
}
