// SPDX-License-Identifier: BUSL-1.1
//! The checks behind the spec-derived parity suite (`mez_macros::parity_tests!`).
//!
//! `v1_parity` runs one `/v1` route's spec example on a sovereign zone and on a proxy zone
//! whose upstream is another sovereign zone on a loopback port, and asserts that both answer
//! the same status, that `mass_response` is a non-empty object and the two have the same shape
//! (the same keys at every depth, the same JSON types; ids and timestamps differ), that the
//! envelopes have the same keys, and that `compliance` and `credential` are equal at every
//! depth once ids, times, signatures and DIDs are masked. A read is made after every `/v1`
//! write has made its record, and must answer something. `direct_roundtrip` calls one direct
//! route and asserts that its answer decodes into the typed client's type for that route and
//! encodes back to the same JSON, with camelCase keys where the Mass surface uses them; a list
//! is read after every create has run, and must not be empty.
//!
//! Requests come from the spec: each route's `example`, whose `$resource` placeholders are
//! the ids of records made by running the examples of the `/v1` writes that create them.

use std::collections::BTreeMap;

use reqwest::Method;
use serde_json::{Map, Value, json};

use mez_api::config::Config;
use mez_api::runtime::model::{FieldType, RouteInfo, V1Route};
use mez_api::surface::{ROUTES, V1_ROUTES};

use crate::surface_checks::valid_input;
use crate::{TestDb, TestZone};

/// A zone to run examples on, with the records its examples created so far.
struct World {
    zone: TestZone,
    /// Resource name -> the Mass record its `/v1` write returned.
    made: BTreeMap<String, Value>,
    _dbs: Vec<TestDb>,
    _upstream: Option<TestZone>,
}

impl World {
    async fn sovereign() -> World {
        let db = TestDb::for_generated_suites("parity").await;
        let zone = TestZone::start(&db, true).await;
        World {
            zone,
            made: BTreeMap::new(),
            _dbs: vec![db],
            _upstream: None,
        }
    }

    /// A proxy zone whose every Mass service is another, sovereign zone.
    async fn proxy() -> World {
        let upstream_db = TestDb::for_generated_suites("parity").await;
        let upstream = TestZone::start(&upstream_db, true).await;
        let db = TestDb::for_generated_suites("parity").await;
        let token = format!("proxy-{}", uuid::Uuid::new_v4().simple());
        let mut config = Config::for_tests(db.url(), false, &token);
        for variable in ROUTES.iter().filter_map(|r| r.url_env) {
            config
                .upstream
                .urls
                .insert(variable.to_string(), upstream.base_url.clone());
        }
        config.upstream.token = Some(upstream.token.clone());
        let zone = TestZone::start_with_config(config).await;
        World {
            zone,
            made: BTreeMap::new(),
            _dbs: vec![db, upstream_db],
            _upstream: Some(upstream),
        }
    }

    /// The record a placeholder's resource names, making it (and what it needs) first.
    async fn resource(&mut self, name: &str) -> Value {
        if let Some(made) = self.made.get(name) {
            return made.clone();
        }
        let route = V1_ROUTES
            .iter()
            .find(|r| r.method == "POST" && r.audit.as_ref().is_some_and(|a| a.resource == name))
            .unwrap_or_else(|| panic!("no /v1 write creates a {name}"));
        let (status, body) = Box::pin(self.run_v1(route)).await;
        assert_eq!(status, route.status, "making a {name} failed: {body}");
        let record = body["mass_response"].clone();
        self.made.insert(name.to_string(), record.clone());
        record
    }

    /// Makes one record of every resource a `/v1` write creates.
    async fn make_everything(&mut self) {
        for route in V1_ROUTES.iter().filter(|r| r.method == "POST") {
            if let Some(audit) = &route.audit {
                self.resource(audit.resource).await;
            }
        }
    }

    /// Replaces every `$resource` / `$resource.field` string with the named value.
    async fn resolve(&mut self, value: Value) -> Value {
        match value {
            Value::String(s) if s.starts_with('$') => {
                let (name, field) = match s[1..].split_once('.') {
                    Some((n, f)) => (n.to_string(), Some(f.to_string())),
                    None => (s[1..].to_string(), None),
                };
                let record = self.resource(&name).await;
                let value = match field {
                    Some(f) => record[f.as_str()].clone(),
                    None => ["id", "identity_id"]
                        .iter()
                        .find_map(|k| record.get(*k).filter(|v| v.is_string()).cloned())
                        .unwrap_or(Value::Null),
                };
                assert!(
                    !value.is_null(),
                    "placeholder {s} resolved to nothing in {record}"
                );
                value
            }
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(Box::pin(self.resolve(item)).await);
                }
                Value::Array(out)
            }
            Value::Object(map) => {
                let mut out = Map::new();
                for (k, v) in map {
                    out.insert(k, Box::pin(self.resolve(v)).await);
                }
                Value::Object(out)
            }
            other => other,
        }
    }

    async fn run_v1(&mut self, route: &V1Route) -> (u16, Value) {
        let example: Value = route
            .example
            .map(|e| serde_json::from_str(e).expect("examples are JSON"))
            .unwrap_or_else(|| json!({}));
        let example = self.resolve(example).await;
        let (path, body) = fill(route.path, example);
        let method = Method::from_bytes(route.method.as_bytes()).expect("method");
        let body = (route.method != "GET").then_some(Value::Object(body));
        self.zone.request(method, &path, body).await
    }
}

/// Splits an example into the path (parameters filled in by name) and the remaining fields.
pub fn fill(template: &str, example: Value) -> (String, Map<String, Value>) {
    let mut fields = match example {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    let mut path = template.to_string();
    while let Some(start) = path.find('{') {
        let end = path[start..]
            .find('}')
            .map(|e| start + e)
            .unwrap_or(path.len());
        let name = path[start + 1..end].to_string();
        let value = fields
            .remove(&name)
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| panic!("the example of {template} gives no {name}"));
        path.replace_range(start..=end, &value);
    }
    (path, fields)
}

/// The shape of a JSON document: its keys at every depth and its JSON types.
pub fn shape(value: &Value) -> Value {
    match value {
        Value::Null => json!("null"),
        Value::Bool(_) => json!("boolean"),
        Value::Number(_) => json!("number"),
        Value::String(_) => json!("string"),
        Value::Array(items) => Value::Array(items.iter().map(shape).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), shape(v))).collect())
        }
    }
}

fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    keys.sort();
    keys
}

/// Whether an answer holds something: a non-empty array, a page with content, or a
/// non-empty object.
pub fn non_empty(value: &Value) -> bool {
    match value {
        Value::Array(items) => !items.is_empty(),
        Value::Object(map) => match map.get("content") {
            Some(content) => content.as_array().is_some_and(|c| !c.is_empty()),
            None => !map.is_empty(),
        },
        _ => false,
    }
}

/// A document with the values that must differ between two zones replaced by what they are:
/// UUIDs (anywhere in a string), DIDs, timestamps, signatures and SHA-256 digests. Everything
/// else (domains, states, types, names, amounts) is kept and compared.
pub fn masked(value: &Value) -> Value {
    match value {
        Value::String(s) => Value::String(mask_text(s)),
        Value::Array(items) => Value::Array(items.iter().map(masked).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = match k.as_str() {
                        "proofValue" | "signature" => json!("<signature>"),
                        // A status list position depends on how many credentials the zone
                        // issued before.
                        "statusListIndex" => json!("<index>"),
                        _ => masked(v),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

fn mask_text(s: &str) -> String {
    if s.starts_with("did:") {
        return "<did>".into();
    }
    // A status list URL names the zone's address and the credential's position.
    if let Some((_, list)) = s.split_once("/v1/credentials/status/") {
        let list = list.split(['-', '#']).next().unwrap_or_default();
        return format!("<status-list-url:{list}>");
    }
    let b = s.as_bytes();
    if b.len() >= 20 && b[4] == b'-' && b[7] == b'-' && b[10] == b'T' && b[13] == b':' {
        return "<time>".into();
    }
    if s.len() == 64 && s.bytes().all(|c| c.is_ascii_hexdigit()) {
        return "<sha256>".into();
    }
    // Any UUID inside the string (`urn:uuid:...`, `attestation:...`).
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s.len() - i >= 36
            && s.is_char_boundary(i)
            && uuid::Uuid::try_parse(&s[i..i + 36]).is_ok()
        {
            out.push_str("<uuid>");
            i += 36;
        } else {
            let c = s[i..].chars().next().unwrap_or(' ');
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// The same `/v1` route on a sovereign zone and on a proxy zone answers in the same shape.
pub async fn v1_parity(method: &str, path: &str) {
    let route = V1_ROUTES
        .iter()
        .find(|r| r.method == method && r.path == path)
        .unwrap_or_else(|| panic!("{method} {path} is not a /v1 route"));
    let mut sovereign = World::sovereign().await;
    let mut proxy = World::proxy().await;
    if method == "GET" {
        // A read of an empty zone compares nothing: make every record the /v1 writes make.
        sovereign.make_everything().await;
        proxy.make_everything().await;
    }
    let (s_status, s_body) = sovereign.run_v1(route).await;
    let (p_status, p_body) = proxy.run_v1(route).await;
    let what = format!("{method} {path}");
    assert_eq!(
        s_status, route.status,
        "{what} on the sovereign zone: {s_body}"
    );
    assert_eq!(p_status, route.status, "{what} on the proxy zone: {p_body}");
    if method == "GET" {
        assert!(
            non_empty(&s_body),
            "{what}: the sovereign zone answered nothing to compare: {s_body}"
        );
        assert_eq!(
            shape(&s_body),
            shape(&p_body),
            "{what}: the answers differ in shape"
        );
        return;
    }
    assert!(
        s_body["mass_response"]
            .as_object()
            .is_some_and(|m| !m.is_empty()),
        "{what}: mass_response is not a non-empty object: {s_body}"
    );
    assert_eq!(
        keys(&s_body),
        keys(&p_body),
        "{what}: the envelopes differ in keys"
    );
    assert_eq!(
        shape(&s_body["mass_response"]),
        shape(&p_body["mass_response"]),
        "{what}: mass_response differs in shape\nsovereign: {}\nproxy: {}",
        s_body["mass_response"],
        p_body["mass_response"]
    );
    for part in ["compliance", "credential"] {
        assert!(
            s_body[part].as_object().is_some_and(|m| !m.is_empty()),
            "{what}: {part} is not a non-empty object: {s_body}"
        );
        assert_eq!(
            masked(&s_body[part]),
            masked(&p_body[part]),
            "{what}: {part} differs (ids, times, signatures and DIDs masked)\nsovereign: {}\nproxy: {}",
            s_body[part],
            p_body[part]
        );
    }
    // Each zone signs with its own key: the proxy zone, not its upstream, issues.
    assert_ne!(
        s_body["credential"]["issuer"],
        p_body["credential"]["issuer"]
    );
}

/// A valid request for a direct route: its example, or one built from its model.
async fn direct_request(
    world: &mut World,
    index: usize,
    route: &RouteInfo,
) -> (String, Option<Value>) {
    let example = match route.example {
        Some(e) => serde_json::from_str(e).expect("examples are JSON"),
        None => {
            let mut map = route.request.map(valid_input).unwrap_or_default();
            // A reference to an organization must name one that exists.
            if let Some(model) = route.request {
                for f in model.fields.iter().filter(|f| f.ty == FieldType::Uuid) {
                    let lower = f.input.to_ascii_lowercase();
                    if lower.contains("organization") || lower.contains("entity") {
                        map.insert(f.input.to_string(), json!("$entity"));
                    }
                }
            }
            for name in route
                .path
                .split('{')
                .skip(1)
                .filter_map(|s| s.split_once('}').map(|(n, _)| n))
            {
                let value = if name == "id" {
                    json!(existing_id(world, index, route).await)
                } else {
                    json!("$entity")
                };
                map.insert(name.to_string(), value);
            }
            Value::Object(map)
        }
    };
    let example = world.resolve(example).await;
    let (mut path, fields) = fill(route.path, example);
    if route.query_input {
        let pairs: Vec<String> = fields
            .iter()
            .map(|(k, v)| {
                let v = v
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string());
                format!("{k}={}", urlencode(&v))
            })
            .collect();
        path = format!("{path}?{}", pairs.join("&"));
        return (path, None);
    }
    let takes_body = route.method != "GET" && route.method != "DELETE" && route.request.is_some()
        || route.op == "search";
    (path, takes_body.then_some(Value::Object(fields)))
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The id of a stored record of the route's model, making one through the model's own
/// create route when the `/v1` examples made none.
async fn existing_id(world: &mut World, index: usize, route: &RouteInfo) -> String {
    let model = route
        .model
        .unwrap_or_else(|| panic!("{} {} needs an example", route.method, route.path));
    let collection = model.collection.expect("a stored model");
    // The /v1 writes make most primitives.
    for name in [
        "entity",
        "account",
        "payment",
        "cap_table",
        "consent",
        "identity",
    ] {
        world.resource(name).await;
    }
    if let Some(first) = world.zone.stored(collection).await.first() {
        return first["id"].as_str().expect("an id").to_string();
    }
    let create = ROUTES
        .iter()
        .enumerate()
        .find(|(i, r)| {
            *i != index && r.op == "create" && r.model.is_some_and(|m| std::ptr::eq(m, model))
        })
        .map(|(_, r)| r)
        .unwrap_or_else(|| panic!("no route makes a {} record", model.name));
    let (path, body) = Box::pin(direct_request(world, index, create)).await;
    let method = Method::from_bytes(create.method.as_bytes()).expect("method");
    let (status, made) = world.zone.request(method, &path, body).await;
    assert_eq!(status, create.status, "making a {}: {made}", model.name);
    made["id"].as_str().expect("an id").to_string()
}

/// Makes a record through every `/v1` write and every direct create (each with its example,
/// or a request built from its model with `$entity` for organization references), so that a
/// list read afterwards has something in it. A seed the zone refuses (a second treasury for
/// the same entity) is skipped: the list's own non-empty check is what must hold.
async fn seed_everything(world: &mut World, index: usize) {
    world.make_everything().await;
    for (i, create) in ROUTES.iter().enumerate() {
        if i == index || create.op != "create" {
            continue;
        }
        let (path, body) = direct_request(world, i, create).await;
        let method = Method::from_bytes(create.method.as_bytes()).expect("method");
        world.zone.request(method, &path, body).await;
    }
}

fn is_camel(key: &str) -> bool {
    !key.contains('_')
        && !key.contains('-')
        && key.chars().next().is_some_and(|c| c.is_ascii_lowercase())
}

/// A direct route's answer decodes into the typed client's type and encodes back unchanged.
pub async fn direct_roundtrip(method: &str, path: &str) {
    let (index, route) = ROUTES
        .iter()
        .enumerate()
        .find(|(_, r)| r.method == method && r.path == path)
        .unwrap_or_else(|| panic!("{method} {path} is not a direct route"));
    let mut world = World::sovereign().await;
    let lists = route.method == "GET" && matches!(route.op, "list" | "list_by" | "hook")
        || route.op == "search";
    if lists {
        seed_everything(&mut world, index).await;
    }
    let (uri, body) = direct_request(&mut world, index, route).await;
    let (status, answer) = world
        .zone
        .request(
            Method::from_bytes(method.as_bytes()).expect("method"),
            &uri,
            body,
        )
        .await;
    assert_eq!(status, route.status, "{method} {uri}: {answer}");
    let again = mez_api::surface::roundtrip(index, answer.clone()).unwrap_or_else(|e| {
        panic!("{method} {path}: the answer does not decode as its type: {e}\n{answer}")
    });
    assert_eq!(
        again, answer,
        "{method} {path}: the typed round trip changed the answer"
    );
    // The Mass surface is camelCase, except the snake_case verification and withholding
    // answers of the hook routes that take snake_case requests.
    let snake_by_design = route.hook.is_some() && route.request.is_some();
    let records: Vec<&Value> = match &answer {
        Value::Array(items) => items.iter().collect(),
        Value::Object(map) if map.contains_key("content") => map["content"]
            .as_array()
            .map(|a| a.iter().collect())
            .unwrap_or_default(),
        other => vec![other],
    };
    if lists || matches!(&answer, Value::Array(_)) {
        assert!(
            !records.is_empty(),
            "{method} {uri}: the list is empty after every create ran, so nothing was compared: {answer}"
        );
    }
    if !snake_by_design {
        for record in records {
            for key in keys(record) {
                assert!(
                    is_camel(&key),
                    "{method} {path}: key {key} is not camelCase"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_hides_what_differs_between_zones_and_keeps_the_rest() {
        let a = json!({
            "id": "urn:uuid:0b6e3f8e-5d0c-4c1e-9a63-1f1e2d3c4b5a",
            "issuer": "did:key:z6MkA",
            "validFrom": "2026-11-29T10:00:00.000Z",
            "proof": {"proofValue": "zAAA", "verificationMethod": "did:key:z6MkA#z6MkA"},
            "credentialSubject": {"domains": {"kyc": "pending", "sanctions": "compliant"}},
            "tensor_commitment": "a".repeat(64),
        });
        let b = json!({
            "id": "urn:uuid:11111111-2222-4333-8444-555555555555",
            "issuer": "did:key:z6MkB",
            "validFrom": "2026-11-29T10:00:01.123Z",
            "proof": {"proofValue": "zBBB", "verificationMethod": "did:key:z6MkB#z6MkB"},
            "credentialSubject": {"domains": {"kyc": "pending", "sanctions": "compliant"}},
            "tensor_commitment": "b".repeat(64),
        });
        assert_eq!(masked(&a), masked(&b));
        // A domain state is a value, not an id: a change in it is caught (the old check compared
        // top-level keys only, which this change keeps).
        let mut c = b.clone();
        c["credentialSubject"]["domains"]["kyc"] = json!("compliant");
        assert_ne!(masked(&a), masked(&c));
    }

    #[test]
    fn empty_answers_are_told_apart_from_full_ones() {
        assert!(!non_empty(&json!([])));
        assert!(!non_empty(&json!({"content": [], "totalElements": 0})));
        assert!(!non_empty(&json!({})));
        assert!(non_empty(&json!([{"id": 1}])));
        assert!(non_empty(&json!({"content": [{"id": 1}]})));
    }
}
