// SPDX-License-Identifier: BUSL-1.1
//! The Rust back end: the direct Mass surface of mez-api.
//!
//! The output is thin by design. It holds the spec as static data (`ModelSpec`s, the route
//! table, static data), typed record structs, and one small handler per route that extracts
//! the request and calls the hand-written runtime (`crate::runtime::ops`) or a named hook
//! (`crate::hooks`). Logic that could live in the runtime lives there, written once.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote};
use serde_json::Value;

use crate::model::{Bound, Field, FieldType, Input, Model, Op, Route, Service, Spec};

/// `entityType` -> `entity_type`; `CapTable` -> `cap_table`.
pub fn snake(name: &str) -> String {
    let mut out = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            if prev_lower {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
            prev_lower = false;
        } else if c.is_ascii_alphanumeric() {
            out.push(c);
            prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        } else {
            if !out.ends_with('_') {
                out.push('_');
            }
            prev_lower = false;
        }
    }
    out.trim_matches('_').to_string()
}

fn ident(name: &str) -> Ident {
    let s = snake(name);
    if syn::parse_str::<Ident>(&s).is_ok() {
        Ident::new(&s, Span::call_site())
    } else {
        Ident::new_raw(&s, Span::call_site())
    }
}

fn upper(name: &str) -> Ident {
    format_ident!("{}", snake(name).to_ascii_uppercase())
}

/// A unique handler name from the service and the route: `consent_info_post_consents_approve_id`.
pub fn handler_name(service: &Service, route: &Route) -> String {
    snake(&format!(
        "{} {} {}",
        service.name,
        route.method.as_str().to_ascii_lowercase(),
        route.path.replace(['{', '}'], "")
    ))
}

/// The full path of a route as axum 0.8 spells it.
pub fn full_path(service: &Service, route: &Route) -> String {
    format!("{}{}", service.context_path, route.path)
}

pub fn surface(spec: &Spec) -> TokenStream {
    let models: Vec<TokenStream> = spec.models().map(|(_, m)| model_spec(m)).collect();
    let types: Vec<TokenStream> = spec.models().map(|(_, m)| record_type(m)).collect();
    let data: Vec<TokenStream> = spec
        .services
        .iter()
        .flat_map(|s| s.data.iter().map(move |(k, v)| data_fn(s, k, v)))
        .collect();
    let route_infos: Vec<TokenStream> =
        spec.routes().map(|(s, r)| route_info(spec, s, r)).collect();
    let handlers: Vec<TokenStream> = spec.routes().map(|(s, r)| handler(s, r)).collect();

    // Group methods per path: axum wants one `.route()` per path.
    let mut paths: Vec<(String, Vec<TokenStream>)> = Vec::new();
    for (s, r) in spec.routes() {
        let path = full_path(s, r);
        let method = format_ident!("{}", r.method.as_str().to_ascii_lowercase());
        let h = format_ident!("{}", handler_name(s, r));
        let call = quote!(#method(handlers::#h));
        match paths.iter_mut().find(|(p, _)| *p == path) {
            Some((_, calls)) => calls.push(call),
            None => paths.push((path, vec![call])),
        }
    }
    let route_calls = paths.iter().map(|(path, calls)| {
        let first = &calls[0];
        let rest = &calls[1..];
        quote!(.route(#path, axum::routing::#first #(.#rest)*))
    });
    let route_count = proc_macro2::Literal::usize_unsuffixed(spec.routes().count());

    quote! {
        use axum::Router;
        use crate::state::AppState;

        /// The spec's models, as the runtime's validators and store operations read them.
        pub mod models {
            use crate::runtime::model::*;
            #(#models)*
        }

        /// Typed records, one per model, in the JSON shape the surface serves.
        pub mod types {
            use serde::{Deserialize, Serialize};
            #(#types)*
        }

        /// Static data the spec declares, served by `static` routes.
        pub mod data {
            #(#data)*
        }

        /// Every direct route of the spec.
        pub static ROUTES: [crate::runtime::model::RouteInfo; #route_count] = [#(#route_infos),*];

        /// The direct Mass surface: every route of the spec, mounted at its full path.
        pub fn direct_router() -> Router<AppState> {
            Router::new() #(#route_calls)*
        }

        mod handlers {
            use super::*;
            use crate::error::ApiError;
            use crate::runtime::ops;
            use axum::response::Response;
            #(#handlers)*
        }
    }
}

fn opt<T: quote::ToTokens>(v: Option<T>) -> TokenStream {
    match v {
        Some(v) => quote!(Some(#v)),
        None => quote!(None),
    }
}

fn bound(b: &Option<Bound>) -> TokenStream {
    match b {
        Some(Bound::Int(i)) => quote!(Some(Bound::Int(#i))),
        Some(Bound::Decimal(d)) => quote!(Some(Bound::Decimal(#d))),
        None => quote!(None),
    }
}

fn default_value(v: &Option<Value>) -> TokenStream {
    match v {
        None | Some(Value::Null) => quote!(DefaultValue::Null),
        Some(Value::Bool(b)) => quote!(DefaultValue::Bool(#b)),
        Some(Value::Number(n)) if n.is_i64() => {
            let i = n.as_i64().unwrap_or_default();
            quote!(DefaultValue::Int(#i))
        }
        Some(Value::String(s)) => quote!(DefaultValue::Str(#s)),
        Some(Value::Array(a)) if a.is_empty() => quote!(DefaultValue::EmptyList),
        Some(Value::Object(o)) if o.is_empty() => quote!(DefaultValue::EmptyObject),
        Some(other) => {
            let text = other.to_string();
            quote!(DefaultValue::Json(#text))
        }
    }
}

fn field_type(ty: &FieldType) -> TokenStream {
    match ty {
        FieldType::String => quote!(FieldType::String),
        FieldType::Integer => quote!(FieldType::Integer),
        FieldType::Boolean => quote!(FieldType::Boolean),
        FieldType::Decimal => quote!(FieldType::Decimal),
        FieldType::Uuid => quote!(FieldType::Uuid),
        FieldType::DateTime => quote!(FieldType::DateTime),
        FieldType::Json => quote!(FieldType::Json),
        FieldType::Object => quote!(FieldType::Object),
        FieldType::StringList => quote!(FieldType::StringList),
        FieldType::JsonList => quote!(FieldType::JsonList),
        FieldType::Enum(values) => quote!(FieldType::Enum(&[#(#values),*])),
    }
}

fn field_spec(f: &Field) -> TokenStream {
    let name = &f.name;
    let input = &f.input;
    let ty = field_type(&f.ty);
    // Only what differs from `FieldSpec::BASE` is written, so the generated file stays readable.
    let mut extra = Vec::new();
    if f.required {
        extra.push(quote!(required: true,));
    }
    if !matches!(f.default, None | Some(Value::Null)) {
        let d = default_value(&f.default);
        extra.push(quote!(default: #d,));
    }
    if f.server_set {
        extra.push(quote!(server_set: true,));
    }
    if f.transient {
        extra.push(quote!(transient: true,));
    }
    if f.trim {
        extra.push(quote!(trim: true,));
    }
    let lit = |v: u64| proc_macro2::Literal::u64_unsuffixed(v);
    if let Some(v) = f.min_len.map(lit) {
        extra.push(quote!(min_len: Some(#v),));
    }
    if let Some(v) = f.max_len.map(lit) {
        extra.push(quote!(max_len: Some(#v),));
    }
    if let Some(v) = f.max_items.map(lit) {
        extra.push(quote!(max_items: Some(#v),));
    }
    if f.min.is_some() {
        let b = bound(&f.min);
        extra.push(quote!(min: #b,));
    }
    if f.max.is_some() {
        let b = bound(&f.max);
        extra.push(quote!(max: #b,));
    }
    quote! {
        FieldSpec {
            name: #name,
            input: #input,
            ty: #ty,
            #(#extra)*
            ..FieldSpec::BASE
        }
    }
}

fn model_spec(m: &Model) -> TokenStream {
    let konst = upper(&m.name);
    let name = &m.name;
    let collection = opt(m.store.as_deref());
    let created_at = m.created_at;
    let updated_at = m.updated_at;
    let open = m.open;
    let fields = m.fields.iter().map(field_spec);
    let doc = format!(" {}", m.doc.as_deref().unwrap_or(name));
    quote! {
        #[doc = #doc]
        pub static #konst: ModelSpec = ModelSpec {
            name: #name,
            collection: #collection,
            created_at: #created_at,
            updated_at: #updated_at,
            open: #open,
            fields: &[#(#fields),*],
        };
    }
}

fn rust_type(f: &Field) -> TokenStream {
    let base = match &f.ty {
        FieldType::String
        | FieldType::Uuid
        | FieldType::DateTime
        | FieldType::Decimal
        | FieldType::Enum(_) => {
            quote!(String)
        }
        FieldType::Integer => quote!(i64),
        FieldType::Boolean => quote!(bool),
        FieldType::Json => quote!(serde_json::Value),
        FieldType::Object => quote!(serde_json::Map<String, serde_json::Value>),
        FieldType::StringList => quote!(Vec<String>),
        FieldType::JsonList => quote!(Vec<serde_json::Value>),
    };
    if f.required || f.ty == FieldType::Json {
        base
    } else {
        quote!(Option<#base>)
    }
}

/// A record struct: the stored shape for stored models, the request shape otherwise.
fn record_type(m: &Model) -> TokenStream {
    let name = format_ident!("{}", m.name);
    let stored = m.store.is_some();
    let mut fields = Vec::new();
    if stored {
        fields.push(quote!(pub id: String,));
    }
    for f in m.fields.iter().filter(|f| !(stored && f.transient)) {
        let key = if stored { &f.name } else { &f.input };
        let id = ident(key);
        let ty = rust_type(f);
        let skip = if stored {
            quote!()
        } else {
            quote!(#[serde(default)])
        };
        fields.push(quote!(#[serde(rename = #key)] #skip pub #id: #ty,));
    }
    if stored && m.created_at {
        fields.push(quote!(#[serde(rename = "createdAt")] pub created_at: String,));
    }
    if stored && m.updated_at {
        fields.push(quote!(#[serde(rename = "updatedAt")] pub updated_at: String,));
    }
    let (attr, extra) = if m.open {
        (
            quote!(),
            quote!(#[serde(flatten)] pub extra: serde_json::Map<String, serde_json::Value>,),
        )
    } else {
        (quote!(#[serde(deny_unknown_fields)]), quote!())
    };
    let doc = format!(" {}", m.doc.as_deref().unwrap_or(&m.name));
    quote! {
        #[doc = #doc]
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #attr
        pub struct #name {
            #(#fields)*
            #extra
        }
    }
}

fn data_fn(service: &Service, key: &str, value: &Value) -> TokenStream {
    let f = data_ident(service, key);
    let text = value.to_string();
    let doc = format!(" The `{key}` data of {}, as JSON text.", service.name);
    quote! {
        #[doc = #doc]
        pub const #f: &str = #text;
    }
}

fn data_ident(service: &Service, key: &str) -> Ident {
    upper(&format!("{} {}", service.name, key))
}

fn route_info(spec: &Spec, s: &Service, r: &Route) -> TokenStream {
    let method = r.method.as_str();
    let path = full_path(s, r);
    let service = &s.name;
    let op = r.op_name();
    let model_ref = |name: Option<&str>| match name.and_then(|n| spec.model(n)) {
        Some(m) => {
            let k = upper(&m.name);
            quote!(Some(&models::#k))
        }
        None => quote!(None),
    };
    let model = model_ref(r.model());
    let request = model_ref(r.request_model());
    let query_input = matches!(
        r.op,
        Op::Create {
            input: Input::Query,
            ..
        }
    );
    let hook = opt(match &r.op {
        Op::Create { hook, .. } => hook.as_deref(),
        Op::Hook { hook, .. } => Some(hook.as_str()),
        _ => None,
    });
    let audit = opt(r.audit.as_deref());
    let status = proc_macro2::Literal::u16_unsuffixed(r.status);
    quote! {
        crate::runtime::model::RouteInfo {
            service: #service,
            method: #method,
            path: #path,
            op: #op,
            model: #model,
            request: #request,
            query_input: #query_input,
            hook: #hook,
            audit: #audit,
            status: #status,
        }
    }
}

fn handler(s: &Service, r: &Route) -> TokenStream {
    let name = format_ident!("{}", handler_name(s, r));
    let doc = format!(
        " `{} {}`: {}.",
        r.method.as_str(),
        full_path(s, r),
        r.doc
            .clone()
            .unwrap_or_else(|| format!("op {}", r.op_name()))
    );
    let status = proc_macro2::Literal::u16_unsuffixed(r.status);
    let model_const = r.model().map(upper);
    let params = r.params();
    let param_idents: Vec<Ident> = params.iter().map(|p| ident(p)).collect();
    let path_arg = match param_idents.len() {
        0 => quote!(),
        1 => {
            let p = &param_idents[0];
            quote!(axum::extract::Path(#p): axum::extract::Path<String>,)
        }
        _ => {
            let tys = param_idents.iter().map(|_| quote!(String));
            quote!(axum::extract::Path((#(#param_idents),*)): axum::extract::Path<(#(#tys),*)>,)
        }
    };
    let (args, body) = match &r.op {
        Op::Create { input, hook, .. } => {
            let m = model_const.clone();
            let (arg, value) = match input {
                Input::Body => (
                    quote!(crate::extract::JsonBody(body): crate::extract::JsonBody),
                    quote!(body),
                ),
                Input::Query => (
                    quote!(crate::extract::QueryMap(query): crate::extract::QueryMap),
                    quote!(ops::query_object(query)),
                ),
            };
            let hook_call = hook.as_ref().map(|h| {
                let h = format_ident!("{}", h);
                quote!(crate::hooks::#h(&state, &mut record).await?;)
            });
            let mutability = if hook.is_some() {
                quote!(mut)
            } else {
                quote!()
            };
            (
                arg,
                quote! {
                    let #mutability record = ops::new_record(&models::#m, #value)?;
                    #hook_call
                    ops::insert(&state, &models::#m, record, #status).await
                },
            )
        }
        Op::Get { .. } => (
            quote!(),
            quote!(ops::get(&state, &models::#model_const, &id).await),
        ),
        Op::Update { .. } => (
            quote!(crate::extract::JsonBody(body): crate::extract::JsonBody),
            quote!(ops::update(&state, &models::#model_const, &id, body, #status).await),
        ),
        Op::Delete { .. } => (
            quote!(),
            quote!(ops::delete(&state, &models::#model_const, &id, #status).await),
        ),
        Op::List {
            ids_param, filters, ..
        } => {
            let ids = opt(ids_param.as_deref());
            let filters = filters.iter().map(|(p, f)| quote!((#p, #f)));
            (
                quote!(crate::extract::QueryMap(query): crate::extract::QueryMap),
                quote!(ops::list(&state, &models::#model_const, query, #ids, &[#(#filters),*]).await),
            )
        }
        Op::Search { field, .. } => (
            quote!(crate::extract::JsonBody(body): crate::extract::JsonBody),
            quote!(ops::search(&state, &models::#model_const, #field, body).await),
        ),
        Op::ListBy { .. } | Op::GetBy { .. } => {
            let pairs = params
                .iter()
                .zip(&param_idents)
                .map(|(p, i)| quote!((#p, #i.as_str())));
            let f = if matches!(r.op, Op::ListBy { .. }) {
                quote!(ops::list_by(&state, &models::#model_const, &[#(#pairs),*], query).await)
            } else {
                quote!(ops::get_by(&state, &models::#model_const, &[#(#pairs),*]).await)
            };
            let arg = if matches!(r.op, Op::ListBy { .. }) {
                quote!(crate::extract::QueryMap(query): crate::extract::QueryMap)
            } else {
                quote!()
            };
            (arg, f)
        }
        Op::Transition {
            field, from, to, ..
        } => (
            quote!(),
            quote!(ops::transition(&state, &models::#model_const, &id, #field, &[#(#from),*], #to, #status).await),
        ),
        Op::Static { data, key } => {
            let call = match (data, key) {
                (Some(d), None) => {
                    let f = data_ident(s, d);
                    quote!(ops::static_data(data::#f, #status))
                }
                (Some(d), Some(k)) => {
                    let f = data_ident(s, d);
                    let p = &param_idents[0];
                    quote!(ops::static_item(data::#f, #k, &#p, #status))
                }
                (None, _) => quote!(Ok(ops::empty(#status))),
            };
            (quote!(), call)
        }
        Op::Hook { hook, request, .. } => {
            let h = format_ident!("{}", hook);
            match request {
                Some(req) => {
                    let rq = upper(req);
                    (
                        quote!(crate::extract::JsonBody(body): crate::extract::JsonBody),
                        quote! {
                            let input = ops::request(&models::#rq, body)?;
                            let out = crate::hooks::#h(&state, #(#param_idents,)* input).await?;
                            Ok(ops::json(#status, out))
                        },
                    )
                }
                None => (
                    quote!(),
                    quote! {
                        let out = crate::hooks::#h(&state, #(#param_idents),*).await?;
                        Ok(ops::json(#status, out))
                    },
                ),
            }
        }
    };
    let uses_state = !matches!(r.op, Op::Static { .. });
    let state_arg = if uses_state {
        quote!(axum::extract::State(state): axum::extract::State<AppState>,)
    } else {
        quote!(axum::extract::State(_state): axum::extract::State<AppState>,)
    };
    quote! {
        #[doc = #doc]
        pub(super) async fn #name(#state_arg #path_arg #args) -> Result<Response, ApiError> {
            #body
        }
    }
}
