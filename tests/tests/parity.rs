// SPDX-License-Identifier: BUSL-1.1
//! The spec-derived parity suite: nothing here is written per route.
//!
//! `parity_tests!` reads spec/ at compile time and expands to one test per `/v1` route (a
//! sovereign zone and a proxy zone, whose upstream is a live sovereign zone on a loopback
//! port, answer the route's example in the same shape) and one per direct route (the answer
//! survives a round trip through the typed client's type for it). Adding a primitive to the
//! spec adds its parity tests.

mez_macros::parity_tests!("../spec", mez_tests::parity);

/// The parity suite has a test for every route of the reference's tables (data in
/// `mez_tests::reference`, not the spec) and of the zone's declared additions, and the product
/// serves exactly those.
#[test]
fn the_parity_suite_covers_the_mass_route_tables() {
    use mez_tests::reference::*;
    let v1: Vec<(&str, &str)> = mez_api::surface::V1_ROUTES
        .iter()
        .map(|r| (r.method, r.path))
        .collect();
    let differences = compare(&v1, &MASS_V1_ROUTES, &ZONE_V1_ADDITIONS);
    assert!(differences.is_empty(), "{differences:#?}");
    assert_eq!(
        SPEC_V1_ROUTE_COUNT,
        MASS_V1_ROUTES.len() + ZONE_V1_ADDITIONS.len()
    );
    let direct: Vec<(&str, &str)> = mez_api::surface::ROUTES
        .iter()
        .filter(|r| in_mass_services(r.path))
        .map(|r| (r.method, r.path))
        .collect();
    let differences = compare(&direct, &MASS_DIRECT_ROUTES, &ZONE_DIRECT_ADDITIONS);
    assert!(differences.is_empty(), "{differences:#?}");
    assert_eq!(
        direct.len(),
        MASS_DIRECT_ROUTES.len() + ZONE_DIRECT_ADDITIONS.len()
    );
    assert_eq!(SPEC_DIRECT_ROUTE_COUNT, mez_api::surface::ROUTES.len());
}
