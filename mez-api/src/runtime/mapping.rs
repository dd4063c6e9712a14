// SPDX-License-Identifier: BUSL-1.1
//! Request paths and request-to-Mass mappings, as the spec writes them.
//!
//! A path names values in a request: `legal_name`, `parties[0].entity_id` (one item),
//! `beneficial_owners[].name` (every item). A mapping builds a Mass body from a request:
//! `{massKey: path}` copies a value (absent values are left out, so a partial update stays
//! partial), `{massKey: {const: v}}` writes a constant, and `{massKey: {each: path, map: {...}}}`
//! maps every item of a list.

use serde_json::{Map, Value};

use crate::error::ApiError;

/// One step of a path: a key, optionally followed by `[]` (every item) or `[n]` (one item).
enum Step<'a> {
    Key(&'a str),
    Every(&'a str),
    Index(&'a str, usize),
}

fn steps(path: &str) -> Vec<Step<'_>> {
    path.split('.')
        .map(|segment| match segment.split_once('[') {
            Some((key, "]")) => Step::Every(key),
            Some((key, rest)) => match rest.trim_end_matches(']').parse() {
                Ok(n) => Step::Index(key, n),
                Err(_) => Step::Key(segment),
            },
            None => Step::Key(segment),
        })
        .collect()
}

/// Every non-null value a path names in `source`.
pub fn resolve<'v>(source: &'v Value, path: &str) -> Vec<&'v Value> {
    let mut current = vec![source];
    for step in steps(path) {
        let mut next = Vec::new();
        for value in current {
            match step {
                Step::Key(key) => next.extend(value.get(key)),
                Step::Index(key, n) => next.extend(value.get(key).and_then(|v| v.get(n))),
                Step::Every(key) => {
                    if let Some(Value::Array(items)) = value.get(key) {
                        next.extend(items.iter());
                    }
                }
            }
        }
        current = next;
    }
    current.into_iter().filter(|v| !v.is_null()).collect()
}

/// The first string a path names, if any.
pub fn resolve_str<'v>(source: &'v Value, path: &str) -> Option<&'v str> {
    resolve(source, path).into_iter().find_map(Value::as_str)
}

/// Builds a body from `source` with a mapping (JSON text from the generated route table).
pub fn apply_text(map: &str, source: &Value) -> Result<Value, ApiError> {
    let map: Value =
        serde_json::from_str(map).map_err(|e| ApiError::internal(format!("mapping: {e}")))?;
    apply(&map, source).map(Value::Object)
}

/// Builds a body from `source` with a parsed mapping.
pub fn apply(map: &Value, source: &Value) -> Result<Map<String, Value>, ApiError> {
    let entries = map
        .as_object()
        .ok_or_else(|| ApiError::internal("a mapping must be an object"))?;
    let mut out = Map::new();
    for (key, spec) in entries {
        match spec {
            Value::String(path) => {
                if let Some(value) = resolve(source, path).into_iter().next() {
                    out.insert(key.clone(), value.clone());
                } else if source.get(path.as_str()).is_some_and(Value::is_null) {
                    // An explicit null in the request is passed on, so that an update can
                    // clear an optional field; an absent key is left out.
                    out.insert(key.clone(), Value::Null);
                }
            }
            Value::Object(o) if o.contains_key("const") => {
                out.insert(key.clone(), o.get("const").cloned().unwrap_or(Value::Null));
            }
            Value::Object(o) => {
                let path = o.get("each").and_then(Value::as_str).unwrap_or_default();
                let inner = o.get("map").unwrap_or(&Value::Null);
                if let Some(Value::Array(items)) = source.get(path) {
                    let mapped = items
                        .iter()
                        .map(|item| apply(inner, item).map(Value::Object))
                        .collect::<Result<Vec<_>, _>>()?;
                    out.insert(key.clone(), Value::Array(mapped));
                }
            }
            _ => return Err(ApiError::internal(format!("bad mapping for {key}"))),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_name_keys_items_and_every_item() {
        let src = json!({"a": "x", "l": [{"n": "p"}, {"n": "q"}, {"m": 1}], "z": null});
        assert_eq!(resolve(&src, "a"), [&json!("x")]);
        assert_eq!(resolve(&src, "l[1].n"), [&json!("q")]);
        assert_eq!(resolve(&src, "l[].n"), [&json!("p"), &json!("q")]);
        assert!(resolve(&src, "z").is_empty());
        assert!(resolve(&src, "missing.deeper").is_empty());
    }

    #[test]
    fn mappings_copy_skip_absent_and_map_lists() {
        let map = json!({
            "name": "legal_name",
            "kind": {"const": "LLC"},
            "gone": "absent",
            "cleared": "address",
            "classes": {"each": "share_classes", "map": {"name": "name", "authorizedShares": "authorized_shares"}},
        });
        let src = json!({
            "legal_name": "Acme",
            "address": null,
            "share_classes": [{"name": "A", "authorized_shares": 5}],
        });
        assert_eq!(
            Value::Object(apply(&map, &src).expect("maps")),
            json!({"name": "Acme", "kind": "LLC", "cleared": null,
                   "classes": [{"name": "A", "authorizedShares": 5}]})
        );
    }
}
