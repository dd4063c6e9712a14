// SPDX-License-Identifier: BUSL-1.1
//! What a route is called with: the arguments a generated handler extracts from a request, or
//! the typed client assembles for a Mass call.
//!
//! This module depends on nothing but the error type, so the client, the runtime and the
//! generated code can all use it without an import circle.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::error::ApiError;

/// What a generated handler extracted from a request: path parameters in route order, the
/// query string, and the JSON body when the route takes one.
#[derive(Debug, Clone, Default)]
pub struct CallArgs {
    pub params: Vec<String>,
    pub query: BTreeMap<String, String>,
    pub body: Option<Value>,
    /// The client's `Idempotency-Key`: a repeated key answers the first result again and
    /// writes nothing new.
    pub idempotency_key: Option<String>,
}

impl CallArgs {
    /// The path parameter at `index` (the generated code asks only for ones the route has).
    pub fn param(&self, index: usize) -> Result<&str, ApiError> {
        self.params
            .get(index)
            .map(String::as_str)
            .ok_or_else(|| ApiError::internal("missing path parameter"))
    }

    /// The JSON body (an empty object when the route's caller sent none).
    pub fn body(&self) -> Value {
        self.body
            .clone()
            .unwrap_or_else(|| Value::Object(Map::new()))
    }
}

/// The `Idempotency-Key` header of a request. A key the zone cannot honour is refused rather
/// than ignored, since ignoring it would let the client's retries create duplicates.
pub fn idempotency_key(headers: &axum::http::HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(raw) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = raw.to_str().ok().map(str::trim).unwrap_or_default();
    let usable = !key.is_empty()
        && key.len() <= 255
        && key.bytes().all(|b| b.is_ascii_graphic() || b == b' ');
    if usable {
        Ok(Some(key.to_string()))
    } else {
        Err(ApiError::field(
            "Idempotency-Key",
            "must be 1 to 255 visible ASCII characters",
        ))
    }
}
