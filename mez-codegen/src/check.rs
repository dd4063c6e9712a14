// SPDX-License-Identifier: BUSL-1.1
//! Semantic checks over the whole parsed spec.
//!
//! The parser checks shapes (keys, types of YAML values); this module checks meaning: names
//! resolve, defaults fit their fields, routes are unique, path parameters have fields, and
//! every write names its audit event. Nothing is generated from a spec that fails here.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::diag::{Diagnostics, Pos};
use crate::model::{
    Access, Bound, Compliance, EvidenceRule, Field, FieldType, Input, MassSpec, Model, Op,
    Orchestrated, Route, Service, Spec, Subject,
};
use crate::parse::is_decimal;

/// Field names the runtime sets on every stored record.
const RESERVED: &[&str] = &["id", "createdAt", "updatedAt"];

pub mod policy;

pub fn check(spec: &Spec, diags: &mut Diagnostics) {
    let mut services: BTreeMap<&str, &Pos> = BTreeMap::new();
    let mut models: BTreeMap<&str, &Pos> = BTreeMap::new();
    let mut stores: BTreeMap<&str, &Pos> = BTreeMap::new();
    for service in &spec.services {
        if let Some(first) = services.insert(&service.name, &service.pos) {
            diags.push(
                &service.pos,
                format!(
                    "duplicate service \"{}\" (first declared at {first})",
                    service.name
                ),
            );
        }
        if let Some(env) = &service.url_env {
            if env.is_empty()
                || !env
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
            {
                diags.push(
                    &service.pos,
                    format!("url_env \"{env}\" must be an UPPER_SNAKE_CASE variable name"),
                );
            }
        }
        for model in &service.models {
            if let Some(first) = models.insert(&model.name, &model.pos) {
                diags.push(
                    &model.pos,
                    format!(
                        "duplicate model \"{}\" (first declared at {first})",
                        model.name
                    ),
                );
            }
            if !is_pascal(&model.name) {
                diags.push(
                    &model.pos,
                    format!("model name \"{}\" must be PascalCase", model.name),
                );
            }
            if let Some(store) = &model.store {
                // A store names a generated constant (`collections::CAP_TABLES`) too, so it
                // starts with a letter.
                if !is_snake(store) || !store.starts_with(|c: char| c.is_ascii_lowercase()) {
                    diags.push(
                        &model.pos,
                        format!(
                            "store \"{store}\" must be a snake_case name starting with a letter"
                        ),
                    );
                }
                if let Some(first) = stores.insert(store, &model.pos) {
                    diags.push(
                        &model.pos,
                        format!("store \"{store}\" is used by two models (first at {first})"),
                    );
                }
            }
            check_model(model, diags);
        }
    }

    for (_, model) in spec.models() {
        for field in &model.fields {
            if let FieldType::ModelList(item) = &field.ty {
                match spec.model(item) {
                    None => diags.push(&field.pos, format!("field \"{}.{}\" lists unknown model \"{item}\"", model.name, field.name)),
                    Some(m) if m.store.is_some() => diags.push(&field.pos, format!("field \"{}.{}\" lists \"{item}\", which is stored; list items must be request-only models", model.name, field.name)),
                    Some(m) if m.name == model.name => diags.push(&field.pos, format!("field \"{}.{}\" lists its own model", model.name, field.name)),
                    Some(_) => {}
                }
            }
        }
    }

    let mut routes: BTreeMap<(String, String), &Pos> = BTreeMap::new();
    for (service, route) in spec.routes() {
        let full = format!("{}{}", service.context_path, route.path);
        let key = (route.method.as_str().to_string(), normalise_path(&full));
        if let Some(first) = routes.insert(key, &route.pos) {
            diags.push(
                &route.pos,
                format!(
                    "duplicate route {} {full} (first declared at {first})",
                    route.method.as_str()
                ),
            );
        }
        check_route(spec, service, route, diags);
    }
    let compliance = check_compliance(spec, diags);
    check_orchestrated(spec, compliance.as_ref(), diags);
    check_examples(spec, diags);
    check_names(spec, diags);
    check_responses(spec, diags);
    check_rust_names(spec, diags);
    check_route_paths(spec, diags);
    check_default_formats(spec, diags);
    check_v1_paths(spec, diags);
    policy::check_policies(spec, diags);
    policy::check_triggers(spec, diags);
}

/// A declared `response` names a model of the spec, and only hook and static routes declare
/// one (a CRUD route answers its own model).
fn check_responses(spec: &Spec, diags: &mut Diagnostics) {
    for (_, route) in spec.routes() {
        let Some(response) = &route.response else {
            continue;
        };
        let what = format!("route {} {}", route.method.as_str(), route.path);
        if !matches!(route.op, Op::Hook { .. } | Op::Static { .. }) {
            diags.push(
                &route.pos,
                format!(
                    "{what} (op {}) answers its model; only hook and static routes declare a \"response\"",
                    route.op_name()
                ),
            );
        }
        if let crate::model::Response::Model(name) | crate::model::Response::ModelList(name) =
            response
        {
            if spec.model(name).is_none() {
                diags.push(
                    &route.pos,
                    format!("{what} answers unknown model \"{name}\" (expected a model, list<Model>, list<json> or empty)"),
                );
            }
        }
    }
}

/// Whether `name` can be a generated snake_case function name.
fn usable_fn_name(name: &str) -> Result<(), &'static str> {
    if !is_snake(name) || name.starts_with('_') || name.ends_with('_') || name.contains("__") {
        Err("must be a snake_case identifier")
    } else if !crate::rust::is_plain_ident(name) {
        Err("is a Rust keyword")
    } else {
        Ok(())
    }
}

/// The `/v1` Mass hooks with the routes each calls: every hook name usable, declared once and
/// used, every call a route of the spec.
pub fn check_names(spec: &Spec, diags: &mut Diagnostics) {
    // Route names are checked as the Rust functions they become (`check_rust_names`); here
    // they are what a hook's `calls` may name.
    let names: BTreeSet<&str> = spec.routes().map(|(_, r)| r.name.as_str()).collect();
    let used: BTreeSet<&str> = spec
        .services
        .iter()
        .flat_map(|s| &s.orchestrated)
        .filter_map(|o| match &o.mass {
            MassSpec::Hook(h) => Some(h.as_str()),
            MassSpec::Call { .. } => None,
        })
        .collect();
    let mut hooks: BTreeMap<&str, &Pos> = BTreeMap::new();
    for hook in spec.services.iter().flat_map(|s| &s.mass_hooks) {
        if let Err(problem) = usable_fn_name(&hook.name) {
            diags.push(
                &hook.pos,
                format!("mass hook name \"{}\" {problem}", hook.name),
            );
        }
        if let Some(first) = hooks.insert(&hook.name, &hook.pos) {
            diags.push(
                &hook.pos,
                format!(
                    "duplicate mass hook \"{}\" (first declared at {first})",
                    hook.name
                ),
            );
        }
        if !used.contains(hook.name.as_str()) {
            diags.push(
                &hook.pos,
                format!(
                    "mass hook \"{}\" is declared but no /v1 route uses it",
                    hook.name
                ),
            );
        }
        let mut calls: BTreeSet<&str> = BTreeSet::new();
        for (call, pos) in &hook.calls {
            if !names.contains(call.as_str()) {
                diags.push(
                    pos,
                    format!(
                        "mass hook \"{}\" calls route \"{call}\", which no route of the spec is named",
                        hook.name
                    ),
                );
            }
            if !calls.insert(call) {
                diags.push(
                    pos,
                    format!("mass hook \"{}\" lists route \"{call}\" twice", hook.name),
                );
            }
        }
    }
    for o in spec.services.iter().flat_map(|s| &s.orchestrated) {
        if let MassSpec::Hook(h) = &o.mass {
            if !hooks.contains_key(h.as_str()) {
                diags.push(
                    &o.pos,
                    format!(
                        "route {} {} uses mass hook \"{h}\", which \"mass_hooks\" does not declare",
                        o.method.as_str(),
                        o.path
                    ),
                );
            }
        }
    }
}

/// Paths equal up to parameter names collide in the router: `/a/{id}` and `/a/{x}`.
fn normalise_path(path: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    for c in path.chars() {
        match c {
            '{' => {
                depth += 1;
                out.push_str("{}");
            }
            '}' => depth -= 1,
            _ if depth > 0 => {}
            _ => out.push(c),
        }
    }
    out
}

fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn is_snake(s: &str) -> bool {
    is_ident(s)
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn is_pascal(s: &str) -> bool {
    is_ident(s) && s.starts_with(|c: char| c.is_ascii_uppercase()) && !s.contains('_')
}

fn check_model(model: &Model, diags: &mut Diagnostics) {
    let mut inputs: BTreeMap<&str, &Pos> = BTreeMap::new();
    for field in &model.fields {
        let what = format!("field \"{}.{}\"", model.name, field.name);
        if !is_ident(&field.name) {
            diags.push(
                &field.pos,
                format!("{what}: field names must be identifiers"),
            );
        }
        if !is_ident(&field.input) {
            diags.push(
                &field.pos,
                format!(
                    "{what}: input name \"{}\" must be an identifier",
                    field.input
                ),
            );
        }
        if model.store.is_some() && RESERVED.contains(&field.name.as_str()) {
            diags.push(
                &field.pos,
                format!(
                    "{what}: \"{}\" is set by the server on every record and cannot be declared",
                    field.name
                ),
            );
        }
        if !field.server_set {
            if let Some(first) = inputs.insert(&field.input, &field.pos) {
                diags.push(
                    &field.pos,
                    format!(
                        "{what}: input name \"{}\" is already used at {first}",
                        field.input
                    ),
                );
            }
        }
        if field.required && field.default.is_some() {
            diags.push(
                &field.pos,
                format!("{what} is required and also has a default; choose one"),
            );
        }
        if field.required && field.server_set {
            diags.push(
                &field.pos,
                format!("{what} is server_set, so a request cannot be required to send it"),
            );
        }
        if field.transient && (field.server_set || model.store.is_none()) {
            diags.push(
                &field.pos,
                format!("{what}: transient applies only to request fields of stored models"),
            );
        }
        if field.unique && (model.store.is_none() || !field.ty.is_textual() || field.transient) {
            diags.push(&field.pos, format!("{what}: unique applies to stored text fields (string, uuid, enum, decimal, datetime)"));
        }
        check_field_limits(&what, field, diags);
        if let Some(default) = &field.default {
            if let Err(why) = value_fits(field, default) {
                diags.push(&field.pos, format!("{what}: default {default} {why}"));
            }
        }
    }
}

fn check_field_limits(what: &str, field: &Field, diags: &mut Diagnostics) {
    let textual = matches!(field.ty, FieldType::String | FieldType::StringList);
    if (field.max_len.is_some() || field.min_len.is_some() || field.trim) && !textual {
        diags.push(
            &field.pos,
            format!(
                "{what}: min_len, max_len and trim apply to string fields, not {}",
                field.ty.spec_name()
            ),
        );
    }
    let is_list = matches!(
        field.ty,
        FieldType::StringList | FieldType::JsonList | FieldType::ModelList(_)
    );
    if field.min_items.is_some() && !is_list {
        diags.push(
            &field.pos,
            format!(
                "{what}: min_items applies to list fields, not {}",
                field.ty.spec_name()
            ),
        );
    }
    if let (Some(min), Some(max)) = (field.min_items, field.max_items) {
        if min > max {
            diags.push(
                &field.pos,
                format!("{what}: min_items {min} is greater than max_items {max}"),
            );
        }
    }
    if field.max_items.is_some() && !is_list {
        diags.push(
            &field.pos,
            format!(
                "{what}: max_items applies to list fields, not {}",
                field.ty.spec_name()
            ),
        );
    }
    if let (Some(min), Some(max)) = (field.min_len, field.max_len) {
        if min > max {
            diags.push(
                &field.pos,
                format!("{what}: min_len {min} is greater than max_len {max}"),
            );
        }
    }
    if let (Some(min), Some(max)) = (&field.min, &field.max) {
        let inverted = match (min, max) {
            (Bound::Int(a), Bound::Int(b)) => a > b,
            (Bound::Decimal(a), Bound::Decimal(b)) => decimal_cmp(a, b).is_gt(),
            _ => false,
        };
        if inverted {
            diags.push(&field.pos, format!("{what}: min is greater than max"));
        }
    }
    if let FieldType::Enum(values) = &field.ty {
        let mut seen = BTreeSet::new();
        for v in values {
            if !seen.insert(v) {
                diags.push(
                    &field.pos,
                    format!("{what}: enum value \"{v}\" is listed twice"),
                );
            }
        }
    }
}

/// Compares two plain decimal strings numerically (no floating point).
pub fn decimal_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    fn parts(s: &str) -> (bool, String, String) {
        let neg = s.starts_with('-');
        let body = s.trim_start_matches('-');
        let (i, f) = body.split_once('.').unwrap_or((body, ""));
        let i = i.trim_start_matches('0').to_string();
        let f = f.trim_end_matches('0').to_string();
        let zero = i.is_empty() && f.is_empty();
        (neg && !zero, i, f)
    }
    let (an, ai, af) = parts(a);
    let (bn, bi, bf) = parts(b);
    let magnitude = ai
        .len()
        .cmp(&bi.len())
        .then_with(|| ai.cmp(&bi))
        .then_with(|| {
            let width = af.len().max(bf.len());
            format!("{af:0<width$}").cmp(&format!("{bf:0<width$}"))
        });
    match (an, bn) {
        (false, false) => magnitude,
        (true, true) => magnitude.reverse(),
        (true, false) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
    }
}

/// Whether a spec value (a default) is a valid value of the field; the reason when not.
fn value_fits(field: &Field, value: &Value) -> Result<(), String> {
    let len_ok = |s: &str| -> Result<(), String> {
        let n = s.chars().count() as u64;
        if field.max_len.is_some_and(|m| n > m) {
            return Err(format!(
                "is longer than max_len {}",
                field.max_len.unwrap_or_default()
            ));
        }
        if field.min_len.is_some_and(|m| n < m) {
            return Err(format!(
                "is shorter than min_len {}",
                field.min_len.unwrap_or_default()
            ));
        }
        Ok(())
    };
    match (&field.ty, value) {
        (_, Value::Null) => Ok(()),
        (FieldType::String, Value::String(s)) => len_ok(s),
        (FieldType::Uuid | FieldType::DateTime, Value::String(_)) => Ok(()),
        (FieldType::Integer, Value::Number(n)) if n.is_i64() => {
            let i = n.as_i64().unwrap_or_default();
            match (&field.min, &field.max) {
                (Some(Bound::Int(min)), _) if i < *min => Err(format!("is below min {min}")),
                (_, Some(Bound::Int(max))) if i > *max => Err(format!("is above max {max}")),
                _ => Ok(()),
            }
        }
        (FieldType::Boolean, Value::Bool(_)) => Ok(()),
        (FieldType::Decimal, Value::String(s)) if is_decimal(s) => match (&field.min, &field.max) {
            (Some(Bound::Decimal(min)), _) if decimal_cmp(s, min).is_lt() => {
                Err(format!("is below min {min}"))
            }
            (_, Some(Bound::Decimal(max))) if decimal_cmp(s, max).is_gt() => {
                Err(format!("is above max {max}"))
            }
            _ => Ok(()),
        },
        (FieldType::Decimal, _) => Err("must be a quoted decimal string such as \"1.00\"".into()),
        (FieldType::Json, _) => Ok(()),
        (FieldType::Object, Value::Object(_)) => Ok(()),
        (FieldType::Enum(values), Value::String(s)) => {
            if values.contains(s) {
                Ok(())
            } else {
                Err(format!("is not among its values ({})", values.join(", ")))
            }
        }
        (FieldType::StringList, Value::Array(items)) => {
            for item in items {
                match item {
                    Value::String(s) => len_ok(s)?,
                    _ => return Err("must hold only strings".into()),
                }
            }
            Ok(())
        }
        (FieldType::JsonList | FieldType::ModelList(_), Value::Array(items))
            if items.is_empty() =>
        {
            Ok(())
        }
        (FieldType::JsonList, Value::Array(_)) => Ok(()),
        (ty, _) => Err(format!("is not a valid {}", ty.spec_name())),
    }
}

fn check_route(spec: &Spec, service: &Service, route: &Route, diags: &mut Diagnostics) {
    let what = format!("route {} {}", route.method.as_str(), route.path);
    let model = route_model(spec, route, &what, diags);
    check_route_method(route, &what, diags);
    check_route_params(route, model, &what, diags);
    check_route_op(spec, service, route, model, &what, diags);
    check_hook_rules(route, &what, diags);
    check_route_access(route, model, &what, diags);
}

/// A route's declared `access`: `public` only for reads of no entity's records (another
/// entity's records would be shown to an entity operator); `entity` only where the records
/// the route reads or writes say whose they are. (The defaults meet these rules.)
fn check_route_access(route: &Route, model: Option<&Model>, what: &str, diags: &mut Diagnostics) {
    let stored = model.filter(|m| m.store.is_some());
    let Some(declared) = route.access else {
        return;
    };
    match declared {
        Access::Public if route.op.writes(route.method) => diags.push(
            &route.pos,
            format!(
                "{what}: access \"public\" is for reads; a write is an entity's (\"entity\") \
                 or the zone's (\"zone\")"
            ),
        ),
        Access::Public => {
            if let Some(m) = stored.filter(|m| m.entity.is_some()) {
                diags.push(
                    &route.pos,
                    format!(
                        "{what}: access \"public\" would show every entity's \"{}\" records to \
                         an entity operator (use \"entity\")",
                        m.name
                    ),
                );
            }
        }
        Access::Entity => {
            if let Some(m) = stored.filter(|m| m.entity.is_none()) {
                diags.push(
                    &route.pos,
                    format!(
                        "{what}: access \"entity\" needs model \"{}\" to declare its \
                         \"entity\" link (the field that ties a record to its entity), or the \
                         route to declare access \"zone\"",
                        m.name
                    ),
                );
            }
        }
        Access::Zone => {}
    }
}

/// `hook_rules` state what a hook checks, so only a route with a hook declares them, and each
/// says something.
fn check_hook_rules(route: &Route, what: &str, diags: &mut Diagnostics) {
    if route.hook_rules.is_empty() {
        return;
    }
    let hooked = matches!(route.op, Op::Hook { .. } | Op::Create { hook: Some(_), .. });
    if !hooked {
        diags.push(
            &route.pos,
            format!(
                "{what} (op {}) has no hook; only a route with a hook declares \"hook_rules\"",
                route.op_name()
            ),
        );
    }
    if route.hook_rules.iter().any(|rule| rule.trim().is_empty()) {
        diags.push(&route.pos, format!("{what}: a hook rule is empty"));
    }
}

/// The model the route names, which must exist; CRUD ops need a stored one.
fn route_model<'s>(
    spec: &'s Spec,
    route: &Route,
    what: &str,
    diags: &mut Diagnostics,
) -> Option<&'s Model> {
    let model = route.model().and_then(|name| match spec.model(name) {
        Some(m) => Some(m),
        None => {
            diags.push(&route.pos, format!("{what} names unknown model \"{name}\""));
            None
        }
    });
    if let Some(m) = model {
        if m.store.is_none() {
            diags.push(
                &route.pos,
                format!(
                    "{what} (op {}) needs a stored model, but \"{}\" has no \"store\"",
                    route.op_name(),
                    m.name
                ),
            );
        }
    }
    model
}

/// Audit events (every write names one; reads name none) and the method each op allows.
fn check_route_method(route: &Route, what: &str, diags: &mut Diagnostics) {
    match (&route.audit, route.op.writes(route.method)) {
        (None, true) => diags.push(
            &route.pos,
            format!(
                "{what} writes (op {}) but has no \"audit\" event",
                route.op_name()
            ),
        ),
        (Some(_), false) => diags.push(
            &route.pos,
            format!("{what} does not write, so it takes no \"audit\" event"),
        ),
        (Some(event), true) => {
            let ok = event
                .split_once('.')
                .is_some_and(|(a, b)| is_snake(a) && is_snake(b));
            if !ok {
                diags.push(
                    &route.pos,
                    format!(
                        "{what}: audit event \"{event}\" must read resource.action in snake_case"
                    ),
                );
            }
        }
        (None, false) => {}
    }
    if let Op::Hook {
        read_only: true, ..
    } = route.op
    {
        if !route.method.is_write() {
            diags.push(
                &route.pos,
                format!("{what}: read_only only applies to POST, PUT and DELETE hooks"),
            );
        }
    }
    if let Op::Hook {
        read_only: false, ..
    } = route.op
    {
        if !route.method.is_write() && route.audit.is_some() {
            diags.push(&route.pos, format!("{what}: a GET hook cannot write"));
        }
    }
    let writes_by_op = matches!(
        route.op,
        Op::Create { .. } | Op::Update { .. } | Op::Delete { .. } | Op::Transition { .. }
    );
    if writes_by_op && !route.method.is_write() {
        diags.push(
            &route.pos,
            format!("{what}: op {} writes and cannot be a GET", route.op_name()),
        );
    }
    if matches!(
        route.op,
        Op::Get { .. } | Op::List { .. } | Op::ListBy { .. } | Op::GetBy { .. } | Op::Static { .. }
    ) && route.method.is_write()
    {
        diags.push(
            &route.pos,
            format!("{what}: op {} reads and must be a GET", route.op_name()),
        );
    }
}

/// Path parameters: identifiers, once each, and the ones the op needs.
fn check_route_params(route: &Route, model: Option<&Model>, what: &str, diags: &mut Diagnostics) {
    let params = route.params();
    let mut seen = BTreeSet::new();
    for p in &params {
        if !is_ident(p) {
            diags.push(
                &route.pos,
                format!("{what}: path parameter {{{p}}} must be an identifier"),
            );
        }
        if !seen.insert(p) {
            diags.push(
                &route.pos,
                format!("{what}: path parameter {{{p}}} appears twice"),
            );
        }
    }
    match &route.op {
        Op::Get { .. } | Op::Update { .. } | Op::Delete { .. } | Op::Transition { .. } => {
            if params != ["id"] {
                diags.push(
                    &route.pos,
                    format!(
                        "{what} (op {}) must have exactly the path parameter {{id}}",
                        route.op_name()
                    ),
                );
            }
        }
        Op::ListBy { .. } | Op::GetBy { .. } => {
            if params.is_empty() {
                diags.push(
                    &route.pos,
                    format!(
                        "{what} (op {}) needs a path parameter naming the field to match",
                        route.op_name()
                    ),
                );
            }
            if let Some(m) = model {
                for p in &params {
                    if m.field(p).is_none() {
                        diags.push(
                            &route.pos,
                            format!(
                                "{what}: path parameter {{{p}}} has no field in model \"{}\"",
                                m.name
                            ),
                        );
                    }
                }
            }
        }
        Op::Static { key, .. } => match (key, params.as_slice()) {
            (Some(_), [_]) | (None, []) => {}
            (Some(_), _) => diags.push(
                &route.pos,
                format!("{what}: a static route with a \"key\" needs exactly one path parameter"),
            ),
            (None, _) => diags.push(
                &route.pos,
                format!("{what}: path parameters of a static route need a \"key\""),
            ),
        },
        Op::Hook { .. } => {}
        Op::Create { .. } | Op::List { .. } | Op::Search { .. } => {
            for p in &params {
                diags.push(
                    &route.pos,
                    format!(
                        "{what}: path parameter {{{p}}} has no field (op {} takes none)",
                        route.op_name()
                    ),
                );
            }
        }
    }
}

/// What each op needs of its model, hook, filters, states and data.
fn check_route_op(
    spec: &Spec,
    service: &Service,
    route: &Route,
    model: Option<&Model>,
    what: &str,
    diags: &mut Diagnostics,
) {
    match &route.op {
        Op::Create {
            input: Input::Query,
            ..
        } => {
            if let Some(m) = model {
                for f in m.fields.iter().filter(|f| !f.server_set) {
                    if !f.ty.is_textual() {
                        diags.push(&f.pos, format!("{what} takes its input from the query string, so field \"{}\" cannot be {}", f.name, f.ty.spec_name()));
                    }
                }
            }
        }
        Op::Create { hook: Some(h), .. } | Op::Hook { hook: h, .. } if !is_snake(h) => {
            diags.push(
                &route.pos,
                format!("{what}: hook \"{h}\" must be a snake_case function name"),
            );
        }
        Op::Search { field, .. } => {
            if let Some(m) = model {
                match m.field(field) {
                    Some(f) if f.ty == FieldType::String => {}
                    Some(_) => diags.push(
                        &route.pos,
                        format!("{what}: search field \"{field}\" must be a string field"),
                    ),
                    None => diags.push(
                        &route.pos,
                        format!(
                            "{what}: search field \"{field}\" is not a field of \"{}\"",
                            m.name
                        ),
                    ),
                }
            }
        }
        Op::List {
            ids_param, filters, ..
        } => {
            if let Some(m) = model {
                for (param, field) in filters {
                    if !is_ident(param) {
                        diags.push(
                            &route.pos,
                            format!("{what}: filter parameter \"{param}\" must be an identifier"),
                        );
                    }
                    match m.field(field) {
                        Some(f) if f.ty.is_textual() => {}
                        Some(f) => diags.push(&route.pos, format!("{what}: filter field \"{field}\" is {}, which cannot be filtered by", f.ty.spec_name())),
                        None => diags.push(&route.pos, format!("{what}: filter \"{param}\" names \"{field}\", which is not a field of \"{}\"", m.name)),
                    }
                }
                if let Some(ids) = ids_param {
                    if filters.iter().any(|(p, _)| p == ids)
                        || ["page", "size"].contains(&ids.as_str())
                    {
                        diags.push(
                            &route.pos,
                            format!("{what}: query parameter \"{ids}\" is used twice"),
                        );
                    }
                }
            }
        }
        Op::Transition {
            field, from, to, ..
        } => {
            if let Some(m) = model {
                match m.field(field).map(|f| &f.ty) {
                    Some(FieldType::Enum(values)) => {
                        for v in from.iter().chain(std::iter::once(to)) {
                            if !values.contains(v) {
                                diags.push(&route.pos, format!("{what}: state \"{v}\" is not among the values of \"{}.{field}\"", m.name));
                            }
                        }
                    }
                    Some(_) => diags.push(
                        &route.pos,
                        format!("{what}: transition field \"{field}\" must be an enum"),
                    ),
                    None => diags.push(
                        &route.pos,
                        format!(
                            "{what}: transition field \"{field}\" is not a field of \"{}\"",
                            m.name
                        ),
                    ),
                }
            }
        }
        Op::Static { data, key } => {
            if let Some(name) = data {
                match service.data.get(name) {
                    None => diags.push(&route.pos, format!("{what} serves data \"{name}\", which the service's \"data\" does not define")),
                    Some(value) => {
                        if let Some(k) = key {
                            let keyed = value.as_array().is_some_and(|items| {
                                items.iter().all(|i| i.get(k).and_then(Value::as_str).is_some())
                            });
                            if !keyed {
                                diags.push(&route.pos, format!("{what}: every item of data \"{name}\" must be an object with a string \"{k}\""));
                            }
                        }
                    }
                }
            } else if key.is_some() {
                diags.push(&route.pos, format!("{what}: \"key\" needs \"data\""));
            }
        }
        _ => {}
    }
    if let Op::Hook {
        request: Some(name),
        ..
    } = &route.op
    {
        if spec.model(name).is_none() {
            diags.push(
                &route.pos,
                format!("{what} names unknown request model \"{name}\""),
            );
        }
        if !route.method.is_write() {
            diags.push(
                &route.pos,
                format!("{what}: a GET route takes no request body"),
            );
        }
    }
    if let Op::Update { .. } = route.op {
        if let Some(m) = model {
            if m.fields.iter().all(|f| f.server_set) {
                diags.push(
                    &route.pos,
                    format!(
                        "{what}: model \"{}\" has no field a request may update",
                        m.name
                    ),
                );
            }
        }
    }
}

/// Checks the compliance rules: at most one declaration, known domains everywhere.
pub fn check_compliance(spec: &Spec, diags: &mut Diagnostics) -> Option<Compliance> {
    let mut found: Option<&Compliance> = None;
    for service in &spec.services {
        if let Some(c) = &service.compliance {
            if let Some(first) = found {
                diags.push(
                    &c.pos,
                    format!("compliance is declared twice (first at {})", first.pos),
                );
            } else {
                found = Some(c);
            }
        }
    }
    let c = found?;
    let mut seen = BTreeSet::new();
    for d in &c.domains {
        if !is_snake(d) {
            diags.push(
                &c.pos,
                format!("compliance domain \"{d}\" must be snake_case"),
            );
        }
        if !seen.insert(d.as_str()) {
            diags.push(&c.pos, format!("compliance domain \"{d}\" is listed twice"));
        }
    }
    let known = |d: &str| c.domains.iter().any(|x| x == d);
    for d in &c.hard_block {
        if !known(d) {
            diags.push(
                &c.pos,
                format!("hard_block domain \"{d}\" is not among the compliance domains"),
            );
        }
    }
    for (name, domains) in &c.categories {
        if known(name) {
            diags.push(
                &c.pos,
                format!("category \"{name}\" has the name of a domain"),
            );
        }
        for d in domains {
            if !known(d) {
                diags.push(
                    &c.pos,
                    format!("category \"{name}\" names unknown domain \"{d}\""),
                );
            }
        }
    }
    for (code, items) in &c.jurisdictions {
        for item in items {
            if !known(item) && !c.categories.iter().any(|(n, _)| n == item) {
                diags.push(&c.pos, format!("jurisdiction \"{code}\" names \"{item}\", which is neither a domain nor a category"));
            }
        }
    }
    check_evidence(c, diags);
    Some(c.clone())
}

/// The rule kinds of `evidence:` and the parameters each takes (required ones first, then
/// optional ones after `?`).
pub const EVIDENCE_KINDS: &[(&str, &[&str], &[&str])] = &[
    ("screening", &[], &[]),
    ("owners_verified", &["id_kind", "valid_for"], &[]),
    ("entity_verified", &["id_kind", "valid_for"], &["non_filer"]),
    ("entity_status", &["status"], &[]),
    ("cap_table", &[], &[]),
    ("account", &[], &[]),
    ("all_of", &["domains"], &[]),
    ("licence_by_type", &["licensed_types"], &[]),
];

/// The identity checks an evidence rule may ask for (the kinds of the `Identity` record).
pub const EVIDENCE_ID_KINDS: &[&str] = &["CNIC", "NTN"];

/// The states a non-filer tax status may give.
pub const NON_FILER_STATES: &[&str] = &["non_compliant", "pending"];

/// `<n>s`, `<n>m`, `<n>h` or `<n>d` as seconds (n >= 1, at most 100 years).
pub fn duration_secs(text: &str) -> Option<u64> {
    let unit = text.chars().last()?;
    let scale = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        _ => return None,
    };
    let digits = &text[..text.len() - 1];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.starts_with('0') {
        return None;
    }
    let secs = digits.parse::<u64>().ok()?.checked_mul(scale)?;
    (secs <= 100 * 366 * 86_400).then_some(secs)
}

/// Checks the evidence rules: a known domain, a known kind with exactly its parameters, and
/// parameters that mean something.
fn check_evidence(c: &Compliance, diags: &mut Diagnostics) {
    let known = |d: &str| c.domains.iter().any(|x| x == d);
    let mut seen: BTreeMap<&str, &Pos> = BTreeMap::new();
    for r in &c.evidence {
        let what = format!("the evidence rule of \"{}\"", r.domain);
        if !known(&r.domain) {
            diags.push(
                &r.pos,
                format!(
                    "{what}: \"{}\" is not a compliance domain (expected one of: {})",
                    r.domain,
                    c.domains.join(", ")
                ),
            );
        }
        if let Some(first) = seen.insert(&r.domain, &r.pos) {
            diags.push(
                &r.pos,
                format!("{what} is declared twice (first at {first})"),
            );
        }
        let Some((_, required, optional)) = EVIDENCE_KINDS.iter().find(|(k, _, _)| *k == r.kind)
        else {
            let kinds: Vec<&str> = EVIDENCE_KINDS.iter().map(|(k, _, _)| *k).collect();
            diags.push(
                &r.pos,
                format!(
                    "{what}: unknown rule \"{}\" (expected one of: {})",
                    r.kind,
                    kinds.join(", ")
                ),
            );
            continue;
        };
        let given: [(&str, bool); 6] = [
            ("id_kind", r.id_kind.is_some()),
            ("valid_for", r.valid_for.is_some()),
            ("non_filer", r.non_filer.is_some()),
            ("status", r.status.is_some()),
            ("domains", !r.domains.is_empty()),
            ("licensed_types", !r.licensed_types.is_empty()),
        ];
        for (param, present) in given {
            let needed = required.contains(&param);
            if needed && !present {
                diags.push(
                    &r.pos,
                    format!("{what}: rule \"{}\" needs \"{param}\"", r.kind),
                );
            }
            if present && !needed && !optional.contains(&param) {
                diags.push(
                    &r.pos,
                    format!("{what}: rule \"{}\" takes no \"{param}\"", r.kind),
                );
            }
        }
        if let Some(kind) = &r.id_kind {
            if !EVIDENCE_ID_KINDS.contains(&kind.as_str()) {
                diags.push(
                    &r.pos,
                    format!(
                        "{what}: id_kind \"{kind}\" is not an identity check (expected one of: {})",
                        EVIDENCE_ID_KINDS.join(", ")
                    ),
                );
            }
        }
        if let Some(v) = &r.valid_for {
            if duration_secs(v).is_none() {
                diags.push(
                    &r.pos,
                    format!("{what}: valid_for \"{v}\" must be a whole number (from 1) followed by s, m, h or d, at most 100 years"),
                );
            }
        }
        if let Some(state) = &r.non_filer {
            if !NON_FILER_STATES.contains(&state.as_str()) {
                diags.push(
                    &r.pos,
                    format!(
                        "{what}: non_filer \"{state}\" must be one of: {}",
                        NON_FILER_STATES.join(", ")
                    ),
                );
            }
        }
        if let Some(status) = &r.status {
            if status.trim().is_empty() || status.trim() != status {
                diags.push(
                    &r.pos,
                    format!("{what}: status \"{status}\" must be a plain value"),
                );
            }
        }
        for d in &r.domains {
            if d == &r.domain {
                diags.push(&r.pos, format!("{what}: all_of names its own domain"));
            } else if !known(d) {
                diags.push(
                    &r.pos,
                    format!("{what}: all_of names unknown domain \"{d}\""),
                );
            } else if c
                .evidence
                .iter()
                .any(|o| &o.domain == d && o.kind == "all_of")
            {
                // One level only: the evaluator decides every other rule first, then the
                // combinations, so a combination of combinations could read an undecided state.
                diags.push(
                    &r.pos,
                    format!("{what}: all_of names \"{d}\", which is itself an all_of rule"),
                );
            }
        }
        for t in &r.licensed_types {
            if t.trim().is_empty() {
                diags.push(&r.pos, format!("{what}: an empty licensed type"));
            }
        }
    }
    let screening: Vec<&EvidenceRule> = c
        .evidence
        .iter()
        .filter(|r| r.kind == "screening")
        .collect();
    if screening.len() > 1 {
        diags.push(
            &screening[1].pos,
            "only one domain may be decided by screening (the sanctions list)",
        );
    }
}

/// Checks the orchestrated `/v1` routes against the direct surface and the compliance rules.
pub fn check_orchestrated(spec: &Spec, compliance: Option<&Compliance>, diags: &mut Diagnostics) {
    let direct: Vec<(String, String)> = spec
        .routes()
        .map(|(s, r)| {
            (
                r.method.as_str().to_string(),
                normalise_path(&format!("{}{}", s.context_path, r.path)),
            )
        })
        .collect();
    let mut seen: BTreeMap<(String, String), &Pos> = BTreeMap::new();
    for service in &spec.services {
        for o in &service.orchestrated {
            let what = format!("route {} {}", o.method.as_str(), o.path);
            let key = (o.method.as_str().to_string(), normalise_path(&o.path));
            if direct.contains(&key) {
                diags.push(&o.pos, format!("{what} is also a direct route"));
            }
            if let Some(first) = seen.insert(key, &o.pos) {
                diags.push(
                    &o.pos,
                    format!(
                        "duplicate route {} {} (first declared at {first})",
                        o.method.as_str(),
                        o.path
                    ),
                );
            }
            check_orchestrated_route(spec, compliance, o, &what, diags);
            if o.access() == Access::Public && o.method.is_write() {
                diags.push(
                    &o.pos,
                    format!(
                        "{what}: access \"public\" is for reads; a write is an entity's \
                         (\"entity\") or the zone's (\"zone\")"
                    ),
                );
            }
        }
    }
}

/// The request fields and path parameters a `/v1` route's paths may start at.
struct Sources<'s> {
    params: Vec<String>,
    request: Option<&'s Model>,
}

impl Sources<'_> {
    fn has(&self, name: &str) -> bool {
        let top = name.split(['.', '[']).next().unwrap_or(name);
        self.params.iter().any(|p| p == top) || self.request.is_some_and(|m| m.field(top).is_some())
    }
}

/// One `/v1` route: its request model, what a write needs and a read refuses, where its
/// jurisdiction and screened names come from, and its Mass operation.
fn check_orchestrated_route(
    spec: &Spec,
    compliance: Option<&Compliance>,
    o: &Orchestrated,
    what: &str,
    diags: &mut Diagnostics,
) {
    let request = match &o.request {
        Some(name) => match spec.model(name) {
            Some(m) if m.store.is_none() => Some(m),
            Some(_) => {
                diags.push(
                    &o.pos,
                    format!(
                        "{what}: request model \"{name}\" is stored; name a request-only model"
                    ),
                );
                None
            }
            None => {
                diags.push(
                    &o.pos,
                    format!("{what} names unknown request model \"{name}\""),
                );
                None
            }
        },
        None => None,
    };
    let sources = Sources {
        params: o.params(),
        request,
    };
    let is_source = |name: &str| sources.has(name);
    check_orchestrated_parts(compliance, o, what, &is_source, diags);
    check_orchestrated_sources(o, what, &is_source, diags);
    check_orchestrated_mass(spec, o, what, &sources.params, &is_source, diags);
}

/// What a write needs (request, credential, audit event, domains) and a read refuses.
fn check_orchestrated_parts(
    compliance: Option<&Compliance>,
    o: &Orchestrated,
    what: &str,
    is_source: &dyn Fn(&str) -> bool,
    diags: &mut Diagnostics,
) {
    let writes = o.method.is_write();
    if writes {
        if o.request.is_none() {
            diags.push(
                &o.pos,
                format!("{what} writes, so it needs a \"request\" model"),
            );
        }
        if o.credential.is_none() {
            diags.push(
                &o.pos,
                format!("{what} writes, so it needs a \"credential\" type"),
            );
        }
        if o.audit.is_none() {
            diags.push(&o.pos, format!("{what} writes but has no \"audit\" event"));
        }
        if o.domains.is_empty() {
            diags.push(
                &o.pos,
                format!("{what} writes, so it needs compliance \"domains\""),
            );
        }
        if compliance.is_none() {
            diags.push(
                &o.pos,
                format!("{what} writes, but no file declares \"compliance\""),
            );
        }
    } else if o.request.is_some()
        || o.credential.is_some()
        || o.audit.is_some()
        || !o.domains.is_empty()
    {
        diags.push(
            &o.pos,
            format!("{what} is a read: it takes no request, credential, audit or domains"),
        );
    }
    if let Some(c) = compliance {
        for d in &o.domains {
            if !c.domains.contains(d) {
                diags.push(
                    &o.pos,
                    format!(
                        "{what}: unknown compliance domain \"{d}\" (expected one of: {})",
                        c.domains.join(", ")
                    ),
                );
            }
        }
    }
    if let Some(cred) = &o.credential {
        if !is_pascal(cred) {
            diags.push(
                &o.pos,
                format!("{what}: credential type \"{cred}\" must be PascalCase"),
            );
        }
    }
    if let Some(a) = &o.audit {
        let ok = a
            .event
            .split_once('.')
            .is_some_and(|(x, y)| is_snake(x) && is_snake(y));
        if !ok || !is_snake(&a.resource) || !is_snake(&a.action) {
            diags.push(&o.pos, format!("{what}: audit event, resource and action must be snake_case (event as resource.action)"));
        }
        for (key, source) in &a.metadata {
            if !is_source(source) && source != "$jurisdiction" {
                diags.push(&o.pos, format!("{what}: audit metadata \"{key}\" reads \"{source}\", which is not a request field"));
            }
        }
    }
}

/// Where the jurisdiction and the screened names come from: request fields, all of them.
fn check_orchestrated_sources(
    o: &Orchestrated,
    what: &str,
    is_source: &dyn Fn(&str) -> bool,
    diags: &mut Diagnostics,
) {
    let writes = o.method.is_write();
    let j = &o.jurisdiction;
    for source in [&j.field, &j.currency, &j.entity].into_iter().flatten() {
        if !is_source(source) {
            diags.push(
                &o.pos,
                format!("{what}: jurisdiction source \"{source}\" is not a request field"),
            );
        }
    }
    if writes
        && j.field.is_none()
        && j.currency.is_none()
        && j.entity.is_none()
        && j.value.is_none()
    {
        diags.push(
            &o.pos,
            format!("{what} writes but does not say where its \"jurisdiction\" comes from"),
        );
    }
    for source in o
        .screen
        .iter()
        .chain(&o.screen_entities)
        .chain(&o.screen_accounts)
    {
        if !is_source(source) {
            diags.push(
                &o.pos,
                format!("{what}: screened path \"{source}\" does not start at a request field"),
            );
        }
    }
    match &o.subject {
        Some(_) if !writes => {
            diags.push(
                &o.pos,
                format!("{what} is a read: it has no evidence \"subject\""),
            );
        }
        Some(Subject::Entity(path)) if path == RESOURCE_SUBJECT => {}
        Some(Subject::Entity(path) | Subject::Account(path)) if !is_source(path) => {
            diags.push(
                &o.pos,
                format!("{what}: subject path \"{path}\" is not a request field (or \"{RESOURCE_SUBJECT}\")"),
            );
        }
        _ => {}
    }
}

/// The subject path that names the resource the write creates.
pub const RESOURCE_SUBJECT: &str = "$resource";

/// The Mass operation: a hook, or a call of a direct route with the parameters it needs and a
/// mapping that resolves.
fn check_orchestrated_mass(
    spec: &Spec,
    o: &Orchestrated,
    what: &str,
    params: &[String],
    is_source: &dyn Fn(&str) -> bool,
    diags: &mut Diagnostics,
) {
    match &o.mass {
        MassSpec::Hook(h) => {
            if !is_snake(h) {
                diags.push(
                    &o.pos,
                    format!("{what}: hook \"{h}\" must be a snake_case function name"),
                );
            }
        }
        MassSpec::Call { method, path, map } => {
            let target = spec.routes().find(|(s, r)| {
                r.method == *method && format!("{}{}", s.context_path, r.path) == *path
            });
            let Some((_, route)) = target else {
                diags.push(
                    &o.pos,
                    format!(
                        "{what}: mass call {} {path} is not a direct route of the spec",
                        method.as_str()
                    ),
                );
                return;
            };
            if route.method.is_write() != o.method.is_write() {
                diags.push(
                    &o.pos,
                    format!("{what}: a read must call a read and a write a write"),
                );
            }
            for p in route.params() {
                if !params.contains(&p) {
                    diags.push(&o.pos, format!("{what}: mass call needs path parameter {{{p}}}, which the route does not have"));
                }
            }
            if let Some(map) = map {
                let target_model = route.request_model().and_then(|m| spec.model(m));
                check_map(what, map, target_model, is_source, &o.pos, diags);
            }
        }
    }
}

/// A mapping from request to Mass body: `massKey: source`, `{const: v}` or
/// `{each: listField, map: {...}}` (the nested map reads the list items' fields).
fn check_map(
    what: &str,
    map: &Value,
    target: Option<&Model>,
    is_source: &dyn Fn(&str) -> bool,
    pos: &Pos,
    diags: &mut Diagnostics,
) {
    let Some(obj) = map.as_object() else {
        diags.push(pos, format!("{what}: \"map\" must be a mapping"));
        return;
    };
    for (key, source) in obj {
        if let Some(m) = target {
            if !m.fields.iter().any(|f| f.input == *key && !f.server_set) {
                diags.push(
                    pos,
                    format!(
                        "{what}: map key \"{key}\" is not a request field of \"{}\"",
                        m.name
                    ),
                );
            }
        }
        match source {
            Value::String(s) if is_source(s) => {}
            Value::String(s) => diags.push(pos, format!("{what}: map source \"{s}\" is not a request field")),
            Value::Object(o) if o.contains_key("const") && o.len() == 1 => {}
            Value::Object(o) if o.contains_key("each") && o.contains_key("map") && o.len() == 2 => {
                match o.get("each").and_then(Value::as_str) {
                    Some(list) if is_source(list) => {}
                    _ => diags.push(pos, format!("{what}: \"each\" of map key \"{key}\" must name a request list field")),
                }
                if let Some(inner) = o.get("map") {
                    check_map(what, inner, None, &|_| true, pos, diags);
                }
            }
            _ => diags.push(pos, format!("{what}: map key \"{key}\" must be a field name, {{const: value}} or {{each: field, map: {{...}}}}")),
        }
    }
}

/// Checks every `example`: an object whose keys are request fields or path parameters, whose
/// `$resource` placeholders name a resource that some `/v1` write creates.
pub fn check_examples(spec: &Spec, diags: &mut Diagnostics) {
    let resources: BTreeSet<&str> = spec
        .services
        .iter()
        .flat_map(|s| &s.orchestrated)
        .filter_map(|o| o.audit.as_ref().map(|a| a.resource.as_str()))
        .collect();
    let check_one = |what: &str,
                     example: &Value,
                     keys: &dyn Fn(&str) -> bool,
                     pos: &Pos,
                     diags: &mut Diagnostics| {
        let Some(obj) = example.as_object() else {
            diags.push(pos, format!("{what}: \"example\" must be a mapping"));
            return;
        };
        for key in obj.keys() {
            if !keys(key) {
                diags.push(pos, format!("{what}: example key \"{key}\" is neither a request field nor a path parameter"));
            }
        }
        let mut stack = vec![example];
        while let Some(v) = stack.pop() {
            match v {
                Value::String(s) if s.starts_with('$') => {
                    let name = s[1..].split('.').next().unwrap_or_default();
                    if !resources.contains(name) {
                        diags.push(pos, format!("{what}: example placeholder \"{s}\" names no resource a /v1 write creates"));
                    }
                }
                Value::Array(items) => stack.extend(items),
                Value::Object(map) => stack.extend(map.values()),
                _ => {}
            }
        }
    };
    for (_, r) in spec.routes() {
        if let Some(example) = &r.example {
            let what = format!("route {} {}", r.method.as_str(), r.path);
            let params = r.params();
            let model = r.request_model().and_then(|m| spec.model(m));
            let keys = |k: &str| {
                params.iter().any(|p| p == k)
                    || model.is_some_and(|m| m.fields.iter().any(|f| f.input == k && !f.server_set))
            };
            check_one(&what, example, &keys, &r.pos, diags);
        }
    }
    for o in spec.services.iter().flat_map(|s| &s.orchestrated) {
        if let Some(example) = &o.example {
            let what = format!("route {} {}", o.method.as_str(), o.path);
            let params = o.params();
            let model = o.request.as_deref().and_then(|m| spec.model(m));
            let keys = |k: &str| {
                params.iter().any(|p| p == k) || model.is_some_and(|m| m.field(k).is_some())
            };
            check_one(&what, example, &keys, &o.pos, diags);
        } else {
            diags.push(
                &o.pos,
                format!(
                    "route {} {} needs an \"example\" for the generated parity suite",
                    o.method.as_str(),
                    o.path
                ),
            );
        }
    }
}

/// Names that become Rust identifiers: each must make a usable one, and no two may make the
/// same one (the generated code would not compile, or not parse).
pub fn check_rust_names(spec: &Spec, diags: &mut Diagnostics) {
    use crate::rust::{handler_name, is_plain_ident, snake, v1_function_name};
    for service in &spec.services {
        let ok = service.name.starts_with(|c: char| c.is_ascii_lowercase())
            && service
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if !ok {
            diags.push(
                &service.pos,
                format!(
                    "service name \"{}\" must be lowercase letters, digits, '-' and '_', starting with a letter",
                    service.name
                ),
            );
        }
    }

    // Model names become type names, and their SCREAMING_SNAKE_CASE the names of statics.
    let mut statics: BTreeMap<String, &Model> = BTreeMap::new();
    for (_, model) in spec.models() {
        if GENERATED_TYPE_NAMES.contains(&model.name.as_str()) {
            diags.push(
                &model.pos,
                format!(
                    "model name \"{}\" is a name the generated Rust already uses (reserved: {})",
                    model.name,
                    GENERATED_TYPE_NAMES.join(", ")
                ),
            );
        }
        let konst = snake(&model.name).to_ascii_uppercase();
        if let Some(first) = statics.insert(konst.clone(), model) {
            if first.name != model.name {
                diags.push(
                    &model.pos,
                    format!(
                        "models \"{}\" and \"{}\" (at {}) both become the Rust static `{konst}`",
                        model.name, first.name, first.pos
                    ),
                );
            }
        }
        check_model_idents(model, diags);
    }

    // Hooks are called by name: `crate::hooks::NAME`.
    let hook_ok = |h: &str| is_snake(h) && is_plain_ident(h);
    let hook_msg = |what: &str, h: &str| {
        if is_snake(h) {
            format!("{what}: hook \"{h}\" is a Rust keyword; choose another function name")
        } else {
            format!("{what}: hook \"{h}\" must be a snake_case function name")
        }
    };
    let mut functions: BTreeMap<String, &Pos> = BTreeMap::new();
    for (service, route) in spec.routes() {
        let what = format!("route {} {}", route.method.as_str(), route.path);
        let hook = match &route.op {
            Op::Create { hook: Some(h), .. } | Op::Hook { hook: h, .. } => Some(h),
            _ => None,
        };
        if let Some(h) = hook.filter(|h| !hook_ok(h)) {
            diags.push(&route.pos, hook_msg(&what, h));
        }
        check_param_idents(&what, &route.params(), &route.pos, diags);
        // A declared name also becomes a `Route` variant (its PascalCase) and a client method.
        if route.named && is_plain_ident(&route.name) {
            if let Err(problem) = usable_fn_name(&route.name) {
                diags.push(
                    &route.pos,
                    format!("{what}: name \"{}\" {problem}", route.name),
                );
            }
        }
        let name = handler_name(service, route);
        if !is_plain_ident(&name) {
            diags.push(
                &route.pos,
                format!("{what}: its generated function name `{name}` is not a Rust identifier"),
            );
        } else if let Some(first) = functions.insert(name.clone(), &route.pos) {
            diags.push(
                &route.pos,
                format!(
                    "{what}: its generated function name `{name}` is also that of the route at {first}"
                ),
            );
        }
    }
    let mut v1_functions: BTreeMap<String, &Pos> = BTreeMap::new();
    for o in spec.services.iter().flat_map(|s| &s.orchestrated) {
        let what = format!("route {} {}", o.method.as_str(), o.path);
        if let MassSpec::Hook(h) = &o.mass {
            if !hook_ok(h) {
                diags.push(&o.pos, hook_msg(&what, h));
            }
        }
        let params = o.params();
        for p in &params {
            if !is_ident(p) {
                diags.push(
                    &o.pos,
                    format!("{what}: path parameter {{{p}}} must be an identifier"),
                );
            }
        }
        check_param_idents(&what, &params, &o.pos, diags);
        let name = v1_function_name(o);
        if !is_plain_ident(&name) {
            diags.push(
                &o.pos,
                format!("{what}: its generated function name `{name}` is not a Rust identifier"),
            );
        } else if let Some(first) = v1_functions.insert(name.clone(), &o.pos) {
            diags.push(
                &o.pos,
                format!(
                    "{what}: its generated function name `{name}` is also that of the route at {first}"
                ),
            );
        }
    }

    // A list's ids parameter is a query parameter name, like a filter's.
    for (_, route) in spec.routes() {
        if let Op::List {
            ids_param: Some(ids),
            ..
        } = &route.op
        {
            if !is_ident(ids) {
                diags.push(
                    &route.pos,
                    format!(
                        "route {} {}: ids_param \"{ids}\" must be an identifier",
                        route.method.as_str(),
                        route.path
                    ),
                );
            }
        }
    }
}

/// Type names the generated `types` module declares or imports; a model may not take them.
const GENERATED_TYPE_NAMES: &[&str] = &[
    "Self",
    "Serialize",
    "Deserialize",
    "String",
    "Vec",
    "Option",
];

/// The Rust fields of a model's record struct: one per field (the stored name for stored
/// models, the request name otherwise), plus `id`, the timestamps and `extra` (open models).
fn check_model_idents(model: &Model, diags: &mut Diagnostics) {
    use crate::rust::field_ident;
    let stored = model.store.is_some();
    let mut taken: BTreeMap<String, String> = BTreeMap::new();
    if stored {
        taken.insert("id".into(), "the record id".into());
        if model.created_at {
            taken.insert("created_at".into(), "the createdAt timestamp".into());
        }
        if model.updated_at {
            taken.insert("updated_at".into(), "the updatedAt timestamp".into());
        }
    }
    if model.open {
        taken.insert("extra".into(), "the extra keys of an open model".into());
    }
    for field in model.fields.iter().filter(|f| !(stored && f.transient)) {
        if stored && RESERVED.contains(&field.name.as_str()) {
            // Reported by check_model.
            continue;
        }
        let key = if stored { &field.name } else { &field.input };
        let what = format!("field \"{}.{}\"", model.name, field.name);
        match field_ident(key) {
            Err(why) => diags.push(&field.pos, format!("{what}: {why}")),
            Ok(ident) => {
                let rust = ident.to_string();
                let rust = rust.trim_start_matches("r#").to_string();
                if let Some(other) = taken.insert(rust.clone(), format!("\"{key}\"")) {
                    diags.push(
                        &field.pos,
                        format!("{what}: \"{key}\" becomes the Rust field `{rust}`, which {other} already is"),
                    );
                }
            }
        }
    }
}

/// Path parameters become Rust bindings of the handler: usable, and distinct.
fn check_param_idents(what: &str, params: &[String], pos: &Pos, diags: &mut Diagnostics) {
    let mut seen = BTreeSet::new();
    for p in params {
        match crate::rust::field_ident(p) {
            Err(why) => diags.push(pos, format!("{what}: path parameter {why}")),
            Ok(ident) => {
                let rust = ident.to_string();
                if !seen.insert(rust.clone()) && is_ident(p) {
                    diags.push(
                        pos,
                        format!("{what}: two path parameters become the Rust name `{rust}`"),
                    );
                }
            }
        }
    }
}

/// Route paths are mounted as they are written: '/'-separated segments of unreserved URL
/// characters or `{parameter}`s, with no empty segment (`/` alone is the root).
pub fn check_route_paths(spec: &Spec, diags: &mut Diagnostics) {
    let direct = spec.routes().map(|(_, r)| (r.method, &r.path, &r.pos));
    let v1 = spec
        .services
        .iter()
        .flat_map(|s| &s.orchestrated)
        .map(|o| (o.method, &o.path, &o.pos));
    for (method, path, pos) in direct.chain(v1) {
        if !path.starts_with('/') || path.contains(' ') {
            // Reported by the parser.
            continue;
        }
        let segment_ok = |segment: &str| match segment
            .strip_prefix('{')
            .and_then(|rest| rest.strip_suffix('}'))
        {
            Some(param) => !param.is_empty() && !param.contains(['{', '}']),
            None => !segment.is_empty() && segment.chars().all(crate::parse::is_url_unreserved),
        };
        if path != "/" && !path[1..].split('/').all(segment_ok) {
            diags.push(
                pos,
                format!(
                    "route {} {path}: a path is '/'-separated segments of letters, digits, '-', '.', '_', '~' or a {{parameter}}, with no empty segment",
                    method.as_str()
                ),
            );
        }
    }
}

/// `uuid` and `datetime` defaults must be values the runtime's validation accepts.
pub fn check_default_formats(spec: &Spec, diags: &mut Diagnostics) {
    for (_, model) in spec.models() {
        for field in &model.fields {
            let Some(Value::String(text)) = &field.default else {
                continue;
            };
            let what = format!("field \"{}.{}\"", model.name, field.name);
            match field.ty {
                FieldType::Uuid if !is_uuid(text) => diags.push(
                    &field.pos,
                    format!("{what}: default \"{text}\" is not a UUID such as 123e4567-e89b-12d3-a456-426614174000"),
                ),
                FieldType::DateTime if !is_rfc3339(text) => diags.push(
                    &field.pos,
                    format!("{what}: default \"{text}\" is not an RFC 3339 timestamp such as 2026-01-31T12:00:00Z"),
                ),
                _ => {}
            }
        }
    }
}

/// A hyphenated UUID: 8-4-4-4-12 hexadecimal digits.
fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// An RFC 3339 timestamp: `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)`, with a real
/// calendar date.
fn is_rfc3339(text: &str) -> bool {
    let b = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = b.get(range)?;
        if part.iter().all(u8::is_ascii_digit) {
            std::str::from_utf8(part).ok()?.parse().ok()
        } else {
            None
        }
    };
    let at = |i: usize, chars: &[u8]| b.get(i).is_some_and(|c| chars.contains(c));
    let (Some(year), Some(month), Some(day), Some(hour), Some(minute), Some(second)) = (
        digits(0..4),
        digits(5..7),
        digits(8..10),
        digits(11..13),
        digits(14..16),
        digits(17..19),
    ) else {
        return false;
    };
    if !(at(4, b"-") && at(7, b"-") && at(10, b"Tt") && at(13, b":") && at(16, b":")) {
        return false;
    }
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    if day == 0 || day > days || hour > 23 || minute > 59 || second > 59 {
        return false;
    }
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let n = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        rest = &fraction[n..];
    }
    match rest {
        "Z" | "z" => true,
        offset => {
            let o = offset.as_bytes();
            o.len() == 6
                && matches!(o[0], b'+' | b'-')
                && o[3] == b':'
                && offset[1..3].parse::<u32>().is_ok_and(|h| h <= 23)
                && offset[4..6].parse::<u32>().is_ok_and(|m| m <= 59)
                && o[1..3].iter().chain(&o[4..6]).all(u8::is_ascii_digit)
        }
    }
}

/// What a request path (`legal_name`, `parties[0].entity_id`, `beneficial_owners[].name`)
/// names, step by step through the request model: the type of the values it names (`None`
/// inside `json`, which the spec does not describe), or why it names nothing.
fn resolve_path<'s>(
    spec: &'s Spec,
    model: &'s Model,
    path: &str,
) -> Result<Option<&'s FieldType>, String> {
    let segments: Vec<&str> = path.split('.').collect();
    let mut m = model;
    for (i, segment) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        // `step` is None for `key`, Some for `key[]` and `key[N]`.
        let (key, step) = match segment.split_once('[') {
            None => (*segment, None),
            Some((key, rest)) => match rest.strip_suffix(']') {
                Some(n) if n.bytes().all(|b| b.is_ascii_digit()) => (key, Some(n)),
                _ => {
                    return Err(format!(
                        "\"{segment}\" must read key, key[] (every item) or key[N] (one item)"
                    ));
                }
            },
        };
        let Some(field) = m.field(key) else {
            return Err(format!("\"{key}\" is not a field of \"{}\"", m.name));
        };
        match (&field.ty, step) {
            (FieldType::ModelList(item), Some(_)) => {
                if last {
                    return Ok(Some(&field.ty));
                }
                match spec.model(item) {
                    Some(next) => m = next,
                    None => return Ok(None),
                }
            }
            (FieldType::ModelList(_) | FieldType::StringList | FieldType::JsonList, None)
                if !last =>
            {
                return Err(format!(
                    "\"{key}\" is a list: write {key}[] (every item) or {key}[N] (one item)"
                ));
            }
            (FieldType::StringList, Some(_)) if last => return Ok(Some(&FieldType::String)),
            (FieldType::StringList, Some(_)) => {
                return Err(format!(
                    "the items of \"{key}\" are strings, which have no fields"
                ));
            }
            (FieldType::JsonList, Some(_)) | (FieldType::Json | FieldType::Object, None) => {
                return Ok(None);
            }
            (ty, Some(_)) => {
                return Err(format!(
                    "\"{key}\" is {}, not a list, so it takes no [..]",
                    ty.spec_name()
                ));
            }
            (ty, None) if last => return Ok(Some(ty)),
            (ty, None) => {
                return Err(format!(
                    "\"{key}\" is {}, which has no fields",
                    ty.spec_name()
                ));
            }
        }
    }
    Ok(None)
}

/// The request paths of the `/v1` routes, resolved through every segment (the older checks
/// look at the first one only): screened names, jurisdiction sources, audit metadata and
/// Mass mappings, including the nested mappings of `each`.
pub fn check_v1_paths(spec: &Spec, diags: &mut Diagnostics) {
    for o in spec.services.iter().flat_map(|s| &s.orchestrated) {
        let what = format!("route {} {}", o.method.as_str(), o.path);
        let Some(request) = o
            .request
            .as_deref()
            .and_then(|n| spec.model(n))
            .filter(|m| m.store.is_none())
        else {
            continue;
        };
        let params = o.params();
        // Screened names and jurisdiction sources are read as text.
        let text_only = |kind: &str| {
            kind.starts_with("screened")
                || kind.starts_with("jurisdiction")
                || kind.starts_with("subject")
        };
        // Paths whose first segment is not a field or parameter are reported elsewhere.
        let check = |kind: &str, path: &str, diags: &mut Diagnostics| {
            let top = path.split(['.', '[']).next().unwrap_or(path);
            if params.iter().any(|p| p == top) {
                if path != top {
                    diags.push(
                        &o.pos,
                        format!(
                            "{what}: {kind} \"{path}\": path parameter {{{top}}} has no fields"
                        ),
                    );
                }
                return;
            }
            if request.field(top).is_none() {
                return;
            }
            let problem = match resolve_path(spec, request, path) {
                Err(why) => Some(format!("names nothing: {why}")),
                Ok(Some(ty))
                    if text_only(kind) && !ty.is_textual() && *ty != FieldType::StringList =>
                {
                    Some(format!(
                        "names {} values, but it is read as text",
                        ty.spec_name()
                    ))
                }
                Ok(_) => None,
            };
            if let Some(why) = problem {
                diags.push(&o.pos, format!("{what}: {kind} \"{path}\" {why}"));
            }
        };
        for path in o
            .screen
            .iter()
            .chain(&o.screen_entities)
            .chain(&o.screen_accounts)
        {
            check("screened path", path, diags);
        }
        let j = &o.jurisdiction;
        for source in [&j.field, &j.currency, &j.entity].into_iter().flatten() {
            check("jurisdiction source", source, diags);
        }
        match &o.subject {
            Some(Subject::Entity(path)) if path == RESOURCE_SUBJECT => {}
            Some(Subject::Entity(path) | Subject::Account(path)) => {
                check("subject path", path, diags);
            }
            None => {}
        }
        if let Some(a) = &o.audit {
            for (_, source) in &a.metadata {
                if source != "$jurisdiction" {
                    check("audit metadata source", source, diags);
                }
            }
        }
        if let MassSpec::Call {
            method,
            path,
            map: Some(map),
        } = &o.mass
        {
            let target = spec
                .routes()
                .find(|(s, r)| {
                    r.method == *method && format!("{}{}", s.context_path, r.path) == *path
                })
                .and_then(|(_, r)| r.request_model())
                .and_then(|m| spec.model(m));
            check_map_paths(spec, &what, map, request, target, &check, &o.pos, diags);
        }
    }
}

/// The sources of a mapping resolved against `source` (the request, or a list item), and
/// the nested mappings of `each` against the list's item model and the target's item model.
#[allow(
    clippy::too_many_arguments,
    reason = "a recursive walk with its context"
)]
fn check_map_paths(
    spec: &Spec,
    what: &str,
    map: &Value,
    source: &Model,
    target: Option<&Model>,
    top_check: &dyn Fn(&str, &str, &mut Diagnostics),
    pos: &Pos,
    diags: &mut Diagnostics,
) {
    let Some(obj) = map.as_object() else {
        return;
    };
    for (key, value) in obj {
        match value {
            Value::String(path) => top_check("map source", path, diags),
            Value::Object(o) if o.contains_key("each") && o.contains_key("map") && o.len() == 2 => {
                let Some(list) = o.get("each").and_then(Value::as_str) else {
                    continue;
                };
                // The runtime reads `each` as one key of the source, not as a path.
                let item = match source.field(list).map(|f| &f.ty) {
                    Some(FieldType::ModelList(item)) => spec.model(item),
                    Some(FieldType::JsonList) => None,
                    Some(ty) => {
                        diags.push(pos, format!("{what}: \"each\" of map key \"{key}\" names \"{list}\", which is {}, not a list of objects", ty.spec_name()));
                        continue;
                    }
                    None => {
                        diags.push(pos, format!("{what}: \"each\" of map key \"{key}\" names \"{list}\", which is not a list field of \"{}\"", source.name));
                        continue;
                    }
                };
                let inner_target = target
                    .and_then(|t| t.fields.iter().find(|f| f.input == *key))
                    .and_then(|f| match &f.ty {
                        FieldType::ModelList(m) => spec.model(m),
                        _ => None,
                    });
                let Some(inner) = o.get("map") else {
                    continue;
                };
                if let (Some(t), Some(inner_obj)) = (inner_target, inner.as_object()) {
                    for inner_key in inner_obj.keys() {
                        if !t
                            .fields
                            .iter()
                            .any(|f| f.input == *inner_key && !f.server_set)
                        {
                            diags.push(pos, format!("{what}: map key \"{key}.{inner_key}\" is not a request field of \"{}\"", t.name));
                        }
                    }
                }
                if let Some(item) = item {
                    let item_check = |kind: &str, path: &str, diags: &mut Diagnostics| {
                        if let Err(why) = resolve_path(spec, item, path) {
                            diags.push(pos, format!("{what}: {kind} \"{path}\" in the items of \"{list}\" names nothing: {why}"));
                        }
                    };
                    check_map_paths(
                        spec,
                        what,
                        inner,
                        item,
                        inner_target,
                        &item_check,
                        pos,
                        diags,
                    );
                }
            }
            _ => {}
        }
    }
}
