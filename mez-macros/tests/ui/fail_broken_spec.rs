// A broken spec fails the build with the spec's own file:line:col diagnostics.
mod harness {}

mez_macros::surface_tests!("../../../../mez-macros/tests/ui/broken", harness);

fn main() {}
