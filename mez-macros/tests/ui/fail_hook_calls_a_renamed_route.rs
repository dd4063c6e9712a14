// A mass hook that still calls a route the spec renamed fails the build, and the error names
// the spec position of the stale call.
mod harness {}

mez_macros::surface_tests!("../../../../mez-macros/tests/ui/renamed_route", harness);

fn main() {}
