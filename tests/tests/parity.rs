// SPDX-License-Identifier: BUSL-1.1
//! The spec-derived parity suite: nothing here is written per route.
//!
//! `parity_tests!` reads spec/ at compile time and expands to one test per `/v1` route (a
//! sovereign zone and a proxy zone, whose upstream is a live sovereign zone on a loopback
//! port, answer the route's example in the same shape) and one per direct route (the answer
//! survives a round trip through the typed client's type for it). Adding a primitive to the
//! spec adds its parity tests.

mez_macros::parity_tests!("../spec", mez_tests::parity);

#[test]
fn the_parity_suite_covers_every_route_the_spec_declares() {
    assert_eq!(mez_api::surface::V1_ROUTES.len(), SPEC_V1_ROUTE_COUNT);
    assert_eq!(mez_api::surface::ROUTES.len(), SPEC_DIRECT_ROUTE_COUNT);
}
