// SPDX-License-Identifier: BUSL-1.1
//! Every direct route of the real spec answers a type of its own: a CRUD route its model, a
//! hook or static route the `response` it declares. A route whose answer the typed client
//! would take as any JSON value (so that a proxy zone could not tell a malformed upstream
//! answer from a good one) fails here, with the route named.

use std::path::Path;

use mez_codegen::model::{Op, Route};

/// Whether the spec gives the route's answer a type (the rule the Rust back end applies).
fn typed(route: &Route) -> bool {
    match &route.op {
        Op::Hook { .. } | Op::Static { .. } => route.response.is_some(),
        _ => route.model().is_some(),
    }
}

#[test]
fn every_direct_route_of_the_spec_answers_a_declared_type() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec");
    let spec = match mez_codegen::load_dir(&root, "spec") {
        Ok(spec) => spec,
        Err(diags) => panic!("the spec does not load:\n{diags}"),
    };
    let untyped: Vec<String> = spec
        .routes()
        .filter(|(_, r)| !typed(r))
        .map(|(s, r)| format!("{} {}{}", r.method.as_str(), s.context_path, r.path))
        .collect();
    assert!(spec.routes().count() > 40, "the real spec was read");
    assert!(
        untyped.is_empty(),
        "routes whose answer has no declared type: {untyped:#?}"
    );
}

#[test]
fn the_rule_catches_a_hook_without_a_response() {
    let dir = std::env::temp_dir().join(format!("mez-typed-answers-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let yaml = "service: widgets\ncontext_path: /widgets/api/v1\nroutes:\n  - { route: \"GET /widget/{id}/colour\", op: hook, hook: widget_colour }\n";
    std::fs::write(dir.join("widgets.yaml"), yaml).expect("write the spec");
    let spec = mez_codegen::load_dir(&dir, "spec");
    let _ = std::fs::remove_dir_all(&dir);
    let spec = match spec {
        Ok(spec) => spec,
        Err(diags) => panic!("the spec does not load:\n{diags}"),
    };
    let (_, route) = spec.routes().next().expect("one route");
    assert!(!typed(route), "a hook declaring no response is untyped");
}
