// A valid spec expands to a test module that calls the named harness.
mod harness {
    macro_rules! checks {
        ($($name:ident),*) => {$(
            pub async fn $name(_method: &str, _path: &str, _field: Option<&str>) {}
        )*};
    }
    checks!(
        answers_as_declared, rejects_malformed_json, rejects_non_object_body,
        rejects_unknown_field, rejects_missing_required, rejects_wrong_type, rejects_overlong,
        rejects_bad_enum, rejects_bad_format, round_trips
    );
}

// trybuild compiles this file in target/tests/trybuild/mez-macros, so the spec path climbs
// back to the workspace.
mez_macros::surface_tests!("../../../../mez-macros/tests/ui/widgets", harness);

fn main() {
    assert_eq!(SPEC_ROUTE_COUNT, 9);
}
