// SPDX-License-Identifier: BUSL-1.1
//! Generates the direct Mass surface from spec/ into OUT_DIR at build time.
//!
//! The compiled code always comes from the spec as it is now; the committed golden copy in
//! `generated/surface.rs` is for review, and a test plus `mez-codegen check` keep it equal to
//! what this script writes.

use std::path::Path;

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let spec_dir = Path::new(&manifest).join("../spec");
    println!("cargo:rerun-if-changed={}", spec_dir.display());
    // sqlx's migrate! notices edits to existing migrations but not new files.
    println!("cargo:rerun-if-changed=../migrations");
    if let Ok(files) = mez_codegen::spec_files(&spec_dir) {
        for file in files {
            println!("cargo:rerun-if-changed={}", file.display());
        }
    }
    let spec = match mez_codegen::load_dir(&spec_dir, "spec") {
        Ok(spec) => spec,
        Err(diags) => {
            for d in &diags.0 {
                println!("cargo:warning={d}");
            }
            eprint!("{diags}");
            std::process::exit(1);
        }
    };
    let text = match mez_codegen::generate_surface(&spec) {
        Ok(text) => text,
        Err(err) => {
            println!("cargo:warning={err}");
            std::process::exit(1);
        }
    };
    let out = std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into());
    let openapi = mez_codegen::openapi::document(&spec);
    for (name, content) in [("surface.rs", text), ("openapi.json", openapi)] {
        if let Err(err) = std::fs::write(Path::new(&out).join(name), content) {
            println!("cargo:warning=cannot write the generated {name}: {err}");
            std::process::exit(1);
        }
    }
}
