// SPDX-License-Identifier: BUSL-1.1
//! Request extractors that fail with the one JSON error shape.
//!
//! axum's own `Json`, `Query` and `Path` rejections answer in plain text; these wrappers turn
//! every way a body, query string or path parameter can be unreadable into an [`ApiError`].
//! They also refuse U+0000 anywhere in what they read, with a 422 naming the field (the rule
//! is explained in [`crate::runtime::validate`]), so no route ever hands a NUL to the store.

use std::collections::BTreeMap;

use axum::extract::rejection::RawPathParamsRejection;
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::error::{ApiError, FieldError};
use crate::runtime::validate::{NUL_MESSAGE, nul_fields};

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
        let nul = nul_fields(&value, "");
        if !nul.is_empty() {
            return Err(ApiError::Validation(nul));
        }
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
        let nul = query_nul_fields(&pairs);
        if !nul.is_empty() {
            return Err(ApiError::Validation(nul));
        }
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

/// Middleware for every routed request: its path parameters must be UTF-8 once
/// percent-decoded (else 400), and neither they nor any query value may hold U+0000 (else
/// 422 naming each one).
///
/// The generated handlers take their parameters with axum's `Path`, whose rejection is plain
/// text; checking here first, with the same decoding, means that rejection never happens.
/// The query check repeats [`QueryMap`]'s so that the rule holds on routes that read no query
/// too. Install with `route_layer`, so that it runs after routing, when the parameters are
/// known.
pub async fn check_path_and_query(request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let mut nul = Vec::new();
    match RawPathParams::from_request_parts(&mut parts, &()).await {
        Ok(params) => nul.extend(
            params
                .iter()
                .filter(|(_, value)| value.contains('\0'))
                .map(|(key, _)| FieldError::new(key, NUL_MESSAGE)),
        ),
        Err(RawPathParamsRejection::InvalidUtf8InPathParam(rejection)) => {
            return ApiError::BadRequest(format!(
                "malformed path: {} once percent-decoded",
                rejection.body_text()
            ))
            .into_response();
        }
        // Only a route without parameters gets here (axum found none to read), and such a
        // route has nothing to check.
        Err(_) => {}
    }
    // A query string that cannot be read at all is the handler's to refuse (or ignore).
    if let Ok(pairs) = serde_urlencoded_pairs(parts.uri.query().unwrap_or("")) {
        nul.extend(query_nul_fields(&pairs));
    }
    if !nul.is_empty() {
        return ApiError::Validation(nul).into_response();
    }
    next.run(Request::from_parts(parts, body)).await
}

/// The query parameters whose name or value holds U+0000.
fn query_nul_fields(pairs: &[(String, String)]) -> Vec<FieldError> {
    pairs
        .iter()
        .filter_map(|(key, value)| {
            if key.contains('\0') {
                Some(FieldError::new(
                    "query",
                    "must not have a parameter name that contains the NUL character (U+0000)",
                ))
            } else {
                value
                    .contains('\0')
                    .then(|| FieldError::new(key.as_str(), NUL_MESSAGE))
            }
        })
        .collect()
}
