// SPDX-License-Identifier: BUSL-1.1
//! Benchmark: `mez-codegen check` on a generated spec of 1,000 models (10 services of 100
//! models, each model with a create and a get route), timed end to end as CI runs it (the
//! process, the spec load, generation and the comparison), in three states of the golden
//! copy: up to date, one field added to the spec (a small diff of large files), and the real
//! repository's committed copy (every line differs: the worst case for the diff).
//!
//! `cargo bench -p mez-codegen --bench check` times the release binary; set
//! `MEZ_CODEGEN_BIN=target/debug/mez-codegen` to time another build (CI runs the debug one).
//! `MEZ_BENCH_MODELS` changes the number of models; a run that passes `MEZ_BENCH_LIMIT`
//! seconds (300 by default) is stopped and reported as longer than that.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One service of the generated spec: `per` stored models with a few fields each, and a
/// create and a get route per model.
fn service_yaml(service: usize, per: usize) -> String {
    let mut out = format!(
        "service: bench-{service}\ncontext_path: /bench-{service}/api/v1\nurl_env: MASS_BENCH_{service}_URL\nmodels:\n"
    );
    for m in 0..per {
        out.push_str(&format!(
            "  Thing{service}x{m}:\n    doc: Generated model {m} of service {service}.\n    store: things_{service}_{m}\n    fields:\n      name: {{ type: string, required: true, trim: true, min_len: 1, max_len: 200 }}\n      kind: {{ type: enum, values: [A, B, C], default: A }}\n      count: {{ type: integer, min: 0, max: 1000 }}\n      amount: {{ type: decimal, min: \"0\" }}\n      ownerId: {{ type: uuid }}\n      tags: {{ type: list<string>, max_items: 10 }}\n"
        ));
    }
    out.push_str("routes:\n");
    for m in 0..per {
        out.push_str(&format!(
            "  - {{ route: \"POST /thing{m}/create\", op: create, model: Thing{service}x{m}, audit: thing{m}.created }}\n  - {{ route: \"GET /thing{m}/{{id}}\", op: get, model: Thing{service}x{m} }}\n"
        ));
    }
    out
}

fn codegen(bin: &Path, command: &str, dir: &Path, limit: Duration) -> (Duration, bool, usize) {
    let start = Instant::now();
    let mut child = Command::new(bin)
        .arg(command)
        .arg("--spec")
        .arg(dir.join("spec"))
        .arg("--out")
        .arg(dir.join("surface.rs"))
        .arg("--openapi")
        .arg(dir.join("openapi.json"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run mez-codegen");
    // Read the diff while the command runs, so a large one cannot fill the pipe and stall it.
    let mut stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut text).expect("read the output");
        text.len()
    });
    loop {
        if let Some(status) = child.try_wait().expect("wait for mez-codegen") {
            let bytes = reader.join().expect("the output reader");
            return (start.elapsed(), status.success(), bytes);
        }
        if start.elapsed() > limit {
            child.kill().expect("stop mez-codegen");
            let _ = child.wait();
            let bytes = reader.join().expect("the output reader");
            return (start.elapsed(), false, bytes);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn main() {
    let bin = std::env::var_os("MEZ_CODEGEN_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_mez-codegen")));
    let models: usize = std::env::var("MEZ_BENCH_MODELS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000);
    let limit = Duration::from_secs(
        std::env::var("MEZ_BENCH_LIMIT")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(300),
    );
    let services = 10;
    let per = models.div_ceil(services);
    let dir = std::env::temp_dir().join(format!("mez-codegen-bench-{}", std::process::id()));
    let spec = dir.join("spec");
    std::fs::create_dir_all(&spec).expect("scratch spec dir");
    for s in 0..services {
        std::fs::write(spec.join(format!("bench-{s}.yaml")), service_yaml(s, per))
            .expect("write the spec");
    }
    println!(
        "mez-codegen check, {} models, {} routes, binary {}",
        services * per,
        services * per * 2,
        bin.display()
    );

    let (t, ok, _) = codegen(&bin, "generate", &dir, limit);
    assert!(ok, "generate failed on the benchmark spec");
    let size = std::fs::metadata(dir.join("surface.rs")).map_or(0, |m| m.len());
    println!(
        "generate                           {:>8.2} s  (surface.rs {} KB)",
        t.as_secs_f64(),
        size / 1024
    );

    let report = |what: &str, (t, ok, bytes): (Duration, bool, usize), want_ok: bool| {
        let shown = if t > limit {
            format!("> {} s (stopped)", limit.as_secs())
        } else {
            format!("{:>8.2} s", t.as_secs_f64())
        };
        println!(
            "check, {what:<26} {shown}  (exit ok: {ok}, diff {} KB)",
            bytes / 1024
        );
        if t <= limit {
            assert_eq!(ok, want_ok, "check's exit status for {what}");
        }
    };
    report(
        "golden copy up to date",
        codegen(&bin, "check", &dir, limit),
        true,
    );

    // One field more in one model: the golden copy is stale by a few lines.
    let first = spec.join("bench-0.yaml");
    let text = std::fs::read_to_string(&first).expect("read the spec");
    let edited = text.replacen(
        "      tags: { type: list<string>, max_items: 10 }\n",
        "      tags: { type: list<string>, max_items: 10 }\n      note: { type: string }\n",
        1,
    );
    std::fs::write(&first, edited).expect("edit the spec");
    report(
        "one field added",
        codegen(&bin, "check", &dir, limit),
        false,
    );

    // The repository's own golden copies: every line differs.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::copy(
        root.join("mez-api/generated/surface.rs"),
        dir.join("surface.rs"),
    )
    .expect("copy the committed surface");
    std::fs::copy(
        root.join("mez-api/generated/openapi.json"),
        dir.join("openapi.json"),
    )
    .expect("copy the committed OpenAPI document");
    report(
        "a different spec's copy",
        codegen(&bin, "check", &dir, limit),
        false,
    );

    if std::env::var_os("MEZ_BENCH_KEEP").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
}
