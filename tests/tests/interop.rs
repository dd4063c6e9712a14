// SPDX-License-Identifier: BUSL-1.1
//! Every `/v1` write's credential verifies with the W3C reference verifier.
//!
//! `tests/interop/verify.mjs` runs Digital Bazaar's `@digitalbazaar/vc` with the
//! `eddsa-jcs-2022` cryptosuite (the implementation the W3C interoperability reports use,
//! pinned in `tests/interop/package-lock.json`) over a file of credentials, and checks each
//! under JSON-LD safe mode too, which refuses any term no context defines. This test starts a
//! zone, performs every `/v1` write kind once, hands the nine credentials to the script and
//! requires each to verify; and it hands over tampered copies, which must not, so the test
//! can fail.
//!
//! The libraries come from `npm ci` in `tests/interop`. Without `node_modules` the test says
//! `SKIPPED` and passes, unless `MEZ_REQUIRE_INTEROP=1` (set by `.ci/run`, which installs
//! them), in which case it fails.

use std::path::{Path, PathBuf};
use std::process::Command;

use mez_tests::TestDb;
use mez_tests::TestZone;
use mez_tests::v1_writes::{WRITE_KINDS, create_entity, every_write, send};
use serde_json::{Value, json};

const REQUIRE_VAR: &str = "MEZ_REQUIRE_INTEROP";

fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("interop")
}

/// Whether the reference libraries are installed; if not, skips loudly or fails as required.
fn reference_verifier_ready(test: &str) -> bool {
    let installed = interop_dir()
        .join("node_modules/@digitalbazaar/vc/package.json")
        .is_file();
    let node = Command::new("node").arg("--version").output();
    let node_runs = node.as_ref().is_ok_and(|out| out.status.success());
    if installed && node_runs {
        return true;
    }
    let why = if node_runs {
        "tests/interop/node_modules is missing (run `npm ci` in tests/interop)"
    } else {
        "node is not installed"
    };
    if std::env::var(REQUIRE_VAR).as_deref() == Ok("1") {
        panic!("{test}: {REQUIRE_VAR}=1 but {why}");
    }
    eprintln!("SKIPPED {test}: {why}; set {REQUIRE_VAR}=1 to make this an error");
    false
}

/// Runs the reference verifier over `credentials` and returns its answer for each, in order.
fn reference_verify(credentials: &[Value]) -> Vec<Value> {
    let file = std::env::temp_dir().join(format!("mez-interop-{}.json", uuid::Uuid::new_v4()));
    let text = serde_json::to_string(credentials).expect("credentials serialise");
    std::fs::write(&file, text).expect("write the credentials file");
    let output = Command::new("node")
        .arg("verify.mjs")
        .arg(&file)
        .current_dir(interop_dir())
        .output()
        .expect("run node");
    let _ = std::fs::remove_file(&file);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "verify.mjs failed: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answers: Vec<Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON answer per line"))
        .collect();
    assert_eq!(
        answers.len(),
        credentials.len(),
        "one answer each: {stdout}"
    );
    answers
}

async fn every_v1_credential_verifies_with_the_reference_verifier(db: &TestDb) {
    if !reference_verifier_ready("every_v1_credential_verifies_with_the_reference_verifier") {
        return;
    }
    let zone = TestZone::sovereign(db).await;
    let issued = every_write(&zone).await;
    assert_eq!(issued.len(), WRITE_KINDS);
    let credentials: Vec<Value> = issued.iter().map(|(_, e)| e.credential.clone()).collect();

    // Tampered copies: a claim changed; the proof's @context dropped (the form the zone
    // issued before, which the reference verifier refused); a term no context defines.
    let mut changed_claim = credentials[0].clone();
    changed_claim["credentialSubject"]["compliance"]["overall_status"] = json!("compliant");
    changed_claim["credentialSubject"]["resource_id"] = json!("another-resource");
    let mut no_proof_context = credentials[1].clone();
    if let Some(proof) = no_proof_context["proof"].as_object_mut() {
        proof.remove("@context");
    }
    let mut undefined_term = credentials[2].clone();
    let contexts = json!(["https://www.w3.org/ns/credentials/v2"]);
    undefined_term["@context"] = contexts.clone();
    undefined_term["proof"]["@context"] = contexts;

    let mut all = credentials.clone();
    all.extend([changed_claim, no_proof_context, undefined_term]);
    let answers = reference_verify(&all);

    for ((name, _), answer) in issued.iter().zip(&answers) {
        assert_eq!(
            answer["status"],
            json!({"revocation": false, "suspension": false}),
            "the {name} credential's status, read from the zone's lists: {answer}"
        );
        assert_eq!(
            (&answer["verified"], &answer["safe_mode"]),
            (&json!(true), &json!(true)),
            "the {name} credential verifies with the reference verifier, under JSON-LD safe \
             mode: {answer}"
        );
    }
    let tampered = &answers[WRITE_KINDS..];
    let signature_refused = |answer: &Value| {
        answer["verified"] == false
            && answer["errors"]
                .as_array()
                .is_some_and(|errors| errors.iter().any(|e| e == "Invalid signature."))
    };
    assert!(
        signature_refused(&tampered[0]),
        "changed claim: {}",
        tampered[0]
    );
    assert!(
        signature_refused(&tampered[1]),
        "proof without @context: {}",
        tampered[1]
    );
    // Without the undefined-terms context the zone's own terms are undefined: safe mode says
    // so (and the signature no longer matches either, since the context was signed).
    assert_eq!(tampered[2]["verified"], false, "{}", tampered[2]);
    assert_eq!(tampered[2]["safe_mode"], false, "{}", tampered[2]);
    assert!(
        tampered[2]["errors"]
            .to_string()
            .contains("invalid property"),
        "{}",
        tampered[2]
    );
    zone.stop().await;
}

/// The reference status checker (`@digitalbazaar/vc-bitstring-status-list`) reads the zone's
/// status lists, fetched over HTTP from the running zone: a revoked credential is revoked
/// there too, a suspended one suspended, a fresh one neither.
async fn credential_status_reads_the_same_with_the_reference_checker(db: &TestDb) {
    if !reference_verifier_ready("credential_status_reads_the_same_with_the_reference_checker") {
        return;
    }
    let zone = TestZone::sovereign(db).await;
    let mut credentials = Vec::new();
    for name in ["Revoked Ltd", "Suspended Ltd", "Fresh Ltd"] {
        let (_, envelope) = send(&zone, create_entity(name)).await;
        credentials.push(envelope.credential);
    }
    for (credential, change) in credentials
        .iter()
        .zip([json!({"revoked": true}), json!({"suspended": true})])
    {
        let id = credential["id"].as_str().unwrap_or_default();
        let (status, answer) = zone
            .post(&format!("/v1/credentials/{id}/status"), change)
            .await;
        assert_eq!(status, 200, "{answer}");
    }
    let answers = reference_verify(&credentials);
    let expected = [
        json!({"revocation": true, "suspension": false}),
        json!({"revocation": false, "suspension": true}),
        json!({"revocation": false, "suspension": false}),
    ];
    for (answer, expected) in answers.iter().zip(expected) {
        assert_eq!(answer["verified"], true, "{answer}");
        assert_eq!(answer["status"], expected, "{answer}");
    }
    zone.stop().await;
}

mez_tests::on_sqlite_and_postgres!(
    every_v1_credential_verifies_with_the_reference_verifier,
    credential_status_reads_the_same_with_the_reference_checker,
);
