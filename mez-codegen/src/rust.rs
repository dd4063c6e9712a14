// SPDX-License-Identifier: BUSL-1.1
//! The Rust back end: the direct Mass surface of mez-api.
//!
//! The output is thin by design. It holds the spec as static data (`ModelSpec`s, the route
//! table, static data), typed record structs, and one small handler per route that extracts
//! the request and calls the hand-written runtime (`crate::runtime::ops`) or a named hook
//! (`crate::hooks`). Logic that could live in the runtime lives there, written once.

mod policy;

use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote};
use serde_json::Value;

use crate::model::{
    Access, Bound, Compliance, EvidenceRule, Field, FieldType, IdCheck, Input, MassSpec, Model, Op,
    Orchestrated, Route, Service, Spec, Subject,
};

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
    // The checker refuses names that cannot become identifiers, so the fallback is never
    // generated from an accepted spec; it only keeps a bad name from panicking here.
    field_ident(name).unwrap_or_else(|_| Ident::new("invalid_name", Span::call_site()))
}

/// Words that even a raw identifier cannot spell: `r#self` is not Rust.
const NOT_RAW: &[&str] = &["_", "self", "Self", "super", "crate"];

/// Words reserved by the 2024 edition that syn still parses as identifiers.
const RESERVED_2024: &[&str] = &["gen"];

/// The Rust identifier a spec name (a field, an input name, a path parameter) becomes:
/// snake_case, raw when it is a keyword (`type` -> `r#type`); or why it cannot become one.
pub fn field_ident(name: &str) -> Result<Ident, String> {
    let s = snake(name);
    if s.is_empty() {
        return Err(format!(
            "\"{name}\" has no letters or digits to make a Rust name of"
        ));
    }
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(format!(
            "\"{name}\" becomes `{s}` in Rust, which starts with a digit"
        ));
    }
    if NOT_RAW.contains(&s.as_str()) {
        return Err(format!(
            "\"{name}\" becomes `{s}` in Rust, a reserved word that cannot name a value"
        ));
    }
    if syn::parse_str::<Ident>(&s).is_ok() && !RESERVED_2024.contains(&s.as_str()) {
        Ok(Ident::new(&s, Span::call_site()))
    } else {
        Ok(Ident::new_raw(&s, Span::call_site()))
    }
}

/// Whether a name can be used as it is, not raw, as a Rust item name (a hook function, a
/// generated function): an identifier that is not a keyword.
pub fn is_plain_ident(name: &str) -> bool {
    syn::parse_str::<Ident>(name).is_ok() && !RESERVED_2024.contains(&name)
}

/// The Rust function name of a `/v1` route's handler.
pub fn v1_function_name(o: &Orchestrated) -> String {
    v1_handler_name(o)
}

fn upper(name: &str) -> Ident {
    format_ident!("{}", snake(name).to_ascii_uppercase())
}

/// The route's unique name: its handler, plan function, typed client method and `Route`
/// variant (`get_organization`, or derived: `consent_info_post_consents_approve_id`).
pub fn handler_name(_service: &Service, route: &Route) -> String {
    route.name.clone()
}

/// `get_organization` -> `GetOrganization`.
fn pascal(name: &str) -> Ident {
    let text: String = snake(name)
        .split('_')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect();
    format_ident!("{}", text)
}

/// Whether a route's handler reads the query string.
fn takes_query(r: &Route) -> bool {
    matches!(
        r.op,
        Op::List { .. }
            | Op::ListBy { .. }
            | Op::Create {
                input: Input::Query,
                ..
            }
    )
}

/// Whether a route's handler reads a JSON body.
fn takes_body(r: &Route) -> bool {
    match &r.op {
        Op::Create {
            input: Input::Body, ..
        }
        | Op::Update { .. }
        | Op::Search { .. } => true,
        Op::Hook { request, .. } => request.is_some(),
        _ => false,
    }
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
    let plans: Vec<TokenStream> = spec.routes().map(|(s, r)| plan_fn(s, r)).collect();
    let route_enum = route_enum(spec);

    let route_calls = route_calls(spec.routes().map(|(s, r)| {
        let method = format_ident!("{}", r.method.as_str().to_ascii_lowercase());
        let h = format_ident!("{}", handler_name(s, r));
        (full_path(s, r), quote!(#method(handlers::#h)))
    }));
    let route_count = proc_macro2::Literal::usize_unsuffixed(spec.routes().count());
    let mut url_envs: Vec<&str> = Vec::new();
    for env in spec.services.iter().filter_map(|s| s.url_env.as_deref()) {
        if !url_envs.contains(&env) {
            url_envs.push(env);
        }
    }
    let collections = spec.models().filter_map(|(_, m)| {
        let store = m.store.as_deref()?;
        let konst = upper(store);
        let doc = format!(" The collection of `{}` records.", m.name);
        Some(quote!(#[doc = #doc] pub const #konst: &str = #store;))
    });
    let compliance = compliance_static(spec.services.iter().find_map(|s| s.compliance.as_ref()));
    let client = typed_client(spec);
    let v1 = orchestrated(spec);
    let policies = policy::tables(spec);

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

        /// The collection (store) of each stored model, by its spec name.
        pub mod collections {
            #(#collections)*
        }

        /// The variables naming each service's upstream base URL in proxy mode (`url_env`).
        pub const URL_ENVS: &[&str] = &[#(#url_envs),*];

        /// Every direct route of the spec.
        pub static ROUTES: [crate::runtime::model::RouteInfo; #route_count] = [#(#route_infos),*];

        /// The direct Mass surface: every route of the spec, mounted at its full path.
        pub fn direct_router() -> Router<AppState> {
            Router::new() #(#route_calls)*
        }

        #route_enum
        #compliance
        #policies
        #v1
        #client

        mod handlers {
            use super::*;
            use crate::error::ApiError;
            use axum::response::Response;
            #(#handlers)*
        }

        mod plans {
            #![allow(unused_variables, reason = "every plan function has the signature the dispatcher calls; reads ignore the plan")]
            use super::*;
            use crate::error::ApiError;
            use crate::runtime::ops;
            use crate::runtime::plan::Plan;
            #(#plans)*
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
        FieldType::ModelList(item) => {
            let k = upper(item);
            quote!(FieldType::ModelList(&#k))
        }
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
    if f.unique {
        extra.push(quote!(unique: true,));
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
    if let Some(v) = f.min_items.map(lit) {
        extra.push(quote!(min_items: Some(#v),));
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
    match f.id_check() {
        Some(IdCheck::Cnic) => extra.push(quote!(id_check: Some(IdCheck::Cnic),)),
        Some(IdCheck::Ntn) => extra.push(quote!(id_check: Some(IdCheck::Ntn),)),
        None => {}
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
        FieldType::ModelList(item) => {
            let t = format_ident!("{}", item);
            quote!(Vec<#t>)
        }
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
        // A request-only model's optional keys may be absent; its required ones may not.
        let skip = if stored || f.required {
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
    let url_env = opt(s.url_env.as_deref());
    let example = opt(r.example.as_ref().map(|e| e.to_string()));
    let name = &r.name;
    let fires = policy::fires(&r.fires);
    let access = access(r.access(spec));
    quote! {
        crate::runtime::model::RouteInfo {
            access: #access,
            fires: #fires,
            name: #name,
            service: #service,
            url_env: #url_env,
            example: #example,
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

/// The path extractor of a handler: one `String` per path parameter, in route order.
fn path_extractor(params: &[Ident]) -> TokenStream {
    match params {
        [] => quote!(),
        [p] => quote!(axum::extract::Path(#p): axum::extract::Path<String>,),
        _ => {
            let tys = params.iter().map(|_| quote!(String));
            quote!(axum::extract::Path((#(#params),*)): axum::extract::Path<(#(#tys),*)>,)
        }
    }
}

/// `.route(path, method(handler).other(handler))` calls: axum wants one per path, so the
/// methods of a path are grouped, in first-seen order.
fn route_calls(calls: impl IntoIterator<Item = (String, TokenStream)>) -> Vec<TokenStream> {
    let mut paths: Vec<(String, Vec<TokenStream>)> = Vec::new();
    for (path, call) in calls {
        match paths.iter_mut().find(|(p, _)| *p == path) {
            Some((_, existing)) => existing.push(call),
            None => paths.push((path, vec![call])),
        }
    }
    paths
        .into_iter()
        .map(|(path, calls)| {
            let first = &calls[0];
            let rest = &calls[1..];
            quote!(.route(#path, axum::routing::#first #(.#rest)*))
        })
        .collect()
}

/// The HTTP handler of a direct route: extract, then let the runtime plan, commit and answer.
fn handler(s: &Service, r: &Route) -> TokenStream {
    let name = format_ident!("{}", handler_name(s, r));
    let variant = pascal(&r.name);
    let doc = format!(
        " `{} {}`: {}.",
        r.method.as_str(),
        full_path(s, r),
        r.doc
            .clone()
            .unwrap_or_else(|| format!("op {}", r.op_name()))
    );
    let params: Vec<Ident> = r.params().iter().map(|p| ident(p)).collect();
    let path_arg = path_extractor(&params);
    let takes_query = takes_query(r);
    let takes_body = takes_body(r);
    let query_arg =
        takes_query.then(|| quote!(crate::extract::QueryMap(query): crate::extract::QueryMap,));
    let body_arg =
        takes_body.then(|| quote!(crate::extract::JsonBody(body): crate::extract::JsonBody,));
    let query_field = if takes_query {
        quote!(query,)
    } else {
        quote!()
    };
    let body_field = if takes_body {
        quote!(body: Some(body),)
    } else {
        quote!()
    };
    let writes = r.op.writes(r.method);
    let headers_arg = writes.then(|| quote!(headers: axum::http::HeaderMap,));
    let key_field = if writes {
        quote!(idempotency_key: crate::runtime::args::idempotency_key(&headers)?,)
    } else {
        quote!()
    };
    let rest = if takes_query && takes_body && writes {
        quote!()
    } else {
        quote!(..Default::default())
    };
    quote! {
        #[doc = #doc]
        pub(super) async fn #name(
            axum::extract::State(state): axum::extract::State<AppState>,
            #path_arg #query_arg #headers_arg #body_arg
        ) -> Result<Response, ApiError> {
            let args = crate::runtime::args::CallArgs { params: vec![#(#params),*], #query_field #body_field #key_field #rest };
            crate::runtime::serve::serve(&state, Route::#variant, args).await
        }
    }
}

/// The plan function of a direct route: the operation itself, with the uniform signature the
/// sovereign dispatcher calls (reads ignore the plan).
fn plan_fn(s: &Service, r: &Route) -> TokenStream {
    let name = format_ident!("{}", handler_name(s, r));
    let m = r.model().map(upper);
    let param = |i: usize| {
        let i = proc_macro2::Literal::usize_unsuffixed(i);
        quote!(args.param(#i)?)
    };
    let body = match &r.op {
        Op::Create { input, hook, .. } => {
            let value = match input {
                Input::Body => quote!(args.body()),
                Input::Query => quote!(ops::query_object(args.query)),
            };
            match hook {
                Some(h) => {
                    let h = format_ident!("{}", h);
                    quote! {
                        let mut record = ops::new_record(&models::#m, #value)?;
                        crate::hooks::#h(state, plan, &mut record).await?;
                        ops::insert(plan, &models::#m, record)
                    }
                }
                None => quote! {
                    let record = ops::new_record(&models::#m, #value)?;
                    ops::insert(plan, &models::#m, record)
                },
            }
        }
        Op::Get { .. } => {
            let id = param(0);
            quote!(ops::get(state, plan, &models::#m, #id).await)
        }
        Op::Update { .. } => {
            let id = param(0);
            quote!(ops::update(state, plan, &models::#m, #id, args.body()).await)
        }
        Op::Delete { .. } => {
            let id = param(0);
            quote!(ops::delete(state, plan, &models::#m, #id).await)
        }
        Op::Transition {
            field, from, to, ..
        } => {
            let id = param(0);
            quote!(ops::transition(state, plan, &models::#m, #id, #field, &[#(#from),*], #to).await)
        }
        Op::List {
            ids_param, filters, ..
        } => {
            let ids = opt(ids_param.as_deref());
            let filters = filters.iter().map(|(p, f)| quote!((#p, #f)));
            quote!(ops::list(state, plan, &models::#m, args.query, #ids, &[#(#filters),*]).await)
        }
        Op::Search { field, .. } => {
            quote!(ops::search(state, &models::#m, #field, args.body()).await)
        }
        Op::ListBy { .. } | Op::GetBy { .. } => {
            let pairs = r.params().into_iter().enumerate().map(|(i, p)| {
                let v = param(i);
                quote!((#p, #v))
            });
            if matches!(r.op, Op::ListBy { .. }) {
                quote! {
                    let pairs = [#(#pairs),*];
                    ops::list_by(state, plan, &models::#m, &pairs, args.query.clone()).await
                }
            } else {
                quote! {
                    let pairs = [#(#pairs),*];
                    ops::get_by(state, plan, &models::#m, &pairs).await
                }
            }
        }
        Op::Static { data, key } => match (data, key) {
            (Some(d), None) => {
                let f = data_ident(s, d);
                quote!(ops::static_data(data::#f))
            }
            (Some(d), Some(k)) => {
                let f = data_ident(s, d);
                let id = param(0);
                quote!(ops::static_item(data::#f, #k, #id))
            }
            (None, _) => quote!(Ok(serde_json::Value::Null)),
        },
        Op::Hook { hook, request, .. } => {
            let h = format_ident!("{}", hook);
            let params = (0..r.params().len()).map(|i| {
                let v = param(i);
                quote!(#v.to_string())
            });
            match request {
                Some(req) => {
                    let rq = upper(req);
                    quote! {
                        let input = ops::request(&models::#rq, args.body())?;
                        crate::hooks::#h(state, plan, #(#params,)* input).await
                    }
                }
                None => quote!(crate::hooks::#h(state, plan, #(#params),*).await),
            }
        }
    };
    quote! {
        pub async fn #name(state: &AppState, plan: &mut Plan, args: crate::runtime::args::CallArgs) -> Result<serde_json::Value, ApiError> {
            #body
        }
    }
}

/// The compliance rules as a static of the runtime's type.
fn compliance_static(c: Option<&Compliance>) -> TokenStream {
    let empty = Compliance::default();
    let c = c.unwrap_or(&empty);
    let domains = &c.domains;
    let hard = &c.hard_block;
    let lists = |items: &[(String, Vec<String>)]| -> Vec<TokenStream> {
        items
            .iter()
            .map(|(k, v)| quote!((#k, &[#(#v),*])))
            .collect()
    };
    let categories = lists(&c.categories);
    let jurisdictions = lists(&c.jurisdictions);
    let currencies = c.currencies.iter().map(|(k, v)| quote!((#k, #v)));
    let evidence = c.evidence.iter().map(evidence_rule);
    quote! {
        /// The zone's compliance rules, from the spec.
        pub static COMPLIANCE: crate::compliance::ComplianceRules = crate::compliance::ComplianceRules {
            domains: &[#(#domains),*],
            hard_block: &[#(#hard),*],
            categories: &[#(#categories),*],
            jurisdictions: &[#(#jurisdictions),*],
            currencies: &[#(#currencies),*],
            evidence: &[#(#evidence),*],
        };
    }
}

/// One evidence rule as the runtime's `DomainRule` (the checker has vetted its parameters).
fn evidence_rule(r: &EvidenceRule) -> TokenStream {
    let domain = &r.domain;
    let doc = r.doc.as_deref().unwrap_or("");
    let id_kind = r.id_kind.as_deref().unwrap_or("");
    let secs = r
        .valid_for
        .as_deref()
        .and_then(crate::check::duration_secs)
        .unwrap_or(0);
    let state = |s: Option<&str>| match s {
        Some("non_compliant") => quote!(Some(crate::compliance::ComplianceState::NonCompliant)),
        Some("pending") => quote!(Some(crate::compliance::ComplianceState::Pending)),
        _ => quote!(None),
    };
    let rule = match r.kind.as_str() {
        "screening" => quote!(crate::compliance::EvidenceRule::Screening),
        "owners_verified" => quote!(crate::compliance::EvidenceRule::OwnersVerified {
            id_kind: #id_kind,
            valid_for_secs: #secs,
        }),
        "entity_verified" => {
            let non_filer = state(r.non_filer.as_deref());
            quote!(crate::compliance::EvidenceRule::EntityVerified {
                id_kind: #id_kind,
                valid_for_secs: #secs,
                non_filer: #non_filer,
            })
        }
        "entity_status" => {
            let status = r.status.as_deref().unwrap_or("");
            quote!(crate::compliance::EvidenceRule::EntityStatus { status: #status })
        }
        "cap_table" => quote!(crate::compliance::EvidenceRule::CapTable),
        "account" => quote!(crate::compliance::EvidenceRule::Account),
        "all_of" => {
            let domains = &r.domains;
            quote!(crate::compliance::EvidenceRule::AllOf { domains: &[#(#domains),*] })
        }
        _ => {
            let types = &r.licensed_types;
            quote!(crate::compliance::EvidenceRule::LicenceByType { licensed_types: &[#(#types),*] })
        }
    };
    quote!(crate::compliance::DomainRule { domain: #domain, doc: #doc, rule: #rule })
}

fn v1_handler_name(o: &Orchestrated) -> String {
    snake(&format!(
        "{} {}",
        o.method.as_str().to_ascii_lowercase(),
        o.path.replace(['{', '}'], "")
    ))
}

/// The `/v1` route table, its router and handlers, and the dispatcher of its Mass hooks.
fn orchestrated(spec: &Spec) -> TokenStream {
    let all: Vec<&Orchestrated> = spec.services.iter().flat_map(|s| &s.orchestrated).collect();
    let count = proc_macro2::Literal::usize_unsuffixed(all.len());
    let direct: Vec<(String, String, Ident)> = spec
        .routes()
        .map(|(s, r)| {
            (
                r.method.as_str().to_string(),
                full_path(s, r),
                pascal(&r.name),
            )
        })
        .collect();
    let strs = |v: &[String]| quote!(&[#(#v),*]);
    let infos = all.iter().map(|o| {
        let method = o.method.as_str();
        let path = &o.path;
        let request = match o.request.as_deref().and_then(|n| spec.model(n)) {
            Some(m) => {
                let k = upper(&m.name);
                quote!(Some(&models::#k))
            }
            None => quote!(None),
        };
        let mass = match &o.mass {
            MassSpec::Call { method, path, map } => {
                // The front end checked that the call names a direct route.
                let variant = direct
                    .iter()
                    .find(|(m, p, _)| m == method.as_str() && p == path)
                    .map(|(_, _, v)| v.clone())
                    .unwrap_or_else(|| format_ident!("Unknown"));
                let map = opt(map.as_ref().map(|m| m.to_string()));
                quote!(crate::runtime::model::MassOp::Call { route: Route::#variant, map: #map })
            }
            MassSpec::Hook(h) => {
                let variant = pascal(h);
                quote!(crate::runtime::model::MassOp::Hook(MassHook::#variant))
            }
        };
        let j = &o.jurisdiction;
        let (jf, jc, je, jv) = (
            opt(j.field.as_deref()),
            opt(j.currency.as_deref()),
            opt(j.entity.as_deref()),
            opt(j.value.as_deref()),
        );
        let domains = strs(&o.domains);
        let screen = strs(&o.screen);
        let screen_entities = strs(&o.screen_entities);
        let screen_accounts = strs(&o.screen_accounts);
        let credential = opt(o.credential.as_deref());
        let subject = match &o.subject {
            Some(Subject::Entity(p)) if p == crate::check::RESOURCE_SUBJECT => {
                quote!(Some(crate::runtime::model::Subject::Resource))
            }
            Some(Subject::Entity(p)) => quote!(Some(crate::runtime::model::Subject::Entity(#p))),
            Some(Subject::Account(p)) => quote!(Some(crate::runtime::model::Subject::Account(#p))),
            None => quote!(None),
        };
        let answer_id = o.answer_id.as_deref().unwrap_or("id");
        let screen_answer = strs(&o.screen_answer);
        let audit = match &o.audit {
            Some(a) => {
                let (e, r, ac) = (&a.event, &a.resource, &a.action);
                let md = a.metadata.iter().map(|(k, v)| quote!((#k, #v)));
                quote!(Some(crate::runtime::model::V1Audit { event: #e, resource: #r, action: #ac, metadata: &[#(#md),*] }))
            }
            None => quote!(None),
        };
        let status = proc_macro2::Literal::u16_unsuffixed(o.status);
        let example = opt(o.example.as_ref().map(|e| e.to_string()));
        let fires = policy::fires(&o.fires);
        let access = access(o.access());
        quote! {
            crate::runtime::model::V1Route {
                access: #access,
                fires: #fires,
                example: #example,
                method: #method,
                path: #path,
                request: #request,
                mass: #mass,
                jurisdiction: crate::runtime::model::JurisdictionSource { field: #jf, currency: #jc, entity: #je, value: #jv },
                domains: #domains,
                screen: #screen,
                screen_entities: #screen_entities,
                screen_accounts: #screen_accounts,
                answer_id: #answer_id,
                screen_answer: #screen_answer,
                credential: #credential,
                subject: #subject,
                audit: #audit,
                status: #status,
            }
        }
    });

    let route_calls = route_calls(all.iter().map(|o| {
        let method = format_ident!("{}", o.method.as_str().to_ascii_lowercase());
        let h = format_ident!("{}", v1_handler_name(o));
        (o.path.clone(), quote!(#method(v1::#h)))
    }));

    let handlers = all.iter().enumerate().map(|(i, o)| {
        let name = format_ident!("{}", v1_handler_name(o));
        let index = proc_macro2::Literal::usize_unsuffixed(i);
        let params: Vec<Ident> = o.params().iter().map(|p| ident(p)).collect();
        let path_arg = path_extractor(&params);
        let (body_arg, body_field) = if o.method.is_write() {
            (
                quote!(crate::extract::JsonBody(body): crate::extract::JsonBody,),
                quote!(body: Some(body),),
            )
        } else {
            (quote!(), quote!(body: None,))
        };
        let doc = format!(
            " `{} {}`: {}.",
            o.method.as_str(),
            o.path,
            o.doc.clone().unwrap_or_else(|| "orchestrated".into())
        );
        quote! {
            #[doc = #doc]
            pub(super) async fn #name(
                axum::extract::State(state): axum::extract::State<AppState>,
                #path_arg
                crate::extract::QueryMap(query): crate::extract::QueryMap,
                #body_arg
            ) -> Result<Response, ApiError> {
                let args = crate::runtime::args::CallArgs { params: vec![#(#params),*], query, #body_field idempotency_key: None };
                crate::pipeline::run(&state, &V1_ROUTES[#index], args).await
            }
        }
    });

    let hooks = mass_hooks(spec);

    quote! {
        /// Every orchestrated `/v1` route of the spec.
        pub static V1_ROUTES: [crate::runtime::model::V1Route; #count] = [#(#infos),*];

        /// The orchestrated `/v1` surface.
        pub fn v1_router() -> Router<AppState> {
            Router::new() #(#route_calls)*
        }

        #hooks

        mod v1 {
            use super::*;
            use crate::error::ApiError;
            use axum::response::Response;
            #(#handlers)*
        }
    }
}

/// The Rust type a direct route answers with, from the spec.
fn response_type(spec: &Spec, r: &Route) -> TokenStream {
    let model = r
        .model()
        .and_then(|m| spec.model(m))
        .map(|m| format_ident!("{}", m.name));
    match (&r.op, model) {
        (
            Op::Create { .. }
            | Op::Get { .. }
            | Op::Update { .. }
            | Op::Transition { .. }
            | Op::GetBy { .. },
            Some(m),
        ) => {
            quote!(types::#m)
        }
        (Op::List { .. } | Op::ListBy { .. }, Some(m)) => quote!(Vec<types::#m>),
        (Op::Search { .. }, Some(m)) => quote!(crate::runtime::model::SearchPage<types::#m>),
        (Op::Delete { .. }, _) => quote!(()),
        _ => match &r.response {
            Some(crate::model::Response::Model(m)) => {
                let m = format_ident!("{}", m);
                quote!(types::#m)
            }
            Some(crate::model::Response::ModelList(m)) => {
                let m = format_ident!("{}", m);
                quote!(Vec<types::#m>)
            }
            Some(crate::model::Response::JsonList) => quote!(Vec<serde_json::Value>),
            Some(crate::model::Response::Empty) => quote!(()),
            None => quote!(serde_json::Value),
        },
    }
}

/// The parameters of a route's typed method, the `CallArgs` built from them, and its answer.
fn typed_signature(spec: &Spec, r: &Route) -> (TokenStream, TokenStream, TokenStream) {
    let params: Vec<Ident> = r.params().iter().map(|p| ident(p)).collect();
    let (query_decl, query) = if takes_query(r) {
        (
            quote!(query: std::collections::BTreeMap<String, String>,),
            quote!(query,),
        )
    } else {
        (quote!(), quote!(query: std::collections::BTreeMap::new(),))
    };
    let (body_decl, body) = if takes_body(r) {
        (quote!(body: serde_json::Value,), quote!(Some(body)))
    } else {
        (quote!(), quote!(None))
    };
    let ty = response_type(spec, r);
    (
        quote!(#(#params: &str,)* #query_decl #body_decl),
        quote! {
            crate::runtime::args::CallArgs {
                params: vec![#(#params.to_string()),*],
                #query
                body: #body,
                idempotency_key: None,
            }
        },
        quote!(crate::mass::Answer<#ty>),
    )
}

/// `Route`: one variant per direct route, the typed handle through which the runtime plans a
/// route (sovereign), checks an upstream answer against its spec type (proxy), and finds the
/// route's facts. No runtime code names a route by index or by path.
fn route_enum(spec: &Spec) -> TokenStream {
    let count = proc_macro2::Literal::usize_unsuffixed(spec.routes().count());
    let variants: Vec<Ident> = spec.routes().map(|(_, r)| pascal(&r.name)).collect();
    let docs = spec.routes().map(|(s, r)| {
        format!(
            " `{} {}` (`{}`).",
            r.method.as_str(),
            full_path(s, r),
            r.name
        )
    });
    let plan_arms = spec.routes().map(|(s, r)| {
        let v = pascal(&r.name);
        let f = format_ident!("{}", handler_name(s, r));
        quote!(Self::#v => plans::#f(state, plan, args).await,)
    });
    let check_arms = spec.routes().map(|(_, r)| {
        let v = pascal(&r.name);
        let ty = response_type(spec, r);
        quote!(Self::#v => crate::mass::decodes::<#ty>(value),)
    });
    let roundtrip_arms = spec.routes().map(|(_, r)| {
        let v = pascal(&r.name);
        let ty = response_type(spec, r);
        quote!(Self::#v => crate::mass::through::<#ty>(value),)
    });
    quote! {
        /// A direct route of the spec, in the order of [`ROUTES`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Route {
            #(#[doc = #docs] #variants,)*
        }

        impl Route {
            /// Every direct route, in spec order.
            pub const ALL: [Route; #count] = [#(Route::#variants),*];

            /// The route's facts: method, full path, service, models, audit event.
            pub fn info(self) -> &'static crate::runtime::model::RouteInfo {
                &ROUTES[self as usize]
            }

            /// Plans the route: the sovereign Mass operation that both the direct handler and
            /// the `/v1` pipeline run (reads ignore the plan).
            pub async fn plan(
                self,
                state: &AppState,
                plan: &mut crate::runtime::plan::Plan,
                args: crate::runtime::args::CallArgs,
            ) -> Result<serde_json::Value, crate::error::ApiError> {
                match self {
                    #(#plan_arms)*
                }
            }

            /// Whether an answer of this route decodes as the route's spec type.
            pub fn check_answer(self, value: &serde_json::Value) -> Result<(), serde_json::Error> {
                match self {
                    #(#check_arms)*
                }
            }

            /// Decodes an answer into the route's spec type and encodes it again, so that a
            /// test can see that the type keeps every field under its own name.
            pub fn roundtrip(self, value: serde_json::Value) -> Result<serde_json::Value, serde_json::Error> {
                match self {
                    #(#roundtrip_arms)*
                }
            }
        }

        /// [`Route::roundtrip`] of the route at `index` of [`ROUTES`] (tests address routes so).
        pub fn roundtrip(index: usize, value: serde_json::Value) -> Result<serde_json::Value, serde_json::Error> {
            match Route::ALL.get(index) {
                Some(route) => route.roundtrip(value),
                None => Ok(value),
            }
        }
    }
}

/// The typed Mass client: one method per direct route on `MassCall`, answering the route's spec
/// type, in whichever mode the zone runs (a proxy zone's answer that does not fit is a 502).
fn typed_client(spec: &Spec) -> TokenStream {
    let methods = spec.routes().map(|(s, r)| {
        let name = format_ident!("{}", handler_name(s, r));
        let variant = pascal(&r.name);
        let (decl, args, ret) = typed_signature(spec, r);
        let doc = format!(" `{} {}`.", r.method.as_str(), full_path(s, r));
        quote! {
            #[doc = #doc]
            pub async fn #name(&mut self, #decl) -> Result<#ret, crate::error::ApiError> {
                self.typed(Route::#variant, #args).await
            }
        }
    });
    quote! {
        /// The typed Mass client: every direct route of the spec, answering its spec type.
        impl crate::mass::MassCall<'_> {
            #(#methods)*
        }
    }
}

/// The `/v1` Mass hooks: a view per hook with a typed method for each route the spec lets it
/// call (and no other), and `MassHook`, the typed dispatch the `/v1` route table holds.
fn mass_hooks(spec: &Spec) -> TokenStream {
    let hooks: Vec<&crate::model::MassHook> =
        spec.services.iter().flat_map(|s| &s.mass_hooks).collect();
    let views = hooks.iter().map(|h| {
        let view = pascal(&h.name);
        let doc = format!(
            " The routes `{}` may call: {}.",
            h.name,
            h.calls
                .iter()
                .map(|(c, _)| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let methods = h.calls.iter().filter_map(|(call, _)| {
            let (_, r) = spec.routes().find(|(_, r)| &r.name == call)?;
            let name = format_ident!("{}", r.name);
            let (decl, _, ret) = typed_signature(spec, r);
            let args = r
                .params()
                .iter()
                .map(|p| {
                    let p = ident(p);
                    quote!(#p)
                })
                .chain(takes_query(r).then(|| quote!(query)))
                .chain(takes_body(r).then(|| quote!(body)))
                .collect::<Vec<_>>();
            let mdoc = format!(" `{} {}`.", r.method.as_str(), r.path);
            Some(quote! {
                #[doc = #mdoc]
                pub async fn #name(&mut self, #decl) -> Result<#ret, crate::error::ApiError> {
                    self.0.#name(#(#args),*).await
                }
            })
        });
        let outputs = h.outputs.iter().map(|o| {
            let setter = format_ident!("output_{}", o);
            let odoc = format!(
                " Hands back the hook's output `{o}` (`outputs.{o}` in a route's `fires`)."
            );
            quote! {
                #[doc = #odoc]
                pub fn #setter(&mut self, value: serde_json::Value) {
                    self.0.outputs.insert(#o.to_string(), value);
                }
            }
        });
        let keeps = h.keeps.iter().map(|k| {
            let collection = h.kept_collection(k);
            let reader = format_ident!("read_{}", k);
            let adder = format_ident!("add_to_{}", k);
            let rdoc =
                format!(" Reads the hook's kept state `{k}` (zone collection `{collection}`).");
            let adoc = format!(
                " Adds `amount` to the decimal field `field` of the kept state `{k}` in the \
                 request's own commit, or stores `seed` (its `field` already including `amount`) \
                 when there is none; concurrent additions never conflict."
            );
            quote! {
                #[doc = #rdoc]
                pub async fn #reader(
                    &mut self,
                    id: &str,
                ) -> Result<Option<crate::db::Record>, crate::error::ApiError> {
                    self.0.read_kept(#collection, id).await
                }
                #[doc = #adoc]
                pub fn #adder(
                    &mut self,
                    id: &str,
                    (field, amount): (&str, rust_decimal::Decimal),
                    seed: crate::db::Record,
                ) {
                    self.0.add_kept(#collection, id, (field, amount), seed);
                }
            }
        });
        quote! {
            #[doc = #doc]
            pub struct #view<'m, 'a>(pub(super) &'m mut crate::mass::MassCall<'a>);
            impl #view<'_, '_> {
                #(#methods)*
                #(#outputs)*
                #(#keeps)*
            }
        }
    });
    let variants: Vec<Ident> = hooks.iter().map(|h| pascal(&h.name)).collect();
    let docs = hooks.iter().map(|h| {
        format!(
            " `{}`: {}",
            h.name,
            h.doc.as_deref().unwrap_or("a Mass hook.")
        )
    });
    let names = hooks.iter().map(|h| h.name.as_str());
    let arms = hooks.iter().map(|h| {
        let v = pascal(&h.name);
        let f = format_ident!("{}", h.name);
        quote!(Self::#v => crate::hooks::#f(mass_hooks::#v(mass), request).await,)
    });
    quote! {
        /// The views the hand-written `/v1` Mass hooks call routes through.
        pub mod mass_hooks {
            use super::*;
            #(#views)*
        }

        /// A hand-written `/v1` Mass operation of the spec.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum MassHook {
            #(#[doc = #docs] #variants,)*
        }

        impl MassHook {
            /// The hook's name in the spec.
            pub fn name(self) -> &'static str {
                match self {
                    #(Self::#variants => #names,)*
                }
            }

            /// Runs the hook over the request's Mass calls.
            pub async fn run(
                self,
                mass: &mut crate::mass::MassCall<'_>,
                request: &crate::db::Record,
            ) -> Result<serde_json::Value, crate::error::ApiError> {
                match self {
                    #(#arms)*
                }
            }
        }
    }
}

/// A route's access, as the runtime's `Access`.
fn access(access: Access) -> TokenStream {
    let variant = format_ident!("{}", access.variant());
    quote!(crate::runtime::model::Access::#variant)
}
