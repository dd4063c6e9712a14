// SPDX-License-Identifier: BUSL-1.1
//! The OpenAPI back end: an OpenAPI 3.1 document of the direct and `/v1` surfaces and of the
//! zone's own routes.
//!
//! Built from the same checked spec as the Rust surface, so the document and the server agree
//! by construction: the request schemas are the models' validation rules (with the input rules
//! every route enforces: no U+0000, `null` as absence, decimals as plain strings), the paths,
//! methods and statuses are the routes. Every operation lists each status it can answer and
//! no catch-all. Each operation carries `x-mez-surface` (`direct`, `v1` or `zone`), so that a
//! proxy zone, which mounts no direct surface, serves the document without those paths. The
//! zone serves it at `/openapi.json` and renders it at `/docs`.

use serde_json::{Map, Value, json};

use crate::model::{
    Bound, Field, FieldType, IdCheck, Input, MassSpec, Method, Model, Op, Orchestrated, Route,
    Service, Spec,
};
use crate::rust::{full_path, handler_name, snake};

/// The characters Rust's `str::trim` removes (Unicode `White_Space`), as a regex class body.
const WS: &str =
    "\\t\\n\\x0B\\x0C\\r \\x85\\xA0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000";

/// The largest page number (pages are 64-bit signed integers, as every integer the zone reads
/// is), the largest page size, and the default size of a list route's page.
const MAX_PAGE: i64 = i64::MAX;
const MAX_PAGE_SIZE: u64 = 1000;
const DEFAULT_LIST_PAGE_SIZE: u64 = 100;

/// A string with no U+0000 (refused everywhere, with a 422).
fn no_nul() -> Value {
    json!({"type": "string", "pattern": "^[^\\x00]*$"})
}

/// The pattern of a string field: no NUL, and for a trimmed field the length limits counted
/// after trimming, as the server counts them.
fn string_schema(f: &Field) -> Value {
    let mut s = text_schema(f.trim, f.min_len, f.max_len);
    // The identity checks: a CNIC holds exactly 13 ASCII digits (separators are free), an
    // NTN is exactly 7 ASCII digits (around white space a trimmed field drops).
    let check = match f.id_check() {
        Some(IdCheck::Cnic) => Some("^[^0-9\\x00]*(?:[0-9][^0-9\\x00]*){13}$".to_string()),
        // An optional NTN sent empty is no NTN (a non-filer), as the withholding rule reads it.
        Some(IdCheck::Ntn) => Some(match (f.trim, f.required) {
            (true, false) => format!("^[{WS}]*(?:[0-9]{{7}})?[{WS}]*$"),
            (true, true) => format!("^[{WS}]*[0-9]{{7}}[{WS}]*$"),
            (false, false) => "^(?:[0-9]{7})?$".to_string(),
            (false, true) => "^[0-9]{7}$".to_string(),
        }),
        None => None,
    };
    // The check is the schema's own pattern. A length rule the check does not imply goes in
    // its `allOf`; a generator (schemathesis) draws from `pattern` and filters by `allOf`,
    // and filtering fails its health check when few drawn strings pass, so a CNIC declares
    // no maximum length (13 digits and a trimmed length of at most N is no regular
    // expression a generator can draw from) and its length rule is then left out.
    if let Some(p) = check {
        let length = std::mem::replace(&mut s["pattern"], json!(p));
        if !check_implies_length(f) {
            s["allOf"] = json!([{ "pattern": length }]);
        }
    }
    s
}

/// Whether every string a field's identity check admits also meets its length limits: a
/// CNIC holds 13 digits, which trimming keeps; an NTN is 7 digits and at most white space.
fn check_implies_length(f: &Field) -> bool {
    let digits = if f.id_check() == Some(IdCheck::Cnic) {
        13
    } else {
        7
    };
    f.max_len.is_none() && f.min_len.unwrap_or(0) <= digits
}

fn text_schema(trim: bool, min_len: Option<u64>, max_len: Option<u64>) -> Value {
    if !trim {
        let mut s = no_nul();
        if let Some(min) = min_len {
            s["minLength"] = json!(min);
        }
        if let Some(max) = max_len {
            s["maxLength"] = json!(max);
        }
        return s;
    }
    // Trimmed: leading and trailing white space are free; the core between is limited.
    let core_char = format!("[^\\x00{WS}]");
    let any = "[^\\x00]";
    let core = match (min_len.unwrap_or(0), max_len) {
        (_, Some(0)) => String::new(),
        (0, Some(1)) => format!("{core_char}?"),
        (_, Some(1)) => core_char.clone(),
        (min, Some(max)) => {
            let inner = format!("{core_char}(?:{any}{{0,{}}}{core_char})?", max - 2);
            if min == 0 {
                format!("(?:{inner})?")
            } else if min == 1 {
                inner
            } else {
                format!("{core_char}{any}{{{},{}}}{core_char}", min - 2, max - 2)
            }
        }
        (0, None) => format!("(?:{core_char}(?:{any}*{core_char})?)?"),
        (1, None) => format!("{core_char}(?:{any}*{core_char})?"),
        (min, None) => format!("{core_char}{any}{{{},}}{core_char}", min - 2),
    };
    json!({"type": "string", "pattern": format!("^[{WS}]*{core}[{WS}]*$")})
}

/// Digits of a non-negative decimal bound: integer part without leading zeros, fraction
/// without trailing zeros. `None` for a negative or malformed bound.
fn split_bound(b: &str) -> Option<(String, String)> {
    if b.starts_with('-') {
        return None;
    }
    let (int, frac) = b.split_once('.').unwrap_or((b, ""));
    if int.is_empty() || !int.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    Some((int.to_string(), frac.trim_end_matches('0').to_string()))
}

/// Alternatives matching the digit strings of `len` digits greater than `digits` (or less,
/// with `greater` false), position by position.
fn digitwise(digits: &str, greater: bool) -> Vec<String> {
    let bytes = digits.as_bytes();
    let mut out = Vec::new();
    for (i, &c) in bytes.iter().enumerate() {
        let d = c - b'0';
        let class = if greater {
            (d < 9).then(|| format!("[{}-9]", d + 1))
        } else {
            (d > 0).then(|| format!("[0-{}]", d - 1))
        };
        if let Some(class) = class {
            let rest = bytes.len() - i - 1;
            out.push(format!("{}{class}\\d{{{rest}}}", &digits[..i]));
        }
    }
    out
}

/// A pattern for plain decimals `>= min` (min not negative).
fn decimal_at_least(min: &str) -> Option<String> {
    let (int, frac) = split_bound(min)?;
    let mut alts = Vec::new();
    // A larger integer part: more digits, or as many and larger digit by digit.
    let more = format!("[1-9]\\d{{{},}}", int.len());
    alts.push(format!(
        "0*(?:{})(?:\\.\\d+)?",
        [vec![more], digitwise(&int, true)].concat().join("|")
    ));
    // The same integer part and a fraction at least the bound's.
    if frac.is_empty() {
        alts.push(format!("0*{int}(?:\\.\\d+)?"));
        if int == "0" {
            alts.push("-0+(?:\\.0+)?".into());
        }
    } else {
        let mut fr = digitwise(&frac, true)
            .into_iter()
            .map(|a| format!("{a}\\d*"))
            .collect::<Vec<_>>();
        fr.push(format!("{frac}\\d*"));
        alts.push(format!("0*{int}\\.(?:{})", fr.join("|")));
    }
    Some(format!("^(?:{})$", alts.join("|")))
}

/// A pattern for plain decimals `<= max` (max not negative).
fn decimal_at_most(max: &str) -> Option<String> {
    let (int, frac) = split_bound(max)?;
    let mut alts = vec!["-\\d+(?:\\.\\d+)?".to_string()];
    // A smaller integer part: fewer digits, or as many and smaller digit by digit.
    let mut smaller = digitwise(&int, false);
    if int.len() > 1 {
        smaller.push(format!("\\d{{1,{}}}", int.len() - 1));
    }
    if !smaller.is_empty() {
        alts.push(format!("0*(?:{})(?:\\.\\d+)?", smaller.join("|")));
    }
    if frac.is_empty() {
        alts.push(format!("0*{int}(?:\\.0+)?"));
    } else {
        let mut fr = digitwise(&frac, false)
            .into_iter()
            .map(|a| format!("{a}\\d*"))
            .collect::<Vec<_>>();
        fr.push(format!("{frac}0*"));
        alts.push(format!("0*{int}(?:\\.(?:{}))?", fr.join("|")));
    }
    Some(format!("^(?:{})$", alts.join("|")))
}

/// A decimal field: a string of the exact plain form, its bounds as patterns a validator
/// enforces (`allOf`, one pattern each), the bounds also stated for readers.
fn decimal_schema(f: &Field) -> Value {
    let digits = crate::parse::decimal::MAX_INTEGER_DIGITS;
    let plain = format!("^-?0*[0-9]{{1,{digits}}}(\\.[0-9]+)?$");
    let mut s = json!({"type": "string", "pattern": plain});
    let mut all = Vec::new();
    if let Some(Bound::Decimal(min)) = &f.min {
        s["x-minimum"] = json!(min);
        if let Some(p) = decimal_at_least(min) {
            all.push(json!({"pattern": p}));
        }
    }
    if let Some(Bound::Decimal(max)) = &f.max {
        s["x-maximum"] = json!(max);
        if let Some(p) = decimal_at_most(max) {
            all.push(json!({"pattern": p}));
        }
    }
    if !all.is_empty() {
        s["allOf"] = json!(all);
    }
    s
}

fn int_bound(b: &Option<Bound>) -> Option<i64> {
    match b {
        Some(Bound::Int(i)) => Some(*i),
        _ => None,
    }
}

/// The JSON Schema of one field's values.
fn field_schema(f: &Field) -> Value {
    let mut schema = match &f.ty {
        FieldType::String => string_schema(f),
        FieldType::Integer => json!({
            "type": "integer",
            "minimum": int_bound(&f.min).unwrap_or(i64::MIN),
            "maximum": int_bound(&f.max).unwrap_or(i64::MAX),
        }),
        FieldType::Boolean => json!({"type": "boolean"}),
        FieldType::Decimal => decimal_schema(f),
        // Parsed after trimming; only the hyphenated form is accepted.
        FieldType::Uuid => json!({"type": "string", "pattern": format!(
            "^[{WS}]*[0-9a-fA-F]{{8}}-[0-9a-fA-F]{{4}}-[0-9a-fA-F]{{4}}-[0-9a-fA-F]{{4}}-[0-9a-fA-F]{{12}}[{WS}]*$"
        )}),
        FieldType::DateTime => json!({"type": "string", "format": "date-time"}),
        FieldType::Json => schema_ref("Json"),
        FieldType::Object => json!({
            "type": "object",
            "propertyNames": no_nul(),
            "additionalProperties": schema_ref("Json"),
        }),
        FieldType::Enum(values) => json!({"type": "string", "enum": values}),
        FieldType::StringList => {
            let mut item = no_nul();
            if let Some(max) = f.max_len {
                item["maxLength"] = json!(max);
            }
            json!({"type": "array", "items": item})
        }
        FieldType::JsonList => json!({"type": "array", "items": schema_ref("Json")}),
        FieldType::ModelList(item) => json!({"type": "array", "items": schema_ref(item)}),
    };
    if let Some(obj) = schema.as_object_mut() {
        let mut set = |k: &str, v: Option<Value>| {
            if let Some(v) = v {
                obj.insert(k.to_string(), v);
            }
        };
        set("minItems", f.min_items.map(Value::from));
        set("maxItems", f.max_items.map(Value::from));
        set("default", f.default.clone().filter(|d| !d.is_null()));
        set("description", f.doc.clone().map(Value::from));
    }
    schema
}

fn nullable(schema: Value) -> Value {
    json!({"anyOf": [schema, {"type": "null"}]})
}

/// How a model's schema is used.
#[derive(Clone, Copy, PartialEq)]
enum Shape {
    /// A stored record as answered: record names, server-set fields, timestamps.
    Record,
    /// A create (or hook) request: input names; optional fields may be `null` (absent).
    Create,
    /// An update: every field optional, at least one present and not `null`.
    Update,
}

/// A model's schema in one [`Shape`].
fn model_schema(m: &Model, shape: Shape) -> Value {
    let as_record = shape == Shape::Record;
    let mut properties = Map::new();
    let mut required = Vec::new();
    let mut some_value = Vec::new();
    if as_record {
        properties.insert("id".into(), json!({"type": "string"}));
        required.push(json!("id"));
    }
    for f in &m.fields {
        if as_record && f.transient {
            continue;
        }
        let key = if as_record { &f.name } else { &f.input };
        if !as_record && f.server_set {
            // Refused when sent, even by an open model.
            properties.insert(key.clone(), json!(false));
            continue;
        }
        let mut schema = field_schema(f);
        let optional = match shape {
            Shape::Record | Shape::Create => !f.required,
            Shape::Update => true,
        };
        if optional && !(shape == Shape::Update && f.required) {
            schema = nullable(schema);
        }
        if shape == Shape::Update {
            some_value.push(
                json!({"required": [key], "properties": {key.clone(): {"not": {"type": "null"}}}}),
            );
        }
        properties.insert(key.clone(), schema);
        if as_record || (shape == Shape::Create && f.required) {
            required.push(json!(key));
        }
    }
    if as_record && m.created_at {
        properties.insert("createdAt".into(), json!({"type": "string"}));
        required.push(json!("createdAt"));
    }
    if as_record && m.updated_at {
        properties.insert("updatedAt".into(), json!({"type": "string"}));
        required.push(json!("updatedAt"));
    }
    let mut schema = json!({
        "type": "object",
        "properties": properties,
        "required": required,
    });
    if as_record {
        // Records of an open model keep extra keys.
        schema["additionalProperties"] = json!(m.open);
    } else if m.open {
        schema["propertyNames"] = no_nul();
        schema["additionalProperties"] = schema_ref("Json");
    } else {
        schema["additionalProperties"] = json!(false);
    }
    if shape == Shape::Update {
        schema["description"] = json!(format!(
            "A partial update of {}: only the fields sent change; `null` leaves a field unchanged; at least one field must be sent with a value.",
            m.name
        ));
        schema["anyOf"] = json!(some_value);
    } else if let Some(doc) = &m.doc {
        schema["description"] = json!(doc);
    }
    schema
}

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// A required JSON request body, with the spec's example when it names no placeholder.
fn json_body(schema: Value, example: Option<&Value>) -> Value {
    let mut media = json!({"schema": schema});
    if let Some(ex) = example.filter(|e| !has_placeholder(e)) {
        media["example"] = ex.clone();
    }
    json!({"required": true, "content": {"application/json": media}})
}

/// Whether an example holds a `$name` placeholder the parity suite fills in.
fn has_placeholder(v: &Value) -> bool {
    match v {
        Value::String(s) => s.starts_with('$'),
        Value::Array(a) => a.iter().any(has_placeholder),
        Value::Object(o) => o.values().any(has_placeholder),
        _ => false,
    }
}

/// The JSON Schema of a JSON value's shape (for static data).
fn shape_of(v: &Value) -> Value {
    match v {
        Value::Array(_) => json!({"type": "array"}),
        Value::Object(_) => json!({"type": "object"}),
        Value::String(_) => json!({"type": "string"}),
        Value::Number(_) => json!({"type": "number"}),
        Value::Bool(_) => json!({"type": "boolean"}),
        Value::Null => json!({"type": "null"}),
    }
}

fn search_page(model: &str) -> Value {
    json!({
        "type": "object",
        "required": ["content", "totalElements", "totalPages", "number", "size"],
        "properties": {
            "content": {"type": "array", "items": schema_ref(model)},
            "totalElements": {"type": "integer"},
            "totalPages": {"type": "integer"},
            "number": {"type": "integer"},
            "size": {"type": "integer"},
        },
    })
}

/// The schema of a direct route's answer; `None` for an empty answer.
fn response_schema(s: &Service, r: &Route) -> Option<Value> {
    // A hook or static route that declares its answer in the spec.
    match &r.response {
        Some(crate::model::Response::Model(m)) => return Some(schema_ref(m)),
        Some(crate::model::Response::ModelList(m)) => {
            return Some(json!({"type": "array", "items": schema_ref(m)}));
        }
        Some(crate::model::Response::JsonList) => return Some(json!({"type": "array"})),
        Some(crate::model::Response::Empty) => return None,
        None => {}
    }
    let model = r.model().map(str::to_string);
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
        (Op::Search { .. }, Some(m)) => Some(search_page(&m)),
        (Op::Delete { .. }, _) => None,
        (Op::Static { data: None, .. }, _) => None,
        (Op::Static { data: Some(d), key }, _) => {
            let data = s.data.get(d);
            match (data, key) {
                (Some(Value::Array(items)), Some(_)) => Some(
                    items
                        .first()
                        .map(shape_of)
                        .unwrap_or(json!({"type": "object"})),
                ),
                (Some(v), None) => Some(shape_of(v)),
                _ => Some(json!({"type": "object"})),
            }
        }
        // A hook's answer: the spec does not type it further.
        _ => Some(json!({"type": ["object", "array"]})),
    }
}

/// Query parameters: name, schema, required, description.
type Query = Vec<(String, Value, bool, String)>;

fn page_params(q: &mut Query) {
    q.push((
        "page".into(),
        json!({"type": "integer", "minimum": 0, "maximum": MAX_PAGE, "default": 0}),
        false,
        "page number, from 0".into(),
    ));
    q.push((
        "size".into(),
        json!({"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": DEFAULT_LIST_PAGE_SIZE}),
        false,
        format!("page size, 1 to {MAX_PAGE_SIZE}"),
    ));
}

fn parameters(path: &str, query: &Query) -> Vec<Value> {
    let mut out: Vec<Value> = crate::model::path_params(path)
        .into_iter()
        .map(|p| {
            let mut schema = no_nul();
            schema["minLength"] = json!(1);
            json!({"name": p, "in": "path", "required": true, "schema": schema})
        })
        .collect();
    for (name, schema, required, description) in query {
        out.push(json!({"name": name, "in": "query", "required": required, "schema": schema, "description": description}));
    }
    out
}

/// The query parameters of a direct route.
fn route_query(spec: &Spec, r: &Route) -> Query {
    let mut q = Query::new();
    match &r.op {
        Op::List {
            ids_param, filters, ..
        } => {
            page_params(&mut q);
            if let Some(ids) = ids_param {
                q.push((ids.clone(), no_nul(), false, "comma-separated ids".into()));
            }
            // Equality filters compare text as sent; they are not validated as field values.
            for (param, field) in filters {
                q.push((
                    param.clone(),
                    no_nul(),
                    false,
                    format!("only records whose {field} equals this"),
                ));
            }
        }
        Op::ListBy { .. } => page_params(&mut q),
        Op::Create {
            input: Input::Query,
            model,
            ..
        } => {
            if let Some(m) = spec.model(model) {
                for f in m.fields.iter().filter(|f| !f.server_set) {
                    q.push((
                        f.input.clone(),
                        field_schema(f),
                        f.required,
                        f.doc.clone().unwrap_or_default(),
                    ));
                }
            }
        }
        _ => {}
    }
    q
}

/// The error answer, and the statuses an operation can answer besides its success.
fn error_response(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema_ref("Error")}}})
}

struct Can {
    body: bool,
    write: bool,
    found: bool,
    compliance: bool,
    upstream: bool,
}

fn error_statuses(responses: &mut Map<String, Value>, can: Can) {
    let mut add = |code: u16, what: &str| {
        responses.insert(code.to_string(), error_response(what));
    };
    add(
        400,
        "Malformed request: JSON that does not parse, or a path that is not UTF-8",
    );
    add(
        401,
        "Missing, wrong or revoked bearer token (AUTH_TOKEN, an API key, or a JWT)",
    );
    if can.compliance {
        add(
            403,
            "Blocked by a hard-block compliance domain (named in the message), or the caller's role may not do this (named in the message): a regulator only reads, an entity_operator creates no entity and uses no zone administration route",
        );
    } else {
        add(
            403,
            "The caller's role may not do this (named in the message): a regulator only reads, an entity_operator uses no zone administration route",
        );
    }
    if can.found {
        add(
            404,
            "No such record, or (for an entity_operator) a record or entity outside the caller's entity, answered alike so that existence is not disclosed",
        );
    }
    if can.write {
        add(409, "Conflicting state");
    }
    if can.body {
        add(413, "Request body too large");
        add(415, "Content type is not application/json");
    }
    add(
        422,
        "Validation failed: every offending field is listed in `details`",
    );
    add(
        429,
        "The caller's rate limit (MEZ_RATE_LIMIT) is used up; Retry-After says when to try again",
    );
    add(
        500,
        "Internal error (the cause is logged with a reference id)",
    );
    if can.upstream {
        add(
            502,
            "The upstream Mass service failed or answered out of spec",
        );
        add(503, "No upstream Mass service is configured");
        add(504, "The upstream Mass service timed out");
    }
}

fn method_key(m: Method) -> String {
    m.as_str().to_ascii_lowercase()
}

fn direct_operation(spec: &Spec, s: &Service, r: &Route) -> Value {
    let mut op = Map::new();
    op.insert("operationId".into(), json!(handler_name(s, r)));
    op.insert(
        "tags".into(),
        json!([if s.name == "zone" {
            "zone"
        } else {
            s.name.as_str()
        }]),
    );
    op.insert("x-mez-surface".into(), json!("direct"));
    op.insert("x-mez-access".into(), json!(r.access(spec).name()));
    if let Some(doc) = &r.doc {
        op.insert("summary".into(), json!(doc));
    }
    op.insert(
        "parameters".into(),
        json!(parameters(&r.path, &route_query(spec, r))),
    );
    let example = r.example.as_ref().map(|e| strip_params(e, &r.params()));
    let body = match &r.op {
        Op::Create {
            input: Input::Body,
            model,
            ..
        } => Some(schema_ref(&format!("{model}Request"))),
        Op::Update { model } => Some(schema_ref(&format!("{model}Update"))),
        Op::Search { .. } => Some(schema_ref("SearchRequest")),
        Op::Hook {
            request: Some(req), ..
        } => Some(schema_ref(req)),
        _ => None,
    };
    let has_body = body.is_some();
    if let Some(schema) = body {
        op.insert("requestBody".into(), json_body(schema, example.as_ref()));
    }
    beyond_schema(&mut op, r.hook_rules.clone());
    if r.method == Method::Get && deletes_keep_record(spec, &full_path(s, r)) {
        // A DELETE of this path is a transition (a consent is canceled), not a removal.
        op.insert("x-mez-kept-after-delete".into(), json!(true));
    }
    let mut responses = Map::new();
    let ok = match response_schema(s, r) {
        Some(schema) => {
            json!({"description": "Success", "content": {"application/json": {"schema": schema}}})
        }
        None => json!({"description": "Success (no body)"}),
    };
    responses.insert(r.status.to_string(), ok);
    error_statuses(
        &mut responses,
        Can {
            body: has_body,
            write: r.op.writes(r.method),
            found: true,
            compliance: false,
            upstream: false,
        },
    );
    op.insert("responses".into(), Value::Object(responses));
    Value::Object(op)
}

/// Names the rules a request must also meet that its JSON Schema cannot state (a record a
/// field names exists, one field bounds another): `x-mez-hook-rules` lists them, and
/// `x-mez-schema-complete: false` says that a schema-valid request may still be refused
/// with a 422 naming the field.
fn beyond_schema(op: &mut Map<String, Value>, rules: Vec<String>) {
    if rules.is_empty() {
        return;
    }
    op.insert("x-mez-schema-complete".into(), json!(false));
    op.insert("x-mez-hook-rules".into(), json!(rules));
}

/// Whether a DELETE route of this full path is a transition that keeps the record.
fn deletes_keep_record(spec: &Spec, path: &str) -> bool {
    spec.routes().any(|(s, r)| {
        r.method == Method::Delete
            && matches!(r.op, Op::Transition { .. })
            && full_path(s, r) == path
    })
}

/// The rules of a `/v1` route beyond its schema: the organizations and accounts its request
/// names must exist, and the called direct route's own hook rules hold.
fn v1_rules(o: &Orchestrated, target: Option<(&Service, &Route)>) -> Vec<String> {
    let params = o.params();
    let mut organizations: Vec<&String> = o.screen_entities.iter().collect();
    if let Some(entity) = &o.jurisdiction.entity {
        if !organizations.contains(&entity) {
            organizations.push(entity);
        }
    }
    let mut rules: Vec<String> = organizations
        .into_iter()
        .filter(|field| !params.contains(field))
        .map(|field| format!("{field} names an existing organization (else 422)"))
        .collect();
    rules.extend(
        o.screen_accounts
            .iter()
            .filter(|field| !params.contains(field))
            .map(|field| format!("{field} names an existing account (else 422)")),
    );
    if let Some((_, r)) = target {
        rules.extend(r.hook_rules.iter().cloned());
    }
    rules
}

/// An example without the path parameters it names (those go in the path).
fn strip_params(example: &Value, params: &[String]) -> Value {
    match example {
        Value::Object(o) => Value::Object(
            o.iter()
                .filter(|(k, _)| !params.contains(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        v => v.clone(),
    }
}

/// The direct route a `/v1` route's Mass call names.
fn called_route<'a>(
    spec: &'a Spec,
    method: Method,
    path: &str,
) -> Option<(&'a Service, &'a Route)> {
    spec.routes()
        .find(|(s, r)| r.method == method && full_path(s, r) == path)
}

fn v1_operation(spec: &Spec, o: &Orchestrated) -> Value {
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
    op.insert("x-mez-surface".into(), json!("v1"));
    op.insert("x-mez-access".into(), json!(o.access().name()));
    if let Some(doc) = &o.doc {
        op.insert("summary".into(), json!(doc));
    }
    let target = match &o.mass {
        MassSpec::Call { method, path, .. } => called_route(spec, *method, path),
        MassSpec::Hook(_) => None,
    };
    // A read passes its query on to the Mass call.
    let query = match (o.method, target) {
        (Method::Get, Some((_, r))) => route_query(spec, r),
        _ => Query::new(),
    };
    op.insert("parameters".into(), json!(parameters(&o.path, &query)));
    if let Some(req) = &o.request {
        let example = o.example.as_ref().map(|e| strip_params(e, &o.params()));
        op.insert(
            "requestBody".into(),
            json_body(schema_ref(req), example.as_ref()),
        );
    }
    if o.method.is_write() {
        beyond_schema(&mut op, v1_rules(o, target));
    }
    let mass = target
        .and_then(|(s, r)| response_schema(s, r))
        .unwrap_or(json!({"type": "object"}));
    let schema = if o.method.is_write() {
        json!({"allOf": [schema_ref("Envelope"), {"properties": {"mass_response": mass}}]})
    } else {
        mass
    };
    let mut responses = Map::new();
    responses.insert(
        o.status.to_string(),
        json!({"description": "Success", "content": {"application/json": {"schema": schema}}}),
    );
    error_statuses(
        &mut responses,
        Can {
            body: o.request.is_some(),
            write: o.method.is_write(),
            found: true,
            compliance: o.method.is_write(),
            upstream: true,
        },
    );
    op.insert("responses".into(), Value::Object(responses));
    Value::Object(op)
}

/// The zone's own routes (hand-written in `mez-api`): path, method, operation.
fn zone_operations() -> Vec<(&'static str, &'static str, Value)> {
    let paging = || -> Query {
        vec![
            (
                "offset".into(),
                json!({"type": "integer", "minimum": 0, "maximum": u64::MAX, "default": 0}),
                false,
                "events to skip".into(),
            ),
            (
                "limit".into(),
                json!({"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}),
                false,
                "at most this many, 1 to 1000".into(),
            ),
            (
                "resource_type".into(),
                no_nul(),
                false,
                "only this resource type".into(),
            ),
            (
                "resource_id".into(),
                no_nul(),
                false,
                "only this resource id".into(),
            ),
        ]
    };
    let op = |id: &str,
              summary: &str,
              path: &str,
              query: Query,
              body: Option<Value>,
              ok: Value,
              found: bool,
              public: bool| {
        let mut o = json!({
            "operationId": id,
            "tags": ["zone"],
            "x-mez-surface": "zone",
            "summary": summary,
            "parameters": parameters(path, &query),
        });
        let mut responses = Map::new();
        responses.insert(
            "200".into(),
            json!({"description": "Success", "content": {"application/json": {"schema": ok}}}),
        );
        if public {
            o["security"] = json!([]);
            responses.insert("500".into(), error_response("Internal error"));
        } else {
            error_statuses(
                &mut responses,
                Can {
                    body: body.is_some(),
                    write: false,
                    found,
                    compliance: false,
                    upstream: false,
                },
            );
        }
        if let Some(b) = body {
            o["requestBody"] = json_body(b, None);
        }
        o["responses"] = Value::Object(responses);
        o
    };
    let mut readiness = op(
        "zone_readiness",
        "Readiness probe: the database answers.",
        "/health/readiness",
        Query::new(),
        None,
        json!({"type": "object", "required": ["status"], "properties": {"status": {"const": "ready"}}}),
        false,
        true,
    );
    readiness["responses"]["503"] = error_response("The database is not reachable");
    let mut status_list = op(
        "zone_credential_status_list",
        "A W3C Bitstring Status List credential (revocation-N or suspension-N), signed eddsa-jcs-2022 by the zone; no token needed.",
        "/v1/credentials/status/{list}",
        Query::new(),
        None,
        schema_ref("StatusListCredential"),
        false,
        true,
    );
    status_list["responses"]["404"] = error_response("No such status list");
    let mut status_change = op(
        "zone_credential_status_change",
        "Revokes (permanently), suspends or reinstates a credential; id is its urn:uuid id or its attestation id.",
        "/v1/credentials/{id}/status",
        Query::new(),
        Some(schema_ref("StatusChangeRequest")),
        schema_ref("StatusChange"),
        true,
        false,
    );
    status_change["responses"]["409"] =
        error_response("The credential is revoked, and revocation is permanent");
    // The Prometheus text format, not JSON; behind the bearer token like the rest.
    let mut metrics = op(
        "zone_metrics",
        "What the zone is doing (requests, /v1 stages, upstream calls, audit writer, database pool), in the Prometheus text format.",
        "/metrics",
        Query::new(),
        None,
        json!({"type": "string"}),
        false,
        false,
    );
    metrics["responses"]["200"] = json!({
        "description": "Success",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    });
    metrics["responses"]["503"] =
        error_response("Metrics are off: another recorder was installed in this process");
    let text255 = || nullable(text_schema(true, Some(1), Some(255)));
    let trigger = op(
        "zone_post_trigger",
        "Receives a trigger by hand: the policies of spec/policies.yaml produce their actions (stored; automatic ones with an executor run at once).",
        "/v1/triggers",
        Query::new(),
        Some(json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["trigger_type"],
            "properties": {
                "trigger_type": {"enum": crate::check::policy::TRIGGER_TYPES},
                "asset_id": text255(),
                "jurisdiction": text255(),
                "data": nullable(json!({"type": "object", "propertyNames": no_nul(), "additionalProperties": schema_ref("TriggerValue")})),
            },
        })),
        schema_ref("TriggerResult"),
        false,
        false,
    );
    let mut approve = op(
        "zone_approve_action",
        "One approval of an action awaiting authorization; the approval that completes its requirement runs it.",
        "/v1/actions/{id}/approve",
        Query::new(),
        Some(json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["approver"],
            "properties": {"approver": text_schema(true, Some(1), Some(255))},
        })),
        schema_ref("Action"),
        true,
        false,
    );
    approve["responses"]["409"] = error_response(
        "The action is not awaiting authorization, or this approver already approved it",
    );
    let mut reload = op(
        "zone_reload_sanctions",
        "Reloads MEZ_SANCTIONS_FILE and re-screens every organization; each new hit has its credentials revoked and fires sanctions_list_update (as SIGHUP does).",
        "/v1/sanctions/reload",
        Query::new(),
        None,
        schema_ref("ReloadResult"),
        false,
        false,
    );
    reload["responses"]["409"] =
        error_response("The list did not load; the old one stays in force");
    let mut action_filters: Query = paging();
    action_filters.retain(|(k, ..)| k == "offset" || k == "limit");
    for k in ["status", "policy_id", "subject"] {
        action_filters.push((
            k.to_string(),
            no_nul(),
            false,
            format!("only actions with this {k}"),
        ));
    }
    let zone_admin_only = |mut o: Value| {
        o["responses"]["403"] =
            error_response("The caller's role is not zone_admin (named in the message)");
        o
    };
    let mut create_key = zone_admin_only(op(
        "zone_create_key",
        "Creates an API key and shows its secret, once (mez_<id>_<secret>; only its SHA-256 is stored). zone_admin only.",
        "/v1/keys",
        Query::new(),
        // Two shapes, so that the document states the rule the zone applies: an
        // entity_operator names its entity, the other roles name none.
        Some(json!({
            "oneOf": [
                {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["role"],
                    "properties": {
                        "role": {"enum": ["zone_admin", "regulator"]},
                        "entity_id": {"type": "null"},
                        "name": nullable(text_schema(true, Some(1), Some(255))),
                    },
                },
                {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["role", "entity_id"],
                    "properties": {
                        "role": {"const": "entity_operator"},
                        "entity_id": text_schema(true, Some(1), Some(255)),
                        "name": nullable(text_schema(true, Some(1), Some(255))),
                    },
                },
            ],
            "description": "entity_id is required for entity_operator and refused for the other roles.",
        })),
        schema_ref("CreatedApiKey"),
        false,
        false,
    ));
    if let Some(ok) = create_key["responses"]
        .as_object_mut()
        .and_then(|responses| responses.remove("200"))
    {
        let mut created = ok;
        created["description"] = json!("Created");
        create_key["responses"]["201"] = created;
    }
    vec![
        ("/v1/keys", "post", create_key),
        (
            "/v1/keys",
            "get",
            zone_admin_only(op(
                "zone_list_keys",
                "Every API key, revoked ones too, oldest first; never a secret. zone_admin only.",
                "/v1/keys",
                Query::new(),
                None,
                json!({"type": "array", "items": schema_ref("ApiKey")}),
                false,
                false,
            )),
        ),
        (
            "/v1/keys/{id}",
            "delete",
            zone_admin_only(op(
                "zone_revoke_key",
                "Revokes an API key: every replica sharing the database refuses it (401) from its next request. Revoking a revoked key changes nothing. zone_admin only.",
                "/v1/keys/{id}",
                Query::new(),
                None,
                schema_ref("ApiKey"),
                true,
                false,
            )),
        ),
        (
            "/v1/policies",
            "get",
            op(
                "zone_list_policies",
                "The zone's policies (spec/policies.yaml).",
                "/v1/policies",
                Query::new(),
                None,
                json!({"type": "array", "items": schema_ref("Policy")}),
                false,
                false,
            ),
        ),
        ("/v1/triggers", "post", trigger),
        (
            "/v1/actions",
            "get",
            op(
                "zone_list_actions",
                "The actions policies produced, in the order produced.",
                "/v1/actions",
                action_filters,
                None,
                json!({"type": "array", "items": schema_ref("Action")}),
                false,
                false,
            ),
        ),
        (
            "/v1/actions/{id}",
            "get",
            op(
                "zone_get_action",
                "One action, with its approvals and status.",
                "/v1/actions/{id}",
                Query::new(),
                None,
                schema_ref("Action"),
                true,
                false,
            ),
        ),
        ("/v1/actions/{id}/approve", "post", approve),
        ("/v1/sanctions/reload", "post", reload),
        ("/metrics", "get", metrics),
        ("/v1/credentials/status/{list}", "get", status_list),
        ("/v1/credentials/{id}/status", "post", status_change),
        (
            "/health/liveness",
            "get",
            op(
                "zone_liveness",
                "Liveness probe: the process serves HTTP.",
                "/health/liveness",
                Query::new(),
                None,
                json!({"type": "object", "required": ["status"], "properties": {"status": {"const": "ok"}}}),
                false,
                true,
            ),
        ),
        ("/health/readiness", "get", readiness),
        (
            "/openapi.json",
            "get",
            op(
                "zone_openapi",
                "This document.",
                "/openapi.json",
                Query::new(),
                None,
                json!({"type": "object"}),
                false,
                true,
            ),
        ),
        (
            "/v1/credentials/verify",
            "post",
            op(
                "zone_verify_credential",
                "Verifies a credential of any did:key issuer: the credential, or {\"credential\": ...}.",
                "/v1/credentials/verify",
                Query::new(),
                Some(json!({
                    "type": "object",
                    "propertyNames": no_nul(),
                    "additionalProperties": schema_ref("Json"),
                })),
                schema_ref("VerifyResult"),
                false,
                false,
            ),
        ),
        (
            "/v1/attestations",
            "get",
            op(
                "zone_list_attestations",
                "Attestations in the order issued.",
                "/v1/attestations",
                paging(),
                None,
                json!({"type": "array", "items": {"type": "object"}}),
                false,
                false,
            ),
        ),
        (
            "/v1/attestations/{id}",
            "get",
            op(
                "zone_get_attestation",
                "One attestation.",
                "/v1/attestations/{id}",
                Query::new(),
                None,
                json!({"type": "object"}),
                true,
                false,
            ),
        ),
        (
            "/v1/audit/events",
            "get",
            op(
                "zone_audit_events",
                "Audit events in chain order.",
                "/v1/audit/events",
                paging(),
                None,
                json!({"type": "array", "items": {"type": "object"}}),
                false,
                false,
            ),
        ),
        (
            "/v1/entities/{id}/compliance",
            "get",
            op(
                "zone_entity_compliance",
                "The entity's compliance evaluated now over every domain of its jurisdiction, with reasons and evidence (no write, no credential).",
                "/v1/entities/{id}/compliance",
                Query::new(),
                None,
                json!({"allOf": [schema_ref("Compliance"), {"type": "object", "required": ["entity_id"], "properties": {"entity_id": {"type": "string"}}}]}),
                true,
                false,
            ),
        ),
        (
            "/v1/audit/verify",
            "get",
            op(
                "zone_audit_verify",
                "Recomputes every hash of the audit chain and checks its signed head.",
                "/v1/audit/verify",
                Query::new(),
                None,
                schema_ref("AuditReport"),
                false,
                false,
            ),
        ),
    ]
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
                "mass_response": {"description": "The Mass operation's answer (typed per route)."},
                "compliance": schema_ref("Compliance"),
                "credential": {"type": "object", "description": "A W3C VC 2.0 with an eddsa-jcs-2022 DataIntegrityProof; its `evidence` lists what decided each domain."},
                "attestation_id": {"type": "string"},
            },
        }),
    );
    let state = json!({"enum": ["compliant", "non_compliant", "expired", "pending", "exempt", "not_applicable"]});
    let domains = json!({"type": "array", "items": {"type": "string"}});
    schemas.insert(
        "Compliance".into(),
        json!({
            "type": "object",
            "description": "One compliance evaluation: a state per domain, a reason per relevant domain that does not pass, and the evidence that decided each relevant domain.",
            "required": ["jurisdiction_id", "overall_status", "domain_results", "passing_domains", "blocking_domains", "hard_blocks", "reasons", "evidence", "sample_sanctions_list", "tensor_commitment", "evaluated_at"],
            "properties": {
                "jurisdiction_id": {"type": "string"},
                "overall_status": state.clone(),
                "domain_results": {"type": "object", "additionalProperties": state},
                "passing_domains": domains.clone(),
                "blocking_domains": domains.clone(),
                "hard_blocks": domains,
                "reasons": {"type": "object", "additionalProperties": {"type": "string"}},
                "evidence": {"type": "array", "items": {
                    "type": "object",
                    "required": ["id", "type", "domain"],
                    "properties": {"id": {"type": "string"}, "type": {"type": "string"}, "domain": {"type": "string"}},
                }},
                "sample_sanctions_list": {"type": "boolean"},
                "tensor_commitment": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                "evaluated_at": {"type": "string", "format": "date-time"},
            },
        }),
    );
    schemas.insert(
        "Json".into(),
        json!({
            "description": "Any JSON value without U+0000 in a string or key (refused at any depth).",
            "anyOf": [
                {"type": ["null", "boolean", "number"]},
                no_nul(),
                {"type": "array", "items": schema_ref("Json")},
                {"type": "object", "propertyNames": no_nul(), "additionalProperties": schema_ref("Json")},
            ],
        }),
    );
    let bound = 9_007_199_254_740_992_u64;
    schemas.insert(
        "TriggerValue".into(),
        json!({
            "description": "Any JSON value without U+0000, whose numbers are at most 2^53 in magnitude (the audit trail holds them exactly).",
            "anyOf": [
                {"type": ["null", "boolean"]},
                {"type": "number", "minimum": -(bound as f64), "maximum": bound},
                no_nul(),
                {"type": "array", "items": schema_ref("TriggerValue")},
                {"type": "object", "propertyNames": no_nul(), "additionalProperties": schema_ref("TriggerValue")},
            ],
        }),
    );
    let action_status = json!({"enum": ["pending", "awaiting_authorization", "executed", "scheduled", "skipped", "failed"]});
    schemas.insert(
        "Policy".into(),
        json!({
            "type": "object",
            "required": ["policy_id", "description", "trigger_type", "action", "priority", "jurisdiction_scope", "authorization_requirement", "enabled", "condition"],
            "properties": {
                "policy_id": {"type": "string"},
                "description": {"type": "string"},
                "trigger_type": {"enum": crate::check::policy::TRIGGER_TYPES},
                "action": {"enum": crate::check::policy::ACTIONS},
                "priority": {"type": "integer"},
                "jurisdiction_scope": {"type": "array", "items": {"type": "string"}},
                "authorization_requirement": {"enum": crate::check::policy::AUTHORIZATIONS},
                "enabled": {"type": "boolean"},
                "condition": {"type": ["object", "null"]},
            },
        }),
    );
    schemas.insert(
        "ActionBrief".into(),
        json!({
            "type": "object",
            "required": ["action_id", "action_type", "policy_id", "status"],
            "properties": {
                "action_id": {"type": "string"},
                "action_type": {"enum": crate::check::policy::ACTIONS},
                "policy_id": {"type": "string"},
                "status": action_status.clone(),
                "detail": {"type": ["string", "null"]},
            },
        }),
    );
    schemas.insert(
        "Action".into(),
        json!({
            "type": "object",
            "required": ["action_id", "action_type", "policy_id", "status", "trigger", "authorization_requirement", "approvals_required", "approvals", "attempts", "created_at", "updated_at"],
            "properties": {
                "action_id": {"type": "string"},
                "action_type": {"enum": crate::check::policy::ACTIONS},
                "policy_id": {"type": "string"},
                "status": action_status,
                "detail": {"type": ["string", "null"]},
                "subject": {"type": ["string", "null"]},
                "trigger": {"type": "object"},
                "authorization_requirement": {"enum": crate::check::policy::AUTHORIZATIONS},
                "approvals_required": {"type": "integer", "minimum": 0},
                "approvals": {"type": "array", "items": {
                    "type": "object",
                    "required": ["approver", "approved_at"],
                    "properties": {"approver": {"type": "string"}, "approved_at": {"type": "string"}},
                }},
                "attempts": {"type": "integer", "minimum": 0},
                "last_error": {"type": ["string", "null"]},
                "created_at": {"type": "string"},
                "updated_at": {"type": "string"},
            },
        }),
    );
    schemas.insert(
        "TriggerResult".into(),
        json!({
            "type": "object",
            "required": ["trigger_type", "subject", "actions_produced", "actions"],
            "properties": {
                "trigger_type": {"enum": crate::check::policy::TRIGGER_TYPES},
                "subject": {"type": ["string", "null"]},
                "actions_produced": {"type": "integer", "minimum": 0},
                "actions": {"type": "array", "items": schema_ref("ActionBrief")},
            },
        }),
    );
    schemas.insert(
        "ReloadResult".into(),
        json!({
            "type": "object",
            "required": ["entries", "sources", "rescreened", "new_hits"],
            "properties": {
                "entries": {"type": "integer", "minimum": 0},
                "sources": {"type": "array", "items": {"type": "object"}},
                "rescreened": {"type": "integer", "minimum": 0},
                "new_hits": {"type": "array", "items": {
                    "type": "object",
                    "required": ["entity_id", "listed_as", "credentials_revoked", "actions"],
                    "properties": {
                        "entity_id": {"type": "string"},
                        "name": {"type": ["string", "null"]},
                        "listed_as": {"type": "array", "items": {"type": "string"}},
                        "credentials_revoked": {"type": "array", "items": {"type": "string"}},
                        "actions": {"type": "array", "items": schema_ref("ActionBrief")},
                    },
                }},
            },
        }),
    );
    schemas.insert(
        "CredentialStatus".into(),
        json!({
            "type": "object",
            "required": ["revoked", "suspended"],
            "properties": {"revoked": {"type": "boolean"}, "suspended": {"type": "boolean"}},
        }),
    );
    schemas.insert(
        "StatusChangeRequest".into(),
        json!({
            "type": "object",
            "additionalProperties": false,
            "anyOf": [
                {"required": ["revoked"], "properties": {"revoked": {"type": "boolean"}}},
                {"required": ["suspended"], "properties": {"suspended": {"type": "boolean"}}},
            ],
            "properties": {
                "revoked": {"type": ["boolean", "null"], "description": "true revokes; false is refused once revoked (409)."},
                "suspended": {"type": ["boolean", "null"]},
                "reason": {"type": ["string", "null"], "maxLength": 1000, "pattern": "^[^\\x00]*$"},
            },
        }),
    );
    let key_properties = || {
        json!({
            "id": {"type": "string"},
            "role": {"enum": ["zone_admin", "regulator", "entity_operator"]},
            "entity_id": {"type": ["string", "null"]},
            "name": {"type": ["string", "null"]},
            "created_at": {"type": "string", "format": "date-time"},
        })
    };
    let mut api_key = key_properties();
    api_key["revoked_at"] = json!({"type": ["string", "null"], "format": "date-time"});
    schemas.insert(
        "ApiKey".into(),
        json!({
            "type": "object",
            "required": ["id", "role", "entity_id", "name", "created_at", "revoked_at"],
            "properties": api_key,
        }),
    );
    let mut created_key = key_properties();
    created_key["secret"] = json!({
        "type": "string",
        "pattern": "^mez_[0-9a-f]{32}_[0-9a-f]{64}$",
        "description": "The bearer token; shown only in this answer.",
    });
    schemas.insert(
        "CreatedApiKey".into(),
        json!({
            "type": "object",
            "required": ["id", "secret", "role", "entity_id", "name", "created_at"],
            "properties": created_key,
        }),
    );
    schemas.insert(
        "StatusChange".into(),
        json!({
            "type": "object",
            "required": ["credential_id", "revoked", "suspended", "changed"],
            "properties": {
                "credential_id": {"type": "string"},
                "revoked": {"type": "boolean"},
                "suspended": {"type": "boolean"},
                "changed": {"type": "boolean"},
            },
        }),
    );
    schemas.insert(
        "StatusListCredential".into(),
        json!({
            "type": "object",
            "required": ["@context", "id", "type", "issuer", "validFrom", "credentialSubject", "proof"],
            "properties": {
                "credentialSubject": {
                    "type": "object",
                    "required": ["id", "type", "statusPurpose", "encodedList"],
                    "properties": {
                        "type": {"const": "BitstringStatusList"},
                        "statusPurpose": {"enum": ["revocation", "suspension"]},
                        "encodedList": {"type": "string", "description": "u + base64url-no-padding(GZIP(bitstring of 131,072 bits))."},
                    },
                },
            },
        }),
    );
    schemas.insert(
        "VerifyResult".into(),
        json!({
            "type": "object",
            "required": ["verified", "reason", "status"],
            "properties": {
                "verified": {"type": "boolean"},
                "reason": {"type": ["string", "null"]},
                "legacy": {"type": "string"},
                "status": {
                    "description": "This zone's status of a credential it issued with credentialStatus; null otherwise.",
                    "anyOf": [{"type": "null"}, schema_ref("CredentialStatus")],
                },
            },
        }),
    );
    schemas.insert(
        "AuditReport".into(),
        json!({
            "type": "object",
            "required": ["valid", "events", "first_invalid_sequence"],
            "properties": {
                "valid": {"type": "boolean"},
                "events": {"type": "integer"},
                "first_invalid_sequence": {"type": ["integer", "null"]},
                "reason": {"type": ["string", "null"]},
            },
        }),
    );
    schemas.insert(
        "SearchRequest".into(),
        json!({
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "query": nullable(text_schema(true, None, Some(1000))),
                "page": nullable(json!({"type": "integer", "minimum": 0, "maximum": i64::MAX, "default": 0})),
                "size": nullable(json!({"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": 10})),
            },
        }),
    );
    // Partial schemas for the models some route updates.
    let updated: Vec<&str> = spec
        .routes()
        .filter_map(|(_, r)| match &r.op {
            Op::Update { model } => Some(model.as_str()),
            _ => None,
        })
        .collect();
    let v1_updates: std::collections::BTreeSet<&str> = spec
        .services
        .iter()
        .flat_map(|s| &s.orchestrated)
        .filter(|o| o.method == crate::model::Method::Put)
        .filter_map(|o| o.request.as_deref())
        .collect();
    for (_, m) in spec.models() {
        if m.store.is_some() {
            schemas.insert(m.name.clone(), model_schema(m, Shape::Record));
            schemas.insert(format!("{}Request", m.name), model_schema(m, Shape::Create));
            if updated.contains(&m.name.as_str()) {
                schemas.insert(format!("{}Update", m.name), model_schema(m, Shape::Update));
            }
        } else if v1_updates.contains(m.name.as_str()) {
            // The body of a `/v1` PUT: a partial update like a direct one.
            schemas.insert(m.name.clone(), model_schema(m, Shape::Update));
        } else {
            schemas.insert(m.name.clone(), model_schema(m, Shape::Create));
        }
    }

    let mut paths: Map<String, Value> = Map::new();
    let mut put = |path: String, method: String, op: Value| {
        let entry = paths
            .entry(path)
            .or_insert_with(|| Value::Object(Map::new()));
        entry[method] = op;
    };
    for (s, r) in spec.routes() {
        put(
            full_path(s, r),
            method_key(r.method),
            direct_operation(spec, s, r),
        );
    }
    for o in spec.services.iter().flat_map(|s| &s.orchestrated) {
        put(o.path.clone(), method_key(o.method), v1_operation(spec, o));
    }
    for (path, method, op) in zone_operations() {
        put(path.to_string(), method.to_string(), op);
    }

    let doc = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "mez zone",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The direct Mass surface and the orchestrated /v1 surface of a mez zone, and the zone's own routes, generated from spec/. Every string, path parameter and query value refuses U+0000 (422); an optional field sent as null is absent; integer fields accept integer-valued numbers (1.0); decimals are strings matching ^-?\\d+(\\.\\d+)?$. A proxy zone mounts no direct surface and serves this document without it.",
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "The zone's AUTH_TOKEN."}},
        },
        "security": [{"bearer": []}],
        "paths": paths,
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}
