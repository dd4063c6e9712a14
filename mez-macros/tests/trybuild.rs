// SPDX-License-Identifier: BUSL-1.1
//! Compile-pass and compile-fail cases of the proc macros.

#[test]
fn surface_tests_macro() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass_*.rs");
    cases.compile_fail("tests/ui/fail_*.rs");
}
