// SPDX-License-Identifier: BUSL-1.1
//! The test back end: one test function per spec-derived check, for the proc macro.
//!
//! Each generated test is one line that names a route and a field and calls a hand-written
//! check in the `mez-tests` harness; the checks read the route's model from the product's own
//! route table at run time. Adding a route or a field to the spec adds its tests.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::model::{Field, FieldType, Input, Model, Op, Spec};
use crate::rust::{full_path, handler_name, snake};

/// One generated check: its test name and the call that performs it.
pub struct Case {
    pub name: String,
    pub check: &'static str,
    pub method: &'static str,
    pub path: String,
    pub field: Option<String>,
}

impl Case {
    /// The check `check` of a route (and field), named `<route>__<check>[__<field>]`.
    fn new(
        base: &str,
        check: &'static str,
        method: &'static str,
        path: &str,
        field: Option<&str>,
    ) -> Case {
        let name = match field {
            Some(f) => format!("{base}__{check}__{}", snake(f)),
            None => format!("{base}__{check}"),
        };
        Case {
            name,
            check,
            method,
            path: path.to_string(),
            field: field.map(str::to_string),
        }
    }
}

/// Every check the spec implies, in spec order.
pub fn cases(spec: &Spec) -> Vec<Case> {
    let mut out = Vec::new();
    for (s, r) in spec.routes() {
        let base = handler_name(s, r);
        let path = full_path(s, r);
        let method = r.method.as_str();
        let mut push = |check: &'static str, field: Option<&str>| {
            out.push(Case::new(&base, check, method, &path, field));
        };
        push("answers_as_declared", None);
        let Some(model_name) = r.request_model() else {
            continue;
        };
        let Some(model) = spec.model(model_name) else {
            continue;
        };
        let query = matches!(
            r.op,
            Op::Create {
                input: Input::Query,
                ..
            }
        );
        request_checks(model, query, matches!(r.op, Op::Update { .. }), &mut push);
        if let Op::Create { hook: None, .. } = r.op {
            let ops = round_trip_ops(spec, model_name);
            // The operations go in the name (`round_trips__create_get_update_delete`) and
            // to the check, which fails when the product cannot run one of them.
            out.push(Case {
                name: format!("{base}__round_trips__{}", ops.join("_")),
                check: "round_trips",
                method,
                path: path.clone(),
                field: Some(ops.join(",")),
            });
        }
    }
    // The /v1 writes: the same request checks, against their request models.
    for o in spec.services.iter().flat_map(|s| &s.orchestrated) {
        let Some(model) = o.request.as_deref().and_then(|m| spec.model(m)) else {
            continue;
        };
        let base = v1_base(o);
        let method = o.method.as_str();
        let mut push = |check: &'static str, field: Option<&str>| {
            out.push(Case::new(&base, check, method, &o.path, field));
        };
        request_checks(
            model,
            false,
            o.method == crate::model::Method::Put,
            &mut push,
        );
    }
    out
}

/// The operations a plain create's round trip runs: the create, then every other operation
/// the spec declares over the same model, in the order the round trip runs them.
pub fn round_trip_ops(spec: &Spec, model: &str) -> Vec<&'static str> {
    const ORDER: [&str; 8] = [
        "create",
        "get",
        "list",
        "list_by",
        "get_by",
        "search",
        "update",
        "transition",
    ];
    let declared: Vec<&'static str> = spec
        .routes()
        .filter(|(_, r)| r.model() == Some(model))
        .map(|(_, r)| r.op_name())
        .collect();
    let mut ops: Vec<&'static str> = ORDER
        .into_iter()
        .filter(|op| declared.contains(op))
        .collect();
    // Delete last: nothing can be read after it but its absence.
    if declared.contains(&"delete") {
        ops.push("delete");
    }
    ops
}

/// The checks a request model implies: first that the request built from the model is
/// accepted (so a broken base request cannot make every rejection pass), then the body as a
/// whole, then each field's rules. A query string carries only text, so its fields cannot
/// have the wrong JSON type; an update may leave any field out.
///
/// Every rule of the spec language is taken apart here with no `..` and every type matched
/// with no `_` arm, so a rule added to [`Field`] or a type added to [`FieldType`] stops this
/// crate from compiling until it has a check (or a stated reason for having none).
fn request_checks(
    model: &Model,
    query: bool,
    update: bool,
    push: &mut dyn FnMut(&'static str, Option<&str>),
) {
    push("accepts_base_request", None);
    if !query {
        push("rejects_malformed_json", None);
        push("rejects_non_object_body", None);
    }
    if !model.open {
        push("rejects_unknown_field", None);
    }
    for f in &model.fields {
        let Field {
            // Names, not rules.
            name: _,
            input,
            ty,
            required,
            // Checked by the spec front end to fit the field; the round trip reads it back.
            default: _,
            server_set,
            // Changes where a value goes, not whether it is accepted.
            transient: _,
            unique,
            // Normalises rather than refuses: the `min_len` check sends a blank value, which
            // is refused only because trimming happens first.
            trim: _,
            min_len,
            max_len,
            min_items,
            max_items,
            min,
            max,
            doc: _,
            pos: _,
        } = f;
        if *server_set {
            // A request may not send it at all, unless its name is another field's input.
            let shadowed = model
                .fields
                .iter()
                .any(|g| !g.server_set && g.input == f.name);
            if !shadowed {
                push("rejects_server_set", Some(f.name.as_str()));
            }
            continue;
        }
        let key = Some(input.as_str());
        if *required && !update {
            push("rejects_missing_required", key);
        }
        let (textual, string_like, list, numeric, formatted) = match ty {
            FieldType::String => (true, true, false, false, false),
            FieldType::StringList => (false, true, true, false, false),
            FieldType::Integer => (false, false, false, true, false),
            FieldType::Decimal => (true, false, false, true, true),
            FieldType::Uuid | FieldType::DateTime => (true, false, false, false, true),
            FieldType::Enum(_) => (true, false, false, false, false),
            FieldType::Boolean | FieldType::Object => (false, false, false, false, false),
            FieldType::JsonList | FieldType::ModelList(_) => (false, false, true, false, false),
            // Any JSON is the right type.
            FieldType::Json => (true, false, false, false, false),
        };
        if (!query || !textual) && *ty != FieldType::Json {
            push("rejects_wrong_type", key);
        }
        if string_like && max_len.is_some() {
            push("rejects_overlong", key);
        }
        if string_like && min_len.is_some() {
            push("rejects_too_short", key);
        }
        if let FieldType::Enum(_) = ty {
            push("rejects_bad_enum", key);
        }
        if formatted {
            push("rejects_bad_format", key);
        }
        if numeric && min.is_some() {
            push("rejects_below_min", key);
        }
        if numeric && max.is_some() {
            push("rejects_above_max", key);
        }
        if list && min_items.is_some() {
            push("rejects_too_few_items", key);
        }
        if list && max_items.is_some() {
            push("rejects_too_many_items", key);
        }
        if *unique && !update {
            push("rejects_duplicate", key);
        }
    }
}

/// The name of a `/v1` route's tests: `v1__post_v1_entities`.
fn v1_base(o: &crate::model::Orchestrated) -> String {
    format!(
        "v1__{}",
        snake(&format!(
            "{} {}",
            o.method.as_str(),
            o.path.replace(['{', '}'], "")
        ))
    )
}

/// The names of every test the two generated suites hold for a spec: `surface::NAME` for the
/// surface checks, `parity::NAME` for the parity suite. The README walkthrough compares the
/// tests that ran for a new primitive with this list, so none can go missing unnoticed.
pub fn test_names(spec: &Spec) -> Vec<String> {
    let surface = cases(spec)
        .into_iter()
        .map(|c| format!("surface::{}", c.name));
    let v1 = spec
        .services
        .iter()
        .flat_map(|s| &s.orchestrated)
        .map(|o| format!("parity::{}", v1_base(o)));
    let direct = spec
        .routes()
        .map(|(s, r)| format!("parity::direct__{}", handler_name(s, r)));
    surface.chain(v1).chain(direct).collect()
}

/// The test module the `surface_tests!` macro expands to.
pub fn tests(spec: &Spec, harness: &TokenStream) -> TokenStream {
    let cases = cases(spec);
    let count = spec.routes().count();
    let fns = cases.iter().map(|c| {
        let name = format_ident!("{}", c.name);
        let check = format_ident!("{}", c.check);
        let method = c.method;
        let path = &c.path;
        let field = match &c.field {
            Some(f) => quote!(Some(#f)),
            None => quote!(None),
        };
        quote! {
            #[tokio::test]
            async fn #name() {
                #harness::#check(#method, #path, #field).await;
            }
        }
    });
    quote! {
        /// The number of routes the spec declares, for a test that the product serves them all.
        pub const SPEC_ROUTE_COUNT: usize = #count;
        #(#fns)*
    }
}

/// The parity suite the `parity_tests!` macro expands to: one test per `/v1` route (sovereign
/// and proxy answers have the same shape) and one per direct route (its answer survives a
/// round trip through the typed client's type).
pub fn parity(spec: &Spec, harness: &TokenStream) -> TokenStream {
    let v1: Vec<_> = spec.services.iter().flat_map(|s| &s.orchestrated).collect();
    let v1_count = v1.len();
    let direct_count = spec.routes().count();
    let v1_tests = v1.iter().map(|o| {
        let name = format_ident!("{}", v1_base(o));
        let method = o.method.as_str();
        let path = &o.path;
        quote! {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn #name() {
                #harness::v1_parity(#method, #path).await;
            }
        }
    });
    let direct_tests = spec.routes().map(|(s, r)| {
        let name = format_ident!("direct__{}", handler_name(s, r));
        let method = r.method.as_str();
        let path = full_path(s, r);
        quote! {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn #name() {
                #harness::direct_roundtrip(#method, #path).await;
            }
        }
    });
    quote! {
        /// How many `/v1` routes and direct routes the spec declares.
        pub const SPEC_V1_ROUTE_COUNT: usize = #v1_count;
        pub const SPEC_DIRECT_ROUTE_COUNT: usize = #direct_count;
        #(#v1_tests)*
        #(#direct_tests)*
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = r#"
service: gadget-info
context_path: /gadget-info/api/v1
url_env: MASS_GADGET_INFO_URL
models:
  Gadget:
    store: gadgets
    fields:
      name: { type: string, required: true, trim: true, min_len: 2, max_len: 10 }
      serial: { type: string, unique: true, max_len: 20 }
      weight: { type: integer, min: 1, max: 9 }
      price: { type: decimal, min: "0.01", max: "99" }
      parts: { type: list<json>, min_items: 1, max_items: 3 }
      tags: { type: list<string>, max_len: 5, min_len: 1 }
      state: { type: enum, values: [ON, OFF], default: ON, server_set: true }
routes:
  - { route: POST /gadget, op: create, model: Gadget, audit: gadget.created }
  - { route: "GET /gadget/{id}", op: get, model: Gadget }
  - { route: "PUT /gadget/{id}", op: update, model: Gadget, audit: gadget.updated }
  - { route: "DELETE /gadget/{id}", op: delete, model: Gadget, audit: gadget.deleted }
"#;

    fn spec() -> Spec {
        match crate::load_texts(&[("gadget.yaml".into(), SPEC.into())]) {
            Ok(spec) => spec,
            Err(diags) => panic!("{diags}"),
        }
    }

    fn names(spec: &Spec) -> Vec<String> {
        cases(spec).into_iter().map(|c| c.name).collect()
    }

    #[test]
    fn every_rule_kind_has_its_rejection_test_after_the_base_request_is_accepted() {
        let names = names(&spec());
        let create = "gadget_info_post_gadget";
        let expected = [
            "accepts_base_request",
            "rejects_too_short__name",
            "rejects_overlong__name",
            "rejects_duplicate__serial",
            "rejects_below_min__weight",
            "rejects_above_max__weight",
            "rejects_below_min__price",
            "rejects_above_max__price",
            "rejects_bad_format__price",
            "rejects_too_few_items__parts",
            "rejects_too_many_items__parts",
            "rejects_too_short__tags",
            "rejects_overlong__tags",
            "rejects_server_set__state",
            "rejects_missing_required__name",
        ];
        for check in expected {
            let name = format!("{create}__{check}");
            assert!(names.contains(&name), "no {name} in {names:#?}");
        }
        // The base request comes first, once per route.
        let base = names
            .iter()
            .position(|n| n == &format!("{create}__accepts_base_request"));
        let first_rejection = names
            .iter()
            .position(|n| n.starts_with(create) && n.contains("__rejects_"));
        assert!(base < first_rejection, "{names:#?}");
        // An update may leave anything out and may repeat a unique value of its own record.
        let update = "gadget_info_put_gadget_id";
        assert!(names.contains(&format!("{update}__accepts_base_request")));
        assert!(!names.contains(&format!("{update}__rejects_missing_required__name")));
        assert!(!names.contains(&format!("{update}__rejects_duplicate__serial")));
    }

    #[test]
    fn the_round_trip_names_exactly_the_declared_operations() {
        let names = names(&spec());
        assert!(
            names
                .contains(&"gadget_info_post_gadget__round_trips__create_get_update_delete".into()),
            "{names:#?}"
        );
        let cases = cases(&spec());
        let trip = cases
            .iter()
            .find(|c| c.check == "round_trips")
            .map(|c| c.field.clone());
        assert_eq!(trip, Some(Some("create,get,update,delete".into())));
    }

    #[test]
    fn the_listed_test_names_are_the_generated_ones() {
        let spec = spec();
        let listed = test_names(&spec);
        assert_eq!(
            listed.iter().filter(|n| n.starts_with("surface::")).count(),
            cases(&spec).len()
        );
        assert_eq!(
            listed
                .iter()
                .filter(|n| n.starts_with("parity::direct__"))
                .count(),
            4
        );
    }
}
