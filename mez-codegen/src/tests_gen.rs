// SPDX-License-Identifier: BUSL-1.1
//! The test back end: one test function per spec-derived check, for the proc macro.
//!
//! Each generated test is one line that names a route and a field and calls a hand-written
//! check in the `mez-tests` harness; the checks read the route's model from the product's own
//! route table at run time. Adding a route or a field to the spec adds its tests.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::model::{FieldType, Input, Model, Op, Spec};
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
        if matches!(r.op, Op::Create { hook: None, .. }) {
            push("round_trips", None);
        }
    }
    // The /v1 writes: the same request checks, against their request models.
    for o in spec.services.iter().flat_map(|s| &s.orchestrated) {
        let Some(model) = o.request.as_deref().and_then(|m| spec.model(m)) else {
            continue;
        };
        let base = format!(
            "v1__{}",
            snake(&format!(
                "{} {}",
                o.method.as_str(),
                o.path.replace(['{', '}'], "")
            ))
        );
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

/// The checks a request model implies: the body as a whole, then each field's rules. A query
/// string carries only text, so its fields cannot have the wrong JSON type; an update may
/// leave any field out.
fn request_checks(
    model: &Model,
    query: bool,
    update: bool,
    push: &mut dyn FnMut(&'static str, Option<&str>),
) {
    if !query {
        push("rejects_malformed_json", None);
        push("rejects_non_object_body", None);
    }
    if !model.open {
        push("rejects_unknown_field", None);
    }
    for f in model.fields.iter().filter(|f| !f.server_set) {
        let key = Some(f.input.as_str());
        if f.required && !update {
            push("rejects_missing_required", key);
        }
        if (!query || !f.ty.is_textual()) && f.ty != FieldType::Json {
            push("rejects_wrong_type", key);
        }
        if f.max_len.is_some() && matches!(f.ty, FieldType::String | FieldType::StringList) {
            push("rejects_overlong", key);
        }
        if matches!(f.ty, FieldType::Enum(_)) {
            push("rejects_bad_enum", key);
        }
        if matches!(
            f.ty,
            FieldType::Uuid | FieldType::Decimal | FieldType::DateTime
        ) {
            push("rejects_bad_format", key);
        }
    }
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
        let name = format_ident!(
            "v1__{}",
            snake(&format!(
                "{} {}",
                o.method.as_str(),
                o.path.replace(['{', '}'], "")
            ))
        );
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
