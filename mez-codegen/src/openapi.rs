// SPDX-License-Identifier: BUSL-1.1
//! The OpenAPI back end: an OpenAPI 3.1 document of the direct and `/v1` surfaces.
//!
//! Built from the same checked spec as the Rust surface, so the document and the server agree
//! by construction: the request schemas are the models' validation rules, the paths and
//! methods are the routes. The zone serves it at `/openapi.json`.

use serde_json::{Map, Value, json};

use crate::model::{Bound, Field, FieldType, Input, Method, Model, Op, Route, Spec};
use crate::rust::{full_path, handler_name, snake};

fn bound(b: &Option<Bound>) -> Option<Value> {
    match b {
        Some(Bound::Int(i)) => Some(json!(i)),
        Some(Bound::Decimal(d)) => Some(json!(d)),
        None => None,
    }
}

/// The JSON Schema of one field's values.
fn field_schema(f: &Field) -> Value {
    let mut schema = match &f.ty {
        FieldType::String => json!({"type": "string"}),
        FieldType::Integer => json!({"type": "integer"}),
        FieldType::Boolean => json!({"type": "boolean"}),
        FieldType::Decimal => {
            json!({"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?$", "format": "decimal"})
        }
        FieldType::Uuid => json!({"type": "string", "format": "uuid"}),
        FieldType::DateTime => json!({"type": "string", "format": "date-time"}),
        FieldType::Json => json!({}),
        FieldType::Object => json!({"type": "object"}),
        FieldType::Enum(values) => json!({"type": "string", "enum": values}),
        FieldType::StringList => json!({"type": "array", "items": {"type": "string"}}),
        FieldType::JsonList => json!({"type": "array", "items": {}}),
        FieldType::ModelList(item) => {
            json!({"type": "array", "items": {"$ref": format!("#/components/schemas/{item}")}})
        }
    };
    let obj = schema.as_object_mut();
    if let Some(obj) = obj {
        let mut set = |k: &str, v: Option<Value>| {
            if let Some(v) = v {
                obj.insert(k.to_string(), v);
            }
        };
        let text_limits = matches!(f.ty, FieldType::String);
        if text_limits {
            set("minLength", f.min_len.map(Value::from));
            set("maxLength", f.max_len.map(Value::from));
        }
        if f.ty == FieldType::Integer {
            set("minimum", bound(&f.min));
            set("maximum", bound(&f.max));
        }
        if f.ty == FieldType::Decimal {
            set("x-minimum", bound(&f.min));
            set("x-maximum", bound(&f.max));
        }
        set("minItems", f.min_items.map(Value::from));
        set("maxItems", f.max_items.map(Value::from));
        set("default", f.default.clone().filter(|d| !d.is_null()));
        set("description", f.doc.clone().map(Value::from));
        if f.ty == FieldType::StringList {
            if let Some(max) = f.max_len {
                obj.insert("items".into(), json!({"type": "string", "maxLength": max}));
            }
        }
    }
    schema
}

/// A model's schema: as a request (input names, fields a client may send) or as a stored
/// record (record names, server-set fields and timestamps, every key present).
fn model_schema(m: &Model, as_record: bool) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    if as_record {
        properties.insert("id".into(), json!({"type": "string", "format": "uuid"}));
        required.push(json!("id"));
    }
    for f in &m.fields {
        if as_record && f.transient || !as_record && f.server_set {
            continue;
        }
        let key = if as_record { &f.name } else { &f.input };
        let mut schema = field_schema(f);
        if as_record && !f.required {
            schema = json!({"anyOf": [schema, {"type": "null"}]});
        }
        properties.insert(key.clone(), schema);
        if f.required || as_record {
            required.push(json!(key));
        }
    }
    if as_record && m.created_at {
        properties.insert(
            "createdAt".into(),
            json!({"type": "string", "format": "date-time"}),
        );
        required.push(json!("createdAt"));
    }
    if as_record && m.updated_at {
        properties.insert(
            "updatedAt".into(),
            json!({"type": "string", "format": "date-time"}),
        );
        required.push(json!("updatedAt"));
    }
    let mut schema = json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": m.open,
    });
    if let Some(doc) = &m.doc {
        schema["description"] = json!(doc);
    }
    schema
}

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn json_body(schema: Value) -> Value {
    json!({"content": {"application/json": {"schema": schema}}})
}

/// The schema of a direct route's answer.
fn response_schema(spec: &Spec, r: &Route) -> Option<Value> {
    let model = r
        .model()
        .and_then(|m| spec.model(m))
        .map(|m| m.name.clone());
    match (&r.op, model) {
        (
            Op::Create { .. }
            | Op::Get { .. }
            | Op::Update { .. }
            | Op::Transition { .. }
            | Op::GetBy { .. },
            Some(m),
        ) => Some(schema_ref(&m)),
        (Op::List { .. } | Op::ListBy { .. }, Some(m)) => {
            Some(json!({"type": "array", "items": schema_ref(&m)}))
        }
        (Op::Search { .. }, Some(m)) => Some(json!({
            "type": "object",
            "properties": {
                "content": {"type": "array", "items": schema_ref(&m)},
                "totalElements": {"type": "integer"},
                "totalPages": {"type": "integer"},
                "number": {"type": "integer"},
                "size": {"type": "integer"},
            },
        })),
        (Op::Delete { .. }, _) => None,
        (Op::Static { data: None, .. }, _) => None,
        _ => Some(json!({})),
    }
}

fn parameters(path: &str, query: &[(String, &str)]) -> Vec<Value> {
    let mut out: Vec<Value> = crate::model::path_params(path)
        .into_iter()
        .map(|p| json!({"name": p, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect();
    for (name, description) in query {
        out.push(json!({"name": name, "in": "query", "required": false, "schema": {"type": "string"}, "description": description}));
    }
    out
}

fn method_key(m: Method) -> String {
    m.as_str().to_ascii_lowercase()
}

/// The OpenAPI document of the spec, as pretty JSON text.
pub fn document(spec: &Spec) -> String {
    let mut schemas = Map::new();
    schemas.insert(
        "Error".into(),
        json!({
            "type": "object",
            "required": ["error"],
            "properties": {"error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "details": {"type": "array", "items": {
                        "type": "object",
                        "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                    }},
                },
            }},
        }),
    );
    schemas.insert(
        "Envelope".into(),
        json!({
            "type": "object",
            "required": ["mass_response", "compliance", "credential", "attestation_id"],
            "properties": {
                "mass_response": {},
                "compliance": {"type": "object"},
                "credential": {"type": "object", "description": "A W3C VC 2.0 with an eddsa-jcs-2022 DataIntegrityProof."},
                "attestation_id": {"type": "string", "format": "uuid"},
            },
        }),
    );
    for (_, m) in spec.models() {
        if m.store.is_some() {
            schemas.insert(m.name.clone(), model_schema(m, true));
            schemas.insert(format!("{}Request", m.name), model_schema(m, false));
        } else {
            schemas.insert(m.name.clone(), model_schema(m, false));
        }
    }

    let error = json!({"description": "An error, in the one error shape", "content": {"application/json": {"schema": schema_ref("Error")}}});
    let mut paths: Map<String, Value> = Map::new();
    for (s, r) in spec.routes() {
        let mut op = Map::new();
        op.insert("operationId".into(), json!(handler_name(s, r)));
        op.insert("tags".into(), json!([s.name]));
        if let Some(doc) = &r.doc {
            op.insert("summary".into(), json!(doc));
        }
        let mut query: Vec<(String, &str)> = Vec::new();
        match &r.op {
            Op::List {
                ids_param, filters, ..
            } => {
                query.push(("page".into(), "page number, from 0"));
                query.push(("size".into(), "page size, 1 to 1000"));
                if let Some(ids) = ids_param {
                    query.push((ids.clone(), "comma-separated ids"));
                }
                for (param, _) in filters {
                    query.push((param.clone(), "equality filter"));
                }
            }
            Op::ListBy { .. } => {
                query.push(("page".into(), "page number, from 0"));
                query.push(("size".into(), "page size, 1 to 1000"));
            }
            Op::Create {
                input: Input::Query,
                model,
                ..
            } => {
                if let Some(m) = spec.model(model) {
                    for f in m.fields.iter().filter(|f| !f.server_set) {
                        query.push((
                            f.input.clone(),
                            if f.required { "required" } else { "optional" },
                        ));
                    }
                }
            }
            _ => {}
        }
        op.insert("parameters".into(), json!(parameters(&r.path, &query)));
        let body = match &r.op {
            Op::Create {
                input: Input::Body,
                model,
                ..
            }
            | Op::Update { model } => Some(schema_ref(&format!("{model}Request"))),
            Op::Search { .. } => Some(json!({"type": "object", "properties": {
                "query": {"type": "string"}, "page": {"type": "integer"}, "size": {"type": "integer"}}})),
            Op::Hook {
                request: Some(req), ..
            } => Some(schema_ref(req)),
            _ => None,
        };
        if let Some(schema) = body {
            op.insert("requestBody".into(), json_body(schema));
        }
        let mut ok = json!({"description": "Success"});
        if let Some(schema) = response_schema(spec, r) {
            ok = json!({"description": "Success", "content": {"application/json": {"schema": schema}}});
        }
        op.insert(
            "responses".into(),
            json!({ r.status.to_string(): ok, "default": error.clone() }),
        );
        let entry = paths
            .entry(full_path(s, r))
            .or_insert_with(|| Value::Object(Map::new()));
        entry[method_key(r.method)] = Value::Object(op);
    }
    for o in spec.services.iter().flat_map(|s| &s.orchestrated) {
        let mut op = Map::new();
        op.insert(
            "operationId".into(),
            json!(snake(&format!(
                "v1 {} {}",
                o.method.as_str(),
                o.path.replace(['{', '}'], "")
            ))),
        );
        op.insert("tags".into(), json!(["v1"]));
        if let Some(doc) = &o.doc {
            op.insert("summary".into(), json!(doc));
        }
        op.insert("parameters".into(), json!(parameters(&o.path, &[])));
        if let Some(req) = &o.request {
            op.insert("requestBody".into(), json_body(schema_ref(req)));
        }
        let schema = if o.method.is_write() {
            schema_ref("Envelope")
        } else {
            json!({})
        };
        op.insert(
            "responses".into(),
            json!({ o.status.to_string(): {"description": "Success", "content": {"application/json": {"schema": schema}}}, "default": error.clone() }),
        );
        let entry = paths
            .entry(o.path.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        entry[method_key(o.method)] = Value::Object(op);
    }

    let doc = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "mez zone",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The direct Mass surface and the orchestrated /v1 surface of a mez zone, generated from spec/.",
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
        "paths": paths,
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}
