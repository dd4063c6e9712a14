// SPDX-License-Identifier: BUSL-1.1
//! The `mez-codegen` command: `generate` writes the committed golden copy of the generated
//! surface; `check` fails with a unified diff when that copy is stale; `tests` lists the
//! generated tests the spec implies (`surface::NAME`, `parity::NAME`), one a line.
//!
//! Run from anywhere in the workspace: paths are resolved from the nearest directory above
//! the current one that holds `Cargo.toml` and `spec/`, so `cargo run -p mez-codegen -- check`
//! behaves the same in CI and locally.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Where the spec lives and where the golden copy is committed, relative to the workspace.
const SPEC_DIR: &str = "spec";
const GOLDEN: &str = "mez-api/generated/surface.rs";
const OPENAPI: &str = "mez-api/generated/openapi.json";

/// The workspace this command works on: the nearest directory, from the current one up,
/// that holds both `Cargo.toml` and `spec/`; else the workspace this binary was built in.
///
/// Looking from the current directory (where `cargo run` was invoked) rather than only at the
/// build-time path matters when one target directory serves two checkouts: the binary may
/// have been built from the other one.
fn workspace_root() -> PathBuf {
    if let Ok(mut dir) = std::env::current_dir() {
        loop {
            if dir.join("Cargo.toml").is_file() && dir.join(SPEC_DIR).is_dir() {
                return dir;
            }
            if !dir.pop() {
                break;
            }
        }
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| manifest.to_path_buf())
}

fn usage() -> ExitCode {
    eprintln!(
        "usage: mez-codegen <generate|check|openapi|tests> [--spec DIR] [--out FILE] [--openapi FILE]"
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(command) = args.first().cloned() else {
        return usage();
    };
    let root = workspace_root();
    let mut spec_dir = root.join(SPEC_DIR);
    let mut out = root.join(GOLDEN);
    let mut openapi = root.join(OPENAPI);
    let mut rest = args[1..].iter();
    while let Some(flag) = rest.next() {
        match (flag.as_str(), rest.next()) {
            ("--spec", Some(dir)) => spec_dir = PathBuf::from(dir),
            ("--out", Some(file)) => out = PathBuf::from(file),
            ("--openapi", Some(file)) => openapi = PathBuf::from(file),
            _ => return usage(),
        }
    }

    let spec = match mez_codegen::load_dir(&spec_dir, SPEC_DIR) {
        Ok(spec) => spec,
        Err(diags) => {
            eprint!("{diags}");
            eprintln!(
                "error: the spec has {} error(s); nothing was generated",
                diags.0.len()
            );
            return ExitCode::FAILURE;
        }
    };
    let generated = match mez_codegen::generate_surface(&spec) {
        Ok(text) => text,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::FAILURE;
        }
    };
    let document = mez_codegen::openapi::document(&spec);
    // Both generated files, each with the text it must hold.
    let outputs = [(&out, &generated), (&openapi, &document)];
    match command.as_str() {
        "openapi" => {
            print!("{document}");
            ExitCode::SUCCESS
        }
        "tests" => {
            use std::io::Write;
            let mut stdout = std::io::stdout().lock();
            for name in mez_codegen::tests_gen::test_names(&spec) {
                // A closed pipe (`| head`) ends the listing; it is not an error.
                if writeln!(stdout, "{name}").is_err() {
                    break;
                }
            }
            ExitCode::SUCCESS
        }
        "generate" => {
            for (path, text) in outputs {
                if let Some(parent) = path.parent() {
                    if let Err(err) = std::fs::create_dir_all(parent) {
                        eprintln!("error: cannot create {}: {err}", parent.display());
                        return ExitCode::FAILURE;
                    }
                }
                if let Err(err) = std::fs::write(path, text) {
                    eprintln!("error: cannot write {}: {err}", path.display());
                    return ExitCode::FAILURE;
                }
                println!("wrote {}", path.display());
            }
            println!("{} routes", spec.routes().count());
            ExitCode::SUCCESS
        }
        "check" => {
            let mut stale = false;
            for (path, text) in outputs {
                let committed = std::fs::read_to_string(path).unwrap_or_default();
                if committed == *text {
                    println!(
                        "{} is up to date with {}/",
                        path.display(),
                        spec_dir.display()
                    );
                } else {
                    print!(
                        "{}",
                        mez_codegen::unified_diff(&committed, text, "committed", "generated")
                    );
                    eprintln!("error: {} is stale", path.display());
                    stale = true;
                }
            }
            if stale {
                eprintln!("run `cargo run -p mez-codegen -- generate` and commit the result");
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        _ => usage(),
    }
}
