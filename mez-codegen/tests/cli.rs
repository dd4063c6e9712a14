// SPDX-License-Identifier: BUSL-1.1
//! The `mez-codegen` command as CI runs it: `check` passes on the committed golden copy and
//! fails, with a unified diff and the command that fixes it, after a spec edit that was not
//! regenerated; `generate` twice writes the same bytes.

use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_path_buf()
}

/// A private copy of spec/ and of the golden copy, so the test never touches the real ones.
fn scratch(test: &str) -> (PathBuf, PathBuf, PathBuf) {
    // The OpenAPI document is written beside the surface, in the scratch directory too.
    let dir = std::env::temp_dir().join(format!("mez-codegen-cli-{}-{test}", std::process::id()));
    let spec = dir.join("spec");
    std::fs::create_dir_all(&spec).expect("scratch dir");
    for file in mez_codegen::spec_files(&workspace().join("spec")).expect("spec files") {
        let name = file.file_name().expect("name").to_owned();
        std::fs::copy(&file, spec.join(name)).expect("copy spec");
    }
    let golden = dir.join("surface.rs");
    std::fs::copy(workspace().join("mez-api/generated/surface.rs"), &golden).expect("copy golden");
    std::fs::copy(
        workspace().join("mez-api/generated/openapi.json"),
        dir.join("openapi.json"),
    )
    .expect("copy the OpenAPI golden copy");
    (dir, spec, golden)
}

fn codegen(args: &[&str], spec: &Path, out: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_mez-codegen"))
        .args(args)
        .arg("--spec")
        .arg(spec)
        .arg("--out")
        .arg(out)
        .arg("--openapi")
        .arg(out.with_file_name("openapi.json"))
        .output()
        .expect("run mez-codegen")
}

#[test]
fn check_fails_with_a_diff_after_an_unregenerated_spec_edit_and_generate_is_stable() {
    let (dir, spec, golden) = scratch("stale");

    let ok = codegen(&["check"], &spec, &golden);
    assert!(
        ok.status.success(),
        "check fails on the committed copy: {ok:?}"
    );

    // Edit the spec without regenerating: a new optional field on organizations.
    let file = spec.join("organization-info.yaml");
    let text = std::fs::read_to_string(&file).expect("read spec");
    let edited = text.replacen(
        "      address: { type: json }\n",
        "      address: { type: json }\n      website: { type: string, max_len: 200 }\n",
        1,
    );
    assert_ne!(edited, text, "the edit applies");
    std::fs::write(&file, edited).expect("write spec");

    let stale = codegen(&["check"], &spec, &golden);
    assert!(!stale.status.success(), "check passed on a stale copy");
    let diff = String::from_utf8_lossy(&stale.stdout);
    assert!(
        diff.contains("--- committed") && diff.contains("+++ generated"),
        "{diff}"
    );
    assert!(
        diff.contains("+                name: \"website\","),
        "{diff}"
    );
    let advice = String::from_utf8_lossy(&stale.stderr);
    assert!(
        advice.contains("cargo run -p mez-codegen -- generate"),
        "{advice}"
    );

    let first = codegen(&["generate"], &spec, &golden);
    assert!(first.status.success(), "{first:?}");
    let once = std::fs::read(&golden).expect("generated");
    let second = codegen(&["generate"], &spec, &golden);
    assert!(second.status.success(), "{second:?}");
    assert_eq!(
        once,
        std::fs::read(&golden).expect("generated again"),
        "generate is not stable"
    );
    assert!(codegen(&["check"], &spec, &golden).status.success());

    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_broken_spec_is_reported_with_positions_and_nothing_is_generated() {
    let (dir, spec, golden) = scratch("broken");
    let before = std::fs::read(&golden).expect("golden");
    let file = spec.join("consent-info.yaml");
    let text = std::fs::read_to_string(&file).expect("read spec");
    std::fs::write(
        &file,
        text.replacen("default: PENDING", "default: PENDINGG", 1),
    )
    .expect("write");
    let out = codegen(&["generate"], &spec, &golden);
    assert!(!out.status.success());
    let errors = String::from_utf8_lossy(&out.stderr);
    assert!(
        errors.contains("spec/consent-info.yaml:")
            && errors.contains("\"PENDINGG\" is not among its values"),
        "{errors}"
    );
    assert_eq!(
        std::fs::read(&golden).expect("golden"),
        before,
        "something was generated"
    );
    let _ = std::fs::remove_dir_all(dir);
}
