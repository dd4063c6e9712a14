// SPDX-License-Identifier: BUSL-1.1
//! The spec-derived suite: one test per route and per rule of its request model.
//!
//! Nothing here is written per route. `surface_tests!` reads spec/ at compile time and expands
//! to a test for every check the spec implies: for every write, direct or `/v1`, first that
//! its base request is accepted and stored, then one rejection per rule of every field
//! (missing, mistyped, too long, too short, bad enum, bad format, below minimum, above
//! maximum, too few or too many items, a duplicate of a unique value, a server-set field sent),
//! each with nothing written; for every plain create a round trip through exactly the
//! operations the spec declares for its model (named in the test); every route mounted. The
//! route count is checked against the reference's route table, written down as data. Adding a
//! primitive to the spec adds its tests.

mez_macros::surface_tests!("../spec", mez_tests::surface_checks);

/// The direct routes the product serves are the reference's Mass table (written down as data
/// in `mez_tests::reference`, not taken from the spec) plus the zone's declared additions, each
/// once; and the generated suite has a test for each of them.
#[test]
fn the_product_serves_the_mass_route_table_and_its_declared_additions() {
    let served: Vec<(&str, &str)> = mez_api::surface::ROUTES
        .iter()
        .filter(|r| mez_tests::reference::in_mass_services(r.path))
        .map(|r| (r.method, r.path))
        .collect();
    let differences = mez_tests::reference::compare(
        &served,
        &mez_tests::reference::MASS_DIRECT_ROUTES,
        &mez_tests::reference::ZONE_DIRECT_ADDITIONS,
    );
    assert!(differences.is_empty(), "{differences:#?}");
    assert_eq!(
        served.len(),
        mez_tests::reference::MASS_DIRECT_ROUTES.len()
            + mez_tests::reference::ZONE_DIRECT_ADDITIONS.len()
    );
    // The suite was generated from the same spec the product was: one test set per route.
    assert_eq!(SPEC_ROUTE_COUNT, mez_api::surface::ROUTES.len());
}

/// Whether `round_trips` passes for `ops`, run on a thread of its own so that its failure
/// (a panic, as every assertion) is observed rather than failing this test.
fn round_trip_passes(ops: &'static str) -> bool {
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(mez_tests::surface_checks::round_trips(
            "POST",
            "/organization-info/api/v1/organization/create",
            Some(ops),
        ));
    })
    .join()
    .is_ok()
}

/// The round trip fails when it is asked for a step the product cannot run (here a transition
/// that organizations do not have) or leaves out one the product serves, instead of skipping
/// it as it once did.
#[test]
fn a_round_trip_with_a_step_the_product_lacks_fails() {
    assert!(round_trip_passes("create,get,list,search,update,delete"));
    assert!(!round_trip_passes(
        "create,get,list,search,update,transition,delete"
    ));
    assert!(!round_trip_passes("create,get,list,update,delete"));
}
