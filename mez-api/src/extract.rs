// SPDX-License-Identifier: BUSL-1.1
//! Request extractors that fail with the one JSON error shape.
//!
//! axum's own `Json` and `Query` rejections answer in plain text; these wrappers turn every
//! way a body or query string can be unreadable into an [`ApiError`].

use std::collections::BTreeMap;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use serde_json::Value;

use crate::error::ApiError;

/// A request body that must be a JSON document sent as `application/json`.
///
/// The value is not yet validated against any model: the generated handlers hand it to the
/// spec-driven validator, which reports every field problem at once.
#[derive(Debug)]
pub struct JsonBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|mime| {
                let mime = mime.trim().to_ascii_lowercase();
                mime == "application/json" || mime.ends_with("+json")
            })
            .unwrap_or(false);
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge
                } else {
                    ApiError::BadRequest(format!("could not read request body: {rejection}"))
                }
            })?;
        let value = serde_json::from_slice(&bytes)
            .map_err(|err| ApiError::BadRequest(format!("malformed JSON body: {err}")))?;
        Ok(Self(value))
    }
}

/// The raw query string as ordered key/value pairs; a key given twice is an error.
#[derive(Debug, Default)]
pub struct QueryMap(pub BTreeMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for QueryMap {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let raw = parts.uri.query().unwrap_or("");
        let pairs: Vec<(String, String)> = serde_urlencoded_pairs(raw)?;
        let mut map = BTreeMap::new();
        for (key, value) in pairs {
            if map.insert(key.clone(), value).is_some() {
                return Err(ApiError::field(key, "is given more than once"));
            }
        }
        Ok(Self(map))
    }
}

fn serde_urlencoded_pairs(raw: &str) -> Result<Vec<(String, String)>, ApiError> {
    let query = axum::extract::Query::<Vec<(String, String)>>::try_from_uri(
        &format!("/?{raw}")
            .parse()
            .map_err(|_| ApiError::BadRequest("malformed query string".into()))?,
    )
    .map_err(|err| ApiError::BadRequest(format!("malformed query string: {err}")))?;
    Ok(query.0)
}
