// SPDX-License-Identifier: BUSL-1.1
//! The spec-derived suite: one test per route and per rule of its request model.
//!
//! Nothing here is written per route. `surface_tests!` reads spec/ at compile time and expands
//! to a test for every check the spec implies (malformed JSON, unknown, missing, mistyped,
//! over-long, bad-enum and badly formatted fields of every write, direct or `/v1`, with
//! nothing written; a create-read-list-update-delete round trip for every plain create; every
//! route mounted). Adding a primitive to the spec adds its tests.

mez_macros::surface_tests!("../spec", mez_tests::surface_checks);

/// The direct routes the product serves are the reference's Mass table (written down as data
/// in `mez_tests::reference`, not taken from the spec) plus the zone's declared additions, each
/// once; and the generated suite has a test for each of them.
#[test]
fn the_product_serves_the_mass_route_table_and_its_declared_additions() {
    let served: Vec<(&str, &str)> = mez_api::surface::ROUTES
        .iter()
        .map(|r| (r.method, r.path))
        .collect();
    let differences = mez_tests::reference::compare(
        &served,
        &mez_tests::reference::MASS_DIRECT_ROUTES,
        &mez_tests::reference::ZONE_DIRECT_ADDITIONS,
    );
    assert!(differences.is_empty(), "{differences:#?}");
    assert_eq!(
        SPEC_ROUTE_COUNT,
        mez_tests::reference::MASS_DIRECT_ROUTES.len()
            + mez_tests::reference::ZONE_DIRECT_ADDITIONS.len()
    );
}
