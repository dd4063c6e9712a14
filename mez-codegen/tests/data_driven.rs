// SPDX-License-Identifier: BUSL-1.1
//! Data-driven tests of the spec front end and the Rust back end.
//!
//! Each directory under `test_data/ok/` is a spec whose generated surface must equal its
//! `expected.rs` (and its OpenAPI document `expected.openapi.json`); each directory under `test_data/err/` is a broken spec whose diagnostics must
//! equal its `expected.txt`. Run with `MEZ_BLESS=1` to rewrite the expectations after a
//! deliberate change, then review the diff.

use std::path::{Path, PathBuf};

fn cases(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("test_data")
        .join(kind);
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("test_data directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    out.sort();
    out
}

/// Compares `actual` with the expectation file, or rewrites it under `MEZ_BLESS=1`.
fn expect(file: &Path, actual: &str) -> Result<(), String> {
    if std::env::var_os("MEZ_BLESS").is_some() {
        std::fs::write(file, actual).expect("write expectation");
        return Ok(());
    }
    let expected = std::fs::read_to_string(file).unwrap_or_default();
    if expected == actual {
        Ok(())
    } else {
        Err(format!(
            "{} differs:\n{}",
            file.display(),
            mez_codegen::unified_diff(&expected, actual, "expected", "actual")
        ))
    }
}

#[test]
fn broken_specs_report_their_diagnostics() {
    let mut failures = Vec::new();
    let cases = cases("err");
    assert!(
        cases.len() >= 12,
        "at least 12 error cases, found {}",
        cases.len()
    );
    for case in cases {
        match mez_codegen::load_dir(&case, "spec") {
            Ok(_) => failures.push(format!("{}: the spec was accepted", case.display())),
            Err(diags) => {
                if let Err(e) = expect(&case.join("expected.txt"), &diags.to_string()) {
                    failures.push(e);
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn valid_specs_generate_their_expected_surface() {
    let mut failures = Vec::new();
    for case in cases("ok") {
        let spec = mez_codegen::load_dir(&case, "spec")
            .unwrap_or_else(|d| panic!("{} was refused:\n{d}", case.display()));
        let first = mez_codegen::generate_surface(&spec).expect("generate");
        let second = mez_codegen::generate_surface(&spec).expect("generate again");
        assert_eq!(first, second, "generation is not deterministic");
        if let Err(e) = expect(&case.join("expected.rs"), &first) {
            failures.push(e);
        }
        let openapi = mez_codegen::openapi::document(&spec);
        assert_eq!(
            openapi,
            mez_codegen::openapi::document(&spec),
            "OpenAPI is not deterministic"
        );
        if let Err(e) = expect(&case.join("expected.openapi.json"), &openapi) {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The 39 method+path pairs of the Mass surface (reference section 1.3).
const MASS_ROUTES: [&str; 39] = [
    "GET /health",
    "POST /organization-info/api/v1/organization/create",
    "POST /organization-info/api/v1/organization/search",
    "GET /organization-info/api/v1/organization/supported-jurisdictions",
    "GET /organization-info/api/v1/organization/{id}",
    "PUT /organization-info/api/v1/organization/{id}",
    "DELETE /organization-info/api/v1/organization/{id}",
    "GET /organization-info/api/v1/organization",
    "GET /organization-info/api/v1/membership/{organizationId}/members",
    "GET /organization-info/api/v1/board/{organizationId}",
    "POST /organization-info/api/v1/identity/cnic/verify",
    "POST /organization-info/api/v1/identity/ntn/verify",
    "POST /treasury-info/api/v1/treasury/create",
    "GET /treasury-info/api/v1/treasury/{id}",
    "POST /treasury-info/api/v1/account/create",
    "GET /treasury-info/api/v1/account/{id}",
    "POST /treasury-info/api/v1/transaction/create/payment",
    "GET /treasury-info/api/v1/transaction/{id}",
    "POST /treasury-info/api/v1/tax-events",
    "GET /treasury-info/api/v1/tax-events",
    "POST /treasury-info/api/v1/withholding/compute",
    "POST /consent-info/api/v1/consents",
    "POST /consent-info/api/v1/consents/approve/{id}",
    "POST /consent-info/api/v1/consents/reject/{id}",
    "GET /consent-info/api/v1/consents/organization/{organizationId}",
    "GET /consent-info/api/v1/consents/{id}",
    "DELETE /consent-info/api/v1/consents/{id}",
    "POST /consent-info/api/v1/capTables",
    "GET /consent-info/api/v1/capTables/organization/{organizationId}",
    "GET /consent-info/api/v1/capTables/{id}",
    "GET /consent-info/api/v1/shareClasses/organization/{organizationId}",
    "GET /consent-info/api/v1/shareholders/organization/{organizationId}",
    "GET /consent-info/api/v1/identities",
    "POST /investment-info/api/v1/investment",
    "GET /investment-info/api/v1/investment/{id}",
    "POST /templating-engine/api/v1/template/sign",
    "GET /templating-engine/api/v1/template/available",
    "GET /templating-engine/api/v1/template/{id}",
    "GET /templating-engine/api/v1/submission/{id}",
];

#[test]
fn the_real_spec_declares_every_mass_route() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec");
    let spec = mez_codegen::load_dir(&dir, "spec").unwrap_or_else(|d| panic!("{d}"));
    let declared: Vec<String> = spec
        .routes()
        .map(|(s, r)| format!("{} {}{}", r.method.as_str(), s.context_path, r.path))
        .collect();
    let missing: Vec<&str> = MASS_ROUTES
        .iter()
        .copied()
        .filter(|r| !declared.iter().any(|d| d == r))
        .collect();
    assert!(missing.is_empty(), "the spec lacks: {missing:?}");
}
